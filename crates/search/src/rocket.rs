//! (in progress)
use driftbench_core::Learner;
use driftbench_tasks::Rocket;

/// The program-search learners of this task.
pub fn learners() -> Vec<Box<dyn Learner<Rocket>>> {
    Vec::new()
}
