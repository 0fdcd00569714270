package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/cnndbg/cnndbg/net"
)

// HuntKeys are the keys that hunt for bad gradients: the numeric check of
// a parameter element, the first non-finite value, breakpoints and steps.
type HuntKeys struct {
	Check, EpsUp, EpsDown  key.Binding
	FirstNonFinite         key.Binding
	Breakpoint, Condition  key.Binding
	Continue, ContinueBack key.Binding
	Step                   key.Binding
}

func defaultHuntKeys() HuntKeys {
	return HuntKeys{
		Check:          key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "numeric check of a W or b element")),
		EpsUp:          key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "larger eps of the check")),
		EpsDown:        key.NewBinding(key.WithKeys("-"), key.WithHelp("-", "smaller eps of the check")),
		FirstNonFinite: key.NewBinding(key.WithKeys("!"), key.WithHelp("!", "first NaN or Inf and its cause")),
		Breakpoint:     key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "toggle breakpoint on the event")),
		Condition:      key.NewBinding(key.WithKeys("B"), key.WithHelp("B", "add a conditional breakpoint")),
		Continue:       key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "continue to the next breakpoint")),
		ContinueBack:   key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "continue back to the previous one")),
		Step:           key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "go to a step's first event")),
	}
}

func (k HuntKeys) help() []key.Binding {
	return []key.Binding{k.Check, k.EpsUp, k.EpsDown, k.FirstNonFinite,
		k.Breakpoint, k.Condition, k.Continue, k.ContinueBack, k.Step}
}

// The footer prompts of the hunting keys, beside the model's '/' and ':'.
const (
	conditionPrompt = 'B'
	stepPrompt      = 's'
)

// huntPromptLabel returns the footer label of a hunting prompt, or "".
func huntPromptLabel(prompt rune) string {
	switch prompt {
	case conditionPrompt:
		return "break when (nonfinite, maxabs conv1.dW > 10, gradcheck > 1e-3, layer conv2, clear): "
	case stepPrompt:
		return "go to step: "
	}
	return ""
}

// hunt is the state of the bad-gradient tools. Its maps and pointers are
// shared by the copies of the Model that Update makes, which is what the
// caches want.
type hunt struct {
	check checkState

	// origin is the first non-finite value, once ! found it.
	origin *net.NonFiniteOrigin
	// searchingNonFinite is true while ! runs.
	searchingNonFinite bool

	breakpoints []net.Breakpoint
	// continuing is true while c or C searches for the next stop.
	continuing bool

	diff *diffState
}

func newHunt(opts Options) hunt {
	h := hunt{check: newCheckState()}
	if opts.Diff != nil {
		h.diff = newDiffState(opts.Diff)
	}
	return h
}

// busy reports whether a hunting command runs in the background.
func (h hunt) busy() bool {
	return h.searchingNonFinite || h.continuing || h.check.running() || (h.diff != nil && h.diff.running())
}

// huntMsg is a finished background command of the hunting tools.
type huntMsg interface {
	apply(m Model) (Model, tea.Cmd)
}

// initHunt places a diff screen on the first difference.
func (m Model) initHunt() Model {
	m.hunt = newHunt(m.opts)
	m.timeline.breaks = map[int]bool{}
	if m.hunt.diff != nil {
		m = m.openDiff()
	}
	return m
}

// handleHuntKey carries out a hunting key and reports whether msg was one.
func (m Model) handleHuntKey(msg tea.KeyPressMsg) (Model, tea.Cmd, bool) {
	k := m.keys.Hunt
	var cmd tea.Cmd
	switch {
	case key.Matches(msg, k.Check):
		m, cmd = m.startCheck()
	case key.Matches(msg, k.EpsUp):
		m, cmd = m.changeEps(-1)
	case key.Matches(msg, k.EpsDown):
		m, cmd = m.changeEps(1)
	case key.Matches(msg, k.FirstNonFinite):
		m, cmd = m.findNonFinite()
	case key.Matches(msg, k.Breakpoint):
		m = m.toggleBreakpoint()
	case key.Matches(msg, k.Condition):
		m.prompt, m.promptText = conditionPrompt, ""
	case key.Matches(msg, k.Continue):
		m, cmd = m.continueTo(false)
	case key.Matches(msg, k.ContinueBack):
		m, cmd = m.continueTo(true)
	case key.Matches(msg, k.Step):
		if m.tr.Steps() < 2 {
			m.status = "the trace records one step: record more with cnndbg record --steps N"
			return m, nil, true
		}
		m.prompt, m.promptText = stepPrompt, ""
	default:
		return m, nil, false
	}
	return m, cmd, true
}

// runHuntPrompt acts on the text of a hunting prompt and reports whether
// kind was one.
func (m Model) runHuntPrompt(kind rune, text string) (Model, tea.Cmd, bool) {
	switch kind {
	case conditionPrompt:
		return m.addCondition(text), nil, true
	case stepPrompt:
		out, cmd := m.goToStep(text)
		return out, cmd, true
	}
	return m, nil, false
}

// goToStep selects the first event of the step that text names.
func (m Model) goToStep(text string) (Model, tea.Cmd) {
	steps := m.tr.Steps()
	step, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || step < 0 || step >= steps {
		m.status = fmt.Sprintf("no step %q: steps are numbered 0 to %d", strings.TrimSpace(text), steps-1)
		return m, nil
	}
	from, _ := m.tr.StepEvents(step)
	return m.selectEvent(from)
}

// huntLines returns the inspector lines of the hunting tools for the
// chosen element: its tensor's non-finite counts, the first non-finite
// value's diagnosis, the numeric check and the diff against trace B.
func (m Model) huntLines(width int) []string {
	in := m.inspector
	if in.tensor < 0 {
		return nil
	}
	var lines []string
	lines = append(lines, m.nonFiniteLines(width)...)
	lines = append(lines, m.checkLines(width)...)
	lines = append(lines, m.diffLines(width)...)
	return lines
}

// inspectorLines draws the inspector with the hunting lines above its
// terms.
func (m Model) inspectorLines() []string {
	in := m.inspector
	in.extra = m.huntLines(in.width)
	return in.lines()
}

// nonFiniteLines counts the NaN and infinite values of the chosen
// element's tensor, and explains the element when it is the first
// non-finite value of the trace.
func (m Model) nonFiniteLines(width int) []string {
	in := m.inspector
	st := m.styles
	t := m.tr.Tensors[in.tensor]
	var lines []string
	if s := t.Stats; s.NonFinite() > 0 {
		name := m.tr.DisplayName(&m.tr.Events[in.event], in.tensor)
		lines = append(lines, wrapText(fmt.Sprintf("! %s holds %d NaN, %d +Inf, %d −Inf of %d values",
			name, s.NaN, s.PosInf, s.NegInf, tensorSize(t.Shape)), width)...)
	}
	o := m.hunt.origin
	if o == nil || o.Tensor != in.tensor || keyOf(o.Tensor, o.Index) != keyOf(in.tensor, in.index) {
		return lines
	}
	for _, l := range wrapText("first non-finite value of the trace", width) {
		lines = append(lines, st.Value.Render(l))
	}
	if o.FromInput {
		lines = append(lines, wrapText("it comes from a step input, not from arithmetic", width)...)
	}
	lines = append(lines, wrapText(o.Diagnosis, width)...)
	return append(lines, "")
}

func tensorSize(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// nonFiniteMsg carries the result of net.FirstNonFinite.
type nonFiniteMsg struct {
	origin *net.NonFiniteOrigin
	err    error
}

// findNonFinite starts the search for the first non-finite value. It runs
// in the background because the explanation of the value can take a while.
func (m Model) findNonFinite() (Model, tea.Cmd) {
	if m.hunt.searchingNonFinite {
		m.status = "still searching for the first non-finite value…"
		return m, nil
	}
	m.hunt.searchingNonFinite = true
	m.status = "searching for the first non-finite value…"
	tr := m.tr
	return m, func() tea.Msg {
		o, err := net.FirstNonFinite(tr)
		return nonFiniteMsg{origin: o, err: err}
	}
}

func (msg nonFiniteMsg) apply(m Model) (Model, tea.Cmd) {
	m.hunt.searchingNonFinite = false
	switch {
	case msg.err != nil:
		m.status = "cannot search for non-finite values: " + msg.err.Error()
		return m, nil
	case msg.origin == nil:
		m.status = "no NaN or infinity anywhere in the trace"
		return m, nil
	}
	o := msg.origin
	m.hunt.origin = o
	event := o.Event
	if event < 0 {
		// A step input holds the value: show it where it is first read.
		consumers := m.tr.Tensors[o.Tensor].Consumers
		if len(consumers) == 0 {
			m.status = fmt.Sprintf("step input %s%s = %s is read by no event", o.Name, indexString(o.Index), formatValue(o.Value))
			return m, nil
		}
		event = consumers[0]
	}
	m, cmd := m.jump(event, o.Tensor, o.Index)
	e := &m.tr.Events[event]
	m.status = fmt.Sprintf("! → %s%s = %s, first written by event %d (%s %s %s)",
		o.Name, indexString(o.Index), formatValue(o.Value), e.Index, e.Layer, e.Kind, e.Phase)
	if o.Event < 0 {
		m.status = fmt.Sprintf("! → step input %s%s = %s, first read by event %d (%s %s %s)",
			o.Name, indexString(o.Index), formatValue(o.Value), e.Index, e.Layer, e.Kind, e.Phase)
	}
	return m, cmd
}
