"""The examples users copy: every ``python`` code block of README.md and docs/*.md, and every
docstring example of the package, runs as written and gives no warning.

README.md's blocks run in order in one namespace, as a reader would paste them into one notebook;
names they take from the reader's own data (an NWB file, long trials, one bin of counts) are
provided first. A docs block runs after a small prelude that defines what its text says the reader
has (``X``, ``y``, a saved model...). A block that cannot run here must be listed in ``NOT_RUN``
with the reason; a new block in neither list fails ``test_every_docs_block_is_run_or_excused``.
"""

import ast
import doctest
import importlib
import pkgutil
import re
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

import motorsrnn

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Every block of docs/*.md is named by a marker, a string that occurs in that block only: either
# run by the test named here or excused with the reason. README.md's blocks all run.
RUN = {
    ("architectures.md", "Population(\"exc\", 80)"): "test_architectures_user_topology",
    ("decoding.md", 'SpikingRNNClassifier(architecture="fsnn"'): "test_readme_counting_line_matches_the_preset",
    ("dynamics_matching.md", "GroupKFold(n_splits=4)"): "test_dynamics_matching_cross_validation",
    ("model_file.md", "zlib.crc32(data[16:])"): "test_model_file_header_check",
}
NOT_RUN = {
    ("scale_out.md", "LocalCluster(n_workers=2"): (
        "a 30-fit grid search and 100 cross-validation fits on a local cluster (minutes); "
        "tests/test_dask.py runs the same recipe at small sizes"
    ),
    ("scale_out.md", "register_ray()"): "needs ray, which is not a dependency of the tests",
    ("from_snntorch.md", "net.lif.recurrent.weight"): (
        "needs torch and snntorch, which are not dependencies of the tests; "
        "tests/test_snntorch.py runs this block where they are installed"
    ),
}


def code_blocks(path):
    """The ``python`` fenced blocks of a Markdown file, in order."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)


def docs_block(name, marker):
    """The one block of docs/``name`` that contains ``marker``."""
    found = [c for c in code_blocks(ROOT / "docs" / name) if marker in c]
    assert len(found) == 1, f"docs/{name}: {len(found)} blocks contain {marker!r}"
    return found[0]


def run_block(code, namespace):
    """Executes a block with every warning an error (tqdm's progress bars are not warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(code, "<docs example>", "exec"), namespace)
    return namespace


def test_every_docs_block_is_run_or_excused():
    for path in DOCS[1:]:
        markers = [m for (f, m) in [*RUN, *NOT_RUN] if f == path.name]
        for code in code_blocks(path):
            matching = [m for m in markers if m in code]
            assert len(matching) == 1, (
                f"docs/{path.name}: a python block is named by {len(matching)} markers of RUN/NOT_RUN "
                f"(exactly one needed; a new block needs a test or a reason):\n{code}"
            )
    for f, m in [*RUN, *NOT_RUN]:
        docs_block(f, m)  # every marker names exactly one existing block
    tests = {n for n in globals() if n.startswith("test_")}
    assert set(RUN.values()) <= tests


# ---------------------------------------------------------------------------------------------
# README.md
# ---------------------------------------------------------------------------------------------
def test_readme_examples_run_in_order(tmp_path, monkeypatch):
    pynwb = pytest.importorskip("pynwb")
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from motorsrnn.datasets import make_center_out
    from nwb_session import make_nwb

    monkeypatch.chdir(tmp_path)
    with pynwb.NWBHDF5IO("session.nwb", mode="w") as io:  # the reader's recording
        io.write(make_nwb()[0])
    long_trials = make_center_out(n_trials=40, n_timesteps=300, window_start=0, random_state=1)
    rng = np.random.default_rng(0)  # a session of spike times: 16 units tuned to 4 directions
    directions = np.arange(80) % 4
    go_cue_s = 1.0 + 2.0 * np.arange(80)
    spike_times = [np.sort(np.concatenate([go + rng.uniform(-0.3, 0.6, rng.poisson(
        0.9 * (15 + 10 * np.cos(np.pi * d / 2 - pd)))) for go, d in zip(go_cue_s, directions)]))
        for pd in rng.uniform(0, 2 * np.pi, 16)]
    namespace = {"long_trials": long_trials, "bin_counts": long_trials.X[0, 0], "spike_times": spike_times,
                 "go_cue_s": go_cue_s, "directions": directions}

    blocks = code_blocks(ROOT / "README.md")
    assert len(blocks) >= 4
    for code in blocks:
        run_block(code, namespace)
    plt.close("all")

    ns = namespace
    # the quick start: a trained decoder, saved and loaded back
    assert (tmp_path / "decoder.msrnn").stat().st_size > 0
    assert ns["clf"].__class__.__name__ == "SpikingRNNClassifier" and ns["clf"].architecture == "fsnn"
    assert ns["sim"].spikes.shape[:2] == (10, 50)
    assert ns["path"].shape[:2] == (300, 50)
    assert set(ns["grads"]) == set(ns["w"]) and np.isfinite(ns["loss"])
    # the paper's analyses and the recordings
    assert ns["tun"].preferred_direction.shape == (96,) and ns["units"].preferred_direction.ndim == 1
    assert ns["rec"].X.shape == (32, 50, 6) and ns["rec"].y[0] == "left"
    assert ns["s"].X.shape == (40 * 6, 50, 96) and len(ns["s"].trial) == 40 * 6
    assert ns["proba"].shape == (4,) and ns["proba"].sum() == pytest.approx(1.0)
    assert ns["binned"].X.shape == (80, 90, 16) and ns["clf10"].network_ is not None


def test_readme_counting_line_matches_the_preset():
    """README.md spells COUNTING out in prose; docs/decoding.md writes it as a call: both agree."""
    from motorsrnn import COUNTING, SpikingRNNClassifier

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    spelled = re.search(r"`COUNTING` is `(.*?)`\.", text, re.S).group(1)
    call = ast.parse(f"dict({spelled})", mode="eval").body
    assert {k.arg: ast.literal_eval(k.value) for k in call.keywords} == COUNTING
    code = docs_block("decoding.md", 'SpikingRNNClassifier(architecture="fsnn"')
    est = run_block(f"est = {code}", {"SpikingRNNClassifier": SpikingRNNClassifier})["est"]
    assert {k: est.get_params()[k] for k in COUNTING} == COUNTING


# ---------------------------------------------------------------------------------------------
# docs/
# ---------------------------------------------------------------------------------------------
def test_architectures_user_topology(data_small):
    X, y = data_small
    code = docs_block("architectures.md", 'Population("exc", 80)')
    clf = run_block(code, {"X": X, "y": y})["clf"]
    w = clf.get_weights()
    assert {"input->exc", "exc->exc", "exc->inh", "inh->exc", "exc->readout"} <= set(w)
    assert (w["exc->inh"] >= 0).all() and (w["inh->exc"] <= 0).all()
    density = np.count_nonzero(w["exc->exc"]) / w["exc->exc"].size
    assert 0.1 < density < 0.3  # density=0.2
    assert clf.predict(X[:3]).shape == (3,)


def test_dynamics_matching_cross_validation():
    from motorsrnn.datasets import make_reaching_dynamics, sample_neurons

    d = make_reaching_dynamics(n_trials_per_condition=3, n_timesteps=120, random_state=0)
    R = d.rates[:, :, sample_neurons(d, 0.1, random_state=0)]
    code = docs_block("dynamics_matching.md", "GroupKFold(n_splits=4)")
    ns = run_block(code, {"X": d.X, "Y": d.y, "R": R, "condition": d.condition})
    for result in (ns["output_only"], ns["matched"]):
        assert result["test_score"].shape == (4,) and np.isfinite(result["test_score"]).all()
    # the two arms differ only by the activity term, so their held-out scores differ
    assert not np.allclose(ns["output_only"]["test_score"], ns["matched"]["test_score"])


def test_model_file_header_check(tmp_path, monkeypatch, data_small):
    from motorsrnn import SpikingRNNClassifier

    X, y = data_small
    monkeypatch.chdir(tmp_path)
    SpikingRNNClassifier(n_hidden=8, max_epochs=1, random_state=0).fit(X, y).save("model.msrnn")
    code = docs_block("model_file.md", "zlib.crc32(data[16:])")
    run_block(code, {})
    # the block's check can fail: a flipped payload byte breaks the checksum assertion
    raw = bytearray((tmp_path / "model.msrnn").read_bytes())
    assert struct.unpack("<I", raw[8:12])[0] == 2
    raw[-1] ^= 1
    (tmp_path / "model.msrnn").write_bytes(bytes(raw))
    with pytest.raises(AssertionError):
        run_block(code, {})


@pytest.fixture(scope="module")
def data_small():
    from motorsrnn.datasets import make_center_out

    d = make_center_out(n_trials=64, n_neurons=16, n_timesteps=20, random_state=0)
    return d.X, d.y


# ---------------------------------------------------------------------------------------------
# Docstring examples
# ---------------------------------------------------------------------------------------------
MODULES = sorted(
    m.name for m in pkgutil.iter_modules(motorsrnn.__path__, "motorsrnn.") if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    # examples marked +SKIP (those that need torch) are not attempted
    examples = sum(not e.options.get(doctest.SKIP) for t in finder.find(module) for e in t.examples)
    if examples == 0:
        pytest.skip(f"{name} has no docstring examples")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = doctest.testmod(module, verbose=False, report=True)
    # Python 3.13 counts skipped examples as attempted and reports them as skipped; before, neither
    assert result.attempted - getattr(result, "skipped", 0) == examples
    assert result.failed == 0
