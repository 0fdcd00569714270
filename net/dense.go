package net

import (
	"fmt"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/cnndbg/cnndbg/trace"
)

// Dense is a fully connected layer Z = A_prev · W + b with W (n_in, n_out)
// and b (1, n_out).
type Dense struct {
	name string
	linearParams
	nIn, nOut int
}

// NewDense returns a dense layer with the given weights. It panics if W is
// not 2-D or b is not (1, n_out).
func NewDense(name string, w, b *Tensor) *Dense {
	nIn, nOut := w.dims2()
	if !slices.Equal(b.Shape, []int{1, nOut}) {
		panic(fmt.Sprintf("net: dense %s: W %v and b %v do not fit", name, w.Shape, b.Shape))
	}
	return &Dense{name: name, linearParams: linearParams{W: w, B: b}, nIn: nIn, nOut: nOut}
}

func (l *Dense) Name() string { return l.name }
func (l *Dense) Kind() string { return "dense" }
func (l *Dense) Hyper() []any { return []any{"units", l.nOut} }
func (l *Dense) Roles() Roles { return linearRoles }

func (l *Dense) OutShape(in []int) ([]int, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("layer %s (dense) needs a flat (n,) input, got shape %v: add a flatten layer before it", l.name, in)
	}
	if in[0] != l.nIn {
		return nil, fmt.Errorf("layer %s (dense): W has %d inputs but the layer below gives %d", l.name, l.nIn, in[0])
	}
	return []int{l.nOut}, nil
}

// Forward computes Z[i,j] = Σ_k A_prev[i,k] · W[k,j] + b[j] as one Dgemm.
func (l *Dense) Forward(aPrev *Tensor) *Tensor {
	m, nIn := aPrev.dims2()
	l.checkInputs(nIn)
	z := NewTensor(m, l.nOut)
	if !allFinite(aPrev.Data, l.W.Data, l.B.Data) {
		l.forwardLoops(aPrev, z)
		return z
	}
	for i := 0; i < m; i++ {
		copy(z.Data[i*l.nOut:(i+1)*l.nOut], l.B.Data)
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, general(m, nIn, aPrev.Data), general(nIn, l.nOut, l.W.Data), 1, general(m, l.nOut, z.Data))
	return z
}

// Backward computes, each product as one Dgemm,
//
//	dA_prev[i,k] = Σ_j dZ[i,j] · W[k,j]
//	dW[k,j]      = Σ_i A_prev[i,k] · dZ[i,j]
//	db[j]        = Σ_i dZ[i,j]
func (l *Dense) Backward(aPrev, _, dZ *Tensor) (*Tensor, []*Tensor) {
	m, nIn := aPrev.dims2()
	l.checkInputs(nIn)
	dAPrev := NewTensor(m, nIn)
	dW := NewTensor(nIn, l.nOut)
	db := NewTensor(1, l.nOut)
	if !allFinite(aPrev.Data, l.W.Data, dZ.Data) {
		l.backwardLoops(aPrev, dZ, dAPrev, dW, db)
		return dAPrev, []*Tensor{dW, db}
	}
	dZMat := general(m, l.nOut, dZ.Data)
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, dZMat, general(nIn, l.nOut, l.W.Data), 0, general(m, nIn, dAPrev.Data))
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, general(m, nIn, aPrev.Data), dZMat, 0, general(nIn, l.nOut, dW.Data))
	for i := 0; i < m; i++ {
		for j, v := range dZ.Data[i*l.nOut : (i+1)*l.nOut] {
			db.Data[j] += v
		}
	}
	return dAPrev, []*Tensor{dW, db}
}

// forwardLoops computes Forward element by element, for operands with Inf
// or NaN (see allFinite).
func (l *Dense) forwardLoops(aPrev, z *Tensor) {
	m, nIn := aPrev.dims2()
	for i := 0; i < m; i++ {
		for j := 0; j < l.nOut; j++ {
			sum := 0.0
			for k := 0; k < nIn; k++ {
				sum += aPrev.Data[i*nIn+k] * l.W.Data[k*l.nOut+j]
			}
			z.Data[i*l.nOut+j] = sum + l.B.Data[j]
		}
	}
}

// backwardLoops computes Backward element by element into zeroed dAPrev,
// dW and db, for operands with Inf or NaN.
func (l *Dense) backwardLoops(aPrev, dZ, dAPrev, dW, db *Tensor) {
	m, nIn := aPrev.dims2()
	for i := 0; i < m; i++ {
		for j := 0; j < l.nOut; j++ {
			dz := dZ.Data[i*l.nOut+j]
			db.Data[j] += dz
			for k := 0; k < nIn; k++ {
				dAPrev.Data[i*nIn+k] += dz * l.W.Data[k*l.nOut+j]
				dW.Data[k*l.nOut+j] += aPrev.Data[i*nIn+k] * dz
			}
		}
	}
}

// checkInputs panics unless an input row has the n_in values W expects.
func (l *Dense) checkInputs(nIn int) {
	if nIn != l.nIn {
		panic(fmt.Sprintf("net: dense %s: input has %d values per sample, W expects %d", l.name, nIn, l.nIn))
	}
}

func init() {
	registerExplainer("dense", trace.Forward, explainDenseForward)
	registerExplainer("dense", trace.Backward, explainDenseBackward)
}

func explainDenseForward(tr *trace.Trace, e *trace.Event, role string, idx []int) (*Explanation, error) {
	ts, err := eventTensors(tr, e, "A_prev", "W", "b")
	if err != nil {
		return nil, err
	}
	aPrev, w, b := ts[0], ts[1], ts[2]
	i, j := idx[0], idx[1]
	x := &Explanation{Formula: "Z[i,j] = Σ_k A_prev[i,k] · W[k,j] + b[j]"}
	for k := 0; k < aPrev.Shape[1]; k++ {
		x.Terms = append(x.Terms, product(1, operand(e, aPrev, i, k), operand(e, w, k, j)))
	}
	bias := product(1, operand(e, b, 0, j))
	bias.Note = "bias"
	x.Terms = append(x.Terms, bias)
	return x, nil
}

func explainDenseBackward(tr *trace.Trace, e *trace.Event, role string, idx []int) (*Explanation, error) {
	ts, err := eventTensors(tr, e, "A_prev", "W", "dZ")
	if err != nil {
		return nil, err
	}
	aPrev, w, dZ := ts[0], ts[1], ts[2]
	m, nOut := dZ.Shape[0], dZ.Shape[1]
	var x *Explanation
	switch role {
	case "dW":
		k, j := idx[0], idx[1]
		x = &Explanation{Formula: "dW[k,j] = Σ_i A_prev[i,k] · dZ[i,j]"}
		for i := 0; i < m; i++ {
			x.Terms = append(x.Terms, product(1, operand(e, aPrev, i, k), operand(e, dZ, i, j)))
		}
	case "db":
		j := idx[1]
		x = &Explanation{Formula: "db[j] = Σ_i dZ[i,j]"}
		for i := 0; i < m; i++ {
			x.Terms = append(x.Terms, product(1, operand(e, dZ, i, j)))
		}
	case "dA_prev":
		i, k := idx[0], idx[1]
		x = &Explanation{Formula: "dA_prev[i,k] = Σ_j W[k,j] · dZ[i,j]"}
		for j := 0; j < nOut; j++ {
			x.Terms = append(x.Terms, product(1, operand(e, w, k, j), operand(e, dZ, i, j)))
		}
	default:
		return nil, fmt.Errorf("dense backward writes no tensor %q", role)
	}
	return x, nil
}
