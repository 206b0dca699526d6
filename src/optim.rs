//! Optimisers: Adam (default), AdamW and SGD with momentum, weight decay on weight matrices (coupled
//! L2 for Adam and SGD, decoupled for AdamW), and global gradient-norm clipping. Fixed projections
//! and masked-out connections are never touched.

use crate::error::{Error, Result};
use crate::params::{ParamSet, Slot, MAX_DECAY};
use crate::real::Real;
use crate::topology::{Sign, Topology};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Which update rule to use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam (Kingma & Ba 2015) with beta1 = 0.9, beta2 = 0.999, eps = 1e-8.
    #[default]
    Adam,
    /// Adam with decoupled weight decay (Loshchilov & Hutter 2019): after the Adam step, each weight
    /// matrix shrinks by `lr * weight_decay * W`, independently of its gradient's scale.
    #[serde(rename = "adamw")]
    AdamW,
    /// Stochastic gradient descent with momentum 0.9.
    Sgd,
}

/// Optimiser state for one training run.
#[derive(Debug, Clone)]
pub struct Optimizer<T> {
    pub kind: OptimizerKind,
    pub lr: f64,
    /// Weight decay of weight matrices (not biases): for Adam and SGD the L2 penalty
    /// `weight_decay / 2 * ||W||^2` added to the loss; for AdamW the decoupled shrinkage.
    pub weight_decay: f64,
    /// Rescale the gradient when its norm exceeds this value.
    pub max_grad_norm: Option<f64>,
    m: ParamSet<T>,
    v: ParamSet<T>,
    step: u64,
    slots: Vec<Slot>,
}

/// The largest step count a stored state may hold: 2^53 (every count up to it is exact in f64;
/// at a microsecond per step, 285 years of training).
const MAX_STEPS: u64 = 1 << 53;

/// What an optimiser has learnt during training, as model files store it (float32, like the
/// parameters): the update rule, the number of steps taken and the moments (Adam's first and
/// second moments; SGD's momentum in `m`, with `v` all zero). The learning rate, weight decay and
/// clipping are not part of it: a resumed run takes them from its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    pub kind: OptimizerKind,
    pub step: u64,
    pub m: ParamSet<f32>,
    pub v: ParamSet<f32>,
}

impl<T: Real> Optimizer<T> {
    /// True when the moments are finite. Adam's second moment adds `(1 - beta2) g^2`: in float32
    /// it overflows to infinity for a (finite) gradient entry above about 6e20 (possible only
    /// without clipping), and the weight would then stop moving without any sign, its state could
    /// not be stored. Training treats a state that is not finite as a divergence.
    pub fn is_finite(&self) -> bool {
        self.m.is_finite() && self.v.is_finite()
    }

    /// The number of steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The state to store (see [`OptimizerState`]).
    pub fn state(&self) -> OptimizerState {
        OptimizerState { kind: self.kind, step: self.step, m: self.m.cast(), v: self.v.cast() }
    }

    /// An optimiser continuing from a stored state, for the parameters of topology `topo`. A
    /// state that cannot belong to them (other shapes, non-finite or negative second moments,
    /// moments without a step, more than [`MAX_STEPS`] steps) is an `Error::FileFormat`.
    pub fn from_state(topo: &Topology, state: OptimizerState) -> Result<Self> {
        let bad = |why: &str| Err(Error::FileFormat(format!("optimiser state: {why}")));
        if !state.m.fits(topo) || !state.v.fits(topo) {
            return bad("its moments do not match the network's parameters");
        }
        if !state.m.is_finite() || !state.v.is_finite() {
            return bad("non-finite moments");
        }
        if state.v.slices().iter().any(|s| s.iter().any(|&x| x < 0.0)) {
            return bad("negative second moments");
        }
        let zero = |p: &ParamSet<f32>| p.slices().iter().all(|s| s.iter().all(|&x| x == 0.0));
        if state.kind == OptimizerKind::Sgd && !zero(&state.v) {
            return bad("SGD keeps no second moments, but the state holds some");
        }
        if state.step == 0 && !(zero(&state.m) && zero(&state.v)) {
            return bad("moments without any step taken");
        }
        if state.step > MAX_STEPS {
            return bad(&format!("{} steps, more than any training takes (at most 2^53)", state.step));
        }
        let mut opt = Optimizer::new(topo, state.kind, 0.0, 0.0, None);
        opt.step = state.step;
        opt.m = state.m.cast();
        opt.v = state.v.cast();
        Ok(opt)
    }

    pub fn new(topo: &Topology, kind: OptimizerKind, lr: f64, weight_decay: f64, max_grad_norm: Option<f64>) -> Self {
        Optimizer {
            kind,
            lr,
            weight_decay,
            max_grad_norm,
            m: ParamSet::zeros(topo),
            v: ParamSet::zeros(topo),
            step: 0,
            slots: ParamSet::<T>::slots(topo),
        }
    }

    /// Applies one update. `grad` is modified (weight decay, clipping). Returns the gradient norm
    /// before clipping. The caller checks that the weights and the state stay finite
    /// ([`Optimizer::is_finite`]).
    pub fn step(&mut self, params: &mut ParamSet<T>, grad: &mut ParamSet<T>, masks: &[Option<Array2<T>>]) -> f64 {
        self.step = self.step.saturating_add(1);
        let wd = T::c(self.weight_decay);
        let decoupled = self.kind == OptimizerKind::AdamW;
        if self.weight_decay != 0.0 && !decoupled {
            for ((g, p), slot) in grad.slices_mut().into_iter().zip(params.slices()).zip(&self.slots) {
                if slot.is_weight {
                    g.iter_mut().zip(p).for_each(|(g, &p)| *g += wd * p);
                }
            }
        }
        grad.apply_masks(masks);
        let norm = grad.norm(&self.slots);
        let clip = match self.max_grad_norm {
            Some(c) if norm > c => T::c(c / norm),
            _ => T::one(),
        };
        let lr = T::c(self.lr);
        let (b1, b2, eps) = (T::c(0.9), T::c(0.999), T::c(1e-8));
        let bc1 = T::one() - T::c(0.9f64.powi(self.step.min(i32::MAX as u64) as i32));
        let bc2 = T::one() - T::c(0.999f64.powi(self.step.min(i32::MAX as u64) as i32));
        let it = params
            .slices_mut()
            .into_iter()
            .zip(grad.slices())
            .zip(self.m.slices_mut())
            .zip(self.v.slices_mut())
            .zip(&self.slots);
        for ((((p, g), m), v), slot) in it {
            if !slot.trainable {
                continue;
            }
            let lr = lr * T::c(slot.lr_scale);
            match self.kind {
                OptimizerKind::Adam | OptimizerKind::AdamW => {
                    // AdamW: p <- p - lr * m_hat / (sqrt(v_hat) + eps) - lr * wd * p, wd on weights
                    // only. The Adam term keeps its order of operations, so that with shrink = 0
                    // the update is Adam's bit for bit.
                    let shrink = if decoupled && slot.is_weight { lr * wd } else { T::zero() };
                    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                        let g = g * clip;
                        *m = b1 * *m + (T::one() - b1) * g;
                        *v = b2 * *v + (T::one() - b2) * g * g;
                        *p -= lr * (*m / bc1) / ((*v / bc2).sqrt() + eps) + shrink * *p;
                    }
                }
                OptimizerKind::Sgd => {
                    for ((p, &g), m) in p.iter_mut().zip(g).zip(m.iter_mut()) {
                        *m = T::c(0.9) * *m + g * clip;
                        *p -= lr * *m;
                    }
                }
            }
        }
        // Sign constraints (Dale's law) and decay ranges: projected back onto the allowed set.
        let max_decay = T::c(MAX_DECAY);
        for (p, slot) in params.slices_mut().into_iter().zip(&self.slots) {
            match slot.sign {
                Some(Sign::Excitatory) => p.iter_mut().for_each(|x| *x = x.max(T::zero())),
                Some(Sign::Inhibitory) => p.iter_mut().for_each(|x| *x = x.min(T::zero())),
                None => {}
            }
            if slot.decay && slot.trainable {
                p.iter_mut().for_each(|x| *x = x.max(T::zero()).min(max_decay));
            }
        }
        // Masked entries have zero gradient and zero moments, so they stay exactly zero.
        params.apply_masks(masks);
        norm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::NetworkSpec;

    /// The update rules written out entry by entry, independently of [`Optimizer::step`]: coupled
    /// L2 (`g += wd W` on weight matrices), global-norm clipping over the trainable tensors, then
    /// Adam (beta1 = 0.9, beta2 = 0.999, eps = 1e-8, bias-corrected moments), AdamW (Adam plus
    /// `lr wd W` on weight matrices, from the weights before the step) or SGD with momentum 0.9.
    fn reference_steps(
        kind: OptimizerKind,
        lr: f64,
        wd: f64,
        max_norm: Option<f64>,
        slots: &[Slot],
        mut p: Vec<Vec<f64>>,
        grads: &[Vec<Vec<f64>>],
    ) -> Vec<Vec<f64>> {
        let mut m: Vec<Vec<f64>> = p.iter().map(|x| vec![0.0; x.len()]).collect();
        let mut v = m.clone();
        for (step, g) in grads.iter().enumerate() {
            let t = (step + 1) as i32;
            let mut g = g.clone();
            if kind != OptimizerKind::AdamW {
                for ((gs, ps), slot) in g.iter_mut().zip(&p).zip(slots) {
                    if slot.is_weight {
                        gs.iter_mut().zip(ps).for_each(|(g, w)| *g += wd * w);
                    }
                }
            }
            let norm: f64 = g
                .iter()
                .zip(slots)
                .filter(|(_, s)| s.trainable)
                .flat_map(|(x, _)| x)
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt();
            let clip = max_norm.map_or(1.0, |c| if norm > c { c / norm } else { 1.0 });
            for k in 0..p.len() {
                if !slots[k].trainable {
                    continue;
                }
                for i in 0..p[k].len() {
                    let gi = g[k][i] * clip;
                    let w = p[k][i];
                    if kind == OptimizerKind::Sgd {
                        m[k][i] = 0.9 * m[k][i] + gi;
                        p[k][i] = w - lr * m[k][i];
                    } else {
                        m[k][i] = 0.9 * m[k][i] + 0.1 * gi;
                        v[k][i] = 0.999 * v[k][i] + 0.001 * gi * gi;
                        let m_hat = m[k][i] / (1.0 - 0.9f64.powi(t));
                        let v_hat = v[k][i] / (1.0 - 0.999f64.powi(t));
                        let decay = if kind == OptimizerKind::AdamW && slots[k].is_weight { lr * wd * w } else { 0.0 };
                        p[k][i] = w - lr * m_hat / (v_hat.sqrt() + 1e-8) - decay;
                    }
                }
            }
        }
        p
    }

    /// Several steps of every rule, with weight decay and clipping, against [`reference_steps`]:
    /// gradients that change sign and size from step to step, so that the moments, the bias
    /// corrections and the momentum all matter (Adam's first step alone is `lr sign(g)`).
    #[test]
    fn updates_match_the_rules_written_out_over_several_steps() {
        let mut spec = NetworkSpec::srnn(3, 4, 2);
        spec.projections[1].trainable = false;
        let topo = Topology::compile(&spec).unwrap();
        let slots = ParamSet::<f64>::slots(&topo);
        let (start, masks) = ParamSet::<f64>::init(&topo, 5);
        let grad_at = |step: usize| {
            let mut g = ParamSet::<f64>::zeros(&topo);
            for (k, s) in g.slices_mut().into_iter().enumerate() {
                s.iter_mut().enumerate().for_each(|(i, x)| {
                    *x = ((1 + i + 3 * k + 7 * step) as f64 * 0.77).sin() * (0.05 + 0.5 * (step % 3) as f64)
                });
            }
            g
        };
        let to_vec = |p: &ParamSet<f64>| p.slices().iter().map(|s| s.to_vec()).collect::<Vec<_>>();
        let grads: Vec<Vec<Vec<f64>>> = (0..6).map(|s| to_vec(&grad_at(s))).collect();
        for kind in [OptimizerKind::Adam, OptimizerKind::AdamW, OptimizerKind::Sgd] {
            for (wd, max_norm) in [(0.0, None), (0.2, None), (0.0, Some(0.8)), (0.1, Some(1.5))] {
                let lr = 0.03;
                let want = reference_steps(kind, lr, wd, max_norm, &slots, to_vec(&start), &grads);
                let mut p = start.clone();
                let mut opt = Optimizer::new(&topo, kind, lr, wd, max_norm);
                for s in 0..grads.len() {
                    opt.step(&mut p, &mut grad_at(s), &masks);
                }
                assert_eq!(opt.steps(), grads.len() as u64);
                let moved = to_vec(&p).iter().flatten().zip(to_vec(&start).iter().flatten()).any(|(a, b)| a != b);
                assert!(moved, "{kind:?}: nothing moved");
                for (k, (got, want)) in to_vec(&p).iter().zip(&want).enumerate() {
                    for (g, w) in got.iter().zip(want) {
                        assert!(
                            (g - w).abs() < 1e-12 * (1.0 + w.abs()),
                            "{kind:?} wd {wd} clip {max_norm:?} tensor {k}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn adam_first_step_moves_by_lr_and_respects_fixed_and_masks() {
        let mut spec = NetworkSpec::srnn(3, 4, 2);
        spec.projections[1].trainable = false;
        spec.projections[0].density = Some(0.5);
        let topo = Topology::compile(&spec).unwrap();
        let (mut p, masks) = ParamSet::<f64>::init(&topo, 1);
        let before = p.clone();
        let mut g = ParamSet::<f64>::zeros(&topo);
        for s in g.slices_mut() {
            s.iter_mut().enumerate().for_each(|(i, x)| *x = if i % 2 == 0 { 0.3 } else { -2.0 });
        }
        let mut opt = Optimizer::new(&topo, OptimizerKind::Adam, 0.01, 0.0, None);
        opt.step(&mut p, &mut g, &masks);
        assert_eq!(p.w[1], before.w[1], "fixed projection changed");
        let m = masks[0].as_ref().unwrap();
        for ((a, b), k) in p.w[0].iter().zip(before.w[0].iter()).zip(m.iter()) {
            if *k == 0.0 {
                assert_eq!(*a, 0.0);
            } else {
                assert!(((a - b).abs() - 0.01).abs() < 1e-6, "Adam's first step has size lr");
            }
        }
        assert!((p.b_out[0] - (before.b_out[0] - 0.01)).abs() < 1e-9);
    }

    #[test]
    fn a_gradient_whose_square_overflows_float32_leaves_a_state_that_is_not_finite() {
        let topo = Topology::compile(&NetworkSpec::srnn(2, 3, 2)).unwrap();
        let (mut p, masks) = ParamSet::<f32>::init(&topo, 1);
        let mut opt = Optimizer::new(&topo, OptimizerKind::Adam, 0.01, 0.0, None);
        let mut g = ParamSet::<f32>::zeros(&topo);
        g.b_out[0] = 1e20;
        opt.step(&mut p, &mut g, &masks);
        assert!(opt.is_finite() && p.is_finite(), "(1 - beta2) (1e20)^2 = 1e37 fits in float32");
        let mut g = ParamSet::<f32>::zeros(&topo);
        g.b_out[0] = 1e21; // finite, but 1e39 is not: v = inf, and the weight would stop moving
        opt.step(&mut p, &mut g, &masks);
        assert!(p.is_finite() && !opt.is_finite(), "training reads this as a divergence");
    }

    #[test]
    fn sign_constraints_hold_after_steps() {
        let mut spec = NetworkSpec::srnn(5, 6, 2);
        spec.projections[0].sign = Some(Sign::Excitatory);
        spec.projections[1].sign = Some(Sign::Inhibitory);
        let topo = Topology::compile(&spec).unwrap();
        let (mut p, masks) = ParamSet::<f64>::init(&topo, 3);
        assert!(p.w[0].iter().all(|&x| x >= 0.0) && p.w[1].iter().all(|&x| x <= 0.0));
        assert!(p.w[0].iter().any(|&x| x > 0.0) && p.w[1].iter().any(|&x| x < 0.0));
        let mut opt = Optimizer::new(&topo, OptimizerKind::Sgd, 1.0, 0.0, None);
        for step in 0..3 {
            let mut g = ParamSet::<f64>::zeros(&topo);
            for s in g.slices_mut() {
                s.iter_mut().enumerate().for_each(|(i, x)| *x = if (i + step) % 2 == 0 { 1.0 } else { -1.0 });
            }
            opt.step(&mut p, &mut g, &masks);
            assert!(p.w[0].iter().all(|&x| x >= 0.0) && p.w[1].iter().all(|&x| x <= 0.0));
        }
        assert!(p.w[0].iter().any(|&x| x == 0.0), "some weights were clipped at zero");
        assert!(p.w[2].iter().any(|&x| x < 0.0) && p.w[2].iter().any(|&x| x > 0.0), "unconstrained");
    }

    #[test]
    fn clipping_and_decay() {
        let topo = Topology::compile(&NetworkSpec::srnn(2, 2, 2)).unwrap();
        let (mut p, masks) = ParamSet::<f64>::init(&topo, 1);
        let before = p.clone();
        let mut g = ParamSet::<f64>::zeros(&topo);
        g.b_out[0] = 10.0;
        let mut opt = Optimizer::new(&topo, OptimizerKind::Sgd, 0.1, 0.5, Some(1.0));
        let slots = ParamSet::<f64>::slots(&topo);
        let norm = opt.step(&mut p, &mut g, &masks);
        let expect = (100.0 + 0.25 * before.norm(&slots[..3]).powi(2)).sqrt();
        assert!((norm - expect).abs() < 1e-9, "{norm} vs {expect}");
        let moved = (before.b_out[0] - p.b_out[0]) / 0.1;
        assert!((moved - 10.0 / norm).abs() < 1e-9);
    }

    #[test]
    fn adamw_decay_is_decoupled_from_the_gradient() {
        let mut spec = NetworkSpec::srnn(3, 4, 2);
        spec.projections[1].trainable = false; // w_rec: fixed projections never decay
        spec.projections[2].lr_scale = 0.5; // w_out: the decay follows the projection's step
        let topo = Topology::compile(&spec).unwrap();
        let (lr, wd) = (0.01, 0.3);
        let (mut p, masks) = ParamSet::<f64>::init(&topo, 4);
        p.b[0].fill(0.7);
        let before = p.clone();
        // A zero gradient: Adam alone would not move anything; AdamW shrinks the trainable
        // weight matrices by lr * lr_scale * wd * W and leaves biases and fixed weights alone.
        let mut g = ParamSet::<f64>::zeros(&topo);
        let norm = Optimizer::new(&topo, OptimizerKind::AdamW, lr, wd, Some(1.0)).step(&mut p, &mut g, &masks);
        assert_eq!(norm, 0.0, "the decay is not part of the clipped gradient");
        let close = |a: &Array2<f64>, b: Array2<f64>| a.iter().zip(b.iter()).all(|(x, y)| (x - y).abs() < 1e-15);
        assert!(close(&p.w[0], before.w[0].mapv(|w| w * (1.0 - lr * wd))), "w_in shrinks by lr * wd");
        assert_eq!(p.w[1], before.w[1], "a fixed projection does not decay");
        assert!(close(&p.w[2], before.w[2].mapv(|w| w * (1.0 - 0.5 * lr * wd))), "w_out at its lr_scale");
        assert_eq!(p.b[0], before.b[0], "biases are not decayed");
        // With Adam, the same weight decay enters the gradient: the first step is lr * sign(W).
        let mut q = before.clone();
        let mut g = ParamSet::<f64>::zeros(&topo);
        Optimizer::new(&topo, OptimizerKind::Adam, lr, wd, None).step(&mut q, &mut g, &masks);
        let moved = (&before.w[0] - &q.w[0]).mapv(f64::abs);
        assert!(moved.iter().all(|d| (d - lr).abs() < 1e-6), "coupled L2 is normalised by Adam: {moved}");
        // Without weight decay, AdamW is Adam bit for bit.
        let mut grad = ParamSet::<f64>::zeros(&topo);
        grad.slices_mut()
            .into_iter()
            .for_each(|s| s.iter_mut().enumerate().for_each(|(i, x)| *x = 0.1 * i as f64 - 0.3));
        let (mut a, mut b) = (before.clone(), before.clone());
        let mut opt_a = Optimizer::new(&topo, OptimizerKind::Adam, lr, 0.0, None);
        let mut opt_b = Optimizer::new(&topo, OptimizerKind::AdamW, lr, 0.0, None);
        for _ in 0..3 {
            opt_a.step(&mut a, &mut grad.clone(), &masks);
            opt_b.step(&mut b, &mut grad.clone(), &masks);
        }
        assert_eq!(a.slices(), b.slices());
    }

    #[test]
    fn lr_scale_scales_each_projections_step() {
        let mut spec = NetworkSpec::srnn(3, 4, 2);
        spec.projections[1].lr_scale = 0.25; // w_rec
        spec.projections[2].lr_scale = 0.0; // w_out: trainable but never moves
        let topo = Topology::compile(&spec).unwrap();
        for kind in [OptimizerKind::Adam, OptimizerKind::Sgd] {
            let (mut p, masks) = ParamSet::<f64>::init(&topo, 2);
            let before = p.clone();
            let mut g = ParamSet::<f64>::zeros(&topo);
            g.slices_mut().into_iter().for_each(|s| s.iter_mut().for_each(|x| *x = 0.5));
            Optimizer::new(&topo, kind, 0.01, 0.0, None).step(&mut p, &mut g, &masks);
            let step = if kind == OptimizerKind::Adam { 0.01 } else { 0.005 };
            let moved = |k: usize| (&before.w[k] - &p.w[k]).mapv(f64::abs);
            assert!(moved(0).iter().all(|d| (d - step).abs() < 1e-9), "{kind:?}: w_in moves by the full step");
            assert!(moved(1).iter().all(|d| (d - 0.25 * step).abs() < 1e-9), "{kind:?}: w_rec by a quarter");
            assert!(moved(2).iter().all(|&d| d == 0.0), "{kind:?}: lr_scale 0 freezes w_out");
            assert!((before.b[0][0] - p.b[0][0] - step).abs() < 1e-9, "{kind:?}: biases keep the global rate");
        }
        spec.projections[0].lr_scale = -1.0;
        assert!(Topology::compile(&spec).is_err(), "a negative lr_scale is refused");
    }
}
