package net

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/sbinet/npyio/npy"
)

// ioFixture returns the path of a file under testdata/io.
func ioFixture(name string) string {
	return filepath.Join("testdata", "io", name)
}

// valueAt is the fixture value at row-major index k for a dtype kind, as
// testdata/io/gen.py computes it.
func valueAt(kind byte, k int) float64 {
	switch kind {
	case 'f':
		return float64(k-12) / 4
	case 'i':
		return float64(k - 12)
	case 'u':
		return float64(k)
	case 'b':
		if k%3 == 0 {
			return 1
		}
		return 0
	}
	panic("unknown kind")
}

// checkFixture asserts that x has shape and contains valueAt(kind, k) at each
// row-major index k.
func checkFixture(t *testing.T, name string, x *Tensor, kind byte, shape ...int) {
	t.Helper()
	if !slices.Equal(x.Shape, shape) {
		t.Fatalf("%s: shape %v, want %v", name, x.Shape, shape)
	}
	for k, v := range x.Data {
		if want := valueAt(kind, k); v != want {
			t.Fatalf("%s: element %d (index %v) is %g, want %g", name, k, unravel(shape, k), v, want)
		}
	}
}

func unravel(shape []int, k int) []int {
	index := make([]int, len(shape))
	for i := len(shape) - 1; i >= 0; i-- {
		index[i] = k % shape[i]
		k /= shape[i]
	}
	return index
}

// checkUserError asserts that err is a single line that names path and
// contains every fragment.
func checkUserError(t *testing.T, err error, path string, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one naming %s", path)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error has several lines: %q", msg)
	}
	if !strings.Contains(msg, path) {
		t.Errorf("error does not name %s: %q", path, msg)
	}
	for _, fragment := range fragments {
		if !strings.Contains(msg, fragment) {
			t.Errorf("error lacks %q: %q", fragment, msg)
		}
	}
}

func TestReadNPYDtypesAndByteOrders(t *testing.T) {
	names, err := filepath.Glob(ioFixture("[lbn][ea]_*.npy"))
	if err != nil || len(names) != 21 {
		t.Fatalf("found %d dtype fixtures (%v), want 21: run gen.py in testdata/io", len(names), err)
	}
	for _, name := range names {
		kind := filepath.Base(name)[3]
		x, err := ReadNPY(name)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		checkFixture(t, name, x, kind, 2, 3, 4)
	}
}

func TestReadNPYFortranOrder(t *testing.T) {
	cases := []struct {
		file  string
		kind  byte
		shape []int
	}{
		{"fortran_f8_3x4.npy", 'f', []int{3, 4}},
		{"fortran_f8_2x3x4.npy", 'f', []int{2, 3, 4}},
		{"fortran_f8_2x3x2x2.npy", 'f', []int{2, 3, 2, 2}},
		{"fortran_be_i2_2x3x4.npy", 'i', []int{2, 3, 4}},
	}
	for _, c := range cases {
		x, err := ReadNPY(ioFixture(c.file))
		if err != nil {
			t.Fatal(err)
		}
		checkFixture(t, c.file, x, c.kind, c.shape...)
	}
}

func TestFortranToCMatchesIndexFormula(t *testing.T) {
	shape := []int{3, 1, 4, 2, 5}
	n := 3 * 1 * 4 * 2 * 5
	fortran := make([]float64, n)
	for k := range fortran {
		// In Fortran order axis 0 varies fastest: offset = Σ index[i]·Π_{j<i} shape[j].
		index := make([]int, len(shape))
		rest := k
		for i := range shape {
			index[i] = rest % shape[i]
			rest /= shape[i]
		}
		row := 0
		for i := range shape {
			row = row*shape[i] + index[i]
		}
		fortran[k] = float64(row)
	}
	c := fortranToC(fortran, shape)
	for k, v := range c {
		if v != float64(k) {
			t.Fatalf("row-major element %d contains %g", k, v)
		}
	}
}

func TestReadNPYVersionsScalarEmpty(t *testing.T) {
	for _, name := range []string{"v2_f8.npy", "v3_f8.npy"} {
		x, err := ReadNPY(ioFixture(name))
		if err != nil {
			t.Fatal(err)
		}
		checkFixture(t, name, x, 'f', 2, 3, 4)
	}

	scalar, err := ReadNPY(ioFixture("scalar_f8.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if len(scalar.Shape) != 0 || len(scalar.Data) != 1 || scalar.Data[0] != 2.5 {
		t.Errorf("scalar: shape %v data %v, want () [2.5]", scalar.Shape, scalar.Data)
	}

	empty, err := ReadNPY(ioFixture("empty_f8.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(empty.Shape, []int{0, 3}) || len(empty.Data) != 0 {
		t.Errorf("empty: shape %v with %d values, want (0, 3) with none", empty.Shape, len(empty.Data))
	}
}

func TestReadNPYUnsupportedDtypes(t *testing.T) {
	cases := map[string]string{
		"bad_complex.npy":    "complex128",
		"bad_unicode.npy":    "unicode string",
		"bad_bytes.npy":      "bytes string",
		"bad_object.npy":     "object",
		"bad_structured.npy": "structured dtype",
		"bad_datetime.npy":   "datetime64",
	}
	for file, dtype := range cases {
		path := ioFixture(file)
		_, err := ReadNPY(path)
		checkUserError(t, err, path, dtype, "float32, float64")
	}
}

// npyBytes returns a .npy file with the given header dictionary and data.
func npyBytes(dict string, data []byte) []byte {
	header := dict + strings.Repeat(" ", (64-(10+len(dict)+1)%64)%64) + "\n"
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.Write([]byte{1, 0})
	binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func writeTempFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadNPYBadFiles(t *testing.T) {
	valid, err := os.ReadFile(ioFixture("le_f8.npy"))
	if err != nil {
		t.Fatal(err)
	}
	zipData, err := os.ReadFile(ioFixture("weights_stored.npz"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		data      []byte
		fragments []string
	}{
		{"text", []byte("1,2,3\n4,5,6\n"), []string{"not a .npy file", "numpy.save"}},
		{"npz", zipData, []string{"not a .npy file", "zip archive"}},
		{"empty", nil, []string{"truncated .npy header", "contains 0 bytes"}},
		{"short prefix", valid[:8], []string{"truncated .npy header", "contains 8 bytes"}},
		{"short header", valid[:40], []string{"truncated .npy header", "contains 30 bytes, the header promises 118"}},
		{"short data", valid[:len(valid)-20], []string{"truncated data", "contains 172 bytes of data, the header promises 192", "(2, 3, 4)"}},
		{"version", append([]byte(npyMagic+"\x09\x00"), valid[8:]...), []string{"version 9.0"}},
		{"huge header", append([]byte(npyMagic+"\x02\x00\xff\xff\xff\x7f"), valid[10:]...), []string{"header claims 2147483647 bytes"}},
		{"syntax", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3}", nil), []string{"invalid .npy header"}},
		{"no shape", npyBytes("{'descr': '<f8', 'fortran_order': False}", nil), []string{"invalid .npy header", "'shape' is missing"}},
		{"no order", npyBytes("{'descr': '<f8', 'shape': (3,)}", nil), []string{"'fortran_order' is missing"}},
		{"not dict", npyBytes("('<f8', False, (3,))", nil), []string{"not a dictionary"}},
		{"negative dim", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 3)}", nil), []string{"invalid shape (-1, 3)"}},
		{"negative after zero", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (0, -3)}", nil), []string{"invalid shape (0, -3)"}},
		{"float dim", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,)}", nil), []string{"invalid .npy header"}},
		{"empty descr", npyBytes("{'descr': '', 'fortran_order': False, 'shape': (3,)}", nil), []string{"invalid dtype"}},
		{"float128", npyBytes("{'descr': '<f16', 'fortran_order': False, 'shape': (3,)}", nil), []string{"float128", "not supported"}},
		{"too large", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100000), }", nil),
			[]string{"shape (100000, 100000, 100000)", "1e+15 elements", "7.1 PiB as float64", "CNNDBG_MAX_ELEMENTS"}},
		{"overflow", npyBytes("{'descr': '<u1', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", nil),
			[]string{"more than the limit", "CNNDBG_MAX_ELEMENTS"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeTempFile(t, c.name+".npy", c.data)
			_, err := ReadNPY(path)
			checkUserError(t, err, path, c.fragments...)

			_, err = DecodeNPY(bytes.NewReader(c.data), "stream "+c.name)
			checkUserError(t, err, "stream "+c.name)
		})
	}
}

func TestReadNPYMissingFileOrFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.npy")
	_, err := ReadNPY(path)
	checkUserError(t, err, path, "file not found")

	dir := t.TempDir()
	_, err = ReadNPY(dir)
	checkUserError(t, err, dir, "is a folder")
}

func TestMaxElementsAndEnvironment(t *testing.T) {
	path := ioFixture("le_f8.npy")
	old := MaxElements
	t.Cleanup(func() { MaxElements = old })

	MaxElements = 23
	_, err := ReadNPY(path)
	checkUserError(t, err, path, "shape (2, 3, 4) has 24 elements (192 bytes as float64), more than the limit of 23")

	MaxElements = 24
	if _, err := ReadNPY(path); err != nil {
		t.Errorf("at the limit: %v", err)
	}

	t.Setenv(maxElementsEnv, "10")
	_, err = ReadNPY(path)
	checkUserError(t, err, path, "limit of 10")

	t.Setenv(maxElementsEnv, "lots")
	_, err = ReadNPY(path)
	checkUserError(t, err, maxElementsEnv, "not a positive whole number")
}

func TestDecodeNPYLyingHeaderAllocatesLittle(t *testing.T) {
	// 2²⁷ float64 elements would take 1 GiB; the stream contains 80 bytes.
	data := npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (134217728,), }", make([]byte, 80))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeNPY(bytes.NewReader(data), "lying")
	runtime.ReadMemStats(&after)
	checkUserError(t, err, "lying", "contains 80 bytes of data, the header promises 1073741824")
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 16<<20 {
		t.Errorf("decoding allocated %d bytes for an 80-byte stream", grown)
	}
}

func TestWriteNPYRoundTripBitIdentical(t *testing.T) {
	special := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), 5e-324, math.MaxFloat64, -1.0 / 3}
	shapes := [][]int{{}, {1}, {8}, {2, 4}, {2, 2, 1, 2}}
	for _, shape := range shapes {
		x := NewTensor(shape...)
		for k := range x.Data {
			x.Data[k] = special[k%len(special)]
		}
		path := filepath.Join(t.TempDir(), "x.npy")
		if err := WriteNPY(path, x, false); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if headerEnd := bytes.IndexByte(raw, '\n') + 1; headerEnd%64 != 0 {
			t.Errorf("shape %v: data starts at byte %d, not a multiple of 64", shape, headerEnd)
		}
		y, err := ReadNPY(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(y.Shape, shape) {
			t.Fatalf("shape %v read back as %v", shape, y.Shape)
		}
		for k := range x.Data {
			if math.Float64bits(x.Data[k]) != math.Float64bits(y.Data[k]) {
				t.Errorf("shape %v element %d: wrote %v, read %v", shape, k, x.Data[k], y.Data[k])
			}
		}
	}
}

func TestWriteNPYRejectsExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.npy")
	if err := WriteNPY(path, FromData([]float64{1, 2}, 2), false); err != nil {
		t.Fatal(err)
	}
	err := WriteNPY(path, FromData([]float64{3}, 1), false)
	checkUserError(t, err, path, "already exists", "--force")
	if x, _ := ReadNPY(path); x == nil || len(x.Data) != 2 {
		t.Errorf("the rejected write changed the file: %v", x)
	}

	if err := WriteNPY(path, FromData([]float64{3}, 1), true); err != nil {
		t.Fatal(err)
	}
	if x, _ := ReadNPY(path); x == nil || len(x.Data) != 1 || x.Data[0] != 3 {
		t.Errorf("overwrite did not replace the file: %v", x)
	}
}

func TestReadNPYFilesWrittenByNpyio(t *testing.T) {
	var b bytes.Buffer
	values := []float32{1.5, -2, 3.25}
	if err := npy.Write(&b, values); err != nil {
		t.Fatal(err)
	}
	x, err := DecodeNPY(&b, "npyio")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Shape, []int{3}) || x.Data[0] != 1.5 || x.Data[1] != -2 || x.Data[2] != 3.25 {
		t.Errorf("read %v %v, want (3,) [1.5 -2 3.25]", x.Shape, x.Data)
	}
}

// numpyPython returns a Python interpreter that has numpy, or skips the test.
func numpyPython(t *testing.T) string {
	t.Helper()
	for _, python := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(python, "-c", "import numpy").Run() == nil {
			return python
		}
	}
	t.Skip("no python3 with numpy")
	return ""
}

func TestNumpyLoadsWrittenFiles(t *testing.T) {
	python := numpyPython(t)
	dir := t.TempDir()
	x := NewTensor(2, 3, 1, 2)
	for k := range x.Data {
		x.Data[k] = float64(k)/7 - 1
	}
	if err := WriteNPY(filepath.Join(dir, "x.npy"), x, false); err != nil {
		t.Fatal(err)
	}
	arrays := map[string]*Tensor{"conv1.W": x, "fc1.b": FromData([]float64{0.5, math.Inf(-1)}, 1, 2)}
	if err := WriteNPZ(filepath.Join(dir, "w.npz"), arrays, []string{"fc1.b", "conv1.W"}, false); err != nil {
		t.Fatal(err)
	}

	script := `
import sys, numpy as np
x = np.load(sys.argv[1] + "/x.npy")
w = np.load(sys.argv[1] + "/w.npz")
expected = (np.arange(12).reshape(2, 3, 1, 2) / 7 - 1)
print(x.dtype, x.shape, x.flags["C_CONTIGUOUS"], bool((x == expected).all()))
print(list(w.keys()), bool((w["conv1.W"] == expected).all()), w["fc1.b"].tolist())
`
	out, err := exec.Command(python, "-c", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy failed: %v\n%s", err, out)
	}
	want := "float64 (2, 3, 1, 2) True True\n['fc1.b', 'conv1.W'] True [[0.5, -inf]]\n"
	if string(out) != want {
		t.Errorf("numpy read:\n%s\nwant:\n%s", out, want)
	}
}

func TestFloat16Conversion(t *testing.T) {
	cases := map[uint16]float64{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: math.Ldexp(1, -24),
		0x0400: math.Ldexp(1, -14), 0x7c00: math.Inf(1), 0xfc00: math.Inf(-1), 0x3555: 0.333251953125,
	}
	for bits, want := range cases {
		if got := float16ToFloat64(bits); got != want {
			t.Errorf("0x%04x: got %v, want %v", bits, got, want)
		}
	}
	if got := float16ToFloat64(0x7e00); !math.IsNaN(got) {
		t.Errorf("0x7e00: got %v, want NaN", got)
	}
}
