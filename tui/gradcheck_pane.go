package tui

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// checkEpsilons are the central-difference steps + and − cycle through;
// the check starts at net.DefaultGradCheckEps, 1e-6.
var checkEpsilons = []float64{1e-4, 1e-5, 1e-6, 1e-7, 1e-8}

const defaultEpsIndex = 2

// Sizes of the per-tensor table: tensors of at most checkAllUpTo elements
// are checked in full, larger ones on checkSampleSize elements.
const (
	checkAllUpTo    = 12
	checkSampleSize = 8
)

// checkTarget is a parameter element as net.CheckElement names it, with the
// inspector element it was chosen from.
type checkTarget struct {
	tensor int
	index  []int
	step   int
	// param is <layer>.W or <layer>.b.
	param string
}

type checkKey struct {
	step  int
	param string
	index string
	eps   float64
}

type tableKey struct {
	step  int
	param string
	eps   float64
}

type elementCheck struct {
	check net.ElementCheck
	err   error
}

type tableCheck struct {
	rows []net.ElementCheck
	size int
	err  error
}

// checkState is the numeric check shown in the inspector and the cache of
// every check run so far.
type checkState struct {
	epsIndex int
	// shown is the element N was pressed on, nil before.
	shown    *checkTarget
	elements map[checkKey]*elementCheck
	tables   map[tableKey]*tableCheck
	// pending counts the checks still running, by key.
	pending map[any]bool
}

func newCheckState() checkState {
	return checkState{
		epsIndex: defaultEpsIndex,
		elements: map[checkKey]*elementCheck{},
		tables:   map[tableKey]*tableCheck{},
		pending:  map[any]bool{},
	}
}

func (c checkState) eps() float64 { return checkEpsilons[c.epsIndex] }

func (c checkState) running() bool { return len(c.pending) > 0 }

func (c checkState) keys(t *checkTarget) (checkKey, tableKey) {
	return checkKey{step: t.step, param: t.param, index: fmt.Sprint(t.index), eps: c.eps()},
		tableKey{step: t.step, param: t.param, eps: c.eps()}
}

// checkTargetOf returns the parameter element behind an element of tensor
// id as event uses it: W or b of a conv or dense layer, or its dW, db,
// W_new or b_new, which share W's or b's shape.
func checkTargetOf(tr *trace.Trace, event, id int, index []int) (*checkTarget, bool) {
	if event < 0 || event >= len(tr.Events) {
		return nil, false
	}
	e := &tr.Events[event]
	var param string
	switch e.RoleOf(id) {
	case "W", "dW", "W_new":
		param = "W"
	case "b", "db", "b_new":
		param = "b"
	default:
		return nil, false
	}
	return &checkTarget{tensor: id, index: append([]int(nil), index...), step: e.Step, param: e.Layer + "." + param}, true
}

// startCheck shows the numeric check of the chosen element, running it
// unless a result is cached.
func (m Model) startCheck() (Model, tea.Cmd) {
	in := m.inspector
	t, ok := checkTargetOf(m.tr, in.event, in.tensor, in.index)
	if !ok {
		m.status = "N checks a parameter's gradient: choose an element of W or b of a conv or dense layer, or of its dW, db, W_new or b_new"
		return m, nil
	}
	m.hunt.check.shown = t
	return m, m.runChecks()
}

// changeEps moves to the next larger (delta −1) or smaller (+1) eps and
// checks the shown element again.
func (m Model) changeEps(delta int) (Model, tea.Cmd) {
	c := &m.hunt.check
	next := c.epsIndex + delta
	if next < 0 || next >= len(checkEpsilons) {
		m.status = fmt.Sprintf("eps stays %.0e: the check uses %.0e to %.0e", c.eps(), checkEpsilons[0], checkEpsilons[len(checkEpsilons)-1])
		return m, nil
	}
	c.epsIndex = next
	m.status = fmt.Sprintf("numeric check eps %.0e", c.eps())
	if c.shown == nil || !m.checkVisible() {
		return m, nil
	}
	return m, m.runChecks()
}

// checkVisible reports whether the inspector shows the element N was
// pressed on.
func (m Model) checkVisible() bool {
	s := m.hunt.check.shown
	return s != nil && keyOf(s.tensor, s.index) == keyOf(m.inspector.tensor, m.inspector.index)
}

// runChecks starts the element's check and then its tensor's table, each
// unless cached or already running.
func (m Model) runChecks() tea.Cmd {
	c := m.hunt.check
	t := c.shown
	ek, tk := c.keys(t)
	var cmds []tea.Cmd
	if c.elements[ek] == nil && !c.pending[ek] {
		c.pending[ek] = true
		cmds = append(cmds, checkElementCmd(m.tr, t, ek))
	}
	if c.tables[tk] == nil && !c.pending[tk] {
		c.pending[tk] = true
		cmds = append(cmds, checkTableCmd(m.tr, t, tk))
	}
	return tea.Batch(cmds...)
}

type elementCheckedMsg struct {
	key    checkKey
	result *elementCheck
}

type tableCheckedMsg struct {
	key    tableKey
	result *tableCheck
}

func (msg elementCheckedMsg) apply(m Model) (Model, tea.Cmd) {
	delete(m.hunt.check.pending, msg.key)
	m.hunt.check.elements[msg.key] = msg.result
	return m, nil
}

func (msg tableCheckedMsg) apply(m Model) (Model, tea.Cmd) {
	delete(m.hunt.check.pending, msg.key)
	m.hunt.check.tables[msg.key] = msg.result
	return m, nil
}

// checkElementCmd runs net.CheckElement on a network rebuilt from the
// trace, so it shares no state with other checks.
func checkElementCmd(tr *trace.Trace, t *checkTarget, k checkKey) tea.Cmd {
	return func() tea.Msg {
		r := &elementCheck{}
		n, x, labels, err := net.NetworkAtStep(tr, t.step)
		if err == nil {
			r.check, err = net.CheckElement(n, x, labels, t.param, t.index, k.eps)
		}
		r.err = err
		return elementCheckedMsg{key: k, result: r}
	}
}

// checkTableCmd checks every element of the parameter tensor, or a sample
// of checkSampleSize elements drawn with a seed fixed per tensor.
func checkTableCmd(tr *trace.Trace, t *checkTarget, k tableKey) tea.Cmd {
	return func() tea.Msg {
		r := &tableCheck{}
		n, x, labels, err := net.NetworkAtStep(tr, t.step)
		if err != nil {
			r.err = err
			return tableCheckedMsg{key: k, result: r}
		}
		shape := paramShape(n, t.param)
		r.size = tensorSize(shape)
		for _, off := range sampleOffsets(r.size, uint64(len(t.param))) {
			check, err := net.CheckElement(n, x, labels, t.param, trace.Unravel(shape, off), k.eps)
			if err != nil {
				r.err = err
				break
			}
			r.rows = append(r.rows, check)
		}
		return tableCheckedMsg{key: k, result: r}
	}
}

// paramShape returns the shape of parameter <layer>.<role> of n, or nil.
func paramShape(n *net.Network, param string) []int {
	layer, role, _ := strings.Cut(param, ".")
	p, ok := n.Layer(layer).(net.Parametric)
	if !ok {
		return nil
	}
	for _, q := range p.Params() {
		if q.Role == role {
			return q.Value.Shape
		}
	}
	return nil
}

// sampleOffsets returns the sorted row-major offsets the table checks.
func sampleOffsets(size int, seed uint64) []int {
	if size <= checkAllUpTo {
		all := make([]int, size)
		for k := range all {
			all[k] = k
		}
		return all
	}
	offsets := rand.New(rand.NewPCG(seed, uint64(size))).Perm(size)[:checkSampleSize]
	slices.Sort(offsets)
	return offsets
}

// checkLines draws the numeric check when the inspector shows the element
// N was pressed on.
func (m Model) checkLines(width int) []string {
	if !m.checkVisible() {
		return nil
	}
	c := m.hunt.check
	t := c.shown
	st := m.styles
	ek, tk := c.keys(t)
	lines := []string{st.Value.Render(fitLine(fmt.Sprintf("numeric check of %s%s", t.param, indexString(t.index)), width))}
	if t.step > 0 {
		lines = append(lines, st.Label.Render(fmt.Sprintf("as step %d starts it", t.step)))
	}
	lines = append(lines, st.Label.Render(fmt.Sprintf("eps %.0e (+/− change it)", c.eps())))

	switch r := c.elements[ek]; {
	case r == nil:
		lines = append(lines, st.Status.Render("checking…"))
	case r.err != nil:
		lines = append(lines, wrapText("check failed: "+r.err.Error(), width)...)
	default:
		e := r.check
		lines = append(lines,
			st.Label.Render("analytic ")+formatValue(e.Analytic),
			st.Label.Render("central  ")+formatValue(e.Numeric),
			st.Label.Render("abs err  ")+fmt.Sprintf("%.3g", e.AbsErr),
			st.Label.Render("rel err  ")+fmt.Sprintf("%.3g", e.RelErr),
			verdictLine(st, e.Pass)+st.Label.Render(fmt.Sprintf(" |a−n| ≤ %g + %g·|n|", net.DefaultGradCheckAtol, net.DefaultGradCheckRtol)))
	}
	lines = append(lines, "")
	lines = append(lines, m.tableLines(c.tables[tk], t, width)...)
	return append(lines, "")
}

func verdictLine(st Styles, pass bool) string {
	if pass {
		return st.Agree.Render("pass ✓")
	}
	return st.Differ.Render("FAIL ✗")
}

// tableLines draws the check of the sampled elements of the tensor.
func (m Model) tableLines(r *tableCheck, t *checkTarget, width int) []string {
	st := m.styles
	if r == nil {
		return []string{st.Status.Render("checking the tensor…")}
	}
	failed := 0
	worst := 0.0
	for _, row := range r.rows {
		if !row.Pass {
			failed++
		}
		worst = max(worst, row.RelErr)
		if math.IsNaN(row.RelErr) {
			worst = math.NaN()
		}
	}
	what := fmt.Sprintf("all %d", r.size)
	if len(r.rows) < r.size {
		what = fmt.Sprintf("%d of %d", len(r.rows), r.size)
	}
	lines := wrapText(fmt.Sprintf("%s: %s elements, %d fail, max rel err %.2g", t.param, what, failed, worst), width)
	if r.err != nil {
		lines = append(lines, wrapText("check failed: "+r.err.Error(), width)...)
	}
	indexWidth := 0
	for _, row := range r.rows {
		indexWidth = max(indexWidth, len(indexString(row.Index)))
	}
	showNumeric := width >= indexWidth+36
	header := fmt.Sprintf("%-*s %10s", indexWidth, "", "analytic")
	if showNumeric {
		header += fmt.Sprintf(" %10s", "central")
	}
	lines = append(lines, st.Label.Render(fitLine(header+fmt.Sprintf(" %8s", "rel err"), width)))
	for _, row := range r.rows {
		text := fmt.Sprintf("%-*s %s", indexWidth, indexString(row.Index), formatShort(row.Analytic))
		if showNumeric {
			text += " " + formatShort(row.Numeric)
		}
		text += fmt.Sprintf(" %8.2g", row.RelErr)
		mark := " ✓"
		if !row.Pass {
			mark = " ✗"
		}
		line := fitLine(text+mark, width)
		if !row.Pass {
			line = st.Differ.Render(line)
		}
		lines = append(lines, line)
	}
	return lines
}
