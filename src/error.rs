//! The one error type of the core. The Python binding maps each variant to an exception.

use thiserror::Error;

/// Everything that can go wrong in the core, as a value (the core never panics on user input).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// Arrays or options a user passed are not acceptable (shape, value, range).
    #[error("{0}")]
    InvalidInput(String),
    /// The description of populations and projections is inconsistent.
    #[error("invalid topology: {0}")]
    InvalidTopology(String),
    /// The loss or a gradient became NaN or infinite during training.
    #[error("training diverged: non-finite loss, gradient or optimiser state at epoch {epoch}, batch {batch}; the weights were set back to the last ones whose loss was finite (lower learning_rate, or check the input scale)")]
    Diverged { epoch: usize, batch: usize },
    /// A model file or byte string could not be read.
    #[error("model file format: {0}")]
    FileFormat(String),
    /// The caller asked training to stop (e.g. Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    /// A buffer of the simulation could not be allocated (the work does not fit in memory).
    #[error("out of memory: cannot allocate {what} ({:.3} GiB); simulate fewer trials or shorter trials at a time, set a smaller bptt_window, or use fewer threads (n_jobs)", *bytes as f64 / 1073741824.0)]
    OutOfMemory { what: &'static str, bytes: usize },
}

/// A zero-filled (default-filled) array of `shape`, or [`Error::OutOfMemory`] instead of aborting
/// the process when it cannot be allocated.
pub(crate) fn try_zeros3<A: Clone + Default>(
    shape: (usize, usize, usize),
    what: &'static str,
) -> Result<ndarray::Array3<A>> {
    let len = shape.0.saturating_mul(shape.1).saturating_mul(shape.2);
    let mut v = Vec::new();
    try_fill(&mut v, len, A::default(), what)?;
    Ok(ndarray::Array3::from_shape_vec(shape, v).expect("length matches the shape"))
}

/// A zero-filled (default-filled) 2-D array of `shape`, or [`Error::OutOfMemory`] (see
/// [`try_zeros3`]).
pub(crate) fn try_zeros2<A: Clone + Default>(shape: (usize, usize), what: &'static str) -> Result<ndarray::Array2<A>> {
    let mut v = Vec::new();
    try_fill(&mut v, shape.0.saturating_mul(shape.1), A::default(), what)?;
    Ok(ndarray::Array2::from_shape_vec(shape, v).expect("length matches the shape"))
}

/// Sets `v` to `len` copies of `value`, returning [`Error::OutOfMemory`] instead of aborting the
/// process when the allocation fails.
pub(crate) fn try_fill<T: Clone>(v: &mut Vec<T>, len: usize, value: T, what: &'static str) -> Result<()> {
    v.clear();
    v.try_reserve_exact(len)
        .map_err(|_| Error::OutOfMemory { what, bytes: len.saturating_mul(std::mem::size_of::<T>()) })?;
    v.resize(len, value);
    Ok(())
}

/// Result type of the core.
pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for an [`Error::InvalidInput`] with a formatted message.
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::error::Error::InvalidInput(format!($($arg)*)) };
}
pub(crate) use invalid;
