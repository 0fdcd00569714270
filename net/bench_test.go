package net

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Run with
//
//	go test ./net -run '^$' -bench 'Conv' -benchtime 10x -count 3
//	go test ./net -run '^$' -bench 'Dgemm' -benchtime 50x -count 3
//
// Each conv benchmark runs one forward and one backward pass at batch 64 on
// the geometry of a conv layer of the built-in example. GFLOP/s counts the
// multiply-adds of the three products (Z, dW, dA_prev) as 2 flops each:
// 6·m·n_H·n_W·f²·n_C_prev·n_C per iteration. The bias and db are left out.

// benchConvGeometries are conv1 and conv2 of ExampleSpecJSON at batch 64.
var benchConvGeometries = []struct {
	name string
	g    convGeometry
}{
	{"conv1", convGeometry{m: 64, nHPrev: 28, nWPrev: 28, nCPrev: 1, f: 5, stride: 1, pad: 2, nH: 28, nW: 28, nC: 6}},
	{"conv2", convGeometry{m: 64, nHPrev: 14, nWPrev: 14, nCPrev: 6, f: 5, stride: 1, pad: 0, nH: 10, nW: 10, nC: 16}},
}

// convFlops returns the flops of one forward and backward pass.
func convFlops(g convGeometry) float64 {
	return 6 * float64(g.m*g.nH*g.nW) * float64(g.colWidth()) * float64(g.nC)
}

func BenchmarkConv(b *testing.B) {
	kernels := []struct {
		name     string
		forward  func(g convGeometry, aPrev, w, bias, z []float64)
		backward func(g convGeometry, aPrev, w, dZ, dAPrev, dW, db []float64)
	}{
		{"loops", convForwardLoops, convBackwardLoops},
		{"im2col", convForwardIm2col, convBackwardIm2col},
	}
	for _, geo := range benchConvGeometries {
		for _, kernel := range kernels {
			b.Run(geo.name+"/"+kernel.name, func(b *testing.B) {
				g := geo.g
				op := randomConvOperands(rand.New(rand.NewPCG(1, 1)), g)
				res := newConvResults(g)
				b.ReportAllocs()
				for b.Loop() {
					kernel.forward(g, op.aPrev.Data, op.w.Data, op.b.Data, res.z.Data)
					clear(res.dAPrev.Data)
					clear(res.dW.Data)
					clear(res.db.Data)
					kernel.backward(g, op.aPrev.Data, op.w.Data, op.dZ.Data, res.dAPrev.Data, res.dW.Data, res.db.Data)
				}
				b.ReportMetric(convFlops(g)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkDgemm times gonum's Dgemm alone on the three products of each
// conv: Z = col·W (R×K by K×n_C), dW = colᵀ·dZ (K×R by R×n_C) and
// dcol = dZ·Wᵀ (R×n_C by n_C×K), with K = f²·n_C_prev. R is the rows of one
// chunk (chunkSamples·n_H·n_W) for the "chunk" runs, as the kernels use,
// and m·n_H·n_W for the "batch" runs.
func BenchmarkDgemm(b *testing.B) {
	for _, geo := range benchConvGeometries {
		g := geo.g
		for _, size := range []struct {
			name    string
			samples int
		}{{"chunk", g.chunkSamples()}, {"batch", g.m}} {
			benchmarkConvProducts(b, geo.name+"/"+size.name, size.samples*g.nH*g.nW, g.colWidth(), g.nC)
		}
	}
}

// benchmarkConvProducts runs the three conv products for R = rows.
func benchmarkConvProducts(b *testing.B, name string, rows, k, nC int) {
	rng := rand.New(rand.NewPCG(2, 1))
	col := randomTensor(rng, rows, k).Data
	w := randomTensor(rng, k, nC).Data
	dZ := randomTensor(rng, rows, nC).Data
	z := make([]float64, rows*nC)
	dW := make([]float64, k*nC)
	dcol := make([]float64, rows*k)
	products := []struct {
		name string
		run  func()
	}{
		{"Z=col·W", func() {
			blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, general(rows, k, col), general(k, nC, w), 0, general(rows, nC, z))
		}},
		{"dW=colT·dZ", func() {
			blas64.Gemm(blas.Trans, blas.NoTrans, 1, general(rows, k, col), general(rows, nC, dZ), 0, general(k, nC, dW))
		}},
		{"dcol=dZ·WT", func() {
			blas64.Gemm(blas.NoTrans, blas.Trans, 1, general(rows, nC, dZ), general(k, nC, w), 0, general(rows, k, dcol))
		}},
	}
	for _, p := range products {
		b.Run(name+"/"+p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.run()
			}
			flops := 2 * float64(rows) * float64(k) * float64(nC)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
