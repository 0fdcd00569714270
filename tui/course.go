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

// CourseKeys are the keys of the course's features: the batch's
// predictions, the real dZ behind an exercise's stand-in, and compare's
// diff mode.
type CourseKeys struct {
	NextMistake, RealDZ, NextWrong, PrevWrong key.Binding
}

func defaultCourseKeys() CourseKeys {
	return CourseKeys{
		NextMistake: key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "next misclassified sample")),
		RealDZ:      key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "see a real dZ (conv --dz-from-z)")),
		NextWrong:   key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "next wrong element (compare)")),
		PrevWrong:   key.NewBinding(key.WithKeys("X"), key.WithHelp("X", "previous wrong element (compare)")),
	}
}

// courseData is the read-only input of the course's features: the batch's
// predictions and compare's diff mode. The tensor view shares it.
type courseData struct {
	// predictions has one entry per sample of training step step, or none
	// for a trace without a loss, such as a single-layer exercise.
	predictions []net.Prediction
	wrong       int
	step        int
	// compare is the diff mode of cnndbg compare, or nil.
	compare *compareMode
}

// setPredictions loads the predictions of training step step. A multi-step
// trace predicts with each step's own parameters.
func (d *courseData) setPredictions(tr *trace.Trace, step int) {
	d.step, d.predictions, d.wrong = step, nil, 0
	p, err := net.PredictionsAt(tr, step)
	if err != nil {
		return
	}
	d.predictions = p
	for _, s := range p {
		if !s.Correct() {
			d.wrong++
		}
	}
}

// syncPredictions shows the predictions of the current event's step.
func (m *Model) syncPredictions() {
	if d := m.course.data; d != nil && d.step != m.stepOf(m.timeline.current) {
		d.setPredictions(m.tr, m.stepOf(m.timeline.current))
	}
}

// stepOf returns the training step of event, 0 for a trace without events.
func (m *Model) stepOf(event int) int {
	if event < 0 || event >= len(m.tr.Events) {
		return 0
	}
	return m.tr.Events[event].Step
}

// course is the state of the course's features on one screen.
type course struct {
	data *courseData
	// other is the screen the r key returns to: the exercise while the real
	// dZ shows, or the real dZ once it was opened.
	other *Model
	// realDZ is true on the screen that shows the real dZ.
	realDZ bool
	// recording is true while Options.RealDZ runs; a replayed key script
	// waits for it (Model.idle).
	recording bool
}

// realDZMsg carries the trace that Options.RealDZ recorded.
type realDZMsg struct {
	tr    *trace.Trace
	title string
	err   error
}

// openCourse reads the predictions of the trace and, with Options.Compare,
// starts the diff mode on the first wrong element.
func (m *Model) openCourse() {
	data := &courseData{}
	data.setPredictions(m.tr, m.stepOf(m.timeline.current))
	if r := m.opts.Compare; r != nil && r.Exercise != nil && r.Exercise.Trace == m.tr {
		data.compare = newCompareMode(r)
	}
	m.course.data = data
	m.tensors.course = data
	if data.compare != nil {
		m.startCompare()
	}
}

// updateCourse handles the messages of the course's features.
func (m Model) updateCourse(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(realDZMsg); ok {
		return m.openRealDZ(msg)
	}
	return m, nil
}

// courseKey carries out the course's keys. ok is false for other keys.
func (m Model) courseKey(msg tea.KeyPressMsg) (Model, tea.Cmd, bool) {
	k := m.keys.Course
	switch {
	case key.Matches(msg, k.NextMistake):
		m = m.nextMistake()
	case key.Matches(msg, k.RealDZ):
		mm, cmd := m.toggleRealDZ()
		return mm, cmd, true
	case key.Matches(msg, k.NextWrong):
		mm, cmd := m.stepWrong(1)
		return mm, cmd, true
	case key.Matches(msg, k.PrevWrong):
		mm, cmd := m.stepWrong(-1)
		return mm, cmd, true
	default:
		return m, nil, false
	}
	mm, cmd := m.handle(m.tensors.Chosen())
	return mm, cmd, true
}

// bannerLines returns the lines under the header: the Options.Banner or
// the diff mode's summary, then the r key's offer, in at most two lines.
// The offer moves to the second line when both do not fit on one.
func (m Model) bannerLines() []string {
	text := m.opts.Banner
	if d := m.course.data; d != nil && d.compare != nil {
		text = d.compare.banner()
	}
	offer := ""
	switch {
	case m.course.realDZ:
		offer = "r: back to the exercise"
	case m.opts.RealDZ != nil:
		offer = "r: see a real dZ"
	}
	if text == "" || m.width <= 0 {
		return nil
	}

	var lines []string
	switch {
	case offer == "":
		lines = wrapText(text, m.width)
	case ansi.StringWidth(text+" · "+offer) <= m.width:
		lines = []string{text + " · " + offer}
	default:
		lines = append(wrapText(text, m.width), offer)
	}
	if len(lines) > 2 {
		lines = []string{lines[0], strings.Join(lines[1:], " ")}
	}
	for i := range lines {
		lines[i] = fitLine(m.styles.Status.Render(lines[i]), m.width)
	}
	return lines
}

// layoutBelowBanner returns the layout of the panes under the banner.
func (m Model) layoutBelowBanner(focus, leftTab pane) layout {
	return computeLayoutBelow(len(m.bannerLines()), m.width, m.height, focus, leftTab)
}

// toggleRealDZ switches to the screen of the real dZ, recording it first
// if needed, or back to the exercise.
func (m Model) toggleRealDZ() (Model, tea.Cmd) {
	switch {
	case m.course.other != nil:
		return m.switchTo(*m.course.other)
	case m.opts.RealDZ == nil:
		m.status = "r opens a real dZ only from 'cnndbg conv --dz-from-z'"
		return m, nil
	case m.course.recording:
		m.status = "recording a training step for the real dZ…"
		return m, nil
	}
	m.course.recording = true
	m.status = "recording a training step for the real dZ…"
	record := m.opts.RealDZ
	return m, func() tea.Msg {
		tr, title, err := record()
		return realDZMsg{tr: tr, title: title, err: err}
	}
}

// openRealDZ shows the recorded step at the event that writes the dZ of
// its first conv layer, the gradient that the loss sent down through the
// layers above. The exercise's screen stays behind for the r key.
func (m Model) openRealDZ(msg realDZMsg) (Model, tea.Cmd) {
	m.course.recording = false
	if msg.err != nil {
		m.status = "cannot record a step for the real dZ: " + msg.err.Error()
		return m, nil
	}
	event, tensor, err := realDZEvent(msg.tr)
	if err != nil {
		m.status = err.Error()
		return m, nil
	}

	opts := m.opts
	opts.Title, opts.RealDZ, opts.Compare = msg.title, nil, nil
	e := &msg.tr.Events[event]
	consumer := lastConvBackward(msg.tr)
	name := msg.tr.DisplayName(&msg.tr.Events[consumer], tensor)
	opts.Banner = fmt.Sprintf("a real dZ: %s backward (event %d) writes %s from the loss", e.Layer, e.Index, name)
	screen := New(msg.tr, opts)
	screen.course.realDZ = true
	screen.timeline.Select(event)
	screen.tensors.SetEvent(event)
	screen.tensors.SelectElement(tensor, nil)
	screen.setFocus(tensorPane)

	next, cmd := m.switchTo(screen)
	next.status = fmt.Sprintf("%s is the dZ that %s receives: u follows it up toward the loss",
		msg.tr.DisplayName(e, tensor), msg.tr.Events[consumer].Layer)
	return next, cmd
}

// switchTo shows screen next in place of m, keeping m for the r key. The
// explanation m was waiting for is dropped when it arrives, because it
// belongs to m's trace, so next requests the element it shows again.
func (m Model) switchTo(next Model) (Model, tea.Cmd) {
	m.status = ""
	next.course.other = &m
	next.width, next.height = m.width, m.height
	next.explaining, next.pending, next.pendingIdx, next.deferredUps = false, nil, nil, 0
	next.resize()
	msg, ok := next.tensors.Chosen().(elementChosenMsg)
	if !ok {
		return next, nil
	}
	if next.inspector.result != nil && keyOf(msg.tensor, msg.index) == keyOf(next.inspector.tensor, next.inspector.index) {
		return next, nil
	}
	return next.chooseElement(msg)
}

// realDZEvent returns the event that writes the dZ of the last conv
// backward event of tr (the first conv layer of the network), and that
// tensor's ID.
func realDZEvent(tr *trace.Trace) (event, tensor int, err error) {
	conv := lastConvBackward(tr)
	if conv < 0 {
		return 0, 0, fmt.Errorf("the recorded step has no conv layer whose dZ to show")
	}
	id := tr.Events[conv].Input("dZ")
	if id < 0 || tr.Tensors[id].Producer < 0 {
		return 0, 0, fmt.Errorf("in the recorded step, no event writes the dZ of %s", tr.Events[conv].Layer)
	}
	return tr.Tensors[id].Producer, id, nil
}

// lastConvBackward returns the last conv backward event of tr, or -1.
func lastConvBackward(tr *trace.Trace) int {
	for k := len(tr.Events) - 1; k >= 0; k-- {
		if e := &tr.Events[k]; e.Kind == "conv" && e.Phase == trace.Backward {
			return k
		}
	}
	return -1
}
