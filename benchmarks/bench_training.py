"""Training-step benchmark of motorsrnn on the workloads of docs/spec/workloads.md.

One training step = forward + backward + Adam update on one mini-batch, float32, data in memory,
2 threads. Each workload runs in its own process (so that its peak resident memory is its own); the
script prints, per workload, the median ms per step over the timed steps (after warm-up), the peak
resident memory (and the resident memory right after the imports, so that the step's own memory
is the difference), the hidden firing rate during the timed steps (mean and largest step; the
spec asks for 10-50 Hz, and rows outside that band are marked), the dense-equivalent GFLOP/s, and
the machine's measured float32 matrix-multiply rate on the same number of threads.

    python benchmarks/bench_training.py                 # all workloads, table on stdout
    python benchmarks/bench_training.py --markdown BENCHMARKS.md
    python benchmarks/bench_training.py --workloads W-M-long --bptt-window 0 50   # full tape vs checkpoints
    python benchmarks/bench_training.py --workloads W-M --surrogate triangle:4 --sparse-below 0 0.15
    python benchmarks/bench_training.py --workloads W-S W-M --spike-jitter none shuffle 5

``--bptt-window`` runs each workload with the whole BPTT tape (0) and with checkpointed BPTT of the
given segment lengths (``SpikingRNNClassifier(bptt_window=...)``). ``--surrogate kind:slope`` changes
the surrogate; with the compact-support "triangle", ``--sparse-below`` sets the fraction of units
inside its support below which the backward pass uses its sparse products (0: never; the package
default is 0.15), and the table reports the measured fraction. W-M-long is not a workload of the
spec: W-M with trials four times as long (2,000 steps), for the memory of the tape.
``--spike-jitter`` adds the training-time augmentation (``spike_jitter``: "none", "shuffle" or a
standard deviation in ms): with one batch per epoch, each step then includes moving every input
spike of the batch. ``--learning-rate`` (default 1e-4) sets Adam's step size: a run of many steps
needs a smaller one to keep the hidden rate in the spec's band while it is timed.

The PyTorch peers run side by side with this harness in ``bench_peers.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

WORKLOADS = {
    # id: (channels, hidden, classes, time steps, batch, input rate Hz)
    "W-S": (96, 128, 4, 50, 32, 20.0),
    "W-M": (128, 256, 8, 500, 64, 20.0),
    "W-L": (192, 1024, 8, 500, 32, 20.0),
    "W-M-long": (128, 256, 8, 2000, 64, 20.0),
}
SPEC_WORKLOADS = ["W-S", "W-M", "W-L"]
#: motorsrnn's default step-size factor of recurrent weights; bench_peers.py gives the peers' recurrent
#: weights the same (a constant here, so that the peers' processes need not import motorsrnn)
RECURRENT_LR_SCALE = 0.2


def dense_flops_per_step(c, h, k, t, b):
    """Dense-equivalent arithmetic of one training step, 2 flops per multiply-add: the forward
    products (input ``c h``, recurrent ``h h``, readout ``h k`` per trial and step) and the backward
    ones: the weight gradients of all three (``c h + h h + h k``) and the gradients that flow back
    through the recurrent and readout weights (``h h + h k``). No gradient flows to the input
    spikes, so the input product is not transposed back."""
    return 2.0 * b * t * (2 * c * h + 3 * h * h + 3 * h * k)


def bernoulli_input(b: int, t: int, c: int, rate_hz: float):
    """Bernoulli spikes per 1 ms bin, `(b, t, c)` uint8, seed 0. Drawn one trial at a time (the same
    numbers as one `rng.random((b, t, c))` call) so that the float64 draws of the whole batch never
    sit in memory: they would dominate the peak memory this harness reports."""
    import numpy as np

    rng = np.random.default_rng(0)
    return np.stack([(rng.random((t, c)) < rate_hz * 1e-3).astype(np.uint8) for _ in range(b)])


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(name: str, steps: int, warmup: int, threads: int, window: int = 0, surrogate: str = "fast_sigmoid",
          sparse_below: float = -1.0, jitter: str = "none", learning_rate: float = 1e-4) -> dict:
    import numpy as np

    from motorsrnn import SpikingRNNClassifier, _core

    import_mb = rss_mb()
    assert SpikingRNNClassifier().recurrent_lr_scale == RECURRENT_LR_SCALE, "update RECURRENT_LR_SCALE"

    c, h, k, t, b, rate = WORKLOADS[name]
    X = bernoulli_input(b, t, c, rate)
    y = (np.arange(b) % k).astype(np.int64)

    kind, _, slope = surrogate.partition(":")
    slope = float(slope) if slope else None
    if sparse_below >= 0:
        _core._set_sparse_below(sparse_below)

    def network(scale):
        est = SpikingRNNClassifier(n_hidden=h, input_scale=scale, recurrent_scale=0.1, surrogate=kind,
                                   surrogate_slope=slope)
        net = _core.Network(json.dumps(est._network_spec(c, k)), 0)
        net.bptt_window = window or None
        return net

    def hidden_rate(net):
        spikes, _, _, _ = net.simulate(X, False, threads)
        return float(spikes[0].mean() * 1000.0)

    # Scale the input weights so that the hidden population fires at 10-50 Hz (target 25 Hz).
    scale = 0.5 * (96.0 / c) ** 0.5
    for _ in range(30):
        r = hidden_rate(network(scale))
        if 15.0 <= r <= 35.0:
            break
        scale *= (25.0 / max(r, 0.5)) ** 0.5 if r > 0 else 2.0
    net = network(scale)
    inside = None
    if kind == "triangle":  # share of (unit, step) pairs inside the support |U - theta| < 1 / slope
        _, membrane, _, _ = net.simulate(X, True, threads)
        inside = float(np.mean(np.abs(membrane[0] - 1.0) < 1.0 / (slope or 1.0)))
    stamps, rates = [], []

    def monitor(info):
        stamps.append(time.perf_counter())
        if info["event"] == "epoch":
            rates.append(info["rate_hz"])  # the rate of that step's forward pass (one batch per epoch)

    # the core's form of --spike-jitter, as the estimator builds it
    spike_jitter = None if jitter == "none" else jitter if jitter == "shuffle" else float(jitter)
    core_jitter = SpikingRNNClassifier(spike_jitter=spike_jitter)._jitter_config()
    config = dict(learning_rate=learning_rate, max_epochs=warmup + steps, batch_size=b, seed=0, jitter=core_jitter)
    t0 = time.perf_counter()
    net.fit(X, y, None, None, json.dumps(config), threads, monitor)
    # One batch per epoch: a batch callback and an epoch callback per step.
    batch_times = [s for i, s in enumerate(stamps) if i % 2 == 0]
    prev = [t0] + batch_times[:-1]
    durations = [a - p for a, p in zip(batch_times, prev)][warmup:]
    ms = float(np.median(durations) * 1000.0)
    flops = dense_flops_per_step(c, h, k, t, b)
    return {
        "workload": name,
        "ms_per_step": ms,
        "peak_rss_mb": rss_mb(),
        "import_rss_mb": import_mb,
        "hidden_rate_hz": float(np.mean(rates[warmup:])),
        "hidden_rate_max_hz": float(np.max(rates[warmup:])),
        "learning_rate": learning_rate,
        "input_scale": scale,
        "dense_gflops": flops / (ms * 1e-3) / 1e9,
        "steps": len(durations),
        "bptt_window": window or None,
        "surrogate": surrogate,
        "inside_support": inside,
        "sparse_below": sparse_below if sparse_below >= 0 else None,
        "spike_jitter": jitter,
    }


def rate_flag(r: dict) -> str:
    """The mark of a row whose timed steps fired outside the spec's 10-50 Hz band."""
    return " (*)" if not 10.0 <= r["hidden_rate_hz"] <= 50.0 or r["hidden_rate_max_hz"] > 50.0 else ""


def matmul_gflops(threads: int) -> float:
    """Best float32 matrix-multiply rate of NumPy's BLAS on `threads` threads."""
    import numpy as np

    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    n = 1024
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    bm = np.random.default_rng(1).random((n, n), dtype=np.float32)
    best = float("inf")
    with threadpool_limits(limits=threads):
        for _ in range(10):
            t0 = time.perf_counter()
            a @ bm
            best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", nargs="*", default=SPEC_WORKLOADS, choices=list(WORKLOADS))
    p.add_argument("--bptt-window", nargs="*", type=int, default=[0],
                   help="segment lengths of checkpointed BPTT to run (0: whole tape; default 0)")
    p.add_argument("--surrogate", nargs="*", default=["fast_sigmoid"], help="kind[:slope] (default fast_sigmoid)")
    p.add_argument("--sparse-below", nargs="*", type=float, default=[-1.0],
                   help="thresholds of the sparse backward products to run (default: the package's)")
    p.add_argument("--spike-jitter", nargs="*", default=["none"],
                   help='training-time augmentation to run: "none" (default), "shuffle" or a sd in ms')
    p.add_argument("--steps", type=int, default=10, help="timed steps per workload (default 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--learning-rate", type=float, default=1e-4, help="Adam's step size (default 1e-4)")
    p.add_argument("--markdown", help="also write the results to this Markdown file")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        row = child(args.child, args.steps, args.warmup, args.threads, args.bptt_window[0], args.surrogate[0],
                    args.sparse_below[0], args.spike_jitter[0], args.learning_rate)
        print(json.dumps(row))
        return 0
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    rows = []
    variants = [(w, sg, sb, j) for w in args.bptt_window for sg in args.surrogate for sb in args.sparse_below
                for j in args.spike_jitter]
    for name in args.workloads:
        for window, surrogate, sparse_below, jitter in variants:
            out = subprocess.run(
                [sys.executable, __file__, "--child", name, "--steps", str(args.steps), "--warmup", str(args.warmup),
                 "--threads", str(args.threads), "--bptt-window", str(window), "--surrogate", surrogate,
                 "--sparse-below", str(sparse_below), "--spike-jitter", jitter,
                 "--learning-rate", str(args.learning_rate)],
                check=True, capture_output=True, text=True, env=env,
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"{name}: {rows[-1]}", flush=True)
    peak = matmul_gflops(args.threads)
    extra = []
    if args.bptt_window != [0]:
        extra.append(("bptt_window", lambda r: "whole tape" if r["bptt_window"] is None else str(r["bptt_window"])))
    if args.surrogate != ["fast_sigmoid"] or args.sparse_below != [-1.0]:
        extra.append(("surrogate", lambda r: r["surrogate"]))
        extra.append(("inside support", lambda r: "-" if r["inside_support"] is None else f"{r['inside_support']:.1%}"))
        extra.append(("sparse below", lambda r: "default" if r["sparse_below"] is None else f"{r['sparse_below']:g}"))
    if args.spike_jitter != ["none"]:
        extra.append(("spike_jitter", lambda r: r["spike_jitter"]))
    extra_header = "".join(f" {name} |" for name, _ in extra)

    def extra_cells(r):
        return "".join(f" {f(r)} |" for _, f in extra)

    cmd = "python benchmarks/bench_training.py " + " ".join(a for a in (argv or sys.argv[1:]) if a)
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} threads used; "
        f"Python {platform.python_version()}; measured float32 matmul (NumPy BLAS, 1024x1024, {args.threads} threads): "
        f"**{peak:.1f} GFLOP/s**.",
        "",
        "| workload | ms / training step (median) | peak RSS (MB) | of which imports (MB) | hidden rate in the timed "
        "steps (Hz): mean, largest | dense-equivalent GFLOP/s | / matmul peak |" + extra_header,
        "|---|---:|---:|---:|---:|---:|---:|" + "---|" * extra_header.count("|"),
    ]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['ms_per_step']:.2f} | {r['peak_rss_mb']:.0f} | {r['import_rss_mb']:.0f} | "
            f"{r['hidden_rate_hz']:.1f}, {r['hidden_rate_max_hz']:.1f}{rate_flag(r)} | "
            f"{r['dense_gflops']:.1f} | {r['dense_gflops'] / peak:.2f} |" + extra_cells(r)
        )
    if any(rate_flag(r) for r in rows):
        lines += ["", "(*) a timed step fired outside the spec's 10-50 Hz: the time is not that of the workload"]
    table = "\n".join(lines)
    print("\n" + table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("# Benchmarks\n\n")
            f.write("Produced by the harness, not by hand:\n\n```\n" + cmd.strip() + "\n```\n\n")
            f.write(
                "One training step = forward + backward + Adam update on one mini-batch (float32, data in memory). "
                "Workloads from `docs/spec/workloads.md` (Bernoulli input at 20 Hz per 1 ms bin; input weights "
                "scaled so the hidden population fires at 15-35 Hz). Median over the timed steps after warm-up; "
                "peak resident memory of the process running that workload alone. Dense-equivalent GFLOP/s = "
                "(the dense products of the forward and backward passes, 2 flops per multiply-add; see "
                "dense_flops_per_step) / step time: a ratio above 1 to the matmul peak means sparsity was turned "
                "into speed.\n\n"
            )
            f.write(table + "\n\n")
            f.write("Peers: `python benchmarks/bench_peers.py` (or `benchmarks/run_all.py`).\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
