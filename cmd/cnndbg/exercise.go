package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
	"github.com/cnndbg/cnndbg/tui"
)

// exerciseOutput holds what the course exercise commands share: the output
// folder and the screen flags.
type exerciseOutput struct {
	out    string
	force  bool
	screen screenFlags
	// dzFromZ is set when Z is used as dZ, so the screen shows a note and
	// offers the real dZ of the built-in example.
	dzFromZ bool
}

func (o *exerciseOutput) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.out, "out", "", "write the results as .npy files into `DIR` (created if missing) instead of opening the debugger")
	cmd.Flags().BoolVar(&o.force, "force", false, "replace files that already exist in --out")
	o.screen.register(cmd)
}

// finish writes the exercise's arrays into --out and prints a summary, or
// opens the debugger on the recorded layer.
func (o *exerciseOutput) finish(stdout io.Writer, x *net.Exercise, title string) error {
	if o.out == "" {
		opts := tui.Options{Title: title}
		if o.dzFromZ {
			opts.Banner = "--dz-from-z: dZ is Z itself, standing in for the gradient from a layer above"
			opts.RealDZ = func() (*trace.Trace, string, error) {
				tr, err := recordExample()
				return tr, "built-in example: 64 MNIST test digits", err
			}
		}
		return showWith(stdout, x.Trace, o.screen, opts)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return badInputf("--out %s: cannot create the folder: %v", o.out, err)
	}
	for _, name := range x.Order {
		path := filepath.Join(o.out, name+".npy")
		if err := net.WriteNPY(path, x.Outputs[name], o.force); err != nil {
			return badInput(err)
		}
	}
	for _, name := range x.Order {
		t := x.Outputs[name]
		sum := 0.0
		for _, v := range t.Data {
			sum += v
		}
		fmt.Fprintf(stdout, "%-8s shape %-16s mean %.16g → %s\n", name, trace.FormatShape(t.Shape), sum/float64(max(len(t.Data), 1)), filepath.Join(o.out, name+".npy"))
	}
	return nil
}

// readArray reads a required .npy flag.
func readArray(flag, path string) (*net.Tensor, error) {
	if path == "" {
		return nil, badInputf("--%s is required: the .npy file of %s", flag, flag)
	}
	t, err := net.ReadNPY(path)
	if err != nil {
		return nil, badInput(fmt.Errorf("--%s: %w", flag, err))
	}
	return t, nil
}

// convInputs are the arrays of one conv layer, as the conv and compare conv
// commands read them. dZ is nil when Z stands in for it (--dz-from-z).
type convInputs struct {
	aPrev, w, b, dZ *net.Tensor
}

// readConvInputs reads the --a-prev, --w, --b and, if given, --dz files.
func readConvInputs(aPrev, w, b, dZ string) (convInputs, error) {
	arrays, err := readArrays([][2]string{{"a-prev", aPrev}, {"w", w}, {"b", b}})
	if err != nil {
		return convInputs{}, err
	}
	in := convInputs{aPrev: arrays[0], w: arrays[1], b: arrays[2]}
	if dZ != "" {
		if in.dZ, err = readArray("dz", dZ); err != nil {
			return convInputs{}, err
		}
	}
	return in, nil
}

func newConvCommand(stdout, stderr io.Writer) *cobra.Command {
	var aPrev, w, b, dZ string
	var pad, stride int
	var dzFromZ bool
	var out exerciseOutput
	cmd := &cobra.Command{
		Use:   "conv --a-prev A.npy --w W.npy --b b.npy --pad P --stride S (--dz dZ.npy | --dz-from-z) [--out DIR]",
		Short: "Run the course's conv_forward and conv_backward on your arrays",
		Long: `conv runs one conv layer forward and backward on your arrays, in the
course's layout: A_prev (m, n_H_prev, n_W_prev, n_C_prev), W (f, f, n_C_prev,
n_C), b (1, 1, 1, n_C). With --out it writes Z.npy, dA_prev.npy, dW.npy and
db.npy; without it, on a terminal, it opens the debugger on that layer.`,
		Example: `  cnndbg conv --a-prev A_prev.npy --w W.npy --b b.npy --pad 1 --stride 2 --dz-from-z --out ref/`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dZ == "" && !dzFromZ {
				return badInputf("conv needs the incoming gradient: --dz dZ.npy, or --dz-from-z to use Z itself as the course notebook does")
			}
			if dZ != "" && dzFromZ {
				return badInputf("--dz and --dz-from-z both give the incoming gradient: pass only one")
			}
			if stride < 1 {
				return badInputf("--stride %d: the stride must be ≥ 1", stride)
			}
			if pad < 0 {
				return badInputf("--pad %d: the padding must be ≥ 0", pad)
			}
			in, err := readConvInputs(aPrev, w, b, dZ)
			if err != nil {
				return err
			}
			x, err := net.ConvExercise(in.aPrev, in.w, in.b, stride, pad, in.dZ)
			if err != nil {
				return badInput(err)
			}
			if dzFromZ {
				fmt.Fprintln(stdout, "note: --dz-from-z uses Z itself as dZ, standing in for the gradient a layer above would send, as the course notebook does")
			}
			out.dzFromZ = dzFromZ
			return out.finish(stdout, x, fmt.Sprintf("conv exercise: pad %d, stride %d", pad, stride))
		},
	}
	cmd.Flags().StringVar(&aPrev, "a-prev", "", "A_prev `FILE` (.npy, (m, n_H_prev, n_W_prev, n_C_prev))")
	cmd.Flags().StringVar(&w, "w", "", "W `FILE` (.npy, (f, f, n_C_prev, n_C))")
	cmd.Flags().StringVar(&b, "b", "", "b `FILE` (.npy, (1, 1, 1, n_C))")
	cmd.Flags().StringVar(&dZ, "dz", "", "incoming gradient dZ `FILE` (.npy, the shape of Z)")
	cmd.Flags().BoolVar(&dzFromZ, "dz-from-z", false, "use Z as the incoming gradient, as the course notebook does")
	cmd.Flags().IntVar(&pad, "pad", 0, "zero padding on each side, in pixels")
	cmd.Flags().IntVar(&stride, "stride", 1, "stride of the filter window, in pixels")
	out.register(cmd)
	return cmd
}

func newPoolCommand(stdout, stderr io.Writer) *cobra.Command {
	var aPrev, dA, mode, ties string
	var size, stride int
	var out exerciseOutput
	cmd := &cobra.Command{
		Use:   "pool --a-prev A.npy --size F --stride S --mode max|average --da dA.npy [--out DIR]",
		Short: "Run the course's pool_forward and pool_backward on your arrays",
		Long: `pool runs one max or average pool layer forward and backward on your
arrays. With --out it writes A.npy and dA_prev.npy; without it, on a
terminal, it opens the debugger on that layer.`,
		Example: `  cnndbg pool --a-prev A_prev.npy --size 2 --stride 2 --mode max --da dA.npy --out ref/`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if size < 1 || stride < 1 {
				return badInputf("--size %d --stride %d: both must be ≥ 1", size, stride)
			}
			if mode != "max" && mode != "average" {
				return badInputf("--mode %q: use max or average", mode)
			}
			tieRule, err := net.ParseTies(ties)
			if err != nil {
				return badInput(fmt.Errorf("--ties: %w", err))
			}
			a, err := readArray("a-prev", aPrev)
			if err != nil {
				return err
			}
			da, err := readArray("da", dA)
			if err != nil {
				return err
			}
			x, err := net.PoolExercise(a, size, stride, mode, tieRule, da)
			if err != nil {
				return badInput(err)
			}
			return out.finish(stdout, x, fmt.Sprintf("%s pool exercise: size %d, stride %d", mode, size, stride))
		},
	}
	cmd.Flags().StringVar(&aPrev, "a-prev", "", "A_prev `FILE` (.npy, (m, n_H_prev, n_W_prev, n_C))")
	cmd.Flags().StringVar(&dA, "da", "", "incoming gradient dA `FILE` (.npy, the shape of the pool output)")
	cmd.Flags().StringVar(&mode, "mode", "max", "pooling mode: max or average")
	cmd.Flags().StringVar(&ties, "ties", "first", "max pool only: where a tied window's gradient goes: first, all (the x == max(x) mask) or split")
	cmd.Flags().IntVar(&size, "size", 2, "window size f, in pixels")
	cmd.Flags().IntVar(&stride, "stride", 2, "stride of the window, in pixels")
	out.register(cmd)
	return cmd
}
