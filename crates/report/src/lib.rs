//! driftbench-report: run records in, Markdown and CSV out.
//!
//! The report is a pure function of the records it is given: the same records produce byte-identical files
//! (records are sorted, floats printed with fixed precision, no clocks or paths read). It knows nothing of tasks
//! or networks beyond what the records say.
//!
//! Two kinds of interval appear, and every table says which: the **Wilson 95% interval** of the success rate
//! pooled over every seed's instances (instance-level uncertainty), and the **between-seed 95% t-interval** of
//! the per-seed success rates (training-run uncertainty).
pub mod compare;
pub mod plots;

use driftbench_core::record::{write_atomic, CellResult, Experiment, RunRecord};
use driftbench_core::solver::SolverKind;
use driftbench_core::stats::{mean_ci, wilson};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Errors of the report crate.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No records to report on.
    #[error("no run records found in `{0}`: run `driftbench run` first")]
    Empty(String),
    /// Records of one (task, solver) disagree on their cells.
    #[error("records of {task} / {solver} disagree on the evaluation cells (mixed versions or profiles?)")]
    Inconsistent { task: String, solver: String },
    /// Records of one task come from different profiles.
    #[error(
        "records of {task} come from several profiles ({profiles}): report each profile's records folder separately"
    )]
    MixedProfiles { task: String, profiles: String },
    /// Records of one task were evaluated on different test sets (canonical and generated, or two manifests).
    #[error(
        "records of {task} were evaluated on different test sets ({sources}): report each test source's records \
         separately"
    )]
    MixedTestSources { task: String, sources: String },
    /// Two records of the same run (task, solver, seed, profile, training-set size), which would count twice.
    #[error("two records of the same run: {task} / {solver} seed {seed} (profile {profile}); keep one")]
    Duplicate { task: String, solver: String, seed: u64, profile: String },
    /// A record whose counts cannot be (more successes than instances, say).
    #[error("record of {task} / {solver} seed {seed} is impossible: {reason}")]
    Impossible { task: String, solver: String, seed: u64, reason: String },
    /// Drawing a plot failed.
    #[error("plotting {task}: {reason}")]
    Plot { task: String, reason: String },
    /// Writing a file failed.
    #[error(transparent)]
    Core(#[from] driftbench_core::Error),
}

/// A cell's representability pooled over seeds ([`driftbench_core::record::CellRepresentability`]).
#[derive(Debug, Clone, Copy, Default)]
struct Reach {
    n: u64,
    successes: u64,
    expressible: u64,
    supervised: u64,
    successes_supervised: u64,
}

impl Reach {
    /// The marker a success cell carries: † some answers were not expressible, ‡ expressible but not supervised.
    fn marker(&self) -> &'static str {
        if self.expressible < self.n {
            " †"
        } else if self.supervised < self.n {
            " ‡"
        } else {
            ""
        }
    }
}

/// What the † and ‡ markers mean, under every table that uses them.
const REACH_NOTE: &str = "† some of the cell's correct answers cannot be expressed by the solver's output (the ideal output does not decode to them, or the input does not fit); ‡ expressible, but needing output units or classes that never received a positive target in training. Both are decided mechanically per instance and stored in the records; in the figures such cells are drawn as crosses.";

/// One output file: path relative to the output folder, and its contents.
pub type File = (String, String);

/// The records of one solver on one task, seeds sorted.
struct SolverRuns<'a> {
    name: &'a str,
    kind: SolverKind,
    runs: Vec<&'a RunRecord>,
}

impl SolverRuns<'_> {
    /// Cell `i` pooled over seeds: (successes, n).
    fn pooled(&self, i: usize) -> (u64, u64) {
        self.runs.iter().fold((0, 0), |(s, n), r| (s + r.cells[i].successes, n + r.cells[i].n))
    }
    /// Cell `i` pooled over seeds under the strict criterion: (successes, n).
    fn pooled_strict(&self, i: usize) -> (u64, u64) {
        self.runs.iter().fold((0, 0), |(s, n), r| (s + r.cells[i].strict_successes.unwrap_or(0), n + r.cells[i].n))
    }
    /// Mean over seeds of the per-seed medians.
    fn median_metric(&self, i: usize) -> f64 {
        self.mean_of(|r| r.cells[i].median_metric)
    }
    fn per_seed_rates(&self, i: usize) -> Vec<f64> {
        self.runs.iter().map(|r| r.cells[i].rate()).collect()
    }
    fn mean_of(&self, f: impl Fn(&RunRecord) -> f64) -> f64 {
        self.runs.iter().map(|r| f(r)).sum::<f64>() / self.runs.len().max(1) as f64
    }
    /// Cell `i`'s representability pooled over seeds, when every run assessed it.
    fn reach(&self, i: usize) -> Option<Reach> {
        self.runs.iter().try_fold(Reach::default(), |acc, r| {
            let c = &r.cells[i];
            let x = c.representability?;
            Some(Reach {
                n: acc.n + c.n,
                successes: acc.successes + c.successes,
                expressible: acc.expressible + x.expressible,
                supervised: acc.supervised + x.supervised,
                successes_supervised: acc.successes_supervised + x.successes_supervised,
            })
        })
    }
    /// Whether some of cell `i`'s correct answers were out of the solver's reach.
    fn unreachable(&self, i: usize) -> bool {
        self.reach(i).is_some_and(|r| r.supervised < r.n)
    }
    fn mean_metric(&self, i: usize) -> f64 {
        let (sum, n) = self
            .runs
            .iter()
            .fold((0.0, 0u64), |(s, n), r| (s + r.cells[i].mean_metric * r.cells[i].n as f64, n + r.cells[i].n));
        if n == 0 {
            0.0
        } else {
            sum / n as f64
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

fn rate_ci(successes: u64, n: u64) -> String {
    let (lo, hi) = wilson(successes, n);
    let p = if n == 0 { 0.0 } else { successes as f64 / n as f64 };
    format!("{} [{}, {}]", pct(p), pct(lo), pct(hi))
}

fn seed_ci(values: &[f64]) -> String {
    match mean_ci(values) {
        (m, Some(h)) => format!("{} ± {}", pct(m), pct(h)),
        (m, None) => format!("{} (1 seed)", pct(m)),
    }
}

fn opt_pct(x: Option<f64>) -> String {
    x.map(pct).unwrap_or_else(|| "–".into())
}

fn count(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn group<'a>(records: &[&'a RunRecord]) -> Result<BTreeMap<&'a str, Vec<SolverRuns<'a>>>, ReportError> {
    let mut by_task: BTreeMap<&str, BTreeMap<(SolverKind, &str), Vec<&RunRecord>>> = BTreeMap::new();
    for &r in records {
        by_task.entry(&r.task).or_default().entry((r.kind, &r.solver)).or_default().push(r);
    }
    let mut out = BTreeMap::new();
    for (task, solvers) in by_task {
        // Pooling seeds across profiles would mix budgets in one figure: refuse rather than guess.
        // A profile is its name and its budgets: a file that reuses a name with other budgets is another profile.
        let profiles: std::collections::BTreeSet<String> =
            solvers.values().flatten().map(|r| profile_label(r)).collect();
        if profiles.len() > 1 {
            return Err(ReportError::MixedProfiles {
                task: task.into(),
                profiles: profiles.into_iter().collect::<Vec<_>>().join(", "),
            });
        }
        // Likewise test sets: the page header names one source, so every record must share it.
        let sources: std::collections::BTreeSet<&str> =
            solvers.values().flatten().map(|r| test_set_identity(&r.test_source)).collect();
        if sources.len() > 1 {
            return Err(ReportError::MixedTestSources {
                task: task.into(),
                sources: sources.into_iter().collect::<Vec<_>>().join("; "),
            });
        }
        let mut list = Vec::new();
        for ((kind, name), mut runs) in solvers {
            runs.sort_by_key(|r| (r.seed, r.profile.name.clone()));
            let key = |c: &CellResult| (c.axis.clone(), c.level);
            let first: Vec<_> = runs[0].cells.iter().map(key).collect();
            if runs.iter().any(|r| r.cells.iter().map(key).collect::<Vec<_>>() != first) {
                return Err(ReportError::Inconsistent { task: task.into(), solver: name.into() });
            }
            list.push(SolverRuns { name, kind, runs });
        }
        out.insert(task, list);
    }
    Ok(out)
}

/// `name (hash 0123456789ab)`: how tables name the profile of a record.
fn profile_label(r: &RunRecord) -> String {
    format!("{} (hash {})", r.profile.name, r.profile.short_hash())
}

fn kind_name(k: SolverKind) -> &'static str {
    match k {
        SolverKind::Symbolic => "symbolic",
        SolverKind::Network => "network",
        SolverKind::Baseline => "baseline",
        SolverKind::ProgramSearch => "program search",
    }
}

/// A drift level of one axis: (cell index, level, description).
type Level<'a> = (usize, u8, &'a str);

/// Axes in first-seen order, with their levels.
fn axes(cells: &[CellResult]) -> Vec<(&str, Vec<Level<'_>>)> {
    let mut out: Vec<(&str, Vec<Level<'_>>)> = Vec::new();
    for (i, c) in cells.iter().enumerate() {
        if c.level == 0 {
            continue;
        }
        match out.iter_mut().find(|(a, _)| *a == c.axis) {
            Some((_, v)) => v.push((i, c.level, &c.level_description)),
            None => out.push((&c.axis, vec![(i, c.level, &c.level_description)])),
        }
    }
    out
}

/// Headline figures of one solver: level-0 rate, mean over OOD cells, worst OOD cell.
fn headline(s: &SolverRuns) -> (f64, f64, String) {
    let cells = &s.runs[0].cells;
    let rate = |i: usize| {
        let (k, n) = s.pooled(i);
        if n == 0 {
            0.0
        } else {
            k as f64 / n as f64
        }
    };
    let l0 = cells.iter().position(|c| c.level == 0).map(rate).unwrap_or(0.0);
    let ood: Vec<(usize, f64)> = (0..cells.len()).filter(|&i| cells[i].level > 0).map(|i| (i, rate(i))).collect();
    let mean = ood.iter().map(|x| x.1).sum::<f64>() / ood.len().max(1) as f64;
    let worst = ood
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
        .map(|&(i, r)| format!("{} ({}-L{})", pct(r), cells[i].axis, cells[i].level))
        .unwrap_or_else(|| "–".into());
    (l0, mean, worst)
}

/// One generalisation curve per drift axis: `plots/<task>-<axis>.svg`.
fn task_plots(task: &str, solvers: &[SolverRuns]) -> Result<Vec<File>, ReportError> {
    let cells = &solvers[0].runs[0].cells;
    let l0 = cells.iter().position(|c| c.level == 0).unwrap_or(0);
    let mut files = Vec::new();
    for (axis, levels) in axes(cells) {
        let idx: Vec<usize> = std::iter::once(l0).chain(levels.iter().map(|x| x.0)).collect();
        let labels: Vec<String> =
            std::iter::once("L0 train".to_string()).chain(levels.iter().map(|(_, l, _)| format!("L{l}"))).collect();
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
                    .chain(levels.iter().map(|(_, l, _)| format!("L{l}")))
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
fn sample_plot(task: &str, solvers: &[SolverRuns], samples: &[&RunRecord]) -> Result<Option<File>, ReportError> {
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
fn competence_table(task: &str, solvers: &[SolverRuns]) -> Option<String> {
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
fn competence_plot(task: &str, solvers: &[SolverRuns]) -> Result<Option<File>, ReportError> {
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
fn sample_table(task: &str, solvers: &[SolverRuns], samples: &[&RunRecord]) -> Option<String> {
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
    for s in solvers {
        let pts = sample_points(task, s, samples);
        if pts.is_empty() {
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
    Some(md)
}

/// The adversarial table of one task (Markdown), if any solver was attacked.
fn adversarial_table(solvers: &[SolverRuns]) -> Option<String> {
    use driftbench_core::attack::AttackStats;
    let attacked: Vec<(&SolverRuns, Vec<&AttackStats>)> = solvers
        .iter()
        .map(|s| (s, s.runs.iter().filter_map(|r| r.adversarial.as_ref()).collect::<Vec<_>>()))
        .filter(|(_, a)| !a.is_empty())
        .collect();
    let first = attacked.first()?.1[0];
    let budgets: Vec<f64> = first.budgets.iter().map(|b| b.budget).collect();
    let metric = &attacked[0].0.runs[0].metric_name;
    let mut md = String::new();
    let _ = writeln!(md, "## Adversarial brittleness\n");
    let _ = writeln!(
        md,
        "The first {} level-0 test instances of every run, perturbed without changing their correct answer; a \
         budget of 1 is {}. Each budget cell gives the success % that survives every attack tried at that budget \
         or a smaller one, then in parentheses the one-step gradient attack (FGSM) alone and the random corners \
         alone; solvers without gradients (the hand-written control, and navigation's added cars) have no FGSM \
         step, so its figure there equals the first. Pooled over seeds. *{metric}*: mean over the instances \
         answered correctly without perturbation, clean and at the worst point found at the largest budget. \
         *Median breaking budget*: per seed, the median over those instances of the smallest budget that broke \
         the answer (`> max` when fewer than half broke). The gradient attacks need a network's input gradient, \
         so learned solvers without one (nearest neighbour, program search) sit them out; the added-car search \
         needs no gradient and attacks every solver.\n",
        first.instances, first.budget_unit
    );
    let head: Vec<String> = budgets.iter().map(|b| format!("budget {b}")).collect();
    let _ = writeln!(
        md,
        "| solver | seeds | attacked | clean success % | {} | {metric}: clean → attacked | median breaking budget |",
        head.join(" | ")
    );
    let _ = writeln!(md, "|---|---|---|---|{}---|---|", "---|".repeat(head.len()));
    let mut methods: Vec<(&str, &str)> = Vec::new();
    let mut failures: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    for (s, stats) in &attacked {
        let n: u64 = stats.iter().map(|a| a.instances).sum();
        let clean: u64 = stats.iter().map(|a| a.clean_successes).sum();
        let share = |k: u64| pct(k as f64 / n.max(1) as f64);
        let cols: Vec<String> = budgets
            .iter()
            .map(|b| {
                let (mut f, mut k, mut r) = (0u64, 0u64, 0u64);
                for a in stats {
                    if let Some(x) = a.budgets.iter().find(|x| x.budget == *b) {
                        f += x.fgsm_successes;
                        k += x.successes;
                        r += x.random_successes;
                    }
                }
                format!("{} ({} / {})", share(k), share(f), share(r))
            })
            .collect();
        let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let clean_metric = mean(stats.iter().filter_map(|a| a.clean_mean_metric).collect());
        let worst = mean(stats.iter().filter_map(|a| a.budgets.last().and_then(|b| b.worst_mean_metric)).collect());
        let metric_cell = match (clean_metric, worst) {
            (Some(c), Some(w)) => format!("{} → {}", pct(c), pct(w)),
            _ => "–".into(),
        };
        let medians: Vec<String> = stats
            .iter()
            .map(|a| a.median_breaking_budget.map(|m| format!("{m:.3}")).unwrap_or_else(|| "> max".into()))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {n} | {} | {} | {metric_cell} | {} |",
            s.name,
            stats.len(),
            share(clean),
            cols.join(" | "),
            medians.join(", ")
        );
        if !methods.iter().any(|m| m.1 == stats[0].method) {
            methods.push((s.name, &stats[0].method));
        }
        for a in stats {
            for (kind, k) in a.budgets.last().map(|b| &b.failures).into_iter().flatten() {
                *failures.entry(s.name).or_default().entry(kind.clone()).or_insert(0) += k;
            }
        }
    }
    let _ = writeln!(md, "\nMethods:\n");
    for (name, method) in methods {
        let _ = writeln!(md, "- `{name}`: {method}");
    }
    if !failures.is_empty() {
        let _ = writeln!(md, "\nHow the broken answers failed (largest budget, pooled over seeds):\n");
        for (name, kinds) in failures {
            let list: Vec<String> = kinds.iter().map(|(k, v)| format!("{v} {k}")).collect();
            let _ = writeln!(md, "- `{name}`: {}", list.join(", "));
        }
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

fn task_page(task: &str, solvers: &[SolverRuns], samples: &[&RunRecord]) -> String {
    let mut md = String::new();
    let first = solvers[0].runs[0];
    let cells = &first.cells;
    let metric = &first.metric_name;
    let _ = writeln!(md, "# {task}\n");
    let _ = writeln!(
        md,
        "Generated by `driftbench report` from the run records; do not edit. Profile `{}` (BLAKE3 {}); test \
         instances: {}.\n",
        first.profile.name,
        first.profile.short_hash(),
        first.test_source
    );
    let _ = writeln!(
        md,
        "**Success** is pooled over seeds with its Wilson 95% interval over instances, `rate [low, high]` in %. \
         **Between seeds** is the mean of the per-seed rates ± the 95% t-interval half-width over seeds.\n"
    );
    let _ = writeln!(md, "## Generalisation curves\n");
    let _ = writeln!(md, "![{task} overview](plots/{task}-overview.svg)\n");
    for (axis, _) in axes(cells) {
        let _ = writeln!(md, "![{task} {axis}](plots/{task}-{axis}.svg)\n");
    }
    if learning_lines(solvers).iter().any(|l| !l.val.is_empty()) {
        let _ = writeln!(md, "## Learning curves\n");
        let _ = writeln!(
            md,
            "Every network's level-0 validation success and training loss against optimiser steps (first seed; \
             for reinforcement learners, updates and the loss column of their curve). The parameters kept are those \
             of the best validation point.\n"
        );
        let _ = writeln!(md, "![{task} learning curves](plots/{task}-learning.svg)\n");
    }
    let _ = writeln!(md, "## In distribution (level 0)\n");
    let _ = writeln!(
        md,
        "| solver | kind | seeds | success % [95% Wilson] | between seeds % | {metric} % | validation success % | validation accuracy % (what) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    let l0 = cells.iter().position(|c| c.level == 0).unwrap_or(0);
    for s in solvers {
        let (k, n) = s.pooled(l0);
        let val_acc = s.runs.iter().filter_map(|r| r.training.val_accuracy).collect::<Vec<_>>();
        let val_ex = s.runs.iter().filter_map(|r| r.training.val_exact).collect::<Vec<_>>();
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            s.name,
            kind_name(s.kind),
            s.runs.len(),
            rate_ci(k, n),
            seed_ci(&s.per_seed_rates(l0)),
            pct(s.mean_metric(l0)),
            opt_pct(mean(&val_ex)),
            match (mean(&val_acc), &s.runs[0].training.val_accuracy_name) {
                (Some(a), Some(what)) => format!("{} ({what})", pct(a)),
                (a, _) => opt_pct(a),
            },
        );
    }
    for (axis, levels) in axes(cells) {
        let _ = writeln!(md, "\n## Drift axis `{axis}`\n");
        let _ = writeln!(md, "| level | meaning |\n|---|---|");
        let _ = writeln!(md, "| 0 | {} |", cells[l0].level_description);
        for (_, level, desc) in &levels {
            let _ = writeln!(md, "| {level} | {desc} |");
        }
        let header: Vec<String> =
            std::iter::once("L0 (train)".to_string()).chain(levels.iter().map(|(_, l, _)| format!("L{l}"))).collect();
        let idx: Vec<usize> = std::iter::once(l0).chain(levels.iter().map(|x| x.0)).collect();
        let table = |md: &mut String, title: &str, cell: &dyn Fn(&SolverRuns, usize) -> String| {
            let _ = writeln!(md, "\n{title}:\n");
            let _ = writeln!(md, "| solver | {} |", header.join(" | "));
            let _ = writeln!(md, "|---|{}", "---|".repeat(header.len()));
            for s in solvers {
                let row: Vec<String> = idx.iter().map(|&i| cell(s, i)).collect();
                let _ = writeln!(md, "| {} | {} |", s.name, row.join(" | "));
            }
        };
        table(&mut md, "Success % [95% Wilson, pooled over seeds]", &|s, i| {
            let (k, n) = s.pooled(i);
            format!("{}{}", rate_ci(k, n), s.reach(i).map(|r| r.marker()).unwrap_or(""))
        });
        if solvers.iter().any(|s| idx.iter().any(|&i| s.unreachable(i))) {
            let _ = writeln!(md, "\n{REACH_NOTE}");
            let reaching: Vec<&SolverRuns> = solvers.iter().filter(|s| s.reach(l0).is_some()).collect();
            let _ = writeln!(
                md,
                "\nWithin reach: % of instances whose correct answer is expressible / expressible and supervised, \
                 and success % on the latter (– where none):\n"
            );
            let _ = writeln!(md, "| solver | {} |", header.join(" | "));
            let _ = writeln!(md, "|---|{}", "---|".repeat(header.len()));
            for s in reaching {
                let row: Vec<String> = idx
                    .iter()
                    .map(|&i| match s.reach(i) {
                        Some(r) => format!(
                            "{} / {} → {}",
                            pct(r.expressible as f64 / r.n.max(1) as f64),
                            pct(r.supervised as f64 / r.n.max(1) as f64),
                            if r.supervised == 0 {
                                "–".to_string()
                            } else {
                                pct(r.successes_supervised as f64 / r.supervised as f64)
                            }
                        ),
                        None => "–".into(),
                    })
                    .collect();
                let _ = writeln!(md, "| {} | {} |", s.name, row.join(" | "));
            }
        }
        table(&mut md, "Between seeds, success % (mean ± 95% t half-width)", &|s, i| seed_ci(&s.per_seed_rates(i)));
        let kinds: std::collections::BTreeSet<&String> = solvers
            .iter()
            .flat_map(|s| s.runs.iter().flat_map(|r| r.cells.iter().flat_map(|c| c.failures.keys())))
            .collect();
        for kind in kinds {
            table(&mut md, &format!("Failures by {kind} % [95% Wilson, pooled over seeds]"), &|s, i| {
                let (k, n) = s.runs.iter().fold((0, 0), |(k, n), r| {
                    (k + r.cells[i].failures.get(kind).copied().unwrap_or(0), n + r.cells[i].n)
                });
                rate_ci(k, n)
            });
        }
        if let Some(strict) = &first.strict_name {
            table(&mut md, &format!("{} % [95% Wilson, pooled over seeds]", capitalise(strict)), &|s, i| {
                let (k, n) = s.pooled_strict(i);
                rate_ci(k, n)
            });
        }
        table(&mut md, &format!("Mean {metric} % (median in parentheses)"), &|s, i| {
            format!("{} ({})", pct(s.mean_metric(i)), pct(s.median_metric(i)))
        });
        if solvers.iter().any(|s| idx.iter().any(|&i| s.runs[0].cells[i].mean_work > 0.0)) {
            table(&mut md, &format!("Mean {} per answer", first.work_name), &|s, i| {
                format!("{:.2}", s.mean_of(|r| r.cells[i].mean_work))
            });
        }
    }
    let _ = writeln!(md, "\n## Cost\n");
    let _ = writeln!(
        md,
        "| solver | training examples | training trials (episodes) | deaths in training | examples seen | steps | epochs | train s (mean) | µs per answer | mean {} per answer (L0) | parameters |",
        first.work_name
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|");
    for s in solvers {
        let params = s.runs[0].training.extra.get("parameters").copied();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.2} | {:.1} | {} |",
            s.name,
            count(s.mean_of(|r| r.training.examples as f64)),
            count(s.mean_of(|r| r.training.trials as f64)),
            count(s.mean_of(|r| r.training.deaths as f64)),
            count(s.mean_of(|r| r.training.examples_seen as f64)),
            count(s.mean_of(|r| r.training.steps as f64)),
            s.mean_of(|r| r.training.epochs),
            s.mean_of(|r| r.timing.train_s),
            s.mean_of(|r| r.timing.per_answer_us),
            s.mean_of(|r| r.cells[l0].mean_work),
            params.map(count).unwrap_or_else(|| "–".into()),
        );
    }
    let _ = writeln!(
        md,
        "\nCost columns are means over seeds. Deaths in training count every episode a learner's own policy died \
         in while learning (PPO's episodes, DAgger's rollouts); learning curves are in the run records."
    );
    let searched: Vec<&SolverRuns> = solvers.iter().filter(|s| s.kind == SolverKind::ProgramSearch).collect();
    if !searched.is_empty() {
        let _ = writeln!(md, "\n## Programs found\n");
        let _ = writeln!(
            md,
            "What each program search returned per seed (the DSL is in every record's `config` and in \
             `docs/program-search.md`). *Enumerated*: candidate programs built; *kept*: distinct behaviours after \
             observational-equivalence pruning; *consistent*: distinct programs of the chosen size that fit the \
             data.\n"
        );
        let _ = writeln!(md, "| solver | seed | program | examples used | enumerated | kept | consistent | search s |");
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
        for s in searched {
            for r in &s.runs {
                let x = |k: &str| r.training.extra.get(k).map(|v| count(*v)).unwrap_or_else(|| "–".into());
                let _ = writeln!(
                    md,
                    "| {} | {} | `{}` | {} | {} | {} | {} | {} |",
                    s.name,
                    r.seed,
                    r.training.program.as_deref().unwrap_or("–").replace('|', "\\|"),
                    count(r.training.examples as f64),
                    x("programs_enumerated"),
                    x("distinct_behaviours"),
                    x("consistent_programs"),
                    r.training.extra.get("search_s").map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".into()),
                );
            }
        }
    }
    if let Some(table) = competence_table(task, solvers) {
        let _ = writeln!(md, "\n{table}");
    }
    if let Some(table) = adversarial_table(solvers) {
        let _ = writeln!(md, "\n{table}");
    }
    if let Some(table) = sample_table(task, solvers, samples) {
        let _ = writeln!(md, "\n{table}");
    }
    let _ = writeln!(md, "\nPer-run data: [`{task}.csv`]({task}.csv).");
    md
}

/// The learning curves of a task's networks (first seed of each).
fn learning_lines<'a>(solvers: &[SolverRuns<'a>]) -> Vec<plots::LearningLine<'a>> {
    solvers
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == SolverKind::Network && !s.runs[0].training.curve.is_empty())
        .map(|(i, s)| {
            let c = &s.runs[0].training.curve;
            plots::LearningLine {
                name: s.name,
                colour: i,
                val: c.iter().map(|p| (p.0 as f64, 100.0 * p.3)).collect(),
                loss: c.iter().map(|p| (p.0 as f64, p.1)).collect(),
            }
        })
        .collect()
}

fn task_csv(solvers: &[SolverRuns]) -> String {
    let mut csv = String::from(
        "task,solver,kind,seed,profile,axis,level,level_description,n,successes,no_answer,rate,wilson_low,wilson_high,mean_metric,mean_work,profile_hash,test_source,expressible,supervised,successes_supervised\n",
    );
    for s in solvers {
        for r in &s.runs {
            for c in &r.cells {
                let (lo, hi) = wilson(c.successes, c.n);
                let _ = writeln!(
                    csv,
                    "{},{},{},{},{},{},{},\"{}\",{},{},{},{:.6},{:.6},{:.6},{:.6},{:.3},{},\"{}\",{}",
                    r.task,
                    r.solver,
                    kind_name(r.kind),
                    r.seed,
                    r.profile.name,
                    c.axis,
                    c.level,
                    c.level_description.replace('"', "\"\""),
                    c.n,
                    c.successes,
                    c.no_answer,
                    c.rate(),
                    lo,
                    hi,
                    c.mean_metric,
                    c.mean_work,
                    r.profile.hash(),
                    r.test_source.replace('"', "\"\""),
                    match c.representability {
                        Some(x) => format!("{},{},{}", x.expressible, x.supervised, x.successes_supervised),
                        None => ",,".into(),
                    }
                );
            }
        }
    }
    csv
}

/// What identifies a record's test sets: the manifest hash for canonical sets (the same files under another
/// folder path are the same sets), the whole description for generated ones.
fn test_set_identity(source: &str) -> &str {
    match source.rsplit_once("manifest ") {
        Some((_, hash)) if source.starts_with("canonical") => hash.trim_end_matches(')'),
        _ => source,
    }
}

/// Refuses records that cannot be pooled: impossible counts, or one run present twice.
fn check_records(records: &[RunRecord]) -> Result<(), ReportError> {
    let mut seen = std::collections::HashSet::new();
    for r in records {
        r.check().map_err(|reason| ReportError::Impossible {
            task: r.task.clone(),
            solver: r.solver.clone(),
            seed: r.seed,
            reason,
        })?;
        if !seen.insert(r.key()) {
            return Err(ReportError::Duplicate {
                task: r.task.clone(),
                solver: r.solver.clone(),
                seed: r.seed,
                profile: r.profile.name.clone(),
            });
        }
    }
    Ok(())
}

/// Renders every file of the report.
pub fn render(records: &[RunRecord]) -> Result<Vec<File>, ReportError> {
    check_records(records)?;
    let (drift, samples): (Vec<&RunRecord>, Vec<&RunRecord>) = records.iter().partition(|r| r.experiment.is_none());
    let grouped = group(&drift)?;
    let mut files = Vec::new();
    let mut summary = String::from("# driftbench summary\n\n");
    summary.push_str(
        "Generated by `driftbench report` from the run records; do not edit. Success rates are pooled over seeds \
         (Wilson 95% interval over instances for level 0). *Mean OOD* averages every drift cell (levels 1-4 of \
         every axis); *worst* is the lowest of them.\n\n",
    );
    summary.push_str(
        "| task | solver | kind | seeds | level-0 success % [95% Wilson] | mean OOD success % | worst OOD cell % | cost to learn | cost per answer |\n",
    );
    summary.push_str("|---|---|---|---|---|---|---|---|---|\n");
    let mut summary_csv = String::from(
        "task,solver,kind,seeds,level0_rate,level0_wilson_low,level0_wilson_high,mean_ood_rate,training_examples,training_trials,training_deaths,us_per_answer,work_per_answer_level0\n",
    );
    for (task, solvers) in &grouped {
        let l0 = solvers[0].runs[0].cells.iter().position(|c| c.level == 0).unwrap_or(0);
        for s in solvers {
            let (l0_rate, mean, worst) = headline(s);
            let (k, n) = s.pooled(l0);
            let (lo, hi) = wilson(k, n);
            let examples = s.mean_of(|r| r.training.examples as f64);
            let trials = s.mean_of(|r| r.training.trials as f64);
            let deaths = s.mean_of(|r| r.training.deaths as f64);
            let us = s.mean_of(|r| r.timing.per_answer_us);
            let work = s.mean_of(|r| r.cells[l0].mean_work);
            let work_name = &s.runs[0].work_name;
            let mut learn = Vec::new();
            if examples > 0.0 {
                learn.push(format!("{} examples", count(examples)));
            }
            if trials > 0.0 {
                learn.push(format!("{} trials", count(trials)));
            }
            if deaths > 0.0 {
                learn.push(format!("{} deaths", count(deaths)));
            }
            let learn = if learn.is_empty() { "none (hand-written)".to_string() } else { learn.join(", ") };
            let per_answer =
                if work > 0.0 { format!("{us:.1} µs, {work:.1} {work_name}") } else { format!("{us:.1} µs") };
            let _ = writeln!(
                summary,
                "| [{task}]({task}.md) | {} | {} | {} | {} | {} | {} | {learn} | {per_answer} |",
                s.name,
                kind_name(s.kind),
                s.runs.len(),
                rate_ci(k, n),
                pct(mean),
                worst,
            );
            let _ = writeln!(
                summary_csv,
                "{task},{},{},{},{:.6},{:.6},{:.6},{:.6},{examples:.0},{trials:.0},{deaths:.0},{us:.3},{work:.3}",
                s.name,
                kind_name(s.kind),
                s.runs.len(),
                l0_rate,
                lo,
                hi,
                mean
            );
        }
        let mut page = task_page(task, solvers, &samples);
        // One picture per solver: its first seed's answer on the first test instance of the task's picture cell.
        let pictures: Vec<(&str, &String)> =
            solvers.iter().filter_map(|s| s.runs[0].picture.as_ref().map(|p| (s.name, p))).collect();
        if !pictures.is_empty() {
            page.push_str(&pictures_intro(solvers));
            for (solver, svg) in pictures {
                let name = format!("{task}-{solver}.svg");
                let _ = writeln!(page, "- `{solver}`: [{name}]({name})\n\n  ![{solver}]({name})\n");
                files.push((name, svg.clone()));
            }
        }
        files.push((format!("{task}.md"), page));
        files.extend(task_plots(task, solvers)?);
        let learning = learning_lines(solvers);
        if learning.iter().any(|l| !l.val.is_empty()) {
            let title = format!("{task}: learning curves (first seed)");
            let svg = plots::learning(&title, &learning)
                .map_err(|reason| ReportError::Plot { task: task.to_string(), reason })?;
            files.push((format!("plots/{task}-learning.svg"), svg));
        }
        files.extend(sample_plot(task, solvers, &samples)?);
        files.extend(competence_plot(task, solvers)?);
        files.push((format!("{task}.csv"), task_csv(solvers)));
    }
    summary.push_str(
        "\n*Cost to learn*: distinct training examples, simulated trials and deaths while learning (means over seeds). \
         *Cost per answer*: wall time per answered instance and the task's own work unit at level 0.\n",
    );
    let reach_rows: Vec<String> = grouped
        .iter()
        .flat_map(|(task, solvers)| {
            solvers.iter().filter_map(move |s| {
                let cells = &s.runs[0].cells;
                let ood: Vec<Reach> =
                    (0..cells.len()).filter(|&i| cells[i].level > 0).map(|i| s.reach(i)).collect::<Option<_>>()?;
                let sum = ood.iter().fold(Reach::default(), |a, r| Reach {
                    n: a.n + r.n,
                    successes: a.successes + r.successes,
                    expressible: a.expressible + r.expressible,
                    supervised: a.supervised + r.supervised,
                    successes_supervised: a.successes_supervised + r.successes_supervised,
                });
                let failures = sum.n - sum.successes;
                let within = sum.supervised - sum.successes_supervised;
                let share = |k: u64| format!("{k} ({})", pct(k as f64 / failures.max(1) as f64));
                Some(format!(
                    "| {task} | {} | {} | {} | {} | {} | {} |",
                    s.name,
                    sum.n,
                    failures,
                    share(within),
                    // An answer that cannot be expressed cannot be given, so every such instance is a failure.
                    share(sum.n - sum.expressible),
                    share(
                        (sum.expressible - sum.supervised)
                            .saturating_sub(sum.successes.saturating_sub(sum.successes_supervised))
                    ),
                ))
            })
        })
        .collect();
    if !reach_rows.is_empty() {
        summary.push_str(
            "\n## Failures within and out of reach\n\nOut-of-distribution instances (every drift cell, pooled over \
             seeds) of the learners that assess representability: how many failed, and whether the failed answer was \
             one the learner could have given (*within reach*: expressible by its output and supervised in \
             training), one its output cannot express, or one needing outputs never supervised.\n\n",
        );
        summary.push_str(
            "| task | solver | OOD instances | failures | within reach | not expressible | expressible, not supervised |\n",
        );
        summary.push_str("|---|---|---|---|---|---|---|\n");
        for row in reach_rows {
            summary.push_str(&row);
            summary.push('\n');
        }
    }
    summary.push_str("\n## Generalisation curves\n\n");
    for task in grouped.keys() {
        let _ = writeln!(summary, "![{task} overview](plots/{task}-overview.svg)\n");
    }
    if grouped.values().any(|solvers| adversarial_table(solvers).is_some()) {
        summary.push_str(
            "## Adversarial brittleness\n\nLevel-0 inputs perturbed within a box that leaves the correct answer \
             unchanged. Budget cells: success % surviving every attack (FGSM alone / random corners alone). What a \
             budget means, the methods and how answers broke: each task's page.\n\n",
        );
        for (task, solvers) in &grouped {
            if let Some(t) = adversarial_table(solvers) {
                let body: String = t.lines().filter(|l| l.starts_with('|')).map(|l| format!("{l}\n")).collect();
                let _ = writeln!(summary, "### {task}\n\n{body}");
            }
        }
    }
    if !samples.is_empty() {
        summary.push_str("## Sample efficiency\n\n");
        for task in grouped.keys() {
            if samples.iter().any(|r| r.task == *task) {
                let _ = writeln!(summary, "![{task} sample efficiency](plots/{task}-sample-efficiency.svg)\n");
            }
        }
    }
    files.push(("summary.md".into(), summary));
    files.push(("summary.csv".into(), summary_csv));
    Ok(files)
}

/// The sentence above a task's pictures: which cell they show (level 0 for records that do not say).
fn pictures_intro(solvers: &[SolverRuns]) -> String {
    let cells: std::collections::BTreeSet<&str> = solvers
        .iter()
        .filter(|s| s.runs[0].picture.is_some())
        .map(|s| s.runs[0].picture_cell.as_deref().unwrap_or("in-dist-L0"))
        .collect();
    let cell = match cells.into_iter().collect::<Vec<_>>()[..] {
        [one] => {
            let description = solvers[0].runs[0]
                .cells
                .iter()
                .find(|c| format!("{}-L{}", c.axis, c.level) == one)
                .map(|c| format!(" ({})", c.level_description))
                .unwrap_or_default();
            format!("cell `{one}`{description}")
        }
        _ => "the task's picture cell".to_string(),
    };
    format!("\n## Pictures\n\nEach solver's answer on the first test instance of {cell} (first seed):\n\n")
}

/// Start and end markers of the generated block in a README.
pub const README_MARKERS: (&str, &str) = ("<!-- results:begin -->", "<!-- results:end -->");

/// Replaces the block between [`README_MARKERS`] in `readme` with the summary table from `files`. Returns
/// `None` when the markers are missing.
pub fn splice_readme(readme: &str, files: &[File]) -> Option<String> {
    let (begin, end) = README_MARKERS;
    let a = readme.find(begin)? + begin.len();
    let b = a + readme[a..].find(end)?;
    let summary = &files.iter().find(|f| f.0 == "summary.md")?.1;
    // The headline table: the first run of table lines.
    let table: String = summary
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    let table = table.replace("](", "](results/");
    Some(format!("{}\n{table}{}", &readme[..a], &readme[b..]))
}

/// Renders the report and writes every file atomically into `out`.
pub fn write(records: &[RunRecord], out: &Path) -> Result<Vec<File>, ReportError> {
    driftbench_core::record::check_output_dir(out, "report folder")?;
    let files = render(records)?;
    for (name, text) in &files {
        write_atomic(&out.join(name), text.as_bytes())?;
    }
    Ok(files)
}
