package net

import (
	"fmt"
	"slices"

	"github.com/cnndbg/cnndbg/trace"
)

// Conv is a 2-D convolution (cross-correlation, as in every deep-learning
// framework) over NHWC input with weights W (f, f, n_C_prev, n_C) and bias
// b (1, 1, 1, n_C).
type Conv struct {
	name        string
	F           int
	Stride, Pad int
	linearParams
	nCPrev, nC int
}

// NewConv returns a conv layer with the given weights. It panics if W is not
// (f, f, n_C_prev, n_C) or b is not (1, 1, 1, n_C); user input is checked
// before this point.
func NewConv(name string, w, b *Tensor, stride, pad int) *Conv {
	f, f2, nCPrev, nC := w.dims4()
	if f != f2 || !slices.Equal(b.Shape, []int{1, 1, 1, nC}) {
		panic(fmt.Sprintf("net: conv %s: W %v and b %v do not fit", name, w.Shape, b.Shape))
	}
	return &Conv{name: name, F: f, Stride: stride, Pad: pad, linearParams: linearParams{W: w, B: b}, nCPrev: nCPrev, nC: nC}
}

func (l *Conv) Name() string { return l.name }
func (l *Conv) Kind() string { return "conv" }
func (l *Conv) Roles() Roles { return linearRoles }
func (l *Conv) Hyper() []any { return []any{"f", l.F, "stride", l.Stride, "pad", l.Pad} }

// OutShape returns (n_H, n_W, n_C) for an input (n_H_prev, n_W_prev, n_C_prev).
func (l *Conv) OutShape(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("layer %s (conv) needs an (n_H, n_W, n_C) input, got shape %v", l.name, in)
	}
	if in[2] != l.nCPrev {
		return nil, fmt.Errorf("layer %s (conv): W has %d input channels but the input has %d", l.name, l.nCPrev, in[2])
	}
	if in[0]+2*l.Pad < l.F || in[1]+2*l.Pad < l.F {
		return nil, fmt.Errorf("layer %s (conv): input %d×%d padded by %d is smaller than the %d×%d filter", l.name, in[0], in[1], l.Pad, l.F, l.F)
	}
	return []int{OutputSize(in[0], l.F, l.Stride, l.Pad), OutputSize(in[1], l.F, l.Stride, l.Pad), l.nC}, nil
}

// convGeometry holds the sizes of one conv call.
type convGeometry struct {
	m, nHPrev, nWPrev, nCPrev int
	f, stride, pad            int
	nH, nW, nC                int
}

func (l *Conv) geometry(aPrev *Tensor) convGeometry {
	m, nHPrev, nWPrev, nCPrev := aPrev.dims4()
	if nCPrev != l.nCPrev {
		panic(fmt.Sprintf("net: conv %s: input has %d channels, W expects %d", l.name, nCPrev, l.nCPrev))
	}
	return convGeometry{
		m: m, nHPrev: nHPrev, nWPrev: nWPrev, nCPrev: nCPrev,
		f: l.F, stride: l.Stride, pad: l.Pad,
		nH: OutputSize(nHPrev, l.F, l.Stride, l.Pad), nW: OutputSize(nWPrev, l.F, l.Stride, l.Pad), nC: l.nC,
	}
}

// Forward computes
//
//	Z[i,h,w,c] = Σ_{p,q,c'} A_prev_pad[i, h·s+p, w·s+q, c'] · W[p,q,c',c] + b[c].
func (l *Conv) Forward(aPrev *Tensor) *Tensor {
	g := l.geometry(aPrev)
	z := NewTensor(g.m, g.nH, g.nW, g.nC)
	convForwardIm2col(g, aPrev.Data, l.W.Data, l.B.Data, z.Data)
	return z
}

// Backward computes, with A_prev_pad the zero-padded input,
//
//	dA_prev_pad[i, h·s+p, w·s+q, c'] += W[p,q,c',c] · dZ[i,h,w,c]
//	dW[p,q,c',c] = Σ_{i,h,w} A_prev_pad[i, h·s+p, w·s+q, c'] · dZ[i,h,w,c]
//	db[c]        = Σ_{i,h,w} dZ[i,h,w,c]
//
// and dA_prev is dA_prev_pad without its border. Input rows and columns that
// no window reaches get zero gradient. Forward and Backward run the im2col
// kernels of conv_im2col.go. convForwardLoops and convBackwardLoops compute
// the same sums element by element, and the tests use them as the oracle.
func (l *Conv) Backward(aPrev, _, dZ *Tensor) (*Tensor, []*Tensor) {
	g := l.geometry(aPrev)
	dAPrev := NewTensor(aPrev.Shape...)
	dW := NewTensor(l.W.Shape...)
	db := NewTensor(l.B.Shape...)
	convBackwardIm2col(g, aPrev.Data, l.W.Data, dZ.Data, dAPrev.Data, dW.Data, db.Data)
	return dAPrev, []*Tensor{dW, db}
}

// convForwardLoops is the plain loop version of Forward: slow, obviously
// right, and the oracle the faster code is tested against.
func convForwardLoops(g convGeometry, aPrev, w, b, z []float64) {
	for i := 0; i < g.m; i++ {
		for h := 0; h < g.nH; h++ {
			for wo := 0; wo < g.nW; wo++ {
				for c := 0; c < g.nC; c++ {
					sum := 0.0
					for p := 0; p < g.f; p++ {
						row := h*g.stride + p - g.pad
						if row < 0 || row >= g.nHPrev {
							continue
						}
						for q := 0; q < g.f; q++ {
							col := wo*g.stride + q - g.pad
							if col < 0 || col >= g.nWPrev {
								continue
							}
							for cp := 0; cp < g.nCPrev; cp++ {
								sum += aPrev[((i*g.nHPrev+row)*g.nWPrev+col)*g.nCPrev+cp] * w[((p*g.f+q)*g.nCPrev+cp)*g.nC+c]
							}
						}
					}
					z[((i*g.nH+h)*g.nW+wo)*g.nC+c] = sum + b[c]
				}
			}
		}
	}
}

// convBackwardLoops is the plain loop version of Backward.
func convBackwardLoops(g convGeometry, aPrev, w, dZ, dAPrev, dW, db []float64) {
	for i := 0; i < g.m; i++ {
		for h := 0; h < g.nH; h++ {
			for wo := 0; wo < g.nW; wo++ {
				for c := 0; c < g.nC; c++ {
					dz := dZ[((i*g.nH+h)*g.nW+wo)*g.nC+c]
					db[c] += dz
					for p := 0; p < g.f; p++ {
						row := h*g.stride + p - g.pad
						if row < 0 || row >= g.nHPrev {
							continue
						}
						for q := 0; q < g.f; q++ {
							col := wo*g.stride + q - g.pad
							if col < 0 || col >= g.nWPrev {
								continue
							}
							for cp := 0; cp < g.nCPrev; cp++ {
								a := ((i*g.nHPrev+row)*g.nWPrev+col)*g.nCPrev + cp
								k := ((p*g.f+q)*g.nCPrev+cp)*g.nC + c
								dAPrev[a] += w[k] * dz
								dW[k] += aPrev[a] * dz
							}
						}
					}
				}
			}
		}
	}
}

func init() {
	registerExplainer("conv", trace.Forward, explainConvForward)
	registerExplainer("conv", trace.Backward, explainConvBackward)
}

// convEventGeometry reads the sizes of a recorded conv event.
func convEventGeometry(e *trace.Event, aPrev, w recorded) (convGeometry, error) {
	stride, err := e.Int("stride")
	if err != nil {
		return convGeometry{}, err
	}
	pad, err := e.Int("pad")
	if err != nil {
		return convGeometry{}, err
	}
	if len(aPrev.Shape) != 4 || len(w.Shape) != 4 {
		return convGeometry{}, fmt.Errorf("event %d (%s conv): A_prev %v or W %v is not 4-D", e.Index, e.Layer, aPrev.Shape, w.Shape)
	}
	f := w.Shape[0]
	return convGeometry{
		m: aPrev.Shape[0], nHPrev: aPrev.Shape[1], nWPrev: aPrev.Shape[2], nCPrev: aPrev.Shape[3],
		f: f, stride: stride, pad: pad,
		nH: OutputSize(aPrev.Shape[1], f, stride, pad), nW: OutputSize(aPrev.Shape[2], f, stride, pad), nC: w.Shape[3],
	}, nil
}

// explainConvForward lists the window products and the bias that make Z[i,h,w,c].
// Products that read the zero padding are left out: they are zero.
func explainConvForward(tr *trace.Trace, e *trace.Event, role string, idx []int) (*Explanation, error) {
	ts, err := eventTensors(tr, e, "A_prev", "W", "b")
	if err != nil {
		return nil, err
	}
	aPrev, w, b := ts[0], ts[1], ts[2]
	g, err := convEventGeometry(e, aPrev, w)
	if err != nil {
		return nil, err
	}
	i, h, wo, c := idx[0], idx[1], idx[2], idx[3]
	x := &Explanation{Formula: "Z[i,h,w,c] = Σ_{p,q,c'} A_prev_pad[i, h·s+p, w·s+q, c'] · W[p,q,c',c] + b[c]"}
	for p := 0; p < g.f; p++ {
		row := h*g.stride + p - g.pad
		for q := 0; q < g.f; q++ {
			col := wo*g.stride + q - g.pad
			if row < 0 || row >= g.nHPrev || col < 0 || col >= g.nWPrev {
				continue
			}
			for cp := 0; cp < g.nCPrev; cp++ {
				x.Terms = append(x.Terms, product(1, operand(e, aPrev, i, row, col, cp), operand(e, w, p, q, cp, c)))
			}
		}
	}
	bias := product(1, operand(e, b, 0, 0, 0, c))
	bias.Note = "bias"
	x.Terms = append(x.Terms, bias)
	if g.pad > 0 {
		x.Notes = append(x.Notes, fmt.Sprintf("window rows %d..%d, columns %d..%d of A_prev (pad %d; products with the zero border are left out)",
			h*g.stride-g.pad, h*g.stride-g.pad+g.f-1, wo*g.stride-g.pad, wo*g.stride-g.pad+g.f-1, g.pad))
	}
	return x, nil
}

// explainConvBackward lists the terms that make one element of dW, db or dA_prev.
func explainConvBackward(tr *trace.Trace, e *trace.Event, role string, idx []int) (*Explanation, error) {
	ts, err := eventTensors(tr, e, "A_prev", "W", "dZ")
	if err != nil {
		return nil, err
	}
	aPrev, w, dZ := ts[0], ts[1], ts[2]
	g, err := convEventGeometry(e, aPrev, w)
	if err != nil {
		return nil, err
	}
	switch role {
	case "dW":
		return explainConvDW(e, g, aPrev, dZ, idx), nil
	case "db":
		return explainConvDB(e, g, dZ, idx), nil
	case "dA_prev":
		return explainConvDAPrev(e, g, w, dZ, idx), nil
	}
	return nil, fmt.Errorf("conv backward writes no tensor %q", role)
}

// explainConvDW: dW[p,q,c',c] = Σ_{i,h,w} A_prev_pad[i, h·s+p, w·s+q, c'] · dZ[i,h,w,c].
func explainConvDW(e *trace.Event, g convGeometry, aPrev, dZ recorded, idx []int) *Explanation {
	p, q, cp, c := idx[0], idx[1], idx[2], idx[3]
	x := &Explanation{Formula: "dW[p,q,c',c] = Σ_{i,h,w} A_prev_pad[i, h·s+p, w·s+q, c'] · dZ[i,h,w,c]"}
	x.Terms = make([]Term, 0, g.m*g.nH*g.nW)
	var s slab
	skipped := 0
	for i := 0; i < g.m; i++ {
		for h := 0; h < g.nH; h++ {
			row := h*g.stride + p - g.pad
			for wo := 0; wo < g.nW; wo++ {
				col := wo*g.stride + q - g.pad
				if row < 0 || row >= g.nHPrev || col < 0 || col >= g.nWPrev {
					skipped++
					continue
				}
				x.Terms = append(x.Terms, s.product2(1, s.operand(aPrev, i, row, col, cp), s.operand(dZ, i, h, wo, c)))
			}
		}
	}
	if skipped > 0 {
		x.Notes = append(x.Notes, fmt.Sprintf("%d windows put W[%d,%d] on the zero padding; their products are 0 and left out", skipped, p, q))
	}
	return x
}

// explainConvDB: db[c] = Σ_{i,h,w} dZ[i,h,w,c].
func explainConvDB(e *trace.Event, g convGeometry, dZ recorded, idx []int) *Explanation {
	c := idx[3]
	x := &Explanation{Formula: "db[c] = Σ_{i,h,w} dZ[i,h,w,c]"}
	for i := 0; i < g.m; i++ {
		for h := 0; h < g.nH; h++ {
			for wo := 0; wo < g.nW; wo++ {
				x.Terms = append(x.Terms, product(1, operand(e, dZ, i, h, wo, c)))
			}
		}
	}
	return x
}

// explainConvDAPrev: dA_prev[i,r,k,c'] = Σ over every window (h,w) that covers
// (r,k) and every filter c of W[r+pad−h·s, k+pad−w·s, c', c] · dZ[i,h,w,c].
func explainConvDAPrev(e *trace.Event, g convGeometry, w, dZ recorded, idx []int) *Explanation {
	i, r, k, cp := idx[0], idx[1], idx[2], idx[3]
	x := &Explanation{Formula: "dA_prev[i,r,k,c'] = Σ_{h,w,c : window (h,w) covers (r,k)} W[r+pad−h·s, k+pad−w·s, c', c] · dZ[i,h,w,c]"}
	var s slab
	for h := 0; h < g.nH; h++ {
		p := r + g.pad - h*g.stride
		if p < 0 || p >= g.f {
			continue
		}
		for wo := 0; wo < g.nW; wo++ {
			q := k + g.pad - wo*g.stride
			if q < 0 || q >= g.f {
				continue
			}
			for c := 0; c < g.nC; c++ {
				x.Terms = append(x.Terms, s.product2(1, s.operand(w, p, q, cp, c), s.operand(dZ, i, h, wo, c)))
			}
		}
	}
	if len(x.Terms) == 0 {
		x.Notes = append(x.Notes, "no window reaches this element, so its gradient is 0")
	}
	return x
}
