package net

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The tests in this file check the fast paths of the layers against plain
// per-element versions. Pooling by rows of channels must match windowMax.
// The Dgemm kernels must give NaN for 0·Inf, which Dgemm alone drops because
// it skips zero operands.

// poolReference computes a pool layer's forward and backward one window and
// one channel at a time with windowMax, as the explanations do.
func poolReference(l *Pool, aPrev, dA *Tensor) (a, dAPrev *Tensor) {
	g := newPoolGeometry(aPrev.Shape, l.F, l.Stride)
	a = NewTensor(g.m, g.nH, g.nW, g.nC)
	dAPrev = NewTensor(aPrev.Shape...)
	area := float64(g.f * g.f)
	out := 0
	for i := 0; i < g.m; i++ {
		for h := 0; h < g.nH; h++ {
			for w := 0; w < g.nW; w++ {
				for c := 0; c < g.nC; c++ {
					grad := dA.Data[out]
					if l.Max {
						best, at := g.windowMax(aPrev.Data, i, h, w, c)
						a.Data[out] = best
						switch l.Ties {
						case TiesAll:
							for _, k := range at {
								dAPrev.Data[k] += grad
							}
						case TiesSplit:
							for _, k := range at {
								dAPrev.Data[k] += grad / float64(len(at))
							}
						default:
							dAPrev.Data[at[0]] += grad
						}
						out++
						continue
					}
					sum := 0.0
					for p := 0; p < g.f; p++ {
						for q := 0; q < g.f; q++ {
							k := g.at(i, h*g.stride+p, w*g.stride+q, c)
							sum += aPrev.Data[k]
							dAPrev.Data[k] += grad / area
						}
					}
					a.Data[out] = sum / area
					out++
				}
			}
		}
	}
	return a, dAPrev
}

// tiedTensor returns values drawn from a few integers, so max-pool windows
// tie often, with an occasional NaN, +Inf or −Inf when special is set.
func tiedTensor(rng *rand.Rand, special bool, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for k := range t.Data {
		t.Data[k] = float64(rng.IntN(3))
		if special && rng.IntN(20) == 0 {
			t.Data[k] = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[rng.IntN(3)]
		}
	}
	return t
}

// sameFloats reports whether a and b agree element by element within tol,
// with NaN equal to NaN and infinities equal to themselves.
func sameFloats(a, b []float64, tol float64) (int, bool) {
	for k := range a {
		x, y := a[k], b[k]
		if x != x && y != y || x == y {
			continue
		}
		if math.Abs(x-y) > tol*math.Max(1, math.Abs(y)) {
			return k, false
		}
	}
	return -1, true
}

func TestPoolRowsMatchWindowMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	for n := 0; n < 60; n++ {
		f := 1 + rng.IntN(3)
		stride := 1 + rng.IntN(3)
		m := 1 + rng.IntN(20)
		shape := []int{m, f + rng.IntN(6), f + rng.IntN(6), 1 + rng.IntN(4)}
		aPrev := tiedTensor(rng, n%2 == 1, shape...)
		layers := []*Pool{NewAvgPool("pool", f, stride)}
		for _, ties := range []Ties{TiesFirst, TiesAll, TiesSplit} {
			layers = append(layers, NewMaxPool("pool", f, stride, ties))
		}
		for _, l := range layers {
			label := fmt.Sprintf("case %d %s ties %q shape %v f %d stride %d", n, l.Kind(), l.Ties, shape, f, stride)
			a := l.Forward(aPrev)
			dA := randomTensor(rng, a.Shape...)
			dAPrev, _ := l.Backward(aPrev, a, dA)
			wantA, wantDAPrev := poolReference(l, aPrev, dA)
			if k, ok := sameFloats(a.Data, wantA.Data, 1e-12); !ok {
				t.Errorf("%s: A[%d] = %g, windowMax gives %g", label, k, a.Data[k], wantA.Data[k])
			}
			if k, ok := sameFloats(dAPrev.Data, wantDAPrev.Data, 1e-12); !ok {
				t.Errorf("%s: dA_prev[%d] = %g, windowMax gives %g", label, k, dAPrev.Data[k], wantDAPrev.Data[k])
			}
		}
	}
}

func TestDenseInfTimesZeroIsNaN(t *testing.T) {
	w := NewTensor(2, 1)
	w.Data[0] = math.Inf(1)
	l := NewDense("fc", w, NewTensor(1, 1))
	aPrev := FromData([]float64{0, 1}, 1, 2)
	if z := l.Forward(aPrev); !math.IsNaN(z.Data[0]) {
		t.Errorf("Z = %g for A_prev [0 1] and W [Inf 0], want NaN", z.Data[0])
	}

	dZ := FromData([]float64{math.Inf(1)}, 1, 1)
	_, grads := l.Backward(aPrev, nil, dZ)
	if dW := grads[0]; !math.IsNaN(dW.Data[0]) {
		t.Errorf("dW[0,0] = %g for A_prev[0,0] = 0 and dZ = Inf, want NaN", dW.Data[0])
	}
}

func TestConvInfTimesZeroIsNaN(t *testing.T) {
	w := NewTensor(1, 1, 1, 1)
	w.Data[0] = math.Inf(1)
	l := NewConv("conv", w, NewTensor(1, 1, 1, 1), 1, 0)
	aPrev := NewTensor(1, 2, 2, 1)
	z := l.Forward(aPrev)
	for k, v := range z.Data {
		if !math.IsNaN(v) {
			t.Errorf("Z[%d] = %g for A_prev 0 and W Inf, want NaN", k, v)
		}
	}

	w.Data[0] = 0
	dZ := FromData([]float64{math.Inf(1), 1, 1, 1}, 1, 2, 2, 1)
	dAPrev, _ := l.Backward(aPrev, nil, dZ)
	if !math.IsNaN(dAPrev.Data[0]) {
		t.Errorf("dA_prev[0] = %g for W 0 and dZ Inf, want NaN", dAPrev.Data[0])
	}
}

func TestPositiveMaskMatchesGreaterThanZero(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1, 5e-324, -5e-324, math.MaxFloat64, -math.MaxFloat64,
		math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(math.NaN(), -1), math.Float64frombits(0x7FF0000000000001)}
	for _, v := range values {
		want := uint64(0)
		if v > 0 {
			want = math.MaxUint64
		}
		if got := positiveMask(v); got != want {
			t.Errorf("positiveMask(%g) (bits %#x) = %#x, want %#x", v, math.Float64bits(v), got, want)
		}
	}
}

func TestReLUKeepsNaNAndBlocksGradient(t *testing.T) {
	l := NewReLU("relu")
	z := FromData([]float64{math.NaN(), -1, 0, 2, math.Inf(1), math.Inf(-1)}, 1, 6)
	a := l.Forward(z)
	want := []float64{math.NaN(), 0, 0, 2, math.Inf(1), 0}
	if k, ok := sameFloats(a.Data, want, 0); !ok {
		t.Errorf("A[%d] = %g, want %g", k, a.Data[k], want[k])
	}

	dA := FromData([]float64{5, math.Inf(1), math.NaN(), math.NaN(), -3, 7}, 1, 6)
	dZ, _ := l.Backward(z, a, dA)
	wantDZ := []float64{0, 0, 0, math.NaN(), -3, 0}
	if k, ok := sameFloats(dZ.Data, wantDZ, 0); !ok {
		t.Errorf("dZ[%d] = %g, want %g", k, dZ.Data[k], wantDZ[k])
	}
}
