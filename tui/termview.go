package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// termFocus is the term the inspector has selected: the tensor view draws
// its operands as small maps around the cells they read.
type termFocus struct {
	number, total int
	term          net.Term
	// explainedRole and explainedIndex name the element the term is part of.
	explainedRole  string
	explainedIndex []int
}

// SetTerm shows term's operands in place of the heatmap; nil goes back.
func (v *tensorView) SetTerm(t *termFocus) { v.term = t }

// operandNeighborhood is the side of the window drawn around an operand's
// cell when no layer window applies.
const operandNeighborhood = 5

func (v tensorView) termLines() []string {
	e := &v.tr.Events[v.event]
	id := v.Tensor()
	lines := v.tabs()
	lines = append(lines, fitLine(v.styles.Value.Render(v.tr.DisplayName(e, id))+" "+v.styles.Label.Render(shapeString(v.tr.Tensors[id].Shape)), v.width))
	lines = append(lines, v.styles.Selected.Render(fmt.Sprintf("term %d of %d", v.term.number, v.term.total)))

	var blocks [][]string
	for _, op := range v.term.term.Operands {
		blocks = append(blocks, v.operandBlock(e, op))
	}
	lines = append(lines, arrangeBlocks(blocks, v.width)...)
	if v.term.term.Coef != 1 {
		lines = append(lines, wrapText("coefficient "+formatValue(v.term.term.Coef), v.width)...)
	}
	lines = append(lines, wrapText("product = "+formatValue(v.term.term.Value), v.width)...)
	if v.term.term.Note != "" {
		lines = append(lines, wrapText(v.term.term.Note, v.width)...)
	}
	lines = append(lines, v.styles.Label.Render("esc: back to the map"))
	return lines
}

// arrangeBlocks puts blocks side by side when they fit width, else one
// under the other.
func arrangeBlocks(blocks [][]string, width int) []string {
	total, height := 0, 0
	for _, b := range blocks {
		total += blockWidth(b) + 2
		height = max(height, len(b))
	}
	if total > width+2 {
		var lines []string
		for _, b := range blocks {
			lines = append(lines, b...)
		}
		return lines
	}
	columns := make([][]string, len(blocks))
	for i, b := range blocks {
		w := blockWidth(b) + 2
		col := make([]string, height)
		for j := range col {
			line := ""
			if j < len(b) {
				line = b[j]
			}
			col[j] = fitLine(line, w)
		}
		columns[i] = col
	}
	return joinColumns(columns...)
}

func blockWidth(b []string) int {
	w := 0
	for _, l := range b {
		w = max(w, ansi.StringWidth(l))
	}
	return w
}

// operandBlock draws the window of the operand's tensor around the cell the
// operand reads, with that cell marked, under a caption naming the window.
func (v tensorView) operandBlock(e *trace.Event, op net.Operand) []string {
	t := v.tr.Tensor(op.Tensor)
	if t == nil || !t.InRange(op.Index) {
		return []string{op.Tensor + indexString(op.Index)}
	}
	data, err := v.tr.Data(t.ID)
	if err != nil {
		return []string{op.Tensor + ": " + err.Error()}
	}
	role := op.Tensor[strings.LastIndex(op.Tensor, ".")+1:]
	plan := planSlice(role, t.Shape)
	selectors := make([]int, len(plan.selectorAxes))
	for k, axis := range plan.selectorAxes {
		selectors[k] = op.Index[axis]
	}
	row, col := 0, 0
	if plan.rowAxis >= 0 {
		row = op.Index[plan.rowAxis]
	}
	if plan.colAxis >= 0 {
		col = op.Index[plan.colAxis]
	}
	rows, cols := plan.size(t.Shape)

	r0, c0, n := row-operandNeighborhood/2, col-operandNeighborhood/2, operandNeighborhood
	if wr, wc, f, ok := v.convWindow(e, role); ok {
		r0, c0, n = wr, wc, f
	}
	r1, c1 := min(r0+n, rows), min(c0+n, cols)
	r0, c0 = max(r0, 0), max(c0, 0)
	if plan.rowAxis < 0 {
		r0, r1 = 0, 1
	}

	sc := v.scaleOf(t.ID, role, data)
	hm := heatmap{
		rows: r1 - r0, cols: c1 - c0, sc: sc, cursorRow: row - r0, cursorCol: col - c0,
		value: func(r, c int) float64 { return data[plan.offset(t.Shape, selectors, r0+r, c0+c)] },
	}
	cellWidth := 2
	if v.styles.NoColor && !sc.diverging {
		cellWidth = 1
	}
	win := heatmapWindow{rowsShown: hm.rows, colsShown: hm.cols, rowsPerLine: 1, cellWidth: cellWidth}
	lines := []string{v.styles.Value.Render(role), v.styles.Label.Render(sliceString(op.Index, plan, r0, r1, c0, c1))}
	return append(lines, hm.render(v.styles, win)...)
}

// convWindow returns the A_prev window of a conv event's term: rows and
// columns h·stride−pad to h·stride−pad+f−1, where (h, w) is the output
// position the term belongs to, read from its dZ operand or from the
// explained Z element. ok is false for other operands and events.
func (v tensorView) convWindow(e *trace.Event, role string) (row0, col0, f int, ok bool) {
	if e.Kind != "conv" || role != "A_prev" {
		return 0, 0, 0, false
	}
	stride, err1 := e.Int("stride")
	pad, err2 := e.Int("pad")
	w := v.tr.In(e, "W")
	if err1 != nil || err2 != nil || w == nil || len(w.Shape) != 4 {
		return 0, 0, 0, false
	}
	var at []int
	for _, op := range v.term.term.Operands {
		if strings.HasSuffix(op.Tensor, ".dZ") && len(op.Index) == 4 {
			at = op.Index
		}
	}
	if at == nil && v.term.explainedRole == "Z" && len(v.term.explainedIndex) == 4 {
		at = v.term.explainedIndex
	}
	if at == nil {
		return 0, 0, 0, false
	}
	return at[1]*stride - pad, at[2]*stride - pad, w.Shape[0], true
}

// sliceString writes the window [r0, r1) × [c0, c1) of the slice holding
// index in numpy's notation, such as "[54,7:12,7:12,0]".
func sliceString(index []int, plan slicePlan, r0, r1, c0, c1 int) string {
	parts := make([]string, len(index))
	for i, d := range index {
		parts[i] = fmt.Sprint(d)
	}
	if plan.rowAxis >= 0 {
		parts[plan.rowAxis] = fmt.Sprintf("%d:%d", r0, r1)
	}
	if plan.colAxis >= 0 {
		parts[plan.colAxis] = fmt.Sprintf("%d:%d", c0, c1)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
