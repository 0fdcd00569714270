//go:build openblas

package net

// With the openblas build tag, every Dgemm of this package (conv and dense
// products) runs in OpenBLAS through cgo instead of gonum's pure-Go BLAS:
//
//	apt-get install libopenblas-dev
//	go build -tags openblas ./cmd/cnndbg
//
// The conv kernels already share the batch among GOMAXPROCS goroutines, so
// each Dgemm runs on one OpenBLAS thread unless OPENBLAS_NUM_THREADS sets
// another count. The default build needs neither cgo nor OpenBLAS.
//
// NOTE: OpenBLAS's kernels use fused multiply-adds, so sums differ from the
// explanations' term-by-term sums in the last bits, and a product that
// overflows next to one of opposite sign can give ±Inf where separate
// products give NaN (TestFirstNonFiniteInfMinusInf fails in this build).

/*
#cgo CFLAGS: -I/usr/include/x86_64-linux-gnu/openblas-pthread
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import (
	"os"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
)

func init() {
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" {
		C.openblas_set_num_threads(1)
	}
	blas64.Use(openBLAS{})
	tileProducts = false
}

// openBLAS is gonum's BLAS with Dgemm taken from OpenBLAS.
type openBLAS struct{ gonum.Implementation }

func cblasTranspose(t blas.Transpose) C.enum_CBLAS_TRANSPOSE {
	if t == blas.NoTrans {
		return C.CblasNoTrans
	}
	return C.CblasTrans
}

// Dgemm computes C = alpha·op(A)·op(B) + beta·C in OpenBLAS. Empty operands
// go to gonum, which checks the arguments and panics on bad ones.
func (impl openBLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 || k == 0 || len(a) == 0 || len(b) == 0 || len(c) == 0 {
		impl.Implementation.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, cblasTranspose(tA), cblasTranspose(tB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(&a[0]), C.blasint(lda), (*C.double)(&b[0]), C.blasint(ldb),
		C.double(beta), (*C.double)(&c[0]), C.blasint(ldc))
}
