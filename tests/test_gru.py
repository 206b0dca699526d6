"""The GRU and LSTM baselines (optional PyTorch): a clear error without it; with it, working
classifiers whose per-bin logits give early classification in one pass."""

import pickle
import sys

import numpy as np
import pytest
from sklearn.base import clone

from motorsrnn.analysis import early_classification
from motorsrnn.baselines import GRUClassifier, LSTMClassifier, has_torch
from motorsrnn.datasets import make_center_out


@pytest.mark.parametrize("cls", [GRUClassifier, LSTMClassifier])
def test_without_torch_fit_says_how_to_install(monkeypatch, cls):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(ImportError, match=cls.__name__ + r' needs PyTorch.*pip install "motorsrnn\[gru\]"'):
        cls(max_epochs=1).fit(np.zeros((4, 5, 2)), [0, 1, 0, 1])


def test_bad_parameters_are_named_before_torch_is_needed():
    with pytest.raises(ValueError, match="hidden_size must be >= 1"):
        GRUClassifier(hidden_size=0).fit(np.zeros((4, 5, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="2 classes"):
        GRUClassifier().fit(np.zeros((4, 5, 2)), [0, 0, 0, 0])
    with pytest.raises(ValueError, match="4 trials but y has 3"):
        GRUClassifier().fit(np.zeros((4, 5, 2)), [0, 1, 0])
    with pytest.raises(ValueError, match="validation_fraction must be < 1"):
        GRUClassifier(early_stopping=True, validation_fraction=1.0).fit(np.zeros((4, 5, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="early_stopping must be True or False"):
        GRUClassifier(early_stopping="yes").fit(np.zeros((4, 5, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="n_iter_no_change must be >= 1"):
        GRUClassifier(n_iter_no_change=0).fit(np.zeros((4, 5, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="groups must be 1-D with one group per trial"):
        GRUClassifier(early_stopping=True).fit(np.zeros((4, 5, 2)), [0, 1, 0, 1], groups=[0, 1])
    with pytest.raises(ValueError, match="at least 2"):
        GRUClassifier(early_stopping=True).fit(np.zeros((4, 5, 2)), [0, 1, 0, 1], groups=[7, 7, 7, 7])
    # a size that cannot fit is a MemoryError naming it, before torch's allocator fails
    with pytest.raises(MemoryError, match=r"LSTM of hidden_size=1000000000 .* lower hidden_size"):
        LSTMClassifier(hidden_size=10**9).fit(np.zeros((4, 5, 2)), [0, 1, 0, 1])


@pytest.fixture(scope="module")
def easy():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    d = make_center_out(n_trials=400, modulation=(5.0, 30.0), random_state=0)  # nearly separable
    return d.X[:300], d.y[:300], d.X[300:], d.y[300:]


@pytest.fixture(scope="module", params=[GRUClassifier, LSTMClassifier], ids=["GRU", "LSTM"])
def fitted(easy, request):
    X, y, _, _ = easy
    return request.param(hidden_size=32, max_epochs=15, random_state=0).fit(X, y)


def test_the_lstm_is_an_lstm(fitted):
    """Each class trains its own kind of layer: an LSTM has four gates' weights, a GRU three."""
    cell = type(fitted).__name__[:-len("Classifier")].lower()
    w = fitted.weights_[f"{cell}.weight_ih_l0"]
    assert w.shape == ({"gru": 3, "lstm": 4}[cell] * 32, fitted.n_features_in_)
    assert sorted(k.split(".")[0] for k in fitted.weights_) == sorted([cell] * 4 + ["readout"] * 2)


def test_it_learns_the_directions(easy, fitted):
    _, _, Xt, yt = easy
    assert fitted.score(Xt, yt) > 0.7  # chance 0.25
    assert fitted.loss_curve_[-1] < fitted.loss_curve_[0]
    assert has_torch()


def test_decision_path_is_causal_and_gives_early_classification(easy, fitted):
    _, _, Xt, yt = easy
    path = fitted.decision_path(Xt)
    assert path.shape == (len(yt), Xt.shape[1], 4)
    np.testing.assert_array_equal(fitted.classes_[path[:, -1].argmax(1)], fitted.predict(Xt))
    # the logits after bin t do not depend on later bins
    changed = Xt.copy()
    changed[:, 30:] = 0
    np.testing.assert_allclose(fitted.decision_path(changed)[:, :30], path[:, :30], rtol=1e-5, atol=1e-5)
    curve = early_classification(fitted, Xt, yt, step=10)
    assert curve.method == "decision_path"
    assert curve.accuracy[-1] == pytest.approx(fitted.score(Xt, yt))
    assert curve.accuracy[0] < curve.accuracy[-1]


def test_same_seed_same_model_and_pickle(easy, fitted):
    X, y, Xt, _ = easy
    again = clone(fitted).fit(X, y)
    for k, w in fitted.weights_.items():
        np.testing.assert_array_equal(w, again.weights_[k])
    other = clone(fitted).set_params(random_state=1).fit(X, y)
    assert not np.array_equal(other.weights_["readout.weight"], fitted.weights_["readout.weight"])
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict_proba(Xt), fitted.predict_proba(Xt))


def test_predict_leaves_the_global_torch_generator_alone(easy, fitted):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fitted.predict(easy[2][:5])
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_wrong_channels_at_predict(easy, fitted):
    _, _, Xt, yt = easy
    with pytest.raises(ValueError, match="features"):
        fitted.predict(Xt[:, :, :10])
    # early classification reports the real cause, not a fallback to prefix scoring
    with pytest.raises(ValueError, match="^X has 10 features"):
        early_classification(fitted, Xt[:, :, :10], yt)


def test_views_and_torch_default_dtype(easy, fitted):
    """Reversed views (negative strides) predict like copies, and a global float64 default dtype
    in torch does not break fit or predict (audit of the thirteenth session)."""
    import torch

    X, y, Xt, _ = easy
    np.testing.assert_array_equal(fitted.predict_proba(Xt[::-1]), fitted.predict_proba(Xt[::-1].copy()))
    np.testing.assert_array_equal(fitted.decision_path(Xt[:, ::-1]), fitted.decision_path(Xt[:, ::-1].copy()))
    old = torch.get_default_dtype()
    try:
        expected = fitted.predict_proba(Xt[:20])
        torch.set_default_dtype(torch.float64)
        np.testing.assert_array_equal(fitted.predict_proba(Xt[:20]), expected)  # the weights are float32
        refit = clone(fitted).fit(X, y)  # its initial draw is another, in float64: not the same weights
        assert refit.score(Xt, easy[3]) > 0.7
    finally:
        torch.set_default_dtype(old)


def test_without_early_stopping_every_epoch_runs(fitted):
    assert fitted.n_iter_ == len(fitted.loss_curve_) == 15
    assert fitted.validation_loss_curve_ is None and fitted.best_epoch_ is None


def spy_on(monkeypatch, module, name):
    """Replace ``module.name`` by a wrapper that records what it returns; returns the record."""
    calls = []
    real = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append(real(*args, **kwargs))
        return calls[-1]

    monkeypatch.setattr(module, name, spy)
    return calls


def test_early_stopping_stops_and_keeps_the_best_epoch(easy, monkeypatch):
    """Few trials and a large step overfit fast: the validation loss rises, fit stops after
    n_iter_no_change epochs without improvement and keeps the weights of the best epoch, whose
    validation loss the kept model reproduces."""
    import motorsrnn.estimators as estimators

    X, y, _, _ = easy
    splits = spy_on(monkeypatch, estimators, "train_test_split")
    est = GRUClassifier(hidden_size=32, max_epochs=200, learning_rate=2e-2, early_stopping=True,
                        validation_fraction=0.5, n_iter_no_change=4, tol=0.0, random_state=0).fit(X[:60], y[:60])
    (train, val), = splits
    assert len(val) == 30 and not set(train) & set(val)
    assert np.abs(np.bincount(y[:60][val]) - np.bincount(y[:60][train])).max() <= 1  # stratified
    curve = est.validation_loss_curve_
    assert est.n_iter_ == len(curve) == len(est.loss_curve_) < 200
    assert est.best_epoch_ == int(np.argmin(curve)) == est.n_iter_ - 1 - 4
    proba = est.predict_proba(X[:60][val])
    kept = -np.mean(np.log(proba[np.arange(30), np.searchsorted(est.classes_, y[:60][val])]))
    assert kept == pytest.approx(curve[est.best_epoch_], rel=1e-4)
    assert kept < curve[-1]  # the last epoch's weights were not kept


def test_early_stopping_with_groups_holds_out_whole_groups(easy, monkeypatch):
    import motorsrnn.estimators as estimators

    X, y, _, _ = easy
    groups = np.repeat(np.arange(30), 2)  # 60 samples cut from 30 trials
    splits = spy_on(monkeypatch, estimators, "_group_validation_split")
    est = GRUClassifier(hidden_size=8, max_epochs=3, early_stopping=True, validation_fraction=0.2,
                        random_state=0).fit(X[:60], y[:60], groups=groups)
    (train, val), = splits
    assert not set(groups[train]) & set(groups[val]) and len(set(groups[val])) == 6
    assert len(est.validation_loss_curve_) == est.n_iter_
    GRUClassifier(hidden_size=8, max_epochs=3, random_state=0).fit(X[:60], y[:60], groups=groups)
    assert len(splits) == 1  # without early stopping, groups are unused


def test_gru_in_the_comparison(easy):
    from motorsrnn.comparison import compare_models, default_models, format_table

    X, y, Xt, yt = easy
    models = default_models(16, max_epochs=2, random_state=0, gru=True)
    assert isinstance(models["GRU"], GRUClassifier) and models["GRU"].hidden_size == 16
    res = compare_models(X, y, Xt, yt, {"GRU": models["GRU"]}, noise_rates=(0.0,))
    row = res.table[0]
    assert row["model"] == "GRU" and "ratio_gru" not in row
    assert res.early["GRU"].method == "decision_path"
    assert "| GRU |" in format_table(res)


def test_the_comparison_passes_groups_to_the_gru(easy, monkeypatch):
    from motorsrnn.comparison import compare_models

    X, y, Xt, yt = easy
    seen = []
    real = GRUClassifier.fit

    def spy(self, X, y, groups=None):
        seen.append(groups)
        return real(self, X, y, groups=groups)

    monkeypatch.setattr(GRUClassifier, "fit", spy)
    groups = np.arange(len(y)) // 3
    compare_models(X, y, Xt, yt, {"GRU": GRUClassifier(hidden_size=8, max_epochs=1, random_state=0)},
                   noise_rates=(0.0,), groups=groups)
    np.testing.assert_array_equal(seen[0], groups)


def test_learning_curves_of_the_baselines(easy, fitted):
    """plotting.learning_curves draws a baseline's loss_curve_ (it has no history_)."""
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    from motorsrnn import plotting

    ax = plotting.learning_curves(fitted)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), fitted.loss_curve_)
    assert ax.accuracy_axes is None
    plt.close("all")
