package blob_test

import (
	"errors"
	"testing"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/blob/blobtest"
)

func TestParseRef(t *testing.T) {
	t.Parallel()
	good := blob.Sum([]byte("hello"))
	if good != "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("Sum(hello) = %s, want the well-known SHA-256 of hello", good)
	}
	if r, err := blob.ParseRef(string(good)); err != nil || r != good {
		t.Fatalf("ParseRef(%s) = %s, %v", good, r, err)
	}
	for _, bad := range blobtest.BadRefs {
		if _, err := blob.ParseRef(bad); !errors.Is(err, blob.ErrInvalidRef) {
			t.Errorf("ParseRef(%q) error = %v, want ErrInvalidRef", bad, err)
		}
	}
}

func TestMemConformance(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) blob.Store { return blob.NewMem() })
}
