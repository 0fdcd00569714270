package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/spf13/cobra"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
	"github.com/cnndbg/cnndbg/tui"
)

// diffFound reports that diff ran and found a difference, which it has
// already printed: the command exits with status 1, as diff(1) does.
var diffFound = checkFailed{what: "diff"}

func newDiffCommand(stdout, stderr io.Writer) *cobra.Command {
	var tol float64
	var top int
	cmd := &cobra.Command{
		Use:   "diff TRACE_A TRACE_B [--tol X]",
		Short: "Find the first element where two traces of the same model differ",
		Long: `diff compares two traces of the same model event by event, in execution
order, and prints the first element that differs by more than --tol
(absolute plus relative: |a − b| ≤ tol + tol·max(|a|, |b|)), with both
values and both explanations, the terms that changed first. It also lists
the step inputs (images, labels, initial parameters) and hyperparameters
that differ, which are usually the cause.

On a terminal, diff opens the debugger on trace A at the first
difference instead of printing: the inspector shows each element's value
in A and in B and the terms that changed most, and n and p step both
traces together.

Exit status: 0 if the traces agree, 1 if they differ, 2 if they cannot be
compared (different models or event lists; the message says where they
diverge) or a file is bad.`,
		Example: `  cnndbg diff mine.cnndbg reference.cnndbg
  cnndbg diff a.cnndbg b.cnndbg --tol 1e-9`,
		Args: exactArgs("TRACE_A", "TRACE_B"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !(tol >= 0) || math.IsInf(tol, 0) {
				return badInputf("--tol %v: give a finite tolerance ≥ 0 such as 1e-12", tol)
			}
			if top < 1 {
				return badInputf("--top %d: show at least 1 term", top)
			}
			a, err := trace.Open(args[0])
			if err != nil {
				return badInput(err)
			}
			defer a.Close()
			b, err := trace.Open(args[1])
			if err != nil {
				return badInput(err)
			}
			defer b.Close()

			d, err := net.DiffTraces(a, b, tol)
			var structure *trace.StructureError
			if errors.As(err, &structure) {
				return badInputf("cannot compare %s and %s: %v", args[0], args[1], err)
			}
			if err != nil {
				return badInput(err)
			}
			if interactive(stdout) {
				return diffScreen(a, b, d, args[0], args[1], tol)
			}
			if printDiff(stdout, a, b, d, args[0], args[1], tol, top) {
				return diffFound
			}
			return nil
		},
	}
	cmd.Flags().Float64Var(&tol, "tol", net.DefaultDiffTolerance, "absolute and relative tolerance `X` below which two values count as equal")
	cmd.Flags().IntVar(&top, "top", 8, "how many of the terms that differ most to list")
	return cmd
}

// diffScreen opens the debugger on trace A beside trace B at their first
// difference. It exits as the printed diff does: status 1 when they differ.
func diffScreen(a, b *trace.Trace, d *net.TraceDiff, nameA, nameB string, tol float64) error {
	opts := tui.Options{
		NoColor:   os.Getenv("NO_COLOR") != "",
		AltScreen: true,
		Title:     "diff " + nameA + " " + nameB,
		Diff:      &tui.DiffOptions{B: b, NameA: nameA, NameB: nameB, Result: d, Tol: tol},
	}
	if err := tui.Run(a, opts); err != nil {
		return err
	}
	if d.First != nil || len(d.Params) > 0 || len(d.Inputs) > 0 {
		return diffFound
	}
	return nil
}

// printDiff prints the differences and reports whether there are any.
func printDiff(w io.Writer, a, b *trace.Trace, d *net.TraceDiff, nameA, nameB string, tol float64, top int) bool {
	fmt.Fprintf(w, "A = %s\nB = %s\n", nameA, nameB)
	for _, line := range d.Params {
		fmt.Fprintf(w, "hyperparameter: %s\n", line)
	}
	for _, in := range d.Inputs {
		fmt.Fprintf(w, "step input %s%s: A %.17g, B %.17g (first differing element)\n", in.Name, formatIndex(in.Index), in.A, in.B)
	}
	if d.First == nil {
		if len(d.Params) == 0 && len(d.Inputs) == 0 {
			fmt.Fprintf(w, "no difference: every value agrees within %g\n", tol)
			return false
		}
		fmt.Fprintf(w, "every event output agrees within %g\n", tol)
		return true
	}

	e := a.Events[d.First.Event]
	fmt.Fprintf(w, "\nfirst difference: %s%s in event %d (step %d, %s %s %s)\n",
		d.Name, formatIndex(d.First.Index), e.Index, e.Step, e.Layer, e.Kind, e.Phase)
	fmt.Fprintf(w, "  A = %.17g\n  B = %.17g\n  B − A = %.6g\n", d.First.A, d.First.B, d.First.B-d.First.A)
	fmt.Fprintf(w, "  %s\n\n", d.A.Formula)

	fmt.Fprintf(w, "  terms that differ most (%d terms in A, %d in B):\n", len(d.A.Terms), len(d.B.Terms))
	fmt.Fprintf(w, "  %-58s %24s %24s\n", "term", "A", "B")
	for k, p := range d.Terms {
		if k >= top || p.Difference() == 0 {
			break
		}
		fmt.Fprintf(w, "  %-58s %24s %24s\n", pairText(p), termValue(p.A), termValue(p.B))
	}
	fmt.Fprintf(w, "  %-58s %24.17g %24.17g\n", "Σ terms", d.A.Sum, d.B.Sum)
	return true
}

// pairText writes the term of a pair, from whichever side has it. When the
// sides' coefficients differ (a learning rate of the update) it names both.
func pairText(p net.TermPair) string {
	switch {
	case p.A == nil:
		return termText(*p.B)
	case p.B == nil || p.A.Coef == p.B.Coef:
		return termText(*p.A)
	}
	operands := *p.A
	operands.Coef = 1
	return fmt.Sprintf("%s (coefficient %.6g in A, %.6g in B)", termText(operands), p.A.Coef, p.B.Coef)
}

func termValue(t *net.Term) string {
	if t == nil {
		return "(absent)"
	}
	return fmt.Sprintf("%.17g", t.Value)
}
