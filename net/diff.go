package net

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cnndbg/cnndbg/trace"
)

// DefaultDiffTolerance is the absolute and relative tolerance of DiffTraces
// when none is given.
const DefaultDiffTolerance = 1e-12

// TraceDiff is where two traces of the same model first differ.
type TraceDiff struct {
	// Inputs holds the first differing element of each step input (images,
	// labels, initial parameters) that differs.
	Inputs []trace.Difference
	// Params lists the hyperparameters that differ, one line per event.
	Params []string
	// First is the first event output that differs, in execution order,
	// or nil if every output agrees within the tolerance.
	First *trace.Difference
	// Name is the name the event of First uses for the tensor, with the
	// step prefix of trace.StepName.
	Name string
	// A and B explain the element of First in each trace.
	A, B *Explanation
	// Terms pairs the terms of A and B that read operands at the same
	// indices, the pair that differs most first.
	Terms []TermPair
}

// TermPair is one term of an element's explanation in two traces. A or B is
// nil when only one explanation has the term.
type TermPair struct {
	A, B *Term
}

// Difference returns |A.Value − B.Value|, +Inf if one side is missing or
// non-finite and the two values are not the same.
func (p TermPair) Difference() float64 {
	if p.A == nil || p.B == nil {
		return math.Inf(1)
	}
	if trace.Equal(p.A.Value, p.B.Value, 0) {
		return 0
	}
	d := math.Abs(p.A.Value - p.B.Value)
	if math.IsNaN(d) {
		return math.Inf(1)
	}
	return d
}

// DiffTraces compares traces a and b of the same model, event by event and
// element by element, with the absolute and relative tolerance tol (see
// trace.Equal). It returns a *trace.StructureError if the traces record
// different models or event lists, naming where they diverge, and an error
// if a tensor cannot be read or tol is not a number ≥ 0. Tensors are read
// only up to the first difference.
func DiffTraces(a, b *trace.Trace, tol float64) (*TraceDiff, error) {
	if !(tol >= 0) || math.IsInf(tol, 0) {
		return nil, fmt.Errorf("tolerance %v is invalid: use a finite number ≥ 0 such as 1e-12", tol)
	}
	if err := trace.CompareStructure(a, b); err != nil {
		return nil, err
	}
	d := &TraceDiff{Params: trace.ParamDifferences(a, b)}
	var err error
	if d.Inputs, err = trace.InputDifferences(a, b, tol); err != nil {
		return nil, err
	}
	if d.First, err = trace.FirstDifference(a, b, tol); err != nil || d.First == nil {
		return d, err
	}

	e := &a.Events[d.First.Event]
	d.Name = trace.StepName(e.Step, e.Layer+"."+e.RoleOf(d.First.Tensor))
	if d.A, err = Explain(a, d.First.Tensor, d.First.Index); err != nil {
		return nil, fmt.Errorf("trace A: %v", err)
	}
	idB := b.Events[d.First.Event].Output(e.RoleOf(d.First.Tensor))
	if d.B, err = Explain(b, idB, d.First.Index); err != nil {
		return nil, fmt.Errorf("trace B: %v", err)
	}
	d.Terms = PairTerms(d.A, d.B)
	return d, nil
}

// PairTerms matches the terms of two explanations of the same element by
// their operands' names and indices, and sorts the pairs by decreasing
// TermPair.Difference, so the terms that changed come first. Terms with the
// same operands pair in order.
func PairTerms(a, b *Explanation) []TermPair {
	byKey := map[string][]int{}
	for k := range b.Terms {
		key := termKey(&b.Terms[k])
		byKey[key] = append(byKey[key], k)
	}
	used := make([]bool, len(b.Terms))
	pairs := make([]TermPair, 0, max(len(a.Terms), len(b.Terms)))
	for k := range a.Terms {
		p := TermPair{A: &a.Terms[k]}
		key := termKey(p.A)
		if ks := byKey[key]; len(ks) > 0 {
			p.B, used[ks[0]] = &b.Terms[ks[0]], true
			byKey[key] = ks[1:]
		}
		pairs = append(pairs, p)
	}
	for k := range b.Terms {
		if !used[k] {
			pairs = append(pairs, TermPair{B: &b.Terms[k]})
		}
	}
	slices.SortStableFunc(pairs, func(p, q TermPair) int {
		return cmp.Compare(q.Difference(), p.Difference())
	})
	return pairs
}

// termKey identifies a term by its operands: "|conv1.b[0,0,0,3]". Notes are
// left out because some carry values (a learning rate, log p).
func termKey(t *Term) string {
	var b strings.Builder
	for _, op := range t.Operands {
		b.WriteString("|")
		b.WriteString(op.Tensor)
		b.WriteString(indexText(op.Index))
	}
	return b.String()
}
