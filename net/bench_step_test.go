package net

import (
	"math/rand/v2"
	"testing"

	"github.com/cnndbg/cnndbg/trace"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Run with
//
//	go test ./net -run '^$' -bench 'Step' -benchtime 20x -count 3
//
// Each iteration runs one SGD step of the built-in example at batch 64 on
// uniform random inputs, with a new recorder per step (Record) or none
// (NoRecord). bench/side_by_side.py times the same step next to PyTorch.

func BenchmarkStepRecord(b *testing.B)   { benchmarkStep(b, true) }
func BenchmarkStepNoRecord(b *testing.B) { benchmarkStep(b, false) }

func benchmarkStep(b *testing.B, record bool) {
	const m = 64
	n := ExampleNetwork()
	rng := rand.New(rand.NewPCG(7, 7))
	x := randomTensor(rng, m, 28, 28, 1)
	labels := make([]int, m)
	for i := range labels {
		labels[i] = rng.IntN(n.Classes)
	}
	spec := n.Spec.JSON()
	b.ReportAllocs()
	for b.Loop() {
		var rec *trace.Recorder
		if record {
			rec = trace.NewRecorder(spec)
		}
		n.Step(x, labels, 0.01, rec)
	}
}

// BenchmarkDgemmTransposed times the three products of the conv kernels in
// the layout they use, on one 8-sample chunk of conv1 and conv2 at batch 64:
// Zᵀ = Wᵀ·colᵀ, dWᵀ = dZᵀ·col and dcolᵀ = W·dZᵀ, with colᵀ K×R. "gonum"
// is one blas64.Gemm call, "tiled" is gemmTiled as the kernels call it when
// several chunks run at once. Run with
//
//	go test ./net -run '^$' -bench 'DgemmTransposed' -benchtime 50x -count 3
func BenchmarkDgemmTransposed(b *testing.B) {
	for _, geo := range benchConvGeometries {
		g := geo.g
		rows := g.chunkSamples() * g.nH * g.nW
		k, nC := g.colWidth(), g.nC
		rng := rand.New(rand.NewPCG(2, 1))
		colT := general(k, rows, randomTensor(rng, k, rows).Data)
		w := general(k, nC, randomTensor(rng, k, nC).Data)
		dZT := general(nC, rows, randomTensor(rng, nC, rows).Data)
		zT := general(nC, rows, make([]float64, nC*rows))
		dWT := general(nC, k, make([]float64, nC*k))
		dcolT := general(k, rows, make([]float64, k*rows))
		for _, gemm := range []struct {
			name string
			run  gemmFunc
		}{{"gonum", blas64.Gemm}, {"tiled", gemmTiled}} {
			products := []struct {
				name string
				run  func()
			}{
				{"ZT=WT·colT", func() { gemm.run(blas.Trans, blas.NoTrans, 1, w, colT, 0, zT) }},
				{"dWT=dZT·col", func() { gemm.run(blas.NoTrans, blas.Trans, 1, dZT, colT, 0, dWT) }},
				{"dcolT=W·dZT", func() { gemm.run(blas.NoTrans, blas.NoTrans, 1, w, dZT, 0, dcolT) }},
			}
			for _, p := range products {
				b.Run(geo.name+"/"+gemm.name+"/"+p.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						p.run()
					}
					flops := 2 * float64(rows) * float64(k) * float64(nC)
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
