//! One error type for the core crate, with the context a user needs to fix the problem.
use std::path::PathBuf;

/// Errors raised by driftbench-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A drift axis name that the task does not define.
    #[error("task `{task}` has no drift axis `{axis}` (axes: {known})")]
    UnknownAxis { task: String, axis: String, known: String },
    /// A drift level outside 0..=4.
    #[error("drift level {level} is out of range: levels run from 0 to {max}")]
    LevelOutOfRange { level: u32, max: u8 },
    /// Reading or writing a file failed.
    #[error("{action} `{path}`: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    /// A JSON document (record, dataset line, manifest) did not parse.
    #[error("malformed JSON in `{path}`{}: {source}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Json { path: PathBuf, line: Option<usize>, source: serde_json::Error },
    /// A dataset file does not match the hash recorded in its manifest.
    #[error("dataset `{path}` does not match its manifest: expected BLAKE3 {expected}, found {found}")]
    HashMismatch { path: PathBuf, expected: String, found: String },
    /// A dataset or record is well-formed JSON but violates the format.
    #[error("invalid data in `{path}`: {reason}")]
    Invalid { path: PathBuf, reason: String },
    /// A generated or loaded instance failed the task's own validation.
    #[error("invalid {task} instance: {reason}")]
    InvalidInstance { task: String, reason: String },
    /// A non-finite number where a finite one is required.
    #[error("non-finite value in {what}")]
    NonFinite { what: String },
    /// A learner failed to train (the message comes from the learner's own crate).
    #[error("training `{solver}` on `{task}` failed: {reason}")]
    Training { task: String, solver: String, reason: String },
    /// A solver failed while answering.
    #[error("solver `{solver}` failed on `{task}`: {reason}")]
    Solve { task: String, solver: String, reason: String },
}

/// Result alias for driftbench-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the action and path it concerns.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }
}
