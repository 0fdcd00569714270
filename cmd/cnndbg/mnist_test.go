package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/trace"
)

// bandLabel is the class of synthetic digit i: digits cycle through 0..9.
func bandLabel(i int) int { return i % 10 }

// bandImages returns n synthetic 28×28 digits as IDX bytes: digit i is dark
// with a bright horizontal band at rows 2·label+3 and 2·label+4, so a small
// model can learn to tell them apart.
func bandImages(n int) []byte {
	var buf bytes.Buffer
	binary.Write(&buf, binary.BigEndian, []uint32{0x00000803, uint32(n), 28, 28})
	for i := range n {
		label := bandLabel(i)
		for r := range 28 {
			for c := range 28 {
				v := byte((i*31 + r*7 + c*13) % 40)
				if r == 2*label+3 || r == 2*label+4 {
					v = 255
				}
				buf.WriteByte(v)
			}
		}
	}
	return buf.Bytes()
}

// bandLabels returns the IDX label bytes of n synthetic digits.
func bandLabels(n int) []byte {
	var buf bytes.Buffer
	binary.Write(&buf, binary.BigEndian, []uint32{0x00000801, uint32(n)})
	for i := range n {
		buf.WriteByte(byte(bandLabel(i)))
	}
	return buf.Bytes()
}

// writeMNISTDir writes synthetic MNIST files under their standard names in
// a new folder: train gzipped, test raw, so both readers run.
func writeMNISTDir(t *testing.T, trainCount, testCount int) string {
	t.Helper()
	dir := t.TempDir()
	writeGzip(t, filepath.Join(dir, "train-images-idx3-ubyte.gz"), bandImages(trainCount))
	writeGzip(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), bandLabels(trainCount))
	writeFile(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), bandImages(testCount))
	writeFile(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), bandLabels(testCount))
	return dir
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeGzip(t *testing.T, path string, data []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.Bytes())
}

// writePNG writes a grey PNG of the given size with a bright vertical bar.
func writePNG(t *testing.T, path string, width, height int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, width, height))
	for y := range height {
		img.SetGray(width/2, y, color.Gray{Y: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.Bytes())
}

// recordedLabels opens a trace and returns the class of each row of input.Y
// and the shape of input.X.
func recordedLabels(t *testing.T, path string) ([]int, []int) {
	t.Helper()
	tr, err := trace.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	y := tr.Tensor("input.Y")
	data, err := tr.Data(y.ID)
	if err != nil {
		t.Fatal(err)
	}
	classes := y.Shape[1]
	var labels []int
	for i := range y.Shape[0] {
		for j := range classes {
			if data[i*classes+j] == 1 {
				labels = append(labels, j)
			}
		}
	}
	return labels, tr.Tensor("input.X").Shape
}

func TestRecordReadsMNIST(t *testing.T) {
	dir := writeMNISTDir(t, 30, 20)
	cases := []struct {
		name       string
		args       []string
		wantLabels []int
	}{
		{"test range", []string{"--index", "3:7"}, []int{3, 4, 5, 6}},
		{"single index", []string{"--index", "12"}, []int{2}},
		{"train set", []string{"--set", "train", "--index", "25:30"}, []int{5, 6, 7, 8, 9}},
		{"explicit test set", []string{"--set", "test", "--index", "0:2"}, []int{0, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "step.cnndbg")
			args := append([]string{"record", "-o", out, "--mnist", dir}, c.args...)
			code, stdout, stderr := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if !strings.Contains(stdout, out) {
				t.Errorf("stdout %q does not name %s", stdout, out)
			}
			labels, shape := recordedLabels(t, out)
			if !slices.Equal(labels, c.wantLabels) {
				t.Errorf("recorded labels %v, want %v", labels, c.wantLabels)
			}
			if want := []int{len(c.wantLabels), 28, 28, 1}; !slices.Equal(shape, want) {
				t.Errorf("input.X shape %v, want %v", shape, want)
			}
		})
	}
}

func TestRecordMNISTDefaultsToFirst64(t *testing.T) {
	dir := writeMNISTDir(t, 10, 70)
	out := filepath.Join(t.TempDir(), "step.cnndbg")
	if code, _, stderr := runCLI(t, "record", "-o", out, "--mnist", dir); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	labels, _ := recordedLabels(t, out)
	if len(labels) != 64 {
		t.Errorf("%d recorded digits, want the test set's first 64", len(labels))
	}
}

func TestRecordReadsImages(t *testing.T) {
	dir := t.TempDir()
	pngPath := filepath.Join(dir, "seven.png")
	writePNG(t, pngPath, 28, 28)
	pgmPath := filepath.Join(dir, "seven.pgm")
	writeFile(t, pgmPath, append([]byte("P5 28 28 255\n"), make([]byte, 28*28)...))
	bigPath := filepath.Join(dir, "big.png")
	writePNG(t, bigPath, 56, 56)

	for _, args := range [][]string{
		{"--input", pngPath, "--labels", "7"},
		{"--input", pgmPath, "--labels", "7"},
		{"--input", bigPath, "--labels", "7", "--resize"},
	} {
		out := filepath.Join(t.TempDir(), "step.cnndbg")
		code, _, stderr := runCLI(t, append([]string{"record", "-o", out}, args...)...)
		if code != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
			continue
		}
		labels, shape := recordedLabels(t, out)
		if !slices.Equal(labels, []int{7}) {
			t.Errorf("%v: recorded labels %v, want [7]", args, labels)
		}
		if !slices.Equal(shape, []int{1, 28, 28, 1}) {
			t.Errorf("%v: input.X shape %v, want [1 28 28 1]", args, shape)
		}
	}
}

func TestBadMNISTAndImageInputs(t *testing.T) {
	dir := writeMNISTDir(t, 20, 20)
	out := filepath.Join(t.TempDir(), "step.cnndbg")

	truncated := t.TempDir()
	writeFile(t, filepath.Join(truncated, "t10k-images-idx3-ubyte"), bandImages(20)[:16+28*28*5+100])
	writeFile(t, filepath.Join(truncated, "t10k-labels-idx1-ubyte"), bandLabels(20))
	truncatedImages := filepath.Join(truncated, "t10k-images-idx3-ubyte")

	truncatedGzip := t.TempDir()
	writeGzip(t, filepath.Join(truncatedGzip, "t10k-images-idx3-ubyte.gz"), bandImages(20)[:16+28*28*3])
	writeFile(t, filepath.Join(truncatedGzip, "t10k-labels-idx1-ubyte"), bandLabels(20))

	shortHeader := t.TempDir()
	writeFile(t, filepath.Join(shortHeader, "t10k-images-idx3-ubyte"), bandImages(20)[:10])
	writeFile(t, filepath.Join(shortHeader, "t10k-labels-idx1-ubyte"), bandLabels(20))

	wrongMagic := t.TempDir()
	swapped := bandImages(20)
	writeFile(t, filepath.Join(wrongMagic, "t10k-images-idx3-ubyte"), bandLabels(20))
	writeFile(t, filepath.Join(wrongMagic, "t10k-labels-idx1-ubyte"), swapped)
	wrongMagicImages := filepath.Join(wrongMagic, "t10k-images-idx3-ubyte")

	noFiles := t.TempDir()
	onlyImages := t.TempDir()
	writeFile(t, filepath.Join(onlyImages, "t10k-images-idx3-ubyte"), bandImages(20))

	notImage := filepath.Join(t.TempDir(), "digit.png")
	writeFile(t, notImage, []byte("this is a text file, not a PNG\n"))
	wrongSize := filepath.Join(t.TempDir(), "wide.png")
	writePNG(t, wrongSize, 40, 28)

	cases := []struct {
		name string
		args []string
		want []string // fragments the message must contain
	}{
		{"truncated IDX", []string{"--mnist", truncated, "--index", "0:20"}, []string{truncatedImages, "truncated"}},
		{"truncated gzip IDX", []string{"--mnist", truncatedGzip, "--index", "0:20"}, []string{"t10k-images-idx3-ubyte.gz", "truncated"}},
		{"truncated IDX header", []string{"--mnist", shortHeader, "--index", "0"}, []string{"t10k-images-idx3-ubyte", "header"}},
		{"wrong magic number", []string{"--mnist", wrongMagic, "--index", "0"}, []string{wrongMagicImages, "magic number"}},
		{"range outside the file", []string{"--mnist", dir, "--index", "15:25"}, []string{"15:25", "20"}},
		{"index outside the file", []string{"--mnist", dir, "--index", "20"}, []string{"20:21"}},
		{"train range outside the file", []string{"--mnist", dir, "--set", "train", "--index", "0:64"}, []string{"train-images-idx3-ubyte.gz", "0:64"}},
		{"folder without the files", []string{"--mnist", noFiles}, []string{noFiles, "t10k-images-idx3-ubyte"}},
		{"folder without labels", []string{"--mnist", onlyImages}, []string{onlyImages, "t10k-labels-idx1-ubyte"}},
		{"missing folder", []string{"--mnist", filepath.Join(noFiles, "nowhere")}, []string{"nowhere", "not found"}},
		{"index with a dash", []string{"--mnist", dir, "--index", "0-5"}, []string{"--index", `"0-5"`}},
		{"index reversed", []string{"--mnist", dir, "--index", "9:3"}, []string{"--index", `"9:3"`}},
		{"index negative", []string{"--mnist", dir, "--index", "-1"}, []string{"--index", `"-1"`}},
		{"index word", []string{"--mnist", dir, "--index", "all"}, []string{"--index", `"all"`}},
		{"unknown set", []string{"--mnist", dir, "--set", "validation"}, []string{"--set", "validation"}},
		{"labels with mnist", []string{"--mnist", dir, "--labels", "3"}, []string{"--labels", "--mnist"}},
		{"input with mnist", []string{"--mnist", dir, "--input", notImage, "--labels", "3"}, []string{"--input", "--mnist"}},
		{"index without mnist", []string{"--index", "0:4"}, []string{"--index", "--mnist"}},
		{"set without mnist", []string{"--set", "train"}, []string{"--set", "--mnist"}},
		{"non-image with png name", []string{"--input", notImage, "--labels", "3"}, []string{notImage}},
		{"image of the wrong size", []string{"--input", wrongSize, "--labels", "3"}, []string{wrongSize, "--resize"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"record", "-o", out, "--force"}, c.args...)...)
			checkBadInput(t, code, stderr, c.want...)
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was written although every command failed", out)
	}
}
