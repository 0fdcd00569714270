package trace

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strconv"
	"sync"
)

// Phase is the stage of a training step an event belongs to.
type Phase int

// The phases of a step, in the order they run.
const (
	Forward Phase = iota
	Loss
	Backward
	Update
)

var phaseNames = [...]string{"forward", "loss", "backward", "update"}

// String returns the lower-case name of the phase, as written in trace files.
func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return "phase(" + strconv.Itoa(int(p)) + ")"
	}
	return phaseNames[p]
}

// ParsePhase returns the phase named s, as produced by Phase.String.
func ParsePhase(s string) (Phase, error) {
	for i, name := range phaseNames {
		if name == s {
			return Phase(i), nil
		}
	}
	return 0, fmt.Errorf("unknown phase %q (want forward, loss, backward or update)", s)
}

// Tensor is one recorded array: float64 values in row-major order over Shape.
// Activations are NHWC.
type Tensor struct {
	// ID is the tensor's position in Trace.Tensors.
	ID int
	// Name is the canonical name, "<layer>.<role>" (conv1.Z, conv1.dZ).
	Name string
	// Aliases are the other "<layer>.<role>" names events use for this tensor,
	// such as relu1.dA_prev for conv1.dZ.
	Aliases []string
	Shape   []int
	// data holds the values once known: always for a recorded trace, after
	// the first Trace.Data call for a trace read from a file.
	data []float64
	// Producer is the index of the event that wrote the tensor, or -1 for a
	// step input (images, labels, initial parameters).
	Producer int
	// Consumers are the indices of the events that read the tensor, in order.
	Consumers []int
	// Stats counts the non-finite values, computed when the tensor is added.
	Stats Stats
}

// Stats summarizes a tensor's values.
type Stats struct {
	NaN, PosInf, NegInf int
	// MaxAbs is the largest finite absolute value, 0 for an empty tensor.
	MaxAbs float64
}

// NonFinite returns the number of NaN and infinite values.
func (s Stats) NonFinite() int { return s.NaN + s.PosInf + s.NegInf }

// computeStats counts the non-finite values of data and finds the largest
// finite magnitude. A first pass takes the maximum of the bit patterns of
// |v|, which for non-negative floats sort as the values do, with NaN and
// ±Inf above every finite value. Only if that maximum is NaN or Inf, which
// is rare, does a second pass count them one by one.
func computeStats(data []float64) Stats {
	// Large tensors are split between two goroutines: the scan is bound by
	// each core's memory bandwidth, and recording waits for it.
	const parallelAbove = 1 << 16
	if len(data) > parallelAbove && runtime.GOMAXPROCS(0) > 1 {
		half := len(data) / 2
		var first Stats
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			first = scanStats(data[:half])
		}()
		second := scanStats(data[half:])
		wg.Wait()
		return Stats{
			NaN: first.NaN + second.NaN, PosInf: first.PosInf + second.PosInf, NegInf: first.NegInf + second.NegInf,
			MaxAbs: max(first.MaxAbs, second.MaxAbs),
		}
	}
	return scanStats(data)
}

// scanStats is computeStats on one goroutine.
func scanStats(data []float64) Stats {
	const magnitude = 1<<63 - 1 // every bit but the sign
	const infBits = 0x7ff << 52 // +Inf; NaN patterns are larger
	var m0, m1, m2, m3 uint64
	k := 0
	for ; k+4 <= len(data); k += 4 {
		m0 = max(m0, math.Float64bits(data[k])&magnitude)
		m1 = max(m1, math.Float64bits(data[k+1])&magnitude)
		m2 = max(m2, math.Float64bits(data[k+2])&magnitude)
		m3 = max(m3, math.Float64bits(data[k+3])&magnitude)
	}
	for ; k < len(data); k++ {
		m0 = max(m0, math.Float64bits(data[k])&magnitude)
	}
	top := max(m0, m1, m2, m3)
	if top < infBits {
		return Stats{MaxAbs: math.Float64frombits(top)}
	}
	return countNonFinite(data)
}

// countNonFinite is the plain one-pass version of computeStats.
func countNonFinite(data []float64) Stats {
	var s Stats
	for _, v := range data {
		switch {
		case v != v:
			s.NaN++
		case math.IsInf(v, 1):
			s.PosInf++
		case math.IsInf(v, -1):
			s.NegInf++
		default:
			if a := math.Abs(v); a > s.MaxAbs {
				s.MaxAbs = a
			}
		}
	}
	return s
}

// Size returns the number of elements of a tensor of the given shape.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Offset returns the row-major position of index within shape. It panics if
// the index has the wrong rank or is out of range.
func Offset(shape, index []int) int {
	if len(index) != len(shape) {
		panic(fmt.Sprintf("trace: index %v has rank %d, shape %v has rank %d", index, len(index), shape, len(shape)))
	}
	off := 0
	for i, d := range shape {
		if index[i] < 0 || index[i] >= d {
			panic(fmt.Sprintf("trace: index %v out of range for shape %v", index, shape))
		}
		off = off*d + index[i]
	}
	return off
}

// Unravel returns the index of the element at row-major position off.
func Unravel(shape []int, off int) []int {
	index := make([]int, len(shape))
	for i := len(shape) - 1; i >= 0; i-- {
		index[i] = off % shape[i]
		off /= shape[i]
	}
	return index
}

// InRange reports whether index is a valid index of the tensor.
func (t *Tensor) InRange(index []int) bool {
	if len(index) != len(t.Shape) {
		return false
	}
	for i, d := range t.Shape {
		if index[i] < 0 || index[i] >= d {
			return false
		}
	}
	return true
}

// Ref names a tensor as one event uses it.
type Ref struct {
	// Role is the name the event's layer uses: A_prev, W, b, Z, dZ, dW.
	Role   string
	Tensor int
}

// Param is one hyperparameter of an event. Values are kept as text so the
// trace stays independent of each layer's types; Int and Float parse them.
type Param struct {
	Key, Value string
}

// Event is one operation of the step.
type Event struct {
	Index int
	// Step counts training steps from 0; a single-step trace has only step 0.
	Step    int
	Layer   string
	Kind    string
	Phase   Phase
	Params  []Param
	Inputs  []Ref
	Outputs []Ref
}

// Param returns the value of the hyperparameter key, or "" if the event has none.
func (e *Event) Param(key string) string {
	for _, p := range e.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// Int returns the hyperparameter key as an integer.
func (e *Event) Int(key string) (int, error) {
	v, err := strconv.Atoi(e.Param(key))
	if err != nil {
		return 0, fmt.Errorf("event %d (%s %s): hyperparameter %q is %q, not an integer", e.Index, e.Layer, e.Kind, key, e.Param(key))
	}
	return v, nil
}

// Float returns the hyperparameter key as a float64.
func (e *Event) Float(key string) (float64, error) {
	v, err := strconv.ParseFloat(e.Param(key), 64)
	if err != nil {
		return 0, fmt.Errorf("event %d (%s %s): hyperparameter %q is %q, not a number", e.Index, e.Layer, e.Kind, key, e.Param(key))
	}
	return v, nil
}

// Input returns the ID of the tensor the event reads under role, or -1.
func (e *Event) Input(role string) int { return findRef(e.Inputs, role) }

// Output returns the ID of the tensor the event writes under role, or -1.
func (e *Event) Output(role string) int { return findRef(e.Outputs, role) }

// RoleOf returns the role under which the event reads or writes tensor id,
// or "" if it does neither.
func (e *Event) RoleOf(id int) string {
	for _, r := range e.Outputs {
		if r.Tensor == id {
			return r.Role
		}
	}
	for _, r := range e.Inputs {
		if r.Tensor == id {
			return r.Role
		}
	}
	return ""
}

func findRef(refs []Ref, role string) int {
	for _, r := range refs {
		if r.Role == role {
			return r.Tensor
		}
	}
	return -1
}

// Trace is the record of one or more training steps.
type Trace struct {
	// Model is the model spec the step ran, as JSON.
	Model   []byte
	Events  []Event
	Tensors []*Tensor

	byName map[string]int
	// loader reads tensor values on demand for a trace opened from a file;
	// nil for a trace that was recorded in this process.
	loader Loader
}

// Loader reads the values of one tensor of a trace on demand.
type Loader interface {
	Load(t *Tensor) ([]float64, error)
}

// Data returns the values of tensor id in row-major order. For a trace read
// from a file the first call reads them from disk; the error names the
// tensor and what is wrong with it. Callers must not modify the slice.
//
// Data is safe for concurrent use, also for a trace read from a file.
func (t *Trace) Data(id int) ([]float64, error) {
	if id < 0 || id >= len(t.Tensors) {
		return nil, fmt.Errorf("no tensor with ID %d (the trace has %d)", id, len(t.Tensors))
	}
	tensor := t.Tensors[id]
	if tensor.data != nil || t.loader == nil {
		return tensor.data, nil
	}
	return t.loader.Load(tensor)
}

// readiness is implemented by loaders that can tell whether a tensor's
// values are in memory.
type readiness interface {
	Ready(id int) bool
}

// Ready reports whether Data(id) returns at once, without reading a file:
// always for a recorded trace, and for a trace read from a file once the
// tensor is in the loader's cache. A loader that cannot tell counts as
// ready. The screen uses it to load tensors in the background and show
// progress instead of blocking on a slow disk.
func (t *Trace) Ready(id int) bool {
	if id < 0 || id >= len(t.Tensors) {
		return false
	}
	if t.Tensors[id].data != nil || t.loader == nil {
		return true
	}
	r, ok := t.loader.(readiness)
	return !ok || r.Ready(id)
}

// Value returns the element at index of tensor id, or an error if the index
// has the wrong rank or is out of range.
func (t *Trace) Value(id int, index ...int) (float64, error) {
	data, err := t.Data(id)
	if err != nil {
		return 0, err
	}
	tensor := t.Tensors[id]
	if !tensor.InRange(index) {
		return 0, fmt.Errorf("index %v is out of range for %s of shape %v", index, tensor.Name, tensor.Shape)
	}
	return data[Offset(tensor.Shape, index)], nil
}

// Close releases the file of a trace read by Open and drops its cache, so
// later Data calls fail. It does nothing for a recorded trace.
func (t *Trace) Close() error {
	if c, ok := t.loader.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Tensor returns the tensor with the given canonical name or alias, or nil.
func (t *Trace) Tensor(name string) *Tensor {
	if t.byName == nil {
		t.index()
	}
	id, ok := t.byName[name]
	if !ok {
		return nil
	}
	return t.Tensors[id]
}

// Names returns every canonical name and alias, sorted.
func (t *Trace) Names() []string {
	if t.byName == nil {
		t.index()
	}
	names := make([]string, 0, len(t.byName))
	for name := range t.byName {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (t *Trace) index() {
	t.byName = make(map[string]int, 2*len(t.Tensors))
	for _, tensor := range t.Tensors {
		t.byName[tensor.Name] = tensor.ID
		for _, alias := range tensor.Aliases {
			t.byName[alias] = tensor.ID
		}
	}
}

// In returns the tensor event e reads under role, or nil.
func (t *Trace) In(e *Event, role string) *Tensor {
	if id := e.Input(role); id >= 0 {
		return t.Tensors[id]
	}
	return nil
}

// Out returns the tensor event e writes under role, or nil.
func (t *Trace) Out(e *Event, role string) *Tensor {
	if id := e.Output(role); id >= 0 {
		return t.Tensors[id]
	}
	return nil
}

// Producer returns the event that wrote tensor id, or nil for a step input.
func (t *Trace) Producer(id int) *Event {
	p := t.Tensors[id].Producer
	if p < 0 {
		return nil
	}
	return &t.Events[p]
}

// DisplayName returns the name event e uses for tensor id: "<layer>.<role>"
// when e reads or writes it, with the step prefix after step 0
// ("s3/conv1.dW"), else the tensor's canonical name.
func (t *Trace) DisplayName(e *Event, id int) string {
	if e != nil {
		if role := e.RoleOf(id); role != "" {
			return StepName(e.Step, e.Layer+"."+role)
		}
	}
	return t.Tensors[id].Name
}
