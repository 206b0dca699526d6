"""The type stub python/motorsrnn/_core.pyi matches the compiled module (mypy's stubtest)."""

import subprocess
import sys

import pytest

pytest.importorskip("mypy")
pytest.importorskip("mypy.stubtest")


def test_stub_matches_compiled_module(tmp_path):
    # run from an empty directory so mypy's cache goes there, not into the repository
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "motorsrnn._core"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert proc.returncode == 0 and not errors, "stubtest found mismatches:\n" + out[-6000:]
    assert "Success" in out, out[-2000:]


def _mypy(args, cwd):
    proc = subprocess.run([sys.executable, "-m", "mypy", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_package_type_checks(tmp_path):
    """py.typed promises that the package's annotations are right: mypy finds no error in them."""
    code, out = _mypy(["-p", "motorsrnn", "--ignore-missing-imports"], tmp_path)
    assert code == 0, out[-4000:]


def test_user_code_following_the_readme_type_checks_strictly(tmp_path):
    """The public API has annotations: user code calling it passes ``mypy --strict`` (it gave
    "call to untyped function" errors), and ``fit`` returns the estimator's own type."""
    script = tmp_path / "user.py"
    script.write_text('''
from typing import Any

import numpy.typing as npt
from motorsrnn import SpikingRNNClassifier, SpikingRNNRegressor, load
from motorsrnn.analysis import add_poisson_noise, early_classification, energy
from motorsrnn.datasets import make_center_out
from motorsrnn.streaming import StreamingDecoder

data = make_center_out(n_trials=40, random_state=0)
clf: SpikingRNNClassifier = SpikingRNNClassifier(n_hidden=8, max_epochs=1).fit(data.X, data.y)
reg: SpikingRNNRegressor = SpikingRNNRegressor(n_hidden=8, max_epochs=1).fit(data.X, data.y.astype(float))
loss, grads = clf.loss_and_grad(data.X, data.y)
total: float = loss + sum(float(g.sum()) for g in grads.values())
decoder: StreamingDecoder = clf.stream()
noisy: npt.NDArray[Any] = add_poisson_noise(data.X, 10.0, random_state=0)
curve = early_classification(clf, data.X, data.y)
ratio = energy(clf, data.X).ratio_gru
again = load("decoder.msrnn")
''')
    code, out = _mypy(["--strict", "--ignore-missing-imports", str(script)], tmp_path)
    assert code == 0, out[-4000:]
    # (assignments cannot show it: the estimators derive from scikit-learn classes, untyped, so Any)
    script.write_text(script.read_text() + "reveal_type(SpikingRNNClassifier().fit(data.X, data.y))\n"
                                           "reveal_type(clf.stream())\n")
    code, out = _mypy(["--strict", "--ignore-missing-imports", str(script)], tmp_path)
    assert 'Revealed type is "motorsrnn.estimators.SpikingRNNClassifier"' in out, out[-2000:]
    assert 'Revealed type is "motorsrnn.streaming.StreamingDecoder"' in out, out[-2000:]
