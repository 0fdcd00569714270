package tui

import "testing"

// BenchmarkView measures drawing one frame at 100×30 with conv1.Z shown.
func BenchmarkView(b *testing.B) {
	d := newDriver(b, example(b), Options{}, 100, 30)
	b.ResetTimer()
	for b.Loop() {
		_ = d.m.View()
	}
}

// BenchmarkExplainConvDW measures the background work behind one conv1.dW
// element of the built-in example: its terms, running sums and provenance.
func BenchmarkExplainConvDW(b *testing.B) {
	tr := example(b)
	id := tr.Tensor("conv1.dW").ID
	for b.Loop() {
		if r := explainElement(tr, id, []int{0, 1, 0, 0}); r.err != nil || r.linksErr != nil {
			b.Fatal(r.err, r.linksErr)
		}
	}
}
