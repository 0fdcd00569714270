package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// heldDriver drives any root model like driver does, but holds the timer
// messages of the tour and the key replayer until the test releases them
// with tick, so a test reads every step without waiting.
type heldDriver struct {
	cmdLoop
	m tea.Model
}

// heldTimer is the wait function of models under a heldDriver: its
// command returns msg at once, and the driver holds it.
func heldTimer(_ time.Duration, msg tea.Msg) tea.Cmd {
	return func() tea.Msg { return msg }
}

func newHeldDriver(t testing.TB, m tea.Model, width, height int) *heldDriver {
	t.Helper()
	d := &heldDriver{m: m}
	d.cmdLoop = cmdLoop{t: t, deliver: d.send, hold: isTimerMsg}
	d.run(m.Init())
	d.send(tea.WindowSizeMsg{Width: width, Height: height})
	return d
}

// isTimerMsg reports whether msg is a tick of the tour or the key replayer.
func isTimerMsg(msg tea.Msg) bool {
	switch msg.(type) {
	case tourTickMsg, replayTickMsg:
		return true
	}
	return false
}

func (d *heldDriver) send(msg tea.Msg) {
	d.t.Helper()
	model, cmd := d.m.Update(msg)
	d.m = model
	d.run(cmd)
}

// tick delivers the timer messages held so far and reports whether there
// were any.
func (d *heldDriver) tick() bool {
	d.t.Helper()
	held := d.held
	d.held = nil
	for _, msg := range held {
		d.send(msg)
	}
	return len(held) > 0
}

func (d *heldDriver) screen() string {
	return ansi.Strip(d.m.View().Content)
}

func newTestTour(t testing.TB, opts Options) tour {
	t.Helper()
	opts.Tour = &TourOptions{}
	tm, err := newTour(example(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	tm.wait = heldTimer
	return tm
}

// runTour drives the tour at width×height to its end and returns the
// screen of every step.
func runTour(t *testing.T, d *heldDriver) []string {
	t.Helper()
	var screens []string
	for !d.quit {
		screens = append(screens, d.screen())
		if len(screens) > 100 || !d.tick() {
			t.Fatalf("the tour did not end: no timer after %d steps", len(screens))
		}
	}
	return screens
}

// footerOf returns the last line of a screen.
func footerOf(screen string) string {
	lines := strings.Split(screen, "\n")
	return strings.TrimRight(lines[len(lines)-1], " ")
}

func TestTourShowsEveryStage(t *testing.T) {
	tm := newTestTour(t, Options{})
	screens := runTour(t, newHeldDriver(t, tm, 100, 30))
	if len(screens) != len(tm.steps) {
		t.Fatalf("the tour showed %d screens, want one per step: %d", len(screens), len(tm.steps))
	}

	stage := 0
	for k, screen := range screens {
		footer := footerOf(screen)
		step := tm.steps[k]
		want := fmt.Sprintf("%d/%d %s: %s", step.stage+1, tourStageCount, step.name, step.text)
		if footer != want {
			t.Errorf("step %d: footer %q, want %q", k, footer, want)
		}
		if step.stage != stage && step.stage != stage+1 {
			t.Errorf("step %d: stage %d follows stage %d", k, step.stage+1, stage+1)
		}
		stage = step.stage
	}
	if stage+1 != len(TourStages()) {
		t.Errorf("the tour ended in stage %d of %d", stage+1, len(TourStages()))
	}
}

func TestTourNarrationFitsWidth(t *testing.T) {
	lines, err := TourNarration(example(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w > 100 {
			t.Errorf("narration is %d cells wide, more than the 100 of a recording: %q", w, l)
		}
	}
}

// tourScreenAt drives a tour to step and returns its driver.
func tourScreenAt(t *testing.T, step int) *heldDriver {
	t.Helper()
	d := newHeldDriver(t, newTestTour(t, Options{}), 100, 30)
	for range step {
		if !d.tick() {
			t.Fatal("the tour stopped early")
		}
	}
	return d
}

// firstStepOf returns the number of the first step of stage, from 0.
func firstStepOf(t *testing.T, stage int) int {
	t.Helper()
	for k, step := range newTestTour(t, Options{}).steps {
		if step.stage == stage {
			return k
		}
	}
	t.Fatalf("the tour has no stage %d", stage+1)
	return -1
}

func TestTourStagesShowTheirElements(t *testing.T) {
	cases := []struct {
		stage, step int
		want        []string
	}{
		{3, 2, []string{"event 16/20 relu1 relu backward", "≤ 0: ReLU", "blocks the gradient", "value    0 "}},
		{4, 0, []string{"event 15/20 pool1 maxpool backward", "routes here: its maximum", "terms 1,"}},
		{4, 2, []string{"event 15/20 pool1 maxpool backward", "value    0 ", "terms 0,"}},
		{5, 2, []string{"terms of conv1.dW", "term 3 of", "agree ✓"}},
		{7, 1, []string{"terms of conv1.W_ne", "W_new = W − lr·dW", "the value before the step"}},
	}
	for _, c := range cases {
		d := tourScreenAt(t, firstStepOf(t, c.stage)+c.step)
		screen := d.screen()
		for _, w := range c.want {
			if !strings.Contains(screen, w) {
				t.Errorf("stage %d step %d: screen lacks %q:\n%s", c.stage+1, c.step, w, screen)
			}
		}
	}
}

func TestTourPauseAndResume(t *testing.T) {
	d := tourScreenAt(t, firstStepOf(t, 2)+1)
	before := d.m.View().Content

	d.send(tea.KeyPressMsg{Code: 'n', Text: "n"})
	paused := d.screen()
	if !strings.HasPrefix(footerOf(paused), "paused at 3/8 where dZ comes from:") {
		t.Errorf("after a key the footer reads %q, want the pause notice", footerOf(paused))
	}
	d.tick()
	if d.screen() != paused {
		t.Errorf("a paused tour still advances to:\n%s", d.screen())
	}
	if !strings.Contains(paused, "event 9/20") {
		t.Error("the key that paused the tour also acted on the screen")
	}

	d.send(tea.KeyPressMsg{Code: 'g', Text: "g"})
	d.send(tea.KeyPressMsg{Code: tea.KeyTab})
	if !strings.Contains(d.screen(), "event 0/20") {
		t.Errorf("keys during a pause do not act on the screen:\n%s", d.screen())
	}

	d.send(tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
	if after := d.m.View().Content; after != before {
		t.Errorf("resume did not restore the tour's screen:\n%s\nwant:\n%s", ansi.Strip(after), ansi.Strip(before))
	}
	if !d.tick() {
		t.Fatal("the resumed tour does not advance")
	}
	if !strings.HasPrefix(footerOf(d.screen()), "4/8 how ReLU masks it:") {
		t.Errorf("after resuming, the next step reads %q", footerOf(d.screen()))
	}
}

func TestTourQuitKey(t *testing.T) {
	d := tourScreenAt(t, 2)
	d.send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	if !d.quit {
		t.Error("q does not quit the tour")
	}
}

func TestTourWindowTitleNamesStage(t *testing.T) {
	d := tourScreenAt(t, 0)
	if got := d.m.View().WindowTitle; got != "cnndbg tour 1/8 the forward pass" {
		t.Errorf("window title %q", got)
	}
}

func TestTourWaitsForExplanation(t *testing.T) {
	tm := newTestTour(t, Options{})
	model, _ := tm.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	tm = model.(tour)
	for tm.current < len(tm.steps) && tm.steps[tm.current].stage != 5 {
		tm.dwelling = true
		model, _ = tm.Update(tourTickMsg{timer: tm.timer})
		tm = model.(tour)
	}
	if tm.screen.idle() {
		t.Fatal("conv1 backward was explained at once; the test needs an explanation still running")
	}
	if tm.dwelling {
		t.Error("the step's timer started before its explanation arrived")
	}
}
