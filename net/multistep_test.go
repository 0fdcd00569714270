package net

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/trace"
)

func TestRunStepsNamesAndLinks(t *testing.T) {
	tr := fiveSteps(t, false)

	if tr.Steps() != 5 {
		t.Fatalf("Steps() = %d, want 5", tr.Steps())
	}
	from, to := tr.StepEvents(2)
	perStep := len(tr.Events) / 5
	if from != 2*perStep || to != 3*perStep {
		t.Errorf("StepEvents(2) = [%d, %d), want [%d, %d)", from, to, 2*perStep, 3*perStep)
	}
	for i, e := range tr.Events {
		if e.Step != i/perStep {
			t.Fatalf("event %d has step %d, want %d", i, e.Step, i/perStep)
		}
	}
	if tr.Tensor("conv1.dW") == nil || tr.Tensor("s4/conv1.dW") == nil || tr.Tensor("s5/conv1.dW") != nil {
		t.Error("want conv1.dW and s4/conv1.dW in a 5-step trace, and no s5/conv1.dW")
	}
	for k := 1; k < 5; k++ {
		w, wNew := tr.Tensor(trace.StepName(k, "conv1.W")), tr.Tensor(trace.StepName(k-1, "conv1.W_new"))
		if w == nil || w != wNew {
			t.Errorf("step %d's conv1.W is not step %d's conv1.W_new", k, k-1)
		}
		if tr.Tensor(trace.StepName(k, "input.X")) != tr.Tensor("input.X") {
			t.Errorf("step %d's input.X is a copy, not the batch of step 0", k)
		}
	}

	id, index, err := Resolve(tr, "s3/conv1.dW[0,1,0,1]")
	if err != nil || tr.Tensors[id].Name != "s3/conv1.dW" || !slices.Equal(index, []int{0, 1, 0, 1}) {
		t.Errorf("Resolve(s3/conv1.dW[0,1,0,1]) = %d, %v, %v", id, index, err)
	}
	if _, _, err := Resolve(tr, "s9/conv1.dW[0,1,0,1]"); err == nil || !strings.Contains(err.Error(), "steps 0..4") {
		t.Errorf("Resolve of step 9 in a 5-step trace: %v, want an error naming steps 0..4", err)
	}
}

func TestRunStepsRoundTripsThroughFile(t *testing.T) {
	want := fiveSteps(t, false)
	path := filepath.Join(t.TempDir(), "five.cnndbg")
	if err := trace.Write(path, want, false); err != nil {
		t.Fatal(err)
	}
	got, err := trace.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	for _, name := range []string{"s2/conv1.dW", "s4/fc1.b_new", "s3/conv1.W"} {
		a, b := want.Tensor(name), got.Tensor(name)
		if b == nil {
			t.Errorf("%s is missing after a round trip", name)
			continue
		}
		da, _ := want.Data(a.ID)
		db, err := got.Data(b.ID)
		if err != nil || !slices.Equal(da, db) {
			t.Errorf("%s differs after a round trip (%v)", name, err)
		}
	}
}

func TestStepSummaries(t *testing.T) {
	n, x, _ := tinyNetwork(t)
	rec := trace.NewRecorder(n.Spec.JSON())
	results := n.RunSteps(x, []int{0, 1}, 0.5, 4, rec)
	tr := rec.Trace()

	summaries, err := StepSummaries(tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(summaries) != 4 {
		t.Fatalf("%d summaries, want 4", len(summaries))
	}
	for k, s := range summaries {
		if s.Step != k || s.Loss != results[k].Loss {
			t.Errorf("summary %d: step %d loss %v, want step %d loss %v", k, s.Step, s.Loss, k, results[k].Loss)
		}
		var layers []string
		for _, g := range s.Grads {
			layers = append(layers, g.Layer)
			sum := 0.0
			for _, role := range []string{"dW", "db"} {
				for _, v := range results[k].Grads[g.Layer+"."+role].Data {
					sum += v * v
				}
			}
			if want := math.Sqrt(sum); math.Abs(g.Norm-want) > 1e-12*want {
				t.Errorf("step %d %s norm %v, want %v", k, g.Layer, g.Norm, want)
			}
		}
		if !slices.Equal(layers, []string{"fc1", "conv1"}) {
			t.Errorf("step %d norms are for %v, want fc1 and conv1 in backward order", k, layers)
		}
	}
	if summaries[3].Loss >= summaries[0].Loss {
		t.Errorf("loss went from %v to %v: four steps at lr 0.5 should lower it", summaries[0].Loss, summaries[3].Loss)
	}

	plot := FormatStepSummaries(summaries)
	for _, want := range []string{"conv1", "fc1", "loss  ", "→"} {
		if !strings.Contains(plot, want) {
			t.Errorf("plot lacks %q:\n%s", want, plot)
		}
	}
}

func TestStepSummariesHugeAndNonFinite(t *testing.T) {
	tr := fiveSteps(t, true)
	summaries, err := StepSummaries(tr)
	if err != nil {
		t.Fatal(err)
	}
	if g := summaries[0].Grads[1]; g.Layer != "conv1" || math.IsInf(g.Norm, 0) || !(g.Norm > 1e199) {
		t.Errorf("step 0 conv1 norm = %v, want a finite value near 1e200 (no overflow in the sum of squares)", g.Norm)
	}
	for k, s := range summaries {
		dW, db := tr.Tensor(trace.StepName(k, "conv1.dW")).Stats, tr.Tensor(trace.StepName(k, "conv1.db")).Stats
		norm := s.Grads[1].Norm
		switch {
		case dW.NaN+db.NaN > 0 && !math.IsNaN(norm):
			t.Errorf("step %d conv1 norm = %v, want NaN: the gradients hold NaN", k, norm)
		case dW.NaN+db.NaN == 0 && dW.NonFinite()+db.NonFinite() > 0 && !math.IsInf(norm, 1):
			t.Errorf("step %d conv1 norm = %v, want +Inf: the gradients hold an infinity", k, norm)
		}
	}
}

func TestSparkline(t *testing.T) {
	for _, c := range []struct {
		values []float64
		log    bool
		want   string
	}{
		{[]float64{0, 1, 2, 3, 4, 5, 6, 7}, false, "▁▂▃▄▅▆▇█"},
		{[]float64{3, 3, 3}, false, "▄▄▄"},
		{[]float64{1, 10, 100, 1000}, true, "▁▃▆█"},
		{[]float64{1, math.NaN(), math.Inf(1), math.Inf(-1), 2}, false, "▁N▲▼█"},
		{[]float64{0, 1, 100}, true, "▁▁█"},
		{nil, false, ""},
	} {
		if got := Sparkline(c.values, c.log); got != c.want {
			t.Errorf("Sparkline(%v, %v) = %q, want %q", c.values, c.log, got, c.want)
		}
	}
}
