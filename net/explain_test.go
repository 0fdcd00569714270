package net

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/trace"
)

// explainCase is one small network and batch for the explain property test.
type explainCase struct {
	spec   Spec
	m      int
	levels int // > 0: inputs take only this many values, so max-pool windows tie
	seed   uint64
}

func (c explainCase) String() string {
	var parts []string
	for _, l := range c.spec.Layers {
		s := l.Type
		switch l.Type {
		case "conv":
			s = fmt.Sprintf("conv(f=%d,s=%d,p=%d,n_C=%d)", l.Size, *l.Stride, l.Pad, l.Filters)
		case "maxpool":
			s = fmt.Sprintf("maxpool(f=%d,s=%d,ties=%s)", l.Size, *l.Stride, l.Ties)
		case "avgpool":
			s = fmt.Sprintf("avgpool(f=%d,s=%d)", l.Size, *l.Stride)
		case "dense":
			s = fmt.Sprintf("dense(%d)", l.Units)
		}
		parts = append(parts, s)
	}
	in := c.spec.Input
	return fmt.Sprintf("m=%d input %d×%d×%d levels=%d seed=%d: %s", c.m, in.Height, in.Width, in.Channels, c.levels, c.seed, strings.Join(parts, " → "))
}

func intPtr(v int) *int { return &v }

func convLayer(name string, f, stride, pad, filters int) LayerSpec {
	return LayerSpec{Name: name, Type: "conv", Size: f, Stride: intPtr(stride), Pad: pad, Filters: filters}
}

func poolLayer(name, kind string, f, stride int, ties Ties) LayerSpec {
	l := LayerSpec{Name: name, Type: kind, Size: f, Stride: intPtr(stride)}
	if kind == "maxpool" {
		l.Ties = string(ties)
	}
	return l
}

// randomPool returns a max pool with a random tie rule or an average pool,
// with window size and stride each 1–3, so windows overlap, tile or skip rows.
func randomPool(rng *rand.Rand, name string) LayerSpec {
	f, stride := 1+rng.IntN(3), 1+rng.IntN(3)
	if rng.IntN(3) == 0 {
		return poolLayer(name, "avgpool", f, stride, "")
	}
	ties := []Ties{TiesFirst, TiesAll, TiesSplit}[rng.IntN(3)]
	return poolLayer(name, "maxpool", f, stride, ties)
}

// randomExplainCase draws a network: an optional pool on the input, conv
// (f 1–4, stride 1–3, pad 0–2), ReLU, a pool, flatten, dense, and sometimes
// a second dense layer behind a ReLU. It retries until the shapes fit.
func randomExplainCase(rng *rand.Rand, seed uint64) explainCase {
	for {
		c := explainCase{m: 1 + rng.IntN(3), seed: seed}
		c.spec.Input = InputSpec{Height: 3 + rng.IntN(7), Width: 3 + rng.IntN(7), Channels: 1 + rng.IntN(2)}
		if rng.IntN(2) == 0 {
			c.levels = 2 + rng.IntN(3)
		}
		var layers []LayerSpec
		if rng.IntN(3) == 0 {
			layers = append(layers, randomPool(rng, "pool0"))
		}
		layers = append(layers,
			convLayer("conv1", 1+rng.IntN(4), 1+rng.IntN(3), rng.IntN(3), 1+rng.IntN(3)),
			LayerSpec{Name: "relu1", Type: "relu"},
			randomPool(rng, "pool1"),
			LayerSpec{Name: "flatten", Type: "flatten"},
			LayerSpec{Name: "fc1", Type: "dense", Units: 2 + rng.IntN(3)})
		if rng.IntN(2) == 0 {
			layers = append(layers, LayerSpec{Name: "relu2", Type: "relu"}, LayerSpec{Name: "fc2", Type: "dense", Units: 2 + rng.IntN(3)})
		}
		c.spec.Layers = append(layers, LayerSpec{Name: "loss", Type: "softmax_cross_entropy"})
		if c.spec.Check() == nil {
			return c
		}
	}
}

// record runs one step of the case's network and returns the trace.
func (c explainCase) record(t *testing.T) *trace.Trace {
	t.Helper()
	spec := c.spec
	n, err := NewNetwork(&spec, c.seed)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	rng := rand.New(rand.NewPCG(c.seed, 7))
	in := spec.Input
	x := NewTensor(c.m, in.Height, in.Width, in.Channels)
	for k := range x.Data {
		if c.levels > 0 {
			x.Data[k] = float64(rng.IntN(c.levels)) / 2
		} else {
			x.Data[k] = rng.NormFloat64()
		}
	}
	labels := make([]int, c.m)
	for i := range labels {
		labels[i] = rng.IntN(n.Classes)
	}
	if err := n.CheckBatch(x, labels); err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	rec := trace.NewRecorder(spec.JSON())
	n.Step(x, labels, 0.05, rec)
	return rec.Trace()
}

// explainStats counts what the property test saw, so it can check that the
// hard cases occurred at all.
type explainStats struct {
	elements     int
	byPhase      map[trace.Phase]int
	byKind       map[string]int
	ties         int
	unreached    int
	cancellation int
	worstRelErr  float64
}

// agreement judges the explanation x of one element. The plain relative
// error |Σ terms − recorded| / |recorded| must be ≤ 1e-12. Where the terms
// nearly cancel, that is impossible in general: the recorded value was
// summed in the layer's loop order with a rounding error of up to about
// n·2⁻⁵³·Σ|terms|, which can exceed 1e-12·|recorded| once
// Σ|terms| / |recorded| is above about 10³. Only then the error is taken
// relative to max(|recorded|, 1e-3·Σ|terms|), and the case is counted.
func agreement(x *Explanation) (ok, cancellation bool, relErr float64) {
	sum, recorded := x.Sum, x.Recorded
	if math.IsNaN(sum) || math.IsNaN(recorded) || math.IsInf(sum, 0) || math.IsInf(recorded, 0) {
		same := math.IsNaN(sum) && math.IsNaN(recorded) || sum == recorded
		return same, false, 0
	}
	diff := math.Abs(sum - recorded)
	if diff == 0 {
		return true, false, 0
	}
	relErr = diff / math.Abs(recorded)
	if relErr <= 1e-12 {
		return true, false, relErr
	}
	var scale float64
	for _, term := range x.Terms {
		scale += math.Abs(term.Value)
	}
	return diff <= 1e-12*math.Max(math.Abs(recorded), 1e-3*scale), true, relErr
}

// checkEveryElement explains every element of every tensor every event of
// tr wrote and fails on the first few that do not agree.
func checkEveryElement(t *testing.T, c explainCase, tr *trace.Trace, stats *explainStats) {
	t.Helper()
	failures := 0
	for _, e := range tr.Events {
		for _, out := range e.Outputs {
			tensor := tr.Tensors[out.Tensor]
			for off := 0; off < trace.Size(tensor.Shape); off++ {
				index := trace.Unravel(tensor.Shape, off)
				x, err := Explain(tr, tensor.ID, index)
				if err != nil {
					t.Fatalf("%v: explain %s%v: %v", c, tensor.Name, index, err)
				}
				ok, cancellation, relErr := agreement(x)
				stats.elements++
				stats.byPhase[e.Phase]++
				stats.byKind[e.Kind+"/"+e.Phase.String()]++
				if cancellation {
					stats.cancellation++
				}
				if !cancellation && relErr > stats.worstRelErr {
					stats.worstRelErr = relErr
				}
				for _, note := range x.Notes {
					if strings.Contains(note, "tie") {
						stats.ties++
					}
					if strings.Contains(note, "no window") {
						stats.unreached++
						if x.Recorded != 0 {
							t.Errorf("%v: %s%v: no window reaches it but its gradient is %g", c, x.Tensor, index, x.Recorded)
						}
					}
				}
				if !ok {
					failures++
					t.Errorf("%v: event %d (%s %s %s) %s%v: terms sum to %.17g, recorded %.17g (relative error %.3g, %d terms)",
						c, e.Index, e.Layer, e.Kind, e.Phase, x.Tensor, index, x.Sum, x.Recorded, relErr, len(x.Terms))
					if failures == 5 {
						t.FailNow()
					}
				}
			}
		}
	}
}

// fixedExplainCases cover what random draws may miss: rows and columns no
// conv or pool window reaches, overlapping max-pool windows over tied
// inputs under each tie rule, and a pool straight on quantized inputs.
func fixedExplainCases() []explainCase {
	in := InputSpec{Height: 7, Width: 8, Channels: 2}
	tail := []LayerSpec{{Name: "flatten", Type: "flatten"}, {Name: "fc1", Type: "dense", Units: 3}, {Name: "loss", Type: "softmax_cross_entropy"}}
	build := func(levels int, layers ...LayerSpec) explainCase {
		return explainCase{spec: Spec{Input: in, Layers: append(layers, tail...)}, m: 2, levels: levels, seed: 11}
	}
	var cases []explainCase
	for _, ties := range []Ties{TiesFirst, TiesAll, TiesSplit} {
		cases = append(cases,
			build(2, poolLayer("pool0", "maxpool", 3, 1, ties), convLayer("conv1", 2, 3, 0, 2), LayerSpec{Name: "relu1", Type: "relu"}),
			build(3, convLayer("conv1", 1, 2, 1, 2), LayerSpec{Name: "relu1", Type: "relu"}, poolLayer("pool1", "maxpool", 2, 3, ties)))
	}
	cases = append(cases, build(0, convLayer("conv1", 4, 3, 2, 3), LayerSpec{Name: "relu1", Type: "relu"}, poolLayer("pool1", "avgpool", 2, 1, "")))
	return cases
}

func TestExplainAgreesForEveryElement(t *testing.T) {
	stats := &explainStats{byPhase: map[trace.Phase]int{}, byKind: map[string]int{}}
	cases := fixedExplainCases()
	rng := rand.New(rand.NewPCG(2024, 1))
	draws := 300
	if testing.Short() {
		draws = 10
	}
	for k := 0; k < draws; k++ {
		cases = append(cases, randomExplainCase(rng, uint64(100+k)))
	}
	for _, c := range cases {
		checkEveryElement(t, c, c.record(t), stats)
	}

	t.Logf("%d networks, %d elements explained; worst plain relative error %.3g; %d near cancellation judged against 1e-3·Σ|terms|; %d tie notes; %d unreached elements",
		len(cases), stats.elements, stats.worstRelErr, stats.cancellation, stats.ties, stats.unreached)
	t.Logf("elements by event kind: %v", stats.byKind)
	for _, phase := range []trace.Phase{trace.Forward, trace.Loss, trace.Backward, trace.Update} {
		if stats.byPhase[phase] == 0 {
			t.Errorf("no element of a %s event was checked", phase)
		}
	}
	for _, kind := range []string{"conv/forward", "conv/backward", "relu/forward", "relu/backward", "maxpool/forward", "maxpool/backward",
		"avgpool/forward", "avgpool/backward", "flatten/forward", "flatten/backward", "dense/forward", "dense/backward",
		"softmax_cross_entropy/loss", "softmax_cross_entropy/backward", "sgd/update"} {
		if stats.byKind[kind] == 0 {
			t.Errorf("no element of a %s event was checked", kind)
		}
	}
	if stats.ties == 0 {
		t.Error("no max-pool tie occurred")
	}
	if stats.unreached == 0 {
		t.Error("no element outside every window occurred")
	}
}

// BenchmarkExplainConv1DW explains conv1.dW[0,1,0,3] of the built-in example
// at batch 64: about 45,000 products, built and sorted by magnitude.
func BenchmarkExplainConv1DW(b *testing.B) {
	tr := recordExample(b, ExampleBatchSize)
	id := tr.Tensor("conv1.dW").ID
	b.ResetTimer()
	for b.Loop() {
		if _, err := Explain(tr, id, []int{0, 1, 0, 3}); err != nil {
			b.Fatal(err)
		}
	}
}
