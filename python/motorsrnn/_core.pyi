"""Type stub of the compiled core (``src/python.rs``)."""

from typing import Any, Callable, Dict, List, Optional, Tuple, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "Network",
    "Stream",
    "ModelFileError",
    "TopologyError",
    "FORMAT_VERSION",
    "__version__",
    "tuning_fit_cosine",
    "tuning_fit_von_mises",
    "_set_sparse_below",
    "check_topology",
    "normalize_spec",
]

__version__: str
FORMAT_VERSION: int

class ModelFileError(ValueError): ...
class TopologyError(ValueError): ...

_Spikes = npt.NDArray[np.uint8] | npt.NDArray[np.float32] | npt.NDArray[np.float64]
# int64 class indices (n_trials,), or float32 targets (n_trials, n_outputs) / (n_trials, n_steps, n_outputs)
_Targets = npt.NDArray[np.int64] | npt.NDArray[np.float32]
# rate filter of activity matching: (kernel "exponential" or "gaussian", tau or sigma in ms, dt in ms,
# scale: 1000 / dt for Hz or 1 for spikes per bin)
_RateFilter = Tuple[str, float, float, float]
# (population index, model units, recorded activity (n_trials, n_steps, k) float32, rate filter, weight,
# weight of each recorded neuron (k values >= 0), noise correction (activity_noise_correction))
_Activity = Tuple[int, List[int], npt.NDArray[np.float32], _RateFilter, float, List[float], bool]

@final
class Network:
    def __new__(cls, spec_json: str, seed: int) -> Network: ...
    @property
    def spec_json(self) -> str: ...
    @property
    def optimizer_steps(self) -> Optional[int]: ...
    def copy(self) -> Network: ...
    def to_bytes(self, metadata: str, include_optimizer: bool = True) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> Tuple[Network, str]: ...
    def logits_per_step(self, x: _Spikes, n_threads: int) -> npt.NDArray[np.float32]: ...
    def logits(self, x: _Spikes, n_threads: int) -> npt.NDArray[np.float32]: ...
    def traces(self, x: _Spikes, n_threads: int) -> npt.NDArray[np.float32]: ...
    def simulate(
        self, x: _Spikes, membrane: bool, n_threads: int
    ) -> Tuple[
        List[npt.NDArray[np.uint8]],
        Optional[List[npt.NDArray[np.float32]]],
        npt.NDArray[np.float32],
        npt.NDArray[np.float32],
    ]: ...
    def simulate_into(
        self,
        x: _Spikes,
        n_threads: int,
        spikes: List[npt.NDArray[np.uint8]],
        membrane: Optional[List[npt.NDArray[np.float32]]],
        readout: npt.NDArray[np.float32],
        logits: npt.NDArray[np.float32],
    ) -> None: ...
    def loss_and_grad(
        self,
        x: _Spikes,
        y: _Targets,
        n_threads: int,
        activity: Optional[_Activity] = None,
        sample_weight: Optional[npt.NDArray[np.float64]] = None,
    ) -> Tuple[float, Dict[str, npt.NDArray[np.float32]]]: ...
    @property
    def bptt_window(self) -> Optional[int]: ...
    @bptt_window.setter
    def bptt_window(self, window: Optional[int]) -> None: ...
    def get_weights(self) -> Dict[str, npt.NDArray[np.float32]]: ...
    def set_weight(self, name: str, value: npt.NDArray[np.float32]) -> None: ...
    def masks(self) -> Dict[str, npt.NDArray[np.float32]]: ...
    def projections(self) -> List[Tuple[str, str, str, str, bool]]: ...
    def populations(self) -> List[Tuple[str, int]]: ...
    def fit(
        self,
        x: _Spikes,
        y: _Targets,
        x_val: Optional[_Spikes],
        y_val: Optional[_Targets],
        config_json: str,
        n_threads: int,
        callback: Optional[Callable[[Dict[str, Any]], Optional[bool]]] = None,
        snapshots: bool = False,
        activity: Optional[_Activity] = None,
        sample_weight: Optional[npt.NDArray[np.float64]] = None,
        val_sample_weight: Optional[npt.NDArray[np.float64]] = None,
        resume: bool = False,
    ) -> Tuple[List[Dict[str, Any]], str, Optional[int], Optional[Tuple[int, int]], Optional[BaseException], bool]: ...

@final
class Stream:
    def __new__(cls, network: Network) -> Stream: ...
    def step(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...
    @property
    def logits(self) -> npt.NDArray[np.float32]: ...
    @property
    def output(self) -> npt.NDArray[np.float32]: ...
    def reset(self) -> None: ...
    @property
    def n_steps(self) -> int: ...

def tuning_fit_cosine(
    rates: npt.NDArray[np.float64],
    angles: npt.NDArray[np.float64],
    n_boot: int,
    ci: float,
    n_perm: int,
    seed: int,
    n_threads: int,
) -> Dict[str, Any]: ...
def tuning_fit_von_mises(
    rates: npt.NDArray[np.float64],
    angles: npt.NDArray[np.float64],
    max_iter: int,
    kappa_max: float,
    tol: float,
    n_threads: int,
) -> Dict[str, Any]: ...

def _set_sparse_below(fraction: float) -> float: ...
def check_topology(spec_json: str) -> None: ...
def normalize_spec(spec_json: str) -> str: ...
