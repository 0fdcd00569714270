package trace

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sampleTrace records a small two-event step with a 0-D, an empty and a
// non-finite tensor, so every corner of the format is written.
func sampleTrace() *Trace {
	rec := NewRecorder([]byte(`{"input": {"height": 2, "width": 3, "channels": 1}}`))
	x := rec.Input("input.X", []int{2, 3}, []float64{1, -2.5, 3, math.Pi, 0, -0})
	w := rec.Input("lin.W", []int{3}, []float64{0.1, 0.2, 1e-300})
	b := rec.Begin("lin", "dense", Forward, "units", 3, "lr", 0.1)
	b.Read("A_prev", x).Read("W", w)
	z := b.Write("Z", "", []int{2, 3}, []float64{math.NaN(), math.Inf(1), math.Inf(-1), 4, 5, 6})
	b.Write("scale", "", []int{}, []float64{7})
	b.Write("nothing", "", []int{0, 4}, []float64{})
	b.Done()
	rec.SetStep(0)
	b = rec.Begin("act", "relu", Forward)
	b.Read("Z", z)
	b.Write("A", "lin.dZ", []int{2, 3}, []float64{0, 0, 0, 4, 5, 6})
	b.Done()
	return rec.Trace()
}

func writeSample(t *testing.T) (string, *Trace) {
	t.Helper()
	tr := sampleTrace()
	path := filepath.Join(t.TempDir(), "step.npz")
	if err := Write(path, tr, false); err != nil {
		t.Fatal(err)
	}
	return path, tr
}

func TestRoundTripIsBitIdentical(t *testing.T) {
	path, want := writeSample(t)
	got, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()

	var a, b any
	if err := json.Unmarshal(want.Model, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got.Model, &b); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("model %s, want %s", got.Model, want.Model)
	}
	if fmt.Sprintf("%+v", got.Events) != fmt.Sprintf("%+v", want.Events) {
		t.Errorf("events differ:\n got %+v\nwant %+v", got.Events, want.Events)
	}
	if fmt.Sprint(got.Names()) != fmt.Sprint(want.Names()) {
		t.Errorf("names %v, want %v", got.Names(), want.Names())
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for id, w := range want.Tensors {
		g := got.Tensors[id]
		if g.Name != w.Name || fmt.Sprint(g.Aliases) != fmt.Sprint(w.Aliases) || fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) ||
			g.Producer != w.Producer || fmt.Sprint(g.Consumers) != fmt.Sprint(w.Consumers) || g.Stats != w.Stats {
			t.Errorf("tensor %d: got %+v, want %+v", id, g, w)
		}
		gd, err := got.Data(id)
		if err != nil {
			t.Fatal(err)
		}
		wd, _ := want.Data(id)
		if len(gd) != len(wd) {
			t.Fatalf("%s: %d values, want %d", w.Name, len(gd), len(wd))
		}
		for k := range wd {
			if math.Float64bits(gd[k]) != math.Float64bits(wd[k]) {
				t.Errorf("%s[%d] = %x, want %x", w.Name, k, math.Float64bits(gd[k]), math.Float64bits(wd[k]))
			}
		}
	}
}

func TestNpyMembersFollowNumpyFormat(t *testing.T) {
	path, tr := writeSample(t)
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	byName := map[string]*zip.File{}
	for _, zf := range zr.File {
		byName[zf.Name] = zf
	}
	for _, tensor := range tr.Tensors {
		zf := byName[tensor.Name+".npy"]
		if zf == nil {
			t.Errorf("no member %s.npy", tensor.Name)
			continue
		}
		if zf.Method != zip.Store {
			t.Errorf("%s: zip method %d, want stored (0)", zf.Name, zf.Method)
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(rc)
		rc.Close()
		member := buf.Bytes()

		if string(member[:6]) != "\x93NUMPY" {
			t.Errorf("%s: magic %q", zf.Name, member[:6])
		}
		if member[6] != 1 || member[7] != 0 {
			t.Errorf("%s: version %d.%d, want 1.0", zf.Name, member[6], member[7])
		}
		hlen := int(binary.LittleEndian.Uint16(member[8:10]))
		start := 10 + hlen
		if start%64 != 0 {
			t.Errorf("%s: data starts at %d, not a multiple of 64", zf.Name, start)
		}
		header := string(member[10:start])
		if !strings.HasSuffix(header, "\n") {
			t.Errorf("%s: header does not end in a newline: %q", zf.Name, header)
		}
		dict := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", FormatShape(tensor.Shape))
		if !strings.HasPrefix(header, dict) || strings.TrimLeft(header[len(dict):], " ") != "\n" {
			t.Errorf("%s: header %q, want %q padded with spaces", zf.Name, header, dict)
		}
		if got, want := len(member)-start, 8*Size(tensor.Shape); got != want {
			t.Errorf("%s: %d data bytes, want %d", zf.Name, got, want)
		}
	}
	for _, shape := range [][]int{{}, {5}, {2, 3}} {
		if got := FormatShape(shape); got != map[int]string{0: "()", 1: "(5,)", 2: "(2, 3)"}[len(shape)] {
			t.Errorf("FormatShape(%v) = %s", shape, got)
		}
	}
}

func TestNumpyLoadsTrace(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		t.Skipf("%s with numpy is not available: %v", python, err)
	}
	path, tr := writeSample(t)
	script := `
import io, json, sys, zipfile
import numpy as np
path = sys.argv[1]
z = np.load(path)
m = json.loads(z["manifest.json"])
assert m["format"] == "cnndbg-trace", m["format"]
assert m["version"] == 1, m["version"]
a = z["lin.dZ"]
assert a.dtype == np.float64, a.dtype
assert a.shape == (2, 3), a.shape
assert a[1, 2] == 6.0, a
assert np.isnan(z["lin.Z"][0, 0])
assert z["lin.Z"][0, 1] == np.inf
assert z["lin.scale"].shape == ()
assert z["lin.scale"] == 7.0
assert z["lin.nothing"].shape == (0, 4)
assert z["input.X"][1, 0] == np.pi
with zipfile.ZipFile(path) as zf:
    for t in m["tensors"]:
        member = zf.read(t["member"])
        assert len(member) == t["size"], t["name"]
        assert "%08x" % zf.getinfo(t["member"]).CRC == t["crc32"], t["name"]
        ref = io.BytesIO()
        np.save(ref, np.zeros(t["shape"]))
        hlen = 10 + int.from_bytes(member[8:10], "little")
        assert member[:hlen] == ref.getvalue()[:hlen], (t["name"], member[:hlen], ref.getvalue()[:hlen])
print("ok", len(m["tensors"]))
`
	out, err := exec.Command(python, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy could not read the trace: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("ok %d\n", len(tr.Tensors)); string(out) != want {
		t.Errorf("python printed %q, want %q", out, want)
	}
}

func TestWriteRefusesExistingFile(t *testing.T) {
	path, tr := writeSample(t)
	err := Write(path, tr, false)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Write over an existing file: %v, want an error naming the file and --force", err)
	}
	if err := Write(path, tr, true); err != nil {
		t.Fatalf("Write with overwrite: %v", err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder holds %d files after two writes, want only the trace", len(entries))
	}
}

func TestWriteLeavesNoFileOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-folder", "step.npz")
	err := Write(path, sampleTrace(), false)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Write into a missing folder: %v, want an error naming %s", err, path)
	}
}

func TestConcurrentDataSharesCache(t *testing.T) {
	path, want := writeSample(t)
	got, err := OpenWithCache(path, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 20; round++ {
				for id := range want.Tensors {
					data, err := got.Data(id)
					if err != nil {
						t.Error(err)
						return
					}
					if len(data) != Size(want.Tensors[id].Shape) {
						t.Errorf("tensor %d: %d values", id, len(data))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	l := got.loader.(*fileLoader)
	if l.usedBytes > 64 {
		t.Errorf("cache holds %d bytes, limit 64", l.usedBytes)
	}
}

func TestDataAfterCloseFails(t *testing.T) {
	path, _ := writeSample(t)
	tr, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if _, err := tr.Data(0); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Data after Close: %v, want an error naming the file", err)
	}
}

func TestValueOutOfRange(t *testing.T) {
	tr := sampleTrace()
	if _, err := tr.Value(0, 2, 0); err == nil {
		t.Error("Value(0, 2, 0) on a (2, 3) tensor: no error")
	}
	if _, err := tr.Data(99); err == nil {
		t.Error("Data(99): no error")
	}
}
