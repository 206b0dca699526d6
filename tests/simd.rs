//! The SIMD code paths against each other (a separate test binary, because the switches
//! [`motorsrnn::dense::set_simd`] and [`motorsrnn::dense::set_avx512`] are process-wide; the two
//! tests here take turns through a lock).
//!
//! - AVX2 against portable: the element-wise code (forward pass, unit-wise recursion) has no fused
//!   multiply-add, so the simulation must be bit-identical; the products of the backward pass use
//!   FMA where available, so gradients agree to float32 round-off.
//! - AVX-512 against AVX2: the same operations on every element in the same order, so everything,
//!   gradients included, must be bit-identical (a model trained on a CPU with AVX-512 equals one
//!   trained without it, given AVX2).

use motorsrnn::dense::{set_avx512, set_simd};
use motorsrnn::model::{Activity, Model, RateFilter, Targets};
use motorsrnn::neuron::{Reset, Surrogate, SurrogateKind};
use motorsrnn::params::ParamSet;
use motorsrnn::spikes::InputEvents;
use motorsrnn::topology::NetworkSpec;
use ndarray::Array3;
use std::sync::Mutex;

/// Held while a test flips a process-wide switch.
static SWITCHES: Mutex<()> = Mutex::new(());

/// Spike input of `n` trials, 13 channels, and the gradients of `n_hidden`-unit networks with
/// each surrogate and reset, computed with `switch(true)` and `switch(false)`; checks that the
/// simulations and losses are bit-identical and returns the two gradients of each network.
fn gradients_both_ways(
    n: usize,
    steps: usize,
    cases: &[(SurrogateKind, Reset, usize)],
    recorded: Option<(&Array3<f32>, RateFilter<f32>)>,
    switch: fn(bool),
) -> Vec<(SurrogateKind, ParamSet<f32>, ParamSet<f32>)> {
    let x = Array3::from_shape_fn((n, steps, 13), |(i, t, c)| ((i * 31 + t * 7 + c * 3) % 17 == 0) as u8);
    let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
    let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let mut out = Vec::new();
    for &(kind, reset, n_hidden) in cases {
        let mut spec = NetworkSpec::srnn(13, n_hidden, 3);
        spec.surrogate = Surrogate { kind, slope: None, smooth: false };
        spec.populations[0].reset = reset;
        spec.projections[0].init_scale = 3.0;
        spec.projections[1].init_scale = 0.5;
        let model = Model::<f32>::new(spec, 4).unwrap();
        let activity = recorded.as_ref().map(|(data, filter)| Activity {
            population: 0,
            units: vec![3, 0, 9],
            data: data.view(),
            filter: filter.clone(),
            weight: 0.01,
            neuron_weights: vec![1.0; 3],
            noise_correction: true,
        });
        let run = |on: bool| {
            switch(on);
            let sim = model.simulate(&ev, true).unwrap();
            let (loss, grad) = model.loss_and_grad(&ev, &Targets::Classes(&y), None, activity.as_ref(), None).unwrap();
            switch(true);
            (sim, loss, grad)
        };
        let (sim_a, loss_a, grad_a) = run(true);
        let (sim_b, loss_b, grad_b) = run(false);
        let n_spikes: u64 = sim_a.spikes[0].iter().map(|&s| s as u64).sum();
        assert!(n_spikes > 100, "{kind:?}: the network must spike ({n_spikes})");
        assert_eq!(sim_a.spikes, sim_b.spikes, "{kind:?}");
        assert_eq!(sim_a.readout, sim_b.readout, "{kind:?}");
        assert_eq!(sim_a.membrane, sim_b.membrane, "{kind:?}");
        assert_eq!(loss_a.to_bits(), loss_b.to_bits(), "{kind:?}");
        out.push((kind, grad_a, grad_b));
    }
    out
}

#[test]
fn simd_and_portable_paths_agree() {
    let _turn = SWITCHES.lock().unwrap_or_else(|e| e.into_inner());
    let cases = [
        (SurrogateKind::FastSigmoid, Reset::Subtract, 35), // 35: full register blocks and a tail
        (SurrogateKind::Triangle, Reset::Zero, 35),
        (SurrogateKind::Sigmoid, Reset::Subtract, 35),
        (SurrogateKind::Arctan, Reset::Zero, 35),
    ];
    for (kind, grad_a, grad_b) in gradients_both_ways(37, 40, &cases, None, set_simd) {
        let mut max_rel = 0.0f32;
        for (a, b) in grad_a.slices().iter().zip(grad_b.slices()) {
            let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
            for (u, v) in a.iter().zip(b.iter()) {
                max_rel = max_rel.max((u - v).abs() / scale);
            }
        }
        assert!(max_rel < 1e-4, "{kind:?}: gradients differ by {max_rel} of their scale");
    }
}

#[test]
fn avx512_and_avx2_copies_are_bit_identical() {
    #[cfg(target_arch = "x86_64")]
    let supported = std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    let supported = false;
    if !supported {
        eprintln!("skipped: this CPU has no AVX-512 (or no AVX2 + FMA)");
        return;
    }
    let _turn = SWITCHES.lock().unwrap_or_else(|e| e.into_inner());
    let cases = [
        (SurrogateKind::FastSigmoid, Reset::Subtract, 35),
        (SurrogateKind::Triangle, Reset::Zero, 70),
        (SurrogateKind::Arctan, Reset::Subtract, 16),
    ];
    // with an activity-matching term (Gaussian kernel), whose gradient passes through the backward pass
    let recorded = Array3::from_shape_fn((41, 60, 3), |(i, t, k)| ((i + 2 * t + k) % 7) as f32 * 4.0);
    let filter = RateFilter::gaussian(5.0, 1.0, 1000.0, 60).unwrap();
    for (kind, grad_a, grad_b) in gradients_both_ways(41, 60, &cases, Some((&recorded, filter)), set_avx512) {
        for (a, b) in grad_a.slices().iter().zip(grad_b.slices()) {
            let bits = |s: &[f32]| s.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(a), bits(b), "{kind:?}: gradients differ");
        }
    }
}
