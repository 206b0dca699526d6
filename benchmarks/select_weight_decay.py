"""Each arm of the activity-matching comparison at its own weight decay, chosen by cross-validation.

docs/dynamics_matching.md ("Each arm at its own weight decay"): with ``weight_decay=0.01`` in both
arms, matching 10 % of the teacher's neurons lowers the held-out condition-mean error, but
output-only training does better without weight decay. This script lets each arm choose its
weight decay as a user would, without looking at the held-out reaches: for every seed, arm
("output only", "activity (gaussian)") and candidate weight decay, a 3-fold group
cross-validation over the six training conditions (each fold leaves two conditions out, fits on
the other four with the benchmark's settings and scores the condition-mean error on the two left
out); the candidate with the lower mean error is chosen (ties: the smaller weight decay).

The held-out errors of the chosen fits are not recomputed: ``benchmarks/dynamics_matching.py``
fits are deterministic, so they are read from the logs of those runs (``--logs CANDIDATE=LOG``,
one or more logs per candidate, with both arms' per-seed lines). Usage::

    python benchmarks/select_weight_decay.py --seed-list 30 31 ... [--candidates 0 0.01]
        --logs 0=plain1.log 0=plain2.log 0=act1.log 0=act2.log 0.01=wd1.log 0.01=wd2.log
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.model_selection import GroupKFold

from dynamics_matching import (PARAMS, TASK, _data, _wilcoxon, activity_params, heldout_errors,
                               read_logs, sample_neurons)
from motorsrnn import SpikingRNNRegressor

ARMS = ("output only", "activity (gaussian)")


def cv_error(seed, arm, weight_decay, epochs=400, n_splits=3, fraction=0.1, null_rotations=2):
    """Mean condition-mean error on training conditions left out by a group k-fold, for one arm
    (the settings of ``dynamics_matching.run``, from ``activity_params``)."""
    task = dict(TASK)
    data = _data(seed, null_rotations, task)
    train = ~np.isin(data.condition, task["held_out"])
    sample = sample_neurons(data, fraction, random_state=seed)
    params = dict(PARAMS, max_epochs=epochs, random_state=seed, n_jobs=1, weight_decay=weight_decay)
    if arm != "output only":
        params.update(activity_params("gaussian"))
    idx = np.flatnonzero(train)
    errors = []
    for fit_idx, val_idx in GroupKFold(n_splits=n_splits).split(idx, groups=data.condition[idx]):
        fit_trials, val_trials = idx[fit_idx], idx[val_idx]
        reg = SpikingRNNRegressor(**params)
        if arm == "output only":
            reg.fit(data.X[fit_trials], data.y[fit_trials])
        else:
            reg.fit(data.X[fit_trials], data.y[fit_trials], neural_targets=data.rates[fit_trials][:, :, sample])
        val = np.zeros(len(data.condition), dtype=bool)
        val[val_trials] = True
        left_out = tuple(int(c) for c in np.unique(data.condition[val_trials]))
        predicted = reg.predict(data.X)
        errors.append(heldout_errors(data, predicted, val, left_out, task["n_conditions"])["heldout_mse_mean"])
    return float(np.mean(errors))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed-list", type=int, nargs="+", required=True)
    p.add_argument("--candidates", type=float, nargs="+", default=[0.0, 0.01])
    p.add_argument("--epochs", type=int, default=400)
    p.add_argument("--logs", nargs="*", default=[], metavar="CANDIDATE=LOG",
                   help="logs of dynamics_matching.py runs at each candidate weight decay (both arms)")
    p.add_argument("--from-cv", nargs="*", default=None, metavar="LOG",
                   help="fit nothing: read the 'cv' lines of earlier runs of this script")
    args = p.parse_args(argv)

    cv = {}  # (seed, arm, candidate) -> error
    if args.from_cv is not None:
        for path in args.from_cv:
            with open(path) as f:
                for line in f:
                    if line.startswith("cv "):
                        _, seed, wd, err, arm = line.rstrip("\n").split(" ", 4)
                        cv[(int(seed), arm, float(wd))] = float(err)
    else:
        for seed in args.seed_list:
            for arm in ARMS:
                for wd in args.candidates:
                    cv[(seed, arm, wd)] = cv_error(seed, arm, wd, epochs=args.epochs)
                    print(f"cv {seed} {wd:g} {cv[(seed, arm, wd)]:.4f} {arm}", flush=True)
    seeds = [s for s in args.seed_list if all((s, a, wd) in cv for a in ARMS for wd in args.candidates)]
    chosen = {(s, a): min(args.candidates, key=lambda wd: (cv[(s, a, wd)], wd)) for s in seeds for a in ARMS}
    for a in ARMS:
        print(f"{a}: weight decay chosen per seed {[chosen[(s, a)] for s in seeds]}")
    if not args.logs:
        return
    by_candidate = {}
    for item in args.logs:
        wd, path = item.split("=", 1)
        by_candidate.setdefault(float(wd), []).append(path)
    results = {}
    for wd, paths in by_candidate.items():
        # each log may hold one arm or both; read them one by one and merge per seed
        for path in paths:
            log_seeds, rows = read_logs([path])
            for arm, values in rows.items():
                for s, v in zip(log_seeds, values):
                    results[(s, arm, wd)] = v["heldout_mse_mean"]
    test = {a: np.array([results[(s, a, chosen[(s, a)])] for s in seeds]) for a in ARMS}
    for a in ARMS:
        print(f"{a}, own weight decay: held-out MSE of condition means {np.round(test[a], 3).tolist()} "
              f"(mean {test[a].mean():.3f})")
    d = test["activity (gaussian)"] - test["output only"]
    print(f"activity (gaussian) vs output only, each at its chosen weight decay: lower on {int((d < 0).sum())}/"
          f"{len(d)} seeds; mean difference {d.mean():+.3f}, median {np.median(d):+.3f}, {_wilcoxon(d, greater=False)}")


if __name__ == "__main__":
    main()
