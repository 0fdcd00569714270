// Command stepbench times one SGD step of a cnndbg network and prints the
// result as one JSON object on stdout. bench/side_by_side.py runs it next to
// the same step in PyTorch; it is not part of the cnndbg command.
//
//	go run ./bench/stepbench -model bench/wide.json -batch 64 -record
//
// The input batch is uniform in [0, 1) and the labels are uniform over the
// classes, both from a fixed seed. Every repetition runs Step on the same
// network, so the parameters move as in training.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cnndbg/cnndbg/net"
	"github.com/cnndbg/cnndbg/trace"
)

// result is the JSON printed on stdout. Times are in milliseconds.
type result struct {
	Side        string    `json:"side"`
	Model       string    `json:"model"`
	Batch       int       `json:"batch"`
	Threads     int       `json:"threads"`
	Reps        int       `json:"reps"`
	MedianMS    float64   `json:"median_ms"`
	TimesMS     []float64 `json:"times_ms"`
	Tensors     int       `json:"tensors_recorded"`
	MaxRSSMiB   float64   `json:"max_rss_mib"`
	HeapPeakMiB float64   `json:"heap_sys_mib"`
}

func main() {
	model := flag.String("model", "", "model spec JSON file (default: the built-in LeNet-style example)")
	batch := flag.Int("batch", 64, "samples per step")
	reps := flag.Int("reps", 20, "maximum number of timed steps")
	budget := flag.Float64("budget", 3, "seconds the timed steps may take: fewer than -reps (but at least 3) run when one step is slow")
	warmup := flag.Int("warmup", 2, "maximum number of untimed steps before the timed ones")
	record := flag.Bool("record", false, "record every tensor of each step (a new trace.Recorder per step)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the timed steps to this file")
	printSpec := flag.Bool("print-spec", false, "print the model spec JSON and exit")
	flag.Parse()

	if *printSpec {
		if err := writeSpec(*model); err != nil {
			fmt.Fprintln(os.Stderr, "stepbench:", err)
			os.Exit(2)
		}
		return
	}
	if err := run(*model, *batch, *reps, *warmup, *budget, *record, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "stepbench:", err)
		os.Exit(2)
	}
}

// loadSpec returns the spec in file model, or the built-in one for "".
func loadSpec(model string) (*net.Spec, error) {
	if model == "" {
		return net.ExampleSpec(), nil
	}
	return net.LoadSpec(model)
}

func writeSpec(model string) error {
	spec, err := loadSpec(model)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(spec.JSON(), '\n'))
	return err
}

func run(model string, batch, reps, warmup int, budget float64, record bool, cpuProfile string) error {
	if batch < 1 || reps < 1 || warmup < 0 {
		return fmt.Errorf("-batch and -reps must be ≥ 1 and -warmup ≥ 0")
	}
	spec, err := loadSpec(model)
	if err != nil {
		return err
	}
	name := model
	if name == "" {
		name = "lenet"
	}
	network, err := net.NewNetwork(spec, 1)
	if err != nil {
		return err
	}

	rng := rand.New(rand.NewPCG(7, 7))
	x := net.NewTensor(append([]int{batch}, network.InputShape()...)...)
	for k := range x.Data {
		x.Data[k] = rng.Float64()
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(network.Classes)
	}
	specJSON := spec.JSON()

	tensors := 0
	step := func() {
		var rec *trace.Recorder
		if record {
			rec = trace.NewRecorder(specJSON)
		}
		network.Step(x, labels, 0.01, rec)
		if record {
			tensors = len(rec.Trace().Tensors)
		}
	}
	// The first warm-up step sets the number of timed steps. Slow steps
	// (over a tenth of the budget) get no further warm-up.
	for k := range warmup {
		start := time.Now()
		step()
		perStep := time.Since(start).Seconds()
		if k == 0 {
			reps = max(min(reps, 3), min(reps, int(budget/perStep)))
		}
		if perStep > budget/10 {
			break
		}
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	times := make([]float64, reps)
	for k := range times {
		start := time.Now()
		step()
		times[k] = float64(time.Since(start).Nanoseconds()) / 1e6
	}

	side := "cnndbg (no recorder)"
	if record {
		side = "cnndbg (recording)"
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	peak, err := peakRSS()
	if err != nil {
		return err
	}
	sorted := slices.Sorted(slices.Values(times))
	out := result{
		Side: side, Model: name, Batch: batch, Threads: runtime.GOMAXPROCS(0), Reps: reps,
		MedianMS: median(sorted), TimesMS: times, Tensors: tensors,
		MaxRSSMiB:   peak,
		HeapPeakMiB: float64(ms.HeapSys) / (1 << 20),
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// peakRSS returns the process's peak resident set size in MiB from VmHWM in
// /proc/self/status. Unlike getrusage's ru_maxrss it does not include the
// RSS the process had before exec, that is its parent's at fork time.
func peakRSS() (float64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kib) / 1024, err
		}
	}
	return 0, fmt.Errorf("/proc/self/status has no VmHWM line")
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
