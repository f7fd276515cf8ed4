// Package thumbnail is the operator that lets people see what a model
// predicted on: it adds a small PNG (a data: URI the annotator app shows)
// to each item that names an image of a dataset by index, as predict's
// items over params.data do.
//
// In the demo pipeline (examples/demo.yaml) it sits between predict and
// the human stage: only the items the model is unsure of get a picture,
// the others pass through unchanged, so the job's results stay small.
package thumbnail
