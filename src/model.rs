//! A network ready to run: its description, compiled topology, parameters and masks, with the
//! data-set level operations (logits, simulation, loss and gradient) parallel over chunks of trials.

use crate::backward::backward;
use crate::error::{invalid, try_zeros3, Error, Result};
use crate::forward::{forward, Constants, Recording, Workspace, CHUNK};
use crate::loss;
use crate::params::ParamSet;
use crate::real::Real;
use crate::spikes::InputEvents;
use crate::topology::{NetworkSpec, Topology};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut3};
use rayon::prelude::*;

/// A network: description, compiled topology, parameters, masks.
#[derive(Debug, Clone)]
pub struct Model<T: Real> {
    pub spec: NetworkSpec,
    pub topo: Topology,
    pub params: ParamSet<T>,
    /// Fixed 0/1 masks of sparse projections (`None` = dense).
    pub masks: Vec<Option<Array2<T>>>,
    pub consts: Constants<T>,
    /// Checkpointed BPTT for gradients (`batch_grad`, `loss_and_grad`, training): segment length
    /// in steps, `None` to keep the whole tape (see [`Recording::Checkpoints`]). Same gradients,
    /// less memory, one more forward pass.
    pub bptt_window: Option<usize>,
}

/// What the readout is trained to produce.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a, T> {
    /// One class index per trial: cross-entropy of the window logits.
    Classes(&'a [usize]),
    /// One vector per trial, `(n_trials, n_outputs)`: mean squared error of the window logits.
    Trials(ArrayView2<'a, T>),
    /// One vector per trial and step, `(n_trials, n_steps, n_outputs)`: mean squared error of `O[t]`.
    Steps(ArrayView3<'a, T>),
}

impl<T: Real> Targets<'_, T> {
    /// Number of trials.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Trials(a) => a.nrows(),
            Targets::Steps(a) => a.dim().0,
        }
    }

    /// True when there are no trials.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for classification.
    pub fn is_classes(&self) -> bool {
        matches!(self, Targets::Classes(_))
    }
}

/// The kernel that turns a matched unit's spikes `s[t]` into its rate `r_hat[t]` (activity
/// matching), per trial.
#[derive(Debug, Clone, PartialEq)]
pub enum RateFilter<T> {
    /// Causal exponential kernel: `r_hat[t] = decay r_hat[t-1] + gain s[t]`, `r_hat[-1] = 0`.
    Exponential {
        /// `exp(-dt / tau)`.
        decay: T,
        /// Factor from filtered spikes to the units of the recorded activity: `(1 - decay) * c`,
        /// so that the kernel has unit area times `c` (`c = 1000 / dt` for Hz, 1 for spikes per bin).
        gain: T,
    },
    /// Symmetric (non-causal) Gaussian kernel truncated at `m = weights.len() - 1` bins:
    /// `r_hat[t] = gain * sum_j w[|j|] s[t-j] / sum_j w[|j|]`, both sums over the lags
    /// `|j| <= m` with `0 <= t - j < n_steps`. Mid-trial the denominator is the sum of all the
    /// truncated kernel's weights (unit area); near the trial edges the kernel is renormalised to
    /// its part inside the trial.
    Gaussian {
        /// `w[j] = exp(-j^2 dt^2 / (2 sigma^2))` for `j = 0..=m` (only ratios matter).
        weights: Vec<T>,
        /// `c`: 1000 / dt for Hz, 1 for spikes per bin.
        gain: T,
    },
}

/// The Gaussian kernel's weights used for a trial of `steps >= 1` steps (lags up to
/// `m = min(len - 1, steps - 1)`) and, per step, `gain / Z[t]`, with `Z[t]` the sum of the weights
/// of the lags that stay inside the trial (the renormalisation at the trial's edges).
pub(crate) fn gaussian_norm<T: Real>(weights: &[T], gain: T, steps: usize) -> (&[T], Vec<T>) {
    let m = (weights.len() - 1).min(steps - 1);
    let w = &weights[..=m];
    // Z[t] from the cumulative weights: lags 0..=min(m, t) back, 0..=min(m, steps-1-t) ahead
    let mut cum = Vec::with_capacity(m + 1);
    let mut c = T::zero();
    for &x in w {
        c += x;
        cum.push(c);
    }
    let norm = (0..steps).map(|t| gain / (cum[t.min(m)] + cum[(steps - 1 - t).min(m)] - w[0])).collect();
    (w, norm)
}

impl<T: Real> RateFilter<T> {
    /// `c2[t'] = sum_t c[t, t']^2` for a trial of `steps` steps, where `c[t, t']` is the
    /// coefficient of the spike at `t'` in `r_hat[t]` (the noise correction of activity matching).
    pub fn squared_coefficients(&self, steps: usize) -> Vec<T> {
        let mut c2 = vec![T::zero(); steps];
        match self {
            RateFilter::Exponential { decay, gain } => {
                // c[t, t'] = gain decay^(t - t') for t >= t': a geometric sum up to the trial's end
                let mut acc = T::zero();
                for c in c2.iter_mut().rev() {
                    acc = *gain * *gain + *decay * *decay * acc;
                    *c = acc;
                }
            }
            RateFilter::Gaussian { weights, gain } => {
                if steps == 0 || weights.is_empty() {
                    return c2;
                }
                // c[t, t'] = w[|t - t'|] norm[t] for |t - t'| <= m
                let (w, norm) = gaussian_norm(weights, *gain, steps);
                let m = w.len() - 1;
                for (tp, c) in c2.iter_mut().enumerate() {
                    for t in tp.saturating_sub(m)..(tp + m + 1).min(steps) {
                        let coef = norm[t] * w[t.abs_diff(tp)];
                        *c += coef * coef;
                    }
                }
            }
        }
        c2
    }

    /// The exponential kernel of time constant `tau` ms for bins of `dt` ms, its output multiplied
    /// by `scale` (`1000 / dt` for Hz, 1 for spikes per bin).
    pub fn exponential(tau: f64, dt: f64, scale: f64) -> Result<Self> {
        check_filter_args(tau, dt, scale)?;
        let decay = (-dt / tau).exp();
        Ok(RateFilter::Exponential { decay: T::c(decay), gain: T::c((1.0 - decay) * scale) })
    }

    /// The Gaussian kernel of standard deviation `sigma` ms for bins of `dt` ms, truncated at
    /// `ceil(4 sigma / dt)` bins, its output multiplied by `scale`. Lags beyond `max_lag` (use
    /// `n_steps - 1`) never pair two steps of a trial, so weights are stored only up to
    /// `min(ceil(4 sigma / dt), max_lag)`: the result is the same and a very long `sigma`
    /// allocates nothing of its size.
    pub fn gaussian(sigma: f64, dt: f64, scale: f64, max_lag: usize) -> Result<Self> {
        check_filter_args(sigma, dt, scale)?;
        let width = sigma / dt;
        let reach = (4.0 * width).ceil();
        let m = if reach >= max_lag as f64 { max_lag } else { reach as usize };
        let weights = (0..=m)
            .map(|j| {
                let z = j as f64 / width;
                T::c((-0.5 * z * z).exp())
            })
            .collect();
        Ok(RateFilter::Gaussian { weights, gain: T::c(scale) })
    }

    /// Checks the fields (for filters built by hand).
    fn check(&self) -> Result<()> {
        let ok = match self {
            RateFilter::Exponential { decay, gain } => {
                decay.is_finite() && *decay >= T::zero() && *decay < T::one() && gain.is_finite()
            }
            RateFilter::Gaussian { weights, gain } => {
                !weights.is_empty()
                    && weights[0] > T::zero()
                    && weights.iter().all(|w| w.is_finite() && *w >= T::zero())
                    && gain.is_finite()
            }
        };
        if ok {
            Ok(())
        } else {
            Err(invalid!("activity_tau must be a positive number of ms"))
        }
    }
}

fn check_filter_args(tau: f64, dt: f64, scale: f64) -> Result<()> {
    if !(tau.is_finite() && tau > 0.0) {
        return Err(invalid!("activity_tau must be a positive number of ms, got {tau}"));
    }
    if !(dt.is_finite() && dt > 0.0) {
        return Err(invalid!("dt must be a positive number of ms, got {dt}"));
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err(invalid!("the activity scale must be a positive finite number, got {scale}"));
    }
    Ok(())
}

/// Recorded activity that some model units must reproduce (activity matching).
#[derive(Debug, Clone)]
pub struct Activity<'a, T> {
    /// Population of the matched units.
    pub population: usize,
    /// Model unit matched to each recorded neuron.
    pub units: Vec<usize>,
    /// Recorded activity, `(n_trials, n_steps, n_recorded)`.
    pub data: ArrayView3<'a, T>,
    /// Kernel and scale turning the units' spikes into rates in the units of `data`.
    pub filter: RateFilter<T>,
    /// Weight of the term in the loss.
    pub weight: T,
    /// Weight `w_k` of each recorded neuron's squared error (`n_recorded` values, finite and
    /// >= 0; all 1 gives the unweighted mean).
    pub neuron_weights: Vec<T>,
    /// Subtract the spike-noise variance of `r_hat` from each squared error (see
    /// [`crate::loss::activity_matching`]); `false` is the spec's term.
    pub noise_correction: bool,
}

impl<T: Real> Activity<'_, T> {
    /// Checks the assignment and the data against a model and its input.
    pub fn check(&self, model: &Model<T>, ev: &InputEvents<T>) -> Result<()> {
        let Some(pop) = model.topo.pops.get(self.population) else {
            return Err(invalid!("activity matching: no population {}", self.population));
        };
        let (n, steps, k) = self.data.dim();
        if n != ev.n_trials || steps != ev.n_steps {
            return Err(invalid!(
                "neural_targets has {n} trials and {steps} time steps; X has {} and {}",
                ev.n_trials,
                ev.n_steps
            ));
        }
        if k != self.units.len() || k == 0 {
            return Err(invalid!(
                "neural_targets has {k} recorded neurons but {} model units are assigned",
                self.units.len()
            ));
        }
        if k > pop.size {
            return Err(invalid!("{k} recorded neurons but population '{}' has only {} units", pop.name, pop.size));
        }
        let mut seen = vec![false; pop.size];
        for &u in &self.units {
            if u >= pop.size {
                return Err(invalid!(
                    "model unit {u} does not exist in population '{}' ({} units)",
                    pop.name,
                    pop.size
                ));
            }
            if std::mem::replace(&mut seen[u], true) {
                return Err(invalid!("model unit {u} is assigned to two recorded neurons"));
            }
        }
        if self.data.iter().any(|v| !v.is_finite()) {
            return Err(invalid!("neural_targets contains NaN or infinite values"));
        }
        self.filter.check()?;
        if !(self.weight.is_finite() && self.weight >= T::zero()) {
            return Err(invalid!("activity_weight must be finite and >= 0"));
        }
        if self.neuron_weights.len() != k {
            return Err(invalid!("{} activity weights for {k} recorded neurons", self.neuron_weights.len()));
        }
        if self.neuron_weights.iter().any(|w| !(w.is_finite() && *w >= T::zero())) {
            return Err(invalid!("the per-neuron activity weights must be finite and >= 0"));
        }
        Ok(())
    }
}

/// Firing-rate regularisation: for every population and trial, the mean rate over its units and
/// the window (spikes per bin) is penalised by `weight * (rate - upper)^2` above `upper` and
/// `weight * (lower - rate)^2` below `lower`; averaged over trials.
#[derive(Debug, Clone, Copy)]
pub struct RateBounds<T> {
    pub weight: T,
    pub lower: T,
    pub upper: T,
}

/// Which readout [`Model`]'s predictions keep: the traces `O[t]`, the logits after every step,
/// or only the window's logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readout {
    Traces,
    PerStep,
    Window,
}

/// What [`Model::simulate`] returns, per population in the order of the spec.
#[derive(Debug, Clone)]
pub struct Simulation<T> {
    /// Spikes, `(n_trials, n_steps, size)`, one array per population.
    pub spikes: Vec<Array3<u8>>,
    /// Membrane potentials, same shapes (when asked for).
    pub membrane: Option<Vec<Array3<T>>>,
    /// Readout traces `O[t]`, `(n_trials, n_steps, n_outputs)`.
    pub readout: Array3<T>,
    /// Logits after each step, same shape (as [`Model::logits_per_step`] gives them).
    pub logits: Array3<T>,
}

/// Where [`Model::simulate_into`] writes: views of the arrays of a [`Simulation`] (or of a part
/// of them, e.g. the rows of a block of trials of arrays allocated by the caller).
pub struct SimulationMut<'a, T> {
    /// Spikes, `(n_trials, n_steps, size)`, one view per population.
    pub spikes: Vec<ArrayViewMut3<'a, u8>>,
    /// Membrane potentials, same shapes, or `None` when not asked for.
    pub membrane: Option<Vec<ArrayViewMut3<'a, T>>>,
    /// Readout traces `O[t]`, `(n_trials, n_steps, n_outputs)`.
    pub readout: ArrayViewMut3<'a, T>,
    /// Logits after each step, same shape.
    pub logits: ArrayViewMut3<'a, T>,
}

/// The weights of a chunk's trials (`weights` is indexed by trial; `None`: 1 each).
fn chunk_weights<T: Real>(weights: Option<&[T]>, chunk: &[usize]) -> Vec<T> {
    match weights {
        Some(w) => chunk.iter().map(|&i| w[i]).collect(),
        None => vec![T::one(); chunk.len()],
    }
}

/// Trial weights checked (one per trial, finite, non-negative, not all zero) and scaled to a
/// mean of 1 (in f64, then converted), so that the mean over a batch of `w_i L_i` estimates the
/// weighted mean `sum_i w_i L_i / sum_i w_i` of the whole set without bias, and weights that are
/// all equal give exactly the unweighted loss.
pub fn normalized_weights<T: Real>(weights: &[f64], n_trials: usize) -> Result<Vec<T>> {
    if weights.len() != n_trials {
        return Err(invalid!("sample_weight has {} weights for {n_trials} trials", weights.len()));
    }
    if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
        return Err(invalid!("sample_weight must be finite and non-negative, got {w}"));
    }
    let max = weights.iter().copied().fold(0.0, f64::max);
    if max == 0.0 {
        return Err(invalid!("sample_weight must not be all zero"));
    }
    if weights.iter().all(|&w| w == max) {
        return Ok(vec![T::one(); n_trials]);
    }
    // relative to the largest weight first, so that the sum cannot overflow
    let mean = weights.iter().map(|w| w / max).sum::<f64>() / n_trials as f64;
    Ok(weights.iter().map(|w| T::c(w / max / mean)).collect())
}

/// Splits `0..n` into consecutive chunks of [`CHUNK`] trials (the last may be shorter).
pub fn chunks(trials: &[usize]) -> Vec<&[usize]> {
    trials.chunks(CHUNK).collect()
}

impl<T: Real> Model<T> {
    /// A freshly initialised network (seeded).
    pub fn new(spec: NetworkSpec, seed: u64) -> Result<Self> {
        let topo = Topology::compile(&spec)?;
        let (params, masks) = ParamSet::init(&topo, seed);
        let consts = Constants::new(&topo);
        Ok(Model { spec, topo, params, masks, consts, bptt_window: None })
    }

    /// A network with given parameters and masks; checks that their shapes fit the spec.
    pub fn from_parts(spec: NetworkSpec, params: ParamSet<T>, masks: Vec<Option<Array2<T>>>) -> Result<Self> {
        // The spec is untrusted (a model file): compiling it allocates each population's decay
        // factors at the size it declares, and a file of a few bytes can declare 2^28 neurons.
        // So first compare the declared sizes with the parameters actually stored (a bias and two
        // decay factors per neuron, one weight matrix per projection): what compiling allocates is
        // then bounded by what was read.
        let sizes = |v: &[ndarray::Array1<T>]| {
            v.len() == spec.populations.len() && v.iter().zip(&spec.populations).all(|(a, p)| a.len() == p.size)
        };
        if !(sizes(&params.b) && sizes(&params.alpha) && sizes(&params.beta))
            || params.w.len() != spec.projections.len()
            || masks.len() != spec.projections.len()
            || params.b_out.len() != spec.n_outputs
        {
            return Err(Error::FileFormat("parameters do not match the network description".into()));
        }
        let topo = Topology::compile(&spec)?;
        // Compare shapes without allocating anything of the (untrusted) described size.
        let same = params.fits(&topo)
            && masks.len() == topo.projs.len()
            && masks
                .iter()
                .zip(&topo.projs)
                .all(|(m, p)| m.as_ref().is_none_or(|m| m.dim() == (p.n_source, p.n_target)));
        if !same {
            return Err(Error::FileFormat("parameters do not match the network description".into()));
        }
        // Masks as the writer makes them: one exactly for each sparse projection (one with a
        // density), of 0s and 1s, with the stored weights zero where a connection is removed (a
        // mask of other values would scale weights and gradients, a NaN one poison them).
        for ((proj, m), w) in topo.projs.iter().zip(&masks).zip(&params.w) {
            let key = &proj.key;
            match (proj.density, m) {
                (Some(d), None) => {
                    return Err(Error::FileFormat(format!(
                        "projection '{key}' is sparse (density {d}) but no mask is stored for it"
                    )))
                }
                (None, Some(_)) => {
                    return Err(Error::FileFormat(format!(
                        "projection '{key}' is dense (no density) but a mask is stored for it"
                    )))
                }
                (Some(_), Some(m)) => {
                    if let Some(x) = m.iter().find(|&&x| x != T::zero() && x != T::one()) {
                        return Err(Error::FileFormat(format!(
                            "the mask of projection '{key}' holds {x}: a mask holds only 0 and 1"
                        )));
                    }
                    if w.iter().zip(m.iter()).any(|(&w, &k)| k == T::zero() && w != T::zero()) {
                        return Err(Error::FileFormat(format!(
                            "projection '{key}' has non-zero weights where its mask removes the connection"
                        )));
                    }
                }
                (None, None) => {}
            }
        }
        // Decay factors: in [0, 1] (exp(-dt / tau)), and where they are trained in the optimiser's
        // range [0, MAX_DECAY], as set_weights requires.
        for (pop, (a, b)) in topo.pops.iter().zip(params.alpha.iter().zip(&params.beta)) {
            let top = if pop.trainable_tau { crate::params::MAX_DECAY } else { 1.0 };
            if a.iter().chain(b.iter()).any(|x| !(x.f64() >= 0.0 && x.f64() <= top)) {
                return Err(Error::FileFormat(format!(
                    "decay factors of population '{}' outside [0, {top}] (exp(-dt / tau))",
                    pop.name
                )));
            }
        }
        let consts = Constants::new(&topo);
        Ok(Model { spec, topo, params, masks, consts, bptt_window: None })
    }

    /// Checks that events fit this network (channel count, at least one step).
    pub fn check_input(&self, ev: &InputEvents<T>) -> Result<()> {
        self.check_input_shape(ev.n_steps, ev.n_channels)
    }

    /// [`Model::check_input`] from the shape of X alone (before converting it to events).
    pub fn check_input_shape(&self, n_steps: usize, n_channels: usize) -> Result<()> {
        if n_channels != self.topo.n_inputs {
            return Err(invalid!(
                "X has {n_channels} channels, but the network was built for {} (n_features_in_)",
                self.topo.n_inputs
            ));
        }
        if n_steps == 0 {
            return Err(invalid!("X has no time steps"));
        }
        Ok(())
    }

    /// Checks that targets fit the data and the readout (trials, steps, outputs, finite values).
    pub fn check_targets(&self, ev: &InputEvents<T>, y: &Targets<T>) -> Result<()> {
        if y.len() != ev.n_trials {
            return Err(invalid!("X has {} trials but y has {} targets", ev.n_trials, y.len()));
        }
        let k = self.topo.n_outputs;
        match y {
            Targets::Classes(c) => {
                if let Some(bad) = c.iter().find(|&&c| c >= k) {
                    return Err(invalid!("class index {bad} out of range for {k} outputs"));
                }
            }
            Targets::Trials(a) => {
                if a.ncols() != k {
                    return Err(invalid!("y has {} outputs per trial, the readout has {k}", a.ncols()));
                }
            }
            Targets::Steps(a) => {
                let (_, steps, outs) = a.dim();
                if steps != ev.n_steps || outs != k {
                    return Err(invalid!(
                        "y has shape (n_trials, {steps}, {outs}); expected (n_trials, {}, {k}) (one target per time step of X)",
                        ev.n_steps
                    ));
                }
            }
        }
        // NaN marks a missing target (no error, no gradient); infinities are errors. Zero targets
        // are not "all missing": an empty set is reported by the caller as having no trials.
        fn scan<'a, T: Real>(v: impl Iterator<Item = &'a T> + Clone) -> (bool, bool) {
            let any = v.clone().next().is_some();
            (v.clone().any(|v| v.is_infinite()), any && v.into_iter().all(|v| v.is_nan()))
        }
        let (infinite, all_missing) = match y {
            Targets::Classes(_) => (false, false),
            Targets::Trials(a) => scan(a.iter()),
            Targets::Steps(a) => scan(a.iter()),
        };
        if infinite {
            return Err(invalid!("y contains infinite values"));
        }
        if all_missing {
            return Err(invalid!("y has no observed values: every target is NaN (missing)"));
        }
        Ok(())
    }

    /// Logits after each step, `(n_trials, n_steps, n_outputs)`; the last step holds the logits
    /// of the whole window (running mean or max of `O[t]`, or `O[t]`, as the readout mode says).
    pub fn logits_per_step(&self, ev: &InputEvents<T>) -> Result<Array3<T>> {
        self.readout(ev, Readout::PerStep)
    }

    /// The readout traces `O[t]`, `(n_trials, n_steps, n_outputs)`.
    pub fn traces(&self, ev: &InputEvents<T>) -> Result<Array3<T>> {
        self.readout(ev, Readout::Traces)
    }

    /// Logits of the whole window, `(n_trials, n_outputs)`: the last step of
    /// [`Model::logits_per_step`], without building the other steps.
    pub fn logits(&self, ev: &InputEvents<T>) -> Result<Array2<T>> {
        Ok(self.readout(ev, Readout::Window)?.index_axis_move(ndarray::Axis(1), 0))
    }

    /// `(n_trials, steps, n_outputs)` of what `what` asks for; `steps` is 1 for the window's logits.
    fn readout(&self, ev: &InputEvents<T>, what: Readout) -> Result<Array3<T>> {
        self.check_input(ev)?;
        let (n, steps, k) = (ev.n_trials, ev.n_steps, self.topo.n_outputs);
        let kept = if what == Readout::Window { 1 } else { steps };
        let trials: Vec<usize> = (0..n).collect();
        let mut out = try_zeros3::<T>((n, kept, k), "the readout of every step")?;
        let parts: Vec<Vec<T>> = chunks(&trials)
            .into_par_iter()
            .map_init(
                || Workspace::new(&self.topo, CHUNK.min(n)),
                |ws, chunk| -> Result<Vec<T>> {
                    let ws = ws.as_mut().map_err(|e| e.clone())?;
                    forward(&self.topo, &self.params, &self.consts, ev, chunk, ws, Recording::Spikes)?;
                    let (o, nb, mode) = (&ws.tape.o, chunk.len(), self.topo.mode);
                    if what == Readout::Traces {
                        return Ok(o.clone());
                    }
                    let mut part = vec![T::zero(); kept * nb * k];
                    if what == Readout::PerStep {
                        loss::logits_per_step(o, steps, nb, k, mode, &mut part);
                    } else {
                        loss::window_logits(o, steps, nb, k, mode, &mut part);
                    }
                    Ok(part)
                },
            )
            .collect::<Result<_>>()?;
        for (ci, part) in parts.iter().enumerate() {
            let nb = part.len() / (kept * k);
            for b in 0..nb {
                for t in 0..kept {
                    for c in 0..k {
                        out[[ci * CHUNK + b, t, c]] = part[(t * nb + b) * k + c];
                    }
                }
            }
        }
        Ok(out)
    }

    /// Runs the network and returns spikes, optionally membranes, and readout traces.
    pub fn simulate(&self, ev: &InputEvents<T>, membrane: bool) -> Result<Simulation<T>> {
        self.check_input(ev)?;
        let (n, steps, k) = (ev.n_trials, ev.n_steps, self.topo.n_outputs);
        let sizes: Vec<usize> = self.topo.pops.iter().map(|p| p.size).collect();
        let mut sim = Simulation {
            spikes: sizes.iter().map(|&s| try_zeros3((n, steps, s), "the simulated spikes")).collect::<Result<_>>()?,
            membrane: match membrane {
                true => Some(
                    sizes
                        .iter()
                        .map(|&s| try_zeros3((n, steps, s), "the membrane potentials"))
                        .collect::<Result<_>>()?,
                ),
                false => None,
            },
            readout: try_zeros3((n, steps, k), "the readout traces")?,
            logits: try_zeros3((n, steps, k), "the logits of every step")?,
        };
        let mut out = SimulationMut {
            spikes: sim.spikes.iter_mut().map(|a| a.view_mut()).collect(),
            membrane: sim.membrane.as_mut().map(|m| m.iter_mut().map(|a| a.view_mut()).collect()),
            readout: sim.readout.view_mut(),
            logits: sim.logits.view_mut(),
        };
        self.simulate_rows(ev, &mut out, false)?; // try_zeros3 zeroed the spikes
        Ok(sim)
    }

    /// [`Model::simulate`] into arrays the caller holds (membranes when `out.membrane` is
    /// `Some`), e.g. the rows of one block of trials of arrays allocated for all of them: every
    /// entry of `out` is written (spikes are zeroed first), so they need no initialisation.
    pub fn simulate_into(&self, ev: &InputEvents<T>, out: &mut SimulationMut<'_, T>) -> Result<()> {
        self.simulate_rows(ev, out, true)
    }

    /// [`Model::simulate_into`]; `zero_spikes: false` when the spikes are zero already (only the
    /// entries of spikes are written).
    fn simulate_rows(&self, ev: &InputEvents<T>, out: &mut SimulationMut<'_, T>, zero_spikes: bool) -> Result<()> {
        self.check_input(ev)?;
        let (n, steps, k) = (ev.n_trials, ev.n_steps, self.topo.n_outputs);
        let sizes: Vec<usize> = self.topo.pops.iter().map(|p| p.size).collect();
        let fits = |dim: &[usize], size: usize| dim == [n, steps, size];
        let pops_fit = |shapes: Vec<&[usize]>| {
            shapes.len() == sizes.len() && shapes.iter().zip(&sizes).all(|(dim, &s)| fits(dim, s))
        };
        if !pops_fit(out.spikes.iter().map(|v| v.shape()).collect())
            || !out.membrane.as_ref().is_none_or(|m| pops_fit(m.iter().map(|v| v.shape()).collect()))
            || !fits(out.readout.shape(), k)
            || !fits(out.logits.shape(), k)
        {
            return Err(invalid!(
                "the simulation's output arrays do not have the shapes of {n} trials of {steps} steps"
            ));
        }
        if zero_spikes {
            for s in out.spikes.iter_mut() {
                s.fill(0);
            }
        }
        let membrane = out.membrane.is_some();
        let trials: Vec<usize> = (0..n).collect();
        // Parallel over chunks, in waves of one chunk per thread whose tapes are copied out and
        // dropped before the next wave: holding every chunk's tape until the end took as much
        // memory again as the output (a chunk's trials go to their own slices either way).
        let parts = chunks(&trials);
        let per_wave = rayon::current_num_threads().max(1);
        for (wi, wave) in parts.chunks(per_wave).enumerate() {
            let tapes: Vec<crate::forward::Tape<T>> = wave
                .par_iter()
                .map(|chunk| -> Result<crate::forward::Tape<T>> {
                    let mut ws = Workspace::new(&self.topo, chunk.len())?;
                    let recording = if membrane { Recording::Membrane } else { Recording::Spikes };
                    forward(&self.topo, &self.params, &self.consts, ev, chunk, &mut ws, recording)?;
                    Ok(ws.tape)
                })
                .collect::<Result<_>>()?;
            for (j, tape) in tapes.iter().enumerate() {
                Self::copy_tape(out, tape, (wi * per_wave + j) * CHUNK, &sizes, steps, k, self.topo.mode);
            }
        }
        Ok(())
    }

    /// Writes a chunk's tape (spikes, membranes if recorded, readout and its logits) into the
    /// trials from `first` of `sim`.
    fn copy_tape(
        sim: &mut SimulationMut<'_, T>,
        tape: &crate::forward::Tape<T>,
        first: usize,
        sizes: &[usize],
        steps: usize,
        k: usize,
        mode: crate::topology::ReadoutMode,
    ) {
        let mut logits = vec![T::zero(); steps * tape.batch * k];
        loss::logits_per_step(&tape.o, steps, tape.batch, k, mode, &mut logits);
        for b in 0..tape.batch {
            let n_i = first + b;
            for t in 0..steps {
                for (p, &size) in sizes.iter().enumerate() {
                    let (idx, val) = tape.spikes[p].at(t, b);
                    for (&j, &v) in idx.iter().zip(val) {
                        sim.spikes[p][[n_i, t, j as usize]] = v.f64().round().clamp(0.0, 255.0) as u8;
                    }
                    if let Some(m) = sim.membrane.as_mut() {
                        let u = tape.u_at(p, size, t, b);
                        for j in 0..size {
                            m[p][[n_i, t, j]] = u[j];
                        }
                    }
                }
                for c in 0..k {
                    sim.readout[[n_i, t, c]] = tape.o[(t * tape.batch + b) * k + c];
                    sim.logits[[n_i, t, c]] = logits[(t * tape.batch + b) * k + c];
                }
            }
        }
    }

    /// Forward, cross-entropy and backward for `trials`, in chunks of [`CHUNK`] trials run in
    /// parallel, one per workspace, in waves of `workspaces.len()` chunks (one workspace per thread
    /// suffices); the chunks' gradients are added in chunk order into `total`, so the result depends
    /// neither on the number of threads nor on the number of workspaces. The loss is the mean over
    /// `trials` of each trial's loss times its weight (`weights`, indexed by trial; `None`: 1 each).
    /// Returns the summed weighted loss, the summed weight of the correctly classified trials (0
    /// for regression) and the number of spikes of every population in the batch's forward pass.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_grad(
        &self,
        ev: &InputEvents<T>,
        y: &Targets<T>,
        weights: Option<&[T]>,
        activity: Option<&Activity<T>>,
        rate: Option<&RateBounds<T>>,
        trials: &[usize],
        workspaces: &mut [Workspace<T>],
        total: &mut ParamSet<T>,
    ) -> Result<(f64, f64, usize)> {
        let parts = chunks(trials);
        assert!(!workspaces.is_empty(), "no workspace");
        let scale = T::one() / T::c(trials.len() as f64);
        let steps = ev.n_steps;
        total.fill_zero();
        let (mut loss, mut correct, mut spikes) = (0.0, 0.0, 0);
        // Waves of as many chunks as there are workspaces (one per thread is enough), so that memory
        // does not grow with the batch. The chunks' gradients, losses and counts are added in chunk
        // order, wave after wave: the same sums in the same order for any number of workspaces.
        for wave in parts.chunks(workspaces.len()) {
            let ws = &mut workspaces[..wave.len()];
            let stats = self.wave_grad(ev, y, weights, activity, rate, wave, ws, scale, steps)?;
            for (ws, (l, c, n)) in workspaces.iter().zip(stats) {
                total.add_assign(&ws.grad);
                loss += l;
                correct += c;
                spikes += n;
            }
        }
        total.apply_masks(&self.masks);
        Ok((loss, correct, spikes))
    }

    /// The workspaces [`Model::batch_grad`] needs for batches of up to `batch` trials with `threads`
    /// threads: one per thread, or fewer for a batch of fewer chunks (the chunks run in waves, with
    /// the same result for any number of workspaces), each for chunks of up to `min(CHUNK, batch)`
    /// trials. An [`Error::OutOfMemory`] when they cannot be allocated.
    pub fn gradient_workspaces(&self, batch: usize, threads: usize) -> Result<Vec<Workspace<T>>> {
        let n = batch.div_ceil(CHUNK).min(threads).max(1);
        (0..n).map(|_| Workspace::new(&self.topo, CHUNK.min(batch).max(1))).collect()
    }

    /// The gradients of the chunks of one wave, in parallel, one workspace each (into `ws.grad`),
    /// with each chunk's weighted loss, weight of its correct trials and number of spikes.
    #[allow(clippy::too_many_arguments)]
    fn wave_grad(
        &self,
        ev: &InputEvents<T>,
        y: &Targets<T>,
        weights: Option<&[T]>,
        activity: Option<&Activity<T>>,
        rate: Option<&RateBounds<T>>,
        wave: &[&[usize]],
        workspaces: &mut [Workspace<T>],
        scale: T,
        steps: usize,
    ) -> Result<Vec<(f64, f64, usize)>> {
        workspaces
            .par_iter_mut()
            .zip(wave.par_iter())
            .map(|(ws, chunk)| -> Result<(f64, f64, usize)> {
                let recording = self.bptt_window.map_or(Recording::Membrane, Recording::Checkpoints);
                forward(&self.topo, &self.params, &self.consts, ev, chunk, ws, recording)?;
                let spikes = ws.tape.spikes.iter().map(|r| r.len()).sum();
                let w = chunk_weights(weights, chunk);
                let (mut l, correct) = self.loss_grad_of_traces(&ws.tape.o, y, &w, chunk, steps, scale, &mut ws.d_o);
                ws.d_s.iter_mut().for_each(Vec::clear);
                if let Some(a) = activity {
                    l += self.activity_grad(a, ws, &w, chunk, steps, scale);
                }
                if let Some(r) = rate {
                    for (p, pop) in self.topo.pops.iter().enumerate() {
                        l += loss::rate_penalty(
                            &ws.tape.spikes[p],
                            &w,
                            steps,
                            chunk.len(),
                            pop.size,
                            r,
                            scale,
                            &mut ws.d_s[p],
                        );
                    }
                }
                backward(&self.topo, &self.params, &self.consts, ev, chunk, ws);
                Ok((l, correct, spikes))
            })
            .collect()
    }

    /// The activity-matching loss of a chunk (summed over its trials, each times its weight `w`),
    /// writing `ws.d_s`.
    #[allow(clippy::too_many_arguments)]
    fn activity_grad(
        &self,
        a: &Activity<T>,
        ws: &mut Workspace<T>,
        w: &[T],
        chunk: &[usize],
        steps: usize,
        scale: T,
    ) -> f64 {
        let n = self.topo.pops[a.population].size;
        let mut unit_to_k = vec![None; n];
        for (k, &u) in a.units.iter().enumerate() {
            unit_to_k[u] = Some(k);
        }
        let data = &a.data;
        let target = |t: usize, b: usize, k: usize| data[[chunk[b], t, k]];
        let Workspace { tape, d_s, .. } = ws;
        crate::loss::activity_matching(
            &tape.spikes[a.population],
            &a.units,
            &unit_to_k,
            target,
            w,
            steps,
            chunk.len(),
            n,
            &a.filter,
            a.weight,
            &a.neuron_weights,
            a.noise_correction,
            scale,
            &mut d_s[a.population],
        )
    }

    /// The task loss of a chunk's traces `o` (`[t][b][k]`), summed over its trials each times its
    /// weight `w`, the summed weight of the correct classifications, and `scale * dloss/dO[t]`
    /// written to `d_o`.
    #[allow(clippy::too_many_arguments)]
    fn loss_grad_of_traces(
        &self,
        o: &[T],
        y: &Targets<T>,
        w: &[T],
        chunk: &[usize],
        steps: usize,
        scale: T,
        d_o: &mut Vec<T>,
    ) -> (f64, f64) {
        let (nb, k, mode) = (chunk.len(), self.topo.n_outputs, self.topo.mode);
        if let Targets::Steps(a) = y {
            let l = loss::mse_steps(o, |t, b, c| a[[chunk[b], t, c]], w, steps, nb, k, scale, d_o);
            return (l, 0.0);
        }
        let mut logits = vec![T::zero(); nb * k];
        let mut arg = vec![0usize; nb * k];
        let mut dlogits = vec![T::zero(); nb * k];
        loss::logits(o, steps, nb, k, mode, &mut logits, &mut arg);
        let out = match y {
            Targets::Classes(c) => {
                let ys: Vec<usize> = chunk.iter().map(|&i| c[i]).collect();
                loss::cross_entropy(&logits, &ys, w, k, scale, &mut dlogits)
            }
            Targets::Trials(a) => {
                (loss::mse_rows(&logits, |b, c| a[[chunk[b], c]], w, nb, k, scale, &mut dlogits), 0.0)
            }
            Targets::Steps(_) => unreachable!("handled above"),
        };
        loss::trace_grad(&dlogits, steps, nb, k, mode, &arg, d_o);
        out
    }

    /// Mean task loss over all trials and its gradient (no regularisation terms): cross-entropy
    /// for classes, mean squared error for continuous targets; plus the activity-matching term
    /// when `activity` is given. With `weights` (one per trial, see [`normalized_weights`]), the
    /// weighted mean `sum_i w_i L_i / sum_i w_i`.
    pub fn loss_and_grad(
        &self,
        ev: &InputEvents<T>,
        y: &Targets<T>,
        weights: Option<&[f64]>,
        activity: Option<&Activity<T>>,
        rate: Option<&RateBounds<T>>,
    ) -> Result<(f64, ParamSet<T>)> {
        self.check_input(ev)?;
        if ev.n_trials == 0 {
            return Err(invalid!("X has no trials"));
        }
        self.check_targets(ev, y)?;
        let w = weights.map(|w| normalized_weights::<T>(w, ev.n_trials)).transpose()?;
        if let Some(a) = activity {
            a.check(self, ev)?;
        }
        let trials: Vec<usize> = (0..ev.n_trials).collect();
        let mut wss = self.gradient_workspaces(ev.n_trials, rayon::current_num_threads())?;
        let mut g = ParamSet::zeros(&self.topo);
        let (l, _, _) = self.batch_grad(ev, y, w.as_deref(), activity, rate, &trials, &mut wss, &mut g)?;
        Ok((l / ev.n_trials as f64, g))
    }

    /// Mean task loss and, for classes, accuracy, without gradients (validation). With `weights`
    /// (one per trial, see [`normalized_weights`]), the weighted means.
    pub fn evaluate(&self, ev: &InputEvents<T>, y: &Targets<T>, weights: Option<&[f64]>) -> Result<(f64, Option<f64>)> {
        self.check_input(ev)?;
        if ev.n_trials == 0 {
            return Err(invalid!("X has no trials"));
        }
        self.check_targets(ev, y)?;
        let w = weights.map(|w| normalized_weights::<T>(w, ev.n_trials)).transpose()?;
        let trials: Vec<usize> = (0..ev.n_trials).collect();
        let steps = ev.n_steps;
        let parts: Vec<(f64, f64)> = chunks(&trials)
            .into_par_iter()
            .map_init(
                || (Workspace::new(&self.topo, CHUNK.min(ev.n_trials)), Vec::new()),
                |(ws, d_o), chunk| -> Result<(f64, f64)> {
                    let ws = ws.as_mut().map_err(|e| e.clone())?;
                    forward(&self.topo, &self.params, &self.consts, ev, chunk, ws, Recording::Spikes)?;
                    let wc = chunk_weights(w.as_deref(), chunk);
                    Ok(self.loss_grad_of_traces(&ws.tape.o, y, &wc, chunk, steps, T::one(), d_o))
                },
            )
            .collect::<Result<_>>()?;
        let (l, c) = parts.iter().fold((0.0, 0.0), |(a, b), (l, c)| (a + l, b + c));
        // the total weight: n without weights, n up to rounding with them (so that an accuracy
        // cannot exceed 1)
        let n = w.as_ref().map_or(ev.n_trials as f64, |w| w.iter().map(|v| v.f64()).sum());
        Ok((l / n, y.is_classes().then_some(c / n)))
    }

    /// Parameters by name, in the public layout: projection matrices `(n_target, n_source)` under
    /// their keys, population biases under `b_<population>`, the readout bias under `b_out`.
    pub fn named_params(&self, p: &ParamSet<T>) -> Vec<(String, Array2<T>)> {
        let mut v: Vec<(String, Array2<T>)> =
            self.topo.projs.iter().zip(&p.w).map(|(pr, w)| (pr.key.clone(), w.t().to_owned())).collect();
        for (pop, b) in self.topo.pops.iter().zip(&p.b) {
            v.push((format!("b_{}", pop.name), b.clone().insert_axis(ndarray::Axis(0))));
        }
        v.push(("b_out".into(), p.b_out.clone().insert_axis(ndarray::Axis(0))));
        for (i, pop) in self.topo.pops.iter().enumerate().filter(|(_, pop)| pop.trainable_tau) {
            v.push((format!("alpha_{}", pop.name), p.alpha[i].clone().insert_axis(ndarray::Axis(0))));
            v.push((format!("beta_{}", pop.name), p.beta[i].clone().insert_axis(ndarray::Axis(0))));
        }
        v
    }

    /// True when `name` is a projection (a matrix), false for vectors (biases, decays).
    pub fn is_projection(&self, name: &str) -> bool {
        self.topo.projs.iter().any(|p| p.key == name)
    }

    /// Sets one named parameter from the public layout (biases as `(1, n)`). Masked entries must be
    /// zero; values must be finite.
    pub fn set_named(&mut self, name: &str, value: ndarray::ArrayView2<T>) -> Result<()> {
        if value.iter().any(|x| !x.is_finite()) {
            return Err(invalid!("weights '{name}' contain NaN or infinite values"));
        }
        let shape_err =
            |want: (usize, usize)| invalid!("weights '{name}' must have shape {want:?}, got {:?}", value.dim());
        if let Some(j) = self.topo.projs.iter().position(|p| p.key == name) {
            let w = &mut self.params.w[j];
            let want = (w.ncols(), w.nrows());
            if value.dim() != want {
                return Err(shape_err(want));
            }
            if let Some(sign) = self.topo.projs[j].sign {
                if value.iter().any(|&x| x.f64() * sign.factor() < 0.0) {
                    return Err(invalid!("weights '{name}' violate the projection's sign constraint ({sign:?})"));
                }
            }
            if let Some(m) = &self.masks[j] {
                if value.t().iter().zip(m.iter()).any(|(x, k)| *k == T::zero() && *x != T::zero()) {
                    return Err(invalid!(
                        "weights '{name}' are non-zero where the projection's mask removes connections"
                    ));
                }
            }
            w.assign(&value.t());
            return Ok(());
        }
        let named = |prefix: &str| {
            self.topo
                .pops
                .iter()
                .position(|p| format!("{prefix}_{}", p.name) == name && (prefix == "b" || p.trainable_tau))
        };
        let is_decay = named("alpha").or(named("beta")).is_some();
        if is_decay && value.iter().any(|x| x.f64() < 0.0 || x.f64() > crate::params::MAX_DECAY) {
            return Err(invalid!(
                "decay factors '{name}' must lie in [0, {}] (exp(-dt / tau))",
                crate::params::MAX_DECAY
            ));
        }
        let target = if name == "b_out" {
            Some(&mut self.params.b_out)
        } else if let Some(i) = named("b") {
            Some(&mut self.params.b[i])
        } else if let Some(i) = named("alpha") {
            Some(&mut self.params.alpha[i])
        } else {
            named("beta").map(|i| &mut self.params.beta[i])
        };
        match target {
            Some(b) => {
                let n = b.len();
                if value.len() != n || value.nrows() != 1 {
                    return Err(shape_err((1, n)));
                }
                b.assign(&value.row(0));
                Ok(())
            }
            None => Err(invalid!("unknown parameter name '{name}'")),
        }
    }
}
