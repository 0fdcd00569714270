package tui

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// BenchmarkKeypressStep measures what a user waits for after pressing n:
// Update with the key plus View of the new frame, at 200×60 on the built-in
// example. The explanation the new event starts runs in a background command
// and is not part of the keypress; BenchmarkExplainConvDW measures it. The
// median-ns/key metric is the median over the b.N keypresses.
func BenchmarkKeypressStep(b *testing.B) {
	d := newDriver(b, example(b), Options{AltScreen: true}, 200, 60)
	events := len(example(b).Events)
	next := tea.KeyPressMsg{Code: 'n', Text: "n"}
	first := tea.KeyPressMsg{Code: 'g', Text: "g"}
	var durations []time.Duration
	b.ResetTimer()
	for k := 0; b.Loop(); k++ {
		key := next
		if k%events == events-1 {
			key = first
		}
		start := time.Now()
		model, _ := d.m.Update(key)
		d.m = model.(Model)
		_ = d.m.View()
		durations = append(durations, time.Since(start))
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds()), "median-ns/key")
}

// countingWriter counts the bytes the renderer writes to the terminal.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// settle waits until w has written nothing new for quiet, and returns its count.
func (w *countingWriter) settle(quiet time.Duration) int64 {
	last := w.n.Load()
	for {
		time.Sleep(quiet)
		now := w.n.Load()
		if now == last {
			return now
		}
		last = now
	}
}

// BenchmarkKeypressBytes runs the real program and renderer at 120×40 on
// the built-in example and counts the bytes written to the terminal for
// each n keypress, including the redraw when the event's explanation
// arrives. It reports the median as bytes/key. Run it with -benchtime 20x:
// each keypress waits for the output to go quiet.
func BenchmarkKeypressBytes(b *testing.B) {
	out := &countingWriter{}
	p := tea.NewProgram(New(example(b), Options{AltScreen: true}),
		tea.WithOutput(out), tea.WithInput(nil), tea.WithWindowSize(120, 40), tea.WithoutSignals())
	done := make(chan error, 1)
	go func() {
		_, err := p.Run()
		done <- err
	}()
	const quiet = 150 * time.Millisecond
	out.settle(quiet)
	var perKey []int64
	for b.Loop() {
		before := out.settle(quiet)
		p.Send(tea.KeyPressMsg{Code: 'n', Text: "n"})
		perKey = append(perKey, out.settle(quiet)-before)
	}
	p.Quit()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	slices.Sort(perKey)
	b.ReportMetric(float64(perKey[len(perKey)/2]), "bytes/key")
	b.ReportMetric(float64(perKey[len(perKey)-1]), "max-bytes/key")
}
