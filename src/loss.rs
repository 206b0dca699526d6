//! Losses: from the readout traces `O[t]` to logits; cross-entropy and mean squared error with the
//! gradient with respect to the traces (`dL/dO[t]`) that starts the backward pass; the activity-
//! matching term and the rate penalty, with their gradients with respect to the spikes.

use crate::model::RateFilter;
use crate::real::Real;
use crate::spikes::SpikeRecord;
use crate::topology::ReadoutMode;

/// Logits of a chunk from its traces `o` (`[t][b][k]`), written to `logits` (`[b][k]`).
/// For `Max`, `arg[t]` receives the step of the maximum of each `(b, k)` (first one on ties).
pub fn logits<T: Real>(
    o: &[T],
    steps: usize,
    nb: usize,
    n_out: usize,
    mode: ReadoutMode,
    logits: &mut [T],
    arg: &mut [usize],
) {
    let at = |t: usize, b: usize, c: usize| o[(t * nb + b) * n_out + c];
    for b in 0..nb {
        for c in 0..n_out {
            let v = match mode {
                ReadoutMode::Mean => {
                    let s: T = (0..steps).map(|t| at(t, b, c)).sum();
                    s / T::c(steps as f64)
                }
                ReadoutMode::Last => at(steps - 1, b, c),
                ReadoutMode::Max => {
                    let mut best = 0;
                    for t in 1..steps {
                        if at(t, b, c) > at(best, b, c) {
                            best = t;
                        }
                    }
                    arg[b * n_out + c] = best;
                    at(best, b, c)
                }
            };
            logits[b * n_out + c] = v;
        }
    }
}

/// The readout's value after step `t` from its value after step `t - 1` (`prev`, unused at
/// `t = 0`) and the trace `cur = O[t]`: the running mean, running max, or the current trace. The
/// per-step logits, the window's logits of predictions ([`window_logits`]) and the streaming
/// decoder all use it, so they agree bit for bit; the running mean is the one predictions have
/// always used (saved models predict as when they were written).
#[inline(always)]
pub(crate) fn running<T: Real>(mode: ReadoutMode, prev: T, cur: T, t: usize) -> T {
    match mode {
        ReadoutMode::Last => cur,
        ReadoutMode::Max if t > 0 => prev.max(cur),
        ReadoutMode::Max => cur,
        ReadoutMode::Mean if t > 0 => {
            let n = T::c(t as f64);
            (prev * n + cur) / (n + T::one())
        }
        ReadoutMode::Mean => cur,
    }
}

/// Logits after each step (the early-classification curve): running mean, running max or the
/// current trace. Writes `[t][b][k]`.
pub fn logits_per_step<T: Real>(o: &[T], steps: usize, nb: usize, n_out: usize, mode: ReadoutMode, out: &mut [T]) {
    let w = nb * n_out;
    for t in 0..steps {
        for i in 0..w {
            let prev = if t > 0 { out[(t - 1) * w + i] } else { T::zero() };
            out[t * w + i] = running(mode, prev, o[t * w + i], t);
        }
    }
}

/// The last step of [`logits_per_step`] only (`[b][k]`): the logits that predictions use,
/// without storing the other steps.
pub fn window_logits<T: Real>(o: &[T], steps: usize, nb: usize, n_out: usize, mode: ReadoutMode, out: &mut [T]) {
    let w = nb * n_out;
    for i in 0..w {
        let mut v = T::zero();
        for t in 0..steps {
            v = running(mode, v, o[t * w + i], t);
        }
        out[i] = v;
    }
}

/// Softmax cross-entropy of each row of `logits` against `y`, each row weighted by its trial's
/// weight `w[b]`. Returns the weighted sum of the rows' losses (f64) and the summed weight of the
/// rows whose arg-max is the class; writes `scale * d(weighted sum)/dlogits` to `grad`.
pub fn cross_entropy<T: Real>(
    logits: &[T],
    y: &[usize],
    w: &[T],
    n_out: usize,
    scale: T,
    grad: &mut [T],
) -> (f64, f64) {
    let mut total = 0.0;
    let mut correct = 0.0;
    assert_eq!(w.len(), y.len(), "one weight per row");
    for ((b, &cls), &wb) in y.iter().enumerate().zip(w) {
        let row = &logits[b * n_out..(b + 1) * n_out];
        let g = &mut grad[b * n_out..(b + 1) * n_out];
        let mut m = row[0];
        let mut am = 0;
        for (c, &v) in row.iter().enumerate() {
            if v > m || v.is_nan() {
                m = v;
                am = c;
            }
        }
        if am == cls {
            correct += wb.f64();
        }
        let mut z = T::zero();
        for (gc, &v) in g.iter_mut().zip(row) {
            *gc = (v - m).exp();
            z += *gc;
        }
        total += wb.f64() * (z.ln() + m - row[cls]).f64();
        let sb = scale * wb;
        for (c, gc) in g.iter_mut().enumerate() {
            let p = *gc / z;
            *gc = sb * (p - if c == cls { T::one() } else { T::zero() });
        }
    }
    (total, correct)
}

/// Squared error of `nb` rows of `n_out` predictions against `target(b, c)`: returns the sum over
/// rows of the row's mean squared error times the row's trial weight `w[b]`, and writes
/// `scale * d(that sum)/dpred` to `grad`.
/// A NaN target is missing: it adds no error and no gradient (the mean still divides by `n_out`).
pub fn mse_rows<T: Real>(
    pred: &[T],
    target: impl Fn(usize, usize) -> T,
    w: &[T],
    nb: usize,
    n_out: usize,
    scale: T,
    grad: &mut [T],
) -> f64 {
    assert_eq!(w.len(), nb, "one weight per row");
    let inv = T::one() / T::c(n_out as f64);
    let mut total = 0.0;
    for (b, &wb) in w.iter().enumerate() {
        let sb = scale * wb;
        for c in 0..n_out {
            let y = target(b, c);
            let d = if y.is_nan() { T::zero() } else { pred[b * n_out + c] - y };
            total += wb.f64() * (d * d * inv).f64();
            grad[b * n_out + c] = sb * T::c(2.0) * d * inv;
        }
    }
    total
}

/// Squared error of the traces `o` (`[t][b][k]`) against `target(t, b, c)`: returns the sum over
/// trials of each trial's mean (over steps and outputs) squared error times its weight `w[b]`, and writes
/// `scale * d(that sum)/dO[t]` to `d_o`. A NaN target is missing: it adds no error and no gradient
/// (the mean still divides by `steps * n_out`, so an observed value weighs the same in every trial).
#[allow(clippy::too_many_arguments)]
pub fn mse_steps<T: Real>(
    o: &[T],
    target: impl Fn(usize, usize, usize) -> T,
    w: &[T],
    steps: usize,
    nb: usize,
    n_out: usize,
    scale: T,
    d_o: &mut Vec<T>,
) -> f64 {
    d_o.clear();
    d_o.resize(steps * nb * n_out, T::zero());
    assert_eq!(w.len(), nb, "one weight per trial");
    let inv = T::one() / T::c((steps * n_out) as f64);
    let mut total = 0.0;
    for t in 0..steps {
        for (b, &wb) in w.iter().enumerate() {
            let sb = scale * wb;
            for c in 0..n_out {
                let i = (t * nb + b) * n_out + c;
                let y = target(t, b, c);
                let d = if y.is_nan() { T::zero() } else { o[i] - y };
                total += wb.f64() * (d * d * inv).f64();
                d_o[i] = sb * T::c(2.0) * d * inv;
            }
        }
    }
    total
}

/// Activity matching for a chunk: the model units `units[k]` of one population are filtered by
/// `filter` into rates `r_hat[t]` (see [`RateFilter`]), and compared with recorded activity
/// `target(t, b, k)`. Returns the sum over trials of each trial's mean (over steps and recorded
/// neurons) of `neuron_weights[k]` times the squared error, times `weight` and the trial's weight
/// `trial_weights[b]`; writes
/// `scale * d(that)/ds[t]` into `d_s` (`[t][b][n]`).
///
/// With `noise_correction`, each squared error `(r[t] - R[t])^2` becomes
/// `(r[t] - R[t])^2 - q[t]`, where `q[t] = sum_t' c[t, t']^2 s[t']` and `c[t, t']` is the
/// coefficient of `s[t']` in `r[t]`. For spikes that are independent across steps (Poisson),
/// `q[t]` is an unbiased estimate of the spike-noise variance of `r[t]`, so the term's
/// expectation is `(E r[t] - R[t])^2` and its minimum lies where the unit's expected rate
/// equals the recorded rate; without it, the variance (which grows with the rate) pulls the
/// minimum below the recorded rate. `q` is linear in the spikes: its gradient is the constant
/// `-sum_t c[t, t']^2` at every step `t'`.
#[allow(clippy::too_many_arguments)]
pub fn activity_matching<T: Real>(
    spikes: &SpikeRecord<T>,
    units: &[usize],
    unit_to_k: &[Option<usize>],
    target: impl Fn(usize, usize, usize) -> T,
    trial_weights: &[T],
    steps: usize,
    nb: usize,
    n: usize,
    filter: &RateFilter<T>,
    weight: T,
    neuron_weights: &[T],
    noise_correction: bool,
    scale: T,
    d_s: &mut Vec<T>,
) -> f64 {
    d_s.clear();
    d_s.resize(steps * nb * n, T::zero());
    assert_eq!(neuron_weights.len(), units.len(), "one weight per recorded neuron");
    assert_eq!(trial_weights.len(), nb, "one weight per trial");
    let m = Matching { spikes, units, unit_to_k, steps, nb, n, weight, neuron_weights, trial_weights, scale };
    let total = match filter {
        RateFilter::Exponential { decay, gain } => m.exponential(target, *decay, *gain, d_s),
        RateFilter::Gaussian { weights, gain } => m.gaussian(target, weights, *gain, d_s),
    };
    if noise_correction {
        total - m.noise_correction(&filter.squared_coefficients(steps), d_s)
    } else {
        total
    }
}

/// The arguments of [`activity_matching`] shared by both kernels.
struct Matching<'a, T> {
    spikes: &'a SpikeRecord<T>,
    units: &'a [usize],
    unit_to_k: &'a [Option<usize>],
    steps: usize,
    nb: usize,
    n: usize,
    weight: T,
    neuron_weights: &'a [T],
    trial_weights: &'a [T],
    scale: T,
}

impl<T: Real> Matching<'_, T> {
    /// `1 / (steps * k)`: the mean over steps and recorded neurons.
    fn inv(&self) -> T {
        T::one() / T::c((self.steps * self.units.len()) as f64)
    }

    /// The noise correction of [`activity_matching`]: returns the sum over trials of the weighted
    /// mean of `q[t]` (`sum_t' c2[t'] s[t']` with `c2[t'] = sum_t c[t, t']^2`) and subtracts its
    /// gradient `scale * weight * w_k * c2[t'] / (steps * k)` from `d_s` at every step of every
    /// matched unit.
    fn noise_correction(&self, c2: &[T], d_s: &mut [T]) -> f64 {
        let (nb, n, inv) = (self.nb, self.n, self.inv());
        let mut total = 0.0;
        for b in 0..nb {
            let (wb, sb) = (self.trial_weights[b], self.scale * self.trial_weights[b]);
            for (t, &c) in c2.iter().enumerate() {
                let (idx, val) = self.spikes.at(t, b);
                for (&j, &v) in idx.iter().zip(val) {
                    if let Some(k) = self.unit_to_k[j as usize] {
                        total += wb.f64() * (self.weight * self.neuron_weights[k] * c * v * inv).f64();
                    }
                }
                for (k, &u) in self.units.iter().enumerate() {
                    d_s[(t * nb + b) * n + u] -= sb * self.weight * self.neuron_weights[k] * c * inv;
                }
            }
        }
        total
    }

    /// Causal exponential filter, `r[t] = decay r[t-1] + gain s[t]`, run forward; its adjoint
    /// `dL/ds[t] = gain * sum_{t' >= t} decay^(t'-t) dL/dr[t']` is run backward.
    fn exponential(&self, target: impl Fn(usize, usize, usize) -> T, decay: T, gain: T, d_s: &mut [T]) -> f64 {
        let (steps, nb, n, kk) = (self.steps, self.nb, self.n, self.units.len());
        let inv = self.inv();
        let mut total = 0.0;
        let mut r = vec![T::zero(); kk];
        let mut g = vec![T::zero(); steps * kk];
        let mut s = vec![T::zero(); kk];
        let mut acc = vec![T::zero(); kk];
        for b in 0..nb {
            let (wb, sb) = (self.trial_weights[b], self.scale * self.trial_weights[b]);
            r.iter_mut().for_each(|x| *x = T::zero());
            // forward filter and the error at every step
            for t in 0..steps {
                s.iter_mut().for_each(|x| *x = T::zero());
                let (idx, val) = self.spikes.at(t, b);
                for (&j, &v) in idx.iter().zip(val) {
                    if let Some(k) = self.unit_to_k[j as usize] {
                        s[k] = v;
                    }
                }
                for k in 0..kk {
                    r[k] = decay * r[k] + gain * s[k];
                    let d = r[k] - target(t, b, k);
                    let wk = self.weight * self.neuron_weights[k];
                    total += wb.f64() * (wk * d * d * inv).f64();
                    g[t * kk + k] = sb * wk * T::c(2.0) * d * inv;
                }
            }
            // reverse: dL/dr accumulates through the filter; dL/ds[t] = gain * dL/dr[t]
            acc.iter_mut().for_each(|x| *x = T::zero());
            for t in (0..steps).rev() {
                for k in 0..kk {
                    acc[k] = g[t * kk + k] + decay * acc[k];
                    d_s[(t * nb + b) * n + self.units[k]] = gain * acc[k];
                }
            }
        }
        total
    }

    /// Symmetric Gaussian kernel `w[|j|]`, `|j| <= m`, renormalised at the trial edges:
    /// `r[t] = gain / Z[t] * sum_j w[|j|] s[t-j]` with `Z[t]` the sum of the weights of the lags
    /// that stay inside the trial. Each spike is scattered onto the `2m + 1` steps it reaches
    /// (spikes are sparse); the adjoint `dL/ds[t'] = sum_t w[|t - t'|] (gain / Z[t]) dL/dr[t]` is a
    /// correlation with the same (symmetric) kernel.
    fn gaussian(&self, target: impl Fn(usize, usize, usize) -> T, w: &[T], gain: T, d_s: &mut [T]) -> f64 {
        let (steps, nb, n, kk) = (self.steps, self.nb, self.n, self.units.len());
        if steps == 0 || kk == 0 || w.is_empty() {
            return 0.0;
        }
        let inv = self.inv();
        let (w, norm) = crate::model::gaussian_norm(w, gain, steps);
        let mut total = 0.0;
        // per recorded neuron, `[k][t]`: filtered spikes, then scale * dL/dr[t] * gain / Z[t]
        let mut acc = vec![T::zero(); kk * steps];
        let mut h = vec![T::zero(); kk * steps];
        let (mut ahead, mut back) = (vec![T::zero(); steps], vec![T::zero(); steps]);
        for b in 0..nb {
            let (wb, sb) = (self.trial_weights[b], self.scale * self.trial_weights[b]);
            acc.iter_mut().for_each(|x| *x = T::zero());
            for tp in 0..steps {
                let (idx, val) = self.spikes.at(tp, b);
                for (&j, &v) in idx.iter().zip(val) {
                    if let Some(k) = self.unit_to_k[j as usize] {
                        // steps tp - 1, tp - 2, ... get w[1], w[2], ...; steps tp, tp + 1, ...
                        // get w[0], w[1], ... (the zips stop at the trial's edges and at m)
                        let (before, after) = acc[k * steps..(k + 1) * steps].split_at_mut(tp);
                        for (a, &wj) in before.iter_mut().rev().zip(&w[1..]) {
                            *a += wj * v;
                        }
                        for (a, &wj) in after.iter_mut().zip(w) {
                            *a += wj * v;
                        }
                    }
                }
            }
            for k in 0..kk {
                let wk = self.weight * self.neuron_weights[k];
                for t in 0..steps {
                    let r = norm[t] * acc[k * steps + t];
                    let d = r - target(t, b, k);
                    total += wb.f64() * (wk * d * d * inv).f64();
                    h[k * steps + t] = sb * wk * T::c(2.0) * d * inv * norm[t];
                }
            }
            // the correlation, one lag at a time: `ahead[t] += w[j] h[t + j]` and `back[t] += w[j]
            // h[t - j]` are contiguous multiply-adds that the compiler vectorises (a loop over t
            // with an inner sum over lags does not, and cost three times as much). Each sum runs
            // over the lags in increasing order, as that loop did, so the result is bit for bit
            // the same.
            for (k, &u) in self.units.iter().enumerate() {
                let hk = &h[k * steps..(k + 1) * steps];
                for (a, &x) in ahead.iter_mut().zip(hk) {
                    *a = w[0] * x;
                }
                back.iter_mut().for_each(|x| *x = T::zero());
                for (j, &wj) in w.iter().enumerate().skip(1) {
                    for (a, &x) in ahead[..steps - j].iter_mut().zip(&hk[j..]) {
                        *a += wj * x;
                    }
                    for (a, &x) in back[j..].iter_mut().zip(&hk[..steps - j]) {
                        *a += wj * x;
                    }
                }
                for (tp, (&bk, &ah)) in back.iter().zip(&ahead).enumerate() {
                    d_s[(tp * nb + b) * n + u] = bk + ah;
                }
            }
        }
        total
    }
}

/// Firing-rate penalty of one population for a chunk (see [`crate::model::RateBounds`]): returns
/// the sum over trials of the penalty times the trial's weight `w[b]` and adds
/// `scale * d(that)/ds[t]` to `d_s` (`[t][b][n]`, sized here when empty).
#[allow(clippy::too_many_arguments)]
pub fn rate_penalty<T: Real>(
    spikes: &SpikeRecord<T>,
    w: &[T],
    steps: usize,
    nb: usize,
    n: usize,
    bounds: &crate::model::RateBounds<T>,
    scale: T,
    d_s: &mut Vec<T>,
) -> f64 {
    if d_s.is_empty() {
        d_s.resize(steps * nb * n, T::zero());
    }
    let norm = T::one() / T::c((steps * n) as f64);
    let mut total = 0.0;
    assert_eq!(w.len(), nb, "one weight per trial");
    for (b, &wb) in w.iter().enumerate() {
        let mut sum = T::zero();
        for t in 0..steps {
            sum += spikes.at(t, b).1.iter().copied().sum::<T>();
        }
        let rate = sum * norm;
        let excess = if rate > bounds.upper {
            rate - bounds.upper
        } else if rate < bounds.lower {
            rate - bounds.lower
        } else {
            continue;
        };
        total += wb.f64() * (bounds.weight * excess * excess).f64();
        let g = scale * wb * bounds.weight * T::c(2.0) * excess * norm;
        for t in 0..steps {
            d_s[(t * nb + b) * n..(t * nb + b + 1) * n].iter_mut().for_each(|x| *x += g);
        }
    }
    total
}

/// Spreads `dL/dlogits` back onto the traces: `d_o[t][b][k] = dL/dO[t]`.
pub fn trace_grad<T: Real>(
    dlogits: &[T],
    steps: usize,
    nb: usize,
    n_out: usize,
    mode: ReadoutMode,
    arg: &[usize],
    d_o: &mut Vec<T>,
) {
    d_o.clear();
    d_o.resize(steps * nb * n_out, T::zero());
    let w = nb * n_out;
    match mode {
        ReadoutMode::Mean => {
            let inv = T::one() / T::c(steps as f64);
            for t in 0..steps {
                for i in 0..w {
                    d_o[t * w + i] = dlogits[i] * inv;
                }
            }
        }
        ReadoutMode::Last => d_o[(steps - 1) * w..].copy_from_slice(&dlogits[..w]),
        ReadoutMode::Max => {
            for i in 0..w {
                d_o[arg[i] * w + i] = dlogits[i];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_value_and_gradient() {
        let logits = [1.0f64, 2.0, 0.5, -1.0, 0.0, 3.0];
        let mut g = [0.0; 6];
        let (l, correct) = cross_entropy(&logits, &[1, 0], &[1.0, 1.0], 3, 0.5, &mut g);
        let lse = |r: &[f64]| r.iter().map(|v| v.exp()).sum::<f64>().ln();
        let expect = (lse(&logits[..3]) - 2.0) + (lse(&logits[3..]) + 1.0);
        assert!((l - expect).abs() < 1e-12);
        assert_eq!(correct, 1.0);
        // finite differences of 0.5 * total loss
        for i in 0..6 {
            let mut lp = logits;
            lp[i] += 1e-6;
            let mut lm = logits;
            lm[i] -= 1e-6;
            let mut d = [0.0; 6];
            let fd = 0.5
                * (cross_entropy(&lp, &[1, 0], &[1.0; 2], 3, 1.0, &mut d).0
                    - cross_entropy(&lm, &[1, 0], &[1.0; 2], 3, 1.0, &mut d).0)
                / 2e-6;
            assert!((fd - g[i]).abs() < 1e-8, "{i}: {fd} vs {}", g[i]);
        }
    }

    #[test]
    fn mse_values_and_gradients() {
        let pred = [1.0f64, 2.0, -1.0, 0.5];
        let mut g = [0.0; 4];
        let l = mse_rows(&pred, |b, c| (b + c) as f64, &[1.0; 2], 2, 2, 0.5, &mut g);
        // row 0: (1-0)^2, (2-1)^2 -> mean 1; row 1: (-1-1)^2, (0.5-2)^2 -> mean 3.125
        assert!((l - 4.125).abs() < 1e-12);
        assert_eq!(g, [0.5, 0.5, -1.0, -0.75]);
        let o = [1.0f64, 3.0]; // steps=2, nb=1, k=1
        let mut d = Vec::new();
        let l = mse_steps(&o, |t, _, _| t as f64, &[1.0], 2, 1, 1, 1.0, &mut d);
        assert!((l - (1.0 + 4.0) / 2.0).abs() < 1e-12);
        assert_eq!(d, vec![1.0, 2.0]);
    }

    /// A row's trial weight multiplies its loss and its gradient; a weight of 0 removes the row.
    #[test]
    fn trial_weights_scale_each_rows_loss_and_gradient() {
        let logits = [1.0f64, 2.0, 0.5, -1.0, 0.0, 3.0];
        let (mut g1, mut gw) = ([0.0; 6], [0.0; 6]);
        let (l1, c1) = cross_entropy(&logits, &[1, 2], &[1.0, 1.0], 3, 0.5, &mut g1);
        let (lw, cw) = cross_entropy(&logits, &[1, 2], &[3.0, 0.0], 3, 0.5, &mut gw);
        let mut g0 = [0.0; 3];
        let (l0, _) = cross_entropy(&logits[..3], &[1], &[1.0], 3, 0.5, &mut g0);
        assert!((lw - 3.0 * l0).abs() < 1e-12 && l1 > l0);
        assert_eq!((c1, cw), (2.0, 3.0));
        for i in 0..3 {
            assert!((gw[i] - 3.0 * g1[i]).abs() < 1e-15);
            assert_eq!(gw[i + 3], 0.0);
        }
        let pred = [1.0f64, 2.0, -1.0, 0.5];
        let mut g = [0.0; 4];
        let l = mse_rows(&pred, |b, c| (b + c) as f64, &[0.5, 2.0], 2, 2, 0.5, &mut g);
        assert!((l - (0.5 * 1.0 + 2.0 * 3.125)).abs() < 1e-12);
        assert_eq!(g, [0.25, 0.25, -2.0, -1.5]);
        let o = [1.0f64, 0.0, 3.0, 0.0]; // steps=2, nb=2, k=1; trial 1 has weight 0
        let mut d = Vec::new();
        let l = mse_steps(&o, |t, _, _| t as f64, &[2.0, 0.0], 2, 2, 1, 1.0, &mut d);
        assert!((l - 2.0 * (1.0 + 4.0) / 2.0).abs() < 1e-12);
        assert_eq!(d, vec![2.0, 0.0, 4.0, 0.0]);
    }

    #[test]
    fn missing_mse_targets_add_no_error_and_no_gradient() {
        let pred = [1.0f64, 2.0, -1.0, 0.5];
        let mut g = [9.0; 4];
        // row 0 misses output 1, row 1 misses both: only (1 - 0)^2 / 2 remains
        let l = mse_rows(&pred, |b, c| if b == 0 && c == 0 { 0.0 } else { f64::NAN }, &[1.0; 2], 2, 2, 1.0, &mut g);
        assert_eq!(l, 0.5);
        assert_eq!(g, [1.0, 0.0, 0.0, 0.0]);
        let o = [1.0f64, 3.0, 5.0]; // steps=3, nb=1, k=1; step 1 missing
        let mut d = Vec::new();
        let l = mse_steps(&o, |t, _, _| if t == 1 { f64::NAN } else { t as f64 }, &[1.0], 3, 1, 1, 1.0, &mut d);
        assert!((l - (1.0 + 9.0) / 3.0).abs() < 1e-12);
        assert_eq!(d, vec![2.0 / 3.0, 0.0, 2.0 * 3.0 / 3.0]);
    }

    /// One trial of `steps` steps, unit 0 of 1 with the given spike values (0 = no event).
    fn record(values: &[f64]) -> SpikeRecord<f64> {
        let mut r = SpikeRecord::default();
        r.clear(1);
        for &v in values {
            if v != 0.0 {
                r.push(0, v);
            }
            r.close();
        }
        r
    }

    /// The Gaussian kernel's `r_hat`, read back from the loss (zero target, unit weight: the loss
    /// is the mean of `r_hat^2`), and its gradient against finite differences of the spikes.
    #[test]
    fn gaussian_rates_renormalised_at_the_edges() {
        let steps = 15;
        let f = RateFilter::<f64>::gaussian(1.5, 1.0, 1000.0, steps - 1).unwrap();
        let RateFilter::Gaussian { weights, .. } = &f else { unreachable!() };
        // ceil(4 * 1.5) = 6 lags
        assert_eq!(weights.len(), 7);
        let run = |v: &[f64], target: f64, d: &mut Vec<f64>| {
            activity_matching(
                &record(v),
                &[0],
                &[Some(0)],
                |_, _, _| target,
                &[1.0],
                steps,
                1,
                1,
                &f,
                0.5,
                &[1.0],
                false,
                1.0,
                d,
            )
        };
        let mut d = Vec::new();
        // a constant count per bin gives the same rate at every step, edges included
        assert!(run(&[0.04; 15], 40.0, &mut d) < 1e-20);
        // one spike at step 3: r_hat is the kernel around it, renormalised near the edges
        let mut v = [0.0; 15];
        v[3] = 1.0;
        let g = |j: i64| (-0.5 * (j as f64 / 1.5).powi(2)).exp();
        let z_mid: f64 = (-6..=6).map(g).sum();
        let expect: Vec<f64> = (0..steps as i64)
            .map(|t| {
                let zt: f64 = (0..steps as i64).filter(|u| (u - t).abs() <= 6).map(|u| g(u - t)).sum();
                if (t - 3).abs() <= 6 {
                    1000.0 * g(t - 3) / zt
                } else {
                    0.0
                }
            })
            .collect();
        // from step 6 on the kernel lies inside the trial: unit area
        assert!((expect[6] - 1000.0 * g(3) / z_mid).abs() < 1e-9);
        assert!(expect[3] > 1000.0 / z_mid, "renormalised near the start");
        let want: f64 = 0.5 * expect.iter().map(|r| r * r).sum::<f64>() / steps as f64;
        let l = run(&v, 0.0, &mut d);
        assert!((l - want).abs() < 1e-9 * want, "{l} vs {want}");
        // the gradient by central differences of the spike values
        run(&v, 3.0, &mut d);
        for t in 0..steps {
            let (mut p, mut q) = (v, v);
            p[t] += 1e-6;
            q[t] -= 1e-6;
            let mut scratch = Vec::new();
            let fd = (run(&p, 3.0, &mut scratch) - run(&q, 3.0, &mut scratch)) / 2e-6;
            assert!((fd - d[t]).abs() < 1e-6 * fd.abs().max(1.0), "step {t}: {fd} vs {}", d[t]);
        }
    }

    /// One spike at `t'` against a target of zero: the plain term is the mean of `c[t, t']^2`
    /// over the steps, which the noise correction removes exactly, for both kernels (including
    /// the Gaussian kernel's renormalised edges).
    #[test]
    fn noise_correction_removes_the_variance_of_one_spike() {
        let steps = 9;
        for f in [
            RateFilter::<f64>::exponential(3.0, 1.0, 2.0).unwrap(),
            RateFilter::<f64>::gaussian(1.5, 1.0, 2.0, steps - 1).unwrap(),
        ] {
            let c2 = f.squared_coefficients(steps);
            for (tp, &c) in c2.iter().enumerate() {
                let v: Vec<f64> = (0..steps).map(|t| f64::from(t == tp)).collect();
                let loss = |correction: bool| {
                    let mut d = Vec::new();
                    activity_matching(
                        &record(&v),
                        &[0],
                        &[Some(0)],
                        |_, _, _| 0.0,
                        &[1.0],
                        steps,
                        1,
                        1,
                        &f,
                        1.0,
                        &[1.0],
                        correction,
                        1.0,
                        &mut d,
                    )
                };
                let plain = loss(false);
                assert!((plain - c / steps as f64).abs() < 1e-12, "{f:?} t'={tp}: {plain} vs {c}");
                assert!(loss(true).abs() < 1e-12, "{f:?} t'={tp}: corrected {}", loss(true));
            }
        }
    }

    #[test]
    fn gaussian_kernel_is_stored_only_up_to_the_trial_length() {
        let f = RateFilter::<f32>::gaussian(1e12, 1.0, 1.0, 4).unwrap();
        assert_eq!(f, RateFilter::Gaussian { weights: vec![1.0; 5], gain: 1.0 });
        assert!(RateFilter::<f32>::gaussian(0.0, 1.0, 1.0, 4).is_err());
        assert!(RateFilter::<f32>::exponential(f64::NAN, 1.0, 1.0).is_err());
    }

    #[test]
    fn readout_modes() {
        // steps=3, nb=1, k=2
        let o = [1.0f64, 5.0, 3.0, 4.0, 2.0, 0.0];
        let mut l = [0.0; 2];
        let mut arg = [0usize; 2];
        logits(&o, 3, 1, 2, ReadoutMode::Mean, &mut l, &mut arg);
        assert_eq!(l, [2.0, 3.0]);
        logits(&o, 3, 1, 2, ReadoutMode::Max, &mut l, &mut arg);
        assert_eq!((l, arg), ([3.0, 5.0], [1, 0]));
        logits(&o, 3, 1, 2, ReadoutMode::Last, &mut l, &mut arg);
        assert_eq!(l, [2.0, 0.0]);
        let mut per = [0.0; 6];
        logits_per_step(&o, 3, 1, 2, ReadoutMode::Mean, &mut per);
        assert_eq!(per, [1.0, 5.0, 2.0, 4.5, 2.0, 3.0]);
        logits_per_step(&o, 3, 1, 2, ReadoutMode::Max, &mut per);
        assert_eq!(per, [1.0, 5.0, 3.0, 5.0, 3.0, 5.0]);
        let mut d = Vec::new();
        trace_grad(&[1.0, 2.0], 3, 1, 2, ReadoutMode::Max, &[1, 0], &mut d);
        assert_eq!(d, vec![0.0, 2.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn the_last_step_of_the_per_step_logits_is_the_windows_logits_bit_for_bit() {
        // predictions compute only the window's logits; they must equal the last step of the
        // early-classification curve exactly, on f32 traces where rounding differs between ways
        // of averaging (the running mean against the sum over steps of the training loss)
        let (steps, nb, k) = (50, 3, 4);
        let o: Vec<f32> = (0..steps * nb * k).map(|i| ((i * 7919 % 1013) as f32 * 0.0137).sin() * 3.1).collect();
        for mode in [ReadoutMode::Mean, ReadoutMode::Max, ReadoutMode::Last] {
            let (mut l, mut per) = (vec![0.0f32; nb * k], vec![0.0f32; steps * nb * k]);
            window_logits(&o, steps, nb, k, mode, &mut l);
            logits_per_step(&o, steps, nb, k, mode, &mut per);
            let last = &per[(steps - 1) * nb * k..];
            assert!(l.iter().zip(last).all(|(a, b)| a.to_bits() == b.to_bits()), "{mode:?}: {l:?} != {last:?}");
            // and up to rounding, the logits of the training loss
            let (mut train, mut arg) = (vec![0.0f32; nb * k], vec![0; nb * k]);
            logits(&o, steps, nb, k, mode, &mut train, &mut arg);
            assert!(l.iter().zip(&train).all(|(a, b)| (a - b).abs() <= 1e-5 * (1.0 + b.abs())));
        }
    }
}
