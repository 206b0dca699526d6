"""scikit-learn estimators backed by the Rust core.

The estimators follow scikit-learn's rules: ``__init__`` only stores parameters, everything is
validated in :meth:`fit`, learned attributes end with ``_``, ``fit`` returns ``self``, and randomness
comes from ``random_state``. Numerics (simulation, BPTT, optimiser, training loop) run in the compiled
core, without the GIL and in a thread pool owned by each call.
"""

from __future__ import annotations

import copy
import copyreg
import inspect
import json
import math
import numbers
import os
import stat
import sys
import tempfile
import time
import types
import uuid
import warnings
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, Mapping, Optional, Tuple, TypeVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import GroupShuffleSplit, train_test_split
from sklearn.utils import Bunch, check_array
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from . import _core
from .io import _binned_parts
from ._validation import (
    InvalidParameterError,
    check_bool,
    check_choice,
    check_memory,
    check_number,
    check_seed,
    check_seed_type,
    labels_not_in,
    unique_labels,
    user_stacklevel,
)
from .topology import PRESETS, Topology, preset

if TYPE_CHECKING:
    from .streaming import StreamingDecoder, StreamingRegressor

__all__ = ["COUNTING", "SpikingRNNClassifier", "SpikingRNNRegressor", "TrainingDivergedError", "check_spikes", "load",
           "per_step_scorer"]

#: Estimator parameters of the "counting" configuration (``SpikingRNNClassifier(**COUNTING)``):
#: feedforward (``"fsnn"``), hidden units without memory (no synaptic current, a 0.1 ms membrane,
#: reset to zero: a unit fires in a bin only if that bin's weighted input crosses threshold), and
#: a readout that does not leak (``tau_out=1e6`` ms), read at the last step, so the logits sum the
#: hidden spikes of the whole window and a spike counts the same wherever it falls. Combined with
#: ``spike_jitter="shuffle"`` it is the package's best decoder of short windows whose spike counts
#: carry the information (docs/decoding.md). Read-only; override entries with
#: ``SpikingRNNClassifier(**{**COUNTING, "n_hidden": 64})``.
COUNTING = MappingProxyType(
    {"architecture": "fsnn", "tau_syn": 0.0, "tau_mem": 0.1, "reset": "zero", "tau_out": 1e6, "readout": "last"}
)

_RESETS = ("subtract", "zero")
_SURROGATES = ("fast_sigmoid", "arctan", "triangle", "sigmoid")
_READOUTS = ("mean", "max", "last")
_OPTIMIZERS = ("adam", "adamw", "sgd")
_ACTIVITY_KERNELS = ("exponential", "gaussian")
# share of time bins above which a fitted population counts as saturated (fit warns)
_SATURATED = 0.3
#: The largest count (sizes, epochs, steps) the core takes: a 64-bit signed integer, as NumPy sizes.
_MAX_COUNT = 2**63 - 1
# longest activity_tau, in time steps: beyond ~1.7e7 steps the exponential filter's decay exp(-dt/tau)
# rounds to 1 in float32, and no recording is that long
_MAX_ACTIVITY_TAU_STEPS = 1e6
#: The most threads n_jobs may ask for (each has its own stack; more than the cores never helps).
_MAX_THREADS = 2**16
_OVERSUBSCRIBE = 4  # threads per available core at most, whatever n_jobs asks for
# Largest magnitude of regression targets and recorded activity: the core computes squared errors
# in float32 (at most 3.4e38), and sums of them must stay finite.
_MAX_TARGET = 1e12


# the same for float64 computations (a Wiener filter's ridge regression, R^2): squares stay below 1e308
_MAX_TARGET_FLOAT64 = 1e150


def _check_magnitude(values: np.ndarray, name: str, dtype=np.float32) -> None:
    """Raise ``ValueError`` when ``values`` (NaN allowed) exceed ``_MAX_TARGET`` in magnitude
    (``_MAX_TARGET_FLOAT64`` when they are computed in float64)."""
    largest = float(np.nanmax(np.abs(values), initial=0.0))
    limit, kind = (_MAX_TARGET, "float32") if np.dtype(dtype) == np.float32 else (_MAX_TARGET_FLOAT64, "float64")
    if largest > limit:
        raise ValueError(
            f"{name} has values of magnitude up to {largest:.3g}, beyond {limit:g}: their squared errors "
            f"would overflow {kind}; rescale them (e.g. standardise, or use other units)"
        )


# gradient norm / sqrt(loss) above which an epoch's gradient counts as exploding (healthy fits: at most
# about 1000, exploding ones above 1e4 and up to 1e20: benchmarks/surrogates.py, docs/model.md)
_EXPLODING = 1e4
# floor of the variances behind ``activity_normalize=True``, relative to their mean (see below)
_ACTIVITY_VAR_FLOOR = 1e-2


def _activity_neuron_weights(R, sample_weight=None) -> np.ndarray:
    """Per-recorded-neuron weights of ``activity_normalize=True``: ``w_k = 1 / max(var_k, f)``,
    ``var_k`` the variance (ddof 0, in float64) of ``R[:, :, k]`` over trials and time bins (with
    ``sample_weight``, each trial's bins weighted by its weight, so that a trial of weight 0 does
    not count), and the floor ``f = 1e-2 * mean_k var_k``, so a (nearly) silent or constant neuron
    weighs at most 100 times an average one instead of exploding. If every recorded neuron is
    constant (mean variance 0) there is nothing to normalise by and all weights are 1."""
    flat = np.asarray(R, dtype=np.float64).reshape(-1, R.shape[-1])
    if sample_weight is None:
        var = flat.var(axis=0)
    else:
        w = np.repeat(_relative(sample_weight), R.shape[1])
        mean = w @ flat / w.sum()
        var = w @ (flat - mean) ** 2 / w.sum()
    mean = float(var.mean())
    if not mean > 0:
        return np.ones(R.shape[-1])
    return 1.0 / np.maximum(var, _ACTIVITY_VAR_FLOOR * mean)


#: Size of the activity-matching term (its weight times the recorded rates' mean square) above
#: which fit warns that it dwarfs the task loss (about 1).
_ACTIVITY_DWARFS_TASK = 100.0

#: The type of an estimator method's own estimator (``fit`` returns the estimator it was called on).
_Estimator = TypeVar("_Estimator", bound="_SpikingRNNBase")
_R = TypeVar("_R")


class TrainingDivergedError(FloatingPointError):
    """The loss, a gradient or the optimiser's state became NaN or infinite during ``fit``.

    The estimator is left fitted with the last weights whose loss and gradient were finite: those
    before the optimiser step after which the loss stopped being finite (the starting weights, e.g.
    those of the previous fit on a ``warm_start``, when the first batch diverged), or with early
    stopping the best epoch's. Its ``history_`` and ``stop_reason_ == "diverged"`` say what
    happened, so nothing trained is lost.
    """


# ---------------------------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------------------------
def refuse_mapping(X, name: str) -> None:
    """A ``TypeError`` naming the arrays of a mapping passed where an array belongs (a dataset of
    :mod:`motorsrnn.datasets` or a ``simulate()`` result: NumPy would read it as a 0-d object)."""
    if isinstance(X, Mapping) and not hasattr(X, "nnz"):  # (scipy's DOK sparse arrays are dicts: check_array says)
        held = [k for k in ("X", "spikes") if isinstance(X.get(k), np.ndarray)]
        raise TypeError(
            f"{name} is a {type(X).__name__} (a dataset or a simulate() result?), not an array"
            + (f": pass its {' or its '.join(held)} (e.g. data.{held[0]})" if held else "")
            + f"; its keys are {list(X)[:12]}"
        )


def check_spikes(X, *, name: str = "X") -> np.ndarray:
    """Validate a spike-count array and return it in a dtype the core reads without copying.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)
        Spike counts per time bin. bool, unsigned/signed integers and floats are accepted; a 2-D
        array is one time bin per trial.
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray of shape (n_trials, n_timesteps, n_channels)
        ``uint8`` (bool and integer counts up to 255, a view where possible), ``float32``
        (float16, and integer counts up to 2**24, which it holds exactly) or ``float64``. Strides
        are kept: non-contiguous arrays of these dtypes are read in place; other dtypes are
        copied, after a check that the copy fits in memory (``MemoryError`` otherwise).

    Raises
    ------
    TypeError
        For sparse matrices, for binned data (the result of :func:`motorsrnn.io.bin_spike_times`
        and its peers: pass its ``X``), and for other mappings, such as a dataset of
        :mod:`motorsrnn.datasets` or a ``simulate()`` result (the message names their arrays).
    ValueError
        For non-numeric data (strings, complex numbers), a wrong number of dimensions, empty arrays,
        NaN or infinite values, negative counts (scikit-learn's ``check_array`` messages where it
        applies). Object arrays of numbers are converted.
    """
    binned = _binned_parts(X)
    if binned is not None:
        raise TypeError(
            f"{name} is binned data (a result of motorsrnn.io.bin_spike_times, from_nwb, ...), not an array: pass "
            f"its X (e.g. binned.X), and give a spiking estimator its bin width in ms, dt={binned[1]:g}"
        )
    refuse_mapping(X, name)
    arr = check_array(
        X, accept_sparse=False, dtype="numeric", ensure_all_finite=True, allow_nd=True, input_name=name
    )
    if arr.ndim == 2:
        arr = arr[:, np.newaxis, :]
    elif arr.ndim != 3:
        raise ValueError(
            f"{name} must be 3-D (n_trials, n_timesteps, n_channels) or 2-D (n_trials, n_channels), "
            f"got an array with {arr.ndim} dimensions of shape {arr.shape}"
        )
    if 0 in arr.shape:
        raise ValueError(
            f"{name} is empty: shape {arr.shape} (need at least 1 trial, 1 time step and 1 channel)"
        )
    kind = arr.dtype.kind
    if kind == "b":
        return arr.view(np.uint8)
    if kind in "ui":
        lo, hi = arr.min(), arr.max()
        if lo < 0:
            raise ValueError(f"Negative values in data passed to {name}: spike counts must be >= 0, found {lo}")
        if arr.dtype == np.uint8:
            return arr
        return _converted(arr, np.uint8 if hi <= 255 else np.float32 if hi <= 2**24 else np.float64, name)
    if kind == "f":
        if arr.dtype not in (np.float32, np.float64):
            arr = _converted(arr, np.float32 if arr.dtype.itemsize <= 4 else np.float64, name)
        lo = arr.min()
        if lo < 0:
            raise ValueError(f"Negative values in data passed to {name}: spike counts must be >= 0, found {lo}")
        return arr
    raise TypeError(f"{name} must hold numeric spike counts, got an array of dtype {arr.dtype}")


def _converted(arr: np.ndarray, dtype, name: str) -> np.ndarray:
    """``arr`` as ``dtype`` (one the core reads: uint8, float32, float64), after checking that the
    copy fits in memory. The narrowest exact type is chosen by the caller: counts up to 2**24 and
    float16 are exact in float32, which the core computes in anyway (float64 doubled the copy)."""
    dtype = np.dtype(dtype)
    check_memory(arr.size * dtype.itemsize, f"a {dtype} copy of {name} (the core reads uint8, float32 and float64; "
                 f"{name} is {arr.dtype}, {arr.nbytes / 2**30:.3g} GiB)",
                 f"pass {name} as uint8 (counts up to 255) or float32, or fewer trials at a time")
    return arr.astype(dtype)


def check_labels(y) -> np.ndarray:
    """Validate class labels: 1-D (a column vector is flattened with a ``DataConversionWarning``).

    Parameters
    ----------
    y : array-like of shape (n_trials,)

    Returns
    -------
    ndarray of shape (n_trials,)
    """
    if y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None")
    y = np.asarray(y)
    if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
        raise ValueError(f"y should be a 1d array (one label per trial), got an array of shape {y.shape}")
    y = column_or_1d(y, warn=True)
    unique_labels(y, "y")  # mixed types or None: a clear error rather than numpy's sorting one
    check_classification_targets(y)
    return y


def check_classification_data(X, y):
    """Validated spikes, the classes and each trial's class index, for a classifier's ``fit``.

    Raises ``ValueError`` when ``X`` and ``y`` differ in their number of trials or ``y`` has fewer
    than two classes.
    """
    Xc = check_spikes(X)
    y = check_labels(y)
    if len(y) != Xc.shape[0]:
        raise ValueError(f"X has {Xc.shape[0]} trials but y has {len(y)} labels")
    classes, idx = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"y has 1 class ({classes[0]!r}); a classifier needs at least 2 classes")
    return Xc, classes, idx


def check_n_channels(estimator, Xc: np.ndarray, X=None) -> None:
    """Raise if ``Xc`` (3-D) has another number of channels than ``estimator.n_features_in_``; with
    the input ``X`` as given, also compare its column names with those of ``fit``
    (:func:`check_feature_names`)."""
    if Xc.shape[2] != estimator.n_features_in_:
        raise ValueError(
            f"X has {Xc.shape[2]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input (channels seen in fit, n_features_in_)"
        )
    if X is not None:
        check_feature_names(estimator, X)


def _feature_names(X) -> Optional[np.ndarray]:
    """The column names of a 2-D table (a pandas DataFrame, say) when they are all strings, else
    None; mixed string and other names raise ``TypeError``, as in scikit-learn."""
    columns = getattr(X, "columns", None)
    if columns is None or len(getattr(X, "shape", ())) != 2:
        return None
    names = np.asarray(list(columns), dtype=object)
    kinds = {isinstance(n, str) for n in names}
    if kinds == {True, False}:
        raise TypeError(
            "Feature names are only supported if all input features have string names, but X has "
            f"{sorted({type(n).__name__ for n in names})} as column name types; convert them all to str"
        )
    return names if kinds == {True} else None


def set_feature_names(estimator, X) -> None:
    """In ``fit``: store the column names of ``X`` as ``feature_names_in_``, or remove that
    attribute when ``X`` has none (scikit-learn's convention for 2-D tables)."""
    names = _feature_names(X)
    if names is not None:
        estimator.feature_names_in_ = names
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_


def check_feature_names(estimator, X) -> None:
    """After ``fit``: raise ``ValueError`` when ``X``'s column names differ from
    ``feature_names_in_`` (other names or another order), and warn when only one of them has names,
    as scikit-learn's estimators do."""
    fitted = getattr(estimator, "feature_names_in_", None)
    names = _feature_names(X)
    who = type(estimator).__name__
    if fitted is None and names is not None:
        warnings.warn(f"X has feature names, but {who} was fitted without feature names", UserWarning,
                      stacklevel=user_stacklevel())
    elif fitted is not None and names is None:
        warnings.warn(f"X does not have valid feature names, but {who} was fitted with feature names", UserWarning,
                      stacklevel=user_stacklevel())
    elif fitted is not None and names is not None and (len(fitted) != len(names) or np.any(fitted != names)):
        unseen = [n for n in names if n not in set(fitted)]
        missing = [n for n in fitted if n not in set(names)]
        detail = (f"; unseen at fit time: {unseen[:5]}" if unseen else "") + (f"; seen at fit time, missing: {missing[:5]}" if missing else "")
        raise ValueError("The feature names should match those that were passed during fit"
                         + (detail or ", in the same order"))


def check_groups(groups, n_trials: int, validation_fraction=None) -> Optional[np.ndarray]:
    """``groups`` of ``fit`` as a 1-D array with one entry per trial (None passes through).

    With ``validation_fraction`` (early stopping on), also check that holding out that share of
    the groups leaves at least one group on each side, so that ``fit`` fails before it changes
    the estimator.
    """
    if groups is None:
        return None
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != n_trials:
        raise ValueError(f"groups must be 1-D with one group per trial of X ({n_trials}), got shape {g.shape}")
    if any(isinstance(v, (float, np.floating)) and v != v for v in g.tolist()):
        raise ValueError("groups contains NaN")
    try:
        n_groups = len(np.unique(g))
    except TypeError as e:
        raise ValueError(f"groups must hold values of one comparable kind (e.g. all int or all str): {e}") from None
    if validation_fraction is not None:
        if n_groups < 2:
            raise ValueError(
                f"groups has {n_groups} group; early stopping with groups needs at least 2, to hold out whole groups"
            )
        if math.ceil(validation_fraction * n_groups) >= n_groups:
            raise ValueError(
                f"cannot hold out validation_fraction={validation_fraction} of {n_groups} groups and keep one for training"
            )
    return g


def check_sample_weight(sample_weight, n_trials: int) -> Optional[np.ndarray]:
    """``sample_weight`` of ``fit`` as a float64 array with one finite, non-negative weight per
    trial, not all zero (a single number gives every trial that weight; None passes through)."""
    if sample_weight is None:
        return None
    try:
        w = np.asarray(sample_weight)
        if w.dtype.kind not in "biufO" or (w.dtype.kind == "O" and any(
                isinstance(v, (str, bytes)) or v is None for v in w.flat)):  # NumPy reads "1" and None
            raise TypeError(f"got values of dtype {w.dtype}")
        w = np.asarray(w, dtype=np.float64)  # an object array of complex numbers raises
    except (TypeError, ValueError, OverflowError) as e:
        raise ValueError(f"sample_weight must hold real numbers (one per trial, or one number): {e}") from None
    if w.ndim == 0:  # one number for every trial
        w = np.full(n_trials, float(w))
    w = np.ascontiguousarray(w)
    if w.ndim != 1 or len(w) != n_trials:
        raise ValueError(f"sample_weight must be 1-D with one weight per trial of X ({n_trials}), got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinite values")
    if (w < 0).any():
        raise ValueError(f"sample_weight must be non-negative, got {w.min():g} (trial {int(np.argmin(w))})")
    if n_trials and not (w > 0).any():
        raise ValueError("sample_weight is zero for every trial: there is nothing to learn from")
    return w


def _label_indices(classes: np.ndarray, y: np.ndarray, unknown_means: str) -> np.ndarray:
    """The index in ``classes`` of each label of ``y``; ``ValueError`` for labels that are not
    among them (``unknown_means`` says why, e.g. "not seen in fit")."""
    unknown = labels_not_in(classes, y)
    if unknown:
        raise ValueError(f"y holds labels {unknown_means}: {unknown[:5]} (classes_: {classes.tolist()[:10]})")
    return np.searchsorted(classes, y.astype(classes.dtype)).astype(np.int64)


def _relative(sample_weight) -> np.ndarray:
    """Checked weights divided by the largest, so that sums of them cannot overflow or underflow."""
    w = np.asarray(sample_weight, dtype=np.float64)
    return w / w.max()


def _check_neural(neural, x_shape):
    """``(neural_targets, neural_units, neural_population)`` of ``fit`` checked: None without
    recorded activity, else the tuple with the targets validated."""
    neural_targets, neural_units, neural_population = neural
    if neural_targets is not None:
        neural_targets = check_neural_targets(neural_targets, x_shape)
    check_assignment_has_targets(neural_targets, neural_units, neural_population)
    return None if neural_targets is None else (neural_targets, neural_units, neural_population)


def _check_classes(classes) -> np.ndarray:
    """``classes`` of ``partial_fit``: the distinct labels, sorted, with errors that name it."""
    c = np.asarray(classes)
    if c.ndim != 1:
        raise ValueError(f"classes must be a 1-D array of labels, got shape {c.shape}")
    known = unique_labels(c, "classes")
    check_classification_targets(known)
    return known


class _StoppedCall(Exception):
    """A ``partial_fit`` call that its callback stopped before the epoch ended (nothing kept)."""


def _check_incremental(est) -> None:
    """``partial_fit`` trains one epoch on the trials it is given: no validation split."""
    if est.early_stopping:
        raise ValueError("partial_fit does not support early_stopping (one call's trials hold no validation set); "
                         "set early_stopping=False, or use fit")


def _observed(y: np.ndarray, sample_weight=None) -> np.ndarray:
    """Which targets of ``y`` (float, trials first) count in the loss: not NaN (missing), and in a
    trial of positive weight."""
    seen = ~np.isnan(y)
    if sample_weight is not None:
        seen &= (np.asarray(sample_weight) > 0).reshape((-1,) + (1,) * (y.ndim - 1))
    return seen


def check_neural_targets(neural_targets, x_shape) -> np.ndarray:
    """``neural_targets`` of ``fit`` as float32 ``(n_trials, n_timesteps, n_recorded)``, checked
    against the shape of ``X`` (finite, at least one recorded neuron)."""
    R = check_array(neural_targets, allow_nd=True, ensure_2d=False, dtype=np.float32, input_name="neural_targets")
    if R.ndim != 3:
        raise ValueError(f"neural_targets must be 3-D (n_trials, n_timesteps, n_recorded), got shape {R.shape}")
    if R.shape[:2] != tuple(x_shape[:2]):
        raise ValueError(
            f"neural_targets has {R.shape[0]} trials and {R.shape[1]} time steps; X has {x_shape[0]} and {x_shape[1]}"
        )
    if R.shape[2] == 0:
        raise ValueError("neural_targets has no recorded neurons (its last axis has length 0); fit without it")
    _check_magnitude(R, "neural_targets")
    if R.size and float(R.min()) < 0:
        warnings.warn(
            f"neural_targets has negative values (down to {float(R.min()):.3g}), but the model's rates (filtered "
            "spikes) are never negative: pass rates or counts, not baseline-subtracted or z-scored activity",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return R


def check_assignment_has_targets(neural_targets, neural_units, neural_population) -> None:
    """Raise ``ValueError`` when ``neural_units`` or ``neural_population`` is given without
    ``neural_targets`` (they were silently ignored)."""
    if neural_targets is None:
        given = [n for n, v in (("neural_units", neural_units), ("neural_population", neural_population)) if v is not None]
        if given:
            raise ValueError(f"{' and '.join(given)} given without neural_targets: pass the recorded activity too")


def check_early_stopping_params(est) -> None:
    """Raise if ``est``'s ``early_stopping``, ``validation_fraction``, ``n_iter_no_change`` or
    ``tol`` is invalid (shared by the spiking estimators and the GRU and LSTM)."""
    check_number(est.validation_fraction, "validation_fraction", low=0, high=1, strict_low=True)
    if est.validation_fraction >= 1:
        raise ValueError(f"validation_fraction must be < 1, got {est.validation_fraction!r}")
    check_number(est.n_iter_no_change, "n_iter_no_change", low=1, high=_MAX_COUNT, integer=True)
    check_number(est.tol, "tol", low=0)
    if not isinstance(est.early_stopping, (bool, np.bool_)):
        raise ValueError(f"early_stopping must be True or False, got {est.early_stopping!r}")


def early_stopping_split(n_trials: int, fraction, rng, *, stratify=None, groups=None):
    """Training and validation indices of early stopping: whole groups when ``groups`` is given
    (:func:`_group_validation_split`), otherwise ``fraction`` of the trials, stratified by the class
    indices ``stratify`` when every class has two trials and each side of the split can hold one
    trial of every class (else drawn at random, as scikit-learn cannot stratify then)."""
    if groups is not None:
        return _group_validation_split(groups, fraction, rng)
    if stratify is not None:
        n_classes = len(np.unique(stratify))
        n_val = math.ceil(fraction * n_trials)  # train_test_split's size of a float test_size
        if np.bincount(stratify).min() < 2 or n_val < n_classes or n_trials - n_val < n_classes:
            stratify = None
    try:
        return train_test_split(np.arange(n_trials), test_size=fraction, stratify=stratify, random_state=rng)
    except ValueError as e:
        raise ValueError(f"cannot hold out validation_fraction={fraction} of {n_trials} trials: {e}") from None


def _group_validation_split(groups, fraction, rng):
    """Training and validation indices of early stopping that keep every group on one side
    (``groups`` checked by :func:`check_groups`). Warns when whole groups make the validation
    set more than twice ``fraction`` of the trials."""
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=rng)
    tr, va = next(splitter.split(np.zeros(len(groups)), groups=groups))
    share = len(va) / len(groups)
    if share > 2 * fraction:
        warnings.warn(
            f"early stopping holds out whole groups: {len(va)} of {len(groups)} trials ({share:.0%}) are in the "
            f"validation set, for validation_fraction={fraction:g}; with few or unequal groups, pass more groups "
            "or fit without groups",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return tr, va


def check_finite_outputs(z: np.ndarray, network=None) -> np.ndarray:
    """``z`` (readout outputs of ``network``, whose largest weight the error names when given)
    if all finite; ``FloatingPointError`` otherwise.

    A trained network cannot get there (training stops at the first non-finite loss), but weights
    set by hand can overflow float32 (e.g. ``set_weights`` with values near 3e38): probabilities
    would be NaN and ``predict`` would return the first class."""
    if not np.isfinite(z).all():
        largest = "" if network is None else " (largest |weight| {:.3g})".format(
            max((float(np.abs(w).max()) for w in network.get_weights().values() if w.size), default=0.0))
        raise FloatingPointError(
            f"the network's outputs are not finite (NaN or beyond float32's range, about 3.4e38): its weights are "
            f"too large for float32 arithmetic{largest}; set smaller ones with set_weights"
        )
    return z


def log_softmax(z) -> np.ndarray:
    """Row-wise log-softmax of scores, in float64, stable for large scores."""
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


# ---------------------------------------------------------------------------------------------
# Memory estimates: refuse, with a MemoryError naming what to reduce, work whose buffers cannot fit
# (a failed allocation in the core would end the process). Lower bounds: the input's events are
# counted, the network's spikes are not (their number is not known before the call).
# ---------------------------------------------------------------------------------------------
_CHUNK = 16  # trials the core simulates in lockstep, each group with its own buffers (src/forward.rs)
_FLOAT = 4  # float32


def _network_sizes(network) -> Dict[str, int]:
    """Neurons, neurons with trained time constants, outputs, parameters, and weights of the
    projections between populations (which each gradient buffer also holds packed)."""
    return _spec_sizes(json.loads(network.spec_json))


def _network_dt(network) -> float:
    """The bin width in ms a network runs at. After ``fit``, ``set_params(dt=...)`` changes the
    estimator's parameter, not its network: what reads the fitted network's time axis (spike times,
    rates in Hz, rate filters) reads this."""
    return float(json.loads(network.spec_json)["dt"])


def _spec_sizes(spec: Dict[str, Any]) -> Dict[str, int]:
    """:func:`_network_sizes` of a network description (before the network is built), with
    ``masked``: the weights of sparse projections, which also have a mask of their size."""
    sizes = {p["name"]: int(p["size"]) for p in spec["populations"]}
    n_in, n_out = int(spec["n_inputs"]), int(spec["n_outputs"])

    def n(end):
        return n_in if end == "input" else n_out if end == "readout" else sizes[end]

    weights = [(p["source"], n(p["source"]) * n(p["target"])) for p in spec["projections"]]
    neurons = sum(sizes.values())
    return {
        "neurons": neurons,
        "tau_neurons": sum(int(p["size"]) for p in spec["populations"] if p.get("trainable_tau")),
        "outputs": n_out,
        "params": sum(w for _, w in weights) + 3 * neurons + n_out,
        "packed": sum(w for src, w in weights if src != "input"),
        "masked": sum(n(p["source"]) * n(p["target"]) for p in spec["projections"] if p.get("density") is not None),
    }


def _check_network_memory(spec: Dict[str, Any], copies: float, what: str,
                          advice: str = "use fewer hidden units (n_hidden) or smaller populations, or free memory") -> None:
    """Raise ``MemoryError`` when ``copies`` times a network's parameters and masks (float32)
    cannot fit: before the core builds, copies, serialises or reads one (a failed allocation
    there would end the process, and with it a fitted model)."""
    s = _spec_sizes(spec)
    check_memory(copies * _FLOAT * (s["params"] + s["masked"]), f"{what} ({s['params']:,} parameters)", advice)


def _copies(network, serialised: bool = False, include_optimizer: bool = True) -> float:
    """Copies of the parameters an operation on ``network`` makes: one (three with the optimiser's
    state, Adam's two moments, unless it is left out), and about five times that to serialise
    them (MessagePack, the file's bytes and Python's copy)."""
    k = 3.0 if include_optimizer and network.optimizer_steps is not None else 1.0
    return 5.0 * k if serialised else k


def _jitter_bytes(X: np.ndarray, n_threads: int) -> int:
    """Memory of one epoch's moved spikes (``spike_jitter``): the core splits integral counts up to
    1024 into single spikes (16 bytes each while one trial's are sorted, per thread) and keeps the
    epoch's moved events (8 bytes each, twice while they are gathered), besides one offset per
    trial and step. Raises ``ValueError`` when moved spikes could overflow float32: jitter may put
    all of a trial's spikes of one channel into one bin, where they add up. One pass over ``X``,
    256 trials at a time, so it adds no copy of ``X``."""
    top = float(np.finfo(np.float32).max)
    per_trial = np.empty(len(X), dtype=np.float64)
    for start in range(0, len(X), 256):
        x = X[start:start + 256]
        if x.dtype.kind in "ub":  # uint8 counts: all integral, below the split limit, and cannot add up to top
            per_trial[start:start + 256] = x.sum(axis=(1, 2), dtype=np.float64)
            continue
        sums = x.sum(axis=1, dtype=np.float64)
        if sums.size and float(sums.max()) > top:
            n, c = np.unravel_index(int(np.argmax(sums)), sums.shape)
            raise ValueError(f"with spike_jitter, the spikes of one channel in a trial may land in one bin and add up: "
                             f"trial {start + n}, channel {c} holds {float(sums.max()):.3g} in all, beyond float32's "
                             f"range ({top:.3g}); scale the input down or train without spike_jitter")
        split = (x == np.floor(x)) & (x <= 1024)
        per_trial[start:start + 256] = np.where(split, x, x != 0).sum(axis=(1, 2), dtype=np.float64)
    return int(16 * per_trial.max(initial=0.0) * max(1, n_threads) + 16 * per_trial.sum()) + _offsets_bytes(X)


#: Entries of ``X`` counted at a time by :func:`_events_bytes`.
_COUNT_BLOCK = 1 << 24


def _offsets_bytes(X: np.ndarray) -> int:
    """The index of the core's events of ``X``: one offset per trial and time step."""
    return 8 * (X.shape[0] * X.shape[1] + 1)


def _events_bytes(X: np.ndarray) -> int:
    """The core's copy of the input ``X`` as events: the offsets, and a channel index and a count
    (8 bytes) per non-zero entry (for dense input, such as smoothed rates, that is 2 to 8 times
    ``X`` itself).

    The entries are counted a block at a time (whole trials, or steps of a long trial), and the
    count stops once the total exceeds the memory this process can use (the memory check then
    refuses the work anyway): an input too large for memory, e.g. a broadcast view, is not read to
    the end first."""
    from ._validation import memory_limit  # looked up at each call, as check_memory does

    total, limit = _offsets_bytes(X), memory_limit()
    n_trials, per_trial = X.shape[0], max(1, math.prod(X.shape[1:]))
    if per_trial <= _COUNT_BLOCK:  # blocks of whole trials
        blocks = (X[a:a + _COUNT_BLOCK // per_trial] for a in range(0, n_trials, _COUNT_BLOCK // per_trial))
    else:  # long trials: blocks of steps
        steps = max(1, _COUNT_BLOCK // max(1, math.prod(X.shape[2:])))
        blocks = (X[n, a:a + steps] for n in range(n_trials) for a in range(0, X.shape[1], steps))
    for block in blocks:
        if limit is not None and total > limit:
            break
        total += 8 * int(np.count_nonzero(block))
    return total


def _copied_bytes(*arrays) -> int:
    """What the core copies before it releases the GIL (it reads them during the whole call): float
    targets and recorded activity (an activity tuple's third entry); ``None`` and class indices
    count 0 here."""
    total = 0
    for a in arrays:
        if isinstance(a, tuple):
            a = a[2]
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            total += a.nbytes
    return total


def _gradient_bytes_per_chunk(sizes, n_steps: int, bptt_window, extra_ds: bool) -> int:
    """Buffers of the gradient of one chunk of 16 trials: its own gradient and packed weights, the
    BPTT tape (membrane potentials of every step, or of one bptt_window and the checkpoints), the
    readout traces and their gradient."""
    n, tau, k = sizes["neurons"], sizes["tau_neurons"], sizes["outputs"]
    if bptt_window is None or bptt_window >= n_steps:
        tape = n_steps * (n + tau)
    else:
        tape = (bptt_window + 1) * (n + tau) + -(-n_steps // bptt_window) * 3 * n
    floats = sizes["params"] + sizes["packed"] + _CHUNK * (tape + 2 * n_steps * k + (n_steps * n if extra_ds else 0))
    return _FLOAT * floats


def _check_gradient_memory(network, n_trials: int, n_steps: int, *, n_batch: int, bptt_window, extra_ds: bool,
                           n_events: int, fit: bool, n_threads: int) -> None:
    """Raise ``MemoryError`` when a gradient computation over batches of ``n_batch`` trials cannot fit
    (the core keeps one set of buffers per thread, at most one per chunk of 16 trials of a batch)."""
    sizes = _network_sizes(network)
    chunks = min(-(-min(n_batch, n_trials) // _CHUNK), max(1, n_threads))
    tapes = chunks * _gradient_bytes_per_chunk(sizes, n_steps, bptt_window, extra_ds)
    # parameters, gradient, optimiser moments, the copies kept against divergence and for the best epoch
    total = tapes + (6 if fit else 3) * _FLOAT * sizes["params"] + n_events
    window = "the whole trial" if bptt_window is None or bptt_window >= n_steps else f"bptt_window={bptt_window} steps"
    what = (f"{'training' if fit else 'loss_and_grad'} ({n_steps} time steps, {sizes['neurons']} neurons, "
            f"{min(n_batch, n_trials)} trials per batch, {chunks} thread(s), BPTT tape over {window}: "
            f"{tapes / 2**30:.3g} GiB for the buffers, a tape and a gradient of 16 trials per thread)")
    rest = ("use fewer hidden units (n_hidden) or shorter trials, or fewer threads (n_jobs; each keeps a BPTT tape "
            "of 16 trials)" if fit else "use shorter trials, or fewer threads (n_jobs; each keeps a BPTT tape of 16 "
            "trials)")
    # the best window is searched only when the check fails: it runs before every fit and gradient
    check_memory(total, what, lambda: _window_advice(sizes, n_steps, bptt_window, extra_ds) + rest)


def _window_advice(sizes, n_steps: int, bptt_window, extra_ds: bool) -> str:
    """Which ``bptt_window`` needs the least memory, as advice ending in ``", "`` (empty when the
    current one does). A window keeps its own steps' tape and a checkpoint of 3 values per neuron
    at every window's start, ``(w + 1)(n + tau) + ceil(T / w) 3 n`` floats: the least near
    ``w = sqrt(3 n T / (n + tau))``, and more for windows of a few steps than for none."""
    if n_steps < 2:
        return ""
    n, tau = sizes["neurons"], sizes["tau_neurons"]
    guess = math.sqrt(3 * n * n_steps / max(1, n + tau))
    # ceil(T / w) makes the cost step: look around the continuous optimum
    candidates = {max(1, min(n_steps - 1, w)) for w in range(int(0.8 * guess), int(1.25 * guess) + 2)}
    cost = {w: _gradient_bytes_per_chunk(sizes, n_steps, w, extra_ds) for w in candidates | {None}}
    best = min(cost, key=lambda w: (cost[w], w is not None))  # the whole trial on a tie
    current = None if bptt_window is None or bptt_window >= n_steps else bptt_window
    if current == best:
        return ""
    gib = cost[best] / 2**30
    if best is None:
        return (f"train without bptt_window (on trials this short, the whole trial's tape needs the least memory: "
                f"{gib:.3g} GiB per thread), ")
    if current is not None and current < best:
        return (f"set a larger bptt_window (windows of few steps keep a checkpoint every few steps): bptt_window={best} "
                f"needs the least, {gib:.3g} GiB per thread, ")
    return f"set bptt_window={best} (the window that needs the least memory: {gib:.3g} GiB per thread), "


def _check_readout_memory(network, X: np.ndarray, per_step: bool = True) -> None:
    """Raise ``MemoryError`` when the readout of the trials of ``X`` cannot fit: the outputs of
    every step, or only the window's (``per_step=False``: ``decision_function``, ``predict``)."""
    k = _network_sizes(network)["outputs"]
    n_trials, n_steps = X.shape[:2]
    total = 2 * _FLOAT * n_trials * (n_steps if per_step else 1) * k + _events_bytes(X)
    what = f"the {'per-step ' if per_step else ''}outputs of {n_trials} trials of {n_steps} time steps"
    check_memory(total, what, "predict fewer trials at a time (or shorter trials)")


#: Work of one core call from ``predict``, ``decision_path`` and ``simulate``, in trials x time steps
#: x (neurons + input channels): at 1-6 ns per unit and step, some 0.05-0.4 s on one core, so that a
#: Ctrl-C stops them between calls (the core does not look at signals while it computes). Results do
#: not depend on it: each trial is simulated on its own.
_CALL_WORK = 1 << 26


def _block_trials(network, Xc: np.ndarray, n_threads: int) -> int:
    """Trials per core call of ``Xc``: about ``_CALL_WORK`` of work, at least 4 of the core's
    chunks per thread."""
    units = _network_sizes(network)["neurons"] + Xc.shape[2]
    return max(4 * _CHUNK * max(1, n_threads), _CALL_WORK // max(1, Xc.shape[1] * units))


def _in_blocks(network, Xc: np.ndarray, n_threads: int, call: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``call(Xc)`` on blocks of trials (:func:`_block_trials`), for outputs with trials on the
    first axis that are small beside the input (logits, readout traces): each block's result is
    copied into one array (for outputs as large as the input, see :func:`_simulate`)."""
    n = Xc.shape[0]
    block = _block_trials(network, Xc, n_threads)
    if n <= block:
        return call(Xc)
    first = call(Xc[:block])
    out = np.empty((n,) + first.shape[1:], dtype=first.dtype)
    out[:block] = first
    del first
    for start in range(block, n, block):
        out[start:start + block] = call(Xc[start:start + block])
    return out


def _simulate(network, Xc: np.ndarray, membrane: bool, n_threads: int):
    """``network.simulate`` of ``Xc``: ``(spikes, membranes or None, readout, logits)``. Large
    inputs go to the core in blocks of trials (:func:`_block_trials`) that it writes straight into
    the rows of arrays allocated once: copying each block's output, as :func:`_in_blocks` does
    for the small outputs of predictions, made simulating with membranes 40 % slower."""
    n, n_steps = Xc.shape[:2]
    block = _block_trials(network, Xc, n_threads)
    if n <= block:
        return network.simulate(Xc, membrane, n_threads)
    sizes = [size for _, size in network.populations()]
    k = _network_sizes(network)["outputs"]
    spikes = [np.empty((n, n_steps, size), np.uint8) for size in sizes]
    mem = [np.empty((n, n_steps, size), np.float32) for size in sizes] if membrane else None
    readout, logits = np.empty((n, n_steps, k), np.float32), np.empty((n, n_steps, k), np.float32)
    for start in range(0, n, block):
        rows = slice(start, start + block)
        network.simulate_into(Xc[rows], n_threads, [s[rows] for s in spikes],
                              None if mem is None else [m[rows] for m in mem], readout[rows], logits[rows])
    return spikes, mem, readout, logits


#: Trials simulated at a time where only spike counts are kept (``energy``, ``network_tuning``), at
#: most: a multiple of the core's 16-trial chunks (results do not depend on it: each trial is
#: simulated on its own).
_SIM_CHUNK = 256


#: Memory of one chunk's simulation in :func:`_simulations_in_chunks` (spikes, readout, logits).
_SIM_BYTES = 1 << 28


def _simulations_in_chunks(estimator, Xc: np.ndarray, reduce: Callable[[Bunch], _R]) -> Iterator[_R]:
    """``reduce(estimator.simulate(chunk, membrane=False))`` for chunks of the checked spikes
    ``Xc``, for callers that keep only spike counts (no dense spikes of all of ``Xc``). A chunk is
    ``_SIM_CHUNK`` trials, fewer when their simulation would exceed ``_SIM_BYTES`` (long trials,
    large networks), and each simulation is dropped before the next one starts."""
    per_trial = Xc.shape[1] * _simulated_bytes_per_step(_network_sizes(estimator.network_), membrane=False)
    fits = _SIM_BYTES // max(1, per_trial)
    block = max(1, min(_SIM_CHUNK, fits // _CHUNK * _CHUNK or fits))
    for start in range(0, len(Xc), block):
        yield reduce(estimator.simulate(Xc[start:start + block], membrane=False))


def _simulated_bytes_per_step(sizes, membrane: bool) -> int:
    """A simulation's output per trial and step: spikes as uint8, membrane potentials twice (the
    core's tape and the result) when asked for, readout traces and logits."""
    return sizes["neurons"] * (1 + (2 * _FLOAT if membrane else 0)) + 3 * _FLOAT * sizes["outputs"]


def _check_simulate_memory(network, X: np.ndarray, membrane: bool) -> None:
    """Raise ``MemoryError`` when simulating the trials of ``X`` cannot fit (see
    :func:`_simulated_bytes_per_step`, and the input's events)."""
    sizes = _network_sizes(network)
    n = sizes["neurons"]
    n_trials, n_steps = X.shape[:2]
    total = n_trials * n_steps * _simulated_bytes_per_step(sizes, membrane) + _events_bytes(X)
    check_memory(total, f"simulating {n_trials} trials of {n_steps} time steps ({n} neurons"
                 f"{', with membrane potentials' if membrane else ''})",
                 "simulate fewer trials at a time" + (", or pass membrane=False" if membrane else ""))


def _n_threads(n_jobs) -> int:
    """Resolve ``n_jobs``: -1 uses every core available to the process; ``None`` too, but no more
    than ``OMP_NUM_THREADS`` when that is set to a positive integer (joblib's process workers set it
    to their share of the cores, so a parallel search does not oversubscribe the machine). A
    positive ``n_jobs`` starts at most ``_OVERSUBSCRIBE`` threads per available core: beyond that,
    threads only add overhead to every call, and results do not depend on them."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        available = os.cpu_count() or 1
    if n_jobs is None:
        limit = os.environ.get("OMP_NUM_THREADS", "").strip()
        if limit.isdigit() and int(limit) > 0:
            return min(available, int(limit))
        return available
    if not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer or None, got {n_jobs!r}")
    n_jobs = int(n_jobs)
    if n_jobs < 0:
        return max(1, available + 1 + n_jobs)
    if n_jobs > _MAX_THREADS:
        raise ValueError(f"n_jobs must be at most {_MAX_THREADS} (threads), got {n_jobs!r}")
    return min(int(n_jobs), _OVERSUBSCRIBE * available)


def _copy_network(network):
    """An independent copy of a core network (weights, masks, description, and the optimiser
    state that ``partial_fit`` continues from)."""
    _check_network_memory(json.loads(network.spec_json), _copies(network), "copying the network")
    return network.copy()


def _network_to_bytes(network, metadata: str = "", include_optimizer: bool = True) -> bytes:
    """The model-file bytes of a core network (memory checked first)."""
    optimizer = include_optimizer and network.optimizer_steps is not None
    _check_network_memory(json.loads(network.spec_json), _copies(network, True, include_optimizer),
                          "serialising the network (save, pickle, a checkpoint)"
                          + (" with the optimiser's state" if optimizer else ""),
                          "save(..., include_optimizer=False) stores about a third as much (without the optimiser's state, "
                          "which only training further needs), or free memory" if optimizer else
                          "free memory (the file needs about five times the network's parameters while it is written)")
    return bytes(network.to_bytes(metadata, include_optimizer))


def _network_and_metadata(data: bytes):
    """``(network, metadata)`` of model-file bytes; the core decodes them into about twice their
    size (memory checked first)."""
    check_memory(3 * len(data), f"reading a model of {len(data):,} bytes",
                 "free memory (the model needs about three times its file's size while it is read)")
    return _core.Network.from_bytes(data)


def _network_from_bytes(data: bytes):
    """The network of model-file bytes (how a pickled ``_core.Network`` comes back)."""
    return _network_and_metadata(data)[0]


# A core network pickles as its model-file bytes: the snapshots a callback gets (info["network"])
# can be kept with pickle/joblib, or sent to another process.
copyreg.pickle(_core.Network, lambda network: (_network_from_bytes, (_network_to_bytes(network),)))


def _replace(tmp: Path, path: Path) -> None:
    """``os.replace(tmp, path)``; on Windows, retried for about a second while ``path`` is open
    elsewhere (another process reading the model, a virus scanner, a sync client), where Windows
    refuses the rename with ``PermissionError`` instead of replacing the file."""
    for wait in (0.05, 0.1, 0.2, 0.4, 0.8) if sys.platform == "win32" else ():
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            time.sleep(wait)
    os.replace(tmp, path)


def _write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half-written).

    The data reach the disk (``fsync``) before the rename. A symbolic link is followed: its
    target gets the new contents, and the link stays. An existing file keeps its permissions."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory; give a file name, e.g. {str(path / 'model.msrnn')!r}")
    if path.is_symlink():
        path = Path(os.path.realpath(path))  # renaming onto the link would replace it with a file
    try:
        mode = stat.S_IMODE(path.stat().st_mode)  # e.g. a 0600 model stays private
    except OSError:
        mode = None  # a new file: normal permissions (umask), unlike tempfile's 0600
    # a name of its own (process and random part): fits in parallel processes that write the same
    # checkpoint_path, or saves to one path, never write into or rename each other's temporary file
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # on disk before it replaces the old file
        if mode is not None:
            os.chmod(tmp, mode)
        _replace(tmp, path)
    except BaseException as e:
        try:
            if sys.platform == "win32" and tmp.exists():
                os.chmod(tmp, stat.S_IWRITE)  # Windows does not delete a read-only file
            tmp.unlink(missing_ok=True)  # no stray copy of the model beside the file that failed
        except OSError:
            pass  # e.g. a read-only file system, where the temporary file was never made: the first error counts
        if isinstance(e, OSError) and e.errno is not None and e.filename is not None:
            # the error names the file asked for, not the temporary one (a missing folder, no permission)
            raise type(e)(e.errno, e.strerror, str(path)) from e
        raise


class _Checkpoint:
    """Writes the network every ``every`` epochs during fit, with metadata, atomically. The
    epochs are counted from the start of the run, or with ``count_offset`` (``partial_fit``, one
    epoch per run) from that many epochs before it.

    With early stopping it writes what an interrupted fit would keep: the network of the best
    validation epoch so far (``best_epoch`` in the metadata, the history up to the current
    epoch), or ``start`` (the network a warm start began from and its epoch) while no epoch has
    beaten it. Without early stopping, the current network."""

    def __init__(self, path, every: int, meta: str, epoch_offset: int, count_offset: int = 0, start=None):
        self.path, self.every, self.epoch_offset, self.count_offset = path, every, epoch_offset, count_offset
        self.meta = json.loads(meta)
        self.history = list(self.meta["history"])
        self.failed = False
        self.start = start  # (network, epoch) of a warm start's weights, which compete with early stopping's epochs
        self.best: Optional[Tuple[Any, Any]] = None  # (network, epoch) that early stopping would restore now

    def __call__(self, info: Dict[str, Any]) -> None:
        record = {k: info[k] for k in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "grad_norm", "rate_hz")}
        record["epoch"] += self.epoch_offset
        self.history.append(record)
        best = info.get("best_epoch")  # the core's: this run's epoch, -1 for the starting weights, None for none
        if best is not None and best == info["epoch"]:
            self.best = (info["network"], record["epoch"])
        elif best == -1:
            self.best = self.start
        if (info["epoch"] + self.count_offset + 1) % self.every == 0:
            network, best_epoch = (info["network"], None) if best is None or self.best is None else self.best
            meta = dict(self.meta, history=self.history, stop_reason="checkpoint", best_epoch=best_epoch)
            try:
                _write_atomic(self.path, _network_to_bytes(network, json.dumps(meta)))
            except OSError as e:  # a full disk should not end the training that the checkpoint protects
                if not self.failed:
                    warnings.warn(f"could not write the checkpoint {self.path}: {e}; training goes on without it",
                                  RuntimeWarning, stacklevel=user_stacklevel())
                self.failed = True


def _check_checkpoint_path(path) -> None:
    """Raise before training when ``checkpoint_path``'s folder does not exist or is not writable."""
    if Path(path).is_dir():
        raise IsADirectoryError(f"checkpoint_path {str(path)!r} is a directory; give a file name in it")
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise FileNotFoundError(f"checkpoint_path {str(path)!r}: the folder {str(folder)!r} does not exist")
    try:  # a real write: os.access says every folder is writable on Windows
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        raise PermissionError(f"checkpoint_path {str(path)!r}: the folder {str(folder)!r} is not writable") from None


class _Progress:
    """Per-batch callback of the core: a progress bar (tqdm if installed), checkpoints and user
    callbacks. With ``epoch_offset`` (``partial_fit``: one epoch per call), the epochs are shown
    numbered as in ``history_`` and the bar does not stay on screen after the call."""

    def __init__(self, verbose: int, max_epochs: int, callback: Optional[Callable], checkpoint=None,
                 epoch_offset: Optional[int] = None):
        self.verbose = verbose
        self.max_epochs = max_epochs
        self.epoch_offset = epoch_offset
        self.stopped_by_callback = False
        self.callback = callback
        self.checkpoint = checkpoint
        self.bar = None

    def __call__(self, info: Dict[str, Any]):
        if self.checkpoint is not None and info["event"] == "epoch":
            self.checkpoint(info)
        if self.verbose:
            if info["event"] == "batch":
                self._batch(info)
            else:
                self._epoch(info)
        if self.callback is not None:
            stop = self.callback(info)
            stop = bool(stop) if isinstance(stop, np.bool_) else stop  # NumPy's False stops too
            self.stopped_by_callback = self.stopped_by_callback or stop is False
            return stop
        return None

    def _batch(self, info):
        if self.bar is None:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self.bar = False
            else:
                self.bar = tqdm(total=self.max_epochs * info["n_batches"],
                                desc="fit" if self.epoch_offset is None else "partial_fit", unit="batch",
                                leave=self.epoch_offset is None)
        if self.bar:
            self.bar.update(1)
            self.bar.set_postfix(epoch=info["epoch"] + 1 + (self.epoch_offset or 0), loss=f"{info['loss']:.4f}",
                                 refresh=False)

    def _epoch(self, info):
        if not self.bar or self.verbose > 1:
            which = (f"{info['epoch'] + 1}/{self.max_epochs}" if self.epoch_offset is None
                     else f"{info['epoch'] + 1 + self.epoch_offset}")
            msg = f"epoch {which}: loss {info['loss']:.4f}"
            for key in ("accuracy", "val_loss", "val_accuracy"):
                if info.get(key) is not None:
                    msg += f", {key} {info[key]:.4f}"
            msg += f", rate {info['rate_hz']:.1f} Hz"
            print(msg, flush=True)

    def close(self):
        if self.bar:
            self.bar.close()


# ---------------------------------------------------------------------------------------------
# The classifier
# ---------------------------------------------------------------------------------------------
class _SpikingRNNBase(BaseEstimator):
    """Parameters, training, simulation, weights and persistence shared by the spiking estimators.

    See :class:`SpikingRNNClassifier` for the parameters (the regressor has the same).
    """

    network_: "_core.Network"  # the fitted network (set by fit and load; an annotation only)

    def __init__(
        self,
        n_hidden=128,
        *,
        architecture="srnn",
        tau_mem=20.0,
        tau_syn=5.0,
        tau_out=20.0,
        threshold=1.0,
        reset="subtract",
        detach_reset=True,
        train_time_constants=False,
        surrogate="fast_sigmoid",
        surrogate_slope=None,
        readout="mean",
        dt=1.0,
        input_scale=0.5,
        recurrent_scale=0.1,
        output_scale=1.0,
        learning_rate=5e-3,
        recurrent_lr_scale=0.2,
        max_epochs=40,
        batch_size=32,
        weight_decay=0.0,
        max_grad_norm=5.0,
        bptt_window=None,
        optimizer="adam",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        rate_weight=0.0,
        rate_bounds=(0.0, 100.0),
        spike_jitter=None,
        activity_weight=1.0,
        activity_kernel="exponential",
        activity_tau=20.0,
        activity_scale="hz",
        activity_normalize=False,
        activity_noise_correction=False,
        warm_start=False,
        checkpoint_path=None,
        checkpoint_every=1,
        random_state=None,
        n_jobs=None,
        verbose=0,
        callback=None,
    ) -> None:
        self.n_hidden = n_hidden
        self.architecture = architecture
        self.tau_mem = tau_mem
        self.tau_syn = tau_syn
        self.tau_out = tau_out
        self.threshold = threshold
        self.reset = reset
        self.detach_reset = detach_reset
        self.train_time_constants = train_time_constants
        self.surrogate = surrogate
        self.surrogate_slope = surrogate_slope
        self.readout = readout
        self.dt = dt
        self.input_scale = input_scale
        self.recurrent_scale = recurrent_scale
        self.output_scale = output_scale
        self.learning_rate = learning_rate
        self.recurrent_lr_scale = recurrent_lr_scale
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.bptt_window = bptt_window
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.rate_weight = rate_weight
        self.rate_bounds = rate_bounds
        self.spike_jitter = spike_jitter
        self.activity_weight = activity_weight
        self.activity_kernel = activity_kernel
        self.activity_tau = activity_tau
        self.activity_scale = activity_scale
        self.activity_normalize = activity_normalize
        self.activity_noise_correction = activity_noise_correction
        self.warm_start = warm_start
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.callback = callback

    def _loss_and_grad(self, Xc, targets, activity, sample_weight=None):
        """The core's loss and gradient of the fitted network on checked input (shared by both
        estimators' ``loss_and_grad``), after checking that its buffers fit; fixed projections
        left out. ``sample_weight``: checked weights or None."""
        # fit checks every parameter; of those, loss_and_grad also uses these
        check_number(self.bptt_window, "bptt_window", low=1, high=_MAX_COUNT, integer=True, allow_none=True)
        n_threads = _n_threads(self.n_jobs)
        _check_gradient_memory(self.network_, Xc.shape[0], Xc.shape[1], n_batch=Xc.shape[0],
                               bptt_window=self._bptt_window(), extra_ds=activity is not None,
                               n_events=_events_bytes(Xc) + _copied_bytes(targets, activity), fit=False,
                               n_threads=n_threads)
        # Setting bptt_window borrows a network exclusively, which fails while another thread
        # predicts with it: a window other than the network's goes to a copy.
        network = self.network_
        if network.bptt_window != self._bptt_window():
            network = _copy_network(network)
            network.bptt_window = self._bptt_window()
        loss, grads = network.loss_and_grad(Xc, targets, n_threads, activity, sample_weight)
        fixed = {key for key, _, _, _, trainable in network.projections() if not trainable}
        grads = {k: v for k, v in grads.items() if k not in fixed}
        bad = [k for k, v in grads.items() if not np.isfinite(v).all()]
        if not math.isfinite(loss) or bad:  # returned, for diagnosis, where predict raises
            largest = max((float(np.abs(w).max()) for w in network.get_weights().values() if w.size), default=0.0)
            warnings.warn(
                f"the loss ({float(loss):g}) or the gradient ({', '.join(bad[:5]) or 'none'} not finite) is not finite: "
                f"the network's arithmetic overflowed float32 (largest |weight| {largest:.3g}); a training step "
                "with this gradient would diverge (fit stops there), and predict raises FloatingPointError",
                RuntimeWarning, stacklevel=user_stacklevel())
        return float(loss), grads

    # -- parameters -----------------------------------------------------------------------------
    def _validate_params(self):
        check_number(self.n_hidden, "n_hidden", low=1, high=_MAX_COUNT, integer=True)
        check_seed_type(self.random_state)
        if not (isinstance(self.architecture, (str, dict, Topology))):
            raise ValueError(
                f"architecture must be one of {PRESETS}, a motorsrnn.topology.Topology or a dict, got {self.architecture!r}"
            )
        if isinstance(self.architecture, str) and self.architecture not in PRESETS:
            raise ValueError(f"architecture must be one of {PRESETS} (or a Topology), got {self.architecture!r}")
        for name in ("tau_mem", "tau_syn", "tau_out"):
            check_number(getattr(self, name), name, low=0)
        check_number(self.threshold, "threshold", low=0, high=1e30, strict_low=True)  # finite in float32
        check_number(self.dt, "dt", low=0, strict_low=True)
        check_choice(self.reset, "reset", _RESETS)
        check_choice(self.surrogate, "surrogate", _SURROGATES)
        check_choice(self.readout, "readout", _READOUTS)
        check_choice(self.optimizer, "optimizer", _OPTIMIZERS)
        check_number(self.surrogate_slope, "surrogate_slope", low=0, strict_low=True, allow_none=True)
        for name in ("input_scale", "recurrent_scale", "output_scale"):
            check_number(getattr(self, name), name, low=0)
        check_number(self.learning_rate, "learning_rate", low=0, strict_low=True)
        check_number(self.recurrent_lr_scale, "recurrent_lr_scale", low=0)
        check_number(self.max_epochs, "max_epochs", low=0, high=_MAX_COUNT, integer=True)
        check_number(self.batch_size, "batch_size", low=1, high=_MAX_COUNT, integer=True)
        check_number(self.weight_decay, "weight_decay", low=0, high=1e30)  # finite in float32
        check_number(self.max_grad_norm, "max_grad_norm", low=0, strict_low=True, allow_none=True)
        check_number(self.bptt_window, "bptt_window", low=1, high=_MAX_COUNT, integer=True, allow_none=True)
        check_early_stopping_params(self)
        if not isinstance(self.verbose, (bool, np.bool_)):  # True/False as 1/0, as in scikit-learn
            check_number(self.verbose, "verbose", low=0, integer=True)
        for name in ("detach_reset", "train_time_constants"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        check_number(self.rate_weight, "rate_weight", low=0, high=1e30)  # finite in float32
        try:
            lower, upper = self.rate_bounds
        except (TypeError, ValueError):
            raise ValueError(f"rate_bounds must be a (lower, upper) pair in Hz, got {self.rate_bounds!r}") from None
        check_number(lower, "rate_bounds[0]", low=0, high=1e30)
        check_number(upper, "rate_bounds[1]", low=lower, high=1e30)
        self._jitter_config()
        self._validate_activity_params()
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise ValueError(f"warm_start must be True or False, got {self.warm_start!r}")
        check_number(self.checkpoint_every, "checkpoint_every", low=1, integer=True)
        if self.checkpoint_path is not None and not isinstance(self.checkpoint_path, (str, os.PathLike)):
            raise ValueError(f"checkpoint_path must be a path or None, got {self.checkpoint_path!r}")
        if self.callback is not None and not callable(self.callback):
            raise ValueError("callback must be callable or None")

    def _jitter_config(self):
        """``spike_jitter`` as the core takes it (standard deviation in time steps), validated."""
        j = self.spike_jitter
        if j is None:
            return None
        if isinstance(j, str):
            if j != "shuffle":
                raise ValueError(f'spike_jitter must be None, "shuffle" or a standard deviation in ms, got {j!r}')
            return {"kind": "shuffle"}
        check_number(j, "spike_jitter", low=0)
        return None if float(j) == 0.0 else {"kind": "gaussian", "sd": float(j) / float(self.dt)}

    def _validate_activity_params(self, dt: Optional[float] = None):
        """Checks of the activity-matching options (also run by ``loss_and_grad``, which does not
        validate the other parameters); with ``dt``, the bin width of the network the activity is
        matched in, also the filter's length in bins."""
        check_number(self.activity_weight, "activity_weight", low=0, high=1e30)  # finite in float32
        kernel = self.activity_kernel
        if not isinstance(kernel, str) or kernel not in _ACTIVITY_KERNELS:
            raise InvalidParameterError(f"activity_kernel must be one of {_ACTIVITY_KERNELS}, got {kernel!r}")
        tau = check_number(self.activity_tau, "activity_tau", low=0, strict_low=True)
        if dt is not None and tau > _MAX_ACTIVITY_TAU_STEPS * dt:  # the exponential filter's decay would round to 1
            raise ValueError(f"activity_tau ({tau:g} ms) must be at most {_MAX_ACTIVITY_TAU_STEPS:g} time steps of "
                             f"dt ({dt:g} ms) to match activity: a longer filter is a constant. Use a larger dt or "
                             "a shorter activity_tau")
        check_choice(self.activity_scale, "activity_scale", ("hz", "per_bin"))
        check_bool(self.activity_normalize, "activity_normalize")
        check_bool(self.activity_noise_correction, "activity_noise_correction")

    def topology(self) -> Topology:
        """The :class:`~motorsrnn.topology.Topology` this estimator builds (before filling in defaults)."""
        arch = self.architecture
        if isinstance(arch, Topology):
            return arch.copy()
        if isinstance(arch, dict):
            return Topology.from_dict(arch)
        return preset(arch, self.n_hidden)

    def _network_spec(self, n_inputs: int, n_outputs: int, validate: bool = True) -> Dict[str, Any]:
        """The description of the network handed to the core (see ``docs/model.md``);
        ``validate=False`` skips the topology's checks and warnings (a description for comparison)."""
        neuron_defaults = {
            "tau_mem": float(self.tau_mem),
            "tau_syn": float(self.tau_syn),
            "threshold": float(self.threshold),
            "reset": self.reset,
            "detach_reset": bool(self.detach_reset),
            "trainable_tau": bool(self.train_time_constants),
        }
        scales = {"input": self.input_scale, "recurrent": self.recurrent_scale, "output": self.output_scale}
        topology = self.topology()
        total = sum(int(p.size) for p in topology.populations)
        if validate and not isinstance(self.architecture, str) and self.n_hidden != 128 and total != self.n_hidden:
            sizes = ", ".join(f"{p.name} {int(p.size)}" for p in topology.populations)
            warnings.warn(
                f"n_hidden={self.n_hidden} is not used: the architecture is a topology with its own population sizes "
                f"({sizes}: {total} units). To compare networks of one size, build the topology with it, e.g. "
                f"preset('motorsrnn', n_hidden={self.n_hidden}, feedback='removed')",
                UserWarning, stacklevel=user_stacklevel())
        return {
            "n_inputs": int(n_inputs),
            "n_outputs": int(n_outputs),
            "dt": float(self.dt),
            "tau_out": float(self.tau_out),
            "readout": self.readout,
            "surrogate": {
                "kind": self.surrogate,
                "slope": None if self.surrogate_slope is None else float(self.surrogate_slope),
            },
            **topology.core_spec(neuron_defaults, scales, float(self.recurrent_lr_scale), validate=validate),
        }

    # -- fitting --------------------------------------------------------------------------------
    @staticmethod
    def _seeds(rng):
        """The weight-initialisation and shuffling seeds ``fit`` draws first from its generator."""
        init_seed, shuffle_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        return init_seed, shuffle_seed

    def _check_same_network(self, n_inputs: Optional[int] = None, n_outputs: Optional[int] = None,
                            context: str = "warm_start") -> None:
        """Raise when the parameters describe another network than the fitted one (sizes,
        architecture, neuron and readout parameters, per-projection step scales): a warm start
        would go on training the old one while ``get_params()`` describes the new, and a saved
        file would pair the network with parameters that do not describe it. Only the initial
        weight scales may differ, since they no longer matter. ``n_inputs`` / ``n_outputs``: the
        new data's (a warm start), else the fitted network's. ``context``: ``"warm_start"``,
        ``"partial_fit"``, ``"save"`` or ``"load"``, for the message."""
        def spec(text):
            d = json.loads(text)
            for p in d["projections"]:
                p.pop("init_scale", None)
            return d

        old = spec(self.network_.spec_json)
        n_inputs = old["n_inputs"] if n_inputs is None else n_inputs
        n_outputs = old["n_outputs"] if n_outputs is None else n_outputs
        # the description only: no network is built (no weights drawn, no checks, no warnings)
        new = spec(_core.normalize_spec(json.dumps(self._network_spec(n_inputs, n_outputs, validate=False))))
        if old != new:
            what = ", ".join(sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)))
            raise ValueError({
                "warm_start": "warm_start continues the fitted network, but the parameters now describe another one (it "
                              f"differs in: {what}); fit with warm_start=False to train that one, or set the "
                              "parameters back",
                "save": f"the parameters were changed after fit and now describe another network (it differs in: "
                        f"{what}), so the file would pair the fitted network with parameters that do not describe "
                        "it; set them back (or refit) before saving",
                "load": f"the saved parameters describe another network than the saved one (it differs in: {what})",
                "partial_fit": "partial_fit continues the fitted network, but the parameters now describe another one "
                               f"(it differs in: {what}); set the parameters back, or call fit to start that one",
            }[context])

    def _new_network(self, n_inputs: int, n_outputs: int, init_seed: int):
        spec = self._network_spec(n_inputs, n_outputs)
        _check_network_memory(spec, 2, "building the network")  # its parameters, masks and the draws
        network = _core.Network(json.dumps(spec), init_seed)
        for key, mask in network.masks().items():
            if not mask.any():  # a density so low that the draw kept nothing: almost surely not meant
                warnings.warn(f"projection {key!r} has no connection: its density kept none of its {mask.size} "
                              f"possible connections ({mask.shape[1]} sources x {mask.shape[0]} targets) in this "
                              "draw; raise its density, or remove the projection", UserWarning,
                              stacklevel=user_stacklevel())
        return network

    def initial_network(self, n_inputs: int, n_outputs: int):
        """The untrained network ``fit`` starts from (for an int ``random_state``: exactly it).

        Parameters
        ----------
        n_inputs, n_outputs : int
            Channels of ``X`` (``>= 1``) and classes (``>= 2``, classifier) or outputs (``>= 1``,
            regressor) of ``y``.

        Returns
        -------
        motorsrnn._core.Network
            A ``RandomState`` or ``Generator`` given as ``random_state`` is not advanced (a copy
            is drawn from).
        """
        self._validate_params()
        n_inputs = check_number(n_inputs, "n_inputs", integer=True, low=1)
        classifier = isinstance(self, ClassifierMixin)
        n_outputs = check_number(n_outputs, "n_outputs (classes)" if classifier else "n_outputs", integer=True,
                                 low=2 if classifier else 1)
        rs = self.random_state
        if isinstance(rs, (np.random.RandomState, np.random.Generator)):
            rs = copy.deepcopy(rs)
        return self._new_network(n_inputs, n_outputs, self._seeds(check_seed(rs))[0])

    def _train(self, Xc, targets, n_outputs, *, stratify=None, neural=None, groups=None, targets_attrs=None,
               sample_weight=None, incremental=False):
        """Train on validated spikes ``Xc`` and core targets (int64 class indices, or float32
        values per trial or per step); shared by the classifier and the regressor. ``neural`` is
        ``(neural_targets, neural_units, neural_population)`` for activity matching; ``groups``
        (validated) makes early stopping hold out whole groups; ``sample_weight`` (validated, or
        None) weights each trial's loss; ``incremental`` (``partial_fit``) trains one epoch from
        the fitted network and its optimiser state, if any. ``targets_attrs`` are the
        estimator's attributes that describe the targets (``classes_``, ...) and the input's
        column names (``feature_names_in_``); one given as None is removed (scikit-learn's way
        for absent column names). They are set once
        the Python checks have passed, and set back if anything fails before the trained network
        is stored, so that a fit that raises leaves the estimator's attributes matching its
        network."""
        rng = check_seed(self.random_state)
        init_seed, shuffle_seed = self._seeds(rng)

        X_train, y_train, X_val, y_val = Xc, targets, None, None
        w_train, w_val = sample_weight, None
        if self.early_stopping:
            tr, va = early_stopping_split(len(targets), self.validation_fraction, rng, stratify=stratify,
                                          groups=groups)
            X_train, y_train, X_val, y_val = Xc[tr], targets[tr], Xc[va], targets[va]
            if sample_weight is not None:
                w_train, w_val = sample_weight[tr], sample_weight[va]
            for part, w, side in ((y_train, w_train, "training"), (y_val, w_val, "validation")):
                problem = None
                if w is not None and not (w > 0).any():
                    problem = "no trial of positive sample_weight"
                elif part.dtype.kind == "f" and not _observed(part, w).any():
                    problem = ("no observed target: every target of its trials is NaN (missing)"
                               + (" or in a trial of sample_weight 0" if w is not None else ""))
                if problem:
                    raise ValueError(
                        f"early stopping's {side} split ({len(part)} trials, validation_fraction="
                        f"{self.validation_fraction:g}) has {problem}; change validation_fraction or random_state, "
                        "or fit without early_stopping"
                    )
            if y_train.dtype.kind in "iu":  # class indices: a class only in the validation split is never trained on
                missing = np.setdiff1d(np.arange(n_outputs), y_train)
                if missing.size:
                    labels = (targets_attrs or {}).get("classes_", getattr(self, "classes_", None))
                    names = (np.asarray(labels)[missing[:10]] if labels is not None else missing[:10]).tolist()
                    warnings.warn(
                        f"early stopping's training split ({len(y_train)} trials, validation_fraction="
                        f"{self.validation_fraction:g}) has no trial of {missing.size} class(es) {names}: the network is "
                        "never trained on them and will rarely predict them; use more trials per class, a smaller "
                        "validation_fraction, or fit without early_stopping",
                        UserWarning,
                        stacklevel=user_stacklevel(),
                    )
            if neural is not None:
                neural = (neural[0][tr],) + tuple(neural[1:])

        if (bool(self.warm_start) or incremental) and hasattr(self, "network_"):
            self._check_same_network(Xc.shape[2], n_outputs, context="partial_fit" if incremental else "warm_start")
            # train a copy: a fit that raises (a callback's exception, MemoryError) leaves the
            # estimator's network and its history_ as they were
            network = _copy_network(self.network_)
            previous = list(self.history_)
            # the epoch whose weights the fit starts from: the previous best, or its last epoch
            start_epoch = self.best_epoch_ if getattr(self, "best_epoch_", None) is not None else len(previous) - 1
        else:
            network = self._new_network(Xc.shape[2], n_outputs, init_seed)
            previous, start_epoch = [], None
        activity = None if neural is None else self._activity(network, X_train, *neural, sample_weight=w_train, checked=True)
        if self.checkpoint_path is not None:
            _check_checkpoint_path(self.checkpoint_path)
        saved = {k: self.__dict__[k] for k in (targets_attrs or {}) if k in self.__dict__}
        for k, v in (targets_attrs or {}).items():
            if v is None:
                self.__dict__.pop(k, None)
            else:
                self.__dict__[k] = v
        try:
            return self._run_training(network, Xc, (X_train, y_train, w_train), (X_val, y_val, w_val), shuffle_seed,
                                      previous, start_epoch, activity, incremental)
        except BaseException as e:
            if not (hasattr(self, "network_") and self.network_ is network):  # the new network was not stored
                for k in targets_attrs or {}:
                    if k in saved:
                        setattr(self, k, saved[k])
                    else:
                        self.__dict__.pop(k, None)
            if isinstance(e, _StoppedCall):  # the user's callback asked for it: a warning, not an error
                warnings.warn(str(e), RuntimeWarning, stacklevel=user_stacklevel())
                return self
            raise

    def _run_training(self, network, Xc, train, val, shuffle_seed, previous, start_epoch, activity,
                      incremental=False):
        """The second half of :meth:`_train`: the core's training run and the fitted attributes.
        ``train`` and ``val`` are ``(X, y, sample_weight)`` (``val`` all None without early stopping).
        ``incremental``: one epoch, continuing the optimiser's state and the shuffling from the
        epochs trained before (``first_epoch``), without the post-fit checks."""
        (X_train, y_train, w_train), (X_val, y_val, w_val) = train, val
        if int(self.max_epochs) == 0 and not incremental:
            # nothing to train: the estimator gets the network fit would start from (new, or a warm
            # start's, unchanged), e.g. to set_weights of a network trained elsewhere
            self.__dict__.update(
                n_features_in_=int(Xc.shape[2]), network_=network, history_=list(previous), n_iter_=len(previous),
                best_epoch_=self.__dict__.get("best_epoch_") if previous else None, stop_reason_="max_epochs")
            return self
        config = {
            "learning_rate": float(self.learning_rate),
            "max_epochs": int(self.max_epochs),
            "batch_size": int(self.batch_size),
            "weight_decay": float(self.weight_decay),
            "max_grad_norm": None if self.max_grad_norm is None else float(self.max_grad_norm),
            "optimizer": self.optimizer,
            "seed": shuffle_seed,
            "early_stopping": bool(self.early_stopping),
            "n_iter_no_change": int(self.n_iter_no_change),
            "tol": float(self.tol),
            "keep_initial": bool(previous),  # a warm start keeps its weights unless an epoch beats them
            "rate_weight": float(self.rate_weight),
            "rate_lower": float(self.rate_bounds[0]) * float(self.dt) / 1000.0,
            "rate_upper": float(self.rate_bounds[1]) * float(self.dt) / 1000.0,
            "jitter": self._jitter_config(),
            "dt": float(self.dt),
        }
        if incremental:
            config.update(max_epochs=1, early_stopping=False, keep_initial=False, first_epoch=len(previous))
        checkpoint = None
        if self.checkpoint_path is not None:
            meta = self._metadata(Xc.shape[2], previous, "checkpoint", None)
            start = (self.network_, start_epoch) if previous and config["early_stopping"] else None
            checkpoint = _Checkpoint(self.checkpoint_path, int(self.checkpoint_every), meta, len(previous),
                                     len(previous) if incremental else 0, start)
        progress = _Progress(int(self.verbose), int(config["max_epochs"]), self.callback, checkpoint,
                             len(previous) if incremental else None)
        n_events = _events_bytes(X_train)  # (with spike_jitter, the moved copy is counted below)
        if X_val is not None:
            n_events += _events_bytes(X_val)
        n_events += _copied_bytes(y_train, y_val, activity)
        n_threads = _n_threads(self.n_jobs)
        if config["jitter"]:
            moved = _jitter_bytes(X_train, n_threads)  # (and refuses counts that could overflow float32)
            check_memory(moved, "moving the training trials' input spikes (spike_jitter; integral counts up to 1024 "
                         "move as single spikes)", "train on fewer trials, or without spike_jitter")
            n_events += moved
        if self.callback is not None or checkpoint is not None:
            # each epoch's snapshot: the network and its optimiser's state (and a checkpoint's bytes)
            sizes = _network_sizes(network)
            # (with early stopping, a checkpoint holds the best epoch's snapshot too)
            copies = 3 + (15 + (3 if config["early_stopping"] else 0) if checkpoint is not None else 0)
            n_events += copies * _FLOAT * (sizes["params"] + sizes["masked"])
        _check_gradient_memory(network, X_train.shape[0], X_train.shape[1], n_batch=int(self.batch_size),
                               bptt_window=self._bptt_window(), extra_ds=activity is not None or self.rate_weight > 0,
                               n_events=n_events, fit=True, n_threads=n_threads)
        network.bptt_window = self._bptt_window()
        try:
            history, stop, best_epoch, diverged, callback_error, late_interrupt = network.fit(
                X_train,
                y_train,
                X_val,
                y_val,
                json.dumps(config),
                n_threads,
                progress,
                self.callback is not None or checkpoint is not None,
                activity,
                sample_weight=w_train,
                val_sample_weight=w_val,
                resume=incremental,
            )
        except BaseException:
            progress.close()
            raise
        if callback_error is not None and not history:
            progress.close()  # no epoch of this fit completed: the estimator stays as it was (see _train)
            raise callback_error
        if incremental and stop == "interrupted" and not history:
            # the call's one epoch did not end: keeping part of it would break the replayed shuffles,
            # so the estimator stays as it was (see _train), and Ctrl-C stops a loop of calls
            progress.close()
            if not progress.stopped_by_callback:
                raise KeyboardInterrupt("partial_fit was interrupted before its epoch ended; the estimator is left as "
                                        "it was before the call")
            raise _StoppedCall("the callback stopped partial_fit before its epoch ended; the estimator is left as it "
                               "was before the call")
        # an exception from a signal handler (stop "signal_error") comes back like the callback's
        from_signal = stop == "signal_error"
        while True:  # the trained network is stored whatever happens: a Ctrl-C here repeats these lines
            try:
                full_history = previous + [dict(h, epoch=h["epoch"] + len(previous)) for h in history]
                # with early stopping on a warm start where no epoch beat the starting weights, those are kept
                kept_epoch = (best_epoch + len(previous) if best_epoch is not None
                              else start_epoch if (self.early_stopping and previous) else None)
                # every fitted attribute in one update, so that a Ctrl-C cannot leave the new network
                # with the previous fit's history
                self.__dict__.update(
                    n_features_in_=int(Xc.shape[2]), network_=network, history_=full_history,
                    n_iter_=len(full_history), best_epoch_=kept_epoch,
                    stop_reason_="callback_error" if callback_error is not None and not from_signal else stop)
                break
            except KeyboardInterrupt:
                late_interrupt = True
        ctrl_c = stop == "interrupted" and not progress.stopped_by_callback
        kept = ("the weights of the best validation epoch" if self.best_epoch_ is not None
                else "the weights reached so far")
        try:  # the trained network is stored: a Ctrl-C from here on only skips the checks below
            progress.close()
            if callback_error is not None:
                who = "a signal handler" if from_signal else "the callback"
                try:  # the callback's exception is raised even when warnings are errors
                    warnings.warn(f"{who} raised {type(callback_error).__name__} after {self.n_iter_} "
                                  f"complete epoch(s); training stopped and the estimator keeps {kept} "
                                  f"(stop_reason_={self.stop_reason_!r})", RuntimeWarning,
                                  stacklevel=user_stacklevel())
                finally:
                    raise callback_error
            if stop == "interrupted" and not (incremental and ctrl_c):
                warnings.warn(f"training was interrupted after {self.n_iter_} complete epoch(s); the estimator keeps "
                              f"{kept}", RuntimeWarning, stacklevel=user_stacklevel())
            if diverged is None and not late_interrupt and not incremental:
                self._warn_if_exploding_gradients(self.history_[len(previous):])
                self._warn_if_abnormal_activity(X_train)
                if stop != "interrupted":
                    self._warn_if_worse_than_constant(X_train, y_train, w_train)
        except KeyboardInterrupt:
            late_interrupt = True
        if incremental and (late_interrupt or ctrl_c):  # the epoch is kept; a loop of calls stops
            raise KeyboardInterrupt(f"partial_fit was interrupted after its epoch ended; the estimator keeps it "
                                    f"(n_iter_={self.n_iter_})")
        if late_interrupt:
            warnings.warn(f"Ctrl-C came after the last batch: training had ended ({self.stop_reason_!r}, "
                          f"{self.n_iter_} epoch(s)) and the estimator keeps its result; the checks of the fitted "
                          "network's activity and fit were skipped", RuntimeWarning, stacklevel=user_stacklevel())
        if diverged is not None:
            advice = ("Lower learning_rate or set max_grad_norm." if self.max_grad_norm is None
                      else f"Lower learning_rate (gradients are already clipped at max_grad_norm={self.max_grad_norm}).")
            wide = self._wide_surrogate()
            if wide:
                advice += f" Or the gradient itself overflowed through time: {wide} (docs/model.md#surrogate-gradients)."
            raise TrainingDivergedError(
                f"training diverged (non-finite loss, gradient or optimiser state) in epoch {diverged[0] + len(previous)} (numbered "
                f"as in history_, from 0), batch {diverged[1]}; the estimator keeps "
                + ("the weights of the best validation epoch" if self.early_stopping and self.best_epoch_ is not None
                   else "the weights it started this call from" if tuple(diverged) == (0, 0)
                   else "the last weights whose loss was finite (before the step that diverged)")
                + f". {advice}"
            )
        return self

    def _bptt_window(self) -> Optional[int]:
        """``bptt_window`` as the core takes it (set on the network before each gradient call)."""
        return None if self.bptt_window is None else int(self.bptt_window)

    def _input_rate_hint(self, Xc) -> str:
        """A sentence for warnings about runaway activity when the input's mean count per bin
        is more than recorded neurons fire (above 200 Hz per channel): rates in Hz or smoothed
        values given as ``X`` instead of spike counts per bin."""
        mean = float(np.mean(Xc[:256], dtype=np.float64)) if Xc.size else 0.0
        hz = mean * 1000.0 / float(self.dt)
        hint = ""
        if hz > 200.0:
            hint = (f" Also, X holds {mean:.3g} per bin and channel on average ({hz:.0f} Hz at dt={float(self.dt):g} "
                    "ms), more than neurons fire: if X holds rates (Hz) or smoothed activity rather than spike counts "
                    "per bin, pass the counts.")
        if hz > 150.0 and float(self.dt) == 1.0:  # wider bins given at the default dt (M1: 10-50 Hz)
            hint += (" If the bins of X are wider than 1 ms, set dt to their width in ms (e.g. dt=10.0 for 10 ms bins): "
                     "the time constants are in ms, and dt=1 makes the network integrate 10 ms bins ten times too slowly.")
        return hint

    def _wide_surrogate(self) -> str:
        """A sentence when the surrogate passes much more gradient per step than the default's:
        the area of ``"sigmoid"`` and ``"arctan"`` is 1 whatever their slope, that of
        ``"triangle"`` is ``1 / k``, against ``2 / 25`` for the default ``"fast_sigmoid"``. Through
        a recurrent loop that gain compounds over the time steps (docs/model.md)."""
        network = getattr(self, "network_", None)
        if network is None or not any(kind in ("recurrent", "feedback") for _, _, _, kind, _ in network.projections()):
            return ""  # without a loop the gradient does not compound (architecture="fsnn")
        k = self.surrogate_slope
        if self.surrogate in ("sigmoid", "arctan"):
            return (f"surrogate={self.surrogate!r} has an area of 1 whatever its slope, 12.5 times that of the "
                    "default 'fast_sigmoid', and through recurrent connections the gradient grows with every "
                    "time step; use surrogate='fast_sigmoid', or 'triangle' with surrogate_slope=25")
        if self.surrogate == "triangle" and k is not None and float(k) < 5.0:
            return (f"surrogate='triangle' with surrogate_slope={k:g} has an area of {1.0 / float(k):.2g}, more than "
                    "the default 'fast_sigmoid' (0.08), and through recurrent connections the gradient grows with "
                    "every time step; use a steeper slope (the default, 25)")
        return ""

    def _warn_if_exploding_gradients(self, records):
        """Warn when an epoch's mean gradient norm (before clipping) exceeded ``_EXPLODING`` times
        the square root of its loss: a ratio that does not depend on the targets' scale (at most
        about 1000 in healthy fits on the package's tasks; above 1e4, up to 1e20, when the
        gradient explodes through time, docs/model.md#surrogate-gradients). Clipping then hides
        the explosion: the updates come from the earliest time steps and training stalls,
        without a non-finite value."""
        worst, epoch = 0.0, None
        for r in records:
            g, loss = r.get("grad_norm"), r.get("loss")
            if g is None or loss is None or not np.isfinite(g) or not np.isfinite(loss):
                continue
            ratio = float(g) / np.sqrt(max(float(loss), 1e-12))
            if ratio > worst:
                worst, epoch = ratio, r
        if epoch is None or worst <= _EXPLODING:
            return
        cause = self._wide_surrogate()
        steps = ("the clipped updates come almost only from the earliest time steps and training stalls"
                 if self.max_grad_norm is not None else
                 "the updates (not clipped: max_grad_norm=None) are huge and come almost only from the earliest "
                 "time steps")
        warnings.warn(
            f"the gradient exploded through time: in epoch {epoch['epoch']} its norm before clipping was "
            f"{epoch['grad_norm']:.3g} (loss {epoch['loss']:.3g}), so {steps}. "
            + (f"The likely cause: {cause}." if cause else
               "How fast it grows depends on the surrogate's area, the recurrent weights and the time constants "
               "(docs/model.md#surrogate-gradients)."),
            ConvergenceWarning,
            stacklevel=user_stacklevel(),
        )

    def _warn_if_abnormal_activity(self, Xc):
        """Warn when, on (up to 256) training trials, as many as fit in 256 MB of simulated spikes
        (at least one; the check is skipped if even that does not fit), the fitted network

        - has a population firing in more than ``_SATURATED`` of the time bins: training that ran
          away without a non-finite value;
        - has no spike at all in the populations that feed the readout: the readout then sees only
          its biases and predicts the same for every trial (for instance after a coupled L2
          ``weight_decay`` that Adam rescales has shrunk the weights of a silent network to zero).
        """
        head = Xc[:256]  # and the input's events, per trial
        inputs = _events_bytes(head) / max(len(head), 1)
        per_trial = Xc.shape[1] * _network_sizes(self.network_)["neurons"] * 9 + inputs  # dense uint8 + record
        n_check = int(max(1, min(256, len(Xc), (256 << 20) // max(int(per_trial), 1))))
        try:
            spikes, _, _, _ = self.network_.simulate(Xc[:n_check], False, _n_threads(self.n_jobs))
        except MemoryError:  # advice only: the trained network is stored, and fit must return it
            return
        names = [name for name, _ in self.network_.populations()]
        read_out = {src for _, src, tgt, _, _ in self.network_.projections() if tgt == "readout"}
        silent = []
        # 30 % of 1 ms bins is 300 Hz; with wider bins the same rate (at most 90 % of them)
        saturated = min(0.9, _SATURATED * max(1.0, float(self.dt)))
        for name, s in zip(names, spikes):
            share = float(s.mean()) if s.size else 0.0
            if share > saturated:
                warnings.warn(
                    f"after training, population {name!r} fires in {share:.0%} of the time bins "
                    f"({share * 1000.0 / float(self.dt):.0f} Hz) of the training trials: the network saturated and "
                    "training probably ran away. Lower learning_rate (e.g. 1e-3) or recurrent_lr_scale, or bound "
                    "the rates with rate_weight and rate_bounds." + self._input_rate_hint(Xc),
                    ConvergenceWarning,
                    stacklevel=user_stacklevel(),
                )
            if name in read_out and s.size and not s.any():
                silent.append(name)
        if read_out and len(silent) == len(read_out):
            advice = (
                f"weight_decay={self.weight_decay:g} with optimizer={self.optimizer!r} is an L2 penalty that "
                "Adam rescales, so it can shrink a silent network's weights to zero: lower weight_decay or use "
                "optimizer='adamw'. "
                if self.weight_decay > 0 and self.optimizer == "adam"
                else ""
            )
            which = (
                f"population {silent[0]!r}, which the readout reads,"
                if len(silent) == 1
                else f"populations {', '.join(repr(n) for n in silent)}, which the readout reads,"
            )
            warnings.warn(
                f"after training, {which} fires no spike in {n_check} training trials: the readout "
                f"sees only its biases, so every trial gets the same prediction. {advice}Bounding the rates from "
                "below keeps populations firing: e.g. rate_weight=1.0, rate_bounds=(5.0, 100.0).",
                ConvergenceWarning,
                stacklevel=user_stacklevel(),
            )

    def _warn_if_worse_than_constant(self, Xc, targets, weights=None):
        """Warn when the fitted network predicts (up to 256 of) its training trials worse than the
        best constant does (the class frequencies; the mean of each output; both weighted by the
        trials' ``weights`` when given, as the training loss is): training then failed
        without a non-finite value, e.g. from readout weights initialised so large
        (``output_scale``) that the optimiser's steps cannot shrink them in ``max_epochs``."""
        n_check = min(256, len(Xc))
        try:
            _check_readout_memory(self.network_, Xc[:n_check])
            what, loss, constant, advice = self._fit_against_constant(Xc[:n_check], targets, n_check, weights)
        except MemoryError:  # advice only: the trained network is stored, and fit must return it
            return
        if not loss > constant:
            return
        scale = f"output_scale={self.output_scale:g} (large initial readout weights), " if self.output_scale > 1 else ""
        warnings.warn(
            f"after training, the network's {what} on {n_check} of its training trials ({loss:.4g}) is higher than "
            f"that of {self._CONSTANT} ({constant:.4g}): it fits its own training data worse than a constant "
            f"prediction. Usual causes: {advice}{scale}too few epochs (max_epochs={self.max_epochs}) or too small a "
            f"learning_rate ({self.learning_rate:g})." + self._input_rate_hint(Xc),
            ConvergenceWarning,
            stacklevel=user_stacklevel(),
        )

    def _activity(self, network, Xc, neural_targets, neural_units, neural_population, sample_weight=None,
                  checked=False):
        """The core's activity-matching argument, validated (``sample_weight``: the trials'
        checked weights, for ``activity_normalize``; ``checked``: ``neural_targets`` is already
        what :func:`check_neural_targets` returns)."""
        # fit checked them already (_check_neural): not again, so that their warnings are given once
        R = neural_targets if checked else check_neural_targets(neural_targets, Xc.shape)
        pops = network.populations()
        names = [name for name, _ in pops]
        if neural_population is None:
            receiving = [t for _, src, t, _, _ in network.projections() if src == "input"]
            neural_population = next(n for n in names if n in receiving)
        if neural_population not in names:
            raise ValueError(f"neural_population {neural_population!r} is not a population of this network: {names}")
        index = names.index(neural_population)
        size = pops[index][1]
        k = R.shape[2]
        if k > size:
            raise ValueError(f"{k} recorded neurons but population {neural_population!r} has only {size} units")
        units = np.arange(k) if neural_units is None else np.asarray(neural_units)
        if units.ndim != 1 or len(units) != k or units.dtype.kind not in "iu":
            raise ValueError(f"neural_units must be {k} integer unit indices (one per recorded neuron), got {units!r}")
        if len(np.unique(units)) != k:
            raise ValueError("neural_units assigns the same model unit to two recorded neurons")
        if units.min() < 0 or units.max() >= size:
            raise ValueError(f"neural_units must lie in [0, {size}) for population {neural_population!r}")
        dt = _network_dt(network)
        self._validate_activity_params(dt)
        # the core forms the kernel (docs/model.md): exponential decay exp(-dt / tau) and gain
        # (1 - decay) * scale, or Gaussian weights of sd tau; scale makes r_hat Hz or spikes per bin
        scale = 1000.0 / dt if self.activity_scale == "hz" else 1.0
        rate_filter = (self.activity_kernel, float(self.activity_tau), dt, scale)
        weights = _activity_neuron_weights(R, sample_weight) if self.activity_normalize else np.ones(k)
        self._warn_about_activity_scale(R, weights, dt)
        return (
            index,
            [int(u) for u in units],
            np.ascontiguousarray(R),
            rate_filter,
            float(self.activity_weight),
            [float(w) for w in weights],
            bool(self.activity_noise_correction),
        )

    def _warn_about_activity_scale(self, R: np.ndarray, weights: np.ndarray, dt: float) -> None:
        """Warn when ``R`` looks like spike counts per bin read as rates in Hz, or when its scale
        makes the activity term dwarf the task loss (about 1: a cross-entropy of a few classes, an
        MSE of standardised outputs)."""
        if self.activity_scale != "hz":
            return
        mean = float(np.mean(R, dtype=np.float64))
        if 0.0 < mean < 1.0 and np.array_equal(R, np.round(R)):
            warnings.warn(
                f"neural_targets hold whole numbers with a mean of {mean:.3g}: spike counts per bin? With "
                f"activity_scale='hz' they are read as rates in Hz, and the matched units are trained to fire at "
                f"{mean:.3g} Hz. Pass activity_scale='per_bin' for counts per bin, or rates in Hz (counts * "
                f"{1000.0 / dt:g} for bins of {dt:g} ms)",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            return
        square = float(np.mean(np.mean(np.square(R, dtype=np.float64), axis=(0, 1)) * weights))
        size = float(self.activity_weight) * square
        if size > _ACTIVITY_DWARFS_TASK:
            if self.activity_normalize:
                units, advice = ("each neuron's variance", "a smaller activity_weight puts the two on a par")
            else:
                units, advice = ("Hz^2", "activity_weight=0.01 for rates of tens of Hz (as in docs/dynamics_matching.md), "
                                 "or activity_normalize=True (each neuron in units of its own variance), puts the two "
                                 "on a par")
            warnings.warn(
                f"the activity-matching term is a squared error (in {units}); the recorded rates' mean square there is "
                f"{square:.3g}, times activity_weight={self.activity_weight:g} {size:.3g}, against a task loss of about "
                f"1: training will match activity before the task; {advice}",
                UserWarning,
                stacklevel=user_stacklevel(),
            )

    def _warm(self) -> bool:
        """True when this fit continues a previous one."""
        return bool(self.warm_start) and hasattr(self, "network_")

    # -- prediction -----------------------------------------------------------------------------
    def _check_X(self, X) -> np.ndarray:
        check_is_fitted(self, "network_")
        Xc = check_spikes(X)
        check_n_channels(self, Xc, X)
        return Xc


    # -- analysis and verification --------------------------------------------------------------
    def simulate(self, X, membrane: bool = True) -> Bunch:
        """Run the trained network and return its activity per time step.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)
        membrane : bool, default=True
            Also return membrane potentials.

        Returns
        -------
        sklearn.utils.Bunch
            ``spikes`` (n_trials, n_timesteps, n_units) uint8, where ``n_units`` is ``n_hidden``
            or, for a multi-population architecture, the sum of the population sizes, in the
            order of the populations; ``membrane`` float32 of the same shape (or None);
            ``readout`` (n_trials, n_timesteps, n_outputs) float32 traces ``O[t]``, one per class
            for the classifier; ``logits`` of the same shape: entry ``[:, t]`` is what the
            readout gives from the first ``t + 1`` steps (running mean or max of ``O``, or
            ``O[t]``, as ``readout`` says), the classifier's per-step logits (see
            :meth:`SpikingRNNClassifier.decision_path`) and, at the last step, the regressor's
            per-trial prediction; ``times`` (n_timesteps,) bin start times in ms; and
            ``populations``: a dict that holds, per population name (``"h"`` for the default
            network), that population's ``spikes`` and ``membrane``.
        """
        Xc = self._check_X(X)
        n_threads = _n_threads(self.n_jobs)
        _check_simulate_memory(self.network_, Xc, bool(membrane))
        spikes, mem, readout, logits = _simulate(self.network_, Xc, bool(membrane), n_threads)
        names = [name for name, _ in self.network_.populations()]
        pops = {
            name: Bunch(spikes=spikes[i], membrane=None if mem is None else mem[i]) for i, name in enumerate(names)
        }
        return Bunch(
            spikes=np.concatenate(spikes, axis=2) if len(spikes) > 1 else spikes[0],
            membrane=None if mem is None else (np.concatenate(mem, axis=2) if len(mem) > 1 else mem[0]),
            readout=readout,
            logits=logits,
            times=np.arange(Xc.shape[1]) * _network_dt(self.network_),
            populations=pops,
        )

    def get_weights(self) -> Dict[str, np.ndarray]:
        """Copies of the trained parameters.

        Returns
        -------
        dict of str to ndarray (float32)
            For ``"srnn"``: ``w_in`` (n_hidden, n_channels), ``w_rec`` (n_hidden, n_hidden),
            ``b_h`` (n_hidden,), ``w_out`` (n_classes, n_hidden), ``b_out`` (n_classes,);
            ``"fsnn"`` has no ``w_rec``. Other architectures name each projection
            ``"source->target"`` (e.g. ``"M1->PM"``, shape (n_target, n_source)) and each
            population's bias ``"b_<population>"``. Fixed projections are included. With
            ``train_time_constants=True`` also each population's trained per-neuron decay
            factors ``"alpha_<population>"`` (``exp(-dt / tau_syn)``) and
            ``"beta_<population>"`` (``exp(-dt / tau_mem)``).
        """
        check_is_fitted(self, "network_")
        return dict(self.network_.get_weights())

    def set_weights(self, weights: Dict[str, Any]):
        """Replace some or all parameters (same names and shapes as :meth:`get_weights`).

        The estimator must be fitted. To bring in a network trained elsewhere, fit with
        ``max_epochs=0`` first: that builds the network and the fitted attributes without
        training (docs/from_snntorch.md).

        Parameters
        ----------
        weights : dict of str to array-like
            Unknown names, wrong shapes, values that are not real numbers or not finite, and
            values that break a projection's mask or sign constraint raise ``ValueError``, and then
            no weight is changed; names not given keep their values. Finite weights so large that
            the outputs overflow float32 make the prediction methods raise
            ``FloatingPointError``.

        Returns
        -------
        self
        """
        check_is_fitted(self, "network_")
        if not isinstance(weights, Mapping):
            raise TypeError(f"weights must be a dict of name to array, as get_weights() returns, got {type(weights).__name__}")
        current = self.network_.get_weights()
        unknown = sorted(set(weights) - set(current))
        if unknown:
            raise ValueError(f"unknown weight name(s) {unknown}; known names are {sorted(current)}")
        network = _copy_network(self.network_)  # all or nothing
        for name, value in weights.items():
            raw = np.asarray(value)
            try:  # complex numbers would lose their imaginary part; objects and text must be real numbers
                if raw.dtype.kind == "c" or (raw.dtype.kind == "O" and any(v is None for v in raw.flat)):
                    raise TypeError("complex or None")  # float(None) would become NaN
                arr = raw.astype(np.float64).astype(np.float32)
            except (TypeError, ValueError):
                held = " holding None" if raw.dtype.kind == "O" and any(v is None for v in raw.flat) else ""
                raise ValueError(f"weights '{name}' must be real numbers, got an array of dtype {raw.dtype}{held}") from None
            want = current[name].shape
            if arr.shape != want:
                raise ValueError(f"weights '{name}' must have shape {want}, got {arr.shape}")
            network.set_weight(name, np.ascontiguousarray(arr.reshape(1, -1) if arr.ndim == 1 else arr))
        self.network_ = network
        return self

    # -- persistence ----------------------------------------------------------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        if "network_" in state:
            state["network_"] = _network_to_bytes(state["network_"])
        return state

    def __setstate__(self, state):
        if isinstance(state.get("network_"), bytes):
            state["network_"], _ = _network_and_metadata(state["network_"])
        state.setdefault("activity_kernel", "exponential")  # pickled before the option existed
        state.setdefault("bptt_window", None)  # idem
        state.setdefault("activity_normalize", False)  # idem
        state.setdefault("activity_noise_correction", False)  # idem
        self.__dict__.update(state)

    def save(self, path, include_optimizer: bool = True) -> None:
        """Write the fitted model to a file (format in ``docs/model_file.md``).

        The file carries a CRC-32 of its contents: :func:`motorsrnn.load` refuses a file that
        changed after it was written. The write is atomic (a temporary file, flushed to disk,
        then a rename). Saving over a symbolic link writes its target; an existing file keeps
        its permissions.
        The network, the optimiser's state, its training history and the parameters are saved,
        except ``callback`` and a ``random_state`` that is not an integer or None (see
        :func:`motorsrnn.load`); pickle keeps those too when they can be pickled.

        Parameters
        ----------
        path : str or path-like
            Destination; by convention ending in ``.msrnn``.
        include_optimizer : bool, default=True
            Store the optimiser's state (Adam's moments and step count, SGD's momentum), so
            that :meth:`partial_fit` on the loaded model continues the training exactly as on
            this one. The state is as large as the parameters (twice, for Adam); without it
            the file is smaller, predicts the same, and the next ``partial_fit`` starts a new
            state. A network whose last training was a ``fit`` that went back to older weights
            (early stopping's best epoch, a divergence), or whose weights were set with
            :meth:`set_weights`, has no state to store.

        Raises
        ------
        TypeError
            When the class labels cannot be stored as JSON (use pickle or joblib then).
        ValueError
            When parameters changed after ``fit`` describe another network than the fitted one
            (e.g. ``set_params(dt=2.0)``): set them back or refit. Training settings (learning
            rate, epochs, ...) may differ.
        """
        check_is_fitted(self, "network_")
        self._check_same_network(context="save")
        meta = self._metadata(self.n_features_in_, self.history_, self.stop_reason_, self.best_epoch_)
        _write_atomic(path, _network_to_bytes(self.network_, meta, check_bool(include_optimizer, "include_optimizer")))

    def _metadata(self, n_features, history, stop_reason, best_epoch) -> str:
        """The JSON metadata stored beside the network in model files and checkpoints."""
        params = {k: v for k, v in self.get_params().items() if k not in ("random_state", "callback", "checkpoint_path")}
        rs = self.random_state
        params["random_state"] = rs if rs is None or isinstance(rs, numbers.Integral) else None
        params["checkpoint_path"] = None if self.checkpoint_path is None else os.fspath(self.checkpoint_path)
        meta = {
            "estimator": type(self).__name__,
            "params": params,
            # a Topology is stored as its dict; load() gives back the type the user passed
            "architecture_is_topology": isinstance(self.architecture, Topology),
            **self._target_metadata(),
            "n_features_in": int(n_features),
            "feature_names_in": None if getattr(self, "feature_names_in_", None) is None else list(self.feature_names_in_),
            "history": list(history),
            "stop_reason": stop_reason,
            "best_epoch": best_epoch,
        }
        try:
            return json.dumps(meta, default=_json_default)
        except TypeError as e:
            raise TypeError(f"cannot save: {e}; use pickle or joblib for such labels") from None

    @classmethod
    def load(cls: "type[_Estimator]", path) -> "_Estimator":
        """Read a model written by :meth:`save`.

        Raises
        ------
        motorsrnn.ModelFileError
            When the file is not a motorsrnn model, is corrupt (its checksum does not match), or has
            an unsupported format version.
        """
        est = load(path)
        if not isinstance(est, cls):
            raise _core.ModelFileError(f"{path} holds a {type(est).__name__}, not a {cls.__name__}")
        return est


class SpikingRNNClassifier(ClassifierMixin, _SpikingRNNBase):
    """Recurrent spiking neural network classifier of spike-train windows.

    A population of leaky integrate-and-fire (LIF) neurons with current-based synapses receives the
    recorded spikes through input weights and its own spikes of the previous step through recurrent
    weights; leaky non-spiking integrators read its spikes out. It is trained by backpropagation
    through time with a surrogate gradient (Adam, mini-batches). The equations are in
    ``docs/model.md``.

    Parameters
    ----------
    n_hidden : int, default=128
        Number of LIF neurons (in all populations of a preset architecture).
    architecture : {"srnn", "fsnn", "motorsrnn"}, Topology or dict, default="srnn"
        ``"srnn"``: one recurrent population; ``"fsnn"``: the same without recurrence (the
        feedforward baseline); ``"motorsrnn"``: modules M1, PM and Out with fixed sparse feedback
        (see :func:`motorsrnn.topology.preset` and ``docs/architectures.md``). A
        :class:`~motorsrnn.topology.Topology` (or its ``to_dict()``) describes any other network;
        its populations' unset neuron parameters take this estimator's values, and ``n_hidden``
        is then not used (a ``UserWarning`` when it is set to another size than the topology's:
        ``preset("motorsrnn", n_hidden=64, feedback="removed")`` builds an ablation of 64 units).
    tau_mem : float, default=20.0
        Membrane time constant in ms (``beta = exp(-dt / tau_mem)``).
    tau_syn : float, default=5.0
        Synaptic time constant in ms (``alpha = exp(-dt / tau_syn)``; 0 gives ``alpha = 0``).
    tau_out : float, default=20.0
        Time constant of the readout integrators in ms.
    threshold : float, default=1.0
        Firing threshold ``theta``.
    reset : {"subtract", "zero"}, default="subtract"
        Reset by subtraction of the threshold, or to zero, after a spike.
    detach_reset : bool, default=True
        Treat the reset as a constant in the backward pass.
    train_time_constants : bool, default=False
        Also train each neuron's decay factors ``alpha`` and ``beta`` (its synaptic and membrane
        time constants), starting from ``tau_syn`` and ``tau_mem``; they are kept in
        ``[0, 0.9999]`` (a starting value outside, e.g. ``tau_mem=1e6`` ms, starts at 0.9999:
        ``tau`` about ``1e4 * dt``) and appear as ``alpha_<population>`` and
        ``beta_<population>`` in :meth:`get_weights` (``tau = -dt / log(decay)``).
    surrogate : {"fast_sigmoid", "arctan", "triangle", "sigmoid"}, default="fast_sigmoid"
        Surrogate derivative of the spike function (exact forms in ``docs/model.md``).
    surrogate_slope : float or None, default=None
        Slope ``k`` of the surrogate; ``None`` uses 25 (fast_sigmoid, sigmoid, triangle), 2
        (arctan). In recurrent networks ``"sigmoid"`` and ``"arctan"`` pass so much gradient
        per step (an area of 1, against 0.08 for the default) that it explodes through time,
        and ``fit`` warns (``docs/model.md``, "Surrogates in recurrent networks").
    readout : {"mean", "max", "last"}, default="mean"
        How the readout traces ``O[t]`` become logits: mean over time, max over time, last step.
        (A regressor fitted on per-step targets predicts the traces themselves: ``readout``
        does not change it.)
    dt : float, default=1.0
        Time step in ms: the width of one time bin of ``X`` (set it for bins wider than 1 ms:
        the time constants are in ms).
    input_scale, recurrent_scale, output_scale : float, default=(0.5, 0.1, 1.0)
        Initial weights are drawn from ``N(0, scale**2 / (density * n_source))``, where
        ``n_source`` is the projection's number of source units or channels and ``density`` the
        share of its weights a sparse mask keeps (1 for dense projections).
    learning_rate : float, default=5e-3
        Step size of the optimiser.
    recurrent_lr_scale : float, default=0.2
        The step size of recurrent and feedback projections is
        ``learning_rate * recurrent_lr_scale`` (``Projection(lr_scale=...)`` sets it per
        projection). Adam moves every weight by about ``learning_rate`` per step whatever the
        weight's scale; the recurrent weights start 5-10 times smaller than the input weights,
        and at the full rate they grow, within an epoch, into a regime of self-sustained firing
        (hundreds of Hz) from which training does not recover. 1 gives every weight the same rate.
        The scales are part of the network built by the first fit: a ``warm_start`` fit with a
        different ``recurrent_lr_scale`` is refused (the network's projections differ). See
        ``docs/model.md``.
    max_epochs : int, default=40
        Passes over the training trials. 0 trains nothing: ``fit`` then only builds the network
        (its initial weights, from ``random_state``) and sets the fitted attributes, for
        example to :meth:`set_weights` of a network trained elsewhere (docs/from_snntorch.md).
    batch_size : int, default=32
        Trials per gradient step.
    weight_decay : float, default=0.0
        Weight decay of the weight matrices (biases are not decayed). With ``"adam"`` and
        ``"sgd"`` it is the L2 penalty ``weight_decay / 2 * ||W||^2`` added to the loss (as
        ``torch.optim.Adam(weight_decay=...)``); with ``"adamw"`` it is decoupled (as
        ``torch.optim.AdamW``). With ``"adam"``, once a population falls silent its weights get
        no task gradient and Adam's rescaled penalty shrinks them by about ``learning_rate`` per
        step: a network whose read-out population goes silent does not recover (``fit`` warns).
        ``"adamw"`` shrinks by the factor ``1 - learning_rate * lr_scale * weight_decay``
        instead, where ``lr_scale`` is the projection's step-size factor (``recurrent_lr_scale``
        for recurrent and feedback projections, 1 for the others).
    max_grad_norm : float or None, default=5.0
        Clip the global gradient norm to this value (``None``: no clipping).
    bptt_window : int or None, default=None
        Checkpointed backpropagation through time for long trials: the forward pass keeps the
        network state every ``bptt_window`` time steps instead of every membrane potential, and
        the backward pass recomputes one segment at a time. The gradients are exactly the same
        (bit for bit); the tape's memory shrinks from ``n_timesteps`` to about ``bptt_window``
        steps per trial, for about one more forward pass of compute. ``None`` keeps the whole
        tape (fastest). See ``docs/model.md``.
    optimizer : {"adam", "adamw", "sgd"}, default="adam"
        Adam (beta1 0.9, beta2 0.999, eps 1e-8), AdamW (the same with decoupled weight decay:
        each step also shrinks every weight by ``learning_rate * lr_scale * weight_decay`` times
        its value, whatever its gradient; Loshchilov & Hutter 2019) or SGD with momentum 0.9.
        With Adam, coupled L2 is rescaled by the gradient's running variance, so weights that rarely get a
        gradient (inputs from sparse channels, units below threshold) decay at the full learning
        rate and can silence the network; AdamW avoids this.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training trials (the classifier stratifies them by
        class, the regressor draws them at random; whole groups with ``fit(..., groups=)``), stop
        when the
        validation loss has not improved by ``tol`` for ``n_iter_no_change`` epochs, and keep the
        weights of the best epoch.
    validation_fraction : float, default=0.1
        Share of trials held out when ``early_stopping`` is on (stratified by class in the
        classifier); with ``fit(..., groups=...)``, share of the groups.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Minimum decrease of the validation loss that counts as an improvement.
    rate_weight : float, default=0.0
        Firing-rate regularisation (0: off): for every population and trial, the mean rate over
        its units and the window is penalised by ``rate_weight * (rate - bound)**2`` outside
        ``rate_bounds``, with rates in spikes per bin (training only; ``loss_and_grad`` omits it).
    rate_bounds : (float, float), default=(0.0, 100.0)
        Lower and upper bound of the population rates, in Hz.
    spike_jitter : float, "shuffle" or None, default=None
        Data augmentation (training only): in every epoch, each input spike of each training
        trial is moved to a new time step, drawn anew. A float is the standard deviation in ms
        of a Gaussian offset (rounded to whole bins, reflected at the window's first and last
        bin); ``"shuffle"`` draws a uniformly random bin of the window, discarding all timing
        within it. Every channel's spike count per trial is kept (integral counts are split
        into single spikes that move independently; fractional values move whole). Validation
        trials, ``predict``, ``score`` and ``simulate`` see the data as given, and recorded
        activity and per-step targets are not moved. ``None`` or ``0`` leave the input as
        given. The draws depend only on ``random_state``, not on ``n_jobs``. It keeps the
        network from memorising the exact spike timing of the training trials; see
        ``docs/decoding.md`` for when it helps.
    activity_weight : float, default=1.0
        Weight ``lambda_act`` of the activity-matching term (used when ``fit`` receives
        ``neural_targets``): ``lambda_act * mean over (trials, t, k) of w_k (r_hat_k[t] - R_k[t])**2``
        with ``w_k = 1`` unless ``activity_normalize``. Squared errors of rates in Hz are large:
        for rates of tens of Hz, about 0.01 puts the term on a par with the task loss (``fit``
        warns when the weight times the rates' mean square exceeds 100).
    activity_kernel : {"exponential", "gaussian"}, default="exponential"
        Kernel turning a matched unit's spikes ``s[t]`` into its rate ``r_hat`` (per trial; both
        have unit area, so ``r_hat`` is in spikes per bin before ``activity_scale``).
        ``"exponential"``: causal, ``r_hat[t] = d r_hat[t-1] + (1 - d) s[t]``,
        ``d = exp(-dt / activity_tau)``, ``r_hat[-1] = 0``. ``"gaussian"``: symmetric
        (non-causal, as for a PSTH) with standard deviation ``activity_tau`` ms, truncated at
        ``m = ceil(4 * activity_tau / dt)`` bins: ``r_hat[t] = sum_j w_j s[t-j] / sum_j w_j``
        with ``w_j = exp(-(j dt)**2 / (2 activity_tau**2))``, both sums over ``|j| <= m`` and
        ``0 <= t - j < n_timesteps``; mid-trial this is the truncated kernel normalised to sum 1,
        and near the trial's start and end the kernel is renormalised to its part inside the
        trial, so a constant rate is estimated without bias up to the edges (see
        ``docs/model.md``).
    activity_tau : float, default=20.0
        Time constant ``tau`` (ms) of the exponential kernel, or standard deviation ``sigma`` (ms)
        of the Gaussian kernel; at most ``1e6 * dt``.
    activity_scale : {"hz", "per_bin"}, default="hz"
        Units of the recorded activity: ``r_hat`` is multiplied by ``1000 / dt`` for "hz" (for
        either kernel, a unit firing regularly at ``r`` Hz then has ``r_hat`` about ``r``).
    activity_normalize : bool, default=False
        False: ``w_k = 1`` (squared errors in the units of ``R``, e.g. Hz^2). True: each recorded
        neuron's squared error is divided by the variance of its ``R_k`` over the trials and time
        bins given to ``fit`` (the training part, after any validation split) or to
        ``loss_and_grad`` (weighted by the trials' ``sample_weight`` when given), so the term is a normalised MSE (about ``1 - R^2`` per neuron) and
        ``activity_weight`` is in units of the task loss: ``w_k = 1 / max(var_k, 0.01 * mean_j
        var_j)`` (the floor keeps nearly constant neurons from dominating; all weights are 1 if
        every neuron is constant).
    activity_noise_correction : bool, default=False
        Subtract from each squared error ``(r_hat[t] - R[t])**2`` the spike-noise variance of
        ``r_hat[t]``, estimated as ``sum_t' c[t, t']**2 s[t']`` (``c[t, t']``: the kernel's weight
        of the spike at ``t'`` in ``r_hat[t]``; unbiased for Poisson-like spikes). Without it
        (the spec's term) that variance, which grows with the unit's rate, is part of the error,
        so the term is smallest below the recorded rate: about 12 Hz below it for irregular
        firing with the exponential kernel of 20 ms, and a unit recorded at under about 12 Hz
        is best silent (``docs/model.md``). With it, the expected term is smallest where the
        unit's expected rate equals ``R``. The correction's gradient is a constant reward per
        spike; it does not depend on ``R``.
    warm_start : bool, default=False
        When already fitted, continue training from the current weights (same classes and
        channels required; the optimiser's moments start afresh; ``history_`` is extended).
        The parameters that describe the network (sizes, ``architecture``, neuron, readout and
        step-scale parameters) must not have changed: ``fit`` raises ``ValueError`` otherwise.
        With ``early_stopping`` the starting weights compete with the new epochs: if none
        improves on their validation loss, they are kept (``best_epoch_`` stays where it was).
        With :func:`motorsrnn.load` this resumes from a checkpoint.
    checkpoint_path : str, path-like or None, default=None
        Write the model (the format of :meth:`save`) to this file every ``checkpoint_every``
        epochs during ``fit`` and ``partial_fit`` (atomically: a crash never leaves a half-written
        file), with the optimiser's state of that epoch: after :func:`motorsrnn.load`, one
        ``partial_fit`` call per missing epoch finishes a stopped ``fit`` exactly as it would
        have run (without early stopping). A model loaded from its checkpoint keeps the path and
        writes the same file as it trains on: copy the file (or set another path) to keep that
        point. The file belongs to one fit: in a search or
        ``cross_val_*`` every fit writes the same file (each write is whole; the last one
        stays), so leave it None there.
    checkpoint_every : int, default=1
        Epochs between checkpoints.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the weight initialisation, the shuffling of trials and the validation split. The same
        value gives bit-identical weights for any ``n_jobs``. A ``RandomState`` or ``numpy.random.
        Generator`` is advanced by each ``fit`` and ``partial_fit`` call, so refits differ, and so
        do the shuffles of successive ``partial_fit`` calls (a ``Generator`` seeds a
        ``RandomState``, as in :func:`motorsrnn.datasets.make_center_out`).
    n_jobs : int or None, default=None
        Threads of this estimator's own pool. ``-1`` uses every core available to the process;
        ``None`` too, but no more than ``OMP_NUM_THREADS`` when that environment variable is set
        (joblib's process workers, as in ``GridSearchCV(n_jobs=k)``, set it to their share of the
        cores). At most 4 threads per available core are started, whatever ``n_jobs`` asks
        for. Results do not depend on it.
    verbose : int or bool, default=0
        0 (False): silent; 1: a progress bar with the loss (tqdm if installed, else one line per epoch);
        2: also one line per epoch.
    callback : callable or None, default=None
        Called with a dict after every batch (``event="batch"``: epoch, batch, n_batches, loss) and
        epoch (``event="epoch"``: the history record, under ``"network"`` a copy of the
        network at that epoch, a ``motorsrnn._core.Network``, and under ``"best_epoch"`` the epoch
        whose weights early stopping would keep now, -1 for a warm start's starting weights, None
        without early stopping); returning ``False`` (or NumPy's
        ``np.False_``) stops training. ``epoch`` counts the epochs of the current ``fit`` call from
        0: after a ``warm_start`` fit, ``history_`` continues the count, so add the length
        ``history_`` had before the call to compare them (a ``partial_fit`` call's epoch is 0).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of the columns of :meth:`predict_proba`.
    n_features_in_ : int
        Number of input channels seen in :meth:`fit` (or the first :meth:`partial_fit`).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D table (e.g. a pandas DataFrame of counts) given to :meth:`fit` (or
        the first :meth:`partial_fit`); absent otherwise.
    network_ : motorsrnn._core.Network
        The trained network (weights via :meth:`get_weights`).
    history_ : list of dict
        One record per epoch with the keys ``epoch``, ``loss``, ``accuracy``, ``grad_norm``,
        ``rate_hz``, ``val_loss`` and ``val_accuracy``; the validation values are None without
        early stopping. ``loss`` is the training loss, with the activity-matching and rate terms
        when they are on; ``val_loss`` is the task loss alone. ``rate_hz`` is the mean firing rate
        of all LIF neurons on the epoch's training trials, as the batches' forward passes had it
        (the weights change during the epoch, as for ``loss``); model files written before it
        existed have no ``rate_hz``.
    n_iter_ : int
        Number of epochs run.
    stop_reason_ : str
        ``"max_epochs"`` (also after a completed :meth:`partial_fit` call), ``"early_stopping"``,
        ``"interrupted"`` (Ctrl-C, or a callback that returned ``False``), ``"callback_error"``
        (the callback raised; ``fit`` re-raised it), ``"signal_error"`` (a signal handler other
        than Ctrl-C's raised during ``fit``, e.g. a ``SIGALRM`` time limit; ``fit`` re-raised
        it), ``"diverged"``, or ``"checkpoint"`` for a model loaded from a checkpoint file.
    best_epoch_ : int or None
        With early stopping, the epoch whose weights were kept.

    Examples
    --------
    >>> from motorsrnn import SpikingRNNClassifier
    >>> from motorsrnn.datasets import make_center_out
    >>> data = make_center_out(n_trials=200, random_state=0)
    >>> clf = SpikingRNNClassifier(n_hidden=64, max_epochs=5, random_state=0).fit(data.X, data.y)
    >>> clf.predict_proba(data.X[:3]).shape
    (3, 4)
    """


    def fit(self: "_Estimator", X, y, *, neural_targets=None, neural_units=None, neural_population=None,
            groups=None, sample_weight=None) -> "_Estimator":
        """Train the network on spike-count windows.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)
            Spike counts per time bin of width ``dt`` ms (bool, integer or float; counts, not
            rates). A 2-D array is one time bin per trial.
        y : array-like of shape (n_trials,)
            Class labels: integers, strings or other discrete values (e.g. the names or indices of
            reach directions). Continuous values, such as angles in radians, are refused (as by
            scikit-learn's classifiers): map them to discrete labels first.
        neural_targets : array-like of shape (n_trials, n_timesteps, n_recorded) or None
            Recorded activity of the same trials (in ``activity_scale`` units) that model units
            must reproduce besides the task (activity matching; see ``docs/model.md``).
        neural_units : array-like of int or None
            The model unit matched to each recorded neuron (default: the first ``n_recorded``).
        neural_population : str or None
            Population of those units (default: the first population receiving the input).
        groups : array-like of shape (n_trials,) or None
            Group of each trial, e.g. ``cut_samples(...).trial`` for samples cut from the same trial
            or a session id. With ``early_stopping``, the validation set holds out whole groups
            (``validation_fraction`` of the groups, ``GroupShuffleSplit``; not stratified), so that
            no group has trials on both sides. Without ``early_stopping`` the groups are only
            checked (one finite group per trial).
        sample_weight : array-like of shape (n_trials,), float or None
            Weight of each trial in the training loss, e.g.
            ``sklearn.utils.class_weight.compute_sample_weight("balanced", y)`` for directions
            with unequal numbers of trials. Each trial's whole loss (task, activity matching,
            rate penalty; not the weight decay) is multiplied by its weight. The weights are
            rescaled to a mean of 1 over the training trials, so only their ratios matter and
            equal weights train exactly as none; a trial of weight 0 does not count. With
            ``early_stopping``, the validation loss and accuracy are weighted too, and so is
            the training accuracy in ``history_``. See ``docs/model.md`` (trial weights).

        Returns
        -------
        self : SpikingRNNClassifier
            The fitted estimator. If training diverges, :class:`TrainingDivergedError` is raised
            after the estimator was set to the last finite weights. Ctrl-C stops training at the
            next batch, with a warning, and ``fit`` returns normally (``stop_reason_ ==
            "interrupted"``). An exception raised by ``callback`` stops training and is re-raised
            after the estimator was set to the network trained so far (``stop_reason_ ==
            "callback_error"``, with a warning), unless no epoch of this fit had completed: then
            the estimator is left as it was before ``fit``. An exception raised by a signal
            handler other than Ctrl-C's (e.g. a ``SIGALRM`` time limit) is handled the same way,
            with ``stop_reason_ == "signal_error"``.
        """
        self._validate_params()
        Xc, classes, y_idx = check_classification_data(X, y)
        sample_weight = check_sample_weight(sample_weight, Xc.shape[0])
        if self._warm():
            check_n_channels(self, Xc, X)
            if len(classes) != len(self.classes_) or not np.all(classes == self.classes_):
                raise ValueError(
                    f"warm_start needs the classes of the previous fit {self.classes_.tolist()}, got {classes.tolist()}"
                )
        groups = check_groups(groups, Xc.shape[0], self.validation_fraction if self.early_stopping else None)
        neural = _check_neural((neural_targets, neural_units, neural_population), Xc.shape)
        return self._train(Xc, y_idx.astype(np.int64), len(classes), stratify=y_idx, neural=neural, groups=groups,
                           targets_attrs={"classes_": classes, "feature_names_in_": _feature_names(X)},
                           sample_weight=sample_weight)

    def partial_fit(self: "_Estimator", X, y, classes=None, sample_weight=None, neural_targets=None,
                    neural_units=None, neural_population=None) -> "_Estimator":
        """Train for one more epoch on ``X``, ``y`` (incremental learning).

        The first call starts a network as :meth:`fit` does; every later call, and a call after
        :meth:`fit`, continues from the current weights and the optimiser's state (Adam's
        moments and step count, SGD's momentum), so that ``k`` calls on the same trials train
        exactly as ``fit`` with ``max_epochs=k`` does (with an integer ``random_state``). Each
        call is one epoch over its trials in mini-batches of ``batch_size``; ``max_epochs`` is
        not used, and ``early_stopping`` is refused (one call's trials hold no validation set).
        The optimiser's state travels with the model (pickle, ``copy.deepcopy``, :meth:`save`
        and checkpoints keep it), so a fit stopped after a checkpoint goes on from the loaded
        file, one call per missing epoch, as if never stopped. A new state starts after
        ``save(path, include_optimizer=False)`` and loading, after :meth:`set_weights`, after a
        fit that went back to earlier weights (early stopping, divergence) and after a change
        of ``optimizer``. A call that
        Ctrl-C (or a callback returning ``False``) stops before its epoch ends leaves the
        estimator as it was before the call; Ctrl-C then raises ``KeyboardInterrupt``, so that a
        loop of calls stops (one after the epoch keeps it, and raises too). Unlike :meth:`fit`, no check of the
        trained network's activity or fit runs after the call (they cost a simulation per call);
        callbacks see the call's epoch as epoch 0. See ``docs/model.md`` (incremental learning).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)
            Spike counts per time bin.
        y : array-like of shape (n_trials,)
            Labels, each among ``classes``.
        classes : array-like of shape (n_classes,) or None
            Every label the estimator will ever be trained on (e.g. all reach directions): needed
            in the first call, when it sets ``classes_``; later calls may omit it or pass the same.
        sample_weight : array-like of shape (n_trials,), float or None
            Weight of each trial, as in :meth:`fit`; rescaled to a mean of 1 over the call's
            trials, so weights are relative within a call.
        neural_targets, neural_units, neural_population
            Activity matching, as in :meth:`fit`.

        Returns
        -------
        self : SpikingRNNClassifier
        """
        self._validate_params()
        _check_incremental(self)
        Xc = check_spikes(X)
        y = check_labels(y)
        if len(y) != Xc.shape[0]:
            raise ValueError(f"X has {Xc.shape[0]} trials but y has {len(y)} labels")
        fitted = hasattr(self, "network_")
        if fitted:
            check_n_channels(self, Xc, X)
            known = self.classes_
            if classes is not None:
                given = _check_classes(classes)
                if len(given) != len(known) or labels_not_in(known, given):
                    raise ValueError(f"classes must be those of the previous calls {known.tolist()[:10]}, got "
                                     f"{given.tolist()[:10]}")
        elif classes is None:
            raise ValueError("classes must be given in the first call to partial_fit: every label the estimator will "
                             "be trained on, e.g. np.unique(y_all)")
        else:
            known = _check_classes(classes)
            if len(known) < 2:
                raise ValueError(f"classes holds {len(known)} label; a classifier needs at least 2 classes")
        idx = _label_indices(known, y, "not among the classes")
        sample_weight = check_sample_weight(sample_weight, Xc.shape[0])
        neural = _check_neural((neural_targets, neural_units, neural_population), Xc.shape)
        # the first call sets the column names; later ones are checked against them (check_n_channels)
        attrs = {"classes_": known, **({} if fitted else {"feature_names_in_": _feature_names(X)})}
        return self._train(Xc, idx, len(known), neural=neural, targets_attrs=attrs, sample_weight=sample_weight,
                           incremental=True)

    _CONSTANT = "predicting the training class frequencies for every trial"

    def _fit_against_constant(self, Xs, targets, n, weights=None):
        """Cross-entropy of the network on the training trials ``Xs`` (the first ``n`` of the
        class indices ``targets``) and that of the class frequencies of all of ``targets``, both
        weighted by the trials' ``weights`` when given."""
        logits = self.network_.logits(Xs, _n_threads(self.n_jobs)).astype(np.float64)
        top = logits.max(axis=1, keepdims=True)
        log_p = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        w = np.ones(len(targets)) if weights is None else _relative(weights)
        freq = np.bincount(targets, weights=w, minlength=logits.shape[1]) / w.sum()
        seen = np.flatnonzero(w[:n] > 0)  # trials of zero weight are not part of the loss
        if seen.size == 0:
            return "cross-entropy", 0.0, 0.0, ""
        y, ws = np.asarray(targets[seen], dtype=np.int64), w[seen]
        return ("cross-entropy", float(np.average(-log_p[seen, y], weights=ws)),
                float(np.average(-np.log(freq[y]), weights=ws)), "")

    def _target_metadata(self) -> Dict[str, Any]:
        meta = {"classes": self.classes_.tolist(), "classes_dtype": self.classes_.dtype.str}
        try:  # the labels must come back from the file as they are (not e.g. structured records)
            back = np.asarray(json.loads(json.dumps(meta["classes"], default=_json_default)),
                              dtype=np.dtype(meta["classes_dtype"]))
            same = back.shape == self.classes_.shape and bool(np.all(back == self.classes_))
        except (TypeError, ValueError):
            same = False
        if not same:
            raise TypeError(f"cannot save: class labels of dtype {self.classes_.dtype} cannot be stored in a model "
                            "file and read back; use pickle or joblib for such labels")
        return meta

    def _restore_target_metadata(self, meta: Dict[str, Any]) -> None:
        classes = np.asarray(meta["classes"], dtype=np.dtype(meta["classes_dtype"]))
        saved = list(meta["classes"])
        if classes.ndim != 1 or classes.tolist() != saved:
            raise ValueError(f"the classes {saved[:10]} do not survive their dtype {meta['classes_dtype']!r}")
        if len(set(saved)) != len(saved) or not np.array_equal(np.unique(classes), classes):
            raise ValueError(f"the classes {saved[:10]} are not unique and sorted, as fit makes them")
        self.classes_ = classes

    # -- prediction -----------------------------------------------------------------------------
    def decision_path(self, X) -> np.ndarray:
        """Logits after each time step: the early-classification curve.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials, n_timesteps, n_classes)
            Entry ``[:, t]`` holds the logits the readout gives using the first ``t + 1`` steps
            (running mean or max of ``O``, or ``O[t]``, as ``readout`` says).
        """
        Xc = self._check_X(X)
        _check_readout_memory(self.network_, Xc)
        n_threads = _n_threads(self.n_jobs)
        logits = _in_blocks(self.network_, Xc, n_threads, lambda x: self.network_.logits_per_step(x, n_threads))
        return check_finite_outputs(logits, self.network_)

    def _logits(self, X) -> np.ndarray:
        """The window's logits, ``decision_path(X)[:, -1]`` bit for bit, without the other steps."""
        Xc = self._check_X(X)
        _check_readout_memory(self.network_, Xc, per_step=False)
        n_threads = _n_threads(self.n_jobs)
        logits = _in_blocks(self.network_, Xc, n_threads, lambda x: self.network_.logits(x, n_threads))
        return check_finite_outputs(logits, self.network_)

    def decision_function(self, X) -> np.ndarray:
        """Logits of the whole window.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials, n_classes), or (n_trials,) for two classes
            For two classes, the difference of the second and first logit (scikit-learn's
            convention: positive means ``classes_[1]``).
        """
        z = self._logits(X)
        if z.shape[1] == 2:
            return z[:, 1] - z[:, 0]
        return z

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials, n_classes)
            Columns in the order of ``classes_``.
        """
        return np.exp(log_softmax(self._logits(X)))

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)

        Returns
        -------
        log_proba : ndarray of shape (n_trials, n_classes)
        """
        return log_softmax(self._logits(X))

    def predict(self, X) -> np.ndarray:
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials,)
        """
        scores = self._logits(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def stream(self) -> "StreamingDecoder":
        """A stateful decoder fed one bin at a time (closed-loop decoding).

        Returns
        -------
        motorsrnn.streaming.StreamingDecoder
            ``step(bin)`` returns class probabilities after each bin; its logits equal
            :meth:`decision_path` step by step. See ``benchmarks/bench_stream.py`` for latency.
        """
        check_is_fitted(self, "network_")
        from .streaming import StreamingDecoder

        return StreamingDecoder(self.network_, self.classes_, self.n_features_in_)

    def loss_and_grad(self, X, y, neural_targets=None, neural_units=None,
                      neural_population=None, sample_weight=None) -> Tuple[float, Dict[str, np.ndarray]]:
        """Mean cross-entropy of the window logits and its gradient by BPTT (no regularisation;
        plus the activity-matching term when ``neural_targets`` is given, as in :meth:`fit`).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)
        y : array-like of shape (n_trials,)
            Labels among ``classes_``.
        neural_targets, neural_units, neural_population
            Recorded activity and its assignment to model units, as in :meth:`fit`. With
            ``neural_targets``, the loss adds ``activity_weight`` times the activity-matching term.
        sample_weight : array-like of shape (n_trials,), float or None
            Weight of each trial: the loss is then the weighted mean ``sum_i w_i L_i / sum_i w_i``
            of the trials' losses (the quantity :meth:`fit` minimises with these weights).

        Returns
        -------
        loss : float
        grads : dict of str to ndarray
            Same names and shapes as :meth:`get_weights`, without the fixed (non-trainable)
            projections.

        Warns
        -----
        RuntimeWarning
            When the loss or a gradient is not finite (weights so large that float32 overflows):
            they are returned for diagnosis, where the prediction methods raise
            ``FloatingPointError``.
        """
        Xc = self._check_X(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != Xc.shape[0]:
            raise ValueError(f"y must be 1-D with one label per trial of X ({Xc.shape[0]}), got shape {y.shape}")
        idx = _label_indices(self.classes_, y, "not seen in fit")
        check_assignment_has_targets(neural_targets, neural_units, neural_population)
        sample_weight = check_sample_weight(sample_weight, Xc.shape[0])
        activity = None if neural_targets is None else self._activity(self.network_, Xc, neural_targets, neural_units,
                                                                      neural_population, sample_weight)
        return self._loss_and_grad(Xc, idx.astype(np.int64), activity, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        return tags


def _output_stats(targets: np.ndarray, weights=None, chunk: int = 256) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output of regression targets (NaN: missing): the mean and the standard deviation over
    every observed value (``np.nanmean``, ``np.nanstd``) and the mean weighted by the trials'
    ``weights`` (NaN for an output seen only in trials of weight 0). In float64, ``chunk`` trials
    at a time: no float64 copy of all targets (long trials of many outputs are large)."""
    k, n = targets.shape[-1], len(targets)
    rows = int(np.prod(targets.shape[1:-1]))  # rows of a trial: 1, or one per step
    w = np.ones(n) if weights is None else _relative(weights)
    count, total, w_total, w_sum = (np.zeros(k) for _ in range(4))
    for a in range(0, n, chunk):
        y = np.asarray(targets[a:a + chunk], dtype=np.float64).reshape(-1, k)
        seen = ~np.isnan(y)
        y0 = np.where(seen, y, 0.0)
        w_rows = np.where(seen, np.repeat(w[a:a + chunk], rows)[:, None], 0.0)
        count += seen.sum(axis=0)
        total += y0.sum(axis=0)
        w_total += (y0 * w_rows).sum(axis=0)
        w_sum += w_rows.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean, w_mean = total / count, w_total / w_sum
    squares = np.zeros(k)
    for a in range(0, n, chunk):  # a second pass: deviations from the mean, as numpy's nanstd
        y = np.asarray(targets[a:a + chunk], dtype=np.float64).reshape(-1, k)
        squares += (np.where(np.isnan(y), 0.0, y - mean) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return mean, np.sqrt(squares / count), w_mean


def _scale_advice(sd: np.ndarray, centre: np.ndarray, ndim: int) -> str:
    """How to standardise regression targets whose outputs have standard deviations ``sd`` and
    absolute means ``centre`` far from unit scale and zero mean ("" when they are not): the
    network's outputs start near 0 with a spread of about 1, and Adam's steps are of fixed size."""
    keep = np.isfinite(sd) & np.isfinite(centre)
    sd, centre = sd[keep], centre[keep]
    if not sd.size or not (np.maximum(sd, centre).max() > 10.0 or sd.min() < 0.1):
        return ""
    how = ("sklearn.compose.TransformedTargetRegressor(regressor=reg, transformer=StandardScaler())"
           if ndim < 3 else  # scikit-learn's scalers refuse 3-D targets
           "per output over trials and steps: mu, sd = np.nanmean(y, axis=(0, 1)), np.nanstd(y, axis=(0, 1)); "
           "fit on (y - mu) / sd and take reg.predict(X) * sd + mu")
    return (f"targets far from zero mean and unit scale (|means| {centre.min():.3g} to {centre.max():.3g}, "
            f"standard deviations {sd.min():.3g} to {sd.max():.3g}): standardise them, e.g. {how}")


def check_regression_targets(y, n_trials: int, n_steps: int, dtype=np.float32) -> np.ndarray:
    """Regression targets checked against ``X``'s trials and steps: ``(n_trials, n_outputs)``
    (a 1-D ``y`` is one output) or ``(n_trials, n_timesteps, n_outputs)``. NaN marks a missing
    target (no error, no gradient: docs/model.md); infinities, a ``y`` with no observed value and
    values whose squares would overflow ``dtype`` are errors. ``dtype``: of the result (float32,
    the core's type, by default)."""
    y = check_array(y, ensure_2d=False, allow_nd=True, dtype=np.float64, ensure_all_finite="allow-nan", input_name="y")
    if y.size and np.isnan(y).all():
        raise ValueError("y has no observed values: every target is NaN (missing)")
    _check_magnitude(y, "y", dtype)
    if y.ndim == 1:
        y = y[:, np.newaxis]
    if y.ndim not in (2, 3):
        raise ValueError(f"y must have shape (n_trials,), (n_trials, n_outputs) or (n_trials, n_timesteps, n_outputs), got {y.shape}")
    if y.shape[0] != n_trials:
        raise ValueError(f"X has {n_trials} trials but y has {y.shape[0]}")
    if y.ndim == 3 and y.shape[1] != n_steps:
        raise ValueError(f"y has {y.shape[1]} time steps but X has {n_steps}: per-step targets need one value per bin")
    if y.shape[-1] == 0:
        raise ValueError("y has no outputs")
    return np.ascontiguousarray(y, dtype=dtype)


class TraceScoreMixin:
    """``score`` (R^2 averaged over outputs) and ``score_per_output`` of a regressor whose
    ``predict`` returns traces ``(n_trials, n_timesteps, n_outputs)`` for per-step targets (every
    step of every trial a sample) or ``(n_trials, n_outputs)`` / ``(n_trials,)`` per trial, with
    NaN targets missing; it sets ``per_step_``, ``n_outputs_`` and ``_y_1d`` in ``fit``. Shared by
    :class:`SpikingRNNRegressor` and :class:`motorsrnn.baselines.WienerFilter`."""

    per_step_: bool
    n_outputs_: int

    def score_per_output(self, X, y) -> np.ndarray:
        """R^2 of each output (per-step targets: every step of every trial is a sample).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)
        y : array-like, shaped as in :meth:`fit`

        Returns
        -------
        ndarray of shape (n_outputs,)
        """
        pred, true = self._flat(X, y)
        return _r2_per_output(true, pred)

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 averaged uniformly over outputs (scikit-learn's semantics).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)
        y : array-like, shaped as in :meth:`fit`
        sample_weight : array-like of shape (n_trials,) or None
            Weights of trials (repeated over time steps for per-step targets).

        Returns
        -------
        float
        """
        from sklearn.metrics import r2_score

        pred, true = self._flat(X, y)
        if true.size and np.isnan(true).all():
            raise ValueError("y has no observed values: every target is NaN (missing), so there is no R^2 to compute")
        if sample_weight is not None and self.per_step_:
            sample_weight = _weights_per_sample(sample_weight, np.shape(y)[0], pred.shape[0])
        if np.isnan(true).any():  # missing targets: each output's R^2 over its observed values
            return _mean_over_outputs(_r2_per_output(true, pred, sample_weight), "R^2")
        return float(r2_score(true, pred, sample_weight=sample_weight))

    def _flat(self, X, y):
        pred = np.asarray(self.predict(X), dtype=np.float64)
        true = np.asarray(y, dtype=np.float64)
        if not self.per_step_ and self.n_outputs_ == 1 and true.ndim in (1, 2) and true.size == pred.size:
            true = true.reshape(pred.shape)  # one output: (n,) and (n, 1) are the same targets, as in r2_score
        if true.shape != pred.shape:
            raise ValueError(f"y has shape {true.shape}, predictions have shape {pred.shape}")
        if self.per_step_:
            return pred.reshape(-1, pred.shape[-1]), true.reshape(-1, true.shape[-1])
        if pred.ndim == 1:  # fitted on a 1-D y: one output
            return pred[:, None], true[:, None]
        return pred, true


class SpikingRNNRegressor(TraceScoreMixin, RegressorMixin, _SpikingRNNBase):
    """Recurrent spiking neural network regressor: continuous outputs from spike trains.

    The same network family, parameters and training as :class:`SpikingRNNClassifier`; the
    readout units are trained with the mean squared error instead of the cross-entropy.

    - Targets per time step, ``y`` of shape ``(n_trials, n_timesteps, n_outputs)`` (e.g. hand
      velocity or EMG-like signals): the loss is the mean over trials, steps and outputs of
      ``(O[t] - y[t])**2`` and :meth:`predict` returns the traces ``O[t]``.
    - Targets per trial, ``y`` of shape ``(n_trials, n_outputs)`` or ``(n_trials,)``: the loss
      compares the window logits (``readout``: mean, max or last of ``O``) with ``y`` and
      :meth:`predict` returns them (1-D for 1-D ``y``).

    ``score`` is the coefficient of determination R^2 with scikit-learn's semantics (averaged
    uniformly over outputs; for per-step targets every time step of every trial is a sample);
    :meth:`score_per_output` gives one R^2 per output. Targets are used as given (no scaling):
    standardise them if their scale is far from 1. A NaN in ``y`` marks a missing target (an
    output not recorded at some steps or in some trials): it adds no error and no gradient, and
    :meth:`score` and :meth:`score_per_output` compute each output's R^2 over its observed values.
    A trial whose targets are all missing can still carry ``neural_targets``.

    Attributes
    ----------
    n_outputs_ : int
        Number of outputs (readout units).
    per_step_ : bool
        True when fitted on targets per time step.
    n_features_in_, feature_names_in_, network_, history_, n_iter_, stop_reason_, best_epoch_
        As for :class:`SpikingRNNClassifier` (in ``history_``, ``accuracy`` and
        ``val_accuracy`` are None).

    Examples
    --------
    >>> import numpy as np
    >>> from motorsrnn import SpikingRNNRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = (rng.random((64, 30, 8)) < 0.1).astype(np.uint8)
    >>> y = X.sum(axis=(1, 2)) / 10.0                      # one value per trial
    >>> reg = SpikingRNNRegressor(n_hidden=16, max_epochs=20, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.score(X, y) > 0.5                              # R^2 on the training trials
    True
    """

    def fit(self: "_Estimator", X, y, *, neural_targets=None, neural_units=None, neural_population=None,
            groups=None, sample_weight=None) -> "_Estimator":
        """Train the network to produce ``y`` from spike-count windows.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)
            Spike counts per time bin.
        y : array-like of shape (n_trials, n_timesteps, n_outputs), (n_trials, n_outputs) or (n_trials,)
            Continuous targets per time step or per trial. NaN marks a missing target (no error,
            no gradient); infinities raise ``ValueError``, as does a ``y`` with no observed value.
            A 2-D ``y`` is read per trial (``n_outputs`` values each); when its second axis is as
            long as ``X``'s time axis, ``fit`` warns (one output per step is ``y[..., None]``).
        neural_targets, neural_units, neural_population
            Activity matching, as in :meth:`SpikingRNNClassifier.fit`.
        groups : array-like of shape (n_trials,) or None
            Group of each trial; with ``early_stopping`` the validation set holds out whole groups,
            as in :meth:`SpikingRNNClassifier.fit`.
        sample_weight : array-like of shape (n_trials,), float or None
            Weight of each trial in the training loss (all of its steps and outputs), as in
            :meth:`SpikingRNNClassifier.fit`.

        Returns
        -------
        self : SpikingRNNRegressor
        """
        self._validate_params()
        return self._train(**self._training_data(X, y, sample_weight, (neural_targets, neural_units, neural_population),
                                                 groups))

    def partial_fit(self: "_Estimator", X, y, sample_weight=None, neural_targets=None, neural_units=None,
                    neural_population=None) -> "_Estimator":
        """Train for one more epoch on ``X``, ``y`` (incremental learning), as
        :meth:`SpikingRNNClassifier.partial_fit` does.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)
            Spike counts per time bin.
        y : array-like, shaped as in :meth:`fit`
            Targets of the same kind and number of outputs in every call. An output may be
            missing (NaN) in a call, but the call must hold an observed target.
        sample_weight : array-like of shape (n_trials,), float or None
            Weight of each trial, relative to the other trials of the call.
        neural_targets, neural_units, neural_population
            Activity matching, as in :meth:`fit`.

        Returns
        -------
        self : SpikingRNNRegressor
        """
        self._validate_params()
        _check_incremental(self)
        return self._train(**self._training_data(X, y, sample_weight, (neural_targets, neural_units, neural_population),
                                                 None, incremental=True))

    def _training_data(self, X, y, sample_weight, neural, groups, incremental=False) -> Dict[str, Any]:
        """The arguments of :meth:`_train` from ``fit``'s or ``partial_fit``'s, checked."""
        Xc = check_spikes(X)
        y_in = np.asarray(y) if y is not None else None
        if y_in is None:
            raise ValueError("this estimator requires y to be passed, but the target y is None")
        yc = check_regression_targets(y, Xc.shape[0], Xc.shape[1])
        sample_weight = check_sample_weight(sample_weight, Xc.shape[0])
        observed = _observed(yc, sample_weight).reshape(-1, yc.shape[-1]).any(axis=0)
        unobserved = np.flatnonzero(~observed)
        weighted = " of positive sample_weight" if sample_weight is not None else ""
        if incremental and not observed.any():
            raise ValueError(f"y has no observed value (all NaN) in any trial{weighted}: nothing to train on")
        if unobserved.size and not incremental:  # nothing to learn them from: predict would return untrained values
            raise ValueError(
                f"output(s) {unobserved[:10].tolist()} of y have no observed value (all NaN) in any trial{weighted}: "
                "drop them from y, or mark fewer of their targets as missing"
            )
        if yc.ndim == 2 and Xc.shape[1] > 1 and yc.shape[1] == Xc.shape[1]:
            warnings.warn(
                f"y has shape {yc.shape}: read as {yc.shape[1]} outputs per trial, one value each. If it holds "
                f"one output per time step ({Xc.shape[1]} bins), pass y[..., None] (shape (n_trials, "
                "n_timesteps, 1)) for per-step targets",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        centre, sd, _ = _output_stats(yc)  # (all-NaN outputs are refused above)
        scale = _scale_advice(sd, np.abs(centre), yc.ndim)
        if scale:  # the network's outputs start near 0 with unit spread: such targets train badly
            warnings.warn(f"y: {scale}", UserWarning, stacklevel=user_stacklevel())
        groups = check_groups(groups, Xc.shape[0], self.validation_fraction if self.early_stopping else None)
        if self._warm() or (incremental and hasattr(self, "network_")):
            check_n_channels(self, Xc, X)
            if (yc.ndim == 3) != self.per_step_ or yc.shape[-1] != self.n_outputs_:
                what = "partial_fit" if incremental else "warm_start"
                raise ValueError(f"{what} needs targets of the same kind and number of outputs as the previous fit "
                                 f"({'per step' if self.per_step_ else 'per trial'}, {self.n_outputs_} outputs)")
        attrs = {"per_step_": yc.ndim == 3, "n_outputs_": int(yc.shape[-1]), "_y_1d": y_in.ndim == 1,
                 "feature_names_in_": _feature_names(X)}
        if incremental and hasattr(self, "network_"):  # the first call sets these; later ones are checked
            del attrs["_y_1d"], attrs["feature_names_in_"]
        return dict(Xc=Xc, targets=yc, n_outputs=int(yc.shape[-1]), neural=_check_neural(neural, Xc.shape),
                    groups=groups, targets_attrs=attrs, sample_weight=sample_weight, incremental=incremental)

    _CONSTANT = "predicting each output's training mean everywhere"

    def _fit_against_constant(self, Xs, targets, n, weights=None):
        """MSE of the network on the training trials ``Xs`` (the first ``n`` of ``targets``, per
        trial or per step, NaN where missing) and that of each output's mean over all of
        ``targets`` (the constant of R^2: a higher MSE is a negative R^2 pooled over the outputs),
        both weighted by the trials' ``weights`` when given (the constant is then the weighted mean)."""
        n_threads = _n_threads(self.n_jobs)
        if targets.ndim == 3:
            pred = self.network_.traces(Xs, n_threads)
        else:
            pred = self.network_.logits(Xs, n_threads)
        k = targets.shape[-1]
        y = np.asarray(targets[:n], dtype=np.float64).reshape(-1, k)  # the first n trials' targets
        rows = y.shape[0] // n  # rows of a trial: 1, or one per step
        w_rows = np.repeat(np.ones(n) if weights is None else _relative(weights)[:n], rows)
        observed = ~np.isnan(y) & (w_rows[:, None] > 0)  # zero weight: not part of the loss
        if not observed.any():
            return "mean squared error", 0.0, 0.0, ""
        # over all of targets, in chunks (fit refuses outputs without observed values); the weighted
        # mean is NaN for an output seen only in trials of weight 0
        _, sd, mean = _output_stats(targets, weights)
        w_obs = np.broadcast_to(w_rows[:, None], y.shape)[observed]
        err = (pred.astype(np.float64).reshape(-1, k) - y)[observed]
        advice = _scale_advice(sd, np.abs(mean), targets.ndim)
        advice = advice + "; " if advice else ""
        return ("mean squared error", float(np.average(err**2, weights=w_obs)),
                float(np.average((mean[None, :] - y)[observed] ** 2, weights=w_obs)), advice)

    def _target_metadata(self) -> Dict[str, Any]:
        return {"per_step": bool(self.per_step_), "n_outputs": int(self.n_outputs_), "y_1d": bool(self._y_1d)}

    def _restore_target_metadata(self, meta: Dict[str, Any]) -> None:
        self.per_step_ = bool(meta["per_step"])
        self.n_outputs_ = int(meta["n_outputs"])
        self._y_1d = bool(meta["y_1d"])

    def predict(self, X) -> np.ndarray:
        """Predicted outputs.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of float64
            ``(n_trials, n_timesteps, n_outputs)`` traces for per-step targets; ``(n_trials,
            n_outputs)`` window outputs (or ``(n_trials,)`` when fitted on 1-D ``y``) otherwise.
        """
        Xc = self._check_X(X)
        n_threads = _n_threads(self.n_jobs)
        _check_readout_memory(self.network_, Xc, per_step=self.per_step_)
        if self.per_step_:
            traces = _in_blocks(self.network_, Xc, n_threads, lambda x: self.network_.traces(x, n_threads))
            return check_finite_outputs(traces, self.network_).astype(np.float64)
        last = _in_blocks(self.network_, Xc, n_threads, lambda x: self.network_.logits(x, n_threads))
        out = check_finite_outputs(last, self.network_)
        out = out.astype(np.float64)
        return out[:, 0] if self._y_1d else out

    def stream(self) -> "StreamingRegressor":
        """A stateful decoder fed one bin at a time (closed-loop decoding of continuous outputs).

        Returns
        -------
        motorsrnn.streaming.StreamingRegressor
            ``step(bin)`` returns the prediction after each bin: the readout of that bin for
            per-step targets (equal to :meth:`predict`'s trace at that step), the window output
            of the bins so far for per-trial targets. See ``benchmarks/bench_stream.py`` for latency.
        """
        check_is_fitted(self, "network_")
        from .streaming import StreamingRegressor

        return StreamingRegressor(self.network_, self.n_features_in_, self.per_step_, self._y_1d)

    def loss_and_grad(self, X, y, neural_targets=None, neural_units=None,
                      neural_population=None, sample_weight=None) -> Tuple[float, Dict[str, np.ndarray]]:
        """Mean squared error of the readout (as in :meth:`fit`, plus the activity-matching term
        when ``neural_targets`` is given) and its gradient by BPTT.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)
        y : array-like, shaped as in :meth:`fit`
        neural_targets, neural_units, neural_population
            Recorded activity and its assignment to model units, as in :meth:`fit`. With
            ``neural_targets``, the loss adds ``activity_weight`` times the activity-matching term.
        sample_weight : array-like of shape (n_trials,), float or None
            Weight of each trial: the weighted mean of the trials' losses, as in
            :meth:`SpikingRNNClassifier.loss_and_grad`.

        Returns
        -------
        loss : float
        grads : dict of str to ndarray
            Same names and shapes as :meth:`get_weights`, without fixed projections.

        Warns
        -----
        RuntimeWarning
            As :meth:`SpikingRNNClassifier.loss_and_grad`, when the loss or a gradient is not
            finite.
        """
        Xc = self._check_X(X)
        yc = check_regression_targets(y, Xc.shape[0], Xc.shape[1])
        if (yc.ndim == 3) != self.per_step_ or yc.shape[-1] != self.n_outputs_:
            raise ValueError(f"y must be shaped like the targets of fit ({'per step' if self.per_step_ else 'per trial'}, {self.n_outputs_} outputs)")
        check_assignment_has_targets(neural_targets, neural_units, neural_population)
        sample_weight = check_sample_weight(sample_weight, Xc.shape[0])
        activity = None if neural_targets is None else self._activity(self.network_, Xc, neural_targets, neural_units,
                                                                      neural_population, sample_weight)
        return self._loss_and_grad(Xc, yc, activity, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        tags.target_tags.multi_output = True
        return tags


def _share_parameters(source: type, target: type) -> None:
    """Copy the numpydoc ``Parameters`` section of ``source``'s docstring into ``target``'s, before
    its ``Attributes`` section: the two estimators take the same parameters, documented once.
    Nothing to do when docstrings are stripped (``python -OO``). The docstrings are cleaned first
    (``inspect.cleandoc``): Python 3.13 strips their indentation when compiling, earlier versions
    keep it."""
    if not (source.__doc__ and target.__doc__):
        return
    src, tgt = inspect.cleandoc(source.__doc__), inspect.cleandoc(target.__doc__)
    start = src.index("\nParameters\n----------\n")
    end = src.index("\nAttributes\n----------\n")
    head, sep, tail = tgt.partition("\nAttributes\n----------\n")
    target.__doc__ = head + src[start:end] + sep + tail


_share_parameters(SpikingRNNClassifier, SpikingRNNRegressor)


def _own_init(cls: type) -> None:
    """Give ``cls`` its own copy of the shared ``__init__``, named after it, so that a misspelt
    parameter reads "SpikingRNNClassifier.__init__() got an unexpected keyword argument", not
    the private base class's name (Python 3.11+ takes the name from the code object)."""
    base = _SpikingRNNBase.__init__
    qualname = f"{cls.__name__}.__init__"
    code = base.__code__
    if hasattr(code, "co_qualname"):  # Python 3.11+ (getattr: the type stubs of older Pythons lack it)
        code = getattr(code, "replace")(co_qualname=qualname)
    init = types.FunctionType(code, base.__globals__, "__init__", base.__defaults__, base.__closure__)
    init.__kwdefaults__ = base.__kwdefaults__
    init.__qualname__, init.__module__, init.__doc__ = qualname, base.__module__, base.__doc__
    init.__annotations__ = dict(base.__annotations__)
    setattr(cls, "__init__", init)


for _cls in (SpikingRNNClassifier, SpikingRNNRegressor):
    _own_init(_cls)


def _metric_per_output(metric, true, pred, sample_weight=None, min_samples: int = 1) -> np.ndarray:
    """``metric(y_true, y_pred, sample_weight=)`` of each column of ``true`` (2-D) over its
    observed (non-NaN) rows; NaN for a column with fewer than ``min_samples`` observed values
    (R^2 and explained variance need 2: scikit-learn gives NaN, or 1.0, for one)."""
    out = np.full(true.shape[1], np.nan)
    for j in range(true.shape[1]):
        seen = ~np.isnan(true[:, j])
        if seen.sum() >= min_samples:
            w = None if sample_weight is None else np.asarray(sample_weight)[seen]
            out[j] = metric(true[seen, j], pred[seen, j], sample_weight=w)
    return out


def _r2_per_output(true, pred, sample_weight=None) -> np.ndarray:
    """R^2 of each column of ``true`` (2-D) over its observed rows (see :func:`_metric_per_output`)."""
    from sklearn.metrics import r2_score

    return _metric_per_output(r2_score, true, pred, sample_weight, min_samples=2)


def _weights_per_sample(sample_weight, n_trials: int, n_samples: int) -> np.ndarray:
    """Per-trial ``sample_weight`` checked (one per trial) and repeated over each trial's
    ``n_samples // n_trials`` samples (its time steps, for per-step targets)."""
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.shape != (n_trials,):
        raise ValueError(f"sample_weight must hold one weight per trial ({n_trials}), got shape {sample_weight.shape}")
    return np.repeat(sample_weight, n_samples // n_trials)


_PER_STEP_METRICS = {  # scikit-learn's scoring names: (metric of 1-D arrays, greater is better)
    "r2": ("r2_score", True),
    "explained_variance": ("explained_variance_score", True),
    "neg_mean_squared_error": ("mean_squared_error", False),
    "neg_mean_absolute_error": ("mean_absolute_error", False),
}


def _mean_over_outputs(per_output: np.ndarray, metric: str) -> float:
    """The mean of the outputs' scores (``score`` and :func:`per_step_scorer` alike); those that
    cannot be computed (NaN: an output without observed values, or with fewer than two for R^2)
    are left out with a warning, unless none can."""
    missing = np.isnan(per_output)
    if missing.any() and not missing.all():
        need = ("fewer than two observed values in these trials (R^2 needs two)" if metric in ("R^2", "r2")
                else "fewer than two observed values in these trials (it needs two)" if metric == "explained_variance"
                else "no observed value in these trials")
        warnings.warn(
            f"output(s) {np.flatnonzero(missing).tolist()} of y have {need}: the score is the mean {metric} of the "
            "other outputs",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return float(np.nanmean(per_output))
    return float(np.mean(per_output))


def per_step_scorer(metric="r2"):
    """A scorer for ``SpikingRNNRegressor`` that also takes per-step targets.

    scikit-learn's scoring strings (``scoring="r2"``, ...) pass ``y`` to metrics that refuse
    3-D arrays, so with per-step targets ``(n_trials, n_timesteps, n_outputs)`` every score of
    ``cross_val_score`` or ``GridSearchCV`` is NaN (with ``error_score=nan``, the default) and a
    search returns its first candidate. This scorer counts every step of every trial as one
    sample, as :meth:`SpikingRNNRegressor.score` does: each output's metric over its observed
    (non-NaN) samples, averaged uniformly over outputs. Per-trial targets (1-D or 2-D) give the
    scikit-learn scorer's value. The estimator's own ``score`` (``scoring=None``) is the
    ``"r2"`` scorer's equivalent. A ``sample_weight`` given to the scorer holds one weight per
    trial, repeated over its steps (as ``score`` takes it).

    Parameters
    ----------
    metric : {"r2", "explained_variance", "neg_mean_squared_error", "neg_mean_absolute_error"}
        Named as in ``sklearn.metrics.get_scorer``; the ``neg_`` ones are negated errors, so that
        greater is better.

    Returns
    -------
    callable
        ``scorer(estimator, X, y)``, for ``scoring=`` of scikit-learn's model selection tools.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from motorsrnn import SpikingRNNRegressor, per_step_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.poisson(0.2, (40, 20, 5))
    >>> Y = np.cumsum(X[:, :, :2], axis=1)  # per-step targets: running counts of two channels
    >>> Y = (Y - Y.mean(axis=(0, 1))) / Y.std(axis=(0, 1))
    >>> reg = SpikingRNNRegressor(n_hidden=16, max_epochs=30, learning_rate=0.01, random_state=0)
    >>> cross_val_score(reg, X, Y, cv=2, scoring=per_step_scorer("r2")).round(2)
    array([0.56, 0.72])
    """
    import sklearn.metrics

    if not isinstance(metric, str) or metric not in _PER_STEP_METRICS:
        raise ValueError(f"metric must be one of {sorted(_PER_STEP_METRICS)}, got {metric!r}")
    name, greater_is_better = _PER_STEP_METRICS[metric]
    func = getattr(sklearn.metrics, name)

    def per_step(y_true, y_pred, sample_weight=None):
        true, pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
        k = true.shape[-1] if true.ndim > 1 else 1
        n_trials = true.shape[0]
        true, pred = true.reshape(-1, k), pred.reshape(-1, k)
        if sample_weight is not None:  # one weight per trial, repeated over its steps as in score()
            sample_weight = _weights_per_sample(sample_weight, n_trials, true.shape[0])
        if true.size and np.isnan(true).all():
            raise ValueError("y has no observed values: every target is NaN (missing)")
        need = 2 if metric in ("r2", "explained_variance") else 1
        return _mean_over_outputs(_metric_per_output(func, true, pred, sample_weight, need), metric)

    per_step.__name__ = f"per_step_{name}"
    return sklearn.metrics.make_scorer(per_step, greater_is_better=greater_is_better)


def _json_default(o):
    if isinstance(o, (np.generic, np.ndarray)):
        return o.tolist()
    if isinstance(o, Topology):
        return o.to_dict()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


_ESTIMATORS = {"SpikingRNNClassifier": SpikingRNNClassifier, "SpikingRNNRegressor": SpikingRNNRegressor}


def load(path) -> Any:
    """Load any motorsrnn estimator saved with ``save``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator
        A fitted estimator, ready to ``predict``, and to continue training with
        ``partial_fit`` from the optimiser state the file holds (see ``save``), with the
        parameters it was saved with, except two that a file cannot hold: ``callback`` comes back as None, and a ``random_state``
        that was a ``numpy.random.RandomState`` or ``Generator`` as None (an integer is kept).

    Raises
    ------
    motorsrnn.ModelFileError
        When the file is not a motorsrnn model, is corrupt, or has an unsupported format version.
    """
    data = Path(path).read_bytes()
    try:
        network, text = _network_and_metadata(data)
    except _core.ModelFileError as e:
        raise _core.ModelFileError(f"{path}: {e}") from None
    try:
        meta = json.loads(text)
        cls = _ESTIMATORS[meta["estimator"]]
        params = dict(meta["params"])
        defaults = cls().get_params()
        for k, v in params.items():  # JSON has no tuples: give back the (lower, upper) pairs as tuples
            if isinstance(v, list) and isinstance(defaults.get(k), tuple):
                params[k] = tuple(v)
        if meta.get("architecture_is_topology"):
            params["architecture"] = Topology.from_dict(params["architecture"])
        est = cls(**params)
        est._validate_params()
        est._restore_target_metadata(meta)
        if not isinstance(meta["n_features_in"], int) or isinstance(meta["n_features_in"], bool):
            raise ValueError(f"n_features_in must be an integer, got {meta['n_features_in']!r}")
        est.n_features_in_ = meta["n_features_in"]
        names = meta.get("feature_names_in")
        if names is not None:  # absent from files written before 0.1.0's feature names
            if not (isinstance(names, list) and len(names) == est.n_features_in_
                    and all(isinstance(n, str) for n in names)):
                raise ValueError(f"feature_names_in must be a list of {est.n_features_in_} strings (n_features_in), "
                                 f"got {names!r:.200}")
            est.feature_names_in_ = np.asarray(names, dtype=object)
        est.history_ = meta["history"]
        est.n_iter_ = len(est.history_)
        est.stop_reason_ = meta["stop_reason"]
        est.best_epoch_ = meta["best_epoch"]
        spec = json.loads(network.spec_json)
        n_out = len(est.classes_) if isinstance(est, SpikingRNNClassifier) else est.n_outputs_
        if (spec["n_inputs"], spec["n_outputs"]) != (est.n_features_in_, n_out):
            raise ValueError(f"the metadata describes {est.n_features_in_} inputs and {n_out} outputs, the network "
                             f"{spec['n_inputs']} and {spec['n_outputs']}")
        est.network_ = network
        try:
            est._check_same_network(context="load")
        except ValueError as e:  # files written before save() checked this: the network decides
            warnings.warn(f"{path}: {e}. Predictions use the saved network; get_params() gives the saved "
                          "parameters. Set those back to the network's (or refit) before saving it again.",
                          UserWarning, stacklevel=2)
    except (ValueError, KeyError, TypeError) as e:
        newer = ("; a file written by a newer motorsrnn may hold parameter values this one does not know"
                 if "must be one of" in str(e) else "")
        raise _core.ModelFileError(f"{path}: the model file's metadata is invalid ({e!r}){newer}") from None
    est.network_ = network
    return est
