"""Write the conv exercise inputs of the deep-learning course notebook.

The notebook draws them from numpy's legacy global generator, so this
script writes the same arrays as the notebook:

    np.random.seed(1)
    A_prev = np.random.randn(2, 5, 7, 4)
    W = np.random.randn(3, 3, 4, 8)
    b = np.random.randn(1, 1, 1, 8)

Run from the repository root with the system python:

    /usr/bin/python3 net/testdata/gen_course_arrays.py
"""

import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "course")


def main():
    np.random.seed(1)
    arrays = {
        "A_prev": np.random.randn(2, 5, 7, 4),
        "W": np.random.randn(3, 3, 4, 8),
        "b": np.random.randn(1, 1, 1, 8),
    }
    os.makedirs(OUT, exist_ok=True)
    for name, value in arrays.items():
        np.save(os.path.join(OUT, name + ".npy"), value)


if __name__ == "__main__":
    main()
