package net

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// pngMagic starts every PNG file.
const pngMagic = "\x89PNG\r\n\x1a\n"

// ReadImage reads a PNG or a Netpbm PGM (P2, P5) or PPM (P3, P6) image as a
// (1, n_H, n_W, n_C) tensor with values in [0, 1]: grayscale images give one
// channel, colour images three (RGB). PNG transparency is composited onto
// black. The format comes from the file's content, not its name.
//
// want, if not nil, is the model's (n_H, n_W, n_C). A colour image whose
// pixels are all gray becomes one channel when n_C is 1, and a grayscale
// image is repeated into three channels when n_C is 3. An image of another
// size is an error naming both sizes, unless resize is set: then it is
// resampled, by area averaging where it shrinks and bilinearly where it grows.
func ReadImage(path string, want []int, resize bool) (*Tensor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	limit, err := elementLimit()
	if err != nil {
		return nil, err
	}
	x, err := decodeImage(path, data, limit)
	if err != nil {
		return nil, err
	}
	if want == nil {
		return x, nil
	}
	return fitImage(path, x, want, resize)
}

// decodeImage decodes PNG or PGM/PPM data, chosen by its first bytes.
func decodeImage(path string, data []byte, limit int) (*Tensor, error) {
	switch format := sniffFormat(data); format {
	case "PNG":
		return decodePNG(path, data, limit)
	case "PGM", "PPM":
		return decodePNM(path, data, limit)
	default:
		ext := strings.ToLower(filepath.Ext(path))
		if ext == ".png" || ext == ".pgm" || ext == ".ppm" {
			return nil, fmt.Errorf("%s: not a %s file despite its name (%s): convert the image to PNG or PGM", path, strings.ToUpper(ext[1:]), format)
		}
		return nil, fmt.Errorf("%s: not a PNG or PGM image (%s): convert the image to PNG or PGM", path, format)
	}
}

// sniffFormat names the format of data from its first bytes: "PNG", "PGM",
// "PPM", "NPY", or a description of another format for messages.
func sniffFormat(data []byte) string {
	has := func(prefix string) bool { return bytes.HasPrefix(data, []byte(prefix)) }
	isPNM := func(magic string) bool {
		return has(magic) && (len(data) == 2 || strings.IndexByte(" \t\r\n#", data[2]) >= 0)
	}
	switch {
	case len(data) == 0:
		return "the file is empty"
	case has(pngMagic):
		return "PNG"
	case isPNM("P2") || isPNM("P5"):
		return "PGM"
	case isPNM("P3") || isPNM("P6"):
		return "PPM"
	case has(npyMagic):
		return "NPY"
	case has("\xff\xd8\xff"):
		return "it is a JPEG image"
	case has("GIF87a") || has("GIF89a"):
		return "it is a GIF image"
	case has("BM"):
		return "it looks like a BMP image"
	case has("RIFF") && len(data) >= 12 && string(data[8:12]) == "WEBP":
		return "it is a WebP image"
	case has("PK\x03\x04"):
		return "it is a zip archive"
	case has("\x00\x00\x08\x03") || has("\x1f\x8b"):
		return "it looks like an MNIST IDX or gzip file, which --mnist reads"
	case isPNM("P1") || isPNM("P4"):
		return "it is a black-and-white PBM image"
	}
	return fmt.Sprintf("it starts with %q", data[:min(len(data), 8)])
}

// decodePNG decodes a PNG after checking its size against limit.
func decodePNG(path string, data []byte, limit int) (*Tensor, error) {
	config, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, pngError(path, err)
	}
	if _, err := checkElements(path, []int{1, config.Height, config.Width, 3}, limit); err != nil {
		return nil, err
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, pngError(path, err)
	}
	return imageTensor(img), nil
}

func pngError(path string, err error) error {
	// image/png reports some early ends as a FormatError whose text ends in "unexpected EOF".
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.HasSuffix(err.Error(), "unexpected EOF") {
		return fmt.Errorf("%s: truncated PNG: the file ends before the image data does: save the image again", path)
	}
	return fmt.Errorf("%s: invalid PNG (%v): save the image again", path, err)
}

// imageTensor converts a decoded image to (1, n_H, n_W, n_C) in [0, 1], with
// one channel for grayscale color models and three for the others.
func imageTensor(img image.Image) *Tensor {
	bounds := img.Bounds()
	nH, nW := bounds.Dy(), bounds.Dx()
	switch img := img.(type) {
	case *image.Gray:
		x := NewTensor(1, nH, nW, 1)
		for h := range nH {
			for w, v := range img.Pix[h*img.Stride : h*img.Stride+nW] {
				x.Data[h*nW+w] = float64(v) / 255
			}
		}
		return x
	case *image.Gray16:
		x := NewTensor(1, nH, nW, 1)
		for h := range nH {
			row := img.Pix[h*img.Stride:]
			for w := range nW {
				x.Data[h*nW+w] = float64(uint16(row[2*w])<<8|uint16(row[2*w+1])) / 65535
			}
		}
		return x
	}

	// RGBA returns 16-bit values premultiplied by alpha, which is the
	// colour composited onto black.
	x := NewTensor(1, nH, nW, 3)
	for h := range nH {
		for w := range nW {
			r, g, b, _ := img.At(bounds.Min.X+w, bounds.Min.Y+h).RGBA()
			k := (h*nW + w) * 3
			x.Data[k] = float64(r) / 65535
			x.Data[k+1] = float64(g) / 65535
			x.Data[k+2] = float64(b) / 65535
		}
	}
	return x
}

// pnmReader reads the whitespace-separated tokens of a Netpbm header, where
// '#' starts a comment that runs to the end of the line.
type pnmReader struct {
	data []byte
	pos  int
}

func (p *pnmReader) token() string {
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '#' {
			for p.pos < len(p.data) && p.data[p.pos] != '\n' && p.data[p.pos] != '\r' {
				p.pos++
			}
			continue
		}
		if strings.IndexByte(" \t\r\n\v\f", c) < 0 {
			break
		}
		p.pos++
	}
	start := p.pos
	for p.pos < len(p.data) && strings.IndexByte(" \t\r\n\v\f#", p.data[p.pos]) < 0 {
		p.pos++
	}
	return string(p.data[start:p.pos])
}

// headerInt reads one positive header field.
func (p *pnmReader) headerInt(path, format, field string, maxValue int) (int, error) {
	text := p.token()
	if text == "" {
		return 0, fmt.Errorf("%s: truncated %s header: the file ends before the %s: save the image again", path, format, field)
	}
	v, err := strconv.Atoi(text)
	if err != nil || v < 1 || v > maxValue {
		return 0, fmt.Errorf("%s: invalid %s header: the %s is %q, expected a whole number from 1 to %d: save the image again", path, format, field, text, maxValue)
	}
	return v, nil
}

// decodePNM decodes a PGM (P2 plain, P5 raw) or PPM (P3 plain, P6 raw) image
// with maxval up to 65535. Raw samples above 255 take two bytes, most
// significant first. Only the first image of a multi-image file is read.
func decodePNM(path string, data []byte, limit int) (*Tensor, error) {
	p := &pnmReader{data: data, pos: 2}
	magic := string(data[:2])
	format, channels := "PGM", 1
	if magic == "P3" || magic == "P6" {
		format, channels = "PPM", 3
	}
	width, err := p.headerInt(path, format, "width", math.MaxInt32)
	if err != nil {
		return nil, err
	}
	height, err := p.headerInt(path, format, "height", math.MaxInt32)
	if err != nil {
		return nil, err
	}
	maxval, err := p.headerInt(path, format, "maxval", 65535)
	if err != nil {
		return nil, err
	}
	if _, err := checkElements(path, []int{1, height, width, channels}, limit); err != nil {
		return nil, err
	}

	x := NewTensor(1, height, width, channels)
	if magic == "P5" || magic == "P6" {
		err = decodePNMRaw(path, format, data[min(p.pos+1, len(data)):], x, maxval)
	} else {
		err = decodePNMPlain(path, format, p, x, maxval)
	}
	if err != nil {
		return nil, err
	}
	return x, nil
}

// decodePNMRaw reads binary samples. The raster starts after the single
// whitespace byte that ends the header.
func decodePNMRaw(path, format string, raster []byte, x *Tensor, maxval int) error {
	bytesPerSample := 1
	if maxval > 255 {
		bytesPerSample = 2
	}
	promised := len(x.Data) * bytesPerSample
	if len(raster) < promised {
		return fmt.Errorf("%s: truncated %s data: contains %d bytes of pixels, the header promises %d (%d×%d pixels, %d byte(s) per sample): save the image again",
			path, format, len(raster), promised, x.Shape[1], x.Shape[2], bytesPerSample)
	}
	for k := range x.Data {
		v := int(raster[k])
		if bytesPerSample == 2 {
			v = int(raster[2*k])<<8 | int(raster[2*k+1])
		}
		if v > maxval {
			return pnmSampleError(path, format, x, k, v, maxval)
		}
		x.Data[k] = float64(v) / float64(maxval)
	}
	return nil
}

// decodePNMPlain reads ASCII decimal samples.
func decodePNMPlain(path, format string, p *pnmReader, x *Tensor, maxval int) error {
	for k := range x.Data {
		text := p.token()
		if text == "" {
			return fmt.Errorf("%s: truncated %s data: contains %d samples, the header promises %d: save the image again", path, format, k, len(x.Data))
		}
		v, err := strconv.Atoi(text)
		if err != nil || v < 0 {
			return fmt.Errorf("%s: invalid %s data: sample %d is %q, expected a whole number from 0 to %d: save the image again", path, format, k, text, maxval)
		}
		if v > maxval {
			return pnmSampleError(path, format, x, k, v, maxval)
		}
		x.Data[k] = float64(v) / float64(maxval)
	}
	return nil
}

func pnmSampleError(path, format string, x *Tensor, k, v, maxval int) error {
	channels := x.Shape[3]
	pixel := k / channels
	return fmt.Errorf("%s: invalid %s data: the sample at row %d, column %d is %d, above the maxval %d: save the image again",
		path, format, pixel/x.Shape[2], pixel%x.Shape[2], v, maxval)
}

// fitImage matches a (1, n_H, n_W, n_C) image to want, the model's
// (n_H, n_W, n_C), as ReadImage describes.
func fitImage(path string, x *Tensor, want []int, resize bool) (*Tensor, error) {
	x, err := fitChannels(path, x, want[2])
	if err != nil {
		return nil, err
	}
	nH, nW := x.Shape[1], x.Shape[2]
	if nH == want[0] && nW == want[1] {
		return x, nil
	}
	if !resize {
		return nil, fmt.Errorf("%s is %d×%d pixels (height×width), the model expects %d×%d: resize it or pass --resize", path, nH, nW, want[0], want[1])
	}
	return resample(x, want[0], want[1]), nil
}

// fitChannels converts between gray and RGB where no information is lost.
func fitChannels(path string, x *Tensor, want int) (*Tensor, error) {
	m, nH, nW, nC := x.dims4()
	switch {
	case nC == want:
		return x, nil
	case nC == 3 && want == 1 && allGray(x):
		gray := NewTensor(m, nH, nW, 1)
		for k := range gray.Data {
			gray.Data[k] = x.Data[3*k]
		}
		return gray, nil
	case nC == 1 && want == 3:
		rgb := NewTensor(m, nH, nW, 3)
		for k, v := range x.Data {
			rgb.Data[3*k], rgb.Data[3*k+1], rgb.Data[3*k+2] = v, v, v
		}
		return rgb, nil
	case nC == 3 && want == 1:
		return nil, fmt.Errorf("%s is a colour image, the model expects 1 channel (grayscale): convert the image to grayscale", path)
	}
	return nil, fmt.Errorf("%s has %d channels, the model expects %d: convert the image", path, nC, want)
}

// allGray reports whether every pixel of an RGB tensor has R = G = B.
func allGray(x *Tensor) bool {
	for k := 0; k < len(x.Data); k += 3 {
		if x.Data[k] != x.Data[k+1] || x.Data[k] != x.Data[k+2] {
			return false
		}
	}
	return true
}

// resampleTap is one source row or column and its weight in an output pixel.
type resampleTap struct {
	index  int
	weight float64
}

// resampleTaps returns, for each of dst output positions along one axis, the
// source positions and weights that make it. Shrinking averages the source
// pixels an output pixel covers, weighted by overlap. Growing interpolates
// linearly between the two nearest source pixel centres, with centres at
// half-pixel offsets (OpenCV's INTER_LINEAR, PyTorch's align_corners=False).
func resampleTaps(src, dst int) [][]resampleTap {
	taps := make([][]resampleTap, dst)
	scale := float64(src) / float64(dst)
	for o := range dst {
		if src >= dst {
			lo, hi := float64(o)*scale, float64(o+1)*scale
			for i := int(lo); i < src && float64(i) < hi; i++ {
				overlap := math.Min(hi, float64(i+1)) - math.Max(lo, float64(i))
				if overlap > 0 {
					taps[o] = append(taps[o], resampleTap{i, overlap / scale})
				}
			}
			continue
		}
		centre := math.Max(0, math.Min(float64(src-1), (float64(o)+0.5)*scale-0.5))
		i0 := int(centre)
		i1 := min(i0+1, src-1)
		frac := centre - float64(i0)
		taps[o] = []resampleTap{{i0, 1 - frac}, {i1, frac}}
	}
	return taps
}

// resample returns the NHWC tensor x resized to nH×nW pixels, one axis at a time.
func resample(x *Tensor, nH, nW int) *Tensor {
	m, srcH, srcW, nC := x.dims4()

	rows := resampleTaps(srcH, nH)
	tall := NewTensor(m, nH, srcW, nC)
	for i := range m {
		for h, taps := range rows {
			out := tall.Data[((i*nH+h)*srcW)*nC : ((i*nH+h+1)*srcW)*nC]
			for _, tap := range taps {
				in := x.Data[((i*srcH+tap.index)*srcW)*nC : ((i*srcH+tap.index+1)*srcW)*nC]
				for k, v := range in {
					out[k] += tap.weight * v
				}
			}
		}
	}

	cols := resampleTaps(srcW, nW)
	y := NewTensor(m, nH, nW, nC)
	for row := range m * nH {
		for w, taps := range cols {
			out := y.Data[(row*nW+w)*nC : (row*nW+w+1)*nC]
			for _, tap := range taps {
				in := tall.Data[(row*srcW+tap.index)*nC : (row*srcW+tap.index+1)*nC]
				for c, v := range in {
					out[c] += tap.weight * v
				}
			}
		}
	}
	return y
}
