package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// recordTrace runs cnndbg record with args into a new file and returns its
// path and stdout.
func recordTrace(t *testing.T, name string, args ...string) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	code, stdout, stderr := runCLI(t, append([]string{"record", "-o", path}, args...)...)
	if code != 0 {
		t.Fatalf("record %v: exit %d: %s", args, code, stderr)
	}
	return path, stdout
}

func TestRecordStepsPrintsPlotAndBlowUp(t *testing.T) {
	path, out := recordTrace(t, "blowup.cnndbg", "--steps", "3", "--lr", "1e200")
	for _, want := range []string{"recorded 3 steps", "step", "conv1", "loss  ", "NaN or Inf first appears in event", "--first-nonfinite"} {
		if !strings.Contains(out, want) {
			t.Errorf("record output lacks %q:\n%s", want, out)
		}
	}

	code, out, stderr := runCLI(t, "explain", path, "--first-nonfinite", "--top", "3")
	if code != 0 {
		t.Fatalf("explain --first-nonfinite: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"first non-finite value: s1/conv2.Z[0,0,0,0] = NaN", "step 1, conv2 conv forward", "cause: ∞ − ∞", "overflows to +Inf", "conv2.W["} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
}

func TestExplainFirstNonFiniteJSON(t *testing.T) {
	path, _ := recordTrace(t, "scaled.cnndbg", "--steps", "2", "--seed", "1", "--input-scale", "1e200")
	code, out, stderr := runCLI(t, "explain", path, "--first-nonfinite", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Event       int
		Tensor      string
		Diagnosis   string
		Explanation struct{ Terms []any }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Tensor != "s1/conv1.Z" || !strings.Contains(got.Diagnosis, "overflows to +Inf") || len(got.Explanation.Terms) == 0 {
		t.Errorf("origin %+v, want s1/conv1.Z with an overflow and its terms", got)
	}
}

func TestExplainFirstNonFiniteFiniteTrace(t *testing.T) {
	path, _ := recordTrace(t, "step.cnndbg")
	code, out, _ := runCLI(t, "explain", path, "--first-nonfinite")
	if code != 0 || !strings.Contains(out, "holds no NaN or Inf") {
		t.Errorf("exit %d, output %q; want 0 and a line saying the trace is finite", code, out)
	}
}

func TestNonFiniteFlagErrors(t *testing.T) {
	path, _ := recordTrace(t, "step.cnndbg")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"neither", []string{"explain", path}, "TRACE and TARGET, or TRACE and --first-nonfinite"},
		{"both", []string{"explain", path, "conv1.Z[0,0,0,0]", "--first-nonfinite"}, `without "conv1.Z[0,0,0,0]"`},
		{"steps zero", []string{"record", "-o", filepath.Join(t.TempDir(), "x.cnndbg"), "--steps", "0"}, "--steps 0"},
		{"scale infinite", []string{"record", "-o", filepath.Join(t.TempDir(), "x.cnndbg"), "--input-scale", "inf"}, "--input-scale +Inf"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			checkBadInput(t, code, stderr, c.want)
		})
	}
}
