package net

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cnndbg/cnndbg/trace"
)

// Link is one step of a provenance chain.
type Link struct {
	// Event is the index of the event that wrote this element, or -1 for
	// an input of the step (the last link of a chain of forward values).
	Event    int
	TensorID int
	// Tensor is the name that event uses for the tensor, e.g. "relu2.dZ";
	// the canonical name for a step input.
	Tensor string
	Index  []int
	Value  float64
	// Formula describes how this element follows from the next link's
	// element, e.g. "dZ = dA ⊙ 1[Z > 0]: Z = 0.53 > 0: the gradient passes",
	// or why the chain ends here.
	Formula string
}

// Provenance returns the chain of events that produced the element at
// index of tensor id, one link per event, starting with the element itself.
//
// Explain lists the terms of each link's element. The chain continues from
// the largest term that reads the tensor the event passes on. That tensor is
// the incoming gradient (dZ, dA) of a backward event or an update, and the
// input (A_prev, Z) of a forward or loss event. Where an element is a sum of
// several such terms, the link's Formula names the term followed. A gradient's chain ends at the loss's dZ; a forward value's
// chain ends at an input of the step (a link with Event −1); any chain ends
// early where no term carries a value through, as at a ReLU that blocks.
func Provenance(tr *trace.Trace, id int, index []int) ([]Link, error) {
	var chain []Link
	for {
		if id < 0 || id >= len(tr.Tensors) {
			return nil, fmt.Errorf("no tensor with ID %d", id)
		}
		t := tr.Tensors[id]
		if t.Producer < 0 {
			value, err := tr.Value(id, index...)
			if err != nil {
				return nil, err
			}
			return append(chain, Link{
				Event: -1, TensorID: id, Tensor: t.Name, Index: append([]int(nil), index...), Value: value,
				Formula: "an input of the step: no event computed it",
			}), nil
		}

		x, err := Explain(tr, id, index)
		if err != nil {
			return nil, err
		}
		e := &tr.Events[x.Event]
		next, formula := followTerm(e, x)
		chain = append(chain, Link{Event: x.Event, TensorID: id, Tensor: x.Tensor, Index: x.Index, Value: x.Recorded, Formula: formula})
		if next == nil {
			return chain, nil
		}

		nextTensor := tr.Tensor(next.Tensor)
		if nextTensor == nil {
			return nil, fmt.Errorf("event %d (%s %s) explains %s with %s, which is not in the trace", e.Index, e.Layer, e.Kind, x.Tensor, next.Tensor)
		}
		// Every event reads tensors written before it, so the chain moves
		// to earlier events; a trace that breaks this would loop forever.
		if nextTensor.Producer >= e.Index {
			return nil, fmt.Errorf("event %d (%s %s) reads %s, which event %d writes later: the trace is inconsistent", e.Index, e.Layer, e.Kind, next.Tensor, nextTensor.Producer)
		}
		id, index = nextTensor.ID, append([]int(nil), next.Index...)
	}
}

// followTerm picks the operand the chain continues from, and returns it
// with the link's formula. It returns a nil operand where the chain ends.
func followTerm(e *trace.Event, x *Explanation) (*Operand, string) {
	flow := flowNames(e)
	if len(flow) == 0 {
		return nil, x.Formula + ": the gradient starts here, at the loss"
	}

	// x.Terms is sorted by decreasing magnitude, so the first term that
	// reads a flowing tensor is the largest such term.
	var (
		chosen  *Term
		operand *Operand
		count   int
	)
	for k := range x.Terms {
		for j := range x.Terms[k].Operands {
			if flow[x.Terms[k].Operands[j].Tensor] {
				if chosen == nil {
					chosen, operand = &x.Terms[k], &x.Terms[k].Operands[j]
				}
				count++
				break
			}
		}
	}
	if chosen == nil {
		why := "no term carries a value through"
		if len(x.Notes) > 0 {
			why = strings.Join(x.Notes, "; ")
		}
		return nil, x.Formula + ": " + why + "; the chain ends here"
	}

	var b strings.Builder
	b.WriteString(x.Formula)
	switch {
	case len(x.Terms) == 1:
		if chosen.Note != "" {
			b.WriteString(": " + chosen.Note)
		}
		return operand, b.String()
	case chosen == &x.Terms[0]:
		fmt.Fprintf(&b, ": following the largest of %d terms", len(x.Terms))
	default:
		fmt.Fprintf(&b, ": following the largest of the %d terms that read %s (of %d terms)", count, operandRole(e, operand.Tensor), len(x.Terms))
	}
	fmt.Fprintf(&b, ", %s = %s", termText(chosen), formatValue(chosen.Value))
	if chosen.Note != "" && chosen.Note != "bias" {
		b.WriteString(" (" + chosen.Note + ")")
	}
	return operand, b.String()
}

// flowNames returns the names, as e uses them, of the tensors a chain
// follows through e: the incoming gradients of a backward event or an
// update, the inputs other than parameters and labels of a forward or loss
// event. The loss's backward event reads no gradient, so it has none.
func flowNames(e *trace.Event) map[string]bool {
	names := map[string]bool{}
	for _, in := range e.Inputs {
		var follow bool
		switch e.Phase {
		case trace.Backward, trace.Update:
			follow = strings.HasPrefix(in.Role, "d")
		default:
			follow = in.Role != "W" && in.Role != "b" && in.Role != "Y"
		}
		if follow {
			names[e.Layer+"."+in.Role] = true
		}
	}
	return names
}

// operandRole returns the role part of an operand name such as conv1.dZ.
func operandRole(e *trace.Event, name string) string {
	return strings.TrimPrefix(name, e.Layer+".")
}

// termText writes a term as its coefficient and operands: 0.25 · pool2.dA[0,1,2,1].
func termText(term *Term) string {
	parts := make([]string, 0, len(term.Operands)+1)
	if term.Coef != 1 {
		parts = append(parts, formatValue(term.Coef))
	}
	for _, op := range term.Operands {
		parts = append(parts, op.Label())
	}
	return strings.Join(parts, " · ")
}

// indexText formats an index as targets are written: [0,3,4,1].
func indexText(index []int) string {
	parts := make([]string, len(index))
	for i, k := range index {
		parts[i] = strconv.Itoa(k)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// formatValue formats v with 6 significant digits.
func formatValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
