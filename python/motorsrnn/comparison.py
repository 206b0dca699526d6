"""The motorSRNN paper's comparison, as one function: architectures, ablations and baselines on the
same train/test split, with accuracy, early-classification curves, energy ratios and noise robustness.

Used by ``python -m motorsrnn compare`` and ``notebooks/motorsrnn_reproduction.ipynb``. For the
paper's protocol, cut long trials into 50 ms samples with :func:`motorsrnn.io.cut_samples`
(:func:`center_out_samples` does it for ``make_center_out``), split them by ``trial`` and pass the
training samples' ``trial`` as ``groups``.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Dict, Optional, Sequence

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch

from ._validation import check_bool, check_number, labels_not_in, user_stacklevel
from .analysis import _is_classifier, add_poisson_noise, early_classification, energy
from .baselines import GRUClassifier, LSTMClassifier, PoissonNaiveBayes, SpikeCountTransformer
from .datasets import make_center_out
from .estimators import SpikingRNNClassifier, check_spikes
from .io import cut_samples
from .topology import preset

__all__ = ["center_out_samples", "check_cut", "default_models", "compare_models", "format_table"]


def center_out_samples(n_trials: int, start: int, stop: int, *, width: int = 50, random_state=None) -> Bunch:
    """The paper's protocol on synthetic data: ``make_center_out`` trials cut into samples.

    Parameters
    ----------
    n_trials : int
        Trials to generate.
    start, stop : int
        Each trial covers ``start`` to ``stop`` ms after target onset (1 ms bins), e.g. 100 to 400
        for the movement-related response with the generator's defaults. Integers (whole ms).
    width : int, default=50
        Sample length in ms, an integer ``>= 1``; ``stop - start`` must be a positive multiple of
        it.
    random_state : int or None
        Seed of ``make_center_out``.

    Returns
    -------
    sklearn.utils.Bunch
        What :func:`motorsrnn.io.cut_samples` returns: ``X``, ``y``, ``trial``, ``offset`` and
        ``n_per_trial``, the samples of trial 0 first.

    Raises
    ------
    ValueError
        If ``start`` or ``stop`` is not an integer, ``width`` is not an integer ``>= 1`` (the
        message names the argument; wrong types raise
        :class:`~motorsrnn._validation.InvalidParameterError`, a ``ValueError`` and a
        ``TypeError``), or ``stop - start`` is not a positive multiple of ``width``.
    """
    check_cut(start, stop, width)
    data = make_center_out(n_trials=n_trials, n_timesteps=stop - start, window_start=start, random_state=random_state)
    return cut_samples(data.X, data.y, width=width)


def check_cut(start: int, stop: int, width: int = 50) -> None:
    """Raise ``ValueError`` unless ``stop - start`` is a positive multiple of ``width`` (ms): the
    trials of :func:`center_out_samples` (checked first by the command line and the benchmark).

    Parameters
    ----------
    start, stop : int
        Start and end of the trials, in ms from the event.
    width : int, default=50
        Width of one sample, in ms (``>= 1``).

    Raises
    ------
    ValueError
        When ``stop - start`` is not a positive multiple of ``width``, or an argument is not an
        integer (then :class:`~motorsrnn._validation.InvalidParameterError`, also a ``TypeError``,
        naming the argument).
    """
    start = check_number(start, "start (ms)", integer=True)
    stop = check_number(stop, "stop (ms)", integer=True)
    width = check_number(width, "width (ms)", integer=True, low=1)
    length = stop - start
    if length < width or length % width:
        raise ValueError(
            f"the trials' length stop - start = {length} ms must be a positive multiple of {width} ms, "
            f"got start={start}, stop={stop}"
        )


def default_models(n_hidden: int = 128, *, max_epochs: int = 40, random_state=0, n_jobs=None,
                   gru: bool = False, lstm: bool = False) -> Dict[str, Any]:
    """The models of the comparison, unfitted, by display name.

    Parameters
    ----------
    n_hidden : int, default=128
        LIF neurons of every spiking model.
    max_epochs : int, default=40
    random_state : int, default=0
    n_jobs : int or None
    gru : bool, default=False
        Add ``"GRU"``, a :class:`~motorsrnn.baselines.GRUClassifier` with ``n_hidden`` units and
        ``max_epochs`` epochs (needs PyTorch: pass ``gru=motorsrnn.baselines.has_torch()`` to add it
        only when PyTorch is installed).
    lstm : bool, default=False
        Add ``"LSTM"``, a :class:`~motorsrnn.baselines.LSTMClassifier` of the same size (PyTorch).

    Returns
    -------
    dict of str to estimator
        motorSRNN (fixed feedback), its two feedback ablations (trainable, removed), the
        single-population SRNN, the feedforward fSNN, Poisson naive Bayes and logistic regression on
        spike counts; with ``gru`` and ``lstm``, also the GRU and the LSTM.
    """
    gru, lstm = check_bool(gru, "gru"), check_bool(lstm, "lstm")
    snn = dict(n_hidden=n_hidden, max_epochs=max_epochs, random_state=random_state, n_jobs=n_jobs)
    return {
        "motorSRNN": SpikingRNNClassifier(architecture="motorsrnn", **snn),
        "motorSRNN, trainable feedback": SpikingRNNClassifier(architecture=preset("motorsrnn", n_hidden, feedback="trainable"), **snn),
        "motorSRNN, no feedback": SpikingRNNClassifier(architecture=preset("motorsrnn", n_hidden, feedback="removed"), **snn),
        "SRNN": SpikingRNNClassifier(architecture="srnn", **snn),
        "fSNN": SpikingRNNClassifier(architecture="fsnn", **snn),
        "Poisson naive Bayes": PoissonNaiveBayes(),
        "logistic regression": make_pipeline(SpikeCountTransformer(), LogisticRegression(max_iter=3000)),
        **({"GRU": GRUClassifier(hidden_size=n_hidden, max_epochs=max_epochs, random_state=random_state)} if gru else {}),
        **({"LSTM": LSTMClassifier(hidden_size=n_hidden, max_epochs=max_epochs, random_state=random_state)} if lstm else {}),
    }


def _check_noise_rates(noise_rates) -> list:
    """``noise_rates`` as a list of floats, each finite and ``>= 0`` (Hz)."""
    if isinstance(noise_rates, (str, bytes)) or np.ndim(noise_rates) != 1:
        raise ValueError(f"noise_rates must be a 1-D sequence of rates in Hz (>= 0), got {noise_rates!r}")
    return [check_number(r, f"noise_rates[{i}] (Hz)", low=0) for i, r in enumerate(noise_rates)]


def _interrupted_by_ctrl_c(est) -> bool:
    """Whether Ctrl-C stopped ``est``'s fit: ``stop_reason_ == "interrupted"`` also follows a
    callback that returned False, a stop the user's own rule asked for, so only an estimator
    without a callback counts."""
    return getattr(est, "stop_reason_", None) == "interrupted" and getattr(est, "callback", None) is None


def compare_models(
    X_train,
    y_train,
    X_test,
    y_test,
    models: Optional[Dict[str, object]] = None,
    *,
    noise_rates: Sequence[float] = (0.0, 10.0, 20.0, 40.0),
    early_step: int = 1,
    random_state=0,
    progress: bool = False,
    groups=None,
    dt: Optional[float] = None,
) -> Bunch:
    """Fit every model on the same training trials and evaluate it on the same test trials.

    Parameters
    ----------
    X_train, y_train, X_test, y_test : array-like
        Spike counts ``(n_trials, n_timesteps, n_channels)`` and labels. ``X_test`` is validated
        like the estimators do (:func:`motorsrnn.estimators.check_spikes`), ``y_test`` must be 1-D
        with one label per test trial, and both sets must have the same number of channels.
    models : dict of str to estimator or None
        Unfitted classifiers (``sklearn.base.is_classifier``), cloned before fitting; ``None`` uses
        :func:`default_models`. Every model is also scored on prefixes of the test window for its
        early-classification curve (see ``early``), so a model without a per-step
        ``decision_path`` (the spiking models and the GRU/LSTM have one) must accept windows
        shorter than those seen in ``fit``, e.g. by summing over time
        (``make_pipeline(SpikeCountTransformer(), ...)``) rather than flattening it.
    noise_rates : sequence of float, default=(0, 10, 20, 40)
        Rates (Hz) of Poisson noise spikes added to every test channel for the robustness curve
        (models are not refitted: robustness of a trained decoder to extra spikes). Each must be
        finite and ``>= 0``; ``0`` scores the clean test set.
    early_step : int, default=1
        Prefix step (bins), an integer ``>= 1``, of the early-classification curves (see
        :func:`motorsrnn.analysis.early_classification`): every bin by default, so the curves
        start after the first bin (the paper's comparison starts at 2 ms).
    random_state : int, default=0
        Seed of the noise.
    progress : bool, default=False
        Show a progress bar over models (tqdm if installed, else one line per model).
    groups : array-like of shape (n_train,) or None
        Group of each training trial (e.g. ``cut_samples(...).trial`` of the training samples),
        passed to ``fit`` of the models that are :class:`~motorsrnn.SpikingRNNClassifier`,
        :class:`~motorsrnn.baselines.GRUClassifier` or :class:`~motorsrnn.baselines.LSTMClassifier`
        instances: with ``early_stopping`` their validation set then holds out whole groups. Other
        models, including a spiking classifier inside a ``Pipeline`` or a search, do not get it.
    dt : float or None, default=None
        Width of the time bins in ms: it turns ``noise_rates`` (Hz) into noise spikes per bin and
        labels the early-classification times. None: the ``dt`` of the models that have one (the
        spiking models; they must agree), else 1 ms. A model whose own ``dt`` differs is refused.

    Returns
    -------
    sklearn.utils.Bunch
        ``table``: list of dicts (model, accuracy, fit_seconds (the time of ``fit`` alone, without
        scoring; the first PyTorch model fitted in a process also pays PyTorch's one-time
        start-up, about a second), and for spiking models hidden rate, synaptic operations and energy ratios to a
        dense network, a GRU and an LSTM of the same size); ``early``: {model: Bunch(times,
        accuracy)}; ``noise``: {model: accuracies at ``noise_rates``}; ``noise_rates`` (list of
        float); ``fitted``: the fitted models.

    Raises
    ------
    ValueError
        Before any model is fitted: for ``noise_rates`` that are negative, NaN, infinite or not
        numbers, ``early_step`` not an integer ``>= 1``, models whose ``dt`` differ (from each other
        or from ``dt``), an invalid ``X_test``, ``y_test`` not 1-D or
        not one label per test trial, ``X_train`` and ``X_test`` with different channel counts,
        or ``groups`` not one entry per training trial. After fitting a model: if that model
        cannot be scored on prefixes of the test window (the message names the model; the results
        of the models before it are not returned, and the models after it are not fitted).
    TypeError
        Before any model is fitted, if ``models`` is not a dict or a model is not a classifier.
    KeyboardInterrupt
        When Ctrl-C stopped a spiking model's fit (``stop_reason_ == "interrupted"`` without a
        ``callback`` of its own, whose returning False is a stop the user asked for): the
        comparison stops instead of reporting a partly trained model beside trained ones.
    """
    models = default_models() if models is None else models
    if not isinstance(models, dict):
        raise TypeError(
            f"models must be a dict of name to estimator (e.g. {{'naive Bayes': PoissonNaiveBayes()}}), got "
            f"{type(models).__name__}"
        )
    # Everything that is only used after fitting is checked here, before the first (long) fit.
    noise_rates = _check_noise_rates(noise_rates)
    early_step = check_number(early_step, "early_step", integer=True, low=1)
    y_train = np.asarray(y_train)
    if groups is not None and len(groups) != len(y_train):
        raise ValueError(f"groups has {len(groups)} entries but there are {len(y_train)} training trials")
    Xte = check_spikes(X_test)
    y_test = np.asarray(y_test)
    if y_test.ndim != 1:
        raise ValueError(f"y_test must be 1-D (one label per test trial), got an array of shape {y_test.shape}")
    if len(y_test) != Xte.shape[0]:
        raise ValueError(f"X_test has {Xte.shape[0]} trials but y_test has {len(y_test)} labels")
    unseen = labels_not_in(y_train, y_test) if y_train.ndim == 1 else []
    if unseen:  # checked before the first fit: the message would otherwise come after the training
        raise ValueError(
            f"y_test holds label(s) {unseen[:5]} that y_train does not (labels of y_train: "
            f"{list(dict.fromkeys(y_train.tolist()))[:10]}): a classifier cannot predict a class it never saw"
        )
    train_shape = np.shape(X_train)
    if len(train_shape) in (2, 3) and train_shape[-1] != Xte.shape[2]:
        raise ValueError(
            f"X_train has {train_shape[-1]} channels but X_test has {Xte.shape[2]}: the models are "
            "scored on X_test with the channels they were fitted on"
        )
    items = [(name, clone(proto)) for name, proto in models.items()]
    for name, est in items:
        if not _is_classifier(est):
            raise TypeError(
                f"model {name!r} ({type(est).__name__}) is not a classifier (sklearn.base.is_classifier): "
                "compare_models reports accuracies"
            )
    dt = _common_dt(items, dt)
    noisy = [add_poisson_noise(X_test, r, dt=dt, random_state=random_state) if r > 0 else X_test for r in noise_rates]
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(items), desc="compare", unit="model")
        except ImportError:
            bar = None
    rows, early, noise, fitted = [], {}, {}, {}
    for name, est in items:
        if bar is not None:
            bar.set_postfix_str(name)
        elif progress:
            print(f"fitting {name} ...", flush=True)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if groups is not None and isinstance(est, (SpikingRNNClassifier, GRUClassifier, LSTMClassifier)):
                est.fit(X_train, y_train, groups=groups)
            else:
                est.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - t0
        _rewarn(caught, f"model {name!r}")
        if _interrupted_by_ctrl_c(est):
            if bar is not None:
                bar.close()
            raise KeyboardInterrupt(
                f"fitting model {name!r} was interrupted after {est.n_iter_} epoch(s); the comparison stops, since "
                "its table would set a partly trained model beside fully trained ones"
            )
        row = {"model": name, "accuracy": float(est.score(X_test, y_test)), "fit_seconds": fit_seconds}
        if isinstance(est, SpikingRNNClassifier):
            e = energy(est, X_test)  # its spike counts give the rate: no simulation of its own
            row.update(
                hidden_rate_hz=float(sum(e.spikes.values()) / (e.n_hidden * e.n_timesteps) * 1000.0 / est.dt),
                sop_per_sample=e.sop,
                energy_nj_per_sample=e.snn_energy * 1e9,
                ratio_dense=e.ratio_dense,
                ratio_gru=e.ratio_gru,
                ratio_lstm=e.ratio_lstm,
            )
        rows.append(row)
        try:
            early[name] = early_classification(est, X_test, y_test, step=early_step, dt=dt)
        except (ValueError, TypeError, IndexError, RuntimeError) as err:
            if bar is not None:
                bar.close()
            raise ValueError(
                f"early classification of model {name!r} failed after fitting it. Early classification "
                f"scores a model without a per-step decision_path on prefixes X_test[:, :t] of the test "
                f"window (t = {early_step}, {2 * early_step}, ... bins), so every model must accept "
                f"windows shorter than those seen in fit (e.g. sum the counts over time instead of "
                f"flattening them). {type(err).__name__}: {err}"
            ) from err
        # a rate of 0 is the clean test set, scored above
        noise[name] = [row["accuracy"] if r == 0 else float(est.score(Xn, y_test)) for r, Xn in zip(noise_rates, noisy)]
        fitted[name] = est
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return Bunch(table=rows, early=early, noise=noise, noise_rates=noise_rates, fitted=fitted)


def _rewarn(caught, who: str) -> None:
    """Emit again the warnings ``caught`` while fitting a model, ours (``UserWarning`` and
    ``RuntimeWarning``, e.g. a ``ConvergenceWarning``) prefixed with ``who``: several models give
    the same warnings, which would not say which model they are about; others as they were."""
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            try:
                again = w.category(f"{who}: {w.message}")
            except TypeError:  # a category whose constructor takes other arguments: as it was
                again = w.message
            warnings.warn(again, stacklevel=user_stacklevel())
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _common_dt(items, dt) -> float:
    """The bin width of a comparison: ``dt`` if given (every model with a ``dt`` must agree with
    it), else the models' common ``dt``, else 1 ms."""
    own = {}
    for name, est in items:
        params = est.get_params(deep=True) if hasattr(est, "get_params") else {}
        # the model's own dt, or that of a spiking model inside a Pipeline or a search ("...__dt")
        values = {float(v) for k, v in params.items() if (k == "dt" or k.endswith("__dt")) and v is not None}
        if len(values) > 1:
            raise ValueError(f"model {name!r} holds estimators with different dt (ms): {sorted(values)}")
        if values:
            own[name] = values.pop()
    if dt is not None:
        dt = check_number(dt, "dt (ms)", low=0.0, strict_low=True)
        wrong = {name: value for name, value in own.items() if not np.isclose(value, dt)}
        if wrong:
            raise ValueError(f"dt={dt:g} ms, but these models have another dt (ms): {wrong}")
        return float(dt)
    if len(set(own.values())) > 1:
        raise ValueError(
            f"the models have different bin widths dt (ms): {own}; they are scored on the same X_test, "
            "so give them one dt"
        )
    return next(iter(own.values()), 1.0)


def format_table(result: Bunch) -> str:
    """The comparison as a Markdown table (accuracy, fit time, rate, energy ratios, noise).

    Parameters
    ----------
    result : Bunch
        What :func:`compare_models` returns.

    Returns
    -------
    str
        One row per model; count decoders have "-" in the spiking networks' columns.
    """
    if not all(hasattr(result, key) for key in ("table", "noise_rates")):
        raise TypeError(f"result must be what compare_models returns (with table and noise_rates), got {result!r:.80}")
    head = "| model | test accuracy | fit (s) | hidden rate (Hz) | SOP / sample | energy ratio dense / GRU / LSTM | accuracy with noise " + " / ".join(f"{r:g}" for r in result.noise_rates) + " Hz |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|"]
    for row in result.table:
        snn = "hidden_rate_hz" in row
        lines.append(
            f"| {row['model']} | {row['accuracy']:.3f} | {row['fit_seconds']:.1f} | "
            + (f"{row['hidden_rate_hz']:.1f} | {row['sop_per_sample']:.0f} | "
               f"{row['ratio_dense']:.1f} / {row['ratio_gru']:.1f} / {row['ratio_lstm']:.1f}" if snn else "- | - | -")
            + " | " + " / ".join(f"{a:.3f}" for a in result.noise[row["model"]]) + " |"
        )
    return "\n".join(lines)
