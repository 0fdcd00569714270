package net

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/cnndbg/cnndbg/trace"
)

// Network is a sequential CNN ending in softmax cross-entropy.
type Network struct {
	Spec *Spec
	// Layers are every layer but the loss, in forward order.
	Layers []Layer
	Loss   *SoftmaxCrossEntropy
	// Classes is the number of output classes.
	Classes int
}

// NewNetwork builds the network of spec with parameters drawn from a
// generator seeded by seed (He initialization, zero biases).
func NewNetwork(spec *Spec, seed uint64) (*Network, error) {
	if err := spec.Check(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x636e6e646267))
	n := &Network{Spec: spec}
	shape := []int{spec.Input.Height, spec.Input.Width, spec.Input.Channels}
	for _, ls := range spec.Layers[:len(spec.Layers)-1] {
		l, err := spec.newLayer(ls, shape, rng)
		if err != nil {
			return nil, err
		}
		if shape, err = l.OutShape(shape); err != nil {
			return nil, err
		}
		n.Layers = append(n.Layers, l)
	}
	n.Loss = NewSoftmaxCrossEntropy(spec.Layers[len(spec.Layers)-1].Name)
	n.Classes = shape[0]
	return n, nil
}

// Layer returns the layer called name, or nil.
func (n *Network) Layer(name string) Layer {
	for _, l := range n.Layers {
		if l.Name() == name {
			return l
		}
	}
	return nil
}

// InputShape returns the per-sample input shape (n_H, n_W, n_C).
func (n *Network) InputShape() []int {
	return []int{n.Spec.Input.Height, n.Spec.Input.Width, n.Spec.Input.Channels}
}

// CheckBatch returns an error naming the expected shape if x is not a batch
// of inputs of this network, or labels do not fit x and the classes.
func (n *Network) CheckBatch(x *Tensor, labels []int) error {
	want := append([]int{-1}, n.InputShape()...)
	if len(x.Shape) != 4 || x.Shape[0] < 1 || !slices.Equal(x.Shape[1:], want[1:]) {
		return fmt.Errorf("input has shape %v, the model expects (m, %d, %d, %d) with m ≥ 1", x.Shape, want[1], want[2], want[3])
	}
	if len(labels) != x.Shape[0] {
		return fmt.Errorf("%d labels for %d inputs: give one class index per input", len(labels), x.Shape[0])
	}
	for i, label := range labels {
		if label < 0 || label >= n.Classes {
			return fmt.Errorf("label %d of input %d is outside the model's classes 0..%d", label, i, n.Classes-1)
		}
	}
	return nil
}

// Predict runs the forward pass and returns the softmax probabilities (m, classes).
func (n *Network) Predict(x *Tensor) *Tensor {
	a := x
	for _, l := range n.Layers {
		a = l.Forward(a)
	}
	return Softmax(a)
}

// StepResult is what one training step computed.
type StepResult struct {
	Loss float64
	// Probs are the softmax probabilities before the update, (m, classes).
	Probs *Tensor
	// Grads maps "<layer>.dW" and "<layer>.db" to parameter gradients.
	Grads map[string]*Tensor
	// DX is the gradient of the loss with respect to the input batch.
	DX *Tensor
}

// Step runs one SGD step on batch x with class labels: forward, loss,
// backward and the update W ← W − lr·dW, reporting every operation to rec
// (nil records nothing). The caller must have checked the batch with
// CheckBatch. Parameters are replaced by new tensors, never changed in
// place, so recorded tensors stay valid.
func (n *Network) Step(x *Tensor, labels []int, lr float64, rec *trace.Recorder) *StepResult {
	y := OneHot(labels, n.Classes)
	r := stepRecorder{rec: rec}

	// Forward: acts[k] is the input of layer k, acts[len] the scores Z.
	acts := make([]*Tensor, len(n.Layers)+1)
	ids := make([]int, len(n.Layers)+1)
	acts[0] = x
	ids[0] = rec.Input("input.X", x.Shape, x.Data)
	yID := rec.Input("input.Y", y.Shape, y.Data)
	paramIDs := n.recordParams(rec)
	for k, l := range n.Layers {
		acts[k+1] = l.Forward(acts[k])
		b := rec.Begin(l.Name(), l.Kind(), trace.Forward, l.Hyper()...)
		b.Read(l.Roles().In, ids[k])
		r.readParams(b, paramIDs[k])
		ids[k+1] = b.Write(l.Roles().Out, "", acts[k+1].Shape, acts[k+1].Data)
		b.Done()
	}

	// Loss.
	z := acts[len(n.Layers)]
	probs, loss := n.Loss.Forward(z, y)
	b := rec.Begin(n.Loss.Name(), "softmax_cross_entropy", trace.Loss)
	b.Read("Z", ids[len(n.Layers)]).Read("Y", yID)
	probsID := b.Write("probs", "", probs.Shape, probs.Data)
	b.Write("loss", "loss", []int{1}, []float64{loss})
	b.Done()

	// Backward: the loss's dZ is named by the layer that reads it.
	grads := map[string]*Tensor{}
	dOut := n.Loss.Backward(probs, y)
	top := n.Layers[len(n.Layers)-1]
	b = rec.Begin(n.Loss.Name(), "softmax_cross_entropy", trace.Backward)
	b.Read("probs", probsID).Read("Y", yID)
	dOutID := b.Write("dZ", top.Name()+"."+top.Roles().DOut, dOut.Shape, dOut.Data)
	b.Done()
	gradIDs := make([][]int, len(n.Layers))
	for k := len(n.Layers) - 1; k >= 0; k-- {
		l := n.Layers[k]
		dIn, pgrads := l.Backward(acts[k], acts[k+1], dOut)
		b := rec.Begin(l.Name(), l.Kind(), trace.Backward, l.Hyper()...)
		b.Read(l.Roles().In, ids[k])
		r.readParams(b, paramIDs[k])
		b.Read(l.Roles().DOut, dOutID)
		name := ""
		if k > 0 {
			below := n.Layers[k-1]
			name = below.Name() + "." + below.Roles().DOut
		}
		dInID := b.Write(l.Roles().DIn, name, dIn.Shape, dIn.Data)
		if p, ok := l.(Parametric); ok {
			for j, param := range p.Params() {
				grads[l.Name()+".d"+param.Role] = pgrads[j]
				gradIDs[k] = append(gradIDs[k], b.Write("d"+param.Role, "", pgrads[j].Shape, pgrads[j].Data))
			}
		}
		b.Done()
		dOut, dOutID = dIn, dInID
	}

	// Update.
	for k, l := range n.Layers {
		p, ok := l.(Parametric)
		if !ok {
			continue
		}
		b := rec.Begin(l.Name(), "sgd", trace.Update, "lr", lr)
		params := p.Params()
		for j, param := range params {
			b.Read(param.Role, paramIDs[k][j]).Read("d"+param.Role, gradIDs[k][j])
		}
		for _, param := range params {
			updated := sgdUpdate(param.Value, grads[l.Name()+".d"+param.Role], lr)
			b.Write(param.Role+"_new", "", updated.Shape, updated.Data)
			p.SetParam(param.Role, updated)
		}
		b.Done()
	}
	return &StepResult{Loss: loss, Probs: probs, Grads: grads, DX: dOut}
}

// stepRecorder adds the parameter reads of an event.
type stepRecorder struct{ rec *trace.Recorder }

func (r stepRecorder) readParams(b *trace.EventBuilder, ids []int) {
	for j, id := range ids {
		b.Read([]string{"W", "b"}[j], id)
	}
}

// recordParams adds every layer's parameters to rec as step inputs and
// returns their IDs per layer. With a nil rec every ID is −1, so Step can
// run without a recorder.
func (n *Network) recordParams(rec *trace.Recorder) [][]int {
	ids := make([][]int, len(n.Layers))
	for k, l := range n.Layers {
		if p, ok := l.(Parametric); ok {
			for _, param := range p.Params() {
				ids[k] = append(ids[k], rec.Input(l.Name()+"."+param.Role, param.Value.Shape, param.Value.Data))
			}
		}
	}
	return ids
}

// sgdUpdate returns W − lr·dW as a new tensor.
func sgdUpdate(w, dW *Tensor, lr float64) *Tensor {
	out := NewTensor(w.Shape...)
	for k := range out.Data {
		out.Data[k] = w.Data[k] - lr*dW.Data[k]
	}
	return out
}

func init() {
	registerExplainer("sgd", trace.Update, explainUpdate)
}

// explainUpdate: W_new = W − lr·dW, element by element.
func explainUpdate(tr *trace.Trace, e *trace.Event, role string, idx []int) (*Explanation, error) {
	param := role[:len(role)-len("_new")]
	ts, err := eventTensors(tr, e, param, "d"+param)
	if err != nil {
		return nil, err
	}
	lr, err := e.Float("lr")
	if err != nil {
		return nil, err
	}
	x := &Explanation{Formula: param + "_new = " + param + " − lr·d" + param}
	old := product(1, operand(e, ts[0], idx...))
	old.Note = "the value before the step"
	step := product(-lr, operand(e, ts[1], idx...))
	step.Note = fmt.Sprintf("−lr·d%s with lr = %g", param, lr)
	x.Terms = append(x.Terms, old, step)
	return x, nil
}
