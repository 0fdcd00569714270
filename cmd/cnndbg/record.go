package main

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// stepFlags choose the model, weights, batch and hyperparameters of a step.
// Every flag is optional: the defaults give the built-in example.
type stepFlags struct {
	model, weights, input, labels string
	mnist, set, index             string
	lr                            float64
	seed                          uint64
	resize                        bool
	// seedGiven is set when --seed is on the command line, which makes the
	// built-in model start from seeded weights instead of its trained ones.
	seedGiven func() bool
	// warnings returns the writer for notes about the inputs: the
	// command's stderr.
	warnings func() io.Writer
}

func (f *stepFlags) register(cmd *cobra.Command) {
	f.seedGiven = func() bool { return cmd.Flags().Changed("seed") }
	f.warnings = cmd.ErrOrStderr
	cmd.Flags().StringVar(&f.model, "model", "", "model spec `FILE` (JSON); default: the built-in LeNet-style model")
	cmd.Flags().StringVar(&f.weights, "weights", "", "weights `FILE` (.npz with keys <layer>.W and <layer>.b); missing weights are drawn from --seed")
	cmd.Flags().StringVar(&f.input, "input", "", "input `FILE`: .npy of shape (m, n_H, n_W[, n_C]), or a PNG or PGM image; default: the built-in 64 MNIST digits")
	cmd.Flags().StringVar(&f.labels, "labels", "", "class labels: a .npy `FILE` of shape (m,) or a comma-separated list such as 7 or 7,2,1")
	cmd.Flags().StringVar(&f.mnist, "mnist", "", "read the batch and its labels from the MNIST IDX files in `DIR` (train-images-idx3-ubyte[.gz], t10k-…), instead of --input and --labels")
	cmd.Flags().StringVar(&f.set, "set", "", "`test|train`: the MNIST set that --index reads, test (10,000 digits, the default) or train (60,000)")
	cmd.Flags().StringVar(&f.index, "index", "", "MNIST digits to take: one index N or a range `FROM:TO`, TO excluded, e.g. 7 or 0:64; default 0:64")
	cmd.Flags().Float64Var(&f.lr, "lr", net.ExampleLR, "learning rate of the SGD update")
	// The default is 0 only so that --help shows none: an omitted --seed
	// means trained weights for the built-in model, and seed 1 otherwise.
	cmd.Flags().Uint64Var(&f.seed, "seed", 0, "draw untrained weights from this seed; without --seed and --weights the built-in model has trained weights, and weights --weights lacks are drawn from seed 1")
	cmd.Flags().BoolVar(&f.resize, "resize", false, "resize input images to the model's input size instead of rejecting them")
}

// step is a network with a batch, ready to run.
type step struct {
	net    *net.Network
	x      *net.Tensor
	labels []int
	lr     float64
}

// load builds the network and batch the flags describe.
func (f *stepFlags) load() (*step, error) {
	if err := f.checkSources(); err != nil {
		return nil, err
	}
	seed := f.seed
	if !f.seedGiven() {
		seed = net.ExampleSeed
	}
	n, err := loadNetwork(f.model, f.weights, seed, f.seedGiven(), f.warnings())
	if err != nil {
		return nil, err
	}
	s := &step{net: n, lr: f.lr}
	switch {
	case f.mnist != "":
		if s.x, s.labels, err = f.loadMNIST(n); err != nil {
			return nil, err
		}
	case f.input == "" && f.model != "":
		return nil, badInputf("--model %s needs --input and --labels, or --mnist DIR: the built-in digits fit only the built-in model", f.model)
	case f.input == "":
		if f.labels != "" {
			return nil, badInputf("--labels needs --input: the built-in digits come with their own labels")
		}
		if s.x, s.labels, err = net.ExampleBatch(net.ExampleBatchSize); err != nil {
			return nil, err
		}
	default:
		if f.labels == "" {
			return nil, badInputf("--input %s needs --labels: give one class index per input, e.g. --labels 7", f.input)
		}
		if s.x, err = net.LoadInput(f.input, n.InputShape(), f.resize); err != nil {
			return nil, badInput(fmt.Errorf("--input: %w", err))
		}
		if s.labels, err = net.ReadLabels(f.labels); err != nil {
			return nil, badInput(fmt.Errorf("--labels: %w", err))
		}
	}
	if err := n.CheckBatch(s.x, s.labels); err != nil {
		return nil, badInput(err)
	}
	if f.lr < 0 || f.lr != f.lr {
		return nil, badInputf("--lr %v: the learning rate must be a number ≥ 0", f.lr)
	}
	return s, nil
}

// checkSources rejects flags that name two sources for the batch, and MNIST
// flags without --mnist.
func (f *stepFlags) checkSources() error {
	switch {
	case f.mnist != "" && f.input != "":
		return badInputf("--mnist and --input both give the batch: pass only one")
	case f.mnist != "" && f.labels != "":
		return badInputf("--labels conflicts with --mnist: the labels come from the MNIST label file, so drop --labels")
	case f.mnist == "" && f.index != "":
		return badInputf("--index %s needs --mnist DIR: it picks digits from the MNIST files", f.index)
	case f.mnist == "" && f.set != "":
		return badInputf("--set %s needs --mnist DIR: it picks the MNIST file that --index reads", f.set)
	}
	return nil
}

// loadMNIST reads the digits --index picks from the --set of --mnist.
func (f *stepFlags) loadMNIST(n *net.Network) (*net.Tensor, []int, error) {
	set, err := mnistSet(f.set)
	if err != nil {
		return nil, nil, err
	}
	from, to := 0, net.ExampleBatchSize
	if f.index != "" {
		if from, to, err = net.ParseIndexRange(f.index); err != nil {
			return nil, nil, badInput(fmt.Errorf("--index: %w", err))
		}
	}
	x, labels, err := net.LoadMNIST(f.mnist, set, from, to, n.InputShape(), f.resize)
	if err != nil {
		return nil, nil, badInput(fmt.Errorf("--mnist: %w", err))
	}
	return x, labels, nil
}

// mnistSet checks the --set value, where "" means the test set.
func mnistSet(set string) (string, error) {
	switch set {
	case "", "test":
		return "test", nil
	case "train":
		return "train", nil
	}
	return "", badInputf("--set %q: unknown MNIST set: use test or train", set)
}

// loadNetwork builds the network of the model spec file (the built-in model
// if model is ""), with weights from the .npz file if given and the rest
// drawn from seed. The built-in model gets its trained weights unless a
// weights file or a seed is given. Parameters the weights file lacks are
// named on warn, because a partial file otherwise looks like a trained
// model that forgot everything.
func loadNetwork(model, weights string, seed uint64, seedGiven bool, warn io.Writer) (*net.Network, error) {
	if model == "" && weights == "" && !seedGiven {
		return net.ExampleNetwork(), nil
	}
	spec := net.ExampleSpec()
	if model != "" {
		var err error
		if spec, err = net.LoadSpec(model); err != nil {
			return nil, badInput(fmt.Errorf("--model: %w", err))
		}
	}
	n, err := net.NewNetwork(spec, seed)
	if err != nil {
		return nil, badInput(err)
	}
	if weights != "" {
		if err := net.LoadWeights(n, weights); err != nil {
			return nil, badInput(fmt.Errorf("--weights: %w", err))
		}
		if missing := missingWeights(n, weights); len(missing) > 0 {
			fmt.Fprintf(warn, "cnndbg: note: --weights %s has no %s: drawn from --seed %d\n", weights, strings.Join(missing, ", "), seed)
		}
	}
	return n, nil
}

// missingWeights lists the parameters of n, as <layer>.W and <layer>.b,
// that the weights file at path does not contain.
func missingWeights(n *net.Network, path string) []string {
	arrays, err := net.ReadNPZ(path)
	if err != nil {
		return nil
	}
	var missing []string
	for _, l := range n.Layers {
		p, ok := l.(net.Parametric)
		if !ok {
			continue
		}
		for _, param := range p.Params() {
			if key := l.Name() + "." + param.Role; arrays[key] == nil {
				missing = append(missing, key)
			}
		}
	}
	return missing
}

// record runs the step with a recorder and returns the trace.
func (s *step) record() *trace.Trace {
	rec := trace.NewRecorder(s.net.Spec.JSON())
	s.net.Step(s.x, s.labels, s.lr, rec)
	return rec.Trace()
}

func newRecordCommand(stdout, stderr io.Writer) *cobra.Command {
	var flags stepFlags
	var out string
	var force bool
	var steps int
	var inputScale float64
	cmd := &cobra.Command{
		Use:   "record -o TRACE [--model F] [--weights F] [--input F] [--labels L] [--lr X] [--seed N] [--steps N] [--input-scale X]",
		Short: "Record training steps to a trace file, without a screen",
		Long: `record runs one SGD step (or --steps N consecutive steps on the same batch)
and writes every operation and tensor to a trace file for view, explain,
export and diff. Tensors of step k > 0 are named s<k>/<layer>.<role>, such
as s2/conv1.dW. With --steps N it also prints the loss and each layer's
gradient norm per step, with a sparkline.

To watch a gradient blow up, record several steps with a learning rate
far too large: with --steps 3 --lr 1e200 the first step is finite, its
update makes the weights about 1e197, and in the second step conv2's
products overflow to +Inf and −Inf, which add to NaN. --input-scale X
multiplies the batch by X before the first step: with --seed 1 (untrained
weights), --steps 3 and --input-scale 1e200, the loss of step 0 stays
finite, because it uses log-sum-exp, and step 1's conv1 products overflow.
'cnndbg explain TRACE --first-nonfinite' then finds where.`,
		Example: `  cnndbg record -o step.cnndbg
  cnndbg record -o seven.cnndbg --input my_digit.png --labels 7
  cnndbg record -o mine.cnndbg --model lenet.json --weights lenet.npz --input x.npy --labels y.npy
  cnndbg record -o five.cnndbg --steps 5
  cnndbg record -o blowup.cnndbg --steps 3 --lr 1e200
  cnndbg record -o scaled.cnndbg --steps 3 --seed 1 --input-scale 1e200`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return badInputf("record needs -o TRACE: the file to write the trace to")
			}
			if steps < 1 || steps > maxRecordSteps {
				return badInputf("--steps %d: record between 1 and %d steps", steps, maxRecordSteps)
			}
			if inputScale != inputScale || math.IsInf(inputScale, 0) {
				return badInputf("--input-scale %v: give a finite factor such as 1e200", inputScale)
			}
			s, err := flags.load()
			if err != nil {
				return err
			}
			if inputScale != 1 {
				s.x = scaleTensor(s.x, inputScale)
			}
			tr := s.recordSteps(steps)
			if err := trace.Write(out, tr, force); err != nil {
				return badInput(err)
			}
			return printRecorded(stdout, tr, out)
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "trace `FILE` to write (a zip that numpy.load opens)")
	cmd.Flags().BoolVar(&force, "force", false, "replace the output file if it exists")
	cmd.Flags().IntVar(&steps, "steps", 1, "number of consecutive SGD steps on the batch to record in one trace")
	cmd.Flags().Float64Var(&inputScale, "input-scale", 1, "multiply the input batch by the factor `X` before the first step, e.g. 1e200 with --seed 1 to make the steps overflow on purpose")
	return cmd
}

// maxRecordSteps bounds --steps: each step stores all its tensors, about
// 5 MB at batch 64 for the built-in model.
const maxRecordSteps = 1000

// recordSteps runs steps SGD steps with a recorder and returns the trace.
func (s *step) recordSteps(steps int) *trace.Trace {
	if steps == 1 {
		return s.record()
	}
	rec := trace.NewRecorder(s.net.Spec.JSON())
	s.net.RunSteps(s.x, s.labels, s.lr, steps, rec)
	return rec.Trace()
}

// scaleTensor returns factor·x as a new tensor.
func scaleTensor(x *net.Tensor, factor float64) *net.Tensor {
	scaled := x.Clone()
	for k := range scaled.Data {
		scaled.Data[k] *= factor
	}
	return scaled
}

// printRecorded prints what record wrote: a line for one step, and the
// per-step plot for several. It points to explain --first-nonfinite when the
// trace holds a NaN or an infinity.
func printRecorded(stdout io.Writer, tr *trace.Trace, out string) error {
	if tr.Steps() <= 1 {
		loss, _ := tr.Value(tr.Tensor("loss").ID, 0)
		fmt.Fprintf(stdout, "recorded %d events, %d tensors, loss %.6g → %s\n", len(tr.Events), len(tr.Tensors), loss, out)
	} else {
		summaries, err := net.StepSummaries(tr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "recorded %d steps, %d events, %d tensors → %s\n\n", tr.Steps(), len(tr.Events), len(tr.Tensors), out)
		fmt.Fprint(stdout, net.FormatStepSummaries(summaries))
	}
	if i := tr.FirstNonFiniteEvent(0); i >= 0 {
		e := tr.Events[i]
		fmt.Fprintf(stdout, "NaN or Inf first appears in event %d (step %d, %s %s %s): run cnndbg explain %s --first-nonfinite\n",
			i, e.Step, e.Layer, e.Kind, e.Phase, out)
	}
	return nil
}

func newViewCommand(stdout, stderr io.Writer) *cobra.Command {
	var screen screenFlags
	cmd := &cobra.Command{
		Use:     "view TRACE",
		Short:   "Open the debugger on a recorded trace",
		Example: "  cnndbg view step.cnndbg",
		Args:    exactArgs("TRACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tr, err := trace.Open(args[0])
			if err != nil {
				return badInput(err)
			}
			defer tr.Close()
			return show(stdout, tr, screen, "trace "+strings.TrimSpace(args[0]))
		},
	}
	screen.register(cmd)
	return cmd
}
