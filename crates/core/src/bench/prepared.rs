//! One task's prepared test sets ([`Prepared`]): training data drawn per seed, each run trained, evaluated on
//! every drift cell, attacked, and recorded.
use super::{to_json, Bench, Prepared, Progress, ATTACKED_INSTANCES, SAMPLE_MAX_EPOCHS};
use crate::axis::{Cell, LEVELS};
use crate::error::{Error, Result};
use crate::outcomes::InstanceOutcomes;
use crate::profile::Profile;
use crate::record::{CellRepresentability, CellResult, Experiment, Provenance, RunRecord, Timing, RECORD_SCHEMA};
use crate::rng::stream;
use crate::solver::{Representable, TrainData};
use crate::task::{Outcome, Task};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

/// Test sets of one task, loaded and validated, with what drawing training data needs.
pub(super) struct PreparedBench<'a, T: Task> {
    pub(super) bench: &'a Bench<T>,
    pub(super) profile: Profile,
    pub(super) tests: Vec<(Cell, Vec<T::Instance>)>,
    pub(super) test_hashes: HashSet<String>,
    pub(super) source_name: String,
}

impl<T: Task> PreparedBench<'_, T> {
    /// A drift run's data: validation first, then training, each drawn from its own stream at level 0; neither
    /// holds a test instance, and training holds no validation instance.
    fn train_data(&self, seed: u64) -> TrainData<T> {
        self.train_data_sized(seed, self.profile.train_examples_for(self.bench.task.id()), None)
    }

    /// As [`Self::train_data`] with `n` training instances: the first `n` of the same stream, so smaller
    /// training sets are subsets of larger ones, with the same validation set. Its epoch cap is the one place a
    /// run's cap is set: the `experiment`'s (the sample-efficiency experiment records its own), else the
    /// profile's [`Profile::max_epochs`].
    fn train_data_sized(&self, seed: u64, n: usize, experiment: Option<&Experiment>) -> TrainData<T> {
        let t = &self.bench.task;
        let mut excluded = self.test_hashes.clone();
        let mut dropped = 0;
        let mut draw = |purpose: &str, n: usize, excluded: &mut HashSet<String>, record: bool| {
            let mut rng = stream(seed, t.id(), purpose);
            let mut out = Vec::with_capacity(n);
            // Bounded: a task whose level 0 is smaller than its test set would otherwise loop forever.
            let mut attempts = 0usize;
            while out.len() < n && attempts < n.saturating_mul(20).max(1000) {
                attempts += 1;
                let inst = t.generate(Cell::IN_DIST, &mut rng);
                let key = to_json(&inst);
                if excluded.contains(&key) {
                    dropped += 1;
                    continue;
                }
                if record {
                    excluded.insert(key);
                }
                out.push(inst);
            }
            out
        };
        let val = draw("val", self.profile.val_examples_for(t.id()), &mut excluded, true);
        let train = draw("train", n, &mut excluded, false);
        let max_epochs = match experiment {
            Some(Experiment::SampleEfficiency { max_epochs, .. }) => Some(*max_epochs),
            None => self.profile.max_epochs,
        };
        TrainData { train, val, dropped_overlaps: dropped, max_epochs }
    }
}

impl<T: Task> Prepared for PreparedBench<'_, T> {
    fn test_source(&self) -> &str {
        &self.source_name
    }

    fn solver_config(&self, solver: &str) -> Result<serde_json::Value> {
        Ok(self.bench.learner(solver)?.config(&self.bench.task, &self.profile))
    }

    fn test_sets(&self) -> Vec<(String, Vec<String>)> {
        let axes = self.bench.task.axes();
        self.tests.iter().map(|(c, v)| (c.label(axes), v.iter().map(to_json).collect())).collect()
    }

    fn training_lines(&self, seed: u64) -> Result<Vec<String>> {
        let d = self.train_data(seed);
        Ok(d.train.iter().chain(d.val.iter()).map(to_json).collect())
    }

    fn test_lines(&self) -> Vec<String> {
        self.tests.iter().flat_map(|(_, v)| v.iter().map(to_json)).collect()
    }

    fn show(&self, solver: &str, seed: u64, cell: Cell, index: usize) -> Result<Option<String>> {
        let t = &self.bench.task;
        let insts = &self.tests.iter().find(|(c, _)| *c == cell).expect("every cell is prepared").1;
        let inst = insts.get(index).ok_or_else(|| Error::Invalid {
            path: PathBuf::from(cell.label(t.axes())),
            reason: format!("instance {index} requested, the test set has {}", insts.len()),
        })?;
        if t.render_svg(inst, None).is_none() {
            return Ok(None);
        }
        let learner = self.bench.learner(solver)?;
        let (trained, _) = learner.train(t, &self.train_data(seed), &self.profile, seed, &|_| {})?;
        let attempt = trained.solve_batch(t, std::slice::from_ref(inst))?.pop();
        Ok(t.render_svg(inst, attempt.as_ref().and_then(|a| a.answer.as_ref())))
    }

    fn run(&self, solver: &str, seed: u64, provenance: &Provenance, progress: Progress) -> Result<RunRecord> {
        let n = self.profile.train_examples_for(self.bench.task.id());
        self.run_with(solver, seed, n, None, provenance, progress)
    }

    fn run_sample(
        &self,
        solver: &str,
        seed: u64,
        train_examples: usize,
        provenance: &Provenance,
        progress: Progress,
    ) -> Result<RunRecord> {
        // The experiment's cap, or the profile's own where it is tighter.
        let max_epochs = self.profile.max_epochs.map_or(SAMPLE_MAX_EPOCHS, |e| e.min(SAMPLE_MAX_EPOCHS));
        let experiment = Experiment::SampleEfficiency { train_examples: train_examples as u64, max_epochs };
        self.run_with(solver, seed, train_examples, Some(experiment), provenance, progress)
    }

    fn sample_sizes(&self) -> Vec<usize> {
        let full = self.profile.train_examples_for(self.bench.task.id());
        let most = self.profile.max_sample_size.unwrap_or(usize::MAX);
        std::iter::successors(Some(100usize), |n| n.checked_mul(10)).take_while(|&n| n < full && n <= most).collect()
    }
}

impl<T: Task> PreparedBench<'_, T> {
    fn run_with(
        &self,
        solver: &str,
        seed: u64,
        train_examples: usize,
        experiment: Option<Experiment>,
        provenance: &Provenance,
        progress: Progress,
    ) -> Result<RunRecord> {
        let t = &self.bench.task;
        let learner = self.bench.learner(solver)?;
        let started = Instant::now();
        let data = self.train_data_sized(seed, train_examples, experiment.as_ref());
        let phase = match &experiment {
            None => format!("{} {solver} s{seed}", t.id()),
            Some(_) => format!("{} {solver} s{seed} n={train_examples}", t.id()),
        };
        let (trained, mut stats) =
            learner.train(t, &data, &self.profile, seed, &|f| progress(&format!("{phase} train"), f))?;
        stats.extra.insert("dropped_test_overlaps".into(), data.dropped_overlaps as f64);
        if learner.kind() != crate::solver::SolverKind::Symbolic {
            let val_asked = self.profile.val_examples_for(t.id());
            stats.note_shrunk_sets((train_examples, data.train.len()), (val_asked, data.val.len()));
        }
        let train_s = started.elapsed().as_secs_f64();

        let eval_start = Instant::now();
        let mut cells = Vec::with_capacity(self.tests.len());
        let mut answered = 0u64;
        let mut picture = None;
        // The sample-efficiency runs are judged at level 0 and at the farthest level of every axis.
        let farthest = LEVELS - 1;
        for (i, (cell, insts)) in self.tests.iter().enumerate() {
            if experiment.is_some() && cell.level != 0 && cell.level != farthest {
                continue;
            }
            progress(&format!("{phase} eval"), i as f64 / self.tests.len() as f64);
            let attempts = trained.solve_batch(t, insts)?;
            if *cell == t.picture_cell() {
                if let (Some(inst), Some(a)) = (insts.first(), attempts.first()) {
                    picture = t.render_svg(inst, a.answer.as_ref());
                }
            }
            if attempts.len() != insts.len() {
                return Err(Error::Solve {
                    task: t.id().into(),
                    solver: solver.into(),
                    reason: format!("{} answers for {} instances", attempts.len(), insts.len()),
                });
            }
            let answers: Vec<Option<&T::Answer>> = attempts.iter().map(|a| a.answer.as_ref()).collect();
            let outcomes: Vec<_> = t
                .score_batch(insts, &answers)
                .into_iter()
                .zip(&attempts)
                .map(|(o, a)| (o, a.answer.is_none(), a.info.work))
                .collect();
            let n = outcomes.len() as u64;
            answered += n;
            let representable: Option<Vec<Representable>> = trained.representable_batch(t, insts);
            // Per-instance flags first; every count of the cell is read off them, so counts and the record's
            // per-instance outcomes cannot disagree.
            let success: Vec<bool> = outcomes.iter().map(|o| o.0.success).collect();
            let unanswered: Vec<bool> = outcomes.iter().map(|o| o.1).collect();
            let ones = |flags: &[bool]| flags.iter().filter(|f| **f).count() as u64;
            let within_reach: Option<Vec<bool>> =
                representable.as_ref().map(|r| r.iter().map(|x| x.within_reach()).collect());
            let representability =
                representable.as_ref().zip(within_reach.as_ref()).map(|(r, reach)| CellRepresentability {
                    expressible: r.iter().filter(|x| x.expressible).count() as u64,
                    supervised: ones(reach),
                    successes_supervised: reach.iter().zip(&success).filter(|(r, s)| **r && **s).count() as u64,
                    outside_support: r.iter().filter(|x| !x.in_support).count() as u64,
                });
            let metric_sum: f64 = outcomes.iter().map(|o| o.0.metric).sum();
            let mut metrics: Vec<f64> = outcomes.iter().map(|o| o.0.metric).collect();
            metrics.sort_by(f64::total_cmp);
            let median_metric = match metrics.len() {
                0 => 0.0,
                m if m % 2 == 1 => metrics[m / 2],
                m => 0.5 * (metrics[m / 2 - 1] + metrics[m / 2]),
            };
            let mut failures = std::collections::BTreeMap::new();
            for (o, no_answer, _) in &outcomes {
                // "no answer" is counted in its own field.
                if let (Some(kind), false) = (o.failure, *no_answer) {
                    *failures.entry(kind.to_string()).or_insert(0u64) += 1;
                }
            }
            // Strict flags only where the task judges every instance by a strict criterion (and there is one).
            let strict: Option<Vec<bool>> =
                outcomes.iter().map(|o| t.strict_success(&o.0)).collect::<Option<Vec<bool>>>().filter(|_| n > 0);
            let work_sum: f64 = outcomes.iter().map(|o| o.2 as f64).sum();
            let per_instance = InstanceOutcomes::new(&success, &unanswered, strict.as_deref(), within_reach.as_deref());
            let level_description = match cell.axis {
                None => t.axes().first().map(|a| a.levels[0]).unwrap_or("training distribution"),
                Some(a) => t.axes()[a].levels[cell.level as usize],
            };
            cells.push(CellResult {
                axis: cell.axis_name(t.axes()).into(),
                level: cell.level,
                level_description: level_description.into(),
                n,
                successes: ones(&success),
                no_answer: ones(&unanswered),
                mean_metric: if n == 0 { 0.0 } else { metric_sum / n as f64 },
                median_metric,
                strict_successes: strict.as_deref().map(ones),
                mean_work: if n == 0 { 0.0 } else { work_sum / n as f64 },
                failures,
                representability,
                outcomes: Some(per_instance),
                distance: cell.axis.and_then(|a| t.placements().get(a)).map(|p| crate::record::CellDistance {
                    factor: p.factor.into(),
                    distance: p.distance_of(cell.level),
                    unit: p.unit,
                }),
            });
        }
        progress(&format!("{phase} eval"), 1.0);
        let eval_s = eval_start.elapsed().as_secs_f64();
        if let Some(bad) = cells.iter().find(|c| !c.mean_metric.is_finite()) {
            return Err(Error::NonFinite {
                what: format!("{} {solver} metric at {}-L{}", t.id(), bad.axis, bad.level),
            });
        }
        let adversarial = match experiment {
            Some(_) => None,
            None => {
                progress(&format!("{phase} attack"), 0.0);
                let l0 = &self.tests.iter().find(|(c, _)| c.level == 0).expect("level 0 is prepared").1;
                let attacked = &l0[..l0.len().min(ATTACKED_INSTANCES)];
                let attack_start = Instant::now();
                let cfg = crate::attack::AttackConfig::default();
                let stats_of_attack = match self.bench.caps.attack {
                    Some(attack) => attack(t, trained.as_ref(), learner.kind(), attacked, seed, &cfg)?,
                    None => None,
                };
                stats.extra.insert("attack_s".into(), attack_start.elapsed().as_secs_f64());
                stats_of_attack
            }
        };
        let mut provenance = provenance.clone();
        trained.finish(&mut stats, &mut provenance)?;
        Ok(RunRecord {
            schema: RECORD_SCHEMA,
            task: t.id().into(),
            solver: solver.into(),
            kind: learner.kind(),
            seed,
            profile: self.profile.clone(),
            profile_hash: Some(self.profile.hash()),
            config: learner.config(t, &self.profile),
            test_source: self.source_name.clone(),
            metric_name: t.metric_name().into(),
            work_name: t.work_name().into(),
            strict_name: t.strict_success(&Outcome::new(true, 0.0)).map(|_| t.strict_name().into()),
            training: stats,
            cells,
            experiment,
            adversarial,
            picture_cell: picture.as_ref().map(|_| t.picture_cell().label(t.axes())),
            picture,
            observes: Some(learner.observes(t)),
            timing: Timing {
                train_s,
                eval_s,
                per_answer_us: if answered == 0 { 0.0 } else { eval_s * 1e6 / answered as f64 },
            },
            provenance,
        })
    }
}
