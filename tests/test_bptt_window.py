"""Checkpointed BPTT (``bptt_window``): same gradients and same training, less tape memory."""

import numpy as np
import pytest

from motorsrnn import SpikingRNNClassifier, SpikingRNNRegressor
from motorsrnn._validation import InvalidParameterError


def _data(n=40, steps=60, channels=10, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.random((n, steps, channels)) < 0.08).astype(np.uint8)
    y = np.arange(n) % 3
    return X, y


def test_fit_is_bit_identical_with_checkpointed_bptt():
    X, y = _data()
    params = dict(n_hidden=24, max_epochs=3, batch_size=16, random_state=1, n_jobs=2, input_scale=2.0)
    full = SpikingRNNClassifier(**params).fit(X, y)
    assert full.history_[0]["loss"] != full.history_[-1]["loss"]  # training moved the weights
    for window in (1, 7, 59, 200):
        ckpt = SpikingRNNClassifier(bptt_window=window, **params).fit(X, y)
        for key, value in full.get_weights().items():
            np.testing.assert_array_equal(ckpt.get_weights()[key], value, err_msg=f"window {window}, {key}")
        assert [h["loss"] for h in ckpt.history_] == [h["loss"] for h in full.history_]


def test_loss_and_grad_identical_for_regressor_with_activity():
    X, _ = _data(n=20, steps=50)
    rng = np.random.default_rng(3)
    y = rng.normal(size=(20, 50, 2))
    R = rng.poisson(0.3, size=(20, 50, 4)).astype(float)
    reg = SpikingRNNRegressor(n_hidden=16, max_epochs=1, random_state=0, input_scale=2.0, train_time_constants=True)
    reg.fit(X, y, neural_targets=R)
    loss, grads = reg.loss_and_grad(X, y, neural_targets=R)
    reg.set_params(bptt_window=9)
    loss_w, grads_w = reg.loss_and_grad(X, y, neural_targets=R)
    assert loss_w == loss
    assert grads.keys() == grads_w.keys()
    assert any(np.any(g != 0) for g in grads.values())
    for key in grads:
        np.testing.assert_array_equal(grads_w[key], grads[key], err_msg=key)


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-3, ValueError), (2.5, InvalidParameterError),
                                        ("10", InvalidParameterError), (True, InvalidParameterError)])
def test_bad_bptt_window(bad, error):
    X, y = _data(n=12, steps=20)
    with pytest.raises(error, match="bptt_window"):
        SpikingRNNClassifier(bptt_window=bad, max_epochs=1).fit(X, y)


def test_bad_values_at_the_binding():
    """The compiled module rejects what the estimator would never pass, with ValueError."""
    from motorsrnn import _core

    clf = SpikingRNNClassifier(n_hidden=4, max_epochs=1, random_state=0).fit(*_data(n=8, steps=10))
    with pytest.raises(ValueError, match="bptt_window"):
        clf.network_.bptt_window = 0
    clf.network_.bptt_window = 5
    assert clf.network_.bptt_window == 5
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="fraction"):
            _core._set_sparse_below(bad)
    previous = _core._set_sparse_below(0.15)
    assert _core._set_sparse_below(previous) == 0.15
