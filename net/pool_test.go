package net

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// poolTieCase is a one-sample, one-channel max pool with tied maxima and the
// dA_prev each tie rule must give.
type poolTieCase struct {
	name      string
	f, stride int
	aPrev     [][]float64
	dA        [][]float64
	want      map[Ties][][]float64
}

// grid returns the rows as a (1, n_H, n_W, 1) tensor.
func grid(rows [][]float64) *Tensor {
	t := NewTensor(1, len(rows), len(rows[0]), 1)
	for r, row := range rows {
		copy(t.Data[r*len(row):], row)
	}
	return t
}

// poolTieCases were worked out by hand. The "first" results equal what
// torch.nn.functional.max_pool2d's backward gives in PyTorch 1.13 on CPU,
// checked with the same inputs.
var poolTieCases = []poolTieCase{
	{
		name: "one window, four-way tie",
		f:    2, stride: 2,
		aPrev: [][]float64{{1, 1}, {1, 1}},
		dA:    [][]float64{{6}},
		want: map[Ties][][]float64{
			TiesFirst: {{6, 0}, {0, 0}},
			TiesAll:   {{6, 6}, {6, 6}},
			TiesSplit: {{1.5, 1.5}, {1.5, 1.5}},
		},
	},
	{
		name: "one window, tie after a smaller first element",
		f:    2, stride: 2,
		aPrev: [][]float64{{0, 3}, {3, -1}},
		dA:    [][]float64{{2}},
		want: map[Ties][][]float64{
			TiesFirst: {{0, 2}, {0, 0}},
			TiesAll:   {{0, 2}, {2, 0}},
			TiesSplit: {{0, 1}, {1, 0}},
		},
	},
	{
		// Windows of size 2 at stride 1 overlap, so (1,1) is the maximum
		// of all four windows and tied in two of them.
		name: "overlapping windows, stride 1",
		f:    2, stride: 1,
		aPrev: [][]float64{
			{5, 5, 1},
			{2, 5, 0},
			{3, 3, 3},
		},
		dA: [][]float64{{1, 2}, {4, 8}},
		want: map[Ties][][]float64{
			TiesFirst: {{1, 2, 0}, {0, 12, 0}, {0, 0, 0}},
			TiesAll:   {{1, 3, 0}, {0, 15, 0}, {0, 0, 0}},
			TiesSplit: {{1.0 / 3, 1.0/3 + 1, 0}, {0, 1.0/3 + 1 + 4 + 8, 0}, {0, 0, 0}},
		},
	},
	{
		// No window reaches column 4, which holds the largest values.
		name: "pad 0, stride 2, non-square",
		f:    2, stride: 2,
		aPrev: [][]float64{
			{0, 7, 1, 1, 9},
			{7, 2, 1, 1, 9},
			{4, 4, 3, 0, 9},
			{4, 4, 0, 3, 9},
		},
		dA: [][]float64{{1, 2}, {3, 4}},
		want: map[Ties][][]float64{
			TiesFirst: {
				{0, 1, 2, 0, 0},
				{0, 0, 0, 0, 0},
				{3, 0, 4, 0, 0},
				{0, 0, 0, 0, 0},
			},
			TiesAll: {
				{0, 1, 2, 2, 0},
				{1, 0, 2, 2, 0},
				{3, 3, 4, 0, 0},
				{3, 3, 0, 4, 0},
			},
			TiesSplit: {
				{0, 0.5, 0.5, 0.5, 0},
				{0.5, 0, 0.5, 0.5, 0},
				{0.75, 0.75, 2, 0, 0},
				{0.75, 0.75, 0, 2, 0},
			},
		},
	},
}

func TestMaxPoolTieRules(t *testing.T) {
	for _, tc := range poolTieCases {
		for _, ties := range []Ties{TiesFirst, TiesAll, TiesSplit} {
			t.Run(fmt.Sprintf("%s/%s", tc.name, ties), func(t *testing.T) {
				l := NewMaxPool("pool", tc.f, tc.stride, ties)
				aPrev, dA := grid(tc.aPrev), grid(tc.dA)
				a := l.Forward(aPrev)
				if !slices.Equal(a.Shape, dA.Shape) {
					t.Fatalf("A has shape %v, want %v", a.Shape, dA.Shape)
				}

				dAPrev, grads := l.Backward(aPrev, a, dA)
				if grads != nil {
					t.Errorf("max pool returned %d parameter gradients, want none", len(grads))
				}
				want := grid(tc.want[ties])
				for k, v := range want.Data {
					// Split sums thirds, so allow rounding in the last bits.
					if math.Abs(dAPrev.Data[k]-v) > 1e-14*math.Max(1, math.Abs(v)) {
						nW := len(tc.aPrev[0])
						t.Errorf("dA_prev[%d,%d] = %g, want %g", k/nW, k%nW, dAPrev.Data[k], v)
					}
				}
			})
		}
	}
}

// TestMaxPoolTieRulesKeepTotal checks that first and split route exactly
// the incoming gradient, while all multiplies it by the size of each tie.
func TestMaxPoolTieRulesKeepTotal(t *testing.T) {
	tc := poolTieCases[3]
	aPrev, dA := grid(tc.aPrev), grid(tc.dA)
	sum := func(x *Tensor) float64 {
		s := 0.0
		for _, v := range x.Data {
			s += v
		}
		return s
	}
	for _, ties := range []Ties{TiesFirst, TiesSplit} {
		l := NewMaxPool("pool", tc.f, tc.stride, ties)
		dAPrev, _ := l.Backward(aPrev, l.Forward(aPrev), dA)
		if got, want := sum(dAPrev), sum(dA); got != want {
			t.Errorf("%s: Σ dA_prev = %g, want Σ dA = %g", ties, got, want)
		}
	}
	l := NewMaxPool("pool", tc.f, tc.stride, TiesAll)
	dAPrev, _ := l.Backward(aPrev, l.Forward(aPrev), dA)
	if got, want := sum(dAPrev), 1*2.0+2*4.0+3*4.0+4*2.0; got != want {
		t.Errorf("all: Σ dA_prev = %g, want %g", got, want)
	}
}

func TestMaxPoolTiesKeepChannelsApart(t *testing.T) {
	// Channel 0 ties in its window. Channel 1 has its maximum last.
	aPrev := FromData([]float64{
		2, 0, 2, 1,
		2, 2, 2, 3,
	}, 1, 2, 2, 2)
	dA := FromData([]float64{10, 20}, 1, 1, 1, 2)
	want := map[Ties][]float64{
		TiesFirst: {10, 0, 0, 0, 0, 0, 0, 20},
		TiesAll:   {10, 0, 10, 0, 10, 0, 10, 20},
		TiesSplit: {2.5, 0, 2.5, 0, 2.5, 0, 2.5, 20},
	}
	for ties, w := range want {
		l := NewMaxPool("pool", 2, 2, ties)
		dAPrev, _ := l.Backward(aPrev, l.Forward(aPrev), dA)
		for k, v := range w {
			if dAPrev.Data[k] != v {
				t.Errorf("%s: dA_prev.Data[%d] = %g, want %g", ties, k, dAPrev.Data[k], v)
			}
		}
	}
}
