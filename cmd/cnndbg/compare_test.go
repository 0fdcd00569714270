package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/net"
)

// at returns the row-major offset of t[i, j, k, l].
func at(t *net.Tensor, i, j, k, l int) int {
	return ((i*t.Shape[1]+j)*t.Shape[2]+k)*t.Shape[3] + l
}

// learnerDAPrev is a learner's dA_prev loop with an off-by-one bound, for h
// in range(n_H - 1), so the last row of windows sends no gradient back.
func learnerDAPrev(aPrev, w, dZ *net.Tensor, stride, pad int) *net.Tensor {
	f, nCPrev, nC := w.Shape[0], w.Shape[2], w.Shape[3]
	m, nH, nW := dZ.Shape[0], dZ.Shape[1], dZ.Shape[2]
	padded := net.NewTensor(m, aPrev.Shape[1]+2*pad, aPrev.Shape[2]+2*pad, nCPrev)
	for i := 0; i < m; i++ {
		for h := 0; h < nH-1; h++ {
			for wo := 0; wo < nW; wo++ {
				for c := 0; c < nC; c++ {
					for p := 0; p < f; p++ {
						for q := 0; q < f; q++ {
							for cp := 0; cp < nCPrev; cp++ {
								padded.Data[at(padded, i, h*stride+p, wo*stride+q, cp)] += w.Data[at(w, p, q, cp, c)] * dZ.Data[at(dZ, i, h, wo, c)]
							}
						}
					}
				}
			}
		}
	}
	out := net.NewTensor(aPrev.Shape...)
	for i := 0; i < m; i++ {
		for r := 0; r < aPrev.Shape[1]; r++ {
			for k := 0; k < aPrev.Shape[2]; k++ {
				for cp := 0; cp < nCPrev; cp++ {
					out.Data[at(out, i, r, k, cp)] = padded.Data[at(padded, i, r+pad, k+pad, cp)]
				}
			}
		}
	}
	return out
}

// convFiles is a conv exercise's input files in dir (A_prev 2×5×7×4,
// W 3×3×4×8, pad 1, stride 2, so Z is 2×3×4×8) and its reference arrays.
type convFiles struct {
	dir, aPrev, w, b, dZ string
	inputs               [4]*net.Tensor
	ref                  *net.Exercise
}

func writeConvFiles(t *testing.T) convFiles {
	t.Helper()
	dir := t.TempDir()
	a, w, b, dZ := ramp(2, 5, 7, 4), ramp(3, 3, 4, 8), ramp(1, 1, 1, 8), ramp(2, 3, 4, 8)
	ref, err := net.ConvExercise(a, w, b, 2, 1, dZ)
	if err != nil {
		t.Fatal(err)
	}
	return convFiles{
		dir: dir, aPrev: writeNPY(t, dir, "A_prev.npy", a), w: writeNPY(t, dir, "W.npy", w),
		b: writeNPY(t, dir, "b.npy", b), dZ: writeNPY(t, dir, "dZ.npy", dZ),
		inputs: [4]*net.Tensor{a, w, b, dZ}, ref: ref,
	}
}

func (f convFiles) args(given ...string) []string {
	return append([]string{"compare", "conv", "--a-prev", f.aPrev, "--w", f.w, "--b", f.b, "--pad", "1", "--stride", "2", "--dz", f.dZ}, given...)
}

func TestCompareConvRightArraysExitZero(t *testing.T) {
	f := writeConvFiles(t)
	code, stdout, stderr := runCLI(t, f.args(
		"--given-Z", writeNPY(t, f.dir, "mine_Z.npy", f.ref.Outputs["Z"]),
		"--given-dA-prev", writeNPY(t, f.dir, "mine_dA.npy", f.ref.Outputs["dA_prev"]),
		"--given-dW", writeNPY(t, f.dir, "mine_dW.npy", f.ref.Outputs["dW"]),
		"--given-db", writeNPY(t, f.dir, "mine_db.npy", f.ref.Outputs["db"]))...)
	if code != 0 {
		t.Fatalf("exit status %d, stderr %q\n%s", code, stderr, stdout)
	}
	if !strings.Contains(stdout, "all 4 arrays match") || strings.Contains(stdout, "DOES NOT MATCH") {
		t.Errorf("right arrays are not all reported as matching:\n%s", stdout)
	}
}

func TestCompareConvOffByOneLoopBound(t *testing.T) {
	f := writeConvFiles(t)
	mine := learnerDAPrev(f.inputs[0], f.inputs[1], f.inputs[3], 2, 1)
	code, stdout, stderr := runCLI(t, f.args(
		"--given-dA-prev", writeNPY(t, f.dir, "mine_dA.npy", mine),
		"--given-db", writeNPY(t, f.dir, "mine_db.npy", f.ref.Outputs["db"]))...)
	if code != 1 || stderr != "" {
		t.Fatalf("exit status %d, stderr %q, want 1 and nothing on stderr", code, stderr)
	}
	// The windows of row h = 2 cover padded rows 4..6, A_prev rows 3 and 4,
	// so the first element missing a term is dA_prev[0,3,0,0].
	for _, want := range []string{
		"first wrong element (row-major order): dA_prev[0,3,0,0]",
		"conv.dA_prev[0,3,0,0] = ",
		"Σ terms",
		"none of the",
		"1 of 2 arrays does not match",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !regexp.MustCompile(`(?m)^  db +shape \(1, 1, 1, 8\)  matches`).MatchString(stdout) {
		t.Errorf("the right db is not reported as matching:\n%s", stdout)
	}
}

func TestCompareConvNamesKnownMistake(t *testing.T) {
	f := writeConvFiles(t)
	half := f.ref.Outputs["db"].Clone()
	for k := range half.Data {
		half.Data[k] /= 2
	}
	code, stdout, _ := runCLI(t, f.args("--given-db", writeNPY(t, f.dir, "mine_db.npy", half))...)
	if code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	for _, want := range []string{"your db equals what you get when db is divided by the number of samples m", "fix: do not divide", "db[0,0,0,0]"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestCompareConvWrongShapeIsReported(t *testing.T) {
	f := writeConvFiles(t)
	padded := ramp(2, 7, 9, 4)
	code, stdout, stderr := runCLI(t, f.args("--given-dA-prev", writeNPY(t, f.dir, "mine_dA.npy", padded))...)
	if code != 1 {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "shape (2, 7, 9, 4), expected (2, 5, 7, 4)  DOES NOT MATCH: wrong shape") {
		t.Errorf("output does not name both shapes:\n%s", stdout)
	}
}

func TestComparePoolStrideTwoPadZero(t *testing.T) {
	dir := t.TempDir()
	// Small integers make max-pool windows tie.
	a := net.NewTensor(2, 4, 6, 3)
	for k := range a.Data {
		a.Data[k] = float64(k*7%3) + float64(k%5)
	}
	dA := ramp(2, 2, 3, 3)
	aPath, dAPath := writeNPY(t, dir, "A_prev.npy", a), writeNPY(t, dir, "dA.npy", dA)
	ref, err := net.PoolExercise(a, 2, 2, "max", net.TiesFirst, dA)
	if err != nil {
		t.Fatal(err)
	}
	mask, err := net.PoolExercise(a, 2, 2, "max", net.TiesAll, dA)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"compare", "pool", "--a-prev", aPath, "--size", "2", "--stride", "2", "--mode", "max", "--da", dAPath}

	code, stdout, stderr := runCLI(t, append(args, "--given-A", writeNPY(t, dir, "A.npy", ref.Outputs["A"]), "--given-dA-prev", writeNPY(t, dir, "right.npy", ref.Outputs["dA_prev"]))...)
	if code != 0 {
		t.Fatalf("right pool arrays: exit status %d, stderr %q\n%s", code, stderr, stdout)
	}

	code, stdout, _ = runCLI(t, append(args, "--given-dA-prev", writeNPY(t, dir, "mask.npy", mask.Outputs["dA_prev"]))...)
	if code != 1 {
		t.Fatalf("masked ties: exit status %d, want 1", code)
	}
	if !strings.Contains(stdout, "x == np.max(x) marks every element that ties") || !strings.Contains(stdout, "--ties all") {
		t.Errorf("the x == max(x) mask is not named:\n%s", stdout)
	}

	code, _, _ = runCLI(t, append(args, "--ties", "all", "--given-dA-prev", filepath.Join(dir, "mask.npy"))...)
	if code != 0 {
		t.Errorf("the mask against --ties all: exit status %d, want 0", code)
	}
}

// writeTextNPY writes a .npy file of dtype '<U3', which holds strings.
func writeTextNPY(t *testing.T, path string) {
	t.Helper()
	header := "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }"
	for (10+len(header)+1)%64 != 0 {
		header += " "
	}
	header += "\n"
	data := []byte("\x93NUMPY\x01\x00")
	data = binary.LittleEndian.AppendUint16(data, uint16(len(header)))
	data = append(data, header...)
	data = append(data, make([]byte, 2*3*4)...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCompareBadInputExitsTwo(t *testing.T) {
	f := writeConvFiles(t)
	mineDW := writeNPY(t, f.dir, "mine_dW.npy", f.ref.Outputs["dW"])
	text := filepath.Join(f.dir, "text.npy")
	writeTextNPY(t, text)
	wrongDZ := writeNPY(t, f.dir, "dZ_wrong.npy", ramp(2, 3, 4, 7))
	missing := filepath.Join(f.dir, "missing.npy")
	poolArgs := []string{"compare", "pool", "--a-prev", f.aPrev, "--da", f.dZ}

	cases := []struct {
		name string
		args []string
		want []string // fragments the message must contain
	}{
		{"no layer", []string{"compare"}, []string{"compare conv"}},
		{"unknown layer", []string{"compare", "dense"}, []string{"dense"}},
		{"no given arrays", f.args(), []string{"--given-Z", "--given-dA-prev", "--given-dW", "--given-db"}},
		{"missing given file", f.args("--given-dW", missing), []string{"--given-dW", "missing.npy"}},
		{"text dtype", f.args("--given-dW", text), []string{"--given-dW", "text.npy", "<U3"}},
		{"missing input file", append(f.args("--given-dW", mineDW), "--w", missing), []string{"--w", "missing.npy"}},
		{"dZ does not fit", []string{"compare", "conv", "--a-prev", f.aPrev, "--w", f.w, "--b", f.b, "--pad", "1", "--stride", "2", "--dz", wrongDZ, "--given-dW", mineDW}, []string{"dZ", "(2, 3, 4, 7)", "(2, 3, 4, 8)"}},
		{"no gradient", []string{"compare", "conv", "--a-prev", f.aPrev, "--w", f.w, "--b", f.b, "--given-dW", mineDW}, []string{"--dz"}},
		{"pool flag on conv", f.args("--given-A", mineDW), []string{"--given-A"}},
		{"pool bad mode", append(poolArgs, "--mode", "median", "--given-dA-prev", mineDW), []string{"median"}},
		{"pool dA does not fit", append(poolArgs, "--given-dA-prev", mineDW), []string{"dA", "shape"}},
		{"pool no given arrays", poolArgs, []string{"--given-A", "--given-dA-prev"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			checkBadInput(t, code, stderr, c.want...)
			if stdout != "" {
				t.Errorf("bad input printed a report: %q", stdout)
			}
		})
	}
}
