"""Command line.

``python -m motorsrnn demo``
    Generates the default synthetic centre-out data set, trains a spiking recurrent classifier on
    50 ms windows and a second spiking network in the counting configuration (``motorsrnn.COUNTING``,
    trained on spikes shuffled within the window: "counting, shuffled"), and prints their held-out
    accuracies beside chance and two count-based baselines (Poisson naive Bayes and logistic
    regression on spike counts).
``python -m motorsrnn compare``
    The motorSRNN paper's comparison on the same data: motorSRNN, its feedback ablations, SRNN,
    fSNN and count-based baselines; accuracy, early classification, energy ratios, noise robustness.
    ``--cut 100 400`` follows the paper's protocol instead: trials cut into consecutive 50 ms samples,
    split by trial; ``--early-stopping`` fits the spiking and PyTorch models with early stopping;
    ``--gru`` and ``--lstm`` add a GRU and an LSTM decoder (PyTorch).
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
import warnings

import numpy as np

from ._core import TopologyError
from ._validation import install_hint

#: Share of the trials both subcommands hold out for testing (stratified by direction).
TEST_SIZE = 0.25
#: Directions of the synthetic centre-out data (``make_center_out``'s default).
N_DIRECTIONS = 4
#: Smallest ``--n-trials`` that ``demo`` and ``compare`` run with: the stratified split holds out
#: ceil(25 % of the trials) for testing, which must be at least one trial per direction (13 trials:
#: 4 test, 9 training). ``--cut`` splits trials, not samples, so the same minimum applies, and so it
#: does with ``--early-stopping``, whose validation split stops stratifying when it holds fewer
#: trials than there are directions.
MIN_TRIALS = 13
#: Seeds are numpy seeds: integers from 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def positive_int(text: str) -> int:
    """``type=`` of argparse: an integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (>= 1), got {value}")
    return value


def n_hidden(text: str) -> int:
    """``type=`` of argparse: units per spiking model, at least 3 (the motorsrnn preset's three
    modules need one each)."""
    value = _int(text)
    if value < 3:
        raise argparse.ArgumentTypeError(
            f"must be at least 3 (the motorsrnn preset splits the units into three modules), got {value}"
        )
    return value


def seed(text: str) -> int:
    """``type=`` of argparse: a numpy seed, an integer from 0 to 2**32 - 1."""
    value = _int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 0 to {MAX_SEED} (numpy seeds are non-negative 32-bit integers), got {value}"
        )
    return value


def n_trials(text: str) -> int:
    """``type=`` of argparse: a number of trials >= :data:`MIN_TRIALS`."""
    value = _int(text)
    if value < MIN_TRIALS:
        raise argparse.ArgumentTypeError(
            f"must be at least {MIN_TRIALS}, got {value}: {TEST_SIZE * 100:g} % of the trials (rounded up) are held out "
            f"for testing, stratified over the {N_DIRECTIONS} directions, and the test set needs at least one "
            f"trial per direction"
        )
    return value


def demo(args: argparse.Namespace) -> int:
    """Train and evaluate on synthetic centre-out data; print a small report."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    from . import COUNTING, PoissonNaiveBayes, SpikingRNNClassifier
    from .baselines import SpikeCountTransformer
    from .datasets import make_center_out

    data = make_center_out(n_trials=args.n_trials, random_state=args.seed)
    X_tr, X_te, y_tr, y_te = train_test_split(
        data.X, data.y, test_size=TEST_SIZE, stratify=data.y, random_state=args.seed
    )
    n_dir = len(set(data.y.tolist()))
    rate = data.X.mean() * 1000.0 / data.dt
    print(
        f"Synthetic centre-out data: {data.X.shape[0]} trials x {data.X.shape[1]} ms x {data.X.shape[2]} channels, "
        f"{n_dir} directions, mean rate {rate:.1f} Hz; {len(y_tr)} training / {len(y_te)} test trials."
    )
    clf = SpikingRNNClassifier(random_state=args.seed, verbose=0 if args.quiet else 1, max_epochs=args.epochs)
    t0 = time.perf_counter()
    _fit(clf, X_tr, y_tr, "the spiking RNN")
    fit_s = time.perf_counter() - t0
    hidden_rate = clf.simulate(X_te, membrane=False).spikes.mean() * 1000.0 / data.dt
    # the counting configuration trained on spikes shuffled within the window (docs/decoding.md)
    counting = SpikingRNNClassifier(**COUNTING, spike_jitter="shuffle", random_state=args.seed, max_epochs=args.epochs,
                                    verbose=0 if args.quiet else 1)
    _fit(counting, X_tr, y_tr, "the counting network")
    rows = [
        ("chance", 1.0 / n_dir),
        ("Poisson naive Bayes (counts)", PoissonNaiveBayes().fit(X_tr, y_tr).score(X_te, y_te)),
        (
            "logistic regression (counts)",
            make_pipeline(SpikeCountTransformer(), LogisticRegression(max_iter=3000)).fit(X_tr, y_tr).score(X_te, y_te),
        ),
        ("spiking RNN (defaults, srnn)", clf.score(X_te, y_te)),
        ("spiking RNN, counting, shuffled", counting.score(X_te, y_te)),
    ]
    print(f"\nSpiking RNN: {clf.n_hidden} LIF units, {clf.n_iter_} epoch{'s' if clf.n_iter_ != 1 else ''} in {fit_s:.1f} s, hidden rate {hidden_rate:.1f} Hz")
    print("\nTest accuracy")
    for name, acc in rows:
        print(f"  {name:<32s} {acc:6.3f}")
    print(
        '\n"counting, shuffled": SpikingRNNClassifier(**motorsrnn.COUNTING, spike_jitter="shuffle"); '
        "see docs/decoding.md for when each decoder wins."
    )
    return 0


def compare(args: argparse.Namespace) -> int:
    """Run :func:`motorsrnn.comparison.compare_models` and print its tables."""
    from sklearn.model_selection import train_test_split

    from .comparison import center_out_samples, compare_models, default_models, format_table
    from .datasets import make_center_out

    groups = None
    if args.cut is None:
        data = make_center_out(n_trials=args.n_trials, random_state=args.seed)
        X_tr, X_te, y_tr, y_te = train_test_split(data.X, data.y, test_size=TEST_SIZE, stratify=data.y, random_state=args.seed)
        print(f"Synthetic centre-out data: {len(y_tr)} training / {len(y_te)} test trials of {data.X.shape[1]} ms.")
    else:
        start, stop = args.cut
        s = center_out_samples(args.n_trials, start, stop, random_state=args.seed)
        labels = s.y[s.offset == 0]  # one label per trial
        tr, _ = train_test_split(np.arange(args.n_trials), test_size=TEST_SIZE, stratify=labels, random_state=args.seed)
        train = np.isin(s.trial, tr)  # split by trial: no trial has samples on both sides
        X_tr, X_te, y_tr, y_te = s.X[train], s.X[~train], s.y[train], s.y[~train]
        groups = s.trial[train]  # early stopping holds out whole trials too
        print(f"Synthetic centre-out data: trials of {start}-{stop} ms after target onset cut into "
              f"{s.n_per_trial} samples of 50 ms; {len(y_tr)} training / {len(y_te)} test samples "
              f"(split by trial).")
    models = default_models(args.n_hidden, max_epochs=args.epochs, random_state=args.seed, gru=args.gru,
                            lstm=args.lstm)
    if args.early_stopping:
        for est in models.values():
            if "early_stopping" in est.get_params():
                est.set_params(early_stopping=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = compare_models(X_tr, y_tr, X_te, y_te, models, progress=not args.quiet, random_state=args.seed,
                             groups=groups)
    _report(caught, None)  # compare_models names the model in each of its warnings
    print()
    print(format_table(res))
    from .analysis import energy

    per_op = {k: p.default * 1e12 for k, p in inspect.signature(energy).parameters.items() if k in ("e_ac", "e_mac")}
    n_test = len(y_te)
    print(f"\nColumns: test accuracy on {n_test} test samples (standard error up to {0.5 / np.sqrt(n_test):.3f}); "
          "SOP / sample: synaptic operations (spike-driven accumulates) per test sample; energy ratio: the "
          "energy of a dense RNN, a GRU and an LSTM of the same size divided by the SNN's "
          f"({per_op['e_ac']:g} pJ per accumulate, {per_op['e_mac']:g} pJ per multiply-accumulate); accuracy "
          "with noise: after adding Poisson noise spikes at that rate to every channel of the test samples.")
    print("\nEarly classification (test accuracy after t ms):")
    for name, curve in res.early.items():
        pts = [f"{t:g} ms {a:.2f}" for t, a in zip(curve.times, curve.accuracy) if t in (2, 5, 10, 20, 30, 50) or t == curve.times[-1]]
        print(f"  {name:<30s} " + ", ".join(dict.fromkeys(pts)))
    return 0


def _fit(est, X, y, what):
    """``est.fit(X, y)``, with its warnings naming ``what`` (they would point at runpy), and a
    KeyboardInterrupt when Ctrl-C stopped it: the report would describe a partly trained model."""
    from .comparison import _interrupted_by_ctrl_c

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    interrupted = _interrupted_by_ctrl_c(est)
    _report([w for w in caught if not (interrupted and issubclass(w.category, RuntimeWarning))], what)
    if interrupted:
        raise KeyboardInterrupt(f"training {what} was interrupted after {est.n_iter_} epoch(s)")


def _report(caught, what) -> None:
    """Print our warnings (``UserWarning``, ``RuntimeWarning``; a ConvergenceWarning is a
    UserWarning) to stderr, about ``what`` when given: emitted, they would point at runpy. Other
    libraries' (DeprecationWarning, ...) go out as the filters in force would show them."""
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            print(f"warning{f' ({what})' if what else ''}: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def main(argv=None) -> int:
    """Entry point of ``python -m motorsrnn``."""
    parser = argparse.ArgumentParser(
        prog="python -m motorsrnn",
        description="Spiking recurrent decoders of motor-cortex spike trains, on synthetic centre-out data. "
                    "'demo' trains a spiking classifier and prints its test accuracy beside chance, Poisson "
                    "naive Bayes, logistic regression and a second spiking network in the counting configuration, "
                    "trained on spikes shuffled within the window (\"counting, shuffled\"); 'compare' runs the motorSRNN "
                    "paper's comparison (motorSRNN, its feedback ablations, SRNN, fSNN, count baselines; "
                    "accuracy, early classification, energy, noise). 'python -m motorsrnn COMMAND --help' "
                    "lists each command's options.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="train and evaluate on synthetic centre-out data")
    p.add_argument("--n-trials", type=n_trials, default=1600,
                   help=f"trials to generate (default 1600, at least {MIN_TRIALS})")
    p.add_argument("--epochs", type=positive_int, default=40, help="training epochs (default 40)")
    p.add_argument("--seed", type=seed, default=0, help=f"random seed, 0 to {MAX_SEED} (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=demo)
    c = sub.add_parser("compare", help="motorSRNN vs ablations, SRNN, fSNN and count-based baselines")
    c.add_argument("--n-trials", type=n_trials, default=1600,
                   help=f"trials to generate (default 1600, at least {MIN_TRIALS})")
    c.add_argument("--epochs", type=positive_int, default=40,
                   help="training epochs of the spiking models, and of the GRU and LSTM when added (default 40)")
    c.add_argument("--n-hidden", type=n_hidden, default=128,
                   help="LIF neurons per spiking model (default 128, at least 3)")
    c.add_argument("--seed", type=seed, default=0, help=f"random seed, 0 to {MAX_SEED} (default 0)")
    c.add_argument("--cut", type=int, nargs=2, metavar=("START", "STOP"),
                   help="the paper's protocol: trials from START to STOP ms after target onset cut into "
                        "consecutive 50 ms samples, split by trial (e.g. --cut 100 400); default: one 50 ms "
                        "window per trial at the response peak")
    c.add_argument("--early-stopping", action="store_true",
                   help="fit the spiking models, the GRU and the LSTM with early_stopping=True (10 %% of the training "
                        "data held out; with --cut, 10 %% of the training trials)")
    c.add_argument("--gru", action="store_true",
                   help="add a GRU decoder with as many units (needs PyTorch: python -m pip install torch)")
    c.add_argument("--lstm", action="store_true", help="add an LSTM decoder with as many units (needs PyTorch)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=compare)
    args = parser.parse_args(argv)
    if args.command == "compare" and (args.gru or args.lstm):
        from .baselines import has_torch

        if not has_torch():
            flag = "--gru" if args.gru else "--lstm"
            c.error(f"{flag} needs PyTorch, which is not installed: {install_hint('torch', 'gru')}")
    if args.command == "compare" and args.cut is not None:
        from .comparison import check_cut

        try:
            check_cut(*args.cut)
        except ValueError as e:
            c.error(f"--cut: {e}")
    try:
        return args.func(args)
    except KeyboardInterrupt as e:  # Ctrl-C: no traceback, the shell's exit status for SIGINT
        print(f"\n{parser.prog} {args.command}: interrupted" + (f" ({e})" if str(e) else "") + "; no report",
              file=sys.stderr)
        return 130
    except (MemoryError, TopologyError) as e:  # sizes beyond memory or the core's limits
        print(f"{parser.prog} {args.command}: error: {e} (lower --n-trials"
              + (", --n-hidden or the --cut range" if args.command == "compare" else "") + ")", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
