//! One registry line per task: [`Entry`] wires a task to exactly the learner families and experiments its
//! capability traits allow, checked by the compiler.
//!
//! ```text
//! Entry::new(Sorting).seq().attacks().learners(driftbench_search::sorting::learners()).build()
//! ```
//!
//! [`Entry::new`] gives the hand-written solver. One learning shape may follow, each method bounded by its trait:
//! [`Entry::seq`] (`T: SeqTask`: the padded MLP and the transformer, plus the pointer network and nearest-list
//! baseline for a permutation encoding), [`Entry::vec`] (`T: VecTask`: the regression MLPs and nearest
//! neighbour) or [`Entry::policy`] (`T: PolicyTask`: imitation and PPO), which [`Entry::grid`] may follow
//! (`T: GridTask`, whole-world maps: the VIN). Each also adds its shape's contract to the task's self-check, and
//! the shape's side of the external-solver protocol (`driftbench_external`), so `--external` works on the task.
//! [`Entry::attacks`] exists only after a shape, and needs the attack trait
//! that fits it: [`AttackTask`] on a sequence or vector task (the continuous box attacks), [`VariantAttackTask`]
//! on a policy task (the discrete variants). [`Entry::learners`] appends task-specific learners (a program search
//! over the task's own DSL). Rust has no specialisation, so nothing is discovered at run time: a task that does
//! not implement a trait cannot call the method that needs it, and the shape is a type parameter of the entry,
//! so a second shape or an attack of the wrong kind does not compile either.
//!
//! A sorting entry compiles (sorting is a `SeqTask` and an `AttackTask`):
//!
//! ```no_run
//! let _ = driftbench::Entry::new(driftbench_tasks::Sorting).seq().attacks().build();
//! ```
//!
//! A task without a shape's trait cannot take its families (navigation is no `SeqTask`):
//!
//! ```compile_fail
//! let _ = driftbench::Entry::new(driftbench_tasks::Navigation).seq();
//! ```
//!
//! and the attacks need a shape first (sorting's box attack reads its sequence features):
//!
//! ```compile_fail
//! let _ = driftbench::Entry::new(driftbench_tasks::Sorting).attacks();
//! ```
//!
//! The maps come after the policy shape, once:
//!
//! ```compile_fail
//! let _ = driftbench::Entry::new(driftbench_tasks::Navigation).grid();
//! ```
//!
//! ```compile_fail
//! let _ = driftbench::Entry::new(driftbench_tasks::Navigation).policy().grid().grid();
//! ```
use driftbench_core::bench::{Bench, DynTask};
use driftbench_core::solver::Symbolic;
use driftbench_core::{AttackTask, GridTask, Learner, PolicyTask, SeqTask, Task, VariantAttackTask, VecTask};
use driftbench_external as external;
use std::marker::PhantomData;

/// An [`Entry`] without a learning shape yet: only the hand-written solver and task-specific learners.
pub struct NoShape;
/// An [`Entry`] of a [`SeqTask`] with its sequence families.
pub struct Seq;
/// An [`Entry`] of a [`VecTask`] with its regression families.
pub struct Vector;
/// An [`Entry`] of a [`PolicyTask`] with its policy families.
pub struct Policy;
/// An [`Entry`] of a [`GridTask`] with its policy families and the VIN.
pub struct GridPolicy;

/// The policy shapes, with or without the maps: either takes the discrete attacks.
pub trait PolicyShaped {}
impl PolicyShaped for Policy {}
impl PolicyShaped for GridPolicy {}

/// A task on its way into the registry, with the learning shape `S` it was given (see the module docs).
pub struct Entry<T: Task, S = NoShape> {
    bench: Bench<T>,
    shape: PhantomData<S>,
}

impl<T: Task> Entry<T, NoShape> {
    /// The task with its hand-written solver.
    pub fn new(task: T) -> Self {
        Entry { bench: Bench::new(task, vec![Box::new(Symbolic)]), shape: PhantomData }
    }

    /// The sequence shape: its network families ([`driftbench_nets::seq_learners`]) and contract.
    pub fn seq(self) -> Entry<T, Seq>
    where
        T: SeqTask,
    {
        let learners = driftbench_nets::seq_learners(self.bench.task());
        shaped(self.bench.with_learners(learners).with_seq().with_external(external::maker::<T, external::shapes::Seq>))
    }

    /// The vector-regression shape: its families ([`driftbench_nets::vec_learners`]) and contract.
    pub fn vec(self) -> Entry<T, Vector>
    where
        T: VecTask,
    {
        let bench = self.bench.with_learners(driftbench_nets::vec_learners()).with_vec();
        shaped(bench.with_external(external::maker::<T, external::shapes::Vector>))
    }

    /// The policy shape: its families ([`driftbench_nets::policy_learners`]) and contract.
    pub fn policy(self) -> Entry<T, Policy>
    where
        T: PolicyTask,
    {
        let bench = self.bench.with_learners(driftbench_nets::policy_learners()).with_policy();
        shaped(bench.with_external(external::maker::<T, external::shapes::Policy>))
    }
}

fn shaped<T: Task, S>(bench: Bench<T>) -> Entry<T, S> {
    Entry { bench, shape: PhantomData }
}

impl<T: SeqTask + AttackTask> Entry<T, Seq> {
    /// The continuous adversarial experiment on the sequence features.
    pub fn attacks(self) -> Self {
        shaped(self.bench.with_seq_attack())
    }
}

impl<T: VecTask + AttackTask> Entry<T, Vector> {
    /// The continuous adversarial experiment on the vector features.
    pub fn attacks(self) -> Self {
        shaped(self.bench.with_vec_attack())
    }
}

impl<T: PolicyTask> Entry<T, Policy> {
    /// The whole-world maps: the value-iteration network ([`driftbench_nets::grid_learners`]) and their contract.
    pub fn grid(self) -> Entry<T, GridPolicy>
    where
        T: GridTask,
    {
        shaped(self.bench.with_learners(driftbench_nets::grid_learners()).with_grid())
    }
}

impl<T: PolicyTask + VariantAttackTask, S: PolicyShaped> Entry<T, S> {
    /// The discrete adversarial experiment (aimed variants).
    pub fn attacks(self) -> Self {
        shaped(self.bench.with_variant_attack())
    }
}

impl<T: Task, S> Entry<T, S> {
    /// Appends task-specific learners (such as a program search over the task's own DSL).
    pub fn learners(self, extra: Vec<Box<dyn Learner<T>>>) -> Self {
        shaped(self.bench.with_learners(extra))
    }

    /// The registry's form of the task.
    pub fn build(self) -> Box<dyn DynTask> {
        Box::new(self.bench)
    }
}
