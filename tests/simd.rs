//! The AVX2 code paths against the portable ones (a separate test binary, because the switch
//! [`motorsrnn::dense::set_simd`] is process-wide). The element-wise code (forward pass, unit-wise
//! recursion) has no fused multiply-add, so the simulation must be bit-identical; the products of
//! the backward pass use FMA where available, so gradients agree to float32 round-off.

use motorsrnn::dense::set_simd;
use motorsrnn::model::{Model, Targets};
use motorsrnn::neuron::{Reset, Surrogate, SurrogateKind};
use motorsrnn::spikes::InputEvents;
use motorsrnn::topology::NetworkSpec;
use ndarray::Array3;

#[test]
fn simd_and_portable_paths_agree() {
    let x = Array3::from_shape_fn((37, 40, 13), |(n, t, c)| ((n * 31 + t * 7 + c * 3) % 17 == 0) as u8);
    let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
    let y: Vec<usize> = (0..37).map(|i| i % 3).collect();
    for (kind, reset) in [
        (SurrogateKind::FastSigmoid, Reset::Subtract),
        (SurrogateKind::Triangle, Reset::Zero),
        (SurrogateKind::Sigmoid, Reset::Subtract),
        (SurrogateKind::Arctan, Reset::Zero),
    ] {
        let mut spec = NetworkSpec::srnn(13, 35, 3); // 35: full register blocks and a tail
        spec.surrogate = Surrogate { kind, slope: None, smooth: false };
        spec.populations[0].reset = reset;
        spec.projections[0].init_scale = 3.0;
        spec.projections[1].init_scale = 0.5;
        let model = Model::<f32>::new(spec, 4).unwrap();
        let run = |simd: bool| {
            set_simd(simd);
            let sim = model.simulate(&ev, true).unwrap();
            let (loss, grad) = model.loss_and_grad(&ev, &Targets::Classes(&y), None, None).unwrap();
            set_simd(true);
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
