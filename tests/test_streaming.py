"""Streaming decoding gives the batch simulation's per-step outputs."""

import numpy as np
import pytest

from motorsrnn import SpikingRNNClassifier
from motorsrnn.datasets import make_center_out


@pytest.fixture(scope="module")
def fitted():
    d = make_center_out(n_trials=64, n_neurons=10, random_state=0)
    clf = SpikingRNNClassifier(architecture="motorsrnn", n_hidden=24, max_epochs=2, random_state=0).fit(d.X, d.y)
    return clf, d


def test_bin_by_bin_equals_decision_path(fitted):
    clf, d = fitted
    path = clf.decision_path(d.X[:3])
    decoder = clf.stream()
    for trial in range(3):
        decoder.reset()
        for t in range(d.X.shape[1]):
            proba = decoder.step(d.X[trial, t])
            np.testing.assert_array_equal(decoder.logits, path[trial, t])
            assert proba.shape == (4,) and abs(proba.sum() - 1) < 1e-5
        assert decoder.n_steps == d.X.shape[1]
        assert decoder.predict() == clf.predict(d.X[trial : trial + 1])[0]


def test_chunks_equal_single_bins(fitted):
    clf, d = fitted
    a, b = clf.stream(), clf.stream()
    a.step(d.X[0, :20])
    for t in range(20):
        b.step(d.X[0, t])
    np.testing.assert_array_equal(a.logits, b.logits)
    assert a.n_steps == 20


def test_decoder_keeps_its_own_weights_and_validates(fitted):
    clf, d = fitted
    decoder = clf.stream()
    before = decoder.step(d.X[0, 0])
    other = SpikingRNNClassifier(n_hidden=4, max_epochs=1, random_state=1).fit(d.X, d.y)
    decoder.reset()
    np.testing.assert_array_equal(decoder.step(d.X[0, 0]), before)
    assert other.stream().n_steps == 0
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        decoder.step(np.zeros(11))
    with pytest.raises(ValueError, match="non-negative"):
        decoder.step(-np.ones(10))
    with pytest.raises(ValueError, match="finite"):
        decoder.step(np.full(10, np.nan))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0])
def test_a_bad_chunk_changes_nothing(fitted, bad):
    """A chunk with one bad count anywhere is refused whole: the state stays as before the call,
    and the error names the bin."""
    clf, d = fitted
    decoder = clf.stream()
    decoder.step(d.X[0, :5])
    logits = decoder.logits.copy()
    chunk = d.X[0, 5:25].astype(np.float32)
    chunk[10, 3] = bad
    with pytest.raises(ValueError, match="at bin 10, channel 3 of the chunk"):
        decoder.step(chunk)
    assert decoder.n_steps == 5
    np.testing.assert_array_equal(decoder.logits, logits)
    decoder.step(d.X[0, 5:25])  # the corrected chunk continues the same trial
    np.testing.assert_array_equal(decoder.logits, clf.decision_path(d.X[:1, :25])[0, -1])


def test_a_decoder_is_not_pickled_but_says_what_to_do(fitted):
    import copy
    import pickle

    clf, _ = fitted
    for dump in (pickle.dumps, copy.deepcopy, copy.copy):
        with pytest.raises(TypeError, match="pickle the fitted estimator and call its stream"):
            dump(clf.stream())


def test_a_running_mean_past_float32_counting_warns(monkeypatch):
    """After 2**24 bins without reset the float32 running mean of readout="mean" drifts; the
    decoder now says so (here the threshold is lowered to keep the test short)."""
    import warnings

    from motorsrnn import SpikingRNNClassifier, streaming
    from motorsrnn.datasets import make_center_out

    d = make_center_out(n_trials=40, n_neurons=6, random_state=0)
    monkeypatch.setattr(streaming, "_FLOAT32_COUNT", 30)
    for readout, warns in (("mean", True), ("last", False)):
        dec = SpikingRNNClassifier(n_hidden=8, max_epochs=1, random_state=0, readout=readout).fit(d.X, d.y).stream()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for b in d.X[0]:
                dec.step(b)
        assert any("can no longer count bins" in str(w.message) for w in caught) == warns


def test_a_decoder_stepped_from_two_threads_says_so():
    """pyo3 refuses a second exclusive borrow with a bare "Already borrowed"; the decoder names the
    cause. (The race itself is not reproducible in a test; the core's refusal is simulated.)"""
    from motorsrnn import SpikingRNNClassifier
    from motorsrnn.datasets import make_center_out

    d = make_center_out(n_trials=40, n_neurons=6, random_state=0)
    dec = SpikingRNNClassifier(n_hidden=8, max_epochs=1, random_state=0).fit(d.X, d.y).stream()

    class Busy:
        def step(self, x):
            raise RuntimeError("Already borrowed")

    dec._stream = Busy()
    with pytest.raises(RuntimeError, match="one decoder per thread"):
        dec.step(d.X[0, 0])


def test_no_decision_before_the_first_bin():
    """stream().predict() before any bin returned the first class, a decision without input."""
    d = make_center_out(n_trials=16, n_neurons=4, n_timesteps=5, random_state=0)
    decoder = SpikingRNNClassifier(n_hidden=4, max_epochs=1, random_state=0).fit(d.X, d.y).stream()
    for get in (decoder.predict, lambda: decoder.logits):
        with pytest.raises(ValueError, match="no bin of this trial has been given yet"):
            get()
    decoder.step(d.X[0, 0])
    assert decoder.predict() in decoder.classes_
    decoder.reset()
    with pytest.raises(ValueError, match="call step"):
        decoder.predict()


@pytest.mark.parametrize("readout", ["mean", "max", "last"])
def test_a_regressor_streams_what_predict_gives(readout):
    """SpikingRNNRegressor.stream(): per-step targets give the trace O[t] of each bin (a continuous
    decoder), per-trial targets the window output of the bins so far, equal to predict on the
    prefix; 1-D y gives floats; bins and chunks agree."""
    import warnings

    from motorsrnn import SpikingRNNRegressor

    d = make_center_out(n_trials=40, n_neurons=8, n_timesteps=15, random_state=1)
    Y = np.stack([np.cos(d.angles), np.sin(d.angles)], axis=1)
    kw = dict(n_hidden=12, max_epochs=2, random_state=0, readout=readout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two epochs: the fit is poor, which is not the point here
        per_step = SpikingRNNRegressor(**kw).fit(d.X, np.repeat(Y[:, None, :], 15, axis=1))
        per_trial = SpikingRNNRegressor(**kw).fit(d.X, Y)
        one = SpikingRNNRegressor(**kw).fit(d.X, Y[:, 0])
    traces = per_step.predict(d.X[:2])
    decoder = per_step.stream()
    for trial in range(2):
        decoder.reset()
        for t in range(15):
            out = decoder.step(d.X[trial, t])
            assert out.shape == (2,) and out.dtype == np.float64
            np.testing.assert_array_equal(out, traces[trial, t])
            np.testing.assert_array_equal(decoder.output, traces[trial, t])
    for est in (per_trial, one):
        decoder = est.stream()
        for t in range(15):
            out = decoder.step(d.X[3, t])
            np.testing.assert_array_equal(out, est.predict(d.X[3:4, : t + 1])[0])
        assert isinstance(out, float) == (est is one)
        chunked = est.stream()
        np.testing.assert_array_equal(chunked.step(d.X[3]), out)
        assert chunked.n_steps == 15 and not hasattr(chunked, "classes_")
    with pytest.raises(ValueError, match="no bin of this trial has been given yet"):
        one.stream().predict()
    with pytest.raises(ValueError, match="finite and non-negative; found -1.0 at bin 1"):
        one.stream().step(np.array([[0.0] * 8, [-1.0] + [0.0] * 7]))
    with pytest.raises(TypeError, match="a StreamingRegressor holds the running state .* cannot be pickled"):
        import pickle

        pickle.dumps(one.stream())


def test_object_arrays_of_counts_are_accepted_as_by_predict(fitted):
    """clf.predict(X.astype(object)) works; stream().step(bin.astype(object)) said 'got dtype object'."""
    clf, d = fitted
    decoder = clf.stream()
    decoder.step(d.X[0, 0].astype(object))
    decoder.step(d.X[0, 1:].astype(object))
    np.testing.assert_array_equal(decoder.logits, clf.decision_path(d.X[:1].astype(object))[0, -1])
    with pytest.raises(ValueError, match="NaN"):
        decoder.step(np.array([None] * d.X.shape[2], dtype=object))


def test_decoders_show_what_they_decode(fitted):
    """A decoder printed as '<motorsrnn.streaming.StreamingDecoder object at 0x...>' in a notebook."""
    from motorsrnn import SpikingRNNRegressor

    clf, d = fitted
    decoder = clf.stream()
    decoder.step(d.X[0, :3])
    assert repr(decoder) == "StreamingDecoder(n_channels=10, classes=[0, 1, 2, 3], n_steps=3)"
    reg = SpikingRNNRegressor(n_hidden=8, max_epochs=1, random_state=0).fit(d.X, np.cos(d.angles))
    assert repr(reg.stream()) == "StreamingRegressor(n_channels=10, per_step=False, n_steps=0)"
