package trace_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// The fuzz targets below open arbitrary trace files and then use them the
// way the screen and `cnndbg explain` do: list the events, load every
// tensor, and explain and trace the provenance of a few elements. Each step
// must return a value or a one-line error, never panic. FuzzOpen mutates the
// whole file, which mostly exercises the zip and checksum checks;
// FuzzOpenManifest mutates only manifest.json inside an otherwise valid
// trace, so that its mutations reach the event and tensor checks and the
// explain code.

// fuzzMaxTensorBytes bounds tensor loads during fuzzing.
const fuzzMaxTensorBytes = 8 << 20

// recordTinyTrace records one step of a small conv network and returns the
// bytes of its trace file.
func recordTinyTrace(tb testing.TB) []byte {
	tb.Helper()
	spec, err := net.ParseSpec([]byte(`{"input":{"height":6,"width":6,"channels":1},"layers":[
		{"name":"conv1","type":"conv","filters":2,"size":3,"pad":1},{"name":"relu1","type":"relu"},
		{"name":"pool1","type":"maxpool","size":2},{"name":"pool2","type":"avgpool","size":3},
		{"name":"flatten","type":"flatten"},{"name":"fc1","type":"dense","units":3},
		{"name":"loss","type":"softmax_cross_entropy"}]}`))
	if err != nil {
		tb.Fatal(err)
	}
	n, err := net.NewNetwork(spec, 7)
	if err != nil {
		tb.Fatal(err)
	}
	x := net.NewTensor(2, 6, 6, 1)
	for k := range x.Data {
		x.Data[k] = float64(k%5) / 4
	}
	rec := trace.NewRecorder(spec.JSON())
	n.Step(x, []int{1, 2}, 0.1, rec)
	path := filepath.Join(tb.TempDir(), "tiny.cnndbg")
	if err := trace.Write(path, rec.Trace(), false); err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// replaceManifest returns the trace file data with manifest.json replaced by
// manifest. The other members are copied unchanged.
func replaceManifest(tb testing.TB, data, manifest []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: zf.Name, Method: zip.Store})
		if err != nil {
			tb.Fatal(err)
		}
		if zf.Name == trace.ManifestMember {
			w.Write(manifest)
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			tb.Fatal(err)
		}
		io.Copy(w, rc)
		rc.Close()
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// manifestOf returns the manifest.json of a trace file's data.
func manifestOf(tb testing.TB, data []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	rc, err := zr.Open(trace.ManifestMember)
	if err != nil {
		tb.Fatal(err)
	}
	defer rc.Close()
	text, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatal(err)
	}
	return text
}

// useTrace opens the file at path and reads everything a user can reach.
func useTrace(t *testing.T, path string) {
	old := trace.MaxTensorBytes
	t.Cleanup(func() { trace.MaxTensorBytes = old })
	trace.MaxTensorBytes = fuzzMaxTensorBytes

	tr, err := trace.Open(path)
	requireOneLine(t, err)
	if err != nil {
		return
	}
	defer tr.Close()
	tr.Names()
	tr.FirstNonFiniteEvent(0)
	for k := range tr.Events {
		e := &tr.Events[k]
		tr.HasNonFiniteOutput(e)
		for _, ref := range append(append([]trace.Ref(nil), e.Inputs...), e.Outputs...) {
			tr.DisplayName(e, ref.Tensor)
		}
	}
	for id, tensor := range tr.Tensors {
		data, err := tr.Data(id)
		requireOneLine(t, err)
		if err != nil {
			continue
		}
		if len(data) != trace.Size(tensor.Shape) {
			t.Fatalf("tensor %s of shape %v has %d values", tensor.Name, tensor.Shape, len(data))
		}
		if len(data) == 0 {
			continue
		}
		for _, index := range []([]int){firstIndex(tensor.Shape), lastIndex(tensor.Shape)} {
			if _, err := tr.Value(id, index...); err != nil {
				t.Fatalf("Value(%s%v) failed on a loaded tensor: %v", tensor.Name, index, err)
			}
			_, err := net.Explain(tr, id, index)
			requireOneLine(t, err)
			_, err = net.Provenance(tr, id, index)
			requireOneLine(t, err)
		}
	}
}

func firstIndex(shape []int) []int { return make([]int, len(shape)) }

func lastIndex(shape []int) []int {
	index := make([]int, len(shape))
	for k, d := range shape {
		index[k] = d - 1
	}
	return index
}

// requireOneLine fails unless err is nil or a single line.
func requireOneLine(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error has several lines: %q", err)
	}
}

func FuzzOpen(f *testing.F) {
	valid := recordTinyTrace(f)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.cnndbg")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		useTrace(t, path)
	})
}

func FuzzOpenManifest(f *testing.F) {
	valid := recordTinyTrace(f)
	manifest := manifestOf(f, valid)
	f.Add(manifest)
	f.Add(bytes.Replace(manifest, []byte(`"conv"`), []byte(`"dense"`), 1))
	f.Add(bytes.Replace(manifest, []byte(`"maxpool"`), []byte(`"avgpool"`), 1))
	f.Add([]byte(`{"format":"cnndbg-trace","version":1,"events":[],"tensors":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, manifest []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.cnndbg")
		if err := os.WriteFile(path, replaceManifest(t, valid, manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		useTrace(t, path)
	})
}
