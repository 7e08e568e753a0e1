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
//! neighbour, program search) are not attacked by the continuous attacks ([`run_attack`] returns `None`).
//!
//! **Discrete attacks** (policy tasks such as navigation, whose observation is a window of whole cells: there is no
//! small continuous perturbation for a gradient to follow): [`Task::attack_variants`] draws instances a few
//! discrete changes away, aimed at the solver's own answer and still solvable (navigation: 1, 2 or 3 cars added
//! on new tracks through cells of the agent's route, timed to stand there when the agent does; the planner must
//! still reach the goal). Every solver takes part, networks or not, through its ordinary answers: per episode it
//! got right, [`VARIANTS`] seeded variants per size in [`VARIANT_SIZES`]; it survives size k when no variant of
//! size at most k makes it fail. The budget is the number of changes (cars), and the median breaking budget is
//! the median fewest cars that turned a success into a failure ([`BudgetResult::failures`] says how many were
//! deaths). The hand-written planner, which sees the added cars like every other car, is the control.
use crate::error::{Error, Result};
use crate::rng::stream;
use crate::solver::{Solver, SolverKind};
use crate::task::{Encoding, Outcome, Task};
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
/// Corners of the box tried per instance and budget: all of them when there are no more (up to four moving
/// features; rocket has two), otherwise seeded random ones.
pub const RANDOM_CORNERS: usize = 16;
/// Bisection steps for the smallest breaking budget (resolution: the gap between two sweep budgets / 64).
pub const BISECTION_STEPS: usize = 6;
/// Sizes of the discrete attack ([`Task::attack_variants`], e.g. cars added), smallest first.
pub const VARIANT_SIZES: [usize; 3] = [1, 2, 3];
/// Variants tried per instance and size in the discrete attack.
pub const VARIANTS: usize = 4;

/// How hard the attacks search; [`AttackConfig::default`] is what [`run_attack`] uses (the constants above).
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
    /// The network's answer to each instance (the attacked instance, which the features describe) when it reads
    /// `features` instead of the instance's own encoding.
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
    /// Instances still answered correctly after every attack tried at this budget or a smaller one (FGSM, PGD,
    /// random corners): no point inside the box broke them. Never more than at a smaller budget.
    pub successes: u64,
    /// Instances still answered correctly at every random corner tried (no gradient: the noise baseline).
    #[serde(default)]
    pub random_successes: u64,
    /// Mean, over the instances answered correctly without perturbation, of the worst value of the task's metric
    /// found inside the box (a point found at a smaller budget counts here too): how close the attacks came.
    #[serde(default)]
    pub worst_mean_metric: Option<f64>,
    /// How the broken answers failed, by the task's category, where the task names one (the discrete attack:
    /// e.g. `death`, `timeout`); one entry per broken instance, the first failure found.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub failures: std::collections::BTreeMap<String, u64>,
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
    /// Mean of the task's metric over the instances answered correctly without perturbation.
    #[serde(default)]
    pub clean_mean_metric: Option<f64>,
    /// Success under attack per budget, smallest first.
    pub budgets: Vec<BudgetResult>,
    /// Median over the instances answered correctly without perturbation of the smallest budget that broke the
    /// answer (instances never broken count as unbroken, above every budget); `None` when fewer than half of them
    /// broke.
    pub median_breaking_budget: Option<f64>,
}

/// Runs the adversarial experiment on `instances` (level-0 test instances) for one trained solver of family
/// `kind`: gradient attacks for solvers with an [`AttackSurface`], corners of the box for the hand-written
/// control, and for policy tasks the discrete attack on any solver. `None` when the task takes no part (no
/// [`Task::attack_radius`], or a policy task without [`Task::attack_variants`]), or when a continuous attack meets
/// a solver without gradient that is not the control. Deterministic given `seed`.
pub fn run_attack<T: Task>(
    task: &T,
    solver: &dyn Solver<T>,
    kind: SolverKind,
    instances: &[T::Instance],
    seed: u64,
) -> Result<Option<AttackStats>> {
    run_attack_with(task, solver, kind, instances, seed, &AttackConfig::default())
}

/// [`run_attack`] with another search effort.
pub fn run_attack_with<T: Task>(
    task: &T,
    solver: &dyn Solver<T>,
    kind: SolverKind,
    instances: &[T::Instance],
    seed: u64,
    cfg: &AttackConfig,
) -> Result<Option<AttackStats>> {
    let encoding = task.encoding();
    match encoding {
        Encoding::None => return Ok(None),
        Encoding::Policy(_) => return run_variants(task, solver, instances, seed, cfg),
        _ => {}
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
    let attacker = Attacker { task, solver, surface, targets, cfg: cfg.clone() };
    let mut rng = stream(seed, task.id(), "attack");
    Ok(Some(attacker.run(&mut rng)?))
}

/// The discrete attack ([`Task::attack_variants`]) on any solver: per instance answered correctly, variants of
/// growing size aimed at the solver's own answer; an instance survives size k when no variant of size at most k
/// makes its answer fail. `None` when the task offers no variants.
fn run_variants<T: Task>(
    task: &T,
    solver: &dyn Solver<T>,
    instances: &[T::Instance],
    seed: u64,
    cfg: &AttackConfig,
) -> Result<Option<AttackStats>> {
    let attempt = |insts: &[T::Instance]| -> Result<Vec<crate::solver::Attempt<T::Answer>>> {
        let attempts = solver.solve_batch(task, insts)?;
        if attempts.len() != insts.len() {
            return Err(Error::Solve {
                task: task.id().into(),
                solver: "attacked solver".into(),
                reason: format!("{} answers for {} instances", attempts.len(), insts.len()),
            });
        }
        Ok(attempts)
    };
    let score = |insts: &[T::Instance], attempts: &[crate::solver::Attempt<T::Answer>]| -> Vec<Outcome> {
        insts.par_iter().zip(attempts.par_iter()).map(|(i, a)| Outcome::of(task, i, a.answer.as_ref())).collect()
    };
    // Whether the task offers variants at all, asked with the hand-written solver's answers to a few instances.
    let offers = instances.iter().take(5).enumerate().any(|(t, inst)| {
        let mut rng = stream(seed, task.id(), &format!("attack/offer/{t}"));
        !task.attack_variants(inst, &task.solve_symbolic(inst).0, VARIANT_SIZES[0], 1, &mut rng).is_empty()
    });
    if !offers {
        return Ok(None);
    }
    let attempts = attempt(instances)?;
    let clean = score(instances, &attempts);
    let ok: Vec<usize> = (0..instances.len()).filter(|&t| clean[t].success).collect();
    let n = instances.len();
    let ns = VARIANT_SIZES.len();
    let higher = task.metric_higher_is_better();
    let mut worst: Vec<Vec<f64>> = vec![clean.iter().map(|o| o.metric).collect(); ns];
    let mut broken_at: Vec<Option<usize>> = vec![None; n];
    let mut failures: Vec<Option<&'static str>> = vec![None; n];
    for (si, &size) in VARIANT_SIZES.iter().enumerate() {
        let alive: Vec<usize> = ok.iter().copied().filter(|&t| broken_at[t].is_none()).collect();
        // One stream per (instance, size): the variants do not depend on what other instances drew or did.
        let variants: Vec<(usize, Vec<T::Instance>)> = alive
            .par_iter()
            .filter_map(|&t| {
                let answer = attempts.get(t)?.answer.as_ref()?;
                let mut rng = stream(seed, task.id(), &format!("attack/{t}/{size}"));
                Some((t, task.attack_variants(&instances[t], answer, size, cfg.variants, &mut rng)))
            })
            .collect();
        let owners: Vec<usize> = variants.iter().flat_map(|(t, v)| std::iter::repeat_n(*t, v.len())).collect();
        let flat: Vec<T::Instance> = variants.into_iter().flat_map(|(_, v)| v).collect();
        if flat.is_empty() {
            continue;
        }
        for (&t, o) in owners.iter().zip(score(&flat, &attempt(&flat)?)) {
            for w in worst.iter_mut().skip(si) {
                w[t] = if higher { w[t].min(o.metric) } else { w[t].max(o.metric) };
            }
            if !o.success && broken_at[t].is_none() {
                broken_at[t] = Some(si);
                failures[t] = Some(o.failure.unwrap_or("failure"));
            }
        }
    }
    let median = median_breaking(
        ok.iter().map(|&t| broken_at[t].map_or(f64::INFINITY, |si| VARIANT_SIZES[si] as f64)).collect(),
    );
    let mean = |m: &[f64]| (!ok.is_empty()).then(|| ok.iter().map(|&t| m[t]).sum::<f64>() / ok.len() as f64);
    let budgets = (0..ns)
        .map(|si| {
            let survived = ok.iter().filter(|&&t| broken_at[t].is_none_or(|b| b > si)).count() as u64;
            let mut by_kind = std::collections::BTreeMap::new();
            for &t in ok.iter().filter(|&&t| broken_at[t].is_some_and(|b| b <= si)) {
                *by_kind.entry(failures[t].unwrap_or("failure").to_string()).or_insert(0) += 1;
            }
            BudgetResult {
                budget: VARIANT_SIZES[si] as f64,
                fgsm_successes: survived,
                successes: survived,
                random_successes: survived,
                worst_mean_metric: mean(&worst[si]),
                failures: by_kind,
            }
        })
        .collect();
    Ok(Some(AttackStats {
        method: format!(
            "no gradient: per instance answered correctly, {} seeded variants of each size aimed at the \
             solver's own answer, each still solvable; an instance survives size k when no variant of size at \
             most k makes it fail",
            cfg.variants
        ),
        budget_unit: task.attack_unit().into(),
        instances: n as u64,
        clean_successes: ok.len() as u64,
        clean_mean_metric: mean(&clean.iter().map(|o| o.metric).collect::<Vec<_>>()),
        budgets,
        median_breaking_budget: median,
    }))
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
#[derive(Debug, Clone)]
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
    cfg: AttackConfig,
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

/// How one point fared.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Judged {
    /// The answer there is wrong (or missing).
    broken: bool,
    /// The task's metric of that answer.
    metric: f64,
}

/// What the attacks found so far, per sweep budget and target. A point found inside a small box lies inside
/// every larger one, so it counts at its own budget and every larger sweep budget.
struct Tally {
    higher_is_better: bool,
    broken: Vec<Vec<bool>>,
    worst: Vec<Vec<f64>>,
}

impl Tally {
    fn record(&mut self, t: usize, budget: f64, judged: Option<Judged>) {
        let Some(j) = judged else { return };
        for bi in (0..BUDGETS.len()).filter(|&bi| BUDGETS[bi] >= budget) {
            self.broken[bi][t] |= j.broken;
            let w = &mut self.worst[bi][t];
            *w = if self.higher_is_better { w.min(j.metric) } else { w.max(j.metric) };
        }
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

    /// How the solver fares on the instance each job's point describes; `None` when the point is not a
    /// perturbation the task allows.
    fn judge(&self, jobs: &[Job]) -> Result<Vec<Option<Judged>>> {
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
        let judged: Vec<Judged> = insts
            .par_iter()
            .zip(answers.par_iter())
            .map(|(i, a)| {
                let o = Outcome::of(self.task, i, a.as_ref());
                Judged { broken: !o.success, metric: o.metric }
            })
            .collect();
        let mut out = vec![None; jobs.len()];
        for (&i, j) in legal.iter().zip(judged) {
            out[i] = Some(j);
        }
        Ok(out)
    }

    /// Judges `jobs`, records them, and returns which broke their answer.
    fn judge_and_record(&self, jobs: &[Job], tally: &mut Tally) -> Result<Vec<bool>> {
        let judged = self.judge(jobs)?;
        for (job, j) in jobs.iter().zip(&judged) {
            tally.record(job.target, job.budget, *j);
        }
        Ok(judged.iter().map(|j| j.is_some_and(|j| j.broken)).collect())
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

    /// Runs PGD from each job's starting point (judging a start that is not the clean point first), recording
    /// every point visited; returns whether any of them broke the answer.
    fn pgd(&self, surface: &dyn AttackSurface<T>, mut jobs: Vec<Job>, tally: &mut Tally) -> Result<Vec<bool>> {
        let mut broken = vec![false; jobs.len()];
        let starts: Vec<usize> = (0..jobs.len()).filter(|&i| jobs[i].u.iter().any(|&u| u != 0.0)).collect();
        let start_jobs: Vec<Job> = starts.iter().map(|&i| jobs[i].clone()).collect();
        for (&i, b) in starts.iter().zip(self.judge_and_record(&start_jobs, tally)?) {
            broken[i] = b;
        }
        for _ in 0..self.cfg.pgd_steps {
            let active: Vec<usize> = (0..jobs.len()).filter(|&i| !broken[i]).collect();
            if active.is_empty() {
                break;
            }
            let grads = self.grads(surface, &active.iter().map(|&i| &jobs[i]).collect::<Vec<_>>())?;
            for (&i, g) in active.iter().zip(&grads) {
                let job = &mut jobs[i];
                let b = job.budget as f32;
                let step = (2.5 / self.cfg.pgd_steps as f64 * job.budget) as f32;
                let radius = &self.targets[job.target].radius;
                for ((u, g), r) in job.u.iter_mut().zip(g).zip(radius) {
                    if *r > 0.0 {
                        *u = (*u + step * sign(*g)).clamp(-b, b);
                    }
                }
            }
            let moved: Vec<Job> = active.iter().map(|&i| jobs[i].clone()).collect();
            for (&i, b) in active.iter().zip(self.judge_and_record(&moved, tally)?) {
                broken[i] = b;
            }
        }
        Ok(broken)
    }

    /// Corners of target `t`'s box at `budget`: all of them when there are no more than `cfg.corners` (at most two
    /// moving features, with the default), otherwise `cfg.corners` seeded random ones.
    fn corners(&self, t: usize, budget: f64, rng: &mut ChaCha8Rng) -> Vec<Job> {
        let radius = &self.targets[t].radius;
        let free: Vec<usize> = (0..radius.len()).filter(|&k| radius[k] > 0.0).collect();
        let b = budget as f32;
        let all = 1usize.checked_shl(free.len() as u32).filter(|&n| n <= self.cfg.corners);
        let corner = |signs: &dyn Fn(usize) -> bool| {
            let mut u = vec![0.0; radius.len()];
            for (bit, &k) in free.iter().enumerate() {
                u[k] = if signs(bit) { b } else { -b };
            }
            Job { target: t, budget, u }
        };
        match all {
            Some(n) => (0..n).map(|c| corner(&|bit| (c >> bit) & 1 == 1)).collect(),
            None => (0..self.cfg.corners)
                .map(|_| {
                    let signs: Vec<bool> = free.iter().map(|_| rng.random_bool(0.5)).collect();
                    corner(&|bit| signs[bit])
                })
                .collect(),
        }
    }

    /// Whether the attacks (fresh corners, and with a gradient FGSM, then PGD from the clean point) break each
    /// (target, budget) pair.
    fn breaks_at(
        &self,
        pairs: &[(usize, f64)],
        g0: &[Vec<f32>],
        rng: &mut ChaCha8Rng,
        tally: &mut Tally,
    ) -> Result<Vec<bool>> {
        let (mut owners, mut jobs) = (Vec::new(), Vec::new());
        for (i, &(t, b)) in pairs.iter().enumerate() {
            let corners = self.corners(t, b, rng);
            owners.extend(std::iter::repeat_n(i, corners.len()));
            jobs.extend(corners);
            if self.surface.is_some() {
                owners.push(i);
                jobs.push(fgsm_job(t, b, &g0[t]));
            }
        }
        let mut broken = vec![false; pairs.len()];
        for (&i, b) in owners.iter().zip(self.judge_and_record(&jobs, tally)?) {
            broken[i] |= b;
        }
        let Some(surface) = self.surface else { return Ok(broken) };
        let rest: Vec<usize> = (0..pairs.len()).filter(|&i| !broken[i]).collect();
        let jobs = rest.iter().map(|&i| zero_job(&self.targets[pairs[i].0], pairs[i])).collect();
        for (&i, b) in rest.iter().zip(self.pgd(surface, jobs, tally)?) {
            broken[i] = b;
        }
        Ok(broken)
    }

    fn run(&self, rng: &mut ChaCha8Rng) -> Result<AttackStats> {
        let n = self.targets.len();
        let clean: Vec<Job> = (0..n).map(|t| zero_job(&self.targets[t], (t, 0.0))).collect();
        let clean_judged = self.judge(&clean)?;
        let ok: Vec<usize> = (0..n).filter(|&t| clean_judged[t].is_some_and(|j| !j.broken)).collect();
        let clean_metric: Vec<f64> = clean_judged.iter().map(|j| j.map_or(f64::NAN, |j| j.metric)).collect();
        let nb = BUDGETS.len();
        let mut tally = Tally {
            higher_is_better: self.task.metric_higher_is_better(),
            broken: vec![vec![false; n]; nb],
            worst: vec![clean_metric.clone(); nb],
        };
        // Gradients at the clean points (FGSM's direction), indexed by target.
        let mut g0 = vec![Vec::new(); n];
        if let Some(surface) = self.surface {
            let jobs: Vec<&Job> = ok.iter().map(|&t| &clean[t]).collect();
            for (&t, g) in ok.iter().zip(self.grads(surface, &jobs)?) {
                g0[t] = g;
            }
        }
        // Random draws first, in a fixed order, so that they do not depend on the solver's answers.
        let mut corner_jobs = Vec::new();
        let mut starts = Vec::new();
        for &b in &BUDGETS {
            for &t in &ok {
                corner_jobs.extend(self.corners(t, b, rng));
                let dim = self.targets[t].x0.len();
                starts.push((0..dim).map(|_| rng.random_range(-b..=b) as f32).collect::<Vec<f32>>());
            }
        }
        // Broken by one attack at exactly one budget, for the FGSM and noise columns.
        let mut fgsm = vec![vec![false; n]; nb];
        let mut random = vec![vec![false; n]; nb];
        let bi_of = |b: f64| BUDGETS.iter().position(|&x| x == b).expect("a sweep budget");
        for (j, b) in corner_jobs.iter().zip(self.judge_and_record(&corner_jobs, &mut tally)?) {
            random[bi_of(j.budget)][j.target] |= b;
        }
        if let Some(surface) = self.surface {
            let fgsm_jobs: Vec<Job> = BUDGETS
                .iter()
                .flat_map(|&b| ok.iter().map(move |&t| (t, b)))
                .map(|(t, b)| fgsm_job(t, b, &g0[t]))
                .collect();
            for (j, b) in fgsm_jobs.iter().zip(self.judge_and_record(&fgsm_jobs, &mut tally)?) {
                fgsm[bi_of(j.budget)][j.target] = b;
            }
            // PGD from the clean point and from a random point, budget by budget, where nothing inside the box has
            // broken the answer yet.
            let mut starts = starts.into_iter();
            for (bi, &b) in BUDGETS.iter().enumerate() {
                let mut jobs = Vec::new();
                for &t in &ok {
                    let start = starts.next().expect("one start per pair");
                    if !tally.broken[bi][t] {
                        jobs.push(zero_job(&self.targets[t], (t, b)));
                        if self.cfg.random_start {
                            jobs.push(Job { target: t, budget: b, u: start });
                        }
                    }
                }
                self.pgd(surface, jobs, &mut tally)?;
            }
        }
        // Smallest breaking budget: bisection between the sweep budgets around the first break.
        let mut bracket: Vec<(usize, f64, f64)> = Vec::new();
        for &t in &ok {
            if let Some(bi) = (0..nb).find(|&bi| tally.broken[bi][t]) {
                bracket.push((t, if bi == 0 { 0.0 } else { BUDGETS[bi - 1] }, BUDGETS[bi]));
            }
        }
        for _ in 0..self.cfg.bisection_steps {
            let pairs: Vec<(usize, f64)> = bracket.iter().map(|&(t, lo, hi)| (t, 0.5 * (lo + hi))).collect();
            for (br, b) in bracket.iter_mut().zip(self.breaks_at(&pairs, &g0, rng, &mut tally)?) {
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
        let median = median_breaking(smallest);
        let count = |broken: &[bool]| ok.iter().filter(|&&t| !broken[t]).count() as u64;
        let mean = |m: &[f64]| (!ok.is_empty()).then(|| ok.iter().map(|&t| m[t]).sum::<f64>() / ok.len() as f64);
        let budgets = BUDGETS
            .iter()
            .enumerate()
            .map(|(bi, &budget)| BudgetResult {
                budget,
                fgsm_successes: if self.surface.is_some() { count(&fgsm[bi]) } else { count(&tally.broken[bi]) },
                successes: count(&tally.broken[bi]),
                random_successes: count(&random[bi]),
                worst_mean_metric: mean(&tally.worst[bi]),
                failures: Default::default(),
            })
            .collect();
        let c = &self.cfg;
        let corners = format!(
            "{} corners of the box per budget (all of them when there are no more, else seeded random)",
            c.corners
        );
        let method = match self.surface {
            Some(_) => format!(
                "FGSM, and {}-step PGD (step {} x budget) from the clean point{} on the input features, plus \
                 {corners}; breaking budget by {}-step bisection with FGSM, fresh corners and PGD",
                c.pgd_steps,
                2.5 / c.pgd_steps.max(1) as f64,
                if c.random_start { " and from a seeded random point," } else { "," },
                c.bisection_steps
            ),
            None => format!(
                "control without gradient: {corners}, each attacked instance solved afresh; breaking budget by \
                 {}-step bisection with fresh corners",
                c.bisection_steps
            ),
        };
        Ok(AttackStats {
            method,
            budget_unit: self.task.attack_unit().into(),
            instances: n as u64,
            clean_successes: ok.len() as u64,
            clean_mean_metric: mean(&clean_metric),
            budgets,
            median_breaking_budget: median,
        })
    }
}

/// The (lower) median of the smallest breaking budgets, unbroken instances counting as infinite; `None` when it is
/// infinite, i.e. fewer than half of the instances broke.
fn median_breaking(mut smallest: Vec<f64>) -> Option<f64> {
    smallest.sort_by(f64::total_cmp);
    smallest.get(smallest.len().div_ceil(2).saturating_sub(1)).copied().filter(|m| m.is_finite())
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
                    for ((x, x0), r) in p.features.iter().zip(p.instance).zip(&r) {
                        *largest = largest.max((x - x0).abs() / r);
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
        let attacker =
            Attacker { task: &task, solver: &net, surface: Some(&net), targets, cfg: AttackConfig::default() };
        // Starts at a corner of the 0.25 box, the gradient pushes outwards on every step.
        let jobs = (0..insts.len()).map(|t| Job { target: t, budget: 0.25, u: vec![0.25, -0.25] }).collect();
        let mut tally =
            Tally { higher_is_better: true, broken: vec![vec![false; 40]; 3], worst: vec![vec![1.0; 40]; 3] };
        attacker.pgd(&net, jobs, &mut tally).unwrap();
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
