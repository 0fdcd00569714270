package net

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/sbinet/npyio"
	"github.com/sbinet/npyio/npz"
)

// readNPYTensor reads a C-order float64 .npy file.
func readNPYTensor(t *testing.T, path string) *Tensor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npyio.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if r.Header.Descr.Fortran {
		t.Fatalf("%s: Fortran order is not expected in test data", path)
	}
	var data []float64
	if err := r.Read(&data); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return FromData(data, r.Header.Descr.Shape...)
}

// readNPZTensors reads every float64 array of a .npz file, keyed by name
// without the .npy suffix.
func readNPZTensors(t *testing.T, path string) map[string]*Tensor {
	t.Helper()
	r, err := npz.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string]*Tensor{}
	for _, key := range r.Keys() {
		var data []float64
		if err := r.Read(key, &data); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		name := key[:len(key)-len(".npy")]
		out[name] = FromData(data, r.Header(key).Descr.Shape...)
	}
	return out
}

// readLabels reads an int64 .npy file of class indices.
func readLabels(t *testing.T, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var raw []int64
	if err := npyio.Read(f, &raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	labels := make([]int, len(raw))
	for i, v := range raw {
		labels[i] = int(v)
	}
	return labels
}

// maxRelErr returns max_k |got_k − want_k| / max_k |want_k|: the largest
// error relative to the tensor's largest magnitude. An element-wise ratio
// would fail wherever a gradient is a near-zero sum of cancelling terms,
// because PyTorch sums in another order.
func maxRelErr(got, want *Tensor) float64 {
	diff, scale := 0.0, 0.0
	for k := range want.Data {
		diff = math.Max(diff, math.Abs(got.Data[k]-want.Data[k]))
		scale = math.Max(scale, math.Abs(want.Data[k]))
	}
	if diff == 0 {
		return 0
	}
	return diff / scale
}

// torchFixture is one network with PyTorch's loss and gradients for it.
type torchFixture struct {
	net      *Network
	x        *Tensor
	labels   []int
	expected map[string]*Tensor
}

// loadTorchFixture builds the network of dir/model.json with the weights of
// dir/weights.npz and reads the batch and PyTorch's results.
func loadTorchFixture(t *testing.T, dir string) torchFixture {
	t.Helper()
	specJSON, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseSpec(specJSON)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	n, err := NewNetwork(spec, 1)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}

	weights := readNPZTensors(t, filepath.Join(dir, "weights.npz"))
	set := 0
	for _, l := range n.Layers {
		p, ok := l.(Parametric)
		if !ok {
			continue
		}
		for _, param := range p.Params() {
			w, ok := weights[l.Name()+"."+param.Role]
			if !ok {
				t.Fatalf("%s: weights.npz has no %s.%s", dir, l.Name(), param.Role)
			}
			if !slices.Equal(w.Shape, param.Value.Shape) {
				t.Fatalf("%s: %s.%s has shape %v, the layer expects %v", dir, l.Name(), param.Role, w.Shape, param.Value.Shape)
			}
			p.SetParam(param.Role, w)
			set++
		}
	}
	if set != len(weights) {
		t.Fatalf("%s: weights.npz has %d arrays but the network set %d", dir, len(weights), set)
	}

	fx := torchFixture{
		net:      n,
		x:        readNPYTensor(t, filepath.Join(dir, "x.npy")),
		labels:   readLabels(t, filepath.Join(dir, "labels.npy")),
		expected: readNPZTensors(t, filepath.Join(dir, "expected.npz")),
	}
	if err := n.CheckBatch(fx.x, fx.labels); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return fx
}

func TestTorchFixtures(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "torch", "*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(dirs)
	if len(dirs) < 25 {
		t.Fatalf("found %d fixtures in testdata/torch, want at least 25: run gen_torch_fixtures.py", len(dirs))
	}

	kinds := map[string]bool{}
	worst, worstName := 0.0, ""
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			fx := loadTorchFixture(t, dir)
			for _, ls := range fx.net.Spec.Layers {
				kinds[ls.Type] = true
			}
			res := fx.net.Step(fx.x, fx.labels, 0, nil)

			want := fx.expected["loss"].Data[0]
			if rel := math.Abs(res.Loss-want) / math.Abs(want); rel > 1e-10 {
				t.Errorf("loss = %.17g, PyTorch %.17g (relative error %.2g)", res.Loss, want, rel)
			}

			got := map[string]*Tensor{"input.dX": res.DX}
			for name, g := range res.Grads {
				got[name] = g
			}
			for name, wantGrad := range fx.expected {
				if name == "loss" {
					continue
				}
				g, ok := got[name]
				if !ok {
					t.Errorf("Step computed no %s", name)
					continue
				}
				if !slices.Equal(g.Shape, wantGrad.Shape) {
					t.Errorf("%s has shape %v, PyTorch's %v", name, g.Shape, wantGrad.Shape)
					continue
				}
				rel := maxRelErr(g, wantGrad)
				if rel > 1e-10 {
					t.Errorf("%s differs from PyTorch: max relative error %.2g", name, rel)
				}
				if rel > worst {
					worst, worstName = rel, filepath.Base(dir)+" "+name
				}
			}
			if len(got) != len(fx.expected)-1 {
				t.Errorf("Step computed %d gradients, PyTorch %d", len(got), len(fx.expected)-1)
			}
		})
	}

	t.Logf("largest gradient error against PyTorch: %.2g (%s)", worst, worstName)
	for _, kind := range layerTypes {
		if !kinds[kind] {
			t.Errorf("no fixture has a %s layer", kind)
		}
	}
}
