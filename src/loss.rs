//! Losses: from the readout traces `O[t]` to logits, cross-entropy, and the gradient with respect to
//! the traces (`dL/dO[t]`) that starts the backward pass.

use crate::real::Real;
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

/// Logits after each step (the early-classification curve): running mean, running max or the
/// current trace. Writes `[t][b][k]`.
pub fn logits_per_step<T: Real>(o: &[T], steps: usize, nb: usize, n_out: usize, mode: ReadoutMode, out: &mut [T]) {
    let w = nb * n_out;
    for t in 0..steps {
        for i in 0..w {
            let cur = o[t * w + i];
            out[t * w + i] = match mode {
                ReadoutMode::Last => cur,
                ReadoutMode::Max => {
                    if t == 0 {
                        cur
                    } else {
                        out[(t - 1) * w + i].max(cur)
                    }
                }
                ReadoutMode::Mean => {
                    if t == 0 {
                        cur
                    } else {
                        let n = T::c(t as f64);
                        (out[(t - 1) * w + i] * n + cur) / (n + T::one())
                    }
                }
            };
        }
    }
}

/// Softmax cross-entropy of each row of `logits` against `y`. Returns the summed loss (f64) and the
/// number of rows whose arg-max is the class; writes `scale * dloss/dlogits` to `grad`.
pub fn cross_entropy<T: Real>(logits: &[T], y: &[usize], n_out: usize, scale: T, grad: &mut [T]) -> (f64, usize) {
    let mut total = 0.0;
    let mut correct = 0;
    for (b, &cls) in y.iter().enumerate() {
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
            correct += 1;
        }
        let mut z = T::zero();
        for (gc, &v) in g.iter_mut().zip(row) {
            *gc = (v - m).exp();
            z += *gc;
        }
        total += (z.ln() + m - row[cls]).f64();
        for (c, gc) in g.iter_mut().enumerate() {
            let p = *gc / z;
            *gc = scale * (p - if c == cls { T::one() } else { T::zero() });
        }
    }
    (total, correct)
}

/// Squared error of `nb` rows of `n_out` predictions against `target(b, c)`: returns the sum over
/// rows of the row's mean squared error, and writes `scale * d(that sum)/dpred` to `grad`.
pub fn mse_rows<T: Real>(
    pred: &[T],
    target: impl Fn(usize, usize) -> T,
    nb: usize,
    n_out: usize,
    scale: T,
    grad: &mut [T],
) -> f64 {
    let inv = T::one() / T::c(n_out as f64);
    let mut total = 0.0;
    for b in 0..nb {
        for c in 0..n_out {
            let d = pred[b * n_out + c] - target(b, c);
            total += (d * d * inv).f64();
            grad[b * n_out + c] = scale * T::c(2.0) * d * inv;
        }
    }
    total
}

/// Squared error of the traces `o` (`[t][b][k]`) against `target(t, b, c)`: returns the sum over
/// trials of each trial's mean (over steps and outputs) squared error, and writes
/// `scale * d(that sum)/dO[t]` to `d_o`.
pub fn mse_steps<T: Real>(
    o: &[T],
    target: impl Fn(usize, usize, usize) -> T,
    steps: usize,
    nb: usize,
    n_out: usize,
    scale: T,
    d_o: &mut Vec<T>,
) -> f64 {
    d_o.clear();
    d_o.resize(steps * nb * n_out, T::zero());
    let inv = T::one() / T::c((steps * n_out) as f64);
    let mut total = 0.0;
    for t in 0..steps {
        for b in 0..nb {
            for c in 0..n_out {
                let i = (t * nb + b) * n_out + c;
                let d = o[i] - target(t, b, c);
                total += (d * d * inv).f64();
                d_o[i] = scale * T::c(2.0) * d * inv;
            }
        }
    }
    total
}

/// Activity matching for a chunk: the model units `units[k]` of one population are filtered,
/// `r[t] = decay r[t-1] + gain s[t]`, and compared with recorded activity `target(t, b, k)`.
/// Returns the sum over trials of each trial's mean (over steps and recorded neurons) squared
/// error, times `weight`; writes `scale * weight * d(that)/ds[t]` into `d_s` (`[t][b][n]`).
#[allow(clippy::too_many_arguments)]
pub fn activity_matching<T: Real>(
    spikes: &crate::spikes::SpikeRecord<T>,
    units: &[usize],
    unit_to_k: &[Option<usize>],
    target: impl Fn(usize, usize, usize) -> T,
    steps: usize,
    nb: usize,
    n: usize,
    decay: T,
    gain: T,
    weight: T,
    scale: T,
    d_s: &mut Vec<T>,
) -> f64 {
    let kk = units.len();
    d_s.clear();
    d_s.resize(steps * nb * n, T::zero());
    let inv = T::one() / T::c((steps * kk) as f64);
    let mut total = 0.0;
    let mut r = vec![T::zero(); kk];
    let mut g = vec![T::zero(); steps * kk];
    let mut s = vec![T::zero(); kk];
    for b in 0..nb {
        r.iter_mut().for_each(|x| *x = T::zero());
        // forward filter and the error at every step
        for t in 0..steps {
            s.iter_mut().for_each(|x| *x = T::zero());
            let (idx, val) = spikes.at(t, b);
            for (&j, &v) in idx.iter().zip(val) {
                if let Some(k) = unit_to_k[j as usize] {
                    s[k] = v;
                }
            }
            for k in 0..kk {
                r[k] = decay * r[k] + gain * s[k];
                let d = r[k] - target(t, b, k);
                total += (weight * d * d * inv).f64();
                g[t * kk + k] = scale * weight * T::c(2.0) * d * inv;
            }
        }
        // reverse: dL/dr accumulates through the filter; dL/ds[t] = gain * dL/dr[t]
        let mut acc = vec![T::zero(); kk];
        for t in (0..steps).rev() {
            for k in 0..kk {
                acc[k] = g[t * kk + k] + decay * acc[k];
                d_s[(t * nb + b) * n + units[k]] = gain * acc[k];
            }
        }
    }
    total
}

/// Firing-rate penalty of one population for a chunk (see [`crate::model::RateBounds`]): returns
/// the sum over trials of the penalty and adds `scale * d(that)/ds[t]` to `d_s` (`[t][b][n]`,
/// sized here when empty).
pub fn rate_penalty<T: Real>(
    spikes: &crate::spikes::SpikeRecord<T>,
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
    for b in 0..nb {
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
        total += (bounds.weight * excess * excess).f64();
        let g = scale * bounds.weight * T::c(2.0) * excess * norm;
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
        let (l, correct) = cross_entropy(&logits, &[1, 0], 3, 0.5, &mut g);
        let lse = |r: &[f64]| r.iter().map(|v| v.exp()).sum::<f64>().ln();
        let expect = (lse(&logits[..3]) - 2.0) + (lse(&logits[3..]) + 1.0);
        assert!((l - expect).abs() < 1e-12);
        assert_eq!(correct, 1);
        // finite differences of 0.5 * total loss
        for i in 0..6 {
            let mut lp = logits;
            lp[i] += 1e-6;
            let mut lm = logits;
            lm[i] -= 1e-6;
            let mut d = [0.0; 6];
            let fd = 0.5
                * (cross_entropy(&lp, &[1, 0], 3, 1.0, &mut d).0 - cross_entropy(&lm, &[1, 0], 3, 1.0, &mut d).0)
                / 2e-6;
            assert!((fd - g[i]).abs() < 1e-8, "{i}: {fd} vs {}", g[i]);
        }
    }

    #[test]
    fn mse_values_and_gradients() {
        let pred = [1.0f64, 2.0, -1.0, 0.5];
        let mut g = [0.0; 4];
        let l = mse_rows(&pred, |b, c| (b + c) as f64, 2, 2, 0.5, &mut g);
        // row 0: (1-0)^2, (2-1)^2 -> mean 1; row 1: (-1-1)^2, (0.5-2)^2 -> mean 3.125
        assert!((l - 4.125).abs() < 1e-12);
        assert_eq!(g, [0.5, 0.5, -1.0, -0.75]);
        let o = [1.0f64, 3.0]; // steps=2, nb=1, k=1
        let mut d = Vec::new();
        let l = mse_steps(&o, |t, _, _| t as f64, 2, 1, 1, 1.0, &mut d);
        assert!((l - (1.0 + 4.0) / 2.0).abs() < 1e-12);
        assert_eq!(d, vec![1.0, 2.0]);
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
}
