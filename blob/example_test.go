package blob_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/myriadhq/myriad/blob"
)

// A coordinator serves its store over HTTP; a worker reads through a
// bounded cache and reports what it holds.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "blob-example")
	defer os.RemoveAll(dir)

	coord, err := blob.OpenLocal(dir+"/coordinator", blob.LocalOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer coord.Close()
	mux := http.NewServeMux()
	mux.Handle("/v1/blobs/{ref}", &blob.Handler{Store: coord})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ref, _ := blob.PutBytes(ctx, coord, []byte("an image, say"))

	local, _ := blob.OpenLocal(dir+"/worker", blob.LocalOptions{})
	defer local.Close()
	worker, _ := blob.NewCache(ctx, local, &blob.Client{BaseURL: srv.URL + "/v1/blobs"}, blob.CacheOptions{MaxBytes: 1 << 30})

	for range 2 {
		b, _ := blob.Get(ctx, worker, ref, 0)
		fmt.Printf("%s\n", b)
	}
	st := worker.Stats()
	fmt.Println(ref, worker.Holds(ref), st.BytesFetched, st.BytesServed)
	// Output:
	// an image, say
	// an image, say
	// sha256:e451fab959346e9d5a34d4ea9f0604a3c87fcc8f7458a2863b59281f02960b36 true 13 13
}
