package tui

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"charm.land/lipgloss/v2"
)

// heatmap draws a window of a 2-D slice. In color it uses half-block
// characters (▀, foreground the upper row, background the lower) so a 28×28
// map fits in 28×14 cells, or two-cell blocks when the slice fits one row per
// line. In monochrome every element gets its own cell or two: a shading
// glyph from " ░▒▓█" and, on a diverging map, a sign mark.
type heatmap struct {
	rows, cols int
	value      func(r, c int) float64
	sc         scale
	// cursorRow and cursorCol mark one element, or are -1.
	cursorRow, cursorCol int
}

// heatmapWindow is the part of the slice a drawn heatmap shows, and how:
// the first row and column, the number of each, the rows per line (1 or 2)
// and the cells per element (1 or 2).
type heatmapWindow struct {
	row0, col0           int
	rowsShown, colsShown int
	rowsPerLine          int
	cellWidth            int
}

// elementAt returns the slice element under cell (x, y) of the drawn map,
// counted from its top-left corner including the tick line and column.
func (w heatmapWindow) elementAt(x, y int) (int, int, bool) {
	x, y = x-1, y-1
	if x < 0 || y < 0 || w.cellWidth == 0 {
		return 0, 0, false
	}
	r := w.row0 + y*w.rowsPerLine
	c := w.col0 + x/w.cellWidth
	if r >= w.row0+w.rowsShown || c >= w.col0+w.colsShown {
		return 0, 0, false
	}
	return r, c, true
}

// window chooses what part of the slice fits width×height cells, including
// one line and one column of cursor ticks, centered on the cursor when the
// slice does not fit.
func (h heatmap) window(st Styles, width, height int) heatmapWindow {
	w := heatmapWindow{rowsPerLine: 1, cellWidth: 1}
	avail, lines := max(width-1, 1), max(height-1, 1)
	switch {
	case st.NoColor && h.sc.diverging:
		w.cellWidth = 2
	case st.NoColor:
		w.cellWidth = 1
	case h.rows <= lines && 2*h.cols <= avail:
		w.cellWidth = 2
	default:
		w.rowsPerLine = 2
	}
	w.rowsShown = min(h.rows, lines*w.rowsPerLine)
	w.colsShown = min(h.cols, max(avail/w.cellWidth, 1))
	w.row0 = windowStart(h.cursorRow, w.rowsShown, h.rows)
	w.col0 = windowStart(h.cursorCol, w.colsShown, h.cols)
	if w.rowsPerLine == 2 && w.row0%2 == 1 && w.row0+w.rowsShown < h.rows {
		// Keep line pairs on even rows when the window can move, so that
		// moving the cursor does not reshuffle every line.
		w.row0--
	}
	return w
}

// windowStart returns the first index of a window of n out of total items
// that keeps cursor near its middle.
func windowStart(cursor, n, total int) int {
	if n >= total {
		return 0
	}
	return clamp(cursor-n/2, 0, total-n)
}

// render returns the map's lines: a tick line with ↓ over the cursor's
// column, then one line per row (or row pair) with → before the cursor's.
func (h heatmap) render(st Styles, w heatmapWindow) []string {
	var lines []string
	ticks := strings.Repeat(" ", 1+w.colsShown*w.cellWidth)
	if h.cursorCol >= w.col0 && h.cursorCol < w.col0+w.colsShown {
		at := 1 + (h.cursorCol-w.col0)*w.cellWidth
		ticks = ticks[:at] + "↓" + ticks[at+1:]
	}
	lines = append(lines, st.Label.Render(ticks))
	for r := w.row0; r < w.row0+w.rowsShown; r += w.rowsPerLine {
		tick := " "
		if h.cursorRow >= r && h.cursorRow < r+w.rowsPerLine {
			tick = "→"
		}
		var b strings.Builder
		b.WriteString(st.Label.Render(tick))
		for c := w.col0; c < w.col0+w.colsShown; c++ {
			if w.rowsPerLine == 2 {
				b.WriteString(h.halfBlockCell(st, r, c))
			} else {
				b.WriteString(h.cell(st, r, c, w.cellWidth))
			}
		}
		lines = append(lines, b.String())
	}
	return lines
}

// cell draws one element in cellWidth cells.
func (h heatmap) cell(st Styles, r, c, cellWidth int) string {
	v := h.value(r, c)
	level, sign := h.sc.level(v)
	signMark := " "
	if st.NoColor && h.sc.diverging {
		signMark = signGlyph(sign)
	}
	isCursor := r == h.cursorRow && c == h.cursorCol
	if g := specialGlyph(v); g != "" {
		text := g
		if cellWidth == 2 {
			text = " " + g
		}
		if isCursor {
			return st.Cursor.Render(text)
		}
		return st.Special.Render(text)
	}
	if st.NoColor {
		shade := monoShades[level]
		if h.sc.diverging && sign == 0 {
			shade = "·"
		}
		if isCursor {
			shade = "◆"
		}
		text := shade
		if cellWidth == 2 {
			text = signMark + shade
		}
		if isCursor {
			return st.Cursor.Render(text)
		}
		return text
	}
	bg := st.color(h.sc, level, sign)
	if isCursor {
		text := "◆"
		if cellWidth == 2 {
			text = " ◆"
		}
		return lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#ffffff")).Background(bg).Render(text)
	}
	return lipgloss.NewStyle().Background(bg).Render(strings.Repeat(" ", cellWidth))
}

// halfBlockCell draws rows r and r+1 of column c in one cell. A cell that
// holds the cursor or a non-finite value shows that glyph instead, over the
// other element's color.
func (h heatmap) halfBlockCell(st Styles, r, c int) string {
	top := h.value(r, c)
	hasBottom := r+1 < h.rows
	bottom := 0.0
	if hasBottom {
		bottom = h.value(r+1, c)
	}
	topColor := h.colorOf(st, top)
	style := lipgloss.NewStyle()
	if c == h.cursorCol && (r == h.cursorRow || (hasBottom && r+1 == h.cursorRow)) {
		cur := top
		if r+1 == h.cursorRow {
			cur = bottom
		}
		if g := specialGlyph(cur); g != "" {
			return st.Cursor.Render(g)
		}
		return style.Bold(true).Foreground(lipgloss.Color("#ffffff")).Background(h.colorOf(st, cur)).Render("◆")
	}
	if g := specialGlyph(top); g != "" {
		return st.Special.Render(g)
	}
	if !hasBottom {
		return style.Foreground(topColor).Render("▀")
	}
	if g := specialGlyph(bottom); g != "" {
		return st.Special.Render(g)
	}
	return style.Foreground(topColor).Background(h.colorOf(st, bottom)).Render("▀")
}

// colorOf returns the palette color of value v.
func (h heatmap) colorOf(st Styles, v float64) color.Color {
	level, sign := h.sc.level(v)
	return st.color(h.sc, level, sign)
}

func signGlyph(sign int) string {
	switch {
	case sign > 0:
		return "+"
	case sign < 0:
		return "−"
	}
	return " "
}

// specialGlyph returns the glyph of a non-finite value, or "".
func specialGlyph(v float64) string {
	switch {
	case math.IsNaN(v):
		return "N"
	case math.IsInf(v, 1):
		return "▲"
	case math.IsInf(v, -1):
		return "▼"
	}
	return ""
}

// legend returns the scale's legend: the shades from the low end to the
// high end, with the values at both ends.
func legend(st Styles, sc scale) string {
	lo, hi := sc.lo, sc.hi
	if sc.diverging {
		lo, hi = -sc.hi, sc.hi
	}
	var b strings.Builder
	if st.NoColor {
		if sc.diverging {
			fmt.Fprintf(&b, "%s −%s · %s+ %s", formatLegend(lo), "█▓▒░", "░▒▓█", formatLegend(hi))
		} else {
			fmt.Fprintf(&b, "%s %s %s", formatLegend(lo), strings.Join(monoShades, ""), formatLegend(hi))
		}
		return b.String()
	}
	b.WriteString(formatLegend(lo) + " ")
	if sc.diverging {
		for k := -(shadeLevels - 1); k < shadeLevels; k++ {
			level, sign := k, 1
			if k < 0 {
				level, sign = -k, -1
			}
			b.WriteString(lipgloss.NewStyle().Foreground(st.color(sc, level, sign)).Render("█"))
		}
	} else {
		for level := 0; level < shadeLevels; level++ {
			b.WriteString(lipgloss.NewStyle().Foreground(st.color(sc, level, 1)).Render("█"))
		}
	}
	b.WriteString(" " + formatLegend(hi))
	return b.String()
}

func formatLegend(v float64) string {
	return fmt.Sprintf("%.3g", v)
}

// specialLegend names the glyphs of non-finite values.
const specialLegend = "N NaN  ▲ +Inf  ▼ −Inf"
