//! Grouping records into per-solver runs, and the number formats the tables share.
use crate::test_set_identity;
use crate::ReportError;
use driftbench_core::record::{CellResult, RunRecord};
use driftbench_core::solver::SolverKind;
use driftbench_core::stats::{mean_ci, wilson};
use std::collections::BTreeMap;

/// A cell's representability pooled over seeds ([`driftbench_core::record::CellRepresentability`]).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Reach {
    pub(super) n: u64,
    pub(super) successes: u64,
    pub(super) expressible: u64,
    pub(super) supervised: u64,
    pub(super) successes_supervised: u64,
    pub(super) outside_support: u64,
}

impl Reach {
    /// The marker a success cell carries: † some answers were not expressible, § some correct real-valued
    /// answers lie outside the range of the training targets, ‡ expressible but not supervised.
    pub(super) fn marker(&self) -> &'static str {
        if self.expressible < self.n {
            " †"
        } else if self.outside_support > 0 {
            " §"
        } else if self.supervised < self.n {
            " ‡"
        } else {
            ""
        }
    }
}

/// What the † and ‡ markers mean, under every table that uses them.
pub(super) const REACH_NOTE: &str = "† some of the cell's correct answers cannot be expressed by the solver's output (the ideal output does not decode to them, or the input does not fit); § some correct answers are real values outside the range of that output's training targets (outside the training support: the output layer was never fitted there); ‡ expressible, but needing output units or classes that never received a positive target in training. Both are decided mechanically per instance and stored in the records; in the figures such cells are drawn as crosses.";

/// The records of one solver on one task, seeds sorted.
pub(super) struct SolverRuns<'a> {
    pub(super) name: &'a str,
    pub(super) kind: SolverKind,
    pub(super) runs: Vec<&'a RunRecord>,
}

impl SolverRuns<'_> {
    /// Cell `i` pooled over seeds: (successes, n).
    pub(super) fn pooled(&self, i: usize) -> (u64, u64) {
        self.runs.iter().fold((0, 0), |(s, n), r| (s + r.cells[i].successes, n + r.cells[i].n))
    }
    /// Cell `i` pooled over seeds under the strict criterion: (successes, n).
    pub(super) fn pooled_strict(&self, i: usize) -> (u64, u64) {
        self.runs.iter().fold((0, 0), |(s, n), r| (s + r.cells[i].strict_successes.unwrap_or(0), n + r.cells[i].n))
    }
    /// Mean over seeds of the per-seed medians.
    pub(super) fn median_metric(&self, i: usize) -> f64 {
        self.mean_of(|r| r.cells[i].median_metric)
    }
    pub(super) fn per_seed_rates(&self, i: usize) -> Vec<f64> {
        self.runs.iter().map(|r| r.cells[i].rate()).collect()
    }
    pub(super) fn mean_of(&self, f: impl Fn(&RunRecord) -> f64) -> f64 {
        self.runs.iter().map(|r| f(r)).sum::<f64>() / self.runs.len().max(1) as f64
    }
    /// Cell `i`'s representability pooled over seeds, when every run assessed it.
    pub(super) fn reach(&self, i: usize) -> Option<Reach> {
        self.runs.iter().try_fold(Reach::default(), |acc, r| {
            let c = &r.cells[i];
            let x = c.representability?;
            Some(Reach {
                n: acc.n + c.n,
                successes: acc.successes + c.successes,
                expressible: acc.expressible + x.expressible,
                supervised: acc.supervised + x.supervised,
                successes_supervised: acc.successes_supervised + x.successes_supervised,
                outside_support: acc.outside_support + x.outside_support,
            })
        })
    }
    /// Whether some of cell `i`'s correct answers were out of the solver's reach.
    pub(super) fn unreachable(&self, i: usize) -> bool {
        self.reach(i).is_some_and(|r| r.supervised < r.n)
    }
    pub(super) fn mean_metric(&self, i: usize) -> f64 {
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

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

pub(super) fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

pub(super) fn rate_ci(successes: u64, n: u64) -> String {
    let (lo, hi) = wilson(successes, n);
    let p = if n == 0 { 0.0 } else { successes as f64 / n as f64 };
    format!("{} [{}, {}]", pct(p), pct(lo), pct(hi))
}

/// Seeds "disagree widely" on a cell when their success rates span more than this (10 points): more than the
/// instances alone would spread them at the suite's sizes (500-1,000 instances a seed: a binomial standard
/// deviation of at most 1.6-2.2 points, so a 10-point range among 3-10 seeds is about 3σ or more), and enough to
/// turn a headline around.
pub const SEED_SPREAD_FLAG: f64 = 0.10;

/// Whether the per-seed rates `values` span more than [`SEED_SPREAD_FLAG`] (never with fewer than two seeds).
pub(super) fn seeds_disagree(values: &[f64]) -> bool {
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    values.len() >= 2 && hi - lo > SEED_SPREAD_FLAG
}

/// Mean ± the 95% t half-width over seeds, with ⚑ where the seeds disagree widely ([`seeds_disagree`]).
pub(super) fn seed_ci(values: &[f64]) -> String {
    let flag = if seeds_disagree(values) { " ⚑" } else { "" };
    match mean_ci(values) {
        (m, Some(h)) => format!("{} ± {}{flag}", pct(m), pct(h)),
        (m, None) => format!("{} (1 seed)", pct(m)),
    }
}

pub(super) fn opt_pct(x: Option<f64>) -> String {
    x.map(pct).unwrap_or_else(|| "–".into())
}

pub(super) fn count(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

pub(super) fn group<'a>(records: &[&'a RunRecord]) -> Result<BTreeMap<&'a str, Vec<SolverRuns<'a>>>, ReportError> {
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

pub(super) fn kind_name(k: SolverKind) -> &'static str {
    match k {
        SolverKind::Symbolic => "symbolic",
        SolverKind::Network => "network",
        SolverKind::Baseline => "baseline",
        SolverKind::ProgramSearch => "program search",
        SolverKind::External => "external",
    }
}

/// A drift level of one axis: (cell index, level, description).
type Level<'a> = (usize, u8, &'a str);

/// Axes in first-seen order, with their levels.
pub(super) fn axes(cells: &[CellResult]) -> Vec<(&str, Vec<Level<'_>>)> {
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

/// The least share of a cell's instances that must lie within a learner's reach for the cell to enter the
/// within-reach aggregates: below it, the cell says what the learner was never shown, not how it generalises.
pub(super) const MIN_WITHIN_REACH: f64 = 0.1;

/// A level's column label: `L3`, or `L3 (2.5σ)` where the record places the level along its axis's factor.
pub(super) fn level_label(cells: &[CellResult], i: usize) -> String {
    match &cells[i].distance {
        Some(d) => format!("L{} ({})", cells[i].level, d.label()),
        None => format!("L{}", cells[i].level),
    }
}

/// Headline figures of one solver, over every OOD cell and over the instances within its reach.
pub(super) struct Headline {
    /// Level-0 success rate, pooled over seeds.
    pub(super) level0: f64,
    /// Mean of the OOD cells' success rates, all instances.
    pub(super) mean_all: f64,
    /// The lowest OOD cell, all instances: `rate (axis-Lk)`.
    pub(super) worst_all: String,
    /// Mean of the OOD cells' success rates on the instances within reach, over the cells with at least
    /// [`MIN_WITHIN_REACH`] of their instances within reach; equal to `mean_all` for solvers that do not assess
    /// reach (they are never out of it).
    pub(super) mean_reach: Option<f64>,
    /// The lowest such cell.
    pub(super) worst_reach: String,
    /// OOD cells counted in the within-reach figures, and OOD cells in all.
    pub(super) cells_reach: (usize, usize),
    /// Level-0 strict success rate and its mean over the OOD cells, for tasks with a strict criterion.
    pub(super) strict: Option<(f64, f64)>,
}

/// The headline figures of `s` ([`Headline`]).
pub(super) fn headline(s: &SolverRuns) -> Headline {
    let cells = &s.runs[0].cells;
    let ratio = |(k, n): (u64, u64)| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let rate = |i: usize| ratio(s.pooled(i));
    let ood: Vec<usize> = (0..cells.len()).filter(|&i| cells[i].level > 0).collect();
    let l0 = cells.iter().position(|c| c.level == 0);
    let mean = |v: &[(usize, f64)]| v.iter().map(|x| x.1).sum::<f64>() / v.len().max(1) as f64;
    let worst = |v: &[(usize, f64)]| {
        v.iter()
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
            .map(|&(i, r)| format!("{} ({}-L{})", pct(r), cells[i].axis, cells[i].level))
            .unwrap_or_else(|| "–".into())
    };
    let all: Vec<(usize, f64)> = ood.iter().map(|&i| (i, rate(i))).collect();
    let within: Vec<(usize, f64)> = ood
        .iter()
        .filter_map(|&i| match s.reach(i) {
            None => Some((i, rate(i))),
            Some(r) if r.supervised > 0 && r.supervised as f64 >= MIN_WITHIN_REACH * r.n as f64 => {
                Some((i, r.successes_supervised as f64 / r.supervised as f64))
            }
            Some(_) => None,
        })
        .collect();
    let strict = s.runs[0].strict_name.as_ref().map(|_| {
        let l0 = l0.map(|i| ratio(s.pooled_strict(i))).unwrap_or(0.0);
        let m = ood.iter().map(|&i| ratio(s.pooled_strict(i))).sum::<f64>() / ood.len().max(1) as f64;
        (l0, m)
    });
    Headline {
        level0: l0.map(rate).unwrap_or(0.0),
        mean_all: mean(&all),
        worst_all: worst(&all),
        mean_reach: (!within.is_empty()).then(|| mean(&within)),
        worst_reach: worst(&within),
        cells_reach: (within.len(), all.len()),
        strict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftbench_core::record::{CellDistance, CellRepresentability, Provenance, Timing};

    fn cell(axis: &str, level: u8, n: u64, successes: u64, reach: Option<(u64, u64)>) -> CellResult {
        CellResult {
            axis: axis.into(),
            level,
            level_description: String::new(),
            n,
            successes,
            no_answer: 0,
            mean_metric: 0.0,
            median_metric: 0.0,
            strict_successes: None,
            mean_work: 0.0,
            failures: Default::default(),
            representability: reach.map(|(supervised, successes_supervised)| CellRepresentability {
                expressible: n,
                supervised,
                successes_supervised,
                outside_support: n - supervised,
            }),
            outcomes: None,
            distance: (level > 0).then(|| CellDistance {
                factor: "g".into(),
                distance: 1.5 * level as f64,
                unit: driftbench_core::Spread::Sigma,
            }),
        }
    }

    fn record(cells: Vec<CellResult>) -> RunRecord {
        RunRecord {
            schema: driftbench_core::record::RECORD_SCHEMA,
            task: "t-v2".into(),
            solver: "net".into(),
            kind: SolverKind::Network,
            seed: 1,
            profile: driftbench_core::Profile::tiny(),
            profile_hash: None,
            config: Default::default(),
            test_source: "generated".into(),
            metric_name: "m".into(),
            work_name: "w".into(),
            strict_name: None,
            training: Default::default(),
            cells,
            experiment: None,
            adversarial: None,
            picture: None,
            picture_cell: None,
            observes: Some("a window".into()),
            timing: Timing::default(),
            provenance: Provenance::default(),
        }
    }

    #[test]
    fn within_reach_aggregates_leave_out_cells_mostly_out_of_reach_and_keep_the_all_instances_figures() {
        // L1: 50 of 100 within reach, 40 of them solved (80%), 40 solved in all; L2: 5 of 100 within reach (below
        // 10%), 5 solved; level 0: all within reach.
        let r = record(vec![
            cell("in-dist", 0, 100, 90, Some((100, 90))),
            cell("g", 1, 100, 40, Some((50, 40))),
            cell("g", 2, 100, 5, Some((5, 5))),
        ]);
        let s = SolverRuns { name: "net", kind: SolverKind::Network, runs: vec![&r] };
        let h = headline(&s);
        assert!((h.level0 - 0.9).abs() < 1e-12);
        assert!((h.mean_all - 0.225).abs() < 1e-12, "{}", h.mean_all);
        assert_eq!(h.cells_reach, (1, 2));
        assert!((h.mean_reach.unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(h.worst_all, "5.0 (g-L2)");
        assert_eq!(h.worst_reach, "80.0 (g-L1)");
        // Outside the training support is marked, and the cells carry their distance.
        assert_eq!(s.reach(1).unwrap().marker(), " §");
        assert_eq!(level_label(&r.cells, 2), "L2 (3.0σ)");
        assert_eq!(level_label(&r.cells, 0), "L0");
    }

    #[test]
    fn solvers_that_do_not_assess_reach_have_equal_figures_and_the_page_says_what_each_observes() {
        let r = record(vec![cell("in-dist", 0, 10, 10, None), cell("g", 1, 10, 3, None)]);
        let s = SolverRuns { name: "net", kind: SolverKind::Network, runs: vec![&r] };
        let h = headline(&s);
        assert_eq!(h.mean_reach, Some(h.mean_all));
        assert_eq!(h.worst_reach, h.worst_all);
        let table = super::super::page::information_table(&[s]);
        assert!(table.contains("| net | network | a window |"), "{table}");
    }

    #[test]
    fn seeds_are_flagged_when_their_rates_span_more_than_ten_points_and_the_summary_counts_the_cells() {
        assert!(!seeds_disagree(&[0.9]), "one seed cannot disagree");
        assert!(!seeds_disagree(&[0.90, 0.95, 0.999]), "a 9.9-point range");
        assert!(seeds_disagree(&[0.90, 0.95, 1.0 + 1e-9]), "just over 10 points");
        assert!(seeds_disagree(&[0.472, 0.806, 0.420]));
        assert!(seed_ci(&[0.472, 0.806, 0.420]).ends_with(" ⚑"));
        assert!(!seed_ci(&[0.5, 0.52]).contains('⚑'));
        assert_eq!(seed_ci(&[0.5]), "50.0 (1 seed)");
        // Level 0 agrees (90, 92), g-L1 disagrees (40, 70): the summary's between-seeds column counts one cell.
        let mut runs = Vec::new();
        for (seed, (l0, l1)) in [(1u64, (90u64, 40u64)), (2, (92, 70))] {
            let mut r = record(vec![cell("in-dist", 0, 100, l0, None), cell("g", 1, 100, l1, None)]);
            r.seed = seed;
            runs.push(r);
        }
        let files = crate::render(&runs).expect("a report");
        let summary = &files.iter().find(|f| f.0 == "summary.md").expect("summary").1;
        assert!(summary.contains("| 91.0 ± 12.7 · 1 of 2 ⚑ |"), "{summary}");
        // The CSV carries the same: the mean of the seeds' level-0 rates, the t half-width, cells, flagged cells.
        let csv = &files.iter().find(|f| f.0 == "summary.csv").expect("summary.csv").1;
        let header: Vec<&str> = csv.lines().next().expect("a header").split(',').collect();
        let row: Vec<&str> = csv.lines().nth(1).expect("a row").split(',').collect();
        let col = |name: &str| row[header.iter().position(|h| *h == name).expect(name)];
        assert_eq!(header.len(), row.len());
        assert_eq!(
            (col("level0_seed_mean"), col("level0_seed_t95_halfwidth"), col("cells"), col("cells_seeds_disagree")),
            ("0.910000", "0.127062", "2", "1")
        );
        let page = &files.iter().find(|f| f.0 == "t-v2.md").expect("task page").1;
        assert!(page.contains("55.0 ± 190.6 ⚑"), "{page}");
    }
}
