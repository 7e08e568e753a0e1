//! Solvers (anything that answers instances) and learners (anything that becomes a solver by training).
use crate::data::TrainStats;
pub use crate::data::{Representable, SolveInfo, SolverKind};
use crate::error::Result;
use crate::profile::Profile;
use crate::record::Provenance;
use crate::task::Task;

/// One answer, or none (a network whose output cannot be decoded, a search that found nothing).
#[derive(Debug, Clone)]
pub struct Attempt<A> {
    /// The answer, if the solver produced one.
    pub answer: Option<A>,
    /// Work spent.
    pub info: SolveInfo,
}

/// Anything that answers instances of `T`: the hand-written solver, a trained network, a baseline.
pub trait Solver<T: Task>: Send + Sync {
    /// Answers a batch of instances, in order. Batching lets networks amortise per-call overhead.
    fn solve_batch(&self, task: &T, instances: &[T::Instance]) -> Result<Vec<Attempt<T::Answer>>>;

    /// Gradient access for the adversarial experiment (networks); `None` for solvers without gradients.
    fn attack_surface(&self) -> Option<&dyn crate::surface::AttackSurface<T>> {
        None
    }

    /// Whether the correct answer on `instance` is expressible by this solver and was supervised in its training;
    /// `None` when the solver does not assess it (hand-written solvers, searches over a DSL).
    fn representable(&self, _task: &T, _instance: &T::Instance) -> Option<Representable> {
        None
    }

    /// [`Solver::representable`] on every instance of a batch (`None` when the solver does not assess some), as the
    /// evaluation asks for it, one test set at a time. The default asks instance by instance, in parallel; a
    /// solver whose assessment needs costly work shared across instances (the hand-written answers to compare
    /// with) overrides it to batch that work. The answers must equal the single ones.
    fn representable_batch(&self, task: &T, instances: &[T::Instance]) -> Option<Vec<Representable>> {
        use rayon::prelude::*;
        instances.par_iter().map(|inst| self.representable(task, inst)).collect()
    }

    /// Called once the run's evaluation is over, before its record is made: a solver that runs outside the process
    /// shuts it down here and adds what only it measured (its program's own name, where the time went) to the
    /// training statistics and the provenance. An error fails the run.
    fn finish(&self, _stats: &mut TrainStats, _provenance: &mut Provenance) -> Result<()> {
        Ok(())
    }
}

/// Answers a batch through `solve` so that an instance the task rejects ([`Task::validate`]) costs its own answer,
/// never the whole batch. The batch is answered as it is (validation costs nothing while it succeeds); when `solve`
/// fails on a batch holding rejected instances, the accepted ones are answered again on their own and the
/// rejected ones get no answer. An error left after that comes from accepted instances and is the real cause.
pub fn solve_valid<T: Task>(
    task: &T,
    instances: &[T::Instance],
    solve: impl Fn(&[T::Instance]) -> Result<Vec<Attempt<T::Answer>>>,
) -> Result<Vec<Attempt<T::Answer>>> {
    let err = match solve(instances) {
        Ok(attempts) => return Ok(attempts),
        Err(e) => e,
    };
    let valid: Vec<bool> = instances.iter().map(|i| task.validate(i).is_ok()).collect();
    if valid.iter().all(|&v| v) {
        return Err(err);
    }
    let kept: Vec<T::Instance> = instances.iter().zip(&valid).filter(|(_, &v)| v).map(|(i, _)| i.clone()).collect();
    let answered = if kept.is_empty() { Vec::new() } else { solve(&kept)? };
    if answered.len() != kept.len() {
        // A miscounting solver: handed back as it is, for the caller's count check to report.
        return Ok(answered);
    }
    let mut answered = answered.into_iter();
    Ok(valid
        .iter()
        .map(|&v| if v { answered.next() } else { None })
        .map(|a| a.unwrap_or(Attempt { answer: None, info: SolveInfo::default() }))
        .collect())
}

/// The data every learner of a task receives for one seed.
#[derive(Debug, Clone)]
pub struct TrainData<T: Task> {
    /// Training instances (level 0, none of them in any canonical test set).
    pub train: Vec<T::Instance>,
    /// Held-out validation instances (level 0): the only data hyper-parameters may be chosen on.
    pub val: Vec<T::Instance>,
    /// How many drawn training instances were dropped because they appear in a test set.
    pub dropped_overlaps: usize,
    /// At most this many passes over this training set (the sample-efficiency experiment's cap, or the profile's
    /// own): network learners turn it into their step budget with [`crate::profile::step_budget`]. `None`: no cap.
    pub max_epochs: Option<f64>,
}

/// Something that becomes a [`Solver`] by learning from [`TrainData`] (or, for the symbolic solver, by not
/// learning at all).
pub trait Learner<T: Task>: Send + Sync {
    /// Short name used on the command line and in records (`mlp`, `transformer`, `symbolic`).
    fn name(&self) -> &'static str;
    /// The family.
    fn kind(&self) -> SolverKind;
    /// One line for `driftbench list`.
    fn description(&self) -> String;
    /// One line for `driftbench list` in the words of `task` (what its training examples are, say); default
    /// [`Learner::description`].
    fn describe(&self, _task: &T) -> String {
        self.description()
    }
    /// What this solver observes of an instance of `task`, in a few words, for the record and the task page's
    /// information table (e.g. `a 9x9 window around the agent, cars one tick ahead`). The default is the
    /// task's own answer for its learning shape's encoding of the whole instance; learners that see less (or more,
    /// like the hand-written solver) say so.
    fn observes(&self, _task: &T) -> String {
        "the task's encoding of the whole instance".into()
    }
    /// The hyper-parameters for `profile`, as recorded in the run record.
    fn config(&self, task: &T, profile: &Profile) -> serde_json::Value;
    /// Whether the seed changes what this learner produces (false for a hand-written solver, which then runs
    /// once rather than once per seed).
    fn seed_dependent(&self) -> bool {
        true
    }
    /// Whether the sample-efficiency experiment retrains this learner on smaller training sets.
    fn in_sample_efficiency(&self) -> bool {
        self.kind() != SolverKind::Symbolic
    }
    /// Trains (or just builds) the solver. Must be deterministic given `seed`.
    fn train(
        &self,
        task: &T,
        data: &TrainData<T>,
        profile: &Profile,
        seed: u64,
        progress: &dyn Fn(f64),
    ) -> Result<(Box<dyn Solver<T>>, TrainStats)>;
}

/// The hand-written solver as a learner that needs no data.
#[derive(Debug, Clone, Copy, Default)]
pub struct Symbolic;

struct SymbolicSolver;

impl<T: Task> Solver<T> for SymbolicSolver {
    fn solve_batch(&self, task: &T, instances: &[T::Instance]) -> Result<Vec<Attempt<T::Answer>>> {
        Ok(task
            .solve_symbolic_batch(instances)
            .into_iter()
            .map(|(answer, info)| Attempt { answer: Some(answer), info })
            .collect())
    }
}

impl<T: Task> Learner<T> for Symbolic {
    fn name(&self) -> &'static str {
        "symbolic"
    }
    fn kind(&self) -> SolverKind {
        SolverKind::Symbolic
    }
    fn description(&self) -> String {
        "hand-written solver".to_string()
    }
    fn observes(&self, task: &T) -> String {
        task.symbolic_observes().into()
    }
    fn config(&self, _task: &T, _profile: &Profile) -> serde_json::Value {
        serde_json::json!({})
    }
    fn seed_dependent(&self) -> bool {
        false
    }
    fn train(
        &self,
        _task: &T,
        _data: &TrainData<T>,
        _profile: &Profile,
        _seed: u64,
        _progress: &dyn Fn(f64),
    ) -> Result<(Box<dyn Solver<T>>, TrainStats)> {
        Ok((Box::new(SymbolicSolver), TrainStats::default()))
    }
}
