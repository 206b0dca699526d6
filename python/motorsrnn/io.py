"""Recordings in, binned trial arrays out.

The estimators of :mod:`motorsrnn` take ``X`` of shape ``(n_trials, n_timesteps, n_units)``: spike
counts per time bin, one window per trial aligned on an event (e.g. target onset). This module builds
that array from spike times, from NWB files (``pynwb``) and from neo or pynapple objects.

Time-unit conventions
---------------------
* **Absolute times are in seconds**: spike times and event (alignment) times, as in NWB, pynapple and
  most spike sorters' exports. neo objects carry their own units and are rescaled to seconds.
* **Times relative to an event are in milliseconds by default**: ``window``, ``bin_size`` and the
  returned ``times`` and ``bin_size``, like the rest of the package (1 ms time steps). Pass
  ``units="s"`` to give (and get back) the relative times in seconds instead.

Bins
----
Trial ``i`` covers ``[events[i] + start, events[i] + stop)``, cut into ``(stop - start) / bin_size``
bins; bin ``k`` is the left-closed, right-open interval
``[events[i] + start + k * bin_size, events[i] + start + (k + 1) * bin_size)``. A spike exactly on an
edge is counted in the bin that starts there; a spike at ``events[i] + stop`` is outside the window.
Edges are compared with a tolerance of ``1e-6`` bin widths (1 ns for 1 ms bins), so that times written
in decimal which sit on an edge up to floating-point rounding (``1.003`` s against
``1.0 + 0.003``) still count in the bin that starts at that edge. Windows of different trials may
overlap; a spike then counts in each.

Counts are returned as ``uint8`` when every count fits (at most 255 spikes of one unit in one bin,
always the case for 1 ms bins), otherwise in the smallest unsigned integer type that holds them
(``uint16``, ``uint32``, ``uint64``); pass ``dtype`` to choose.

Public functions
----------------
bin_spike_times
    Per-unit spike times and per-trial event times to ``X``.
from_nwb
    An NWB file's units table and trials table to ``X`` (and ``y`` from a trials column).
from_neo
    neo ``SpikeTrain`` objects (or a ``Segment``) to ``X``.
from_pynapple
    A pynapple ``TsGroup`` to ``X``.
cut_samples
    Trials of ``X`` (and their labels or per-bin targets) cut into short samples, e.g. 50 ms, as the
    motorSRNN paper decoded them; ``trial`` keeps each sample's trial for grouped splits.

Optional dependencies are imported only when needed: ``python -m pip install pynwb`` (or
motorsrnn's extra ``"motorsrnn[nwb]"``), ``neo`` (``[neo]``), ``pynapple`` (``[pynapple]``).
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from sklearn.utils import Bunch

from ._validation import InvalidParameterError, check_memory, check_number, install_hint, user_stacklevel

__all__ = ["bin_spike_times", "cut_samples", "from_neo", "from_nwb", "from_pynapple"]

_UNITS = {"ms": 1e-3, "s": 1.0}
_EDGE_TOLERANCE = 1e-6  # in bin widths
_UNSIGNED = (np.uint8, np.uint16, np.uint32, np.uint64)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _binned_parts(data) -> Optional[Tuple[Any, float, np.ndarray]]:
    """``(X, bin width in ms, bin start times in ms)`` of a result of :func:`bin_spike_times`,
    :func:`from_nwb`, :func:`from_neo` or :func:`from_pynapple` (anything with ``X``, ``times``
    and ``bin_size``, in its ``units``); None for anything else."""
    if isinstance(data, np.ndarray) or not all(hasattr(data, a) for a in ("X", "times", "bin_size")):
        return None
    scale = 1000.0 if getattr(data, "units", "ms") == "s" else 1.0
    return data.X, float(data.bin_size) * scale, np.asarray(data.times, dtype=np.float64) * scale


def _trial_array(x):
    """The trials of ``x``: an array as it is, a ``simulate()`` result's ``spikes``, or the ``X``
    of anything with ``X`` and ``times`` (a :func:`bin_spike_times` / ``from_nwb`` result, or a
    dataset of :mod:`motorsrnn.datasets`); anything else as it is."""
    if not isinstance(x, np.ndarray):
        if hasattr(x, "spikes"):
            return x.spikes
        if hasattr(x, "X") and hasattr(x, "times"):
            return x.X
    return x


def _time_axis(x, dt, t0):
    """``(dt, t0)`` in ms: as given; else from the time information of a ``bin_spike_times`` /
    ``from_nwb`` result (``bin_size``, ``times``, ``units``) or a ``simulate()`` result
    (``times``); else 1 and 0. A ``dt`` that contradicts the data's is refused, and so is a
    ``t0`` that contradicts event-aligned times (a ``simulate()`` result's times start at 0 at
    the start of its window: a ``t0`` given for it places the window relative to an event)."""
    own_dt = own_t0 = None
    aligned = getattr(x, "bin_size", None) is not None
    if not isinstance(x, np.ndarray) and hasattr(x, "times"):
        scale = 1000.0 if getattr(x, "units", "ms") == "s" else 1.0
        times = np.asarray(x.times, dtype=np.float64)
        if getattr(x, "bin_size", None) is not None:
            own_dt = float(x.bin_size) * scale
        elif times.size > 1:
            own_dt = float(times[1] - times[0]) * scale
        if times.size:
            own_t0 = float(times[0]) * scale
    out = []
    for name, given, own, default in (("dt", dt, own_dt, 1.0), ("t0", t0, own_t0, 0.0)):
        if given is None:
            value = own if own is not None else default
        else:
            value = check_number(given, f"{name} (ms)", low=0.0, strict_low=True) if name == "dt" else check_number(given, "t0 (ms)")
            if own is not None and (name == "dt" or aligned) and not np.isclose(value, own, rtol=1e-9, atol=1e-9):
                raise ValueError(f"{name}={given!r} ms, but the data's own time axis has {name} = {own:g} ms "
                                 f"(from its times and bin size): leave {name} out to use it")
        out.append(value)
    return tuple(out)


def _require(module: str, extra: str, what: str):
    """Import an optional dependency or raise an ImportError saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{what} needs the optional dependency {module!r}, which is not installed; "
            f"install it with: {install_hint(module, extra)}"
        ) from exc


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


#: Windows shorter than this (ms) with ``units="ms"`` are taken for windows in seconds and get a hint.
_SHORT_MS = 5.0


def _check_timing(window, bin_size, units) -> Tuple[float, float, float, int]:
    """Validate ``window``, ``bin_size`` and ``units``; return start, stop, bin size and bin count."""
    if not isinstance(units, str) or units not in _UNITS:
        raise ValueError(f"units must be 'ms' or 's' (for window and bin_size), got {units!r}")
    if isinstance(window, (str, bytes)) or not hasattr(window, "__len__") or len(window) != 2:
        raise ValueError(
            f"window must be a pair (start, stop) of times in {units} relative to each event, "
            f"got {window!r}"
        )
    start, stop = window
    if not (_is_real(start) and _is_real(stop) and math.isfinite(start) and math.isfinite(stop)):
        raise ValueError(f"window must hold two finite numbers (start, stop), got {window!r}")
    # float32 values (e.g. from a MATLAB file) are exact only to about 6e-8 of their size: a window
    # that is a whole number of bins up to that rounding is accepted (below)
    eps = max([0.0] + [float(np.finfo(v.dtype).eps) for v in (start, stop, bin_size)
                       if isinstance(v, np.floating) and np.finfo(v.dtype).eps > np.finfo(np.float64).eps])
    start, stop = _decimal(start), _decimal(stop)
    if stop <= start:
        raise ValueError(f"window stop must be greater than start, got window=({start:g}, {stop:g}) {units}")
    if not _is_real(bin_size) or not math.isfinite(bin_size) or bin_size <= 0:
        error = ValueError if _is_real(bin_size) else InvalidParameterError  # (also a TypeError: not a number)
        raise error(f"bin_size must be a positive finite number (in {units}), got {bin_size!r}")
    bin_size = _decimal(bin_size)
    ratio = (stop - start) / bin_size
    n_bins = int(round(ratio))
    # in bins: the rounding of start, stop and bin_size in their own precision (4 ulps each), or 1e-9
    tolerance = max(1e-9 * max(1.0, ratio), 4.0 * eps * ((abs(start) + abs(stop)) / bin_size + ratio))
    if n_bins < 1 or abs(ratio - n_bins) > tolerance:
        fit = max(1, math.floor(ratio + tolerance))
        raise ValueError(
            f"the window length stop - start = {stop - start:.7g} {units} is not a whole number of bins of "
            f"bin_size = {bin_size:g} {units} ({ratio:.7g} bins); use e.g. "
            f"window=({start:g}, {start + fit * bin_size:g}) or a bin_size that divides {stop - start:g}"
            + ("; for a window in seconds pass units='s'" if units == "ms" and stop - start < _SHORT_MS else "")
        )
    if eps and abs(ratio - n_bins) > 1e-9 * max(1.0, ratio):
        # the bins of the window asked for: float32 rounding of bin_size must not move the last edge
        bin_size = (stop - start) / n_bins
    return start, stop, bin_size, n_bins


def _decimal(value) -> float:
    """``value`` as a float; a float32 (or float16) one, e.g. read from a MATLAB file, as the
    shortest decimal that its type reads as it (0.3, not 0.30000001192092896), so that windows and
    bin widths derived from it meet the same values given as Python floats."""
    if isinstance(value, np.floating) and value.dtype.itemsize < 8:
        return float(str(value))
    return float(value)


def _time_kind(values) -> str:
    """``"m"`` for durations (``timedelta64``, ``datetime.timedelta``, pandas ``Timedelta``), ``"M"``
    for dates (``datetime64``, ``datetime``), ``""`` otherwise (numbers)."""
    kind = getattr(getattr(values, "dtype", None), "kind", None)
    if kind in ("m", "M"):
        return kind
    if kind not in (None, "O") or (kind is None and not isinstance(values, (list, tuple))):
        return ""  # numbers, or something that np.asarray below need not look into
    first = np.asarray(values, dtype=object).ravel()[:1]
    if first.size and isinstance(first[0], (np.timedelta64, _dt.timedelta)):
        return "m"
    if first.size and isinstance(first[0], (np.datetime64, _dt.date)):
        return "M"
    return ""


def _check_times(values, name: str) -> np.ndarray:
    """1-D finite float64 array of times in seconds (for spikes of one unit or for events)."""
    if getattr(values, "dtype", None) == np.bool_ or (
        isinstance(values, (list, tuple)) and values and all(isinstance(v, (bool, np.bool_)) for v in values)
    ):
        raise TypeError(
            f"{name} is boolean, like a raster with one entry per sample, not a list of times: convert it "
            "with np.flatnonzero(raster) / sampling_rate_hz (times in seconds)"
        )
    kind = _time_kind(values)
    if kind == "m":  # durations carry their unit: converted to seconds, not read as numbers
        values = np.asarray(values, dtype="timedelta64[ns]") / np.timedelta64(1, "s")
    elif kind == "M":
        raise TypeError(
            f"{name} are dates and times (datetime64): pass seconds from a common origin instead, e.g. "
            "(times - recording_start) / np.timedelta64(1, 's'), for the spike times and the events alike"
        )
    if np.iscomplexobj(values) or (isinstance(values, (list, tuple)) and any(isinstance(v, complex) for v in values)):
        raise TypeError(f"{name} are complex numbers: times must be real (in seconds)")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a 1-D array of times in seconds, could not convert: {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of times in seconds, got an array of shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "NaN" if np.isnan(arr[i]) else "infinite"
        raise ValueError(
            f"{name} contains {int(bad.sum())} non-finite value(s) ({what} at index {i}); times must be finite"
        )
    return arr


def _unit_list(spike_times, allow_empty: bool = False) -> Tuple[List[Any], List[Any]]:
    """Split ``spike_times`` (sequence or mapping of per-unit arrays) into ids and arrays (none
    only with ``allow_empty``)."""
    if isinstance(spike_times, Mapping):
        ids = list(spike_times.keys())
        trains = [spike_times[k] for k in ids]
    elif hasattr(spike_times, "groups") and hasattr(spike_times, "obj") and hasattr(spike_times, "__iter__"):
        # a pandas groupby of spike times, e.g. table.groupby("unit")["time"]: its groups are the units
        try:
            ids, trains = map(list, zip(*[(key, np.asarray(group)) for key, group in spike_times]))
        except ValueError:  # no group
            ids, trains = [], []
    elif getattr(spike_times, "ndim", None) == 1 and hasattr(spike_times, "index") and callable(
            getattr(spike_times, "items", None)):  # a pandas Series of arrays, e.g. groupby("unit")["time"].apply(list)
        ids = list(spike_times.index)
        trains = list(spike_times.values)
        if trains and all(isinstance(t, numbers.Number) for t in trains):
            raise TypeError(
                "spike_times must be a list of 1-D arrays (one per unit) or a dict {unit_id: times}, got a pandas "
                "Series of numbers (one unit's times?); for a single unit pass [times], for a table of spikes "
                "table.groupby('unit')['time']"
            )
    elif isinstance(spike_times, (str, bytes)):
        raise TypeError("spike_times must be a list of 1-D arrays (one per unit) or a dict {unit_id: times}")
    elif isinstance(spike_times, np.ndarray) and spike_times.dtype != object:
        raise TypeError(
            "spike_times must be a list of 1-D arrays (one per unit) or a dict {unit_id: times}, got a "
            f"numeric array of shape {spike_times.shape}; for a single unit pass [times]"
        )
    else:
        try:
            trains = list(spike_times)
        except TypeError:
            raise TypeError(
                "spike_times must be a list of 1-D arrays (one per unit) or a dict {unit_id: times}, "
                f"got {type(spike_times).__name__}"
            ) from None
        ids = list(range(len(trains)))
        if trains and all(isinstance(t, numbers.Number) for t in trains):
            raise TypeError(
                "spike_times must be a list of 1-D arrays (one per unit) or a dict {unit_id: times}, got a flat "
                "list of numbers; for a single unit pass [times]"
            )
    if not trains and not allow_empty:
        raise ValueError("spike_times holds no units: pass at least one (possibly empty) array of spike times")
    try:
        repeated = [u for u, n in Counter(ids).items() if n > 1]
    except TypeError:  # ids that cannot be hashed (a Series' index holds hashable labels; lists give 0, 1, ...)
        repeated = []
    if repeated:
        raise ValueError(f"unit ids must be unique: {repeated[:5]} appear more than once (a Series with a repeated "
                         "index?); group the spikes by unit first")
    return ids, trains


def _select_units(ids: List[Any], trains: List[Any], unit_ids) -> Tuple[List[Any], List[Any]]:
    """The units ``unit_ids`` in that order; a unit without spike times gets none (a zero column)."""
    if isinstance(unit_ids, (str, bytes)) or not isinstance(unit_ids, Iterable):
        raise TypeError(f"unit_ids must be a sequence of unit ids, got {unit_ids!r}")
    wanted = list(unit_ids)
    if not wanted:
        raise ValueError("unit_ids is empty: pass the ids of the units to bin (or None for all)")
    try:
        repeated = [u for u, n in Counter(wanted).items() if n > 1]
        by_id = dict(zip(ids, trains))
    except TypeError:
        raise TypeError("unit_ids must hold hashable ids (numbers or strings), as spike_times' keys") from None
    if repeated:
        raise ValueError(f"unit_ids must be unique: {repeated[:5]} appear more than once")
    if ids and not any(u in by_id for u in wanted):
        warnings.warn(
            f"none of unit_ids ({wanted[:5]}{', ...' if len(wanted) > 5 else ''}) is among the ids of spike_times "
            f"({ids[:5]}{', ...' if len(ids) > 5 else ''}): every column is zero. Ids of another type (strings "
            "against numbers)?",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return wanted, [by_id.get(u, np.empty(0)) for u in wanted]


def _ids_array(ids: Sequence[Any]) -> np.ndarray:
    """Unit ids as an array, of object dtype when their types differ (so nothing is coerced)."""
    if len({type(i) for i in ids}) == 1:
        arr = np.asarray(ids)
        if arr.ndim == 1:
            return arr
    out = np.empty(len(ids), dtype=object)
    out[:] = ids
    return out


def _result_dtype(dtype, max_count: int):
    """The dtype of ``X``: the smallest unsigned type holding ``max_count``, or the user's (checked)."""
    if dtype is None:
        for t in _UNSIGNED:
            if max_count <= np.iinfo(t).max:
                return np.dtype(t)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        if max_count > 1:
            raise ValueError(f"dtype={dt} cannot hold spike counts above 1, found a count of {max_count}")
    elif dt.kind in "ui":
        if max_count > np.iinfo(dt).max:
            raise ValueError(
                f"dtype={dt} cannot hold a count of {max_count} spikes in one bin (max {np.iinfo(dt).max}); "
                "use a wider type or dtype=None"
            )
    elif dt.kind == "f":
        exact = 2 ** (np.finfo(dt).nmant + 1)  # every integer up to this is exact in the float type
        if max_count > exact:
            raise ValueError(
                f"dtype={dt} cannot hold a count of {max_count} spikes in one bin exactly (integers are exact up to "
                f"{exact}); use a wider type or dtype=None"
            )
    else:
        raise ValueError(f"dtype must be an integer, unsigned, float or bool type, got {dt}")
    return dt


def _count(train: np.ndarray, ev: np.ndarray, start_s: float, bin_s: float, n_bins: int) -> np.ndarray:
    """Counts of one unit's sorted spike times, shape (n_trials, n_bins), without a loop over trials.

    The spikes of each window are located with two binary searches per trial, gathered, and binned
    with one ``bincount``: the cost is proportional to the spikes inside the windows, not to the
    length of the recording.
    """
    n_trials = ev.size
    tol = _EDGE_TOLERANCE * bin_s
    lo = np.searchsorted(train, ev + (start_s - tol), side="left")
    hi = np.searchsorted(train, ev + (start_s + n_bins * bin_s - tol), side="left")
    n = hi - lo
    total = int(n.sum())
    if total == 0:
        return np.zeros((n_trials, n_bins), dtype=np.int64)
    trial = np.repeat(np.arange(n_trials), n)
    first = np.repeat(lo - (np.cumsum(n) - n), n)  # index in train of each gathered spike, minus its rank
    spikes = train[first + np.arange(total)]
    k = np.floor((spikes - ev[trial] - start_s) / bin_s + _EDGE_TOLERANCE).astype(np.int64)
    np.clip(k, 0, n_bins - 1, out=k)  # rounding at the two ends of the window
    return np.bincount(trial * n_bins + k, minlength=n_trials * n_bins).reshape(n_trials, n_bins)


# ---------------------------------------------------------------------------------------------
# Spike times
# ---------------------------------------------------------------------------------------------
#: Shortest window, as a share of the median time between events, that does not look like a mix-up of units.
_MIN_WINDOW_SHARE = 1e-3


def _warn_if_units_look_mixed(trains, ev, X, start_s, stop_s, window, bin_size, units) -> None:
    """Warn when the result looks like a mix-up of time units: a window under 0.1 % of the median
    time between events (events and spikes in ms or sample indices); no spike in any window although
    the windows lie outside the spikes' time range or cover under 0.1 % of it, or the spikes' range
    200 times the trials' with the trials in its first 1 % (spike times in ms or in samples with
    events in seconds, or the reverse); or bins under 0.1 ms or a window under 5 ms (a window in
    seconds with ``units="ms"``)."""
    span_ms = 1000.0 * (stop_s - start_s)
    if units == "ms" and (bin_size < 0.1 or span_ms < _SHORT_MS):
        what = f"bin_size is {bin_size:g} ms" if bin_size < 0.1 else f"the window spans only {span_ms:g} ms"
        warnings.warn(
            f"{what}: with units='ms' the window and bin_size are in milliseconds; for seconds pass units='s'",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    n_spikes = sum(t.size for t in trains)
    if not n_spikes:
        return
    first = min(float(t[0]) for t in trains if t.size)
    last = max(float(t[-1]) for t in trains if t.size)
    lo, hi = float(ev.min()) + start_s, float(ev.max()) + stop_s
    gaps = np.diff(np.unique(ev))
    spacing = float(np.median(gaps)) if gaps.size else 0.0
    if spacing > 0 and (stop_s - start_s) < _MIN_WINDOW_SHARE * spacing:
        # trials seconds apart, windows of a fraction of a millisecond: events and spikes in ms or
        # in sample indices (with the window in ms), the windows then catch next to nothing
        warnings.warn(
            f"the window ({float(window[0]):g}, {float(window[1]):g}) {units} spans {stop_s - start_s:g} s, under "
            f"{_MIN_WINDOW_SHARE:.1%} of the median time between events ({spacing:.6g} s); {int(X.sum())} of the "
            f"{n_spikes} spikes were counted. Are spike times and events both in seconds (not ms or sample "
            f"indices), and the window in {units}?",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return
    if X.any():
        # some spikes counted, but the recording spans far more than the trials, which lie in its
        # first moments: spike times in ms or samples with events in seconds (a block of trials
        # within a long session lies further in)
        if (ev.size > 1 and ev.max() > ev.min() and (last - first) > 200.0 * (hi - lo)
                and hi - first < 0.01 * (last - first)):
            warnings.warn(
                f"the spikes span {last - first:.6g} s, {(last - first) / (hi - lo):.0f} times the trials' windows "
                f"({lo:g} to {hi:g} s), and {int(X.sum())} of the {n_spikes} spikes were counted. Are spike times "
                "and events both in seconds (not ms or sample indices)?",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        return
    if hi <= first or lo >= last or (hi - lo) < 1e-3 * (last - first):
        warnings.warn(
            f"none of the {n_spikes} spikes falls in a trial's window: the spikes lie between {first:g} and "
            f"{last:g} s, the windows between {lo:g} and {hi:g} s (events {float(ev.min()):g} to "
            f"{float(ev.max()):g} s, window ({float(window[0]):g}, {float(window[1]):g}) {units}). Are spike times and events both in seconds (not "
            f"ms or sample indices), and the window in {units}?",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def _coarse_float32(times, what: str, bin_s: float):
    """``(what, latest time, (resolution, dtype name))`` when ``times`` are float32 (or float16)
    seconds too coarse at their latest time to place spikes in bins of ``bin_s`` seconds (within 1 %
    of a bin), else None."""
    dtype = getattr(times, "dtype", None)
    if dtype is None or dtype.kind != "f" or dtype.itemsize >= 8 or not np.size(times):
        return None
    latest = float(np.max(np.abs(np.asarray(times))))
    step = float(np.spacing(np.asarray(latest, dtype=dtype)))  # the resolution at the latest time
    return (what, latest, (step, str(dtype))) if step > 0.01 * bin_s else None


def bin_spike_times(spike_times, events, *, window, bin_size=1.0, units="ms", dtype=None, unit_ids=None) -> Bunch:
    """Bin per-unit spike times into event-aligned trials.

    Parameters
    ----------
    spike_times : sequence of array-like, or dict {unit_id: array-like}
        Spike times of each unit, in **seconds** (the clock of ``events``). Each entry is 1-D, may be
        empty (the unit's counts are all zero) and need not be sorted. A list gives ``unit_ids``
        ``0, 1, ...``; a dict (or a pandas Series of arrays, or a pandas groupby such as
        ``spikes.groupby("unit")["time"]``) keeps its keys (index, groups), in order.
        Durations (``timedelta64``, pandas ``Timedelta``) are converted to seconds by their unit;
        dates (``datetime64``) are refused: subtract a common origin first. A numeric 2-D array is refused (ambiguous);
        pass ``list(array)`` if its rows really are units.
    events : array-like of shape (n_trials,)
        Alignment time of each trial (e.g. target onset), in **seconds** (or durations, as for
        ``spike_times``). Trials may overlap and need not be sorted.
    window : (float, float)
        ``(start, stop)`` of every trial relative to its event, in ``units`` (milliseconds by default):
        ``(-100, 400)`` is 100 ms before to 400 ms after the event. ``stop - start`` must be a whole
        number of bins.
    bin_size : float, default=1.0
        Width of a time bin, in ``units``.
    units : {"ms", "s"}, default="ms"
        Unit of ``window``, ``bin_size`` and of the returned ``times`` and ``bin_size``. Spike and event
        times are always in seconds.
    dtype : dtype or None, default=None
        dtype of ``X``. ``None`` gives ``uint8`` when every count is at most 255, otherwise the smallest
        of ``uint16``, ``uint32``, ``uint64`` that holds them. An integer (or bool) dtype too small
        for the counts raises rather than wrapping around. The counts are made unit by unit and
        transposed into ``X`` at the end, so the binning needs twice the memory of ``X``, plus 8
        bytes per trial and bin for the unit being counted (refused with ``MemoryError``
        beforehand when that does not fit).
    unit_ids : sequence or None, default=None
        The units to bin, in this order (the columns of ``X``), by id (list positions or dict
        keys); None: every unit of ``spike_times``. A listed unit without an entry in
        ``spike_times`` gets a column of zeros: a unit that fired no spike in a session (which a
        pandas ``groupby`` of the spikes has no group for) keeps its column, so sessions line up;
        so does every unit of a session without spikes (an empty dict or groupby). Repeated ids
        are refused; when none of them is among ``spike_times``' ids, ``bin_spike_times`` warns.

    Returns
    -------
    sklearn.utils.Bunch
        X : ndarray of shape (n_trials, n_bins, n_units)
            ``X[i, k, u]`` is the number of spikes of unit ``u`` in bin ``k`` of trial ``i``, i.e. in
            ``[events[i] + start + k * bin_size, events[i] + start + (k + 1) * bin_size)``
            (left-closed, right-open; edges compared with a tolerance of 1e-6 bin widths).
        times : ndarray of shape (n_bins,)
            Start of each bin relative to the event, in ``units``.
        unit_ids : ndarray of shape (n_units,)
            Id of each unit (list positions or dict keys).
        bin_size : float
            Bin width, in ``units``.
        dt : float
            Bin width in ms, whatever ``units``: the ``dt`` of an estimator fitted on ``X``
            (``SpikingRNNClassifier(dt=binned.dt)``).
        window : tuple of float
            ``(start, stop)``, in ``units``.
        units : str
            ``units``.
        events : ndarray of shape (n_trials,)
            Alignment times, in seconds (float64).

    Raises
    ------
    ValueError
        NaN or infinite spike or event times, no units, no events, arrays that are not 1-D,
        ``stop <= start``, a window that is not a whole number of bins, a non-positive ``bin_size``,
        unknown ``units``, a ``dtype`` too small for the counts.
    TypeError
        ``spike_times`` that is not a list/dict of per-unit arrays.

    Warns
    -----
    UserWarning
        When the time units look mixed up: no spike falls in any window although the windows lie
        outside the spikes' time range or cover under 0.1 % of it (spike times in ms or in samples
        with events in seconds, or the reverse), or ``bin_size`` is under 0.1 ms or the window
        spans under 5 ms with ``units="ms"`` (a window in seconds?).

    See Also
    --------
    from_nwb, from_neo, from_pynapple

    Notes
    -----
    Counting is vectorised per unit, with no Python loop over trials or bins: the spikes are sorted,
    the two ends of every trial's window are located with :func:`numpy.searchsorted`, and the spikes
    inside the windows are gathered and counted with one :func:`numpy.bincount`. The cost per unit is
    ``O(n_spikes log n_spikes + n_trials log n_spikes + n_spikes_in_windows + n_trials * n_bins)``.

    Examples
    --------
    Two units, two trials with events at 1.0 s and 2.0 s, 5 bins of 1 ms from the event:

    >>> from motorsrnn.io import bin_spike_times
    >>> spikes = {"a": [1.0, 1.0015, 1.0018, 1.005, 2.004], "b": []}
    >>> data = bin_spike_times(spikes, [1.0, 2.0], window=(0, 5), bin_size=1.0)
    >>> data.X.shape, data.X.dtype
    ((2, 5, 2), dtype('uint8'))
    >>> data.X[:, :, 0]  # 1.005 s is at the right end of trial 0: outside
    array([[1, 2, 0, 0, 0],
           [0, 0, 0, 0, 1]], dtype=uint8)
    >>> data.times
    array([0., 1., 2., 3., 4.])
    >>> data.unit_ids
    array(['a', 'b'], dtype='<U1')

    Windows and bins in seconds:

    >>> bin_spike_times([[0.1, 0.6]], [0.0], window=(-0.5, 1.0), bin_size=0.5, units="s").X[0, :, 0]
    array([0, 1, 1], dtype=uint8)
    """
    start, stop, bin_size, n_bins = _check_timing(window, bin_size, units)
    ids, trains = _unit_list(spike_times, allow_empty=unit_ids is not None)
    if unit_ids is not None:
        ids, trains = _select_units(ids, trains, unit_ids)
    if dtype is not None:
        _result_dtype(dtype, 0)  # reject unusable dtypes before any work
    coarse = _coarse_float32(events, "event times", bin_size * _UNITS[units])
    ev = _check_times(events, "events")
    if ev.size == 0:
        raise ValueError("events is empty: pass one alignment time (in seconds) per trial")
    sorted_trains = []
    for uid, train in zip(ids, trains):
        # the first unit whose float32 times cannot place spikes in their bins
        coarse = coarse or _coarse_float32(train, f"spike times of unit {uid!r}", bin_size * _UNITS[units])
        arr = _check_times(train, f"spike times of unit {uid!r}")
        sorted_trains.append(arr if np.all(arr[1:] >= arr[:-1]) else np.sort(arr))

    if coarse is not None:
        what, latest, step = coarse
        warnings.warn(
            f"{what} are {step[1]}: at {latest:.6g} s they are exact only to {step[0] * 1e3:.3g} ms, which moves "
            f"spikes across bins of {bin_size:g} {units}; pass them as float64",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    scale = _UNITS[units]
    out_dtype = np.dtype(np.uint8) if dtype is None else np.dtype(dtype)
    # counted unit by unit into contiguous rows, then transposed once: writing each unit into the
    # last axis of X directly (stride n_units) took 80 % of the time
    # X twice (by unit, then transposed) and one unit's int64 counts (_count's bincount)
    check_memory((2 * len(sorted_trains) * out_dtype.itemsize + 8) * ev.size * n_bins,
                 f"{ev.size} trials x {n_bins} bins x {len(sorted_trains)} units (twice, while it is transposed, "
                 "and one unit's counts)",
                 f"check window={window!r} and bin_size={bin_size!r} (in {units})")
    by_unit = np.zeros((len(sorted_trains), ev.size, n_bins), dtype=out_dtype)
    for u, train in enumerate(sorted_trains):
        if train.size == 0:
            continue
        counts = _count(train, ev, start * scale, bin_size * scale, n_bins)
        peak = int(counts.max())
        if dtype is None and peak > np.iinfo(by_unit.dtype).max:
            by_unit = by_unit.astype(_result_dtype(None, peak))
        elif dtype is not None:
            _result_dtype(dtype, peak)
        by_unit[u] = counts
    X = np.ascontiguousarray(by_unit.transpose(1, 2, 0))
    del by_unit
    _warn_if_units_look_mixed(sorted_trains, ev, X, start * scale, stop * scale, window, bin_size, units)
    times = np.arange(n_bins) * bin_size + start
    return Bunch(
        X=X,
        times=times,
        unit_ids=_ids_array(ids),
        bin_size=bin_size,
        dt=bin_size * 1000.0 * _UNITS[units],
        window=(start, stop),
        units=units,
        events=ev,
    )


# ---------------------------------------------------------------------------------------------
# NWB
# ---------------------------------------------------------------------------------------------
def _ragged(table, name: str) -> List[np.ndarray]:
    """Rows of a ragged column of an hdmf DynamicTable (e.g. ``spike_times``), read in one go."""
    col = table[name]
    target = getattr(col, "target", None)
    if target is not None:  # VectorIndex: end offsets into one flat VectorData
        ends = np.asarray(col.data[:], dtype=np.int64)
        flat = np.asarray(target.data[:], dtype=np.float64)
        starts = np.concatenate([[0], ends[:-1]])
        return [flat[s:e] for s, e in zip(starts, ends)]
    return [np.atleast_1d(np.asarray(col[i], dtype=np.float64)) for i in range(len(table))]


def _column(table, name: str, what: str) -> np.ndarray:
    """A flat (one value per row) column of an hdmf DynamicTable as a NumPy array."""
    colnames = list(getattr(table, "colnames", ()))
    if name not in colnames:
        raise ValueError(f"{what} {name!r} is not a column of the trials table; its columns are {colnames}")
    col = table[name]
    if getattr(col, "target", None) is not None:
        raise ValueError(f"{what} {name!r} is a ragged column (several values per trial); need one value per trial")
    values = col.data[:]
    arr = np.asarray(values)
    if arr.dtype.kind == "S" or (arr.dtype == object and arr.size and isinstance(arr.flat[0], bytes)):
        arr = np.array([v.decode("utf-8") if isinstance(v, bytes) else v for v in arr.tolist()])
    return arr


def _select(n: int, selection, what: str) -> np.ndarray:
    """Row indices from None (all), a boolean mask of length n, or integer positions."""
    if selection is None:
        return np.arange(n)
    sel = np.asarray(selection)
    if sel.dtype.kind == "b":
        if sel.shape != (n,):
            raise ValueError(f"a boolean {what} mask must have shape ({n},), got {sel.shape}")
        return np.flatnonzero(sel)
    if sel.dtype.kind not in "iu" or sel.ndim != 1:
        raise ValueError(f"{what} must be None, a boolean mask or a 1-D array of integers, got {selection!r}")
    if sel.size and (sel.min() < -n or sel.max() >= n):
        raise ValueError(f"{what} index out of range for a table of {n} rows: {sel.tolist()}")
    return sel


def _observed(lo: np.ndarray, hi: np.ndarray, intervals) -> np.ndarray:
    """``(n_trials, n_units)`` bool: whether each trial's window ``[lo, hi)`` lies inside one of the
    unit's observation intervals (``(k, 2)`` start and stop times; overlapping or touching
    intervals merged). A unit without intervals counts as observed throughout."""
    observed = np.ones((lo.size, len(intervals)), dtype=bool)
    for j, iv in enumerate(intervals):
        iv = np.asarray(iv, dtype=np.float64).reshape(-1, 2)
        if iv.size == 0:
            continue
        iv = iv[np.argsort(iv[:, 0], kind="stable")]
        merged = [list(iv[0])]
        for a, b in iv[1:]:
            if a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        m = np.asarray(merged)
        k = np.searchsorted(m[:, 0], lo, side="right") - 1  # the interval starting at or before each window
        observed[:, j] = (k >= 0) & (hi <= m[np.maximum(k, 0), 1])
    return observed


def _from_nwbfile(nwbfile, *, event, window, bin_size, units, unit_ids, trials, label_column, dtype) -> Bunch:
    table = getattr(nwbfile, "units", None)
    if table is None or len(table) == 0:
        raise ValueError("the NWB file has no units table (nwbfile.units) or it is empty: nothing to bin")
    trials_table = getattr(nwbfile, "trials", None)
    if trials_table is None or len(trials_table) == 0:
        raise ValueError("the NWB file has no trials table (nwbfile.trials) or it is empty: no events to align on")
    if not isinstance(event, str):
        raise ValueError(f"event must be the name of a column of the trials table, got {event!r}")

    all_ids = np.asarray(table.id[:])
    rows: np.ndarray  # (one annotation for the three branches: numpy's stubs type them differently)
    if unit_ids is None:
        rows = np.arange(len(all_ids))
    elif np.asarray(unit_ids).dtype.kind == "b":
        rows = _select(len(all_ids), unit_ids, "unit_ids")
    else:
        wanted = np.atleast_1d(np.asarray(unit_ids))
        repeated = [v for v, n in Counter(wanted.tolist()).items() if n > 1]
        if repeated:
            raise ValueError(
                f"unit_ids must not repeat an id (each unit is one channel of X): {repeated} given more than once"
            )
        position = {v: i for i, v in enumerate(all_ids.tolist())}
        missing = [v for v in wanted.tolist() if v not in position]
        if missing:
            raise ValueError(f"unit_ids {missing} are not ids of the units table (ids: {all_ids.tolist()})")
        rows = np.array([position[v] for v in wanted.tolist()], dtype=np.int64)
    if rows.size == 0:
        raise ValueError("unit_ids selects no units")
    repeated = [v for v, n in Counter(all_ids[rows].tolist()).items() if n > 1]
    if repeated:
        raise ValueError(
            f"the units table has several rows with the id(s) {repeated} among the selected units (each unit "
            "is one channel of X, named by its id); select one row per id with a boolean mask as unit_ids"
        )
    unit_columns = list(getattr(table, "colnames", ()))
    if "spike_times" not in unit_columns:
        raise ValueError(f"the units table has no 'spike_times' column; its columns are {unit_columns}")
    trains = _ragged(table, "spike_times")
    spikes = {all_ids[r].item(): trains[r] for r in rows}

    trial_rows = _select(len(trials_table), trials, "trials")
    if trial_rows.size == 0:
        raise ValueError("trials selects no trials")
    try:
        ev = _column(trials_table, event, "event").astype(np.float64)[trial_rows]
    except (TypeError, ValueError) as e:
        if "column" in str(e):  # _column's own messages already name the column
            raise
        raise ValueError(f"event column {event!r} must hold times in seconds (numbers): {e}") from None
    nan = np.flatnonzero(~np.isfinite(ev))
    if nan.size:
        raise ValueError(
            f"event column {event!r} is NaN or infinite for {nan.size} selected trial(s) (table rows "
            f"{trial_rows[nan][:10].tolist()}); drop them with trials=mask"
        )
    out = bin_spike_times(spikes, ev, window=window, bin_size=bin_size, units=units, dtype=dtype)
    out.trial_ids = np.asarray(trials_table.id[:])[trial_rows]
    out.event = event
    out.observed = None
    if "obs_intervals" in unit_columns:
        intervals = _ragged(table, "obs_intervals")
        scale = _UNITS[units]
        out.observed = _observed(ev + out.window[0] * scale, ev + out.window[1] * scale, [intervals[r] for r in rows])
        lost = ~out.observed
        if lost.any():
            units_lost = np.flatnonzero(lost.any(axis=0))
            warnings.warn(
                f"{int(lost.sum())} of the {lost.size} trial x unit windows lie outside their unit's obs_intervals "
                f"(units {out.unit_ids[units_lost][:5].tolist()}{', ...' if units_lost.size > 5 else ''}): their "
                "counts of 0 there are not silence, the unit was not observed. `observed` (n_trials, n_units) marks "
                "the windows that were; leave the others out (e.g. the trials or units with False)",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
    if label_column is not None:
        out.y = _column(trials_table, label_column, "label_column")[trial_rows]
    return out


def from_nwb(
    nwbfile,
    *,
    window,
    event="start_time",
    bin_size=1.0,
    units="ms",
    unit_ids=None,
    trials=None,
    label_column=None,
    dtype=None,
) -> Bunch:
    """Bin the units of an NWB file into trials aligned on a column of its trials table.

    Parameters
    ----------
    nwbfile : str, path-like or pynwb.NWBFile
        A path to an NWB (HDF5) file, opened read-only with :class:`pynwb.NWBHDF5IO` and closed before
        returning, or an NWBFile object already open (left open).
    window : (float, float)
        ``(start, stop)`` of every trial relative to its event, in ``units`` (ms by default).
    event : str, default="start_time"
        Column of ``nwbfile.trials`` holding the alignment time of each trial, in seconds (the file's
        clock): ``"start_time"``, ``"stop_time"`` or a custom column such as ``"target_on_time"``.
    bin_size : float, default=1.0
        Width of a time bin, in ``units``.
    units : {"ms", "s"}, default="ms"
        Unit of ``window``, ``bin_size`` and the returned ``times``.
    unit_ids : None, array-like of ids, or boolean mask, default=None
        Units to keep: ``None`` for all rows of ``nwbfile.units``, a list of distinct values of its
        ``id`` column (in the order wanted), or a boolean mask over its rows (e.g.
        ``nwbfile.units["quality"][:] == "good"``).
    trials : None, boolean mask or integer positions, default=None
        Rows of ``nwbfile.trials`` to keep (e.g. only correct trials, or those whose event is not NaN).
    label_column : str or None, default=None
        Column of the trials table returned as ``y`` (e.g. the reach direction).
    dtype : dtype or None, default=None
        dtype of ``X``, as in :func:`bin_spike_times`.

    Returns
    -------
    sklearn.utils.Bunch
        The fields of :func:`bin_spike_times` (``X``, ``times``, ``unit_ids`` from the units table's
        ``id`` column, ``bin_size``, ``window``, ``units``, ``events``), plus ``trial_ids`` (the trials
        table's ``id`` of each row of ``X``), ``event``, ``observed`` and, if ``label_column`` is
        given, ``y`` (byte strings decoded to ``str``). ``observed`` is None unless the units table
        has an ``obs_intervals`` column; then it is a boolean array (n_trials, n_units): whether
        each trial's window lies inside the unit's observation intervals (a unit with no
        intervals counts as observed). Spike times are binned as they are: outside those
        intervals a count of 0 means "not observed", not silence.

    Warns
    -----
    UserWarning
        When some trial's window lies outside its unit's ``obs_intervals``.

    Raises
    ------
    ImportError
        If ``nwbfile`` is a path and ``pynwb`` is not installed (``python -m pip install pynwb``).
    ValueError
        No units or trials table, unknown or ragged columns, NaN event times among the selected trials,
        unknown or repeated unit ids (also selected rows of the units table that share an id), and
        everything :func:`bin_spike_times` rejects.

    Examples
    --------
    >>> from motorsrnn.io import from_nwb
    >>> data = from_nwb("session.nwb", event="target_on_time", window=(0, 50),
    ...                 label_column="direction")  # doctest: +SKIP
    >>> SpikingRNNClassifier().fit(data.X, data.y)  # doctest: +SKIP
    """
    kwargs = dict(
        event=event,
        window=window,
        bin_size=bin_size,
        units=units,
        unit_ids=unit_ids,
        trials=trials,
        label_column=label_column,
        dtype=dtype,
    )
    if isinstance(nwbfile, (str, os.PathLike)):
        pynwb = _require("pynwb", "nwb", "from_nwb")
        if not os.path.exists(nwbfile):
            raise FileNotFoundError(f"no such NWB file: {os.fspath(nwbfile)!r}")
        with pynwb.NWBHDF5IO(os.fspath(nwbfile), mode="r") as io:
            return _from_nwbfile(io.read(), **kwargs)
    if not hasattr(nwbfile, "units") or not hasattr(nwbfile, "trials"):
        raise TypeError(f"nwbfile must be a path or a pynwb.NWBFile, got {type(nwbfile).__name__}")
    return _from_nwbfile(nwbfile, **kwargs)


# ---------------------------------------------------------------------------------------------
# neo and pynapple
# ---------------------------------------------------------------------------------------------
def _seconds(values, what: str = "times") -> np.ndarray:
    """Times in seconds from a quantities array, a neo Event/Epoch, a list of quantities, or plain
    numbers (seconds)."""
    if hasattr(values, "times") and hasattr(values.times, "rescale"):  # neo.Event, neo.Epoch
        values = values.times
    if hasattr(values, "rescale"):  # quantities (neo.SpikeTrain is one)
        return _rescale_s(values, what)
    if not isinstance(values, (np.ndarray, str, bytes)) and hasattr(values, "__iter__") and hasattr(values, "__len__"):
        values = list(values)  # a list, a tuple or neo's ObjectList (segment.events)
    if isinstance(values, list) and values:
        if all(hasattr(v, "times") and hasattr(v.times, "rescale") for v in values):
            raise TypeError(
                f"{what} is a list of {type(values[0]).__name__} (e.g. segment.events): pass one of them, "
                f"e.g. segment.events[0], or filter one by its labels (event[event.labels == 'target_on'])"
            )
        quantities = [hasattr(v, "rescale") for v in values]
        if any(quantities):  # np.asarray would drop the units: convert each element
            if not all(quantities):
                raise TypeError(f"{what} mixes quantities and plain numbers: give every time its unit, or none")
            return np.concatenate([_rescale_s(v, what) for v in values])
    return values


def _rescale_s(values, what: str) -> np.ndarray:
    try:
        seconds = values.rescale("s")
    except ValueError as err:
        raise ValueError(f"{what} must be in a unit of time, got {values.dimensionality}: {err}") from err
    magnitude = np.asarray(seconds.magnitude)
    # float32 stays float32, so that bin_spike_times can say when it is too coarse for the bins
    return magnitude.astype(np.float32 if magnitude.dtype == np.float32 else np.float64).ravel()


def _check_not_a_signal(neo, train, which) -> None:
    """Refuse a neo object other than a SpikeTrain (an AnalogSignal's sample times are not spikes)."""
    if type(train).__module__.startswith("neo") and not isinstance(train, neo.SpikeTrain):
        raise TypeError(
            f"spike train {which} is of type {type(train).__name__}, not neo.SpikeTrain: from_neo bins spike times, "
            "and the sample times of a continuous signal are not spikes"
        )


def from_neo(spiketrains, events, *, window, bin_size=1.0, units="ms", dtype=None) -> Bunch:
    """Bin neo spike trains into event-aligned trials.

    Parameters
    ----------
    spiketrains : neo.Segment, neo.Group, list of neo.SpikeTrain, or dict {unit_id: neo.SpikeTrain}
        Spike trains of the units, in any time unit (rescaled to seconds). A ``Segment`` or
        ``Group`` contributes its ``spiketrains``. Unit ids are the dict keys, else the trains'
        ``name`` when every train has a distinct one, else ``0, 1, ...``. A ``Block`` is refused:
        with one ``Segment`` per trial, call this function per segment and concatenate the ``X``.
    events : neo.Event, neo.Epoch, quantities array, list of quantities or array-like
        Alignment times; a ``neo.Event``, a quantities array or a list of quantities is rescaled
        to seconds, an ``Epoch`` uses its start times, plain numbers are seconds. Every event is
        one trial: an ``Event`` that mixes markers (target on, go cue, ...) gives one trial per
        marker, so select one kind first, e.g. ``event[event.labels == "target_on"]``; its labels
        (``event.labels``) line up with the trials when you need them as ``y``.
    window, bin_size, units, dtype
        As in :func:`bin_spike_times` (``window`` and ``bin_size`` in ms by default).

    Returns
    -------
    sklearn.utils.Bunch
        As :func:`bin_spike_times`.

    Examples
    --------
    >>> import neo, quantities as pq  # doctest: +SKIP
    >>> trains = [neo.SpikeTrain([3, 12] * pq.ms, t_stop=1 * pq.s, name="ch1")]  # doctest: +SKIP
    >>> from_neo(trains, [0.0], window=(0, 20), bin_size=10).X[0, :, 0]  # doctest: +SKIP
    array([1, 1], dtype=uint8)
    """
    neo = _require("neo", "neo", "from_neo")
    spikes: Any  # a dict {name: times} or a list of times, as bin_spike_times takes
    if isinstance(spiketrains, neo.Block):
        raise TypeError(
            f"spiketrains is a neo.Block of {len(spiketrains.segments)} segment(s): pass one Segment "
            "(block.segments[i]); for one segment per trial, call from_neo on each and concatenate their X"
        )
    if isinstance(spiketrains, neo.Segment):
        if not spiketrains.spiketrains:
            raise ValueError("the neo.Segment holds no spike trains (segment.spiketrains is empty)")
        spiketrains = list(spiketrains.spiketrains)
    elif hasattr(neo, "Group") and isinstance(spiketrains, neo.Group):
        spiketrains = list(spiketrains.spiketrains)
    if isinstance(spiketrains, Mapping):
        for k, v in spiketrains.items():
            _check_not_a_signal(neo, v, repr(k))
        spikes = {k: _seconds(v, f"spike train {k!r}") for k, v in spiketrains.items()}
    else:
        if isinstance(spiketrains, neo.SpikeTrain):
            raise TypeError("spiketrains must be a list of neo.SpikeTrain (one per unit); for one unit pass [train]")
        if isinstance(spiketrains, np.ndarray) and not hasattr(spiketrains, "rescale") and spiketrains.dtype != object:
            raise TypeError(
                "spiketrains must be a neo.Segment, a neo.Group, a list of neo.SpikeTrain or a dict {unit_id: "
                f"SpikeTrain}}, got a numeric array of shape {spiketrains.shape}"
            )
        if not isinstance(spiketrains, Iterable) or isinstance(spiketrains, (str, bytes)):
            raise TypeError(
                "spiketrains must be a neo.Segment, a neo.Group, a list of neo.SpikeTrain or a dict {unit_id: "
                f"SpikeTrain}}, got {type(spiketrains).__name__}"
            )
        trains = list(spiketrains)
        for i, t in enumerate(trains):
            _check_not_a_signal(neo, t, i)
        names = [getattr(t, "name", None) for t in trains]
        if trains and all(isinstance(n, str) for n in names) and len(set(names)) == len(names):
            spikes = {n: _seconds(t, f"spike train {n!r}") for n, t in zip(names, trains)}
        else:
            spikes = [_seconds(t, f"spike train {i}") for i, t in enumerate(trains)]
    return bin_spike_times(spikes, _seconds(events, "events"), window=window, bin_size=bin_size, units=units,
                           dtype=dtype)


def from_pynapple(tsgroup, events, *, window, bin_size=1.0, units="ms", dtype=None) -> Bunch:
    """Bin a pynapple ``TsGroup`` into event-aligned trials.

    Parameters
    ----------
    tsgroup : pynapple.TsGroup or dict {unit_id: pynapple.Ts}
        Spike times of the units (pynapple stores times in seconds); its keys are the unit ids.
    events : pynapple.Ts, pynapple.Tsd, pynapple.IntervalSet or array-like
        Alignment times in seconds; an ``IntervalSet`` uses its start times. pynapple sorts the
        times of a ``Ts`` and merges overlapping intervals of an ``IntervalSet``: the rows of
        ``X`` then follow ``result.events``, not the order (or number) of the trials you built
        them from. To keep your trials' order, pass their times as a NumPy array.
    window, bin_size, units, dtype
        As in :func:`bin_spike_times` (``window`` and ``bin_size`` in ms by default).

    Returns
    -------
    sklearn.utils.Bunch
        As :func:`bin_spike_times`.

    Notes
    -----
    A ``TsGroup``'s ``time_support`` (the epochs its units were recorded in) is not used: the
    spike times are binned as they are, and a window outside it counts 0 spikes as if the unit
    were silent. Keep only the trials inside it (``time_support.in_interval`` of the events).

    Examples
    --------
    >>> import pynapple as nap  # doctest: +SKIP
    >>> group = nap.TsGroup({7: nap.Ts([0.003, 0.012, 1.004])})  # doctest: +SKIP
    >>> from_pynapple(group, [0.0, 1.0], window=(0, 20), bin_size=10).X[:, :, 0]  # doctest: +SKIP
    array([[1, 1],
           [1, 0]], dtype=uint8)
    """
    nap = _require("pynapple", "pynapple", "from_pynapple")
    if not isinstance(tsgroup, (nap.TsGroup, Mapping)):
        raise TypeError(f"tsgroup must be a pynapple.TsGroup or a dict of pynapple.Ts, got {type(tsgroup).__name__}")
    spikes = {}
    for key in tsgroup.keys():
        ts = tsgroup[key]
        spikes[key] = np.asarray(ts.t if hasattr(ts, "t") else ts, dtype=np.float64)
    if isinstance(events, nap.IntervalSet):
        ev = np.asarray(events.start, dtype=np.float64)
    elif hasattr(events, "t") and not isinstance(events, np.ndarray):
        ev = np.asarray(events.t, dtype=np.float64)
    else:
        ev = events
    return bin_spike_times(spikes, ev, window=window, bin_size=bin_size, units=units, dtype=dtype)


def cut_samples(X, y=None, *, width, step=None) -> Bunch:
    """Cut every trial into consecutive samples of ``width`` time bins.

    The motorSRNN paper decoded 50 ms samples cut from longer trials, each sample labelled with its
    trial's reach direction. This function does that cut for any ``(n_trials, n_timesteps, n_units)``
    array, so the estimators can be fitted on samples; ``trial`` keeps the trial of every sample, for
    splits that keep the samples of one trial together (``GroupKFold(...).split(..., groups=trial)``
    or ``GroupShuffleSplit``). Samples of one trial share the trial's latency and the animal's state,
    so a split that puts some of them in training and others in testing overestimates accuracy.
    The same holds inside ``fit``: with ``early_stopping``, pass ``groups=trial`` to ``fit`` too;
    scikit-learn's ``cross_val_score(..., groups=trial)`` gives the groups to the splitter only,
    so use ``cross_validate(..., groups=trial, params={"groups": trial})`` (see ``docs/model.md``).

    Parameters
    ----------
    X : array-like of shape (n_trials, n_timesteps, n_units)
        Binned trials (e.g. ``bin_spike_times(...).X``). Any dtype; it is kept.
    y : array-like of shape (n_trials,), (n_trials, n_outputs) or (n_trials, n_timesteps, n_outputs), default=None
        As the estimators take it: 1-D or 2-D, labels or targets per trial (repeated for every
        sample of the trial); 3-D, targets per time bin (cut like ``X``, to
        ``(n_samples, width, n_outputs)``).
    width : int
        Bins per sample (50 for 50 ms at 1 ms bins). At most ``n_timesteps``.
    step : int or None, default=None
        Bins between the starts of successive samples. ``None`` = ``width``: consecutive,
        non-overlapping samples. A smaller step gives overlapping samples, a larger one gaps.
        Bins after the last whole sample are dropped.

    Returns
    -------
    sklearn.utils.Bunch
        X : ndarray of shape (n_samples, width, n_units)
            The samples, trial by trial: the samples of trial 0 in time order, then those of trial 1,
            ... A new array, with ``X``'s dtype.
        y : ndarray or None
            The labels or targets of the samples, ``None`` when ``y`` was ``None``.
        trial : ndarray of shape (n_samples,), int64
            Index of the trial each sample was cut from (``groups`` for grouped splits).
        offset : ndarray of shape (n_samples,), int64
            First bin of each sample within its trial.
        n_per_trial : int
            Samples per trial: ``(n_timesteps - width) // step + 1``.

    Raises
    ------
    ValueError
        ``X`` not 3-D, ``width`` or ``step`` below 1, ``width`` longer than a trial, ``y`` whose
        first dimension (or, for 3-D per-bin targets, first two) do not match ``X``.
    TypeError
        ``width`` or ``step`` not an integer (the error is both a ``TypeError`` and a
        ``ValueError``, as in scikit-learn).

    Examples
    --------
    Two trials of 120 bins cut into 50-bin samples (the last 20 bins are dropped):

    >>> import numpy as np
    >>> from motorsrnn.io import cut_samples
    >>> X = np.arange(2 * 120 * 3).reshape(2, 120, 3)
    >>> s = cut_samples(X, [0, 3], width=50)
    >>> s.X.shape, s.y, s.trial, s.offset
    ((4, 50, 3), array([0, 0, 3, 3]), array([0, 0, 1, 1]), array([ 0, 50,  0, 50]))
    >>> bool((s.X[3] == X[1, 50:100]).all())
    True

    Overlapping samples, 25 bins apart:

    >>> cut_samples(X, width=50, step=25).offset
    array([ 0, 25, 50,  0, 25, 50])
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(
            f"X must be a 3-D array (n_trials, n_timesteps, n_units), got an array of shape {X.shape}"
        )
    n_trials, n_timesteps = X.shape[:2]
    width = check_number(width, "width", low=1, integer=True)
    step = width if step is None else check_number(step, "step", low=1, integer=True)
    if width > n_timesteps:
        raise ValueError(f"width ({width} bins) is longer than the trials ({n_timesteps} bins)")
    step = min(step, n_timesteps)  # any longer step gives one sample per trial (and would overflow int64 below)
    n_per = (n_timesteps - width) // step + 1
    offsets = np.arange(n_per, dtype=np.int64) * step
    index = offsets[:, None] + np.arange(width)  # (n_per, width)
    samples = X[:, index].reshape(n_trials * n_per, width, X.shape[2])
    out_y = None
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 0 or y.ndim > 3 or y.shape[0] != n_trials:
            raise ValueError(
                f"y must have one entry per trial of X ({n_trials}): shape ({n_trials},) or ({n_trials}, "
                f"n_outputs) per trial, ({n_trials}, {n_timesteps}, n_outputs) per bin; got {y.shape}"
            )
        if y.ndim == 2 and n_timesteps > 1 and y.shape[1] == n_timesteps:
            warnings.warn(
                f"y has shape {y.shape}: read as {y.shape[1]} outputs per trial, repeated whole for every "
                f"sample. If it holds one value per time bin ({n_timesteps} bins), pass y[..., None] (shape "
                "(n_trials, n_timesteps, 1)) to cut it like X",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        if y.ndim < 3:
            out_y = np.repeat(y, n_per, axis=0)
        elif y.shape[1] == n_timesteps:
            out_y = y[:, index].reshape((n_trials * n_per, width) + y.shape[2:])
        else:
            raise ValueError(
                f"3-D y holds targets per time bin and must have X's {n_timesteps} time bins, got shape {y.shape}"
            )
    return Bunch(
        X=samples,
        y=out_y,
        trial=np.repeat(np.arange(n_trials, dtype=np.int64), n_per),
        offset=np.tile(offsets, n_trials),
        n_per_trial=int(n_per),
    )
