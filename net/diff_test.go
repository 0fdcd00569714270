package net

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cnndbg/cnndbg/trace"
)

// exampleStep records one step of the built-in network on its first m digits,
// after edit has changed the network.
func exampleStep(t *testing.T, m int, edit func(n *Network)) *trace.Trace {
	t.Helper()
	n := ExampleNetwork()
	x, labels, err := ExampleBatch(m)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(n)
	}
	rec := trace.NewRecorder(n.Spec.JSON())
	n.Step(x, labels, ExampleLR, rec)
	return rec.Trace()
}

func TestDiffFindsPerturbedWeightEffect(t *testing.T) {
	perturbed := []int{1, 2, 0, 3}
	a := exampleStep(t, 2, nil)
	b := exampleStep(t, 2, func(n *Network) {
		w := n.Layer("conv2").(*Conv).W.Clone()
		w.Data[trace.Offset(w.Shape, perturbed)] += 1e-6
		n.Layer("conv2").(*Conv).SetParam("W", w)
	})

	d, err := DiffTraces(a, b, DefaultDiffTolerance)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "conv2.W" || !slices.Equal(d.Inputs[0].Index, perturbed) {
		t.Errorf("input differences %+v, want conv2.W%v only", d.Inputs, perturbed)
	}
	if d.First == nil {
		t.Fatal("no difference found")
	}
	e := a.Events[d.First.Event]
	if e.Layer != "conv2" || e.Phase != trace.Forward || d.Name != "conv2.Z" {
		t.Fatalf("first difference in %s (event %d, %s %s), want conv2.Z of the conv2 forward event", d.Name, d.First.Event, e.Layer, e.Phase)
	}

	// The first element Z[i,h,w,3], row-major, whose window puts
	// W[1,2,0,3] on a non-zero A_prev[i, h+1, w+2, 0] (stride 1, pad 0).
	aPrev := a.Tensor("conv2.A_prev")
	data, _ := a.Data(aPrev.ID)
	z := a.Tensor("conv2.Z")
	var want []int
	for off := 0; off < trace.Size(z.Shape) && want == nil; off++ {
		idx := trace.Unravel(z.Shape, off)
		if idx[3] == 3 && data[trace.Offset(aPrev.Shape, []int{idx[0], idx[1] + 1, idx[2] + 2, 0})] != 0 {
			want = idx
		}
	}
	if !slices.Equal(d.First.Index, want) {
		t.Errorf("first differing element conv2.Z%v, want %v", d.First.Index, want)
	}

	top := d.Terms[0]
	if top.A == nil || top.B == nil {
		t.Fatalf("the term that differs most is unpaired: %+v", top)
	}
	names := []string{}
	for _, op := range top.A.Operands {
		names = append(names, op.Tensor+indexText(op.Index))
	}
	if !slices.Contains(names, "conv2.W"+indexText(perturbed)) {
		t.Errorf("the term that differs most reads %v, want conv2.W%v", names, perturbed)
	}
	if d.A.Recorded == d.B.Recorded {
		t.Errorf("both explanations record %v", d.A.Recorded)
	}
}

func TestDiffIdenticalTraces(t *testing.T) {
	a, b := exampleStep(t, 1, nil), exampleStep(t, 1, nil)
	d, err := DiffTraces(a, b, DefaultDiffTolerance)
	if err != nil {
		t.Fatal(err)
	}
	if d.First != nil || len(d.Inputs) != 0 || len(d.Params) != 0 {
		t.Errorf("identical traces differ: %+v", d)
	}
}

func TestDiffRejectsDifferentStructure(t *testing.T) {
	n, x, labels := tinyNetwork(t)
	tiny := recordStep(n, x, labels)
	rec := trace.NewRecorder(n.Spec.JSON())
	n.RunSteps(x, labels, 0.1, 2, rec)
	twoSteps := rec.Trace()

	for _, c := range []struct {
		name string
		a, b *trace.Trace
		want string
	}{
		{"models", exampleStep(t, 1, nil), tiny, "different models"},
		{"steps", tiny, twoSteps, "they diverge at event"},
		{"batch", exampleStep(t, 1, nil), exampleStep(t, 2, nil), "the traces diverge at event 0"},
	} {
		_, err := DiffTraces(c.a, c.b, DefaultDiffTolerance)
		var structure *trace.StructureError
		if !errors.As(err, &structure) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want a StructureError with %q", c.name, err, c.want)
		}
	}
}

func TestDiffReportsLearningRate(t *testing.T) {
	n, x, labels := tinyNetwork(t)
	n2, _, _ := tinyNetwork(t)
	ra, rb := trace.NewRecorder(n.Spec.JSON()), trace.NewRecorder(n2.Spec.JSON())
	n.Step(x, labels, 0.1, ra)
	n2.Step(x, labels, 0.2, rb)
	a, b := ra.Trace(), rb.Trace()

	d, err := DiffTraces(a, b, DefaultDiffTolerance)
	if err != nil {
		t.Fatal(err)
	}
	if d.First == nil || a.Events[d.First.Event].Phase != trace.Update {
		t.Fatalf("first difference %+v, want one in an update event", d.First)
	}
	if len(d.Params) == 0 || !strings.Contains(d.Params[0], "lr = 0.1 in A, 0.2 in B") {
		t.Errorf("parameter differences %q, want the learning rates", d.Params)
	}
}
