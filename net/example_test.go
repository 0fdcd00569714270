package net

import (
	"testing"

	"github.com/cnndbg/cnndbg/trace"
)

func TestExampleStepRecordsEveryEvent(t *testing.T) {
	n := ExampleNetwork()
	x, labels, err := ExampleBatch(ExampleBatchSize)
	if err != nil {
		t.Fatal(err)
	}
	rec := trace.NewRecorder(n.Spec.JSON())
	res := n.Step(x, labels, ExampleLR, rec)
	tr := rec.Trace()
	// 8 forward, 1 loss, 9 backward (loss + 8 layers), 3 updates.
	if len(tr.Events) != 21 {
		for _, e := range tr.Events {
			t.Log(e.Index, e.Layer, e.Kind, e.Phase)
		}
		t.Fatalf("got %d events, want 21", len(tr.Events))
	}
	if res.Loss <= 0 {
		t.Errorf("loss = %v, want > 0", res.Loss)
	}
	for _, name := range []string{"conv1.dZ", "relu1.dZ", "conv1.dW", "fc1.dZ", "loss.dZ", "pool1.dA_prev", "conv2.dA_prev", "loss"} {
		if tr.Tensor(name) == nil {
			t.Errorf("no tensor %s; names: %v", name, tr.Names())
		}
	}
	if tr.Tensor("conv1.dZ") != tr.Tensor("relu1.dZ") {
		t.Error("conv1.dZ and relu1.dZ are different tensors")
	}
	dW := tr.Tensor("conv1.dW")
	x1, err := Explain(tr, dW.ID, []int{0, 1, 0, 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("conv1.dW[0,1,0,3]: %d terms, sum %.17g recorded %.17g rel %.3g", len(x1.Terms), x1.Sum, x1.Recorded, x1.RelErr())
	if x1.RelErr() >= 1e-12 {
		t.Errorf("rel err %g", x1.RelErr())
	}
}

// TestExampleWeightsAccuracy runs the forward pass of the built-in network
// over the 10,000 MNIST test images, without recording.
func TestExampleWeightsAccuracy(t *testing.T) {
	x, labels := loadMNISTOrSkip(t, "test", 0, -1)
	acc, err := Accuracy(ExampleNetwork(), x, labels, 500)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test accuracy %.2f%% on %d images", 100*acc, len(labels))
	if acc < 0.98 {
		t.Errorf("test accuracy %.2f%%, want ≥ 98%%: regenerate the weights with go run ./net/internal/mkweights", 100*acc)
	}
}

func TestExampleBatchHasAMistake(t *testing.T) {
	x, labels, err := ExampleBatch(ExampleBatchSize)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := Accuracy(ExampleNetwork(), x, labels, ExampleBatchSize)
	if err != nil {
		t.Fatal(err)
	}
	if acc == 1 {
		t.Error("the built-in network classifies every embedded digit correctly: regenerate them with go run ./net/internal/mkexample")
	}
}

// Run with
//
//	go test ./net -run '^$' -bench 'RecordExampleStep' -benchtime 20x -count 3
//
// BenchmarkRecordExampleStep records one step of the built-in example at
// batch 64, as cnndbg record does before writing the file.
func BenchmarkRecordExampleStep(b *testing.B) {
	x, labels, err := ExampleBatch(ExampleBatchSize)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := ExampleNetwork()
		rec := trace.NewRecorder(n.Spec.JSON())
		n.Step(x, labels, ExampleLR, rec)
		rec.Trace()
	}
}
