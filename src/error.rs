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
    #[error("training diverged: non-finite loss or gradient at epoch {epoch}, batch {batch}; the weights were left at their last finite values (lower learning_rate, or check the input scale)")]
    Diverged { epoch: usize, batch: usize },
    /// A model file or byte string could not be read.
    #[error("model file format: {0}")]
    FileFormat(String),
    /// The caller asked training to stop (e.g. Ctrl-C).
    #[error("interrupted")]
    Interrupted,
}

/// Result type of the core.
pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for an [`Error::InvalidInput`] with a formatted message.
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::error::Error::InvalidInput(format!($($arg)*)) };
}
pub(crate) use invalid;
