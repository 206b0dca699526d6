"""Architectures: presets, user topologies, validation, fixed and sparse projections, ablations,
persistence."""

import json
import pickle
import warnings

import numpy as np
import pytest

from motorsrnn import SpikingRNNClassifier, TopologyError, load
from motorsrnn.datasets import make_center_out
from motorsrnn.topology import Population, Projection, Topology, preset, shuffle_projection

FAST = dict(n_hidden=24, max_epochs=2, batch_size=16, random_state=0, learning_rate=0.02)


@pytest.fixture(scope="module")
def data():
    return make_center_out(n_trials=96, n_neurons=12, random_state=1)


def initial_weights(clf, n_inputs, n_outputs):
    """The untrained network fit() starts from."""
    return clf.initial_network(n_inputs, n_outputs).get_weights()


def test_presets_have_the_documented_keys(data):
    keys = {}
    for arch in ("srnn", "fsnn", "motorsrnn"):
        clf = SpikingRNNClassifier(architecture=arch, **FAST).fit(data.X, data.y)
        keys[arch] = set(clf.get_weights())
    assert keys["srnn"] == {"w_in", "w_rec", "b_h", "w_out", "b_out"}
    assert keys["fsnn"] == {"w_in", "b_h", "w_out", "b_out"}
    assert keys["motorsrnn"] == {
        "input->M1", "M1->M1", "PM->PM", "Out->Out", "M1->PM", "PM->Out", "M1->Out", "Out->readout",
        "PM->M1", "Out->PM", "b_M1", "b_PM", "b_Out", "b_out",
    }
    assert {p.name: p.size for p in preset("motorsrnn", 24).populations} == {"M1": 12, "PM": 6, "Out": 6}


def test_fixed_feedback_is_bit_identical_after_fit_and_trainable_ones_move(data):
    clf = SpikingRNNClassifier(architecture="motorsrnn", **FAST)
    before = initial_weights(clf, data.X.shape[2], 4)
    clf.fit(data.X, data.y)
    after = clf.get_weights()
    for key in ("PM->M1", "Out->PM"):
        np.testing.assert_array_equal(after[key], before[key])
        assert np.abs(before[key]).sum() > 0
    for key in ("input->M1", "M1->PM", "Out->readout"):
        assert not np.array_equal(after[key], before[key]), key
    # loss_and_grad omits fixed projections
    _, grads = clf.loss_and_grad(data.X[:8], data.y[:8])
    assert "PM->M1" not in grads and "M1->PM" in grads


def test_learning_rate_scales_per_projection(data):
    # one SGD step from the same initial weights: the step of w_rec is proportional to its scale
    one_step = dict(FAST, max_epochs=1, batch_size=len(data.y), optimizer="sgd", max_grad_norm=None)
    moved = {}
    for scale in (1.0, 0.5, 0.0):
        clf = SpikingRNNClassifier(recurrent_lr_scale=scale, **one_step)
        before = initial_weights(clf, data.X.shape[2], 4)
        after = clf.fit(data.X, data.y).get_weights()
        moved[scale] = {k: after[k].astype(np.float64) - before[k] for k in ("w_in", "w_rec")}
    assert np.abs(moved[1.0]["w_rec"]).max() > 0
    np.testing.assert_allclose(moved[0.5]["w_rec"], 0.5 * moved[1.0]["w_rec"], rtol=1e-3, atol=1e-8)
    assert not moved[0.0]["w_rec"].any(), "recurrent_lr_scale=0 keeps w_rec where it started"
    for scale in (0.5, 0.0):
        np.testing.assert_allclose(moved[scale]["w_in"], moved[1.0]["w_in"], rtol=1e-5, atol=1e-9)

    # a projection's own lr_scale overrides the estimator's default, and survives to_dict
    topo = preset("motorsrnn", 24)
    topo.projection("M1->PM").lr_scale = 0.0
    assert Topology.from_dict(json.loads(topo.to_json())).projection("M1->PM").lr_scale == 0.0
    clf = SpikingRNNClassifier(architecture=topo, **FAST)
    before = initial_weights(clf, data.X.shape[2], 4)
    after = clf.fit(data.X, data.y).get_weights()
    np.testing.assert_array_equal(after["M1->PM"], before["M1->PM"])
    assert not np.array_equal(after["M1->M1"], before["M1->M1"])
    assert not np.array_equal(after["PM->Out"], before["PM->Out"])

    with pytest.raises(ValueError, match="recurrent_lr_scale"):
        SpikingRNNClassifier(recurrent_lr_scale=-1.0, **FAST).fit(data.X, data.y)
    bad = preset("srnn", 24)
    bad.projection("w_rec").lr_scale = float("nan")
    with pytest.raises(ValueError, match="lr_scale"):
        SpikingRNNClassifier(architecture=bad, **FAST).fit(data.X, data.y)


def test_feedback_ablations(data):
    free = SpikingRNNClassifier(architecture=preset("motorsrnn", 24, feedback="trainable"), **FAST)
    before = initial_weights(free, data.X.shape[2], 4)
    free.fit(data.X, data.y)
    assert not np.array_equal(free.get_weights()["PM->M1"], before["PM->M1"])
    removed = SpikingRNNClassifier(architecture=preset("motorsrnn", 24, feedback="removed"), **FAST).fit(data.X, data.y)
    assert "PM->M1" not in removed.get_weights()
    topo = preset("motorsrnn", 24)
    assert topo.remove("PM->M1", "Out->PM").to_dict() == preset("motorsrnn", 24, feedback="removed").to_dict()
    assert all(p.trainable for p in topo.unfreeze("PM->M1", "Out->PM").projections)
    assert not topo.freeze("M1->PM").projection("M1->PM").trainable
    with pytest.raises(ValueError, match="unknown projection"):
        topo.remove("V1->M1")


def test_motorsrnn_read_out_modules(data):
    default = preset("motorsrnn", 24)
    assert [p.source for p in default.projections if p.target == "readout"] == ["Out"]
    assert preset("motorsrnn", 24, read_out=("Out",)).to_dict() == default.to_dict()
    every = preset("motorsrnn", 24, read_out=["Out", "M1", "PM"])
    assert [p.key for p in every.projections if p.target == "readout"] == ["M1->readout", "PM->readout", "Out->readout"]
    clf = SpikingRNNClassifier(architecture=every, **FAST).fit(data.X, data.y)
    w = clf.get_weights()
    assert {k: v.shape for k, v in w.items() if k.endswith("->readout")} == {
        "M1->readout": (4, 12), "PM->readout": (4, 6), "Out->readout": (4, 6)}
    # every module's spikes reach the logits: silencing M1's readout weights changes them
    w["M1->readout"] = np.zeros_like(w["M1->readout"])
    silenced = clf.__class__(architecture=every, **FAST).fit(data.X, data.y)
    silenced.set_weights(w)
    assert not np.allclose(silenced.decision_function(data.X), clf.decision_function(data.X))
    only_m1 = preset("motorsrnn", 24, read_out="M1")
    assert [p.key for p in only_m1.projections if p.target == "readout"] == ["M1->readout"]
    for bad in ((), ("V1",), ("Out", "Out"), 3):
        with pytest.raises(ValueError, match="read_out"):
            preset("motorsrnn", 24, read_out=bad)


def test_masks_and_signs_are_respected(data):
    topo = Topology(
        [Population("a", 10), Population("b", 8, tau_mem=[10.0 + i for i in range(8)])],
        [
            Projection("input", "a", density=0.4, sign="excitatory"),
            Projection("a", "a", "recurrent", density=0.3),
            Projection("a", "b"),
            Projection("b", "a", "feedback", sign="inhibitory", trainable=True),
            Projection("b", "readout"),
        ],
    )
    clf = SpikingRNNClassifier(architecture=topo, **FAST).fit(data.X, data.y)
    w, masks = clf.get_weights(), clf.network_.masks()
    assert set(masks) == {"input->a", "a->a"}
    for key, m in masks.items():
        assert np.all(w[key][m == 0] == 0), key
        assert 0.2 < m.mean() < 0.6
        assert np.count_nonzero(w[key]) > 0
    assert (w["input->a"] >= 0).all() and (w["input->a"] > 0).any()
    assert (w["b->a"] <= 0).all() and (w["b->a"] < 0).any()
    with pytest.raises(ValueError, match="sign constraint"):
        clf.set_weights({"input->a": -np.abs(w["input->a"])})
    with pytest.raises(ValueError, match="mask removes connections"):
        clf.set_weights({"a->a": np.ones_like(w["a->a"])})


@pytest.mark.parametrize(
    "topo, match",
    [
        (Topology([Population("a", 4)], [Projection("input", "a"), Projection("b", "readout")]), "unknown source population 'b'"),
        (
            Topology(
                [Population("a", 4), Population("b", 4)],
                [Projection("input", "a"), Projection("a", "b"), Projection("b", "a"), Projection("b", "readout")],
            ),
            "cycle",
        ),
        (Topology([Population("a", 4, tau_mem=[20.0, 20.0])], [Projection("input", "a"), Projection("a", "readout")]), "2 values for 4 neurons"),
        (Topology([Population("a", 4)], [Projection("input", "a")]), "no projection ends in the readout"),
        (Topology([Population("a", 4)], [Projection("input", "a"), Projection("a", "a"), Projection("a", "readout")]), "cycle"),
        (Topology([Population("a", 4)], [Projection("input", "a"), Projection("a", "readout", density=1.5)]), "density must be in"),
        (Topology([Population("a", 0)], [Projection("input", "a"), Projection("a", "readout")]), "size 0"),
        (Topology([Population("input", 3)], [Projection("input", "input"), Projection("input", "readout")]), "reserved"),
        # names whose parameter keys would collide (b_out is the readout bias; b_a the bias of a)
        (Topology([Population("out", 4)], [Projection("input", "out"), Projection("out", "readout")]),
         "'out' cannot name a population"),
        (Topology([Population("a", 4)], [Projection("input", "a", name="b_a"), Projection("a", "readout")]),
         "projection 'b_a': the name is the key of a bias"),
        (Topology([Population("a", 4)], [Projection("input", "a", name="alpha_a"), Projection("a", "readout")]),
         "projection 'alpha_a': the name is the key"),
    ],
)
def test_invalid_topologies_raise_topology_error(data, topo, match):
    """Refused by fit, and before any data by Topology.validate(), which runs the core's checks
    (unknown populations and same-step cycles used to pass it)."""
    with pytest.raises(TopologyError, match=match):
        topo.validate()
    with pytest.raises(TopologyError, match=match):
        SpikingRNNClassifier(architecture=topo, **FAST).fit(data.X, data.y)


def test_validate_names_the_cycle_and_leaves_only_data_sizes_to_fit():
    """The core's cycle message reaches validate(); a topology whose own parameters exceed the
    core's limit is refused before data; data sizes are not validate()'s to check."""
    cyc = Topology([Population("a", 4), Population("b", 4), Population("c", 4)],
                   [Projection("input", "a"), Projection("a", "b"), Projection("b", "c"), Projection("c", "b"),
                    Projection("c", "readout")])
    with pytest.raises(TopologyError, match=r"cycle: (b -> c -> b|c -> b -> c)"):
        cyc.validate()
    big = Topology([Population("a", 20000)], [Projection("input", "a"), Projection("a", "a", "recurrent"),
                                             Projection("a", "readout")])
    with pytest.raises(TopologyError, match="parameters, more than"):
        big.validate()
    # the same network with the feedback made a (previous-step) feedback projection is accepted
    ok = Topology(cyc.populations, cyc.projections[:3] + [Projection("c", "b", "feedback"), cyc.projections[4]])
    ok.validate()
    # an input projection's largest initial scale depends on the number of channels: fit's to check
    # (validate, with one placeholder input, refused 2e30 that 16 channels allow)
    wide = Topology([Population("h", 4)], [Projection("input", "h", init_scale=2e30), Projection("h", "readout")])
    wide.validate()
    X = (np.random.default_rng(0).random((20, 5, 16)) < 0.2).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert SpikingRNNClassifier(architecture=wide, max_epochs=1).fit(X, np.arange(20) % 2).n_iter_ == 1
        with pytest.raises(TopologyError, match="is too large"):
            SpikingRNNClassifier(architecture=wide, max_epochs=1).fit(X[:, :, :2], np.arange(20) % 2)


def test_python_side_validation():
    with pytest.raises(ValueError, match="kind must be one of"):
        Topology([Population("a", 4)], [Projection("input", "a", kind="lateral")]).validate()
    with pytest.raises(ValueError, match="sign must be one of"):
        Topology([Population("a", 4)], [Projection("input", "a", sign="positive")]).validate()
    with pytest.raises(ValueError, match="unknown projection field"):
        Topology.from_dict({"populations": [], "projections": [{"source": "input", "target": "a", "weight": 3}]})
    with pytest.raises(ValueError, match="unknown architecture"):
        preset("lstm")
    with pytest.raises(ValueError, match="module_sizes"):
        preset("motorsrnn", module_sizes=(4, 4))
    with pytest.raises(ValueError, match="architecture must be one of"):
        SpikingRNNClassifier(architecture="gru").fit(np.zeros((4, 2, 2)), [0, 1, 0, 1])


def test_numpy_values_in_a_topology_work_like_python_ones(data, tmp_path):
    """Fields taken from NumPy arrays (scalars, per-neuron time constants as an array) give the
    same network as plain Python values, and the model saves (with a checkpoint too)."""
    rng = np.random.default_rng(0)
    tau = rng.uniform(10.0, 30.0, 24)

    def topo(np_values):
        f = (lambda v: v) if np_values else (lambda v: v.tolist())
        return Topology(
            [Population("a", 24, tau_mem=f(tau), threshold=f(np.float32(0.5)), detach_reset=f(np.bool_(True)))],
            [Projection("input", "a", density=f(np.float32(0.5))), Projection("a", "a", kind="recurrent"),
             Projection("a", "readout", trainable=f(np.bool_(False)))],
        )

    params = dict(FAST, n_hidden=24)
    plain = SpikingRNNClassifier(architecture=topo(False), **params).fit(data.X, data.y)
    clf = SpikingRNNClassifier(architecture=topo(True), checkpoint_path=tmp_path / "ck.msrnn", **params).fit(
        data.X, data.y)
    for k, w in plain.get_weights().items():
        np.testing.assert_array_equal(clf.get_weights()[k], w)
    assert json.loads(topo(True).to_json()) == json.loads(topo(False).to_json())
    listed = Topology([Population("a", 24, tau_mem=list(tau.astype(np.float32)))], [])  # NumPy inside a list
    assert json.loads(listed.to_json())["populations"][0]["tau_mem"] == tau.astype(np.float32).tolist()
    clf.save(tmp_path / "m.msrnn")
    np.testing.assert_array_equal(load(tmp_path / "m.msrnn").predict_proba(data.X), clf.predict_proba(data.X))
    np.testing.assert_array_equal(load(tmp_path / "ck.msrnn").predict_proba(data.X), clf.predict_proba(data.X))


@pytest.mark.parametrize(
    "population, projection, match",
    [
        (dict(tau_syn=float("nan")), {}, "population 'a': tau_syn must be a finite number"),
        (dict(tau_mem=[20.0, np.inf, 20.0, 20.0]), {}, "population 'a': tau_mem must be a finite number"),
        (dict(threshold=np.nan), {}, "population 'a': threshold must be a finite number"),
        (dict(detach_reset="yes"), {}, "population 'a': detach_reset must be True or False"),
        ({}, dict(density=np.inf), "projection 'input->a': density must be a finite number"),
        ({}, dict(trainable=1), "projection 'input->a': trainable must be True or False"),
    ],
)
def test_non_finite_or_mistyped_topology_fields_are_named(data, population, projection, match):
    topo = Topology([Population("a", 4, **population)], [Projection("input", "a", **projection),
                                                          Projection("a", "readout")])
    with pytest.raises(ValueError, match=match):
        SpikingRNNClassifier(architecture=topo, **FAST).fit(data.X, data.y)


@pytest.mark.parametrize("arch", ["srnn", "fsnn", "motorsrnn", "user"])
def test_save_load_and_pickle_every_architecture(tmp_path, data, arch):
    if arch == "user":
        arch = preset("motorsrnn", 24, recurrent_density=0.5).to_dict()  # a plain dict works too
    clf = SpikingRNNClassifier(architecture=arch, **FAST).fit(data.X, data.y)
    clf.save(tmp_path / "m.msrnn")
    for other in (load(tmp_path / "m.msrnn"), pickle.loads(pickle.dumps(clf))):
        np.testing.assert_array_equal(other.predict_proba(data.X), clf.predict_proba(data.X))
        assert other.network_.masks().keys() == clf.network_.masks().keys()
        for k, m in clf.network_.masks().items():
            np.testing.assert_array_equal(other.network_.masks()[k], m)


def test_topology_round_trip_and_description():
    topo = preset("motorsrnn", 40, module_sizes=(20, 10, 10))
    assert Topology.from_dict(json.loads(topo.to_json())) == topo
    text = topo.describe()
    assert "PM->M1" in text and "FIXED" in text and "density 0.2" in text


def test_shuffle_projection_permutes_existing_connections(data):
    clf = SpikingRNNClassifier(architecture="motorsrnn", **FAST).fit(data.X, data.y)
    shuffled = shuffle_projection(clf, "PM->M1", random_state=0)
    a, b = clf.get_weights()["PM->M1"], shuffled.get_weights()["PM->M1"]
    mask = clf.network_.masks()["PM->M1"]
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(np.sort(a[mask > 0]), np.sort(b[mask > 0]))
    assert np.all(b[mask == 0] == 0)
    np.testing.assert_array_equal(clf.get_weights()["PM->M1"], a)  # original untouched
    with pytest.raises(ValueError, match="unknown projection"):
        shuffle_projection(clf, "nope")


# ---------------------------------------------------------------------------------------------
# Validation that names the field, connectivity, equality with per-neuron arrays, save/load type
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pop, proj, match",
    [
        (Population("a", -3), {}, "size -3: a size must be a positive int"),
        (Population("a", 2.0), {}, "size 2.0"),
        (Population("a", 4, reset="zeroo"), {}, "reset must be 'subtract', 'zero' or None"),
        (Population("a", 4, threshold=0.0), {}, "threshold must be > 0"),
        (Population("a", 4), dict(density=float("nan")), "density"),
        (Population("a", 4), dict(kind="forward"), "kind must be one of"),
        (Population("a", 4), dict(sign="positive"), "sign must be one of"),
        (Population("a", 4), dict(init_scale=-1.0), "init_scale must be >= 0"),
        (Population("a", 4), dict(name=""), "name must be a non-empty str"),
        (Population("a", 4), dict(name=5), "name must be a non-empty str"),
    ],
)
def test_field_errors_are_topology_errors_naming_the_field(pop, proj, match):
    """These gave raw serde messages ("invalid value: integer `-3`, expected usize at line 1 column
    174") or plain ValueErrors that `except motorsrnn.TopologyError` missed."""
    topo = Topology([pop], [Projection("input", "a", **proj), Projection("a", "readout")])
    with pytest.raises(TopologyError, match=match):
        topo.validate()
    with pytest.raises(TopologyError, match=match):
        SpikingRNNClassifier(architecture=topo, **FAST).fit(np.ones((8, 3, 2), np.uint8), np.arange(8) % 2)


@pytest.mark.parametrize(
    "pops, projs, match",
    [
        ([Population("out", 4)], [Projection("input", "out"), Projection("out", "readout")], "'out' cannot name"),
        ([Population("readout", 4)], [Projection("input", "readout")], "'readout' cannot name a population"),
        ([Population("h", 4), Population("h", 3)], [Projection("input", "h"), Projection("h", "readout")],
         "population 'h' is defined twice"),
        ([Population("h", 4, tau_mem=-5.0)], [Projection("input", "h"), Projection("h", "readout")],
         r"'h': tau_mem must be >= 0"),
        ([Population("h", 4, tau_syn=float("inf"))], [Projection("input", "h"), Projection("h", "readout")],
         "tau_syn"),
        ([Population("h", 4, tau_mem=[1.0, 2.0])], [Projection("input", "h"), Projection("h", "readout")],
         "tau_mem has 2 values for 4 neurons"),
        ([Population("h", 2, tau_mem=[[1.0, 2.0]])], [Projection("input", "h"), Projection("h", "readout")],
         r"array of shape \(1, 2\)"),
        ([Population("h", 4)], [Projection("input", "h", name="b_h"), Projection("h", "readout")],
         "projection 'b_h': the name is the key of a bias"),
        ([Population("h", 4)], [Projection("input", "h", name="x"), Projection("h", "readout", name="x")],
         "two projections are named 'x'"),
        ([Population("h", 4)], [Projection("input", "h"), Projection("h", "input"), Projection("h", "readout")],
         "the input cannot be a target"),
        ([Population("h", 4)], [Projection("input", "h"), Projection("readout", "h"), Projection("h", "readout")],
         "the readout cannot be a source"),
        ([Population("h", 4)], [Projection("input", "h"), Projection("h", "h", "feedback"), Projection("h", "readout")],
         "a feedback projection must join two populations"),
        ([Population("h", 4), Population("g", 2)],
         [Projection("input", "h"), Projection("h", "g", "recurrent"), Projection("g", "readout")],
         "a recurrent projection must start and end in the same population"),
        ([Population("h", 4)], [Projection("input", "h", "recurrent"), Projection("h", "readout")],
         "input and readout projections must be feedforward"),
    ],
)
def test_validate_finds_what_fit_would_refuse(data, pops, projs, match):
    """Topology.validate() refuses these before any data is seen (they used to pass it and fail
    only in fit, a negative time constant as a plain ValueError); fit refuses them the same way."""
    topo = Topology(pops, projs)
    with pytest.raises(TopologyError, match=match):
        topo.validate()
    with pytest.raises(TopologyError, match=match):
        SpikingRNNClassifier(architecture=topo, **FAST).fit(data.X, data.y)


def test_disconnected_populations_are_named():
    base = [Projection("input", "a"), Projection("a", "readout")]
    with pytest.raises(TopologyError, match="population 'c' has no projection"):
        Topology([Population("a", 4), Population("c", 3)], base).validate()
    with pytest.warns(UserWarning, match="'c': no path of projections reaches it from the input"):
        Topology([Population("a", 4), Population("c", 3)], base + [Projection("c", "a")]).validate()
    with pytest.warns(UserWarning, match="'c': no path of projections leads from it to the readout"):
        Topology([Population("a", 4), Population("c", 3)], base + [Projection("a", "c")]).validate()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        preset("motorsrnn", 32).validate()  # every preset population is connected both ways


def test_topologies_with_per_neuron_time_constants_compare_by_value():
    topo = Topology([Population("a", 3, tau_mem=np.array([10.0, 20.0, 30.0]))],
                    [Projection("input", "a"), Projection("a", "readout")])
    assert topo == topo.copy() and topo == Topology.from_json(topo.to_json())
    other = topo.copy()
    other.populations[0].tau_mem = np.array([10.0, 20.0, 31.0])
    assert topo != other


def test_a_topology_comes_back_from_a_model_file_as_a_topology(tmp_path):
    from motorsrnn import load

    d = np.ones((8, 3, 2), np.uint8), np.arange(8) % 2
    for arch in (preset("motorsrnn", 12), preset("motorsrnn", 12).to_dict()):
        clf = SpikingRNNClassifier(architecture=arch, **FAST).fit(*d)
        clf.save(tmp_path / "m.msrnn")
        back = load(tmp_path / "m.msrnn").architecture
        assert type(back) is type(arch) and back == arch


def test_preset_refuses_options_it_would_ignore():
    """preset("srnn", recurrent_density=0.1) built a dense network, module_sizes that contradict
    n_hidden were taken silently (bad-input audit of the sixteenth session)."""
    w = preset("srnn", 20, recurrent_density=0.25)
    assert [p.density for p in w.projections if p.key == "w_rec"] == [0.25]
    for name, kws in (("srnn", dict(feedback="removed")), ("srnn", dict(module_sizes=(4, 2, 2))),
                      ("fsnn", dict(recurrent_density=0.1)), ("fsnn", dict(read_out=("M1", "Out"))),
                      ("srnn", dict(feedback_density=0.5))):
        with pytest.raises(ValueError, match=f"{next(iter(kws))}: not an option of the '{name}' preset"):
            preset(name, **kws)
    with pytest.raises(ValueError, match="feedback_density: not an option with feedback='removed'"):
        preset("motorsrnn", feedback="removed", feedback_density=0.9)
    with pytest.raises(ValueError, match=r"module_sizes \(4, 2, 2\) add up to 8, not n_hidden=100"):
        preset("motorsrnn", 100, module_sizes=[4, 2, 2])
    assert [p.size for p in preset("motorsrnn", module_sizes=[4, 2, 2]).populations] == [4, 2, 2]
    assert [p.size for p in preset("motorsrnn", 8, module_sizes=[4, 2, 2]).populations] == [4, 2, 2]
    assert sum(p.size for p in preset("motorsrnn").populations) == 128
    with pytest.raises(ValueError, match="module_sizes must be three positive integers"):
        preset("motorsrnn", module_sizes=8)
    preset("motorsrnn", read_out=["Out"])  # a list equal to the default is fine


def test_shuffle_projection_seeds_name_the_argument(data):
    clf = SpikingRNNClassifier(**FAST).fit(data.X, data.y)
    with pytest.raises(ValueError, match=r"random_state must be an int in \[0, 2\*\*32 - 1\]"):
        shuffle_projection(clf, "w_rec", random_state=-1)
    with pytest.raises(ValueError, match="random_state must be None, an int"):
        shuffle_projection(clf, "w_rec", random_state=1.5)
    a = shuffle_projection(clf, "w_rec", random_state=np.random.default_rng(3)).get_weights()["w_rec"]
    b = shuffle_projection(clf, "w_rec", random_state=np.random.default_rng(3)).get_weights()["w_rec"]
    np.testing.assert_array_equal(a, b)  # a Generator is accepted, and seeds the same shuffle


def test_a_projection_whose_density_kept_nothing_warns_and_0d_time_constants_are_numbers():
    """density=1e-9 on 3 x 3 units trained a projection without any connection, silently;
    tau_mem=np.array(5.0) was refused as 'not a finite number' (audit of the nineteenth session)."""
    import warnings

    from motorsrnn.datasets import make_center_out

    d = make_center_out(n_trials=20, n_neurons=6, n_timesteps=10, random_state=0)
    topo = Topology([Population("a", 3, tau_mem=np.array(5.0))],
                    [Projection("input", "a"), Projection("a", "a", "recurrent", density=1e-9),
                     Projection("a", "readout")])
    topo.validate()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = SpikingRNNClassifier(architecture=topo, max_epochs=1, random_state=0).fit(d.X, d.y)
    said = [str(w.message) for w in caught if "has no connection" in str(w.message)]
    assert said == ["projection 'a->a' has no connection: its density kept none of its 9 possible connections "
                    "(3 sources x 3 targets) in this draw; raise its density, or remove the projection"]
    assert not clf.network_.masks()["a->a"].any()
    assert json.loads(clf.network_.spec_json)["populations"][0]["tau_mem"] == 5.0
    with warnings.catch_warnings(record=True) as caught:  # a density that keeps connections does not warn
        warnings.simplefilter("always")
        SpikingRNNClassifier(architecture="motorsrnn", n_hidden=12, max_epochs=1, random_state=0).fit(d.X, d.y)
    assert not [w for w in caught if "has no connection" in str(w.message)]


def test_n_hidden_beside_a_topology_of_another_size_warns():
    """SpikingRNNClassifier(n_hidden=64, architecture=preset("motorsrnn", feedback="removed"))
    built 128 units silently: an ablation compared with a 64-unit motorsrnn had twice its size."""
    d = make_center_out(n_trials=20, n_neurons=6, n_timesteps=10, random_state=0)
    with pytest.warns(UserWarning, match=r"n_hidden=64 is not used: .* \(M1 64, PM 32, Out 32: 128 units\)"):
        SpikingRNNClassifier(n_hidden=64, architecture=preset("motorsrnn", feedback="removed"),
                             max_epochs=1, random_state=0).fit(d.X, d.y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for est in (SpikingRNNClassifier(n_hidden=64, architecture=preset("motorsrnn", 64, feedback="removed")),
                    SpikingRNNClassifier(architecture=preset("motorsrnn", 64, feedback="removed"))):
            est.set_params(max_epochs=1, random_state=0).fit(d.X, d.y)
    assert not [w for w in caught if "n_hidden" in str(w.message)]
