//! The AVX-512 copies of the SIMD code against the AVX2 copies (a separate test binary, because
//! the switch [`motorsrnn::dense::set_avx512`] is process-wide). Both run the same operations on
//! every element in the same order, so the simulation, the loss and the gradients must be
//! bit-identical: a model trained on a CPU with AVX-512 equals one trained without it (given AVX2).

use motorsrnn::dense::set_avx512;
use motorsrnn::model::{Activity, Model, RateFilter, Targets};
use motorsrnn::neuron::{Reset, Surrogate, SurrogateKind};
use motorsrnn::spikes::InputEvents;
use motorsrnn::topology::NetworkSpec;
use ndarray::Array3;

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
    let x = Array3::from_shape_fn((41, 60, 13), |(n, t, c)| ((n * 31 + t * 7 + c * 3) % 17 == 0) as u8);
    let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
    let y: Vec<usize> = (0..41).map(|i| i % 3).collect();
    // an activity-matching term with the Gaussian kernel (its adjoint's correlation is SIMD code too)
    let recorded = Array3::from_shape_fn((41, 60, 3), |(i, t, k)| ((i + 2 * t + k) % 7) as f32 * 4.0);
    let filter = RateFilter::gaussian(5.0, 1.0, 1000.0, 60).unwrap();
    for (kind, reset, n_hidden) in [
        (SurrogateKind::FastSigmoid, Reset::Subtract, 35), // full register blocks and a tail
        (SurrogateKind::Triangle, Reset::Zero, 70),
        (SurrogateKind::Arctan, Reset::Subtract, 16),
    ] {
        let mut spec = NetworkSpec::srnn(13, n_hidden, 3);
        spec.surrogate = Surrogate { kind, slope: None, smooth: false };
        spec.populations[0].reset = reset;
        spec.projections[0].init_scale = 3.0;
        spec.projections[1].init_scale = 0.5;
        let model = Model::<f32>::new(spec, 4).unwrap();
        let activity = Activity {
            population: 0,
            units: vec![3, 0, 9],
            data: recorded.view(),
            filter: filter.clone(),
            weight: 0.01,
            neuron_weights: vec![1.0; 3],
        };
        let run = |avx512: bool| {
            set_avx512(avx512);
            let sim = model.simulate(&ev, true).unwrap();
            let (loss, grad) = model.loss_and_grad(&ev, &Targets::Classes(&y), Some(&activity), None).unwrap();
            set_avx512(true);
            (sim, loss, grad)
        };
        let (sim_a, loss_a, grad_a) = run(true);
        let (sim_b, loss_b, grad_b) = run(false);
        let n_spikes: u64 = sim_a.spikes[0].iter().map(|&s| s as u64).sum();
        assert!(n_spikes > 100, "{kind:?}: the network must spike ({n_spikes})");
        assert_eq!(sim_a.spikes, sim_b.spikes, "{kind:?}");
        assert_eq!(sim_a.membrane, sim_b.membrane, "{kind:?}");
        assert_eq!(sim_a.readout, sim_b.readout, "{kind:?}");
        assert_eq!(loss_a.to_bits(), loss_b.to_bits(), "{kind:?}");
        for (a, b) in grad_a.slices().iter().zip(grad_b.slices()) {
            let bits = |s: &[f32]| s.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(a), bits(b), "{kind:?}: gradients differ");
        }
    }
}
