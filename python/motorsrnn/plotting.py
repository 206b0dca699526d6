"""Plots for spike trains, tuning, training dynamics and population trajectories.

matplotlib is an optional dependency: install it with ``python -m pip install matplotlib`` (or
motorsrnn's extra, ``python -m pip install "motorsrnn[plot]"``). It is
imported inside each function, so ``import motorsrnn.plotting`` always works and a missing
matplotlib raises an :class:`ImportError` saying how to install it only when a plot is drawn.

Every function takes ``ax=None`` (a new figure is created when None) and returns the Axes it
drew on, so plots compose into your own figures:

raster
    Spike raster of one trial (units x time).
psth
    Peri-stimulus time histogram of one unit, one line per direction.
polar_tuning
    Polar tuning curve of one unit: the fitted cosine or von Mises curve, the preferred direction
    and, optionally, the empirical mean (+/- SEM) per direction.
pd_histogram
    Polar histogram of preferred directions.
cultivation
    Fraction of tuned units per epoch (input-driven vs other populations) and persistency, from
    :class:`motorsrnn.tuning.TuningSnapshots`.
trajectories
    Population trajectories per condition in 2 or 3 principal components, from
    :func:`motorsrnn.analysis.trajectories`.
learning_curves
    Training loss (and accuracy on a second axis) per epoch from ``estimator.history_``.
early_curves
    Early-classification curves (accuracy against time into the window) of several decoders,
    from :func:`motorsrnn.analysis.early_classification` or ``compare_models(...).early``.
"""

from __future__ import annotations

import functools
import numbers
import sys
import warnings
from typing import Any, Mapping

import numpy as np

from ._validation import check_bool, check_number, install_hint, unique_labels, user_stacklevel
from .io import _time_axis, _trial_array

__all__ = [
    "cultivation",
    "early_curves",
    "learning_curves",
    "pd_histogram",
    "polar_tuning",
    "psth",
    "raster",
    "trajectories",
]

_INSTALL = f"matplotlib is needed for motorsrnn.plotting; install it with: {install_hint('matplotlib', 'plot')}"


def _drawing(func):
    """Closes the figures a plotting function created when it raises, so that a bad call leaves no
    empty figure behind (the inputs of some plots can only be checked while drawing)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        plt = sys.modules.get("matplotlib.pyplot")
        before = set(plt.get_fignums()) if plt is not None else set()
        try:
            return func(*args, **kwargs)
        except Exception:
            plt = sys.modules.get("matplotlib.pyplot")
            if plt is not None:
                for number in set(plt.get_fignums()) - before:
                    plt.close(number)
            raise

    return wrapper


def _label_text(value) -> str:
    """A legend label: floats with 4 significant digits (a radian 1.5707963267948966 reads 1.571)."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def _integer_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _pyplot():
    """``matplotlib.pyplot``, or an ImportError that names the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(_INSTALL) from e
    return plt


# Projections of matplotlib's own that are not Cartesian x/y axes
_NON_CARTESIAN = ("polar", "3d", "aitoff", "hammer", "lambert", "mollweide")


def _axes(ax, *, polar=False, three_d=False):
    """``ax`` checked for the projection a plot needs (a new one when None).

    Cartesian plots (neither ``polar`` nor ``three_d``) refuse polar, 3-D and map-projection
    Axes with a ValueError, as polar and 3-D plots refuse the other kinds.
    """
    plt = _pyplot()
    if ax is None:
        if polar:
            _, ax = plt.subplots(subplot_kw={"projection": "polar"})
        elif three_d:
            fig = plt.figure()
            ax = fig.add_subplot(projection="3d")
        else:
            _, ax = plt.subplots()
        return ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. plt.subplots()[1]) or None, got {type(ax).__name__}")
    if not polar and not three_d and getattr(ax, "name", None) in _NON_CARTESIAN:
        raise ValueError(
            f"ax must be a Cartesian Axes (e.g. plt.subplots()[1]) or None, got a {ax.name!r} Axes"
        )
    if polar and getattr(ax, "name", None) != "polar":
        raise ValueError("ax must be a polar Axes (e.g. plt.subplot(projection='polar')) or None")
    if three_d and getattr(ax, "name", None) != "3d":
        raise ValueError("ax must be a 3-D Axes (projection='3d') to draw 3 components, or None")
    return ax


def _index(value, name, size):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValueError(f"{name} must be an integer index, got {value!r}")
    value = int(value)
    if not -size <= value < size:
        raise ValueError(f"{name} {value} is out of range for {size} entries")
    return value % size


def _spikes3d(x, name):
    """Spikes of shape (n_trials, n_timesteps, n_units): an array, a ``simulate()`` result (its
    ``spikes``) or the Bunch of :func:`motorsrnn.io.bin_spike_times` (its ``X``). A 2-D array is
    refused: here it would be read as trials of one bin each."""
    from .estimators import check_spikes

    arr = _trial_array(x)
    if np.ndim(arr) != 3:
        raise ValueError(
            f"{name} must be 3-D spikes (n_trials, n_timesteps, n_units), a simulate() result or a "
            f"bin_spike_times() result; got {np.ndim(arr)} dimension(s) (one trial alone: pass X[None] "
            "or the whole array and its index)"
        )
    return check_spikes(arr, name=name)


def _positive_ms(value, name: str) -> float:
    return check_number(value, f"{name} (ms)", low=0.0, strict_low=True)


def _colors(n):
    plt = _pyplot()
    cmap = plt.get_cmap("hsv")
    return [cmap(i / max(n, 1)) for i in range(n)]


@_drawing
def raster(X_or_spikes, trial=0, *, dt=None, t0=None, units=None, ax=None, **scatter_kws) -> Any:
    """Spike raster of one trial: a dot per spike, units on the y axis, time on the x axis.

    Parameters
    ----------
    X_or_spikes : array-like of shape (n_trials, n_timesteps, n_units) or a Bunch
        Recorded spikes ``X`` or the network's ``estimator.simulate(X).spikes``; a ``simulate()``
        result (its ``spikes``) and a :func:`motorsrnn.io.bin_spike_times` result (its ``X``)
        are accepted too. Bins with a count above 1 are drawn as one dot. A 2-D array is refused
        (one trial alone: ``X[None]``).
    trial : int, default=0
    dt : float or None, default=None
        Bin width in ms. None: the bin width of a ``bin_spike_times`` or ``simulate()`` result
        (its ``bin_size`` or ``times``), 1 ms for an array.
    t0 : float or None, default=None
        Time in ms of the start of the first bin, relative to the trial's event, e.g. -200 for
        trials binned from 200 ms before the event. None: ``times[0]`` of a ``bin_spike_times``
        or ``simulate()`` result, 0 for an array. A dashed line marks the event when it lies
        inside. A ``dt`` that contradicts such a result's own times is refused, and so is a
        ``t0`` that contradicts a ``bin_spike_times`` result's (event-aligned) times.
    units : array-like of int or None, default=None
        Units to draw, in this order (e.g. sorted by preferred direction), labelled with their
        indices; None: all.
    ax : matplotlib Axes or None
    **scatter_kws
        Passed to ``ax.scatter`` (default marker ``"|"``, black).

    Returns
    -------
    matplotlib.axes.Axes
        One ``PathCollection`` (the spikes).
    """
    s = _spikes3d(X_or_spikes, "X_or_spikes")
    trial = _index(trial, "trial", s.shape[0])
    dt, t0 = _time_axis(X_or_spikes, dt, t0)
    data = np.asarray(s[trial])  # (T, N)
    idx = None
    if units is not None:
        idx = np.asarray(units)
        if idx.ndim != 1 or idx.dtype.kind not in "iu" or idx.size == 0 or idx.min() < -data.shape[1] or idx.max() >= data.shape[1]:
            raise ValueError(f"units must be a 1-D array of unit indices in [0, {data.shape[1]})")
        idx = np.mod(idx, data.shape[1])
        data = data[:, idx]
    ax = _axes(ax)
    t, u = np.nonzero(data > 0)
    kws = {"marker": "|", "color": "k", "s": 20, "linewidths": 1.0}
    kws.update(scatter_kws)
    ax.scatter(t0 + t * dt, u, **kws)
    ax.set_xlim(t0 - 0.5 * dt, t0 + data.shape[0] * dt)  # spikes of the first bin clear of the spine
    ax.set_ylim(-0.5, data.shape[1] - 0.5)
    _mark_event(ax, t0, t0 + data.shape[0] * dt)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("unit")
    ax.yaxis.set_major_locator(_integer_locator())  # units are whole numbers: no tick at unit 0.5
    if idx is not None:  # rows are the chosen units: label them with their indices
        from matplotlib.ticker import FuncFormatter

        ax.yaxis.set_major_formatter(
            FuncFormatter(lambda v, _pos: str(idx[int(round(v))]) if 0 <= round(v) < idx.size and v == round(v) else "")
        )
    ax.set_title(f"trial {trial}")
    return ax


def _mark_event(ax, start: float, stop: float) -> None:
    """A dashed vertical line at time 0 (the event) when it lies strictly inside the time axis."""
    if start < 0.0 < stop:
        ax.axvline(0.0, color="0.5", linestyle="--", linewidth=0.8, label="_event")


#: Least width in ms of psth's default bins (the smallest multiple of the data's bin width reaching it).
_PSTH_BIN_MS = 5.0


@_drawing
def psth(spikes, labels, unit, *, bin_ms=None, dt=None, t0=None, ax=None) -> Any:
    """Peri-stimulus time histogram of one unit: mean rate over the trials of each direction.

    Parameters
    ----------
    spikes : array-like of shape (n_trials, n_timesteps, n_units) or a Bunch
        Spike counts per bin (recorded or simulated), or a ``simulate()`` or
        :func:`motorsrnn.io.bin_spike_times` result, as in :func:`raster`.
    labels : array-like of shape (n_trials,)
        Direction (class label or angle) of each trial; one line per distinct value (NaN is
        refused).
    unit : int
    bin_ms : float or None, default=None
        Width of the histogram bins in ms (a multiple of ``dt``; the last partial bin is dropped).
        None: the smallest multiple of ``dt`` that is at least 5 ms (5 ms for 1 ms bins, 10 ms
        for 10 ms bins, 6 ms for a network's 2 ms steps).
    dt : float or None, default=None
        Width of the bins of ``spikes`` in ms; None: taken from a ``bin_spike_times`` or
        ``simulate()`` result, 1 ms for an array (as in :func:`raster`).
    t0 : float or None, default=None
        Time in ms of the start of the first bin relative to the event, as in :func:`raster`
        (None: ``times[0]`` of such a result, 0 for an array).
    ax : matplotlib Axes or None

    Returns
    -------
    matplotlib.axes.Axes
        One ``Line2D`` per direction (and a dashed line at the event when it lies inside).
    """
    s = _spikes3d(spikes, "spikes")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != s.shape[0]:
        raise ValueError(f"labels must be 1-D with one entry per trial ({s.shape[0]}), got shape {labels.shape}")
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        raise ValueError(f"labels contain NaN ({int(np.isnan(labels).sum())} trials): drop those trials first")
    conds = unique_labels(labels, "labels")  # None or mixed types: before anything is drawn
    unit = _index(unit, "unit", s.shape[2])
    dt, t0 = _time_axis(spikes, dt, t0)
    created = ax is None
    bin_ms = dt * max(1, int(np.ceil(_PSTH_BIN_MS / dt - 1e-9))) if bin_ms is None else _positive_ms(bin_ms, "bin_ms")
    k = int(round(bin_ms / dt))
    if k < 1 or abs(k * dt - bin_ms) > 1e-9 * bin_ms:
        raise ValueError(f"bin_ms ({bin_ms}) must be a positive multiple of dt ({dt})")
    n_bins = s.shape[1] // k
    if n_bins < 1:
        raise ValueError(f"bin_ms ({bin_ms}) is longer than the window ({s.shape[1] * dt} ms)")
    ax = _axes(ax)
    x = np.asarray(s[:, : n_bins * k, unit], dtype=np.float64).reshape(s.shape[0], n_bins, k).sum(axis=2)
    rate = x / (bin_ms / 1000.0)
    centers = t0 + (np.arange(n_bins) + 0.5) * bin_ms
    peak = 0.0
    for c, color in zip(conds, _colors(conds.size)):
        mean = rate[labels == c].mean(axis=0)
        peak = max(peak, float(mean.max()))
        ax.plot(centers, mean, color=color, label=_label_text(c))
    # rates from 0 (a silent unit's line on the axis, not mid-plot), up to every line drawn on ax
    ax.set_ylim(0.0, max(ax.get_ylim()[1], peak * 1.05, 1e-9 if peak > 0 else 1.0))
    _mark_event(ax, t0, t0 + n_bins * bin_ms)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz)")
    ax.set_title(f"unit {unit}")
    # many directions: the legend beside the axes, not over the curves
    beside = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0)) if conds.size > 8 else {}
    ax.legend(title="direction", fontsize="small", ncol=2 if conds.size > 4 else 1, **beside)
    if beside and created:
        ax.figure.tight_layout()  # our own figure: room for the legend beside the axes (a plain savefig kept it out)
    return ax


@_drawing
def polar_tuning(result, unit, activity=None, directions=None, *, ax=None, color="C0", **curve_kws) -> Any:
    """Polar tuning curve of one unit: the fitted curve, its preferred direction and the data.

    Parameters
    ----------
    result : motorsrnn.tuning.CosineTuning or motorsrnn.tuning.VonMisesTuning
        A fit (``fit_cosine_tuning``, ``fit_von_mises_tuning`` or ``network_tuning``): anything
        with ``predict(angles)``, ``preferred_direction`` and ``n_neurons``. The title says
        whether the unit is tuned when the result has ``is_tuned`` (cosine fits), and that its
        fit did not converge when ``converged`` says so (von Mises fits).
    unit : int
    activity, directions : array-like or None
        The data of the fit (``activity`` may also be a ``simulate()`` result, whose ``spikes``
        are used: those of ``result.population`` for a result of one population); when given,
        the empirical mean +/- SEM per direction is drawn as points, computed by
        :func:`motorsrnn.tuning.tuning_curves` with the fit's ``window``, ``dt``, ``units``,
        ``degrees`` and ``labels_to_angles`` (``result.settings``), so that the points and the
        curve are in the same units.
    ax : polar matplotlib Axes or None
    color : matplotlib color, default="C0"
    **curve_kws
        Passed to ``ax.plot`` for the fitted curve (e.g. ``linewidth=2``).

    Returns
    -------
    matplotlib.axes.Axes (polar)
        Lines: the fitted curve and the preferred-direction ray (and the error bars' container
        when ``activity`` is given).

    Raises
    ------
    ValueError
        If ``result`` lacks ``predict``, ``preferred_direction`` or ``n_neurons``, ``unit`` is out
        of range, only one of ``activity`` and ``directions`` is given (all checked before a
        figure is created), ``ax`` is not polar, or ``activity`` has another number of units.

    Notes
    -----
    A polar plot cannot show negative radii: where the fitted curve drops below 0 (a deep
    modulation on a low baseline) it is drawn at 0.

    Called again on the same ``ax`` (to overlay units, fits or recordings, with another
    ``color``), the radius grows to show every curve; the title describes the last unit drawn.
    """
    missing = [name for name in ("predict", "preferred_direction", "n_neurons") if not hasattr(result, name)]
    if not missing and not callable(result.predict):
        missing = ["callable predict"]
    if missing:
        raise ValueError(
            "result must be a tuning fit with predict, preferred_direction and n_neurons (a CosineTuning or "
            f"VonMisesTuning from motorsrnn.tuning); {type(result).__name__} has no {', '.join(missing)}"
        )
    unit = _index(unit, "unit", result.n_neurons)
    if (activity is None) != (directions is None):
        raise ValueError("give both activity and directions to draw the empirical tuning curve")
    from .tuning import CosineTuning, VonMisesTuning, _wrap_angle

    tc = None
    if activity is not None:  # checked before anything is drawn
        from .tuning import tuning_curves

        if not isinstance(activity, np.ndarray) and hasattr(activity, "spikes"):
            from .tuning import _population_spikes

            # a network_tuning / TuningSnapshots result describes one population's units
            activity = _population_spikes(activity, getattr(result, "population", None), "the simulate() result")
        tc = tuning_curves(activity, directions, **getattr(result, "settings", {}))
        if tc.mean.shape[1] != result.n_neurons:
            raise ValueError(f"activity has {tc.mean.shape[1]} units, the result {result.n_neurons}")
    created = ax is None
    ax = _axes(ax, polar=True)
    earlier = ax.get_ylim()[1] if (ax.lines or ax.containers) else 0.0  # an overlay keeps the earlier curves in view
    theta = np.linspace(0.0, 2.0 * np.pi, 181)
    curve = np.maximum(result.predict(theta)[:, unit], 0.0)
    kind = {CosineTuning: "cosine fit", VonMisesTuning: "von Mises fit"}.get(type(result), "fit")
    ax.plot(theta, curve, **{"color": color, "label": kind, **curve_kws})
    pd = result.preferred_direction[unit]
    top = float(np.nanmax(curve)) if np.isfinite(curve).any() else 0.0
    if np.isfinite(pd):
        ax.plot([pd, pd], [0.0, float(curve.max())], color=color, linestyle="--", label="preferred direction")
    # radius labels at the angle farthest from the preferred direction and from the data's directions
    taken = ([pd] if np.isfinite(pd) else []) + ([] if tc is None else list(np.asarray(tc.angles, dtype=np.float64)))
    if taken:
        candidates = np.radians(np.arange(0.0, 360.0, 7.5))
        gap = np.abs(_wrap_angle(candidates[:, None] - np.asarray(taken)[None, :])).min(axis=1)
        ax.set_rlabel_position(float(np.degrees(candidates[int(np.argmax(gap))])))
    if tc is not None:
        err = np.nan_to_num(tc.sem[:, unit])
        ax.errorbar(tc.angles, tc.mean[:, unit], yerr=err, fmt="o", color=color, markeredgecolor="k",
                    ecolor="k", label="mean +/- SEM")
        top = max(top, float(np.nanmax(tc.mean[:, unit] + err)) if np.isfinite(tc.mean[:, unit]).any() else 0.0)
    ax.set_ylim(0.0, max(top * 1.05 if top > 0 else 1.0, earlier))  # a silent unit: radius 0 at the centre
    pd_txt = f"{np.degrees(pd):.0f} deg" if np.isfinite(pd) else "n/a"
    title = f"unit {unit}: PD {pd_txt}"
    if hasattr(result, "is_tuned"):
        title += ", tuned" if bool(result.is_tuned[unit]) else ", not tuned"
    converged = getattr(result, "converged", None)
    if converged is not None and not bool(np.asarray(converged)[unit]):
        title += ", fit not converged"  # a von Mises fit stopped at max_iter: its curve may be far off
    radius = {"hz": "spikes/s", "counts": "spikes per trial"}.get(str(getattr(result, "units", "")))
    if radius:
        title += f"\nradius: {radius}"
    ax.set_title(title, fontsize="medium")
    if created:
        ax.figure.tight_layout()  # our own figure: room for the two-line title
    return ax


@_drawing
def pd_histogram(result, *, tuned_only=True, bins=12, ax=None, color="C0") -> Any:
    """Polar histogram of preferred directions.

    Parameters
    ----------
    result : motorsrnn.tuning.CosineTuning, motorsrnn.tuning.VonMisesTuning or array-like of angles (radians)
        Angles whose magnitude exceeds ``2 pi`` are refused as degrees.
    tuned_only : bool, default=True
        Only units with ``is_tuned`` (ignored for an array of angles). A result without
        ``is_tuned`` (a ``VonMisesTuning``) needs ``tuned_only=False``.
    bins : int, default=12
        Equal sectors over the circle, the first centred on 0 (so that with ``bins`` a multiple of
        the number of directions, every direction is the centre of a sector).
    ax : polar matplotlib Axes or None
    color : matplotlib color

    Returns
    -------
    matplotlib.axes.Axes (polar)
        ``bins`` bar patches.

    Raises
    ------
    ValueError
        If ``bins`` is not a positive integer, ``tuned_only`` is not a bool or is set for a result
        without ``is_tuned``, or the angles look like degrees.
    TypeError
        If ``result`` is a dict (e.g. the per-population fits of one snapshot).
    """
    if isinstance(bins, (bool, np.bool_)) or not isinstance(bins, (numbers.Integral, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    tuned_only = check_bool(tuned_only, "tuned_only")
    if isinstance(result, dict):
        raise TypeError(
            f"result must be one tuning fit or an array of angles, got a dict with keys {list(result)[:5]} "
            "(e.g. TuningSnapshots.results[epoch] holds one fit per population: pick one)"
        )
    if hasattr(result, "preferred_direction"):
        pd = np.asarray(result.preferred_direction, dtype=np.float64)
        if tuned_only and not hasattr(result, "is_tuned"):
            raise ValueError(
                f"tuned_only=True needs is_tuned, which {type(result).__name__} does not have; "
                "pass tuned_only=False to draw the preferred directions of all units"
            )
        if tuned_only:
            pd = pd[np.asarray(result.is_tuned, dtype=bool)]
    else:
        pd = np.asarray(result, dtype=np.float64).ravel()
    finite = pd[np.isfinite(pd)]
    if finite.size and np.abs(finite).max() > 2.0 * np.pi + 1e-9:
        raise ValueError(
            f"preferred directions up to {np.abs(finite).max():.4g} look like degrees: pd_histogram takes "
            "radians (np.radians(...), or the fit's preferred_direction)"
        )
    ax = _axes(ax, polar=True)
    width = 2.0 * np.pi / int(bins)
    # sector k is centred on k * width: shift by half a sector so that angles just below 0 count in sector 0
    pd = np.mod(finite + 0.5 * width, 2.0 * np.pi)
    counts = np.bincount(np.minimum((pd // width).astype(np.int64), int(bins) - 1), minlength=int(bins))
    ax.bar(np.arange(int(bins)) * width, counts, width=width, align="center", color=color, alpha=0.7, edgecolor="k")
    ax.set_ylim(0.0, max(float(ax.get_ylim()[1]), 1.0))  # no negative radius labels, also when empty
    ax.yaxis.set_major_locator(_integer_locator())  # counts: 0, 1, 2, not 0.5
    ax.set_title(f"preferred directions (n = {pd.size}{', tuned' if tuned_only and hasattr(result, 'is_tuned') else ''})",
                 fontsize="medium")
    return ax


@_drawing
def cultivation(snaps, *, reference_epoch=None, persistency=True, ax=None, title=None, label=None,
                active_only=False) -> Any:
    """Cultivation curves: fraction of cosine-tuned units per epoch, per group, and persistency.

    Parameters
    ----------
    snaps : motorsrnn.tuning.TuningSnapshots
        With at least one record.
    reference_epoch : int or None, default=None
        Reference of the persistency curve (None: the first recorded epoch). Must be an integer
        (a bool, float or string raises ValueError).
    persistency : bool, default=True
        Also draw :meth:`~motorsrnn.tuning.TuningSnapshots.persistency` of all units (dashed).
    ax : matplotlib Axes or None
    title : str or None
    label : str or None, default=None
        Prefix of this network's legend entries (``"SRNN: input-driven (h)"``), to overlay the
        curves of several networks on one ``ax``; draw each with its own ``label``. Each network
        drawn on the same ``ax`` gets its own line style and markers (the colours stay those of
        the groups). On an ``ax`` that already holds curves, the x ticks are not reset to this
        network's epochs.
    active_only : bool, default=False
        Fractions of the units that spike on the probe trials
        (:meth:`~motorsrnn.tuning.TuningSnapshots.fraction_tuned` with ``active_only=True``).
        Training often silences units, and a silent unit is never tuned: the default fractions
        then fall with the silencing, whatever the active units do. Compare both.

    Returns
    -------
    matplotlib.axes.Axes
        One line per non-empty group (``"input-driven"``, ``"other"``); a line for all units only
        when both groups are non-empty (with one group it would repeat that group's line, e.g.
        for ``"srnn"``, whose only population ``h`` is input-driven); and the persistency line
        when ``persistency=True``.

    Raises
    ------
    ValueError
        If ``snaps`` is not a TuningSnapshots or has no record, ``reference_epoch`` is not an
        integer or was not recorded, or ``ax`` is not a Cartesian Axes.
    """
    if not hasattr(snaps, "fraction_tuned") or not hasattr(snaps, "groups"):
        raise ValueError("snaps must be a motorsrnn.tuning.TuningSnapshots")
    if reference_epoch is not None:
        from .tuning import _check_epoch

        reference_epoch = _check_epoch(reference_epoch, "reference_epoch")
    persistency = check_bool(persistency, "persistency")
    epochs = snaps.epochs
    if epochs.size == 0:
        raise ValueError("snaps has no record yet")
    if persistency and reference_epoch is not None and reference_epoch not in set(epochs.tolist()):
        raise ValueError(f"reference_epoch {reference_epoch} was not recorded; recorded: {epochs.tolist()}")
    if label is not None and not isinstance(label, str):
        raise ValueError(f"label must be a str or None, got {label!r}")
    active_only = check_bool(active_only, "active_only")
    ax = _axes(ax)
    overlay = bool(ax.lines)
    # the k-th network drawn on this ax: its own line style and markers, the groups' colours
    k = getattr(ax, "_motorsrnn_cultivations", 0) if overlay else 0  # (restarts on a cleared ax)
    ax._motorsrnn_cultivations = k + 1
    linestyle = ["-", ":", "-.", (0, (5, 2)), (0, (1, 3))][k % 5]
    markers = [("o", "."), ("s", "d"), ("^", "v"), ("D", "p"), ("P", "*")][k % 5]
    prefix = "" if label is None else f"{label}: "
    active = " (active units)" if active_only else ""
    styles = {"input-driven": "C0", "other": "C1"}
    groups = snaps.groups
    for group, names in groups.items():
        if names:
            ax.plot(epochs, snaps.fraction_tuned(names, active_only=active_only), marker=markers[0],
                    linestyle=linestyle, color=styles[group], label=f"{prefix}{group} ({', '.join(names)}){active}")
    if all(groups.values()):
        ax.plot(epochs, snaps.fraction_tuned(active_only=active_only), marker=markers[1], linestyle=linestyle,
                color="k", label=f"{prefix}all units{active}")
    if persistency:
        ref = int(epochs[0]) if reference_epoch is None else reference_epoch
        kept = snaps.persistency(ref)
        what = (f"persistency (tuned at epoch {ref})" if np.isfinite(kept).any()
                else f"persistency: no unit tuned at epoch {ref}")
        ax.plot(epochs, kept, linestyle="--", marker="x" if k == 0 else markers[1], color="0.4", label=prefix + what)
    ax.set_ylim(-0.02, 1.02)
    if epochs[0] == -1 or not (overlay and "untrained" in ax.get_xlabel()):  # an overlay keeps the earlier -1
        ax.set_xlabel("epoch (-1 = untrained)" if epochs[0] == -1 else "epoch")
    if epochs.size <= 12 and not overlay:
        ax.set_xticks(epochs)  # the recorded epochs themselves (one epoch alone gets one tick)
    else:  # whole numbers; on an overlay, those of every network drawn here
        ax.xaxis.set_major_locator(_integer_locator())
    ax.set_ylabel("fraction of active units" if active_only else "fraction of units")
    if title is not None:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


@_drawing
def trajectories(traj, *, components=(0, 1), ax=None, labels=None) -> Any:
    """Population trajectories per condition in principal-component space.

    Parameters
    ----------
    traj : Bunch from :func:`motorsrnn.analysis.trajectories`
    components : tuple of 2 or 3 int, default=(0, 1)
        Which components to draw; three give a 3-D plot (``ax`` must then be 3-D or None).
    ax : matplotlib Axes or None
    labels : sequence of str or None
        Legend labels of the conditions (default: the condition values).

    Returns
    -------
    matplotlib.axes.Axes
        One line per condition and one start marker (``"o"``) per condition.
    """
    if not hasattr(traj, "trajectories"):
        raise ValueError("traj must be the Bunch returned by motorsrnn.analysis.trajectories")
    k = traj.trajectories.shape[2]
    try:
        comps = tuple(components) if not isinstance(components, (str, bytes)) else ()
    except TypeError:  # not a sequence
        comps = ()
    if (len(comps) not in (2, 3)
            or any(isinstance(c, (bool, np.bool_)) or not isinstance(c, (numbers.Integral, np.integer)) for c in comps)
            or any(not 0 <= c < k for c in comps)):
        raise ValueError(f"components must be 2 or 3 integer indices in [0, {k}), got {components!r}")
    comps = tuple(int(c) for c in comps)
    conds = traj.conditions
    if labels is None:
        labels = [_label_text(c) for c in conds]
    elif len(labels) != len(conds):
        raise ValueError(f"labels must have one entry per condition ({len(conds)})")
    ax = _axes(ax, three_d=len(comps) == 3)
    for i, color in enumerate(_colors(len(conds))):
        path = traj.trajectories[i][:, comps]
        ax.plot(*path.T, color=color, label=labels[i])
        ax.plot(*path[:1].T, marker="o", color=color, linestyle="none")
    evr = traj.explained_variance_ratio
    ax.set_xlabel(f"PC{comps[0] + 1} ({100 * evr[comps[0]]:.0f}%)")
    ax.set_ylabel(f"PC{comps[1] + 1} ({100 * evr[comps[1]]:.0f}%)")
    if len(comps) == 3:
        ax.set_zlabel(f"PC{comps[2] + 1} ({100 * evr[comps[2]]:.0f}%)")
        ax.legend(title="condition", fontsize="small", loc="upper left")  # clear of the z axis on the right
    else:
        ax.legend(title="condition", fontsize="small")
    return ax


@_drawing
def learning_curves(estimator, *, ax=None) -> Any:
    """Training loss and accuracy per epoch from ``estimator.history_``.

    Parameters
    ----------
    estimator : fitted estimator with ``history_`` or ``loss_curve_``
        A :class:`~motorsrnn.SpikingRNNClassifier` or :class:`~motorsrnn.SpikingRNNRegressor`
        (``history_``: per-epoch dicts with ``epoch`` and ``loss``, and ``accuracy``,
        ``val_loss``, ``val_accuracy`` when present), or a GRU/LSTM baseline of
        :mod:`motorsrnn.baselines` (``loss_curve_`` and ``validation_loss_curve_``: no accuracy).
    ax : matplotlib Axes or None
        The loss goes on ``ax``, the accuracy (classifiers) on ``ax.twinx()``.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, with the lines ``loss`` (and ``val_loss`` with early stopping) and one legend for
        all lines; the twin axes with the accuracy lines is ``ax.accuracy_axes`` (None when the
        history has no accuracy, e.g. a regressor).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``estimator`` is a spiking estimator or a GRU/LSTM baseline that is not fitted.
    ValueError
        If ``estimator`` records no training history (e.g. :class:`motorsrnn.PoissonNaiveBayes`).
    """
    if hasattr(estimator, "history_"):
        history = estimator.history_
    elif hasattr(estimator, "loss_curve_"):  # the GRU/LSTM baselines: loss (and validation loss) per epoch
        val = getattr(estimator, "validation_loss_curve_", None) or [None] * len(estimator.loss_curve_)
        history = [{"epoch": i, "loss": loss, "val_loss": v}
                   for i, (loss, v) in enumerate(zip(estimator.loss_curve_, val))]
    else:
        from sklearn.exceptions import NotFittedError

        from .baselines import GRUClassifier, LSTMClassifier
        from .estimators import _SpikingRNNBase

        if isinstance(estimator, (_SpikingRNNBase, GRUClassifier, LSTMClassifier)):  # (a ValueError too)
            raise NotFittedError(
                f"This {type(estimator).__name__} instance is not fitted yet: fit it before drawing its learning curves"
            )
        raise ValueError(
            f"learning_curves needs an estimator that records a training history (history_, or the "
            f"GRU/LSTM baselines' loss_curve_); {type(estimator).__name__} has none"
        )
    if not history:
        raise ValueError("estimator.history_ is empty: fit it first")
    ax = _axes(ax)
    stale = getattr(ax, "accuracy_axes", None)
    if stale is not None and not ax.lines:  # ax was cleared (ax.clear() keeps its twin): so is the twin
        stale.clear()
    epochs = np.array([h["epoch"] for h in history])
    drawn = ax.plot(epochs, [h["loss"] for h in history], color="C0", label="loss")  # what the legend lists
    has_val = any(h.get("val_loss") is not None for h in history)
    if has_val:
        drawn += ax.plot(epochs, [np.nan if h.get("val_loss") is None else h["val_loss"] for h in history],
                         color="C0", linestyle="--", label="val_loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss", color="C0")
    ax.xaxis.set_major_locator(_integer_locator())  # epochs are whole numbers
    ax2 = None
    if any(h.get("accuracy") is not None for h in history):
        ax2 = getattr(ax, "accuracy_axes", None) or ax.twinx()  # a second call on ax draws on the same twin
        drawn += ax2.plot(epochs, [np.nan if h.get("accuracy") is None else h["accuracy"] for h in history],
                          color="C3", label="accuracy")
        if has_val:
            drawn += ax2.plot(epochs, [np.nan if h.get("val_accuracy") is None else h["val_accuracy"] for h in history],
                              color="C3", linestyle="--", label="val_accuracy")
        ax2.set_ylabel("accuracy", color="C3")
        ax2.set_ylim(0, 1)
    if len(drawn) > 1:
        (ax2 or ax).legend(drawn, [line.get_label() for line in drawn], fontsize="small")
    if ax2 is None and stale is not None and not stale.lines:
        stale.remove()  # a cleared twin a regressor's history does not use
    ax.accuracy_axes = ax2
    return ax


@_drawing
def early_curves(curves, *, chance="auto", time_axis="window", ax=None, **plot_kws) -> Any:
    """Early-classification curves: test accuracy against time into the window, one line per decoder.

    Parameters
    ----------
    curves : dict of str to Bunch, or one Bunch
        Results of :func:`motorsrnn.analysis.early_classification` (anything with ``times`` and
        ``accuracy`` of the same length), by decoder name, e.g. ``compare_models(...).early``;
        a single result is drawn unlabelled.
    chance : float, "auto" or None, default="auto"
        Draws a dotted line at this accuracy (e.g. ``1 / n_classes``), in ``[0, 1]``. ``"auto"``:
        at the curves' own ``chance`` (the most frequent label's share, which
        ``early_classification`` reports) when they all have the same; None: no line.
    time_axis : {"window", "event"}, default="window"
        ``"window"``: x is the time into the window (the curves' ``times``); ``"event"``: the time
        relative to the event the data were binned around (their ``event_times``, which
        ``early_classification`` reports for binned data, e.g. from ``bin_spike_times``).
    ax : matplotlib Axes or None
    **plot_kws
        Passed to every ``ax.plot`` call (e.g. ``marker="."``); ``label`` names a single result
        (with a dict, the keys are the labels).

    Returns
    -------
    matplotlib.axes.Axes
        One ``Line2D`` per decoder, in the order of ``curves`` (and the chance line last).

    Raises
    ------
    ValueError
        If a curve lacks ``times`` or ``accuracy`` or their lengths differ, ``curves`` is empty,
        ``chance`` is not in ``[0, 1]``, ``time_axis`` is unknown, or ``time_axis="event"`` and a
        curve has no ``event_times`` (it was scored on an array, not on binned data).

    Warns
    -----
    UserWarning
        When the curves cover windows of different lengths (``n_timesteps * dt``): decoders
        compared on the same trials cover the same window, so one was likely scored with the
        wrong ``dt`` (a count decoder fitted on wider bins, given the default 1 ms).
    """
    if not hasattr(curves, "accuracy") and not isinstance(curves, Mapping):
        raise TypeError(
            "curves must be an early_classification result or a dict of them by decoder name (e.g. "
            f"compare_models(...).early), got {type(curves).__name__}"
        )
    label = plot_kws.pop("label", None)
    if label is not None and not hasattr(curves, "accuracy"):
        raise ValueError("label names a single early_classification result; with a dict, the keys are the labels")
    items = [(label, curves)] if hasattr(curves, "accuracy") else list(curves.items())
    if not items:
        raise ValueError("curves is empty: give early_classification results by decoder name")
    if time_axis not in ("window", "event"):
        raise ValueError(f"time_axis must be 'window' or 'event', got {time_axis!r}")
    data = []
    for name, curve in items:
        times, accuracy = getattr(curve, "times", None), getattr(curve, "accuracy", None)
        if time_axis == "event":
            times = getattr(curve, "event_times", None)
            if times is None:
                raise ValueError(
                    f"time_axis='event' needs each curve's event_times, and curve {name!r} has none: "
                    "early_classification reports them for binned data (bin_spike_times, from_nwb, ...), "
                    "not for arrays; use time_axis='window'"
                )
        if times is None or accuracy is None or np.shape(times) != np.shape(accuracy) or np.ndim(times) != 1:
            raise ValueError(
                f"curve {name!r} must have 1-D times and accuracy of the same length (an early_classification "
                f"result), got {type(curve).__name__}"
            )
        data.append((name, np.asarray(times, dtype=np.float64), np.asarray(accuracy, dtype=np.float64)))
    if isinstance(chance, str) and chance != "auto":
        raise ValueError(f"chance must be a number in [0, 1], 'auto' or None, got {chance!r}")
    if isinstance(chance, str):
        levels = {getattr(curve, "chance", None) for _, curve in items}
        chance = levels.pop() if len(levels) == 1 else None
    if chance is not None:
        chance = check_number(chance, "chance", low=0.0, high=1.0)
    timed = [(name, int(c.n_timesteps), float(c.dt)) for name, c in items
             if getattr(c, "n_timesteps", None) is not None and getattr(c, "dt", None) is not None]
    spans = [n * dt for _, n, dt in timed]
    if len(spans) > 1 and not np.allclose(spans, spans[0], rtol=1e-9):
        shown = ", ".join(f"{name!r} {n * dt:g} ms ({n} bins of {dt:g} ms)" for name, n, dt in timed)
        warnings.warn(
            f"the curves cover windows of different lengths: {shown}. Decoders scored on the same trials cover the "
            "same window: was one scored with the wrong dt (early_classification(..., dt=bin width in ms), or the "
            "binned data itself)?",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    ax = _axes(ax)
    for name, times, accuracy in data:
        ax.plot(times, accuracy, label=name if name is not None else "_nolegend_", **plot_kws)
    drawn = [line for line in ax.get_lines() if line.get_label() == "chance"]
    if chance is not None and not any(np.allclose(line.get_ydata(), chance) for line in drawn):
        ax.axhline(chance, color="gray", linestyle=":", label="chance" if not drawn else "_chance")
    ax.set_xlabel("time into the window (ms)" if time_axis == "window" else "time from the event (ms)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(-0.02, 1.02)  # a curve at 0 or 1 stays visible off the spines
    if any(name is not None for name, _, _ in data) or chance is not None:
        ax.legend(fontsize="small")
    return ax
