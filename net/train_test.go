package net

import (
	"math"
	"strings"
	"sync"
	"testing"
)

// mnistDir finds the MNIST files once per test binary.
var mnistDir = sync.OnceValues(FindMNIST)

// loadMNISTOrSkip reads images [from, to) of an MNIST set, skipping the test
// if the files cannot be found.
func loadMNISTOrSkip(t testing.TB, set string, from, to int) (*Tensor, []int) {
	t.Helper()
	dir, err := mnistDir()
	if err != nil {
		t.Skipf("MNIST files not found, so this test cannot run (%v); fetch them with: go mod download %s", err, MNISTModule)
	}
	x, labels, err := LoadMNIST(dir, set, from, to, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	return x, labels
}

// tinySpec is a small conv net that trains in a second.
const tinySpec = `{"input": {"height": 28, "width": 28, "channels": 1},
 "layers": [
  {"name": "conv1", "type": "conv", "filters": 4, "size": 5, "stride": 1, "pad": 0},
  {"name": "relu1", "type": "relu"},
  {"name": "pool1", "type": "maxpool", "size": 4, "stride": 4},
  {"name": "flatten", "type": "flatten"},
  {"name": "fc1", "type": "dense", "units": 10},
  {"name": "loss", "type": "softmax_cross_entropy"}]}`

func newTinyNetwork(t testing.TB) *Network {
	t.Helper()
	spec, err := ParseSpec([]byte(tinySpec))
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNetwork(spec, 3)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTrainLowersLoss(t *testing.T) {
	x, labels := loadMNISTOrSkip(t, "train", 0, 512)
	n := newTinyNetwork(t)
	before := n.Step(x, labels, 0, nil).Loss

	var steps []TrainProgress
	res, err := Train(n, x, labels, TrainOptions{LR: 0.1, BatchSize: 32, Epochs: 1, Seed: 1,
		Progress: func(p TrainProgress) { steps = append(steps, p) }})
	if err != nil {
		t.Fatal(err)
	}
	after := n.Step(x, labels, 0, nil).Loss
	t.Logf("loss over the 512 images: %.4f before, %.4f after one epoch; epoch mean %.4f", before, after, res.EpochLoss[0])

	if !(after < before) {
		t.Errorf("loss %.4f after training, want below %.4f before", after, before)
	}
	if after > 0.8*before {
		t.Errorf("loss %.4f after training is more than 80%% of %.4f before", after, before)
	}
	if len(steps) != 512/32+1 {
		t.Fatalf("%d progress calls, want %d steps and one at the epoch's end", len(steps), 512/32+1)
	}
	last := steps[len(steps)-1]
	if !last.EpochDone || last.Images != 512 || last.EpochImages != 512 {
		t.Errorf("last progress call = %+v, want EpochDone with 512 of 512 images", last)
	}
	if steps[0].EpochDone || steps[0].Images != 32 {
		t.Errorf("first progress call = %+v, want 32 images and not EpochDone", steps[0])
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	x, labels := loadMNISTOrSkip(t, "train", 0, 96)
	train := func(seed uint64) []float64 {
		n := newTinyNetwork(t)
		res, err := Train(n, x, labels, TrainOptions{LR: 0.05, BatchSize: 40, Epochs: 2, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return res.EpochLoss
	}
	first, again, other := train(7), train(7), train(8)
	if first[0] != again[0] || first[1] != again[1] {
		t.Errorf("same seed gave epoch losses %v and %v", first, again)
	}
	if first[0] == other[0] {
		t.Errorf("seeds 7 and 8 gave the same first epoch loss %v: the shuffle ignores the seed", first[0])
	}
}

func TestTrainRejectsBadOptions(t *testing.T) {
	n := newTinyNetwork(t)
	x := NewTensor(4, 28, 28, 1)
	labels := []int{0, 1, 2, 3}
	cases := []struct {
		name string
		opts TrainOptions
		want string
	}{
		{"negative lr", TrainOptions{LR: -1, BatchSize: 2, Epochs: 1}, "learning rate"},
		{"NaN lr", TrainOptions{LR: math.NaN(), BatchSize: 2, Epochs: 1}, "learning rate"},
		{"zero batch", TrainOptions{LR: 0.1, BatchSize: 0, Epochs: 1}, "batch size"},
		{"zero epochs", TrainOptions{LR: 0.1, BatchSize: 2, Epochs: 0}, "epochs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Train(n, x, labels, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one naming %q", err, c.want)
			}
		})
	}
	if _, err := Train(n, x, labels[:3], TrainOptions{LR: 0.1, BatchSize: 2, Epochs: 1}); err == nil {
		t.Error("3 labels for 4 images: no error")
	}
}

func TestTrainStopsOnNonFiniteLoss(t *testing.T) {
	n := newTinyNetwork(t)
	w := n.Layer("fc1").(Parametric).Params()[0].Value.Clone()
	w.Data[0] = math.Inf(1)
	n.Layer("fc1").(Parametric).SetParam("W", w)
	x := NewTensor(8, 28, 28, 1)
	for k := range x.Data {
		x.Data[k] = 1
	}
	_, err := Train(n, x, make([]int, 8), TrainOptions{LR: 0.1, BatchSize: 4, Epochs: 1, Seed: 1})
	if err == nil || !strings.Contains(err.Error(), "epoch 1, step 1 of 2") {
		t.Errorf("an infinite weight: error %v, want the loss to be reported non-finite at epoch 1, step 1", err)
	}
}

func TestAccuracyCountsArgmax(t *testing.T) {
	spec, err := ParseSpec([]byte(`{"input": {"height": 1, "width": 1, "channels": 2},
	 "layers": [{"name": "flatten", "type": "flatten"}, {"name": "fc", "type": "dense", "units": 2},
	  {"name": "loss", "type": "softmax_cross_entropy"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNetwork(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Identity weights: the predicted class is the larger input channel.
	n.Layer("fc").(Parametric).SetParam("W", FromData([]float64{1, 0, 0, 1}, 2, 2))
	x := FromData([]float64{2, 1, 0, 3, 5, 4}, 3, 1, 1, 2)
	acc, err := Accuracy(n, x, []int{0, 1, 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if acc != 2.0/3 {
		t.Errorf("accuracy %v, want 2/3", acc)
	}
}

// Run with
//
//	go test ./net -run '^$' -bench 'Train' -benchtime 5x -count 3
//
// BenchmarkTrainExample trains the built-in example's model on 640 MNIST
// training images (10 steps of 64) per iteration and reports images/s.
func BenchmarkTrainExample(b *testing.B) {
	x, labels := loadMNISTOrSkip(b, "train", 0, 640)
	n, err := NewNetwork(ExampleSpec(), ExampleSeed)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Train(n, x, labels, TrainOptions{LR: 0.05, BatchSize: 64, Epochs: 1, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(640*b.N)/b.Elapsed().Seconds(), "images/s")
}
