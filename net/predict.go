package net

import (
	"fmt"
	"slices"

	"github.com/cnndbg/cnndbg/trace"
)

// Prediction is the network's output class for one sample of a recorded batch,
// before the step's update.
type Prediction struct {
	// Sample is the row of the batch, from 0.
	Sample int
	// Label is the true class, the column of the 1 in the sample's row of
	// the one-hot labels Y.
	Label int
	// Predicted is the most probable class; the first one if several tie.
	Predicted int
	// Prob is the softmax probability of Predicted.
	Prob float64
	// LabelProb is the softmax probability of Label.
	LabelProb float64
}

// Correct reports whether the predicted class is the label.
func (p Prediction) Correct() bool { return p.Predicted == p.Label }

// Predictions returns one Prediction per sample of the first loss event of
// tr: the softmax probabilities it writes as "probs" (loss.probs for the
// built-in example) against the one-hot labels it reads as "Y" (input.Y).
// It returns an error if the trace has no loss event, the tensors cannot be
// read, or their shapes disagree; for a trace read from a file the error
// names the tensor.
func Predictions(tr *trace.Trace) ([]Prediction, error) {
	e := firstLossEvent(tr, -1)
	if e == nil {
		return nil, fmt.Errorf("the trace has no loss event, so it contains no predictions")
	}
	return predictionsOf(tr, e)
}

// PredictionsAt returns the predictions of training step step of a
// multi-step trace, made with that step's parameters.
func PredictionsAt(tr *trace.Trace, step int) ([]Prediction, error) {
	e := firstLossEvent(tr, step)
	if e == nil {
		return nil, fmt.Errorf("the trace has no loss event in step %d, so it contains no predictions for it", step)
	}
	return predictionsOf(tr, e)
}

// LossAt returns the loss of training step step, or an error if the step
// has no loss event or its value cannot be read.
func LossAt(tr *trace.Trace, step int) (float64, error) {
	e := firstLossEvent(tr, step)
	if e == nil {
		return 0, fmt.Errorf("the trace has no loss event in step %d", step)
	}
	id := e.Output("loss")
	if id < 0 || trace.Size(tr.Tensors[id].Shape) != 1 {
		return 0, fmt.Errorf("loss event %d (%s) writes no one-element loss", e.Index, e.Layer)
	}
	data, err := tr.Data(id)
	if err != nil {
		return 0, err
	}
	return data[0], nil
}

// predictionsOf computes the predictions of loss event e.
func predictionsOf(tr *trace.Trace, e *trace.Event) ([]Prediction, error) {
	probsID, yID := e.Output("probs"), e.Input("Y")
	if probsID < 0 || yID < 0 {
		return nil, fmt.Errorf("loss event %d (%s) lacks its probs output or Y input", e.Index, e.Layer)
	}
	probs, err := tr.Data(probsID)
	if err != nil {
		return nil, err
	}
	y, err := tr.Data(yID)
	if err != nil {
		return nil, err
	}
	shape := tr.Tensors[probsID].Shape
	if len(shape) != 2 || !slices.Equal(shape, tr.Tensors[yID].Shape) || len(probs) != len(y) {
		return nil, fmt.Errorf("loss event %d (%s): probs has shape %v and Y %v, want the same (m, classes)",
			e.Index, e.Layer, shape, tr.Tensors[yID].Shape)
	}

	m, classes := shape[0], shape[1]
	out := make([]Prediction, m)
	for i := range m {
		probsRow := FromData(probs[i*classes:(i+1)*classes], 1, classes)
		yRow := FromData(y[i*classes:(i+1)*classes], 1, classes)
		p := Prediction{Sample: i, Label: argmaxRow(yRow, 0), Predicted: argmaxRow(probsRow, 0)}
		p.Prob = probsRow.Data[p.Predicted]
		p.LabelProb = probsRow.Data[p.Label]
		out[i] = p
	}
	return out, nil
}

// firstLossEvent returns the first event of tr in the loss phase, of
// training step step or of any step if step < 0, or nil.
func firstLossEvent(tr *trace.Trace, step int) *trace.Event {
	for k := range tr.Events {
		e := &tr.Events[k]
		if e.Phase == trace.Loss && (step < 0 || e.Step == step) {
			return e
		}
	}
	return nil
}
