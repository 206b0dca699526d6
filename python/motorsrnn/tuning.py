"""Directional tuning of recorded neurons and of a fitted network's units.

Motor-cortex neurons are classically *cosine tuned*: their firing rate ``f`` in a reach towards
direction ``theta`` is ``f(theta) = b0 + m cos(theta - pd)`` (Georgopoulos et al., 1982), with a
baseline ``b0``, a modulation depth ``m >= 0`` and a preferred direction ``pd``. This module fits
that model to many neurons at once (in the compiled core, in parallel, without the GIL), with
goodness of fit, an F-test, bootstrap confidence intervals and a permutation test; fits a unimodal
von Mises model for neurons that are sharper than a cosine and compares the two; computes empirical
tuning curves; and runs the same analysis on the units of a fitted
:class:`~motorsrnn.SpikingRNNClassifier`.

Public functions
----------------
fit_cosine_tuning
    Cosine tuning of every neuron: preferred direction, depth, baseline, R^2, p-values, intervals.
fit_von_mises_tuning
    Von Mises tuning ``peak + gain (exp(kappa (cos(theta - mu) - 1)) - 1) / kappa``.
compare_tuning_models
    Cosine versus von Mises per neuron by AIC or BIC (Gaussian errors).
tuning_curves
    Mean rate and its standard error per direction.
network_tuning
    The tuning of a fitted network's units (spike counts from ``estimator.simulate``).

Conventions
-----------
Activity
    ``(n_trials, n_neurons)``: one value per trial and neuron (spike counts, rates, any finite
    numbers up to 1e150 in size; a neuron's largest value must be at least 1e-150 unless all its
    values are 0), used as given. ``(n_trials, n_timesteps, n_neurons)``: spike counts per time bin
    (what :func:`motorsrnn.datasets.make_center_out` and ``simulate`` return), summed over
    ``window = (start, stop)`` (bins, ``start <= t < stop``; the whole array by default) and
    reported in spikes/s (``units="hz"``, bins of ``dt`` ms, 1 by default) or spikes per trial
    (``units="counts"``). The result of :func:`motorsrnn.io.bin_spike_times` (or ``from_nwb``,
    ...) is its ``X`` with its own bin width as ``dt``, and a ``window`` for it is in its units
    relative to the event, as in the binning: ``fit_cosine_tuning(binned, y, window=(0, 200))``
    counts the first 200 ms after the event, wherever the binned window starts.
Directions
    Float arrays are angles, in radians (or degrees with ``degrees=True``). Integer arrays are class
    labels: with ``labels_to_angles`` (a dict ``{label: angle}`` or a sequence whose entry ``k`` is the
    angle of label ``k``) they are mapped to angles; without it they must be exactly ``0, ..., K-1``
    and label ``k`` is the angle ``2 pi k / K`` (the convention of ``make_center_out`` and
    :func:`motorsrnn.datasets.direction_angles`); integer *angles* in degrees are read as angles when
    ``degrees=True``. Other label types (strings) need ``labels_to_angles``. ``K`` is the number of
    labels present: for a subset of trials that lacks the last directions (e.g. labels 0-2 of
    four reaches), pass ``labels_to_angles=direction_angles(4)``, or the angles are wrong.
    :func:`network_tuning` takes ``K`` from the estimator's ``classes_`` instead. A pandas Series
    as ``labels_to_angles`` maps its index (the labels) to its values. Warnings flag the usual
    mix-ups: float angles beyond ``4 pi`` without ``degrees=True`` (degrees read as radians?),
    float directions that are all whole numbers (class labels loaded as floats, read as radians?),
    and directions that span less than 90 degrees of the circle (labels ``0..K-1`` read as
    degrees with ``degrees=True``?).
Results
    Angles are always returned in radians, preferred directions in ``[0, 2 pi)``.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ._validation import (
    CONSTANT_RTOL,
    InvalidParameterError,
    check_bool,
    check_memory,
    check_number,
    install_hint,
    user_stacklevel,
)
from sklearn.base import RegressorMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from . import _core
from .io import _binned_parts
from .estimators import (
    _check_simulate_memory,
    _copy_network,
    _n_threads,
    _network_dt,
    _simulations_in_chunks,
    check_spikes,
    refuse_mapping,
)

__all__ = [
    "BinWindow",
    "CosineTuning",
    "TuningCurves",
    "TuningModelComparison",
    "VonMisesTuning",
    "compare_tuning_models",
    "fit_cosine_tuning",
    "fit_von_mises_tuning",
    "network_tuning",
    "tuning_curves",
]

_UNITS = ("hz", "counts")
_CRITERIA = ("aic", "bic")
# compare_tuning_models: SSE differences below this fraction of the total sum of squares are ties
_TIE_RTOL = 1e-9


# ---------------------------------------------------------------------------------------------
# Input handling
# ---------------------------------------------------------------------------------------------


def _seed(random_state) -> int:
    """A 64-bit seed for the core: an int is used as is; None draws fresh entropy."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0])
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(random_state, (bool, np.bool_)):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state}")
        return int(random_state) % 2**64
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63, dtype=np.int64))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**63 - 1, dtype=np.int64))
    raise ValueError(
        "random_state must be None, a non-negative int, a numpy.random.Generator or a "
        f"numpy.random.RandomState, got {random_state!r}"
    )


def _window_bins(window, n_steps: int):
    """``window`` as ``(start, stop)`` time bins, checked against ``n_steps`` (None: all)."""
    if window is None:
        return 0, n_steps
    try:
        start, stop = window
    except (TypeError, ValueError):
        raise ValueError(f"window must be a (start, stop) pair of time bins, got {window!r}") from None
    for v, nm in ((start, "window start"), (stop, "window stop")):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Integral, np.integer)):
            raise InvalidParameterError(f"{nm} must be an integer time bin, got {v!r}")
    start, stop = int(start), int(stop)
    if not 0 <= start < stop <= n_steps:
        raise ValueError(f"window must satisfy 0 <= start < stop <= n_timesteps ({n_steps}), got ({start}, {stop})")
    return start, stop


def _population_spikes(sim, population: Optional[str], owner: str = "the network") -> np.ndarray:
    """The spikes of one population of a ``simulate()`` result (all units for None); a
    ``ValueError`` naming the populations ``owner`` has for an unknown one."""
    if population is None:
        return sim.spikes
    pops = getattr(sim, "populations", {})
    if population not in pops:
        raise ValueError(f"unknown population {population!r}; {owner} has {sorted(pops)}")
    return pops[population].spikes


#: Mean rate (Hz) of all neurons above which spike counts at the default 1 ms bins are taken for
#: wider bins (motor cortex's neurons fire at 10-50 Hz on average).
_HIGH_RATE_HZ = 100.0

#: Largest activity value the fits accept: squares summed over up to 1e8 trials stay finite in float64.
_MAX_RATE = 1e150
#: Neurons whose values are all below this in size (but not all zero) are refused: their squares underflow.
_MIN_RATE = 1e-150


class BinWindow(tuple):
    """A window ``(start, stop)`` in time bins, as a result's ``settings`` record a window that
    was given relative to the event for binned data: the same settings then select the same bins
    of the binned data and of its ``X`` (which has no time axis of its own).

    Parameters
    ----------
    start, stop : int
        First bin and the bin after the last (``start <= t < stop``).
    """

    def __new__(cls, start: int, stop: int) -> "BinWindow":
        return super().__new__(cls, (int(start), int(stop)))

    def __repr__(self) -> str:
        return f"BinWindow({self[0]}, {self[1]})"

    def __reduce__(self):
        return (BinWindow, (self[0], self[1]))


def _settings(activity, directions, window, dt, units, degrees, labels_to_angles) -> Dict[str, Any]:
    """A fit's ``settings``: for binned data, its window in bins (:class:`BinWindow`) and its bin
    width as ``dt``, so that they apply to the binned data and to its ``X`` alike; for integer
    class labels read as ``2 pi k / K``, the angles of the fit's ``K`` labels as
    ``labels_to_angles``, so that a subset of the trials (lacking a label) keeps them."""
    parts = _binned_parts(activity)
    if parts is not None:
        _, window, dt, _ = _resolve_binned(activity, window, dt)
        window = None if window is None else BinWindow(*window)
    if labels_to_angles is None and not degrees and np.asarray(directions).dtype.kind in "iu":
        n_labels = int(np.unique(np.asarray(directions)).size)  # labels 0..K-1 (checked by the fit)
        labels_to_angles = tuple(2.0 * np.pi * k / n_labels for k in range(n_labels))
    return dict(window=window, dt=dt, units=units, degrees=degrees, labels_to_angles=labels_to_angles)


def _event_window_bins(window, times_ms: np.ndarray, bin_ms: float, units: str) -> Tuple[int, int]:
    """A window in ``units`` ("ms" or "s") relative to the event, as time bins of a binned result
    whose bins start at ``times_ms``; its ends must be bin edges inside the binned window."""
    try:
        start, stop = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"window must be a (start, stop) pair of times in {units} relative to the event, "
                         f"got {window!r}") from None
    scale = 1000.0 if units == "s" else 1.0
    first, n = float(times_ms[0]) if times_ms.size else 0.0, times_ms.size
    edges = [(v * scale - first) / bin_ms for v in (start, stop)]
    bins = [int(round(e)) for e in edges]
    span = f"({first / scale:g}, {(first + n * bin_ms) / scale:g}) {units}"
    if any(abs(e - b) > 1e-6 for e, b in zip(edges, bins)) or not 0 <= bins[0] < bins[1] <= n:
        raise ValueError(
            f"window ({start:g}, {stop:g}) {units} relative to the event must have its ends on bin edges (every "
            f"{bin_ms / scale:g} {units}) inside the binned window {span}, with start < stop"
        )
    return bins[0], bins[1]


def _resolve_binned(activity, window, dt) -> Tuple[Any, Any, float, bool]:
    """``(activity, window, dt, given)``: a result of :func:`motorsrnn.io.bin_spike_times` (or
    ``from_nwb``, ...) gives its ``X``, its bin width as ``dt`` and its time axis to a ``window``
    in its units relative to the event (turned into time bins); other activity passes through,
    ``dt`` defaulting to 1 ms. ``given``: whether the bin width came from the user or the data."""
    parts = _binned_parts(activity)
    if parts is None:
        given = dt is not None
        return activity, window, (1.0 if dt is None else check_number(dt, "dt", low=0.0, strict_low=True)), given
    X, bin_ms, times_ms = parts
    if dt is not None and not np.isclose(check_number(dt, "dt", low=0.0, strict_low=True), bin_ms, rtol=1e-9):
        raise ValueError(f"dt={dt!r} ms, but the binned data's bins are {bin_ms:g} ms wide: leave dt out to use them")
    if window is not None and not isinstance(window, BinWindow):  # a BinWindow is in bins already
        window = _event_window_bins(window, times_ms, bin_ms, getattr(activity, "units", "ms"))
    return X, window, bin_ms, True


def _several_per_bin(counts: np.ndarray) -> bool:
    """Whether whole-number counts (of any dtype) hold a bin of two spikes or more: no neuron fires
    twice in 1 ms (and a spiking network's unit fires at most once per step), so these bins are
    wider than the default dt."""
    if counts.dtype.kind == "f" and not np.array_equal(counts, np.round(counts)):
        return False
    return bool(counts.max(initial=0) >= 2)


def _activity_to_rates(activity, window, dt, units) -> np.ndarray:
    """``(n_trials, n_neurons)`` float64 rates from per-trial values, a 3-D spike array or a
    binned result (see :func:`_resolve_binned`)."""
    if units not in _UNITS:
        raise ValueError(f"units must be one of {_UNITS}, got {units!r}")
    activity, window, dt, dt_given = _resolve_binned(activity, window, dt)
    refuse_mapping(activity, "activity")
    ndim = getattr(activity, "ndim", None)
    if ndim is None:
        ndim = np.asarray(activity).ndim
    if ndim == 2:
        if window is not None:
            raise ValueError(
                "window applies to 3-D spike arrays (n_trials, n_timesteps, n_neurons); activity is "
                "2-D (one value per trial and neuron), pass window=None"
            )
        rates = check_array(
            activity, dtype=np.float64, ensure_all_finite=True, input_name="activity", ensure_min_samples=1
        )
        return np.ascontiguousarray(rates)
    if ndim != 3:
        raise ValueError(
            "activity must be 2-D (n_trials, n_neurons) per-trial counts or rates, or 3-D "
            f"(n_trials, n_timesteps, n_neurons) spike counts per bin; got {ndim} dimension(s)"
        )
    spikes = check_spikes(activity, name="activity")
    start, stop = _window_bins(window, spikes.shape[1])
    counts = spikes[:, start:stop, :].sum(axis=1, dtype=np.float64)
    mean_hz = float(counts.mean()) / ((stop - start) * dt / 1000.0) if counts.size else 0.0
    if spikes.dtype.kind == "f" and mean_hz > 1000.0 and not np.all(np.mod(spikes[:, start:stop], 1) == 0):
        warnings.warn(
            f"3-D activity is read as spike counts per bin of {dt:g} ms, but it holds non-integer values and "
            f"implies a mean rate of {mean_hz:.4g} Hz: rates in Hz would be counted {1000.0 / dt:g} times too "
            "high. For rates, pass one value per trial and neuron (2-D), e.g. rates[:, start:stop].mean(axis=1)",
            UserWarning, stacklevel=user_stacklevel(),
        )
    elif not dt_given and units == "hz":
        _warn_if_wide_bins(spikes[:, start:stop], mean_hz)
    if units == "hz":
        counts /= (stop - start) * dt / 1000.0
    return np.ascontiguousarray(counts)


def _warn_if_wide_bins(counts: np.ndarray, mean_hz: float) -> None:
    """Warn when spike counts read at the default bin width (1 ms) give a mean rate above
    :data:`_HIGH_RATE_HZ` and hold bins of two spikes or more: the bins are probably wider."""
    if mean_hz > _HIGH_RATE_HZ and _several_per_bin(counts):
        warnings.warn(
            f"the spike counts give a mean rate of {mean_hz:.4g} Hz at the default bin width dt=1 ms, more than motor "
            f"cortex's neurons fire: are the bins wider? Pass dt=<bin width in ms> (or the result of "
            f"motorsrnn.io.bin_spike_times itself, which knows its bins), or dt=1 if they are 1 ms",
            UserWarning, stacklevel=user_stacklevel(),
        )


def _warn_if_degrees(angles: np.ndarray, degrees: Any, what: str) -> bool:
    """Warn (and return True) when angles read as radians reach more than two turns, as angles
    in degrees almost always do and radians rarely."""
    largest = float(np.max(np.abs(angles), initial=0.0)) if np.isfinite(angles).all() else 0.0
    if degrees or largest <= 4.0 * np.pi:
        return False
    warnings.warn(
        f"{what} reach {largest:g}, more than 4 pi: are they in degrees? They are read as radians; pass "
        "degrees=True for angles in degrees",
        UserWarning,
        stacklevel=user_stacklevel(),
    )
    return True


def _directions_to_angles(directions, n_trials, degrees, labels_to_angles) -> np.ndarray:
    """Angles in radians, one per trial (see the module docs for the rules)."""
    if not isinstance(degrees, (bool, np.bool_)):
        raise InvalidParameterError(f"degrees must be True or False, got {degrees!r}")
    if directions is None:
        raise ValueError("directions must be given: one angle or class label per trial")
    d = np.asarray(directions)
    if d.ndim == 2 and d.shape[1] == 1:
        d = d[:, 0]
    if d.ndim != 1:
        raise ValueError(f"directions must be 1-D (one per trial), got an array of shape {d.shape}")
    if d.shape[0] != n_trials:
        raise ValueError(
            f"activity has {n_trials} trials but directions has {d.shape[0]} entries; need one direction per trial"
        )
    scale = np.pi / 180.0 if degrees else 1.0
    if labels_to_angles is not None:
        if isinstance(labels_to_angles, Mapping):
            mapping = dict(labels_to_angles)
        elif hasattr(labels_to_angles, "index") and callable(getattr(labels_to_angles, "to_dict", None)):
            mapping = labels_to_angles.to_dict()  # a pandas Series maps its index (labels) to its values
        else:
            seq = np.asarray(labels_to_angles, dtype=np.float64)
            if seq.ndim != 1:
                raise ValueError("labels_to_angles must be a dict {label: angle} or a 1-D sequence of angles")
            mapping = {k: float(a) for k, a in enumerate(seq)}
        values = d.tolist()
        missing = sorted({v for v in values if v not in mapping}, key=repr)
        if missing:
            raise ValueError(
                f"directions contain label(s) {missing[:5]} that labels_to_angles does not map to an angle"
            )
        try:
            angles = np.array([mapping[v] for v in values], dtype=np.float64) * scale
        except (TypeError, ValueError):
            raise ValueError("labels_to_angles must map every label to a real angle") from None
        _warn_if_degrees(angles, degrees, "the angles of labels_to_angles")
    elif d.dtype.kind == "f":
        angles = d.astype(np.float64) * scale
        if not _warn_if_degrees(angles, degrees, "directions") and not degrees and np.isfinite(d).all():
            values = np.unique(d)
            if values.size >= 3 and np.array_equal(values, np.round(values)):
                # whole numbers of radians are rare angles; class labels loaded as floats (loadmat,
                # a pandas column with NaN) are common
                warnings.warn(
                    f"directions are whole numbers ({', '.join(f'{v:g}' for v in values[:8])}"
                    f"{', ...' if values.size > 8 else ''}) of dtype {d.dtype}: float directions are angles "
                    "in radians. If they are class labels, pass them as integers (directions.astype(int)) "
                    "or with labels_to_angles",
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
    elif d.dtype.kind in "iu":
        if degrees:
            angles = d.astype(np.float64) * scale
        else:
            labels = np.unique(d)
            k = labels.size
            if not np.array_equal(labels, np.arange(k)):
                shown = labels[:8].tolist()
                raise ValueError(
                    f"integer directions are read as class labels 0, ..., K-1 with label k at angle "
                    f"2 pi k / K, but the labels are {shown}{'...' if k > 8 else ''}; pass "
                    "labels_to_angles={label: angle in radians}, float angles, or degrees=True for "
                    "integer angles in degrees"
                )
            angles = 2.0 * np.pi * d.astype(np.float64) / k
    else:
        raise ValueError(
            f"directions of dtype {d.dtype} are read as class labels and need labels_to_angles "
            "(a dict {label: angle}); numeric angles must be a float array"
        )
    if not np.all(np.isfinite(angles)):
        bad = int(np.flatnonzero(~np.isfinite(angles))[0])
        raise ValueError(f"directions contain a non-finite angle at trial {bad}")
    return np.ascontiguousarray(angles)


# Angles closer than this (radians, on the circle) are the same direction: reducing e.g. -120 and
# 240 degrees to [0, 2 pi) gives values 1 ulp apart, which must not count as two directions.
_ANGLE_TOL = 1e-9


def _reduce_angles(angles) -> np.ndarray:
    """Angles reduced to ``[0, 2 pi)`` with equal directions made bit-identical.

    Reduced angles that lie within ``_ANGLE_TOL`` (1e-9 rad) of each other (sorted, chaining) are
    one direction and all take the smallest value of their group; values within ``_ANGLE_TOL`` below
    ``2 pi`` are the direction 0.
    """
    a = np.mod(np.asarray(angles, dtype=np.float64), 2.0 * np.pi)
    a[a >= 2.0 * np.pi - _ANGLE_TOL] = 0.0
    if a.size < 2:
        return a
    order = np.argsort(a, kind="stable")
    s = a[order]
    start = np.concatenate([[True], np.diff(s) > _ANGLE_TOL])
    rep = s[start][np.cumsum(start) - 1]  # the first (smallest) value of each group
    out = np.empty_like(a)
    out[order] = rep
    return out


def _prepare(activity, directions, window, dt, units, degrees, labels_to_angles, min_directions):
    rates = _activity_to_rates(activity, window, dt, units)
    largest = float(np.abs(rates).max(initial=0.0))
    if largest > _MAX_RATE:  # sums of squares would overflow float64: NaN fits, every neuron "untuned"
        raise ValueError(
            f"activity reaches {largest:.3g}: the fit's sums of squares would overflow float64 (values up to "
            f"{_MAX_RATE:g} are fitted); rescale it, e.g. divide by {10.0 ** np.floor(np.log10(largest)):g} (preferred "
            "directions, R^2 and p-values do not depend on the scale)"
        )
    peaks = np.abs(rates).max(axis=0, initial=0.0)
    tiny = np.flatnonzero((peaks > 0) & (peaks < _MIN_RATE))
    if tiny.size:  # squares underflow to 0: NaN R^2 and p-values beside a preferred direction
        raise ValueError(
            f"activity of {tiny.size} neuron(s) (the first: index {tiny[0]}) reaches only {peaks[tiny[0]]:.3g}: the fit's "
            f"sums of squares would underflow float64 (neurons whose largest value is below {_MIN_RATE:g} cannot be "
            f"fitted); rescale those neurons' activity (each neuron is fitted on its own), e.g. multiply their columns "
            f"by {10.0 ** -np.floor(np.log10(peaks[tiny].min())):g}, or leave them out (preferred directions, R^2 and "
            "p-values do not depend on a neuron's scale)"
        )
    angles = _reduce_angles(_directions_to_angles(directions, rates.shape[0], degrees, labels_to_angles))
    distinct = np.unique(angles)
    n_dir = distinct.size
    if n_dir < min_directions:
        raise ValueError(
            f"directions contain {n_dir} distinct direction(s); the model needs at least {min_directions} "
            f"distinct directions (and at least {min_directions} trials)"
        )
    span = _arc_span(distinct)
    if span < np.pi / 2:
        hint = (" With degrees=True, integer directions are angles in degrees, not class labels 0, ..., K-1;"
                " pass degrees=False for labels." if degrees and np.asarray(directions).dtype.kind in "iu" else "")
        warnings.warn(
            f"the {n_dir} directions span only {np.degrees(span):.3g} degrees of the circle: a tuning curve "
            f"fitted over so small an arc is poorly determined.{hint}",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return rates, angles


def _arc_span(distinct) -> float:
    """Length in radians of the shortest arc that holds every angle of ``distinct`` (sorted, in
    ``[0, 2 pi)``): the circle minus its largest gap between neighbouring directions."""
    gaps = np.diff(np.concatenate([distinct, distinct[:1] + 2.0 * np.pi]))
    return float(2.0 * np.pi - gaps.max())


def _as_angles(angles, degrees) -> np.ndarray:
    degrees = check_bool(degrees, "degrees")
    a = np.asarray(angles, dtype=np.float64)
    if a.ndim > 1:
        raise ValueError(f"angles must be a scalar or 1-D, got shape {a.shape}")
    a = np.atleast_1d(a)
    return a * (np.pi / 180.0) if degrees else a


def _pandas():
    """pandas, an optional dependency, or an ImportError saying how to install it."""
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            f"to_dataframe() needs pandas, an optional dependency; install it with: {install_hint('pandas', 'pandas')}"
        ) from exc
    return pandas


def _dataframe(columns: Dict[str, np.ndarray]):
    pd = _pandas()
    df = pd.DataFrame(columns)
    df.index.name = "neuron"
    return df


# ---------------------------------------------------------------------------------------------
# Result objects
# ---------------------------------------------------------------------------------------------
@dataclass(repr=False)
class CosineTuning:
    """Cosine tuning ``f(theta) = baseline + b1 cos(theta) + b2 sin(theta)`` of ``n`` neurons.

    Every array has one entry (row) per neuron. Angles are in radians.

    Attributes
    ----------
    preferred_direction : ndarray of shape (n,)
        ``atan2(b2, b1)`` in ``[0, 2 pi)``; NaN for a neuron whose activity is constant (e.g. silent).
    modulation_depth : ndarray of shape (n,)
        ``hypot(b1, b2)``: half the peak-to-trough range of the fitted curve, in the units of the
        activity.
    baseline : ndarray of shape (n,)
        ``b0``, the mean of the fitted curve over the circle.
    b1, b2 : ndarray of shape (n,)
        Coefficients of ``cos(theta)`` and ``sin(theta)``.
    r2 : ndarray of shape (n,)
        Trial-level coefficient of determination ``1 - SSE / SST`` (what a least-squares fit on the
        trials reports; low for noisy spike counts even for well-tuned neurons). NaN if constant.
    r2_mean : ndarray of shape (n,)
        R^2 of the same curve against the mean rate per direction (trials grouped by identical angle,
        weighted by their number): the classical goodness of fit of a tuning curve. Equals ``r2``
        when every trial has its own angle. With 4 directions (1 residual degree of freedom) it is
        close to 1 for most neurons and a weak criterion.
    f_statistic, p_value : ndarray of shape (n,)
        F-test of ``b1 = b2 = 0``: ``F = (SSR/2) / (SSE/(n_trials-3))``, p from the F distribution
        with 2 and ``n_trials - 3`` degrees of freedom. NaN when ``n_trials <= 3`` or the activity
        is constant; ``p`` is 0 (or, with rounding errors, tiny: 1e-267, say) for a perfect fit.
        The test assumes Gaussian noise. For untuned neurons its false-positive rate is ``alpha``
        for Gaussian rates and for counts of a few spikes per trial. For sparse counts it is
        lower, so the test loses power: at ``alpha = 0.05``, 0.011 at 0.1 spikes per trial with 4
        directions x 5 trials and 0.029 at 0.2 spikes with 8 x 2, against 0.044-0.056 otherwise
        (``benchmarks/tuning_calibration.py``). With few trials, whole-number counts can also fit
        exactly by chance (a warning says so): use the permutation test there (``n_perm``).
    pd_ci : ndarray of shape (n, 2) or None
        Bootstrap confidence interval ``[lower, upper]`` of the preferred direction (``n_boot > 0``):
        ``pd + `` the percentiles of the resampled preferred directions' deviations from ``pd``,
        wrapped to ``(-pi, pi]``. So ``lower <= pd <= upper`` (typically), ``lower`` may be negative
        and ``upper`` above ``2 pi`` (the interval runs counter-clockwise from ``lower``), and
        ``upper - lower`` (see :attr:`pd_ci_width`) is at most ``2 pi``. An untuned neuron's
        resampled directions spread around the circle, so its interval is wide, but not always:
        the resampled directions of noise can cluster, so a narrow interval alone does not show
        tuning (use :attr:`is_tuned`). Coverage is close to ``ci`` when the depth is several times
        its standard error and there are many trials, and lower for weakly tuned neurons, the more
        so among those selected by :attr:`is_tuned`. With few trials the percentile interval is
        too narrow even for well-tuned neurons, since it ignores the 3 fitted parameters: at a
        depth of 8 standard errors, a 95 % interval covered the truth for 0.90 of neurons with 8
        trials, 0.91 with 16, 0.94 with 32 and 0.94 with 200 (``benchmarks/tuning_calibration.py``).
        Resamples in which the neuron's activity is constant (a sparse unit's resample that drew
        none of its spikes) have no preferred direction and are left out of its interval (NaN if
        none is left); they count in ``depth_ci``, with depth 0.
    depth_ci : ndarray of shape (n, 2) or None
        Percentile bootstrap interval of the modulation depth. The depth is biased upwards by noise
        (it is a norm), and so is this interval for weakly tuned neurons.
    perm_p_value : ndarray of shape (n,) or None
        Permutation test (``n_perm > 0``): directions shuffled across trials,
        ``(1 + #{R^2_perm >= R^2}) / (1 + n_perm)``.
    is_tuned : ndarray of shape (n,), bool
        The tuning criterion: ``p <= alpha`` where ``p`` is ``perm_p_value`` if permutations were run
        and ``p_value`` (F-test) otherwise, and, if ``r2_threshold`` is set,
        ``r2_mean >= r2_threshold``. NaN never counts as tuned. Recompute with :meth:`tuned`.
    aic, bic, sse : ndarray of shape (n,)
        Gaussian-error information criteria (4 parameters: 3 coefficients and the noise variance)
        and the residual sum of squares, for :func:`compare_tuning_models`.
    n_trials : int
    n_boot, n_boot_valid, ci, n_perm : int, int, float, int
        Bootstrap resamples requested and used (resamples with fewer than 3 distinct directions are
        skipped), confidence level, permutations.
    alpha : float
    r2_threshold : float or None
    units : str
        ``"hz"``, ``"counts"`` (3-D activity) or ``"as given"`` (2-D activity).
    settings : dict
        How the data became the fit's rates and angles: ``window``, ``dt``, ``units``,
        ``degrees`` and ``labels_to_angles`` as passed to the fit, so that
        ``tuning_curves(activity, directions, **result.settings)`` (and
        :func:`motorsrnn.plotting.polar_tuning`) treat the data the same way. Integer class
        labels read as ``2 pi k / K`` are recorded as the angles of the fit's ``K`` labels
        (``labels_to_angles``), so that a subset of the trials lacking a label is drawn at the
        same angles. For binned data
        (:func:`motorsrnn.io.bin_spike_times`) ``dt`` is its bin width and ``window`` its bins
        (a :class:`BinWindow`), so they apply to the binned data and to its ``X`` alike.
    population : str or None
        For :func:`network_tuning` and :class:`TuningSnapshots` results, the network's population
        the units belong to (None: all units, or recorded neurons), so that
        :func:`motorsrnn.plotting.polar_tuning` takes that population's spikes from a
        ``simulate()`` result.
    """

    preferred_direction: np.ndarray
    modulation_depth: np.ndarray
    baseline: np.ndarray
    b1: np.ndarray
    b2: np.ndarray
    r2: np.ndarray
    r2_mean: np.ndarray
    f_statistic: np.ndarray
    p_value: np.ndarray
    pd_ci: Optional[np.ndarray]
    depth_ci: Optional[np.ndarray]
    perm_p_value: Optional[np.ndarray]
    is_tuned: np.ndarray
    aic: np.ndarray
    bic: np.ndarray
    sse: np.ndarray
    n_trials: int
    n_boot: int = 0
    n_boot_valid: int = 0
    ci: float = 0.95
    n_perm: int = 0
    alpha: float = 0.05
    r2_threshold: Optional[float] = None
    units: str = "hz"
    settings: Dict = field(default_factory=dict)
    population: Optional[str] = None

    @property
    def n_neurons(self) -> int:
        """Number of neurons."""
        return int(self.preferred_direction.shape[0])

    @property
    def pd_ci_width(self) -> Optional[np.ndarray]:
        """Width ``upper - lower`` of the preferred-direction interval in radians (None without bootstrap)."""
        return None if self.pd_ci is None else self.pd_ci[:, 1] - self.pd_ci[:, 0]

    @property
    def fraction_tuned(self) -> float:
        """Fraction of neurons with ``is_tuned``, over all neurons (silent ones count as untuned;
        see :attr:`fraction_tuned_active`)."""
        return float(np.mean(self.is_tuned)) if self.n_neurons else float("nan")

    @property
    def relative_depth(self) -> np.ndarray:
        """``modulation_depth / baseline``: the depth as a share of the mean rate, comparable
        between neurons (or networks) that fire at different rates; NaN where the baseline is not
        positive, or is rounding beside the depth (at most ``1e-12`` of it, as for mean-centred
        rates, whose fitted baseline is 0 up to rounding of either sign). 1 means the fitted
        curve falls to zero at the anti-preferred direction."""
        positive = self.baseline > CONSTANT_RTOL * self.modulation_depth
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(positive & (self.baseline > 0), self.modulation_depth / self.baseline, np.nan)

    @property
    def is_constant(self) -> np.ndarray:
        """Neurons whose activity is the same in every trial (a silent unit, say): no tuning to
        test, NaN preferred direction and ``r2``. Activity whose spread is at most ``1e-12`` of
        its magnitude counts as the same: such differences are rounding, not tuning."""
        return np.isnan(self.r2)

    @property
    def fraction_tuned_active(self) -> float:
        """Fraction of neurons with ``is_tuned`` among those whose activity varies (not
        :attr:`is_constant`): units silent in a session or silenced by training left out, so
        that recordings and networks with different numbers of silent units compare. Units that
        fire the same count in every trial (a saturated network unit, say) are left out too,
        where ``TuningSnapshots.fraction_tuned(active_only=True)`` leaves out only units that
        never spike. NaN when every neuron is constant."""
        varies = ~self.is_constant
        return float(np.mean(self.is_tuned[varies])) if varies.any() else float("nan")

    def tuned(self, alpha: Optional[float] = None, r2_threshold: Optional[float] = None) -> np.ndarray:
        """The tuning criterion with other thresholds (the fit is not repeated).

        Parameters
        ----------
        alpha : float or None
            Significance level; None uses the fit's :attr:`alpha`.
        r2_threshold : float or None
            Minimum ``r2_mean``; None uses the fit's :attr:`r2_threshold` (itself None, no R^2
            criterion, unless one was given), so ``tuned()`` reproduces :attr:`is_tuned`. 0 removes
            the criterion (``r2_mean`` is never negative; NaN is never tuned).

        Returns
        -------
        ndarray of shape (n,), bool
        """
        alpha = self.alpha if alpha is None else check_number(alpha, "alpha", low=0.0, high=1.0)
        if r2_threshold is None:
            r2_threshold = self.r2_threshold
        p = self.perm_p_value if self.perm_p_value is not None else self.p_value
        if self.perm_p_value is not None and 1.0 / (1 + self.n_perm) > alpha:
            warnings.warn(
                f"with n_perm={self.n_perm} permutations the smallest permutation p-value is "
                f"1 / (1 + n_perm) = {1.0 / (1 + self.n_perm):.3g}, above alpha={alpha:g}: no unit can be "
                f"tuned; use n_perm >= {int(np.ceil(1.0 / alpha)) - 1}" if alpha > 0 else
                "alpha=0: no unit can be tuned with a permutation test",
                UserWarning,
                stacklevel=2,
            )
        with np.errstate(invalid="ignore"):
            # <=: the permutation p-value (1 + hits) / (1 + n_perm) is valid with P(p <= alpha) <= alpha;
            # with < the test would be needlessly conservative (and with n_perm = 19 never reject)
            mask = np.asarray(p <= alpha) & (alpha > 0)  # alpha = 0 never rejects, not even p = 0
            if r2_threshold is not None:
                mask &= self.r2_mean >= check_number(r2_threshold, "r2_threshold", high=1.0)
        return mask

    def predict(self, angles, degrees: bool = False) -> np.ndarray:
        """Fitted tuning curves at ``angles``.

        Parameters
        ----------
        angles : float or array-like of shape (m,)
            Directions, in radians (degrees with ``degrees=True``).
        degrees : bool, default=False

        Returns
        -------
        ndarray of shape (m, n)
            ``baseline + b1 cos(theta) + b2 sin(theta)`` for each angle (row) and neuron (column).
        """
        a = _as_angles(angles, degrees)[:, None]
        return self.baseline + self.b1 * np.cos(a) + self.b2 * np.sin(a)

    def to_dataframe(self, degrees: bool = False):
        """One row per neuron (needs pandas, the ``pandas`` extra).

        Parameters
        ----------
        degrees : bool, default=False
            Report the preferred direction and its interval in degrees.

        Returns
        -------
        pandas.DataFrame
            Columns ``preferred_direction``, ``modulation_depth``, ``relative_depth``,
            ``baseline``, ``b1``, ``b2``,
            ``r2``, ``r2_mean``, ``f_statistic``, ``p_value``, ``pd_ci_low``/``pd_ci_high`` and
            ``depth_ci_low``/``depth_ci_high`` (bootstrap), ``perm_p_value`` (permutations),
            ``is_tuned``; index ``neuron``.

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        k = 180.0 / np.pi if check_bool(degrees, "degrees") else 1.0
        cols = {
            "preferred_direction": self.preferred_direction * k,
            "modulation_depth": self.modulation_depth,
            "relative_depth": self.relative_depth,
            "baseline": self.baseline,
            "b1": self.b1,
            "b2": self.b2,
            "r2": self.r2,
            "r2_mean": self.r2_mean,
            "f_statistic": self.f_statistic,
            "p_value": self.p_value,
        }
        if self.pd_ci is not None and self.depth_ci is not None:  # both come from the bootstrap
            cols.update(
                pd_ci_low=self.pd_ci[:, 0] * k,
                pd_ci_high=self.pd_ci[:, 1] * k,
                depth_ci_low=self.depth_ci[:, 0],
                depth_ci_high=self.depth_ci[:, 1],
            )
        if self.perm_p_value is not None:
            cols["perm_p_value"] = self.perm_p_value
        cols["is_tuned"] = self.is_tuned
        return _dataframe(cols)

    def __repr__(self) -> str:
        test = f"permutation p <= {self.alpha:g}" if self.perm_p_value is not None else f"F-test p <= {self.alpha:g}"
        if self.r2_threshold is not None:
            test += f" and r2_mean >= {self.r2_threshold:g}"
        extra = f", n_boot={self.n_boot}" if self.n_boot else ""
        extra += f", n_perm={self.n_perm}" if self.n_perm else ""
        return (
            f"CosineTuning(n_neurons={self.n_neurons}, n_trials={self.n_trials}, "
            f"tuned={int(np.sum(self.is_tuned))} ({test}){extra})"
        )


def _von_mises_shape(x, kappa):
    """``(exp(kappa (cos x - 1)) - 1) / kappa``, ``cos x - 1`` at ``kappa = 0``."""
    c1 = np.cos(x) - 1.0
    u = kappa * c1
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(u == 0.0, 1.0, np.expm1(u) / np.where(u == 0.0, 1.0, u))
    return c1 * phi


@dataclass(repr=False)
class VonMisesTuning:
    """Von Mises tuning ``f(theta) = peak + gain (exp(kappa (cos(theta - mu) - 1)) - 1) / kappa``.

    The usual ``b + a exp(kappa (cos(theta - mu) - 1))`` with ``a = gain / kappa`` and
    ``b = peak - a``, written so that ``kappa = 0`` is exactly the cosine model
    ``peak + gain (cos(theta - mu) - 1)``; larger ``kappa`` is a narrower peak. Bounds:
    ``kappa`` in ``[0, kappa_max]``, ``gain >= 0``. Angles in radians.

    Attributes
    ----------
    preferred_direction : ndarray of shape (n,)
        ``mu`` in ``[0, 2 pi)`` (NaN when ``gain = 0`` or the activity is constant).
    kappa : ndarray of shape (n,)
        Concentration (0 = cosine shape).
    peak_rate, trough_rate : ndarray of shape (n,)
        The fitted curve at ``mu`` and at ``mu + pi``.
    amplitude : ndarray of shape (n,)
        ``peak_rate - trough_rate``.
    width : ndarray of shape (n,)
        Full width of the peak at half ``amplitude`` above the trough, in radians: ``pi`` for
        ``kappa = 0`` (a cosine), smaller for sharper tuning.
    gain : ndarray of shape (n,)
    r2, sse, aic, bic : ndarray of shape (n,)
        Trial-level R^2, residual sum of squares and Gaussian-error AIC/BIC (5 parameters: 4 and the
        noise variance).
    converged : ndarray of shape (n,), bool
        False when ``max_iter`` Levenberg-Marquardt iterations were not enough.
    n_iter : ndarray of shape (n,)
    n_trials : int
    units : str
    settings : dict
        ``window``, ``dt``, ``units``, ``degrees`` and ``labels_to_angles`` of the fit, as for
        :class:`CosineTuning`.
    population : str or None
        As for :class:`CosineTuning`.
    """

    preferred_direction: np.ndarray
    kappa: np.ndarray
    peak_rate: np.ndarray
    trough_rate: np.ndarray
    amplitude: np.ndarray
    width: np.ndarray
    gain: np.ndarray
    r2: np.ndarray
    sse: np.ndarray
    aic: np.ndarray
    bic: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    n_trials: int
    units: str = "hz"
    settings: Dict = field(default_factory=dict)
    population: Optional[str] = None

    @property
    def n_neurons(self) -> int:
        """Number of neurons."""
        return int(self.kappa.shape[0])

    def predict(self, angles, degrees: bool = False) -> np.ndarray:
        """Fitted tuning curves at ``angles``.

        Parameters
        ----------
        angles : float or array-like of shape (m,)
            Directions, in radians (degrees with ``degrees=True``).
        degrees : bool, default=False

        Returns
        -------
        ndarray of shape (m, n)
        """
        a = _as_angles(angles, degrees)[:, None]
        shape = _von_mises_shape(a - np.nan_to_num(self.preferred_direction), self.kappa)
        return self.peak_rate + np.where(self.gain == 0.0, 0.0, self.gain * shape)

    def to_dataframe(self, degrees: bool = False):
        """One row per neuron (needs pandas, the ``pandas`` extra).

        Parameters
        ----------
        degrees : bool, default=False
            Report the preferred direction and the width in degrees.

        Returns
        -------
        pandas.DataFrame
        """
        k = 180.0 / np.pi if check_bool(degrees, "degrees") else 1.0
        return _dataframe(
            {
                "preferred_direction": self.preferred_direction * k,
                "kappa": self.kappa,
                "peak_rate": self.peak_rate,
                "trough_rate": self.trough_rate,
                "amplitude": self.amplitude,
                "width": self.width * k,
                "r2": self.r2,
                "aic": self.aic,
                "bic": self.bic,
                "converged": self.converged,
            }
        )

    def __repr__(self) -> str:
        return (
            f"VonMisesTuning(n_neurons={self.n_neurons}, n_trials={self.n_trials}, "
            f"median kappa={np.nanmedian(self.kappa) if self.n_neurons else float('nan'):.3g}, "
            f"converged={int(np.sum(self.converged))}/{self.n_neurons})"
        )


@dataclass(repr=False)
class TuningModelComparison:
    """Cosine versus von Mises tuning per neuron.

    Attributes
    ----------
    cosine : CosineTuning
    von_mises : VonMisesTuning
    criterion : str
        ``"aic"`` or ``"bic"``.
    delta : ndarray of shape (n,)
        ``criterion(von Mises) - criterion(cosine)``: negative favours von Mises.
    best : ndarray of shape (n,), str
        ``"von_mises"`` where ``delta < 0``, ``"cosine"`` otherwise (also for ties: SSEs within
        ``1e-9`` times the total sum of squares, see :func:`compare_tuning_models`), and
        ``"constant"`` for a neuron whose activity is the same in every trial (a silent one,
        say), which neither model describes.
    """

    cosine: CosineTuning
    von_mises: VonMisesTuning
    criterion: str
    delta: np.ndarray
    best: np.ndarray

    def to_dataframe(self):
        """One row per neuron: both models' AIC/BIC, ``delta``, ``best`` (needs pandas)."""
        return _dataframe(
            {
                "aic_cosine": self.cosine.aic,
                "aic_von_mises": self.von_mises.aic,
                "bic_cosine": self.cosine.bic,
                "bic_von_mises": self.von_mises.bic,
                "delta": self.delta,
                "kappa": self.von_mises.kappa,
                "best": self.best,
            }
        )

    def __repr__(self) -> str:
        n_vm, n_cos = int(np.sum(self.best == "von_mises")), int(np.sum(self.best == "cosine"))
        return (
            f"TuningModelComparison(n_neurons={self.best.shape[0]}, criterion={self.criterion!r}, "
            f"von_mises={n_vm}, cosine={n_cos}, constant={self.best.shape[0] - n_vm - n_cos})"
        )


@dataclass(repr=False)
class TuningCurves:
    """Empirical tuning curves: the mean activity per direction.

    Attributes
    ----------
    angles : ndarray of shape (k,)
        The distinct directions in radians, in ``[0, 2 pi)``, increasing.
    mean, std, sem : ndarray of shape (k, n)
        Mean, standard deviation (``ddof=1``) and standard error of the mean (``std / sqrt(count)``)
        per direction (row) and neuron (column); ``std`` and ``sem`` are NaN for a direction with a
        single trial.
    count : ndarray of shape (k,)
        Trials per direction.
    units : str
    """

    angles: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    sem: np.ndarray
    count: np.ndarray
    units: str = "hz"

    def __repr__(self) -> str:
        return f"TuningCurves(n_directions={self.angles.shape[0]}, n_neurons={self.mean.shape[1]})"


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------
def fit_cosine_tuning(
    activity,
    directions,
    *,
    window=None,
    dt: Optional[float] = None,
    units: str = "hz",
    degrees: bool = False,
    labels_to_angles=None,
    n_boot: int = 0,
    ci: float = 0.95,
    n_perm: int = 0,
    alpha: float = 0.05,
    r2_threshold: Optional[float] = None,
    random_state=None,
    n_jobs: Optional[int] = None,
) -> CosineTuning:
    """Fit cosine tuning ``f(theta) = b0 + m cos(theta - pd)`` to every neuron.

    Least squares of each neuron's per-trial activity on ``[1, cos theta, sin theta]`` (a QR
    factorisation shared by all neurons), then an F-test, optional bootstrap intervals and an
    optional permutation test, in the compiled core (parallel over neurons and resamples, GIL
    released). Results do not depend on ``n_jobs``.

    Parameters
    ----------
    activity : array-like of shape (n_trials, n_neurons) or (n_trials, n_timesteps, n_neurons), or binned data
        Per-trial counts or rates (any finite values up to 1e150; a neuron that is not silent
        must reach 1e-150; used as given), or spike counts per time bin
        (non-negative), summed over ``window``; or the result of :func:`motorsrnn.io.bin_spike_times`
        (``from_nwb``, ``from_neo``, ``from_pynapple``), whose ``X`` is used with its bin width and
        time axis. See the module docs.
    directions : array-like of shape (n_trials,)
        Float angles (radians, or degrees with ``degrees=True``) or class labels (integers ``0..K-1``
        map to ``2 pi k / K``; anything else needs ``labels_to_angles``). At least 3 distinct
        directions are needed.
    window : (int, int), (float, float) or None, default=None
        Where to count the spikes of 3-D ``activity``; None: all bins. For an array, time bins
        ``[start, stop)`` (indices along its axis 1, whatever its bin width). For binned data,
        times relative to the event in its ``units`` (milliseconds by default), like the
        ``window`` of :func:`motorsrnn.io.bin_spike_times`: ``(0, 200)`` is the first 200 ms
        after the event; both ends must be bin edges. A :class:`BinWindow` (what a result's
        ``settings`` hold for binned data) is in bins for both.
    dt : float or None, default=None
        Bin width in ms (3-D activity with ``units="hz"``). None: the bin width of binned data, or
        1 ms for an array; spike counts that give a mean rate above 100 Hz at that default and
        hold bins of two spikes or more warn (the bins are likely wider). For binned data a ``dt`` other than its bin width is
        refused.
    units : {"hz", "counts"}, default="hz"
        For 3-D activity: spikes/s (``count / (n_bins * dt / 1000)``) or spikes per trial.
        Ignored for 2-D activity.
    degrees : bool, default=False
        Angles in ``directions`` (or ``labels_to_angles``) are in degrees. Results are in radians.
    labels_to_angles : dict or sequence or None, default=None
        ``{label: angle}``, or a sequence whose entry ``k`` is the angle of label ``k``.
    n_boot : int, default=0
        Bootstrap resamples of the trials (with replacement) for ``pd_ci`` and ``depth_ci``; 0
        skips the bootstrap. 1000 is a good choice for 95% intervals.
    ci : float, default=0.95
        Confidence level of the bootstrap intervals, in (0, 1).
    n_perm : int, default=0
        Permutations of the directions across trials for ``perm_p_value``; 0 skips the test.
    alpha : float, default=0.05
        Significance level of the tuning criterion (see ``is_tuned``).
    r2_threshold : float or None, default=None
        If set, tuned neurons must also have ``r2_mean >= r2_threshold`` (0.7 is a common choice with
        8 or more directions).
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the bootstrap and permutations (the same int always gives the same intervals).
    n_jobs : int or None, default=None
        Threads; -1 uses every core available, None too but no more than ``OMP_NUM_THREADS`` when
        that is set (as for the estimators).

    Returns
    -------
    CosineTuning
        Per-neuron arrays; ``is_tuned`` is ``p <= alpha`` (the permutation p-value when ``n_perm > 0``,
        the F-test's otherwise) and ``r2_mean >= r2_threshold`` when a threshold is given.

    Raises
    ------
    ValueError
        Mismatched numbers of trials, NaN or infinite values, negative spike counts, fewer than 3
        distinct directions or trials, unknown labels, bad options. A neuron with constant activity
        is not an error: its preferred direction, R^2 and p-values are NaN and it is not tuned.

    Warns
    -----
    UserWarning
        With 4 trials (one residual degree of freedom), where whole-number counts often fit
        exactly and the F-test flags untuned neurons more often than ``alpha``; with 5 to 16
        trials and no permutation test, when a neuron fits exactly (untuned counts such as 2, 2,
        1, 1, 0, 0, 1, 1 over 4 directions x 2 trials do, 0.5 % of them at 0.5 spikes per
        trial: ``benchmarks/tuning_calibration.py``); and the warnings of the data's checks
        (degrees given as radians, counts in wide bins at the default ``dt``).

    Notes
    -----
    Accuracy: on ``make_center_out(n_trials=800)`` (96 neurons, 4 or 8 directions, 50 ms windows,
    Poisson spikes, depths 2-8 Hz) the median absolute error of the preferred direction of the
    truly tuned neurons is below 10 degrees (5.3-8.4 degrees over seeds 0-9); tested in
    ``tests/test_tuning.py``. The error scales roughly as
    ``noise / (depth sqrt(n_trials))``. The 95% bootstrap interval of the preferred direction
    covered the truth for 91-94% of simulated neurons with 200 trials. Percentile intervals are
    liberal for weakly tuned neurons (depth within a few standard errors of 0) and for neurons
    selected because they passed the tuning test.

    Examples
    --------
    >>> from motorsrnn.datasets import make_center_out
    >>> from motorsrnn.tuning import fit_cosine_tuning
    >>> data = make_center_out(n_trials=400, n_directions=8, random_state=0)
    >>> res = fit_cosine_tuning(data.X, data.angles, n_boot=200, random_state=0)
    >>> res.preferred_direction.shape, res.pd_ci.shape
    ((96,), (96, 2))
    """
    n_boot = check_number(n_boot, "n_boot", low=0, high=2**63 - 1, integer=True)
    n_perm = check_number(n_perm, "n_perm", low=0, high=2**63 - 1, integer=True)
    ci = check_number(ci, "ci", low=0.0, high=1.0, strict_low=True, strict_high=True)
    alpha = check_number(alpha, "alpha", low=0.0, high=1.0)
    if r2_threshold is not None:
        r2_threshold = check_number(r2_threshold, "r2_threshold", high=1.0)
    rates, angles = _prepare(activity, directions, window, dt, units, degrees, labels_to_angles, 3)
    if rates.shape[0] - 3 < 2:
        warnings.warn(
            f"{rates.shape[0]} trials leave the cosine fit (3 parameters) {rates.shape[0] - 3} residual degree of "
            "freedom: whole-number counts often fit exactly (p_value about 0), so is_tuned flags untuned neurons more "
            "often than alpha; use at least 5 trials (e.g. two per direction)",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    seed = _seed(random_state) if (n_boot or n_perm) else 0
    # the core keeps every resample's deviation and depth per neuron (16 bytes), and an index per
    # 16 resamples or permutations, and with n_boot > 0 each unit's trials away from its most
    # frequent value (up to 4 bytes per trial and unit); a failed allocation there would end the process
    check_memory(n_boot * (16 * rates.shape[1] + 1) + (n_boot + n_perm) // 2 + (4 * rates.size if n_boot else 0),
                 f"n_boot={n_boot} bootstrap resamples of {rates.shape[1]} units and n_perm={n_perm} permutations",
                 "lower n_boot and n_perm")
    out = _core.tuning_fit_cosine(rates, angles, n_boot, ci, n_perm, seed, _n_threads(n_jobs))
    res = CosineTuning(
        preferred_direction=out["preferred_direction"],
        modulation_depth=out["modulation_depth"],
        baseline=out["baseline"],
        b1=out["b1"],
        b2=out["b2"],
        r2=out["r2"],
        r2_mean=out["r2_mean"],
        f_statistic=out["f_statistic"],
        p_value=out["p_value"],
        pd_ci=out["pd_ci"],
        depth_ci=out["depth_ci"],
        perm_p_value=out["perm_p_value"],
        is_tuned=np.zeros(rates.shape[1], dtype=bool),
        aic=out["aic"],
        bic=out["bic"],
        sse=out["sse"],
        n_trials=int(out["n_trials"]),
        n_boot=n_boot,
        n_boot_valid=int(out["n_boot_valid"]),
        ci=ci,
        n_perm=n_perm,
        alpha=alpha,
        r2_threshold=r2_threshold,
        units=_units_label(activity, units),
        settings=_settings(activity, directions, window, dt, units, degrees, labels_to_angles),
    )
    res.is_tuned = res.tuned(alpha, r2_threshold)
    _warn_if_exact_fits(res)
    return res


# trials up to which an untuned neuron's whole-number counts fit a cosine exactly often enough to
# matter (0.5 % of neurons at 4 directions x 2 trials: benchmarks/tuning_calibration.py)
_EXACT_FIT_TRIALS = 16


def _warn_if_exact_fits(res) -> None:
    """Warn when, with few trials (5 to ``_EXACT_FIT_TRIALS``; 4 have their own warning) and no
    permutation test, some neuron's cosine fit is exact (``R^2 = 1``, ``p_value`` 0)."""
    if not 4 < res.n_trials <= _EXACT_FIT_TRIALS or res.n_perm:
        return
    exact = ~res.is_constant & (np.nan_to_num(res.r2, nan=0.0) >= 1.0 - 1e-9)
    if exact.any():
        warnings.warn(
            f"{int(exact.sum())} neuron(s) fit a cosine exactly (R^2 = 1, p_value about 0) with {res.n_trials} trials, "
            f"e.g. neuron {int(np.argmax(exact))}: with so few trials, untuned whole-number counts can fit exactly "
            "(counts 2, 2, 1, 1, 0, 0, 1, 1 over 4 directions x 2 trials), and such a p-value survives any correction "
            "for multiple comparisons. A permutation test (n_perm=999) gives them p-values that can be trusted.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def _units_label(activity, units) -> str:
    parts = _binned_parts(activity)
    if parts is not None:
        activity = parts[0]
    ndim = getattr(activity, "ndim", None)
    if ndim is None:
        ndim = np.asarray(activity).ndim
    return units if ndim == 3 else "as given"


def fit_von_mises_tuning(
    activity,
    directions,
    *,
    window=None,
    dt: Optional[float] = None,
    units: str = "hz",
    degrees: bool = False,
    labels_to_angles=None,
    max_iter: int = 200,
    kappa_max: float = 100.0,
    n_jobs: Optional[int] = None,
) -> VonMisesTuning:
    """Fit a von Mises tuning curve to every neuron (for peaks sharper than a cosine).

    Model ``f(theta) = peak + gain (exp(kappa (cos(theta - mu) - 1)) - 1) / kappa`` with
    ``kappa >= 0`` and ``gain >= 0`` (``kappa = 0`` is the cosine model; see
    :class:`VonMisesTuning`), by least squares: Levenberg-Marquardt from the best of a small grid
    of starts (including the cosine fit), in the compiled core, parallel over neurons.

    Parameters
    ----------
    activity, directions, window, dt, units, degrees, labels_to_angles
        As in :func:`fit_cosine_tuning`. At least 4 distinct directions are needed (4 parameters);
        with 4 the fit is exact on the direction means (``kappa`` is then poorly determined and
        ``converged`` is often False), so 8 or more are recommended.
    max_iter : int, default=200
        Levenberg-Marquardt iterations per neuron.
    kappa_max : float, default=100.0
        Upper bound of ``kappa`` (a full width at half height of about 13.5 degrees; beyond it,
        with directions 45 degrees apart, a peak cannot be resolved).
    n_jobs : int or None, default=None

    Returns
    -------
    VonMisesTuning

    Raises
    ------
    ValueError
        As :func:`fit_cosine_tuning`, and for fewer than 4 distinct directions.
    """
    # below 2**31: the core's iteration counter (beyond it, no fit would finish)
    max_iter = check_number(max_iter, "max_iter", low=1, high=2**31 - 1, integer=True)
    kappa_max = check_number(kappa_max, "kappa_max", low=0.0, strict_low=True)
    rates, angles = _prepare(activity, directions, window, dt, units, degrees, labels_to_angles, 4)
    out = _core.tuning_fit_von_mises(rates, angles, int(max_iter), kappa_max, 1e-10, _n_threads(n_jobs))
    kappa, gain, peak = out["kappa"], out["gain"], out["peak"]
    trough = peak + np.where(gain == 0.0, 0.0, gain * _von_mises_shape(np.pi, kappa))
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(kappa > 1e-8, kappa, 1.0)
        half = np.clip(1.0 + np.log1p(np.expm1(-2.0 * safe) / 2.0) / safe, -1.0, 1.0)
        width = np.where(kappa > 1e-8, 2.0 * np.arccos(half), np.pi)
    return VonMisesTuning(
        preferred_direction=out["preferred_direction"],
        kappa=kappa,
        peak_rate=peak,
        trough_rate=trough,
        amplitude=peak - trough,
        width=width,
        gain=gain,
        r2=out["r2"],
        sse=out["sse"],
        aic=out["aic"],
        bic=out["bic"],
        converged=out["converged"].astype(bool),
        n_iter=out["n_iter"],
        n_trials=int(out["n_trials"]),
        units=_units_label(activity, units),
        settings=_settings(activity, directions, window, dt, units, degrees, labels_to_angles),
    )


def compare_tuning_models(
    activity,
    directions,
    *,
    criterion: str = "bic",
    window=None,
    dt: Optional[float] = None,
    units: str = "hz",
    degrees: bool = False,
    labels_to_angles=None,
    max_iter: int = 200,
    kappa_max: float = 100.0,
    n_jobs: Optional[int] = None,
) -> TuningModelComparison:
    """Cosine or von Mises tuning? Compare the two fits per neuron by an information criterion.

    Both are least-squares fits to the same trials; with Gaussian errors and the maximum-likelihood
    noise variance ``SSE / n``, ``AIC = 2k + n ln(2 pi SSE / n) + n`` and
    ``BIC = k ln(n) + n ln(2 pi SSE / n) + n``, ``k = 4`` (cosine) or 5 (von Mises). Because the
    cosine model is the ``kappa = 0`` case of the von Mises model, this is a nested comparison: the
    von Mises SSE is never larger, and the criterion decides whether the extra parameter pays.

    Parameters
    ----------
    activity, directions, window, dt, units, degrees, labels_to_angles, max_iter, kappa_max, n_jobs
        As in :func:`fit_von_mises_tuning` (at least 4 distinct directions; 8 or more recommended).
    criterion : {"bic", "aic"}, default="bic"
        BIC (the default) rarely prefers von Mises for a truly cosine-tuned neuron (about 0.5% with
        800 trials); AIC does so about 8% of the time. Since ``kappa >= 0``, twice the
        log-likelihood gain of the von Mises fit is, for a cosine-tuned neuron, 0 half of the time
        and otherwise a chi-square with 1 degree of freedom, so the rates are half of
        ``P(chi2_1 > 2)`` (AIC) and of ``P(chi2_1 > ln n_trials)`` (BIC). That holds for neurons
        tuned well above noise. For untuned neurons the von Mises fit can place its peak anywhere,
        and it wins far more often. In ``benchmarks/tuning_calibration.py`` (8 directions) AIC
        picks von Mises for 0.29-0.33 of untuned neurons, against 0.09-0.11 of neurons tuned at 8
        standard errors of the depth. BIC picks it for 0.074 of untuned neurons at 96 trials and
        0.014 at 800, against 0.022 and 0.006. Compare models only among neurons that pass
        :attr:`CosineTuning.is_tuned`, preferably with BIC.

    Returns
    -------
    TuningModelComparison
        ``best`` is ``"von_mises"`` only where ``delta < 0`` *and* the von Mises fit is better than
        a tie; see Notes.

    Notes
    -----
    **Ties.** When ``SSE(cosine) - SSE(von Mises) <= 1e-9 * SST`` (``SST``: the neuron's total sum
    of squares around its mean activity), the fits are equally good up to rounding and ``best`` is
    ``"cosine"``, the simpler model, whatever the sign of ``delta``. This matters for noise-free
    activity (e.g. a network's rates): a perfect cosine gives ``kappa = 0`` and SSEs of ~1e-28,
    whose logarithms in the criterion are rounding noise. ``delta`` itself is reported as
    computed.
    """
    if criterion not in _CRITERIA:
        raise ValueError(f"criterion must be one of {_CRITERIA}, got {criterion!r}")
    common = dict(
        window=window, dt=dt, units=units, degrees=degrees, labels_to_angles=labels_to_angles, n_jobs=n_jobs
    )
    vm = fit_von_mises_tuning(activity, directions, max_iter=max_iter, kappa_max=kappa_max, **common)
    with warnings.catch_warnings():  # the same data and directions: the von Mises fit gave their warnings
        warnings.simplefilter("ignore", UserWarning)
        cos = fit_cosine_tuning(activity, directions, **common)
        rates = _activity_to_rates(activity, window, dt, units)
    delta = getattr(vm, criterion) - getattr(cos, criterion)
    sst = np.sum((rates - rates.mean(axis=0)) ** 2, axis=0)
    # equally good fits up to rounding (e.g. kappa = 0 on a noise-free cosine, SSEs ~1e-28, where
    # n ln(SSE / n) amplifies rounding noise): a tie, and the simpler cosine model wins
    tie = (cos.sse - vm.sse) <= _TIE_RTOL * sst
    with np.errstate(invalid="ignore"):
        best = np.where((delta < 0) & ~tie, "von_mises", "cosine")
    best = np.where(cos.is_constant, "constant", best)  # e.g. silent: neither curve describes it
    return TuningModelComparison(cosine=cos, von_mises=vm, criterion=criterion, delta=delta, best=best)


def tuning_curves(
    activity,
    directions,
    *,
    window=None,
    dt: Optional[float] = None,
    units: str = "hz",
    degrees: bool = False,
    labels_to_angles=None,
) -> TuningCurves:
    """Empirical tuning curves: mean, standard deviation and SEM of the activity per direction.

    Parameters
    ----------
    activity, directions, window, dt, units, degrees, labels_to_angles
        As in :func:`fit_cosine_tuning` (any number of distinct directions). Trials are grouped by
        angle after reduction to ``[0, 2 pi)``: angles within 1e-9 rad of each other on the circle
        (e.g. -120 and 240 degrees, whose reductions differ by rounding) are one direction,
        reported as the smallest reduced value of the group.

    Returns
    -------
    TuningCurves
    """
    rates = _activity_to_rates(activity, window, dt, units)
    angles = _reduce_angles(_directions_to_angles(directions, rates.shape[0], degrees, labels_to_angles))
    uniq, inverse, count = np.unique(angles, return_inverse=True, return_counts=True)
    k = uniq.size
    sums = np.zeros((k, rates.shape[1]))
    np.add.at(sums, inverse, rates)
    mean = sums / count[:, None]
    sq = np.zeros_like(sums)
    np.add.at(sq, inverse, (rates - mean[inverse]) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.where(count[:, None] > 1, np.sqrt(sq / np.maximum(count[:, None] - 1, 1)), np.nan)
    sem = std / np.sqrt(count[:, None])
    return TuningCurves(angles=uniq, mean=mean, std=std, sem=sem, count=count, units=_units_label(activity, units))


def network_tuning(
    estimator,
    X,
    directions,
    population: Optional[str] = None,
    *,
    model: str = "cosine",
    window=None,
    units: str = "hz",
    **kwargs,
):
    """Tuning of a fitted network's units: the same analysis on its simulated spikes.

    Runs ``estimator.simulate(X, membrane=False)`` (256 trials at a time, fewer for long trials
    of large networks: about 256 MiB of spikes per call; keeping only each unit's
    spike count in ``window``, so memory does not grow with the trials' spike trains), takes the
    spike counts of all hidden units (or of one population) and fits their tuning exactly as for
    recorded neurons, with the estimator's bin width ``dt``.

    Parameters
    ----------
    estimator : SpikingRNNClassifier
        A fitted estimator (anything with ``simulate`` returning ``spikes`` and ``populations``).
    X : array-like of shape (n_trials, n_timesteps, n_channels), or binned data
        Input spikes, as for ``predict``; or the result of :func:`motorsrnn.io.bin_spike_times`
        (``from_nwb``, ...) in bins of the network's ``dt``.
    directions : array-like of shape (n_trials,)
        Angles or labels, as in :func:`fit_cosine_tuning`; integer labels of a classifier whose
        ``classes_`` are ``0, ..., K-1`` are at ``2 pi k / K`` with ``K`` the classes seen in
        ``fit`` (unless ``labels_to_angles`` or ``degrees`` is given), so a subset of trials
        without some directions keeps the right angles.
    population : str or None, default=None
        Name of a population (see ``estimator.simulate(X).populations``); None: every unit, in the
        order of ``simulate(X).spikes``.
    model : {"cosine", "von_mises"}, default="cosine"
        :func:`fit_cosine_tuning` or :func:`fit_von_mises_tuning`.
    window : (int, int), (float, float) or None, default=None
        Time bins to count spikes in; for binned ``X``, times relative to its event in its units
        (as in :func:`fit_cosine_tuning`). The result's ``settings`` hold it in time bins.
    units : {"hz", "counts"}, default="hz"
    **kwargs
        Passed on (``degrees``, ``labels_to_angles``, ``n_boot``, ``n_perm``, ``alpha``,
        ``random_state``, ``n_jobs``, ...); not ``dt``, which is the estimator's.

    Returns
    -------
    CosineTuning or VonMisesTuning
        One entry per unit. Units that never spike have constant activity: NaN preferred direction,
        never tuned.
    """
    if model not in ("cosine", "von_mises"):
        raise ValueError(f"model must be 'cosine' or 'von_mises', got {model!r}")
    if not hasattr(estimator, "simulate"):
        raise TypeError(
            f"estimator must be a fitted motorsrnn estimator with simulate(), got {type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    if "dt" in kwargs:
        raise TypeError(f"network_tuning takes dt from the estimator (its dt={getattr(estimator, 'dt', None)!r}); "
                        "do not pass dt")
    if units not in _UNITS:
        raise ValueError(f"units must be one of {_UNITS}, got {units!r}")
    network = getattr(estimator, "network_", None)
    dt = _network_dt(network) if network is not None else float(getattr(estimator, "dt", 1.0))
    check_number(dt, "dt", low=0.0, strict_low=True)
    binned = _binned_parts(X)
    if binned is not None:  # its X, and a window relative to its event
        units_of_x = getattr(X, "units", "ms")
        X, bin_ms, times_ms = binned
        if not np.isclose(bin_ms, dt, rtol=1e-9):
            raise ValueError(f"X is binned in {bin_ms:g} ms bins, but the network runs at dt={dt:g} ms: give it input "
                             "binned as for fit")
        if window is not None and not isinstance(window, BinWindow):  # in bins from here on (and in settings)
            window = BinWindow(*_event_window_bins(window, times_ms, bin_ms, units_of_x))
    Xc = check_spikes(X)
    start, stop = _window_bins(window, Xc.shape[1])
    classes = np.asarray(getattr(estimator, "classes_", []))
    d = np.asarray(directions)
    if (
        kwargs.get("labels_to_angles") is None
        and not kwargs.get("degrees", False)
        and d.dtype.kind in "iu"
        and classes.dtype.kind in "iu"
        and np.array_equal(classes, np.arange(len(classes)))
    ):
        # integer labels as the classifier's: label k at 2 pi k / (classes seen in fit), so that a
        # subset of trials without some directions keeps the angles of the others
        unknown = np.setdiff1d(d, classes)
        if unknown.size:
            raise ValueError(f"directions hold label(s) {unknown[:5].tolist()} that are not among the classifier's "
                             f"classes_ {classes.tolist()}; pass labels_to_angles (or angles) for other labels")
        kwargs["labels_to_angles"] = 2.0 * np.pi * classes / len(classes)
    # the directions' checks (one per trial, labels, angles) run before the simulation; their
    # warnings come from the fit below
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _directions_to_angles(directions, Xc.shape[0], kwargs.get("degrees", False), kwargs.get("labels_to_angles"))
    # each unit's count in the window, chunk by chunk
    counts = np.concatenate(list(_simulations_in_chunks(
        estimator, Xc, lambda sim: _population_spikes(sim, population)[:, start:stop, :].sum(axis=1, dtype=np.float64))))
    fit = fit_cosine_tuning if model == "cosine" else fit_von_mises_tuning
    if units == "hz":  # as fit does for a 3-D spike array
        counts /= (stop - start) * dt / 1000.0
    res = fit(counts, directions, window=None, dt=dt, units=units, **kwargs)
    # as a fit of the spike trains themselves reports it: rates of 3-D activity in `units`, made
    # with this window (tuning_curves and polar_tuning of the simulated spikes use the settings)
    res.units = units
    res.settings = dict(res.settings, window=window)
    res.population = population
    return res


# ---------------------------------------------------------------------------------------------
# Training dynamics: cultivation and persistency of tuning
# ---------------------------------------------------------------------------------------------
def _wrap_angle(a):
    """Angles wrapped to ``(-pi, pi]``."""
    return np.pi - np.mod(np.pi - np.asarray(a, dtype=np.float64), 2.0 * np.pi)


def _check_epoch(value, name: str) -> int:
    """An epoch number: an integer (not a bool, float or string), as an int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


class TuningSnapshots:
    """Record the cosine tuning of a network's units during training (a ``fit`` callback).

    Pass an instance as ``SpikingRNNClassifier(callback=snaps)``. After every ``every``-th epoch
    the estimator hands the callback a copy of the network (``info["network"]``); the snapshot
    simulates it on the fixed probe trials ``X``, counts each unit's spikes and fits cosine
    tuning (:func:`fit_cosine_tuning`, F-test) per population. From these records it computes
    the paper's training dynamics: how the fraction of cosine-tuned units grows ("cultivation"),
    how many tuned units stay tuned and how far their preferred directions move ("persistency"),
    separately for the *input-driven* populations (those receiving a projection from
    ``"input"``, e.g. ``M1`` of ``"motorsrnn"``, or ``h`` of ``"srnn"``) and the others.

    Training often silences units, and a silent unit is never tuned: read the fractions of the
    active units too (``fraction_tuned(active_only=True)``, ``fraction_active``,
    ``plotting.cultivation(..., active_only=True)``). With ``early_stopping``, recording goes on
    past the best epoch, while the estimator keeps the best epoch's weights: the returned network
    is ``results[estimator.best_epoch_]``, not the last record.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_timesteps, n_channels)
        Probe trials the network is simulated on at every snapshot (e.g. a held-out set). Spike
        counts, validated once with :func:`motorsrnn.estimators.check_spikes`; the number of
        channels must be the estimator's.
    directions : array-like of shape (n_trials,)
        Reach direction of each probe trial: angles or class labels, as in
        :func:`fit_cosine_tuning` (integer labels ``0..K-1`` are at ``2 pi k / K``, with ``K``
        the labels the probe trials hold; unlike :func:`network_tuning`, which knows the
        classifier's classes, so a probe set without some directions needs
        ``labels_to_angles=direction_angles(n_classes)``; the first record warns when the network
        has more outputs than the probe trials have labels).
    every : int, default=1
        Record after epochs ``every - 1``, ``2 every - 1``, ... (epochs are counted from 0, as in
        ``estimator.history_``). The last epoch is recorded only if it falls on this grid. The grid
        applies to ``info["epoch"] + epoch_offset``, so it continues across ``warm_start`` fits.
    window : (int, int) or None, default=None
        Time bins ``[start, stop)`` in which spikes are counted; None: the whole window.
    alpha : float, default=0.05
        Significance level of the tuning criterion (F-test ``p <= alpha``).
    r2_threshold : float or None, default=None
        If set, tuned units must also have ``r2_mean >= r2_threshold``.
    labels_to_angles : dict or sequence or None, default=None
        Mapping of labels to angles (radians, or degrees with ``degrees=True``).
    degrees : bool, default=False
        Angles in ``directions`` / ``labels_to_angles`` are in degrees.
    n_jobs : int or None, default=None
        Threads for the simulation and the fits; -1: every core, None too but no more than
        ``OMP_NUM_THREADS`` when that is set.

    Attributes
    ----------
    epochs : ndarray of int
        Recorded epochs, increasing. ``-1`` is the untrained network (see :meth:`record_initial`).
    results : dict of int to dict of str to CosineTuning
        ``results[epoch][population]``: the cosine fit of that population's units.
    rates : dict of int to dict of str to ndarray
        Mean firing rate (Hz) of each unit over the probe trials and window.
    populations : list of (str, int)
        Population names and sizes, in the network's order (set by the first record).
    input_driven_populations : list of str
        Populations that receive a projection from ``"input"``.
    other_populations : list of str
        The remaining populations (driven only by other populations).
    epoch_offset : int
        Added to ``info["epoch"]`` when recording from the callback. Set it to the number of
        epochs already run before continuing training with ``warm_start=True`` (the core counts
        the epochs of each ``fit`` call from 0).

    Notes
    -----
    **The untrained network.** Epoch events arrive after an epoch of training, so the callback
    alone never sees the initial weights. Call :meth:`record_initial` with the estimator before
    ``fit``: it builds the network exactly as ``fit`` will (same architecture and, for an integer
    ``random_state``, the same initial weights) and records it as epoch ``-1``. Any network or
    fitted estimator can also be recorded at any epoch number with :meth:`record`.

    **Criterion.** A unit is tuned when the F-test of the cosine model has ``p <= alpha`` (and
    ``r2_mean >= r2_threshold`` if set). Units that never spike on the probe trials have
    constant activity and are never tuned; they count in the denominator of
    :meth:`fraction_tuned` (see :meth:`fraction_active`). With many probe trials, small but
    consistent modulations become significant; raise ``r2_threshold`` or lower ``alpha`` for a
    stricter criterion.

    The callback returns None (returning ``False`` would stop training). Each snapshot costs one
    simulation of ``X`` and one fit per population: milliseconds for a few hundred trials.

    Examples
    --------
    >>> from motorsrnn import SpikingRNNClassifier
    >>> from motorsrnn.datasets import make_center_out
    >>> from motorsrnn.tuning import TuningSnapshots
    >>> data = make_center_out(n_trials=300, random_state=0)
    >>> snaps = TuningSnapshots(data.X[200:], data.y[200:])
    >>> clf = SpikingRNNClassifier(n_hidden=32, max_epochs=3, random_state=0, callback=snaps)
    >>> _ = snaps.record_initial(clf, data.y[:200])   # the untrained network, as epoch -1
    >>> _ = clf.fit(data.X[:200], data.y[:200])
    >>> snaps.epochs.tolist()
    [-1, 0, 1, 2]
    >>> snaps.fraction_tuned().shape
    (4,)
    """

    def __init__(
        self,
        X,
        directions,
        *,
        every: int = 1,
        window=None,
        alpha: float = 0.05,
        r2_threshold: Optional[float] = None,
        labels_to_angles=None,
        degrees: bool = False,
        n_jobs: Optional[int] = None,
    ):
        if X is None:
            raise ValueError("X must be given: the probe trials the network is simulated on")
        self.X = check_spikes(X)
        self.every: int = check_number(every, "every", low=1, integer=True)
        self.alpha: float = check_number(alpha, "alpha", low=0.0, high=1.0)
        self.r2_threshold: Optional[float] = (
            None if r2_threshold is None else check_number(r2_threshold, "r2_threshold", high=1.0)
        )
        self.angles: np.ndarray = _reduce_angles(_directions_to_angles(directions, self.X.shape[0], degrees, labels_to_angles))
        self._direction_settings: Dict[str, Any] = {"degrees": degrees, "labels_to_angles": labels_to_angles}
        d = np.asarray(directions)
        # integer labels placed at 2 pi k / K with K the labels present: checked against the
        # network's outputs at the first record (see _warn_if_directions_missing)
        default_labels = labels_to_angles is None and not degrees and d.dtype.kind in "iu"
        self._labels_present: Optional[np.ndarray] = np.unique(d).astype(np.int64) if default_labels else None
        n_dir = np.unique(self.angles).size
        if n_dir < 3:
            raise ValueError(
                f"directions contain {n_dir} distinct direction(s); cosine tuning needs at least 3 "
                "distinct directions among the probe trials"
            )
        n_steps = self.X.shape[1]
        if window is not None:
            _activity_to_rates(np.zeros((1, n_steps, 1), dtype=np.uint8), window, 1.0, "hz")  # validates
        self.window: Any = window
        self._n_threads: int = _n_threads(n_jobs)
        self.n_jobs: Any = n_jobs
        self.epoch_offset: int = 0
        self.results: Dict[int, Dict[str, CosineTuning]] = {}
        self.rates: Dict[int, Dict[str, np.ndarray]] = {}
        self.populations: list = []
        self.input_driven_populations: list = []
        self.other_populations: list = []

    # -- recording ------------------------------------------------------------------------------
    def __call__(self, info) -> None:
        """The ``fit`` callback: record after every ``every``-th epoch; always returns None."""
        if info.get("event") != "epoch":
            return None
        epoch = int(info["epoch"]) + int(self.epoch_offset)  # the epoch as numbered in history_
        if (epoch + 1) % self.every == 0:
            self._record(info["network"], epoch)
        else:  # a probe set that does not fit the network fails after the first epoch, not after `every`
            self._check_compatible(info["network"])
        return None

    def record(self, network, epoch: int) -> "TuningSnapshots":
        """Record the tuning of a network (or a fitted estimator's network) at ``epoch``.

        Parameters
        ----------
        network : motorsrnn._core.Network or fitted SpikingRNNClassifier
        epoch : int
            The epoch number to file the record under (``-1`` for the untrained network).
            Recording an epoch twice replaces the earlier record.

        Returns
        -------
        self
        """
        epoch = _check_epoch(epoch, "epoch")
        if isinstance(network, RegressorMixin):  # a regressor's outputs are not the directions' classes
            self._labels_present = None
        if not isinstance(network, _core.Network):
            net = getattr(network, "network_", None)
            if not isinstance(net, _core.Network):
                raise TypeError(
                    "network must be a motorsrnn._core.Network or a fitted motorsrnn estimator, "
                    f"got {type(network).__name__}"
                )
            network = net
        self._record(network, int(epoch))
        return self

    def record_initial(self, estimator, y) -> "TuningSnapshots":
        """Record the network ``estimator.fit`` will start from, as epoch ``-1``.

        Builds the untrained network from the estimator's parameters the way ``fit`` does (same
        architecture, same initial weights when ``random_state`` is an int or a ``RandomState``,
        which is not advanced). With ``warm_start=True`` on a fitted estimator, the current
        network is recorded instead.

        Parameters
        ----------
        estimator : SpikingRNNClassifier
            Not necessarily fitted.
        y : array-like of shape (n_trials,) or int
            The training labels (or their number of classes): the readout size.

        Returns
        -------
        self

        Notes
        -----
        With ``random_state=None`` every ``fit`` draws new initial weights; the recorded network
        is then *a* draw of the same initial distribution, not the one ``fit`` will use (a
        ``UserWarning`` says so). The tuning of an untrained network is a property of its input
        weights and the input, so this is still a fair "before training" reference.
        """
        import warnings

        if getattr(estimator, "warm_start", False) and hasattr(estimator, "network_"):
            return self.record(_copy_network(estimator.network_), -1)
        if not hasattr(estimator, "initial_network"):
            raise TypeError(f"estimator must be a motorsrnn SpikingRNNClassifier, got {type(estimator).__name__}")
        if isinstance(y, (numbers.Integral, np.integer)) and not isinstance(y, (bool, np.bool_)):
            n_classes = int(y)
        else:
            n_classes = int(np.unique(np.asarray(y)).size)
        if n_classes < 2:
            raise ValueError(f"y must have at least 2 classes (or be a number of classes >= 2), got {n_classes}")
        if estimator.random_state is None:
            warnings.warn(
                "estimator.random_state is None: the recorded initial network is a fresh draw, not the "
                "one fit() will start from; set an integer random_state to record exactly that one",
                UserWarning,
                stacklevel=2,
            )
        return self.record(estimator.initial_network(self.X.shape[2], n_classes), -1)

    def _check_compatible(self, network) -> list:
        """The network's populations; raises if they differ from those recorded or if the probe
        trials do not have the network's number of inputs."""
        pops = [(str(n), int(s)) for n, s in network.populations()]
        if self.populations and pops != self.populations:
            raise ValueError(
                f"the network's populations {pops} differ from those recorded so far {self.populations}; "
                "use one TuningSnapshots per network"
            )
        n_inputs = _network_n_inputs(network)
        if n_inputs is not None and n_inputs != self.X.shape[2]:
            raise ValueError(
                f"X has {self.X.shape[2]} channels but the network expects {n_inputs} inputs; the probe "
                "trials must have the channels the estimator is trained on"
            )
        return pops

    def _warn_if_directions_missing(self, network) -> None:
        """Warn once when integer labels were placed at ``2 pi k / K`` with ``K`` the labels the
        probe trials hold, but the network has more outputs (classes) than that, all above the
        labels: a probe set without some of a classifier's directions puts the others at the
        wrong angles (4 classes probed with labels 0-2: 0, 120, 240 degrees instead of 0, 90,
        180). A regressor's outputs are not directions, so this is a warning, not a remedy."""
        labels, self._labels_present = self._labels_present, None
        n_out = _network_spec_dict(network).get("n_outputs")
        if labels is None or n_out is None or not (len(labels) < int(n_out) and labels.max() < int(n_out)):
            return
        warnings.warn(
            f"the probe trials hold {len(labels)} integer labels, placed at 2 pi k / {len(labels)}, but the network "
            f"has {int(n_out)} outputs: if the labels are the classifier's classes 0..{int(n_out) - 1}, the directions "
            f"are at the wrong angles; pass labels_to_angles=motorsrnn.datasets.direction_angles({int(n_out)}) "
            "(or the angle of each label)",
            UserWarning,
            stacklevel=user_stacklevel(),
        )

    def _record(self, network, epoch: int) -> None:
        pops = self._check_compatible(network)
        self._warn_if_directions_missing(network)
        if not self.populations:
            self.populations = pops
            targets = {t for _, src, t, _, _ in network.projections() if src == "input"}
            self.input_driven_populations = [n for n, _ in pops if n in targets]
            self.other_populations = [n for n, _ in pops if n not in targets]
        _check_simulate_memory(network, self.X, False)
        spikes, _, _, _ = network.simulate(self.X, False, self._n_threads)
        dt = _network_dt(network)
        res, rates = {}, {}
        for (name, _), s in zip(pops, spikes):
            rates[name] = _activity_to_rates(s, self.window, dt, "hz").mean(axis=0)
            # fitted on the spikes themselves, so that the result's settings (window, dt, units) say
            # how its rates were made, as for fit_cosine_tuning and network_tuning
            res[name] = fit_cosine_tuning(
                s, self.angles, window=self.window, dt=dt, units="hz", alpha=self.alpha,
                r2_threshold=self.r2_threshold, n_jobs=self.n_jobs,
            )
            # the probe's own directions (labels or degrees) with the mapping the snapshot was
            # given, so that tuning_curves and polar_tuning place them as the fit did
            res[name].settings.update(getattr(self, "_direction_settings", {}))  # (older pickles lack it)
            res[name].population = name
        self.results[epoch] = res
        self.rates[epoch] = rates

    # -- summaries ------------------------------------------------------------------------------
    @property
    def epochs(self) -> np.ndarray:
        """Recorded epochs, increasing (``-1`` is the untrained network)."""
        return np.array(sorted(self.results), dtype=np.int64)

    @property
    def groups(self) -> Dict[str, list]:
        """``{"input-driven": [...], "other": [...]}``: population names per group."""
        return {"input-driven": list(self.input_driven_populations), "other": list(self.other_populations)}

    def _names(self, population):
        if not self.results:
            raise ValueError("no snapshot recorded yet: fit an estimator with callback=this object, or call record()")
        known = [n for n, _ in self.populations]
        if population is None:
            return known
        names = [population] if isinstance(population, str) else list(population)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown population(s) {unknown}; the network has {known}")
        return names

    def _tuned(self, epoch, names) -> np.ndarray:
        return np.concatenate([self.results[epoch][n].is_tuned for n in names]) if names else np.zeros(0, bool)

    def _pd(self, epoch, names) -> np.ndarray:
        if not names:
            return np.zeros(0)
        return np.concatenate([self.results[epoch][n].preferred_direction for n in names])

    def _reference(self, reference_epoch):
        epochs = self.epochs
        if reference_epoch is None:
            return int(epochs[0])
        reference_epoch = _check_epoch(reference_epoch, "reference_epoch")
        if reference_epoch not in self.results:
            raise ValueError(f"reference_epoch {reference_epoch!r} was not recorded; recorded epochs: {epochs.tolist()}")
        return int(reference_epoch)

    def fraction_tuned(self, population=None, *, active_only: bool = False) -> np.ndarray:
        """Fraction of cosine-tuned units at each recorded epoch ("cultivation").

        Parameters
        ----------
        population : str, sequence of str or None, default=None
            A population, several (e.g. ``snaps.input_driven_populations``) or None for all units.
        active_only : bool, default=False
            Count only units that spike on the probe trials (silent units can never be tuned;
            training often silences some).

        Returns
        -------
        ndarray of shape (n_epochs,)
            In ``[0, 1]``, in the order of :attr:`epochs`; NaN for an empty selection.
        """
        names = self._names(population)
        if not isinstance(active_only, (bool, np.bool_)):
            raise ValueError(f"active_only must be True or False, got {active_only!r}")
        out = []
        for e in self.epochs:
            t = self._tuned(e, names)
            if active_only and names:
                t = t[np.concatenate([self.rates[e][n] for n in names]) > 0]
            out.append(float(np.mean(t)) if t.size else np.nan)
        return np.array(out)

    def fraction_active(self, population=None, min_rate: float = 0.0) -> np.ndarray:
        """Fraction of units whose mean rate on the probe trials exceeds ``min_rate`` Hz, per epoch.

        Parameters
        ----------
        population : str, sequence of str or None, default=None
        min_rate : float, default=0.0

        Returns
        -------
        ndarray of shape (n_epochs,)
        """
        names = self._names(population)
        min_rate = check_number(min_rate, "min_rate", low=0.0)
        out = []
        for e in self.epochs:
            r = np.concatenate([self.rates[e][n] for n in names]) if names else np.zeros(0)
            out.append(float(np.mean(r > min_rate)) if r.size else np.nan)
        return np.array(out)

    def persistency(self, reference_epoch: Optional[int] = None, population=None, *, cumulative: bool = False) -> np.ndarray:
        """Fraction of the units tuned at ``reference_epoch`` that are tuned at each epoch.

        Parameters
        ----------
        reference_epoch : int or None, default=None
            A recorded epoch; None: the first recorded one. Must be an integer (a bool, float or
            string raises ValueError, as ``epoch`` in :meth:`record`).
        population : str, sequence of str or None, default=None
        cumulative : bool, default=False
            False: tuned at epoch ``e``. True: tuned at *every* recorded epoch between the reference
            and ``e`` (stayed tuned all along).

        Returns
        -------
        ndarray of shape (n_epochs,)
            1 at the reference epoch (when any unit is tuned there); NaN when no unit of the
            selection is tuned at the reference epoch. Values at epochs before the reference read
            the same way backwards in time.
        """
        cumulative = check_bool(cumulative, "cumulative")
        names = self._names(population)
        ref = self._reference(reference_epoch)
        epochs = self.epochs
        base = self._tuned(ref, names)
        if not base.any():
            return np.full(epochs.size, np.nan)
        tuned = np.array([self._tuned(e, names) for e in epochs])  # (n_epochs, n_units)
        i_ref = int(np.flatnonzero(epochs == ref)[0])
        out = np.empty(epochs.size)
        for i in range(epochs.size):
            if cumulative:
                lo, hi = min(i, i_ref), max(i, i_ref)
                still = np.asarray(tuned[lo : hi + 1].all(axis=0))
            else:
                still = np.asarray(tuned[i])
            out[i] = float(np.mean(still[base]))
        return out

    def pd_drift(self, reference_epoch: Optional[int] = None, population=None, *, degrees: bool = False) -> np.ndarray:
        """Median absolute change of the preferred direction since ``reference_epoch``.

        Over the units tuned both at the reference epoch and at epoch ``e``: the median of
        ``|wrap(pd_e - pd_ref)|`` with ``wrap`` to ``(-pi, pi]``.

        Parameters
        ----------
        reference_epoch : int or None, default=None
            A recorded epoch; None: the first recorded one. Must be an integer (a bool, float or
            string raises ValueError, as ``epoch`` in :meth:`record`).
        population : str, sequence of str or None, default=None
        degrees : bool, default=False
            Report degrees instead of radians.

        Returns
        -------
        ndarray of shape (n_epochs,)
            0 at the reference epoch; NaN where no unit is tuned at both epochs.
        """
        degrees = check_bool(degrees, "degrees")
        names = self._names(population)
        ref = self._reference(reference_epoch)
        base_t, base_pd = self._tuned(ref, names), self._pd(ref, names)
        drift: List[float] = []
        for e in self.epochs:
            both = base_t & self._tuned(e, names)
            if not both.any():
                drift.append(np.nan)
                continue
            drift.append(float(np.median(np.abs(_wrap_angle(self._pd(e, names)[both] - base_pd[both])))))
        out = np.array(drift)
        return np.degrees(out) if degrees else out

    def to_dataframe(self, per_unit: bool = True):
        """The records as a pandas DataFrame (needs pandas).

        Parameters
        ----------
        per_unit : bool, default=True
            True: one row per epoch, population and unit, with columns ``epoch``, ``population``,
            ``group`` (``"input-driven"`` or ``"other"``), ``unit`` (index in the population),
            ``preferred_direction``, ``modulation_depth``, ``baseline``, ``r2``, ``r2_mean``,
            ``p_value``, ``is_tuned``, ``rate``. False: one row per epoch and population with
            ``n_units``, ``n_tuned``, ``fraction_tuned``, ``fraction_active``, ``mean_rate``.

        Returns
        -------
        pandas.DataFrame
        """
        per_unit = check_bool(per_unit, "per_unit")
        pd = _pandas()
        names = self._names(None)
        frames = []
        for e in self.epochs:
            for n in names:
                r, rate = self.results[e][n], self.rates[e][n]
                group = "input-driven" if n in self.input_driven_populations else "other"
                if per_unit:
                    frames.append(
                        pd.DataFrame(
                            {
                                "epoch": int(e),
                                "population": n,
                                "group": group,
                                "unit": np.arange(r.n_neurons),
                                "preferred_direction": r.preferred_direction,
                                "modulation_depth": r.modulation_depth,
                                "baseline": r.baseline,
                                "r2": r.r2,
                                "r2_mean": r.r2_mean,
                                "p_value": r.p_value,
                                "is_tuned": r.is_tuned,
                                "rate": rate,
                            }
                        )
                    )
                else:
                    frames.append(
                        pd.DataFrame(
                            {
                                "epoch": [int(e)],
                                "population": [n],
                                "group": [group],
                                "n_units": [r.n_neurons],
                                "n_tuned": [int(np.sum(r.is_tuned))],
                                "fraction_tuned": [r.fraction_tuned],
                                "fraction_active": [float(np.mean(rate > 0))],
                                "mean_rate": [float(np.mean(rate))],
                            }
                        )
                    )
        return pd.concat(frames, ignore_index=True)

    def __repr__(self) -> str:
        ep = self.epochs.tolist()
        return (
            f"TuningSnapshots(n_probe_trials={self.X.shape[0]}, every={self.every}, epochs={ep}, "
            f"input_driven={self.input_driven_populations}, other={self.other_populations})"
        )


def _network_spec_dict(network):
    import json

    try:
        return json.loads(network.spec_json)
    except (AttributeError, ValueError, TypeError):
        return {}


def _network_n_inputs(network):
    n = _network_spec_dict(network).get("n_inputs")
    return None if n is None else int(n)


__all__.append("TuningSnapshots")
