package tui

import (
	"os"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/cnndbg/cnndbg/trace"
)

// Run opens the debugger on tr in the terminal and returns when the user
// quits. A set NO_COLOR environment variable has the effect of
// Options.NoColor. Callers should use Summary instead when stdout is not a
// terminal or TERM is dumb, because the screen needs cursor movement.
//
// Run restores the terminal however the screen ends. It returns a
// *PanicError if the screen panicked and an *InterruptedError if SIGINT,
// SIGTERM or SIGHUP stopped it.
func Run(tr *trace.Trace, opts Options) error {
	if os.Getenv("NO_COLOR") != "" {
		opts.NoColor = true
	}
	var programOpts []tea.ProgramOption
	if opts.NoColor {
		programOpts = append(programOpts, tea.WithColorProfile(colorprofile.Ascii))
	}
	model, err := rootModel(tr, opts)
	if err != nil {
		return err
	}
	if err := runGuarded(model, programOpts...); err != nil {
		return err
	}
	restoreLastLine(os.Stdout, model)
	return nil
}
