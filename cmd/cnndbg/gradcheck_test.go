package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/net"
)

// smallModel is a model small enough to gradcheck every element quickly.
const smallModel = `{"input": {"height": 6, "width": 5, "channels": 2},
 "layers": [
  {"name": "conv1", "type": "conv", "filters": 3, "size": 3, "stride": 1, "pad": 1},
  {"name": "relu1", "type": "relu"},
  {"name": "pool1", "type": "avgpool", "size": 2, "stride": 2},
  {"name": "flatten", "type": "flatten"},
  {"name": "fc1", "type": "dense", "units": 4},
  {"name": "loss", "type": "softmax_cross_entropy"}]}`

func TestGradcheckSmallModelPasses(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.json")
	os.WriteFile(model, []byte(smallModel), 0o644)
	x := writeNPY(t, dir, "x.npy", ramp(3, 6, 5, 2))
	code, stdout, stderr := runCLI(t, "gradcheck", "--model", model, "--input", x, "--labels", "0,3,1", "--max-elements", "0")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
	for _, name := range []string{"conv1.W", "conv1.b", "fc1.W", "fc1.b", "all 4 tensors pass"} {
		if !strings.Contains(stdout, name) {
			t.Errorf("output lacks %q:\n%s", name, stdout)
		}
	}
}

func TestGradcheckBadEpsExitsTwo(t *testing.T) {
	code, _, stderr := runCLI(t, "gradcheck", "--eps", "0")
	if code != 2 || !strings.Contains(stderr, "--eps") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestPartialWeightsNamesMissingKeys(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.json")
	os.WriteFile(model, []byte(smallModel), 0o644)
	n, err := net.NewNetwork(mustSpec(t, smallModel), 3)
	if err != nil {
		t.Fatal(err)
	}
	conv := n.Layer("conv1").(net.Parametric).Params()
	weights := filepath.Join(dir, "w.npz")
	if err := net.WriteNPZ(weights, map[string]*net.Tensor{"conv1.W": conv[0].Value, "conv1.b": conv[1].Value}, []string{"conv1.W", "conv1.b"}, false); err != nil {
		t.Fatal(err)
	}
	x := writeNPY(t, dir, "x.npy", ramp(3, 6, 5, 2))
	code, _, stderr := runCLI(t, "record", "-o", filepath.Join(dir, "s.cnndbg"), "--model", model, "--weights", weights, "--input", x, "--labels", "0,3,1")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stderr, "has no fc1.W, fc1.b: drawn from --seed") {
		t.Errorf("stderr does not name the missing weights: %q", stderr)
	}
}

func mustSpec(t *testing.T, text string) *net.Spec {
	t.Helper()
	s, err := net.ParseSpec([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
