package net

import (
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// The fast conv kernels lower each convolution to matrix products. im2col
// copies every window of A_prev_pad into one row of a matrix col with
// R = m·n_H·n_W rows and K = f·f·n_C_prev columns,
//
//	col[(i,h,w), (p,q,c')] = A_prev_pad[i, h·s+p, w·s+q, c'],
//
// so that, with W read as a K×n_C matrix and Z and dZ as R×n_C matrices (both
// are their row-major NHWC layouts), the conv is
//
//	Z    = col · W + b
//	dW   = colᵀ · dZ
//	dcol = dZ · Wᵀ
//
// and col2im adds each row of dcol back into the window it came from, which
// gives dA_prev. Products are taken by gonum's Dgemm.

// maxColElements bounds the im2col buffer to 2²² float64 values (32 MiB).
// Larger batches are processed in chunks of whole samples, so memory does
// not grow with the batch. It is a variable so tests can force chunking.
var maxColElements = 1 << 22

// colWidth returns K = f·f·n_C_prev, the number of columns of col.
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
// a 1×1 filter with stride 1 and no padding. The kernels then skip the copy.
func (g convGeometry) colIsInput() bool {
	return g.f == 1 && g.stride == 1 && g.pad == 0
}

// general returns data as a rows×cols row-major blas64 matrix.
func general(rows, cols int, data []float64) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: cols, Data: data[:rows*cols]}
}

// windowColumns returns the range [qLo, qHi) of filter columns q for which
// column w·s+q−pad of the window at output column w lies inside A_prev.
func (g convGeometry) windowColumns(w int) (qLo, qHi int) {
	left := w*g.stride - g.pad
	return max(0, -left), min(g.f, g.nWPrev-left)
}

// im2col fills col with the windows of samples i0 ≤ i < i0+samples of aPrev.
// Entries that fall on the padding are set to zero, so col may be reused.
func im2col(g convGeometry, aPrev []float64, i0, samples int, col []float64) {
	rowLen := g.f * g.nCPrev
	k := g.colWidth()
	r := 0
	for i := i0; i < i0+samples; i++ {
		for h := 0; h < g.nH; h++ {
			for w := 0; w < g.nW; w++ {
				dst := col[r*k : (r+1)*k]
				r++
				qLo, qHi := g.windowColumns(w)
				left := w*g.stride - g.pad
				for p := 0; p < g.f; p++ {
					seg := dst[p*rowLen : (p+1)*rowLen]
					row := h*g.stride + p - g.pad
					if row < 0 || row >= g.nHPrev || qLo >= qHi {
						clear(seg)
						continue
					}
					clear(seg[:qLo*g.nCPrev])
					clear(seg[qHi*g.nCPrev:])

					// Window columns qLo..qHi−1 are contiguous in both A_prev and col.
					src := ((i*g.nHPrev+row)*g.nWPrev + left + qLo) * g.nCPrev
					copy(seg[qLo*g.nCPrev:qHi*g.nCPrev], aPrev[src:])
				}
			}
		}
	}
}

// col2im adds each row of dcol back into the window of dAPrev it was copied
// from, for samples i0 ≤ i < i0+samples. Entries on the padding are dropped.
func col2im(g convGeometry, dcol []float64, i0, samples int, dAPrev []float64) {
	rowLen := g.f * g.nCPrev
	k := g.colWidth()
	r := 0
	for i := i0; i < i0+samples; i++ {
		for h := 0; h < g.nH; h++ {
			for w := 0; w < g.nW; w++ {
				src := dcol[r*k : (r+1)*k]
				r++
				qLo, qHi := g.windowColumns(w)
				left := w*g.stride - g.pad
				for p := 0; p < g.f; p++ {
					row := h*g.stride + p - g.pad
					if row < 0 || row >= g.nHPrev || qLo >= qHi {
						continue
					}
					seg := src[p*rowLen+qLo*g.nCPrev : p*rowLen+qHi*g.nCPrev]
					dst := dAPrev[((i*g.nHPrev+row)*g.nWPrev+left+qLo)*g.nCPrev:]
					for j, v := range seg {
						dst[j] += v
					}
				}
			}
		}
	}
}

// colChunk returns the col matrix of samples i0 ≤ i < i0+samples: the
// samples' part of aPrev when col is nil (see colIsInput), else col filled
// by im2col.
func (g convGeometry) colChunk(aPrev, col []float64, i0, samples int) []float64 {
	if col == nil {
		perSample := g.nH * g.nW * g.colWidth()
		return aPrev[i0*perSample : (i0+samples)*perSample]
	}
	im2col(g, aPrev, i0, samples, col)
	return col
}

// convForwardIm2col computes Z = col · W + b into z. It panics with a "net: "
// message if a slice does not fit g.
func convForwardIm2col(g convGeometry, aPrev, w, b, z []float64) {
	g.checkSlices(aPrev, w, z)
	k := g.colWidth()
	perSample := g.nH * g.nW
	chunk, chunks, workers := g.chunking()
	cols := make([][]float64, workers)
	wMat := general(k, g.nC, w)

	runChunks(chunks, workers, func(worker, u int) {
		i0 := u * chunk
		samples := min(chunk, g.m-i0)
		rows := samples * perSample
		zChunk := z[i0*perSample*g.nC : (i0+samples)*perSample*g.nC]
		for r := 0; r < rows; r++ {
			copy(zChunk[r*g.nC:(r+1)*g.nC], b)
		}

		a := g.colChunk(aPrev, g.workerBuffer(cols, worker, chunk), i0, samples)
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, general(rows, k, a), wMat, 1, general(rows, g.nC, zChunk))
	})
}

// convBackwardIm2col computes dW = colᵀ · dZ, db = Σ_rows dZ and dA_prev by
// col2im of dZ · Wᵀ. dAPrev, dW and db must be zero on entry. It panics with
// a "net: " message if a slice does not fit g.
func convBackwardIm2col(g convGeometry, aPrev, w, dZ, dAPrev, dW, db []float64) {
	g.checkSlices(aPrev, w, dZ)
	g.checkSlices(dAPrev, dW, dZ)
	k := g.colWidth()
	perSample := g.nH * g.nW
	chunk, chunks, workers := g.chunking()
	cols := make([][]float64, workers)
	dcols := make([][]float64, workers)
	wMat := general(k, g.nC, w)

	// db[c] = Σ_{i,h,w} dZ[i,h,w,c].
	for r := 0; r < g.m*perSample; r++ {
		for c, v := range dZ[r*g.nC : (r+1)*g.nC] {
			db[c] += v
		}
	}

	// Each chunk u writes its own partial dW, and the partials are added in
	// chunk order below, so dW does not depend on which worker ran which chunk.
	partials := make([]float64, chunks*k*g.nC)
	runChunks(chunks, workers, func(worker, u int) {
		i0 := u * chunk
		samples := min(chunk, g.m-i0)
		rows := samples * perSample
		dZMat := general(rows, g.nC, dZ[i0*perSample*g.nC:])

		// dW_u = colᵀ · dZ over the chunk's rows.
		a := g.colChunk(aPrev, g.workerBuffer(cols, worker, chunk), i0, samples)
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, general(rows, k, a), dZMat, 0, general(k, g.nC, partials[u*k*g.nC:]))

		// dcol = dZ · Wᵀ, then dA_prev += col2im(dcol). For a 1×1 filter with
		// stride 1 and no padding, dcol is dA_prev itself.
		if g.colIsInput() {
			blas64.Gemm(blas.NoTrans, blas.Trans, 1, dZMat, wMat, 0, general(rows, k, dAPrev[i0*perSample*k:]))
			return
		}
		dcol := g.workerBuffer(dcols, worker, chunk)
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, dZMat, wMat, 0, general(rows, k, dcol))
		col2im(g, dcol, i0, samples, dAPrev)
	})

	for u := 0; u < chunks; u++ {
		for j, v := range partials[u*k*g.nC : (u+1)*k*g.nC] {
			dW[j] += v
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

// workerBuffer returns the im2col-sized buffer of worker, allocating it on
// first use, or nil when col is A_prev itself and no buffer is needed.
func (g convGeometry) workerBuffer(buffers [][]float64, worker, chunk int) []float64 {
	if g.colIsInput() {
		return nil
	}
	if buffers[worker] == nil {
		buffers[worker] = make([]float64, chunk*g.nH*g.nW*g.colWidth())
	}
	return buffers[worker]
}

// runChunks calls work(worker, u) once for every chunk u in [0, chunks), on
// workers goroutines that take chunks in turn. With one worker it runs the
// chunks in order on the calling goroutine.
func runChunks(chunks, workers int, work func(worker, u int)) {
	if workers <= 1 {
		for u := 0; u < chunks; u++ {
			work(0, u)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for worker := 0; worker < workers; worker++ {
		wg.Go(func() {
			for {
				u := int(next.Add(1)) - 1
				if u >= chunks {
					return
				}
				work(worker, u)
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
