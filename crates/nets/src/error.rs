//! Errors of the nets crate.

/// Errors raised while building, training or running a network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A tensor operation failed.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// The task's encoding does not fit the model.
    #[error("encoding mismatch: {0}")]
    Encoding(String),
    /// Training diverged (the loss became NaN or infinite).
    #[error("training diverged at step {step}: loss {loss}")]
    Diverged { step: u64, loss: f32 },
    /// The training set is empty.
    #[error("no training examples")]
    NoData,
}

/// Result alias for the nets crate.
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// A failure while answering, as the core crate reports it, naming the task and the solver.
pub(crate) fn solve_error(task: &str, solver: &str, e: NetError) -> driftbench_core::Error {
    driftbench_core::Error::Solve { task: task.into(), solver: solver.into(), reason: e.to_string() }
}

/// A training failure as the core crate reports it, naming the task and the solver.
pub(crate) fn training_error(task: &str, solver: &str, e: NetError) -> driftbench_core::Error {
    driftbench_core::Error::Training { task: task.into(), solver: solver.into(), reason: e.to_string() }
}
