package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cnndbg/cnndbg/net"
)

// tinyModel is a small conv net that trains on a few hundred digits in a
// second.
const tinyModel = `{"input": {"height": 28, "width": 28, "channels": 1},
 "layers": [
  {"name": "conv1", "type": "conv", "filters": 4, "size": 5, "stride": 1, "pad": 0},
  {"name": "relu1", "type": "relu"},
  {"name": "pool1", "type": "maxpool", "size": 4, "stride": 4},
  {"name": "flatten", "type": "flatten"},
  {"name": "fc1", "type": "dense", "units": 10},
  {"name": "loss", "type": "softmax_cross_entropy"}]}`

func writeTinyModel(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.json")
	writeFile(t, path, []byte(tinyModel))
	return path
}

// loadTinyWeights reads a weights file into the tiny model.
func loadTinyWeights(t *testing.T, path string) *net.Network {
	t.Helper()
	spec, err := net.ParseSpec([]byte(tinyModel))
	if err != nil {
		t.Fatal(err)
	}
	n, err := net.NewNetwork(spec, 99)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.LoadWeights(n, path); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTrainWritesWeights(t *testing.T) {
	dir := writeMNISTDir(t, 300, 50)
	model := writeTinyModel(t)
	out := filepath.Join(t.TempDir(), "tiny.npz")

	code, stdout, stderr := runCLI(t, "train", "-o", out, "--model", model, "--mnist", dir,
		"--epochs", "2", "--batch", "20", "--lr", "0.1")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	t.Logf("stdout:\n%sstderr:\n%s", stdout, stderr)

	accuracyLine := regexp.MustCompile(`(?m)^epoch 2/2: train loss [0-9.]+, test accuracy ([0-9.]+)%$`)
	m := accuracyLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("stdout has no accuracy line for epoch 2/2: %q", stdout)
	}
	if !strings.Contains(stdout, "epoch 1/2: train loss") {
		t.Errorf("stdout has no accuracy line for epoch 1/2: %q", stdout)
	}
	if m[1] != "100.00" {
		t.Errorf("test accuracy %s%% on the synthetic bands, want 100.00%%", m[1])
	}
	if !strings.Contains(stdout, "wrote "+out) {
		t.Errorf("stdout does not name the weights file: %q", stdout)
	}
	if !regexp.MustCompile(`(?m)^epoch 1/2: 300 images in .*images/s`).MatchString(stderr) {
		t.Errorf("stderr has no plain epoch line: %q", stderr)
	}
	if strings.ContainsAny(stderr, "\r\x1b") {
		t.Errorf("stderr is not a terminal but contains a progress bar: %q", stderr)
	}

	n := loadTinyWeights(t, out)
	x, labels, err := net.LoadMNIST(dir, "test", 0, -1, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := net.Accuracy(n, x, labels, 16)
	if err != nil {
		t.Fatal(err)
	}
	if acc != 1 {
		t.Errorf("the written weights classify %.0f%% of the test bands, want 100%%", 100*acc)
	}
}

func TestTrainIsReproducible(t *testing.T) {
	dir := writeMNISTDir(t, 60, 10)
	model := writeTinyModel(t)
	outDir := t.TempDir()
	var files [][]byte
	for _, name := range []string{"a.npz", "b.npz"} {
		out := filepath.Join(outDir, name)
		if code, _, stderr := runCLI(t, "train", "-o", out, "--model", model, "--mnist", dir, "--epochs", "1", "--batch", "8", "--seed", "5"); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("two runs with --seed 5 wrote different weights")
	}
}

func TestTrainOnGoMNIST(t *testing.T) {
	if _, err := net.FindMNIST(); err != nil {
		t.Skipf("MNIST files not found, so the default --mnist cannot be tested (%v)", err)
	}
	out := filepath.Join(t.TempDir(), "tiny.npz")
	code, stdout, stderr := runCLI(t, "train", "-o", out, "--model", writeTinyModel(t), "--limit", "256", "--epochs", "1")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stderr, "training on 256 images") {
		t.Errorf("stderr does not say it trains on 256 images: %q", stderr)
	}
	if !strings.Contains(stdout, "epoch 1/1: train loss") {
		t.Errorf("stdout has no accuracy line: %q", stdout)
	}
	loadTinyWeights(t, out)
}

func TestTrainBadInput(t *testing.T) {
	dir := writeMNISTDir(t, 20, 10)
	model := writeTinyModel(t)
	existing := filepath.Join(t.TempDir(), "exists.npz")
	writeFile(t, existing, []byte("keep me"))
	out := filepath.Join(t.TempDir(), "out.npz")
	fiveClasses := filepath.Join(t.TempDir(), "five.json")
	writeFile(t, fiveClasses, []byte(strings.Replace(tinyModel, `"units": 10`, `"units": 5`, 1)))
	noFiles := t.TempDir()

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"no output", []string{"--mnist", dir}, []string{"-o"}},
		{"existing output", []string{"-o", existing, "--mnist", dir}, []string{existing, "--force"}},
		{"output in missing folder", []string{"-o", filepath.Join(noFiles, "sub", "w.npz"), "--mnist", dir}, []string{"sub", "does not exist"}},
		{"zero batch", []string{"-o", out, "--mnist", dir, "--batch", "0"}, []string{"--batch"}},
		{"zero epochs", []string{"-o", out, "--mnist", dir, "--epochs", "0"}, []string{"--epochs"}},
		{"negative lr", []string{"-o", out, "--mnist", dir, "--lr", "-0.1"}, []string{"--lr"}},
		{"negative limit", []string{"-o", out, "--mnist", dir, "--limit", "-5"}, []string{"--limit"}},
		{"limit beyond the file", []string{"-o", out, "--mnist", dir, "--limit", "100"}, []string{"train-images-idx3-ubyte.gz", "0:100"}},
		{"folder without the files", []string{"-o", out, "--mnist", noFiles}, []string{noFiles, "train-images-idx3-ubyte"}},
		{"labels beyond the model's classes", []string{"-o", out, "--mnist", dir, "--model", fiveClasses}, []string{"classes"}},
		{"bad model", []string{"-o", out, "--mnist", dir, "--model", filepath.Join(noFiles, "none.json")}, []string{"none.json"}},
		{"bad weights", []string{"-o", out, "--mnist", dir, "--model", model, "--weights", existing}, []string{existing}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"train"}, c.args...)...)
			checkBadInput(t, code, stderr, c.want...)
		})
	}
	if data, _ := os.ReadFile(existing); string(data) != "keep me" {
		t.Errorf("%s was changed without --force", existing)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was written although every command failed", out)
	}
}

func TestTrainProgressBarOnTerminal(t *testing.T) {
	var stdout, stderr bytes.Buffer
	report := newTrainReport(&stdout, &stderr, true, func() (float64, error) { return 0.5, nil })
	step := net.TrainProgress{Epoch: 1, Epochs: 2, Images: 30, EpochImages: 60, Loss: 1.5, MeanLoss: 2, Elapsed: time.Second}
	report.progress(step)
	step.Images, step.EpochDone = 60, true
	report.progress(step)

	if !strings.HasPrefix(stderr.String(), "\repoch 1/2 ") || !strings.Contains(stderr.String(), "30/60  loss 2.0000  30 images/s") {
		t.Errorf("progress bar %q, want the epoch, 30/60, the loss and images/s", stderr.String())
	}
	if !strings.HasSuffix(stderr.String(), "\r\x1b[K") {
		t.Errorf("progress bar %q is not erased at the epoch's end", stderr.String())
	}
	if strings.Contains(stderr.String(), "\n") {
		t.Errorf("progress bar %q contains a newline", stderr.String())
	}
	if got, want := stdout.String(), "epoch 1/2: train loss 2.0000, test accuracy 50.00%\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}
