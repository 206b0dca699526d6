//! The Python binding: the only module that names pyo3. It converts NumPy arrays to core types,
//! releases the GIL for all numerical work, runs it in a thread pool owned by the call (no global
//! pool: safe after fork), maps core errors to exceptions, turns any internal panic into a
//! RuntimeError, and checks for Ctrl-C between batches.
//!
//! Caller-owned arrays and the GIL: the core never reads an array the caller owns with the GIL
//! released. The input X is read once, in place, to build its events, in the call's pool with the
//! GIL held (a linear pass); arrays that the core reads during the whole call (targets, recorded
//! activity, sample weights, the tuning fits' rates and angles) are copied first, with the GIL
//! held, so that a Python thread writing them meanwhile cannot race the core or change its data
//! halfway through a fit. The output arrays of `simulate_into` are written with the GIL released
//! (see there).

use crate::error::Error;
use crate::model::{Activity, Model, RateFilter, SimulationMut, Targets};
use crate::modelfile;
use crate::optim::Optimizer;
use crate::spikes::InputEvents;
use crate::topology::{NetworkSpec, Topology};
use crate::train::{self, EpochRecord, Monitor, StopReason, TrainConfig};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArray3, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3, PyReadwriteArray3,
};
use pyo3::create_exception;
use pyo3::exceptions::{
    PyFloatingPointError, PyKeyboardInterrupt, PyMemoryError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::panic::{catch_unwind, AssertUnwindSafe};

create_exception!(motorsrnn._core, ModelFileError, PyValueError, "A model file or byte string could not be read.");
create_exception!(
    motorsrnn._core,
    TopologyError,
    PyValueError,
    "The description of populations and projections is invalid."
);

fn to_py(e: Error) -> PyErr {
    match e {
        Error::InvalidInput(m) => PyValueError::new_err(m),
        Error::InvalidTopology(_) => TopologyError::new_err(e.to_string()),
        Error::FileFormat(_) => ModelFileError::new_err(e.to_string()),
        Error::Diverged { .. } => PyRuntimeError::new_err(e.to_string()),
        Error::Interrupted => PyKeyboardInterrupt::new_err("interrupted"),
        Error::OutOfMemory { .. } => PyMemoryError::new_err(e.to_string()),
    }
}

/// The most threads a call may ask for: 2^16, as the Python layer's `n_jobs` (which itself starts
/// at most a few per core). Beyond it rayon would try to start them all (1e8 threads hung).
const MAX_THREADS: usize = 1 << 16;

/// A pool of `n_threads` threads (at least one, at most [`MAX_THREADS`]) for one call: no global
/// pool.
fn thread_pool(n_threads: usize) -> PyResult<rayon::ThreadPool> {
    if n_threads > MAX_THREADS {
        return Err(PyValueError::new_err(format!(
            "n_threads must be at most {MAX_THREADS} (as n_jobs), got {n_threads}"
        )));
    }
    rayon::ThreadPoolBuilder::new().num_threads(n_threads.max(1)).build().map_err(|e| {
        PyRuntimeError::new_err(format!("cannot start a thread pool of {n_threads} threads (n_jobs): {e}"))
    })
}

/// Runs `f` without the GIL in a pool of `n_threads`, turning a panic into a RuntimeError.
fn run<R: Send>(py: Python<'_>, n_threads: usize, f: impl FnOnce() -> crate::Result<R> + Send) -> PyResult<R> {
    py.detach(|| run_holding_gil(n_threads, f))
}

/// [`run`] without releasing the GIL: for work that reads arrays the caller owns (a linear pass).
fn run_holding_gil<R: Send>(n_threads: usize, f: impl FnOnce() -> crate::Result<R> + Send) -> PyResult<R> {
    let pool = thread_pool(n_threads)?;
    match catch_unwind(AssertUnwindSafe(|| pool.install(f))) {
        Ok(r) => r.map_err(to_py),
        Err(_) => Err(PyRuntimeError::new_err(
            "internal error in the motorsrnn core (please report it with the input that caused it)",
        )),
    }
}

/// A spike array of one of the accepted element types (the Python layer converts the others;
/// anything else is a TypeError that says how to convert it).
enum Spikes<'py> {
    U8(PyReadonlyArray3<'py, u8>),
    F32(PyReadonlyArray3<'py, f32>),
    F64(PyReadonlyArray3<'py, f64>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Spikes<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = obj.extract::<PyReadonlyArray3<'py, u8>>() {
            return Ok(Spikes::U8(a));
        }
        if let Ok(a) = obj.extract::<PyReadonlyArray3<'py, f32>>() {
            return Ok(Spikes::F32(a));
        }
        match obj.extract::<PyReadonlyArray3<'py, f64>>() {
            Ok(a) => Ok(Spikes::F64(a)),
            Err(e) => {
                // a NumPy array: name its dtype (with its byte order) and dimensions
                let array = obj.getattr("dtype").and_then(|d| d.getattr("str")).and_then(|d| d.extract::<String>());
                let native = if cfg!(target_endian = "little") { ["|u1", "<f4", "<f8"] } else { ["|u1", ">f4", ">f8"] };
                let got = match (array, obj.getattr("ndim").and_then(|n| n.extract::<usize>())) {
                    // an accepted array that could not be borrowed (passed twice, once to write)
                    (Ok(dtype), Ok(3)) if native.contains(&dtype.as_str()) => return Err(e),
                    (Ok(dtype), Ok(ndim)) => format!("an array of dtype '{dtype}' with {ndim} dimension(s)"),
                    _ => format!("a {}", obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())),
                };
                Err(PyTypeError::new_err(format!(
                    "X must be a 3-D NumPy array (trials, time steps, channels) of dtype uint8, float32 or float64 \
                     in the machine's byte order; got {got}. Convert it with np.ascontiguousarray(X, dtype=np.float32)"
                )))
            }
        }
    }
}

impl Spikes<'_> {
    /// `(n_trials, n_steps, n_channels)`.
    fn shape(&self) -> (usize, usize, usize) {
        match self {
            Spikes::U8(a) => a.as_array().dim(),
            Spikes::F32(a) => a.as_array().dim(),
            Spikes::F64(a) => a.as_array().dim(),
        }
    }

    /// The events of `x` for `model`, after checking its shape against the network (so that a
    /// wrong channel count is named before anything of X's size is allocated).
    fn events_for(&self, model: &Model<f32>, n_threads: usize) -> PyResult<InputEvents<f32>> {
        let (_, n_steps, n_channels) = self.shape();
        model.check_input_shape(n_steps, n_channels).map_err(to_py)?;
        self.events(n_threads)
    }

    /// The events of X, read in the call's pool with the GIL held: X belongs to the caller, and
    /// the GIL keeps Python threads from writing it meanwhile (NumPy's own loops, which run
    /// without the GIL, still can: as for NumPy's functions, writing an array from one thread
    /// while another reads it gives an unspecified mix).
    fn events(&self, n_threads: usize) -> PyResult<InputEvents<f32>> {
        match self {
            Spikes::U8(a) => {
                let v = a.as_array();
                run_holding_gil(n_threads, || InputEvents::from_dense(v))
            }
            Spikes::F32(a) => {
                let v = a.as_array();
                run_holding_gil(n_threads, || InputEvents::from_dense(v))
            }
            Spikes::F64(a) => {
                let v = a.as_array();
                run_holding_gil(n_threads, || InputEvents::from_dense(v))
            }
        }
    }
}

/// Targets as Python passes them: int64 class indices, or float32 values per trial or per step.
#[derive(FromPyObject)]
enum PyTargets<'py> {
    Classes(PyReadonlyArray1<'py, i64>),
    Trials(PyReadonlyArray2<'py, f32>),
    Steps(PyReadonlyArray3<'py, f32>),
}

/// A copy of a caller's array, made while the GIL is held, for the core to read with the GIL
/// released: the caller's array belongs to Python, and another Python thread could write it
/// meanwhile (a data race, and inputs that change during training). Allocated fallibly: a
/// `MemoryError` instead of an abort.
fn owned<A: Copy, D: numpy::ndarray::Dimension>(
    a: numpy::ndarray::ArrayView<'_, A, D>,
    what: &str,
) -> PyResult<numpy::ndarray::Array<A, D>> {
    let mut v = Vec::new();
    v.try_reserve_exact(a.len()).map_err(|_| {
        PyMemoryError::new_err(format!(
            "out of memory: cannot copy {what} ({:.3} GiB)",
            (a.len() * std::mem::size_of::<A>()) as f64 / 1073741824.0
        ))
    })?;
    v.extend(a.iter().copied()); // in logical (row-major) order
    numpy::ndarray::Array::from_shape_vec(a.raw_dim(), v)
        .map_err(|e| PyRuntimeError::new_err(format!("internal error copying {what}: {e}")))
}

/// Class indices or continuous targets, copied from the caller's arrays (see [`owned`]).
enum TargetData {
    Classes(Vec<usize>),
    Trials(numpy::ndarray::Array2<f32>),
    Steps(numpy::ndarray::Array3<f32>),
}

impl PyTargets<'_> {
    fn data(&self) -> PyResult<TargetData> {
        Ok(match self {
            PyTargets::Classes(y) => TargetData::Classes(labels(y)?),
            PyTargets::Trials(a) => TargetData::Trials(owned(a.as_array(), "the targets y")?),
            PyTargets::Steps(a) => TargetData::Steps(owned(a.as_array(), "the targets y")?),
        })
    }
}

impl TargetData {
    fn targets(&self) -> Targets<'_, f32> {
        match self {
            TargetData::Classes(c) => Targets::Classes(c),
            TargetData::Trials(a) => Targets::Trials(a.view()),
            TargetData::Steps(a) => Targets::Steps(a.view()),
        }
    }
}

/// The rate filter of activity matching as Python passes it: (kernel "exponential" or
/// "gaussian", tau or sigma in ms, dt in ms, scale: 1000 / dt for Hz or 1 for spikes per bin).
type PyRateFilter = (String, f64, f64, f64);

/// Activity matching as Python passes it: (population index, model units, recorded activity
/// (n_trials, n_steps, n_recorded) float32, rate filter, weight, weight of each recorded neuron,
/// noise correction).
type PyActivity<'py> = (usize, Vec<usize>, PyReadonlyArray3<'py, f32>, PyRateFilter, f64, Vec<f64>, bool);

/// [`PyActivity`] with the recorded activity copied (see [`owned`]).
type OwnedActivity = (usize, Vec<usize>, numpy::ndarray::Array3<f32>, PyRateFilter, f64, Vec<f64>, bool);

fn own_activity(a: Option<PyActivity<'_>>) -> PyResult<Option<OwnedActivity>> {
    a.map(|(population, units, data, filter, weight, neuron_weights, noise_correction)| {
        let data = owned(data.as_array(), "the recorded activity (neural_targets)")?;
        Ok((population, units, data, filter, weight, neuron_weights, noise_correction))
    })
    .transpose()
}

fn activity(a: &Option<OwnedActivity>) -> PyResult<Option<Activity<'_, f32>>> {
    let Some((population, units, data, (kernel, tau, dt, scale), weight, neuron_weights, noise_correction)) = a else {
        return Ok(None);
    };
    let data = data.view();
    let filter = match kernel.as_str() {
        "exponential" => RateFilter::exponential(*tau, *dt, *scale),
        "gaussian" => RateFilter::gaussian(*tau, *dt, *scale, data.dim().1.saturating_sub(1)),
        other => {
            return Err(PyValueError::new_err(format!(
                "activity_kernel must be 'exponential' or 'gaussian', got {other:?}"
            )))
        }
    }
    .map_err(to_py)?;
    Ok(Some(Activity {
        population: *population,
        units: units.clone(),
        data,
        filter,
        weight: *weight as f32,
        neuron_weights: neuron_weights.iter().map(|&w| w as f32).collect(),
        noise_correction: *noise_correction,
    }))
}

fn labels(y: &PyReadonlyArray1<'_, i64>) -> PyResult<Vec<usize>> {
    y.as_array()
        .iter()
        .map(|&c| usize::try_from(c).map_err(|_| PyValueError::new_err(format!("class index {c} is negative"))))
        .collect()
}

/// Forwards progress to a Python callable and checks for Ctrl-C, on the calling thread.
struct PyMonitor {
    callback: Option<Py<PyAny>>,
    error: Option<PyErr>,
    /// `error` was raised by a signal handler (in `check_signals`), not by the callback.
    from_signal: bool,
    /// Pass a copy of the network (key "network") with every epoch event.
    snapshots: bool,
}

impl PyMonitor {
    fn call(&mut self, make_args: impl FnOnce(Python<'_>) -> PyResult<Bound<'_, PyDict>>) -> bool {
        Python::attach(|py| {
            // Python signal handlers run here: SIGINT's raises KeyboardInterrupt (Ctrl-C), others
            // may raise anything (e.g. a SIGALRM time limit raising TimeoutError)
            if let Err(e) = py.check_signals() {
                self.error = Some(e);
                self.from_signal = true;
                return false;
            }
            let Some(cb) = &self.callback else { return true };
            let res = make_args(py).and_then(|info| cb.call1(py, (info,)));
            match res {
                Ok(r) => !r.bind(py).is(&*pyo3::types::PyBool::new(py, false)),
                Err(e) => {
                    self.error = Some(e);
                    false
                }
            }
        })
    }
}

fn record_dict<'py>(py: Python<'py>, r: &EpochRecord) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("epoch", r.epoch)?;
    d.set_item("loss", r.loss)?;
    d.set_item("accuracy", r.accuracy)?;
    d.set_item("val_loss", r.val_loss)?;
    d.set_item("val_accuracy", r.val_accuracy)?;
    d.set_item("grad_norm", r.grad_norm)?;
    d.set_item("rate_hz", r.rate_hz)?;
    Ok(d)
}

impl Monitor<f32> for PyMonitor {
    fn on_batch(&mut self, epoch: usize, batch: usize, n_batches: usize, loss: f64) -> bool {
        self.call(|py| {
            let d = PyDict::new(py);
            d.set_item("event", "batch")?;
            d.set_item("epoch", epoch)?;
            d.set_item("batch", batch)?;
            d.set_item("n_batches", n_batches)?;
            d.set_item("loss", loss)?;
            Ok(d)
        })
    }
    fn on_epoch(
        &mut self,
        record: &EpochRecord,
        model: &Model<f32>,
        optimizer: &Optimizer<f32>,
        best: Option<Option<usize>>,
    ) -> bool {
        let snapshot = self.snapshots.then(|| (model.clone(), optimizer.clone()));
        self.call(|py| {
            let d = record_dict(py, record)?;
            d.set_item("event", "epoch")?;
            // the epoch early stopping would keep now: -1 for the starting weights, None for none yet
            d.set_item("best_epoch", best.map(|e| e.map_or(-1, |e| e as i64)))?;
            if let Some((model, optimizer)) = snapshot {
                d.set_item("network", Py::new(py, Network { model, optimizer: Some(optimizer) })?)?;
            }
            Ok(d)
        })
    }
}

/// What `Network.fit` returns (see there).
type FitResult<'py> = (
    Vec<Bound<'py, PyDict>>,
    String,
    Option<usize>,
    Option<(usize, usize)>,
    Option<Py<pyo3::exceptions::PyBaseException>>,
    bool,
);

/// A spiking network held by the core (float32), with the optimiser state of its last training
/// run (for `fit(..., resume=True)`; stored in the model file's bytes unless left out).
#[pyclass(module = "motorsrnn._core")]
struct Network {
    model: Model<f32>,
    optimizer: Option<Optimizer<f32>>,
}

fn weights_dict<'py>(
    py: Python<'py>,
    model: &Model<f32>,
    p: &crate::params::ParamSet<f32>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, arr) in model.named_params(p) {
        if !model.is_projection(&name) {
            d.set_item(name, arr.row(0).to_owned().into_pyarray(py))?;
        } else {
            d.set_item(name, arr.into_pyarray(py))?;
        }
    }
    Ok(d)
}

/// A network description from its JSON; a malformed one is a `TopologyError`.
fn parse_spec(spec_json: &str) -> PyResult<NetworkSpec> {
    serde_json::from_str(spec_json).map_err(|e| TopologyError::new_err(format!("invalid topology: {e}")))
}

/// Checks a network description (JSON, see `NetworkSpec`) as `Network(spec_json, seed)` does,
/// without drawing any weight: unknown, reserved or repeated names, endpoints against the
/// projection's kind, same-step cycles, per-neuron time constants, densities, sizes. Every
/// problem is a `TopologyError` (used by `Topology.validate()`).
#[pyfunction]
fn check_topology(spec_json: &str) -> PyResult<()> {
    let spec = parse_spec(spec_json)?;
    let compiled = catch_unwind(|| Topology::compile(&spec))
        .map_err(|_| PyRuntimeError::new_err("internal error in the motorsrnn core while checking the topology"))?;
    match compiled {
        Ok(_) => Ok(()),
        Err(e @ Error::InvalidTopology(_)) => Err(TopologyError::new_err(e.to_string())),
        Err(e) => Err(TopologyError::new_err(format!("invalid topology: {e}"))),
    }
}

/// A network description (JSON) as a network built from it reports it (`Network.spec_json`:
/// the defaults a description may omit filled in), without checking or building anything.
#[pyfunction]
fn normalize_spec(spec_json: &str) -> PyResult<String> {
    let spec = parse_spec(spec_json)?;
    serde_json::to_string(&spec).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

#[pymethods]
impl Network {
    /// Builds and initialises a network from a JSON description (see `NetworkSpec`), with the GIL
    /// released (drawing a large network's weights takes seconds).
    #[new]
    fn new(py: Python<'_>, spec_json: &str, seed: u64) -> PyResult<Self> {
        let spec = parse_spec(spec_json)?;
        let model = py
            .detach(|| catch_unwind(|| Model::new(spec, seed)))
            .map_err(|_| PyRuntimeError::new_err("internal error in the motorsrnn core while building the network"))?;
        Ok(Network { model: model.map_err(to_py)?, optimizer: None })
    }

    /// The network description as JSON.
    #[getter]
    fn spec_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.model.spec).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// The number of optimiser steps behind the stored optimiser state, or None without one.
    #[getter]
    fn optimizer_steps(&self) -> Option<u64> {
        self.optimizer.as_ref().map(Optimizer::steps)
    }

    /// An independent copy, with the optimiser state.
    fn copy(&self) -> Network {
        Network { model: self.model.clone(), optimizer: self.optimizer.clone() }
    }

    /// Serialises the network, its optimiser state (unless `include_optimizer` is false, or it
    /// has none) and a metadata string (model file format, see `modelfile.rs`).
    #[pyo3(signature = (metadata, include_optimizer=true))]
    fn to_bytes<'py>(&self, py: Python<'py>, metadata: &str, include_optimizer: bool) -> PyResult<Bound<'py, PyBytes>> {
        let opt = if include_optimizer { self.optimizer.as_ref() } else { None };
        let model = &self.model;
        // encoding a large network takes seconds: without the GIL (it reads only Rust data)
        let b = py
            .detach(|| catch_unwind(AssertUnwindSafe(|| modelfile::to_bytes(model, opt, metadata))))
            .map_err(|_| PyRuntimeError::new_err("internal error in the motorsrnn core while encoding the network"))?
            .map_err(to_py)?;
        Ok(PyBytes::new(py, &b))
    }

    /// Reads a network written by `to_bytes` (with its optimiser state, if stored); returns
    /// `(network, metadata)`. Decodes with the GIL released: `data` is an immutable `bytes`.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<(Network, String)> {
        let (model, optimizer, meta) = py
            .detach(|| catch_unwind(|| modelfile::from_bytes::<f32>(data)))
            .map_err(|_| ModelFileError::new_err("model file format: corrupt model file"))?
            .map_err(to_py)?;
        Ok((Network { model, optimizer }, meta))
    }

    /// The readout traces `O[t]`, `(n_trials, n_steps, n_outputs)`.
    fn traces<'py>(&self, py: Python<'py>, x: Spikes<'py>, n_threads: usize) -> PyResult<Bound<'py, PyArray3<f32>>> {
        let ev = x.events_for(&self.model, n_threads)?;
        let m = &self.model;
        Ok(run(py, n_threads, || m.traces(&ev))?.into_pyarray(py))
    }

    /// Logits after each step, `(n_trials, n_steps, n_outputs)`.
    fn logits_per_step<'py>(
        &self,
        py: Python<'py>,
        x: Spikes<'py>,
        n_threads: usize,
    ) -> PyResult<Bound<'py, PyArray3<f32>>> {
        let ev = x.events_for(&self.model, n_threads)?;
        let m = &self.model;
        Ok(run(py, n_threads, || m.logits_per_step(&ev))?.into_pyarray(py))
    }

    /// Logits of the whole window, `(n_trials, n_outputs)` (the last step of `logits_per_step`).
    fn logits<'py>(&self, py: Python<'py>, x: Spikes<'py>, n_threads: usize) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let ev = x.events_for(&self.model, n_threads)?;
        let m = &self.model;
        Ok(run(py, n_threads, || m.logits(&ev))?.into_pyarray(py))
    }

    /// `(spikes, membranes or None, readout, logits)`: lists of `(n_trials, n_steps, size)` arrays
    /// per population, the readout traces and the logits after each step (as `logits_per_step`).
    fn simulate<'py>(
        &self,
        py: Python<'py>,
        x: Spikes<'py>,
        membrane: bool,
        n_threads: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ev = x.events_for(&self.model, n_threads)?;
        let m = &self.model;
        let sim = run(py, n_threads, || m.simulate(&ev, membrane))?;
        let spikes = PyList::new(py, sim.spikes.into_iter().map(|a| a.into_pyarray(py)))?;
        let mem: Option<Bound<'py, PyList>> = match sim.membrane {
            Some(v) => Some(PyList::new(py, v.into_iter().map(|a| a.into_pyarray(py)))?),
            None => None,
        };
        let tuple = (spikes, mem, sim.readout.into_pyarray(py), sim.logits.into_pyarray(py)).into_pyobject(py)?;
        Ok(tuple.into_any())
    }

    /// `simulate` of `x` written into the given arrays (one spike and, with `membrane`, one
    /// membrane array per population, the readout traces and the logits), each `(n_trials,
    /// n_steps, size)` for the trials of `x`: e.g. the rows of one block of trials of arrays
    /// allocated for all of them, which then need no copy. They are written with the GIL
    /// released: the caller (the Python layer allocates them for the call) must not read or write
    /// them from another thread until the call returns.
    #[pyo3(signature = (x, n_threads, spikes, membrane, readout, logits))]
    #[allow(clippy::too_many_arguments)]
    fn simulate_into<'py>(
        &self,
        py: Python<'py>,
        x: Spikes<'py>,
        n_threads: usize,
        mut spikes: Vec<PyReadwriteArray3<'py, u8>>,
        mut membrane: Option<Vec<PyReadwriteArray3<'py, f32>>>,
        mut readout: PyReadwriteArray3<'py, f32>,
        mut logits: PyReadwriteArray3<'py, f32>,
    ) -> PyResult<()> {
        let ev = x.events_for(&self.model, n_threads)?;
        let m = &self.model;
        let mut out = SimulationMut {
            spikes: spikes.iter_mut().map(|a| a.as_array_mut()).collect(),
            membrane: membrane.as_mut().map(|v| v.iter_mut().map(|a| a.as_array_mut()).collect()),
            readout: readout.as_array_mut(),
            logits: logits.as_array_mut(),
        };
        run(py, n_threads, || m.simulate_into(&ev, &mut out))
    }

    /// Mean task loss (plus the activity-matching term when given) and its gradient, as a dict
    /// in the layout of `get_weights`. With `sample_weight` (one per trial), the weighted mean.
    #[pyo3(signature = (x, y, n_threads, activity=None, sample_weight=None))]
    fn loss_and_grad<'py>(
        &self,
        py: Python<'py>,
        x: Spikes<'py>,
        y: PyTargets<'py>,
        n_threads: usize,
        activity: Option<PyActivity<'py>>,
        sample_weight: Option<PyReadonlyArray1<'py, f64>>,
    ) -> PyResult<(f64, Bound<'py, PyDict>)> {
        let ev = x.events_for(&self.model, n_threads)?;
        let y = y.data()?;
        let m = &self.model;
        let activity = own_activity(activity)?;
        let act = self::activity(&activity)?;
        let w = sample_weight.map(|w| w.as_array().to_vec());
        let (loss, g) = run(py, n_threads, || m.loss_and_grad(&ev, &y.targets(), w.as_deref(), act.as_ref(), None))?;
        Ok((loss, weights_dict(py, m, &g)?))
    }

    /// Checkpointed BPTT segment length in steps (`None`: keep the whole tape).
    #[getter]
    fn bptt_window(&self) -> Option<usize> {
        self.model.bptt_window
    }

    #[setter]
    fn set_bptt_window(&mut self, window: Option<usize>) -> PyResult<()> {
        if window == Some(0) {
            return Err(PyValueError::new_err("bptt_window must be a positive number of steps or None"));
        }
        self.model.bptt_window = window;
        Ok(())
    }

    /// Parameters by name: projections `(n_target, n_source)`, biases `(n,)`.
    fn get_weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        weights_dict(py, &self.model, &self.model.params)
    }

    /// Sets one parameter from the public layout (a bias is passed as `(1, n)`). The optimiser
    /// state is dropped: its moments belong to the weights it trained.
    fn set_weight(&mut self, name: &str, value: PyReadonlyArray2<'_, f32>) -> PyResult<()> {
        self.optimizer = None;
        self.model.set_named(name, value.as_array()).map_err(to_py)
    }

    /// The fixed 0/1 connection masks of sparse projections, `(n_target, n_source)`.
    fn masks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (p, m) in self.model.topo.projs.iter().zip(&self.model.masks) {
            if let Some(m) = m {
                d.set_item(&p.key, m.t().to_owned().into_pyarray(py))?;
            }
        }
        Ok(d)
    }

    /// Projection keys with `(source, target, kind, trainable)`.
    fn projections(&self) -> Vec<(String, String, String, String, bool)> {
        self.model
            .spec
            .projections
            .iter()
            .map(|p| {
                let kind =
                    serde_json::to_value(p.kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
                (p.key(), p.source.clone(), p.target.clone(), kind, p.trainable)
            })
            .collect()
    }

    /// Population names and sizes, in the order of the spec.
    fn populations(&self) -> Vec<(String, usize)> {
        self.model.topo.pops.iter().map(|p| (p.name.clone(), p.size)).collect()
    }

    /// Trains in place. Returns `(history, stop_reason, best_epoch, diverged_at, error,
    /// late_interrupt)`. The callback receives a dict per batch and per epoch; returning `False`
    /// stops training, and an exception it raises stops training too and is returned as `error`
    /// (with the history up to there, so that the caller can keep what was trained). Ctrl-C stops
    /// at the next batch boundary (stop reason "interrupted"); one that arrives after the last
    /// batch is taken here, before returning (`late_interrupt`), so that it cannot discard the
    /// result on the way back to Python. An exception that another signal's Python handler raises
    /// (e.g. a SIGALRM time limit raising TimeoutError) stops training the same way at the next
    /// batch boundary (or is taken after the last batch) and is returned as `error` with the stop
    /// reason "signal_error", not as the callback's. With `snapshots`, every epoch event
    /// carries a copy of the network under "network". `sample_weight` and `val_sample_weight` hold
    /// one weight per training and validation trial (`None`: 1 each). With `resume`, training
    /// continues from the optimiser state that the previous run on this network left (a new
    /// state if there is none, or if the optimiser kind changed); every run leaves its state.
    #[pyo3(signature = (x, y, x_val, y_val, config_json, n_threads, callback=None, snapshots=false, activity=None,
                        sample_weight=None, val_sample_weight=None, resume=false))]
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn fit<'py>(
        &mut self,
        py: Python<'py>,
        x: Spikes<'py>,
        y: PyTargets<'py>,
        x_val: Option<Spikes<'py>>,
        y_val: Option<PyTargets<'py>>,
        config_json: &str,
        n_threads: usize,
        callback: Option<Py<PyAny>>,
        snapshots: bool,
        activity: Option<PyActivity<'py>>,
        sample_weight: Option<PyReadonlyArray1<'py, f64>>,
        val_sample_weight: Option<PyReadonlyArray1<'py, f64>>,
        resume: bool,
    ) -> PyResult<FitResult<'py>> {
        let cfg: TrainConfig = serde_json::from_str(config_json)
            .map_err(|e| PyValueError::new_err(format!("invalid training options: {e}")))?;
        let ev = x.events_for(&self.model, n_threads)?;
        let y = y.data()?;
        let y_val_data = match &y_val {
            Some(yv) => Some(yv.data()?),
            None => None,
        };
        let val = match (x_val, y_val_data) {
            (Some(xv), Some(yv)) => Some((xv.events_for(&self.model, n_threads)?, yv)),
            _ => None,
        };
        let mut monitor = PyMonitor { callback, error: None, from_signal: false, snapshots };
        let pool = thread_pool(n_threads)?;
        let activity = own_activity(activity)?;
        let act = self::activity(&activity)?;
        let w = sample_weight.map(|w| w.as_array().to_vec());
        let w_val = val_sample_weight.map(|w| w.as_array().to_vec());
        let mut optimizer = if resume { self.optimizer.take() } else { None };
        let opt = &mut optimizer;
        let model = &mut self.model;
        let mon = &mut monitor;
        let result = py.detach(|| {
            catch_unwind(AssertUnwindSafe(|| {
                let val = val.as_ref().map(|(x, y)| train::Data {
                    x,
                    y: y.targets(),
                    weights: w_val.as_deref(),
                    activity: None,
                });
                let data = train::Data { x: &ev, y: y.targets(), weights: w.as_deref(), activity: act };
                train::fit_resuming(model, data, val, &cfg, &pool, mon, opt)
            }))
        });
        self.optimizer = optimizer;
        let report = match result {
            Ok(r) => r.map_err(to_py)?,
            Err(_) => {
                return Err(PyRuntimeError::new_err(
                    "internal error in the motorsrnn core during fit (please report it)",
                ))
            }
        };
        let mut error =
            monitor.error.take().filter(|e| !e.is_instance_of::<PyKeyboardInterrupt>(py)).map(|e| e.into_value(py));
        let history = report.history.iter().map(|r| record_dict(py, r)).collect::<PyResult<Vec<_>>>()?;
        let (mut stop, diverged) = match report.stop {
            StopReason::MaxEpochs => ("max_epochs", None),
            StopReason::EarlyStopping => ("early_stopping", None),
            StopReason::Interrupted if error.is_some() && monitor.from_signal => ("signal_error", None),
            StopReason::Interrupted => ("interrupted", None),
            StopReason::Diverged { epoch, batch } => ("diverged", Some((epoch, batch))),
        };
        // the last chance to take a pending Ctrl-C: in Python it would be raised as this call
        // returns, and the history below would be lost; another signal handler's exception is
        // returned the same way as one raised during training
        let late_interrupt = match py.check_signals() {
            Ok(()) => false,
            Err(e) if e.is_instance_of::<PyKeyboardInterrupt>(py) => true,
            Err(e) if error.is_none() => {
                error = Some(e.into_value(py));
                stop = "signal_error";
                false
            }
            Err(e) => return Err(e),
        };
        Ok((history, stop.to_string(), report.best_epoch, diverged, error, late_interrupt))
    }
}

// ---------------------------------------------------------------------------------------------
// Tuning analysis (src/tuning.rs): float64 arrays in, dicts of float64 arrays out.
// ---------------------------------------------------------------------------------------------

/// Benchmarks only: the fraction of units inside a compact-support surrogate's support below
/// which the backward pass uses its sparse products (`crate::backward::set_sparse_below`;
/// process-wide). Returns the previous value.
#[pyfunction]
fn _set_sparse_below(fraction: f64) -> PyResult<f64> {
    if !(fraction.is_finite() && fraction >= 0.0) {
        return Err(PyValueError::new_err("fraction must be a finite number >= 0"));
    }
    Ok(crate::backward::set_sparse_below(fraction))
}

/// Cosine tuning of every column of `rates` `(n_trials, n_neurons)` against `angles` (radians).
/// Returns a dict of `(n_neurons,)` arrays (`pd_ci`, `depth_ci`: `(n_neurons, 2)` or None,
/// `perm_p_value` or None) and `n_boot_valid`.
#[pyfunction]
#[pyo3(signature = (rates, angles, n_boot, ci, n_perm, seed, n_threads))]
#[allow(clippy::too_many_arguments)]
fn tuning_fit_cosine<'py>(
    py: Python<'py>,
    rates: PyReadonlyArray2<'py, f64>,
    angles: PyReadonlyArray1<'py, f64>,
    n_boot: usize,
    ci: f64,
    n_perm: usize,
    seed: u64,
    n_threads: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let (r, a) = (owned(rates.as_array(), "the rates")?, owned(angles.as_array(), "the angles")?);
    let cfg = crate::tuning::CosineConfig { n_boot, ci, n_perm, seed };
    let fit = run(py, n_threads, || crate::tuning::fit_cosine(r.view(), a.view(), &cfg))?;
    let d = PyDict::new(py);
    d.set_item("n_trials", fit.n_trials)?;
    d.set_item("baseline", fit.baseline.into_pyarray(py))?;
    d.set_item("b1", fit.b1.into_pyarray(py))?;
    d.set_item("b2", fit.b2.into_pyarray(py))?;
    d.set_item("preferred_direction", fit.preferred_direction.into_pyarray(py))?;
    d.set_item("modulation_depth", fit.modulation_depth.into_pyarray(py))?;
    d.set_item("r2", fit.r2.into_pyarray(py))?;
    d.set_item("r2_mean", fit.r2_mean.into_pyarray(py))?;
    d.set_item("sse", fit.sse.into_pyarray(py))?;
    d.set_item("f_statistic", fit.f_statistic.into_pyarray(py))?;
    d.set_item("p_value", fit.p_value.into_pyarray(py))?;
    d.set_item("aic", fit.aic.into_pyarray(py))?;
    d.set_item("bic", fit.bic.into_pyarray(py))?;
    match fit.bootstrap {
        Some(b) => {
            d.set_item("pd_ci", b.pd_ci.into_pyarray(py))?;
            d.set_item("depth_ci", b.depth_ci.into_pyarray(py))?;
            d.set_item("n_boot_valid", b.n_valid)?;
        }
        None => {
            d.set_item("pd_ci", py.None())?;
            d.set_item("depth_ci", py.None())?;
            d.set_item("n_boot_valid", 0)?;
        }
    }
    match fit.perm_p_value {
        Some(p) => d.set_item("perm_p_value", p.into_pyarray(py))?,
        None => d.set_item("perm_p_value", py.None())?,
    }
    Ok(d)
}

/// Von Mises tuning of every column of `rates` against `angles` (radians); dict of arrays.
#[pyfunction]
#[pyo3(signature = (rates, angles, max_iter, kappa_max, tol, n_threads))]
fn tuning_fit_von_mises<'py>(
    py: Python<'py>,
    rates: PyReadonlyArray2<'py, f64>,
    angles: PyReadonlyArray1<'py, f64>,
    max_iter: usize,
    kappa_max: f64,
    tol: f64,
    n_threads: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let (r, a) = (owned(rates.as_array(), "the rates")?, owned(angles.as_array(), "the angles")?);
    let cfg = crate::tuning::VonMisesConfig { max_iter, kappa_max, tol };
    let fit = run(py, n_threads, || crate::tuning::fit_von_mises(r.view(), a.view(), &cfg))?;
    let d = PyDict::new(py);
    d.set_item("n_trials", fit.n_trials)?;
    d.set_item("peak", fit.peak.into_pyarray(py))?;
    d.set_item("gain", fit.gain.into_pyarray(py))?;
    d.set_item("kappa", fit.kappa.into_pyarray(py))?;
    d.set_item("preferred_direction", fit.preferred_direction.into_pyarray(py))?;
    d.set_item("r2", fit.r2.into_pyarray(py))?;
    d.set_item("sse", fit.sse.into_pyarray(py))?;
    d.set_item("aic", fit.aic.into_pyarray(py))?;
    d.set_item("bic", fit.bic.into_pyarray(py))?;
    d.set_item("converged", fit.converged.into_pyarray(py))?;
    d.set_item("n_iter", fit.n_iter.into_pyarray(py))?;
    Ok(d)
}

/// One bin or a chunk of bins of float32 counts.
#[derive(FromPyObject)]
enum Bins<'py> {
    One(PyReadonlyArray1<'py, f32>),
    Many(PyReadonlyArray2<'py, f32>),
}

/// A stateful single-trial decoder fed one bin (or a chunk of bins) at a time.
#[pyclass(module = "motorsrnn._core")]
struct Stream {
    stream: crate::stream::Stream<f32>,
}

#[pymethods]
impl Stream {
    /// A decoder for `network`'s current weights, at the start of a trial.
    #[new]
    fn new(network: &Network) -> PyResult<Self> {
        Ok(Stream { stream: crate::stream::Stream::new(network.model.clone()).map_err(to_py)? })
    }

    /// Advances by the bins of `x`, `(n_channels,)` or `(n_bins, n_channels)` float32 counts;
    /// returns the class probabilities (softmax of the logits) after the last bin. Runs with the
    /// GIL held: a step takes microseconds.
    fn step<'py>(&mut self, py: Python<'py>, x: Bins<'py>) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let stream = &mut self.stream;
        let out = catch_unwind(AssertUnwindSafe(|| -> crate::Result<Vec<f32>> {
            match &x {
                Bins::One(a) => {
                    let a = a.as_array();
                    match a.as_slice() {
                        Some(s) => stream.step(s)?,
                        None => stream.step(&a.to_vec())?,
                    };
                }
                Bins::Many(a) => {
                    for bin in a.as_array().outer_iter() {
                        stream.step(&bin.to_vec())?;
                    }
                }
            }
            let l = stream.logits();
            let m = l.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = l.iter().map(|&v| (v - m).exp()).collect();
            let z: f32 = e.iter().sum();
            Ok(e.into_iter().map(|v| v / z).collect())
        }))
        .map_err(|_| PyRuntimeError::new_err("internal error in the motorsrnn core (please report it)"))?
        .map_err(to_py)?;
        if out.iter().any(|v| !v.is_finite()) {
            return Err(PyFloatingPointError::new_err(
                "the network's outputs are not finite (NaN or beyond float32's range, about 3.4e38): its weights are \
                 too large for float32 arithmetic; set smaller ones with set_weights",
            ));
        }
        Ok(PyArray1::from_vec(py, out))
    }

    /// The readout `O` of the last bin (a per-step regressor's output).
    #[getter]
    fn output<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, self.stream.output())
    }

    /// The logits after the last bin.
    #[getter]
    fn logits<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_slice(py, self.stream.logits())
    }

    /// Back to the start of a trial.
    fn reset(&mut self) -> PyResult<()> {
        self.stream.reset().map_err(to_py)
    }

    /// Bins seen since the last reset.
    #[getter]
    fn n_steps(&self) -> usize {
        self.stream.n_steps
    }
}

/// The compiled core of motorsrnn.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Network>()?;
    m.add_class::<Stream>()?;
    m.add("ModelFileError", m.py().get_type::<ModelFileError>())?;
    m.add("TopologyError", m.py().get_type::<TopologyError>())?;
    m.add("FORMAT_VERSION", modelfile::FORMAT_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(tuning_fit_cosine, m)?)?;
    m.add_function(wrap_pyfunction!(_set_sparse_below, m)?)?;
    m.add_function(wrap_pyfunction!(check_topology, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_spec, m)?)?;
    m.add_function(wrap_pyfunction!(tuning_fit_von_mises, m)?)?;
    Ok(())
}
