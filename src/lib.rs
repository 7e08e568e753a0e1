//! The `driftbench` crate: the task registry and the suite runner behind the CLI.
//!
//! [`registry`] is the one list a new task is added to; everything else (the CLI, records, report, benches)
//! reads the tasks from it.
//!
//! The crate's rooms: [`registry`](registry()) and task selection (`registry.rs`), the README's task table
//! (`task_table.rs`), profiles (`profiles.rs`), the suite runner (`suite.rs`), provenance (`provenance.rs`), the
//! canonical datasets (`datasets.rs`), reading records back (`records.rs`), `--shard` parsing (`shard.rs`) and
//! the errors they share (`error.rs`).

// So that the command line's code names the crate's items as a dependent crate would (`driftbench::registry`).
extern crate self as driftbench;

mod check;
pub mod cli;
pub mod cost;
mod datasets;
mod entry;
mod error;
mod profiles;
mod provenance;
mod records;
mod registry;
mod shard;
mod suite;
mod task_table;
pub use check::{check_tasks, TaskCheck, DRIFT_CHECK_MIN};
pub use datasets::{generate_datasets, seal_datasets, verify_datasets};
pub use entry::{Entry, GridPolicy, NoShape, Policy, PolicyShaped, Seq, Vector};
pub use error::SuiteError;
pub use profiles::{resolve_profile, with_task_sizes};
pub use provenance::{provenance, uncommitted_code, CODE_PATHS};
pub use records::{check_registered, read_records};
pub use registry::{add_externals, registry, select_tasks, superseded, task_version};
pub use shard::{parse_shard, ShardError};
pub use suite::{check_threads, max_threads, run_suite, run_suite_with, Experiments, RunOutcome, RunPlan};
pub use task_table::{splice_task_table, task_table, TASK_TABLE_MARKERS};
