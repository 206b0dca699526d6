"""Synthetic motor-cortex datasets.

This module generates surrogate spike trains that mimic multi-unit recordings
from primary motor cortex (M1) during a centre-out reaching task.  Its
functions are written in NumPy (with scikit-learn's :class:`~sklearn.utils.Bunch`
for their results) and do not call the compiled ``motorsrnn._core`` extension,
although importing the package loads it.

Public functions
----------------
direction_angles
    Angles of ``n`` equally spaced reach targets.
make_center_out
    Simulated cosine-tuned Poisson / refractory spike trains for a centre-out
    task.
make_reaching_dynamics
    A teacher network with rotational population dynamics and muscle-like
    outputs, its neurons' rates and spikes, and spike inputs for a student.
sample_neurons
    A random subset of neurons ("recordings") to match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the functions import it when they run
    from sklearn.utils import Bunch

import math
import numbers
import warnings

import numpy as np

from ._validation import MAX_SPIKES_PER_BIN, check_bool, check_memory, check_number

__all__ = ["direction_angles", "make_center_out", "make_reaching_dynamics", "sample_neurons"]

def _poisson_counts(rng, mean_counts, what: str) -> np.ndarray:
    """Poisson counts of ``mean_counts`` as uint8: a clear error for absurd means, and a warning
    when counts above 255 are clipped (the counts then no longer follow the rates)."""
    top = float(np.max(mean_counts)) if np.size(mean_counts) else 0.0
    if top > MAX_SPIKES_PER_BIN:
        raise ValueError(
            f"{what} give up to {top:.3g} expected spikes per bin: rates are in Hz (spikes per second) "
            "and dt in ms"
        )
    counts = rng.poisson(mean_counts)
    clipped = counts > 255
    if clipped.any():
        warnings.warn(
            f"{what}: {clipped.mean():.2%} of the spike counts exceeded 255 and were clipped to fit uint8; "
            "lower the rates or dt",
            UserWarning,
            stacklevel=3,
        )
    return np.minimum(counts, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
def _check_random_state(random_state):
    """Turn ``random_state`` into a :class:`numpy.random.Generator`.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        ``None`` gives fresh OS entropy; an int seeds a new ``Generator``
        (``np.random.default_rng``); a ``Generator`` is used as is (and is
        advanced); a legacy ``RandomState`` is used to draw a seed for a new
        ``Generator`` (so it is advanced too).

    Returns
    -------
    numpy.random.Generator
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        seed = random_state.randint(0, 2**31 - 1, size=4)
        return np.random.default_rng(seed)
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(
        random_state, (bool, np.bool_)
    ):
        if random_state < 0:
            raise ValueError(
                f"random_state must be a non-negative integer, got {random_state}."
            )
        return np.random.default_rng(int(random_state))
    raise ValueError(
        "random_state must be None, a non-negative int, a numpy.random.Generator "
        f"or a numpy.random.RandomState, got {random_state!r}."
    )




def _check_range(value, name):
    """Validate a non-negative ``(low, high)`` range (a scalar means low == high)."""
    if isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    ):
        low = high = value
    else:
        try:
            low, high = value
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be a number or a (low, high) pair, got {value!r}."
            ) from None
    low = check_number(low, f"{name}[0] (low)")
    high = check_number(high, f"{name}[1] (high)")
    if low < 0 or high < 0:
        raise ValueError(
            f"{name} must contain non-negative rates in Hz, got ({low}, {high})."
        )
    if low > high:
        raise ValueError(f"{name} must satisfy low <= high, got ({low}, {high}).")
    return low, high


def _response_profile(u, duration):
    """Raised-cosine bump ``g(u)``: 0 outside ``[0, duration]``, peak 1 at ``duration / 2``."""
    g = 0.5 * (1.0 - np.cos(2.0 * np.pi * u / duration))
    return np.where((u >= 0.0) & (u <= duration), g, 0.0)


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------
def direction_angles(n_directions) -> np.ndarray:
    """Angles of ``n_directions`` reach targets equally spaced on the circle.

    Parameters
    ----------
    n_directions : int
        Number of targets, ``>= 2``.

    Returns
    -------
    angles : ndarray of shape (n_directions,), float64
        ``2 * pi * k / n_directions`` for ``k = 0, ..., n_directions - 1``, in
        radians (target ``k`` is labelled ``k`` by :func:`make_center_out`).

    Examples
    --------
    >>> from motorsrnn.datasets import direction_angles
    >>> direction_angles(4)
    array([0.        , 1.57079633, 3.14159265, 4.71238898])
    """
    n_directions = check_number(n_directions, "n_directions", low=2, integer=True)
    check_memory(8 * n_directions, f"the angles of {n_directions} directions", "use fewer directions")
    return 2.0 * np.pi * np.arange(n_directions) / n_directions


def make_center_out(
    n_trials=400,
    n_neurons=96,
    n_directions=4,
    n_timesteps=50,
    dt=1.0,
    window_start=None,
    tuned_fraction=0.8,
    baseline_rate=(5.0, 20.0),
    modulation=(2.0, 8.0),
    latency=100.0,
    latency_jitter=20.0,
    movement_duration=300.0,
    refractory_period=0.0,
    return_rates=False,
    random_state=None,
) -> Bunch:
    """Simulate M1 spike trains recorded during a centre-out reaching task.

    Targets are equally spaced on a circle.  Each simulated neuron has a
    baseline firing rate and (for a fraction of them) cosine tuning to reach
    direction that is expressed by a transient, movement-related rate bump.
    Spikes are drawn per time bin from a Poisson process (default) or from a
    Bernoulli process with an absolute refractory period.  The returned window
    is, by default, 50 bins of 1 ms centred on the peak of the mean response,
    matching the 50 ms M1 samples decoded in the motorSRNN paper.

    Parameters
    ----------
    n_trials : int, default=400
        Number of trials, ``>= n_directions``.  Trials are assigned to targets
        in a balanced, shuffled way: every direction occurs
        ``n_trials // n_directions`` or ``n_trials // n_directions + 1``
        times (the first ``n_trials % n_directions`` labels get the extra
        trial).
    n_neurons : int, default=96
        Number of simulated units (96 = one Utah array), ``>= 1``.
    n_directions : int, default=4
        Number of reach targets, ``>= 2``; target ``k`` sits at angle
        ``2 * pi * k / n_directions`` (see :func:`direction_angles`).
    n_timesteps : int, default=50
        Number of time bins in the returned window, ``>= 1``.
    dt : float, default=1.0
        Bin width in ms, ``> 0``.
    window_start : float or None, default=None
        Start of the returned window in ms relative to target onset (may be
        negative, i.e. pre-target baseline).  ``None`` centres the window on
        the peak of the response for the mean latency:
        ``latency + movement_duration / 2 - n_timesteps * dt / 2``
        (225 ms with the defaults, i.e. the window covers 225-275 ms).
    tuned_fraction : float, default=0.8
        Fraction of neurons that are cosine tuned, in ``[0, 1]``.  Exactly
        ``round(tuned_fraction * n_neurons)`` randomly chosen neurons are
        tuned; the others have zero modulation depth.
    baseline_rate : float or (float, float), default=(5.0, 20.0)
        Range (Hz) of the uniform distribution of baseline rates ``b0_i``.  A
        scalar gives every neuron the same baseline.  Must be ``>= 0`` with
        ``low <= high``.
    modulation : float or (float, float), default=(2.0, 8.0)
        Range (Hz) of the uniform distribution of modulation depths ``m_i``
        of tuned neurons.  Must be ``>= 0`` with ``low <= high``.
    latency : float, default=100.0
        Mean delay (ms) between target onset and the onset of the
        movement-related response, ``>= 0``.
    latency_jitter : float, default=20.0
        Standard deviation (ms) of the per-trial Gaussian jitter added to
        ``latency``, ``>= 0``.  The resulting onset is clipped at 0 ms.
    movement_duration : float, default=300.0
        Duration (ms) of the movement-related response bump, ``> 0``.  The
        response peaks ``movement_duration / 2`` after its onset.
    refractory_period : float, default=0.0
        Absolute refractory period in ms, in ``[0, 1000]``.  ``0`` draws Poisson
        counts per bin; ``> 0`` draws at most one spike per bin from a
        Bernoulli process in which no spike can occur in a bin starting less
        than ``refractory_period`` ms after the start of the bin of the
        previous spike.
    return_rates : bool, default=False
        If True, also return the underlying firing rates.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState, default=None
        Source of randomness.  The same int seed always gives identical
        output.  A ``Generator``/``RandomState`` instance is advanced.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with attributes

        X : ndarray of shape (n_trials, n_timesteps, n_neurons), uint8
            Spike counts per bin (clipped at 255).
        y : ndarray of shape (n_trials,), int64
            Target label in ``0, ..., n_directions - 1``.
        angles : ndarray of shape (n_trials,), float64
            Target angle of each trial in radians.
        preferred_directions : ndarray of shape (n_neurons,), float64
            Preferred direction ``pd_i`` of each neuron in radians, in
            ``[0, 2 pi)`` (drawn for untuned neurons too, but irrelevant).
        baseline_rates : ndarray of shape (n_neurons,), float64
            Baseline rate ``b0_i`` in Hz.
        modulation_depths : ndarray of shape (n_neurons,), float64
            Modulation depth ``m_i`` in Hz (0 for untuned neurons) at the peak of the response
            bump (``g = 1``). Averaged over a window, the depth is ``m_i`` times the mean of ``g``
            over it (e.g. about 0.94 ``m_i`` for the default 50 ms window at the response peak,
            with latency jitter), so a cosine fit of window counts recovers that, not ``m_i``.
        tuned : ndarray of shape (n_neurons,), bool
            Which neurons are cosine tuned.
        latencies : ndarray of shape (n_trials,), float64
            Response onset of each trial in ms after target onset.
        times : ndarray of shape (n_timesteps,), float64
            Start time of each bin in ms relative to target onset.
        rates : ndarray of shape (n_trials, n_timesteps, n_neurons), float32 or None
            Firing rate (Hz) at each bin centre if ``return_rates`` else None.
        dt : float
            Bin width in ms.
        window_start : float
            Start of the window in ms (resolved value when None was passed).
        description : str
            Human-readable summary of the generating parameters.

    Notes
    -----
    Model.  For trial ``n`` with target angle ``theta_n`` and response onset
    ``l_n = max(0, latency + e_n)``, ``e_n ~ Normal(0, latency_jitter)``, the
    rate of neuron ``i`` at time ``t`` (ms after target onset, evaluated at
    bin centres) is::

        r_i(t) = max(0, b0_i + g(t - l_n) * m_i * cos(theta_n - pd_i))
        g(u)   = 0.5 * (1 - cos(2 pi u / movement_duration))  for 0 <= u <= movement_duration
               = 0                                          otherwise

    so tuning is expressed as a smooth bump that peaks (``g = 1``) at
    ``l_n + movement_duration / 2``.  Outside the bump the neurons fire at
    their baseline.  The expected count (Poisson) or the spike probability
    (Bernoulli, clipped at 1) per bin is ``r_i(t) * dt / 1000``.  In the
    refractory mode a spike in bin ``k`` forbids spikes in the next
    ``ceil(refractory_period / dt) - 1`` bins, so inter-spike intervals are
    ``>= refractory_period``; the realised rate is therefore lower than
    ``r_i`` (for a constant rate, ``p / (1 + p * (ceil(refractory_period /
    dt) - 1))`` spikes per bin with ``p = r_i * dt / 1000``, i.e. roughly
    ``r / (1 + r * d / 1000)`` Hz with the dead time ``d = (ceil(refractory_period
    / dt) - 1) * dt`` ms; a ``refractory_period`` of at most one bin imposes
    none).  The refractory state is
    burnt in over ``4 * ceil(refractory_period / dt)`` simulated bins
    preceding the window, so the window does not start with every neuron
    artificially free to fire.

    Random numbers are drawn in a fixed order -- neuron parameters first,
    then trial labels and latencies, then spikes -- so with a given integer
    seed the neuron parameters do not depend on ``n_trials`` or on the window.

    Decodability.  With the defaults (400 trials, 96 neurons, 50 x 1 ms bins
    centred on the response peak) the population fires ~12.5 spikes/s on
    average (the mean of ``baseline_rate``; cosine modulation averages out
    over directions) and a multinomial logistic regression
    (``sklearn.linear_model.LogisticRegression(max_iter=1000)``) on the
    spike counts summed over the window reaches about 74 % accuracy
    (chance is 25 %): 5-fold cross-validation over 50 seeds gave
    0.74 +/- 0.03 (range 0.66-0.81), a stratified 75/25 hold-out split
    0.74 (range 0.61-0.83).  The task is thus clearly learnable but not
    trivial; with ``modulation=(5, 30)`` it becomes essentially perfectly
    separable (~100 %).
    Decodability grows with ``modulation``, ``tuned_fraction``, ``n_neurons``
    and the window length, and drops if the window is moved away from the
    response peak (e.g. ``window_start=0`` gives chance level because the
    bump has not started yet).

    Examples
    --------
    >>> from motorsrnn.datasets import make_center_out
    >>> data = make_center_out(n_trials=40, random_state=0)
    >>> data.X.shape, data.X.dtype
    ((40, 50, 96), dtype('uint8'))
    >>> data.y.shape, data.y.dtype
    ((40,), dtype('int64'))
    >>> [int((data.y == k).sum()) for k in range(4)]
    [10, 10, 10, 10]
    >>> data.times[:3]
    array([225., 226., 227.])
    >>> int(data.tuned.sum())
    77
    """
    # ------------------------------------------------------------------ checks
    n_directions = check_number(n_directions, "n_directions", low=2, integer=True)
    n_trials = check_number(n_trials, "n_trials", low=1, integer=True)
    if n_trials < n_directions:
        raise ValueError(
            f"n_trials must be >= n_directions ({n_directions}) so that every "
            f"direction occurs at least once, got {n_trials}."
        )
    n_neurons = check_number(n_neurons, "n_neurons", low=1, integer=True)
    n_timesteps = check_number(n_timesteps, "n_timesteps", low=1, integer=True)
    dt = check_number(dt, "dt", low=0.0, strict_low=True)
    tuned_fraction = check_number(tuned_fraction, "tuned_fraction")
    if not 0.0 <= tuned_fraction <= 1.0:
        raise ValueError(f"tuned_fraction must be in [0, 1], got {tuned_fraction}.")
    b_low, b_high = _check_range(baseline_rate, "baseline_rate")
    m_low, m_high = _check_range(modulation, "modulation")
    latency = check_number(latency, "latency", low=0.0)
    latency_jitter = check_number(latency_jitter, "latency_jitter", low=0.0)
    movement_duration = check_number(
        movement_duration, "movement_duration", low=0.0, strict_low=True
    )
    # in ms: neurons' absolute refractory periods are 1-5 ms; the bound keeps the burn-in (four
    # refractory periods of simulated bins) from exhausting memory on a unit error
    refractory_period = check_number(
        refractory_period, "refractory_period (ms)", low=0.0, high=1000.0
    )
    if window_start is None:
        window_start = latency + movement_duration / 2.0 - n_timesteps * dt / 2.0
    else:
        window_start = check_number(window_start, "window_start")
    return_rates = check_bool(return_rates, "return_rates")
    rng = _check_random_state(random_state)
    # float64 rates and expected counts, the draw and the uint8 result: about 40 bytes per entry
    n_burn_max = 4 * max(1, int(math.ceil(refractory_period / dt - 1e-9))) if refractory_period > 0 else 0
    check_memory(40 * n_trials * (n_timesteps + n_burn_max) * n_neurons,
                 f"make_center_out(n_trials={n_trials}, n_timesteps={n_timesteps}, n_neurons={n_neurons})",
                 "reduce n_trials, n_timesteps or n_neurons")

    # ------------------------------------------------------- neuron parameters
    baseline_rates = rng.uniform(b_low, b_high, size=n_neurons)
    depths = rng.uniform(m_low, m_high, size=n_neurons)
    preferred = rng.uniform(0.0, 2.0 * np.pi, size=n_neurons)
    n_tuned = int(round(tuned_fraction * n_neurons))
    tuned = np.zeros(n_neurons, dtype=bool)
    tuned[rng.permutation(n_neurons)[:n_tuned]] = True
    depths = np.where(tuned, depths, 0.0)

    # -------------------------------------------------------- trial parameters
    target_angles = direction_angles(n_directions)
    y = rng.permutation(np.arange(n_trials, dtype=np.int64) % n_directions)
    angles = target_angles[y]
    latencies = np.maximum(
        latency + rng.normal(0.0, 1.0, size=n_trials) * latency_jitter, 0.0
    )

    # ------------------------------------------------------------------ rates
    # Refractory mode: simulate a few extra bins before the window so that the
    # refractory state at the first returned bin is realistic.
    if refractory_period > 0:
        # ISI (in bins) must be >= ceil(refractory_period / dt) (the 1e-9
        # guards against float round-off such as 0.3 / 0.1 = 3.0000000000000004)
        block = max(1, int(math.ceil(refractory_period / dt - 1e-9)))
        n_burn = 4 * block
    else:
        block = n_burn = 0
    times = window_start + dt * np.arange(n_timesteps, dtype=np.float64)
    sim_times = window_start + dt * np.arange(-n_burn, n_timesteps, dtype=np.float64)
    centres = sim_times + dt / 2.0
    g = _response_profile(centres[None, :] - latencies[:, None], movement_duration)
    tuning = depths[None, :] * np.cos(angles[:, None] - preferred[None, :])
    rates = g[:, :, None] * tuning[:, None, :]  # (trials, time, neurons)
    rates += baseline_rates[None, None, :]
    np.maximum(rates, 0.0, out=rates)
    mean_counts = rates * (dt / 1000.0)

    # ----------------------------------------------------------------- spikes
    if refractory_period == 0:
        X = _poisson_counts(rng, mean_counts, "baseline_rate + modulation at this dt")
    else:
        p = np.minimum(mean_counts, 1.0)
        # a spike in bin k blocks bins k+1 .. k+block-1 (block >= 1)
        n_sim = n_burn + n_timesteps
        spikes = np.zeros((n_trials, n_sim, n_neurons), dtype=np.uint8)
        # bins remaining until a neuron may spike again (0 = free);
        # start as if the last spike happened long ago
        wait = np.zeros((n_trials, n_neurons), dtype=np.int64)
        for k in range(n_sim):
            u = rng.random((n_trials, n_neurons))
            s = (wait == 0) & (u < p[:, k, :])
            spikes[:, k, :] = s
            wait = np.where(s, block - 1, np.maximum(wait - 1, 0))
        X = spikes[:, n_burn:, :]
        X = np.ascontiguousarray(X)

    rates_out = None
    if return_rates:
        rates_out = np.ascontiguousarray(rates[:, n_burn:, :], dtype=np.float32)

    description = (
        f"Synthetic centre-out reaching dataset: {n_trials} trials, "
        f"{n_neurons} neurons ({n_tuned} cosine tuned), {n_directions} "
        f"directions, {n_timesteps} bins of {dt:g} ms starting {window_start:g} ms "
        f"after target onset. Baseline rates U({b_low:g}, {b_high:g}) Hz, "
        f"modulation depths U({m_low:g}, {m_high:g}) Hz, response onset "
        f"{latency:g} +/- {latency_jitter:g} ms, raised-cosine response bump of "
        f"{movement_duration:g} ms. "
        + (
            "Poisson spike counts."
            if refractory_period == 0
            else f"Bernoulli spikes with {refractory_period:g} ms absolute "
            "refractory period."
        )
    )

    from sklearn.utils import Bunch  # scikit-learn is a runtime dependency; imported lazily

    return Bunch(
        X=X,
        y=y,
        angles=angles,
        preferred_directions=preferred,
        baseline_rates=baseline_rates,
        modulation_depths=depths,
        tuned=tuned,
        latencies=latencies,
        times=times,
        rates=rates_out,
        dt=dt,
        window_start=window_start,
        description=description,
    )


# ---------------------------------------------------------------------------
# A "physiological" teacher: rotational motor-cortex-like population dynamics
# ---------------------------------------------------------------------------


def _expm_small(Q, n_terms=12):
    """``exp(Q)`` by its Taylor series, for a matrix of small norm (numpy only).

    Used for ``Q = (J - I) dt / tau`` whose norm is ~0.1 for the teacher of
    :func:`make_reaching_dynamics`; the series is then exact to float64
    round-off after a dozen terms.  Falls back to scaling and squaring when the
    norm is larger.
    """
    norm = np.linalg.norm(Q, ord=1)
    squarings = max(0, int(math.ceil(math.log2(norm / 0.25)))) if norm > 0.25 else 0
    Qs = Q / (2.0**squarings)
    result = np.eye(Q.shape[0])
    term = np.eye(Q.shape[0])
    for k in range(1, n_terms + 1):
        term = term @ Qs / k
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def make_reaching_dynamics(
    n_conditions=8,
    n_trials_per_condition=20,
    n_neurons=200,
    n_timesteps=300,
    dt=1.0,
    n_inputs=20,
    n_go_channels=4,
    n_outputs=4,
    n_rotations=3,
    n_null_rotations=0,
    rotation_frequency_hz=1.75,
    frequency_spread=1.0,
    decay_ms=400.0,
    tau=20.0,
    go_time=50.0,
    noise=0.2,
    prep_noise=0.1,
    max_rate=60.0,
    baseline_rate=(2.0, 20.0),
    input_rates=(5.0, 80.0),
    spiking=True,
    random_state=None,
) -> Bunch:
    """Reaching data from a teacher network with rotational motor-cortex-like dynamics.

    A *teacher* recurrent rate network of ``n_neurons`` neurons stands for
    motor cortex during a delayed centre-out reach (Churchland et al. 2012,
    "Neural population dynamics during reaching"): a preparatory input sets a
    condition-dependent initial state; the go cue withdraws it, and the
    state then evolves under the network's own recurrent dynamics, which are
    damped rotations in ``n_rotations`` planes at 1-2 Hz.  A fixed readout
    of the rotating state drives ``n_outputs`` muscle-like (EMG-like,
    non-negative) signals.  The function returns

    - ``X``: spike input for a *student* spiking network (target-tuned and
      go-cue channels: the same information the teacher receives),
    - ``y``: the teacher's outputs, standardised (the student's targets),
    - ``rates`` / ``spikes``: the teacher's firing rates and Poisson spike
      counts, from which :func:`sample_neurons` draws a sparse subset as
      "recordings" for activity matching
      (``SpikingRNNRegressor.fit(X, y, neural_targets=...)``).

    Parameters
    ----------
    n_conditions : int, default=8
        Number of reach conditions (targets), ``>= 2``; condition ``k`` is a
        reach at angle ``2 pi k / n_conditions`` (:func:`direction_angles`).
    n_trials_per_condition : int, default=20
        Trials per condition, ``>= 1``.  The trial order is shuffled.
    n_neurons : int, default=200
        Teacher neurons, ``>= 2 * (n_rotations + n_null_rotations)``.
    n_timesteps : int, default=300
        Bins per trial, ``>= 2``.  Bin 0 starts ``go_time`` ms before the go
        cue.
    dt : float, default=1.0
        Bin width in ms, ``> 0`` (also the teacher's integration step).  The
        linear dynamics are discretised exactly, so the condition means barely
        depend on it; the rotational noise is drawn once per step, so its
        accumulated spread shrinks somewhat with larger bins.
    n_inputs : int, default=20
        Input channels of ``X``: ``n_inputs - n_go_channels`` target channels
        (at least 2) followed by ``n_go_channels`` go-cue channels.
    n_go_channels : int, default=4
        Go-cue channels, ``>= 1``.
    n_outputs : int, default=4
        Muscle-like outputs, ``>= 1``.
    n_rotations : int, default=3
        Rotational planes of the teacher's dynamics, ``>= 2`` (the latent
        state has ``2 * n_rotations`` dimensions; two of them hold the
        preparatory state's condition tuning, which is output-null, so at
        least two planes are needed for a non-trivial output).
    n_null_rotations : int, default=0
        Additional rotational planes that the outputs never read
        ("output-null" dynamics, Kaufman et al. 2014), ``>= 0``.  They take
        part in the preparatory ring and rotate after the go cue like the
        other planes, at the midpoints between neighbouring output planes'
        frequencies (1.31 and 2.19 Hz with the defaults; hence at most
        ``n_rotations - 1`` null planes), and every neuron mixes them in.  The
        outputs never read them, so a student trained on the outputs alone
        has no direct reason to have them.  But over a short window sinusoids
        of nearby frequencies are nearly linear combinations of one another:
        in the default 250 ms after the go cue the null planes' condition-mean
        trajectories are almost linear functions of the output planes' ones
        (``python benchmarks/null_planes.py`` prints how close), and with
        ``frequency_spread=0`` exactly (a warning says so).  The latent state
        has ``2 * (n_rotations + n_null_rotations)`` dimensions; the null
        planes come last.
    rotation_frequency_hz : float, default=1.75
        Rotation frequency (Hz) of the middle plane, ``> 0``.  The planes'
        frequencies are spaced linearly from
        ``f * (1 - frequency_spread / 2)`` to ``f * (1 + frequency_spread / 2)``
        (0.875, 1.75 and 2.625 Hz with the defaults: around the 1-2 Hz of
        the rotations found by jPCA in monkey M1/PMd, spread so that the
        planes dephase during the movement).
    frequency_spread : float, default=1.0
        Relative spread of the planes' frequencies, in ``[0, 2)``.
    decay_ms : float, default=400.0
        Decay time constant (ms) of the rotations, ``> tau``: the
        rotational eigenvalues of the continuous-time dynamics are
        ``-1 / decay_ms +/- 2 pi i f_k / 1000`` per ms.
    tau : float, default=20.0
        Time constant (ms) of the teacher's neurons, ``> 0``; directions
        outside the rotational subspace relax on this time scale.
    go_time : float, default=50.0
        Time (ms) of the go cue after the start of the window, in
        ``[0, n_timesteps * dt)`` and a multiple of ``dt`` (the go cue falls
        on a bin edge: ``go_bin = go_time / dt``).  Before it the network
        holds its preparatory state.
    noise : float, default=0.2
        Private noise of the teacher's neurons: standard deviation of the
        stationary Ornstein-Uhlenbeck fluctuation of each neuron's state
        (condition-related state components have standard deviation ~1),
        in ``[0, 1e6]``.  Makes trials of one condition differ.  The private part is
        kept out of the latent planes, so a neuron's private fluctuation has
        standard deviation ``noise * sqrt(1 - 2 * (n_rotations +
        n_null_rotations) / n_neurons)``: close to ``noise`` for the default
        200 neurons, smaller for a few.
    prep_noise : float, default=0.1
        Trial-to-trial standard deviation of the preparatory state in each
        latent dimension (each plane's preparatory radius is 1), in ``[0, 1e6]``.
    max_rate : float, default=60.0
        Saturation rate (Hz) of the teacher's neurons, in ``(0, 10000]``.
    baseline_rate : float or (float, float), default=(2.0, 20.0)
        Range (Hz) of the neurons' rate at the rest state ``x = 0``, drawn
        uniformly; must lie in ``(0, max_rate)``.
    input_rates : (float, float), default=(5.0, 80.0)
        ``(low, high)`` rates (Hz) of the input channels: a target channel
        fires at ``high`` for a target at its preferred direction and decays
        towards ``low`` away from it; go channels fire at ``low`` before and
        ``high`` from the go cue on.
    spiking : bool, default=True
        Also draw Poisson spike counts of the teacher's rates (``spikes``).
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState, default=None
        Source of randomness; the same int gives identical data.  The teacher
        is drawn first, so with a given seed it does not depend on the number
        of trials or conditions.

    Returns
    -------
    data : sklearn.utils.Bunch
        X : ndarray of shape (n_trials, n_timesteps, n_inputs), uint8
            Poisson input spikes for a student network (clipped at 255),
            ``n_trials = n_conditions * n_trials_per_condition``.
        y : ndarray of shape (n_trials, n_timesteps, n_outputs), float32
            The teacher's outputs, standardised per output (zero mean, unit
            standard deviation over the noise-free responses of all
            conditions and bins).
        rates : ndarray of shape (n_trials, n_timesteps, n_neurons), float32
            Teacher firing rates in Hz, in ``[0, max_rate]``: ``max_rate``
            times a sigmoid, which saturates numerically (float64 ``tanh``,
            then the float32 cast), so some rates can be exactly 0 or
            exactly ``max_rate``, mostly with a large ``noise``.  Clip them
            before taking logarithms.
        spikes : ndarray of shape (n_trials, n_timesteps, n_neurons), uint8, or None
            Poisson counts of ``rates`` per bin (None if not ``spiking``).
        condition : ndarray of shape (n_trials,), int64
            Reach condition of each trial, ``0 .. n_conditions - 1``.
        angles : ndarray of shape (n_trials,), float64
            Reach angle of each trial (radians).
        target_angles : ndarray of shape (n_conditions,), float64
            Angle of each condition.
        outputs : ndarray of shape (n_trials, n_timesteps, n_outputs), float32
            The muscle-like outputs before standardisation (non-negative).
        output_mean, output_scale : ndarray of shape (n_outputs,)
            ``y = (outputs - output_mean) / output_scale``.
        latents : ndarray of shape (n_trials, n_timesteps, 2 * (n_rotations + n_null_rotations)), float32
            The teacher's state in its rotational subspace (plane ``k`` =
            columns ``2k, 2k + 1``; the output-null planes last): ground truth
            for dynamics analyses.
        frequencies_hz : ndarray of shape (n_rotations + n_null_rotations,)
            Rotation frequency of each plane.
        times : ndarray of shape (n_timesteps,), float64
            Start of each bin in ms relative to the go cue.
        go_bin : int
            Index of the first bin without preparatory input.
        teacher : sklearn.utils.Bunch
            The teacher's parameters: ``J`` (n_neurons, n_neurons) recurrent
            weights, ``tau``, ``loadings`` (n_neurons, latent dimensions),
            ``preparatory_states`` (n_conditions, n_neurons) fixed points,
            ``preparatory_inputs`` (n_conditions, n_neurons),
            ``rate_gain``, ``rate_offset`` (n_neurons,), ``max_rate``,
            ``output_weights`` (n_outputs, latent dimensions; zero on the null planes),
            ``output_bias`` (n_outputs,), ``input_preferred_directions``
            (n_target_channels,).
        dt : float
        description : str

    Notes
    -----
    **Teacher dynamics.**  The state ``x`` (n_neurons) of the teacher obeys the
    linear rate equation ``tau dx/dt = -x + J x + h(t) + noise``, a low-rank
    linear recurrent network (Mastrogiuseppe & Ostojic 2018) designed so that
    its only slow dynamics are rotations.  Its recurrent weights are
    ``J = C M C^+``: ``C`` (n_neurons x 2K, i.i.d. normal entries of variance
    ``1 / K``, so each neuron mixes all planes and has a condition-related
    state of standard deviation ~1) embeds ``K = n_rotations + n_null_rotations`` planes, ``C^+``
    is its pseudo-inverse, and ``M`` is block diagonal with blocks
    ``[[a, -w_k], [w_k, a]]``, ``a = 1 - tau / decay_ms``,
    ``w_k = 2 pi f_k tau / 1000``.  Because ``J C = C M``, the latent
    coordinates ``z = C^+ x`` follow damped rotations at ``f_k`` Hz with time
    constant ``decay_ms`` (eigenvalues ``(a - 1 +/- i w_k) / tau``), exactly
    the structure jPCA finds in monkey motor cortex; every other direction
    (projector ``P = I - C C^+``, ``J P = 0``) simply leaks with time
    constant ``tau`` and carries the neurons' private noise.  The dynamics are
    linear; every nonlinearity is in the rates and the outputs, so the
    rotational structure is exact and known (``latents``).  The equation is
    discretised exactly: ``x[t+1] = A x[t] + (I - A) x* + e[t]`` with
    ``A = exp((J - I) dt / tau) = C exp((M - I) dt / tau) C^+ + exp(-dt / tau) P``,
    ``x*`` the fixed point of the current input, and ``e[t]`` white noise
    scaled so that the private (non-rotational) fluctuation of each neuron
    is a stationary Ornstein-Uhlenbeck process of standard deviation
    ``noise``; its rotational part ``C^+ e[t]`` is integrated by the slow
    dynamics (trial-to-trial variability of the trajectories).

    **Preparation and go.**  A reach at angle ``theta`` has the preparatory
    latent state ``z_k(0) = (cos(s_k theta + phi_k), sin(s_k theta + phi_k))``
    in plane ``k`` (random phases ``phi_k``), a ring of initial conditions as
    in Churchland et al. (2012).  The ring winds in alternating senses
    ``s_k = +1, -1, +1, ...`` in successive planes: the preparatory states
    span two dimensions (``cos theta``, ``sin theta``), and with a common
    sense a rotation shared by all planes would keep the state inside that
    span, i.e. output-null (see Outputs) for the whole movement.  Its preparatory input
    ``h = (I - J) C z(0)`` (``teacher.preparatory_inputs``) makes
    ``C z(0)`` the network's fixed point; the preparatory period is assumed
    long enough for the state to have settled there (plus ``prep_noise``),
    so bins before ``go_bin`` show steady preparatory activity.  The go cue
    withdraws the input and the state rotates and decays back to rest.

    **Rates.**  ``r_i = max_rate * sigmoid(g_i x_i + o_i)`` with gains
    ``g_i ~ U(1, 2)`` and offsets ``o_i`` such that the rest state ``x = 0``
    gives a baseline drawn from ``baseline_rate``: non-negative, saturating,
    motor-cortex-like rates (mostly 0-60 Hz, preparatory and movement
    tuning, heterogeneous, multiphasic responses).  ``spikes`` are Poisson
    counts with mean ``r_i dt / 1000``.

    **Outputs.**  Muscle ``j`` has activity ``m_j = softplus(w_j . z + b_j)``,
    ``b_j = -1``: a fixed readout of the teacher state, rectified like EMG.
    The readout weights ``w_j`` are orthogonal to the preparatory states
    (the preparatory activity is "output-null", Kaufman et al. 2014), so all
    muscles rest at a condition-independent level before the go cue and burst
    after it; mixing several rotation frequencies makes the bursts condition
    dependent.  In the default 250 ms after the go cue the slow rotations show
    little of their cycles: most muscles make one burst or dip per condition,
    some two and a few none (``tests/test_reaching_dynamics.py`` counts them
    on one seed); with 750 ms (``n_timesteps=800``) muscles make several,
    mostly two to four.  ``|w_j| = 2.5``.

    **Inputs for the student.**  Target channel ``j`` has preferred
    direction ``2 pi j / n_target`` and fires at
    ``low + (high - low) exp(2 (cos(theta - pd_j) - 1))`` during the whole
    trial (the target stays visible); go channels fire at ``low`` before the
    go cue and ``high`` from ``go_bin`` on.  All are Poisson counts per bin.
    The student must therefore generate the timing of the outputs itself,
    as the teacher does with its rotational dynamics.

    Random numbers are drawn in a fixed order: the teacher (loadings,
    phases, readout, rate gains and baselines), then the trial
    order, the preparatory noise, the state noise, the input spikes and the
    teacher's spikes.

    Examples
    --------
    >>> from motorsrnn.datasets import make_reaching_dynamics, sample_neurons
    >>> data = make_reaching_dynamics(n_conditions=4, n_trials_per_condition=3,
    ...                               n_neurons=50, n_timesteps=100, random_state=0)
    >>> data.X.shape, data.X.dtype, data.y.shape, data.rates.shape
    ((12, 100, 20), dtype('uint8'), (12, 100, 4), (12, 100, 50))
    >>> bool(data.rates.min() >= 0 and data.rates.max() <= 60)
    True
    >>> sample_neurons(data, 0.1, random_state=0).shape
    (5,)
    """
    # ------------------------------------------------------------------ checks
    n_conditions = check_number(n_conditions, "n_conditions", low=2, integer=True)
    n_per = check_number(n_trials_per_condition, "n_trials_per_condition", low=1, integer=True)
    n_rotations = check_number(n_rotations, "n_rotations", low=2, integer=True)
    n_null = check_number(n_null_rotations, "n_null_rotations", low=0, integer=True)
    if n_null > n_rotations - 1:
        raise ValueError(
            f"n_null_rotations must be <= n_rotations - 1 = {n_rotations - 1} (one null plane "
            f"between each two neighbouring output planes' frequencies), got {n_null}."
        )
    n_neurons = check_number(n_neurons, "n_neurons", low=1, integer=True)
    if n_neurons < 2 * (n_rotations + n_null):
        raise ValueError(
            f"n_neurons must be >= 2 * (n_rotations + n_null_rotations) = "
            f"{2 * (n_rotations + n_null)} so that the rotational planes fit in the "
            f"population, got {n_neurons}."
        )
    n_timesteps = check_number(n_timesteps, "n_timesteps", low=2, integer=True)
    dt = check_number(dt, "dt", low=0.0, strict_low=True)
    n_inputs = check_number(n_inputs, "n_inputs", low=3, integer=True)
    n_go = check_number(n_go_channels, "n_go_channels", low=1, integer=True)
    n_target = n_inputs - n_go
    if n_target < 2:
        raise ValueError(
            f"n_inputs - n_go_channels must be >= 2 target channels, got n_inputs={n_inputs}, "
            f"n_go_channels={n_go}."
        )
    n_outputs = check_number(n_outputs, "n_outputs", low=1, integer=True)
    freq = check_number(rotation_frequency_hz, "rotation_frequency_hz", low=0.0, strict_low=True)
    spread = check_number(frequency_spread, "frequency_spread", low=0.0)
    if spread >= 2.0:
        raise ValueError(f"frequency_spread must be in [0, 2), got {spread}.")
    if spread == 0.0 and n_null_rotations > 0:
        warnings.warn(
            "frequency_spread=0 gives every plane the same frequency: the output-null planes' trajectories "
            "are then linear functions of the output planes' ones, and the outputs determine them",
            UserWarning,
            stacklevel=2,
        )
    tau = check_number(tau, "tau", low=0.0, strict_low=True)
    decay_ms = check_number(decay_ms, "decay_ms", low=0.0, strict_low=True)
    if decay_ms <= tau:
        raise ValueError(f"decay_ms must be > tau ({tau}), got {decay_ms}.")
    go_time = check_number(go_time, "go_time", low=0.0)
    if go_time >= n_timesteps * dt:
        raise ValueError(
            f"go_time must be < the window length n_timesteps * dt = {n_timesteps * dt:g} ms, "
            f"got {go_time}."
        )
    go_bin = min(int(round(go_time / dt)), n_timesteps - 1)
    if abs(go_bin * dt - go_time) > 1e-9 * max(go_time, dt):
        raise ValueError(
            f"go_time must be a multiple of dt = {dt:g} ms (the go cue starts a bin), got {go_time:g}; "
            f"the nearest are {go_time // dt * dt:g} and {(go_time // dt + 1) * dt:g} ms."
        )
    # the latents' scale is 1: larger noise only makes y overflow
    noise = check_number(noise, "noise", low=0.0, high=1e6)
    prep_noise = check_number(prep_noise, "prep_noise", low=0.0, high=1e6)
    # in Hz: no neuron fires 10 000 times a second (a unit error; beyond ~1e16 the rates underflow to 0)
    max_rate = check_number(max_rate, "max_rate (Hz)", low=0.0, strict_low=True, high=1e4)
    b_low, b_high = _check_range(baseline_rate, "baseline_rate")
    if b_low <= 0 or b_high >= max_rate:
        raise ValueError(
            f"baseline_rate must lie in (0, max_rate={max_rate:g}) Hz, got ({b_low:g}, {b_high:g})."
        )
    if isinstance(input_rates, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"input_rates must be a (low, high) pair in Hz, got {input_rates!r}.")
    in_low, in_high = _check_range(input_rates, "input_rates")
    spiking = check_bool(spiking, "spiking")
    rng = _check_random_state(random_state)
    # the teacher's N x N matrices, and per trial, step and neuron the noise, rates and spikes
    # (float64 noise and states, float32 rates, uint8 spikes): about 48 bytes per entry
    check_memory(48 * n_conditions * n_per * n_timesteps * n_neurons + 32 * n_neurons**2,
                 f"make_reaching_dynamics(n_conditions={n_conditions}, n_trials_per_condition={n_per}, "
                 f"n_timesteps={n_timesteps}, n_neurons={n_neurons})",
                 "reduce the trials, time steps or neurons")

    K, N = n_rotations + n_null, n_neurons  # all planes; the last n_null are output-null
    D = 2 * K
    # ---------------------------------------------------------------- teacher
    C = rng.normal(0.0, 1.0 / math.sqrt(K), size=(N, D))
    C_pinv = np.linalg.pinv(C)
    P = np.eye(N) - C @ C_pinv
    phases = rng.uniform(0.0, 2.0 * np.pi, size=K)
    W_raw = rng.normal(size=(n_outputs, D))
    gains = rng.uniform(1.0, 2.0, size=N)
    baselines = rng.uniform(b_low, b_high, size=N)
    offsets = np.log(baselines / (max_rate - baselines))  # sigmoid(o) * max_rate = baseline

    if n_rotations > 1 and spread > 0:
        freqs = freq * (1.0 + spread * (np.arange(n_rotations) / (n_rotations - 1) - 0.5))
    else:
        freqs = np.full(n_rotations, freq)
    nyquist = 500.0 / dt
    if freqs.max() >= nyquist:
        raise ValueError(
            f"rotation_frequency_hz={freq:g} gives planes rotating at up to {freqs.max():g} Hz, at or beyond "
            f"the {nyquist:g} Hz that {dt:g} ms bins can represent (they would alias); lower it or dt"
        )
    # the null planes rotate at the midpoints between the output planes' frequencies, so that
    # their trajectories are not linear functions of the output planes' ones (over a short window
    # they nearly are: see the docstring and benchmarks/null_planes.py)
    freqs = np.concatenate([freqs, 0.5 * (freqs[:-1] + freqs[1:])[:n_null]])
    a = 1.0 - tau / decay_ms
    M = np.zeros((D, D))
    for k in range(K):
        w = 2.0 * np.pi * freqs[k] * tau / 1000.0
        M[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] = [[a, -w], [w, a]]
    J = C @ M @ C_pinv  # low-rank recurrence: J C = C M, J P = 0
    # exact one-step map A = exp((J - I) dt / tau) = C E C^+ + exp(-dt / tau) P, with
    # E = exp((M - I) dt / tau) the map of the latent coordinates z = C^+ x
    E = _expm_small((M - np.eye(D)) * (dt / tau))
    leak = math.exp(-dt / tau)

    # preparatory states: z_k(0) = R(s_k theta + phi_k) e1 = cos(theta) u + sin(theta) v,
    # the ring winding in alternating senses s_k = +1, -1, +1, ... in successive planes
    senses = np.where(np.arange(K) % 2 == 0, 1.0, -1.0)
    u = np.zeros(D)
    v = np.zeros(D)
    u[0::2], u[1::2] = np.cos(phases), np.sin(phases)
    v[0::2], v[1::2] = -senses * np.sin(phases), senses * np.cos(phases)
    # output-null preparatory activity: readout orthogonal to span{u, v} and to the null planes
    null_axes = np.eye(D)[:, 2 * n_rotations :]
    Q, _ = np.linalg.qr(np.column_stack([u, v, null_axes]))
    W_out = W_raw - (W_raw @ Q) @ Q.T
    W_out *= 2.5 / np.linalg.norm(W_out, axis=1, keepdims=True)
    b_out = np.full(n_outputs, -1.0)

    target_angles = direction_angles(n_conditions)
    z_prep = np.cos(target_angles)[:, None] * u + np.sin(target_angles)[:, None] * v  # (cond, D)
    x_prep = z_prep @ C.T  # fixed points (cond, N)
    h_prep = x_prep @ (np.eye(N) - J).T  # the input whose fixed point is x_prep

    # noise-free latent trajectories per condition -> output standardisation
    z_clean = np.empty((n_conditions, n_timesteps, D))
    z = z_prep.copy()
    for t in range(n_timesteps):
        z_clean[:, t] = z
        if t >= go_bin:
            z = z @ E.T
    m_clean = _softplus(z_clean @ W_out.T + b_out)
    out_mean = m_clean.reshape(-1, n_outputs).mean(axis=0)
    out_scale = m_clean.reshape(-1, n_outputs).std(axis=0)
    # preparatory activity is output-null: without movement in the window the outputs are constant
    # up to rounding, and dividing by that rounding made y of size 1e15
    still = out_scale <= 1e-9 * np.maximum(np.abs(out_mean), np.finfo(np.float64).tiny)
    if still.any():
        warnings.warn(
            f"the outputs do not move in the window (go_time={go_time:g} ms, {n_timesteps} steps of dt={dt:g} ms: "
            f"{max(n_timesteps - go_bin, 0)} step(s) after the go cue), so output(s) "
            f"{np.flatnonzero(still).tolist()} are constant: y there is centred but not scaled. Leave more time "
            "after the go cue (a smaller go_time or more n_timesteps)",
            UserWarning,
            stacklevel=2,
        )
    out_scale = np.where(still, 1.0, out_scale)

    # ----------------------------------------------------------------- trials
    n_trials = n_conditions * n_per
    condition = rng.permutation(np.arange(n_trials, dtype=np.int64) % n_conditions)
    angles = target_angles[condition]
    z = z_prep[condition] + prep_noise * rng.normal(size=(n_trials, D))
    # private noise: eta is an Ornstein-Uhlenbeck process per neuron (stationary sd = noise);
    # x = C z + P eta, where z also integrates the noise's rotational component C^+ e
    step_sd = noise * math.sqrt(1.0 - leak**2)
    eta0 = noise * rng.normal(size=(n_trials, N))
    eps = step_sd * rng.normal(size=(n_trials, n_timesteps, N))
    eps[:, 0] = eta0
    noise_lat = eps @ C_pinv.T  # rotational component C^+ e[t] of the step noise
    eta = eps  # cumulated in place: eta[t] = leak * eta[t-1] + e[t]
    for t in range(1, n_timesteps):
        eta[:, t] += leak * eta[:, t - 1]
    drive = z_prep[condition] @ (np.eye(D) - E).T  # (I - E) z* during preparation
    latents = np.empty((n_trials, n_timesteps, D))
    for t in range(n_timesteps):
        latents[:, t] = z
        z = z @ E.T
        if t < go_bin:
            z += drive
        if t + 1 < n_timesteps:
            z += noise_lat[:, t + 1]
    X_state = latents @ C.T
    X_state += eta @ P.T
    del eta, eps
    rates = max_rate * _sigmoid(gains * X_state + offsets)
    del X_state
    outputs = _softplus(latents @ W_out.T + b_out)
    y = (outputs - out_mean) / out_scale

    # ------------------------------------------------------------ input spikes
    pds = 2.0 * np.pi * np.arange(n_target) / n_target
    target_rate = in_low + (in_high - in_low) * np.exp(
        2.0 * (np.cos(angles[:, None] - pds[None, :]) - 1.0)
    )  # (trials, n_target)
    in_rates = np.empty((n_trials, n_timesteps, n_inputs))
    in_rates[:, :, :n_target] = target_rate[:, None, :]
    in_rates[:, :go_bin, n_target:] = in_low
    in_rates[:, go_bin:, n_target:] = in_high
    X = _poisson_counts(rng, in_rates * (dt / 1000.0), "input_rates at this dt")

    spikes = None
    if spiking:
        spikes = _poisson_counts(rng, rates * (dt / 1000.0), "max_rate at this dt")

    times = (np.arange(n_timesteps) - go_bin) * dt
    description = (
        f"Synthetic reaching dynamics: a linear teacher RNN of {N} neurons (tau {tau:g} ms) with "
        f"{K} rotational planes at {', '.join(f'{f:.2f}' for f in freqs)} Hz (decay {decay_ms:g} ms"
        f"{f'; the last {n_null} output-null' if n_null else ''}), "
        f"{n_conditions} reach conditions x {n_per} trials, {n_timesteps} bins of {dt:g} ms, go cue at "
        f"{go_bin * dt:g} ms. Preparatory fixed points on a ring, output-null; {n_outputs} softplus "
        f"muscle-like outputs (standardised in y). Rates {max_rate:g} Hz * sigmoid, baselines "
        f"U({b_low:g}, {b_high:g}) Hz; state noise {noise:g}, preparatory noise {prep_noise:g}. "
        f"Student input: {n_target} target channels + {n_go} go channels, Poisson "
        f"{in_low:g}-{in_high:g} Hz."
    )

    from sklearn.utils import Bunch  # scikit-learn is a runtime dependency; imported lazily

    teacher = Bunch(
        J=J,
        tau=tau,
        loadings=C,
        preparatory_states=x_prep,
        preparatory_inputs=h_prep,
        rate_gain=gains,
        rate_offset=offsets,
        max_rate=max_rate,
        output_weights=W_out,
        output_bias=b_out,
        input_preferred_directions=pds,
    )
    return Bunch(
        X=X,
        y=y.astype(np.float32),
        rates=rates.astype(np.float32),
        spikes=spikes,
        condition=condition,
        angles=angles,
        target_angles=target_angles,
        outputs=outputs.astype(np.float32),
        output_mean=out_mean,
        output_scale=out_scale,
        latents=latents.astype(np.float32),
        frequencies_hz=freqs,
        times=times,
        go_bin=go_bin,
        teacher=teacher,
        dt=dt,
        description=description,
    )


def sample_neurons(data, fraction=0.1, random_state=None) -> np.ndarray:
    """Indices of a random subset of neurons, the "recorded" sample.

    Parameters
    ----------
    data : Bunch, int or array-like
        The output of :func:`make_reaching_dynamics` (its ``rates`` give the
        number of neurons), a number of neurons, or an activity array whose
        last axis is neurons.  A :func:`make_center_out` Bunch works only with
        its ``rates``, i.e. from ``make_center_out(..., return_rates=True)``
        (otherwise pass ``data.X``, whose last axis is neurons).
    fraction : float, default=0.1
        Fraction of neurons to sample, in ``[0, 1]``.  ``round(fraction * n)``
        neurons are drawn without replacement, at least one when
        ``fraction > 0``; ``fraction = 0`` gives an empty array (no
        recordings: output-only training).
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState, default=None
        Source of randomness.

    Returns
    -------
    indices : ndarray of shape (n_sampled,), int64
        Distinct neuron indices in increasing order; use them as
        ``data.rates[:, :, indices]`` (or ``data.spikes[...]``).

    Raises
    ------
    ValueError
        If ``data`` is not one of the above (including a Bunch whose ``rates``
        is None, such as ``make_center_out``'s default output), has no
        neurons, or ``fraction`` is not in ``[0, 1]``.

    Examples
    --------
    >>> from motorsrnn.datasets import sample_neurons
    >>> sample_neurons(200, 0.05, random_state=0).shape
    (10,)
    """
    if isinstance(data, (numbers.Integral, np.integer)) and not isinstance(data, (bool, np.bool_)):
        n = check_number(data, "data (number of neurons)", low=1, integer=True)
    elif isinstance(data, (numbers.Real, np.floating)) and not isinstance(data, (bool, np.bool_)):
        raise ValueError(f"data as a number of neurons must be an integer, got {data!r}.")
    elif hasattr(data, "rates") or (isinstance(data, dict) and "rates" in data):
        rates = data["rates"] if isinstance(data, dict) else data.rates
        if rates is None or np.ndim(rates) < 1:
            raise ValueError(
                f"data has no rates (data.rates is {rates!r:.40}) to count neurons from: pass "
                "make_center_out(..., return_rates=True), the activity array itself (e.g. data.X, "
                "neurons on the last axis) or the number of neurons."
            )
        n = int(np.shape(rates)[-1])
    else:
        try:
            shape = np.shape(data)
        except Exception:  # pragma: no cover - exotic objects
            shape = ()
        if len(shape) < 1 or isinstance(data, (str, bytes)):
            raise ValueError(
                "data must be a make_reaching_dynamics Bunch, a number of neurons or an "
                f"activity array with neurons on the last axis, got {data!r:.80}."
            )
        n = int(shape[-1])
    if n < 1:
        raise ValueError("data has no neurons to sample from.")
    fraction = check_number(fraction, "fraction", low=0.0)
    if fraction > 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}.")
    rng = _check_random_state(random_state)
    k = 0 if fraction == 0 else max(1, int(round(fraction * n)))
    return np.sort(rng.choice(n, size=k, replace=False)).astype(np.int64)
