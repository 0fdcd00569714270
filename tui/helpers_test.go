package tui

import (
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

var (
	exampleOnce  sync.Once
	exampleTrace *trace.Trace
)

// example returns the recorded step of the built-in example, recorded once
// per test binary. Tests must not modify it.
func example(t testing.TB) *trace.Trace {
	t.Helper()
	exampleOnce.Do(func() {
		n := net.ExampleNetwork()
		x, labels, err := net.ExampleBatch(net.ExampleBatchSize)
		if err != nil {
			panic(err)
		}
		rec := trace.NewRecorder(n.Spec.JSON())
		n.Step(x, labels, net.ExampleLR, rec)
		exampleTrace = rec.Trace()
	})
	return exampleTrace
}

// driver feeds messages to a Model the way a tea.Program does, but runs
// every returned command synchronously and feeds its message back. A test
// therefore reads the screen after all background work has finished.
type driver struct {
	t     testing.TB
	m     Model
	quit  bool
	steps int
}

func newDriver(t testing.TB, tr *trace.Trace, opts Options, width, height int) *driver {
	t.Helper()
	d := &driver{t: t, m: New(tr, opts)}
	d.run(d.m.Init())
	d.send(tea.WindowSizeMsg{Width: width, Height: height})
	return d
}

func (d *driver) send(msg tea.Msg) {
	d.t.Helper()
	model, cmd := d.m.Update(msg)
	d.m = model.(Model)
	d.run(cmd)
}

func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	d.steps++
	if d.steps > 10000 {
		d.t.Fatal("commands keep producing messages")
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.QuitMsg:
		d.quit = true
	case tea.BatchMsg:
		for _, c := range msg {
			d.run(c)
		}
	default:
		d.send(msg)
	}
}

// press sends keys: names such as "enter", "esc", "tab", "shift+tab",
// "up", "ctrl+c", or any other string typed one character at a time.
func (d *driver) press(keys ...string) {
	d.t.Helper()
	for _, k := range keys {
		if msg, ok := namedKeys[k]; ok {
			d.send(msg)
			continue
		}
		for _, r := range k {
			d.send(tea.KeyPressMsg{Code: r, Text: string(r)})
		}
	}
}

var namedKeys = map[string]tea.KeyPressMsg{
	"enter":     {Code: tea.KeyEnter},
	"esc":       {Code: tea.KeyEscape},
	"tab":       {Code: tea.KeyTab},
	"shift+tab": {Code: tea.KeyTab, Mod: tea.ModShift},
	"up":        {Code: tea.KeyUp},
	"down":      {Code: tea.KeyDown},
	"left":      {Code: tea.KeyLeft},
	"right":     {Code: tea.KeyRight},
	"pgdown":    {Code: tea.KeyPgDown},
	"pgup":      {Code: tea.KeyPgUp},
	"backspace": {Code: tea.KeyBackspace},
	"home":      {Code: tea.KeyHome},
	"end":       {Code: tea.KeyEnd},
	"ctrl+c":    {Code: 'c', Mod: tea.ModCtrl},
	"ctrl+w":    {Code: 'w', Mod: tea.ModCtrl},
}

// screen returns the current frame without escape sequences.
func (d *driver) screen() string {
	return ansi.Strip(d.m.View().Content)
}

func (d *driver) requireContains(parts ...string) {
	d.t.Helper()
	s := d.screen()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			d.t.Errorf("screen lacks %q:\n%s", p, s)
		}
	}
}

func lipglossWidth(s string) int { return ansi.StringWidth(s) }
