package net

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/cnndbg/cnndbg/trace"
)

// LoadSpec reads a JSON model spec file and checks it as ParseSpec does.
// Every error begins with the file name, and a JSON syntax error also gives
// the line and column.
func LoadSpec(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	var syntax *json.SyntaxError
	if err := json.Unmarshal(data, new(any)); errors.As(err, &syntax) {
		// Offset counts the bytes read up to and including the offending one.
		line, col := lineColumn(data, syntax.Offset-1)
		return nil, fmt.Errorf("%s:%d:%d: invalid JSON: %v: fix the model spec", path, line, col, syntax)
	}
	spec, err := ParseSpec(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return spec, nil
}

// lineColumn returns the 1-based line and column, in characters, of the
// byte at offset in data.
func lineColumn(data []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for _, c := range data[:min(max(int(offset), 0), len(data))] {
		switch {
		case c == '\n':
			line, col = line+1, 1
		case c&0xc0 != 0x80:
			col++
		}
	}
	return line, col
}

// LoadInput reads an input batch for a model whose per-sample input shape is
// want (n_H, n_W, n_C), or any batch if want is nil. The file's content picks
// the reader: a .npy array of shape (m, n_H, n_W, n_C), or (m, n_H, n_W) for
// one channel, or a PNG or PGM image, which gives a batch of one (see
// ReadImage). With resize, inputs of another height and width are resampled
// as ReadImage does; otherwise they are an error naming both shapes.
func LoadInput(path string, want []int, resize bool) (*Tensor, error) {
	head, err := readHead(path, 8)
	if err != nil {
		return nil, err
	}
	switch format := sniffFormat(head); format {
	case "NPY":
		x, err := ReadNPY(path)
		if err != nil {
			return nil, err
		}
		return fitBatch(path, x, want, resize)
	case "PNG", "PGM", "PPM":
		return ReadImage(path, want, resize)
	default:
		return nil, fmt.Errorf("%s: not a .npy array, PNG or PGM image (%s): save the inputs with numpy.save or as PNG", path, format)
	}
}

// readHead returns up to n bytes from the start of the file.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	head := make([]byte, n)
	got, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fileError(path, err)
	}
	return head[:got], nil
}

// fitBatch checks a batch read from a .npy file against want, adding the
// channel axis to (m, n_H, n_W) and resampling if resize is set.
func fitBatch(path string, x *Tensor, want []int, resize bool) (*Tensor, error) {
	givenShape := trace.FormatShape(x.Shape)
	expected := "(m, n_H, n_W, n_C) or (m, n_H, n_W)"
	if want != nil {
		expected = fmt.Sprintf("(m, %d, %d, %d)", want[0], want[1], want[2])
		if want[2] == 1 {
			expected += fmt.Sprintf(" or (m, %d, %d)", want[0], want[1])
		}
	}
	oneSample := len(x.Shape) == 3 && want != nil && slices.Equal(x.Shape, want)

	switch len(x.Shape) {
	case 3:
		x = FromData(x.Data, x.Shape[0], x.Shape[1], x.Shape[2], 1)
	case 4:
	default:
		return nil, fmt.Errorf("%s: shape %s is not a batch of images, the model expects %s: reshape the array", path, givenShape, expected)
	}
	if x.Shape[0] == 0 {
		return nil, fmt.Errorf("%s: shape %s contains no samples: give at least one", path, givenShape)
	}
	if want == nil {
		return x, nil
	}

	fits := slices.Equal(x.Shape[1:], want)
	switch {
	case oneSample && !fits:
		return nil, fmt.Errorf("%s: shape %s is one sample, the model expects a batch %s: add a batch axis, e.g. x[None]", path, givenShape, expected)
	case fits:
		return x, nil
	case x.Shape[3] != want[2]:
		return nil, fmt.Errorf("%s: shape %s has %d channels, the model expects %s: fix the array or the model's input channels", path, givenShape, x.Shape[3], expected)
	case !resize:
		return nil, fmt.Errorf("%s: shape %s, the model expects %s: resize the samples or pass --resize", path, givenShape, expected)
	}
	return resample(x, want[0], want[1]), nil
}

// ReadLabels reads class indices from arg, which is either a comma-separated
// list such as "7,2,1" or a .npy file of shape (m,), (m, 1) or (1, m). Float
// values are accepted if they are whole numbers. Indices must be ≥ 0, and
// Network.CheckBatch checks them against the model's classes.
func ReadLabels(arg string) ([]int, error) {
	if isLabelList(arg) {
		return parseLabelList(arg)
	}
	y, err := ReadNPY(arg)
	if err != nil && !fileExists(arg) {
		return nil, fmt.Errorf("labels %q: no such file, and not a comma-separated list of class indices: give a .npy file or a list like 7,2,1", arg)
	}
	if err != nil {
		return nil, err
	}
	return labelsFromTensor(arg, y)
}

// isLabelList reports whether arg looks like "7" or "7, 2,1" rather than a path.
func isLabelList(arg string) bool {
	digits := false
	for _, c := range arg {
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c != ',' && c != ' ' && c != '-' && c != '+':
			return false
		}
	}
	return digits
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func parseLabelList(arg string) ([]int, error) {
	items := strings.Split(arg, ",")
	labels := make([]int, len(items))
	for k, item := range items {
		item = strings.TrimSpace(item)
		v, err := strconv.Atoi(item)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("labels %q: item %d (%q) is not a class index: give whole numbers ≥ 0 separated by commas, like 7,2,1", arg, k+1, item)
		}
		labels[k] = v
	}
	return labels, nil
}

// labelsFromTensor converts a (m,), (m, 1), (1, m) or scalar array of whole
// numbers to class indices.
func labelsFromTensor(path string, y *Tensor) ([]int, error) {
	vector := len(y.Shape) <= 1 || len(y.Shape) == 2 && (y.Shape[0] == 1 || y.Shape[1] == 1)
	if !vector {
		return nil, fmt.Errorf("%s: shape %s is not a vector of class indices (m,): for one-hot rows pass numpy.argmax(Y, axis=1)", path, trace.FormatShape(y.Shape))
	}
	if len(y.Data) == 0 {
		return nil, fmt.Errorf("%s: shape %s contains no labels: give at least one", path, trace.FormatShape(y.Shape))
	}
	labels := make([]int, len(y.Data))
	for k, v := range y.Data {
		if v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
			return nil, fmt.Errorf("%s: value %g at index %d is not a class index: labels must be whole numbers ≥ 0", path, v, k)
		}
		labels[k] = int(v)
	}
	return labels, nil
}
