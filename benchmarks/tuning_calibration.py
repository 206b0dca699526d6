"""How the tuning statistics and the similarity baseline behave on simulated neurons.

Figures quoted in the docstrings of ``motorsrnn.tuning`` (``fit_cosine_tuning``,
``compare_tuning_models``) and ``motorsrnn.analysis.similarity``. Every neuron is simulated with a
known truth, many at once (the fits are vectorised over neurons):

A. False positives of the F-test (``is_tuned`` at alpha 0.05) for untuned neurons: Gaussian rates,
   and sparse Poisson counts; the share of untuned count neurons fitted exactly (p below 1e-12)
   with 4 directions x 2 trials, and their permutation p-values.
B. Coverage of the 95 % bootstrap intervals of the preferred direction and of the depth, for
   neurons tuned at 8 standard errors of the depth, by number of trials.
C. How often ``compare_tuning_models`` picks von Mises for neurons that are cosine-tuned (depth 8
   standard errors) or untuned, with AIC and BIC.
D. ``similarity`` (CCA, 10 components) of two independent populations of smooth trajectories,
   against the same with B's time bins or conditions shuffled.

Usage::

    python benchmarks/tuning_calibration.py          # = --n-neurons 2000 --seed 0 (about a minute)
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from motorsrnn.analysis import similarity
from motorsrnn.tuning import compare_tuning_models, fit_cosine_tuning


def layout(n_dirs, per_dir):
    labels = np.repeat(np.arange(n_dirs), per_dir)
    return labels, 2 * np.pi * labels / n_dirs


def tuned_rates(rng, n_dirs, per_dir, n_neurons, depth_se=8.0):
    """Gaussian rates (sd 1) around 5 with a depth of ``depth_se`` standard errors of the depth."""
    labels, theta = layout(n_dirs, per_dir)
    depth = depth_se * np.sqrt(2.0 / labels.size)
    pd = rng.uniform(0, 2 * np.pi, n_neurons)
    return labels, 5 + depth * np.cos(theta[:, None] - pd) + rng.normal(size=(labels.size, n_neurons)), pd, depth


def part_a(rng, n):
    print("A. Share of untuned neurons with is_tuned (alpha = 0.05)\n")
    print("| data | directions x trials | share tuned |")
    print("|---|---|---:|")
    for n_dirs, per_dir in ((8, 25), (4, 5)):
        labels, _ = layout(n_dirs, per_dir)
        res = fit_cosine_tuning(rng.normal(size=(labels.size, n)), labels)
        print(f"| Gaussian rates | {n_dirs} x {per_dir} | {res.is_tuned.mean():.3f} |")
    for lam, n_dirs, per_dir in ((0.1, 4, 5), (0.2, 8, 2), (0.2, 8, 20), (2.0, 8, 20)):
        labels, _ = layout(n_dirs, per_dir)
        res = fit_cosine_tuning(rng.poisson(lam, (labels.size, n)).astype(float), labels)
        print(f"| Poisson counts, {lam:g} per trial | {n_dirs} x {per_dir} | {res.is_tuned.mean():.3f} |")
    labels, _ = layout(4, 2)
    counts = rng.poisson(0.5, (labels.size, 20 * n)).astype(float)
    res = fit_cosine_tuning(counts, labels)
    exact = np.nan_to_num(res.p_value, nan=1.0) < 1e-12
    perm = fit_cosine_tuning(counts[:, exact], labels, n_perm=999, random_state=0).perm_p_value
    print(f"\nUntuned Poisson counts (0.5 per trial), 4 directions x 2 trials: {exact.mean():.4f} of "
          f"{counts.shape[1]} neurons fit exactly (p < 1e-12); their permutation p-values (999 permutations): "
          f"{np.min(perm):.3f} to {np.max(perm):.3f}\n")


def part_b(rng, n):
    print("B. Coverage of the 95 % bootstrap intervals (n_boot=500), neurons tuned at 8 standard errors\n")
    print("| directions x trials | trials | preferred direction | depth |")
    print("|---|---:|---:|---:|")
    for n_dirs, per_dir in ((4, 2), (8, 2), (8, 4), (8, 25)):
        labels, X, pd, depth = tuned_rates(rng, n_dirs, per_dir, n)
        res = fit_cosine_tuning(X, labels, n_boot=500, random_state=1)
        lo, hi = res.pd_ci.T
        covered = np.mod(pd - lo, 2 * np.pi) <= hi - lo  # the interval runs counter-clockwise from lo
        dlo, dhi = res.depth_ci.T
        print(f"| {n_dirs} x {per_dir} | {labels.size} | {covered.mean():.3f} | {((dlo <= depth) & (depth <= dhi)).mean():.3f} |")
    print()


def part_c(rng, n):
    print("C. Share of neurons for which compare_tuning_models picks von Mises\n")
    print("| truth | directions x trials | AIC | BIC |")
    print("|---|---|---:|---:|")
    for truth, depth_se in (("cosine, depth 8 SE", 8.0), ("untuned", 0.0)):
        for n_dirs, per_dir in ((8, 12), (8, 100)):
            labels, X, _, _ = tuned_rates(rng, n_dirs, per_dir, n // 4, depth_se)
            share = {c: np.mean(compare_tuning_models(X, labels, criterion=c).best == "von_mises")
                     for c in ("aic", "bic")}
            print(f"| {truth} | {n_dirs} x {per_dir} | {share['aic']:.3f} | {share['bic']:.3f} |")
    print()


def smooth_population(rng, n_conditions=8, n_timesteps=100, n_units=60, sigma=10.0):
    """Rates of ``n_units`` driven by a 6-dimensional smooth latent (Gaussian kernel, ``sigma`` bins)."""
    t = np.arange(-4 * int(sigma), 4 * int(sigma) + 1)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    noise = rng.normal(size=(n_conditions, n_timesteps + len(t) - 1, 6))
    latent = np.stack([[np.convolve(noise[c, :, d], kernel, mode="valid") for d in range(6)]
                       for c in range(n_conditions)]).transpose(0, 2, 1)
    return np.tanh(latent @ rng.normal(size=(6, n_units)) / 2) + 1


def part_d(rng, reps=20):
    print("D. CCA (10 components) of two independent populations of smooth trajectories "
          f"(8 conditions x 100 bins x 60 units, {reps} draws)\n")
    print("| B | mean score | range |")
    print("|---|---:|---|")
    scores = {"independent": [], "time bins shuffled": [], "conditions shuffled": []}
    for _ in range(reps):
        A, B = smooth_population(rng), smooth_population(rng)
        scores["independent"].append(similarity(A, B, n_components=10).score)
        scores["time bins shuffled"].append(similarity(A, B[:, rng.permutation(B.shape[1])], n_components=10).score)
        scores["conditions shuffled"].append(similarity(A, B[rng.permutation(B.shape[0])], n_components=10).score)
    for name, v in scores.items():
        print(f"| {name} | {np.mean(v):.3f} | {np.min(v):.3f}-{np.max(v):.3f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-neurons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the few-trial and exact-fit warnings are what part A measures
        part_a(rng, args.n_neurons)
        part_b(rng, args.n_neurons)
        part_c(rng, args.n_neurons)
        part_d(rng)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
