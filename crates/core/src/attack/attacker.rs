//! The continuous attacks: FGSM, PGD and random corners of the box, and bisection of the breaking budget.

use super::{AttackConfig, AttackTask, Error, Outcome, Result, Solver, Task, VecTask, BUDGETS};
use super::{AttackPoint, AttackStats, AttackSurface, BudgetResult, ChaCha8Rng, LinearReference, Rng};
use rayon::prelude::*;

/// The correct output of `inst` and its central differences across the box's faces, from the hand-written
/// solver's answers; `None` when the task cannot express answers as outputs.
pub(super) fn linear_reference<T: VecTask + AttackTask>(
    task: &T,
    inst: &T::Instance,
    x0: &[f32],
    radius: &[f32],
) -> Option<LinearReference> {
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
pub(super) struct Target<'a, T: Task> {
    pub(super) instance: &'a T::Instance,
    pub(super) x0: Vec<f32>,
    pub(super) radius: Vec<f32>,
    pub(super) reference: Option<LinearReference>,
}

/// A point of one target's box, in normalised coordinates.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) target: usize,
    pub(super) budget: f64,
    pub(super) u: Vec<f32>,
}

pub(super) struct Attacker<'a, T: AttackTask> {
    pub(super) task: &'a T,
    pub(super) solver: &'a dyn Solver<T>,
    pub(super) surface: Option<&'a dyn AttackSurface<T>>,
    pub(super) targets: Vec<Target<'a, T>>,
    pub(super) cfg: AttackConfig,
    /// Whether the solver is the hand-written control (for the method's wording).
    pub(super) control: bool,
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
pub(super) struct Tally {
    pub(super) higher_is_better: bool,
    pub(super) broken: Vec<Vec<bool>>,
    pub(super) worst: Vec<Vec<f64>>,
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

impl<T: AttackTask> Attacker<'_, T> {
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
    pub(super) fn pgd(
        &self,
        surface: &dyn AttackSurface<T>,
        mut jobs: Vec<Job>,
        tally: &mut Tally,
    ) -> Result<Vec<bool>> {
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

    pub(super) fn run(&self, rng: &mut ChaCha8Rng) -> Result<AttackStats> {
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
            None if self.control => format!(
                "control without gradient: {corners}, each attacked instance solved afresh; breaking budget by \
                 {}-step bisection with fresh corners",
                c.bisection_steps
            ),
            None => format!(
                "gradient-free (the solver exposes no input gradient): {corners}, each attacked instance answered \
                 afresh; breaking budget by {}-step bisection with fresh corners",
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
pub(super) fn median_breaking(mut smallest: Vec<f64>) -> Option<f64> {
    smallest.sort_by(f64::total_cmp);
    smallest.get(smallest.len().div_ceil(2).saturating_sub(1)).copied().filter(|m| m.is_finite())
}

fn fgsm_job(t: usize, budget: f64, g: &[f32]) -> Job {
    Job { target: t, budget, u: g.iter().map(|&g| sign(g) * budget as f32).collect() }
}

fn zero_job<T: Task>(target: &Target<T>, (t, budget): (usize, f64)) -> Job {
    Job { target: t, budget, u: vec![0.0; target.x0.len()] }
}
