"""Does matching a sparse sample of recorded neurons make a spiking RNN's dynamics more brain-like?

The must-show experiment of issue 5. Data: ``motorsrnn.datasets.make_reaching_dynamics`` (a teacher
rate network with rotational motor-cortex-like dynamics, 200 neurons, 8 reach conditions, 300 ms
trials, 16 trials per condition). A ``SpikingRNNRegressor`` (128 LIF units) learns the teacher's 4
muscle-like outputs from the input spikes (target and go-cue channels), trained on 6 of the 8 reach
conditions (3 and 7 held out). Arms, all with the same seed, initialisation, epochs and optimiser:

- ``untrained``: the initial network (chance level of the similarity metrics: a random network
  driven by the task inputs already shares some structure with the teacher);
- ``output only``: ``fit(X, y)``;
- ``output only + rate bound``: ``fit(X, y)`` with ``rate_weight`` pushing the population's mean
  rate below the mean rate of the recorded sample (a control: activity matching also lowers the
  firing rates, and this arm uses only that information from the recordings);
- ``activity (exponential)`` / ``activity (gaussian)``: ``fit(X, y, neural_targets=rates[:, :,
  sample])`` with a random ``--fraction`` (default 10 %) of the teacher's neurons assigned to the
  first hidden units, ``activity_weight=--activity-weight`` and ``activity_tau=20`` ms with the
  causal exponential or the symmetric Gaussian kernel;
- ``activity (normalised)``: the same with ``activity_normalize=True`` (each recorded neuron's
  squared error divided by the variance of its rates over the training trials and bins), the
  kernel ``--normalised-kernel`` (default Gaussian) and ``activity_weight=--normalised-weight``,
  with (default; ``--no-normalised-rate-bound``: without) the rate bound of the control arm;
- ``activity (gaussian), held-out recorded``: the Gaussian arm in a different, semi-supervised
  protocol: the held-out conditions' trials are in the training set with their outputs missing
  (NaN targets, no error) and their recorded activity matched like the others'; the held-out
  outputs are still never seen;
- ``output only, small readout``, ``activity (gaussian), matched readout`` and ``activity
  (gaussian), held-out recorded, matched readout``: the same network cut into the matched units
  and the rest (``matched_readout``), with the readout driven by the matched units only;
- ``output only, jitter 5 ms`` and ``activity (gaussian), jitter 5 ms``: those arms trained on
  input spikes moved anew in every epoch (``spike_jitter=5.0``).
- ``activity (gaussian), then output only``: the Gaussian arm, then a quarter of the epochs more
  of output-only training from where it ended (``warm_start=True``, ``activity_weight=0``): the
  recordings shape the dynamics, the outputs are fitted last.

Measured per seed (the seed sets the teacher, the sample, the trials and the initialisation):

- CCA similarity: ``motorsrnn.analysis.similarity(model, teacher, n_components=k)`` = mean of the
  k canonical correlations after reducing each population to its top k principal components
  (k = the teacher's latent dimensionality: 6 for 3 rotational planes, 10 with
  ``--null-rotations 2``), between the
  condition-averaged rates of the WHOLE hidden population and of all 200 teacher neurons, over all
  8 conditions and 300 bins. Model rates: ``analysis.trajectories(spikes, condition,
  smoothing_ms=20)`` (Gaussian, sigma 20 ms, edge-corrected), the same for every arm;
- the same CCA restricted to the UNMATCHED hidden units (do the constraints spread?);
- both again after soft normalisation (``normalize="soft"``: each unit divided by its range + 5 Hz,
  Churchland et al. 2012), so that a few fast units cannot dominate the principal components;
- Procrustes score (same components);
- output error on the 2 held-out reach conditions (MSE of the standardised outputs over single
  trials; y has unit variance), the same for the condition-averaged outputs (trial noise removed),
  and on the training conditions (R^2); for reference, the condition-mean error of plain
  interpolation (each held-out condition predicted by the average of its two trained neighbours'
  mean outputs, no network), of a two-harmonic regression on the reach angle, and of the best
  blend of the two neighbours (blend weight fitted to the target: a lower bound for any predictor
  that blends neighbouring reaches);
- how far each student's held-out condition-mean output lies from the best blend of its own
  outputs for the two neighbouring trained conditions (``heldout_blend``; near 0 = the student
  blends neighbouring reaches instead of generating a new one);
- ``--input-tuning cosine`` redraws the target channels with cosine tuning (``cosine_inputs``),
  so that held-out reaches' inputs are linear combinations of trained ones';
- ``--target-input "until go"`` silences the target channels to their untuned rate from the go cue
  on (``memory_inputs``: a memory-guided reach; the teacher's preparatory input ends there too);
- matched units' R^2 to their teacher neurons (condition averages; pooled over units);
- the matched units' error on the trained and on the held-out reaches, before the go cue (the
  preparatory state the target input must set) and after it (the dynamics), relative to the
  recorded neurons' variance (``matched_err_{train,heldout}_{prep,move}``);
- mean hidden rate and fit time.

Prints per-seed rows, a Markdown table of mean +/- sd over seeds and, for each metric, the paired
differences and the number of seeds where each activity arm beats each output-only arm (and each
jittered output-only arm the same arm without jitter). Usage::

    python benchmarks/dynamics_matching.py [--seeds 5 | --seed-list 100 101 ...] [--fraction 0.1]
        [--epochs 400] [--activity-weight 0.01] [--normalised-weight W] [--normalised-kernel K]
        [--[no-]normalised-rate-bound] [--arms ARM ...] [--null-rotations 2] [--input-tuning cosine]
        [--target-input "until go"] [--go-time 50 --timesteps 300] [--params JSON] [--n-jobs 1]
        [--fresh-test]
    python benchmarks/dynamics_matching.py --from-logs a.log b.log [task options]   # pool runs
    python benchmarks/dynamics_matching.py --from-logs a.log --other-logs c.log   # + another run's arms

``--fresh-test`` generates twice the trials per condition (same teacher), keeps the second half of
every condition out of all fits and measures the held-out error on it. Every run also reports the
trial-to-trial spread of the held-out predictions and targets. ``--from-logs`` fits nothing and prints the tables
of the per-seed lines of earlier runs (e.g. two processes on different seeds).

The defaults are the protocol of docs/dynamics_matching.md: 400 epochs and a teacher with two
output-null planes (dynamics that the outputs do not determine); ``--epochs 100 --null-rotations 0``
is the teacher and length of the earlier runs.

``--seeds N`` runs seeds ``0 .. N-1`` (default 5); ``--seed-list`` gives the seeds explicitly.
"""

from __future__ import annotations

import argparse
import json
import re
import time

import numpy as np
from scipy.stats import wilcoxon

from motorsrnn import SpikingRNNRegressor
from motorsrnn.analysis import similarity, trajectories
from motorsrnn.datasets import make_reaching_dynamics, sample_neurons
from motorsrnn.topology import Population, Projection, Topology

# the task: reach conditions, trials per condition, conditions never seen in training
TASK = dict(n_conditions=8, trials_per_condition=16, held_out=(3, 7), input_tuning="von_mises",
            fresh_test=False, target_input="whole trial", go_time=50.0, n_timesteps=300)
SMOOTHING_MS = 20.0  # Gaussian smoothing of the model's spikes for the similarity metrics
# input_scale 0.2 puts the initial hidden population at ~25 Hz (median ~14 Hz) on these inputs, the
# teacher's range; input_scale 1.0 (used before) started it at ~200 Hz and training ended with most
# units either silent or firing at every step (~1000 Hz).
PARAMS = dict(n_hidden=128, input_scale=0.2, recurrent_scale=0.2, learning_rate=5e-3)
RATE_WEIGHT = 1000.0  # per (spikes/bin)^2: a 10 Hz excess of the population mean costs 0.1
ARMS = ("untrained", "output only", "output only + rate bound", "activity (exponential)",
        "activity (gaussian)", "activity (normalised)", "activity (gaussian), held-out recorded",
        "output only, small readout", "activity (gaussian), matched readout",
        "activity (gaussian), held-out recorded, matched readout", "output only, jitter 5 ms",
        "activity (gaussian), jitter 5 ms", "activity (gaussian), then output only")
# an arm ending in JITTER trains on input spikes moved anew in every epoch (spike_jitter=5.0, a
# Gaussian offset of sd 5 ms; docs/model.md, Training); otherwise it is the arm without the suffix
JITTER = ", jitter 5 ms"
# an arm ending in THEN_OUTPUT is the arm without the suffix, then FINE_TUNE x the epochs more of
# output-only training from where it ended (warm_start, activity_weight=0): activity matching shapes
# the dynamics, the outputs are fitted last
THEN_OUTPUT = ", then output only"
FINE_TUNE = 0.25


def activity_params(kernel, weight=0.01):
    """The activity-matching settings of the arms "activity (exponential)" and "activity
    (gaussian)" (the kernel's time constant is 20 ms); ``select_weight_decay.py`` uses them too."""
    return dict(activity_weight=weight, activity_kernel=kernel, activity_tau=20.0)


# appended by --other-logs to the arms of a run with other settings (a baseline from another run)
OTHER_RUN = ", other run"
# the normalised arm's setting, chosen on the development seeds 100-104 (docs/dynamics_matching.md)
# (the only setting tried there that neither ran away on any seed nor left the matched units unfitted)
NORMALISED = dict(weight=0.3, kernel="gaussian", rate_bound=True)
OUTPUT_ONLY = ("output only", "output only + rate bound", "output only, small readout")


def run(seed, arm, fraction=0.1, activity_weight=0.01, epochs=400, n_jobs=1, normalised=None,
        null_rotations=2, task=None, recurrent_lr_scale=None, extra=None):
    """Fit one arm on one seed and return its metrics (a dict of floats); ``normalised`` overrides
    keys of ``NORMALISED`` for the "activity (normalised)" arm, ``task`` keys of ``TASK``;
    ``recurrent_lr_scale`` None keeps the estimator's default; ``extra`` adds estimator parameters
    to every arm (before the arm's own)."""
    normalised = dict(NORMALISED, **(normalised or {}))
    task = dict(TASK, **(task or {}))
    held_out = tuple(task["held_out"])
    data = _data(seed, null_rotations, task)
    n_components = data.latents.shape[-1]  # the teacher's latent dimensionality
    # pool: the trials training may use; with fresh_test, the second half of each condition's
    # trials is kept out of every fit and the held-out error is measured on those trials
    pool = _training_pool(data.condition, task)
    held = np.isin(data.condition, held_out)
    train = pool & ~held
    test = held & ~pool if task["fresh_test"] else held
    if task["input_tuning"] == "cosine":
        data.X = cosine_inputs(data, seed)
    if task["target_input"] == "until go":
        data.X = memory_inputs(data, seed)
    sample = sample_neurons(data, fraction, random_state=seed)
    R = data.rates[train][:, :, sample]
    params = dict(PARAMS, **(extra or {}), max_epochs=epochs, random_state=seed, n_jobs=n_jobs)
    if arm.endswith(JITTER):
        params.update(spike_jitter=5.0)
        arm = arm.removesuffix(JITTER)
    then_output = arm.endswith(THEN_OUTPUT)
    arm = arm.removesuffix(THEN_OUTPUT)
    if recurrent_lr_scale is not None:
        params.update(recurrent_lr_scale=recurrent_lr_scale)
    neural = None
    if arm == "untrained":  # one epoch at a negligible step size: the initial weights
        params.update(max_epochs=1, learning_rate=1e-12)
    elif arm == "output only + rate bound":
        params.update(rate_weight=RATE_WEIGHT, rate_bounds=(0.0, float(R.mean())))
    elif arm.startswith("activity"):
        if not len(sample):
            raise ValueError("--fraction gives an empty sample: no activity to match")
        kernel = arm.split("(")[1].split(")")[0]
        params.update(activity_params(kernel, activity_weight))
        if kernel == "normalised":
            params.update(activity_weight=normalised["weight"], activity_kernel=normalised["kernel"],
                          activity_normalize=True)
            if normalised["rate_bound"]:
                params.update(rate_weight=RATE_WEIGHT, rate_bounds=(0.0, float(R.mean())))
        neural = R
    elif arm not in ("output only", "output only, small readout"):
        raise ValueError(f"unknown arm {arm!r}; choose from {ARMS}")
    if arm.endswith("readout"):  # the readout sees only the first len(sample) units
        params.update(architecture=matched_readout(params["n_hidden"], len(sample),
                                                   params["recurrent_scale"]))
    reg = SpikingRNNRegressor(**params)
    t0 = time.perf_counter()
    if "held-out recorded" in arm:
        # another protocol: the held-out conditions' outputs stay unknown (NaN: missing targets),
        # but the sampled neurons were recorded in them too, so their activity is matched
        y = np.where(train[:, None, None], data.y, np.nan)
        reg.fit(data.X[pool], y[pool], neural_targets=data.rates[pool][:, :, sample])
    elif neural is not None:
        reg.fit(data.X[train], data.y[train], neural_targets=neural)
    else:
        reg.fit(data.X[train], data.y[train])
    if then_output:
        reg.set_params(activity_weight=0.0, warm_start=True, max_epochs=max(1, round(FINE_TUNE * epochs)))
        reg.fit(data.X[train], data.y[train])
    seconds = time.perf_counter() - t0

    spikes = reg.simulate(data.X, membrane=False).spikes
    model = trajectories(spikes, data.condition, n_components=1, smoothing_ms=SMOOTHING_MS,
                         dt=data.dt).condition_means
    teacher = _means_per_condition(data.rates, data.condition, task["n_conditions"]).astype(np.float64)
    n = len(sample)

    def cca(m, normalize=None):
        m = m[:, :, m.reshape(-1, m.shape[-1]).std(axis=0) > 0]  # silent units carry nothing
        if m.shape[-1] < n_components:
            return float("nan")
        return similarity(m, teacher, method="cca", n_components=n_components, normalize=normalize).score

    predicted = reg.predict(data.X)  # every condition's outputs, for the held-out error and the blend
    trained = [c for c in range(task["n_conditions"]) if c not in held_out]
    return dict(
        cca=cca(model),
        cca_unmatched=cca(model[:, :, n:]),
        cca_soft=cca(model, "soft"),
        cca_soft_unmatched=cca(model[:, :, n:], "soft"),
        procrustes=similarity(model, teacher, method="procrustes", n_components=n_components).score,
        **heldout_errors(data, predicted, test, held_out, task["n_conditions"]),
        train_r2=reg.score(data.X[train], data.y[train]),
        # below the targets' own trial-to-trial spread, a student has learnt part of the training
        # trials' noise, which nothing in X predicts
        train_mse=float(np.mean((predicted[train] - data.y[train]) ** 2)),
        train_target_var=_spread(data.y[train], data.condition[train],
                                 _means_per_condition(data.y[train], data.condition[train], task["n_conditions"],
                                                      trained), trained),
        **matched_errors(model[:, :, :n], teacher[:, :, sample], data.times, held_out),
        rate_hz=float(spikes.mean() * 1000.0 / data.dt),
        teacher_rate_hz=float(data.rates.mean()),  # the teacher's mean rate, for comparison
        seconds=seconds,
    )


def heldout_errors(data, predicted, test, held_out, n_conditions):
    """Errors of a student's outputs ``predicted`` (every trial of ``data``) on the held-out
    conditions, measured on the trials ``test`` (all their trials, or the fresh ones): single-trial
    MSE, the MSE of the condition means, the trial-to-trial spreads of the predictions and of the
    targets, and how far the condition-mean outputs lie from a blend of their neighbours'
    (``blend_residual``)."""
    # the held-out conditions' means over the test trials only
    pred_test = _means_per_condition(predicted[test], data.condition[test], n_conditions, held_out)
    true_test = _means_per_condition(data.y[test], data.condition[test], n_conditions, held_out)
    return dict(
        heldout_mse=float(np.mean((predicted[test] - data.y[test]) ** 2)),
        heldout_mse_mean=float(np.mean((pred_test - true_test) ** 2)),
        # single-trial MSE = condition-mean error + the spread of the predictions around their mean
        # + the targets' trial-to-trial spread (which no input can predict: the teacher's noise is
        # not in X), up to a cross term that vanishes on average
        heldout_pred_var=_spread(predicted[test], data.condition[test], pred_test, held_out),
        heldout_target_var=_spread(data.y[test], data.condition[test], true_test, held_out),
        heldout_blend=blend_residual(_means_per_condition(predicted, data.condition, n_conditions), held_out),
    )


def matched_errors(matched, target, times, held_out):
    """The matched units' condition-mean rates ``matched`` against their teacher neurons'
    ``target`` (both (conditions, bins, units)): R² over everything, and the error before the go
    cue (the preparatory state that the target input must set) and after it (the dynamics), on the
    trained and the held-out reaches; in units of the recorded neurons' variance over all reaches
    and bins (0: exact; 1: as far off as their mean)."""
    prep = times < 0
    trained = [c for c in range(len(matched)) if c not in held_out]
    variance = ((target - target.mean(axis=(0, 1))) ** 2).mean()

    def error(conditions, bins):
        return float(((matched[conditions][:, bins] - target[conditions][:, bins]) ** 2).mean() / variance)

    return dict(
        matched_r2=1.0 - float(((matched - target) ** 2).mean() / variance),
        matched_err_train_prep=error(trained, prep),
        matched_err_train_move=error(trained, ~prep),
        matched_err_heldout_prep=error(list(held_out), prep),
        matched_err_heldout_move=error(list(held_out), ~prep),
    )


def matched_readout(n_hidden, k, recurrent_scale):
    """The single recurrent population of the other arms cut in two: ``"rec"`` (the first ``k``
    units, where the recorded neurons are matched) and ``"hid"`` (the rest). Both receive the
    input; every unit reads every unit's previous-step spikes (within a population "recurrent",
    between them "feedback", all trainable at the recurrent step size), with each block's initial
    scale ``recurrent_scale * sqrt(n_source / n_hidden)`` so that the whole recurrent matrix starts
    as the single population's does. Only ``"rec"`` drives the readout: the outputs are a linear
    function of the matched units' spikes."""
    sizes = {"rec": k, "hid": n_hidden - k}
    projections = [Projection("input", "rec"), Projection("input", "hid")]
    for src in sizes:
        for tgt in sizes:
            projections.append(Projection(src, tgt, "recurrent" if src == tgt else "feedback",
                                          init_scale=recurrent_scale * np.sqrt(sizes[src] / n_hidden)))
    projections.append(Projection("rec", "readout"))
    return Topology(populations=[Population(name, size) for name, size in sizes.items()],
                    projections=projections)


def cosine_inputs(data, seed, rates=(5.0, 80.0)):
    """``data.X`` with its target channels redrawn as cosine-tuned Poisson inputs: channel ``j``
    fires at ``low + (high - low) (1 + cos(theta - pd_j)) / 2`` (``rates`` = the generator's
    default ``input_rates``) instead of the generator's narrower ``exp(2 (cos - 1))`` bump. Every
    input then is an affine function of ``(cos theta, sin theta)``, like the teacher's preparatory
    state, so a held-out reach's mean input is a linear combination of the trained ones'. Go
    channels are kept."""
    low, high = rates
    pds = data.teacher["input_preferred_directions"]
    rate = low + (high - low) * (1.0 + np.cos(data.angles[:, None] - pds[None, :])) / 2.0
    lam = np.broadcast_to(rate[:, None, :] * data.dt / 1000.0, (*data.X.shape[:2], len(pds)))
    X = data.X.copy()
    X[:, :, :len(pds)] = np.minimum(np.random.default_rng([seed, 1]).poisson(lam), 255)
    return X


def memory_inputs(data, seed, low=5.0):
    """``data.X`` with its target channels silenced to their untuned rate ``low`` (the generator's
    default ``input_rates[0]``) from the go cue on: a memory-guided reach, where the target is
    shown only during preparation. The teacher's own preparatory input also ends at the go cue, so
    the students then get the target information only when the teacher does, and must generate the
    movement from their internal state. Go channels are kept."""
    n_target = len(data.teacher["input_preferred_directions"])
    n_after = data.X.shape[1] - data.go_bin
    X = data.X.copy()
    lam = np.full((X.shape[0], n_after, n_target), low * data.dt / 1000.0)
    X[:, data.go_bin:, :n_target] = np.minimum(np.random.default_rng([seed, 2]).poisson(lam), 255)
    return X


def _means_per_condition(a, condition, n_conditions, conditions=None):
    """``a`` (trials first) averaged over the trials of each condition (of ``conditions``, default
    all), stacked in that order."""
    conditions = range(n_conditions) if conditions is None else conditions
    return np.stack([a[condition == c].mean(axis=0) for c in conditions])


def _spread(a, condition, means, conditions):
    """Mean squared deviation of the trials of ``a`` from their condition's mean (``means``, one per
    condition of ``conditions``, in that order), over trials, time steps and outputs."""
    return float(np.mean(np.concatenate([((a[condition == c] - means[i]) ** 2).ravel()
                                         for i, c in enumerate(conditions)])))


def _data(seed, null_rotations, task):
    """The reaching data of ``run``: twice the trials per condition with ``fresh_test`` (the
    teacher is drawn before the trials, so it is the same either way)."""
    n_per = task["trials_per_condition"] * (2 if task["fresh_test"] else 1)
    return make_reaching_dynamics(n_conditions=task["n_conditions"], n_trials_per_condition=n_per,
                                  n_null_rotations=null_rotations, go_time=task["go_time"],
                                  n_timesteps=task["n_timesteps"], random_state=seed)


def _training_pool(condition, task):
    """Trials that fits may use: all, or with ``fresh_test`` the first ``trials_per_condition``
    trials of each condition (in trial order)."""
    if not task["fresh_test"]:
        return np.ones(len(condition), dtype=bool)
    rank = np.empty(len(condition), dtype=np.int64)
    for c in np.unique(condition):
        idx = np.flatnonzero(condition == c)
        rank[idx] = np.arange(len(idx))
    return rank < task["trials_per_condition"]


def _condition_means(seed, null_rotations=2, task=None):
    """The teacher's mean output per condition (trial noise removed), each condition's reach angle,
    and the held-out conditions, for the task of ``run``."""
    task = dict(TASK, **(task or {}))
    n = task["n_conditions"]
    data = _data(seed, null_rotations, task)
    means = _means_per_condition(data.y, data.condition, n)
    angle = np.array([data.angles[data.condition == c][0] for c in range(n)])
    return means, angle, tuple(task["held_out"])


def interpolation_baseline(means, held_out):
    """Held-out MSE of condition means if each held-out condition's mean output is predicted by the
    average of its two neighbouring conditions' mean outputs (``means`` from ``_condition_means``):
    what plain interpolation between trained reach directions achieves, no network involved. NaN
    when a neighbour is itself held out."""
    n = len(means)
    errors = [np.mean(((means[(c - 1) % n] + means[(c + 1) % n]) / 2 - means[c]) ** 2)
              if (c - 1) % n not in held_out and (c + 1) % n not in held_out else np.nan
              for c in held_out]
    return float(np.mean(errors))


def blend_residual(means, held_out):
    """Mean over held-out conditions of ``min_a MSE(means[c], a means[c-1] + (1-a) means[c+1])``:
    how far each held-out condition's mean output lies from the best blend (any real ``a``) of its
    two neighbouring conditions' mean outputs. Given a student's condition means it measures whether
    the student's held-out output is a blend of its outputs for the neighbouring trained reaches;
    given the teacher's, ``a`` is fitted to the held-out target itself (an oracle, no network), and
    the result is the lowest held-out error any predictor that blends neighbouring trained outputs
    can reach. NaN when a neighbour is itself held out."""
    n = len(means)
    errors = []
    for c in held_out:
        left, right = (c - 1) % n, (c + 1) % n
        if left in held_out or right in held_out:
            errors.append(np.nan)
            continue
        d, t = (means[left] - means[right]).ravel(), (means[c] - means[right]).ravel()
        a = float(d @ t / (d @ d)) if d @ d > 0 else 0.0
        errors.append(np.mean((t - a * d) ** 2))
    return float(np.mean(errors))


def harmonic_baseline(means, angle, held_out, n_harmonics=2):
    """Held-out MSE of condition means if each output's condition mean, at every time step, is
    regressed (least squares, on the trained conditions) on ``1, cos(k a), sin(k a)`` for
    ``k = 1..n_harmonics`` of the reach angle ``a``, and predicted at the held-out angles: how
    smooth a function of the reach direction the teacher's outputs are, no network involved. NaN
    when fewer trained conditions than coefficients."""
    n = len(means)
    basis = np.column_stack([np.ones(n)] + [f(k * angle) for k in range(1, n_harmonics + 1)
                                            for f in (np.cos, np.sin)])
    trained = [c for c in range(n) if c not in held_out]
    if len(trained) < basis.shape[1]:
        return float("nan")
    coef, *_ = np.linalg.lstsq(basis[trained], means[trained].reshape(len(trained), -1), rcond=None)
    pred = (basis[list(held_out)] @ coef).reshape(len(held_out), *means.shape[1:])
    return float(np.mean((pred - means[list(held_out)]) ** 2))


COLUMNS = [("cca", "CCA, whole hidden pop. ↑"), ("cca_unmatched", "CCA, unmatched units ↑"),
           ("cca_soft", "CCA soft-norm., whole pop. ↑"), ("cca_soft_unmatched", "CCA soft-norm., unmatched ↑"),
           ("procrustes", "Procrustes ↑"), ("heldout_mse", "held-out-condition MSE ↓"),
           ("heldout_mse_mean", "held-out MSE of condition means ↓"),
           ("heldout_pred_var", "held-out predictions' trial-to-trial spread"),
           ("heldout_target_var", "held-out targets' trial-to-trial spread"),
           ("heldout_blend", "held-out output off the blend of neighbours"),
           ("train_r2", "train-condition R² ↑"), ("train_mse", "train-trial MSE"),
           ("train_target_var", "train targets' trial-to-trial spread"), ("matched_r2", "matched units R² ↑"),
           ("matched_err_train_prep", "matched units' error, trained reaches, before the go cue ↓"),
           ("matched_err_train_move", "the same after the go cue ↓"),
           ("matched_err_heldout_prep", "matched units' error, held-out reaches, before the go cue ↓"),
           ("matched_err_heldout_move", "the same after the go cue ↓"),
           ("rate_hz", "hidden rate (Hz)"), ("seconds", "fit time (s)")]


def _wilcoxon(d, greater):
    """One-sided Wilcoxon signed-rank test of the paired differences in the "better" direction."""
    d = d[~np.isnan(d)]
    if len(d) < 2 or not np.any(d):
        return "Wilcoxon p n/a"
    p = wilcoxon(d, alternative="greater" if greater else "less").pvalue
    return f"one-sided Wilcoxon p = {p:.3f}"


def read_logs(paths, other_paths=()):
    """Seeds and per-arm metrics from the per-seed lines (``seed N ARM key=value ...``) that earlier
    runs printed, e.g. two processes run in parallel on different seeds. Every arm must appear for
    every seed, in the same order. The arms of ``other_paths`` (runs with other settings, e.g.
    without the ``--params`` of the others) get ``OTHER_RUN`` appended to their names."""
    pattern = re.compile(r"^seed\s+(\d+) (.+?) +((?:\w+=\S+ ?)+)$")
    per_seed = {}
    for path, suffix in [(p, "") for p in paths] + [(p, OTHER_RUN) for p in other_paths]:
        with open(path) as f:
            for line in f:
                m = pattern.match(line.rstrip("\n"))
                if m:
                    values = dict(kv.split("=") for kv in m.group(3).split())
                    per_seed.setdefault(int(m.group(1)), {})[m.group(2).strip() + suffix] = {
                        k: float(v) for k, v in values.items()}
    if not per_seed:
        raise SystemExit(f"no per-seed lines in {paths}")
    seeds = sorted(per_seed)
    arms = list(per_seed[seeds[0]])
    if any(list(per_seed[s]) != arms for s in seeds):
        raise SystemExit("the logs do not hold the same arms for every seed")
    return seeds, {arm: [per_seed[s][arm] for s in seeds] for arm in arms}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5,
                   help="number of seeds: runs seeds 0 .. N-1 (default 5: the evaluation seeds 0-4; "
                        "the configuration was chosen on seeds 100-104)")
    p.add_argument("--seed-list", type=int, nargs="+", default=None, metavar="SEED",
                   help="explicit seeds to run instead, e.g. --seed-list 100 101 102 103 104")
    p.add_argument("--fraction", type=float, default=0.1)
    p.add_argument("--epochs", type=int, default=400)
    p.add_argument("--activity-weight", type=float, default=0.01,
                   help="weight of the activity term (rates in Hz: 0.01 makes a 10 Hz error cost as "
                        "much as an error of one standard deviation on an output)")
    p.add_argument("--normalised-weight", type=float, default=NORMALISED["weight"],
                   help="activity_weight of the normalised arm (the term is then in units of each "
                        "recorded neuron's variance: 1 = predicting its mean)")
    p.add_argument("--normalised-kernel", default=NORMALISED["kernel"], choices=("exponential", "gaussian"))
    p.add_argument("--normalised-rate-bound", action=argparse.BooleanOptionalAction,
                   default=NORMALISED["rate_bound"],
                   help="add the control arm's rate bound to the normalised arm (default: yes)")
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS, metavar="ARM",
                   help=f"arms to run, from {ARMS}")
    p.add_argument("--null-rotations", type=int, default=2,
                   help="output-null rotational planes of the teacher (make_reaching_dynamics's "
                        "n_null_rotations): dynamics the outputs do not determine")
    p.add_argument("--conditions", type=int, default=TASK["n_conditions"], help="reach conditions")
    p.add_argument("--trials-per-condition", type=int, default=TASK["trials_per_condition"])
    p.add_argument("--held-out", type=int, nargs="+", default=list(TASK["held_out"]), metavar="C",
                   help="conditions never seen in training (default 3 7)")
    p.add_argument("--input-tuning", choices=("von_mises", "cosine"), default=TASK["input_tuning"],
                   help="the students' target channels: the generator's (von_mises) or redrawn with "
                        "cosine tuning (cosine_inputs)")
    p.add_argument("--target-input", choices=("whole trial", "until go"), default=TASK["target_input"],
                   help="the target channels carry the target during the whole trial (the generator's "
                        "default) or only until the go cue, like the teacher's preparatory input "
                        "(memory_inputs: a memory-guided reach)")
    p.add_argument("--go-time", type=float, default=TASK["go_time"],
                   help="ms of preparation before the go cue (make_reaching_dynamics's go_time)")
    p.add_argument("--timesteps", type=int, default=TASK["n_timesteps"],
                   help="bins per trial (1 ms each); keep it go time + 250 for the same movement")
    p.add_argument("--fresh-test", action="store_true",
                   help="generate twice the trials per condition, keep the second half of every "
                        "condition out of all fits, and measure the held-out error on those fresh trials "
                        "(for the 'held-out recorded' arm, whose fit sees the held-out reaches' first half)")
    p.add_argument("--recurrent-lr-scale", type=float, default=None,
                   help="the students' recurrent_lr_scale (default: the estimator's, 0.2; 1 trains "
                        "every weight at the same rate, as before it existed)")
    p.add_argument("--params", type=json.loads, default=None, metavar="JSON",
                   help='extra estimator parameters for every arm, e.g. \'{"optimizer": "adamw", "weight_decay": 0.1}\'')
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--from-logs", nargs="+", default=None, metavar="LOG",
                   help="fit nothing: read the per-seed lines of earlier runs' output (e.g. two runs on "
                        "different seeds) and print the tables and paired comparisons of all their seeds; "
                        "give the same task options (--null-rotations, --fresh-test, ...) as those runs")
    p.add_argument("--other-logs", nargs="+", default=(), metavar="LOG",
                   help="with --from-logs: logs of runs with other settings on the same seeds (e.g. output "
                        f"only without the --params of the others); their arms get '{OTHER_RUN}' appended and "
                        "each activity arm is compared with their output-only arms too")
    args = p.parse_args(argv)
    task = dict(n_conditions=args.conditions, trials_per_condition=args.trials_per_condition,
                held_out=tuple(args.held_out), input_tuning=args.input_tuning, fresh_test=args.fresh_test,
                target_input=args.target_input, go_time=args.go_time, n_timesteps=args.timesteps)
    seeds = list(args.seed_list) if args.seed_list else list(range(args.seeds))

    if args.from_logs:
        seeds, rows = read_logs(args.from_logs, args.other_logs)
    else:
        rows = {arm: [] for arm in args.arms}
        for seed in seeds:
            for arm in args.arms:
                r = run(seed, arm, args.fraction, args.activity_weight, args.epochs, args.n_jobs,
                        dict(weight=args.normalised_weight, kernel=args.normalised_kernel,
                             rate_bound=args.normalised_rate_bound), args.null_rotations, task,
                        args.recurrent_lr_scale, args.params)
                rows[arm].append(r)
                print(f"seed {seed:3d} {arm:26s} " + " ".join(f"{k}={v:.3f}" for k, v in r.items()),
                      flush=True)

    def fmt(v):
        v = np.asarray(v, dtype=float)
        if np.isnan(v).all():  # a metric that the logs of earlier versions of this script lack
            return "n/a"
        sd = np.nanstd(v, ddof=1) if np.sum(~np.isnan(v)) > 1 else 0.0
        return f"{np.nanmean(v):.3f} ± {sd:.3f}"

    print()
    if args.params:
        print(f"extra estimator parameters for every arm: {args.params}")
    print(f"seeds {seeds}, {args.epochs} epochs, {args.fraction:.0%} sample, activity_weight "
          f"{args.activity_weight}, normalised arm: weight {args.normalised_weight}, "
          f"{args.normalised_kernel} kernel{', rate bound' if args.normalised_rate_bound else ''}; "
          f"mean ± sd; held-out conditions {task['held_out']} of {task['n_conditions']} "
          f"({task['trials_per_condition']} trials each{' for training, as many fresh ones for the held-out error' if task['fresh_test'] else ''}); {task['input_tuning']} target inputs, {task['target_input']}; go cue at {task['go_time']:g} ms of {task['n_timesteps']}; "
          f"CCA/Procrustes on {2 * (3 + args.null_rotations)} PCs")
    print()
    print("| training | " + " | ".join(c[1] for c in COLUMNS) + " |")
    print("|---|" + "---:|" * len(COLUMNS))
    for arm, rs in rows.items():
        # (logs of earlier versions of this script lack the newer metrics: n/a)
        print(f"| {arm} | " + " | ".join(fmt([r.get(k, np.nan) for r in rs]) for k, _ in COLUMNS) + " |")

    print()
    print("per seed (CCA whole pop. / CCA soft-normalised whole pop. / held-out MSE):")
    print()
    print("| seed | " + " | ".join(rows) + " |")
    print("|---:|" + "---|" * len(rows))
    for i, seed in enumerate(seeds):
        cells = [f"{rs[i]['cca']:.3f} / {rs[i]['cca_soft']:.3f} / {rs[i]['heldout_mse']:.3f}"
                 for rs in rows.values()]
        print(f"| {seed} | " + " | ".join(cells) + " |")

    print()
    references = [_condition_means(seed, args.null_rotations, task) for seed in seeds]
    interp = [interpolation_baseline(means, held_out) for means, _, held_out in references]
    print("held-out MSE of condition means when each held-out condition is predicted by the mean of its "
          f"two trained neighbours (no network): {np.round(interp, 3).tolist()} (mean {np.nanmean(interp):.3f})")
    harm = [harmonic_baseline(*reference) for reference in references]
    print("the same when each output's condition means are regressed on 1, cos, sin, cos 2a, sin 2a of the "
          f"reach angle a over the trained conditions (no network): {np.round(harm, 3).tolist()} "
          f"(mean {np.nanmean(harm):.3f})")
    blend = [blend_residual(means, held_out) for means, _, held_out in references]
    print("the same for the best blend a*left + (1-a)*right of the two trained neighbours' means, a fitted "
          f"to the held-out target (an oracle, no network): {np.round(blend, 3).tolist()} "
          f"(mean {np.nanmean(blend):.3f})")

    print()
    # each activity arm against each output-only arm, and each jittered output-only arm against
    # the same arm without jitter
    pairs = [(a, b) for a in rows if a.startswith("activity")
             for b in rows if b.removesuffix(OTHER_RUN).removesuffix(JITTER) in OUTPUT_ONLY]
    pairs += [(a, a.removesuffix(JITTER)) for a in rows
              if a.endswith(JITTER) and a.removesuffix(JITTER) in set(OUTPUT_ONLY) & set(rows)]
    for act, base in pairs:
        for key, better in (("cca", np.greater), ("cca_unmatched", np.greater),
                            ("cca_soft", np.greater), ("cca_soft_unmatched", np.greater),
                            ("heldout_mse", np.less), ("heldout_mse_mean", np.less),
                            ("heldout_pred_var", np.less)):
            a = np.array([r.get(key, np.nan) for r in rows[act]])
            b = np.array([r.get(key, np.nan) for r in rows[base]])
            if np.isnan(a).all() or np.isnan(b).all():  # not in the logs of earlier versions
                continue
            d = a - b
            print(f"{act} vs {base}, {key}: {act} better on {int(better(a, b).sum())}/{len(d)} "
                  f"seeds; differences {np.round(d, 3).tolist()} (mean {np.nanmean(d):+.3f}, "
                  f"median {np.nanmedian(d):+.3f}, {_wilcoxon(d, better is np.greater)})")


if __name__ == "__main__":
    main()
