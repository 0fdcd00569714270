package net

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLoadSpecFile(t *testing.T) {
	spec, err := LoadSpec(ioFixture("weights_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Layers) != 5 || spec.Classes() != 3 {
		t.Errorf("read %d layers and %d classes, want 5 and 3", len(spec.Layers), spec.Classes())
	}

	syntax := writeTempFile(t, "model.json", []byte("{\"input\": {\"height\": 4,\n  \"width\": 4,,\n}}"))
	_, err = LoadSpec(syntax)
	checkUserError(t, err, syntax+":2:14: invalid JSON", "fix the model spec")

	unknownType := writeTempFile(t, "model.json", []byte(`{"input": {"height": 4, "width": 4, "channels": 1},
 "layers": [{"name": "c", "type": "convolution"}, {"name": "loss", "type": "softmax_cross_entropy"}]}`))
	_, err = LoadSpec(unknownType)
	checkUserError(t, err, unknownType, `unknown layer type "convolution"`)

	misspelt := writeTempFile(t, "model.json", []byte(`{"input": {"height": 4, "width": 4, "chanels": 1}, "layers": []}`))
	_, err = LoadSpec(misspelt)
	checkUserError(t, err, misspelt, "chanels")

	missing := filepath.Join(t.TempDir(), "none.json")
	_, err = LoadSpec(missing)
	checkUserError(t, err, missing, "file not found")
}

func TestLoadInputNPY(t *testing.T) {
	dir := t.TempDir()
	batch := NewTensor(2, 4, 4, 1)
	for k := range batch.Data {
		batch.Data[k] = float64(k)
	}
	four := filepath.Join(dir, "x4.npy")
	three := filepath.Join(dir, "x3.npy")
	if err := WriteNPY(four, batch, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteNPY(three, FromData(batch.Data, 2, 4, 4), false); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{four, three} {
		x, err := LoadInput(path, []int{4, 4, 1}, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x.Shape, []int{2, 4, 4, 1}) || x.Data[31] != 31 {
			t.Errorf("%s: shape %v, element 31 = %v", path, x.Shape, x.Data[31])
		}
	}

	_, err := LoadInput(four, []int{2, 2, 1}, false)
	checkUserError(t, err, four, "shape (2, 4, 4, 1), the model expects (m, 2, 2, 1) or (m, 2, 2): resize the samples or pass --resize")
	x, err := LoadInput(four, []int{2, 2, 1}, true)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, "resized", x, []int{2, 2, 2, 1}, []float64{2.5, 4.5, 10.5, 12.5})

	_, err = LoadInput(four, []int{4, 4, 3}, true)
	checkUserError(t, err, four, "has 1 channels, the model expects (m, 4, 4, 3)")
}

func TestLoadInputNPYBadShapes(t *testing.T) {
	cases := []struct {
		shape     []int
		fragments []string
	}{
		{[]int{4, 4, 3}, []string{"shape (4, 4, 3) is one sample", "x[None]"}},
		{[]int{4, 4, 1}, []string{"shape (4, 4, 1) is one sample", "x[None]"}},
		{[]int{16}, []string{"shape (16,) is not a batch of images, the model expects (m, 4, 4, 3)"}},
		{[]int{0, 4, 4, 3}, []string{"contains no samples"}},
		{[]int{1, 2, 4, 4, 3}, []string{"not a batch of images"}},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "x.npy")
		if err := WriteNPY(path, NewTensor(c.shape...), false); err != nil {
			t.Fatal(err)
		}
		want := []int{4, 4, 3}
		if c.shape[len(c.shape)-1] == 1 {
			want = []int{4, 4, 1}
		}
		_, err := LoadInput(path, want, false)
		checkUserError(t, err, path, c.fragments...)
	}
}

func TestLoadInputImagesAndOthers(t *testing.T) {
	png := pngFile(t, "digit.png", grayRamp(4, 4))
	x, err := LoadInput(png, []int{4, 4, 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Shape, []int{1, 4, 4, 1}) {
		t.Errorf("PNG input has shape %v, want (1, 4, 4, 1)", x.Shape)
	}

	pgm := writeTempFile(t, "digit.pgm", []byte("P5 2 2 255\n\x00\x00\x00\xff"))
	x, err = LoadInput(pgm, []int{2, 2, 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, "pgm", x, []int{1, 2, 2, 1}, []float64{0, 0, 0, 1})

	csv := writeTempFile(t, "x.csv", []byte("0,1,2\n"))
	_, err = LoadInput(csv, []int{2, 2, 1}, false)
	checkUserError(t, err, csv, "not a .npy array, PNG or PGM image")

	missing := filepath.Join(t.TempDir(), "x.npy")
	_, err = LoadInput(missing, nil, false)
	checkUserError(t, err, missing, "file not found")
}

func TestReadLabels(t *testing.T) {
	cases := map[string][]int{
		"7":                        {7},
		"7,2,1":                    {7, 2, 1},
		" 7, 2 ,1":                 {7, 2, 1},
		ioFixture("labels_i8.npy"): {7, 2, 1, 0},
		ioFixture("labels_f4.npy"): {7, 2, 1, 0},
	}
	for arg, want := range cases {
		labels, err := ReadLabels(arg)
		if err != nil {
			t.Errorf("%q: %v", arg, err)
			continue
		}
		if len(labels) != len(want) {
			t.Errorf("%q: read %v, want %v", arg, labels, want)
			continue
		}
		for k := range want {
			if labels[k] != want[k] {
				t.Errorf("%q: read %v, want %v", arg, labels, want)
				break
			}
		}
	}
}

func TestReadLabelsErrors(t *testing.T) {
	_, err := ReadLabels("7,,1")
	checkUserError(t, err, `labels "7,,1"`, `item 2 ("")`, "like 7,2,1")

	_, err = ReadLabels("7,-1")
	checkUserError(t, err, `labels "7,-1"`, `item 2 ("-1")`)

	_, err = ReadLabels("seven")
	checkUserError(t, err, `labels "seven"`, "no such file, and not a comma-separated list")

	frac := ioFixture("labels_frac.npy")
	_, err = ReadLabels(frac)
	checkUserError(t, err, frac, "value 2.5 at index 1 is not a class index")

	matrix := ioFixture("le_f8.npy")
	_, err = ReadLabels(matrix)
	checkUserError(t, err, matrix, "shape (2, 3, 4) is not a vector")

	dir := t.TempDir()
	oneHot := filepath.Join(dir, "y.npy")
	if err := WriteNPY(oneHot, NewTensor(4, 10), false); err != nil {
		t.Fatal(err)
	}
	_, err = ReadLabels(oneHot)
	checkUserError(t, err, oneHot, "numpy.argmax(Y, axis=1)")

	text := filepath.Join(dir, "labels.txt")
	if err := os.WriteFile(text, []byte("7 2 1"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadLabels(text)
	checkUserError(t, err, text, "not a .npy file")
}
