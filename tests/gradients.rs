//! Gradient checks of the BPTT core.
//! 1. Smooth mode (the forward pass emits the antiderivative of the surrogate, so the surrogate
//!    gradient is the exact gradient): BPTT equals central finite differences, for every surrogate,
//!    reset kind, readout mode, and a multi-population network with feedforward, recurrent and
//!    feedback projections.
//! 2. Determinism: the gradient and a whole training run are bit-identical for 1, 2 and 3 threads.

use motorsrnn::augment::Jitter;
use motorsrnn::forward::CHUNK;
use motorsrnn::model::{Activity, Model, RateBounds, RateFilter, Targets};
use motorsrnn::neuron::{Reset, Surrogate, SurrogateKind};
use motorsrnn::params::ParamSet;
use motorsrnn::spikes::InputEvents;
use motorsrnn::topology::{NetworkSpec, PopulationSpec, ProjectionKind, ProjectionSpec, ReadoutMode, TimeConstant};
use motorsrnn::train::{fit, fit_resuming, Data, Silent, TrainConfig};
use ndarray::Array3;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_input(n: usize, steps: usize, ch: usize, p: f64, seed: u64) -> Array3<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array3::from_shape_fn((n, steps, ch), |_| {
        let r: f64 = rng.random();
        if r < p / 4.0 {
            2
        } else if r < p {
            1
        } else {
            0
        }
    })
}

fn proj(source: &str, target: &str, kind: ProjectionKind) -> ProjectionSpec {
    ProjectionSpec { init_scale: 1.5, ..ProjectionSpec::new(source, target, kind) }
}

/// Two populations A -> B with recurrence in both, feedback B -> A, both reading out.
fn two_population_spec(n_in: usize, n_out: usize) -> NetworkSpec {
    let pop = |name: &str, size: usize, reset: Reset| PopulationSpec {
        name: name.into(),
        size,
        tau_mem: TimeConstant::PerNeuron((0..size).map(|i| 10.0 + 3.0 * i as f64).collect()),
        tau_syn: TimeConstant::Shared(5.0),
        threshold: 1.0,
        reset,
        detach_reset: false,
        trainable_tau: name == "B",
    };
    let mut in_b = proj("input", "B", ProjectionKind::Feedforward);
    in_b.density = Some(0.5);
    NetworkSpec {
        n_inputs: n_in,
        n_outputs: n_out,
        dt: 1.0,
        tau_out: 10.0,
        readout: ReadoutMode::Mean,
        surrogate: Surrogate::default(),
        populations: vec![pop("B", 5, Reset::Zero), pop("A", 6, Reset::Subtract)],
        projections: vec![
            proj("input", "A", ProjectionKind::Feedforward),
            in_b,
            proj("A", "A", ProjectionKind::Recurrent),
            proj("A", "B", ProjectionKind::Feedforward),
            proj("B", "B", ProjectionKind::Recurrent),
            proj("B", "A", ProjectionKind::Feedback),
            proj("A", "readout", ProjectionKind::Feedforward),
            proj("B", "readout", ProjectionKind::Feedforward),
        ],
    }
}

/// Which loss the finite-difference check differentiates.
#[derive(Clone, Copy)]
enum Task {
    Classes,
    Trials,
    Steps,
}

/// Compares BPTT with central differences on every entry of every tensor (small networks).
fn check_fd(spec: NetworkSpec, seed: u64, tol: f64) {
    check_fd_task(spec, seed, tol, Task::Classes)
}

fn check_fd_task(spec: NetworkSpec, seed: u64, tol: f64, task: Task) {
    check_fd_full(spec, seed, tol, task, None, None, None)
}

/// With `matching`, the loss also has an activity-matching term on three units of population 0,
/// with that rate filter, those per-neuron weights and that noise correction. With `weights`, the
/// five trials' losses are weighted by them.
fn check_fd_full(
    spec: NetworkSpec,
    seed: u64,
    tol: f64,
    task: Task,
    matching: Option<(RateFilter<f64>, Vec<f64>, bool)>,
    rate: Option<RateBounds<f64>>,
    weights: Option<&[f64]>,
) {
    let model = Model::<f64>::new(spec, seed).unwrap();
    let x = random_input(5, 12, model.topo.n_inputs, 0.3, seed + 1);
    let ev = InputEvents::<f64>::from_dense(x.view()).unwrap();
    let k = model.topo.n_outputs;
    let classes: Vec<usize> = (0..5).map(|i| i % k).collect();
    let trials = ndarray::Array2::from_shape_fn((5, k), |(i, c)| ((i * 3 + c) % 5) as f64 * 0.3 - 0.5);
    let steps = ndarray::Array3::from_shape_fn((5, 12, k), |(i, t, c)| ((i + t + 2 * c) as f64 * 0.7).sin());
    let y = match task {
        Task::Classes => Targets::Classes(&classes),
        Task::Trials => Targets::Trials(trials.view()),
        Task::Steps => Targets::Steps(steps.view()),
    };
    let recorded = ndarray::Array3::from_shape_fn((5, 12, 3), |(i, t, k)| 0.2 + 0.1 * ((i + 2 * t + 3 * k) % 4) as f64);
    let activity = matching.map(|(filter, neuron_weights, noise_correction)| Activity {
        population: 0,
        units: vec![2, 0, 4],
        data: recorded.view(),
        filter,
        weight: 2.0,
        neuron_weights,
        noise_correction,
    });
    let (_, g) = model.loss_and_grad(&ev, &y, weights, activity.as_ref(), rate.as_ref()).unwrap();
    let loss_of = |m: &Model<f64>| match (&activity, &rate) {
        (None, None) => m.evaluate(&ev, &y, weights).unwrap().0,
        _ => m.loss_and_grad(&ev, &y, weights, activity.as_ref(), rate.as_ref()).unwrap().0,
    };
    let h = 1e-6;
    let mut worst: f64 = 0.0;
    let mut nonzero = 0;
    let slots = ParamSet::<f64>::slots(&model.topo);
    let mut decays_checked = 0;
    for (tensor, slot) in slots.iter().enumerate() {
        // decay factors are only differentiated when the population trains them
        if slot.decay && !slot.trainable {
            assert!(g.slices()[tensor].iter().all(|&x| x == 0.0));
            continue;
        }
        if slot.decay {
            decays_checked += g.slices()[tensor].len();
        }
        let len = g.slices()[tensor].len();
        for i in 0..len {
            // masked-out connections must have a zero gradient and are not perturbed
            if let Some(j) = (tensor < model.topo.projs.len()).then_some(tensor) {
                if let Some(m) = &model.masks[j] {
                    if m.as_slice().unwrap()[i] == 0.0 {
                        assert_eq!(g.slices()[tensor][i], 0.0);
                        continue;
                    }
                }
            }
            let mut plus = model.clone();
            plus.params.slices_mut()[tensor][i] += h;
            let mut minus = model.clone();
            minus.params.slices_mut()[tensor][i] -= h;
            let lp = loss_of(&plus);
            let lm = loss_of(&minus);
            let fd = (lp - lm) / (2.0 * h);
            let bp = g.slices()[tensor][i];
            let err = (fd - bp).abs() / (1e-3 + fd.abs().max(bp.abs()));
            worst = worst.max(err);
            if bp.abs() > 1e-6 {
                nonzero += 1;
            }
            assert!(err < tol, "tensor {tensor} entry {i}: fd {fd:e} vs bptt {bp:e}");
        }
    }
    let total: usize = g.slices().iter().map(|s| s.len()).sum();
    assert!(nonzero * 2 > total, "too few non-zero gradients ({nonzero} of {total}): the check would be vacuous");
    eprintln!("worst relative error {worst:e} ({decays_checked} decay factors checked)");
}

fn smooth(kind: SurrogateKind, slope: f64) -> Surrogate {
    Surrogate { kind, slope: Some(slope), smooth: true }
}

#[test]
fn fd_single_population_every_surrogate() {
    for (kind, slope) in [
        (SurrogateKind::FastSigmoid, 5.0),
        (SurrogateKind::Sigmoid, 4.0),
        (SurrogateKind::Arctan, 2.0),
        (SurrogateKind::Triangle, 0.8),
    ] {
        let mut spec = NetworkSpec::srnn(4, 6, 3);
        spec.surrogate = smooth(kind, slope);
        spec.populations[0].detach_reset = false;
        spec.populations[0].trainable_tau = true;
        for p in &mut spec.projections {
            p.init_scale = 1.5;
        }
        check_fd(spec, 11, 1e-5);
    }
}

/// A triangle surrogate with small weights: about 17 % of the (unit, step) pairs are inside its
/// support, on the two-population network with every kind of projection. Whether the backward
/// pass takes the sparse products depends on the threshold; tests/simd.rs checks that both paths
/// agree.
#[test]
fn fd_triangle_compact_support() {
    let slope = 0.8;
    let mut spec = two_population_spec(4, 3);
    spec.surrogate = smooth(SurrogateKind::Triangle, slope);
    for p in &mut spec.projections {
        p.init_scale = 1.0;
    }
    let model = Model::<f64>::new(spec.clone(), 13).unwrap();
    let x = random_input(5, 12, 4, 0.3, 14);
    let sim = model.simulate(&InputEvents::<f64>::from_dense(x.view()).unwrap(), true).unwrap();
    let membrane = sim.membrane.unwrap();
    let (inside, total) = membrane
        .iter()
        .fold((0, 0), |(i, n), u| (i + u.iter().filter(|&&v| (v - 1.0).abs() < 1.0 / slope).count(), n + u.len()));
    let fraction = inside as f64 / total as f64;
    eprintln!("active fraction {fraction}");
    assert!(fraction > 0.02 && fraction < 0.3, "active fraction {fraction}");
    check_fd(spec, 13, 1e-5);
}

#[test]
fn fd_zero_reset_and_readout_modes() {
    for mode in [ReadoutMode::Mean, ReadoutMode::Max, ReadoutMode::Last] {
        let mut spec = NetworkSpec::srnn(4, 6, 3);
        spec.surrogate = smooth(SurrogateKind::Sigmoid, 4.0);
        spec.readout = mode;
        spec.populations[0].reset = Reset::Zero;
        spec.populations[0].detach_reset = false;
        spec.populations[0].trainable_tau = true;
        for p in &mut spec.projections {
            p.init_scale = 1.5;
        }
        check_fd(spec, 12, 1e-5);
    }
}

#[test]
fn fd_regression_losses() {
    for (task, mode) in
        [(Task::Steps, ReadoutMode::Mean), (Task::Trials, ReadoutMode::Mean), (Task::Trials, ReadoutMode::Last)]
    {
        let mut spec = two_population_spec(4, 2);
        spec.surrogate = smooth(SurrogateKind::Sigmoid, 4.0);
        spec.readout = mode;
        check_fd_task(spec, 17, 1e-5, task);
    }
}

fn exponential_filter() -> RateFilter<f64> {
    RateFilter::Exponential { decay: 0.8, gain: 0.2 }
}

/// Uniform and non-uniform (one of them 0) per-neuron weights.
const NEURON_WEIGHTS: [[f64; 3]; 2] = [[1.0; 3], [0.3, 2.5, 0.0]];

#[test]
fn fd_activity_matching() {
    for w in NEURON_WEIGHTS {
        for task in [Task::Classes, Task::Steps] {
            for correction in [false, true] {
                let mut spec = two_population_spec(4, 2);
                spec.surrogate = smooth(SurrogateKind::Sigmoid, 4.0);
                check_fd_full(spec, 19, 1e-5, task, Some((exponential_filter(), w.to_vec(), correction)), None, None);
            }
        }
    }
}

/// The weighted term is `sum_k w_k L_k` with `L_k` the term of recorded neuron `k` alone (unit
/// weight): the loss is affine in the weights, for both kernels; bad weights are rejected.
#[test]
fn activity_neuron_weights_are_per_neuron() {
    let mut spec = two_population_spec(4, 2);
    spec.surrogate = smooth(SurrogateKind::Sigmoid, 4.0);
    let model = Model::<f64>::new(spec, 19).unwrap();
    let ev = InputEvents::<f64>::from_dense(random_input(5, 12, 4, 0.3, 20).view()).unwrap();
    let data = ndarray::Array3::from_shape_fn((5, 12, 3), |(i, t, k)| 0.2 + 0.1 * ((i + 2 * t + 3 * k) % 4) as f64);
    let y = [0, 1, 0, 1, 0];
    for filter in [exponential_filter(), RateFilter::gaussian(1.5, 1.0, 0.5, 11).unwrap()] {
        let loss = |w: &[f64]| {
            let a = Activity {
                population: 0,
                units: vec![2, 0, 4],
                data: data.view(),
                filter: filter.clone(),
                weight: 2.0,
                neuron_weights: w.to_vec(),
                noise_correction: false,
            };
            model.loss_and_grad(&ev, &Targets::Classes(&y), None, Some(&a), None).map(|(l, _)| l)
        };
        let base = loss(&[0.0; 3]).unwrap();
        let each: Vec<f64> =
            (0..3).map(|k| loss(&std::array::from_fn::<f64, 3, _>(|j| f64::from(j == k))).unwrap() - base).collect();
        assert!(each.iter().all(|&l| l > 1e-6), "{each:?}");
        let w = [0.3, 2.5, 0.7];
        let want = base + w.iter().zip(&each).map(|(a, b)| a * b).sum::<f64>();
        let got = loss(&w).unwrap();
        assert!((got - want).abs() < 1e-10 * want.abs().max(1.0), "{got} vs {want}");
        assert!((loss(&[1.0; 3]).unwrap() - base - each.iter().sum::<f64>()).abs() < 1e-10);
        for bad in [vec![1.0, -1.0, 1.0], vec![1.0, f64::NAN, 1.0], vec![1.0; 2]] {
            assert!(loss(&bad).is_err(), "{bad:?} accepted");
        }
    }
}

/// The Gaussian kernel (symmetric, renormalised at the trial edges) on 12-step trials: sigma 1.5
/// bins reaches 6 bins (edges and the interior both matter), sigma 4 bins reaches 16 (the kernel
/// is longer than the trial: only its lags up to 11 are stored and every step is an edge step).
#[test]
fn fd_activity_matching_gaussian_kernel() {
    for (sigma, dt, stored) in [(1.5, 1.0, 7), (8.0, 2.0, 12)] {
        let filter = RateFilter::gaussian(sigma, dt, 0.5, 11).unwrap();
        let RateFilter::Gaussian { weights, .. } = &filter else { unreachable!() };
        assert_eq!(weights.len(), stored);
        for task in [Task::Classes, Task::Steps] {
            let mut spec = two_population_spec(4, 2);
            spec.surrogate = smooth(SurrogateKind::Sigmoid, 4.0);
            // the term moves the gradient (the check is not vacuous)
            let model = Model::<f64>::new(spec.clone(), 19).unwrap();
            let ev = InputEvents::<f64>::from_dense(random_input(5, 12, 4, 0.3, 20).view()).unwrap();
            let data = ndarray::Array3::from_elem((5, 12, 3), 0.3);
            let a = Activity {
                population: 0,
                units: vec![2, 0, 4],
                data: data.view(),
                filter: filter.clone(),
                weight: 2.0,
                neuron_weights: vec![1.0; 3],
                noise_correction: false,
            };
            let y = [0, 1, 0, 1, 0];
            let (_, with) = model.loss_and_grad(&ev, &Targets::Classes(&y), None, Some(&a), None).unwrap();
            let (_, without) = model.loss_and_grad(&ev, &Targets::Classes(&y), None, None, None).unwrap();
            let moved: f64 = with
                .slices()
                .iter()
                .zip(without.slices())
                .flat_map(|(p, q)| p.iter().zip(q.iter()).map(|(x, y)| (x - y).abs()))
                .sum();
            assert!(moved > 1e-3, "the activity term moved the gradient by {moved} only");
            for w in NEURON_WEIGHTS {
                for correction in [false, true] {
                    check_fd_full(
                        spec.clone(),
                        19,
                        1e-5,
                        task,
                        Some((filter.clone(), w.to_vec(), correction)),
                        None,
                        None,
                    );
                }
            }
        }
    }
}

#[test]
fn fd_rate_regularisation_both_bounds() {
    // smooth spikes are values in (0, 1): a tight window makes trials fall above and below it
    for (lower, upper) in [(0.0, 0.05), (0.6, 0.9)] {
        let mut spec = two_population_spec(4, 2);
        spec.surrogate = smooth(SurrogateKind::Sigmoid, 4.0);
        let rate = RateBounds { weight: 3.0, lower, upper };
        // the penalty is active for these bounds (the check is not vacuous)
        let model = Model::<f64>::new(spec.clone(), 23).unwrap();
        let ev = InputEvents::<f64>::from_dense(random_input(5, 12, 4, 0.3, 24).view()).unwrap();
        let y = [0, 1, 0, 1, 0];
        let with = model.loss_and_grad(&ev, &Targets::Classes(&y), None, None, Some(&rate)).unwrap().0;
        let without = model.loss_and_grad(&ev, &Targets::Classes(&y), None, None, None).unwrap().0;
        assert!(with - without > 1e-3, "penalty {} for bounds ({lower}, {upper})", with - without);
        check_fd_full(
            spec,
            23,
            1e-5,
            Task::Classes,
            Some((exponential_filter(), vec![1.0; 3], true)),
            Some(rate),
            None,
        );
    }
}

/// Per-trial weights (`sample_weight`; one of them 0): BPTT equals central differences of the
/// weighted loss for every task, and with activity matching and the rate penalty.
#[test]
fn fd_weighted_trials() {
    let w = [0.5, 2.0, 0.0, 1.0, 3.0];
    for task in [Task::Classes, Task::Trials, Task::Steps] {
        let mut spec = two_population_spec(4, 2);
        spec.surrogate = smooth(SurrogateKind::Sigmoid, 4.0);
        check_fd_full(spec, 29, 1e-5, task, None, None, Some(&w));
    }
    let mut spec = two_population_spec(4, 3);
    spec.surrogate = smooth(SurrogateKind::FastSigmoid, 5.0);
    let rate = RateBounds { weight: 3.0, lower: 0.05, upper: 0.1 };
    let gaussian = RateFilter::<f64>::gaussian(1.5, 1.0, 1.0, 11).unwrap();
    check_fd_full(spec, 31, 1e-5, Task::Classes, Some((gaussian, vec![0.3, 2.5, 1.0], true)), Some(rate), Some(&w));
}

/// The weighted loss is, by definition, `sum_i w_i L_i / sum_i w_i` with `L_i` the loss of trial
/// `i` alone: the core's loss and gradient agree with that sum of single-trial results (task,
/// activity matching and rate penalty together); weights that are all equal give exactly the
/// unweighted result, and unusable weights are errors.
#[test]
fn weighted_loss_is_the_weighted_mean_of_single_trial_losses() {
    let spec = two_population_spec(4, 3);
    let model = Model::<f64>::new(spec, 37).unwrap();
    let n = CHUNK + 3; // two chunks
    let x = random_input(n, 12, 4, 0.3, 38);
    let ev = InputEvents::<f64>::from_dense(x.view()).unwrap();
    let y: Vec<usize> = (0..n).map(|i| (i * 7) % 3).collect();
    let recorded = ndarray::Array3::from_shape_fn((n, 12, 2), |(i, t, k)| 0.1 * ((i + t + k) % 5) as f64);
    let activity = |data| Activity {
        population: 1,
        units: vec![3, 1],
        data,
        filter: exponential_filter(),
        weight: 0.7,
        neuron_weights: vec![1.0, 2.0],
        noise_correction: true,
    };
    let rate = RateBounds { weight: 2.0, lower: 0.05, upper: 0.08 };
    let w: Vec<f64> = (0..n).map(|i| [0.0, 0.5, 1.0, 4.0][i % 4]).collect();
    let a = activity(recorded.view());
    let (loss, g) = model.loss_and_grad(&ev, &Targets::Classes(&y), Some(&w), Some(&a), Some(&rate)).unwrap();
    let (mut want_loss, mut want) = (0.0, ParamSet::<f64>::zeros(&model.topo));
    for i in 0..n {
        let xi = x.slice(ndarray::s![i..i + 1, .., ..]).to_owned();
        let evi = InputEvents::<f64>::from_dense(xi.view()).unwrap();
        let ri = recorded.slice(ndarray::s![i..i + 1, .., ..]);
        let (li, gi) =
            model.loss_and_grad(&evi, &Targets::Classes(&y[i..i + 1]), None, Some(&activity(ri)), Some(&rate)).unwrap();
        want_loss += w[i] * li;
        for (acc, s) in want.slices_mut().into_iter().zip(gi.slices()) {
            acc.iter_mut().zip(s.iter()).for_each(|(a, v)| *a += w[i] * v);
        }
    }
    let total: f64 = w.iter().sum();
    assert!((loss - want_loss / total).abs() < 1e-12 * loss.abs(), "{loss} vs {}", want_loss / total);
    let mut checked = 0;
    for (got, exp) in g.slices().iter().zip(want.slices()) {
        for (a, b) in got.iter().zip(exp.iter()) {
            let b = b / total;
            assert!((a - b).abs() <= 1e-10 * (1.0 + b.abs()), "{a} vs {b}");
            checked += usize::from(b != 0.0);
        }
    }
    assert!(checked > 50, "only {checked} non-zero gradients");
    // equal weights: bit for bit the unweighted loss and gradient
    let (l1, g1) = model.loss_and_grad(&ev, &Targets::Classes(&y), None, Some(&a), Some(&rate)).unwrap();
    let (l7, g7) = model.loss_and_grad(&ev, &Targets::Classes(&y), Some(&vec![0.7; n]), Some(&a), Some(&rate)).unwrap();
    assert_eq!((l1.to_bits(), &g1), (l7.to_bits(), &g7));
    assert_ne!(l1, loss);
    let classes = Targets::Classes(&y);
    for (bad, what) in [
        (vec![1.0; n - 1], "weights for"),
        (vec![0.0; n], "all zero"),
        ((0..n).map(|i| if i == 3 { -1.0 } else { 1.0 }).collect(), "non-negative"),
        ((0..n).map(|i| if i == 3 { f64::NAN } else { 1.0 }).collect(), "non-negative"),
    ] {
        let e = model.loss_and_grad(&ev, &classes, Some(&bad), None, None).unwrap_err().to_string();
        assert!(e.contains(what) && e.contains("sample_weight"), "{e}");
        let e = model.evaluate(&ev, &classes, Some(&bad)).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
    }
    // huge weights do not overflow the normalisation
    let huge: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { f64::MAX } else { f64::MAX / 4.0 }).collect();
    let (lh, gh) = model.loss_and_grad(&ev, &classes, Some(&huge), None, None).unwrap();
    let quarter: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { 4.0 } else { 1.0 }).collect();
    let (lq, gq) = model.loss_and_grad(&ev, &classes, Some(&quarter), None, None).unwrap();
    assert!(lh.is_finite() && (lh - lq).abs() < 1e-12 * lq && gh.is_finite());
    assert!(gh
        .slices()
        .iter()
        .zip(gq.slices())
        .all(|(a, b)| a.iter().zip(b.iter()).all(|(u, v)| (u - v).abs() < 1e-12)));
}

#[test]
fn fd_multi_population_with_feedback_and_masks() {
    let mut spec = two_population_spec(4, 3);
    spec.surrogate = smooth(SurrogateKind::FastSigmoid, 3.0);
    check_fd(spec, 13, 1e-5);
}

/// With the reset detached, the gradient is the full gradient minus the reset path: in smooth mode
/// it must differ from the finite differences (the check is not vacuous) but only through the reset.
#[test]
fn detached_reset_changes_only_the_reset_path() {
    let mut spec = NetworkSpec::srnn(4, 6, 3);
    spec.surrogate = smooth(SurrogateKind::Sigmoid, 4.0);
    for p in &mut spec.projections {
        p.init_scale = 1.5;
    }
    spec.populations[0].detach_reset = false;
    let full = Model::<f64>::new(spec.clone(), 3).unwrap();
    spec.populations[0].detach_reset = true;
    let detached = Model::<f64>::new(spec, 3).unwrap();
    let x = random_input(5, 12, 4, 0.3, 4);
    let ev = InputEvents::<f64>::from_dense(x.view()).unwrap();
    let y = [0, 1, 2, 0, 1];
    let (l1, g1) = full.loss_and_grad(&ev, &Targets::Classes(&y), None, None, None).unwrap();
    let (l2, g2) = detached.loss_and_grad(&ev, &Targets::Classes(&y), None, None, None).unwrap();
    assert_eq!(l1, l2, "detaching changes gradients, not the forward pass");
    let diff: f64 =
        g1.slices().iter().zip(g2.slices()).flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs())).sum();
    assert!(diff > 1e-6, "detach_reset had no effect on the gradient");
    // readout gradients do not depend on the reset path
    assert_eq!(g1.w[2], g2.w[2]);
}

#[test]
fn gradient_and_training_identical_for_any_thread_count() {
    let mut spec = two_population_spec(10, 4);
    spec.surrogate = Surrogate::default();
    for p in &mut spec.projections {
        p.init_scale = 3.0;
    }
    let model = Model::<f32>::new(spec, 21).unwrap();
    let n = 3 * CHUNK + 5;
    let x = random_input(n, 30, 10, 0.15, 22);
    let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
    let y: Vec<usize> = (0..n).map(|i| i % 4).collect();
    let cfg = TrainConfig {
        learning_rate: 0.01,
        max_epochs: 3,
        batch_size: 40,
        weight_decay: 1e-4,
        seed: 5,
        ..Default::default()
    };
    // with the input spikes jittered anew in each epoch too (src/augment.rs)
    let jittered = TrainConfig { jitter: Some(Jitter::Gaussian { sd: 3.0 }), ..cfg.clone() };
    let mut trained = Vec::new();
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut m = model.clone();
        fit(
            &mut m,
            Data { x: &ev, y: Targets::Classes(&y), weights: None, activity: None },
            None,
            &jittered,
            &pool,
            &mut Silent,
        )
        .unwrap();
        trained.push(m.params);
    }
    assert_eq!(trained[0], trained[1]);
    assert_eq!(trained[0], trained[2]);
    let mut results = Vec::new();
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (loss, g) = pool.install(|| model.loss_and_grad(&ev, &Targets::Classes(&y), None, None, None).unwrap());
        let mut m = model.clone();
        let report = fit(
            &mut m,
            Data { x: &ev, y: Targets::Classes(&y), weights: None, activity: None },
            None,
            &cfg,
            &pool,
            &mut Silent,
        )
        .unwrap();
        results.push((loss, g, m.params, report.history));
    }
    assert!(results[0].1.slices().iter().any(|s| s.iter().any(|v| *v != 0.0)));
    assert_ne!(results[0].2, model.params, "training changed nothing");
    for r in &results[1..] {
        assert_eq!(r.0.to_bits(), results[0].0.to_bits());
        assert_eq!(r.1, results[0].1);
        assert_eq!(r.2, results[0].2);
        assert_eq!(r.3, results[0].3);
    }
    assert_ne!(trained[0], results[0].2, "the jitter changed nothing");
}

/// Training with trial weights is bit-identical for 1, 2 and 3 threads (weighted validation too),
/// weights that are all equal train exactly as no weights, and the weights matter.
#[test]
fn weighted_training_identical_for_any_thread_count() {
    let model = Model::<f32>::new(two_population_spec(10, 3), 41).unwrap();
    let n = 2 * CHUNK + 7;
    let x = random_input(n, 20, 10, 0.15, 42);
    let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
    let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let w: Vec<f64> = (0..n).map(|i| 0.25 + (i % 5) as f64).collect();
    let cfg = TrainConfig { learning_rate: 0.01, max_epochs: 2, batch_size: 24, seed: 3, ..Default::default() };
    let train = |threads: usize, weights: Option<&[f64]>| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut m = model.clone();
        let data = Data { x: &ev, y: Targets::Classes(&y), weights, activity: None };
        let val = Data { x: &ev, y: Targets::Classes(&y), weights, activity: None };
        let report = fit(&mut m, data, Some(val), &cfg, &pool, &mut Silent).unwrap();
        (m.params, report.history)
    };
    let weighted = train(1, Some(&w));
    assert_eq!(weighted, train(2, Some(&w)));
    assert_eq!(weighted, train(3, Some(&w)));
    let plain = train(2, None);
    assert_eq!(plain, train(1, Some(&vec![2.5; n])));
    assert_ne!(plain.0, weighted.0);
    assert_ne!(plain.1[0].val_loss, weighted.1[0].val_loss);
}

/// A trial of weight 0 does not count, also for the optimiser: with SGD (momentum 0.9), one trial
/// of weight 1 among five of weight 0 in batches of one trains as that trial alone (at the step
/// size its normalised weight, 6, implies); the momentum does not move the weights on the
/// weightless batches.
#[test]
fn batches_of_weightless_trials_make_no_step() {
    let model = Model::<f64>::new(two_population_spec(6, 3), 51).unwrap();
    let x = random_input(6, 15, 6, 0.3, 52);
    let ev = InputEvents::<f64>::from_dense(x.view()).unwrap();
    let y = [0, 1, 2, 0, 1, 2];
    let cfg = TrainConfig {
        learning_rate: 0.01,
        max_epochs: 3,
        batch_size: 1,
        max_grad_norm: None,
        optimizer: motorsrnn::optim::OptimizerKind::Sgd,
        seed: 9,
        ..Default::default()
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let mut weighted = model.clone();
    let w = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
    fit(
        &mut weighted,
        Data { x: &ev, y: Targets::Classes(&y), weights: Some(&w), activity: None },
        None,
        &cfg,
        &pool,
        &mut Silent,
    )
    .unwrap();
    let x2 = x.slice(ndarray::s![2..3, .., ..]).to_owned();
    let ev2 = InputEvents::<f64>::from_dense(x2.view()).unwrap();
    let mut alone = model.clone();
    let six = TrainConfig { learning_rate: 0.06, ..cfg };
    fit(
        &mut alone,
        Data { x: &ev2, y: Targets::Classes(&y[2..3]), weights: None, activity: None },
        None,
        &six,
        &pool,
        &mut Silent,
    )
    .unwrap();
    let mut moved = 0.0f64;
    for ((a, b), p) in weighted.params.slices().iter().zip(alone.params.slices()).zip(model.params.slices()) {
        for ((a, b), p) in a.iter().zip(b.iter()).zip(p.iter()) {
            assert!((a - b).abs() < 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
            moved = moved.max((b - p).abs());
        }
    }
    assert!(moved > 1e-3, "training moved the weights by {moved} only");
}

/// `fit_resuming` carries the optimiser state, and `first_epoch` the shuffles and the jitter's
/// seeds: two runs of one epoch train bit for bit as one run of two epochs; a new optimiser state
/// in the second run does not.
#[test]
fn resumed_runs_train_as_one_run() {
    let model = Model::<f32>::new(two_population_spec(8, 3), 61).unwrap();
    let x = random_input(40, 15, 8, 0.2, 62);
    let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
    let y: Vec<usize> = (0..40).map(|i| i % 3).collect();
    let cfg =
        TrainConfig { max_epochs: 2, batch_size: 16, seed: 4, jitter: Some(Jitter::Shuffle), ..Default::default() };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let data = || Data { x: &ev, y: Targets::Classes(&y), weights: None, activity: None };
    let mut once = model.clone();
    fit(&mut once, data(), None, &cfg, &pool, &mut Silent).unwrap();
    let mut twice = model.clone();
    let mut opt = None;
    for first_epoch in 0..2 {
        let one = TrainConfig { max_epochs: 1, first_epoch, ..cfg.clone() };
        fit_resuming(&mut twice, data(), None, &one, &pool, &mut Silent, &mut opt).unwrap();
    }
    assert_eq!(once.params, twice.params);
    let mut restarted = model.clone();
    for first_epoch in 0..2 {
        let one = TrainConfig { max_epochs: 1, first_epoch, ..cfg.clone() };
        fit_resuming(&mut restarted, data(), None, &one, &pool, &mut Silent, &mut None).unwrap();
    }
    assert_ne!(once.params, restarted.params);
}

/// A learnable toy task: the class is which half of the channels is active. Training must solve it.
#[test]
fn training_learns_a_separable_task() {
    let mut spec = NetworkSpec::srnn(8, 16, 2);
    spec.projections[0].init_scale = 4.0;
    let mut model = Model::<f32>::new(spec, 1).unwrap();
    let n = 64;
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let y: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let x = Array3::from_shape_fn((n, 20, 8), |(i, _, c)| {
        let active = (c < 4) == (y[i] == 0);
        (active && rng.random::<f64>() < 0.3) as u8
    });
    let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
    let cfg =
        TrainConfig { learning_rate: 0.02, max_epochs: 30, batch_size: 16, max_grad_norm: None, ..Default::default() };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let (l0, a0) = model.evaluate(&ev, &Targets::Classes(&y), None).unwrap();
    let report = fit(
        &mut model,
        Data { x: &ev, y: Targets::Classes(&y), weights: None, activity: None },
        None,
        &cfg,
        &pool,
        &mut Silent,
    )
    .unwrap();
    let (l1, a1) = model.evaluate(&ev, &Targets::Classes(&y), None).unwrap();
    let (a0, a1) = (a0.unwrap(), a1.unwrap());
    assert_eq!(report.history.len(), 30);
    assert!(l1 < 0.5 * l0, "loss {l0} -> {l1}");
    assert!(a1 >= 0.95 && a1 > a0, "accuracy {a0} -> {a1}");
}

/// With early stopping and `keep_initial` (a warm start), starting weights that no epoch improves
/// on are kept. Here the validation trials carry the opposite labels, so every epoch of training
/// on the true ones makes the validation loss worse.
#[test]
fn early_stopping_keeps_starting_weights_that_no_epoch_beats() {
    let mut spec = NetworkSpec::srnn(8, 16, 2);
    spec.projections[0].init_scale = 4.0;
    let model = Model::<f32>::new(spec, 1).unwrap();
    let n = 64;
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let y: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let flipped: Vec<usize> = y.iter().map(|c| 1 - c).collect();
    let x = Array3::from_shape_fn((n, 20, 8), |(i, _, c)| {
        let active = (c < 4) == (y[i] == 0);
        (active && rng.random::<f64>() < 0.3) as u8
    });
    let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let (l_start, _) = model.evaluate(&ev, &Targets::Classes(&flipped), None).unwrap();
    let cfg = TrainConfig {
        learning_rate: 0.02,
        max_epochs: 5,
        batch_size: 16,
        early_stopping: true,
        n_iter_no_change: 10,
        ..Default::default()
    };
    for keep_initial in [false, true] {
        let mut m = model.clone();
        let train = Data { x: &ev, y: Targets::Classes(&y), weights: None, activity: None };
        let val = Data { x: &ev, y: Targets::Classes(&flipped), weights: None, activity: None };
        let r =
            fit(&mut m, train, Some(val), &TrainConfig { keep_initial, ..cfg.clone() }, &pool, &mut Silent).unwrap();
        let lowest = r.history.iter().map(|h| h.val_loss.unwrap()).fold(f64::INFINITY, f64::min);
        assert!(lowest > l_start, "an epoch improved ({lowest} <= {l_start}): the test needs a worse step");
        if keep_initial {
            assert_eq!(r.best_epoch, None);
            assert_eq!(m.params, model.params, "the starting weights were not kept");
        } else {
            assert_eq!(r.best_epoch, Some(0));
            assert_ne!(m.params, model.params);
        }
    }
}

/// Checkpointed BPTT recomputes each segment from its checkpoint with the same arithmetic, so the
/// gradient must be bit-identical to the full tape's, for any segment length (one step, uneven
/// segments, the whole trial, longer than the trial), on a network with every kind of projection,
/// both resets, trained decay factors and an activity-matching term (which reads the spikes).
#[test]
fn checkpointed_bptt_gives_the_same_gradient() {
    let mut spec = two_population_spec(6, 3);
    spec.surrogate = Surrogate { kind: SurrogateKind::FastSigmoid, slope: None, smooth: false };
    for p in &mut spec.projections {
        p.init_scale = 3.0;
    }
    let mut model = Model::<f32>::new(spec, 8).unwrap();
    let n = CHUNK + 3;
    let x = random_input(n, 23, 6, 0.2, 9);
    let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
    let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let recorded = ndarray::Array3::from_shape_fn((n, 23, 2), |(i, t, k)| ((i + t + k) % 5) as f32 * 3.0);
    let activity = Activity {
        population: 1,
        units: vec![4, 1],
        data: recorded.view(),
        filter: RateFilter::Exponential { decay: 0.8, gain: 0.2 },
        weight: 0.01,
        neuron_weights: vec![1.0, 0.5],
        noise_correction: true,
    };
    let (l_full, g_full) = model.loss_and_grad(&ev, &Targets::Classes(&y), None, Some(&activity), None).unwrap();
    assert!(g_full.slices().iter().all(|s| s.iter().all(|v| v.is_finite())));
    assert!(g_full.alpha.iter().chain(&g_full.beta).any(|a| a.iter().any(|v| *v != 0.0)), "decay gradients");
    for w in [1, 2, 5, 7, 22, 23, 40] {
        model.bptt_window = Some(w);
        let (l, g) = model.loss_and_grad(&ev, &Targets::Classes(&y), None, Some(&activity), None).unwrap();
        assert_eq!(l.to_bits(), l_full.to_bits(), "window {w}");
        assert_eq!(g, g_full, "window {w}");
    }
}

/// A batch's chunks run in waves of as many chunks as there are workspaces (one per thread). The
/// gradient, loss and count must not depend on how many workspaces there are: the chunks' results
/// are added in chunk order whatever the waves.
#[test]
fn batch_gradient_does_not_depend_on_the_number_of_workspaces() {
    use motorsrnn::forward::Workspace;
    let mut spec = two_population_spec(6, 3);
    spec.surrogate = Surrogate { kind: SurrogateKind::FastSigmoid, slope: None, smooth: false };
    let model = Model::<f32>::new(spec, 5).unwrap();
    let n = 5 * CHUNK + 3; // six chunks, the last one short
    let ev = InputEvents::<f32>::from_dense(random_input(n, 30, 6, 0.2, 3).view()).unwrap();
    let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let trials: Vec<usize> = (0..n).rev().collect();
    let run = |n_work: usize| {
        let mut wss: Vec<Workspace<f32>> = (0..n_work).map(|_| Workspace::new(&model.topo, CHUNK).unwrap()).collect();
        let mut g = ParamSet::zeros(&model.topo);
        let (l, c, _) =
            model.batch_grad(&ev, &Targets::Classes(&y), None, None, None, &trials, &mut wss, &mut g).unwrap();
        let bits: Vec<Vec<u32>> = g.slices().iter().map(|s| s.iter().map(|v| v.to_bits()).collect()).collect();
        (l.to_bits(), c, bits)
    };
    let reference = run(6);
    assert!(reference.2.iter().flatten().any(|&b| b != 0), "the gradient must not be zero");
    for n_work in [1, 2, 4, 5, 9] {
        assert_eq!(run(n_work), reference, "{n_work} workspaces");
    }
}
