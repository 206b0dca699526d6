"""The result of motorsrnn.io.bin_spike_times carries its bin width and time axis: the analyses
that take it use them (rates in Hz, windows relative to the event, early-classification times), and
the estimators, which take arrays, say how to pass it."""

import warnings

import numpy as np
import pytest

from motorsrnn import PoissonNaiveBayes, SpikingRNNClassifier
from motorsrnn.analysis import early_classification
from motorsrnn.io import bin_spike_times
from motorsrnn.tuning import fit_cosine_tuning, network_tuning, tuning_curves

N_DIR = 8


@pytest.fixture(scope="module")
def session():
    """Spike times of 20 cosine-tuned units (15 +- 10 Hz in the 300 ms after the event, 5 Hz
    before), 160 trials, binned in 10 ms bins from -300 to 600 ms."""
    rng = np.random.default_rng(0)
    n = 160
    direction = np.arange(n) % N_DIR
    events = 1.0 + 2.0 * np.arange(n)
    pds = rng.uniform(0, 2 * np.pi, 20)
    trains = []
    for pd in pds:
        times = []
        for i in range(n):
            rate = 15.0 + 10.0 * np.cos(2 * np.pi * direction[i] / N_DIR - pd)
            times.append(events[i] + rng.uniform(0.0, 0.3, rng.poisson(rate * 0.3)))
            times.append(events[i] - 0.3 + rng.uniform(0.0, 0.3, rng.poisson(5.0 * 0.3)))
        trains.append(np.concatenate(times))
    binned = bin_spike_times(trains, events, window=(-300, 600), bin_size=10)
    return binned, direction, pds, trains, events


def test_tuning_of_binned_data_uses_its_bins_and_event_relative_windows(session):
    binned, direction, pds, trains, events = session
    res = fit_cosine_tuning(binned, direction, window=(0, 300))
    # the window is 300 ms after the event: bins 30..60 of the array, at 10 ms each
    same = fit_cosine_tuning(binned.X, direction, window=(30, 60), dt=10)
    np.testing.assert_array_equal(res.baseline, same.baseline)
    assert res.units == "hz" and 12 < np.median(res.baseline) < 18  # ~15 Hz, not 10 x
    err = np.angle(np.exp(1j * (res.preferred_direction - pds)))
    assert np.median(np.abs(err)) < 0.3
    np.testing.assert_array_equal(tuning_curves(binned, direction, window=(0, 300)).mean,
                                  tuning_curves(binned.X, direction, window=(30, 60), dt=10).mean)
    # the same session binned in seconds takes its window in seconds
    in_s = bin_spike_times(trains, events, window=(-0.3, 0.6), bin_size=0.01, units="s")
    np.testing.assert_allclose(fit_cosine_tuning(in_s, direction, window=(0, 0.3)).baseline, res.baseline)
    with pytest.raises(ValueError, match=r"window \(5, 300\) ms relative to the event must have its ends on bin "
                                         r"edges \(every 10 ms\) inside the binned window \(-300, 600\) ms"):
        fit_cosine_tuning(binned, direction, window=(5, 300))
    with pytest.raises(ValueError, match="inside the binned window"):
        fit_cosine_tuning(binned, direction, window=(0, 700))
    with pytest.raises(ValueError, match="dt=1 ms, but the binned data's bins are 10 ms wide"):
        fit_cosine_tuning(binned, direction, dt=1)
    assert fit_cosine_tuning(binned, direction, dt=10).n_neurons == 20  # its own width is fine


def test_counts_of_wide_bins_at_the_default_dt_warn(session):
    binned, direction = session[0], session[1]
    after = (30, 60)  # the 300 ms after the event, where the units fire at ~15 Hz: "150 Hz" at 1 ms
    with pytest.warns(UserWarning, match=r"mean rate of 1\d\d(\.\d)? Hz at the default bin width dt=1 ms.*Pass dt="):
        fit_cosine_tuning(binned.X, direction, window=after)
    with pytest.warns(UserWarning, match="at the default bin width dt=1 ms"):
        fit_cosine_tuning(binned.X.astype(float), direction, window=after)  # counts loaded as floats
    fast = np.zeros((80, 50, 3), np.uint8)
    fast[:, ::3] = 1  # a network's units at 1 ms steps: 333 Hz, never two spikes in a step
    fast[:40, 1::3, 0] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_cosine_tuning(fast, np.arange(80) % 4)
        fit_cosine_tuning(binned.X, direction, window=after, dt=10)  # the width given: no warning
        fit_cosine_tuning(binned.X, direction, window=after, dt=1)  # 1 ms bins of fast neurons, said so: none
        fit_cosine_tuning(binned.X, direction, window=after, units="counts")  # no rates: nothing to misread
        fit_cosine_tuning(binned, direction, window=(0, 300))


def test_estimators_say_how_to_pass_binned_data(session):
    binned, direction = session[0], session[1]
    for est in (SpikingRNNClassifier(), PoissonNaiveBayes()):
        with pytest.raises(TypeError, match=r"X is binned data .*pass its X \(e.g. binned.X\).*bin width in ms, dt=10$"):
            est.fit(binned, direction)
    in_s = bin_spike_times(session[3], session[4], window=(-0.3, 0.6), bin_size=0.01, units="s")
    with pytest.raises(TypeError, match=r"bin width in ms, dt=10$"):  # not its bin_size, 0.01 (s)
        SpikingRNNClassifier().fit(in_s, direction)
    assert in_s.dt == pytest.approx(10.0) and binned.dt == 10.0  # the bin width in ms, whatever the units


def test_early_classification_of_binned_data_labels_times_with_its_bins(session):
    binned, direction = session[0], session[1]
    nb = PoissonNaiveBayes().fit(binned.X, direction)
    curve = early_classification(nb, binned, direction, step=30)
    np.testing.assert_array_equal(curve.times, [300.0, 600.0, 900.0])
    assert curve.dt == 10.0 and curve.chance == pytest.approx(1 / N_DIR)
    np.testing.assert_array_equal(curve.accuracy, early_classification(nb, binned.X, direction, step=30,
                                                                      dt=10).accuracy)
    with pytest.raises(ValueError, match="dt=1 ms, but the binned data's bins are 10 ms wide"):
        early_classification(nb, binned, direction, dt=1)
    # the binned window opens 300 ms before the event: the same prefix ends, relative to the event
    np.testing.assert_array_equal(curve.event_times, [0.0, 300.0, 600.0])
    assert early_classification(nb, binned.X, direction, step=30, dt=10).event_times is None
    in_s = bin_spike_times(session[3], session[4], window=(-0.3, 0.6), bin_size=0.01, units="s")
    np.testing.assert_allclose(early_classification(nb, in_s, direction, step=30).event_times, [0.0, 300.0, 600.0],
                               atol=1e-9)  # in ms, as times, whatever the binning's units


def test_early_curves_warn_when_windows_differ_and_draw_the_chance_level(session):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from motorsrnn.plotting import early_curves

    binned, direction = session[0], session[1]
    nb = PoissonNaiveBayes().fit(binned.X, direction)
    right = early_classification(nb, binned, direction, step=30)
    wrong = early_classification(nb, binned.X, direction, step=30)  # 10 ms bins labelled as 1 ms
    with pytest.warns(UserWarning, match=r"different lengths: 'binned' 900 ms \(90 bins of 10 ms\), 'array' 90 ms "
                                         r"\(90 bins of 1 ms\)"):
        ax = early_curves({"binned": right, "array": wrong})
    chance = [line for line in ax.get_lines() if line.get_label() == "chance"]
    assert len(chance) == 1 and chance[0].get_ydata()[0] == pytest.approx(1 / N_DIR)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = early_curves({"a": right, "b": right}, chance=None)
    assert not [line for line in ax.get_lines() if line.get_label() == "chance"]
    early_curves({"c": right}, ax=ax)  # an overlay on the same axes: one chance line, one legend entry
    early_curves({"d": right}, ax=ax)
    assert [line.get_label() for line in ax.get_lines()].count("chance") <= 1
    assert [t.get_text() for t in ax.get_legend().get_texts()].count("chance") == 1
    ax = early_curves(right, time_axis="event")
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), right.event_times)
    assert ax.get_xlabel() == "time from the event (ms)"
    with pytest.raises(ValueError, match="curve 'array' has none: early_classification reports them for binned"):
        early_curves({"binned": right, "array": wrong}, time_axis="event")
    with pytest.raises(ValueError, match="time_axis must be 'window' or 'event', got 'events'"):
        early_curves(right, time_axis="events")
    plt.close("all")


def test_network_tuning_of_binned_input(session):
    binned, direction = session[0], session[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SpikingRNNClassifier(n_hidden=12, max_epochs=1, dt=10.0, random_state=0, n_jobs=1)
        clf.fit(binned.X, direction)
    res = network_tuning(clf, binned, direction, window=(0, 300))
    same = network_tuning(clf, binned.X, direction, window=(30, 60))
    np.testing.assert_array_equal(res.baseline, same.baseline)
    assert res.settings["window"] == (30, 60)  # in bins, as tuning_curves of the simulated spikes reads it
    clf1 = SpikingRNNClassifier(n_hidden=12, max_epochs=1, random_state=0, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf1.fit(binned.X, direction)
    with pytest.raises(ValueError, match="X is binned in 10 ms bins, but the network runs at dt=1 ms"):
        network_tuning(clf1, binned, direction)


def test_a_fits_settings_apply_to_the_binned_data_and_to_its_array(session):
    """settings held dt=None and the event-relative window: reused with binned.X (as the
    estimators' error tells users to pass), rates came out 10 x too high or the window failed."""
    import pickle

    from motorsrnn.tuning import BinWindow

    binned, direction = session[0], session[1]
    res = fit_cosine_tuning(binned, direction, window=(0, 300))
    assert res.settings["window"] == BinWindow(30, 60) and res.settings["dt"] == 10.0
    expected = tuning_curves(binned, direction, window=(0, 300)).mean
    np.testing.assert_array_equal(tuning_curves(binned.X, direction, **res.settings).mean, expected)
    np.testing.assert_array_equal(tuning_curves(binned, direction, **res.settings).mean, expected)
    assert pickle.loads(pickle.dumps(res)).settings["window"] == BinWindow(30, 60)
    assert repr(res.settings["window"]) == "BinWindow(30, 60)"
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from motorsrnn.plotting import polar_tuning

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = polar_tuning(res, 0, binned.X, direction)
    assert max(np.nanmax(line.get_ydata()) for line in ax.get_lines()) < 60  # Hz, not 10 x
    res.settings.update(dt=None, window=(30, 60))  # the old settings: the points ten times too high
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = polar_tuning(res, 0, binned.X, direction)
    assert max(np.nanmax(line.get_ydata()) for line in ax.get_lines()) > 100
    plt.close("all")
