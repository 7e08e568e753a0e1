//! (in progress)
use driftbench_core::Learner;
use driftbench_tasks::Sorting;

/// The program-search learners of this task.
pub fn learners() -> Vec<Box<dyn Learner<Sorting>>> {
    Vec::new()
}
