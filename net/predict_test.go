package net

import (
	"path/filepath"
	"testing"

	"github.com/cnndbg/cnndbg/trace"
)

func TestPredictionsMatchForwardPass(t *testing.T) {
	x, labels, err := ExampleBatch(ExampleBatchSize)
	if err != nil {
		t.Fatal(err)
	}
	probs := ExampleNetwork().Predict(x)
	tr := recordExample(t, ExampleBatchSize)

	preds, err := Predictions(tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(preds) != ExampleBatchSize {
		t.Fatalf("%d predictions, want %d", len(preds), ExampleBatchSize)
	}
	wrong := 0
	for i, p := range preds {
		if p.Sample != i {
			t.Errorf("prediction %d: sample %d, want %d", i, p.Sample, i)
		}
		if p.Label != labels[i] {
			t.Errorf("sample %d: label %d, want %d", i, p.Label, labels[i])
		}
		if want := argmaxRow(probs, i); p.Predicted != want {
			t.Errorf("sample %d: predicted %d, the forward pass gives %d", i, p.Predicted, want)
		}
		if want := probs.Data[i*10+p.Predicted]; p.Prob != want {
			t.Errorf("sample %d: prob %v, the forward pass gives %v", i, p.Prob, want)
		}
		if want := probs.Data[i*10+p.Label]; p.LabelProb != want {
			t.Errorf("sample %d: label prob %v, the forward pass gives %v", i, p.LabelProb, want)
		}
		if !p.Correct() {
			wrong++
			t.Logf("sample %d: label %d (p=%.3f), predicted %d (p=%.3f)", i, p.Label, p.LabelProb, p.Predicted, p.Prob)
		}
	}
	if wrong == 0 {
		t.Error("the trained example classifies every embedded digit correctly, want at least one mistake to show")
	}
}

func TestPredictionsFromTraceFile(t *testing.T) {
	recorded := recordExample(t, 3)
	path := filepath.Join(t.TempDir(), "step.cnndbg")
	if err := trace.Write(path, recorded, false); err != nil {
		t.Fatal(err)
	}
	opened, err := trace.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()

	want, err := Predictions(recorded)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Predictions(opened)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d predictions from the file, %d recorded", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sample %d: %+v from the file, %+v recorded", i, got[i], want[i])
		}
	}
}

func TestPredictionsWithoutLossEvent(t *testing.T) {
	rec := trace.NewRecorder([]byte("{}"))
	rec.Input("input.X", []int{1, 2}, []float64{0, 1})
	if _, err := Predictions(rec.Trace()); err == nil {
		t.Error("a trace without a loss event: no error")
	}
}

func TestPredictionsAndLossPerStep(t *testing.T) {
	n := ExampleNetwork()
	x, labels, err := ExampleBatch(8)
	if err != nil {
		t.Fatal(err)
	}
	rec := trace.NewRecorder(n.Spec.JSON())
	results := n.RunSteps(x, labels, 0.5, 3, rec)
	tr := rec.Trace()
	for step, result := range results {
		loss, err := LossAt(tr, step)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if loss != result.Loss {
			t.Errorf("LossAt(step %d) = %v, the step computed %v", step, loss, result.Loss)
		}
		predictions, err := PredictionsAt(tr, step)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for i, p := range predictions {
			if want := result.Probs.Data[i*10+p.Predicted]; p.Prob != want {
				t.Errorf("step %d sample %d: Prob %v, the step's softmax gives %v", step, i, p.Prob, want)
			}
		}
	}
	if results[0].Loss == results[2].Loss {
		t.Fatal("the steps have equal losses, so the test cannot tell them apart")
	}
	if _, err := LossAt(tr, 3); err == nil {
		t.Error("LossAt accepted step 3 of a 3-step trace")
	}
}
