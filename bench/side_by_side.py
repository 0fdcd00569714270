#!/usr/bin/python3
"""Time one SGD step of cnndbg next to PyTorch and a numpy loop conv.

Run from the repository root (bench/side-by-side.sh does this):

    /usr/bin/python3 bench/side_by_side.py [--threads 2] [--batches 1,64,256]

For every model and batch it runs, one after the other in this order:

  (1) cnndbg recording a full step (bench/stepbench -record),
  (2) cnndbg running the same step with a nil recorder,
  (3) PyTorch running the same step,
  (3h) PyTorch with forward and backward hooks that copy every activation
       and gradient, plus copies of every parameter gradient and updated
       parameter, as a user would record a step by hand,
  (4) the course's numpy loops (over i, h, w, c with window slices) for the
       forward and backward pass of the conv layers alone.

Each side runs in its own process, so its peak RSS is its own. Every side
uses float64, the same batch and the same number of threads (GOMAXPROCS,
torch.set_num_threads and the OpenMP/BLAS variables). Inputs are uniform in
[0, 1) and labels uniform over the classes. The script prints a Markdown
table of medians and ratios to (3), and with --json writes every timing.

When Debian's libopenblas-dev is installed, two more sides run:

  (1o) cnndbg recording, built with -tags openblas (one OpenBLAS thread per
       Dgemm, since cnndbg already splits the batch among GOMAXPROCS),
  (3o) PyTorch with Debian's OpenBLAS loaded in place of the reference BLAS
       (LD_LIBRARY_PATH), with OPENBLAS_NUM_THREADS set to --threads.

Debian's python3-torch 1.13 links libblas.so.3, which is the slow reference
BLAS unless update-alternatives selects an optimized one. (3) uses whatever
the system selects.

(4) is slow: above --numpy-samples samples it runs on that many samples and
scales the time linearly to the batch, and the table marks those cells "~".
The loops do the same work for every sample, so the scaling is exact up to
cache effects.
"""

import argparse
import json
import os
import pty
import re
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

OPENBLAS_LIB = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
OPENBLAS_HEADER = "/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {"lenet": "", "wide": os.path.join(ROOT, "bench", "wide.json")}
LR = 0.01


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for every side (default 2)")
    parser.add_argument("--batches", default="1,64,256", help="comma-separated batch sizes (default 1,64,256)")
    parser.add_argument("--models", default="lenet,wide", help="comma-separated models: lenet, wide (default both)")
    parser.add_argument("--reps", type=int, default=15, help="maximum timed steps per side (default 15)")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds of timed steps per side and cell; slow steps run fewer reps, at least 3 (default 3)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every cell this many times, in turn, and pool the timed steps of each side (default 1)")
    parser.add_argument("--numpy-samples", type=int, default=2, help="samples the numpy loops run before scaling to the batch (default 2)")
    parser.add_argument("--openblas", choices=["auto", "yes", "no"], default="auto",
                        help="also run sides (1o) and (3o) with OpenBLAS: auto runs them when libopenblas-dev is installed")
    parser.add_argument("--json", help="write every measurement to this file")
    parser.add_argument("--extras", action="store_true", help="also time cnndbg's startup, record -o and explain of the largest conv1.dW sum")
    parser.add_argument("--worker", choices=["torch", "torch-hooks", "numpy"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------- workers


def max_rss_mib():
    """Return this process's peak resident set size in MiB.

    VmHWM is kept per address space, so it starts anew at exec. getrusage's
    ru_maxrss would also count the RSS of the parent at fork time.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_reps(step, reps, budget, warmup=True):
    """Time up to reps calls of step within budget seconds, at least 3.

    With warmup, one untimed call runs first and sets the count; a second
    one runs when the first took under a tenth of the budget.
    """
    if warmup:
        start = time.perf_counter()
        step()
        per_step = time.perf_counter() - start
        if per_step < budget / 10:
            step()
        reps = max(min(reps, 3), min(reps, int(budget / per_step)))
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1e3)
    return times


def torch_model(spec, torch):
    """Build the spec's layers as a torch.nn.Sequential on NCHW input."""
    layers = []
    channels = spec["input"]["channels"]
    height, width = spec["input"]["height"], spec["input"]["width"]
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "conv":
            stride = layer.get("stride", 1)
            layers.append(torch.nn.Conv2d(channels, layer["filters"], layer["size"], stride=stride, padding=layer.get("pad", 0)))
            channels = layer["filters"]
            height = (height + 2 * layer.get("pad", 0) - layer["size"]) // stride + 1
            width = (width + 2 * layer.get("pad", 0) - layer["size"]) // stride + 1
        elif kind == "relu":
            layers.append(torch.nn.ReLU())
        elif kind in ("maxpool", "avgpool"):
            stride = layer.get("stride", layer["size"])
            pool = torch.nn.MaxPool2d if kind == "maxpool" else torch.nn.AvgPool2d
            layers.append(pool(layer["size"], stride=stride))
            height = (height - layer["size"]) // stride + 1
            width = (width - layer["size"]) // stride + 1
        elif kind == "flatten":
            layers.append(torch.nn.Flatten())
            channels, height, width = channels * height * width, 1, 1
        elif kind == "dense":
            layers.append(torch.nn.Linear(channels, layer["units"]))
            channels = layer["units"]
        elif kind == "softmax_cross_entropy":
            pass
        else:
            raise SystemExit(f"side_by_side.py: layer type {kind!r} has no PyTorch equivalent here")
    return torch.nn.Sequential(*layers).double()


def run_torch(args, hooks):
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(7)
    spec = json.loads(args.spec)
    model = torch_model(spec, torch)
    shape = (args.batch, spec["input"]["channels"], spec["input"]["height"], spec["input"]["width"])
    x = torch.rand(shape, dtype=torch.float64)
    classes = [layer for layer in spec["layers"] if layer["type"] == "dense"][-1]["units"]
    y = torch.randint(0, classes, (args.batch,))
    kept = []

    if hooks:
        def keep_output(module, inputs, output):
            kept.append(output.detach().clone())

        def keep_gradients(module, grad_input, grad_output):
            kept.extend(g.detach().clone() for g in grad_output + grad_input if g is not None)

        for module in model:
            module.register_forward_hook(keep_output)
            module.register_full_backward_hook(keep_gradients)

    def step():
        kept.clear()
        z = model(x)
        loss = torch.nn.functional.cross_entropy(z, y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            if hooks:
                kept.append(torch.softmax(z, dim=1))
                kept.append(loss.detach().clone())
                kept.extend(p.grad.clone() for p in model.parameters())
            for p in model.parameters():
                p.sub_(LR * p.grad)
            if hooks:
                kept.extend(p.detach().clone() for p in model.parameters())

    times = timed_reps(step, args.reps, args.budget)
    side = "PyTorch + copy hooks" if hooks else "PyTorch"
    return {"side": side, "times_ms": times, "median_ms": statistics.median(times),
            "tensors_kept": len(kept), "max_rss_mib": max_rss_mib(), "torch": torch.__version__}


def conv_forward(A_prev, W, b, stride, pad):
    """Compute the course's conv forward: loops over i, h, w, c with window slices."""
    import numpy as np

    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, _, _, n_C = W.shape
    n_H = (n_H_prev + 2 * pad - f) // stride + 1
    n_W = (n_W_prev + 2 * pad - f) // stride + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            for w in range(n_W):
                horiz_start = w * stride
                a_slice_prev = a_prev_pad[vert_start:vert_start + f, horiz_start:horiz_start + f, :]
                for c in range(n_C):
                    Z[i, h, w, c] = np.sum(a_slice_prev * W[:, :, :, c]) + b[0, 0, 0, c]
    return Z


def conv_backward(dZ, A_prev, W, stride, pad):
    """Compute the course's conv backward, with the same loops as conv_forward."""
    import numpy as np

    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, _, _, n_C = W.shape
    _, n_H, n_W, _ = dZ.shape
    dW = np.zeros(W.shape)
    db = np.zeros((1, 1, 1, n_C))
    A_prev_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dA_prev_pad = np.zeros(A_prev_pad.shape)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        da_prev_pad = dA_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            for w in range(n_W):
                horiz_start = w * stride
                a_slice = a_prev_pad[vert_start:vert_start + f, horiz_start:horiz_start + f, :]
                for c in range(n_C):
                    da_prev_pad[vert_start:vert_start + f, horiz_start:horiz_start + f, :] += W[:, :, :, c] * dZ[i, h, w, c]
                    dW[:, :, :, c] += a_slice * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
    dA_prev = dA_prev_pad[:, pad:pad + n_H_prev, pad:pad + n_W_prev, :]
    return dA_prev, dW, db


def conv_layers(spec):
    """Return (n_H, n_W, n_C_prev, f, stride, pad, n_C) of every conv layer."""
    shape = [spec["input"]["height"], spec["input"]["width"], spec["input"]["channels"]]
    convs = []
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "conv":
            stride, pad, f = layer.get("stride", 1), layer.get("pad", 0), layer["size"]
            convs.append((shape[0], shape[1], shape[2], f, stride, pad, layer["filters"]))
            shape = [(shape[0] + 2 * pad - f) // stride + 1, (shape[1] + 2 * pad - f) // stride + 1, layer["filters"]]
        elif kind in ("maxpool", "avgpool"):
            stride = layer.get("stride", layer["size"])
            shape = [(shape[0] - layer["size"]) // stride + 1, (shape[1] - layer["size"]) // stride + 1, shape[2]]
    return convs


def run_numpy(args):
    import numpy as np

    rng = np.random.default_rng(7)
    samples = min(args.batch, args.numpy_samples)
    operands = []
    for n_H, n_W, n_C_prev, f, stride, pad, n_C in conv_layers(json.loads(args.spec)):
        A_prev = rng.random((samples, n_H, n_W, n_C_prev))
        W = rng.standard_normal((f, f, n_C_prev, n_C)) * 0.1
        b = np.zeros((1, 1, 1, n_C))
        operands.append((A_prev, W, b, stride, pad))

    def step():
        for A_prev, W, b, stride, pad in operands:
            Z = conv_forward(A_prev, W, b, stride, pad)
            conv_backward(Z, A_prev, W, stride, pad)

    times = timed_reps(step, reps=1, budget=0, warmup=False)
    scale = args.batch / samples
    times = [t * scale for t in times]
    return {"side": "numpy loops (conv layers)", "times_ms": times, "median_ms": statistics.median(times),
            "samples_run": samples, "extrapolated": samples < args.batch, "max_rss_mib": max_rss_mib(),
            "numpy": np.__version__}


# ---------------------------------------------------------------- driver


def thread_env(threads):
    env = dict(os.environ)
    for name in ("GOMAXPROCS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    return env


def run_json(command, env):
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_cell(args, stepbench, stepbench_openblas, model, batch, spec, env):
    """Run every side once for one model and batch; return their results by key."""
    go = [stepbench, "-batch", str(batch), "-reps", str(args.reps), "-budget", str(args.budget)]
    if MODELS[model]:
        go += ["-model", MODELS[model]]
    worker = [sys.executable, os.path.abspath(__file__), "--model", model, "--batch", str(batch),
              "--threads", str(args.threads), "--reps", str(args.reps), "--budget", str(args.budget),
              "--numpy-samples", str(args.numpy_samples), "--spec", spec]
    sides = {
        "1": go + ["-record"],
        "2": go,
        "3": worker + ["--worker", "torch"],
        "3h": worker + ["--worker", "torch-hooks"],
        "4": worker + ["--worker", "numpy"],
    }
    envs = {}
    if stepbench_openblas:
        sides["1o"] = [stepbench_openblas] + sides["1"][1:]
        envs["1o"] = dict(env, OPENBLAS_NUM_THREADS="1")
        sides["3o"] = sides["3"]
        envs["3o"] = dict(env, LD_LIBRARY_PATH=OPENBLAS_LIB)
    results = {}
    for key, command in sides.items():
        results[key] = run_json(command, envs.get(key, env))
        print(f"  {model} m={batch} ({key}) {results[key]['side']}: {results[key]['median_ms']:.2f} ms", file=sys.stderr)
    return results


def pool_results(pooled, cell):
    """Add one round's results of a cell to pooled: times are joined, the
    median taken over all of them, and the peak RSS is the largest."""
    for key, result in cell.items():
        if key not in pooled:
            pooled[key] = result
            continue
        into = pooled[key]
        into["times_ms"] = into["times_ms"] + result["times_ms"]
        into["median_ms"] = statistics.median(into["times_ms"])
        into["max_rss_mib"] = max(into["max_rss_mib"], result["max_rss_mib"])


def ratio(a, b):
    return f"{a / b:.2f}"


def print_tables(cells):
    print("| model | m | (1) record | (2) no record | (3) PyTorch | (3h) PyTorch + hooks | (4) numpy conv loops | (1)/(3) | (2)/(3) | (3h)/(3) | (4)/(3) | (1)/(2) |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for (model, batch), r in cells:
        ms = {k: v["median_ms"] for k, v in r.items()}
        approx = "~" if r["4"].get("extrapolated") else ""
        print(f"| {model} | {batch} | {ms['1']:.2f} | {ms['2']:.2f} | {ms['3']:.2f} | {ms['3h']:.2f} | {approx}{ms['4']:.0f} "
              f"| {ratio(ms['1'], ms['3'])} | {ratio(ms['2'], ms['3'])} | {ratio(ms['3h'], ms['3'])} | {approx}{ratio(ms['4'], ms['3'])} | {ratio(ms['1'], ms['2'])} |")
    if "1o" in cells[0][1]:
        print()
        print("With OpenBLAS: (1o) cnndbg built with -tags openblas, recording; (3o) PyTorch on OpenBLAS.")
        print()
        print("| model | m | (1o) record | (3o) PyTorch | (1o)/(3o) | (1)/(3o) | (1)/(1o) |")
        print("|---|--:|--:|--:|--:|--:|--:|")
        for (model, batch), r in cells:
            ms = {k: v["median_ms"] for k, v in r.items()}
            print(f"| {model} | {batch} | {ms['1o']:.2f} | {ms['3o']:.2f} | {ratio(ms['1o'], ms['3o'])} | {ratio(ms['1'], ms['3o'])} | {ratio(ms['1'], ms['1o'])} |")
    print()
    print("Peak RSS of each side's process, MiB, and timed steps per side:")
    print()
    print("| model | m | (1) | (2) | (3) | (3h) | (4) | reps (1)/(2)/(3)/(3h) |")
    print("|---|--:|--:|--:|--:|--:|--:|---|")
    for (model, batch), r in cells:
        rss = {k: v["max_rss_mib"] for k, v in r.items()}
        reps = "/".join(str(len(r[k]["times_ms"])) for k in ("1", "2", "3", "3h"))
        print(f"| {model} | {batch} | {rss['1']:.0f} | {rss['2']:.0f} | {rss['3']:.0f} | {rss['3h']:.0f} | {rss['4']:.0f} | {reps} |")


def screen_startup(binary, expect, timeout=10.0):
    """Start binary on a 100×30 pty and return the seconds until expect appears."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.environ["COLUMNS"], os.environ["LINES"] = "100", "30"
        os.execv(binary, [binary])
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    start = time.perf_counter()
    seen = b""
    elapsed = None
    while time.perf_counter() - start < timeout:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            seen += chunk
            # Cursor-movement codes may split words, so match on the text alone.
            text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", seen)
            if expect in text:
                elapsed = time.perf_counter() - start
                break
    try:
        os.write(fd, b"q")
        time.sleep(0.2)
        os.kill(pid, 9)
    except OSError:
        pass
    os.waitpid(pid, 0)
    os.close(fd)
    return elapsed


def measure_extras(cnndbg, env, tmp):
    """Time cnndbg's startup, record -o and explain; return lines of Markdown."""
    lines = ["", "| measurement | value |", "|---|--:|"]
    starts = [screen_startup(cnndbg, b"conv1") for _ in range(5)]
    starts = [s for s in starts if s is not None]
    if starts:
        lines.append(f"| `cnndbg` on a 100×30 pty until the screen shows \"conv1\", median of {len(starts)} | {statistics.median(starts) * 1e3:.0f} ms |")
    else:
        lines.append("| `cnndbg` on a pty: the screen never showed \"conv1\" within 10 s | – |")

    summaries = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([cnndbg], env=env, check=True, capture_output=True)
        summaries.append(time.perf_counter() - t)
    lines.append(f"| `cnndbg` with stdout not a terminal (prints a summary), median of 5 | {statistics.median(summaries) * 1e3:.0f} ms |")

    path = os.path.join(tmp, "step.cnndbg")
    records = []
    for _ in range(5):
        if os.path.exists(path):
            os.remove(path)
        t = time.perf_counter()
        subprocess.run([cnndbg, "record", "-o", path], env=env, check=True, capture_output=True)
        records.append(time.perf_counter() - t)
    lines.append(f"| `cnndbg record -o` of the built-in step (64 digits), median of 5 | {statistics.median(records) * 1e3:.0f} ms |")
    lines.append(f"| trace file size per step (built-in example, batch 64) | {os.path.getsize(path) / 1e6:.2f} MB |")

    # conv1.dW[2,2,0,0] is a centre tap: with pad 2 every one of the
    # 64·28·28 = 50,176 windows reaches it, the most terms of any dW element.
    explains = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([cnndbg, "explain", path, "conv1.dW[2,2,0,0]"], env=env, check=True, capture_output=True)
        explains.append(time.perf_counter() - t)
    lines.append(f"| `cnndbg explain TRACE 'conv1.dW[2,2,0,0]'` (50,176 terms), whole process, median of 5 | {statistics.median(explains) * 1e3:.0f} ms |")
    return lines


def machine_lines(args):
    # Imported in a child, so this process stays small: children forked from
    # it start with its pages.
    versions = subprocess.run([sys.executable, "-c", "import numpy, torch; print(torch.__version__, numpy.__version__)"],
                              check=True, capture_output=True, text=True).stdout.split()
    go = subprocess.run(["go", "version"], check=True, capture_output=True, text=True).stdout.strip()
    cpu = subprocess.run(["lscpu"], check=True, capture_output=True, text=True).stdout.splitlines()
    model = next((l.split(":", 1)[1].strip() for l in cpu if l.startswith("Model name")), "unknown CPU")
    return [f"{go}; torch {versions[0]}; numpy {versions[1]}; {model}, {os.cpu_count()} CPUs; "
            f"{args.threads} threads per side; load average before the run {os.getloadavg()[0]:.2f}"]


def main(argv):
    args = parse_args(argv)
    if args.worker == "numpy":
        print(json.dumps(run_numpy(args)))
        return
    if args.worker:
        print(json.dumps(run_torch(args, hooks=args.worker == "torch-hooks")))
        return

    models = args.models.split(",")
    for model in models:
        if model not in MODELS:
            raise SystemExit(f"side_by_side.py: --models: unknown model {model!r}; use lenet or wide")
    batches = [int(b) for b in args.batches.split(",")]
    if shutil.which("go") is None:
        raise SystemExit("side_by_side.py: go not found on PATH; install Go 1.26 or later")

    env = thread_env(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        stepbench = os.path.join(tmp, "stepbench")
        cnndbg = os.path.join(tmp, "cnndbg")
        subprocess.run(["go", "build", "-o", stepbench, "./bench/stepbench"], check=True, cwd=ROOT)
        subprocess.run(["go", "build", "-o", cnndbg, "./cmd/cnndbg"], check=True, cwd=ROOT)
        stepbench_openblas = None
        have_openblas = os.path.exists(OPENBLAS_HEADER) and os.path.isdir(OPENBLAS_LIB)
        if args.openblas == "yes" and not have_openblas:
            raise SystemExit(f"side_by_side.py: --openblas yes: {OPENBLAS_HEADER} not found; apt-get install libopenblas-dev")
        if args.openblas != "no" and have_openblas:
            stepbench_openblas = os.path.join(tmp, "stepbench-openblas")
            subprocess.run(["go", "build", "-tags", "openblas", "-o", stepbench_openblas, "./bench/stepbench"], check=True, cwd=ROOT)
        started = time.time()
        header = machine_lines(args)
        specs = {}
        for model in models:
            spec = subprocess.run([stepbench, "-print-spec"] + (["-model", MODELS[model]] if MODELS[model] else []),
                                  check=True, capture_output=True, text=True, cwd=ROOT).stdout
            specs[model] = json.dumps(json.loads(spec))
        pooled = {}
        for _ in range(args.rounds):
            for model in models:
                for batch in batches:
                    cell = measure_cell(args, stepbench, stepbench_openblas, model, batch, specs[model], env)
                    pool_results(pooled.setdefault((model, batch), {}), cell)
        cells = list(pooled.items())
        extras = measure_extras(cnndbg, env, tmp) if args.extras else []
        took = time.time() - started

    print("\n".join(header))
    print()
    print_tables(cells)
    print("\n".join(extras))
    print(f"\nThe run took {took:.0f} s; load average after it {os.getloadavg()[0]:.2f}; {args.rounds} round(s).")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": header, "cells": [{"model": m, "batch": b, "sides": r} for (m, b), r in cells]}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
