//! The sparse products of the backward pass (compact-support surrogate, few units inside its
//! support) against the dense ones. A separate test binary, because the threshold
//! ([`motorsrnn::backward::set_sparse_below`]) is process-wide. The dense path is the one checked
//! against finite differences and autograd elsewhere; here the sparse path must give the same
//! gradient up to float32 round-off, on a network with every kind of projection.

use motorsrnn::backward::{set_sparse_below, take_sparse_used};
use motorsrnn::model::{Model, Targets};
use motorsrnn::neuron::{Reset, Surrogate, SurrogateKind};
use motorsrnn::spikes::InputEvents;
use motorsrnn::topology::{NetworkSpec, PopulationSpec, ProjectionKind, ProjectionSpec, TimeConstant};
use ndarray::Array3;

fn two_populations() -> NetworkSpec {
    let pop = |name: &str, size: usize| PopulationSpec {
        name: name.into(),
        size,
        tau_mem: TimeConstant::Shared(20.0),
        tau_syn: TimeConstant::Shared(5.0),
        threshold: 1.0,
        reset: Reset::Subtract,
        detach_reset: name == "A",
        trainable_tau: name == "B",
    };
    let proj = |source: &str, target: &str, kind| ProjectionSpec {
        init_scale: 2.0,
        ..ProjectionSpec::new(source, target, kind)
    };
    NetworkSpec {
        n_inputs: 12,
        n_outputs: 3,
        dt: 1.0,
        tau_out: 20.0,
        readout: Default::default(),
        surrogate: Surrogate { kind: SurrogateKind::Triangle, slope: Some(4.0), smooth: false },
        populations: vec![pop("A", 40), pop("B", 21)],
        projections: vec![
            proj("input", "A", ProjectionKind::Feedforward),
            proj("A", "A", ProjectionKind::Recurrent),
            proj("A", "B", ProjectionKind::Feedforward),
            proj("B", "B", ProjectionKind::Recurrent),
            proj("B", "A", ProjectionKind::Feedback),
            proj("A", "readout", ProjectionKind::Feedforward),
            proj("B", "readout", ProjectionKind::Feedforward),
        ],
    }
}

#[test]
fn sparse_and_dense_products_give_the_same_gradient() {
    let model = Model::<f32>::new(two_populations(), 3).unwrap();
    let x = Array3::from_shape_fn((21, 60, 12), |(n, t, c)| ((n * 13 + t * 5 + c * 7) % 11 == 0) as u8);
    let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
    let y: Vec<usize> = (0..21).map(|i| i % 3).collect();
    // The surrogate's support |U - 1| < 1/4 holds for a minority of (unit, step) pairs.
    let sim = model.simulate(&ev, true).unwrap();
    let membrane = sim.membrane.unwrap();
    let (inside, total) = membrane
        .iter()
        .fold((0, 0), |(i, n), u| (i + u.iter().filter(|&&v| (v - 1.0).abs() < 0.25).count(), n + u.len()));
    let fraction = inside as f64 / total as f64;
    assert!(fraction > 0.01 && fraction < 0.5, "fraction inside the support {fraction}");
    let grad = |threshold: f64| {
        set_sparse_below(threshold);
        let out = model.loss_and_grad(&ev, &Targets::Classes(&y), None, None, None).unwrap();
        set_sparse_below(motorsrnn::backward::SPARSE_BELOW);
        out
    };
    take_sparse_used();
    let (loss_sparse, sparse) = grad(2.0);
    // the comparison means something only if the sparse products ran, and the dense ones alone after
    assert!(take_sparse_used(), "the sparse products never ran");
    let (loss_dense, dense) = grad(0.0);
    assert!(!take_sparse_used(), "the dense run took the sparse path");
    assert_eq!(loss_sparse, loss_dense, "the forward pass does not depend on the threshold");
    let mut nonzero = 0;
    for (a, b) in sparse.slices().iter().zip(dense.slices()) {
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
        for (u, v) in a.iter().zip(b.iter()) {
            assert!((u - v).abs() <= 1e-5 * scale, "sparse {u} vs dense {v} (scale {scale})");
            nonzero += (*v != 0.0) as usize;
        }
    }
    assert!(nonzero > 500, "too few nonzero gradients ({nonzero}) for a meaningful comparison");
}
