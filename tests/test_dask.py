"""The scale-out recipe of docs/scale_out.md on a local Dask cluster: hyper-parameter search and
cross-validation over several recording sessions through joblib's "dask" backend give exactly the
results of the sequential run (training is deterministic for a given random_state).

Needs the optional ``dask[distributed]``; skipped without it.
"""

import joblib
import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed")

from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402

from motorsrnn import SpikingRNNClassifier  # noqa: E402
from motorsrnn.datasets import make_center_out  # noqa: E402

# n_jobs=1: the cluster parallelises over fits, so each estimator uses one thread (no oversubscription)
EST = dict(n_hidden=8, max_epochs=2, batch_size=8, random_state=0, n_jobs=1)
SESSIONS = [0, 1, 2]


def session(s):
    return make_center_out(n_trials=48, n_neurons=12, n_timesteps=20, random_state=s)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def _grid(X, y):
    gs = GridSearchCV(SpikingRNNClassifier(**EST), {"n_hidden": [4, 8]}, cv=2, n_jobs=-1, scoring="neg_log_loss")
    return gs.fit(X, y)


def _per_session_scores():
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    return {
        s: cross_val_score(SpikingRNNClassifier(**EST), session(s).X, session(s).y, cv=cv, n_jobs=-1, scoring="neg_log_loss")
        for s in SESSIONS
    }


def test_grid_search_on_dask_equals_sequential(client):
    d = session(0)
    with joblib.parallel_backend("sequential"):
        expected = _grid(d.X, d.y)
    with joblib.parallel_backend("dask"):
        got = _grid(d.X, d.y)
    assert np.isfinite(expected.cv_results_["mean_test_score"]).all()
    for k in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(got.cv_results_[k], expected.cv_results_[k], err_msg=k)
    assert got.best_params_ == expected.best_params_
    for k, w in expected.best_estimator_.get_weights().items():
        np.testing.assert_array_equal(got.best_estimator_.get_weights()[k], w, err_msg=k)


def test_cross_validation_over_sessions_on_dask_equals_sequential(client):
    with joblib.parallel_backend("sequential"):
        expected = _per_session_scores()
    with joblib.parallel_backend("dask"):
        got = _per_session_scores()
    for s in SESSIONS:
        assert got[s].shape == (3,) and np.isfinite(got[s]).all()
        np.testing.assert_array_equal(got[s], expected[s], err_msg=f"session {s}")
    # the sessions differ, so equal numbers are not an accident of identical inputs
    assert not np.array_equal(expected[0], expected[1])


def test_the_work_really_ran_on_the_workers(client):
    """The fits run in the worker processes (not silently in the client)."""
    d = session(1)
    fut = client.submit(lambda X, y: SpikingRNNClassifier(**EST).fit(X, y).get_weights(), d.X, d.y, pure=False)
    remote = fut.result(timeout=120)
    local = SpikingRNNClassifier(**EST).fit(d.X, d.y).get_weights()
    for k in local:
        np.testing.assert_array_equal(remote[k], local[k])
    worker_pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert len(worker_pids) == 2 and __import__("os").getpid() not in worker_pids
