"""The count baselines against references written out in the test: Poisson naive Bayes's rates,
log-likelihoods and priors (scipy's Poisson pmf), and SpikeCountTransformer's window counts."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from motorsrnn import PoissonNaiveBayes
from motorsrnn.baselines import SpikeCountTransformer

rng = np.random.default_rng(11)
X = rng.poisson(0.15, (37, 12, 5)).astype(np.uint8)
y = np.array([0] * 20 + [1] * 11 + [2] * 6)  # unbalanced classes: the priors matter


def reference_naive_bayes(X, y, alpha, fit_prior, X_test):
    """The documented model, written out: rate (sum of the class's counts + alpha) / (n_k + 1),
    independent Poisson channels, class frequencies (or a uniform prior)."""
    counts, test = X.sum(axis=1).astype(float), X_test.sum(axis=1).astype(float)
    classes = np.unique(y)
    rates = np.array([(counts[y == k].sum(axis=0) + alpha) / ((y == k).sum() + 1.0) for k in classes])
    prior = np.array([(y == k).mean() for k in classes]) if fit_prior else np.full(len(classes), 1 / len(classes))
    joint = np.array([stats.poisson.logpmf(test, rates[j]).sum(axis=1) + np.log(prior[j])
                      for j in range(len(classes))]).T
    return rates, joint - logsumexp(joint, axis=1, keepdims=True)


@pytest.mark.parametrize("alpha, fit_prior", [(0.1, True), (2.0, True), (0.5, False)])
def test_poisson_naive_bayes_is_the_documented_model(alpha, fit_prior):
    nb = PoissonNaiveBayes(alpha=alpha, fit_prior=fit_prior).fit(X[:30], y[:30])
    rates, log_post = reference_naive_bayes(X[:30], y[:30], alpha, fit_prior, X[30:])
    np.testing.assert_allclose(nb.rates_, rates, rtol=1e-12)
    np.testing.assert_allclose(nb.predict_log_proba(X[30:]), log_post, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nb.predict_proba(X[30:]), np.exp(log_post), rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(nb.predict(X[30:]), np.unique(y)[np.argmax(log_post, axis=1)])


def test_poisson_naive_bayes_priors_decide_between_equally_likely_classes():
    """Two classes with the same rates, (6 * 1 + 1) / (6 + 1) = (2 * 1 + 1) / (2 + 1) = 1 with
    alpha = 1: the prior alone decides, so fit_prior=True gives the class frequencies 6/8 and 2/8
    and fit_prior=False equal probabilities."""
    same = np.ones((8, 1, 2), dtype=np.uint8)
    labels = np.array(["a"] * 6 + ["b"] * 2)
    with_prior = PoissonNaiveBayes(alpha=1.0).fit(same, labels)
    np.testing.assert_allclose(with_prior.rates_, 1.0, rtol=1e-15)
    np.testing.assert_allclose(with_prior.predict_proba(same[:1]), [[0.75, 0.25]], rtol=1e-12)
    assert with_prior.predict(same[:1]).tolist() == ["a"]
    np.testing.assert_allclose(PoissonNaiveBayes(alpha=1.0, fit_prior=False).fit(same, labels).predict_proba(same[:1]),
                               [[0.5, 0.5]], rtol=1e-12)


def test_spike_count_transformer_sums_each_channel_over_the_window():
    out = SpikeCountTransformer().fit(X).transform(X)
    np.testing.assert_array_equal(out, X.astype(np.int64).sum(axis=1))
    assert out.dtype == np.float64 and out.shape == (37, 5)
    np.testing.assert_allclose(SpikeCountTransformer(log1p=True).fit(X).transform(X),
                               np.log(1.0 + X.astype(np.int64).sum(axis=1)), rtol=1e-15)
    # a hand-made trial: counts 1 + 2 + 0 and 0 + 0 + 3 over three bins
    one = np.array([[[1, 0], [2, 0], [0, 3]]], dtype=np.uint8)
    np.testing.assert_array_equal(SpikeCountTransformer().fit(one).transform(one), [[3.0, 3.0]])
