package net

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/trace"
)

// tinySpecJSON is a small conv → relu → flatten → dense model on 3×3 inputs,
// so tests can place single large values by hand.
const tinySpecJSON = `{"input": {"height": 3, "width": 3, "channels": 1},
 "layers": [
  {"name": "conv1", "type": "conv", "filters": 2, "size": 2, "stride": 1, "pad": 0},
  {"name": "relu1", "type": "relu"},
  {"name": "flatten", "type": "flatten"},
  {"name": "fc1", "type": "dense", "units": 3},
  {"name": "loss", "type": "softmax_cross_entropy"}]}`

// tinyNetwork returns the tiny model with seeded weights and a batch of two
// inputs in [0, 1).
func tinyNetwork(t *testing.T) (*Network, *Tensor, []int) {
	t.Helper()
	spec, err := ParseSpec([]byte(tinySpecJSON))
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNetwork(spec, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	x := NewTensor(2, 3, 3, 1)
	for k := range x.Data {
		x.Data[k] = rng.Float64()
	}
	return n, x, []int{2, 0}
}

func recordStep(n *Network, x *Tensor, labels []int) *trace.Trace {
	rec := trace.NewRecorder(n.Spec.JSON())
	n.Step(x, labels, 0.1, rec)
	return rec.Trace()
}

// conv1 returns the tiny network's conv layer.
func conv1(n *Network) *Conv { return n.Layer("conv1").(*Conv) }

func TestFirstNonFiniteFindsConvOverflow(t *testing.T) {
	n, x, labels := tinyNetwork(t)
	// W[0,0,0,1] · A_prev[0,0,0,0] = 3e200 · 2e200 overflows in Z[0,0,0,1].
	conv1(n).W.Data[trace.Offset([]int{2, 2, 1, 2}, []int{0, 0, 0, 1})] = 3e200
	x.Data[0] = 2e200
	tr := recordStep(n, x, labels)

	nan := false
	for _, tensor := range tr.Tensors {
		nan = nan || tensor.Stats.NaN > 0
	}
	if !nan {
		t.Fatal("the step has no NaN downstream of the overflow; the test setup is wrong")
	}

	o, err := FirstNonFinite(tr)
	if err != nil {
		t.Fatal(err)
	}
	if o == nil {
		t.Fatal("FirstNonFinite found nothing")
	}
	e := tr.Events[o.Event]
	if e.Layer != "conv1" || e.Phase != trace.Forward {
		t.Errorf("origin is event %d (%s %s), want conv1 forward", o.Event, e.Layer, e.Phase)
	}
	if o.Name != "conv1.Z" || !slices.Equal(o.Index, []int{0, 0, 0, 1}) {
		t.Errorf("origin element is %s%v, want conv1.Z[0 0 0 1]", o.Name, o.Index)
	}
	if !math.IsInf(o.Value, 1) {
		t.Errorf("origin value is %v, want +Inf", o.Value)
	}
	if o.FromInput {
		t.Error("FromInput is set for an overflow")
	}
	for _, want := range []string{"conv1.A_prev[0,0,0,0]", "conv1.W[0,0,0,1]", "2e+200", "3e+200", "overflows to +Inf"} {
		if !strings.Contains(o.Diagnosis, want) {
			t.Errorf("diagnosis %q does not contain %q", o.Diagnosis, want)
		}
	}
	if !o.Explanation.Agrees() {
		t.Errorf("explanation sums to %v, recorded %v", o.Explanation.Sum, o.Explanation.Recorded)
	}
}

func TestFirstNonFiniteInfMinusInf(t *testing.T) {
	n, x, labels := tinyNetwork(t)
	w := conv1(n).W
	// Two products of the window of Z[0,0,0,0] overflow with opposite signs.
	w.Data[trace.Offset(w.Shape, []int{0, 0, 0, 0})] = 3e200
	w.Data[trace.Offset(w.Shape, []int{0, 1, 0, 0})] = -3e200
	x.Data[0], x.Data[1] = 2e200, 2e200
	tr := recordStep(n, x, labels)

	o, err := FirstNonFinite(tr)
	if err != nil || o == nil {
		t.Fatalf("FirstNonFinite = %v, %v", o, err)
	}
	if o.Name != "conv1.Z" || !slices.Equal(o.Index, []int{0, 0, 0, 0}) || !math.IsNaN(o.Value) {
		t.Errorf("origin is %s%v = %v, want conv1.Z[0 0 0 0] = NaN", o.Name, o.Index, o.Value)
	}
	if !strings.HasPrefix(o.Diagnosis, "∞ − ∞") {
		t.Errorf("diagnosis %q does not start with ∞ − ∞", o.Diagnosis)
	}
}

func TestFirstNonFiniteSumOverflow(t *testing.T) {
	n, x, labels := tinyNetwork(t)
	w := conv1(n).W
	for k := range w.Data {
		w.Data[k] = 1
	}
	for k := range x.Data {
		x.Data[k] = 1e308 // every product is finite, their sum is not
	}
	tr := recordStep(n, x, labels)

	o, err := FirstNonFinite(tr)
	if err != nil || o == nil {
		t.Fatalf("FirstNonFinite = %v, %v", o, err)
	}
	if o.Name != "conv1.Z" || !slices.Equal(o.Index, []int{0, 0, 0, 0}) {
		t.Errorf("origin is %s%v, want conv1.Z[0 0 0 0]", o.Name, o.Index)
	}
	if !strings.Contains(o.Diagnosis, "every one of the 5 terms is finite, but their sum overflows") {
		t.Errorf("diagnosis %q does not blame the sum", o.Diagnosis)
	}
}

func TestFirstNonFiniteNaNInput(t *testing.T) {
	n, x, labels := tinyNetwork(t)
	x.Data[trace.Offset(x.Shape, []int{1, 2, 2, 0})] = math.NaN()
	tr := recordStep(n, x, labels)

	o, err := FirstNonFinite(tr)
	if err != nil || o == nil {
		t.Fatalf("FirstNonFinite = %v, %v", o, err)
	}
	if tr.Events[o.Event].Layer != "conv1" || !o.FromInput {
		t.Errorf("origin is event %d, FromInput %v; want conv1 forward reading the input", o.Event, o.FromInput)
	}
	if !strings.Contains(o.Diagnosis, "conv1.A_prev[1,2,2,0] is NaN, read from the step input input.X") {
		t.Errorf("diagnosis %q does not name the NaN input", o.Diagnosis)
	}
}

func TestFirstNonFiniteNoneInFiniteStep(t *testing.T) {
	n, x, labels := tinyNetwork(t)
	o, err := FirstNonFinite(recordStep(n, x, labels))
	if err != nil || o != nil {
		t.Errorf("FirstNonFinite = %+v, %v; want nil, nil", o, err)
	}
}

func TestFirstNonFiniteFromFile(t *testing.T) {
	n, x, labels := tinyNetwork(t)
	conv1(n).W.Data[1] = 3e200
	x.Data[0] = 2e200
	path := filepath.Join(t.TempDir(), "blowup.cnndbg")
	if err := trace.Write(path, recordStep(n, x, labels), false); err != nil {
		t.Fatal(err)
	}
	tr, err := trace.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	o, err := FirstNonFinite(tr)
	if err != nil || o == nil {
		t.Fatalf("FirstNonFinite = %v, %v", o, err)
	}
	if o.Name != "conv1.Z" || !slices.Equal(o.Index, []int{0, 0, 0, 1}) {
		t.Errorf("origin from file is %s%v, want conv1.Z[0 0 0 1]", o.Name, o.Index)
	}
}

// Huge logits must give a finite loss: the loss uses log-sum-exp.
func TestLossFiniteForHugeLogits(t *testing.T) {
	z := FromData([]float64{1e300, -1e300, 0, 3e200, 1e-300, -5e307}, 2, 3)
	y := OneHot([]int{1, 2}, 3)
	probs, loss := NewSoftmaxCrossEntropy("loss").Forward(z, y)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.Fatalf("loss of huge logits is %v", loss)
	}
	// −log p[0,1] = 2e300 and −log p[1,2] = 3e200 + 5e307; the mean is about 1e300.
	if want := (2e300 + 3e200 + 5e307) / 2; math.Abs(loss-want) > 1e-12*want {
		t.Errorf("loss = %v, want %v", loss, want)
	}
	for k, p := range probs.Data {
		if math.IsNaN(p) || p < 0 || p > 1 {
			t.Errorf("probs[%d] = %v, want a probability", k, p)
		}
	}
}

func TestBlowUpOverStepsOverflowsInStepOne(t *testing.T) {
	n, x, _ := tinyNetwork(t)
	for k := range x.Data {
		x.Data[k] *= 1e200
	}
	labels := []int{0, 1} // wrong classes, so the gradients are not 0
	rec := trace.NewRecorder(n.Spec.JSON())
	results := n.RunSteps(x, labels, 0.1, 3, rec)
	tr := rec.Trace()

	if loss := results[0].Loss; math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.Errorf("step 0 loss is %v, want finite (log-sum-exp)", loss)
	}
	o, err := FirstNonFinite(tr)
	if err != nil || o == nil {
		t.Fatalf("FirstNonFinite = %v, %v", o, err)
	}
	e := tr.Events[o.Event]
	if e.Step != 1 || e.Layer != "conv1" || e.Phase != trace.Forward || !strings.HasPrefix(o.Name, "s1/conv1.Z") {
		t.Errorf("origin is %s in step %d (%s %s), want s1/conv1.Z in step 1", o.Name, e.Step, e.Layer, e.Phase)
	}
	if !strings.Contains(o.Diagnosis, "overflows") {
		t.Errorf("diagnosis %q names no overflow", o.Diagnosis)
	}
}

// Run with
//
//	go test ./net -run '^$' -bench 'RecorderStats|StepNoRecord|FirstNonFinite' -benchtime 10x -count 3
//
// BenchmarkRecorderStats adds every tensor of one recorded step of the
// built-in example at batch 64 to a new recorder, which computes each
// tensor's Stats: the recording overhead of the non-finite counts, to set
// against BenchmarkStepNoRecord (bench_step_test.go).
func BenchmarkRecorderStats(b *testing.B) {
	n := ExampleNetwork()
	x, labels, err := ExampleBatch(ExampleBatchSize)
	if err != nil {
		b.Fatal(err)
	}
	tr := recordStep(n, x, labels)
	elements := 0
	for _, t := range tr.Tensors {
		elements += trace.Size(t.Shape)
	}
	b.ReportMetric(float64(elements), "elements")
	b.ResetTimer()
	for b.Loop() {
		rec := trace.NewRecorder(nil)
		for _, t := range tr.Tensors {
			data, _ := tr.Data(t.ID)
			rec.Input(t.Name, t.Shape, data)
		}
		// Large tensors are scanned in the background: wait for them.
		rec.Trace()
	}
}

// twentySteps records 20 steps of the built-in example at batch 64 whose
// last update uses lr 1e200, so the first NaN or Inf is born in step 19.
func twentySteps(b *testing.B) *trace.Trace {
	n := ExampleNetwork()
	x, labels, err := ExampleBatch(ExampleBatchSize)
	if err != nil {
		b.Fatal(err)
	}
	rec := trace.NewRecorder(n.Spec.JSON())
	for k := range 20 {
		rec.SetStep(k)
		lr := 0.1
		if k == 18 {
			lr = 1e200
		}
		n.Step(x, labels, lr, rec)
	}
	tr := rec.Trace()
	if o, err := FirstNonFinite(tr); err != nil || o == nil || tr.Events[o.Event].Step != 19 {
		b.Fatalf("the first non-finite value is not in step 19: %+v, %v", o, err)
	}
	return tr
}

func BenchmarkFirstNonFiniteMemory(b *testing.B) {
	tr := twentySteps(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := FirstNonFinite(tr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstNonFiniteFile opens the trace file anew in each iteration,
// so every tensor the search needs is read from the file.
func BenchmarkFirstNonFiniteFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "twenty.cnndbg")
	if err := trace.Write(path, twentySteps(b), false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		tr, err := trace.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := FirstNonFinite(tr); err != nil {
			b.Fatal(err)
		}
		tr.Close()
	}
}
