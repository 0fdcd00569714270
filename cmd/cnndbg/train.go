package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cnndbg/cnndbg/net"
)

// trainFlags are the flags of cnndbg train.
type trainFlags struct {
	model, weights, mnist, out string
	opts                       net.TrainOptions
	limit                      int
	resize, force              bool
}

func newTrainCommand(stdout, stderr io.Writer) *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train -o WEIGHTS.npz [--model F] [--mnist DIR] [--lr X] [--batch N] [--epochs N] [--seed N] [--limit N]",
		Short: "Train a model on MNIST with mini-batch SGD and save its weights",
		Long: `train runs mini-batch SGD on the MNIST training images, with the same
forward, backward and update code that cnndbg records for the debugger, and
writes the weights as an .npz file that --weights reads. Each epoch shuffles
the images with --seed and ends with a line on stdout giving the accuracy on
the 10,000 test images.

Without --mnist it uses the MNIST files of the Go module
` + net.MNISTModule + `,
looked up in the Go module cache (and downloaded by 'go mod download' if
missing), which needs the go command.

The model starts from weights drawn from --seed, or from --weights.`,
		Example: `  cnndbg train -o lenet.npz
  cnndbg train -o small.npz --model small.json --mnist ~/data/mnist --epochs 1 --limit 10000
  cnndbg record -o step.cnndbg --weights lenet.npz --mnist ~/data/mnist --index 0:64`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrain(stdout, stderr, f)
		},
	}
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "weights `FILE` to write (.npz with keys <layer>.W and <layer>.b)")
	cmd.Flags().BoolVar(&f.force, "force", false, "replace the output file if it exists")
	cmd.Flags().StringVar(&f.model, "model", "", "model spec `FILE` (JSON); default: the built-in LeNet-style model")
	cmd.Flags().StringVar(&f.weights, "weights", "", "start from the weights in `FILE` (.npz) instead of weights drawn from --seed")
	cmd.Flags().StringVar(&f.mnist, "mnist", "", "folder `DIR` with the MNIST IDX files (train-images-idx3-ubyte[.gz], t10k-…); default: the GoMNIST module's copy")
	cmd.Flags().Float64Var(&f.opts.LR, "lr", 0.1, "learning rate of the SGD updates")
	cmd.Flags().IntVar(&f.opts.BatchSize, "batch", 64, "images per SGD step")
	cmd.Flags().IntVar(&f.opts.Epochs, "epochs", 3, "passes over the training images")
	cmd.Flags().Uint64Var(&f.opts.Seed, "seed", net.ExampleSeed, "seed of the initial weights and of the shuffle")
	cmd.Flags().IntVar(&f.limit, "limit", 0, "train on the first `N` training images only (0: all 60,000)")
	cmd.Flags().BoolVar(&f.resize, "resize", false, "resize the 28×28 digits to the model's input size instead of rejecting the model")
	return cmd
}

// runTrain checks the flags, loads the data, trains and writes the weights.
func runTrain(stdout, stderr io.Writer, f trainFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	n, err := loadNetwork(f.model, f.weights, f.opts.Seed, true, stderr)
	if err != nil {
		return err
	}
	dir := f.mnist
	if dir == "" {
		if dir, err = net.FindMNIST(); err != nil {
			return badInput(err)
		}
	}
	to := -1
	if f.limit > 0 {
		to = f.limit
	}
	x, labels, err := net.LoadMNIST(dir, "train", 0, to, n.InputShape(), f.resize)
	if err != nil {
		return badInput(fmt.Errorf("--mnist: %w", err))
	}
	testX, testLabels, err := net.LoadMNIST(dir, "test", 0, -1, n.InputShape(), f.resize)
	if err != nil {
		return badInput(fmt.Errorf("--mnist: %w", err))
	}
	if err := n.CheckBatch(x, labels); err != nil {
		return badInput(fmt.Errorf("the MNIST training images do not fit the model: %w", err))
	}
	if err := n.CheckBatch(testX, testLabels); err != nil {
		return badInput(fmt.Errorf("the MNIST test images do not fit the model: %w", err))
	}

	fmt.Fprintf(stderr, "training on %d images from %s: %d epochs, batch %d, lr %g, seed %d\n",
		len(labels), dir, f.opts.Epochs, f.opts.BatchSize, f.opts.LR, f.opts.Seed)
	report := newTrainReport(stdout, stderr, interactive(stderr), func() (float64, error) {
		return net.Accuracy(n, testX, testLabels, 500)
	})
	opts := f.opts
	opts.Progress = report.progress
	if _, err := net.Train(n, x, labels, opts); err != nil {
		report.clearBar()
		return err
	}
	if report.err != nil {
		return report.err
	}
	if err := net.SaveWeights(n, f.out, f.force); err != nil {
		return badInput(err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", f.out)
	return nil
}

// check rejects invalid flags before any data is read, so a long run does
// not end in an error about the output file.
func (f trainFlags) check() error {
	switch {
	case f.out == "":
		return badInputf("train needs -o FILE: the .npz file to write the weights to")
	case !(f.opts.LR >= 0) || math.IsInf(f.opts.LR, 1):
		return badInputf("--lr %v: the learning rate must be a number ≥ 0", f.opts.LR)
	case f.opts.BatchSize < 1:
		return badInputf("--batch %d: the batch size must be ≥ 1", f.opts.BatchSize)
	case f.opts.Epochs < 1:
		return badInputf("--epochs %d: train at least 1 epoch", f.opts.Epochs)
	case f.limit < 0:
		return badInputf("--limit %d: give a number of images ≥ 1, or 0 for all", f.limit)
	}
	switch info, err := os.Stat(f.out); {
	case err == nil && !f.force:
		return badInputf("%s already exists: pass --force to replace it, or choose another name", f.out)
	case err == nil && !info.Mode().IsRegular():
		return badInputf("%s is not a regular file: choose another name", f.out)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return badInputf("%s: cannot check the output file: %v", f.out, err)
	}
	if info, err := os.Stat(filepath.Dir(f.out)); err != nil || !info.IsDir() {
		return badInputf("%s: the folder %s does not exist: create it or choose another output file", f.out, filepath.Dir(f.out))
	}
	return nil
}

// trainReport prints training progress: a redrawn progress bar on a
// terminal's stderr, or one plain line per epoch otherwise, and each epoch's
// test accuracy on stdout.
type trainReport struct {
	stdout, stderr io.Writer
	terminal       bool
	accuracy       func() (float64, error)
	lastDraw       time.Time
	barDrawn       bool
	err            error
}

func newTrainReport(stdout, stderr io.Writer, terminal bool, accuracy func() (float64, error)) *trainReport {
	return &trainReport{stdout: stdout, stderr: stderr, terminal: terminal, accuracy: accuracy}
}

// barRedrawInterval limits how often the progress bar is redrawn.
const barRedrawInterval = 100 * time.Millisecond

func (r *trainReport) progress(p net.TrainProgress) {
	if !p.EpochDone {
		if r.terminal && time.Since(r.lastDraw) >= barRedrawInterval {
			r.drawBar(p)
		}
		return
	}

	r.clearBar()
	if !r.terminal {
		fmt.Fprintf(r.stderr, "epoch %d/%d: %d images in %s, %.0f images/s, mean loss %.4f\n",
			p.Epoch, p.Epochs, p.Images, p.Elapsed.Round(100*time.Millisecond), p.ImagesPerSecond(), p.MeanLoss)
	}
	acc, err := r.accuracy()
	if err != nil {
		r.err = err
		return
	}
	fmt.Fprintf(r.stdout, "epoch %d/%d: train loss %.4f, test accuracy %.2f%%\n", p.Epoch, p.Epochs, p.MeanLoss, 100*acc)
}

// barWidth is the number of cells of the progress bar.
const barWidth = 30

func (r *trainReport) drawBar(p net.TrainProgress) {
	done := barWidth * p.Images / p.EpochImages
	bar := strings.Repeat("█", done) + strings.Repeat("░", barWidth-done)
	fmt.Fprintf(r.stderr, "\repoch %d/%d %s %d/%d  loss %.4f  %.0f images/s\x1b[K",
		p.Epoch, p.Epochs, bar, p.Images, p.EpochImages, p.MeanLoss, p.ImagesPerSecond())
	r.lastDraw = time.Now()
	r.barDrawn = true
}

// clearBar erases the progress bar's line, if one was drawn.
func (r *trainReport) clearBar() {
	if r.barDrawn {
		fmt.Fprint(r.stderr, "\r\x1b[K")
		r.barDrawn = false
	}
}
