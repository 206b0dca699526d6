//! The core's entry points reject empty and unusable data with errors that name the problem.
//! (The Python layer checks first; these make the core safe on its own.)

use motorsrnn::model::{Model, Targets};
use motorsrnn::spikes::InputEvents;
use motorsrnn::topology::NetworkSpec;
use motorsrnn::train::{fit, Data, Silent, TrainConfig};
use ndarray::{Array2, Array3};

fn config() -> TrainConfig {
    TrainConfig { max_epochs: 1, batch_size: 4, ..Default::default() }
}

fn error<V: std::fmt::Debug>(r: motorsrnn::error::Result<V>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn zero_trials_are_reported_as_such_for_every_kind_of_target() {
    let model = Model::<f32>::new(NetworkSpec::srnn(3, 4, 2), 0).unwrap();
    let ev = InputEvents::<f32>::from_dense(Array3::<u8>::zeros((0, 5, 3)).view()).unwrap();
    let per_trial = Array2::<f32>::zeros((0, 2));
    let per_step = Array3::<f32>::zeros((0, 5, 2));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    for y in [Targets::Classes(&[]), Targets::Trials(per_trial.view()), Targets::Steps(per_step.view())] {
        let e = error(model.loss_and_grad(&ev, &y, None, None, None));
        assert!(e.contains("no trials"), "{e}");
        let e = error(model.evaluate(&ev, &y, None));
        assert!(e.contains("no trials"), "{e}");
        let mut m = model.clone();
        let e =
            error(fit(&mut m, Data { x: &ev, y, weights: None, activity: None }, None, &config(), &pool, &mut Silent));
        assert!(e.contains("no training trials"), "{e}");
    }
}

#[test]
fn all_missing_and_infinite_targets_are_errors() {
    let model = Model::<f32>::new(NetworkSpec::srnn(3, 4, 2), 0).unwrap();
    let ev = InputEvents::<f32>::from_dense(Array3::<u8>::ones((2, 5, 3)).view()).unwrap();
    let mut y = Array2::<f32>::from_elem((2, 2), f32::NAN);
    let e = error(model.loss_and_grad(&ev, &Targets::Trials(y.view()), None, None, None));
    assert!(e.contains("every target is NaN"), "{e}");
    y[[1, 0]] = 0.5;
    let (loss, _) = model.loss_and_grad(&ev, &Targets::Trials(y.view()), None, None, None).unwrap();
    assert!(loss.is_finite(), "one observed target gives a finite loss, got {loss}");
    y[[0, 1]] = f32::INFINITY;
    let e = error(model.loss_and_grad(&ev, &Targets::Trials(y.view()), None, None, None));
    assert!(e.contains("infinite"), "{e}");
}

/// `simulate_into` on the rows of two blocks of trials of buffers filled with garbage gives what
/// `simulate` gives for all the trials at once; buffers of the wrong shape are refused.
#[test]
fn simulate_into_blocks_of_rows_equals_one_simulation() {
    use motorsrnn::model::SimulationMut;
    use ndarray::s;
    let model = Model::<f32>::new(NetworkSpec::srnn(3, 8, 2), 5).unwrap();
    let x = Array3::<u8>::from_shape_fn((37, 9, 3), |(i, t, c)| ((i * 7 + t * 3 + c * 5) % 4 == 0) as u8);
    let whole = model.simulate(&InputEvents::<f32>::from_dense(x.view()).unwrap(), true).unwrap();
    let mut spikes = Array3::<u8>::from_elem((37, 9, 8), 9);
    let mut membrane = Array3::<f32>::from_elem((37, 9, 8), f32::NAN);
    let (mut readout, mut logits) = (Array3::<f32>::zeros((37, 9, 2)), Array3::<f32>::zeros((37, 9, 2)));
    for (start, stop) in [(0, 20), (20, 37)] {
        let ev = InputEvents::<f32>::from_dense(x.slice(s![start..stop, .., ..])).unwrap();
        let mut out = SimulationMut {
            spikes: vec![spikes.slice_mut(s![start..stop, .., ..])],
            membrane: Some(vec![membrane.slice_mut(s![start..stop, .., ..])]),
            readout: readout.slice_mut(s![start..stop, .., ..]),
            logits: logits.slice_mut(s![start..stop, .., ..]),
        };
        model.simulate_into(&ev, &mut out).unwrap();
    }
    assert_eq!(spikes, whole.spikes[0]);
    assert_eq!(membrane, whole.membrane.as_ref().unwrap()[0]);
    assert_eq!((readout.clone(), logits.clone()), (whole.readout.clone(), whole.logits.clone()));
    let ev = InputEvents::<f32>::from_dense(x.slice(s![0..20, .., ..])).unwrap();
    let mut wrong = SimulationMut {
        spikes: vec![spikes.slice_mut(s![0..19, .., ..])],
        membrane: None,
        readout: readout.slice_mut(s![0..20, .., ..]),
        logits: logits.slice_mut(s![0..20, .., ..]),
    };
    let e = error(model.simulate_into(&ev, &mut wrong));
    assert!(e.contains("do not have the shapes of 20 trials of 9 steps"), "{e}");
}

/// A view with zero strides can describe more time steps than any machine holds (NumPy's
/// `broadcast_to` costs no memory): converting it is an `OutOfMemory` error, not an abort of the
/// process (the offsets were allocated with an unchecked, infallible `with_capacity`).
#[test]
fn inputs_larger_than_memory_are_out_of_memory_errors() {
    use motorsrnn::error::Error;
    let zeros = Array3::<u8>::zeros((1, 1, 4));
    let huge = zeros.broadcast((2, 1usize << 47, 4)).unwrap(); // 2^50 bytes of offsets: beyond any address space
    let e = InputEvents::<f32>::from_dense(huge).unwrap_err();
    assert!(matches!(e, Error::OutOfMemory { .. }), "{e}");
    assert!(e.to_string().contains("the input's events"), "{e}");
}
