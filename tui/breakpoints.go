package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// toggleBreakpoint sets or removes the breakpoint on the current event.
func (m Model) toggleBreakpoint() Model {
	event := m.timeline.current
	bps := m.hunt.breakpoints[:len(m.hunt.breakpoints):len(m.hunt.breakpoints)]
	for k, bp := range bps {
		if bp.Kind == net.BreakAtEvent && bp.Event == event {
			m.hunt.breakpoints = append(bps[:k:k], bps[k+1:]...)
			m.status = fmt.Sprintf("breakpoint at event %d removed (%s)", event, breakpointCount(len(m.hunt.breakpoints)))
			m.timeline.breaks = breakpointMarks(m.tr, m.hunt.breakpoints)
			return m
		}
	}
	m.hunt.breakpoints = append(bps, net.Breakpoint{Kind: net.BreakAtEvent, Event: event})
	m.status = fmt.Sprintf("breakpoint at event %d set (%s)", event, breakpointCount(len(m.hunt.breakpoints)))
	m.timeline.breaks = breakpointMarks(m.tr, m.hunt.breakpoints)
	return m
}

// addCondition adds the breakpoint text describes, or removes every
// breakpoint for "clear". A bad text leaves one line in the status.
func (m Model) addCondition(text string) Model {
	text = strings.TrimSpace(text)
	if text == "clear" {
		m.hunt.breakpoints = nil
		m.timeline.breaks = map[int]bool{}
		m.status = "every breakpoint removed"
		return m
	}
	bp, err := net.ParseBreakpoint(text)
	if err == nil {
		err = bp.Check(m.tr)
	}
	if err != nil {
		m.status = oneLine(err.Error())
		return m
	}
	for _, old := range m.hunt.breakpoints {
		if old.String() == bp.String() {
			m.status = "breakpoint " + bp.String() + " is already set"
			return m
		}
	}
	bps := m.hunt.breakpoints[:len(m.hunt.breakpoints):len(m.hunt.breakpoints)]
	m.hunt.breakpoints = append(bps, bp)
	m.timeline.breaks = breakpointMarks(m.tr, m.hunt.breakpoints)
	m.status = fmt.Sprintf("breakpoint %s added (%s); c continues to it", bp.String(), breakpointCount(len(m.hunt.breakpoints)))
	return m
}

func breakpointCount(n int) string {
	if n == 1 {
		return "1 breakpoint"
	}
	return fmt.Sprintf("%d breakpoints", n)
}

// oneLine joins the lines of a message with "; " for the status line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// breakpointMarks returns the events at which a breakpoint of bps stops,
// for the timeline's gutter. Gradient-check breakpoints are left out: they
// run forward passes, which is too slow to do for every event up front.
func breakpointMarks(tr *trace.Trace, bps []net.Breakpoint) map[int]bool {
	var cheap []net.Breakpoint
	for _, bp := range bps {
		if bp.Kind != net.BreakOnGradCheck {
			cheap = append(cheap, bp)
		}
	}
	marks := map[int]bool{}
	if len(cheap) == 0 {
		return marks
	}
	for from := -1; ; {
		hit, _, ok := net.Next(tr, from, cheap, false)
		if !ok {
			return marks
		}
		marks[hit] = true
		from = hit
	}
}

// continuedMsg carries the result of net.Next.
type continuedMsg struct {
	from     int
	backward bool
	hit      int
	why      string
	ok       bool
}

// continueTo searches for the next (or previous) event at which a
// breakpoint stops. The search runs in the background because a
// gradient-check breakpoint runs forward passes.
func (m Model) continueTo(backward bool) (Model, tea.Cmd) {
	switch {
	case len(m.hunt.breakpoints) == 0:
		m.status = "no breakpoints: b sets one on the current event, B adds a condition"
		return m, nil
	case m.hunt.continuing:
		m.status = "still searching for the next breakpoint…"
		return m, nil
	}
	m.hunt.continuing = true
	m.status = "continuing…"
	tr, from := m.tr, m.timeline.current
	bps := append([]net.Breakpoint(nil), m.hunt.breakpoints...)
	return m, func() tea.Msg {
		hit, why, ok := net.Next(tr, from, bps, backward)
		return continuedMsg{from: from, backward: backward, hit: hit, why: why, ok: ok}
	}
}

func (msg continuedMsg) apply(m Model) (Model, tea.Cmd) {
	m.hunt.continuing = false
	if !msg.ok {
		if msg.backward {
			m.status = fmt.Sprintf("no breakpoint stops before event %d", msg.from)
		} else {
			m.status = fmt.Sprintf("no breakpoint stops after event %d", msg.from)
		}
		return m, nil
	}
	m, cmd := m.selectEvent(msg.hit)
	m.status = fmt.Sprintf("stopped at %d: %s", msg.hit, msg.why)
	return m, cmd
}

// gutter returns the timeline's glyph for event i: ● where a breakpoint
// stops, ! where an output holds a NaN or an infinity, else a blank.
// NOTE: an event with both shows only ●; the inspector still counts the
// non-finite values of each tensor.
func (t timeline) gutter(i int) string {
	if t.breaks[i] {
		return "●"
	}
	for _, r := range t.tr.Events[i].Outputs {
		if t.tr.Tensors[r.Tensor].Stats.NonFinite() > 0 {
			return "!"
		}
	}
	return " "
}
