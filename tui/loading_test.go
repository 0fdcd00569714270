package tui

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

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

	d := driverFor(t, m)
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

func TestCorruptedTensorShowsError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "step.cnndbg")
	if err := trace.Write(path, example(t), false); err != nil {
		t.Fatal(err)
	}
	corruptMember(t, path, "conv1.Z.npy")
	tr, err := trace.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	d := newDriver(t, tr, Options{AltScreen: true}, 100, 30)
	screen := d.m.View().Content
	if strings.Contains(screen, "loading") {
		t.Errorf("the screen still says loading after the read failed:\n%s", screen)
	}
	if !strings.Contains(ansi.Strip(screen), "corrupted") {
		t.Errorf("the screen does not show the read error:\n%s", screen)
	}
}

// corruptMember flips bytes in the middle of a zip member's data, which the
// trace reader's checksum catches when the tensor is read.
func corruptMember(t *testing.T, path, member string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, []byte(member))
	if at < 0 {
		t.Fatalf("no member %s in %s", member, path)
	}
	// The local header's name is followed by the .npy header and the data.
	for k := at + 2000; k < at+7000; k++ {
		data[k] ^= 0xff
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptedTensorClearsInspector(t *testing.T) {
	path := filepath.Join(t.TempDir(), "step.cnndbg")
	if err := trace.Write(path, example(t), false); err != nil {
		t.Fatal(err)
	}
	corruptMember(t, path, "relu1.A.npy")
	tr, err := trace.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	d := newDriver(t, tr, Options{AltScreen: true}, 100, 30)
	d.send(tea.KeyPressMsg{Code: 'n', Text: "n"})
	screen := ansi.Strip(d.m.View().Content)
	if !strings.Contains(screen, "corrupted") {
		t.Fatalf("relu1.A's read error is not shown:\n%s", screen)
	}
	if strings.Contains(screen, "conv1.Z[") {
		t.Errorf("the inspector still shows an element of the previous event:\n%s", screen)
	}
	d.send(tea.KeyPressMsg{Code: tea.KeyEnter})
	if strings.Contains(ansi.Strip(d.m.View().Content), "terms of") {
		t.Errorf("enter drilled into an element of another tensor:\n%s", d.m.View().Content)
	}
}
