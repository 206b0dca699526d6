"""scikit-learn conventions that ``check_estimator`` does not exercise: column names of 2-D tables,
``set_output``, early stopping on small data, ``verbose=True``, R^2 of one output given as (n,) or
(n, 1), and the default thread count under joblib's process workers."""

import pickle
import sys
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from motorsrnn import PoissonNaiveBayes, SpikingRNNClassifier, SpikingRNNRegressor, load
from motorsrnn.baselines import SpikeCountTransformer
from motorsrnn.datasets import make_center_out
from motorsrnn.estimators import _n_threads, early_stopping_split

SMALL = dict(n_hidden=16, max_epochs=2, random_state=0, n_jobs=1)


@pytest.fixture(scope="module")
def data():
    return make_center_out(n_trials=120, n_neurons=12, random_state=0)


def _table(data):
    """The trials' counts as a pandas table (the tests that use one skip without pandas)."""
    pd = pytest.importorskip("pandas")
    counts = data.X.sum(axis=1)
    return pd.DataFrame(counts, columns=[f"unit{i}" for i in range(counts.shape[1])])


def _estimators():
    return [SpikingRNNClassifier(**SMALL), SpikingRNNRegressor(**SMALL), PoissonNaiveBayes(), SpikeCountTransformer()]


def _use(est, X):
    return est.transform(X) if isinstance(est, SpikeCountTransformer) else est.predict(X)


def _fit(est, X, y):
    return est.fit(X, y.astype(float) if isinstance(est, SpikingRNNRegressor) else y)


@pytest.mark.parametrize("est", _estimators(), ids=lambda e: type(e).__name__)
def test_column_names_are_stored_and_checked(est, data):
    df = _table(data)
    _fit(est, df, data.y)
    assert list(est.feature_names_in_) == list(df.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = _use(est, df)  # the same columns: no warning
    with pytest.raises(ValueError, match="feature names should match"):
        _use(est, df[df.columns[::-1]])  # same channels, other order: the wrong answer if allowed
    renamed = df.rename(columns={"unit0": "other"})
    with pytest.raises(ValueError, match="unseen at fit time: \\['other'\\]"):
        _use(est, renamed)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(_use(est, df.to_numpy()), expected)
    _fit(est, df.to_numpy(), data.y)  # refit without names: the attribute goes
    assert not hasattr(est, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but"):
        _use(est, df)


def test_mixed_column_name_types_are_refused(data):
    df = _table(data)
    df.columns = ["a"] + list(range(1, df.shape[1]))
    with pytest.raises(TypeError, match="string names"):
        PoissonNaiveBayes().fit(df, data.y)


@pytest.mark.parametrize("cls", [SpikingRNNClassifier, SpikingRNNRegressor])
def test_column_names_survive_save_load_and_pickle(cls, data, tmp_path):
    df = _table(data)
    est = _fit(cls(**SMALL), df, data.y)
    est.save(tmp_path / "m.msrnn")
    for copy in (load(tmp_path / "m.msrnn"), pickle.loads(pickle.dumps(est))):
        assert list(copy.feature_names_in_) == list(df.columns)
        with pytest.raises(ValueError, match="feature names should match"):
            copy.predict(df[df.columns[::-1]])
    no_names = _fit(cls(**SMALL), df.to_numpy(), data.y)
    no_names.save(tmp_path / "n.msrnn")
    assert not hasattr(load(tmp_path / "n.msrnn"), "feature_names_in_")


def test_a_failed_fit_keeps_the_previous_column_names(data):
    df = _table(data)
    clf = SpikingRNNClassifier(**SMALL).fit(df, data.y)
    with pytest.raises(ValueError):
        clf.fit(df.to_numpy(), data.y, neural_targets=np.zeros((3, 1, 1)))  # wrong number of trials
    assert list(clf.feature_names_in_) == list(df.columns)


def test_count_transformer_supports_set_output(data):
    df = _table(data)
    out = SpikeCountTransformer().set_output(transform="pandas").fit(df).transform(df)
    assert type(out).__name__ == "DataFrame" and list(out.columns) == list(df.columns)
    np.testing.assert_array_equal(out.to_numpy(), df.to_numpy())
    # 3-D spike trains have no column names: one feature per channel, x0, x1, ...
    t = SpikeCountTransformer(log1p=True).fit(data.X)
    assert list(t.get_feature_names_out()) == [f"x{i}" for i in range(data.X.shape[2])]
    pipe = make_pipeline(SpikeCountTransformer(), LogisticRegression(max_iter=500)).fit(data.X, data.y)
    assert pipe.score(data.X, data.y) > 0.5
    with pytest.raises(TypeError, match="log1p must be True or False"):
        SpikeCountTransformer(log1p="no").fit(data.X)


def test_early_stopping_when_the_validation_share_is_smaller_than_the_classes():
    d = make_center_out(n_trials=48, n_directions=8, n_neurons=12, random_state=0)
    idx = np.unique(d.y, return_inverse=True)[1]
    tr, va = early_stopping_split(48, 0.1, np.random.RandomState(0), stratify=idx)
    assert len(va) == 5 and len(tr) == 43 and not set(tr) & set(va)  # 5 < 8 classes: not stratified
    tr, va = early_stopping_split(48, 0.25, np.random.RandomState(0), stratify=idx)
    assert len(va) == 12 and len(np.unique(idx[va])) == 8  # room for every class: stratified
    clf = SpikingRNNClassifier(**SMALL, early_stopping=True).fit(d.X, d.y)
    assert clf.history_[-1]["val_loss"] is not None


def test_verbose_true_reports_like_verbose_1(data, capsys):
    SpikingRNNClassifier(**SMALL, verbose=False).fit(data.X, data.y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    SpikingRNNClassifier(**SMALL, verbose=True).fit(data.X, data.y)
    captured = capsys.readouterr()
    assert "loss" in captured.out + captured.err


def test_regressor_scores_one_output_given_as_n_or_n_by_1(data):
    y = data.X.sum(axis=(1, 2)).astype(float)
    y = (y - y.mean()) / y.std()
    for fit_y, score_y in ((y, y[:, None]), (y[:, None], y)):
        reg = SpikingRNNRegressor(**SMALL).fit(data.X, fit_y)
        assert reg.score(data.X, score_y) == pytest.approx(reg.score(data.X, fit_y), abs=1e-12)
    with pytest.raises(ValueError, match="shape"):
        reg.score(data.X, np.stack([y, y], axis=1))  # two outputs for a one-output model


def test_default_threads_respect_omp_num_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    everything = _n_threads(None)
    assert everything == _n_threads(-1) >= 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _n_threads(None) == 1
    assert _n_threads(-1) == everything  # an explicit -1 still means every core
    monkeypatch.setenv("OMP_NUM_THREADS", "100000")
    assert _n_threads(None) == everything
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert _n_threads(None) == everything
    # thousands of threads made every call take tens of seconds: at most 4 per core are started
    assert _n_threads(4096) == _n_threads(65536) == 4 * everything
    assert _n_threads(min(3, 4 * everything)) == min(3, 4 * everything)


def test_a_misspelt_parameter_names_the_public_class():
    """The TypeError named the private base class ("_SpikingRNNBase.__init__() got an unexpected
    keyword argument 'class_weight'")."""
    from motorsrnn import SpikingRNNClassifier, SpikingRNNRegressor

    for cls in (SpikingRNNClassifier, SpikingRNNRegressor):
        with pytest.raises(TypeError, match="unexpected keyword argument 'class_weight'") as info:
            cls(class_weight="balanced")
        assert "_SpikingRNNBase" not in str(info.value)
        if sys.version_info >= (3, 10):
            assert f"{cls.__name__}.__init__()" in str(info.value)
        assert cls(n_hidden=7, tau_mem=3.0).get_params()["tau_mem"] == 3.0


def test_poisson_naive_bayes_has_log_probabilities_as_sklearns_naive_bayes(data):
    """cross_val_predict(PoissonNaiveBayes(), method="predict_log_proba") raised AttributeError:
    scikit-learn's naive Bayes classifiers have predict_log_proba, exact where probabilities
    underflow."""
    from scipy.special import logsumexp
    from sklearn.model_selection import cross_val_predict

    pnb = PoissonNaiveBayes().fit(data.X, data.y)
    log_p = pnb.predict_log_proba(data.X)
    np.testing.assert_allclose(np.exp(log_p), pnb.predict_proba(data.X), rtol=1e-12)
    # the joint log-likelihood written out with scipy's Poisson pmf (not the estimator's own)
    from scipy.stats import poisson

    counts = data.X.sum(axis=1)
    jll = np.stack([poisson.logpmf(counts, rate).sum(axis=1) for rate in pnb.rates_], axis=1) + pnb.class_log_prior_
    np.testing.assert_allclose(log_p, jll - logsumexp(jll, axis=1, keepdims=True), rtol=1e-10, atol=1e-12)
    assert cross_val_predict(PoissonNaiveBayes(), data.X, data.y, cv=3, method="predict_log_proba").shape == (
        len(data.y), 4)
    # many spikes: the probability of the other classes underflows to 0, the log stays finite
    loud = data.X.astype(np.float64) * 200
    assert (pnb.predict_proba(loud) == 0).any() and np.isfinite(pnb.predict_log_proba(loud)).all()


def test_groups_reach_fit_only_when_passed_as_params(data):
    """docs/model.md ("groups in scikit-learn's tools"): cross_val_score(groups=g) gives the groups
    to the splitter only, so early stopping inside the folds would split trials; cross_validate's
    params={"groups": g} gives them to fit as well. The docs said the opposite of the first."""
    from sklearn.model_selection import GroupKFold, cross_val_score, cross_validate

    seen = []

    class Spy(SpikingRNNClassifier):
        def fit(self, X, y, groups=None, **kwargs):
            seen.append(groups is not None)
            return super().fit(X, y, groups=groups, **kwargs)

    g = np.arange(len(data.y)) // 4
    spy = Spy(**SMALL)
    cross_val_score(spy, data.X, data.y, groups=g, cv=GroupKFold(2))
    assert seen == [False, False]
    seen.clear()
    cross_validate(spy, data.X, data.y, groups=g, params={"groups": g}, cv=GroupKFold(2))
    assert seen == [True, True]


def test_tools_that_need_2d_x_refuse_spike_arrays_and_the_documented_recipe_works(data):
    """docs/model.md lists scikit-learn tools that refuse 3-D X; the channel-permutation recipe it
    gives instead runs on the spike arrays."""
    from sklearn.inspection import permutation_importance

    pnb = PoissonNaiveBayes().fit(data.X, data.y)
    with pytest.raises(ValueError, match="dim 3"):
        permutation_importance(pnb, data.X, data.y, n_repeats=2, random_state=0)
    rng = np.random.default_rng(0)
    base = pnb.score(data.X, data.y)
    drops = []
    for c in range(data.X.shape[2]):
        Xp = data.X.copy()
        Xp[:, :, c] = Xp[rng.permutation(len(Xp)), :, c]
        drops.append(base - pnb.score(Xp, data.y))
    assert max(drops) > 0  # some channel carries direction information


def test_set_params_dt_after_fit_changes_no_result_of_the_fitted_network(data):
    """predict kept the fitted network's bin width, but simulate().times, network_tuning's rates,
    early_classification's times and loss_and_grad's rate filter read the changed parameter."""
    from motorsrnn.analysis import early_classification
    from motorsrnn.tuning import network_tuning

    X, y = data.X[:60], data.y[:60]
    clf = SpikingRNNClassifier(**SMALL).fit(X, y)
    R = clf.simulate(X).spikes[:, :, :3].astype(float) * 30.0  # "recorded" rates of three units
    before = (clf.simulate(X).times, network_tuning(clf, X, y).baseline, early_classification(clf, X, y).times,
              clf.loss_and_grad(X, y, neural_targets=R)[0])
    assert np.nanmax(before[1]) > 0 and before[3] > 0
    clf.set_params(dt=10.0)
    after = (clf.simulate(X).times, network_tuning(clf, X, y).baseline, early_classification(clf, X, y).times,
             clf.loss_and_grad(X, y, neural_targets=R)[0])
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="differs from the estimator's own dt"):
        early_classification(clf, X, y, dt=10.0)  # the network runs at 1 ms


@pytest.mark.parametrize("cls", [SpikingRNNClassifier, SpikingRNNRegressor])
def test_fit_takes_its_extra_arguments_by_keyword(cls, data):
    """fit(X, y, w), as for scikit-learn's estimators and our baselines, passed the weights as
    neural_targets ("neural_targets must be 3-D"); after y, fit's arguments are keyword-only."""
    y = data.y if cls is SpikingRNNClassifier else data.y.astype(float)
    with pytest.raises(TypeError, match="positional argument"):
        cls(max_epochs=1).fit(data.X, y, np.ones(len(y)))
    assert cls(max_epochs=1, n_hidden=8, random_state=0).fit(data.X, y, sample_weight=np.ones(len(y))).n_iter_ == 1
