package net

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cnndbg/cnndbg/trace"
)

// NonFiniteOrigin is the place where a NaN or an infinity first appears in
// a trace, and why it appears there.
type NonFiniteOrigin struct {
	// Event is the index of the first event, in execution order, that
	// writes a non-finite value, or -1 when no event does but a step input
	// holds one.
	Event int
	// Tensor is the ID of the tensor that holds the value, and Name the name
	// the event uses for it, with the step prefix of trace.StepName
	// (conv1.Z, s3/conv1.Z).
	Tensor int
	Name   string
	// Index is the first non-finite element of the tensor in row-major order.
	Index []int
	Value float64
	// Count is the number of non-finite values in the tensor.
	Count int
	// Explanation lists the terms that make the element; nil for a step input.
	Explanation *Explanation
	// Diagnosis names in one sentence the operand, product or sum that made the
	// value: an overflowing product of finite factors, 0·∞, ∞ − ∞, a sum
	// of finite terms that overflows, or a NaN or infinity read from a step
	// input.
	Diagnosis string
	// FromInput is set when the value comes from a step input (the images,
	// labels or initial parameters) rather than from arithmetic.
	FromInput bool
}

// FirstNonFinite finds the first event, in execution order, that writes a
// NaN or an infinity, and in it the first such element in row-major order
// of its first non-finite output. With finite inputs that event is where
// the value was born; otherwise it reads a non-finite step input, and
// FromInput is set. It returns nil and no error if the trace holds no
// non-finite value.
//
// The search uses the counts recorded in each tensor's Stats, so on a trace
// opened from a file it reads only the tensor that holds the value and the
// tensors its explanation needs.
func FirstNonFinite(tr *trace.Trace) (*NonFiniteOrigin, error) {
	i := tr.FirstNonFiniteEvent(0)
	if i < 0 {
		return nonFiniteStepInput(tr)
	}
	e := &tr.Events[i]
	id := tr.FirstNonFiniteOutput(e)
	data, err := tr.Data(id)
	if err != nil {
		return nil, err
	}
	off := trace.FirstNonFinite(data)
	if off < 0 {
		return nil, fmt.Errorf("%s: its recorded statistics count %d non-finite values but its data holds none: the trace is inconsistent, record it again",
			tr.Tensors[id].Name, tr.Tensors[id].Stats.NonFinite())
	}
	t := tr.Tensors[id]
	o := &NonFiniteOrigin{
		Event: i, Tensor: id, Name: trace.StepName(e.Step, e.Layer+"."+e.RoleOf(id)),
		Index: trace.Unravel(t.Shape, off), Value: data[off], Count: t.Stats.NonFinite(),
	}
	if o.Explanation, err = Explain(tr, id, o.Index); err != nil {
		return nil, err
	}
	o.Diagnosis, o.FromInput = diagnoseNonFinite(tr, e, o.Explanation)
	return o, nil
}

// nonFiniteStepInput returns the first non-finite element of a step input,
// for a trace in which no event writes one, or nil if there is none.
func nonFiniteStepInput(tr *trace.Trace) (*NonFiniteOrigin, error) {
	for _, t := range tr.Tensors {
		if t.Producer >= 0 || t.Stats.NonFinite() == 0 {
			continue
		}
		data, err := tr.Data(t.ID)
		if err != nil {
			return nil, err
		}
		off := trace.FirstNonFinite(data)
		if off < 0 {
			continue
		}
		index := trace.Unravel(t.Shape, off)
		return &NonFiniteOrigin{
			Event: -1, Tensor: t.ID, Name: t.Name, Index: index, Value: data[off], Count: t.Stats.NonFinite(),
			Diagnosis: fmt.Sprintf("the step input %s%s is %v: no event computed it, and no event turned it into a non-finite output",
				t.Name, indexText(index), data[off]),
			FromInput: true,
		}, nil
	}
	return nil, nil
}

// diagnoseNonFinite names what made the explained non-finite value of event
// e. It looks for, in turn, a non-finite operand, a product of finite
// factors that overflows or hits 0·∞, infinite terms of both signs, and a
// sum of finite terms that overflows. fromInput is set when
// the cause is a non-finite value read from a step input.
func diagnoseNonFinite(tr *trace.Trace, e *trace.Event, x *Explanation) (diagnosis string, fromInput bool) {
	if d, ok := nonFiniteOperand(tr, e, x); ok {
		return d, true
	}

	var overflows []string
	var posInf, negInf *Term
	for k := range x.Terms {
		term := &x.Terms[k]
		switch {
		case math.IsNaN(term.Value):
			return productNaN(term), false
		case math.IsInf(term.Value, 1) && posInf == nil:
			posInf = term
		case math.IsInf(term.Value, -1) && negInf == nil:
			negInf = term
		}
		if math.IsInf(term.Value, 0) && len(overflows) < 2 {
			overflows = append(overflows, productText(term)+" overflows to "+signedInf(term.Value))
		}
	}
	switch {
	case posInf != nil && negInf != nil:
		return fmt.Sprintf("∞ − ∞: %s overflows to +Inf and %s overflows to −Inf, and +Inf + −Inf = NaN",
			productText(posInf), productText(negInf)), false
	case len(overflows) > 0:
		more := ""
		if n := countInfinite(x.Terms); n > len(overflows) {
			more = fmt.Sprintf(" (%d of the %d terms overflow)", n, len(x.Terms))
		}
		return strings.Join(overflows, ", and ") + more, false
	}
	return finiteTermsDiagnosis(x), false
}

// nonFiniteOperand describes the first operand of the explanation that is
// NaN or infinite, or returns false if every operand is finite.
func nonFiniteOperand(tr *trace.Trace, e *trace.Event, x *Explanation) (string, bool) {
	for _, term := range x.Terms {
		for _, op := range term.Operands {
			if !math.IsNaN(op.Value) && !math.IsInf(op.Value, 0) {
				continue
			}
			source := "a tensor an earlier event wrote"
			role := strings.TrimPrefix(op.Tensor, e.Layer+".")
			if id := e.Input(role); id >= 0 && tr.Tensors[id].Producer < 0 {
				source = "the step input " + tr.Tensors[id].Name
			}
			return fmt.Sprintf("%s%s is %v, read from %s", op.Tensor, indexText(op.Index), op.Value, source), true
		}
	}
	return "", false
}

// productText writes a term as its factors and their values:
// "conv1.A_prev[0,3,4,0]·conv1.W[1,2,0,0] = 2e+200·3e+200".
func productText(t *Term) string {
	var names, values []string
	if t.Coef != 1 {
		names = append(names, shortFloat(t.Coef))
		values = append(values, shortFloat(t.Coef))
	}
	for _, op := range t.Operands {
		names = append(names, op.Label())
		values = append(values, shortFloat(op.Value))
	}
	if len(names) == 0 {
		return shortFloat(t.Value)
	}
	return strings.Join(names, "·") + " = " + strings.Join(values, "·")
}

// productNaN explains a NaN term of finite factors: multiplied left to
// right, a partial product overflows to ±Inf and then meets a zero factor.
func productNaN(t *Term) string {
	factors := []float64{t.Coef}
	for _, op := range t.Operands {
		factors = append(factors, op.Value)
	}
	p := factors[0]
	for _, f := range factors[1:] {
		next := p * f
		if math.IsNaN(next) {
			return fmt.Sprintf("0·∞: in %s the partial product %v is multiplied by %v, which gives NaN", productText(t), p, f)
		}
		p = next
	}
	if t.Note != "" {
		return fmt.Sprintf("the term %s (%s) is NaN although its operands are finite", productText(t), t.Note)
	}
	return fmt.Sprintf("the term %s is NaN although its operands are finite", productText(t))
}

// finiteTermsDiagnosis explains a non-finite value whose terms are all
// finite: their sum overflows, or the layer's formula (a log or exp, say)
// is not a plain sum of the terms.
func finiteTermsDiagnosis(x *Explanation) string {
	if len(x.Terms) == 0 {
		return fmt.Sprintf("%s%s is %v, but its explanation has no terms (%s)", x.Tensor, indexText(x.Index), x.Recorded, x.Formula)
	}
	largest := &x.Terms[0] // terms are sorted by decreasing magnitude
	if math.IsInf(x.Recorded, 0) {
		return fmt.Sprintf("every one of the %d terms is finite, but their sum overflows to %s: the largest is %s (the largest float64 is %.3g)",
			len(x.Terms), signedInf(x.Recorded), productText(largest), math.MaxFloat64)
	}
	return fmt.Sprintf("every one of the %d terms is finite, yet %s%s is %v: %s", len(x.Terms), x.Tensor, indexText(x.Index), x.Recorded, x.Formula)
}

func countInfinite(terms []Term) int {
	n := 0
	for _, t := range terms {
		if math.IsInf(t.Value, 0) {
			n++
		}
	}
	return n
}

func signedInf(v float64) string {
	if v > 0 {
		return "+Inf"
	}
	return "−Inf"
}

// shortFloat writes v with at most 4 significant digits: 3e+200, −0.1.
func shortFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}
