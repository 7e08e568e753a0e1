//! Program-search learners: the third kind of contestant. Each learns from exactly the training data the
//! networks of its task get, but searches a space of small programs over a published DSL instead of fitting a
//! continuous map. The DSLs, caps and selection rules are documented in `docs/program-search.md`, and every run
//! record carries its learner's DSL in the config.
//!
//! - [`enumerate`]: the generic bottom-up enumerator with observational-equivalence pruning and hard caps.
//! - [`sorting`], [`rocket`], [`navigation`]: one DSL and learner set per task.
//! - [`lookup`]: the memorisation baseline of navigation (the planner's action in the nearest training state),
//!   kept here because, like the searches, it needs the task's observation layout and no network.
//!
//! A search that finds no program within its caps is a result, not an error: the learner trains, records
//! `none found: <cap>` as its program, and its solver gives no answer on every instance.
pub mod enumerate;
pub mod lookup;
pub mod navigation;
pub mod rocket;
pub mod sorting;

/// Errors of the program-search learners (a search that finds nothing is not one).
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The training data hold nothing the search can learn from.
    #[error("no usable training data: {0}")]
    NoData(String),
}

/// A training failure as the core crate reports it, naming the task and the solver.
pub(crate) fn training_error(task: &str, solver: &str, e: SearchError) -> driftbench_core::Error {
    driftbench_core::Error::Learner { task: task.into(), solver: solver.into(), source: Box::new(e) }
}
