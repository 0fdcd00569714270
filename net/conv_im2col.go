package net

import (
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// The fast conv kernels lower each convolution to matrix products. im2col
// copies every window of A_prev_pad into one column of a matrix colᵀ with
// K = f·f·n_C_prev rows and R = m·n_H·n_W columns,
//
//	colᵀ[(p,q,c'), (i,h,w)] = A_prev_pad[i, h·s+p, w·s+q, c'],
//
// so that, with W read as a K×n_C matrix and Z and dZ as R×n_C matrices (both
// are their row-major NHWC layouts), the conv is
//
//	Zᵀ    = Wᵀ · colᵀ  (then Z = (Zᵀ)ᵀ + b)
//	dWᵀ   = dZᵀ · col
//	dcolᵀ = W · dZᵀ
//
// and col2im adds each column of dcolᵀ back into the window it came from,
// which gives dA_prev. Products are taken by gonum's Dgemm.
//
// The transposed layout puts R, the long dimension, where Dgemm's inner loops
// run: gonum's kernels are AXPYs along the columns of the result and dot
// products along the shared dimension, so R×n_C results with n_C = 6 spend
// their time in loops of length 6. On the built-in example's conv1 the three
// products run 2 to 4 times faster as n_C×R and K×R (docs/benchmarks.md).

// maxColElements bounds the im2col buffer to 2²² float64 values (32 MiB).
// Larger batches are processed in chunks of whole samples, so memory does
// not grow with the batch. It is a variable so tests can force chunking.
var maxColElements = 1 << 22

// colWidth returns K = f·f·n_C_prev, the length of one window.
func (g convGeometry) colWidth() int { return g.f * g.f * g.nCPrev }

// maxChunkSamples caps the samples of one chunk, so a batch of 64 splits
// into 8 chunks that the CPUs share. The split depends on the geometry
// alone, so the results do not change with the number of CPUs.
const maxChunkSamples = 8

// chunkSamples returns how many samples one im2col buffer holds: at least
// one, at most m and maxChunkSamples.
func (g convGeometry) chunkSamples() int {
	perSample := g.nH * g.nW * g.colWidth()
	if perSample == 0 {
		return max(1, min(g.m, maxChunkSamples))
	}
	return max(1, min(g.m, maxChunkSamples, maxColElements/perSample))
}

// colIsInput reports whether col equals A_prev itself, which is the case for
// a 1×1 filter with stride 1 and no padding. The kernels then skip im2col
// and take the products on A_prev in its own R×K layout.
func (g convGeometry) colIsInput() bool {
	return g.f == 1 && g.stride == 1 && g.pad == 0
}

// allFinite reports whether every value of every slice is finite. Gonum's
// Dgemm skips the terms whose left operand is zero, so 0·Inf never becomes
// NaN there. The kernels fall back to the element loops for operands that
// hold Inf or NaN, which multiply every term as the explanations do.
func allFinite(slices ...[]float64) bool {
	for _, x := range slices {
		sum := 0.0
		for _, v := range x {
			sum += v * 0
		}
		if sum != 0 {
			return false
		}
	}
	return true
}

// gemmTiled computes C = alpha·op(A)·op(B) + beta·C like blas64.Gemm, but
// in tiles of C of at most 64×192 elements. Gonum's Dgemm starts a goroutine
// per 64×64 block of C once C has 4 or more of them. The kernels already run
// one goroutine per CPU, so those goroutines add only their start-up cost,
// an estimated fifth of the work of conv1's small blocks. Each tile
// accumulates over the whole of k in order, as Dgemm does for every element.
func gemmTiled(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	const tileRows, tileCols = 64, 192
	for i0 := 0; i0 < c.Rows; i0 += tileRows {
		rows := min(tileRows, c.Rows-i0)
		aTile := a
		if tA == blas.NoTrans {
			aTile.Rows, aTile.Data = rows, a.Data[i0*a.Stride:]
		} else {
			aTile.Cols, aTile.Data = rows, a.Data[i0:]
		}
		for j0 := 0; j0 < c.Cols; j0 += tileCols {
			cols := min(tileCols, c.Cols-j0)
			bTile := b
			if tB == blas.NoTrans {
				bTile.Cols, bTile.Data = cols, b.Data[j0:]
			} else {
				bTile.Rows, bTile.Data = cols, b.Data[j0*b.Stride:]
			}
			cTile := blas64.General{Rows: rows, Cols: cols, Stride: c.Stride, Data: c.Data[i0*c.Stride+j0:]}
			blas64.Gemm(tA, tB, alpha, aTile, bTile, beta, cTile)
		}
	}
}

// tileProducts selects gemmTiled for the products of chunks that run on
// several goroutines. The openblas build turns it off, because OpenBLAS
// starts no goroutines and blocks its products better than 64×192 tiles.
var tileProducts = true

// gemmFunc is the signature of blas64.Gemm.
type gemmFunc func(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General)

// productsFor returns the Dgemm the chunks use when workers goroutines run
// them. A single worker keeps gonum's own goroutines, so one sample still
// uses every CPU.
func productsFor(workers int) gemmFunc {
	if workers > 1 && tileProducts {
		return gemmTiled
	}
	return blas64.Gemm
}

// general returns data as a rows×cols row-major blas64 matrix.
func general(rows, cols int, data []float64) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: cols, Data: data[:rows*cols]}
}

// outputColumns returns the range [lo, hi) of output columns w whose input
// column w·s+q−pad lies inside A_prev, for filter column q. The range is
// empty (lo ≥ hi) when the filter column only ever meets the padding.
func (g convGeometry) outputColumns(q int) (lo, hi int) {
	if d := g.pad - q; d > 0 {
		lo = (d + g.stride - 1) / g.stride
	}
	if d := g.nWPrev - 1 + g.pad - q; d >= 0 {
		hi = min(g.nW, d/g.stride+1)
	}
	return lo, hi
}

// im2col fills colᵀ (K rows of R = samples·n_H·n_W values) with the windows
// of samples i0 ≤ i < i0+samples of aPrev. Entries that fall on the padding
// are set to zero, so colT may be reused.
func im2col(g convGeometry, aPrev []float64, i0, samples int, colT []float64) {
	rows := samples * g.nH * g.nW
	step := g.stride * g.nCPrev
	for p := 0; p < g.f; p++ {
		for q := 0; q < g.f; q++ {
			lo, hi := g.outputColumns(q)
			for cp := 0; cp < g.nCPrev; cp++ {
				dst := colT[((p*g.f+q)*g.nCPrev+cp)*rows:][:rows]
				for r, ih := 0, 0; ih < samples*g.nH; r, ih = r+g.nW, ih+1 {
					seg := dst[r : r+g.nW]
					row := (ih%g.nH)*g.stride + p - g.pad
					if row < 0 || row >= g.nHPrev || lo >= hi {
						clear(seg)
						continue
					}
					clear(seg[:lo])
					clear(seg[hi:])

					i := i0 + ih/g.nH
					at := ((i*g.nHPrev+row)*g.nWPrev+lo*g.stride+q-g.pad)*g.nCPrev + cp
					if step == 1 {
						copy(seg[lo:hi], aPrev[at:])
						continue
					}
					for w := lo; w < hi; w++ {
						seg[w] = aPrev[at]
						at += step
					}
				}
			}
		}
	}
}

// col2im adds each column of dcolᵀ back into the window of dAPrev it was
// copied from, for samples i0 ≤ i < i0+samples. Entries on the padding are
// dropped.
func col2im(g convGeometry, dcolT []float64, i0, samples int, dAPrev []float64) {
	rows := samples * g.nH * g.nW
	step := g.stride * g.nCPrev
	for p := 0; p < g.f; p++ {
		for q := 0; q < g.f; q++ {
			lo, hi := g.outputColumns(q)
			if lo >= hi {
				continue
			}
			for cp := 0; cp < g.nCPrev; cp++ {
				src := dcolT[((p*g.f+q)*g.nCPrev+cp)*rows:][:rows]
				for r, ih := 0, 0; ih < samples*g.nH; r, ih = r+g.nW, ih+1 {
					row := (ih%g.nH)*g.stride + p - g.pad
					if row < 0 || row >= g.nHPrev {
						continue
					}
					i := i0 + ih/g.nH
					at := ((i*g.nHPrev+row)*g.nWPrev+lo*g.stride+q-g.pad)*g.nCPrev + cp
					seg := src[r+lo : r+hi]
					if step == 1 {
						dst := dAPrev[at : at+len(seg)]
						for j, v := range seg {
							dst[j] += v
						}
						continue
					}
					for _, v := range seg {
						dAPrev[at] += v
						at += step
					}
				}
			}
		}
	}
}

// convForwardIm2col computes Z = col · W + b into z. It panics with a "net: "
// message if a slice does not fit g.
func convForwardIm2col(g convGeometry, aPrev, w, b, z []float64) {
	g.checkSlices(aPrev, w, z)
	if !allFinite(aPrev, w, b) {
		convForwardLoops(g, aPrev, w, b, z)
		return
	}
	k := g.colWidth()
	perSample := g.nH * g.nW
	chunk, chunks, workers := g.chunking()
	gemm := productsFor(workers)
	wMat := general(k, g.nC, w)

	runChunks(chunks, workers, func(u int) {
		i0 := u * chunk
		samples := min(chunk, g.m-i0)
		rows := samples * perSample
		zChunk := z[i0*perSample*g.nC : (i0+samples)*perSample*g.nC]
		if g.colIsInput() {
			for r := 0; r < rows; r++ {
				copy(zChunk[r*g.nC:(r+1)*g.nC], b)
			}
			gemm(blas.NoTrans, blas.NoTrans, 1, general(rows, k, aPrev[i0*perSample*k:]), wMat, 1, general(rows, g.nC, zChunk))
			return
		}

		colT := getScratch(k * rows)
		zT := getScratch(g.nC * rows)
		im2col(g, aPrev, i0, samples, *colT)
		gemm(blas.Trans, blas.NoTrans, 1, wMat, general(k, rows, *colT), 0, general(g.nC, rows, *zT))

		// Z[r,c] = Zᵀ[c,r] + b[c].
		for c, bias := range b {
			at := c
			for _, v := range (*zT)[c*rows : (c+1)*rows] {
				zChunk[at] = v + bias
				at += g.nC
			}
		}
		putScratch(colT)
		putScratch(zT)
	})
}

// convBackwardIm2col computes dW = colᵀ · dZ, db = Σ_rows dZ and dA_prev by
// col2im of dZ · Wᵀ. dAPrev, dW and db must be zero on entry. It panics with
// a "net: " message if a slice does not fit g.
func convBackwardIm2col(g convGeometry, aPrev, w, dZ, dAPrev, dW, db []float64) {
	g.checkSlices(aPrev, w, dZ)
	g.checkSlices(dAPrev, dW, dZ)
	if !allFinite(aPrev, w, dZ) {
		convBackwardLoops(g, aPrev, w, dZ, dAPrev, dW, db)
		return
	}
	k := g.colWidth()
	perSample := g.nH * g.nW
	chunk, chunks, workers := g.chunking()
	gemm := productsFor(workers)
	wMat := general(k, g.nC, w)

	// db[c] = Σ_{i,h,w} dZ[i,h,w,c].
	for r := 0; r < g.m*perSample; r++ {
		for c, v := range dZ[r*g.nC : (r+1)*g.nC] {
			db[c] += v
		}
	}

	// Each chunk u writes its own partial dWᵀ, and the partials are added in
	// chunk order below, so dW does not depend on which worker ran which chunk.
	partials := getScratch(chunks * k * g.nC)
	defer putScratch(partials)
	runChunks(chunks, workers, func(u int) {
		i0 := u * chunk
		samples := min(chunk, g.m-i0)
		rows := samples * perSample
		partial := general(g.nC, k, (*partials)[u*k*g.nC:])
		if g.colIsInput() {
			aMat := general(rows, k, aPrev[i0*perSample*k:])
			dZMat := general(rows, g.nC, dZ[i0*perSample*g.nC:])
			gemm(blas.Trans, blas.NoTrans, 1, dZMat, aMat, 0, partial)
			gemm(blas.NoTrans, blas.Trans, 1, dZMat, wMat, 0, general(rows, k, dAPrev[i0*perSample*k:]))
			return
		}

		// dZᵀ[c,r] = dZ[r,c] over the chunk's rows.
		dZT := getScratch(g.nC * rows)
		dZChunk := dZ[i0*perSample*g.nC : (i0+samples)*perSample*g.nC]
		for c := 0; c < g.nC; c++ {
			at := c
			dst := (*dZT)[c*rows : (c+1)*rows]
			for r := range dst {
				dst[r] = dZChunk[at]
				at += g.nC
			}
		}
		dZTMat := general(g.nC, rows, *dZT)

		// dWᵀ_u = dZᵀ · col over the chunk's rows.
		colT := getScratch(k * rows)
		im2col(g, aPrev, i0, samples, *colT)
		gemm(blas.NoTrans, blas.Trans, 1, dZTMat, general(k, rows, *colT), 0, partial)

		// dcolᵀ = W · dZᵀ, then dA_prev += col2im(dcolᵀ). colT is free again
		// and has the size of dcolᵀ.
		dcolT := colT
		gemm(blas.NoTrans, blas.NoTrans, 1, wMat, dZTMat, 0, general(k, rows, *dcolT))
		col2im(g, *dcolT, i0, samples, dAPrev)
		putScratch(dcolT)
		putScratch(dZT)
	})

	// dW[j,c] = Σ_u dWᵀ_u[c,j], in chunk order.
	for u := 0; u < chunks; u++ {
		partial := (*partials)[u*k*g.nC : (u+1)*k*g.nC]
		for c := 0; c < g.nC; c++ {
			at := c
			for _, v := range partial[c*k : (c+1)*k] {
				dW[at] += v
				at += g.nC
			}
		}
	}
}

// chunking returns the samples per chunk, the number of chunks and the
// number of workers that process them: at most GOMAXPROCS and the chunks.
func (g convGeometry) chunking() (chunk, chunks, workers int) {
	chunk = g.chunkSamples()
	chunks = (g.m + chunk - 1) / chunk
	return chunk, chunks, max(1, min(runtime.GOMAXPROCS(0), chunks))
}

// runChunks calls work(u) once for every chunk u in [0, chunks), on workers
// goroutines that take chunks in turn. With one worker it runs the chunks in
// order on the calling goroutine.
func runChunks(chunks, workers int, work func(u int)) {
	if workers <= 1 {
		for u := 0; u < chunks; u++ {
			work(u)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				u := int(next.Add(1)) - 1
				if u >= chunks {
					return
				}
				work(u)
			}
		})
	}
	wg.Wait()
}

// checkSlices panics unless a has the size of A_prev, w the size of W and z
// the size of Z for geometry g.
func (g convGeometry) checkSlices(a, w, z []float64) {
	if len(a) != g.m*g.nHPrev*g.nWPrev*g.nCPrev || len(w) != g.colWidth()*g.nC || len(z) != g.m*g.nH*g.nW*g.nC {
		panic("net: conv: tensor sizes do not fit the layer geometry")
	}
}

// scratchPool keeps float64 buffers for values that no caller sees (colᵀ,
// Zᵀ, dZᵀ, partial gradients), so repeated steps reuse them instead of
// allocating new ones. A buffer handed to a Tensor must never come from here:
// recorded tensors must stay unchanged after the step that made them.
var scratchPool sync.Pool

// getScratch returns a buffer of n values with undefined contents.
func getScratch(n int) *[]float64 {
	if buf, ok := scratchPool.Get().(*[]float64); ok && cap(*buf) >= n {
		*buf = (*buf)[:n]
		return buf
	}
	buf := make([]float64, n)
	return &buf
}

// putScratch returns buf to the pool. The caller must not use it after.
func putScratch(buf *[]float64) { scratchPool.Put(buf) }
