package net

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// learnerConvBackward is a learner's conv_backward written the course's way,
// one loop over i, h, w, c, with a mistake that no fingerprint reproduces: the dW
// update reads a_slice transposed, a_slice[q, p, c'] in place of a_slice[p, q, c'].
func learnerConvBackward(aPrev, w *Tensor, stride, pad int, dZ *Tensor) (dAPrev, dW, db *Tensor) {
	m, nHPrev, nWPrev, nCPrev := aPrev.dims4()
	f, nC := w.Shape[0], w.Shape[3]
	_, nH, nW, _ := dZ.dims4()
	padded := zeroPad(aPrev, pad)
	dAPrevPad := NewTensor(padded.Shape...)
	dW = NewTensor(w.Shape...)
	db = NewTensor(1, 1, 1, nC)
	for i := 0; i < m; i++ {
		for h := 0; h < nH; h++ {
			for wo := 0; wo < nW; wo++ {
				for c := 0; c < nC; c++ {
					dz := dZ.Data[nhwcOffset(dZ.Shape, i, h, wo, c)]
					db.Data[c] += dz
					for p := 0; p < f; p++ {
						for q := 0; q < f; q++ {
							for cp := 0; cp < nCPrev; cp++ {
								dAPrevPad.Data[nhwcOffset(padded.Shape, i, h*stride+p, wo*stride+q, cp)] += w.Data[nhwcOffset(w.Shape, p, q, cp, c)] * dz
								transposed := padded.Data[nhwcOffset(padded.Shape, i, h*stride+q, wo*stride+p, cp)]
								dW.Data[nhwcOffset(w.Shape, p, q, cp, c)] += transposed * dz
							}
						}
					}
				}
			}
		}
	}
	return crop(dAPrevPad, pad, pad+nHPrev, pad, pad+nWPrev), dW, db
}

func TestCompareLearnerTransposedDW(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	aPrev, w, b := randomTensor(rng, 2, 5, 7, 4), randomTensor(rng, 3, 3, 4, 8), randomTensor(rng, 1, 1, 1, 8)
	dZ := randomTensor(rng, 2, 3, 4, 8)
	dAPrev, dW, db := learnerConvBackward(aPrev, w, 2, 1, dZ)

	r, err := CompareConv(aPrev, w, b, 2, 1, dZ, map[string]*Tensor{"dA_prev": dAPrev, "dW": dW, "db": db})
	if err != nil {
		t.Fatal(err)
	}
	if r.Matches() {
		t.Fatal("the report matches although dW is transposed")
	}
	byName := map[string]Comparison{}
	var order []string
	for _, c := range r.Comparisons {
		byName[c.Name] = c
		order = append(order, c.Name)
	}
	if !slices.Equal(order, []string{"dA_prev", "dW", "db"}) {
		t.Errorf("comparisons are %v, want the course's order dA_prev, dW, db", order)
	}
	if !byName["dA_prev"].Matches() || !byName["db"].Matches() {
		t.Errorf("the learner's right dA_prev or db is reported wrong")
	}

	bad := byName["dW"]
	// Transposing p and q leaves the diagonal p = q right, so the first wrong
	// element in row-major order is dW[0,1,0,0].
	if !slices.Equal(bad.First, []int{0, 1, 0, 0}) {
		t.Errorf("first wrong element %v, want [0 1 0 0]", bad.First)
	}
	if want := 3 * 4 * 8 * 2; bad.Wrong != want {
		t.Errorf("%d wrong elements, want the %d off the diagonal", bad.Wrong, want)
	}
	if len(bad.Fingerprints) != 0 {
		t.Errorf("a transposed dW is taken for %v", fingerprintNames(bad.Fingerprints))
	}
	if bad.Tried == 0 {
		t.Errorf("no known dW mistakes were tried")
	}

	x, err := r.ExplainFirst(&bad)
	if err != nil {
		t.Fatal(err)
	}
	if x.Tensor != "conv.dW" || !slices.Equal(x.Index, []int{0, 1, 0, 0}) || !x.Agrees() {
		t.Errorf("explanation of %s%v agrees %v, want conv.dW[0,1,0,0] agreeing", x.Tensor, x.Index, x.Agrees())
	}
	if x.Recorded != bad.Expected.Data[nhwcOffset(bad.Expected.Shape, 0, 1, 0, 0)] {
		t.Errorf("explained value %g is not the expected dW[0,1,0,0]", x.Recorded)
	}
}

func TestCompareRightArraysMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	aPrev, w, b := randomTensor(rng, 2, 4, 4, 3), randomTensor(rng, 2, 2, 3, 5), randomTensor(rng, 1, 1, 1, 5)
	ex, err := ConvExercise(aPrev, w, b, 1, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	given := map[string]*Tensor{}
	for name, v := range ex.Outputs {
		given[name] = v.Clone()
	}
	r, err := CompareConv(aPrev, w, b, 1, 0, nil, given)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Matches() || len(r.Comparisons) != 4 {
		t.Fatalf("right arrays: matches %v with %d comparisons", r.Matches(), len(r.Comparisons))
	}
	for _, c := range r.Comparisons {
		if c.First != nil || c.Fingerprints != nil || c.MaxAbsErr != 0 {
			t.Errorf("%s: first %v, fingerprints %v, max error %g", c.Name, c.First, c.Fingerprints, c.MaxAbsErr)
		}
	}
}

// learnerAvgPoolBackward is a learner's average pool_backward whose window
// is one row and column short, A_prev[vs:vs+f-1, hs:hs+f-1], but that still
// divides by f·f.
func learnerAvgPoolBackward(aPrev *Tensor, f, stride int, dA *Tensor) *Tensor {
	m, _, _, nC := aPrev.dims4()
	_, nH, nW, _ := dA.dims4()
	out := NewTensor(aPrev.Shape...)
	for i := 0; i < m; i++ {
		for h := 0; h < nH; h++ {
			for w := 0; w < nW; w++ {
				for c := 0; c < nC; c++ {
					for p := 0; p < f-1; p++ {
						for q := 0; q < f-1; q++ {
							out.Data[nhwcOffset(out.Shape, i, h*stride+p, w*stride+q, c)] += dA.Data[nhwcOffset(dA.Shape, i, h, w, c)] / float64(f*f)
						}
					}
				}
			}
		}
	}
	return out
}

func TestCompareLearnerShortPoolWindowStrideTwo(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	aPrev, dA := randomTensor(rng, 2, 4, 6, 3), randomTensor(rng, 2, 2, 3, 3)
	mine := learnerAvgPoolBackward(aPrev, 2, 2, dA)
	r, err := ComparePool(aPrev, 2, 2, "average", "", dA, map[string]*Tensor{"dA_prev": mine})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Comparisons[0]
	// The 1×1 window covers (0, 0) of each 2×2 window, so dA_prev[0,0,0,c] is
	// right and dA_prev[0,0,1,0] is the first element the learner misses.
	if !slices.Equal(c.First, []int{0, 0, 1, 0}) {
		t.Errorf("first wrong element %v, want [0 0 1 0]", c.First)
	}
	if want := 2 * 4 * 6 * 3 * 3 / 4; c.Wrong != want {
		t.Errorf("%d wrong elements, want %d (three of every four)", c.Wrong, want)
	}
	if len(c.Fingerprints) != 0 {
		t.Errorf("a short window is taken for %v", fingerprintNames(c.Fingerprints))
	}
	x, err := r.ExplainFirst(&c)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Terms) != 1 || x.Terms[0].Coef != 0.25 {
		t.Errorf("dA_prev[0,0,1,0] should have one term dA/4, has %d terms", len(x.Terms))
	}
}

func TestCompareMaxPoolStrideTwoMatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	aPrev, dA := distinctValues(rng, 1, 4, 4, 2), randomTensor(rng, 1, 2, 2, 2)
	ex, err := PoolExercise(aPrev, 2, 2, "max", TiesFirst, dA)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ComparePool(aPrev, 2, 2, "max", TiesFirst, dA, map[string]*Tensor{"A": ex.Outputs["A"], "dA_prev": ex.Outputs["dA_prev"]})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Matches() {
		t.Errorf("the reference's own arrays do not match")
	}
}

func TestCompareEmptyDAPrevAtPadZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	aPrev, w, b := randomTensor(rng, 2, 4, 4, 3), randomTensor(rng, 3, 3, 3, 2), randomTensor(rng, 1, 1, 1, 2)
	empty := NewTensor(2, 0, 0, 3)
	r, err := CompareConv(aPrev, w, b, 1, 0, nil, map[string]*Tensor{"dA_prev": empty})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Comparisons[0]
	if c.ShapeOK || c.Compared || c.Matches() {
		t.Errorf("an empty dA_prev: shape ok %v, compared %v, matches %v", c.ShapeOK, c.Compared, c.Matches())
	}
	names := fingerprintNames(c.Fingerprints)
	if !slices.Contains(names, "unpad-empty-at-pad-0") {
		t.Errorf("an empty dA_prev at pad 0 is not recognized: %v", names)
	}
}

func TestCompareToleranceAbsoluteAndRelative(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	aPrev, dA := distinctValues(rng, 1, 2, 2, 1), FromData([]float64{1e9}, 1, 1, 1, 1)
	ex, err := PoolExercise(aPrev, 2, 2, "average", "", dA)
	if err != nil {
		t.Fatal(err)
	}
	// Every element is 2.5e8: an error of 1 is above 1e-8 absolutely but
	// within 1e-8 relative.
	given := ex.Outputs["dA_prev"].Clone()
	given.Data[1] += 1
	r, err := ComparePool(aPrev, 2, 2, "average", "", dA, map[string]*Tensor{"dA_prev": given})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Comparisons[0]
	if !c.Matches() || c.RelativeOnly != 1 || c.MaxAbsErr != 1 {
		t.Errorf("relative match: matches %v, relative only %d, max abs error %g", c.Matches(), c.RelativeOnly, c.MaxAbsErr)
	}

	given.Data[2] += 10
	r, _ = ComparePool(aPrev, 2, 2, "average", "", dA, map[string]*Tensor{"dA_prev": given})
	c = r.Comparisons[0]
	if c.Matches() || c.Wrong != 1 || !slices.Equal(c.First, []int{0, 1, 0, 0}) {
		t.Errorf("an error of 10 in 2.5e8: wrong %d, first %v", c.Wrong, c.First)
	}
}

func TestCompareNaNAndSqueezedShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	aPrev, w, b := randomTensor(rng, 1, 3, 3, 1), randomTensor(rng, 2, 2, 1, 4), randomTensor(rng, 1, 1, 1, 4)
	ex, err := ConvExercise(aPrev, w, b, 1, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := FromData(slices.Clone(ex.Outputs["db"].Data), 4)
	dW := ex.Outputs["dW"].Clone()
	dW.Data[6] = math.NaN()
	r, err := CompareConv(aPrev, w, b, 1, 0, nil, map[string]*Tensor{"db": db, "dW": dW})
	if err != nil {
		t.Fatal(err)
	}
	gotDW, gotDB := r.Comparisons[0], r.Comparisons[1]
	if gotDW.Wrong != 1 || !math.IsNaN(gotDW.MaxAbsErr) || !slices.Equal(gotDW.First, []int{0, 1, 0, 2}) {
		t.Errorf("dW with a NaN: wrong %d, max error %g, first %v", gotDW.Wrong, gotDW.MaxAbsErr, gotDW.First)
	}
	if gotDB.ShapeOK || !gotDB.Compared || gotDB.Wrong != 0 || gotDB.Matches() {
		t.Errorf("db of shape (4,): shape ok %v, compared %v, wrong %d, matches %v", gotDB.ShapeOK, gotDB.Compared, gotDB.Wrong, gotDB.Matches())
	}
}

func TestCompareRejectsUnknownOrNoArrays(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	aPrev, dA := randomTensor(rng, 1, 2, 2, 1), randomTensor(rng, 1, 1, 1, 1)
	if _, err := ComparePool(aPrev, 2, 2, "max", TiesFirst, dA, nil); err == nil {
		t.Errorf("no given arrays: no error")
	}
	if _, err := ComparePool(aPrev, 2, 2, "max", TiesFirst, dA, map[string]*Tensor{"dW": aPrev}); err == nil {
		t.Errorf("a dW for a pool layer: no error")
	}
}
