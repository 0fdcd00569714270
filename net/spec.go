package net

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
)

// Spec is a model description as read from a JSON model file.
type Spec struct {
	Input  InputSpec   `json:"input"`
	Layers []LayerSpec `json:"layers"`
}

// InputSpec is the per-sample input shape.
type InputSpec struct {
	Height   int `json:"height"`
	Width    int `json:"width"`
	Channels int `json:"channels"`
}

// LayerSpec is one layer of a model spec. Fields that do not apply to the
// layer's type are left zero.
type LayerSpec struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Filters int    `json:"filters,omitempty"`
	Size    int    `json:"size,omitempty"`
	// Stride defaults to 1 for conv and to Size for pools when omitted.
	Stride *int   `json:"stride,omitempty"`
	Pad    int    `json:"pad,omitempty"`
	Units  int    `json:"units,omitempty"`
	Ties   string `json:"ties,omitempty"`
}

// ParseSpec reads a JSON model spec and checks it. Unknown fields are errors,
// so a misspelt key is caught instead of ignored.
func ParseSpec(data []byte) (*Spec, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return nil, fmt.Errorf("unknown field %s: the spec's fields are input (height, width, channels) and, per layer, name, type, filters, size, stride, pad, units and ties", field)
		}
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// JSON returns the spec as indented JSON.
func (s *Spec) JSON() []byte {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic("net: spec does not marshal: " + err.Error())
	}
	return data
}

// layerTypes lists the layer types a spec may use.
var layerTypes = []string{"conv", "relu", "maxpool", "avgpool", "flatten", "dense", "softmax_cross_entropy"}

// Check validates the spec: known layer types, the fields each needs, unique
// names, shapes that fit from layer to layer, and the loss as the last layer.
func (s *Spec) Check() error {
	in := s.Input
	if in.Height < 1 || in.Width < 1 || in.Channels < 1 {
		return fmt.Errorf("input: height, width and channels must be ≥ 1, got %d×%d×%d", in.Height, in.Width, in.Channels)
	}
	if len(s.Layers) < 2 {
		return fmt.Errorf("layers: need at least one layer and a final softmax_cross_entropy, got %d layers", len(s.Layers))
	}
	seen := map[string]bool{}
	shape := []int{in.Height, in.Width, in.Channels}
	if err := checkSpecSize("input", "", shape); err != nil {
		return err
	}
	for k, ls := range s.Layers {
		where := fmt.Sprintf("layer %d (%q)", k, ls.Name)
		if ls.Name == "" || strings.ContainsAny(ls.Name, ".[] ") {
			return fmt.Errorf("%s: name must be non-empty without '.', '[', ']' or spaces", where)
		}
		if seen[ls.Name] || ls.Name == "input" {
			return fmt.Errorf("%s: name is used twice or reserved: pick another", where)
		}
		seen[ls.Name] = true
		last := k == len(s.Layers)-1
		if (ls.Type == "softmax_cross_entropy") != last {
			return fmt.Errorf("%s: softmax_cross_entropy must be the last layer, and only the last", where)
		}
		if last {
			if len(shape) != 1 {
				return fmt.Errorf("%s: the loss needs flat (n,) scores, got shape %v: end with flatten and dense", where, shape)
			}
			break
		}
		l, err := s.newLayer(ls, shape, nil)
		if err != nil {
			return err
		}
		if shape, err = l.OutShape(shape); err != nil {
			return err
		}
		if err := checkSpecSize(where, "output", shape); err != nil {
			return err
		}
	}
	return nil
}

// minSpecElements is the element count a spec's arrays may always have,
// whatever the memory limit, so that a small --max-memory for files still
// lets the built-in model run.
const minSpecElements = 1 << 24

// checkSpecSize rejects a per-sample activation or a weight tensor of a spec
// with more elements than the memory limit allows (at least
// minSpecElements), so that a mistaken spec fails with an error instead of
// overflowing a shape or allocating more memory than the machine has. The
// error names where and, unless it is empty, what: a layer's output or W.
func checkSpecSize(where, what string, shape []int) error {
	limit, err := elementLimit()
	if err != nil {
		return err
	}
	name := where
	if what != "" {
		name += ": " + what
	}
	_, err = checkElements(name, shape, max(limit, minSpecElements))
	return err
}

// Classes returns the number of classes: the width of the last dense layer.
func (s *Spec) Classes() int {
	shape := []int{s.Input.Height, s.Input.Width, s.Input.Channels}
	for _, ls := range s.Layers[:len(s.Layers)-1] {
		l, _ := s.newLayer(ls, shape, nil)
		shape, _ = l.OutShape(shape)
	}
	return shape[0]
}

func positive(where, field string, v int) error {
	if v < 1 {
		return fmt.Errorf("%s: %q must be ≥ 1, got %d", where, field, v)
	}
	return nil
}

// newLayer builds one layer for per-sample input shape in. Parameters come
// from rng (He initialization) or, with a nil rng, are zero.
func (s *Spec) newLayer(ls LayerSpec, in []int, rng *rand.Rand) (Layer, error) {
	where := fmt.Sprintf("layer %q (%s)", ls.Name, printable(ls.Type))
	stride := 1
	if ls.Type == "maxpool" || ls.Type == "avgpool" {
		stride = ls.Size
	}
	if ls.Stride != nil {
		stride = *ls.Stride
	}
	switch ls.Type {
	case "conv":
		if err := positive(where, "filters", ls.Filters); err != nil {
			return nil, err
		}
		if err := positive(where, "size", ls.Size); err != nil {
			return nil, err
		}
		if stride < 1 || ls.Pad < 0 {
			return nil, fmt.Errorf("%s: stride must be ≥ 1 and pad ≥ 0, got stride %d, pad %d", where, stride, ls.Pad)
		}
		if len(in) != 3 {
			return nil, fmt.Errorf("%s needs an (n_H, n_W, n_C) input, got shape %v", where, in)
		}
		if err := checkSpecSize(where, "W", []int{ls.Size, ls.Size, in[2], ls.Filters}); err != nil {
			return nil, err
		}
		w := NewTensor(ls.Size, ls.Size, in[2], ls.Filters)
		heInit(w, ls.Size*ls.Size*in[2], rng)
		return NewConv(ls.Name, w, NewTensor(1, 1, 1, ls.Filters), stride, ls.Pad), nil
	case "relu":
		return NewReLU(ls.Name), nil
	case "maxpool", "avgpool":
		if err := positive(where, "size", ls.Size); err != nil {
			return nil, err
		}
		if stride < 1 {
			return nil, fmt.Errorf("%s: stride must be ≥ 1, got %d", where, stride)
		}
		if ls.Type == "avgpool" {
			if ls.Ties != "" {
				return nil, fmt.Errorf("%s: \"ties\" applies to maxpool only", where)
			}
			return NewAvgPool(ls.Name, ls.Size, stride), nil
		}
		ties, err := ParseTies(ls.Ties)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		return NewMaxPool(ls.Name, ls.Size, stride, ties), nil
	case "flatten":
		return NewFlatten(ls.Name), nil
	case "dense":
		if err := positive(where, "units", ls.Units); err != nil {
			return nil, err
		}
		if len(in) != 1 {
			return nil, fmt.Errorf("%s needs a flat (n,) input, got shape %v: add a flatten layer before it", where, in)
		}
		if err := checkSpecSize(where, "W", []int{in[0], ls.Units}); err != nil {
			return nil, err
		}
		w := NewTensor(in[0], ls.Units)
		heInit(w, in[0], rng)
		return NewDense(ls.Name, w, NewTensor(1, ls.Units)), nil
	}
	return nil, fmt.Errorf("%s: unknown layer type %q (use one of %s)", where, ls.Type, strings.Join(layerTypes, ", "))
}

// printable returns s as it is when every rune prints on one line, and
// quoted otherwise, so a layer type read from a file cannot break an error
// message over several lines.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// heInit fills w with N(0, 2/fanIn) samples, He et al.'s initialization for
// ReLU networks. A nil rng leaves w zero.
func heInit(w *Tensor, fanIn int, rng *rand.Rand) {
	if rng == nil {
		return
	}
	std := math.Sqrt(2 / float64(fanIn))
	for k := range w.Data {
		w.Data[k] = rng.NormFloat64() * std
	}
}
