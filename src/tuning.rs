//! Directional tuning of many neurons at once: cosine tuning (least squares, F-test, bootstrap
//! confidence intervals, permutation test) and a von Mises tuning model with model comparison.
//!
//! Input everywhere: `rates`, shape `(n_trials, n_neurons)` (any finite values: counts, rates in
//! Hz, z-scores), and `angles`, shape `(n_trials,)`, the movement direction of each trial in
//! radians. All work is in `f64`, parallel over neurons (or over chunks of resamples) with rayon,
//! and every result is independent of the number of threads: no reduction crosses a thread
//! boundary, and random numbers come from one ChaCha8 stream per resample, keyed by
//! `(seed, purpose, resample index)`.
//!
//! # Cosine model
//!
//! `rate = b0 + b1 cos(theta) + b2 sin(theta) + noise`, i.e. `b0 + m cos(theta - pd)` with preferred
//! direction `pd = atan2(b2, b1)` in `[0, 2 pi)` and modulation depth `m = hypot(b1, b2)`.
//!
//! * Solved by a QR factorisation (modified Gram-Schmidt with re-orthogonalisation) of the
//!   `(n_trials, 3)` design `[1, cos, sin]`, shared by all neurons, applied to each neuron's
//!   mean-centred rates; residuals are computed directly (no `SST - SSR` cancellation).
//! * `R^2 = 1 - SSE / SST` (trial level). `r2_mean` is the same fit judged on the direction means:
//!   `1 - sum_g n_g (mean_g - fit_g)^2 / sum_g n_g (mean_g - mean)^2`, trials grouped by identical
//!   angle (every angle unique => `r2_mean == r2`).
//! * F-test of `b1 = b2 = 0`: `F = (SSR / 2) / (SSE / (n - 3))` with 2 and `n - 3` degrees of
//!   freedom. With 2 numerator degrees of freedom the survival function has the closed form
//!   `P(F_{2,m} > F) = (1 + 2F/m)^(-m/2) = (SSE / SST)^((n - 3) / 2)`, which is computed exactly
//!   (no incomplete beta function needed). `F = inf`, `p = 0` for a perfect fit.
//! * Bootstrap (`n_boot > 0`): resample trials with replacement; resample `b` uses the counts
//!   `c_t` drawn by its own generator, solves the weighted normal equations
//!   `(X' C X) beta = X' C y` (3 x 3, shared by all neurons; the right-hand sides of a chunk of
//!   resamples are one matrix product), and records the deviation of its preferred direction from
//!   the point estimate, wrapped to `(-pi, pi]`, and its depth. The confidence interval at level
//!   `ci` is `pd + [q_lo, q_hi]` of those deviations (percentiles with linear interpolation, like
//!   `numpy.quantile`), so `lower <= pd <= upper` typically, `lower` may be below 0 and `upper` above
//!   `2 pi`, and the width `upper - lower` is at most `2 pi`. The depth interval is the plain
//!   percentile interval. Resamples whose design is rank deficient (fewer than 3 distinct
//!   directions drawn) are skipped; `n_boot_valid` counts the others. A resample in which one
//!   neuron's rates are constant (a sparse unit's resample that drew none of its spikes) has depth
//!   0 and no preferred direction (it would be `atan2` of rounding noise): it counts in the depth
//!   interval and is left out of that neuron's preferred-direction interval (NaN if no resample
//!   is left). Detected exactly when the constant is the neuron's most frequent value, the usual
//!   case.
//! * Permutation test (`n_perm > 0`): the angles are shuffled across trials; `p = (1 + #{R^2_perm >=
//!   R^2}) / (1 + n_perm)` (a relative tolerance of `1e-10` counts numerical ties as ties).
//!
//! Degenerate input: fewer than 3 trials, or fewer than 3 distinct directions (the design is
//! rank deficient), or NaN/infinite values are errors. A neuron whose rates are all equal (zero
//! variance, e.g. a silent unit; equal up to [`CONSTANT_RTOL`] of their magnitude, since a spread
//! at the level of rounding is not tuning) gets `b0` = that value, `b1 = b2 = depth = 0` and NaN
//! for the preferred direction, `R^2`, `F`, every p-value and every interval. With exactly 3 trials the
//! fit is exact and `F` and `p` are NaN (no residual degrees of freedom).
//!
//! # Von Mises model
//!
//! `rate = peak + gain * (exp(kappa (cos(theta - mu) - 1)) - 1) / kappa`, `kappa >= 0`,
//! `gain >= 0`. This is the usual `b + a exp(kappa (cos(theta - mu) - 1))` with `a = gain / kappa`,
//! `b = peak - a`, written so that `kappa = 0` is exactly the cosine model (`peak + gain (cos - 1)`):
//! the cosine model is nested, a fit never does worse than the cosine fit it starts from, and
//! `kappa -> 0` does not send `a` to infinity. `peak` is the rate at `mu`; the rate at the opposite
//! direction is `peak + gain (exp(-2 kappa) - 1) / kappa`. Fitted per neuron by
//! Levenberg-Marquardt (projected onto the bounds) from the best of a small grid of starts
//! (`kappa` in {0, 0.5, 1, 2, 4, 8, 16}, `mu` at the cosine preferred direction or at the
//! direction of the largest mean rate), on the direction means weighted by trial counts, which
//! gives exactly the trial-level least squares. Needs at least 4 distinct directions.
//!
//! # Model comparison
//!
//! Gaussian errors with the maximum-likelihood variance `SSE / n`:
//! `log L = -n/2 (ln(2 pi SSE / n) + 1)`, `AIC = 2k - 2 log L`, `BIC = k ln(n) - 2 log L`, with
//! `k = 4` for the cosine model (3 coefficients and the variance) and `k = 5` for von Mises. A perfect
//! fit (`SSE = 0`) gives `-inf`.

// Small dense linear algebra reads best with index loops; `!(x > tol)` is deliberate (NaN fails it).
#![allow(clippy::needless_range_loop, clippy::neg_cmp_op_on_partial_ord)]

use crate::error::{invalid, Result};
use crate::random::keyed;
use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::seq::SliceRandom;
use rand::RngExt;
use rayon::prelude::*;
use std::f64::consts::PI;

const TWO_PI: f64 = 2.0 * PI;
/// Resamples (bootstrap or permutation) per matrix product: fixed, so results do not depend on the
/// number of threads.
const CHUNK: usize = 32;
const TAG_BOOT: u64 = 0x626f_6f74; // "boot"
const TAG_PERM: u64 = 0x7065_726d; // "perm"

/// Options of [`fit_cosine`].
#[derive(Debug, Clone, PartialEq)]
pub struct CosineConfig {
    /// Number of bootstrap resamples (0: no confidence intervals).
    pub n_boot: usize,
    /// Confidence level of the bootstrap intervals, in (0, 1).
    pub ci: f64,
    /// Number of permutations of the directions (0: no permutation test).
    pub n_perm: usize,
    /// Seed of the bootstrap and permutation generators.
    pub seed: u64,
}

impl Default for CosineConfig {
    fn default() -> Self {
        CosineConfig { n_boot: 0, ci: 0.95, n_perm: 0, seed: 0 }
    }
}

/// Bootstrap confidence intervals of [`CosineFit`].
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapIntervals {
    /// `(n_neurons, 2)`: `pd + [q_lo, q_hi]` of the wrapped deviations (see the module docs).
    pub pd_ci: Array2<f64>,
    /// `(n_neurons, 2)`: percentile interval of the modulation depth.
    pub depth_ci: Array2<f64>,
    /// Resamples with a full-rank design (the others are skipped).
    pub n_valid: usize,
}

/// Cosine tuning of every neuron (one entry per neuron in each vector).
#[derive(Debug, Clone, PartialEq)]
pub struct CosineFit {
    pub n_trials: usize,
    pub baseline: Vec<f64>,
    pub b1: Vec<f64>,
    pub b2: Vec<f64>,
    /// `atan2(b2, b1)` in `[0, 2 pi)`; NaN for zero-variance neurons.
    pub preferred_direction: Vec<f64>,
    /// `hypot(b1, b2)`.
    pub modulation_depth: Vec<f64>,
    /// Trial-level `1 - SSE / SST`.
    pub r2: Vec<f64>,
    /// The same fit judged on direction means (see the module docs).
    pub r2_mean: Vec<f64>,
    pub sse: Vec<f64>,
    pub f_statistic: Vec<f64>,
    /// F-test p-value of `b1 = b2 = 0`.
    pub p_value: Vec<f64>,
    pub aic: Vec<f64>,
    pub bic: Vec<f64>,
    pub bootstrap: Option<BootstrapIntervals>,
    pub perm_p_value: Option<Vec<f64>>,
}

/// Options of [`fit_von_mises`].
#[derive(Debug, Clone, PartialEq)]
pub struct VonMisesConfig {
    /// Levenberg-Marquardt iterations per neuron.
    pub max_iter: usize,
    /// Upper bound of `kappa`.
    pub kappa_max: f64,
    /// Convergence: relative decrease of the SSE below `tol`.
    pub tol: f64,
}

impl Default for VonMisesConfig {
    fn default() -> Self {
        VonMisesConfig { max_iter: 200, kappa_max: 100.0, tol: 1e-10 }
    }
}

/// Von Mises tuning of every neuron (parametrisation in the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct VonMisesFit {
    pub n_trials: usize,
    /// Rate at the preferred direction.
    pub peak: Vec<f64>,
    /// `gain >= 0` (equals the cosine modulation depth when `kappa = 0`).
    pub gain: Vec<f64>,
    pub kappa: Vec<f64>,
    /// `mu` in `[0, 2 pi)`; NaN for zero-variance neurons.
    pub preferred_direction: Vec<f64>,
    pub r2: Vec<f64>,
    pub sse: Vec<f64>,
    pub aic: Vec<f64>,
    pub bic: Vec<f64>,
    /// False when `max_iter` was reached before convergence.
    pub converged: Vec<bool>,
    pub n_iter: Vec<usize>,
}

/// Gaussian-error `(AIC, BIC)` of a least-squares fit with `k` parameters (variance included).
pub fn gaussian_ic(sse: f64, n: usize, k: usize) -> (f64, f64) {
    if !sse.is_finite() || n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let nf = n as f64;
    let log_l = if sse <= 0.0 { f64::INFINITY } else { -0.5 * nf * ((TWO_PI * sse / nf).ln() + 1.0) };
    (2.0 * k as f64 - 2.0 * log_l, k as f64 * nf.ln() - 2.0 * log_l)
}

/// `P(F > f)` for an F distribution with 2 and `n - 3` degrees of freedom, from `SSE / SST`:
/// `(SSE / SST)^((n - 3) / 2)`. NaN when `n <= 3` or `SST` is not positive.
pub fn f_test_p_value(sse: f64, sst: f64, n: usize) -> f64 {
    if n <= 3 || !(sst > 0.0) || !sse.is_finite() {
        return f64::NAN;
    }
    let ratio = (sse / sst).clamp(0.0, 1.0);
    (0.5 * (n as f64 - 3.0) * ratio.ln()).exp()
}

/// Angle in `[0, 2 pi)`.
fn wrap_2pi(a: f64) -> f64 {
    let r = a.rem_euclid(TWO_PI);
    if r >= TWO_PI {
        0.0
    } else {
        r
    }
}

/// Angle in `(-pi, pi]`.
fn wrap_pi(a: f64) -> f64 {
    let r = wrap_2pi(a);
    if r > PI {
        r - TWO_PI
    } else {
        r
    }
}

/// Linear-interpolation quantile of sorted data (numpy's default), `q` in [0, 1].
fn quantile_sorted(x: &[f64], q: f64) -> f64 {
    match x.len() {
        0 => f64::NAN,
        1 => x[0],
        m => {
            let h = (m - 1) as f64 * q;
            let lo = (h.floor() as usize).min(m - 1);
            let hi = (lo + 1).min(m - 1);
            x[lo] + (h - lo as f64) * (x[hi] - x[lo])
        }
    }
}

/// Rates whose spread is at most this share of their magnitude are constant: differences at the
/// level of rounding (a sum or a smoothing of equal values) are not tuning.
pub const CONSTANT_RTOL: f64 = 1e-12;

/// Checked inputs: the centred rates, one row per neuron, and what the fits share.
struct Prepared {
    n: usize,
    /// `(n_neurons, n_trials)`, each row minus its mean.
    yt: Array2<f64>,
    mean: Vec<f64>,
    /// Neurons whose rates are all equal, up to [`CONSTANT_RTOL`].
    constant: Vec<bool>,
    cos: Vec<f64>,
    sin: Vec<f64>,
    /// Group (distinct angle) of each trial, and the distinct angles in `[0, 2 pi)`.
    group: Vec<usize>,
    group_angle: Vec<f64>,
    group_count: Vec<f64>,
}

fn prepare(rates: ArrayView2<f64>, angles: ArrayView1<f64>) -> Result<Prepared> {
    let (n, n_neurons) = rates.dim();
    if angles.len() != n {
        return Err(invalid!(
            "rates have {n} trials (rows) but angles has {} entries; need one direction per trial",
            angles.len()
        ));
    }
    if n_neurons == 0 {
        return Err(invalid!("rates have no neurons (0 columns)"));
    }
    if n < 3 {
        return Err(invalid!("the cosine model has 3 parameters (b0, b1, b2) and needs at least 3 trials, got {n}"));
    }
    if let Some(i) = angles.iter().position(|a| !a.is_finite()) {
        return Err(invalid!("angles contain a non-finite value ({}) at trial {i}", angles[i]));
    }
    if let Some(((t, j), v)) = rates.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(invalid!("rates contain a non-finite value ({v}) at trial {t}, neuron {j}"));
    }
    // Distinct directions (angles reduced to [0, 2 pi), grouped by exact value).
    let reduced: Vec<f64> = angles.iter().map(|&a| wrap_2pi(a)).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| reduced[a].total_cmp(&reduced[b]));
    let mut group = vec![0usize; n];
    let mut group_angle: Vec<f64> = Vec::new();
    let mut group_count: Vec<f64> = Vec::new();
    for &t in &order {
        if group_angle.last() != Some(&reduced[t]) {
            group_angle.push(reduced[t]);
            group_count.push(0.0);
        }
        group[t] = group_angle.len() - 1;
        *group_count.last_mut().expect("pushed") += 1.0;
    }
    let mut yt = rates.t().as_standard_layout().into_owned();
    let stats: Vec<(f64, bool)> = yt
        .as_slice_mut()
        .expect("standard layout")
        .par_chunks_mut(n)
        .map(|row| {
            let (lo, hi) = row.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let mean = row.iter().sum::<f64>() / n as f64;
            if hi - lo <= CONSTANT_RTOL * lo.abs().max(hi.abs()) {
                row.fill(0.0);
                (if lo == hi { lo } else { mean }, true)
            } else {
                // Two passes: the first mean is off by rounding (about eps |mean|), which a fit with
                // an intercept removes from the residuals but a sum of squares would count.
                row.iter_mut().for_each(|v| *v -= mean);
                let rest = row.iter().sum::<f64>() / n as f64;
                row.iter_mut().for_each(|v| *v -= rest);
                (mean + rest, false)
            }
        })
        .collect();
    Ok(Prepared {
        n,
        yt,
        mean: stats.iter().map(|s| s.0).collect(),
        constant: stats.iter().map(|s| s.1).collect(),
        cos: angles.iter().map(|a| a.cos()).collect(),
        sin: angles.iter().map(|a| a.sin()).collect(),
        group,
        group_angle,
        group_count,
    })
}

/// Thin QR of the design `[1, cos, sin]`: `q` is `(3, n)` with orthonormal rows, `r` upper
/// triangular. Errors when the design is rank deficient (fewer than 3 distinct directions).
fn design_qr(p: &Prepared) -> Result<(Array2<f64>, [[f64; 3]; 3])> {
    let n = p.n;
    let mut q = Array2::<f64>::zeros((3, n));
    let mut r = [[0.0; 3]; 3];
    let cols: [Vec<f64>; 3] = [vec![1.0; n], p.cos.clone(), p.sin.clone()];
    let tol = 1e-9 * (n as f64).sqrt();
    for k in 0..3 {
        let mut v = cols[k].clone();
        for _pass in 0..2 {
            for j in 0..k {
                let qj = q.row(j);
                let d: f64 = qj.iter().zip(&v).map(|(a, b)| a * b).sum();
                r[j][k] += d;
                v.iter_mut().zip(qj.iter()).for_each(|(x, a)| *x -= d * a);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if !(norm > tol) {
            return Err(invalid!(
                "the directions span {} distinct angle(s) over {n} trials: the cosine model \
                 b0 + b1 cos(theta) + b2 sin(theta) needs at least 3 distinct directions",
                p.group_angle.len()
            ));
        }
        r[k][k] = norm;
        q.row_mut(k).iter_mut().zip(&v).for_each(|(a, x)| *a = x / norm);
    }
    Ok((q, r))
}

/// Per-neuron point estimates of the cosine model.
struct PointFit {
    b: [f64; 3],
    pd: f64,
    depth: f64,
    r2: f64,
    r2_mean: f64,
    sse: f64,
    f: f64,
    p: f64,
    /// `(q1 . y)^2 + (q2 . y)^2`: the regression sum of squares (what permutations compare).
    ssr: f64,
}

fn point_fit(p: &Prepared, q: &Array2<f64>, r: &[[f64; 3]; 3], j: usize) -> PointFit {
    let n = p.n;
    if p.constant[j] {
        return PointFit {
            b: [p.mean[j], 0.0, 0.0],
            pd: f64::NAN,
            depth: 0.0,
            r2: f64::NAN,
            r2_mean: f64::NAN,
            sse: 0.0,
            f: f64::NAN,
            p: f64::NAN,
            ssr: 0.0,
        };
    }
    let y = p.yt.row(j);
    let y = y.as_slice().expect("standard layout");
    let mut qy = [0.0; 3];
    for k in 0..3 {
        qy[k] = q.row(k).iter().zip(y).map(|(a, b)| a * b).sum();
    }
    // Back substitution R beta = Q' y.
    let mut beta = [0.0; 3];
    for k in (0..3).rev() {
        let mut s = qy[k];
        for l in k + 1..3 {
            s -= r[k][l] * beta[l];
        }
        beta[k] = s / r[k][k];
    }
    let (q0, q1, q2) = (q.row(0), q.row(1), q.row(2));
    let mut sse = 0.0;
    let mut sst = 0.0;
    let g = p.group_angle.len();
    let mut gsum = vec![0.0; g];
    let mut gfit = vec![0.0; g];
    for t in 0..n {
        let fit = q0[t] * qy[0] + q1[t] * qy[1] + q2[t] * qy[2];
        let e = y[t] - fit;
        sse += e * e;
        sst += y[t] * y[t];
        gsum[p.group[t]] += y[t];
        gfit[p.group[t]] = fit;
    }
    // Direction means of the centred rates against the fit (equal within a group).
    let (mut ss_between, mut ss_between_res) = (0.0, 0.0);
    for k in 0..g {
        let m = gsum[k] / p.group_count[k];
        ss_between += p.group_count[k] * m * m;
        ss_between_res += p.group_count[k] * (m - gfit[k]) * (m - gfit[k]);
    }
    let r2_mean = if ss_between > 0.0 { 1.0 - ss_between_res / ss_between } else { f64::NAN };
    let (b1, b2) = (beta[1], beta[2]);
    let depth = b1.hypot(b2);
    let pd = if depth > 0.0 { wrap_2pi(b2.atan2(b1)) } else { f64::NAN };
    let ssr = qy[1] * qy[1] + qy[2] * qy[2];
    let f = if n > 3 {
        let num = (sst - sse).max(0.0) / 2.0;
        let den = sse / (n as f64 - 3.0);
        if den > 0.0 {
            num / den
        } else {
            f64::INFINITY
        }
    } else {
        f64::NAN
    };
    PointFit {
        b: [beta[0] + p.mean[j], b1, b2],
        pd,
        depth,
        r2: if sst > 0.0 { (1.0 - sse / sst).clamp(0.0, 1.0) } else { f64::NAN },
        r2_mean,
        sse,
        f,
        p: f_test_p_value(sse, sst, n),
        ssr,
    }
}

/// Cosine tuning of every column of `rates` against `angles` (radians). See the module docs.
pub fn fit_cosine(rates: ArrayView2<f64>, angles: ArrayView1<f64>, cfg: &CosineConfig) -> Result<CosineFit> {
    if !(cfg.ci > 0.0 && cfg.ci < 1.0) {
        return Err(invalid!("ci must be in (0, 1), got {}", cfg.ci));
    }
    let p = prepare(rates, angles)?;
    let (q, r) = design_qr(&p)?;
    let n_neurons = p.yt.nrows();
    let fits: Vec<PointFit> = (0..n_neurons).into_par_iter().map(|j| point_fit(&p, &q, &r, j)).collect();
    let col = |f: &dyn Fn(&PointFit) -> f64| fits.iter().map(f).collect::<Vec<f64>>();
    let sse = col(&|f| f.sse);
    let ics: Vec<(f64, f64)> = fits
        .iter()
        .zip(&p.constant)
        .map(|(f, &c)| if c { (f64::NAN, f64::NAN) } else { gaussian_ic(f.sse, p.n, 4) })
        .collect();
    let bootstrap = if cfg.n_boot > 0 { Some(bootstrap(&p, &fits, cfg)) } else { None };
    let perm_p_value = if cfg.n_perm > 0 { Some(permutation(&p, &q, &fits, cfg)) } else { None };
    Ok(CosineFit {
        n_trials: p.n,
        baseline: col(&|f| f.b[0]),
        b1: col(&|f| f.b[1]),
        b2: col(&|f| f.b[2]),
        preferred_direction: col(&|f| f.pd),
        modulation_depth: col(&|f| f.depth),
        r2: col(&|f| f.r2),
        r2_mean: col(&|f| f.r2_mean),
        sse,
        f_statistic: col(&|f| f.f),
        p_value: col(&|f| f.p),
        aic: ics.iter().map(|x| x.0).collect(),
        bic: ics.iter().map(|x| x.1).collect(),
        bootstrap,
        perm_p_value,
    })
}

/// Inverse of the symmetric 3 x 3 matrix `g` by Cholesky, or None when (numerically) singular.
fn inv3_spd(g: &[[f64; 3]; 3], scale: f64) -> Option<[[f64; 3]; 3]> {
    let tol = 1e-12 * scale;
    let mut l = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..=i {
            let mut s = g[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if !(s > tol) {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    // Columns of the inverse: solve L L' x = e_c.
    let mut inv = [[0.0; 3]; 3];
    for c in 0..3 {
        let mut z = [0.0; 3];
        for i in 0..3 {
            let mut s = if i == c { 1.0 } else { 0.0 };
            for k in 0..i {
                s -= l[i][k] * z[k];
            }
            z[i] = s / l[i][i];
        }
        let mut x = [0.0; 3];
        for i in (0..3).rev() {
            let mut s = z[i];
            for k in i + 1..3 {
                s -= l[k][i] * x[k];
            }
            x[i] = s / l[i][i];
        }
        for i in 0..3 {
            inv[i][c] = x[i];
        }
    }
    Some(inv)
}

/// Per neuron, the trials whose rate differs from the neuron's most frequent value: a resample
/// that draws none of them holds only that value (a sparse unit's resample without any of its
/// spikes: constant, with no preferred direction). Checking a resample stops at the first such
/// trial it drew, so a dense unit costs a step or two.
fn trials_off_mode(yt: &Array2<f64>) -> Vec<Vec<u32>> {
    (0..yt.nrows())
        .into_par_iter()
        .map(|j| {
            let row = yt.row(j);
            let mut sorted = row.to_vec();
            sorted.sort_by(f64::total_cmp);
            let (mut mode, mut best, mut run) = (sorted[0], 0usize, 0usize);
            for (i, &v) in sorted.iter().enumerate() {
                run = if i > 0 && v == sorted[i - 1] { run + 1 } else { 1 };
                if run > best {
                    (mode, best) = (v, run);
                }
            }
            (0..row.len()).filter(|&t| row[t] != mode).map(|t| t as u32).collect()
        })
        .collect()
}

fn bootstrap(p: &Prepared, fits: &[PointFit], cfg: &CosineConfig) -> BootstrapIntervals {
    let (n, n_neurons, n_boot) = (p.n, p.yt.nrows(), cfg.n_boot);
    let starts: Vec<usize> = (0..n_boot).step_by(CHUNK).collect();
    let off_mode = trials_off_mode(&p.yt);
    // Per chunk: (valid flags, deviations and depths, row-major (resample, neuron)).
    let chunks: Vec<(Vec<bool>, Vec<f64>, Vec<f64>)> = starts
        .par_iter()
        .map(|&start| {
            let k = CHUNK.min(n_boot - start);
            let mut a = Array2::<f64>::zeros((3 * k, n));
            let mut inverses = Vec::with_capacity(k);
            let mut drawn = vec![0u32; k * n]; // each resample's counts, kept for the constancy check
            for i in 0..k {
                let mut rng = keyed(b"msrnntun", cfg.seed, TAG_BOOT, (start + i) as u64);
                let counts = &mut drawn[i * n..(i + 1) * n];
                for _ in 0..n {
                    counts[rng.random_range(0..n)] += 1;
                }
                let mut g = [[0.0; 3]; 3];
                for t in 0..n {
                    if counts[t] == 0 {
                        continue;
                    }
                    let c = counts[t] as f64;
                    let x = [1.0, p.cos[t], p.sin[t]];
                    for u in 0..3 {
                        a[[3 * i + u, t]] = c * x[u];
                        for v in 0..=u {
                            g[u][v] += c * x[u] * x[v];
                        }
                    }
                }
                for u in 0..3 {
                    for v in u + 1..3 {
                        g[u][v] = g[v][u];
                    }
                }
                inverses.push(inv3_spd(&g, n as f64));
            }
            let m = a.dot(&p.yt.t()); // (3k, n_neurons)
            let mut dev = vec![f64::NAN; k * n_neurons];
            let mut depth = vec![f64::NAN; k * n_neurons];
            for (i, inv) in inverses.iter().enumerate() {
                let Some(inv) = inv else { continue };
                for j in 0..n_neurons {
                    if p.constant[j] {
                        continue;
                    }
                    let counts = &drawn[i * n..(i + 1) * n];
                    if off_mode[j].iter().all(|&t| counts[t as usize] == 0) {
                        depth[i * n_neurons + j] = 0.0; // no modulation, and no preferred direction (NaN)
                        continue;
                    }
                    let rhs = [m[[3 * i, j]], m[[3 * i + 1, j]], m[[3 * i + 2, j]]];
                    let b1 = inv[1][0] * rhs[0] + inv[1][1] * rhs[1] + inv[1][2] * rhs[2];
                    let b2 = inv[2][0] * rhs[0] + inv[2][1] * rhs[1] + inv[2][2] * rhs[2];
                    dev[i * n_neurons + j] = wrap_pi(b2.atan2(b1) - fits[j].pd);
                    depth[i * n_neurons + j] = b1.hypot(b2);
                }
            }
            (inverses.iter().map(|x| x.is_some()).collect(), dev, depth)
        })
        .collect();
    let n_valid = chunks.iter().map(|c| c.0.iter().filter(|&&v| v).count()).sum();
    let lo_q = (1.0 - cfg.ci) / 2.0;
    let hi_q = 1.0 - lo_q;
    let intervals: Vec<[f64; 4]> = (0..n_neurons)
        .into_par_iter()
        .map(|j| {
            if p.constant[j] || !fits[j].pd.is_finite() {
                return [f64::NAN; 4];
            }
            let mut dev = Vec::with_capacity(n_boot);
            let mut depth = Vec::with_capacity(n_boot);
            for (valid, d, m) in &chunks {
                for (i, &ok) in valid.iter().enumerate() {
                    if ok {
                        if !d[i * n_neurons + j].is_nan() {
                            dev.push(d[i * n_neurons + j]);
                        }
                        depth.push(m[i * n_neurons + j]);
                    }
                }
            }
            dev.sort_by(f64::total_cmp);
            depth.sort_by(f64::total_cmp);
            let pd = fits[j].pd;
            [
                pd + quantile_sorted(&dev, lo_q),
                pd + quantile_sorted(&dev, hi_q),
                quantile_sorted(&depth, lo_q),
                quantile_sorted(&depth, hi_q),
            ]
        })
        .collect();
    BootstrapIntervals {
        pd_ci: Array2::from_shape_fn((n_neurons, 2), |(j, c)| intervals[j][c]),
        depth_ci: Array2::from_shape_fn((n_neurons, 2), |(j, c)| intervals[j][2 + c]),
        n_valid,
    }
}

fn permutation(p: &Prepared, q: &Array2<f64>, fits: &[PointFit], cfg: &CosineConfig) -> Vec<f64> {
    let (n, n_neurons, n_perm) = (p.n, p.yt.nrows(), cfg.n_perm);
    let starts: Vec<usize> = (0..n_perm).step_by(CHUNK).collect();
    let counts: Vec<Vec<u32>> = starts
        .par_iter()
        .map(|&start| {
            let k = CHUNK.min(n_perm - start);
            let mut a = Array2::<f64>::zeros((2 * k, n));
            let mut order: Vec<usize> = (0..n).collect();
            for i in 0..k {
                let mut rng = keyed(b"msrnntun", cfg.seed, TAG_PERM, (start + i) as u64);
                order.iter_mut().enumerate().for_each(|(t, o)| *o = t);
                order.shuffle(&mut rng);
                // Trial t gets the direction of trial order[t]: its rows of Q move with it.
                for t in 0..n {
                    a[[2 * i, t]] = q[[1, order[t]]];
                    a[[2 * i + 1, t]] = q[[2, order[t]]];
                }
            }
            let m = a.dot(&p.yt.t());
            let mut c = vec![0u32; n_neurons];
            for i in 0..k {
                for j in 0..n_neurons {
                    let ssr = m[[2 * i, j]].powi(2) + m[[2 * i + 1, j]].powi(2);
                    if ssr >= fits[j].ssr * (1.0 - 1e-10) {
                        c[j] += 1;
                    }
                }
            }
            c
        })
        .collect();
    (0..n_neurons)
        .map(|j| {
            if p.constant[j] {
                return f64::NAN;
            }
            let hits: u64 = counts.iter().map(|c| c[j] as u64).sum();
            (1.0 + hits as f64) / (1.0 + n_perm as f64)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Von Mises
// ---------------------------------------------------------------------------------------------

/// `phi1(u) = (e^u - 1) / u` and its derivative, accurate near `u = 0`.
fn phi1(u: f64) -> (f64, f64) {
    if u.abs() < 1e-2 {
        let v = 1.0 + u / 2.0 + u * u / 6.0 + u.powi(3) / 24.0 + u.powi(4) / 120.0 + u.powi(5) / 720.0;
        let d = 0.5 + u / 3.0 + u * u / 8.0 + u.powi(3) / 30.0 + u.powi(4) / 144.0 + u.powi(5) / 840.0;
        (v, d)
    } else {
        let e = u.exp();
        (u.exp_m1() / u, (e * (u - 1.0) + 1.0) / (u * u))
    }
}

/// Von Mises shape `g(x) = (exp(kappa (cos x - 1)) - 1) / kappa` (`cos x - 1` at `kappa = 0`), with
/// `dg/dkappa` and `dg/dx`.
fn vm_shape(x: f64, kappa: f64) -> (f64, f64, f64) {
    let c1 = x.cos() - 1.0;
    let u = kappa * c1;
    let (ph, dph) = phi1(u);
    let e = u.exp();
    (c1 * ph, c1 * c1 * dph, -e * x.sin())
}

/// Weighted SSE of the direction means against `peak + gain g(theta - mu; kappa)`.
fn vm_sse(th: &[f64], w: &[f64], y: &[f64], prm: &[f64; 4]) -> f64 {
    th.iter()
        .zip(w)
        .zip(y)
        .map(|((&t, &wg), &yg)| {
            let (g, _, _) = vm_shape(t - prm[3], prm[2]);
            let e = yg - prm[0] - prm[1] * g;
            wg * e * e
        })
        .sum()
}

/// Solves the 4 x 4 SPD system by Cholesky; None if not positive definite.
fn solve4(a: &[[f64; 4]; 4], b: &[f64; 4]) -> Option<[f64; 4]> {
    let mut l = [[0.0; 4]; 4];
    for i in 0..4 {
        for j in 0..=i {
            let mut s = a[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if !(s > 0.0) || !s.is_finite() {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut z = [0.0; 4];
    for i in 0..4 {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i][k] * z[k];
        }
        z[i] = s / l[i][i];
    }
    let mut x = [0.0; 4];
    for i in (0..4).rev() {
        let mut s = z[i];
        for k in i + 1..4 {
            s -= l[k][i] * x[k];
        }
        x[i] = s / l[i][i];
    }
    Some(x)
}

struct VmNeuron {
    prm: [f64; 4],
    sse_between: f64,
    converged: bool,
    n_iter: usize,
}

/// Fits one neuron's direction means `y` (weights `w` = trials per direction, angles `th`), on
/// `y` divided by its largest magnitude: the Jacobian's baseline and gain columns do not scale
/// with `y` while its kappa and direction columns do, so on unscaled values far from 1 (1e-20 or
/// 1e20) the damping floor of one pair stalled the other's steps. The fit's results are scaled
/// back (baseline and gain by the scale, the SSE by its square).
fn vm_fit_one(th: &[f64], w: &[f64], y: &[f64], cfg: &VonMisesConfig) -> VmNeuron {
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if !(scale > 0.0) || !scale.is_finite() {
        return vm_fit_scaled(th, w, y, cfg);
    }
    let scaled: Vec<f64> = y.iter().map(|v| v / scale).collect();
    let mut fit = vm_fit_scaled(th, w, &scaled, cfg);
    fit.prm[0] *= scale;
    fit.prm[1] *= scale;
    fit.sse_between *= scale * scale;
    fit
}

/// [`vm_fit_one`] on values of order 1.
fn vm_fit_scaled(th: &[f64], w: &[f64], y: &[f64], cfg: &VonMisesConfig) -> VmNeuron {
    let total: f64 = w.iter().sum();
    let ybar = th.iter().zip(w).zip(y).map(|((_, &wg), &yg)| wg * yg).sum::<f64>() / total;
    // Cosine fit on the means (weighted), for a start.
    let mut g3 = [[0.0; 3]; 3];
    let mut r3 = [0.0; 3];
    for ((&t, &wg), &yg) in th.iter().zip(w).zip(y) {
        let x = [1.0, t.cos(), t.sin()];
        for u in 0..3 {
            r3[u] += wg * x[u] * yg;
            for v in 0..3 {
                g3[u][v] += wg * x[u] * x[v];
            }
        }
    }
    let mut mus = Vec::with_capacity(2);
    if let Some(inv) = inv3_spd(&g3, total) {
        let b1: f64 = (0..3).map(|v| inv[1][v] * r3[v]).sum();
        let b2: f64 = (0..3).map(|v| inv[2][v] * r3[v]).sum();
        if b1.hypot(b2) > 0.0 {
            mus.push(wrap_2pi(b2.atan2(b1)));
        }
    }
    let imax = (0..y.len()).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap_or(0);
    mus.push(th[imax]);
    // Grid of starts: for fixed (mu, kappa) the model is linear in (peak, gain).
    let mut best = ([ybar, 0.0, 0.0, mus[0]], f64::INFINITY);
    for &mu in &mus {
        for kappa in [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0] {
            let kappa = f64::min(kappa, cfg.kappa_max);
            let gs: Vec<f64> = th.iter().map(|&t| vm_shape(t - mu, kappa).0).collect();
            let gbar = gs.iter().zip(w).map(|(g, wg)| g * wg).sum::<f64>() / total;
            let (mut sgg, mut sgy) = (0.0, 0.0);
            for ((g, &wg), &yg) in gs.iter().zip(w).zip(y) {
                sgg += wg * (g - gbar) * (g - gbar);
                sgy += wg * (g - gbar) * (yg - ybar);
            }
            let gain = if sgg > 0.0 { (sgy / sgg).max(0.0) } else { 0.0 };
            let prm = [ybar - gain * gbar, gain, kappa, mu];
            let sse = vm_sse(th, w, y, &prm);
            if sse < best.1 {
                best = (prm, sse);
            }
        }
    }
    let (mut prm, mut sse) = best;
    let mut lambda = 1e-3;
    let mut converged = false;
    let mut it = 0;
    while it < cfg.max_iter {
        it += 1;
        let mut jtj = [[0.0; 4]; 4];
        let mut jtr = [0.0; 4];
        for ((&t, &wg), &yg) in th.iter().zip(w).zip(y) {
            let (g, dk, dx) = vm_shape(t - prm[3], prm[2]);
            let jac = [1.0, g, prm[1] * dk, -prm[1] * dx];
            let res = yg - prm[0] - prm[1] * g;
            for u in 0..4 {
                jtr[u] += wg * jac[u] * res;
                for v in 0..=u {
                    jtj[u][v] += wg * jac[u] * jac[v];
                }
            }
        }
        for u in 0..4 {
            for v in u + 1..4 {
                jtj[u][v] = jtj[v][u];
            }
        }
        let dmax = (0..4).map(|u| jtj[u][u]).fold(0.0, f64::max);
        let mut improved = false;
        while lambda <= 1e12 {
            let mut a = jtj;
            for u in 0..4 {
                a[u][u] += lambda * jtj[u][u].max(1e-12 * dmax).max(1e-300);
            }
            if let Some(step) = solve4(&a, &jtr) {
                let cand = [
                    prm[0] + step[0],
                    (prm[1] + step[1]).max(0.0),
                    (prm[2] + step[2]).clamp(0.0, cfg.kappa_max),
                    wrap_2pi(prm[3] + step[3]),
                ];
                let cand_sse = vm_sse(th, w, y, &cand);
                if cand_sse.is_finite() && cand_sse < sse {
                    let decrease = sse - cand_sse;
                    prm = cand;
                    sse = cand_sse;
                    lambda = (lambda / 10.0).max(1e-12);
                    improved = true;
                    if decrease <= cfg.tol * sse.max(1e-300) {
                        converged = true;
                    }
                    break;
                }
            }
            lambda *= 10.0;
        }
        if !improved {
            // No step along the damped directions decreases the SSE: a (bounded) minimum.
            converged = true;
        }
        if converged {
            break;
        }
    }
    VmNeuron { prm, sse_between: sse, converged, n_iter: it }
}

/// Von Mises tuning of every column of `rates` against `angles` (radians). See the module docs.
pub fn fit_von_mises(rates: ArrayView2<f64>, angles: ArrayView1<f64>, cfg: &VonMisesConfig) -> Result<VonMisesFit> {
    if !(cfg.kappa_max > 0.0) || !cfg.kappa_max.is_finite() {
        return Err(invalid!("kappa_max must be a positive finite number, got {}", cfg.kappa_max));
    }
    if !(cfg.tol >= 0.0) {
        return Err(invalid!("tol must be >= 0, got {}", cfg.tol));
    }
    let p = prepare(rates, angles)?;
    let n_groups = p.group_angle.len();
    if n_groups < 4 {
        return Err(invalid!(
            "the von Mises model has 4 parameters (peak, gain, kappa, mu) and needs at least 4 \
             distinct directions, got {n_groups}"
        ));
    }
    let n = p.n;
    let res: Vec<(VmNeuron, f64, f64)> = (0..p.yt.nrows())
        .into_par_iter()
        .map(|j| {
            if p.constant[j] {
                let v = VmNeuron { prm: [p.mean[j], 0.0, 0.0, f64::NAN], sse_between: 0.0, converged: true, n_iter: 0 };
                return (v, 0.0, 0.0);
            }
            let y = p.yt.row(j);
            let mut sum = vec![0.0; n_groups];
            for t in 0..n {
                sum[p.group[t]] += y[t];
            }
            let means: Vec<f64> = sum.iter().zip(&p.group_count).map(|(s, c)| s / c).collect();
            let mut within = 0.0;
            let mut sst = 0.0;
            for t in 0..n {
                let e = y[t] - means[p.group[t]];
                within += e * e;
                sst += y[t] * y[t];
            }
            let mut v = vm_fit_one(&p.group_angle, &p.group_count, &means, cfg);
            v.prm[0] += p.mean[j];
            (v, within, sst)
        })
        .collect();
    let mut out = VonMisesFit {
        n_trials: n,
        peak: Vec::new(),
        gain: Vec::new(),
        kappa: Vec::new(),
        preferred_direction: Vec::new(),
        r2: Vec::new(),
        sse: Vec::new(),
        aic: Vec::new(),
        bic: Vec::new(),
        converged: Vec::new(),
        n_iter: Vec::new(),
    };
    for (j, (v, within, sst)) in res.into_iter().enumerate() {
        let sse = within + v.sse_between;
        out.peak.push(v.prm[0]);
        out.gain.push(v.prm[1]);
        out.kappa.push(v.prm[2]);
        let constant = p.constant[j];
        out.preferred_direction.push(if constant || v.prm[1] == 0.0 { f64::NAN } else { v.prm[3] });
        out.r2.push(if sst > 0.0 { (1.0 - sse / sst).clamp(0.0, 1.0) } else { f64::NAN });
        out.sse.push(sse);
        let (aic, bic) = if constant { (f64::NAN, f64::NAN) } else { gaussian_ic(sse, n, 5) };
        out.aic.push(aic);
        out.bic.push(bic);
        out.converged.push(v.converged);
        out.n_iter.push(v.n_iter);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    /// `n` trials in `k` directions, `m` neurons with known cosine tuning plus Gaussian noise.
    fn synthetic(n: usize, k: usize, pds: &[f64], depth: f64, sd: f64, seed: u64) -> (Array2<f64>, Array1<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise = Normal::new(0.0, sd).unwrap();
        let angles = Array1::from_shape_fn(n, |t| TWO_PI * (t % k) as f64 / k as f64);
        let rates = Array2::from_shape_fn((n, pds.len()), |(t, j)| {
            10.0 + depth * (angles[t] - pds[j]).cos() + noise.sample(&mut rng)
        });
        (rates, angles)
    }

    fn circ_err(a: f64, b: f64) -> f64 {
        wrap_pi(a - b).abs()
    }

    #[test]
    fn recovers_cosine_tuning() {
        let pds: Vec<f64> = (0..50).map(|j| j as f64 * 0.125).collect();
        let (rates, angles) = synthetic(400, 8, &pds, 5.0, 2.0, 1);
        let fit = fit_cosine(rates.view(), angles.view(), &CosineConfig::default()).unwrap();
        for j in 0..pds.len() {
            // sd of b1, b2 ~ 2 / sqrt(200) = 0.14 -> PD error ~ 0.03 rad
            assert!(circ_err(fit.preferred_direction[j], pds[j]) < 0.15, "neuron {j}");
            assert!((fit.modulation_depth[j] - 5.0).abs() < 0.6);
            assert!((fit.baseline[j] - 10.0).abs() < 0.5);
            assert!(fit.p_value[j] < 1e-10);
            assert!(fit.preferred_direction[j] >= 0.0 && fit.preferred_direction[j] < TWO_PI);
        }
    }

    #[test]
    fn agrees_with_direct_normal_equations() {
        let pds = [0.3, 2.0, 4.0];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // Irregular angles and a large offset (tests the centring).
        let angles = Array1::from_shape_fn(57, |_| rng.random_range(0.0..TWO_PI));
        let (mut rates, _) = synthetic(57, 8, &pds, 1.0, 1.0, 2);
        rates.mapv_inplace(|v| v + 1e4);
        let fit = fit_cosine(rates.view(), angles.view(), &CosineConfig::default()).unwrap();
        let mut g = [[0.0; 3]; 3];
        for &a in angles.iter() {
            let x = [1.0, a.cos(), a.sin()];
            for u in 0..3 {
                for v in 0..3 {
                    g[u][v] += x[u] * x[v];
                }
            }
        }
        let inv = inv3_spd(&g, 57.0).unwrap();
        for j in 0..pds.len() {
            let mut rhs = [0.0; 3];
            for (t, &a) in angles.iter().enumerate() {
                let x = [1.0, a.cos(), a.sin()];
                for u in 0..3 {
                    rhs[u] += x[u] * rates[[t, j]];
                }
            }
            let b: Vec<f64> = (0..3).map(|u| (0..3).map(|v| inv[u][v] * rhs[v]).sum()).collect();
            assert!((fit.baseline[j] - b[0]).abs() < 1e-7 * 1e4);
            assert!((fit.b1[j] - b[1]).abs() < 1e-7);
            assert!((fit.b2[j] - b[2]).abs() < 1e-7);
            let mean = rates.column(j).mean().unwrap();
            let (mut sse, mut sst) = (0.0, 0.0);
            for (t, &a) in angles.iter().enumerate() {
                let e = rates[[t, j]] - b[0] - b[1] * a.cos() - b[2] * a.sin();
                sse += e * e;
                sst += (rates[[t, j]] - mean).powi(2);
            }
            assert!((fit.r2[j] - (1.0 - sse / sst)).abs() < 1e-8);
            assert!((fit.sse[j] - sse).abs() < 1e-6 * sse);
        }
    }

    #[test]
    fn f_test_p_value_matches_reference() {
        // scipy.stats.f.sf(3.0, 2, 10) = 1.6 ** -5 = 0.095367431640625
        let (sse, sst, n) = (1.0, 1.6, 13usize); // F = (0.6 / 2) / (1 / 10) = 3
        assert!((f_test_p_value(sse, sst, n) - 0.095367431640625).abs() < 1e-14);
        assert!(f_test_p_value(1.0, 2.0, 3).is_nan());
        assert_eq!(f_test_p_value(0.0, 2.0, 10), 0.0);
        assert!((f_test_p_value(2.0, 2.0, 50) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn p_values_of_untuned_neurons_are_roughly_uniform() {
        let pds = vec![0.0; 400];
        let (rates, angles) = synthetic(100, 4, &pds, 0.0, 1.0, 3);
        let cfg = CosineConfig { n_perm: 199, seed: 7, ..Default::default() };
        let fit = fit_cosine(rates.view(), angles.view(), &cfg).unwrap();
        let frac = |v: &[f64]| v.iter().filter(|&&p| p < 0.05).count() as f64 / v.len() as f64;
        // Binomial(400, 0.05): sd 0.011.
        assert!((frac(&fit.p_value) - 0.05).abs() < 0.04, "{}", frac(&fit.p_value));
        let perm = fit.perm_p_value.as_ref().unwrap();
        assert!((frac(perm) - 0.05).abs() < 0.04, "{}", frac(perm));
        assert!(perm.iter().all(|&p| p > 0.0 && p <= 1.0));
        // Both tests agree closely on the same data.
        let mad: f64 = perm.iter().zip(&fit.p_value).map(|(a, b)| (a - b).abs()).sum::<f64>() / 400.0;
        assert!(mad < 0.05, "{mad}");
    }

    #[test]
    fn degenerate_input_is_an_error_or_nan_never_a_panic() {
        let cfg = CosineConfig { n_boot: 20, n_perm: 20, ..Default::default() };
        // One direction.
        let rates = Array2::from_shape_fn((10, 2), |(t, j)| (t + j) as f64);
        let one = Array1::from_elem(10, 1.0);
        let e = fit_cosine(rates.view(), one.view(), &cfg).unwrap_err();
        assert!(e.to_string().contains("1 distinct"), "{e}");
        // Two directions (opposite).
        let two = Array1::from_shape_fn(10, |t| if t % 2 == 0 { 0.0 } else { PI });
        assert!(fit_cosine(rates.view(), two.view(), &cfg).is_err());
        // Fewer trials than parameters.
        let r2 = Array2::from_shape_fn((2, 1), |(t, _)| t as f64);
        let a2 = Array1::from_vec(vec![0.0, 1.0]);
        assert!(fit_cosine(r2.view(), a2.view(), &cfg).unwrap_err().to_string().contains("at least 3 trials"));
        // Exactly 3 trials: exact fit, no test.
        let r3 = Array2::from_shape_fn((3, 1), |(t, _)| (t * t) as f64);
        let a3 = Array1::from_vec(vec![0.0, 2.0, 4.0]);
        let f3 = fit_cosine(r3.view(), a3.view(), &CosineConfig::default()).unwrap();
        assert!(f3.p_value[0].is_nan() && f3.f_statistic[0].is_nan());
        assert!((f3.r2[0] - 1.0).abs() < 1e-12);
        // NaN anywhere.
        let mut rn = rates.clone();
        rn[[3, 1]] = f64::NAN;
        let dirs = Array1::from_shape_fn(10, |t| t as f64);
        assert!(fit_cosine(rn.view(), dirs.view(), &cfg).unwrap_err().to_string().contains("trial 3, neuron 1"));
        let mut an = dirs.clone();
        an[4] = f64::INFINITY;
        assert!(fit_cosine(rates.view(), an.view(), &cfg).is_err());
        // Mismatched lengths, bad ci.
        assert!(fit_cosine(rates.view(), a3.view(), &cfg).is_err());
        assert!(fit_cosine(rates.view(), dirs.view(), &CosineConfig { ci: 1.0, ..cfg.clone() }).is_err());
        // Zero-variance neuron next to a tuned one.
        let mut rz = rates.clone();
        rz.column_mut(0).fill(3.5);
        let f = fit_cosine(rz.view(), dirs.view(), &cfg).unwrap();
        assert_eq!(f.baseline[0], 3.5);
        assert_eq!(f.modulation_depth[0], 0.0);
        assert!(f.preferred_direction[0].is_nan() && f.r2[0].is_nan() && f.p_value[0].is_nan());
        assert!(f.perm_p_value.as_ref().unwrap()[0].is_nan());
        assert!(f.bootstrap.as_ref().unwrap().pd_ci[[0, 0]].is_nan());
        assert!(f.r2[1].is_finite());
        // Von Mises: too few directions, and a zero-variance neuron.
        let four = Array1::from_shape_fn(10, |t| (t % 3) as f64);
        assert!(fit_von_mises(rates.view(), four.view(), &VonMisesConfig::default()).is_err());
        let v = fit_von_mises(rz.view(), dirs.view(), &VonMisesConfig::default()).unwrap();
        assert_eq!(v.peak[0], 3.5);
        assert!(v.preferred_direction[0].is_nan());
    }

    #[test]
    fn bootstrap_and_permutations_do_not_depend_on_threads() {
        let pds: Vec<f64> = (0..40).map(|j| j as f64 * 0.3).collect();
        let (rates, angles) = synthetic(120, 8, &pds, 1.0, 2.0, 4);
        let cfg = CosineConfig { n_boot: 100, n_perm: 70, seed: 11, ..Default::default() };
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| fit_cosine(rates.view(), angles.view(), &cfg).unwrap())
        };
        let (a, b) = (run(1), run(3));
        assert_eq!(a, b);
        let bs = a.bootstrap.as_ref().unwrap();
        assert_eq!(bs.n_valid, 100);
        for j in 0..pds.len() {
            let pd = a.preferred_direction[j];
            assert!(bs.pd_ci[[j, 0]] <= pd && pd <= bs.pd_ci[[j, 1]]);
            assert!(bs.pd_ci[[j, 1]] - bs.pd_ci[[j, 0]] <= TWO_PI);
            assert!(bs.depth_ci[[j, 0]] <= bs.depth_ci[[j, 1]]);
        }
        // Another seed gives other intervals.
        let c = fit_cosine(rates.view(), angles.view(), &CosineConfig { seed: 12, ..cfg.clone() }).unwrap();
        assert_ne!(c.bootstrap, a.bootstrap);
    }

    #[test]
    fn rates_equal_up_to_rounding_are_constant_and_large_offsets_still_fit() {
        // 0.3 and 0.1 * 3 differ in the last bit: rounding, not tuning. Before, the one-pass
        // centring left eps |mean| in every residual, counted as explained: r2 0.997, p 1e-115.
        let k = 8;
        let n = 96;
        let angles = Array1::from_shape_fn(n, |t| TWO_PI * (t % k) as f64 / k as f64);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let bit = 0.1 * 3.0;
        assert_ne!(bit, 0.3);
        let rates = Array2::from_shape_fn((n, 2), |(_, j)| {
            let coin = rng.random::<f64>() < 0.5;
            let v = if coin { 0.3 } else { bit };
            if j == 0 {
                v
            } else {
                1e6 + 0.1 + if coin { 0.0 } else { 1e-10 }
            }
        });
        let f = fit_cosine(rates.view(), angles.view(), &CosineConfig { n_perm: 19, ..Default::default() }).unwrap();
        for j in 0..2 {
            assert!(f.r2[j].is_nan() && f.p_value[j].is_nan() && f.preferred_direction[j].is_nan(), "neuron {j}");
            assert_eq!(f.modulation_depth[j], 0.0);
            assert!((f.baseline[j] - rates.column(j).mean().unwrap()).abs() <= 1e-12 * f.baseline[j].abs());
        }
        let v = fit_von_mises(rates.view(), angles.view(), &VonMisesConfig::default()).unwrap();
        assert!(v.r2[0].is_nan() && v.preferred_direction[0].is_nan());
        // A tuned neuron on a large offset (1e-7 relative modulation) is not constant, and its R^2
        // is that of the same neuron without the offset.
        let tuned = Array2::from_shape_fn((n, 1), |(t, _)| (angles[t] - 1.0).cos() + 0.5 * ((t * 7 % 5) as f64 - 2.0));
        let offset = &tuned + 1e7;
        let a = fit_cosine(tuned.view(), angles.view(), &CosineConfig::default()).unwrap();
        let b = fit_cosine(offset.view(), angles.view(), &CosineConfig::default()).unwrap();
        assert!(a.r2[0] > 0.3 && (a.r2[0] - b.r2[0]).abs() < 1e-6, "{} vs {}", a.r2[0], b.r2[0]);
        assert!((a.preferred_direction[0] - b.preferred_direction[0]).abs() < 1e-6);
        let va = fit_von_mises(tuned.view(), angles.view(), &VonMisesConfig::default()).unwrap();
        let vb = fit_von_mises(offset.view(), angles.view(), &VonMisesConfig::default()).unwrap();
        assert!((va.r2[0] - vb.r2[0]).abs() < 1e-6, "{} vs {}", va.r2[0], vb.r2[0]);
    }

    #[test]
    fn von_mises_recovers_kappa_and_beats_cosine_on_von_mises_data() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let noise = Normal::new(0.0, 0.5).unwrap();
        let k = 16;
        let n = 480;
        let angles = Array1::from_shape_fn(n, |t| TWO_PI * (t % k) as f64 / k as f64);
        let kappas = [0.5, 1.0, 2.0, 4.0, 8.0];
        let rates = Array2::from_shape_fn((n, kappas.len()), |(t, j)| {
            5.0 + 10.0 * (kappas[j] * ((angles[t] - 1.0 - j as f64).cos() - 1.0)).exp() + noise.sample(&mut rng)
        });
        let vm = fit_von_mises(rates.view(), angles.view(), &VonMisesConfig::default()).unwrap();
        let cos = fit_cosine(rates.view(), angles.view(), &CosineConfig::default()).unwrap();
        for j in 0..kappas.len() {
            assert!(vm.converged[j]);
            assert!((vm.kappa[j] / kappas[j] - 1.0).abs() < 0.15, "kappa {} vs {}", vm.kappa[j], kappas[j]);
            assert!(circ_err(vm.preferred_direction[j], wrap_2pi(1.0 + j as f64)) < 0.05);
            assert!((vm.peak[j] - 15.0).abs() < 0.3);
            assert!(vm.sse[j] <= cos.sse[j] + 1e-9);
            if kappas[j] >= 1.0 {
                assert!(vm.aic[j] < cos.aic[j] && vm.bic[j] < cos.bic[j]);
            }
        }
    }

    #[test]
    fn von_mises_on_cosine_data_stays_near_kappa_zero() {
        let pds = [0.5, 3.0];
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let angles = Array1::from_shape_fn(400, |_| rng.random_range(0.0..TWO_PI));
        let noise = Normal::new(0.0, 1.0).unwrap();
        let rates =
            Array2::from_shape_fn((400, 2), |(t, j)| 10.0 + 4.0 * (angles[t] - pds[j]).cos() + noise.sample(&mut rng));
        let vm = fit_von_mises(rates.view(), angles.view(), &VonMisesConfig::default()).unwrap();
        let cos = fit_cosine(rates.view(), angles.view(), &CosineConfig::default()).unwrap();
        for j in 0..2 {
            assert!(vm.kappa[j] < 0.3, "{}", vm.kappa[j]);
            assert!(vm.sse[j] <= cos.sse[j] * (1.0 + 1e-12));
            assert!(cos.bic[j] < vm.bic[j]);
        }
    }

    #[test]
    fn phi1_series_matches_closed_form() {
        for u in [-0.0099f64, -1e-3, 1e-5, 0.0099] {
            let e = u.exp();
            let (v, d) = phi1(u);
            assert!((v - u.exp_m1() / u).abs() < 1e-14);
            if u.abs() > 1e-3 {
                assert!((d - (e * (u - 1.0) + 1.0) / (u * u)).abs() < 1e-8);
            }
        }
        assert_eq!(phi1(0.0), (1.0, 0.5));
    }
}
