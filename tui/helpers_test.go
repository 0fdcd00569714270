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

// cmdLoop runs commands synchronously, in place of the goroutines of a
// tea.Program: it delivers each command's message back to the model, takes
// a tea.BatchMsg apart and notes a tea.QuitMsg. A message that hold
// reports true for is kept in held for the test to release.
type cmdLoop struct {
	t       testing.TB
	deliver func(tea.Msg)
	hold    func(tea.Msg) bool
	held    []tea.Msg
	quit    bool
	steps   int
}

func (l *cmdLoop) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	l.steps++
	if l.steps > 100000 {
		l.t.Fatal("commands keep producing messages")
	}
	msg := cmd()
	switch batch := msg.(type) {
	case nil:
		return
	case tea.QuitMsg:
		l.quit = true
		return
	case tea.BatchMsg:
		for _, c := range batch {
			l.run(c)
		}
		return
	}
	if l.hold != nil && l.hold(msg) {
		l.held = append(l.held, msg)
		return
	}
	l.deliver(msg)
}

// driver feeds messages to a Model the way a tea.Program does, but runs
// every returned command synchronously and feeds its message back. A test
// therefore reads the screen after all background work has finished.
type driver struct {
	cmdLoop
	m Model
}

// driverFor returns a driver of m that has not run m's Init or sized it.
func driverFor(t testing.TB, m Model) *driver {
	d := &driver{m: m}
	d.cmdLoop = cmdLoop{t: t, deliver: d.send}
	return d
}

func newDriver(t testing.TB, tr *trace.Trace, opts Options, width, height int) *driver {
	t.Helper()
	d := driverFor(t, New(tr, opts))
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
