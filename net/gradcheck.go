package net

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/cnndbg/cnndbg/trace"
)

// Default tolerances of GradCheck. They are the defaults of
// torch.autograd.gradcheck in PyTorch 1.13: eps 1e-6, atol 1e-5, rtol 1e-3.
const (
	DefaultGradCheckEps  = 1e-6
	DefaultGradCheckAtol = 1e-5
	DefaultGradCheckRtol = 1e-3
)

// InputTensorName is the name GradCheck gives the input batch X.
const InputTensorName = "input.X"

// GradCheckOptions configure GradCheck. Zero values select the defaults.
type GradCheckOptions struct {
	// Eps is the central-difference step. 0 means DefaultGradCheckEps.
	Eps float64
	// Atol and Rtol set the pass rule |analytic − numeric| ≤ Atol + Rtol·|numeric|.
	// 0 means DefaultGradCheckAtol and DefaultGradCheckRtol.
	Atol, Rtol float64
	// MaxElements caps the elements checked per tensor. A larger tensor is
	// checked on MaxElements distinct elements drawn with Seed. 0 checks all.
	MaxElements int
	// Seed seeds the sample of elements.
	Seed uint64
	// Input also checks the gradient with respect to the input batch.
	Input bool
}

// withDefaults returns o with zero fields replaced by the defaults, or an
// error naming the first invalid field.
func (o GradCheckOptions) withDefaults() (GradCheckOptions, error) {
	if o.Eps == 0 {
		o.Eps = DefaultGradCheckEps
	}
	if o.Atol == 0 {
		o.Atol = DefaultGradCheckAtol
	}
	if o.Rtol == 0 {
		o.Rtol = DefaultGradCheckRtol
	}
	switch {
	case !(o.Eps > 0) || math.IsInf(o.Eps, 0):
		return o, fmt.Errorf("gradient check step eps = %g is invalid: use a small positive number such as 1e-6", o.Eps)
	case !(o.Atol >= 0) || !(o.Rtol >= 0):
		return o, fmt.Errorf("gradient check tolerances atol = %g, rtol = %g are invalid: use values ≥ 0", o.Atol, o.Rtol)
	case o.MaxElements < 0:
		return o, fmt.Errorf("gradient check sample size %d is invalid: use 0 for every element or a positive count", o.MaxElements)
	}
	return o, nil
}

// GradCheckResult is the outcome of the gradient check of one tensor.
type GradCheckResult struct {
	// Name is the checked tensor: <layer>.W, <layer>.b or input.X.
	Name string
	// Checked is the number of elements compared, Size the tensor's size.
	Checked, Size int
	// Failed is the number of checked elements that break the pass rule.
	Failed int
	// MaxAbsErr is the largest |analytic − numeric| and MaxRelErr the
	// largest |analytic − numeric| / max(|analytic|, |numeric|) over the
	// checked elements. Both are NaN if any value is NaN.
	MaxAbsErr, MaxRelErr float64
	// Worst is the element that breaks the pass rule by the largest factor
	// |analytic − numeric| / (atol + rtol·|numeric|), or comes closest.
	Worst ElementCheck
	// Pass reports whether every checked element passes.
	Pass bool
}

// ElementCheck compares the analytic and the numeric derivative of the loss
// with respect to one element of a parameter or of the input.
type ElementCheck struct {
	// Tensor is <layer>.W, <layer>.b or input.X.
	Tensor string
	Index  []int
	// Analytic is the element of the gradient computed by backpropagation.
	Analytic float64
	// Numeric is (LossPlus − LossMinus) / (2·Eps), with LossPlus and
	// LossMinus the losses with the element raised and lowered by Eps.
	Numeric             float64
	LossPlus, LossMinus float64
	Eps                 float64
	// AbsErr is |Analytic − Numeric| and RelErr is AbsErr / max(|Analytic|,
	// |Numeric|), 0 when both are 0.
	AbsErr, RelErr float64
	// Pass applies |Analytic − Numeric| ≤ atol + rtol·|Numeric|, with the
	// default tolerances in CheckElement and the options' in GradCheck.
	Pass bool
}

// violation returns |a − n| / (atol + rtol·|n|): the element passes when it
// is at most 1. NaN on either side is an infinite violation.
func (c ElementCheck) violation(atol, rtol float64) float64 {
	if math.IsNaN(c.AbsErr) || math.IsInf(c.AbsErr, 0) {
		return math.Inf(1)
	}
	bound := atol + rtol*math.Abs(c.Numeric)
	if bound == 0 {
		if c.AbsErr == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return c.AbsErr / bound
}

// compare fills the error fields and Pass of c.
func (c *ElementCheck) compare(atol, rtol float64) {
	c.AbsErr = math.Abs(c.Analytic - c.Numeric)
	if top := math.Max(math.Abs(c.Analytic), math.Abs(c.Numeric)); top > 0 {
		c.RelErr = c.AbsErr / top
	} else if c.AbsErr != 0 {
		c.RelErr = math.NaN()
	}
	c.Pass = c.violation(atol, rtol) <= 1
}

// GradCheck compares the gradients of one training step on batch x against
// central differences of the loss, tensor by tensor: every layer's W and b
// in forward order, then the input if opts.Input is set. It returns an error
// naming the problem if the batch does not fit the network or an option is
// invalid.
//
// The network's parameters are the same tensors, with the same values, when
// GradCheck returns, but during the call the network computes with copies.
// It must not be used concurrently. Each checked element costs two forward
// passes from the layer that owns it.
func GradCheck(n *Network, x *Tensor, labels []int, opts GradCheckOptions) ([]GradCheckResult, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := n.CheckBatch(x, labels); err != nil {
		return nil, err
	}

	probe := newLossProbe(n, x, labels)
	targets := probe.targets(opts.Input)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x6772616463686b))
	results := make([]GradCheckResult, 0, len(targets))
	for _, tg := range targets {
		results = append(results, probe.checkTensor(tg, sampleElements(tg.value.Size(), opts.MaxElements, rng), opts))
	}
	return results, nil
}

// CheckElement compares the analytic and numeric derivative of the loss with
// respect to one element: param is <layer>.W, <layer>.b or input.X and index
// its position in that tensor. Pass uses the default atol and rtol. It
// returns an error naming the value if the batch, the tensor name, the index
// or eps is invalid. Like GradCheck, it leaves the parameters as they were.
func CheckElement(n *Network, x *Tensor, labels []int, param string, index []int, eps float64) (ElementCheck, error) {
	opts, err := GradCheckOptions{Eps: eps}.withDefaults()
	if err != nil {
		return ElementCheck{}, err
	}
	if err := n.CheckBatch(x, labels); err != nil {
		return ElementCheck{}, err
	}

	probe := newLossProbe(n, x, labels)
	targets := probe.targets(true)
	var names []string
	for _, tg := range targets {
		names = append(names, tg.name)
		if tg.name != param {
			continue
		}
		if !indexInShape(index, tg.value.Shape) {
			return ElementCheck{}, fmt.Errorf("index %v is outside %s of shape %v: give one index per axis, each below its size", index, param, tg.value.Shape)
		}
		check := probe.checkElement(tg, trace.Offset(tg.value.Shape, index), opts.Eps)
		check.compare(opts.Atol, opts.Rtol)
		return check, nil
	}
	return ElementCheck{}, fmt.Errorf("no tensor %q to check: use one of %s", param, strings.Join(names, ", "))
}

func indexInShape(index, shape []int) bool {
	if len(index) != len(shape) {
		return false
	}
	for d, i := range index {
		if i < 0 || i >= shape[d] {
			return false
		}
	}
	return true
}

// sampleElements returns the sorted offsets to check in a tensor of size
// elements: all of them, or limit distinct ones drawn from rng.
func sampleElements(size, limit int, rng *rand.Rand) []int {
	if limit == 0 || size <= limit {
		all := make([]int, size)
		for k := range all {
			all[k] = k
		}
		return all
	}
	sample := rng.Perm(size)[:limit]
	slices.Sort(sample)
	return sample
}

// checkTarget is one tensor GradCheck perturbs.
type checkTarget struct {
	name string
	// layer is the index of the layer that owns the parameter, or −1 for the input.
	layer    int
	role     string
	value    *Tensor
	analytic *Tensor
}

// lossProbe evaluates the loss of a network on one batch with one element
// perturbed. It caches the input of every layer, so a perturbed parameter
// of layer k needs only the forward pass from layer k up.
type lossProbe struct {
	n      *Network
	x      *Tensor
	labels []int
	y      *Tensor
	// acts[k] is the input of layer k.
	acts []*Tensor
}

func newLossProbe(n *Network, x *Tensor, labels []int) *lossProbe {
	p := &lossProbe{n: n, x: x, labels: labels, y: OneHot(labels, n.Classes)}
	p.acts = make([]*Tensor, len(n.Layers))
	a := x
	for k, l := range n.Layers {
		p.acts[k] = a
		a = l.Forward(a)
	}
	return p
}

// lossFrom runs layers k, k+1, … starting from a, the input of layer k,
// and returns the loss.
func (p *lossProbe) lossFrom(k int, a *Tensor) float64 {
	for _, l := range p.n.Layers[k:] {
		a = l.Forward(a)
	}
	_, loss := p.n.Loss.Forward(a, p.y)
	return loss
}

// analyticGradients runs Step with learning rate 0 and puts the original
// parameter tensors back, since Step replaces them even then.
func (p *lossProbe) analyticGradients() *StepResult {
	saved := p.saveParams()
	defer p.restoreParams(saved)
	return p.n.Step(p.x, p.labels, 0, nil)
}

type savedParam struct {
	layer Parametric
	role  string
	value *Tensor
}

func (p *lossProbe) saveParams() []savedParam {
	var saved []savedParam
	for _, l := range p.n.Layers {
		if pl, ok := l.(Parametric); ok {
			for _, param := range pl.Params() {
				saved = append(saved, savedParam{pl, param.Role, param.Value})
			}
		}
	}
	return saved
}

func (p *lossProbe) restoreParams(saved []savedParam) {
	for _, s := range saved {
		s.layer.SetParam(s.role, s.value)
	}
}

// targets lists every parameter in forward order with its analytic
// gradient, then the input if withInput is set.
func (p *lossProbe) targets(withInput bool) []checkTarget {
	res := p.analyticGradients()
	var targets []checkTarget
	for k, l := range p.n.Layers {
		pl, ok := l.(Parametric)
		if !ok {
			continue
		}
		for _, param := range pl.Params() {
			targets = append(targets, checkTarget{
				name: l.Name() + "." + param.Role, layer: k, role: param.Role,
				value: param.Value, analytic: res.Grads[l.Name()+".d"+param.Role],
			})
		}
	}
	if withInput {
		targets = append(targets, checkTarget{name: InputTensorName, layer: -1, value: p.x, analytic: res.DX})
	}
	return targets
}

// checkTensor checks the elements at offsets of one target.
func (p *lossProbe) checkTensor(tg checkTarget, offsets []int, opts GradCheckOptions) GradCheckResult {
	res := GradCheckResult{Name: tg.name, Checked: len(offsets), Size: tg.value.Size(), Pass: true}
	worst := -1.0
	for _, k := range offsets {
		c := p.checkElement(tg, k, opts.Eps)
		c.compare(opts.Atol, opts.Rtol)
		if !c.Pass {
			res.Failed++
			res.Pass = false
		}
		res.MaxAbsErr = math.Max(res.MaxAbsErr, c.AbsErr)
		res.MaxRelErr = math.Max(res.MaxRelErr, c.RelErr)
		if v := c.violation(opts.Atol, opts.Rtol); v > worst {
			worst, res.Worst = v, c
		}
	}
	return res
}

// checkElement returns the analytic and numeric derivative for the element
// at offset k of target tg. It perturbs a copy of the tensor, never the
// tensor itself, so traces that share the tensor's data stay valid.
func (p *lossProbe) checkElement(tg checkTarget, k int, eps float64) ElementCheck {
	perturbed := tg.value.Clone()
	start, input := tg.layer, perturbed
	if tg.layer >= 0 {
		owner := p.n.Layers[tg.layer].(Parametric)
		owner.SetParam(tg.role, perturbed)
		defer owner.SetParam(tg.role, tg.value)
		input = p.acts[tg.layer]
	} else {
		start = 0
	}

	orig := perturbed.Data[k]
	perturbed.Data[k] = orig + eps
	lossPlus := p.lossFrom(start, input)
	perturbed.Data[k] = orig - eps
	lossMinus := p.lossFrom(start, input)

	return ElementCheck{
		Tensor:    tg.name,
		Index:     trace.Unravel(tg.value.Shape, k),
		Analytic:  tg.analytic.Data[k],
		Numeric:   (lossPlus - lossMinus) / (2 * eps),
		LossPlus:  lossPlus,
		LossMinus: lossMinus,
		Eps:       eps,
	}
}
