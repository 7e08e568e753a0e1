//! What a suite run cost, read from its records: the core-seconds of training and evaluation (`timing.train_s` +
//! `timing.eval_s`), in total and per item, so that every run's log shows where the budget goes. Core-seconds
//! rather than wall time because they do not move with the number of cores, only with the machine's speed (and
//! each run trains on one thread).
use driftbench_core::record::Experiment;
use driftbench_core::RunRecord;
use std::collections::BTreeMap;

/// The core-seconds of one item of a suite: one solver of one task in one experiment, summed over its seeds (and
/// training-set sizes).
#[derive(Debug, Clone, PartialEq)]
pub struct CostItem {
    /// `task solver`, with ` (sample efficiency)` for that experiment's runs.
    pub name: String,
    /// Training plus evaluation, summed over the item's records.
    pub core_s: f64,
    /// Records summed.
    pub runs: usize,
}

/// The cost of a set of records: the total and every item, largest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteCost {
    /// Training plus evaluation over every record.
    pub core_s: f64,
    /// Records summed.
    pub runs: usize,
    /// Every item, by core-seconds (largest first; equal ones by name).
    pub items: Vec<CostItem>,
}

impl SuiteCost {
    /// Sums the timings of `records` per item and in total.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a RunRecord>) -> SuiteCost {
        SuiteCost::from_runs(
            records
                .into_iter()
                .map(|r| (item_name(&r.task, &r.solver, r.experiment.as_ref()), r.timing.train_s + r.timing.eval_s)),
        )
    }

    /// Sums `(item, core-seconds)` pairs, one per run, per item and in total.
    pub fn from_runs(runs: impl IntoIterator<Item = (String, f64)>) -> SuiteCost {
        let mut by_item: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        for (name, core_s) in runs {
            let e = by_item.entry(name).or_default();
            e.0 += core_s;
            e.1 += 1;
        }
        let mut items: Vec<CostItem> =
            by_item.into_iter().map(|(name, (core_s, runs))| CostItem { name, core_s, runs }).collect();
        // The map hands them over by name and the sort is stable: equal costs stay in name order.
        items.sort_by(|a, b| b.core_s.total_cmp(&a.core_s));
        // Folded from +0: an empty `sum` of floats is −0, which would print as "-0.0".
        let core_s = items.iter().fold(0.0, |acc, i| acc + i.core_s);
        SuiteCost { core_s, runs: items.iter().map(|i| i.runs).sum(), items }
    }

    /// The `n` largest items.
    pub fn largest(&self, n: usize) -> &[CostItem] {
        &self.items[..n.min(self.items.len())]
    }

    /// The log's lines: the total beside `wall_s` of wall time on `threads` threads, then the `n` largest items
    /// with their share of the total.
    pub fn lines(&self, wall_s: f64, threads: usize, n: usize) -> Vec<String> {
        let mut out = vec![format!(
            "cost: {:.1} core-seconds of training and evaluation in {} records; {wall_s:.1} s wall time on {threads} \
             threads",
            self.core_s, self.runs
        )];
        for (k, item) in self.largest(n).iter().enumerate() {
            let share = if self.core_s > 0.0 { 100.0 * item.core_s / self.core_s } else { 0.0 };
            out.push(format!(
                "  {}. {}: {:.1} core-seconds ({share:.0}%, {} run{})",
                k + 1,
                item.name,
                item.core_s,
                item.runs,
                if item.runs == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

/// The item a run belongs to: `task solver`, with ` (sample efficiency)` for that experiment's runs.
fn item_name(task: &str, solver: &str, experiment: Option<&Experiment>) -> String {
    match experiment {
        None => format!("{task} {solver}"),
        Some(Experiment::SampleEfficiency { .. }) => format!("{task} {solver} (sample efficiency)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(list: &[(&str, f64)]) -> SuiteCost {
        SuiteCost::from_runs(list.iter().map(|&(n, s)| (n.to_string(), s)))
    }

    #[test]
    fn items_sum_their_runs_and_rank_largest_first_with_ties_by_name() {
        let cost = runs(&[
            ("nav vin", 30.0),
            ("nav vin", 33.0),
            ("nav ppo", 18.0),
            ("nav imitation", 25.0),
            ("nav imitation (sample efficiency)", 6.5),
            ("nav imitation (sample efficiency)", 13.5),
            ("sort mlp", 18.5),
            ("sort symbolic", 0.25),
            ("rocket nn", 4.0),
            ("rocket mlp", 4.0),
        ]);
        assert_eq!(cost.runs, 10);
        assert_eq!(cost.core_s, 152.75);
        let top: Vec<(&str, f64, usize)> =
            cost.largest(5).iter().map(|i| (i.name.as_str(), i.core_s, i.runs)).collect();
        assert_eq!(
            top,
            [
                ("nav vin", 63.0, 2),
                ("nav imitation", 25.0, 1),
                ("nav imitation (sample efficiency)", 20.0, 2),
                ("sort mlp", 18.5, 1),
                ("nav ppo", 18.0, 1),
            ]
        );
        let tail: Vec<&str> = cost.items[5..].iter().map(|i| i.name.as_str()).collect();
        assert_eq!(tail, ["rocket mlp", "rocket nn", "sort symbolic"]);
        assert_eq!(cost.largest(50).len(), 8);
    }

    #[test]
    fn sample_efficiency_runs_are_an_item_of_their_own() {
        let sample = Experiment::SampleEfficiency { train_examples: 100, max_epochs: 20.0 };
        assert_eq!(item_name("navigation-v1", "imitation", None), "navigation-v1 imitation");
        assert_eq!(
            item_name("navigation-v1", "imitation", Some(&sample)),
            "navigation-v1 imitation (sample efficiency)"
        );
    }

    #[test]
    fn the_log_lines_give_the_total_the_wall_time_and_each_items_share() {
        let lines = runs(&[("nav vin", 75.0), ("sort mlp", 25.0)]).lines(61.24, 2, 5);
        assert_eq!(
            lines,
            [
                "cost: 100.0 core-seconds of training and evaluation in 2 records; 61.2 s wall time on 2 threads",
                "  1. nav vin: 75.0 core-seconds (75%, 1 run)",
                "  2. sort mlp: 25.0 core-seconds (25%, 1 run)",
            ]
        );
        let none = runs(&[]);
        assert_eq!((none.core_s, none.runs, none.items.len()), (0.0, 0, 0));
        assert_eq!(
            none.lines(1.0, 1, 5),
            ["cost: 0.0 core-seconds of training and evaluation in 0 records; 1.0 s wall time on 1 threads"]
        );
    }
}
