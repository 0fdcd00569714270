package trace

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Recorder builds a Trace while a network runs. A nil *Recorder is valid and
// records nothing, so the same code path serves training and debugging.
//
// The recorder keeps the slices it is handed without copying them: callers
// must not modify a tensor's data after adding it.
//
// Names are step-aware: events of step 0 name their tensors "<layer>.<role>"
// (conv1.dW), and events of a later step k prefix every canonical name and
// alias with "s<k>/" (s3/conv1.dW), so a trace of many steps keeps its
// names unique. StepName builds such a name.
type Recorder struct {
	trace Trace
	step  int
	// names maps every canonical name and alias to its tensor ID.
	names map[string]int
	// bySlice maps the first element and length of each recorded slice to
	// its tensor, so a step input that an earlier event wrote (step k+1's W
	// is step k's W_new) is the same tensor, not a copy.
	bySlice map[sliceKey]int
	// stats counts the statistics scans still running: large tensors are
	// scanned in the background while the network computes the next layer,
	// and Trace waits for them.
	stats sync.WaitGroup
}

// sliceKey identifies a recorded slice by its first element and length.
type sliceKey struct {
	first *float64
	n     int
}

// NewRecorder returns a recorder for a model described by spec (JSON).
func NewRecorder(spec []byte) *Recorder {
	return &Recorder{trace: Trace{Model: spec}, names: map[string]int{}, bySlice: map[sliceKey]int{}}
}

// StepName returns the name a tensor called name (conv1.dW) has in training
// step step of a trace: name itself for step 0, "s<step>/<name>" after.
func StepName(step int, name string) string {
	if step == 0 {
		return name
	}
	return "s" + strconv.Itoa(step) + "/" + name
}

// SplitStepName splits a step-aware name into its step and the name it has
// in step 0: "s3/conv1.dW" gives 3 and "conv1.dW", "conv1.dW" gives 0 and
// itself. A prefix that is not "s" and a decimal number is left in place.
func SplitStepName(name string) (step int, base string) {
	prefix, rest, ok := strings.Cut(name, "/")
	if !ok || len(prefix) < 2 || prefix[0] != 's' {
		return 0, name
	}
	k, err := strconv.Atoi(prefix[1:])
	if err != nil || k < 1 || prefix[1] == '0' || prefix[1] == '+' {
		return 0, name
	}
	return k, rest
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
// The name gets the step prefix of StepName.
//
// If data is the very slice of a tensor recorded before (the same first
// element and length), Input adds the name as an alias of that tensor and
// returns its ID instead of storing the values twice. That happens when
// step k+1 reads the W_new that step k's update wrote, or reuses its batch.
func (r *Recorder) Input(name string, shape []int, data []float64) int {
	if r == nil {
		return -1
	}
	if len(data) > 0 {
		if id, ok := r.bySlice[sliceKey{&data[0], len(data)}]; ok && slices.Equal(r.trace.Tensors[id].Shape, shape) {
			r.addAlias(r.trace.Tensors[id], StepName(r.step, name))
			return id
		}
	}
	return r.add(name, shape, data, -1)
}

func (r *Recorder) add(name string, shape []int, data []float64, producer int) int {
	name = StepName(r.step, name)
	if Size(shape) != len(data) {
		panic(fmt.Sprintf("trace: tensor %s has shape %v but %d values", name, shape, len(data)))
	}
	if _, taken := r.names[name]; taken {
		panic("trace: duplicate tensor name " + name)
	}
	id := len(r.trace.Tensors)
	r.names[name] = id
	if len(data) > 0 {
		r.bySlice[sliceKey{&data[0], len(data)}] = id
	}
	t := &Tensor{
		ID:       id,
		Name:     name,
		Shape:    append([]int(nil), shape...),
		data:     data,
		Producer: producer,
	}
	r.trace.Tensors = append(r.trace.Tensors, t)
	if len(data) < backgroundStatsAbove {
		t.Stats = computeStats(data)
		return id
	}
	r.stats.Add(1)
	go func() {
		defer r.stats.Done()
		t.Stats = computeStats(data)
	}()
	return id
}

// backgroundStatsAbove is the size from which a tensor's statistics are
// computed in the background: below it a goroutine costs more than the scan.
const backgroundStatsAbove = 1 << 14

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
// the canonical name; "" means "<layer>.<role>". Both get the step prefix
// of StepName.
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
	b.r.addAlias(t, StepName(b.event.Step, b.event.Layer+"."+role))
}

// addAlias gives t the extra name alias unless it has it already. It panics
// if another tensor has that name.
func (r *Recorder) addAlias(t *Tensor, alias string) {
	if alias == t.Name || slices.Contains(t.Aliases, alias) {
		return
	}
	if other, taken := r.names[alias]; taken {
		panic(fmt.Sprintf("trace: tensor %s cannot take the name %s of tensor %s", t.Name, alias, r.trace.Tensors[other].Name))
	}
	r.names[alias] = t.ID
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
	r.stats.Wait()
	t := r.trace
	t.index()
	return &t
}
