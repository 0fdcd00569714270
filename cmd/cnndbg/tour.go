package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/cnndbg/cnndbg/trace"
	"github.com/cnndbg/cnndbg/tui"
)

// keyFlags replay a script of keys on the screen, for recordings.
type keyFlags struct {
	script        string
	delay         time.Duration
	exitAfterKeys bool
}

func (f *keyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.script, "keys", "", "replay keys from `SCRIPT`: a file, or the keys themselves such as \"n n enter\" "+
		"(bubbletea key names: n, G, enter, esc, tab, shift+tab, space, up, ctrl+c; sleep 500ms pauses); "+
		"the screen stays interactive after the last key unless --exit-after-keys")
	cmd.Flags().DurationVar(&f.delay, "key-delay", 100*time.Millisecond, "time between replayed keys; a key also waits until the screen's explanation is ready")
	cmd.Flags().BoolVar(&f.exitAfterKeys, "exit-after-keys", false, "quit one --key-delay after the last replayed key")
}

// apply parses the key script into opts.
func (f *keyFlags) apply(opts *tui.Options) error {
	if f.delay < 0 {
		return badInputf("--key-delay %v: the delay must be 0 or more, such as 100ms", f.delay)
	}
	if f.script == "" {
		if f.exitAfterKeys {
			return badInputf("--exit-after-keys needs --keys: give the keys to replay first")
		}
		return nil
	}
	script, err := tui.LoadKeyScript(f.script)
	if err != nil {
		return badInputf("--keys: %v", err)
	}
	opts.Keys, opts.KeyDelay, opts.ExitAfterKeys = &script, f.delay, f.exitAfterKeys
	return nil
}

// maxPace bounds --pace, so a typo such as 300 instead of 3 is caught.
const maxPace = 600.0

func newTourCommand(stdout, stderr io.Writer) *cobra.Command {
	var screen screenFlags
	var pace float64
	cmd := &cobra.Command{
		Use:   "tour",
		Short: "Walk through one training step of the built-in example, narrated",
		Long: `tour opens the debugger on the built-in example and steps through it by
itself: the forward pass, the loss, where the top dZ comes from, how ReLU
masks it, how max pool routes it, one conv1 dW element built term by term,
dA_prev and the update. The footer says in plain words what each step shows.

Any key pauses the tour; while paused the keys work as in the debugger,
space resumes and q quits. The tour quits by itself after the last step.
Without a terminal it prints the narration instead.`,
		Example: `  cnndbg tour
  cnndbg tour --pace 1 --no-alt-screen     # for a recording
  asciinema rec -c "cnndbg tour --pace 1" tour.cast`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if pace < 0 || pace > maxPace || math.IsNaN(pace) {
				return badInputf("--pace %v: give the seconds per step, from 0 to %g, such as 3", pace, maxPace)
			}
			opts := tui.Options{
				NoColor:   screen.noColor,
				AltScreen: !screen.noAltScreen,
				Title:     "tour",
				Tour:      &tui.TourOptions{Pace: time.Duration(pace * float64(time.Second))},
			}
			if err := screen.keys.apply(&opts); err != nil {
				return err
			}
			tr, err := recordExample()
			if err != nil {
				return err
			}
			if !interactive(stdout) {
				return printTour(stdout, tr)
			}
			return tui.Run(tr, opts)
		},
	}
	screen.register(cmd)
	cmd.Flags().Float64Var(&pace, "pace", 3, "`SECONDS` each step stays on screen once its numbers are ready; 0 advances as soon as a step is drawn")
	return cmd
}

// printTour writes the tour's narration, for stdout that is not a terminal.
func printTour(w io.Writer, tr *trace.Trace) error {
	lines, err := tui.TourNarration(tr)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "cnndbg tour (no terminal: printing the narration instead of the screen)")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return nil
}
