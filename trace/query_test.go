package trace

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// twoStepTrace records a two-event step twice, with the second step reading
// the first step's updated weight and the same batch.
func twoStepTrace(scale float64) *Trace {
	rec := NewRecorder([]byte(`{"layers": []}`))
	x := []float64{1, 2, 3, 4}
	w := []float64{0.5, -0.5}
	for step := range 2 {
		rec.SetStep(step)
		xID := rec.Input("input.X", []int{2, 2}, x)
		wID := rec.Input("lin.W", []int{2}, w)
		b := rec.Begin("lin", "dense", Forward)
		b.Read("A_prev", xID).Read("W", wID)
		z := []float64{x[0]*w[0] + x[1]*w[1], scale * (x[2]*w[0] + x[3]*w[1])}
		b.Write("Z", "", []int{2}, z)
		b.Done()
		u := rec.Begin("lin", "sgd", Update, "lr", 0.1)
		u.Read("W", wID)
		w = []float64{w[0] * 2, w[1] * 2}
		u.Write("W_new", "", []int{2}, w)
		u.Done()
	}
	return rec.Trace()
}

func TestRecorderStepNames(t *testing.T) {
	tr := twoStepTrace(1)
	for _, name := range []string{"input.X", "s1/input.X", "lin.Z", "s1/lin.Z", "lin.W_new", "s1/lin.W", "s1/lin.A_prev", "s1/lin.W_new"} {
		if tr.Tensor(name) == nil {
			t.Errorf("no tensor %s; names are %v", name, tr.Names())
		}
	}
	if tr.Tensor("s1/input.X") != tr.Tensor("input.X") {
		t.Error("step 1 reads a copy of the batch, want the same tensor")
	}
	if tr.Tensor("s1/lin.W") != tr.Tensor("lin.W_new") {
		t.Error("step 1's W is not step 0's W_new")
	}
	if got := len(tr.Tensors); got != 6 {
		t.Errorf("%d tensors, want 6 (X, W, Z, W_new, then s1 Z and W_new and no copies)", got)
	}
	if tr.Steps() != 2 {
		t.Errorf("Steps() = %d, want 2", tr.Steps())
	}
	if from, to := tr.StepEvents(1); from != 2 || to != 4 {
		t.Errorf("StepEvents(1) = [%d, %d), want [2, 4)", from, to)
	}
	if from, to := tr.StepEvents(7); from != to {
		t.Errorf("StepEvents(7) = [%d, %d), want an empty range", from, to)
	}
}

func TestSplitStepName(t *testing.T) {
	for _, c := range []struct {
		name string
		step int
		base string
	}{
		{"conv1.dW", 0, "conv1.dW"},
		{"s3/conv1.dW", 3, "conv1.dW"},
		{"s12/input.X", 12, "input.X"},
		{"s0/conv1.dW", 0, "s0/conv1.dW"},
		{"s03/conv1.dW", 0, "s03/conv1.dW"},
		{"sx/conv1.dW", 0, "sx/conv1.dW"},
		{"s+1/conv1.dW", 0, "s+1/conv1.dW"},
	} {
		step, base := SplitStepName(c.name)
		if step != c.step || base != c.base {
			t.Errorf("SplitStepName(%q) = %d, %q, want %d, %q", c.name, step, base, c.step, c.base)
		}
		if c.step > 0 && StepName(step, base) != c.name {
			t.Errorf("StepName(%d, %q) = %q, want %q", step, base, StepName(step, base), c.name)
		}
	}
}

func TestFirstNonFiniteScan(t *testing.T) {
	if k := FirstNonFinite([]float64{1, 2, math.Inf(-1), math.NaN()}); k != 2 {
		t.Errorf("FirstNonFinite = %d, want 2", k)
	}
	if k := FirstNonFinite([]float64{1, -math.MaxFloat64, 0}); k != -1 {
		t.Errorf("FirstNonFinite of finite values = %d, want -1", k)
	}

	tr := twoStepTrace(1)
	if i := tr.FirstNonFiniteEvent(0); i != -1 {
		t.Errorf("FirstNonFiniteEvent of a finite trace = %d", i)
	}
	tr = twoStepTrace(math.Inf(1))
	if i := tr.FirstNonFiniteEvent(0); i != 0 {
		t.Errorf("FirstNonFiniteEvent = %d, want 0", i)
	}
	if i := tr.FirstNonFiniteEvent(1); i != 2 {
		t.Errorf("FirstNonFiniteEvent from 1 = %d, want 2", i)
	}
}

func TestEqual(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct {
		a, b, tol float64
		want      bool
	}{
		{1, 1, 0, true},
		{1, 1 + 1e-13, 1e-12, true},
		{1, 1 + 1e-11, 1e-12, false},
		{1e-20, 2e-20, 1e-12, true}, // within the absolute tolerance
		{1e6, 1e6 + 1e-7, 1e-12, true},
		{nan, nan, 0, true},
		{nan, 1, 1, false},
		{inf, inf, 0, true},
		{inf, -inf, 1, false},
		{inf, math.MaxFloat64, 1, false},
	} {
		if got := Equal(c.a, c.b, c.tol); got != c.want {
			t.Errorf("Equal(%v, %v, %v) = %v, want %v", c.a, c.b, c.tol, got, c.want)
		}
	}
}

func TestFirstDifferenceAndStructure(t *testing.T) {
	a, b := twoStepTrace(1), twoStepTrace(1.5)
	if err := CompareStructure(a, b); err != nil {
		t.Fatal(err)
	}
	d, err := FirstDifference(a, b, 1e-12)
	if err != nil || d == nil {
		t.Fatalf("FirstDifference = %v, %v", d, err)
	}
	if d.Event != 0 || d.Name != "lin.Z" || !slices.Equal(d.Index, []int{1}) || d.A != -0.5 || d.B != -0.75 {
		t.Errorf("difference %+v, want lin.Z[1] in event 0: -0.5 vs -0.75", d)
	}
	if d, _ := FirstDifference(a, twoStepTrace(1), 0); d != nil {
		t.Errorf("identical traces differ at %+v", d)
	}

	short := NewRecorder([]byte(`{"layers": []}`))
	short.Input("input.X", []int{2, 2}, []float64{1, 2, 3, 4})
	err = CompareStructure(a, short.Trace())
	var structure *StructureError
	if !errors.As(err, &structure) || !strings.Contains(err.Error(), "trace A has 4 events and trace B 0") {
		t.Errorf("CompareStructure with a shorter trace: %v", err)
	}
	other := twoStepTrace(1)
	other.Model = []byte(`{"layers": [{"name": "lin"}]}`)
	if err := CompareStructure(a, other); err == nil || !strings.Contains(err.Error(), "A has 0 layers and B 1") {
		t.Errorf("CompareStructure with another model: %v", err)
	}
}

func TestComputeStatsMatchesCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 0, math.Copysign(0, -1)}
	for n := range 11 {
		for trial := range 30 {
			data := make([]float64, n)
			for k := range data {
				data[k] = rng.NormFloat64() * 1e3
			}
			for range trial % 4 {
				if n > 0 {
					data[rng.IntN(n)] = specials[rng.IntN(len(specials))]
				}
			}
			if got, want := computeStats(data), countNonFinite(data); got != want {
				t.Errorf("computeStats(%v) = %+v, want %+v", data, got, want)
			}
		}
	}
}

// Run with
//
//	go test ./trace -run '^$' -bench ComputeStats -count 3
func BenchmarkComputeStats(b *testing.B) {
	data := make([]float64, 1<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for k := range data {
		data[k] = rng.NormFloat64()
	}
	b.SetBytes(8 << 20)
	for b.Loop() {
		computeStats(data)
	}
}

func BenchmarkCountNonFinite(b *testing.B) {
	data := make([]float64, 1<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for k := range data {
		data[k] = rng.NormFloat64()
	}
	b.SetBytes(8 << 20)
	for b.Loop() {
		countNonFinite(data)
	}
}
