//! One error type for the core crate, with the context a user needs to fix the problem.
use std::path::PathBuf;

/// Errors raised by driftbench-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A drift axis name that the task does not define.
    #[error("task `{task}` has no drift axis `{axis}` (axes: {known})")]
    UnknownAxis { task: String, axis: String, known: String },
    /// A drift level above 0 given without the axis it drifts along.
    #[error("drift level {level} needs a drift axis (axes of {task}: {known})")]
    MissingAxis { task: String, level: u32, known: String },
    /// A drift level outside 0..=4.
    #[error("drift level {level} is out of range: levels run from 0 to {max}")]
    LevelOutOfRange { level: u32, max: u8 },
    /// Reading or writing a file failed. The OS error is part of the message and deliberately not the error's
    /// `source()`, so that a chain printed with `{:#}` names it once.
    #[error("{action} `{path}`: {err}")]
    Io { action: &'static str, path: PathBuf, err: std::io::Error },
    /// A JSON document (record, dataset line, manifest) did not parse (the parser's message is part of this one,
    /// as for [`Error::Io`]).
    #[error("malformed JSON in `{path}`{}: {err}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Json { path: PathBuf, line: Option<usize>, err: serde_json::Error },
    /// A dataset file does not match the hash recorded in its manifest.
    #[error("dataset `{path}` does not match its manifest: expected BLAKE3 {expected}, found {found}")]
    HashMismatch { path: PathBuf, expected: String, found: String },
    /// A dataset or record is well-formed JSON but violates the format.
    #[error("invalid data in `{path}`: {reason}")]
    Invalid { path: PathBuf, reason: String },
    /// An output folder that cannot be created because the existing folder above it refuses new entries.
    #[error("the {what} `{path}` cannot be created: `{above}` above it is not writable: {err}")]
    Unwritable { what: &'static str, path: PathBuf, above: PathBuf, err: std::io::Error },
    /// Test sets that hold one instance twice (it would be counted twice).
    #[error("{task}: the test sets repeat an instance ({here} is {before}); regenerate them")]
    RepeatedInstance { task: String, here: String, before: String },
    /// A count or scale outside its bound ([`crate::bounds`]); `what` is the argument or field as the user wrote it.
    #[error("{what} {reason}")]
    OutOfBounds { what: String, reason: String },
    /// A generated or loaded instance failed the task's own validation.
    #[error("invalid {task} instance: {reason}")]
    InvalidInstance { task: String, reason: String },
    /// A non-finite number where a finite one is required.
    #[error("non-finite value in {what}")]
    NonFinite { what: String },
    /// A learner failed to train (the message comes from the learner's own crate).
    #[error("training `{solver}` on `{task}` failed: {reason}")]
    Training { task: String, solver: String, reason: String },
    /// A learner failed to train, with the learner crate's own error kept as the source.
    #[error("training `{solver}` on `{task}` failed")]
    Learner {
        /// The task.
        task: String,
        /// The learner.
        solver: String,
        /// The learner crate's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A solver outside the process that cannot be added to a task (no learning shape, a name already taken).
    #[error("external solver `{solver}` on `{task}`: {reason}")]
    External { task: String, solver: String, reason: String },
    /// A solver failed while answering.
    #[error("solver `{solver}` failed on `{task}`: {reason}")]
    Solve { task: String, solver: String, reason: String },
}

/// Result alias for driftbench-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the action and path it concerns.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, err: std::io::Error) -> Self {
        Error::Io { action, path: path.into(), err }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints an error the way the binary does (anyhow's `{:#}`): the message and every `source()` after it.
    fn chain(e: &(dyn std::error::Error + 'static)) -> String {
        let mut out = e.to_string();
        let mut cur = e.source();
        while let Some(s) = cur {
            out.push_str(&format!(": {s}"));
            cur = s.source();
        }
        out
    }

    #[test]
    fn io_and_json_errors_print_their_cause_once() {
        let io = Error::io("creating folder", "out", std::io::Error::from_raw_os_error(17));
        let text = chain(&io);
        assert_eq!(text.matches("os error 17").count(), 1, "{text}");
        assert!(text.starts_with("creating folder `out`: "), "{text}");
        let json = serde_json::from_str::<u32>("x").unwrap_err();
        let msg = json.to_string();
        let text = chain(&Error::Json { path: "r.json".into(), line: Some(2), err: json });
        assert_eq!(text.matches(&msg).count(), 1, "{text}");
    }
}
