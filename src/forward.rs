//! The forward simulation of a chunk of trials in lockstep over time, event-driven, writing the tape
//! that the backward pass reads.
//!
//! Per population `p` and step `t` (`docs/spec/model.md`):
//! ```text
//! a[t] = b + sum_ff W s_q[t] + sum_delayed W s_q[t-1] + W_in x[t]
//! I[t] = alpha I[t-1] + a[t]
//! U[t] = beta U[t-1] + I[t] - theta s[t-1]        (reset "subtract")
//! U[t] = beta U[t-1] (1 - s[t-1]) + I[t]           (reset "zero")
//! s[t] = H(U[t] - theta)
//! O[t] = beta_o O[t-1] + b_out + sum W_out s_h[t]
//! ```
//! A spike of source unit `j` adds row `j` of the source-major weight matrix: the cost is
//! proportional to the number of spikes, not to the matrix size.

use crate::dense::multiversion;
use crate::error::{try_fill, Error, Result};
use crate::neuron::{Reset, SurrogateFn};
use crate::params::ParamSet;
use crate::real::Real;
use crate::spikes::{InputEvents, SpikeRecord};
use crate::topology::{Endpoint, Projection, Topology};
use ndarray::Array2;

/// Trials simulated in lockstep by one task. Fixed (it never depends on the thread count), so that
/// the gradient reduction, which adds chunks in order, is the same for any number of threads.
pub const CHUNK: usize = 16;

/// Thresholds, readout decay and surrogate converted once to `T` (the neurons' decay factors are
/// parameters, see [`ParamSet`], since they may be trained).
#[derive(Debug, Clone)]
pub struct Constants<T> {
    pub theta: Vec<T>,
    pub beta_out: T,
    pub surrogate: SurrogateFn<T>,
}

impl<T: Real> Constants<T> {
    pub fn new(topo: &Topology) -> Self {
        Constants {
            theta: topo.pops.iter().map(|p| T::c(p.theta)).collect(),
            beta_out: T::c(topo.beta_out),
            surrogate: topo.surrogate.compile(),
        }
    }
}

/// What the forward pass leaves for the backward pass and for analysis.
#[derive(Debug, Clone, Default)]
pub struct Tape<T> {
    pub steps: usize,
    pub batch: usize,
    /// Membrane potentials per population, `[t][b][unit]` (only when recorded).
    pub u: Vec<Vec<T>>,
    /// Synaptic currents, same layout (only when recorded and the population trains its decays).
    pub i: Vec<Vec<T>>,
    /// Spikes per population.
    pub spikes: Vec<SpikeRecord<T>>,
    /// Readout traces `[t][b][output]`.
    pub o: Vec<T>,
    /// First step held in `u` and `i` (0, unless a checkpointed segment is held).
    pub u_start: usize,
    /// Checkpointed BPTT: the segment length, when the forward pass kept checkpoints instead of
    /// every membrane potential (see [`Recording::Checkpoints`]).
    pub window: Option<usize>,
}

impl<T: Real> Tape<T> {
    /// Membrane potentials of population `p`, trial `b`, step `t`.
    #[inline(always)]
    pub fn u_at(&self, p: usize, n: usize, t: usize, b: usize) -> &[T] {
        let start = ((t - self.u_start) * self.batch + b) * n;
        &self.u[p][start..start + n]
    }

    /// Synaptic currents of population `p`, trial `b`, step `t` (see [`Tape::i`]).
    #[inline(always)]
    pub fn i_at(&self, p: usize, n: usize, t: usize, b: usize) -> &[T] {
        let start = ((t - self.u_start) * self.batch + b) * n;
        &self.i[p][start..start + n]
    }
}

/// Buffers of one chunk, sized once and reused across batches (no allocation in the time loop).
#[derive(Debug, Clone)]
pub struct Workspace<T> {
    pub capacity: usize,
    /// Per population `(capacity, size)`: synaptic input `a`, current `I`, membrane `U`, last spikes.
    pub a: Vec<Array2<T>>,
    pub i: Vec<Array2<T>>,
    pub u: Vec<Array2<T>>,
    pub s: Vec<Array2<T>>,
    pub o: Array2<T>,
    pub tape: Tape<T>,
    /// Backward buffers, same shapes: dL/dU, dL/dI (= dL/da), dL/ds; dL/dO and its per-step loss input.
    pub gu: Vec<Array2<T>>,
    pub gi: Vec<Array2<T>>,
    pub gs: Vec<Array2<T>>,
    pub go: Array2<T>,
    pub d_o: Vec<T>,
    /// Extra dL/ds per population, `[t][b][unit]` (activity matching), empty when unused.
    pub d_s: Vec<Vec<T>>,
    /// This chunk's gradient.
    pub grad: ParamSet<T>,
    /// Per projection, the transposed weights `W^T` packed for [`crate::dense::gemm_acc`], which the
    /// backward pass multiplies with (filled at its start; empty for projections from the input).
    pub wt: Vec<Vec<T>>,
    /// Per population, the units the backward pass needs `gs` for (compact-support surrogates).
    pub active: Vec<crate::backward::ActiveUnits>,
    /// Per population, the checkpoints `[segment][I, U, s][b][unit]` of [`Recording::Checkpoints`].
    pub ckpt: Vec<Vec<T>>,
    /// Set by the steps of [`forward`] when the spike record cannot grow (out of memory).
    alloc_error: Option<Error>,
}

impl<T: Real> Workspace<T> {
    /// Buffers for chunks of up to `capacity` trials (size it to the chunks it will run: at most
    /// [`CHUNK`], fewer for fewer trials). The per-population buffers are `capacity` x size each,
    /// seven per population: allocated fallibly ([`Error::OutOfMemory`] instead of an abort).
    pub fn new(topo: &Topology, capacity: usize) -> Result<Self> {
        const WHAT: &str = "the per-thread buffers of a chunk of trials (7 x trials x neurons)";
        let per_pop =
            || topo.pops.iter().map(|p| crate::error::try_zeros2((capacity, p.size), WHAT)).collect::<Result<Vec<_>>>();
        Ok(Workspace {
            capacity,
            a: per_pop()?,
            i: per_pop()?,
            u: per_pop()?,
            s: per_pop()?,
            o: crate::error::try_zeros2((capacity, topo.n_outputs), WHAT)?,
            tape: Tape {
                steps: 0,
                batch: 0,
                u: vec![Vec::new(); topo.pops.len()],
                i: vec![Vec::new(); topo.pops.len()],
                spikes: vec![SpikeRecord::default(); topo.pops.len()],
                o: Vec::new(),
                u_start: 0,
                window: None,
            },
            gu: per_pop()?,
            gi: per_pop()?,
            gs: per_pop()?,
            go: crate::error::try_zeros2((capacity, topo.n_outputs), WHAT)?,
            d_o: Vec::new(),
            d_s: vec![Vec::new(); topo.pops.len()],
            grad: ParamSet::zeros(topo),
            wt: vec![Vec::new(); topo.projs.len()],
            active: vec![Default::default(); topo.pops.len()],
            ckpt: vec![Vec::new(); topo.pops.len()],
            alloc_error: None,
        })
    }
}

/// `y += v * x` over two slices of the same length.
#[inline(always)]
pub(crate) fn axpy<T: Real>(y: &mut [T], v: T, x: &[T]) {
    if v == T::one() {
        y.iter_mut().zip(x).for_each(|(a, &b)| *a += b);
    } else {
        y.iter_mut().zip(x).for_each(|(a, &b)| *a += v * b);
    }
}

/// Calls `f(b, unit, value)` for every event that projection `proj` delivers at step `t` to trial
/// `b` of the chunk: the input's counts at `t`, a population's spikes at `t` (feedforward) or at
/// `t - 1` (recurrent and feedback; nothing at `t = 0`).
#[inline(always)]
pub(crate) fn for_each_event<T: Real>(
    proj: &Projection,
    input: &InputEvents<T>,
    spikes: &[SpikeRecord<T>],
    trials: &[usize],
    t: usize,
    mut f: impl FnMut(usize, usize, T),
) {
    match proj.source {
        Endpoint::Input => {
            for (b, &trial) in trials.iter().enumerate() {
                let (ch, ct) = input.at(trial, t);
                ch.iter().zip(ct).for_each(|(&c, &v)| f(b, c as usize, v));
            }
        }
        Endpoint::Pop(q) => {
            if proj.delayed && t == 0 {
                return;
            }
            let ts = if proj.delayed { t - 1 } else { t };
            for b in 0..trials.len() {
                let (idx, val) = spikes[q].at(ts, b);
                idx.iter().zip(val).for_each(|(&c, &v)| f(b, c as usize, v));
            }
        }
        Endpoint::Readout => unreachable!("the readout is never a source"),
    }
}

/// `H(v)`: 1 for `v > 0`, else 0.
#[inline(always)]
fn heaviside<T: Real>(v: T) -> T {
    if v > T::zero() {
        T::one()
    } else {
        T::zero()
    }
}

/// One LIF step of one trial's population, unit by unit: `I = alpha I + a`,
/// `U = update(beta, U, s_prev, I)` (the reset rule), `s = spike(U)`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lif<T: Real>(
    alpha: &[T],
    beta: &[T],
    i: &mut [T],
    u: &mut [T],
    s: &mut [T],
    a: &[T],
    spike: impl Fn(T) -> T,
    update: impl Fn(T, T, T, T) -> T,
) {
    let n = a.len();
    let (alpha, beta, i, u, s) = (&alpha[..n], &beta[..n], &mut i[..n], &mut u[..n], &mut s[..n]);
    for j in 0..n {
        let cur = alpha[j] * i[j] + a[j];
        i[j] = cur;
        let mem = update(beta[j], u[j], s[j], cur);
        u[j] = mem;
        s[j] = spike(mem);
    }
}

/// What a forward pass keeps on the tape besides the spikes and readout traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    /// Nothing else (inference).
    Spikes,
    /// The membrane potentials of every step (the BPTT tape; analysis).
    Membrane,
    /// Checkpointed BPTT (exact gradients, bounded memory): the states `I, U, s` every `k` steps
    /// instead of every membrane potential; the backward pass recomputes one segment of `k` steps
    /// at a time from its checkpoint, so the tape holds `k + 1` steps of `U` instead of all of them,
    /// for one more forward pass. `k` of at least the trial length is [`Recording::Membrane`].
    Checkpoints(usize),
}

/// Simulates the trials `trials` (at most `ws.capacity`) of `input`, writing `ws.tape`, which
/// keeps what `recording` says (the membrane potentials are for the backward pass and analysis).
/// (On the AVX2 path the element-wise code has no fused multiply-add, so the results are
/// bit-identical to the portable version.) Buffers that cannot be allocated give
/// [`Error::OutOfMemory`] instead of aborting the process.
pub fn forward<T: Real>(
    topo: &Topology,
    params: &ParamSet<T>,
    k: &Constants<T>,
    input: &InputEvents<T>,
    trials: &[usize],
    ws: &mut Workspace<T>,
    recording: Recording,
) -> Result<()> {
    let (nb, steps) = (trials.len(), input.n_steps);
    let window = match recording {
        Recording::Checkpoints(w) if w > 0 && w < steps => Some(w),
        _ => None,
    };
    let full = recording != Recording::Spikes && window.is_none();
    begin(topo, ws, nb, steps, full)?;
    ws.tape.window = window;
    if let Some(w) = window {
        for (p, pop) in topo.pops.iter().enumerate() {
            try_fill(&mut ws.ckpt[p], steps.div_ceil(w) * 3 * nb * pop.size, T::zero(), "the BPTT checkpoints")?;
        }
    }
    ws.alloc_error = None;
    run_steps(topo, params, k, input, trials, ws, window, full);
    ws.alloc_error.take().map_or(Ok(()), Err)
}

multiversion! {
    /// The time steps of [`forward`] (after [`begin`]); stops early, with `ws.alloc_error` set, when
    /// the spike record cannot grow.
    fn run_steps<T: Real>(
        topo: &Topology,
        params: &ParamSet<T>,
        k: &Constants<T>,
        input: &InputEvents<T>,
        trials: &[usize],
        ws: &mut Workspace<T>,
        window: Option<usize>,
        full: bool,
    ) {
        forward_body(topo, params, k, input, trials, ws, window, full)
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn forward_body<T: Real>(
    topo: &Topology,
    params: &ParamSet<T>,
    k: &Constants<T>,
    input: &InputEvents<T>,
    trials: &[usize],
    ws: &mut Workspace<T>,
    window: Option<usize>,
    full: bool,
) {
    let nb = trials.len();
    let mode = if full { Mode::Record } else { Mode::Infer };
    for t in 0..input.n_steps {
        if let Some(w) = window {
            if t % w == 0 {
                save_checkpoint(topo, ws, nb, t / w);
            }
        }
        if let Err(e) = reserve_step(topo, ws, nb) {
            ws.alloc_error = Some(e);
            return;
        }
        step(topo, params, k, input, trials, t, ws, mode);
    }
}

/// Room in the spike record for one more step of `nb` trials in which every unit may fire.
pub(crate) fn reserve_step<T: Real>(topo: &Topology, ws: &mut Workspace<T>, nb: usize) -> Result<()> {
    for (rec, pop) in ws.tape.spikes.iter_mut().zip(&topo.pops) {
        rec.try_reserve(nb, nb * pop.size)?;
    }
    Ok(())
}

/// What [`step`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Spikes and readout traces (inference, or the first pass of checkpointed BPTT).
    Infer,
    /// Spikes, readout traces and membrane potentials (full BPTT tape, analysis).
    Record,
    /// Membrane potentials only, re-simulating a segment whose spikes are already on the tape.
    Replay,
}

/// Stores the states `I, U, s` at the start of segment `seg` (the values after step `seg k - 1`).
fn save_checkpoint<T: Real>(topo: &Topology, ws: &mut Workspace<T>, nb: usize, seg: usize) {
    for (p, pop) in topo.pops.iter().enumerate() {
        let len = nb * pop.size;
        let dst = &mut ws.ckpt[p][seg * 3 * len..(seg + 1) * 3 * len];
        for (q, src) in [&ws.i[p], &ws.u[p], &ws.s[p]].into_iter().enumerate() {
            dst[q * len..(q + 1) * len].copy_from_slice(&src.as_slice().expect("standard layout")[..len]);
        }
    }
}

/// Re-simulates segment `seg` of a checkpointed forward pass from its checkpoint, filling the tape
/// with the membrane potentials (and currents, for trained decays) of steps `seg k - 1 ..
/// min(seg k + k, steps)`. The spikes are read from the tape, where the first pass left them
/// (replaying the same arithmetic gives the same values).
pub(crate) fn replay<T: Real>(
    topo: &Topology,
    params: &ParamSet<T>,
    k: &Constants<T>,
    input: &InputEvents<T>,
    trials: &[usize],
    ws: &mut Workspace<T>,
    seg: usize,
) {
    let w = ws.tape.window.expect("replay needs a checkpointed forward pass");
    let (nb, steps) = (trials.len(), ws.tape.steps);
    let t0 = seg * w;
    let t1 = (t0 + w).min(steps);
    ws.tape.u_start = t0.saturating_sub(1);
    for (p, pop) in topo.pops.iter().enumerate() {
        let len = nb * pop.size;
        let src = &ws.ckpt[p][seg * 3 * len..(seg + 1) * 3 * len];
        for (q, dst) in [&mut ws.i[p], &mut ws.u[p], &mut ws.s[p]].into_iter().enumerate() {
            dst.as_slice_mut().expect("standard layout")[..len].copy_from_slice(&src[q * len..(q + 1) * len]);
        }
        let tape = &mut ws.tape;
        tape.u[p].resize((w + 1) * len, T::zero());
        if pop.trainable_tau {
            tape.i[p].resize((w + 1) * len, T::zero());
        }
        if t0 > 0 {
            tape.u[p][..len].copy_from_slice(&src[len..2 * len]);
            if pop.trainable_tau {
                tape.i[p][..len].copy_from_slice(&src[..len]);
            }
        }
    }
    for t in t0..t1 {
        step(topo, params, k, input, trials, t, ws, Mode::Replay);
    }
}

/// Zeroes the states and sizes the tape for `nb` trials of `steps` steps.
pub(crate) fn begin<T: Real>(
    topo: &Topology,
    ws: &mut Workspace<T>,
    nb: usize,
    steps: usize,
    record_u: bool,
) -> Result<()> {
    assert!(nb <= ws.capacity, "chunk larger than its workspace");
    let n_out = topo.n_outputs;
    let tape = &mut ws.tape;
    tape.steps = steps;
    tape.batch = nb;
    tape.u_start = 0;
    tape.window = None;
    for (p, pop) in topo.pops.iter().enumerate() {
        tape.spikes[p].clear(nb);
        if record_u {
            try_fill(&mut tape.u[p], steps * nb * pop.size, T::zero(), "the membrane potentials of the BPTT tape")?;
        }
        if record_u && pop.trainable_tau {
            try_fill(&mut tape.i[p], steps * nb * pop.size, T::zero(), "the synaptic currents of the BPTT tape")?;
        }
        for arr in [&mut ws.i[p], &mut ws.u[p], &mut ws.s[p]] {
            arr.fill(T::zero());
        }
    }
    try_fill(&mut tape.o, steps * nb * n_out, T::zero(), "the readout traces")?;
    ws.o.fill(T::zero());
    Ok(())
}

/// Advances every population and the readout by one step `t` (the tape holds steps `< t`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn step<T: Real>(
    topo: &Topology,
    params: &ParamSet<T>,
    k: &Constants<T>,
    input: &InputEvents<T>,
    trials: &[usize],
    t: usize,
    ws: &mut Workspace<T>,
    mode: Mode,
) {
    let nb = trials.len();
    let n_out = topo.n_outputs;
    let sg = k.surrogate;
    let record_u = mode != Mode::Infer;
    let tape = &mut ws.tape;
    for &p in &topo.order {
        let n = topo.pops[p].size;
        let a = ws.a[p].as_slice_mut().expect("standard layout");
        let bias = params.b[p].as_slice().expect("standard layout");
        for b in 0..nb {
            a[b * n..(b + 1) * n].copy_from_slice(bias);
        }
        for &j in &topo.into[p] {
            let proj = &topo.projs[j];
            let w = &params.w[j];
            for_each_event(proj, input, &tape.spikes, trials, t, |b, c, v| {
                axpy(&mut a[b * n..(b + 1) * n], v, w.row(c).to_slice().expect("standard layout"));
            });
        }
        // LIF update, unit by unit.
        let alpha = params.alpha[p].as_slice().expect("standard layout");
        let beta = params.beta[p].as_slice().expect("standard layout");
        let theta = k.theta[p];
        let reset = topo.pops[p].reset;
        let record_i = record_u && topo.pops[p].trainable_tau;
        let i_s = ws.i[p].as_slice_mut().expect("standard layout");
        let u_s = ws.u[p].as_slice_mut().expect("standard layout");
        let s_s = ws.s[p].as_slice_mut().expect("standard layout");
        let rec = &mut tape.spikes[p];
        for b in 0..nb {
            let r = b * n..(b + 1) * n;
            let (ib, ub, sb, ab) = (&mut i_s[r.clone()], &mut u_s[r.clone()], &mut s_s[r.clone()], &a[r]);
            // Branch-free loops (one per reset kind and spike function) that the compiler turns
            // into SIMD code; the spikes are collected in a second pass.
            match (reset, sg.smooth) {
                (Reset::Subtract, false) => {
                    lif(alpha, beta, ib, ub, sb, ab, |u| heaviside(u - theta), |b, u, s, c| b * u + c - theta * s)
                }
                (Reset::Zero, false) => {
                    lif(alpha, beta, ib, ub, sb, ab, |u| heaviside(u - theta), |b, u, s, c| b * u * (T::one() - s) + c)
                }
                (Reset::Subtract, true) => {
                    lif(alpha, beta, ib, ub, sb, ab, |u| sg.spike(u - theta), |b, u, s, c| b * u + c - theta * s)
                }
                (Reset::Zero, true) => {
                    lif(alpha, beta, ib, ub, sb, ab, |u| sg.spike(u - theta), |b, u, s, c| b * u * (T::one() - s) + c)
                }
            }
            if mode != Mode::Replay {
                // Most units are silent: test 8 at a time without branches, then look inside.
                for (c, group) in sb.chunks(8).enumerate() {
                    if group.iter().fold(false, |any, &x| any | (x != T::zero())) {
                        for (j, &spike) in group.iter().enumerate() {
                            if spike != T::zero() {
                                rec.push(c * 8 + j, spike);
                            }
                        }
                    }
                }
                rec.close();
            }
            if record_u {
                let start = ((t - tape.u_start) * nb + b) * n;
                tape.u[p][start..start + n].copy_from_slice(ub);
                if record_i {
                    tape.i[p][start..start + n].copy_from_slice(ib);
                }
            }
        }
    }
    if mode == Mode::Replay {
        return;
    }
    // Readout.
    let o = ws.o.as_slice_mut().expect("standard layout");
    let b_out = params.b_out.as_slice().expect("standard layout");
    for b in 0..nb {
        let ob = &mut o[b * n_out..(b + 1) * n_out];
        ob.iter_mut().zip(b_out).for_each(|(x, &c)| *x = k.beta_out * *x + c);
    }
    for &j in &topo.readout {
        let w = &params.w[j];
        for_each_event(&topo.projs[j], input, &tape.spikes, trials, t, |b, c, v| {
            axpy(&mut o[b * n_out..(b + 1) * n_out], v, w.row(c).to_slice().expect("standard layout"));
        });
    }
    let w = nb * n_out;
    tape.o[t * w..(t + 1) * w].copy_from_slice(&o[..w]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::NetworkSpec;
    use ndarray::Array3;

    /// Zero weights and biases, the topology's decay factors.
    fn hand_params(topo: &Topology) -> ParamSet<f64> {
        let (mut p, _) = ParamSet::<f64>::init(topo, 0);
        p.w.iter_mut().for_each(|w| w.fill(0.0));
        p
    }

    /// One neuron, one input channel, weights set by hand: the trajectory is computed by hand.
    #[test]
    fn single_neuron_hand_computed() {
        let mut spec = NetworkSpec::srnn(1, 1, 1);
        spec.populations[0].tau_syn = crate::topology::TimeConstant::Shared(0.0); // alpha = 0
        spec.tau_out = 0.0; // beta_o = 0: O[t] = w_out s[t] + b_out
        let topo = Topology::compile(&spec).unwrap();
        let k = Constants::<f64>::new(&topo);
        let beta = (-1.0f64 / 20.0).exp();
        let mut params = hand_params(&topo);
        params.w[0][[0, 0]] = 0.6; // w_in
        params.w[1][[0, 0]] = 0.0; // w_rec
        params.w[2][[0, 0]] = 2.0; // w_out
        params.b_out[0] = 0.5;
        let mut x = Array3::<u8>::zeros((1, 4, 1));
        x[[0, 0, 0]] = 1;
        x[[0, 1, 0]] = 1;
        x[[0, 3, 0]] = 2;
        let ev = InputEvents::from_dense(x.view()).unwrap();
        let mut ws = Workspace::new(&topo, 1).unwrap();
        forward(&topo, &params, &k, &ev, &[0], &mut ws, Recording::Membrane).unwrap();
        // U0 = 0.6 (no spike); U1 = 0.6 beta + 0.6 > 1 -> spike; U2 = beta U1 - 1 (subtract);
        // U3 = beta U2 + 1.2 - 0.
        let u0 = 0.6;
        let u1 = beta * u0 + 0.6;
        let u2 = beta * u1 - 1.0;
        let u3 = beta * u2 + 1.2;
        let got: Vec<f64> = (0..4).map(|t| ws.tape.u_at(0, 1, t, 0)[0]).collect();
        for (g, e) in got.iter().zip([u0, u1, u2, u3]) {
            assert!((g - e).abs() < 1e-12, "{got:?}");
        }
        let s: Vec<usize> = (0..4).map(|t| ws.tape.spikes[0].at(t, 0).0.len()).collect();
        assert_eq!(s, vec![0, 1, 0, if u3 > 1.0 { 1 } else { 0 }]);
        assert!((ws.tape.o[1] - 2.5).abs() < 1e-12 && (ws.tape.o[0] - 0.5).abs() < 1e-12);
    }

    /// The spec's `H(0) = 0`: a membrane potential exactly at the threshold does not spike, one
    /// just above it does (both reset kinds use the same step function).
    #[test]
    fn membrane_exactly_at_threshold_does_not_spike() {
        for reset in [Reset::Subtract, Reset::Zero] {
            let mut spec = NetworkSpec::srnn(1, 2, 1);
            spec.populations[0].tau_syn = crate::topology::TimeConstant::Shared(0.0); // alpha = 0
            spec.populations[0].reset = reset;
            let topo = Topology::compile(&spec).unwrap();
            let k = Constants::<f64>::new(&topo);
            let mut params = hand_params(&topo);
            // U[0] = w_in x[0] + b: exactly theta = 1 for unit 0, just above it for unit 1
            params.w[0][[0, 0]] = 0.75;
            params.w[0][[0, 1]] = 0.75;
            params.b[0][0] = 0.25;
            params.b[0][1] = 0.25 + 1e-12;
            let mut x = Array3::<u8>::zeros((1, 1, 1));
            x[[0, 0, 0]] = 1;
            let ev = InputEvents::from_dense(x.view()).unwrap();
            let mut ws = Workspace::new(&topo, 1).unwrap();
            forward(&topo, &params, &k, &ev, &[0], &mut ws, Recording::Membrane).unwrap();
            assert_eq!(ws.tape.u_at(0, 2, 0, 0)[0], 1.0);
            assert_eq!(ws.tape.spikes[0].at(0, 0).0, &[1], "{reset:?}: only the unit above the threshold fires");
        }
    }

    #[test]
    fn zero_reset_and_synaptic_current() {
        let mut spec = NetworkSpec::srnn(1, 1, 1);
        spec.populations[0].reset = Reset::Zero;
        let topo = Topology::compile(&spec).unwrap();
        let k = Constants::<f64>::new(&topo);
        let (alpha, beta) = ((-0.2f64).exp(), (-0.05f64).exp());
        let mut params = hand_params(&topo);
        params.w[0][[0, 0]] = 0.8;
        params.b[0][0] = 0.1;
        let mut x = Array3::<u8>::zeros((1, 3, 1));
        x[[0, 0, 0]] = 1;
        let ev = InputEvents::from_dense(x.view()).unwrap();
        let mut ws = Workspace::new(&topo, 1).unwrap();
        forward(&topo, &params, &k, &ev, &[0], &mut ws, Recording::Membrane).unwrap();
        let i0 = 0.9;
        let u0 = i0; // 0.9 < 1: no spike
        let i1 = alpha * i0 + 0.1;
        let u1 = beta * u0 + i1; // > 1: spike
        assert!(u1 > 1.0);
        let i2 = alpha * i1 + 0.1;
        let u2 = beta * u1 * 0.0 + i2; // reset to zero
        for (t, e) in [u0, u1, u2].into_iter().enumerate() {
            assert!((ws.tape.u_at(0, 1, t, 0)[0] - e).abs() < 1e-12);
        }
    }

    /// The lockstep chunk gives each trial the same result as simulating it alone.
    #[test]
    fn trials_are_independent_in_a_chunk() {
        let spec = NetworkSpec::srnn(5, 7, 2);
        let topo = Topology::compile(&spec).unwrap();
        let k = Constants::<f64>::new(&topo);
        let (mut params, _) = ParamSet::<f64>::init(&topo, 3);
        params.w[0] *= 3.0;
        let x = Array3::from_shape_fn((3, 20, 5), |(n, t, c)| ((n * 7 + t * 3 + c) % 4 == 0) as u8);
        let ev = InputEvents::from_dense(x.view()).unwrap();
        let mut ws = Workspace::new(&topo, 3).unwrap();
        forward(&topo, &params, &k, &ev, &[0, 1, 2], &mut ws, Recording::Membrane).unwrap();
        let mut alone = Workspace::new(&topo, 1).unwrap();
        forward(&topo, &params, &k, &ev, &[2], &mut alone, Recording::Membrane).unwrap();
        assert!(!ws.tape.spikes[0].is_empty());
        for t in 0..20 {
            assert_eq!(ws.tape.u_at(0, 7, t, 2), alone.tape.u_at(0, 7, t, 0));
            assert_eq!(&ws.tape.o[(t * 3 + 2) * 2..(t * 3 + 3) * 2], &alone.tape.o[t * 2..t * 2 + 2]);
        }
    }
}
