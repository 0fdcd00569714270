package net

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/trace"
)

// fiveSteps records five SGD steps of the tiny network. With blowUp the
// inputs are scaled by 1e200, so step 1 overflows and NaN follows.
func fiveSteps(t *testing.T, blowUp bool) *trace.Trace {
	t.Helper()
	n, x, _ := tinyNetwork(t)
	if blowUp {
		for k := range x.Data {
			x.Data[k] *= 1e200
		}
	}
	rec := trace.NewRecorder(n.Spec.JSON())
	n.RunSteps(x, []int{0, 1}, 0.5, 5, rec)
	return rec.Trace()
}

// allHits follows Next from the start to the end (or the end to the start)
// and returns every event it stops at.
func allHits(tr *trace.Trace, bps []Breakpoint, backward bool) []int {
	var hits []int
	from := -1
	if backward {
		from = len(tr.Events)
	}
	for {
		hit, _, ok := Next(tr, from, bps, backward)
		if !ok {
			return hits
		}
		hits = append(hits, hit)
		from = hit
	}
}

// eventsWhere lists, in execution order, the events for which keep is true.
func eventsWhere(tr *trace.Trace, keep func(e *trace.Event) bool) []int {
	var ids []int
	for i := range tr.Events {
		if keep(&tr.Events[i]) {
			ids = append(ids, i)
		}
	}
	return ids
}

func reversed(s []int) []int {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func checkHits(t *testing.T, tr *trace.Trace, text string, want []int) {
	t.Helper()
	b, err := ParseBreakpoint(text)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(tr); err != nil {
		t.Fatalf("Check(%q): %v", text, err)
	}
	if len(want) == 0 {
		t.Fatalf("%q: the expected hit list is empty; the test setup is wrong", text)
	}
	if got := allHits(tr, []Breakpoint{b}, false); !slices.Equal(got, want) {
		t.Errorf("%q forward stops at %v, want %v", text, got, want)
	}
	if got := allHits(tr, []Breakpoint{b}, true); !slices.Equal(got, reversed(want)) {
		t.Errorf("%q backward stops at %v, want %v", text, got, reversed(want))
	}
}

func TestBreakpointsEventAndLayer(t *testing.T) {
	tr := fiveSteps(t, false)
	checkHits(t, tr, "event 17", []int{17})
	checkHits(t, tr, "layer fc1", eventsWhere(tr, func(e *trace.Event) bool { return e.Layer == "fc1" }))
}

func TestBreakpointsMaxAbs(t *testing.T) {
	tr := fiveSteps(t, false)
	var maxima []float64
	for k := range tr.Steps() {
		maxima = append(maxima, tr.Tensor(trace.StepName(k, "conv1.dW")).Stats.MaxAbs)
	}
	threshold := slices.Sorted(slices.Values(maxima))[2]
	want := eventsWhere(tr, func(e *trace.Event) bool {
		id := e.Output("dW")
		return e.Layer == "conv1" && id >= 0 && tr.Tensors[id].Stats.MaxAbs > threshold
	})
	checkHits(t, tr, "maxabs conv1.dW > "+strconv.FormatFloat(threshold, 'g', -1, 64), want)

	step3 := eventsWhere(tr, func(e *trace.Event) bool { return e.Step == 3 && e.Layer == "conv1" && e.Phase == trace.Backward })
	checkHits(t, tr, "maxabs s3/conv1.dW > 0", step3)
}

func TestBreakpointsNonFinite(t *testing.T) {
	tr := fiveSteps(t, true)
	want := eventsWhere(tr, func(e *trace.Event) bool { return tr.HasNonFiniteOutput(e) })
	if want[0] != tr.FirstNonFiniteEvent(0) || tr.Events[want[0]].Step != 1 {
		t.Fatalf("first non-finite event %d is not in step 1", want[0])
	}
	checkHits(t, tr, "nonfinite", want)

	_, why, _ := Next(tr, -1, []Breakpoint{{Kind: BreakOnNonFinite}}, false)
	if !strings.HasPrefix(why, "nonfinite: s1/conv1.Z has ") {
		t.Errorf("why = %q, want it to name s1/conv1.Z", why)
	}
}

func TestBreakpointsGradCheck(t *testing.T) {
	tr := fiveSteps(t, false)
	b, err := ParseBreakpoint("gradcheck > 1e-3")
	if err != nil {
		t.Fatal(err)
	}
	if hit, why, ok := Next(tr, -1, []Breakpoint{b}, false); ok {
		t.Fatalf("gradcheck stops at event %d of a correct trace: %s", hit, why)
	}

	// Corrupt the largest element of step 2's recorded conv1.dW, as a wrong
	// backward pass would. gradcheck must stop at the backward event that
	// wrote it and at the update that applied it, and nowhere else.
	dW := tr.Tensor("s2/conv1.dW")
	data, _ := tr.Data(dW.ID)
	top := 0
	for k, v := range data {
		if math.Abs(v) > math.Abs(data[top]) {
			top = k
		}
	}
	data[top] *= 1.5
	want := slices.Clone(dW.Consumers)
	want = append([]int{dW.Producer}, want...)
	b, _ = ParseBreakpoint("gradcheck > 1e-3")
	if got := allHits(tr, []Breakpoint{b}, false); !slices.Equal(got, want) {
		t.Errorf("gradcheck forward stops at %v, want %v", got, want)
	}
	if got := allHits(tr, []Breakpoint{b}, true); !slices.Equal(got, reversed(want)) {
		t.Errorf("gradcheck backward stops at %v, want %v", got, reversed(want))
	}
	_, why, _ := Next(tr, -1, []Breakpoint{b}, false)
	if !strings.Contains(why, "s2/conv1.dW"+indexText(trace.Unravel(dW.Shape, top))) || !strings.Contains(why, "relative error") {
		t.Errorf("why = %q, want the corrupted element and its relative error", why)
	}
}

func TestBreakpointsCombined(t *testing.T) {
	tr := fiveSteps(t, true)
	bps := []Breakpoint{{Kind: BreakAtEvent, Event: 2}, {Kind: BreakOnNonFinite}}
	first := tr.FirstNonFiniteEvent(0)
	if hit, _, _ := Next(tr, -1, bps, false); hit != 2 {
		t.Errorf("first stop is %d, want event 2", hit)
	}
	if hit, why, _ := Next(tr, 2, bps, false); hit != first || !strings.HasPrefix(why, "nonfinite") {
		t.Errorf("second stop is %d (%s), want the first non-finite event %d", hit, why, first)
	}
	if hit, _, ok := Next(tr, 2, bps, true); ok {
		t.Errorf("backward from event 2 stops at %d, want no stop", hit)
	}
}

func TestParseBreakpoint(t *testing.T) {
	for _, c := range []struct {
		text string
		want Breakpoint
	}{
		{"event 17", Breakpoint{Kind: BreakAtEvent, Event: 17}},
		{"  layer   conv1 ", Breakpoint{Kind: BreakAtLayer, Layer: "conv1"}},
		{"nonfinite", Breakpoint{Kind: BreakOnNonFinite}},
		{"maxabs conv1.dW > 10", Breakpoint{Kind: BreakOnMaxAbs, Tensor: "conv1.dW", Threshold: 10}},
		{"maxabs > 1e6", Breakpoint{Kind: BreakOnMaxAbs, Threshold: 1e6}},
		{"gradcheck > 1e-3", Breakpoint{Kind: BreakOnGradCheck, Threshold: 1e-3}},
	} {
		got, err := ParseBreakpoint(c.text)
		if err != nil {
			t.Errorf("ParseBreakpoint(%q): %v", c.text, err)
			continue
		}
		got.cache = nil
		if got != c.want {
			t.Errorf("ParseBreakpoint(%q) = %+v, want %+v", c.text, got, c.want)
		}
		again, err := ParseBreakpoint(got.String())
		if again.cache = nil; err != nil || again != got {
			t.Errorf("String %q does not parse back: %+v, %v", got.String(), again, err)
		}
	}
}

func TestParseBreakpointErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"", "it is empty"},
		{"event", "event takes one event index"},
		{"event -3", `event index "-3" is not an integer ≥ 0`},
		{"layer", "layer takes one layer name"},
		{"nonfinite now", "nonfinite takes no arguments"},
		{"maxabs conv1.dW 10", `needs "> X"`},
		{"maxabs conv1.dW > big", `threshold "big" is not a finite number`},
		{"gradcheck > -1", `threshold "-1"`},
		{"watch conv1", `unknown kind "watch"`},
	} {
		_, err := ParseBreakpoint(c.text)
		if err == nil {
			t.Errorf("ParseBreakpoint(%q) accepted it", c.text)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, `"gradcheck > X"`) || strings.Contains(msg, "\n") {
			t.Errorf("ParseBreakpoint(%q) error %q: want one line with %q and the forms", c.text, msg, c.want)
		}
	}
}

func TestBreakpointCheck(t *testing.T) {
	tr := fiveSteps(t, false)
	for _, c := range []struct{ text, want string }{
		{"event 9999", "the trace has events 0.."},
		{"layer conv9", `no layer "conv9"; its layers are conv1, relu1, flatten, fc1, loss`},
		{"maxabs conv1.dV > 1", `no tensor "conv1.dV"`},
	} {
		b, err := ParseBreakpoint(c.text)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Check(tr); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%q) = %v, want an error with %q", c.text, err, c.want)
		}
	}
}
