package server_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/myriadhq/myriad/coord"
)

// The admin can take a CPU profile and the heap profile of a running
// coordinator; both are gzip-compressed protocol buffers for go tool pprof.
// Not parallel: the CPU profiler is one per process, so it runs before the
// parallel tests (TestAccessMatrix takes a profile too).
func TestPprofProfiles(t *testing.T) {
	b := setup(t, coord.Config{}, "")
	for _, path := range []string{"/debug/pprof/profile?seconds=1", "/debug/pprof/heap"} {
		res, err := authGet(b.url + path)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s: %.200s", path, res.Status, data)
		}
		if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			t.Fatalf("%s: %d bytes that are not a gzip-compressed profile: %.40q", path, len(data), data)
		}
	}
}
