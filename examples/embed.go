// Package examples holds the example job files; the demo's job is
// embedded so `myriad demo` runs from any folder.
package examples

import _ "embed"

// Demo is examples/demo.yaml: the image-recognition pipeline `myriad
// demo` runs and `myriad submit examples/demo.yaml` sends to a cluster.
//
//go:embed demo.yaml
var Demo []byte
