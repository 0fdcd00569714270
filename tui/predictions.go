package tui

import (
	"fmt"

	"github.com/charmbracelet/x/ansi"

	"github.com/cnndbg/cnndbg/net"
)

// predictionMark returns the header's note on the batch's mistakes, such
// as " · ✗ 1 wrong of 64", or "" when every sample is right or the trace
// has no loss.
func (m Model) predictionMark() string {
	d := m.course.data
	if d == nil || d.wrong == 0 {
		return ""
	}
	return fmt.Sprintf(" · ✗ %d wrong of %d", d.wrong, len(d.predictions))
}

// sampleAxis returns how the selected tensor shows the batch's samples:
// through the "sample" selector k, or down its rows (k = -1) for an
// (m, n) matrix such as fc1.Z or loss.probs. ok is false when the tensor
// has no axis of the batch's size that holds samples.
func (v *tensorView) sampleAxis(plan slicePlan, role string, shape []int) (k int, ok bool) {
	if v.course == nil || len(v.course.predictions) == 0 {
		return 0, false
	}
	m := len(v.course.predictions)
	for k, axis := range plan.selectorAxes {
		if plan.selectorNames[k] == "sample" && shape[axis] == m {
			return k, true
		}
	}
	if len(shape) == 2 && plan.rowAxis == 0 && shape[0] == m && !isWeightRole(role) {
		return -1, true
	}
	return 0, false
}

// sample returns the sample the cursor is on and whether the tensor shows
// samples down its rows. ok is false when the selected tensor has no
// sample axis.
func (v *tensorView) sample() (s int, inRows, ok bool) {
	id := v.Tensor()
	if id < 0 {
		return 0, false, false
	}
	role, shape := v.refs[v.selected].Role, v.tr.Tensors[id].Shape
	k, ok := v.sampleAxis(planSlice(role, shape), role, shape)
	if !ok {
		return 0, false, false
	}
	cur := v.cursor()
	if k < 0 {
		return cur.row, true, true
	}
	return cur.selectors[k], false, true
}

// setSample moves the cursor to sample s, keeping its place in the slice.
func (v *tensorView) setSample(s int) {
	id := v.Tensor()
	role, shape := v.refs[v.selected].Role, v.tr.Tensors[id].Shape
	k, ok := v.sampleAxis(planSlice(role, shape), role, shape)
	if !ok {
		return
	}
	cur := v.cursor()
	if k < 0 {
		cur.row = s
		return
	}
	cur.selectors[k] = s
}

// predictionLine returns the line under the selector line with the
// network's prediction for the cursor's sample: "label 9 · predicted 5
// (p 0.505) ✗". A matrix of samples by classes names the sample too,
// because it has no selector line. The line is "" when the trace has no
// predictions or the tensor no sample axis.
func (v *tensorView) predictionLine() string {
	s, inRows, ok := v.sample()
	if !ok || s >= len(v.course.predictions) {
		return ""
	}
	p := v.course.predictions[s]
	mark, style := "✓", v.styles.Label
	if !p.Correct() {
		mark, style = "✗", v.styles.Differ
	}
	texts := predictionTexts(p)
	if inRows {
		// The sample goes first while it fits; the element line below the
		// map names the row anyway.
		prefix := fmt.Sprintf("sample %d · ", s)
		texts = []string{prefix + texts[0], prefix + texts[1], texts[1]}
	}
	for _, text := range texts {
		if ansi.StringWidth(text+" "+mark) <= v.width {
			return text + " " + style.Render(mark)
		}
	}
	return fitLine(texts[len(texts)-1]+" "+style.Render(mark), v.width)
}

// predictionTexts returns a prediction in words, longest first.
func predictionTexts(p net.Prediction) []string {
	return []string{
		fmt.Sprintf("label %d · predicted %d (p %.3f)", p.Label, p.Predicted, p.Prob),
		fmt.Sprintf("label %d · pred %d (p %.3f)", p.Label, p.Predicted, p.Prob),
	}
}

// nextMistake moves the sample selector to the next misclassified sample
// after the cursor's, wrapping at the end of the batch.
func (m Model) nextMistake() Model {
	d := m.course.data
	switch {
	case d == nil || len(d.predictions) == 0:
		m.status = "this trace has no loss, so it holds no predictions"
		return m
	case d.wrong == 0:
		m.status = fmt.Sprintf("all %d samples are classified right", len(d.predictions))
		return m
	}
	current, _, ok := m.tensors.sample()
	if !ok {
		id := m.tensors.Tensor()
		if id < 0 {
			m.status = "this event reads and writes no tensor"
			return m
		}
		e := &m.tr.Events[m.tensors.event]
		m.status = m.tr.DisplayName(e, id) + " has no sample axis: m steps through the samples of activations and their gradients"
		return m
	}
	n := len(d.predictions)
	for step := 1; step <= n; step++ {
		p := d.predictions[(current+step)%n]
		if p.Correct() {
			continue
		}
		m.tensors.setSample(p.Sample)
		m.tensors.term = nil
		m.status = fmt.Sprintf("m → sample %d: label %d, predicted %d (p %.3f)", p.Sample, p.Label, p.Predicted, p.Prob)
		return m
	}
	return m
}
