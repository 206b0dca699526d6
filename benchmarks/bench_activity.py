"""What activity matching costs on top of output-only training.

Data: ``make_reaching_dynamics(n_conditions=8, n_trials_per_condition=16, n_null_rotations=2,
random_state=100)`` (128 trials of 300 x 1 ms bins, 20 input channels, 4 outputs, 200 teacher
neurons), the task of ``benchmarks/dynamics_matching.py``. A ``SpikingRNNRegressor`` with that
script's parameters (128 units) trains for ``--epochs`` epochs on every trial, once on the outputs
alone and once per kernel and recorded fraction with ``fit(X, y, neural_targets=rates[:, :,
sample])`` (``activity_weight=0.01``, ``activity_tau=20`` ms). Prints the fit time per epoch
(median of ``--repeats`` fits) and its ratio to output-only training.

    python benchmarks/bench_activity.py [--epochs 20] [--fractions 0.1 0.3 0.6] [--repeats 3] [--n-jobs 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from motorsrnn import SpikingRNNRegressor
from motorsrnn.datasets import make_reaching_dynamics, sample_neurons

PARAMS = dict(n_hidden=128, input_scale=0.2, recurrent_scale=0.2, learning_rate=5e-3, random_state=0)


def fit_seconds(data, epochs, n_jobs, repeats, sample=None, kernel=None):
    """Median wall time of ``repeats`` fits, in seconds."""
    times = []
    for _ in range(repeats):
        reg = SpikingRNNRegressor(**PARAMS, max_epochs=epochs, n_jobs=n_jobs)
        t0 = time.perf_counter()
        if sample is None:
            reg.fit(data.X, data.y)
        else:
            reg.set_params(activity_weight=0.01, activity_kernel=kernel, activity_tau=20.0)
            reg.fit(data.X, data.y, neural_targets=data.rates[:, :, sample])
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.3, 0.6],
                   help="recorded fractions of the 200 teacher neurons (at most 0.64: 128 units)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--n-jobs", type=int, default=1)
    args = p.parse_args(argv)
    data = make_reaching_dynamics(n_conditions=8, n_trials_per_condition=16, n_null_rotations=2,
                                  random_state=100)
    n_trials, n_steps, _ = data.X.shape
    print(f"{n_trials} trials x {n_steps} steps, {PARAMS['n_hidden']} units, {args.epochs} epochs, "
          f"n_jobs={args.n_jobs}, median of {args.repeats} fits\n")
    base = fit_seconds(data, args.epochs, args.n_jobs, args.repeats)
    print("| training | recorded neurons | ms / epoch | x output only |")
    print("|---|---:|---:|---:|")
    print(f"| output only | 0 | {1000 * base / args.epochs:.1f} | 1.00 |", flush=True)
    for kernel in ("exponential", "gaussian"):
        for fraction in args.fractions:
            sample = sample_neurons(data, fraction, random_state=100)
            s = fit_seconds(data, args.epochs, args.n_jobs, args.repeats, sample, kernel)
            print(f"| activity ({kernel}, 20 ms) | {len(sample)} | {1000 * s / args.epochs:.1f} | {s / base:.2f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
