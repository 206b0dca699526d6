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

/// A non-zero entry `v` of X as a count of the core's type, or why it is not one (the caller adds
/// where it is): pass 1 of [`InputEvents::from_dense`] reports it, pass 2 checks it again.
fn as_count<T: Real>(v: f64) -> std::result::Result<T, String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("X must hold finite, non-negative spike counts; found {v}"));
    }
    let count = T::c(v);
    if !count.is_finite() {
        return Err(format!("X holds a count ({v:e}) beyond the range of the core's floating-point type,"));
    }
    Ok(count)
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
    /// Rejects negative and non-finite values, naming the first offending element. Two passes: the
    /// first checks the values and counts each step's events (into the offsets), the second writes
    /// the events into arrays reserved once at their exact size, so the events take exactly their
    /// own memory (per-trial vectors grown by doubling and then joined took two to three times as
    /// much). Memory is reserved fallibly ([`Error::OutOfMemory`] instead of aborting the process):
    /// a view with zero strides can describe more steps than any machine holds without using any
    /// memory.
    pub fn from_dense<S: Count>(x: ArrayView3<S>) -> Result<Self> {
        let (n_trials, n_steps, n_channels) = x.dim();
        if n_channels > u32::MAX as usize {
            return Err(invalid!("too many channels ({n_channels})"));
        }
        let n_offsets = offsets_len(n_trials, n_steps)?;
        let mut offsets: Vec<usize> = Vec::new();
        offsets
            .try_reserve_exact(n_offsets)
            .map_err(|_| events_oom(n_offsets.saturating_mul(std::mem::size_of::<usize>())))?;
        offsets.resize(n_offsets, 0);
        // pass 1: offsets[1 + n * n_steps + t] = the number of events of trial n at step t;
        // find_first: the first trial's error in trial order, and no result kept per trial
        let checked = offsets[1..]
            .par_chunks_mut(n_steps.max(1))
            .enumerate()
            .map(|(n, lens)| {
                let trial = x.index_axis(ndarray::Axis(0), n);
                for ((t, row), len) in trial.outer_iter().enumerate().zip(lens.iter_mut()) {
                    for (c, &v) in row.iter().enumerate() {
                        let v = v.to_f64();
                        if v != 0.0 {
                            as_count::<T>(v)
                                .map_err(|why| invalid!("{why} at trial {n}, time step {t}, channel {c}"))?;
                            *len += 1;
                        }
                    }
                }
                Ok(())
            })
            .find_first(|r| r.is_err());
        if let Some(e) = checked {
            e?;
        }
        for k in 1..n_offsets {
            offsets[k] += offsets[k - 1];
        }
        let n_events = offsets[n_offsets - 1];
        let (mut channels, mut counts): (Vec<u32>, Vec<T>) = (Vec::new(), Vec::new());
        let oom = |_| events_oom(n_events.saturating_mul(std::mem::size_of::<u32>() + std::mem::size_of::<T>()));
        channels.try_reserve_exact(n_events).map_err(oom)?;
        counts.try_reserve_exact(n_events).map_err(oom)?;
        channels.resize(n_events, 0);
        counts.resize(n_events, T::zero());
        // pass 2: each trial writes its own slice of the events
        let mut slices = Vec::new();
        slices.try_reserve_exact(n_trials).map_err(|_| events_oom(n_trials.saturating_mul(5 * 8)))?;
        let (mut ch_rest, mut ct_rest) = (&mut channels[..], &mut counts[..]);
        for n in 0..n_trials {
            let len = offsets[(n + 1) * n_steps] - offsets[n * n_steps];
            let (ch, ch_tail) = std::mem::take(&mut ch_rest).split_at_mut(len);
            let (ct, ct_tail) = std::mem::take(&mut ct_rest).split_at_mut(len);
            slices.push((n, ch, ct));
            (ch_rest, ct_rest) = (ch_tail, ct_tail);
        }
        // X belongs to the caller, and another thread may write it meanwhile: a trial whose events
        // differ from pass 1's count, or a value that became invalid, is an error, not a panic
        let changed = |n: usize| {
            invalid!("X changed while it was read (trial {n}): another thread wrote it; pass an array no other thread writes")
        };
        let written = slices
            .into_par_iter()
            .map(|(n, ch, ct)| {
                let mut i = 0;
                for row in x.index_axis(ndarray::Axis(0), n).outer_iter() {
                    for (c, &v) in row.iter().enumerate() {
                        let v = v.to_f64();
                        if v != 0.0 {
                            match as_count::<T>(v) {
                                Ok(count) if i < ch.len() => (ch[i], ct[i]) = (c as u32, count),
                                _ => return Err(changed(n)),
                            }
                            i += 1;
                        }
                    }
                }
                if i == ch.len() {
                    Ok(())
                } else {
                    Err(changed(n))
                }
            })
            .find_first(|r| r.is_err());
        if let Some(e) = written {
            e?;
        }
        Ok(InputEvents { n_trials, n_steps, n_channels, offsets, channels, counts })
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
        // the first bad value in trial order is named, whichever thread finds one first
        let mut x = Array3::<f64>::zeros((40, 3, 2));
        x[[7, 2, 0]] = -2.0;
        x[[30, 0, 1]] = -3.0;
        let e = InputEvents::<f32>::from_dense(x.view()).unwrap_err().to_string();
        assert!(e.contains("found -2 at trial 7, time step 2, channel 0"), "{e}");
    }

    /// An input whose values change between the two passes (another thread writing X) is an
    /// error that says so: pass 2 found more events than pass 1 counted and indexed past its slice
    /// (a panic), or wrote values it had not checked.
    #[test]
    fn an_input_that_changes_while_it_is_read_is_an_error_not_a_panic() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        /// A value read as 0 for the first `ZEROS` reads (pass 1 of one 2 x 3 trial), then as `LATER`.
        #[derive(Clone, Copy)]
        struct Changing(&'static AtomicUsize, f64);
        impl Count for Changing {
            fn to_f64(self) -> f64 {
                if self.0.fetch_add(1, Ordering::SeqCst) < 6 {
                    0.0
                } else {
                    self.1
                }
            }
        }
        for later in [1.0, -1.0, f64::NAN] {
            let reads: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
            let x = Array3::from_elem((1, 2, 3), Changing(reads, later));
            let e = InputEvents::<f32>::from_dense(x.view()).unwrap_err().to_string();
            assert!(e.contains("X changed while it was read (trial 0): another thread wrote it"), "{e}");
        }
        // fewer events in pass 2 than counted: an error too (the slice would hold stale zeros)
        #[derive(Clone, Copy)]
        struct Vanishing(&'static AtomicUsize);
        impl Count for Vanishing {
            fn to_f64(self) -> f64 {
                (self.0.fetch_add(1, Ordering::SeqCst) < 6) as u8 as f64
            }
        }
        let reads: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
        let x = Array3::from_elem((1, 2, 3), Vanishing(reads));
        let e = InputEvents::<f32>::from_dense(x.view()).unwrap_err().to_string();
        assert!(e.contains("X changed while it was read"), "{e}");
    }

    /// The events are written into arrays reserved once at their exact size (per-trial vectors
    /// grown by doubling and then joined took two to three times the events' memory at their peak,
    /// beyond what fit's memory check counts), and equal those of a plain loop over the array.
    #[test]
    fn events_take_exactly_their_own_memory_and_match_a_plain_loop() {
        let x = Array3::from_shape_fn((37, 11, 9), |(n, t, c)| ((n * 7 + t * 3 + c * 5) % 4) as f32 * 0.5);
        let ev = InputEvents::<f32>::from_dense(x.view()).unwrap();
        assert_eq!(ev.channels.capacity(), ev.channels.len());
        assert_eq!(ev.counts.capacity(), ev.counts.len());
        assert_eq!(ev.offsets.capacity(), ev.offsets.len());
        assert_eq!(ev.offsets.len(), 37 * 11 + 1);
        let (mut offsets, mut channels, mut counts) = (vec![0usize], vec![], vec![]);
        for n in 0..37 {
            for t in 0..11 {
                for c in 0..9 {
                    if x[[n, t, c]] != 0.0 {
                        channels.push(c as u32);
                        counts.push(x[[n, t, c]]);
                    }
                }
                offsets.push(channels.len());
            }
        }
        assert_eq!((ev.offsets, ev.channels, ev.counts), (offsets, channels, counts));
    }
}
