package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Errors returned (wrapped) by stores. Test with errors.Is.
var (
	// ErrNotFound means the store holds no blob with that ref.
	ErrNotFound = errors.New("blob: not found")
	// ErrInvalidRef means a string is not a well-formed ref.
	ErrInvalidRef = errors.New("blob: invalid ref")
	// ErrHashMismatch means bytes did not hash to the ref they were sent or
	// stored under.
	ErrHashMismatch = errors.New("blob: content does not match ref")
	// ErrTooLarge means a blob exceeds a configured size limit.
	ErrTooLarge = errors.New("blob: too large")
)

const (
	refPrefix = "sha256:"
	hexLen    = sha256.Size * 2
)

// Ref names a blob by its content: "sha256:" followed by the lower-case hex
// SHA-256 of the bytes. The zero Ref is invalid.
type Ref string

// ParseRef checks that s is a well-formed ref. Upper-case hex is rejected
// rather than folded so that one blob has exactly one name.
func ParseRef(s string) (Ref, error) {
	hexPart, ok := strings.CutPrefix(s, refPrefix)
	if !ok {
		return "", fmt.Errorf("%w: %q does not start with %q", ErrInvalidRef, truncate(s), refPrefix)
	}
	if len(hexPart) != hexLen {
		return "", fmt.Errorf("%w: %q has %d hex digits, want %d", ErrInvalidRef, truncate(s), len(hexPart), hexLen)
	}
	for i := 0; i < len(hexPart); i++ {
		c := hexPart[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", fmt.Errorf("%w: %q has a character other than 0-9 a-f at %d", ErrInvalidRef, truncate(s), len(refPrefix)+i)
		}
	}
	return Ref(s), nil
}

// Valid reports whether r is well formed.
func (r Ref) Valid() bool {
	_, err := ParseRef(string(r))
	return err == nil
}

// Hex returns the hex digest without the "sha256:" prefix.
func (r Ref) Hex() string { return strings.TrimPrefix(string(r), refPrefix) }

func (r Ref) String() string { return string(r) }

// Sum returns the ref of b.
func Sum(b []byte) Ref {
	d := sha256.Sum256(b)
	return Ref(refPrefix + hex.EncodeToString(d[:]))
}

// NewHash returns the hash function refs use; RefOf turns its sum into a Ref.
func NewHash() hash.Hash { return sha256.New() }

// RefOf returns the ref for a finished hash from NewHash.
func RefOf(h hash.Hash) Ref { return Ref(refPrefix + hex.EncodeToString(h.Sum(nil))) }

// truncate keeps hostile input from flooding error messages and logs.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
