package net

import "github.com/cnndbg/cnndbg/trace"

// Layer is one stage of a sequential network. Layers keep no per-step state:
// the network hands each call the tensors it needs, so a recorded trace holds
// everything a backward pass or an explanation reads.
type Layer interface {
	// Name returns the layer's name from the model spec (conv1, pool2).
	Name() string
	// Kind returns the layer type as written in model specs (conv, relu).
	Kind() string
	// Hyper returns the hyperparameters as key-value pairs for the trace.
	Hyper() []any
	// OutShape returns the per-sample output shape for a per-sample input
	// shape, or an error naming the layer if the input does not fit.
	OutShape(in []int) ([]int, error)
	// Forward computes the layer's output from its input.
	Forward(aPrev *Tensor) *Tensor
	// Backward computes the gradient with respect to the layer's input from
	// its input aPrev, its output out and the gradient dOut of its output.
	// Layers with parameters also return one gradient per parameter, in the
	// order of Params.
	Backward(aPrev, out, dOut *Tensor) (dAPrev *Tensor, grads []*Tensor)
	// Roles returns the names the layer uses for its tensors in the trace.
	Roles() Roles
}

// Roles are the names a layer uses for its input, its output and their
// gradients: conv reads A_prev and writes Z, so its backward reads dZ and
// writes dA_prev; ReLU reads Z, writes A, reads dA and writes dZ.
type Roles struct {
	In, Out, DIn, DOut string
}

// standardRoles are the roles of every layer kind but conv, dense and ReLU.
var standardRoles = Roles{In: "A_prev", Out: "A", DIn: "dA_prev", DOut: "dA"}

// linearRoles are the roles of conv and dense layers.
var linearRoles = Roles{In: "A_prev", Out: "Z", DIn: "dA_prev", DOut: "dZ"}

// linearParams are the weights W and the bias b of a conv or dense layer.
type linearParams struct {
	W, B *Tensor
}

func (p *linearParams) Params() []Parameter {
	return []Parameter{{Role: "W", Value: p.W}, {Role: "b", Value: p.B}}
}

// SetParam replaces W or b.
func (p *linearParams) SetParam(role string, value *Tensor) {
	switch role {
	case "W":
		p.W = value
	case "b":
		p.B = value
	default:
		panic("net: conv and dense layers have no parameter " + role)
	}
}

// Parameter is one trainable tensor of a layer.
type Parameter struct {
	// Role is W or b.
	Role  string
	Value *Tensor
}

// Parametric is implemented by layers with trainable parameters.
type Parametric interface {
	Layer
	Params() []Parameter
	// SetParam replaces the parameter with role by value, whose shape must match.
	SetParam(role string, value *Tensor)
}

// explainer explains one element of a tensor written by a recorded event.
// role is the name under which the event wrote the tensor.
type explainer func(tr *trace.Trace, e *trace.Event, role string, index []int) (*Explanation, error)

// explainers maps "<kind>/<phase>" to the code that explains that event's outputs.
var explainers = map[string]explainer{}

func registerExplainer(kind string, phase trace.Phase, fn explainer) {
	explainers[kind+"/"+phase.String()] = fn
}
