"""The commands the docs tell readers to run still exist and take the arguments written there.

Every ``python benchmarks/NAME.py ...`` and ``python -m motorsrnn ...`` command in README.md,
BENCHMARKS.md and docs/*.md (fenced blocks, with their shell arrays, loops and line continuations,
and inline code) is expanded by bash, then parsed by the script's own argument parser without
running it: a renamed option, a removed setting or arm name, or a JSON parameter the estimator
does not have fails here instead of in a reader's terminal hours into a reproduction.
"""

import argparse
import importlib
import inspect
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
DOCS = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]

# bash runs a document's snippets, in order, as one script (as a reader would in one terminal), with
# `python` replaced by a function that writes its arguments and the files present at that moment
# to fd 3 (NUL-separated), so that redirections like `> a.log` do not hide them
_SHIM = r"""
python() {
  printf 'ARG:%s\0' "$@" >&3
  for f in *; do [ -e "$f" ] && printf 'FILE:%s\0' "$f" >&3; done
  printf 'END\0' >&3
}
python3() { python "$@"; }
"""


def snippets(path):
    """Shell snippets of a Markdown file that run a benchmark script or the motorsrnn CLI: its
    fenced shell blocks, then its inline code spans."""
    text = path.read_text(encoding="utf-8")
    out = []
    for lang, body in re.findall(r"^```([a-z]*)\n(.*?)^```", text, re.S | re.M):
        if lang in ("", "bash", "sh", "console") and re.search(r"python3? (benchmarks/|-m motorsrnn)", body):
            out.append(body)
    for span in re.findall(r"`(python3? (?:benchmarks/[^`]*|-m motorsrnn[^`]*))`", text):
        out.append(span)
    return out


def expand(script, cwd):
    """``(argv, files present)`` for every python call of a shell script run by bash in ``cwd``."""
    result = subprocess.run(
        ["bash", "-c", f"set -eu\nexec 3>calls.bin\n{_SHIM}\n{script}"],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0 and not result.stderr, f"bash cannot run the commands:\n{script}\n{result.stderr}"
    calls, argv, files = [], [], set()
    for item in (Path(cwd) / "calls.bin").read_text().split("\0"):
        if item.startswith("ARG:"):
            argv.append(item[4:])
        elif item.startswith("FILE:"):
            files.add(item[5:])
        elif item == "END":
            calls.append((argv, files - {"calls.bin"}))
            argv, files = [], set()
    return calls


def _documented_calls():
    if shutil.which("bash") is None:  # pragma: no cover - CI runs on Linux
        return []
    import tempfile

    calls = []
    for path in DOCS:
        script = "\n".join(snippets(path))
        if not script:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            for argv, present in expand(script, tmp):
                if argv[0].startswith("benchmarks/") or argv[:2] == ["-m", "motorsrnn"]:
                    calls.append(pytest.param(argv, present, id=f"{path.name}: {' '.join(argv)[:90]}"))
    return calls


CALLS = _documented_calls()


class _Parsed(Exception):
    def __init__(self, namespace):
        self.namespace = namespace


def parse_documented(argv, monkeypatch):
    """Parses ``argv`` with the script's parser and stops before it runs anything. Returns the
    script's module and the parsed namespace (None for a script that takes no arguments)."""
    if argv[0].startswith("benchmarks/"):
        script = ROOT / argv[0]
        assert script.is_file(), f"{argv[0]} does not exist"
        monkeypatch.syspath_prepend(str(BENCH))
        module = importlib.import_module(script.stem)
        args = argv[1:]
    else:
        module = importlib.import_module("motorsrnn.__main__")
        args = argv[2:]
    if not hasattr(module, "main") or not inspect.signature(module.main).parameters:
        assert not args, f"{argv[0]} takes no arguments, but the docs pass {args}"
        assert 'if __name__ == "__main__"' in Path(module.__file__).read_text(), f"{argv[0]} is not a script"
        return module, None
    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(self, args=None, namespace=None):
        raise _Parsed(original(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_and_stop)
    with pytest.raises(_Parsed) as parsed:
        module.main(args)
    return module, parsed.value.namespace


def test_the_docs_have_commands_to_check():
    scripts = {c.values[0][0] for c in CALLS}
    assert len(CALLS) > 50
    assert {"benchmarks/compare_decoders.py", "benchmarks/dynamics_matching.py", "-m"} <= scripts


def check_parsed(argv, ns, present):
    """What argparse cannot check: JSON estimator parameters and the logs a command reads."""
    from motorsrnn import SpikingRNNClassifier, SpikingRNNRegressor

    for key, estimator in (("snn_params", SpikingRNNClassifier), ("params", SpikingRNNRegressor)):
        params = getattr(ns, key, None)
        if params:
            estimator().set_params(**params)  # raises for a parameter the estimator does not have
    logs = [*(getattr(ns, "from_logs", None) or ()), *(getattr(ns, "other_logs", None) or ()),
            *(getattr(ns, "from_cv", None) or ()), *(item.split("=", 1)[1] for item in getattr(ns, "logs", None) or ())]
    missing = [log for log in logs if log not in present]
    assert not missing, f"`python {' '.join(argv)}` reads {missing}, which no command before it writes"


@pytest.mark.parametrize("argv, present", CALLS)
def test_documented_command_parses(argv, present, monkeypatch, capsys):
    try:
        _, ns = parse_documented(argv, monkeypatch)
    except SystemExit as e:  # argparse's usage error: unknown option, bad choice, bad type
        pytest.fail(f"`python {' '.join(argv)}` is refused by its parser: {capsys.readouterr().err.strip()} ({e})")
    if ns is not None:
        check_parsed(argv, ns, present)


def test_a_wrong_command_is_caught(monkeypatch):
    """The checks can fail: a renamed option, an unknown setting, an estimator parameter that does
    not exist and a log that nothing wrote are refused."""
    with pytest.raises(SystemExit):
        parse_documented(["benchmarks/compare_decoders.py", "--n-trains", "400"], monkeypatch)
    with pytest.raises(SystemExit):
        parse_documented(["benchmarks/snn_settings.py", "--settings", "no such setting"], monkeypatch)
    _, ns = parse_documented(["benchmarks/snn_settings.py", "--settings", "counting, shuffle"], monkeypatch)
    assert ns.settings == ["counting, shuffle"]
    argv = ["benchmarks/compare_architectures.py", "--snn-params", '{"readouts": "last"}']
    with pytest.raises(ValueError, match="readouts"):
        check_parsed(argv, parse_documented(argv, monkeypatch)[1], set())
    argv = ["benchmarks/dynamics_matching.py", "--from-logs", "a.log", "b.log"]
    ns = parse_documented(argv, monkeypatch)[1]
    check_parsed(argv, ns, {"a.log", "b.log"})
    with pytest.raises(AssertionError, match=r"reads \['b.log'\]"):
        check_parsed(argv, ns, {"a.log"})


def test_commands_that_fail_in_bash_are_caught(tmp_path):
    """A loop that redirects into a name with spaces fails in bash ("ambiguous redirect"), as it
    did in the docs; the expansion refuses it instead of skipping the calls."""
    with pytest.raises(AssertionError, match="ambiguous redirect"):
        expand('for S in "1 2" "3"; do python benchmarks/x.py --seed-list $S > log_$S.log; done', tmp_path)
    calls = expand('for S in "1 2" "3"; do python benchmarks/x.py --seed-list $S > log_${S%% *}.log; done', tmp_path)
    assert [argv for argv, _ in calls] == [["benchmarks/x.py", "--seed-list", "1", "2"], ["benchmarks/x.py", "--seed-list", "3"]]
    assert "log_1.log" in calls[1][1]
