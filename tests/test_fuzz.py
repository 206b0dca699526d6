"""Property-based (hypothesis) tests of the Python/Rust boundary.

The property everywhere: any input gives either a correct result or a Python exception of an allowed
type (ValueError, TypeError, motorsrnn.ModelFileError, NotFittedError) with a non-empty message.
Never a crash, never a caught Rust panic (RuntimeError "internal error ..."), never a
``pyo3_runtime.PanicException`` (a BaseException, so it is not swallowed by ``except Exception``).

Where an oracle is cheap (is X valid? is a weight array acceptable?), the tests also check that
valid input is accepted and invalid input refused, and that results have the documented shapes.
Inputs that could abort the whole process (Rust out-of-memory aborts) are run in a subprocess.
"""

import copy
import os
import struct
import subprocess
import sys
import tempfile
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import NotFittedError

import motorsrnn
from modelfile_bytes import with_checksum
from motorsrnn import ModelFileError, SpikingRNNClassifier, TrainingDivergedError, _core

#: The memory tests set RLIMIT_AS (which macOS does not enforce) and read /proc: Linux only.
LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sets RLIMIT_AS and reads /proc: Linux only")

FAST = dict(n_hidden=8, max_epochs=1, batch_size=8, random_state=0, n_jobs=1)
N_CH = 5
ALLOWED = (ValueError, TypeError, ModelFileError, NotFittedError)
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_rng = np.random.default_rng(0)
X0 = (_rng.random((24, 10, N_CH)) < 0.2).astype(np.uint8)
Y0 = np.arange(24) % 3


@pytest.fixture(scope="module")
def fitted():
    return SpikingRNNClassifier(**FAST).fit(X0, Y0)


@pytest.fixture(scope="module")
def model_bytes(fitted):
    return bytes(fitted.network_.to_bytes('{"estimator": "SpikingRNNClassifier"}'))


@pytest.fixture(scope="module")
def tmpdir_mod(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def outcome(fn, *args, allowed=ALLOWED, **kwargs):
    """Run ``fn``; return ``(True, result)`` or ``(False, exception)`` for an allowed exception.

    Anything else (RuntimeError from a caught panic, PanicException, other types) fails the test.
    """
    try:
        return True, fn(*args, **kwargs)
    except allowed as e:
        msg = str(e)
        assert msg.strip(), f"{type(e).__name__} with an empty message"
        assert "internal error" not in msg, f"caught Rust panic surfaced as {type(e).__name__}: {msg}"
        assert "panicked" not in msg, msg
        return False, e
    except KeyboardInterrupt:  # pragma: no cover
        raise
    except BaseException as e:  # noqa: BLE001 - PanicException derives from BaseException
        pytest.fail(f"disallowed exception {type(e).__module__}.{type(e).__name__}: {e}")


class StderrCapture:
    """Capture file descriptor 2 (where Rust's panic hook writes), usable inside hypothesis tests."""

    def __enter__(self):
        sys.stderr.flush()
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._file.seek(0)
        self.text = self._file.read().decode("utf-8", "replace")
        self._file.close()
        return False


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------
DTYPES = [
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, object,
]  # fmt: skip
SPECIAL = [0.0, 1.0, 2.0, 0.5, 255.0, 256.0, 1e6, 1e30, 1e300, -1.0, -0.0, np.nan, np.inf, -np.inf]


@st.composite
def spike_arrays(draw, n_channels=None, max_trials=6):
    """Arrays of any dtype, 1-D to 4-D, possibly empty, with odd values and odd memory layouts."""
    ndim = draw(st.sampled_from([1, 2, 3, 3, 3, 4]))
    dims = [draw(st.integers(0, max_trials)), draw(st.integers(0, 8)), draw(st.integers(0, 7)), 2][:ndim]
    if n_channels is not None and ndim in (2, 3) and draw(st.booleans()):
        dims[-1] = n_channels  # usually the right number of channels, so the valid path is exercised
    odd = draw(st.booleans())
    elems = st.one_of(st.integers(0, 3).map(float), st.sampled_from(SPECIAL)) if odd else st.integers(0, 3).map(float)
    base = draw(hnp.arrays(np.float64, tuple(dims), elements=elems))
    dtype = draw(st.sampled_from(DTYPES))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arr = base.astype(dtype)
    layout = draw(st.sampled_from(["c", "f", "reversed", "strided"]))
    if layout == "f":
        arr = np.asfortranarray(arr)
    elif layout == "reversed" and arr.ndim >= 1:
        arr = arr[::-1]
    elif layout == "strided" and arr.ndim >= 1:
        arr = np.repeat(arr, 2, axis=-1)[..., ::2]  # same values, non-contiguous view
    return arr


def x_is_valid(X, n_channels=None):
    """The documented contract: 2-D/3-D, non-empty, finite, non-negative, within float32's range
    (the core's type) (and the right channels)."""
    a = np.asarray(X)
    if a.ndim not in (2, 3) or 0 in a.shape:
        return False
    if n_channels is not None and a.shape[-1] != n_channels:
        return False
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = a.astype(np.float64)
    return bool(np.isfinite(f).all() and (f >= 0).all() and (f <= np.finfo(np.float32).max).all())


def max_value(X):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.max(np.asarray(X).astype(np.float64))) if np.size(X) else 0.0


def n_trials_steps(X):
    a = np.asarray(X)
    return a.shape[0], (a.shape[1] if a.ndim == 3 else 1)


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------
@settings(max_examples=60, **SETTINGS)
@given(X=spike_arrays(max_trials=12), labels=st.sampled_from(["ints", "strings", "one_class", "short", "floats"]))
def test_fuzz_fit(X, labels):
    n = np.asarray(X).shape[0] if np.ndim(X) else 0
    y = {
        "ints": np.arange(n) % 3,
        "strings": np.array(["left", "right"])[np.arange(n) % 2],
        "one_class": np.zeros(n, dtype=int),
        "short": np.arange(max(n - 1, 0)) % 2,
        "floats": np.linspace(0.1, 0.9, n),  # never integer-valued (those are valid class labels)
    }[labels]
    y_valid = labels in ("ints", "strings") and n >= 2
    # divergence on astronomically large counts is a documented outcome of fit
    ok, res = outcome(SpikingRNNClassifier(**FAST).fit, X, y, allowed=ALLOWED + (TrainingDivergedError,))
    valid = x_is_valid(X) and y_valid
    if ok:
        assert valid, f"fit accepted invalid input: X {np.asarray(X).dtype} {np.shape(X)}, y {labels}"
        assert res.n_features_in_ == np.asarray(X).shape[-1]
        assert all(np.isfinite(w).all() for w in res.get_weights().values())
    elif valid and max_value(X) <= 1e6:
        pytest.fail(f"fit refused valid input ({type(res).__name__}: {res})")


# ---------------------------------------------------------------------------------------------
# predict, predict_proba, decision_function, decision_path, simulate
# ---------------------------------------------------------------------------------------------
@settings(max_examples=80, **SETTINGS)
@given(X=spike_arrays(n_channels=N_CH))
def test_fuzz_predict_family(fitted, X):
    valid = x_is_valid(X, N_CH)
    moderate = valid and max_value(X) <= 1e6
    results = {}
    for name in ("predict", "predict_proba", "decision_function", "decision_path", "simulate"):
        ok, res = outcome(getattr(fitted, name), X)
        assert ok == valid, f"{name}: valid={valid} but {'accepted' if ok else 'refused'} ({res!r:.300})"
        results[name] = res
    if not valid:
        return
    n, T = n_trials_steps(X)
    assert results["predict"].shape == (n,) and set(results["predict"]) <= set(fitted.classes_)
    proba = results["predict_proba"]
    assert proba.shape == (n, 3)
    path = results["decision_path"]
    assert path.shape == (n, T, 3) and path.dtype == np.float32
    np.testing.assert_array_equal(results["decision_function"], path[:, -1, :])
    sim = results["simulate"]
    assert sim.spikes.shape == (n, T, 8) and sim.spikes.dtype == np.uint8
    assert set(np.unique(sim.spikes)) <= {0, 1}
    assert sim.membrane.shape == (n, T, 8) and sim.readout.shape == (n, T, 3)
    np.testing.assert_array_equal(sim.logits, path)
    # results do not depend on dtype or memory layout: same as a contiguous float64 copy
    ref = fitted.decision_path(np.ascontiguousarray(np.asarray(X, dtype=np.float64)))
    np.testing.assert_allclose(path, ref, rtol=1e-5, atol=1e-5)
    if moderate:
        assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        assert np.isfinite(path).all() and np.isfinite(sim.membrane).all() and np.isfinite(sim.readout).all()


@settings(max_examples=15, **SETTINGS)
@given(X=spike_arrays(n_channels=N_CH))
def test_fuzz_unfitted_raises_not_fitted(X):
    clf = SpikingRNNClassifier(**FAST)
    for name in ("predict", "decision_path", "simulate"):
        ok, res = outcome(getattr(clf, name), X)
        assert not ok and isinstance(res, NotFittedError), res
    ok, res = outcome(clf.loss_and_grad, X, np.zeros(len(np.atleast_1d(X))))
    assert not ok and isinstance(res, NotFittedError)
    ok, res = outcome(clf.set_weights, {"w_in": np.zeros((8, N_CH))})
    assert not ok and isinstance(res, NotFittedError)


# ---------------------------------------------------------------------------------------------
# loss_and_grad
# ---------------------------------------------------------------------------------------------
@settings(max_examples=60, **SETTINGS)
@given(
    X=spike_arrays(n_channels=N_CH),
    ykind=st.sampled_from(["good", "good", "unknown", "negative", "2d", "short", "strings", "float"]),
)
def test_fuzz_loss_and_grad(fitted, X, ykind):
    n = np.asarray(X).shape[0] if np.ndim(X) else 0
    y = {
        "good": np.arange(n) % 3,
        "unknown": np.full(n, 7),
        "negative": np.full(n, -1),
        "2d": (np.arange(n) % 3).reshape(-1, 1),
        "short": np.arange(max(n - 1, 0)) % 3,
        "strings": np.full(n, "a"),
        "float": np.full(n, 0.5),
    }[ykind]
    ok, res = outcome(fitted.loss_and_grad, X, y)
    valid = x_is_valid(X, N_CH) and ykind == "good"
    assert ok == valid, f"valid={valid} ({ykind}) but {'accepted' if ok else 'refused'}: {res!r:.300}"
    if not ok:
        return
    loss, grads = res
    shapes = {k: v.shape for k, v in fitted.get_weights().items()}
    assert {k: v.shape for k, v in grads.items()} == shapes
    if max_value(X) <= 1e30:
        assert np.isfinite(loss) and loss >= 0
        assert all(np.isfinite(g).all() for g in grads.values()), "non-finite gradient for finite input"


def test_loss_and_grad_counts_beyond_float32_range(fitted):
    """Counts that are finite in float64 but overflow the float32 core pass validation; they must
    then give finite gradients or be refused with ValueError, not silently return NaN gradients."""
    X = X0[:4].astype(np.float64) * 1e300
    ok, res = outcome(fitted.loss_and_grad, X, Y0[:4])
    if ok:
        loss, grads = res
        bad = sorted(k for k, g in grads.items() if not np.isfinite(g).all())
        assert np.isfinite(loss) and not bad, f"loss {loss}, non-finite gradients for {bad} (input max 1e300)"


# ---------------------------------------------------------------------------------------------
# set_weights
# ---------------------------------------------------------------------------------------------
@st.composite
def weight_updates(draw):
    names = ["w_in", "w_rec", "b_h", "w_out", "b_out", "nope", "b_x", "h->h"]
    name = draw(st.sampled_from(names))
    shapes = {"w_in": (8, N_CH), "w_rec": (8, 8), "b_h": (8,), "w_out": (3, 8), "b_out": (3,)}
    want = shapes.get(name, (2, 2))
    shape = draw(st.one_of(st.just(want), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9)))
    elems = st.one_of(st.floats(-3, 3), st.sampled_from([np.nan, np.inf, -np.inf, 1e39, 1e300, -1e300, 0.0]))
    base = draw(hnp.arrays(np.float64, shape, elements=elems))
    kind = draw(st.sampled_from(["float64", "float32", "float16", "int64", "bool", "object", "list", "transposed"]))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "list":
            value = base.tolist()
        elif kind == "transposed":
            value = np.asfortranarray(base.T).T if base.ndim else base  # non-C-contiguous view
        elif kind in ("object",):
            value = base.astype(object)
        else:
            value = base.astype(kind)
    return name, value


@settings(max_examples=80, **SETTINGS)
@given(update=weight_updates())
def test_fuzz_set_weights(fitted, update):
    name, value = update
    clf = copy.deepcopy(fitted)
    before = clf.get_weights()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # float64 -> float32 overflow warning
        ok, res = outcome(clf.set_weights, {name: value})
        as32 = np.asarray(value, dtype=np.float64).astype(np.float32)
    valid = name in before and as32.shape == before[name].shape and bool(np.isfinite(as32).all())
    assert ok == valid, f"{name} {np.shape(value)}: valid={valid} but {'accepted' if ok else 'refused'}: {res!r:.300}"
    after = clf.get_weights()
    if ok:
        np.testing.assert_array_equal(after[name], as32)
    for k in before:
        if not (ok and k == name):
            np.testing.assert_array_equal(after[k], before[k], err_msg=f"{k} changed")
    ok2, path = outcome(clf.decision_path, X0[:3])
    assert ok2 and path.shape == (3, 10, 3)


# ---------------------------------------------------------------------------------------------
# Model loading: motorsrnn.load and Network.from_bytes
# ---------------------------------------------------------------------------------------------
def _check_loaded_network(net):
    """A network that loaded from damaged bytes must still behave: predict or raise cleanly."""
    n_in = dict(net.populations())
    assert all(isinstance(v, int) for v in n_in.values())
    ok, res = outcome(net.logits_per_step, X0[:2], 1)
    if ok:
        assert res.shape[:2] == (2, 10)


@settings(max_examples=150, **SETTINGS)
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=300).map(lambda b: b"MOTRSRNN" + b),
        st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=300)).map(
            lambda t: b"MOTRSRNN" + struct.pack("<I", t[0]) + t[1]
        ),
    )
)
def test_fuzz_from_bytes_random(data):
    with StderrCapture() as cap:
        ok, res = outcome(_core.Network.from_bytes, data)
    assert "panicked" not in cap.text, f"Rust panic while reading random bytes {data[:40]!r}: {cap.text[:500]}"
    assert not ok, "random bytes were accepted as a model"
    assert isinstance(res, ModelFileError), f"{type(res).__name__}: {res}"
    if len(data) >= 12 and data[:8] == b"MOTRSRNN":
        assert "version" in str(res), str(res)


@st.composite
def damaged(draw, n_bytes):
    kind = draw(st.sampled_from(["truncate", "flip", "flip", "overwrite", "insert", "delete"]))
    if kind == "truncate":
        return kind, draw(st.integers(0, n_bytes - 1)), None
    if kind == "flip":
        flips = draw(st.lists(st.tuples(st.integers(0, n_bytes - 1), st.integers(0, 7)), min_size=1, max_size=4))
        return kind, flips, None
    if kind == "overwrite":
        pos = draw(st.integers(0, n_bytes - 1))
        return kind, pos, draw(st.binary(min_size=1, max_size=9))
    if kind == "insert":
        return kind, draw(st.integers(0, n_bytes)), draw(st.binary(min_size=1, max_size=9))
    return kind, draw(st.integers(0, n_bytes - 1)), draw(st.integers(1, 9))


def apply_damage(b, damage):
    kind, where, what = damage
    if kind == "truncate":
        return b[:where]
    if kind == "flip":
        bb = bytearray(b)
        for pos, bit in where:
            bb[pos] ^= 1 << bit
        return bytes(bb)
    if kind == "overwrite":
        return b[:where] + what + b[where + len(what) :]
    if kind == "insert":
        return b[:where] + what + b[where:]
    return b[:where] + b[where + what :]


@settings(max_examples=250, **SETTINGS)
@given(data=st.data())
def test_fuzz_from_bytes_damaged(model_bytes, data):
    damage = data.draw(damaged(len(model_bytes)))
    bad = apply_damage(model_bytes, damage)
    with StderrCapture() as cap:
        ok, res = outcome(_core.Network.from_bytes, bad)
        if ok:
            _check_loaded_network(res[0])
    assert "panicked" not in cap.text, f"Rust panic (caught) for damage {damage}: {cap.text[:500]}"
    if not ok:
        assert isinstance(res, ValueError)  # ModelFileError, TopologyError: both ValueErrors
    if bad != model_bytes and bad[8:12] == model_bytes[8:12]:
        # docs/model_file.md: the CRC-32 catches every change to a file of the current version
        assert not ok, f"damaged bytes were accepted ({damage})"
        assert isinstance(res, ModelFileError), f"{type(res).__name__}: {res}"


@settings(max_examples=100, **SETTINGS)
@given(data=st.data())
def test_fuzz_load_file(fitted, tmpdir_mod, data):
    path = tmpdir_mod / "model.msrnn"
    fitted.save(path)
    good = path.read_bytes()
    bad = data.draw(st.one_of(st.binary(max_size=200), damaged(len(good)).map(lambda d: apply_damage(good, d))))
    path.write_bytes(bad)
    with StderrCapture() as cap:
        ok, est = outcome(motorsrnn.load, path)
        if ok:
            ok2, pred = outcome(est.predict, X0[:3])
            if ok2:
                assert pred.shape == (3,)
    assert "panicked" not in cap.text, cap.text[:500]
    if not ok:
        assert isinstance(est, ValueError)
    if bad != good:
        assert not ok, "a damaged model file was loaded"


def test_load_round_trip_still_works(fitted, tmp_path):
    fitted.save(tmp_path / "m.msrnn")
    est = motorsrnn.load(tmp_path / "m.msrnn")
    np.testing.assert_array_equal(est.decision_path(X0), fitted.decision_path(X0))


def _replace_float(b, key, value):
    """Replace the float64 that follows the MessagePack string ``key`` (fixstr) in model bytes."""
    tag = bytes([0xA0 | len(key)]) + key
    i = b.find(tag)
    assert i > 0 and b[i + len(tag)] == 0xCB, f"{key!r} not followed by a float64"
    j = i + len(tag) + 1
    return b[:j] + struct.pack(">d", value) + b[j + 8 :]


@pytest.mark.parametrize(
    "field",
    ["dt = -1", "threshold = nan", "unknown projection source", "tau_out = -inf"],
)
def test_corrupt_fields_raise_model_file_error(model_bytes, field):
    """docs/model_file.md: readers refuse corrupt payloads with ModelFileError naming the format
    version ("a clear error naming the file format version", issue 7), whatever field is damaged."""
    if field == "dt = -1":
        bad = _replace_float(model_bytes, b"dt", -1.0)
    elif field == "threshold = nan":
        bad = _replace_float(model_bytes, b"threshold", float("nan"))
    elif field == "tau_out = -inf":
        bad = _replace_float(model_bytes, b"tau_out", float("-inf"))
    else:
        assert model_bytes.count(b"\xa5input") == 1
        bad = model_bytes.replace(b"\xa5input", b"\xa5inpux")
    ok, res = outcome(_core.Network.from_bytes, bad)
    assert not ok and "checksum does not match" in str(res), f"corrupt model ({field}): {res}"
    ok, res = outcome(_core.Network.from_bytes, with_checksum(bad))
    assert not ok, f"corrupt model ({field}) was accepted"
    assert isinstance(res, ModelFileError), f"{type(res).__module__}.{type(res).__name__}: {res}"
    assert "format version 2" in str(res) and "checksum" not in str(res), str(res)


# ---------------------------------------------------------------------------------------------
# Inputs that can abort the process: run in a subprocess
# ---------------------------------------------------------------------------------------------
def _run_isolated(code, timeout=120):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )
    return proc.returncode, proc.stdout, proc.stderr


PRELUDE = """
import struct, numpy as np
from sklearn.exceptions import NotFittedError
from motorsrnn import SpikingRNNClassifier, ModelFileError, _core
rng = np.random.default_rng(0)
X = (rng.random((24, 10, 5)) < 0.2).astype(np.uint8); y = np.arange(24) % 3
def report(fn):
    try:
        fn(); print("RESULT ok")
    except (ValueError, TypeError, MemoryError) as e:
        print("RESULT", type(e).__name__, "|", e)
    except BaseException as e:
        print("RESULT DISALLOWED", type(e).__module__, type(e).__name__, "|", e)
"""


@pytest.mark.parametrize(
    "field, value",
    [("size", 100_000), ("size", 2**64 - 1), ("n_inputs", 2**32), ("n_outputs", 2**40)],
)
def test_model_bytes_with_huge_sizes_do_not_abort(model_bytes, tmp_path, field, value):
    """A damaged or hostile model file declaring a huge population must be refused with
    ModelFileError, not abort the interpreter (Rust out-of-memory) or print a panic."""
    key = field.encode()
    tag = bytes([0xA0 | len(key)]) + key
    i = model_bytes.find(tag) + len(tag)
    assert model_bytes[i] < 0x80, "expected a positive fixint"
    bad = with_checksum(model_bytes[:i] + b"\xcf" + struct.pack(">Q", value) + model_bytes[i + 1 :])
    (tmp_path / "bad.bin").write_bytes(bad)
    code = PRELUDE + f"report(lambda: _core.Network.from_bytes(open({str(tmp_path / 'bad.bin')!r}, 'rb').read()))\n"
    rc, out, err = _run_isolated(code)
    assert rc == 0, f"interpreter died (exit code {rc}) reading a model with {field}={value}: {err.strip()[:300]}"
    assert "RESULT ModelFileError" in out, out + err[:300]
    assert "panicked" not in err, err[:300]


@pytest.mark.parametrize("n_hidden", [10**7, 2**62])
def test_huge_n_hidden_raises_instead_of_aborting(n_hidden):
    """n_hidden so large that the weights cannot be allocated: a MemoryError or ValueError (as NumPy
    gives), not an out-of-memory abort of the interpreter or a PanicException."""
    code = PRELUDE + f"report(lambda: SpikingRNNClassifier(n_hidden={n_hidden}, max_epochs=1).fit(X, y))\n"
    rc, out, err = _run_isolated(code)
    assert rc == 0, f"interpreter died (exit code {rc}) for n_hidden={n_hidden}: {err.strip()[:300]}"
    assert "RESULT" in out and "DISALLOWED" not in out, out + err[:300]


LIMITED = """
import resource
resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, resource.RLIM_INFINITY))  # as on a small machine
from motorsrnn import SpikingRNNRegressor
fitted = SpikingRNNClassifier(n_hidden=8, max_epochs=1, random_state=0).fit(X, y)
reg = SpikingRNNRegressor(n_hidden=8, max_epochs=1, random_state=0).fit(X, y.astype(float))
long = np.broadcast_to(np.zeros((1, 1, 5), bool), (4, 2**33, 5))  # zero strides: no memory of its own
"""


@LINUX
@pytest.mark.parametrize(
    "call, names",
    [
        # a large network on long trials: a tape per thread that cannot fit
        ("SpikingRNNClassifier(n_hidden=4000, max_epochs=1, n_jobs=1).fit("
         "np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (32, 2**20, 3)), np.arange(32) % 2)", "bptt_window"),
        ("SpikingRNNClassifier(n_hidden=8, max_epochs=1).fit(long, np.arange(4) % 2)", "bptt_window"),
        ("fitted.predict(long)", "fewer trials"),
        ("fitted.decision_path(long)", "fewer trials"),
        ("fitted.simulate(long)", "membrane=False"),
        ("fitted.loss_and_grad(long, np.zeros(4, int))", "bptt_window"),
        ("reg.predict(long)", "fewer trials"),
        ("reg.loss_and_grad(long, np.zeros(4))", "bptt_window"),
        # a tuning snapshot simulates its probe trials
        ("__import__('motorsrnn.tuning').tuning.TuningSnapshots(long, np.arange(4) % 4).record(fitted, 0)",
         "fewer trials"),
    ],
)
def test_work_too_large_for_memory_raises_memory_error(call, names):
    """Work whose buffers cannot fit in the memory the process may use (here an 8 GiB address-space
    limit) raises a MemoryError that says how much it needs and what to reduce, before the core
    allocates: a failed Rust allocation would abort the interpreter (a Jupyter kernel)."""
    rc, out, err = _run_isolated(PRELUDE + LIMITED + f"report(lambda: {call})\n")
    assert rc == 0, f"interpreter died (exit code {rc}) in {call}: {err.strip()[:300]}"
    assert "RESULT MemoryError" in out and "GiB" in out and names in out, out + err[:300]


@LINUX
def test_large_batches_need_the_memory_of_one_chunk_per_thread():
    """A batch's chunks of 16 trials run in waves, one chunk per thread at a time, so a full batch of
    4096 trials of a 2000-unit network trains in an 8 GiB address space. With a gradient per chunk
    (256 of them, 32 MB each) it needed more: before waves, this fit was refused with MemoryError
    (and, before that check, aborted the interpreter)."""
    code = PRELUDE + LIMITED + """
X2 = (rng.random((4096, 5, 3)) < 0.1).astype(np.uint8)
clf = SpikingRNNClassifier(n_hidden=2000, max_epochs=1, batch_size=4096, n_jobs=2, random_state=0)
"""
    _assert_one_epoch_trains(code, "X2, np.arange(4096) % 2")


def _assert_one_epoch_trains(code, fit_args):
    """Run ``code`` (which defines ``clf``) and then ``clf.fit(fit_args)`` in a subprocess: the
    interpreter survives and the fit completes its one epoch."""
    code += f"report(lambda: clf.fit({fit_args}))\nprint('EPOCHS', len(clf.history_))\n"
    rc, out, err = _run_isolated(code)
    assert rc == 0, f"interpreter died (exit code {rc}): {err.strip()[:300]}"
    assert "RESULT ok" in out and "EPOCHS 1" in out, out + err[:300]


@LINUX
def test_many_large_populations_refused_before_allocating():
    """Populations each within the size limit but too many together: a TopologyError before their
    decay factors are allocated (the sum was checked only after)."""
    code = PRELUDE + LIMITED + """
import json
pops = [{"name": f"p{i}", "size": 2**26} for i in range(64)]
spec = {"n_inputs": 1, "n_outputs": 1, "populations": pops,
        "projections": [{"source": "input", "target": "p0"}, {"source": "p0", "target": "readout"}]}
report(lambda: _core.Network(json.dumps(spec), 0))
"""
    rc, out, err = _run_isolated(code)
    assert rc == 0, f"interpreter died (exit code {rc}): {err.strip()[:300]}"
    assert "RESULT TopologyError" in out and "biases and decay factors" in out, out + err[:300]


# ---------------------------------------------------------------------------------------------
# Tuning (motorsrnn.tuning, issue 4)
# ---------------------------------------------------------------------------------------------
@st.composite
def tuning_inputs(draw):
    ndim = draw(st.sampled_from([1, 2, 2, 3, 4]))
    n = draw(st.integers(0, 12))
    dims = [n, draw(st.integers(0, 5)), draw(st.integers(0, 4)), 2][:ndim]
    elems = st.one_of(st.floats(0, 20), st.sampled_from([np.nan, np.inf, -1.0, 1e300, 0.0]))
    base = draw(hnp.arrays(np.float64, tuple(dims), elements=elems))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_, object]))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        activity = base.astype(dtype)
    if draw(st.booleans()) and activity.ndim >= 1:
        activity = activity[::-1]
    dkind = draw(st.sampled_from(["radians", "labels", "one_direction", "nan", "short", "2d"]))
    nd = {"short": max(n - 1, 0)}.get(dkind, n)
    directions = {
        "radians": np.linspace(0, 2 * np.pi, nd, endpoint=False),
        "labels": np.arange(nd) % 4,
        "one_direction": np.zeros(nd),
        "nan": np.full(nd, np.nan),
        "short": np.arange(nd) % 4 * (np.pi / 2),
        "2d": np.zeros((nd, 2)),
    }[dkind]
    return activity, directions


@settings(max_examples=60, **SETTINGS)
@given(
    inputs=tuning_inputs(),
    kwargs=st.fixed_dictionaries(
        {},
        optional={
            "n_boot": st.integers(-1, 5),
            "n_perm": st.integers(-1, 5),
            "ci": st.sampled_from([0.95, 0.0, 1.0, -1.0, np.nan]),
            "degrees": st.booleans(),
            "window": st.sampled_from([None, (0, 1), (0, 0), (2, 1), (-1, 3), (0, 10**9)]),
            "units": st.sampled_from(["hz", "counts", "bogus"]),
            "dt": st.sampled_from([1.0, 0.0, -1.0, np.nan]),
            "r2_threshold": st.sampled_from([None, 0.7, np.nan, 2.0]),
        },
    ),
)
def test_fuzz_fit_cosine_tuning(inputs, kwargs):
    tuning = pytest.importorskip("motorsrnn.tuning", reason="motorsrnn.tuning does not exist yet")
    activity, directions = inputs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ok, res = outcome(tuning.fit_cosine_tuning, activity, directions, random_state=0, n_jobs=1, **kwargs)
    if ok:
        n_neurons = np.asarray(activity).shape[-1]
        for attr in ("preferred_direction", "modulation_depth", "baseline", "r2", "p_value", "is_tuned"):
            assert np.shape(getattr(res, attr)) == (n_neurons,), attr


@settings(max_examples=60, **SETTINGS)
@given(inputs=tuning_inputs(), n_boot=st.integers(0, 5), n_perm=st.integers(0, 5), ci=st.sampled_from([0.95, 0.0, 1.0, -1.0, np.nan]))
def test_fuzz_core_tuning_fit_cosine(inputs, n_boot, n_perm, ci):
    activity, directions = inputs
    ok, res = outcome(_core.tuning_fit_cosine, activity, directions, n_boot, ci, n_perm, 0, 1)
    if ok:
        n_neurons = np.asarray(activity).shape[1]
        assert res["preferred_direction"].shape == (n_neurons,)


@LINUX
def test_spike_record_beyond_memory_raises_memory_error():
    """The spikes of a simulation grow with the firing, which no estimate bounds ahead: a saturated
    network on long trials with a small bptt_window passes the memory estimate, and its spike record
    then outgrows the memory. The core's failed allocation aborted the interpreter (exit 134); it now
    returns an error, a MemoryError, in fit and in predict."""
    code = PRELUDE + """
import resource
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, resource.RLIM_INFINITY))
long = np.ones((16, 40000, 1), np.uint8)  # 640 kB of input; 16 x 40000 x ~1000 spikes: over 5 GB of record
clf = SpikingRNNClassifier(architecture="fsnn", n_hidden=2048, input_scale=50.0, max_epochs=1, n_jobs=1,
                           random_state=0, bptt_window=100)
report(lambda: clf.fit(long, np.arange(16) % 2))
clf.set_params(bptt_window=None).fit(long[:, :5], np.arange(16) % 2)
report(lambda: clf.predict(long))
"""
    rc, out, err = _run_isolated(code)
    assert rc == 0, f"interpreter died (exit code {rc}): {err.strip()[:300]}"
    results = [line for line in out.splitlines() if line.startswith("RESULT")]
    assert len(results) == 2 and all("MemoryError" in r and "spikes" in r and "GiB" in r for r in results), out + err[:300]


@LINUX
def test_the_activity_check_after_training_fits_in_memory():
    """After training, fit simulates training trials to warn about saturated or silent populations.
    It simulated up to 256 whole trials without a memory check, so a fit on long trials that had
    trained fine then ran out of memory (it aborted the interpreter, and then raised MemoryError,
    losing the trained model). It now simulates as many trials as fit in 256 MB (at least one)."""
    code = PRELUDE + """
import resource
resource.setrlimit(resource.RLIMIT_AS, (int(1.5 * 2**30), resource.RLIM_INFINITY))
long = (rng.random((16, 600000, 4)) < 0.02).astype(np.uint8)  # dense spikes of 16 trials: 1.2 GB
clf = SpikingRNNClassifier(n_hidden=128, max_epochs=1, n_jobs=1, random_state=0, bptt_window=100)
"""
    _assert_one_epoch_trains(code, "long, np.arange(16) % 2")


@LINUX
def test_chunk_buffers_are_sized_to_the_trials_and_allocated_fallibly():
    """Every simulation allocated seven buffers of 16 trials x neurons per thread, infallibly, even
    for one trial: one trial of a 2-million-neuron network took 900 MB of buffers, and an address
    space that held 16 times less aborted the interpreter. They are now sized to the trials of the
    call (at most 16) and a failed allocation raises MemoryError."""
    code = PRELUDE + TIGHT + """
import json
spec = {"n_inputs": 1, "n_outputs": 1, "populations": [{"name": "h", "size": 2_000_000}],
        "projections": [{"source": "input", "target": "h"}, {"source": "h", "target": "readout"}]}
net = _core.Network(json.dumps(spec), 0)
limit(400)  # one trial's buffers (56 MB) fit; sixteen trials' (900 MB) do not
report(lambda: print("SHAPE", net.traces(np.ones((1, 1, 1), np.uint8), 1).shape))
report(lambda: net.traces(np.ones((16, 1, 1), np.uint8), 1))
print("ALIVE")
"""
    rc, out, err = _run_isolated(code)
    assert rc == 0, f"interpreter died (exit code {rc}): {err.strip()[:300]}"
    assert "SHAPE (1, 1, 1)" in out, out + err[:300]
    results = [line for line in out.splitlines() if line.startswith("RESULT")]
    assert results[0] == "RESULT ok" and "MemoryError" in results[1] and "buffers of a chunk" in results[1], out
    assert "ALIVE" in out


TIGHT = """
import os, pickle, resource
def limit(extra_mb):  # the address space this process has now, plus extra_mb (as in a small container)
    used = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (used + extra_mb * 2**20, resource.RLIM_INFINITY))
"""


@LINUX
@pytest.mark.parametrize(
    "setup, call, names",
    [
        # building: a 16000-unit network is 1 GiB of recurrent weights (the guard ran after the build)
        ("limit(600)", "SpikingRNNClassifier(n_hidden=16000).initial_network(6, 2)", "building the network"),
        ("limit(600)", "SpikingRNNClassifier(n_hidden=16000, max_epochs=1).fit(X, y)", "building the network"),
        # a fitted model (144 MB of recurrent weights, with Adam's state 3 times that) must survive
        # a partial_fit, a warm start or a pickle that cannot copy it
        ("big = SpikingRNNClassifier(n_hidden=6000, max_epochs=1, random_state=0).fit(X[:4, :2], y[:4]); limit(350)",
         "big.partial_fit(X[:4, :2], y[:4])", "copying the network"),
        ("big = SpikingRNNClassifier(n_hidden=6000, max_epochs=1, random_state=0).fit(X[:4, :2], y[:4]); limit(350)",
         "big.set_params(warm_start=True).fit(X[:4, :2], y[:4])", "copying the network"),
        ("big = SpikingRNNClassifier(n_hidden=6000, max_epochs=1, random_state=0).fit(X[:4, :2], y[:4]); limit(350)",
         "pickle.dumps(big)", "serialising the network"),
        # spike_jitter splits integral counts into single spikes: 100 M of them from a 400 KB input
        ("X9 = np.full((2, 1000, 50), 1024.0, np.float32); limit(600)",
         "SpikingRNNClassifier(n_hidden=8, max_epochs=1, spike_jitter=2.0, n_jobs=1).fit(X9, [0, 1])", "spike_jitter"),
    ],
)
def test_building_copying_serialising_and_jitter_are_guarded(setup, call, names):
    """Audit of the nineteenth session: the network was built (fit, initial_network) or copied
    (partial_fit, warm_start, pickle) before any memory check, and spike_jitter's split spikes were
    not counted, so a small address space aborted the interpreter (and lost the fitted model)
    instead of raising MemoryError."""
    rc, out, err = _run_isolated(PRELUDE + TIGHT + setup + f"\nreport(lambda: {call})\n"
                                 + "print('ALIVE', 'big' not in dir() or big.predict(X[:2, :2]).shape)\n")
    assert rc == 0, f"interpreter died (exit code {rc}) in {call}: {err.strip()[:300]}"
    assert "RESULT MemoryError" in out and names in out, out + err[:300]
    assert "ALIVE" in out, out  # the fitted model is still there and predicts
