"""Prediction and simulation run the core on blocks of trials, so that a Ctrl-C stops them between
blocks; the blocks change nothing in the results."""

import json
import os
import signal
import threading

import numpy as np
import pytest

import motorsrnn.estimators as est
from motorsrnn import SpikingRNNClassifier, SpikingRNNRegressor
from motorsrnn.datasets import make_center_out

FAST = dict(n_hidden=12, batch_size=32, max_epochs=3, random_state=0, n_jobs=2, rate_weight=1.0,
            rate_bounds=(5.0, 100.0))
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    return make_center_out(n_trials=300, n_neurons=10, random_state=4)


@pytest.fixture(scope="module")
def fitted(data):
    clf = SpikingRNNClassifier(**FAST, architecture="motorsrnn").fit(data.X, data.y)
    rng = np.random.default_rng(0)
    y_step = rng.normal(size=(len(data.X), data.X.shape[1], 2))
    reg_step = SpikingRNNRegressor(**FAST).fit(data.X, y_step)
    reg_trial = SpikingRNNRegressor(**FAST).fit(data.X, y_step[:, -1, 0])
    return clf, reg_step, reg_trial


def _outputs(clf, reg_step, reg_trial, X):
    sim = clf.simulate(X, membrane=True)
    return [clf.decision_path(X), clf.predict_proba(X), clf.predict(X), sim.spikes, sim.membrane, sim.readout,
            sim.logits, *[p.spikes for p in sim.populations.values()], reg_step.predict(X), reg_trial.predict(X),
            reg_step.simulate(X, membrane=False).spikes]


def test_blocks_of_trials_give_the_results_of_one_call(fitted, data, monkeypatch):
    X = data.X[:281]  # 128-trial blocks (the least: 4 chunks of 16 trials per thread) and a short last one
    whole = _outputs(*fitted, X)
    calls = []
    real = est._in_blocks

    def counting(network, Xc, n_threads, call):
        return real(network, Xc, n_threads, lambda x: calls.append(len(x)) or call(x))

    monkeypatch.setattr(est, "_CALL_WORK", 1)
    monkeypatch.setattr(est, "_in_blocks", counting)
    blocks = _outputs(*fitted, X)
    assert calls and set(calls) == {128, 25}  # every call above went in blocks
    assert whole[3].any() and np.unique(whole[1]).size > 100  # spikes, and trials of their own    assert len(blocks) == len(whole)
    for a, b in zip(whole, blocks):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert fitted[0].simulate(X, membrane=False).membrane is None


class _Interrupt(Exception):
    pass


class _Watched:
    """A fitted network whose calls of ``method`` are noted (trials per call, in ``calls``), each
    first passed to ``before(*args)``."""

    def __init__(self, net, method, before=lambda *args: None):
        self._net, self._method, self._before, self.calls = net, method, before, []

    def __getattr__(self, name):
        attr = getattr(self._net, name)
        if name != self._method:
            return attr

        def watched(x, *args):
            self.calls.append(len(x))
            self._before(x, *args)
            return attr(x, *args)

        return watched


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_ctrl_c_stops_a_prediction_between_blocks(fitted, data, monkeypatch):
    """A Ctrl-C during a large predict took effect only when the core had simulated every trial."""
    clf = fitted[0]
    X = np.concatenate([data.X] * 10)  # 3000 trials: 24 blocks of 128
    monkeypatch.setattr(est, "_CALL_WORK", 1)
    started = threading.Event()
    net = _Watched(clf.network_, "logits", lambda *args: started.set())
    calls = net.calls

    def ctrl_c():
        started.wait(10)
        os.kill(os.getpid(), signal.SIGINT)

    def handler(signum, frame):
        raise _Interrupt

    monkeypatch.setattr(clf, "network_", net)
    previous = signal.signal(signal.SIGINT, handler)
    sender = threading.Thread(target=ctrl_c)
    try:
        sender.start()
        with pytest.raises(_Interrupt):
            clf.predict(X)
        sender.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls and sum(calls) < len(X), calls  # it stopped before simulating every trial


def test_large_simulations_are_written_block_by_block_into_one_set_of_arrays(fitted, data, monkeypatch):
    """simulate() of many trials copied every block's output (membranes: 40 % slower); the core
    now writes each block into the rows of arrays allocated once, with the results of one call."""
    clf = fitted[0]
    X = data.X[:281]
    whole = clf.simulate(X, membrane=True)
    views = []  # whether each call's spike arrays are views of the arrays allocated once

    watched = _Watched(clf.network_, "simulate_into",
                       lambda x, n_threads, spikes, *rest: views.append(all(s.base is not None for s in spikes)))
    monkeypatch.setattr(est, "_CALL_WORK", 1)
    monkeypatch.setattr(clf, "network_", watched)
    blocks = clf.simulate(X, membrane=True)
    assert watched.calls == [128, 128, 25] and all(views)
    for name in ("spikes", "membrane", "readout", "logits"):
        np.testing.assert_array_equal(getattr(blocks, name), getattr(whole, name))
    for name, pop in whole.populations.items():
        np.testing.assert_array_equal(blocks.populations[name].spikes, pop.spikes)
    net = clf.network_._net
    n, steps = 20, X.shape[1]
    sizes = [size for _, size in net.populations()]
    spikes = [np.full((n, steps, s), 7, np.uint8) for s in sizes]  # garbage: every entry is written
    out = np.empty((n, steps, 4), np.float32), np.empty((n, steps, 4), np.float32)
    net.simulate_into(X[:n], 1, spikes, None, *out)
    np.testing.assert_array_equal(np.concatenate(spikes, axis=2), whole.spikes[:n])
    with pytest.raises(ValueError, match="output arrays do not have the shapes of 20 trials"):
        net.simulate_into(X[:n], 1, spikes[:-1], None, *out)


def test_memory_estimates_count_the_inputs_events(monkeypatch):
    """The core copies X as events, 8 bytes per non-zero entry: dense input (smoothed rates) needs
    2 to 8 times X, and the estimates counted one offset per bin only (100-300 times too low)."""
    import motorsrnn._validation as validation

    rng = np.random.default_rng(0)
    sparse = (rng.random((200, 100, 50)) < 0.02).astype(np.float32)
    dense = rng.uniform(0.1, 1.0, sparse.shape).astype(np.float32)  # 1e6 non-zero entries: 8 MB of events
    assert est._events_bytes(dense) - est._events_bytes(sparse) == 8 * (dense.size - np.count_nonzero(sparse))
    clf = SpikingRNNClassifier(n_hidden=8, max_epochs=1, random_state=0).fit(sparse[:40], np.arange(40) % 4)
    monkeypatch.setattr(validation, "memory_limit", lambda: 4e6)
    assert clf.predict(sparse).shape == (200,)
    assert clf.simulate(sparse, membrane=False).spikes.shape[0] == 200
    for call in (clf.predict, lambda x: clf.simulate(x, membrane=False),
                 lambda x: clf.loss_and_grad(x, np.arange(200) % 4)):
        with pytest.raises(MemoryError, match="would need about"):
            call(dense)


def test_counting_the_inputs_events_stops_once_over_the_memory_limit(monkeypatch):
    """Counting the non-zero entries read all of X before the check could refuse it: fitting a
    broadcast view of 4 trials of 2**33 steps (no memory of its own) scanned 1.7e11 entries
    instead of refusing at once."""
    import motorsrnn._validation as validation

    ones = np.broadcast_to(np.ones((1, 1, 1), np.uint8), (10, 2**12, 2**12))  # 2**24 events a trial
    offsets, per_trial = est._offsets_bytes(ones), 8 * 2**24
    assert est._events_bytes(ones) == offsets + 10 * per_trial  # no limit reached: every trial counted
    monkeypatch.setattr(validation, "memory_limit", lambda: offsets + 3 * per_trial - 1)
    assert est._events_bytes(ones) == offsets + 3 * per_trial  # stopped after the block that crossed it
    monkeypatch.setattr(validation, "memory_limit", lambda: offsets - 1)
    assert est._events_bytes(ones) == offsets  # the offsets alone are too many: nothing read
    huge = np.broadcast_to(np.ones((1, 1, 1), np.uint8), (4, 2**33, 5))
    monkeypatch.setattr(validation, "memory_limit", lambda: 24 * 2**30)  # this project's machine
    assert est._events_bytes(huge) == est._offsets_bytes(huge)  # 275 GB of offsets: refused unread
    # one long trial is counted a block of steps at a time: it stops inside the trial
    long = np.broadcast_to(np.ones((1, 1, 1), np.uint8), (1, 2**22, 16))  # 2**26 events, 4 blocks of 2**24
    offsets = est._offsets_bytes(long)
    monkeypatch.setattr(validation, "memory_limit", lambda: offsets + 8 * 2**24 - 1)
    assert est._events_bytes(long) == offsets + 8 * 2**24
    monkeypatch.setattr(validation, "memory_limit", lambda: None)
    assert est._events_bytes(long) == offsets + 8 * 2**26


def test_saving_without_the_optimiser_is_estimated_without_it(data, tmp_path, monkeypatch):
    """save(include_optimizer=False) was refused with the estimate of a save with the optimiser's
    state (three times the parameters), and the advice (fewer hidden units) did not help a model
    that was already fitted."""
    import motorsrnn._validation as validation

    clf = SpikingRNNClassifier(n_hidden=32, max_epochs=1, random_state=0).fit(data.X[:40], data.y[:40])
    params = est._FLOAT * est._spec_sizes(json.loads(clf.network_.spec_json))["params"]
    monkeypatch.setattr(validation, "memory_limit", lambda: 10 * params)  # 5 copies fit, 15 do not
    clf.save(tmp_path / "no_optimizer.msrnn", include_optimizer=False)
    assert SpikingRNNClassifier.load(tmp_path / "no_optimizer.msrnn").network_.optimizer_steps is None
    with pytest.raises(MemoryError, match=r"with the optimiser's state .* include_optimizer=False\) stores about a third"):
        clf.save(tmp_path / "with_optimizer.msrnn")
    assert not (tmp_path / "with_optimizer.msrnn").exists()


@pytest.mark.skipif(not hasattr(os, "sysconf"), reason="simulates macOS and Windows from a POSIX system")
def test_the_memory_limit_is_known_without_proc_and_on_windows(monkeypatch):
    """Without /proc (macOS) the physical memory that os.sysconf gives was thrown away, and on
    Windows (no sysconf) nothing was tried: the memory checks were off, and a network too large
    for memory ended the process instead of raising MemoryError."""
    import builtins
    import sys

    import motorsrnn._validation as validation

    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    real_open = builtins.open

    def no_proc(path, *args, **kwargs):
        if str(path).startswith(("/proc", "/sys")):
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    validation._machine_limits.cache_clear()
    try:
        assert validation._machine_limits() == (physical,)  # macOS: physical memory alone
        monkeypatch.setattr(sys, "platform", "win32")
        monkeypatch.setattr(os, "sysconf", lambda name: (_ for _ in ()).throw(AttributeError(name)))
        monkeypatch.setattr(validation, "_windows_commit_limit", lambda: 3 * 2**30)
        validation._machine_limits.cache_clear()
        assert validation._machine_limits() == (3 * 2**30,)  # Windows: its commit limit
    finally:
        monkeypatch.undo()
        validation._machine_limits.cache_clear()
    assert validation._windows_commit_limit() is None  # not on Windows: no windll, no limit, no error
