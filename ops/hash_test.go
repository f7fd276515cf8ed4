package ops

import (
	"strings"
	"testing"

	"github.com/myriadhq/myriad/worker"
)

func TestHash(t *testing.T) {
	t.Parallel()
	// SHA-256("abc") is the FIPS 180-2 test vector.
	out, err := call(t, worker.MapItems(hashOp), "", items(`"abc"`, `{ "b": 1 }`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out[0].Data), `{"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}`; got != want {
		t.Fatalf("hash of \"abc\": got %s, want %s", got, want)
	}
	obj, _ := HashItem([]byte(`{"b":1}`), 1)
	if string(out[1].Data) != `{"sha256":"`+obj+`"}` || out[1].ID != "b" {
		t.Fatalf("an object is hashed as its compact JSON: got %s, want %s", out[1].Data, obj)
	}
	twice, err := call(t, worker.MapItems(hashOp), `{"rounds": 2}`, items(`"abc"`))
	if err != nil {
		t.Fatal(err)
	}
	// SHA-256 of the 32-byte digest of "abc".
	if got, want := string(twice[0].Data), `{"sha256":"4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358"}`; got != want {
		t.Fatalf("rounds 2: got %s, want %s", got, want)
	}
	if _, err := call(t, worker.MapItems(hashOp), `{"rounds": -1}`, items(`"abc"`)); !worker.IsPermanent(err) || !strings.Contains(err.Error(), "rounds") {
		t.Fatalf("negative rounds: %v", err)
	}
}
