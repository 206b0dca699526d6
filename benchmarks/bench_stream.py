"""Latency of streaming inference: one 1 ms bin through a fitted network, per call.

    python benchmarks/bench_stream.py [--hidden 256] [--channels 96] [--steps 20000]

Prints the median and 99th percentile of the time per ``decoder.step(bin)`` (Python call included)
and of the core's step alone (a chunk of bins in one call, divided by its length).
"""

import argparse
import time

import numpy as np

from motorsrnn import SpikingRNNClassifier


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--channels", type=int, default=96)
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--rate", type=float, default=20.0, help="input rate per channel (Hz)")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    X = (rng.random((32, 50, args.channels)) < args.rate / 1000).astype(np.uint8)
    y = np.arange(32) % 4
    clf = SpikingRNNClassifier(n_hidden=args.hidden, max_epochs=1, random_state=0, n_jobs=1).fit(X, y)
    decoder = clf.stream()
    bins = (rng.random((args.steps, args.channels)) < args.rate / 1000).astype(np.float32)
    times = np.empty(args.steps)
    for i in range(args.steps):
        t0 = time.perf_counter()
        decoder.step(bins[i])
        times[i] = time.perf_counter() - t0
    decoder.reset()
    t0 = time.perf_counter()
    decoder.step(bins)
    core = (time.perf_counter() - t0) / args.steps
    rate = clf.simulate(X, membrane=False).spikes.mean() * 1000
    print(f"network: {args.hidden} LIF units, {args.channels} channels at {args.rate:g} Hz, hidden rate {rate:.1f} Hz")
    print(f"decoder.step(one bin), Python call included: median {np.median(times) * 1e6:.1f} us, "
          f"p99 {np.percentile(times, 99) * 1e6:.1f} us over {args.steps} steps")
    print(f"core step alone (chunk of {args.steps} bins in one call): {core * 1e6:.2f} us per 1 ms bin")


if __name__ == "__main__":
    main()
