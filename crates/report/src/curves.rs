//! Per-task figures and tables: generalisation curves, sample efficiency and deaths to competence.
use crate::runs::{axes, count, level_label, pct, SolverRuns};
use crate::{plots, File, ReportError};
use driftbench_core::record::{CellResult, Experiment, RunRecord};
use driftbench_core::solver::SolverKind;
use driftbench_core::stats::{mean_ci, wilson};
use std::fmt::Write as _;

/// One generalisation curve per drift axis: `plots/<task>-<axis>.svg`.
pub(super) fn task_plots(task: &str, solvers: &[SolverRuns]) -> Result<Vec<File>, ReportError> {
    let cells = &solvers[0].runs[0].cells;
    let l0 = cells.iter().position(|c| c.level == 0).unwrap_or(0);
    let mut files = Vec::new();
    for (axis, levels) in axes(cells) {
        let idx: Vec<usize> = std::iter::once(l0).chain(levels.iter().map(|x| x.0)).collect();
        let labels: Vec<String> = std::iter::once("L0 train".to_string())
            .chain(levels.iter().map(|(i, _, _)| level_label(cells, *i)))
            .collect();
        let lines: Vec<plots::Line> = solvers
            .iter()
            .map(|s| plots::Line {
                name: s.name,
                points: idx.iter().map(|&i| band(s, i)).collect(),
                unreachable: idx.iter().map(|&i| s.unreachable(i)).collect(),
            })
            .collect();
        let title = format!("{task}: {axis} (band: 95% CI over seeds; x: answer out of reach)");
        let svg =
            plots::curve(&title, &labels, &lines).map_err(|reason| ReportError::Plot { task: task.into(), reason })?;
        files.push((format!("plots/{task}-{axis}.svg"), svg));
    }
    let panels: Vec<plots::Panel> = axes(cells)
        .into_iter()
        .map(|(axis, levels)| {
            let idx: Vec<usize> = std::iter::once(l0).chain(levels.iter().map(|x| x.0)).collect();
            plots::Panel {
                title: axis.to_string(),
                x_labels: std::iter::once("L0 train".to_string())
                    .chain(levels.iter().map(|(i, _, _)| level_label(cells, *i)))
                    .collect(),
                lines: solvers
                    .iter()
                    .map(|s| plots::Line {
                        name: s.name,
                        points: idx.iter().map(|&i| band(s, i)).collect(),
                        unreachable: idx.iter().map(|&i| s.unreachable(i)).collect(),
                    })
                    .collect(),
            }
        })
        .collect();
    let title = format!("{task}: success against drift level (band: 95% CI over seeds; x: answer out of reach)");
    let svg = plots::overview(&title, &panels).map_err(|reason| ReportError::Plot { task: task.into(), reason })?;
    files.push((format!("plots/{task}-overview.svg"), svg));
    Ok(files)
}

/// The cells the sample-efficiency experiment judges: level 0, then the farthest level of each axis, as
/// (axis, level) keys in the drift records' order.
fn judged_cells(cells: &[CellResult]) -> Vec<(String, u8)> {
    let mut keys: Vec<(String, u8)> = Vec::new();
    if let Some(c) = cells.iter().find(|c| c.level == 0) {
        keys.push((c.axis.clone(), 0));
    }
    for (axis, levels) in axes(cells) {
        if let Some(&(_, level, _)) = levels.iter().max_by_key(|x| x.1) {
            keys.push((axis.to_string(), level));
        }
    }
    keys
}

/// Success rate of `record` at cell (axis, level), if it has that cell.
fn rate_at(record: &RunRecord, key: &(String, u8)) -> Option<f64> {
    record.cells.iter().find(|c| c.axis == key.0 && c.level == key.1).map(CellResult::rate)
}

/// One solver's sample-efficiency points on one task: (training instances offered, record), smallest first,
/// ending with the first seed's drift run (the profile's full training set). A hand-written solver gets its
/// drift run at zero instances.
fn sample_points<'a>(task: &str, s: &SolverRuns<'a>, samples: &[&'a RunRecord]) -> Vec<(u64, &'a RunRecord)> {
    let first = s.runs[0];
    if s.kind == SolverKind::Symbolic {
        return vec![(0, first)];
    }
    let mut pts: Vec<(u64, &RunRecord)> = samples
        .iter()
        .filter(|r| r.task == task && r.solver == s.name && r.seed == first.seed)
        .filter_map(|r| {
            let Experiment::SampleEfficiency { train_examples, .. } = r.experiment.as_ref()?;
            Some((*train_examples, *r))
        })
        .collect();
    if pts.is_empty() {
        return pts;
    }
    pts.sort_by_key(|p| p.0);
    pts.push((first.profile.train_examples_for(task) as u64, first));
    pts
}

/// The sample-efficiency figure of one task, if the experiment ran for it.
pub(super) fn sample_plot(
    task: &str,
    solvers: &[SolverRuns],
    samples: &[&RunRecord],
) -> Result<Option<File>, ReportError> {
    if !samples.iter().any(|r| r.task == task) {
        return Ok(None);
    }
    let keys = judged_cells(&solvers[0].runs[0].cells);
    let panels: Vec<(String, Vec<plots::SampleLine>)> = keys
        .iter()
        .map(|key| {
            let title = if key.1 == 0 {
                "level 0 (training distribution)".to_string()
            } else {
                format!("{}-L{}", key.0, key.1)
            };
            let lines = solvers
                .iter()
                .enumerate()
                .filter_map(|(ci, s)| {
                    let points: Vec<(f64, f64)> = sample_points(task, s, samples)
                        .into_iter()
                        .filter_map(|(n, r)| rate_at(r, key).map(|x| (n as f64, 100.0 * x)))
                        .collect();
                    (!points.is_empty()).then_some(plots::SampleLine { name: s.name, colour: ci, points })
                })
                .collect();
            (title, lines)
        })
        .collect();
    let seed = solvers[0].runs[0].seed;
    let title = format!("{task}: success against training-set size (seed {seed})");
    let svg =
        plots::sample_efficiency(&title, &panels).map_err(|reason| ReportError::Plot { task: task.into(), reason })?;
    Ok(Some((format!("plots/{task}-sample-efficiency.svg"), svg)))
}

/// Whether any learner of a task records a deaths-to-competence curve.
fn has_competence(solvers: &[SolverRuns]) -> bool {
    solvers.iter().any(|s| s.runs.iter().any(|r| !r.training.competence.is_empty()))
}

/// One run's deaths-to-competence points: (deaths, level-0 success in [0, 1]). A learner that records the curve
/// gives its validation points; any other gives one point, its training deaths (0 for a hand-written solver)
/// against its level-0 test success.
fn competence_points(r: &RunRecord) -> Vec<(u64, f64)> {
    if !r.training.competence.is_empty() {
        return r.training.competence.iter().map(|p| (p.deaths, p.success)).collect();
    }
    let l0 = r.cells.iter().find(|c| c.level == 0).map(CellResult::rate).unwrap_or(0.0);
    vec![(if r.kind == SolverKind::Symbolic { 0 } else { r.training.deaths }, l0)]
}

/// Deaths when level-0 success first reached `level`, or `> N` with the run's N deaths when it never did.
fn deaths_to(r: &RunRecord, level: f64) -> String {
    match competence_points(r).iter().find(|p| p.1 >= level) {
        Some(p) => count(p.0 as f64),
        None => format!("> {}", count(r.training.deaths as f64)),
    }
}

/// The deaths-to-competence table of one task (Markdown), if any of its learners records the curve.
pub(super) fn competence_table(task: &str, solvers: &[SolverRuns]) -> Option<String> {
    if !has_competence(solvers) {
        return None;
    }
    let mut md = String::new();
    let _ = writeln!(md, "## Deaths to competence\n");
    let _ = writeln!(
        md,
        "How many times a learner's own policy died during training before it first reached 50% and 90% \
         success at level 0. Learners that act while training (DAgger rollouts, reinforcement learning) are \
         measured on their validation curve (held-out level-0 instances, greedy policy, every validation of \
         the run); the others at their training cost against their level-0 test success (zero deaths for the \
         hand-written solver). One value per seed; `> N`: not reached within the run's N deaths.\n"
    );
    let _ = writeln!(md, "![{task} deaths to competence](plots/{task}-competence.svg)\n");
    let _ = writeln!(
        md,
        "| solver | measured on | deaths in training | deaths to 50% | deaths to 90% | best level-0 success % |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for s in solvers {
        let per = |f: &dyn Fn(&RunRecord) -> String| s.runs.iter().map(|r| f(r)).collect::<Vec<_>>().join(" / ");
        let curve = s.runs.iter().any(|r| !r.training.competence.is_empty());
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            s.name,
            if curve { "validation curve" } else { "test, after training" },
            per(&|r| count(if s.kind == SolverKind::Symbolic { 0.0 } else { r.training.deaths as f64 })),
            per(&|r| deaths_to(r, 0.5)),
            per(&|r| deaths_to(r, 0.9)),
            per(&|r| pct(competence_points(r).iter().map(|p| p.1).fold(0.0, f64::max))),
        );
    }
    Some(md)
}

/// The deaths-to-competence figure of one task, if any of its learners records the curve.
pub(super) fn competence_plot(task: &str, solvers: &[SolverRuns]) -> Result<Option<File>, ReportError> {
    if !has_competence(solvers) {
        return Ok(None);
    }
    let mut lines = Vec::new();
    for (ci, s) in solvers.iter().enumerate() {
        let runs: &[&RunRecord] = if s.kind == SolverKind::Symbolic { &s.runs[..1] } else { &s.runs };
        for r in runs {
            let points = competence_points(r).into_iter().map(|(d, x)| (d as f64, 100.0 * x)).collect();
            lines.push(plots::SampleLine { name: s.name, colour: ci, points });
        }
    }
    let title = format!("{task}: deaths to competence (one line or point per seed)");
    let svg =
        plots::deaths_to_competence(&title, lines).map_err(|reason| ReportError::Plot { task: task.into(), reason })?;
    Ok(Some((format!("plots/{task}-competence.svg"), svg)))
}

/// The sample-efficiency table of one task (Markdown), if the experiment ran for it.
pub(super) fn sample_table(task: &str, solvers: &[SolverRuns], samples: &[&RunRecord]) -> Option<String> {
    if !samples.iter().any(|r| r.task == task) {
        return None;
    }
    let keys = judged_cells(&solvers[0].runs[0].cells);
    let mut sizes: Vec<u64> =
        solvers.iter().flat_map(|s| sample_points(task, s, samples).into_iter().map(|p| p.0)).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut md = String::new();
    let seed = solvers[0].runs[0].seed;
    let _ = writeln!(
        md,
        "## Sample efficiency
"
    );
    let _ = writeln!(
        md,
        "![{task} sample efficiency](plots/{task}-sample-efficiency.svg)\n\nEach learner retrained on the \
         first *n* instances of seed {seed}'s training stream (the largest *n* is the drift run itself; \
         smaller runs cap training at {} passes over their data, at least {} steps), judged at level 0 and at \
         the farthest level of every axis. Cells: level-0 success % / mean success % over the farthest \
         levels. *Used* is what the learner actually consumed at the largest *n* (examples, trials or states, \
         as its record counts them). The hand-written solver learns from nothing and is shown at n = 0.\n",
        driftbench_core::bench::SAMPLE_MAX_EPOCHS,
        driftbench_core::profile::MIN_CAPPED_STEPS
    );
    let head: Vec<String> = sizes.iter().map(|n| format!("n = {}", count(*n as f64))).collect();
    let _ = writeln!(md, "| solver | used | {} |", head.join(" | "));
    let _ = writeln!(md, "|---|---|{}", "---|".repeat(head.len()));
    let mut left_out = Vec::new();
    for s in solvers {
        let pts = sample_points(task, s, samples);
        if pts.is_empty() {
            left_out.push(format!("`{}`", s.name));
            continue;
        }
        let row: Vec<String> = sizes
            .iter()
            .map(|n| match pts.iter().find(|p| p.0 == *n) {
                Some((_, r)) => {
                    let l0 = rate_at(r, &keys[0]).unwrap_or(0.0);
                    let far: Vec<f64> = keys[1..].iter().filter_map(|k| rate_at(r, k)).collect();
                    format!("{} / {}", pct(l0), pct(far.iter().sum::<f64>() / far.len().max(1) as f64))
                }
                None => "–".into(),
            })
            .collect();
        let used = pts.last().map(|p| count(p.1.training.examples.max(p.1.training.trials) as f64)).unwrap_or_default();
        let _ = writeln!(md, "| {} | {} | {} |", s.name, used, row.join(" | "));
    }
    if !left_out.is_empty() {
        let _ = writeln!(
            md,
            "\nNot retrained here: {}. A learner leaves this experiment through `Learner::in_sample_efficiency`; the \
             built-in ones that do (the VIN and PPO) are the costliest navigation learners, left out to keep the \
             default suite within its core-second budget.",
            left_out.join(", ")
        );
    }
    Some(md)
}

/// Success % at cell `i` with its band: the between-seed t-interval with two or more seeds, else Wilson.
fn band(s: &SolverRuns, i: usize) -> (f64, f64, f64) {
    let (k, n) = s.pooled(i);
    let p = if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let (lo, hi) = match mean_ci(&s.per_seed_rates(i)) {
        (m, Some(h)) => (m - h, m + h),
        _ => wilson(k, n),
    };
    (100.0 * p, 100.0 * lo.max(0.0), 100.0 * hi.min(1.0))
}
