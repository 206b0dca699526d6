"""Count-based baseline decoders, to judge the spiking networks against.

The motor-cortex decoding literature compares against simple decoders of spike counts in the same
window. :class:`PoissonNaiveBayes` treats each channel's count in the window as Poisson with a
class-specific rate and independent channels. Logistic regression on counts is available directly
from scikit-learn (``make_pipeline(SpikeCountTransformer(), LogisticRegression())``).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .estimators import check_labels, check_n_channels, check_spikes, log_softmax

__all__ = ["PoissonNaiveBayes", "SpikeCountTransformer"]


class SpikeCountTransformer(TransformerMixin, BaseEstimator):
    """Sum spike counts over the time bins of each trial.

    Parameters
    ----------
    log1p : bool, default=False
        Return ``log(1 + count)`` instead of the count.

    Notes
    -----
    Input is validated like the spiking estimators' (3-D trials x time x channels or 2-D
    trials x channels, non-negative finite counts); output is float64 of shape
    (n_trials, n_channels).
    """

    def __init__(self, log1p=False):
        self.log1p = log1p

    def fit(self, X, y=None):
        """Record the number of channels.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)
        y : ignored

        Returns
        -------
        self
        """
        self.n_features_in_ = check_spikes(X).shape[2]
        return self

    def transform(self, X):
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
        check_n_channels(self, Xc)
        counts = Xc.sum(axis=1, dtype=np.float64)
        return np.log1p(counts) if self.log1p else counts


class PoissonNaiveBayes(ClassifierMixin, BaseEstimator):
    """Naive Bayes with Poisson spike counts per channel and class.

    The count of channel ``c`` in a window of a trial of class ``k`` is Poisson with mean
    ``lambda_kc`` (the class mean of the training counts, plus ``alpha`` pseudo-counts); channels are
    independent given the class.

    Parameters
    ----------
    alpha : float, default=0.1
        Pseudo-count added to every class mean (avoids zero rates).
    fit_prior : bool, default=True
        Use the class frequencies as priors (else uniform).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    rates_ : ndarray of shape (n_classes, n_channels)
        Mean count per window.
    class_log_prior_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    """

    def __init__(self, alpha=0.1, fit_prior=True):
        self.alpha = alpha
        self.fit_prior = fit_prior

    def fit(self, X, y):
        """Estimate the class rates.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels) or (n_trials, n_channels)
        y : array-like of shape (n_trials,)

        Returns
        -------
        self
        """
        if not (np.isscalar(self.alpha) and self.alpha > 0):
            raise ValueError(f"alpha must be a positive number, got {self.alpha!r}")
        counts = check_spikes(X).sum(axis=1, dtype=np.float64)
        y = check_labels(y)
        if len(y) != len(counts):
            raise ValueError(f"X has {len(counts)} trials but y has {len(y)} labels")
        self.classes_, idx = np.unique(y, return_inverse=True)
        n_k = np.bincount(idx, minlength=len(self.classes_)).astype(np.float64)
        sums = np.zeros((len(self.classes_), counts.shape[1]))
        np.add.at(sums, idx, counts)
        self.rates_ = (sums + self.alpha) / (n_k[:, None] + 1.0)
        prior = n_k / n_k.sum() if self.fit_prior else np.full(len(n_k), 1.0 / len(n_k))
        self.class_log_prior_ = np.log(prior)
        self.n_features_in_ = counts.shape[1]
        return self

    def _joint_log_likelihood(self, X):
        check_is_fitted(self, "rates_")
        Xc = check_spikes(X)
        check_n_channels(self, Xc)
        counts = Xc.sum(axis=1, dtype=np.float64)
        # log P(x | k) = sum_c x_c log(lambda_kc) - lambda_kc - log(x_c!)  (the last term is shared)
        return counts @ np.log(self.rates_).T - self.rates_.sum(axis=1) + self.class_log_prior_

    def predict_proba(self, X):
        """Posterior class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_timesteps, n_channels)

        Returns
        -------
        ndarray of shape (n_trials, n_classes)
        """
        return np.exp(log_softmax(self._joint_log_likelihood(X)))

    def predict(self, X):
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
