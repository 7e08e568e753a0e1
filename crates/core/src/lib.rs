//! driftbench-core: the vocabulary every other driftbench crate speaks.
//!
//! A [`Task`] generates instances at graded drift levels, scores answers by its own rules and carries a
//! hand-written symbolic solver. A [`Learner`] turns training data into a [`Solver`]; symbolic solvers and
//! trained networks are both `Solver`s, so evaluation never special-cases either. [`bench::Bench`] erases the
//! task type so that a registry can hold every task behind one trait object, [`bench::DynTask`].
//!
//! Everything random flows from [`rng::stream`], which derives an independent ChaCha stream per purpose
//! (training data, validation data, each test cell, weight initialisation), so that adding a drift level or a
//! solver never changes another's data. This crate has no dependency on candle: tasks and reports build fast.

pub mod attack;
pub mod axis;
pub mod bench;
pub mod bounds;
pub mod capability;
pub mod contract;
pub mod data;
pub mod dataset;
pub mod drift;
pub mod error;
pub mod external;
pub mod files;
pub mod outcomes;
pub mod profile;
pub mod record;
pub mod rng;
pub mod solver;
pub mod stats;
pub mod surface;
pub mod task;
pub mod tuning;
pub mod validate;

pub use axis::{format_distance, AxisSpec, Cell, FactorStats, Feature, Placement, Spread, LEVELS};
pub use capability::{AttackTask, GridTask, PolicyTask, SeqTask, VariantAttackTask, VecTask};
pub use error::{Error, Result};
pub use external::ExternalSpec;
pub use profile::{step_budget, Profile, SearchBudget};
pub use record::{CellResult, CompetencePoint, Provenance, RunRecord, TrainStats};
pub use solver::{Learner, SolveInfo, Solver, SolverKind, TrainData};
pub use task::{
    Encoding, Episode, EpisodeStep, GridObservation, Outcome, PolicyShape, SeqClassShape, SeqExample, Task, VecExample,
    VecShape,
};
