"""Writes the model files of format version 1 that tests/test_model_file_compat.py loads.

Run once, at commit b5d98a3 (the last build that wrote version 1), from the repository root:
``python tests/data/make_format_v1_files.py``. Later builds write version 2, so running it again
makes version-2 files; the committed files are the ones to keep.
"""

from pathlib import Path

import numpy as np

import motorsrnn
from motorsrnn.datasets import make_center_out, make_reaching_dynamics

HERE = Path(__file__).parent


def main():
    data = make_center_out(n_trials=48, n_neurons=8, n_timesteps=20, random_state=0)
    X, y = data.X, data.y
    clf = motorsrnn.SpikingRNNClassifier(
        n_hidden=12, max_epochs=3, batch_size=16, architecture="motorsrnn", random_state=0
    ).fit(X, y)
    clf.save(HERE / "classifier_v1.msrnn")
    d = make_reaching_dynamics(
        n_conditions=4, n_trials_per_condition=2, n_neurons=20, n_timesteps=60, random_state=0
    )
    reg = motorsrnn.SpikingRNNRegressor(n_hidden=10, max_epochs=2, batch_size=8, random_state=0).fit(d.X, d.y)
    reg.save(HERE / "regressor_v1.msrnn")
    np.savez_compressed(
        HERE / "format_v1_expected.npz",
        X_clf=X[:6],
        clf_decision=clf.decision_function(X[:6]),
        X_reg=d.X[:2],
        reg_predict=reg.predict(d.X[:2]),
    )
    print("format version", motorsrnn.FORMAT_VERSION)


if __name__ == "__main__":
    main()
