"""Concurrency: joblib backends (loky, multiprocessing, threading), several estimators in Python
threads, the GIL released during numerical work, and fork safety after the Rust thread pool ran.

Training is deterministic (docs/model.md), so every parallel run must give *exactly* the numbers of
the sequential run, not just similar ones.
"""

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from motorsrnn import SpikingRNNClassifier
from motorsrnn.datasets import make_center_out

FAST = dict(n_hidden=8, max_epochs=1, batch_size=8, random_state=0)
GRID = {"n_hidden": [4, 8]}


@pytest.fixture(scope="module")
def data():
    d = make_center_out(n_trials=64, n_neurons=12, n_timesteps=20, random_state=0)
    return d.X, d.y


def _grid(X, y, n_jobs):
    # neg_log_loss: a continuous score, so any difference in the trained weights shows up
    gs = GridSearchCV(SpikingRNNClassifier(**FAST), GRID, cv=2, n_jobs=n_jobs, scoring="neg_log_loss")
    return gs.fit(X, y)


def _summary(gs):
    keys = ["split0_test_score", "split1_test_score", "mean_test_score"]
    return {k: np.asarray(gs.cv_results_[k]) for k in keys}, gs.best_params_, gs.best_estimator_.get_weights()


def _assert_same(a, b, what):
    scores_a, params_a, w_a = a
    scores_b, params_b, w_b = b
    for k in scores_a:
        np.testing.assert_array_equal(scores_a[k], scores_b[k], err_msg=f"{what}: {k}")
    assert params_a == params_b, what
    for k in w_a:
        np.testing.assert_array_equal(w_a[k], w_b[k], err_msg=f"{what}: best_estimator_ {k}")


@pytest.fixture(scope="module")
def sequential_grid(data):
    gs = _grid(*data, n_jobs=1)
    assert np.isfinite(gs.cv_results_["mean_test_score"]).all()
    return _summary(gs)


def test_grid_search_loky_default_backend(data, sequential_grid):
    _assert_same(_summary(_grid(*data, n_jobs=2)), sequential_grid, "loky")


@pytest.mark.parametrize("backend", ["multiprocessing", "threading"])
def test_grid_search_other_joblib_backends(data, sequential_grid, backend):
    with joblib.parallel_backend(backend):
        result = _summary(_grid(*data, n_jobs=2))
    _assert_same(result, sequential_grid, backend)


def test_cross_val_score_n_jobs_2(data):
    X, y = data
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    est = SpikingRNNClassifier(**FAST)
    seq = cross_val_score(est, X, y, cv=cv, n_jobs=1, scoring="neg_log_loss")
    par = cross_val_score(est, X, y, cv=cv, n_jobs=2, scoring="neg_log_loss")
    assert seq.shape == (3,) and np.isfinite(seq).all()
    np.testing.assert_array_equal(par, seq)


# ---------------------------------------------------------------------------------------------
# Several estimators in Python threads
# ---------------------------------------------------------------------------------------------
def _fit_weights(X, y, seed, n_jobs=2):
    est = SpikingRNNClassifier(n_hidden=32, max_epochs=4, batch_size=16, random_state=seed, n_jobs=n_jobs)
    return est.fit(X, y).get_weights()


def test_estimators_fitting_in_threads_do_not_interfere(data):
    X, y = data
    X, y = np.tile(X, (10, 1, 1)), np.tile(y, 10)  # long enough (~50 ms per fit) for the threads to overlap
    seeds = [0, 1, 2, 3, 0]  # a repeated seed: two threads train the very same model at once
    sequential = [_fit_weights(X, y, s) for s in seeds]
    with ThreadPoolExecutor(max_workers=len(seeds)) as ex:
        threaded = list(ex.map(lambda s: _fit_weights(X, y, s), seeds))
    for s, a, b in zip(seeds, sequential, threaded):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"seed {s}: {k}")
    # and the seeds really give different models (the comparison above is not vacuous)
    assert not np.array_equal(sequential[0]["w_in"], sequential[1]["w_in"])
    for k in sequential[0]:
        np.testing.assert_array_equal(threaded[0][k], threaded[4][k])


def test_predict_from_threads_matches_sequential(data):
    X, y = data
    clf = SpikingRNNClassifier(**FAST).fit(X, y)
    chunks = [X[i::4] for i in range(4)] * 2
    sequential = [(clf.predict(c), clf.decision_path(c), clf.simulate(c).membrane) for c in chunks]
    with ThreadPoolExecutor(max_workers=len(chunks)) as ex:
        threaded = list(ex.map(lambda c: (clf.predict(c), clf.decision_path(c), clf.simulate(c).membrane), chunks))
    for a, b in zip(sequential, threaded):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)


def test_loss_and_grad_while_other_threads_predict(data):
    """loss_and_grad set the network's bptt_window on every call, which borrows the network
    exclusively: every call failed with "Already borrowed" while other threads predicted."""
    X, y = data
    clf = SpikingRNNClassifier(**{**FAST, "n_jobs": 1}).fit(X, y)
    expected = clf.loss_and_grad(X, y)
    _gradients_while_others_simulate(clf, X, y, expected)


def _gradients_while_others_simulate(clf, X, y, expected):
    """20 calls of loss_and_grad while two threads simulate with the same estimator: each gives
    ``expected``."""
    big = np.ascontiguousarray(np.tile(X, (4, 1, 1)))

    def predicting():
        for _ in range(20):
            clf.simulate(big)

    with ThreadPoolExecutor(max_workers=3) as ex:
        others = [ex.submit(predicting) for _ in range(2)]
        results = ex.submit(lambda: [clf.loss_and_grad(X, y) for _ in range(20)]).result()
        for f in others:
            f.result()
    for loss, grads in results:
        assert loss == expected[0]
        for k, g in grads.items():
            np.testing.assert_array_equal(g, expected[1][k])


def test_loss_and_grad_with_a_changed_bptt_window_while_other_threads_predict(data):
    """After set_params(bptt_window=...), loss_and_grad set the new window on the shared network
    and failed with a bare "RuntimeError: Already borrowed" while another thread predicted."""
    X, y = data
    clf = SpikingRNNClassifier(**{**FAST, "n_jobs": 1}).fit(X, y)
    clf.set_params(bptt_window=3)
    expected = clf.loss_and_grad(X, y)
    assert clf.network_.bptt_window is None  # the fitted network keeps its own
    _gradients_while_others_simulate(clf, X, y, expected)


def test_gil_is_released_during_numerical_work(data):
    """While one thread runs a long call into the core, another Python thread keeps running."""
    X, y = data
    clf = SpikingRNNClassifier(**{**FAST, "n_jobs": 1}).fit(X, y)
    big = np.ascontiguousarray(np.tile(X, (40, 10, 1)))  # one long call, no Python callbacks
    t0 = time.perf_counter()
    clf.decision_path(big)
    solo = time.perf_counter() - t0
    if solo < 0.2:  # make the call long enough to measure
        big = np.ascontiguousarray(np.tile(big, (int(np.ceil(0.3 / solo)), 1, 1)))

    done = threading.Event()
    times = []

    def work():
        try:
            clf.decision_path(big)
        finally:
            done.set()

    worker = threading.Thread(target=work)
    start = time.perf_counter()
    worker.start()
    while not done.is_set():
        times.append(time.perf_counter())
        sum(range(200))  # pure-Python work that needs the GIL
    worker.join()
    duration = time.perf_counter() - start
    gaps = np.diff([start] + times)
    assert duration > 0.1
    assert gaps.max() < 0.5 * duration, (
        f"the main thread stalled for {gaps.max():.3f} s of a {duration:.3f} s call: the GIL is held"
    )


# ---------------------------------------------------------------------------------------------
# Fork safety
# ---------------------------------------------------------------------------------------------
def _child_fit_predict(seed):
    d = make_center_out(n_trials=48, n_neurons=12, n_timesteps=20, random_state=seed)
    clf = SpikingRNNClassifier(n_hidden=8, max_epochs=1, batch_size=8, random_state=seed, n_jobs=2)
    clf.fit(d.X, d.y)
    return clf.predict(d.X), clf.get_weights()["w_in"]


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this OS")
def test_fork_after_the_rust_pool_ran(data):
    X, y = data
    # the parent uses the core's thread pool (2 threads) right before forking
    SpikingRNNClassifier(**{**FAST, "n_jobs": 2}).fit(X, y).predict(X)
    expected = [_child_fit_predict(s) for s in (0, 1, 2)]
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(2)
    try:
        results = pool.map_async(_child_fit_predict, [0, 1, 2]).get(timeout=60)
    except multiprocessing.TimeoutError:
        pytest.fail("fork children deadlocked (no result within 60 s) after the parent used the core")
    finally:
        pool.terminate()
        pool.join()
    for (pe, we), (pr, wr) in zip(expected, results):
        np.testing.assert_array_equal(pr, pe)
        np.testing.assert_array_equal(wr, we)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this OS")
def test_fork_while_another_thread_is_fitting(data):
    """Forking while a parent thread is inside the core (its pool threads are busy) must not
    leave the child with a locked pool: the child builds its own."""
    X, y = data
    big_X = np.tile(X, (8, 1, 1))
    big_y = np.tile(y, 8)
    with ThreadPoolExecutor(1) as ex:
        fut = ex.submit(
            lambda: SpikingRNNClassifier(n_hidden=32, max_epochs=3, batch_size=8, random_state=0, n_jobs=2).fit(big_X, big_y)
        )
        time.sleep(0.05)
        ctx = multiprocessing.get_context("fork")
        pool = ctx.Pool(1)
        try:
            (pred, w), = pool.map_async(_child_fit_predict, [5]).get(timeout=60)
        except multiprocessing.TimeoutError:
            pytest.fail("fork child deadlocked while a parent thread was fitting")
        finally:
            pool.terminate()
            pool.join()
        fut.result(timeout=120)
    pe, we = _child_fit_predict(5)
    np.testing.assert_array_equal(pred, pe)
    np.testing.assert_array_equal(w, we)


def test_the_core_copies_targets_and_recorded_activity_before_releasing_the_gil(data):
    """fit read the caller's target and recorded-activity arrays in place, with the GIL released,
    for the whole run: a Python thread writing them meanwhile raced the core, and training used
    the new values from then on. The core now copies them first, so a write during fit (here,
    deterministically, from the epoch callback) changes nothing."""
    import json

    from motorsrnn import _core

    X, _ = data
    X = X.astype(np.uint8)
    spec = {"n_inputs": X.shape[2], "n_outputs": 2, "populations": [{"name": "h", "size": 8}],
            "projections": [{"source": "input", "target": "h"}, {"source": "h", "target": "h", "kind": "recurrent"},
                            {"source": "h", "target": "readout"}]}
    cfg = json.dumps(dict(learning_rate=1e-2, max_epochs=3, batch_size=16, seed=0))
    n, steps = X.shape[:2]
    rng = np.random.default_rng(1)

    def run(write):
        net = _core.Network(json.dumps(spec), 0)
        y = rng.standard_normal((n, 2)).astype(np.float32) if write is None else write[0]
        recorded = np.ascontiguousarray(rng.random((n, steps, 3)), np.float32) if write is None else write[1]
        y0, rec0 = y.copy(), recorded.copy()
        activity = (0, [0, 1, 2], recorded, ("exponential", 20.0, 1.0, 1000.0), 0.5, [1.0, 1.0, 1.0], False)

        def callback(info):
            if write is not None and info["event"] == "epoch":
                y[...] = 1e3  # in place, while fit runs
                recorded[...] = 0.0

        net.fit(X, y, None, None, cfg, 1, callback, False, activity)
        return net.get_weights(), (y0, rec0)

    expected, (y, recorded) = run(None)
    got, _ = run((y.copy(), recorded.copy()))
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_building_encoding_and_decoding_a_network_release_the_gil():
    """Network(...) (drawing the weights), to_bytes and from_bytes held the GIL: on a network of
    16 million weights every other Python thread stalled for each whole call."""
    import json

    from motorsrnn import _core

    spec = json.dumps({"n_inputs": 100, "n_outputs": 4, "populations": [{"name": "h", "size": 4000}],
                       "projections": [{"source": "input", "target": "h"},
                                       {"source": "h", "target": "h", "kind": "recurrent"},
                                       {"source": "h", "target": "readout"}]})
    made = {}

    def longest_stall(call):
        done = threading.Event()

        def work():
            try:
                call()
            finally:
                done.set()

        worker = threading.Thread(target=work)
        start = time.perf_counter()
        worker.start()
        times = []
        while not done.is_set():
            times.append(time.perf_counter())
            sum(range(200))  # pure-Python work that needs the GIL
        worker.join()
        duration = time.perf_counter() - start
        return max(np.diff([start] + times + [time.perf_counter()])), duration

    calls = {
        "Network()": lambda: made.update(net=_core.Network(spec, 0)),
        "to_bytes": lambda: made.update(data=made["net"].to_bytes("{}")),
        "from_bytes": lambda: made.update(back=_core.Network.from_bytes(made["data"])[0]),
    }
    for name, call in calls.items():
        gap, duration = longest_stall(call)
        assert gap < 0.5 * duration, f"{name}: the main thread stalled for {gap:.3f} s of a {duration:.3f} s call"
    np.testing.assert_array_equal(made["back"].get_weights()["h->h"], made["net"].get_weights()["h->h"])
