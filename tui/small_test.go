package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

func TestTooSmallIgnoresKeysButQuit(t *testing.T) {
	d := newDriver(t, example(t), Options{AltScreen: true}, 70, 20)
	d.send(tea.KeyPressMsg{Code: 'n', Text: "n"})
	d.send(tea.KeyPressMsg{Code: 'G', Text: "G"})
	d.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	if screen := d.m.View().Content; !strings.Contains(screen, "event 0/20") {
		t.Errorf("keys pressed while the window was too small moved the screen:\n%s", screen)
	}

	d.send(tea.WindowSizeMsg{Width: 70, Height: 20})
	d.send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	if !d.quit {
		t.Error("q did not quit while the window was too small")
	}
}

func TestSearchSelectsMatchingTensor(t *testing.T) {
	d := newDriver(t, example(t), Options{AltScreen: true}, 100, 30)
	d.send(tea.KeyPressMsg{Code: '/', Text: "/"})
	for _, r := range "conv1.dW" {
		d.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	d.send(tea.KeyPressMsg{Code: tea.KeyEnter})
	screen := d.m.View().Content
	if !strings.Contains(screen, "event 17/20 conv1 conv backward") {
		t.Fatalf("the search did not reach conv1's backward event:\n%s", screen)
	}
	if !strings.Contains(screen, "[dW]") {
		t.Errorf("the search for conv1.dW did not select the dW tensor:\n%s", screen)
	}
}
