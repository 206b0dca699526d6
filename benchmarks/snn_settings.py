"""Which SpikingRNNClassifier settings come closest to the count baselines on make_center_out?

One dataset seed, ``make_center_out(n_trials=2400, random_state=seed)``: the first 2000 trials
train, the last 400 test (as in ``compare_decoders.py``). Prints, for Poisson naive Bayes, logistic
regression on counts, and each SNN setting below: test accuracy, training accuracy (how much the
network overfits), the hidden population's mean rate on the test trials after fitting (a network
that ran away fires at hundreds of Hz), and the fit time. See docs/decoding.md.

    python benchmarks/snn_settings.py            # seed 0, every setting (a few minutes on 2 cores)
    python benchmarks/snn_settings.py --seed 1 --settings default last+wd
    python benchmarks/snn_settings.py --seeds 0 1 2 3 --settings counting   # + a table of means
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from motorsrnn import COUNTING, PoissonNaiveBayes, SpikingRNNClassifier
from motorsrnn.baselines import SpikeCountTransformer
from motorsrnn.datasets import make_center_out
from motorsrnn.topology import preset

SETTINGS = {
    "default": {},
    "last": dict(readout="last"),
    "last+wd": dict(readout="last", weight_decay=1e-2),
    "last+wd+80 epochs": dict(readout="last", weight_decay=1e-2, max_epochs=80),
    "last+wd 3e-2": dict(readout="last", weight_decay=3e-2),
    "last+trained taus": dict(readout="last", train_time_constants=True),
    "last+taus 50 ms": dict(readout="last", tau_mem=50.0, tau_out=50.0),
    "last+early stopping": dict(readout="last", early_stopping=True),
    "last+wd, 64 units": dict(readout="last", weight_decay=1e-2, n_hidden=64),
    "last, lr 1e-3": dict(readout="last", learning_rate=1e-3),
    "last, 256 units": dict(readout="last", n_hidden=256),
    "last, 256 units, lr 1e-3": dict(readout="last", n_hidden=256, learning_rate=1e-3),
    "fsnn, last+wd": dict(architecture="fsnn", readout="last", weight_decay=1e-2),
    "motorsrnn, last+wd": dict(architecture="motorsrnn", readout="last", weight_decay=1e-2),
}


def input_step(scale, n_hidden=128):
    """The srnn preset with the input projection's step size multiplied by ``scale``."""
    top = preset("srnn", n_hidden)
    return dataclasses.replace(top, projections=[
        dataclasses.replace(q, lr_scale=scale) if q.source == "input" else q for q in top.projections])


# tried later (docs/decoding.md, "More attempts"); run with --settings NAME ...
MORE = {
    "last, 20 epochs": dict(readout="last", max_epochs=20),
    "last+wd, 20 epochs": dict(readout="last", weight_decay=1e-2, max_epochs=20),
    "last+wd, rate 30-100 Hz, tau_out 300": dict(readout="last", weight_decay=1e-2, tau_out=300.0,
                                                 rate_weight=1000.0, rate_bounds=(30.0, 100.0)),
    "last+wd, rate 60-150 Hz, tau_out 300": dict(readout="last", weight_decay=1e-2, tau_out=300.0,
                                                 rate_weight=1e4, rate_bounds=(60.0, 150.0)),
    "last+wd, tau_out 100": dict(readout="last", weight_decay=1e-2, tau_out=100.0),
    "last+wd, tau_out 300, output_scale 0.07": dict(readout="last", weight_decay=1e-2, tau_out=300.0,
                                                    output_scale=0.07),
    "last+wd, tau_out 1000, output_scale 0.02": dict(readout="last", weight_decay=1e-2, tau_out=1000.0,
                                                     output_scale=0.02),
    "taus 50 ms, scales / 25": dict(tau_syn=50.0, tau_mem=50.0, tau_out=50.0, weight_decay=1e-2,
                                    input_scale=0.02, recurrent_scale=0.004),
    "last+wd, 32 units": dict(readout="last", weight_decay=1e-2, n_hidden=32),
    "last+wd, input_scale 0.25": dict(readout="last", weight_decay=1e-2, input_scale=0.25),
    "last, 256 units, one learning rate": dict(readout="last", n_hidden=256, recurrent_lr_scale=1.0),
    "defaults, one learning rate": dict(recurrent_lr_scale=1.0),
    # third session of 2026-11-23 (docs/decoding.md, "More attempts"): run on seeds 0, 1 and 2
    "last, surrogate slope 100": dict(readout="last", surrogate_slope=100.0),
    "last, surrogate slope 200": dict(readout="last", surrogate_slope=200.0),
    "last+wd, input step x 0.1": dict(readout="last", weight_decay=1e-2, architecture=input_step(0.1)),
    "last, input weights fixed": dict(readout="last", architecture=input_step(0.0)),
    "last+wd, integrators, rate 30-100 Hz": dict(readout="last", weight_decay=1e-2, tau_mem=1000.0,
                                                  tau_out=1000.0, output_scale=0.02, rate_weight=1000.0,
                                                  rate_bounds=(30.0, 100.0)),
    "last, surrogate slope 200, early stopping": dict(readout="last", surrogate_slope=200.0,
                                                      early_stopping=True),
}

# fourth session (docs/decoding.md, "A counting configuration"): hidden units without memory
# (tau_syn 0, tau_mem 0.1 ms, reset to zero) respond to the spikes of the current bin only, and a
# readout without leak (tau_out 1e6 ms, readout="last") sums their spikes over the window. For sparse
# input the logits are then close to a linear function of the window's counts, with the same weight
# for a spike anywhere in the window (motorsrnn.COUNTING). Run on seeds 0-3 with --seeds 0 1 2 3.
MORE.update({
    "counting": COUNTING,
    "counting, surrogate slope 5": dict(COUNTING, surrogate_slope=5.0),
    "counting, surrogate slope 5, 10 epochs": dict(COUNTING, surrogate_slope=5.0, max_epochs=10),
    "counting, surrogate slope 5, early stopping": dict(COUNTING, surrogate_slope=5.0, early_stopping=True),
    "counting, 32 units": dict(COUNTING, n_hidden=32),
    "counting, surrogate slope 5, adam, weight decay 1e-4": dict(COUNTING, surrogate_slope=5.0, weight_decay=1e-4),
    "counting, surrogate slope 5, adamw, weight decay 1": dict(COUNTING, surrogate_slope=5.0, optimizer="adamw",
                                                                weight_decay=1.0),
})
# sixth session (docs/decoding.md, "Spike-time augmentation"): the input spikes of every training
# trial moved anew in each epoch (spike_jitter), counts kept. Run on seeds 0 1 with --n-train 400
# and 2000; the chosen setting was then evaluated on fresh seeds with compare_decoders.py.
MORE.update({
    "default, shuffle": dict(spike_jitter="shuffle"),
    "last, shuffle": dict(readout="last", spike_jitter="shuffle"),
    "last, jitter 5 ms": dict(readout="last", spike_jitter=5.0),
    "counting, shuffle": dict(COUNTING, spike_jitter="shuffle"),
    "counting, jitter 10 ms": dict(COUNTING, spike_jitter=10.0),
    "counting, shuffle, 20 epochs": dict(COUNTING, spike_jitter="shuffle", max_epochs=20),
    "counting, shuffle, 100 epochs": dict(COUNTING, spike_jitter="shuffle", max_epochs=100),
    "counting, shuffle, early stopping, 200 epochs": dict(COUNTING, spike_jitter="shuffle", early_stopping=True,
                                                           max_epochs=200),
    "default, shuffle, 100 epochs": dict(spike_jitter="shuffle", max_epochs=100),
    "counting, shuffle, surrogate slope 5": dict(COUNTING, spike_jitter="shuffle", surrogate_slope=5.0),
    "counting, shuffle, 256 units": dict(COUNTING, spike_jitter="shuffle", n_hidden=256),
    "motorsrnn, counting, shuffle": dict(COUNTING, architecture="motorsrnn", spike_jitter="shuffle"),
    "motorsrnn read out from all modules, counting, shuffle": dict(
        COUNTING, architecture=preset("motorsrnn", read_out=("M1", "PM", "Out")), spike_jitter="shuffle"),
    "srnn, counting, shuffle": dict(COUNTING, architecture="srnn", spike_jitter="shuffle"),
    "fsnn, last+wd, shuffle": dict(architecture="fsnn", readout="last", weight_decay=1e-2, spike_jitter="shuffle"),
    "motorsrnn, last+wd, shuffle": dict(architecture="motorsrnn", readout="last", weight_decay=1e-2,
                                        spike_jitter="shuffle"),
})
ALL = {**SETTINGS, **MORE}


def prep_switch(n_trials, seed):
    """A variant of ``make_center_out`` in which spike timing inside the window is informative.

    96 neurons (baselines U(5, 20) Hz, depths U(2, 8) Hz, 80 % tuned), 4 directions, 50 x 1 ms.
    Each neuron has a preparatory and an independent movement preferred direction, and switches
    from the first to the second at a time drawn per trial from N(25 ms, 10 ms) (a sigmoid of
    3 ms): the count mixes both tunings, the timing separates them. Poisson spikes. Not part of
    the package; docs/decoding.md, "More attempts".
    """
    rng = np.random.default_rng(seed)
    n, T = 96, 50
    b = rng.uniform(5, 20, n)
    m = rng.uniform(2, 8, n) * (rng.random(n) < 0.8)
    pd_move, pd_prep = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 2 * np.pi, n)
    y = rng.permutation(np.arange(n_trials) % 4)
    theta = y * np.pi / 2
    switch = 25 + rng.normal(0, 10, n_trials)
    s = 1 / (1 + np.exp(-((np.arange(T) + 0.5)[None, :] - switch[:, None]) / 3.0))[:, :, None]
    th = theta[:, None, None]
    rate = b + m * (s * np.cos(th - pd_move) + (1 - s) * np.cos(th - pd_prep))
    X = rng.poisson(np.maximum(rate, 0) / 1000).astype(np.uint8)
    return X, y


def run_seed(seed, args, override):
    """Prints one seed's table; returns logistic regression's and each setting's test accuracy."""
    n = args.n_train
    if args.generator == "center-out":
        data = make_center_out(n_trials=n + 400, random_state=seed)
        X, y = data.X, data.y
    else:
        X, y = prep_switch(n + 400, seed)
    Xtr, ytr, Xte, yte = X[:n], y[:n], X[-400:], y[-400:]
    print(f"{args.generator} seed {seed}: {n} training, 400 test trials")
    print(f"Poisson naive Bayes          test {PoissonNaiveBayes().fit(Xtr, ytr).score(Xte, yte):.3f}")
    lr = make_pipeline(SpikeCountTransformer(), LogisticRegression(max_iter=3000)).fit(Xtr, ytr)
    lr_test = lr.score(Xte, yte)
    print(f"logistic regression (counts) test {lr_test:.3f}")
    binned = lambda a: a.reshape(len(a), 5, -1, a.shape[2]).sum(axis=2).reshape(len(a), -1)  # noqa: E731
    lr5 = LogisticRegression(max_iter=3000).fit(binned(Xtr), ytr)
    print(f"logistic regression (5 x 10 ms binned counts) test {lr5.score(binned(Xte), yte):.3f}")
    print("\n| SNN setting | test accuracy | training accuracy | hidden rate (Hz) | fit (s) |")
    print("|---|---:|---:|---:|---:|")
    tests = {}
    for name in args.settings:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # the rate column shows run-aways
            clf = SpikingRNNClassifier(random_state=seed, n_jobs=args.n_jobs, **{**ALL[name], **override}).fit(Xtr, ytr)
        fit_s = time.perf_counter() - t0
        rate = float(np.mean(clf.simulate(Xte)["spikes"])) * 1000.0 / clf.dt
        tests[name] = clf.score(Xte, yte)
        print(f"| {name} | {tests[name]:.3f} | {clf.score(Xtr[:2000], ytr[:2000]):.3f} | {rate:.0f} | {fit_s:.1f} |",
              flush=True)
    print()
    return lr_test, tests


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="several dataset seeds (overrides --seed); ends with a table of means")
    p.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(ALL),
                   help="default: the first 14; the others are listed in MORE")
    p.add_argument("--n-train", type=int, default=2000, help="training trials (the test set stays 400)")
    p.add_argument("--generator", choices=("center-out", "prep-switch"), default="center-out",
                   help="make_center_out (default) or the prep_switch variant of this script")
    p.add_argument("--recurrent-lr-scale", type=float, default=None,
                   help="override recurrent_lr_scale in every setting (1: one learning rate, as before it existed)")
    p.add_argument("--n-jobs", type=int, default=2)
    args = p.parse_args(argv)
    override = {} if args.recurrent_lr_scale is None else dict(recurrent_lr_scale=args.recurrent_lr_scale)
    seeds = args.seeds or [args.seed]
    runs = [run_seed(seed, args, override) for seed in seeds]
    if len(seeds) > 1:
        lr = np.array([r[0] for r in runs])
        print(f"Over seeds {' '.join(map(str, seeds))}: logistic regression (counts) {lr.mean():.3f} on average\n")
        print("| SNN setting | test accuracy (mean) | minus logistic regression (mean) | seeds above logistic regression |")
        print("|---|---:|---:|---:|")
        for name in args.settings:
            acc = np.array([r[1][name] for r in runs])
            print(f"| {name} | {acc.mean():.3f} | {np.mean(acc - lr):+.3f} | {int(np.sum(acc > lr))}/{len(seeds)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
