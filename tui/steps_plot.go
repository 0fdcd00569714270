package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// stepGroups is the timeline of a trace of several training steps: a
// header row per step above its events, and sparklines of the loss and of
// each layer's gradient norm over the steps above the list.
type stepGroups struct {
	// rows lists the timeline's rows: an event index, or −(step+1) for the
	// header of a step.
	rows []int
	// rowOf maps an event index to its row.
	rowOf     []int
	summaries []net.StepSummary
	err       error
}

// newStepGroups returns the groups of tr, or nil for a single-step trace,
// whose timeline lists its events without headers.
func newStepGroups(tr *trace.Trace) *stepGroups {
	if tr.Steps() < 2 {
		return nil
	}
	g := &stepGroups{rowOf: make([]int, len(tr.Events))}
	step := -1
	for i := range tr.Events {
		if s := tr.Events[i].Step; s != step {
			step = s
			g.rows = append(g.rows, -(s + 1))
		}
		g.rowOf[i] = len(g.rows)
		g.rows = append(g.rows, i)
	}
	g.summaries, g.err = net.StepSummaries(tr)
	return g
}

// plotLines returns the sparklines above the list: the loss, then one line
// per layer with parameters.
func (g *stepGroups) plotLines(st Styles, width int) []string {
	if g.err != nil {
		return wrapText("no plot: "+g.err.Error(), width)
	}
	if len(g.summaries) == 0 {
		return nil
	}
	labelWidth := len("loss")
	for _, grad := range g.summaries[0].Grads {
		labelWidth = max(labelWidth, ansi.StringWidth(grad.Layer+" ‖∇‖"))
	}
	// The line ends with the last step's value in a 10-cell column.
	room := max(width-labelWidth-1-11, 4)
	loss := make([]float64, len(g.summaries))
	for k, s := range g.summaries {
		loss[k] = s.Loss
	}
	title := fmt.Sprintf("steps 0–%d (log scale)", len(g.summaries)-1)
	lines := []string{st.Label.Render(fitLine(title, width)), plotLine(st, "loss", labelWidth, loss, room)}
	for j, grad := range g.summaries[0].Grads {
		norms := make([]float64, len(g.summaries))
		for k, s := range g.summaries {
			norms[k] = math.NaN()
			if j < len(s.Grads) {
				norms[k] = s.Grads[j].Norm
			}
		}
		lines = append(lines, plotLine(st, grad.Layer+" ‖∇‖", labelWidth, norms, room))
	}
	return lines
}

// plotLine draws one sparkline on a log scale with its label and last value.
// NOTE: with more steps than cells, the line shows evenly spaced steps, the
// first and the last included, and leaves the others out.
func plotLine(st Styles, label string, labelWidth int, values []float64, room int) string {
	shown := values
	if len(values) > room {
		shown = make([]float64, room)
		for k := range shown {
			shown[k] = values[k*(len(values)-1)/(room-1)]
		}
	}
	last := values[len(values)-1]
	pad := strings.Repeat(" ", max(labelWidth-ansi.StringWidth(label), 0))
	return st.Label.Render(label+pad+" ") + net.Sparkline(shown, true) + " " + formatShort(last)
}

// headerRow draws the row above the events of step: "── step 3 · loss 0.42 ──".
func (g *stepGroups) headerRow(st Styles, step, width int) string {
	text := fmt.Sprintf("── step %d", step)
	if step < len(g.summaries) {
		text += fmt.Sprintf(" · loss %.4g", g.summaries[step].Loss)
	}
	text += " "
	if fill := width - ansi.StringWidth(text); fill > 0 {
		text += strings.Repeat("─", fill)
	}
	return st.Label.Render(fitLine(text, width))
}

// plotHeight is the number of lines the plot and its blank line take.
func (t timeline) plotHeight() int {
	if t.steps == nil || t.steps.err != nil {
		return 0
	}
	if len(t.steps.summaries) == 0 {
		return 0
	}
	return len(t.steps.summaries[0].Grads) + 3
}

// groupedListHeight is the number of rows of the list under the plot.
func (t timeline) groupedListHeight() int {
	return max(t.height-t.formulaLines()-t.plotHeight(), 1)
}

func (t *timeline) groupedFollow() {
	h := t.groupedListHeight()
	row := t.steps.rowOf[t.current]
	// Keep the step's header in view above its first event.
	if row-1 >= 0 && t.steps.rows[row-1] < 0 && row-1 < t.top {
		t.top = row - 1
	}
	if row < t.top {
		t.top = row
	}
	if row >= t.top+h {
		t.top = row - h + 1
	}
	t.top = clamp(t.top, 0, max(len(t.steps.rows)-h, 0))
}

func (t *timeline) groupedScroll(delta int) {
	t.top = clamp(t.top+delta, 0, max(len(t.steps.rows)-t.groupedListHeight(), 0))
}

// groupedEventAt returns the event on line y of the pane's content, or −1
// for the plot, a step header or a blank line.
func (t timeline) groupedEventAt(y int) int {
	y -= t.plotHeight()
	r := t.top + y
	if y < 0 || y >= t.groupedListHeight() || r >= len(t.steps.rows) || t.steps.rows[r] < 0 {
		return -1
	}
	return t.steps.rows[r]
}

func (t timeline) groupedLines() []string {
	var lines []string
	if t.plotHeight() > 0 {
		lines = append(lines, t.steps.plotLines(t.styles, t.width)...)
		lines = append(lines, "")
	}
	listEnd := len(lines) + t.groupedListHeight()
	for r := t.top; r < len(t.steps.rows) && len(lines) < listEnd; r++ {
		if i := t.steps.rows[r]; i >= 0 {
			lines = append(lines, t.row(i))
		} else {
			lines = append(lines, t.steps.headerRow(t.styles, -i-1, t.width))
		}
	}
	if n := t.formulaLines(); n > 0 {
		for len(lines) < listEnd {
			lines = append(lines, "")
		}
		wrapped := wrapText(eventFormula(&t.tr.Events[t.current]), t.width)
		if len(wrapped) > n {
			wrapped = wrapped[:n]
		}
		for _, l := range wrapped {
			lines = append(lines, t.styles.Dim.Render(l))
		}
	}
	return lines
}
