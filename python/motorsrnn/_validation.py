"""Checks of scalar parameters shared by every module (one place for their rules and messages)."""

from __future__ import annotations

import numbers
import os
import sys

import numpy as np

__all__ = ["InvalidParameterError", "check_bool", "check_choice", "check_number", "user_stacklevel"]


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
    value = int(value) if integer else float(value)
    if not np.isfinite(value):
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


def user_stacklevel() -> int:
    """``stacklevel`` for a warning raised by this function's caller so that it points at the first
    frame outside the motorsrnn package: the user's call, however deep in the package it started."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        level, frame = level + 1, frame.f_back
    return level
