package coord

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newJobID returns an unguessable job id: "j" and 80 random bits.
func newJobID() string {
	var b [10]byte
	rand.Read(b[:])
	return "j" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}
