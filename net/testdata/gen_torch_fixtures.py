"""Generate reference gradients of small random CNNs with PyTorch autograd.

Each fixture is a folder torch/NAME/ with

    model.json    the model in cnndbg's spec format
    x.npy         the input batch, NHWC (m, n_H, n_W, n_C), float64
    labels.npy    class indices (m,), int64
    weights.npz   <layer>.W and <layer>.b in cnndbg's layouts
    expected.npz  loss (1,), <layer>.dW, <layer>.db and input.dX

cnndbg's layouts differ from PyTorch's, and this script converts between
them. Activations are NHWC, where PyTorch uses NCHW. Conv W is
(f, f, n_C_prev, n_C), where PyTorch uses (out, in, kh, kw). Dense W is
(n_in, n_out), the transpose of PyTorch's Linear weight. Flatten is
row-major over (n_H, n_W, n_C), so the NCHW activation is permuted to NHWC
before it is flattened. The loss is softmax cross-entropy averaged over the
batch, F.cross_entropy's default. Everything runs in float64.

Run from the repository root with the Debian python that has torch:

    /usr/bin/python3 net/testdata/gen_torch_fixtures.py
"""

import json
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch")
FIXTURES = 30


def out_size(n, f, stride, pad):
    return (n + 2 * pad - f) // stride + 1


class Builder:
    """Builds a random model spec layer by layer, tracking the shape."""

    def __init__(self, rng, height, width, channels):
        self.rng = rng
        self.shape = [height, width, channels]
        self.input = {"height": height, "width": width, "channels": channels}
        self.layers = []
        self.counts = {}

    def name(self, kind):
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"{kind}{self.counts[kind]}"

    def conv(self, f, stride, pad, filters):
        h, w, _ = self.shape
        self.layers.append({"name": self.name("conv"), "type": "conv", "filters": filters,
                            "size": f, "stride": stride, "pad": pad})
        self.shape = [out_size(h, f, stride, pad), out_size(w, f, stride, pad), filters]

    def relu(self):
        self.layers.append({"name": self.name("relu"), "type": "relu"})

    def pool(self, kind, size, stride):
        h, w, c = self.shape
        self.layers.append({"name": self.name("pool"), "type": kind, "size": size, "stride": stride})
        self.shape = [out_size(h, size, stride, 0), out_size(w, size, stride, 0), c]

    def flatten(self):
        self.layers.append({"name": "flatten", "type": "flatten"})
        self.shape = [int(np.prod(self.shape))]

    def dense(self, units):
        self.layers.append({"name": self.name("fc"), "type": "dense", "units": units})
        self.shape = [units]

    def spec(self):
        layers = self.layers + [{"name": "loss", "type": "softmax_cross_entropy"}]
        return {"input": self.input, "layers": layers}


def pool_args(rng, shape):
    """Returns a pool size and stride that fit shape, overlapping at times."""
    size = int(rng.integers(1, min(3, shape[0], shape[1]) + 1))
    stride = int(rng.integers(1, 4))
    return size, stride


def build_spec(k, rng):
    """Returns the spec of fixture k. The conv of fixture k has f = 1 + k mod 5,
    stride 1 + ⌊k/5⌋ mod 3 and pad k mod 3, so the set covers each value."""
    f = 1 + k % 5
    stride = 1 + (k // 5) % 3
    pad = k % 3
    channels = int(rng.integers(1, 4))
    classes = int(rng.integers(2, 6))
    low = max(f - 2 * pad, 1) + 2
    height = int(rng.integers(low, low + 6))
    width = int(rng.integers(low, low + 6))
    b = Builder(rng, height, width, channels)

    template = k % 6
    if template == 0:
        b.conv(f, stride, pad, int(rng.integers(1, 5)))
        b.relu()
        b.pool("maxpool", *pool_args(rng, b.shape))
    elif template == 1:
        b.conv(f, stride, pad, int(rng.integers(1, 5)))
        b.relu()
        b.pool("avgpool", *pool_args(rng, b.shape))
        g = min(3, b.shape[0] + 2, b.shape[1] + 2)
        b.conv(g, 1, 1, int(rng.integers(1, 4)))
        b.relu()
    elif template == 2:
        b.pool("maxpool", 2, 1)
        b.conv(min(f, b.shape[0] + 2 * pad, b.shape[1] + 2 * pad), stride, pad, int(rng.integers(1, 4)))
    elif template == 3:
        b.conv(f, stride, pad, int(rng.integers(1, 5)))
        if min(b.shape[:2]) >= 2:
            b.pool("avgpool", 2, 1)
        b.relu()
    elif template == 4:
        b.conv(f, stride, pad, int(rng.integers(2, 5)))
        b.relu()
        b.conv(min(2, b.shape[0] + 2, b.shape[1] + 2), 1, 1, int(rng.integers(1, 4)))
        b.relu()
        if min(b.shape[:2]) >= 3:
            b.pool("maxpool", 3, 2)
    else:
        b.conv(f, stride, pad, int(rng.integers(1, 4)))
        b.pool("maxpool", *pool_args(rng, b.shape))
    b.flatten()
    if k % 2 == 1:
        b.dense(int(rng.integers(3, 8)))
        b.relu()
    b.dense(classes)
    return b.spec(), classes


def init_params(spec, rng):
    """Draws weights in cnndbg's layouts, scaled by 1/√fan_in, with nonzero biases."""
    params = {}
    shape = [spec["input"]["height"], spec["input"]["width"], spec["input"]["channels"]]
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "conv":
            f, n_c = layer["size"], layer["filters"]
            fan_in = f * f * shape[2]
            params[layer["name"] + ".W"] = rng.standard_normal((f, f, shape[2], n_c)) / np.sqrt(fan_in)
            params[layer["name"] + ".b"] = 0.1 * rng.standard_normal((1, 1, 1, n_c))
            shape = [out_size(shape[0], f, layer["stride"], layer["pad"]),
                     out_size(shape[1], f, layer["stride"], layer["pad"]), n_c]
        elif kind in ("maxpool", "avgpool"):
            size, stride = layer["size"], layer["stride"]
            shape = [out_size(shape[0], size, stride, 0), out_size(shape[1], size, stride, 0), shape[2]]
        elif kind == "flatten":
            shape = [int(np.prod(shape))]
        elif kind == "dense":
            units = layer["units"]
            params[layer["name"] + ".W"] = rng.standard_normal((shape[0], units)) / np.sqrt(shape[0])
            params[layer["name"] + ".b"] = 0.1 * rng.standard_normal((1, units))
            shape = [units]
    return params


def torch_step(spec, params, x, labels):
    """Runs the model in PyTorch and returns the loss and the gradients in cnndbg's layouts."""
    leaves = {}
    for key, value in params.items():
        name, role = key.split(".")
        kind = next(l["type"] for l in spec["layers"] if l["name"] == name)
        t = torch.tensor(value, dtype=torch.float64)
        if kind == "conv" and role == "W":
            t = t.permute(3, 2, 0, 1)  # (f, f, in, out) → (out, in, kh, kw)
        elif kind == "conv":
            t = t.reshape(-1)
        elif role == "W":
            t = t.T  # (n_in, n_out) → Linear's (out, in)
        else:
            t = t.reshape(-1)
        leaves[key] = t.contiguous().requires_grad_(True)

    x_t = torch.tensor(x, dtype=torch.float64).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
    a = x_t
    for layer in spec["layers"][:-1]:
        name, kind = layer["name"], layer["type"]
        if kind == "conv":
            a = F.conv2d(a, leaves[name + ".W"], leaves[name + ".b"], stride=layer["stride"], padding=layer["pad"])
        elif kind == "relu":
            a = F.relu(a)
        elif kind == "maxpool":
            a = F.max_pool2d(a, layer["size"], layer["stride"])
        elif kind == "avgpool":
            a = F.avg_pool2d(a, layer["size"], layer["stride"])
        elif kind == "flatten":
            a = a.permute(0, 2, 3, 1).reshape(a.shape[0], -1)
        elif kind == "dense":
            a = F.linear(a, leaves[name + ".W"], leaves[name + ".b"])
    loss = F.cross_entropy(a, torch.tensor(labels, dtype=torch.int64))
    loss.backward()

    expected = {"loss": np.array([loss.item()]), "input.dX": x_t.grad.permute(0, 2, 3, 1).numpy()}
    for key, leaf in leaves.items():
        name, role = key.split(".")
        grad = leaf.grad
        if grad.dim() == 4:
            grad = grad.permute(2, 3, 1, 0)  # (out, in, kh, kw) → (f, f, in, out)
        elif grad.dim() == 2:
            grad = grad.T
        expected[f"{name}.d{role}"] = grad.contiguous().numpy().reshape(params[key].shape)
    return expected


def write_fixture(k):
    rng = np.random.default_rng(20240 + k)
    spec, classes = build_spec(k, rng)
    params = init_params(spec, rng)
    m = 1 + k % 4
    inp = spec["input"]
    x = rng.standard_normal((m, inp["height"], inp["width"], inp["channels"]))
    labels = rng.integers(0, classes, size=m).astype(np.int64)
    expected = torch_step(spec, params, x, labels)

    kinds = "-".join(l["type"][:4] for l in spec["layers"][:-1] if l["type"] not in ("relu", "flatten"))
    folder = os.path.join(OUT, f"{k:02d}-{kinds}")
    os.makedirs(folder)
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(spec, f, indent=1)
        f.write("\n")
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "labels.npy"), labels)
    np.savez_compressed(os.path.join(folder, "weights.npz"), **params)
    np.savez_compressed(os.path.join(folder, "expected.npz"), **expected)


def main():
    torch.manual_seed(0)
    shutil.rmtree(OUT, ignore_errors=True)
    for k in range(FIXTURES):
        write_fixture(k)


if __name__ == "__main__":
    main()
