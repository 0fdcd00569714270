package net

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// convSetup is one conv exercise's inputs; a nil dZ means --dz-from-z.
type convSetup struct {
	name        string
	aPrev, w, b *Tensor
	stride, pad int
	dZ          *Tensor
}

// convSetups returns exercises that between them make every conv
// fingerprint differ from the right answer: pad 0 with stride 1, f = 2 and
// n_C_prev = 2 (so a dZ slice broadcasts as numpy allows), pad 1 with
// stride 2 as in the course, and --dz-from-z.
func convSetups(rng *rand.Rand) []convSetup {
	small := func(name string, withDZ bool) convSetup {
		s := convSetup{name: name, aPrev: randomTensor(rng, 2, 4, 5, 2), w: randomTensor(rng, 2, 2, 2, 3), b: randomTensor(rng, 1, 1, 1, 3), stride: 1}
		if withDZ {
			s.dZ = randomTensor(rng, 2, 3, 4, 3)
		}
		return s
	}
	course := convSetup{name: "pad 1 stride 2", aPrev: randomTensor(rng, 2, 5, 7, 4), w: randomTensor(rng, 3, 3, 4, 8), b: randomTensor(rng, 1, 1, 1, 8), stride: 2, pad: 1}
	course.dZ = randomTensor(rng, 2, 3, 4, 8)
	return []convSetup{small("pad 0 stride 1", true), small("pad 0 dz from z", false), course}
}

func (s convSetup) run(t *testing.T) (*convCase, *Exercise) {
	t.Helper()
	ex, err := ConvExercise(s.aPrev, s.w, s.b, s.stride, s.pad, s.dZ)
	if err != nil {
		t.Fatal(err)
	}
	return newConvCase(s.aPrev, s.w, s.b, s.stride, s.pad, s.dZ, ex), ex
}

// assertDiffers fails unless fp.Value differs from want by more than the
// comparison tolerance, in shape or in some element.
func assertDiffers(t *testing.T, fp Fingerprint, want *Tensor) {
	t.Helper()
	if !slices.Equal(fp.Value.Shape, want.Shape) {
		return
	}
	largest := 0.0
	for k := range want.Data {
		largest = math.Max(largest, math.Abs(fp.Value.Data[k]-want.Data[k]))
	}
	if largest < 1e-6 {
		t.Errorf("%s: differs from the right %s by only %g", fp.Name, fp.Array, largest)
	}
}

var convFingerprintNames = []string{
	"dA_prev-overwrite", "unpad-keeps-bottom-right", "unpad-keeps-top-left", "unpad-top-left-corner",
	"unpad-empty-at-pad-0", "unpad-missing", "dA_prev-dZ-sliced-by-window",
	"dW-last-sample", "dW-divided-by-m", "dW-overwrite", "dW-dZ-sliced-by-window",
	"db-last-sample", "db-divided-by-m", "db-overwrite", "bias-in-every-product",
}

func TestConvFingerprintsDifferAndAreRecognized(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	seen := map[string]bool{}
	for _, s := range convSetups(rng) {
		c, ex := s.run(t)
		for _, array := range ex.Order {
			for _, fp := range c.fingerprints(array) {
				seen[fp.Name] = true
				if fp.Array != array {
					t.Errorf("%s %s: fingerprint for %s is listed under %s", s.name, fp.Name, fp.Array, array)
				}
				assertDiffers(t, fp, ex.Outputs[array])

				r, err := CompareConv(s.aPrev, s.w, s.b, s.stride, s.pad, s.dZ, map[string]*Tensor{array: fp.Value})
				if err != nil {
					t.Fatal(err)
				}
				got := r.Comparisons[0]
				if got.Matches() {
					t.Errorf("%s %s: the mistaken %s is reported as matching", s.name, fp.Name, array)
				}
				if !slices.ContainsFunc(got.Fingerprints, func(f Fingerprint) bool { return f.Name == fp.Name }) {
					t.Errorf("%s %s: not recognized in the mistaken %s; recognized %v", s.name, fp.Name, array, fingerprintNames(got.Fingerprints))
				}
			}
		}
	}
	for _, name := range convFingerprintNames {
		if !seen[name] {
			t.Errorf("no setup makes %s differ from the right answer", name)
		}
	}
}

func fingerprintNames(fps []Fingerprint) []string {
	var names []string
	for _, fp := range fps {
		names = append(names, fp.Name)
	}
	return names
}

// findFingerprint returns the fingerprint called name among fps.
func findFingerprint(t *testing.T, fps []Fingerprint, name string) Fingerprint {
	t.Helper()
	for _, fp := range fps {
		if fp.Name == name {
			return fp
		}
	}
	t.Fatalf("no fingerprint %s among %v", name, fingerprintNames(fps))
	return Fingerprint{}
}

func TestUnpadAtPadZeroIsEmpty(t *testing.T) {
	s := convSetups(rand.New(rand.NewPCG(5, 6)))[0]
	c, _ := s.run(t)
	fp := findFingerprint(t, c.fingerprints("dA_prev"), "unpad-empty-at-pad-0")
	if !slices.Equal(fp.Value.Shape, []int{2, 0, 0, 2}) {
		t.Errorf("da_prev_pad[0:-0, 0:-0] has shape %v, want [2 0 0 2]", fp.Value.Shape)
	}
}

func TestUnpadCornersAtPadOne(t *testing.T) {
	s := convSetups(rand.New(rand.NewPCG(5, 6)))[2]
	c, ex := s.run(t)
	fps := c.fingerprints("dA_prev")
	if !slices.Equal(findFingerprint(t, fps, "unpad-keeps-bottom-right").Value.Shape, []int{2, 6, 8, 4}) {
		t.Errorf("da_prev_pad[1:, 1:] has the wrong shape")
	}
	if !slices.Equal(findFingerprint(t, fps, "unpad-missing").Value.Shape, []int{2, 7, 9, 4}) {
		t.Errorf("dA_prev_pad has the wrong shape")
	}
	corner := findFingerprint(t, fps, "unpad-top-left-corner").Value
	right := ex.Outputs["dA_prev"]
	// The corner slice is shifted by pad: its element (1, 1) is dA_prev[0, 0].
	if corner.Data[nhwcOffset(corner.Shape, 1, 1, 1, 2)] != right.Data[nhwcOffset(right.Shape, 1, 0, 0, 2)] {
		t.Errorf("da_prev_pad[:n_H_prev, :n_W_prev][1,1,1,2] is not dA_prev[1,0,0,2]")
	}
	for _, name := range []string{"unpad-empty-at-pad-0"} {
		if slices.ContainsFunc(fps, func(f Fingerprint) bool { return f.Name == name }) {
			t.Errorf("%s is offered at pad 1, where it gives the right answer", name)
		}
	}
}

func TestDWAndDBBatchMistakes(t *testing.T) {
	s := convSetups(rand.New(rand.NewPCG(7, 8)))[2]
	c, ex := s.run(t)
	dW, db := ex.Outputs["dW"], ex.Outputs["db"]

	divided := findFingerprint(t, c.fingerprints("dW"), "dW-divided-by-m").Value
	if math.Abs(divided.Data[5]-dW.Data[5]/2) > 1e-12 {
		t.Errorf("dW divided by m: element 5 is %g, want %g", divided.Data[5], dW.Data[5]/2)
	}

	last := findFingerprint(t, c.fingerprints("db"), "db-last-sample").Value
	for ch := 0; ch < 8; ch++ {
		want := 0.0
		for h := 0; h < 3; h++ {
			for w := 0; w < 4; w++ {
				want += s.dZ.Data[nhwcOffset(s.dZ.Shape, 1, h, w, ch)]
			}
		}
		if math.Abs(last.Data[ch]-want) > 1e-12 {
			t.Errorf("db of the last sample, channel %d: %g, want %g", ch, last.Data[ch], want)
		}
	}

	overwritten := findFingerprint(t, c.fingerprints("db"), "db-overwrite").Value
	if overwritten.Data[3] != s.dZ.Data[nhwcOffset(s.dZ.Shape, 1, 2, 3, 3)] {
		t.Errorf("db[3] = dZ[i,h,w,3] keeps %g, want the last dZ[1,2,3,3]", overwritten.Data[3])
	}
	if db.Data[3] == overwritten.Data[3] {
		t.Errorf("db-overwrite equals the right db[3]")
	}
}

func TestBiasInEveryProduct(t *testing.T) {
	setups := convSetups(rand.New(rand.NewPCG(9, 10)))
	c, ex := setups[2].run(t)
	z := findFingerprint(t, c.fingerprints("Z"), "bias-in-every-product").Value
	// f·f·n_C_prev = 36 products, so b is added 35 times too often.
	want := ex.Outputs["Z"].Data[7] + 35*setups[2].b.Data[7]
	if math.Abs(z.Data[7]-want) > 1e-9 {
		t.Errorf("Z[0,0,0,7] with b in every product: %g, want %g", z.Data[7], want)
	}
	if slices.ContainsFunc(c.fingerprints("dW"), func(f Fingerprint) bool { return f.Name == "bias-in-every-product" }) {
		t.Errorf("bias-in-every-product is offered for dW although dZ was given, not taken from Z")
	}

	fromZ, _ := setups[1].run(t)
	findFingerprint(t, fromZ.fingerprints("dW"), "bias-in-every-product")
}

// tiedInput returns an A_prev of small integers, so many max-pool windows tie.
func tiedInput(rng *rand.Rand, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for k := range t.Data {
		t.Data[k] = float64(rng.IntN(3))
	}
	return t
}

// poolSetup is one pool exercise's inputs.
type poolSetup struct {
	name      string
	aPrev, dA *Tensor
	f, stride int
	mode      string
	ties      Ties
}

func (s poolSetup) run(t *testing.T) (*poolCase, *Exercise) {
	t.Helper()
	ex, err := PoolExercise(s.aPrev, s.f, s.stride, s.mode, s.ties, s.dA)
	if err != nil {
		t.Fatal(err)
	}
	return newPoolCase(s.aPrev, s.f, s.stride, s.mode != "max", s.ties, s.dA, ex), ex
}

func poolSetups(rng *rand.Rand) []poolSetup {
	return []poolSetup{
		{"max stride 1", tiedInput(rng, 2, 5, 5, 3), randomTensor(rng, 2, 4, 4, 3), 2, 1, "max", TiesFirst},
		{"max stride 2", tiedInput(rng, 2, 4, 6, 3), randomTensor(rng, 2, 2, 3, 3), 2, 2, "max", TiesFirst},
		{"max stride 2 mask", tiedInput(rng, 2, 4, 6, 3), randomTensor(rng, 2, 2, 3, 3), 2, 2, "max", TiesAll},
		{"average stride 1", randomTensor(rng, 2, 5, 5, 3), randomTensor(rng, 2, 4, 4, 3), 2, 1, "average", ""},
		{"average stride 2", randomTensor(rng, 2, 6, 4, 3), randomTensor(rng, 2, 3, 2, 3), 2, 2, "average", ""},
	}
}

var poolFingerprintNames = []string{
	"pool-overwrite", "pool-dA-sliced-by-window", "maxpool-mask-all-ties", "maxpool-first-maximum",
	"maxpool-split-ties", "avgpool-divided-by-f", "avgpool-divided-by-output-size", "avgpool-not-divided",
}

func TestPoolFingerprintsDifferAndAreRecognized(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range poolSetups(rand.New(rand.NewPCG(11, 12))) {
		c, ex := s.run(t)
		if fps := c.fingerprints("A"); len(fps) != 0 {
			t.Errorf("%s: pool forward has fingerprints %v", s.name, fingerprintNames(fps))
		}
		for _, fp := range c.fingerprints("dA_prev") {
			seen[fp.Name] = true
			assertDiffers(t, fp, ex.Outputs["dA_prev"])
			r, err := ComparePool(s.aPrev, s.f, s.stride, s.mode, s.ties, s.dA, map[string]*Tensor{"dA_prev": fp.Value})
			if err != nil {
				t.Fatal(err)
			}
			got := r.Comparisons[0]
			if got.Matches() || !slices.ContainsFunc(got.Fingerprints, func(f Fingerprint) bool { return f.Name == fp.Name }) {
				t.Errorf("%s %s: matches %v, recognized %v", s.name, fp.Name, got.Matches(), fingerprintNames(got.Fingerprints))
			}
		}
	}
	for _, name := range poolFingerprintNames {
		if !seen[name] {
			t.Errorf("no setup makes %s differ from the right answer", name)
		}
	}
}

func TestPoolWithoutOverlapHasNoOverwriteMistake(t *testing.T) {
	s := poolSetups(rand.New(rand.NewPCG(13, 14)))[4]
	c, _ := s.run(t)
	if slices.ContainsFunc(c.fingerprints("dA_prev"), func(f Fingerprint) bool { return f.Name == "pool-overwrite" }) {
		t.Errorf("pool-overwrite is offered at stride = f, where windows do not overlap and = gives the right answer")
	}
}

func TestMaxPoolMaskAndSplitTies(t *testing.T) {
	aPrev := FromData([]float64{
		1, 1,
		0, 1,
	}, 1, 2, 2, 1)
	dA := FromData([]float64{5}, 1, 1, 1, 1)
	s := poolSetup{"one window", aPrev, dA, 2, 2, "max", TiesFirst}
	c, _ := s.run(t)
	mask := findFingerprint(t, c.fingerprints("dA_prev"), "maxpool-mask-all-ties").Value
	if !slices.Equal(mask.Data, []float64{5, 5, 0, 5}) {
		t.Errorf("x == max(x) mask gives %v, want [5 5 0 5]", mask.Data)
	}
	split := findFingerprint(t, c.fingerprints("dA_prev"), "maxpool-split-ties").Value
	if math.Abs(split.Data[0]-5.0/3) > 1e-15 || split.Data[2] != 0 {
		t.Errorf("split ties give %v, want 5/3 on each maximum", split.Data)
	}
}

func TestAvgPoolDivisors(t *testing.T) {
	s := poolSetups(rand.New(rand.NewPCG(15, 16)))[4]
	c, ex := s.run(t)
	right := ex.Outputs["dA_prev"].Data[0]
	fps := c.fingerprints("dA_prev")
	// Element (0, 0) lies in window (0, 0) only, so it gets dA[0,0,0,0] / divisor.
	dA := s.dA.Data[0]
	for _, want := range []struct {
		name    string
		divisor float64
	}{{"avgpool-divided-by-f", 2}, {"avgpool-divided-by-output-size", 3 * 2}, {"avgpool-not-divided", 1}} {
		got := findFingerprint(t, fps, want.name).Value.Data[0]
		if math.Abs(got-dA/want.divisor) > 1e-15 {
			t.Errorf("%s: dA_prev[0,0,0,0] = %g, want %g", want.name, got, dA/want.divisor)
		}
	}
	if math.Abs(right-dA/4) > 1e-15 {
		t.Errorf("right dA_prev[0,0,0,0] = %g, want dA/4 = %g", right, dA/4)
	}
}

func TestSlicedGradientSkippedWhereNumpyRaises(t *testing.T) {
	// f = 3 with stride 1 leaves dZ slices of 2 rows near the bottom, which
	// numpy cannot broadcast against 3 rows of W.
	rng := rand.New(rand.NewPCG(17, 18))
	s := convSetup{name: "f 3", aPrev: randomTensor(rng, 1, 5, 5, 3), w: randomTensor(rng, 3, 3, 3, 2), b: randomTensor(rng, 1, 1, 1, 2), stride: 1, dZ: randomTensor(rng, 1, 3, 3, 2)}
	c, _ := s.run(t)
	if _, ok := c.dAPrevPadSlicedDZ(); ok {
		t.Errorf("dZ sliced by a 3×3 window of a 3×3 dZ broadcast, but numpy raises on the 2-row slice at h = 1")
	}
	for _, name := range []string{"dA_prev", "dW"} {
		if slices.ContainsFunc(c.fingerprints(name), func(f Fingerprint) bool { return f.Name == name+"-dZ-sliced-by-window" }) {
			t.Errorf("%s-dZ-sliced-by-window is offered where numpy raises", name)
		}
	}
}

// TestFingerprintsReproduceNumpy checks each fingerprint against the array
// that learner-style numpy code with that mistake computed
// (testdata/compare/gen_learner_arrays.py): the numpy array must be
// recognized as that mistake, and numpy's right arrays must match.
func TestFingerprintsReproduceNumpy(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "compare", "*.npz"))
	if err != nil || len(files) != 5 {
		t.Fatalf("want 5 cases in testdata/compare, found %d (%v)", len(files), err)
	}
	checked := 0
	for _, path := range files {
		arrays, err := ReadNPZ(path)
		if err != nil {
			t.Fatal(err)
		}
		compare := numpyCaseComparer(t, arrays)
		for key, value := range arrays {
			array, mistake, ok := strings.Cut(key, ".")
			if !ok {
				continue
			}
			if array == "right" {
				continue
			}
			got := compare(array, value)
			checked++
			if got.Matches() {
				t.Errorf("%s %s: numpy's mistaken array matches the reference", filepath.Base(path), key)
			}
			if !slices.ContainsFunc(got.Fingerprints, func(f Fingerprint) bool { return f.Name == mistake }) {
				t.Errorf("%s %s: not recognized; recognized %v", filepath.Base(path), key, fingerprintNames(got.Fingerprints))
			}
		}
		for key, value := range arrays {
			if name, ok := strings.CutPrefix(key, "right."); ok {
				if got := compare(name, value); !got.Matches() {
					t.Errorf("%s: numpy's right %s does not match: %d wrong, first %v", filepath.Base(path), name, got.Wrong, got.First)
				}
			}
		}
	}
	if checked != 22 {
		t.Errorf("checked %d mistaken numpy arrays, want the 22 the script writes", checked)
	}
}

// numpyCaseComparer returns a function that compares one array with the
// reference of the conv or pool case stored in arrays.
func numpyCaseComparer(t *testing.T, arrays map[string]*Tensor) func(name string, given *Tensor) Comparison {
	scalar := func(key string) int {
		v, ok := arrays[key]
		if !ok || len(v.Data) != 1 {
			t.Fatalf("case has no scalar %s", key)
		}
		return int(v.Data[0])
	}
	return func(name string, given *Tensor) Comparison {
		var r *Report
		var err error
		if w, ok := arrays["W"]; ok {
			r, err = CompareConv(arrays["A_prev"], w, arrays["b"], scalar("stride"), scalar("pad"), arrays["dZ"], map[string]*Tensor{name: given})
		} else {
			mode := "average"
			if scalar("max") == 1 {
				mode = "max"
			}
			r, err = ComparePool(arrays["A_prev"], scalar("f"), scalar("stride"), mode, TiesFirst, arrays["dA"], map[string]*Tensor{name: given})
		}
		if err != nil {
			t.Fatal(err)
		}
		return r.Comparisons[0]
	}
}
