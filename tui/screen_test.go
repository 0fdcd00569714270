package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

// goldenSizes are the window sizes every screen case is drawn at: the
// smallest full layout, the smallest three-pane layout, and two larger ones.
var goldenSizes = [][2]int{{80, 24}, {100, 30}, {120, 40}, {160, 50}}

// goldenCase is a key sequence from the first event and what the screen
// must then show at every size.
type goldenCase struct {
	name string
	opts Options
	keys []string
	want []string
}

var goldenCases = []goldenCase{
	{
		name: "first_event",
		opts: Options{Title: "built-in example: 64 MNIST digits"},
		want: []string{"event 0/20 conv1 conv forward", "conv1.Z", "agree ✓"},
	},
	{
		// conv1 backward, the dW tab, drilled into the element's terms with
		// the third term selected.
		name: "conv1_dW_terms",
		opts: Options{Title: "built-in example: 64 MNIST digits"},
		keys: []string{":17", "enter", "tab", "enter", "j", "j"},
		want: []string{"event 17/20 conv1 conv backward", "term 3", "Σ terms  =", "recorded =", "agree ✓"},
	},
	{
		// relu1 backward writes relu1.dZ; the inspector's provenance lists
		// the chain of events from the loss.
		name: "relu1_dZ_provenance",
		opts: Options{Title: "built-in example: 64 MNIST digits"},
		keys: []string{":16", "enter", "w", "pgdown"},
		want: []string{"event 16/20 relu1 relu backward", "relu1.dZ"},
	},
	{
		// pool1 backward, element [0,0,0,0] of dA_prev: its 2×2 window has
		// four tied maxima (zeros after the ReLU).
		name: "pool1_tie",
		opts: Options{Title: "built-in example: 64 MNIST digits"},
		keys: []string{":15", "enter", strings.Repeat("k", 28), strings.Repeat("h", 28), "w", "pgdown"},
		want: []string{"event 15/20 pool1 maxpool backward", "pool1.dA_prev[0,0,0,0]"},
	},
	{
		name: "no_color_conv1_dW",
		opts: Options{NoColor: true, Title: "built-in example: 64 MNIST digits"},
		keys: []string{":17", "enter", "tab"},
		want: []string{"conv1.dW", "agree ✓"},
	},
}

func TestScreenGolden(t *testing.T) {
	tr := example(t)
	for _, c := range goldenCases {
		for _, size := range goldenSizes {
			t.Run(fmt.Sprintf("%s/%dx%d", c.name, size[0], size[1]), func(t *testing.T) {
				d := newDriver(t, tr, c.opts, size[0], size[1])
				d.press(c.keys...)
				d.requireContains(c.want...)
				requireFrame(t, d.m.View().Content, size[0], size[1])
				golden.RequireEqual(t, d.m.View().Content)
			})
		}
	}
}

func TestScreenTooSmall(t *testing.T) {
	d := newDriver(t, example(t), Options{}, 70, 20)
	d.requireContains("cnndbg needs a window of at least 80×24; this one is 70×20")
	requireFrame(t, d.m.View().Content, 70, 20)
	golden.RequireEqual(t, d.m.View().Content)
}

// requireFrame checks that content fills exactly width×height cells, so a
// frame never wraps or leaves stale cells behind.
func requireFrame(t *testing.T, content string, width, height int) {
	t.Helper()
	lines := strings.Split(content, "\n")
	if len(lines) != height {
		t.Fatalf("frame has %d lines, want %d", len(lines), height)
	}
	for i, line := range lines {
		if w := lipglossWidth(line); w != width {
			t.Fatalf("line %d is %d cells wide, want %d: %q", i, w, width, line)
		}
	}
}
