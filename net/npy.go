package net

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/cnndbg/cnndbg/trace"
)

// This file reads and writes NumPy .npy files (format versions 1.0, 2.0 and
// 3.0, as described in numpy/lib/format.py). It parses the header itself
// instead of using github.com/sbinet/npyio v0.6.0, whose reader handles
// neither big-endian data nor Fortran order beyond two dimensions, panics on
// a header without a newline, and allocates whatever size a header claims.

// MaxElements bounds the number of elements of one array read from a file,
// and the total of one .npz archive, so that a corrupt or mistaken header
// cannot make cnndbg allocate more memory than the machine has. The default
// is DefaultMemoryLimit at 8 bytes per float64. The environment variable
// CNNDBG_MAX_ELEMENTS, when set, takes precedence unless SetMemoryLimit has
// run.
var MaxElements = int(DefaultMemoryLimit() / 8)

// maxElementsEnv names the environment variable that overrides MaxElements.
const maxElementsEnv = "CNNDBG_MAX_ELEMENTS"

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// maxNPYHeader bounds the header length a file may claim. In numpy 1.24,
// numpy.load rejects headers above max_header_size, 10,000 bytes by default.
const maxNPYHeader = 1 << 16

// supportedDtypes lists the dtypes DecodeNPY reads, for error messages.
const supportedDtypes = "float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64 or bool"

// elementLimit returns the element limit in force: CNNDBG_MAX_ELEMENTS if it
// is set and SetMemoryLimit has not run, else MaxElements.
func elementLimit() (int, error) {
	text, ok := os.LookupEnv(maxElementsEnv)
	if !ok || text == "" || memoryLimitSet {
		return MaxElements, nil
	}
	limit, err := strconv.Atoi(text)
	if err != nil || limit < 1 {
		return 0, fmt.Errorf("%s=%q is not a positive whole number: set it to the maximum element count of an array, or unset it", maxElementsEnv, text)
	}
	return limit, nil
}

// checkElements returns the element count of shape, or an error naming the
// array, its shape and its size in bytes if the count exceeds limit. It
// multiplies with an overflow check, so it is safe on any header.
func checkElements(name string, shape []int, limit int) (int, error) {
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%s: invalid shape %s: dimensions must be ≥ 0", name, trace.FormatShape(shape))
		}
	}
	for _, d := range shape {
		if d == 0 {
			return 0, nil
		}
	}
	count := 1
	tooLarge := false
	for _, d := range shape {
		if count > limit/d {
			tooLarge = true
		}
		count *= d
	}
	if tooLarge || count > limit {
		elements := 1.0
		for _, d := range shape {
			elements *= float64(d)
		}
		return 0, fmt.Errorf("%s: shape %s has %.4g elements (%s as float64), more than the limit of %d (%s): %s",
			name, trace.FormatShape(shape), elements, formatByteCount(elements*8), limit, FormatBytes(int64(limit)*8), raiseLimitHint())
	}
	return count, nil
}

// npyDtype is a numeric dtype as a .npy header's 'descr' gives it, e.g. '<f4'.
type npyDtype struct {
	descr string
	order binary.ByteOrder
	// kind is numpy's kind character: 'f' float, 'i' signed integer,
	// 'u' unsigned integer or 'b' bool.
	kind byte
	size int
}

// npyHeader is the parsed header of a .npy file.
type npyHeader struct {
	dtype   npyDtype
	fortran bool
	shape   []int
	count   int
	// length is the number of bytes before the data: magic, version,
	// header length and header.
	length int
}

// ReadNPY reads a .npy file as a float64 tensor of the array's shape in
// row-major order. It reads the dtypes float16/32/64, (u)int8/16/32/64 and
// bool in either byte order and in C or Fortran order. Integers beyond 2⁵³
// are rounded to the nearest float64. Every error names the file.
func ReadNPY(path string) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fileError(path, err)
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a .npy file: give the path of the array file", path)
	}
	limit, err := elementLimit()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 1<<16)
	h, err := readNPYHeader(r, path, limit)
	if err != nil {
		return nil, err
	}

	// Compare the file size with the promised data before allocating anything.
	if info.Mode().IsRegular() {
		held := info.Size() - int64(h.length)
		promised := int64(h.count) * int64(h.dtype.size)
		if held < promised {
			return nil, truncatedDataError(path, h, held, promised)
		}
	}
	return decodeNPYData(r, path, h)
}

// ReadNPYDtype returns the numpy name of the dtype of the .npy file at path,
// such as "float32", reading only the header.
func ReadNPYDtype(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fileError(path, err)
	}
	defer f.Close()
	h, err := readNPYHeader(bufio.NewReader(f), path, math.MaxInt)
	if err != nil {
		return "", err
	}
	return dtypeName(h.dtype.kind, h.dtype.size), nil
}

// DecodeNPY reads a .npy stream as ReadNPY does. Errors begin with name,
// which should name the stream's source, such as a file or an archive member.
// Memory grows with the bytes actually read, so a header claiming more data
// than the stream contains costs no more than the stream.
func DecodeNPY(r io.Reader, name string) (*Tensor, error) {
	limit, err := elementLimit()
	if err != nil {
		return nil, err
	}
	h, err := readNPYHeader(r, name, limit)
	if err != nil {
		return nil, err
	}
	return decodeNPYData(r, name, h)
}

// fileError rewords an error from opening or reading path as one line that
// names the file and the next step.
func fileError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: file not found: check the path", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: permission denied: check the file's permissions", path)
	}
	// The message names path already, so drop the copy that os errors carry.
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err
	}
	return fmt.Errorf("%s: cannot read: %v", path, err)
}

// readNPYHeader reads and checks the magic string, version, header length and
// header dictionary, leaving r at the first data byte.
func readNPYHeader(r io.Reader, name string, limit int) (*npyHeader, error) {
	var prefix [10]byte
	n, err := io.ReadFull(r, prefix[:])
	head := prefix[:n]
	if !bytes.HasPrefix(head, []byte(npyMagic)) && !strings.HasPrefix(npyMagic, string(head)) {
		return nil, notNPYError(name, head)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: truncated .npy header: contains %d bytes, a header needs at least %d: save the array again", name, n, len(prefix))
	}

	major, minor := prefix[6], prefix[7]
	var headerLen, prefixLen int
	switch major {
	case 1:
		headerLen, prefixLen = int(binary.LittleEndian.Uint16(prefix[8:10])), 10
	case 2, 3:
		var rest [2]byte
		if _, err := io.ReadFull(r, rest[:]); err != nil {
			return nil, fmt.Errorf("%s: truncated .npy header: the file ends inside the header length: save the array again", name)
		}
		headerLen = int(binary.LittleEndian.Uint32(append(prefix[8:10:10], rest[:]...)))
		prefixLen = 12
	default:
		return nil, fmt.Errorf("%s: .npy format version %d.%d is not supported (only 1.0, 2.0 and 3.0 are): save the array with numpy.save", name, major, minor)
	}
	if headerLen > maxNPYHeader {
		return nil, fmt.Errorf("%s: the .npy header claims %d bytes, more than the %d a numeric array needs: the file is corrupt, save the array again", name, headerLen, maxNPYHeader)
	}

	text := make([]byte, headerLen)
	if n, err := io.ReadFull(r, text); err != nil {
		return nil, fmt.Errorf("%s: truncated .npy header: contains %d bytes, the header promises %d: save the array again", name, n, headerLen)
	}
	h, err := parseNPYHeader(name, string(text))
	if err != nil {
		return nil, err
	}
	h.length = prefixLen + headerLen
	if h.count, err = checkElements(name, h.shape, limit); err != nil {
		return nil, err
	}
	return h, nil
}

// notNPYError describes a stream that does not start with the .npy magic
// string, recognizing the formats a .npy file is most often confused with.
func notNPYError(name string, head []byte) error {
	hint := ""
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		hint = " (it is a zip archive, perhaps an .npz: read it as one)"
	case bytes.HasPrefix(head, []byte("\x80")) || bytes.HasPrefix(head, []byte("\x1f\x8b")):
		hint = " (it looks like a pickle or gzip file)"
	}
	return fmt.Errorf("%s: not a .npy file%s: it starts with %q, a .npy file starts with %q: save the array with numpy.save", name, hint, head, npyMagic)
}

func truncatedDataError(name string, h *npyHeader, held, promised int64) error {
	return fmt.Errorf("%s: truncated data: contains %d bytes of data, the header promises %d (shape %s of %s): the file is incomplete, save the array again",
		name, held, promised, trace.FormatShape(h.shape), h.dtype.descr)
}

// parseNPYHeader checks the header dictionary, e.g.
// {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }.
func parseNPYHeader(name, text string) (*npyHeader, error) {
	invalid := func(reason string) error {
		shown := strings.TrimSpace(text)
		if len(shown) > 120 {
			shown = shown[:120] + "…"
		}
		return fmt.Errorf("%s: invalid .npy header %q: %s: save the array with numpy.save", name, shown, reason)
	}
	p := &pyParser{text: text}
	value, err := p.parse()
	if err != nil {
		return nil, invalid(err.Error())
	}
	dict, ok := value.(map[string]any)
	if !ok {
		return nil, invalid("it is not a dictionary")
	}

	h := &npyHeader{}
	switch descr := dict["descr"].(type) {
	case string:
		if h.dtype, err = parseDtype(name, descr); err != nil {
			return nil, err
		}
	case []any:
		return nil, fmt.Errorf("%s: structured dtype %s is not supported: save a plain numeric array of %s", name, pyRepr(descr), supportedDtypes)
	default:
		return nil, invalid("'descr' is missing or not a string")
	}

	fortran, ok := dict["fortran_order"].(bool)
	if !ok {
		return nil, invalid("'fortran_order' is missing or not True or False")
	}
	h.fortran = fortran

	dims, ok := dict["shape"].([]any)
	if !ok {
		return nil, invalid("'shape' is missing or not a tuple")
	}
	for _, d := range dims {
		size, ok := d.(int)
		if !ok {
			return nil, invalid("'shape' contains a value that is not a whole number")
		}
		h.shape = append(h.shape, size)
	}
	return h, nil
}

// parseDtype reads a numeric dtype string such as '<f4', '>i8' or '|b1'.
func parseDtype(name, descr string) (npyDtype, error) {
	dt := npyDtype{descr: descr, order: binary.NativeEndian}
	rest := descr
	if rest != "" {
		switch rest[0] {
		case '<':
			dt.order, rest = binary.LittleEndian, rest[1:]
		case '>':
			dt.order, rest = binary.BigEndian, rest[1:]
		case '|', '=':
			rest = rest[1:]
		}
	}
	if rest == "" {
		return dt, fmt.Errorf("%s: invalid dtype %q in the .npy header: save the array with numpy.save", name, descr)
	}
	dt.kind = rest[0]
	size, err := strconv.Atoi(rest[1:])
	if err != nil {
		size = 0
	}
	dt.size = size

	supported := false
	switch dt.kind {
	case 'f':
		supported = size == 2 || size == 4 || size == 8
	case 'i', 'u':
		supported = size == 1 || size == 2 || size == 4 || size == 8
	case 'b':
		supported = size == 1
	}
	if !supported {
		return dt, fmt.Errorf("%s: dtype %s (%q) is not supported: convert the array to %s, e.g. with a.astype(numpy.float64)", name, dtypeName(dt.kind, size), descr, supportedDtypes)
	}
	return dt, nil
}

// dtypeName returns numpy's name for a dtype kind and item size, for messages.
func dtypeName(kind byte, size int) string {
	switch kind {
	case 'f':
		return fmt.Sprintf("float%d", 8*size)
	case 'c':
		return fmt.Sprintf("complex%d", 8*size)
	case 'i':
		return fmt.Sprintf("int%d", 8*size)
	case 'u':
		return fmt.Sprintf("uint%d", 8*size)
	case 'b':
		return "bool"
	case 'O':
		return "object"
	case 'S', 'a':
		return "bytes string"
	case 'U':
		return "unicode string"
	case 'V':
		return "void (raw or structured)"
	case 'M':
		return "datetime64"
	case 'm':
		return "timedelta64"
	}
	return "unknown"
}

// decodeNPYData reads the array data that follows a header and converts it
// to float64 in row-major order. Trailing bytes after the data are ignored,
// as numpy.load ignores them.
func decodeNPYData(r io.Reader, name string, h *npyHeader) (*Tensor, error) {
	size := h.dtype.size
	promised := h.count * size
	data := make([]float64, 0, min(h.count, 1<<16))
	chunk := make([]byte, size*(1<<13))
	read := 0
	for read < promised {
		n, err := io.ReadFull(r, chunk[:min(len(chunk), promised-read)])
		read += n
		data = h.dtype.appendFloats(data, chunk[:n-n%size])
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, truncatedDataError(name, h, int64(read), int64(promised))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading the array data failed (%v): the file may be corrupt, save the array again", name, err)
		}
	}
	if h.fortran {
		data = fortranToC(data, h.shape)
	}
	return &Tensor{Shape: append([]int{}, h.shape...), Data: data}, nil
}

// appendFloats converts raw items of the dtype to float64 and appends them to dst.
func (dt npyDtype) appendFloats(dst []float64, raw []byte) []float64 {
	o := dt.order
	switch {
	case dt.kind == 'f' && dt.size == 8:
		for k := 0; k < len(raw); k += 8 {
			dst = append(dst, math.Float64frombits(o.Uint64(raw[k:])))
		}
	case dt.kind == 'f' && dt.size == 4:
		for k := 0; k < len(raw); k += 4 {
			dst = append(dst, float64(math.Float32frombits(o.Uint32(raw[k:]))))
		}
	case dt.kind == 'f' && dt.size == 2:
		for k := 0; k < len(raw); k += 2 {
			dst = append(dst, float16ToFloat64(o.Uint16(raw[k:])))
		}
	case dt.kind == 'i' && dt.size == 1:
		for _, v := range raw {
			dst = append(dst, float64(int8(v)))
		}
	case dt.kind == 'i' && dt.size == 2:
		for k := 0; k < len(raw); k += 2 {
			dst = append(dst, float64(int16(o.Uint16(raw[k:]))))
		}
	case dt.kind == 'i' && dt.size == 4:
		for k := 0; k < len(raw); k += 4 {
			dst = append(dst, float64(int32(o.Uint32(raw[k:]))))
		}
	case dt.kind == 'i' && dt.size == 8:
		for k := 0; k < len(raw); k += 8 {
			dst = append(dst, float64(int64(o.Uint64(raw[k:]))))
		}
	case dt.kind == 'u' && dt.size == 1:
		for _, v := range raw {
			dst = append(dst, float64(v))
		}
	case dt.kind == 'u' && dt.size == 2:
		for k := 0; k < len(raw); k += 2 {
			dst = append(dst, float64(o.Uint16(raw[k:])))
		}
	case dt.kind == 'u' && dt.size == 4:
		for k := 0; k < len(raw); k += 4 {
			dst = append(dst, float64(o.Uint32(raw[k:])))
		}
	case dt.kind == 'u' && dt.size == 8:
		for k := 0; k < len(raw); k += 8 {
			dst = append(dst, float64(o.Uint64(raw[k:])))
		}
	case dt.kind == 'b':
		for _, v := range raw {
			if v != 0 {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		}
	default:
		panic("net: appendFloats on unchecked dtype " + dt.descr)
	}
	return dst
}

// float16ToFloat64 converts an IEEE 754 half-precision value. Every half
// value, subnormals, infinities and NaN included, is exact in float64.
func float16ToFloat64(bits uint16) float64 {
	sign := 1.0
	if bits&0x8000 != 0 {
		sign = -1
	}
	exponent := int(bits>>10) & 0x1f
	fraction := float64(bits & 0x3ff)
	switch exponent {
	case 0:
		return sign * math.Ldexp(fraction, -24)
	case 0x1f:
		if fraction != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1024+fraction, exponent-25)
}

// fortranToC reorders column-major data of the given shape into row-major
// order. It walks the source in storage order, where axis 0 varies fastest,
// and keeps the row-major offset of the current index up to date.
func fortranToC(data []float64, shape []int) []float64 {
	out := make([]float64, len(data))
	if len(data) == 0 {
		return out
	}
	strides := make([]int, len(shape))
	stride := 1
	for k := len(shape) - 1; k >= 0; k-- {
		strides[k] = stride
		stride *= shape[k]
	}
	index := make([]int, len(shape))
	offset := 0
	for _, v := range data {
		out[offset] = v
		for k := range shape {
			index[k]++
			offset += strides[k]
			if index[k] < shape[k] {
				break
			}
			offset -= strides[k] * shape[k]
			index[k] = 0
		}
	}
	return out
}

// WriteNPY writes t to path as a .npy file of dtype '<f8' in C order, through
// a temporary file renamed into place. Without overwrite it rejects an
// existing file.
func WriteNPY(path string, t *Tensor, overwrite bool) error {
	return trace.WriteFileAtomic(path, overwrite, func(w io.Writer) error {
		return EncodeNPY(w, t)
	})
}

// EncodeNPY writes t to w in .npy format version 1.0 (2.0 if the header
// needs more than 65,535 bytes), dtype '<f8', C order. The header is padded
// so that the data starts at a multiple of 64 bytes, as numpy writes it.
func EncodeNPY(w io.Writer, t *Tensor) error {
	dict := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", trace.FormatShape(t.Shape))
	prefixLen := 10
	if len(dict)+1+prefixLen > math.MaxUint16 {
		prefixLen = 12
	}
	padding := (64 - (prefixLen+len(dict)+1)%64) % 64
	header := dict + strings.Repeat(" ", padding) + "\n"

	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(npyMagic)
	if prefixLen == 10 {
		bw.Write([]byte{1, 0})
		bw.Write(binary.LittleEndian.AppendUint16(nil, uint16(len(header))))
	} else {
		bw.Write([]byte{2, 0})
		bw.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(header))))
	}
	bw.WriteString(header)
	var item [8]byte
	for _, v := range t.Data {
		binary.LittleEndian.PutUint64(item[:], math.Float64bits(v))
		bw.Write(item[:])
	}
	return bw.Flush()
}

// pyParser parses the Python literals of a .npy header: dictionaries,
// tuples, lists, strings, integers, True, False and None. Dictionaries
// become map[string]any, tuples and lists []any.
type pyParser struct {
	text  string
	pos   int
	depth int
}

func (p *pyParser) parse() (any, error) {
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.text) {
		return nil, fmt.Errorf("unexpected %q after the dictionary", p.text[p.pos:min(len(p.text), p.pos+10)])
	}
	return v, nil
}

// pyRepr returns Python text for a parsed value, for messages.
func pyRepr(v any) string {
	switch v := v.(type) {
	case string:
		// A header is untrusted text: a control character would break the
		// one-line error this goes into, so such strings are escaped.
		if strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			return strconv.Quote(v)
		}
		return "'" + v + "'"
	case []any:
		parts := make([]string, len(v))
		for k, item := range v {
			parts[k] = pyRepr(item)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

func (p *pyParser) skipSpace() {
	for p.pos < len(p.text) && strings.IndexByte(" \t\r\n", p.text[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *pyParser) value() (any, error) {
	p.skipSpace()
	if p.pos >= len(p.text) {
		return nil, errors.New("it ends too early")
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 32 {
		return nil, errors.New("it nests too deeply")
	}
	switch c := p.text[p.pos]; {
	case c == '{':
		return p.dict()
	case c == '(':
		return p.sequence(')')
	case c == '[':
		return p.sequence(']')
	case c == '\'' || c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.integer()
	}
	start := p.pos
	for p.pos < len(p.text) && (p.text[p.pos] >= 'A' && p.text[p.pos] <= 'Z' || p.text[p.pos] >= 'a' && p.text[p.pos] <= 'z') {
		p.pos++
	}
	switch word := p.text[start:p.pos]; word {
	case "True":
		return true, nil
	case "False":
		return false, nil
	case "None":
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected %q", p.text[start:min(len(p.text), start+10)])
}

func (p *pyParser) dict() (any, error) {
	p.pos++
	dict := map[string]any{}
	for {
		p.skipSpace()
		if p.pos < len(p.text) && p.text[p.pos] == '}' {
			p.pos++
			return dict, nil
		}
		key, err := p.value()
		if err != nil {
			return nil, err
		}
		name, ok := key.(string)
		if !ok {
			return nil, errors.New("a dictionary key is not a string")
		}
		p.skipSpace()
		if p.pos >= len(p.text) || p.text[p.pos] != ':' {
			return nil, fmt.Errorf("no ':' after the key %q", name)
		}
		p.pos++
		if dict[name], err = p.value(); err != nil {
			return nil, err
		}
		if !p.separator('}') {
			return nil, errors.New("the dictionary is not closed with '}'")
		}
	}
}

func (p *pyParser) sequence(closing byte) (any, error) {
	p.pos++
	items := []any{}
	for {
		p.skipSpace()
		if p.pos < len(p.text) && p.text[p.pos] == closing {
			p.pos++
			return items, nil
		}
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		if !p.separator(closing) {
			return nil, fmt.Errorf("a tuple or list is not closed with %q", closing)
		}
	}
}

// separator consumes a ',' after an item, or checks that closing follows.
func (p *pyParser) separator(closing byte) bool {
	p.skipSpace()
	if p.pos < len(p.text) && p.text[p.pos] == ',' {
		p.pos++
		return true
	}
	return p.pos < len(p.text) && p.text[p.pos] == closing
}

func (p *pyParser) str() (any, error) {
	quote := p.text[p.pos]
	p.pos++
	var sb strings.Builder
	for p.pos < len(p.text) {
		c := p.text[p.pos]
		p.pos++
		switch {
		case c == quote:
			return sb.String(), nil
		case c == '\\' && p.pos < len(p.text):
			sb.WriteByte(p.text[p.pos])
			p.pos++
		default:
			sb.WriteByte(c)
		}
	}
	return nil, errors.New("a string is not closed")
}

func (p *pyParser) integer() (any, error) {
	start := p.pos
	if p.text[p.pos] == '-' {
		p.pos++
	}
	for p.pos < len(p.text) && p.text[p.pos] >= '0' && p.text[p.pos] <= '9' {
		p.pos++
	}
	digits := p.text[start:p.pos]
	// Python 2 wrote long integers with an L suffix, as in (3L, 4L).
	if p.pos < len(p.text) && (p.text[p.pos] == 'L' || p.text[p.pos] == 'l') {
		p.pos++
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return nil, fmt.Errorf("%q is not a whole number that fits in an int", digits)
	}
	return n, nil
}
