package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// DiffOptions open the screen on trace A of cnndbg diff with trace B
// beside it: the inspector shows each chosen element's value in both
// traces and the terms that changed most. Both traces must record the
// same model and event list, as net.DiffTraces requires.
type DiffOptions struct {
	B            *trace.Trace
	NameA, NameB string
	// Result is net.DiffTraces(A, B); the screen opens at Result.First.
	Result *net.TraceDiff
	// Tol is the tolerance Result was computed with, for the status line.
	Tol float64
}

// diffTermRows is the number of term pairs the inspector lists.
const diffTermRows = 5

// diffState holds trace B and the paired terms computed so far, by
// element of trace A.
type diffState struct {
	opts    *DiffOptions
	pairs   map[explainKey]*pairedTerms
	pending map[explainKey]bool
}

// pairedTerms is the comparison of one element's explanations in A and B.
type pairedTerms struct {
	countA, countB int
	// top holds the pairs that differ most, at most diffTermRows.
	top []net.TermPair
	err error
}

func newDiffState(opts *DiffOptions) *diffState {
	return &diffState{opts: opts, pairs: map[explainKey]*pairedTerms{}, pending: map[explainKey]bool{}}
}

func (d *diffState) running() bool { return len(d.pending) > 0 }

// openDiff selects the first difference, or reports that there is none.
func (m Model) openDiff() Model {
	d := m.hunt.diff.opts
	if d.Result == nil || d.Result.First == nil {
		m.status = fmt.Sprintf("every event output agrees within %g", d.Tol)
		return m
	}
	first := d.Result.First
	if first.Event < 0 || first.Event >= len(m.tr.Events) {
		return m
	}
	m.timeline.Select(first.Event)
	m.tensors.SetEvent(first.Event)
	m.tensors.SelectElement(first.Tensor, first.Index)
	if msg, ok := m.tensors.Chosen().(elementChosenMsg); ok {
		m.inspector.SetElement(msg.event, msg.tensor, msg.index)
	}
	m.status = fmt.Sprintf("first difference: %s%s in event %d · A %s · B %s",
		d.Result.Name, indexString(first.Index), first.Event, formatValue(first.A), formatValue(first.B))
	return m
}

// diffCmd pairs the terms of the chosen element in A and B unless that is
// cached or running.
func (m Model) diffCmd() tea.Cmd {
	d := m.hunt.diff
	in := m.inspector
	if d == nil || in.tensor < 0 {
		return nil
	}
	k := keyOf(in.tensor, in.index)
	if d.pairs[k] != nil || d.pending[k] {
		return nil
	}
	d.pending[k] = true
	a, b := m.tr, d.opts.B
	id, index := in.tensor, append([]int(nil), in.index...)
	return func() tea.Msg {
		return pairedMsg{key: k, result: pairElement(a, b, id, index)}
	}
}

// pairElement explains the element of tensor id in both traces and pairs
// the terms.
func pairElement(a, b *trace.Trace, id int, index []int) *pairedTerms {
	r := &pairedTerms{}
	idB := tensorInB(a, b, id)
	if idB < 0 {
		r.err = fmt.Errorf("trace B has no tensor %s", a.Tensors[id].Name)
		return r
	}
	xa, err := net.Explain(a, id, index)
	if err != nil {
		r.err = err
		return r
	}
	xb, err := net.Explain(b, idB, index)
	if err != nil {
		r.err = err
		return r
	}
	pairs := net.PairTerms(xa, xb)
	r.countA, r.countB = len(xa.Terms), len(xb.Terms)
	r.top = pairs[:min(len(pairs), diffTermRows)]
	return r
}

// tensorInB returns the ID in b of tensor id of a, found by its canonical
// name, or −1.
func tensorInB(a, b *trace.Trace, id int) int {
	t := b.Tensor(a.Tensors[id].Name)
	if t == nil {
		return -1
	}
	return t.ID
}

type pairedMsg struct {
	key    explainKey
	result *pairedTerms
}

func (msg pairedMsg) apply(m Model) (Model, tea.Cmd) {
	delete(m.hunt.diff.pending, msg.key)
	m.hunt.diff.pairs[msg.key] = msg.result
	return m, nil
}

// diffLines shows the chosen element in A and B and the term pairs that
// differ most.
func (m Model) diffLines(width int) []string {
	d := m.hunt.diff
	if d == nil {
		return nil
	}
	st := m.styles
	in := m.inspector
	lines := []string{st.Value.Render("diff A against B")}
	lines = append(lines, wrapText("A = "+d.opts.NameA, width)...)
	lines = append(lines, wrapText("B = "+d.opts.NameB, width)...)
	if r := d.opts.Result; r != nil {
		for _, p := range r.Params {
			lines = append(lines, wrapText("hyperparameter: "+p, width)...)
		}
		for _, s := range r.Inputs {
			lines = append(lines, wrapText(fmt.Sprintf("step input %s%s differs", s.Name, indexString(s.Index)), width)...)
		}
	}

	va, errA := m.tr.Value(in.tensor, in.index...)
	idB := tensorInB(m.tr, d.opts.B, in.tensor)
	if errA != nil || idB < 0 {
		return append(lines, "B has no such element", "")
	}
	vb, errB := d.opts.B.Value(idB, in.index...)
	if errB != nil {
		return append(lines, wrapText("B: "+errB.Error(), width)...)
	}
	lines = append(lines,
		st.Label.Render("A      ")+formatValue(va),
		st.Label.Render("B      ")+formatValue(vb),
		st.Label.Render("B − A  ")+fmt.Sprintf("%.6g", vb-va))

	r := d.pairs[keyOf(in.tensor, in.index)]
	switch {
	case r == nil:
		lines = append(lines, st.Status.Render("pairing terms…"))
	case r.err != nil:
		lines = append(lines, wrapText("no terms: "+r.err.Error(), width)...)
	default:
		for _, l := range wrapText(fmt.Sprintf("terms that differ most (%d in A, %d in B)", r.countA, r.countB), width) {
			lines = append(lines, st.Label.Render(l))
		}
		changed := 0
		for _, p := range r.top {
			if p.Difference() == 0 {
				break
			}
			changed++
			term := p.A
			if term == nil {
				term = p.B
			}
			lines = append(lines,
				fitLine(" "+termSummary(*term), width),
				fitLine(fmt.Sprintf("   A %s  B %s", pairValue(p.A), pairValue(p.B)), width))
		}
		if changed == 0 {
			lines = append(lines, "  every term is the same in A and B")
		}
	}
	return append(lines, "")
}

func pairValue(t *net.Term) string {
	if t == nil {
		return fmt.Sprintf("%10s", "absent")
	}
	return formatShort(t.Value)
}
