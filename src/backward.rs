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
//! products `W^T gA` are small matrix-matrix products over the chunk's trials.

use crate::forward::{for_each_event, Constants, Workspace};
use crate::neuron::Reset;
use crate::params::ParamSet;
use crate::real::Real;
use crate::spikes::InputEvents;
use crate::topology::{Endpoint, Topology};
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2};

/// Adds `v * x` to row `row` of the source-major gradient `g`.
#[inline(always)]
fn add_row<T: Real>(g: &mut Array2<T>, row: usize, v: T, x: &[T]) {
    crate::forward::axpy(g.row_mut(row).into_slice().expect("standard layout"), v, x);
}

/// Computes this chunk's gradient into `ws.grad` from `ws.tape` (recorded with `record_u = true`)
/// and `ws.d_o` (`dL/dO[t]`, `[t][b][k]`).
pub fn backward<T: Real>(
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
    let Workspace { tape, gu, gi, gs, go, d_o, d_s, grad, .. } = ws;

    for t in (0..steps).rev() {
        // Readout traces.
        {
            let gos = go.as_slice_mut().expect("standard layout");
            let d = &d_o[t * nb * n_out..(t + 1) * nb * n_out];
            gos[..nb * n_out].iter_mut().zip(d).for_each(|(g, &x)| *g = x + k.beta_out * *g);
        }
        let go_v = go.slice(s![..nb, ..]);
        // Phase 1: contributions to gs[t] from gradients of step t+1 and from the readout.
        for (p, pop) in topo.pops.iter().enumerate() {
            let mut gs_p = gs[p].slice_mut(s![..nb, ..]);
            gs_p.fill(T::zero());
            for &j in &topo.out_of[p] {
                let proj = &topo.projs[j];
                match proj.target {
                    Endpoint::Readout => general_mat_mul(T::one(), &go_v, &params.w[j].t(), T::one(), &mut gs_p),
                    Endpoint::Pop(r) if proj.delayed => {
                        general_mat_mul(T::one(), &gi[r].slice(s![..nb, ..]), &params.w[j].t(), T::one(), &mut gs_p)
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
                let mut gs_p = gs[p].slice_mut(s![..nb, ..]);
                for &j in &topo.out_of[p] {
                    let proj = &topo.projs[j];
                    if let Endpoint::Pop(r) = proj.target {
                        if !proj.delayed {
                            general_mat_mul(
                                T::one(),
                                &gi[r].slice(s![..nb, ..]),
                                &params.w[j].t(),
                                T::one(),
                                &mut gs_p,
                            );
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
                    for j in 0..n {
                        let v = u[j] - theta;
                        let keep = match pop.reset {
                            Reset::Subtract => beta[j],
                            Reset::Zero => beta[j] * (T::one() - sg.spike(v)),
                        };
                        let g_u = gsb[j] * sg.grad(v) + keep * gub[j];
                        gub[j] = g_u;
                        gib[j] = g_u + alpha[j] * gib[j];
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
