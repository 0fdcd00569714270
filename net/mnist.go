package net

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
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
		return nil, err
	}
	br := bufio.NewReader(f)
	head, _ := br.Peek(2)
	if bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: invalid gzip data: %v", path, err)
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
		return nil, fmt.Errorf("%s: truncated IDX header: %v", path, err)
	}
	if head[0] != idxImagesMagic {
		return nil, fmt.Errorf("%s: magic number 0x%08x is not an IDX image file (want 0x%08x)", path, head[0], idxImagesMagic)
	}
	n, rows, cols := int(head[1]), int(head[2]), int(head[3])
	if n > maxIDXImages || rows < 1 || cols < 1 || rows > 4096 || cols > 4096 {
		return nil, fmt.Errorf("%s: implausible IDX header: %d images of %d×%d", path, n, rows, cols)
	}
	from, to, err := checkRange(path, from, to, n)
	if err != nil {
		return nil, err
	}
	size := rows * cols
	if _, err := io.CopyN(io.Discard, r, int64(from*size)); err != nil {
		return nil, fmt.Errorf("%s: truncated: the header promises %d images: %v", path, n, err)
	}
	buf := make([]byte, (to-from)*size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("%s: truncated: the header promises %d images of %d×%d: %v", path, n, rows, cols, err)
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
		return nil, fmt.Errorf("%s: truncated IDX header: %v", path, err)
	}
	if head[0] != idxLabelsMagic {
		return nil, fmt.Errorf("%s: magic number 0x%08x is not an IDX label file (want 0x%08x)", path, head[0], idxLabelsMagic)
	}
	n := int(head[1])
	if n > maxIDXImages {
		return nil, fmt.Errorf("%s: implausible IDX header: %d labels", path, n)
	}
	from, to, err := checkRange(path, from, to, n)
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(io.Discard, r, int64(from)); err != nil {
		return nil, fmt.Errorf("%s: truncated: the header promises %d labels: %v", path, n, err)
	}
	buf := make([]byte, to-from)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("%s: truncated: the header promises %d labels: %v", path, n, err)
	}
	labels := make([]int, len(buf))
	for k, v := range buf {
		labels[k] = int(v)
	}
	return labels, nil
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
