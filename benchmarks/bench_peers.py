"""Training-step benchmark of motorsrnn against PyTorch peers, side by side, on the workloads of
docs/spec/workloads.md.

Peers (optional dependencies of this script, never of the package):
- "torch": a hand-written PyTorch loop of the same equations (current-based LIF, subtractive
  detached reset, fast-sigmoid surrogate with slope 25, leaky readout, mean-over-time logits).
- "snntorch": snnTorch's ``RSynaptic(all_to_all=True)`` with ``surrogate.fast_sigmoid(25)`` and a
  ``Leaky(reset_mechanism="none")`` readout.
- "norse": Norse's ``LIFRecurrentCell`` (current-based LIF, forward Euler at dt = 1 ms, tau_syn 5 ms,
  tau_mem 20 ms, reset to zero, SuperSpike surrogate with alpha 25) and a leaky readout.
- "spikingjelly": SpikingJelly's ``CUBALIFNode`` (current-based LIF, soft reset, detached) driven
  step by step with a recurrent ``Linear``, SoftSign surrogate (alpha 25), a leaky readout.
The peers' neuron models differ from the spec's in details (see the comments in ``torch_child``);
their work per step (the same matrix products over the same sizes, one Python-level step per bin)
is what the comparison is about, and each reports the hidden rate it actually had in the timed
steps (mean and largest step).

Every implementation trains the same way: Adam at 1e-4, with the recurrent weights at
``RECURRENT_LR_SCALE`` (0.2, motorsrnn's default ``recurrent_lr_scale``) times that, as motorsrnn
does. The peers compute
the input product of the whole window before the time loop (one large product instead of one per
bin), except Norse, whose cell applies its input weights inside each step.

Memory: the peak resident memory of each process (the spec's figure) and, beside it, its peak
right after the imports. PyTorch from PyPI is a CUDA build on Linux, whose import alone keeps CUDA
libraries resident (also without a GPU), and it loads more code on its first operations, so on
small workloads most of the peers' memory is the libraries', not the training's.

One training step = forward + backward + Adam update on one mini-batch, float32, data in memory,
2 threads (motorsrnn's thread count passed to each core call, ``torch.set_num_threads(2)``). Every (workload, implementation)
runs in its own process (its own peak resident memory), implementations alternate within each
workload for ``--rounds`` rounds (default 3; the reported time is the median over rounds of each
run's median step, with the range, since a shared machine's speed drifts over minutes), all start from weights drawn with the same scales (the input scale that makes
motorsrnn's hidden population fire at 15-35 Hz), and each reports its own measured hidden rate.

    python benchmarks/bench_peers.py                       # all workloads, all installed peers
    python benchmarks/bench_peers.py --workloads W-S --steps 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_training import (  # noqa: E402
    RECURRENT_LR_SCALE,
    SPEC_WORKLOADS,
    WORKLOADS,
    bernoulli_input,
    child as motorsrnn_child,
    dense_flops_per_step,
    matmul_gflops,
    rate_flag,
    rss_mb,
)


def _version(impl: str) -> str:
    from importlib.metadata import version

    return version(impl)


def torch_child(impl: str, name: str, steps: int, warmup: int, threads: int, input_scale: float) -> dict:
    import importlib

    import numpy as np
    import torch

    importlib.import_module(impl)  # only the peer: importing motorsrnn here would add its memory
    import_mb = rss_mb()

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    c, h, k, t_steps, b, rate = WORKLOADS[name]
    X = torch.from_numpy(bernoulli_input(b, t_steps, c, rate).astype(np.float32))
    y = torch.from_numpy((np.arange(b) % k).astype(np.int64))
    alpha, beta, beta_o = float(np.exp(-1 / 5)), float(np.exp(-1 / 20)), float(np.exp(-1 / 20))

    def init(n_out, n_in, scale):
        return torch.nn.Parameter(torch.randn(n_out, n_in) * scale / n_in**0.5)

    def linear(n_in, n_out, scale):
        """A Linear layer with the weights of ``init`` and a zero bias."""
        layer = torch.nn.Linear(n_in, n_out)
        with torch.no_grad():
            layer.weight.copy_(init(n_out, n_in, scale))
            layer.bias.zero_()
        return layer

    def by_step(drive):
        """``(b, t, h)`` -> the ``t`` steps' ``(b, h)`` tensors, by ``unbind``, whose backward stacks the
        steps' gradients once (indexing ``drive[:, t]`` at every step would allocate a gradient of the
        whole array per step in the backward pass)."""
        return drive.transpose(0, 1).unbind(0)

    def leaky_readout(fc_out, spikes_per_step):
        """The leaky readout O[t] = beta_o O[t-1] + W_out s[t] + b_out over the steps' spikes (a
        generator, so each step's spikes are used as they come), averaged over time, and the number of
        hidden spikes."""
        o = torch.zeros(b, k)
        acc, n_spikes = 0, 0.0
        for s in spikes_per_step:
            o = beta_o * o + fc_out(s)
            acc = acc + o
            n_spikes += float(s.detach().sum())
        return acc / t_steps, n_spikes

    if impl == "torch":

        class Spike(torch.autograd.Function):
            @staticmethod
            def forward(ctx, v):
                ctx.save_for_backward(v)
                return (v > 0).float()

            @staticmethod
            def backward(ctx, g):
                (v,) = ctx.saved_tensors
                return g / (1 + 25 * v.abs()) ** 2

        w_in, w_rec, w_out = init(h, c, input_scale), init(h, h, 0.1), init(k, h, 1.0)
        b_h, b_out = torch.nn.Parameter(torch.zeros(h)), torch.nn.Parameter(torch.zeros(k))
        params, recurrent = [w_in, b_h, w_out, b_out], [w_rec]

        def run(x, record=False):
            i = torch.zeros(b, h)
            u = torch.zeros(b, h)
            s = torch.zeros(b, h)
            o = torch.zeros(b, k)
            acc, n_spikes = 0, 0.0
            drive = by_step(x @ w_in.T + b_h)  # the input product of every bin at once
            for t in range(t_steps):
                a = drive[t] + s @ w_rec.T
                i = alpha * i + a
                u = beta * u + i - s.detach()
                s = Spike.apply(u - 1.0)
                o = beta_o * o + s @ w_out.T + b_out
                acc = acc + o
                n_spikes += float(s.detach().sum())
            return acc / t_steps, n_spikes

    elif impl == "snntorch":
        import snntorch as snn
        from snntorch import surrogate

        fc_in, fc_out = linear(c, h, input_scale), linear(h, k, 1.0)
        rsyn = snn.RSynaptic(alpha=alpha, beta=beta, linear_features=h, all_to_all=True,
                             spike_grad=surrogate.fast_sigmoid(slope=25), reset_mechanism="subtract", threshold=1.0)
        with torch.no_grad():
            rsyn.recurrent.weight.copy_(init(h, h, 0.1))
            rsyn.recurrent.bias.zero_()
        readout = snn.Leaky(beta=beta_o, reset_mechanism="none")
        recurrent = [rsyn.recurrent.weight]
        params = [q for q in [*fc_in.parameters(), *rsyn.parameters(), *fc_out.parameters()]
                  if q is not rsyn.recurrent.weight]

        def run(x, record=False):
            spk, syn, mem = rsyn.init_rsynaptic()
            mem_o = readout.init_leaky()
            acc, n_spikes = 0, 0.0
            drive = by_step(fc_in(x))  # the input product of every bin at once
            for t in range(t_steps):
                spk, syn, mem = rsyn(drive[t], spk, syn, mem)
                _, mem_o = readout(fc_out(spk), mem_o)
                acc = acc + mem_o
                n_spikes += float(spk.detach().sum())
            return acc / t_steps, n_spikes

    elif impl == "norse":
        from norse.torch import LIFParameters, LIFRecurrentCell

        # Norse integrates dv/dt = tau_mem_inv (v_leak - v + i) with forward Euler (dt = 1 ms), so an
        # input current moves v by dt * tau_mem_inv = 1/20 of what it does in the spec's equations:
        # the weights are 20 times larger for the same drive. Reset to zero (Norse has no
        # subtractive reset); SuperSpike surrogate with alpha 25 = the fast sigmoid of slope 25.
        gain = 20.0
        p_lif = LIFParameters(tau_syn_inv=torch.tensor(200.0), tau_mem_inv=torch.tensor(50.0),
                              v_th=torch.tensor(1.0), v_reset=torch.tensor(0.0), method="super",
                              alpha=torch.tensor(25.0))
        cell = LIFRecurrentCell(c, h, p=p_lif, dt=0.001)
        with torch.no_grad():
            cell.input_weights.copy_(init(h, c, gain * input_scale))
            cell.recurrent_weights.copy_(init(h, h, gain * 0.1))
        fc_out = linear(h, k, 1.0)
        recurrent = [cell.recurrent_weights]
        params = [q for q in [*cell.parameters(), *fc_out.parameters()] if q is not cell.recurrent_weights]

        def run(x, record=False):
            def steps():
                state = None
                for t in range(t_steps):
                    z, state = cell(x[:, t], state)
                    yield z

            return leaky_readout(fc_out, steps())

    elif impl == "spikingjelly":
        from spikingjelly.activation_based import functional as sj_functional
        from spikingjelly.activation_based import neuron
        from spikingjelly.activation_based import surrogate as sj_surrogate

        # SpikingJelly's current-based LIF (I = alpha I + x, U = beta U + I, soft reset by the
        # threshold, detached as in the spec), stepped by hand with a recurrent Linear(h -> h) of the
        # previous step's spikes. (Its LinearRecurrentContainer would feed [input; spikes] through one
        # Linear(2h -> h): a product twice as large, and twice the trained weights.) Surrogate:
        # SoftSign with alpha 25, whose derivative is 12.5 times the fast sigmoid of slope 25 (its
        # SuperSpike surrogate gave NaN gradients in this network with SpikingJelly 2.0.0).
        fc_in, fc_out = linear(c, h, input_scale), linear(h, k, 1.0)
        fc_rec = torch.nn.Linear(h, h, bias=False)
        with torch.no_grad():
            fc_rec.weight.copy_(init(h, h, 0.1))
        lif = neuron.CUBALIFNode(c_decay=alpha, v_decay=beta, v_threshold=1.0, v_reset=None,
                                 surrogate_function=sj_surrogate.SoftSign(alpha=25.0))
        lif.detach_reset = True
        recurrent = [fc_rec.weight]
        params = list(fc_in.parameters()) + list(fc_out.parameters())

        def run(x, record=False):
            sj_functional.reset_net(lif)
            drive = by_step(fc_in(x))  # the input product of every bin at once

            def steps():
                s = torch.zeros(b, h)
                for t in range(t_steps):
                    s = lif(drive[t] + fc_rec(s))
                    yield s

            return leaky_readout(fc_out, steps())

    else:
        raise ValueError(f"unknown implementation {impl!r}")

    opt = torch.optim.Adam([{"params": params}, {"params": recurrent, "lr": 1e-4 * RECURRENT_LR_SCALE}], lr=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    durations, spikes = [], []
    for step in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        logits, n_spikes = run(X)
        loss = loss_fn(logits, y)
        loss.backward()
        opt.step()
        durations.append(time.perf_counter() - t0)
        spikes.append(n_spikes)
    return {
        "impl": impl,
        "workload": name,
        "ms_per_step": float(np.median(durations[warmup:]) * 1000),
        "peak_rss_mb": rss_mb(),
        "import_rss_mb": import_mb,
        "hidden_rate_hz": float(np.mean(spikes[warmup:]) / (b * t_steps * h) * 1000),
        "hidden_rate_max_hz": float(np.max(spikes[warmup:]) / (b * t_steps * h) * 1000),
        "torch": torch.__version__,
        "version": _version(impl),
    }


PEERS = ("torch", "snntorch", "norse", "spikingjelly")


def available(module: str) -> bool:
    """Whether a peer is installed, without importing it (the parent's memory would otherwise be
    inherited by every child's peak-RSS reading through fork)."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", nargs="*", default=SPEC_WORKLOADS, choices=list(WORKLOADS))
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per workload (default 3)")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        impl, name, scale = args.child
        if impl == "motorsrnn":
            out = motorsrnn_child(name, args.steps, args.warmup, args.threads)
        else:
            out = torch_child(impl, name, args.steps, args.warmup, args.threads, float(scale))
        print(json.dumps(out))
        return 0
    impls = ["motorsrnn"] + [m for m in PEERS if available(m)]
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    runs = []
    for name in args.workloads:
        scale = 0.5
        for rnd in range(args.rounds):
            for impl in impls:  # motorsrnn first: it calibrates the input scale the peers reuse
                cmd = [sys.executable, __file__, "--child", impl, name, str(scale), "--steps", str(args.steps),
                       "--warmup", str(args.warmup), "--threads", str(args.threads)]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                r.setdefault("impl", impl)
                if impl == "motorsrnn":
                    scale = r["input_scale"]
                runs.append(r)
                print(f"{name} round {rnd + 1} {impl}: {r['ms_per_step']:.2f} ms/step, {r['peak_rss_mb']:.0f} MB "
                      f"({r['import_rss_mb']:.0f} after imports), {r['hidden_rate_hz']:.1f} Hz "
                      f"(largest step {r['hidden_rate_max_hz']:.1f})", flush=True)
    rows = []
    for name in args.workloads:
        for impl in impls:
            mine = [r for r in runs if r["workload"] == name and r["impl"] == impl]
            times = sorted(r["ms_per_step"] for r in mine)
            rows.append(dict(mine[0], ms_per_step=times[len(times) // 2], ms_min=times[0], ms_max=times[-1],
                             peak_rss_mb=max(r["peak_rss_mb"] for r in mine),
                             import_rss_mb=max(r["import_rss_mb"] for r in mine),
                             hidden_rate_hz=float(sum(r["hidden_rate_hz"] for r in mine) / len(mine)),
                             hidden_rate_max_hz=max(r["hidden_rate_max_hz"] for r in mine)))
    peak = matmul_gflops(args.threads)
    versions = {r["impl"]: r["version"] for r in rows if "version" in r}
    if rows and "torch" in rows[-1]:
        versions["torch"] = rows[-1]["torch"]
    print(f"\nmeasured float32 matmul peak ({args.threads} threads): {peak:.1f} GFLOP/s")
    print("versions: " + (", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "motorsrnn alone"))
    print(f"median over {args.rounds} alternating rounds (range in brackets); peak RSS and the RSS right after the "
          "imports: the largest of the rounds; hidden rate: mean over the timed steps of all rounds, and the largest "
          "step")
    print("\n| workload | implementation | ms / step | speed-up of motorsrnn | dense-equivalent GFLOP/s | "
          "hidden rate (Hz): mean, largest | peak RSS (MB) | of which imports (MB) | memory ratio (peak RSS) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    flagged = False
    for r in rows:
        ours = next(o for o in rows if o["workload"] == r["workload"] and o["impl"] == "motorsrnn")
        c, h, k, t, b, _ = WORKLOADS[r["workload"]]
        gflops = dense_flops_per_step(c, h, k, t, b) / (r["ms_per_step"] * 1e-3) / 1e9
        flag = rate_flag(r)
        flagged = flagged or bool(flag)
        print(f"| {r['workload']} | {r['impl']} | {r['ms_per_step']:.2f} [{r['ms_min']:.2f}-{r['ms_max']:.2f}] | "
              f"{r['ms_per_step'] / ours['ms_per_step']:.1f}x | {gflops:.1f} | "
              f"{r['hidden_rate_hz']:.1f}, {r['hidden_rate_max_hz']:.1f}{flag} | {r['peak_rss_mb']:.0f} | "
              f"{r['import_rss_mb']:.0f} | {r['peak_rss_mb'] / ours['peak_rss_mb']:.2f} |")
    if flagged:
        print("\n(*) a timed step fired outside the spec's 10-50 Hz: its time is not that of the workload")
    return 0


if __name__ == "__main__":
    sys.exit(main())
