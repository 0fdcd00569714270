package net

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cnndbg/cnndbg/trace"
)

// Operand is one recorded value a term reads, or a function of it.
type Operand struct {
	// Tensor is the name the explained event uses for the tensor (conv1.dZ).
	Tensor string
	Index  []int
	Value  float64
	// Func, when set, names the function applied to the element ("log
	// softmax", "softmax"), and Value is its result, not the element.
	Func string
}

// Term is one contribution to an explained element. Value is
// Coef · Π Operands[k].Value.
type Term struct {
	Coef     float64
	Operands []Operand
	Value    float64
	// Note describes the term when the formula alone does not, such as
	// "window (1,2) routes here: first maximum".
	Note string
}

// Explanation lists the terms that sum to one element of a recorded tensor.
type Explanation struct {
	// Event is the index of the event that wrote the element.
	Event int
	// Tensor is the name the event uses for the explained tensor.
	Tensor string
	Index  []int
	// Formula is the element's formula in the course's notation.
	Formula string
	// Terms are sorted by decreasing magnitude of Value.
	Terms []Term
	// Sum is Σ Terms[k].Value, summed with compensation.
	Sum float64
	// Recorded is the element's value in the trace.
	Recorded float64
	// Notes add facts the terms do not carry, such as tied maxima.
	Notes []string
}

// Agrees reports whether the sum of the terms equals the recorded value to
// within a relative error of 1e-12 (absolute 1e-300 near zero). NaN agrees
// with NaN, and an infinity with the same infinity.
func (x *Explanation) Agrees() bool {
	return closeEnough(x.Sum, x.Recorded, 1e-12)
}

// RelErr returns |Sum − Recorded| / max(|Recorded|, tiny).
func (x *Explanation) RelErr() float64 {
	if x.Sum == x.Recorded || math.IsNaN(x.Sum) && math.IsNaN(x.Recorded) {
		return 0 // also for equal infinities and NaN, where the difference is NaN
	}
	d := math.Abs(x.Sum - x.Recorded)
	return d / math.Max(math.Abs(x.Recorded), 1e-300)
}

func closeEnough(a, b, rel float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	return math.Abs(a-b) <= rel*math.Max(math.Abs(b), math.Abs(a))+1e-300
}

// Explain returns the terms that make the element at index of tensor id in
// trace tr, computed by the code of the event that wrote the tensor. It
// returns an error for a step input (nothing wrote it), an index out of
// range, or an event kind with no explain code.
func Explain(tr *trace.Trace, id int, index []int) (*Explanation, error) {
	if id < 0 || id >= len(tr.Tensors) {
		return nil, fmt.Errorf("no tensor with ID %d", id)
	}
	t := tr.Tensors[id]
	if !t.InRange(index) {
		return nil, fmt.Errorf("index %v is out of range for %s of shape %v", index, t.Name, t.Shape)
	}
	e := tr.Producer(id)
	if e == nil {
		return nil, fmt.Errorf("%s is an input of the step: no event computed it", t.Name)
	}
	fn := explainers[e.Kind+"/"+e.Phase.String()]
	if fn == nil {
		return nil, fmt.Errorf("no explanation for %s %s events", e.Kind, e.Phase)
	}
	x, err := callExplainer(fn, tr, e, e.RoleOf(id), index)
	if err != nil {
		return nil, err
	}
	x.Event = e.Index
	x.Tensor = trace.StepName(e.Step, e.Layer+"."+e.RoleOf(id))
	x.Index = append([]int(nil), index...)
	if x.Recorded, err = tr.Value(id, index...); err != nil {
		return nil, err
	}
	x.finish()
	return x, nil
}

// callExplainer runs fn and turns a panic into an error. The trace reader
// checks a file's IDs, shapes and links, but not that the tensors of an event
// have the shapes its layer kind implies. A crafted trace can break that, so
// the explain code may index out of range: the user gets an error, not a crash.
func callExplainer(fn explainer, tr *trace.Trace, e *trace.Event, role string, index []int) (x *Explanation, err error) {
	defer func() {
		if r := recover(); r != nil {
			x, err = nil, fmt.Errorf("event %d (%s %s %s) has tensors whose shapes do not fit a %s layer (%v): the trace is inconsistent, record it again",
				e.Index, e.Layer, e.Kind, e.Phase, e.Kind, r)
		}
	}()
	return fn(tr, e, role, index)
}

// finish sorts the terms by decreasing magnitude and sums them with
// Neumaier's compensated summation, so the sum carries no rounding error of
// its own beyond one unit in the last place, whatever the order.
func (x *Explanation) finish() {
	slices.SortStableFunc(x.Terms, func(a, b Term) int {
		return cmp.Compare(math.Abs(b.Value), math.Abs(a.Value))
	})
	values := make([]float64, len(x.Terms))
	for i, term := range x.Terms {
		values[i] = term.Value
	}
	x.Sum = compensatedSum(values)
}

// compensatedSum returns Σ values by Neumaier's variant of Kahan summation.
func compensatedSum(values []float64) float64 {
	sums := RunningSums(values)
	if len(sums) == 0 {
		return 0
	}
	return sums[len(sums)-1]
}

// RunningSums returns the prefix sums of values, sums[k] = Σ values[:k+1],
// each with Neumaier's compensated summation, so the last one is exactly
// Explanation.Sum when values are the terms' values in order. Once a prefix
// sum is infinite or NaN it is the plain IEEE sum: the carry of an infinite
// sum would be ∞ − ∞ = NaN.
func RunningSums(values []float64) []float64 {
	sums := make([]float64, len(values))
	var sum, carry float64
	for k, v := range values {
		t := sum + v
		if math.Abs(sum) >= math.Abs(v) {
			carry += (sum - t) + v
		} else {
			carry += (v - t) + sum
		}
		sum = t
		if math.IsInf(sum, 0) || math.IsNaN(sum) {
			sums[k] = sum
		} else {
			sums[k] = sum + carry
		}
	}
	return sums
}

// Label writes the operand as name[index], or func(name)[index] when a
// function is applied: "loss.Y[62,9]", "log softmax(loss.Z)[62,9]".
func (o Operand) Label() string {
	parts := make([]string, len(o.Index))
	for k, v := range o.Index {
		parts[k] = strconv.Itoa(v)
	}
	name := o.Tensor
	if o.Func != "" {
		name = o.Func + "(" + name + ")"
	}
	return name + "[" + strings.Join(parts, ",") + "]"
}

// recorded is a trace tensor with its values loaded and the name the
// explained event uses for it.
type recorded struct {
	*trace.Tensor
	Data []float64
	name string
}

// operand reads the element at index of tensor t as the event names it.
func operand(e *trace.Event, t recorded, index ...int) Operand {
	return Operand{
		Tensor: t.name,
		Index:  index,
		Value:  t.Data[trace.Offset(t.Shape, index)],
	}
}

// slab hands out the index and operand storage of many terms from a few
// large allocations, so explaining an element with 50,000 terms does not
// allocate three times per term.
type slab struct {
	ints []int
	ops  []Operand
}

// operand is the package-level operand with the index copied into the slab.
func (s *slab) operand(t recorded, index ...int) Operand {
	if len(s.ints) < len(index) {
		s.ints = make([]int, max(4096, len(index)))
	}
	stored := s.ints[:len(index):len(index)]
	s.ints = s.ints[len(index):]
	copy(stored, index)
	return Operand{Tensor: t.name, Index: stored, Value: t.Data[trace.Offset(t.Shape, stored)]}
}

// product2 builds the term coef · a · b with its operands in the slab.
func (s *slab) product2(coef float64, a, b Operand) Term {
	if len(s.ops) < 2 {
		s.ops = make([]Operand, 2048)
	}
	ops := s.ops[:2:2]
	s.ops = s.ops[2:]
	ops[0], ops[1] = a, b
	return Term{Coef: coef, Operands: ops, Value: coef * a.Value * b.Value}
}

// product builds the term coef · Π operands.
func product(coef float64, ops ...Operand) Term {
	v := coef
	for _, op := range ops {
		v *= op.Value
	}
	return Term{Coef: coef, Operands: ops, Value: v}
}

// eventTensors fetches and loads the tensors an explainer needs, failing with
// a message that names the event and the missing role.
func eventTensors(tr *trace.Trace, e *trace.Event, inputs ...string) ([]recorded, error) {
	ts := make([]recorded, len(inputs))
	for i, role := range inputs {
		t := tr.In(e, role)
		if t == nil {
			t = tr.Out(e, role)
		}
		if t == nil {
			return nil, fmt.Errorf("event %d (%s %s %s) has no tensor %s", e.Index, e.Layer, e.Kind, e.Phase, role)
		}
		data, err := tr.Data(t.ID)
		if err != nil {
			return nil, err
		}
		ts[i] = recorded{Tensor: t, Data: data, name: trace.StepName(e.Step, e.Layer+"."+e.RoleOf(t.ID))}
	}
	return ts, nil
}
