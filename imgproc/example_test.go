package imgproc_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"log"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
)

// The preprocess and augment operators on one item, with the pipeline as a
// job spec would carry it.
func Example() {
	ctx := context.Background()
	store := blob.NewMem()
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 40, 30)))
	ref, _ := blob.PutBytes(ctx, store, buf.Bytes())
	item := imgproc.Item{ID: "cat/1.png", Blob: ref, Label: "cat"}

	p, err := imgproc.ParsePipeline([]byte(`{
		"steps": [{"op": "resize", "size": [32]}, {"op": "center_crop", "size": [28]}],
		"output": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}`))
	if err != nil {
		log.Fatal(err)
	}
	out, err := imgproc.Preprocess(ctx, store, item, p, "preprocess", 7)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.ID, out.Format, out.Shape)

	aug := &imgproc.Augment{Variants: 2, Pipeline: imgproc.Pipeline{Steps: []imgproc.Step{
		{Op: "rotate", Degrees: []float64{-10, 10}}, {Op: "random_crop", Size: []int{24}}, {Op: "hflip"},
	}}}
	variants, err := imgproc.RunAugment(ctx, store, item, aug, "augment", 7)
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range variants {
		fmt.Println(v.ID, v.Parent, v.Shape)
	}

	bad := imgproc.Item{ID: "cat/empty.png", Blob: blob.Sum(nil)}
	blob.PutBytes(ctx, store, nil)
	_, err = imgproc.Preprocess(ctx, store, bad, p, "preprocess", 7)
	fmt.Println(err, "/", imgproc.Reason(err))
	// Output:
	// cat/1.png tensor [3 28 28]
	// cat/1.png#aug0 cat/1.png [3 24 24]
	// cat/1.png#aug1 cat/1.png [3 24 24]
	// preprocess cat/empty.png: decode: empty file: 0 bytes / empty
}
