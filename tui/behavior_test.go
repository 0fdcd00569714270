package tui

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

func TestConvDWTermsAgree(t *testing.T) {
	tr := example(t)
	d := newDriver(t, tr, Options{}, 100, 30)
	d.press(":17", "enter", "tab", "enter", "j", "j")

	if got := d.m.inspector.tensor; tr.Tensors[got].Name != "conv1.dW" {
		t.Fatalf("inspector shows %s, want conv1.dW", tr.Tensors[got].Name)
	}
	x, err := net.Explain(tr, d.m.inspector.tensor, d.m.inspector.index)
	if err != nil {
		t.Fatal(err)
	}
	d.requireContains(
		"Σ terms  = "+formatValue(x.Sum),
		"recorded = "+formatValue(x.Recorded),
		"agree ✓",
		"term 3 of",
	)
	if !x.Agrees() {
		t.Errorf("conv1.dW%v: sum %v and recorded %v differ", d.m.inspector.index, x.Sum, x.Recorded)
	}
}

func TestUpFollowsTermThenProvenance(t *testing.T) {
	tr := example(t)
	d := newDriver(t, tr, Options{}, 100, 30)
	d.press(":17", "enter", "tab", "enter", "j", "j")
	term, _, ok := d.m.inspector.SelectedTerm()
	if !ok {
		t.Fatal("no term selected after enter j j")
	}
	dZ := term.Operands[1]

	d.press("u")
	if got := d.m.timeline.current; got != 16 {
		t.Fatalf("first u went to event %d, want 16 (relu1 backward)", got)
	}
	if got := indexString(d.m.inspector.index); got != indexString(dZ.Index) {
		t.Errorf("first u selected %s, want the term's dZ cell %s", got, indexString(dZ.Index))
	}
	d.requireContains("relu1.dZ" + indexString(dZ.Index))

	d.press("u")
	if got := d.m.timeline.current; got != 15 {
		t.Fatalf("second u went to event %d, want 15 (pool1 backward)", got)
	}
	d.requireContains("pool1.dA_prev" + indexString(dZ.Index))
}

func TestUpWaitsForExplanation(t *testing.T) {
	tr := example(t)
	m := New(tr, Options{})
	model, _ := m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m = model.(Model)

	// Hold back every command, as if the explanations were still running,
	// and type ahead: enter, two terms down, u twice.
	var cmds []tea.Cmd
	for _, msg := range []tea.Msg{
		tea.KeyPressMsg{Code: ':', Text: ":"}, tea.KeyPressMsg{Code: '1', Text: "1"}, tea.KeyPressMsg{Code: '7', Text: "7"},
		tea.KeyPressMsg{Code: tea.KeyEnter}, tea.KeyPressMsg{Code: tea.KeyTab}, tea.KeyPressMsg{Code: tea.KeyEnter},
		tea.KeyPressMsg{Code: 'j', Text: "j"}, tea.KeyPressMsg{Code: 'j', Text: "j"},
		tea.KeyPressMsg{Code: 'u', Text: "u"}, tea.KeyPressMsg{Code: 'u', Text: "u"},
	} {
		var cmd tea.Cmd
		model, cmd = m.Update(msg)
		m = model.(Model)
		if cmd != nil {
			cmds = append(cmds, cmd)
		}
	}
	if !strings.Contains(m.View().Content, "computing…") {
		t.Errorf("screen does not say computing… while the explanation runs")
	}
	if len(cmds) == 0 {
		t.Fatal("no explanation was started")
	}

	d := driverFor(t, m)
	for _, cmd := range cmds {
		d.run(cmd)
	}
	if got := d.m.timeline.current; got != 15 {
		t.Errorf("typed-ahead u u went to event %d, want 15", got)
	}
}

func TestSearchAndJump(t *testing.T) {
	tr := example(t)
	d := newDriver(t, tr, Options{}, 100, 30)
	d.press("/", "pool2", "enter")
	if got := d.m.timeline.current; got != 5 {
		t.Errorf("/pool2 went to event %d, want 5", got)
	}
	d.press("/", "enter")
	if got := d.m.timeline.current; got != 6 {
		t.Errorf("repeated search went to event %d, want 6 (flatten reads pool2.A)", got)
	}
	d.press(":", "conv1 backward", "enter")
	if got := d.m.timeline.current; got != 17 {
		t.Errorf(":conv1 backward went to event %d, want 17", got)
	}
	d.press(":", "99", "enter")
	d.requireContains("no event 99")
	d.press("G")
	if got := d.m.timeline.current; got != 20 {
		t.Errorf("G went to event %d, want 20", got)
	}
	d.press("g", "n", "n", "p")
	if got := d.m.timeline.current; got != 1 {
		t.Errorf("g n n p went to event %d, want 1", got)
	}
}

func TestUpdateEventShowsBeforeAndAfter(t *testing.T) {
	d := newDriver(t, example(t), Options{}, 160, 50)
	d.press(":18", "enter")
	d.requireContains("conv1.W_new", "before W", "grad   dW", "after  W_new", "agree ✓")
}

func TestHelpListsEveryKey(t *testing.T) {
	d := newDriver(t, example(t), Options{}, 100, 30)
	d.press("?")
	for _, group := range d.m.keys.FullHelp() {
		for _, b := range group {
			d.requireContains(b.Help().Key + " ")
		}
	}
	d.press("?")
	if d.m.showHelp {
		t.Error("? did not close the help")
	}
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		d := newDriver(t, example(t), Options{}, 100, 30)
		d.press(k)
		if !d.quit {
			t.Errorf("%s did not quit", k)
		}
	}
}

func TestViewSetsAltScreen(t *testing.T) {
	for _, alt := range []bool{false, true} {
		m := New(example(t), Options{AltScreen: alt})
		for _, size := range [][2]int{{0, 0}, {70, 20}, {80, 24}, {100, 30}} {
			model, _ := m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			if got := model.View().AltScreen; got != alt {
				t.Errorf("AltScreen at %v = %v, want %v", size, got, alt)
			}
		}
		model, _ := m.Update(tea.KeyPressMsg{Code: '?', Text: "?"})
		if got := model.View().AltScreen; got != alt {
			t.Errorf("AltScreen in help = %v, want %v", got, alt)
		}
	}
}

var (
	smallOnce  sync.Once
	smallTrace *trace.Trace
)

// small returns the built-in example's step on 4 digits: the same events,
// with explanations a sixteenth the size.
func small(t testing.TB) *trace.Trace {
	t.Helper()
	smallOnce.Do(func() {
		n := net.ExampleNetwork()
		x, labels, err := net.ExampleBatch(4)
		if err != nil {
			panic(err)
		}
		rec := trace.NewRecorder(n.Spec.JSON())
		n.Step(x, labels, net.ExampleLR, rec)
		smallTrace = rec.Trace()
	})
	return smallTrace
}

func TestRandomKeysNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var keys []tea.KeyPressMsg
	for _, msg := range namedKeys {
		keys = append(keys, msg)
	}
	for _, r := range "npgGjkhl[]{}wWu?/:q0123 abcx" {
		keys = append(keys, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	keys = append(keys, tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift})

	for run := 0; run < 4; run++ {
		d := newDriver(t, small(t), Options{NoColor: run%2 == 1}, 100, 30)
		width, height := 100, 30
		for step := 0; step < 150; step++ {
			switch n := rng.IntN(20); {
			case n == 0:
				width, height = rng.IntN(200), rng.IntN(70)
				d.send(tea.WindowSizeMsg{Width: width, Height: height})
			case n == 1:
				d.send(tea.MouseClickMsg{X: rng.IntN(width + 1), Y: rng.IntN(height + 1), Button: tea.MouseLeft})
			case n == 2:
				button := tea.MouseWheelUp
				if rng.IntN(2) == 0 {
					button = tea.MouseWheelDown
				}
				d.send(tea.MouseWheelMsg{X: rng.IntN(width + 1), Y: rng.IntN(height + 1), Button: button})
			default:
				k := keys[rng.IntN(len(keys))]
				if k.String() == "q" || k.String() == "ctrl+c" {
					continue
				}
				d.send(k)
			}
			content := d.m.View().Content
			if width > 0 && height > 0 {
				requireFrame(t, content, width, height)
			}
		}
	}
}

func TestProgramStepsAndQuits(t *testing.T) {
	tm := teatest.NewTestModel(t, New(example(t), Options{Title: "teatest"}), teatest.WithInitialTermSize(100, 30))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("teatest"))
	}, teatest.WithDuration(10*time.Second))
	tm.Type("nn")
	tm.Type("q")
	final := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(Model)
	content := final.View().Content
	for _, want := range []string{"event 2/20 pool1 maxpool forward", "pool1.A"} {
		if !strings.Contains(content, want) {
			t.Errorf("final screen lacks %q:\n%s", want, content)
		}
	}
}

func TestSummary(t *testing.T) {
	var b strings.Builder
	if err := Summary(&b, example(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"model  conv1 conv → relu1 relu → pool1 maxpool",
		"batch  64",
		"loss   0.015481077134152733",
		"right  63 of 64 samples",
		"wrong  sample 62: label 9 (p 0.460), predicted 5 (p 0.505)",
		"events 21",
		" 17 backward conv1    conv",
		"conv1.dW (5,5,1,6) max|x| 0.00907285",
		"non-finite values: none",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines != 6+21+1 {
		t.Errorf("summary has %d lines, want 28:\n%s", lines, out)
	}
}

// specialTrace records one ReLU forward event over values that include NaN
// and both infinities.
func specialTrace() *trace.Trace {
	rec := trace.NewRecorder([]byte(`{"layers": [{"name": "relu1", "type": "relu"}]}`))
	z := []float64{1, math.NaN(), -2, math.Inf(1), 0.5, math.Inf(-1), 3, 0, -1}
	a := make([]float64, len(z))
	for i, v := range z {
		a[i] = math.Max(v, 0)
		if math.IsNaN(v) {
			a[i] = v
		}
	}
	id := rec.Input("input.Z", []int{1, 3, 3, 1}, z)
	b := rec.Begin("relu1", "relu", trace.Forward)
	b.Read("Z", id)
	b.Write("A", "", []int{1, 3, 3, 1}, a)
	b.Done()
	return rec.Trace()
}

func TestNonFiniteGlyphs(t *testing.T) {
	for _, noColor := range []bool{false, true} {
		d := newDriver(t, specialTrace(), Options{NoColor: noColor}, 100, 30)
		d.requireContains("relu1.A", "N NaN  ▲ +Inf  ▼ −Inf", "▲")
		requireFrame(t, d.m.View().Content, 100, 30)
		d.press("tab")
		d.requireContains("relu1.Z", "N NaN  ▲ +Inf  ▼ −Inf", "▲", "▼")
		requireFrame(t, d.m.View().Content, 100, 30)
	}
}

func TestEmptyTrace(t *testing.T) {
	tr := trace.NewRecorder(nil).Trace()
	d := newDriver(t, tr, Options{}, 100, 30)
	d.press("n", "tab", "u", "enter", "j", "esc", "w", "?", "?", ":", "3", "enter", "/", "x", "enter")
	d.requireContains("the trace has no events")
	requireFrame(t, d.m.View().Content, 100, 30)
	var b strings.Builder
	if err := Summary(&b, tr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "events 0") {
		t.Errorf("summary of an empty trace:\n%s", b.String())
	}
}
