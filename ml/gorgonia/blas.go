package gorgonia

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// blas32 multiplies the matrices of our conv op. It is gonum's pure-Go
// BLAS, the one gorgonia itself uses, unless the binary is built with
// -tags openblas (blas_openblas.go).
var blas32 blas.Float32 = gonum.Implementation{}

// blasName says which BLAS blas32 is.
var blasName = "gonum (pure Go)"

// BLAS names the matrix-multiplication library the backend uses: "gonum
// (pure Go)" by default, "OpenBLAS (cgo)" in a binary built with
// -tags openblas.
func BLAS() string { return blasName }
