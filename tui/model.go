package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// Options configure the debugger screen.
type Options struct {
	// NoColor draws a monochrome screen: shading glyphs and sign marks
	// carry what colors would.
	NoColor bool
	// AltScreen draws in the terminal's alternate screen; false leaves the
	// frames in the scrollback, for recordings.
	AltScreen bool
	// Title is shown in the header, such as "built-in example: 64 MNIST digits".
	Title string

	// Tour, when set, makes Run show the narrated walkthrough of the
	// built-in example instead of the plain debugger.
	Tour *TourOptions
	// Keys, when set, is replayed by Run one key every KeyDelay. The
	// screen stays interactive after the last key unless ExitAfterKeys
	// is set.
	Keys          *KeyScript
	KeyDelay      time.Duration
	ExitAfterKeys bool

	// Banner, when set, is a line under the header that stays on screen,
	// such as the note that Z replaces dZ in an exercise.
	Banner string
	// RealDZ, when set, records a training step whose first conv layer
	// receives a real dZ, and returns its trace and title. The r key
	// calls it and shows the event that writes that dZ.
	RealDZ func() (*trace.Trace, string, error)
	// Compare, when set, opens the screen in diff mode: the learner's
	// arrays against the correct ones. The trace given to New or Run must
	// be Compare.Exercise.Trace.
	Compare *net.Report

	// Diff, when set, shows trace B of cnndbg diff beside this one.
	Diff *DiffOptions
}

// Model is the debugger screen, a tea.Model. Its panes report changes as
// small messages that the model handles in the same Update call, so keys
// typed ahead act on the state the previous key left. Explanations run in
// the background; keys that need one wait for it instead of being dropped.
type Model struct {
	tr     *trace.Trace
	opts   Options
	keys   KeyMap
	styles Styles
	help   help.Model

	width, height int
	focus         pane
	// leftTab is the pane the narrow layout shows beside the inspector.
	leftTab pane

	timeline  timeline
	tensors   tensorView
	inspector inspector

	showHelp   bool
	helpScroll int

	// prompt is '/' or ':' while the footer reads a search or jump target.
	prompt     rune
	promptText string
	lastSearch string
	status     string
	// narration, when set, takes the footer's place: the tour's line that
	// describes the current step. Its first stageLabelEnd bytes are
	// drawn bold.
	narration     string
	stageLabelEnd int

	cache *explainCache
	// loading holds the tensors whose values a background command is
	// reading from the trace file.
	loading map[loadKey]bool
	// explaining is true while an explanation runs; pending is the element
	// to explain when it returns.
	explaining bool
	pending    *explainKey
	pendingIdx []int
	// deferredUps counts the u presses that wait for an explanation still
	// computing. Each arrival carries out one of them.
	deferredUps int

	course course
	// hunt is the state of the bad-gradient tools.
	hunt hunt
}

// New returns the screen for trace tr, on its first event.
func New(tr *trace.Trace, opts Options) Model {
	keys := DefaultKeyMap()
	st := NewStyles(opts.NoColor)
	h := help.New()
	h.Styles.ShortKey = st.HelpKey
	h.Styles.ShortDesc = st.HelpDesc
	h.Styles.ShortSeparator = st.HelpDesc
	m := Model{
		tr: tr, opts: opts, keys: keys, styles: st, help: h,
		focus: tensorPane, leftTab: tensorPane,
		timeline:  newTimeline(tr, keys.Timeline, st),
		tensors:   newTensorView(tr, keys.Tensor, st),
		inspector: newInspector(tr, keys.Inspector, st),
		cache:     &explainCache{},
		loading:   map[loadKey]bool{},
	}
	if len(tr.Events) > 0 {
		m.tensors.SetEvent(0)
		if msg, ok := m.tensors.Chosen().(elementChosenMsg); ok {
			m.inspector.SetElement(msg.event, msg.tensor, msg.index)
		}
	}
	m.openCourse()
	return m.initHunt()
}

// Init starts loading the first tensor if it is not in memory, and
// explaining the first element.
func (m Model) Init() tea.Cmd {
	load := m.loadSelected()
	if m.inspector.tensor < 0 {
		return load
	}
	return tea.Batch(load, m.requestExplain(m.inspector.tensor, m.inspector.index), m.diffCmd())
}

// Update handles one message, then starts loading the selected tensor in
// the background if its values are not in memory yet.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := m.update(msg)
	updated, ok := next.(Model)
	if !ok {
		return next, cmd
	}
	if load := updated.loadSelected(); load != nil {
		return updated, tea.Batch(cmd, load)
	}
	return updated, cmd
}

// update handles one message.
func (m Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tensorLoadedMsg:
		return m.handleLoaded(msg)
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.resize()
		return m, nil
	case tea.KeyPressMsg:
		m.status = ""
		return m.handleKey(msg)
	case tea.MouseWheelMsg:
		return m.handleWheel(msg.Mouse())
	case tea.MouseClickMsg:
		return m.handleClick(msg.Mouse())
	case explainedMsg:
		if msg.result.tr != m.tr {
			return m, nil
		}
		return m.handleExplained(msg.result)
	case huntMsg:
		return msg.apply(m)
	}
	return m.updateCourse(msg)
}

// handle acts on a message a pane returned.
func (m Model) handle(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case eventSelectedMsg:
		return m.selectEvent(msg.event)
	case elementChosenMsg:
		return m.chooseElement(msg)
	case termChosenMsg:
		m.syncTerm()
	}
	return m, nil
}

func (m *Model) resize() {
	l := m.layoutBelowBanner(m.focus, m.leftTab)
	inner := func(p pane) (int, int) {
		b := l.boxes[p]
		if b.w == 0 {
			// A hidden tab keeps the size it will have when shown.
			b = m.layoutBelowBanner(p, p).boxes[p]
		}
		return max(b.w-2, 1), max(b.h-2, 1)
	}
	m.timeline.SetSize(inner(timelinePane))
	m.tensors.SetSize(inner(tensorPane))
	m.inspector.SetSize(inner(inspectorPane))
	m.help.SetWidth(m.width)
}

func (m Model) layout() layout { return m.layoutBelowBanner(m.focus, m.leftTab) }

func (m Model) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	g := m.keys.Global
	if m.tooSmall() {
		// The user cannot see what a key would change: only quit works.
		if key.Matches(msg, g.Quit) {
			return m, tea.Quit
		}
		return m, nil
	}
	if m.prompt != 0 {
		return m.handlePrompt(msg)
	}
	if m.showHelp {
		switch {
		case key.Matches(msg, g.Quit):
			return m, tea.Quit
		case key.Matches(msg, g.Help), key.Matches(msg, m.keys.Inspector.Back):
			m.showHelp = false
		case key.Matches(msg, m.keys.Inspector.Up):
			m.helpScroll = max(m.helpScroll-1, 0)
		case key.Matches(msg, m.keys.Inspector.Down):
			m.helpScroll++
		}
		return m, nil
	}

	t := m.keys.Timeline
	switch {
	case key.Matches(msg, g.Quit):
		return m, tea.Quit
	case key.Matches(msg, g.Help):
		m.showHelp, m.helpScroll = true, 0
		return m, nil
	case key.Matches(msg, g.FocusNext):
		m.setFocus((m.focus + 1) % paneCount)
		return m, nil
	case key.Matches(msg, g.FocusPrev):
		m.setFocus((m.focus + paneCount - 1) % paneCount)
		return m, nil
	case key.Matches(msg, g.Producer):
		return m.up()
	case key.Matches(msg, t.Search), key.Matches(msg, t.Jump):
		m.prompt, m.promptText = []rune(msg.String())[0], ""
		return m, nil
	case key.Matches(msg, t.Next):
		return m.selectEvent(m.timeline.current + 1)
	case key.Matches(msg, t.Prev):
		return m.selectEvent(m.timeline.current - 1)
	case key.Matches(msg, t.First):
		return m.selectEvent(0)
	case key.Matches(msg, t.Last):
		return m.selectEvent(len(m.tr.Events) - 1)
	case key.Matches(msg, m.keys.Inspector.Drill):
		return m.drill()
	case key.Matches(msg, m.keys.Inspector.Back):
		return m.back()
	}
	if mm, cmd, ok := m.courseKey(msg); ok {
		return mm, cmd
	}
	if mm, cmd, ok := m.handleHuntKey(msg); ok {
		return mm, cmd
	}

	tk := m.keys.Tensor
	if key.Matches(msg, tk.NextTensor, tk.PrevTensor, tk.PrevSample, tk.NextSample, tk.PrevChannel, tk.NextChannel) {
		return m.updateTensors(msg)
	}
	switch m.focus {
	case timelinePane:
		var out tea.Msg
		m.timeline, out = m.timeline.Update(msg)
		return m.handle(out)
	case tensorPane:
		return m.updateTensors(msg)
	default:
		var out tea.Msg
		m.inspector, out = m.inspector.Update(msg)
		return m.handle(out)
	}
}

func (m Model) updateTensors(msg tea.Msg) (Model, tea.Cmd) {
	var out tea.Msg
	m.tensors, out = m.tensors.Update(msg)
	return m.handle(out)
}

func (m *Model) setFocus(p pane) {
	m.focus = p
	if p != inspectorPane {
		m.leftTab = p
	}
	m.resize()
}

// drill moves into the terms of the chosen element; from the timeline it
// moves to the tensor view first.
func (m Model) drill() (Model, tea.Cmd) {
	if m.focus == timelinePane {
		m.setFocus(tensorPane)
		return m, nil
	}
	m.setFocus(inspectorPane)
	return m.handle(m.inspector.Drill())
}

// back leaves the terms list, or moves the focus from the inspector back
// to the tensor view.
func (m Model) back() (Model, tea.Cmd) {
	if m.inspector.Back() {
		m.syncTerm()
		m.setFocus(tensorPane)
		return m, nil
	}
	if m.focus == inspectorPane {
		m.setFocus(tensorPane)
	}
	return m, nil
}

// selectEvent makes event current and chooses the tensor view's element.
func (m Model) selectEvent(event int) (Model, tea.Cmd) {
	if len(m.tr.Events) == 0 {
		return m, nil
	}
	event = clamp(event, 0, len(m.tr.Events)-1)
	m.timeline.Select(event)
	m.tensors.SetEvent(event)
	m.syncPredictions()
	m.deferredUps = 0
	chosen := m.tensors.Chosen()
	if chosen == nil {
		// The tensor is loading or unreadable: an element of the previous
		// event must not stay in the inspector as if it were this one's.
		m.inspector.SetElement(event, -1, nil)
		return m, nil
	}
	return m.handle(chosen)
}

// chooseElement shows an element in the inspector and explains it.
func (m Model) chooseElement(msg elementChosenMsg) (Model, tea.Cmd) {
	m.inspector.SetElement(msg.event, msg.tensor, msg.index)
	m.tensors.SetTerm(nil)
	return m, tea.Batch(m.requestExplain(msg.tensor, msg.index), m.diffCmd())
}

// requestExplain shows a cached explanation at once, or starts computing
// it. Only one explanation runs at a time: a request made meanwhile waits,
// and a newer request replaces it, so holding an arrow key over conv1.dW
// does not pile up work.
func (m *Model) requestExplain(tensor int, index []int) tea.Cmd {
	k := keyOf(tensor, index)
	if r, ok := m.cache.get(k); ok {
		m.inspector.SetResult(r)
		m.syncTerm()
		return nil
	}
	if m.explaining {
		m.pending, m.pendingIdx = &k, append([]int(nil), index...)
		return nil
	}
	m.explaining = true
	return explainCmd(m.tr, tensor, index)
}

func (m Model) handleExplained(r *explained) (tea.Model, tea.Cmd) {
	m.explaining = false
	m.cache.put(r)
	m.inspector.SetResult(r)
	m.syncTerm()

	var cmd tea.Cmd
	if m.pending != nil {
		k, index := *m.pending, m.pendingIdx
		m.pending, m.pendingIdx = nil, nil
		if k == keyOf(m.inspector.tensor, m.inspector.index) {
			cmd = m.requestExplain(k.tensor, index)
		}
	}
	if m.deferredUps > 0 && !m.inspector.Computing() {
		m.deferredUps--
		var upCmd tea.Cmd
		m, upCmd = m.up()
		cmd = tea.Batch(cmd, upCmd)
	}
	return m, cmd
}

// syncTerm shows the inspector's selected term in the tensor view.
func (m *Model) syncTerm() {
	term, k, ok := m.inspector.SelectedTerm()
	if !ok {
		m.tensors.SetTerm(nil)
		return
	}
	role := m.tr.Events[m.inspector.event].RoleOf(m.inspector.tensor)
	m.tensors.SetTerm(&termFocus{
		number: k + 1, total: m.inspector.termCount(), term: term,
		explainedRole: role, explainedIndex: m.inspector.index,
	})
}

// up carries out the u key. With a term selected, it goes to the event that
// wrote the term's gradient operand, or else its first operand that an
// event wrote. On an input of the current event, it goes to the event that
// wrote the input. On an output, it follows the provenance chain one event
// back.
func (m Model) up() (Model, tea.Cmd) {
	if m.inspector.tensor < 0 {
		return m, nil
	}
	if m.inspector.drilled {
		if m.inspector.Computing() {
			m.deferredUps++
			return m, nil
		}
		if term, _, ok := m.inspector.SelectedTerm(); ok {
			return m.upFromTerm(term.Operands)
		}
	}

	id, index := m.inspector.tensor, m.inspector.index
	p := m.tr.Tensors[id].Producer
	switch {
	case p < 0:
		m.status = m.tr.Tensors[id].Name + " is an input of the step: no event wrote it"
		return m, nil
	case p != m.timeline.current:
		return m.jump(p, id, index)
	case m.inspector.Computing():
		m.deferredUps++
		return m, nil
	}

	r := m.inspector.result
	if r.linksErr != nil {
		m.status = "no provenance: " + r.linksErr.Error()
		return m, nil
	}
	for k, l := range r.links {
		if l.Event != m.timeline.current || k+1 >= len(r.links) {
			continue
		}
		next := r.links[k+1]
		if next.Event < 0 {
			m.status = next.Tensor + " is an input of the step: no event wrote it"
			return m, nil
		}
		return m.jump(next.Event, next.TensorID, next.Index)
	}
	m.status = "the provenance chain ends here: " + lastFormula(r.links)
	return m, nil
}

func lastFormula(links []provenanceLink) string {
	if len(links) == 0 {
		return "no links"
	}
	return links[len(links)-1].Formula
}

func (m Model) upFromTerm(operands []net.Operand) (Model, tea.Cmd) {
	best := -1
	for k, op := range operands {
		t := m.tr.Tensor(op.Tensor)
		if t == nil || t.Producer < 0 {
			continue
		}
		role := op.Tensor[strings.LastIndex(op.Tensor, ".")+1:]
		if best < 0 || strings.HasPrefix(role, "d") {
			best = k
		}
	}
	if best < 0 {
		m.status = "the operands of this term are inputs of the step: no event wrote them"
		return m, nil
	}
	t := m.tr.Tensor(operands[best].Tensor)
	return m.jump(t.Producer, t.ID, operands[best].Index)
}

// jump goes to event with element index of tensor id selected.
func (m Model) jump(event, id int, index []int) (Model, tea.Cmd) {
	m.timeline.Select(event)
	m.tensors.SetEvent(event)
	m.tensors.SelectElement(id, index)
	e := &m.tr.Events[event]
	m.status = fmt.Sprintf("u → %s: %s%s", eventLabel(e), m.tr.DisplayName(e, id), indexString(index))
	return m.handle(m.tensors.Chosen())
}

func (m Model) handlePrompt(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "esc":
		m.prompt = 0
		return m, nil
	case "enter":
		kind, text := m.prompt, m.promptText
		m.prompt = 0
		return m.runPrompt(kind, text)
	case "backspace":
		if r := []rune(m.promptText); len(r) > 0 {
			m.promptText = string(r[:len(r)-1])
		}
		return m, nil
	}
	if msg.Text != "" {
		m.promptText += msg.Text
	}
	return m, nil
}

func (m Model) runPrompt(kind rune, text string) (Model, tea.Cmd) {
	if mm, cmd, ok := m.runHuntPrompt(kind, text); ok {
		return mm, cmd
	}
	if kind == '/' {
		if strings.TrimSpace(text) == "" {
			text = m.lastSearch
		}
		m.lastSearch = text
		e := findEvent(m.tr, m.timeline.current, text)
		if e < 0 {
			m.status = fmt.Sprintf("no event has a layer or tensor named like %q", text)
			return m, nil
		}
		m, cmd := m.selectEvent(e)
		if !m.tensors.SelectMatching(text) {
			return m, cmd
		}
		m, chosen := m.handle(m.tensors.Chosen())
		return m, tea.Batch(cmd, chosen)
	}
	e, err := resolveJump(m.tr, m.timeline.current, text)
	if err != nil {
		m.status = err.Error()
		return m, nil
	}
	return m.selectEvent(e)
}

func (m Model) handleWheel(mouse tea.Mouse) (tea.Model, tea.Cmd) {
	delta := 0
	switch mouse.Button {
	case tea.MouseWheelUp:
		delta = -1
	case tea.MouseWheelDown:
		delta = 1
	default:
		return m, nil
	}
	if m.showHelp {
		m.helpScroll = max(m.helpScroll+delta, 0)
		return m, nil
	}
	l := m.layout()
	switch {
	case l.boxes[timelinePane].contains(mouse.X, mouse.Y):
		m.timeline.Scroll(delta)
	case l.boxes[tensorPane].contains(mouse.X, mouse.Y):
		k := m.keys.Tensor.Down
		if delta < 0 {
			k = m.keys.Tensor.Up
		}
		return m.updateTensors(keyPressFor(k))
	case l.boxes[inspectorPane].contains(mouse.X, mouse.Y):
		var out tea.Msg
		m.inspector, out = m.inspector.move(delta)
		return m.handle(out)
	}
	return m, nil
}

// keyPressFor returns a key press of the first key of binding k.
func keyPressFor(k key.Binding) tea.KeyPressMsg {
	name := k.Keys()[0]
	switch name {
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	}
	r := []rune(name)[0]
	return tea.KeyPressMsg{Code: r, Text: name}
}

func (m Model) handleClick(mouse tea.Mouse) (tea.Model, tea.Cmd) {
	if m.showHelp || mouse.Button != tea.MouseLeft {
		return m, nil
	}
	l := m.layout()
	for p := pane(0); p < paneCount; p++ {
		b := l.boxes[p]
		if !b.contains(mouse.X, mouse.Y) {
			continue
		}
		m.setFocus(p)
		x, y := mouse.X-b.x-1, mouse.Y-b.y-1
		switch p {
		case timelinePane:
			if e := m.timeline.EventAt(y); e >= 0 {
				return m.selectEvent(e)
			}
		case tensorPane:
			var out tea.Msg
			m.tensors, out = m.tensors.Click(x, y)
			return m.handle(out)
		}
		return m, nil
	}
	return m, nil
}

// View draws the screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.content())
	v.AltScreen = m.opts.AltScreen
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "cnndbg"
	return v
}

// tooSmall reports whether the window is below the smallest layout. A size
// of 0 means none has arrived yet, as in tests that send keys first.
func (m Model) tooSmall() bool {
	return m.width > 0 && m.height > 0 && (m.width < minWidth || m.height < minHeight)
}

func (m Model) content() string {
	if m.width == 0 || m.height == 0 {
		return ""
	}
	if m.tooSmall() {
		msg := fmt.Sprintf("cnndbg needs a window of at least %d×%d; this one is %d×%d", minWidth, minHeight, m.width, m.height)
		text := fitLine(msg, m.width)
		if m.height >= 2 {
			text += "\n" + fitLine("enlarge it to go on, or press q to quit", m.width)
		}
		return lipgloss.Place(m.width, m.height, lipgloss.Center, lipgloss.Center, text)
	}
	lines := []string{m.header()}
	if m.showHelp {
		lines = append(lines, m.helpOverlay()...)
	} else {
		lines = append(lines, m.bannerLines()...)
		lines = append(lines, m.panes()...)
	}
	lines = append(lines, m.footer())
	return strings.Join(lines, "\n")
}

func (m Model) panes() []string {
	l := m.layout()
	var blocks [][]string
	for p := pane(0); p < paneCount; p++ {
		b := l.boxes[p]
		if b.w == 0 {
			continue
		}
		var content []string
		switch p {
		case timelinePane:
			content = m.timeline.lines()
			if m.course.data.compare != nil {
				content = m.compareReportLines()
			}
		case tensorPane:
			content = m.tensors.lines()
		default:
			content = m.inspectorLines()
		}
		blocks = append(blocks, drawBox(m.styles, m.paneTitle(p, l), content, b.w, b.h, m.focus == p))
	}
	return joinColumns(blocks...)
}

func (m Model) paneTitle(p pane, l layout) string {
	title := paneTitles[p]
	switch {
	case p == inspectorPane && m.inspector.drilled:
		e := &m.tr.Events[m.inspector.event]
		title += " · terms of " + m.tr.DisplayName(e, m.inspector.tensor) + indexString(m.inspector.index)
	case !l.wide && p != inspectorPane:
		other := timelinePane
		if p == timelinePane {
			other = tensorPane
		}
		title += " · w: " + strings.ToLower(paneTitles[other])
	}
	return title
}

func (m Model) header() string {
	left := "cnndbg"
	if m.opts.Title != "" {
		left += " · " + m.opts.Title
	}
	right := ""
	if n := len(m.tr.Events); n > 0 {
		e := &m.tr.Events[m.timeline.current]
		right = fmt.Sprintf("event %d/%d %s %s %s", e.Index, n-1, e.Layer, e.Kind, e.Phase)
	}
	right += m.predictionMark()
	if v, err := net.LossAt(m.tr, m.stepOf(m.timeline.current)); err == nil {
		right += fmt.Sprintf(" · loss %.6g", v)
	}
	// The event matters more than the title: drop the title first.
	if lipgloss.Width(left)+2+lipgloss.Width(right) > m.width {
		left = "cnndbg"
	}
	gap := m.width - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 2 {
		return m.styles.Header.Render(fitLine(left+"  "+right, m.width))
	}
	return m.styles.Header.Render(left + strings.Repeat(" ", gap) + right)
}

func (m Model) footer() string {
	switch {
	case huntPromptLabel(m.prompt) != "":
		return fitLine(m.styles.Prompt.Render(huntPromptLabel(m.prompt))+m.promptText+"▏", m.width)
	case m.prompt == '/':
		return fitLine(m.styles.Prompt.Render("search: ")+m.promptText+"▏", m.width)
	case m.prompt == ':':
		return fitLine(m.styles.Prompt.Render("jump to: ")+m.promptText+"▏", m.width)
	case m.narration != "":
		label, text := m.narration[:m.stageLabelEnd], m.narration[m.stageLabelEnd:]
		return fitLine(m.styles.Prompt.Render(label)+text, m.width)
	case m.status != "":
		return fitLine(m.styles.Status.Render(m.status), m.width)
	}
	return fitLine(m.help.ShortHelpView(m.keys.ShortHelp()), m.width)
}

// helpOverlay lists every key of the KeyMap, one group per pane, in as
// many columns of helpColumnWidth cells as fit.
func (m Model) helpOverlay() []string {
	inner := m.width - 2
	columns := m.helpColumns(max(inner/helpColumnWidth, 1), m.height-4)
	lines := joinColumns(columns...)
	lines = append(lines, wrapText("u goes up one event: from a selected term to the event that wrote its gradient operand, "+
		"from an input to the event that wrote it, from an output one event back along its provenance.", inner)...)

	scroll := clamp(m.helpScroll, 0, max(len(lines)-(m.height-4), 0))
	return drawBox(m.styles, "Keys · ? or esc closes", lines[scroll:], m.width, m.height-2, true)
}

const helpColumnWidth = 40

// helpColumns renders the FullHelp groups and fills up to count columns of
// at most height lines in order, each padded to the same size.
func (m Model) helpColumns(count, height int) [][]string {
	var blocks [][]string
	for i, group := range m.keys.FullHelp() {
		block := []string{m.styles.HelpGroup.Render(helpGroupTitles[i])}
		for _, b := range group {
			block = append(block, m.styles.HelpKey.Render(fmt.Sprintf("%-10s", b.Help().Key))+" "+m.styles.HelpDesc.Render(b.Help().Desc))
		}
		blocks = append(blocks, append(block, ""))
	}

	var columns [][]string
	var column []string
	for _, b := range blocks {
		if len(column) > 0 && len(column)+len(b) > height && len(columns)+1 < count {
			columns = append(columns, column)
			column = nil
		}
		column = append(column, b...)
	}
	columns = append(columns, column)

	tallest := 0
	for _, c := range columns {
		tallest = max(tallest, len(c))
	}
	width := (m.width - 2) / len(columns)
	for i := range columns {
		for len(columns[i]) < tallest {
			columns[i] = append(columns[i], "")
		}
		for j := range columns[i] {
			columns[i][j] = fitLine(columns[i][j], width)
		}
	}
	return columns
}
