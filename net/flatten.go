package net

import (
	"fmt"

	"github.com/cnndbg/cnndbg/trace"
)

// Flatten reshapes (m, n_H, n_W, n_C) to (m, n_H·n_W·n_C) in row-major
// order, as numpy's reshape(m, -1) on NHWC.
type Flatten struct{ name string }

// NewFlatten returns a flatten layer.
func NewFlatten(name string) *Flatten { return &Flatten{name: name} }

func (l *Flatten) Name() string { return l.name }
func (l *Flatten) Kind() string { return "flatten" }
func (l *Flatten) Hyper() []any { return nil }
func (l *Flatten) Roles() Roles { return standardRoles }

func (l *Flatten) OutShape(in []int) ([]int, error) {
	return []int{trace.Size(in)}, nil
}

// Forward returns A_prev as an (m, n) tensor over the same data, since the
// order of values is unchanged. The two tensors share their values, which is
// safe because no layer or recorder changes a tensor after making it.
func (l *Flatten) Forward(aPrev *Tensor) *Tensor {
	m := aPrev.Shape[0]
	return FromData(aPrev.Data, m, len(aPrev.Data)/max(m, 1))
}

// Backward returns dA reshaped to the shape of A_prev, over the same data.
func (l *Flatten) Backward(aPrev, _, dA *Tensor) (*Tensor, []*Tensor) {
	return FromData(dA.Data, aPrev.Shape...), nil
}

func init() {
	registerExplainer("flatten", trace.Forward, explainFlattenForward)
	registerExplainer("flatten", trace.Backward, explainFlattenBackward)
}

func explainFlattenForward(tr *trace.Trace, e *trace.Event, role string, idx []int) (*Explanation, error) {
	ts, err := eventTensors(tr, e, "A_prev")
	if err != nil {
		return nil, err
	}
	aPrev := ts[0]
	src := append([]int{idx[0]}, trace.Unravel(aPrev.Shape[1:], idx[1])...)
	term := product(1, operand(e, aPrev, src...))
	term.Note = fmt.Sprintf("column %d is element %v of a sample: row-major over (n_H, n_W, n_C)", idx[1], src[1:])
	return &Explanation{Formula: "A[i, k] = A_prev[i, h, w, c] with k = (h·n_W + w)·n_C + c", Terms: []Term{term}}, nil
}

func explainFlattenBackward(tr *trace.Trace, e *trace.Event, role string, idx []int) (*Explanation, error) {
	ts, err := eventTensors(tr, e, "dA")
	if err != nil {
		return nil, err
	}
	dA := ts[0]
	k := trace.Offset(tr.Out(e, "dA_prev").Shape[1:], idx[1:])
	term := product(1, operand(e, dA, idx[0], k))
	term.Note = fmt.Sprintf("element %v of a sample is column %d of the flattened gradient", idx[1:], k)
	return &Explanation{Formula: "dA_prev[i, h, w, c] = dA[i, k] with k = (h·n_W + w)·n_C + c", Terms: []Term{term}}, nil
}
