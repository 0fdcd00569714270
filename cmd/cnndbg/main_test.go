package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/net"
)

// runCLI runs the command line and returns the exit status, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// checkBadInput fails t unless a run ended as a bad input must: exit status
// 2 and one line on stderr that contains each of want, names the program
// once and shows no panic.
func checkBadInput(t *testing.T, code int, stderr string, want ...string) {
	t.Helper()
	if code != 2 {
		t.Errorf("exit status %d, want 2; stderr %q", code, stderr)
	}
	if stderr == "" || strings.Count(strings.TrimRight(stderr, "\n"), "\n") != 0 {
		t.Errorf("stderr is not one line: %q", stderr)
	}
	if strings.HasPrefix(stderr, "cnndbg: cnndbg ") {
		t.Errorf("stderr names the program twice: %q", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not contain %q", stderr, w)
		}
	}
	for _, bad := range []string{"panic", "goroutine"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr mentions %q: %q", bad, stderr)
		}
	}
}

// writeNPY writes a tensor as a .npy file in dir and returns its path.
func writeNPY(t *testing.T, dir, name string, tensor *net.Tensor) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := net.WriteNPY(path, tensor, false); err != nil {
		t.Fatal(err)
	}
	return path
}

// ramp returns a tensor of the given shape with distinct, non-tied values.
func ramp(shape ...int) *net.Tensor {
	t := net.NewTensor(shape...)
	for k := range t.Data {
		t.Data[k] = float64((k*7919)%101)/50 - 1 + float64(k)*1e-4
	}
	return t
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	dir := t.TempDir()
	notNPY := filepath.Join(dir, "notes.npy")
	os.WriteFile(notNPY, []byte("hello"), 0o644)
	a := writeNPY(t, dir, "A.npy", ramp(2, 5, 7, 4))
	w := writeNPY(t, dir, "W.npy", ramp(3, 3, 4, 8))
	wrongChannels := writeNPY(t, dir, "W3.npy", ramp(3, 3, 3, 8))
	b := writeNPY(t, dir, "b.npy", ramp(1, 1, 1, 8))
	big := writeNPY(t, dir, "Wbig.npy", ramp(9, 9, 4, 8))
	specPath := filepath.Join(dir, "model.json")
	os.WriteFile(specPath, []byte(`{"input":{"height":8,"width":8,"channels":1},"layers":[{"name":"c","type":"convolution"},{"name":"loss","type":"softmax_cross_entropy"}]}`), 0o644)
	existing := filepath.Join(dir, "exists.cnndbg")
	os.WriteFile(existing, []byte("keep me"), 0o644)
	junkTrace := filepath.Join(dir, "junk.cnndbg")
	os.WriteFile(junkTrace, []byte("not a zip"), 0o644)

	cases := []struct {
		name string
		args []string
		want string // a fragment the message must contain
	}{
		{"unknown flag", []string{"--frobnicate"}, "--frobnicate"},
		{"unknown command", []string{"frobnicate"}, "frobnicate"},
		{"record without output", []string{"record"}, "-o"},
		{"record bad lr", []string{"record", "-o", filepath.Join(dir, "x.cnndbg"), "--lr", "abc"}, "--lr"},
		{"record existing output", []string{"record", "-o", existing}, "--force"},
		{"record unknown layer type", []string{"record", "-o", filepath.Join(dir, "y.cnndbg"), "--model", specPath, "--input", a, "--labels", "1,2"}, "convolution"},
		{"record missing input", []string{"record", "-o", filepath.Join(dir, "z.cnndbg"), "--input", filepath.Join(dir, "missing.npy"), "--labels", "3"}, "missing.npy"},
		{"record labels out of range", []string{"record", "-o", filepath.Join(dir, "z.cnndbg"), "--input", writeNPY(t, dir, "x1.npy", ramp(1, 28, 28, 1)), "--labels", "12"}, "12"},
		{"record wrong label count", []string{"record", "-o", filepath.Join(dir, "z.cnndbg"), "--input", writeNPY(t, dir, "x2.npy", ramp(2, 28, 28, 1)), "--labels", "1"}, "labels"},
		{"view missing trace", []string{"view", filepath.Join(dir, "none.cnndbg")}, "none.cnndbg"},
		{"view not a trace", []string{"view", junkTrace}, "junk.cnndbg"},
		{"view without argument", []string{"view"}, "TRACE"},
		{"explain bad target", []string{"explain", junkTrace, "conv1.dW[0"}, "junk.cnndbg"},
		{"conv not npy", []string{"conv", "--a-prev", notNPY, "--w", w, "--b", b, "--dz-from-z", "--out", dir}, "notes.npy"},
		{"conv channel mismatch", []string{"conv", "--a-prev", a, "--w", wrongChannels, "--b", b, "--dz-from-z", "--out", dir}, "channels"},
		{"conv filter larger than input", []string{"conv", "--a-prev", a, "--w", big, "--b", b, "--dz-from-z", "--out", dir}, "smaller"},
		{"conv stride zero", []string{"conv", "--a-prev", a, "--w", w, "--b", b, "--stride", "0", "--dz-from-z"}, "--stride"},
		{"conv negative pad", []string{"conv", "--a-prev", a, "--w", w, "--b", b, "--pad", "-1", "--dz-from-z"}, "--pad"},
		{"conv no gradient", []string{"conv", "--a-prev", a, "--w", w, "--b", b}, "--dz"},
		{"conv missing a-prev", []string{"conv", "--w", w, "--b", b, "--dz-from-z"}, "--a-prev"},
		{"pool bad mode", []string{"pool", "--a-prev", a, "--size", "2", "--stride", "2", "--mode", "median", "--da", a}, "median"},
		{"pool wrong dA shape", []string{"pool", "--a-prev", a, "--size", "2", "--stride", "2", "--mode", "max", "--da", a, "--out", dir}, "dA"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			checkBadInput(t, code, stderr, c.want)
		})
	}
	if data, _ := os.ReadFile(existing); string(data) != "keep me" {
		t.Errorf("record replaced an existing file without --force: it now holds %q", data)
	}
}

func TestRootWithoutTerminalPrintsSummary(t *testing.T) {
	code, stdout, stderr := runCLI(t)
	if code != 0 {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"built-in example", "conv1", "fc1", "loss"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
}

func TestRecordExplainExportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "step.cnndbg")
	if code, _, stderr := runCLI(t, "record", "-o", path); code != 0 {
		t.Fatalf("record: exit %d, %s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "explain", path, "conv1.dW[0,1,0,3]")
	if code != 0 {
		t.Fatalf("explain: exit %d, %s", code, stderr)
	}
	for _, want := range []string{"Σ terms", "recorded", "agree", "more terms"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("explain output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = runCLI(t, "explain", path, "conv2.dZ[0,3,4,1]", "--chain")
	if code != 0 {
		t.Fatalf("explain --chain: exit %d, %s", code, stderr)
	}
	if !strings.Contains(stdout, "provenance") || !strings.Contains(stdout, "fc1") {
		t.Errorf("chain output lacks the provenance to fc1:\n%s", stdout)
	}
	out := filepath.Join(dir, "step.npz")
	if code, _, stderr := runCLI(t, "export", path, "-o", out); code != 0 {
		t.Fatalf("export: exit %d, %s", code, stderr)
	}
	arrays, err := net.ReadNPZ(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"conv1.Z", "relu1.A", "conv1.dZ", "relu1.dZ", "conv1.dW", "conv1.db", "conv1.dA_prev", "loss"} {
		if arrays[key] == nil {
			t.Errorf("export lacks %s", key)
		}
	}
}

func TestConvExerciseWritesArrays(t *testing.T) {
	dir := t.TempDir()
	a := writeNPY(t, dir, "A.npy", ramp(2, 5, 7, 4))
	w := writeNPY(t, dir, "W.npy", ramp(3, 3, 4, 8))
	b := writeNPY(t, dir, "b.npy", ramp(1, 1, 1, 8))
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "conv", "--a-prev", a, "--w", w, "--b", b, "--pad", "1", "--stride", "2", "--dz-from-z", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "uses Z itself as dZ") {
		t.Errorf("no --dz-from-z note in %q", stdout)
	}
	for _, name := range []string{"Z", "dA_prev", "dW", "db"} {
		if _, err := net.ReadNPY(filepath.Join(out, name+".npy")); err != nil {
			t.Errorf("%s.npy: %v", name, err)
		}
	}
	code, _, stderr = runCLI(t, "conv", "--a-prev", a, "--w", w, "--b", b, "--pad", "1", "--stride", "2", "--dz-from-z", "--out", out)
	if code != 2 || !strings.Contains(stderr, "--force") {
		t.Errorf("second run without --force: exit %d, stderr %q", code, stderr)
	}
}

func TestConvOutWritesNothingOverAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	a := writeNPY(t, dir, "A.npy", ramp(2, 5, 7, 4))
	w := writeNPY(t, dir, "W.npy", ramp(3, 3, 4, 8))
	b := writeNPY(t, dir, "b.npy", ramp(1, 1, 1, 8))
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(out, "db.npy")
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"conv", "--a-prev", a, "--w", w, "--b", b, "--dz-from-z", "--out", out}

	code, _, stderr := runCLI(t, args...)
	checkBadInput(t, code, stderr, "already holds db.npy", "--force")
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("--out holds %d files after a refused run, want only db.npy", len(entries))
	}
	if data, _ := os.ReadFile(mine); string(data) != "mine" {
		t.Errorf("db.npy was replaced without --force: %q", data)
	}

	code, _, stderr = runCLI(t, append(args, "--out", mine)...)
	checkBadInput(t, code, stderr, "is a file, not a folder")

	code, _, stderr = runCLI(t, append(args, "--force")...)
	if code != 0 {
		t.Fatalf("with --force: exit %d: %s", code, stderr)
	}
	if _, err := net.ReadNPY(mine); err != nil {
		t.Errorf("--force did not replace db.npy: %v", err)
	}
}

func TestVersionFlag(t *testing.T) {
	code, stdout, _ := runCLI(t, "--version")
	if code != 0 || !strings.Contains(stdout, "cnndbg version "+version) {
		t.Errorf("--version: exit %d, output %q", code, stdout)
	}
}

// TestConvCommandCourseNotebook runs cnndbg conv on the course notebook's
// seeded arrays (pad 1, stride 2) and checks the mean of Z it prints and
// writes against the value the notebook prints.
func TestConvCommandCourseNotebook(t *testing.T) {
	dir := filepath.Join("..", "..", "net", "testdata", "course")
	out := filepath.Join(t.TempDir(), "ref")
	code, stdout, stderr := runCLI(t, "conv", "--a-prev", filepath.Join(dir, "A_prev.npy"), "--w", filepath.Join(dir, "W.npy"),
		"--b", filepath.Join(dir, "b.npy"), "--pad", "1", "--stride", "2", "--dz-from-z", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "mean 0.55112764745667") {
		t.Errorf("the printed mean of Z is not the notebook's 0.5511276474566768:\n%s", stdout)
	}
	z, err := net.ReadNPY(filepath.Join(out, "Z.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{-2.17796037, 8.07171329, -0.5772704, 3.36286738, 4.48113645, -2.89198428, 10.99288867, 3.03171932}
	at := ((0*3+2)*4 + 1) * 8
	for c, v := range want {
		if got := z.Data[at+c]; math.Abs(got-v) > 5e-9 {
			t.Errorf("Z.npy[0,2,1,%d] = %.10f, the notebook prints %.8f", c, got, v)
		}
	}
}

func TestViewSummaryReportsCorruptedTensor(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "step.cnndbg")
	if code, _, stderr := runCLI(t, "record", "-o", path); code != 0 {
		t.Fatalf("record: exit %d, %s", code, stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, []byte("relu1.A.npy"))
	for k := at + 2000; k < at+5000; k++ {
		data[k] ^= 0xff
	}
	os.WriteFile(path, data, 0o644)

	code, stdout, stderr := runCLI(t, "view", path)
	if code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	if !strings.Contains(stdout, "unreadable tensors: 1") {
		t.Errorf("the summary does not count the unreadable tensor:\n%s", stdout)
	}
	if !strings.Contains(stderr, "relu1.A.npy is corrupted") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr is not one line naming the corrupted member: %q", stderr)
	}
}
