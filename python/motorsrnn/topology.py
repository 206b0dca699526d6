"""User-facing description of a network: populations, projections, presets and ablations.

A :class:`Topology` lists named spiking populations and the projections between them (and from the
``"input"`` and to the ``"readout"``). Pass one as ``SpikingRNNClassifier(architecture=...)``, or
name a preset: ``"srnn"``, ``"fsnn"``, ``"motorsrnn"`` (see :func:`preset` and
``docs/architectures.md``). The core validates it (unknown populations, same-step cycles, sizes) and
raises :class:`motorsrnn.TopologyError` naming the problem.

Projection kinds: ``"feedforward"`` reads the source's spikes of the same step (populations are
updated in topological order), ``"recurrent"`` (source = target) and ``"feedback"`` read the previous
step's spikes.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ._validation import check_bool, check_number

__all__ = ["Population", "Projection", "Topology", "preset", "PRESETS", "shuffle_projection"]

PRESETS = ("srnn", "fsnn", "motorsrnn")
_KINDS = ("feedforward", "recurrent", "feedback")
_SIGNS = (None, "excitatory", "inhibitory")


@dataclass(eq=False)
class Population:
    """A population of LIF neurons.

    Parameters
    ----------
    name : str
        Unique name; not ``"input"``, ``"readout"`` or ``"out"`` (whose bias key ``b_out`` is the
        readout bias's).
    size : int
        Number of neurons.
    tau_mem, tau_syn : float, sequence of float or None
        Time constants in ms, one value or one per neuron; ``None`` takes the estimator's value.
    threshold : float or None
        Firing threshold; ``None`` takes the estimator's value.
    reset : {"subtract", "zero"} or None
    detach_reset : bool or None
    trainable_tau : bool or None
        Train the per-neuron decay factors ``alpha = exp(-dt/tau_syn)`` and
        ``beta = exp(-dt/tau_mem)``; ``None`` takes the estimator's ``train_time_constants``.
    """

    name: str
    size: int
    tau_mem: Optional[Union[float, Sequence[float]]] = None
    tau_syn: Optional[Union[float, Sequence[float]]] = None
    threshold: Optional[float] = None
    reset: Optional[str] = None
    detach_reset: Optional[bool] = None
    trainable_tau: Optional[bool] = None

    def __eq__(self, other) -> bool:
        # by value, also when the time constants are NumPy arrays (one per neuron)
        return isinstance(other, Population) and _plain(asdict(self)) == _plain(asdict(other))


@dataclass
class Projection:
    """A weight matrix from ``source`` to ``target``.

    Parameters
    ----------
    source : str
        ``"input"`` or a population name.
    target : str
        A population name or ``"readout"``.
    kind : {"feedforward", "recurrent", "feedback"}
        Same-step (feedforward) or previous-step (recurrent: source = target; feedback: another
        population) spikes.
    trainable : bool
        Fixed projections keep their initial weights during ``fit`` (e.g. the motorSRNN's
        long-term stable feedback synapses).
    density : float or None
        Fraction of connections present, as a fixed random mask; ``None`` is dense.
    sign : {None, "excitatory", "inhibitory"}
        Dale's-law constraint kept during training.
    init_scale : float or None
        Initial weights ``N(0, init_scale**2 / (density * n_source))``. ``None`` takes the
        estimator's ``input_scale`` (feedforward into a population), ``recurrent_scale``
        (recurrent and feedback) or ``output_scale`` (to the readout).
    name : str or None
        Key in ``get_weights()``; ``None`` gives ``"source->target"``. Not a key of a bias or
        decay (``b_<population>``, ``alpha_<population>``, ``beta_<population>``, ``b_out``).
    lr_scale : float or None
        Multiplies the estimator's ``learning_rate`` for this projection (0 keeps a trainable
        projection where it is). ``None`` takes the estimator's ``recurrent_lr_scale`` for
        recurrent and feedback projections and 1 for the others.
    """

    source: str
    target: str
    kind: str = "feedforward"
    trainable: bool = True
    density: Optional[float] = None
    sign: Optional[str] = None
    init_scale: Optional[float] = None
    name: Optional[str] = None
    lr_scale: Optional[float] = None

    @property
    def key(self) -> str:
        """The name under which ``get_weights()`` returns this projection."""
        return self.name if self.name is not None else f"{self.source}->{self.target}"


@dataclass(eq=False)
class Topology:
    """Populations and projections of a spiking network.

    Parameters
    ----------
    populations : list of Population
    projections : list of Projection

    Examples
    --------
    >>> from motorsrnn.topology import preset
    >>> topo = preset("motorsrnn", n_hidden=128)
    >>> [p.key for p in topo.projections if not p.trainable]
    ['PM->M1', 'Out->PM']
    >>> ablated = topo.remove("PM->M1", "Out->PM")      # no feedback at all
    >>> free = topo.unfreeze("PM->M1", "Out->PM")       # trainable feedback
    """

    populations: List[Population] = field(default_factory=list)
    projections: List[Projection] = field(default_factory=list)

    def __eq__(self, other) -> bool:
        return isinstance(other, Topology) and self.to_dict() == other.to_dict()

    # -- editing (each returns a new Topology) ----------------------------------------------------
    def _keys(self, keys) -> None:
        known = {p.key for p in self.projections}
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise ValueError(f"unknown projection(s) {unknown}; known: {sorted(known)}")

    def copy(self) -> "Topology":
        """A deep copy."""
        return copy.deepcopy(self)

    def remove(self, *keys: str) -> "Topology":
        """Copy without the named projections (ablation by removal).

        Parameters
        ----------
        *keys : str
            Projection names, e.g. ``"PM->M1"``; an unknown name raises ``ValueError``.
        """
        self._keys(keys)
        out = self.copy()
        out.projections = [p for p in out.projections if p.key not in keys]
        return out

    def freeze(self, *keys: str) -> "Topology":
        """Copy with the named projections fixed (not trained).

        Parameters
        ----------
        *keys : str
            Projection names; an unknown name raises ``ValueError``.
        """
        return self._set(keys, trainable=False)

    def unfreeze(self, *keys: str) -> "Topology":
        """Copy with the named projections trainable.

        Parameters
        ----------
        *keys : str
            Projection names; an unknown name raises ``ValueError``.
        """
        return self._set(keys, trainable=True)

    def _set(self, keys, **changes) -> "Topology":
        self._keys(keys)
        out = self.copy()
        for p in out.projections:
            if p.key in keys:
                for k, v in changes.items():
                    setattr(p, k, v)
        return out

    def projection(self, key: str) -> Projection:
        """The projection named ``key``.

        Parameters
        ----------
        key : str
            Projection name, e.g. ``"M1->PM"``; an unknown name raises ``ValueError``.
        """
        self._keys([key])
        return next(p for p in self.projections if p.key == key)

    # -- serialisation ------------------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """A JSON-serialisable dict (``Topology.from_dict`` reads it back); NumPy values become
        Python numbers and lists."""
        return {"populations": [_plain(asdict(p)) for p in self.populations],
                "projections": [_plain(asdict(p)) for p in self.projections]}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Topology":
        """Build from a dict such as ``to_dict()`` returns.

        Parameters
        ----------
        d : dict
            With the keys ``"populations"`` and ``"projections"``, each a list of dicts of the
            fields of :class:`Population` and :class:`Projection`; unknown fields raise
            ``ValueError``.
        """
        if not isinstance(d, dict) or "populations" not in d or "projections" not in d:
            raise ValueError("a topology dict needs the keys 'populations' and 'projections'")

        def build(klass, items, what):
            names = {f.name for f in fields(klass)}
            if not isinstance(items, (list, tuple)):
                raise ValueError(f"the topology dict's {what}s must be a list of dicts, got {items!r}")
            out = []
            for item in items:
                if not isinstance(item, dict):
                    raise ValueError(f"each {what} must be a dict, got {item!r}")
                extra = set(item) - names
                if extra:
                    raise ValueError(f"unknown {what} field(s) {sorted(extra)}; allowed: {sorted(names)}")
                try:
                    out.append(klass(**item))
                except TypeError as e:
                    raise ValueError(f"invalid {what} {item!r}: {e}") from None
            return out

        return cls(build(Population, d["populations"], "population"), build(Projection, d["projections"], "projection"))

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> "Topology":
        """Build from the JSON text of :meth:`to_json`.

        Parameters
        ----------
        text : str
        """
        return cls.from_dict(json.loads(text))

    def describe(self) -> str:
        """A plain-text summary: populations and projections, one per line."""
        lines = ["populations:"]
        lines += [f"  {p.name:<8s} {p.size:5d} LIF neurons" for p in self.populations]
        lines.append("projections:")
        for p in self.projections:
            extra = [p.kind, "trainable" if p.trainable else "FIXED"]
            if p.density is not None:
                extra.append(f"density {p.density:g}")
            if p.sign is not None:
                extra.append(p.sign)
            if p.lr_scale is not None:
                extra.append(f"step x {p.lr_scale:g}")
            lines.append(f"  {p.key:<14s} {p.source:>6s} -> {p.target:<8s} ({', '.join(extra)})")
        return "\n".join(lines)

    # -- for the core -------------------------------------------------------------------------------
    def validate(self) -> None:
        """Check the description as the core will when it builds the network, raising
        :class:`motorsrnn.TopologyError` (a ``ValueError``) that names the population or
        projection: field types and values (names, sizes, kinds, signs, densities, scales, time
        constants ``>= 0`` ms, one value or one per neuron, thresholds), reserved, repeated or
        unknown names of populations and projections, each projection's endpoints against its
        kind, cycles of same-step (feedforward) projections, a population with no projection, no
        projection from the input or to the readout. Only the sizes of the input and readout,
        which come with the data, are left to ``fit``.

        Warns (``UserWarning``) about a population that no path of projections reaches from the
        input, or from which none reaches the readout: its weights get no gradient from the task
        (a typo in a projection's endpoint gives this)."""
        from . import _core

        try:
            self._check_fields()
        except _core.TopologyError:
            raise
        except (ValueError, TypeError) as e:  # check_number's messages name the field
            raise _core.TopologyError(str(e)) from None
        # The core's own checks, on a network with one input and one output and the estimator's
        # defaults for the neuron parameters left None (their values are checked by the estimator).
        spec = {"n_inputs": 1, "n_outputs": 1, **self._filled(_PLACEHOLDER_NEURON, _PLACEHOLDER_SCALES, 1.0)}
        for p in spec["projections"]:
            if p["source"] == "input":  # its largest initial scale depends on the data's channels: fit checks it
                p["init_scale"] = 0.0
        _core.check_topology(json.dumps(spec))
        self._check_connected()

    def _check_connected(self) -> None:
        from . import _core
        from ._validation import user_stacklevel

        names = [p.name for p in self.populations]
        edges = [(p.source, p.target) for p in self.projections]
        isolated = [n for n in names if not any(n in e for e in edges)]
        if isolated:
            raise _core.TopologyError(f"population {isolated[0]!r} has no projection to or from it")

        def reach(start, forward):
            seen, todo = set(), [start]
            while todo:
                node = todo.pop()
                for s, t in edges:
                    a, b = (s, t) if forward else (t, s)
                    if a == node and b not in seen:
                        seen.add(b)
                        todo.append(b)
            return seen

        fed, feeding = reach("input", True), reach("readout", False)
        for n in names:
            problem = ("no path of projections reaches it from the input" if n not in fed else
                       "no path of projections leads from it to the readout" if n not in feeding else None)
            if problem:
                warnings.warn(f"population {n!r}: {problem}, so its weights get no gradient from the task; check "
                              "the projections' source and target names", UserWarning, stacklevel=user_stacklevel())

    def _check_fields(self) -> None:
        from . import _core

        bad = _core.TopologyError
        for field_name, klass in (("populations", Population), ("projections", Projection)):
            items = getattr(self, field_name)
            if not isinstance(items, (list, tuple)):
                raise bad(f"{field_name} must be a list of {klass.__name__}, got {type(items).__name__}")
            wrong = [item for item in items if not isinstance(item, klass)]
            if wrong:
                raise bad(f"{field_name} must be a list of {klass.__name__}, but it holds {wrong[0]!r}")
        if not self.populations:
            raise bad("a topology needs at least one population")
        for pop in self.populations:
            if not isinstance(pop.name, str) or not pop.name:
                raise bad(f"population {pop!r}: name must be a non-empty str")
            if isinstance(pop.size, (bool, np.bool_)) or not isinstance(pop.size, (int, np.integer)) or pop.size < 1:
                raise bad(f"population '{pop.name}': size {pop.size!r}: a size must be a positive int")
            if pop.reset not in (None, "subtract", "zero"):
                raise bad(f"population '{pop.name}': reset must be 'subtract', 'zero' or None, got {pop.reset!r}")
            check_number(pop.threshold, f"population '{pop.name}': threshold", low=0, strict_low=True,
                         allow_none=True)
        for p in self.projections:
            for end in ("source", "target"):
                if not isinstance(getattr(p, end), str):
                    raise bad(f"projection {p!r}: {end} must be a population name, 'input' or 'readout'")
            if p.name is not None and (not isinstance(p.name, str) or not p.name):
                raise bad(f"projection {p.source}->{p.target}: name must be a non-empty str or None, got {p.name!r}")
            if p.kind not in _KINDS:
                raise ValueError(f"projection '{p.key}': kind must be one of {_KINDS}, got {p.kind!r}")
            if p.sign not in _SIGNS:
                raise ValueError(f"projection '{p.key}': sign must be one of {_SIGNS}, got {p.sign!r}")
            for name in ("init_scale", "lr_scale"):
                check_number(getattr(p, name), f"projection '{p.key}': {name}", low=0, allow_none=True)
            check_number(p.density, f"projection '{p.key}': density", allow_none=True)
            check_bool(p.trainable, f"projection '{p.key}': trainable")
        for pop in self.populations:
            for name in ("tau_mem", "tau_syn"):
                v = getattr(pop, name)
                if np.ndim(v) > 1:
                    raise bad(f"population '{pop.name}': {name} must be one value or one per neuron, got an "
                              f"array of shape {np.shape(v)}")
                if isinstance(v, np.ndarray) and v.ndim == 0:  # np.array(5.0): one value
                    v = v.item()
                for x in (v if np.ndim(v) else [v]):  # one value per neuron, or one for all (None: the default)
                    check_number(x, f"population '{pop.name}': {name}", low=0, allow_none=np.ndim(v) == 0)
            for name in ("detach_reset", "trainable_tau"):
                if getattr(pop, name) is not None:
                    check_bool(getattr(pop, name), f"population '{pop.name}': {name}")

    def core_spec(
        self, defaults: Dict[str, Any], scales: Dict[str, float], recurrent_lr_scale: float = 1.0,
        validate: bool = True,
    ) -> Dict[str, Any]:
        """Populations and projections with the estimator's values filled in where ``None``: the
        description the Rust core builds the network from (used by the estimators).

        Parameters
        ----------
        defaults : dict
            Neuron parameters (``tau_mem``, ``threshold``, ...) for populations that leave them
            ``None``.
        scales : dict
            Initial weight scales under the keys ``"input"`` (feedforward projections),
            ``"recurrent"`` (recurrent and feedback) and ``"output"`` (to the readout), for
            projections without their own ``init_scale``.
        recurrent_lr_scale : float, default=1.0
            Step-size factor of recurrent and feedback projections without their own
            ``lr_scale``.
        validate : bool, default=True
            Run :meth:`validate` first (False: the description as it is, for comparisons).
        """
        if validate:
            self.validate()
        return self._filled(defaults, scales, recurrent_lr_scale)

    def _filled(self, defaults: Dict[str, Any], scales: Dict[str, float], recurrent_lr_scale: float) -> Dict[str, Any]:
        """:meth:`core_spec` without :meth:`validate` (which calls this with placeholders)."""
        pops = []
        for pop in self.populations:
            d = _plain(asdict(pop))
            for k, v in defaults.items():
                if d.get(k) is None:
                    d[k] = v
            for k in ("tau_mem", "tau_syn"):
                d[k] = [float(x) for x in d[k]] if np.ndim(d[k]) else float(d[k])
            d["size"] = int(d["size"])
            pops.append(d)
        projs = []
        for p in self.projections:
            d = _plain(asdict(p))
            if d["init_scale"] is None:
                if p.target == "readout":
                    d["init_scale"] = scales["output"]
                elif p.kind == "feedforward":
                    d["init_scale"] = scales["input"]
                else:
                    d["init_scale"] = scales["recurrent"]
            d["init_scale"] = float(d["init_scale"])
            if d["lr_scale"] is None:
                d["lr_scale"] = recurrent_lr_scale if p.kind in ("recurrent", "feedback") else 1.0
            d["lr_scale"] = float(d["lr_scale"])
            if d["name"] is None:
                d["name"] = p.key
            projs.append(d)
        return {"populations": pops, "projections": projs}


# What validate() fills in for the values the estimator gives at fit time (the estimator checks
# its own): neuron parameters a population leaves None, and projections' initial scales.
_PLACEHOLDER_NEURON = {"tau_mem": 20.0, "tau_syn": 5.0, "threshold": 1.0, "reset": "subtract", "detach_reset": True,
                       "trainable_tau": False}
_PLACEHOLDER_SCALES = {"input": 1.0, "recurrent": 1.0, "output": 1.0}


def _plain(d: Dict[str, Any]) -> Dict[str, Any]:
    """``d`` with NumPy arrays as lists and NumPy scalars as Python numbers and bools, also inside
    lists and tuples (for JSON)."""

    def plain(v):
        if isinstance(v, (np.ndarray, np.generic)):
            return v.tolist()
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return {k: plain(v) for k, v in d.items()}


def preset(
    name: str,
    n_hidden: Optional[int] = None,
    *,
    module_sizes: Optional[Sequence[int]] = None,
    feedback: str = "fixed",
    feedback_density: float = 0.2,
    recurrent_density: Optional[float] = None,
    read_out: Sequence[str] = ("Out",),
) -> Topology:
    """A named architecture.

    Parameters
    ----------
    name : {"srnn", "fsnn", "motorsrnn"}
        - ``"srnn"``: one recurrent population ``h`` (keys ``w_in``, ``w_rec``, ``w_out``, ``b_h``).
        - ``"fsnn"``: the feedforward baseline: the same population without recurrence (``w_in``,
          ``w_out``, ``b_h``).
        - ``"motorsrnn"``: three modules named after the motor circuit: ``M1`` (receives the
          input), ``PM`` (premotor-like) and ``Out`` (downstream output module, by default the only
          one read out: ``read_out``); intra-module recurrence; feedforward paths ``M1->PM``,
          ``PM->Out`` and ``M1->Out``;
          feedback ``PM->M1`` and ``Out->PM``, sparse and fixed by default (the paper's
          "long-term stable" feedback synapses). See ``docs/architectures.md`` for the
          assumptions.
    n_hidden : int or None, default=None
        Total number of LIF neurons: 128, or the sum of ``module_sizes``, when None.
    module_sizes : sequence of 3 int or None
        ``motorsrnn`` only: sizes of M1, PM and Out; default half, a quarter and a quarter of
        ``n_hidden``. Given with ``n_hidden``, they must add up to it.
    feedback : {"fixed", "trainable", "removed"}, default="fixed"
        ``motorsrnn`` only: the feedback ablations of the paper.
    feedback_density : float, default=0.2
        ``motorsrnn`` only: connection density of the feedback projections.
    recurrent_density : float or None
        ``srnn`` and ``motorsrnn``: density of the recurrent projections (``None``: dense).
    read_out : sequence of {"M1", "PM", "Out"}, default=("Out",)
        ``motorsrnn`` only: the modules that project to the readout (keys ``"M1->readout"``,
        ``"PM->readout"``, ``"Out->readout"``). The default reads out the downstream output module
        alone; ``("M1", "PM", "Out")`` reads out every module (``docs/decoding.md`` compares the
        two).

    Returns
    -------
    Topology

    Raises
    ------
    ValueError
        For an unknown name, bad sizes, or an option the architecture does not have (e.g.
        ``feedback`` for ``"srnn"``: it would be ignored).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown architecture {name!r}; presets are {PRESETS}")
    if name != "motorsrnn":
        given = [k for k, is_set in (
            ("module_sizes", module_sizes is not None),
            ("feedback", feedback != "fixed"),
            ("feedback_density", feedback_density != 0.2),
            ("read_out", (read_out,) != ("Out",) if isinstance(read_out, str) else tuple(read_out) != ("Out",)),
            ("recurrent_density", recurrent_density is not None and name != "srnn"),
        ) if is_set]
        if given:
            raise ValueError(f"{', '.join(given)}: not an option of the {name!r} preset (it would be ignored)")
    size: Optional[int] = None  # n_hidden checked; None: from module_sizes
    if n_hidden is not None:
        size = check_number(n_hidden, "n_hidden", low=1, integer=True)
    if name in ("srnn", "fsnn"):
        h = Population("h", 128 if size is None else size)
        if name == "fsnn":
            return Topology([h], [Projection("input", "h", name="w_in"), Projection("h", "readout", name="w_out")])
        return Topology(
            [h],
            [
                Projection("input", "h", name="w_in"),
                Projection("h", "h", "recurrent", name="w_rec", density=recurrent_density),
                Projection("h", "readout", name="w_out"),
            ],
        )
    if feedback not in ("fixed", "trainable", "removed"):
        raise ValueError(f"feedback must be 'fixed', 'trainable' or 'removed', got {feedback!r}")
    if feedback == "removed" and feedback_density != 0.2:
        raise ValueError("feedback_density: not an option with feedback='removed', which has no feedback "
                         "projection (it would be ignored)")
    if module_sizes is None:
        total = 128 if size is None else size
        if total < 3:
            raise ValueError("motorsrnn needs n_hidden >= 3 (three modules)")
        m1 = max(1, total // 2)
        pm = max(1, (total - m1) // 2)
        module_sizes = (m1, pm, total - m1 - pm)
    if (not isinstance(module_sizes, (list, tuple, np.ndarray)) or len(module_sizes) != 3
            or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in module_sizes)):
        raise ValueError(f"module_sizes must be three positive integers (M1, PM, Out), got {module_sizes!r}")
    m1, pm, out = (int(s) for s in module_sizes)
    if size is not None and m1 + pm + out != size:
        raise ValueError(f"module_sizes {tuple(module_sizes)} add up to {m1 + pm + out}, not n_hidden={size}; "
                         "give one of the two")
    modules = ("M1", "PM", "Out")
    if isinstance(read_out, str):
        read_out = (read_out,)
    try:
        read_out = tuple(read_out)
    except TypeError:
        raise ValueError(f"read_out must be a sequence of module names from {modules}, got {read_out!r}") from None
    if not read_out or any(m not in modules for m in read_out) or len(set(read_out)) != len(read_out):
        raise ValueError(
            f"read_out must name one or more of the modules {modules}, each once, got {read_out!r}"
        )
    rec: Dict[str, Any] = dict(kind="recurrent", density=recurrent_density)
    projections = [
        Projection("input", "M1"),
        Projection("M1", "M1", **rec),
        Projection("PM", "PM", **rec),
        Projection("Out", "Out", **rec),
        Projection("M1", "PM"),
        Projection("PM", "Out"),
        Projection("M1", "Out"),
        *[Projection(m, "readout") for m in modules if m in read_out],
    ]
    if feedback != "removed":
        trainable = feedback == "trainable"
        projections += [
            Projection("PM", "M1", "feedback", trainable=trainable, density=feedback_density),
            Projection("Out", "PM", "feedback", trainable=trainable, density=feedback_density),
        ]
    return Topology([Population("M1", m1), Population("PM", pm), Population("Out", out)], projections)


def shuffle_projection(estimator, key: str, random_state=None):
    """A copy of a fitted estimator whose projection ``key`` has its weights randomly permuted.

    The permutation is among existing connections (masked-out entries stay zero), so the weight
    distribution is kept and its structure destroyed: the "shuffle" ablation.

    Parameters
    ----------
    estimator : fitted motorsrnn estimator
    key : str
        A projection name from ``estimator.get_weights()``.
    random_state : int, RandomState, Generator or None

    Returns
    -------
    estimator
        A new fitted estimator (the original is unchanged).
    """
    from ._validation import check_seed

    if not callable(getattr(estimator, "get_weights", None)):
        raise TypeError(
            "estimator must be a fitted motorsrnn spiking estimator (SpikingRNNClassifier or Regressor), got "
            f"{type(estimator).__name__}"
        )
    weights = estimator.get_weights()
    masks = estimator.network_.masks()
    projections = {p[0] for p in estimator.network_.projections()}
    if key not in projections:
        raise ValueError(f"unknown projection {key!r}; known: {sorted(projections)}")
    w = weights[key].copy()
    keep = masks[key] > 0 if key in masks else np.ones(w.shape, dtype=bool)
    rng = check_seed(random_state)
    w[keep] = rng.permutation(w[keep])
    out = copy.deepcopy(estimator)
    out.set_weights({key: w})
    return out
