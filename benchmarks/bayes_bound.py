"""How much room does make_center_out leave above the count decoders? The Bayes bound, per seed.

The *oracle* decoder knows everything the generator drew: every neuron's baseline, modulation depth
and preferred direction, and each test trial's response latency. It classifies a sample by the
exact Poisson log-likelihood of its spikes under each direction,
``sum_t sum_i n_i[t] log r_i(t | k) - r_i(t | k) dt``. It is the Bayes-optimal decoder given the
spikes *and* the latency, so no decoder that sees only the spikes can do better in expectation: its
accuracy bounds what any decoder (spiking network, GRU, ...) can reach on these test samples.
Poisson naive Bayes and logistic regression on counts are fitted on the training samples as in
``compare_architectures.py``, for comparison.

Two protocols, the two of ``compare_architectures.py``:

- ``window``: one 50 ms window per trial, centred on the response peak (the generator's default);
- ``cut``: trials of 100-400 ms after target onset cut into six consecutive 50 ms samples
  (``io.cut_samples``; the paper's protocol), split by trial.

Seeds 0-4, 2000 training and 400 test trials, as in ``compare_architectures.py``; takes a few
seconds per seed.

    python benchmarks/bayes_bound.py [--seeds 0 1 2 3 4]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from motorsrnn import PoissonNaiveBayes
from motorsrnn.baselines import SpikeCountTransformer
from motorsrnn.datasets import _response_profile, direction_angles, make_center_out
from motorsrnn.io import cut_samples

N_TRAIN, N_TEST, WIDTH = 2000, 400, 50
PROTOCOLS = {"window": dict(n_timesteps=50), "cut": dict(n_timesteps=300, window_start=100.0)}


def oracle_loglik(data, trials, movement_duration=300.0):
    """Exact Poisson log-likelihood of every bin of ``trials`` under each direction.

    Returns an array (n_trials, n_timesteps, n_directions); the rate model is the one of
    ``make_center_out``'s Notes, evaluated at bin centres with the trial's own latency.
    """
    X = data.X[trials].astype(np.float64)
    t = data.times + 0.5 * data.dt
    g = _response_profile(t[None, :] - data.latencies[trials, None], movement_duration)
    out = np.empty(X.shape[:2] + (len(np.unique(data.y)),))
    for k, theta in enumerate(direction_angles(out.shape[2])):
        tuning = data.modulation_depths * np.cos(theta - data.preferred_directions)
        rate = np.maximum(0.0, data.baseline_rates + g[:, :, None] * tuning) * data.dt * 1e-3
        with np.errstate(divide="ignore", invalid="ignore"):  # a spike at rate 0 is impossible: -inf
            term = np.where(X > 0, X * np.log(rate), 0.0) - rate
        out[:, :, k] = term.sum(axis=2)
    return out


def one_seed(seed, protocol):
    data = make_center_out(n_trials=N_TRAIN + N_TEST, random_state=seed, **PROTOCOLS[protocol])
    test = np.arange(N_TRAIN, N_TRAIN + N_TEST)
    ll = oracle_loglik(data, test)
    n_per = data.X.shape[1] // WIDTH
    ll = ll.reshape(N_TEST, n_per, WIDTH, -1).sum(axis=2)  # (trials, samples, directions)
    oracle = float(np.mean(ll.argmax(-1) == data.y[test, None]))
    s = cut_samples(data.X, data.y, width=WIDTH)
    n = N_TRAIN * s.n_per_trial
    Xtr, ytr, Xte, yte = s.X[:n], s.y[:n], s.X[n:], s.y[n:]
    pnb = PoissonNaiveBayes().fit(Xtr, ytr).score(Xte, yte)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr = make_pipeline(SpikeCountTransformer(), LogisticRegression(max_iter=3000)).fit(Xtr, ytr).score(Xte, yte)
    return oracle, pnb, lr


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = p.parse_args(argv)
    print(f"seeds {args.seeds}, {N_TRAIN} training / {N_TEST} test trials; test accuracy\n")
    print("| protocol | seed | oracle (Bayes bound) | Poisson naive Bayes | logistic regression | room above PNB |")
    print("|---|---:|---:|---:|---:|---:|")
    for protocol in PROTOCOLS:
        rows = np.array([one_seed(seed, protocol) for seed in args.seeds])
        for seed, (o, b, lr) in zip(args.seeds, rows):
            print(f"| {protocol} | {seed} | {o:.3f} | {b:.3f} | {lr:.3f} | {o - b:+.3f} |")
        m = rows.mean(axis=0)
        print(f"| {protocol} | mean | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} | {m[0] - m[1]:+.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
