package net

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The finite-difference tests below check each layer on its own. The
// objective L = Σ R ⊙ layer(x), with R a fixed random tensor, makes every
// output element matter, and its gradient with respect to the output is R,
// so Backward(x, out, R) must return ∂L/∂x and ∂L/∂params. Inputs avoid the
// kinks of ReLU (no value near 0) and of max pool (no ties, gaps ≫ eps).

const layerEps = 1e-6

// courseDifference returns ‖a − n‖₂ / (‖a‖₂ + ‖n‖₂), the relative error
// the deep-learning course's gradient check prints, and 0 if both are zero.
func courseDifference(analytic, numeric []float64) float64 {
	diff, sa, sn := 0.0, 0.0, 0.0
	for k := range analytic {
		d := analytic[k] - numeric[k]
		diff += d * d
		sa += analytic[k] * analytic[k]
		sn += numeric[k] * numeric[k]
	}
	if sa == 0 && sn == 0 {
		return math.Sqrt(diff)
	}
	return math.Sqrt(diff) / (math.Sqrt(sa) + math.Sqrt(sn))
}

// weightedSum returns Σ r ⊙ out.
func weightedSum(r, out *Tensor) float64 {
	s := 0.0
	for k, v := range out.Data {
		s += r.Data[k] * v
	}
	return s
}

// numericGradient returns the central differences of objective with respect
// to every element of t, restoring each element afterwards.
func numericGradient(t *Tensor, objective func() float64) []float64 {
	grad := make([]float64, t.Size())
	for k := range t.Data {
		orig := t.Data[k]
		t.Data[k] = orig + layerEps
		plus := objective()
		t.Data[k] = orig - layerEps
		minus := objective()
		t.Data[k] = orig
		grad[k] = (plus - minus) / (2 * layerEps)
	}
	return grad
}

// compareGradients fails the test if analytic and numeric differ by more
// than 1e-6 relative, both by the course's norm rule and element by element
// against the largest magnitude of the gradient.
func compareGradients(t *testing.T, name string, analytic, numeric []float64) {
	t.Helper()
	if len(analytic) != len(numeric) {
		t.Fatalf("%s: analytic gradient has %d elements, numeric %d", name, len(analytic), len(numeric))
	}
	if d := courseDifference(analytic, numeric); d >= 1e-6 {
		t.Errorf("%s: ‖a − n‖/(‖a‖ + ‖n‖) = %.3g, want < 1e-6", name, d)
	}
	scale := 0.0
	for _, v := range numeric {
		scale = math.Max(scale, math.Abs(v))
	}
	for k := range analytic {
		if math.Abs(analytic[k]-numeric[k]) > 1e-6*scale {
			t.Errorf("%s[%d]: analytic %.12g, numeric %.12g", name, k, analytic[k], numeric[k])
			return
		}
	}
}

// checkLayerGradients compares Backward against central differences of
// Σ R ⊙ Forward(x) for the input and every parameter of l.
func checkLayerGradients(t *testing.T, rng *rand.Rand, l Layer, x *Tensor) {
	t.Helper()
	out := l.Forward(x)
	r := randomTensor(rng, out.Shape...)
	dX, grads := l.Backward(x, out, r)
	objective := func() float64 { return weightedSum(r, l.Forward(x)) }

	if !slices.Equal(dX.Shape, x.Shape) {
		t.Fatalf("dA_prev has shape %v, input %v", dX.Shape, x.Shape)
	}
	compareGradients(t, "dA_prev", dX.Data, numericGradient(x, objective))

	p, ok := l.(Parametric)
	if !ok {
		if len(grads) != 0 {
			t.Errorf("layer without parameters returned %d gradients", len(grads))
		}
		return
	}
	for j, param := range p.Params() {
		// Perturb a copy so the tensor the layer was built with stays as it was.
		perturbed := param.Value.Clone()
		p.SetParam(param.Role, perturbed)
		compareGradients(t, "d"+param.Role, grads[j].Data, numericGradient(perturbed, objective))
		p.SetParam(param.Role, param.Value)
	}
}

// awayFromZero returns a tensor of values with |v| ≥ 0.1, so ReLU's kink at
// 0 lies far outside ±eps.
func awayFromZero(rng *rand.Rand, shape ...int) *Tensor {
	t := randomTensor(rng, shape...)
	for k, v := range t.Data {
		t.Data[k] = math.Copysign(0.1+math.Abs(v), v)
	}
	return t
}

// distinctValues returns a tensor of distinct values 0.01 apart in random
// order, so no max-pool window has a tie or a gap below 2·eps.
func distinctValues(rng *rand.Rand, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for k, v := range rng.Perm(t.Size()) {
		t.Data[k] = 0.01 * float64(v-t.Size()/2)
	}
	return t
}

func TestConvFiniteDifferences(t *testing.T) {
	cases := []struct {
		m, nHPrev, nWPrev, nCPrev int
		f, stride, pad, nC        int
	}{
		{2, 5, 7, 3, 3, 2, 1, 4},
		{3, 6, 5, 2, 2, 1, 0, 3},
		{2, 7, 6, 1, 5, 3, 2, 2},
		{2, 4, 9, 5, 1, 2, 0, 3},
		{4, 3, 4, 2, 3, 1, 1, 2},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.f*100+c.stride*10+c.pad), 2))
			l := NewConv("conv", randomTensor(rng, c.f, c.f, c.nCPrev, c.nC), randomTensor(rng, 1, 1, 1, c.nC), c.stride, c.pad)
			checkLayerGradients(t, rng, l, randomTensor(rng, c.m, c.nHPrev, c.nWPrev, c.nCPrev))
		})
	}
}

func TestReLUFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 2))
	checkLayerGradients(t, rng, NewReLU("relu"), awayFromZero(rng, 2, 3, 4, 3))
}

func TestMaxPoolFiniteDifferences(t *testing.T) {
	cases := []struct{ m, nHPrev, nWPrev, nC, f, stride int }{
		{2, 6, 5, 3, 2, 2},
		{3, 5, 6, 2, 3, 1},
		{2, 7, 8, 2, 2, 3},
		{2, 4, 7, 1, 3, 2},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.f*10+c.stride), 4))
			checkLayerGradients(t, rng, NewMaxPool("pool", c.f, c.stride, TiesFirst), distinctValues(rng, c.m, c.nHPrev, c.nWPrev, c.nC))
		})
	}
}

func TestAvgPoolFiniteDifferences(t *testing.T) {
	cases := []struct{ m, nHPrev, nWPrev, nC, f, stride int }{
		{2, 6, 5, 3, 2, 2},
		{3, 5, 6, 2, 3, 1},
		{2, 7, 8, 2, 2, 3},
		{2, 5, 7, 4, 3, 2},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c.f*10+c.stride), 5))
			checkLayerGradients(t, rng, NewAvgPool("pool", c.f, c.stride), randomTensor(rng, c.m, c.nHPrev, c.nWPrev, c.nC))
		})
	}
}

func TestFlattenFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 2))
	checkLayerGradients(t, rng, NewFlatten("flatten"), randomTensor(rng, 2, 3, 4, 2))
}

func TestDenseFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 2))
	l := NewDense("fc", randomTensor(rng, 7, 5), randomTensor(rng, 1, 5))
	checkLayerGradients(t, rng, l, randomTensor(rng, 3, 7))
}

func TestSoftmaxCrossEntropyFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 2))
	loss := NewSoftmaxCrossEntropy("loss")
	z := randomTensor(rng, 4, 6)
	for k := range z.Data {
		z.Data[k] *= 3
	}
	y := OneHot([]int{0, 5, 2, 2}, 6)

	probs, _ := loss.Forward(z, y)
	dZ := loss.Backward(probs, y)
	objective := func() float64 {
		_, l := loss.Forward(z, y)
		return l
	}
	compareGradients(t, "dZ", dZ.Data, numericGradient(z, objective))
}

// TestSoftmaxCrossEntropyGradientRowsSumToZero checks the identity
// Σ_j dZ[i,j] = (1 − 1)/m = 0, which holds because softmax rows sum to 1.
func TestSoftmaxCrossEntropyGradientRowsSumToZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 2))
	loss := NewSoftmaxCrossEntropy("loss")
	z := randomTensor(rng, 3, 5)
	y := OneHot([]int{4, 0, 1}, 5)
	probs, _ := loss.Forward(z, y)
	dZ := loss.Backward(probs, y)
	for i := 0; i < 3; i++ {
		sum := 0.0
		for j := 0; j < 5; j++ {
			sum += dZ.Data[i*5+j]
		}
		if math.Abs(sum) > 1e-16 {
			t.Errorf("Σ_j dZ[%d,j] = %g, want 0", i, sum)
		}
	}
}
