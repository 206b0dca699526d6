"""Peak memory of the core's copy of the input as events, against the estimate of the memory checks.

The core turns ``X`` into events (a channel index and a count per non-zero entry, and an offset
per trial and step) before it simulates. The memory checks count 8 bytes per non-zero entry plus
8 per trial and step (``motorsrnn.estimators._events_bytes``). This script simulates dense input
(smoothed rates: every entry non-zero, the worst case) on one thread, with a tiny network so that
the events dominate, and prints the peak resident memory beyond ``X`` next to that estimate.

Usage::

    python benchmarks/bench_input_events.py            # = --n-trials 2000 (X of 0.48 GiB; about 10 s)
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from motorsrnn import SpikingRNNClassifier
from motorsrnn.estimators import _events_bytes


def _resident_gib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-trials", type=int, default=2000)
    args = parser.parse_args()
    X = np.random.default_rng(0).random((args.n_trials, 500, 128), dtype=np.float32) + 0.01
    y = np.arange(len(X)) % 4
    clf = SpikingRNNClassifier(n_hidden=16, max_epochs=0, random_state=0, n_jobs=1).fit(X[:8], y[:8])
    before = _resident_gib()
    start = time.perf_counter()
    clf.network_.logits(X, 1)  # one core call on all of X (predict would split it into blocks of trials)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"X: {X.shape}, float32, {X.nbytes / 2**30:.2f} GiB, every entry non-zero")
    print(f"estimated events (_events_bytes): {_events_bytes(X) / 2**30:.2f} GiB")
    print(f"peak resident memory beyond X while predicting: {peak - before:.2f} GiB ({seconds:.1f} s, 1 thread)")


if __name__ == "__main__":
    main()
