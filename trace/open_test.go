package trace

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rewriteZip copies the zip at src to a new file, passing each member's
// bytes through edit (nil drops the member), and returns the new path.
func rewriteZip(t *testing.T, src string, edit func(name string, data []byte) []byte) string {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if data = edit(zf.Name, data); data == nil {
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: zf.Name, Method: zf.Method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "edited.npz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// editManifest rewrites the manifest of the trace at src through edit.
func editManifest(t *testing.T, src string, edit func(m map[string]any)) string {
	t.Helper()
	return rewriteZip(t, src, func(name string, data []byte) []byte {
		if name != ManifestMember {
			return data
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	})
}

// checkOneLineError fails unless err is a single line that names path and
// contains every fragment of want.
func checkOneLineError(t *testing.T, err error, path string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	msg := err.Error()
	t.Log(msg)
	if strings.Contains(msg, "\n") {
		t.Errorf("error has several lines: %q", msg)
	}
	if !strings.Contains(msg, path) {
		t.Errorf("error %q does not name the file %s", msg, path)
	}
	for _, fragment := range want {
		if !strings.Contains(msg, fragment) {
			t.Errorf("error %q does not contain %q", msg, fragment)
		}
	}
}

func tensorsOf(m map[string]any) []any { return m["tensors"].([]any) }

func TestOpenRejectsBadFiles(t *testing.T) {
	good, _ := writeSample(t)
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	cases := []struct {
		name string
		path string
		want []string
	}{
		{"empty", file("empty.npz", nil), []string{"is empty"}},
		{"not zip", file("notes.txt", []byte("conv1.dW is wrong\n")), []string{"not a zip file"}},
		{"truncated", file("cut.npz", goodBytes[:len(goodBytes)/2]), []string{"truncated"}},
		{"missing", filepath.Join(dir, "nowhere.npz"), []string{"not found", "cnndbg record -o"}},
		{"folder", dir, []string{"is a folder"}},
		{"no manifest", rewriteZip(t, good, func(name string, data []byte) []byte {
			if name == ManifestMember {
				return nil
			}
			return data
		}), []string{"no manifest.json"}},
		{"invalid json", rewriteZip(t, good, func(name string, data []byte) []byte {
			if name == ManifestMember {
				return data[:len(data)/2]
			}
			return data
		}), []string{"manifest.json is not a valid trace manifest"}},
		{"future version", editManifest(t, good, func(m map[string]any) { m["version"] = 7 }),
			[]string{"was written by format version 7; this cnndbg reads up to 1: upgrade cnndbg"}},
		{"other format", editManifest(t, good, func(m map[string]any) { m["format"] = "other" }),
			[]string{"not a cnndbg trace"}},
		{"member missing", rewriteZip(t, good, func(name string, data []byte) []byte {
			if name == "lin.Z.npy" {
				return nil
			}
			return data
		}), []string{"member lin.Z.npy", "missing"}},
		{"member size", editManifest(t, good, func(m map[string]any) {
			tensorsOf(m)[2].(map[string]any)["size"] = 9999
		}), []string{"member lin.Z.npy is", "9999"}},
		{"bad producer", editManifest(t, good, func(m map[string]any) {
			tensorsOf(m)[2].(map[string]any)["producer"] = 40
		}), []string{"producer 40"}},
		{"wrong producer", editManifest(t, good, func(m map[string]any) {
			tensorsOf(m)[2].(map[string]any)["producer"] = 1
		}), []string{"written by event 0"}},
		{"bad consumer", editManifest(t, good, func(m map[string]any) {
			tensorsOf(m)[0].(map[string]any)["consumers"] = []int{-3}
		}), []string{"consumer -3"}},
		{"negative shape", editManifest(t, good, func(m map[string]any) {
			tensorsOf(m)[0].(map[string]any)["shape"] = []int{-2, 3}
		}), []string{"negative dimension"}},
		{"absurd shape", editManifest(t, good, func(m map[string]any) {
			tensorsOf(m)[0].(map[string]any)["shape"] = []int{1 << 30, 1 << 30}
		}), []string{"more than"}},
		{"role to missing tensor", editManifest(t, good, func(m map[string]any) {
			ref := m["events"].([]any)[0].(map[string]any)["inputs"].([]any)[0].(map[string]any)
			ref["tensor"] = 99
		}), []string{"tensor 99"}},
		{"duplicate name", editManifest(t, good, func(m map[string]any) {
			tensorsOf(m)[1].(map[string]any)["name"] = "input.X"
		}), []string{`name "input.X" is also used`}},
		{"unsafe member", editManifest(t, good, func(m map[string]any) {
			tensorsOf(m)[1].(map[string]any)["member"] = "../evil.npy"
		}), []string{"member name"}},
		{"bad phase", editManifest(t, good, func(m map[string]any) {
			m["events"].([]any)[0].(map[string]any)["phase"] = "sideways"
		}), []string{`unknown phase "sideways"`}},
		{"shuffled ids", editManifest(t, good, func(m map[string]any) {
			tensorsOf(m)[1].(map[string]any)["id"] = 0
		}), []string{"has id 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := Open(c.path)
			if err == nil {
				tr.Close()
			}
			checkOneLineError(t, err, c.path, c.want...)
		})
	}
}

// flipByteIn returns a copy of the file at path with one byte changed inside
// the stored data of member.
func flipByteIn(t *testing.T, path, member string, offsetInMember int64) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	var at int64 = -1
	for _, zf := range zr.File {
		if zf.Name == member {
			if at, err = zf.DataOffset(); err != nil {
				t.Fatal(err)
			}
		}
	}
	zr.Close()
	if at < 0 {
		t.Fatalf("no member %s", member)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[at+offsetInMember] ^= 0x40
	out := filepath.Join(t.TempDir(), "flipped.npz")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCorruptedMemberFailsOnRead(t *testing.T) {
	good, tr := writeSample(t)
	path := flipByteIn(t, good, "lin.dZ.npy", 130)
	opened, err := Open(path)
	if err != nil {
		t.Fatalf("Open reads only the directory and manifest, so it should succeed: %v", err)
	}
	defer opened.Close()
	id := tr.Tensor("lin.dZ").ID
	_, err = opened.Data(id)
	checkOneLineError(t, err, path, "member lin.dZ.npy is corrupted: checksum", "≠ manifest")
	if _, err := opened.Data(0); err != nil {
		t.Errorf("an intact member fails after a corrupted one: %v", err)
	}
}

func TestBadNpyHeaderFailsOnRead(t *testing.T) {
	good, tr := writeSample(t)
	path := flipByteIn(t, good, "lin.W.npy", 0)
	opened, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	_, err = opened.Data(tr.Tensor("lin.W").ID)
	checkOneLineError(t, err, path, "member lin.W.npy has a bad .npy header")
}

func TestCorruptedManifestFailsOnOpen(t *testing.T) {
	good, _ := writeSample(t)
	zr, err := zip.OpenReader(good)
	if err != nil {
		t.Fatal(err)
	}
	var at int64
	for _, zf := range zr.File {
		if zf.Name == ManifestMember {
			at, _ = zf.DataOffset()
		}
	}
	zr.Close()
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// The manifest is deflated: a flipped bit breaks the stream or the CRC.
	data[at+20] ^= 0x01
	path := filepath.Join(t.TempDir(), "flipped.npz")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	checkOneLineError(t, err, path, "manifest.json is corrupted")
}

func TestOpenReadsDeflatedMembers(t *testing.T) {
	good, tr := writeSample(t)
	path := filepath.Join(t.TempDir(), "compressed.npz")
	zr, err := zip.OpenReader(good)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: zf.Name, Method: zip.Deflate})
		w.Write(data)
	}
	zw.Close()
	zr.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	opened, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	v, err := opened.Value(tr.Tensor("lin.dZ").ID, 1, 2)
	if err != nil || v != 6 {
		t.Errorf("lin.dZ[1,2] = %v, %v; want 6", v, err)
	}
}

func TestParseNpyDictAcceptsNumpyVariants(t *testing.T) {
	for _, header := range []string{
		"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }  \n",
		"{'shape': (5,), 'descr': '<f8', 'fortran_order': False}\n",
		"{\"descr\": \"<f8\", \"fortran_order\": True, \"shape\": ()}",
	} {
		if _, err := parseNpyDict(header); err != nil {
			t.Errorf("parseNpyDict(%q): %v", header, err)
		}
	}
	for _, header := range []string{"", "{", "{'descr': '<f8'}", "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", "{'x': 1}"} {
		if _, err := parseNpyDict(header); err == nil {
			t.Errorf("parseNpyDict(%q): no error", header)
		}
	}
}
