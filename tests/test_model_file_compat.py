"""The model file format across versions (docs/model_file.md): files of format version 1, written
by the last build that wrote it (tests/data/make_format_v1_files.py, commit b5d98a3), still load and
predict as they did; version 2 adds a CRC-32 that catches a file changed after it was written."""

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import motorsrnn
from motorsrnn import ModelFileError, SpikingRNNClassifier, SpikingRNNRegressor

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def expected():
    with np.load(DATA / "format_v1_expected.npz") as f:
        return dict(f)


def test_the_committed_files_are_version_1():
    for name in ("classifier_v1.msrnn", "regressor_v1.msrnn"):
        head = (DATA / name).read_bytes()[:12]
        assert head[:8] == b"MOTRSRNN" and struct.unpack("<I", head[8:12]) == (1,), name


def test_version_1_classifier_loads_and_predicts_as_when_written(expected, tmp_path):
    clf = motorsrnn.load(DATA / "classifier_v1.msrnn")
    assert isinstance(clf, SpikingRNNClassifier) and clf.architecture == "motorsrnn"
    np.testing.assert_array_equal(clf.decision_function(expected["X_clf"]), expected["clf_decision"])
    # saving it again writes the current version, which reads back to the same predictions
    clf.save(tmp_path / "again.msrnn")
    raw = (tmp_path / "again.msrnn").read_bytes()
    assert struct.unpack("<I", raw[8:12]) == (motorsrnn.FORMAT_VERSION,) == (2,)
    again = motorsrnn.load(tmp_path / "again.msrnn")
    np.testing.assert_array_equal(again.decision_function(expected["X_clf"]), expected["clf_decision"])


def test_version_1_regressor_loads_and_predicts_as_when_written(expected):
    reg = motorsrnn.load(DATA / "regressor_v1.msrnn")
    assert isinstance(reg, SpikingRNNRegressor)
    np.testing.assert_array_equal(reg.predict(expected["X_reg"]), expected["reg_predict"])


def test_checksum_is_zlib_crc32_of_the_payload(tmp_path):
    """docs/model_file.md: bytes 12..16 hold zlib.crc32 of bytes 16.., so that a reader without
    motorsrnn can check a file."""
    clf = motorsrnn.load(DATA / "classifier_v1.msrnn")
    clf.save(tmp_path / "m.msrnn")
    raw = (tmp_path / "m.msrnn").read_bytes()
    assert struct.unpack("<I", raw[12:16]) == (zlib.crc32(raw[16:]),)


@pytest.mark.parametrize("where", ["checksum", "weights", "metadata", "end"])
def test_one_flipped_bit_is_caught_and_named(tmp_path, where):
    """Before version 2, a bit flipped inside a weight loaded silently as another weight."""
    clf = motorsrnn.load(DATA / "classifier_v1.msrnn")
    path = tmp_path / "m.msrnn"
    clf.save(path)
    raw = bytearray(path.read_bytes())
    pos = {
        "checksum": 13,
        "weights": raw.find(b"\xa1w") + 40,  # inside the first weight matrix
        "metadata": raw.find(b"SpikingRNNClassifier"),
        "end": len(raw) - 1,
    }[where]
    raw[pos] ^= 0x04
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match=r"m\.msrnn: .*format version 2.*checksum does not match"):
        motorsrnn.load(path)


def test_a_version_1_file_with_a_flipped_weight_bit_still_loads(expected, tmp_path):
    """What version 2 fixes, shown on a version-1 file: the damaged weight is read as a number and
    the predictions change without an error. (Version-1 files have no checksum to check.)"""
    raw = bytearray((DATA / "classifier_v1.msrnn").read_bytes())
    i = raw.find(b"\xa1w")
    j = raw.find(b"\xca", i)  # the first float32 of the first weight matrix
    raw[j + 1] ^= 0x40  # its exponent
    (tmp_path / "flipped.msrnn").write_bytes(bytes(raw))
    clf = motorsrnn.load(tmp_path / "flipped.msrnn")
    assert not np.array_equal(clf.decision_function(expected["X_clf"]), expected["clf_decision"])
