//! Backpropagation through time over the tape of [`crate::forward::forward`], with surrogate
//! gradients. For one population (the multi-population case sums over projections):
//! ```text
//! gO[t] = dL/dO[t] + beta_o gO[t+1]
//! gs[t] = W_out^T gO[t] + W_rec^T gA[t+1]           (+ W_ff^T gA_target[t] for same-step projections)
//!         (+ dL/ds[t] of the activity-matching term, when used)
//!         (- theta gU[t+1] for reset "subtract", - beta U[t] gU[t+1] for "zero", when not detached)
//! gU[t] = gs[t] sg(U[t] - theta) + beta gU[t+1]      (beta (1 - s[t]) gU[t+1] for reset "zero")
//! gA[t] = gI[t] = gU[t] + alpha gI[t+1]
//! dW_in += gA[t] x[t]^T;  dW_rec += gA[t] s[t-1]^T;  db += gA[t];  dW_out += gO[t] s[t]^T;  db_out += gO[t]
//! ```
//! Weight gradients are accumulated event by event (only rows of sources that spiked); the dense
//! products `W^T gA` are small matrix-matrix products over the chunk's trials ([`crate::dense`]),
//! restricted to the units inside the surrogate's support when it has a compact one and few units
//! are inside ([`SPARSE_BELOW`]). A checkpointed tape ([`crate::forward::Recording::Checkpoints`]) is recomputed
//! segment by segment as the reverse pass reaches it.

use crate::dense::{gemm_acc, gemm_acc_cols, multiversion};
use crate::forward::{for_each_event, Constants, Workspace};
use crate::neuron::{Reset, SurrogateFn, SurrogateKind, ARCTAN, FAST_SIGMOID, SIGMOID, TRIANGLE};
use crate::params::ParamSet;
use crate::real::Real;
use crate::spikes::InputEvents;
use crate::topology::{Endpoint, Topology};
use ndarray::Array2;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Adds `v * x` to row `row` of the source-major gradient `g`.
#[inline(always)]
fn add_row<T: Real>(g: &mut Array2<T>, row: usize, v: T, x: &[T]) {
    crate::forward::axpy(g.row_mut(row).into_slice().expect("standard layout"), v, x);
}

/// One step of the unit-wise recursion for one trial of one population:
/// `gU = gs sg(U - theta) + keep gU'`, `gI = gU + alpha gI'` (primes: the values of step `t + 1`),
/// with `keep = beta` (reset "subtract") or `beta (1 - s)` (reset "zero").
struct UnitStep<'a, T> {
    u: &'a [T],
    gs: &'a [T],
    gu: &'a mut [T],
    gi: &'a mut [T],
    alpha: &'a [T],
    beta: &'a [T],
    theta: T,
}

impl<T: Real> UnitStep<'_, T> {
    /// Picks a branch-free loop for the surrogate kind `KIND`, the reset and the spike function.
    #[inline(always)]
    fn run<const KIND: u8>(self, sg: &SurrogateFn<T>, reset: Reset) {
        match (reset, sg.smooth) {
            (Reset::Subtract, _) => self.apply(|v| sg.grad_as::<KIND>(v), |beta, _| beta),
            (Reset::Zero, false) => {
                self.apply(|v| sg.grad_as::<KIND>(v), |beta, v| if v > T::zero() { T::zero() } else { beta })
            }
            (Reset::Zero, true) => self.apply(|v| sg.grad_as::<KIND>(v), |beta, v| beta * (T::one() - sg.spike(v))),
        }
    }

    #[inline(always)]
    fn apply(self, grad: impl Fn(T) -> T, keep: impl Fn(T, T) -> T) {
        let n = self.u.len();
        let (gs, gu, gi) = (&self.gs[..n], &mut self.gu[..n], &mut self.gi[..n]);
        let (alpha, beta) = (&self.alpha[..n], &self.beta[..n]);
        for j in 0..n {
            let v = self.u[j] - self.theta;
            let g_u = gs[j] * grad(v) + keep(beta[j], v) * gu[j];
            gu[j] = g_u;
            gi[j] = g_u + alpha[j] * gi[j];
        }
    }
}

/// Below this fraction of units with a nonzero surrogate derivative, the products that feed `gs`
/// are computed only for those units ([`gemm_acc_cols`]). Each of its dot products reads a row of
/// `W` that the blocked [`gemm_acc`] would have shared between several trials, so it only pays
/// off well below one half: on workload W-M it is faster with 4.5 % and 8.8 % of the units inside
/// the support and slower with 44 % (BENCHMARKS.md).
pub const SPARSE_BELOW: f64 = 0.15;

static SPARSE_BELOW_BITS: AtomicU64 = AtomicU64::new(SPARSE_BELOW.to_bits());

#[test]
fn default_threshold_bits() {
    assert_eq!(sparse_below(), SPARSE_BELOW);
}

/// Changes the fraction below which the sparse products are used, process-wide (0 never, above 1
/// always, for compact-support surrogates). For tests and measurements; the default is
/// [`SPARSE_BELOW`]. Returns the previous value.
pub fn set_sparse_below(fraction: f64) -> f64 {
    f64::from_bits(SPARSE_BELOW_BITS.swap(fraction.to_bits(), Ordering::Relaxed))
}

fn sparse_below() -> f64 {
    f64::from_bits(SPARSE_BELOW_BITS.load(Ordering::Relaxed))
}

static SPARSE_USED: AtomicBool = AtomicBool::new(false);

/// Whether the sparse products were chosen since the last call (or the start of the process),
/// clearing the record: lets a test check that the path it compares actually ran. Set with a
/// load first, so the hot loop writes the shared flag once, not at every step.
pub fn take_sparse_used() -> bool {
    SPARSE_USED.swap(false, Ordering::Relaxed)
}

/// Units of one population, per trial of the chunk, whose surrogate derivative is nonzero at the
/// current step (compact-support surrogates only), and whether the sparse products are used.
#[derive(Debug, Clone, Default)]
pub struct ActiveUnits {
    cols: Vec<u32>,
    offsets: Vec<usize>,
    sparse: bool,
}

impl ActiveUnits {
    #[inline(always)]
    fn update<'a, T: Real>(
        &mut self,
        compact: bool,
        u: impl Fn(usize) -> &'a [T],
        nb: usize,
        theta: T,
        sg: &SurrogateFn<T>,
    ) {
        self.sparse = false;
        if !compact {
            return;
        }
        let inside = |x: T| (sg.grad_as::<TRIANGLE>(x - theta) != T::zero()) as usize;
        // Count first (a vectorised pass); list the units only when the sparse products pay off.
        let (mut count, mut n) = (0, 0);
        for b in 0..nb {
            let ub = u(b);
            n = ub.len();
            count += ub.iter().map(|&x| inside(x)).sum::<usize>();
        }
        if (count as f64) >= sparse_below() * (nb * n) as f64 {
            return;
        }
        self.sparse = true;
        if !SPARSE_USED.load(Ordering::Relaxed) {
            SPARSE_USED.store(true, Ordering::Relaxed);
        }
        self.cols.clear();
        self.cols.resize(count + n, 0);
        self.offsets.clear();
        self.offsets.push(0);
        let mut end = 0;
        for b in 0..nb {
            // Branch-free compaction (the test is unpredictable): write every index, advance the
            // end only past the listed ones.
            for (j, &x) in u(b).iter().enumerate() {
                self.cols[end] = j as u32;
                end += inside(x);
            }
            self.offsets.push(end);
        }
        self.cols.truncate(end);
    }
}

/// `c += a W^T` (`c`: trials x sources, `a`: trials x targets), dense or, when `act.sparse`, only
/// on the active units.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn product<T: Real>(nb: usize, m: usize, n: usize, a: &[T], w: &Array2<T>, wt: &[T], c: &mut [T], act: &ActiveUnits) {
    if act.sparse {
        let w = w.as_slice().expect("standard layout");
        gemm_acc_cols(nb, m, a, m, w, c, n, &act.cols, &act.offsets);
    } else {
        gemm_acc(nb, m, n, a, m, wt, c, n);
    }
}

multiversion! {
    /// Computes this chunk's gradient into `ws.grad` from `ws.tape` and `ws.d_o` (`dL/dO[t]`,
    /// `[t][b][k]`). The tape was recorded with [`crate::forward::Recording::Membrane`] or
    /// [`crate::forward::Recording::Checkpoints`] (whose segments are recomputed here). The AVX2
    /// copy covers the element-wise code; the products in [`gemm_acc`] pick their own version.
    pub fn backward<T: Real>(
        topo: &Topology,
        params: &ParamSet<T>,
        k: &Constants<T>,
        input: &InputEvents<T>,
        trials: &[usize],
        ws: &mut Workspace<T>,
    ) {
        backward_body(topo, params, k, input, trials, ws)
    }
}

#[inline(always)]
fn backward_body<T: Real>(
    topo: &Topology,
    params: &ParamSet<T>,
    k: &Constants<T>,
    input: &InputEvents<T>,
    trials: &[usize],
    ws: &mut Workspace<T>,
) {
    let nb = trials.len();
    let steps = ws.tape.steps;
    let n_out = topo.n_outputs;
    let sg = k.surrogate;
    ws.grad.fill_zero();
    for p in 0..topo.pops.len() {
        ws.gu[p].fill(T::zero());
        ws.gi[p].fill(T::zero());
    }
    ws.go.fill(T::zero());
    for (j, proj) in topo.projs.iter().enumerate() {
        if let Endpoint::Pop(_) = proj.source {
            let w = &params.w[j];
            let (rows, cols) = w.dim();
            crate::dense::pack_transposed(w.as_slice().expect("standard layout"), rows, cols, &mut ws.wt[j]);
        }
    }
    let compact = sg.kind == SurrogateKind::Triangle;
    let window = ws.tape.window;

    for t in (0..steps).rev() {
        // Checkpointed tape: recompute the membrane potentials of the segment that ends here.
        if let Some(w) = window {
            if t == steps - 1 || t % w == w - 1 {
                crate::forward::replay(topo, params, k, input, trials, ws, t / w);
            }
        }
        let Workspace { tape, gu, gi, gs, go, d_o, d_s, grad, wt, active, .. } = &mut *ws;
        // Readout traces.
        {
            let gos = go.as_slice_mut().expect("standard layout");
            let d = &d_o[t * nb * n_out..(t + 1) * nb * n_out];
            gos[..nb * n_out].iter_mut().zip(d).for_each(|(g, &x)| *g = x + k.beta_out * *g);
        }
        // gs[t] only matters where sg(U[t] - theta) != 0: with a compact-support surrogate, list
        // those units and compute only their entries when they are few.
        for (p, pop) in topo.pops.iter().enumerate() {
            active[p].update(compact, |b| tape.u_at(p, pop.size, t, b), nb, k.theta[p], &sg);
        }
        // Phase 1: contributions to gs[t] from gradients of step t+1 and from the readout.
        for (p, pop) in topo.pops.iter().enumerate() {
            let n = pop.size;
            let gs_p = gs[p].as_slice_mut().expect("standard layout");
            gs_p[..nb * n].fill(T::zero());
            for &j in &topo.out_of[p] {
                let proj = &topo.projs[j];
                match proj.target {
                    Endpoint::Readout => {
                        let go_s = go.as_slice().expect("standard layout");
                        product(nb, n_out, n, go_s, &params.w[j], &wt[j], gs_p, &active[p]);
                    }
                    Endpoint::Pop(r) if proj.delayed => {
                        let m = topo.pops[r].size;
                        let gi_r = gi[r].as_slice().expect("standard layout");
                        product(nb, m, n, gi_r, &params.w[j], &wt[j], gs_p, &active[p]);
                    }
                    _ => {}
                }
            }
            if !d_s[p].is_empty() {
                let n = pop.size;
                let extra = &d_s[p][t * nb * n..(t + 1) * nb * n];
                let gs_s = gs[p].as_slice_mut().expect("standard layout");
                gs_s[..nb * n].iter_mut().zip(extra).for_each(|(g, &e)| *g += e);
            }
            if !pop.detach_reset {
                let n = pop.size;
                let theta = k.theta[p];
                let gu_p = gu[p].as_slice().expect("standard layout");
                let gs_s = gs[p].as_slice_mut().expect("standard layout");
                for b in 0..nb {
                    let u = tape.u_at(p, n, t, b);
                    for j in 0..n {
                        let d = match pop.reset {
                            Reset::Subtract => theta,
                            Reset::Zero => params.beta[p][j] * u[j],
                        };
                        gs_s[b * n + j] -= d * gu_p[b * n + j];
                    }
                }
            }
        }
        // Phase 2: populations in reverse update order (same-step targets are done first).
        for &p in topo.order.iter().rev() {
            let pop = &topo.pops[p];
            let n = pop.size;
            {
                let gs_p = gs[p].as_slice_mut().expect("standard layout");
                for &j in &topo.out_of[p] {
                    let proj = &topo.projs[j];
                    if let Endpoint::Pop(r) = proj.target {
                        if !proj.delayed {
                            let m = topo.pops[r].size;
                            let gi_r = gi[r].as_slice().expect("standard layout");
                            product(nb, m, n, gi_r, &params.w[j], &wt[j], gs_p, &active[p]);
                        }
                    }
                }
            }
            let alpha = params.alpha[p].as_slice().expect("standard layout");
            let beta = params.beta[p].as_slice().expect("standard layout");
            let theta = k.theta[p];
            {
                let gs_s = gs[p].as_slice().expect("standard layout");
                let gu_s = gu[p].as_slice_mut().expect("standard layout");
                let gi_s = gi[p].as_slice_mut().expect("standard layout");
                for b in 0..nb {
                    let u = tape.u_at(p, n, t, b);
                    let r = b * n..(b + 1) * n;
                    let (gsb, gub, gib) = (&gs_s[r.clone()], &mut gu_s[r.clone()], &mut gi_s[r]);
                    let st = UnitStep { u, gs: gsb, gu: gub, gi: gib, alpha, beta, theta };
                    // exhaustive over the kinds: a new one does not compile until it has its arm
                    match sg.kind {
                        SurrogateKind::FastSigmoid => st.run::<FAST_SIGMOID>(&sg, pop.reset),
                        SurrogateKind::Arctan => st.run::<ARCTAN>(&sg, pop.reset),
                        SurrogateKind::Triangle => st.run::<TRIANGLE>(&sg, pop.reset),
                        SurrogateKind::Sigmoid => st.run::<SIGMOID>(&sg, pop.reset),
                    }
                }
            }
            // Gradients of the decay factors: dU[t]/dbeta = U[t-1] (times 1 - s[t-1] for reset
            // "zero"), dI[t]/dalpha = I[t-1]; nothing at t = 0 (states start at zero).
            if pop.trainable_tau && t > 0 {
                let gu_s = gu[p].as_slice().expect("standard layout");
                let gi_s = gi[p].as_slice().expect("standard layout");
                let (da, db) =
                    (grad.alpha[p].as_slice_mut().expect("layout"), grad.beta[p].as_slice_mut().expect("layout"));
                for b in 0..nb {
                    let (u_prev, i_prev) = (tape.u_at(p, n, t - 1, b), tape.i_at(p, n, t - 1, b));
                    for j in 0..n {
                        let keep = match pop.reset {
                            Reset::Subtract => T::one(),
                            Reset::Zero => T::one() - sg.spike(u_prev[j] - theta),
                        };
                        db[j] += gu_s[b * n + j] * u_prev[j] * keep;
                        da[j] += gi_s[b * n + j] * i_prev[j];
                    }
                }
            }
            // Gradients of the projections into p and of its bias.
            let gi_p = &gi[p];
            for &j in &topo.into[p] {
                let g = &mut grad.w[j];
                for_each_event(&topo.projs[j], input, &tape.spikes, trials, t, |b, c, v| {
                    add_row(g, c, v, gi_p.row(b).to_slice().expect("standard layout"));
                });
            }
            let db = grad.b[p].as_slice_mut().expect("standard layout");
            for b in 0..nb {
                crate::forward::axpy(db, T::one(), gi_p.row(b).as_slice().expect("standard layout"));
            }
        }
        // Readout weights and bias.
        for &j in &topo.readout {
            let g = &mut grad.w[j];
            for_each_event(&topo.projs[j], input, &tape.spikes, trials, t, |b, c, v| {
                add_row(g, c, v, go.row(b).to_slice().expect("standard layout"));
            });
        }
        let db = grad.b_out.as_slice_mut().expect("standard layout");
        for b in 0..nb {
            crate::forward::axpy(db, T::one(), go.row(b).as_slice().expect("standard layout"));
        }
    }
}
