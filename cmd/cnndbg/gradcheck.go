package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cnndbg/cnndbg/net"
)

func newGradcheckCommand(stdout, stderr io.Writer) *cobra.Command {
	var flags stepFlags
	var opts net.GradCheckOptions
	cmd := &cobra.Command{
		Use:   "gradcheck [--model F] [--weights F] [--input F] [--labels L]",
		Short: "Compare backpropagated gradients with central differences, per parameter tensor",
		Long: `gradcheck computes every parameter gradient of one step by backpropagation
and by central differences of the loss, (L(θ+ε) − L(θ−ε)) / 2ε, and prints a
table per tensor. An element passes when |analytic − numeric| ≤ atol +
rtol·|numeric|, PyTorch's gradcheck rule. Exit status 1 if any element fails.

A ReLU or max-pool input that sits exactly on a kink (Z = 0, a tied maximum)
has no derivative there, and central differences straddle it: such elements
can fail without a bug.`,
		Example: `  cnndbg gradcheck
  cnndbg gradcheck --model m.json --input x.npy --labels y.npy --max-elements 0`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Eps <= 0 || opts.Atol < 0 || opts.Rtol < 0 || opts.MaxElements < 0 {
				return badInputf("--eps must be > 0, --atol, --rtol and --max-elements ≥ 0; got eps %g, atol %g, rtol %g, max-elements %d",
					opts.Eps, opts.Atol, opts.Rtol, opts.MaxElements)
			}
			s, err := flags.load()
			if err != nil {
				return err
			}
			results, err := net.GradCheck(s.net, s.x, s.labels, opts)
			if err != nil {
				return badInput(err)
			}
			return printGradCheck(stdout, results, opts)
		},
	}
	flags.register(cmd)
	cmd.Flags().Float64Var(&opts.Eps, "eps", net.DefaultGradCheckEps, "central-difference step ε")
	cmd.Flags().Float64Var(&opts.Atol, "atol", net.DefaultGradCheckAtol, "absolute tolerance of the pass rule")
	cmd.Flags().Float64Var(&opts.Rtol, "rtol", net.DefaultGradCheckRtol, "relative tolerance of the pass rule")
	cmd.Flags().IntVar(&opts.MaxElements, "max-elements", 64, "check at most this many elements per tensor, drawn with --seed (0 checks all)")
	cmd.Flags().BoolVar(&opts.Input, "check-input", false, "also check the gradient with respect to the input batch")
	return cmd
}

// printGradCheck writes one row per tensor and the worst element of each,
// and returns checkFailed if any tensor failed.
func printGradCheck(w io.Writer, results []net.GradCheckResult, opts net.GradCheckOptions) error {
	fmt.Fprintf(w, "central differences, eps %g; pass if |analytic − numeric| ≤ %g + %g·|numeric|\n\n", opts.Eps, opts.Atol, opts.Rtol)
	fmt.Fprintf(w, "%-12s %9s %7s %12s %12s  %-6s %s\n", "tensor", "checked", "failed", "max abs err", "max rel err", "result", "worst element: analytic vs numeric")
	failed := 0
	for _, r := range results {
		verdict := "pass"
		if !r.Pass {
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "%-12s %4d/%-4d %7d %12.3g %12.3g  %-6s %s%s: %.10g vs %.10g\n",
			r.Name, r.Checked, r.Size, r.Failed, r.MaxAbsErr, r.MaxRelErr, verdict,
			r.Worst.Tensor, formatIndex(r.Worst.Index), r.Worst.Analytic, r.Worst.Numeric)
	}
	if failed > 0 {
		fmt.Fprintf(w, "\n%d of %d tensors failed\n", failed, len(results))
		return checkFailed{what: "gradcheck"}
	}
	fmt.Fprintf(w, "\nall %d tensors pass\n", len(results))
	return nil
}
