package net

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"strings"
)

// The built-in example's files, regenerated from the repository root with
//
//	go run ./net/internal/mkweights   # example/weights.npz, about 3 minutes on 2 cores
//	go run ./net/internal/mkexample   # example/digits-*, which depend on the weights
//
// weights.npz holds the parameters of ExampleSpecJSON after 3 epochs of SGD
// (batch 64, lr 0.1) on the 60,000 MNIST training images, starting from
// ExampleSeed; they classify 98.62% of the 10,000 test images correctly.
// The digits are MNIST test images: the first 63, then the first later one
// that the trained weights misclassify, so the example shows a mistake. The
// MNIST files (CC BY-SA 3.0, Yann LeCun and Corinna Cortes) come from the Go
// module MNISTModule.
//
//go:embed example/digits-images-idx3-ubyte.gz example/digits-labels-idx1-ubyte.gz example/weights.npz
var exampleFiles embed.FS

// ExampleSpecJSON is the built-in LeNet-style model: conv 5×5 → ReLU → max
// pool → conv 5×5 → ReLU → average pool → flatten → dense 10 → softmax
// cross-entropy, on 28×28 grey digits.
const ExampleSpecJSON = `{
  "input": {"height": 28, "width": 28, "channels": 1},
  "layers": [
    {"name": "conv1", "type": "conv", "filters": 6, "size": 5, "stride": 1, "pad": 2},
    {"name": "relu1", "type": "relu"},
    {"name": "pool1", "type": "maxpool", "size": 2, "stride": 2},
    {"name": "conv2", "type": "conv", "filters": 16, "size": 5, "stride": 1, "pad": 0},
    {"name": "relu2", "type": "relu"},
    {"name": "pool2", "type": "avgpool", "size": 2, "stride": 2},
    {"name": "flatten", "type": "flatten"},
    {"name": "fc1", "type": "dense", "units": 10},
    {"name": "loss", "type": "softmax_cross_entropy"}
  ]
}`

// ExampleLR is the learning rate of the built-in example's step.
const ExampleLR = 0.1

// ExampleSeed seeds the built-in example's weights.
const ExampleSeed = 1

// ExampleBatchSize is the number of digits embedded for the built-in example.
const ExampleBatchSize = 64

// ExampleSpec returns the built-in model spec.
func ExampleSpec() *Spec {
	s, err := ParseSpec([]byte(ExampleSpecJSON))
	if err != nil {
		panic("net: built-in spec is invalid: " + err.Error())
	}
	return s
}

// ExampleBatch returns the first m embedded MNIST test digits, (m, 28, 28, 1)
// in [0, 1], and their labels. m must be in [1, ExampleBatchSize]. The last
// digit is one that ExampleNetwork misclassifies.
func ExampleBatch(m int) (*Tensor, []int, error) {
	if m < 1 || m > ExampleBatchSize {
		return nil, nil, fmt.Errorf("the built-in example has %d digits, cannot take %d", ExampleBatchSize, m)
	}
	images, err := gunzipEmbedded("example/digits-images-idx3-ubyte.gz")
	if err != nil {
		return nil, nil, err
	}
	labelBytes, err := gunzipEmbedded("example/digits-labels-idx1-ubyte.gz")
	if err != nil {
		return nil, nil, err
	}
	x, err := decodeIDXImages(bytes.NewReader(images), "built-in digits", 0, m)
	if err != nil {
		return nil, nil, err
	}
	labels, err := decodeIDXLabels(bytes.NewReader(labelBytes), "built-in labels", 0, m)
	if err != nil {
		return nil, nil, err
	}
	return x, labels, nil
}

func gunzipEmbedded(name string) ([]byte, error) {
	f, err := exampleFiles.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(zr); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ExampleNetwork returns the built-in network with its trained weights.
func ExampleNetwork() *Network {
	n, err := NewNetwork(ExampleSpec(), ExampleSeed)
	if err != nil {
		panic("net: built-in network: " + err.Error())
	}
	if err := setExampleWeights(n); err != nil {
		panic("net: built-in weights: " + err.Error())
	}
	return n
}

// setExampleWeights sets every parameter of n from the embedded
// example/weights.npz, decoded as ReadNPZ and LoadWeights decode a file.
func setExampleWeights(n *Network) error {
	const name = "example/weights.npz"
	data, err := exampleFiles.ReadFile(name)
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}

	slots, keys := weightSlots(n)
	arrays := map[string]*Tensor{}
	for _, member := range zr.File {
		key := strings.TrimSuffix(member.Name, ".npy")
		if _, ok := slots[key]; !ok {
			return fmt.Errorf("%s: unknown member %s", name, member.Name)
		}
		t, err := readNPZMember(name, member, key, MaxElements, MaxElements)
		if err != nil {
			return err
		}
		if arrays[key], err = fitWeight(name, key, slots[key], t); err != nil {
			return err
		}
	}
	for _, key := range keys {
		if _, ok := arrays[key]; !ok {
			return fmt.Errorf("%s: no %s", name, key)
		}
	}
	for _, key := range keys {
		slots[key].layer.SetParam(slots[key].role, arrays[key])
	}
	return nil
}
