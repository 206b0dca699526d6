"""Baseline decoders, to judge the spiking networks against.

The motor-cortex decoding literature compares against simple decoders of spike counts in the same
window. :class:`PoissonNaiveBayes` treats each channel's count in the window as Poisson with a
class-specific rate and independent channels. Logistic regression on counts is available directly
from scikit-learn (``make_pipeline(SpikeCountTransformer(), LogisticRegression())``).

The motorSRNN paper also compared with GRU and LSTM decoders. :class:`GRUClassifier` and
:class:`LSTMClassifier` decode the binned spike counts with one GRU or LSTM layer; they need
PyTorch, an optional dependency (``python -m pip install torch``, or motorsrnn's extra
``"motorsrnn[gru]"``), imported only when one is
fitted or used.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, OneToOneFeatureMixin, RegressorMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._validation import check_bool, check_memory, check_number, check_seed, install_hint
from .estimators import (
    TraceScoreMixin,
    check_classification_data,
    check_early_stopping_params,
    check_groups,
    check_labels,
    check_n_channels,
    check_regression_targets,
    check_sample_weight,
    check_spikes,
    early_stopping_split,
    log_softmax,
    set_feature_names,
)

__all__ = ["GRUClassifier", "LSTMClassifier", "PoissonNaiveBayes", "SpikeCountTransformer", "WienerFilter", "has_torch"]


class SpikeCountTransformer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Sum spike counts over the time bins of each trial.

    Parameters
    ----------
    log1p : bool, default=False
        Return ``log(1 + count)`` instead of the count.

    Attributes
    ----------
    n_features_in_ : int
        Number of channels seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D table (e.g. a pandas DataFrame of counts) given to :meth:`fit`;
        absent otherwise.

    Notes
    -----
    Input is validated like the spiking estimators' (3-D trials x time x channels or 2-D
    trials x channels, non-negative finite counts); output is float64 of shape
    (n_trials, n_channels). One output feature per channel: ``get_feature_names_out`` gives the
    input's column names, or ``x0``, ``x1``, ... , so ``set_output(transform="pandas")`` works.
    """

    def __init__(self, log1p=False) -> None:
        self.log1p = log1p

    def fit(self, X, y=None) -> "SpikeCountTransformer":
        """Record the number of channels.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)
        y : ignored

        Returns
        -------
        self
        """
        check_bool(self.log1p, "log1p")
        self.n_features_in_ = check_spikes(X).shape[2]
        set_feature_names(self, X)
        return self

    def transform(self, X) -> np.ndarray:
        """Counts per channel summed over time.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials, n_channels)
        """
        check_is_fitted(self, "n_features_in_")
        Xc = check_spikes(X)
        check_n_channels(self, Xc, X)
        counts = Xc.sum(axis=1, dtype=np.float64)
        return np.log1p(counts) if self.log1p else counts

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        return tags


class PoissonNaiveBayes(ClassifierMixin, BaseEstimator):
    """Naive Bayes with Poisson spike counts per channel and class.

    The count of channel ``c`` in a window of a trial of class ``k`` is Poisson with mean
    ``lambda_kc = (S_kc + alpha) / (n_k + 1)``, where ``S_kc`` is the class's summed training count of
    the channel and ``n_k`` its number of trials (weighted, with ``sample_weight``): the class mean,
    shrunk towards ``alpha`` by one pseudo-trial, so no rate is zero. Channels are independent given
    the class.

    Parameters
    ----------
    alpha : float, default=0.1
        Count of the one pseudo-trial each class's rates are shrunk towards (avoids zero rates).
    fit_prior : bool, default=True
        Use the class frequencies as priors (else uniform).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    rates_ : ndarray of shape (n_classes, n_channels)
        Rate per window ``(S_kc + alpha) / (n_k + 1)``, see above.
    class_log_prior_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D table given to :meth:`fit`; absent otherwise.
    """

    def __init__(self, alpha=0.1, fit_prior=True) -> None:
        self.alpha = alpha
        self.fit_prior = fit_prior

    def fit(self, X, y, sample_weight=None) -> "PoissonNaiveBayes":
        """Estimate the class rates.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)
        y : array-like of shape (n_trials,)
        sample_weight : array-like of shape (n_trials,), float or None
            Weight of each trial in the class means and (with ``fit_prior``) the class
            frequencies. As in scikit-learn's naive Bayes, a weight counts as repetitions:
            integer weights give the model of the repeated trials, so (unlike the spiking
            estimators' weights) their scale matters, through the pseudo-count ``alpha``.

        Returns
        -------
        self
        """
        check_number(self.alpha, "alpha", low=0, strict_low=True)
        check_bool(self.fit_prior, "fit_prior")
        counts = check_spikes(X).sum(axis=1, dtype=np.float64)
        y = check_labels(y)
        if len(y) != len(counts):
            raise ValueError(f"X has {len(counts)} trials but y has {len(y)} labels")
        w = check_sample_weight(sample_weight, len(y))
        classes, idx = np.unique(y, return_inverse=True)
        n_k = np.bincount(idx, weights=w, minlength=len(classes)).astype(np.float64)
        sums = np.zeros((len(classes), counts.shape[1]))
        with np.errstate(over="ignore"):  # checked below, with advice
            np.add.at(sums, idx, counts if w is None else counts * w[:, None])
        if not (np.isfinite(sums).all() and np.isfinite(n_k.sum())):
            raise ValueError("sample_weight times the spike counts overflows: divide the weights by a common factor")
        prior = n_k / n_k.sum() if self.fit_prior else np.full(len(n_k), 1.0 / len(n_k))
        # the fitted attributes together, after every check: a refit that raises leaves the old model
        self.classes_, self.rates_ = classes, (sums + self.alpha) / (n_k[:, None] + 1.0)
        with np.errstate(divide="ignore"):  # with fit_prior, a class whose trials all have weight 0 is never predicted
            self.class_log_prior_ = np.log(prior)
        self.n_features_in_ = counts.shape[1]
        set_feature_names(self, X)
        return self

    def _joint_log_likelihood(self, X):
        check_is_fitted(self, "rates_")
        Xc = check_spikes(X)
        check_n_channels(self, Xc, X)
        counts = Xc.sum(axis=1, dtype=np.float64)
        # log P(x | k) = sum_c x_c log(lambda_kc) - lambda_kc - log(x_c!)  (the last term is shared)
        return counts @ np.log(self.rates_).T - self.rates_.sum(axis=1) + self.class_log_prior_

    def predict_proba(self, X) -> np.ndarray:
        """Posterior class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials, n_classes)
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of the posterior class probabilities (as scikit-learn's naive Bayes; exact
        where ``predict_proba`` underflows to 0).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials, n_classes)
        """
        return log_softmax(self._joint_log_likelihood(X))

    def predict(self, X) -> np.ndarray:
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials,)
        """
        jll = self._joint_log_likelihood(X)
        return self.classes_[np.argmax(jll, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        return tags


class WienerFilter(TraceScoreMixin, RegressorMixin, BaseEstimator):
    """Linear decoder of continuous outputs from lagged spike counts (a Wiener filter).

    The classic brain-computer-interface baseline for decoding velocity or EMG from motor
    cortex: each output at step ``t`` is a linear function (ridge regression) of every channel's
    spike counts in the ``n_lags`` windows of ``lag_width`` bins up to and including ``t``
    (causal: no bin after ``t``; before the trial's start the counts are zero). For targets per
    trial, the outputs are a linear function of each channel's count in the whole window.

    Parameters
    ----------
    n_lags : int, default=10
        Windows of history per channel, the current one included (per-step targets).
    lag_width : int, default=1
        Bins summed into each window: ``n_lags * lag_width`` bins of history in all (e.g. 10 lags
        of 20 bins of 1 ms: the last 200 ms).
    alpha : float, default=1.0
        Ridge penalty on the weights (not on the intercepts), as ``sklearn.linear_model.Ridge``,
        which solves it.

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, n_features)
        Weights; per-step features are ordered lag-major: feature ``j * n_channels + c`` is
        channel ``c``'s count in the ``j``-th window back (``j = 0``: the window that ends at
        ``t``); per-trial features are the channels' counts.
    intercept_ : ndarray of shape (n_outputs,)
    per_step_ : bool
        Fitted on targets per time step.
    n_outputs_ : int
    n_features_in_ : int
        Number of channels.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D table given to :meth:`fit`; absent otherwise.

    Notes
    -----
    ``score`` is the regressors' R^2 (averaged over outputs, every step of every trial a sample
    for per-step targets), as :meth:`motorsrnn.SpikingRNNRegressor.score`. Missing targets (NaN)
    are left out of the fit: with some missing, each output is fitted on its observed samples.
    Input is validated like the spiking estimators'.

    Examples
    --------
    >>> import numpy as np
    >>> from motorsrnn.baselines import WienerFilter
    >>> rng = np.random.default_rng(0)
    >>> X = rng.poisson(0.3, (60, 40, 5))
    >>> Y = np.cumsum(X[:, :, :1], axis=1) - np.cumsum(X[:, :, 1:2], axis=1)  # a running difference
    >>> wf = WienerFilter(n_lags=2, lag_width=10).fit(X[:40], Y[:40])  # the last 20 bins
    >>> wf.predict(X[40:]).shape
    (20, 40, 1)
    >>> round(wf.score(X[40:], Y[40:]), 2)  # the running sums reach 40 bins back
    0.73
    >>> round(WienerFilter(n_lags=4, lag_width=10).fit(X[:40], Y[:40]).score(X[40:], Y[40:]), 2)
    1.0
    """

    def __init__(self, n_lags=10, lag_width=1, alpha=1.0) -> None:
        self.n_lags = n_lags
        self.lag_width = lag_width
        self.alpha = alpha

    def _features(self, Xc: np.ndarray, per_step: bool) -> np.ndarray:
        """Per-step lagged counts ``(n_trials * n_timesteps, n_lags * n_channels)`` or per-trial
        counts ``(n_trials, n_channels)``, float64."""
        if not per_step:
            return Xc.sum(axis=1, dtype=np.float64)
        n, steps, c = Xc.shape
        lags, width = int(self.n_lags), int(self.lag_width)
        check_memory(3 * 8 * n * steps * lags * c, f"the lagged counts of {n} trials x {steps} steps x {lags} lags x {c} "
                     "channels (and the ridge regression's copies)", "use fewer lags or coarser bins")
        cum = np.zeros((n, steps + 1, c))
        np.cumsum(Xc, axis=1, dtype=np.float64, out=cum[:, 1:])
        t = np.arange(steps)
        out = np.empty((n, steps, lags, c))
        for j in range(lags):  # window j: bins (t - (j + 1) w, t - j w]
            hi = np.clip(t - j * width + 1, 0, steps)
            lo = np.clip(t - (j + 1) * width + 1, 0, steps)
            out[:, :, j, :] = cum[:, hi, :] - cum[:, lo, :]
        return out.reshape(n * steps, lags * c)

    def fit(self, X, y, sample_weight=None) -> "WienerFilter":
        """Fit the ridge regression.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)
        y : array-like of shape (n_trials, n_timesteps, n_outputs), (n_trials, n_outputs) or (n_trials,)
            Targets per time step or per trial, as for :class:`motorsrnn.SpikingRNNRegressor`;
            NaN marks a missing target.
        sample_weight : array-like of shape (n_trials,), float or None
            Weight of each trial (all of its steps).

        Returns
        -------
        self
        """
        from sklearn.linear_model import Ridge

        check_number(self.n_lags, "n_lags", low=1, high=_MAX_LAG_BINS, integer=True)
        check_number(self.lag_width, "lag_width", low=1, high=_MAX_LAG_BINS, integer=True)
        check_number(self.alpha, "alpha", low=0, high=1e30)
        if y is None:
            raise ValueError("this estimator requires y to be passed, but the target y is None")
        Xc = check_spikes(X)
        y = np.asarray(y)
        yc = check_regression_targets(y, Xc.shape[0], Xc.shape[1], dtype=np.float64)
        w = check_sample_weight(sample_weight, Xc.shape[0])
        per_step, n_outputs = yc.ndim == 3, int(yc.shape[-1])
        F = self._features(Xc, per_step)
        targets = yc.reshape(F.shape[0], n_outputs)
        weights = None if w is None else np.repeat(w, F.shape[0] // Xc.shape[0])
        seen = ~np.isnan(targets)
        if seen.all():
            ridge = Ridge(alpha=float(self.alpha)).fit(F, targets, sample_weight=weights)
            coef, intercept = np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_)
        else:  # each output on its observed samples
            coef, intercept = np.zeros((n_outputs, F.shape[1])), np.zeros(n_outputs)
            for k in range(n_outputs):
                rows = seen[:, k] if weights is None else seen[:, k] & (weights > 0)
                if not rows.any():
                    raise ValueError(f"output {k} of y has no observed value (in a trial of positive weight)")
                ridge = Ridge(alpha=float(self.alpha)).fit(
                    F[rows], targets[rows, k], sample_weight=None if weights is None else weights[rows])
                coef[k], intercept[k] = ridge.coef_, ridge.intercept_
        # every fitted attribute at once, after every check: a refit that raises leaves the old model
        self.per_step_, self.n_outputs_, self._y_1d = per_step, n_outputs, y.ndim == 1
        self.coef_, self.intercept_ = coef, intercept
        self.n_features_in_ = Xc.shape[2]
        set_feature_names(self, X)
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted outputs, shaped as for :class:`motorsrnn.SpikingRNNRegressor`.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)

        Returns
        -------
        ndarray of float64
            ``(n_trials, n_timesteps, n_outputs)`` for per-step targets; ``(n_trials, n_outputs)``
            (or ``(n_trials,)`` when fitted on a 1-D ``y``) otherwise.
        """
        check_is_fitted(self, "coef_")
        Xc = check_spikes(X)
        check_n_channels(self, Xc, X)
        out = self._features(Xc, self.per_step_) @ self.coef_.T + self.intercept_
        if self.per_step_:
            return out.reshape(Xc.shape[0], Xc.shape[1], self.n_outputs_)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        tags.target_tags.multi_output = True
        return tags


#: Most bins a lag count or width may have (a bound far beyond any window, below int64 overflow).
_MAX_LAG_BINS = 2**31


def has_torch() -> bool:
    """Whether PyTorch, which :class:`GRUClassifier` and :class:`LSTMClassifier` need, can be imported."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _torch(who: str = "GRUClassifier"):
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"{who} needs PyTorch, an optional dependency that is not installed; install it with: "
            + install_hint("torch", "gru")
        ) from exc
    return torch


_DOC = """A{n} {cell} decoder of binned spike counts (the motorSRNN paper's {cell} baseline); needs PyTorch.

    One {cell} layer reads the counts of every time bin; a linear readout of its hidden state after
    each bin gives the logits of that bin, and the last bin's logits classify the window. Trained
    with Adam on the cross-entropy of the last bin's logits, in shuffled mini-batches.

    Parameters
    ----------
    hidden_size : int, default=128
        {cell} units.
    max_epochs : int, default=40
        Passes over the training trials.
    batch_size : int, default=32
        Trials per gradient step.
    learning_rate : float, default=5e-3
        Adam's step size (the spiking estimators' default).
    weight_decay : float, default=0.0
        L2 penalty of Adam (``torch.optim.Adam(weight_decay=...)``).
    early_stopping : bool, default=False
        As the spiking classifier's: hold out ``validation_fraction`` of the training trials
        (stratified by class; whole groups with ``fit(..., groups=)``), stop when the validation
        loss has not improved by ``tol`` for ``n_iter_no_change`` epochs, and keep the weights of
        the best epoch.
    validation_fraction : float, default=0.1
        Share of trials (or of the groups) held out when ``early_stopping`` is on.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Minimum decrease of the validation loss that counts as an improvement.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the initial weights, the shuffling and the early-stopping validation split. With a
        given seed and number of PyTorch threads, ``fit`` gives the same weights; PyTorch does
        not promise the same bits for another number of threads.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        Channels of ``X``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D table (e.g. a pandas DataFrame of counts) given to :meth:`fit`;
        absent otherwise.
    weights_ : dict of str to ndarray
        The trained parameters (PyTorch's names: ``{attr}.weight_ih_l0``, ..., ``readout.weight``,
        ``readout.bias``), as NumPy arrays, so that a fitted estimator pickles without PyTorch
        objects.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    validation_loss_curve_ : list of float or None
        With early stopping, the validation loss after each epoch; otherwise None.
    n_iter_ : int
        Number of epochs run.
    best_epoch_ : int or None
        With early stopping, the (0-based) epoch whose weights were kept; otherwise None.

    Notes
    -----
    Inputs are the spike counts per bin as floats, not rates. :meth:`decision_path` gives the
    logits after every bin, so :func:`motorsrnn.analysis.early_classification` evaluates the {cell}
    in one pass, as it does the spiking networks: the decision after ``t`` ms is the readout of
    the hidden state after ``t`` ms. :func:`motorsrnn.analysis.energy` reports the
    multiply-accumulates of a{n} {cell} of a given size (``ratio_{attr}``), without fitting one.

    Examples
    --------
    >>> from motorsrnn.baselines import {name}, has_torch
    >>> from motorsrnn.datasets import make_center_out
    >>> data = make_center_out(n_trials=200, random_state=0)
    >>> if has_torch():  # doctest: +SKIP
    ...     clf = {name}(hidden_size=32, max_epochs=5, random_state=0).fit(data.X, data.y)
    ...     clf.decision_path(data.X).shape
    (200, 50, 4)
    """


class _TorchRNNClassifier(ClassifierMixin, BaseEstimator):
    """A recurrent decoder in PyTorch; :class:`GRUClassifier` and :class:`LSTMClassifier` set ``_cell``."""

    _cell = "GRU"  # the torch.nn module: "GRU" or "LSTM"

    def __init__(self, hidden_size=128, max_epochs=40, batch_size=32, learning_rate=5e-3, weight_decay=0.0,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, random_state=None):
        self.hidden_size = hidden_size
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state

    def _module(self, torch, n_in, n_out):
        cell = self._cell

        class _RNN(torch.nn.Module):
            def __init__(self, n_in, n_hidden, n_out):
                super().__init__()
                setattr(self, cell.lower(), getattr(torch.nn, cell)(n_in, n_hidden, batch_first=True))
                self.readout = torch.nn.Linear(n_hidden, n_out)

            def forward(self, x):
                h, _ = getattr(self, cell.lower())(x)  # the hidden state after every bin
                return self.readout(h)  # (batch, time, classes)

        # float32 whatever torch's default dtype is (the inputs are converted to float32)
        return _RNN(n_in, int(self.hidden_size), n_out).to(torch.float32)

    def fit(self, X, y, groups=None):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)
            Spike counts per time bin.
        y : array-like of shape (n_trials,)
            Class labels.
        groups : array-like of shape (n_trials,), optional
            Group of each trial (for example the trial that a 50 ms sample was cut from); with
            ``early_stopping`` the validation set holds out whole groups. Unused without it.

        Returns
        -------
        self
        """
        check_number(self.hidden_size, "hidden_size", low=1, integer=True)
        check_number(self.max_epochs, "max_epochs", low=1, integer=True)
        check_number(self.batch_size, "batch_size", low=1, integer=True)
        check_number(self.learning_rate, "learning_rate", low=0.0, strict_low=True)
        check_number(self.weight_decay, "weight_decay", low=0.0)
        check_early_stopping_params(self)
        Xc, classes, idx = check_classification_data(X, y)
        groups = check_groups(groups, Xc.shape[0], self.validation_fraction if self.early_stopping else None)
        h, gates = int(self.hidden_size), {"GRU": 3, "LSTM": 4}[self._cell]
        n_params = gates * h * (Xc.shape[2] + h + 2) + len(classes) * (h + 1)
        # weights, gradients and Adam's two moments, in float32, before torch tries to allocate them
        check_memory(16 * n_params, f"a {self._cell} of hidden_size={h} ({n_params} parameters)",
                     "lower hidden_size")
        torch = _torch(type(self).__name__)
        rng = check_seed(self.random_state)
        seed = int(rng.randint(0, 2**31 - 1))
        train, val = np.arange(len(idx)), None
        if self.early_stopping:
            train, val = early_stopping_split(len(idx), self.validation_fraction, rng, stratify=idx, groups=groups)
        gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = self._module(torch, Xc.shape[2], len(classes))
        inputs = torch.as_tensor(np.ascontiguousarray(Xc[train]), dtype=torch.float32)
        targets = torch.as_tensor(idx[train], dtype=torch.int64)
        if val is not None:
            val_inputs = torch.as_tensor(np.ascontiguousarray(Xc[val]), dtype=torch.float32)
            val_targets = torch.as_tensor(idx[val], dtype=torch.int64)
        opt = torch.optim.Adam(net.parameters(), lr=float(self.learning_rate), weight_decay=float(self.weight_decay))
        loss_fn = torch.nn.CrossEntropyLoss()
        losses, val_losses, best, since_best = [], [], None, 0
        for epoch in range(int(self.max_epochs)):
            order = torch.randperm(len(targets), generator=gen)
            total = 0.0
            for start in range(0, len(order), int(self.batch_size)):
                batch = order[start:start + int(self.batch_size)]
                opt.zero_grad()
                loss = loss_fn(net(inputs[batch])[:, -1, :], targets[batch])
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"{self._cell} training diverged (non-finite loss); lower learning_rate")
                loss.backward()
                opt.step()
                total += loss.item() * len(batch)
            losses.append(total / len(order))
            if val is None:
                continue
            with torch.no_grad():
                vl = float(loss_fn(net(val_inputs)[:, -1, :], val_targets))
            val_losses.append(vl)
            if best is None or vl < best[0] - float(self.tol):
                best, since_best = (vl, epoch, {k: v.detach().clone() for k, v in net.state_dict().items()}), 0
            else:
                since_best += 1
                if since_best >= int(self.n_iter_no_change):
                    break
        if best is not None:
            net.load_state_dict(best[2])
        self.weights_ = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        self.classes_ = classes
        self.n_features_in_ = int(Xc.shape[2])
        set_feature_names(self, X)
        self.loss_curve_ = losses
        self.validation_loss_curve_ = val_losses if val is not None else None
        self.n_iter_ = len(losses)
        self.best_epoch_ = None if best is None else best[1]
        return self

    def decision_path(self, X):
        """Logits after every time bin.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials, n_timesteps, n_classes)
            ``[:, t]``: the readout of the hidden state after bin ``t``; ``[:, -1]`` classifies.
        """
        check_is_fitted(self, "weights_")
        Xc = check_spikes(X)
        check_n_channels(self, Xc, X)
        torch = _torch(type(self).__name__)
        with torch.random.fork_rng(devices=[]):  # building the module draws (discarded) initial weights
            net = self._module(torch, Xc.shape[2], len(self.classes_))
        net.load_state_dict({k: torch.as_tensor(v) for k, v in self.weights_.items()})
        with torch.no_grad():  # a contiguous copy: torch refuses views with negative strides (X[::-1])
            return net(torch.as_tensor(np.ascontiguousarray(Xc), dtype=torch.float32)).numpy().astype(np.float64)

    def predict_proba(self, X):
        """Class probabilities from the last bin's logits.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials, n_classes)
        """
        return np.exp(log_softmax(self.decision_path(X)[:, -1, :]))

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials,)
        """
        logits = self.decision_path(X)[:, -1, :]
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        return tags


class GRUClassifier(_TorchRNNClassifier):
    __doc__ = _DOC.format(cell="GRU", attr="gru", name="GRUClassifier", n="")
    _cell = "GRU"


class LSTMClassifier(_TorchRNNClassifier):
    __doc__ = _DOC.format(cell="LSTM", attr="lstm", name="LSTMClassifier", n="n")
    _cell = "LSTM"
