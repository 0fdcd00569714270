package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// The smallest window that gets the full screen, and the size from which the
// three panes sit side by side.
const (
	minWidth   = 80
	minHeight  = 24
	wideWidth  = 100
	wideHeight = 30
)

// pane names a pane of the screen.
type pane int

const (
	timelinePane pane = iota
	tensorPane
	inspectorPane
	paneCount
)

var paneTitles = [paneCount]string{"Timeline", "Tensor", "Inspector"}

// rect is a box of the screen in cells; a zero rect is a hidden pane.
type rect struct{ x, y, w, h int }

func (r rect) contains(x, y int) bool {
	return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h
}

// layout places the panes between the header line and the footer line. At
// wideWidth×wideHeight and above, the three panes sit side by side. Below
// that, the timeline and the tensor view share the left column as tabs, and
// the column shows whichever of them had the focus last.
type layout struct {
	wide  bool
	boxes [paneCount]rect
}

func computeLayout(width, height int, focus pane, leftTab pane) layout {
	return computeLayoutBelow(0, width, height, focus, leftTab)
}

// computeLayoutBelow places the panes as computeLayout does, under banner
// lines that follow the header. The banner takes lines from the panes but
// does not change which layout the window size gets.
func computeLayoutBelow(banner, width, height int, focus pane, leftTab pane) layout {
	top, h := 1+banner, height-2-banner
	if width >= wideWidth && height >= wideHeight {
		tw := clamp(width*30/100, 28, 56)
		mw := clamp(width*33/100, 34, 60)
		return layout{wide: true, boxes: [paneCount]rect{
			timelinePane:  {0, top, tw, h},
			tensorPane:    {tw, top, mw, h},
			inspectorPane: {tw + mw, top, width - tw - mw, h},
		}}
	}
	lw := clamp(width*42/100, 33, 44)
	var l layout
	left := leftTab
	if focus == timelinePane || focus == tensorPane {
		left = focus
	}
	l.boxes[left] = rect{0, top, lw, h}
	l.boxes[inspectorPane] = rect{lw, top, width - lw, h}
	return l
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// fitLine truncates s to width cells, marking a cut with "…", and pads it
// with spaces to exactly width cells.
func fitLine(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > width {
		s = ansi.Truncate(s, width, "…")
	}
	if pad := width - ansi.StringWidth(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// wrapText breaks plain text into lines of at most width cells at spaces,
// cutting words longer than a line.
func wrapText(s string, width int) []string {
	if width <= 0 {
		return nil
	}
	var lines []string
	for _, paragraph := range strings.Split(s, "\n") {
		wrapped := ansi.Wrap(paragraph, width, "")
		lines = append(lines, strings.Split(wrapped, "\n")...)
	}
	return lines
}

// drawBox frames content lines in a w×h box with title in the top border.
// The focused pane gets a heavy border and a reverse-video title, so focus
// shows without color.
func drawBox(st Styles, title string, content []string, w, h int, focused bool) []string {
	if w < 2 || h < 2 {
		return nil
	}
	border, titleStyle := st.Border, st.Title
	tl, tr, bl, br, hz, vt := "╭", "╮", "╰", "╯", "─", "│"
	if focused {
		border, titleStyle = st.Focused, st.TitleOn
		tl, tr, bl, br, hz, vt = "┏", "┓", "┗", "┛", "━", "┃"
	}
	inner := w - 2
	label := ansi.Truncate(" "+title+" ", max(inner-1, 0), "…")
	fill := max(inner-1-ansi.StringWidth(label), 0)
	lines := make([]string, 0, h)
	lines = append(lines, border.Render(tl+hz)+titleStyle.Render(label)+border.Render(strings.Repeat(hz, fill)+tr))
	for i := 0; i < h-2; i++ {
		line := ""
		if i < len(content) {
			line = content[i]
		}
		lines = append(lines, border.Render(vt)+fitLine(line, inner)+border.Render(vt))
	}
	lines = append(lines, border.Render(bl+strings.Repeat(hz, inner)+br))
	return lines
}

// joinColumns places blocks of lines side by side; every block must have
// the same number of lines, each exactly as wide as its block.
func joinColumns(blocks ...[]string) []string {
	if len(blocks) == 0 {
		return nil
	}
	out := make([]string, len(blocks[0]))
	for _, b := range blocks {
		for i := range out {
			if i < len(b) {
				out[i] += b[i]
			}
		}
	}
	return out
}
