package net

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cnndbg/cnndbg/trace"
)

// targetForm is the form a target takes, for error messages.
const targetForm = "NAME[i,j,...] such as conv1.dW[0,1,0,3]"

// ParseTarget splits a target such as "conv1.dW[0,1,0,3]" into the tensor
// name and the index. Spaces may surround the name, the brackets and the
// numbers; a target without brackets has a nil index. Indices may be
// negative, counting from the end of the axis as in numpy (Resolve maps
// them). The error quotes s and shows the expected form.
func ParseTarget(s string) (name string, index []int, err error) {
	text := strings.TrimSpace(s)
	open := strings.IndexByte(text, '[')
	if open < 0 {
		if text == "" || strings.ContainsAny(text, "], ") {
			return "", nil, fmt.Errorf("invalid target %q: want %s", s, targetForm)
		}
		return text, nil, nil
	}
	name = strings.TrimSpace(text[:open])
	if name == "" || strings.ContainsAny(name, " ]") {
		return "", nil, fmt.Errorf("invalid target %q: no tensor name before '[': want %s", s, targetForm)
	}
	if !strings.HasSuffix(text, "]") || strings.Count(text, "[") != 1 || strings.Count(text, "]") != 1 {
		return "", nil, fmt.Errorf("invalid target %q: want one [...] at the end, as in %s", s, targetForm)
	}
	inside := strings.TrimSpace(text[open+1 : len(text)-1])
	if inside == "" {
		return name, []int{}, nil
	}
	for _, part := range strings.Split(inside, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return "", nil, fmt.Errorf("invalid target %q: index %q is not an integer: want %s", s, strings.TrimSpace(part), targetForm)
		}
		index = append(index, k)
	}
	return name, index, nil
}

// Resolve parses target and finds its tensor in tr by canonical name or
// alias. In a trace of several steps, tensors of step k > 0 carry the
// prefix "s<k>/" (s3/conv1.dW[0,1,0,3]), as trace.StepName builds them. It returns the tensor's ID and the index with negative entries
// counted from the end of their axis. A target without an index names the
// only element of a one-element tensor, such as loss. Errors name the
// target and, for an unknown name, list the closest names of the trace.
func Resolve(tr *trace.Trace, target string) (id int, index []int, err error) {
	name, index, err := ParseTarget(target)
	if err != nil {
		return -1, nil, err
	}
	t := tr.Tensor(name)
	if t == nil {
		if step, _ := trace.SplitStepName(name); step >= tr.Steps() && tr.Steps() > 0 {
			return -1, nil, fmt.Errorf("no tensor %q in the trace: it records steps 0..%d, and tensors of step k > 0 are named s<k>/<layer>.<role>", name, tr.Steps()-1)
		}
		return -1, nil, fmt.Errorf("no tensor %q in the trace%s", name, closeNamesHint(tr.Names(), name))
	}
	if index == nil && trace.Size(t.Shape) == 1 {
		index = make([]int, len(t.Shape))
	}
	if len(index) != len(t.Shape) {
		return -1, nil, fmt.Errorf("target %q has %d indices but %s has shape %s: give %d", target, len(index), name, trace.FormatShape(t.Shape), len(t.Shape))
	}
	resolved := make([]int, len(index))
	for axis, k := range index {
		n := t.Shape[axis]
		if k < 0 {
			k += n
		}
		if k < 0 || k >= n {
			return -1, nil, fmt.Errorf("target %q: index %d on axis %d is out of range for %s of shape %s (0..%d)", target, index[axis], axis, name, trace.FormatShape(t.Shape), n-1)
		}
		resolved[axis] = k
	}
	return t.ID, resolved, nil
}

// closeNamesHint returns ": close names are a, b, c" with up to five names
// nearest to name by case-insensitive edit distance, or "" if none is near.
func closeNamesHint(names []string, name string) string {
	type candidate struct {
		name     string
		distance int
	}
	var near []candidate
	limit := max(2, len(name)/3)
	for _, n := range names {
		d := editDistance(strings.ToLower(n), strings.ToLower(name))
		sameLayer := strings.SplitN(n, ".", 2)[0] == strings.SplitN(name, ".", 2)[0]
		if d <= limit || sameLayer {
			near = append(near, candidate{n, d})
		}
	}
	if len(near) == 0 {
		return ""
	}
	sort.SliceStable(near, func(i, j int) bool { return near[i].distance < near[j].distance })
	list := make([]string, 0, 5)
	for _, c := range near[:min(5, len(near))] {
		list = append(list, c.name)
	}
	return ": close names are " + strings.Join(list, ", ")
}

// editDistance returns the Levenshtein distance between a and b in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
