package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
	"github.com/cnndbg/cnndbg/tui"
)

// screenFlags are the flags of every command that opens the debugger.
type screenFlags struct {
	noAltScreen bool
	noColor     bool
	keys        keyFlags
}

func (f *screenFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.noAltScreen, "no-alt-screen", false, "draw in the main screen so the last frame stays in the scrollback (for recordings)")
	cmd.Flags().BoolVar(&f.noColor, "no-color", false, "draw without color, as when NO_COLOR is set")
	f.keys.register(cmd)
}

// version is cnndbg's release, printed by --version.
const version = "0.1.0"

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	var screen screenFlags
	root := &cobra.Command{
		Use:   "cnndbg",
		Short: "A stepping debugger for backpropagation through convolutional networks",
		Long: `cnndbg records one training step of a small CNN (forward, loss, backward,
update) and lets you step through it: which layer produced each dZ, and the
exact terms that sum to every element of dW, db and dA_prev.

With no command it opens the debugger on the built-in example: a LeNet-style
network on 64 real MNIST test digits.`,
		Version:       version,
		Args:          noArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, err := recordExample()
			if err != nil {
				return err
			}
			return show(stdout, tr, screen, "built-in example: 64 MNIST test digits")
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(flagError)
	screen.register(root)
	root.AddCommand(
		newViewCommand(stdout, stderr),
		newRecordCommand(stdout, stderr),
		newExplainCommand(stdout, stderr),
		newExportCommand(stdout, stderr),
		newConvCommand(stdout, stderr),
		newPoolCommand(stdout, stderr),
		newCompareCommand(stdout, stderr),
		newTrainCommand(stdout, stderr),
		newGradcheckCommand(stdout, stderr),
		newDiffCommand(stdout, stderr),
		newTourCommand(stdout, stderr),
	)
	return root
}

// flagForm describes the values a flag of the given pflag type takes, with
// def, its default, as the example where it helps. It returns "" for types
// whose own errors are already plain.
func flagForm(kind, def string) string {
	switch kind {
	case "int":
		return "a whole number such as " + def
	case "uint64":
		return "a whole number ≥ 0 such as " + def
	case "float64":
		return "a number such as " + def
	case "bool":
		return "true or false"
	case "duration":
		return "a duration such as " + def
	}
	return ""
}

// flagError turns a flag parsing error into a usage error. A value of the
// wrong kind, which pflag reports with Go's strconv message, becomes a line
// that names the flag, the value and the form it takes.
func flagError(cmd *cobra.Command, err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		flag := invalid.GetFlag()
		form := flagForm(flag.Value.Type(), flag.DefValue)
		if form != "" && errors.Is(err, strconv.ErrRange) {
			return badInputf("--%s %s is out of range: give %s (see '%s --help')", flag.Name, invalid.GetValue(), form, cmd.CommandPath())
		}
		if form != "" {
			return badInputf("--%s takes %s, not %q (see '%s --help')", flag.Name, form, invalid.GetValue(), cmd.CommandPath())
		}
	}
	return badInputf("%v (see '%s --help')", err, cmd.CommandPath())
}

// commandName returns the command's path without the program name, such as
// "compare conv", for messages that already start with "cnndbg: ".
func commandName(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return cmd.Name()
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// noArgs rejects any positional argument with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return badInputf("unknown command %q (see '%s --help' for the commands)", args[0], cmd.CommandPath())
		}
		return badInputf("%s takes no arguments, got %q: remove it, or pass it to a flag (see '%s --help')", commandName(cmd), strings.Join(args, " "), cmd.CommandPath())
	}
	return nil
}

// exactArgs requires n positional arguments, naming them in the error.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return badInputf("%s needs %s, got %s (see '%s --help')", commandName(cmd), strings.Join(names, " and "), countOf(len(args), "argument"), cmd.CommandPath())
		}
		return nil
	}
}

// recordExample runs one step of the built-in example and returns its trace.
func recordExample() (*trace.Trace, error) {
	n := net.ExampleNetwork()
	x, labels, err := net.ExampleBatch(net.ExampleBatchSize)
	if err != nil {
		return nil, err
	}
	rec := trace.NewRecorder(n.Spec.JSON())
	n.Step(x, labels, net.ExampleLR, rec)
	return rec.Trace(), nil
}

// interactive reports whether stdout is a terminal that can draw the screen.
func interactive(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	return os.Getenv("TERM") != "dumb"
}

// show opens the debugger on tr, or prints a text summary when stdout is
// not a terminal or TERM=dumb.
func show(stdout io.Writer, tr *trace.Trace, screen screenFlags, title string) error {
	return showWith(stdout, tr, screen, tui.Options{Title: title})
}

// showWith is show with more screen options, such as the course's Banner
// and RealDZ; the screen flags set the rest.
func showWith(stdout io.Writer, tr *trace.Trace, screen screenFlags, opts tui.Options) error {
	opts.NoColor = screen.noColor || os.Getenv("NO_COLOR") != ""
	opts.AltScreen = !screen.noAltScreen
	if err := screen.keys.apply(&opts); err != nil {
		return err
	}
	if !interactive(stdout) {
		fmt.Fprintf(stdout, "%s (no terminal: printing a summary instead of the debugger)\n", opts.Title)
		return badInput(tui.Summary(stdout, tr))
	}
	return tui.Run(tr, opts)
}
