package net

import (
	"fmt"
	"math"

	"github.com/cnndbg/cnndbg/trace"
)

// SoftmaxCrossEntropy is the loss L = −(1/m) Σ_i log softmax(Z)[i, y_i],
// averaged over the batch, with its gradient dZ = (softmax(Z) − Y)/m where Y
// is one-hot.
type SoftmaxCrossEntropy struct{ name string }

// NewSoftmaxCrossEntropy returns the loss layer.
func NewSoftmaxCrossEntropy(name string) *SoftmaxCrossEntropy {
	return &SoftmaxCrossEntropy{name: name}
}

func (l *SoftmaxCrossEntropy) Name() string { return l.name }

// Softmax returns the row-wise softmax of the (m, n) logits z, computed as
// exp(z − max) / Σ exp(z − max) so large logits do not overflow.
func Softmax(z *Tensor) *Tensor {
	m, n := z.dims2()
	p := NewTensor(m, n)
	for i := 0; i < m; i++ {
		row := z.Data[i*n : (i+1)*n]
		top := math.Inf(-1)
		for _, v := range row {
			top = math.Max(top, v)
		}
		sum := 0.0
		for j, v := range row {
			p.Data[i*n+j] = math.Exp(v - top)
			sum += p.Data[i*n+j]
		}
		for j := range row {
			p.Data[i*n+j] /= sum
		}
	}
	return p
}

// logSoftmax returns log softmax(z)[i, j] by the log-sum-exp identity
// z[i,j] − max_i − log Σ_k exp(z[i,k] − max_i), finite even where the
// softmax itself underflows to 0.
func logSoftmax(z *Tensor, i, j int) float64 {
	_, n := z.dims2()
	row := z.Data[i*n : (i+1)*n]
	top := math.Inf(-1)
	for _, v := range row {
		top = math.Max(top, v)
	}
	sum := 0.0
	for _, v := range row {
		sum += math.Exp(v - top)
	}
	return row[j] - top - math.Log(sum)
}

// Forward returns the softmax probabilities and the loss for one-hot labels y.
func (l *SoftmaxCrossEntropy) Forward(z, y *Tensor) (probs *Tensor, loss float64) {
	m, n := z.dims2()
	probs = Softmax(z)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			if y.Data[i*n+j] != 0 {
				loss -= y.Data[i*n+j] * logSoftmax(z, i, j)
			}
		}
	}
	return probs, loss / float64(m)
}

// Backward returns dZ = (softmax(Z) − Y)/m.
func (l *SoftmaxCrossEntropy) Backward(probs, y *Tensor) *Tensor {
	m, _ := probs.dims2()
	dZ := NewTensor(probs.Shape...)
	for k := range dZ.Data {
		dZ.Data[k] = (probs.Data[k] - y.Data[k]) / float64(m)
	}
	return dZ
}

// OneHot returns the (m, classes) one-hot encoding of labels. It panics on a
// label outside [0, classes); user labels are checked before this point.
func OneHot(labels []int, classes int) *Tensor {
	y := NewTensor(len(labels), classes)
	for i, label := range labels {
		if label < 0 || label >= classes {
			panic(fmt.Sprintf("net: label %d outside [0, %d)", label, classes))
		}
		y.Data[i*classes+label] = 1
	}
	return y
}

func init() {
	registerExplainer("softmax_cross_entropy", trace.Loss, explainLoss)
	registerExplainer("softmax_cross_entropy", trace.Backward, explainLossBackward)
}

func explainLoss(tr *trace.Trace, e *trace.Event, role string, idx []int) (*Explanation, error) {
	ts, err := eventTensors(tr, e, "Z", "Y")
	if err != nil {
		return nil, err
	}
	zt, y := ts[0], ts[1]
	z := &Tensor{Shape: zt.Shape, Data: zt.Data}
	m, n := zt.Shape[0], zt.Shape[1]
	if role == "probs" {
		i, j := idx[0], idx[1]
		x := &Explanation{Formula: "probs[i,j] = exp(Z[i,j] − max_k Z[i,k]) / Σ_k exp(Z[i,k] − max_k Z[i,k])"}
		p := operand(e, zt, i, j)
		p.Func, p.Value = "softmax", math.Exp(logSoftmax(z, i, j))
		term := product(1, p)
		term.Note = "softmax of row i at column j"
		x.Terms = append(x.Terms, term)
		return x, nil
	}
	x := &Explanation{Formula: "loss = −(1/m) Σ_i log softmax(Z)[i, y_i]"}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			if y.Data[i*n+j] == 0 {
				continue
			}
			logP := operand(e, zt, i, j)
			logP.Func, logP.Value = "log softmax", logSoftmax(z, i, j)
			term := product(-1/float64(m), operand(e, y, i, j), logP)
			term.Note = fmt.Sprintf("sample %d, label %d: −Y · log p / m", i, j)
			x.Terms = append(x.Terms, term)
		}
	}
	return x, nil
}

func explainLossBackward(tr *trace.Trace, e *trace.Event, role string, idx []int) (*Explanation, error) {
	ts, err := eventTensors(tr, e, "probs", "Y")
	if err != nil {
		return nil, err
	}
	probs, y := ts[0], ts[1]
	m := float64(probs.Shape[0])
	x := &Explanation{Formula: "dZ[i,j] = (softmax(Z)[i,j] − Y[i,j]) / m"}
	p := product(1/m, operand(e, probs, idx...))
	p.Note = "the predicted probability, over m"
	x.Terms = append(x.Terms, p)
	label := product(-1/m, operand(e, y, idx...))
	label.Note = "minus the one-hot label, over m"
	x.Terms = append(x.Terms, label)
	return x, nil
}
