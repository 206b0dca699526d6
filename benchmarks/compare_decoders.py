"""Compare the spiking RNN with count-based decoders on synthetic centre-out data.

For each dataset seed, one ``make_center_out(n_trials=max(n_train) + n_test, random_state=seed)``
call generates every trial (the neurons' baselines, tuning and preferred directions depend on the
seed, so train and test must come from the same call); the last ``n_test`` trials are the test set
and the first ``n_train`` trials the training set, for each training-set size. The script prints,
as Markdown, the mean +/- sd (over seeds, ddof=1) of the test accuracy of

- chance (1 / number of directions),
- Poisson naive Bayes on the window's spike counts,
- logistic regression on the window's spike counts,
- ``SpikingRNNClassifier()`` with its defaults (``readout="mean"``),
- ``SpikingRNNClassifier(readout="last")``,
- ``SpikingRNNClassifier(**COUNTING, spike_jitter="shuffle")``: the counting configuration (no
  memory in the hidden units, a non-leaking readout summed over the window; docs/decoding.md)
  trained on input spikes redrawn uniformly within the window in every epoch,

and the SNN fit times; the paired comparison, seed by seed, of the last SNN with logistic
regression (mean difference, seeds won, one-sided Wilcoxon signed-rank p for "the SNN is better"); then four diagnostic linear decoders (logistic regression on the counts with its
inverse regularisation ``C`` chosen by 5-fold cross-validation on the training set, on 5 x 10 ms
binned counts, and on counts weighted by the effective spike kernel of each readout), and the kernel itself:
the weight with which a spike in time bin ``k`` reaches the logits through the linearised chain
synapse (``alpha``) -> membrane (``beta``) -> readout (``beta_o``), averaged over ``t`` (``"mean"``)
or taken at ``T - 1`` (``"last"``), normalised to a maximum of 1.

    python benchmarks/compare_decoders.py                    # seeds 0 1 2, 400 and 2000 trials
    python benchmarks/compare_decoders.py --quick            # seed 0, 400 trials
    python benchmarks/compare_decoders.py --seeds 0 1 2 3 4 --n-train 400 1000 2000
    python benchmarks/compare_decoders.py --seeds 10 11 12 13 14 15 16 17 18 19   # the evaluation seeds

Progress goes to stderr, the tables to stdout. See docs/decoding.md for a measured run.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings

import numpy as np
from scipy.stats import wilcoxon
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.pipeline import make_pipeline

from motorsrnn import COUNTING, PoissonNaiveBayes, SpikingRNNClassifier
from motorsrnn.baselines import SpikeCountTransformer
from motorsrnn.datasets import make_center_out


SNNS = {"mean": {}, "last": {"readout": "last"}, "shuffle": dict(COUNTING, spike_jitter="shuffle")}


def spike_kernel(n_timesteps, dt=1.0, tau_syn=5.0, tau_mem=20.0, tau_out=20.0):
    """Response of O[t] to one input unit at t = 0 in the linearised dynamics.

    ``I`` is a geometric filter with ratio ``alpha``, ``U`` filters ``I`` with ``beta`` and ``O``
    filters ``U`` (standing in for the spikes, i.e. linearised) with ``beta_o``, so the kernel is the
    convolution of the three geometric sequences. Returns ``h`` of length ``n_timesteps``.
    """
    n = np.arange(n_timesteps, dtype=np.float64)
    alpha = np.exp(-dt / tau_syn) if tau_syn > 0 else 0.0
    beta = np.exp(-dt / tau_mem)
    beta_o = np.exp(-dt / tau_out)
    h = np.convolve(alpha**n, beta**n)[:n_timesteps]
    return np.convolve(h, beta_o**n)[:n_timesteps]


def readout_weights(n_timesteps, **taus):
    """Effective weight of a spike in bin k in the logits, for readouts "mean" and "last" (max 1)."""
    h = spike_kernel(n_timesteps, **taus)
    T = n_timesteps
    # "mean": (1/T) sum_{t=k}^{T-1} h[t-k];  "last": h[T-1-k]
    mean = np.array([h[: T - k].sum() for k in range(T)]) / T
    last = h[::-1].copy()
    return {"mean": mean / mean.max(), "last": last / last.max()}


class _Features:
    """Stateless feature maps for the diagnostic logistic regressions."""

    @staticmethod
    def binned(X, width=10):
        n, T, c = X.shape
        nb = T // width
        return X[:, : nb * width].reshape(n, nb, width, c).sum(axis=2, dtype=np.float64).reshape(n, nb * c)

    @staticmethod
    def weighted(X, w):
        return np.einsum("ntc,t->nc", X, w.astype(np.float64), optimize=True)


def logreg():
    return LogisticRegression(max_iter=3000)


def run(args):
    n_test = args.n_test
    sizes = sorted(set(args.n_train))
    names = [
        "chance",
        "Poisson naive Bayes (counts)",
        "logistic regression (counts)",
        'SpikingRNNClassifier() (readout="mean")',
        'SpikingRNNClassifier(readout="last")',
        'SpikingRNNClassifier(**COUNTING, spike_jitter="shuffle")',
    ]
    diag_names = [
        "logistic regression (counts), C by 5-fold CV (LogisticRegressionCV)",
        "logistic regression, 5 x 10 ms binned counts",
        'logistic regression, counts weighted by the "mean" kernel',
        'logistic regression, counts weighted by the "last" kernel',
    ]
    acc = {(m, n): [] for m in names + diag_names for n in sizes}
    fit_time = {(m, n): [] for m in SNNS for n in sizes}
    t_start = time.perf_counter()
    weights = None
    for seed in args.seeds:
        data = make_center_out(n_trials=max(sizes) + n_test, random_state=seed)
        X, y = data.X, data.y
        X_te, y_te = X[-n_test:], y[-n_test:]
        n_classes = len(np.unique(y))
        if weights is None:
            weights = readout_weights(X.shape[1], dt=data.dt)
        for n in sizes:
            X_tr, y_tr = X[:n], y[:n]
            acc["chance", n].append(1.0 / n_classes)
            acc[names[1], n].append(PoissonNaiveBayes().fit(X_tr, y_tr).score(X_te, y_te))
            pipe = make_pipeline(SpikeCountTransformer(), logreg())
            acc[names[2], n].append(pipe.fit(X_tr, y_tr).score(X_te, y_te))
            for name, (key, kw) in zip(names[3:], SNNS.items()):  # the first one is the true defaults
                clf = SpikingRNNClassifier(random_state=seed, n_jobs=args.n_jobs, **kw)
                t0 = time.perf_counter()
                clf.fit(X_tr, y_tr)
                fit_time[key, n].append(time.perf_counter() - t0)
                acc[name, n].append(clf.score(X_te, y_te))
            # is the default C the reason logistic regression trails naive Bayes? Cs: 1e-4 .. 1e4
            cv = make_pipeline(SpikeCountTransformer(),
                               LogisticRegressionCV(Cs=10, cv=5, scoring="accuracy", max_iter=3000))
            with warnings.catch_warnings():  # scikit-learn 1.9 announces changes of other defaults
                warnings.simplefilter("ignore", FutureWarning)
                acc[diag_names[0], n].append(cv.fit(X_tr, y_tr).score(X_te, y_te))
            f = _Features.binned
            acc[diag_names[1], n].append(logreg().fit(f(X_tr), y_tr).score(f(X_te), y_te))
            for name, ro in ((diag_names[2], "mean"), (diag_names[3], "last")):
                w = weights[ro]
                f = _Features.weighted
                acc[name, n].append(logreg().fit(f(X_tr, w), y_tr).score(f(X_te, w), y_te))
            print(
                f"seed {seed}, n_train {n}: "
                + ", ".join(f"{acc[m, n][-1]:.3f}" for m in names[1:])
                + f" ({time.perf_counter() - t_start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    return names, diag_names, sizes, acc, fit_time, weights, time.perf_counter() - t_start


def fmt(values, digits=3):
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return f"{v.mean():.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def paired(a, b):
    """Mean of a - b, seeds where a > b, and the one-sided Wilcoxon signed-rank p for a > b."""
    d = np.asarray(a) - np.asarray(b)
    wins = f"{d.mean():+.3f}, {int((d > 0).sum())}/{len(d)}"
    if len(d) < 5:
        return wins + ", p: fewer than 5 seeds"
    if not np.any(d):  # no difference: no test
        return wins
    return wins + f", p = {wilcoxon(d, alternative='greater').pvalue:.3f}"


def report(args, names, diag_names, sizes, acc, fit_time, weights, elapsed):
    seeds = " ".join(str(s) for s in args.seeds)
    out = []
    out.append(
        f"Test accuracy on {args.n_test} held-out trials, mean ± sd over dataset seeds {seeds} "
        f"(make_center_out defaults: 96 channels, 4 directions, 50 x 1 ms window at the response peak)."
    )
    out.append("")
    out.append("| decoder | " + " | ".join(f"{n} training trials" for n in sizes) + " |")
    out.append("|---|" + "---|" * len(sizes))
    for m in names:
        out.append(f"| {m} | " + " | ".join(fmt(acc[m, n]) for n in sizes) + " |")
    for key, label in zip(SNNS, ('readout="mean"', 'readout="last"', 'COUNTING, spike_jitter="shuffle"')):
        out.append(
            f"| SNN fit time, {label} (s, n_jobs={args.n_jobs}) | "
            + " | ".join(fmt(fit_time[key, n], 1) for n in sizes)
            + " |"
        )
    out.append("")
    out.append(f"Paired over the {len(args.seeds)} seeds: {names[5]} minus")
    out.append("")
    out.append("| baseline | " + " | ".join(f"{n} training trials" for n in sizes) + " |")
    out.append("|---|" + "---|" * len(sizes))
    for base in (names[2], diag_names[0], names[1]):
        out.append(f"| {base} | " + " | ".join(paired(acc[names[5], n], acc[base, n]) for n in sizes) + " |")
    out.append("")
    out.append("(mean difference; seeds on which the SNN is better / all seeds; one-sided Wilcoxon p for \"better\")")
    out.append("")
    out.append("Diagnostics (same splits): linear decoders of other summaries of the window.")
    out.append("")
    out.append("| decoder | " + " | ".join(f"{n} training trials" for n in sizes) + " |")
    out.append("|---|" + "---|" * len(sizes))
    for m in diag_names:
        out.append(f"| {m} | " + " | ".join(fmt(acc[m, n]) for n in sizes) + " |")
    out.append("")
    T = len(weights["mean"])
    bins = list(range(0, T, 5)) + ([T - 1] if (T - 1) % 5 else [])
    out.append(
        "Effective weight of an input spike in bin t on the logits (linearised synapse -> membrane -> "
        "readout chain, tau_syn 5, tau_mem 20, tau_out 20 ms; normalised to max 1):"
    )
    out.append("")
    out.append("| t (ms) | " + " | ".join(str(b) for b in bins) + " |")
    out.append("|---|" + "---|" * len(bins))
    for ro in ("mean", "last"):
        out.append(f'| readout="{ro}" | ' + " | ".join(f"{weights[ro][b]:.2f}" for b in bins) + " |")
    out.append("")
    out.append(
        f"Total {elapsed:.0f} s on {platform.machine()}, Python {platform.python_version()}, "
        f"SNN n_jobs={args.n_jobs}."
    )
    print("\n".join(out))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="dataset seeds (default 0 1 2)")
    parser.add_argument(
        "--n-train", type=int, nargs="+", default=[400, 2000], help="training-set sizes (default 400 2000)"
    )
    parser.add_argument("--n-test", type=int, default=400, help="held-out test trials (default 400)")
    parser.add_argument("--n-jobs", type=int, default=2, help="threads for the SNN (default 2)")
    parser.add_argument("--quick", action="store_true", help="seed 0 and 400 training trials only")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.n_train = [0], [400]
    if min(args.n_train) < 4 or args.n_test < 4:
        parser.error("--n-train and --n-test must be at least 4 (one trial per direction)")
    report(args, *run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
