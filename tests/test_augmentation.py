"""spike_jitter: training-time augmentation that moves input spikes and keeps their counts."""

import numpy as np
import pytest

from motorsrnn import SpikingRNNClassifier, SpikingRNNRegressor

SMALL = dict(n_hidden=16, batch_size=16, random_state=0)


def timing_or_count_task(n, rng, informative):
    """Two classes over 8 channels and 20 bins.

    ``informative="timing"``: every channel fires with the same probability per bin, in the first
    half of the window for class 0 and in the second half for class 1 (identical count
    distributions). ``informative="count"``: channels 0-3 fire for class 0, channels 4-7 for
    class 1, anywhere in the window.
    """
    y = np.arange(n) % 2
    X = np.zeros((n, 20, 8), dtype=np.uint8)
    for i in range(n):
        if informative == "timing":
            bins = slice(0, 10) if y[i] == 0 else slice(10, 20)
            X[i, bins] = rng.random((10, 8)) < 0.15
        else:
            chans = slice(0, 4) if y[i] == 0 else slice(4, 8)
            X[i, :, chans] = rng.random((20, 4)) < 0.15
    return X, y


@pytest.fixture(scope="module")
def timing():
    rng = np.random.default_rng(1)
    return timing_or_count_task(240, rng, "timing"), timing_or_count_task(200, rng, "timing")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # dense toy input: high rates
def test_shuffle_removes_timing_and_keeps_counts(timing):
    (X, y), (X_te, y_te) = timing
    plain = SpikingRNNClassifier(**SMALL, max_epochs=15).fit(X, y)
    shuffled = SpikingRNNClassifier(**SMALL, max_epochs=15, spike_jitter="shuffle").fit(X, y)
    small = SpikingRNNClassifier(**SMALL, max_epochs=15, spike_jitter=1.0).fit(X, y)
    print(plain.score(X_te, y_te), shuffled.score(X_te, y_te), small.score(X_te, y_te))
    assert plain.score(X_te, y_te) > 0.9  # spike timing is all there is to learn
    assert small.score(X_te, y_te) > 0.9  # a 1 ms jitter keeps the halves apart
    # shuffled within the window, the two classes' training trials look alike: nothing to fit
    # (the training accuracy during the last epoch; test accuracy is not a fair probe, since the
    # test trials, not shuffled, come from another distribution than the training ones)
    assert shuffled.history_[-1]["accuracy"] < 0.65
    assert plain.history_[-1]["accuracy"] > 0.9
    rng = np.random.default_rng(2)
    (Xc, yc), (Xc_te, yc_te) = timing_or_count_task(240, rng, "count"), timing_or_count_task(200, rng, "count")
    counts = SpikingRNNClassifier(**SMALL, max_epochs=15, spike_jitter="shuffle").fit(Xc, yc)
    assert counts.score(Xc_te, yc_te) > 0.9  # which channels fire survives the shuffle


def test_jitter_is_deterministic_for_any_thread_count_and_changes_training(timing):
    (X, y), _ = timing
    kw = dict(SMALL, max_epochs=3, spike_jitter=3.0)
    a = SpikingRNNClassifier(**kw, n_jobs=1).fit(X, y).get_weights()
    b = SpikingRNNClassifier(**kw, n_jobs=2).fit(X, y).get_weights()
    none = SpikingRNNClassifier(**dict(kw, spike_jitter=None)).fit(X, y).get_weights()
    zero = SpikingRNNClassifier(**dict(kw, spike_jitter=0)).fit(X, y).get_weights()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_array_equal(none[k], zero[k])
    assert not np.array_equal(a["w_in"], none["w_in"])


def test_jitter_in_the_regressor(timing):
    (X, y), _ = timing
    targets = y[:, None].astype(float)
    kw = dict(SMALL, max_epochs=2)
    a = SpikingRNNRegressor(**kw, spike_jitter="shuffle").fit(X, targets)
    b = SpikingRNNRegressor(**kw).fit(X, targets)
    assert not np.array_equal(a.get_weights()["w_in"], b.get_weights()["w_in"])
    # prediction sees the data as given: twice the same answer
    np.testing.assert_array_equal(a.predict(X[:5]), a.predict(X[:5]))


@pytest.mark.parametrize("bad", ["jitter", -1.0, np.inf, np.nan, True, [2.0]])
def test_bad_spike_jitter(bad, timing):
    (X, y), _ = timing
    with pytest.raises((ValueError, TypeError), match="spike_jitter"):
        SpikingRNNClassifier(**SMALL, max_epochs=1, spike_jitter=bad).fit(X, y)
