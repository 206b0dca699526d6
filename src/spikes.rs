//! Spikes as events. The recorded input is converted once from the dense `(trials, steps, channels)`
//! array into, per trial and step, the list of active channels and their counts; the hidden
//! populations' spikes are recorded the same way (indices and values) on the BPTT tape.

use crate::error::{invalid, Error, Result};
use crate::real::Real;
use ndarray::ArrayView3;
use rayon::prelude::*;

/// An element type of a dense input array that can be read as a spike count.
pub trait Count: Copy + Send + Sync {
    fn to_f64(self) -> f64;
}
impl Count for u8 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
}
impl Count for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
}
impl Count for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
}

/// One trial's events: per-step counts of events, channels, counts.
pub(crate) type TrialEvents<T> = (Vec<usize>, Vec<u32>, Vec<T>);

/// The length of the offsets of `n_trials` trials of `n_steps` steps (one per (trial, step), plus
/// one), or an error when it does not fit in memory's address range.
fn offsets_len(n_trials: usize, n_steps: usize) -> Result<usize> {
    n_trials.checked_mul(n_steps).and_then(|n| n.checked_add(1)).ok_or(Error::OutOfMemory {
        what: "the input's events (X has more trial x time-step pairs than memory can address)",
        bytes: usize::MAX,
    })
}

/// The error of an input's events that do not fit in memory.
fn events_oom(bytes: usize) -> Error {
    Error::OutOfMemory { what: "the input's events (one entry per trial and time step of X, and one per spike)", bytes }
}

/// The input of a data set as events: for trial `n` and step `t`, the slice
/// `offsets[n * steps + t] .. offsets[n * steps + t + 1]` of `channels` / `counts`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputEvents<T> {
    pub n_trials: usize,
    pub n_steps: usize,
    pub n_channels: usize,
    offsets: Vec<usize>,
    channels: Vec<u32>,
    counts: Vec<T>,
}

impl<T: Real> InputEvents<T> {
    /// Builds the events from a dense array (any strides), in parallel over trials.
    /// Rejects negative and non-finite values, naming the first offending element. Memory is
    /// reserved fallibly ([`Error::OutOfMemory`] instead of aborting the process): a view with
    /// zero strides can describe more steps than any machine holds without using any memory.
    pub fn from_dense<S: Count>(x: ArrayView3<S>) -> Result<Self> {
        let (n_trials, n_steps, n_channels) = x.dim();
        if n_channels > u32::MAX as usize {
            return Err(invalid!("too many channels ({n_channels})"));
        }
        let n_offsets = offsets_len(n_trials, n_steps)?;
        let lens_bytes = n_offsets.saturating_mul(std::mem::size_of::<usize>());
        let per_trial: Vec<Result<TrialEvents<T>>> = (0..n_trials)
            .into_par_iter()
            .map(|n| {
                let trial = x.index_axis(ndarray::Axis(0), n);
                let mut lens = Vec::new();
                lens.try_reserve_exact(n_steps).map_err(|_| events_oom(lens_bytes))?;
                let mut ch: Vec<u32> = Vec::new();
                let mut ct: Vec<T> = Vec::new();
                for (t, row) in trial.outer_iter().enumerate() {
                    let before = ch.len();
                    for (c, &v) in row.iter().enumerate() {
                        let v = v.to_f64();
                        if v != 0.0 {
                            if !v.is_finite() || v < 0.0 {
                                return Err(invalid!(
                                    "X must hold finite, non-negative spike counts; found {v} at trial {n}, time step {t}, channel {c}"
                                ));
                            }
                            if !T::c(v).is_finite() {
                                return Err(invalid!(
                                    "X holds a count ({v:e}) beyond the range of the core's floating-point type, at trial {n}, time step {t}, channel {c}"
                                ));
                            }
                            if ch.len() == ch.capacity() || ct.len() == ct.capacity() {
                                // doubling, as push does, but without aborting when memory runs out
                                let more = ch.len().max(64);
                                let bytes = (ch.len() + more) * (std::mem::size_of::<u32>() + std::mem::size_of::<T>());
                                ch.try_reserve(more).map_err(|_| events_oom(bytes))?;
                                ct.try_reserve(more).map_err(|_| events_oom(bytes))?;
                            }
                            ch.push(c as u32);
                            ct.push(T::c(v));
                        }
                    }
                    lens.push(ch.len() - before);
                }
                Ok((lens, ch, ct))
            })
            .collect();
        let per_trial = per_trial.into_iter().collect::<Result<Vec<_>>>()?;
        Self::from_trials(n_steps, n_channels, per_trial)
    }

    /// Joins per-trial events: for each trial, the number of events of each of its `n_steps`
    /// steps, then their channels and counts in step order.
    pub(crate) fn from_trials(n_steps: usize, n_channels: usize, per_trial: Vec<TrialEvents<T>>) -> Result<Self> {
        let n_trials = per_trial.len();
        let n_offsets = offsets_len(n_trials, n_steps)?;
        let n_events: usize = per_trial.iter().map(|(_, ch, _)| ch.len()).sum();
        let mut offsets = Vec::new();
        offsets
            .try_reserve_exact(n_offsets)
            .map_err(|_| events_oom(n_offsets.saturating_mul(std::mem::size_of::<usize>())))?;
        offsets.push(0);
        let mut channels = Vec::new();
        let mut counts = Vec::new();
        let oom = |_| events_oom(n_events * (std::mem::size_of::<u32>() + std::mem::size_of::<T>()));
        channels.try_reserve_exact(n_events).map_err(oom)?;
        counts.try_reserve_exact(n_events).map_err(oom)?;
        for (lens, ch, ct) in per_trial {
            debug_assert_eq!(lens.len(), n_steps);
            for l in lens {
                offsets.push(offsets.last().copied().unwrap_or(0) + l);
            }
            channels.extend(ch);
            counts.extend(ct);
        }
        Ok(InputEvents { n_trials, n_steps, n_channels, offsets, channels, counts })
    }

    /// The active channels of trial `n` at step `t`, and their counts.
    #[inline(always)]
    pub fn at(&self, n: usize, t: usize) -> (&[u32], &[T]) {
        let k = n * self.n_steps + t;
        let (a, b) = (self.offsets[k], self.offsets[k + 1]);
        (&self.channels[a..b], &self.counts[a..b])
    }

    /// One trial of two steps whose first step is empty and whose second holds `counts` (the
    /// streaming decoder's view of one new bin). Rejects negative and non-finite counts.
    pub fn single_bin(counts: &[T]) -> Result<Self> {
        let mut channels = Vec::new();
        let mut values = Vec::new();
        for (c, &v) in counts.iter().enumerate() {
            if v != T::zero() {
                if !v.is_finite() || v < T::zero() {
                    return Err(invalid!("spike counts must be finite and non-negative; found {v} at channel {c}"));
                }
                channels.push(c as u32);
                values.push(v);
            }
        }
        let n = channels.len();
        Ok(InputEvents {
            n_trials: 1,
            n_steps: 2,
            n_channels: counts.len(),
            offsets: vec![0, 0, n],
            channels,
            counts: values,
        })
    }

    /// Total number of (trial, step, channel) events.
    pub fn n_events(&self) -> usize {
        self.channels.len()
    }

    /// Sum of all counts.
    pub fn total_count(&self) -> f64 {
        self.counts.iter().map(|c| c.f64()).sum()
    }
}

/// Sparse spikes of one population for a chunk of trials over time, step-major:
/// entry `(t, b)` lists the units that emitted a (non-zero) spike and its value.
#[derive(Debug, Clone, Default)]
pub struct SpikeRecord<T> {
    batch: usize,
    offsets: Vec<usize>,
    idx: Vec<u32>,
    val: Vec<T>,
}

impl<T: Real> SpikeRecord<T> {
    /// Forgets the content, keeps the allocations.
    pub fn clear(&mut self, batch: usize) {
        self.batch = batch;
        self.offsets.clear();
        self.offsets.push(0);
        self.idx.clear();
        self.val.clear();
    }

    /// Keeps only the last step's entries (as step 0), for a decoder that runs step by step.
    pub fn keep_last_step(&mut self) {
        let k = self.offsets.len() - 1;
        if k < self.batch {
            return;
        }
        let from = self.offsets[k - self.batch];
        let tail: Vec<usize> = self.offsets[k - self.batch..].iter().map(|&o| o - from).collect();
        self.idx.drain(..from);
        self.val.drain(..from);
        self.offsets = tail;
    }

    /// Makes room for `entries` more `(t, b)` entries holding up to `spikes` spikes in all, without
    /// aborting when memory runs out (the record grows with the firing, which nothing bounds ahead).
    pub fn try_reserve(&mut self, entries: usize, spikes: usize) -> crate::error::Result<()> {
        let (n_entries, n_spikes) = (self.offsets.len(), self.idx.len());
        let oom = |_| crate::error::Error::OutOfMemory {
            what: "the spikes of the trials simulated together (up to 16)",
            bytes: (n_entries + entries) * std::mem::size_of::<usize>()
                + (n_spikes + spikes) * (std::mem::size_of::<u32>() + std::mem::size_of::<T>()),
        };
        self.offsets.try_reserve(entries).map_err(oom)?;
        self.idx.try_reserve(spikes).map_err(oom)?;
        self.val.try_reserve(spikes).map_err(oom)?;
        Ok(())
    }

    /// Appends one spike to the entry being written.
    #[inline(always)]
    pub fn push(&mut self, unit: usize, value: T) {
        self.idx.push(unit as u32);
        self.val.push(value);
    }

    /// Closes the entry being written (call once per `(t, b)`, in order).
    #[inline(always)]
    pub fn close(&mut self) {
        self.offsets.push(self.idx.len());
    }

    /// The spikes of trial `b` of the chunk at step `t`.
    #[inline(always)]
    pub fn at(&self, t: usize, b: usize) -> (&[u32], &[T]) {
        let k = t * self.batch + b;
        let (lo, hi) = (self.offsets[k], self.offsets[k + 1]);
        (&self.idx[lo..hi], &self.val[lo..hi])
    }

    /// Number of spikes recorded.
    pub fn len(&self) -> usize {
        self.idx.len()
    }

    /// True when no spike was recorded.
    pub fn is_empty(&self) -> bool {
        self.idx.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn events_round_trip_and_strides() {
        let mut x = Array3::<u8>::zeros((2, 3, 4));
        x[[0, 1, 2]] = 3;
        x[[1, 0, 0]] = 1;
        x[[1, 2, 3]] = 2;
        let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
        assert_eq!(ev.n_events(), 3);
        assert_eq!(ev.at(0, 1), (&[2u32][..], &[3.0f32][..]));
        assert_eq!(ev.at(1, 2), (&[3u32][..], &[2.0f32][..]));
        assert!(ev.at(0, 0).0.is_empty());
        // a non-contiguous (reversed) view gives the reversed events
        let rev = x.slice(ndarray::s![..;-1, .., ..]);
        let ev2 = InputEvents::<f32>::from_dense(rev).unwrap();
        assert_eq!(ev2.at(1, 1), (&[2u32][..], &[3.0f32][..]));
    }

    #[test]
    fn bad_values_named() {
        let mut x = Array3::<f64>::zeros((1, 2, 2));
        x[[0, 1, 1]] = -1.0;
        let e = InputEvents::<f32>::from_dense(x.view()).unwrap_err().to_string();
        assert!(e.contains("time step 1, channel 1"), "{e}");
        x[[0, 1, 1]] = f64::NAN;
        assert!(InputEvents::<f32>::from_dense(x.view()).is_err());
    }
}
