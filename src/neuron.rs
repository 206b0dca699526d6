//! Leaky integrate-and-fire neurons: decay factors, reset kinds and surrogate gradients.
//!
//! The forward pass uses the Heaviside step `H(v)` (with `H(0) = 0`) of `v = U - theta`; the backward
//! pass replaces `dH/dv` by a surrogate `sg(v)`. For the gradient checks a *smooth* mode replaces `H`
//! in the forward pass by the antiderivative `F` of the surrogate (`F' = sg`), so that the surrogate
//! gradient becomes the exact gradient and can be compared with finite differences.

use crate::error::{invalid, Result};
use crate::real::Real;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Shape of the surrogate derivative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurrogateKind {
    /// SuperSpike: `1 / (1 + k|v|)^2`.
    FastSigmoid,
    /// `(k / 2) / (1 + (pi k v / 2)^2)`, the derivative of `arctan(pi k v / 2) / pi + 1/2`
    /// (the form of Fang et al. 2021 and snnTorch's `atan`).
    Arctan,
    /// `max(0, 1 - k|v|)`: compact support, silent units get exactly zero gradient.
    Triangle,
    /// `k sig(k v) (1 - sig(k v))`, the derivative of the logistic function `sig(k v)`.
    Sigmoid,
}

impl SurrogateKind {
    /// The slope used when the user gives none.
    pub fn default_slope(self) -> f64 {
        match self {
            SurrogateKind::FastSigmoid => 25.0,
            SurrogateKind::Arctan => 2.0,
            SurrogateKind::Triangle => 25.0,
            SurrogateKind::Sigmoid => 25.0,
        }
    }
}

/// A surrogate: its kind, its slope `k` and whether the forward pass is smoothed (test-only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Surrogate {
    pub kind: SurrogateKind,
    /// Slope `k > 0`; `None` means [`SurrogateKind::default_slope`].
    #[serde(default)]
    pub slope: Option<f64>,
    /// Test-only: the forward pass emits `F(U - theta)` (antiderivative of the surrogate) instead of
    /// the Heaviside step, so that BPTT gives exact gradients that finite differences can check.
    /// Set only in Rust: a description (JSON) or a model file that sets it is refused
    /// ([`not_smooth`]), since the model is defined with the Heaviside step.
    #[serde(default, deserialize_with = "not_smooth")]
    pub smooth: bool,
}

/// Reads `surrogate.smooth`, refusing `true`: the smooth forward pass exists for the gradient
/// checks (set in Rust), not for networks described in JSON or read from a model file.
fn not_smooth<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    if bool::deserialize(d)? {
        return Err(serde::de::Error::custom(
            "surrogate.smooth = true is a test-only forward pass (not the Heaviside spike of the model) \
             and cannot be set in a network description or read from a model file",
        ));
    }
    Ok(false)
}

impl Default for Surrogate {
    fn default() -> Self {
        Surrogate { kind: SurrogateKind::FastSigmoid, slope: None, smooth: false }
    }
}

impl Surrogate {
    /// Checks the slope.
    pub fn validate(&self) -> Result<()> {
        let k = self.k();
        if !(k.is_finite() && k > 0.0) {
            return Err(invalid!("surrogate_slope must be a finite positive number, got {k}"));
        }
        Ok(())
    }

    /// The slope in force.
    pub fn k(&self) -> f64 {
        self.slope.unwrap_or_else(|| self.kind.default_slope())
    }

    /// A version with its constants converted once for the hot loops.
    pub fn compile<T: Real>(&self) -> SurrogateFn<T> {
        SurrogateFn { kind: self.kind, k: T::c(self.k()), smooth: self.smooth }
    }
}

/// [`SurrogateKind`]s as constants, for code specialised per kind ([`SurrogateFn::grad_as`]).
pub const FAST_SIGMOID: u8 = 0;
/// See [`FAST_SIGMOID`].
pub const ARCTAN: u8 = 1;
/// See [`FAST_SIGMOID`].
pub const TRIANGLE: u8 = 2;
/// See [`FAST_SIGMOID`].
pub const SIGMOID: u8 = 3;

/// [`Surrogate`] ready for evaluation in type `T`.
#[derive(Debug, Clone, Copy)]
pub struct SurrogateFn<T> {
    pub kind: SurrogateKind,
    pub k: T,
    pub smooth: bool,
}

impl<T: Real> SurrogateFn<T> {
    /// The spike emitted for `v = U - theta`: `H(v)` normally, `F(v)` in smooth mode.
    #[inline(always)]
    pub fn spike(&self, v: T) -> T {
        if self.smooth {
            self.antiderivative(v)
        } else if v > T::zero() {
            T::one()
        } else {
            T::zero()
        }
    }

    /// The surrogate derivative `sg(v)`.
    #[inline(always)]
    pub fn grad(&self, v: T) -> T {
        match self.kind {
            SurrogateKind::FastSigmoid => self.grad_as::<FAST_SIGMOID>(v),
            SurrogateKind::Arctan => self.grad_as::<ARCTAN>(v),
            SurrogateKind::Triangle => self.grad_as::<TRIANGLE>(v),
            SurrogateKind::Sigmoid => self.grad_as::<SIGMOID>(v),
        }
    }

    /// `sg(v)` for the kind `KIND` (one of [`FAST_SIGMOID`], [`ARCTAN`], [`TRIANGLE`], [`SIGMOID`]),
    /// which must be this surrogate's: loops over units specialised per kind have no branch inside
    /// and compile to SIMD code (the backward pass matches on [`SurrogateKind`] to pick `KIND`).
    #[inline(always)]
    pub fn grad_as<const KIND: u8>(&self, v: T) -> T {
        const {
            assert!(
                matches!(KIND, FAST_SIGMOID | ARCTAN | TRIANGLE | SIGMOID),
                "grad_as: a surrogate kind constant without a formula here"
            )
        };
        let k = self.k;
        let one = T::one();
        match KIND {
            FAST_SIGMOID => {
                let d = one + k * v.abs();
                one / (d * d)
            }
            ARCTAN => {
                let z = T::c(PI / 2.0) * k * v;
                (k / T::c(2.0)) / (one + z * z)
            }
            TRIANGLE => (one - k * v.abs()).max(T::zero()),
            SIGMOID => {
                // k s (1 - s) with s = sigmoid(k v), written with e = exp(-k |v|) so that it is
                // symmetric and keeps its relative precision in f32: `1 - s` cancels for v > 0
                let e = (-k * v.abs()).exp();
                let d = one + e;
                k * e / (d * d)
            }
            _ => unreachable!("ruled out at compile time by the assertion above"),
        }
    }

    /// `F(v) = integral of sg from -inf to v` (the smooth test-only forward).
    pub fn antiderivative(&self, v: T) -> T {
        let k = self.k;
        let one = T::one();
        let two = T::c(2.0);
        match self.kind {
            SurrogateKind::FastSigmoid => {
                if v < T::zero() {
                    one / (k * (one - k * v))
                } else {
                    two / k - one / (k * (one + k * v))
                }
            }
            SurrogateKind::Arctan => (T::c(PI / 2.0) * k * v).atan() / T::c(PI) + T::c(0.5),
            SurrogateKind::Triangle => {
                let w = one / k;
                if v <= -w {
                    T::zero()
                } else if v < T::zero() {
                    let z = one + k * v;
                    z * z / (two * k)
                } else if v < w {
                    let z = one - k * v;
                    w - z * z / (two * k)
                } else {
                    w
                }
            }
            SurrogateKind::Sigmoid => one / (one + (-k * v).exp()),
        }
    }
}

/// What happens to the membrane after a spike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Reset {
    /// `U[t] = beta U[t-1] + I[t] - theta s[t-1]` (reset by subtraction).
    #[default]
    Subtract,
    /// `U[t] = beta U[t-1] (1 - s[t-1]) + I[t]` (reset to zero).
    Zero,
}

/// `exp(-dt / tau)`, with `tau = 0` giving 0 (no memory). Rejects negative or non-finite `tau`.
pub fn decay(tau: f64, dt: f64, what: &str) -> Result<f64> {
    if !tau.is_finite() || tau < 0.0 {
        return Err(invalid!("{what} must be a finite number >= 0 (ms), got {tau}"));
    }
    Ok(if tau == 0.0 { 0.0 } else { (-dt / tau).exp() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds() -> [SurrogateKind; 4] {
        [SurrogateKind::FastSigmoid, SurrogateKind::Arctan, SurrogateKind::Triangle, SurrogateKind::Sigmoid]
    }

    #[test]
    fn heaviside_is_zero_at_zero() {
        let f = Surrogate::default().compile::<f64>();
        assert_eq!(f.spike(0.0), 0.0);
        assert_eq!(f.spike(1e-12), 1.0);
        assert_eq!(f.spike(-1e-12), 0.0);
    }

    #[test]
    fn surrogate_values_match_formulas() {
        let k = 25.0;
        let fs = Surrogate { kind: SurrogateKind::FastSigmoid, slope: Some(k), smooth: false }.compile::<f64>();
        assert!((fs.grad(0.1) - 1.0 / (1.0 + 2.5f64).powi(2)).abs() < 1e-15);
        assert_eq!(fs.grad(0.0), 1.0);
        let tri = Surrogate { kind: SurrogateKind::Triangle, slope: Some(2.0), smooth: false }.compile::<f64>();
        assert_eq!(tri.grad(0.25), 0.5);
        assert_eq!(tri.grad(-0.6), 0.0);
        let at = Surrogate { kind: SurrogateKind::Arctan, slope: Some(2.0), smooth: false }.compile::<f64>();
        assert!((at.grad(0.0) - 1.0).abs() < 1e-15);
        let sg = Surrogate { kind: SurrogateKind::Sigmoid, slope: Some(4.0), smooth: false }.compile::<f64>();
        assert!((sg.grad(0.0) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn sigmoid_surrogate_is_symmetric_and_accurate_in_f32() {
        let k = 25.0;
        let f32s = Surrogate { kind: SurrogateKind::Sigmoid, slope: Some(k), smooth: false }.compile::<f32>();
        for &v in &[0.01f64, 0.1, 0.3, 0.5, 0.6, 0.7, 1.5, 3.0] {
            // k s(kv) (1 - s(kv)) = k s(kv) s(-kv), in f64 from the side without cancellation
            let want = k / ((1.0 + (-k * v).exp()) * (1.0 + (k * v).exp()));
            for x in [v, -v] {
                let got = f64::from(f32s.grad(x as f32));
                assert!((got - want).abs() <= 1e-5 * want, "sg({x}) = {got}, expected {want}");
            }
        }
        assert_eq!(f32s.grad(1e3), 0.0);
        assert!(f32s.grad(f32::MAX).is_finite() && f32s.grad(-f32::MAX).is_finite());
    }

    #[test]
    fn antiderivative_derivative_is_the_surrogate() {
        for kind in all_kinds() {
            let f = Surrogate { kind, slope: Some(3.0), smooth: true }.compile::<f64>();
            assert!(f.antiderivative(-50.0).abs() < 0.01, "{kind:?} not ~0 far below threshold");
            for &v in &[-0.9, -0.31, -0.05, 0.02, 0.2, 0.45, 1.3] {
                let h = 1e-6;
                let fd = (f.antiderivative(v + h) - f.antiderivative(v - h)) / (2.0 * h);
                assert!((fd - f.grad(v)).abs() < 1e-7, "{kind:?} at {v}: fd {fd} vs sg {}", f.grad(v));
            }
        }
    }

    #[test]
    fn decay_factors() {
        assert_eq!(decay(0.0, 1.0, "tau_syn").unwrap(), 0.0);
        assert!((decay(20.0, 1.0, "tau_mem").unwrap() - (-0.05f64).exp()).abs() < 1e-15);
        assert!(decay(-1.0, 1.0, "tau_mem").is_err());
        assert!(decay(f64::NAN, 1.0, "tau_mem").is_err());
    }

    #[test]
    fn bad_slope_rejected() {
        let s = Surrogate { kind: SurrogateKind::Sigmoid, slope: Some(0.0), smooth: false };
        assert!(s.validate().is_err());
    }
}
