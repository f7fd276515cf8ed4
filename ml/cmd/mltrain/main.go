// Command mltrain trains a CNN described by a model spec on MNIST,
// Fashion-MNIST or a folder of IDX files, reports loss and accuracy per
// epoch and the test-set evaluation, and optionally writes the model file.
// It is the documented way to run the full-size measurements of
// docs/ml.md; the engine's train operator calls the same ml functions.
//
//	go run ./ml/cmd/mltrain -data mnist -config examples/models/mnist-cnn.yaml
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mltrain:", err)
		os.Exit(1)
	}
}
