package trace

import (
	"strings"
	"testing"
)

func TestNpyHeaderErrorsAreOneLine(t *testing.T) {
	// Found by FuzzOpen: a key or value with a newline in it was quoted
	// raw, so the error spread over two lines.
	for _, header := range []string{
		"{'descr': '<f8', 'f\nrtran_order': False, 'shape': (2, 3), }",
		"{'descr': '<f8', 'sha\npe' (2, 3), }",
	} {
		_, err := parseNpyDict(header)
		if err == nil {
			t.Errorf("parseNpyDict(%q) accepted the header", header)
			continue
		}
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("parseNpyDict(%q): error has several lines: %q", header, err)
		}
	}
}

func FuzzParseNpyDict(f *testing.F) {
	f.Add("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }")
	f.Add("{'descr': '<f8', 'fortran_order': True, 'shape': (), }")
	f.Add("{'shape': (7,), 'descr': '>i2', 'fortran_order': False}")
	f.Add("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999, 3), }")
	f.Fuzz(func(t *testing.T, header string) {
		info, err := parseNpyDict(header)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error has several lines: %q", err)
			}
			return
		}
		for _, d := range info.shape {
			if d < 0 {
				t.Fatalf("parseNpyDict(%q) returned negative dimension in %v", header, info.shape)
			}
		}
	})
}
