"""A small synthetic NWB session (trials table with a target-onset column and a direction label,
direction-tuned units) for the tests of ``motorsrnn.io.from_nwb`` and of the README's examples.
Needs pynwb; a test that calls ``make_nwb`` is skipped without it."""

from datetime import datetime, timezone

import numpy as np
import pytest

DIRECTIONS = np.array(["left", "up", "right", "down"])


def make_nwb(n_units=6, n_trials=32, seed=0):
    pynwb = pytest.importorskip("pynwb")
    rng = np.random.default_rng(seed)
    nwbfile = pynwb.NWBFile(
        session_description="synthetic centre-out session",
        identifier="motorsrnn-test",
        session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc),
    )
    nwbfile.add_trial_column(name="target_on_time", description="target onset (s)")
    nwbfile.add_trial_column(name="direction", description="reach direction")
    starts = 1.0 + 2.0 * np.arange(n_trials)
    target_on = starts + rng.uniform(0.3, 0.6, size=n_trials)
    labels = DIRECTIONS[np.arange(n_trials) % 4]
    for s, t, d in zip(starts, target_on, labels):
        nwbfile.add_trial(start_time=s, stop_time=s + 1.5, target_on_time=t, direction=d)
    spikes = []
    for u in range(n_units):
        base = rng.uniform(0, starts[-1] + 2.0, size=rng.integers(50, 300))
        # direction-tuned burst after target onset, so the labels are decodable
        tuned = [t + rng.uniform(0, 0.05, size=8) for t, d in zip(target_on, labels) if d == DIRECTIONS[u % 4]]
        train = np.sort(np.concatenate([base, *tuned]))
        spikes.append(train)
        nwbfile.add_unit(spike_times=train, id=100 + u)
    return nwbfile, spikes, target_on, starts, labels
