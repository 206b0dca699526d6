"""Why recurrent weights train at a fifth of the learning rate (``recurrent_lr_scale=0.2``).

Adam moves every weight by about ``learning_rate`` per step, whatever the weight's scale. The
recurrent weights start at ``recurrent_scale / sqrt(n_hidden)``, 5-10 times smaller than the input
weights. This script trains ``SpikingRNNClassifier(n_hidden=256, readout="last")`` on
``make_center_out(n_trials=2400, random_state=0)`` (2000 training trials, the last 400 for testing)
for 1, 3, 10 and 40 epochs, with every weight at the same rate (``recurrent_lr_scale=1``) and with
the default 0.2. For each fit it prints the hidden rate on the test trials, the mean absolute
recurrent weight next to its initial value, and the test accuracy. See docs/model.md (Training).

    python benchmarks/recurrent_step.py            # about two minutes on 2 cores
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from motorsrnn import SpikingRNNClassifier
from motorsrnn.datasets import make_center_out


def main() -> int:
    data = make_center_out(n_trials=2400, random_state=0)
    Xtr, ytr, Xte, yte = data.X[:2000], data.y[:2000], data.X[-400:], data.y[-400:]
    print("| recurrent_lr_scale | epochs | hidden rate (Hz) | mean abs w_rec (initial) | test accuracy |")
    print("|---:|---:|---:|---:|---:|")
    for scale in (1.0, 0.2):
        base = SpikingRNNClassifier(n_hidden=256, readout="last", recurrent_lr_scale=scale, random_state=0)
        w0 = float(np.abs(base.initial_network(Xtr.shape[2], 4).get_weights()["w_rec"]).mean())
        for epochs in (1, 3, 10, 40):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # the rate column shows run-aways
                clf = base.set_params(max_epochs=epochs).fit(Xtr, ytr)
            rate = float(clf.simulate(Xte, membrane=False).spikes.mean()) * 1000.0 / clf.dt
            w = float(np.abs(clf.get_weights()["w_rec"]).mean())
            print(f"| {scale:g} | {epochs} | {rate:.0f} | {w:.4f} ({w0:.4f}) | {clf.score(Xte, yte):.3f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
