"""The motorSRNN paper's comparison, as one function: architectures, ablations and baselines on the
same train/test split, with accuracy, early-classification curves, energy ratios and noise robustness.

Used by ``python -m motorsrnn compare`` and ``notebooks/motorsrnn_reproduction.ipynb``. For the
paper's protocol, cut long trials into 50 ms samples with :func:`motorsrnn.io.cut_samples`
(:func:`center_out_samples` does it for ``make_center_out``), split them by ``trial`` and pass the
training samples' ``trial`` as ``groups``.
"""

from __future__ import annotations

import time
from typing import Dict, Optional, Sequence

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch

from .analysis import add_poisson_noise, early_classification, energy
from .baselines import GRUClassifier, LSTMClassifier, PoissonNaiveBayes, SpikeCountTransformer
from .datasets import make_center_out
from .estimators import SpikingRNNClassifier
from .io import cut_samples
from .topology import preset

__all__ = ["center_out_samples", "check_cut", "default_models", "compare_models"]


def center_out_samples(n_trials: int, start: int, stop: int, *, width: int = 50, random_state=None) -> Bunch:
    """The paper's protocol on synthetic data: ``make_center_out`` trials cut into samples.

    Parameters
    ----------
    n_trials : int
        Trials to generate.
    start, stop : int
        Each trial covers ``start`` to ``stop`` ms after target onset (1 ms bins), e.g. 100 to 400
        for the movement-related response with the generator's defaults.
    width : int, default=50
        Sample length in ms; ``stop - start`` must be a positive multiple of it.
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
        If ``stop - start`` is not a positive multiple of ``width``.
    """
    check_cut(start, stop, width)
    data = make_center_out(n_trials=n_trials, n_timesteps=stop - start, window_start=start, random_state=random_state)
    return cut_samples(data.X, data.y, width=width)


def check_cut(start: int, stop: int, width: int = 50) -> None:
    """Raise ``ValueError`` unless ``stop - start`` is a positive multiple of ``width`` (ms): the
    trials of :func:`center_out_samples` (checked first by the command line and the benchmark)."""
    length = stop - start
    if length < width or length % width:
        raise ValueError(
            f"the trials' length stop - start = {length} ms must be a positive multiple of {width} ms, "
            f"got start={start}, stop={stop}"
        )


def default_models(n_hidden: int = 128, *, max_epochs: int = 40, random_state=0, n_jobs=None,
                   gru: bool = False, lstm: bool = False) -> Dict[str, object]:
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


def compare_models(
    X_train,
    y_train,
    X_test,
    y_test,
    models: Optional[Dict[str, object]] = None,
    *,
    noise_rates: Sequence[float] = (0.0, 10.0, 20.0, 40.0),
    early_step: int = 5,
    random_state=0,
    progress: bool = False,
    groups=None,
) -> Bunch:
    """Fit every model on the same training trials and evaluate it on the same test trials.

    Parameters
    ----------
    X_train, y_train, X_test, y_test : array-like
        Spike counts ``(n_trials, n_timesteps, n_channels)`` and labels.
    models : dict of str to estimator or None
        Unfitted estimators (cloned before fitting); ``None`` uses :func:`default_models`.
    noise_rates : sequence of float, default=(0, 10, 20, 40)
        Rates (Hz) of Poisson noise spikes added to every test channel for the robustness curve
        (models are not refitted: robustness of a trained decoder to extra spikes).
    early_step : int, default=5
        Prefix step (bins) of the early-classification curves of non-spiking models.
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

    Returns
    -------
    sklearn.utils.Bunch
        ``table``: list of dicts (model, accuracy, fit_seconds, and for spiking models hidden rate,
        synaptic operations and energy ratios to a dense network, a GRU and an LSTM of the same
        size); ``early``: {model: Bunch(times, accuracy)}; ``noise``: {model: accuracies at
        ``noise_rates``}; ``noise_rates``; ``fitted``: the fitted models.
    """
    models = default_models() if models is None else models
    y_train = np.asarray(y_train)
    if groups is not None and len(groups) != len(y_train):
        raise ValueError(f"groups has {len(groups)} entries but there are {len(y_train)} training trials")
    y_test = np.asarray(y_test)
    noisy = [add_poisson_noise(X_test, r, random_state=random_state) if r > 0 else X_test for r in noise_rates]
    items = list(models.items())
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(items), desc="compare", unit="model")
        except ImportError:
            bar = None
    rows, early, noise, fitted = [], {}, {}, {}
    for name, proto in items:
        if bar is not None:
            bar.set_postfix_str(name)
        elif progress:
            print(f"fitting {name} ...", flush=True)
        est = clone(proto)
        t0 = time.perf_counter()
        if groups is not None and isinstance(est, (SpikingRNNClassifier, GRUClassifier, LSTMClassifier)):
            est.fit(X_train, y_train, groups=groups)
        else:
            est.fit(X_train, y_train)
        row = {"model": name, "accuracy": float(est.score(X_test, y_test)), "fit_seconds": time.perf_counter() - t0}
        if isinstance(est, SpikingRNNClassifier):
            e = energy(est, X_test)
            sim = est.simulate(X_test, membrane=False)
            row.update(
                hidden_rate_hz=float(sim.spikes.mean() * 1000.0 / est.dt),
                sop_per_sample=e.sop,
                energy_nj_per_sample=e.snn_energy * 1e9,
                ratio_dense=e.ratio_dense,
                ratio_gru=e.ratio_gru,
                ratio_lstm=e.ratio_lstm,
            )
        rows.append(row)
        early[name] = early_classification(est, X_test, y_test, step=early_step)
        noise[name] = [float(est.score(Xn, y_test)) for Xn in noisy]
        fitted[name] = est
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return Bunch(table=rows, early=early, noise=noise, noise_rates=list(noise_rates), fitted=fitted)


def format_table(result: Bunch) -> str:
    """The comparison as a Markdown table (accuracy, fit time, rate, energy ratios, noise)."""
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
