"""Tests for motorsrnn.datasets (synthetic centre-out reaching data)."""

import os

import numpy as np
import pytest

from motorsrnn.datasets import direction_angles, make_center_out

DATASETS_PY = os.path.join(
    os.path.dirname(__file__), os.pardir, "python", "motorsrnn", "datasets.py"
)


@pytest.fixture(scope="module")
def default_data():
    return make_center_out(random_state=0, return_rates=True)


# --------------------------------------------------------------------------
# direction_angles
# --------------------------------------------------------------------------
def test_direction_angles_values():
    np.testing.assert_allclose(
        direction_angles(4), [0.0, np.pi / 2, np.pi, 3 * np.pi / 2]
    )
    a = direction_angles(8)
    assert a.shape == (8,)
    np.testing.assert_allclose(np.diff(a), 2 * np.pi / 8)
    assert a[0] == 0.0 and a[-1] < 2 * np.pi


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, True, "4"])
def test_direction_angles_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="n_directions"):
        direction_angles(bad)


# --------------------------------------------------------------------------
# Shapes, dtypes, metadata
# --------------------------------------------------------------------------
def test_shapes_and_dtypes(default_data):
    d = default_data
    assert d.X.shape == (400, 50, 96) and d.X.dtype == np.uint8
    assert d.y.shape == (400,) and d.y.dtype == np.int64
    assert d.angles.shape == (400,) and d.angles.dtype == np.float64
    assert d.latencies.shape == (400,)
    assert d.times.shape == (50,)
    for name in ("preferred_directions", "baseline_rates", "modulation_depths"):
        assert d[name].shape == (96,)
        assert d[name].dtype == np.float64
    assert d.tuned.shape == (96,) and d.tuned.dtype == bool
    assert d.rates.shape == (400, 50, 96) and d.rates.dtype == np.float32
    assert d.dt == 1.0
    assert isinstance(d.description, str) and "400 trials" in d.description
    # Bunch: attribute and key access agree
    assert d["X"] is d.X


def test_returns_sklearn_bunch_and_no_rates_by_default():
    from sklearn.utils import Bunch

    d = make_center_out(n_trials=8, n_neurons=3, random_state=1)
    assert isinstance(d, Bunch)
    assert d.rates is None


def test_labels_angles_and_parameter_ranges(default_data):
    d = default_data
    assert set(np.unique(d.y)) == {0, 1, 2, 3}
    np.testing.assert_allclose(d.angles, direction_angles(4)[d.y])
    assert np.all((d.preferred_directions >= 0) & (d.preferred_directions < 2 * np.pi))
    assert np.all((d.baseline_rates >= 5.0) & (d.baseline_rates <= 20.0))
    assert d.tuned.sum() == round(0.8 * 96)
    assert np.all(d.modulation_depths[~d.tuned] == 0.0)
    assert np.all((d.modulation_depths[d.tuned] >= 2.0) & (d.modulation_depths[d.tuned] <= 8.0))
    assert np.all(d.latencies >= 0.0)
    # latencies ~ N(100, 20)
    assert abs(d.latencies.mean() - 100.0) < 5 * 20.0 / np.sqrt(400)
    assert 15.0 < d.latencies.std() < 25.0


def test_default_window_is_centred_on_response_peak(default_data):
    # peak at latency + movement_duration / 2 = 250 ms -> window 225..275 ms
    np.testing.assert_allclose(default_data.times, 225.0 + np.arange(50))
    assert default_data.window_start == 225.0
    d = make_center_out(n_trials=4, n_timesteps=10, dt=2.0, window_start=-50.0, random_state=0)
    np.testing.assert_allclose(d.times, -50.0 + 2.0 * np.arange(10))


def test_rates_follow_documented_model(default_data):
    d = default_data
    centres = d.times + d.dt / 2
    u = centres[None, :] - d.latencies[:, None]
    g = np.where((u >= 0) & (u <= 300.0), 0.5 * (1 - np.cos(2 * np.pi * u / 300.0)), 0.0)
    expected = np.maximum(
        0.0,
        d.baseline_rates
        + g[:, :, None]
        * (d.modulation_depths * np.cos(d.angles[:, None] - d.preferred_directions))[:, None, :],
    )
    np.testing.assert_allclose(d.rates, expected, rtol=1e-5, atol=1e-4)
    # untuned neurons fire at exactly their baseline
    np.testing.assert_allclose(
        d.rates[:, :, ~d.tuned],
        np.broadcast_to(d.baseline_rates[~d.tuned], d.rates[:, :, ~d.tuned].shape),
        rtol=1e-6,
    )


# --------------------------------------------------------------------------
# Randomness
# --------------------------------------------------------------------------
def _assert_same(a, b):
    for key in ("X", "y", "angles", "preferred_directions", "baseline_rates",
                "modulation_depths", "tuned", "latencies", "times"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_same_seed_same_output_and_different_seeds_differ():
    kw = dict(n_trials=40, n_neurons=20)
    a, b, c = (make_center_out(random_state=s, **kw) for s in (7, 7, 8))
    _assert_same(a, b)
    assert not np.array_equal(a.X, c.X)
    assert not np.array_equal(a.preferred_directions, c.preferred_directions)
    # refractory mode is deterministic too
    r1 = make_center_out(refractory_period=2.0, random_state=3, **kw)
    r2 = make_center_out(refractory_period=2.0, random_state=3, **kw)
    _assert_same(r1, r2)


def test_generator_and_randomstate_are_accepted():
    kw = dict(n_trials=12, n_neurons=5)
    a = make_center_out(random_state=np.random.default_rng(5), **kw)
    b = make_center_out(random_state=np.random.default_rng(5), **kw)
    _assert_same(a, b)
    c = make_center_out(random_state=np.random.RandomState(5), **kw)
    e = make_center_out(random_state=np.random.RandomState(5), **kw)
    _assert_same(c, e)
    # a passed generator is advanced: two successive calls differ
    rng = np.random.default_rng(0)
    f, g = make_center_out(random_state=rng, **kw), make_center_out(random_state=rng, **kw)
    assert not np.array_equal(f.X, g.X)
    # None works (fresh entropy)
    assert make_center_out(random_state=None, **kw).X.shape == (12, 50, 5)


def test_neuron_parameters_do_not_depend_on_n_trials():
    a = make_center_out(n_trials=8, random_state=11)
    b = make_center_out(n_trials=100, random_state=11)
    for key in ("preferred_directions", "baseline_rates", "modulation_depths", "tuned"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# --------------------------------------------------------------------------
# Trial structure
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n_trials, n_directions", [(400, 4), (402, 4), (37, 8), (8, 8)])
def test_balanced_shuffled_classes(n_trials, n_directions):
    d = make_center_out(n_trials=n_trials, n_directions=n_directions, n_neurons=2,
                        n_timesteps=1, random_state=0)
    counts = np.bincount(d.y, minlength=n_directions)
    assert counts.sum() == n_trials
    assert counts.min() == n_trials // n_directions
    assert counts.max() - counts.min() <= (0 if n_trials % n_directions == 0 else 1)
    assert d.y.min() >= 0 and d.y.max() < n_directions
    if n_trials > n_directions:
        # shuffled, not cycling in order
        assert not np.array_equal(d.y, np.arange(n_trials) % n_directions)


# --------------------------------------------------------------------------
# Firing statistics
# --------------------------------------------------------------------------
def test_untuned_neurons_fire_at_baseline(default_data):
    d = default_data
    untuned = ~d.tuned
    duration_s = d.X.shape[0] * d.X.shape[1] * d.dt / 1000.0  # 20 s per neuron
    counts = d.X[:, :, untuned].sum(axis=(0, 1)).astype(float)
    expected = d.baseline_rates[untuned] * duration_s
    # Poisson: sd = sqrt(mean); 5 sigma per neuron
    z = (counts - expected) / np.sqrt(expected)
    assert np.all(np.abs(z) < 5), z
    # and collectively: the z-scores are standard-normal-ish
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    assert 0.5 < z.std() < 1.6


def test_counts_match_rates_overall(default_data):
    d = default_data
    total = d.X.sum(dtype=np.int64)
    expected = d.rates.sum(dtype=np.float64) * d.dt / 1000.0
    assert abs(total - expected) < 5 * np.sqrt(expected)
    # population mean rate is ~ mean of baseline_rate range (12.5 Hz)
    mean_rate = d.X.mean() * 1000.0 / d.dt
    assert 9.0 < mean_rate < 16.0


def test_tuned_neurons_preferred_direction_recovered():
    d = make_center_out(
        n_trials=800, n_neurons=40, n_directions=8, tuned_fraction=0.5,
        baseline_rate=(15.0, 20.0), modulation=(20.0, 30.0), random_state=2,
    )
    counts = d.X.sum(axis=1).astype(float)  # (trials, neurons)
    design = np.column_stack([np.ones(len(d.y)), np.cos(d.angles), np.sin(d.angles)])
    coef, *_ = np.linalg.lstsq(design, counts, rcond=None)
    amp = np.hypot(coef[1], coef[2])
    pd_hat = np.arctan2(coef[2], coef[1])
    err = np.angle(np.exp(1j * (pd_hat - d.preferred_directions)))
    # SE of the angle is ~0.05 rad here; allow 0.25 rad (~14 deg)
    assert np.all(np.abs(err[d.tuned]) < 0.25), np.abs(err[d.tuned])
    # untuned neurons have a much smaller fitted modulation than tuned ones
    assert amp[~d.tuned].max() < 0.5 * amp[d.tuned].min()
    # trial-averaged count is larger in the target nearest pd than opposite it
    targets = direction_angles(8)
    mean_by_dir = np.stack([counts[d.y == k].mean(axis=0) for k in range(8)])
    for i in np.flatnonzero(d.tuned):
        k_pref = np.argmin(np.abs(np.angle(np.exp(1j * (targets - d.preferred_directions[i])))))
        k_anti = (k_pref + 4) % 8
        assert mean_by_dir[k_pref, i] > mean_by_dir[k_anti, i]


def test_direction_is_decodable_but_not_trivially(default_data):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    d = default_data
    counts = d.X.sum(axis=1).astype(float)
    Xtr, Xte, ytr, yte = train_test_split(counts, d.y, test_size=0.25,
                                          stratify=d.y, random_state=0)
    acc = LogisticRegression(max_iter=1000).fit(Xtr, ytr).score(Xte, yte)
    assert 0.4 < acc < 0.95, acc


def test_window_before_response_is_not_decodable():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    # response starts at ~100 ms; window -100..-50 ms contains baseline only
    d = make_center_out(window_start=-100.0, random_state=0, return_rates=True)
    np.testing.assert_allclose(d.rates, np.broadcast_to(d.baseline_rates, d.rates.shape), rtol=1e-6)
    counts = d.X.sum(axis=1).astype(float)
    Xtr, Xte, ytr, yte = train_test_split(counts, d.y, test_size=0.25,
                                          stratify=d.y, random_state=0)
    acc = LogisticRegression(max_iter=1000).fit(Xtr, ytr).score(Xte, yte)
    assert acc < 0.4, acc


def test_poisson_counts_clipped_at_255():
    with pytest.warns(UserWarning, match="clipped"):
        d = make_center_out(n_trials=4, n_neurons=3, n_timesteps=5, dt=10.0,
                            baseline_rate=1e5, tuned_fraction=0.0, random_state=0)
    # mean count per bin = 1000 -> all clipped to 255, no uint8 wrap-around
    assert d.X.dtype == np.uint8
    assert np.all(d.X == 255)


def test_poisson_mode_can_exceed_one_spike_per_bin():
    d = make_center_out(n_trials=20, n_neurons=10, baseline_rate=500.0,
                        tuned_fraction=0.0, random_state=0)
    assert d.X.max() > 1


# --------------------------------------------------------------------------
# Refractory (Bernoulli) mode
# --------------------------------------------------------------------------
def _min_isi_bins(X):
    """Smallest distance (in bins) between consecutive spikes of any neuron/trial."""
    trains = np.transpose(X, (0, 2, 1)).reshape(-1, X.shape[1])  # (trials*neurons, time)
    row, col = np.nonzero(trains)  # row-major order: sorted by row, then time
    same_train = row[1:] == row[:-1]
    return np.diff(col)[same_train].min()


@pytest.mark.parametrize(
    "refractory_period, dt, min_bins",
    [(3.0, 1.0, 3), (2.5, 1.0, 3), (2.0, 0.5, 4), (0.3, 0.1, 3), (0.5, 1.0, 1)],
)
def test_refractory_period_respected(refractory_period, dt, min_bins):
    d = make_center_out(n_trials=20, n_neurons=10, n_timesteps=100, dt=dt,
                        baseline_rate=(200.0, 400.0), modulation=(50.0, 100.0),
                        window_start=150.0, refractory_period=refractory_period,
                        random_state=0)
    assert d.X.dtype == np.uint8
    assert d.X.max() == 1
    isi = _min_isi_bins(d.X)
    # rates are high enough that the minimal allowed interval is reached
    assert isi == min_bins
    assert isi * dt >= refractory_period - 1e-9


def test_refractory_rate_matches_dead_time_formula():
    # constant 200 Hz, dt = 1 ms -> p = 0.2; 3 ms refractory -> 2 dead bins
    # stationary spike probability per bin = p / (1 + 2p) = 0.142857
    d = make_center_out(n_trials=400, n_neurons=20, baseline_rate=200.0,
                        tuned_fraction=0.0, refractory_period=3.0, random_state=0)
    per_bin = d.X.mean()
    assert abs(per_bin - 0.2 / 1.4) < 0.005, per_bin
    # stationary from the first bin thanks to the burn-in (no excess at t=0)
    assert abs(d.X[:, 0, :].mean() - 0.2 / 1.4) < 0.02


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_trials=3, n_directions=4), "n_trials must be >= n_directions"),
        (dict(n_trials=0), "n_trials"),
        (dict(n_trials=10.5), "n_trials must be an integer"),
        (dict(n_directions=1), "n_directions must be >= 2"),
        (dict(n_neurons=0), "n_neurons must be >= 1"),
        (dict(n_timesteps=0), "n_timesteps must be >= 1"),
        (dict(dt=0.0), "dt must be > 0"),
        (dict(dt=-1.0), "dt must be > 0"),
        (dict(dt=float("nan")), "dt must be a finite number"),
        (dict(window_start=float("inf")), "window_start must be a finite number"),
        (dict(tuned_fraction=1.5), r"tuned_fraction must be in \[0, 1\]"),
        (dict(tuned_fraction=-0.1), r"tuned_fraction must be in \[0, 1\]"),
        (dict(baseline_rate=(-1.0, 5.0)), "baseline_rate must contain non-negative"),
        (dict(baseline_rate=-2.0), "baseline_rate must contain non-negative"),
        (dict(baseline_rate=(20.0, 5.0)), "baseline_rate must satisfy low <= high"),
        (dict(baseline_rate=(1.0, 2.0, 3.0)), "baseline_rate must be a number or a"),
        (dict(modulation=(-5.0, 5.0)), "modulation must contain non-negative"),
        (dict(modulation=(30.0, 5.0)), "modulation must satisfy low <= high"),
        (dict(latency=-1.0), "latency must be >= 0"),
        (dict(latency_jitter=-1.0), "latency_jitter must be >= 0"),
        (dict(movement_duration=0.0), "movement_duration must be > 0"),
        (dict(refractory_period=-1.0), r"refractory_period \(ms\) must be >= 0"),
        # a unit error: the burn-in of 4 refractory periods of bins would exhaust memory
        (dict(refractory_period=1e4), r"refractory_period \(ms\) must be <= 1000"),
        (dict(return_rates="yes"), "return_rates must be True or False"),
        (dict(random_state="seed"), "random_state"),
        (dict(random_state=-1), "random_state"),
    ],
)
def test_validation_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_center_out(**kwargs)


def test_scalar_ranges_give_constant_parameters():
    d = make_center_out(n_trials=4, n_neurons=6, baseline_rate=10.0,
                        modulation=4.0, tuned_fraction=1.0, random_state=0)
    assert np.all(d.baseline_rates == 10.0)
    assert np.all(d.modulation_depths == 4.0)
    assert d.tuned.all()


# --------------------------------------------------------------------------
# Packaging / docs
# --------------------------------------------------------------------------
def test_wrong_types_raise_the_shared_parameter_error():
    """Parameters are checked by the package's shared rules: a wrong type is both a ValueError and
    a TypeError (as in scikit-learn), naming the parameter."""
    from motorsrnn._validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="n_trials must be an integer"):
        make_center_out(n_trials=True)
    with pytest.raises(TypeError, match="dt must be a finite number"):
        make_center_out(dt="1")


def test_counts_clipped_at_255_warn_and_absurd_rates_are_named():
    """uint8 counts above 255 are clipped with a warning (the tuning is then lost), and a rate that
    is a unit error gets a message naming the parameters, not numpy's "lam value too large"."""
    import warnings

    from motorsrnn.datasets import make_reaching_dynamics, sample_neurons

    with pytest.warns(UserWarning, match=r"exceeded 255 and were clipped"):
        d = make_center_out(n_trials=8, n_timesteps=2, dt=1000.0, baseline_rate=400.0, modulation=(100, 200),
                            random_state=0)
    assert d.X.max() == 255
    with pytest.raises(ValueError, match="baseline_rate .* expected spikes per bin: rates are in Hz"):
        make_center_out(n_trials=8, baseline_rate=1e25, random_state=0)
    with pytest.raises(ValueError, match="input_rates .* expected spikes per bin"):
        make_reaching_dynamics(input_rates=(5.0, 1e25), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the defaults never clip
        make_center_out(n_trials=20, random_state=0)
        make_reaching_dynamics(n_trials_per_condition=2, random_state=0)
    with pytest.warns(UserWarning, match="frequency_spread=0"):
        make_reaching_dynamics(n_trials_per_condition=1, n_null_rotations=1, frequency_spread=0.0, random_state=0)
    with pytest.raises(ValueError, match="must be an integer, got 200.0"):
        sample_neurons(200.0, 0.1)


def test_refractory_dead_time_approximation_in_the_docstring():
    """The realised rate of the refractory mode at a constant rate follows the docstring's exact
    formula, and its approximation r / (1 + r d / 1000) with the dead time d = (ceil(rp/dt) - 1) dt."""
    import math

    r, dt = 100.0, 1.0
    for rp in (1.0, 2.0, 5.0):
        d = make_center_out(n_trials=400, n_neurons=50, n_timesteps=200, dt=dt, baseline_rate=r, modulation=0.0,
                            refractory_period=rp, random_state=0)
        measured = d.X.mean() * 1000.0 / dt
        dead = (math.ceil(rp / dt) - 1) * dt
        approx = r / (1 + r * dead / 1000.0)
        assert measured == pytest.approx(approx, rel=0.03), rp


def test_sizes_beyond_memory_are_refused_before_allocating():
    """A generator asked for more than the machine holds was killed by the kernel (no Python
    exception; bad-input audit of the sixteenth session): it raises MemoryError naming the sizes."""
    from motorsrnn.datasets import make_reaching_dynamics

    with pytest.raises(MemoryError, match=r"make_center_out\(n_trials=10000, n_timesteps=10000, n_neurons=1000000000\)"):
        make_center_out(n_trials=10**4, n_timesteps=10**4, n_neurons=10**9)
    with pytest.raises(MemoryError, match="make_reaching_dynamics.*n_neurons=1000000.*reduce the trials"):
        make_reaching_dynamics(n_neurons=10**6)


def test_modulation_depths_are_the_bumps_peak_depth_and_a_window_sees_about_094_of_it():
    """docs: modulation_depths is m_i at the response bump's peak; the default 50 ms window at the
    peak (with latency jitter) averages the bump to about 0.94, which a cosine fit recovers."""
    from motorsrnn.tuning import fit_cosine_tuning

    d = make_center_out(n_trials=2000, n_neurons=40, random_state=3)
    fit = fit_cosine_tuning(d.X, d.y, dt=d.dt)
    ratio = np.median(fit.modulation_depth[d.tuned] / d.modulation_depths[d.tuned])
    print(f"median fitted depth / modulation_depths: {ratio:.3f}")
    assert 0.91 < ratio < 0.97


def test_direction_angles_of_an_impossible_count_name_the_memory():
    from motorsrnn.datasets import direction_angles

    with pytest.raises(MemoryError, match="the angles of 1180591620717411303424 directions would need"):
        direction_angles(2**70)
    np.testing.assert_allclose(direction_angles(4), [0, np.pi / 2, np.pi, 3 * np.pi / 2])


def test_default_window_is_centred_on_the_peak_for_any_bin_width():
    """The default window is centred on the response peak (latency + movement_duration / 2) whatever
    the bin width: 50 bins of 2 ms around 250 ms start at 200 ms, not at 225 ms."""
    d = make_center_out(n_trials=8, n_neurons=2, n_timesteps=50, dt=2.0, random_state=0)
    assert d.window_start == 200.0
    np.testing.assert_allclose(d.times, 200.0 + 2.0 * np.arange(50))
    d = make_center_out(n_trials=8, n_neurons=2, n_timesteps=20, dt=5.0, latency=50.0, movement_duration=100.0,
                        random_state=0)
    assert d.window_start == 50.0 + 50.0 - 20 * 5.0 / 2  # 50 ms


def test_latencies_are_clipped_at_zero():
    """Documented: the response onset is latency + Normal(0, latency_jitter) clipped at 0 ms; with a
    mean latency of 0 about half of the trials start at exactly 0 and none before."""
    d = make_center_out(n_trials=400, n_neurons=2, latency=0.0, latency_jitter=20.0, random_state=0)
    assert d.latencies.min() == 0.0
    assert 0.42 < np.mean(d.latencies == 0.0) < 0.58  # binomial(400, 1/2): 3.2 standard deviations
    assert d.latencies.max() > 20.0
