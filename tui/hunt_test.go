package tui

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// huntSizes are the window sizes of the hunting goldens: the smallest
// three-pane layout and the smallest full layout.
var huntSizes = [][2]int{{100, 30}, {80, 24}}

var (
	huntOnce      sync.Once
	blownUpTrace  *trace.Trace
	multiTrace    *trace.Trace
	otherLRTrace  *trace.Trace
	huntTraceErr  error
	huntBatchSize = 4
)

// huntTraces records, once per test binary, the traces the hunting tests
// read: a step whose batch is scaled by 1e200 with one weight raised to
// 1e200, so conv1.Z overflows; three steps of the small batch; and the
// small batch's step with learning rate 0.2 in place of 0.1.
func huntTraces(t testing.TB) (blownUp, multi, otherLR *trace.Trace) {
	t.Helper()
	huntOnce.Do(func() {
		x, labels, err := net.ExampleBatch(huntBatchSize)
		if err != nil {
			huntTraceErr = err
			return
		}

		n := net.ExampleNetwork()
		big := net.FromData(append([]float64(nil), x.Data...), x.Shape...)
		for k := range big.Data {
			big.Data[k] *= 1e200
		}
		w := n.Layer("conv1").(net.Parametric).Params()[0].Value
		w.Data[0] = 1e200
		rec := trace.NewRecorder(n.Spec.JSON())
		n.Step(big, labels, net.ExampleLR, rec)
		blownUpTrace = rec.Trace()

		n = net.ExampleNetwork()
		rec = trace.NewRecorder(n.Spec.JSON())
		n.RunSteps(x, labels, net.ExampleLR, 3, rec)
		multiTrace = rec.Trace()

		n = net.ExampleNetwork()
		rec = trace.NewRecorder(n.Spec.JSON())
		n.Step(x, labels, 0.2, rec)
		otherLRTrace = rec.Trace()
	})
	if huntTraceErr != nil {
		t.Fatal(huntTraceErr)
	}
	return blownUpTrace, multiTrace, otherLRTrace
}

// huntGoldenCase is a key sequence on a trace and what the screen must
// show after it at every size of huntSizes.
type huntGoldenCase struct {
	name string
	tr   func(t testing.TB) *trace.Trace
	opts func(t testing.TB) Options
	keys []string
	want []string
}

func smallDiffOptions(t testing.TB) Options {
	_, _, otherLR := huntTraces(t)
	d, err := net.DiffTraces(small(t), otherLR, net.DefaultDiffTolerance)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Title: "diff", Diff: &DiffOptions{B: otherLR, NameA: "a.cnndbg", NameB: "b.cnndbg", Result: d, Tol: net.DefaultDiffTolerance}}
}

var huntGoldenCases = []huntGoldenCase{
	{
		// conv1 forward, the W tab, numeric check of the element under the
		// cursor.
		name: "numeric_check_conv1_W",
		tr:   small,
		keys: []string{"tab", "tab", "N"},
		want: []string{"numeric check of conv1.W[", "eps 1e-06", "analytic", "central", "rel err", "pass ✓", "conv1.W: 8 of 150"},
	},
	{
		name: "first_nonfinite",
		tr:   func(t testing.TB) *trace.Trace { b, _, _ := huntTraces(t); return b },
		keys: []string{"G", "!"},
		want: []string{"! → conv1.Z[", "first non-finite value of", "overflows", "event 0/20 conv1 conv forward"},
	},
	{
		// Three steps: the plot above the list and a header per step, at
		// the first event of step 1.
		name: "multi_step_timeline",
		tr:   func(t testing.TB) *trace.Trace { _, m, _ := huntTraces(t); return m },
		keys: []string{"s", "1", "enter", "W"},
		want: []string{"loss", "conv1 ‖∇‖", "── step 1 · loss", "event 21/62 conv1 conv forward"},
	},
	{
		// Breakpoints at events 5 and 12; c from the start stops at 5.
		name: "breakpoint_continue",
		tr:   small,
		keys: []string{":5", "enter", "b", ":12", "enter", "b", "g", "c"},
		want: []string{"stopped at 5: ", "event 5/20"},
	},
	{
		// From the last event, C goes back to 12.
		name: "breakpoint_continue_back",
		tr:   small,
		keys: []string{":5", "enter", "b", ":12", "enter", "b", "G", "C"},
		want: []string{"stopped at 12: ", "event 12/20"},
	},
	{
		name: "diff_view",
		tr:   small,
		opts: smallDiffOptions,
		want: []string{"first difference: ", "diff A against B", "B − A"},
	},
}

func TestHuntGolden(t *testing.T) {
	for _, c := range huntGoldenCases {
		for _, size := range huntSizes {
			t.Run(fmt.Sprintf("%s/%dx%d", c.name, size[0], size[1]), func(t *testing.T) {
				opts := Options{Title: "hunt"}
				if c.opts != nil {
					opts = c.opts(t)
				}
				d := newDriver(t, c.tr(t), opts, size[0], size[1])
				d.press(c.keys...)
				d.requireContains(c.want...)
				requireFrame(t, d.m.View().Content, size[0], size[1])
				golden.RequireEqual(t, d.m.View().Content)
			})
		}
	}
}

func TestCheckOnActivationSaysWhatToChoose(t *testing.T) {
	d := newDriver(t, small(t), Options{}, 100, 30)
	d.press("N")
	d.requireContains("N checks a parameter's gradient")
	if d.m.hunt.check.shown != nil {
		t.Error("N on conv1.Z started a check")
	}
}

func TestCheckEpsCyclesAndStops(t *testing.T) {
	d := newDriver(t, small(t), Options{}, 100, 30)
	d.press("tab", "tab", "N", "+")
	d.requireContains("eps 1e-05")
	d.press("+")
	d.requireContains("eps 1e-04")
	d.press("+")
	d.requireContains("eps stays 1e-04")
	d.press("-", "-", "-", "-")
	d.requireContains("eps 1e-08")
	if got := len(d.m.hunt.check.elements); got != 5 {
		t.Errorf("%d element checks cached after five eps values, want 5", got)
	}
}

func TestCheckFollowsGradientToParameter(t *testing.T) {
	// conv1 backward: the dW tab checks conv1.W.
	d := newDriver(t, small(t), Options{}, 100, 30)
	d.press(":17", "enter", "tab", "N")
	d.requireContains("numeric check of conv1.W[", "pass ✓")
}

func TestNonFiniteNoneSaysSo(t *testing.T) {
	d := newDriver(t, small(t), Options{}, 100, 30)
	d.press("!")
	d.requireContains("no NaN or infinity anywhere in the trace")
}

func TestTimelineMarksNonFiniteEvents(t *testing.T) {
	blownUp, _, _ := huntTraces(t)
	d := newDriver(t, blownUp, Options{}, 100, 30)
	if !strings.Contains(d.screen(), "▶! 0 fwd") {
		t.Errorf("the timeline does not mark event 0 with !:\n%s", d.screen())
	}
	d.requireContains("holds ")
}

func TestBreakpointToggleRemoves(t *testing.T) {
	d := newDriver(t, small(t), Options{}, 100, 30)
	d.press("b")
	d.requireContains("breakpoint at event 0 set (1 breakpoint)", "▶● 0 fwd")
	d.press("b")
	d.requireContains("breakpoint at event 0 removed (0 breakpoints)", "▶  0 fwd")
}

func TestConditionalBreakpoint(t *testing.T) {
	d := newDriver(t, small(t), Options{}, 100, 30)
	d.press("B", "maxabs conv1.dW > 1e-6", "enter")
	d.requireContains("breakpoint maxabs conv1.dW > 1e-06 added (1 breakpoint)")
	d.press("c")
	d.requireContains("stopped at 17: ", "event 17/20 conv1 conv backward")
	d.press("c")
	d.requireContains("no breakpoint stops after event 17")
}

func TestConditionalBreakpointRejectsBadText(t *testing.T) {
	d := newDriver(t, small(t), Options{}, 100, 30)
	d.press("B", "maxabs nosuch.dW > 1", "enter")
	footer := d.screen()[strings.LastIndex(d.screen(), "\n")+1:]
	if !strings.Contains(footer, "nosuch.dW") {
		t.Errorf("the status line does not name the bad tensor: %q", footer)
	}
	if len(d.m.hunt.breakpoints) != 0 {
		t.Errorf("a bad breakpoint was added: %v", d.m.hunt.breakpoints)
	}
	d.press("B", "clear", "enter")
	d.requireContains("every breakpoint removed")
}

func TestContinueWithoutBreakpoints(t *testing.T) {
	d := newDriver(t, small(t), Options{}, 100, 30)
	d.press("c")
	d.requireContains("no breakpoints: b sets one")
}

func TestStepKeyOnOneStepTrace(t *testing.T) {
	d := newDriver(t, small(t), Options{}, 100, 30)
	d.press("s")
	if d.m.prompt != 0 {
		t.Error("s opened a prompt on a single-step trace")
	}
	d.requireContains("the trace records one step")
}

func TestStepPromptRejectsUnknownStep(t *testing.T) {
	_, multi, _ := huntTraces(t)
	d := newDriver(t, multi, Options{}, 100, 30)
	d.press("s", "7", "enter")
	d.requireContains(`no step "7": steps are numbered 0 to 2`)
}

func TestGroupedTimelineStepsAndClicks(t *testing.T) {
	_, multi, _ := huntTraces(t)
	d := newDriver(t, multi, Options{}, 100, 30)
	from, _ := multi.StepEvents(1)
	d.press(":"+fmt.Sprint(from-1), "enter", "n")
	if got := d.m.timeline.current; got != from {
		t.Fatalf("n from the last event of step 0 went to %d, want %d", got, from)
	}
	d.requireContains("── step 1 · loss")

	// Every event row maps back to its event; plot and header rows map to none.
	tl := d.m.timeline
	seen := 0
	for y := range tl.height {
		e := tl.EventAt(y)
		if e < 0 {
			continue
		}
		seen++
		if row := tl.lines()[y]; !strings.Contains(row, fmt.Sprintf("%2d ", e)) {
			t.Errorf("line %d %q is not event %d", y, row, e)
		}
	}
	if seen == 0 {
		t.Error("no line of the grouped timeline maps to an event")
	}
	if tl.EventAt(0) != -1 {
		t.Error("the plot's first line maps to an event")
	}
}

func TestDiffKeepsEventOnStep(t *testing.T) {
	d := newDriver(t, small(t), smallDiffOptions(t), 100, 30)
	first := d.m.timeline.current
	d.press("n")
	if d.m.timeline.current != first+1 {
		t.Fatalf("n went from %d to %d", first, d.m.timeline.current)
	}
	d.requireContains("diff A against B", "B − A")
}
