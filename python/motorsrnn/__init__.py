"""motorsrnn: recurrent spiking neural network decoders for motor-cortex spike trains.

A Rust core simulates leaky integrate-and-fire networks and trains them by backpropagation through
time with surrogate gradients; this package wraps it in scikit-learn estimators and adds datasets,
baselines and analysis helpers.

Public names
------------
SpikingRNNClassifier
    Spiking recurrent classifier of spike-count windows (``fit`` / ``predict``).
SpikingRNNRegressor
    The same network trained on continuous targets per time step or per trial.
PoissonNaiveBayes
    Count-based baseline decoder.
WienerFilter
    Linear baseline decoder of continuous outputs from lagged spike counts.
COUNTING
    Parameters of the "counting" configuration: ``SpikingRNNClassifier(**COUNTING)``.
load
    Read a model saved with ``estimator.save(path)``.
per_step_scorer
    ``scoring=`` for model selection of a regressor with per-step (3-D) targets.
ModelFileError, TopologyError, TrainingDivergedError
    Exceptions.
"""

from ._core import FORMAT_VERSION, ModelFileError, TopologyError
from ._core import __version__ as _core_version
from .baselines import PoissonNaiveBayes, WienerFilter
from .estimators import (
    COUNTING,
    SpikingRNNClassifier,
    SpikingRNNRegressor,
    TrainingDivergedError,
    load,
    per_step_scorer,
)

__version__ = _core_version

__all__ = [
    "COUNTING",
    "FORMAT_VERSION",
    "ModelFileError",
    "PoissonNaiveBayes",
    "SpikingRNNClassifier",
    "SpikingRNNRegressor",
    "TopologyError",
    "TrainingDivergedError",
    "WienerFilter",
    "__version__",
    "load",
    "per_step_scorer",
]
