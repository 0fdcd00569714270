package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/cnndbg/cnndbg/trace"
)

// TourOptions configure the narrated walkthrough that Run shows instead
// of the plain debugger when Options.Tour is set.
type TourOptions struct {
	// Pace is how long each step of the tour stays on screen once its
	// numbers are ready. Zero advances as soon as a step has been drawn:
	// after tourFrameDwell.
	Pace time.Duration
}

// tourFrameDwell is the shortest time a tour step stays on screen: three
// frames at bubbletea's default 60 frames per second, so the renderer
// draws every step even at Pace 0.
const tourFrameDwell = 50 * time.Millisecond

// tourStep is one screen of the tour: the keys that lead to it from the
// previous step, and the narration that explains it.
type tourStep struct {
	stage int // index into the stage names, from 0
	name  string
	keys  KeyScript
	// target, when set, picks an element of the tensor under the cursor
	// after keys. The tour moves the cursor there with arrow keys, so the
	// step shows an element that fits its narration whatever the data.
	target elementPicker
	text   string
}

// elementPicker returns the element of the current tensor to show, given
// the event and the element under the cursor, or false if none fits.
type elementPicker func(tr *trace.Trace, e *trace.Event, at []int) ([]int, bool)

// tourStageCount is the number of stages of the tour; narration lines
// name them "3/8 where dZ comes from".
const tourStageCount = 8

// TourStages returns the names of the tour's stages in order.
func TourStages() []string {
	return []string{
		"the forward pass", "the loss", "where dZ comes from", "how ReLU masks it",
		"how max pool routes it", "one dW element of conv1", "dA_prev", "the update",
	}
}

// tourScript returns the steps of the tour of tr, the built-in example's
// step. It returns an error when tr lacks an event the tour shows.
func tourScript(tr *trace.Trace) ([]tourStep, error) {
	events := map[string]int{}
	for _, e := range tr.Events {
		k := e.Layer + " " + e.Phase.String()
		if _, seen := events[k]; !seen {
			events[k] = e.Index
		}
	}
	jump := func(layer, phase string) (string, error) {
		e, ok := events[layer+" "+phase]
		if !ok {
			return "", fmt.Errorf("the tour needs the built-in example: this trace has no %s %s event", layer, phase)
		}
		return ": " + strings.Join(strings.Split(fmt.Sprint(e), ""), " ") + " enter", nil
	}
	names := TourStages()
	var steps []tourStep
	var err error
	add := func(stage int, keys, text string) {
		steps = append(steps, tourStep{stage: stage, name: names[stage], keys: mustParseKeyScript(keys), text: text})
	}
	addMove := func(stage int, keys string, target elementPicker, text string) {
		add(stage, keys, text)
		steps[len(steps)-1].target = target
	}
	to := func(layer, phase string) string {
		keys, jumpErr := jump(layer, phase)
		if jumpErr != nil && err == nil {
			err = jumpErr
		}
		return keys
	}

	batch, lr := batchSize(tr), learningRate(tr)

	add(0, to("conv1", "forward")+" tab", fmt.Sprintf("the input A_prev holds m = %d MNIST digits of 28×28 pixels, one channel", batch))
	add(0, "shift+tab", "conv1 slides 6 filters of 5×5 over each digit: Z = Σ A_prev·W + b")
	add(0, to("relu1", "forward"), "relu1 keeps positive values and zeroes the rest: A = max(Z, 0)")
	add(0, to("pool1", "forward"), "pool1 keeps the largest value of each 2×2 window of relu1.A")
	add(0, to("fc1", "forward"), "conv2, relu2, pool2, flatten, then fc1 scores 10 digits: Z = A_prev·W + b")

	add(1, to("loss", "loss"), "probs = softmax(Z) turns each row of scores into probabilities")
	add(1, "tab", fmt.Sprintf("L = −(1/m) Σᵢ log probs[i, yᵢ], the mean over m = %d digits", batch))

	add(2, to("loss", "backward"), "the loss's gradient at fc1's scores is dZ = (softmax(Z) − Y) / m")
	add(2, "enter", "two terms: probs[i,c]/m minus Y[i,c]/m, where Y is 1 only at the label")

	add(3, to("relu1", "backward"), "ReLU passes the gradient where its input was positive: dZ = dA·1(Z > 0)")
	add(3, "enter", "here Z > 0, so the one term is dA itself: the gradient passes unchanged")
	addMove(3, "esc", maskedByReLU, "here Z ≤ 0: ReLU blocks the dA that pool1 sent back, so dZ = 0")

	addMove(4, to("pool1", "backward")+" esc", routedByMaxPool, "max pool sends each window's dA to the window's maximum in A_prev")
	add(4, "enter", "one term: the whole dA of the window whose maximum this element is")
	addMove(4, "esc", otherInWindow, "the other elements of that window get no term: their dA_prev is 0")

	add(5, to("conv1", "backward")+" tab", "dW[p,q,c',c] = Σᵢₕw A_prev_pad[i, h+p, w+q, c'] · dZ[i,h,w,c]")
	add(5, "enter", "one product per digit and position, largest first, with a running Σ")
	add(5, "j j", "term 3: the tensor view marks its window of A_prev and its dZ element")
	add(5, "j", "the Σ of all terms equals the recorded dW, so the check reads agree ✓")

	add(6, "esc shift+tab", "each dZ[i,h,w,c] adds W[p,q,c',c]·dZ[i,h,w,c] to dA_prev_pad[i, h+p, w+q, c']")
	add(6, "enter", "so a pixel's dA_prev sums W·dZ over every window that covers it")

	add(7, to("conv1", "update"), fmt.Sprintf("SGD: W_new = W − lr·dW and b_new = b − lr·db, with lr = %g", lr))
	add(7, "enter", "two terms: the old weight and −lr times its gradient. That is the whole step.")
	return steps, err
}

// maskedByReLU picks, in the cursor's sample and channel, the element
// nearest the cursor where the gradient arrives (dA ≠ 0) but ReLU blocks
// it (Z ≤ 0).
func maskedByReLU(tr *trace.Trace, e *trace.Event, at []int) ([]int, bool) {
	z, dA, ok := eventData(tr, e, "Z", "dA")
	if !ok || len(at) != 4 {
		return nil, false
	}
	shape := tr.In(e, "dA").Shape
	return nearestInSlice(shape, at, func(offset int) bool { return z[offset] <= 0 && dA[offset] != 0 })
}

// routedByMaxPool picks, in the cursor's sample and channel, the element
// nearest the cursor that is the only maximum of its pooling window and
// receives a nonzero gradient.
func routedByMaxPool(tr *trace.Trace, e *trace.Event, at []int) ([]int, bool) {
	aPrev, dA, ok := eventData(tr, e, "A_prev", "dA")
	f, errF := e.Int("f")
	stride, errS := e.Int("stride")
	if !ok || errF != nil || errS != nil || len(at) != 4 {
		return nil, false
	}
	shape, outShape := tr.In(e, "A_prev").Shape, tr.In(e, "dA").Shape
	return nearestInSlice(shape, at, func(offset int) bool {
		r, c := offset/shape[3]/shape[2]%shape[1], offset/shape[3]%shape[2]
		for h := 0; h < outShape[1]; h++ {
			for w := 0; w < outShape[2]; w++ {
				if r < h*stride || r >= h*stride+f || c < w*stride || c >= w*stride+f {
					continue
				}
				if dA[nhwcOffset(outShape, at[0], h, w, at[3])] != 0 && uniqueMax(aPrev, shape, at[0], at[3], h*stride, w*stride, f, r, c) {
					return true
				}
			}
		}
		return false
	})
}

// uniqueMax reports whether (r, c) holds the only maximum of the f×f
// window at (top, left) of sample i, channel ch.
func uniqueMax(data []float64, shape []int, i, ch, top, left, f, r, c int) bool {
	v := data[nhwcOffset(shape, i, r, c, ch)]
	for y := top; y < top+f && y < shape[1]; y++ {
		for x := left; x < left+f && x < shape[2]; x++ {
			if (y != r || x != c) && data[nhwcOffset(shape, i, y, x, ch)] >= v {
				return false
			}
		}
	}
	return true
}

// otherInWindow picks the first element, in row-major order, of the
// cursor's pooling window other than the cursor's.
func otherInWindow(tr *trace.Trace, e *trace.Event, at []int) ([]int, bool) {
	f, errF := e.Int("f")
	stride, errS := e.Int("stride")
	if errF != nil || errS != nil || len(at) != 4 || stride <= 0 {
		return nil, false
	}
	top, left := at[1]/stride*stride, at[2]/stride*stride
	shape := tr.In(e, "A_prev").Shape
	for y := top; y < top+f && y < shape[1]; y++ {
		for x := left; x < left+f && x < shape[2]; x++ {
			if y != at[1] || x != at[2] {
				return []int{at[0], y, x, at[3]}, true
			}
		}
	}
	return nil, false
}

// eventData reads two input tensors of e, named by role.
func eventData(tr *trace.Trace, e *trace.Event, roleA, roleB string) (a, b []float64, ok bool) {
	ta, tb := tr.In(e, roleA), tr.In(e, roleB)
	if ta == nil || tb == nil || len(ta.Shape) != 4 {
		return nil, nil, false
	}
	var errA, errB error
	a, errA = tr.Data(ta.ID)
	b, errB = tr.Data(tb.ID)
	return a, b, errA == nil && errB == nil
}

// nearestInSlice returns the element of the 2-D slice (sample at[0],
// channel at[3]) of an NHWC tensor nearest at, by rows plus columns, for
// which fits(offset) holds. Ties go to the first in row-major order.
func nearestInSlice(shape, at []int, fits func(offset int) bool) ([]int, bool) {
	best, bestDistance := []int(nil), -1
	for r := 0; r < shape[1]; r++ {
		for c := 0; c < shape[2]; c++ {
			if !fits(nhwcOffset(shape, at[0], r, c, at[3])) {
				continue
			}
			d := abs(r-at[1]) + abs(c-at[2])
			if bestDistance < 0 || d < bestDistance {
				best, bestDistance = []int{at[0], r, c, at[3]}, d
			}
		}
	}
	return best, best != nil
}

func nhwcOffset(shape []int, i, r, c, ch int) int {
	return ((i*shape[1]+r)*shape[2]+c)*shape[3] + ch
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// cursorKeys returns the arrow keys that move the tensor view's cursor
// from row and column at[1], at[2] to to[1], to[2].
func cursorKeys(at, to []int) []tea.KeyPressMsg {
	var keys []tea.KeyPressMsg
	repeat := func(n int, less, more rune) {
		code := more
		if n < 0 {
			code, n = less, -n
		}
		for range n {
			keys = append(keys, tea.KeyPressMsg{Code: code})
		}
	}
	repeat(to[1]-at[1], tea.KeyUp, tea.KeyDown)
	repeat(to[2]-at[2], tea.KeyLeft, tea.KeyRight)
	return keys
}

// learningRate returns the lr of the first update event.
func learningRate(tr *trace.Trace) float64 {
	for _, e := range tr.Events {
		if e.Phase == trace.Update {
			if lr, err := e.Float("lr"); err == nil {
				return lr
			}
		}
	}
	return 0
}

// tour is the root model of the narrated walkthrough. It drives a real
// debugger screen with the key presses a user would type, and shows one
// line of narration in the footer. Each step stays on screen for the pace
// once its explanation has arrived. Any key pauses the tour; while paused
// the keys work as in the debugger, space resumes and q quits.
type tour struct {
	tr     *trace.Trace
	opts   Options
	screen Model
	steps  []tourStep
	pace   time.Duration

	width, height int
	started       bool
	current       int
	// dwelling is true while the timer of the current step runs; timer
	// numbers the timers so that one from before a pause is ignored.
	dwelling bool
	timer    int
	paused   bool
	// explored is true when keys typed during a pause changed the screen.
	explored bool
	// pressed are the keys the tour has sent to the screen so far, in
	// order.
	pressed []tea.KeyPressMsg
	// wait returns a command that sends msg after d; tests replace it.
	wait func(d time.Duration, msg tea.Msg) tea.Cmd
	// idleFrame is the last frame drawn while the screen was idle, shared
	// by every copy of the tour.
	idleFrame *tea.View
}

// tourTickMsg ends the dwell of a tour step.
type tourTickMsg struct{ timer int }

func newTour(tr *trace.Trace, opts Options) (tour, error) {
	steps, err := tourScript(tr)
	if err != nil {
		return tour{}, err
	}
	pace := time.Duration(0)
	if opts.Tour != nil {
		pace = opts.Tour.Pace
	}
	return tour{tr: tr, opts: opts, screen: New(tr, opts), steps: steps, pace: max(pace, tourFrameDwell), wait: after, idleFrame: new(tea.View)}, nil
}

func (t tour) Init() tea.Cmd { return t.screen.Init() }

func (t tour) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		t.width, t.height = msg.Width, msg.Height
		cmd := t.forward(msg)
		if t.started {
			return t, cmd
		}
		t.started = true
		return t, tea.Batch(cmd, t.show())
	case tea.KeyPressMsg:
		return t.handleKey(msg)
	case tourTickMsg:
		if msg.timer != t.timer || !t.dwelling || t.paused {
			return t, nil
		}
		t.dwelling = false
		if t.current+1 == len(t.steps) {
			return t, tea.Quit
		}
		t.current++
		return t, t.show()
	}
	cmd := t.forward(msg)
	return t, tea.Batch(cmd, t.startDwell())
}

// forward passes msg to the screen.
func (t *tour) forward(msg tea.Msg) tea.Cmd {
	model, cmd := t.screen.Update(msg)
	t.screen = model.(Model)
	return cmd
}

// show presses the keys of the current step, moves the cursor to the
// step's target element and sets the narration.
func (t *tour) show() tea.Cmd {
	step := t.steps[t.current]
	var cmds []tea.Cmd
	for _, s := range step.keys.Steps {
		cmds = append(cmds, t.press(s.Key))
	}
	if step.target != nil {
		at := t.screen.tensors.Index()
		e := &t.tr.Events[t.screen.timeline.current]
		if to, ok := step.target(t.tr, e, at); ok {
			for _, k := range cursorKeys(at, to) {
				cmds = append(cmds, t.press(k))
			}
		}
	}
	t.narrate()
	cmds = append(cmds, t.startDwell())
	return tea.Batch(cmds...)
}

// press sends a key of the tour to the screen and keeps it, so resume
// can rebuild the screen.
func (t *tour) press(k tea.KeyPressMsg) tea.Cmd {
	t.pressed = append(t.pressed, k)
	return t.forward(k)
}

// narrate sets the footer to the current step's narration, or to the
// pause notice.
func (t *tour) narrate() {
	step := t.steps[t.current]
	label := fmt.Sprintf("%d/%d %s:", step.stage+1, tourStageCount, step.name)
	text := " " + step.text
	if t.paused {
		label = fmt.Sprintf("paused at %d/%d %s:", step.stage+1, tourStageCount, step.name)
		text = " the keys work as in the debugger · space resumes the tour · q quits"
	}
	t.screen.narration, t.screen.stageLabelEnd = label+text, len(label)
	t.screen.opts.Title = "tour"
}

// startDwell starts the current step's timer once the screen is idle.
func (t *tour) startDwell() tea.Cmd {
	if !t.started || t.paused || t.dwelling || !t.screen.idle() {
		return nil
	}
	t.dwelling = true
	t.timer++
	return t.wait(t.pace, tourTickMsg{timer: t.timer})
}

func (t tour) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	quit := t.screen.keys.Global.Quit
	switch {
	case t.screen.prompt == 0 && key.Matches(msg, quit):
		return t, tea.Quit
	case !t.paused:
		t.paused, t.dwelling = true, false
		t.narrate()
		return t, nil
	case t.screen.prompt == 0 && msg.String() == "space":
		return t.resume()
	}
	t.explored = true
	cmd := t.forward(msg)
	if t.screen.status != "" {
		t.screen.narration = ""
	} else {
		t.narrate()
	}
	return t, cmd
}

// resume continues the tour from the current step. If keys changed the
// screen during the pause, it first rebuilds the screen the tour had by
// pressing the keys of every step so far on a new one.
func (t tour) resume() (tea.Model, tea.Cmd) {
	t.paused = false
	var cmds []tea.Cmd
	if t.explored {
		t.explored = false
		cache := t.screen.cache
		t.screen = New(t.tr, t.opts)
		t.screen.cache = cache
		cmds = append(cmds, t.screen.Init(), t.forward(tea.WindowSizeMsg{Width: t.width, Height: t.height}))
		for _, k := range t.pressed {
			cmds = append(cmds, t.forward(k))
		}
	}
	t.narrate()
	cmds = append(cmds, t.startDwell())
	return t, tea.Batch(cmds...)
}

// View draws the screen and names the stage in the window title. While
// the tour runs, a step appears once its explanation is ready: see
// holdFrame.
func (t tour) View() tea.View {
	v := t.screen.View()
	if t.started {
		step := t.steps[t.current]
		v.WindowTitle = fmt.Sprintf("cnndbg tour %d/%d %s", step.stage+1, tourStageCount, step.name)
	}
	return holdFrame(v, !t.paused && !t.screen.idle(), t.idleFrame)
}

func (t tour) idle() bool { return t.screen.idle() }

// rootModel returns the model Run shows: the debugger screen or, with
// opts.Tour, the tour, wrapped in a key replayer when opts.Keys is set.
func rootModel(tr *trace.Trace, opts Options) (tea.Model, error) {
	var model tea.Model = New(tr, opts)
	if opts.Tour != nil {
		t, err := newTour(tr, opts)
		if err != nil {
			return nil, err
		}
		model = t
	}
	if opts.Keys != nil {
		model = newReplayer(model, *opts.Keys, opts.KeyDelay, opts.ExitAfterKeys)
	}
	if !opts.AltScreen {
		model = frameKeeper{inner: model, last: new(string)}
	}
	return model, nil
}

// TourNarration returns the tour's narration of tr, one line per step as
// the footer shows it, for terminals that cannot draw the screen.
func TourNarration(tr *trace.Trace) ([]string, error) {
	steps, err := tourScript(tr)
	if err != nil {
		return nil, err
	}
	lines := make([]string, len(steps))
	for k, step := range steps {
		lines[k] = fmt.Sprintf("%d/%d %s: %s", step.stage+1, tourStageCount, step.name, step.text)
	}
	return lines, nil
}
