"""The command line and the comparison harness."""

import re
import warnings

import numpy as np
import pytest

from motorsrnn import PoissonNaiveBayes, SpikingRNNClassifier
from motorsrnn.__main__ import main
from motorsrnn.comparison import compare_models, default_models, format_table
from motorsrnn.datasets import make_center_out


def test_demo_prints_accuracies(capsys):
    assert main(["demo", "--n-trials", "200", "--epochs", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    rows = r"chance|Poisson naive Bayes \(counts\)|logistic regression \(counts\)|spiking RNN \(defaults, srnn\)|spiking RNN, counting, shuffled"
    accs = dict(re.findall(rf"^\s+({rows})\s+([0-9.]+)$", out, re.M))
    assert set(accs) == {"chance", "Poisson naive Bayes (counts)", "logistic regression (counts)", "spiking RNN (defaults, srnn)",
                         "spiking RNN, counting, shuffled"}
    assert float(accs["chance"]) == 0.25
    assert all(0.0 <= float(a) <= 1.0 for a in accs.values())


@pytest.mark.parametrize("argv", [["demo", "--n-trials", "40", "--epochs", "3", "--quiet"],
                                  ["compare", "--n-trials", "40", "--epochs", "3", "--n-hidden", "8", "--quiet"]])
def test_ctrl_c_stops_the_command_without_a_report(argv, capsys, monkeypatch):
    """Ctrl-C used to end only the fit that was running: the demo trained its second network and
    compare its other models, and both printed their tables with the truncated model in them and
    exited 0. Now the command stops with exit status 130, without a traceback or a report."""
    import motorsrnn.estimators as est

    def ctrl_c_in_second_epoch(self, info):
        if info["event"] == "epoch" and info["epoch"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(est._Progress, "__call__", ctrl_c_in_second_epoch)
    assert main(argv) == 130
    out, err = capsys.readouterr()
    assert "interrupted after 2 epoch(s)" in err and "no report" in err and "Traceback" not in err
    assert "Test accuracy" not in out and "Early classification" not in out


def test_sizes_beyond_memory_end_the_command_with_a_message(capsys):
    assert main(["demo", "--n-trials", "99999999999999", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("python -m motorsrnn demo: error: ") and "MemoryError" not in err
    assert "GiB" in err and err.rstrip().endswith("(lower --n-trials)")


def test_compare_models_table_is_consistent():
    d = make_center_out(n_trials=120, n_neurons=16, random_state=0)
    X_tr, X_te, y_tr, y_te = d.X[:80], d.X[80:], d.y[:80], d.y[80:]
    models = {
        "motorSRNN": SpikingRNNClassifier(architecture="motorsrnn", n_hidden=16, max_epochs=2, random_state=0),
        "PNB": PoissonNaiveBayes(),
    }
    res = compare_models(X_tr, y_tr, X_te, y_te, models, noise_rates=(0.0, 50.0))
    rows = {r["model"]: r for r in res.table}
    for name, est in res.fitted.items():
        assert rows[name]["accuracy"] == est.score(X_te, y_te)
        assert res.noise[name][0] == rows[name]["accuracy"]
        assert res.early[name].accuracy[-1] == rows[name]["accuracy"]
    assert rows["motorSRNN"]["ratio_gru"] > 1 and rows["motorSRNN"]["sop_per_sample"] > 0
    # the rate comes from energy's spike counts: the mean of the simulated spikes, in Hz
    sim = res.fitted["motorSRNN"].simulate(X_te, membrane=False)
    assert rows["motorSRNN"]["hidden_rate_hz"] == pytest.approx(sim.spikes.mean() * 1000.0, rel=1e-12)
    assert rows["motorSRNN"]["hidden_rate_hz"] > 0
    assert "hidden_rate_hz" not in rows["PNB"]
    assert not hasattr(models["PNB"], "classes_"), "prototypes are cloned, not fitted in place"
    table = format_table(res)
    assert table.count("\n") == 3 and "motorSRNN" in table
    assert set(default_models(8)) >= {"motorSRNN", "fSNN", "SRNN", "Poisson naive Bayes", "logistic regression"}


def test_compare_cut_protocol_splits_by_trial(capsys):
    """``compare --cut``: trials cut into 50 ms samples, every trial's samples on one side of the split."""
    assert main(["compare", "--cut", "100", "250", "--n-trials", "40", "--epochs", "1", "--n-hidden", "8",
                 "--quiet", "--early-stopping"]) == 0
    out, err = capsys.readouterr()
    # warnings name their model (8 hidden units leave the preset's smallest projection empty), not runpy
    assert "warning: model 'motorSRNN': projection" in err and "runpy" not in err, err
    m = re.search(r"cut into (\d+) samples of 50 ms; (\d+) training / (\d+) test samples \(split by trial\)", out)
    assert m is not None, out
    per_trial, n_train, n_test = (int(g) for g in m.groups())
    assert per_trial == 3
    assert n_train % 3 == 0 and n_test % 3 == 0 and (n_train + n_test) == 40 * 3
    assert n_test == 10 * 3
    assert "| fSNN |" in out


def test_compare_cut_must_be_whole_samples(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--cut", "100", "230"])
    assert "positive multiple of 50 ms" in capsys.readouterr().err


def test_compare_models_passes_groups_to_spiking_models():
    d = make_center_out(n_trials=60, n_neurons=8, random_state=0)
    models = {"fSNN": SpikingRNNClassifier(architecture="fsnn", n_hidden=8, max_epochs=1, early_stopping=True,
                                           random_state=0)}
    args = (d.X[:40], d.y[:40], d.X[40:], d.y[40:], models)
    with pytest.raises(ValueError, match="groups has 1 group"):  # the model got the groups
        compare_models(*args, noise_rates=(0.0,), groups=np.zeros(40))
    with pytest.raises(ValueError, match="groups has 39 entries but there are 40 training trials"):
        compare_models(*args, noise_rates=(0.0,), groups=np.arange(39))
    res = compare_models(*args, noise_rates=(0.0,), groups=np.arange(40) // 4)
    assert res.fitted["fSNN"].history_[0]["val_loss"] is not None


@pytest.mark.parametrize("flag", ["--gru", "--lstm"])
def test_compare_gru_without_torch_says_how_to_install(capsys, monkeypatch, flag):
    import motorsrnn.baselines

    monkeypatch.setattr(motorsrnn.baselines, "has_torch", lambda: False)
    with pytest.raises(SystemExit):
        main(["compare", flag])
    err = capsys.readouterr().err
    assert f'{flag} needs PyTorch' in err and 'python -m pip install torch' in err and '"motorsrnn[gru]"' in err


def test_center_out_samples_is_the_cut_of_make_center_out():
    from motorsrnn.comparison import center_out_samples
    from motorsrnn.io import cut_samples

    d = make_center_out(n_trials=20, n_timesteps=150, window_start=100, random_state=3)
    expected = cut_samples(d.X, d.y, width=50)
    got = center_out_samples(20, 100, 250, random_state=3)
    for key in ("X", "y", "trial", "offset"):
        np.testing.assert_array_equal(got[key], expected[key])
    with pytest.raises(ValueError, match="positive multiple of 50 ms"):
        center_out_samples(20, 100, 130)
    with pytest.raises(ValueError, match="positive multiple of 50 ms"):
        center_out_samples(20, 100, 100)


@pytest.mark.parametrize(
    "argv, option",
    [
        (["demo", "--n-trials", "0"], "--n-trials"),
        (["demo", "--n-trials", "12"], "--n-trials"),
        (["demo", "--n-trials", "ten"], "--n-trials"),
        (["demo", "--epochs", "0"], "--epochs"),
        (["demo", "--seed", "-1"], "--seed"),
        (["demo", "--seed", str(2**32)], "--seed"),
        (["compare", "--n-trials", "-5"], "--n-trials"),
        (["compare", "--n-trials", "12", "--cut", "100", "150"], "--n-trials"),
        (["compare", "--n-trials", "12", "--early-stopping"], "--n-trials"),
        (["compare", "--epochs", "-1"], "--epochs"),
        (["compare", "--n-hidden", "0"], "--n-hidden"),
        (["compare", "--n-hidden", "1.5"], "--n-hidden"),
        (["compare", "--n-hidden", "2"], "--n-hidden"),  # the motorsrnn preset needs 3 (one unit per module)
        (["compare", "--seed", "-1"], "--seed"),
    ],
)
def test_cli_bad_numbers_are_usage_errors(capsys, argv, option):
    """Out-of-range numeric options end in argparse's usage error (exit 2) naming the option, not a traceback."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: " in err and "usage:" in err, err
    if option == "--n-trials" and argv[2] != "ten":
        assert "at least 13" in err and "one trial per direction" in err
    if option == "--seed":
        assert "0 to 4294967295" in err
    if argv[1:] == ["--n-hidden", "2"]:
        assert "must be at least 3" in err


def test_cli_n_trials_minimums_match_the_splits():
    """MIN_TRIALS is the smallest count the stratified test split accepts; early stopping's
    validation split then works too (it stops stratifying when it is smaller than the classes)."""
    from sklearn.model_selection import train_test_split

    from motorsrnn.__main__ import MIN_TRIALS, TEST_SIZE
    from motorsrnn.estimators import early_stopping_split

    def fits(n, early_stopping=False):
        y = make_center_out(n_trials=n, n_neurons=1, n_timesteps=1, random_state=0).y
        try:
            _, _, y_tr, _ = train_test_split(y, y, test_size=TEST_SIZE, stratify=y, random_state=0)
            if early_stopping:
                early_stopping_split(len(y_tr), 0.1, np.random.RandomState(0), stratify=y_tr)
        except ValueError:
            return False
        return True

    assert fits(MIN_TRIALS) and not fits(MIN_TRIALS - 1)
    assert fits(MIN_TRIALS, True) and not fits(MIN_TRIALS - 1, True)


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--n-trials", "13", "--seed", str(2**32 - 1)],
        ["compare", "--n-trials", "13", "--n-hidden", "8"],
        ["compare", "--n-trials", "13", "--n-hidden", "8", "--cut", "100", "150", "--early-stopping"],
        ["compare", "--n-trials", "13", "--n-hidden", "8", "--early-stopping"],
    ],
)
def test_cli_minimum_n_trials_runs(capsys, argv):
    """The smallest --n-trials each subcommand accepts really runs (test set: one trial per direction)."""
    assert main(argv + ["--epochs", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert ("Test accuracy" if argv[0] == "demo" else "Early classification") in out, out


def test_cli_help_mentions_the_counting_network(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "second spiking network in the counting configuration" in out
    assert '"counting, shuffled"' in out
    assert "``" not in out, "the help shows reStructuredText markup"


# ---------------------------------------------------------------------------------------------
# compare_models: arguments checked before any fit; fit_seconds; models that cannot take prefixes
# ---------------------------------------------------------------------------------------------
class _NoFitNB(PoissonNaiveBayes):
    """A model whose fit must not run: the arguments are invalid and should be caught before."""

    def fit(self, X, y):
        raise AssertionError("fit was called although the arguments are invalid")


class _SlowPredictNB(PoissonNaiveBayes):
    """Instantaneous fit, slow predict (as spiking models: inference on the test set is not free)."""

    def predict(self, X):
        import time

        time.sleep(0.4)
        return super().predict(X)


@pytest.fixture(scope="module")
def small():
    d = make_center_out(n_trials=40, n_neurons=8, n_timesteps=20, random_state=0)
    return d.X[:20], d.y[:20], d.X[20:], d.y[20:]


@pytest.mark.parametrize("rates", [(0.0, -40.0), (0.0, np.nan), (np.inf,), (0.0, "10"), (0.0, True), 10.0])
def test_compare_models_checks_noise_rates_before_fitting(small, rates):
    with pytest.raises(ValueError, match="noise_rates"):
        compare_models(*small, {"nb": _NoFitNB()}, noise_rates=rates)


def test_compare_models_noise_rates_are_returned_as_floats(small):
    res = compare_models(*small, {"nb": PoissonNaiveBayes()}, noise_rates=(0, 40), early_step=20)
    assert res.noise_rates == [0.0, 40.0] and all(isinstance(r, float) for r in res.noise_rates)
    assert compare_models(*small, {"nb": PoissonNaiveBayes()}, noise_rates=(), early_step=20).noise == {"nb": []}


@pytest.mark.parametrize("step", [0, -1, 1.5, True, "5"])
def test_compare_models_checks_early_step_before_fitting(small, step):
    with pytest.raises(ValueError, match="early_step"):
        compare_models(*small, {"nb": _NoFitNB()}, noise_rates=(0.0,), early_step=step)


def test_compare_models_uses_the_models_bin_width_for_noise_and_times(small):
    """With 10 ms bins a "40 Hz" noise rate is 0.4 spikes per bin, not 0.04, and the early curves
    are labelled in ms of those bins, for count decoders too."""
    from motorsrnn.analysis import add_poisson_noise

    X_tr, y_tr, X_te, y_te = small
    models = {"snn": SpikingRNNClassifier(n_hidden=8, max_epochs=1, dt=10.0, random_state=0),
              "nb": PoissonNaiveBayes()}
    res = compare_models(X_tr, y_tr, X_te, y_te, models, noise_rates=(0.0, 40.0), early_step=5)
    for name in models:
        np.testing.assert_allclose(res.early[name].times, [50, 100, 150, 200])
        noisy = add_poisson_noise(X_te, 40.0, dt=10.0, random_state=0)
        assert res.noise[name][1] == res.fitted[name].score(noisy, y_te), name
    assert add_poisson_noise(X_te, 40.0, dt=10.0, random_state=0).sum() > add_poisson_noise(X_te, 40.0, random_state=0).sum()
    # bin widths that disagree are refused before any fit
    mixed = {"a": SpikingRNNClassifier(dt=10.0), "b": SpikingRNNClassifier(dt=1.0), "nb": _NoFitNB()}
    with pytest.raises(ValueError, match="different bin widths"):
        compare_models(X_tr, y_tr, X_te, y_te, mixed)
    with pytest.raises(ValueError, match=r"dt=5 ms, but these models have another dt"):
        compare_models(X_tr, y_tr, X_te, y_te, {"a": SpikingRNNClassifier(dt=10.0), "nb": _NoFitNB()}, dt=5)
    from sklearn.pipeline import make_pipeline

    piped = {"piped": make_pipeline(SpikingRNNClassifier(n_hidden=8, max_epochs=1, dt=10.0, random_state=0))}
    res = compare_models(X_tr, y_tr, X_te, y_te, piped, noise_rates=(0.0,), early_step=5)
    np.testing.assert_allclose(res.early["piped"].times, [50, 100, 150, 200])  # the dt inside the pipeline
    with pytest.raises(ValueError, match="different bin widths"):
        compare_models(X_tr, y_tr, X_te, y_te, {**piped, "a": SpikingRNNClassifier(dt=1.0), "nb": _NoFitNB()})
    only_counts = compare_models(X_tr, y_tr, X_te, y_te, {"nb": PoissonNaiveBayes()}, noise_rates=(0.0,), dt=2)
    assert only_counts.early["nb"].times[0] == 2.0


def test_compare_models_checks_test_set_and_models_before_fitting(small):
    X_tr, y_tr, X_te, y_te = small
    with pytest.raises(ValueError, match="X_test has 20 trials but y_test has 19 labels"):
        compare_models(X_tr, y_tr, X_te, y_te[:-1], {"nb": _NoFitNB()})
    with pytest.raises(ValueError, match="y_test must be 1-D"):
        compare_models(X_tr, y_tr, X_te, y_te[:, None], {"nb": _NoFitNB()})
    with pytest.raises(ValueError, match="Negative"):
        compare_models(X_tr, y_tr, -X_te.astype(int) - 1, y_te, {"nb": _NoFitNB()}, noise_rates=(0.0,))
    with pytest.raises(ValueError, match="X_train has 8 channels but X_test has 5"):
        compare_models(X_tr, y_tr, X_te[:, :, :5], y_te, {"nb": _NoFitNB()})
    # labels the training set lacks (or of another type) came after the first fit, in another message
    for y_bad in (y_te + 10, y_te.astype(str)):
        with pytest.raises(ValueError, match="y_test holds label.* that y_train does not"):
            compare_models(X_tr, y_tr, X_te, y_bad, {"nb": _NoFitNB()})
    from motorsrnn import SpikingRNNRegressor

    with pytest.raises(TypeError, match="'reg'.*not a classifier"):
        compare_models(X_tr, y_tr, X_te, y_te, {"nb": _NoFitNB(), "reg": SpikingRNNRegressor()})


class _WarningNB(PoissonNaiveBayes):
    def fit(self, X, y):
        warnings.warn("too few trials", UserWarning)
        warnings.warn("old API", DeprecationWarning)
        return super().fit(X, y)


def test_compare_models_warnings_name_their_model(small):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare_models(*small, {"loud": _WarningNB(), "quiet": PoissonNaiveBayes()}, noise_rates=(0.0,))
    ours = [w for w in caught if w.category is UserWarning]
    assert [str(w.message) for w in ours] == ["model 'loud': too few trials"]
    assert ours[0].filename == __file__  # pointing at the caller
    assert [str(w.message) for w in caught if w.category is DeprecationWarning] == ["old API"]  # others as they were


def test_compare_models_fit_seconds_times_only_fit(small):
    res = compare_models(*small, {"slow": _SlowPredictNB()}, noise_rates=(0.0,), early_step=20)
    # fit takes milliseconds; every predict (score, early classification, noise) sleeps 0.4 s
    assert res.table[0]["fit_seconds"] < 0.2, res.table[0]
    assert res.table[0]["accuracy"] == res.fitted["slow"].score(small[2], small[3])


def test_compare_models_names_the_model_that_cannot_take_prefixes():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    d = make_center_out(n_trials=60, n_neurons=16, n_timesteps=20, random_state=0)
    models = {"nb": PoissonNaiveBayes(),
              "flattened LR": make_pipeline(FunctionTransformer(lambda X: np.asarray(X, float).reshape(len(X), -1)),
                                            LogisticRegression(max_iter=200))}
    with pytest.raises(ValueError, match=r"early classification of model 'flattened LR'.*prefixes.*shorter") as exc:
        compare_models(d.X[:40], d.y[:40], d.X[40:], d.y[40:], models, noise_rates=(0.0,))
    assert "expecting 320 features" in str(exc.value)  # the original error is kept in the message
    assert isinstance(exc.value.__cause__, ValueError)
    assert "prefixes of the test" in " ".join(compare_models.__doc__.split())


@pytest.mark.parametrize(
    "args, match",
    [
        ((100, 400, 0), "width"),
        ((100, 400, -50), "width"),
        ((100, 400, 2.5), "width"),
        ((100, 400, True), "width"),
        ((100.5, 150.5), "start"),
        ((100, 150.0), "stop"),
        (("100", 150), "start"),
    ],
)
def test_check_cut_validates_width_start_stop(args, match):
    from motorsrnn.comparison import center_out_samples, check_cut

    with pytest.raises(ValueError, match=match):
        check_cut(*args)
    start, stop, *width = args
    with pytest.raises(ValueError, match=match):
        center_out_samples(8, start, stop, **({"width": width[0]} if width else {}), random_state=0)


def test_check_cut_accepts_numpy_integers():
    from motorsrnn.comparison import center_out_samples, check_cut

    assert check_cut(np.int64(100), np.int32(200), np.int16(50)) is None
    assert center_out_samples(8, np.int64(100), 200, width=np.int64(50), random_state=0).n_per_trial == 2


def test_comparison_all_exports_the_public_functions():
    import motorsrnn.comparison as comparison

    ns = {}
    exec("from motorsrnn.comparison import *", ns)
    for name in ("center_out_samples", "check_cut", "default_models", "compare_models", "format_table"):
        assert name in comparison.__all__ and name in ns


def test_default_models_flags_must_be_booleans():
    """gru="yes" was taken as true (bad-input audit of the sixteenth session)."""
    for kws in (dict(gru="yes"), dict(lstm=1)):
        with pytest.raises(ValueError, match=next(iter(kws))):
            default_models(8, **kws)


def test_a_models_own_callback_stop_does_not_end_the_comparison():
    """stop_reason_ "interrupted" also follows a callback returning False (a time budget, a custom
    early stop): compare_models went on only for Ctrl-C, not for such a stop, which raised
    KeyboardInterrupt as if the user had pressed Ctrl-C."""
    d = make_center_out(n_trials=40, n_neurons=8, random_state=0)
    budget = lambda info: not (info["event"] == "epoch" and info["epoch"] >= 0)  # noqa: E731
    with pytest.warns(RuntimeWarning, match="interrupted after 1"):
        res = compare_models(d.X[:28], d.y[:28], d.X[28:], d.y[28:], noise_rates=(), progress=False,
                             models={"snn": SpikingRNNClassifier(n_hidden=8, max_epochs=3, random_state=0,
                                                                 callback=budget)})
    assert res.fitted["snn"].n_iter_ == 1 and [r["model"] for r in res.table] == ["snn"]
