//! Training-time augmentation of the input spike trains: every input spike is moved to a random
//! time step, redrawn for each trial in each epoch. Each channel's spike count per trial is kept;
//! what the network could learn from the exact timing of the training trials (coincidences of
//! spikes in one bin, trial-specific patterns) is not.
//!
//! The random numbers of trial `n` in epoch `e` come from their own ChaCha8 stream keyed by
//! `(seed, e, n)`, so the augmented data do not depend on the number of threads.

use crate::error::Result;
use crate::random::keyed;
use crate::real::Real;
use crate::spikes::{InputEvents, TrialEvents};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Integral counts up to this value are split into single spikes that move independently; other
/// counts (rates, fractional values) move as one event.
const MAX_SPLIT: f64 = 1024.0;

/// How input spikes are moved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Jitter {
    /// By a Gaussian offset of standard deviation `sd` time steps, rounded to a whole step and
    /// reflected at the first and last step of the trial.
    Gaussian { sd: f64 },
    /// To a uniformly random step of the trial (all timing within the trial discarded).
    Shuffle,
}

impl Jitter {
    /// Rejects a negative or non-finite standard deviation.
    pub fn validate(&self) -> crate::Result<()> {
        if let Jitter::Gaussian { sd } = *self {
            if !(sd.is_finite() && sd >= 0.0) {
                return Err(crate::error::invalid!("the spike jitter's sd must be finite and >= 0, got {sd}"));
            }
        }
        Ok(())
    }

    /// The step a spike at step `t` moves to, of `n_steps`.
    fn draw(&self, t: usize, n_steps: usize, rng: &mut ChaCha8Rng) -> usize {
        match *self {
            Jitter::Shuffle => rng.random_range(0..n_steps),
            Jitter::Gaussian { sd } => {
                let z: f64 = StandardNormal.sample(rng);
                // clamped so that a huge sd cannot overflow; reflection folds any offset
                let offset = (sd * z).round().clamp(-1e15, 1e15) as i64;
                reflect(t as i64 + offset, n_steps)
            }
        }
    }
}

/// `t` folded into `0..n_steps` by reflection at the first and last step (period `2 (n - 1)`), so
/// that spikes near an edge are not lost and do not pile up on it.
fn reflect(t: i64, n_steps: usize) -> usize {
    if n_steps <= 1 {
        return 0;
    }
    let last = n_steps as i64 - 1;
    let t = t.rem_euclid(2 * last);
    (if t > last { 2 * last - t } else { t }) as usize
}

/// One trial's spikes, moved.
fn jitter_trial<T: Real>(x: &InputEvents<T>, n: usize, how: Jitter, rng: &mut ChaCha8Rng) -> TrialEvents<T> {
    let steps = x.n_steps;
    let mut moved: Vec<(usize, u32, T)> = Vec::new();
    for t in 0..steps {
        let (ch, ct) = x.at(n, t);
        for (&c, &v) in ch.iter().zip(ct) {
            let f = v.f64();
            if f.fract() == 0.0 && f <= MAX_SPLIT {
                for _ in 0..f as usize {
                    moved.push((how.draw(t, steps, rng), c, T::one()));
                }
            } else {
                moved.push((how.draw(t, steps, rng), c, v));
            }
        }
    }
    moved.sort_by_key(|&(t, c, _)| (t, c));
    let mut lens = vec![0usize; steps];
    let mut channels: Vec<u32> = Vec::with_capacity(moved.len());
    let mut counts: Vec<T> = Vec::with_capacity(moved.len());
    let mut last: Option<(usize, u32)> = None;
    for (t, c, v) in moved {
        if last == Some((t, c)) {
            if let Some(x) = counts.last_mut() {
                *x += v;
            }
        } else {
            lens[t] += 1;
            channels.push(c);
            counts.push(v);
            last = Some((t, c));
        }
    }
    (lens, channels, counts)
}

/// The input of epoch `epoch` with every spike moved as `how` says (in the caller's rayon pool); an
/// `Error::OutOfMemory` when the moved events do not fit in memory.
pub fn jitter<T: Real>(x: &InputEvents<T>, how: Jitter, seed: u64, epoch: u64) -> Result<InputEvents<T>> {
    let per_trial: Vec<TrialEvents<T>> = (0..x.n_trials)
        .into_par_iter()
        .map(|n| jitter_trial(x, n, how, &mut keyed(b"msrnnaug", seed, epoch, n as u64)))
        .collect();
    InputEvents::from_trials(x.n_steps, x.n_channels, per_trial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, Axis};
    use rand::SeedableRng;

    fn dense(x: &InputEvents<f64>) -> Array3<f64> {
        let mut d = Array3::zeros((x.n_trials, x.n_steps, x.n_channels));
        for n in 0..x.n_trials {
            for t in 0..x.n_steps {
                let (ch, ct) = x.at(n, t);
                for (&c, &v) in ch.iter().zip(ct) {
                    d[[n, t, c as usize]] += v;
                }
            }
        }
        d
    }

    fn sample() -> Array3<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        Array3::from_shape_fn((6, 40, 5), |_| {
            let u: f64 = rng.random();
            if u < 0.1 {
                1.0
            } else if u < 0.12 {
                3.0
            } else if u < 0.13 {
                0.5
            } else {
                0.0
            }
        })
    }

    #[test]
    fn reflection_folds_into_the_trial() {
        let got: Vec<usize> = [-3i64, -1, 0, 4, 5, 6, 9, 12, 17].iter().map(|&t| reflect(t, 6)).collect();
        assert_eq!(got, vec![3, 1, 0, 4, 5, 4, 1, 2, 3]);
        assert_eq!(reflect(7, 1), 0);
    }

    #[test]
    fn counts_per_trial_and_channel_are_kept() {
        let x = sample();
        let ev = InputEvents::<f64>::from_dense(x.view()).unwrap();
        for how in [Jitter::Shuffle, Jitter::Gaussian { sd: 4.0 }] {
            let j = dense(&jitter(&ev, how, 11, 2).unwrap());
            assert_eq!(j.sum_axis(Axis(1)), x.sum_axis(Axis(1)));
            assert_ne!(j, x, "{how:?} moved nothing");
        }
    }

    #[test]
    fn fractional_counts_move_whole_and_integral_counts_split() {
        let mut x = Array3::<f64>::zeros((1, 40, 1));
        x[[0, 3, 0]] = 0.5;
        x[[0, 5, 0]] = 3.0;
        let ev = InputEvents::<f64>::from_dense(x.view()).unwrap();
        let mut split = 0;
        for epoch in 0..20 {
            let j = dense(&jitter(&ev, Jitter::Shuffle, 4, epoch).unwrap());
            assert_eq!(j.iter().map(|v| v.fract()).sum::<f64>(), 0.5);
            assert_eq!(j.sum(), 3.5);
            split += (j.iter().all(|&v| v < 3.0)) as usize;
        }
        assert!(split >= 15, "three spikes of one bin stayed together in {} of 20 epochs", 20 - split);
    }

    #[test]
    fn zero_sd_keeps_the_input_and_epochs_differ() {
        let ev = InputEvents::<f64>::from_dense(sample().view()).unwrap();
        assert_eq!(jitter(&ev, Jitter::Gaussian { sd: 0.0 }, 1, 0).unwrap(), ev);
        let a = jitter(&ev, Jitter::Shuffle, 1, 0).unwrap();
        assert_ne!(a, jitter(&ev, Jitter::Shuffle, 1, 1).unwrap());
        assert_ne!(a, jitter(&ev, Jitter::Shuffle, 2, 0).unwrap());
    }

    #[test]
    fn independent_of_the_number_of_threads() {
        let ev = InputEvents::<f32>::from_dense(sample().view()).unwrap();
        let runs: Vec<InputEvents<f32>> = [1, 3]
            .iter()
            .map(|&k| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(k).build().unwrap();
                pool.install(|| jitter(&ev, Jitter::Gaussian { sd: 2.5 }, 7, 4).unwrap())
            })
            .collect();
        assert_eq!(runs[0], runs[1]);
    }

    #[test]
    fn gaussian_offsets_have_the_requested_spread() {
        // single spikes in the middle of a long trial: offsets are N(0, sd) rounded
        let mut x = Array3::<f64>::zeros((2000, 401, 1));
        x.index_axis_mut(Axis(1), 200).fill(1.0);
        let ev = InputEvents::<f64>::from_dense(x.view()).unwrap();
        let j = jitter(&ev, Jitter::Gaussian { sd: 10.0 }, 5, 0).unwrap();
        let offsets: Vec<f64> =
            (0..2000).map(|n| (0..401).find(|&t| !j.at(n, t).0.is_empty()).unwrap() as f64 - 200.0).collect();
        let mean = offsets.iter().sum::<f64>() / 2000.0;
        let sd = (offsets.iter().map(|o| (o - mean).powi(2)).sum::<f64>() / 1999.0).sqrt();
        assert!(mean.abs() < 0.7, "mean offset {mean}");
        assert!((sd - 10.0).abs() < 0.5, "sd {sd}");
    }

    #[test]
    fn huge_jitter_keeps_every_spike_in_the_trial() {
        let ev = InputEvents::<f64>::from_dense(sample().view()).unwrap();
        let j = jitter(&ev, Jitter::Gaussian { sd: 1e300 }, 3, 0).unwrap();
        assert_eq!(dense(&j).sum(), dense(&ev).sum());
    }

    #[test]
    fn shuffle_is_uniform_over_the_trial() {
        let mut x = Array3::<f64>::zeros((4000, 10, 1));
        x.index_axis_mut(Axis(1), 0).fill(1.0);
        let ev = InputEvents::<f64>::from_dense(x.view()).unwrap();
        let d = dense(&jitter(&ev, Jitter::Shuffle, 9, 0).unwrap()).sum_axis(Axis(0));
        for t in 0..10 {
            assert!((d[[t, 0]] - 400.0).abs() < 70.0, "step {t}: {}", d[[t, 0]]);
        }
    }
}
