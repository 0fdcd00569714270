"""Write the .npy and .npz fixtures that net's file reader tests read.

Run from this folder with a Python that has numpy:  python3 gen.py
The tests compute the expected values from the same formulas, so the
formulas below and valueAt in net/npy_test.go must agree.
"""
import os

import numpy as np


def values(kind, shape):
    """Return the fixture array for a dtype kind: k is the row-major index."""
    k = np.arange(int(np.prod(shape))).reshape(shape)
    if kind == "f":
        return (k - 12) / 4
    if kind == "i":
        return k - 12
    if kind == "u":
        return k
    if kind == "b":
        return k % 3 == 0
    raise ValueError(kind)


def main():
    shape = (2, 3, 4)
    for kind, sizes in [("f", [2, 4, 8]), ("i", [1, 2, 4, 8]), ("u", [1, 2, 4, 8]), ("b", [1])]:
        for size in sizes:
            orders = ["|"] if size == 1 else ["<", ">"]
            for order in orders:
                dtype = np.dtype(f"{order}{kind}{size}")
                a = values(kind, shape).astype(dtype)
                name = {"<": "le", ">": "be", "|": "na"}[order]
                np.save(f"{name}_{kind}{size}.npy", a)

    # Fortran order, as numpy writes an F-contiguous array of rank ≥ 2.
    for rank_shape in [(3, 4), (2, 3, 4), (2, 3, 2, 2)]:
        a = np.asfortranarray(values("f", rank_shape))
        tag = "x".join(str(d) for d in rank_shape)
        np.save(f"fortran_f8_{tag}.npy", a)
    np.save("fortran_be_i2_2x3x4.npy", np.asfortranarray(values("i", shape).astype(">i2")))

    # Format version 2.0 and 3.0 headers.
    with open("v2_f8.npy", "wb") as f:
        np.lib.format.write_array(f, values("f", shape), version=(2, 0))
    with open("v3_f8.npy", "wb") as f:
        np.lib.format.write_array(f, values("f", shape), version=(3, 0))

    np.save("scalar_f8.npy", np.float64(2.5))
    np.save("empty_f8.npy", np.zeros((0, 3)))

    # Dtypes the reader rejects.
    np.save("bad_complex.npy", np.zeros(3, dtype=np.complex128))
    np.save("bad_unicode.npy", np.array(["a", "bc"]))
    np.save("bad_bytes.npy", np.array([b"a", b"bc"]))
    np.save("bad_object.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    np.save("bad_structured.npy", np.zeros(2, dtype=[("x", "<f4"), ("y", "<i2")]))
    np.save("bad_datetime.npy", np.array(["2024-01-01"], dtype="datetime64[D]"))

    # Labels.
    np.save("labels_i8.npy", np.array([7, 2, 1, 0], dtype=np.int64))
    np.save("labels_f4.npy", np.array([7, 2, 1, 0], dtype=np.float32))
    np.save("labels_frac.npy", np.array([7, 2.5]))

    # Weights archives for the model in weights_model.json, stored and deflated.
    arrays = {
        "conv1.W": values("f", (3, 3, 1, 2)),
        "conv1.b": values("f", (2,)),
        "fc1.W": values("f", (32, 3)),
        "fc1.b": values("f", (1, 3)),
    }
    np.savez("weights_stored.npz", **arrays)
    np.savez_compressed("weights_deflated.npz", **arrays)


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    main()
