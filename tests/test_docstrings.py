"""Every public function, class and method of the package (a module's ``__all__``) documents each
of its parameters in a numpydoc ``Parameters`` section (names separated by commas count once each,
``*args`` as ``*args`` or ``args``)."""

import dataclasses
import importlib
import inspect

import pytest

MODULES = ["motorsrnn", "motorsrnn.analysis", "motorsrnn.baselines", "motorsrnn.comparison",
           "motorsrnn.datasets", "motorsrnn.estimators", "motorsrnn.io", "motorsrnn.plotting",
           "motorsrnn.streaming", "motorsrnn.topology", "motorsrnn.tuning"]


def documented_parameters(doc):
    """Names listed in the ``Parameters`` (and ``Other Parameters``) sections of a numpydoc docstring."""
    lines = inspect.cleandoc(doc or "").splitlines()
    names, inside = set(), False
    for i, line in enumerate(lines):
        underline = i + 1 < len(lines) and lines[i + 1].strip() and set(lines[i + 1].strip()) == {"-"}
        if underline and not line.startswith(" "):
            inside = line.strip() in ("Parameters", "Other Parameters")
            continue
        if inside and line and not line.startswith(" ") and set(line.strip()) != {"-"}:
            names.update(n.strip().lstrip("*") for n in line.split(" : ")[0].split(","))
    return names


def _own_callables():
    seen = {}
    for modname in MODULES:
        mod = importlib.import_module(modname)
        public = getattr(mod, "__all__", [n for n in vars(mod) if not n.startswith("_")])
        for name in public:
            obj = getattr(mod, name)
            if getattr(obj, "__module__", "") != modname:
                continue
            if inspect.isfunction(obj):
                seen[f"{modname}.{name}"] = (obj, obj.__doc__)
            elif inspect.isclass(obj):
                if not dataclasses.is_dataclass(obj) and not issubclass(obj, BaseException):
                    seen[f"{modname}.{name}"] = (obj, obj.__doc__)
                for attr, member in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    if isinstance(member, (classmethod, staticmethod)):
                        member = member.__func__
                    if inspect.isfunction(member):
                        seen[f"{modname}.{name}.{attr}"] = (member, member.__doc__)
    return seen


CALLABLES = _own_callables()


def test_the_parser_reads_numpydoc_sections():
    doc = """Summary.

    Parameters
    ----------
    a, b : int
        Two.
    c
        Three.

    Returns
    -------
    d : int
    """
    assert documented_parameters(doc) == {"a", "b", "c"}
    assert len(CALLABLES) > 60 and "motorsrnn.topology.Topology.remove" in CALLABLES


@pytest.mark.parametrize("qualname", sorted(CALLABLES))
def test_every_parameter_is_documented(qualname):
    obj, doc = CALLABLES[qualname]
    params = [p for p in inspect.signature(obj).parameters.values() if p.name not in ("self", "cls")]
    if not params:
        return
    documented = documented_parameters(doc)
    missing = {p.name for p in params} - documented
    assert not missing, f"{qualname}: parameters {sorted(missing)} are not in its docstring's Parameters section"
    if not any(p.kind == p.VAR_KEYWORD for p in params):
        extra = documented - {p.name for p in params}
        assert not extra, f"{qualname}: its docstring documents {sorted(extra)}, which it does not take"


def test_model_md_lists_every_parameter_with_its_default():
    import ast
    import re
    from pathlib import Path

    import motorsrnn

    text = (Path(__file__).resolve().parents[1] / "docs" / "model.md").read_text()
    section = text.split("## Every parameter and its default", 1)[1].split("\n## ", 1)[0]
    table = {m.group(1): ast.literal_eval(m.group(2)) for m in re.finditer(r"^\| `(\w+)` \| `([^`]*)` \|", section, re.M)}
    for cls in (motorsrnn.SpikingRNNClassifier, motorsrnn.SpikingRNNRegressor):
        defaults = {n: p.default for n, p in inspect.signature(cls).parameters.items()}
        assert list(table) == list(defaults), f"{cls.__name__}: the table's parameters differ from the signature's"
        wrong = {n: (table[n], d) for n, d in defaults.items() if table[n] != d or type(table[n]) is not type(d)}
        assert not wrong, f"{cls.__name__}: docs/model.md states other defaults: {wrong}"


def test_the_package_imports_with_docstrings_stripped():
    """The regressor's docstring is built from the classifier's at import; under ``python -OO``
    there are no docstrings, and the import must still work."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-OO", "-c", "import motorsrnn; print(motorsrnn.SpikingRNNRegressor.__doc__)"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert proc.stdout.strip() == "None"


@pytest.mark.parametrize("indent", ["    ", ""])
def test_shared_parameters_are_copied_whatever_the_docstring_indentation(indent):
    """Python 3.13 strips docstrings' indentation when compiling (earlier versions keep it); the
    regressor's docstring borrows the classifier's Parameters section either way. With the
    indented search of before, ``import motorsrnn`` raised ValueError on Python 3.13."""
    from motorsrnn.estimators import _share_parameters

    def doc(*lines):
        return "\n".join([lines[0]] + [indent + line if line else "" for line in lines[1:]]) + "\n" + indent

    class Source:
        pass

    class Target:
        pass

    Source.__doc__ = doc("Source.", "", "Parameters", "----------", "a : int", "    The a.", "",
                         "Attributes", "----------", "x_ : int")
    Target.__doc__ = doc("Target.", "", "Attributes", "----------", "y_ : float", "    The y.")
    _share_parameters(Source, Target)
    assert Target.__doc__ == (
        "Target.\n\nParameters\n----------\na : int\n    The a.\n\nAttributes\n----------\ny_ : float\n    The y."
    )


def test_the_regressor_documents_the_shared_parameters():
    from motorsrnn import SpikingRNNRegressor

    text = SpikingRNNRegressor.__doc__
    assert text.index("Parameters\n----------") < text.index("n_hidden :") < text.index("Attributes\n----------")


@pytest.mark.parametrize("modname", MODULES)
def test_all_names_each_name_once_and_each_exists(modname):
    """``__all__`` (what ``from module import *`` and the docstring tests take) names each name
    once, and only names that exist (analysis and datasets appended names they already had)."""
    mod = importlib.import_module(modname)
    names = list(mod.__all__)
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)
    assert [n for n in names if not hasattr(mod, n)] == []
