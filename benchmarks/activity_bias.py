"""Where is the activity-matching term smallest? The firing rate of a matched unit that minimises
the expected term, against the recorded rate it is matched to.

The term of ``docs/model.md`` compares a unit's filtered spikes ``r_hat`` with the recorded rate
``R``. ``r_hat`` fluctuates from spike to spike, and that variance, which grows with the rate,
is part of the squared error: the term is not smallest at ``rate = R``. With
``activity_noise_correction=True`` an estimate of that variance, exact for Poisson spikes, is
subtracted. This script measures both terms for Poisson spikes and for perfectly regular spikes
(the two ends of the range of spike-time irregularity), for both kernels:

    python benchmarks/activity_bias.py            # about 20 s

For each rate on a grid (0 to 80 Hz in steps of 0.5 Hz), 400 trials of 1000 bins of 1 ms are
drawn (Poisson: independent bins; regular: one spike every 1000 / rate ms from a random phase),
filtered as the package filters them (exponential kernel of 20 ms, or Gaussian of sigma 20 ms
renormalised at the trial's edges, in Hz), and the mean term is computed for every recorded rate
``R`` at once (the term is ``mean(r^2) - 2 R mean(r) + R^2``, minus ``mean(q)`` when corrected).
The script prints, per kernel, spike statistics and term, the rate with the smallest mean term
for ``R`` = 5, 10, 20 and 40 Hz. ``tests/test_activity_matching.py`` checks that the package's
term equals these formulas.
"""

from __future__ import annotations

import argparse

import numpy as np

RATES = np.arange(0.0, 80.01, 0.5)
RECORDED = (5.0, 10.0, 20.0, 40.0)


def kernel_matrix(kernel: str, steps: int, tau: float, dt: float = 1.0) -> np.ndarray:
    """``M`` with ``r_hat = M s`` in Hz (the package's kernels, docs/model.md)."""
    c = 1000.0 / dt
    t = np.arange(steps)
    if kernel == "exponential":
        d = np.exp(-dt / tau)
        lag = t[:, None] - t[None, :]
        return np.where(lag >= 0, (1 - d) * d ** np.maximum(lag, 0), 0.0) * c
    m = int(np.ceil(4 * tau / dt))
    lag = np.abs(t[:, None] - t[None, :])
    w = np.where(lag <= m, np.exp(-0.5 * (lag * dt / tau) ** 2), 0.0)
    return w / w.sum(axis=1, keepdims=True) * c


def spikes(kind: str, rate: float, trials: int, steps: int, rng) -> np.ndarray:
    """``(trials, steps)`` spike trains of ``rate`` Hz at 1 ms bins."""
    if kind == "poisson":
        return (rng.random((trials, steps)) < rate / 1000.0).astype(float)
    s = np.zeros((trials, steps))
    if rate > 0:
        isi = 1000.0 / rate
        for i, phase in enumerate(rng.uniform(0, isi, trials)):
            s[i, np.floor(np.arange(phase, steps, isi)).astype(int)] = 1.0
    return s


def best_rates(kernel: str, kind: str, trials: int, steps: int, tau: float, seed: int):
    """For the spec's term and the corrected one: the rate with the smallest mean term, per R."""
    rng = np.random.default_rng(seed)
    M = kernel_matrix(kernel, steps, tau)
    M2 = M**2
    terms = {False: np.zeros((len(RATES), len(RECORDED))), True: np.zeros((len(RATES), len(RECORDED)))}
    for i, rate in enumerate(RATES):
        s = spikes(kind, rate, trials, steps, rng)
        r = s @ M.T
        mean_r2, mean_r, mean_q = (r**2).mean(), r.mean(), (s @ M2.T).mean()
        for j, R in enumerate(RECORDED):
            plain = mean_r2 - 2 * R * mean_r + R**2
            terms[False][i, j] = plain
            terms[True][i, j] = plain - mean_q
    return {corr: RATES[np.argmin(t, axis=0)] for corr, t in terms.items()}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=400)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--tau", type=float, default=20.0, help="activity_tau in ms (the default)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    print(f"Rate (Hz) of a matched unit with the smallest mean activity term, for recorded rates R "
          f"(kernels of {a.tau:g} ms, {a.trials} trials of {a.steps} ms per rate, grid step 0.5 Hz):\n")
    print("| kernel | spikes | term | " + " | ".join(f"R = {R:g} Hz" for R in RECORDED) + " |")
    print("|---|---|---|" + "---:|" * len(RECORDED))
    for kernel in ("exponential", "gaussian"):
        for kind in ("poisson", "regular"):
            best = best_rates(kernel, kind, a.trials, a.steps, a.tau, a.seed)
            for corr in (False, True):
                name = "noise-corrected" if corr else "spec (plain)"
                print(f"| {kernel} | {kind} | {name} | " + " | ".join(f"{b:g}" for b in best[corr]) + " |")


if __name__ == "__main__":
    main()
