package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
)

// This file holds queries over a trace that need no layer math: the steps
// of a trace, the search for non-finite values by their recorded Stats, and
// the element-by-element comparison of two traces of the same model.

// Steps returns the number of training steps the trace records: one more
// than the largest event Step, and 0 for a trace without events.
func (t *Trace) Steps() int {
	if len(t.Events) == 0 {
		return 0
	}
	return t.Events[len(t.Events)-1].Step + 1
}

// StepEvents returns the range [from, to) of the events of step, which is
// empty if the trace has no such step. Events of one step are contiguous
// because a recorder numbers steps in execution order.
func (t *Trace) StepEvents(step int) (from, to int) {
	from = len(t.Events)
	for i := range t.Events {
		if t.Events[i].Step == step {
			from = i
			break
		}
	}
	to = from
	for to < len(t.Events) && t.Events[to].Step == step {
		to++
	}
	return from, to
}

// HasNonFiniteOutput reports whether an output of event e holds a NaN or
// an infinity, by the recorded Stats: it reads no tensor values.
func (t *Trace) HasNonFiniteOutput(e *Event) bool {
	return t.FirstNonFiniteOutput(e) >= 0
}

// FirstNonFiniteOutput returns the ID of the first output of event e, in
// the order the event writes them, that holds a NaN or an infinity, or -1.
// It reads only Stats.
func (t *Trace) FirstNonFiniteOutput(e *Event) int {
	for _, ref := range e.Outputs {
		if t.Tensors[ref.Tensor].Stats.NonFinite() > 0 {
			return ref.Tensor
		}
	}
	return -1
}

// FirstNonFiniteEvent returns the index of the first event at or after
// from, in execution order, with a NaN or an infinity in an output, or -1
// if there is none. It reads only Stats, so it loads no tensor of a trace
// opened from a file.
func (t *Trace) FirstNonFiniteEvent(from int) int {
	for i := max(from, 0); i < len(t.Events); i++ {
		if t.HasNonFiniteOutput(&t.Events[i]) {
			return i
		}
	}
	return -1
}

// FirstNonFinite returns the position of the first NaN or infinity in
// data, or -1 if every value is finite.
func FirstNonFinite(data []float64) int {
	for k, v := range data {
		// v−v is NaN exactly when v is NaN or ±Inf, and one comparison
		// is cheaper than two calls.
		if v-v != 0 {
			return k
		}
	}
	return -1
}

// Equal reports whether a and b agree within tol: |a − b| ≤ tol + tol·max(|a|, |b|),
// an absolute and a relative tolerance of the same size. NaN equals NaN,
// and an infinity equals only the same infinity.
func Equal(a, b, tol float64) bool {
	if a == b {
		return true
	}
	if a != a || b != b {
		return a != a && b != b
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return false
	}
	return math.Abs(a-b) <= tol+tol*math.Max(math.Abs(a), math.Abs(b))
}

// Difference is one element at which two traces disagree.
type Difference struct {
	// Event is the index of the event that wrote the element in both
	// traces, or -1 for a step input.
	Event int
	// Tensor is the tensor's ID in trace a, and Name its canonical name there.
	Tensor int
	Name   string
	Index  []int
	A, B   float64
}

// StructureError reports where two traces stop describing the same
// computation: their models, their event lists or their tensors differ, so
// comparing their values means nothing.
type StructureError struct{ msg string }

func (e *StructureError) Error() string { return e.msg }

func structureErrorf(format string, args ...any) error {
	return &StructureError{fmt.Sprintf(format, args...)}
}

// CompareStructure returns nil if a and b record the same model and the
// same events, reading and writing tensors of the same shapes under the same
// roles, and otherwise a *StructureError naming the first place where they
// diverge. Hyperparameters may differ (a learning rate, say), because the
// values show their effect; ParamDifferences lists them.
func CompareStructure(a, b *Trace) error {
	if err := compareModels(a.Model, b.Model); err != nil {
		return err
	}
	for i := range min(len(a.Events), len(b.Events)) {
		if err := compareEvents(a, b, &a.Events[i], &b.Events[i]); err != nil {
			return err
		}
	}
	if len(a.Events) != len(b.Events) {
		longer, name := b, "B"
		if len(a.Events) > len(b.Events) {
			longer, name = a, "A"
		}
		e := longer.Events[min(len(a.Events), len(b.Events))]
		return structureErrorf("trace A has %d events and trace B %d: they diverge at event %d, which only %s has (step %d, %s %s %s)",
			len(a.Events), len(b.Events), e.Index, name, e.Step, e.Layer, e.Kind, e.Phase)
	}
	inA, inB := stepInputs(a), stepInputs(b)
	if len(inA) != len(inB) {
		return structureErrorf("trace A has %d step inputs and trace B %d: they record different computations", len(inA), len(inB))
	}
	for k := range inA {
		ta, tb := a.Tensors[inA[k]], b.Tensors[inB[k]]
		if ta.Name != tb.Name || !slices.Equal(ta.Shape, tb.Shape) {
			return structureErrorf("step input %d is %s %v in trace A but %s %v in trace B", k, ta.Name, ta.Shape, tb.Name, tb.Shape)
		}
	}
	return nil
}

// compareModels compares two model specs as JSON values, so spacing and key
// order do not count, and names the first layer that differs.
func compareModels(a, b []byte) error {
	if bytes.Equal(a, b) {
		return nil
	}
	type model struct {
		Input  any              `json:"input"`
		Layers []map[string]any `json:"layers"`
	}
	var ma, mb model
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil {
		return structureErrorf("the traces record different models: their model specs differ and one is not valid JSON")
	}
	if !reflect.DeepEqual(ma.Input, mb.Input) {
		return structureErrorf("the traces record different models: the inputs differ (%v in A, %v in B)", ma.Input, mb.Input)
	}
	for k := range min(len(ma.Layers), len(mb.Layers)) {
		if !reflect.DeepEqual(ma.Layers[k], mb.Layers[k]) {
			return structureErrorf("the traces record different models: layer %d is %v in A but %v in B", k, ma.Layers[k], mb.Layers[k])
		}
	}
	if len(ma.Layers) != len(mb.Layers) {
		return structureErrorf("the traces record different models: A has %d layers and B %d", len(ma.Layers), len(mb.Layers))
	}
	var ja, jb any
	if json.Unmarshal(a, &ja) != nil || json.Unmarshal(b, &jb) != nil || !reflect.DeepEqual(ja, jb) {
		return structureErrorf("the traces record different models: their model specs differ outside the layers")
	}
	return nil
}

// compareEvents returns a *StructureError if events ea of a and eb of b do
// not describe the same operation on tensors of the same shapes.
func compareEvents(a, b *Trace, ea, eb *Event) error {
	where := fmt.Sprintf("event %d", ea.Index)
	if ea.Step != eb.Step || ea.Layer != eb.Layer || ea.Kind != eb.Kind || ea.Phase != eb.Phase {
		return structureErrorf("the traces diverge at %s: step %d %s %s %s in A, step %d %s %s %s in B",
			where, ea.Step, ea.Layer, ea.Kind, ea.Phase, eb.Step, eb.Layer, eb.Kind, eb.Phase)
	}
	for _, side := range []struct {
		what   string
		ra, rb []Ref
	}{{"reads", ea.Inputs, eb.Inputs}, {"writes", ea.Outputs, eb.Outputs}} {
		if len(side.ra) != len(side.rb) {
			return structureErrorf("the traces diverge at %s (%s %s %s): it %s %d tensors in A and %d in B",
				where, ea.Layer, ea.Kind, ea.Phase, side.what, len(side.ra), len(side.rb))
		}
		for k := range side.ra {
			ta, tb := a.Tensors[side.ra[k].Tensor], b.Tensors[side.rb[k].Tensor]
			if side.ra[k].Role != side.rb[k].Role || !slices.Equal(ta.Shape, tb.Shape) {
				return structureErrorf("the traces diverge at %s (%s %s %s): it %s %s %v in A but %s %v in B",
					where, ea.Layer, ea.Kind, ea.Phase, side.what, side.ra[k].Role, ta.Shape, side.rb[k].Role, tb.Shape)
			}
		}
	}
	return nil
}

// stepInputs returns the IDs of the tensors no event wrote, in ID order.
func stepInputs(t *Trace) []int {
	var ids []int
	for _, tensor := range t.Tensors {
		if tensor.Producer < 0 {
			ids = append(ids, tensor.ID)
		}
	}
	return ids
}

// ParamDifferences lists, one line each, the hyperparameters that differ
// between events of a and b with the same index, such as "event 17 (conv1
// sgd): lr = 0.1 in A, 0.01 in B".
func ParamDifferences(a, b *Trace) []string {
	var lines []string
	for i := range min(len(a.Events), len(b.Events)) {
		ea, eb := &a.Events[i], &b.Events[i]
		if slices.Equal(ea.Params, eb.Params) {
			continue
		}
		var parts []string
		for _, p := range ea.Params {
			if v := eb.Param(p.Key); v != p.Value {
				parts = append(parts, fmt.Sprintf("%s = %s in A, %s in B", p.Key, p.Value, orNone(v)))
			}
		}
		for _, p := range eb.Params {
			if ea.Param(p.Key) == "" {
				parts = append(parts, fmt.Sprintf("%s = none in A, %s in B", p.Key, p.Value))
			}
		}
		lines = append(lines, fmt.Sprintf("event %d (%s %s): %s", i, ea.Layer, ea.Kind, strings.Join(parts, ", ")))
	}
	return lines
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// InputDifferences compares the step inputs of a and b (images, labels,
// initial parameters) and returns the first differing element of each
// input that differs. The traces must have passed CompareStructure.
func InputDifferences(a, b *Trace, tol float64) ([]Difference, error) {
	inA, inB := stepInputs(a), stepInputs(b)
	var diffs []Difference
	for k := range min(len(inA), len(inB)) {
		d, err := firstDifference(a, b, inA[k], inB[k], tol)
		if err != nil {
			return nil, err
		}
		if d != nil {
			d.Event = -1
			diffs = append(diffs, *d)
		}
	}
	return diffs, nil
}

// FirstDifference returns the first element, in execution order and then
// in the order each event writes its outputs and then row-major, whose
// values in a and b differ beyond tol (see Equal), or nil if every event
// output agrees. It reads tensors only up to that element. The traces must
// have passed CompareStructure.
func FirstDifference(a, b *Trace, tol float64) (*Difference, error) {
	for i := range min(len(a.Events), len(b.Events)) {
		ea, eb := &a.Events[i], &b.Events[i]
		for k := range min(len(ea.Outputs), len(eb.Outputs)) {
			d, err := firstDifference(a, b, ea.Outputs[k].Tensor, eb.Outputs[k].Tensor, tol)
			if err != nil {
				return nil, err
			}
			if d != nil {
				d.Event = i
				return d, nil
			}
		}
	}
	return nil, nil
}

// firstDifference compares tensor idA of a with idB of b element by element.
func firstDifference(a, b *Trace, idA, idB int, tol float64) (*Difference, error) {
	ta, tb := a.Tensors[idA], b.Tensors[idB]
	if ta.Stats == tb.Stats && ta.Stats.MaxAbs == 0 && ta.Stats.NonFinite() == 0 {
		return nil, nil // both all zero
	}
	da, err := a.Data(idA)
	if err != nil {
		return nil, err
	}
	db, err := b.Data(idB)
	if err != nil {
		return nil, err
	}
	if len(da) != len(db) {
		return nil, structureErrorf("%s has %d values in A and %d in B", ta.Name, len(da), len(db))
	}
	for off := range da {
		if !Equal(da[off], db[off], tol) {
			return &Difference{Tensor: idA, Name: ta.Name, Index: Unravel(ta.Shape, off), A: da[off], B: db[off]}, nil
		}
	}
	return nil, nil
}
