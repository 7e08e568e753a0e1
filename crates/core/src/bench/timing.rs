//! What `cargo bench` times for every registered task, type-erased ([`DynTask::timing_cases`]): the generator
//! and the hand-written solver on level 0 and on the farthest level of every axis, each learner's training, and
//! each trained learner's inference on the same cells. A task added to the registry gets these benches with no
//! bench file of its own.
use super::{Bench, DynTask};
use crate::axis::{Cell, LEVELS};
use crate::error::Result;
use crate::profile::Profile;
use crate::rng::stream;
use crate::solver::{Solver, SolverKind, TrainData};
use crate::task::Task;
use std::cell::OnceCell;
use std::rc::Rc;

/// Instances the hand-written solver answers per timed call.
pub const SOLVE_INSTANCES: usize = 100;
/// Instances a trained learner answers per timed call.
pub const INFER_INSTANCES: usize = 64;
/// Training instances of a network's timed (tiny-profile) training.
pub const TRAIN_INSTANCES: usize = 500;

/// The timed call of a [`TimingCase`]: returns a number that depends on the work (so it is not optimised away).
pub type Timed<'a> = Box<dyn FnMut() -> u64 + 'a>;

/// Builds a [`TimingCase`]'s timed call (untimed: drawing instances, training the learner to be queried).
pub type Setup<'a> = Box<dyn Fn() -> Result<Timed<'a>> + 'a>;

/// One thing to time.
pub struct TimingCase<'a> {
    /// Criterion group, `<task>/<what>` (e.g. `sorting-v1/generate`, `navigation-v1/vin-inference`).
    pub group: String,
    /// Id within the group: a cell label (`L0`, `length-L4`) or what one call does.
    pub id: String,
    /// Units of work per call, for the throughput figure (instances, or one training).
    pub elements: u64,
    /// One call takes about a second or more: take few samples.
    pub slow: bool,
    /// Prepares the timed call.
    pub setup: Setup<'a>,
}

/// Level 0 and the farthest level of every axis.
fn cells(axes: usize) -> Vec<Cell> {
    std::iter::once(Cell::IN_DIST).chain((0..axes).map(|a| Cell { axis: Some(a), level: LEVELS - 1 })).collect()
}

impl<T: Task> Bench<T> {
    fn draw(&self, cell: Cell, n: usize, purpose: &str) -> Vec<T::Instance> {
        let mut r = stream(9, self.task.id(), &format!("bench/{purpose}/{}", cell.label(self.task.axes())));
        (0..n).map(|_| self.task.generate(cell, &mut r)).collect()
    }

    /// Level-0 training data for a timed training: `n` instances and 50 for validation.
    fn bench_data(&self, n: usize) -> TrainData<T> {
        TrainData {
            train: self.draw(Cell::IN_DIST, n, "train"),
            val: self.draw(Cell::IN_DIST, 50, "val"),
            dropped_overlaps: 0,
            max_epochs: None,
        }
    }

    /// The profile and training-set size of a learner's timed training: program searches search as in the quick
    /// suite (their cost is the search, not a step count); networks and baselines train on the tiny profile.
    fn bench_budget(kind: SolverKind, task: &T) -> (Profile, usize) {
        match kind {
            SolverKind::ProgramSearch => {
                let p = Profile::quick().with_task_sizes(task.id(), task.train_examples_by_profile());
                let n = p.train_examples_for(task.id());
                (p, n)
            }
            _ => (Profile::tiny(), TRAIN_INSTANCES),
        }
    }

    pub(super) fn timing_cases_of(&self) -> Vec<TimingCase<'_>> {
        let id = self.task.id();
        let axes = self.task.axes();
        let mut out = Vec::new();
        for cell in cells(axes.len()) {
            let label = cell.label(axes);
            out.push(TimingCase {
                group: format!("{id}/generate"),
                id: label.clone(),
                elements: 1,
                slow: false,
                setup: Box::new(move || {
                    let mut r = stream(1, self.task.id(), "bench/generate");
                    Ok(Box::new(move || {
                        let i = self.task.generate(cell, &mut r);
                        u64::from(self.task.validate(&i).is_ok())
                    }))
                }),
            });
            out.push(TimingCase {
                group: format!("{id}/symbolic-solve"),
                id: label,
                elements: SOLVE_INSTANCES as u64,
                slow: false,
                setup: Box::new(move || {
                    let insts = self.draw(cell, SOLVE_INSTANCES, "solve");
                    Ok(Box::new(move || insts.iter().map(|i| self.task.solve_symbolic(i).1.work).sum()))
                }),
            });
        }
        for learner in self.learners.iter().filter(|l| l.kind() != SolverKind::Symbolic) {
            let name = learner.name();
            let kind = learner.kind();
            out.push(TimingCase {
                group: format!("{id}/{name}-train"),
                id: if kind == SolverKind::ProgramSearch { "quick-profile".into() } else { "tiny-profile".into() },
                elements: 1,
                slow: true,
                setup: Box::new(move || {
                    let (profile, n) = Self::bench_budget(kind, &self.task);
                    let data = self.bench_data(n);
                    Ok(Box::new(move || {
                        learner.train(&self.task, &data, &profile, 1, &|_| {}).map_or(0, |(_, s)| s.steps.max(1))
                    }))
                }),
            });
            // Trained once, by the first inference case set up, and queried by all of them: inference cost does
            // not depend on how well the weights are trained.
            let trained: Rc<OnceCell<Box<dyn Solver<T>>>> = Rc::default();
            for cell in cells(axes.len()) {
                let trained = trained.clone();
                out.push(TimingCase {
                    group: format!("{id}/{name}-inference"),
                    id: cell.label(axes),
                    elements: INFER_INSTANCES as u64,
                    slow: false,
                    setup: Box::new(move || {
                        if trained.get().is_none() {
                            let (profile, n) = Self::bench_budget(kind, &self.task);
                            let (solver, _) = learner.train(&self.task, &self.bench_data(n), &profile, 1, &|_| {})?;
                            let _ = trained.set(solver);
                        }
                        let insts = self.draw(cell, INFER_INSTANCES, "infer");
                        let trained = trained.clone();
                        Ok(Box::new(move || {
                            trained
                                .get()
                                .and_then(|s| s.solve_batch(&self.task, &insts).ok())
                                .map_or(0, |a| a.len() as u64)
                        }))
                    }),
                });
            }
        }
        out
    }
}

/// Every timing case of every task in `tasks`, in registry order.
pub fn all_timing_cases<'a>(tasks: &'a [Box<dyn DynTask>]) -> Vec<TimingCase<'a>> {
    tasks.iter().flat_map(|t| t.timing_cases()).collect()
}
