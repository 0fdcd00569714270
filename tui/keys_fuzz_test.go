package tui

import (
	"sort"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// fuzzKeys lists the keys FuzzScreenInput presses, in a fixed order so a
// corpus file means the same keys on every run. q and ctrl+c are left out
// because they end the program.
func fuzzKeys() []tea.KeyPressMsg {
	names := make([]string, 0, len(namedKeys))
	for name := range namedKeys {
		names = append(names, name)
	}
	sort.Strings(names)
	var keys []tea.KeyPressMsg
	for _, name := range names {
		keys = append(keys, namedKeys[name])
	}
	for _, r := range "npgGjkhl[]{}wWu?/:!0123456789-,. abcxyzNPU" {
		keys = append(keys, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return keys
}

// FuzzScreenInput decodes its input into key presses, mouse events and
// window sizes, feeds them to the screen on a small trace, and checks that
// nothing panics and that every frame fills the window exactly. Each input
// byte is one message: 0 resizes to the sizes in the next two bytes, 1
// clicks and 2 scrolls at the position in the next two bytes, and any other
// byte presses a key.
func FuzzScreenInput(f *testing.F) {
	f.Add([]byte("nnnn\t\x05\x05\x05"), false)
	f.Add([]byte{0, 80, 24, 'G', '\t', 3, 3, 'u', 'u', 'u', 0, 0, 0, 0, 200, 70, 'g'}, true)
	f.Add([]byte{':', '1', '7', 3, '\t', 3, 'j', 'j', 'l', 'u', 0, 79, 23, '?', 1, 10, 10, 2, 50, 12}, false)
	f.Add([]byte{'/', 'd', 'W', 3, 'n', 'p', 0, 100, 30, 0, 1, 1}, true)
	keys := fuzzKeys()
	tr := small(f)
	f.Fuzz(func(t *testing.T, input []byte, noColor bool) {
		if len(input) > 300 {
			input = input[:300]
		}
		d := newDriver(t, tr, Options{NoColor: noColor}, 100, 30)
		width, height := 100, 30
		for k := 0; k < len(input); k++ {
			op := input[k]
			next := func() int {
				if k+1 >= len(input) {
					return 0
				}
				k++
				return int(input[k])
			}
			switch op {
			case 0:
				width, height = next()%240, next()%90
				d.send(tea.WindowSizeMsg{Width: width, Height: height})
			case 1:
				d.send(tea.MouseClickMsg{X: next() % (width + 2), Y: next() % (height + 2), Button: tea.MouseLeft})
			case 2:
				button := tea.MouseWheelUp
				if next()%2 == 0 {
					button = tea.MouseWheelDown
				}
				d.send(tea.MouseWheelMsg{X: next() % (width + 2), Y: next() % (height + 2), Button: button})
			default:
				d.send(keys[int(op)%len(keys)])
			}
			if d.quit {
				return
			}
			if width > 0 && height > 0 {
				requireFrame(t, d.m.View().Content, width, height)
			}
		}
	})
}
