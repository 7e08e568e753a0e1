//! (in progress)
use driftbench_core::Learner;
use driftbench_tasks::Navigation;

/// The program-search learners of this task.
pub fn learners() -> Vec<Box<dyn Learner<Navigation>>> {
    Vec::new()
}
