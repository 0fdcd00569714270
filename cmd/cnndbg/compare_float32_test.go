package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/net"
)

// writeFloat32NPY writes t rounded to float32 as a '<f4' .npy file, as
// numpy's np.save does for a float32 array.
func writeFloat32NPY(t *testing.T, dir, name string, tensor *net.Tensor) string {
	t.Helper()
	shape := ""
	for _, d := range tensor.Shape {
		shape += fmt.Sprintf("%d, ", d)
	}
	if len(tensor.Shape) > 1 {
		shape = strings.TrimSuffix(shape, ", ")
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shape)
	header += strings.Repeat(" ", 63-(10+len(header))%64) + "\n"
	buf := []byte("\x93NUMPY\x01\x00")
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(header)))
	buf = append(buf, header...)
	for _, v := range tensor.Data {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(v)))
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompareFloat32ArraysMatch(t *testing.T) {
	dir := t.TempDir()
	a, w, b := ramp(2, 5, 7, 4), ramp(3, 3, 4, 8), ramp(1, 1, 1, 8)
	ref, err := net.ConvExercise(a, w, b, 2, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"compare", "conv", "--no-screen", "--pad", "1", "--stride", "2", "--dz-from-z",
		"--a-prev", writeFloat32NPY(t, dir, "A_prev.npy", a),
		"--w", writeFloat32NPY(t, dir, "W.npy", w),
		"--b", writeFloat32NPY(t, dir, "b.npy", b),
		"--given-dW", writeFloat32NPY(t, dir, "mine_dW.npy", ref.Outputs["dW"]),
		"--given-dA-prev", writeFloat32NPY(t, dir, "mine_dA.npy", ref.Outputs["dA_prev"]),
	}
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("right float32 arrays: exit status %d, stderr %q\n%s", code, stderr, stdout)
	}
	if !strings.Contains(stdout, "because mine_dA.npy is float32, which rounds each value by about 1e-7") {
		t.Errorf("the report does not say why the tolerance is looser:\n%s", stdout)
	}
	if n := strings.Count(stdout, "tolerance 0.0001"); n != 1 {
		t.Errorf("the report gives the tolerance %d times, want once:\n%s", n, stdout)
	}

	code, stdout, _ = runCLI(t, append(args, "--tol", "1e-12")...)
	if code != 1 {
		t.Errorf("float32 rounding passed --tol 1e-12: exit status %d\n%s", code, stdout)
	}

	wrong := ref.Outputs["dW"].Clone()
	wrong.Data[5] *= 1.01
	args[len(args)-3] = writeFloat32NPY(t, dir, "wrong_dW.npy", wrong)
	code, stdout, _ = runCLI(t, args...)
	if code != 1 || !strings.Contains(stdout, "DOES NOT MATCH") {
		t.Errorf("a dW element 1%% off passed the float32 tolerance: exit status %d\n%s", code, stdout)
	}
}
