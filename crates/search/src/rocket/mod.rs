//! Program search for `rocket-v1`: formulas for the launch velocity, found by bottom-up enumeration and constant
//! fitting, learned from the same recorded trials the networks get.
//!
//! **The DSL.** A formula is an arithmetic expression over the five instance inputs, named as in the networks'
//! feature vector: `D` (target distance), `T` (flight time), `g` (gravity), `rho` (air density), `h0` (launch
//! altitude), the constants `1` and `2`, and `+ − × ÷`. On top of a skeleton f found by enumeration, at most two
//! fitted constants may be added: `f`, `a·f`, `f + b` or `a·f + b` (each constant and each operator it brings
//! counts as a node). A formula with a non-finite value on some input gives no answer there.
//!
//! **Data.** [`VecTask::vec_training_set`](driftbench_core::VecTask::vec_training_set) with the networks' streams (`trials/train` on the training instances,
//! `trials/val` on the validation instances), on a prefix of the instances: the examples are the networks' first
//! examples, byte for byte (each instance draws its trial launch from the stream in turn). A trial maps where a
//! random launch landed (D, T) and its world (g, rho, h0) to the launch (vx, vy).
//!
//! **Search.** One enumeration serves both outputs: skeletons up to [`Settings::caps`]'s size, pruned by
//! observational equivalence on the first [`Settings::probes`] training trials (values equal to about 9 significant
//! digits merge; a skeleton non-finite on any probe is dropped). For each output, every skeleton and form is
//! fitted on the probes by weighted least squares on the relative error; the [`Settings::shortlist`] best by
//! relative RMSE + λ·size are refitted on all the fitting trials, and the formula with the lowest relative RMSE +
//! λ·size on the validation trials is chosen ([`Settings::lambda`] per node).
//!
//! **Learners.** `formula-search` answers with the formulas (no simulation; work 0). `formula-shoot` uses them as
//! the starting launch of the task's own Newton shooting on the simulator ([`driftbench_tasks::rocket::shoot`],
//! the hand-written solver's), counting simulated trials as work. Both serve every version of the task
//! ([`driftbench_tasks::rocket::RocketTask`]); `rocket-v2` adds the information-matched control `vacuum-formula`
//! ([`VacuumFormula`]), which neither learns nor simulates.

mod dsl;
mod formula;
mod learner;
mod vacuum;

pub use dsl::{dsl, eval, inputs_of, trials, FormulaGrammar, RealOp, Trial, INPUTS};
pub use formula::{search, Fitted, Form, Formula, FormulaFit, Settings};
pub use learner::{learners, learners_v2, FormulaSearch, V2_MAX_PROGRAMS};
pub use vacuum::{VacuumFormula, VACUUM_TOLERANCE};

#[cfg(test)]
mod tests;
