package trace

import (
	"fmt"
	"strconv"
)

// Recorder builds a Trace while a network runs. A nil *Recorder is valid and
// records nothing, so the same code path serves training and debugging.
//
// The recorder keeps the slices it is handed without copying them: callers
// must not modify a tensor's data after adding it.
type Recorder struct {
	trace Trace
	step  int
}

// NewRecorder returns a recorder for a model described by spec (JSON).
func NewRecorder(spec []byte) *Recorder {
	return &Recorder{trace: Trace{Model: spec}}
}

// Enabled reports whether r records anything.
func (r *Recorder) Enabled() bool { return r != nil }

// SetStep sets the training step that following events belong to.
func (r *Recorder) SetStep(step int) {
	if r != nil {
		r.step = step
	}
}

// Input adds a tensor that no event of the trace wrote (an image batch,
// labels, initial weights) and returns its ID, or -1 for a nil recorder.
func (r *Recorder) Input(name string, shape []int, data []float64) int {
	if r == nil {
		return -1
	}
	return r.add(name, shape, data, -1)
}

func (r *Recorder) add(name string, shape []int, data []float64, producer int) int {
	if Size(shape) != len(data) {
		panic(fmt.Sprintf("trace: tensor %s has shape %v but %d values", name, shape, len(data)))
	}
	for _, existing := range r.trace.Tensors {
		if existing.Name == name {
			panic("trace: duplicate tensor name " + name)
		}
	}
	id := len(r.trace.Tensors)
	r.trace.Tensors = append(r.trace.Tensors, &Tensor{
		ID:       id,
		Name:     name,
		Shape:    append([]int(nil), shape...),
		data:     data,
		Producer: producer,
		Stats:    computeStats(data),
	})
	return id
}

// EventBuilder adds the tensors of one event. Begin starts it; Done ends it.
type EventBuilder struct {
	r     *Recorder
	event Event
}

// Begin starts an event of the given layer, kind and phase. params are
// key-value pairs; values are formatted with %v (floats exactly, with 'g').
// It returns nil for a nil recorder, and every EventBuilder method accepts nil.
func (r *Recorder) Begin(layer, kind string, phase Phase, params ...any) *EventBuilder {
	if r == nil {
		return nil
	}
	if len(params)%2 != 0 {
		panic("trace: Begin needs key-value pairs")
	}
	e := Event{Index: len(r.trace.Events), Step: r.step, Layer: layer, Kind: kind, Phase: phase}
	for i := 0; i < len(params); i += 2 {
		e.Params = append(e.Params, Param{Key: params[i].(string), Value: formatParam(params[i+1])})
	}
	return &EventBuilder{r: r, event: e}
}

func formatParam(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// Read records that the event reads tensor id under role and adds the alias
// "<layer>.<role>" to the tensor.
func (b *EventBuilder) Read(role string, id int) *EventBuilder {
	if b == nil {
		return nil
	}
	b.event.Inputs = append(b.event.Inputs, Ref{Role: role, Tensor: id})
	t := b.r.trace.Tensors[id]
	t.Consumers = append(t.Consumers, b.event.Index)
	b.alias(t, role)
	return b
}

// Write adds a tensor the event writes under role and returns its ID. name is
// the canonical name; "" means "<layer>.<role>".
func (b *EventBuilder) Write(role, name string, shape []int, data []float64) int {
	if b == nil {
		return -1
	}
	if name == "" {
		name = b.event.Layer + "." + role
	}
	id := b.r.add(name, shape, data, b.event.Index)
	b.event.Outputs = append(b.event.Outputs, Ref{Role: role, Tensor: id})
	b.alias(b.r.trace.Tensors[id], role)
	return id
}

func (b *EventBuilder) alias(t *Tensor, role string) {
	alias := b.event.Layer + "." + role
	if alias == t.Name {
		return
	}
	for _, a := range t.Aliases {
		if a == alias {
			return
		}
	}
	t.Aliases = append(t.Aliases, alias)
}

// Done appends the event to the trace.
func (b *EventBuilder) Done() {
	if b == nil {
		return
	}
	b.r.trace.Events = append(b.r.trace.Events, b.event)
}

// Trace returns the trace recorded so far. The recorder must not be used after.
func (r *Recorder) Trace() *Trace {
	t := r.trace
	t.index()
	return &t
}
