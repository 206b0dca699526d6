"""Training dynamics of tuning (TuningSnapshots), population and circuit analyses, and plots."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from motorsrnn import PoissonNaiveBayes, SpikingRNNClassifier
from motorsrnn.analysis import early_classification, similarity, trajectories, weight_vs_pd_difference
from motorsrnn.datasets import make_center_out, make_reaching_dynamics
from motorsrnn.tuning import TuningSnapshots, network_tuning


@pytest.fixture(scope="module")
def data():
    return make_center_out(n_trials=400, random_state=0)


@pytest.fixture(scope="module")
def trained(data):
    """A motorsrnn network trained for 6 epochs with snapshots of every epoch and the initial one."""
    X, y = data.X[:300], data.y[:300]
    snaps = TuningSnapshots(data.X[300:], data.y[300:], n_jobs=2)
    clf = SpikingRNNClassifier(
        n_hidden=48, architecture="motorsrnn", max_epochs=6, random_state=0, n_jobs=2, callback=snaps
    )
    snaps.record_initial(clf, y)
    clf.fit(X, y)
    return clf, snaps


@pytest.fixture(scope="module")
def srnn(data):
    return SpikingRNNClassifier(n_hidden=32, max_epochs=6, random_state=1, n_jobs=2).fit(data.X[:300], data.y[:300])


# ---------------------------------------------------------------------------------------------
# TuningSnapshots
# ---------------------------------------------------------------------------------------------
def test_snapshots_record_the_right_epochs(trained):
    clf, snaps = trained
    assert snaps.epochs.tolist() == [-1, 0, 1, 2, 3, 4, 5]
    assert [h["epoch"] for h in clf.history_] == list(range(6))
    assert snaps.input_driven_populations == ["M1"]
    assert snaps.other_populations == ["PM", "Out"]
    assert set(snaps.results[0]) == {"M1", "PM", "Out"}
    assert snaps.results[0]["M1"].n_neurons == 24


def test_snapshot_results_keep_the_window_and_dt_they_were_fitted_with(data):
    """A snapshot's results say how its rates were made (window, dt, Hz), so tuning_curves and
    polar_tuning given result.settings draw the data on the fit's scale (a 2-D refit stored
    window=None, dt=1 and gave rates off by the window and dt)."""
    from motorsrnn.tuning import tuning_curves

    clf = SpikingRNNClassifier(n_hidden=16, max_epochs=1, dt=2.0, random_state=0).fit(data.X[:200], data.y[:200])
    snaps = TuningSnapshots(data.X[300:], data.y[300:], window=(10, 40))
    snaps.record(clf, 0)
    res = snaps.results[0]["h"]
    assert res.settings["window"] == (10, 40) and res.settings["dt"] == 2.0 and res.settings["units"] == "hz"
    spikes = clf.simulate(data.X[300:], membrane=False).spikes
    rates = spikes[:, 10:40].sum(axis=1) * 1000.0 / (30 * 2.0)  # Hz in the window, by hand
    curves = tuning_curves(spikes, snaps.angles, **res.settings)
    for k, a in enumerate(curves.angles):
        np.testing.assert_allclose(curves.mean[k], rates[snaps.angles == a].mean(axis=0), rtol=1e-6)
    from motorsrnn.tuning import fit_cosine_tuning

    np.testing.assert_allclose(res.baseline, fit_cosine_tuning(rates, snaps.angles).baseline, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(snaps.rates[0]["h"], rates.mean(axis=0), rtol=1e-6)


def test_snapshots_every_and_returns_none(data):
    snaps = TuningSnapshots(data.X[300:], data.y[300:], every=2)
    returned = []

    def cb(info):
        out = snaps(info)
        returned.append(out)
        return out

    SpikingRNNClassifier(n_hidden=16, max_epochs=5, random_state=0, callback=cb).fit(data.X[:200], data.y[:200])
    assert snaps.epochs.tolist() == [1, 3]
    assert all(r is None for r in returned) and len(returned) > 5  # batches and epochs


def test_snapshots_every_grid_continues_across_warm_start(data):
    """The every-grid is on the epochs of history_, also after epoch_offset (audit 6, finding 2)."""
    X, y = data.X[:120], data.y[:120]
    snaps = TuningSnapshots(data.X[300:], data.y[300:], every=2)
    clf = SpikingRNNClassifier(n_hidden=16, max_epochs=3, random_state=0, callback=snaps, warm_start=True)
    clf.fit(X, y)
    assert snaps.epochs.tolist() == [1]
    snaps.epoch_offset = len(clf.history_)
    clf.fit(X, y)
    assert [h["epoch"] for h in clf.history_] == list(range(6))
    assert snaps.epochs.tolist() == [1, 3, 5]


def test_reference_epoch_must_be_an_integer(trained, plt):
    """Like record()'s epoch, reference_epoch is not truncated with int() (audit 6, finding 6)."""
    from motorsrnn import plotting

    _, snaps = trained
    for bad in (1.9, 1.0, True, "1"):
        for method in (snaps.persistency, snaps.pd_drift):
            with pytest.raises(ValueError, match="reference_epoch must be an integer"):
                method(bad)
        with pytest.raises(ValueError, match="reference_epoch must be an integer"):
            plotting.cultivation(snaps, reference_epoch=bad)
    np.testing.assert_array_equal(snaps.persistency(np.int64(1)), snaps.persistency(1))
    ax = plotting.cultivation(snaps, reference_epoch=np.int64(1))
    assert ax.lines[-1].get_label() == "persistency (tuned at epoch 1)"


def test_fractions_in_unit_interval_and_persistency(trained):
    _, snaps = trained
    n = snaps.epochs.size
    for pop in (None, "M1", snaps.input_driven_populations, snaps.other_populations):
        f = snaps.fraction_tuned(pop)
        assert f.shape == (n,) and np.all((f >= 0) & (f <= 1))
        a = snaps.fraction_active(pop)
        assert np.all((a >= 0) & (a <= 1))
        fa = snaps.fraction_tuned(pop, active_only=True)
        np.testing.assert_allclose(fa * a, f)  # tuned units are active
    for ref in (0, 3):
        p = snaps.persistency(ref)
        assert p[list(snaps.epochs).index(ref)] == 1.0
        assert np.all((p >= 0) & (p <= 1))
        pc = snaps.persistency(ref, cumulative=True)
        assert np.all(pc <= p + 1e-12)
        d = snaps.pd_drift(ref, degrees=True)
        assert d[list(snaps.epochs).index(ref)] == 0.0
        assert np.all((d[np.isfinite(d)] >= 0) & (d[np.isfinite(d)] <= 180))


def test_snapshots_to_dataframe(trained):
    pytest.importorskip("pandas")
    _, snaps = trained
    n = snaps.epochs.size
    df = snaps.to_dataframe(per_unit=False)
    assert len(df) == n * 3
    np.testing.assert_allclose(df[df.population == "M1"].fraction_tuned.to_numpy(), snaps.fraction_tuned("M1"))
    assert len(snaps.to_dataframe()) == n * 48


def test_trained_network_is_sensibly_tuned(trained, data):
    clf, snaps = trained
    # the snapshot of the last epoch is the trained network: the same numbers as network_tuning
    res = network_tuning(clf, data.X[300:], data.y[300:])
    last = np.concatenate([snaps.results[5][p].is_tuned for p in ("M1", "PM", "Out")])
    np.testing.assert_array_equal(res.is_tuned, last)
    frac = snaps.fraction_tuned()
    assert 0.2 <= frac[-1] <= 0.95  # a sizeable minority to a majority of units, not all
    assert frac[-1] > frac[0]  # training cultivates tuning beyond the untrained network's


def test_record_initial_is_the_network_fit_starts_from(data):
    X, y = data.X[:200], data.y[:200]
    snaps = TuningSnapshots(data.X[300:], data.y[300:])
    clf = SpikingRNNClassifier(n_hidden=16, max_epochs=1, learning_rate=1e-12, random_state=3)
    snaps.record_initial(clf, y)
    clf.fit(X, y)  # Adam moves each weight by ~1e-12: nothing at float32
    snaps.record(clf, 0)
    for field in ("baseline", "b1", "b2"):
        np.testing.assert_allclose(getattr(snaps.results[-1]["h"], field), getattr(snaps.results[0]["h"], field))


def test_snapshots_bad_input(data):
    with pytest.raises(ValueError, match="every"):
        TuningSnapshots(data.X, data.y, every=0)
    with pytest.raises(ValueError, match="trials"):
        TuningSnapshots(data.X, data.y[:10])
    with pytest.raises(ValueError, match="distinct direction"):
        TuningSnapshots(data.X, np.zeros(len(data.y), dtype=int), labels_to_angles={0: 0.0})
    snaps = TuningSnapshots(data.X[:, :, :10], data.y)
    clf = SpikingRNNClassifier(n_hidden=8, max_epochs=1, random_state=0).fit(data.X[:50], data.y[:50])
    with pytest.raises(ValueError, match="channels"):
        snaps.record(clf, 0)
    with pytest.raises(ValueError, match="no snapshot"):
        snaps.fraction_tuned()
    with pytest.raises(TypeError):
        snaps.record(object(), 0)


# ---------------------------------------------------------------------------------------------
# Population level
# ---------------------------------------------------------------------------------------------
def test_trajectories_shapes(data):
    tr = trajectories(data.X, data.y, n_components=3, smoothing_ms=5.0)
    assert tr.trajectories.shape == (4, 50, 3)
    assert tr.components.shape == (3, 96)
    assert tr.condition_means.shape == (4, 50, 96)
    assert tr.conditions.tolist() == [0, 1, 2, 3]
    assert np.all(np.diff(tr.explained_variance_ratio) <= 0) and tr.explained_variance_ratio.sum() <= 1
    np.testing.assert_allclose(tr.components @ tr.components.T, np.eye(3), atol=1e-10)
    # projections are the centred condition means on the components
    proj = (tr.condition_means.reshape(-1, 96) - tr.mean) @ tr.components.T
    np.testing.assert_allclose(proj.reshape(4, 50, 3), tr.trajectories, atol=1e-8)
    with pytest.raises(ValueError, match="n_components"):
        trajectories(data.X, data.y, n_components=500)
    # 2 conditions x 2 bins centred on their mean span 3 dimensions, not 4
    two = (data.y < 2)
    assert trajectories(data.X[two][:, :2], data.y[two], n_components=3).trajectories.shape == (2, 2, 3)
    with pytest.raises(ValueError, match=r"n_timesteps - 1, n_units\) = 3, got 4"):
        trajectories(data.X[two][:, :2], data.y[two], n_components=4)
    with pytest.raises(ValueError, match="3-D"):
        trajectories(data.X[:, 0], data.y)
    with pytest.raises(ValueError, match="one condition per trial"):
        trajectories(data.X, data.y[:3])


def test_similarity_identity_rotation_and_shuffle(data):
    A = trajectories(data.X, data.y, smoothing_ms=5.0).condition_means
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(96, 96)))
    assert similarity(A, A).score == pytest.approx(1.0, abs=1e-9)
    assert similarity(A, A, method="procrustes").disparity == pytest.approx(0.0, abs=1e-9)
    assert similarity(A, A @ Q, n_components=5).score == pytest.approx(1.0, abs=1e-9)
    assert similarity(A, A @ Q, method="procrustes", n_components=5).disparity == pytest.approx(0.0, abs=1e-9)
    # fewer units in B (a random projection to 40 dims) keeps the dominant dynamics
    assert similarity(A, A @ Q[:, :40], n_components=2).score > 0.98
    shuffled = A[:, rng.permutation(A.shape[1])]
    for method in ("cca", "procrustes"):
        assert similarity(A, shuffled, method=method, n_components=5).score < 0.9
        assert similarity(A, rng.normal(size=A.shape), method=method, n_components=5).score < 0.5
    res = similarity(A, A @ Q, n_components=4)
    assert res.canonical_correlations.shape == (4,)
    with pytest.raises(ValueError, match="method"):
        similarity(A, A, method="rsa")
    with pytest.raises(ValueError, match="same conditions"):
        similarity(A, A[:2])
    with pytest.raises(ValueError, match="variance"):
        similarity(A, np.ones_like(A))


def test_trajectories_units_counts_and_hz():
    """Rates already in Hz used to be multiplied by 1000 / dt like counts."""
    d = make_reaching_dynamics(n_conditions=4, n_trials_per_condition=3, n_neurons=20, n_timesteps=40, dt=2.0,
                               go_time=10.0, spiking=False, random_state=0)
    conds = np.unique(d.condition)
    hz_means = np.stack([d.rates[d.condition == c].astype(np.float64).mean(axis=0) for c in conds])
    hz = trajectories(d.rates, d.condition, n_components=2, dt=d.dt, units="hz")
    np.testing.assert_allclose(hz.condition_means, hz_means, rtol=1e-12)
    assert hz.units == "hz" and hz.input_units == "hz"
    # counts per bin (the default) are converted to Hz: count / (dt / 1000)
    count_means = np.stack([d.X[d.condition == c].astype(np.float64).mean(axis=0) for c in conds])
    counts = trajectories(d.X, d.condition, n_components=2, dt=d.dt)
    np.testing.assert_allclose(counts.condition_means, count_means * 500.0, rtol=1e-12)
    assert counts.units == "hz" and counts.input_units == "counts"  # its averages are in Hz, whatever came in
    for bad in ("Hz", "rates", None):
        with pytest.raises(ValueError, match="units must be 'counts'"):
            trajectories(d.rates, d.condition, units=bad)


def test_trajectories_take_results_with_a_time_axis(data):
    """A dataset, binned data or a simulate() result: its trials and its own bin width and times
    (the dataset was refused, with its whole repr, 10 kB, in the message)."""
    from motorsrnn.io import bin_spike_times

    d = make_reaching_dynamics(n_conditions=4, n_trials_per_condition=3, n_neurons=20, n_timesteps=40, dt=2.0,
                               go_time=10.0, random_state=0)
    whole = trajectories(d, d.condition, n_components=2)  # its spikes: the teacher population's, as in raster
    same = trajectories(d.spikes, d.condition, n_components=2, dt=2.0)
    np.testing.assert_array_equal(whole.trajectories, same.trajectories)
    assert whole.dt == 2.0 and whole.times[0] == d.times[0] and whole.times[1] - whole.times[0] == 2.0
    with pytest.raises(ValueError, match="dt=1 ms, but the data's own time axis has dt = 2 ms"):
        trajectories(d, d.condition, dt=1)
    events = np.arange(1.0, 13.0)
    trains = [events[:, None] + np.linspace(-0.1, 0.2, 7)[None, :] for _ in range(3)]
    binned = bin_spike_times([t.ravel() for t in trains], events, window=(-100, 200), bin_size=10)
    traj = trajectories(binned, np.arange(12) % 3, n_components=2)
    assert traj.dt == 10.0 and traj.times[0] == -100.0  # relative to the event
    np.testing.assert_array_equal(traj.condition_means, trajectories(binned.X, np.arange(12) % 3, n_components=2,
                                                                     dt=10).condition_means)
    wide = np.random.default_rng(0).poisson(0.5, (12, 30, 5))  # 10 ms bins of 50 Hz neurons, read as 1 ms: 500 Hz
    with pytest.warns(UserWarning, match=r"mean rate of .* Hz at the default bin width dt=1 ms"):
        trajectories(wide, np.arange(12) % 3, n_components=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trajectories(wide, np.arange(12) % 3, n_components=2, dt=10)  # the width given: no warning


def test_similarity_cca_caps_components_at_the_rank():
    """CCA on more components than the activity has dimensions scored rounding noise: the same 3-D
    data in rotated coordinates got 0.59 with the default n_components=10."""
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(4 * 30, 3))  # 3-D dynamics: 4 conditions x 30 bins
    A = (latent @ rng.normal(size=(3, 20))).reshape(4, 30, 20)
    Q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    B = A @ Q
    with pytest.warns(UserWarning, match="n_components reduced from 10 to 3 for CCA"):
        res = similarity(A, B)
    assert res.score == pytest.approx(1.0, abs=1e-9)
    assert res.n_components == 10 and res.n_components_used == 3 and res.canonical_correlations.shape == (3,)
    # the result of asking for the rank, which does not warn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exact = similarity(A, B, n_components=3)
    assert exact.n_components_used == 3
    np.testing.assert_allclose(exact.canonical_correlations, res.canonical_correlations)
    # float32 rounding (about 1e-7) is no dimension either
    with pytest.warns(UserWarning, match="from 8 to 3"):
        res32 = similarity(A.astype(np.float32), B.astype(np.float32), n_components=8)
    assert res32.score == pytest.approx(1.0, abs=1e-6)
    # capped at the smaller of the two ranks
    B5 = B + (rng.normal(size=(120, 2)) @ rng.normal(size=(2, 20))).reshape(4, 30, 20)
    with pytest.warns(UserWarning, match="to 3 for CCA: .* A have numerical rank 3 and those of B 5"):
        assert similarity(A, B5, n_components=6).n_components_used == 3
    # Procrustes gives components without variance no weight: nothing to cap
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proc = similarity(A, B, method="procrustes")
    assert proc.score == pytest.approx(1.0, abs=1e-9) and proc.n_components_used == proc.n_components == 10


def test_similarity_normalisation():
    rng = np.random.default_rng(1)
    t = np.linspace(0, 1, 60)
    latent = np.stack([np.stack([np.cos(2 * np.pi * t + c), np.sin(2 * np.pi * t + c), t * c])
                       for c in np.linspace(0, 3, 6)]).transpose(0, 2, 1)  # (6, 60, 3)
    A = 10 + 4 * latent @ rng.normal(size=(3, 40))  # 40 units, rates around 10 Hz
    # B: the same dynamics in other units plus 3 units with huge, unrelated swings
    loud = 200 * rng.normal(size=(6, 60, 3)).cumsum(axis=1) / 8
    B = np.concatenate([10 + 4 * latent @ rng.normal(size=(3, 30)), loud], axis=2)
    raw = similarity(A, B, n_components=3).score
    soft = similarity(A, B, n_components=3, normalize="soft").score
    assert soft > 0.9 > raw + 0.1, (raw, soft)
    # z-scoring removes any per-unit scale: a rescaled copy is identical again
    noisy = rng.normal(size=A.shape)  # no dominant dimensions: rescaling units moves the top PCs
    D = rng.uniform(0.1, 10.0, size=40)
    assert similarity(noisy, noisy * D, n_components=3).score < 0.9
    assert similarity(noisy, noisy * D, n_components=3, normalize="zscore").score == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="normalize"):
        similarity(A, B, normalize="range")
    with pytest.raises(ValueError, match="soft_offset"):
        similarity(A, B, normalize="soft", soft_offset=-1.0)



def test_similarity_zscore_does_not_amplify_a_saturated_units_rounding():
    """A unit firing in every bin comes out of trajectories' smoothing as 1000 Hz +- 1e-13;
    z-scored, that rounding became a unit-variance signal and the score fell from 0.99 to 0.75."""
    rng = np.random.default_rng(0)
    n_trials, n_steps = 64, 60
    directions = np.arange(n_trials) % 4
    rate = 0.02 + 0.03 * (1 + np.cos(directions[:, None, None] * np.pi / 2 - np.arange(10) * 0.6)) / 2
    S = (rng.random((n_trials, n_steps, 10)) < rate).astype(np.uint8)
    saturated = S.copy()
    saturated[:, :, 0] = 1
    ta = trajectories(S, directions, smoothing_ms=20)
    tb = trajectories(saturated, directions, smoothing_ms=20)
    assert np.ptp(tb.condition_means[..., 0]) < 1e-9 * 1000  # the unit is constant up to rounding
    without = similarity(ta.condition_means[..., 1:], tb.condition_means[..., 1:], normalize="zscore", n_components=4).score
    assert without > 0.95
    assert similarity(ta.condition_means, tb.condition_means, normalize="zscore", n_components=4).score == pytest.approx(without, abs=0.02)
    # nothing but rounding noise has no variance
    noise = np.full((4, 60, 3), 7.0) * (1 + np.finfo(float).eps * rng.integers(0, 3, size=(4, 60, 3)))
    assert np.ptp(noise) > 0
    with pytest.raises(ValueError, match="B has no variance"):
        similarity(ta.condition_means[..., :3], noise)


# ---------------------------------------------------------------------------------------------
# Circuit level
# ---------------------------------------------------------------------------------------------
def test_weight_vs_pd_difference_known_relation(srnn, data):
    res = network_tuning(srnn, data.X[300:], data.y[300:])
    pd = res.preferred_direction
    ok = np.isfinite(pd)
    assert ok.sum() >= 10
    clf = __import__("copy").deepcopy(srnn)
    clf.set_weights({"w_rec": 0.5 * np.cos(np.nan_to_num(pd)[:, None] - np.nan_to_num(pd)[None, :])})
    out = weight_vs_pd_difference(clf, res, "w_rec", bins=6, tuned_only=False)
    assert out.correlation == pytest.approx(1.0, abs=1e-6)
    assert out.slope == pytest.approx(0.5, abs=1e-5)
    assert out.intercept == pytest.approx(0.0, abs=1e-5)
    n_ok = int(ok.sum())
    assert out.n_connections == n_ok * (n_ok - 1)  # no self-connections
    assert out.count.sum() == out.n_connections
    # mean weight per bin is the mean of 0.5 cos over the connections in the bin: decreasing
    assert np.all(np.diff(out.mean_weight) < 0)
    assert out.mean_weight[0] > 0.4 and out.mean_weight[-1] < -0.4
    expected = [0.5 * np.cos(out.pd_difference[(out.pd_difference >= lo) & (out.pd_difference <= hi)]).mean()
                for lo, hi in zip(out.bin_edges[:-1], out.bin_edges[1:])]
    np.testing.assert_allclose(out.mean_weight, expected, atol=1e-5)
    # tuned only: a subset
    sub = weight_vs_pd_difference(clf, res, "w_rec", tuned_only=True)
    assert sub.n_connections <= out.n_connections
    with pytest.raises(ValueError, match="unknown projection"):
        weight_vs_pd_difference(clf, res, "nope")
    with pytest.raises(ValueError, match="input"):
        weight_vs_pd_difference(clf, res, "w_in")
    # a NaN edge gave NaN bin centres and a silent count of 0; a fitted baseline was "not fitted"
    with pytest.raises(ValueError, match="bin edges must be 1-D, finite"):
        weight_vs_pd_difference(clf, res, "w_rec", bins=[0, np.nan, 3])
    with pytest.raises(TypeError, match="must be a fitted SpikingRNNClassifier or SpikingRNNRegressor, got PoissonNaiveBayes"):
        weight_vs_pd_difference(PoissonNaiveBayes().fit(data.X, data.y), res, "w_rec")


def test_tuning_flags_must_be_booleans(data):
    """degrees="yes", cumulative=1, per_unit="no" were taken as truthy values (per_unit="no" gave
    the per-unit table); an r2_threshold above 1 was accepted by tuned() but not by the fit."""
    from motorsrnn.tuning import fit_cosine_tuning

    res = fit_cosine_tuning(data.X[:100], data.y[:100])
    for call in (lambda: res.to_dataframe(degrees="yes"), lambda: res.predict([0.0], degrees=1)):
        with pytest.raises(ValueError, match="degrees"):
            call()
    with pytest.raises(ValueError, match="r2_threshold"):
        res.tuned(r2_threshold=5)
    snaps = TuningSnapshots(data.X[:40], data.y[:40], every=1)
    SpikingRNNClassifier(n_hidden=8, max_epochs=2, random_state=0, callback=snaps).fit(data.X, data.y)
    for call, name in ((lambda: snaps.persistency(cumulative=1), "cumulative"), (lambda: snaps.pd_drift(degrees=1), "degrees"),
                       (lambda: snaps.to_dataframe(per_unit="no"), "per_unit")):
        with pytest.raises(ValueError, match=name):
            call()


def test_weight_vs_pd_difference_between_populations(trained, data):
    clf, snaps = trained
    out = weight_vs_pd_difference(clf, snaps.results[5], "M1->PM", tuned_only=False)
    assert out.source == "M1" and out.target == "PM"
    assert np.all(out.source_index < 24) and np.all(out.target_index < 12)
    assert out.correlation == pytest.approx(np.corrcoef(np.cos(out.pd_difference), out.weights)[0, 1], rel=1e-9)
    res_all = network_tuning(clf, data.X[300:], data.y[300:])
    out2 = weight_vs_pd_difference(clf, res_all, "M1->PM", tuned_only=False)
    np.testing.assert_allclose(out.weights, out2.weights)
    with pytest.raises(ValueError, match="covers"):
        weight_vs_pd_difference(clf, snaps.results[5]["M1"], "M1->PM")


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def plt():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plots_draw_the_expected_artists(plt, data, trained, srnn):
    from motorsrnn import plotting
    from motorsrnn.tuning import fit_cosine_tuning

    clf, snaps = trained
    ax = plotting.raster(data.X, trial=2)
    assert len(ax.collections) == 1 and len(ax.collections[0].get_offsets()) == int((data.X[2] > 0).sum())
    sim = clf.simulate(data.X[:20], membrane=False)
    assert len(plotting.raster(sim, trial=0).collections) == 1
    ax = plotting.psth(data.X, data.y, unit=5, bin_ms=10)
    assert len(ax.lines) == 4 and len(ax.lines[0].get_xdata()) == 5

    res = fit_cosine_tuning(data.X, data.y)
    ax = plotting.polar_tuning(res, unit=int(np.argmax(res.modulation_depth)), activity=data.X, directions=data.y)
    assert ax.name == "polar"
    assert len(ax.lines) >= 2 and len(ax.containers) == 1  # fit, PD ray (+ error-bar line), error bars
    ax = plotting.polar_tuning(res, unit=0)
    assert len(ax.lines) == 2
    ax = plotting.pd_histogram(res, bins=8)
    assert len(ax.patches) == 8
    assert sum(p.get_height() for p in ax.patches) == int(res.is_tuned.sum())
    with pytest.raises(ValueError, match="polar"):
        plotting.polar_tuning(res, 0, ax=plt.subplots()[1])

    ax = plotting.cultivation(snaps)
    assert len(ax.lines) == 4  # input-driven, other, all, persistency
    np.testing.assert_allclose(ax.lines[0].get_ydata(), snaps.fraction_tuned("M1"))
    ax.figure.canvas.draw()
    assert all(float(t) == int(t) for t in ax.get_xticks())  # epochs: no tick at 2.5

    tr = trajectories(data.X, data.y, smoothing_ms=5.0)
    ax = plotting.trajectories(tr)
    assert len(ax.lines) == 8  # a path and a start marker per direction
    ax3 = plotting.trajectories(tr, components=(0, 1, 2))
    assert ax3.name == "3d" and len(ax3.lines) == 8

    ax = plotting.learning_curves(srnn)
    assert len(ax.lines) == 1 and len(ax.accuracy_axes.lines) == 1
    assert len(ax.lines[0].get_xdata()) == 6
    plotting.learning_curves(srnn, ax=ax)  # a second call overlays, on the same twin
    assert len(ax.lines) == 2 and len(ax.accuracy_axes.lines) == 2 and len(ax.figure.axes) == 2
    ax.clear()  # keeps the twin: its accuracy lines stayed, beside the new model's
    plotting.learning_curves(srnn, ax=ax)
    assert len(ax.lines) == 1 and len(ax.accuracy_axes.lines) == 1 and len(ax.figure.axes) == 2

    fig, axes = plt.subplots(1, 2)
    assert plotting.raster(data.X, ax=axes[1]) is axes[1]


def test_cultivation_all_units_line_only_with_two_groups(plt, data):
    """The documented rule (audit 6, finding 7): no 'all units' line when one group is empty."""
    from motorsrnn import plotting

    snaps = TuningSnapshots(data.X[300:], data.y[300:])
    SpikingRNNClassifier(n_hidden=16, max_epochs=2, random_state=0, callback=snaps).fit(data.X[:120], data.y[:120])
    assert snaps.groups == {"input-driven": ["h"], "other": []}
    labels = [line.get_label() for line in plotting.cultivation(snaps).lines]
    assert labels == ["input-driven (h)", "persistency (tuned at epoch 0)"]
    assert [line.get_label() for line in plotting.cultivation(snaps, persistency=False).lines] == ["input-driven (h)"]
    assert "only when both groups are non-empty" in " ".join(plotting.cultivation.__doc__.split())


def test_cultivation_overlays_label_each_network(plt, data):
    """Two networks on one axes could not be told apart, and the second call reset the x ticks to
    its own epochs (plot audit of the sixteenth session)."""
    from motorsrnn import plotting

    snaps = {}
    for name, epochs in (("long", 14), ("short", 3)):
        snaps[name] = TuningSnapshots(data.X[300:], data.y[300:])
        SpikingRNNClassifier(n_hidden=16, max_epochs=epochs, random_state=0, callback=snaps[name]).fit(
            data.X[:120], data.y[:120])
    ax = plotting.cultivation(snaps["long"], label="long")
    ax = plotting.cultivation(snaps["short"], ax=ax, label="short", persistency=False)
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["long: input-driven (h)", "long: persistency (tuned at epoch 0)", "short: input-driven (h)"]
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert max(ticks) >= 10  # the long network's epochs keep their ticks
    # the two networks' lines differ by more than the legend text (the colours are the groups')
    first, second = ax.lines[0], ax.lines[2]
    assert first.get_color() == second.get_color()
    assert (first.get_linestyle(), first.get_marker()) != (second.get_linestyle(), second.get_marker())
    ax.set_xlabel("epoch (-1 = untrained)")  # as a first network with an untrained record leaves it
    plotting.cultivation(snaps["short"], ax=ax, persistency=False)
    assert ax.get_xlabel() == "epoch (-1 = untrained)"  # an overlay starting at epoch 0 keeps it
    ax.clear()  # a cleared axes starts the styles again
    plotting.cultivation(snaps["short"], ax=ax, persistency=False)
    assert (ax.lines[0].get_linestyle(), ax.lines[0].get_marker()) == (first.get_linestyle(), first.get_marker())
    with pytest.raises(ValueError, match="label must be a str"):
        plotting.cultivation(snaps["short"], label=3)


def test_cultivation_of_active_units(plt, trained):
    """Training silences units, and a silent unit is never tuned: active_only draws the fractions
    of the units that spike (user-journey audit of the nineteenth session)."""
    from motorsrnn import plotting

    _, snaps = trained
    ax = plotting.cultivation(snaps, active_only=True, persistency=False)
    names = snaps.groups["input-driven"]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), snaps.fraction_tuned(names, active_only=True))
    assert ax.lines[0].get_label().endswith("(active units)") and ax.get_ylabel() == "fraction of active units"
    with pytest.raises(ValueError, match="active_only"):
        plotting.cultivation(snaps, active_only="yes")


def test_cartesian_plots_refuse_polar_and_3d_axes(plt, data, trained, srnn):
    """Like polar_tuning's check for a polar Axes (audit 6, finding 8)."""
    from motorsrnn import plotting

    _, snaps = trained
    tr = trajectories(data.X, data.y, smoothing_ms=5.0)
    draws = [
        lambda ax: plotting.raster(data.X, ax=ax),
        lambda ax: plotting.psth(data.X, data.y, unit=0, ax=ax),
        lambda ax: plotting.cultivation(snaps, ax=ax),
        lambda ax: plotting.trajectories(tr, ax=ax),
        lambda ax: plotting.learning_curves(srnn, ax=ax),
    ]
    for projection in ("polar", "3d"):
        ax = plt.figure().add_subplot(projection=projection)
        for draw in draws:
            with pytest.raises(ValueError, match="ax must be a Cartesian Axes"):
                draw(ax)
        assert len(ax.lines) == 0 and len(ax.collections) == 0
    _, ax = plt.subplots()
    assert all(draw(ax) is ax for draw in draws)


def test_polar_tuning_draws_cosine_and_von_mises_fits(plt):
    """A VonMisesTuning used to pass the input check, create a figure, then fail on is_tuned."""
    from motorsrnn import plotting
    from motorsrnn.tuning import fit_cosine_tuning, fit_von_mises_tuning

    d = make_center_out(n_trials=160, n_neurons=8, n_directions=8, random_state=0)
    theta = np.linspace(0.0, 2.0 * np.pi, 181)
    for fit, label, tuned_in_title in ((fit_cosine_tuning, "cosine fit", True),
                                       (fit_von_mises_tuning, "von Mises fit", False)):
        res = fit(d.X, d.angles)
        unit = int(np.flatnonzero(np.isfinite(res.preferred_direction))[0])
        ax = plotting.polar_tuning(res, unit, activity=d.X, directions=d.angles)
        assert ax.name == "polar" and len(ax.containers) == 1
        assert ax.lines[0].get_label() == label
        np.testing.assert_allclose(ax.lines[0].get_ydata(), np.maximum(res.predict(theta)[:, unit], 0.0))
        assert ax.lines[1].get_label() == "preferred direction"
        assert ax.lines[1].get_xdata()[0] == res.preferred_direction[unit]
        assert ("tuned" in ax.get_title()) == tuned_in_title
    assert len(plotting.pd_histogram(res, tuned_only=False, bins=6).patches) == 6
    with pytest.raises(ValueError, match="tuned_only=True needs is_tuned, which VonMisesTuning"):
        plotting.pd_histogram(res)
    # results or arguments it cannot draw are refused before a figure is created
    from sklearn.utils import Bunch

    plt.close("all")
    no_size = Bunch(predict=res.predict, preferred_direction=res.preferred_direction)
    with pytest.raises(ValueError, match="Bunch has no n_neurons"):
        plotting.polar_tuning(no_size, 0)
    with pytest.raises(ValueError, match="has no predict, preferred_direction, n_neurons"):
        plotting.polar_tuning(np.zeros(3), 0)
    with pytest.raises(ValueError, match="out of range"):
        plotting.polar_tuning(res, 8)
    with pytest.raises(ValueError, match="give both activity and directions"):
        plotting.polar_tuning(res, 0, activity=d.X)
    assert plt.get_fignums() == []


def test_plotting_without_matplotlib(monkeypatch, data):
    from motorsrnn import plotting

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    # the library itself first (works wherever pip runs; motorsrnn is on no package index), then the extra
    with pytest.raises(ImportError, match=r'python -m pip install matplotlib \(or the extra: python -m pip install "motorsrnn\[plot\]"\)'):
        plotting.raster(data.X)
    with pytest.raises(ImportError, match="motorsrnn"):
        plotting.pd_histogram(np.zeros(3))


def test_polar_tuning_draws_the_points_in_the_units_of_the_fit(plt):
    """The empirical points used tuning_curves' defaults (Hz, dt=1, whole window) whatever the fit's
    settings: a fit in counts, or of a network with 2 ms bins, drew curve and points apart."""
    from motorsrnn import plotting
    from motorsrnn.tuning import fit_cosine_tuning, tuning_curves

    d = make_center_out(n_trials=160, n_neurons=8, n_directions=8, random_state=0)
    for kws in (dict(units="counts"), dict(dt=2.0, window=(10, 40)), dict(units="hz")):
        res = fit_cosine_tuning(d.X, d.y, **kws)
        unit = int(np.nanargmax(res.modulation_depth))
        ax = plotting.polar_tuning(res, unit, activity=d.X, directions=d.y)
        points = ax.containers[0].lines[0].get_ydata()
        np.testing.assert_allclose(points, tuning_curves(d.X, d.y, **kws).mean[:, unit])
        # the points lie around the fitted curve: their mean is the fit's baseline (equal trials per direction)
        assert np.mean(points) == pytest.approx(res.baseline[unit], rel=0.05)
        assert ("spikes per trial" if kws.get("units") == "counts" else "spikes/s") in ax.get_title()
        plt.close("all")
    assert res.settings["units"] == "hz"
    np.testing.assert_allclose(res.settings["labels_to_angles"], 2 * np.pi * np.arange(8) / 8)  # the fit's labels


def test_polar_tuning_of_a_subset_of_trials_keeps_the_fits_angles(plt):
    """Integer labels are read as 2 pi k / K: a subset of the trials lacking a label (K = 3 of 4)
    drew its points at thirds of the circle, away from the curve fitted on quarters."""
    from motorsrnn import plotting
    from motorsrnn.tuning import fit_cosine_tuning, fit_von_mises_tuning, tuning_curves

    d = make_center_out(n_trials=200, n_neurons=6, random_state=0)
    keep = d.y != 3
    for fit in (fit_cosine_tuning, fit_von_mises_tuning):
        res = fit(d.X, d.y)
        ax = plotting.polar_tuning(res, 1, d.X[keep], d.y[keep])
        np.testing.assert_allclose(ax.containers[0].lines[0].get_xdata(), [0.0, np.pi / 2, np.pi])
        np.testing.assert_array_equal(ax.containers[0].lines[0].get_ydata(),
                                      tuning_curves(d.X, d.y).mean[:3, 1])
        plt.close("all")
    with pytest.raises(ValueError, match="integer directions are read as class labels 0, ..., K-1"):
        fit_cosine_tuning(d.X[keep], d.y[keep] + 1)  # still checked at the fit


def test_polar_tuning_places_snapshot_and_network_tuning_points_as_their_fits(plt, srnn, data):
    """Results of TuningSnapshots (probe labels 0-2 of a four-direction classifier, mapped with
    labels_to_angles, or angles in degrees) and of network_tuning with a window: polar_tuning's
    points are the rates the fit used, at the angles it used (the snapshot's results dropped the
    mapping, which put the points at thirds of the circle; network_tuning's dropped the window)."""
    from motorsrnn import plotting
    from motorsrnn.datasets import direction_angles
    from motorsrnn.tuning import tuning_curves

    X, y = data.X[300:], data.y[300:]
    keep = y < 3
    spikes = srnn.simulate(X[keep], membrane=False).spikes
    window = (10, 40)
    by_hand = spikes[:, window[0]:window[1]].sum(axis=1) * 1000.0 / ((window[1] - window[0]) * srnn.dt)
    true_angles = np.pi / 2 * y[keep]
    for directions, kws in ((y[keep], dict(labels_to_angles=direction_angles(4))),
                            (90.0 * y[keep], dict(degrees=True))):
        snaps = TuningSnapshots(X[keep], directions, window=window, **kws)
        snaps.record(srnn, 0)
        res = snaps.results[0]["h"]
        ax = plotting.polar_tuning(res, 0, spikes, directions)
        # the error bars' x (angle) and y (mean rate) data
        angles, points = ax.containers[0].lines[0].get_xdata(), ax.containers[0].lines[0].get_ydata()
        np.testing.assert_allclose(angles, [0.0, np.pi / 2, np.pi])
        np.testing.assert_allclose(points, [by_hand[true_angles == a, 0].mean() for a in angles], rtol=1e-6)
        plt.close("all")
    res = network_tuning(srnn, X[keep], y[keep], window=window)
    ax = plotting.polar_tuning(res, 0, spikes, y[keep])
    np.testing.assert_allclose(ax.containers[0].lines[0].get_ydata(),
                               [by_hand[y[keep] == k, 0].mean() for k in range(3)], rtol=1e-6)
    assert "spikes/s" in ax.get_title()
    curves = tuning_curves(spikes, y[keep], **res.settings)
    np.testing.assert_allclose(curves.angles, [0.0, np.pi / 2, np.pi])


def test_psth_and_raster_put_the_event_at_time_zero(plt):
    """Trials binned from 200 ms before the event: the time axis starts at -200 ms, not 0."""
    from motorsrnn import plotting
    from motorsrnn.io import bin_spike_times

    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0.0, 10.0, 300)) for _ in range(3)]
    rec = bin_spike_times(trains, events=[2.0, 5.0, 8.0], window=(-200, 300), bin_size=1.0)
    labels = np.array([0, 1, 0])
    ax = plotting.psth(rec.X, labels, unit=1, bin_ms=10, t0=rec.times[0])
    centers = ax.lines[0].get_xdata()
    assert centers[0] == pytest.approx(-195.0) and centers[-1] == pytest.approx(295.0)
    assert [tuple(line.get_xdata()) for line in ax.lines[2:]] == [(0.0, 0.0)]  # the event
    plt.close("all")
    ax = plotting.raster(rec.X, trial=1, t0=rec.window[0])
    assert ax.get_xlim() == pytest.approx((-200.5, 300.0))  # half a bin of margin: first-bin spikes show
    ax.figure.canvas.draw()
    assert all(t == round(t) for t in ax.get_yticks())  # 3 units: ticks at 0, 1, 2, not 0.5, 1.5
    offsets = ax.collections[0].get_offsets()[:, 0]
    expected = -200.0 + np.flatnonzero(rec.X[1].sum(axis=1) > 0)
    np.testing.assert_allclose(np.unique(offsets), expected)
    with pytest.raises(ValueError, match="t0"):
        plotting.psth(rec.X, labels, unit=1, t0=float("nan"))


def test_psth_default_bins_fit_the_datas_bins_and_rates_start_at_zero(plt):
    """The default bin_ms=5 refused data in 10 ms bins or a network's 2 ms steps."""
    from motorsrnn import plotting

    rng = np.random.default_rng(0)
    X = (rng.random((12, 60, 2)) < 0.1).astype(np.uint8)
    labels = np.arange(12) % 3
    for dt, width in ((1.0, 5.0), (10.0, 10.0), (2.0, 6.0), (0.5, 5.0)):
        ax = plotting.psth(X, labels, 0, dt=dt)
        k = int(round(width / dt))
        np.testing.assert_allclose(ax.lines[0].get_xdata(), (np.arange(60 // k) + 0.5) * width)
        expected = X[labels == 0, : (60 // k) * k, 0].reshape(4, -1, k).sum(axis=2).mean(axis=0) / (width / 1000)
        np.testing.assert_allclose(ax.lines[0].get_ydata(), expected)
        assert ax.get_ylim()[0] == 0.0
        plt.close("all")
    silent = np.zeros_like(X)
    assert plotting.psth(silent, labels, 0).get_ylim() == (0.0, 1.0)  # not -0.055..0.055
    many = plotting.psth(X, np.arange(12), 0)  # 12 directions: the legend beside the axes, inside the figure
    many.figure.canvas.draw()
    assert many.get_legend().get_window_extent().x1 <= many.figure.bbox.x1
    fig, ax = plt.subplots()
    plotting.psth(silent, labels, 0, ax=ax)
    plotting.psth(X * 3, labels, 0, ax=ax)  # an overlay: the axis grows to the new lines
    assert ax.get_ylim()[1] >= max(line.get_ydata().max() for line in ax.lines[:6] if line.get_ydata().size > 2)


def test_polar_tuning_overlays_keep_every_curve_in_view_and_flag_unconverged_fits(plt):
    from motorsrnn import plotting
    from motorsrnn.tuning import fit_cosine_tuning, fit_von_mises_tuning

    d = make_center_out(n_trials=96, n_neurons=10, n_directions=8, random_state=0)
    tun = fit_cosine_tuning(d.X, d.y)
    peak = tun.baseline + tun.modulation_depth
    strong, weak = int(np.nanargmax(peak)), int(np.nanargmin(peak))
    fig, ax = plt.subplots(subplot_kw={"projection": "polar"})
    plotting.polar_tuning(tun, strong, d.X, d.y, ax=ax)
    first = ax.get_ylim()[1]
    plotting.polar_tuning(tun, weak, d.X, d.y, ax=ax, color="C3")
    assert ax.get_ylim()[1] == first >= ax.lines[0].get_ydata().max()  # the first, larger curve stays in view
    assert ax.get_title().startswith(f"unit {weak}:")
    vm = fit_von_mises_tuning(d.X, d.y, max_iter=1)
    assert not vm.converged.all()
    unit = int(np.flatnonzero(~vm.converged)[0])
    assert ", fit not converged" in plotting.polar_tuning(vm, unit).get_title()
    if vm.converged.any():
        assert "not converged" not in plotting.polar_tuning(vm, int(np.flatnonzero(vm.converged)[0])).get_title()


def test_psth_and_raster_take_the_time_axis_of_binned_or_simulated_trials(plt):
    """A bin_spike_times result with 10 ms bins from -200 ms, passed whole, was drawn as 1 ms bins
    from 0: its rate axis read ten times the rate and its time axis 0-50 ms (plot audit of the
    sixteenth session). The Bunch's bin size and times are used now, and a contradicting dt or t0
    is refused."""
    from motorsrnn import plotting
    from motorsrnn.io import bin_spike_times

    rng = np.random.default_rng(1)
    trains = [np.sort(rng.uniform(0.0, 60.0, int(8.0 * 60))) for _ in range(2)]  # about 8 Hz
    events = np.arange(1.0, 59.0, 1.0)
    rec = bin_spike_times(trains, events, window=(-200, 300), bin_size=10)
    labels = np.arange(len(events)) % 2
    ax = plotting.psth(rec, labels, 0, bin_ms=50)
    centers = ax.lines[0].get_xdata()
    assert centers[0] == pytest.approx(-175.0) and centers[-1] == pytest.approx(275.0)
    rates = np.concatenate([line.get_ydata() for line in ax.lines[:2]])
    assert 5.0 < rates.mean() < 11.0  # Hz, not ten times that
    plt.close("all")
    ax = plotting.raster(rec, 0)
    assert ax.get_xlim() == pytest.approx((-205.0, 300.0))
    plt.close("all")
    in_s = bin_spike_times(trains, events, window=(-0.2, 0.3), bin_size=0.01, units="s")
    ax = plotting.psth(in_s, labels, 0, bin_ms=50)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), centers)
    plt.close("all")
    with pytest.raises(ValueError, match="dt=1.0 ms, but the data's own time axis has dt = 10 ms"):
        plotting.psth(rec, labels, 0, dt=1.0, bin_ms=50)
    with pytest.raises(ValueError, match="t0"):
        plotting.raster(rec, 0, t0=0.0)
    # explicit values that agree are accepted, and an array keeps the defaults
    assert plotting.raster(rec, 0, dt=10, t0=-200).get_xlim() == pytest.approx((-205.0, 300.0))
    assert plotting.raster(rec.X, 0).get_xlim() == pytest.approx((-0.5, 50.0))
    plt.close("all")
    sim = SpikingRNNClassifier(n_hidden=8, max_epochs=1, dt=2.0, random_state=0).fit(
        (rng.random((8, 25, 3)) < 0.2).astype(np.uint8), np.arange(8) % 2).simulate(
        (rng.random((2, 25, 3)) < 0.2).astype(np.uint8))
    assert plotting.raster(sim, 0).get_xlim() == pytest.approx((-1.0, 50.0))
    # a simulate() result's times start at its window: a t0 places that window relative to an event
    assert plotting.raster(sim, 0, t0=-20.0).get_xlim() == pytest.approx((-21.0, 30.0))
    with pytest.raises(ValueError, match="dt=1 ms, but the data's own time axis has dt = 2 ms"):
        plotting.raster(sim, 0, dt=1)
    plt.close("all")


def test_pd_histogram_centres_a_sector_on_each_direction(plt):
    """Sectors started at 0 rad, so directions just either side of 0 fell in two sectors and
    every target direction lay on a sector edge."""
    from motorsrnn import plotting

    ax = plotting.pd_histogram(np.radians([-3, -2, -1, 1, 2, 3, 90, 91]), bins=8)
    heights = [p.get_height() for p in ax.patches]
    assert heights == [6, 0, 2, 0, 0, 0, 0, 0]
    centres = [p.get_x() + p.get_width() / 2 for p in ax.patches]
    np.testing.assert_allclose(centres, np.arange(8) * np.pi / 4, atol=1e-12)
    plt.close("all")


def test_early_curves_labels_a_single_result(plt, data, srnn):
    from motorsrnn import plotting

    ec = early_classification(srnn, data.X[:40], data.y[:40])
    ax = plotting.early_curves(ec, label="SRNN")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SRNN", "chance"]
    with pytest.raises(ValueError, match="with a dict, the keys are the labels"):
        plotting.early_curves({"a": ec}, label="SRNN")
    plt.close("all")


def test_similarity_warns_when_cca_components_fill_the_samples():
    """With the default 10 components on 2 conditions x 5 bins (9 dimensions), two independent
    noise populations scored CCA 1.000 without a word."""
    rng = np.random.default_rng(0)
    with pytest.warns(UserWarning, match="unrelated populations score close to 1"):
        res = similarity(rng.normal(size=(2, 5, 100)), rng.normal(size=(2, 5, 100)))
    assert res.score > 0.99
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low = similarity(rng.normal(size=(8, 50, 100)), rng.normal(size=(8, 50, 100)))
    assert low.score < 0.4


def test_plots_check_their_inputs_before_drawing(plt, data, trained, srnn):
    """Bad input raises before anything is drawn and leaves no new figure (plot audit of the
    thirteenth session): a failed call used to leave an empty figure, or half a plot on ax."""
    from motorsrnn import plotting
    from motorsrnn.tuning import fit_cosine_tuning

    _, snaps = trained
    res = fit_cosine_tuning(data.X, data.y)
    before = plt.get_fignums()
    bad_calls = [
        (lambda: plotting.raster(data.X, trial=10**6), ValueError, "trial"),
        (lambda: plotting.raster(data.X[0]), ValueError, "3-D spikes"),  # one trial alone
        (lambda: plotting.raster(data.X, dt=0), ValueError, "dt"),
        (lambda: plotting.raster(data.X, dt="2"), TypeError, "dt"),
        (lambda: plotting.psth(data.X, np.where(np.arange(len(data.y)) == 3, np.nan, data.y), unit=0),
         ValueError, "NaN"),
        (lambda: plotting.psth(data.X, data.y, unit=0, bin_ms="10"), TypeError, "bin_ms"),
        (lambda: plotting.polar_tuning(res, 0, data.X[:, :, :5], data.y), ValueError, "units"),
        (lambda: plotting.pd_histogram(np.degrees(res.preferred_direction), tuned_only=False), ValueError, "degrees"),
        (lambda: plotting.pd_histogram(res, tuned_only="no"), ValueError, "tuned_only"),
        (lambda: plotting.pd_histogram(snaps.results[0]), TypeError, "dict"),
        (lambda: plotting.cultivation(snaps, reference_epoch=99), ValueError, "not recorded"),
        (lambda: plotting.cultivation(snaps, persistency="no"), ValueError, "persistency"),
        (lambda: plotting.trajectories(trajectories(data.X, data.y), components=(0.7, 1.9)), ValueError, "integer"),
        (lambda: plotting.learning_curves(PoissonNaiveBayes().fit(data.X, data.y)), ValueError, "history_"),
        (lambda: plotting.learning_curves(SpikingRNNClassifier()), NotFittedError, "is not fitted yet"),
    ]
    for call, error, match in bad_calls:
        with pytest.raises(error, match=match):
            call()
        assert plt.get_fignums() == before, match
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="not recorded"):
        plotting.cultivation(snaps, reference_epoch=99, ax=ax)
    with pytest.raises(ValueError, match="units"):
        plotting.polar_tuning(res, 0, data.X[:, :, :5], data.y, ax=plt.subplot(projection="polar"))
    assert len(ax.lines) == 0


def test_plot_details_users_read(plt, data, srnn):
    """Unit indices on a raster of chosen units, binned-trial input, curve keywords reaching the
    curve, a silent unit drawn at radius 0, a legend for every learning curve."""
    from motorsrnn import SpikingRNNRegressor, plotting
    from motorsrnn.io import bin_spike_times
    from motorsrnn.tuning import fit_cosine_tuning

    ax = plotting.raster(data.X, units=[40, 7, 93])
    plt.gcf().canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels == ["40", "7", "93"]
    binned = bin_spike_times([np.array([0.01, 0.02]), np.array([0.015])], np.array([0.0, 1.0]), window=(0, 50))
    ax = plotting.raster(binned, trial=0)
    assert ax.collections[0].get_offsets().shape[0] == 3

    X = data.X.astype(float)
    X[:, :, 0] = 0  # a silent unit: no preferred direction, rate 0
    res = fit_cosine_tuning(X, data.y)
    ax = plotting.polar_tuning(res, 0, X, data.y, linewidth=3)
    assert ax.lines[0].get_linewidth() == 3
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] > 0

    ax = plotting.trajectories(trajectories(data.X, data.y), components=range(2))  # any sequence of ints
    assert ax.get_xlabel().startswith("PC1") and ax.get_ylabel().startswith("PC2")

    ax = plotting.learning_curves(srnn)
    assert [t.get_text() for t in ax.accuracy_axes.get_legend().get_texts()] == ["loss", "accuracy"]
    # onto an axes that already has lines: the legend lists only the learning curves (it listed
    # every line, and matplotlib warned about the unlabelled ones)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plotting.learning_curves(srnn, ax=ax)
    assert [t.get_text() for t in ax.accuracy_axes.get_legend().get_texts()] == ["loss", "accuracy"]
    # a second call on the same axes draws on the same accuracy axes (it added a third axes)
    twin = ax.accuracy_axes
    assert plotting.learning_curves(srnn, ax=ax).accuracy_axes is twin and len(ax.figure.axes) == 2
    assert len(twin.lines) == 2
    reg = SpikingRNNRegressor(n_hidden=8, max_epochs=2, random_state=0).fit(data.X, data.y.astype(float))
    ax = plotting.learning_curves(reg)
    assert ax.accuracy_axes is None and len(ax.lines) == 1


def test_early_curves_draws_each_decoder(plt, data, srnn):
    """One line per decoder with the curve's own numbers, a chance line, and clear errors."""
    from motorsrnn import plotting
    from motorsrnn.analysis import early_classification

    nb = PoissonNaiveBayes().fit(data.X, data.y)
    curves = {"srnn": early_classification(srnn, data.X, data.y), "nb": early_classification(nb, data.X, data.y, step=10)}
    ax = plotting.early_curves(curves, chance=0.25)
    for line, (name, curve) in zip(ax.lines, curves.items()):
        assert line.get_label() == name
        np.testing.assert_array_equal(line.get_xdata(), curve.times)
        np.testing.assert_array_equal(line.get_ydata(), curve.accuracy)
    assert ax.lines[-1].get_ydata()[0] == 0.25 and len(ax.lines) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["srnn", "nb", "chance"]
    single = plotting.early_curves(curves["nb"], chance=None)
    assert len(single.lines) == 1 and single.get_legend() is None
    auto = plotting.early_curves(curves["nb"])  # "auto": the curve's own chance level
    assert len(auto.lines) == 2 and auto.lines[-1].get_ydata()[0] == curves["nb"].chance
    with pytest.raises(ValueError, match=r"chance must be a number in \[0, 1\], 'auto' or None, got 'autoo'"):
        plotting.early_curves(curves["nb"], chance="autoo")
    before = plt.get_fignums()
    for bad, match in (({}, "empty"), ({"x": data.y}, "times and accuracy"), (curves, "chance")):
        with pytest.raises(ValueError, match=match):
            plotting.early_curves(bad, chance=2.0 if bad is curves else None)
    assert plt.get_fignums() == before


def test_psth_names_missing_or_mixed_labels(plt, data):
    """None labels and labels of mixed types raised numpy's sorting error after the Axes was made."""
    from motorsrnn import plotting

    n_figures = len(plt.get_fignums())
    with pytest.raises(ValueError, match=r"values of different types in labels \(int, str\)"):
        plotting.psth(data.X, np.array([0, "a"] * (len(data.y) // 2), dtype=object), unit=0)
    with pytest.raises(ValueError, match=r"None or NaN in labels \(at positions \[0\]\)"):
        plotting.psth(data.X, np.array([None] + [1] * (len(data.y) - 1), dtype=object), unit=0)
    labels = data.y.astype(float)
    labels[:2] = np.nan
    with pytest.raises(ValueError, match=r"labels contain NaN \(2 trials\): drop those trials first"):
        plotting.psth(data.X, labels, unit=0)
    assert len(plt.get_fignums()) == n_figures  # no figure left behind


def test_snapshots_that_cannot_record_fail_after_the_first_epoch(data):
    """Probe trials with the wrong channels failed only at the first recorded epoch (every=3: after
    three epochs of training, all lost); now after the first."""
    snaps = TuningSnapshots(data.X[:20, :, :5], data.y[:20], every=3)
    epochs = []

    def callback(info):
        epochs.extend([info["epoch"]] if info["event"] == "epoch" else [])
        return snaps(info)

    with pytest.raises(ValueError, match="X has 5 channels but the network expects"):
        SpikingRNNClassifier(n_hidden=8, max_epochs=6, random_state=0, callback=callback).fit(data.X, data.y)
    assert epochs == [0]


def test_similarity_takes_trajectories_results_and_names_none(data, plt):
    """similarity(traj, traj) failed with "float() argument must be ... not 'Bunch'", similarity(None,
    B) with "Input A contains NaN"; plotting with ax="ax" with an AttributeError."""
    from motorsrnn import plotting

    t = trajectories(data.X[:80], data.y[:80], n_components=2)
    assert similarity(t, t.condition_means).score == pytest.approx(1.0)
    with pytest.raises(ValueError, match="A is None"):
        similarity(None, t)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes .* got str"):
        plotting.raster(data.X, 0, ax="ax")


def test_psth_puts_a_long_legend_beside_the_axes(plt):
    """With 16 directions the legend covered the curves' peaks (plot audit of the sixteenth session)."""
    from motorsrnn import plotting

    d = make_center_out(n_trials=64, n_neurons=4, n_directions=16, n_timesteps=40, random_state=0)
    legend = plotting.psth(d.X, d.y, 0, bin_ms=10).get_legend()
    assert len(legend.get_texts()) == 16 and legend.get_bbox_to_anchor().x0 > plt.gca().get_window_extent().x1
    few = make_center_out(n_trials=16, n_neurons=4, n_timesteps=40, random_state=0)
    legend = plotting.psth(few.X, few.y, 0, bin_ms=10).get_legend()
    assert legend.get_bbox_to_anchor().x0 <= plt.gca().get_window_extent().x1  # inside, as before


def test_polar_tuning_keeps_radius_labels_off_the_data_and_colours_the_points(plt):
    """The radius labels sat at PD + 90 degrees, often on another target direction's point, and the
    points were black whatever the colour, so two units on one axes could not be told apart."""
    from matplotlib.colors import to_rgba

    from motorsrnn import plotting
    from motorsrnn.tuning import fit_cosine_tuning

    d = make_center_out(n_trials=160, n_neurons=8, n_directions=8, random_state=0)
    res = fit_cosine_tuning(d.X, d.y)
    for unit in range(4):
        ax = plotting.polar_tuning(res, unit, d.X, d.y, color="C2")
        label_angle = np.radians(ax.get_rlabel_position())
        taken = np.concatenate([np.arange(8) * np.pi / 4, [res.preferred_direction[unit]]])
        gap = np.abs(np.angle(np.exp(1j * (label_angle - taken)))).min()
        assert gap >= np.radians(10.0)  # at least 10 degrees from every point and from the PD ray
        points = ax.containers[0].lines[0]
        assert to_rgba(points.get_color()) == to_rgba("C2")
        plt.close("all")


def test_polar_tuning_takes_the_results_population_from_a_simulate_result(plt, trained, data):
    """network_tuning(..., population="M1") drawn with a simulate() result raised 'activity has 48
    units, the result 24': the result now says its population (user-journey audit, nineteenth
    session), as TuningSnapshots' per-population results do."""
    from motorsrnn import plotting
    from motorsrnn.tuning import tuning_curves

    clf, snaps = trained
    X, y = data.X[300:], data.y[300:]
    res = network_tuning(clf, X, y, population="M1")
    assert res.population == "M1" and network_tuning(clf, X, y).population is None
    assert snaps.results[snaps.epochs[-1]]["PM"].population == "PM"
    sim = clf.simulate(X)
    ax = plotting.polar_tuning(res, 1, sim, y)
    np.testing.assert_allclose(ax.containers[0].lines[0].get_ydata(),
                               tuning_curves(sim.populations["M1"].spikes, y, **res.settings).mean[:, 1])

    # a simulate() result of another network, without that population: a clear error, no figure
    other = SpikingRNNClassifier(n_hidden=8, max_epochs=1, random_state=0).fit(X, y).simulate(X)
    with pytest.raises(ValueError, match=r"unknown population 'M1'; the simulate\(\) result has \['h'\]"):
        plotting.polar_tuning(res, 1, other, y)


def test_with_early_stopping_the_returned_network_is_the_best_epochs_record(data):
    """TuningSnapshots' docstring: recording goes on past the best epoch, and the estimator keeps
    the best epoch's weights, so results[best_epoch_] describes the returned network."""
    X, y = data.X[:200], data.y[:200]
    snaps = TuningSnapshots(data.X[300:], data.y[300:])
    clf = SpikingRNNClassifier(n_hidden=16, max_epochs=12, early_stopping=True, n_iter_no_change=2,
                               learning_rate=0.05, random_state=0, callback=snaps).fit(X, y)
    assert clf.best_epoch_ < clf.n_iter_ - 1, "the test needs a fit that went back to an earlier epoch"
    now = network_tuning(clf, data.X[300:], data.y[300:])
    np.testing.assert_array_equal(now.b1, snaps.results[clf.best_epoch_]["h"].b1)
    assert not np.array_equal(now.b1, snaps.results[snaps.epochs[-1]]["h"].b1, equal_nan=True)


def test_persistency_and_pd_drift_by_hand(trained):
    """persistency, its cumulative form, pd_drift and the fractions, recomputed from the recorded
    fits: tuned units of the reference epoch still tuned (at e, or at every epoch in between), and
    the median absolute circular change of the preferred direction of the units tuned at both."""
    _, snaps = trained
    names = [n for n, _ in snaps.populations]
    epochs = snaps.epochs.tolist()
    tuned = np.array([np.concatenate([snaps.results[e][n].is_tuned for n in names]) for e in epochs])
    pd = np.array([np.concatenate([snaps.results[e][n].preferred_direction for n in names]) for e in epochs])
    rate = np.array([np.concatenate([snaps.rates[e][n] for n in names]) for e in epochs])
    np.testing.assert_allclose(snaps.fraction_tuned(), tuned.mean(axis=1))
    np.testing.assert_allclose(snaps.fraction_active(), (rate > 0).mean(axis=1))
    np.testing.assert_allclose(snaps.fraction_tuned(active_only=True),
                               [t[r > 0].mean() for t, r in zip(tuned, rate)])
    checked = 0
    for ref in (0, 3):
        i_ref = epochs.index(ref)
        base = tuned[i_ref]
        assert base.any()
        p, pc, drift = snaps.persistency(ref), snaps.persistency(ref, cumulative=True), snaps.pd_drift(ref)
        for i in range(len(epochs)):
            lo, hi = min(i, i_ref), max(i, i_ref)
            assert p[i] == pytest.approx(tuned[i][base].mean())
            assert pc[i] == pytest.approx(tuned[lo:hi + 1].all(axis=0)[base].mean())
            both = base & tuned[i]
            change = np.abs(np.angle(np.exp(1j * (pd[i] - pd[i_ref]))))[both]
            if both.any():
                assert drift[i] == pytest.approx(np.median(change), abs=1e-12)
                checked += change.size > 2 and abs(np.median(change) - np.mean(change)) > 1e-3
            else:
                assert np.isnan(drift[i])
        np.testing.assert_allclose(snaps.pd_drift(ref, degrees=True), np.degrees(drift))
    assert checked  # some epoch where the median differs from the mean: the median is what is tested


def test_trajectories_are_scikit_learns_pca_of_the_condition_means():
    """The PCA of the condition means, compared with scikit-learn's: the same explained variance
    ratios, and components and scores equal up to sign, with each component's largest-magnitude
    loading positive (the documented sign convention)."""
    from sklearn.decomposition import PCA

    d = make_center_out(n_trials=120, n_neurons=30, random_state=3)
    tr = trajectories(d.X, d.y, n_components=4)
    means = np.stack([d.X[d.y == c].mean(axis=0) for c in range(4)]) * 1000.0  # Hz at 1 ms bins
    np.testing.assert_allclose(tr.condition_means, means, rtol=1e-12)
    pca = PCA(n_components=4, svd_solver="full").fit(means.reshape(-1, 30))
    np.testing.assert_allclose(tr.explained_variance_ratio, pca.explained_variance_ratio_, rtol=1e-9)
    np.testing.assert_allclose(tr.mean, pca.mean_, rtol=1e-12)
    signs = np.sign(pca.components_[np.arange(4), np.argmax(np.abs(pca.components_), axis=1)])
    np.testing.assert_allclose(tr.components, pca.components_ * signs[:, None], atol=1e-10)
    np.testing.assert_allclose(tr.trajectories.reshape(-1, 4), pca.transform(means.reshape(-1, 30)) * signs,
                               atol=1e-8)
    big = np.argmax(np.abs(tr.components), axis=1)
    assert np.all(tr.components[np.arange(4), big] > 0)


def test_trajectory_smoothing_is_in_ms_whatever_the_bin_width():
    """smoothing_ms is a width in ms: with 2 ms bins, 6 ms is a Gaussian of 3 bins (lags up to
    ceil(4 * 3) = 12 bins, edges renormalised), written out here as a weighted mean per bin."""
    rng = np.random.default_rng(2)
    act = rng.poisson(0.4, (30, 40, 5)).astype(float)
    cond = np.arange(30) % 3
    out = trajectories(act, cond, n_components=2, smoothing_ms=6.0, dt=2.0)
    means = np.stack([act[cond == c].mean(axis=0) for c in range(3)]) * 500.0  # Hz at 2 ms bins
    sigma, half = 3.0, 12
    expected = np.empty_like(means)
    for t in range(40):
        lags = np.arange(max(0, t - half), min(40, t + half + 1))
        k = np.exp(-0.5 * ((lags - t) / sigma) ** 2)
        expected[:, t] = np.tensordot(k, means[:, lags], axes=([0], [1])) / k.sum()
    np.testing.assert_allclose(out.condition_means, expected, rtol=1e-10)


def _pca_scores(x, k):
    from sklearn.decomposition import PCA

    return PCA(n_components=k, svd_solver="full").fit_transform(x.reshape(-1, x.shape[-1]))


@pytest.mark.parametrize("normalize", [None, "soft", "zscore"])
def test_similarity_matches_scipy_subspace_angles_and_procrustes(normalize):
    """CCA's canonical correlations are the cosines of the principal angles between the two
    populations' top-k PCA score spaces (scipy.linalg.subspace_angles) and the score is their
    mean; Procrustes is scipy.spatial.procrustes of the scores. Normalisation as documented:
    range + soft_offset, or the standard deviation, per unit."""
    from scipy.linalg import subspace_angles
    from scipy.spatial import procrustes

    rng = np.random.default_rng(4)
    latent = rng.normal(size=(5, 30, 4)).cumsum(axis=1)
    A = 20 + latent @ rng.normal(size=(4, 25)) + rng.normal(scale=0.5, size=(5, 30, 25))
    B = 10 + latent[..., :3] @ rng.normal(size=(3, 18)) * rng.uniform(0.2, 5.0, 18) + rng.normal(size=(5, 30, 18))

    def scaled(x):
        x = x.reshape(-1, x.shape[-1])
        if normalize == "soft":
            return x / (x.max(axis=0) - x.min(axis=0) + 2.0)
        return x / x.std(axis=0) if normalize == "zscore" else x

    kw = {"normalize": normalize, **({"soft_offset": 2.0} if normalize == "soft" else {})}
    sa, sb = _pca_scores(scaled(A), 4), _pca_scores(scaled(B), 4)
    cc = np.sort(np.cos(subspace_angles(sa, sb)))[::-1]
    res = similarity(A, B, n_components=4, **kw)
    np.testing.assert_allclose(res.canonical_correlations, cc, atol=1e-9)
    assert res.score == pytest.approx(cc.mean(), abs=1e-9)
    assert cc.max() - cc.min() > 0.05  # mean, max and min differ here
    disparity = procrustes(sa, sb)[2]
    proc = similarity(A, B, method="procrustes", n_components=4, **kw)
    assert proc.disparity == pytest.approx(disparity, abs=1e-9) and proc.score == pytest.approx(1 - disparity, abs=1e-9)
    assert 0.01 < disparity < 0.99
