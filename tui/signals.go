package tui

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	tea "charm.land/bubbletea/v2"
)

// This file keeps the terminal usable whatever ends the screen. bubbletea
// v2.1.1 restores the terminal when Update returns tea.Quit and when it
// catches a panic. But it prints the panic's stack trace on the screen, and
// it turns SIGTERM into a normal quit, so the exit status reports success.
// SIGHUP is left to Go's default, which exits without restoring the
// terminal. guard and watchSignals fill those gaps.

// InterruptedError reports that a signal (SIGINT, SIGTERM or SIGHUP) ended
// the screen. The terminal has been restored.
type InterruptedError struct{ Signal syscall.Signal }

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("stopped by %s", signalName(e.Signal))
}

// ExitCode returns 128 plus the signal number, the status a shell reports
// for a process that a signal ended: 130 for SIGINT, 143 for SIGTERM and
// 129 for SIGHUP.
func (e *InterruptedError) ExitCode() int { return 128 + int(e.Signal) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// PanicError reports a panic inside the screen: in Update, View, Init or a
// command. The terminal has been restored before Run returns it.
type PanicError struct {
	Value any
	// Stack is the stack of the goroutine that panicked.
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("the screen panicked: %v", e.Value) }

// testPanicEnv names the environment variable that makes the screen panic
// when the user presses "!", so the crash handling can be tested on the
// built binary: "1" panics in Update, "cmd" in a background command.
const testPanicEnv = "CNNDBG_TEST_PANIC"

// panicMsg carries a panic from a command's goroutine to guard.Update.
type panicMsg struct{ err *PanicError }

// guard wraps the root model. It recovers a panic in Init, Update, View or
// a command and quits, so bubbletea restores the terminal, and it keeps the
// panic for Run to return.
type guard struct {
	inner tea.Model
	// crash is shared by every copy of the guard: bubbletea returns the
	// final model, but Run also needs the panic when View panicked last.
	crash *(*PanicError)
	last  tea.View
	// testPanic is the value of CNNDBG_TEST_PANIC.
	testPanic string
}

func newGuard(inner tea.Model) guard {
	return guard{inner: inner, crash: new(*PanicError), testPanic: os.Getenv(testPanicEnv)}
}

// recovered turns a recovered value into a PanicError with the stack.
func recovered(r any) *PanicError {
	return &PanicError{Value: r, Stack: debug.Stack()}
}

func (g guard) Init() (cmd tea.Cmd) {
	defer func() {
		if r := recover(); r != nil {
			*g.crash = recovered(r)
			cmd = tea.Quit
		}
	}()
	return guardCmd(g.inner.Init())
}

func (g guard) Update(msg tea.Msg) (model tea.Model, cmd tea.Cmd) {
	if *g.crash != nil {
		return g, tea.Quit
	}
	if m, ok := msg.(panicMsg); ok {
		*g.crash = m.err
		return g, tea.Quit
	}
	defer func() {
		if r := recover(); r != nil {
			*g.crash = recovered(r)
			model, cmd = g, tea.Quit
		}
	}()
	if key, ok := msg.(tea.KeyPressMsg); ok && key.String() == "!" {
		switch g.testPanic {
		case "1":
			panic("test panic in Update (" + testPanicEnv + "=1)")
		case "cmd":
			return g, guardCmd(func() tea.Msg { panic("test panic in a command (" + testPanicEnv + "=cmd)") })
		}
	}
	inner, cmd := g.inner.Update(msg)
	g.inner = inner
	return g, guardCmd(cmd)
}

func (g guard) View() (view tea.View) {
	if *g.crash != nil {
		return g.last
	}
	defer func() {
		if r := recover(); r != nil {
			*g.crash = recovered(r)
			view = g.last
		}
	}()
	return g.inner.View()
}

// guardCmd wraps cmd so that a panic in it becomes a panicMsg, and wraps the
// commands of a tea.Batch it returns the same way.
// NOTE: the commands of a tea.Sequence run unwrapped, because its message
// type is unexported. bubbletea's own recovery still restores the terminal
// for them, but it prints the stack.
func guardCmd(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				msg = panicMsg{err: recovered(r)}
			}
		}()
		msg = cmd()
		if batch, ok := msg.(tea.BatchMsg); ok {
			wrapped := make(tea.BatchMsg, len(batch))
			for k, c := range batch {
				wrapped[k] = guardCmd(c)
			}
			return wrapped
		}
		return msg
	}
}

// watchSignals ends p on SIGINT, SIGTERM or SIGHUP: p.Kill restores the
// terminal and makes p.Run return. It stops listening after the first
// signal, so a second one ends the process at once even if the screen is
// stuck. The returned stop function ends the watch and returns the signal
// received, or 0.
func watchSignals(p *tea.Program) (stop func() syscall.Signal) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	received := make(chan syscall.Signal, 1)
	go func() {
		select {
		case s := <-signals:
			signal.Stop(signals)
			received <- s.(syscall.Signal)
			p.Kill()
		case <-done:
		}
	}()
	return func() syscall.Signal {
		signal.Stop(signals)
		close(done)
		select {
		case s := <-received:
			return s
		default:
			return 0
		}
	}
}

// runGuarded runs model in a program built with opts, with the guard and the
// signal watch, and returns a *PanicError or *InterruptedError if either
// ended it.
func runGuarded(model tea.Model, opts ...tea.ProgramOption) error {
	g := newGuard(model)
	opts = append(opts, tea.WithoutSignalHandler())
	p := tea.NewProgram(g, opts...)
	stop := watchSignals(p)
	_, err := p.Run()
	if s := stop(); s != 0 {
		return &InterruptedError{Signal: s}
	}
	if *g.crash != nil {
		return *g.crash
	}
	return err
}
