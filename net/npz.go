package net

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/cnndbg/cnndbg/trace"
)

// ReadNPZ reads every .npy member of an .npz archive (numpy.savez or
// numpy.savez_compressed, so stored or deflated), keyed by member name
// without ".npy". Members whose names do not end in ".npy" are skipped.
// MaxElements bounds each array and also the total of all arrays, because
// deflated zeros expand a thousandfold. Every error names the file and, where
// one is at fault, the array.
func ReadNPZ(path string) (map[string]*Tensor, error) {
	arrays, _, err := readNPZ(path)
	return arrays, err
}

// readNPZ is ReadNPZ that also returns the keys in archive order.
func readNPZ(path string) (map[string]*Tensor, []string, error) {
	limit, err := elementLimit()
	if err != nil {
		return nil, nil, err
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, nil, npzOpenError(path, err)
	}
	defer zr.Close()

	arrays := map[string]*Tensor{}
	var keys []string
	remaining := limit
	for _, member := range zr.File {
		if member.FileInfo().IsDir() || !strings.HasSuffix(member.Name, ".npy") {
			continue
		}
		key := strings.TrimSuffix(member.Name, ".npy")
		if _, dup := arrays[key]; dup {
			return nil, nil, fmt.Errorf("%s: the archive contains two members named %q: save it again with unique names", path, member.Name)
		}
		t, err := readNPZMember(path, member, key, limit, remaining)
		if err != nil {
			return nil, nil, err
		}
		arrays[key] = t
		keys = append(keys, key)
		remaining -= t.Size()
	}
	return arrays, keys, nil
}

// readNPZMember decodes one member. limit bounds the member and remaining
// the elements the archive may still add.
func readNPZMember(path string, member *zip.File, key string, limit, remaining int) (*Tensor, error) {
	name := fmt.Sprintf("%s: array %q", path, key)
	rc, err := member.Open()
	if errors.Is(err, zip.ErrAlgorithm) {
		return nil, fmt.Errorf("%s uses zip compression method %d, which cnndbg cannot read: save the archive with numpy.savez or numpy.savez_compressed", name, member.Method)
	}
	if err != nil {
		return nil, fmt.Errorf("%s cannot be opened: %v: save the archive again", name, err)
	}
	defer rc.Close()

	r := bufio.NewReaderSize(rc, 1<<16)
	h, err := readNPYHeader(r, name, limit)
	if err != nil {
		return nil, err
	}
	if h.count > remaining {
		return nil, fmt.Errorf("%s: shape %s brings the archive to more than the limit of %d elements in total (%s): %s",
			name, trace.FormatShape(h.shape), limit, FormatBytes(int64(limit)*8), raiseLimitHint())
	}
	t, err := decodeNPYData(r, name, h)
	if err != nil {
		return nil, err
	}

	// The zip reader checks the member's CRC-32 only at its end, so read on.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, fmt.Errorf("%s is corrupt (%v): save the archive again", name, err)
	}
	return t, nil
}

// npzOpenError describes why path could not be opened as a zip archive.
func npzOpenError(path string, err error) error {
	if !errors.Is(err, zip.ErrFormat) {
		return fileError(path, err)
	}
	head := make([]byte, len(npyMagic))
	if f, openErr := os.Open(path); openErr == nil {
		n, _ := io.ReadFull(f, head)
		head = head[:n]
		f.Close()
	}
	if bytes.Equal(head, []byte(npyMagic)) {
		return fmt.Errorf("%s: not an .npz archive but a single .npy array: save the arrays with numpy.savez", path)
	}
	return fmt.Errorf("%s: not an .npz file (a zip archive of .npy arrays), or the archive is truncated: save the arrays with numpy.savez", path)
}

// WriteNPZ writes arrays to path as an uncompressed .npz archive that
// numpy.load reads, through a temporary file renamed into place. Members
// come in the order of order, then any other keys sorted. It panics if order
// names a key that arrays lacks or names a key twice. Without overwrite it
// rejects an existing file.
func WriteNPZ(path string, arrays map[string]*Tensor, order []string, overwrite bool) error {
	keys := npzKeys(arrays, order)
	return trace.WriteFileAtomic(path, overwrite, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		for _, key := range keys {
			member, err := zw.CreateHeader(&zip.FileHeader{Name: key + ".npy", Method: zip.Store})
			if err != nil {
				return err
			}
			if err := EncodeNPY(member, arrays[key]); err != nil {
				return err
			}
		}
		return zw.Close()
	})
}

// npzKeys returns the member order for WriteNPZ.
func npzKeys(arrays map[string]*Tensor, order []string) []string {
	keys := make([]string, 0, len(arrays))
	listed := map[string]bool{}
	for _, key := range order {
		if _, ok := arrays[key]; !ok || listed[key] {
			panic(fmt.Sprintf("net: WriteNPZ order names %q, which is missing from arrays or listed twice", key))
		}
		listed[key] = true
		keys = append(keys, key)
	}
	var rest []string
	for key := range arrays {
		if !listed[key] {
			rest = append(rest, key)
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

// weightSlot is one parameter a weights file may set.
type weightSlot struct {
	layer Parametric
	role  string
	shape []int
}

// weightSlots returns the parameters of n keyed "<layer>.<role>", and the
// keys in layer order.
func weightSlots(n *Network) (map[string]weightSlot, []string) {
	slots := map[string]weightSlot{}
	var keys []string
	for _, l := range n.Layers {
		p, ok := l.(Parametric)
		if !ok {
			continue
		}
		for _, param := range p.Params() {
			key := l.Name() + "." + param.Role
			slots[key] = weightSlot{layer: p, role: param.Role, shape: param.Value.Shape}
			keys = append(keys, key)
		}
	}
	return slots, keys
}

// LoadWeights sets the parameters of n from an .npz file with keys
// "<layer>.W" and "<layer>.b" in the shapes of the model (b may also be 1-D).
// Parameters the file lacks keep their values. It checks the whole file
// before changing anything, so on error n is unchanged. An unknown key or a
// wrong shape is an error naming the file, the key, and the expected and
// given shapes or the valid keys.
func LoadWeights(n *Network, path string) error {
	arrays, fileKeys, err := readNPZ(path)
	if err != nil {
		return err
	}
	slots, validKeys := weightSlots(n)

	var unknown []string
	for _, key := range fileKeys {
		if _, ok := slots[key]; !ok {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) > 0 {
		valid := "none, because no layer has weights"
		if len(validKeys) > 0 {
			valid = strings.Join(validKeys, ", ")
		}
		return fmt.Errorf("%s: unknown %s %s (this model's weights are %s): rename or remove them",
			path, plural(len(unknown), "key", "keys"), listSome(unknown, 5), valid)
	}

	values := map[string]*Tensor{}
	for _, key := range validKeys {
		t, ok := arrays[key]
		if !ok {
			continue
		}
		slot := slots[key]
		value, err := fitWeight(path, key, slot, t)
		if err != nil {
			return err
		}
		values[key] = value
	}
	for _, key := range validKeys {
		if value, ok := values[key]; ok {
			slots[key].layer.SetParam(slots[key].role, value)
		}
	}
	return nil
}

// fitWeight checks t against the parameter's shape and returns it in that
// shape. A bias may also come 1-D, as (n_C,) or (n_out,).
func fitWeight(path, key string, slot weightSlot, t *Tensor) (*Tensor, error) {
	if slices.Equal(t.Shape, slot.shape) {
		return t, nil
	}
	size := slot.shape[len(slot.shape)-1]
	if slot.role == "b" && slices.Equal(t.Shape, []int{size}) {
		return FromData(t.Data, slot.shape...), nil
	}
	expected := trace.FormatShape(slot.shape)
	if slot.role == "b" {
		expected += " or " + trace.FormatShape([]int{size})
	}
	return nil, fmt.Errorf("%s: %s has shape %s, layer %s (%s) expects %s: save it in the model's shape or fix the model spec",
		path, key, trace.FormatShape(t.Shape), slot.layer.Name(), slot.layer.Kind(), expected)
}

// SaveWeights writes every parameter of n to path as an .npz archive keyed
// "<layer>.W" and "<layer>.b", in layer order, readable by LoadWeights and
// numpy.load. Without overwrite it rejects an existing file.
func SaveWeights(n *Network, path string, overwrite bool) error {
	slots, keys := weightSlots(n)
	arrays := make(map[string]*Tensor, len(keys))
	for _, key := range keys {
		slot := slots[key]
		for _, param := range slot.layer.Params() {
			if param.Role == slot.role {
				arrays[key] = param.Value
			}
		}
	}
	return WriteNPZ(path, arrays, keys, overwrite)
}

// listSome joins up to limit names and counts the rest.
func listSome(names []string, limit int) string {
	if len(names) <= limit {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:limit], ", "), len(names)-limit)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
