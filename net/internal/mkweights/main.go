// Command mkweights trains the built-in example's model (net.ExampleSpecJSON,
// initialized from net.ExampleSeed) on the 60,000 MNIST training images with
// mini-batch SGD through net.Train, prints its accuracy on the 10,000 test
// images, and writes the weights to net/example/weights.npz, which
// net.ExampleNetwork embeds. It finds the MNIST files with net.FindMNIST.
// Run it from the repository root, then regenerate the example's digits,
// whose choice depends on the weights:
//
//	go run ./net/internal/mkweights
//	go run ./net/internal/mkexample
//
// The defaults (3 epochs, batch 64, lr 0.1, seed 1) are the run that made
// the committed weights. It refuses to write weights below -min-accuracy.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cnndbg/cnndbg/net"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkweights:", err)
		os.Exit(1)
	}
}

func run() error {
	var opts net.TrainOptions
	flag.Float64Var(&opts.LR, "lr", 0.1, "learning rate")
	flag.IntVar(&opts.BatchSize, "batch", 64, "images per SGD step")
	flag.IntVar(&opts.Epochs, "epochs", 3, "passes over the training images")
	flag.Uint64Var(&opts.Seed, "seed", 1, "seed of the shuffle")
	out := flag.String("o", "net/example/weights.npz", "weights file to write (replaced if it exists)")
	minAccuracy := flag.Float64("min-accuracy", 0.98, "write nothing if the test accuracy is below this fraction")
	flag.Parse()

	dir, err := net.FindMNIST()
	if err != nil {
		return err
	}
	x, labels, err := net.LoadMNIST(dir, "train", 0, -1, nil, false)
	if err != nil {
		return err
	}
	testX, testLabels, err := net.LoadMNIST(dir, "test", 0, -1, nil, false)
	if err != nil {
		return err
	}
	n, err := net.NewNetwork(net.ExampleSpec(), net.ExampleSeed)
	if err != nil {
		return err
	}

	opts.Progress = func(p net.TrainProgress) {
		if p.EpochDone {
			acc, _ := net.Accuracy(n, testX, testLabels, 500)
			fmt.Fprintf(os.Stderr, "epoch %d/%d: mean loss %.4f, %.0f images/s, %s, test accuracy %.2f%%\n",
				p.Epoch, p.Epochs, p.MeanLoss, p.ImagesPerSecond(), p.Elapsed.Round(time.Second), 100*acc)
		}
	}
	start := time.Now()
	if _, err := net.Train(n, x, labels, opts); err != nil {
		return err
	}
	acc, err := net.Accuracy(n, testX, testLabels, 500)
	if err != nil {
		return err
	}
	fmt.Printf("trained %d epochs of %d images in %s: test accuracy %.2f%% on %d images\n",
		opts.Epochs, len(labels), time.Since(start).Round(time.Second), 100*acc, len(testLabels))
	if acc < *minAccuracy {
		return fmt.Errorf("test accuracy %.2f%% is below -min-accuracy %.2f%%: %s left unchanged", 100*acc, 100**minAccuracy, *out)
	}
	return net.SaveWeights(n, *out, true)
}
