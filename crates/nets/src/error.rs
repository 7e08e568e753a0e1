//! Errors of the nets crate.

/// Errors raised while building, training or running a network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A tensor operation failed (the message without candle's backtrace).
    #[error("tensor operation failed: {}", without_backtrace(.0))]
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

/// A candle error's message without the backtrace candle attaches when `RUST_BACKTRACE` is set: a user reads
/// what failed, not the stack.
fn without_backtrace(e: &candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => without_backtrace(inner),
        candle_core::Error::Context { inner, context } => format!("{context}: {}", without_backtrace(inner)),
        other => other.to_string(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_errors_read_without_candle_backtraces() {
        let boom = || Box::new(candle_core::Error::Msg("shape mismatch".into()));
        let traced = candle_core::Error::WithBacktrace {
            inner: boom(),
            backtrace: Box::new(std::backtrace::Backtrace::force_capture()),
        };
        assert_eq!(NetError::from(traced).to_string(), "tensor operation failed: shape mismatch");
        let context = candle_core::Error::Context { inner: boom(), context: Box::new("predicting") };
        assert_eq!(NetError::from(context).to_string(), "tensor operation failed: predicting: shape mismatch");
    }
}
