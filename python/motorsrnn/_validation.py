"""Checks of scalar parameters shared by every module (one place for their rules and messages)."""

from __future__ import annotations

import functools
import math
import numbers
import os
import sys
import types
from typing import Optional

import numpy as np

__all__ = [
    "MAX_SPIKES_PER_BIN",
    "InvalidParameterError",
    "check_bool",
    "check_choice",
    "check_memory",
    "check_number",
    "check_seed",
    "check_seed_type",
    "install_hint",
    "labels_not_in",
    "memory_limit",
    "unique_labels",
    "user_stacklevel",
]


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong type: both a ValueError and a TypeError, as in scikit-learn."""


def check_number(value, name, *, low=None, high=None, strict_low=False, strict_high=False, integer=False, allow_none=False):
    """Return ``value`` as an int (``integer=True``) or a float after checking it.

    Raises :class:`InvalidParameterError` for a value of the wrong type (bools are not numbers) and
    ``ValueError`` for NaN, infinities and values outside ``[low, high]`` (strict bounds with
    ``strict_low`` / ``strict_high``). ``None`` passes through with ``allow_none``.
    """
    if value is None and allow_none:
        return None
    kinds = (numbers.Integral, np.integer) if integer else (numbers.Real, np.floating, np.integer)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kinds):
        what = "an integer" if integer else "a finite number"
        raise InvalidParameterError(f"{name} must be {what}, got {value!r}")
    if integer:
        value = int(value)  # Python ints have no size limit and are always finite
    else:
        try:
            value = float(value)
        except OverflowError:  # an int beyond the range of a float
            raise ValueError(f"{name} must be a finite number, got {value!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (value <= low if strict_low else value < low):
        raise ValueError(f"{name} must be {'>' if strict_low else '>='} {low}, got {value!r}")
    if high is not None and (value >= high if strict_high else value > high):
        raise ValueError(f"{name} must be {'<' if strict_high else '<='} {high}, got {value!r}")
    return value


def check_bool(value, name) -> bool:
    """Return ``value`` if it is a bool; :class:`InvalidParameterError` otherwise."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value, name, options):
    """Return ``value`` if it is one of ``options``; ``ValueError`` naming them otherwise."""
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def unique_labels(values, name, **kwargs):
    """``np.unique(values, **kwargs)`` for per-trial labels or conditions, with errors that name
    ``name``: NaN and None are refused (NaN would be a condition of its own), and so are labels of
    mixed types, which numpy cannot sort ("'<' not supported ...")."""
    v = np.asarray(values)
    if v.dtype.kind in "fc" and np.isnan(v).any():
        bad = np.flatnonzero(np.isnan(v.ravel()))
        raise ValueError(f"NaN in {name} (at positions {bad[:5].tolist()}{' ...' if bad.size > 5 else ''}): "
                         "drop those trials or give them a label")
    if v.dtype.kind == "O":
        flat = v.ravel().tolist()
        missing = [i for i, x in enumerate(flat) if x is None or (isinstance(x, float) and x != x)]
        if missing:
            raise ValueError(f"None or NaN in {name} (at positions {missing[:5]}"
                             f"{' ...' if len(missing) > 5 else ''}): drop those trials or give them a label")
    try:
        return np.unique(v, **kwargs)
    except TypeError:
        types = sorted({type(x).__name__ for x in v.ravel().tolist()})
        raise ValueError(f"values of different types in {name} ({', '.join(types)}), which cannot be ordered: "
                         "pass labels of one type, e.g. all str or all int") from None


def labels_not_in(classes, y) -> list:
    """The distinct labels of ``y`` (in order of first appearance) that are not among ``classes``
    (a fitted classifier's ``classes_``), compared as Python values: 1 and 1.0 match, 1 and "1" do not."""
    known = set(np.asarray(classes).tolist())
    return [label for label in dict.fromkeys(np.asarray(y).tolist()) if label not in known]


def user_stacklevel() -> int:
    """``stacklevel`` for a warning raised by this function's caller so that it points at the first
    frame outside the motorsrnn package: the user's call, however deep in the package it started."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    level = 1
    frame_or_none: Optional[types.FrameType] = sys._getframe(1)
    while frame_or_none is not None and os.path.abspath(frame_or_none.f_code.co_filename).startswith(package):
        level, frame_or_none = level + 1, frame_or_none.f_back
    return level


def _read_int(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _windows_commit_limit():
    """Windows' commit limit in bytes (``GlobalMemoryStatusEx``'s ``ullTotalPageFile``), or None."""
    try:
        import ctypes

        class MemoryStatus(ctypes.Structure):
            _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong)] + [
                (name, ctypes.c_ulonglong) for name in ("ullTotalPhys", "ullAvailPhys", "ullTotalPageFile",
                                                        "ullAvailPageFile", "ullTotalVirtual", "ullAvailVirtual",
                                                        "ullAvailExtendedVirtual")]

        status = MemoryStatus()
        status.dwLength = ctypes.sizeof(status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.ullTotalPageFile)
    except (ImportError, AttributeError, OSError, ValueError):
        pass
    return None


@functools.lru_cache(maxsize=None)
def _machine_limits() -> tuple:
    """The limits that do not change while the process runs: physical memory plus swap, and the
    cgroup's memory limit (read once; each read costs tens of microseconds, on every predict)."""
    limits = []
    if sys.platform == "win32":  # no sysconf: the commit limit (physical memory plus page file)
        commit = _windows_commit_limit()
        if commit:
            limits.append(commit)
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        total = None
    if total is not None:
        swap = 0
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("SwapTotal:"):
                        swap = int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass  # no /proc (macOS, whose swap grows on demand): physical memory alone
        limits.append(total + swap)
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        v = _read_int(path)
        if v is not None and v > 0:
            limits.append(v)
    return tuple(limits)


def memory_limit():
    """Bytes this process can still allocate, as far as the system says, or None when unknown: the
    smallest of physical memory plus swap, the cgroup's memory limit (both read once per process),
    and the address-space limit (``ulimit -v``, read at every call: a process may lower it) minus
    the process's current size. Used only to refuse work that cannot fit."""
    limits = list(_machine_limits())
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            pages = _read_int("/proc/self/statm")
            used = pages * os.sysconf("SC_PAGE_SIZE") if pages is not None else 0
            limits.append(max(soft - used, 0))
    except (ImportError, ValueError, OSError, AttributeError):  # pragma: no cover - not on Linux
        pass
    return min(limits) if limits else None


def _gib(n_bytes) -> str:
    return f"{n_bytes / 2**30:.3g} GiB"


#: Values whose spread is at most this share of their magnitude are equal: differences at the
#: level of rounding (a sum or a smoothing of equal values) are not activity, tuning or a baseline
#: (the same tolerance as the core's tuning fits, ``CONSTANT_RTOL`` in src/tuning.rs).
CONSTANT_RTOL = 1e-12


#: Expected spikes per bin above which a Poisson rate is a unit error (Hz and ms mixed up), not a
#: rate: the synthetic generators and the noise of ``analysis.add_poisson_noise`` refuse it.
MAX_SPIKES_PER_BIN = 1e6


def check_memory(n_bytes, what: str, advice) -> None:
    """Raise ``MemoryError`` when ``n_bytes`` (an estimate of what the core is about to allocate)
    exceeds :func:`memory_limit`: a clear message instead of the process aborting (a Rust
    allocation failure ends the process, e.g. a Jupyter kernel). ``what`` says what needs the
    memory, ``advice`` which parameters to reduce: a string, or a function that returns it when
    the advice costs work, called only when the check fails."""
    limit = memory_limit()
    if limit is not None and n_bytes > limit:
        raise MemoryError(
            f"{what} would need about {_gib(n_bytes)} of memory, more than the {_gib(limit)} this process can "
            f"use; {advice() if callable(advice) else advice}"
        )


def install_hint(package: str, extra: str) -> str:
    """How to install an optional dependency, for error messages: the package itself first (that
    works wherever pip runs), then motorsrnn's extra that pulls it in (pip reads the extras from
    the installed motorsrnn; motorsrnn is not on a package index). ``python -m pip`` installs into
    the running interpreter, whatever ``pip`` on the PATH is."""
    return f'python -m pip install {package} (or the extra: python -m pip install "motorsrnn[{extra}]")'


def check_seed(random_state, name: str = "random_state"):
    """``sklearn.utils.check_random_state`` (a ``numpy.random.RandomState``: the same int gives the
    same draws as before) with errors that name the argument; a ``numpy.random.Generator`` is
    accepted too, as the dataset generators accept it: it seeds the ``RandomState`` (and advances)."""
    from sklearn.utils import check_random_state

    check_seed_type(random_state, name)
    if isinstance(random_state, np.random.Generator):
        return np.random.RandomState(int(random_state.integers(0, 2**32, dtype=np.uint64)))
    return check_random_state(random_state)


def check_seed_type(random_state, name: str = "random_state") -> None:
    """Raise ``ValueError`` naming ``name`` unless ``random_state`` is what :func:`check_seed`
    takes (None, an int in ``[0, 2**32 - 1]``, a RandomState or a Generator); draws nothing."""
    is_int = isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(random_state, (bool, np.bool_))
    if not (random_state is None or isinstance(random_state, (np.random.RandomState, np.random.Generator)) or is_int):
        raise ValueError(f"{name} must be None, an int, a numpy RandomState or Generator, got {random_state!r}")
    if is_int and not 0 <= random_state < 2**32:
        raise ValueError(f"{name} must be an int in [0, 2**32 - 1] (a seed), got {random_state}")

