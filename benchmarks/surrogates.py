"""The four surrogate derivatives in the default recurrent network: accuracy and gradient growth.

docs/model.md ("Surrogates in recurrent networks"). For each surrogate and slope, a
``SpikingRNNClassifier`` with every other parameter at its default (128 recurrent units) is
trained on ``make_center_out`` trials of ``T`` 1 ms bins (the first ``--n-train`` trials of one
call; the next ``--n-test`` test), for ``--epochs`` epochs, on each dataset seed. Printed per
surrogate, slope and window: the area of the surrogate (its integral over ``v``), the test
accuracy (mean over seeds), the largest epoch gradient norm before clipping over the fits, the
largest ratio of an epoch's gradient norm to the square root of its loss (what ``fit``'s
"the gradient exploded through time" warning compares with 1e4), and on how many fits the warning
came. Then the same ratio for ``SpikingRNNRegressor`` on ``make_reaching_dynamics`` with its
targets as generated and multiplied by 100 (healthy fits whose gradients are large because the
targets are). Usage::

    python benchmarks/surrogates.py                  # = --seeds 0 1 2 --windows 50 200 --epochs 15
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from motorsrnn import SpikingRNNClassifier, SpikingRNNRegressor
from motorsrnn.datasets import make_center_out, make_reaching_dynamics

# (surrogate, slope, area): None is the default slope (25, 2, 25, 25 for the four)
SETTINGS = [
    ("fast_sigmoid", None, 2 / 25),
    ("triangle", None, 1 / 25),
    ("triangle", 5.0, 1 / 5),
    ("triangle", 1.0, 1.0),
    ("arctan", None, 1.0),
    ("arctan", 50.0, 1.0),
    ("sigmoid", None, 1.0),
    ("sigmoid", 4.0, 1.0),
]


def ratio(history):
    """Largest ``grad_norm / sqrt(loss)`` over the epochs (the warning's criterion)."""
    return max(h["grad_norm"] / np.sqrt(max(h["loss"], 1e-12)) for h in history)


def fit_one(surrogate, slope, data, n_train, n_test, epochs, seed):
    clf = SpikingRNNClassifier(surrogate=surrogate, surrogate_slope=slope, max_epochs=epochs, random_state=seed,
                               n_jobs=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(data.X[:n_train], data.y[:n_train])
    warned = any("exploded through time" in str(w.message) for w in caught)
    test = slice(n_train, n_train + n_test)
    return clf.score(data.X[test], data.y[test]), max(h["grad_norm"] for h in clf.history_), ratio(clf.history_), warned


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--windows", type=int, nargs="+", default=[50, 200], help="trial lengths T in 1 ms bins")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--n-train", type=int, default=400)
    parser.add_argument("--n-test", type=int, default=200)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"Test accuracy after {args.epochs} epochs, mean over seeds {' '.join(map(str, args.seeds))} "
          f"({args.n_train} training and {args.n_test} test trials of make_center_out, 4 directions; chance 0.25)\n")
    print("| surrogate | slope | area | T (ms) | test accuracy | largest gradient norm | largest norm / sqrt(loss) "
          "| warned |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for T in args.windows:
        data = {s: make_center_out(n_trials=args.n_train + args.n_test, n_timesteps=T, random_state=s)
                for s in args.seeds}
        for surrogate, slope, area in SETTINGS:
            runs = [fit_one(surrogate, slope, data[s], args.n_train, args.n_test, args.epochs, s) for s in args.seeds]
            acc, norm, rat, warned = zip(*runs)
            shown = "default" if slope is None else f"{slope:g}"
            print(f"| {surrogate} | {shown} | {area:.2g} | {T} | {np.mean(acc):.3f} | {max(norm):.3g} | "
                  f"{max(rat):.3g} | {sum(warned)}/{len(runs)} |", flush=True)
    print("\nRegressor (fast_sigmoid), make_reaching_dynamics, 10 epochs: largest norm / sqrt(loss)")
    for scale in (1, 100):
        worst = 0.0
        for s in args.seeds:
            d = make_reaching_dynamics(random_state=s)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the x100 targets' advice to standardise them
                reg = SpikingRNNRegressor(max_epochs=10, random_state=s, n_jobs=1).fit(d.X, d.y * scale)
            worst = max(worst, ratio(reg.history_))
        print(f"- targets x {scale}: {worst:.3g}")
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
