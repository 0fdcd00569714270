package net

import (
	"fmt"
	"math"
	"runtime"

	"github.com/cnndbg/cnndbg/trace"
)

// Ties is the rule for where max pool sends a window's gradient when several elements
// of the window share the maximum.
type Ties string

const (
	// TiesFirst sends it to the first maximum in row-major window order, as
	// PyTorch does on CPU.
	TiesFirst Ties = "first"
	// TiesAll sends the full gradient to every tied element: the course's
	// x == max(x) mask.
	TiesAll Ties = "all"
	// TiesSplit shares it equally among the tied elements.
	TiesSplit Ties = "split"
)

// ParseTies returns the tie rule named s; "" means TiesFirst.
func ParseTies(s string) (Ties, error) {
	switch Ties(s) {
	case "", TiesFirst:
		return TiesFirst, nil
	case TiesAll, TiesSplit:
		return Ties(s), nil
	}
	return "", fmt.Errorf("unknown max-pool ties rule %q (use first, all or split)", s)
}

// Pool is a max or average pool over f×f windows with a stride and no padding.
type Pool struct {
	name      string
	Max       bool
	F, Stride int
	Ties      Ties
}

// NewMaxPool returns a max-pool layer.
func NewMaxPool(name string, f, stride int, ties Ties) *Pool {
	return &Pool{name: name, Max: true, F: f, Stride: stride, Ties: ties}
}

// NewAvgPool returns an average-pool layer.
func NewAvgPool(name string, f, stride int) *Pool {
	return &Pool{name: name, F: f, Stride: stride}
}

func (l *Pool) Name() string { return l.name }
func (l *Pool) Roles() Roles { return standardRoles }

// Kind returns maxpool or avgpool.
func (l *Pool) Kind() string {
	if l.Max {
		return "maxpool"
	}
	return "avgpool"
}

func (l *Pool) Hyper() []any {
	if l.Max {
		return []any{"f", l.F, "stride", l.Stride, "ties", string(l.Ties)}
	}
	return []any{"f", l.F, "stride", l.Stride}
}

func (l *Pool) OutShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("layer %s (%s) needs an (n_H, n_W, n_C) input, got shape %v", l.name, l.Kind(), in)
	}
	if in[0] < l.F || in[1] < l.F {
		return nil, fmt.Errorf("layer %s (%s): input %d×%d is smaller than the %d×%d window: use a window of at most %d×%d", l.name, l.Kind(), in[0], in[1], l.F, l.F, min(in[0], in[1]), min(in[0], in[1]))
	}
	return []int{OutputSize(in[0], l.F, l.Stride, 0), OutputSize(in[1], l.F, l.Stride, 0), in[2]}, nil
}

// poolGeometry holds the sizes of one pool call.
type poolGeometry struct {
	m, nHPrev, nWPrev, nC int
	f, stride             int
	nH, nW                int
}

func newPoolGeometry(shape []int, f, stride int) poolGeometry {
	return poolGeometry{
		m: shape[0], nHPrev: shape[1], nWPrev: shape[2], nC: shape[3], f: f, stride: stride,
		nH: OutputSize(shape[1], f, stride, 0), nW: OutputSize(shape[2], f, stride, 0),
	}
}

// at returns the offset of A_prev[i,r,k,c].
func (g poolGeometry) at(i, r, k, c int) int { return ((i*g.nHPrev+r)*g.nWPrev+k)*g.nC + c }

// windowMax returns the maximum of window (h,w) of sample i, channel c, and
// the offsets of the elements that equal it in row-major window order. A NaN
// in the window is the maximum, as in PyTorch, and only the first NaN counts.
func (g poolGeometry) windowMax(aPrev []float64, i, h, w, c int) (float64, []int) {
	best := math.Inf(-1)
	var at []int
	for p := 0; p < g.f; p++ {
		for q := 0; q < g.f; q++ {
			k := g.at(i, h*g.stride+p, w*g.stride+q, c)
			v := aPrev[k]
			switch {
			case best != best:
				// A NaN was found earlier and stays the maximum.
			case v != v || v > best || at == nil:
				best, at = v, append(at[:0], k)
			case v == best:
				at = append(at, k)
			}
		}
	}
	return best, at
}

// Forward computes A[i,h,w,c] = max or mean of the window
// A_prev[i, h·s : h·s+f, w·s : w·s+f, c]. A NaN in a window is its maximum,
// as in windowMax.
func (l *Pool) Forward(aPrev *Tensor) *Tensor {
	g := newPoolGeometry(aPrev.Shape, l.F, l.Stride)
	a := NewTensor(g.m, g.nH, g.nW, g.nC)
	g.forSamples(func(from, to int) {
		g.eachWindow(from, to, func(i, h, w, out int) {
			if l.Max {
				g.windowMaxRow(aPrev.Data, i, h, w, a.Data[out:out+g.nC])
			} else {
				g.windowMeanRow(aPrev.Data, i, h, w, a.Data[out:out+g.nC])
			}
		})
	})
	return a
}

// forSamples calls fn(from, to) on chunks of at most 8 samples that cover
// the batch, shared among the CPUs when the input is large enough to pay for
// the goroutines. Windows never cross samples, so chunks may write their own
// samples of an output or gradient without locks.
func (g poolGeometry) forSamples(fn func(from, to int)) {
	const samplesPerChunk = 8
	chunks := (g.m + samplesPerChunk - 1) / samplesPerChunk
	workers := 1
	if g.m*g.nHPrev*g.nWPrev*g.nC >= 1<<16 {
		workers = max(1, min(runtime.GOMAXPROCS(0), chunks))
	}
	runChunks(chunks, workers, func(u int) {
		fn(u*samplesPerChunk, min(g.m, (u+1)*samplesPerChunk))
	})
}

// eachWindow calls fn(i, h, w, out) for every window position of samples
// from ≤ i < to, where out is the offset of A[i,h,w,0].
func (g poolGeometry) eachWindow(from, to int, fn func(i, h, w, out int)) {
	for i := from; i < to; i++ {
		for h := 0; h < g.nH; h++ {
			for w := 0; w < g.nW; w++ {
				fn(i, h, w, ((i*g.nH+h)*g.nW+w)*g.nC)
			}
		}
	}
}

// windowMaxRow sets best[c] to the maximum of window (h,w) of sample i for
// every channel c. Go's max returns NaN when either operand is NaN, so a
// NaN in the window is the maximum, as in windowMax. Unlike windowMax it
// has no branch to mispredict and prefers +0 to −0.
func (g poolGeometry) windowMaxRow(aPrev []float64, i, h, w int, best []float64) {
	k0 := g.at(i, h*g.stride, w*g.stride, 0)
	copy(best, aPrev[k0:k0+len(best)])
	for p := 0; p < g.f; p++ {
		for q := 0; q < g.f; q++ {
			k := k0 + (p*g.nWPrev+q)*g.nC
			for c, v := range aPrev[k : k+len(best)] {
				best[c] = max(best[c], v)
			}
		}
	}
}

// windowArgMaxRow sets best[c] to the maximum of window (h,w) of sample i
// for every channel c, by the rule of windowMax, and first[c] to the offset
// in A_prev of the first element that equals it.
func (g poolGeometry) windowArgMaxRow(aPrev []float64, i, h, w int, best []float64, first []int) {
	k0 := g.at(i, h*g.stride, w*g.stride, 0)
	copy(best, aPrev[k0:k0+len(best)])
	for c := range first {
		first[c] = k0 + c
	}
	for p := 0; p < g.f; p++ {
		for q := 0; q < g.f; q++ {
			k := k0 + (p*g.nWPrev+q)*g.nC
			for c, v := range aPrev[k : k+len(best)] {
				if b := best[c]; b == b && (v != v || v > b) {
					best[c] = v
					first[c] = k + c
				}
			}
		}
	}
}

// windowMeanRow sets mean[c] to the mean of window (h,w) of sample i for
// every channel c.
func (g poolGeometry) windowMeanRow(aPrev []float64, i, h, w int, mean []float64) {
	clear(mean)
	for p := 0; p < g.f; p++ {
		for q := 0; q < g.f; q++ {
			k := g.at(i, h*g.stride+p, w*g.stride+q, 0)
			for c, v := range aPrev[k : k+g.nC] {
				mean[c] += v
			}
		}
	}
	area := float64(g.f * g.f)
	for c := range mean {
		mean[c] /= area
	}
}

// Backward routes each window's gradient dA[i,h,w,c] back to A_prev: for max
// pool to the maximum (by the tie rule), for average pool dA/f² to every
// element of the window. Overlapping windows add.
func (l *Pool) Backward(aPrev, _, dA *Tensor) (*Tensor, []*Tensor) {
	g := newPoolGeometry(aPrev.Shape, l.F, l.Stride)
	dAPrev := NewTensor(aPrev.Shape...)
	if !l.Max {
		area := float64(g.f * g.f)
		g.forSamples(func(from, to int) {
			g.eachWindow(from, to, func(i, h, w, out int) {
				grad := dA.Data[out : out+g.nC]
				for p := 0; p < g.f; p++ {
					for q := 0; q < g.f; q++ {
						k := g.at(i, h*g.stride+p, w*g.stride+q, 0)
						dst := dAPrev.Data[k : k+g.nC]
						for c, v := range grad {
							dst[c] += v / area
						}
					}
				}
			})
		})
		return dAPrev, nil
	}

	g.forSamples(func(from, to int) {
		rows := &maxRows{best: make([]float64, g.nC), first: make([]int, g.nC)}
		g.eachWindow(from, to, func(i, h, w, out int) {
			grad := dA.Data[out : out+g.nC]
			g.windowArgMaxRow(aPrev.Data, i, h, w, rows.best, rows.first)
			switch l.Ties {
			case TiesAll, TiesSplit:
				g.routeTies(aPrev.Data, dAPrev.Data, l.Ties, i, h, w, rows, grad)
			default:
				for c, k := range rows.first {
					dAPrev.Data[k] += grad[c]
				}
			}
		})
	})
	return dAPrev, nil
}

// maxRows are the per-channel maxima of one window and the offsets of their
// first occurrences.
type maxRows struct {
	best  []float64
	first []int
}

// routeTies adds the gradient of window (h,w) of sample i to every element
// that equals the window's maximum (TiesAll), or shares it equally among
// them (TiesSplit). A NaN maximum has one element: the first NaN.
func (g poolGeometry) routeTies(aPrev, dAPrev []float64, ties Ties, i, h, w int, rows *maxRows, grad []float64) {
	for c, b := range rows.best {
		if b != b {
			dAPrev[rows.first[c]] += grad[c]
			continue
		}
		tied := 0
		for p := 0; p < g.f; p++ {
			for q := 0; q < g.f; q++ {
				if aPrev[g.at(i, h*g.stride+p, w*g.stride+q, c)] == b {
					tied++
				}
			}
		}
		share := grad[c]
		if ties == TiesSplit {
			share /= float64(tied)
		}
		for p := 0; p < g.f; p++ {
			for q := 0; q < g.f; q++ {
				if k := g.at(i, h*g.stride+p, w*g.stride+q, c); aPrev[k] == b {
					dAPrev[k] += share
				}
			}
		}
	}
}

func init() {
	registerExplainer("maxpool", trace.Forward, explainPoolForward)
	registerExplainer("avgpool", trace.Forward, explainPoolForward)
	registerExplainer("maxpool", trace.Backward, explainPoolBackward)
	registerExplainer("avgpool", trace.Backward, explainPoolBackward)
}

// recordedPool rebuilds the pool layer and geometry of a recorded event.
func recordedPool(e *trace.Event, aPrev recorded) (*Pool, poolGeometry, error) {
	f, err := e.Int("f")
	if err != nil {
		return nil, poolGeometry{}, err
	}
	stride, err := e.Int("stride")
	if err != nil {
		return nil, poolGeometry{}, err
	}
	if len(aPrev.Shape) != 4 {
		return nil, poolGeometry{}, fmt.Errorf("event %d (%s %s): A_prev %v is not 4-D", e.Index, e.Layer, e.Kind, aPrev.Shape)
	}
	l := &Pool{name: e.Layer, Max: e.Kind == "maxpool", F: f, Stride: stride}
	if l.Max {
		if l.Ties, err = ParseTies(e.Param("ties")); err != nil {
			return nil, poolGeometry{}, err
		}
	}
	return l, newPoolGeometry(aPrev.Shape, f, stride), nil
}

// unravelA returns the NHWC index of offset k in A_prev.
func (g poolGeometry) unravelA(k int) []int {
	return trace.Unravel([]int{g.m, g.nHPrev, g.nWPrev, g.nC}, k)
}

func explainPoolForward(tr *trace.Trace, e *trace.Event, role string, idx []int) (*Explanation, error) {
	ts, err := eventTensors(tr, e, "A_prev")
	if err != nil {
		return nil, err
	}
	aPrev := ts[0]
	l, g, err := recordedPool(e, aPrev)
	if err != nil {
		return nil, err
	}
	i, h, w, c := idx[0], idx[1], idx[2], idx[3]
	window := fmt.Sprintf("window rows %d..%d, columns %d..%d", h*g.stride, h*g.stride+g.f-1, w*g.stride, w*g.stride+g.f-1)
	if l.Max {
		_, at := g.windowMax(aPrev.Data, i, h, w, c)
		term := product(1, operand(e, aPrev, g.unravelA(at[0])...))
		term.Note = "maximum of the " + window
		x := &Explanation{Formula: "A[i,h,w,c] = max A_prev[i, h·s:h·s+f, w·s:w·s+f, c]", Terms: []Term{term}}
		if len(at) > 1 {
			x.Notes = append(x.Notes, tieNote(g, at))
		}
		return x, nil
	}
	x := &Explanation{Formula: "A[i,h,w,c] = (1/f²) Σ_{p,q} A_prev[i, h·s+p, w·s+q, c]"}
	for p := 0; p < g.f; p++ {
		for q := 0; q < g.f; q++ {
			x.Terms = append(x.Terms, product(1/float64(g.f*g.f), operand(e, aPrev, i, h*g.stride+p, w*g.stride+q, c)))
		}
	}
	x.Notes = append(x.Notes, window)
	return x, nil
}

// tieNote names the tied elements of a max-pool window.
func tieNote(g poolGeometry, at []int) string {
	s := fmt.Sprintf("%d elements tie for the maximum:", len(at))
	for _, k := range at {
		s += fmt.Sprintf(" %v", g.unravelA(k)[1:3])
	}
	return s
}

// explainPoolBackward lists, for dA_prev[i,r,k,c], every window that covers
// (r,k) and sends gradient there.
func explainPoolBackward(tr *trace.Trace, e *trace.Event, role string, idx []int) (*Explanation, error) {
	ts, err := eventTensors(tr, e, "A_prev", "dA")
	if err != nil {
		return nil, err
	}
	aPrev, dA := ts[0], ts[1]
	l, g, err := recordedPool(e, aPrev)
	if err != nil {
		return nil, err
	}
	i, r, k, c := idx[0], idx[1], idx[2], idx[3]
	self := g.at(i, r, k, c)
	x := &Explanation{Formula: "dA_prev[i,r,k,c] = Σ_{windows (h,w) ∋ (r,k)} dA[i,h,w,c] / f²"}
	if l.Max {
		x.Formula = "dA_prev[i,r,k,c] = Σ_{windows (h,w) whose maximum is (r,k)} dA[i,h,w,c]"
	}
	covered := false
	for h := 0; h < g.nH; h++ {
		p := r - h*g.stride
		if p < 0 || p >= g.f {
			continue
		}
		for w := 0; w < g.nW; w++ {
			q := k - w*g.stride
			if q < 0 || q >= g.f {
				continue
			}
			covered = true
			grad := operand(e, dA, i, h, w, c)
			if !l.Max {
				term := product(1/float64(g.f*g.f), grad)
				term.Note = fmt.Sprintf("window (%d,%d) shares its gradient among %d elements", h, w, g.f*g.f)
				x.Terms = append(x.Terms, term)
				continue
			}
			x.Terms, x.Notes = routeMax(g, l.Ties, aPrev.Data, x.Terms, x.Notes, grad, self, i, h, w, c)
		}
	}
	if !covered {
		x.Notes = append(x.Notes, "no window covers this element, so its gradient is 0")
	}
	return x, nil
}

// routeMax adds the term window (h,w) sends to element self, if any, and a
// note when the window's maximum is tied.
func routeMax(g poolGeometry, ties Ties, aPrev []float64, terms []Term, notes []string, grad Operand, self, i, h, w, c int) ([]Term, []string) {
	_, at := g.windowMax(aPrev, i, h, w, c)
	rank := -1
	for n, k := range at {
		if k == self {
			rank = n
		}
	}
	if rank < 0 {
		return terms, notes
	}
	coef := 1.0
	switch {
	case ties == TiesSplit:
		coef = 1 / float64(len(at))
	case ties == TiesFirst && rank > 0:
		notes = append(notes, fmt.Sprintf("window (%d,%d): this element ties for the maximum but the first maximum %v takes the gradient; an x == max(x) mask would also send %g here",
			h, w, g.unravelA(at[0])[1:3], grad.Value))
		return terms, notes
	}
	term := product(coef, grad)
	term.Note = fmt.Sprintf("window (%d,%d) routes here: its maximum", h, w)
	if len(at) > 1 {
		term.Note = fmt.Sprintf("window (%d,%d) routes here: %d-way tie, rule %q", h, w, len(at), ties)
		if ties == TiesFirst {
			notes = append(notes, fmt.Sprintf("window (%d,%d): %s; an x == max(x) mask would send the full %g to each", h, w, tieNote(g, at), grad.Value))
		}
	}
	return append(terms, term), notes
}
