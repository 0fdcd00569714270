package net

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/trace"
)

// recordExample records one step of the built-in example on m digits.
func recordExample(t testing.TB, m int) *trace.Trace {
	t.Helper()
	n := ExampleNetwork()
	x, labels, err := ExampleBatch(m)
	if err != nil {
		t.Fatal(err)
	}
	rec := trace.NewRecorder(n.Spec.JSON())
	n.Step(x, labels, ExampleLR, rec)
	return rec.Trace()
}

// firstIndexWhere returns the index of the first element of tensor name
// that satisfies keep.
func firstIndexWhere(t *testing.T, tr *trace.Trace, name string, keep func(float64) bool) []int {
	t.Helper()
	tensor := tr.Tensor(name)
	data, err := tr.Data(tensor.ID)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range data {
		if keep(v) {
			return trace.Unravel(tensor.Shape, k)
		}
	}
	t.Fatalf("no element of %s fits", name)
	return nil
}

// checkChain checks that each link's value is the recorded one, that links
// move to earlier events, and that each link's element is an operand of a
// term of the link before it.
func checkChain(t *testing.T, tr *trace.Trace, chain []Link) {
	t.Helper()
	for k, link := range chain {
		v, err := tr.Value(link.TensorID, link.Index...)
		if err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(v) != math.Float64bits(link.Value) {
			t.Errorf("link %d: value %v, recorded %v", k, link.Value, v)
		}
		if link.Formula == "" {
			t.Errorf("link %d (%s) has no formula", k, link.Tensor)
		}
		if k == 0 {
			continue
		}
		prev := chain[k-1]
		if link.Event >= prev.Event {
			t.Errorf("link %d: event %d does not come before event %d", k, link.Event, prev.Event)
		}
		x, err := Explain(tr, prev.TensorID, prev.Index)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, term := range x.Terms {
			for _, op := range term.Operands {
				if tr.Tensor(op.Tensor).ID == link.TensorID && fmt.Sprint(op.Index) == fmt.Sprint(link.Index) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("link %d: %s%v is not an operand of the explanation of %s%v", k, link.Tensor, link.Index, prev.Tensor, prev.Index)
		}
	}
}

func chainText(chain []Link) string {
	var b strings.Builder
	for _, l := range chain {
		fmt.Fprintf(&b, "\n  event %d %s%v = %.6g  %s", l.Event, l.Tensor, l.Index, l.Value, l.Formula)
	}
	return b.String()
}

func chainTensors(chain []Link) string {
	names := make([]string, len(chain))
	for i, l := range chain {
		names[i] = l.Tensor
	}
	return strings.Join(names, " ← ")
}

func TestProvenanceOfGradientReachesLoss(t *testing.T) {
	tr := recordExample(t, 4)
	index := firstIndexWhere(t, tr, "relu2.Z", func(v float64) bool { return v > 0 })
	chain, err := Provenance(tr, tr.Tensor("conv2.dZ").ID, index)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(chainText(chain))
	checkChain(t, tr, chain)
	want := "relu2.dZ ← pool2.dA_prev ← flatten.dA_prev ← fc1.dA_prev ← loss.dZ"
	if got := chainTensors(chain); got != want {
		t.Errorf("chain %s, want %s", got, want)
	}
	if !strings.Contains(chain[3].Formula, "following the largest of 10 terms") {
		t.Errorf("fc1 link formula %q does not say which term it follows", chain[3].Formula)
	}
	if !strings.Contains(chain[len(chain)-1].Formula, "at the loss") {
		t.Errorf("last link formula %q does not say the chain starts at the loss", chain[len(chain)-1].Formula)
	}
}

func TestProvenanceOfParameterGradient(t *testing.T) {
	tr := recordExample(t, 4)
	chain, err := Provenance(tr, tr.Tensor("conv1.dW").ID, []int{0, 1, 0, 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(chainText(chain))
	checkChain(t, tr, chain)
	if chain[0].Tensor != "conv1.dW" || chain[1].Tensor != "relu1.dZ" {
		t.Errorf("chain starts %s, want conv1.dW ← relu1.dZ", chainTensors(chain))
	}
	if last := chain[len(chain)-1]; last.Tensor != "loss.dZ" {
		t.Errorf("chain ends at %s, want loss.dZ: %s", last.Tensor, chainTensors(chain))
	}
}

func TestProvenanceOfUpdateFollowsGradient(t *testing.T) {
	tr := recordExample(t, 2)
	chain, err := Provenance(tr, tr.Tensor("fc1.W_new").ID, []int{5, 2})
	if err != nil {
		t.Fatal(err)
	}
	checkChain(t, tr, chain)
	if got := chainTensors(chain); !strings.HasPrefix(got, "fc1.W_new ← fc1.dW ← loss.dZ") {
		t.Errorf("chain %s, want fc1.W_new ← fc1.dW ← loss.dZ", got)
	}
}

func TestProvenanceOfForwardValueReachesInput(t *testing.T) {
	tr := recordExample(t, 2)
	chain, err := Provenance(tr, tr.Tensor("loss").ID, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(chainText(chain))
	checkChain(t, tr, chain)
	last := chain[len(chain)-1]
	if last.Event != -1 || last.Tensor != "input.X" {
		t.Errorf("chain ends at event %d %s, want the step input input.X", last.Event, last.Tensor)
	}
	if len(chain) != 10 {
		t.Errorf("chain has %d links, want 10 (loss, 8 layers, input): %s", len(chain), chainTensors(chain))
	}
}

func TestProvenanceStopsAtBlockingReLU(t *testing.T) {
	tr := recordExample(t, 2)
	index := firstIndexWhere(t, tr, "relu1.Z", func(v float64) bool { return v < 0 })
	chain, err := Provenance(tr, tr.Tensor("conv1.dZ").ID, index)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 1 || !strings.Contains(chain[0].Formula, "chain ends here") {
		t.Errorf("chain through a blocked ReLU: %s", chainText(chain))
	}
}

func TestProvenanceOfStepInput(t *testing.T) {
	tr := recordExample(t, 1)
	chain, err := Provenance(tr, tr.Tensor("conv1.W").ID, []int{0, 0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 1 || chain[0].Event != -1 {
		t.Errorf("chain of a step input: %s", chainText(chain))
	}
}

func TestProvenanceRejectsBadIndex(t *testing.T) {
	tr := recordExample(t, 1)
	if _, err := Provenance(tr, tr.Tensor("conv1.dW").ID, []int{9, 0, 0, 0}); err == nil {
		t.Error("out-of-range index: no error")
	}
	if _, err := Provenance(tr, 9999, []int{0}); err == nil {
		t.Error("unknown tensor ID: no error")
	}
}

func TestTraceFileRoundTripOfExample(t *testing.T) {
	tr := recordExample(t, 8)
	path := filepath.Join(t.TempDir(), "example.npz")
	if err := trace.Write(path, tr, false); err != nil {
		t.Fatal(err)
	}
	opened, err := trace.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()

	if len(opened.Events) != len(tr.Events) || fmt.Sprintf("%+v", opened.Events) != fmt.Sprintf("%+v", tr.Events) {
		t.Errorf("events differ after the round trip")
	}
	if fmt.Sprint(opened.Names()) != fmt.Sprint(tr.Names()) {
		t.Errorf("names differ after the round trip:\n got %v\nwant %v", opened.Names(), tr.Names())
	}
	for id, tensor := range tr.Tensors {
		want, _ := tr.Data(id)
		got, err := opened.Data(id)
		if err != nil {
			t.Fatal(err)
		}
		for k := range want {
			if math.Float64bits(got[k]) != math.Float64bits(want[k]) {
				t.Fatalf("%s[%d] = %v after the round trip, want %v", tensor.Name, k, got[k], want[k])
			}
		}
	}

	index := firstIndexWhere(t, tr, "relu2.Z", func(v float64) bool { return v > 0 })
	want, err := Provenance(tr, tr.Tensor("conv2.dZ").ID, index)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Provenance(opened, opened.Tensor("conv2.dZ").ID, index)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("provenance differs after the round trip:%s\nwant:%s", chainText(got), chainText(want))
	}
}

func TestParseTarget(t *testing.T) {
	good := []struct {
		text  string
		name  string
		index []int
	}{
		{"conv1.dW[0,1,0,3]", "conv1.dW", []int{0, 1, 0, 3}},
		{"conv1.dW[0, 1, 0, 3]", "conv1.dW", []int{0, 1, 0, 3}},
		{"  fc1.Z[ 2 ,-1 ] ", "fc1.Z", []int{2, -1}},
		{"loss", "loss", nil},
		{"loss[]", "loss", []int{}},
	}
	for _, c := range good {
		name, index, err := ParseTarget(c.text)
		if err != nil || name != c.name || fmt.Sprint(index) != fmt.Sprint(c.index) || (index == nil) != (c.index == nil) {
			t.Errorf("ParseTarget(%q) = %q, %v, %v; want %q, %v", c.text, name, index, err, c.name, c.index)
		}
	}
	for _, text := range []string{"", "[0]", "conv1.dW[0,1", "conv1.dW[0;1]", "conv1.dW[a]", "conv1.dW[0][1]", "conv1 dW", "conv1.dW[0,,1]"} {
		_, _, err := ParseTarget(text)
		if err == nil {
			t.Errorf("ParseTarget(%q): no error", text)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", text)) || !strings.Contains(err.Error(), "conv1.dW[0,1,0,3]") {
			t.Errorf("ParseTarget(%q) error %q does not quote the text and show the form", text, err)
		}
	}
}

func TestResolve(t *testing.T) {
	tr := recordExample(t, 1)
	id, index, err := Resolve(tr, "relu1.dZ[0, 27, 27, -1]")
	if err != nil {
		t.Fatal(err)
	}
	if id != tr.Tensor("conv1.dZ").ID || fmt.Sprint(index) != "[0 27 27 5]" {
		t.Errorf("Resolve by alias = %d %v, want conv1.dZ [0 27 27 5]", id, index)
	}
	if _, index, err := Resolve(tr, "loss"); err != nil || fmt.Sprint(index) != "[0]" {
		t.Errorf("Resolve(loss) = %v, %v; want [0]", index, err)
	}

	bad := []struct{ target, want string }{
		{"conv1.dw[0,0,0,0]", "close names are conv1.dW"},
		{"conv1.dW[0,0]", "has 2 indices but conv1.dW has shape (5, 5, 1, 6): give 4"},
		{"conv1.dW[5,0,0,0]", "index 5 on axis 0 is out of range"},
		{"conv1.dW[0,0,0,-7]", "index -7 on axis 3 is out of range"},
	}
	for _, c := range bad {
		_, _, err := Resolve(tr, c.target)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Resolve(%q) = %v, want an error containing %q", c.target, err, c.want)
		}
	}
}

// exampleTraceFile records the built-in example on m digits, repeating the
// 64 embedded ones as needed, and writes it to a file under dir.
func exampleTraceFile(b *testing.B, dir string, m int) (path string, fileBytes, rawBytes int64) {
	b.Helper()
	n := ExampleNetwork()
	digits, labels, err := ExampleBatch(ExampleBatchSize)
	if err != nil {
		b.Fatal(err)
	}
	perDigit := len(digits.Data) / ExampleBatchSize
	x := NewTensor(m, 28, 28, 1)
	batchLabels := make([]int, m)
	for i := 0; i < m; i++ {
		k := i % ExampleBatchSize
		copy(x.Data[i*perDigit:(i+1)*perDigit], digits.Data[k*perDigit:(k+1)*perDigit])
		batchLabels[i] = labels[k]
	}
	rec := trace.NewRecorder(n.Spec.JSON())
	n.Step(x, batchLabels, ExampleLR, rec)
	tr := rec.Trace()
	for _, tensor := range tr.Tensors {
		rawBytes += 8 * int64(trace.Size(tensor.Shape))
	}
	path = filepath.Join(dir, fmt.Sprintf("example-m%d.npz", m))
	if err := trace.Write(path, tr, false); err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, info.Size(), rawBytes
}

// BenchmarkOpenTrace opens a trace of the built-in example and lists its
// events, which reads only the zip directory and the manifest. The batch of
// 4 digits gives a file of about 1 MB. Set CNNDBG_BENCH_BIG_TRACE=1 to add a
// batch of 4096 digits, about 1 GB in a temporary folder removed afterwards.
func BenchmarkOpenTrace(b *testing.B) {
	batches := []int{4}
	if os.Getenv("CNNDBG_BENCH_BIG_TRACE") == "1" {
		batches = append(batches, 4096)
	}
	for _, m := range batches {
		dir := b.TempDir()
		path, fileBytes, rawBytes := exampleTraceFile(b, dir, m)
		b.Run(fmt.Sprintf("m=%d", m), func(b *testing.B) {
			for b.Loop() {
				tr, err := trace.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				layers := 0
				for _, e := range tr.Events {
					if e.Layer != "" {
						layers++
					}
				}
				if layers != len(tr.Events) {
					b.Fatal("an event has no layer")
				}
				tr.Close()
			}
			// Reported after the loop: b.Loop's first call resets the timer,
			// which drops metrics reported before it.
			b.ReportMetric(float64(fileBytes)/1e6, "file-MB")
			b.ReportMetric(float64(fileBytes)/float64(rawBytes), "file/raw")
		})
	}
}
