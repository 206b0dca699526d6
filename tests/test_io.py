"""motorsrnn.io: spike times, NWB, neo and pynapple recordings to binned, event-aligned trials."""

import sys
import warnings
from datetime import datetime, timezone

import numpy as np
import pytest

from motorsrnn import SpikingRNNClassifier
from motorsrnn.estimators import check_spikes
from motorsrnn.io import bin_spike_times, cut_samples, from_neo, from_nwb, from_pynapple
from nwb_session import DIRECTIONS
from nwb_session import make_nwb as _make_nwb


def naive_bin(spike_times, events, start_ms, stop_ms, bin_ms):
    """Reference: a loop over trials, bins, units and spikes with the documented edges."""
    n_bins = int(round((stop_ms - start_ms) / bin_ms))
    X = np.zeros((len(events), n_bins, len(spike_times)), dtype=np.int64)
    for i, ev in enumerate(events):
        for k in range(n_bins):
            lo = ev + (start_ms + k * bin_ms) * 1e-3
            hi = ev + (start_ms + (k + 1) * bin_ms) * 1e-3
            for u, train in enumerate(spike_times):
                X[i, k, u] = sum(1 for t in train if lo <= t < hi)
    return X


# ---------------------------------------------------------------------------------------------
# Hand-computed cases
# ---------------------------------------------------------------------------------------------
def test_edges_left_closed_right_open():
    # event 1.0 s, window [0, 5) ms in 1 ms bins
    spikes = [[0.9999, 1.0, 1.001, 1.0015, 1.0049, 1.005, 1.2]]
    out = bin_spike_times(spikes, [1.0], window=(0, 5), bin_size=1.0)
    # 0.9999 before the window; 1.0 on the left edge -> bin 0; 1.001 on an inner edge -> bin 1;
    # 1.0049 in the last bin; 1.005 on the right edge of the window -> outside; 1.2 after
    np.testing.assert_array_equal(out.X[0, :, 0], [1, 2, 0, 0, 1])
    np.testing.assert_array_equal(out.times, [0, 1, 2, 3, 4])
    assert out.bin_size == 1.0 and out.window == (0.0, 5.0) and out.units == "ms"
    np.testing.assert_array_equal(out.unit_ids, [0])
    assert out.X.dtype == np.uint8


def test_decimal_times_on_edges_count_in_the_bin_that_starts_there():
    # 12.346 - 12.345 is 0.000999999... in float64: still bin 1, not bin 0
    events = [12.345, 1000.017]
    spikes = [[12.346, 12.347, 1000.018, 1000.020]]
    out = bin_spike_times(spikes, events, window=(0, 4), bin_size=1.0)
    np.testing.assert_array_equal(out.X[:, :, 0], [[0, 1, 1, 0], [0, 1, 0, 1]])


def test_several_units_multiple_spikes_per_bin_unsorted_and_empty():
    spikes = [
        np.array([0.0123, 0.0101, 0.0109, 0.0100]),  # unsorted; three spikes in bin 0, one in bin 2
        [],  # empty unit: zeros
        (0.0205, 0.0195),  # second trial only
    ]
    out = bin_spike_times(spikes, [0.010, 0.020], window=(0, 4), bin_size=1.0)
    expected = np.zeros((2, 4, 3), dtype=np.uint8)
    expected[0, :, 0] = [3, 0, 1, 0]
    expected[1, :, 2] = [1, 0, 0, 0]  # 0.0195 is before the second event
    np.testing.assert_array_equal(out.X, expected)


def test_pre_event_window_seconds_and_overlapping_trials():
    # binary fractions: exact in float64; windows of the two trials overlap
    spikes = [[0.0, 0.25, 0.5, 0.75]]
    out = bin_spike_times(spikes, [0.5, 0.75], window=(-0.5, 0.25), bin_size=0.25, units="s")
    np.testing.assert_array_equal(out.times, [-0.5, -0.25, 0.0])
    np.testing.assert_array_equal(out.X[:, :, 0], [[1, 1, 1], [1, 1, 1]])
    ms = bin_spike_times(spikes, [0.5, 0.75], window=(-500, 250), bin_size=250)
    np.testing.assert_array_equal(ms.X, out.X)
    np.testing.assert_array_equal(ms.times, [-500, -250, 0])


def test_dict_keeps_ids_and_order():
    spikes = {"m1_ch7": [0.0015], 42: [], "pmd_ch2": [0.0005, 0.0006]}
    out = bin_spike_times(spikes, [0.0], window=(0, 2), bin_size=1.0)
    assert list(out.unit_ids) == ["m1_ch7", 42, "pmd_ch2"]
    assert out.unit_ids.dtype == object  # mixed types are not coerced to strings
    np.testing.assert_array_equal(out.X[0], [[0, 0, 2], [1, 0, 0]])
    ints = bin_spike_times({7: [0.0], 3: [0.001]}, [0.0], window=(0, 2))
    np.testing.assert_array_equal(ints.unit_ids, [7, 3])
    np.testing.assert_array_equal(ints.X[0], [[1, 0], [0, 1]])


def test_dtype_widens_for_large_counts_and_explicit_dtype_is_checked():
    burst = np.full(300, 0.0105)  # 300 spikes in one 10 ms bin
    out = bin_spike_times([burst, [0.0]], [0.0], window=(0, 20), bin_size=10)
    assert out.X.dtype == np.uint16
    np.testing.assert_array_equal(out.X[0], [[0, 1], [300, 0]])
    assert bin_spike_times([burst], [0.0], window=(0, 20), bin_size=10, dtype=np.float32).X.dtype == np.float32
    with pytest.raises(ValueError, match="dtype=uint8 cannot hold a count of 300"):
        bin_spike_times([burst], [0.0], window=(0, 20), bin_size=10, dtype=np.uint8)
    # check_spikes (the estimators' validation) accepts the result
    assert check_spikes(bin_spike_times([[0.001]], [0.0], window=(0, 5)).X).dtype == np.uint8


# ---------------------------------------------------------------------------------------------
# Against a naive loop
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("window, bin_size", [((0, 50), 1.0), ((-20, 30), 2.5), ((-100, 200), 25.0)])
def test_matches_naive_loop_on_random_data(window, bin_size):
    rng = np.random.default_rng(int(bin_size * 10))
    spike_times = [np.sort(rng.uniform(0, 3.0, size=rng.integers(0, 400))) for _ in range(6)]
    spike_times[2] = rng.permutation(spike_times[2])  # unsorted input
    spike_times.append(np.empty(0))
    events = rng.uniform(0.2, 2.8, size=25)
    out = bin_spike_times(spike_times, events, window=window, bin_size=bin_size)
    np.testing.assert_array_equal(out.X, naive_bin(spike_times, events, *window, bin_size))
    assert out.X.sum() > 0
    sec = bin_spike_times(
        spike_times, events, window=(window[0] / 1e3, window[1] / 1e3), bin_size=bin_size / 1e3, units="s"
    )
    np.testing.assert_array_equal(sec.X, out.X)
    np.testing.assert_allclose(sec.times * 1e3, out.times)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spikes, events, kwargs, exc, match",
    [
        ([[0.1, np.nan]], [0.0], {}, ValueError,
         r"spike times of unit 0 contains 1 non-finite value\(s\) \(NaN at index 1\)"),
        ({"a": [np.inf]}, [0.0], {}, ValueError, "spike times of unit 'a' contains .*infinite"),
        ([[0.1]], [0.0, np.nan], {}, ValueError, r"events contains 1 non-finite value\(s\) \(NaN at index 1\)"),
        ([[0.1]], [], {}, ValueError, "events is empty"),
        ([[0.1]], [[0.0, 1.0]], {}, ValueError, "events must be a 1-D array"),
        ([[[0.1, 0.2]]], [0.0], {}, ValueError, "spike times of unit 0 must be a 1-D array"),
        ([["a"]], [0.0], {}, ValueError,
         "spike times of unit 0 must be a 1-D array of times in seconds, could not convert"),
        ([], [0.0], {}, ValueError, "spike_times holds no units"),
        (np.zeros((3, 4)), [0.0], {}, TypeError,
         r"numeric array of shape \(3, 4\); for a single unit pass \[times\]"),
        ("spikes", [0.0], {}, TypeError, "spike_times must be a list"),
        (5, [0.0], {}, TypeError, "got int"),
        ([[0.1]], [0.0], {"window": (10, 10)}, ValueError,
         r"window stop must be greater than start, got window=\(10, 10\)"),
        ([[0.1]], [0.0], {"window": (10, 0)}, ValueError, "window stop must be greater than start"),
        ([[0.1]], [0.0], {"window": (0, 10), "bin_size": 3}, ValueError,
         r"not a whole number of bins .* \(3.333333 bins\); use e.g. window=\(0, 9\)"),
        ([[0.1]], [0.0], {"window": (0, 10), "bin_size": 0}, ValueError, "bin_size must be a positive finite number"),
        ([[0.1]], [0.0], {"window": (0, 10), "bin_size": -1}, ValueError, "bin_size must be a positive"),
        ([[0.1]], [0.0], {"window": (0, 10), "units": "us"}, ValueError, "units must be 'ms' or 's'"),
        ([[0.1]], [0.0], {"window": (0, 10, 20)}, ValueError, r"window must be a pair \(start, stop\)"),
        ([[0.1]], [0.0], {"window": (0, np.nan)}, ValueError, "window must hold two finite numbers"),
        ([[0.1]], [0.0], {"window": (0, 10), "dtype": np.complex64}, ValueError, "dtype must be an integer"),
        ([[0.1, 0.1001]], [0.1], {"window": (0, 10), "bin_size": 10, "dtype": bool}, ValueError,
         "cannot hold spike counts above 1"),
    ],
)
def test_bad_input(spikes, events, kwargs, exc, match):
    kwargs = {"window": (0, 10), **kwargs}
    with pytest.raises(exc, match=match):
        bin_spike_times(spikes, events, **kwargs)


def test_window_is_required():
    with pytest.raises(TypeError, match="window"):
        bin_spike_times([[0.1]], [0.0])


def test_float_rounding_of_the_window_is_accepted():
    out = bin_spike_times([[0.0301]], [0.0], window=(0.0, 0.05), bin_size=0.001, units="s")
    assert out.X.shape == (1, 50, 1) and out.X[0, 30, 0] == 1


def test_float32_windows_and_bin_sizes_are_whole_numbers_of_bins_in_float32():
    """A window or bin size read as float32 (a MATLAB file) was refused with a message that suggested
    the very window given: whole numbers of bins are checked at the precision of the input."""
    out = bin_spike_times([[0.0301]], [0.0], window=np.array([-0.1, 0.4], dtype=np.float32), bin_size=0.01, units="s")
    assert out.X.shape == (1, 50, 1) and out.X[0, 13, 0] == 1
    out = bin_spike_times([[0.0301]], [0.0], window=(0, 0.05), bin_size=np.float32(0.001), units="s")
    assert out.X.shape == (1, 50, 1) and out.X[0, 30, 0] == 1
    with pytest.raises(ValueError, match=r"\(50.5 bins\); use e.g. window=\(0, 0.05\)"):
        bin_spike_times([[0.01]], [0.0], window=(0, np.float32(0.0505)), bin_size=0.001, units="s")
    # the bins are those of the window asked for: the float32 bin size (0.0010000000475) would put the
    # last edge 7e-5 bins past the stop, counting a spike at the (right-open) stop
    f32 = np.float32
    out = bin_spike_times([[11.0, 11.00000005]], [10.0], window=(f32(-0.5), f32(1.0)), bin_size=f32(0.001), units="s")
    assert out.X.sum() == 0 and out.bin_size == 0.001 and out.times[-1] == pytest.approx(0.999, abs=1e-12)
    # a window far from 0 loses float32 precision in stop - start, and is still whole
    assert bin_spike_times([[1000.2]], [0.0], window=(f32(1000.1), f32(1000.6)), bin_size=0.01, units="s").X.sum() == 1
    # float32 precision is not a licence for half a bin in a long window
    with pytest.raises(ValueError, match=r"\(300000.5 bins\)"):
        bin_spike_times([[0.1]], [0.0], window=(f32(0), f32(300000.5)), bin_size=f32(1))


def test_durations_are_converted_by_their_unit_and_dates_refused():
    """timedelta64 spike times were read as raw numbers (1 ms as 1 s: counts in the wrong bins)."""
    import datetime as dt

    expected = bin_spike_times([[0.001, 0.0021, 0.0025]], [0.0], window=(0, 3)).X
    assert expected[0, :, 0].tolist() == [0, 1, 2]
    cases = [
        ([np.array([1000, 2100, 2500], dtype="m8[us]")], np.array([0], dtype="m8[ms]")),
        ([[dt.timedelta(milliseconds=1), dt.timedelta(microseconds=2100), dt.timedelta(microseconds=2500)]],
         [dt.timedelta(0)]),
    ]
    pd = pytest.importorskip("pandas")
    cases.append(([pd.Series(pd.to_timedelta([1.0, 2.1, 2.5], unit="ms"))], pd.to_timedelta([0], unit="s")))
    for spikes, events in cases:
        np.testing.assert_array_equal(bin_spike_times(spikes, events, window=(0, 3)).X, expected)
    for dates in ([np.array(["2020-01-01T00:00:01"], dtype="M8[s]")], [[pd.Timestamp("2020-01-01")]],
                  [[dt.datetime(2020, 1, 1)]]):
        with pytest.raises(TypeError, match=r"spike times of unit 0 are dates and times .* common origin"):
            bin_spike_times(dates, [0.0], window=(0, 3))


def test_a_pandas_series_of_spike_trains_keeps_its_index_as_unit_ids():
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame({"unit": [3, 3, 7, 12], "time": [0.001, 0.002, 0.001, 0.0031]})
    for spikes in (table.groupby("unit")["time"].apply(np.array), table.groupby("unit")["time"]):
        out = bin_spike_times(spikes, [0.0], window=(0, 5))
        assert out.unit_ids.tolist() == [3, 7, 12]
        assert out.X[0].T.tolist() == [[0, 1, 1, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 1, 0]]
    with pytest.raises(TypeError, match="got a pandas Series of numbers .* for a single unit pass \\[times\\]"):
        bin_spike_times(table["time"], [0.0], window=(0, 5))
    with pytest.raises(ValueError, match=r"unit ids must be unique: \[1\] appear more than once"):
        bin_spike_times(pd.Series([np.array([0.001]), np.array([0.002])], index=[1, 1]), [0.0], window=(0, 5))


# ---------------------------------------------------------------------------------------------
# NWB
# ---------------------------------------------------------------------------------------------
def test_nwb_round_trip_and_fit(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    nwbfile, spikes, target_on, starts, labels = _make_nwb()
    path = tmp_path / "session.nwb"
    with pynwb.NWBHDF5IO(str(path), mode="w") as io:
        io.write(nwbfile)

    data = from_nwb(path, event="target_on_time", window=(0, 50), bin_size=1.0, label_column="direction")
    ref = bin_spike_times(spikes, target_on, window=(0, 50), bin_size=1.0)
    np.testing.assert_array_equal(data.X, ref.X)
    assert data.X.shape == (32, 50, 6) and data.X.dtype == np.uint8 and data.X.sum() > 0
    np.testing.assert_array_equal(data.unit_ids, 100 + np.arange(6))
    np.testing.assert_array_equal(data.trial_ids, np.arange(32))
    np.testing.assert_array_equal(data.times, ref.times)
    assert data.y.tolist() == labels.tolist() and isinstance(data.y[0], str)
    assert data.event == "target_on_time"
    # the file was closed: it can be overwritten (HDF5 refuses to truncate a file still open)
    with pynwb.NWBHDF5IO(str(path), mode="w") as io:
        io.write(_make_nwb()[0])

    # default event: the trials' start_time; a str path works too
    by_start = from_nwb(str(path), window=(-100, 400), bin_size=10)
    np.testing.assert_array_equal(by_start.X, bin_spike_times(spikes, starts, window=(-100, 400), bin_size=10).X)
    assert "y" not in by_start

    clf = SpikingRNNClassifier(n_hidden=8, max_epochs=1, random_state=0).fit(data.X, data.y)
    assert set(clf.classes_) == set(DIRECTIONS)
    assert clf.n_features_in_ == 6
    assert clf.predict(data.X[:4]).shape == (4,)


def test_nwb_obs_intervals_mark_the_windows_a_unit_was_observed():
    """A unit lost by the sorter at 100 s (its obs_intervals say so) came back as silence in every
    later trial, without a word (audit of data import, twenty-first session)."""
    pynwb = pytest.importorskip("pynwb")
    nwb = pynwb.NWBFile("s", "id", datetime(2024, 1, 1, tzinfo=timezone.utc))
    ev = np.arange(1, 41) * 5.0
    for e in ev:
        nwb.add_trial(start_time=e, stop_time=e + 1)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hdmf's dtype conversion of the intervals
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 205, 2000)), obs_intervals=[[0.0, 205.0]])
        # lost at 100 s, back from 150 s, in two touching intervals (merged: windows across 170 s count)
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 100, 500)), obs_intervals=[[0.0, 100.0], [150.0, 170.0],
                                                                                       [170.0, 205.0]])
        nwb.add_unit(spike_times=[1.0], obs_intervals=np.zeros((0, 2)))  # none given: observed throughout
    with pytest.warns(UserWarning, match=r"11 of the 120 trial x unit windows lie outside their unit's obs_intervals "
                                         r"\(units \[1\]\)"):
        out = from_nwb(nwb, window=(-200, 300), units="ms")
    expected = ~((ev - 0.2 < 150.0) & (ev + 0.3 > 100.0))  # [e - 0.2, e + 0.3) inside [0, 100] or [150, 205]
    np.testing.assert_array_equal(out.observed[:, 1], expected)
    assert out.observed[:, [0, 2]].all()
    nwb2 = pynwb.NWBFile("s", "id", datetime(2024, 1, 1, tzinfo=timezone.utc))
    nwb2.add_trial(start_time=1.0, stop_time=2.0)
    nwb2.add_unit(spike_times=[1.1])
    assert from_nwb(nwb2, window=(0, 100)).observed is None  # no obs_intervals column


def test_nwb_open_file_and_selections(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    nwbfile, spikes, target_on, starts, labels = _make_nwb(n_units=4, n_trials=12, seed=1)
    path = tmp_path / "s.nwb"
    with pynwb.NWBHDF5IO(str(path), mode="w") as io:
        io.write(nwbfile)
    with pynwb.NWBHDF5IO(str(path), mode="r") as io:
        opened = io.read()
        keep = np.arange(12) % 3 != 0
        data = from_nwb(
            opened, event="target_on_time", window=(0, 20), bin_size=2, unit_ids=[103, 101],
            trials=keep, label_column="direction",
        )
        ref = bin_spike_times([spikes[3], spikes[1]], target_on[keep], window=(0, 20), bin_size=2)
        np.testing.assert_array_equal(data.X, ref.X)
        np.testing.assert_array_equal(data.unit_ids, [103, 101])
        np.testing.assert_array_equal(data.trial_ids, np.flatnonzero(keep))
        assert data.y.tolist() == labels[keep].tolist()
        mask = from_nwb(opened, window=(0, 20), unit_ids=np.array([True, False, False, True]))
        np.testing.assert_array_equal(mask.unit_ids, [100, 103])
        # the in-memory file gives the same as the written one
        np.testing.assert_array_equal(
            from_nwb(nwbfile, event="target_on_time", window=(0, 20), bin_size=2).X,
            from_nwb(opened, event="target_on_time", window=(0, 20), bin_size=2).X,
        )


def test_nwb_bad_input(tmp_path):
    pytest.importorskip("pynwb")
    nwbfile, *_ = _make_nwb(n_units=2, n_trials=4)
    with pytest.raises(ValueError, match=r"event 'go_cue' is not a column of the trials table; its columns are \["):
        from_nwb(nwbfile, event="go_cue", window=(0, 10))
    with pytest.raises(ValueError, match="label_column 'outcome' is not a column"):
        from_nwb(nwbfile, window=(0, 10), label_column="outcome")
    with pytest.raises(ValueError, match=r"unit_ids \[7\] are not ids of the units table \(ids: \[100, 101\]\)"):
        from_nwb(nwbfile, window=(0, 10), unit_ids=[7])
    with pytest.raises(ValueError, match="boolean trials mask must have shape"):
        from_nwb(nwbfile, window=(0, 10), trials=[True, False])
    with pytest.raises(ValueError, match="not a whole number of bins"):
        from_nwb(nwbfile, window=(0, 10), bin_size=3)
    with pytest.raises(FileNotFoundError, match="no such NWB file"):
        from_nwb(tmp_path / "missing.nwb", window=(0, 10))
    with pytest.raises(TypeError, match="nwbfile must be a path or a pynwb.NWBFile"):
        from_nwb(42, window=(0, 10))
    # a string column as the event: the message names it (it was numpy's "could not convert 'left'")
    with pytest.raises(ValueError, match="event column 'direction' must hold times in seconds"):
        from_nwb(nwbfile, event="direction", window=(0, 10))


def test_nwb_units_table_without_spike_times():
    """A units table without spike times (e.g. only waveforms) gave a bare KeyError."""
    pynwb = pytest.importorskip("pynwb")
    nwbfile = pynwb.NWBFile(session_description="s", identifier="x", session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    nwbfile.add_unit_column(name="quality", description="sorting quality")
    nwbfile.add_unit(quality="good")
    nwbfile.add_trial_column(name="target_on_time", description="target onset (s)")
    nwbfile.add_trial(start_time=0.0, stop_time=1.0, target_on_time=0.5)
    with pytest.raises(ValueError, match=r"no 'spike_times' column; its columns are \['quality'\]"):
        from_nwb(nwbfile, window=(0, 10))


def test_nwb_repeated_unit_ids_are_refused():
    """A repeated id in unit_ids used to collapse into one channel of X."""
    pynwb = pytest.importorskip("pynwb")
    nwbfile, *_ = _make_nwb(n_units=3, n_trials=4)
    with pytest.raises(ValueError, match=r"unit_ids must not repeat an id .*: \[100\] given more than once"):
        from_nwb(nwbfile, window=(0, 10), unit_ids=[100, 100, 101])
    with pytest.raises(ValueError, match=r"\[101, 100\] given more than once"):
        from_nwb(nwbfile, window=(0, 10), unit_ids=[101, 100, 102, 100, 101])
    # repeated trials are kept, as before
    d = from_nwb(nwbfile, window=(0, 10), trials=[0, 0, 1])
    assert d.X.shape[0] == 3 and d.trial_ids.tolist() == [0, 0, 1]
    # a units table whose rows share an id
    dup = pynwb.NWBFile("s", "id", datetime(2024, 1, 1, tzinfo=timezone.utc))
    dup.add_trial(start_time=0.0, stop_time=1.0)
    for t in (0.001, 0.002, 0.003):
        dup.add_unit(spike_times=[t], id=7 if t < 0.003 else 8)
    with pytest.raises(ValueError, match=r"several rows with the id\(s\) \[7\]"):
        from_nwb(dup, window=(0, 10))
    one = from_nwb(dup, window=(0, 10), unit_ids=np.array([True, False, True]))
    assert one.unit_ids.tolist() == [7, 8] and one.X[0, :, 0].tolist() == [0, 1] + [0] * 8


def test_nwb_nan_event_names_the_trials():
    pynwb = pytest.importorskip("pynwb")
    nwbfile = pynwb.NWBFile("s", "id", datetime(2024, 1, 1, tzinfo=timezone.utc))
    nwbfile.add_trial_column(name="target_on_time", description="onset, NaN if aborted")
    for i, t in enumerate([0.5, np.nan, 4.5]):
        nwbfile.add_trial(start_time=2.0 * i, stop_time=2.0 * i + 1, target_on_time=t)
    nwbfile.add_unit(spike_times=[0.51, 4.52])
    msg = r"NaN or infinite for 1 selected trial\(s\) \(table rows \[1\]\); drop them with trials=mask"
    with pytest.raises(ValueError, match=msg):
        from_nwb(nwbfile, event="target_on_time", window=(0, 50))
    ok = from_nwb(nwbfile, event="target_on_time", window=(0, 50), bin_size=10, trials=[0, 2])
    # 0.51 s and 4.52 s sit on the 10 ms and 20 ms edges: bins 1 and 2
    np.testing.assert_array_equal(ok.X[:, :, 0], [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0]])


def test_nwb_missing_pynwb_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pynwb", None)  # makes `import pynwb` raise ImportError
    with pytest.raises(ImportError, match=r'from_nwb needs .*pynwb.*pip install "motorsrnn\[nwb\]"'):
        from_nwb(tmp_path / "session.nwb", window=(0, 10))


# ---------------------------------------------------------------------------------------------
# neo and pynapple adapters
# ---------------------------------------------------------------------------------------------
def test_from_neo():
    neo = pytest.importorskip("neo")
    pq = pytest.importorskip("quantities")
    trains = [
        neo.SpikeTrain([3, 12, 1004] * pq.ms, t_stop=2 * pq.s, name="ch1"),
        neo.SpikeTrain([0.0015, 1.0] * pq.s, t_stop=2 * pq.s, name="ch2"),
    ]
    events = neo.Event([0.0, 1.0] * pq.s)
    out = from_neo(trains, events, window=(0, 20), bin_size=10)
    np.testing.assert_array_equal(out.unit_ids, ["ch1", "ch2"])
    ref = bin_spike_times([[0.003, 0.012, 1.004], [0.0015, 1.0]], [0.0, 1.0], window=(0, 20), bin_size=10)
    np.testing.assert_array_equal(out.X, ref.X)
    seg = neo.Segment()
    seg.spiketrains.extend(trains)
    np.testing.assert_array_equal(from_neo(seg, [0.0, 1000.0] * pq.ms, window=(0, 20), bin_size=10).X, ref.X)
    with pytest.raises(TypeError, match="for one unit pass \\[train\\]"):
        from_neo(trains[0], [0.0], window=(0, 20))


def test_from_neo_containers_and_lists_of_quantities():
    """A list of quantities keeps its units (np.asarray dropped them: ms read as s), containers
    that are not one recording's units are named, and a non-time unit says what it is."""
    neo = pytest.importorskip("neo")
    pq = pytest.importorskip("quantities")
    trains = [neo.SpikeTrain([3, 12, 1004] * pq.ms, t_stop=2 * pq.s, name="ch1")]
    ref = from_neo(trains, neo.Event([0.0, 1.0] * pq.s), window=(0, 20), bin_size=10).X
    assert ref.sum() == 3
    np.testing.assert_array_equal(from_neo(trains, [0 * pq.ms, 1000 * pq.ms], window=(0, 20), bin_size=10).X, ref)
    np.testing.assert_array_equal(from_neo(trains, [0 * pq.s, 1000 * pq.ms], window=(0, 20), bin_size=10).X, ref)
    with pytest.raises(TypeError, match="mixes quantities and plain numbers"):
        from_neo(trains, [0 * pq.s, 1.0], window=(0, 20))
    seg = neo.Segment()
    seg.events.append(neo.Event([0.0, 1.0] * pq.s))
    with pytest.raises(TypeError, match=r"list of Event .* segment.events\[0\]"):
        from_neo(trains, seg.events, window=(0, 20))
    with pytest.raises(ValueError, match="holds no spike trains"):
        from_neo(seg, [0.0], window=(0, 20))
    block = neo.Block()
    block.segments.append(seg)
    with pytest.raises(TypeError, match="neo.Block of 1 segment.*call from_neo on each"):
        from_neo(block, [0.0], window=(0, 20))
    group = neo.Group()
    group.add(*trains)
    np.testing.assert_array_equal(from_neo(group, [0.0, 1.0], window=(0, 20), bin_size=10).X, ref)
    with pytest.raises(ValueError, match="events must be in a unit of time"):
        from_neo(trains, [0.0, 1.0] * pq.mV, window=(0, 20))


def test_from_neo_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "neo", None)
    with pytest.raises(ImportError, match=r'pip install "motorsrnn\[neo\]"'):
        from_neo([], [0.0], window=(0, 10))


def test_from_pynapple():
    nap = pytest.importorskip("pynapple")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group = nap.TsGroup({7: nap.Ts(t=np.array([0.003, 0.012, 1.004])), 9: nap.Ts(t=np.array([1.0]))})
        events = nap.Ts(t=np.array([0.0, 1.0]))
        out = from_pynapple(group, events, window=(0, 20), bin_size=10)
        np.testing.assert_array_equal(out.unit_ids, [7, 9])
        np.testing.assert_array_equal(out.X, [[[1, 0], [1, 0]], [[1, 1], [0, 0]]])
        epochs = nap.IntervalSet(start=[0.0, 1.0], end=[0.5, 1.5])
        np.testing.assert_array_equal(from_pynapple(group, epochs, window=(0, 20), bin_size=10).X, out.X)
    with pytest.raises(TypeError, match="tsgroup must be a pynapple.TsGroup"):
        from_pynapple([np.array([0.1])], [0.0], window=(0, 10))


def test_from_pynapple_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynapple", None)
    with pytest.raises(ImportError, match=r'pip install "motorsrnn\[pynapple\]"'):
        from_pynapple({}, [0.0], window=(0, 10))


# ---------------------------------------------------------------------------------------------
# cut_samples: trials cut into short samples (the motorSRNN paper's 50 ms samples)
# ---------------------------------------------------------------------------------------------
def naive_cut(X, width, step):
    """Reference: a loop over trials and sample starts."""
    samples, trials, offsets = [], [], []
    for i in range(X.shape[0]):
        start = 0
        while start + width <= X.shape[1]:
            samples.append(X[i, start:start + width])
            trials.append(i)
            offsets.append(start)
            start += step
    return np.array(samples), np.array(trials), np.array(offsets)


@pytest.mark.parametrize("width,step", [(50, None), (50, 50), (30, 7), (50, 80), (120, None), (1, 1)])
def test_cut_samples_matches_a_loop(width, step):
    rng = np.random.default_rng(0)
    X = rng.poisson(0.3, size=(5, 120, 4)).astype(np.uint8)
    labels = np.array([3, 0, 2, 1, 3])
    per_bin = rng.normal(size=(5, 120, 2))
    s = cut_samples(X, labels, width=width, step=step)
    ref, trials, offsets = naive_cut(X, width, width if step is None else step)
    np.testing.assert_array_equal(s.X, ref)
    assert s.X.dtype == np.uint8
    np.testing.assert_array_equal(s.trial, trials)
    np.testing.assert_array_equal(s.offset, offsets)
    np.testing.assert_array_equal(s.y, labels[trials])
    assert s.n_per_trial * 5 == len(ref)
    r = cut_samples(X, per_bin, width=width, step=step)
    np.testing.assert_array_equal(
        r.y, np.array([per_bin[t, o:o + width] for t, o in zip(trials, offsets)]))
    per_trial = per_bin[:, 0, :]  # (n_trials, n_outputs): targets per trial, as the regressor takes them
    np.testing.assert_array_equal(cut_samples(X, per_trial, width=width, step=step).y, per_trial[trials])
    assert cut_samples(X, width=width, step=step).y is None


def test_cut_samples_returns_a_copy():
    X = np.zeros((2, 100, 3))
    s = cut_samples(X, width=50)
    s.X[0, 0, 0] = 7.0
    assert X[0, 0, 0] == 0.0


def test_cut_samples_groups_keep_trials_together():
    """The documented use: ``trial`` as groups, so no trial has samples on both sides of a split."""
    from sklearn.model_selection import GroupKFold

    X = np.zeros((12, 200, 2))
    s = cut_samples(X, np.arange(12) % 4, width=50)
    for train, test in GroupKFold(n_splits=3).split(s.X, s.y, groups=s.trial):
        assert not set(s.trial[train]) & set(s.trial[test])
        assert len(test) == 4 * s.n_per_trial


def test_cut_samples_bad_input():
    X = np.zeros((3, 100, 2))
    with pytest.raises(ValueError, match="3-D"):
        cut_samples(X[0], width=50)
    with pytest.raises(ValueError, match="longer than the trials"):
        cut_samples(X, width=101)
    with pytest.raises(ValueError, match="width must be >= 1"):
        cut_samples(X, width=0)
    with pytest.raises(TypeError, match="width must be an integer"):
        cut_samples(X, width=50.0)
    with pytest.raises(ValueError, match="step must be >= 1"):
        cut_samples(X, width=50, step=0)
    with pytest.raises(ValueError, match="one entry per trial"):
        cut_samples(X, [0, 1], width=50)
    with pytest.raises(ValueError, match="per time bin and must have X's 100 time bins"):
        cut_samples(X, np.zeros((3, 99, 1)), width=50)
    with pytest.raises(ValueError, match="one entry per trial"):
        cut_samples(X, np.zeros((3, 100, 1, 1)), width=50)


def test_cut_samples_feed_the_estimators():
    """Samples and their per-bin targets go straight into the regressor, and into a grouped
    cross-validation of the classifier."""
    from sklearn.base import clone
    from sklearn.model_selection import GroupKFold, cross_val_score

    from motorsrnn import SpikingRNNRegressor

    rng = np.random.default_rng(1)
    X = (rng.random((12, 60, 5)) < 0.05).astype(np.uint8)
    Y = rng.normal(size=(12, 60, 2)).astype(np.float32)
    s = cut_samples(X, Y, width=20)
    reg = SpikingRNNRegressor(n_hidden=8, max_epochs=1, random_state=0).fit(s.X, s.y)
    assert reg.predict(s.X).shape == (36, 20, 2)
    c = cut_samples(X, np.arange(12) % 2, width=20)
    clf = SpikingRNNClassifier(n_hidden=8, max_epochs=1, random_state=0)
    cv = GroupKFold(n_splits=3)
    scores = cross_val_score(clf, c.X, c.y, groups=c.trial, cv=cv)
    by_hand = []
    for train, test in cv.split(c.X, c.y, groups=c.trial):
        assert not set(c.trial[train]) & set(c.trial[test])
        by_hand.append(clone(clf).fit(c.X[train], c.y[train]).score(c.X[test], c.y[test]))
    np.testing.assert_array_equal(scores, by_hand)


def test_bin_spike_times_warns_when_no_spike_falls_in_any_window():
    """Spike times in ms with events in seconds (or sample indices, or a window in seconds with
    units="ms") gave an all-zero X without a word."""
    ms_trains = [np.arange(0.0, 1e5, 7.0)]
    with pytest.warns(UserWarning, match=r"none of the \d+ spikes falls in a trial's window.*seconds"):
        rec = bin_spike_times(ms_trains, [1.0, 2.0], window=(0, 50))
    assert rec.X.sum() == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = bin_spike_times([np.arange(0.0, 100.0, 0.007)], [1.0, 2.0], window=(0, 50))  # seconds: fine
        assert ok.X.sum() > 0
        bin_spike_times([[], []], [1.0], window=(0, 50))  # no spikes at all: nothing to warn about
        sparse = bin_spike_times([[0.5, 8.0]], [1.0, 4.0, 7.0], window=(0, 10))  # just no spike in the windows
        assert sparse.X.sum() == 0
    with pytest.warns(UserWarning, match="units='s'"):
        bin_spike_times([np.arange(0.0, 100.0, 0.007)], [1.0, 2.0], window=(-0.2, 0.3), bin_size=0.01)
    # a window in seconds with the default 1 ms bins: 2 bins of a 2 ms window, silently
    with pytest.warns(UserWarning, match="the window spans only 2 ms: .*for seconds pass units='s'"):
        short = bin_spike_times([np.arange(0.0, 100.0, 0.0007)], [1.0, 2.0], window=(-1, 1))
    assert short.X.shape[1] == 2
    with pytest.raises(ValueError, match=r"not a whole number of bins.*for a window in seconds pass units='s'"):
        bin_spike_times([np.arange(0.0, 100.0, 0.007)], [1.0, 2.0], window=(0, 0.2))
    with pytest.raises(ValueError, match=r"not a whole number of bins of bin_size = 1 ms \(300.5 bins\); use e.g. "
                                         r"window=\(0, 300\) or a bin_size that divides 300.5$"):
        bin_spike_times([np.arange(0.0, 100.0, 0.007)], [1.0, 2.0], window=(0, 300.5))  # a long one: no hint


def test_cut_samples_warns_about_per_bin_targets_given_2d():
    X = np.zeros((2, 130, 1), dtype=np.uint8)
    with pytest.warns(UserWarning, match=r"y\[\.\.\., None\]"):
        s = cut_samples(X, np.zeros((2, 130)), width=50)
    assert s.y.shape == (4, 130)  # as documented: outputs per trial, repeated
    per_bin = cut_samples(X, np.arange(260.0).reshape(2, 130)[..., None], width=50)
    np.testing.assert_array_equal(per_bin.y[1, :, 0], np.arange(50.0, 100.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cut_samples(X, np.zeros((2, 3)), width=50)  # three outputs per trial: no warning


def test_a_float_dtype_must_hold_the_counts_exactly():
    """float16 turned a count of 3000 into 3000 +- 2 (and 70000 into inf) with only numpy's warning."""
    with pytest.raises(ValueError, match=r"dtype=float16 cannot hold a count of 3000 spikes in one bin exactly"):
        bin_spike_times([np.zeros(3000)], [0.0], window=(0, 1), dtype=np.float16)
    out = bin_spike_times([np.zeros(2048)], [0.0], window=(0, 1), dtype=np.float16).X
    assert out.dtype == np.float16 and out.max() == 2048


def test_from_neo_names_a_wrong_container():
    pytest.importorskip("neo")
    for bad in (None, 5, "trains"):
        with pytest.raises(TypeError, match="spiketrains must be a neo.Segment, a neo.Group, a list of neo.SpikeTrain"):
            from_neo(bad, [0.0], window=(0, 10))


def test_inputs_that_are_not_spike_times_are_refused():
    """A boolean raster was read as spike times (every spike at the same time), a flat list of times
    gave "an array of shape ()", and from_neo counted an AnalogSignal's samples or a 2-D array's
    rows as spikes (bad-input audit of the sixteenth session)."""
    raster = np.zeros(5000, bool)
    raster[[1000, 1200, 3000]] = True
    with pytest.raises(TypeError, match=r"boolean, like a raster .* np.flatnonzero\(raster\) / sampling_rate_hz"):
        bin_spike_times([raster], [1.0], window=(-100, 400))
    with pytest.raises(TypeError, match="flat list of numbers; for a single unit pass"):
        bin_spike_times([0.1, 0.2, 0.5], [0.0], window=(0, 10))
    neo = pytest.importorskip("neo")
    pq = pytest.importorskip("quantities")
    signal = neo.AnalogSignal(np.random.default_rng(0).random((2000, 2)), units="Hz", sampling_rate=1 * pq.kHz)
    for trains, which in (([signal], "0"), ({"lfp": signal}, "'lfp'")):
        with pytest.raises(TypeError, match=f"spike train {which} is of type AnalogSignal, not neo.SpikeTrain"):
            from_neo(trains, [0.1, 0.5], window=(0, 100))
    with pytest.raises(TypeError, match=r"got a numeric array of shape \(3, 50\)"):
        from_neo(np.random.default_rng(0).random((3, 50)), [0.1], window=(0, 100))


def test_a_window_beyond_memory_names_window_and_bin_size():
    """window=(0, 1e12) failed in numpy ("Unable to allocate 14.6 TiB") without naming the window."""
    with pytest.raises(MemoryError, match=r"bins x 1 units .* check window=\(0, 1000000000000.0\) and bin_size=1.0 \(in ms\)"):
        bin_spike_times([[0.1]], [0.0, 1.0], window=(0, 1e12))



def test_the_memory_estimate_counts_the_unit_being_binned(monkeypatch):
    """One unit: counting it makes an int64 array per trial and bin (8 times X in uint8), which the
    estimate left out (numpy then failed with "Unable to allocate 74.5 GiB"). With 5 GB to use,
    1000 trials x 1e6 bins fit twice as uint8 (2 GB) but not with the int64 counts (10 GB)."""
    import motorsrnn._validation as validation

    monkeypatch.setattr(validation, "memory_limit", lambda: 5e9)
    with pytest.raises(MemoryError, match="and one unit's counts"):
        bin_spike_times([[1.0]], np.arange(1000.0), window=(0, 1e6))


def test_spike_times_in_ms_with_events_in_s_warn_even_when_some_spikes_count():
    """A 1000 s session with spike times in ms and events in s counted the spikes of the first
    second only, silently (the warning came only when no spike at all was counted)."""
    rng = np.random.default_rng(0)
    events = np.arange(1.0, 1000.0, 5.0)
    spikes = [np.sort(rng.uniform(0.0, 1000.0, 20000)) for _ in range(3)]
    with pytest.warns(UserWarning, match=r"the spikes span .* 1005 times the trials' windows .* 9 of the 60000 spikes"):
        bin_spike_times([t * 1000.0 for t in spikes], events, window=(0, 500))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same session in seconds: no warning
        bin_spike_times(spikes, events, window=(0, 500))


def test_float32_spike_times_too_coarse_for_the_bins_warn():
    """float32 times of a 1000 s session are exact to 0.06 ms only: counts in 1 ms bins moved."""
    rng = np.random.default_rng(1)
    late = np.sort(rng.uniform(900.0, 1000.0, 5000))
    with pytest.warns(UserWarning, match=r"unit 0 are float32: at 999.9.* s they are exact only to 0.061 ms"):
        bin_spike_times([late.astype(np.float32)], [950.0], window=(0, 100))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float32 times of a short recording are fine for 1 ms bins
        bin_spike_times([(late - 900.0).astype(np.float32)], [50.0], window=(0, 100))


def test_float32_event_times_and_neo_trains_too_coarse_for_the_bins_warn():
    """float32 events moved 1180 bins without a word, and from_neo converted float32 trains to
    float64 before the check (audit of data import, twenty-first session)."""
    rng = np.random.default_rng(2)
    events = np.sort(rng.uniform(900.0, 1000.0, 20))
    spikes = [np.sort(rng.uniform(890.0, 1000.0, 3000))]
    with pytest.warns(UserWarning, match=r"event times are float32: at 99\d.* s they are exact only to 0.061 ms"):
        bin_spike_times(spikes, events.astype(np.float32), window=(0, 100))
    neo = pytest.importorskip("neo")
    pq = pytest.importorskip("quantities")
    train = neo.SpikeTrain(spikes[0].astype(np.float32), units="s", t_stop=1000.0)
    assert train.dtype == np.float32
    with pytest.warns(UserWarning, match=r"unit 0 are float32"):
        from_neo([train], events, window=(0, 100))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_neo([neo.SpikeTrain(spikes[0] * pq.s, t_stop=1000.0 * pq.s)], events, window=(0, 100))


def test_float32_window_and_bin_size_are_their_decimals():
    """A float32 window (-0.3, 0.6) s kept its rounding (0.30000001192...): the analyses then
    refused window=(0, 0.3) as off the bin edges, and early_classification times=[100]."""
    from motorsrnn import PoissonNaiveBayes
    from motorsrnn.analysis import early_classification
    from motorsrnn.tuning import fit_cosine_tuning

    rng = np.random.default_rng(3)
    events = np.arange(1.0, 41.0)
    spikes = [np.sort(rng.uniform(0.0, 42.0, 800)) for _ in range(3)]
    f32 = np.float32
    b = bin_spike_times(spikes, events, window=(f32(-0.3), f32(0.6)), bin_size=f32(0.001), units="s")
    assert b.window == (-0.3, 0.6) and b.bin_size == 0.001
    ref = bin_spike_times(spikes, events, window=(-0.3, 0.6), bin_size=0.001, units="s")
    np.testing.assert_array_equal(b.X, ref.X)
    np.testing.assert_array_equal(b.times, ref.times)
    labels = np.arange(40) % 4
    assert fit_cosine_tuning(b, labels, window=(0, 0.3)).n_neurons == 3
    nb = PoissonNaiveBayes().fit(b.X, labels)
    assert early_classification(nb, b, labels, times=[100, 200]).times.tolist() == [100.0, 200.0]


def test_units_mix_ups_warn_by_the_windows_share_of_the_time_between_events():
    """Spikes and events both in sample indices (or ms) with the window in ms: trials thousands of
    units apart, windows of half a unit, one spike counted and no warning. And a block of trials
    within a long session warned as if spike times were in ms."""
    rng = np.random.default_rng(4)
    events_s = np.sort(rng.uniform(10.0, 990.0, 100))
    spikes_s = [np.sort(rng.uniform(0.0, 1000.0, 20000)) for _ in range(2)]
    fs = 30000.0
    with pytest.warns(UserWarning, match=r"spans 0.5 s, under 0.1% of the median time between events"):
        bin_spike_times([t * fs for t in spikes_s], events_s * fs, window=(-100, 400))
    with pytest.warns(UserWarning, match=r"under 0.1% of the median time between events"):
        bin_spike_times([t * 1000 for t in spikes_s], events_s * 1000, window=(-100, 400))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bin_spike_times(spikes_s, events_s, window=(-100, 400))  # all in seconds
        block = events_s[(events_s > 480) & (events_s < 500)]  # trials in the middle of a long session
        bin_spike_times(spikes_s, block, window=(-100, 400))


def test_complex_times_are_refused_not_cut_to_their_real_part():
    with pytest.raises(TypeError, match="spike times of unit 0 are complex numbers: times must be real"):
        bin_spike_times([np.array([0.005 + 3j])], [0.0], window=(0, 10))
    with pytest.raises(TypeError, match="events are complex numbers"):
        bin_spike_times([[0.005]], [0.0 + 1j], window=(0, 10))


def test_a_step_beyond_int64_gives_one_sample_per_trial():
    """step=2**63 raised "OverflowError: Python int too large to convert to C long"."""
    X = np.arange(2 * 10).reshape(2, 10, 1)
    huge = cut_samples(X, [0, 1], width=5, step=2**63)
    np.testing.assert_array_equal(huge.X, cut_samples(X, [0, 1], width=5, step=6).X)
    np.testing.assert_array_equal(huge.offset, [0, 0])


def test_unit_ids_keep_the_columns_of_units_silent_in_a_session():
    """A groupby of a session's spikes has no group for a unit that never fired: binning gave 59
    columns where the other sessions had 60, and nothing lined them up."""
    pd = pytest.importorskip("pandas")
    spikes = pd.DataFrame({"unit": [3, 3, 1, 7], "time": [1.001, 1.002, 1.0005, 2.003]})
    grouped = spikes.groupby("unit")["time"]
    all_units = [1, 2, 3, 7]
    b = bin_spike_times(grouped, [1.0, 2.0], window=(0, 5), unit_ids=all_units)
    assert b.X.shape == (2, 5, 4) and b.unit_ids.tolist() == all_units
    np.testing.assert_array_equal(b.X.sum(axis=(0, 1)), [1, 0, 2, 1])  # unit 2 fired nowhere: zeros
    np.testing.assert_array_equal(b.X[:, :, [0, 2, 3]], bin_spike_times(grouped, [1.0, 2.0], window=(0, 5)).X)
    reordered = bin_spike_times({"b": [1.001], "a": [1.002]}, [1.0], window=(0, 5), unit_ids=np.array(["a", "b"]))
    assert reordered.unit_ids.tolist() == ["a", "b"] and reordered.X[0, :, 0].tolist() == [0, 0, 1, 0, 0]
    with pytest.warns(UserWarning, match=r"none of unit_ids \(\['3', '7'\]\) is among the ids of spike_times \(\[1, 3, 7\]\)"):
        assert bin_spike_times(grouped, [1.0], window=(0, 5), unit_ids=["3", "7"]).X.sum() == 0
    silent_session = bin_spike_times({}, [1.0, 2.0], window=(0, 5), unit_ids=all_units)
    assert silent_session.X.shape == (2, 5, 4) and silent_session.X.sum() == 0
    with pytest.raises(ValueError, match="spike_times holds no units"):
        bin_spike_times({}, [1.0], window=(0, 5))
    with pytest.raises(ValueError, match=r"unit_ids must be unique: \[3\]"):
        bin_spike_times(grouped, [1.0], window=(0, 5), unit_ids=[3, 3])
    with pytest.raises(ValueError, match="unit_ids is empty"):
        bin_spike_times(grouped, [1.0], window=(0, 5), unit_ids=[])
    with pytest.raises(TypeError, match="unit_ids must be a sequence"):
        bin_spike_times(grouped, [1.0], window=(0, 5), unit_ids="a")


def test_nwb_a_window_that_ends_where_the_observation_ends_is_observed():
    """A trial's window [event + start, event + stop) lies inside an observation interval [a, b]
    when a <= event + start and event + stop <= b: a window that ends exactly at b, or starts
    exactly at a, was observed; one that reaches past b was not (binary fractions: exact sums)."""
    pynwb = pytest.importorskip("pynwb")
    nwb = pynwb.NWBFile("s", "id", datetime(2024, 1, 1, tzinfo=timezone.utc))
    for e in (0.0, 9.75, 9.875, 12.0):
        nwb.add_trial(start_time=e, stop_time=e + 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hdmf's dtype conversion of the intervals
        nwb.add_unit(spike_times=[0.125, 9.875], obs_intervals=[[0.0, 10.0], [12.0, 12.25]])
    with pytest.warns(UserWarning, match=r"1 of the 4 trial x unit windows lie outside"):
        out = from_nwb(nwb, window=(0, 0.25), bin_size=0.125, units="s")
    # windows [0, 0.25), [9.75, 10), [9.875, 10.125), [12, 12.25)
    assert out.observed[:, 0].tolist() == [True, True, False, True]
