//! The adversarial experiment (the essay's "panda to gibbon"): perturbations of level-0 inputs small enough that
//! the question does not change, searched by gradient ascent on a network's input, and how often they turn a
//! correct answer wrong. The hand-written solver's row is the control.
//!
//! **The box.** A task opts in with [`AttackTask::attack_radius`]: per encoded input feature, the largest move at
//! budget 1 (sorting: just under half the smallest gap between distinct values, so that no two values change
//! order; rocket: target distance and flight time each within the 5% success tolerance, the world fixed). At
//! budget b a perturbation may move feature k by at most b·radius_k, so the attacks work in normalised
//! coordinates u ∈ [−b, b]^F with features x0 + u ⊙ radius (an L∞ ball scaled per feature). Every point is
//! judged by the task's own scorer against [`AttackTask::attacked_instance`], the instance the perturbed features
//! describe (the original one for sorting; the moved target for rocket).
//!
//! **Networks** ([`AttackSurface`]): the attack loss is the network's distance from the correct answer (sorting:
//! the training cross-entropy against the correct ranks; regression: the squared standardised distance of the
//! output from the correct output, which moves with the features and is linearised over the box from the
//! hand-written solver's answers at the box's faces, see [`LinearReference`]). The attacker may know the truth;
//! the network never sees it. At each budget the attacks tried are
//! - FGSM: one step to u = b·sign(∇), the gradient taken at the clean point;
//! - PGD: [`PGD_STEPS`] signed steps of [`PGD_STEP`]·b projected back onto the box, from the clean point; every
//!   iterate is judged, so a run breaks an instance if any point it visits does;
//! - [`RANDOM_CORNERS`] corners of the box: all of them when there are no more (rocket's two moving features),
//!   otherwise seeded random ones (no gradient: the noise baseline).
//!
//! [`AttackConfig`] can add a PGD run from a seeded random point of the box. Measured on the `quick` networks of
//! sorting (seed 1, 200 instances), it broke one more answer of 190 for the MLP and none for the transformer, for
//! 3.6× the transformer's attack time (and 20 PGD steps instead of 10 did no better); 16 random corners instead
//! of 4 broke four more for the MLP at almost no cost: hence the defaults. A dense sampling of the budget-1 box
//! (512 points per instance; a 41×41 grid for rocket) broke 97 of the MLP's answers against the attack's 95,
//! and the same 8 of the transformer's and none of rocket's.
//!
//! An instance survives a budget only if every point tried inside its box (at that budget or a smaller one) leaves
//! it correct. Its smallest breaking budget is found by [`BISECTION_STEPS`] bisection steps between the largest
//! sweep budget that did not break it and the smallest that did, with FGSM, fresh corners and PGD;
//! [`AttackStats::median_breaking_budget`] is the median over the instances answered correctly without
//! perturbation, unbroken ones counting as infinite.
//!
//! **The control** (the hand-written solver, no gradient): the same random corners at every budget, each
//! attacked instance solved afresh; it should stay at 100%. Other solvers without gradients (nearest
//! neighbour, program search) are not attacked by the continuous attacks ([`seq_attack`] and [`vec_attack`] return `None`).
//!
//! **Discrete attacks** (policy tasks such as navigation, whose observation is a window of whole cells: there is no
//! small continuous perturbation for a gradient to follow): [`VariantAttackTask::attack_variants`] draws instances a few
//! discrete changes away, aimed at the solver's own answer and still solvable (navigation: 1, 2 or 3 cars added
//! on new tracks through cells of the agent's route, timed to stand there when the agent does; the planner must
//! still reach the goal). Every solver takes part, networks or not, through its ordinary answers: per episode it
//! got right, [`VARIANTS`] seeded variants per size in [`VARIANT_SIZES`]; it survives size k when no variant of
//! size at most k makes it fail. The budget is the number of changes (cars), and the median breaking budget is
//! the median fewest cars that turned a success into a failure ([`BudgetResult::failures`] says how many were
//! deaths). The hand-written planner, which sees the added cars like every other car, is the control.
use crate::capability::{AttackTask, SeqTask, VariantAttackTask, VecTask};
use crate::error::{Error, Result};
use crate::rng::stream;
use crate::solver::{Solver, SolverKind};
use crate::task::{Outcome, Task};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Budgets of the sweep, as fractions of [`AttackTask::attack_radius`].
pub const BUDGETS: [f64; 3] = [0.25, 0.5, 1.0];
/// Projected-gradient steps per PGD run.
pub const PGD_STEPS: usize = 10;
/// One PGD step, as a fraction of the budget (Madry et al.'s 2.5 × budget over all steps, so that a run can cross
/// the box from corner to corner and back).
pub const PGD_STEP: f64 = 2.5 / PGD_STEPS as f64;
/// Corners of the box tried per instance and budget: all of them when there are no more (up to four moving
/// features; rocket has two), otherwise seeded random ones.
pub const RANDOM_CORNERS: usize = 16;
/// Bisection steps for the smallest breaking budget (resolution: the gap between two sweep budgets / 64).
pub const BISECTION_STEPS: usize = 6;
/// Sizes of the discrete attack ([`VariantAttackTask::attack_variants`], e.g. cars added), smallest first.
pub const VARIANT_SIZES: [usize; 3] = [1, 2, 3];
/// Variants tried per instance and size in the discrete attack.
pub const VARIANTS: usize = 4;

/// How hard the attacks search; [`AttackConfig::default`] is what the registry's runs use (the constants above).
#[derive(Debug, Clone, PartialEq)]
pub struct AttackConfig {
    /// Projected-gradient steps per PGD run (0: no PGD).
    pub pgd_steps: usize,
    /// Also run PGD from a seeded uniform point of the box (off by default: see the module docs).
    pub random_start: bool,
    /// Corners of the box tried per instance and budget.
    pub corners: usize,
    /// Bisection steps for the smallest breaking budget.
    pub bisection_steps: usize,
    /// Variants per instance and size in the discrete attack.
    pub variants: usize,
}

impl Default for AttackConfig {
    fn default() -> Self {
        AttackConfig {
            pgd_steps: PGD_STEPS,
            random_start: false,
            corners: RANDOM_CORNERS,
            bisection_steps: BISECTION_STEPS,
            variants: VARIANTS,
        }
    }
}

mod attacker;
mod variants;

pub use crate::data::{AttackStats, BudgetResult};
pub use crate::surface::{AttackPoint, AttackSurface, LinearReference};
use attacker::{linear_reference, Attacker, Target};
use variants::run_variants;

/// The adversarial experiment as a task's registration wires it ([`seq_attack`], [`vec_attack`] or
/// [`variant_attack`], whichever its capability traits allow): runs it on `instances` (level-0 test instances)
/// for one trained solver of family `kind` with the search effort `cfg`. Deterministic given `seed`.
pub type AttackFn<T> =
    fn(&T, &dyn Solver<T>, SolverKind, &[<T as Task>::Instance], u64, &AttackConfig) -> Result<Option<AttackStats>>;

/// The continuous attacks on a sequence task's encoded features: gradient attacks for solvers with an
/// [`AttackSurface`], corners of the box for the hand-written control. `None` when no instance takes part (no
/// [`AttackTask::attack_radius`]) or the solver has no gradient and is not the control.
pub fn seq_attack<T: SeqTask + AttackTask>(
    task: &T,
    solver: &dyn Solver<T>,
    kind: SolverKind,
    instances: &[T::Instance],
    seed: u64,
    cfg: &AttackConfig,
) -> Result<Option<AttackStats>> {
    run_box(task, solver, kind, instances, seed, cfg, |t, i| t.encode_seq(i).map(|e| e.features), None)
}

/// [`seq_attack`] for a regression task: the features are [`VecTask::encode_vec`], and a network's output is
/// measured against the correct output linearised over the box ([`LinearReference`]).
pub fn vec_attack<T: VecTask + AttackTask>(
    task: &T,
    solver: &dyn Solver<T>,
    kind: SolverKind,
    instances: &[T::Instance],
    seed: u64,
    cfg: &AttackConfig,
) -> Result<Option<AttackStats>> {
    run_box(task, solver, kind, instances, seed, cfg, |t, i| t.encode_vec(i), Some(linear_reference::<T>))
}

/// The discrete attack ([`VariantAttackTask::attack_variants`]) on any solver, network or not. `None` when the
/// task offers no variants on these instances.
pub fn variant_attack<T: VariantAttackTask>(
    task: &T,
    solver: &dyn Solver<T>,
    _kind: SolverKind,
    instances: &[T::Instance],
    seed: u64,
    cfg: &AttackConfig,
) -> Result<Option<AttackStats>> {
    run_variants(task, solver, instances, seed, cfg)
}

/// The encoded features of an instance that a continuous attack perturbs (the task's learning shape).
type Features<T> = fn(&T, &<T as Task>::Instance) -> Option<Vec<f32>>;
/// The correct output around a point of the box, for regression attacks.
type Reference<T> = fn(&T, &<T as Task>::Instance, &[f32], &[f32]) -> Option<LinearReference>;

/// The continuous attacks on the box around `features`.
#[allow(clippy::too_many_arguments)]
fn run_box<T: AttackTask>(
    task: &T,
    solver: &dyn Solver<T>,
    kind: SolverKind,
    instances: &[T::Instance],
    seed: u64,
    cfg: &AttackConfig,
    features: Features<T>,
    reference: Option<Reference<T>>,
) -> Result<Option<AttackStats>> {
    // A solver without an input gradient (the hand-written control, a memorisation baseline, a program found by
    // search, a network whose input is not the attacked features) meets the gradient-free attacks alone.
    let surface = match kind {
        SolverKind::Symbolic => None,
        _ => solver.attack_surface(),
    };
    let targets: Vec<Target<T>> = instances
        .par_iter()
        .filter_map(|inst| {
            let x0 = match surface {
                Some(s) => s.features(task, inst)?,
                None => features(task, inst)?,
            };
            let radius = task.attack_radius(inst)?;
            let fits = radius.len() == x0.len()
                && radius.iter().all(|r| r.is_finite() && *r >= 0.0)
                && x0.iter().all(|x| x.is_finite())
                && task.attacked_instance(inst, &x0).is_some();
            if !fits {
                return None;
            }
            let reference = match (surface, reference) {
                (Some(_), Some(r)) => r(task, inst, &x0, &radius),
                _ => None,
            };
            Some(Target { instance: inst, x0, radius, reference })
        })
        .collect();
    if targets.is_empty() {
        return Ok(None);
    }
    let attacker = Attacker { task, solver, surface, targets, cfg: cfg.clone(), control: kind == SolverKind::Symbolic };
    let mut rng = stream(seed, task.id(), "attack");
    Ok(Some(attacker.run(&mut rng)?))
}

#[cfg(test)]
mod tests;
