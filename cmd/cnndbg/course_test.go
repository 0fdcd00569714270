package main

import (
	"strings"
	"testing"
)

func TestCompareNoScreenPrintsReport(t *testing.T) {
	f := writeConvFiles(t)
	mine := learnerDAPrev(f.inputs[0], f.inputs[1], f.inputs[3], 2, 1)
	code, stdout, stderr := runCLI(t, f.args("--no-screen", "--given-dA-prev", writeNPY(t, f.dir, "mine_dA.npy", mine))...)
	if code != 1 || stderr != "" {
		t.Fatalf("exit status %d, stderr %q, want 1 and nothing on stderr", code, stderr)
	}
	for _, want := range []string{"compare conv: pad 1, stride 2", "first wrong element (row-major order): dA_prev[0,3,0,0]", "your dA_prev does not match"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestConvDZFromZWithoutTerminalPrintsSummary(t *testing.T) {
	f := writeConvFiles(t)
	code, stdout, stderr := runCLI(t, "conv", "--a-prev", f.aPrev, "--w", f.w, "--b", f.b, "--pad", "1", "--stride", "2", "--dz-from-z")
	if code != 0 || stderr != "" {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"--dz-from-z uses Z itself as dZ", "conv exercise: pad 1, stride 2 (no terminal: printing a summary"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}
