package net

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// TrainOptions are the hyperparameters of Train.
type TrainOptions struct {
	// LR is the SGD learning rate, ≥ 0.
	LR float64
	// BatchSize is the number of images per step, ≥ 1. The last batch of an
	// epoch is smaller when BatchSize does not divide the image count.
	BatchSize int
	// Epochs is the number of passes over the images, ≥ 1.
	Epochs int
	// Seed seeds the shuffle of each epoch.
	Seed uint64
	// Progress, if not nil, is called after every step and once more at the
	// end of each epoch with EpochDone set.
	Progress func(TrainProgress)
}

// TrainProgress is the state of training after one step.
type TrainProgress struct {
	// Epoch counts from 1 to Epochs.
	Epoch, Epochs int
	// Images is the number of images trained on so far in this epoch, out
	// of EpochImages.
	Images, EpochImages int
	// Loss is the last step's mean loss over its batch.
	Loss float64
	// MeanLoss is the mean loss per image over this epoch so far.
	MeanLoss float64
	// Elapsed is the time since the epoch started.
	Elapsed time.Duration
	// EpochDone is set on the extra call after the epoch's last step.
	EpochDone bool
}

// ImagesPerSecond returns the epoch's training throughput so far.
func (p TrainProgress) ImagesPerSecond() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Images) / p.Elapsed.Seconds()
}

// TrainResult is the record of a Train run, one entry per epoch.
type TrainResult struct {
	// EpochLoss is the mean training loss per image of each epoch.
	EpochLoss []float64
	// EpochTime is the wall time of each epoch.
	EpochTime []time.Duration
}

// Train runs mini-batch SGD on n over the images x (m, n_H, n_W, n_C) with
// class labels: for each epoch it shuffles the images with a generator
// seeded by opts.Seed and the epoch number, then calls n.Step on each batch
// without a recorder, the same code that records a step for the debugger.
// It returns an error, before training, if the options or the batch are
// invalid (see Network.CheckBatch), and stops with an error naming the epoch
// and step if the loss becomes NaN or infinite. On error n may have been
// partly trained.
func Train(n *Network, x *Tensor, labels []int, opts TrainOptions) (*TrainResult, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := n.CheckBatch(x, labels); err != nil {
		return nil, err
	}

	m := x.Shape[0]
	steps := (m + opts.BatchSize - 1) / opts.BatchSize
	res := &TrainResult{}
	for epoch := 1; epoch <= opts.Epochs; epoch++ {
		start := time.Now()
		order := rand.New(rand.NewPCG(opts.Seed, uint64(epoch))).Perm(m)
		lossSum := 0.0
		progress := TrainProgress{Epoch: epoch, Epochs: opts.Epochs, EpochImages: m}
		for step := range steps {
			indices := order[step*opts.BatchSize : min((step+1)*opts.BatchSize, m)]
			xb, yb := gatherBatch(x, labels, indices)
			loss := n.Step(xb, yb, opts.LR, nil).Loss
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return res, fmt.Errorf("the loss became %v at epoch %d, step %d of %d: lower the learning rate", loss, epoch, step+1, steps)
			}

			lossSum += loss * float64(len(indices))
			progress.Images += len(indices)
			progress.Loss = loss
			progress.MeanLoss = lossSum / float64(progress.Images)
			progress.Elapsed = time.Since(start)
			if opts.Progress != nil {
				opts.Progress(progress)
			}
		}
		res.EpochLoss = append(res.EpochLoss, progress.MeanLoss)
		res.EpochTime = append(res.EpochTime, time.Since(start))
		if opts.Progress != nil {
			progress.EpochDone = true
			progress.Elapsed = time.Since(start)
			opts.Progress(progress)
		}
	}
	return res, nil
}

func (o TrainOptions) check() error {
	switch {
	case !(o.LR >= 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("learning rate %v: must be a number ≥ 0", o.LR)
	case o.BatchSize < 1:
		return fmt.Errorf("batch size %d: must be ≥ 1", o.BatchSize)
	case o.Epochs < 1:
		return fmt.Errorf("epochs %d: must be ≥ 1", o.Epochs)
	}
	return nil
}

// gatherBatch copies the images and labels at indices into a new batch.
func gatherBatch(x *Tensor, labels []int, indices []int) (*Tensor, []int) {
	size := len(x.Data) / x.Shape[0]
	shape := append([]int{len(indices)}, x.Shape[1:]...)
	xb := NewTensor(shape...)
	yb := make([]int, len(indices))
	for k, i := range indices {
		copy(xb.Data[k*size:(k+1)*size], x.Data[i*size:(i+1)*size])
		yb[k] = labels[i]
	}
	return xb, yb
}

// Accuracy returns the fraction of the images x whose most probable class
// under n is their label, running the forward pass only, batchSize images
// at a time. It returns an error if the batch does not fit n (see
// Network.CheckBatch) or batchSize < 1.
func Accuracy(n *Network, x *Tensor, labels []int, batchSize int) (float64, error) {
	if batchSize < 1 {
		return 0, fmt.Errorf("batch size %d: must be ≥ 1", batchSize)
	}
	if err := n.CheckBatch(x, labels); err != nil {
		return 0, err
	}
	m := x.Shape[0]
	correct := 0
	for from := 0; from < m; from += batchSize {
		to := min(from+batchSize, m)
		size := len(x.Data) / m
		xb := FromData(x.Data[from*size:to*size], append([]int{to - from}, x.Shape[1:]...)...)
		probs := n.Predict(xb)
		for i := range to - from {
			if argmaxRow(probs, i) == labels[from+i] {
				correct++
			}
		}
	}
	return float64(correct) / float64(m), nil
}

// argmaxRow returns the column of the largest value in row i of the 2-D
// tensor t, the first one if several are equal.
func argmaxRow(t *Tensor, i int) int {
	_, cols := t.dims2()
	row := t.Data[i*cols : (i+1)*cols]
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}
