package trace

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// An .npy file (numpy.lib.format) starts with a 6-byte magic, a major and a
// minor version byte, and a little-endian header length of 2 bytes in
// version 1.0 and 4 bytes in 2.0 and 3.0. The header follows: a Python dict
// literal padded with spaces and ended by '\n', so the data starts at a
// multiple of 64 bytes.
const (
	npyMagic = "\x93NUMPY"
	// npyAlign is numpy's ARRAY_ALIGN: the data starts at a multiple of it.
	npyAlign = 64
	// npyGrowthDigits is numpy's GROWTH_AXIS_MAX_DIGITS: numpy ≥ 1.23 pads the
	// header so the first dimension can grow to 21 digits in place.
	npyGrowthDigits = 21
	// maxRank bounds the rank of a tensor in a trace file; numpy allows 64.
	maxRank = 32
	// maxNpyHeader bounds the header a reader accepts, so a crafted length
	// field cannot make it allocate much.
	maxNpyHeader = 1 << 16
)

// npyHeader returns the .npy version 1.0 header of a C-order float64 array
// of the given shape, byte for byte as numpy 1.24 writes it.
func npyHeader(shape []int) []byte {
	var dict strings.Builder
	dict.WriteString("{'descr': '<f8', 'fortran_order': False, 'shape': ")
	dict.WriteString(FormatShape(shape))
	dict.WriteString(", }")
	if len(shape) > 0 {
		dict.WriteString(strings.Repeat(" ", max(0, npyGrowthDigits-len(strconv.Itoa(shape[0])))))
	}

	// The text ends in '\n'; numpy pads with a full 64 spaces when the
	// prefix and text already end on a boundary, and so do we.
	textLen := dict.Len() + 1
	pad := npyAlign - (len(npyMagic)+2+2+textLen)%npyAlign
	hlen := textLen + pad

	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.Write([]byte{1, 0, byte(hlen), byte(hlen >> 8)})
	b.WriteString(dict.String())
	b.WriteString(strings.Repeat(" ", pad))
	b.WriteByte('\n')
	return b.Bytes()
}

// shapeRepr formats shape as Python's repr of a tuple: (), (5,), (2, 3).
func FormatShape(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(shape) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// npyMemberSize returns the size in bytes of the .npy member of a tensor of
// the given shape as Write stores it.
func npyMemberSize(shape []int) int64 {
	return int64(len(npyHeader(shape))) + 8*int64(Size(shape))
}

// writeNpyData writes data as little-endian float64 through a small buffer.
func writeNpyData(w io.Writer, data []float64) error {
	var buf [8 << 10]byte
	for len(data) > 0 {
		n := min(len(data), len(buf)/8)
		for k, v := range data[:n] {
			binary.LittleEndian.PutUint64(buf[8*k:], math.Float64bits(v))
		}
		if _, err := w.Write(buf[:8*n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// npyInfo is the array an .npy header declares.
type npyInfo struct {
	descr        string
	fortranOrder bool
	shape        []int
}

// readNpyHeader reads the magic, version and header of a .npy stream and
// returns the declared array and the number of bytes read. Errors describe
// the problem without naming the file; the caller adds that.
func readNpyHeader(r io.Reader) (npyInfo, int64, error) {
	var prefix [8]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return npyInfo{}, 0, errors.New("too short for a .npy header")
	}
	if string(prefix[:6]) != npyMagic {
		return npyInfo{}, 0, errors.New("does not start with the .npy magic \\x93NUMPY")
	}

	major := prefix[6]
	var hlen int
	read := int64(8)
	switch major {
	case 1:
		var n [2]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return npyInfo{}, 0, errors.New("truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint16(n[:]))
		read += 2
	case 2, 3:
		var n [4]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return npyInfo{}, 0, errors.New("truncated .npy header")
		}
		hlen = int(binary.LittleEndian.Uint32(n[:]))
		read += 4
	default:
		return npyInfo{}, 0, fmt.Errorf(".npy format version %d.%d is not supported (want 1.0, 2.0 or 3.0)", major, prefix[7])
	}
	if hlen > maxNpyHeader {
		return npyInfo{}, 0, fmt.Errorf(".npy header length %d is larger than %d bytes", hlen, maxNpyHeader)
	}

	text := make([]byte, hlen)
	if _, err := io.ReadFull(r, text); err != nil {
		return npyInfo{}, 0, errors.New("truncated .npy header")
	}
	read += int64(hlen)
	info, err := parseNpyDict(string(text))
	if err != nil {
		return npyInfo{}, 0, err
	}
	return info, read, nil
}

// parseNpyDict parses the header dict of a .npy file: the keys descr,
// fortran_order and shape in any order, with a string, a boolean and a
// tuple of non-negative integers as values.
func parseNpyDict(text string) (npyInfo, error) {
	bad := func(why string) (npyInfo, error) {
		return npyInfo{}, fmt.Errorf("invalid .npy header %q: %s", strings.TrimRight(text, " \n"), why)
	}
	p := dictParser{s: strings.TrimRight(text, " \n\t")}
	if !p.eat("{") {
		return bad("does not start with '{'")
	}
	var info npyInfo
	seen := map[string]bool{}
	for {
		p.space()
		if p.eat("}") {
			break
		}
		key, ok := p.quoted()
		if !ok {
			return bad("expected a quoted key")
		}
		p.space()
		if !p.eat(":") {
			return bad(fmt.Sprintf("expected ':' after %q", key))
		}
		p.space()
		switch key {
		case "descr":
			if info.descr, ok = p.quoted(); !ok {
				return bad("descr is not a string")
			}
		case "fortran_order":
			switch {
			case p.eat("False"):
				info.fortranOrder = false
			case p.eat("True"):
				info.fortranOrder = true
			default:
				return bad("fortran_order is not True or False")
			}
		case "shape":
			if info.shape, ok = p.tuple(); !ok {
				return bad("shape is not a tuple of non-negative integers")
			}
		default:
			return bad(fmt.Sprintf("unknown key %q", key))
		}
		seen[key] = true
		p.space()
		if !p.eat(",") {
			p.space()
			if !p.eat("}") {
				return bad("expected ',' or '}'")
			}
			break
		}
	}
	if p.space(); p.i != len(p.s) {
		return bad("text after the closing '}'")
	}
	for _, key := range []string{"descr", "fortran_order", "shape"} {
		if !seen[key] {
			return bad("no '" + key + "' key")
		}
	}
	return info, nil
}

// dictParser scans the small Python literal subset of .npy headers.
type dictParser struct {
	s string
	i int
}

func (p *dictParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *dictParser) eat(token string) bool {
	if strings.HasPrefix(p.s[p.i:], token) {
		p.i += len(token)
		return true
	}
	return false
}

// quoted reads a string in single or double quotes without escapes.
func (p *dictParser) quoted() (string, bool) {
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	quote := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], quote)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, true
}

// tuple reads (), (n,) or (n, m, ...) of non-negative integers that fit an int.
func (p *dictParser) tuple() ([]int, bool) {
	if !p.eat("(") {
		return nil, false
	}
	shape := []int{}
	for {
		p.space()
		if p.eat(")") {
			return shape, true
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		d, err := strconv.Atoi(p.s[start:p.i])
		if err != nil || len(shape) == maxRank {
			return nil, false
		}
		shape = append(shape, d)
		p.space()
		if !p.eat(",") {
			p.space()
			return shape, p.eat(")")
		}
	}
}
