"""Run every benchmark of the repository and write BENCHMARKS.md from their output.

    python benchmarks/run_all.py            # writes BENCHMARKS.md (takes a few minutes)

Each benchmark is a script of its own (see their docstrings); this file only runs them one after
the other, on an otherwise idle machine, and pastes what they print under the command that printed
it. Nothing in BENCHMARKS.md is typed by hand.
"""

import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = [
    ("Training step (forward + backward + Adam) on the workloads of the spec", ["bench_training.py"]),
    (
        "Side by side with PyTorch peers (hand-written loop of the same equations, snnTorch RSynaptic, "
        "Norse LIFRecurrentCell, SpikingJelly CUBALIFNode), when they are installed in the running environment",
        ["bench_peers.py"],
    ),
    (
        "Long trials: checkpointed BPTT (`bptt_window`) against the whole tape (W-M with 2,000-step trials)",
        ["bench_training.py", "--workloads", "W-M-long", "--bptt-window", "0", "50"],
    ),
    (
        "Compact-support surrogate: the backward pass's dense products against its sparse ones "
        "(--sparse-below 0: always dense; 2: always sparse for the triangle)",
        ["bench_training.py", "--workloads", "W-M", "--surrogate", "fast_sigmoid", "triangle:1", "triangle:4",
         "triangle:8", "--sparse-below", "0", "2"],
    ),
    ("Spike-time augmentation (`spike_jitter`): its cost per training step (one batch per epoch)",
     ["bench_training.py", "--workloads", "W-S", "W-M", "--spike-jitter", "none", "shuffle", "5", "--steps", "100",
      "--learning-rate", "1e-5"]),
    ("Streaming inference latency (256-unit network, one 1 ms bin per call)", ["bench_stream.py"]),
    ("Cosine tuning: fit + 1,000 bootstrap resamples, 1,000 neurons x 800 trials", ["bench_tuning.py"]),
    ("Activity matching: the cost of the activity term by kernel and number of recorded neurons",
     ["bench_activity.py"]),
    ("Around training: simulation, analysis and binning at a lab's sizes (time and memory)",
     ["bench_workflows.py"]),
]


def main() -> int:
    parts = [
        "# Benchmarks\n",
        f"Written by `python benchmarks/run_all.py` on {date.today().isoformat()}: {platform.machine()}, "
        f"Python {platform.python_version()}, 2 threads unless stated. Each section is the output of the "
        "command above it, pasted unchanged.\n",
        "The peers (torch, snntorch, norse, spikingjelly) are optional dependencies of the benchmark only; "
        "without them the side-by-side section lists motorsrnn alone.\n",
    ]
    for title, script in RUNS:
        cmd = [sys.executable, str(HERE / script[0]), *script[1:]]
        print("running", " ".join(script), flush=True)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        parts.append(f"## {title}\n\n```\npython benchmarks/{' '.join(script)}\n```\n\n```\n{out.strip()}\n```\n")
    (HERE.parent / "BENCHMARKS.md").write_text("\n".join(parts))
    print("wrote BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
