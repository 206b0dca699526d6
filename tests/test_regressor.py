"""SpikingRNNRegressor: continuous targets per trial or per time step."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

import reference
from motorsrnn import SpikingRNNRegressor, load

FAST = dict(n_hidden=16, max_epochs=3, batch_size=16, random_state=0)
rng = np.random.default_rng(0)
X = (rng.random((256, 30, 8)) < 0.08).astype(np.uint8)
# per trial: the count of the first half of the channels, scaled
Y_TRIAL = X[:, :, :4].sum(axis=(1, 2)) / 5.0 - 1.0
# per step: the input rate of two channel groups filtered with a 20 ms exponential kernel
_f = np.zeros((256, 30, 2))
for t in range(30):
    prev = _f[:, t - 1] if t else 0.0
    _f[:, t] = 0.95 * prev + np.stack([X[:, t, :4].sum(1), X[:, t, 4:].sum(1)], axis=1)
Y_STEP = _f / 8.0


def test_per_trial_regression_learns_and_scores():
    reg = SpikingRNNRegressor(n_hidden=32, max_epochs=60, random_state=0).fit(X[:192], Y_TRIAL[:192])
    pred = reg.predict(X[192:])
    assert pred.shape == (64,) and pred.dtype == np.float64
    r2 = reg.score(X[192:], Y_TRIAL[192:])
    assert r2 > 0.5, r2  # measured 0.66 on held-out trials
    assert reg.history_[-1]["loss"] < reg.history_[0]["loss"] and reg.history_[0]["accuracy"] is None
    assert not reg.per_step_ and reg.n_outputs_ == 1


def test_per_step_regression_learns_traces():
    reg = SpikingRNNRegressor(n_hidden=32, max_epochs=60, random_state=0).fit(X[:192], Y_STEP[:192])
    pred = reg.predict(X[192:])
    assert pred.shape == (64, 30, 2) and reg.per_step_
    per = reg.score_per_output(X[192:], Y_STEP[192:])
    assert per.shape == (2,) and (per > 0.6).all(), per  # measured 0.81 overall
    assert reg.score(X[192:], Y_STEP[192:]) == pytest.approx(per.mean())


def test_one_dimensional_y_scores_per_output_and_with_missing_values():
    """Fitted on a 1-D y (one output per trial), score_per_output gives one R^2, and NaN marks
    missing trials for score too, as with 2-D y."""
    from sklearn.metrics import r2_score

    reg = SpikingRNNRegressor(**FAST).fit(X[:64], Y_TRIAL[:64])
    y, pred = Y_TRIAL[64:128].copy(), reg.predict(X[64:128])
    per = reg.score_per_output(X[64:128], y)
    assert per.shape == (1,) and per[0] == pytest.approx(r2_score(y, pred))
    y[:10] = np.nan
    assert reg.score(X[64:128], y) == pytest.approx(r2_score(y[10:], pred[10:]))
    np.testing.assert_allclose(reg.score_per_output(X[64:128], y), [r2_score(y[10:], pred[10:])])


def test_per_step_score_needs_one_weight_per_trial():
    from sklearn.metrics import r2_score

    reg = SpikingRNNRegressor(**FAST).fit(X[:64], Y_STEP[:64])
    Xs, y = X[:32], Y_STEP[:32]
    w = np.linspace(0.5, 2.0, 32)
    expected = r2_score(y.reshape(-1, 2), reg.predict(Xs).reshape(-1, 2), sample_weight=np.repeat(w, 30))
    assert reg.score(Xs, y, sample_weight=w) == pytest.approx(expected)
    for bad in (w[:30], w[:1], np.ones(32 * 30), w[:, None]):  # 30 and 1 divide 32 * 30 samples
        with pytest.raises(ValueError, match=r"one weight per trial \(32\)"):
            reg.score(Xs, y, sample_weight=bad)


def test_a_2d_y_as_long_as_the_trials_warns_that_it_is_read_per_trial():
    with pytest.warns(UserWarning, match=r"pass y\[\.\.\., None\]"):
        reg = SpikingRNNRegressor(**FAST).fit(X[:64], Y_STEP[:64, :, 0])  # (64, 30): 30 bins
    assert not reg.per_step_ and reg.n_outputs_ == 30
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for other 2-D shapes or for per-step targets
        # (three epochs fit worse than a constant: fit says so, which is not what this test is about)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="y: targets far from")  # the first step's targets are small
        SpikingRNNRegressor(**FAST).fit(X[:64], Y_STEP[:64, 0, :])
        SpikingRNNRegressor(**FAST).fit(X[:64], Y_STEP[:64, :, :1])


@pytest.mark.parametrize("target, options", [("step", {}), ("trial", {}), ("trial", {"readout": "last"}), ("step", {"reset": "zero", "train_time_constants": True})])
def test_mse_gradient_equals_autodiff_of_the_spec(target, options):
    y = Y_STEP if target == "step" else np.stack([Y_TRIAL, -Y_TRIAL], axis=1)
    reg = SpikingRNNRegressor(**FAST, **options).fit(X[:32], y[:32])
    w = reg.get_weights()
    w["w_in"] = w["w_in"] * 3.0
    reg.set_weights(w)
    Xs, ys = X[:10], y[:10].astype(np.float32)
    loss, g = reg.loss_and_grad(Xs, ys)
    cfg = dict(reg.get_params())
    _, S, _ = reference.forward(reg.get_weights(), Xs.astype(np.float64), cfg, record=True)
    np.testing.assert_array_equal(reg.simulate(Xs, membrane=False).spikes, S.astype(np.uint8))
    assert S.sum() > 0
    ref_loss, ref_g = reference.mse_and_grad(reg.get_weights(), Xs, ys.astype(np.float64), cfg)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    for k in g:
        scale = np.abs(ref_g[k]).max()
        assert scale > 0, k
        np.testing.assert_allclose(g[k], ref_g[k], rtol=0, atol=2e-4 * scale, err_msg=k)


def test_determinism_persistence_and_clone(tmp_path):
    a = SpikingRNNRegressor(**FAST, n_jobs=1).fit(X, Y_STEP)
    b = SpikingRNNRegressor(**FAST, n_jobs=2).fit(X, Y_STEP)
    np.testing.assert_array_equal(a.get_weights()["w_rec"], b.get_weights()["w_rec"])
    a.save(tmp_path / "r.msrnn")
    for other in (load(tmp_path / "r.msrnn"), pickle.loads(pickle.dumps(a))):
        assert type(other) is SpikingRNNRegressor and other.per_step_
        np.testing.assert_array_equal(other.predict(X), a.predict(X))
    one_d = SpikingRNNRegressor(**FAST).fit(X, Y_TRIAL)
    one_d.save(tmp_path / "r1.msrnn")
    assert load(tmp_path / "r1.msrnn").predict(X[:3]).shape == (3,)
    assert not hasattr(clone(a), "network_")


@pytest.mark.parametrize(
    "y, match",
    [
        (Y_STEP[:, :20], "20 time steps but X has 30"),
        (Y_TRIAL[:50], "X has 256 trials but y has 50"),
        (np.where(Y_TRIAL > 0, np.inf, Y_TRIAL), "infinity"),
        (np.full_like(Y_STEP, np.nan), "every target is NaN"),
        (np.zeros((256, 30, 2, 2)), "must have shape"),
        (None, "requires y to be passed"),
    ],
)
def test_bad_targets(y, match):
    with pytest.raises(ValueError, match=match):
        SpikingRNNRegressor(**FAST).fit(X, y)


def test_verbose_progress_and_early_stopping_for_regression(capsys):
    reg = SpikingRNNRegressor(**{**FAST, "max_epochs": 2}, verbose=2, early_stopping=True).fit(X, Y_STEP)
    out = capsys.readouterr().out
    assert "epoch 2/2: loss" in out and "val_loss" in out and "accuracy" not in out
    assert reg.history_[0]["val_loss"] is not None and reg.history_[0]["val_accuracy"] is None


def test_loss_and_grad_target_kind_must_match():
    reg = SpikingRNNRegressor(**FAST).fit(X, Y_STEP)
    with pytest.raises(ValueError, match="shaped like the targets of fit"):
        reg.loss_and_grad(X, Y_TRIAL)


def test_missing_targets_add_no_error_and_no_gradient():
    """A NaN target is missing: the loss and gradient equal those with the target set to the
    model's own output there (zero error), and R^2 is computed over the observed values."""
    reg = SpikingRNNRegressor(**FAST).fit(X[:64], Y_STEP[:64])
    Xs, y = X[:32], Y_STEP[:32].copy()
    pred = reg.predict(Xs)
    missing = np.zeros(y.shape, dtype=bool)
    missing[:8] = True  # whole trials without targets
    missing[8:, :10, 1] = True  # output 1 not recorded for the first 10 ms
    y_nan = np.where(missing, np.nan, y)
    y_own = np.where(missing, pred, y)
    loss_nan, grads_nan = reg.loss_and_grad(Xs, y_nan)
    loss_own, grads_own = reg.loss_and_grad(Xs, y_own)
    assert loss_nan == pytest.approx(loss_own, rel=1e-6)
    loss_all, _ = reg.loss_and_grad(Xs, y)
    assert loss_nan < loss_all  # the missing entries' errors are really left out
    for k in grads_own:
        np.testing.assert_allclose(grads_nan[k], grads_own[k], rtol=1e-5, atol=1e-7)

    from sklearn.metrics import r2_score

    flat_t, flat_p = y_nan.reshape(-1, 2), pred.reshape(-1, 2)
    expected = [r2_score(flat_t[~np.isnan(flat_t[:, j]), j], flat_p[~np.isnan(flat_t[:, j]), j]) for j in range(2)]
    np.testing.assert_allclose(reg.score_per_output(Xs, y_nan), expected)
    assert reg.score(Xs, y_nan) == pytest.approx(np.mean(expected))

    # training with missing targets (and activity matching on every trial) runs, and the missing
    # entries change what it learns
    R = np.ones((32, 30, 2))
    fitted = SpikingRNNRegressor(**FAST).fit(Xs, y_nan, neural_targets=R)
    assert np.isfinite(fitted.history_[-1]["loss"])
    full = SpikingRNNRegressor(**FAST).fit(Xs, y, neural_targets=R)
    assert not np.array_equal(fitted.get_weights()["w_in"], full.get_weights()["w_in"])


def test_early_stopping_with_groups_for_regression(monkeypatch):
    import motorsrnn.estimators as est_module

    splits = []
    real = est_module._group_validation_split
    monkeypatch.setattr(est_module, "_group_validation_split",
                        lambda g, f, rng, **kw: splits.append((g, real(g, f, rng, **kw))) or splits[-1][1])
    groups = np.arange(len(X)) // 2
    reg = SpikingRNNRegressor(**{**FAST, "max_epochs": 2}, early_stopping=True).fit(X, Y_STEP, groups=groups)
    assert all(h["val_loss"] is not None for h in reg.history_)
    assert len(splits) == 1
    g, (tr, va) = splits[0]
    assert len(va) > 0 and not set(g[tr]) & set(g[va])
    with pytest.raises(ValueError, match="one group per trial"):
        SpikingRNNRegressor(**FAST, early_stopping=True).fit(X, Y_STEP, groups=groups[:-1])


def test_missing_targets_messages_name_the_problem():
    """Early stopping whose validation split holds only missing targets named the user's whole y
    ("every target is NaN"); an output without any observed value made score() NaN."""
    rng = np.random.default_rng(0)
    X = (rng.random((20, 10, 3)) < 0.2).astype(np.uint8)
    y = rng.normal(size=(20, 2))
    y_mostly_missing = y.copy()
    y_mostly_missing[2:] = np.nan
    reg = SpikingRNNRegressor(n_hidden=8, max_epochs=1, random_state=0, early_stopping=True, validation_fraction=0.2)
    with pytest.raises(ValueError, match="early stopping's (validation|training) split .* has no observed target"):
        reg.fit(X, y_mostly_missing)
    reg = SpikingRNNRegressor(n_hidden=8, max_epochs=1, random_state=0).fit(X, y)
    one_missing = y.copy()
    one_missing[:, 1] = np.nan
    with pytest.warns(UserWarning, match=r"output\(s\) \[1\] of y have fewer than two observed values"):
        score = reg.score(X, one_missing)
    assert score == pytest.approx(reg.score_per_output(X, y)[0])
    one_missing[0, 1] = 1.0  # a single observed value: R^2 is still undefined, and the warning says why
    with pytest.warns(UserWarning, match=r"\[1\] of y have fewer than two observed values .*R\^2 needs two"):
        assert reg.score(X, one_missing) == pytest.approx(score)



def test_the_per_step_scorer_scores_outputs_with_too_few_values_as_score_does():
    """per_step_scorer("r2") gave NaN (a NaN fold in GridSearchCV) where score() gave the mean R^2
    of the outputs that have one, with a warning."""
    from motorsrnn import per_step_scorer

    rng = np.random.default_rng(3)
    X = (rng.random((30, 10, 4)) < 0.2).astype(np.uint8)
    reg = SpikingRNNRegressor(n_hidden=8, max_epochs=2, random_state=0, n_jobs=1).fit(X, rng.normal(size=(30, 10, 2)))
    y = rng.normal(size=(30, 10, 2))
    y[..., 1] = np.nan
    y[0, 0, 1] = 0.3  # one observed value: no R^2 for output 1
    with pytest.warns(UserWarning, match=r"output\(s\) \[1\] of y have fewer than two observed values"):
        expected = reg.score(X, y)
    with pytest.warns(UserWarning, match=r"output\(s\) \[1\] of y have fewer than two observed values"):
        assert per_step_scorer("r2")(reg, X, y) == pytest.approx(expected)
    with pytest.warns(UserWarning, match=r"output\(s\) \[1\] of y have fewer than two observed values"):
        ev = per_step_scorer("explained_variance")(reg, X, y)  # scikit-learn gives one value a score of 1.0
    from sklearn.metrics import explained_variance_score
    assert ev == pytest.approx(explained_variance_score(y[..., 0].ravel(), reg.predict(X)[..., 0].ravel()))
    y[0, 0, 1] = np.nan
    with pytest.warns(UserWarning, match=r"output\(s\) \[1\] of y have no observed value"):
        mse = per_step_scorer("neg_mean_squared_error")(reg, X, y)
    assert mse == pytest.approx(-np.mean((reg.predict(X)[..., 0] - y[..., 0]) ** 2))


def test_activity_inputs_that_cannot_be_matched():
    rng = np.random.default_rng(1)
    X = (rng.random((12, 10, 3)) < 0.2).astype(np.uint8)
    y = rng.normal(size=(12, 10, 1))
    reg = SpikingRNNRegressor(n_hidden=8, max_epochs=1, random_state=0)
    with pytest.warns(UserWarning, match="negative values .* never negative"):
        reg.fit(X, y, neural_targets=rng.normal(size=(12, 10, 2)))  # z-scored activity
    for kwargs in (dict(neural_units=[0, 1]), dict(neural_population="h")):
        with pytest.raises(ValueError, match="given without neural_targets"):
            reg.fit(X, y, **kwargs)
        with pytest.raises(ValueError, match="given without neural_targets"):
            reg.loss_and_grad(X, y, **kwargs)


def test_an_output_never_observed_is_refused_in_fit_and_score():
    """An all-NaN output column trained nothing and predict returned values for it, silently; an
    all-NaN y in score returned nan without a word."""
    y = np.stack([Y_TRIAL[:64], np.full(64, np.nan)], axis=1)
    with pytest.raises(ValueError, match=r"output\(s\) \[1\] of y have no observed value \(all NaN\) in any trial"):
        SpikingRNNRegressor(**FAST).fit(X[:64], y)
    y[5, 1] = 0.5  # one observed value is enough to fit it
    assert SpikingRNNRegressor(**FAST).fit(X[:64], y).n_outputs_ == 2
    reg = SpikingRNNRegressor(**FAST).fit(X[:64], Y_TRIAL[:64])
    with pytest.raises(ValueError, match="every target is NaN .*no R\\^2 to compute"):
        reg.score(X[:64], np.full(64, np.nan))


def test_per_step_scorer_scores_3d_targets_where_scoring_strings_give_nan():
    """scoring="r2" with per-step targets gave NaN for every fold (scikit-learn's metrics refuse
    3-D y) and GridSearchCV returned its first candidate; per_step_scorer counts every step of
    every trial as a sample, like score()."""
    import warnings

    from sklearn.metrics import mean_absolute_error, mean_squared_error
    from sklearn.model_selection import GridSearchCV, cross_val_score

    from motorsrnn import per_step_scorer

    rng = np.random.default_rng(1)
    X = rng.poisson(0.2, (40, 15, 6)).astype(np.uint8)
    Y = np.cumsum(X[:, :, :2], axis=1) / 5.0
    reg = SpikingRNNRegressor(n_hidden=12, max_epochs=3, random_state=0).fit(X, Y)
    pred = reg.predict(X).reshape(-1, 2)
    flat = Y.reshape(-1, 2)
    assert per_step_scorer("r2")(reg, X, Y) == pytest.approx(reg.score(X, Y), rel=1e-9)
    assert per_step_scorer("neg_mean_squared_error")(reg, X, Y) == pytest.approx(-mean_squared_error(flat, pred))
    assert per_step_scorer("neg_mean_absolute_error")(reg, X, Y) == pytest.approx(-mean_absolute_error(flat, pred))
    # missing targets: each output over its observed samples, as score() does
    Ym = Y.copy()
    Ym[::3, :, 0] = np.nan
    assert per_step_scorer("r2")(reg, X, Ym) == pytest.approx(reg.score(X, Ym), rel=1e-9)
    # per-trial targets: scikit-learn's own scorer
    y2 = Y[:, -1, :]
    reg2 = SpikingRNNRegressor(n_hidden=12, max_epochs=3, random_state=0).fit(X, y2)
    from sklearn.metrics import get_scorer
    assert per_step_scorer("r2")(reg2, X, y2) == pytest.approx(get_scorer("r2")(reg2, X, y2), rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nan = cross_val_score(reg, X, Y, cv=2, scoring="r2")
    assert np.isnan(nan).all()  # the problem this scorer exists for
    scores = cross_val_score(reg, X, Y, cv=2, scoring=per_step_scorer("r2"))
    assert np.isfinite(scores).all()
    search = GridSearchCV(reg, {"learning_rate": [1e-6, 1e-2]}, cv=2, scoring=per_step_scorer()).fit(X, Y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_ == {"learning_rate": 1e-2}  # a step of 1e-6 barely trains
    w = np.linspace(0.5, 2.0, len(X))
    assert per_step_scorer("r2")(reg, X, Y, sample_weight=w) == pytest.approx(reg.score(X, Y, sample_weight=w),
                                                                             rel=1e-9)
    with pytest.raises(ValueError, match=r"sample_weight must hold one weight per trial \(40\), got shape \(600,\)"):
        per_step_scorer("r2")(reg, X, Y, sample_weight=np.ones(600))  # one per step is not what it takes
    with pytest.raises(ValueError, match="metric must be one of"):
        per_step_scorer("accuracy")


def test_badly_scaled_targets_warn_at_fit_with_how_to_standardise():
    """Velocity in mm/s (sd about 100) trained badly, and the only warning advised a lower
    learning_rate, which made it worse; docs/model.md promised a warning about the scale."""
    import warnings as _w

    rng = np.random.default_rng(0)
    X = (rng.random((30, 20, 5)) < 0.1).astype(np.uint8)
    with pytest.warns(UserWarning, match=r"y: targets far from zero mean and unit scale .* standard deviations 9\d\.\d "
                                         r"to 9\d\.\d\): standardise them, e.g. per output over trials and steps"):
        SpikingRNNRegressor(n_hidden=8, max_epochs=1, random_state=0).fit(X, rng.normal(size=(30, 20, 2)) * 96)
    with pytest.warns(UserWarning, match=r"standard deviations 0.01.*TransformedTargetRegressor"):
        SpikingRNNRegressor(n_hidden=8, max_epochs=1, random_state=0).fit(X, rng.normal(size=(30, 2)) * 0.016)
    with _w.catch_warnings(record=True) as caught:
        _w.simplefilter("always")
        SpikingRNNRegressor(n_hidden=8, max_epochs=1, random_state=0).fit(X, rng.normal(size=(30, 2)))
    assert not [w for w in caught if "unit scale" in str(w.message)]


def test_output_statistics_in_chunks_equal_numpys():
    """The targets' per-output mean, sd and weighted mean are computed 256 trials at a time (a
    float64 copy of long per-step targets took 9 bytes per value beyond the memory estimate)."""
    from motorsrnn.estimators import _output_stats

    rng = np.random.default_rng(0)
    y = rng.normal(3.0, 2.0, (23, 7, 3)).astype(np.float32)
    y[rng.random(y.shape) < 0.2] = np.nan
    y[:, :, 2][:20] = np.nan  # an output seen only in the last trials
    w = rng.uniform(0, 2, 23)
    w[20:] = 0.0  # ... all of weight 0
    for chunk in (256, 5, 1):
        mean, sd, w_mean = _output_stats(y, w, chunk=chunk)
        flat = y.astype(np.float64).reshape(-1, 3)
        np.testing.assert_allclose(mean, np.nanmean(flat, axis=0), rtol=1e-12)
        np.testing.assert_allclose(sd, np.nanstd(flat, axis=0), rtol=1e-12)
        rows_w = np.repeat(w, 7)
        for o in range(2):
            seen = ~np.isnan(flat[:, o])
            assert w_mean[o] == pytest.approx(np.average(flat[seen, o], weights=rows_w[seen]), rel=1e-12)
        assert np.isnan(w_mean[2])
    mean2, sd2, w_mean2 = _output_stats(y[:, 0, :2])  # per-trial targets, no weights
    np.testing.assert_allclose(w_mean2, np.nanmean(y[:, 0, :2].astype(np.float64), axis=0), rtol=1e-12)
