package net

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// randomTensor returns a tensor of standard normal values.
func randomTensor(rng *rand.Rand, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for k := range t.Data {
		t.Data[k] = rng.NormFloat64()
	}
	return t
}

// absTensor returns |t| element by element.
func absTensor(t *Tensor) *Tensor {
	out := t.Clone()
	for k, v := range out.Data {
		out.Data[k] = math.Abs(v)
	}
	return out
}

// randomConvGeometry draws a geometry with f 1–5, stride 1–3, pad 0–2,
// m 1–4, channels 1–5 and independent input height and width that fit at
// least one window.
func randomConvGeometry(rng *rand.Rand) convGeometry {
	f := 1 + rng.IntN(5)
	stride := 1 + rng.IntN(3)
	pad := rng.IntN(3)
	side := func() int { return max(1, f-2*pad+rng.IntN(8)) }
	nHPrev, nWPrev := side(), side()
	g := convGeometry{
		m: 1 + rng.IntN(4), nHPrev: nHPrev, nWPrev: nWPrev, nCPrev: 1 + rng.IntN(5),
		f: f, stride: stride, pad: pad, nC: 1 + rng.IntN(5),
	}
	g.nH = OutputSize(nHPrev, f, stride, pad)
	g.nW = OutputSize(nWPrev, f, stride, pad)
	return g
}

// convOperands holds random A_prev, W, b and dZ for one geometry.
type convOperands struct {
	aPrev, w, b, dZ *Tensor
}

func randomConvOperands(rng *rand.Rand, g convGeometry) convOperands {
	return convOperands{
		aPrev: randomTensor(rng, g.m, g.nHPrev, g.nWPrev, g.nCPrev),
		w:     randomTensor(rng, g.f, g.f, g.nCPrev, g.nC),
		b:     randomTensor(rng, 1, 1, 1, g.nC),
		dZ:    randomTensor(rng, g.m, g.nH, g.nW, g.nC),
	}
}

// convResults holds Z, dA_prev, dW and db of one conv call.
type convResults struct {
	z, dAPrev, dW, db *Tensor
}

func newConvResults(g convGeometry) convResults {
	return convResults{
		z:      NewTensor(g.m, g.nH, g.nW, g.nC),
		dAPrev: NewTensor(g.m, g.nHPrev, g.nWPrev, g.nCPrev),
		dW:     NewTensor(g.f, g.f, g.nCPrev, g.nC),
		db:     NewTensor(1, 1, 1, g.nC),
	}
}

func runConvLoops(g convGeometry, op convOperands) convResults {
	res := newConvResults(g)
	convForwardLoops(g, op.aPrev.Data, op.w.Data, op.b.Data, res.z.Data)
	convBackwardLoops(g, op.aPrev.Data, op.w.Data, op.dZ.Data, res.dAPrev.Data, res.dW.Data, res.db.Data)
	return res
}

func runConvIm2col(g convGeometry, op convOperands) convResults {
	res := newConvResults(g)
	convForwardIm2col(g, op.aPrev.Data, op.w.Data, op.b.Data, res.z.Data)
	convBackwardIm2col(g, op.aPrev.Data, op.w.Data, op.dZ.Data, res.dAPrev.Data, res.dW.Data, res.db.Data)
	return res
}

// compareConvResults checks every element of got against want. The bound
// for an element is 1e-12 · Σ|terms|, where scale holds that sum: the loops
// run on |A_prev|, |W|, |b| and |dZ|. A relative bound on the value itself
// would fail wherever terms cancel to nearly zero, for any summation order.
func compareConvResults(t *testing.T, label string, got, want, scale convResults) {
	t.Helper()
	pairs := []struct {
		name           string
		got, want, abs *Tensor
	}{
		{"Z", got.z, want.z, scale.z},
		{"dA_prev", got.dAPrev, want.dAPrev, scale.dAPrev},
		{"dW", got.dW, want.dW, scale.dW},
		{"db", got.db, want.db, scale.db},
	}
	for _, p := range pairs {
		for k := range p.want.Data {
			diff := math.Abs(p.got.Data[k] - p.want.Data[k])
			if diff > 1e-12*p.abs.Data[k] {
				t.Errorf("%s: %s[%d] = %.17g, loops give %.17g (Σ|terms| %.3g)", label, p.name, k, p.got.Data[k], p.want.Data[k], p.abs.Data[k])
				return
			}
		}
	}
}

func absOperands(op convOperands) convOperands {
	return convOperands{aPrev: absTensor(op.aPrev), w: absTensor(op.w), b: absTensor(op.b), dZ: absTensor(op.dZ)}
}

func TestConvIm2colMatchesLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	for n := 0; n < 300; n++ {
		g := randomConvGeometry(rng)
		op := randomConvOperands(rng, g)
		label := fmt.Sprintf("case %d %+v", n, g)
		compareConvResults(t, label, runConvIm2col(g, op), runConvLoops(g, op), runConvLoops(g, absOperands(op)))
	}
}

func TestConvIm2colOneByOneFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	g := convGeometry{m: 3, nHPrev: 4, nWPrev: 5, nCPrev: 3, f: 1, stride: 1, pad: 0, nH: 4, nW: 5, nC: 2}
	if !g.colIsInput() {
		t.Fatal("a 1×1 filter with stride 1 and pad 0 should skip im2col")
	}
	op := randomConvOperands(rng, g)
	compareConvResults(t, "1×1", runConvIm2col(g, op), runConvLoops(g, op), runConvLoops(g, absOperands(op)))
}

func TestConvIm2colChunkedBatch(t *testing.T) {
	saved := maxColElements
	defer func() { maxColElements = saved }()

	rng := rand.New(rand.NewPCG(9, 1))
	g := convGeometry{m: 5, nHPrev: 6, nWPrev: 7, nCPrev: 2, f: 3, stride: 2, pad: 1, nC: 3}
	g.nH, g.nW = OutputSize(6, 3, 2, 1), OutputSize(7, 3, 2, 1)

	// Two samples' windows fit the buffer, so the batch runs as 2 + 2 + 1.
	maxColElements = 2 * g.nH * g.nW * g.colWidth()
	if got := g.chunkSamples(); got != 2 {
		t.Fatalf("chunkSamples = %d, want 2", got)
	}
	op := randomConvOperands(rng, g)
	compareConvResults(t, "chunked", runConvIm2col(g, op), runConvLoops(g, op), runConvLoops(g, absOperands(op)))
}

func TestConvIm2colManyChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	g := convGeometry{m: 21, nHPrev: 5, nWPrev: 4, nCPrev: 2, f: 3, stride: 1, pad: 1, nC: 3}
	g.nH, g.nW = OutputSize(5, 3, 1, 1), OutputSize(4, 3, 1, 1)
	if _, chunks, _ := g.chunking(); chunks != 3 {
		t.Fatalf("21 samples run as %d chunks, want 3", chunks)
	}
	op := randomConvOperands(rng, g)
	compareConvResults(t, "21 samples", runConvIm2col(g, op), runConvLoops(g, op), runConvLoops(g, absOperands(op)))
}

func TestConvIm2colSameBitsOnAnyCPUCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	g := convGeometry{m: 30, nHPrev: 6, nWPrev: 7, nCPrev: 3, f: 3, stride: 2, pad: 1, nC: 4}
	g.nH, g.nW = OutputSize(6, 3, 2, 1), OutputSize(7, 3, 2, 1)
	op := randomConvOperands(rng, g)

	saved := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(saved)
	serial := runConvIm2col(g, op)
	runtime.GOMAXPROCS(4)
	parallel := runConvIm2col(g, op)

	pairs := map[string][2]*Tensor{
		"Z": {serial.z, parallel.z}, "dA_prev": {serial.dAPrev, parallel.dAPrev},
		"dW": {serial.dW, parallel.dW}, "db": {serial.db, parallel.db},
	}
	for name, p := range pairs {
		for k := range p[0].Data {
			if p[0].Data[k] != p[1].Data[k] {
				t.Errorf("%s[%d] = %.17g on 1 CPU, %.17g on 4", name, k, p[0].Data[k], p[1].Data[k])
				break
			}
		}
	}
}

func TestConvLayerUsesIm2col(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 1))
	g := convGeometry{m: 2, nHPrev: 5, nWPrev: 6, nCPrev: 3, f: 3, stride: 2, pad: 1, nC: 4}
	g.nH, g.nW = OutputSize(5, 3, 2, 1), OutputSize(6, 3, 2, 1)
	op := randomConvOperands(rng, g)
	l := NewConv("conv", op.w, op.b, g.stride, g.pad)

	z := l.Forward(op.aPrev)
	dAPrev, grads := l.Backward(op.aPrev, z, op.dZ)
	got := convResults{z: z, dAPrev: dAPrev, dW: grads[0], db: grads[1]}
	compareConvResults(t, "layer", got, runConvLoops(g, op), runConvLoops(g, absOperands(op)))
}

func TestConvUnreachedRowsGetZeroGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))

	// f 2, stride 3 on a 7×8 input: windows start at rows 0 and 3 and at
	// columns 0, 3 and 6, so rows 2, 5, 6 and columns 2, 5 are never read.
	g := convGeometry{m: 2, nHPrev: 7, nWPrev: 8, nCPrev: 2, f: 2, stride: 3, pad: 0, nC: 3}
	g.nH, g.nW = OutputSize(7, 2, 3, 0), OutputSize(8, 2, 3, 0)
	op := randomConvOperands(rng, g)
	res := runConvIm2col(g, op)

	unreachedRow := map[int]bool{2: true, 5: true, 6: true}
	unreachedCol := map[int]bool{2: true, 5: true}
	for i := 0; i < g.m; i++ {
		for r := 0; r < g.nHPrev; r++ {
			for k := 0; k < g.nWPrev; k++ {
				for c := 0; c < g.nCPrev; c++ {
					v := res.dAPrev.Data[((i*g.nHPrev+r)*g.nWPrev+k)*g.nCPrev+c]
					unreached := unreachedRow[r] || unreachedCol[k]
					if unreached && v != 0 {
						t.Errorf("dA_prev[%d,%d,%d,%d] = %g, want 0: no window reaches it", i, r, k, c, v)
					}
					if !unreached && v == 0 {
						t.Errorf("dA_prev[%d,%d,%d,%d] = 0 but a window reaches it", i, r, k, c)
					}
				}
			}
		}
	}
}

// TestConvCourseNotebook runs the conv exercise of the deep-learning course
// notebook (pad 1, stride 2 on its seeded arrays) and checks the values the
// notebook prints.
func TestConvCourseNotebook(t *testing.T) {
	dir := filepath.Join("testdata", "course")
	aPrev := readNPYTensor(t, filepath.Join(dir, "A_prev.npy"))
	w := readNPYTensor(t, filepath.Join(dir, "W.npy"))
	b := readNPYTensor(t, filepath.Join(dir, "b.npy"))

	z := NewConv("conv", w, b, 2, 1).Forward(aPrev)
	if !slices.Equal(z.Shape, []int{2, 3, 4, 8}) {
		t.Fatalf("Z has shape %v, want [2 3 4 8]", z.Shape)
	}

	mean := 0.0
	for _, v := range z.Data {
		mean += v
	}
	mean /= float64(len(z.Data))
	if math.Abs(mean-0.5511276474566768) > 1e-15 {
		t.Errorf("mean(Z) = %.16g, want 0.5511276474566768", mean)
	}

	want := []float64{-2.17796037, 8.07171329, -0.5772704, 3.36286738, 4.48113645, -2.89198428, 10.99288867, 3.03171932}
	at := ((0*3+2)*4 + 1) * 8
	for c, v := range want {
		// The notebook prints 8 decimals, so agree to half a unit in the last one.
		if got := z.Data[at+c]; math.Abs(got-v) > 5e-9 {
			t.Errorf("Z[0,2,1,%d] = %.10f, want %.8f", c, got, v)
		}
	}
}
