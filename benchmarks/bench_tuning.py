"""Benchmark of cosine-tuning fits: motorsrnn's core against an idiomatic NumPy implementation.

Workload (issue 4): 1,000 neurons x 800 trials (8 directions, Poisson counts of cosine-tuned
neurons), the cosine fit (coefficients, preferred direction, depth, R^2, F-test) plus 1,000
bootstrap resamples of the trials for 95% intervals of the preferred direction and the depth.

The NumPy reference is what one would write by hand: one ``np.linalg.lstsq`` for all neurons, then
per resample a fancy-indexed copy of the trials and another vectorised ``lstsq`` (all neurons as
right-hand sides), and ``np.quantile`` at the end. For context the script also times a tuned
NumPy variant that solves each resample's weighted 3 x 3 normal equations from ``np.bincount``
weights (one matrix product per resample, no copy of the data) -- what motorsrnn does in the core.
Both use the same number of threads (the BLAS
thread count is set through the environment before NumPy is imported). Results are compared
(point estimates exactly, intervals statistically: different random resamples).

    python benchmarks/bench_tuning.py                    # 2 threads, the issue's workload
    python benchmarks/bench_tuning.py --threads 1 --boot 200
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--neurons", type=int, default=1000)
    ap.add_argument("--trials", type=int, default=800)
    ap.add_argument("--directions", type=int, default=8)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of motorsrnn (best is reported)")
    args = ap.parse_args(argv)

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    from motorsrnn.tuning import fit_cosine_tuning

    rng = np.random.default_rng(0)
    n, m, k = args.trials, args.neurons, args.directions
    theta = 2 * np.pi * (np.arange(n) % k) / k
    pd_true = rng.uniform(0, 2 * np.pi, m)
    rate = 20 + 8 * np.cos(theta[:, None] - pd_true[None, :])  # Hz, 50 ms windows
    Y = rng.poisson(rate * 0.05).astype(np.float64) / 0.05

    # -- motorsrnn -----------------------------------------------------------------------------
    fit_cosine_tuning(Y[:, :10], theta, n_boot=10, random_state=0, n_jobs=args.threads)  # warm-up
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = fit_cosine_tuning(Y, theta, n_boot=args.boot, ci=0.95, random_state=0, n_jobs=args.threads)
        times.append(time.perf_counter() - t0)
    t_core = min(times)

    # -- NumPy reference -----------------------------------------------------------------------
    def numpy_fit(Y, theta, n_boot, ci, rng):
        X = np.column_stack([np.ones_like(theta), np.cos(theta), np.sin(theta)])
        coef, *_ = np.linalg.lstsq(X, Y, rcond=None)
        pd = np.mod(np.arctan2(coef[2], coef[1]), 2 * np.pi)
        depth = np.hypot(coef[1], coef[2])
        sse = ((Y - X @ coef) ** 2).sum(axis=0)
        sst = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
        r2 = 1 - sse / sst
        f = ((sst - sse) / 2) / (sse / (len(theta) - 3))
        p = (sse / sst) ** ((len(theta) - 3) / 2)  # F(2, n-3) survival function
        dev = np.empty((n_boot, Y.shape[1]))
        dep = np.empty((n_boot, Y.shape[1]))
        for b in range(n_boot):
            idx = rng.integers(0, len(theta), len(theta))
            cb, *_ = np.linalg.lstsq(X[idx], Y[idx], rcond=None)
            dev[b] = np.angle(np.exp(1j * (np.arctan2(cb[2], cb[1]) - pd)))
            dep[b] = np.hypot(cb[1], cb[2])
        q = [(1 - ci) / 2, 1 - (1 - ci) / 2]
        lo, hi = np.quantile(dev, q, axis=0)
        return dict(
            coef=coef, pd=pd, depth=depth, r2=r2, f=f, p=p,
            pd_ci=np.column_stack([pd + lo, pd + hi]), depth_ci=np.quantile(dep, q, axis=0).T,
        )

    def numpy_normal_equations(Y, theta, n_boot, ci, rng):
        X = np.column_stack([np.ones_like(theta), np.cos(theta), np.sin(theta)])
        coef, *_ = np.linalg.lstsq(X, Y, rcond=None)
        pd = np.mod(np.arctan2(coef[2], coef[1]), 2 * np.pi)
        Yc = Y - Y.mean(axis=0)
        dev = np.empty((n_boot, Y.shape[1]))
        dep = np.empty((n_boot, Y.shape[1]))
        for b in range(n_boot):
            w = np.bincount(rng.integers(0, len(theta), len(theta)), minlength=len(theta)).astype(float)
            Xw = X * w[:, None]
            cb = np.linalg.solve(X.T @ Xw, Xw.T @ Yc)
            dev[b] = np.angle(np.exp(1j * (np.arctan2(cb[2], cb[1]) - pd)))
            dep[b] = np.hypot(cb[1], cb[2])
        q = [(1 - ci) / 2, 1 - (1 - ci) / 2]
        return np.quantile(dev, q, axis=0), np.quantile(dep, q, axis=0)

    t0 = time.perf_counter()
    numpy_normal_equations(Y, theta, args.boot, 0.95, np.random.default_rng(2))
    t_numpy_ne = time.perf_counter() - t0

    t0 = time.perf_counter()
    ref = numpy_fit(Y, theta, args.boot, 0.95, np.random.default_rng(1))
    t_numpy = time.perf_counter() - t0

    # -- agreement -----------------------------------------------------------------------------
    np.testing.assert_allclose(res.b1, ref["coef"][1], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(res.b2, ref["coef"][2], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(res.r2, ref["r2"], rtol=1e-9, atol=1e-12)
    w_core = np.median(res.pd_ci[:, 1] - res.pd_ci[:, 0])
    w_ref = np.median(ref["pd_ci"][:, 1] - ref["pd_ci"][:, 0])
    dw_core = np.median(res.depth_ci[:, 1] - res.depth_ci[:, 0])
    dw_ref = np.median(ref["depth_ci"][:, 1] - ref["depth_ci"][:, 0])

    print(f"workload: {m} neurons x {n} trials ({k} directions), fit + {args.boot} bootstrap resamples, "
          f"{args.threads} thread(s)")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPU(s)")
    print(f"motorsrnn : {t_core * 1e3:9.1f} ms  (best of {args.repeats}: "
          + ", ".join(f"{t * 1e3:.0f}" for t in times) + " ms)")
    print(f"numpy     : {t_numpy * 1e3:9.1f} ms  (lstsq per resample)")
    print(f"speed-up  : {t_numpy / t_core:9.1f}x")
    print(f"numpy, weighted normal equations per resample: {t_numpy_ne * 1e3:.1f} ms "
          f"({t_numpy_ne / t_core:.1f}x motorsrnn's time)")
    print(f"agreement : coefficients and R^2 to 1e-9; median 95% PD-interval width "
          f"{np.degrees(w_core):.2f} vs {np.degrees(w_ref):.2f} deg, depth-interval width "
          f"{dw_core:.3f} vs {dw_ref:.3f} (different resamples)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
