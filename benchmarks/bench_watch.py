"""Benchmark: what the checks' watch on a student's function costs (cnncourse.checks.by_hand).

    python benchmarks/bench_watch.py [--repeats 7]

A check holds a student's function to its exercise's rules by watching every
call it makes (``sys.setprofile``). Two functions are timed, plain and
watched, alternately: one does what graded functions of labs 4 to 9 do (it
builds, compiles and trains a small Keras model, then predicts), under the
rules every exercise has (``OWN_WORK``); the other is a convolution written
out in NumPy loops, as in lab 1, under that lab's strict rules (``LOOPS``).
The medians are printed with the ratio to the plain call. A measurement, not
a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def student_like():
    """Build, train and run a small CNN, as a graded training function does."""
    import keras
    import numpy as np

    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(np.zeros((16, 8, 8, 1), "float32"), np.zeros(16, "int32"), epochs=2, verbose=0)
    return float(np.asarray(model(np.zeros((2, 8, 8, 1), "float32"))).sum())


def conv_by_loops():
    """A 3x3 convolution of a 24x24 image, written out in loops, as lab 1's exercise asks."""
    import numpy as np

    rng = np.random.default_rng(0)
    image, kernel = rng.random((24, 24)), rng.random((3, 3))
    out = np.zeros((22, 22))
    for i in range(22):
        for j in range(22):
            out[i, j] = np.sum(image[i : i + 3, j : j + 3] * kernel)
    return float(out.sum())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    for name, value in {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}.items():
        os.environ.setdefault(name, value)
    import cnncourse  # noqa: F401 - as in a kernel: the course first
    from cnncourse.checks import by_hand

    student_like()  # imports and first traces, outside the timings
    pairs = {
        "Keras training, OWN_WORK": (student_like, by_hand.OWN_WORK),
        "NumPy loops, LOOPS": (conv_by_loops, by_hand.LOOPS),
    }
    print(f"median of {args.repeats} calls, plain and watched alternating:")
    for name, (fn, rules) in pairs.items():
        watched = by_hand.by_hand("bench", fn, rules)
        plain_t, watched_t = [], []
        for _ in range(args.repeats):
            for f, ts in ((fn, plain_t), (watched, watched_t)):
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
        p_med, w_med = statistics.median(plain_t), statistics.median(watched_t)
        print(f"  {name:26s} plain {p_med:6.3f} s, watched {w_med:6.3f} s: {w_med / p_med:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
