package net

import (
	"fmt"
	"slices"

	"github.com/cnndbg/cnndbg/trace"
)

// Exercise is the result of one of the course's single-layer exercises:
// a forward and a backward call of one conv or pool layer, recorded.
type Exercise struct {
	Trace *trace.Trace
	// Outputs maps the course's file names (Z, A, dA_prev, dW, db) to arrays.
	Outputs map[string]*Tensor
	// Order lists the keys of Outputs in the order the course computes them.
	Order []string
}

// ConvExercise runs conv_forward and conv_backward on one layer. With a nil
// dZ, Z itself is the incoming gradient, as the course notebook does for
// lack of a layer above.
func ConvExercise(aPrev, w, b *Tensor, stride, pad int, dZ *Tensor) (*Exercise, error) {
	if len(aPrev.Shape) != 4 {
		return nil, fmt.Errorf("A_prev has shape %s: it must be 4-D (m, n_H_prev, n_W_prev, n_C_prev)", trace.FormatShape(aPrev.Shape))
	}
	if len(w.Shape) != 4 || w.Shape[0] != w.Shape[1] {
		return nil, fmt.Errorf("W has shape %s: it must be (f, f, n_C_prev, n_C)", trace.FormatShape(w.Shape))
	}
	if w.Shape[2] != aPrev.Shape[3] {
		return nil, fmt.Errorf("W has shape %s with %d input channels but A_prev %s has %d channels: W must be (f, f, %d, n_C)",
			trace.FormatShape(w.Shape), w.Shape[2], trace.FormatShape(aPrev.Shape), aPrev.Shape[3], aPrev.Shape[3])
	}
	nC := w.Shape[3]
	switch {
	case slices.Equal(b.Shape, []int{1, 1, 1, nC}):
	case slices.Equal(b.Shape, []int{nC}):
		b = FromData(b.Data, 1, 1, 1, nC)
	default:
		return nil, fmt.Errorf("b has shape %s: it must be (1, 1, 1, %d) to match W %s", trace.FormatShape(b.Shape), nC, trace.FormatShape(w.Shape))
	}
	if stride < 1 || pad < 0 {
		return nil, fmt.Errorf("stride %d, pad %d: stride must be ≥ 1 and pad ≥ 0", stride, pad)
	}
	layer := NewConv("conv", w, b, stride, pad)
	if _, err := layer.OutShape(aPrev.Shape[1:]); err != nil {
		return nil, err
	}

	rec := trace.NewRecorder(nil)
	aID := rec.Input("input.A_prev", aPrev.Shape, aPrev.Data)
	wID := rec.Input("conv.W", w.Shape, w.Data)
	bID := rec.Input("conv.b", b.Shape, b.Data)
	z := layer.Forward(aPrev)
	ev := rec.Begin("conv", "conv", trace.Forward, layer.Hyper()...)
	ev.Read("A_prev", aID).Read("W", wID).Read("b", bID)
	zID := ev.Write("Z", "", z.Shape, z.Data)
	ev.Done()

	dZID := zID
	if dZ == nil {
		dZ = z
	} else {
		if !slices.Equal(dZ.Shape, z.Shape) {
			return nil, fmt.Errorf("dZ has shape %s but Z has shape %s: they must match", trace.FormatShape(dZ.Shape), trace.FormatShape(z.Shape))
		}
		dZID = rec.Input("conv.dZ", dZ.Shape, dZ.Data)
	}
	dAPrev, grads := layer.Backward(aPrev, z, dZ)
	ev = rec.Begin("conv", "conv", trace.Backward, layer.Hyper()...)
	ev.Read("A_prev", aID).Read("W", wID).Read("b", bID).Read("dZ", dZID)
	ev.Write("dA_prev", "", dAPrev.Shape, dAPrev.Data)
	ev.Write("dW", "", grads[0].Shape, grads[0].Data)
	ev.Write("db", "", grads[1].Shape, grads[1].Data)
	ev.Done()

	return &Exercise{
		Trace:   rec.Trace(),
		Outputs: map[string]*Tensor{"Z": z, "dA_prev": dAPrev, "dW": grads[0], "db": grads[1]},
		Order:   []string{"Z", "dA_prev", "dW", "db"},
	}, nil
}

// PoolExercise runs pool_forward and pool_backward on one layer with window
// f, the stride, mode max or average, and the incoming gradient dA.
func PoolExercise(aPrev *Tensor, f, stride int, mode string, ties Ties, dA *Tensor) (*Exercise, error) {
	if len(aPrev.Shape) != 4 {
		return nil, fmt.Errorf("A_prev has shape %s: it must be 4-D (m, n_H_prev, n_W_prev, n_C)", trace.FormatShape(aPrev.Shape))
	}
	if f < 1 || stride < 1 {
		return nil, fmt.Errorf("size %d, stride %d: both must be ≥ 1", f, stride)
	}
	var layer *Pool
	switch mode {
	case "max":
		layer = NewMaxPool("pool", f, stride, ties)
	case "average", "avg":
		layer = NewAvgPool("pool", f, stride)
	default:
		return nil, fmt.Errorf("mode %q: use max or average", mode)
	}
	if _, err := layer.OutShape(aPrev.Shape[1:]); err != nil {
		return nil, err
	}

	rec := trace.NewRecorder(nil)
	aID := rec.Input("input.A_prev", aPrev.Shape, aPrev.Data)
	a := layer.Forward(aPrev)
	ev := rec.Begin("pool", layer.Kind(), trace.Forward, layer.Hyper()...)
	ev.Read("A_prev", aID)
	ev.Write("A", "", a.Shape, a.Data)
	ev.Done()

	if !slices.Equal(dA.Shape, a.Shape) {
		return nil, fmt.Errorf("dA has shape %s but the pool output A has shape %s: they must match", trace.FormatShape(dA.Shape), trace.FormatShape(a.Shape))
	}
	dAID := rec.Input("pool.dA", dA.Shape, dA.Data)
	dAPrev, _ := layer.Backward(aPrev, a, dA)
	ev = rec.Begin("pool", layer.Kind(), trace.Backward, layer.Hyper()...)
	ev.Read("A_prev", aID).Read("dA", dAID)
	ev.Write("dA_prev", "", dAPrev.Shape, dAPrev.Data)
	ev.Done()

	return &Exercise{
		Trace:   rec.Trace(),
		Outputs: map[string]*Tensor{"A": a, "dA_prev": dAPrev},
		Order:   []string{"A", "dA_prev"},
	}, nil
}
