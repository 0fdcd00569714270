package net

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pngFile writes img as a PNG named name in a temporary folder.
func pngFile(t *testing.T, name string, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return writeTempFile(t, name, b.Bytes())
}

// grayRamp returns an h×w 8-bit gray image with pixel (y, x) = 10·y + x.
func grayRamp(h, w int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray(x, y, color.Gray{Y: uint8(10*y + x)})
		}
	}
	return img
}

func checkValues(t *testing.T, name string, x *Tensor, shape []int, want []float64) {
	t.Helper()
	if !slices.Equal(x.Shape, shape) {
		t.Fatalf("%s: shape %v, want %v", name, x.Shape, shape)
	}
	for k := range want {
		if math.Abs(x.Data[k]-want[k]) > 1e-12 {
			t.Fatalf("%s: element %d is %v, want %v", name, k, x.Data[k], want[k])
		}
	}
}

func TestReadImagePNGGray(t *testing.T) {
	path := pngFile(t, "digit.png", grayRamp(2, 3))
	x, err := ReadImage(path, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, path, x, []int{1, 2, 3, 1}, []float64{0, 1. / 255, 2. / 255, 10. / 255, 11. / 255, 12. / 255})

	x, err = ReadImage(path, []int{2, 3, 3}, false)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, "gray as RGB", x, []int{1, 2, 3, 3}, []float64{0, 0, 0, 1. / 255, 1. / 255, 1. / 255})
}

func TestReadImagePNGGray16(t *testing.T) {
	img := image.NewGray16(image.Rect(0, 0, 2, 1))
	img.SetGray16(0, 0, color.Gray16{Y: 65535})
	img.SetGray16(1, 0, color.Gray16{Y: 257})
	x, err := ReadImage(pngFile(t, "deep.png", img), []int{1, 2, 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, "gray16", x, []int{1, 1, 2, 1}, []float64{1, 257. / 65535})
}

func TestReadImagePNGColour(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{R: 255, G: 0, B: 51, A: 255})
	img.SetNRGBA(1, 0, color.NRGBA{R: 255, G: 255, B: 255, A: 0})
	path := pngFile(t, "colour.png", img)
	x, err := ReadImage(path, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	// The transparent white pixel composites onto black.
	checkValues(t, "colour", x, []int{1, 1, 2, 3}, []float64{1, 0, 0.2, 0, 0, 0})

	_, err = ReadImage(path, []int{1, 2, 1}, false)
	checkUserError(t, err, path, "colour image, the model expects 1 channel", "convert the image to grayscale")
}

func TestReadImageGrayPixelsInColourPNG(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	img.Set(0, 0, color.RGBA{R: 51, G: 51, B: 51, A: 255})
	img.Set(1, 0, color.RGBA{R: 255, G: 255, B: 255, A: 255})
	x, err := ReadImage(pngFile(t, "saved-as-rgb.png", img), []int{1, 2, 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, "gray RGB", x, []int{1, 1, 2, 1}, []float64{0.2, 1})
}

func TestReadImagePGM(t *testing.T) {
	cases := []struct {
		name string
		data string
		want []float64
	}{
		{"plain.pgm", "P2\n# made by hand\n3 2\n# maxval next\n4\n0 1 2\n3 4 # end of row\n0\n", []float64{0, .25, .5, .75, 1, 0}},
		{"raw.pgm", "P5 3 2 255\n" + "\x00\x33\x66\x99\xcc\xff", []float64{0, .2, .4, .6, .8, 1}},
		{"raw16.pgm", "P5\n3 2\n65535\n" + "\x00\x00\xff\xff\x80\x00\x00\x01\x00\x00\x00\x00", []float64{0, 1, 32768. / 65535, 1. / 65535, 0, 0}},
	}
	for _, c := range cases {
		path := writeTempFile(t, c.name, []byte(c.data))
		x, err := ReadImage(path, []int{2, 3, 1}, false)
		if err != nil {
			t.Fatal(err)
		}
		checkValues(t, c.name, x, []int{1, 2, 3, 1}, c.want)
	}

	ppm := writeTempFile(t, "colour.ppm", []byte("P6 1 1 255\n\xff\x00\x33"))
	x, err := ReadImage(ppm, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, "ppm", x, []int{1, 1, 1, 3}, []float64{1, 0, 0.2})
}

func TestReadImageBadFiles(t *testing.T) {
	var valid bytes.Buffer
	png.Encode(&valid, grayRamp(8, 8))
	cases := []struct {
		name      string
		data      []byte
		fragments []string
	}{
		{"jpeg.png", []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), []string{"not a PNG file despite its name", "JPEG"}},
		{"text.png", []byte("hello"), []string{"not a PNG file despite its name", `"hello"`}},
		{"empty.png", nil, []string{"the file is empty"}},
		{"digit.bmp", []byte("BM\x00\x00"), []string{"not a PNG or PGM image", "BMP"}},
		{"truncated.png", valid.Bytes()[:valid.Len()-20], []string{"truncated PNG"}},
		{"header-only.png", valid.Bytes()[:20], []string{"truncated PNG"}},
		{"corrupt.png", append([]byte(pngMagic), "\x00\x00\x00\x0dIHDRjunkjunkjunkjunk"...), []string{"invalid PNG"}},
		{"short.pgm", []byte("P5 4 4 255\n\x00\x01\x02"), []string{"truncated PGM data", "contains 3 bytes of pixels, the header promises 16 (4×4 pixels"}},
		{"few.pgm", []byte("P2 2 2 255\n1 2 3"), []string{"truncated PGM data", "contains 3 samples, the header promises 4"}},
		{"no-maxval.pgm", []byte("P5 4 4"), []string{"truncated PGM header", "before the maxval"}},
		{"maxval.pgm", []byte("P5 1 1 70000\n\x00\x00"), []string{"maxval is \"70000\"", "from 1 to 65535"}},
		{"width.pgm", []byte("P2 x 1 255\n0"), []string{"width is \"x\""}},
		{"above.pgm", []byte("P2 2 1 100\n5 101"), []string{"row 0, column 1 is 101, above the maxval 100"}},
		{"above-raw.pgm", []byte("P5 2 1 100\n\x05\x65"), []string{"row 0, column 1 is 101, above the maxval 100"}},
		{"letters.pgm", []byte("P2 2 1 100\n5 x"), []string{`sample 1 is "x"`}},
		{"huge.pgm", []byte("P5 100000 100000 255\n"), []string{"shape (1, 100000, 100000, 1)", "CNNDBG_MAX_ELEMENTS"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeTempFile(t, c.name, c.data)
			_, err := ReadImage(path, nil, false)
			checkUserError(t, err, path, c.fragments...)
		})
	}
}

func TestReadImageHugePNGRejectedBeforeDecoding(t *testing.T) {
	old := MaxElements
	t.Cleanup(func() { MaxElements = old })
	MaxElements = 100
	path := pngFile(t, "big.png", grayRamp(8, 16))
	_, err := ReadImage(path, nil, false)
	checkUserError(t, err, path, "shape (1, 8, 16, 3)", "more than the limit of 100")
}

func TestReadImageWrongSize(t *testing.T) {
	path := pngFile(t, "big.png", grayRamp(32, 32))
	_, err := ReadImage(path, []int{28, 28, 1}, false)
	checkUserError(t, err, path, "is 32×32 pixels (height×width), the model expects 28×28: resize it or pass --resize")

	x, err := ReadImage(path, []int{28, 28, 1}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Shape, []int{1, 28, 28, 1}) {
		t.Errorf("resized shape %v, want (1, 28, 28, 1)", x.Shape)
	}
}

func TestResampleAreaAverage(t *testing.T) {
	x := FromData([]float64{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,
		13, 14, 15, 16,
	}, 1, 4, 4, 1)
	checkValues(t, "4×4 to 2×2", resample(x, 2, 2), []int{1, 2, 2, 1}, []float64{3.5, 5.5, 11.5, 13.5})

	// 3 → 2 covers 1.5 source pixels per output pixel.
	row := FromData([]float64{0, 3, 6}, 1, 1, 3, 1)
	checkValues(t, "3 to 2", resample(row, 1, 2), []int{1, 1, 2, 1}, []float64{1, 5})
}

func TestResampleBilinear(t *testing.T) {
	row := FromData([]float64{0, 4}, 1, 1, 2, 1)
	// Output centres fall at source positions −0.25, 0.25, 0.75, 1.25, clamped at the edges.
	checkValues(t, "2 to 4", resample(row, 1, 4), []int{1, 1, 4, 1}, []float64{0, 1, 3, 4})
}

func TestResampleKeepsConstantImages(t *testing.T) {
	for _, size := range [][2]int{{28, 28}, {7, 30}, {1, 1}, {50, 13}} {
		x := NewTensor(2, 19, 23, 3)
		for k := range x.Data {
			x.Data[k] = 0.375
		}
		y := resample(x, size[0], size[1])
		for k, v := range y.Data {
			if math.Abs(v-0.375) > 1e-12 {
				t.Fatalf("%v: element %d is %v, want 0.375", size, k, v)
			}
		}
	}
}

func TestSniffFormat(t *testing.T) {
	cases := map[string]string{
		pngMagic + "rest": "PNG", "P5\n": "PGM", "P2 ": "PGM", "P6#": "PPM", npyMagic: "NPY",
		"P5x": `it starts with "P5x"`, "GIF89a": "it is a GIF image",
	}
	for data, want := range cases {
		if got := sniffFormat([]byte(data)); !strings.Contains(got, want) {
			t.Errorf("sniffFormat(%q) = %q, want %q", data, got, want)
		}
	}
}

func ExampleReadImage() {
	dir, err := os.MkdirTemp("", "cnndbg-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	// A 2×2 black image with one white pixel at row 0, column 1.
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	img.SetGray(1, 0, color.Gray{Y: 255})
	var b bytes.Buffer
	png.Encode(&b, img)
	path := filepath.Join(dir, "dot.png")
	os.WriteFile(path, b.Bytes(), 0o644)

	x, err := ReadImage(path, []int{2, 2, 1}, false)
	fmt.Println(x.Shape, x.Data, err)
	// Output: [1 2 2 1] [0 1 0 0] <nil>
}
