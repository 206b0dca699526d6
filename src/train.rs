//! The training loop: epochs, seeded shuffling, mini-batches, validation, early stopping, and a
//! monitor hook (progress bars, interrupts, snapshots) that the caller fills in.

use crate::augment::{self, Jitter};
use crate::error::{invalid, Result};
use crate::model::{normalized_weights, Activity, Model, RateBounds, Targets};
use crate::optim::{Optimizer, OptimizerKind};
use crate::params::ParamSet;
use crate::real::Real;
use crate::spikes::InputEvents;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Options of one training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    pub learning_rate: f64,
    pub max_epochs: usize,
    pub batch_size: usize,
    #[serde(default)]
    pub weight_decay: f64,
    #[serde(default)]
    pub max_grad_norm: Option<f64>,
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// Seed of the shuffling of trials between epochs.
    pub seed: u64,
    /// Stop when the validation loss has not improved by `tol` for `n_iter_no_change` epochs, and
    /// restore the best weights (needs validation data).
    #[serde(default)]
    pub early_stopping: bool,
    #[serde(default = "d_n_iter")]
    pub n_iter_no_change: usize,
    #[serde(default = "d_tol")]
    pub tol: f64,
    /// With early stopping, the starting weights compete with every epoch's (a warm start): their
    /// validation loss is measured before the first epoch, and if no epoch improves on it by
    /// `tol` they are kept (`best_epoch` is then `None`).
    #[serde(default)]
    pub keep_initial: bool,
    /// Firing-rate regularisation weight (0: off) and bounds in spikes per bin.
    #[serde(default)]
    pub rate_weight: f64,
    #[serde(default)]
    pub rate_lower: f64,
    #[serde(default = "d_one")]
    pub rate_upper: f64,
    /// Augmentation: move every training input spike at random, anew in each epoch (validation
    /// trials are never moved). See [`crate::augment`].
    #[serde(default)]
    pub jitter: Option<Jitter>,
    /// Width of a time bin in ms: only to report the epochs' firing rates in Hz.
    #[serde(default = "d_one")]
    pub dt: f64,
    /// Epochs trained before this run on the same data (`partial_fit`): the run replays that many
    /// shuffles and moves spikes with those epochs' seeds first, so that `k` runs of one epoch
    /// each (with the optimiser state carried, [`fit_resuming`]) train as one run of `k` epochs.
    #[serde(default)]
    pub first_epoch: usize,
}

fn d_one() -> f64 {
    1.0
}

fn d_n_iter() -> usize {
    10
}
fn d_tol() -> f64 {
    1e-4
}

/// For Rust callers and tests (the Python estimators set every field from their own parameters):
/// Adam at 5e-3, 40 epochs, batches of 32, gradients clipped at norm 5, no weight decay, rate
/// bound or jitter, seed 0; the same values as the estimators' defaults (`model.md`, Training).
impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            learning_rate: 5e-3,
            max_epochs: 40,
            batch_size: 32,
            weight_decay: 0.0,
            max_grad_norm: Some(5.0),
            optimizer: OptimizerKind::default(),
            seed: 0,
            early_stopping: false,
            n_iter_no_change: d_n_iter(),
            tol: d_tol(),
            keep_initial: false,
            rate_weight: 0.0,
            rate_lower: 0.0,
            rate_upper: d_one(),
            jitter: None,
            dt: 1.0,
            first_epoch: 0,
        }
    }
}

impl TrainConfig {
    fn validate(&self) -> Result<()> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(invalid!("learning_rate must be a finite positive number, got {}", self.learning_rate));
        }
        if self.batch_size == 0 {
            return Err(invalid!("batch_size must be at least 1"));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(invalid!("weight_decay must be finite and >= 0, got {}", self.weight_decay));
        }
        if let Some(c) = self.max_grad_norm {
            if !(c.is_finite() && c > 0.0) {
                return Err(invalid!("max_grad_norm must be a finite positive number, got {c}"));
            }
        }
        if !(self.rate_weight.is_finite() && self.rate_weight >= 0.0) {
            return Err(invalid!("rate_weight must be finite and >= 0, got {}", self.rate_weight));
        }
        if !(self.rate_lower >= 0.0 && self.rate_lower <= self.rate_upper && self.rate_upper.is_finite()) {
            return Err(invalid!(
                "rate bounds must satisfy 0 <= lower <= upper, got ({}, {})",
                self.rate_lower,
                self.rate_upper
            ));
        }
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return Err(invalid!("dt must be a finite positive number of ms, got {}", self.dt));
        }
        if self.n_iter_no_change == 0 {
            return Err(invalid!("n_iter_no_change must be at least 1"));
        }
        if let Some(j) = &self.jitter {
            j.validate()?;
        }
        Ok(())
    }
}

/// One line of the training history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpochRecord {
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's batches (weights changing during the epoch).
    pub loss: f64,
    /// Fraction of training trials classified correctly during the epoch (classification only).
    pub accuracy: Option<f64>,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    /// Mean gradient norm over the epoch's batches (before clipping).
    pub grad_norm: f64,
    /// Mean firing rate (Hz) of all the network's LIF neurons on the epoch's training trials, in
    /// the forward passes of its batches (weights changing during the epoch, as for `loss`).
    #[serde(default)]
    pub rate_hz: f64,
}

/// Why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    MaxEpochs,
    EarlyStopping,
    /// The monitor asked to stop (e.g. Ctrl-C).
    Interrupted,
    /// Non-finite loss, gradient, weights or optimiser state (e.g. Adam's second moment beyond
    /// float32 for a gradient entry above about 6e20) at this batch. The model holds the last
    /// weights whose loss and gradient were finite (those before the previous step, or the starting weights when
    /// the first batch diverged); with early stopping, the best epoch's weights.
    Diverged {
        epoch: usize,
        batch: usize,
    },
}

/// The outcome of [`fit`].
#[derive(Debug, Clone)]
pub struct TrainReport {
    pub history: Vec<EpochRecord>,
    pub stop: StopReason,
    /// Epoch (0-based) whose weights the model holds when best weights were restored; `None`
    /// without early stopping, or when `keep_initial` kept the starting weights.
    pub best_epoch: Option<usize>,
}

/// Receives progress; returning `false` stops training at that point (batch or epoch boundary).
pub trait Monitor<T: Real> {
    fn on_batch(&mut self, _epoch: usize, _batch: usize, _n_batches: usize, _loss: f64) -> bool {
        true
    }
    /// After each epoch, with the network and the optimiser state it has reached, and the epoch
    /// whose weights early stopping would restore now (`best`): `None` before any validation
    /// loss, `Some(None)` for the starting weights (`keep_initial`), `Some(Some(epoch))`.
    fn on_epoch(
        &mut self,
        _record: &EpochRecord,
        _model: &Model<T>,
        _optimizer: &Optimizer<T>,
        _best: Option<Option<usize>>,
    ) -> bool {
        true
    }
}

/// A monitor that never stops training.
pub struct Silent;
impl<T: Real> Monitor<T> for Silent {}

/// Data as events with their targets, optionally a weight per trial (each trial's loss is
/// multiplied by it; see [`normalized_weights`]) and recorded activity to match (training only;
/// validation scores the task loss).
pub struct Data<'a, T> {
    pub x: &'a InputEvents<T>,
    pub y: Targets<'a, T>,
    pub weights: Option<&'a [f64]>,
    pub activity: Option<Activity<'a, T>>,
}

/// Trains `model` in place. Parallel parts run in the caller's rayon pool (`pool.install`).
/// The monitor is called on the calling thread, between batches.
pub fn fit<T: Real>(
    model: &mut Model<T>,
    train: Data<T>,
    val: Option<Data<T>>,
    cfg: &TrainConfig,
    pool: &rayon::ThreadPool,
    monitor: &mut dyn Monitor<T>,
) -> Result<TrainReport> {
    fit_resuming(model, train, val, cfg, pool, monitor, &mut None)
}

/// [`fit`], continuing from the optimiser state in `optimizer` (Adam's moments and step count,
/// SGD's momentum) when it holds one of the configured kind (its learning rate, weight decay and
/// clipping are set from `cfg`), else from a new one; the state after the run is left in it.
pub fn fit_resuming<T: Real>(
    model: &mut Model<T>,
    train: Data<T>,
    val: Option<Data<T>>,
    cfg: &TrainConfig,
    pool: &rayon::ThreadPool,
    monitor: &mut dyn Monitor<T>,
    optimizer: &mut Option<Optimizer<T>>,
) -> Result<TrainReport> {
    cfg.validate()?;
    model.check_input(train.x)?;
    if train.x.n_trials == 0 {
        return Err(invalid!("no training trials"));
    }
    model.check_targets(train.x, &train.y)?;
    // scaled to a mean of 1 over the training set: a batch's mean of w_i L_i is then an unbiased
    // estimate of the weighted mean loss of the whole set
    let weights = train.weights.map(|w| normalized_weights::<T>(w, train.x.n_trials)).transpose()?;
    if let Some(a) = &train.activity {
        a.check(model, train.x)?;
    }
    if let Some(v) = &val {
        model.check_input(v.x)?;
        model.check_targets(v.x, &v.y)?;
        if let Some(w) = v.weights {
            normalized_weights::<T>(w, v.x.n_trials)?;
        }
        if v.y.is_classes() != train.y.is_classes() {
            return Err(invalid!("validation targets must be of the same kind as the training targets"));
        }
    }
    if cfg.early_stopping && val.is_none() {
        return Err(invalid!("early_stopping needs validation data"));
    }
    let n = train.x.n_trials;
    // the total weight of the training trials (n without weights; n up to rounding with them):
    // the epoch's loss and accuracy are divided by it
    let total_weight = weights.as_ref().map_or(n as f64, |w| w.iter().map(|v| v.f64()).sum());
    let n_neurons: usize = model.topo.pops.iter().map(|p| p.size).sum::<usize>().max(1);
    let batch = cfg.batch_size.min(n);
    let mut wss = model.gradient_workspaces(batch, pool.current_num_threads())?;
    let mut grad = ParamSet::zeros(&model.topo);
    if !matches!(optimizer, Some(o) if o.kind == cfg.optimizer) {
        *optimizer = Some(Optimizer::new(&model.topo, cfg.optimizer, cfg.learning_rate, 0.0, None));
    }
    let Some(opt) = optimizer.as_mut() else { unreachable!("set above") };
    opt.lr = cfg.learning_rate;
    opt.weight_decay = cfg.weight_decay;
    opt.max_grad_norm = cfg.max_grad_norm;
    let rate = (cfg.rate_weight > 0.0).then(|| RateBounds {
        weight: T::c(cfg.rate_weight),
        lower: T::c(cfg.rate_lower),
        upper: T::c(cfg.rate_upper),
    });
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut order: Vec<usize> = (0..n).collect();
    for _ in 0..cfg.first_epoch {
        order.shuffle(&mut rng);
    }
    let mut history = Vec::new();
    // (validation loss, epoch or None for the starting weights, weights)
    let mut best: Option<(f64, Option<usize>, ParamSet<T>)> = None;
    if let (true, true, Some(v)) = (cfg.early_stopping, cfg.keep_initial, &val) {
        let (l, _) = pool.install(|| model.evaluate(v.x, &v.y, v.weights))?;
        if l.is_finite() {
            best = Some((l, None, model.params.clone()));
        }
    }
    let mut since_best = 0usize;
    let mut stop = StopReason::MaxEpochs;
    // The weights before the latest optimiser step: they gave a finite loss and gradient on that
    // step's batch. When the next batch's loss is not finite, the current weights (which produced
    // it) are discarded for these.
    let mut last_finite: Option<ParamSet<T>> = None;

    'epochs: for epoch in 0..cfg.max_epochs {
        order.shuffle(&mut rng);
        let seed_epoch = (cfg.first_epoch + epoch) as u64;
        let moved =
            cfg.jitter.map(|how| pool.install(|| augment::jitter(train.x, how, cfg.seed, seed_epoch))).transpose()?;
        let x = moved.as_ref().unwrap_or(train.x);
        let n_batches = n.div_ceil(batch);
        let (mut loss_sum, mut correct, mut norm_sum, mut spikes) = (0.0, 0.0, 0.0, 0usize);
        let mut n_steps = 0usize;
        for (bi, trials) in order.chunks(batch).enumerate() {
            let (l, c, n_spikes) = pool.install(|| {
                let (y, w, act) = (&train.y, weights.as_deref(), train.activity.as_ref());
                model.batch_grad(x, y, w, act, rate.as_ref(), trials, &mut wss, &mut grad)
            })?;
            if !l.is_finite() || !grad.is_finite() {
                if let Some(p) = last_finite.take() {
                    model.params = p;
                }
                stop = StopReason::Diverged { epoch, batch: bi };
                break 'epochs;
            }
            // a batch of trials of weight 0 has nothing to learn from: no step (Adam's momentum and
            // the weight decay would still move the weights)
            let weightless = weights.as_ref().is_some_and(|w| trials.iter().all(|&i| w[i] == T::zero()));
            if !weightless {
                let before = model.params.clone();
                norm_sum += opt.step(&mut model.params, &mut grad, &model.masks);
                n_steps += 1;
                // a state that overflowed (Adam's g^2 beyond float32) would freeze weights silently
                // and could not be stored: a divergence too (the state is dropped below)
                if !model.params.is_finite() || !opt.is_finite() {
                    model.params = before;
                    stop = StopReason::Diverged { epoch, batch: bi };
                    break 'epochs;
                }
                last_finite = Some(before);
            }
            loss_sum += l;
            correct += c;
            spikes += n_spikes;
            if !monitor.on_batch(epoch, bi, n_batches, l / trials.len() as f64) {
                stop = StopReason::Interrupted;
                break 'epochs;
            }
        }
        let (val_loss, val_accuracy) = match &val {
            Some(v) => {
                let (l, a) = pool.install(|| model.evaluate(v.x, &v.y, v.weights))?;
                (Some(l), a)
            }
            None => (None, None),
        };
        let rec = EpochRecord {
            epoch,
            loss: loss_sum / total_weight,
            accuracy: train.y.is_classes().then_some(correct / total_weight),
            val_loss,
            val_accuracy,
            grad_norm: norm_sum / n_steps.max(1) as f64,
            rate_hz: spikes as f64 / (n * x.n_steps * n_neurons) as f64 * 1000.0 / cfg.dt,
        };
        history.push(rec.clone());
        if let Some(vl) = val_loss {
            let improved = best.as_ref().is_none_or(|(b, _, _)| vl < *b - cfg.tol);
            if improved {
                best = Some((vl, Some(epoch), model.params.clone()));
                since_best = 0;
            } else {
                since_best += 1;
            }
        }
        let best_epoch_now = best.as_ref().map(|(_, e, _)| *e);
        if !monitor.on_epoch(&rec, model, opt, best_epoch_now) {
            stop = StopReason::Interrupted;
            break;
        }
        if cfg.early_stopping && since_best >= cfg.n_iter_no_change {
            stop = StopReason::EarlyStopping;
            break;
        }
    }
    let mut best_epoch = None;
    let mut restored = matches!(stop, StopReason::Diverged { .. });
    if cfg.early_stopping {
        if let Some((_, e, p)) = best {
            restored |= e != history.last().map(|r: &EpochRecord| r.epoch);
            model.params = p;
            best_epoch = e;
        }
    }
    if restored {
        // the weights are older than the optimiser's state: a resumed run starts a new one
        *optimizer = None;
    }
    Ok(TrainReport { history, stop, best_epoch })
}
