package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
	"github.com/cnndbg/cnndbg/tui"
)

func newCompareCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compare (conv | pool) ...",
		Short: "Check your conv or pool arrays against the reference and explain the first wrong element",
		Long: `compare runs one conv or pool layer on your inputs, as 'cnndbg conv' and
'cnndbg pool' do, and checks the arrays your own code produced against the
result. For each array it prints whether the shape and the values match
(within 1e-8, absolutely or relative to the correct value), the largest
error, how many elements are wrong, and the correct value of the first wrong
element term by term. It also runs the common mistakes (= instead of +=, the
padding removed from the wrong side, dW not summed over the batch, ...) and
says when your array equals one of them.

On a terminal it opens the debugger in diff mode instead of printing the
report: a map of the wrong elements of each array, x and X to step through
them, your value against the correct one with its terms, and the known
mistakes that give your array. --no-screen prints the report instead.

Exit status: 0 when every array matches, 1 when one does not, 2 for bad input.
With the screen, the status follows when it closes.`,
		Example: `  cnndbg compare conv --a-prev A_prev.npy --w W.npy --b b.npy --pad 1 --stride 2 --dz dZ.npy \
      --given-dA-prev mine/dA_prev.npy --given-dW mine/dW.npy --given-db mine/db.npy
  cnndbg compare pool --a-prev A_prev.npy --size 2 --stride 2 --mode max --da dA.npy \
      --given-dA-prev mine/dA_prev.npy`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return badInputf("compare needs a layer: 'cnndbg compare conv ...' or 'cnndbg compare pool ...' (see 'cnndbg compare --help')")
		},
	}
	cmd.AddCommand(newCompareConvCommand(stdout), newComparePoolCommand(stdout))
	return cmd
}

// givenArray is a flag that names one of the learner's arrays.
type givenArray struct {
	name string // the course's name: Z, A, dA_prev, dW, db
	flag string
	path string
}

// registerGiven adds a --given-X flag for each named array.
func registerGiven(cmd *cobra.Command, names ...string) []*givenArray {
	var given []*givenArray
	for _, name := range names {
		g := &givenArray{name: name, flag: "given-" + strings.ReplaceAll(name, "_", "-")}
		cmd.Flags().StringVar(&g.path, g.flag, "", fmt.Sprintf("your %s `FILE` (.npy), as your code computed it", name))
		given = append(given, g)
	}
	return given
}

// readGiven reads the learner's arrays, keyed by the course's names. It
// rejects a command line that gives none.
func readGiven(cmd *cobra.Command, given []*givenArray) (map[string]*net.Tensor, error) {
	arrays := map[string]*net.Tensor{}
	var flags []string
	for _, g := range given {
		flags = append(flags, "--"+g.flag)
		if g.path == "" {
			continue
		}
		t, err := readArray(g.flag, g.path)
		if err != nil {
			return nil, err
		}
		arrays[g.name] = t
	}
	if len(arrays) == 0 {
		return nil, badInputf("%s needs at least one of your arrays to check: %s", commandName(cmd), strings.Join(flags, ", "))
	}
	return arrays, nil
}

// compareScreen is the set of flags that shape compare's output: the report or
// the diff mode on the screen, the tolerance and how many terms to list.
type compareScreen struct {
	noScreen bool
	tol      float64
	top      int
	screen   screenFlags
	// tolReason is the reason for a tolerance that options chose from the
	// arrays' dtype.
	tolReason string
}

func (f *compareScreen) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.noScreen, "no-screen", false, "print the report even on a terminal, instead of opening the debugger in diff mode")
	cmd.Flags().Float64Var(&f.tol, "tol", 0, "an element matches within this absolute or relative error; default 1e-8, or 1e-4 when an array is float32 (1e-2 for float16)")
	cmd.Flags().IntVar(&f.top, "top", 12, "how many of the largest terms of the first wrong element to list; the rest are counted")
	f.screen.register(cmd)
}

// check rejects a --tol or --top that cannot be used.
func (f *compareScreen) check() error {
	if f.tol < 0 || f.tol != f.tol {
		return badInputf("--tol %v: the tolerance must be a number ≥ 0", f.tol)
	}
	if f.top < 1 {
		return badInputf("--top %d: show at least 1 term", f.top)
	}
	return nil
}

// options returns the tolerance to compare with. When the tolerance follows
// from the arrays' dtype, it sets tolReason, which the output gives with it:
// float32 arrays from a learner's notebook carry rounding errors far above
// 1e-8.
func (f *compareScreen) options(paths ...string) (net.CompareOptions, error) {
	if f.tol > 0 {
		return net.CompareOptions{Tolerance: f.tol}, nil
	}
	tol, loosest, loosestPath := net.CompareTolerance, "", ""
	for _, path := range paths {
		if path == "" {
			continue
		}
		dtype, err := net.ReadNPYDtype(path)
		if err != nil {
			return net.CompareOptions{}, badInput(err)
		}
		if t := net.ToleranceFor(dtype); t > tol {
			tol, loosest, loosestPath = t, dtype, path
		}
	}
	if loosest != "" {
		f.tolReason = fmt.Sprintf("because %s is %s, which rounds each value by about %s (--tol sets another)",
			filepath.Base(loosestPath), loosest, roundingOf[loosest])
	}
	return net.CompareOptions{Tolerance: tol}, nil
}

// roundingOf gives the relative rounding error of each dtype that
// net.ToleranceFor loosens the tolerance for.
var roundingOf = map[string]string{"float32": "1e-7", "float16": "1e-3"}

// givenPaths returns the files of the given arrays.
func givenPaths(given []*givenArray) []string {
	var paths []string
	for _, g := range given {
		paths = append(paths, g.path)
	}
	return paths
}

// finish prints header and the report when stdout is not a terminal or
// --no-screen is set. Otherwise it opens the debugger in diff mode and,
// once the screen closes, prints one line per array so the outcome stays in
// the terminal. Either way it returns checkFailed when an array does not
// match.
func (f *compareScreen) finish(stdout io.Writer, r *net.Report, header string) error {
	if f.noScreen || !interactive(stdout) {
		fmt.Fprintln(stdout, header)
		return printReport(stdout, r, f.top, f.tolReason)
	}
	if f.tolReason != "" {
		header += fmt.Sprintf("; tolerance %s %s", formatTolerance(r.Tolerance), f.tolReason)
	}
	if err := showWith(stdout, r.Exercise.Trace, f.screen, tui.Options{Title: header, Compare: r}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, header)
	return printVerdicts(stdout, r)
}

// printVerdicts writes one line per array and the count of arrays that do
// not match. It returns checkFailed when an array does not match.
func printVerdicts(w io.Writer, r *net.Report) error {
	width := 0
	for _, c := range r.Comparisons {
		width = max(width, len(c.Name))
	}
	failed := 0
	for _, c := range r.Comparisons {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, verdict(c, r.Tolerance))
		if !c.Matches() {
			failed++
		}
		// The screen's pane may cut a long fix at 80×24: repeat it here.
		for _, fp := range c.Fingerprints {
			fmt.Fprintf(w, "    known mistake: your %s equals what you get when %s; fix: %s.\n", c.Name, fp.Mistake, fp.Fix)
		}
	}
	fmt.Fprintln(w, r.Summary())
	if failed > 0 {
		return checkFailed{what: "compare"}
	}
	return nil
}

func newCompareConvCommand(stdout io.Writer) *cobra.Command {
	var layer convFlags
	var screen compareScreen
	cmd := &cobra.Command{
		Use:   "conv --a-prev A.npy --w W.npy --b b.npy --pad P --stride S (--dz dZ.npy | --dz-from-z) --given-dW MINE.npy ...",
		Short: "Check your conv_forward and conv_backward arrays",
		Long: `compare conv runs one conv layer forward and backward on A_prev, W, b and
dZ, as 'cnndbg conv' does, and checks each array you give with --given-Z,
--given-dA-prev, --given-dW and --given-db against the result.`,
		Example: `  cnndbg compare conv --a-prev A_prev.npy --w W.npy --b b.npy --pad 1 --stride 2 --dz-from-z \
      --given-dW mine/dW.npy --given-db mine/db.npy`,
		Args: noArgs,
	}
	given := registerGiven(cmd, "Z", "dA_prev", "dW", "db")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := layer.check("compare conv needs the incoming gradient your conv_backward used: --dz dZ.npy, or --dz-from-z if it was Z itself, as in the course notebook"); err != nil {
			return err
		}
		if err := screen.check(); err != nil {
			return err
		}
		mine, err := readGiven(cmd, given)
		if err != nil {
			return err
		}
		in, err := layer.read()
		if err != nil {
			return err
		}
		opts, err := screen.options(append(givenPaths(given), layer.paths()...)...)
		if err != nil {
			return err
		}
		r, err := net.CompareConv(in.aPrev, in.w, in.b, layer.stride, layer.pad, in.dZ, mine, opts)
		if err != nil {
			return badInput(err)
		}
		source := "dZ from " + layer.dZ
		if layer.dzFromZ {
			source = "dZ = Z (--dz-from-z, as the course notebook does)"
		}
		header := fmt.Sprintf("compare conv: pad %d, stride %d, %s", layer.pad, layer.stride, source)
		return screen.finish(stdout, r, header)
	}
	layer.register(cmd)
	screen.register(cmd)
	return cmd
}

func newComparePoolCommand(stdout io.Writer) *cobra.Command {
	var layer poolFlags
	var screen compareScreen
	cmd := &cobra.Command{
		Use:   "pool --a-prev A.npy --size F --stride S --mode max|average --da dA.npy --given-dA-prev MINE.npy ...",
		Short: "Check your pool_forward and pool_backward arrays",
		Long: `compare pool runs one max or average pool layer forward and backward on
A_prev and dA, as 'cnndbg pool' does, and checks each array you give with
--given-A and --given-dA-prev against the result.

Max pool sends a tied window's gradient to its first maximum, as PyTorch
does; the course's x == max(x) mask sends it to every tied element. Pass
--ties all to check against the mask.`,
		Example: `  cnndbg compare pool --a-prev A_prev.npy --size 2 --stride 2 --mode average --da dA.npy \
      --given-dA-prev mine/dA_prev.npy`,
		Args: noArgs,
	}
	given := registerGiven(cmd, "A", "dA_prev")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		tieRule, err := layer.check()
		if err != nil {
			return err
		}
		if err := screen.check(); err != nil {
			return err
		}
		mine, err := readGiven(cmd, given)
		if err != nil {
			return err
		}
		a, da, err := layer.read()
		if err != nil {
			return err
		}
		opts, err := screen.options(append(givenPaths(given), layer.aPrev, layer.dA)...)
		if err != nil {
			return err
		}
		r, err := net.ComparePool(a, layer.size, layer.stride, layer.mode, tieRule, da, mine, opts)
		if err != nil {
			return badInput(err)
		}
		header := fmt.Sprintf("compare pool: %s, size %d, stride %d", layer.mode, layer.size, layer.stride)
		if layer.mode == "max" {
			header += fmt.Sprintf(", ties %s", tieRule)
		}
		return screen.finish(stdout, r, header)
	}
	layer.register(cmd)
	screen.register(cmd)
	return cmd
}

// readArrays reads required .npy flags given as (flag, path) pairs.
func readArrays(flags [][2]string) ([]*net.Tensor, error) {
	arrays := make([]*net.Tensor, len(flags))
	for k, f := range flags {
		t, err := readArray(f[0], f[1])
		if err != nil {
			return nil, err
		}
		arrays[k] = t
	}
	return arrays, nil
}

// printReport writes the tolerance, with the reason for it when one is given,
// then one line per array, then for each array that does not
// match its errors, the known mistakes that reproduce it and the correct
// value of its first wrong element, term by term. It returns checkFailed
// when an array does not match.
func printReport(w io.Writer, r *net.Report, top int, reason string) error {
	line := fmt.Sprintf("tolerance %s, absolute or relative to the correct value", formatTolerance(r.Tolerance))
	if reason != "" {
		line += ", " + reason
	}
	fmt.Fprintf(w, "%s\n\n", line)
	width := 0
	for _, c := range r.Comparisons {
		width = max(width, len(c.Name))
	}
	for _, c := range r.Comparisons {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, verdict(c, r.Tolerance))
	}

	failed := 0
	for k := range r.Comparisons {
		c := &r.Comparisons[k]
		if c.Matches() {
			continue
		}
		failed++
		fmt.Fprintf(w, "\n── %s ──\n", c.Name)
		printMismatch(w, r, c)
		if err := printFirstWrong(w, r, c, top); err != nil {
			return err
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, r.Summary())
	if failed > 0 {
		return checkFailed{what: "compare"}
	}
	return nil
}

// verdict returns the one-line outcome for an array.
func verdict(c net.Comparison, tol float64) string {
	shape := "shape " + trace.FormatShape(c.Given.Shape)
	if !c.ShapeOK {
		shape += ", expected " + trace.FormatShape(c.Expected.Shape)
	}
	switch {
	case c.Matches() && c.RelativeOnly == 0:
		return fmt.Sprintf("%s  matches: every element within %s", shape, formatTolerance(tol))
	case c.Matches():
		return fmt.Sprintf("%s  matches: %d elements only within %s relative to their size (max relative error %.3g)", shape, c.RelativeOnly, formatTolerance(tol), c.MaxRelErr)
	case !c.Compared:
		return shape + "  DOES NOT MATCH: wrong shape"
	case c.Wrong == 0:
		return shape + "  DOES NOT MATCH: the values match once the axes of size 1 are dropped, but the shape differs"
	}
	return fmt.Sprintf("%s  DOES NOT MATCH: %d of %d elements wrong, max abs error %.3g", shape, c.Wrong, len(c.Expected.Data), c.MaxAbsErr)
}

// printMismatch writes the errors of an array that does not match and the
// known mistakes that reproduce it.
func printMismatch(w io.Writer, r *net.Report, c *net.Comparison) {
	if !c.Compared {
		fmt.Fprintf(w, "  your %s has shape %s; this layer's %s has shape %s\n", c.Name, trace.FormatShape(c.Given.Shape), c.Name, trace.FormatShape(c.Expected.Shape))
		for _, name := range r.Exercise.Order {
			if name != c.Name && slices.Equal(r.Exercise.Outputs[name].Shape, c.Given.Shape) {
				fmt.Fprintf(w, "  it has the shape of %s: check that --given-%s names the right file\n", name, strings.ReplaceAll(c.Name, "_", "-"))
			}
		}
	} else if !c.ShapeOK {
		fmt.Fprintf(w, "  your %s has shape %s; the course's %s has shape %s, so reshape it\n", c.Name, trace.FormatShape(c.Given.Shape), c.Name, trace.FormatShape(c.Expected.Shape))
	}
	if c.Compared && c.Wrong > 0 {
		fmt.Fprintf(w, "  %d of %d elements wrong, max abs error %.6g, max relative error %.3g\n", c.Wrong, len(c.Expected.Data), c.MaxAbsErr, c.MaxRelErr)
	}

	if len(c.Fingerprints) == 0 {
		fmt.Fprintf(w, "  known mistakes: %s\n", c.NoKnownMistake())
	}
	for _, fp := range c.Fingerprints {
		fmt.Fprintf(w, "  known mistake: your %s equals what you get when %s.\n", c.Name, fp.Mistake)
		fmt.Fprintf(w, "    fix: %s.\n", fp.Fix)
	}
}

// printFirstWrong writes the first wrong element, yours against the correct
// value, and the correct value's terms as 'cnndbg explain' prints them.
func printFirstWrong(w io.Writer, r *net.Report, c *net.Comparison, top int) error {
	if c.First == nil {
		return nil
	}
	x, err := r.ExplainFirst(c)
	if err != nil {
		return err
	}
	yours := c.Given.Data[offsetOf(c.Expected.Shape, c.First)]
	fmt.Fprintf(w, "\n  first wrong element (row-major order): %s%s\n", c.Name, formatIndex(c.First))
	fmt.Fprintf(w, "    yours   = %.17g\n", yours)
	fmt.Fprintf(w, "    correct = %.17g\n", x.Recorded)
	fmt.Fprintf(w, "    error   = %.6g\n\n", yours-x.Recorded)
	fmt.Fprintf(w, "  the correct value, term by term:\n")
	printExplanation(indented{w}, r.Exercise.Trace, x, top)
	return nil
}

// indented writes each line it is given with two more spaces in front.
type indented struct{ w io.Writer }

func (d indented) Write(p []byte) (int, error) {
	lines := strings.SplitAfter(string(p), "\n")
	var b strings.Builder
	for _, line := range lines {
		if line != "" && line != "\n" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	if _, err := io.WriteString(d.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// offsetOf returns the row-major offset of index in shape.
func offsetOf(shape, index []int) int {
	off := 0
	for k, n := range shape {
		off = off*n + index[k]
	}
	return off
}

// formatTolerance writes a tolerance as 1e-8 rather than Go's 1e-08.
func formatTolerance(tol float64) string {
	return strings.Replace(fmt.Sprintf("%g", tol), "e-0", "e-", 1)
}
