//! Streaming inference for closed-loop decoding: one trial advanced bin by bin, with the same
//! `step` as the batch simulation (so its outputs equal `logits_per_step`), no tape beyond the
//! previous step, and no allocation per step beyond the new bin's events.

use crate::error::{invalid, Result};
use crate::forward::{begin, reserve_step, step, Mode, Workspace};
use crate::model::Model;
use crate::real::Real;
use crate::spikes::InputEvents;

/// A stateful single-trial decoder.
#[derive(Debug, Clone)]
pub struct Stream<T: Real> {
    model: Model<T>,
    ws: Workspace<T>,
    /// Steps seen since the last reset.
    pub n_steps: usize,
    /// Logits after the last step (running mean or max of `O`, or `O`).
    logits: Vec<T>,
    /// The readout `O` of the last step (a per-step regressor's output).
    output: Vec<T>,
}

impl<T: Real> Stream<T> {
    /// A decoder at the start of a trial (all states zero).
    pub fn new(model: Model<T>) -> Result<Self> {
        let ws = Workspace::new(&model.topo, 1)?;
        let k = model.topo.n_outputs;
        let mut s = Stream { model, ws, n_steps: 0, logits: vec![T::zero(); k], output: vec![T::zero(); k] };
        s.reset()?;
        Ok(s)
    }

    /// Back to the start of a trial.
    pub fn reset(&mut self) -> Result<()> {
        begin(&self.model.topo, &mut self.ws, 1, 2, false)?;
        for rec in self.ws.tape.spikes.iter_mut() {
            rec.close(); // an empty step 0: nothing to deliver through delayed projections yet
        }
        self.n_steps = 0;
        self.logits.iter_mut().for_each(|x| *x = T::zero());
        self.output.iter_mut().for_each(|x| *x = T::zero());
        Ok(())
    }

    /// Advances by one bin of spike counts (one value per input channel); returns the logits.
    pub fn step(&mut self, counts: &[T]) -> Result<&[T]> {
        if counts.len() != self.model.topo.n_inputs {
            return Err(invalid!(
                "a bin has {} channels, but the network was built for {}",
                counts.len(),
                self.model.topo.n_inputs
            ));
        }
        let input = InputEvents::single_bin(counts)?;
        for rec in self.ws.tape.spikes.iter_mut() {
            rec.keep_last_step();
        }
        reserve_step(&self.model.topo, &mut self.ws, 1)?;
        let m = &self.model;
        step(&m.topo, &m.params, &m.consts, &input, &[0], 1, &mut self.ws, Mode::Infer);
        let k = m.topo.n_outputs;
        let o = &self.ws.tape.o[k..2 * k];
        for (l, &v) in self.logits.iter_mut().zip(o) {
            *l = crate::loss::running(m.topo.mode, *l, v, self.n_steps);
        }
        self.output.copy_from_slice(o);
        self.n_steps += 1;
        Ok(&self.logits)
    }

    /// The logits after the last step.
    pub fn logits(&self) -> &[T] {
        &self.logits
    }

    /// The readout `O` of the last step (equal to `traces` at that step).
    pub fn output(&self) -> &[T] {
        &self.output
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{NetworkSpec, ProjectionKind, ProjectionSpec, ReadoutMode};
    use ndarray::Array3;

    #[test]
    fn streaming_equals_the_batch_simulation() {
        for mode in [ReadoutMode::Mean, ReadoutMode::Max, ReadoutMode::Last] {
            let mut spec = NetworkSpec::srnn(6, 12, 3);
            spec.readout = mode;
            spec.populations.push(crate::topology::PopulationSpec { name: "b".into(), ..spec.populations[0].clone() });
            let extra = ProjectionSpec::new;
            spec.projections.push(extra("h", "b", ProjectionKind::Feedforward));
            spec.projections.push(extra("b", "h", ProjectionKind::Feedback));
            spec.projections.push(extra("b", "readout", ProjectionKind::Feedforward));
            for p in &mut spec.projections {
                p.init_scale = 2.0;
            }
            let model = Model::<f32>::new(spec, 4).unwrap();
            let x = Array3::from_shape_fn((2, 40, 6), |(n, t, c)| ((n + 3 * t + 5 * c) % 7 == 0) as u8);
            let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
            let batch = model.logits_per_step(&ev).unwrap();
            let traces = model.traces(&ev).unwrap();
            let mut stream = Stream::new(model).unwrap();
            for trial in 0..2 {
                stream.reset().unwrap();
                for t in 0..40 {
                    let bin: Vec<f32> = x.slice(ndarray::s![trial, t, ..]).iter().map(|&v| v as f32).collect();
                    let got = stream.step(&bin).unwrap().to_vec();
                    let want: Vec<f32> = batch.slice(ndarray::s![trial, t, ..]).to_vec();
                    assert_eq!(got, want, "mode {mode:?}, trial {trial}, step {t}");
                    let want_o: Vec<f32> = traces.slice(ndarray::s![trial, t, ..]).to_vec();
                    assert_eq!(stream.output(), &want_o[..], "output, mode {mode:?}, trial {trial}, step {t}");
                }
            }
            assert!(stream.step(&[0.0; 5]).is_err());
            assert!(stream.step(&[0.0, -1.0, 0.0, 0.0, 0.0, 0.0]).is_err());
        }
    }
}
