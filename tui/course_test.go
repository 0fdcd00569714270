package tui

import (
	"fmt"
	"github.com/charmbracelet/x/ansi"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// courseSizes are the window sizes of the course features' goldens: the
// smallest three-pane layout and the smallest full layout.
var courseSizes = [][2]int{{100, 30}, {80, 24}}

// dzFromZBanner is the banner cnndbg conv --dz-from-z sets.
const dzFromZBanner = "--dz-from-z: dZ is Z itself, standing in for the gradient from a layer above"

// dzFromZOptions returns the options of 'cnndbg conv --dz-from-z' on the
// course's arrays, with the built-in example as the real dZ, and the
// exercise's trace.
func dzFromZOptions(t *testing.T) (*trace.Trace, Options) {
	t.Helper()
	read := func(name string) *net.Tensor {
		x, err := net.ReadNPY(filepath.Join("..", "net", "testdata", "course", name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	ex, err := net.ConvExercise(read("A_prev"), read("W"), read("b"), 2, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Title:  "conv exercise: pad 1, stride 2",
		Banner: dzFromZBanner,
		RealDZ: func() (*trace.Trace, string, error) {
			return example(t), "built-in example: 64 MNIST test digits", nil
		},
	}
	return ex.Trace, opts
}

func TestPredictionLineGolden(t *testing.T) {
	for _, size := range courseSizes {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			d := newDriver(t, example(t), Options{Title: "built-in example: 64 MNIST digits"}, size[0], size[1])
			d.press("m")
			d.requireContains("sample 62/64", "✗ 1 wrong of 64", "m → sample 62: label 9, predicted 5 (p 0.505)")
			if !strings.Contains(d.screen(), "label 9 · predicted 5 (p 0.505) ✗") && !strings.Contains(d.screen(), "label 9 · pred 5 (p 0.505) ✗") {
				t.Errorf("screen lacks the prediction of sample 62:\n%s", d.screen())
			}
			requireFrame(t, d.m.View().Content, size[0], size[1])
			golden.RequireEqual(t, d.m.View().Content)
		})
	}
}

func TestDZFromZBannerGolden(t *testing.T) {
	tr, opts := dzFromZOptions(t)
	for _, size := range courseSizes {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			d := newDriver(t, tr, opts, size[0], size[1])
			d.requireContains("--dz-from-z: dZ is Z itself", "r: see a real dZ")
			requireFrame(t, d.m.View().Content, size[0], size[1])
			golden.RequireEqual(t, d.m.View().Content)
		})
	}
}

func TestRealDZJumpGolden(t *testing.T) {
	tr, opts := dzFromZOptions(t)
	for _, size := range courseSizes {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			d := newDriver(t, tr, opts, size[0], size[1])
			d.press("r")
			d.requireContains("event 16/20 relu1 relu backward", "a real dZ: relu1 backward (event 16) writes conv1.dZ from the loss", "r: back to the exercise")
			requireFrame(t, d.m.View().Content, size[0], size[1])
			golden.RequireEqual(t, d.m.View().Content)
		})
	}
}

// overwriteReport returns the report of compare conv on a learner's
// dA_prev that numpy code computed with = in place of += (from
// net/testdata/compare, made by gen_learner_arrays.py), with the right dW.
func overwriteReport(t *testing.T) *net.Report {
	t.Helper()
	arrays, err := net.ReadNPZ(filepath.Join("..", "net", "testdata", "compare", "conv_pad0_stride1.npz"))
	if err != nil {
		t.Fatal(err)
	}
	given := map[string]*net.Tensor{"dA_prev": arrays["dA_prev.dA_prev-overwrite"], "dW": arrays["right.dW"]}
	if given["dA_prev"] == nil || given["dW"] == nil {
		t.Fatal("conv_pad0_stride1.npz lacks dA_prev.dA_prev-overwrite or right.dW")
	}
	r, err := net.CompareConv(arrays["A_prev"], arrays["W"], arrays["b"], int(arrays["stride"].Data[0]), int(arrays["pad"].Data[0]), arrays["dZ"], given)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCompareDiffModeGolden(t *testing.T) {
	r := overwriteReport(t)
	for _, size := range courseSizes {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			d := newDriver(t, r.Exercise.Trace, Options{Title: "compare conv: pad 0, stride 1", Compare: r}, size[0], size[1])
			d.requireContains("compare: 1 of 2 arrays does not match (dA_prev)", "conv.dA_prev[0,0,0,0] ✗ wrong",
				"yours   = 0.0060846151975653216", "correct = 0.27156461178262137", "Σ terms  = 0.27156461178262137")
			requireFrame(t, d.m.View().Content, size[0], size[1])
			golden.RequireEqual(t, d.m.View().Content)
		})
	}
}

func TestCompareFingerprintInWords(t *testing.T) {
	r := overwriteReport(t)
	d := newDriver(t, r.Exercise.Trace, Options{Compare: r}, 160, 50)
	d.requireContains("✗ dA_prev 80 of 80 wrong", "✓ dW      matches",
		"Known mistake: your dA_prev equals what", "(= instead of +=).", "Fix: use +=")
}

func TestCompareStepsThroughWrongElements(t *testing.T) {
	r := overwriteReport(t)
	d := newDriver(t, r.Exercise.Trace, Options{Compare: r}, 100, 30)
	d.press("x")
	d.requireContains("wrong element 2 of 80: dA_prev[0,0,0,1]", "conv.dA_prev[0,0,0,1] ✗ wrong")
	d.press("X", "X")
	d.requireContains("wrong element 80 of 80: dA_prev[1,3,4,1]")
	d.press("x")
	d.requireContains("wrong element 1 of 80: dA_prev[0,0,0,0]")
}

func TestCompareFromRightArrayGoesToFirstWrong(t *testing.T) {
	r := overwriteReport(t)
	d := newDriver(t, r.Exercise.Trace, Options{Compare: r}, 100, 30)
	d.press("tab")
	d.requireContains("conv.dW (2,2,2,3)", "all 24 elements right")
	d.press("x")
	d.requireContains("wrong element 1 of 80: dA_prev[0,0,0,0]")
}

func TestCompareMatchingArraysSayNothingWrong(t *testing.T) {
	right := overwriteReport(t)
	right.Comparisons = right.Comparisons[1:] // dW only
	d := newDriver(t, right.Exercise.Trace, Options{Compare: right}, 100, 30)
	d.requireContains("compare: your dW matches")
	d.press("x")
	d.requireContains("every element of your arrays is right")
}

func TestMistakeKeyWrapsAround(t *testing.T) {
	d := newDriver(t, example(t), Options{}, 160, 50)
	d.press("m")
	d.requireContains("sample 62/64")
	d.press("m")
	d.requireContains("sample 62/64", "m → sample 62")
	d.press(":8", "enter")
	d.press("m")
	d.requireContains("sample 62 · label 9 · predicted 5 (p 0.505) ✗")
}

func TestMistakeKeyOnWeights(t *testing.T) {
	d := newDriver(t, example(t), Options{}, 100, 30)
	d.press("tab", "tab")
	d.press("m")
	d.requireContains("conv1.W has no sample axis")
}

func TestExerciseShowsNoPredictions(t *testing.T) {
	tr, opts := dzFromZOptions(t)
	d := newDriver(t, tr, opts, 100, 30)
	s := d.screen()
	for _, unwanted := range []string{"wrong of", "label", "predicted"} {
		if strings.Contains(s, unwanted) {
			t.Errorf("an exercise screen shows %q:\n%s", unwanted, s)
		}
	}
	d.press("m")
	d.requireContains("this trace has no loss, so it holds no predictions")
}

func TestRealDZKeyReturnsToExercise(t *testing.T) {
	tr, opts := dzFromZOptions(t)
	d := newDriver(t, tr, opts, 100, 30)
	d.press("n", "r")
	d.requireContains("event 16/20 relu1 relu backward")
	d.press("u")
	d.requireContains("event 15/20 pool1 maxpool backward")
	d.press("r")
	d.requireContains("event 1/1 conv conv backward", "r: see a real dZ")
	d.press("r")
	d.requireContains("event 15/20 pool1 maxpool backward", "r: back to the exercise")
}

func TestRealDZKeyWithoutHook(t *testing.T) {
	d := newDriver(t, example(t), Options{}, 100, 30)
	d.press("r")
	d.requireContains("r opens a real dZ only from 'cnndbg conv --dz-from-z'")
}

func TestCourseKeysInHelp(t *testing.T) {
	d := newDriver(t, example(t), Options{}, 160, 50)
	d.press("?")
	d.requireContains("course", "next misclassified sample", "see a real dZ", "next wrong element", "previous wrong element")
}

func TestCompareReportFitsNarrowPane(t *testing.T) {
	r := overwriteReport(t)
	d := newDriver(t, r.Exercise.Trace, Options{Compare: r}, 80, 24)
	d.press("w", "w")
	screen := ansi.Strip(d.m.View().Content)
	if !strings.Contains(screen, "your arrays") {
		t.Fatalf("the left pane does not show the report:\n%s", screen)
	}
	if !strings.Contains(screen, "Fix: use +=") && !strings.Contains(screen, "more when you quit") {
		t.Errorf("the fix is cut off with no pointer to the rest:\n%s", screen)
	}
	requireFrame(t, d.m.View().Content, 80, 24)
}
