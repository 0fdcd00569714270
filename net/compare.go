package net

import (
	"fmt"
	"math"
	"slices"

	"github.com/cnndbg/cnndbg/trace"
)

// CompareTolerance is the tolerance Compare uses: an element matches when
// |given − expected| ≤ 1e-8, or ≤ 1e-8·|expected| for large values.
const CompareTolerance = 1e-8

// ToleranceFor returns the tolerance that fits arrays stored as dtype: a
// float32 or float16 array carries rounding errors near 1e-7 or 1e-3 of each
// value, far above CompareTolerance, so a correct result would be reported
// wrong.
// The looser tolerances still catch every known mistake, whose errors are
// of the order of the values themselves.
func ToleranceFor(dtype string) float64 {
	switch dtype {
	case "float16":
		return 1e-2
	case "float32":
		return 1e-4
	}
	return CompareTolerance
}

// CompareOptions change how CompareConv and ComparePool compare.
type CompareOptions struct {
	// Tolerance replaces CompareTolerance when it is > 0.
	Tolerance float64
}

// Comparison sets one array a learner's code produced against the reference
// computed from the same inputs.
type Comparison struct {
	// Name is the course's name of the array: Z, A, dA_prev, dW or db.
	Name string
	// TensorID is the ID of Expected in the report's exercise trace, so that
	// Explain can list the terms of any of its elements.
	TensorID int
	Expected *Tensor
	Given    *Tensor
	// ShapeOK is true when Given has exactly the shape of Expected.
	ShapeOK bool
	// Compared is true when the values were compared element by element: the
	// shapes are equal, or equal once axes of size 1 are dropped (a db of
	// shape (8,) against (1, 1, 1, 8)). Wrong, RelativeOnly, MaxAbsErr,
	// MaxRelErr and First are zero when Compared is false.
	Compared bool
	// Wrong counts the elements outside the tolerance.
	Wrong int
	// RelativeOnly counts the elements that match within the tolerance
	// relative to |expected| but not absolutely.
	RelativeOnly int
	MaxAbsErr    float64
	// MaxRelErr is max |given − expected| / |expected| over the elements
	// whose expected value is not zero.
	MaxRelErr float64
	// First is the index, in the shape of Expected, of the first wrong
	// element in row-major order, or nil when none is wrong.
	First []int
	// Fingerprints are the known mistakes whose result equals Given within
	// the tolerance. They are looked for only when Given does not match.
	Fingerprints []Fingerprint
	// Tried counts the known mistakes that were tried against Given: those
	// that apply to this array and give a different result from the
	// reference on these inputs.
	Tried int
}

// Matches reports whether Given has the shape of Expected and every element
// within the tolerance.
func (c Comparison) Matches() bool {
	return c.ShapeOK && c.Wrong == 0
}

// ElementWrong reports whether the element at row-major offset k of Given
// is outside tol of the same element of Expected, by the rule that Wrong
// counts. It is false when the values were not compared.
func (c *Comparison) ElementWrong(k int, tol float64) bool {
	if !c.Compared {
		return false
	}
	ok, _ := withinTolerance(c.Expected.Data[k], c.Given.Data[k], tol)
	return !ok
}

// Report is the outcome of comparing a learner's arrays with one conv or
// pool exercise.
type Report struct {
	// Exercise is the reference run, with its recorded trace.
	Exercise *Exercise
	// Comparisons follow the order in which the course computes the arrays.
	Comparisons []Comparison
	Tolerance   float64
}

// Matches reports whether every given array matches.
func (r *Report) Matches() bool {
	for k := range r.Comparisons {
		if !r.Comparisons[k].Matches() {
			return false
		}
	}
	return true
}

// Failed returns the names of the given arrays that do not match.
func (r *Report) Failed() []string {
	var names []string
	for _, c := range r.Comparisons {
		if !c.Matches() {
			names = append(names, c.Name)
		}
	}
	return names
}

// Summary returns one sentence on how many of the given arrays match, such
// as "all 3 arrays match", "1 of 2 arrays does not match", "neither array
// matches" or, for a single array, "your dW matches".
func (r *Report) Summary() string {
	n, failed := len(r.Comparisons), len(r.Failed())
	switch {
	case n == 1 && failed == 0:
		return "your " + r.Comparisons[0].Name + " matches"
	case n == 1:
		return "your " + r.Comparisons[0].Name + " does not match"
	case n == 2 && failed == 0:
		return "both arrays match"
	case n == 2 && failed == 2:
		return "neither array matches"
	case failed == 0:
		return fmt.Sprintf("all %d arrays match", n)
	case failed == 1:
		return fmt.Sprintf("1 of %d arrays does not match", n)
	}
	return fmt.Sprintf("%d of %d arrays do not match", failed, n)
}

// ExplainFirst explains the correct value of the first wrong element of c,
// term by term. It returns nil when no element of c is wrong.
func (r *Report) ExplainFirst(c *Comparison) (*Explanation, error) {
	if c.First == nil {
		return nil, nil
	}
	return Explain(r.Exercise.Trace, c.TensorID, c.First)
}

// CompareConv runs the conv exercise on aPrev, w, b, stride, pad and dZ (nil
// for Z itself, as ConvExercise takes it) and compares the given arrays,
// keyed Z, dA_prev, dW and db, with the reference. Each array that does not
// match is also compared with the results of the known mistakes. It returns
// an error when the inputs do not fit one conv layer or given holds another
// key.
func CompareConv(aPrev, w, b *Tensor, stride, pad int, dZ *Tensor, given map[string]*Tensor, opts ...CompareOptions) (*Report, error) {
	ex, err := ConvExercise(aPrev, w, b, stride, pad, dZ)
	if err != nil {
		return nil, err
	}
	if err := checkGivenNames(ex, given); err != nil {
		return nil, err
	}
	c := newConvCase(aPrev, w, b, stride, pad, dZ, ex)
	return compareExercise(ex, "conv", given, c.fingerprints, opts)
}

// ComparePool runs the pool exercise on aPrev, f, stride, mode, ties and dA,
// as PoolExercise takes them, and compares the given arrays, keyed A and
// dA_prev, with the reference, and with the known mistakes where they do not
// match. It returns an error when the inputs do not fit one pool layer or
// given holds another key.
func ComparePool(aPrev *Tensor, f, stride int, mode string, ties Ties, dA *Tensor, given map[string]*Tensor, opts ...CompareOptions) (*Report, error) {
	ex, err := PoolExercise(aPrev, f, stride, mode, ties, dA)
	if err != nil {
		return nil, err
	}
	if err := checkGivenNames(ex, given); err != nil {
		return nil, err
	}
	c := newPoolCase(aPrev, f, stride, mode != "max", ties, dA, ex)
	return compareExercise(ex, "pool", given, c.fingerprints, opts)
}

func checkGivenNames(ex *Exercise, given map[string]*Tensor) error {
	if len(given) == 0 {
		return fmt.Errorf("no arrays to compare: give at least one of %v", ex.Order)
	}
	for name := range given {
		if ex.Outputs[name] == nil {
			return fmt.Errorf("this layer computes no array %q: give one of %v", name, ex.Order)
		}
	}
	return nil
}

// compareExercise compares the given arrays with the exercise's outputs of
// the same name, in the exercise's order. The fingerprints function returns
// the known mistakes for one array.
func compareExercise(ex *Exercise, layer string, given map[string]*Tensor, fingerprints func(name string) []Fingerprint, opts []CompareOptions) (*Report, error) {
	r := &Report{Exercise: ex, Tolerance: CompareTolerance}
	for _, o := range opts {
		if o.Tolerance > 0 {
			r.Tolerance = o.Tolerance
		}
	}
	for _, name := range ex.Order {
		g := given[name]
		if g == nil {
			continue
		}
		t := ex.Trace.Tensor(layer + "." + name)
		if t == nil {
			return nil, fmt.Errorf("net: the %s exercise trace has no tensor %s.%s", layer, layer, name)
		}
		c := compareArrays(name, ex.Outputs[name], g, r.Tolerance)
		c.TensorID = t.ID
		if !c.Matches() {
			c.matchFingerprints(fingerprints(name), r.Tolerance)
		}
		r.Comparisons = append(r.Comparisons, c)
	}
	return r, nil
}

// NoKnownMistake returns the sentence for an array that no known mistake
// reproduces, with how many known mistakes were tried.
func (c *Comparison) NoKnownMistake() string {
	switch c.Tried {
	case 0:
		return fmt.Sprintf("cnndbg knows no mistakes for %s on these inputs", c.Name)
	case 1:
		return fmt.Sprintf("the one known mistake for %s on these inputs does not give your array", c.Name)
	}
	return fmt.Sprintf("none of the %d known mistakes for %s on these inputs gives your array", c.Tried, c.Name)
}

// matchFingerprints keeps the known mistakes whose result equals Given.
func (c *Comparison) matchFingerprints(candidates []Fingerprint, tol float64) {
	c.Tried = len(candidates)
	for _, fp := range candidates {
		if sameWithin(fp.Value, c.Given, tol) {
			c.Fingerprints = append(c.Fingerprints, fp)
		}
	}
}

// compareArrays compares given with expected element by element.
func compareArrays(name string, expected, given *Tensor, tol float64) Comparison {
	c := Comparison{Name: name, Expected: expected, Given: given}
	c.ShapeOK = slices.Equal(expected.Shape, given.Shape)
	c.Compared = c.ShapeOK || slices.Equal(squeeze(expected.Shape), squeeze(given.Shape))
	if !c.Compared {
		return c
	}
	for k, want := range expected.Data {
		have := given.Data[k]
		ok, relativeOnly := withinTolerance(want, have, tol)
		diff := math.Abs(have - want)
		c.MaxAbsErr = maxOrNaN(c.MaxAbsErr, diff)
		if want != 0 {
			c.MaxRelErr = maxOrNaN(c.MaxRelErr, diff/math.Abs(want))
		}
		if relativeOnly {
			c.RelativeOnly++
		}
		if !ok {
			if c.Wrong == 0 {
				c.First = trace.Unravel(expected.Shape, k)
			}
			c.Wrong++
		}
	}
	return c
}

// withinTolerance reports whether have equals want within tol absolutely or
// relative to |want|, and whether only the relative test passed. NaN matches
// NaN, and an infinity the same infinity.
func withinTolerance(want, have, tol float64) (ok, relativeOnly bool) {
	if math.IsNaN(want) || math.IsNaN(have) {
		return math.IsNaN(want) && math.IsNaN(have), false
	}
	if math.IsInf(want, 0) || math.IsInf(have, 0) {
		return want == have, false
	}
	diff := math.Abs(have - want)
	if diff <= tol {
		return true, false
	}
	if diff <= tol*math.Abs(want) {
		return true, true
	}
	return false, false
}

// sameWithin reports whether a and b have the same shape and every element
// within tol.
func sameWithin(a, b *Tensor, tol float64) bool {
	if !slices.Equal(a.Shape, b.Shape) {
		return false
	}
	for k := range a.Data {
		if ok, _ := withinTolerance(a.Data[k], b.Data[k], tol); !ok {
			return false
		}
	}
	return true
}

// maxOrNaN returns the larger of m and v, or NaN once either is NaN.
func maxOrNaN(m, v float64) float64 {
	if math.IsNaN(v) || v > m {
		return v
	}
	return m
}

// squeeze returns shape without its axes of size 1.
func squeeze(shape []int) []int {
	out := []int{}
	for _, n := range shape {
		if n != 1 {
			out = append(out, n)
		}
	}
	return out
}
