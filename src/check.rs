//! `driftbench check`: the registry-wide checks on the selected tasks, with every task's failures collected
//! rather than stopping at the first failing task, and what a small instance space leaves for training.
use driftbench_core::bench::DynTask;
use driftbench_core::dataset::CANONICAL_SEED;
use driftbench_core::{Cell, Profile};
use rayon::prelude::*;

/// The fewest instances per cell the drift-placement check measures (`--n` raises it): features are compared by
/// their means, which need a sample this large to hold still within the tasks' tolerances.
pub const DRIFT_CHECK_MIN: usize = 1000;

/// What `driftbench check` found for one task.
#[derive(Debug, Clone)]
pub struct TaskCheck {
    /// The task's id.
    pub id: &'static str,
    /// Every check the task failed, each as one message; empty when it passed.
    pub failures: Vec<String>,
    /// What the checks found beside passing or failing: the edge-instance counts and, where the task says how
    /// many instances a cell can generate, what the test sets leave free (with a warning where it is little).
    pub notes: Vec<String>,
}

impl TaskCheck {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs the checks on each of `tasks` (in parallel, results in the given order): the self-check with `n`
/// instances per cell ([`DynTask::self_check`]), the contract at the edges of the instance type
/// ([`DynTask::edge_check`]), and the test sets drawn at `profile`'s size per cell, as `datasets generate` draws
/// them (each cell must give that many distinct instances). Sizes of training and validation sets come from
/// `profile`, which should hold the tasks' own sizes ([`crate::with_task_sizes`]).
pub fn check_tasks(tasks: &[&dyn DynTask], n: usize, profile: &Profile) -> Vec<TaskCheck> {
    tasks.par_iter().map(|t| check_task(*t, n, profile)).collect()
}

fn check_task(t: &dyn DynTask, n: usize, profile: &Profile) -> TaskCheck {
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    if let Err(e) = t.self_check(1, n) {
        failures.push(e);
    }
    match t.edge_check(2, n) {
        Ok(edges) => notes.push(format!(
            "{} edge instances accepted and solved, {} rejected with a named field",
            edges.accepted, edges.rejected
        )),
        Err(e) => failures.push(e),
    }
    let per_cell = profile.test_per_cell;
    if let Err(e) = t.generate_test_sets(per_cell, CANONICAL_SEED) {
        failures.push(format!("test sets of {per_cell} per cell: {e}"));
    }
    notes.extend(space_notes(t, profile));
    match t.drift_check(1, n.max(DRIFT_CHECK_MIN)) {
        None => notes.push("axes not placed along a factor (a task before -v2): no drift-placement check".into()),
        Some(report) => {
            failures.extend(report.failures.iter().map(|f| format!("drift placement: {f}")));
            notes.extend(report.lines());
        }
    }
    TaskCheck { id: t.id(), failures, notes }
}

/// One line per cell whose instance space the task reports ([`DynTask::instance_space`]): its size against the
/// test set and, at level 0 (where validation and training are drawn), what is left for them under `profile`.
fn space_notes(t: &dyn DynTask, profile: &Profile) -> Vec<String> {
    let axes = t.axes();
    let test = profile.test_per_cell as u128;
    let (val, train) = (profile.val_examples_for(t.id()) as u128, profile.train_examples_for(t.id()) as u128);
    let mut notes = Vec::new();
    for cell in Cell::grid(axes.len()) {
        let Some(space) = t.instance_space(cell) else { continue };
        let label = cell.label(axes);
        if cell.level != 0 {
            notes.push(format!("{label}: {} distinct instances, test set {}", thousands(space), thousands(test)));
            continue;
        }
        // At most: test instances of other cells may fall in level 0's space too.
        let free = space.saturating_sub(test);
        let for_training = free.saturating_sub(val);
        // Training draws may repeat an instance but skip test and validation ones, for at most
        // max(20 × asked, 1000) draws (crates/core/src/bench/prepared.rs): the expected share it gets.
        let draws = (20 * train).max(1000) as f64;
        let expected = (draws * for_training as f64 / space.max(1) as f64 / train.max(1) as f64).min(1.0);
        let mut line = format!(
            "{label}: {} distinct instances; the test set takes {}, leaving at most {} for validation ({} asked by \
             profile {}) and then {} for training ({} asked; training draws may repeat instances): expect about \
             {:.0}% of the training set",
            thousands(space),
            thousands(test),
            thousands(free),
            thousands(val),
            profile.name,
            thousands(for_training),
            thousands(train),
            100.0 * expected
        );
        if val > free || expected < driftbench_core::data::SHRUNK_BELOW {
            line.push_str(
                ". WARNING: the training or validation set will shrink; lower the task's validation size \
                 (`Task::val_examples_by_profile`, or the profile's [val_examples_by_task]) or widen its level 0",
            );
        }
        notes.push(line);
    }
    notes
}

/// `n` with a comma every three digits.
fn thousands(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(2044), "2,044");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
