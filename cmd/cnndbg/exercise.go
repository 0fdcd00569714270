package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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
	if err := o.checkTargets(x.Order); err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return badInputf("--out %s: cannot create the folder: %v: choose another folder", o.out, err)
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

// checkTargets rejects an --out that is a file, and without --force an
// --out that already holds one of the arrays' files, before any is written,
// so a refused run leaves the folder as it was.
func (o *exerciseOutput) checkTargets(names []string) error {
	if info, err := os.Stat(o.out); err == nil && !info.IsDir() {
		return badInputf("--out %s is a file, not a folder: give a folder name, e.g. --out ref/", o.out)
	}
	if o.force {
		return nil
	}
	var existing []string
	for _, name := range names {
		if _, err := os.Lstat(filepath.Join(o.out, name+".npy")); err == nil {
			existing = append(existing, name+".npy")
		}
	}
	switch len(existing) {
	case 0:
		return nil
	case 1:
		return badInputf("--out %s already holds %s: pass --force to replace it, or choose another folder", o.out, existing[0])
	}
	return badInputf("--out %s already holds %s: pass --force to replace them, or choose another folder", o.out, strings.Join(existing, ", "))
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

// convFlags are the flags of one conv layer and its arrays, as the conv and
// compare conv commands take them.
type convFlags struct {
	aPrev, w, b, dZ string
	pad, stride     int
	dzFromZ         bool
}

func (f *convFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.aPrev, "a-prev", "", "A_prev `FILE` (.npy, (m, n_H_prev, n_W_prev, n_C_prev))")
	cmd.Flags().StringVar(&f.w, "w", "", "W `FILE` (.npy, (f, f, n_C_prev, n_C))")
	cmd.Flags().StringVar(&f.b, "b", "", "b `FILE` (.npy, (1, 1, 1, n_C))")
	cmd.Flags().StringVar(&f.dZ, "dz", "", "incoming gradient dZ `FILE` (.npy, the shape of Z)")
	cmd.Flags().BoolVar(&f.dzFromZ, "dz-from-z", false, "use Z as the incoming gradient, as the course notebook does")
	cmd.Flags().IntVar(&f.pad, "pad", 0, "zero padding on each side, in pixels")
	cmd.Flags().IntVar(&f.stride, "stride", 1, "stride of the filter window, in pixels")
}

// check rejects flags that cannot describe a conv layer. missingGradient is
// the error when neither --dz nor --dz-from-z is given.
func (f *convFlags) check(missingGradient string) error {
	if f.dZ == "" && !f.dzFromZ {
		return badInputf("%s", missingGradient)
	}
	if f.dZ != "" && f.dzFromZ {
		return badInputf("--dz and --dz-from-z both give the incoming gradient: pass only one")
	}
	if f.stride < 1 {
		return badInputf("--stride %d: the stride must be ≥ 1", f.stride)
	}
	if f.pad < 0 {
		return badInputf("--pad %d: the padding must be ≥ 0", f.pad)
	}
	return nil
}

// paths returns the files the flags name.
func (f *convFlags) paths() []string { return []string{f.aPrev, f.w, f.b, f.dZ} }

// convInputs are the arrays of one conv layer. dZ is nil when Z is used in
// its place (--dz-from-z).
type convInputs struct {
	aPrev, w, b, dZ *net.Tensor
}

// read reads the --a-prev, --w, --b and, if given, --dz files.
func (f *convFlags) read() (convInputs, error) {
	arrays, err := readArrays([][2]string{{"a-prev", f.aPrev}, {"w", f.w}, {"b", f.b}})
	if err != nil {
		return convInputs{}, err
	}
	in := convInputs{aPrev: arrays[0], w: arrays[1], b: arrays[2]}
	if f.dZ != "" {
		if in.dZ, err = readArray("dz", f.dZ); err != nil {
			return convInputs{}, err
		}
	}
	return in, nil
}

// poolFlags are the flags of one pool layer and its arrays, as the pool and
// compare pool commands take them.
type poolFlags struct {
	aPrev, dA, mode, ties string
	size, stride          int
}

func (f *poolFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.aPrev, "a-prev", "", "A_prev `FILE` (.npy, (m, n_H_prev, n_W_prev, n_C))")
	cmd.Flags().StringVar(&f.dA, "da", "", "incoming gradient dA `FILE` (.npy, the shape of the pool output)")
	cmd.Flags().StringVar(&f.mode, "mode", "max", "pooling mode: max or average")
	cmd.Flags().StringVar(&f.ties, "ties", "first", "max pool only: where a tied window's gradient goes: first, all (the x == max(x) mask) or split")
	cmd.Flags().IntVar(&f.size, "size", 2, "window size f, in pixels")
	cmd.Flags().IntVar(&f.stride, "stride", 2, "stride of the window, in pixels")
}

// check rejects flags that cannot describe a pool layer and returns the tie
// rule that --ties names.
func (f *poolFlags) check() (net.Ties, error) {
	if f.size < 1 || f.stride < 1 {
		return "", badInputf("--size %d --stride %d: both must be ≥ 1", f.size, f.stride)
	}
	if f.mode != "max" && f.mode != "average" {
		return "", badInputf("--mode %q: use max or average", f.mode)
	}
	tieRule, err := net.ParseTies(f.ties)
	if err != nil {
		return "", badInput(fmt.Errorf("--ties: %w", err))
	}
	return tieRule, nil
}

// read reads the --a-prev and --da files.
func (f *poolFlags) read() (aPrev, dA *net.Tensor, err error) {
	arrays, err := readArrays([][2]string{{"a-prev", f.aPrev}, {"da", f.dA}})
	if err != nil {
		return nil, nil, err
	}
	return arrays[0], arrays[1], nil
}

func newConvCommand(stdout, stderr io.Writer) *cobra.Command {
	var layer convFlags
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
			if err := layer.check("conv needs the incoming gradient: --dz dZ.npy, or --dz-from-z to use Z itself as the course notebook does"); err != nil {
				return err
			}
			in, err := layer.read()
			if err != nil {
				return err
			}
			x, err := net.ConvExercise(in.aPrev, in.w, in.b, layer.stride, layer.pad, in.dZ)
			if err != nil {
				return badInput(err)
			}
			if layer.dzFromZ {
				fmt.Fprintln(stdout, "note: --dz-from-z uses Z itself as dZ, standing in for the gradient a layer above would send, as the course notebook does")
			}
			out.dzFromZ = layer.dzFromZ
			return out.finish(stdout, x, fmt.Sprintf("conv exercise: pad %d, stride %d", layer.pad, layer.stride))
		},
	}
	layer.register(cmd)
	out.register(cmd)
	return cmd
}

func newPoolCommand(stdout, stderr io.Writer) *cobra.Command {
	var layer poolFlags
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
			tieRule, err := layer.check()
			if err != nil {
				return err
			}
			a, da, err := layer.read()
			if err != nil {
				return err
			}
			x, err := net.PoolExercise(a, layer.size, layer.stride, layer.mode, tieRule, da)
			if err != nil {
				return badInput(err)
			}
			return out.finish(stdout, x, fmt.Sprintf("%s pool exercise: size %d, stride %d", layer.mode, layer.size, layer.stride))
		},
	}
	layer.register(cmd)
	out.register(cmd)
	return cmd
}
