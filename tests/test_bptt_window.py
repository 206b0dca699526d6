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


def test_the_memory_error_names_the_window_that_needs_the_least_memory(monkeypatch):
    """The advice was always "set a smaller bptt_window", but windows of a few steps keep a
    checkpoint every few steps and need more memory than none (at 20000 steps and 256 units,
    bptt_window=1 needs three times the tape of the whole trial)."""
    import motorsrnn._validation as validation
    import motorsrnn.estimators as est

    sizes = {"neurons": 256, "tau_neurons": 0, "outputs": 4, "params": 0, "packed": 0}
    cost = {w: est._gradient_bytes_per_chunk(sizes, 20000, w, False) for w in [None, 1, 2, *range(3, 20000, 1)]}
    best = min((w for w in cost if w is not None), key=cost.get)
    assert cost[1] > cost[None] and cost[best] < cost[None] / 10
    advice = est._window_advice(sizes, 20000, None, False)
    advised = int(advice.split("bptt_window=")[1].split(" ")[0])
    assert advice.startswith(f"set bptt_window={advised} (the window that needs the least memory")
    assert cost[advised] <= 1.001 * cost[best], (advised, best)
    assert f"set a larger bptt_window (windows of few steps keep a checkpoint every few steps): bptt_window={advised}" in (
        est._window_advice(sizes, 20000, 2, False))
    assert est._window_advice(sizes, 20000, advised, False) == ""
    # on short trials no window beats the whole trial's tape: no window is advised, and a window is advised against
    assert est._window_advice(sizes, 5, None, False) == ""
    assert est._window_advice(sizes, 5, 2, False).startswith("train without bptt_window (on trials this short")
    # through fit: a limit below the whole trial's tape, long trials
    X = (np.random.default_rng(0).random((4, 3000, 5)) < 0.02).astype(np.uint8)
    monkeypatch.setattr(validation, "memory_limit", lambda: 4 * 2**20)
    with pytest.raises(MemoryError, match=r"set bptt_window=\d+ \(the window that needs the least memory"):
        SpikingRNNClassifier(n_hidden=64, max_epochs=1).fit(X, np.arange(4) % 2)
