"""Trial weights in fit (``sample_weight``): what they mean, that they are checked, and that
scikit-learn's tools pass them on. The core's weighted gradients are checked against finite
differences and single-trial sums in tests/gradients.rs."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.utils.class_weight import compute_sample_weight

from motorsrnn import PoissonNaiveBayes, SpikingRNNClassifier, SpikingRNNRegressor
from motorsrnn.datasets import make_center_out
from motorsrnn.estimators import early_stopping_split


@pytest.fixture(scope="module")
def data():
    b = make_center_out(n_trials=48, n_neurons=12, n_timesteps=20, random_state=0)
    return b.X, b.y


def small(cls=SpikingRNNClassifier, **kw):
    return cls(**{"n_hidden": 12, "max_epochs": 3, "batch_size": 16, "random_state": 0, **kw})


@pytest.mark.parametrize("bad, match", [
    (np.ones(47), r"one weight per trial of X \(48\), got shape \(47,\)"),
    (np.ones((48, 1)), r"1-D with one weight per trial"),
    (np.r_[-1.0, np.ones(47)], r"non-negative, got -1 \(trial 0\)"),
    (np.r_[np.nan, np.ones(47)], "NaN or infinite"),
    (np.r_[np.inf, np.ones(47)], "NaN or infinite"),
    (np.zeros(48), "zero for every trial"),
    (np.ones(48) * 1j, "real numbers"),
    (np.array(["a"] * 48), "real numbers"),
    (-2.0, "non-negative"),
    (10**400, "real numbers"),  # beyond float64
    (np.array(["1"] * 48, dtype=object), "real numbers"),  # NumPy would read the text as numbers
    (np.array([None] * 48, dtype=object), "real numbers"),  # ... and None as NaN
])
def test_bad_weights_are_refused_before_anything_changes(data, bad, match):
    X, y = data
    for est, target in ((small(), y), (small(SpikingRNNRegressor), np.cos(y)[:, None])):
        with pytest.raises(ValueError, match=match):
            est.fit(X, target, sample_weight=bad)
        assert not hasattr(est, "network_")


def test_equal_weights_train_exactly_as_no_weights(data):
    """Weights are rescaled to a mean of 1: all-equal weights (a number, ones, a list) give the
    same network bit for bit, for both estimators."""
    X, y = data
    Y = np.stack([np.cos(y), np.sin(y)], axis=1)
    for cls, target in ((SpikingRNNClassifier, y), (SpikingRNNRegressor, Y)):
        plain = small(cls).fit(X, target).get_weights()
        for w in (np.ones(len(X)), 3.5, [0.25] * len(X)):
            same = small(cls).fit(X, target, sample_weight=w).get_weights()
            for k in plain:
                np.testing.assert_array_equal(plain[k], same[k], err_msg=f"{cls.__name__} {k} {w!r}")
        other = small(cls).fit(X, target, sample_weight=np.arange(len(X)) % 3).get_weights()
        assert any(not np.array_equal(plain[k], other[k]) for k in plain), "unequal weights changed nothing"


def test_integer_weights_train_as_repeated_trials_in_one_batch(data):
    """With one batch per epoch, weight k trains as k copies of the trial (weight 0 as removing
    it), up to float32 rounding: the definition of weights that scikit-learn checks."""
    X, y = data
    w = np.random.default_rng(1).integers(0, 4, len(X))
    Xr, yr = np.repeat(X, w, axis=0), np.repeat(y, w)
    Y, Yr = np.cos(y)[:, None], np.cos(yr)[:, None]
    kw = dict(batch_size=512, max_epochs=5)
    weighted = small(**kw).fit(X, y, sample_weight=w)
    repeated = small(**kw).fit(Xr, yr)
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-4, atol=1e-6)
    assert weighted.history_[-1]["loss"] == pytest.approx(repeated.history_[-1]["loss"], rel=1e-5)
    assert weighted.history_[-1]["accuracy"] == pytest.approx(repeated.history_[-1]["accuracy"], rel=1e-6)
    reg_w = small(SpikingRNNRegressor, **kw).fit(X, Y, sample_weight=w)
    reg_r = small(SpikingRNNRegressor, **kw).fit(Xr, Yr)
    np.testing.assert_allclose(reg_w.predict(X), reg_r.predict(X), rtol=1e-4, atol=1e-6)
    # and the weights are not ignored: without them the result differs far beyond rounding
    unweighted = small(**kw).fit(X, y)
    assert np.abs(unweighted.predict_proba(X) - repeated.predict_proba(X)).max() > 1e-3


def conflicting(n=40, seed=0):
    """Trials with the same input and two different targets: the best prediction for that input
    is the (weighted) mean of the targets."""
    X = np.random.default_rng(seed).poisson(0.1, (1, 10, 4)).repeat(n, axis=0).astype(np.uint8)
    first = np.arange(n) % 2 == 0
    return X, first


def test_weights_move_the_prediction_to_the_weighted_optimum():
    """Two labels for one input, weighted 3:1: the classifier's probability of the first goes to
    3/4 (1/2 unweighted) and the regressor's output to the weighted mean of 0 and 1."""
    X, first = conflicting()
    y = np.where(first, "left", "right")
    w = np.where(first, 3.0, 1.0)
    kw = dict(n_hidden=8, max_epochs=60, batch_size=40, learning_rate=0.05, random_state=0)
    with warnings.catch_warnings():  # no network beats a constant on one input: fit may say so
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = SpikingRNNClassifier(**kw).fit(X, y, sample_weight=w)
        plain = SpikingRNNClassifier(**kw).fit(X, y)
        reg = SpikingRNNRegressor(**kw).fit(X, np.where(first, 0.0, 1.0), sample_weight=w)
    assert weighted.predict_proba(X[:1])[0, 0] == pytest.approx(0.75, abs=0.02)
    assert plain.predict_proba(X[:1])[0, 0] == pytest.approx(0.5, abs=0.02)
    assert list(weighted.predict(X[:1])) == ["left"]
    assert reg.predict(X[:1])[0] == pytest.approx(0.25, abs=0.03)
    loss_w, _ = weighted.loss_and_grad(X, y, sample_weight=w)
    loss_3x, _ = weighted.loss_and_grad(np.concatenate([X[first]] * 3 + [X[~first]]),
                                        np.concatenate([y[first]] * 3 + [y[~first]]))
    assert loss_w == pytest.approx(loss_3x, rel=1e-5)
    # fit's check against a constant prediction compares weighted losses: the weighted network is
    # as good as the weighted class frequencies (unweighted, it would look far worse than 1/2-1/2)
    idx = first.astype(np.int64) ^ 1  # class indices: "left" is 0
    _, net, const, _ = weighted._fit_against_constant(X, idx, len(X), w)
    net_w, const_w = net, const
    assert const == pytest.approx(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)), rel=1e-9)
    assert net == pytest.approx(const, abs=2e-3)
    _, net_u, const_u, _ = weighted._fit_against_constant(X, idx, len(X))
    assert const_u == pytest.approx(np.log(2)) and net_u > const_u + 0.1
    _, net, const, _ = reg._fit_against_constant(X, np.where(first, 0.0, 1.0)[:, None], len(X), w)
    assert const == pytest.approx(0.1875, rel=1e-9) and net == pytest.approx(const, abs=2e-3)
    # only the weights' ratios matter there too, also at the ends of float64's range
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for scale in (5e-324, 1e307 / 3.0):  # the smallest subnormal; 3 x 1e307 / 3 near the largest
            assert weighted._fit_against_constant(X, idx, len(X), w * scale)[1:3] == pytest.approx((net_w, const_w))


def test_loss_and_grad_is_the_weighted_mean_of_trial_losses(data):
    X, y = data
    clf = small().fit(X, y)
    w = np.linspace(0.0, 2.0, len(X))
    loss, grads = clf.loss_and_grad(X, y, sample_weight=w)
    parts = [clf.loss_and_grad(X[i:i + 1], y[i:i + 1]) for i in range(len(X))]
    assert loss == pytest.approx(sum(wi * p[0] for wi, p in zip(w, parts)) / w.sum(), rel=1e-5)
    for k, g in grads.items():
        want = sum(wi * p[1][k] for wi, p in zip(w, parts)) / w.sum()
        np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-6 * np.abs(want).max())
    with pytest.raises(ValueError, match="one weight per trial"):
        clf.loss_and_grad(X, y, sample_weight=w[:-1])
    reg = small(SpikingRNNRegressor).fit(X, np.cos(y))
    l_w = reg.loss_and_grad(X, np.cos(y), sample_weight=w)[0]
    l_i = [reg.loss_and_grad(X[i:i + 1], np.cos(y[i:i + 1]))[0] for i in range(len(X))]
    assert l_w == pytest.approx(np.dot(w, l_i) / w.sum(), rel=1e-5)


def test_early_stopping_weighs_the_validation_set(data):
    """The validation loss in history_ is the weighted mean over the validation trials (the split
    that fit draws from random_state), and a split side without weight is refused clearly."""
    X, y = data
    w = 0.5 + (np.arange(len(X)) % 4)
    clf = small(early_stopping=True, validation_fraction=0.25, max_epochs=1).fit(X, y, sample_weight=w)
    rng = np.random.RandomState(0)
    SpikingRNNClassifier._seeds(rng)  # fit draws the two seeds before the split
    _, va = early_stopping_split(len(X), 0.25, rng, stratify=np.searchsorted(clf.classes_, y))
    assert clf.history_[0]["val_loss"] == pytest.approx(clf.loss_and_grad(X[va], y[va], sample_weight=w[va])[0],
                                                        rel=1e-5)
    unweighted_val = clf.loss_and_grad(X[va], y[va])[0]
    assert abs(clf.history_[0]["val_loss"] - unweighted_val) > 1e-4
    zero_val = w.copy()
    zero_val[va] = 0.0
    with pytest.raises(ValueError, match="validation split .* no trial of positive sample_weight"):
        small(early_stopping=True, validation_fraction=0.25).fit(X, y, sample_weight=zero_val)


def test_scikit_learn_tools_pass_the_weights_per_fold(data):
    """cross_validate and GridSearchCV slice the weights by fold (the same as fitting each fold
    by hand), and under metadata routing the request is needed, as for any estimator."""
    X, y = data
    w = compute_sample_weight("balanced", np.where(y == 0, 0, 1))  # direction 0 against the rest
    cv = StratifiedKFold(2)
    routed = cross_validate(small(), X, y, cv=cv, params={"sample_weight": w}, return_estimator=True)
    for (tr, _), est in zip(cv.split(X, y), routed["estimator"]):
        by_hand = small().fit(X[tr], y[tr], sample_weight=w[tr])
        np.testing.assert_array_equal(est.get_weights()["w_out"], by_hand.get_weights()["w_out"])
    grid = GridSearchCV(small(), {"n_hidden": [6, 12]}, cv=cv).fit(X, y, sample_weight=w)
    by_hand = small(n_hidden=grid.best_params_["n_hidden"]).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(grid.best_estimator_.get_weights()["w_out"], by_hand.get_weights()["w_out"])
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(Exception, match="sample_weight"):
            cross_validate(small(), X, y, cv=cv, params={"sample_weight": w})
        est = small().set_fit_request(sample_weight=True).set_score_request(sample_weight=False)
        requested = cross_validate(est, X, y, cv=cv,
                                   params={"sample_weight": w}, return_estimator=True)
    for a, b in zip(requested["estimator"], routed["estimator"]):
        assert a.history_ == b.history_


def test_poisson_naive_bayes_weights_are_repetitions(data):
    """The count baseline takes the same weights: integer weights give the model of the repeated
    trials (to float64 rounding), a weight of 0 removes a trial, bad weights are refused."""
    X, y = data
    w = np.random.default_rng(2).integers(0, 4, len(X))
    weighted = PoissonNaiveBayes().fit(X, y, sample_weight=w)
    repeated = PoissonNaiveBayes().fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.rates_, repeated.rates_, rtol=1e-12)
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-10)
    plain = PoissonNaiveBayes().fit(X, y)
    assert np.abs(plain.rates_ - weighted.rates_).max() > 0.05
    doubled = PoissonNaiveBayes().fit(X, y, sample_weight=2.0)  # every trial twice
    np.testing.assert_allclose(doubled.class_log_prior_, plain.class_log_prior_, rtol=1e-12)
    np.testing.assert_allclose(doubled.rates_, PoissonNaiveBayes().fit(np.tile(X, (2, 1, 1)), np.tile(y, 2)).rates_,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="non-negative"):
        PoissonNaiveBayes().fit(X, y, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="overflows"):
        PoissonNaiveBayes().fit(X, y, sample_weight=np.full(len(X), 1e307))


def test_weighted_accuracy_cannot_exceed_one(data):
    """The weighted accuracies in history_ divide by the sum of the weights as the core stores them
    (float32), not by the number of trials: a perfect fit has accuracy 1, not 1 + rounding."""
    X = np.zeros((60, 10, 4), np.uint8)
    y = np.arange(60) % 2
    X[y == 0, :, :2] = 1
    X[y == 1, :, 2:] = 1
    w = np.random.default_rng(3).uniform(0.1, 10.0, 60)
    clf = SpikingRNNClassifier(n_hidden=8, max_epochs=30, learning_rate=0.02, early_stopping=True,
                               validation_fraction=0.3, n_iter_no_change=30, random_state=0).fit(X, y, sample_weight=w)
    accuracies = [h[key] for h in clf.history_ for key in ("accuracy", "val_accuracy")]
    assert max(accuracies) == 1.0 and all(a <= 1.0 for a in accuracies)


def test_weight_zero_trials_do_not_set_the_activity_normalisation(data):
    """activity_normalize divides each recorded neuron's error by its variance: a weighted variance,
    so the recordings of a trial of weight 0 change neither the loss nor the fit."""
    X, y = data
    R = np.random.default_rng(4).poisson(3.0, X.shape[:2] + (5,)).astype(np.float64)
    R_outlier = R.copy()
    R_outlier[0] *= 100.0
    w = np.ones(len(X))
    w[0] = 0.0
    kw = dict(activity_normalize=True, activity_weight=0.5, activity_scale="per_bin")
    fits = [small(**kw).fit(X, y, neural_targets=r, sample_weight=w) for r in (R, R_outlier)]
    for k, v in fits[0].get_weights().items():
        np.testing.assert_array_equal(v, fits[1].get_weights()[k], err_msg=k)
    losses = [fits[0].loss_and_grad(X, y, neural_targets=r, sample_weight=w)[0] for r in (R, R_outlier)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    assert fits[0].loss_and_grad(X, y, neural_targets=R_outlier)[0] != pytest.approx(losses[0], rel=1e-2)


def test_regressor_refuses_targets_seen_only_in_weightless_trials(data):
    X, _ = data
    Y = np.random.default_rng(5).normal(size=(len(X), 2))
    Y[24:, 1] = np.nan
    w = np.r_[np.zeros(24), np.ones(24)]
    est = small(SpikingRNNRegressor)
    with pytest.raises(ValueError, match=r"output\(s\) \[1\] .* in any trial of positive sample_weight"):
        est.fit(X, Y, sample_weight=w)
    assert not hasattr(est, "network_")
    small(SpikingRNNRegressor).fit(X, Y, sample_weight=w[::-1])  # output 1 seen in the weighted trials: fine
