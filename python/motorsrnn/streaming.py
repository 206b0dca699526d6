"""Streaming (closed-loop) decoding: feed a fitted network one bin of spikes at a time.

>>> import numpy as np
>>> from motorsrnn import SpikingRNNClassifier
>>> from motorsrnn.datasets import make_center_out
>>> data = make_center_out(n_trials=40, random_state=0)
>>> clf = SpikingRNNClassifier(n_hidden=16, max_epochs=1, random_state=0).fit(data.X, data.y)
>>> decoder = clf.stream()
>>> for bin_counts in data.X[0]:      # bins of shape (n_channels,), e.g. from a live source
...     proba = decoder.step(bin_counts)
>>> np.array_equal(decoder.logits, clf.decision_path(data.X[:1])[0, -1])
True
>>> decoder.reset()                   # next trial

The decoder runs the same simulation step as ``fit``/``predict`` (its logits after ``t`` bins equal
``decision_path(X)[:, t]`` exactly), keeps only the state of the last step, and holds its own copy of
the weights (later changes to the estimator do not affect it).

A decoder holds one trial's state: use one decoder per thread (``estimator.stream()`` makes a new
one), and ``reset()`` at the start of each trial. With ``readout="mean"`` the logits are the mean of
the readout over every bin since the last reset, so without resets new bins weigh less and less,
and after 2**24 bins (4.7 hours of 1 ms bins) float32 can no longer count them: the decoder warns
then. For continuous decoding without trials, fit with ``readout="last"``.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

from . import _core
from ._validation import user_stacklevel
from .estimators import check_finite_outputs, check_spikes

__all__ = ["StreamingDecoder", "StreamingRegressor"]

_FLOAT32_COUNT = 2**24  # the first integer float32 cannot follow with + 1


class StreamingDecoder:
    """A stateful single-trial decoder built by ``estimator.stream()``.

    Parameters
    ----------
    network : motorsrnn._core.Network
        The fitted network (copied).
    classes : ndarray of shape (n_classes,)
        Labels of the readout units.
    n_channels : int
        Channels per bin.
    """

    def __init__(self, network, classes, n_channels: int):
        self._stream = _core.Stream(network)
        self.classes_ = np.asarray(classes)
        self.n_channels = int(n_channels)
        self._running_mean = json.loads(network.spec_json).get("readout") == "mean"

    def step(self, x) -> np.ndarray:
        """Advance by one bin ``(n_channels,)`` or a chunk ``(n_bins, n_channels)`` of counts.

        A chunk is used whole or not at all: NaN, infinite or negative counts in any of its bins
        raise ``ValueError`` (naming the bin and channel) before the state changes. An empty
        chunk ``(0, n_channels)`` changes nothing; before the trial's first bin it raises
        ``ValueError``, as there is no decision yet. Outputs that are not finite (weights set so
        large that float32 overflows) raise ``FloatingPointError`` after the bins were used (the
        state has moved on: ``reset()``), and so do :attr:`logits` and :meth:`predict` after it.

        Parameters
        ----------
        x : array-like of shape (n_channels,) or (n_bins, n_channels)
            Spike counts of the next bin, or of the next ``n_bins`` bins in order.

        Returns
        -------
        ndarray of shape (n_classes,)
            Class probabilities after the last bin (softmax of the running logits).
        """
        if not (type(x) is np.ndarray and x.dtype == np.float32):
            x = np.asarray(x)
            if x.dtype.kind == "O" and x.ndim in (1, 2):  # object arrays of numbers: converted as the batch API does
                x = check_spikes(x.reshape((1,) * (3 - x.ndim) + x.shape), name="bin").reshape(x.shape)
            if x.dtype.kind not in "biuf":  # complex numbers, strings: as the batch API refuses them
                raise ValueError(f"a bin must hold spike counts (bool, integer or float), got dtype {x.dtype}")
            if x.dtype.kind == "f" and x.size:  # integers always fit
                finite = np.abs(x[np.isfinite(x)])
                if finite.size and finite.max() > np.finfo(np.float32).max:
                    raise ValueError(f"spike counts must be finite; found {finite.max():g}, beyond the range of the "
                                     "core's floating-point type (float32)")
            x = x.astype(np.float32)
        if x.ndim not in (1, 2) or x.shape[-1] != self.n_channels:
            raise ValueError(f"a bin must have shape ({self.n_channels},) or (n_bins, {self.n_channels}), got {x.shape}")
        if x.ndim == 2 and x.shape[0] > 1:
            # a chunk is all or nothing: check every bin before the first one changes the state
            bad = ~(np.isfinite(x) & (x >= 0))
            if bad.any():
                t, c = np.argwhere(bad)[0]
                raise ValueError(
                    f"spike counts must be finite and non-negative; found {x[t, c]} at bin {t}, channel {c} of the "
                    "chunk (no bin of the chunk was used)"
                )
        try:
            proba = self._stream.step(x)
        except RuntimeError as e:
            if "borrow" not in str(e):
                raise
            raise RuntimeError(f"this {type(self).__name__} is being stepped by another thread; a decoder holds one "
                               "trial's state: use one decoder per thread (estimator.stream() makes a new one)") from None
        self._check_started()  # an empty chunk as the first input gives no decision
        self._warn_if_uncountable()
        return self._result(proba)

    def _result(self, proba: np.ndarray) -> Any:
        """What :meth:`step` returns: the class probabilities."""
        return proba

    def _warn_if_uncountable(self) -> None:
        if self._running_mean and self._stream.n_steps >= _FLOAT32_COUNT:
            warnings.warn(
                f"{self._stream.n_steps} bins since the last reset: the running mean of readout='mean' can no longer "
                "count bins in float32 and drifts; call reset() at the start of each trial, or decode continuous "
                "streams with a network fitted with readout='last'",
                RuntimeWarning,
                stacklevel=user_stacklevel(),
            )

    def __reduce__(self):
        raise TypeError(
            f"a {type(self).__name__} holds the running state of one live trial and cannot be pickled or copied; "
            "pickle the fitted estimator and call its stream() again"
        )

    @property
    def logits(self) -> np.ndarray:
        """Logits after the last bin (ValueError before the first bin of a trial;
        FloatingPointError when they are not finite, as :meth:`step` says)."""
        self._check_started()
        return check_finite_outputs(self._stream.logits)

    def predict(self) -> Any:
        """The most probable class after the last bin (ValueError before the first bin of a
        trial; FloatingPointError when the logits are not finite)."""
        return self.classes_[int(np.argmax(self.logits))]

    def _check_started(self) -> None:
        if self._stream.n_steps == 0:
            raise ValueError("no bin of this trial has been given yet: call step() first (a decision needs input)")

    @property
    def n_steps(self) -> int:
        """Bins seen since the last reset."""
        return self._stream.n_steps

    def reset(self) -> None:
        """Start a new trial (all states back to zero)."""
        self._stream.reset()

    def __repr__(self) -> str:
        what = (f"classes={self.classes_.tolist()[:8]}{'...' if len(self.classes_) > 8 else ''}"
                if hasattr(self, "classes_") else f"per_step={getattr(self, 'per_step', None)}")
        return f"{type(self).__name__}(n_channels={self.n_channels}, {what}, n_steps={self.n_steps})"


class StreamingRegressor(StreamingDecoder):
    """A stateful single-trial regressor built by ``SpikingRNNRegressor.stream()``.

    Fed one bin (or a chunk of bins) at a time, as :class:`StreamingDecoder`, it returns after
    each :meth:`step` what :meth:`SpikingRNNRegressor.predict` gives for the bins seen so far:

    - fitted on targets per time step (``per_step_``): the readout ``O[t]`` of the last bin, equal
      to ``predict(X)[trial, t]``; a continuous decoder (hand velocity, EMG) for closed-loop use;
    - fitted on targets per trial: the window output of the bins since the last :meth:`reset`
      (``readout``: their mean, max or last ``O``), equal to ``predict(X[:, :t + 1])`` (a float
      when ``y`` was 1-D).

    Parameters
    ----------
    network : motorsrnn._core.Network
        The fitted network (copied).
    n_channels : int
        Channels per bin.
    per_step : bool
        Whether the regressor was fitted on targets per time step.
    y_1d : bool
        Whether it was fitted on 1-D ``y`` (one output per trial).
    """

    def __init__(self, network, n_channels: int, per_step: bool, y_1d: bool):
        super().__init__(network, np.empty(0), n_channels)
        del self.classes_  # outputs, not classes
        self.per_step = bool(per_step)
        self._y_1d = bool(y_1d) and not self.per_step
        # a per-step output is O of the bin, not a running mean: no count that float32 could lose
        self._running_mean = self._running_mean and not self.per_step

    def step(self, x) -> Any:
        """Advance by one bin ``(n_channels,)`` or a chunk ``(n_bins, n_channels)`` of counts.

        The checks of :meth:`StreamingDecoder.step` apply (a bad chunk changes nothing).

        Parameters
        ----------
        x : array-like of shape (n_channels,) or (n_bins, n_channels)
            Spike counts of the next bin, or of the next ``n_bins`` bins in order.

        Returns
        -------
        ndarray of shape (n_outputs,), or float
            The prediction after the last bin (see the class docstring); a float for a regressor
            fitted on 1-D ``y``.
        """
        return super().step(x)

    def _result(self, proba: np.ndarray) -> Any:
        return self.predict()

    @property
    def output(self) -> np.ndarray:
        """The readout ``O`` of the last bin (ValueError before the first bin of a trial;
        FloatingPointError when it is not finite)."""
        self._check_started()
        return check_finite_outputs(self._stream.output)

    def predict(self) -> Any:
        """The prediction after the last bin: ``O`` of that bin for per-step targets, the window
        output of the bins so far for per-trial targets (float64; a float for 1-D ``y``)."""
        out = (self.output if self.per_step else self.logits).astype(np.float64)
        return out[0] if self._y_1d else out

