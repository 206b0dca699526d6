"""Tests for motorsrnn.datasets.make_reaching_dynamics and sample_neurons (issue 5)."""

import numpy as np
import pytest

from motorsrnn.datasets import make_reaching_dynamics, sample_neurons

SMALL = dict(n_conditions=4, n_trials_per_condition=3, n_neurons=40, n_timesteps=120)


@pytest.fixture(scope="module")
def data():
    # defaults except fewer trials (speed)
    return make_reaching_dynamics(n_trials_per_condition=6, random_state=0)


def _condition_means(a, condition):
    return np.stack([a[condition == c].mean(axis=0) for c in np.unique(condition)])


def _dynamics_matrix(traj):
    """Least-squares M in dz/dt = M z for trajectories (n_cond, n_t, k)."""
    k = traj.shape[-1]
    dz = np.diff(traj, axis=1).reshape(-1, k)
    z = traj[:, :-1].reshape(-1, k)
    return np.linalg.lstsq(z, dz, rcond=None)[0].T


def _skew_fraction(rates, condition, go_bin, n_pcs=6):
    """jPCA-like check: share of the best-fit linear dynamics of the top PCs of the
    condition-averaged rates (movement epoch) that is skew-symmetric (rotational)."""
    means = _condition_means(rates.astype(np.float64), condition)[:, go_bin:]
    flat = means.reshape(-1, means.shape[-1])
    flat = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    traj = (flat @ vt[:n_pcs].T).reshape(means.shape[0], means.shape[1], n_pcs)
    M = _dynamics_matrix(traj)
    skew = 0.5 * (M - M.T)
    return np.linalg.norm(skew) / np.linalg.norm(M)


# ------------------------------------------------------------------ shapes, dtypes
def test_shapes_and_dtypes(data):
    n = 8 * 6
    assert data.X.shape == (n, 300, 20) and data.X.dtype == np.uint8
    assert data.y.shape == (n, 300, 4) and data.y.dtype == np.float32
    assert data.rates.shape == (n, 300, 200) and data.rates.dtype == np.float32
    assert data.spikes.shape == (n, 300, 200) and data.spikes.dtype == np.uint8
    assert data.outputs.shape == (n, 300, 4)
    assert data.latents.shape == (n, 300, 6)
    assert data.condition.shape == (n,) and data.condition.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(data.condition), [6] * 8)
    np.testing.assert_allclose(data.angles, 2 * np.pi * data.condition / 8)
    assert data.target_angles.shape == (8,)
    assert data.dt == 1.0 and data.go_bin == 50
    assert data.times[50] == 0.0 and data.times[0] == -50.0
    assert data.frequencies_hz.shape == (3,)
    assert data.teacher.J.shape == (200, 200)
    assert isinstance(data.description, str) and "rotational" in data.description
    for key in ("X", "y", "rates", "spikes", "latents", "outputs"):
        assert np.all(np.isfinite(data[key]))


def test_options_change_shapes():
    d = make_reaching_dynamics(n_inputs=10, n_go_channels=2, n_outputs=3, n_rotations=4,
                               spiking=False, dt=2.0, go_time=40.0, **SMALL, random_state=1)
    assert d.X.shape == (12, 120, 10) and d.y.shape == (12, 120, 3)
    assert d.latents.shape[-1] == 8 and d.spikes is None
    assert d.go_bin == 20 and d.times[1] - d.times[0] == 2.0


# ------------------------------------------------------------------ determinism
def test_determinism():
    a = make_reaching_dynamics(**SMALL, random_state=3)
    b = make_reaching_dynamics(**SMALL, random_state=3)
    c = make_reaching_dynamics(**SMALL, random_state=4)
    for key in ("X", "y", "rates", "spikes", "condition"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a.rates, c.rates)
    # the teacher is drawn first: it does not depend on the number of trials
    d = make_reaching_dynamics(**dict(SMALL, n_trials_per_condition=5), random_state=3)
    np.testing.assert_array_equal(a.teacher.J, d.teacher.J)
    np.testing.assert_array_equal(a.teacher.output_weights, d.teacher.output_weights)
    # a Generator is accepted and advanced
    g = np.random.default_rng(0)
    e1 = make_reaching_dynamics(**SMALL, random_state=g)
    e2 = make_reaching_dynamics(**SMALL, random_state=g)
    assert not np.array_equal(e1.rates, e2.rates)


# ------------------------------------------------------------------ rates and spikes
def test_rates_in_motor_cortex_range(data):
    r = data.rates
    assert r.min() >= 0.0 and r.max() <= 60.0
    assert 5.0 < r.mean() < 30.0
    # heterogeneous: many neurons are modulated by tens of Hz
    cm = _condition_means(r, data.condition)
    depth = cm.max(axis=(0, 1)) - cm.min(axis=(0, 1))
    assert np.median(depth) > 10.0
    # spikes are Poisson counts of the rates
    np.testing.assert_allclose(data.spikes.mean(), r.mean() / 1000.0, rtol=0.05)


def test_rates_saturate_to_the_closed_interval_as_documented():
    """The sigmoid saturates numerically: with a large noise rates are exactly 0 and max_rate."""
    d = make_reaching_dynamics(n_conditions=2, n_trials_per_condition=5, n_neurons=50, n_timesteps=100,
                               go_time=10, noise=5, random_state=0)
    assert d.rates.min() == 0.0 and d.rates.max() == 60.0
    assert np.all((d.rates >= 0) & (d.rates <= 60))
    doc = " ".join(make_reaching_dynamics.__doc__.split())
    assert "Teacher firing rates in Hz, in ``[0, max_rate]``" in doc
    assert "Teacher firing rates in Hz, in ``(0, max_rate)``" not in doc


def test_inputs_encode_target_and_go(data):
    X = data.X.astype(float)
    go = X[:, :, 16:]
    pre, post = go[:, : data.go_bin].mean() * 1000, go[:, data.go_bin :].mean() * 1000
    assert pre < 15 and post > 60
    # each target channel fires most for targets near its preferred direction
    tgt = X[:, :, :16].mean(axis=1)
    best = np.array([np.argmax([tgt[data.condition == c, j].mean() for c in range(8)]) for j in range(0, 16, 2)])
    np.testing.assert_array_equal(best, np.arange(8))


# ------------------------------------------------------------------ dynamics
def test_rotational_structure(data):
    # jPCA-like: the best-fit linear dynamics of the top 6 PCs of the condition-averaged rates
    # after the go cue are dominated by their skew-symmetric (rotational) part
    assert _skew_fraction(data.rates, data.condition, data.go_bin) > 0.85
    # negative control: the same teacher without rotations (just decay) is not rotational
    slow = make_reaching_dynamics(n_trials_per_condition=3, rotation_frequency_hz=0.01,
                                  frequency_spread=0.0, n_neurons=100, random_state=0)
    assert _skew_fraction(slow.rates, slow.condition, slow.go_bin) < 0.5


def test_latents_rotate_at_the_stated_frequencies(data):
    cm = _condition_means(data.latents.astype(np.float64), data.condition)[:, data.go_bin :]
    for k, f in enumerate(data.frequencies_hz):
        M = _dynamics_matrix(cm[:, :, 2 * k : 2 * k + 2])
        freq = np.abs(np.linalg.eigvals(M).imag).max() * 1000.0 / (2 * np.pi * data.dt)
        assert abs(freq - f) < 0.15 * f
    assert data.frequencies_hz.min() >= 0.5 and data.frequencies_hz.max() <= 3.0


def test_population_follows_teacher_equation():
    d = make_reaching_dynamics(**SMALL, noise=0.0, prep_noise=0.0, random_state=2)
    T = d.teacher
    # rates invert to the state x = C z (noise-free); before go x sits at its fixed point
    x = (np.log(d.rates / (T.max_rate - d.rates)) - T.rate_offset) / T.rate_gain
    np.testing.assert_allclose(x[:, 0], T.preparatory_states[d.condition], atol=1e-3)
    # the preparatory input h makes x* a fixed point: (I - J) x* = h
    np.testing.assert_allclose((np.eye(40) - T.J) @ T.preparatory_states[1], T.preparatory_inputs[1], atol=1e-9)


def test_output_null_planes():
    kw = dict(n_trials_per_condition=4, n_neurons=120, random_state=3)
    base = make_reaching_dynamics(**kw)
    np.testing.assert_allclose(base.frequencies_hz, [0.875, 1.75, 2.625])
    d = make_reaching_dynamics(n_null_rotations=2, **kw)
    assert d.latents.shape[-1] == 10 and d.teacher.loadings.shape == (120, 10)
    np.testing.assert_allclose(d.frequencies_hz, [0.875, 1.75, 2.625, 1.3125, 2.1875])
    W = d.teacher.output_weights
    assert np.abs(W[:, 6:]).max() < 1e-12 and np.abs(W[:, :6]).min(axis=1).max() > 0
    # the outputs are a function of the output planes alone ...
    z = d.latents.astype(np.float64)
    recomputed = np.logaddexp(0.0, z[..., :6] @ W[:, :6].T + d.teacher.output_bias)
    np.testing.assert_allclose(d.outputs, recomputed, rtol=1e-4, atol=1e-5)
    # ... while the null planes carry condition-dependent dynamics that the neurons mix in
    cm = _condition_means(z, d.condition)
    assert cm[:, :, 6:].std(axis=0).mean() > 0.3
    for k in (3, 4):
        M = _dynamics_matrix(cm[:, d.go_bin :, 2 * k : 2 * k + 2])
        freq = np.abs(np.linalg.eigvals(M).imag).max() * 1000.0 / (2 * np.pi * d.dt)
        assert abs(freq - d.frequencies_hz[k]) < 0.15 * d.frequencies_hz[k]
    null_part = z[..., 6:] @ d.teacher.loadings[:, 6:].T
    assert null_part.std() > 0.3 * (z @ d.teacher.loadings.T).std()


# ------------------------------------------------------------------ outputs
def test_outputs_are_multiphasic_and_condition_dependent(data):
    cm = _condition_means(data.y, data.condition)  # (8, 300, 4)
    # standardised
    assert np.all(np.abs(data.y.mean(axis=(0, 1))) < 0.3)
    assert np.all(np.abs(data.y.std(axis=(0, 1)) - 1.0) < 0.3)
    # different conditions give different outputs after the go cue
    post = cm[:, data.go_bin :]
    dist = np.linalg.norm(post[:, None] - post[None, :], axis=(2, 3))
    assert dist[~np.eye(8, dtype=bool)].min() > 1.0
    # preparatory activity is output-null: before go the outputs barely depend on the condition
    pre = cm[:, : data.go_bin]
    assert pre.std(axis=0).mean() < 0.2 * post.std(axis=0).mean()
    # non-negative muscle-like activity before standardisation
    assert data.outputs.min() >= 0.0


# ------------------------------------------------------------------ sample_neurons
def test_sample_neurons(data):
    for frac, k in [(0.05, 10), (0.1, 20), (0.2, 40), (1.0, 200)]:
        idx = sample_neurons(data, frac, random_state=0)
        assert idx.shape == (k,) and idx.dtype == np.int64
        assert len(np.unique(idx)) == k and np.all(np.diff(idx) > 0)
        assert idx.min() >= 0 and idx.max() < 200
    np.testing.assert_array_equal(sample_neurons(data, 0.1, random_state=5), sample_neurons(200, 0.1, random_state=5))
    assert not np.array_equal(sample_neurons(200, 0.1, random_state=5), sample_neurons(200, 0.1, random_state=6))
    assert sample_neurons(data, 0.0).shape == (0,)
    assert sample_neurons(10, 0.01, random_state=0).shape == (1,)  # at least one when fraction > 0
    assert sample_neurons(np.zeros((2, 3, 30)), 0.1, random_state=0).shape == (3,)


@pytest.mark.parametrize("bad, match", [
    (1.5, "fraction"), (-0.1, "fraction"), ("a", "fraction"), (np.nan, "fraction"),
])
def test_sample_neurons_bad_fraction(bad, match):
    with pytest.raises(ValueError, match=match):
        sample_neurons(100, bad)


@pytest.mark.parametrize("bad", [0, -5, "x", None])
def test_sample_neurons_bad_data(bad):
    with pytest.raises(ValueError):
        sample_neurons(bad, 0.1)


def test_sample_neurons_on_center_out_bunch_without_rates_says_what_it_needs():
    from motorsrnn.datasets import make_center_out

    d = make_center_out(n_trials=4, n_neurons=10, random_state=0)
    assert d.rates is None
    with pytest.raises(ValueError, match=r"no rates.*return_rates=True.*data\.X"):
        sample_neurons(d, 0.5, random_state=0)
    with pytest.raises(ValueError, match="no rates"):
        sample_neurons({"rates": None}, 0.5)
    # what the message suggests works
    with_rates = make_center_out(n_trials=4, n_neurons=10, random_state=0, return_rates=True)
    np.testing.assert_array_equal(sample_neurons(with_rates, 0.5, random_state=0),
                                  sample_neurons(d.X, 0.5, random_state=0))
    assert sample_neurons(d.X, 0.5, random_state=0).shape == (5,)


# ------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("kwargs, match", [
    (dict(n_conditions=1), "n_conditions"),
    (dict(n_conditions=2.5), "n_conditions"),
    (dict(n_trials_per_condition=0), "n_trials_per_condition"),
    (dict(n_neurons=4), "n_neurons must be >= 2 \\* \\(n_rotations"),
    (dict(n_neurons=7, n_null_rotations=1), "n_null_rotations"),
    (dict(n_null_rotations=3), "n_null_rotations must be <= n_rotations - 1"),
    (dict(n_null_rotations=-1), "n_null_rotations"),
    (dict(n_null_rotations=1.5), "n_null_rotations"),
    (dict(n_timesteps=1), "n_timesteps"),
    (dict(dt=0), "dt"),
    (dict(n_inputs=5, n_go_channels=4), "target channels"),
    (dict(n_go_channels=0), "n_go_channels"),
    (dict(n_outputs=0), "n_outputs"),
    (dict(n_rotations=1), "n_rotations"),
    (dict(rotation_frequency_hz=0), "rotation_frequency_hz"),
    (dict(rotation_frequency_hz=float("inf")), "rotation_frequency_hz"),
    (dict(frequency_spread=2.0), "frequency_spread"),
    (dict(decay_ms=10.0), "decay_ms must be > tau"),
    (dict(tau=-1.0), "tau"),
    (dict(go_time=120.0), "go_time must be <"),
    (dict(go_time=-1.0), "go_time"),
    (dict(noise=-0.1), "noise"),
    (dict(prep_noise=-0.1), "prep_noise"),
    (dict(max_rate=0), "max_rate"),
    (dict(baseline_rate=(0.0, 10.0)), "baseline_rate"),
    (dict(baseline_rate=(5.0, 70.0)), "baseline_rate"),
    (dict(input_rates=50.0), "input_rates"),
    (dict(input_rates=(80.0, 5.0)), "input_rates"),
    (dict(spiking="yes"), "spiking"),
    (dict(random_state="seed"), "random_state"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_reaching_dynamics(**dict(SMALL, **kwargs))


def test_go_time_must_be_a_multiple_of_dt():
    """go_time used to be rounded (half to even) to a bin without notice."""
    for go_time in (5.0, 7.0, 3.0):
        with pytest.raises(ValueError, match="go_time must be a multiple of dt"):
            make_reaching_dynamics(**dict(SMALL, dt=2.0, go_time=go_time))
    d = make_reaching_dynamics(**dict(SMALL, dt=2.0, go_time=6.0), random_state=0)
    assert d.go_bin == 3 and d.times[0] == -6.0
    # multiples up to float rounding are accepted (0.3 / 0.1 = 2.9999999999999996)
    d = make_reaching_dynamics(**dict(SMALL, dt=0.1, go_time=0.3), random_state=0)
    assert d.go_bin == 3 and d.times[0] == pytest.approx(-0.3)


def test_rotations_faster_than_the_bins_can_represent_are_refused():
    with pytest.raises(ValueError, match="at or beyond the 500 Hz"):
        make_reaching_dynamics(rotation_frequency_hz=600.0, random_state=0)
    with pytest.raises(ValueError, match="at or beyond the 250 Hz"):
        make_reaching_dynamics(rotation_frequency_hz=200.0, dt=2.0, random_state=0)  # 300 Hz with the spread


def _phases(d):
    """Per condition and output: the number of turning points of the noise-free condition mean
    after the go cue (1: one burst or one dip)."""
    go = np.searchsorted(d.times, 0)
    out = []
    for c in np.unique(d.condition):
        m = d.y[d.condition == c].mean(axis=0)[go:]
        for x in m.T:
            dx = np.diff(x)
            dx = np.sign(np.where(np.abs(dx) > 1e-6 * np.ptp(x), dx, 0))
            dx = dx[dx != 0]
            out.append(int(np.sum(dx[1:] != dx[:-1])))
    return np.array(out)


def test_outputs_burst_once_in_the_default_movement_and_more_in_a_longer_one():
    """What the docstring says of the outputs' phases (it said "multiphasic"; in the default 250 ms
    most outputs make a single burst or dip)."""
    short = _phases(make_reaching_dynamics(noise=0.0, prep_noise=0.0, random_state=0))
    assert short.min() >= 1 and np.mean(short == 1) > 0.7 and short.max() <= 2
    long = _phases(make_reaching_dynamics(noise=0.0, prep_noise=0.0, n_timesteps=800, random_state=0))
    assert long.min() >= 2 and long.max() <= 4


@pytest.mark.parametrize("kwargs, match", [
    (dict(max_rate=1e20), r"max_rate \(Hz\) must be <= 10000"),  # every rate and spike was 0
    (dict(noise=1e300), "noise must be <= 1000000"),  # y overflowed to inf
    (dict(prep_noise=1e7), "prep_noise must be <= 1000000"),
])
def test_unit_errors_in_the_teacher_parameters_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_reaching_dynamics(n_trials_per_condition=1, **kwargs)


def test_a_window_without_movement_keeps_y_finite_and_says_why():
    """With the go cue in the last bin the outputs are constant up to rounding, and y was divided by
    that rounding: values of 1e15 sold as standardised outputs."""
    small = dict(n_conditions=2, n_trials_per_condition=2, n_neurons=8, n_timesteps=20, n_inputs=4,
                 n_go_channels=1, n_outputs=2, n_rotations=2, random_state=0)
    with pytest.warns(UserWarning, match=r"do not move in the window \(go_time=19 ms, 20 steps .*1 step\(s\) after"):
        still = make_reaching_dynamics(**small, go_time=19.0)
    assert np.abs(still.y).max() < 5.0 and np.all(still.output_scale == 1.0)  # noise around the mean
    moving = make_reaching_dynamics(**small, go_time=10.0)
    assert np.all(moving.output_scale > 1e-3) and np.abs(moving.y).max() < 50.0  # a real movement's scale
