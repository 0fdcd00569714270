package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/cnndbg/cnndbg/trace"
)

// eventSelectedMsg reports that the timeline moved to another event.
type eventSelectedMsg struct{ event int }

// timeline lists every event of the step, one per line, with the current
// event marked by a ▶ glyph and reverse video.
type timeline struct {
	tr      *trace.Trace
	keys    TimelineKeys
	styles  Styles
	current int
	// top is the first listed event; it moves only to keep current in
	// view, so stepping does not redraw the whole list.
	top           int
	width, height int
	layerWidth    int
	kindWidth     int

	// steps groups the events by training step; nil for one step.
	steps *stepGroups
	// breaks marks the events at which a breakpoint stops.
	breaks map[int]bool
}

func newTimeline(tr *trace.Trace, keys TimelineKeys, st Styles) timeline {
	t := timeline{tr: tr, keys: keys, styles: st, steps: newStepGroups(tr)}
	for _, e := range tr.Events {
		t.layerWidth = max(t.layerWidth, len(e.Layer))
		t.kindWidth = max(t.kindWidth, len(shortKind(e.Kind)))
	}
	return t
}

func (t *timeline) SetSize(w, h int) {
	t.width, t.height = w, h
	t.follow()
}

// Select makes event the current one, clamped to the trace.
func (t *timeline) Select(event int) {
	if len(t.tr.Events) == 0 {
		return
	}
	t.current = clamp(event, 0, len(t.tr.Events)-1)
	t.follow()
}

// Update handles the keys of a focused timeline and reports a change of
// event as an eventSelectedMsg for the root to act on at once.
func (t timeline) Update(msg tea.Msg) (timeline, tea.Msg) {
	if msg, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(msg, t.keys.Up):
			return t.step(-1)
		case key.Matches(msg, t.keys.Down):
			return t.step(1)
		}
	}
	return t, nil
}

func (t timeline) step(delta int) (timeline, tea.Msg) {
	before := t.current
	t.Select(t.current + delta)
	if t.current == before {
		return t, nil
	}
	return t, eventSelectedMsg{event: t.current}
}

// Scroll moves the visible window of events by delta lines without
// changing the current event.
func (t *timeline) Scroll(delta int) {
	if t.steps != nil {
		t.groupedScroll(delta)
		return
	}
	t.top = clamp(t.top+delta, 0, max(len(t.tr.Events)-t.listHeight(), 0))
}

// EventAt returns the event listed on line y of the pane's content, or -1.
func (t timeline) EventAt(y int) int {
	if t.steps != nil {
		return t.groupedEventAt(y)
	}
	e := t.top + y
	if y < 0 || y >= t.listHeight() || e >= len(t.tr.Events) {
		return -1
	}
	return e
}

// formulaLines is the number of lines under the list that show the current
// event's formulas in full.
func (t timeline) formulaLines() int {
	if t.height >= 12 {
		return 3
	}
	return 0
}

func (t timeline) listHeight() int { return max(t.height-t.formulaLines(), 1) }

func (t *timeline) follow() {
	if t.steps != nil {
		t.groupedFollow()
		return
	}
	h := t.listHeight()
	if t.current < t.top {
		t.top = t.current
	}
	if t.current >= t.top+h {
		t.top = t.current - h + 1
	}
	t.top = clamp(t.top, 0, max(len(t.tr.Events)-h, 0))
}

func (t timeline) View() string {
	return strings.Join(t.lines(), "\n")
}

func (t timeline) lines() []string {
	if len(t.tr.Events) == 0 {
		return []string{"the trace has no events"}
	}
	if t.steps != nil {
		return t.groupedLines()
	}
	var lines []string
	for e := t.top; e < len(t.tr.Events) && len(lines) < t.listHeight(); e++ {
		lines = append(lines, t.row(e))
	}
	if n := t.formulaLines(); n > 0 {
		for len(lines) < t.listHeight() {
			lines = append(lines, "")
		}
		e := &t.tr.Events[t.current]
		wrapped := wrapText(eventFormula(e), t.width)
		if len(wrapped) > n {
			wrapped = wrapped[:n]
		}
		for _, l := range wrapped {
			lines = append(lines, t.styles.Dim.Render(l))
		}
	}
	return lines
}

// row renders one event: a cursor gutter, a breakpoint and non-finite
// gutter, index, phase, layer, kind and the event's formula.
func (t timeline) row(i int) string {
	e := &t.tr.Events[i]
	mark := " "
	if i == t.current {
		mark = "▶"
	}
	text := fmt.Sprintf("%s%s%2d %-4s %-*s %-*s %s", mark, t.gutter(i), e.Index, phaseAbbrev(e.Phase),
		t.layerWidth, e.Layer, t.kindWidth, shortKind(e.Kind), eventFormula(e))
	text = fitLine(text, t.width)
	if i == t.current {
		return t.styles.Selected.Render(text)
	}
	return t.styles.PhaseStyle(int(e.Phase)).Render(text)
}

func phaseAbbrev(p trace.Phase) string {
	switch p {
	case trace.Forward:
		return "fwd"
	case trace.Loss:
		return "loss"
	case trace.Backward:
		return "bwd"
	case trace.Update:
		return "upd"
	}
	return p.String()
}

// shortKind shortens the one layer kind whose name does not fit a column;
// the header names the current event's kind in full.
func shortKind(kind string) string {
	if kind == "softmax_cross_entropy" {
		return "softmax"
	}
	return kind
}

// eventFormulas are one-line summaries of what each kind of event computes,
// in the course's notation, keyed "<kind>/<phase>".
var eventFormulas = map[string]string{
	"conv/forward":                   "Z = Σ A_prev_slice · W + b",
	"conv/backward":                  "dW = Σ A_prev_slice · dZ, dA_prev = Σ W · dZ, db = Σ dZ",
	"relu/forward":                   "A = max(Z, 0)",
	"relu/backward":                  "dZ = dA · [Z > 0]",
	"maxpool/forward":                "A = max of the A_prev window",
	"maxpool/backward":               "dA_prev = dA routed to each window's maximum",
	"avgpool/forward":                "A = mean of the A_prev window",
	"avgpool/backward":               "dA_prev = dA / f² over each window",
	"flatten/forward":                "A = A_prev.reshape(m, −1)",
	"flatten/backward":               "dA_prev = dA.reshape(A_prev.shape)",
	"dense/forward":                  "Z = A_prev · W + b",
	"dense/backward":                 "dW = A_prevᵀ · dZ, dA_prev = dZ · Wᵀ, db = Σᵢ dZ",
	"softmax_cross_entropy/loss":     "loss = −(1/m) Σ Y · log softmax(Z)",
	"softmax_cross_entropy/backward": "dZ = (softmax(Z) − Y) / m",
	"sgd/update":                     "W_new = W − lr · dW, b_new = b − lr · db",
}

func eventFormula(e *trace.Event) string {
	if f, ok := eventFormulas[e.Kind+"/"+e.Phase.String()]; ok {
		return f
	}
	return e.Kind + " " + e.Phase.String()
}

// findEvent returns the first event after from (wrapping around) whose
// layer or tensor names contain query, ignoring case, or -1.
func findEvent(tr *trace.Trace, from int, query string) int {
	query = strings.ToLower(strings.TrimSpace(query))
	n := len(tr.Events)
	if query == "" || n == 0 {
		return -1
	}
	for k := 1; k <= n; k++ {
		e := &tr.Events[(from+k)%n]
		if eventMatches(tr, e, query) {
			return e.Index
		}
	}
	return -1
}

func eventMatches(tr *trace.Trace, e *trace.Event, query string) bool {
	if strings.Contains(strings.ToLower(e.Layer), query) {
		return true
	}
	for _, refs := range [][]trace.Ref{e.Outputs, e.Inputs} {
		for _, r := range refs {
			// The names this event uses and the canonical name, but not the
			// aliases other events use: relu2.A is pool2.A_prev to pool2,
			// yet a search for pool2 should not stop at relu2.
			for _, name := range []string{tr.DisplayName(e, r.Tensor), tr.Tensors[r.Tensor].Name} {
				if strings.Contains(strings.ToLower(name), query) {
					return true
				}
			}
		}
	}
	return false
}

// resolveJump returns the event a ":" command names: an event number, or a
// layer name optionally followed by a phase ("conv1 backward"), which picks
// the first matching event after from, wrapping around. It returns an error
// message for the footer when nothing matches.
func resolveJump(tr *trace.Trace, from int, target string) (int, error) {
	fields := strings.Fields(target)
	if len(fields) == 0 {
		return -1, fmt.Errorf("type an event number or a layer name after ':'")
	}
	if n, err := strconv.Atoi(fields[0]); err == nil && len(fields) == 1 {
		if n < 0 || n >= len(tr.Events) {
			return -1, fmt.Errorf("no event %d: events are numbered 0 to %d", n, len(tr.Events)-1)
		}
		return n, nil
	}
	layer := fields[0]
	phase := ""
	if len(fields) > 1 {
		phase = fields[1]
	}
	count := len(tr.Events)
	for k := 1; k <= count; k++ {
		e := &tr.Events[(from+k)%count]
		if e.Layer != layer {
			continue
		}
		if phase == "" || strings.HasPrefix(e.Phase.String(), phase) || phaseAbbrev(e.Phase) == phase {
			return e.Index, nil
		}
	}
	return -1, fmt.Errorf("no event matches %q: type an event number, or a layer name and optionally a phase", target)
}
