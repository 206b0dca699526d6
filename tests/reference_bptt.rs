//! BPTT in the model's own forward pass (Heaviside spikes, not the smooth test-only variant of
//! tests/gradients.rs) against a reference written out here from the equations of
//! `docs/spec/model.md` and the recursion in `src/backward.rs`'s module documentation, for one population:
//! ```text
//! I[t] = alpha I[t-1] + W_in x[t] + W_rec s[t-1] + b
//! U[t] = beta U[t-1] + I[t] - theta s[t-1]   or   beta U[t-1] (1 - s[t-1]) + I[t]
//! s[t] = H(U[t] - theta),  O[t] = beta_o O[t-1] + W_out s[t] + b_out,  logits = mean_t O[t]
//! gO[t] = dL/dO[t] + beta_o gO[t+1];  gs[t] = W_out gO[t] + W_rec gI[t+1] (- d gU[t+1], not detached)
//! gU[t] = gs[t] sg(U[t] - theta) + keep gU[t+1];  gI[t] = gU[t] + alpha gI[t+1]
//! ```
//! with `d = theta, keep = beta` (reset "subtract") or `d = beta U[t], keep = beta (1 - s[t])`
//! (reset "zero"). Finite differences cannot check this mode (the loss is piecewise constant in
//! the membrane potentials), and the Python reference (autograd) is not run by `cargo test`.

use motorsrnn::model::{Model, Targets};
use motorsrnn::neuron::{Reset, Surrogate, SurrogateKind};
use motorsrnn::params::ParamSet;
use motorsrnn::spikes::InputEvents;
use motorsrnn::topology::{NetworkSpec, TimeConstant};
use ndarray::{Array1, Array3};
use std::f64::consts::PI;

/// The triangle's slope in this test: its default (25) leaves too few units inside the support of
/// so small a network for every gradient entry to be checked.
const TRIANGLE_SLOPE: f64 = 1.0;

/// `sg(v)` as docs/model.md gives it, with its default slopes (25, 2, 25, 25), except the
/// triangle's ([`TRIANGLE_SLOPE`]).
fn surrogate(kind: SurrogateKind, v: f64) -> f64 {
    match kind {
        SurrogateKind::FastSigmoid => 1.0 / (1.0 + 25.0 * v.abs()).powi(2),
        SurrogateKind::Arctan => 1.0 / (1.0 + (PI * 2.0 * v / 2.0).powi(2)),
        SurrogateKind::Triangle => (1.0 - TRIANGLE_SLOPE * v.abs()).max(0.0),
        SurrogateKind::Sigmoid => {
            let s = 1.0 / (1.0 + (-25.0 * v).exp());
            25.0 * s * (1.0 - s)
        }
    }
}

struct Reference {
    loss: f64,
    grad: ParamSet<f64>,
    spikes: usize,
}

/// Forward pass, cross-entropy of the mean readout averaged over the trials, and BPTT, trial by
/// trial with plain loops over dense matrices.
fn reference(model: &Model<f64>, x: &Array3<u8>, y: &[usize]) -> Reference {
    let p = &model.params;
    let pop = &model.topo.pops[0];
    let (w_in, w_rec, w_out) = (&p.w[0], &p.w[1], &p.w[2]);
    let (alpha, beta, bias, b_out) = (&p.alpha[0], &p.beta[0], &p.b[0], &p.b_out);
    let spec = &model.spec;
    let theta = spec.populations[0].threshold;
    let (reset, detach) = (spec.populations[0].reset, spec.populations[0].detach_reset);
    let beta_o = (-spec.dt / spec.tau_out).exp();
    let kind = spec.surrogate.kind;
    let (n_trials, steps, n_in) = x.dim();
    let (n, k) = (pop.size, model.topo.n_outputs);
    let mut grad = ParamSet::<f64>::zeros(&model.topo);
    let (mut loss, mut spikes) = (0.0, 0);
    for b in 0..n_trials {
        // forward, keeping I, U and s of every step
        let (mut i_t, mut u_t, mut s_t) = (vec![Array1::zeros(n)], vec![Array1::zeros(n)], vec![Array1::zeros(n)]);
        let mut o = Array1::<f64>::zeros(k);
        let mut o_sum = Array1::<f64>::zeros(k);
        for t in 0..steps {
            let (i_prev, u_prev, s_prev) = (&i_t[t], &u_t[t], &s_t[t]);
            let mut i = Array1::<f64>::zeros(n);
            let mut u = Array1::<f64>::zeros(n);
            let mut s = Array1::<f64>::zeros(n);
            for h in 0..n {
                let mut a = bias[h];
                for c in 0..n_in {
                    a += x[[b, t, c]] as f64 * w_in[[c, h]];
                }
                for j in 0..n {
                    a += s_prev[j] * w_rec[[j, h]];
                }
                i[h] = alpha[h] * i_prev[h] + a;
                u[h] = match reset {
                    Reset::Subtract => beta[h] * u_prev[h] + i[h] - theta * s_prev[h],
                    Reset::Zero => beta[h] * u_prev[h] * (1.0 - s_prev[h]) + i[h],
                };
                s[h] = if u[h] - theta > 0.0 { 1.0 } else { 0.0 };
            }
            spikes += s.iter().filter(|&&v| v > 0.0).count();
            for c in 0..k {
                o[c] = beta_o * o[c] + b_out[c] + (0..n).map(|h| s[h] * w_out[[h, c]]).sum::<f64>();
            }
            o_sum += &o;
            i_t.push(i);
            u_t.push(u);
            s_t.push(s);
        }
        // states of step t are at index t + 1 (index 0: the zeros of t = -1)
        let logits = o_sum / steps as f64;
        let m = logits.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
        let z: f64 = logits.iter().map(|v| (v - m).exp()).sum();
        loss += (z.ln() + m - logits[y[b]]) / n_trials as f64;
        let d_logits = Array1::from_shape_fn(k, |c| {
            ((logits[c] - m).exp() / z - if c == y[b] { 1.0 } else { 0.0 }) / n_trials as f64
        });
        let d_o = d_logits / steps as f64;
        // backward
        let (mut g_o, mut g_u, mut g_i) = (Array1::<f64>::zeros(k), Array1::<f64>::zeros(n), Array1::<f64>::zeros(n));
        for t in (0..steps).rev() {
            let (u, s, s_prev) = (&u_t[t + 1], &s_t[t + 1], &s_t[t]);
            g_o = &d_o + &(beta_o * &g_o);
            let mut g_s = Array1::<f64>::zeros(n);
            for j in 0..n {
                g_s[j] = (0..k).map(|c| w_out[[j, c]] * g_o[c]).sum::<f64>()
                    + (0..n).map(|h| w_rec[[j, h]] * g_i[h]).sum::<f64>();
                if !detach {
                    g_s[j] -= match reset {
                        Reset::Subtract => theta,
                        Reset::Zero => beta[j] * u[j],
                    } * g_u[j];
                }
            }
            let mut new_u = Array1::<f64>::zeros(n);
            for h in 0..n {
                let keep = match reset {
                    Reset::Subtract => beta[h],
                    Reset::Zero => beta[h] * (1.0 - s[h]),
                };
                new_u[h] = g_s[h] * surrogate(kind, u[h] - theta) + keep * g_u[h];
            }
            g_u = new_u;
            g_i = &g_u + &(alpha * &g_i);
            for h in 0..n {
                for c in 0..n_in {
                    grad.w[0][[c, h]] += x[[b, t, c]] as f64 * g_i[h];
                }
                for j in 0..n {
                    grad.w[1][[j, h]] += s_prev[j] * g_i[h];
                }
                grad.b[0][h] += g_i[h];
                if t > 0 {
                    let keep = match reset {
                        Reset::Subtract => 1.0,
                        Reset::Zero => 1.0 - s_prev[h],
                    };
                    grad.beta[0][h] += g_u[h] * u_t[t][h] * keep;
                    grad.alpha[0][h] += g_i[h] * i_t[t][h];
                }
                for c in 0..k {
                    grad.w[2][[h, c]] += s[h] * g_o[c];
                }
            }
            grad.b_out += &g_o;
        }
    }
    Reference { loss, grad, spikes }
}

#[test]
fn default_slopes_are_the_documented_ones() {
    // docs/model.md, "Surrogate gradients": fast_sigmoid 25 (the spec), arctan 2, triangle 25, sigmoid 25
    let documented = [
        (SurrogateKind::FastSigmoid, 25.0),
        (SurrogateKind::Arctan, 2.0),
        (SurrogateKind::Triangle, 25.0),
        (SurrogateKind::Sigmoid, 25.0),
    ];
    for (kind, k) in documented {
        assert_eq!(Surrogate { kind, slope: None, smooth: false }.k(), k, "{kind:?}");
    }
}

#[test]
fn heaviside_bptt_matches_the_equations_written_out() {
    let (n_trials, steps, n_in, n_hidden, n_out) = (5, 16, 4, 7, 3);
    let x = Array3::from_shape_fn((n_trials, steps, n_in), |(b, t, c)| ((b * 7 + t * 5 + c * 3) % 6 == 0) as u8);
    let y: Vec<usize> = (0..n_trials).map(|b| b % n_out).collect();
    let ev = InputEvents::<f64>::from_dense(x.view()).unwrap();
    let kinds = [SurrogateKind::FastSigmoid, SurrogateKind::Arctan, SurrogateKind::Triangle, SurrogateKind::Sigmoid];
    for kind in kinds {
        for reset in [Reset::Subtract, Reset::Zero] {
            for detach in [true, false] {
                let mut spec = NetworkSpec::srnn(n_in, n_hidden, n_out);
                let slope = (kind == SurrogateKind::Triangle).then_some(TRIANGLE_SLOPE);
                spec.surrogate = Surrogate { kind, slope, smooth: false };
                spec.tau_out = 10.0;
                let pop = &mut spec.populations[0];
                pop.reset = reset;
                pop.detach_reset = detach;
                pop.trainable_tau = true;
                pop.tau_mem = TimeConstant::PerNeuron((0..n_hidden).map(|h| 8.0 + 3.0 * h as f64).collect());
                pop.tau_syn = TimeConstant::PerNeuron((0..n_hidden).map(|h| 2.0 + h as f64).collect());
                spec.projections[0].init_scale = 2.5;
                spec.projections[1].init_scale = 1.5;
                let mut model = Model::<f64>::new(spec, 21).unwrap();
                // biases away from zero, so that their gradients and the readout's are not trivial
                model.params.b[0] = Array1::from_shape_fn(n_hidden, |h| 0.05 * h as f64 - 0.1);
                model.params.b_out = Array1::from_shape_fn(n_out, |c| 0.2 * c as f64);
                let want = reference(&model, &x, &y);
                let total = n_trials * steps * n_hidden;
                assert!(
                    want.spikes * 10 > total && want.spikes * 10 < 8 * total,
                    "{kind:?} {reset:?}: {} spikes of {total}: the check would be weak",
                    want.spikes
                );
                let (loss, got) = model.loss_and_grad(&ev, &Targets::Classes(&y), None, None, None).unwrap();
                let case = format!("{kind:?} {reset:?} detach_reset={detach}");
                assert!(
                    (loss - want.loss).abs() < 1e-12 * want.loss.abs().max(1.0),
                    "{case}: loss {loss} vs {}",
                    want.loss
                );
                let mut nonzero = 0;
                for (tensor, (g, w)) in got.slices().iter().zip(want.grad.slices()).enumerate() {
                    let scale = w.iter().fold(0.0f64, |a, &v| a.max(v.abs()));
                    for (i, (&g, &w)) in g.iter().zip(w).enumerate() {
                        assert!(
                            (g - w).abs() <= 1e-10 * (scale + 1e-12),
                            "{case}: tensor {tensor} entry {i}: {g:e} vs {w:e}"
                        );
                        nonzero += (w.abs() > 1e-9 * scale) as usize;
                    }
                }
                let n_entries: usize = want.grad.slices().iter().map(|s| s.len()).sum();
                assert!(nonzero * 3 > n_entries, "{case}: only {nonzero} of {n_entries} gradient entries are non-zero");
            }
        }
    }
}
