//! The adversarial experiment (the essay's "panda to gibbon"): perturbations of level-0 inputs small enough that
//! the question does not change, searched by gradient ascent on a network's input, and how often they turn a
//! correct answer wrong. The hand-written solver's row is the control.
//!
//! **The box.** A task opts in with [`Task::attack_radius`]: per encoded input feature, the largest move at
//! budget 1 (sorting: just under half the smallest gap between distinct values, so that no two values change
//! order; rocket: target distance and flight time each within the 5% success tolerance, the world fixed). At
//! budget b a perturbation may move feature k by at most b·radius_k, so the attacks work in normalised
//! coordinates u ∈ [−b, b]^F with features x0 + u ⊙ radius (an L∞ ball scaled per feature). Every point is
//! judged by the task's own scorer against [`Task::attacked_instance`], the instance the perturbed features
//! describe (the original one for sorting; the moved target for rocket).
//!
//! **Networks** ([`AttackSurface`]): the attack loss is the network's distance from the correct answer (sorting:
//! the training cross-entropy against the correct ranks; regression: the squared standardised distance of the
//! output from the correct output, which moves with the features and is linearised over the box from the
//! hand-written solver's answers at the box's faces, see [`LinearReference`]). The attacker may know the truth;
//! the network never sees it. At each budget the attacks tried are
//! - FGSM: one step to u = b·sign(∇), the gradient taken at the clean point;
//! - PGD: [`PGD_STEPS`] signed steps of [`PGD_STEP`]·b projected back onto the box, once from the clean point
//!   and once from a seeded uniform point of the box; every iterate is judged, so a run breaks an instance if
//!   any point it visits does;
//! - [`RANDOM_CORNERS`] seeded random corners of the box (no gradient: the noise baseline).
//!
//! An instance survives a budget only if every attack leaves it correct. Its smallest breaking budget is found
//! by [`BISECTION_STEPS`] bisection steps between the largest sweep budget that did not break it and the
//! smallest that did, with FGSM and PGD from the clean point; [`AttackStats::median_breaking_budget`] is the
//! median over the instances answered correctly without perturbation, unbroken ones counting as infinite.
//!
//! **The control** (the hand-written solver, no gradient): the same random corners at every budget, each
//! attacked instance solved afresh; it should stay at 100%. Other solvers without gradients (nearest
//! neighbour, program search) are not attacked ([`run_attack`] returns `None`).
//!
//! **Navigation is left out.** Its instances store only parameters (city seed, traffic seed, density, speed,
//! start, goal) and the cars are regenerated from the traffic seed, so "one car added or moved" is not an
//! instance at all: every change of the traffic seed or density redraws every car. Adding cars would need a new
//! instance field (cars listed explicitly), its validation and its rendering, in a file other work owns; and
//! the policy's input is an observation window of whole cells, so there is no small continuous perturbation for
//! a gradient to find. [`run_attack`] returns `None` for [`Encoding::Policy`] tasks.
use crate::error::{Error, Result};
use crate::rng::stream;
use crate::solver::{Solver, SolverKind};
use crate::task::{Encoding, Task};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Budgets of the sweep, as fractions of [`Task::attack_radius`].
pub const BUDGETS: [f64; 3] = [0.25, 0.5, 1.0];
/// Projected-gradient steps per PGD run.
pub const PGD_STEPS: usize = 10;
/// One PGD step, as a fraction of the budget (Madry et al.'s 2.5 × budget over all steps, so that a run can cross
/// the box from corner to corner and back).
pub const PGD_STEP: f64 = 2.5 / PGD_STEPS as f64;
/// Random corners of the box tried per instance and budget.
pub const RANDOM_CORNERS: usize = 4;
/// Bisection steps for the smallest breaking budget (resolution: the gap between two sweep budgets / 64).
pub const BISECTION_STEPS: usize = 6;

/// The correct network output near a point, to first order: `value + jacobian · (x − origin)`. Regression
/// attacks measure the output against it, so that a perturbation that moves the answer exactly as the truth
/// moves is not rewarded.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearReference {
    /// The features the reference is taken at.
    pub origin: Vec<f32>,
    /// The correct output there.
    pub value: Vec<f32>,
    /// d output / d features, outputs × features, row-major.
    pub jacobian: Vec<f32>,
}

/// One point at which an attack needs the loss gradient.
#[derive(Debug)]
pub struct AttackPoint<'a, T: Task> {
    /// The attacked (clean) instance. For [`Encoding::SeqClass`] its own correct targets hold at every point of
    /// the box, because the box leaves the correct answer unchanged.
    pub instance: &'a T::Instance,
    /// The features the network reads.
    pub features: &'a [f32],
    /// Regression: the correct output around here. Without one, the loss is the distance from the network's own
    /// output on the clean instance.
    pub reference: Option<&'a LinearReference>,
}

/// Gradient access to a trained network, for the adversarial experiment. Works on the encoded input features
/// (what the network reads: [`Task::encode_seq`] features or [`Task::encode_vec`]).
pub trait AttackSurface<T: Task>: Send + Sync {
    /// The features the network reads for `instance`.
    fn features(&self, task: &T, instance: &T::Instance) -> Option<Vec<f32>>;
    /// For each point, the attack loss (larger = further from the correct answer) and its gradient with respect
    /// to the point's features. Points are independent: one batched call for all of them.
    fn loss_and_grad(&self, task: &T, points: &[AttackPoint<'_, T>]) -> Result<Vec<(f32, Vec<f32>)>>;
    /// The network's answer to each instance when it reads `features` instead of the instance's own encoding.
    fn answer_features(
        &self,
        task: &T,
        instances: &[T::Instance],
        features: &[Vec<f32>],
    ) -> Result<Vec<Option<T::Answer>>>;
}

/// Success under attack at one budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetResult {
    /// The budget, in [`AttackStats::budget_unit`] (a fraction of the largest answer-preserving radius).
    pub budget: f64,
    /// Instances still answered correctly after the one-step attack (FGSM). For the control, which has no
    /// gradient, the same as `successes`.
    pub fgsm_successes: u64,
    /// Instances still answered correctly after every attack tried at this budget (FGSM, PGD, random corners).
    pub successes: u64,
    /// Instances still answered correctly at every random corner tried (no gradient: the noise baseline).
    #[serde(default)]
    pub random_successes: u64,
}

/// What the adversarial experiment found for one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackStats {
    /// How perturbations were searched.
    pub method: String,
    /// What a budget of 1 means for this task.
    pub budget_unit: String,
    /// Level-0 test instances attacked.
    pub instances: u64,
    /// Of those, answered correctly without perturbation.
    pub clean_successes: u64,
    /// Success under attack per budget, smallest first.
    pub budgets: Vec<BudgetResult>,
    /// Median over the instances answered correctly without perturbation of the smallest budget that broke the
    /// answer (instances never broken count as unbroken, above every budget); `None` when fewer than half of them
    /// broke.
    pub median_breaking_budget: Option<f64>,
}

/// Runs the adversarial experiment on `instances` (level-0 test instances) for one trained solver of family
/// `kind`: gradient attacks for solvers with an [`AttackSurface`], random corners for the hand-written control.
/// `None` when the task takes no part (no [`Task::attack_radius`], or a policy task) or the solver has no
/// gradient and is not the control. Deterministic given `seed`.
pub fn run_attack<T: Task>(
    task: &T,
    solver: &dyn Solver<T>,
    kind: SolverKind,
    instances: &[T::Instance],
    seed: u64,
) -> Result<Option<AttackStats>> {
    let encoding = task.encoding();
    if matches!(encoding, Encoding::Policy(_) | Encoding::None) {
        return Ok(None);
    }
    let surface = match kind {
        SolverKind::Symbolic => None,
        _ => match solver.attack_surface() {
            Some(s) => Some(s),
            None => return Ok(None),
        },
    };
    let targets: Vec<Target<T>> = instances
        .par_iter()
        .filter_map(|inst| {
            let x0 = match surface {
                Some(s) => s.features(task, inst)?,
                None => encoded_features(task, inst)?,
            };
            let radius = task.attack_radius(inst)?;
            let fits = radius.len() == x0.len()
                && radius.iter().all(|r| r.is_finite() && *r >= 0.0)
                && x0.iter().all(|x| x.is_finite())
                && task.attacked_instance(inst, &x0).is_some();
            if !fits {
                return None;
            }
            let reference = match (surface, encoding) {
                (Some(_), Encoding::VecRegression(_)) => linear_reference(task, inst, &x0, &radius),
                _ => None,
            };
            Some(Target { instance: inst, x0, radius, reference })
        })
        .collect();
    if targets.is_empty() {
        return Ok(None);
    }
    let attacker = Attacker { task, solver, surface, targets };
    let mut rng = stream(seed, task.id(), "attack");
    Ok(Some(attacker.run(&mut rng)?))
}

/// The task's own encoded features of `inst` (what a network of its encoding would read).
fn encoded_features<T: Task>(task: &T, inst: &T::Instance) -> Option<Vec<f32>> {
    match task.encoding() {
        Encoding::SeqClass(_) => task.encode_seq(inst).map(|e| e.features),
        Encoding::VecRegression(_) => task.encode_vec(inst),
        _ => None,
    }
}

/// The correct output of `inst` and its central differences across the box's faces, from the hand-written
/// solver's answers; `None` when the task cannot express answers as outputs.
fn linear_reference<T: Task>(task: &T, inst: &T::Instance, x0: &[f32], radius: &[f32]) -> Option<LinearReference> {
    let correct = |i: &T::Instance| task.encode_vec_answer(i, &task.solve_symbolic(i).0);
    let value = correct(inst)?;
    let (outputs, features) = (value.len(), x0.len());
    let mut jacobian = vec![0f32; outputs * features];
    for k in (0..features).filter(|&k| radius[k] > 0.0) {
        let at = |sign: f32| {
            let mut x = x0.to_vec();
            x[k] += sign * radius[k];
            task.attacked_instance(inst, &x).and_then(|i| correct(&i)).filter(|r| r.len() == outputs)
        };
        let (up, down) = (at(1.0)?, at(-1.0)?);
        for j in 0..outputs {
            jacobian[j * features + k] = (up[j] - down[j]) / (2.0 * radius[k]);
        }
    }
    let finite = value.iter().chain(&jacobian).all(|v| v.is_finite());
    finite.then(|| LinearReference { origin: x0.to_vec(), value, jacobian })
}

/// One attacked instance.
struct Target<'a, T: Task> {
    instance: &'a T::Instance,
    x0: Vec<f32>,
    radius: Vec<f32>,
    reference: Option<LinearReference>,
}

/// A point of one target's box, in normalised coordinates.
struct Job {
    target: usize,
    budget: f64,
    u: Vec<f32>,
}

struct Attacker<'a, T: Task> {
    task: &'a T,
    solver: &'a dyn Solver<T>,
    surface: Option<&'a dyn AttackSurface<T>>,
    targets: Vec<Target<'a, T>>,
}

fn sign(g: f32) -> f32 {
    if g > 0.0 {
        1.0
    } else if g < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl<T: Task> Attacker<'_, T> {
    fn features(&self, job: &Job) -> Vec<f32> {
        let t = &self.targets[job.target];
        t.x0.iter().zip(&t.radius).zip(&job.u).map(|((x, r), u)| x + r * u).collect()
    }

    fn solve_error(&self, reason: String) -> Error {
        Error::Solve { task: self.task.id().into(), solver: "attacked solver".into(), reason }
    }

    /// For each job: `Some(true)` when the solver answers the instance its point describes wrongly (or not at
    /// all), `Some(false)` when correctly, `None` when the point is not a perturbation the task allows.
    fn judge(&self, jobs: &[Job]) -> Result<Vec<Option<bool>>> {
        let feats: Vec<Vec<f32>> = jobs.par_iter().map(|j| self.features(j)).collect();
        let attacked: Vec<Option<T::Instance>> = jobs
            .par_iter()
            .zip(&feats)
            .map(|(j, x)| self.task.attacked_instance(self.targets[j.target].instance, x))
            .collect();
        let legal: Vec<usize> = (0..jobs.len()).filter(|&i| attacked[i].is_some()).collect();
        let insts: Vec<T::Instance> = attacked.into_iter().flatten().collect();
        let answers: Vec<Option<T::Answer>> = match self.surface {
            Some(s) => {
                let lf: Vec<Vec<f32>> = legal.iter().map(|&i| feats[i].clone()).collect();
                s.answer_features(self.task, &insts, &lf)?
            }
            None => self.solver.solve_batch(self.task, &insts)?.into_iter().map(|a| a.answer).collect(),
        };
        if answers.len() != insts.len() {
            return Err(self.solve_error(format!("{} answers for {} attacked instances", answers.len(), insts.len())));
        }
        let wrong: Vec<bool> = insts
            .par_iter()
            .zip(answers.par_iter())
            .map(|(i, a)| !a.as_ref().is_some_and(|a| self.task.score(i, a).success))
            .collect();
        let mut out = vec![None; jobs.len()];
        for (&i, w) in legal.iter().zip(wrong) {
            out[i] = Some(w);
        }
        Ok(out)
    }

    /// Loss gradients at each job's point, with respect to the features.
    fn grads(&self, surface: &dyn AttackSurface<T>, jobs: &[&Job]) -> Result<Vec<Vec<f32>>> {
        let feats: Vec<Vec<f32>> = jobs.iter().map(|j| self.features(j)).collect();
        let points: Vec<AttackPoint<T>> = jobs
            .iter()
            .zip(&feats)
            .map(|(j, x)| {
                let t = &self.targets[j.target];
                AttackPoint { instance: t.instance, features: x, reference: t.reference.as_ref() }
            })
            .collect();
        let out = surface.loss_and_grad(self.task, &points)?;
        if out.len() != jobs.len() || out.iter().zip(&feats).any(|((_, g), x)| g.len() != x.len()) {
            return Err(self.solve_error("the attack surface returned gradients of the wrong shape".into()));
        }
        Ok(out.into_iter().map(|(_, g)| g).collect())
    }

    /// Runs PGD from each job's starting point (judging a start that is not the clean point first); returns
    /// whether any point visited broke the answer.
    fn pgd(&self, surface: &dyn AttackSurface<T>, mut jobs: Vec<Job>) -> Result<Vec<bool>> {
        let mut broken = vec![false; jobs.len()];
        let starts: Vec<usize> = (0..jobs.len()).filter(|&i| jobs[i].u.iter().any(|&u| u != 0.0)).collect();
        let start_jobs: Vec<Job> = starts
            .iter()
            .map(|&i| Job { target: jobs[i].target, budget: jobs[i].budget, u: jobs[i].u.clone() })
            .collect();
        for (&i, b) in starts.iter().zip(self.judge(&start_jobs)?) {
            broken[i] = b == Some(true);
        }
        for _ in 0..PGD_STEPS {
            let active: Vec<usize> = (0..jobs.len()).filter(|&i| !broken[i]).collect();
            if active.is_empty() {
                break;
            }
            let grads = self.grads(surface, &active.iter().map(|&i| &jobs[i]).collect::<Vec<_>>())?;
            for (&i, g) in active.iter().zip(&grads) {
                let job = &mut jobs[i];
                let b = job.budget as f32;
                let step = (PGD_STEP * job.budget) as f32;
                let radius = &self.targets[job.target].radius;
                for ((u, g), r) in job.u.iter_mut().zip(g).zip(radius) {
                    if *r > 0.0 {
                        *u = (*u + step * sign(*g)).clamp(-b, b);
                    }
                }
            }
            let moved: Vec<Job> = active
                .iter()
                .map(|&i| Job { target: jobs[i].target, budget: jobs[i].budget, u: jobs[i].u.clone() })
                .collect();
            for (&i, b) in active.iter().zip(self.judge(&moved)?) {
                broken[i] = b == Some(true);
            }
        }
        Ok(broken)
    }

    /// `RANDOM_CORNERS` seeded random corners of target `t`'s box at `budget`.
    fn corners(&self, t: usize, budget: f64, rng: &mut ChaCha8Rng) -> Vec<Job> {
        let n = self.targets[t].x0.len();
        (0..RANDOM_CORNERS)
            .map(|_| Job {
                target: t,
                budget,
                u: (0..n).map(|_| if rng.random_bool(0.5) { budget as f32 } else { -budget as f32 }).collect(),
            })
            .collect()
    }

    /// Whether the deterministic attacks (FGSM, then PGD from the clean point) break each (target, budget) pair,
    /// or, without a gradient, fresh random corners.
    fn breaks_at(&self, pairs: &[(usize, f64)], g0: &[Vec<f32>], rng: &mut ChaCha8Rng) -> Result<Vec<bool>> {
        let Some(surface) = self.surface else {
            let jobs: Vec<Job> = pairs.iter().flat_map(|&(t, b)| self.corners(t, b, rng)).collect();
            let judged = self.judge(&jobs)?;
            return Ok(judged.chunks(RANDOM_CORNERS).map(|c| c.contains(&Some(true))).collect());
        };
        let fgsm: Vec<Job> = pairs.iter().map(|&(t, b)| fgsm_job(t, b, &g0[t])).collect();
        let mut broken: Vec<bool> = self.judge(&fgsm)?.into_iter().map(|b| b == Some(true)).collect();
        let rest: Vec<usize> = (0..pairs.len()).filter(|&i| !broken[i]).collect();
        let jobs = rest.iter().map(|&i| zero_job(&self.targets[pairs[i].0], pairs[i])).collect();
        for (&i, b) in rest.iter().zip(self.pgd(surface, jobs)?) {
            broken[i] = b;
        }
        Ok(broken)
    }

    fn run(&self, rng: &mut ChaCha8Rng) -> Result<AttackStats> {
        let n = self.targets.len();
        let clean: Vec<Job> = (0..n).map(|t| zero_job(&self.targets[t], (t, 0.0))).collect();
        let ok: Vec<usize> =
            self.judge(&clean)?.iter().enumerate().filter(|(_, b)| **b == Some(false)).map(|(t, _)| t).collect();
        // Gradients at the clean points (FGSM's direction), indexed by target.
        let mut g0 = vec![Vec::new(); n];
        if let Some(surface) = self.surface {
            let jobs: Vec<&Job> = ok.iter().map(|&t| &clean[t]).collect();
            for (&t, g) in ok.iter().zip(self.grads(surface, &jobs)?) {
                g0[t] = g;
            }
        }
        let nb = BUDGETS.len();
        // broken[budget][target] by each family of attacks.
        let mut any = vec![vec![false; n]; nb];
        let mut fgsm = vec![vec![false; n]; nb];
        let mut random = vec![vec![false; n]; nb];
        // Random draws first, in a fixed order, so that they do not depend on the network's answers.
        let mut corner_jobs = Vec::new();
        let mut starts = Vec::new();
        for &b in &BUDGETS {
            for &t in &ok {
                corner_jobs.extend(self.corners(t, b, rng));
                let dim = self.targets[t].x0.len();
                starts.push((0..dim).map(|_| rng.random_range(-b..=b) as f32).collect::<Vec<f32>>());
            }
        }
        let judged = self.judge(&corner_jobs)?;
        for (j, c) in corner_jobs.chunks(RANDOM_CORNERS).zip(judged.chunks(RANDOM_CORNERS)) {
            let bi = BUDGETS.iter().position(|&b| b == j[0].budget).expect("a sweep budget");
            random[bi][j[0].target] = c.contains(&Some(true));
        }
        if let Some(surface) = self.surface {
            let fgsm_jobs: Vec<Job> = BUDGETS
                .iter()
                .flat_map(|&b| ok.iter().map(move |&t| (t, b)))
                .map(|(t, b)| fgsm_job(t, b, &g0[t]))
                .collect();
            for (j, b) in fgsm_jobs.iter().zip(self.judge(&fgsm_jobs)?) {
                let bi = BUDGETS.iter().position(|&x| x == j.budget).expect("a sweep budget");
                fgsm[bi][j.target] = b == Some(true);
            }
            // PGD from the clean point and from a random point, at every budget not yet broken.
            let mut pgd_jobs = Vec::new();
            let mut starts = starts.into_iter();
            for (bi, &b) in BUDGETS.iter().enumerate() {
                for &t in &ok {
                    let start = starts.next().expect("one start per pair");
                    if fgsm[bi][t] || random[bi][t] {
                        continue;
                    }
                    pgd_jobs.push(zero_job(&self.targets[t], (t, b)));
                    pgd_jobs.push(Job { target: t, budget: b, u: start });
                }
            }
            let keys: Vec<(usize, usize)> = pgd_jobs
                .iter()
                .map(|j| (BUDGETS.iter().position(|&x| x == j.budget).expect("a sweep budget"), j.target))
                .collect();
            for ((bi, t), b) in keys.into_iter().zip(self.pgd(surface, pgd_jobs)?) {
                any[bi][t] |= b;
            }
        }
        for bi in 0..nb {
            for &t in &ok {
                any[bi][t] |= fgsm[bi][t] || random[bi][t];
            }
        }
        // Smallest breaking budget: bisection between the sweep budgets around the first break.
        let mut bracket: Vec<(usize, f64, f64)> = Vec::new();
        for &t in &ok {
            if let Some(bi) = (0..nb).find(|&bi| any[bi][t]) {
                bracket.push((t, if bi == 0 { 0.0 } else { BUDGETS[bi - 1] }, BUDGETS[bi]));
            }
        }
        for _ in 0..BISECTION_STEPS {
            let pairs: Vec<(usize, f64)> = bracket.iter().map(|&(t, lo, hi)| (t, 0.5 * (lo + hi))).collect();
            for (br, b) in bracket.iter_mut().zip(self.breaks_at(&pairs, &g0, rng)?) {
                let mid = 0.5 * (br.1 + br.2);
                if b {
                    br.2 = mid;
                } else {
                    br.1 = mid;
                }
            }
        }
        let mut smallest: Vec<f64> = bracket.iter().map(|&(_, _, hi)| hi).collect();
        smallest.resize(ok.len(), f64::INFINITY);
        smallest.sort_by(f64::total_cmp);
        let median = smallest.get(ok.len().div_ceil(2).saturating_sub(1)).copied().filter(|m| m.is_finite());
        let count = |broken: &[bool]| ok.iter().filter(|&&t| !broken[t]).count() as u64;
        let budgets = BUDGETS
            .iter()
            .enumerate()
            .map(|(bi, &budget)| BudgetResult {
                budget,
                fgsm_successes: if self.surface.is_some() { count(&fgsm[bi]) } else { count(&any[bi]) },
                successes: count(&any[bi]),
                random_successes: count(&random[bi]),
            })
            .collect();
        let method = match self.surface {
            Some(_) => format!(
                "FGSM, and {PGD_STEPS}-step PGD (step {PGD_STEP} x budget) from the clean point and from a seeded \
                 random point, on the input features, plus {RANDOM_CORNERS} seeded random corners of the box; \
                 breaking budget by {BISECTION_STEPS}-step bisection with FGSM and PGD"
            ),
            None => format!(
                "control without gradient: {RANDOM_CORNERS} seeded random corners of the box per budget, each \
                 attacked instance solved afresh; breaking budget by {BISECTION_STEPS}-step bisection with fresh \
                 corners"
            ),
        };
        Ok(AttackStats {
            method,
            budget_unit: self.task.attack_unit().into(),
            instances: n as u64,
            clean_successes: ok.len() as u64,
            budgets,
            median_breaking_budget: median,
        })
    }
}

fn fgsm_job(t: usize, budget: f64, g: &[f32]) -> Job {
    Job { target: t, budget, u: g.iter().map(|&g| sign(g) * budget as f32).collect() }
}

fn zero_job<T: Task>(target: &Target<T>, (t, budget): (usize, f64)) -> Job {
    Job { target: t, budget, u: vec![0.0; target.x0.len()] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::axis::{AxisSpec, Cell};
    use crate::solver::{Attempt, Learner, SolveInfo, Symbolic, TrainData};
    use crate::task::{Outcome, VecShape};
    use std::sync::Mutex;

    /// Is the first of two numbers positive? Features are the two numbers; the first may move by half its size
    /// (so its sign, the answer, stays), the second by 1. The perturbed features are the attacked instance.
    struct SignTask;

    static AXES: [AxisSpec; 0] = [];

    impl Task for SignTask {
        type Instance = Vec<f32>;
        type Answer = bool;
        fn id(&self) -> &'static str {
            "sign-test"
        }
        fn description(&self) -> &'static str {
            "is the first number positive"
        }
        fn axes(&self) -> &'static [AxisSpec] {
            &AXES
        }
        fn generate(&self, _cell: Cell, rng: &mut ChaCha8Rng) -> Vec<f32> {
            vec![rng.random_range(0.1..1.0), 0.0]
        }
        fn validate(&self, _inst: &Vec<f32>) -> std::result::Result<(), String> {
            Ok(())
        }
        fn score(&self, inst: &Vec<f32>, answer: &bool) -> Outcome {
            Outcome::new(*answer == (inst[0] > 0.0), 0.0)
        }
        fn metric_name(&self) -> &'static str {
            "none"
        }
        fn solve_symbolic(&self, inst: &Vec<f32>) -> (bool, SolveInfo) {
            (inst[0] > 0.0, SolveInfo::default())
        }
        fn symbolic_description(&self) -> &'static str {
            "look at the sign"
        }
        fn encoding(&self) -> Encoding {
            Encoding::VecRegression(VecShape { inputs: 2, outputs: 1 })
        }
        fn encode_vec(&self, inst: &Vec<f32>) -> Option<Vec<f32>> {
            Some(inst.clone())
        }
        fn attack_radius(&self, inst: &Vec<f32>) -> Option<Vec<f32>> {
            Some(vec![0.5 * inst[0].abs(), 1.0])
        }
        fn attacked_instance(&self, inst: &Vec<f32>, f: &[f32]) -> Option<Vec<f32>> {
            let r = self.attack_radius(inst)?;
            let inside = f.len() == 2 && (0..2).all(|k| (f[k] - inst[k]).abs() <= r[k] * (1.0 + 1e-5));
            inside.then(|| f.to_vec())
        }
    }

    /// A "network" that also reads the second number: positive when x0 + K·x1 > 0. Its loss, −y·(x0 + K·x1), has
    /// gradient −y·(1, K). It records the largest move, relative to the radius, it was asked a gradient at.
    struct SpuriousNet {
        largest: Mutex<f32>,
    }

    const K: f32 = 1.0;

    impl Solver<SignTask> for SpuriousNet {
        fn solve_batch(&self, _task: &SignTask, insts: &[Vec<f32>]) -> Result<Vec<Attempt<bool>>> {
            Ok(insts
                .iter()
                .map(|x| Attempt { answer: Some(x[0] + K * x[1] > 0.0), info: SolveInfo::default() })
                .collect())
        }
        fn attack_surface(&self) -> Option<&dyn AttackSurface<SignTask>> {
            Some(self)
        }
    }

    impl AttackSurface<SignTask> for SpuriousNet {
        fn features(&self, _task: &SignTask, inst: &Vec<f32>) -> Option<Vec<f32>> {
            Some(inst.clone())
        }
        fn loss_and_grad(&self, task: &SignTask, points: &[AttackPoint<'_, SignTask>]) -> Result<Vec<(f32, Vec<f32>)>> {
            let mut largest = self.largest.lock().unwrap();
            Ok(points
                .iter()
                .map(|p| {
                    let r = task.attack_radius(p.instance).unwrap();
                    for k in 0..2 {
                        *largest = largest.max((p.features[k] - p.instance[k]).abs() / r[k]);
                    }
                    let y = if p.instance[0] > 0.0 { 1.0 } else { -1.0 };
                    (-y * (p.features[0] + K * p.features[1]), vec![-y, -y * K])
                })
                .collect())
        }
        fn answer_features(&self, _task: &SignTask, insts: &[Vec<f32>], f: &[Vec<f32>]) -> Result<Vec<Option<bool>>> {
            assert_eq!(insts.len(), f.len());
            Ok(f.iter().map(|x| Some(x[0] + K * x[1] > 0.0)).collect())
        }
    }

    fn instances() -> Vec<Vec<f32>> {
        (0..40).map(|i| vec![(i + 1) as f32 / 40.0 * if i % 2 == 0 { 1.0 } else { -1.0 }, 0.0]).collect()
    }

    #[test]
    fn gradient_attack_finds_the_analytic_breaking_budget() {
        let net = SpuriousNet { largest: Mutex::new(0.0) };
        let insts = instances();
        let stats = run_attack(&SignTask, &net, SolverKind::Network, &insts, 1).unwrap().unwrap();
        assert_eq!((stats.instances, stats.clean_successes), (40, 40));
        // The worst corner moves x0 towards 0 by b·|a|/2 and x1 by b against it: it breaks when b > |a|/(K + |a|/2).
        let breaking = |a: f32| a.abs() / (K + 0.5 * a.abs());
        for r in &stats.budgets {
            let expected = insts.iter().filter(|x| breaking(x[0]) >= r.budget as f32).count() as u64;
            assert_eq!(r.successes, expected, "budget {}", r.budget);
            assert_eq!(r.fgsm_successes, expected, "budget {}: FGSM is optimal on a linear model", r.budget);
            assert!(r.random_successes >= r.successes);
        }
        let mut b: Vec<f32> = insts.iter().map(|x| breaking(x[0])).collect();
        b.sort_by(f32::total_cmp);
        let median = stats.median_breaking_budget.unwrap();
        assert!(median >= b[19] as f64 - 1e-6 && median <= b[19] as f64 + 0.25 / 64.0 + 1e-6, "{median} vs {}", b[19]);
        assert!(*net.largest.lock().unwrap() <= 1.0 + 1e-6);
    }

    #[test]
    fn projected_steps_stay_inside_the_box_of_their_budget() {
        let net = SpuriousNet { largest: Mutex::new(0.0) };
        let task = SignTask;
        let insts = instances();
        let targets = insts
            .iter()
            .map(|i| Target { instance: i, x0: i.clone(), radius: task.attack_radius(i).unwrap(), reference: None })
            .collect();
        let attacker = Attacker { task: &task, solver: &net, surface: Some(&net), targets };
        // Starts at a corner of the 0.25 box, the gradient pushes outwards on every step.
        let jobs = (0..insts.len()).map(|t| Job { target: t, budget: 0.25, u: vec![0.25, -0.25] }).collect();
        attacker.pgd(&net, jobs).unwrap();
        let largest = *net.largest.lock().unwrap();
        assert!(largest > 0.2 && largest <= 0.25 + 1e-6, "{largest}");
    }

    #[test]
    fn the_control_stays_correct_and_unattackable_solvers_are_left_out() {
        let data = TrainData { train: Vec::new(), val: Vec::new(), dropped_overlaps: 0 };
        let (symbolic, _) = Symbolic.train(&SignTask, &data, &crate::Profile::tiny(), 1, &|_| {}).unwrap();
        let insts = instances();
        let stats = run_attack(&SignTask, symbolic.as_ref(), SolverKind::Symbolic, &insts, 1).unwrap().unwrap();
        assert_eq!(stats.clean_successes, 40);
        assert!(stats.budgets.iter().all(|r| r.successes == 40 && r.fgsm_successes == 40 && r.random_successes == 40));
        assert_eq!(stats.median_breaking_budget, None);
        assert!(stats.method.contains("control"));
        // The same solver claimed as a baseline has no gradient: not attacked.
        assert!(run_attack(&SignTask, symbolic.as_ref(), SolverKind::Baseline, &insts, 1).unwrap().is_none());
    }

    #[test]
    fn attacks_are_deterministic_given_the_seed() {
        let net = SpuriousNet { largest: Mutex::new(0.0) };
        let insts = instances();
        let a = run_attack(&SignTask, &net, SolverKind::Network, &insts, 7).unwrap();
        let b = run_attack(&SignTask, &net, SolverKind::Network, &insts, 7).unwrap();
        assert_eq!(a, b);
    }
}
