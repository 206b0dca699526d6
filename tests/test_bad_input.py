"""Bad input gives a clear Python exception naming the problem, never a crash; unusual but valid
input (dtypes, strides, 2-D) is accepted."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from modelfile_bytes import with_checksum
from motorsrnn import PoissonNaiveBayes, SpikingRNNClassifier, SpikingRNNRegressor, TopologyError, _core

FAST = dict(n_hidden=8, max_epochs=1, batch_size=8, random_state=0)
rng = np.random.default_rng(0)
X = (rng.random((24, 10, 5)) < 0.2).astype(np.uint8)
y = np.arange(24) % 3


@pytest.fixture(scope="module")
def fitted():
    return SpikingRNNClassifier(**FAST).fit(X, y)


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (np.zeros(5), ValueError, "Expected 2D array, got 1D array"),
        (np.zeros((2, 3, 4, 5)), ValueError, "4 dimension"),
        (np.zeros((0, 10, 5)), ValueError, "0 sample\\(s\\)"),
        (np.zeros((24, 0, 5)), ValueError, "empty"),
        (np.where(X > 0, np.nan, 0.0), ValueError, "Input X contains NaN"),
        (np.where(X > 0, np.inf, 0.0), ValueError, "Input X contains infinity"),
        (-X.astype(np.int16), ValueError, "Negative values in data passed to X"),
        (X.astype(np.float64) - 0.5, ValueError, "Negative values in data passed to X"),
        (X.astype(str), ValueError, "not compatible with arrays of bytes/strings"),
        (X.astype(np.complex64), ValueError, "Complex data not supported"),
    ],
)
def test_bad_X_in_fit(bad, exc, match):
    yy = y[: len(bad)] if np.ndim(bad) >= 1 and len(bad) <= len(y) else y
    with pytest.raises(exc, match=match):
        SpikingRNNClassifier(**FAST).fit(bad, yy)


def test_sparse_matrix_rejected():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="[Ss]parse data was passed"):
        SpikingRNNClassifier(**FAST).fit(sparse.csr_matrix(X[:, 0, :]), y)


@pytest.mark.parametrize(
    "yy, match",
    [
        (y[:-1], "24 trials but y has 23 labels"),
        (np.zeros(24), "y has 1 class"),
        (np.ones((24, 2)), "y should be a 1d array"),
        (None, "requires y to be passed"),
        (np.linspace(0, 1, 24), "Unknown label type|continuous"),
    ],
)
def test_bad_y(yy, match):
    with pytest.raises(ValueError, match=match):
        SpikingRNNClassifier(**FAST).fit(X, yy)


@pytest.mark.parametrize(
    "param, value, match",
    [
        ("n_hidden", 0, "n_hidden must be >= 1"),
        ("n_hidden", 2.5, "n_hidden must be an integer"),
        ("tau_mem", -1.0, "tau_mem must be >= 0"),
        ("threshold", 0.0, "threshold must be > 0"),
        ("reset", "soft", "reset must be one of"),
        ("surrogate", "relu", "surrogate must be one of"),
        ("readout", "sum", "readout must be one of"),
        ("surrogate_slope", -2.0, "surrogate_slope must be > 0"),
        ("learning_rate", 0.0, "learning_rate must be > 0"),
        ("learning_rate", float("nan"), "learning_rate must be a finite number"),
        ("batch_size", 0, "batch_size must be >= 1"),
        ("max_epochs", -1, "max_epochs must be >= 0"),
        ("validation_fraction", 1.0, "validation_fraction must be < 1"),
        ("n_jobs", 0, "n_jobs must be a non-zero integer"),
        ("dt", 0.0, "dt must be > 0"),
        ("optimizer", "lbfgs", "optimizer must be one of"),
        ("detach_reset", "yes", "detach_reset must be True or False"),
        ("callback", 3, "callback must be callable"),
        # beyond float32: fit diverged and advised a lower learning_rate (audit, nineteenth session)
        ("weight_decay", 1e39, "weight_decay must be <= 1e"),
        ("rate_weight", 1e39, "rate_weight must be <= 1e"),
        ("rate_bounds", (5e41, 1e42), r"rate_bounds\[0\] must be <= 1e"),
    ],
)
def test_bad_parameters(param, value, match):
    with pytest.raises(ValueError, match=match):
        SpikingRNNClassifier(**{**FAST, param: value}).fit(X, y)


@pytest.mark.parametrize(
    "dtype", [bool, np.uint8, np.int8, np.int16, np.int32, np.int64, np.uint16, np.float16, np.float32, np.float64, object]
)
def test_unusual_dtypes_give_the_same_model(dtype):
    ref = SpikingRNNClassifier(**FAST).fit(X, y)
    clf = SpikingRNNClassifier(**FAST).fit(X.astype(dtype), y)
    np.testing.assert_array_equal(clf.get_weights()["w_in"], ref.get_weights()["w_in"])
    np.testing.assert_array_equal(clf.predict_proba(X.astype(dtype)), ref.predict_proba(X))


def test_column_vector_y_warns_and_is_flattened():
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning):
        clf = SpikingRNNClassifier(**FAST).fit(X, y[:, None])
    assert clf.predict(X).shape == (24,)


def test_large_counts_are_not_truncated():
    big = X.astype(np.int64) * 300
    clf = SpikingRNNClassifier(**FAST).fit(big, y)
    ref = SpikingRNNClassifier(**FAST).fit(big.astype(np.float64), y)
    np.testing.assert_array_equal(clf.get_weights()["w_in"], ref.get_weights()["w_in"])


def test_wide_dtypes_are_copied_to_the_narrowest_exact_type_after_a_memory_check(monkeypatch):
    """uint16 counts (what bin_spike_times returns for wide bins) and float16 were copied to
    float64 before any memory check: 4 and 8 times X, and numpy's raw MemoryError. float32 holds
    them exactly, and the core computes in float32, so the model is the same."""
    import motorsrnn._validation as validation
    from motorsrnn.estimators import check_spikes

    big = X.astype(np.int64) * 300
    for dtype, want in ((np.uint16, np.float32), (np.int32, np.float32), (np.int64, np.float32)):
        assert check_spikes(big.astype(dtype)).dtype == want, dtype  # counts above 255
    for dtype, want in ((np.uint16, np.uint8), (np.int8, np.uint8), (np.float16, np.float32),
                        (np.longdouble, np.float64)):
        assert check_spikes(X.astype(dtype)).dtype == want, dtype
    assert check_spikes(np.full((2, 3, 4), 2**24 + 1, np.int64)).dtype == np.float64  # not exact in float32
    assert check_spikes(np.full((2, 3, 4), 2**24, np.int64)).max() == 2**24
    ref = SpikingRNNClassifier(**FAST).fit(big.astype(np.float64), y)
    clf = SpikingRNNClassifier(**FAST).fit(big.astype(np.uint16), y)
    np.testing.assert_array_equal(clf.get_weights()["w_in"], ref.get_weights()["w_in"])
    monkeypatch.setattr(validation, "memory_limit", lambda: X.size * 3)  # less than a float32 copy
    with pytest.raises(MemoryError, match=r"a float32 copy of X \(the core reads uint8, float32 and float64; X is uint16"):
        check_spikes(big.astype(np.uint16))
    assert check_spikes(X.astype(np.uint8)).dtype == np.uint8  # no copy: no check


def test_non_contiguous_and_2d_input(fitted):
    Xf = np.asfortranarray(X)
    rev = X[::-1][::-1]  # a view with negative strides twice = original order, non-trivial strides
    strided = np.repeat(X, 2, axis=2)[:, :, ::2]
    for arr in (Xf, rev, strided):
        np.testing.assert_array_equal(fitted.predict_proba(arr), fitted.predict_proba(X))
    flipped = X[::-1]
    np.testing.assert_array_equal(fitted.predict_proba(flipped), fitted.predict_proba(X)[::-1])
    two_d = SpikingRNNClassifier(**FAST).fit(X[:, 0, :], y)
    assert two_d.predict(X[:, 0, :]).shape == (24,)
    np.testing.assert_array_equal(two_d.predict(X[:, 0, :]), two_d.predict(X[:, :1, :]))


def test_predict_with_other_channel_count(fitted):
    with pytest.raises(ValueError, match="X has 6 features, but SpikingRNNClassifier is expecting 5 features"):
        fitted.predict(np.zeros((3, 10, 6)))
    with pytest.raises(ValueError, match="X has 6 features"):
        fitted.simulate(np.zeros((3, 10, 6)))
    with pytest.raises(ValueError, match="0 sample"):
        fitted.predict(np.zeros((0, 10, 5)))
    with pytest.raises(ValueError, match="empty"):
        fitted.predict(np.zeros((3, 0, 5)))


def test_zero_stride_input_of_huge_shape_is_a_memory_error_not_an_abort(fitted):
    """A broadcast view of 2**47 time steps uses no memory, and its events cannot fit in any: the
    core raises MemoryError (it aborted the process: unchecked, infallible allocation); a wrong
    channel count is named before anything of X's size is allocated."""
    huge = np.broadcast_to(np.zeros((1, 1, 5), np.uint8), (2, 2**47, 5))
    with pytest.raises(MemoryError, match="out of memory: cannot allocate the input's events"):
        fitted.network_.traces(huge, 1)
    wrong = np.broadcast_to(np.zeros((1, 1, 4), np.uint8), (2, 2**47, 4))
    with pytest.raises(ValueError, match="X has 4 channels, but the network was built for 5"):
        fitted.network_.traces(wrong, 1)


@pytest.mark.parametrize("bad, got", [
    (X.astype(">f8"), "an array of dtype '>f8' with 3 dimension"),
    (X.astype(np.int64), "an array of dtype '<i8' with 3 dimension"),
    (X > 0, "an array of dtype '|b1' with 3 dimension"),
    (X.tolist(), "a list"),
    (X[:, 0].astype(np.float32), "an array of dtype '<f4' with 2 dimension"),
])
def test_the_core_names_the_input_types_it_accepts_and_how_to_convert(fitted, bad, got):
    """The network of a callback's snapshot (info["network"]) is the core's: other input types got
    pyo3's "failed to extract enum Spikes ('U8 | F32 | F64')"; now a TypeError says what is
    accepted and how to convert."""
    with pytest.raises(TypeError, match=r"X must be a 3-D NumPy array \(trials, time steps, channels\) of dtype "
                                        r"uint8, float32 or float64 in the machine's byte order; got " + got) as e:
        fitted.network_.simulate(bad, True, 1)
    assert "np.ascontiguousarray(X, dtype=np.float32)" in str(e.value)
    if np.ndim(bad) == 3:
        converted = np.ascontiguousarray(bad, dtype=np.float32)
        np.testing.assert_array_equal(fitted.network_.traces(converted, 1), fitted.network_.traces(X, 1))


def test_loss_and_grad_bad_labels(fitted):
    with pytest.raises(ValueError, match="labels not seen in fit"):
        fitted.loss_and_grad(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="one label per trial"):
        fitted.loss_and_grad(X[:3], [0, 1])


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function", "simulate", "decision_path"])
def test_unfitted_use(method):
    with pytest.raises(NotFittedError):
        getattr(SpikingRNNClassifier(), method)(X)
    with pytest.raises(NotFittedError):
        SpikingRNNClassifier().get_weights()


def test_baseline_validates_too():
    with pytest.raises(ValueError, match="Negative values"):
        PoissonNaiveBayes().fit(-X.astype(int), y)
    with pytest.raises(ValueError, match="X has 4 features, but PoissonNaiveBayes is expecting 5"):
        PoissonNaiveBayes().fit(X, y).predict(X[:, :, :4])
    with pytest.raises(NotFittedError):
        PoissonNaiveBayes().predict(X)
    for alpha, match in (("1", "alpha must be a finite number"), (-1.0, "alpha must be > 0"),
                         (float("nan"), "alpha must be a finite number")):
        with pytest.raises(ValueError, match=match):
            PoissonNaiveBayes(alpha=alpha).fit(X, y)
    with pytest.raises(ValueError, match="fit_prior must be True or False"):
        PoissonNaiveBayes(fit_prior="no").fit(X, y)


def test_core_rejects_bad_topology_and_options_with_exceptions():
    with pytest.raises(TopologyError, match="invalid topology"):
        _core.Network("{not json", 0)
    spec = '{"n_inputs": 3, "n_outputs": 2, "populations": [{"name": "h", "size": 4}], "projections": [{"source": "input", "target": "nowhere"}, {"source": "h", "target": "readout"}]}'
    with pytest.raises(TopologyError, match="unknown target population 'nowhere'"):
        _core.Network(spec, 0)
    ok = spec.replace('"nowhere"', '"h"')
    net = _core.Network(ok, 0)
    with pytest.raises(ValueError, match="invalid training options"):
        net.fit(np.zeros((2, 3, 3), np.uint8), np.array([0, 1]), None, None, "{}", 1)
    with pytest.raises(ValueError, match="class index -1 is negative"):
        net.loss_and_grad(np.zeros((2, 3, 3), np.uint8), np.array([0, -1]), 1)
    with pytest.raises(ValueError, match="class index 5 out of range"):
        net.loss_and_grad(np.zeros((2, 3, 3), np.uint8), np.array([0, 5]), 1)
    with pytest.raises(ValueError, match="X has 2 trials but y has 3 targets"):
        net.loss_and_grad(np.zeros((2, 3, 3), np.uint8), np.array([0, 1, 1]), 1)


def test_the_test_only_smooth_surrogate_cannot_be_set_from_a_description():
    """surrogate.smooth replaces the Heaviside spike by a smooth function (for the Rust gradient
    checks only); a JSON description that set it was accepted and its network did not spike."""
    import json

    spec = {"n_inputs": 3, "n_outputs": 2, "populations": [{"name": "h", "size": 4}],
            "projections": [{"source": "input", "target": "h"}, {"source": "h", "target": "readout"}],
            "surrogate": {"kind": "sigmoid", "slope": 4.0, "smooth": True}}
    for check in (lambda s: _core.Network(s, 0), _core.check_topology):
        with pytest.raises(TopologyError, match="surrogate.smooth = true is a test-only forward pass"):
            check(json.dumps(spec))
    spec["surrogate"]["smooth"] = False  # as spec_json writes it
    net = _core.Network(json.dumps(spec), 0)
    assert json.loads(net.spec_json)["surrogate"]["smooth"] is False
    _core.Network(net.spec_json, 0)


@pytest.mark.parametrize("name", ["n_hidden", "max_epochs", "batch_size", "bptt_window", "n_iter_no_change"])
@pytest.mark.parametrize("value", [2**64, 2**200, -(2**70)])
def test_integers_beyond_64_bits_name_the_parameter(name, value):
    """Integers too large for the core: a ValueError naming the parameter (it was a TypeError from
    NumPy's isfinite about 'ufunc', or the core's JSON parser's 'number out of range')."""
    with pytest.raises(ValueError, match=name):
        SpikingRNNClassifier(**{**FAST, name: value}).fit(X, y)


def test_float_parameter_given_a_huge_int():
    with pytest.raises(ValueError, match="learning_rate must be a finite number"):
        SpikingRNNClassifier(**{**FAST, "learning_rate": 10**400}).fit(X, y)


@pytest.mark.parametrize("n_jobs", [2**64, 10**9])
def test_huge_n_jobs(n_jobs):
    """n_jobs beyond any thread count: a ValueError naming it (it was an OverflowError, or a
    RuntimeError from the thread pool)."""
    with pytest.raises(ValueError, match="n_jobs must be at most"):
        SpikingRNNClassifier(**{**FAST, "n_jobs": n_jobs}).fit(X, y)


@pytest.mark.parametrize("n_threads", [2**16 + 1, 10**8])
def test_the_core_refuses_more_threads_than_n_jobs_allows(fitted, n_threads):
    """The core passed n_threads straight to rayon: 10**8 threads hung the call while it started
    them. Like n_jobs, at most 2**16: a ValueError naming it, before any thread starts."""
    with pytest.raises(ValueError, match=f"n_threads must be at most 65536 \\(as n_jobs\\), got {n_threads}"):
        fitted.network_.traces(X, n_threads)
    with pytest.raises(ValueError, match="n_threads must be at most 65536"):
        _core.tuning_fit_von_mises(np.ones((4, 2)), np.linspace(0, 3, 4), 10, 100.0, 1e-6, n_threads)
    assert fitted.network_.traces(X, 2).shape == (24, 10, 3)


@pytest.mark.parametrize("input_scale", [1e39, 1e300])
def test_initial_weights_beyond_float32(input_scale):
    """Initial weights too large for float32: a TopologyError naming the projection and the limit."""
    with pytest.raises(TopologyError, match="projection 'w_in': init_scale / sqrt"):
        SpikingRNNClassifier(**{**FAST, "input_scale": input_scale}).fit(X, y)


def test_sparse_projection_with_tiny_density_and_large_scale():
    """init_scale / sqrt(density * n_source) overflowing to infinity panicked in the core (the
    normal distribution refused an infinite deviation): a RuntimeError 'internal error'."""
    from motorsrnn.topology import Topology

    topo = Topology.from_dict({
        "populations": [{"name": "h", "size": 8}],
        "projections": [
            {"source": "input", "target": "h", "density": 1e-300, "init_scale": 1e300},
            {"source": "h", "target": "readout"},
        ],
    })
    with pytest.raises(TopologyError, match="too large"):
        SpikingRNNClassifier(**{**FAST, "architecture": topo}).fit(X, y)


@pytest.mark.parametrize("kw, match", [(dict(n_boot=10**15), "lower n_boot"), (dict(n_perm=10**15), "lower n_boot"),
                                       (dict(n_boot=2**64), "n_boot must be <="), (dict(n_perm=2**64), "n_perm must be <=")])
def test_tuning_with_too_many_resamples(kw, match):
    """n_boot / n_perm whose buffers cannot fit: a MemoryError (the core aborted the process on the
    failed allocation) or, beyond 64 bits, a ValueError naming them (it was an OverflowError)."""
    from motorsrnn.tuning import fit_cosine_tuning

    rates = rng.random((40, 3))
    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    with pytest.raises((MemoryError, ValueError), match=match):
        fit_cosine_tuning(rates, angles, **kw)


# ---------------------------------------------------------------------------------------------
# Saving and loading what cannot round-trip, values beyond float32, odd streaming input
# ---------------------------------------------------------------------------------------------
def test_labels_that_a_model_file_cannot_hold_are_refused_at_save(tmp_path):
    """Structured labels were written to a file that load() could never read."""
    labels = np.array([(1, 2), (3, 4)], dtype="i,i")[y % 2]
    clf = SpikingRNNClassifier(**FAST).fit(X, labels)
    with pytest.raises(TypeError, match="cannot be stored in a model file and read back; use pickle"):
        clf.save(tmp_path / "m.msrnn")
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary one
    import pickle

    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict(X), clf.predict(X))


def test_save_to_a_directory_leaves_no_stray_file(fitted, tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory; give a file name"):
        fitted.save(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]  # no models.tmp beside it
    with pytest.raises(IsADirectoryError, match="checkpoint_path .* is a directory"):
        SpikingRNNClassifier(**FAST, checkpoint_path=folder).fit(X, y)


def test_load_checks_the_file_against_itself(fitted, tmp_path):
    import json

    from motorsrnn import ModelFileError, load

    path = tmp_path / "m.msrnn"
    fitted.save(path)
    meta = json.loads(_core.Network.from_bytes(path.read_bytes())[1])
    # metadata that disagrees with the network: 3 classes for 3 outputs is right, 2 is not
    meta["classes"] = meta["classes"][:2]
    (tmp_path / "bad.msrnn").write_bytes(bytes(fitted.network_.to_bytes(json.dumps(meta))))
    with pytest.raises(ModelFileError, match="bad.msrnn: .*3 outputs|bad.msrnn: .*2 outputs"):
        load(tmp_path / "bad.msrnn")
    # a core error names the file too
    (tmp_path / "junk.msrnn").write_bytes(b"MOTRSRNN" + bytes(20))
    with pytest.raises(ModelFileError, match="junk.msrnn: "):
        load(tmp_path / "junk.msrnn")


def test_decay_factors_outside_their_range_are_refused_on_load():
    """A file with a trained decay factor of 5 loaded and predicted, though set_weights refuses it."""
    clf = SpikingRNNClassifier(**FAST, train_time_constants=True).fit(X, y)
    data = bytearray(clf.network_.to_bytes(""))
    net, _ = _core.Network.from_bytes(bytes(data))
    import struct

    beta = clf.get_weights()["beta_h"].astype(np.float32)
    i = bytes(data).find(struct.pack(">f", float(beta[0])))  # MessagePack float32, big-endian
    assert i > 0
    data[i:i + 4] = struct.pack(">f", 5.0)
    with pytest.raises(_core.ModelFileError, match="checksum does not match"):
        _core.Network.from_bytes(bytes(data))
    # written so by a faulty writer (a valid checksum), the range check refuses it
    with pytest.raises(_core.ModelFileError, match="decay factors of population 'h' outside"):
        _core.Network.from_bytes(with_checksum(data))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SpikingRNNClassifier(**FAST, threshold=1e39).fit(X, y), "threshold must be <= 1e\\+30"),
        (lambda: __import__("motorsrnn").SpikingRNNRegressor(**FAST).fit(X, np.full(24, 1e30)),
         "y has values of magnitude up to 1e\\+30"),
        (lambda: __import__("motorsrnn").SpikingRNNRegressor(**FAST).fit(X, np.zeros(24),
                                                                         neural_targets=np.full((24, 10, 2), 1e30)),
         "neural_targets has values of magnitude"),
    ],
)
def test_values_beyond_float32_are_named_not_reported_as_divergence(make, match):
    """These overflowed float32 in the core and were reported as a divergence at epoch 0, with the
    advice to lower learning_rate."""
    with pytest.raises(ValueError, match=match):
        make()


def test_streaming_refuses_complex_and_text_bins(fitted):
    decoder = fitted.stream()
    for bad in (np.ones(5, complex), ["1"] * 5):
        with pytest.raises(ValueError, match="spike counts"):
            decoder.step(bad)
    assert decoder.n_steps == 0


# -- found by the fourteenth session's fuzzing: each case raised a confusing error (numpy's
# sorting TypeError, ZeroDivisionError, AttributeError), ran out of memory, or returned nonsense --


@pytest.mark.parametrize(
    "labels, match",
    [
        (np.array(["a", 1] * 12, dtype=object), r"values of different types in y \(int, str\)"),
        (np.array([None, 1, 2] * 8, dtype=object), r"None or NaN in y \(at positions \[0, 3, 6, 9, 12\] \.\.\.\)"),
        (np.array([0.0, 1.0, np.nan] * 8), r"NaN in y \(at positions \[2, 5, 8, 11, 14\] \.\.\.\)"),
    ],
)
def test_labels_of_mixed_types_or_missing_are_named(labels, match):
    with pytest.raises(ValueError, match=match):
        SpikingRNNClassifier(**FAST).fit(X, labels)
    with pytest.raises(ValueError, match=match):
        PoissonNaiveBayes().fit(X, labels)


def test_loss_and_grad_names_unknown_labels_and_checks_bptt_window(fitted):
    with pytest.raises(ValueError, match=r"labels not seen in fit: \['0', '1', '2'\]"):
        fitted.loss_and_grad(X, y.astype(str))
    with pytest.raises(ValueError, match=r"labels not seen in fit: \[None\]"):
        fitted.loss_and_grad(X, np.array([None] * len(y), dtype=object))
    loss, _ = fitted.loss_and_grad(X, y)
    assert np.isfinite(loss)
    for bad, match in ((0, "bptt_window must be >= 1"), (-1, "bptt_window must be >= 1"),
                       (2.5, "bptt_window must be an integer")):
        est = SpikingRNNClassifier(**FAST).fit(X, y).set_params(bptt_window=bad)
        with pytest.raises(ValueError, match=match):
            est.loss_and_grad(X, y)


def test_activity_parameters_beyond_float32_are_refused_in_python():
    """The core rejected these after float32 conversion, with a message that was false for them
    ("activity_tau must be a positive number of ms" for 1e8 ms)."""
    R = rng.random((len(X), X.shape[1], 2)) * 10
    with pytest.raises(ValueError, match=r"activity_tau \(1e\+08 ms\) must be at most 1e\+06 time steps of dt"):
        SpikingRNNClassifier(**FAST, activity_tau=1e8).fit(X, y, neural_targets=R)
    with pytest.raises(ValueError, match=r"activity_weight must be <= 1e\+30"):
        SpikingRNNClassifier(**FAST, activity_weight=3.5e38).fit(X, y, neural_targets=R)
    # the bound is in time steps: 1e6 ms is fine with dt = 1 ms
    est = SpikingRNNClassifier(**FAST, activity_tau=1e6, activity_kernel="gaussian").fit(X, y, neural_targets=R)
    assert np.isfinite(est.history_[-1]["loss"])
    # and it is a bound of activity matching: a fit without it at a tiny dt does not name activity_tau
    tiny = SpikingRNNClassifier(**{**FAST, "max_epochs": 1}, dt=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(tiny.fit(X, y).history_[-1]["loss"])
    with pytest.raises(ValueError, match=r"activity_tau \(20 ms\) must be at most .* dt \(1e-05 ms\) to match "
                                         r"activity.*larger dt"):
        tiny.fit(X, y, neural_targets=R)


def test_topology_of_the_wrong_types_raises_topology_error():
    from motorsrnn.topology import Population, Topology

    with pytest.raises(TopologyError, match="projections must be a list of Projection, but it holds Population"):
        SpikingRNNClassifier(**FAST, architecture=Topology([Population("h", 4)], [Population("h", 4)])).fit(X, y)
    with pytest.raises(TopologyError, match="populations must be a list of Population, got str"):
        Topology("abc", "def").validate()
    with pytest.raises(ValueError, match="the topology dict's populations must be a list of dicts, got 5"):
        Topology.from_dict({"populations": 5, "projections": []})


def test_helpers_name_what_they_were_given(fitted):
    from motorsrnn import comparison, plotting
    from motorsrnn.topology import shuffle_projection

    with pytest.raises(TypeError, match="models must be a dict of name to estimator .* got list"):
        comparison.compare_models(X, y, X, y, [PoissonNaiveBayes()])
    with pytest.raises(TypeError, match="result must be what compare_models returns"):
        comparison.format_table({})
    with pytest.raises(TypeError, match=r"weights must be a dict of name to array, as get_weights\(\) returns, got list"):
        fitted.set_weights([("w_in", fitted.get_weights()["w_in"])])
    with pytest.raises(TypeError, match="fitted motorsrnn spiking estimator .* got PoissonNaiveBayes"):
        shuffle_projection(PoissonNaiveBayes().fit(X, y), "w_rec")
    with pytest.raises(TypeError, match="curves must be an early_classification result or a dict"):
        plotting.early_curves("x")


def test_streaming_names_values_beyond_float32(fitted):
    """A finite 1e39 became inf in the float32 conversion and was reported as "found inf"."""
    with pytest.raises(ValueError, match=r"found 1e\+39, beyond the range of the core's floating-point type"):
        fitted.stream().step(np.full(X.shape[2], 1e39))
    with pytest.raises(ValueError, match="finite and non-negative; found inf"):
        fitted.stream().step(np.full((2, X.shape[2]), np.inf))


def _edited_file(est, path, **edits):
    """``est`` saved with its metadata edited (a valid file otherwise: the core writes it)."""
    import json

    meta = json.loads(est._metadata(est.n_features_in_, est.history_, est.stop_reason_, est.best_epoch_))
    for key, value in edits.items():
        if key in meta["params"]:
            meta["params"][key] = value
        else:
            meta[key] = value
    path.write_bytes(bytes(est.network_.to_bytes(json.dumps(meta))))
    return path


@pytest.mark.parametrize("edits, match", [
    (dict(classes=["down", "left", "up"], classes_dtype="<U1"), "do not survive their dtype"),
    (dict(classes=[2, 1, 0]), "not unique and sorted"),
    (dict(classes=[0, 0, 1]), "not unique and sorted"),
    (dict(n_hidden=-5), "n_hidden"),
    (dict(dt="abc"), "dt"),
    (dict(n_features_in=float(X.shape[2]) + 0.7), "n_features_in must be an integer"),
    (dict(feature_names_in=["a"]), rf"feature_names_in must be a list of {X.shape[2]} strings"),
    (dict(feature_names_in="abc"), "feature_names_in must be a list"),
    (dict(feature_names_in=list(range(X.shape[2]))), "strings"),
])
def test_load_refuses_metadata_that_does_not_describe_the_network(fitted, tmp_path, edits, match):
    """Edited metadata (a file whose checksum was recomputed) loaded silently: truncated or
    reordered class labels changed every prediction, and parameters that do not describe the
    network (dt, architecture) were reported by get_params and used by simulate. (A classifier's
    network relabelled as a regressor's is the same network and loads as one.)"""
    from motorsrnn import ModelFileError, load

    untouched = load(_edited_file(fitted, tmp_path / "same.msrnn"))  # the helper itself changes nothing
    np.testing.assert_array_equal(untouched.predict_proba(X), fitted.predict_proba(X))
    with pytest.raises(ModelFileError, match=match):
        load(_edited_file(fitted, tmp_path / "edited.msrnn", **edits))


@pytest.mark.parametrize("edits, match", [
    (dict(architecture="fsnn"), "describe another network than the saved one"),
    (dict(dt=2.0), r"another network than the saved one \(it differs in: dt\)"),
])
def test_load_warns_about_parameters_that_describe_another_network(fitted, tmp_path, edits, match):
    """Files written before save() refused parameters changed after fit pair a network with
    parameters that do not describe it: they load (the network decides what is predicted) with a
    warning, so that nothing trained is lost."""
    from motorsrnn import load

    with pytest.warns(UserWarning, match=match + r".*Predictions use the saved network"):
        back = load(_edited_file(fitted, tmp_path / "edited.msrnn", **edits))
    np.testing.assert_array_equal(back.predict_proba(X), fitted.predict_proba(X))


def test_writers_of_one_path_in_parallel_do_not_clash(tmp_path):
    """Parallel fits with one checkpoint_path (cross_val_score(n_jobs=2)) shared the temporary
    file 'm.msrnn.tmp': one renamed it under the other, which then warned 'could not write the
    checkpoint' and wrote no more. Each write now has a temporary file of its own."""
    import threading

    from motorsrnn.estimators import _write_atomic

    target = tmp_path / "m.msrnn"
    payloads = [bytes([k]) * 100_000 for k in range(4)]
    errors = []

    def writer(data):
        try:
            for _ in range(50):
                _write_atomic(target, data)
        except OSError as e:  # pragma: no cover - the failure this test is about
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert target.read_bytes() in payloads  # whole: one writer's bytes, never a mix
    assert [p.name for p in tmp_path.iterdir()] == ["m.msrnn"]


def test_save_errors_name_the_file_asked_for(fitted, tmp_path):
    """A missing folder gave FileNotFoundError naming 'model.msrnn.tmp', the temporary file."""
    target = tmp_path / "no such folder" / "model.msrnn"
    with pytest.raises(FileNotFoundError) as e:
        fitted.save(target)
    assert e.value.filename == str(target) and str(target) in str(e.value) and ".tmp" not in str(e.value)


def test_save_follows_a_link_keeps_permissions_and_reports_the_first_error(fitted, tmp_path, monkeypatch):
    """Saving over a symbolic link replaced the link with a file (its target kept the old model); a
    0600 file became 0644; on a read-only file system the cleanup's own error (naming the
    temporary file, which never existed) replaced the first one."""
    import errno
    import os
    import stat

    from motorsrnn import estimators as est
    from motorsrnn import load

    target, link = tmp_path / "real.msrnn", tmp_path / "link.msrnn"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    link.symlink_to(target)
    fitted.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    np.testing.assert_array_equal(load(target).get_weights()["w_out"], fitted.get_weights()["w_out"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.msrnn", "real.msrnn"]

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(args[0]))

    monkeypatch.setattr(est, "open", read_only, raising=False)  # the temporary file cannot be made
    monkeypatch.setattr(est.Path, "unlink", lambda self, missing_ok=False: read_only(self))
    with pytest.raises(OSError) as e:
        fitted.save(tmp_path / "ro.msrnn")
    assert e.value.errno == errno.EROFS and e.value.filename == str(tmp_path / "ro.msrnn")


def test_save_refuses_parameters_changed_after_fit(fitted, tmp_path):
    """set_params(dt=2.0) after fit, then save: the file paired the dt=1 network with dt=2 (and
    load now refuses such files), so save refuses first, naming the fix; nothing is written."""
    from sklearn.base import clone

    est = clone(fitted).fit(X, y).set_params(dt=2.0, learning_rate=0.5)
    with pytest.raises(ValueError, match=r"changed after fit and now describe another network \(it differs in: dt\)"):
        est.save(tmp_path / "m.msrnn")
    assert not (tmp_path / "m.msrnn").exists()
    est.set_params(dt=1.0).save(tmp_path / "m.msrnn")  # training settings may differ from the fit's
    assert (tmp_path / "m.msrnn").exists()


def test_weights_too_large_for_float32_raise_instead_of_nan_probabilities(fitted):
    """set_weights with |w| near 3e38 made predict_proba NaN and predict the first class (the
    streaming decoder returned NaN without a word); now every output path names the problem."""
    from sklearn.base import clone

    est = clone(fitted).fit(X, y)
    w = est.get_weights()["w_out"]
    est.set_weights({"w_out": np.full_like(w, 3e38)})
    for call in (est.predict, est.predict_proba, est.decision_function, est.decision_path):
        with pytest.raises(FloatingPointError, match=r"outputs are not finite .*largest \|weight\| 3e\+38"):
            call(X)
    decoder = est.stream()
    with pytest.raises(FloatingPointError, match="outputs are not finite"):
        decoder.step(X[0])
    for later in (lambda: decoder.logits, decoder.predict):  # the state moved on: no silent first class
        with pytest.raises(FloatingPointError, match="outputs are not finite"):
            later()
    with pytest.raises(FloatingPointError, match="outputs are not finite"):
        SpikingRNNRegressor(**FAST).fit(X, y[:, None] * 1.0).set_weights(
            {"w_out": np.full((1, 8), 3e38, np.float32)}).predict(X)
    # loss_and_grad returns them for diagnosis, but says so (it returned NaN without a word)
    with pytest.warns(RuntimeWarning, match=r"loss \(nan\) or the gradient .* is not finite.*largest \|weight\| 3e\+38"):
        loss, _ = est.loss_and_grad(X, y)
    assert not np.isfinite(loss)
    import warnings

    finite = clone(fitted).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        finite.loss_and_grad(X, y)  # a finite one: no warning


def test_set_weights_refuses_complex_and_non_numeric_arrays(fitted):
    """Complex weights lost their imaginary part (a NumPy ComplexWarning only); None is named
    (NumPy would read it as NaN); object arrays of numbers stay accepted, as before."""
    w = fitted.get_weights()["w_out"]
    for bad, kind in ((w + 1j, "complex"), (np.full(w.shape, "abc", dtype=object), "object"),
                      (w.astype(object) + 1j, "object")):
        with pytest.raises(ValueError, match=f"weights 'w_out' must be real numbers, got an array of dtype {kind}"):
            fitted.set_weights({"w_out": bad})
    with pytest.raises(ValueError, match="dtype object holding None"):  # not read as NaN
        fitted.set_weights({"w_out": np.full(w.shape, None)})
    from sklearn.base import clone

    est = clone(fitted).fit(X, y).set_weights({"w_out": (w * 2).astype(object)})
    np.testing.assert_array_equal(est.get_weights()["w_out"], w * 2)


def test_an_empty_chunk_before_the_first_bin_gives_no_decision(fitted):
    decoder = fitted.stream()
    with pytest.raises(ValueError, match="no bin of this trial has been given yet"):
        decoder.step(np.zeros((0, X.shape[2])))
    assert decoder.n_steps == 0
    p = decoder.step(X[0, :1])
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(decoder.step(np.zeros((0, X.shape[2]))), p)  # later: the current decision


def test_jitter_refuses_counts_that_could_add_up_beyond_float32():
    """Counts of 2e38 every other bin trained without jitter, but with spike_jitter two of them
    could land in one bin (4e38, inf in float32) and the fit 'diverged', advising a lower rate."""
    Xh = np.zeros((8, 20, 1))
    Xh[:, ::2, 0] = 2e38
    labels = np.arange(8) % 2
    SpikingRNNClassifier(n_hidden=4, max_epochs=1, random_state=0).fit(Xh, labels)  # without jitter: fine
    with pytest.raises(ValueError, match=r"with spike_jitter, .* trial 0, channel 0 holds 2e\+39 in all"):
        SpikingRNNClassifier(n_hidden=4, max_epochs=1, spike_jitter=3.0).fit(Xh, labels)


def test_a_dataset_or_simulate_result_where_an_array_belongs_names_its_arrays(fitted):
    """A make_center_out Bunch or a simulate() result passed as X gave scikit-learn's "Expected 2D
    array, got scalar array" with the whole dict in the message (API review, twenty-first session)."""
    from motorsrnn.analysis import add_poisson_noise, energy
    from motorsrnn.datasets import make_center_out
    from motorsrnn.tuning import fit_cosine_tuning

    data = make_center_out(n_trials=20, n_neurons=X.shape[2], n_timesteps=X.shape[1], random_state=0)
    sim = fitted.simulate(X[:3])
    for call in (lambda: SpikingRNNClassifier(**FAST).fit(data, data.y), lambda: fitted.predict(data),
                 lambda: add_poisson_noise(data, 5.0), lambda: energy(fitted, data),
                 lambda: fit_cosine_tuning(data, data.y)):
        with pytest.raises(TypeError, match=r"is a Bunch \(a dataset or a simulate\(\) result\?\), not an array: "
                                            r"pass its X \(e\.g\. data\.X\); its keys are \['X', 'y'"):
            call()
    with pytest.raises(TypeError, match=r"pass its spikes \(e\.g\. data\.spikes\)"):
        fitted.predict(sim)


def test_the_packages_exceptions_pickle():
    """ModelFileError and TopologyError lived in a module named '_core' that cannot be imported:
    pickling them (a process pool's worker that failed to load a model) raised PicklingError."""
    import pickle

    from motorsrnn import ModelFileError, TopologyError, TrainingDivergedError

    for cls in (ModelFileError, TopologyError, TrainingDivergedError):
        back = pickle.loads(pickle.dumps(cls("the file is damaged")))
        assert type(back) is cls and str(back) == "the file is damaged"
