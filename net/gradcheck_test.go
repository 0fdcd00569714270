package net

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// gradCheckSpec uses every layer type, stride 2 with pad 1, an overlapping
// max pool and a non-square input.
const gradCheckSpec = `{
  "input": {"height": 7, "width": 6, "channels": 2},
  "layers": [
    {"name": "conv1", "type": "conv", "filters": 3, "size": 3, "stride": 2, "pad": 1},
    {"name": "relu1", "type": "relu"},
    {"name": "pool1", "type": "maxpool", "size": 2, "stride": 1},
    {"name": "conv2", "type": "conv", "filters": 4, "size": 2, "stride": 1, "pad": 1},
    {"name": "pool2", "type": "avgpool", "size": 2, "stride": 2},
    {"name": "flatten", "type": "flatten"},
    {"name": "fc1", "type": "dense", "units": 5},
    {"name": "relu2", "type": "relu"},
    {"name": "fc2", "type": "dense", "units": 3},
    {"name": "loss", "type": "softmax_cross_entropy"}
  ]
}`

// gradCheckNetwork returns the network of gradCheckSpec with nonzero biases
// and a random batch of 3 samples.
func gradCheckNetwork(t *testing.T) (*Network, *Tensor, []int) {
	t.Helper()
	spec, err := ParseSpec([]byte(gradCheckSpec))
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNetwork(spec, 5)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(12, 3))
	for _, l := range n.Layers {
		if p, ok := l.(Parametric); ok {
			b := p.Params()[1].Value
			p.SetParam("b", randomTensor(rng, b.Shape...))
		}
	}
	return n, randomTensor(rng, 3, 7, 6, 2), []int{2, 0, 1}
}

// paramSnapshot records the parameter tensors of n and copies of their values.
type paramSnapshot struct {
	tensors []*Tensor
	values  [][]float64
}

func snapshotParams(n *Network) paramSnapshot {
	var s paramSnapshot
	for _, l := range n.Layers {
		if p, ok := l.(Parametric); ok {
			for _, param := range p.Params() {
				s.tensors = append(s.tensors, param.Value)
				s.values = append(s.values, append([]float64(nil), param.Value.Data...))
			}
		}
	}
	return s
}

// checkUnchanged fails the test unless n has the same parameter tensors
// with the same values as when s was taken.
func (s paramSnapshot) checkUnchanged(t *testing.T, n *Network) {
	t.Helper()
	now := snapshotParams(n)
	for k, tensor := range s.tensors {
		if now.tensors[k] != tensor {
			t.Errorf("parameter %d was replaced by another tensor", k)
		}
		for j, v := range s.values[k] {
			if tensor.Data[j] != v {
				t.Errorf("parameter %d element %d changed from %g to %g", k, j, v, tensor.Data[j])
				break
			}
		}
	}
}

func TestGradCheckAllLayersPass(t *testing.T) {
	n, x, labels := gradCheckNetwork(t)
	results, err := GradCheck(n, x, labels, GradCheckOptions{Input: true})
	if err != nil {
		t.Fatal(err)
	}

	want := []string{"conv1.W", "conv1.b", "conv2.W", "conv2.b", "fc1.W", "fc1.b", "fc2.W", "fc2.b", "input.X"}
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d", len(results), len(want))
	}
	for k, r := range results {
		if r.Name != want[k] {
			t.Errorf("result %d is %s, want %s", k, r.Name, want[k])
		}
		if r.Checked != r.Size || r.Size == 0 {
			t.Errorf("%s: checked %d of %d elements, want all", r.Name, r.Checked, r.Size)
		}
		if !r.Pass || r.Failed != 0 {
			t.Errorf("%s: %d elements fail; worst %+v", r.Name, r.Failed, r.Worst)
		}
		// Central differences at eps 1e-6 carry a rounding error near
		// 1e-16·|L|/eps ≈ 1e-10, far below PyTorch's atol, so a gradient
		// that only just passes would hide a real bug. A relative bound would
		// fail on elements whose gradient is itself near 1e-10.
		if r.MaxAbsErr > 1e-8 {
			t.Errorf("%s: max absolute error %.3g, want ≤ 1e-8", r.Name, r.MaxAbsErr)
		}
		t.Logf("%s: max abs error %.2g, max rel error %.2g", r.Name, r.MaxAbsErr, r.MaxRelErr)
	}
}

func TestGradCheckLeavesParametersUnchanged(t *testing.T) {
	n, x, labels := gradCheckNetwork(t)
	before := snapshotParams(n)
	if _, err := GradCheck(n, x, labels, GradCheckOptions{Input: true, MaxElements: 4}); err != nil {
		t.Fatal(err)
	}
	before.checkUnchanged(t, n)

	if _, err := CheckElement(n, x, labels, "conv2.W", []int{1, 0, 2, 3}, 1e-6); err != nil {
		t.Fatal(err)
	}
	before.checkUnchanged(t, n)
}

func TestGradCheckLeavesInputUnchanged(t *testing.T) {
	n, x, labels := gradCheckNetwork(t)
	saved := x.Clone()
	if _, err := GradCheck(n, x, labels, GradCheckOptions{Input: true}); err != nil {
		t.Fatal(err)
	}
	for k, v := range saved.Data {
		if x.Data[k] != v {
			t.Fatalf("input element %d changed from %g to %g", k, v, x.Data[k])
		}
	}
}

func TestGradCheckSamplesLargeTensors(t *testing.T) {
	n, x, labels := gradCheckNetwork(t)
	opts := GradCheckOptions{MaxElements: 6, Seed: 3}
	first, err := GradCheck(n, x, labels, opts)
	if err != nil {
		t.Fatal(err)
	}
	second, err := GradCheck(n, x, labels, opts)
	if err != nil {
		t.Fatal(err)
	}
	for k, r := range first {
		if r.Checked != min(6, r.Size) {
			t.Errorf("%s: checked %d of %d elements, want %d", r.Name, r.Checked, r.Size, min(6, r.Size))
		}
		if r.Worst.Numeric != second[k].Worst.Numeric || !slices.Equal(r.Worst.Index, second[k].Worst.Index) {
			t.Errorf("%s: the same seed chose different elements: %v and %v", r.Name, r.Worst.Index, second[k].Worst.Index)
		}
	}
}

// brokenDense is a dense layer whose dW is 1% too large at one element.
type brokenDense struct{ *Dense }

func (l brokenDense) Backward(aPrev, out, dZ *Tensor) (*Tensor, []*Tensor) {
	dAPrev, grads := l.Dense.Backward(aPrev, out, dZ)
	grads[0].Data[7] *= 1.01
	return dAPrev, grads
}

func TestGradCheckFindsWrongGradient(t *testing.T) {
	n, x, labels := gradCheckNetwork(t)
	for k, l := range n.Layers {
		if l.Name() == "fc1" {
			n.Layers[k] = brokenDense{l.(*Dense)}
		}
	}
	results, err := GradCheck(n, x, labels, GradCheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Name != "fc1.W" {
			if !r.Pass {
				t.Errorf("%s fails, but only fc1.W is wrong", r.Name)
			}
			continue
		}
		if r.Pass || r.Failed != 1 {
			t.Errorf("fc1.W: pass %v with %d failed elements, want 1 failure", r.Pass, r.Failed)
		}
		// fc1.W is (n_in, 5), so offset 7 is row 1, column 2.
		if !slices.Equal(r.Worst.Index, []int{1, 2}) {
			t.Errorf("fc1.W: worst element %v, want [1 2]", r.Worst.Index)
		}
		if rel := math.Abs(r.Worst.Analytic/r.Worst.Numeric - 1.01); rel > 1e-6 {
			t.Errorf("fc1.W[1,2]: analytic/numeric = %g, want 1.01", r.Worst.Analytic/r.Worst.Numeric)
		}
	}
}

func TestCheckElementMatchesGradCheck(t *testing.T) {
	n, x, labels := gradCheckNetwork(t)
	results, err := GradCheck(n, x, labels, GradCheckOptions{Input: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		c, err := CheckElement(n, x, labels, r.Name, r.Worst.Index, 0)
		if err != nil {
			t.Fatal(err)
		}
		if c.Analytic != r.Worst.Analytic || c.Numeric != r.Worst.Numeric {
			t.Errorf("%s%v: CheckElement gives %g/%g, GradCheck %g/%g", r.Name, r.Worst.Index, c.Analytic, c.Numeric, r.Worst.Analytic, r.Worst.Numeric)
		}
		if c.Eps != DefaultGradCheckEps || !c.Pass {
			t.Errorf("%s%v: eps %g pass %v, want the default eps and a pass", r.Name, r.Worst.Index, c.Eps, c.Pass)
		}
		if got := (c.LossPlus - c.LossMinus) / (2 * c.Eps); got != c.Numeric {
			t.Errorf("%s%v: numeric %g does not follow from the losses (%g)", r.Name, r.Worst.Index, c.Numeric, got)
		}
	}
}

func TestCheckElementRejectsBadRequests(t *testing.T) {
	n, x, labels := gradCheckNetwork(t)
	cases := []struct {
		name    string
		param   string
		index   []int
		eps     float64
		labels  []int
		wantErr string
	}{
		{"unknown tensor", "conv9.W", []int{0, 0, 0, 0}, 0, labels, "use one of conv1.W"},
		{"index out of range", "fc2.b", []int{0, 3}, 0, labels, "outside fc2.b of shape [1 3]"},
		{"index of wrong rank", "fc2.b", []int{2}, 0, labels, "outside fc2.b"},
		{"negative eps", "fc2.b", []int{0, 1}, -1e-6, labels, "eps = -1e-06 is invalid"},
		{"label out of range", "fc2.b", []int{0, 1}, 0, []int{0, 3, 1}, "label 3 of input 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := CheckElement(n, x, c.labels, c.param, c.index, c.eps)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

func TestGradCheckRejectsBadOptions(t *testing.T) {
	n, x, labels := gradCheckNetwork(t)
	for _, opts := range []GradCheckOptions{{Eps: math.NaN()}, {Atol: -1}, {Rtol: math.NaN()}, {MaxElements: -2}} {
		if _, err := GradCheck(n, x, labels, opts); err == nil {
			t.Errorf("options %+v: no error", opts)
		}
	}
}

func TestGradCheckExampleNetworkSample(t *testing.T) {
	n := ExampleNetwork()
	rng := rand.New(rand.NewPCG(13, 3))

	// Random inputs rather than digits: the digits' zero background makes
	// many ReLU inputs exactly 0, where a central difference straddles the
	// kink and cannot match any one-sided gradient.
	x := randomTensor(rng, 2, 28, 28, 1)
	results, err := GradCheck(n, x, []int{3, 8}, GradCheckOptions{MaxElements: 8, Seed: 1, Input: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s: %d of %d sampled elements fail; worst %+v", r.Name, r.Failed, r.Checked, r.Worst)
		}
	}
}
