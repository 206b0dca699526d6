"""Does matching a sparse sample of recorded neurons make a spiking RNN's dynamics more brain-like?

The must-show experiment of issue 5. Data: ``motorsrnn.datasets.make_reaching_dynamics`` (a teacher
rate network with rotational motor-cortex-like dynamics, 200 neurons, 8 reach conditions, 300 ms
trials). A ``SpikingRNNRegressor`` learns the teacher's 4 muscle-like outputs from the input spikes
(target and go-cue channels), trained on 6 of the 8 reach conditions, either

- output-only: ``fit(X, y)``, or
- output + activity matching: ``fit(X, y, neural_targets=rates[:, :, sample])`` with a random
  ``--fraction`` (default 10 %) of the teacher's neurons assigned to the first hidden units.

Measured per seed (the seed sets the teacher, the sample, the trials and the initialisation):

- CCA similarity (mean of 6 canonical correlations after PCA, ``motorsrnn.analysis.similarity``)
  and Procrustes score between the condition-averaged rates of the WHOLE hidden population
  (spikes filtered with the 20 ms exponential kernel of activity matching, all 8 conditions) and
  the teacher's condition-averaged rates (all 200 neurons);
- output error on the 2 held-out reach conditions (MSE of the standardised outputs; y has unit
  variance) and on the training conditions (R^2);
- matched units' R^2 to their teacher neurons (condition averages).

Prints a Markdown table of mean +/- sd over seeds. Usage::

    python benchmarks/dynamics_matching.py [--seeds 3] [--fraction 0.1] [--epochs 100]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from motorsrnn import SpikingRNNRegressor
from motorsrnn.analysis import similarity
from motorsrnn.datasets import make_reaching_dynamics, sample_neurons

HELD_OUT = (3, 7)  # reach conditions never seen in training
PARAMS = dict(n_hidden=128, input_scale=1.0, recurrent_scale=0.2, learning_rate=5e-3)


def filtered_rates(spikes, tau=20.0, dt=1.0):
    """Exponentially filtered spike trains in Hz (the kernel activity matching uses)."""
    d = np.exp(-dt / tau)
    out = np.empty(spikes.shape, dtype=np.float64)
    acc = np.zeros((spikes.shape[0], spikes.shape[2]))
    for t in range(spikes.shape[1]):
        acc = d * acc + (1.0 - d) * spikes[:, t]
        out[:, t] = acc
    return out * (1000.0 / dt)


def condition_means(a, condition, n_conditions):
    return np.stack([a[condition == c].mean(axis=0) for c in range(n_conditions)])


def run(seed, fraction, activity_weight, epochs, n_jobs=2):
    data = make_reaching_dynamics(n_trials_per_condition=16, random_state=seed)
    train = ~np.isin(data.condition, HELD_OUT)
    test = ~train
    sample = sample_neurons(data, fraction, random_state=seed)
    reg = SpikingRNNRegressor(max_epochs=epochs, activity_weight=activity_weight, random_state=seed,
                              n_jobs=n_jobs, **PARAMS)
    t0 = time.perf_counter()
    if activity_weight > 0 and len(sample):
        reg.fit(data.X[train], data.y[train], neural_targets=data.rates[train][:, :, sample])
    else:
        reg.fit(data.X[train], data.y[train])
    seconds = time.perf_counter() - t0
    model = condition_means(filtered_rates(reg.simulate(data.X, membrane=False).spikes), data.condition, 8)
    teacher = condition_means(data.rates.astype(np.float64), data.condition, 8)
    pred = reg.predict(data.X[test])
    matched = model[:, :, : len(sample)]
    target = teacher[:, :, sample]
    return dict(
        cca=similarity(model, teacher, method="cca", n_components=6).score,
        procrustes=similarity(model, teacher, method="procrustes", n_components=6).score,
        heldout_mse=float(np.mean((pred - data.y[test]) ** 2)),
        train_r2=reg.score(data.X[train], data.y[train]),
        matched_r2=1.0 - ((matched - target) ** 2).sum() / ((target - target.mean(axis=(0, 1))) ** 2).sum(),
        rate_hz=float(reg.simulate(data.X[:16], membrane=False).spikes.mean() * 1000.0),
        seconds=seconds,
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--fraction", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--activity-weight", type=float, default=0.01,
                   help="weight of the activity term (rates in Hz: 0.01 makes a 10 Hz error cost as "
                        "much as an error of one standard deviation on an output)")
    p.add_argument("--n-jobs", type=int, default=2)
    args = p.parse_args(argv)

    rows = {"output only": [], f"output + activity ({args.fraction:.0%} sample)": []}
    for seed in range(args.seeds):
        for name, weight in zip(rows, (0.0, args.activity_weight)):
            r = run(seed, args.fraction, weight, args.epochs, args.n_jobs)
            rows[name].append(r)
            print(f"seed {seed} {name:32s} " + " ".join(f"{k}={v:.3f}" for k, v in r.items()), flush=True)

    cols = [("cca", "CCA similarity (whole hidden pop.) ↑"), ("procrustes", "Procrustes score ↑"),
            ("heldout_mse", "held-out-condition output MSE ↓"), ("train_r2", "train-condition output R² ↑"),
            ("matched_r2", "matched units R² ↑"), ("rate_hz", "hidden rate (Hz)"), ("seconds", "fit time (s)")]
    print()
    print(f"{args.seeds} seeds, {args.epochs} epochs, mean ± sd; held-out conditions {HELD_OUT} of 8")
    print()
    print("| training | " + " | ".join(c[1] for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name, rs in rows.items():
        cells = []
        for key, _ in cols:
            v = np.array([r[key] for r in rs])
            cells.append(f"{v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    a, b = (np.array([[r[k] for r in rs] for rs in rows.values()]) for k in ("cca", "heldout_mse"))
    print()
    print(f"paired differences (activity - output only): CCA {np.round(a[1] - a[0], 3).tolist()}, "
          f"held-out MSE {np.round(b[1] - b[0], 3).tolist()}")


if __name__ == "__main__":
    main()
