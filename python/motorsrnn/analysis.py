"""Analysis helpers for fitted decoders: early classification, energy estimates, noise robustness.

Public functions
----------------
early_classification
    Accuracy of a fitted classifier as a function of how much of the window it has seen.
energy
    Synaptic operations of a fitted spiking network and an estimate of its energy per sample,
    beside dense, GRU and LSTM networks of comparable size (the comparison of the motorSRNN paper).
add_poisson_noise
    Add Poisson noise spikes to every channel, or append pure-noise "neighbour" channels.
trajectories
    Trial-averaged population trajectories per condition in the top principal components.
similarity
    CCA or Procrustes similarity of two populations' condition-averaged activity.
weight_vs_pd_difference
    Connection weights against the preferred-direction difference of the connected units.

Only NumPy and scikit-learn are needed (no plotting here).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Optional

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._validation import (
    CONSTANT_RTOL,
    MAX_SPIKES_PER_BIN,
    InvalidParameterError,
    check_bool,
    check_number,
    check_seed,
    labels_not_in,
    unique_labels,
    user_stacklevel,
)
from .estimators import SpikingRNNClassifier, _network_dt, _simulations_in_chunks, check_labels, check_spikes
from .io import _binned_parts, _time_axis, _trial_array
from .tuning import _resolve_binned, _warn_if_wide_bins, _wrap_angle

_NOISE_CHUNK_BYTES = 4 << 20  # output entries per chunk of add_poisson_noise (its int64 temporaries: 8x)

__all__ = ["add_poisson_noise", "early_classification", "energy", "similarity", "trajectories", "weight_vs_pd_difference"]

#: Projection kinds that read the previous step's spikes (``s[t-1]``).
_DELAYED_KINDS = ("recurrent", "feedback")


# ---------------------------------------------------------------------------------------------
# Small validators
# ---------------------------------------------------------------------------------------------



def _is_classifier(estimator) -> bool:
    """``sklearn.base.is_classifier``, False (instead of an error) for objects without sklearn tags."""
    try:
        return bool(is_classifier(estimator))
    except (AttributeError, TypeError):
        return False


def _estimator_dt(estimator) -> Optional[float]:
    """The bin width in ms of a fitted estimator's network (``set_params(dt=...)`` after ``fit``
    changes the parameter, not the network), else its ``dt``; None when it has neither."""
    network = getattr(estimator, "network_", None)
    if network is not None and hasattr(network, "spec_json"):
        return _network_dt(network)
    dt = getattr(estimator, "dt", None)
    return None if dt is None else check_number(dt, "estimator.dt", low=0, strict_low=True)


# ---------------------------------------------------------------------------------------------
# Early classification
# ---------------------------------------------------------------------------------------------
def _prefix_lengths(n_timesteps, dt, times, step):
    """Prefix lengths (in bins, 1..n_timesteps) to evaluate, sorted and unique."""
    if times is None:
        step = check_number(step, "step", integer=True, low=1)
        lengths = np.arange(step, n_timesteps + 1, step)
        if lengths.size == 0 or lengths[-1] != n_timesteps:
            lengths = np.append(lengths, n_timesteps)
        return lengths.astype(np.intp)
    if step != 1:
        raise ValueError(f"give either times or step, not both (got times and step={step!r})")
    try:
        t = np.asarray(times, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"times must be an array-like of numbers (ms), got {times!r}") from None
    t = np.atleast_1d(t)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty 1-D array of times in ms, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("times must be finite")
    n = np.rint(t / dt)
    if not np.allclose(n * dt, t, rtol=1e-9, atol=1e-9 * dt):
        raise ValueError(f"times must be multiples of dt={dt} ms (prefix ends (t+1)*dt), got {t.tolist()}")
    if n.min() < 1 or n.max() > n_timesteps:
        raise ValueError(
            f"times must lie in [dt, n_timesteps*dt] = [{dt}, {n_timesteps * dt}] ms, got {t.min()}..{t.max()}"
        )
    return np.unique(n.astype(np.intp))


def _spiking_path(estimator, Xc):
    """Per-step logits from ``decision_path`` when it has the motorsrnn shape, else None."""
    method = getattr(estimator, "decision_path", None)
    classes = getattr(estimator, "classes_", None)
    if not callable(method) or classes is None:
        return None
    from .baselines import GRUClassifier, LSTMClassifier

    if isinstance(estimator, (SpikingRNNClassifier, GRUClassifier, LSTMClassifier)):
        path = method(Xc)  # motorsrnn's own per-step logits: their errors are the user's to see
    else:
        # e.g. scikit-learn's trees also have a decision_path (a sparse node indicator): only an
        # array (n_trials, n_timesteps, n_classes) counts as per-step logits.
        try:
            path = method(Xc)
        except (TypeError, ValueError):
            return None
    if isinstance(path, np.ndarray) and path.ndim == 3 and path.shape == (*Xc.shape[:2], len(classes)):
        return path
    return None


def early_classification(estimator, X, y, *, times=None, step=1, dt=None) -> Bunch:
    """Accuracy of a fitted classifier using only the first part of each window.

    Parameters
    ----------
    estimator : fitted classifier
        A classifier by ``sklearn.base.is_classifier`` (scikit-learn's classifier tag, e.g.
        ``ClassifierMixin``; pipelines and searches ending in a classifier qualify) with
        ``classes_``. Either a motorsrnn spiking estimator (or anything with a
        ``decision_path(X)`` returning logits of shape (n_trials, n_timesteps, n_classes) after
        each step), evaluated in one forward pass; or any fitted scikit-learn classifier whose
        ``predict`` accepts 3-D spike arrays with fewer time bins than in ``fit`` (e.g.
        :class:`motorsrnn.PoissonNaiveBayes`, or
        ``make_pipeline(SpikeCountTransformer(), LogisticRegression())``), evaluated on each prefix
        ``X[:, :t + 1]``. Regressors (e.g. :class:`motorsrnn.SpikingRNNRegressor`) and
        transformers are rejected.
    X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels), or binned data
        Spike counts, validated like the estimators do
        (:func:`motorsrnn.estimators.check_spikes`); or the result of
        :func:`motorsrnn.io.bin_spike_times` (``from_nwb``, ...): its ``X``, with its bin width as
        ``dt``.
    y : array-like of shape (n_trials,)
        True labels, 1-D (a column vector of shape (n_trials, 1) is rejected, not flattened).
    times : array-like of float, optional
        Prefix end times in ms at which to evaluate, each a multiple of ``dt`` in
        ``[dt, n_timesteps * dt]`` (the prefix ending at step ``t`` ends at ``(t + 1) * dt``).
        Returned sorted and without duplicates. Cannot be combined with ``step``.
    step : int, default=1
        Evaluate the prefixes of ``step``, ``2 * step``, ... bins; the full window is always
        included. For spiking estimators every step is computed in the same single pass anyway and
        ``step`` only selects which are returned; for other estimators it sets how many prefixes
        are scored.
    dt : float or None, default=None
        Width of the time bins of ``X`` in ms. None: the bin width of a motorsrnn estimator's
        fitted network (its ``dt`` at ``fit``; ``set_params(dt=...)`` after ``fit`` does not
        change the network), else the estimator's ``dt`` when it has one, else 1 ms. Give it for
        count decoders fitted on other bins (e.g. ``dt=10`` for 10 ms bins); for an estimator
        with its own ``dt`` it must agree.

    Returns
    -------
    sklearn.utils.Bunch
        ``times`` (n_times,) float: end of each prefix in ms from the start of the window,
        ``(t + 1) * dt``; ``event_times`` (n_times,) float or None: for binned data, the same
        ends in ms relative to the event it was binned around (``times`` plus the window's start,
        e.g. -100 + ``times`` for ``window=(-100, 400)``), None for arrays;
        ``accuracy`` (n_times,) float: share of trials whose predicted class on the prefix is
        ``y``; ``n_timesteps`` int: bins in the full window; ``prefix_lengths`` (n_times,) int:
        bins in each prefix; ``dt`` float; ``method``: ``"decision_path"`` or ``"prefix"``;
        ``chance`` float: the accuracy of always predicting the most frequent label of ``y``
        (``1 / n_classes`` for balanced classes), the level a decoder must beat.

    Raises
    ------
    TypeError
        If ``estimator`` is not a classifier (``sklearn.base.is_classifier`` is False, e.g. a
        regressor or a transformer), has no ``classes_`` once fitted, or has no ``predict`` (and no
        usable ``decision_path``), or ``times`` / ``step`` have the wrong type.
    ValueError
        For invalid ``X`` (see ``check_spikes``), ``y`` not 1-D or not one label per trial,
        ``times`` outside the window or not multiples of ``dt``, ``step < 1``, or both ``times``
        and ``step`` given.
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.

    Notes
    -----
    The estimator is used as trained: a decoder fitted on whole windows is evaluated on shorter
    windows, without refitting. This is what "early classification" of a trained decoder means:
    how soon after the window opens its decision becomes reliable. Count-based decoders then see
    smaller counts than in training (a Poisson naive Bayes, say, still compares them with the
    whole-window rates), so their early accuracy is that of the trained model, not of a model
    trained on short windows.

    For a spiking estimator the accuracy after step ``t`` is
    ``mean(classes_[argmax(decision_path(X)[:, t])] == y)``: the logits after step ``t`` are the
    running mean (``readout="mean"``), running max or current value of the readout up to ``t``, and
    those of the last step are the window logits, so the last entry equals
    ``estimator.score(X, y)``. For other estimators it is
    ``mean(estimator.predict(X[:, :t + 1]) == y)``.

    ``dt`` only labels the time axis: ``times`` are ``dt`` times the prefix lengths in bins.

    Examples
    --------
    >>> from motorsrnn import PoissonNaiveBayes
    >>> from motorsrnn.analysis import early_classification
    >>> from motorsrnn.datasets import make_center_out
    >>> data = make_center_out(n_trials=200, random_state=0)
    >>> nb = PoissonNaiveBayes().fit(data.X, data.y)
    >>> curve = early_classification(nb, data.X, data.y, step=10)
    >>> curve.times
    array([10., 20., 30., 40., 50.])
    >>> curve.accuracy.shape
    (5,)
    """
    if not _is_classifier(estimator):
        raise TypeError(
            "estimator must be a fitted classifier (sklearn.base.is_classifier) with classes_ and predict "
            f"(or a motorsrnn decision_path), got {type(estimator).__name__}: early classification "
            "reports accuracies"
        )
    check_is_fitted(estimator)
    if getattr(estimator, "classes_", None) is None:
        raise TypeError(
            f"estimator must be a fitted classifier with classes_, but the fitted {type(estimator).__name__} "
            "has no classes_"
        )
    window_start = None  # for binned data: the window's start relative to the event, in ms
    parts = _binned_parts(X)
    if parts is not None:  # its X, and its bin width as dt (another dt is refused)
        window_start = float(parts[2][0]) if len(parts[2]) else None
        X, _, dt, _ = _resolve_binned(X, None, dt)
    Xc = check_spikes(X)
    if np.ndim(y) != 1:
        raise ValueError(f"y must be 1-D (one label per trial), got an array of shape {np.shape(y)}")
    y = check_labels(y)
    n_trials, n_timesteps, _ = Xc.shape
    if len(y) != n_trials:
        raise ValueError(f"X has {n_trials} trials but y has {len(y)} labels")
    unseen = labels_not_in(estimator.classes_, y)
    if unseen:
        message = (f"y contains labels the estimator never saw in fit: {unseen[:5]} (its classes_: "
                   f"{np.asarray(estimator.classes_).tolist()[:10]})")
        if len(unseen) == len(set(y.tolist())):  # e.g. str labels for a model fitted on ints
            raise ValueError(message + "; no trial can be classified correctly")
        warnings.warn(message + "; their trials count as errors", UserWarning, stacklevel=user_stacklevel())
    own = _estimator_dt(estimator)
    dt = (1.0 if own is None else own) if dt is None else check_number(dt, "dt (ms)", low=0.0, strict_low=True)
    if own is not None and not np.isclose(own, dt):
        raise ValueError(f"dt={dt:g} ms differs from the estimator's own dt ({own:g} ms), the width of its bins")
    lengths = _prefix_lengths(n_timesteps, dt, times, step)

    path = _spiking_path(estimator, Xc)
    if path is not None:
        classes = np.asarray(estimator.classes_)
        pred = classes[np.argmax(path[:, lengths - 1, :], axis=2)]  # (n_trials, n_times)
        accuracy = np.mean(pred == y[:, None], axis=0)
        method = "decision_path"
    else:
        if not callable(getattr(estimator, "predict", None)):
            raise TypeError(
                f"estimator must be a fitted classifier with predict (or a motorsrnn decision_path), "
                f"got {type(estimator).__name__}"
            )
        accuracy = np.empty(len(lengths))
        # a decoder of summed counts gets each prefix's counts as one bin, kept as a running sum:
        # re-summing every prefix costs n_prefixes x the window (quadratic in its length)
        running = np.zeros((n_trials, 1, Xc.shape[2])) if _counts_only(estimator) else None
        done = 0
        for i, n in enumerate(lengths):
            if running is not None:
                running[:, 0] += Xc[:, done:n].sum(axis=1, dtype=np.float64)
                done = n
            try:
                pred = estimator.predict(Xc[:, :n] if running is None else running)
            except ValueError as err:
                raise ValueError(
                    f"early_classification scores {type(estimator).__name__} on prefixes of the window, "
                    f"3-D arrays of shape (n_trials, {n}, n_channels), and its predict refused them. "
                    "It needs an estimator whose predict takes 3-D spike arrays with fewer bins than in "
                    "fit, e.g. make_pipeline(SpikeCountTransformer(), LogisticRegression()) instead of "
                    f"a classifier fitted on 2-D counts. {type(err).__name__}: {err}"
                ) from err
            accuracy[i] = np.mean(np.asarray(pred) == y)
        method = "prefix"
    _, label_counts = np.unique(y, return_counts=True)
    times = lengths.astype(np.float64) * dt
    return Bunch(
        times=times,
        event_times=None if window_start is None else window_start + times,
        accuracy=np.asarray(accuracy, dtype=np.float64),
        n_timesteps=int(n_timesteps),
        prefix_lengths=lengths,
        dt=dt,
        method=method,
        chance=float(label_counts.max() / len(y)),
    )


def _counts_only(estimator) -> bool:
    """Whether ``estimator.predict`` sees ``X`` only through its counts summed over time (exactly
    these classes, not subclasses): then a prefix and its summed counts as one bin predict alike."""
    from sklearn.pipeline import Pipeline

    from .baselines import PoissonNaiveBayes, SpikeCountTransformer

    if type(estimator) is PoissonNaiveBayes:
        return True
    return type(estimator) is Pipeline and bool(estimator.steps) and type(estimator.steps[0][1]) is SpikeCountTransformer


# ---------------------------------------------------------------------------------------------
# Energy
# ---------------------------------------------------------------------------------------------
def energy(
    estimator,
    X,
    *,
    e_ac=0.9e-12,
    e_mac=4.6e-12,
    rnn_hidden=None,
    include_neuron_updates=True,
    memory=False,
    e_mem=None,
) -> Bunch:
    """Operations and energy per sample of a fitted spiking network, beside non-spiking networks.

    Counts the synaptic accumulate operations (SOPs) that the spiking network's events cause on
    ``X``, as an event-driven machine that stores only the existing connections would perform
    them, and compares its energy with a dense non-spiking network of the same shape and with a
    GRU and an LSTM on the same inputs and outputs, using per-operation energies of 45 nm CMOS
    (Horowitz 2014). This is the theoretical energy of SNN papers, not that of this package's CPU
    implementation (see Notes).

    Parameters
    ----------
    estimator : fitted motorsrnn spiking estimator
        Needs ``simulate(X, membrane=False)``, ``get_weights()`` and ``network_`` (with
        ``projections()``, ``populations()`` and ``masks()``), e.g.
        :class:`motorsrnn.SpikingRNNClassifier`.
    X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)
        Spike counts the network is run on.
    e_ac : float, default=0.9e-12
        Energy of one accumulate (32-bit float add, 0.9 pJ at 45 nm), in joules.
    e_mac : float, default=4.6e-12
        Energy of one multiply-accumulate (32-bit float multiply 3.7 pJ + add 0.9 pJ), in joules.
    rnn_hidden : int, optional
        Hidden units ``H`` of the GRU and LSTM compared with; default: the total number of LIF
        neurons of the spiking network.
    include_neuron_updates : bool, default=True
        Charge the spiking network for the state updates of its neurons (see Notes). With
        ``False`` only synaptic operations are counted, as in most SNN energy comparisons.
    memory : bool, default=False
        Add the energy of reading one 32-bit word from SRAM per counted operation (see Notes).
    e_mem : float, optional
        Energy of one 32-bit SRAM read in joules; default 5e-12 when ``memory=True``. Giving it
        with ``memory=False`` raises ``ValueError``.

    Returns
    -------
    sklearn.utils.Bunch
        All counts and energies are averages per sample (per trial of ``X``); energies in joules.

        - ``sop``: synaptic accumulate operations of the spiking network;
        - ``sop_by_projection``: dict projection key -> its share of ``sop``;
        - ``input_events``: input events (summed integer counts) per sample;
        - ``input_mac``: multiply-accumulates for non-integer input values (0 for counts);
        - ``spikes``: dict population name -> spikes per sample;
        - ``neuron_mac``: neuron state-update MACs (in ``snn_energy`` only when
          ``include_neuron_updates``);
        - ``snn_energy``;
        - ``dense_mac``, ``dense_energy``: dense non-spiking network of the same shape;
        - ``gru_mac``, ``gru_energy``, ``lstm_mac``, ``lstm_energy``;
        - ``ratio_dense``, ``ratio_gru``, ``ratio_lstm``: the other network's energy divided by
          ``snn_energy``. When ``snn_energy`` is 0 (with ``include_neuron_updates=False``, no
          input events and no spikes, or ``e_ac = 0``; or every per-op energy 0): ``inf`` if the
          other network's energy is positive, ``nan`` if it is 0 as well (0 / 0: with
          ``e_ac = e_mac = 0`` and no ``memory`` no network spends anything, so no ratio is
          defined);
        - ``n_trials``, ``n_timesteps``, ``n_channels``, ``n_hidden`` (LIF neurons),
          ``n_outputs`` (readout units), ``rnn_hidden``, ``e_ac``, ``e_mac``, ``e_mem`` (0.0
          without ``memory``), ``include_neuron_updates``.

    Raises
    ------
    TypeError
        If ``estimator`` is not a motorsrnn spiking estimator, or an option has the wrong type.
    ValueError
        For invalid ``X`` or a wrong number of channels, negative or non-finite energies,
        ``rnn_hidden < 1``, or ``e_mem`` given without ``memory=True``.
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.

    Notes
    -----
    **Spiking network.** An event-driven machine adds one weight column to the targets of each
    event. So

    - every input event (a count ``k`` of channel ``c`` in a bin counts as ``k`` events) costs one
      AC per target unit of every projection from ``"input"``; a non-integer input value (float
      ``X``) is not a number of events and costs one MAC per target unit instead (``input_mac``);
    - every spike of population ``q`` costs one AC per target unit of every projection whose
      source is ``q``, including projections to the readout;
    - sparse (masked) projections count only the existing connections of the source unit
      (``network_.masks()``). A connection is counted by its mask, not by its weight: a weight
      that training left at exactly zero (e.g. clipped there by ``sign`` constraints) still costs
      its AC, as it would on hardware that stores the network's connectivity as given;
    - recurrent and feedback projections read the previous step's spikes, so spikes of the last
      step of the window are never delivered through them and are not counted.

    Implemented as spike (event) counts per source unit, summed over trials and time, times each
    unit's fan-out, divided by the number of trials.

    This package's CPU core is event driven too, but it stores every projection as a dense matrix:
    an event adds the whole weight column, masked zeros included, and a count ``k`` is one
    multiply-add. So on masked projections it performs more additions than ``sop`` counts; ``sop``
    is what a neuromorphic or sparse implementation of the same network would need, which is what
    the energy comparisons of the SNN literature count.

    With ``include_neuron_updates`` every LIF neuron costs 2 MACs per step (``alpha I + a`` and
    ``beta U + I``; the bias, the reset and the threshold comparison are neglected) and every
    readout unit 1 MAC per step (``beta_o O + ...``): ``neuron_mac = n_timesteps * (2 n_hidden +
    n_outputs)``. The non-spiking networks are *not* charged for their activation functions and
    biases, so with this option the ratios are conservative (they favour the non-spiking networks).

    ``snn_energy = sop * e_ac + (input_mac + neuron_mac) * e_mac`` (``neuron_mac`` only with
    ``include_neuron_updates``). At the sizes of the examples (50 steps, 64-128 neurons) the
    neuron updates are most of ``snn_energy`` and bound the ratios: with ``H`` LIF neurons the
    GRU ratio cannot exceed ``gru_mac / neuron_mac``. Compare with ``include_neuron_updates=False``
    to see the synaptic operations alone.

    **Dense network of the same shape** (same projections, dense, real-valued activations, no
    masks): ``dense_mac = n_timesteps * sum over projections of n_source * n_target``;
    ``dense_energy = dense_mac * e_mac``.

    **GRU and LSTM** with ``H = rnn_hidden`` units, ``C`` input channels and ``K`` outputs (a linear
    readout every step), per step::

        GRU:  3 (H C + H H) + H K   MACs
        LSTM: 4 (H C + H H) + H K   MACs

    times ``n_timesteps``; biases, gate nonlinearities and element-wise products are neglected.
    ``gru_energy = gru_mac * e_mac``, likewise for the LSTM.

    **Memory** (``memory=True``): every counted operation (AC or MAC, including the input MACs
    and the neuron updates when they are counted) reads one 32-bit word (its weight, or a
    state/decay constant) from SRAM at ``e_mem`` joules; ``n_ops * e_mem`` is added to each energy. The default
    ``e_mem = 5 pJ`` is half of the 10 pJ Horowitz gives for a 64-bit read of an 8 KB SRAM at
    45 nm (larger memories cost more: 20 pJ for 32 KB, 100 pJ for 1 MB per 64 bits). Activity
    dependent state reads/writes and off-chip DRAM are not modelled.

    Reference: M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
    pp. 10-14 (45 nm: 32-bit float add 0.9 pJ, multiply 3.7 pJ).

    Examples
    --------
    >>> from motorsrnn import SpikingRNNClassifier
    >>> from motorsrnn.analysis import energy
    >>> from motorsrnn.datasets import make_center_out
    >>> data = make_center_out(n_trials=200, random_state=0)
    >>> clf = SpikingRNNClassifier(n_hidden=64, max_epochs=2, random_state=0).fit(data.X, data.y)
    >>> e = energy(clf, data.X)
    >>> bool(e.ratio_gru > 1)
    True
    """
    if not (callable(getattr(estimator, "simulate", None)) and callable(getattr(estimator, "get_weights", None))):
        raise TypeError(
            "energy needs a motorsrnn spiking estimator (with simulate, get_weights and network_), "
            f"got {type(estimator).__name__}"
        )
    check_is_fitted(estimator, "network_")
    e_ac = check_number(e_ac, "e_ac", low=0)
    e_mac = check_number(e_mac, "e_mac", low=0)
    include_neuron_updates = check_bool(include_neuron_updates, "include_neuron_updates")
    memory = check_bool(memory, "memory")
    if e_mem is not None and not memory:
        raise ValueError("e_mem is only used with memory=True; pass memory=True or leave e_mem=None")
    e_mem = (check_number(e_mem, "e_mem", low=0) if e_mem is not None else 5e-12) if memory else 0.0

    Xc = check_spikes(X)
    n_trials, n_timesteps, n_channels = Xc.shape
    n_in = getattr(estimator, "n_features_in_", None)
    if n_in is not None and n_channels != n_in:
        raise ValueError(
            f"X has {n_channels} channels, but {type(estimator).__name__} is expecting {n_in} "
            "(channels seen in fit, n_features_in_)"
        )

    network = estimator.network_
    pop_sizes = {name: int(size) for name, size in network.populations()}
    projections = network.projections()
    masks = network.masks()
    weights = estimator.get_weights()
    n_hidden = int(sum(pop_sizes.values()))
    n_outputs = 0
    for key, _source, target, _kind, _trainable in projections:
        if target == "readout":
            n_outputs = int(np.shape(weights[key])[0])
    if rnn_hidden is None:
        rnn_hidden = n_hidden
    rnn_hidden = check_number(rnn_hidden, "rnn_hidden", integer=True, low=1, high=2**53)  # exact as a float

    # Events per source unit over all trials: all steps, and all but the last (for delayed reads).
    # An integer count k is k events (k accumulates); a non-integer value needs one multiply per
    # target instead, so those entries are counted apart, as input_mac.
    if Xc.dtype.kind == "f":
        fractional = Xc != np.floor(Xc)
        Xi = np.where(fractional, 0.0, Xc)
        frac_entries = fractional.sum(axis=(0, 1), dtype=np.float64)
        frac_entries_but_last = frac_entries - fractional[:, -1, :].sum(axis=0, dtype=np.float64)
    else:
        Xi = Xc
        frac_entries = frac_entries_but_last = np.zeros(n_channels)
    counts_all = {"input": Xi.sum(axis=(0, 1), dtype=np.float64)}
    counts_but_last = {"input": counts_all["input"] - Xi[:, -1, :].sum(axis=0, dtype=np.float64)}
    for name in pop_sizes:
        counts_all[name] = np.zeros(pop_sizes[name])
        counts_but_last[name] = np.zeros(pop_sizes[name])
    def chunk_counts(sim):  # each population's spike counts over all steps and all but the last
        return {name: (np.asarray(pop.spikes).sum(axis=(0, 1), dtype=np.float64),
                       np.asarray(pop.spikes)[:, :-1, :].sum(axis=(0, 1), dtype=np.float64))
                for name, pop in sim.populations.items()}

    for part in _simulations_in_chunks(estimator, Xc, chunk_counts):  # no dense spikes of all of X
        for name, (all_steps, but_last) in part.items():
            counts_all[name] += all_steps
            counts_but_last[name] += but_last

    sop_by_projection = {}
    input_mac = 0.0
    dense_per_step = 0
    for key, source, _target, kind, _trainable in projections:
        n_target, n_source = np.shape(weights[key])
        dense_per_step += n_source * n_target
        if key in masks:
            fan_out = np.asarray(masks[key], dtype=np.float64).sum(axis=0)  # per source unit
        else:
            fan_out = np.full(n_source, float(n_target))
        delayed = kind in _DELAYED_KINDS
        counts = counts_but_last[source] if delayed else counts_all[source]
        sop_by_projection[key] = float(counts @ fan_out) / n_trials
        if source == "input":
            input_mac += float((frac_entries_but_last if delayed else frac_entries) @ fan_out) / n_trials
    sop = float(sum(sop_by_projection.values()))

    neuron_mac = float(n_timesteps * (2 * n_hidden + n_outputs))
    snn_mac = input_mac + (neuron_mac if include_neuron_updates else 0.0)
    snn_energy = sop * e_ac + snn_mac * e_mac + (sop + snn_mac) * e_mem

    H, C, K = rnn_hidden, n_channels, n_outputs
    dense_mac = float(n_timesteps * dense_per_step)
    gru_mac = float(n_timesteps * (3 * (H * C + H * H) + H * K))
    lstm_mac = float(n_timesteps * (4 * (H * C + H * H) + H * K))
    per_mac = e_mac + e_mem
    dense_energy, gru_energy, lstm_energy = dense_mac * per_mac, gru_mac * per_mac, lstm_mac * per_mac

    def ratio(other):
        if snn_energy > 0:
            return other / snn_energy
        return np.inf if other > 0 else np.nan

    return Bunch(
        sop=sop,
        sop_by_projection=sop_by_projection,
        input_events=float(counts_all["input"].sum()) / n_trials,
        input_mac=input_mac,
        spikes={name: float(c.sum()) / n_trials for name, c in counts_all.items() if name != "input"},
        neuron_mac=neuron_mac,
        snn_energy=snn_energy,
        dense_mac=dense_mac,
        dense_energy=dense_energy,
        gru_mac=gru_mac,
        gru_energy=gru_energy,
        lstm_mac=lstm_mac,
        lstm_energy=lstm_energy,
        ratio_dense=ratio(dense_energy),
        ratio_gru=ratio(gru_energy),
        ratio_lstm=ratio(lstm_energy),
        n_trials=int(n_trials),
        n_timesteps=int(n_timesteps),
        n_channels=int(n_channels),
        n_hidden=n_hidden,
        n_outputs=n_outputs,
        rnn_hidden=rnn_hidden,
        e_ac=e_ac,
        e_mac=e_mac,
        e_mem=e_mem,
        include_neuron_updates=include_neuron_updates,
    )


# ---------------------------------------------------------------------------------------------
# Noise
# ---------------------------------------------------------------------------------------------
_MODES = ("spikes", "channels")


def _integer_result_dtype(in_dtype, max_value):
    """dtype of the noisy counts of integer input (uint8 handled by the caller): ``in_dtype`` when
    ``max_value`` fits, else the smallest wider integer dtype of the same signedness that holds it."""
    if max_value <= np.iinfo(in_dtype).max:
        return in_dtype
    for size in (2, 4):
        dtype = np.dtype(f"{in_dtype.kind}{size}")
        if size > in_dtype.itemsize and max_value <= np.iinfo(dtype).max:
            return dtype
    return np.dtype(f"{in_dtype.kind}8")


def add_poisson_noise(X, rate, *, mode="spikes", n_channels=None, dt=1.0, random_state=None) -> np.ndarray:
    """Add Poisson noise spikes to spike-count arrays, to test decoders' robustness.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)
        Spike counts per bin, validated like the estimators do
        (:func:`motorsrnn.estimators.check_spikes`). A 2-D array is one bin per trial.
    rate : float
        Firing rate of the noise in Hz (spikes per second), ``>= 0``.
    mode : {"spikes", "channels"}, default="spikes"
        ``"spikes"``: add independent Poisson counts of mean ``rate * dt / 1000`` to every bin of
        every existing channel. ``"channels"``: keep ``X`` and append ``n_channels`` new channels
        of pure Poisson noise at ``rate`` (unrelated "neighbour" neurons picked up by the
        electrodes).
    n_channels : int, optional
        Number of noise channels to append; required with ``mode="channels"``, not allowed with
        ``mode="spikes"``.
    dt : float, default=1.0
        Bin width of ``X`` in ms (use the estimator's ``dt``).
    random_state : int, RandomState instance or None, default=None
        Seed of the noise (``sklearn.utils.check_random_state``; a ``numpy.random.Generator`` seeds
        it too): the same int gives the same noise.

    Returns
    -------
    numpy.ndarray
        A new array (``X`` is not modified) of the shape of ``X`` (``"spikes"``) or with
        ``n_channels`` more channels (``"channels"``; last axis). A 2-D input gives a 2-D output.
        dtype: ``uint8`` for ``bool`` and ``uint8`` input (counts clipped at 255, with a
        ``RuntimeWarning`` if any were); other integer input keeps its dtype when every noisy count
        fits in it, otherwise it is widened to the smallest integer dtype of the same signedness
        that holds them (e.g. ``int8`` to ``int16``, ``uint16`` to ``uint32``; never float); float
        input keeps ``float32``/``float64`` (other floats and object arrays give ``float64``).

    Raises
    ------
    TypeError
        If ``rate``, ``dt`` or ``n_channels`` have the wrong type, or ``X`` is sparse.
    ValueError
        For invalid ``X`` (see ``check_spikes``), ``rate < 0``, ``rate * dt / 1000`` above a
        million spikes per bin, ``dt <= 0``, an unknown ``mode``,
        ``n_channels`` missing or ``< 1`` with ``mode="channels"``, or given with
        ``mode="spikes"``.

    Notes
    -----
    The noise counts of different bins, channels and trials are independent Poisson variables of
    mean ``rate * dt / 1000``; in ``"spikes"`` mode they are added to the recorded counts (the sum
    of two independent Poisson processes is Poisson at the summed rate).

    A decoder has a fixed number of input channels: with ``mode="channels"`` the estimator must be
    fitted on the widened array (e.g. add noise channels to the training and the test set, with
    different seeds), otherwise ``predict`` raises because of the channel count.

    Examples
    --------
    >>> import numpy as np
    >>> from motorsrnn.analysis import add_poisson_noise
    >>> X = np.zeros((10, 50, 4), dtype=np.uint8)
    >>> add_poisson_noise(X, 20.0, random_state=0).shape
    (10, 50, 4)
    >>> add_poisson_noise(X, 20.0, mode="channels", n_channels=3, random_state=0).shape
    (10, 50, 7)
    """
    rate = check_number(rate, "rate", low=0)
    dt = check_number(dt, "dt", low=0, strict_low=True)
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    if mode == "channels":
        if n_channels is None:
            raise ValueError('n_channels is required with mode="channels" (number of noise channels to append)')
        n_channels = check_number(n_channels, "n_channels", integer=True, low=1)
    elif n_channels is not None:
        raise ValueError(
            f'n_channels is only used with mode="channels", got n_channels={n_channels!r} with mode="spikes"'
        )

    Xc = check_spikes(X)
    in_dtype = np.asarray(X).dtype  # the input's own dtype (check_spikes narrows small ints to uint8)
    was_2d = np.ndim(X) == 2
    if in_dtype.kind in "ui" and Xc.dtype.kind == "f":
        # check_spikes turns integer counts above 255 into floats: add the noise to the integers
        Xc = np.asarray(X).reshape(Xc.shape)
        if Xc.size and Xc.max() > 2**62:  # the noisy counts are summed in int64, which must not overflow
            raise ValueError(
                f"X has counts up to {int(Xc.max())} spikes per bin, too many to add noise to in 64-bit integers: "
                "X should hold spike counts per bin"
            )
    lam = rate * dt / 1000.0
    if lam > MAX_SPIKES_PER_BIN:
        raise ValueError(
            f"rate={rate:g} Hz with dt={dt:g} ms gives {lam:g} noise spikes per bin on average, more than "
            f"{MAX_SPIKES_PER_BIN:g}: rate is in Hz (spikes per second) and dt in ms"
        )
    rng = check_seed(random_state)

    # Drawn and added a chunk of trials at a time, into the result's dtype where it is known (one
    # int64 noise array of all of X took 16 times X's memory); the draws are those of one call,
    # since RandomState draws in C order. Float input keeps its dtype, uint8 and bool give uint8
    # (clipped at 255), other integers are summed in int64 and narrowed to what the counts need.
    floating = Xc.dtype.kind == "f"
    to_uint8 = in_dtype == np.uint8 or in_dtype.kind == "b"
    extra = Xc.shape[2] if mode == "spikes" else n_channels
    width = Xc.shape[2] + (0 if mode == "spikes" else n_channels)
    out = np.empty((*Xc.shape[:2], width), dtype=Xc.dtype if floating else np.uint8 if to_uint8 else np.int64)
    chunk = max(1, _NOISE_CHUNK_BYTES // max(1, Xc.shape[1] * width))
    clipped = False
    for start in range(0, Xc.shape[0], chunk):
        part = Xc[start:start + chunk] if floating else Xc[start:start + chunk].astype(np.int64)
        noise = rng.poisson(lam, size=(*part.shape[:2], extra)).astype(part.dtype)
        noisy = part + noise if mode == "spikes" else np.concatenate([part, noise], axis=2)
        if to_uint8 and noisy.size and noisy.max() > 255:
            clipped = True
            np.minimum(noisy, 255, out=noisy)
        out[start:start + chunk] = noisy
    if clipped:
        warnings.warn(
            "noisy counts above 255 were clipped to 255 to keep the uint8 dtype of X; pass a "
            "wider integer or float array to keep them",
            RuntimeWarning,
            stacklevel=2,
        )
    if not (floating or to_uint8):
        out = out.astype(_integer_result_dtype(in_dtype, int(out.max()) if out.size else 0))
    return out[:, 0, :] if was_2d and out.shape[1] == 1 else out


# ---------------------------------------------------------------------------------------------
# Population level: trajectories and their similarity
# ---------------------------------------------------------------------------------------------
def _gaussian_smooth(x, sigma_bins, axis):
    """Gaussian smoothing along ``axis`` (lags up to ``ceil(4 sigma)`` bins, as the activity
    matching's Gaussian kernel; edges renormalised)."""
    if sigma_bins <= 0:
        return x
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    # lags of n bins or more never reach another bin of the trial: a wider kernel changes nothing
    # (the edges are renormalised) and would only cost memory
    half = min(int(np.ceil(min(4.0 * sigma_bins, n))), max(n - 1, 0))  # >= 1 when n > 1 (sigma_bins > 0)
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma_bins) ** 2)
    ones = np.ones(n)
    norm = np.convolve(ones, k, mode="full")[half : half + n]
    flat = x.reshape(-1, n)
    out = np.array([np.convolve(row, k, mode="full")[half : half + n] for row in flat]) / norm
    return np.moveaxis(out.reshape(x.shape), -1, axis)


def _pca(data2d, n_components):
    """Centred PCA by SVD: (scores, components, explained_variance_ratio, mean); signs fixed so
    that each component's largest-magnitude loading is positive."""
    mean = data2d.mean(axis=0)
    centred = data2d - mean
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    big = np.argmax(np.abs(vt), axis=1)
    signs = np.sign(vt[np.arange(vt.shape[0]), big])
    signs[signs == 0] = 1.0
    vt *= signs[:, None]
    u *= signs[None, :]
    var = s**2
    total = var.sum()
    ratio = var / total if total > 0 else np.zeros_like(var)
    k = n_components
    return (u[:, :k] * s[:k]), vt[:k], ratio[:k], mean


_ACTIVITY_UNITS = ("counts", "hz")


def trajectories(activity, directions, *, n_components=3, smoothing_ms=None, dt=None, units="counts") -> Bunch:
    """Trial-averaged population trajectories per condition in the top principal components.

    The activity of each unit is averaged over the trials of each condition (reach direction),
    optionally smoothed in time with a Gaussian kernel, and the condition-averaged activity of all
    conditions and time bins is reduced by PCA (centred on the grand mean, no scaling): the
    population's trajectory for a direction is the path of its projection on the top components.

    Parameters
    ----------
    activity : array-like of shape (n_trials, n_timesteps, n_units), or a result with a time axis
        Finite, in the unit set by ``units``: spike counts per bin (recorded ``X`` or
        ``estimator.simulate(X).spikes``) or rates in Hz (e.g.
        ``make_reaching_dynamics(...).rates``). Also a result with a time axis, which then
        gives ``dt`` and ``times``, as :func:`motorsrnn.plotting.raster` reads it: its
        ``spikes`` when it has them (a ``simulate()`` result; ``make_reaching_dynamics``'s
        teacher population), else its ``X`` (a :func:`motorsrnn.io.bin_spike_times` /
        ``from_nwb`` result, ``make_center_out``).
    directions : array-like of shape (n_trials,)
        Condition of each trial (class labels or angles; any hashable, sortable values).
    n_components : int, default=3
        Principal components kept, at most ``min(n_conditions * n_timesteps - 1, n_units)`` (the
        condition averages are centred on their grand mean, which removes one dimension).
    smoothing_ms : float or None, default=None
        Standard deviation of the Gaussian smoothing kernel in ms (applied to the condition
        averages; lags up to ``ceil(4 sigma / dt)`` bins, the kernel of the activity matching;
        edges renormalised); None or 0: no smoothing.
    dt : float or None, default=None
        Bin width in ms. None: that of a result with a time axis (a different ``dt`` is
        refused), else 1 ms; counts of an array whose mean rate at 1 ms exceeds 100 Hz with
        bins of two spikes or more then warn (the bins are probably wider).
    units : {"counts", "hz"}, default="counts"
        Unit of ``activity``. ``"counts"``: counts per bin of ``dt`` ms (non-integer values,
        e.g. expected counts, are fine), converted to rates in Hz (``count / (dt / 1000)``).
        ``"hz"``: rates already in Hz, used as given.

    Returns
    -------
    sklearn.utils.Bunch
        - ``trajectories``: (n_conditions, n_timesteps, n_components) projections;
        - ``explained_variance_ratio``: (n_components,) share of the condition-averaged variance;
        - ``components``: (n_components, n_units) unit loadings (unit-norm rows, each with its
          largest loading positive);
        - ``mean``: (n_units,) grand mean rate subtracted before projecting;
        - ``condition_means``: (n_conditions, n_timesteps, n_units) smoothed averages in Hz
          (the input of :func:`similarity`);
        - ``conditions``: (n_conditions,) the sorted distinct conditions;
        - ``n_trials``: (n_conditions,) trials per condition;
        - ``times``: (n_timesteps,) bin start times in ms (from 0 for an array; a result's
          own times, e.g. relative to the event for binned data); ``dt``;
        - ``units``: ``"hz"``, the unit of ``condition_means``, ``mean`` and ``trajectories``
          (as a tuning result's ``units`` names the unit of its rates); ``input_units``: the
          ``units`` given, the unit of ``activity``.

    Raises
    ------
    ValueError
        For activity that is not 3-D or not finite, a wrong number of directions, fewer than 2
        conditions, ``n_components`` out of range, negative ``smoothing_ms``, or an unknown
        ``units``.

    Examples
    --------
    >>> from motorsrnn.analysis import trajectories
    >>> from motorsrnn.datasets import make_center_out
    >>> data = make_center_out(n_trials=200, random_state=0)
    >>> traj = trajectories(data.X, data.y, n_components=3, smoothing_ms=5.0)
    >>> traj.trajectories.shape
    (4, 50, 3)
    """
    from sklearn.utils import check_array

    trials = _trial_array(activity)
    default_dt = dt is None and trials is activity  # an array, and no dt given: 1 ms bins
    dt, t0 = _time_axis(activity, dt, None)  # a result's own bin width and start, or dt (1 ms by default) and 0
    activity = trials
    n_components = check_number(n_components, "n_components", integer=True, low=1)
    sigma = 0.0 if smoothing_ms is None else check_number(smoothing_ms, "smoothing_ms", low=0)
    if not isinstance(units, str) or units not in _ACTIVITY_UNITS:
        raise ValueError(
            f"units must be 'counts' (spike counts per bin of dt ms) or 'hz' (rates in Hz), got {units!r}"
        )
    # in its own dtype: a float64 copy of a network's spikes (uint8) would take 8 times their memory
    a = check_array(activity, dtype="numeric", allow_nd=True, ensure_all_finite=True, input_name="activity",
                    ensure_2d=False)
    if a.ndim != 3 or 0 in a.shape:
        raise ValueError(
            f"activity must be 3-D (n_trials, n_timesteps, n_units) with at least one of each, got an array of "
            f"shape {a.shape}"
        )
    if units == "counts" and a.dtype.kind in "if" and a.min() < 0:  # unsigned and bool cannot be negative
        raise ValueError("activity holds negative values: spike counts (units='counts') cannot be negative")
    if units == "counts" and default_dt:  # counts of wider bins read as 1 ms bins: rates 10 x too high
        _warn_if_wide_bins(a, float(a.mean(dtype=np.float64)) * 1000.0 / dt)
    d = np.asarray(directions)
    if d.ndim != 1 or d.shape[0] != a.shape[0]:
        raise ValueError(
            f"directions must be 1-D with one condition per trial ({a.shape[0]}), got shape {d.shape}"
        )
    conditions, inverse, counts = unique_labels(d, "directions", return_inverse=True, return_counts=True)
    if conditions.size < 2:
        raise ValueError(f"directions contain {conditions.size} condition(s); trajectories need at least 2")
    n_cond, n_t, n_units = conditions.size, a.shape[1], a.shape[2]
    max_k = min(n_cond * n_t - 1, n_units)  # centred on the grand mean: one dimension fewer than points
    if n_components > max_k:
        raise ValueError(
            f"n_components must be <= min(n_conditions * n_timesteps - 1, n_units) = {max_k}, got {n_components}"
        )
    means = np.empty((n_cond, n_t, n_units))
    for c in range(n_cond):  # sums in float64 (exact for counts), one condition's trials at a time
        means[c] = a[inverse == c].sum(axis=0, dtype=np.float64) / counts[c]
    if units == "counts":
        means = means * (1000.0 / dt)
    means = _gaussian_smooth(means, sigma / dt, axis=1)
    scores, comps, ratio, mean = _pca(means.reshape(-1, n_units), n_components)
    return Bunch(
        trajectories=scores.reshape(n_cond, n_t, n_components),
        explained_variance_ratio=ratio,
        components=comps,
        mean=mean,
        condition_means=means,
        conditions=conditions,
        n_trials=counts,
        times=t0 + np.arange(n_t) * dt,
        dt=dt,
        units="hz",
        input_units=units,
    )


def _as_samples(x, name):
    from sklearn.utils import check_array

    if x is None:
        raise ValueError(f"{name} is None: pass condition-averaged activity (n_conditions, n_timesteps, n_units)")
    if not isinstance(x, np.ndarray) and hasattr(x, "condition_means"):
        x = x.condition_means  # a trajectories() result: its condition averages
    arr = check_array(x, dtype=np.float64, allow_nd=True, ensure_all_finite=True, input_name=name, ensure_2d=False)
    if arr.ndim == 3:
        arr = arr.reshape(-1, arr.shape[2])
    elif arr.ndim != 2:
        raise ValueError(
            f"{name} must be 3-D (n_conditions, n_timesteps, n_units) condition-averaged activity or 2-D "
            f"(n_samples, n_units), got shape {arr.shape}"
        )
    largest = float(np.abs(arr).max(initial=0.0))
    if largest > _MAX_ACTIVITY:  # squares overflow float64: a Procrustes score of 0, a z-scored NaN
        raise ValueError(
            f"{name} reaches {largest:.3g}: its sums of squares would overflow float64 (values up to "
            f"{_MAX_ACTIVITY:g} are compared); rescale it, e.g. divide by {10.0 ** np.floor(np.log10(largest)):g} "
            "(CCA and Procrustes scores do not depend on the scale)"
        )
    return arr


#: Largest activity value ``similarity`` accepts (as the tuning fits): squares summed stay finite.
_MAX_ACTIVITY = 1e150
_SIMILARITY_METHODS = ("cca", "procrustes")


def _numerical_rank(scores):
    """Numerical rank of a score matrix: singular values above ``1e-8 * s_max * max(shape)``.

    The tolerance is that of ``numpy.linalg.matrix_rank`` with ``1e-8`` in place of the machine
    epsilon, so that the rounding noise of float32 activity (about 1e-7 relative) counts as 0 too.
    """
    s = np.linalg.svd(scores, compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.count_nonzero(s > 1e-8 * s[0] * max(scores.shape)))


def _constant_units(x) -> np.ndarray:
    """Columns (units) of ``x`` (n_samples, n_units) that are constant up to ``CONSTANT_RTOL`` (a
    unit firing in every bin comes out of the Gaussian smoothing as ``c (1 +- eps)``)."""
    return np.ptp(x, axis=0) <= CONSTANT_RTOL * np.abs(x).max(axis=0, initial=0.0)


def _normalize_units(x, how, offset):
    """Scale each column (unit) of ``x`` (n_samples, n_units): soft normalisation or z-scores
    (constant units are not scaled, so their rounding noise stays at rounding level)."""
    if how == "soft":
        scale = np.ptp(x, axis=0) + offset
    else:
        scale = x.std(axis=0)
    return x / np.where((scale > 0) & ~_constant_units(x), scale, 1.0)


def similarity(A, B, *, method="cca", n_components=None, normalize=None, soft_offset=5.0) -> Bunch:
    """Similarity of two populations' condition-averaged activity (e.g. recorded vs model).

    Both arrays must cover the same conditions and time bins (in the same order); the numbers of
    units may differ. Each is optionally normalised unit by unit (``normalize``), centred and
    reduced to its top ``n_components`` principal components
    (PCA scores over the ``n_conditions * n_timesteps`` samples), which removes the arbitrary
    choice of units, then compared:

    - ``"cca"``: canonical correlation analysis of the two score matrices; the canonical
      correlations are the cosines of the principal angles between the two column spaces
      (singular values of ``Q_A^T Q_B`` with ``Q`` orthonormal bases from QR). ``score`` is their
      mean, in ``[0, 1]``: 1 when one population's top-``k`` dynamics are a linear transform of
      the other's (e.g. the same data in rotated coordinates).
    - ``"procrustes"``: both score matrices are centred and scaled to unit Frobenius norm and the
      best orthogonal map (rotation/reflection) of ``B`` onto ``A`` is found;
      ``disparity = 1 - (sum of singular values of A^T B)^2`` is the remaining squared error, as
      ``scipy.spatial.procrustes`` defines it (numpy only here). ``score = 1 - disparity``.
      Stricter than CCA: it also requires the relative scale of the components to match.

    Parameters
    ----------
    A, B : array-like of shape (n_conditions, n_timesteps, n_units_a / n_units_b)
        Condition-averaged activity, e.g. ``trajectories(...).condition_means`` of recorded and of
        model activity (a ``trajectories`` result itself is accepted: its ``condition_means`` are
        used). 2-D arrays ``(n_samples, n_units)`` are accepted as already flattened.
    method : {"cca", "procrustes"}, default="cca"
    n_components : int or None, default=None
        Principal components kept per population; None: ``min(10, n_units_a, n_units_b,
        n_samples - 1)``. CCA uses fewer, with a ``UserWarning``, when either population's
        activity has fewer dimensions (see Notes), and warns when the components compared are
        more than half the ``n_samples - 1`` dimensions of the samples (scores near 1 then say
        little).
    normalize : {None, "soft", "zscore"}, default=None
        Per-unit scaling before the PCA. None keeps the rates as they are, so the units with the
        largest swings dominate the principal components. ``"soft"`` divides each unit by its
        range over conditions and time plus ``soft_offset`` (the "soft normalisation" of
        Churchland et al. 2012, used before jPCA and model-data CCA in motor cortex): strongly
        modulated units count about equally, weakly modulated ones less, so a few high-rate
        units cannot dominate. ``"zscore"`` divides each unit by its standard deviation
        (units without variance are left at 0; a unit whose spread is at most ``1e-12`` of its
        magnitude, rounding, counts as without variance).
    soft_offset : float, default=5.0
        The offset of ``"soft"`` normalisation, in the units of ``A`` and ``B`` (5 Hz in
        Churchland et al. 2012 for rates in Hz).

    Returns
    -------
    sklearn.utils.Bunch
        ``score`` (higher is more similar, at most 1), ``method``, ``n_components`` (as requested
        or defaulted), ``n_components_used`` (the components compared: for CCA at most the
        numerical rank of each population's scores, see Notes; for Procrustes ``n_components``),
        and ``canonical_correlations`` (n_components_used,) for CCA or ``disparity`` for
        Procrustes.

    Raises
    ------
    ValueError
        Different numbers of samples (conditions x time bins), non-finite values, an unknown
        method, ``n_components`` out of range, or a population without any variance.

    Notes
    -----
    CCA with many components on few samples is trivially close to 1 (with ``k`` near the number
    of samples, any two ``k``-dimensional subspaces overlap): keep ``n_components`` well below
    ``n_conditions * n_timesteps`` and compare scores against a baseline, e.g. ``B`` with its
    conditions shuffled. Do not shuffle its time bins: that destroys the smoothness of the
    trajectories, which alone makes unrelated populations correlate, so the baseline comes out
    too low. Two independent populations of smooth trajectories score 0.40 on average (CCA, 10
    components), 0.39 with B's conditions shuffled, but 0.21 with its time bins shuffled
    (``benchmarks/tuning_calibration.py``).

    CCA is blind to scale, so a principal component without variance (when a population's
    activity spans fewer than ``n_components`` dimensions) would enter the score as an arbitrary
    direction made of rounding noise. CCA therefore compares only the top ``n_components_used =
    min(n_components, rank_A, rank_B)`` components of each population (the result of passing
    ``n_components=n_components_used``) and warns when that is fewer than ``n_components``.
    ``rank`` is the numerical rank of the (normalised, centred) principal component scores:
    the number of singular values above ``1e-8 * s_max * n_samples``. Procrustes needs no such
    cap: components without variance carry no weight in its score.

    Examples
    --------
    >>> import numpy as np
    >>> from motorsrnn.analysis import similarity
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(4, 50, 20))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    >>> round(similarity(A, A @ Q, n_components=5).score, 6)
    1.0
    """
    if not isinstance(method, str) or method not in _SIMILARITY_METHODS:
        raise ValueError(f"method must be one of {_SIMILARITY_METHODS}, got {method!r}")
    if normalize not in (None, "soft", "zscore"):
        raise ValueError(f"normalize must be None, 'soft' or 'zscore', got {normalize!r}")
    check_number(soft_offset, "soft_offset", low=0)
    if normalize != "soft" and soft_offset != 5.0:
        raise ValueError(f"soft_offset={soft_offset!r} applies to normalize='soft' only (normalize={normalize!r})")
    a, b = _as_samples(A, "A"), _as_samples(B, "B")
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"A and B must cover the same conditions and time bins: A has {a.shape[0]} samples "
            f"(n_conditions * n_timesteps), B has {b.shape[0]}"
        )
    n = a.shape[0]
    max_k = min(a.shape[1], b.shape[1], n - 1)
    if max_k < 1:
        raise ValueError("need at least 2 samples (conditions x time bins) and 1 unit in A and B")
    k = min(10, max_k) if n_components is None else check_number(n_components, "n_components", integer=True, low=1)
    if k > max_k:
        raise ValueError(f"n_components must be <= min(n_units_a, n_units_b, n_samples - 1) = {max_k}, got {k}")
    for x, name in ((a, "A"), (b, "B")):
        if np.all(_constant_units(x)):
            raise ValueError(f"{name} has no variance (constant activity, up to rounding): similarity is undefined")
    if normalize is not None:
        a, b = _normalize_units(a, normalize, soft_offset), _normalize_units(b, normalize, soft_offset)
    sa = _pca(a, k)[0]
    sb = _pca(b, k)[0]
    if method == "cca":
        rank_a, rank_b = _numerical_rank(sa), _numerical_rank(sb)
        k_used = min(k, rank_a, rank_b)
        if k_used < k:
            warnings.warn(
                f"n_components reduced from {k} to {k_used} for CCA: the principal component scores "
                f"of A have numerical rank {rank_a} and those of B {rank_b}, and components without "
                "variance would enter the score as arbitrary directions (rounding noise)",
                UserWarning,
                stacklevel=2,
            )
            sa, sb = sa[:, :k_used], sb[:, :k_used]
        if 2 * k_used > n - 1:
            warnings.warn(
                f"CCA of {k_used} components on {n} samples (conditions x time bins): unrelated populations "
                f"score close to 1 when the components fill much of the {n - 1} dimensions the samples span "
                "(exactly 1 when they fill all of them); use fewer components or more samples, and compare "
                "with a baseline such as B with its conditions shuffled",
                UserWarning,
                stacklevel=2,
            )
        qa, _ = np.linalg.qr(sa)
        qb, _ = np.linalg.qr(sb)
        cc = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), 0.0, 1.0)
        return Bunch(score=float(cc.mean()), canonical_correlations=cc, method=method, n_components=k,
                     n_components_used=k_used)
    sa = sa - sa.mean(axis=0)
    sb = sb - sb.mean(axis=0)
    sa /= np.linalg.norm(sa)
    sb /= np.linalg.norm(sb)
    s = np.linalg.svd(sa.T @ sb, compute_uv=False)
    disparity = float(max(0.0, 1.0 - s.sum() ** 2))
    return Bunch(score=1.0 - disparity, disparity=disparity, method=method, n_components=k, n_components_used=k)


# ---------------------------------------------------------------------------------------------
# Circuit level: connection weights vs preferred-direction difference
# ---------------------------------------------------------------------------------------------
def _tuning_arrays(r, label, tuned_only):
    """``(preferred_direction, is_tuned)`` of a tuning result, with errors naming what is wrong."""
    if not hasattr(r, "preferred_direction") or not hasattr(r, "n_neurons"):
        raise TypeError(
            f"{label} must be a tuning result (fit_cosine_tuning / network_tuning) or a dict of them, got "
            f"{type(r).__name__}"
        )
    if not hasattr(r, "is_tuned"):
        if tuned_only:
            raise TypeError(
                f"{label} is a {type(r).__name__}, which has no test of which units are tuned: pass a cosine fit "
                "(network_tuning(..., model='cosine'), the default) or tuned_only=False"
            )
        return np.asarray(r.preferred_direction, dtype=np.float64), np.ones(r.n_neurons, dtype=bool)
    return np.asarray(r.preferred_direction, dtype=np.float64), np.asarray(r.is_tuned, dtype=bool)


def _population_tuning(tuning_result, name, offset, size, total, tuned_only=True):
    """Preferred directions and tuned flags of one population from a result or a dict of results."""
    if isinstance(tuning_result, dict):
        if name not in tuning_result:
            raise ValueError(f"tuning_result has no entry for population {name!r}; it has {sorted(tuning_result)}")
        r = tuning_result[name]
        pd, tuned = _tuning_arrays(r, f"tuning_result[{name!r}]", tuned_only)
        if r.n_neurons != size:
            raise ValueError(f"tuning_result[{name!r}] has {r.n_neurons} units, population {name!r} has {size}")
        return pd, tuned
    pd, tuned = _tuning_arrays(tuning_result, "tuning_result", tuned_only)
    n = tuning_result.n_neurons
    if n != total:
        raise ValueError(
            f"tuning_result covers {n} units but the network has {total} hidden units; pass the tuning of "
            "all units (network_tuning(estimator, X, directions)) or a dict {population: result}"
        )
    sl = slice(offset, offset + size)
    return pd[sl], tuned[sl]


def weight_vs_pd_difference(estimator, tuning_result, projection_key, *, bins=8, tuned_only=True,
                            include_self=False) -> Bunch:
    """Connection weight as a function of the preferred-direction difference of the connected units.

    The circuit-level analysis: in motor cortex, units with similar preferred directions tend to
    excite each other and units with opposite ones to inhibit each other, so the weight ``w_ij``
    from unit ``j`` to unit ``i`` falls with ``|pd_i - pd_j|``, roughly as ``cos(pd_i - pd_j)``.
    This bins the connections of one projection by the absolute circular difference of their
    units' preferred directions and averages the weights per bin.

    Parameters
    ----------
    estimator : fitted SpikingRNNClassifier
        Its ``get_weights()[projection_key]`` (shape (n_target, n_source)) and network masks are used.
    tuning_result : CosineTuning or dict of str to CosineTuning
        The tuning of the network's units: of all hidden units in the order of the populations
        (what ``network_tuning(estimator, X, directions)`` returns), or a dict
        ``{population: result}`` covering at least the projection's source and target. A von Mises
        fit (``VonMisesTuning``) has no tuned/untuned test and needs ``tuned_only=False``.
    projection_key : str
        A projection between two populations (or within one), e.g. ``"w_rec"`` (``"srnn"``),
        ``"M1->M1"``, ``"M1->PM"``. Projections from ``"input"`` or to ``"readout"`` are refused.
    bins : int or array-like, default=8
        Number of equal bins on ``[0, pi]``, or bin edges in radians (increasing, within
        ``[0, pi]``).
    tuned_only : bool, default=True
        Use only connections whose source and target are both tuned (``is_tuned``). Otherwise
        every unit with a defined preferred direction (not silent) is used.
    include_self : bool, default=False
        Keep self-connections (``i == j`` of a recurrent projection, difference 0).

    Returns
    -------
    sklearn.utils.Bunch
        - ``bin_edges`` (n_bins + 1,), ``bin_centers`` (n_bins,) in radians;
        - ``mean_weight``, ``sem``, ``count`` (n_bins,): mean weight, its standard error and the
          number of connections per bin (NaN mean for an empty bin);
        - ``pd_difference`` (n_connections,): ``|wrap(pd_target - pd_source)|`` in ``[0, pi]``;
        - ``weights`` (n_connections,); ``source_index``, ``target_index`` (n_connections,);
        - ``correlation``: Pearson correlation of the weights with ``cos(pd_target - pd_source)``;
        - ``p_value``: two-sided, from Fisher's z (normal approximation, ``n >= 4``);
        - ``slope``, ``intercept``: least squares ``w = intercept + slope cos(dpd)``;
        - ``projection``, ``source``, ``target``, ``n_connections``.

    Raises
    ------
    ValueError
        Unknown projection or one from the input / to the readout, tuning results that do not
        match the network, bad bins, or fewer than 2 usable connections.

    Notes
    -----
    Masked-out connections of sparse projections (always zero) are excluded. The correlation and
    p-value treat connections as independent, which they are not (each unit enters many pairs):
    read the p-value as descriptive. A sign-free relation is expected after training only if the
    task rewards it; compare with the untrained network (or a shuffled projection,
    :func:`motorsrnn.topology.shuffle_projection`) before interpreting.
    """
    import math

    if not hasattr(estimator, "get_weights") or not hasattr(estimator, "initial_network"):
        raise TypeError(
            f"estimator must be a fitted SpikingRNNClassifier or SpikingRNNRegressor, got {type(estimator).__name__}"
        )
    check_is_fitted(estimator, "network_")
    tuned_only = check_bool(tuned_only, "tuned_only")
    include_self = check_bool(include_self, "include_self")
    net = estimator.network_
    projections = {p[0]: p for p in net.projections()}
    if projection_key not in projections:
        raise ValueError(f"unknown projection {projection_key!r}; known: {sorted(projections)}")
    _, source, target, _kind, _ = projections[projection_key]
    if source == "input" or target == "readout":
        raise ValueError(
            f"projection {projection_key!r} runs {source} -> {target}; the analysis needs a projection "
            "between tuned units (population -> population)"
        )
    pops = [(str(n), int(s)) for n, s in net.populations()]
    offsets, total = {}, 0
    for name, size in pops:
        offsets[name] = (total, size)
        total += size
    pd_s, tu_s = _population_tuning(tuning_result, source, *offsets[source], total, tuned_only)
    pd_t, tu_t = _population_tuning(tuning_result, target, *offsets[target], total, tuned_only)

    if isinstance(bins, (numbers.Integral, np.integer)) and not isinstance(bins, (bool, np.bool_)):
        n_bins = check_number(bins, "bins", integer=True, low=1)
        edges = np.linspace(0.0, np.pi, n_bins + 1)
    else:
        try:
            edges = np.asarray(bins, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"bins must be an int or an array of bin edges in radians, got {bins!r}") from None
        if (edges.ndim != 1 or edges.size < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0)
                or edges[0] < 0 or edges[-1] > np.pi + 1e-12):
            raise ValueError(f"bin edges must be 1-D, finite, strictly increasing, at least 2, within [0, pi]; got {bins!r}")

    w = np.asarray(estimator.get_weights()[projection_key], dtype=np.float64)
    masks = net.masks()
    keep = (np.asarray(masks[projection_key]) > 0) if projection_key in masks else np.ones(w.shape, dtype=bool)
    ok_s = np.isfinite(pd_s) & (tu_s if tuned_only else True)
    ok_t = np.isfinite(pd_t) & (tu_t if tuned_only else True)
    keep &= ok_t[:, None] & ok_s[None, :]
    if source == target and not include_self:
        np.fill_diagonal(keep, False)
    ti, si = np.nonzero(keep)
    if ti.size < 2:
        raise ValueError(
            f"projection {projection_key!r} has {ti.size} usable connection(s) between "
            f"{'tuned ' if tuned_only else ''}units; need at least 2 (try tuned_only=False or more probe trials)"
        )
    weights = w[ti, si]
    signed = _wrap_angle(pd_t[ti] - pd_s[si])
    dpd = np.abs(signed)
    which = np.clip(np.searchsorted(edges, dpd, side="right") - 1, 0, edges.size - 2)
    inside = (dpd >= edges[0]) & (dpd <= edges[-1])
    n_bins = edges.size - 1
    count = np.bincount(which[inside], minlength=n_bins)
    sums = np.bincount(which[inside], weights=weights[inside], minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, sums / np.maximum(count, 1), np.nan)
        # two passes (deviations from each bin's mean): no cancellation for weights far from 0
        dev = weights[inside] - mean[which[inside]]
        sq = np.bincount(which[inside], weights=dev**2, minlength=n_bins)
        var = np.where(count > 1, sq / np.maximum(count - 1, 1), np.nan)
        sem = np.sqrt(np.maximum(var, 0.0)) / np.sqrt(count)
    c = np.cos(signed)
    cc, wc = c - c.mean(), weights - weights.mean()
    denom = math.sqrt(float(cc @ cc) * float(wc @ wc))
    r = float(cc @ wc) / denom if denom > 0 else float("nan")
    slope = float(cc @ wc) / float(cc @ cc) if float(cc @ cc) > 0 else float("nan")
    intercept = float(weights.mean() - slope * c.mean()) if np.isfinite(slope) else float("nan")
    n = weights.size
    if n >= 4 and np.isfinite(r):
        z = math.atanh(min(max(r, -1 + 1e-15), 1 - 1e-15)) * math.sqrt(n - 3)
        p = math.erfc(abs(z) / math.sqrt(2.0))
    else:
        p = float("nan")
    return Bunch(
        bin_edges=edges,
        bin_centers=0.5 * (edges[:-1] + edges[1:]),
        mean_weight=mean,
        sem=sem,
        count=count,
        pd_difference=dpd,
        weights=weights,
        source_index=si,
        target_index=ti,
        correlation=r,
        p_value=p,
        slope=slope,
        intercept=intercept,
        projection=projection_key,
        source=source,
        target=target,
        n_connections=int(n),
    )

