package net

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cnndbg/cnndbg/trace"
)

// BreakpointKind is the condition under which a breakpoint stops at an event.
type BreakpointKind int

// The kinds of breakpoint.
const (
	// BreakAtEvent stops at the event with index Breakpoint.Event.
	BreakAtEvent BreakpointKind = iota
	// BreakAtLayer stops at every event of layer Breakpoint.Layer: its
	// forward, backward and update events, in every step.
	BreakAtLayer
	// BreakOnNonFinite stops at every event that writes a NaN or an infinity.
	BreakOnNonFinite
	// BreakOnMaxAbs stops at every event that writes Breakpoint.Tensor (any
	// output if it is "") with a largest |value| above Breakpoint.Threshold.
	BreakOnMaxAbs
	// BreakOnGradCheck stops at every event that writes or applies parameter
	// gradients whose relative error against central differences of the loss
	// is above Breakpoint.Threshold on a sample of elements.
	BreakOnGradCheck
)

// DefaultGradCheckSamples is the number of elements of each gradient tensor
// a gradcheck breakpoint checks: the two of largest magnitude and the rest
// drawn at random.
const DefaultGradCheckSamples = 4

// Breakpoint is a condition under which Next stops at an event. Build one
// with ParseBreakpoint, or set the fields of its Kind directly.
type Breakpoint struct {
	Kind BreakpointKind
	// Event is the event index of a BreakAtEvent breakpoint.
	Event int
	// Layer is the layer name of a BreakAtLayer breakpoint.
	Layer string
	// Tensor is the tensor of a BreakOnMaxAbs breakpoint as events name it:
	// conv1.dW stops in every step, s3/conv1.dW only in step 3, and "" means
	// any output of the event.
	Tensor string
	// Threshold is the bound a BreakOnMaxAbs or BreakOnGradCheck value must
	// exceed.
	Threshold float64
	// Samples is the number of elements per gradient tensor that a
	// BreakOnGradCheck breakpoint checks; 0 means DefaultGradCheckSamples.
	Samples int

	// cache keeps gradient check results per trace and event, shared by the
	// copies of a breakpoint that ParseBreakpoint returned.
	cache *gradCheckCache
}

// breakpointForms lists the breakpoint syntax for error messages.
const breakpointForms = `"event N", "layer NAME", "nonfinite", "maxabs [TENSOR] > X" or "gradcheck > X"`

// ParseBreakpoint reads a breakpoint written as one of
//
//	event 17
//	layer conv1
//	nonfinite
//	maxabs conv1.dW > 10    (or "maxabs > 10" for any output)
//	gradcheck > 1e-3
//
// Words are separated by spaces. The error quotes text and shows the forms.
func ParseBreakpoint(text string) (Breakpoint, error) {
	fields := strings.Fields(text)
	bad := func(why string) (Breakpoint, error) {
		return Breakpoint{}, fmt.Errorf("invalid breakpoint %q: %s; use %s", text, why, breakpointForms)
	}
	if len(fields) == 0 {
		return bad("it is empty")
	}
	switch keyword, args := strings.ToLower(fields[0]), fields[1:]; keyword {
	case "event":
		if len(args) != 1 {
			return bad("event takes one event index")
		}
		i, err := strconv.Atoi(args[0])
		if err != nil || i < 0 {
			return bad(fmt.Sprintf("event index %q is not an integer ≥ 0", args[0]))
		}
		return Breakpoint{Kind: BreakAtEvent, Event: i}, nil
	case "layer":
		if len(args) != 1 {
			return bad("layer takes one layer name")
		}
		return Breakpoint{Kind: BreakAtLayer, Layer: args[0]}, nil
	case "nonfinite":
		if len(args) != 0 {
			return bad("nonfinite takes no arguments")
		}
		return Breakpoint{Kind: BreakOnNonFinite}, nil
	case "maxabs":
		tensor := ""
		if len(args) == 3 {
			tensor, args = args[0], args[1:]
		}
		x, err := parseThreshold(args)
		if err != nil {
			return bad("maxabs " + err.Error())
		}
		return Breakpoint{Kind: BreakOnMaxAbs, Tensor: tensor, Threshold: x}, nil
	case "gradcheck":
		x, err := parseThreshold(args)
		if err != nil {
			return bad("gradcheck " + err.Error())
		}
		return Breakpoint{Kind: BreakOnGradCheck, Threshold: x, cache: newGradCheckCache()}, nil
	}
	return bad(fmt.Sprintf("unknown kind %q", fields[0]))
}

// parseThreshold reads "> X" with X a finite number ≥ 0.
func parseThreshold(args []string) (float64, error) {
	if len(args) != 2 || args[0] != ">" {
		return 0, fmt.Errorf("needs \"> X\" with spaces around >")
	}
	x, err := strconv.ParseFloat(args[1], 64)
	if err != nil || !(x >= 0) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("threshold %q is not a finite number ≥ 0", args[1])
	}
	return x, nil
}

// String writes the breakpoint in the form ParseBreakpoint reads.
func (b Breakpoint) String() string {
	switch b.Kind {
	case BreakAtEvent:
		return fmt.Sprintf("event %d", b.Event)
	case BreakAtLayer:
		return "layer " + b.Layer
	case BreakOnNonFinite:
		return "nonfinite"
	case BreakOnMaxAbs:
		if b.Tensor == "" {
			return fmt.Sprintf("maxabs > %g", b.Threshold)
		}
		return fmt.Sprintf("maxabs %s > %g", b.Tensor, b.Threshold)
	case BreakOnGradCheck:
		return fmt.Sprintf("gradcheck > %g", b.Threshold)
	}
	return fmt.Sprintf("breakpoint kind %d", int(b.Kind))
}

// Check returns an error if the breakpoint can never apply to tr: an event
// index out of range, a layer or tensor the trace does not have, or a
// gradient check on a trace whose model cannot be rebuilt.
func (b Breakpoint) Check(tr *trace.Trace) error {
	switch b.Kind {
	case BreakAtEvent:
		if b.Event < 0 || b.Event >= len(tr.Events) {
			return fmt.Errorf("breakpoint %q: the trace has events 0..%d", b, len(tr.Events)-1)
		}
	case BreakAtLayer:
		var layers []string
		for _, e := range tr.Events {
			if e.Layer == b.Layer {
				return nil
			}
			if !slices.Contains(layers, e.Layer) {
				layers = append(layers, e.Layer)
			}
		}
		return fmt.Errorf("breakpoint %q: the trace has no layer %q; its layers are %s", b, b.Layer, strings.Join(layers, ", "))
	case BreakOnMaxAbs:
		if b.Tensor != "" && tr.Tensor(b.Tensor) == nil {
			return fmt.Errorf("breakpoint %q: no tensor %q in the trace%s", b, b.Tensor, closeNamesHint(tr.Names(), b.Tensor))
		}
	case BreakOnGradCheck:
		if _, err := ParseSpec(tr.Model); err != nil {
			return fmt.Errorf("breakpoint %q: the trace's model cannot be rebuilt for a gradient check: %v", b, err)
		}
	}
	return nil
}

// Next returns the first event after from (before from if backward) at
// which a breakpoint of bps stops, and why: the breakpoints that stop there
// and what they saw, joined by "; ". ok is false if none stops before the
// end (the start) of the trace. from may be -1 to search forward from the
// first event, or len(tr.Events) to search backward from the last.
//
// Event, layer, non-finite and max-abs conditions read only the events and
// the recorded Stats. A gradcheck condition reads the step's parameters
// and batch and runs forward passes, about two per checked element. If it
// cannot run because a tensor cannot be read, Next stops there and why
// gives the error.
func Next(tr *trace.Trace, from int, bps []Breakpoint, backward bool) (hit int, why string, ok bool) {
	step := 1
	if backward {
		step = -1
	}
	for i := from + step; i >= 0 && i < len(tr.Events); i += step {
		var reasons []string
		for _, b := range bps {
			if reason, stops := b.stopsAt(tr, i); stops {
				reasons = append(reasons, reason)
			}
		}
		if len(reasons) > 0 {
			return i, strings.Join(reasons, "; "), true
		}
	}
	return -1, "", false
}

// stopsAt reports whether the breakpoint stops at event i and why.
func (b Breakpoint) stopsAt(tr *trace.Trace, i int) (string, bool) {
	e := &tr.Events[i]
	switch b.Kind {
	case BreakAtEvent:
		return fmt.Sprintf("event %d", i), b.Event == i
	case BreakAtLayer:
		return fmt.Sprintf("layer %s (%s %s)", e.Layer, e.Kind, e.Phase), b.Layer == e.Layer
	case BreakOnNonFinite:
		return nonFiniteReason(tr, e)
	case BreakOnMaxAbs:
		return b.maxAbsReason(tr, e)
	case BreakOnGradCheck:
		return b.gradCheckReason(tr, e)
	}
	return "", false
}

// nonFiniteReason lists the outputs of e that hold NaN or ±Inf.
func nonFiniteReason(tr *trace.Trace, e *trace.Event) (string, bool) {
	var parts []string
	for _, ref := range e.Outputs {
		st := tr.Tensors[ref.Tensor].Stats
		if st.NonFinite() == 0 {
			continue
		}
		var counts []string
		for _, c := range []struct {
			n    int
			what string
		}{{st.NaN, "NaN"}, {st.PosInf, "+Inf"}, {st.NegInf, "−Inf"}} {
			if c.n > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", c.n, c.what))
			}
		}
		parts = append(parts, trace.StepName(e.Step, e.Layer+"."+ref.Role)+" has "+strings.Join(counts, ", "))
	}
	if len(parts) == 0 {
		return "", false
	}
	return "nonfinite: " + strings.Join(parts, "; "), true
}

// maxAbsReason checks the largest |value| of the outputs of e that the
// breakpoint names. An infinity counts as larger than any threshold; NaN
// values are not compared.
func (b Breakpoint) maxAbsReason(tr *trace.Trace, e *trace.Event) (string, bool) {
	for _, ref := range e.Outputs {
		t := tr.Tensors[ref.Tensor]
		if b.Tensor != "" && !b.namesOutput(e, ref, t) {
			continue
		}
		top := t.Stats.MaxAbs
		if t.Stats.PosInf+t.Stats.NegInf > 0 {
			top = math.Inf(1)
		}
		if top > b.Threshold {
			return fmt.Sprintf("maxabs: max |%s| = %.4g > %g", trace.StepName(e.Step, e.Layer+"."+ref.Role), top, b.Threshold), true
		}
	}
	return "", false
}

// namesOutput reports whether the breakpoint's tensor name is the output
// ref of e: as the event names it in any step (conv1.dW), or by a name of
// the tensor itself (s3/conv1.dW, relu1.dZ).
func (b Breakpoint) namesOutput(e *trace.Event, ref trace.Ref, t *trace.Tensor) bool {
	return b.Tensor == e.Layer+"."+ref.Role || b.Tensor == t.Name || slices.Contains(t.Aliases, b.Tensor)
}

// gradCheckCache keeps the outcome of the gradient check of each event.
type gradCheckCache struct {
	mu      sync.Mutex
	results map[gradCheckKey]gradCheckOutcome
}

type gradCheckKey struct {
	tr    *trace.Trace
	event int
}

// gradCheckOutcome is the worst checked element of an event, if the event
// has gradients to check.
type gradCheckOutcome struct {
	worst      ElementCheck
	relErr     float64
	applicable bool
	err        error
}

func newGradCheckCache() *gradCheckCache {
	return &gradCheckCache{results: map[gradCheckKey]gradCheckOutcome{}}
}

// gradCheckReason runs (or looks up) the gradient check of event e.
func (b Breakpoint) gradCheckReason(tr *trace.Trace, e *trace.Event) (string, bool) {
	if gradientRefs(e) == nil {
		return "", false
	}
	key := gradCheckKey{tr, e.Index}
	var out gradCheckOutcome
	cached := false
	if b.cache != nil {
		b.cache.mu.Lock()
		out, cached = b.cache.results[key]
		b.cache.mu.Unlock()
	}
	if !cached {
		samples := b.Samples
		if samples <= 0 {
			samples = DefaultGradCheckSamples
		}
		out = gradCheckEvent(tr, e, samples)
		if b.cache != nil {
			b.cache.mu.Lock()
			b.cache.results[key] = out
			b.cache.mu.Unlock()
		}
	}

	switch {
	case out.err != nil:
		return "gradcheck could not run: " + out.err.Error(), true
	case !out.applicable:
		return "", false
	case math.IsNaN(out.relErr) || out.relErr > b.Threshold:
		w := out.worst
		return fmt.Sprintf("gradcheck: %s%s is %.6g, central differences give %.6g: relative error %.3g > %g",
			trace.StepName(e.Step, e.Layer+".d"+strings.TrimPrefix(w.Tensor, e.Layer+".")), indexText(w.Index),
			w.Analytic, w.Numeric, out.relErr, b.Threshold), true
	}
	return "", false
}

// gradientRefs returns the dW and db tensors event e writes (a backward
// event) or applies (an sgd update), or nil.
func gradientRefs(e *trace.Event) []trace.Ref {
	refs := e.Outputs
	if e.Phase == trace.Update {
		refs = e.Inputs
	} else if e.Phase != trace.Backward {
		return nil
	}
	var grads []trace.Ref
	for _, r := range refs {
		if r.Role == "dW" || r.Role == "db" {
			grads = append(grads, r)
		}
	}
	return grads
}

// gradCheckEvent compares the recorded gradients of event e with central
// differences of the loss of e's step, on samples elements per gradient.
// Each element's relative error is |g − n| / max(|g|, |n|, atol) with atol
// the default absolute tolerance, so elements whose gradient is about 0
// do not count as failures for rounding noise.
func gradCheckEvent(tr *trace.Trace, e *trace.Event, samples int) gradCheckOutcome {
	n, x, labels, err := NetworkAtStep(tr, e.Step)
	if err != nil {
		return gradCheckOutcome{err: err}
	}
	k := slices.IndexFunc(n.Layers, func(l Layer) bool { return l.Name() == e.Layer })
	if k < 0 {
		return gradCheckOutcome{}
	}
	probe := newLossProbe(n, x, labels)
	rng := rand.New(rand.NewPCG(uint64(e.Index), 0x627265616b))
	out := gradCheckOutcome{relErr: -1}
	for _, ref := range gradientRefs(e) {
		role := strings.TrimPrefix(ref.Role, "d")
		param := paramOf(n.Layers[k], role)
		grad, err := tr.Data(ref.Tensor)
		if err != nil {
			return gradCheckOutcome{err: err}
		}
		if param == nil || len(grad) != param.Size() {
			return gradCheckOutcome{err: fmt.Errorf("event %d (%s %s): %s does not fit the layer's %s", e.Index, e.Layer, e.Phase, ref.Role, role)}
		}
		tg := checkTarget{name: e.Layer + "." + role, layer: k, role: role, value: param,
			analytic: FromData(grad, param.Shape...)}
		for _, off := range gradientSample(grad, samples, rng) {
			c := probe.checkElement(tg, off, DefaultGradCheckEps)
			c.compare(DefaultGradCheckAtol, DefaultGradCheckRtol)
			rel := c.AbsErr / math.Max(math.Max(math.Abs(c.Analytic), math.Abs(c.Numeric)), DefaultGradCheckAtol)
			if math.IsNaN(rel) || rel > out.relErr || !out.applicable {
				out.worst, out.relErr, out.applicable = c, rel, true
			}
			if math.IsNaN(rel) {
				return out
			}
		}
	}
	return out
}

// paramOf returns the parameter of layer l with role, or nil.
func paramOf(l Layer, role string) *Tensor {
	p, ok := l.(Parametric)
	if !ok {
		return nil
	}
	for _, param := range p.Params() {
		if param.Role == role {
			return param.Value
		}
	}
	return nil
}

// gradientSample returns up to samples distinct offsets into grad: the two
// of largest magnitude, then offsets drawn from rng.
func gradientSample(grad []float64, samples int, rng *rand.Rand) []int {
	if len(grad) <= samples {
		all := make([]int, len(grad))
		for k := range all {
			all[k] = k
		}
		return all
	}
	chosen := make([]int, 0, samples)
	for range min(2, samples) {
		best := -1
		for k, v := range grad {
			if !slices.Contains(chosen, k) && (best < 0 || math.Abs(v) > math.Abs(grad[best])) {
				best = k
			}
		}
		chosen = append(chosen, best)
	}
	for len(chosen) < samples {
		if k := rng.IntN(len(grad)); !slices.Contains(chosen, k) {
			chosen = append(chosen, k)
		}
	}
	return chosen
}

// NetworkAtStep rebuilds the network of tr's model with the parameters that
// step of the trace starts from, and returns it with the step's batch and
// labels. The parameters wrap the recorded values without copying them;
// do not modify them. The error names what the trace lacks.
func NetworkAtStep(tr *trace.Trace, step int) (*Network, *Tensor, []int, error) {
	spec, err := ParseSpec(tr.Model)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the trace's model cannot be rebuilt: %v", err)
	}
	n, err := NewNetwork(spec, 0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the trace's model cannot be rebuilt: %v", err)
	}
	from, to := tr.StepEvents(step)
	var x *Tensor
	var labels []int
	for i := from; i < to; i++ {
		e := &tr.Events[i]
		switch {
		case e.Phase == trace.Forward && x == nil:
			if x, err = recordedTensor(tr, e, "A_prev"); err != nil {
				return nil, nil, nil, err
			}
		case e.Phase == trace.Loss:
			y, err := recordedTensor(tr, e, "Y")
			if err != nil {
				return nil, nil, nil, err
			}
			labels = labelsOf(y)
		}
		if e.Phase != trace.Forward {
			continue
		}
		if p, ok := n.Layer(e.Layer).(Parametric); ok {
			for _, param := range p.Params() {
				value, err := recordedTensor(tr, e, param.Role)
				if err != nil {
					return nil, nil, nil, err
				}
				if !slices.Equal(value.Shape, param.Value.Shape) {
					return nil, nil, nil, fmt.Errorf("event %d (%s): %s has shape %v but the model gives %v", e.Index, e.Layer, param.Role, value.Shape, param.Value.Shape)
				}
				p.SetParam(param.Role, value)
			}
		}
	}
	if x == nil || labels == nil {
		return nil, nil, nil, fmt.Errorf("step %d of the trace has no forward pass or no loss event", step)
	}
	if err := n.CheckBatch(x, labels); err != nil {
		return nil, nil, nil, fmt.Errorf("step %d of the trace: %v", step, err)
	}
	return n, x, labels, nil
}

// recordedTensor wraps the tensor that event e reads under role.
func recordedTensor(tr *trace.Trace, e *trace.Event, role string) (*Tensor, error) {
	t := tr.In(e, role)
	if t == nil {
		return nil, fmt.Errorf("event %d (%s %s %s) reads no tensor %s", e.Index, e.Layer, e.Kind, e.Phase, role)
	}
	data, err := tr.Data(t.ID)
	if err != nil {
		return nil, err
	}
	return FromData(data, t.Shape...), nil
}

// labelsOf returns the class of each row of the one-hot (m, classes) y.
func labelsOf(y *Tensor) []int {
	if len(y.Shape) != 2 {
		return nil
	}
	m, classes := y.Shape[0], y.Shape[1]
	labels := make([]int, m)
	for i := range labels {
		row := y.Data[i*classes : (i+1)*classes]
		for j, v := range row {
			if v > row[labels[i]] {
				labels[i] = j
			}
		}
	}
	return labels
}
