package tui

import (
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/cnndbg/cnndbg/trace"
)

func TestFileTraceLoadsInBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "step.cnndbg")
	if err := trace.Write(path, example(t), false); err != nil {
		t.Fatal(err)
	}
	tr, err := trace.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	first := tr.Events[0].Outputs[0].Tensor
	if tr.Ready(first) {
		t.Fatal("a freshly opened trace reports conv1.Z as loaded")
	}

	m := New(tr, Options{AltScreen: true})
	load := m.Init()
	next, _ := m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m = next.(Model)
	if screen := m.View().Content; !strings.Contains(screen, "loading 2.3 MiB…") {
		t.Errorf("before the load finishes the screen does not say it is loading:\n%s", screen)
	}
	if tr.Ready(first) {
		t.Fatal("drawing the screen read conv1.Z instead of leaving it to the background command")
	}

	d := &driver{t: t, m: m}
	d.run(load)
	if !tr.Ready(first) {
		t.Fatal("the background command did not load conv1.Z")
	}
	screen := d.m.View().Content
	if strings.Contains(screen, "loading") {
		t.Errorf("the screen still says loading after the load:\n%s", screen)
	}
	if !strings.Contains(screen, "conv1.Z[") {
		t.Errorf("the inspector shows no conv1.Z element after the load:\n%s", screen)
	}
}
