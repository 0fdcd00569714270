"""Write arrays made by learner-style numpy code with known mistakes.

Each function below is the deep-learning course's conv_backward or
pool_backward loop written in numpy with one mistake, so the Go tests can
check that net's fingerprints reproduce what numpy computes, slicing and
broadcasting included. Each case is one .npz file holding the inputs
(A_prev, W, b, dZ or dA, and the hyperparameters as 0-d arrays), the right
arrays under "right.<array>" and each mistaken array under
"<array>.<fingerprint name>".

Run from the repository root with the system python (it has numpy):

    /usr/bin/python3 net/testdata/compare/gen_learner_arrays.py
"""

import os

import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))


def zero_pad(x, pad):
    return np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


def conv_forward(A_prev, W, b, stride, pad, bias_in_every_product=False):
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    f, _, _, n_C = W.shape
    n_H = (n_H_prev + 2 * pad - f) // stride + 1
    n_W = (n_W_prev + 2 * pad - f) // stride + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * stride, w * stride
                    a_slice = A_prev_pad[i, vs:vs + f, hs:hs + f, :]
                    if bias_in_every_product:
                        Z[i, h, w, c] = np.sum(a_slice * W[:, :, :, c] + b[:, :, :, c])
                    else:
                        Z[i, h, w, c] = np.sum(a_slice * W[:, :, :, c]) + float(b[0, 0, 0, c])
    return Z


def conv_backward(dZ, A_prev, W, b, stride, pad, mistake=None):
    """The course's loop; mistake names the one line written wrong."""
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    f = W.shape[0]
    _, n_H, n_W, n_C = dZ.shape
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    A_prev_pad = zero_pad(A_prev, pad)
    dA_prev_pad = zero_pad(np.zeros(A_prev.shape), pad)
    for i in range(m):
        if mistake == "last-sample":
            dW = np.zeros(W.shape)
            db = np.zeros(b.shape)
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * stride, w * stride
                    ve, he = vs + f, hs + f
                    a_slice = A_prev_pad[i, vs:ve, hs:he, :]
                    if mistake == "dA_prev-overwrite":
                        dA_prev_pad[i, vs:ve, hs:he, :] = W[:, :, :, c] * dZ[i, h, w, c]
                    elif mistake == "dA_prev-dZ-sliced-by-window":
                        dA_prev_pad[i, vs:ve, hs:he, :] += W[:, :, :, c] * dZ[i, vs:ve, hs:he, c]
                    else:
                        dA_prev_pad[i, vs:ve, hs:he, :] += W[:, :, :, c] * dZ[i, h, w, c]
                    if mistake == "dW-dZ-sliced-by-window":
                        dW[:, :, :, c] += a_slice * dZ[i, vs:ve, hs:he, c]
                    elif mistake == "dW-overwrite":
                        dW[:, :, :, c] = a_slice * dZ[i, h, w, c]
                    else:
                        dW[:, :, :, c] += a_slice * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
    if mistake == "divided-by-m":
        dW, db = dW / m, db / m
    unpad = {
        "unpad-empty-at-pad-0": lambda x: x[:, pad:-pad, pad:-pad, :],
        "unpad-keeps-bottom-right": lambda x: x[:, pad:, pad:, :],
        "unpad-top-left-corner": lambda x: x[:, :n_H_prev, :n_W_prev, :],
    }.get(mistake, lambda x: x[:, pad:pad + n_H_prev, pad:pad + n_W_prev, :])
    return unpad(dA_prev_pad), dW, db


def conv_case(name, seed, shape_a, shape_w, stride, pad, dz_from_z, mistakes):
    rng = np.random.RandomState(seed)
    A_prev, W = rng.randn(*shape_a), rng.randn(*shape_w)
    b = rng.randn(1, 1, 1, shape_w[3])
    Z = conv_forward(A_prev, W, b, stride, pad)
    dZ = Z if dz_from_z else rng.randn(*Z.shape)
    arrays = {"A_prev": A_prev, "W": W, "b": b, "stride": np.array(stride), "pad": np.array(pad)}
    if not dz_from_z:
        arrays["dZ"] = dZ
    right = conv_backward(dZ, A_prev, W, b, stride, pad)
    for key, value in zip(["dA_prev", "dW", "db"], right):
        arrays["right." + key] = value
    arrays["right.Z"] = Z
    for array, mistake in mistakes:
        if mistake == "bias-in-every-product":
            Z_bias = conv_forward(A_prev, W, b, stride, pad, bias_in_every_product=True)
            out = {"Z": Z_bias}
            for key, value in zip(["dA_prev", "dW", "db"], conv_backward(Z_bias, A_prev, W, b, stride, pad)):
                out[key] = value
            arrays[array + "." + mistake] = out[array]
            continue
        line = {"dW-last-sample": "last-sample", "db-last-sample": "last-sample",
                "dW-divided-by-m": "divided-by-m", "db-divided-by-m": "divided-by-m"}.get(mistake, mistake)
        out = dict(zip(["dA_prev", "dW", "db"], conv_backward(dZ, A_prev, W, b, stride, pad, line)))
        arrays[array + "." + mistake] = out[array]
    np.savez(os.path.join(OUT, name + ".npz"), **arrays)


def create_mask_from_window(x):
    return x == np.max(x)


def pool_backward(dA, A_prev, f, stride, mode, mistake=None):
    m, _, _, n_C = A_prev.shape
    _, n_H, n_W, _ = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * stride, w * stride
                    ve, he = vs + f, hs + f
                    da = dA[i, vs:ve, hs:he, c] if mistake == "pool-dA-sliced-by-window" else dA[i, h, w, c]
                    if mode == "max":
                        window = A_prev[i, vs:ve, hs:he, c]
                        if mistake in (None, "pool-overwrite", "pool-dA-sliced-by-window"):
                            # The reference's rule: the first maximum only.
                            mask = np.zeros((f, f))
                            mask[np.unravel_index(np.argmax(window), (f, f))] = 1
                        else:
                            mask = create_mask_from_window(window)
                        grad = mask * da
                    else:
                        divisor = {"avgpool-divided-by-f": f, "avgpool-divided-by-output-size": n_H * n_W,
                                   "avgpool-not-divided": 1}.get(mistake, f * f)
                        grad = np.ones((f, f)) * (da / divisor)
                    if mistake == "pool-overwrite":
                        dA_prev[i, vs:ve, hs:he, c] = grad
                    else:
                        dA_prev[i, vs:ve, hs:he, c] += grad
    return dA_prev


def pool_case(name, seed, shape_a, f, stride, mode, mistakes):
    rng = np.random.RandomState(seed)
    # Small integers, so max-pool windows tie.
    A_prev = rng.randint(0, 3, size=shape_a).astype(np.float64) if mode == "max" else rng.randn(*shape_a)
    n_H, n_W = (shape_a[1] - f) // stride + 1, (shape_a[2] - f) // stride + 1
    dA = rng.randn(shape_a[0], n_H, n_W, shape_a[3])
    arrays = {"A_prev": A_prev, "dA": dA, "f": np.array(f), "stride": np.array(stride),
              "max": np.array(1 if mode == "max" else 0), "right.dA_prev": pool_backward(dA, A_prev, f, stride, mode)}
    for mistake in mistakes:
        arrays["dA_prev." + mistake] = pool_backward(dA, A_prev, f, stride, mode, mistake)
    np.savez(os.path.join(OUT, name + ".npz"), **arrays)


def main():
    conv_case("conv_pad0_stride1", 1, (2, 4, 5, 2), (2, 2, 2, 3), 1, 0, False, [
        ("dA_prev", "dA_prev-overwrite"), ("dA_prev", "unpad-empty-at-pad-0"),
        ("dA_prev", "dA_prev-dZ-sliced-by-window"), ("dW", "dW-dZ-sliced-by-window"),
        ("dW", "dW-last-sample"), ("dW", "dW-overwrite"), ("db", "db-divided-by-m"), ("db", "db-last-sample"),
    ])
    conv_case("conv_pad1_stride2", 2, (2, 5, 7, 4), (3, 3, 4, 8), 2, 1, True, [
        ("dA_prev", "unpad-top-left-corner"), ("dA_prev", "unpad-keeps-bottom-right"),
        ("Z", "bias-in-every-product"), ("dW", "bias-in-every-product"), ("dW", "dW-divided-by-m"),
    ])
    pool_case("maxpool_stride1", 3, (2, 5, 5, 3), 2, 1, "max",
              ["maxpool-mask-all-ties", "pool-overwrite", "pool-dA-sliced-by-window"])
    pool_case("maxpool_stride2", 4, (2, 4, 6, 3), 2, 2, "max", ["maxpool-mask-all-ties"])
    pool_case("avgpool_stride1", 5, (2, 5, 5, 3), 2, 1, "average",
              ["avgpool-divided-by-f", "avgpool-divided-by-output-size", "avgpool-not-divided",
               "pool-overwrite", "pool-dA-sliced-by-window"])


if __name__ == "__main__":
    main()
