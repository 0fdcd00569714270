package net

import (
	"archive/zip"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fixtureWeights are the arrays of testdata/io/weights_*.npz with their shapes.
var fixtureWeights = map[string][]int{
	"conv1.W": {3, 3, 1, 2},
	"conv1.b": {2},
	"fc1.W":   {32, 3},
	"fc1.b":   {1, 3},
}

func TestReadNPZStoredAndDeflated(t *testing.T) {
	for _, name := range []string{"weights_stored.npz", "weights_deflated.npz"} {
		arrays, err := ReadNPZ(ioFixture(name))
		if err != nil {
			t.Fatal(err)
		}
		if len(arrays) != len(fixtureWeights) {
			t.Errorf("%s: %d arrays, want %d", name, len(arrays), len(fixtureWeights))
		}
		for key, shape := range fixtureWeights {
			x, ok := arrays[key]
			if !ok {
				t.Errorf("%s: no array %s", name, key)
				continue
			}
			checkFixture(t, name+" "+key, x, 'f', shape...)
		}
	}
}

func TestWriteNPZRoundTripAndOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.npz")
	arrays := map[string]*Tensor{
		"b":     FromData([]float64{math.NaN(), math.Copysign(0, -1)}, 2),
		"a":     FromData([]float64{1, 2, 3, 4, 5, 6}, 1, 2, 3),
		"z.W":   FromData([]float64{0.1}, 1, 1),
		"m.dZ":  NewTensor(0, 4),
		"scale": FromData([]float64{2.5}),
	}
	if err := WriteNPZ(path, arrays, []string{"z.W", "a"}, false); err != nil {
		t.Fatal(err)
	}

	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	zr.Close()
	want := []string{"z.W.npy", "a.npy", "b.npy", "m.dZ.npy", "scale.npy"}
	if len(names) != len(want) {
		t.Fatalf("members %v, want %v", names, want)
	}
	for k := range want {
		if names[k] != want[k] {
			t.Errorf("member %d is %s, want %s", k, names[k], want[k])
		}
	}

	read, err := ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	for key, x := range arrays {
		y := read[key]
		if y == nil || !slices.Equal(x.Shape, y.Shape) {
			t.Fatalf("%s: wrote shape %v, read %v", key, x.Shape, y)
		}
		for k := range x.Data {
			if math.Float64bits(x.Data[k]) != math.Float64bits(y.Data[k]) {
				t.Errorf("%s element %d: wrote %v, read %v", key, k, x.Data[k], y.Data[k])
			}
		}
	}

	err = WriteNPZ(path, arrays, nil, false)
	checkUserError(t, err, path, "already exists", "--force")
}

func TestWriteNPZPanicsOnBadOrder(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a key missing from arrays")
		}
	}()
	WriteNPZ(filepath.Join(t.TempDir(), "x.npz"), map[string]*Tensor{}, []string{"ghost"}, false)
}

// zipBytes returns a zip archive of the given members, stored.
func zipBytes(t *testing.T, members ...[2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0], Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(m[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReadNPZBadFiles(t *testing.T) {
	valid, err := os.ReadFile(ioFixture("weights_stored.npz"))
	if err != nil {
		t.Fatal(err)
	}
	npyData, err := os.ReadFile(ioFixture("le_f8.npy"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		data      []byte
		fragments []string
	}{
		{"text", []byte("conv1.W = 1\n"), []string{"not an .npz file", "numpy.savez"}},
		{"npy", npyData, []string{"not an .npz archive but a single .npy array"}},
		{"cut", valid[:len(valid)/2], []string{"not an .npz file", "truncated"}},
		{"bad member", zipBytes(t, [2]string{"conv1.W.npy", "garbage"}), []string{`array "conv1.W"`, "not a .npy file"}},
		{"short member", zipBytes(t, [2]string{"fc1.b.npy", string(npyData[:150])}), []string{`array "fc1.b"`, "truncated data"}},
		{"duplicate", zipBytes(t, [2]string{"a.npy", string(npyData)}, [2]string{"a.npy", string(npyData)}), []string{`two members named "a.npy"`}},
		{"complex member", zipBytes(t, [2]string{"w.npy", string(mustReadFile(t, ioFixture("bad_complex.npy")))}), []string{`array "w"`, "complex128"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeTempFile(t, "w.npz", c.data)
			_, err := ReadNPZ(path)
			checkUserError(t, err, path, c.fragments...)
		})
	}
}

func TestReadNPZDetectsChecksumMismatch(t *testing.T) {
	npyData := mustReadFile(t, ioFixture("le_f8.npy"))
	archive := zipBytes(t, [2]string{"x.npy", string(npyData)})
	end := bytes.Index(archive, npyData) + len(npyData)
	archive[end-1] ^= 0x01
	path := writeTempFile(t, "flipped.npz", archive)
	_, err := ReadNPZ(path)
	checkUserError(t, err, path, `array "x" is corrupt`, "checksum")
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestReadNPZSkipsOtherMembers(t *testing.T) {
	npyData := mustReadFile(t, ioFixture("le_f8.npy"))
	path := writeTempFile(t, "trace.npz", zipBytes(t, [2]string{"manifest.json", "{}"}, [2]string{"x.npy", string(npyData)}))
	arrays, err := ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(arrays) != 1 || arrays["x"] == nil {
		t.Errorf("read %v, want only x", arrays)
	}
}

func TestReadNPZTotalElementLimit(t *testing.T) {
	old := MaxElements
	t.Cleanup(func() { MaxElements = old })
	MaxElements = 40
	npyData := string(mustReadFile(t, ioFixture("le_f8.npy")))
	path := writeTempFile(t, "big.npz", zipBytes(t, [2]string{"a.npy", npyData}, [2]string{"b.npy", npyData}))
	_, err := ReadNPZ(path)
	checkUserError(t, err, path, `array "b"`, "limit of 40 elements in total", "CNNDBG_MAX_ELEMENTS")
}

// fixtureNetwork returns the network of testdata/io/weights_model.json.
func fixtureNetwork(t *testing.T, seed uint64) *Network {
	t.Helper()
	spec, err := LoadSpec(ioFixture("weights_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNetwork(spec, seed)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// layerParam returns a parameter tensor of layer name.
func layerParam(t *testing.T, n *Network, name, role string) *Tensor {
	t.Helper()
	for _, p := range n.Layer(name).(Parametric).Params() {
		if p.Role == role {
			return p.Value
		}
	}
	t.Fatalf("layer %s has no %s", name, role)
	return nil
}

func TestLoadWeightsFromNumpy(t *testing.T) {
	n := fixtureNetwork(t, 1)
	if err := LoadWeights(n, ioFixture("weights_deflated.npz")); err != nil {
		t.Fatal(err)
	}
	checkFixture(t, "conv1.W", layerParam(t, n, "conv1", "W"), 'f', 3, 3, 1, 2)
	checkFixture(t, "conv1.b from (2,)", layerParam(t, n, "conv1", "b"), 'f', 1, 1, 1, 2)
	checkFixture(t, "fc1.W", layerParam(t, n, "fc1", "W"), 'f', 32, 3)
	checkFixture(t, "fc1.b", layerParam(t, n, "fc1", "b"), 'f', 1, 3)

	// The loaded network runs.
	probs := n.Predict(NewTensor(2, 4, 4, 1))
	if !slices.Equal(probs.Shape, []int{2, 3}) {
		t.Errorf("Predict gives shape %v, want (2, 3)", probs.Shape)
	}
}

func TestLoadWeightsMissingKeysKeepValues(t *testing.T) {
	n := fixtureNetwork(t, 7)
	before := layerParam(t, n, "fc1", "W").Clone()
	path := filepath.Join(t.TempDir(), "conv-only.npz")
	conv := map[string]*Tensor{"conv1.W": NewTensor(3, 3, 1, 2)}
	if err := WriteNPZ(path, conv, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := LoadWeights(n, path); err != nil {
		t.Fatal(err)
	}
	for k, v := range layerParam(t, n, "conv1", "W").Data {
		if v != 0 {
			t.Fatalf("conv1.W element %d is %g, want the file's 0", k, v)
		}
	}
	for k, v := range layerParam(t, n, "fc1", "W").Data {
		if v != before.Data[k] {
			t.Fatalf("fc1.W element %d changed from %g to %g", k, before.Data[k], v)
		}
	}
}

func TestLoadWeightsRejectsBadFiles(t *testing.T) {
	cases := []struct {
		name      string
		arrays    map[string]*Tensor
		fragments []string
	}{
		{"unknown key", map[string]*Tensor{"conv1.W": NewTensor(3, 3, 1, 2), "conv2.W": NewTensor(1), "fc1.bias": NewTensor(3)},
			[]string{"unknown keys conv2.W, fc1.bias", "this model's weights are conv1.W, conv1.b, fc1.W, fc1.b"}},
		{"wrong W", map[string]*Tensor{"conv1.b": NewTensor(2), "conv1.W": NewTensor(5, 5, 1, 2)},
			[]string{"conv1.W has shape (5, 5, 1, 2), layer conv1 (conv) expects (3, 3, 1, 2)"}},
		{"wrong b", map[string]*Tensor{"fc1.b": NewTensor(4)},
			[]string{"fc1.b has shape (4,), layer fc1 (dense) expects (1, 3) or (3,)"}},
		{"transposed W", map[string]*Tensor{"fc1.W": NewTensor(3, 32)},
			[]string{"fc1.W has shape (3, 32), layer fc1 (dense) expects (32, 3)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := fixtureNetwork(t, 3)
			before := layerParam(t, n, "conv1", "b").Clone()
			path := filepath.Join(t.TempDir(), "w.npz")
			if err := WriteNPZ(path, c.arrays, nil, false); err != nil {
				t.Fatal(err)
			}
			err := LoadWeights(n, path)
			checkUserError(t, err, path, c.fragments...)
			if b := layerParam(t, n, "conv1", "b"); !slices.Equal(b.Shape, before.Shape) || b.Data[0] != before.Data[0] {
				t.Errorf("a rejected file changed conv1.b to %v", b)
			}
		})
	}
}

func TestSaveWeightsRoundTrip(t *testing.T) {
	saved := fixtureNetwork(t, 11)
	path := filepath.Join(t.TempDir(), "w.npz")
	if err := SaveWeights(saved, path, false); err != nil {
		t.Fatal(err)
	}
	loaded := fixtureNetwork(t, 12)
	if err := LoadWeights(loaded, path); err != nil {
		t.Fatal(err)
	}
	for _, key := range [][2]string{{"conv1", "W"}, {"conv1", "b"}, {"fc1", "W"}, {"fc1", "b"}} {
		x, y := layerParam(t, saved, key[0], key[1]), layerParam(t, loaded, key[0], key[1])
		if !slices.Equal(x.Shape, y.Shape) {
			t.Fatalf("%s.%s: shape %v became %v", key[0], key[1], x.Shape, y.Shape)
		}
		for k := range x.Data {
			if math.Float64bits(x.Data[k]) != math.Float64bits(y.Data[k]) {
				t.Fatalf("%s.%s element %d: saved %v, loaded %v", key[0], key[1], k, x.Data[k], y.Data[k])
			}
		}
	}
	err := SaveWeights(saved, path, false)
	checkUserError(t, err, path, "--force")
}
