package net

import (
	"fmt"
	"math"
	"strings"

	"github.com/cnndbg/cnndbg/trace"
)

// RunSteps runs steps consecutive SGD steps of n on the same batch x with
// labels and learning rate lr, recording them all into rec (nil records
// nothing) as steps 0, 1, …, steps−1 of one trace. The recorder names the
// tensors of step k > 0 with the prefix "s<k>/" (see trace.StepName), and
// the parameters step k+1 reads are the W_new and b_new tensors step k
// wrote, not copies. The caller must have checked the batch with
// CheckBatch; steps < 1 runs nothing.
func (n *Network) RunSteps(x *Tensor, labels []int, lr float64, steps int, rec *trace.Recorder) []*StepResult {
	results := make([]*StepResult, 0, max(steps, 0))
	for k := range steps {
		rec.SetStep(k)
		results = append(results, n.Step(x, labels, lr, rec))
	}
	return results
}

// StepSummary is the loss and the size of each layer's gradient in one step
// of a trace, for plotting training progress.
type StepSummary struct {
	Step int
	Loss float64
	// Grads has one entry per layer with parameters, in the order of the
	// backward pass.
	Grads []LayerGradNorm
}

// LayerGradNorm is the L2 norm of one layer's parameter gradients in a step.
type LayerGradNorm struct {
	Layer string
	// Norm is √(‖dW‖² + ‖db‖²): +Inf if a gradient holds an infinity and
	// NaN if it holds a NaN.
	Norm float64
}

// StepSummaries returns the loss and every layer's gradient norm of each
// step of tr, in step order. It reads the loss and the dW and db tensors;
// the error names a tensor that cannot be read. A step without a loss event
// gets a NaN loss.
func StepSummaries(tr *trace.Trace) ([]StepSummary, error) {
	summaries := make([]StepSummary, tr.Steps())
	for k := range summaries {
		summaries[k] = StepSummary{Step: k, Loss: math.NaN()}
	}
	for i := range tr.Events {
		e := &tr.Events[i]
		s := &summaries[e.Step]
		switch e.Phase {
		case trace.Loss:
			if id := e.Output("loss"); id >= 0 {
				data, err := tr.Data(id)
				if err != nil {
					return nil, err
				}
				if len(data) == 1 {
					s.Loss = data[0]
				}
			}
		case trace.Backward:
			norm, ok, err := gradNorm(tr, e)
			if err != nil {
				return nil, err
			}
			if ok {
				s.Grads = append(s.Grads, LayerGradNorm{Layer: e.Layer, Norm: norm})
			}
		}
	}
	return summaries, nil
}

// gradNorm returns √(Σ v²) over the dW and db that event e writes, and false
// if it writes neither. The squares are summed relative to the largest
// magnitude, which the tensors' Stats record, so values near 1e200 do not
// overflow.
func gradNorm(tr *trace.Trace, e *trace.Event) (float64, bool, error) {
	var ids []int
	scale := 0.0
	for _, role := range []string{"dW", "db"} {
		id := e.Output(role)
		if id < 0 {
			continue
		}
		st := tr.Tensors[id].Stats
		switch {
		case st.NaN > 0:
			return math.NaN(), true, nil
		case st.PosInf+st.NegInf > 0:
			return math.Inf(1), true, nil
		}
		ids = append(ids, id)
		scale = math.Max(scale, st.MaxAbs)
	}
	if len(ids) == 0 {
		return 0, false, nil
	}
	if scale == 0 {
		return 0, true, nil
	}
	sum := 0.0
	for _, id := range ids {
		data, err := tr.Data(id)
		if err != nil {
			return 0, false, err
		}
		for _, v := range data {
			r := v / scale
			sum += r * r
		}
	}
	return scale * math.Sqrt(sum), true, nil
}

// sparkBlocks are the eight heights of a sparkline, lowest first.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws values as one line of block characters, one per value,
// scaled linearly from the smallest finite value (▁) to the largest (█).
// With logScale the heights follow log₁₀ of the values instead, which suits
// a loss or a gradient norm that changes by orders of magnitude, and values
// ≤ 0 are drawn as ▁. NaN is drawn as N, +Inf as ▲ and −Inf as ▼, the
// glyphs of the debugger's heatmaps.
func Sparkline(values []float64, logScale bool) string {
	heights := make([]float64, len(values))
	lo, hi := math.Inf(1), math.Inf(-1)
	for k, v := range values {
		h := v
		if logScale {
			h = math.Inf(-1)
			if v > 0 {
				h = math.Log10(v)
			}
		}
		heights[k] = h
		if !math.IsInf(h, 0) && !math.IsNaN(h) {
			lo, hi = math.Min(lo, h), math.Max(hi, h)
		}
	}

	var b strings.Builder
	for k, v := range values {
		h := heights[k]
		switch {
		case math.IsNaN(v):
			b.WriteRune('N')
		case math.IsInf(v, 1):
			b.WriteRune('▲')
		case math.IsInf(v, -1):
			b.WriteRune('▼')
		case math.IsInf(h, -1):
			b.WriteRune(sparkBlocks[0])
		case hi == lo:
			b.WriteRune(sparkBlocks[len(sparkBlocks)/2-1])
		default:
			level := int(math.Round((h - lo) / (hi - lo) * float64(len(sparkBlocks)-1)))
			b.WriteRune(sparkBlocks[level])
		}
	}
	return b.String()
}

// FormatStepSummaries writes summaries as a table, one row per step with the
// loss and each layer's gradient norm, followed by a sparkline per column on
// a log scale. It is the plot cnndbg record --steps prints.
func FormatStepSummaries(summaries []StepSummary) string {
	if len(summaries) == 0 {
		return ""
	}
	var layers []string
	for _, g := range summaries[0].Grads {
		layers = append(layers, g.Layer)
	}

	var b strings.Builder
	b.WriteString("loss, and the L2 norm of each layer's gradients (dW and db together):\n")
	fmt.Fprintf(&b, "%5s  %12s", "step", "loss")
	for _, l := range layers {
		fmt.Fprintf(&b, "  %12s", l)
	}
	b.WriteString("\n")
	columns := make([][]float64, len(layers)+1)
	for _, s := range summaries {
		fmt.Fprintf(&b, "%5d  %12.5g", s.Step, s.Loss)
		columns[0] = append(columns[0], s.Loss)
		for j := range layers {
			norm := math.NaN()
			if j < len(s.Grads) {
				norm = s.Grads[j].Norm
			}
			fmt.Fprintf(&b, "  %12.5g", norm)
			columns[j+1] = append(columns[j+1], norm)
		}
		b.WriteString("\n")
	}

	b.WriteString("\n")
	names := append([]string{"loss"}, layers...)
	width := 0
	for _, name := range names {
		width = max(width, len(name))
	}
	for j, name := range names {
		first, last := columns[j][0], columns[j][len(columns[j])-1]
		fmt.Fprintf(&b, "%-*s  %s  %.3g → %.3g\n", width, name, Sparkline(columns[j], true), first, last)
	}
	b.WriteString("(sparklines on a log scale; N is NaN, ▲ is +Inf)\n")
	return b.String()
}
