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
