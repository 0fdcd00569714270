// Command mkexample writes the built-in example's 64 digits, as gzip IDX
// files in net/example: MNIST test images chosen so that the trained
// built-in network (net.ExampleNetwork) gets at least one of them wrong. If
// it misclassifies one of the first 64 test images, those are the digits;
// otherwise they are the first 63 and the first later image it
// misclassifies. It finds the MNIST files with net.FindMNIST and prints the
// chosen indices and the mistakes. Run it from the repository root after
// go run ./net/internal/mkweights, because the choice depends on the
// embedded weights:
//
//	go run ./net/internal/mkexample
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cnndbg/cnndbg/net"
)

const count = net.ExampleBatchSize

// pixels is the size of one 28×28 MNIST image in bytes.
const pixels = 28 * 28

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkexample:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := net.FindMNIST()
	if err != nil {
		return err
	}
	images, err := readGzip(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		return err
	}
	labels, err := readGzip(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		return err
	}
	x, y, err := net.LoadMNIST(dir, "test", 0, -1, nil, false)
	if err != nil {
		return err
	}
	chosen, err := chooseDigits(net.ExampleNetwork(), x, y)
	if err != nil {
		return err
	}

	// Keep the 16-byte image header and the 8-byte label header, with the
	// counts rewritten, then the chosen entries.
	imageData := append([]byte(nil), images[:16]...)
	putCount(imageData, count)
	labelData := append([]byte(nil), labels[:8]...)
	putCount(labelData, count)
	for _, i := range chosen {
		imageData = append(imageData, images[16+i*pixels:16+(i+1)*pixels]...)
		labelData = append(labelData, labels[8+i])
	}
	if err := writeGzip("net/example/digits-images-idx3-ubyte.gz", imageData); err != nil {
		return err
	}
	return writeGzip("net/example/digits-labels-idx1-ubyte.gz", labelData)
}

// chooseDigits returns the test indices of the example's digits and prints
// the selection and every digit of it that n misclassifies.
func chooseDigits(n *net.Network, x *net.Tensor, labels []int) ([]int, error) {
	predicted := make([]int, len(labels))
	const batch = 500
	for from := 0; from < len(labels); from += batch {
		to := min(from+batch, len(labels))
		probs := n.Predict(net.FromData(x.Data[from*pixels:to*pixels], to-from, 28, 28, 1))
		for i := range to - from {
			row := probs.Data[i*10 : (i+1)*10]
			for j := range row {
				if row[j] > row[predicted[from+i]] {
					predicted[from+i] = j
				}
			}
		}
	}

	chosen := make([]int, count)
	for i := range chosen {
		chosen[i] = i
	}
	wrongInFirst := false
	for _, i := range chosen {
		wrongInFirst = wrongInFirst || predicted[i] != labels[i]
	}
	if !wrongInFirst {
		later := -1
		for i := count - 1; i < len(labels) && later < 0; i++ {
			if predicted[i] != labels[i] {
				later = i
			}
		}
		if later < 0 {
			return nil, fmt.Errorf("the network misclassifies no test image from %d on", count-1)
		}
		chosen[count-1] = later
		fmt.Printf("test images 0..%d and %d\n", count-2, later)
	} else {
		fmt.Printf("test images 0..%d\n", count-1)
	}
	for k, i := range chosen {
		if predicted[i] != labels[i] {
			fmt.Printf("digit %d (test image %d): label %d, predicted %d\n", k, i, labels[i], predicted[i])
		}
	}
	return chosen, nil
}

func putCount(head []byte, n int) {
	head[4], head[5], head[6], head[7] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return io.ReadAll(zr)
}

func writeGzip(path string, data []byte) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
