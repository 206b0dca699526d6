//! Weights and biases: one matrix per projection, one bias vector per population and one for the
//! readout, seeded initialisation and fixed sparse masks.
//!
//! Layout: a projection's matrix is stored **source-major**, shape `(n_source, n_target)`, so that a
//! spike of source unit `j` adds the contiguous row `j` to the targets' input (event-driven forward).
//! The public (Python) layout is the transpose, `(n_target, n_source)`.

use crate::real::Real;
use crate::topology::{Sign, Topology};
use ndarray::{Array1, Array2, Zip};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Bernoulli, Distribution, Normal};
use serde::{Deserialize, Serialize};

/// A full set of parameters (also used for gradients and optimiser moments).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Real")]
pub struct ParamSet<T> {
    /// One `(n_source, n_target)` matrix per projection, in the order of the topology.
    pub w: Vec<Array2<T>>,
    /// One bias vector per population.
    pub b: Vec<Array1<T>>,
    /// Readout bias.
    pub b_out: Array1<T>,
    /// Per population, the per-neuron synaptic decay `alpha = exp(-dt / tau_syn)`.
    pub alpha: Vec<Array1<T>>,
    /// Per population, the per-neuron membrane decay `beta = exp(-dt / tau_mem)`.
    pub beta: Vec<Array1<T>>,
}

/// What the optimiser must know about each tensor of a [`ParamSet`] (same order as `slices`).
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub trainable: bool,
    /// Weight matrices get weight decay; biases do not.
    pub is_weight: bool,
    /// Index of the projection whose mask applies, if any.
    pub projection: Option<usize>,
    /// Sign constraint of the projection, if any.
    pub sign: Option<Sign>,
    /// A decay factor, kept in `[0, MAX_DECAY]` by the optimiser.
    pub decay: bool,
    /// Multiplies the learning rate (the projection's `lr_scale`; 1 for biases and decays).
    pub lr_scale: f64,
}

/// Largest decay factor training may reach (a time constant of about 10^4 dt).
pub const MAX_DECAY: f64 = 0.9999;

impl<T: Real> ParamSet<T> {
    /// All-zero parameters shaped for `topo`.
    pub fn zeros(topo: &Topology) -> Self {
        ParamSet {
            w: topo.projs.iter().map(|p| Array2::zeros((p.n_source, p.n_target))).collect(),
            b: topo.pops.iter().map(|p| Array1::zeros(p.size)).collect(),
            b_out: Array1::zeros(topo.n_outputs),
            alpha: topo.pops.iter().map(|p| Array1::zeros(p.size)).collect(),
            beta: topo.pops.iter().map(|p| Array1::zeros(p.size)).collect(),
        }
    }

    /// Seeded initialisation: `w ~ N(0, init_scale^2 / (density n_source))` on the kept connections
    /// of each projection, biases zero. Returns the parameters and the masks (`None` when dense).
    /// Decay factors that are trained start inside the optimiser's range `[0, MAX_DECAY]` (a time
    /// constant above about `10^4 dt` starts at `MAX_DECAY`), so that a network saved before any
    /// step, or after a fit that kept its starting weights, reads back.
    pub fn init(topo: &Topology, seed: u64) -> (Self, Vec<Option<Array2<T>>>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = Self::zeros(topo);
        for (p, pop) in topo.pops.iter().enumerate() {
            let top = if pop.trainable_tau { MAX_DECAY } else { 1.0 };
            params.alpha[p] = pop.alpha.iter().map(|&x| T::c(x.min(top))).collect();
            params.beta[p] = pop.beta.iter().map(|&x| T::c(x.min(top))).collect();
        }
        let mut masks = Vec::with_capacity(topo.projs.len());
        for (w, p) in params.w.iter_mut().zip(&topo.projs) {
            let density = p.density.unwrap_or(1.0);
            let std = p.init_scale / (density * p.n_source as f64).sqrt();
            let normal = Normal::new(0.0, std.max(0.0)).expect("finite std");
            match p.sign {
                None => w.iter_mut().for_each(|x| *x = T::c(normal.sample(&mut rng))),
                Some(sign) => w.iter_mut().for_each(|x| *x = T::c(sign.factor() * normal.sample(&mut rng).abs())),
            }
            let mask = p.density.map(|d| {
                let keep = Bernoulli::new(d).expect("density in (0, 1]");
                let m =
                    Array2::from_shape_fn(w.raw_dim(), |_| if keep.sample(&mut rng) { T::one() } else { T::zero() });
                *w *= &m;
                m
            });
            masks.push(mask);
        }
        (params, masks)
    }

    /// Per-tensor metadata in the order of [`ParamSet::slices`].
    pub fn slots(topo: &Topology) -> Vec<Slot> {
        let mut v: Vec<Slot> = topo
            .projs
            .iter()
            .enumerate()
            .map(|(k, p)| Slot {
                trainable: p.trainable,
                is_weight: true,
                projection: Some(k),
                sign: p.sign,
                decay: false,
                lr_scale: p.lr_scale,
            })
            .collect();
        let bias =
            Slot { trainable: true, is_weight: false, projection: None, sign: None, decay: false, lr_scale: 1.0 };
        v.extend((0..topo.pops.len() + 1).map(|_| bias));
        for _ in 0..2 {
            v.extend(topo.pops.iter().map(|p| Slot { trainable: p.trainable_tau, decay: true, ..bias }));
        }
        v
    }

    /// Every tensor as a flat slice: projections, population biases, readout bias, then the
    /// decay factors `alpha` and `beta` of each population.
    pub fn slices(&self) -> Vec<&[T]> {
        let mut v: Vec<&[T]> = self.w.iter().map(|a| a.as_slice().expect("standard layout")).collect();
        v.extend(self.b.iter().map(|a| a.as_slice().expect("standard layout")));
        v.push(self.b_out.as_slice().expect("standard layout"));
        v.extend(self.alpha.iter().chain(&self.beta).map(|a| a.as_slice().expect("standard layout")));
        v
    }

    /// Mutable version of [`ParamSet::slices`].
    pub fn slices_mut(&mut self) -> Vec<&mut [T]> {
        let mut v: Vec<&mut [T]> = self.w.iter_mut().map(|a| a.as_slice_mut().expect("standard layout")).collect();
        v.extend(self.b.iter_mut().map(|a| a.as_slice_mut().expect("standard layout")));
        v.push(self.b_out.as_slice_mut().expect("standard layout"));
        v.extend(self.alpha.iter_mut().chain(self.beta.iter_mut()).map(|a| a.as_slice_mut().expect("standard layout")));
        v
    }

    /// Sets every entry to zero (keeps the allocation).
    pub fn fill_zero(&mut self) {
        for s in self.slices_mut() {
            s.iter_mut().for_each(|x| *x = T::zero());
        }
    }

    /// `self += other`, entry by entry (a fixed order, hence deterministic).
    pub fn add_assign(&mut self, other: &Self) {
        for (a, b) in self.slices_mut().into_iter().zip(other.slices()) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += *y);
        }
    }

    /// True when every tensor has the shape `topo` gives it (weights `(n_source, n_target)` per
    /// projection, one vector per population, the readout bias). Compares shapes only: allocates
    /// nothing of the (possibly untrusted) described sizes.
    pub fn fits(&self, topo: &Topology) -> bool {
        let vec_ok =
            |v: &[Array1<T>]| v.len() == topo.pops.len() && v.iter().zip(&topo.pops).all(|(a, p)| a.len() == p.size);
        self.w.len() == topo.projs.len()
            && self.w.iter().zip(&topo.projs).all(|(a, p)| a.dim() == (p.n_source, p.n_target))
            && vec_ok(&self.b)
            && vec_ok(&self.alpha)
            && vec_ok(&self.beta)
            && self.b_out.len() == topo.n_outputs
    }

    /// True when every entry is finite.
    pub fn is_finite(&self) -> bool {
        self.slices().iter().all(|s| s.iter().all(|x| x.is_finite()))
    }

    /// Zeroes the entries of masked-out connections.
    pub fn apply_masks(&mut self, masks: &[Option<Array2<T>>]) {
        for (w, m) in self.w.iter_mut().zip(masks) {
            if let Some(m) = m {
                Zip::from(w).and(m).for_each(|x, &k| *x *= k);
            }
        }
    }

    /// Euclidean norm of the trainable tensors.
    pub fn norm(&self, slots: &[Slot]) -> f64 {
        self.slices()
            .iter()
            .zip(slots)
            .filter(|(_, s)| s.trainable)
            .map(|(x, _)| x.iter().map(|v| v.f64() * v.f64()).sum::<f64>())
            .sum::<f64>()
            .sqrt()
    }

    /// Converts to another float type.
    pub fn cast<U: Real>(&self) -> ParamSet<U> {
        ParamSet {
            w: self.w.iter().map(|a| a.mapv(|x| U::c(x.f64()))).collect(),
            b: self.b.iter().map(|a| a.mapv(|x| U::c(x.f64()))).collect(),
            b_out: self.b_out.mapv(|x| U::c(x.f64())),
            alpha: self.alpha.iter().map(|a| a.mapv(|x| U::c(x.f64()))).collect(),
            beta: self.beta.iter().map(|a| a.mapv(|x| U::c(x.f64()))).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::NetworkSpec;

    #[test]
    fn init_is_seeded_and_scaled() {
        let mut spec = NetworkSpec::srnn(400, 300, 3);
        spec.projections[0].init_scale = 2.0;
        spec.projections[1].density = Some(0.25);
        let topo = Topology::compile(&spec).unwrap();
        let (a, ma) = ParamSet::<f64>::init(&topo, 7);
        let (b, _) = ParamSet::<f64>::init(&topo, 7);
        let (c, _) = ParamSet::<f64>::init(&topo, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let var = a.w[0].iter().map(|x| x * x).sum::<f64>() / a.w[0].len() as f64;
        assert!((var - 4.0 / 400.0).abs() < 0.1 * 4.0 / 400.0, "input weight variance {var}");
        let m = ma[1].as_ref().unwrap();
        let kept = m.sum() / m.len() as f64;
        assert!((kept - 0.25).abs() < 0.02, "kept fraction {kept}");
        // masked-out weights are zero
        assert!(a.w[1].iter().zip(m.iter()).all(|(w, k)| *k == 1.0 || *w == 0.0));
        assert!(ma[0].is_none());
    }
}
