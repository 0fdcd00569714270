package net

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/trace"
)

// The fuzz targets below feed arbitrary bytes to every reader of a file a
// user can hand cnndbg. Each must return a tensor or a one-line error and
// never panic. fuzzElementLimit bounds the arrays they may allocate. The seeds are the
// files of testdata plus the corpora under testdata/fuzz, which plain
// `go test` replays; .ci/fuzz runs each target for a few seconds.

// fuzzElementLimit keeps fuzzing fast: a header may claim up to a million
// elements before the readers reject it.
const fuzzElementLimit = 1 << 20

// limitElements sets MaxElements to limit for the rest of the test.
func limitElements(t testing.TB, limit int) {
	old := MaxElements
	t.Cleanup(func() { MaxElements = old })
	MaxElements = limit
}

// addSeedFiles adds every file under dir whose name ends in one of exts.
func addSeedFiles(f *testing.F, dir string, exts ...string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		for _, ext := range exts {
			if strings.HasSuffix(e.Name(), ext) {
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					f.Fatal(err)
				}
				f.Add(data)
			}
		}
	}
}

// requireOneLine fails unless err is nil or a single line.
func requireOneLine(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error has several lines: %q", err)
	}
}

func FuzzDecodeNPY(f *testing.F) {
	addSeedFiles(f, "testdata/io", ".npy")
	addSeedFiles(f, "testdata/course", ".npy")
	f.Add([]byte("\x93NUMPY\x01\x00"))
	f.Add([]byte("\x93NUMPY\x01\x00\x46\x00{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 3), }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		limitElements(t, fuzzElementLimit)
		x, err := DecodeNPY(bytes.NewReader(data), "fuzz.npy")
		requireOneLine(t, err)
		if err == nil && x.Size() != len(x.Data) {
			t.Fatalf("shape %v has %d elements but the tensor holds %d", x.Shape, x.Size(), len(x.Data))
		}
	})
}

func FuzzReadNPZ(f *testing.F) {
	addSeedFiles(f, "testdata/io", ".npz")
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		limitElements(t, fuzzElementLimit)
		path := filepath.Join(t.TempDir(), "fuzz.npz")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		arrays, err := ReadNPZ(path)
		requireOneLine(t, err)
		for key, x := range arrays {
			if x.Size() != len(x.Data) {
				t.Fatalf("%s: shape %v has %d elements but the tensor holds %d", key, x.Shape, x.Size(), len(x.Data))
			}
		}
	})
}

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(ExampleSpecJSON))
	if data, err := os.ReadFile("testdata/io/weights_model.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"input":{"height":4,"width":4,"channels":1},"layers":[{"name":"f","type":"flatten"},{"name":"d","type":"dense","units":3},{"name":"l","type":"softmax_cross_entropy"}]}`))
	f.Add([]byte(`{"input":{"height":5,"width":5,"channels":2},"layers":[{"name":"c","type":"conv","filters":2,"size":3,"stride":2,"pad":1},{"name":"p","type":"maxpool","size":2,"ties":"first"},{"name":"f","type":"flatten"},{"name":"d","type":"dense","units":2},{"name":"l","type":"softmax_cross_entropy"}]}`))
	f.Add([]byte(`{"input":{"height":1,"width":1,"channels":1000000},"layers":[{"name":"c","type":"conv","filters":1000000,"size":1000},{"name":"f","type":"flatten"},{"name":"l","type":"softmax_cross_entropy"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		limitElements(t, fuzzElementLimit)
		spec, err := ParseSpec(data)
		requireOneLine(t, err)
		if err != nil || !smallSpec(spec) {
			return
		}
		n, err := NewNetwork(spec, 1)
		if err != nil {
			t.Fatalf("ParseSpec accepted a spec that NewNetwork rejects: %v", err)
		}
		x := NewTensor(append([]int{1}, n.InputShape()...)...)
		if err := n.CheckBatch(x, []int{0}); err != nil {
			t.Fatalf("a zero batch of the spec's input shape is rejected: %v", err)
		}
		n.Step(x, []int{0}, 0.1, trace.NewRecorder(spec.JSON()))
	})
}

// smallSpec reports whether a network of spec is cheap enough to build and
// step in a fuzz iteration: at most 4096 input elements per sample, at
// most 64 filters of size 16, 4096 units and a pad of 16 per layer.
func smallSpec(spec *Spec) bool {
	const maxElements = 4096
	in := spec.Input
	if in.Height*in.Width*in.Channels > maxElements {
		return false
	}
	for _, ls := range spec.Layers {
		if ls.Filters > 64 || ls.Size > 16 || ls.Units > maxElements || ls.Pad > 16 {
			return false
		}
	}
	return true
}

// idxHeader returns an IDX header: the magic number, then the dimensions.
func idxHeader(magic uint32, dims ...uint32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, append([]uint32{magic}, dims...))
	return b.Bytes()
}

func FuzzDecodeIDX(f *testing.F) {
	images := append(idxHeader(idxImagesMagic, 2, 3, 2), 0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255)
	labels := append(idxHeader(idxLabelsMagic, 3), 7, 2, 1)
	f.Add(images, 0, -1)
	f.Add(images, 1, 2)
	f.Add(labels, 0, -1)
	f.Add(idxHeader(idxImagesMagic, 1<<24, 4096, 4096), 0, -1)
	f.Add(idxHeader(idxLabelsMagic, 1<<24), 5, 6)
	f.Add([]byte{0x1f, 0x8b, 0, 0}, 0, 1)
	f.Fuzz(func(t *testing.T, data []byte, from, to int) {
		limitElements(t, fuzzElementLimit)
		x, err := decodeIDXImages(bytes.NewReader(data), "fuzz-images-idx3-ubyte", from, to)
		requireOneLine(t, err)
		if err == nil && x.Size() != len(x.Data) {
			t.Fatalf("images: shape %v but %d values", x.Shape, len(x.Data))
		}
		_, err = decodeIDXLabels(bytes.NewReader(data), "fuzz-labels-idx1-ubyte", from, to)
		requireOneLine(t, err)

		// The same bytes gzipped go through the file readers.
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(data)
		w.Close()
		path := filepath.Join(t.TempDir(), "fuzz-idx.gz")
		if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = ReadIDXImages(path, from, to)
		requireOneLine(t, err)
		_, err = ReadIDXLabels(path, from, to)
		requireOneLine(t, err)
	})
}

func FuzzReadImage(f *testing.F) {
	addSeedFiles(f, "testdata/io", ".png", ".pgm", ".ppm")
	f.Add([]byte("P5 2 2 255\n\x00\x40\x80\xff"))
	f.Add([]byte("P2\n# comment\n3 1\n15\n0 7 15\n"))
	f.Add([]byte("P6 1 1 65535\n\x00\x01\x00\x02\x00\x03"))
	f.Add([]byte("P5 100000 100000 255\n"))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		limitElements(t, fuzzElementLimit)
		path := filepath.Join(t.TempDir(), "fuzz.pgm")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, want := range [][]int{nil, {28, 28, 1}, {5, 5, 3}} {
			for _, resize := range []bool{false, true} {
				x, err := ReadImage(path, want, resize)
				requireOneLine(t, err)
				if err == nil && x.Size() != len(x.Data) {
					t.Fatalf("shape %v but %d values", x.Shape, len(x.Data))
				}
			}
		}
	})
}

func FuzzResolveTarget(f *testing.F) {
	for _, s := range []string{"conv1.dW[0,1,0,3]", "loss", "relu1.dA_prev[0, 2, 3, 1]", "fc1.b[-1,-1]", "input.X[0,0,0,0]",
		"conv1.dW[", "[1]", "conv1.dW[1]]", "conv1.dW[99999999999999999999]", "conv1.dW[-9223372036854775808,0,0,0]", " conv1 . dW [ 0 ] "} {
		f.Add(s)
	}
	tr := fuzzTrace(f)
	f.Fuzz(func(t *testing.T, target string) {
		name, index, err := ParseTarget(target)
		requireOneLine(t, err)
		if err == nil && name == "" {
			t.Fatalf("ParseTarget(%q) returned an empty name without an error", target)
		}
		id, index, err := Resolve(tr, target)
		requireOneLine(t, err)
		if err != nil {
			return
		}
		if !tr.Tensors[id].InRange(index) {
			t.Fatalf("Resolve(%q) returned index %v outside shape %v", target, index, tr.Tensors[id].Shape)
		}
		if _, err := Explain(tr, id, index); err != nil {
			requireOneLine(t, err)
		}
		if _, err := Provenance(tr, id, index); err != nil {
			requireOneLine(t, err)
		}
	})
}

// fuzzTrace records one step of a tiny conv network, so each explanation in
// a fuzz iteration costs microseconds.
func fuzzTrace(tb testing.TB) *trace.Trace {
	spec, err := ParseSpec([]byte(`{"input":{"height":6,"width":6,"channels":1},"layers":[
		{"name":"conv1","type":"conv","filters":2,"size":3,"pad":1},{"name":"relu1","type":"relu"},
		{"name":"pool1","type":"maxpool","size":2},{"name":"flatten","type":"flatten"},
		{"name":"fc1","type":"dense","units":3},{"name":"loss","type":"softmax_cross_entropy"}]}`))
	if err != nil {
		tb.Fatal(err)
	}
	n, err := NewNetwork(spec, 7)
	if err != nil {
		tb.Fatal(err)
	}
	x := NewTensor(2, 6, 6, 1)
	for k := range x.Data {
		x.Data[k] = float64(k%5) / 4
	}
	rec := trace.NewRecorder(spec.JSON())
	n.Step(x, []int{1, 2}, 0.1, rec)
	return rec.Trace()
}

func TestParseSpecRejectsHugeShapes(t *testing.T) {
	// Both specs made ParseSpec panic in makeslice before the size check.
	cases := map[string]string{
		"conv weights":  `{"input":{"height":1,"width":1,"channels":1000000},"layers":[{"name":"c","type":"conv","filters":1000000,"size":1000},{"name":"f","type":"flatten"},{"name":"l","type":"softmax_cross_entropy"}]}`,
		"input shape":   `{"input":{"height":3037000500,"width":3037000500,"channels":3037000500},"layers":[{"name":"f","type":"flatten"},{"name":"d","type":"dense","units":2},{"name":"l","type":"softmax_cross_entropy"}]}`,
		"dense weights": `{"input":{"height":1,"width":1,"channels":100000},"layers":[{"name":"f","type":"flatten"},{"name":"d","type":"dense","units":100000000},{"name":"l","type":"softmax_cross_entropy"}]}`,
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSpec([]byte(text))
			if err == nil {
				t.Fatal("ParseSpec accepted the spec")
			}
			for _, want := range []string{"more than the limit", "--max-memory"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
		})
	}
}

func TestIDXHeaderOverLimit(t *testing.T) {
	limitElements(t, 1000)
	_, err := decodeIDXImages(bytes.NewReader(idxHeader(idxImagesMagic, 100, 28, 28)), "big-idx3-ubyte", 0, -1)
	checkUserError(t, err, "big-idx3-ubyte", "(100, 28, 28, 1)", "--max-memory")
	_, err = decodeIDXLabels(bytes.NewReader(idxHeader(idxLabelsMagic, 5000)), "big-idx1-ubyte", 0, -1)
	checkUserError(t, err, "big-idx1-ubyte", "(5000,)", "--max-memory")
}

func TestIDXTruncatedBody(t *testing.T) {
	data := append(idxHeader(idxImagesMagic, 1<<20, 28, 28), 1, 2, 3)
	_, err := decodeIDXImages(bytes.NewReader(data), "cut-idx3-ubyte", 0, 1000)
	checkUserError(t, err, "cut-idx3-ubyte", "truncated")
	_, err = decodeIDXLabels(bytes.NewReader(append(idxHeader(idxLabelsMagic, 10), 1)), "cut-idx1-ubyte", 0, -1)
	checkUserError(t, err, "cut-idx1-ubyte", "truncated")
}
