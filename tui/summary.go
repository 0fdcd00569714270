package tui

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// Summary writes a plain-text account of the step in tr: the model, the
// batch size, the loss, one line per event with its output tensors' shapes
// and largest magnitudes, and the non-finite values. It is the output for a
// stdout that is not a terminal, or TERM=dumb. It reads every tensor, so a
// damaged trace file is reported: the error then names the first unreadable
// tensor. It also returns the first write error.
func Summary(w io.Writer, tr *trace.Trace) error {
	var b strings.Builder
	fmt.Fprintf(&b, "model  %s\n", modelSummary(tr.Model))
	if m := batchSize(tr); m > 0 {
		fmt.Fprintf(&b, "batch  %d\n", m)
	}
	if loss := tr.Tensor("loss"); loss != nil && trace.Size(loss.Shape) == 1 {
		if v, err := tr.Value(loss.ID, make([]int, len(loss.Shape))...); err == nil {
			fmt.Fprintf(&b, "loss   %s\n", formatValue(v))
		}
	}
	writePredictions(&b, tr)
	fmt.Fprintf(&b, "events %d\n", len(tr.Events))

	nonFinite := 0
	for i := range tr.Events {
		e := &tr.Events[i]
		var outputs []string
		for _, r := range e.Outputs {
			t := tr.Tensors[r.Tensor]
			out := fmt.Sprintf("%s %s max|x| %.6g", tr.DisplayName(e, r.Tensor), shapeString(t.Shape), t.Stats.MaxAbs)
			if n := t.Stats.NonFinite(); n > 0 {
				out += fmt.Sprintf(" (%d NaN, %d +Inf, %d -Inf)", t.Stats.NaN, t.Stats.PosInf, t.Stats.NegInf)
				nonFinite += n
			}
			outputs = append(outputs, out)
		}
		fmt.Fprintf(&b, "%3d %-8s %-8s %-21s %s\n", e.Index, e.Phase, e.Layer, e.Kind, strings.Join(outputs, ", "))
	}
	if nonFinite == 0 {
		b.WriteString("non-finite values: none\n")
	} else {
		fmt.Fprintf(&b, "non-finite values: %d in the outputs above\n", nonFinite)
	}
	unreadable, firstErr := checkReadable(tr)
	if unreadable > 0 {
		fmt.Fprintf(&b, "unreadable tensors: %d\n", unreadable)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if unreadable > 0 {
		return fmt.Errorf("%d of %d tensors cannot be read, the first: %v", unreadable, len(tr.Tensors), firstErr)
	}
	return nil
}

// checkReadable reads every tensor of tr, which for a trace file checks each
// member's size and checksum, and returns how many fail and the first error.
// A summary that only listed the manifest would call a damaged file sound.
func checkReadable(tr *trace.Trace) (int, error) {
	count := 0
	var first error
	for _, t := range tr.Tensors {
		if _, err := tr.Data(t.ID); err != nil {
			count++
			if first == nil {
				first = err
			}
		}
	}
	return count, first
}

// writePredictions adds the accuracy of the batch and one line per wrongly
// classified sample, so a user can pick a mistake to step into. A trace
// without a softmax loss (a single-layer exercise) gets no line.
func writePredictions(b *strings.Builder, tr *trace.Trace) {
	predictions, err := net.Predictions(tr)
	if err != nil || len(predictions) == 0 {
		return
	}
	var wrong []net.Prediction
	for _, p := range predictions {
		if !p.Correct() {
			wrong = append(wrong, p)
		}
	}
	fmt.Fprintf(b, "right  %d of %d samples\n", len(predictions)-len(wrong), len(predictions))
	for _, p := range wrong {
		fmt.Fprintf(b, "wrong  sample %d: label %d (p %.3f), predicted %d (p %.3f)\n", p.Sample, p.Label, p.LabelProb, p.Predicted, p.Prob)
	}
}

// modelSummary lists the layers of a model spec: "conv1 conv → relu1 relu → …".
func modelSummary(spec []byte) string {
	var parsed struct {
		Layers []struct{ Name, Type string }
	}
	if err := json.Unmarshal(spec, &parsed); err != nil || len(parsed.Layers) == 0 {
		return "(no model spec in the trace)"
	}
	parts := make([]string, len(parsed.Layers))
	for i, l := range parsed.Layers {
		parts[i] = l.Name + " " + l.Type
	}
	return strings.Join(parts, " → ")
}

// batchSize returns the first dimension of the first event's first input,
// or 0 for a trace without events.
func batchSize(tr *trace.Trace) int {
	if len(tr.Events) == 0 || len(tr.Events[0].Inputs) == 0 {
		return 0
	}
	shape := tr.Tensors[tr.Events[0].Inputs[0].Tensor].Shape
	if len(shape) == 0 {
		return 0
	}
	return shape[0]
}
