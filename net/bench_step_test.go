package net

import (
	"math/rand/v2"
	"testing"

	"github.com/cnndbg/cnndbg/trace"
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
