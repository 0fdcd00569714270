package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/net"
)

// badInputFiles are the broken files of TestMoreBadInputs, written once.
type badInputFiles struct {
	dir string
	// trace is a valid recorded trace of the built-in example.
	trace string
}

func (f badInputFiles) path(name string) string { return filepath.Join(f.dir, name) }

// write writes data to name in the folder and returns its path.
func (f badInputFiles) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := f.path(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// npyBytes returns the .npy encoding of a tensor.
func npyBytes(t *testing.T, x *net.Tensor) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := net.EncodeNPY(&b, x); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// idx returns an IDX file: the big-endian magic number and dimensions,
// then body.
func idx(magic uint32, dims []uint32, body []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, append([]uint32{magic}, dims...))
	b.Write(body)
	return b.Bytes()
}

// zipWith returns a zip archive of the named members.
func zipWith(t *testing.T, members map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range members {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// corruptMember returns a copy of the trace file at path with one byte of
// member name changed in place, so the zip stays readable but the member's
// checksum no longer matches.
func corruptMember(t *testing.T, path, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		if zf.Name != name {
			continue
		}
		offset, err := zf.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		data[offset+int64(zf.UncompressedSize64)-3] ^= 0x55
		return data
	}
	t.Fatalf("%s has no member %s", path, name)
	return nil
}

func newBadInputFiles(t *testing.T) badInputFiles {
	t.Helper()
	f := badInputFiles{dir: t.TempDir()}
	f.trace = f.path("step.cnndbg")
	if code, _, stderr := runCLI(t, "record", "-o", f.trace); code != 0 {
		t.Fatalf("record: exit %d: %s", code, stderr)
	}
	return f
}

// TestMoreBadInputs runs cnndbg on broken files and mistaken flags and
// checks that each ends with exit status 2 and one line naming the culprit.
// TestBadInputExitsTwoWithOneLine covers other cases.
func TestMoreBadInputs(t *testing.T) {
	f := newBadInputFiles(t)
	out := func(name string) string { return f.path(filepath.Join("out", name)) }

	digit := npyBytes(t, ramp(1, 28, 28, 1))
	input := f.write(t, "digit.npy", digit)
	spec := func(name, text string) string { return f.write(t, name, []byte(text)) }
	smallConv := `{"input":{"height":4,"width":4,"channels":1},"layers":[%s{"name":"flatten","type":"flatten"},{"name":"fc","type":"dense","units":2},{"name":"loss","type":"softmax_cross_entropy"}]}`
	withLayers := func(layers string) string { return strings.Replace(smallConv, "%s", layers, 1) }

	mnistJunk := f.path("mnist-junk")
	f.write(t, "mnist-junk/t10k-images-idx3-ubyte", []byte("not an IDX file at all"))
	f.write(t, "mnist-junk/t10k-labels-idx1-ubyte", idx(0x801, []uint32{2}, []byte{1, 2}))
	mnistShort := f.path("mnist-short")
	f.write(t, "mnist-short/t10k-images-idx3-ubyte", []byte{0, 0, 8})
	f.write(t, "mnist-short/t10k-labels-idx1-ubyte", idx(0x801, []uint32{2}, []byte{1, 2}))
	mnistCut := f.path("mnist-cut")
	f.write(t, "mnist-cut/t10k-images-idx3-ubyte", idx(0x803, []uint32{64, 28, 28}, make([]byte, 100)))
	f.write(t, "mnist-cut/t10k-labels-idx1-ubyte", idx(0x801, []uint32{64}, make([]byte, 64)))
	mnistHuge := f.path("mnist-huge")
	f.write(t, "mnist-huge/t10k-images-idx3-ubyte", idx(0x803, []uint32{1 << 24, 4096, 4096}, nil))
	f.write(t, "mnist-huge/t10k-labels-idx1-ubyte", idx(0x801, []uint32{1 << 24}, nil))
	mnistTwo := f.path("mnist-two")
	f.write(t, "mnist-two/t10k-images-idx3-ubyte", idx(0x803, []uint32{2, 28, 28}, make([]byte, 2*28*28)))
	f.write(t, "mnist-two/t10k-labels-idx1-ubyte", idx(0x801, []uint32{2}, []byte{3, 4}))

	npyHeader := func(descr, shape string) []byte {
		dict := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
		dict += strings.Repeat(" ", 63-(10+len(dict))%64) + "\n"
		head := []byte("\x93NUMPY\x01\x00")
		head = binary.LittleEndian.AppendUint16(head, uint16(len(dict)))
		return append(head, dict...)
	}

	validTrace, err := os.ReadFile(f.trace)
	if err != nil {
		t.Fatal(err)
	}
	existing := f.write(t, "existing.npz", []byte("keep me"))
	f.write(t, "out-file", []byte("a file where --out wants a folder"))

	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		// Global flags and the memory limit.
		{"max-memory not a size", []string{"--max-memory", "lots"}, nil, "--max-memory"},
		{"max-memory unknown unit", []string{"record", "-o", out("a.cnndbg"), "--max-memory", "2XB"}, nil, "2XB"},
		{"max-memory below one value", []string{"record", "-o", out("a.cnndbg"), "--max-memory", "4"}, nil, "--max-memory"},
		{"max-memory negative", []string{"record", "-o", out("a.cnndbg"), "--max-memory", "-1GiB"}, nil, "-1GiB"},
		{"max-memory below the minimum", []string{"record", "-o", out("a.cnndbg"), "--max-memory", "1KiB"}, nil, "1KiB"},
		{"max elements variable too small", []string{"record", "-o", out("a.cnndbg")}, map[string]string{"CNNDBG_MAX_ELEMENTS": "100"}, "CNNDBG_MAX_ELEMENTS"},
		{"input over max-memory", []string{"record", "-o", out("a.cnndbg"), "--max-memory", "1MiB", "--input", f.write(t, "big.npy", npyBytes(t, ramp(200, 28, 28, 1))), "--labels", strings.Repeat("1,", 199) + "1"}, nil, "big.npy"},
		{"invalid max elements variable", []string{"record", "-o", out("a.cnndbg")}, map[string]string{"CNNDBG_MAX_ELEMENTS": "lots"}, "CNNDBG_MAX_ELEMENTS"},
		{"mnist over max-memory", []string{"record", "-o", out("a.cnndbg"), "--max-memory", "1MiB", "--mnist", mnistHuge, "--index", "0:64"}, nil, "t10k-images-idx3-ubyte"},

		// Model specs.
		{"model missing", []string{"record", "-o", out("a.cnndbg"), "--model", f.path("none.json"), "--input", input, "--labels", "1"}, nil, "none.json"},
		{"model empty", []string{"record", "-o", out("a.cnndbg"), "--model", spec("empty.json", ""), "--input", input, "--labels", "1"}, nil, "empty.json"},
		{"model not JSON", []string{"record", "-o", out("a.cnndbg"), "--model", spec("brace.json", "{"), "--input", input, "--labels", "1"}, nil, "brace.json"},
		{"model misspelt field", []string{"record", "-o", out("a.cnndbg"), "--model", spec("typo.json", withLayers(`{"name":"c","type":"conv","filterz":2,"size":3},`)), "--input", input, "--labels", "1"}, nil, "filterz"},
		{"model huge conv", []string{"record", "-o", out("a.cnndbg"), "--model", spec("huge.json", `{"input":{"height":1,"width":1,"channels":1000000},"layers":[{"name":"c","type":"conv","filters":1000000,"size":1000},{"name":"flatten","type":"flatten"},{"name":"loss","type":"softmax_cross_entropy"}]}`), "--input", input, "--labels", "1"}, nil, "limit"},
		{"model huge input", []string{"record", "-o", out("a.cnndbg"), "--model", spec("wide.json", `{"input":{"height":3037000500,"width":3037000500,"channels":3037000500},"layers":[{"name":"flatten","type":"flatten"},{"name":"fc","type":"dense","units":2},{"name":"loss","type":"softmax_cross_entropy"}]}`), "--input", input, "--labels", "1"}, nil, "input"},
		{"model loss not last", []string{"record", "-o", out("a.cnndbg"), "--model", spec("loss.json", withLayers(`{"name":"l0","type":"softmax_cross_entropy"},`)), "--input", input, "--labels", "1"}, nil, "softmax_cross_entropy"},
		{"model filter larger than input", []string{"record", "-o", out("a.cnndbg"), "--model", spec("big-filter.json", withLayers(`{"name":"c","type":"conv","filters":2,"size":9},`)), "--input", input, "--labels", "1"}, nil, "layer c"},
		{"model duplicate names", []string{"record", "-o", out("a.cnndbg"), "--model", spec("dup.json", withLayers(`{"name":"fc","type":"relu"},`)), "--input", input, "--labels", "1"}, nil, "fc"},

		// Weights.
		{"weights missing", []string{"record", "-o", out("a.cnndbg"), "--weights", f.path("none.npz")}, nil, "none.npz"},
		{"weights not a zip", []string{"record", "-o", out("a.cnndbg"), "--weights", f.write(t, "junk.npz", []byte("junk"))}, nil, "junk.npz"},
		{"weights wrong shape", []string{"record", "-o", out("a.cnndbg"), "--weights", f.write(t, "shape.npz", zipWith(t, map[string][]byte{"conv1.W.npy": npyBytes(t, ramp(3, 3, 1, 6))}))}, nil, "conv1.W"},
		{"weights member truncated", []string{"record", "-o", out("a.cnndbg"), "--weights", f.write(t, "cut.npz", zipWith(t, map[string][]byte{"conv1.W.npy": npyHeader("<f8", "(5, 5, 1, 6)")}))}, nil, "cut.npz"},

		// Inputs and labels.
		{"input empty file", []string{"record", "-o", out("a.cnndbg"), "--input", f.write(t, "empty.npy", nil), "--labels", "1"}, nil, "empty.npy"},
		{"input truncated npy", []string{"record", "-o", out("a.cnndbg"), "--input", f.write(t, "cut.npy", digit[:300]), "--labels", "1"}, nil, "cut.npy"},
		{"input header claims exabytes", []string{"record", "-o", out("a.cnndbg"), "--input", f.write(t, "claims.npy", npyHeader("<f8", "(1000000000, 1000000000, 28, 1)")), "--labels", "1"}, nil, "claims.npy"},
		{"input unsupported dtype", []string{"record", "-o", out("a.cnndbg"), "--input", f.write(t, "complex.npy", npyHeader("<c16", "(1, 28, 28, 1)")), "--labels", "1"}, nil, "complex.npy"},
		{"input wrong image size", []string{"record", "-o", out("a.cnndbg"), "--input", f.write(t, "small.npy", npyBytes(t, ramp(1, 5, 5, 1))), "--labels", "1"}, nil, "small.npy"},
		{"input broken png", []string{"record", "-o", out("a.cnndbg"), "--input", f.write(t, "broken.png", []byte("\x89PNG\r\n\x1a\nnot really")), "--labels", "1"}, nil, "broken.png"},
		{"input truncated pgm", []string{"record", "-o", out("a.cnndbg"), "--input", f.write(t, "cut.pgm", []byte("P5 28 28 255\n\x00\x01")), "--labels", "1"}, nil, "cut.pgm"},
		{"input is a folder", []string{"record", "-o", out("a.cnndbg"), "--input", f.dir, "--labels", "1"}, nil, f.dir},
		{"labels not numbers", []string{"record", "-o", out("a.cnndbg"), "--input", input, "--labels", "seven"}, nil, "seven"},
		{"labels negative", []string{"record", "-o", out("a.cnndbg"), "--input", input, "--labels", "-1"}, nil, "-1"},
		{"labels file fractional", []string{"record", "-o", out("a.cnndbg"), "--input", input, "--labels", f.write(t, "frac.npy", npyBytes(t, net.FromData([]float64{1.5}, 1)))}, nil, "frac.npy"},

		// MNIST folders.
		{"mnist folder missing", []string{"record", "-o", out("a.cnndbg"), "--mnist", f.path("no-mnist")}, nil, "no-mnist"},
		{"mnist wrong magic", []string{"record", "-o", out("a.cnndbg"), "--mnist", mnistJunk, "--index", "0"}, nil, "t10k-images-idx3-ubyte"},
		{"mnist header cut", []string{"record", "-o", out("a.cnndbg"), "--mnist", mnistShort, "--index", "0"}, nil, "t10k-images-idx3-ubyte"},
		{"mnist images cut", []string{"record", "-o", out("a.cnndbg"), "--mnist", mnistCut, "--index", "0:64"}, nil, "t10k-images-idx3-ubyte"},
		{"mnist index past end", []string{"record", "-o", out("a.cnndbg"), "--mnist", mnistTwo, "--index", "5"}, nil, "5"},
		{"mnist index reversed", []string{"record", "-o", out("a.cnndbg"), "--mnist", mnistTwo, "--index", "2:1"}, nil, "2:1"},
		{"mnist unknown set", []string{"record", "-o", out("a.cnndbg"), "--mnist", mnistTwo, "--set", "validation"}, nil, "validation"},
		{"mnist and input", []string{"record", "-o", out("a.cnndbg"), "--mnist", mnistTwo, "--input", input}, nil, "--input"},

		// Step flags.
		{"lr negative", []string{"record", "-o", out("a.cnndbg"), "--lr", "-1"}, nil, "--lr"},
		{"lr not a number", []string{"record", "-o", out("a.cnndbg"), "--lr", "NaN"}, nil, "--lr"},
		{"seed negative", []string{"record", "-o", out("a.cnndbg"), "--seed", "-3"}, nil, "--seed"},
		{"steps zero", []string{"record", "-o", out("a.cnndbg"), "--steps", "0"}, nil, "--steps"},
		{"output folder missing", []string{"record", "-o", f.path("no-such-folder/a.cnndbg")}, nil, "no-such-folder"},

		// Traces.
		{"view empty trace", []string{"view", f.write(t, "empty.cnndbg", nil)}, nil, "empty.cnndbg"},
		{"view folder", []string{"view", f.dir}, nil, f.dir},
		{"view weights archive", []string{"view", f.write(t, "weights.npz", zipWith(t, map[string][]byte{"fc1.W.npy": npyBytes(t, ramp(2, 2))}))}, nil, "weights.npz"},
		{"view half a trace", []string{"view", f.write(t, "half.cnndbg", validTrace[:len(validTrace)/2])}, nil, "half.cnndbg"},
		{"explain corrupted member", []string{"explain", f.write(t, "corrupt.cnndbg", corruptMember(t, f.trace, "conv1.dW.npy")), "conv1.dW[0,0,0,0]"}, nil, "corrupt.cnndbg"},
		{"explain tensor over max-memory", []string{"explain", f.trace, "conv1.Z[0,0,0,0]", "--max-memory", "1MiB"}, nil, "conv1.Z"},
		{"explain unknown tensor", []string{"explain", f.trace, "conv9.dW[0,0,0,0]"}, nil, "conv9.dW"},
		{"explain index out of range", []string{"explain", f.trace, "conv1.dW[9,9,9,9]"}, nil, "conv1.dW"},
		{"explain wrong rank", []string{"explain", f.trace, "conv1.dW[0]"}, nil, "conv1.dW"},
		{"explain index not a number", []string{"explain", f.trace, "conv1.dW[a,0,0,0]"}, nil, "\"a\""},
		{"explain negative top", []string{"explain", f.trace, "conv1.dW[0,0,0,0]", "--top", "-1"}, nil, "--top"},
		{"explain without target", []string{"explain", f.trace}, nil, "TARGET"},
		{"export existing output", []string{"export", f.trace, "-o", existing}, nil, "--force"},
		{"export into missing folder", []string{"export", f.trace, "-o", f.path("nowhere/x.npz")}, nil, "nowhere"},

		// Exercises.
		{"conv stride not a number", []string{"conv", "--a-prev", input, "--w", input, "--b", input, "--stride", "two", "--dz-from-z"}, nil, "--stride"},
		{"conv weights missing", []string{"conv", "--a-prev", input, "--w", f.path("W-none.npy"), "--b", input, "--dz-from-z", "--out", out("conv")}, nil, "W-none.npy"},
		{"conv bias wrong shape", []string{"conv", "--a-prev", input, "--w", f.write(t, "W.npy", npyBytes(t, ramp(3, 3, 1, 4))), "--b", f.write(t, "b5.npy", npyBytes(t, ramp(1, 1, 1, 5))), "--dz-from-z", "--out", out("conv")}, nil, "b"},
		{"conv dz and dz-from-z", []string{"conv", "--a-prev", input, "--w", f.path("W.npy"), "--b", f.path("b5.npy"), "--dz", input, "--dz-from-z"}, nil, "--dz"},
		{"conv out is a file", []string{"conv", "--a-prev", input, "--w", f.path("W.npy"), "--b", f.write(t, "b4.npy", npyBytes(t, ramp(1, 1, 1, 4))), "--dz-from-z", "--out", f.path("out-file")}, nil, "out-file"},
		{"pool size zero", []string{"pool", "--a-prev", input, "--size", "0", "--stride", "2", "--da", input, "--out", out("pool")}, nil, "--size"},
		{"pool unknown ties", []string{"pool", "--a-prev", input, "--ties", "random", "--da", input, "--out", out("pool")}, nil, "random"},
		{"pool three-dimensional input", []string{"pool", "--a-prev", f.write(t, "A3.npy", npyBytes(t, ramp(4, 4, 2))), "--da", input, "--out", out("pool")}, nil, "A_prev"},
		{"gradcheck eps zero", []string{"gradcheck", "--eps", "0"}, nil, "--eps"},
		{"stride not a number", []string{"conv", "--stride", "two"}, nil, `--stride takes a whole number such as 1, not "two"`},
		{"seed negative", []string{"record", "-o", out("seed.cnndbg"), "--seed", "-3"}, nil, `--seed takes a whole number ≥ 0 such as 0, not "-3"`},
		{"seed out of range", []string{"record", "-o", out("big.cnndbg"), "--seed", "99999999999999999999999"}, nil, "--seed 99999999999999999999999 is out of range"},
		{"tour extra argument", []string{"tour", "extra"}, nil, `tour takes no arguments, got "extra": remove it`},
		{"force not a boolean", []string{"record", "-o", out("force.cnndbg"), "--force=maybe"}, nil, `--force takes true or false, not "maybe"`},
		{"key delay not a duration", []string{"tour", "--key-delay", "soon"}, nil, `--key-delay takes a duration such as 100ms, not "soon"`},
		{"gradcheck negative sample", []string{"gradcheck", "--max-elements", "-1"}, nil, "-1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for key, value := range c.env {
				t.Setenv(key, value)
			}
			code, _, stderr := runCLI(t, c.args...)
			t.Logf("stderr: %s", stderr)
			checkBadInput(t, code, stderr, c.want)
		})
	}
	if data, _ := os.ReadFile(existing); string(data) != "keep me" {
		t.Errorf("export replaced an existing file without --force: it now holds %q", data)
	}
	if _, err := os.Stat(f.path("out")); err == nil {
		entries, _ := os.ReadDir(f.path("out"))
		for _, e := range entries {
			info, _ := e.Info()
			if !e.IsDir() {
				t.Errorf("a failed command left %s (%d bytes) behind", e.Name(), info.Size())
			}
		}
	}
}
