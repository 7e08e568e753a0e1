//! The `formula-search` and `formula-shoot` learners and their solver, for every version of the task.

use super::dsl::{dsl, inputs_of, trials};
use super::formula::{search, Fitted, Formula, Settings};
use super::vacuum::VacuumFormula;
use crate::enumerate::Cap;
use driftbench_core::solver::Attempt;
use driftbench_core::{rng, Learner, Profile, SolveInfo, Solver, SolverKind, Task, TrainData, TrainStats, VecTask};
use driftbench_tasks::rocket::{
    shoot_many, Launch, Rocket, RocketInstance, RocketTask, RocketV2, ShootProblem, Version,
};
use rayon::prelude::*;

/// The program-search learners of `rocket-v1`.
pub fn learners() -> Vec<Box<dyn Learner<Rocket>>> {
    vec![Box::new(FormulaSearch::formula()), Box::new(FormulaSearch::shoot())]
}

/// The task-specific learners of `rocket-v2`: the two program searches and the information-matched control
/// `vacuum-formula` ([`VacuumFormula`]).
pub fn learners_v2() -> Vec<Box<dyn Learner<RocketV2>>> {
    vec![
        Box::new(FormulaSearch::formula().with_max_programs(V2_MAX_PROGRAMS)),
        Box::new(FormulaSearch::shoot().with_max_programs(V2_MAX_PROGRAMS)),
        Box::new(VacuumFormula),
    ]
}

/// The program cap of `rocket-v2`'s searches: about the 0.67 M distinct behaviours that v1's full search keeps at
/// size 9. Where every input varies (v2's altitude does) the same space holds 1.69 M, which doubled the search's
/// cost; with this cap the size-9 enumeration stops part-way and, on level-0 validation (seed 100, quick profile),
/// found the same formulas as the uncapped search (94.1% success, 23.8% within 1% in distance and time, against
/// 91.4% and 14.8% at size 7).
pub const V2_MAX_PROGRAMS: usize = 700_000;

/// A rocket formula learner: `formula-search` (answers with the formulas) or `formula-shoot` (uses them as the
/// starting launch of Newton shooting on the task's simulator).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FormulaSearch {
    /// Whether answers are refined by shooting.
    pub shoot: bool,
    /// Settings to use instead of [`Settings::for_profile`] (for experiments and tests); `None` in the registry.
    pub settings: Option<Settings>,
    /// A program cap below the profile's ([`Caps::max_programs`](crate::enumerate::Caps)), where a version's
    /// inputs make the same space larger; `None`: the profile's.
    pub max_programs: Option<usize>,
}

impl FormulaSearch {
    /// `formula-search`.
    pub fn formula() -> Self {
        FormulaSearch { shoot: false, settings: None, max_programs: None }
    }

    /// `formula-shoot`.
    pub fn shoot() -> Self {
        FormulaSearch { shoot: true, settings: None, max_programs: None }
    }

    /// The learner's name: `formula-shoot` or `formula-search`.
    pub fn label(&self) -> &'static str {
        if self.shoot {
            "formula-shoot"
        } else {
            "formula-search"
        }
    }

    /// The learner with the program cap lowered to `max_programs` (never raised above the profile's).
    pub fn with_max_programs(self, max_programs: usize) -> Self {
        FormulaSearch { max_programs: Some(max_programs), ..self }
    }

    /// The settings under `profile` (unless overridden), with [`FormulaSearch::max_programs`] applied.
    pub fn settings(&self, profile: &Profile) -> Settings {
        let mut s = self.settings.unwrap_or_else(|| Settings::for_profile(profile));
        if let Some(cap) = self.max_programs {
            s.caps.max_programs = s.caps.max_programs.min(cap);
        }
        s
    }
}

struct FormulaSolver {
    formulas: Option<(Formula, Formula)>,
    shoot: bool,
}

/// Instances whose Newton runs share one set of simulator lanes.
const SHOOT_CHUNK: usize = 256;

impl FormulaSolver {
    /// The shooting problem that starts from the formulas' launch, or `None` where they give no finite launch.
    fn start(&self, inst: &RocketInstance) -> Option<ShootProblem> {
        let (fx, fy) = self.formulas.as_ref()?;
        let x = inputs_of(inst);
        let (vx, vy) = (fx.eval(&x), fy.eval(&x));
        (vx.is_finite() && vy.is_finite()).then(|| ShootProblem {
            env: inst.env(),
            distance: inst.distance,
            time: inst.flight_time,
            start: (vx, vy),
        })
    }

    /// The formulas' launch as the answer (`formula-search`).
    fn answer(&self, inst: &RocketInstance) -> Attempt<Launch> {
        match self.start(inst) {
            Some(p) => Attempt { answer: Some(Launch { vx: p.start.0, vy: p.start.1 }), info: SolveInfo::default() },
            None => Attempt { answer: None, info: SolveInfo::default() },
        }
    }
}

impl<V: Version> Solver<RocketTask<V>> for FormulaSolver {
    fn solve_batch(
        &self,
        _task: &RocketTask<V>,
        instances: &[RocketInstance],
    ) -> driftbench_core::Result<Vec<Attempt<Launch>>> {
        if !self.shoot {
            return Ok(instances.par_iter().map(|i| self.answer(i)).collect());
        }
        // The Newton runs of a chunk of instances share the simulator's lanes (`shoot_many`: the same launches
        // and trial counts as `shoot` on each).
        Ok(instances
            .par_chunks(SHOOT_CHUNK)
            .flat_map_iter(|insts| {
                let starts: Vec<Option<ShootProblem>> = insts.iter().map(|i| self.start(i)).collect();
                let problems: Vec<ShootProblem> = starts.iter().flatten().copied().collect();
                let mut shot = shoot_many(&problems).into_iter();
                starts
                    .into_iter()
                    .map(|s| match s {
                        None => Attempt { answer: None, info: SolveInfo::default() },
                        Some(_) => {
                            let (launch, trials) = shot.next().expect("one run per problem");
                            Attempt { answer: Some(launch), info: SolveInfo { work: trials } }
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect())
    }
}

/// Validation instances on which the learner reports its task success rate.
const VAL_SCORED: usize = 256;

impl<V: Version> Learner<RocketTask<V>> for FormulaSearch {
    fn name(&self) -> &'static str {
        self.label()
    }

    fn kind(&self) -> SolverKind {
        SolverKind::ProgramSearch
    }

    fn description(&self) -> String {
        let base = "formulas for (vx, vy) over D, T, g, rho, h0, 1, 2 and + - * / (size-capped, up to 2 fitted \
                    constants) by enumeration with observational-equivalence pruning, from the networks' trials";
        if self.shoot {
            format!("{base}; used as the start of Newton shooting on the task's simulator")
        } else {
            base.into()
        }
    }

    fn observes(&self, task: &RocketTask<V>) -> String {
        let base = format!("{} (the recorded trials' features)", task.input_description());
        if self.shoot {
            format!("{base}, and the flight simulator with drag at test time (Newton shooting from the formulas)")
        } else {
            format!("{base}; no simulator")
        }
    }

    fn config(&self, _task: &RocketTask<V>, profile: &Profile) -> serde_json::Value {
        let s = self.settings(profile);
        serde_json::json!({
            "dsl": dsl(),
            "settings": s,
            "shoot": self.shoot,
            "selection": "per output: screen every skeleton and form on the probes; refit the shortlist on the \
                          fitting trials; least validation relative RMSE + lambda * size",
        })
    }

    fn train(
        &self,
        task: &RocketTask<V>,
        data: &TrainData<RocketTask<V>>,
        profile: &Profile,
        seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<(Box<dyn Solver<RocketTask<V>>>, TrainStats)> {
        let settings = self.settings(profile);
        // The networks' trials: a prefix of the instances gives the networks' first examples.
        let n_train = settings.fit_trials.max(settings.probes).min(data.train.len());
        let n_val = settings.val_trials.min(data.val.len());
        let (train_ex, used_trials) =
            task.vec_training_set(&data.train[..n_train], &mut rng::stream(seed, task.id(), "trials/train"));
        let (val_ex, _) = task.vec_training_set(&data.val[..n_val], &mut rng::stream(seed, task.id(), "trials/val"));
        let (train, val) = (trials(&train_ex), trials(&val_ex));
        if train.is_empty() {
            let e = crate::SearchError::NoData("no landed training trial".into());
            return Err(crate::training_error(task.id(), self.label(), e));
        }
        let fit = search(&train, &val, &settings);
        let s = &fit.stats;
        let formulas = fit.vx.as_ref().zip(fit.vy.as_ref()).map(|(a, b)| (a.formula.clone(), b.formula.clone()));
        let solver = FormulaSolver { formulas, shoot: self.shoot };
        let mut stats = TrainStats {
            examples: train.len().min(settings.fit_trials) as u64,
            trials: used_trials,
            ..Default::default()
        };
        let consistent = |f: &Option<Fitted>| f.as_ref().map_or(0, |f| f.consistent) as f64;
        let extra = [
            ("programs_enumerated", s.enumerated as f64),
            ("distinct_behaviours", s.kept as f64),
            ("search_s", s.seconds),
            ("fit_s", fit.fit_seconds),
            ("peak_bytes", s.peak_bytes as f64),
            ("consistent_programs", consistent(&fit.vx).min(consistent(&fit.vy))),
            ("consistent_programs_vx", consistent(&fit.vx)),
            ("consistent_programs_vy", consistent(&fit.vy)),
            ("found", solver.formulas.is_some() as u8 as f64),
            ("max_size", s.size_completed as f64),
            ("probe_trials", settings.probes.min(train.len()) as f64),
            ("val_trials", val.len() as f64),
            ("trials_available", data.train.len() as f64),
        ];
        stats.extra = extra.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        match (&fit.vx, &fit.vy) {
            (Some(fx), Some(fy)) => {
                stats.program = Some(format!("vx = {}; vy = {}", fx.formula, fy.formula));
                for (k, v) in [
                    ("val_rel_rmse_vx", fx.val_error),
                    ("val_rel_rmse_vy", fy.val_error),
                    ("fit_rel_rmse_vx", fx.fit_error),
                    ("fit_rel_rmse_vy", fy.fit_error),
                    ("program_size_vx", fx.formula.size() as f64),
                    ("program_size_vy", fy.formula.size() as f64),
                ] {
                    stats.extra.insert(k.into(), v);
                }
                stats.val_loss = Some((fx.val_error + fy.val_error) / 2.0);
                let scored = &data.val[..data.val.len().min(VAL_SCORED)];
                let attempts = solver.solve_batch(task, scored)?;
                let answers: Vec<Option<&Launch>> = attempts.iter().map(|a| a.answer.as_ref()).collect();
                let outcomes: Vec<Option<driftbench_core::Outcome>> =
                    task.score_batch(scored, &answers).into_iter().zip(&answers).map(|(o, a)| a.map(|_| o)).collect();
                if !scored.is_empty() {
                    let n = scored.len() as f64;
                    let hit = |strict: bool| {
                        let count = outcomes.iter().filter(|o| {
                            o.is_some_and(
                                |o| if strict { task.strict_success(&o).unwrap_or(o.success) } else { o.success },
                            )
                        });
                        count.count() as f64 / n
                    };
                    stats.val_accuracy = Some(hit(true));
                    stats.val_accuracy_name = Some(task.strict_name().into());
                    stats.val_exact = Some(hit(false));
                }
            }
            _ => {
                let why = s.cap_hit.map_or("search stopped".to_string(), |c: Cap| c.to_string());
                stats.program = Some(format!("none found: {why} (size {}, {} programs)", s.size_completed, s.kept));
            }
        }
        progress(1.0);
        Ok((Box::new(solver), stats))
    }
}
