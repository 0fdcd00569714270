package net

import "fmt"

// Fingerprint is a known mistake in a learner's conv_backward or
// pool_backward, with the array that the mistaken code computes on the
// inputs at hand. Each one is computed by a loop written as a learner's
// numpy loop with that one mistake, including numpy's slicing and
// broadcasting rules, so an array equal to Value within the tolerance points
// at the mistake.
type Fingerprint struct {
	// Name identifies the mistake, e.g. "dA_prev-overwrite".
	Name string
	// Array is the course array the mistake changes: Z, dA_prev, dW or db.
	Array string
	// Mistake completes the sentence "your dA_prev equals what you get when …".
	Mistake string
	// Fix is the change that removes the mistake.
	Fix   string
	Value *Tensor
}

// nhwcOffset returns the row-major offset of t[i, j, k, l] in a 4-D tensor.
func nhwcOffset(shape []int, i, j, k, l int) int {
	return ((i*shape[1]+j)*shape[2]+k)*shape[3] + l
}

// sliceLength returns the length numpy gives the slice [start:start+f] of
// an axis of length n: clipped at n, and 0 past the end.
func sliceLength(start, f, n int) int {
	return max(0, min(start+f, n)-start)
}

// broadcasts reports whether an axis of length n broadcasts into an axis of
// length target in an in-place numpy operation (+= into a fixed slice).
func broadcasts(n, target int) bool {
	return n == 1 || n == target
}

// broadcastIndex returns the index into an axis of length n that numpy reads
// for index k of the axis it was broadcast to.
func broadcastIndex(n, k int) int {
	if n == 1 {
		return 0
	}
	return k
}

// keepDifferent returns the candidates whose value differs from reference
// beyond the tolerance, because a mistake that gives the right result on
// these inputs cannot be distinguished from the right code.
func keepDifferent(reference *Tensor, candidates []Fingerprint) []Fingerprint {
	var kept []Fingerprint
	for _, fp := range candidates {
		if fp.Value != nil && !sameWithin(fp.Value, reference, CompareTolerance) {
			kept = append(kept, fp)
		}
	}
	return kept
}

// convCase is one conv exercise: the inputs and sizes a learner's conv_backward reads.
type convCase struct {
	g        convGeometry
	layer    *Conv
	aPrev    *Tensor
	aPrevPad *Tensor
	w        *Tensor
	dZ       *Tensor
	// dZFromZ is set when Z itself is the incoming gradient, so a mistake in
	// Z also changes dA_prev, dW and db.
	dZFromZ bool
	ref     *Exercise
}

// newConvCase builds the conv case of an exercise that ConvExercise has
// already checked and run, so the shapes fit.
func newConvCase(aPrev, w, b *Tensor, stride, pad int, dZ *Tensor, ex *Exercise) *convCase {
	nC := w.Shape[3]
	layer := NewConv("conv", w, FromData(b.Data, 1, 1, 1, nC), stride, pad)
	c := &convCase{g: layer.geometry(aPrev), layer: layer, aPrev: aPrev, w: w, dZ: dZ, ref: ex}
	if dZ == nil {
		c.dZ = ex.Outputs["Z"]
		c.dZFromZ = true
	}
	c.aPrevPad = zeroPad(aPrev, pad)
	return c
}

// zeroPad returns A_prev with pad zero rows and columns on each side, as
// the course's zero_pad does.
func zeroPad(aPrev *Tensor, pad int) *Tensor {
	m, nH, nW, nC := aPrev.dims4()
	out := NewTensor(m, nH+2*pad, nW+2*pad, nC)
	for i := 0; i < m; i++ {
		for r := 0; r < nH; r++ {
			for k := 0; k < nW; k++ {
				for c := 0; c < nC; c++ {
					out.Data[nhwcOffset(out.Shape, i, r+pad, k+pad, c)] = aPrev.Data[nhwcOffset(aPrev.Shape, i, r, k, c)]
				}
			}
		}
	}
	return out
}

// fingerprints returns the known mistakes for the conv array name that give
// a different result from the reference on this case.
func (c *convCase) fingerprints(name string) []Fingerprint {
	var candidates []Fingerprint
	switch name {
	case "Z":
		candidates = []Fingerprint{c.biasInEveryProduct("Z")}
	case "dA_prev":
		candidates = append(c.dAPrevMistakes(), c.biasInEveryProduct("dA_prev"))
	case "dW":
		candidates = append(c.dWMistakes(), c.biasInEveryProduct("dW"))
	case "db":
		candidates = append(c.dbMistakes(), c.biasInEveryProduct("db"))
	}
	return keepDifferent(c.ref.Outputs[name], candidates)
}

// dZAt returns dZ[i, h, w, ch].
func (c *convCase) dZAt(i, h, wo, ch int) float64 {
	return c.dZ.Data[nhwcOffset(c.dZ.Shape, i, h, wo, ch)]
}

// dZSliceLengths returns the shape (rows, columns) of the slice
// dZ[i, vs:vs+f, hs:hs+f, ch] for window (h, w), which a learner takes in
// place of dZ[i, h, w, ch].
func (c *convCase) dZSliceLengths(h, wo int) (rows, cols int) {
	g := c.g
	return sliceLength(h*g.stride, g.f, g.nH), sliceLength(wo*g.stride, g.f, g.nW)
}

// convTerm names one product of the course's conv backward loops: sample i,
// output position (h, w), output channel ch and filter offset (p, q, cp).
type convTerm struct{ i, h, w, ch, p, q, cp int }

// eachTerm calls fn for every term of samples from through to−1, in the
// course's loop order: i, h, w, c, then the filter's p, q, c'.
func (c *convCase) eachTerm(from, to int, fn func(t convTerm)) {
	g := c.g
	for i := from; i < to; i++ {
		for h := 0; h < g.nH; h++ {
			for wo := 0; wo < g.nW; wo++ {
				for ch := 0; ch < g.nC; ch++ {
					for p := 0; p < g.f; p++ {
						for q := 0; q < g.f; q++ {
							for cp := 0; cp < g.nCPrev; cp++ {
								fn(convTerm{i, h, wo, ch, p, q, cp})
							}
						}
					}
				}
			}
		}
	}
}

// dZOf returns the term's dZ[i, h, w, c].
func (c *convCase) dZOf(t convTerm) float64 { return c.dZAt(t.i, t.h, t.w, t.ch) }

// slicedDZ returns the element of dZ[i, vs:vs+f, hs:hs+f, c] that numpy
// broadcasts onto the term's (q, c') position; see slicedDZFits.
func (c *convCase) slicedDZ(t convTerm) float64 {
	g := c.g
	rows, cols := c.dZSliceLengths(t.h, t.w)
	return c.dZAt(t.i, t.h*g.stride+broadcastIndex(rows, t.q), t.w*g.stride+broadcastIndex(cols, t.cp), t.ch)
}

// slicedDZFits reports whether numpy broadcasts the (rows, columns) slice
// dZ[i, vs:vs+f, hs:hs+f, c] against the last two axes (f, n_C_prev) of a
// window for every output position, which needs each to be 1 or equal.
// When it does not, numpy raises and the learner has no array.
func (c *convCase) slicedDZFits() bool {
	g := c.g
	for h := 0; h < g.nH; h++ {
		for wo := 0; wo < g.nW; wo++ {
			rows, cols := c.dZSliceLengths(h, wo)
			if !broadcasts(rows, g.f) || !broadcasts(cols, g.nCPrev) {
				return false
			}
		}
	}
	return true
}

// aPrevPadIndex returns the offset in A_prev_pad of the term's input
// element A_prev_pad[i, h·s+p, w·s+q, c'].
func (c *convCase) aPrevPadIndex(t convTerm) int {
	g := c.g
	return nhwcOffset(c.aPrevPad.Shape, t.i, t.h*g.stride+t.p, t.w*g.stride+t.q, t.cp)
}

// wIndex returns the offset in W of the term's weight W[p, q, c', c].
func (c *convCase) wIndex(t convTerm) int {
	return nhwcOffset(c.w.Shape, t.p, t.q, t.cp, t.ch)
}

// store adds v to out.Data[k], or sets it when assign is set, as a
// learner's = in place of += does.
func store(out *Tensor, k int, v float64, assign bool) {
	if assign {
		out.Data[k] = v
	} else {
		out.Data[k] += v
	}
}

// dAPrevPad runs the course's loop
//
//	da_prev_pad[vs:vs+f, hs:hs+f, :] += W[:, :, :, c] · dZ[i, h, w, c]
//
// over i, h, w, c in that order, with = in place of += when assign is set.
func (c *convCase) dAPrevPad(assign bool) *Tensor {
	out := NewTensor(c.aPrevPad.Shape...)
	c.eachTerm(0, c.g.m, func(t convTerm) {
		store(out, c.aPrevPadIndex(t), c.w.Data[c.wIndex(t)]*c.dZOf(t), assign)
	})
	return out
}

// dAPrevPadSlicedDZ runs the dA_prev loop with the slice
// dZ[i, vs:vs+f, hs:hs+f, c] in place of dZ[i, h, w, c], broadcast against
// the last two axes (f, n_C_prev) of W[:, :, :, c]. It returns false when
// numpy would raise on some window.
func (c *convCase) dAPrevPadSlicedDZ() (*Tensor, bool) {
	if !c.slicedDZFits() {
		return nil, false
	}
	out := NewTensor(c.aPrevPad.Shape...)
	c.eachTerm(0, c.g.m, func(t convTerm) {
		out.Data[c.aPrevPadIndex(t)] += c.w.Data[c.wIndex(t)] * c.slicedDZ(t)
	})
	return out, true
}

// crop returns t[:, r0:r1, c0:c1, :], empty along an axis whose stop is not
// past its start, as numpy slices.
func crop(t *Tensor, r0, r1, c0, c1 int) *Tensor {
	m, _, _, nC := t.dims4()
	rows, cols := max(0, r1-r0), max(0, c1-c0)
	out := NewTensor(m, rows, cols, nC)
	for i := 0; i < m; i++ {
		for r := 0; r < rows; r++ {
			for k := 0; k < cols; k++ {
				for ch := 0; ch < nC; ch++ {
					out.Data[nhwcOffset(out.Shape, i, r, k, ch)] = t.Data[nhwcOffset(t.Shape, i, r0+r, c0+k, ch)]
				}
			}
		}
	}
	return out
}

// negativeStop returns where the Python slice stop -k ends on an axis of
// length n: n − k, or 0 when k is 0, because -0 is 0.
func negativeStop(n, k int) int {
	if k == 0 {
		return 0
	}
	return n - k
}

// unpad removes the padding the right way: rows and columns pad to pad+n.
func (c *convCase) unpad(padded *Tensor) *Tensor {
	g := c.g
	return crop(padded, g.pad, g.pad+g.nHPrev, g.pad, g.pad+g.nWPrev)
}

func (c *convCase) dAPrevMistakes() []Fingerprint {
	g := c.g
	padded := c.dAPrevPad(false)
	nHPad, nWPad := padded.Shape[1], padded.Shape[2]
	mistakes := []Fingerprint{
		{
			Name: "dA_prev-overwrite", Array: "dA_prev",
			Mistake: "the windows of different filters overwrite instead of add: da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] = W[:, :, :, c] * dZ[i, h, w, c] (= instead of +=)",
			Fix:     "use +=: every filter c of every window (h, w) that covers an element adds its share to it",
			Value:   c.unpad(c.dAPrevPad(true)),
		},
		{
			Name: "unpad-keeps-bottom-right", Array: "dA_prev",
			Mistake: "the padding is removed with da_prev_pad[pad:, pad:, :], which keeps the bottom and right border",
			Fix:     "remove pad rows and columns on every side: da_prev_pad[pad:pad+n_H_prev, pad:pad+n_W_prev, :]",
			Value:   crop(padded, g.pad, nHPad, g.pad, nWPad),
		},
		{
			Name: "unpad-keeps-top-left", Array: "dA_prev",
			Mistake: "the padding is removed with da_prev_pad[:-pad, :-pad, :], which keeps the top and left border, and is empty when pad = 0 because -0 is 0",
			Fix:     "remove pad rows and columns on every side: da_prev_pad[pad:pad+n_H_prev, pad:pad+n_W_prev, :]",
			Value:   crop(padded, 0, negativeStop(nHPad, g.pad), 0, negativeStop(nWPad, g.pad)),
		},
		{
			Name: "unpad-top-left-corner", Array: "dA_prev",
			Mistake: "the padding is removed with da_prev_pad[:n_H_prev, :n_W_prev, :], the top-left corner, which is shifted up and left by pad",
			Fix:     "start the slice at pad: da_prev_pad[pad:pad+n_H_prev, pad:pad+n_W_prev, :]",
			Value:   crop(padded, 0, g.nHPrev, 0, g.nWPrev),
		},
		{
			Name: "unpad-empty-at-pad-0", Array: "dA_prev",
			Mistake: "the padding is removed with da_prev_pad[pad:-pad, pad:-pad, :] while pad = 0: -0 is 0 in Python, so the slice is empty",
			Fix:     "slice da_prev_pad[pad:pad+n_H_prev, pad:pad+n_W_prev, :], which is right for every pad, including 0",
			Value:   crop(padded, g.pad, negativeStop(nHPad, g.pad), g.pad, negativeStop(nWPad, g.pad)),
		},
		{
			Name: "unpad-missing", Array: "dA_prev",
			Mistake: "dA_prev_pad is returned with its padding still on",
			Fix:     "remove pad rows and columns on every side: dA_prev_pad[:, pad:pad+n_H_prev, pad:pad+n_W_prev, :]",
			Value:   padded,
		},
	}
	if sliced, ok := c.dAPrevPadSlicedDZ(); ok {
		mistakes = append(mistakes, Fingerprint{
			Name: "dA_prev-dZ-sliced-by-window", Array: "dA_prev",
			Mistake: "the dA_prev update multiplies W[:, :, :, c] by the slice dZ[i, vert_start:vert_end, horiz_start:horiz_end, c] instead of the one value dZ[i, h, w, c]",
			Fix:     "use dZ[i, h, w, c]: window (h, w) of filter c made one output, so one gradient value comes back to it",
			Value:   c.unpad(sliced),
		})
	}
	return mistakes
}

// dW runs the course's loop dW[:, :, :, c] += a_slice · dZ[i, h, w, c] over
// the samples from and to−1, with = in place of += when assign is set.
func (c *convCase) dW(from, to int, assign bool) *Tensor {
	out := NewTensor(c.w.Shape...)
	c.eachTerm(from, to, func(t convTerm) {
		store(out, c.wIndex(t), c.aPrevPad.Data[c.aPrevPadIndex(t)]*c.dZOf(t), assign)
	})
	return out
}

// dWSlicedDZ runs the dW loop with dZ[i, vs:vs+f, hs:hs+f, c] in place of
// dZ[i, h, w, c], broadcast against the (f, n_C_prev) trailing axes of
// a_slice as numpy does. It returns false where numpy would raise.
func (c *convCase) dWSlicedDZ() (*Tensor, bool) {
	if !c.slicedDZFits() {
		return nil, false
	}
	out := NewTensor(c.w.Shape...)
	c.eachTerm(0, c.g.m, func(t convTerm) {
		out.Data[c.wIndex(t)] += c.aPrevPad.Data[c.aPrevPadIndex(t)] * c.slicedDZ(t)
	})
	return out, true
}

func (c *convCase) dWMistakes() []Fingerprint {
	m := c.g.m
	mistakes := []Fingerprint{
		{
			Name: "dW-last-sample", Array: "dW",
			Mistake: "dW is set to zero inside the loop over the samples, so it holds only the last sample's sum",
			Fix:     "create dW = np.zeros(W.shape) once, before the loop over i, so every sample adds to it",
			Value:   c.dW(m-1, m, false),
		},
		{
			Name: "dW-divided-by-m", Array: "dW",
			Mistake: "dW is divided by the number of samples m",
			Fix:     "do not divide: the loss's dZ = (softmax − Y)/m already averages over the batch, so conv_backward only sums",
			Value:   scaled(c.dW(0, m, false), 1/float64(m)),
		},
		{
			Name: "dW-overwrite", Array: "dW",
			Mistake: "dW[:, :, :, c] = a_slice * dZ[i, h, w, c] overwrites instead of adds (= instead of +=), so only the last window of the last sample remains",
			Fix:     "use +=: dW sums a_slice · dZ over every sample and window",
			Value:   c.dW(0, m, true),
		},
	}
	if sliced, ok := c.dWSlicedDZ(); ok {
		mistakes = append(mistakes, Fingerprint{
			Name: "dW-dZ-sliced-by-window", Array: "dW",
			Mistake: "the dW update multiplies a_slice by the slice dZ[i, vert_start:vert_end, horiz_start:horiz_end, c] instead of the one value dZ[i, h, w, c]",
			Fix:     "use dZ[i, h, w, c]: window (h, w) of filter c made one output, so one gradient value comes back to it",
			Value:   sliced,
		})
	}
	return mistakes
}

// db runs the course's loop db[:, :, :, c] += dZ[i, h, w, c] over the
// samples from and to−1, with = in place of += when assign is set.
func (c *convCase) db(from, to int, assign bool) *Tensor {
	g := c.g
	out := NewTensor(1, 1, 1, g.nC)
	for i := from; i < to; i++ {
		for h := 0; h < g.nH; h++ {
			for wo := 0; wo < g.nW; wo++ {
				for ch := 0; ch < g.nC; ch++ {
					store(out, ch, c.dZAt(i, h, wo, ch), assign)
				}
			}
		}
	}
	return out
}

func (c *convCase) dbMistakes() []Fingerprint {
	m := c.g.m
	return []Fingerprint{
		{
			Name: "db-last-sample", Array: "db",
			Mistake: "db is set to zero inside the loop over the samples, so it holds only the last sample's sum",
			Fix:     "create db = np.zeros(b.shape) once, before the loop over i, so every sample adds to it",
			Value:   c.db(m-1, m, false),
		},
		{
			Name: "db-divided-by-m", Array: "db",
			Mistake: "db is divided by the number of samples m",
			Fix:     "do not divide: the loss's dZ = (softmax − Y)/m already averages over the batch, so conv_backward only sums",
			Value:   scaled(c.db(0, m, false), 1/float64(m)),
		},
		{
			Name: "db-overwrite", Array: "db",
			Mistake: "db[:, :, :, c] = dZ[i, h, w, c] overwrites instead of adds (= instead of +=), so only the last window of the last sample remains",
			Fix:     "use +=: db sums dZ over every sample and window",
			Value:   c.db(0, m, true),
		},
	}
}

// biasInEveryProduct returns the array name as computed by a conv_single_step
// that adds b to every product of the window, np.sum(a_slice * W + b), so Z
// gains (f²·n_C_prev − 1)·b. Under --dz-from-z that Z is also dZ, so the
// mistake reaches dA_prev, dW and db. Otherwise it changes only Z, and the
// fingerprint returned for the other arrays has no Value.
func (c *convCase) biasInEveryProduct(name string) Fingerprint {
	g := c.g
	fp := Fingerprint{
		Name: "bias-in-every-product", Array: name,
		Mistake: "conv_single_step adds b to every product of the window, np.sum(a_slice_prev * W + b), which adds b (f·f·n_C_prev − 1) times too often",
		Fix:     "add b once, after the sum: np.sum(a_slice_prev * W) + float(b)",
	}
	if name != "Z" {
		if !c.dZFromZ {
			return fp
		}
		fp.Mistake = "Z, which --dz-from-z also uses as dZ, comes from a conv_single_step that adds b to every product of the window, np.sum(a_slice_prev * W + b)"
	}
	z := c.ref.Outputs["Z"].Clone()
	extra := float64(g.f*g.f*g.nCPrev - 1)
	for k := range z.Data {
		z.Data[k] += extra * c.layer.B.Data[k%g.nC]
	}
	switch name {
	case "Z":
		fp.Value = z
	case "dA_prev":
		fp.Value, _ = c.layer.Backward(c.aPrev, nil, z)
	case "dW", "db":
		_, grads := c.layer.Backward(c.aPrev, nil, z)
		fp.Value = grads[0]
		if name == "db" {
			fp.Value = grads[1]
		}
	default:
		panic(fmt.Sprintf("net: conv computes no array %q", name))
	}
	return fp
}

// scaled returns t · s.
func scaled(t *Tensor, s float64) *Tensor {
	out := t.Clone()
	for k := range out.Data {
		out.Data[k] *= s
	}
	return out
}

// poolCase is one pool exercise: the inputs and sizes a learner's pool_backward reads.
type poolCase struct {
	g       poolGeometry
	average bool
	// ties is the reference's rule for tied maxima.
	ties  Ties
	aPrev *Tensor
	dA    *Tensor
	// ref is the right dA_prev.
	ref *Tensor
}

func newPoolCase(aPrev *Tensor, f, stride int, average bool, ties Ties, dA *Tensor, ex *Exercise) *poolCase {
	return &poolCase{g: newPoolGeometry(aPrev.Shape, f, stride), average: average, ties: ties, aPrev: aPrev, dA: dA, ref: ex.Outputs["dA_prev"]}
}

// poolMistake selects the mistakes of one run of the learner's pool loop.
type poolMistake struct {
	// ties is the max-pool mask: first maximum, every tied maximum, or split.
	ties Ties
	// divisor divides each window's gradient in average pool; f² is right.
	divisor float64
	// assign uses = in place of += when writing a window's gradient.
	assign bool
	// sliceDA reads dA[i, vs:vs+f, hs:hs+f, c] in place of dA[i, h, w, c].
	sliceDA bool
}

// backward runs the course's pool_backward loop
//
//	dA_prev[i, vs:vs+f, hs:hs+f, c] += mask · dA[i, h, w, c]         (max)
//	dA_prev[i, vs:vs+f, hs:hs+f, c] += dA[i, h, w, c] / f² · ones    (average)
//
// with the given mistakes. It returns false where numpy would raise: the
// sliced dA must broadcast into the f×f window.
func (c *poolCase) backward(mk poolMistake) (*Tensor, bool) {
	g := c.g
	out := NewTensor(c.aPrev.Shape...)
	weights := make([]float64, g.f*g.f)
	for i := 0; i < g.m; i++ {
		for h := 0; h < g.nH; h++ {
			for w := 0; w < g.nW; w++ {
				rows, cols := 1, 1
				if mk.sliceDA {
					rows, cols = sliceLength(h*g.stride, g.f, g.nH), sliceLength(w*g.stride, g.f, g.nW)
					if !broadcasts(rows, g.f) || !broadcasts(cols, g.f) {
						return nil, false
					}
				}
				for ch := 0; ch < g.nC; ch++ {
					c.windowWeights(weights, mk, i, h, w, ch)
					for p := 0; p < g.f; p++ {
						for q := 0; q < g.f; q++ {
							gh, gw := h, w
							if mk.sliceDA {
								gh, gw = h*g.stride+broadcastIndex(rows, p), w*g.stride+broadcastIndex(cols, q)
							}
							v := weights[p*g.f+q] * c.dA.Data[nhwcOffset(c.dA.Shape, i, gh, gw, ch)]
							k := g.at(i, h*g.stride+p, w*g.stride+q, ch)
							if mk.assign {
								out.Data[k] = v
							} else {
								out.Data[k] += v
							}
						}
					}
				}
			}
		}
	}
	return out, true
}

// windowWeights fills weights with the share of window (h, w)'s gradient
// that each of its f×f elements receives.
func (c *poolCase) windowWeights(weights []float64, mk poolMistake, i, h, w, ch int) {
	g := c.g
	if c.average {
		for k := range weights {
			weights[k] = 1 / mk.divisor
		}
		return
	}
	_, at := g.windowMax(c.aPrev.Data, i, h, w, ch)
	for p := 0; p < g.f; p++ {
		for q := 0; q < g.f; q++ {
			k := g.at(i, h*g.stride+p, w*g.stride+q, ch)
			weights[p*g.f+q] = 0
			for rank, tied := range at {
				switch {
				case k != tied:
				case mk.ties == TiesAll:
					weights[p*g.f+q] = 1
				case mk.ties == TiesSplit:
					weights[p*g.f+q] = 1 / float64(len(at))
				case rank == 0:
					weights[p*g.f+q] = 1
				}
			}
		}
	}
}

// fingerprints returns the known mistakes for the pool array name that give
// a different result from the reference on this case. Pool forward (A) has
// none.
func (c *poolCase) fingerprints(name string) []Fingerprint {
	if name != "dA_prev" {
		return nil
	}
	g := c.g
	right := poolMistake{ties: c.ties, divisor: float64(g.f * g.f)}
	var candidates []Fingerprint
	add := func(fp Fingerprint, mk poolMistake) {
		if value, ok := c.backward(mk); ok {
			fp.Array, fp.Value = "dA_prev", value
			candidates = append(candidates, fp)
		}
	}

	overwrite := right
	overwrite.assign = true
	add(Fingerprint{
		Name:    "pool-overwrite",
		Mistake: "overlapping windows overwrite instead of add: dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] = … (= instead of +=)",
		Fix:     "use +=: where windows overlap (stride < f) an element gets gradient from each window that covers it",
	}, overwrite)
	sliced := right
	sliced.sliceDA = true
	add(Fingerprint{
		Name:    "pool-dA-sliced-by-window",
		Mistake: "each window takes the slice dA[i, vert_start:vert_end, horiz_start:horiz_end, c] instead of the one value dA[i, h, w, c]",
		Fix:     "use dA[i, h, w, c]: window (h, w) made one output, so one gradient value comes back to it",
	}, sliced)

	if c.average {
		c.addDivisorMistakes(add, right)
	} else {
		c.addTieMistakes(add, right)
	}
	return keepDifferent(c.ref, candidates)
}

func (c *poolCase) addDivisorMistakes(add func(Fingerprint, poolMistake), right poolMistake) {
	g := c.g
	byF := right
	byF.divisor = float64(g.f)
	add(Fingerprint{
		Name:    "avgpool-divided-by-f",
		Mistake: "each window's gradient is divided by f instead of f·f, the number of elements in the window",
		Fix:     "divide by f·f: distribute_value(dz, (f, f)) spreads dz / (f·f) over the window",
	}, byF)
	byOutput := right
	byOutput.divisor = float64(g.nH * g.nW)
	add(Fingerprint{
		Name:    "avgpool-divided-by-output-size",
		Mistake: "each window's gradient is divided by n_H·n_W, the size of the pool output, instead of f·f, the size of the window",
		Fix:     "divide by f·f: pass the window's shape (f, f) to distribute_value, not the output's (n_H, n_W)",
	}, byOutput)
	undivided := right
	undivided.divisor = 1
	add(Fingerprint{
		Name:    "avgpool-not-divided",
		Mistake: "each window's gradient is copied to every element of the window without dividing it",
		Fix:     "divide by f·f: each element contributed 1/(f·f) of the window's average",
	}, undivided)
}

func (c *poolCase) addTieMistakes(add func(Fingerprint, poolMistake), right poolMistake) {
	rules := []struct {
		ties    Ties
		name    string
		mistake string
	}{
		{TiesAll, "maxpool-mask-all-ties", "the mask x == np.max(x) marks every element that ties for the maximum, so each of them receives the window's full gradient"},
		{TiesFirst, "maxpool-first-maximum", "a tied window's gradient goes only to its first maximum in row-major order"},
		{TiesSplit, "maxpool-split-ties", "a tied window's gradient is split equally among the tied maxima"},
	}
	for _, rule := range rules {
		if rule.ties == c.ties {
			continue
		}
		mk := right
		mk.ties = rule.ties
		add(Fingerprint{
			Name:    rule.name,
			Mistake: rule.mistake,
			Fix: fmt.Sprintf("this is a tie rule, not an error: cnndbg compared with --ties %s (%s); pass --ties %s if %s is the rule you mean to implement",
				c.ties, tieRuleText(c.ties), rule.ties, tieRuleText(rule.ties)),
		}, mk)
	}
}

// tieRuleText describes a tie rule in words.
func tieRuleText(t Ties) string {
	switch t {
	case TiesAll:
		return "the course's x == max(x) mask, full gradient to every tied maximum"
	case TiesSplit:
		return "the gradient split among the tied maxima"
	}
	return "the first maximum takes the gradient, as PyTorch does"
}
