"""The Wiener filter baseline: lagged counts, causality, ridge solution, missing targets, weights,
failed refits (and Poisson naive Bayes's)."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from motorsrnn.baselines import WienerFilter

rng = np.random.default_rng(0)
X = rng.poisson(0.4, (30, 25, 4)).astype(np.uint8)


def lagged_by_loop(X, n_lags, width):
    """Feature j * C + c at step t: channel c's count in bins (t - (j + 1) width, t - j width]."""
    n, T, C = X.shape
    F = np.zeros((n, T, n_lags * C))
    for i in range(n):
        for t in range(T):
            for j in range(n_lags):
                lo, hi = max(t - (j + 1) * width + 1, 0), max(t - j * width + 1, 0)
                F[i, t, j * C:(j + 1) * C] = X[i, lo:hi].sum(axis=0)
    return F.reshape(n * T, n_lags * C)


@pytest.mark.parametrize("n_lags, width", [(1, 1), (3, 2), (4, 7)])
def test_lagged_counts_match_a_loop(n_lags, width):
    wf = WienerFilter(n_lags=n_lags, lag_width=width)
    np.testing.assert_array_equal(wf._features(X, True), lagged_by_loop(X, n_lags, width))


def test_recovers_a_causal_linear_filter_and_never_looks_ahead():
    taps = rng.normal(size=(3, 4))  # y[t] = sum_j taps[j] . x[t - j] + 0.5
    F = lagged_by_loop(X, 3, 1)
    y = (F @ taps.reshape(-1) + 0.5).reshape(30, 25, 1)
    wf = WienerFilter(n_lags=3, alpha=1e-8).fit(X, y)
    np.testing.assert_allclose(wf.coef_.reshape(3, 4), taps, atol=1e-6)
    assert wf.intercept_[0] == pytest.approx(0.5, abs=1e-6) and wf.score(X, y) == pytest.approx(1.0)
    later = X.copy()
    later[:, 12:] = rng.poisson(2.0, later[:, 12:].shape)
    np.testing.assert_array_equal(wf.predict(later)[:, :12], wf.predict(X)[:, :12])


def test_is_sklearns_ridge_on_the_features():
    y = rng.normal(size=(30, 25, 2))
    wf = WienerFilter(n_lags=2, lag_width=3, alpha=5.0).fit(X, y)
    ridge = Ridge(alpha=5.0).fit(lagged_by_loop(X, 2, 3), y.reshape(-1, 2))
    np.testing.assert_allclose(wf.coef_, ridge.coef_)
    per_trial = WienerFilter(alpha=5.0).fit(X, y[:, -1, 0])
    ridge = Ridge(alpha=5.0).fit(X.sum(axis=1), y[:, -1, 0])
    np.testing.assert_allclose(per_trial.coef_[0], ridge.coef_)
    assert per_trial.predict(X).shape == (30,) and WienerFilter().fit(X, y[:, -1]).predict(X).shape == (30, 2)


def test_missing_targets_and_weights():
    y = rng.normal(size=(30, 25, 2))
    missing = y.copy()
    missing[:10, :, 1] = np.nan
    wf = WienerFilter(n_lags=2).fit(X, missing)
    np.testing.assert_allclose(wf.coef_[0], WienerFilter(n_lags=2).fit(X, y[..., :1]).coef_[0])
    np.testing.assert_allclose(wf.coef_[1], WienerFilter(n_lags=2).fit(X[10:], y[10:, :, 1:]).coef_[0])
    with pytest.warns(UserWarning, match=r"output\(s\) \[1\] of y have fewer than two observed values"):
        only_one = missing[:10].copy()
        only_one[0, 0, 1] = 0.0
        wf.score(X[:10], only_one)
    w = rng.integers(0, 3, 30).astype(float)
    repeated = np.repeat(np.arange(30), w.astype(int))
    np.testing.assert_allclose(WienerFilter(n_lags=2).fit(X, y, sample_weight=w).coef_,
                               WienerFilter(n_lags=2).fit(X[repeated], y[repeated]).coef_, atol=1e-9)


def test_bad_input():
    y = rng.normal(size=(30, 25, 1))
    with pytest.raises(ValueError, match="n_lags must be"):
        WienerFilter(n_lags=0).fit(X, y)
    with pytest.raises(ValueError, match="lag_width must be"):
        WienerFilter(lag_width=1.5).fit(X, y)
    with pytest.raises(ValueError, match="y has 24 time steps but X has 25"):
        WienerFilter().fit(X, y[:, :24])
    with pytest.raises(ValueError, match="X has 5 features, but WienerFilter is expecting 4"):
        WienerFilter().fit(X, y).predict(np.zeros((2, 25, 5)))
    with pytest.raises(ValueError, match="Negative values"):
        WienerFilter().fit(-X.astype(int), y)
    with pytest.raises(ValueError, match="beyond 1e\\+150: their squared errors would overflow float64"):
        WienerFilter().fit(X, y * 1e160)


def test_targets_beyond_float32_are_fine_in_float64():
    """The ridge regression runs in float64: targets of 1e13 were refused with a float32 message."""
    y = rng.normal(size=(30, 25, 1))
    small = WienerFilter().fit(X, y)
    large = WienerFilter().fit(X, y * 1e13)
    np.testing.assert_allclose(large.predict(X), small.predict(X) * 1e13, rtol=1e-9, atol=1e-9 * 1e13)
    assert large.score(X, y * 1e13) == pytest.approx(small.score(X, y), abs=1e-9)


def test_a_refit_that_raises_leaves_the_old_model():
    y = rng.normal(size=(30, 2))
    wf = WienerFilter().fit(X, y)
    before = wf.predict(X)
    bad = y.copy()
    bad[1:, 1] = np.nan  # output 1 observed only in trial 0, which has weight 0
    w = np.ones(30)
    w[0] = 0.0
    with pytest.raises(ValueError, match="output 1 of y has no observed value"):
        wf.fit(X, bad, sample_weight=w)
    np.testing.assert_array_equal(wf.predict(X), before)
    per_step = np.full((30, 25, 1), np.nan)  # per-step targets this time
    per_step[0] = 1.0
    with pytest.raises(ValueError, match="output 0 of y has no observed value"):
        wf.fit(X, per_step, sample_weight=w)
    assert wf.predict(X).shape == (30, 2) and not wf.per_step_


def test_a_poisson_naive_bayes_refit_that_raises_leaves_the_old_model():
    from motorsrnn import PoissonNaiveBayes

    labels = np.arange(30) % 4
    nb = PoissonNaiveBayes().fit(X, labels)
    before = nb.predict_proba(X)
    with pytest.raises(ValueError, match="overflows"):
        nb.fit(X, np.where(labels < 2, "L", "R"), sample_weight=np.full(30, 1e308))
    np.testing.assert_array_equal(nb.classes_, np.arange(4))
    np.testing.assert_array_equal(nb.predict_proba(X), before)


def test_score_with_missing_targets_is_the_weighted_mean_over_the_scored_outputs():
    """With NaN targets, score is the uniform mean of each output's R^2 over its observed samples,
    with each trial's weight repeated over its steps, as scikit-learn's r2_score computes it; an
    output with fewer than two observed values is left out (of three outputs, the mean of the two
    scored, not their largest)."""
    from sklearn.metrics import r2_score

    local = np.random.default_rng(7)
    F = lagged_by_loop(X, 2, 1)
    Y = (F @ local.normal(size=(8, 3)) + local.normal(scale=2.0, size=(F.shape[0], 3))).reshape(30, 25, 3)
    wf = WienerFilter(n_lags=2).fit(X, Y)
    target = Y + local.normal(scale=2.0, size=Y.shape)
    target[:8, :, 0] = np.nan
    target[:, :, 2] = np.nan
    target[3, 4, 2] = 1.0  # one observed value: no R^2
    w = local.uniform(0.1, 5.0, 30)
    true, pred, sw = target.reshape(-1, 3), wf.predict(X).reshape(-1, 3), np.repeat(w, 25)
    per_output = []
    for j in (0, 1):
        seen = ~np.isnan(true[:, j])
        per_output.append(r2_score(true[seen, j], pred[seen, j], sample_weight=sw[seen]))
    unweighted = [r2_score(true[~np.isnan(true[:, j]), j], pred[~np.isnan(true[:, j]), j]) for j in (0, 1)]
    assert abs(per_output[0] - per_output[1]) > 1e-3 and abs(np.mean(per_output) - np.mean(unweighted)) > 1e-3
    with pytest.warns(UserWarning, match=r"output\(s\) \[2\] of y have fewer than two observed values"):
        assert wf.score(X, target, sample_weight=w) == pytest.approx(np.mean(per_output), rel=1e-12)
    with pytest.warns(UserWarning, match=r"output\(s\) \[2\]"):
        assert wf.score(X, target) == pytest.approx(np.mean(unweighted), rel=1e-12)
