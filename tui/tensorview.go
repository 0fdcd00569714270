package tui

import (
	"fmt"
	"math"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cnndbg/cnndbg/trace"
)

// elementChosenMsg reports that the element cursor of the tensor view moved
// or the view switched to another tensor.
type elementChosenMsg struct {
	event, tensor int
	index         []int
}

// cursorState is the tensor view's position in one tensor: the values of
// the selector axes and the element cursor in the 2-D slice. The view keeps
// one per tensor, so returning to a tensor returns to the same element.
type cursorState struct {
	selectors []int
	row, col  int
}

// tensorView shows the tensors an event reads and writes: tabs to pick one,
// a heatmap of one 2-D slice with an element cursor, a scale legend and the
// exact value under the cursor. While the inspector has a term selected it
// shows that term's operands instead.
type tensorView struct {
	tr     *trace.Trace
	keys   TensorKeys
	styles Styles

	event    int
	refs     []trace.Ref // the event's outputs, then its inputs
	selected int
	cursors  map[int]*cursorState
	scales   map[int]scale
	// loadErr is the error of the last failed read of a tensor's values.
	loadErr error
	// failed holds the error of each tensor whose background read failed,
	// so the view shows the error instead of "loading" for ever.
	failed map[int]error

	term          *termFocus
	width, height int

	// course holds the batch's predictions and compare's diff mode.
	course *courseData
}

func newTensorView(tr *trace.Trace, keys TensorKeys, st Styles) tensorView {
	return tensorView{tr: tr, keys: keys, styles: st, cursors: map[int]*cursorState{}, scales: map[int]scale{}, failed: map[int]error{}}
}

func (v *tensorView) SetSize(w, h int) { v.width, v.height = w, h }

// SelectMatching selects the first tensor of the event whose name, as the
// event uses it, contains query (case-insensitive). It reports whether one
// did; otherwise the selection stays.
func (v *tensorView) SelectMatching(query string) bool {
	query = strings.ToLower(strings.TrimSpace(query))
	if query == "" || v.event < 0 || v.event >= len(v.tr.Events) {
		return false
	}
	e := &v.tr.Events[v.event]
	for k, r := range v.refs {
		if strings.Contains(strings.ToLower(v.tr.DisplayName(e, r.Tensor)), query) {
			v.selected = k
			return true
		}
	}
	return false
}

// SetEvent shows the tensors of event with its first output selected.
func (v *tensorView) SetEvent(event int) {
	if event < 0 || event >= len(v.tr.Events) {
		v.refs = nil
		return
	}
	e := &v.tr.Events[event]
	v.event = event
	v.refs = append(append([]trace.Ref(nil), e.Outputs...), e.Inputs...)
	v.selected = 0
	v.term = nil
}

// Tensor returns the ID of the selected tensor, or -1.
func (v tensorView) Tensor() int {
	if v.selected < 0 || v.selected >= len(v.refs) {
		return -1
	}
	return v.refs[v.selected].Tensor
}

// SelectElement selects tensor id of the current event and moves the cursor
// to index. It reports whether the event reads or writes the tensor.
func (v *tensorView) SelectElement(id int, index []int) bool {
	for i, r := range v.refs {
		if r.Tensor != id {
			continue
		}
		v.selected = i
		t := v.tr.Tensors[id]
		if !t.InRange(index) {
			return true
		}
		plan := planSlice(r.Role, t.Shape)
		cur := v.cursor()
		for k, axis := range plan.selectorAxes {
			cur.selectors[k] = index[axis]
		}
		cur.row, cur.col = 0, 0
		if plan.rowAxis >= 0 {
			cur.row = index[plan.rowAxis]
		}
		if plan.colAxis >= 0 {
			cur.col = index[plan.colAxis]
		}
		return true
	}
	return false
}

// Chosen returns the message naming the element under the cursor.
func (v *tensorView) Chosen() tea.Msg {
	id := v.Tensor()
	if id < 0 || !v.tr.Ready(id) {
		return nil
	}
	return elementChosenMsg{event: v.event, tensor: id, index: v.Index()}
}

// Index returns the full index of the element under the cursor.
func (v *tensorView) Index() []int {
	id := v.Tensor()
	if id < 0 {
		return nil
	}
	t := v.tr.Tensors[id]
	plan := planSlice(v.refs[v.selected].Role, t.Shape)
	cur := v.cursor()
	index := make([]int, len(t.Shape))
	for k, axis := range plan.selectorAxes {
		index[axis] = cur.selectors[k]
	}
	if plan.rowAxis >= 0 {
		index[plan.rowAxis] = cur.row
	}
	if plan.colAxis >= 0 {
		index[plan.colAxis] = cur.col
	}
	return index
}

// cursor returns the cursor state of the selected tensor, creating it on
// the element of largest magnitude of the first slice.
func (v *tensorView) cursor() *cursorState {
	id := v.Tensor()
	if cur, ok := v.cursors[id]; ok {
		return cur
	}
	t := v.tr.Tensors[id]
	plan := planSlice(v.refs[v.selected].Role, t.Shape)
	cur := &cursorState{selectors: make([]int, len(plan.selectorAxes))}
	if !v.tr.Ready(id) {
		// The values are still loading, so a cursor at the origin is used
		// for now. The stored one starts on the largest element later.
		return cur
	}
	v.cursors[id] = cur
	if data, err := v.tr.Data(id); err == nil {
		best := -1.0
		rows, cols := plan.size(t.Shape)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				if a := math.Abs(data[plan.offset(t.Shape, cur.selectors, r, c)]); a > best {
					best, cur.row, cur.col = a, r, c
				}
			}
		}
	}
	return cur
}

// Update handles the tensor keys. It returns an elementChosenMsg when the
// selected element changed.
func (v tensorView) Update(msg tea.Msg) (tensorView, tea.Msg) {
	press, ok := msg.(tea.KeyPressMsg)
	if !ok || v.Tensor() < 0 {
		return v, nil
	}
	before := fmt.Sprint(v.Tensor(), v.Index())
	switch {
	case key.Matches(press, v.keys.NextTensor):
		v.selected = (v.selected + 1) % len(v.refs)
	case key.Matches(press, v.keys.PrevTensor):
		v.selected = (v.selected + len(v.refs) - 1) % len(v.refs)
	case key.Matches(press, v.keys.PrevSample):
		v.moveSelector(0, -1)
	case key.Matches(press, v.keys.NextSample):
		v.moveSelector(0, 1)
	case key.Matches(press, v.keys.PrevChannel):
		v.moveSelector(1, -1)
	case key.Matches(press, v.keys.NextChannel):
		v.moveSelector(1, 1)
	case key.Matches(press, v.keys.Up):
		v.moveCursor(-1, 0)
	case key.Matches(press, v.keys.Down):
		v.moveCursor(1, 0)
	case key.Matches(press, v.keys.Left):
		v.moveCursor(0, -1)
	case key.Matches(press, v.keys.Right):
		v.moveCursor(0, 1)
	default:
		return v, nil
	}
	if fmt.Sprint(v.Tensor(), v.Index()) == before {
		return v, nil
	}
	v.term = nil
	return v, v.Chosen()
}

func (v *tensorView) moveSelector(k, delta int) {
	t := v.tr.Tensors[v.Tensor()]
	plan := planSlice(v.refs[v.selected].Role, t.Shape)
	if k >= len(plan.selectorAxes) {
		return
	}
	cur := v.cursor()
	cur.selectors[k] = clamp(cur.selectors[k]+delta, 0, t.Shape[plan.selectorAxes[k]]-1)
}

func (v *tensorView) moveCursor(dr, dc int) {
	t := v.tr.Tensors[v.Tensor()]
	rows, cols := planSlice(v.refs[v.selected].Role, t.Shape).size(t.Shape)
	cur := v.cursor()
	cur.row = clamp(cur.row+dr, 0, rows-1)
	cur.col = clamp(cur.col+dc, 0, cols-1)
}

// Click moves the cursor to the element under content cell (x, y) and
// returns the elementChosenMsg, or nil when no element is there.
func (v tensorView) Click(x, y int) (tensorView, tea.Msg) {
	if v.Tensor() < 0 || v.term != nil {
		return v, nil
	}
	if a := v.comparedArray(); a != nil {
		return v.compareClick(a, x, y)
	}
	header, hm, _, ok := v.frame()
	if !ok {
		return v, nil
	}
	r, c, hit := hm.window(v.styles, v.width, v.mapHeight(len(header))).elementAt(x, y-len(header))
	if !hit {
		return v, nil
	}
	cur := v.cursor()
	cur.row, cur.col = r, c
	return v, v.Chosen()
}

// scaleOf returns the color scale of tensor id: diverging (symmetric
// around zero) for gradients and any tensor with negative values,
// sequential from 0 for the rest.
func (v *tensorView) scaleOf(id int, role string, data []float64) scale {
	if sc, ok := v.scales[id]; ok {
		return sc
	}
	t := v.tr.Tensors[id]
	sc := scale{diverging: strings.HasPrefix(role, "d"), hi: t.Stats.MaxAbs}
	for _, x := range data {
		if x < 0 {
			sc.diverging = true
			break
		}
	}
	v.scales[id] = sc
	return sc
}

// formatSize writes a byte count with a binary unit: 512 B, 2.4 MiB.
func formatSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, k := float64(n), 0
	for v >= 1024 && k < len(units)-1 {
		v /= 1024
		k++
	}
	if k == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", v, units[k])
}

// frame returns the lines above the heatmap, the heatmap and the lines
// below it. ok is false when the tensor's values cannot be read.
func (v *tensorView) frame() (header []string, hm heatmap, footer []string, ok bool) {
	id := v.Tensor()
	e := &v.tr.Events[v.event]
	t := v.tr.Tensors[id]
	role := v.refs[v.selected].Role
	header = append(header, v.tabs()...)
	direction := "read"
	if v.selected < len(e.Outputs) {
		direction = "written"
	}
	header = append(header, fitLine(v.styles.Value.Render(v.tr.DisplayName(e, id))+" "+
		v.styles.Label.Render(shapeString(t.Shape)+" "+direction), v.width))
	if err := v.failed[id]; err != nil {
		v.loadErr = err
		footer = append(footer, wrapText(err.Error(), v.width)...)
		return header, hm, footer, false
	}
	if !v.tr.Ready(id) {
		footer = append(footer, v.styles.Label.Render(fmt.Sprintf("loading %s…", formatSize(8*int64(trace.Size(t.Shape))))))
		return header, hm, footer, false
	}

	data, err := v.tr.Data(id)
	if err != nil {
		v.loadErr = err
		footer = append(footer, wrapText(err.Error(), v.width)...)
		return header, hm, footer, false
	}
	plan := planSlice(role, t.Shape)
	cur := v.cursor()
	if sel := v.selectorLine(plan, t.Shape, cur); sel != "" {
		header = append(header, sel)
	}
	if line := v.predictionLine(); line != "" {
		header = append(header, line)
	}
	rows, cols := plan.size(t.Shape)
	sc := v.scaleOf(id, role, data)
	hm = heatmap{
		rows: rows, cols: cols, sc: sc, cursorRow: cur.row, cursorCol: cur.col,
		value: func(r, c int) float64 { return data[plan.offset(t.Shape, cur.selectors, r, c)] },
	}

	footer = append(footer, legend(v.styles, sc))
	if t.Stats.NonFinite() > 0 {
		footer = append(footer, specialLegend)
	}
	index := v.Index()
	value := data[trace.Offset(t.Shape, index)]
	footer = append(footer, fitLine(v.tr.DisplayName(e, id)+indexString(index), v.width), "= "+v.styles.Value.Render(formatValue(value)))
	return header, hm, footer, true
}

// mapHeight returns the lines left for the heatmap under a header of n lines.
func (v tensorView) mapHeight(n int) int {
	footer := 4 // window position, legend, element name, value
	if id := v.Tensor(); id >= 0 && v.tr.Tensors[id].Stats.NonFinite() > 0 {
		footer++
	}
	return max(v.height-n-footer, 2)
}

func (v tensorView) View() string { return strings.Join(v.lines(), "\n") }

func (v tensorView) lines() []string {
	if v.Tensor() < 0 {
		return []string{"this event reads and writes no tensor"}
	}
	if v.term != nil {
		return v.termLines()
	}
	if lines, ok := v.compareMapLines(); ok {
		return lines
	}
	header, hm, footer, ok := v.frame()
	if !ok {
		return append(header, footer...)
	}
	win := hm.window(v.styles, v.width, v.mapHeight(len(header)))
	lines := append(header, hm.render(v.styles, win)...)
	if win.rowsShown < hm.rows || win.colsShown < hm.cols {
		lines = append(lines, fitLine(v.styles.Label.Render(fmt.Sprintf("rows %d–%d/%d cols %d–%d/%d",
			win.row0, win.row0+win.rowsShown-1, hm.rows, win.col0, win.col0+win.colsShown-1, hm.cols)), v.width))
	}
	return append(lines, footer...)
}

// tabs lists the event's tensors by role, outputs first, then a bar and
// the inputs. The selected one is bracketed and in reverse video. Tabs wrap
// to the pane's width.
func (v tensorView) tabs() []string {
	outputs := len(v.tr.Events[v.event].Outputs)
	var lines []string
	line := ""
	for i, r := range v.refs {
		label := " " + r.Role + " "
		if i == v.selected {
			label = v.styles.Selected.Render("[" + r.Role + "]")
		}
		if i == outputs && i > 0 {
			label = v.styles.Label.Render("│") + label
		}
		if line != "" && ansi.StringWidth(line)+ansi.StringWidth(label) > v.width {
			lines = append(lines, line)
			line = ""
		}
		line += label
	}
	return append(lines, line)
}

// selectorLine shows the slice's position along the selector axes, such as
// "sample 3/64 [ ]  channel 0/6 { }", leaving out the key hints when the
// line would not fit.
func (v tensorView) selectorLine(plan slicePlan, shape []int, cur *cursorState) string {
	var parts, hinted []string
	keys := []string{"[ ]", "{ }"}
	for k, axis := range plan.selectorAxes {
		if shape[axis] <= 1 {
			continue
		}
		part := fmt.Sprintf("%s %d/%d", plan.selectorNames[k], cur.selectors[k], shape[axis])
		parts = append(parts, part)
		hinted = append(hinted, part+" "+v.styles.Label.Render(keys[k]))
	}
	if line := strings.Join(hinted, "  "); ansi.StringWidth(line) <= v.width {
		return line
	}
	return strings.Join(parts, "  ")
}

// shapeString writes a shape as numpy does without the spaces, (5,5,1,6),
// to save room on the screen.
func shapeString(shape []int) string {
	return strings.ReplaceAll(trace.FormatShape(shape), " ", "")
}

func indexString(index []int) string {
	parts := make([]string, len(index))
	for i, d := range index {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// slicePlan is the cutting of a tensor into 2-D slices: the axis down the
// rows and the axis across the columns (-1 for none), and the axes the
// [ ] and { } keys step through.
type slicePlan struct {
	rowAxis, colAxis int
	selectorAxes     []int
	selectorNames    []string
}

// planSlice returns the slicing of a tensor in the course's layouts: NHWC
// activations show H×W of one sample and channel, conv weights
// (f, f, n_C_prev, n_C) show one f×f filter, and 2-D tensors show the
// matrix. A 4-D tensor with H = W = 1, such as a conv bias, shows samples
// by channels.
func planSlice(role string, shape []int) slicePlan {
	switch len(shape) {
	case 1:
		return slicePlan{rowAxis: -1, colAxis: 0}
	case 2:
		return slicePlan{rowAxis: 0, colAxis: 1}
	case 3:
		return slicePlan{rowAxis: 1, colAxis: 2, selectorAxes: []int{0}, selectorNames: []string{"sample"}}
	case 4:
		if isWeightRole(role) {
			return slicePlan{rowAxis: 0, colAxis: 1, selectorAxes: []int{2, 3}, selectorNames: []string{"c'", "c"}}
		}
		if shape[1] == 1 && shape[2] == 1 {
			return slicePlan{rowAxis: 0, colAxis: 3, selectorAxes: []int{1, 2}, selectorNames: []string{"h", "w"}}
		}
		return slicePlan{rowAxis: 1, colAxis: 2, selectorAxes: []int{0, 3}, selectorNames: []string{"sample", "channel"}}
	}
	// NOTE: tensors of rank 5 and more show only their last two axes, with
	// the leading axes fixed at 0; no layer of this project writes them.
	n := len(shape)
	return slicePlan{rowAxis: n - 2, colAxis: n - 1}
}

// isWeightRole reports whether role names conv or dense weights, or their
// gradient or update (W, dW, W_new).
func isWeightRole(role string) bool {
	role = strings.TrimPrefix(role, "d")
	role = strings.TrimSuffix(role, "_new")
	return role == "W"
}

// size returns the number of rows and columns of the plan's slices.
func (p slicePlan) size(shape []int) (int, int) {
	rows, cols := 1, 1
	if p.rowAxis >= 0 {
		rows = shape[p.rowAxis]
	}
	if p.colAxis >= 0 {
		cols = shape[p.colAxis]
	}
	return rows, cols
}

// offset returns the row-major offset of element (r, c) of the slice that
// selectors choose.
func (p slicePlan) offset(shape, selectors []int, r, c int) int {
	index := make([]int, len(shape))
	for k, axis := range p.selectorAxes {
		index[axis] = selectors[k]
	}
	if p.rowAxis >= 0 {
		index[p.rowAxis] = r
	}
	if p.colAxis >= 0 {
		index[p.colAxis] = c
	}
	return trace.Offset(shape, index)
}
