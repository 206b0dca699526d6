"""Incremental learning (``partial_fit``): each call is one more epoch, with the optimiser's state
and the shuffling carried over, so that k calls train exactly as ``fit`` with ``max_epochs=k``."""

import copy
import pickle

import numpy as np
import pytest

import motorsrnn
from motorsrnn import SpikingRNNClassifier, SpikingRNNRegressor
from motorsrnn.datasets import make_center_out


@pytest.fixture(scope="module")
def data():
    b = make_center_out(n_trials=50, n_neurons=10, n_timesteps=16, random_state=1)
    return b.X, b.y, np.stack([np.cos(b.angles), np.sin(b.angles)], axis=1)


def small(cls=SpikingRNNClassifier, **kw):
    return cls(**{"n_hidden": 10, "batch_size": 16, "random_state": 0, "max_epochs": 3, **kw})


def same_model(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)
    assert a.history_ == b.history_
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("kw", [{}, {"optimizer": "sgd"}, {"optimizer": "adamw", "weight_decay": 0.1},
                                {"spike_jitter": 2.0, "rate_weight": 0.1}])
def test_k_calls_train_as_fit_with_k_epochs(data, kw):
    X, y, Y = data
    w = 0.5 + np.arange(len(X)) % 3
    incremental = small(**kw)
    for _ in range(3):
        incremental.partial_fit(X, y, classes=np.unique(y), sample_weight=w)
    same_model(incremental, small(**kw).fit(X, y, sample_weight=w))
    reg = small(SpikingRNNRegressor, **kw)
    for _ in range(3):
        reg.partial_fit(X, Y)
    same_model(reg, small(SpikingRNNRegressor, **kw).fit(X, Y))


def test_partial_fit_continues_a_fit_and_its_optimiser_state(data, tmp_path):
    X, y, _ = data
    continued = small(max_epochs=2).fit(X, y).partial_fit(X, y)
    same_model(continued, small(max_epochs=3).fit(X, y))
    # the optimiser's state travels with the model: a pickled, deep-copied or saved and loaded
    # copy continues exactly as the original does
    start = small(max_epochs=2).fit(X, y)
    assert start.network_.optimizer_steps == 2 * 4  # 50 trials in batches of 16: 4 steps per epoch
    start.save(tmp_path / "with.msrnn")
    start.save(tmp_path / "without.msrnn", include_optimizer=False)
    assert (tmp_path / "without.msrnn").stat().st_size < (tmp_path / "with.msrnn").stat().st_size
    with pytest.raises(ValueError, match="include_optimizer"):
        start.save(tmp_path / "x.msrnn", include_optimizer="no")
    copies = [pickle.loads(pickle.dumps(start)), copy.deepcopy(start), motorsrnn.load(tmp_path / "with.msrnn")]
    without = motorsrnn.load(tmp_path / "without.msrnn")
    assert without.network_.optimizer_steps is None
    np.testing.assert_array_equal(without.predict_proba(X), start.predict_proba(X))
    fresh = without.partial_fit(X, y)
    kept = start.partial_fit(X, y)
    for c in copies:
        same_model(c.partial_fit(X, y), kept)
    assert not np.array_equal(fresh.get_weights()["w_rec"], kept.get_weights()["w_rec"])
    # a fit (also a warm start) starts a new optimiser state, as before partial_fit existed
    warm = small(max_epochs=2).fit(X, y).set_params(warm_start=True, max_epochs=1).fit(X, y)
    assert not np.array_equal(warm.get_weights()["w_rec"], kept.get_weights()["w_rec"])


@pytest.mark.parametrize("cls", [SpikingRNNClassifier, SpikingRNNRegressor])
def test_a_fit_resumes_from_its_checkpoint_as_if_never_stopped(data, tmp_path, cls):
    """A fit that stopped after a checkpoint (a crash, a closed notebook) goes on from the file:
    the checkpoint holds the optimiser's state of its epoch, and partial_fit replays the shuffles."""
    X, y, Y = data
    target = y if cls is SpikingRNNClassifier else Y
    path = tmp_path / "ckpt.msrnn"
    # the checkpoint of epoch 2 of a fit of 3 epochs, with spike jitter and trial weights
    kw = dict(spike_jitter=2.0, learning_rate=0.02)
    w = 1.0 + np.arange(len(X)) % 2
    small(cls, checkpoint_path=str(path), checkpoint_every=2, **kw).fit(X, target, sample_weight=w)
    resumed = motorsrnn.load(path).set_params(checkpoint_path=None)
    assert resumed.n_iter_ == 2 and resumed.network_.optimizer_steps == 2 * 4
    for _ in range(3):
        resumed.partial_fit(X, target, sample_weight=w)
    same_model(resumed, small(cls, max_epochs=5, **kw).fit(X, target, sample_weight=w))


def test_calls_on_new_trials_each_time(data):
    """The streaming use: every call brings new trials (of any number), weights keep changing,
    history_ and n_iter_ grow by one per call, and predictions use every class."""
    X, y, _ = data
    clf = small(learning_rate=0.02)
    for start in range(0, 50, 10):
        before = clf.get_weights()["w_out"].copy() if start else None
        clf.partial_fit(X[start:start + 10], y[start:start + 10], classes=[0, 1, 2, 3])
        if before is not None:
            assert not np.array_equal(before, clf.get_weights()["w_out"])
    assert clf.n_iter_ == 5 and len(clf.history_) == 5
    assert [h["epoch"] for h in clf.history_] == list(range(5))
    assert clf.classes_.tolist() == [0, 1, 2, 3]
    assert clf.predict_proba(X).shape == (50, 4)


def test_bad_calls_are_refused_and_change_nothing(data):
    X, y, Y = data
    with pytest.raises(ValueError, match="classes must be given in the first call"):
        small().partial_fit(X, y)
    with pytest.raises(ValueError, match=r"labels not among the classes: \[3\]"):
        small().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="at least 2 classes"):
        small().partial_fit(X[y == 0], y[y == 0], classes=[0])
    with pytest.raises(ValueError, match="does not support early_stopping"):
        small(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2, 3])
    clf = small().partial_fit(X, y, classes=[0, 1, 2, 3])
    before = clf.get_weights()
    with pytest.raises(ValueError, match="classes must be those of the previous calls"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="channels"):
        clf.partial_fit(X[:, :, :5], y)
    with pytest.raises(ValueError, match="not among the classes"):
        clf.partial_fit(X, y + 1)
    with pytest.raises(ValueError, match="sample_weight"):
        clf.partial_fit(X, y, sample_weight=np.zeros(len(X)))
    for k, v in clf.get_weights().items():
        np.testing.assert_array_equal(v, before[k])
    assert clf.n_iter_ == 1
    clf.partial_fit(X, y, classes=np.array([3, 2, 1, 0]))  # the same classes in another order: fine
    assert clf.n_iter_ == 2
    reg = small(SpikingRNNRegressor).partial_fit(X, Y)
    with pytest.raises(ValueError, match="partial_fit needs targets of the same kind .* 2 outputs"):
        reg.partial_fit(X, Y[:, :1])
    nan = np.full_like(Y, np.nan)
    with pytest.raises(ValueError, match="no observed value"):
        reg.partial_fit(X, nan)
    one_missing = Y.copy()
    one_missing[:, 1] = np.nan  # an output may be missing in a call
    reg.partial_fit(X, one_missing)
    assert reg.n_iter_ == 2


def test_per_step_targets_and_recorded_activity(data):
    """The regressor's per-step targets and activity matching go through partial_fit too, with
    the same equivalence to fit."""
    X, _, Y = data
    steps = np.repeat(Y[:, None, :], X.shape[1], axis=1)
    R = np.random.default_rng(0).poisson(2.0, X.shape[:2] + (3,)).astype(np.float64)
    kw = dict(activity_weight=0.01, activity_normalize=True)
    reg = small(SpikingRNNRegressor, **kw)
    for _ in range(3):
        reg.partial_fit(X, steps, neural_targets=R)
    same_model(reg, small(SpikingRNNRegressor, **kw).fit(X, steps, neural_targets=R))


def test_the_optimiser_state_starts_anew_when_the_weights_are_not_its_own(data, tmp_path):
    """After set_weights, or a fit that went back to an earlier epoch (early stopping), the next
    call starts a new optimiser state, as a model saved without its state does; otherwise it
    continues."""
    X, y, _ = data

    def next_call_is_fresh(est):
        est.save(tmp_path / "m.msrnn", include_optimizer=False)
        fresh = motorsrnn.load(tmp_path / "m.msrnn").partial_fit(X, y)
        est.partial_fit(X, y)
        return np.array_equal(fresh.get_weights()["w_rec"], est.get_weights()["w_rec"])

    assert not next_call_is_fresh(small(max_epochs=2).fit(X, y))
    est = small(max_epochs=2).fit(X, y)
    assert next_call_is_fresh(est.set_weights(est.get_weights()))
    stopped = small(max_epochs=8, early_stopping=True, n_iter_no_change=2, learning_rate=0.05).fit(X, y)
    assert stopped.best_epoch_ < stopped.n_iter_ - 1, "the test needs a fit that went back to an earlier epoch"
    assert stopped.network_.optimizer_steps is None
    assert next_call_is_fresh(stopped.set_params(early_stopping=False))


def test_settings_may_change_between_calls_but_not_the_network(data):
    X, y, _ = data
    clf = small().partial_fit(X, y, classes=np.unique(y))
    clf.set_params(optimizer="sgd", learning_rate=0.01, batch_size=7).partial_fit(X, y)
    assert clf.n_iter_ == 2
    with pytest.raises(ValueError, match=r"partial_fit continues the fitted network .* n_hidden|partial_fit continues"):
        clf.set_params(n_hidden=12).partial_fit(X, y)
    assert clf.n_iter_ == 2


def test_progress_checkpoints_and_divergence_count_the_calls(data, tmp_path, capsys):
    """verbose and checkpoint_every count the epochs of history_ across calls; a first batch that
    diverges keeps the weights the call started from, and the error says so."""
    X, y, _ = data
    path = tmp_path / "ckpt.msrnn"
    clf = small(verbose=2, checkpoint_path=str(path), checkpoint_every=2)
    clf.partial_fit(X, y, classes=np.unique(y))
    assert not path.exists()
    clf.partial_fit(X, y)
    assert len(motorsrnn.load(path).history_) == 2
    clf.partial_fit(X, y)
    out = capsys.readouterr().out
    assert "epoch 3: loss" in out and "epoch 1: loss" in out
    assert len(motorsrnn.load(path).history_) == 2  # the third epoch is not a multiple of 2
    clf.set_params(verbose=0, checkpoint_path=None)
    # readout weights that overflow: the call's first batch already has a non-finite loss
    start = dict(clf.get_weights(), w_out=np.full_like(clf.get_weights()["w_out"], 3e38))
    clf.set_weights(start)
    with pytest.raises(motorsrnn.TrainingDivergedError, match=r"epoch 3 .* batch 0; the estimator keeps the "
                                                               "weights it started this call from"):
        clf.partial_fit(X, y)
    for k, v in clf.get_weights().items():
        np.testing.assert_array_equal(v, start[k], err_msg=k)


def test_ctrl_c_inside_a_call_stops_the_loop_and_keeps_nothing_of_it(data):
    """Ctrl-C (a KeyboardInterrupt from the callback, as the core sees one) before a call's epoch
    ends leaves the estimator as before the call and raises, so a loop of calls stops; the next
    call still trains as the next epoch of fit. A callback returning False does the same with a
    warning; a Ctrl-C at the end of the epoch keeps the epoch and raises."""
    X, y, _ = data

    def ctrl_c_at(event, batch=0):
        def callback(info):
            if info["event"] == event and info.get("batch", 0) == batch:
                raise KeyboardInterrupt
        return callback

    clf = small().partial_fit(X, y, classes=np.unique(y))
    before, history = clf.get_weights(), list(clf.history_)
    with pytest.raises(KeyboardInterrupt, match="before its epoch ended"):
        clf.set_params(callback=ctrl_c_at("batch", 1)).partial_fit(X, y)
    with pytest.warns(RuntimeWarning, match="callback stopped partial_fit before its epoch ended"):
        clf.set_params(callback=lambda info: False).partial_fit(X, y)
    assert clf.history_ == history and clf.n_iter_ == 1
    for k, v in clf.get_weights().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    with pytest.raises(KeyboardInterrupt, match="after its epoch ended; the estimator keeps it"):
        clf.set_params(callback=ctrl_c_at("epoch")).partial_fit(X, y)
    assert clf.n_iter_ == 2
    clf.set_params(callback=None).partial_fit(X, y)
    same_model(clf, small().fit(X, y))  # 3 epochs, as if nothing had been interrupted
    fresh = small(callback=ctrl_c_at("batch", 1))
    with pytest.raises(KeyboardInterrupt):
        fresh.partial_fit(X, y, classes=np.unique(y))
    assert not hasattr(fresh, "network_") and not hasattr(fresh, "classes_")


def test_the_first_call_sets_names_and_shapes(data):
    pd = pytest.importorskip("pandas")
    X, y, Y = data
    counts = pd.DataFrame(X.sum(axis=1), columns=[f"unit{i}" for i in range(X.shape[2])])
    clf = small().partial_fit(counts, y, classes=np.unique(y))
    with pytest.warns(UserWarning, match="feature names"):
        clf.partial_fit(counts.to_numpy(), y)
    assert list(clf.feature_names_in_) == list(counts.columns)
    reg = small(SpikingRNNRegressor).partial_fit(X, Y[:, 0])
    reg.partial_fit(X, Y[:, :1])
    assert reg.predict(X).shape == (len(X),)
    with pytest.raises(ValueError, match="classes must be a 1-D array"):
        small().partial_fit(X, y, classes=[[0, 1], [2, 3]])
    with pytest.raises(ValueError, match="None or NaN in classes"):
        small().partial_fit(X, y, classes=[0, 1, 2, None])
