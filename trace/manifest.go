package trace

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// FormatName is the value of the "format" key of every trace manifest.
const FormatName = "cnndbg-trace"

// FormatVersion is the manifest version this package writes and the newest
// one it reads.
const FormatVersion = 1

// ManifestMember is the name of the zip member that holds the manifest.
const ManifestMember = "manifest.json"

// manifest is the JSON document stored as manifest.json. docs/trace-format.md
// describes every key.
type manifest struct {
	Format  string            `json:"format"`
	Version int               `json:"version"`
	Model   json.RawMessage   `json:"model"`
	Events  []manifestEvent   `json:"events"`
	Tensors []*manifestTensor `json:"tensors"`
}

type manifestEvent struct {
	Index   int             `json:"index"`
	Step    int             `json:"step"`
	Layer   string          `json:"layer"`
	Kind    string          `json:"kind"`
	Phase   string          `json:"phase"`
	Params  []manifestParam `json:"params"`
	Inputs  []manifestRef   `json:"inputs"`
	Outputs []manifestRef   `json:"outputs"`
}

type manifestParam struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type manifestRef struct {
	Role   string `json:"role"`
	Tensor int    `json:"tensor"`
	// Name is the tensor's canonical name, for readers of the JSON; the
	// reader checks that it matches Tensor.
	Name string `json:"name"`
}

type manifestTensor struct {
	ID        int           `json:"id"`
	Name      string        `json:"name"`
	Aliases   []string      `json:"aliases"`
	Shape     []int         `json:"shape"`
	Dtype     string        `json:"dtype"`
	Producer  int           `json:"producer"`
	Consumers []int         `json:"consumers"`
	Stats     manifestStats `json:"stats"`
	Member    string        `json:"member"`
	// Size is the member's length in bytes: the .npy header and the data.
	Size int64 `json:"size"`
	// CRC32 is the IEEE CRC-32 of the member's bytes as 8 lower-case hex
	// digits, the same value the zip directory stores for the member.
	CRC32 string `json:"crc32"`
}

type manifestStats struct {
	NaN    int     `json:"nan"`
	PosInf int     `json:"posinf"`
	NegInf int     `json:"neginf"`
	MaxAbs float64 `json:"max_abs"`
}

// newManifest describes t; the members' sizes and checksums are filled in
// by the writer.
func newManifest(t *Trace) *manifest {
	m := &manifest{Format: FormatName, Version: FormatVersion, Model: json.RawMessage("null")}
	if json.Valid(t.Model) {
		m.Model = json.RawMessage(t.Model)
	}
	refs := func(refs []Ref) []manifestRef {
		out := make([]manifestRef, len(refs))
		for i, r := range refs {
			out[i] = manifestRef{Role: r.Role, Tensor: r.Tensor, Name: t.Tensors[r.Tensor].Name}
		}
		return out
	}
	for _, e := range t.Events {
		me := manifestEvent{
			Index: e.Index, Step: e.Step, Layer: e.Layer, Kind: e.Kind, Phase: e.Phase.String(),
			Params: make([]manifestParam, len(e.Params)), Inputs: refs(e.Inputs), Outputs: refs(e.Outputs),
		}
		for i, p := range e.Params {
			me.Params[i] = manifestParam{Key: p.Key, Value: p.Value}
		}
		m.Events = append(m.Events, me)
	}
	members := map[string]bool{}
	for _, tensor := range t.Tensors {
		member := memberName(tensor, members)
		members[member] = true
		m.Tensors = append(m.Tensors, &manifestTensor{
			ID: tensor.ID, Name: tensor.Name, Aliases: nonNil(tensor.Aliases),
			Shape: nonNil(tensor.Shape), Dtype: "<f8",
			Producer: tensor.Producer, Consumers: nonNil(tensor.Consumers),
			Stats: manifestStats{
				NaN: tensor.Stats.NaN, PosInf: tensor.Stats.PosInf, NegInf: tensor.Stats.NegInf,
				MaxAbs: tensor.Stats.MaxAbs,
			},
			Member: member,
			Size:   npyMemberSize(tensor.Shape),
		})
	}
	return m
}

// nonNil returns s, or an empty slice for nil so JSON shows [] instead of null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// nilIfEmpty returns nil for an empty slice, as the recorder leaves
// tensors without aliases or consumers.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// memberName returns "<name>.npy" when the name is safe as a zip member and
// not taken yet, else "tensor<ID>.npy".
func memberName(t *Tensor, taken map[string]bool) string {
	name := t.Name + ".npy"
	if safeMemberName(name) && !taken[name] && name != ManifestMember {
		return name
	}
	return "tensor" + strconv.Itoa(t.ID) + ".npy"
}

// safeMemberName reports whether name is a plain file name of letters,
// digits, '_', '-' and '.', not starting with '.', so extracting the zip
// cannot write outside its folder.
func safeMemberName(name string) bool {
	if name == "" || name[0] == '.' || len(name) > 255 {
		return false
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// maxElements bounds the elements of one tensor (2³⁶ bytes of float64) so a
// crafted shape cannot overflow int arithmetic.
const maxElements = 1 << 33

// validate checks everything later code relies on: versions, IDs, indices,
// shapes, names and the links between events and tensors, so a crafted
// manifest cannot cause a panic or a huge allocation. The error describes
// the first problem found, without the file name.
func (m *manifest) validate() error {
	if m.Format != FormatName {
		return fmt.Errorf("format is %q, want %q: this is not a cnndbg trace", m.Format, FormatName)
	}
	if m.Version < 1 {
		return fmt.Errorf("version %d is invalid (versions start at 1)", m.Version)
	}
	if m.Version > FormatVersion {
		return fmt.Errorf("was written by format version %d; this cnndbg reads up to %d: upgrade cnndbg", m.Version, FormatVersion)
	}
	if err := m.validateTensors(); err != nil {
		return err
	}
	return m.validateEvents()
}

func (m *manifest) validateTensors() error {
	names := map[string]int{}
	members := map[string]bool{}
	for i, t := range m.Tensors {
		if t == nil {
			return fmt.Errorf("tensor %d is null", i)
		}
		where := fmt.Sprintf("tensor %d (%q)", i, t.Name)
		if t.ID != i {
			return fmt.Errorf("%s has id %d, want its position %d", where, t.ID, i)
		}
		if t.Name == "" {
			return fmt.Errorf("%s has an empty name", where)
		}
		for _, name := range append([]string{t.Name}, t.Aliases...) {
			if other, ok := names[name]; ok {
				return fmt.Errorf("%s: name %q is also used by tensor %d", where, name, other)
			}
			names[name] = i
		}
		if t.Dtype != "<f8" {
			return fmt.Errorf("%s has dtype %q; traces hold little-endian float64 ('<f8') only", where, t.Dtype)
		}
		if err := checkShape(t.Shape); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		if t.Producer < -1 || t.Producer >= len(m.Events) {
			return fmt.Errorf("%s: producer %d is not an event index (0..%d) or -1", where, t.Producer, len(m.Events)-1)
		}
		for _, c := range t.Consumers {
			if c < 0 || c >= len(m.Events) {
				return fmt.Errorf("%s: consumer %d is not an event index (0..%d)", where, c, len(m.Events)-1)
			}
		}
		n := Size(t.Shape)
		s := t.Stats
		if s.NaN < 0 || s.PosInf < 0 || s.NegInf < 0 || s.NaN+s.PosInf+s.NegInf > n || !(s.MaxAbs >= 0) || math.IsInf(s.MaxAbs, 0) {
			return fmt.Errorf("%s: stats %+v do not fit %d elements", where, s, n)
		}
		if !safeMemberName(t.Member) || !strings.HasSuffix(t.Member, ".npy") || members[t.Member] {
			return fmt.Errorf("%s: member name %q is not a unique plain file name ending in .npy", where, t.Member)
		}
		members[t.Member] = true
		if t.Size < 8*int64(n) {
			return fmt.Errorf("%s: member size %d is smaller than its %d values", where, t.Size, n)
		}
		if _, err := parseCRC(t.CRC32); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
	}
	return nil
}

// checkShape rejects negative dimensions, ranks above maxRank and element
// counts above maxElements.
func checkShape(shape []int) error {
	if len(shape) > maxRank {
		return fmt.Errorf("shape has rank %d, more than %d", len(shape), maxRank)
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d > 0 && n > maxElements/d {
			return fmt.Errorf("shape %v has more than %d elements", shape, maxElements)
		}
		n *= d
	}
	return nil
}

func parseCRC(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil || len(s) != 8 {
		return 0, fmt.Errorf("crc32 %q is not 8 hex digits", s)
	}
	return uint32(v), nil
}

// validateEvents checks each event and that tensor producers and consumers
// are exactly the events that write and read them.
func (m *manifest) validateEvents() error {
	written := make([]int, len(m.Tensors))
	for i := range written {
		written[i] = -1
	}
	consumers := make([][]int, len(m.Tensors))
	for i, e := range m.Events {
		where := fmt.Sprintf("event %d (%s %s)", i, e.Layer, e.Kind)
		if e.Index != i {
			return fmt.Errorf("%s has index %d, want its position %d", where, e.Index, i)
		}
		if e.Layer == "" || e.Kind == "" || e.Step < 0 {
			return fmt.Errorf("%s needs a layer, a kind and a step ≥ 0", where)
		}
		if _, err := ParsePhase(e.Phase); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		for _, ref := range append(append([]manifestRef(nil), e.Inputs...), e.Outputs...) {
			if ref.Role == "" || ref.Tensor < 0 || ref.Tensor >= len(m.Tensors) {
				return fmt.Errorf("%s: reference %q to tensor %d is not a role and a tensor id (0..%d)", where, ref.Role, ref.Tensor, len(m.Tensors)-1)
			}
			if ref.Name != "" && ref.Name != m.Tensors[ref.Tensor].Name {
				return fmt.Errorf("%s: role %s names tensor %q but tensor %d is %q", where, ref.Role, ref.Name, ref.Tensor, m.Tensors[ref.Tensor].Name)
			}
		}
		for _, ref := range e.Inputs {
			consumers[ref.Tensor] = append(consumers[ref.Tensor], i)
		}
		for _, ref := range e.Outputs {
			if written[ref.Tensor] >= 0 {
				return fmt.Errorf("%s writes tensor %q, which event %d already wrote", where, m.Tensors[ref.Tensor].Name, written[ref.Tensor])
			}
			written[ref.Tensor] = i
		}
	}
	for i, t := range m.Tensors {
		if t.Producer != written[i] {
			return fmt.Errorf("tensor %d (%q) has producer %d but is written by event %d", i, t.Name, t.Producer, written[i])
		}
		if !slices.Equal(t.Consumers, consumers[i]) {
			return fmt.Errorf("tensor %d (%q) lists consumers %v but events %v read it", i, t.Name, t.Consumers, nonNil(consumers[i]))
		}
	}
	return nil
}

// trace builds the in-memory trace the manifest describes. The manifest
// must have passed validate.
func (m *manifest) trace() *Trace {
	t := &Trace{Model: []byte(m.Model)}
	toRefs := func(refs []manifestRef) []Ref {
		out := make([]Ref, len(refs))
		for i, r := range refs {
			out[i] = Ref{Role: r.Role, Tensor: r.Tensor}
		}
		return out
	}
	for _, me := range m.Events {
		phase, _ := ParsePhase(me.Phase)
		e := Event{Index: me.Index, Step: me.Step, Layer: me.Layer, Kind: me.Kind, Phase: phase,
			Inputs: toRefs(me.Inputs), Outputs: toRefs(me.Outputs)}
		for _, p := range me.Params {
			e.Params = append(e.Params, Param{Key: p.Key, Value: p.Value})
		}
		t.Events = append(t.Events, e)
	}
	for _, mt := range m.Tensors {
		t.Tensors = append(t.Tensors, &Tensor{
			ID: mt.ID, Name: mt.Name, Aliases: nilIfEmpty(mt.Aliases), Shape: nonNil(mt.Shape),
			Producer: mt.Producer, Consumers: nilIfEmpty(mt.Consumers),
			Stats: Stats{NaN: mt.Stats.NaN, PosInf: mt.Stats.PosInf, NegInf: mt.Stats.NegInf, MaxAbs: mt.Stats.MaxAbs},
		})
	}
	t.index()
	return t
}
