package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// termChosenMsg reports that the inspector selected a term (its position in
// the sorted list), or backed out of the terms (term -1).
type termChosenMsg struct{ term int }

// inspector shows the chosen element: value, index, shape, producer and
// consumers, the terms that make it with a running sum, the check of their
// sum against the recorded value, the notes and the provenance chain.
type inspector struct {
	tr     *trace.Trace
	keys   InspectorKeys
	styles Styles

	event  int
	tensor int
	index  []int
	// result is nil while the explanation is computing.
	result *explained

	drilled bool
	// term is the selected term. Keys typed before the explanation arrives
	// move it freely; it is clamped when the terms are known.
	term   int
	scroll int

	width, height int

	// extra are lines drawn above the terms: the hunting tools' findings
	// about the element.
	extra []string
}

func newInspector(tr *trace.Trace, keys InspectorKeys, st Styles) inspector {
	return inspector{tr: tr, keys: keys, styles: st, tensor: -1}
}

func (in *inspector) SetSize(w, h int) { in.width, in.height = w, h }

// SetElement shows a new element; its explanation follows with SetResult.
func (in *inspector) SetElement(event, tensor int, index []int) {
	in.event, in.tensor, in.index = event, tensor, append([]int(nil), index...)
	in.result = nil
	in.drilled = false
	in.term, in.scroll = 0, 0
}

// SetResult shows the explanation of the current element; results for
// another element are ignored.
func (in *inspector) SetResult(r *explained) {
	if r.key != keyOf(in.tensor, in.index) {
		return
	}
	in.result = r
	in.term = clamp(in.term, 0, max(in.termCount()-1, 0))
}

func (in inspector) termCount() int {
	if in.result == nil || in.result.x == nil {
		return 0
	}
	return len(in.result.x.Terms)
}

// Computing reports whether the explanation of the element is still running.
func (in inspector) Computing() bool { return in.tensor >= 0 && in.result == nil }

// SelectedTerm returns the selected term and its number, or false when the
// inspector is not drilled into a known term.
func (in inspector) SelectedTerm() (net.Term, int, bool) {
	if !in.drilled || in.term >= in.termCount() {
		return net.Term{}, 0, false
	}
	return in.result.x.Terms[in.term], in.term, true
}

// Drill moves the focus into the terms list.
func (in *inspector) Drill() tea.Msg {
	if in.tensor < 0 {
		// No element is shown: there are no terms to drill into.
		return nil
	}
	in.drilled = true
	return termChosenMsg{term: in.term}
}

// Back leaves the terms list; it reports whether the inspector was drilled.
func (in *inspector) Back() bool {
	was := in.drilled
	in.drilled = false
	return was
}

// Update handles the inspector's keys while it has the focus.
func (in inspector) Update(msg tea.Msg) (inspector, tea.Msg) {
	press, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return in, nil
	}
	page := max(in.termRows()-1, 1)
	switch {
	case key.Matches(press, in.keys.Drill):
		return in, in.Drill()
	case key.Matches(press, in.keys.Back):
		if in.Back() {
			return in, termChosenMsg{term: -1}
		}
	case key.Matches(press, in.keys.Up):
		return in.move(-1)
	case key.Matches(press, in.keys.Down):
		return in.move(1)
	case key.Matches(press, in.keys.PageUp):
		return in.move(-page)
	case key.Matches(press, in.keys.PageDown):
		return in.move(page)
	}
	return in, nil
}

// move selects another term when drilled, else scrolls the pane.
func (in inspector) move(delta int) (inspector, tea.Msg) {
	if !in.drilled {
		in.Scroll(delta)
		return in, nil
	}
	before := in.term
	in.term = max(in.term+delta, 0)
	if n := in.termCount(); n > 0 || in.result != nil {
		in.term = clamp(in.term, 0, max(n-1, 0))
	}
	if in.term == before {
		return in, nil
	}
	return in, termChosenMsg{term: in.term}
}

// Scroll moves the pane's content by delta lines.
func (in *inspector) Scroll(delta int) {
	in.scroll = max(in.scroll+delta, 0)
}

// termRows is the number of terms listed at once.
func (in inspector) termRows() int {
	return clamp(in.height-14, 3, 20)
}

func (in inspector) View() string { return strings.Join(in.lines(), "\n") }

func (in inspector) lines() []string {
	doc, focusStart, focusEnd := in.document()
	h := max(in.height, 1)
	maxScroll := max(len(doc)-h, 0)
	scroll := min(in.scroll, maxScroll)
	if in.drilled && focusEnd >= focusStart {
		if focusEnd >= scroll+h {
			scroll = focusEnd - h + 1
		}
		if focusStart < scroll {
			scroll = focusStart
		}
	}
	if scroll > 0 && len(doc) > 0 {
		doc = doc[scroll:]
	}
	return doc
}

// document returns every line of the inspector and the lines the view must
// keep visible while drilled: the terms header to the selected term.
func (in inspector) document() (lines []string, focusStart, focusEnd int) {
	if in.tensor < 0 {
		return []string{"no element selected"}, -1, -1
	}
	st := in.styles
	e := &in.tr.Events[in.event]
	t := in.tr.Tensors[in.tensor]
	name := in.tr.DisplayName(e, in.tensor)
	add := func(s ...string) { lines = append(lines, s...) }
	wrap := func(s string) { add(wrapText(s, in.width)...) }

	add(st.Value.Render(name + indexString(in.index)))
	if v, err := in.tr.Value(in.tensor, in.index...); err != nil {
		wrap("value: " + err.Error())
	} else {
		add(st.Label.Render("value    ") + st.Value.Render(formatValue(v)))
	}
	add(st.Label.Render("shape    ") + shapeString(t.Shape))
	if others := otherNames(t, name); len(others) > 0 {
		wrap("also     " + strings.Join(others, ", "))
	}
	if p := in.tr.Producer(in.tensor); p != nil {
		wrap("made by  " + eventLabel(p))
	} else {
		wrap("made by  no event: an input of the step")
	}
	for i, c := range t.Consumers {
		label := "read by  "
		if i > 0 {
			label = "         "
		}
		wrap(label + eventLabel(&in.tr.Events[c]))
	}
	add("")
	add(in.extra...)

	r := in.result
	switch {
	case r == nil:
		add(st.Status.Render("computing…"))
		return lines, -1, -1
	case r.err != nil:
		wrap(r.err.Error())
	default:
		var start, end int
		lines, start, end = in.termsSection(lines)
		focusStart, focusEnd = start, end
	}
	add("")
	in.provenanceSection(&lines)
	return lines, focusStart, focusEnd
}

// termsSection appends the formula, the update values, the terms list, the
// sum check, the selected term and the notes.
func (in inspector) termsSection(lines []string) ([]string, int, int) {
	st := in.styles
	x := in.result.x
	add := func(s ...string) { lines = append(lines, s...) }
	wrap := func(s string) { add(wrapText(s, in.width)...) }

	for _, l := range wrapText(x.Formula, in.width) {
		add(st.Dim.Render(l))
	}
	if strings.HasSuffix(x.Tensor, "_new") && len(x.Terms) == 2 {
		in.updateLines(&lines, x)
	}

	detail := in.termDetail()
	focusStart := len(lines)
	n := len(x.Terms)
	// The list takes what the pane has left for it, so the sum check and
	// the selected term's detail stay on screen.
	rows := min(clamp(in.height-len(lines)-5-len(detail), 3, 20), n)
	top := 0
	if in.term >= rows {
		top = min(in.term-rows+1, n-rows)
	}
	header := fmt.Sprintf("terms %d, by |value|", n)
	if rows < n {
		header = fmt.Sprintf("terms %d–%d of %d, by |value|", top+1, top+rows, n)
	}
	add(st.Label.Render(header))
	add(st.Label.Render(fmt.Sprintf("  %6s %10s %10s", "#", "term", "running Σ")))
	for k := top; k < top+rows && k < n; k++ {
		row := fmt.Sprintf("  %6d %s %s", k+1, formatShort(x.Terms[k].Value), formatShort(in.result.running[k]))
		if extra := in.width - ansi.StringWidth(row) - 1; extra >= 12 {
			row += " " + termSummary(x.Terms[k])
		}
		row = fitLine(row, in.width)
		if in.drilled && k == in.term {
			row = st.Selected.Render("▶" + row[1:])
		}
		add(row)
	}

	verdict := st.Agree.Render("agree ✓")
	if !x.Agrees() {
		verdict = st.Differ.Render("differ ✗")
	}
	add("Σ terms  = " + formatValue(x.Sum))
	add("recorded = " + formatValue(x.Recorded))
	add(verdict + st.Label.Render(fmt.Sprintf(" (relative error %.2g)", x.RelErr())))
	add(detail...)
	focusEnd := len(lines) - 1
	for _, note := range x.Notes {
		wrap("• " + note)
	}
	return lines, focusStart, focusEnd
}

// termDetail returns the lines that spell out the selected term: each
// operand with its index and value, the coefficient, the product and the
// note. It is empty unless the inspector is drilled into a known term.
func (in inspector) termDetail() []string {
	term, k, ok := in.SelectedTerm()
	if !ok {
		return nil
	}
	lines := []string{in.styles.Value.Render(fmt.Sprintf("term %d", k+1))}
	wrap := func(s string) { lines = append(lines, wrapText(s, in.width)...) }
	for _, op := range term.Operands {
		wrap(fmt.Sprintf("  %s = %s", op.Label(), formatValue(op.Value)))
	}
	if term.Coef != 1 {
		wrap("  coefficient " + formatValue(term.Coef))
	}
	wrap("  product = " + formatValue(term.Value))
	if term.Note != "" {
		wrap("  " + term.Note)
	}
	return lines
}

// updateLines shows an SGD update's element before and after the step, and
// its gradient, from the update's two terms (W, and −lr·dW).
func (in inspector) updateLines(lines *[]string, x *net.Explanation) {
	var before, grad *net.Operand
	for k := range x.Terms {
		for j := range x.Terms[k].Operands {
			op := &x.Terms[k].Operands[j]
			if strings.HasPrefix(op.Tensor[strings.LastIndex(op.Tensor, ".")+1:], "d") {
				grad = op
			} else {
				before = op
			}
		}
	}
	if before == nil || grad == nil {
		return
	}
	st := in.styles
	role := func(op *net.Operand) string { return op.Tensor[strings.LastIndex(op.Tensor, ".")+1:] }
	*lines = append(*lines,
		st.Label.Render(fmt.Sprintf("before %-6s", role(before)))+formatValue(before.Value),
		st.Label.Render(fmt.Sprintf("grad   %-6s", role(grad)))+formatValue(grad.Value),
		st.Label.Render(fmt.Sprintf("after  %-6s", x.Tensor[strings.LastIndex(x.Tensor, ".")+1:]))+formatValue(x.Recorded),
	)
}

// termSummary names a term's operands by role and index, such as
// "A_prev[3,10,12,0]·dZ[3,10,12,0]", followed by its note.
func termSummary(t net.Term) string {
	parts := make([]string, len(t.Operands))
	for i, op := range t.Operands {
		parts[i] = op.Tensor[strings.LastIndex(op.Tensor, ".")+1:] + indexString(op.Index)
	}
	s := strings.Join(parts, "·")
	if t.Note != "" {
		s += "  " + t.Note
	}
	return s
}

// provenanceSection appends the chain of events that made the element,
// following the largest term at each event.
func (in inspector) provenanceSection(lines *[]string) {
	r := in.result
	st := in.styles
	*lines = append(*lines, st.Label.Render("provenance (largest term at each event)"))
	if r.linksErr != nil {
		*lines = append(*lines, wrapText("  "+r.linksErr.Error(), in.width)...)
		return
	}
	for _, l := range r.links {
		mark := "  "
		if l.Event == in.event {
			mark = "▶ "
		}
		name, event := l.Tensor, "in"
		if l.Event >= 0 && l.Event < len(in.tr.Events) {
			name = in.tr.DisplayName(&in.tr.Events[l.Event], l.TensorID)
			event = fmt.Sprintf("%2d", l.Event)
		}
		*lines = append(*lines, fitLine(fmt.Sprintf("%s%s %s%s", mark, event, name, indexString(l.Index)), in.width),
			"     = "+formatValue(l.Value))
		for _, f := range wrapText(l.Formula, max(in.width-5, 10)) {
			*lines = append(*lines, st.Dim.Render("     "+f))
		}
	}
}

// eventLabel names an event as the timeline does: "17 conv1 conv backward".
func eventLabel(e *trace.Event) string {
	return fmt.Sprintf("%d %s %s %s", e.Index, e.Layer, e.Kind, e.Phase)
}

// otherNames returns the names a tensor has besides shown.
func otherNames(t *trace.Tensor, shown string) []string {
	var names []string
	for _, n := range append([]string{t.Name}, t.Aliases...) {
		if n != shown {
			names = append(names, n)
		}
	}
	return names
}
