package main

import (
	"strings"
	"testing"
)

func TestDiffSameTraceExitsZero(t *testing.T) {
	a, _ := recordTrace(t, "a.cnndbg")
	code, out, stderr := runCLI(t, "diff", a, a)
	if code != 0 || !strings.Contains(out, "no difference") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 and no difference", code, out, stderr)
	}
}

func TestDiffFindsLearningRateAndWeights(t *testing.T) {
	a, _ := recordTrace(t, "a.cnndbg", "--seed", "1")
	lr, _ := recordTrace(t, "lr.cnndbg", "--seed", "1", "--lr", "0.2")
	code, out, _ := runCLI(t, "diff", a, lr)
	if code != 1 {
		t.Errorf("diff of two learning rates exits %d, want 1", code)
	}
	for _, want := range []string{"hyperparameter: event", "lr = 0.1 in A, 0.2 in B", "first difference:", "sgd update"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff output lacks %q:\n%s", want, out)
		}
	}

	seed2, _ := recordTrace(t, "seed2.cnndbg", "--seed", "2")
	code, out, _ = runCLI(t, "diff", a, seed2)
	if code != 1 {
		t.Errorf("diff of two seeds exits %d, want 1", code)
	}
	for _, want := range []string{"step input conv1.W[0,0,0,0]", "first difference: conv1.Z[", "event 0 (step 0, conv1 conv forward)", "terms that differ most"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff output lacks %q:\n%s", want, out)
		}
	}
}

func TestDiffBadInputExitsTwo(t *testing.T) {
	one, _ := recordTrace(t, "one.cnndbg", "--seed", "1")
	two, _ := recordTrace(t, "two.cnndbg", "--seed", "1", "--steps", "2")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"different steps", []string{"diff", one, two}, "they diverge at event 21"},
		{"bad tolerance", []string{"diff", one, one, "--tol", "-1"}, "--tol -1"},
		{"missing file", []string{"diff", one, one + ".missing"}, ".missing"},
		{"one argument", []string{"diff", one}, "TRACE_A and TRACE_B"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			checkBadInput(t, code, stderr, c.want)
		})
	}
}
