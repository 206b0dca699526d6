"""Tests of motorsrnn.analysis: early classification, energy counts, Poisson noise."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from motorsrnn.topology import Population, Projection, Topology
from motorsrnn import PoissonNaiveBayes, SpikingRNNClassifier
from motorsrnn.analysis import add_poisson_noise, early_classification, energy
from motorsrnn.baselines import SpikeCountTransformer
from motorsrnn.datasets import make_center_out


@pytest.fixture(scope="module")
def data():
    return make_center_out(n_trials=120, n_neurons=20, random_state=0)


@pytest.fixture(scope="module")
def snn(data):
    return SpikingRNNClassifier(n_hidden=16, max_epochs=2, random_state=0, n_jobs=2).fit(data.X, data.y)


def _fresh_snn(data, **kw):
    """A separately fitted network whose weights a test may overwrite."""
    return SpikingRNNClassifier(n_hidden=16, max_epochs=1, random_state=0, n_jobs=2, **kw).fit(data.X, data.y)


def two_populations():
    """Two populations with sparse, recurrent and feedback projections (a user topology)."""
    return Topology(
        [Population("a", 8), Population("b", 6)],
        [
            Projection("input", "a", density=0.5, init_scale=0.5, name="w_in"),
            Projection("a", "b", init_scale=0.5, name="w_ab"),
            Projection("b", "b", "recurrent", density=0.5, init_scale=0.1, name="w_bb"),
            Projection("b", "a", "feedback", init_scale=0.1, name="w_ba"),
            Projection("b", "readout", init_scale=1.0, name="w_out"),
        ],
    )


# ---------------------------------------------------------------------------------------------
# early_classification
# ---------------------------------------------------------------------------------------------
def test_early_spiking_times_and_last_equals_score(snn, data):
    res = early_classification(snn, data.X, data.y)
    T = data.X.shape[1]
    assert res.n_timesteps == T
    assert res.method == "decision_path"
    assert res.accuracy.shape == (T,)
    np.testing.assert_allclose(res.times, np.arange(1, T + 1) * snn.dt)
    assert res.accuracy[-1] == pytest.approx(snn.score(data.X, data.y))
    assert np.all((res.accuracy >= 0) & (res.accuracy <= 1))


def test_early_spiking_matches_decision_path(snn, data):
    path = snn.decision_path(data.X)
    res = early_classification(snn, data.X, data.y, step=7)
    np.testing.assert_array_equal(res.prefix_lengths, [7, 14, 21, 28, 35, 42, 49, 50])
    for n, acc in zip(res.prefix_lengths, res.accuracy):
        expected = np.mean(snn.classes_[np.argmax(path[:, n - 1], axis=1)] == data.y)
        assert acc == pytest.approx(expected)


def test_early_uses_estimator_dt(data):
    clf = SpikingRNNClassifier(n_hidden=8, max_epochs=1, dt=2.0, random_state=0, n_jobs=2).fit(data.X, data.y)
    res = early_classification(clf, data.X, data.y, step=25)
    np.testing.assert_allclose(res.times, [50.0, 100.0])
    assert res.dt == 2.0
    res = early_classification(clf, data.X, data.y, times=[4.0, 100.0])
    np.testing.assert_array_equal(res.prefix_lengths, [2, 50])


@pytest.mark.parametrize(
    "make", [lambda: PoissonNaiveBayes(), lambda: make_pipeline(SpikeCountTransformer(), LogisticRegression())]
)
def test_early_prefix_scoring_equals_direct_scores(make, data):
    est = make().fit(data.X, data.y)
    res = early_classification(est, data.X, data.y, step=10)
    assert res.method == "prefix"
    np.testing.assert_allclose(res.times, [10, 20, 30, 40, 50])
    for n, acc in zip(res.prefix_lengths, res.accuracy):
        assert acc == pytest.approx(est.score(data.X[:, :n], data.y))
    assert res.accuracy[-1] == pytest.approx(est.score(data.X, data.y))


def test_early_step_always_includes_full_window(data):
    nb = PoissonNaiveBayes().fit(data.X, data.y)
    res = early_classification(nb, data.X, data.y, step=100)
    np.testing.assert_array_equal(res.prefix_lengths, [50])
    np.testing.assert_allclose(res.times, [50.0])


def test_early_times_sorted_unique(data):
    nb = PoissonNaiveBayes().fit(data.X, data.y)
    res = early_classification(nb, data.X, data.y, times=[30, 10, 10])
    np.testing.assert_allclose(res.times, [10.0, 30.0])


def test_early_falls_back_when_decision_path_is_not_logits(data):
    class TreeLike(PoissonNaiveBayes):
        def decision_path(self, X):  # like scikit-learn trees: not per-step logits
            return np.zeros((len(X), 3))

    est = TreeLike().fit(data.X, data.y)
    res = early_classification(est, data.X, data.y, step=25)
    assert res.method == "prefix"
    assert res.accuracy[-1] == pytest.approx(est.score(data.X, data.y))


def test_early_bad_inputs(snn, data):
    X, y = data.X, data.y
    with pytest.raises(ValueError, match="labels"):
        early_classification(snn, X, y[:-1])
    with pytest.raises(ValueError, match="step"):
        early_classification(snn, X, y, step=0)
    with pytest.raises(TypeError, match="step"):
        early_classification(snn, X, y, step=1.5)
    with pytest.raises(ValueError, match="times"):
        early_classification(snn, X, y, times=[0.0])
    with pytest.raises(ValueError, match="times"):
        early_classification(snn, X, y, times=[51.0])
    with pytest.raises(ValueError, match="multiples of dt"):
        early_classification(snn, X, y, times=[2.5])
    with pytest.raises(ValueError, match="not both"):
        early_classification(snn, X, y, times=[10], step=5)
    with pytest.raises(ValueError, match="features"):
        early_classification(snn, X[:, :, :5], y)
    with pytest.raises(ValueError, match="Negative"):
        early_classification(snn, -X.astype(int) - 1, y)
    with pytest.raises(NotFittedError):
        early_classification(SpikingRNNClassifier(), X, y)
    with pytest.raises(TypeError, match="predict"):
        early_classification(SpikeCountTransformer().fit(X), X, y)


def test_early_rejects_y_that_is_not_1d(data):
    nb = PoissonNaiveBayes().fit(data.X, data.y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DataConversionWarning-and-flatten: the documented ValueError
        with pytest.raises(ValueError, match="y must be 1-D"):
            early_classification(nb, data.X, data.y[:, None], step=10)
        with pytest.raises(ValueError, match="y must be 1-D"):
            early_classification(nb, data.X, np.stack([data.y, data.y], axis=1), step=10)
        with pytest.raises(ValueError, match="y must be 1-D"):
            early_classification(nb, data.X, 3, step=10)


def test_early_names_the_3d_requirement_for_classifiers_fitted_on_2d_counts(data):
    """A plain scikit-learn classifier fitted on 2-D counts cannot score 3-D prefixes: the error
    says what early_classification needs instead of scikit-learn's bare "dim 3" message."""
    counts = data.X.sum(axis=1)
    lr = LogisticRegression(max_iter=500).fit(counts, data.y)
    with pytest.raises(ValueError, match=r"early_classification .* predict refused .*SpikeCountTransformer"):
        early_classification(lr, counts, data.y)
    with pytest.raises(ValueError, match="dim 3"):  # the original error stays in the message
        early_classification(lr, data.X, data.y, step=10)


def test_early_rejects_estimators_that_are_not_classifiers(data):
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.linear_model import LinearRegression

    from motorsrnn import SpikingRNNRegressor

    reg = SpikingRNNRegressor(n_hidden=8, max_epochs=1, random_state=0).fit(data.X, data.y.astype(float))
    with pytest.raises(TypeError, match="not a classifier|must be a fitted classifier"):
        early_classification(reg, data.X, data.y, step=10)
    lin = make_pipeline(SpikeCountTransformer(), LinearRegression()).fit(data.X, data.y)
    with pytest.raises(TypeError, match="must be a fitted classifier"):
        early_classification(lin, data.X, data.y, step=10)

    class NoClasses(ClassifierMixin, BaseEstimator):
        """Tagged as a classifier, but keeps no classes_."""

        def fit(self, X, y):
            self.label_ = y[0]
            return self

        def predict(self, X):
            return np.full(len(X), self.label_)

    with pytest.raises(TypeError, match="classes_"):
        early_classification(NoClasses().fit(data.X, data.y), data.X, data.y, step=10)

    class NotAnEstimator:
        classes_ = np.arange(4)

        def predict(self, X):
            return np.zeros(len(X), dtype=int)

    with pytest.raises(TypeError, match="must be a fitted classifier"):
        early_classification(NotAnEstimator(), data.X, data.y, step=10)


# ---------------------------------------------------------------------------------------------
# energy
# ---------------------------------------------------------------------------------------------
def test_energy_no_hidden_spikes_counts_input_events(data):
    clf = _fresh_snn(data)
    H = clf.n_hidden
    w = clf.get_weights()
    clf.set_weights({"w_in": np.zeros_like(w["w_in"]), "b_h": np.zeros_like(w["b_h"])})
    assert clf.simulate(data.X, membrane=False).spikes.sum() == 0
    e = energy(clf, data.X)
    n_trials = data.X.shape[0]
    events = data.X.sum() / n_trials
    assert e.input_events == pytest.approx(events)
    assert e.sop == pytest.approx(events * H)
    assert e.sop_by_projection == pytest.approx({"w_in": events * H, "w_rec": 0.0, "w_out": 0.0})
    assert e.spikes == {"h": 0.0}


def test_energy_non_integer_inputs_cost_one_mac_per_target(data):
    """A count k is k accumulates; a fractional value is one multiply-accumulate per target, not
    its value in accumulates (0.01 would otherwise cost a hundredth of an operation)."""
    clf = _fresh_snn(data)
    H = clf.n_hidden
    w = clf.get_weights()
    clf.set_weights({"w_in": np.zeros_like(w["w_in"]), "b_h": np.zeros_like(w["b_h"])})
    n_trials = data.X.shape[0]
    X = data.X.astype(np.float64)
    counts = energy(clf, X, include_neuron_updates=False)
    half = energy(clf, X * 0.5, include_neuron_updates=False)
    nonzero = np.count_nonzero(X)
    odd = np.count_nonzero(X % 2 == 1)  # k / 2 is an integer for even k: those stay events
    assert counts.input_mac == 0
    assert half.input_mac == pytest.approx(odd * H / n_trials)
    assert half.input_events == pytest.approx((X * 0.5)[X % 2 == 0].sum() / n_trials)
    assert half.snn_energy == pytest.approx(half.sop * 0.9e-12 + half.input_mac * 4.6e-12)
    tiny = energy(clf, X * 0.01, include_neuron_updates=False)
    assert tiny.sop == 0
    assert tiny.input_mac == pytest.approx(nonzero * H / n_trials)


def test_energy_every_neuron_spiking_every_step(data):
    clf = _fresh_snn(data)
    H, K = clf.n_hidden, len(clf.classes_)
    n_trials, T, C = data.X.shape
    w = clf.get_weights()
    clf.set_weights({"w_in": np.zeros_like(w["w_in"]), "w_rec": np.zeros_like(w["w_rec"]), "b_h": np.full(H, 10.0)})
    assert clf.simulate(data.X, membrane=False).spikes.all()
    e = energy(clf, data.X, include_neuron_updates=False)
    # recurrent spikes of the last step are never delivered (they would act at step T)
    expected = data.X.sum() / n_trials * H + T * H * K + (T - 1) * H * H
    assert e.sop == pytest.approx(expected)
    assert e.spikes["h"] == T * H
    assert e.snn_energy == pytest.approx(expected * 0.9e-12)


def test_energy_matches_direct_count_and_formulas(snn, data):
    X = data.X
    n_trials, T, C = X.shape
    H, K = snn.n_hidden, len(snn.classes_)
    s = snn.simulate(X, membrane=False).populations["h"].spikes.astype(np.int64)
    direct = (X.sum() * H + s.sum() * K + s[:, :-1].sum() * H) / n_trials
    e = energy(snn, X)
    assert e.sop == pytest.approx(direct)
    assert e.sop > 0
    assert e.neuron_mac == T * (2 * H + K)
    assert e.snn_energy == pytest.approx(direct * 0.9e-12 + e.neuron_mac * 4.6e-12)
    assert e.dense_mac == T * (H * C + H * H + K * H)
    assert e.gru_mac == T * (3 * (H * C + H * H) + H * K)
    assert e.lstm_mac == T * (4 * (H * C + H * H) + H * K)
    assert e.dense_energy == pytest.approx(e.dense_mac * 4.6e-12)
    assert e.ratio_gru == pytest.approx(e.gru_energy / e.snn_energy)
    assert e.ratio_lstm == pytest.approx(e.lstm_energy / e.snn_energy)
    # sparse activity: the spiking network is cheaper than every non-spiking one
    assert 1 < e.ratio_dense < e.ratio_gru < e.ratio_lstm
    assert (e.n_trials, e.n_timesteps, e.n_channels, e.n_hidden, e.n_outputs) == (n_trials, T, C, H, K)


def test_energy_sparse_multi_population(data):
    clf = SpikingRNNClassifier(architecture=two_populations(), max_epochs=1, random_state=0, n_jobs=2).fit(data.X, data.y)
    masks = clf.network_.masks()
    assert set(masks) == {"w_in", "w_bb"}
    sim = clf.simulate(data.X, membrane=False)
    a = sim.populations["a"].spikes.astype(np.float64)
    b = sim.populations["b"].spikes.astype(np.float64)
    X = data.X.astype(np.float64)
    n_trials, T, _ = X.shape
    K = len(clf.classes_)
    # ACs = sum over events of the number of targets they reach (mask-weighted input to targets)
    expected = {
        "w_in": (X @ masks["w_in"].T).sum(),
        "w_ab": (a @ np.ones((6, 8)).T).sum(),
        "w_bb": (b[:, :-1] @ masks["w_bb"].T).sum(),
        "w_ba": b[:, :-1].sum() * 8,
        "w_out": b.sum() * K,
    }
    e = energy(clf, data.X)
    for key, value in expected.items():
        assert e.sop_by_projection[key] == pytest.approx(value / n_trials), key
    assert e.n_hidden == 14
    assert e.dense_mac == T * (8 * 20 + 6 * 8 + 6 * 6 + 8 * 6 + K * 6)
    assert e.spikes == pytest.approx({"a": a.sum() / n_trials, "b": b.sum() / n_trials})
    # masked projections count fewer operations than dense ones would
    assert masks["w_in"].sum() < masks["w_in"].size


def test_energy_options(snn, data):
    base = energy(snn, data.X)
    syn_only = energy(snn, data.X, include_neuron_updates=False)
    assert syn_only.snn_energy == pytest.approx(base.sop * 0.9e-12)
    assert syn_only.ratio_gru > base.ratio_gru
    mem = energy(snn, data.X, memory=True)
    assert mem.e_mem == 5e-12
    for name in ("snn_energy", "dense_energy", "gru_energy", "lstm_energy"):
        assert mem[name] > base[name], name
    assert mem.snn_energy - base.snn_energy == pytest.approx((base.sop + base.neuron_mac) * 5e-12)
    assert mem.gru_energy == pytest.approx(base.gru_mac * (4.6e-12 + 5e-12))
    custom = energy(snn, data.X, memory=True, e_mem=1e-12)
    assert base.snn_energy < custom.snn_energy < mem.snn_energy
    big = energy(snn, data.X, rnn_hidden=32)
    assert big.gru_mac == 50 * (3 * (32 * 20 + 32 * 32) + 32 * 4)
    assert big.ratio_gru > base.ratio_gru
    cheap = energy(snn, data.X, e_ac=0.45e-12, e_mac=2.3e-12)
    assert cheap.snn_energy == pytest.approx(base.snn_energy / 2)
    assert cheap.ratio_gru == pytest.approx(base.ratio_gru)


def test_energy_zero_cost_gives_infinite_ratio(data):
    clf = _fresh_snn(data)
    w = clf.get_weights()
    clf.set_weights({"w_in": np.zeros_like(w["w_in"]), "b_h": np.zeros_like(w["b_h"])})
    e = energy(clf, np.zeros((3, 10, 20), dtype=np.uint8), include_neuron_updates=False)
    assert e.sop == 0 and e.snn_energy == 0
    assert np.isinf(e.ratio_gru)


def test_energy_zero_per_op_energies_give_nan_ratios_as_documented(snn, data):
    """With every per-op energy 0 nothing costs anything: the ratios are 0 / 0 = nan, as documented."""
    from motorsrnn.analysis import energy as energy_fn

    e = energy(snn, data.X[:10], e_ac=0.0, e_mac=0.0)
    assert e.snn_energy == 0 and e.dense_energy == 0 and e.gru_energy == 0 and e.lstm_energy == 0
    assert np.isnan(e.ratio_dense) and np.isnan(e.ratio_gru) and np.isnan(e.ratio_lstm)
    # only the spiking network free (e_ac = 0, no neuron updates): inf, as documented
    e = energy(snn, data.X[:10], e_ac=0.0, include_neuron_updates=False)
    assert e.snn_energy == 0 and np.isinf(e.ratio_gru)
    # with memory the MACs still cost e_mem: finite ratios although e_ac = e_mac = 0
    e = energy(snn, data.X[:10], e_ac=0.0, e_mac=0.0, memory=True)
    assert e.snn_energy > 0 and np.isfinite(e.ratio_gru) and e.ratio_gru > 0
    doc = " ".join(energy_fn.__doc__.split())
    assert "``nan`` if it is 0 as well" in doc and "``inf`` if the other network's energy is positive" in doc


def test_energy_bad_options(snn, data):
    X = data.X
    with pytest.raises(ValueError, match="e_ac"):
        energy(snn, X, e_ac=-1e-12)
    with pytest.raises(ValueError, match="e_mac"):
        energy(snn, X, e_mac=float("nan"))
    with pytest.raises(TypeError, match="e_ac"):
        energy(snn, X, e_ac="0.9 pJ")
    with pytest.raises(ValueError, match="e_mem"):
        energy(snn, X, memory=True, e_mem=-5e-12)
    with pytest.raises(ValueError, match="e_mem"):
        energy(snn, X, e_mem=5e-12)
    with pytest.raises(ValueError, match="rnn_hidden"):
        energy(snn, X, rnn_hidden=0)
    with pytest.raises(TypeError, match="memory"):
        energy(snn, X, memory="yes")
    with pytest.raises(ValueError, match="channels"):
        energy(snn, X[:, :, :5])
    with pytest.raises(TypeError, match="spiking estimator"):
        energy(PoissonNaiveBayes().fit(X, data.y), X)
    with pytest.raises(NotFittedError):
        energy(SpikingRNNClassifier(), X)


# ---------------------------------------------------------------------------------------------
# add_poisson_noise
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate, dt", [(20.0, 1.0), (50.0, 2.0)])
def test_noise_rate_statistics(rate, dt):
    X = np.zeros((100, 100, 100), dtype=np.uint8)  # 1e6 bins
    Y = add_poisson_noise(X, rate, dt=dt, random_state=0)
    lam = rate * dt / 1000.0
    n = Y.size
    assert abs(Y.mean() - lam) < 5 * np.sqrt(lam / n)  # 5 standard errors of a Poisson mean
    assert Y.var() == pytest.approx(lam, rel=0.05)  # Poisson: variance = mean


def test_noise_adds_to_existing_spikes(data):
    X = data.X.copy()
    Y = add_poisson_noise(X, 100.0, random_state=1)
    np.testing.assert_array_equal(X, data.X)  # input untouched
    assert Y.shape == X.shape and Y.dtype == np.uint8
    assert np.all(Y >= X)
    added = (Y.astype(int) - X).mean()
    lam = 0.1
    assert abs(added - lam) < 5 * np.sqrt(lam / X.size)
    np.testing.assert_array_equal(add_poisson_noise(X, 0.0, random_state=0), X)


def test_noise_channels_mode(data):
    X = data.X
    Y = add_poisson_noise(X, 30.0, mode="channels", n_channels=7, random_state=0)
    assert Y.shape == (*X.shape[:2], X.shape[2] + 7)
    assert Y.dtype == np.uint8
    np.testing.assert_array_equal(Y[:, :, :20], X)
    noise = Y[:, :, 20:]
    assert abs(noise.mean() - 0.03) < 5 * np.sqrt(0.03 / noise.size)
    # a decoder must be fitted on the widened array
    nb = PoissonNaiveBayes().fit(Y, data.y)
    assert nb.n_features_in_ == 27
    with pytest.raises(ValueError, match="features"):
        nb.predict(X)


def test_noise_deterministic(data):
    a = add_poisson_noise(data.X, 50.0, random_state=3)
    b = add_poisson_noise(data.X, 50.0, random_state=3)
    c = add_poisson_noise(data.X, 50.0, random_state=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    d = add_poisson_noise(data.X, 50.0, random_state=np.random.RandomState(3))
    np.testing.assert_array_equal(a, d)


def test_noise_dtypes():
    rng = np.random.default_rng(0)
    base = rng.poisson(0.1, size=(20, 30, 5))
    assert add_poisson_noise(base.astype(bool), 10.0, random_state=0).dtype == np.uint8
    assert add_poisson_noise(base.astype(np.float32), 10.0, random_state=0).dtype == np.float32
    assert add_poisson_noise(base.astype(np.float64), 10.0, random_state=0).dtype == np.float64
    assert add_poisson_noise(base.astype(np.int32), 10.0, random_state=0).dtype == np.int32
    # int8 near its maximum is widened instead of wrapping around
    full = np.full((10, 20, 3), 127, dtype=np.int8)
    out = add_poisson_noise(full, 500.0, random_state=0)
    assert out.dtype == np.int16 and out.max() > 127 and out.min() >= 127
    # uint8 is clipped at 255, with a warning
    sat = np.full((10, 20, 3), 255, dtype=np.uint8)
    with pytest.warns(RuntimeWarning, match="clipped"):
        out = add_poisson_noise(sat, 500.0, random_state=0)
    assert out.dtype == np.uint8 and np.all(out == 255)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        add_poisson_noise(base.astype(np.uint8), 10.0, random_state=0)


def test_noise_integer_input_stays_integer_and_is_widened_only_when_needed():
    """Integer counts above 255 used to come back as float64 (check_spikes makes floats of them),
    and int8 was widened to int16 although every count fit."""
    from motorsrnn.io import bin_spike_times

    noise = add_poisson_noise(np.zeros((4, 5, 3), dtype=np.uint8), 100.0, random_state=0).astype(np.int64)
    for dtype in (np.uint16, np.int16, np.int32, np.uint32, np.int64):
        X = np.full((4, 5, 3), 300, dtype=dtype)
        out = add_poisson_noise(X, 100.0, random_state=0)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out, 300 + noise)  # the same noise as on zeros, added exactly
    binned = bin_spike_times([np.linspace(1.0, 1.099, 300)], [1.0], window=(0, 100), bin_size=100.0).X
    assert binned.dtype == np.uint16 and add_poisson_noise(binned, 10.0, random_state=0).dtype == np.uint16
    # int8 that fits stays int8
    out = add_poisson_noise(np.ones((2, 3, 2), dtype=np.int8), 10.0, random_state=0)
    assert out.dtype == np.int8 and out.min() >= 1
    # widened to the smallest integer dtype of the same signedness that holds the counts
    for dtype, wider in ((np.uint16, np.uint32), (np.int16, np.int32), (np.uint32, np.uint64), (np.int32, np.int64)):
        top = np.iinfo(dtype).max
        out = add_poisson_noise(np.full((10, 20, 3), top, dtype=dtype), 500.0, random_state=0)
        assert out.dtype == wider and out.max() > top and out.min() >= top
    # the same in "channels" mode and for 2-D input
    out = add_poisson_noise(np.full((3, 2), 300, np.int32), 500.0, mode="channels", n_channels=2, random_state=0)
    assert out.dtype == np.int32 and out.shape == (3, 4) and np.all(out[:, :2] >= 300)


def test_noise_2d_input_stays_2d():
    X = np.zeros((50, 4), dtype=np.uint8)
    assert add_poisson_noise(X, 10.0, random_state=0).shape == (50, 4)
    assert add_poisson_noise(X, 10.0, mode="channels", n_channels=2, random_state=0).shape == (50, 6)


def test_noise_invalid_arguments(data):
    X = data.X
    with pytest.raises(ValueError, match="rate"):
        add_poisson_noise(X, -1.0)
    with pytest.raises(TypeError, match="rate"):
        add_poisson_noise(X, "10 Hz")
    with pytest.raises(ValueError, match="rate"):
        add_poisson_noise(X, float("inf"))
    with pytest.raises(ValueError, match="dt"):
        add_poisson_noise(X, 10.0, dt=0.0)
    with pytest.raises(ValueError, match="mode"):
        add_poisson_noise(X, 10.0, mode="neighbours")
    with pytest.raises(ValueError, match="n_channels"):
        add_poisson_noise(X, 10.0, mode="channels")
    with pytest.raises(ValueError, match="n_channels"):
        add_poisson_noise(X, 10.0, mode="channels", n_channels=0)
    with pytest.raises(TypeError, match="n_channels"):
        add_poisson_noise(X, 10.0, mode="channels", n_channels=2.5)
    with pytest.raises(ValueError, match="n_channels"):
        add_poisson_noise(X, 10.0, n_channels=3)
    with pytest.raises(ValueError, match="Negative"):
        add_poisson_noise(-np.ones((2, 3, 4)), 10.0)
    with pytest.raises(ValueError, match="dimensions"):
        add_poisson_noise(np.zeros((2, 3, 4, 5)), 10.0)
    # a rate that is a unit error, named as such (numpy's own message was "lam value too large")
    with pytest.raises(ValueError, match=r"rate=1e\+30 Hz .* noise spikes per bin"):
        add_poisson_noise(X, 1e30)
    with pytest.warns(RuntimeWarning, match="clipped to 255"):  # a million per bin still runs (clipped)
        assert add_poisson_noise(X[:2], 1e9, random_state=0).min() > 0


def test_early_classification_takes_the_bin_width_of_count_decoders():
    """A count decoder on 2 ms bins: the prefixes end at 10, 20, ... 50 ms, not 5, ... 25."""
    from motorsrnn import PoissonNaiveBayes

    d = make_center_out(n_trials=120, n_neurons=16, n_timesteps=25, dt=2.0, random_state=0)
    nb = PoissonNaiveBayes().fit(d.X, d.y)
    curve = early_classification(nb, d.X, d.y, step=5, dt=2.0)
    np.testing.assert_array_equal(curve.times, [10.0, 20.0, 30.0, 40.0, 50.0])
    np.testing.assert_array_equal(curve.prefix_lengths, [5, 10, 15, 20, 25])
    assert curve.dt == 2.0 and curve.accuracy[-1] == nb.score(d.X, d.y)
    at = early_classification(nb, d.X, d.y, times=[20.0, 50.0], dt=2.0)
    np.testing.assert_array_equal(at.prefix_lengths, [10, 25])
    np.testing.assert_array_equal(early_classification(nb, d.X, d.y, step=5).times, [5, 10, 15, 20, 25])  # default 1 ms
    clf = SpikingRNNClassifier(n_hidden=8, max_epochs=1, dt=2.0, random_state=0, n_jobs=1).fit(d.X, d.y)
    assert early_classification(clf, d.X, d.y, step=25).times.tolist() == [50.0]  # the estimator's own dt
    with pytest.raises(ValueError, match="differs from the estimator's own dt"):
        early_classification(clf, d.X, d.y, dt=1.0)
    with pytest.raises(ValueError, match="dt"):
        early_classification(nb, d.X, d.y, dt=0.0)


# -- found by the fourteenth session's fuzzing ---------------------------------------------------


def test_smoothing_wider_than_the_trial_costs_no_memory_and_changes_nothing():
    """A kernel of 8e8 taps was built for 20 bins (the process was killed); taps beyond the trial
    never reach another bin, so clipping them must give the same result."""
    from motorsrnn.analysis import _gaussian_smooth, trajectories

    x = np.random.default_rng(0).random((3, 20, 4))

    def unclipped(sigma):
        half = int(np.ceil(4 * sigma))
        k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
        rows = np.moveaxis(x, 1, -1).reshape(-1, 20)
        norm = np.convolve(np.ones(20), k)[half:half + 20]
        out = np.array([np.convolve(r, k)[half:half + 20] for r in rows]) / norm
        return np.moveaxis(out.reshape(3, 4, 20), -1, 1)

    for sigma in (0.5, 4.9, 5.0, 30.0, 100.0):
        np.testing.assert_allclose(_gaussian_smooth(x, sigma, axis=1), unclipped(sigma), rtol=1e-12, atol=0)
    # an enormous width: every bin becomes the trial's mean (with edge renormalisation)
    np.testing.assert_allclose(_gaussian_smooth(x, 1e300, axis=1), np.broadcast_to(x.mean(axis=1, keepdims=True), x.shape))
    act, directions = np.random.default_rng(1).random((40, 20, 6)), np.arange(40) % 4
    means = trajectories(act, directions, smoothing_ms=1e8).condition_means
    assert means.shape == (4, 20, 6) and np.allclose(means, means[:, :1])


def test_trajectories_refuse_missing_conditions():
    from motorsrnn.analysis import trajectories

    act = np.random.default_rng(0).random((40, 20, 6))
    directions = (np.arange(40) % 4).astype(float)
    directions[:3] = np.nan  # used to become a fifth condition
    with pytest.raises(ValueError, match=r"NaN in directions \(at positions \[0, 1, 2\]\)"):
        trajectories(act, directions)
    with pytest.raises(ValueError, match="None or NaN in directions"):
        trajectories(act, [None, 1, 2, 3] * 10)
    with pytest.raises(ValueError, match=r"values of different types in directions \(int, str\)"):
        trajectories(act, np.array([0, "a"] * 20, dtype=object))


def test_early_classification_names_labels_the_model_never_saw():
    """str labels for a model fitted on ints scored 0 at every step, silently."""
    d = make_center_out(n_trials=80, n_neurons=10, n_timesteps=10, random_state=0)
    nb = PoissonNaiveBayes().fit(d.X, d.y)
    with pytest.raises(ValueError, match=r"never saw in fit: \['.*'\] .*no trial can be classified correctly"):
        early_classification(nb, d.X, d.y.astype(str))
    y = d.y.copy()
    y[0] = 99
    with pytest.warns(UserWarning, match=r"never saw in fit: \[99\] .*their trials count as errors"):
        curve = early_classification(nb, d.X, y)
    assert curve.accuracy[-1] == pytest.approx(np.mean(nb.predict(d.X) == y))


def test_noise_on_counts_near_the_int64_limit_is_refused_not_wrapped():
    """int64 counts near 2**63 came back negative after the noise, uint64 ones wrapped to 0."""
    for X in (np.full((1, 2, 1), 2**63 - 1, np.int64), np.full((1, 2, 1), 2**64 - 1, np.uint64)):
        with pytest.raises(ValueError, match="too many to add noise to in 64-bit integers"):
            add_poisson_noise(X, 500.0, random_state=0)
    out = add_poisson_noise(np.full((1, 2, 1), 2**62, np.int64), 500.0, random_state=0)
    assert out.dtype == np.int64 and out.min() >= 2**62


def test_weight_vs_pd_difference_with_a_von_mises_fit():
    """A VonMisesTuning has no is_tuned: an AttributeError before, now a TypeError that says what
    to pass, and tuned_only=False uses its preferred directions."""
    from motorsrnn.analysis import weight_vs_pd_difference
    from motorsrnn.tuning import network_tuning

    d = make_center_out(n_trials=48, n_neurons=12, n_timesteps=20, random_state=0)
    clf = SpikingRNNClassifier(n_hidden=16, max_epochs=2, random_state=0).fit(d.X, d.y)
    vm = network_tuning(clf, d.X, d.y, model="von_mises")
    with pytest.raises(TypeError, match="VonMisesTuning, which has no test of which units are tuned"):
        weight_vs_pd_difference(clf, vm, "w_rec")
    with pytest.raises(TypeError, match="must be a tuning result .* got str"):
        weight_vs_pd_difference(clf, "tuning", "w_rec", tuned_only=False)
    out = weight_vs_pd_difference(clf, vm, "w_rec", tuned_only=False, bins=4)
    usable = np.isfinite(vm.preferred_direction)
    assert out.n_connections == usable.sum() * (usable.sum() - 1)  # every pair of units with a direction, no self


def test_energy_names_an_rnn_size_beyond_float_precision():
    d = make_center_out(n_trials=16, n_neurons=8, n_timesteps=10, random_state=0)
    clf = SpikingRNNClassifier(n_hidden=8, max_epochs=1, random_state=0).fit(d.X, d.y)
    with pytest.raises(ValueError, match="rnn_hidden must be <= 9007199254740992"):
        energy(clf, d.X, rnn_hidden=10**200)


def test_trajectories_and_similarity_refuse_what_they_would_misread():
    """trajectories on 0 time bins said "n_components must be <= ... = -1"; negative "counts" were
    averaged as rates; similarity ignored a soft_offset given without normalize='soft'."""
    from motorsrnn.analysis import similarity, trajectories

    d = make_center_out(n_trials=20, random_state=0)
    with pytest.raises(ValueError, match=r"with at least one of each, got an array of shape \(20, 0, 96\)"):
        trajectories(d.X[:, :0], d.y)
    with pytest.raises(ValueError, match="spike counts .* cannot be negative"):
        trajectories(-d.X.astype(float), d.y)
    trajectories(-d.X.astype(float), d.y, units="hz")  # rates relative to a baseline may be negative
    t = trajectories(d.X, d.y, n_components=2).condition_means
    with pytest.raises(ValueError, match="soft_offset=1 applies to normalize='soft' only"):
        similarity(t, t, soft_offset=1)
    assert similarity(t, t, normalize="soft", soft_offset=1).score == pytest.approx(1.0)


def test_weight_vs_pd_difference_sem_has_no_cancellation_for_weights_far_from_zero():
    """The SEM came from sum(w^2) - n mean^2, which loses the digits of weights 1000 +- 1e-3
    (relative error 1e-4); a two-pass variance agrees with numpy's std."""
    import warnings

    from motorsrnn.analysis import weight_vs_pd_difference
    from motorsrnn.tuning import network_tuning

    d = make_center_out(n_trials=200, n_neurons=24, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SpikingRNNClassifier(n_hidden=24, max_epochs=2, random_state=0).fit(d.X[:120], d.y[:120])
        w = clf.get_weights()["w_rec"]
        clf.set_weights({"w_rec": (1000.0 + 1e-3 * np.random.default_rng(0).normal(size=w.shape)).astype(np.float32)})
        res = weight_vs_pd_difference(clf, network_tuning(clf, d.X, d.y), "w_rec", tuned_only=False, bins=4)
    w64 = clf.get_weights()["w_rec"].astype(np.float64)[res.target_index, res.source_index]
    which = np.clip(np.searchsorted(res.bin_edges, res.pd_difference, side="right") - 1, 0, 3)
    for b in range(4):
        if (which == b).sum() > 1:
            expected = w64[which == b].std(ddof=1) / np.sqrt((which == b).sum())
            assert res.sem[b] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("mode", ["spikes", "channels"])
@pytest.mark.parametrize("dtype", [np.uint8, np.bool_, np.float32])
def test_add_poisson_noise_in_chunks_draws_what_one_call_draws(monkeypatch, mode, dtype):
    """The noise is drawn and added a few trials at a time (one int64 array of all of X took 16
    times X's memory); the result is the one of a single draw of the whole array."""
    import motorsrnn.analysis as analysis
    from motorsrnn._validation import check_seed

    monkeypatch.setattr(analysis, "_NOISE_CHUNK_BYTES", 7 * 30 * 9)  # chunks of a few trials
    X = (np.random.default_rng(0).random((23, 30, 5)) < 0.3).astype(dtype)
    kw = dict(mode=mode, n_channels=4) if mode == "channels" else {}
    out = add_poisson_noise(X, 300.0, random_state=3, **kw)
    noise = check_seed(3).poisson(0.3, size=(23, 30, 5 if mode == "spikes" else 4))
    base = X.astype(np.float32 if dtype == np.float32 else np.int64)
    expected = base + noise if mode == "spikes" else np.concatenate([base, noise], axis=2)
    assert out.dtype == (np.float32 if dtype == np.float32 else np.uint8)
    np.testing.assert_array_equal(out, expected)
    with pytest.warns(RuntimeWarning, match="clipped to 255"):
        big = add_poisson_noise(np.full((3, 4, 2), 250, np.uint8), 10000.0, random_state=0)
    assert big.max() == 255


def test_early_classification_of_count_decoders_uses_running_counts_with_the_same_accuracy():
    """Count decoders were re-fed every prefix X[:, :n] (quadratic in the window); they now get the
    running counts as one bin, which they cannot tell apart: the accuracies are those of predict
    on each prefix."""
    import motorsrnn.analysis as analysis

    d = make_center_out(n_trials=160, n_neurons=20, random_state=4)
    X_tr, X_te, y_tr, y_te = d.X[:100], d.X[100:], d.y[:100], d.y[100:]
    for model in (PoissonNaiveBayes().fit(X_tr, y_tr),
                  make_pipeline(SpikeCountTransformer(log1p=True), LogisticRegression(max_iter=500)).fit(X_tr, y_tr)):
        assert analysis._counts_only(model)
        res = early_classification(model, X_te, y_te, step=3)
        by_prefix = [np.mean(model.predict(X_te[:, :n]) == y_te) for n in res.prefix_lengths]
        np.testing.assert_array_equal(res.accuracy, by_prefix)
    assert not analysis._counts_only(make_pipeline(LogisticRegression()))


def test_similarity_refuses_activity_whose_squares_overflow():
    """Activity of 1e160 gave a Procrustes score of 0 and a z-scored NaN, with numpy's overflow warnings only."""
    from motorsrnn.analysis import similarity

    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(4, 10, 5)), rng.normal(size=(4, 10, 6))
    expected = similarity(A, B, method="procrustes", n_components=3).score
    assert similarity(A * 1e100, B, method="procrustes", n_components=3).score == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"A reaches [0-9.]+e\+160: its sums of squares would overflow.*divide by 1e\+160"):
        similarity(A * 1e160, B, method="procrustes", n_components=3)
    with pytest.raises(ValueError, match="B reaches"):
        similarity(A, B * -1e155, normalize="zscore", n_components=3)


def test_early_classification_chance_is_the_most_frequent_labels_share():
    """chance: the accuracy of always predicting the most frequent label of y, not 1 / n_classes
    (they differ when the classes are unbalanced)."""
    d = make_center_out(n_trials=120, n_neurons=10, n_timesteps=10, random_state=0)
    keep = np.flatnonzero((d.y == 0) | (np.arange(120) % 4 == 0))  # label 0 kept whole, the others thinned
    y = d.y[keep]
    nb = PoissonNaiveBayes().fit(d.X, d.y)
    curve = early_classification(nb, d.X[keep], y, step=5)
    counts = np.bincount(y)
    assert counts[0] > counts[1:].max()  # unbalanced
    assert curve.chance == pytest.approx(counts.max() / len(y))
    assert curve.chance != pytest.approx(1 / 4)


def test_weight_vs_pd_difference_statistics_match_scipy():
    """The correlation of the weights with cos(pd difference), its least-squares line and the
    Fisher-z p-value, recomputed with scipy and numpy from the connections returned."""
    from scipy import stats

    from motorsrnn.analysis import weight_vs_pd_difference
    from motorsrnn.tuning import network_tuning

    d = make_center_out(n_trials=48, n_neurons=12, n_timesteps=20, random_state=0)
    clf = SpikingRNNClassifier(n_hidden=16, max_epochs=2, random_state=0).fit(d.X, d.y)
    out = weight_vs_pd_difference(clf, network_tuning(clf, d.X, d.y), "w_rec", tuned_only=False, bins=4)
    c = np.cos(out.pd_difference)  # cos is even: the same as cos of the signed difference
    r, _ = stats.pearsonr(c, out.weights)
    n = out.n_connections
    assert n > 20 and out.correlation == pytest.approx(r, rel=1e-9)
    assert out.p_value == pytest.approx(2 * stats.norm.sf(abs(np.arctanh(r)) * np.sqrt(n - 3)), rel=1e-6)
    slope, intercept = np.polyfit(c, out.weights, 1)
    assert out.slope == pytest.approx(slope, rel=1e-9) and out.intercept == pytest.approx(intercept, rel=1e-9, abs=1e-12)
    w = clf.get_weights()["w_rec"][out.target_index, out.source_index]
    np.testing.assert_array_equal(out.weights, w)
