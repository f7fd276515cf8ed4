//go:build openblas

package gorgonia

// With -tags openblas, every float32 matrix product — gorgonia's dense
// layers and our convolutions — goes to OpenBLAS through cgo instead of
// gonum's pure-Go kernels. It needs a C compiler and Debian's
// libopenblas-dev. Everything else (graphs, gradients, optimisers) is
// unchanged, which is what makes it a measurement of how much of the gap
// to PyTorch is the matrix kernel.

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
)

// openBLAS is gonum's BLAS with Sgemm replaced; gorgonia's BLAS interface
// needs every routine, and only Sgemm carries the work here.
type openBLAS struct{ gonum.Implementation }

func cTrans(t blas.Transpose) C.enum_CBLAS_TRANSPOSE {
	if t == blas.NoTrans {
		return C.CblasNoTrans
	}
	return C.CblasTrans
}

func (o openBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 || len(a) == 0 || len(b) == 0 || len(c) == 0 {
		o.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, cTrans(tA), cTrans(tB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(&a[0]), C.blasint(lda), (*C.float)(&b[0]), C.blasint(ldb),
		C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
}

func init() {
	// Our replicas already keep every core busy; OpenBLAS's own threads
	// on top would only contend with them.
	C.openblas_set_num_threads(1)
	blas32 = openBLAS{}
	blasName = "OpenBLAS (cgo)"
	G.Use(openBLAS{})
}
