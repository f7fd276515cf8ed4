// Command ownop is docs/tutorial.md's own operator: a worker that offers
// "ink", which measures how much of each image is ink (the share of
// pixels brighter than half) and adds it to the item. Image items carry
// a blob ref, never pixels; the worker reads the bytes through its blob
// cache (t.Blobs).
//
//	go run ./cmd/myriad up &                       # coordinator on 127.0.0.1:7070
//	go run ./examples/ownop &                      # this worker: the coordinator now knows "ink"
//	go run ./cmd/myriad submit examples/ownop/ink.yaml --wait
//	go run ./cmd/myriad results JOB
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	_ "image/png" // the ingested images are PNGs
	"log"
	"os"
	"os/signal"

	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:7070", "coordinator URL")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	w, err := worker.New(worker.Config{Server: *server, Slots: 2})
	if err != nil {
		log.Fatal(err)
	}
	w.HandleItems("ink", ink)
	w.Run(ctx) // until Ctrl-C, then it drains its running microtasks
}

// inked is an image item with its ink share added.
type inked struct {
	imgproc.Item
	Ink float64 `json:"ink"`
}

// ink handles one item: {id, blob, label} in, the same plus "ink" out.
func ink(ctx context.Context, t *worker.Task, it task.Item) (any, error) {
	var im imgproc.Item
	if err := json.Unmarshal(it.Data, &im); err != nil {
		// Bad input: the microtask is dead at once, with this message.
		return nil, worker.Permanent(fmt.Errorf("item %s: want an image item: %w", it.ID, err))
	}
	rc, err := t.Blobs.Open(ctx, im.Blob)
	if err != nil {
		return nil, err // the blob store is unreachable: retried later
	}
	defer rc.Close()
	img, _, err := image.Decode(rc)
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("item %s: %w", it.ID, err))
	}
	b := img.Bounds()
	bright := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if (r+g+bl)/3 > 0x7fff {
				bright++
			}
		}
	}
	return inked{Item: im, Ink: float64(bright) / float64(b.Dx()*b.Dy())}, nil
}
