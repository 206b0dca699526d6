"""Time and memory of the work around training, at a lab's sizes (`python benchmarks/bench_workflows.py`).

Each operation runs in its own process (so that its peak memory is its own), three times after a
warm-up; the script prints, per operation, the median wall time and the largest rise of the
resident memory above what it was before the call (Linux: the peak is reset through
``/proc/self/clear_refs``). Data: ``make_center_out`` with 2000 trials x 500 bins x 128 channels
(uint8, 122 MB) and a 256-unit network trained for one epoch; 200 units x 1 h of spike times at
20 Hz for the binning. ``--small`` shrinks everything (a quick check that the script runs).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

OPERATIONS = ("predict_proba", "simulate", "simulate_membrane", "energy", "network_tuning", "trajectories",
              "add_poisson_noise", "early_classification_naive_bayes", "bin_spike_times")


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _reset_peak() -> None:
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # not Linux, or not allowed: the peak is then the process's so far
        pass


def child(op: str, small: bool) -> dict:
    """Prepare the inputs of ``op``, then time it and measure its memory (in this process)."""
    warnings.simplefilter("ignore")
    import motorsrnn
    from motorsrnn.analysis import add_poisson_noise, early_classification, energy, trajectories
    from motorsrnn.datasets import make_center_out
    from motorsrnn.io import bin_spike_times
    from motorsrnn.tuning import network_tuning

    n_trials, n_steps, n_hidden = (200, 100, 32) if small else (2000, 500, 256)
    if op == "bin_spike_times":
        rng = np.random.default_rng(0)
        duration, n_units = (60.0, 20) if small else (3600.0, 200)
        trains = [np.sort(rng.uniform(0, duration, rng.poisson(20 * duration))) for _ in range(n_units)]
        events = np.sort(rng.uniform(1, duration - 1, 100 if small else 1000))
        run = lambda: bin_spike_times(trains, events, window=(-200, 800))  # noqa: E731
        what = f"{n_units} units x {duration:g} s at 20 Hz, {events.size} trials x 1000 bins"
    else:
        d = make_center_out(n_trials=n_trials, n_timesteps=n_steps, n_neurons=128, random_state=0)
        X, y = d.X, d.y
        what = f"{n_trials} trials x {n_steps} bins x 128 channels"
        if op == "early_classification_naive_bayes":
            model = motorsrnn.PoissonNaiveBayes().fit(X, y)
            run = lambda: early_classification(model, X, y, step=1)  # noqa: E731
        elif op == "add_poisson_noise":
            run = lambda: add_poisson_noise(X, 20.0, random_state=0)  # noqa: E731
        else:
            clf = motorsrnn.SpikingRNNClassifier(n_hidden=n_hidden, max_epochs=1, random_state=0).fit(X, y)
            what += f", {n_hidden} LIF units"
            spikes = clf.simulate(X, membrane=False).spikes if op == "trajectories" else None
            run = {
                "predict_proba": lambda: clf.predict_proba(X),
                "simulate": lambda: clf.simulate(X, membrane=False),
                "simulate_membrane": lambda: clf.simulate(X, membrane=True),
                "energy": lambda: energy(clf, X),
                "network_tuning": lambda: network_tuning(clf, X, y),
                "trajectories": lambda: trajectories(spikes, y, smoothing_ms=20.0),
            }[op]
    result = run()  # warm-up
    del result
    times, peaks = [], []
    for _ in range(3):
        gc.collect()
        before = _status_mb("VmRSS")
        _reset_peak()
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
        peaks.append(_status_mb("VmHWM") - before)
        del result
    return {"operation": op, "data": what, "median_s": round(statistics.median(times), 3),
            "peak_extra_mb": round(max(peaks))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("operations", nargs="*", default=list(OPERATIONS),
                   help=f"operations to measure, among {', '.join(OPERATIONS)} (default: all)")
    p.add_argument("--small", action="store_true", help="tiny sizes: check that the script runs")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = [op for op in args.operations if op not in OPERATIONS]
    if unknown:
        p.error(f"unknown operation(s) {unknown}; choose among {', '.join(OPERATIONS)}")
    if args.child:
        print(json.dumps(child(args.child, args.small)))
        return 0
    print("| operation | data | median s | peak extra MB |\n|---|---|---:|---:|")
    for op in args.operations:
        cmd = [sys.executable, __file__, "--child", op] + (["--small"] if args.small else [])
        out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {r['operation']} | {r['data']} | {r['median_s']:.3f} | {r['peak_extra_mb']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
