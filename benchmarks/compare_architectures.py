"""The motorSRNN comparison of issue 3 over several dataset seeds, with paired statistics.

``motorsrnn.comparison.compare_models`` (also ``python -m motorsrnn compare`` and the reproduction
notebook) runs the paper's comparison once. This script repeats it per dataset seed and says how
often motorSRNN beats each other model. For each seed, ``make_center_out(n_trials=n_train + 400,
random_state=seed)``: the first ``--n-train`` trials train, the last 400 test (as in
``compare_decoders.py``). Models: ``comparison.default_models(n_hidden=128, max_epochs=40,
random_state=seed)`` (motorSRNN with fixed feedback, its trainable-feedback and no-feedback
ablations, the single-population SRNN, the feedforward fSNN, Poisson naive Bayes, logistic
regression on counts), with ``--snn-params`` applied to every spiking model;
``--all-modules-variant`` adds ``preset("motorsrnn", read_out=("M1", "PM", "Out"))``, whose readout
also reads M1 and PM; ``--gru`` and ``--lstm`` add ``baselines.GRUClassifier`` and
``baselines.LSTMClassifier`` with 128 units and 40 epochs (PyTorch), with ``--rnn-params`` applied
to both. Measured per model:

- test accuracy;
- early classification: accuracy after the first 10 and 25 ms of the window (each model's own
  prefix decoding: the running mean of the readout for SNNs, the per-bin logits of the GRU and the
  LSTM, refitted on prefixes otherwise), and
  the mean of the curve over 5, 10, ..., 50 ms;
- robustness: accuracy with 40 Hz of Poisson noise spikes added to every test channel;
- for the spiking models, the energy ratio GRU / SNN of ``analysis.energy``;
- accuracy on the training trials (or samples), to show overfitting.

Prints per-seed rows, a Markdown table of mean +/- sd and, for motorSRNN against each other model,
on how many seeds it is better, the mean difference and a one-sided Wilcoxon signed-rank p; then
the same for every model against the count decoders in accuracy after 10 ms.

    python benchmarks/compare_architectures.py [--seeds 0 1 2 3 4] [--n-train 2000]
        [--snn-params '{"readout": "last", "weight_decay": 0.01}'] [--all-modules-variant]
        [--cut START STOP] [--gru] [--lstm] [--rnn-params '{"early_stopping": true}'] [--n-jobs 2]

``--cut 100 400`` follows the paper's protocol instead: each trial covers the movement-related
response (100-400 ms after target onset with the generator's defaults) and is cut into six
consecutive 50 ms samples, each labelled with the trial's direction (``io.cut_samples``). The first
``--n-train`` trials' samples train and the last 400 trials' samples test.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
from scipy.stats import wilcoxon
from sklearn.exceptions import ConvergenceWarning

from motorsrnn import SpikingRNNClassifier
from motorsrnn.baselines import GRUClassifier, LSTMClassifier
from motorsrnn.comparison import center_out_samples, check_cut, compare_models, default_models
from motorsrnn.datasets import make_center_out
from motorsrnn.topology import preset

NOISE_HZ = 40.0
METRICS = [("accuracy", "test accuracy"), ("early_10", "accuracy at 10 ms"), ("early_25", "accuracy at 25 ms"),
           ("early_mean", "mean of the early curve"), ("noise", f"accuracy with {NOISE_HZ:g} Hz noise"),
           ("ratio_gru", "energy GRU / SNN"), ("train_accuracy", "training accuracy")]


def one_seed(seed, n_train, snn_params, n_jobs, all_modules=False, cut=None, gru=False, rnn_params=None,
             lstm=False):
    """Run the comparison on one dataset seed; returns {model: {metric: value}}.

    ``cut=(start, stop)``: each trial covers ``start``-``stop`` ms after target onset and is cut
    into consecutive 50 ms samples (``io.cut_samples``); the samples of the first ``n_train``
    trials train, those of the last 400 test, so no trial has samples on both sides; with
    ``early_stopping`` the validation set holds out whole trials too (``fit(..., groups=)``).
    """
    groups = None
    if cut is None:
        data = make_center_out(n_trials=n_train + 400, random_state=seed)
        X, y = data.X, data.y
    else:
        s = center_out_samples(n_train + 400, *cut, random_state=seed)
        X, y = s.X, s.y
        n_train *= s.n_per_trial
        groups = s.trial[:n_train]  # early stopping, if on, holds out whole trials
    models = default_models(128, max_epochs=40, random_state=seed, n_jobs=n_jobs, gru=gru, lstm=lstm)
    if all_modules:
        models["motorSRNN, all modules read out"] = SpikingRNNClassifier(
            architecture=preset("motorsrnn", 128, read_out=("M1", "PM", "Out")), max_epochs=40,
            random_state=seed, n_jobs=n_jobs)
    for est in models.values():
        if isinstance(est, SpikingRNNClassifier):
            est.set_params(**snn_params)
        elif isinstance(est, (GRUClassifier, LSTMClassifier)):
            est.set_params(**(rnn_params or {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = compare_models(X[:n_train], y[:n_train], X[n_train:], y[n_train:], models,
                             noise_rates=(0.0, NOISE_HZ), random_state=seed, groups=groups)
    out = {}
    for row in res.table:
        name = row["model"]
        curve = res.early[name]
        at = lambda ms: float(curve.accuracy[int(np.argmin(np.abs(np.asarray(curve.times) - ms)))])  # noqa: E731
        out[name] = dict(accuracy=row["accuracy"], early_10=at(10.0), early_25=at(25.0),
                         early_mean=float(np.mean(curve.accuracy)), noise=res.noise[name][1],
                         ratio_gru=row.get("ratio_gru", float("nan")),
                         train_accuracy=float(res.fitted[name].score(X[:n_train], y[:n_train])))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--snn-params", type=json.loads, default={},
                   help="JSON dict of SpikingRNNClassifier parameters for every spiking model")
    p.add_argument("--all-modules-variant", action="store_true",
                   help="add a motorSRNN whose readout reads M1 and PM as well as Out")
    p.add_argument("--cut", type=int, nargs=2, metavar=("START", "STOP"),
                   help="trials from START to STOP ms after target onset, cut into consecutive 50 ms "
                        "samples (the paper's protocol), instead of one 50 ms window per trial at the "
                        "response peak; split by trial")
    p.add_argument("--gru", action="store_true",
                   help="add a 128-unit GRU decoder, 40 epochs (needs PyTorch: pip install \"motorsrnn[gru]\")")
    p.add_argument("--lstm", action="store_true", help="add a 128-unit LSTM decoder, 40 epochs (PyTorch)")
    p.add_argument("--rnn-params", type=json.loads, default={},
                   help="JSON dict of parameters of the GRU and the LSTM, e.g. '{\"early_stopping\": true}'")
    p.add_argument("--n-jobs", type=int, default=2)
    args = p.parse_args(argv)
    if args.cut:
        try:
            check_cut(*args.cut)
        except ValueError as e:
            p.error(f"--cut: {e}")
    what = (f"trials of {args.cut[0]}-{args.cut[1]} ms cut into 50 ms samples" if args.cut
            else "one 50 ms window per trial")
    print(f"seeds {args.seeds}, {args.n_train} training / 400 test trials ({what}), SNN parameters "
          f"{args.snn_params or 'defaults'}" + (f", GRU/LSTM parameters {args.rnn_params}" if args.rnn_params else "")
          + "\n")
    results = {}
    for seed in args.seeds:
        t0 = time.perf_counter()
        results[seed] = one_seed(seed, args.n_train, args.snn_params, args.n_jobs, args.all_modules_variant,
                                 args.cut, args.gru, args.rnn_params, args.lstm)
        print(f"seed {seed} ({time.perf_counter() - t0:.0f} s): " + ", ".join(
            f"{m} {r['accuracy']:.3f}" for m, r in results[seed].items()), flush=True)
    names = list(results[args.seeds[0]])
    value = lambda m, k: np.array([results[s][m][k] for s in args.seeds])  # noqa: E731
    print("\nMean ± sd over seeds.\n")
    print("| model | " + " | ".join(title for _, title in METRICS) + " |")
    print("|---|" + "---:|" * len(METRICS))
    for m in names:
        cells = []
        for key, _ in METRICS:
            v = value(m, key)
            cells.append("-" if np.all(np.isnan(v)) else f"{v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:.3f}")
        print(f"| {m} | " + " | ".join(cells) + " |")
    print("\nmotorSRNN against each model (paired by seed; higher is better for every metric here).\n")
    print("| against | metric | motorSRNN better | mean difference | one-sided Wilcoxon p |")
    print("|---|---|---:|---:|---:|")
    for other in names:
        if other == "motorSRNN":
            continue
        for key, title in METRICS[:5]:
            d = value("motorSRNN", key) - value(other, key)
            pval = wilcoxon(d, alternative="greater").pvalue if len(d) > 1 and np.any(d) else float("nan")
            print(f"| {other} | {title} | {int(np.sum(d > 0))}/{len(d)} | {d.mean():+.3f} | {pval:.3f} |")
    counts = [m for m in ("Poisson naive Bayes", "logistic regression") if m in names]
    print("\nEarly classification: each other model against the count decoders after 10 ms (paired by seed).\n")
    print("| model | against | better | mean difference | one-sided Wilcoxon p |")
    print("|---|---|---:|---:|---:|")
    for m in names:
        if m in counts:
            continue
        for c in counts:
            d = value(m, "early_10") - value(c, "early_10")
            pval = wilcoxon(d, alternative="greater").pvalue if len(d) > 1 and np.any(d) else float("nan")
            print(f"| {m} | {c} | {int(np.sum(d > 0))}/{len(d)} | {d.mean():+.3f} | {pval:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
