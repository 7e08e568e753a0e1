//! Errors of the suite runner.

/// Errors of the suite runner.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// A task name that matches no registered task.
    #[error("unknown task `{name}` (tasks: {known})")]
    UnknownTask { name: String, known: String },
    /// A solver name that no selected task has.
    #[error("unknown solver `{name}` for {task} (solvers: {known})")]
    UnknownSolver { name: String, task: String, known: String },
    /// A value given twice where each must be distinct (seeds, tasks, solvers): the job would run twice.
    #[error("{what} `{value}` is given twice")]
    Repeated { what: &'static str, value: String },
    /// A worker-thread count out of range.
    #[error("--threads {threads} is out of range: give 1 to {max} (4 per core of this machine, at least 64)")]
    Threads { threads: usize, max: usize },
    /// More seeds than a run accepts ([`driftbench_core::bounds::SEEDS`]).
    #[error("--seeds lists {count} seeds, more than the {max} a run accepts: {reason}")]
    TooManySeeds { count: usize, max: u64, reason: &'static str },
    /// A records folder that already holds records of a selected task made under another profile: the report
    /// could not pool them, so the run is refused before any training.
    #[error(
        "{folder} already holds {task} records of profile {theirs}, and this run uses {ours}: pass another --out \
         (records of one task from two profiles cannot be reported together)"
    )]
    MixedProfiles { folder: String, task: String, theirs: String, ours: String },
    /// Test sets that were sealed and may not be regenerated.
    #[error(
        "{task}'s test sets were sealed on {date} at {commit}: sealed sets are never regenerated (that would let \
         a new draw replace the one the configurations were judged on); register a new task version for new sets"
    )]
    Sealed { task: String, date: String, commit: String },
    /// Sealing refused (no sets, sealed already, or code not committed).
    #[error("cannot seal {task}: {reason}")]
    Seal { task: String, reason: String },
    /// An error from the core crate.
    #[error(transparent)]
    Core(#[from] driftbench_core::Error),
    /// A profile that cannot be used.
    #[error(transparent)]
    Profile(#[from] driftbench_core::profile::ProfileError),
}
