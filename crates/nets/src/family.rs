//! One learner shape for everything this crate trains: a [`Family`] says what it is and fits a solver to a
//! training run ([`Fit`]); [`Net`] makes any family a [`Learner`], so the wrapper every learner needs (its kind,
//! the error that names the task and the learner, the boxed solver) is written once.
//!
//! The built-in families are the sequence families ([`crate::SeqLearner`]), the pointer network, the vector MLPs,
//! imitation, PPO and the value-iteration network; the memorisation baselines of this crate are families of kind
//! [`SolverKind::Baseline`]. `docs/adding-a-network.md` shows a family written outside the crate.
use crate::error::{training_error, Result};
use driftbench_core::{Learner, Profile, Solver, SolverKind, Task, TrainData, TrainStats};

/// A trained solver and what its training measured.
pub type Trained<T> = (Box<dyn Solver<T>>, TrainStats);

/// One training run as a family sees it: the task, its data, the profile's budget, the seed and where to report
/// progress (a fraction in 0..=1).
pub struct Fit<'a, T: Task> {
    /// The task.
    pub task: &'a T,
    /// Training and validation instances.
    pub data: &'a TrainData<T>,
    /// The budget profile.
    pub profile: &'a Profile,
    /// The run's seed.
    pub seed: u64,
    /// Progress callback.
    pub progress: &'a dyn Fn(f64),
}

impl<T: Task> Clone for Fit<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Task> Copy for Fit<'_, T> {}

/// A way of learning a solver from a task's training data, with everything a [`Learner`] says of itself but the
/// wrapper: see [`Net`].
pub trait Family<T: Task>: Send + Sync {
    /// Name on the command line and in records.
    fn name(&self) -> &'static str;
    /// [`SolverKind::Network`] unless the family is a baseline.
    fn kind(&self) -> SolverKind {
        SolverKind::Network
    }
    /// One line for `driftbench list`.
    fn description(&self) -> String;
    /// See [`Learner::describe`].
    fn describe(&self, _task: &T) -> String {
        self.description()
    }
    /// See [`Learner::observes`].
    fn observes(&self, _task: &T) -> String {
        "the task's encoding of the whole instance".into()
    }
    /// The hyper-parameters for `profile`, as recorded.
    fn config(&self, profile: &Profile) -> serde_json::Value;
    /// See [`Learner::in_sample_efficiency`].
    fn in_sample_efficiency(&self) -> bool {
        true
    }
    /// Trains the family on `run` (deterministic given its seed).
    fn fit(&self, run: Fit<'_, T>) -> Result<Trained<T>>;
}

/// A [`Family`] as a [`Learner`].
#[derive(Debug, Clone, PartialEq)]
pub struct Net<F>(pub F);

impl<T: Task, F: Family<T>> Learner<T> for Net<F> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn kind(&self) -> SolverKind {
        self.0.kind()
    }
    fn description(&self) -> String {
        self.0.description()
    }
    fn describe(&self, task: &T) -> String {
        self.0.describe(task)
    }
    fn observes(&self, task: &T) -> String {
        self.0.observes(task)
    }
    fn config(&self, _task: &T, profile: &Profile) -> serde_json::Value {
        self.0.config(profile)
    }
    fn in_sample_efficiency(&self) -> bool {
        self.0.in_sample_efficiency()
    }
    fn train(
        &self,
        task: &T,
        data: &TrainData<T>,
        profile: &Profile,
        seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<Trained<T>> {
        self.0.fit(Fit { task, data, profile, seed, progress }).map_err(|e| training_error(task.id(), self.0.name(), e))
    }
}
