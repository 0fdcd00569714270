package tui

import (
	"fmt"
	"image/color"
	"math"

	"charm.land/lipgloss/v2"
)

// Styles are every text style of the screen, built once from a palette. In
// monochrome mode they carry no color at all: bold, reverse video and glyphs
// mark state, and the heatmaps switch to shading characters.
type Styles struct {
	NoColor bool

	Header    lipgloss.Style
	Footer    lipgloss.Style
	Status    lipgloss.Style
	Error     lipgloss.Style
	Prompt    lipgloss.Style
	Border    lipgloss.Style
	Focused   lipgloss.Style // border of the focused pane
	Title     lipgloss.Style
	TitleOn   lipgloss.Style // title of the focused pane
	Dim       lipgloss.Style
	Label     lipgloss.Style
	Value     lipgloss.Style
	Selected  lipgloss.Style // the current event, tensor tab or term
	Agree     lipgloss.Style
	Differ    lipgloss.Style
	Cursor    lipgloss.Style // the element cursor in a heatmap
	Special   lipgloss.Style // NaN and ±Inf glyphs in a heatmap
	Phase     [4]lipgloss.Style
	HelpGroup lipgloss.Style
	HelpKey   lipgloss.Style
	HelpDesc  lipgloss.Style

	diverging  []color.Color
	sequential []color.Color
}

// shadeLevels is the number of magnitude levels a heatmap distinguishes on
// each side of zero; the monochrome shades " ░▒▓█" have this many steps too.
const shadeLevels = 5

// monoShades are the monochrome glyphs for magnitude levels 0 (exact zero)
// to shadeLevels−1.
var monoShades = []string{" ", "░", "▒", "▓", "█"}

// NewStyles returns the styles for a color or a monochrome screen.
func NewStyles(noColor bool) Styles {
	s := Styles{NoColor: noColor}
	plain := lipgloss.NewStyle()

	s.Header = plain.Bold(true)
	s.Footer = plain
	s.Status = plain.Bold(true)
	s.Error = plain.Bold(true)
	s.Prompt = plain.Bold(true)
	s.Border = plain
	s.Focused = plain.Bold(true)
	s.Title = plain
	s.TitleOn = plain.Bold(true).Reverse(true)
	s.Dim = plain
	s.Label = plain
	s.Value = plain.Bold(true)
	s.Selected = plain.Bold(true).Reverse(true)
	s.Agree = plain.Bold(true)
	s.Differ = plain.Bold(true).Reverse(true)
	s.Cursor = plain.Bold(true).Reverse(true)
	s.Special = plain.Bold(true)
	for i := range s.Phase {
		s.Phase[i] = plain
	}
	s.HelpGroup = plain.Bold(true).Underline(true)
	s.HelpKey = plain.Bold(true)
	s.HelpDesc = plain
	if noColor {
		return s
	}

	accent := lipgloss.Color("#5fafff")
	muted := lipgloss.Color("#8a8a8a")
	s.Header = s.Header.Foreground(accent)
	s.Status = s.Status.Foreground(lipgloss.Color("#d7af5f"))
	s.Error = s.Error.Foreground(lipgloss.Color("#ff5f5f"))
	s.Prompt = s.Prompt.Foreground(accent)
	s.Border = s.Border.Foreground(muted)
	s.Focused = s.Focused.Foreground(accent)
	s.TitleOn = plain.Bold(true).Foreground(lipgloss.Color("#000000")).Background(accent)
	s.Dim = s.Dim.Foreground(muted)
	s.Label = s.Label.Foreground(muted)
	s.Selected = plain.Bold(true).Foreground(lipgloss.Color("#000000")).Background(lipgloss.Color("#afd7ff"))
	s.Agree = s.Agree.Foreground(lipgloss.Color("#5fd75f"))
	s.Differ = plain.Bold(true).Foreground(lipgloss.Color("#ff5f5f"))
	s.Cursor = plain.Bold(true).Foreground(lipgloss.Color("#ffffff")).Background(lipgloss.Color("#000000"))
	s.Special = plain.Bold(true).Foreground(lipgloss.Color("#ffffff")).Background(lipgloss.Color("#af00af"))
	s.Phase = [4]lipgloss.Style{
		plain.Foreground(lipgloss.Color("#87d787")), // forward
		plain.Foreground(lipgloss.Color("#d7af5f")), // loss
		plain.Foreground(lipgloss.Color("#ff875f")), // backward
		plain.Foreground(lipgloss.Color("#af87ff")), // update
	}
	s.HelpGroup = s.HelpGroup.Foreground(accent)
	s.HelpKey = s.HelpKey.Foreground(lipgloss.Color("#d7af5f"))
	s.HelpDesc = s.HelpDesc.Foreground(muted)

	// Diverging: blue for negative, grey at zero, red for positive.
	// Sequential: dark to bright yellow.
	s.diverging = lipgloss.Blend1D(2*shadeLevels-1,
		lipgloss.Color("#2c7bb6"), lipgloss.Color("#303030"), lipgloss.Color("#d7191c"))
	s.sequential = lipgloss.Blend1D(shadeLevels,
		lipgloss.Color("#1c1c1c"), lipgloss.Color("#3b528b"), lipgloss.Color("#21918c"), lipgloss.Color("#fde725"))
	return s
}

// PhaseStyle returns the style of a phase name; an unknown phase is plain.
func (s Styles) PhaseStyle(phase int) lipgloss.Style {
	if phase < 0 || phase >= len(s.Phase) {
		return lipgloss.NewStyle()
	}
	return s.Phase[phase]
}

// scale maps values to shade levels: symmetric around zero for a diverging
// map, from lo to hi for a sequential one.
type scale struct {
	diverging bool
	lo, hi    float64
}

// level returns the shade level of v, 0 to shadeLevels−1, and its sign:
// −1, 0 or +1 (0 only for an exact zero in a diverging map).
func (sc scale) level(v float64) (int, int) {
	if sc.diverging {
		sign := 0
		switch {
		case v > 0:
			sign = 1
		case v < 0:
			sign = -1
		}
		if sc.hi <= 0 || sign == 0 {
			return 0, sign
		}
		if math.IsInf(v, 0) {
			// An infinity draws as a glyph over the darkest shade of its sign.
			return shadeLevels - 1, sign
		}
		// Any non-zero value gets at least level 1, so its sign shows.
		l := 1 + int(math.Floor(math.Abs(v)/sc.hi*float64(shadeLevels-1)))
		return min(l, shadeLevels-1), sign
	}
	if sc.hi <= sc.lo {
		return 0, 1
	}
	t := (v - sc.lo) / (sc.hi - sc.lo)
	l := int(math.Floor(t * float64(shadeLevels)))
	return max(0, min(l, shadeLevels-1)), 1
}

// color returns the palette color of a shade level and sign.
func (s Styles) color(sc scale, level, sign int) color.Color {
	if sc.diverging {
		return s.diverging[shadeLevels-1+sign*level]
	}
	return s.sequential[level]
}

// formatValue prints a value with full float64 precision.
func formatValue(v float64) string {
	return fmt.Sprintf("%.17g", v)
}

// formatShort prints a value in a fixed 10-cell column, for lists and
// legends where full precision does not fit.
func formatShort(v float64) string {
	switch {
	case math.IsNaN(v):
		return fmt.Sprintf("%10s", "NaN")
	case math.IsInf(v, 1):
		return fmt.Sprintf("%10s", "+Inf")
	case math.IsInf(v, -1):
		return fmt.Sprintf("%10s", "-Inf")
	}
	return fmt.Sprintf("%+10.3e", v)
}
