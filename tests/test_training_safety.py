"""Resuming (warm_start), checkpoints, and per-epoch network snapshots."""

import re
import signal
import warnings

import numpy as np
import pytest

from motorsrnn import SpikingRNNClassifier, load
from motorsrnn.datasets import make_center_out

FAST = dict(n_hidden=16, batch_size=16, random_state=0, learning_rate=0.01)


@pytest.fixture(scope="module")
def data():
    return make_center_out(n_trials=96, n_neurons=12, random_state=2)


def test_warm_start_continues_from_the_current_weights(data):
    clf = SpikingRNNClassifier(**FAST, max_epochs=2).fit(data.X, data.y)
    w2 = clf.get_weights()
    clf.set_params(warm_start=True).fit(data.X, data.y)
    assert [h["epoch"] for h in clf.history_] == [0, 1, 2, 3] and clf.n_iter_ == 4
    assert not np.array_equal(clf.get_weights()["w_in"], w2["w_in"])
    # a cold start of 2 epochs gives back the 2-epoch weights: warm_start really continued
    cold = SpikingRNNClassifier(**FAST, max_epochs=2).fit(data.X, data.y)
    np.testing.assert_array_equal(cold.get_weights()["w_in"], w2["w_in"])
    with pytest.raises(ValueError, match="warm_start needs the classes"):
        clf.fit(data.X, np.where(data.y == 3, 7, data.y))
    with pytest.raises(ValueError, match="X has 11 features"):
        clf.fit(data.X[:, :, :11], data.y)


def test_a_callback_that_raises_keeps_the_epochs_trained_and_reraises(data, tmp_path):
    """A callback's exception (a bug in a logging callback) used to discard the whole fit, or on a
    warm start every epoch trained in it. Now fit stores the network as a Ctrl-C at the same point
    would (stop_reason_ "callback_error"), warns, and re-raises; only when no epoch of the fit has
    completed is the estimator left as it was."""
    from sklearn.base import clone

    clf = SpikingRNNClassifier(**FAST, max_epochs=2).fit(data.X, data.y)
    twin = clone(clf).fit(data.X, data.y)

    def failing(info):
        if info["event"] == "epoch" and info["epoch"] == 2:
            raise RuntimeError("user code failed")

    clf.set_params(warm_start=True, max_epochs=5, callback=failing)
    with pytest.warns(RuntimeWarning, match=r"callback raised RuntimeError after 5 complete epoch\(s\)"):
        with pytest.raises(RuntimeError, match="user code failed"):
            clf.fit(data.X, data.y)
    assert clf.n_iter_ == 5 and [h["epoch"] for h in clf.history_] == [0, 1, 2, 3, 4]
    assert clf.stop_reason_ == "callback_error"
    # the same weights as a callback returning False at that event (a clean stop)
    twin.set_params(warm_start=True, max_epochs=5, callback=lambda info: not (info["event"] == "epoch"
                                                                             and info["epoch"] == 2))
    with pytest.warns(RuntimeWarning, match="interrupted after 5"):
        twin.fit(data.X, data.y)
    assert twin.stop_reason_ == "interrupted" and twin.history_ == clf.history_
    assert all(np.array_equal(v, twin.get_weights()[k]) for k, v in clf.get_weights().items())
    # a fresh fit keeps its epochs too, and the kept model saves and loads
    fresh = SpikingRNNClassifier(**FAST, max_epochs=5, callback=failing)
    with pytest.warns(RuntimeWarning, match="after 3 complete"), pytest.raises(RuntimeError):
        fresh.fit(data.X, data.y)
    assert fresh.n_iter_ == 3 and fresh.stop_reason_ == "callback_error"
    fresh.save(tmp_path / "kept.msrnn")
    back = load(tmp_path / "kept.msrnn")
    assert back.stop_reason_ == "callback_error" and back.history_ == fresh.history_
    np.testing.assert_array_equal(back.predict_proba(data.X), fresh.predict_proba(data.X))
    # raising before the first epoch completes keeps the previous fit, weights and history
    done = SpikingRNNClassifier(**FAST, max_epochs=2).fit(data.X, data.y)
    before, history = done.get_weights(), list(done.history_)
    done.set_params(callback=lambda info: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        done.fit(data.X, data.y)
    assert done.history_ == history and done.stop_reason_ == "max_epochs"
    assert all(np.array_equal(v, before[k]) for k, v in done.get_weights().items())
    # with warnings as errors (pytest -W error, CI), the callback's exception still comes out
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match="user code failed"):
            SpikingRNNClassifier(**FAST, max_epochs=5, callback=failing).fit(data.X, data.y)


def test_ctrl_c_during_the_checks_after_training_keeps_the_result(data, monkeypatch):
    """A Ctrl-C that came after the last batch, while fit simulated the fitted network to check
    its activity, escaped fit as KeyboardInterrupt (after a fresh fit it could discard the trained
    network); now fit keeps the result, skips the checks and says so."""
    import motorsrnn.estimators as est

    def interrupted(self, X):
        raise KeyboardInterrupt

    monkeypatch.setattr(est._SpikingRNNBase, "_warn_if_abnormal_activity", interrupted)
    with pytest.warns(RuntimeWarning, match=r"Ctrl-C came after the last batch: training had ended \('max_epochs', 3"):
        clf = SpikingRNNClassifier(**FAST, max_epochs=3).fit(data.X, data.y)
    assert clf.n_iter_ == 3 and clf.stop_reason_ == "max_epochs"
    monkeypatch.undo()
    ref = SpikingRNNClassifier(**FAST, max_epochs=3).fit(data.X, data.y)
    assert all(np.array_equal(v, ref.get_weights()[k]) for k, v in clf.get_weights().items())


def _ctrl_c_at(code_line: str):
    """A trace function that raises KeyboardInterrupt (as Ctrl-C would) the first time
    ``_run_training`` reaches the line containing ``code_line``."""
    import inspect
    import sys

    import motorsrnn.estimators as est

    src, start = inspect.getsourcelines(est._SpikingRNNBase._run_training)
    line = start + next(i for i, text in enumerate(src) if code_line in text)

    def tracer(frame, event, arg):
        if frame.f_code is not est._SpikingRNNBase._run_training.__code__:
            return None

        def local(frame, event, arg):
            if event == "line" and frame.f_lineno == line:
                sys.settrace(None)
                frame.f_trace = None
                raise KeyboardInterrupt
            return local
        return local
    return tracer


def test_ctrl_c_before_the_result_is_stored_keeps_it(data):
    """A Ctrl-C after the core's fit returned, while the history was being assembled, escaped fit
    as KeyboardInterrupt with nothing stored: the finished training was lost."""
    import sys

    ref = SpikingRNNClassifier(**FAST, max_epochs=3).fit(data.X, data.y)
    clf = SpikingRNNClassifier(**FAST, max_epochs=3)
    sys.settrace(_ctrl_c_at("full_history = previous"))
    try:
        with pytest.warns(RuntimeWarning, match="Ctrl-C came after the last batch"):
            clf.fit(data.X, data.y)
    finally:
        sys.settrace(None)
    assert clf.n_iter_ == 3 and clf.stop_reason_ == "max_epochs" and clf.history_ == ref.history_
    assert all(np.array_equal(v, ref.get_weights()[k]) for k, v in clf.get_weights().items())
    # partial_fit keeps its epoch and raises, so that a loop of calls stops
    inc = SpikingRNNClassifier(**FAST)
    sys.settrace(_ctrl_c_at("full_history = previous"))
    try:
        with pytest.raises(KeyboardInterrupt, match="after its epoch ended; the estimator keeps it"):
            inc.partial_fit(data.X, data.y, classes=np.unique(data.y))
    finally:
        sys.settrace(None)
    assert inc.n_iter_ == 1


def test_warm_start_refuses_parameters_that_describe_another_network(data):
    clf = SpikingRNNClassifier(**FAST, max_epochs=1).fit(data.X, data.y)
    before = clf.get_weights()
    for change in (dict(n_hidden=32), dict(architecture="fsnn"), dict(readout="last"), dict(tau_mem=10.0),
                   dict(recurrent_lr_scale=1.0)):
        with pytest.raises(ValueError, match="warm_start continues the fitted network") as e:
            SpikingRNNClassifier(**FAST, max_epochs=1).fit(data.X, data.y).set_params(
                warm_start=True, **change).fit(data.X, data.y)
        key = {"n_hidden": "populations", "architecture": "projections", "readout": "readout",
               "tau_mem": "populations", "recurrent_lr_scale": "projections"}[next(iter(change))]
        assert key in str(e.value).split("differs in: ")[1].split(")")[0].split(", ")
    # what only set the initial weights, and training settings, may change
    clf.set_params(warm_start=True, input_scale=3.0, learning_rate=0.02, batch_size=8).fit(data.X, data.y)
    assert clf.n_iter_ == 2 and not np.array_equal(clf.get_weights()["w_in"], before["w_in"])


def test_warm_start_with_early_stopping_keeps_weights_no_epoch_beats(data):
    """With a tolerance no epoch can meet, a fresh fit keeps its first epoch, and a warm start keeps
    the weights it started from (and their best_epoch_); an ordinary warm start still moves on."""
    es = dict(FAST, early_stopping=True, validation_fraction=0.25, n_iter_no_change=2)
    clf = SpikingRNNClassifier(**es, max_epochs=3).fit(data.X, data.y)
    assert clf.best_epoch_ is not None
    start, start_best = clf.get_weights(), clf.best_epoch_
    clf.set_params(warm_start=True, tol=1e9).fit(data.X, data.y)
    assert clf.n_iter_ == 3 + 2 and clf.stop_reason_ == "early_stopping"
    assert clf.best_epoch_ == start_best
    for k, w in start.items():
        np.testing.assert_array_equal(clf.get_weights()[k], w)
    fresh = SpikingRNNClassifier(**es, max_epochs=3, tol=1e9).fit(data.X, data.y)
    assert fresh.best_epoch_ == 0
    clf.set_params(tol=0.0, learning_rate=0.02).fit(data.X, data.y)
    vl = [h["val_loss"] for h in clf.history_]
    if min(vl[5:]) < vl[start_best]:  # an epoch of this call beat the start: the best of them is kept
        assert clf.best_epoch_ == 5 + int(np.argmin(vl[5:]))
        assert not np.array_equal(clf.get_weights()["w_in"], start["w_in"])
    else:  # none did (the case with these seeds): the start is kept again
        assert clf.best_epoch_ == start_best
        np.testing.assert_array_equal(clf.get_weights()["w_in"], start["w_in"])


def test_a_fit_that_fails_its_checks_leaves_the_estimator_as_it_was(data, tmp_path):
    from motorsrnn import SpikingRNNRegressor

    clf = SpikingRNNClassifier(**FAST, max_epochs=1).fit(data.X, data.y)
    proba = clf.predict_proba(data.X)
    words = np.array(["left", "right"])[data.y % 2]
    R = np.ones(data.X.shape[:2] + (2,))
    with pytest.raises(ValueError, match="not a population"):
        clf.fit(data.X, words, neural_targets=R, neural_population="nope")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        clf.set_params(checkpoint_path=tmp_path / "missing" / "ck.msrnn").fit(data.X, words)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2, 3])
    np.testing.assert_array_equal(clf.predict_proba(data.X), proba)
    reg = SpikingRNNRegressor(**FAST, max_epochs=1).fit(data.X, np.stack([data.y] * 3, axis=1).astype(float))
    pred = reg.predict(data.X)
    with pytest.raises(ValueError, match="neural_units"):
        reg.fit(data.X, data.y.astype(float), neural_targets=R, neural_units=[0, 99])
    assert reg.n_outputs_ == 3 and not reg.per_step_
    np.testing.assert_array_equal(reg.predict(data.X), pred)


def test_a_fit_that_fails_in_the_core_or_a_callback_keeps_labels_and_network_together(data):
    """Errors raised after the Python checks (the core's check of the validation split, a user
    callback) leave classes_ / n_outputs_ matching the network that is kept."""
    from motorsrnn import SpikingRNNRegressor

    clf = SpikingRNNClassifier(**FAST, max_epochs=1).fit(data.X, data.y)
    proba = clf.predict_proba(data.X)

    def fail(info):
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        clf.set_params(callback=fail).fit(data.X, np.array(["a", "b", "c"])[data.y % 3])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2, 3])
    np.testing.assert_array_equal(clf.set_params(callback=None).predict_proba(data.X), proba)

    reg = SpikingRNNRegressor(**FAST, max_epochs=1).fit(data.X, np.stack([data.y] * 3, axis=1).astype(float))
    pred = reg.predict(data.X)
    y = np.where(np.arange(len(data.y)) % 2 == 0, np.nan, 1.0)  # group 0's targets all missing
    with pytest.raises(ValueError, match="no observed"):
        reg.set_params(early_stopping=True, validation_fraction=0.5).fit(
            data.X, y, groups=np.arange(len(data.y)) % 2)
    assert reg.n_outputs_ == 3 and not reg._y_1d
    np.testing.assert_array_equal(reg.predict(data.X), pred)


def test_interrupting_a_warm_start_that_kept_its_start_says_so(data):
    es = dict(FAST, early_stopping=True, validation_fraction=0.25)
    clf = SpikingRNNClassifier(**es, max_epochs=2).fit(data.X, data.y)
    start = clf.get_weights()
    stop_after_first = lambda info: not (info["event"] == "epoch")  # noqa: E731
    with pytest.warns(RuntimeWarning, match="keeps the weights of the best validation epoch"):
        clf.set_params(warm_start=True, tol=1e9, callback=stop_after_first).fit(data.X, data.y)
    np.testing.assert_array_equal(clf.get_weights()["w_in"], start["w_in"])


def test_a_checkpoint_that_cannot_be_written_does_not_end_training(data, tmp_path, monkeypatch):
    import motorsrnn.estimators as est

    def full_disk(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(est, "_write_atomic", full_disk)
    with pytest.warns(RuntimeWarning, match="could not write the checkpoint.*No space left") as record:
        clf = SpikingRNNClassifier(**FAST, max_epochs=3, checkpoint_path=tmp_path / "ck.msrnn").fit(data.X, data.y)
    assert clf.n_iter_ == 3 and clf.stop_reason_ == "max_epochs"
    assert sum("could not write" in str(w.message) for w in record) == 1  # said once, not every epoch


def test_warnings_point_at_the_users_fit_call(data, tmp_path, monkeypatch):
    """Each warning of fit names this file, where fit was called, not a line inside the package."""
    import motorsrnn.estimators as est
    from sklearn.exceptions import ConvergenceWarning

    def where(category, match, **kwargs):
        with pytest.warns(category, match=match) as record:
            SpikingRNNClassifier(**dict(FAST, max_epochs=2, **kwargs)).fit(data.X, data.y)
        return {w.filename for w in record if category is w.category or issubclass(w.category, category)}

    assert where(RuntimeWarning, "interrupted", callback=lambda info: False) == {__file__}
    assert where(ConvergenceWarning, "fires no spike", threshold=1e6) == {__file__}
    with pytest.warns(UserWarning, match="holds out whole groups") as record:
        SpikingRNNClassifier(**dict(FAST, max_epochs=1, early_stopping=True)).fit(
            data.X, data.y, groups=np.arange(len(data.y)) % 3)
    assert {w.filename for w in record if "whole groups" in str(w.message)} == {__file__}
    monkeypatch.setattr(est, "_write_atomic", lambda path, b: (_ for _ in ()).throw(OSError("disk full")))
    assert where(RuntimeWarning, "could not write", checkpoint_path=tmp_path / "ck.msrnn") == {__file__}


def test_checkpoints_are_written_and_resume(tmp_path, data):
    path = tmp_path / "ckpt.msrnn"
    clf = SpikingRNNClassifier(**FAST, max_epochs=3, checkpoint_path=path, checkpoint_every=2).fit(data.X, data.y)
    ckpt = load(path)
    assert ckpt.stop_reason_ == "checkpoint" and len(ckpt.history_) == 2
    assert ckpt.history_ == clf.history_[:2]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.msrnn"]  # no temporary file left
    # the checkpoint holds the weights after epoch 2
    two = SpikingRNNClassifier(**FAST, max_epochs=2).fit(data.X, data.y)
    np.testing.assert_array_equal(ckpt.get_weights()["w_rec"], two.get_weights()["w_rec"])
    resumed = ckpt.set_params(warm_start=True, max_epochs=1, checkpoint_path=None).fit(data.X, data.y)
    assert len(resumed.history_) == 3 and resumed.history_[-1]["epoch"] == 2
    assert resumed.score(data.X, data.y) > 0.25


def test_early_stopping_checkpoints_hold_the_best_epoch_so_far(tmp_path, data):
    """With early stopping, a checkpoint held the latest epoch's weights: after a crash, the
    documented resume (load, warm_start) could not get the best epoch back, and the resumed
    model's best_epoch_ was worse than an epoch in its own history (audit, twenty-first session).
    A checkpoint now holds what an interrupted fit keeps: the best epoch so far."""
    es = dict(FAST, early_stopping=True, n_iter_no_change=50, learning_rate=0.02)
    full = SpikingRNNClassifier(**es, max_epochs=12).fit(data.X, data.y)
    assert full.best_epoch_ < full.n_iter_ - 1  # a later epoch was worse: the case at stake
    path = tmp_path / "ckpt.msrnn"
    seen = []

    def record_best(info):
        if info["event"] == "epoch":
            seen.append(info["best_epoch"])

    SpikingRNNClassifier(**es, max_epochs=12, checkpoint_path=path, callback=record_best).fit(data.X, data.y)
    assert seen[-1] == full.best_epoch_ and all(b is not None and 0 <= b <= i for i, b in enumerate(seen))
    ckpt = load(path)  # written after the last epoch
    assert ckpt.stop_reason_ == "checkpoint" and ckpt.best_epoch_ == full.best_epoch_
    assert ckpt.history_ == full.history_
    for k, w in full.get_weights().items():
        np.testing.assert_array_equal(ckpt.get_weights()[k], w)
    # a warm start whose epochs never beat its starting weights checkpoints those, with their epoch
    ckpt.set_params(warm_start=True, max_epochs=2, tol=1e9, checkpoint_path=path, checkpoint_every=1,
                    callback=record_best).fit(data.X, data.y)
    assert seen[-2:] == [-1, -1]
    again = load(path)
    assert again.best_epoch_ == full.best_epoch_ and again.n_iter_ == full.n_iter_ + 2
    for k, w in full.get_weights().items():
        np.testing.assert_array_equal(again.get_weights()[k], w)


def test_interrupted_fit_leaves_its_last_checkpoint(tmp_path, data):
    path = tmp_path / "ckpt.msrnn"

    def stop_in_epoch_two(info):
        return not (info["event"] == "batch" and info["epoch"] == 2)

    with pytest.warns(RuntimeWarning, match="interrupted"):
        SpikingRNNClassifier(**FAST, max_epochs=5, checkpoint_path=path, callback=stop_in_epoch_two).fit(data.X, data.y)
    assert len(load(path).history_) == 2


@pytest.mark.parametrize("false", [False, np.False_])
def test_a_callback_returning_false_stops_training(data, false):
    """NumPy's False (e.g. ``np.mean(...) < target``) stops training as Python's does; None and
    True do not."""
    stop = lambda info: false if info["event"] == "epoch" else None  # noqa: E731
    with pytest.warns(RuntimeWarning, match="interrupted"):
        clf = SpikingRNNClassifier(**FAST, max_epochs=4, callback=stop).fit(data.X, data.y)
    assert clf.n_iter_ == 1 and clf.stop_reason_ == "interrupted"
    clf = SpikingRNNClassifier(**FAST, max_epochs=2, callback=lambda info: np.True_).fit(data.X, data.y)
    assert clf.n_iter_ == 2 and clf.stop_reason_ == "max_epochs"


def test_epoch_callbacks_receive_network_snapshots(data):
    snaps = []

    def keep(info):
        if info["event"] == "epoch":
            snaps.append(info["network"].get_weights()["w_in"])

    clf = SpikingRNNClassifier(**FAST, max_epochs=3, callback=keep).fit(data.X, data.y)
    assert len(snaps) == 3
    assert not np.array_equal(snaps[0], snaps[1])
    np.testing.assert_array_equal(snaps[-1], clf.get_weights()["w_in"])


@pytest.mark.parametrize("param, value, match", [("checkpoint_every", 0, "checkpoint_every"), ("warm_start", "yes", "warm_start"), ("checkpoint_path", 3, "checkpoint_path")])
def test_bad_options(data, param, value, match):
    with pytest.raises(ValueError, match=match):
        SpikingRNNClassifier(**FAST, max_epochs=1, **{param: value}).fit(data.X, data.y)


def test_saturated_network_warns_after_fit():
    """Training that ends with a population firing in most time bins (a run-away without any
    non-finite value) is reported, naming the population and what to change; a normal fit is not."""
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(0)
    X = (rng.random((40, 30, 8)) < 0.05).astype(np.uint8)  # 50 Hz per channel
    y = np.arange(40) % 2
    with pytest.warns(ConvergenceWarning, match=r"population 'h' fires in .* learning_rate") as rec:
        SpikingRNNClassifier(n_hidden=8, input_scale=50.0, max_epochs=1, learning_rate=1e-6, random_state=0).fit(X, y)
    assert not any("spike counts per bin" in str(w.message) for w in rec)  # 50 Hz input: no hint about X
    # rates in Hz given as X (a smoothed rate x 1000): the warning also points at the input
    with pytest.warns(ConvergenceWarning, match=r"fires in .* X holds 50 per bin and channel on average \(50000 Hz "
                                                 r"at dt=1 ms\).*rather than spike counts per bin"):
        SpikingRNNClassifier(n_hidden=8, max_epochs=1, random_state=0).fit(np.full((40, 30, 8), 50.0), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = SpikingRNNClassifier(n_hidden=8, max_epochs=2, random_state=0).fit(X, y)
    assert clf.simulate(X)["spikes"].mean() < 0.3



def test_the_saturation_threshold_is_a_rate_and_wide_bins_at_dt_1_get_a_hint():
    """BCI user-journey audit, nineteenth session: with 10 ms bins (dt=10) a network firing in 31 %
    of its bins (31 Hz) was called saturated, as the threshold was 30 % of bins whatever dt; and
    10 ms bins fitted at the default dt=1 failed with advice about epochs and learning rates only."""
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(0)
    X = (rng.random((40, 30, 8)) < 0.05).astype(np.uint8)
    y = np.arange(40) % 2
    fast = dict(n_hidden=8, input_scale=50.0, max_epochs=1, learning_rate=1e-6, random_state=0)
    clf = SpikingRNNClassifier(**fast)
    with pytest.warns(ConvergenceWarning, match="fires in"):
        clf.fit(X, y)
    share = float(clf.simulate(X)["spikes"].mean())
    assert 0.3 < share < 0.9, share  # saturated at dt=1 (above 300 Hz) ...
    with warnings.catch_warnings(record=True) as caught:  # ... a normal rate in bins of 10 ms
        warnings.simplefilter("always")
        SpikingRNNClassifier(**fast, dt=10.0).fit(X, y)
    assert not [w for w in caught if "fires in" in str(w.message)]
    # counts of 10 ms bins (about 1.5 spikes per bin and channel) at the default dt=1
    wide = rng.poisson(1.5, size=(40, 30, 8)).astype(np.uint8)
    hint = r"If the bins of X are wider than 1 ms, set dt to their width in ms \(e.g. dt=10.0"
    with pytest.warns(ConvergenceWarning, match=hint):
        SpikingRNNClassifier(n_hidden=8, max_epochs=1, learning_rate=1e-6, random_state=0).fit(wide, y)


@pytest.mark.parametrize("optimizer, weight_decay, advice", [("adam", 0.0, False), ("adam", 0.01, True), ("adamw", 0.01, False)])
def test_silent_readout_population_warns_after_fit(optimizer, weight_decay, advice):
    """A fit that ends with the read-out population silent (every trial gets the same prediction) is
    reported, naming the population; the weight-decay advice appears only where it applies (coupled
    L2 under Adam)."""
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(0)
    X = (rng.random((40, 30, 8)) < 0.05).astype(np.uint8)
    y = np.arange(40) % 2
    clf = SpikingRNNClassifier(n_hidden=8, input_scale=1e-4, max_epochs=1, learning_rate=1e-6, random_state=0,
                               optimizer=optimizer, weight_decay=weight_decay)
    with pytest.warns(ConvergenceWarning, match=r"population 'h', which the readout reads, fires no spike in 40") as rec:
        clf.fit(X, y)
    assert not clf.simulate(X)["spikes"].any()
    assert len(set(clf.predict(X))) == 1
    messages = " ".join(str(w.message) for w in rec)
    assert ("optimizer='adamw'" in messages) == advice


def test_one_silent_readout_population_among_several_does_not_warn():
    """The readout reads two populations and only one is silent: predictions still differ between
    trials, so fit does not claim they cannot."""
    from sklearn.exceptions import ConvergenceWarning

    from motorsrnn.topology import Population, Projection, Topology

    rng = np.random.default_rng(0)
    X = (rng.random((40, 30, 8)) < 0.05).astype(np.uint8)
    y = np.arange(40) % 2
    topo = Topology(
        populations=[Population("h", 16), Population("Z", 4)],
        projections=[Projection("input", "h"), Projection("h", "readout"), Projection("Z", "readout")],
    )
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        clf = SpikingRNNClassifier(architecture=topo, max_epochs=2, random_state=0).fit(X, y)
    spikes = clf.network_.simulate(X, False, 1)[0]
    assert not spikes[1].any() and spikes[0].any()  # Z silent, h firing
    assert not [w for w in rec if issubclass(w.category, ConvergenceWarning) and "fires no spike" in str(w.message)]


@pytest.mark.parametrize("kind", ["classifier", "regressor per trial", "regressor per step"])
def test_a_fit_worse_than_a_constant_warns(data, kind):
    """Readout weights initialised at output_scale=1e20 trained to an enormous loss without a
    non-finite value (found by fuzzing): fit says the network fits its training trials worse than a
    constant prediction and names the cause; the same fit at the default scale does not."""
    from sklearn.exceptions import ConvergenceWarning

    from motorsrnn import SpikingRNNRegressor

    # the regressor's squared error at 1e20 overflows float32: a TrainingDivergedError instead
    scale = 1e20 if kind == "classifier" else 1e6
    if kind == "classifier":
        est, y = SpikingRNNClassifier, data.y
    else:
        est = SpikingRNNRegressor
        rates = data.X.sum(axis=1, dtype=np.float64)[:, :2]
        y = rates if kind.endswith("trial") else np.repeat(rates[:, None, :], data.X.shape[1], axis=1)
    named = re.escape(f"output_scale={scale:g}")
    with pytest.warns(ConvergenceWarning, match=r"worse than a constant prediction\. .*" + named):
        est(**FAST, max_epochs=3, output_scale=scale).fit(data.X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est(**FAST, max_epochs=20).fit(data.X, y)


def test_the_constant_comparison_is_log_loss_and_r2():
    """What the warning compares, checked against scikit-learn: the classifier's cross-entropy is
    log_loss of predict_proba, the constant's that of the class frequencies; for the regressor,
    1 - MSE / (the constant's MSE) is R^2 pooled over the outputs, the constant being each
    output's mean over all training trials (the check looks at the first 40 of 60)."""
    from sklearn.metrics import log_loss

    from motorsrnn import SpikingRNNRegressor

    d = make_center_out(n_trials=60, n_neurons=10, random_state=3)
    clf = SpikingRNNClassifier(**FAST, max_epochs=2).fit(d.X, d.y)
    targets = np.searchsorted(clf.classes_, d.y)
    what, loss, constant, _ = clf._fit_against_constant(d.X[:40], targets, 40)
    assert what == "cross-entropy"
    np.testing.assert_allclose(loss, log_loss(d.y[:40], clf.predict_proba(d.X[:40]), labels=clf.classes_), rtol=1e-5)
    freq = np.bincount(targets) / len(targets)
    np.testing.assert_allclose(constant, log_loss(d.y[:40], np.tile(freq, (40, 1)), labels=clf.classes_), rtol=1e-12)

    y = d.X.sum(axis=1, dtype=np.float64)[:, :3]
    for per_step in (False, True):
        yy = np.repeat(y[:, None, :], d.X.shape[1], axis=1) if per_step else y
        reg = SpikingRNNRegressor(**FAST, max_epochs=2).fit(d.X, yy)
        what, mse, constant, _ = reg._fit_against_constant(d.X[:40], yy.astype(np.float32), 40)
        assert what == "mean squared error"
        pred, part = reg.predict(d.X[:40]).reshape(-1, 3), yy[:40].reshape(-1, 3)
        np.testing.assert_allclose(mse, np.mean((pred - part) ** 2), rtol=1e-5)
        mean_all = yy.reshape(-1, 3).mean(axis=0)  # over all 60 trials
        pooled_r2 = 1 - ((pred - part) ** 2).sum() / ((part - mean_all) ** 2).sum()
        np.testing.assert_allclose(1 - mse / constant, pooled_r2, rtol=1e-5)


def test_targets_far_from_unit_scale_are_named_and_standardising_fixes_the_fit(data):
    """Targets in other units (here 5000 +- 1000, like a raw EMG) are not rescaled (docs/model.md):
    the network fits them worse than a constant, and the warning says to standardise them; the
    remedy it names (TransformedTargetRegressor with StandardScaler) fits without the warning."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    from motorsrnn import SpikingRNNRegressor

    counts = data.X.sum(axis=1, dtype=np.float64)[:, :2]
    y = 5000.0 + 1000.0 * (counts - counts.mean(axis=0)) / counts.std(axis=0)
    with pytest.warns(ConvergenceWarning, match=r"\|means\| 5e\+03 to 5e\+03, standard deviations 1e\+03 to 1e\+03\): "
                      r"standardise them"):
        SpikingRNNRegressor(**FAST, max_epochs=20).fit(data.X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = TransformedTargetRegressor(regressor=SpikingRNNRegressor(**FAST, max_epochs=20),
                                           transformer=StandardScaler()).fit(data.X, y)
    assert model.score(data.X, y) > 0.3
    # per-step targets: scikit-learn's scalers refuse 3-D arrays, so the advice is numpy's, and it works
    Y = np.repeat(y[:, None, :], data.X.shape[1], axis=1)
    with pytest.warns(ConvergenceWarning, match=r"standardise them, e.g. per output over trials and steps") as rec:
        SpikingRNNRegressor(**FAST, max_epochs=20).fit(data.X, Y)
    assert not any("TransformedTargetRegressor" in str(w.message) for w in rec)
    mu, sd = np.nanmean(Y, axis=(0, 1)), np.nanstd(Y, axis=(0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = SpikingRNNRegressor(**FAST, max_epochs=20).fit(data.X, (Y - mu) / sd)
    from sklearn.metrics import r2_score
    assert r2_score(Y.reshape(-1, 2), (reg.predict(data.X) * sd + mu).reshape(-1, 2)) > 0.3


def test_trained_time_constants_start_in_range_so_an_unstepped_network_saves(tmp_path):
    """tau_mem=1e6 with train_time_constants started at beta = 0.999999, above the optimiser's range
    [0, 0.9999]: a fit that kept its starting weights (divergence) saved a file load() refused,
    and set_weights refused the estimator's own values (docs audit of the sixteenth session)."""
    import motorsrnn

    d = make_center_out(n_trials=64, n_neurons=12, n_timesteps=30, random_state=0)
    est = SpikingRNNClassifier(n_hidden=4, train_time_constants=True, tau_mem=1e6, random_state=0)
    assert est.initial_network(12, 4).get_weights()["beta_h"].max() == pytest.approx(0.9999)
    est.set_params(max_epochs=1, optimizer="sgd", learning_rate=1e38, max_grad_norm=None)
    with pytest.raises(motorsrnn.TrainingDivergedError):
        est.fit(d.X, d.y)
    assert est.stop_reason_ == "diverged"
    est.save(tmp_path / "kept.msrnn")
    again = motorsrnn.load(tmp_path / "kept.msrnn")
    np.testing.assert_array_equal(again.get_weights()["beta_h"], est.get_weights()["beta_h"])
    est.set_weights({"beta_h": est.get_weights()["beta_h"]})


def test_callback_snapshots_pickle_and_copy(data):
    """info["network"] could not be pickled (TypeError), so snapshots kept during training could
    not be saved with joblib or sent to another process; it pickles as its model-file bytes."""
    import copy
    import pickle

    snaps = []
    clf = SpikingRNNClassifier(**FAST, max_epochs=2, callback=lambda info: snaps.append(info["network"])
                               if info["event"] == "epoch" else None).fit(data.X, data.y)
    back = pickle.loads(pickle.dumps(snaps))
    assert len(back) == 2
    for k, v in clf.get_weights().items():
        np.testing.assert_array_equal(back[-1].get_weights()[k], v)
        np.testing.assert_array_equal(copy.deepcopy(snaps[0]).get_weights()[k], snaps[0].get_weights()[k])
    assert not np.array_equal(back[0].get_weights()["w_in"], back[1].get_weights()["w_in"])
    assert back[1].spec_json == clf.network_.spec_json


def test_a_gradient_too_large_for_adams_float32_state_is_a_divergence():
    """A finite gradient entry above ~6e20 (max_grad_norm=None) made Adam's second moment
    (1 - b2) g^2 overflow to +inf in float32: the weight froze silently, fit reported
    "max_epochs", and the saved file was refused by the reader ("non-finite moments"). Now it is a
    divergence: the state is dropped and what the writer writes, the reader reads."""
    import json

    from motorsrnn import _core

    spec = {"n_inputs": 2, "n_outputs": 2, "populations": [{"name": "h", "size": 8}],
            "projections": [{"name": "w_in", "source": "input", "target": "h"},
                            {"name": "w_rec", "source": "h", "target": "h", "kind": "recurrent"},
                            {"name": "w_out", "source": "h", "target": "readout"}]}
    net = _core.Network(json.dumps(spec), 0)
    w = net.get_weights()["w_in"].copy()
    w[:, 0], w[:, 1] = 1.5, 0.0  # channel 1 does not reach the forward pass, only the gradient
    net.set_weight("w_in", w)
    rng = np.random.default_rng(0)
    X = np.zeros((8, 30, 2), np.float32)
    X[:, :, 0] = rng.random((8, 30)) < 0.5
    X[:, ::3, 1] = 1e24  # a huge, finite count: a gradient of w_in[:, 1] far beyond 6e20
    start = net.get_weights()
    cfg = dict(learning_rate=1e-2, max_epochs=3, batch_size=8, seed=0, max_grad_norm=None)
    history, stop, _, diverged, *_ = net.fit(X, np.array([0, 1] * 4, np.int64), None, None, json.dumps(cfg), 1)
    assert (stop, diverged, history) == ("diverged", (0, 0), [])
    assert net.optimizer_steps is None, "no state of a diverged run is kept"
    for name, value in net.get_weights().items():
        np.testing.assert_array_equal(value, start[name])
    back, _ = _core.Network.from_bytes(net.to_bytes("{}"))
    np.testing.assert_array_equal(back.get_weights()["w_in"], w)


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="no SIGALRM on Windows")
def test_a_signal_handlers_exception_is_not_reported_as_the_callbacks(data):
    """A SIGALRM handler raising TimeoutError (a job's time limit) during fit, with no callback,
    was reported as "the callback raised TimeoutError" with stop_reason_ "callback_error". It
    still stops training, keeps the epochs trained and is re-raised, but as a signal's."""
    import signal

    def handler(signum, frame):
        raise TimeoutError("time budget exceeded")

    previous = signal.signal(signal.SIGALRM, handler)
    clf = SpikingRNNClassifier(**FAST, max_epochs=10**6)  # no callback; only the alarm ends it
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)  # a fraction of a second: a few epochs
        with pytest.warns(RuntimeWarning) as record, pytest.raises(TimeoutError, match="time budget exceeded"):
            clf.fit(data.X, data.y)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    messages = [str(w.message) for w in record]
    assert any(m.startswith("a signal handler raised TimeoutError after") for m in messages), messages
    assert not any("callback" in m for m in messages), messages
    assert clf.callback is None and clf.stop_reason_ == "signal_error" and clf.n_iter_ >= 1
    assert clf.predict(data.X).shape == data.y.shape  # the epochs trained were kept


def test_a_gradient_exploding_through_time_warns_and_names_the_surrogate():
    """With an area of 1, arctan's gradient grew to 1e17 through the recurrent loop of a 200 ms
    window; clipping hid it and the network stayed at chance, without a word."""
    from sklearn.exceptions import ConvergenceWarning

    from motorsrnn import TrainingDivergedError

    d = make_center_out(n_trials=64, n_timesteps=200, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"exploded through time.*surrogate='arctan' has an area of 1"):
        clf = SpikingRNNClassifier(surrogate="arctan", max_epochs=2, random_state=0).fit(d.X, d.y)
    ratio = max(h["grad_norm"] / np.sqrt(h["loss"]) for h in clf.history_)
    assert ratio > 1e4
    with pytest.warns(ConvergenceWarning, match=r"exploded through time.*not clipped: max_grad_norm=None"):
        SpikingRNNClassifier(surrogate="arctan", max_grad_norm=None, max_epochs=1, random_state=0).fit(d.X, d.y)
    with pytest.warns(ConvergenceWarning, match=r"exploded through time.*'triangle' with surrogate_slope=1 has an area"):
        SpikingRNNClassifier(surrogate="triangle", surrogate_slope=1.0, max_epochs=2, random_state=0).fit(d.X, d.y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default surrogate, and the triangle's default slope: bounded
        for surrogate in ("fast_sigmoid", "triangle"):
            clf = SpikingRNNClassifier(surrogate=surrogate, max_epochs=2, random_state=0).fit(d.X, d.y)
            assert max(h["grad_norm"] / np.sqrt(h["loss"]) for h in clf.history_) < 1e3
    # without recurrence nothing compounds: the feedforward baseline trains with arctan, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fsnn = SpikingRNNClassifier(architecture="fsnn", surrogate="arctan", max_epochs=2, random_state=0).fit(d.X, d.y)
        assert max(h["grad_norm"] / np.sqrt(h["loss"]) for h in fsnn.history_) < 1e3
        assert fsnn._wide_surrogate() == ""
    # where it overflows to a divergence, the advice is not only to lower learning_rate
    long = make_center_out(n_trials=64, n_timesteps=500, random_state=0)
    with pytest.raises(TrainingDivergedError, match=r"Lower learning_rate.*overflowed through time: surrogate='sigmoid'"):
        SpikingRNNClassifier(surrogate="sigmoid", max_epochs=2, random_state=0).fit(long.X, long.y)


def test_early_stopping_warns_when_its_training_split_misses_a_class():
    """With one trial of some classes, the validation split (drawn at random: it cannot be
    stratified) could take a class's only trial, and the network was never trained on it without
    a word."""
    X = (np.random.default_rng(0).random((6, 10, 5)) < 0.2).astype(np.uint8)
    y = np.array(["a", "a", "b", "b", "c", "d"])
    named = []
    for seed in range(6):
        clf = SpikingRNNClassifier(n_hidden=8, max_epochs=1, early_stopping=True, validation_fraction=0.5,
                                   random_state=seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(X, y)
        for w in caught:
            m = re.search(r"early stopping's training split \(3 trials, validation_fraction=0.5\) has no trial of "
                          r"(\d) class\(es\) \[(.*)\]: the network is never trained on them", str(w.message))
            if m:
                labels = re.findall(r"'(\w)'", m.group(2))
                assert len(labels) == int(m.group(1)) and set(labels) <= set(y), str(w.message)
                named.append(labels)
    assert named  # some of the six random splits leave a class out of training
    # stratified splits hold every class: no warning
    y2 = np.array(["a", "b", "c", "a", "b", "c"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SpikingRNNClassifier(n_hidden=8, max_epochs=1, early_stopping=True, validation_fraction=0.5,
                             random_state=0).fit(X, y2)
    assert not [w for w in caught if "early stopping's training split" in str(w.message)]


def test_an_unwritable_checkpoint_folder_is_refused_before_training(tmp_path, monkeypatch):
    """The folder check used os.access, which says every folder is writable on Windows: training
    then ran and every checkpoint failed with a warning. It now tries a real write (simulated
    here: root may write anywhere)."""
    import tempfile

    X = (np.random.default_rng(0).random((8, 10, 5)) < 0.2).astype(np.uint8)
    y = np.arange(8) % 2

    def refuse(*args, **kwargs):
        raise PermissionError("read-only folder")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    clf = SpikingRNNClassifier(n_hidden=4, max_epochs=1, checkpoint_path=tmp_path / "m.msrnn")
    with pytest.raises(PermissionError, match=r"checkpoint_path .* the folder .* is not writable"):
        clf.fit(X, y)
    assert not hasattr(clf, "history_") and not hasattr(clf, "network_")


def test_saving_over_a_file_open_elsewhere_is_retried_on_windows(tmp_path, monkeypatch):
    """On Windows, os.replace onto a file that another process has open (a load, a virus scanner,
    a sync client) raises PermissionError: save failed at once. It now retries for about a
    second, and a save that still fails leaves no temporary file behind."""
    import os
    import sys

    import motorsrnn.estimators as est

    X = (np.random.default_rng(0).random((8, 10, 5)) < 0.2).astype(np.uint8)
    clf = SpikingRNNClassifier(n_hidden=4, max_epochs=1, random_state=0).fit(X, np.arange(8) % 2)
    path = tmp_path / "m.msrnn"
    clf.save(path)
    real_replace, failures = os.replace, []

    def busy(n):
        def replace(src, dst):
            if len(failures) < n:
                failures.append(dst)
                raise PermissionError(13, "The process cannot access the file", str(dst))
            return real_replace(src, dst)
        return replace

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(est.time, "sleep", lambda s: None)
    monkeypatch.setattr(est.os, "replace", busy(3))
    clf.save(path)  # busy three times, then free
    assert len(failures) == 3 and load(path).n_iter_ == 1
    failures.clear()
    monkeypatch.setattr(est.os, "replace", busy(100))
    with pytest.raises(PermissionError):
        clf.save(path)
    assert len(failures) == 6 and sorted(p.name for p in tmp_path.iterdir()) == ["m.msrnn"]
    monkeypatch.setattr(sys, "platform", "linux")
    failures.clear()
    with pytest.raises(PermissionError):
        clf.save(path)
    assert len(failures) == 1  # elsewhere a refused rename is an error at once
