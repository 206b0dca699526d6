"""Activity matching: the loss term, its gradient (against autograd of the spec), and bad input."""

import numpy as np
import pytest

import reference
from motorsrnn import SpikingRNNClassifier, SpikingRNNRegressor

rng = np.random.default_rng(3)
X = (rng.random((48, 25, 6)) < 0.1).astype(np.uint8)
Y = rng.normal(size=(48, 25, 2))
R = rng.gamma(2.0, 10.0, size=(48, 25, 3))  # recorded rates in Hz
FAST = dict(n_hidden=12, max_epochs=2, batch_size=16, random_state=0)


def reference_activity_loss(weights, X, cfg, R, units, tau, weight, hz=True):
    """mean over (trials, t, k) of (r_hat - R)^2 with r_hat the exponentially filtered spikes."""
    _, S, _ = reference.forward(weights, X.astype(np.float64), cfg, record=True)
    d = np.exp(-cfg["dt"] / tau)
    r = np.zeros((X.shape[0], len(units)))
    total = 0.0
    for t in range(X.shape[1]):
        r = d * r + (1 - d) * S[:, t, units] * (1000.0 / cfg["dt"] if hz else 1.0)
        total += ((r - R[:, t]) ** 2).sum()
    return weight * total / (X.shape[0] * X.shape[1] * len(units))


@pytest.mark.parametrize("units", [None, [5, 0, 7]])
def test_loss_is_task_plus_the_spec_activity_term(units):
    reg = SpikingRNNRegressor(**FAST, activity_weight=0.3, activity_tau=15.0).fit(X, Y)
    w = reg.get_weights()
    w["w_in"] *= 3.0
    reg.set_weights(w)
    task, _ = reg.loss_and_grad(X, Y)
    total, _ = reg.loss_and_grad(X, Y, neural_targets=R, neural_units=units)
    u = [0, 1, 2] if units is None else units
    expected = reference_activity_loss(reg.get_weights(), X, reg.get_params(), R, u, 15.0, 0.3)
    assert total - task == pytest.approx(expected, rel=1e-4)
    assert expected > 0


def test_activity_gradient_equals_autodiff():
    import autograd.numpy as anp
    from autograd import grad

    clf = SpikingRNNClassifier(**FAST, activity_weight=0.5, activity_tau=10.0, activity_scale="per_bin")
    y = np.arange(48) % 3
    clf.fit(X, y)
    w = clf.get_weights()
    w["w_in"] *= 3.0
    clf.set_weights(w)
    Rb = R / 1000.0  # spikes per bin
    cfg = dict(clf.get_params())
    units = [4, 1]
    d = np.exp(-1.0 / 10.0)

    def total(params):
        ce = reference.loss(params, X.astype(np.float64), y, cfg)
        # the same filter, differentiably: rerun the forward pass keeping the spikes
        n, T, _ = X.shape
        spike = reference.make_spike_fn(cfg["surrogate"], reference.SLOPE[cfg["surrogate"]])
        alpha, beta = np.exp(-1.0 / cfg["tau_syn"]), np.exp(-1.0 / cfg["tau_mem"])
        H = params["w_rec"].shape[0]
        I = anp.zeros((n, H)); U = anp.zeros((n, H)); s = anp.zeros((n, H)); r = anp.zeros((n, len(units)))
        act = 0.0
        for t in range(T):
            a = anp.dot(X[:, t, :].astype(float), params["w_in"].T) + anp.dot(s, params["w_rec"].T) + params["b_h"]
            I = alpha * I + a
            U = beta * U + I - cfg["threshold"] * reference.detach(s)
            s = spike(U - cfg["threshold"])
            r = d * r + (1 - d) * s[:, units]
            act = act + anp.sum((r - Rb[:, t, :2]) ** 2)
        return ce + 0.5 * act / (n * T * len(units))

    params = {k: np.asarray(v, dtype=np.float64) for k, v in clf.get_weights().items()}
    ref_loss, ref_g = total(params), grad(total)(params)
    loss, g = clf.loss_and_grad(X, y, neural_targets=Rb[:, :, :2], neural_units=units)
    assert loss == pytest.approx(float(ref_loss), rel=1e-4)
    for k in g:
        scale = np.abs(ref_g[k]).max()
        np.testing.assert_allclose(g[k], ref_g[k], rtol=0, atol=2e-4 * scale, err_msg=k)


def test_training_with_activity_matching_reduces_the_activity_error():
    target = np.full((48, 25, 3), 40.0)  # ask three units to fire at 40 Hz
    base = SpikingRNNRegressor(n_hidden=12, max_epochs=30, random_state=0).fit(X, Y)
    matched = SpikingRNNRegressor(n_hidden=12, max_epochs=30, random_state=0, activity_weight=1e-2).fit(X, Y, neural_targets=target)
    rate = lambda est: est.simulate(X, membrane=False).spikes[:, :, :3].mean() * 1000  # noqa: E731
    assert abs(rate(matched) - 40.0) < abs(rate(base) - 40.0)
    assert abs(rate(matched) - 40.0) < 15.0, rate(matched)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(neural_targets=R[:40]), "neural_targets has 40 trials"),
        (dict(neural_targets=R[:, :20]), "20 time steps"),
        (dict(neural_targets=np.zeros((48, 25, 13))), "13 recorded neurons but population 'h' has only 12"),
        (dict(neural_targets=R, neural_units=[1, 1, 2]), "same model unit to two recorded neurons"),
        (dict(neural_targets=R, neural_units=[1, 2, 99]), r"must lie in \[0, 12\)"),
        (dict(neural_targets=np.where(R > 30, np.nan, R)), "NaN"),
        (dict(neural_targets=R, neural_population="M1"), "not a population"),
        (dict(neural_targets=R[:, :, 0]), "must be 3-D"),
    ],
)
def test_bad_neural_targets(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SpikingRNNRegressor(**FAST).fit(X, Y, **kwargs)


def test_rate_regularisation_keeps_populations_within_bounds():
    d = dict(n_hidden=24, max_epochs=20, random_state=0, input_scale=2.0)
    free = SpikingRNNRegressor(**d).fit(X, Y)
    bounded = SpikingRNNRegressor(**d, rate_weight=1e3, rate_bounds=(0.0, 20.0)).fit(X, Y)
    rate = lambda est: est.simulate(X, membrane=False).spikes.mean() * 1000  # noqa: E731
    assert rate(free) > 40.0, rate(free)  # the unconstrained network fires fast
    assert rate(bounded) < 0.6 * rate(free) and rate(bounded) < 30.0, (rate(free), rate(bounded))
    with pytest.raises(ValueError, match="rate_bounds"):
        SpikingRNNRegressor(**FAST, rate_bounds=(30.0, 10.0)).fit(X, Y)
    with pytest.raises(ValueError, match="rate_bounds must be a"):
        SpikingRNNRegressor(**FAST, rate_bounds=5.0).fit(X, Y)
