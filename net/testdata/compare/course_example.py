"""The worked example of docs/course.md: a learner's conv_backward with one mistake.

It writes the layer's inputs and the learner's three arrays as .npy files
into the current folder. Run it with the system python, which has numpy:

    /usr/bin/python3 net/testdata/compare/course_example.py
"""

import numpy as np

def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))

def conv_backward(dZ, cache):
    (A_prev, W, b, hparameters) = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, f, n_C_prev, n_C = W.shape
    m, n_H, n_W, n_C = dZ.shape
    dA_prev = np.zeros(A_prev.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    A_prev_pad = zero_pad(A_prev, pad)
    dA_prev_pad = zero_pad(dA_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        da_prev_pad = dA_prev_pad[i]
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vert_start, horiz_start = h * stride, w * stride
                    vert_end, horiz_end = vert_start + f, horiz_start + f
                    a_slice = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                    da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] = W[:, :, :, c] * dZ[i, h, w, c]
                    dW[:, :, :, c] += a_slice * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
        dA_prev[i, :, :, :] = da_prev_pad[pad:-pad, pad:-pad, :]
    return dA_prev, dW, db

np.random.seed(1)
A_prev = np.random.randn(10, 4, 4, 3)
W = np.random.randn(2, 2, 3, 8)
b = np.random.randn(1, 1, 1, 8)
hparameters = {"pad": 2, "stride": 2}
dZ = np.random.randn(10, 4, 4, 8)   # what the layer above sent back

dA_prev, dW, db = conv_backward(dZ, (A_prev, W, b, hparameters))

for name, value in [("A_prev", A_prev), ("W", W), ("b", b), ("dZ", dZ),
                    ("mine_dA_prev", dA_prev), ("mine_dW", dW), ("mine_db", db)]:
    np.save(name + ".npy", value)
