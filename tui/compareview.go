package tui

import (
	"fmt"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// compareMode is compare's view of a learner's arrays: the screen shows the
// report's exercise trace, and each tensor the learner gave an array for
// gets a map of where that array is wrong in place of its heatmap.
type compareMode struct {
	report *net.Report
	// arrays follow the report's order.
	arrays   []*comparedArray
	byTensor map[int]*comparedArray
}

// comparedArray is one of the learner's arrays. wrong contains the
// row-major offsets of its wrong elements in ascending order. It is empty
// when the array matches or its shape did not allow comparing the values.
type comparedArray struct {
	c     *net.Comparison
	tol   float64
	wrong []int
}

func newCompareMode(r *net.Report) *compareMode {
	d := &compareMode{report: r, byTensor: map[int]*comparedArray{}}
	for k := range r.Comparisons {
		c := &r.Comparisons[k]
		a := &comparedArray{c: c, tol: r.Tolerance}
		if c.Compared {
			for off := range c.Expected.Data {
				if c.ElementWrong(off, r.Tolerance) {
					a.wrong = append(a.wrong, off)
				}
			}
		}
		d.arrays = append(d.arrays, a)
		d.byTensor[c.TensorID] = a
	}
	return d
}

// isWrong reports whether the element at row-major offset off is wrong.
func (a *comparedArray) isWrong(off int) bool {
	k := sort.SearchInts(a.wrong, off)
	return k < len(a.wrong) && a.wrong[k] == off
}

// banner sums up the comparison in one line for the top of the screen.
func (d *compareMode) banner() string {
	text := "compare: " + d.report.Summary()
	failed := d.report.Failed()
	if len(failed) == 0 {
		return text
	}
	if len(d.arrays) > 1 {
		text += " (" + strings.Join(failed, ", ") + ")"
	}
	return text + " · x/X: next/previous wrong value"
}

// startCompare selects the first wrong element of the first array that has
// one, or else the first array the learner gave.
func (m *Model) startCompare() {
	d := m.course.data.compare
	if len(d.arrays) == 0 {
		return
	}
	target, off := d.arrays[0], -1
	for _, a := range d.arrays {
		if len(a.wrong) > 0 {
			target, off = a, a.wrong[0]
			break
		}
	}
	var index []int
	if off >= 0 {
		index = trace.Unravel(target.c.Expected.Shape, off)
	}
	m.showElement(target.c.TensorID, index)
	if msg, ok := m.tensors.Chosen().(elementChosenMsg); ok {
		m.inspector.SetElement(msg.event, msg.tensor, msg.index)
	}
}

// showElement selects the event that writes tensor id and moves the
// tensor view's cursor to index; a nil index keeps the cursor.
func (m *Model) showElement(id int, index []int) {
	event := m.tr.Tensors[id].Producer
	if event < 0 {
		event = m.timeline.current
	}
	if event != m.timeline.current || m.tensors.event != event {
		m.timeline.Select(event)
		m.tensors.SetEvent(event)
	}
	m.tensors.SelectElement(id, index)
}

// stepWrong moves to the next (dir 1) or previous (dir -1) wrong element
// of the learner's arrays: row-major within an array, then on to the next
// array with wrong elements, wrapping at the ends.
func (m Model) stepWrong(dir int) (Model, tea.Cmd) {
	d := m.course.data.compare
	if d == nil {
		m.status = "x and X step through wrong elements only in 'cnndbg compare'"
		return m, nil
	}
	type element struct {
		array *comparedArray
		off   int
	}
	var all []element
	for _, a := range d.arrays {
		for _, off := range a.wrong {
			all = append(all, element{a, off})
		}
	}
	if len(all) == 0 {
		m.status = "every element of your arrays is right: there is nothing to step through"
		return m, nil
	}

	// The cursor's place among all wrong elements: pos is the first wrong
	// element after it, or its own position when it is on one.
	pos, on := len(all), false
	if a := d.byTensor[m.tensors.Tensor()]; a != nil {
		cur := trace.Offset(a.c.Expected.Shape, m.tensors.Index())
		for k, e := range all {
			if e.array == a && e.off >= cur || d.order(e.array) > d.order(a) {
				pos, on = k, e.array == a && e.off == cur
				break
			}
		}
	} else {
		pos = 0
		if dir < 0 {
			pos = len(all)
		}
	}
	next := pos
	switch {
	case dir > 0 && on:
		next = pos + 1
	case dir < 0:
		next = pos - 1
	}
	next = (next + len(all)) % len(all)

	e := all[next]
	index := trace.Unravel(e.array.c.Expected.Shape, e.off)
	m.showElement(e.array.c.TensorID, index)
	m.tensors.term = nil
	m.status = fmt.Sprintf("wrong element %d of %d: %s%s", next+1, len(all), e.array.c.Name, indexString(index))
	return m.handle(m.tensors.Chosen())
}

// order returns the position of a in the report.
func (d *compareMode) order(a *comparedArray) int {
	for k, b := range d.arrays {
		if b == a {
			return k
		}
	}
	return -1
}

// comparedArray returns the learner's array for the selected tensor when the
// tensor view shows its diff map.
func (v *tensorView) comparedArray() *comparedArray {
	if v.course == nil || v.course.compare == nil || v.term != nil {
		return nil
	}
	a := v.course.compare.byTensor[v.Tensor()]
	if a == nil || !a.c.Compared {
		return nil
	}
	return a
}

// compareFrame returns the lines above the diff map, the map's geometry and
// the lines below it.
func (v *tensorView) compareFrame(a *comparedArray) (header []string, hm heatmap, win heatmapWindow, footer []string) {
	st := v.styles
	id := v.Tensor()
	e := &v.tr.Events[v.event]
	t := v.tr.Tensors[id]
	plan := planSlice(v.refs[v.selected].Role, t.Shape)
	cur := v.cursor()

	header = append(header, v.tabs()...)
	name, shape := v.tr.DisplayName(e, id), shapeString(t.Shape)
	room := v.width - ansi.StringWidth(name+" "+shape+" ")
	header = append(header, fitLine(st.Value.Render(name)+" "+
		st.Label.Render(shape+" "+firstFitting(room, "yours vs correct", "diff")), v.width))
	if sel := v.selectorLine(plan, t.Shape, cur); sel != "" {
		header = append(header, sel)
	}
	rows, cols := plan.size(t.Shape)
	inSlice := 0
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			if a.isWrong(plan.offset(t.Shape, cur.selectors, r, c)) {
				inSlice++
			}
		}
	}
	count := fmt.Sprintf("all %d elements right", len(a.c.Expected.Data))
	if len(a.wrong) > 0 {
		count = firstFitting(v.width,
			fmt.Sprintf("%d of %d wrong, %d in this slice", len(a.wrong), len(a.c.Expected.Data), inSlice),
			fmt.Sprintf("%d of %d wrong, %d here", len(a.wrong), len(a.c.Expected.Data), inSlice))
	}
	header = append(header, fitLine(count, v.width))

	hm = heatmap{
		rows: rows, cols: cols, cursorRow: cur.row, cursorCol: cur.col,
		value: func(r, c int) float64 {
			if a.isWrong(plan.offset(t.Shape, cur.selectors, r, c)) {
				return 1
			}
			return 0
		},
	}
	index := v.Index()
	off := trace.Offset(t.Shape, index)
	verdict := st.Agree.Render("✓ right")
	if a.isWrong(off) {
		verdict = st.Differ.Render("✗ wrong")
	}
	yours, correct := a.c.Given.Data[off], a.c.Expected.Data[off]
	footer = []string{
		fitLine(st.Label.Render("✗ wrong  · right (within "+formatTolerance(a.tol)+")"), v.width),
		fitLine(v.tr.DisplayName(e, id)+indexString(index)+" "+verdict, v.width),
		fitLine("yours   = "+st.Value.Render(formatValue(yours)), v.width),
		fitLine("correct = "+st.Value.Render(formatValue(correct)), v.width),
		fitLine(fmt.Sprintf("error   = %+.4g", yours-correct), v.width),
	}
	height := max(v.height-len(header)-len(footer), 2)
	win = compareWindow(hm, v.width, height)
	return header, hm, win, footer
}

// compareWindow places a window of the slice in width×height cells, two cells
// and one line per element plus a line and a column of cursor ticks,
// centered on the cursor when the slice does not fit.
func compareWindow(hm heatmap, width, height int) heatmapWindow {
	w := heatmapWindow{rowsPerLine: 1, cellWidth: 2}
	w.rowsShown = min(hm.rows, max(height-1, 1))
	w.colsShown = min(hm.cols, max((width-1)/2, 1))
	w.row0 = windowStart(hm.cursorRow, w.rowsShown, hm.rows)
	w.col0 = windowStart(hm.cursorCol, w.colsShown, hm.cols)
	return w
}

// compareMapLines draws the diff map of the selected tensor: ✗ for a wrong
// element and · for a right one, the cursor in reverse video. ok is false
// when the tensor view shows no diff map.
func (v tensorView) compareMapLines() (lines []string, ok bool) {
	a := v.comparedArray()
	if a == nil {
		return nil, false
	}
	header, hm, win, footer := v.compareFrame(a)
	st := v.styles
	lines = append(lines, header...)

	ticks := []rune(strings.Repeat(" ", 1+win.colsShown*win.cellWidth))
	if hm.cursorCol >= win.col0 && hm.cursorCol < win.col0+win.colsShown {
		ticks[1+(hm.cursorCol-win.col0)*win.cellWidth] = '↓'
	}
	lines = append(lines, st.Label.Render(string(ticks)))
	for r := win.row0; r < win.row0+win.rowsShown; r++ {
		var b strings.Builder
		tick := " "
		if r == hm.cursorRow {
			tick = "→"
		}
		b.WriteString(st.Label.Render(tick))
		for c := win.col0; c < win.col0+win.colsShown; c++ {
			glyph, style := "·", st.Dim
			if hm.value(r, c) != 0 {
				glyph, style = "✗", st.Error
			}
			if r == hm.cursorRow && c == hm.cursorCol {
				style = st.Cursor
			}
			b.WriteString(style.Render(glyph) + " ")
		}
		lines = append(lines, b.String())
	}
	if win.rowsShown < hm.rows || win.colsShown < hm.cols {
		lines = append(lines, fitLine(st.Label.Render(fmt.Sprintf("rows %d–%d/%d cols %d–%d/%d",
			win.row0, win.row0+win.rowsShown-1, hm.rows, win.col0, win.col0+win.colsShown-1, hm.cols)), v.width))
	}
	return append(lines, footer...), true
}

// compareClick moves the cursor to the element under content cell (x, y) of
// the diff map.
func (v tensorView) compareClick(a *comparedArray, x, y int) (tensorView, tea.Msg) {
	header, _, win, _ := v.compareFrame(a)
	r, c, hit := win.elementAt(x, y-len(header))
	if !hit {
		return v, nil
	}
	cur := v.cursor()
	cur.row, cur.col = r, c
	return v, v.Chosen()
}

// compareReportLines is the timeline pane's content in diff mode: the events,
// then a verdict per array, then what is known about the array the tensor
// view shows, or about every wrong array when it shows none of them.
func (m Model) compareReportLines() []string {
	d := m.course.data.compare
	st := m.styles
	width := max(m.timeline.width, 1)
	var lines []string
	for e := range m.tr.Events {
		lines = append(lines, m.timeline.row(e))
	}
	lines = append(lines, "", st.Value.Render("your arrays, tolerance "+formatTolerance(d.report.Tolerance)))

	nameWidth := 0
	for _, a := range d.arrays {
		nameWidth = max(nameWidth, len(a.c.Name))
	}
	for _, a := range d.arrays {
		verdict := st.Agree.Render("✓") + fmt.Sprintf(" %-*s matches", nameWidth, a.c.Name)
		switch {
		case a.c.Matches():
		case !a.c.Compared:
			verdict = st.Differ.Render("✗") + fmt.Sprintf(" %-*s wrong shape", nameWidth, a.c.Name)
		case a.c.Wrong == 0:
			verdict = st.Differ.Render("✗") + fmt.Sprintf(" %-*s shape %s", nameWidth, a.c.Name, shapeString(a.c.Given.Shape))
		default:
			verdict = st.Differ.Render("✗") + fmt.Sprintf(" %-*s %d of %d wrong", nameWidth, a.c.Name, a.c.Wrong, len(a.c.Expected.Data))
		}
		lines = append(lines, fitLine(verdict, width))
	}

	selected := d.byTensor[m.tensors.Tensor()]
	for _, a := range d.arrays {
		if a.c.Matches() || selected != nil && a != selected {
			continue
		}
		lines = append(lines, "")
		lines = append(lines, wrapText(compareFindings(a.c), width)...)
	}
	return fitReport(lines, len(m.tr.Events), m.timeline.height, width)
}

// fitReport makes the diff mode's report fit a pane of height lines. It
// first drops the event rows, which the header repeats, and then cuts the
// findings with a line that points to the rest: the report
// printed when the screen closes has every known mistake and its fix.
func fitReport(lines []string, events, height, width int) []string {
	if height <= 0 || len(lines) <= height {
		return lines
	}
	lines = lines[min(events+1, len(lines)):]
	if len(lines) <= height {
		return lines
	}
	more := wrapText("… more when you quit: every mistake and its fix is printed", width)
	if height <= len(more) {
		return lines[:height]
	}
	return append(lines[:height-len(more):height-len(more)], more...)
}

// compareFindings describes in words what is wrong with an array that does
// not match, and which known mistakes give it.
func compareFindings(c *net.Comparison) string {
	var b strings.Builder
	switch {
	case !c.Compared:
		fmt.Fprintf(&b, "Your %s has shape %s; this layer's %s has shape %s.", c.Name, shapeString(c.Given.Shape), c.Name, shapeString(c.Expected.Shape))
	case !c.ShapeOK:
		fmt.Fprintf(&b, "Your %s has shape %s; the course's %s has shape %s, so reshape it.", c.Name, shapeString(c.Given.Shape), c.Name, shapeString(c.Expected.Shape))
	}
	if c.Wrong > 0 {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s: %d of %d elements wrong, max |error| %.4g.", c.Name, c.Wrong, len(c.Expected.Data), c.MaxAbsErr)
	}
	if len(c.Fingerprints) == 0 {
		text := c.NoKnownMistake()
		fmt.Fprintf(&b, "\n%s%s: start from its wrong elements and their terms.", strings.ToUpper(text[:1]), text[1:])
	}
	for _, fp := range c.Fingerprints {
		fmt.Fprintf(&b, "\nKnown mistake: your %s equals what you get when %s.\nFix: %s.", c.Name, fp.Mistake, fp.Fix)
	}
	return b.String()
}

// firstFitting returns the first text that fits width cells, or the last.
func firstFitting(width int, texts ...string) string {
	for _, t := range texts {
		if ansi.StringWidth(t) <= width {
			return t
		}
	}
	return texts[len(texts)-1]
}

// formatTolerance writes a tolerance as 1e-8 rather than Go's 1e-08.
func formatTolerance(tol float64) string {
	return strings.Replace(fmt.Sprintf("%g", tol), "e-0", "e-", 1)
}
