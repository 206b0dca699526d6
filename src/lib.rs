//! # motorsrnn core
//!
//! A pure-Rust engine for recurrent spiking neural networks of leaky integrate-and-fire neurons,
//! trained by backpropagation through time with surrogate gradients. One module per concept:
//!
//! | module | what lives there |
//! |---|---|
//! | [`neuron`] | LIF decay factors, reset kinds, surrogate functions (the LIF update itself is in [`forward`]) |
//! | [`topology`] | populations, projections, readout; validation and update order; the single-population network (the other presets are built in Python, `motorsrnn/topology.py`) |
//! | [`params`] | weights and biases, seeded initialisation, masks |
//! | [`spikes`] | input spikes as events, sparse spike records |
//! | [`augment`] | training-time jitter of the input spikes (counts kept, timing redrawn each epoch) |
//! | [`stream`] | streaming (bin by bin) inference for closed-loop decoding |
//! | [`forward`] | the LIF update, and the event-driven simulation of a chunk of trials; the tape |
//! | [`backward`] | BPTT over the tape |
//! | [`dense`] | the dense products of the backward pass (weights packed once per pass; AVX-512 or AVX2 + FMA when the CPU has them) |
//! | [`loss`] | readout to logits; cross-entropy, mean squared error, activity matching and the rate penalty, with their gradients w.r.t. the readout traces and spikes |
//! | [`optim`] | Adam, AdamW and SGD, weight decay, clipping |
//! | [`model`] | a network with data-set level operations (logits, simulate, loss and gradient) |
//! | [`train`] | epochs, shuffling, mini-batches, validation, early stopping, monitor hook |
//! | [`modelfile`] | the versioned model file format |
//! | [`random`] | keyed random streams, so parallel work gives the same numbers for any thread count |
//! | [`tuning`] | directional tuning of many neurons: cosine fits, bootstrap, permutation test, von Mises |
//! | [`error`] | the core's error type (each kind becomes a Python exception in `python`) |
//! | [`real`] | the float trait the numerics are generic over (f32 in use, f64 in the tests) |
//! | `python` | the only module that knows Python (feature `python`) |

pub mod augment;
pub mod backward;
pub mod dense;
pub mod error;
pub mod forward;
pub mod loss;
pub mod model;
pub mod modelfile;
pub mod neuron;
pub mod optim;
pub mod params;
pub mod random;
pub mod real;
pub mod spikes;
pub mod stream;
pub mod topology;
pub mod train;
pub mod tuning;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
pub use model::Model;
pub use topology::NetworkSpec;
