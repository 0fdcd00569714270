// Command cnndbg is a terminal stepping debugger for backpropagation through
// small convolutional networks. With no arguments it records one training
// step of a LeNet-style network on real MNIST digits and opens the debugger.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/cnndbg/cnndbg/tui"
)

func main() {
	// A recorded step keeps every tensor alive, so with Go's default GOGC of
	// 100 the collector runs often and finds little to free. 400 removed the
	// recording overhead at batch 256 in the side-by-side benchmark
	// (docs/benchmarks.md). A GOGC set by the user wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a mistake in what the user handed cnndbg: a flag, an
// argument or a file. It exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// badInput wraps err as a usage error.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// badInputf formats a usage error.
func badInputf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// run executes the command line and returns the exit status: 0 on success,
// 1 for a failure that is not the user's input (or a failed check), 2 for
// bad input, and 128 plus the signal number when SIGINT (130), SIGTERM (143)
// or SIGHUP (129) stopped the screen. A panic becomes status 1, a one-line
// message and a crash report file with the stack.
func run(args []string, stdout, stderr io.Writer) (status int) {
	defer func() {
		if r := recover(); r != nil {
			status = reportCrash(stderr, args, r, debug.Stack())
		}
	}()
	root := newRootCommand(stdout, stderr)
	registerMemoryFlag(root)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var check checkFailed
	if errors.As(err, &check) {
		return 1
	}
	var crash *tui.PanicError
	if errors.As(err, &crash) {
		return reportCrash(stderr, args, crash.Value, crash.Stack)
	}
	fmt.Fprintln(stderr, "cnndbg: "+oneLine(err.Error()))
	var interrupted *tui.InterruptedError
	if errors.As(err, &interrupted) {
		return interrupted.ExitCode()
	}
	var usage usageError
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

// checkFailed reports that a command ran and found a mismatch (gradcheck,
// compare): it has already printed its findings, so run prints nothing more.
type checkFailed struct{ what string }

func (e checkFailed) Error() string { return e.what + " failed" }

// oneLine folds a message onto one line so every error is a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
