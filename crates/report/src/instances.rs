//! Which test instances break which solvers: the task page's per-instance section, read from the records'
//! per-instance outcomes ([`driftbench_core::outcomes`]).
use crate::runs::{pct, SolverRuns};
use driftbench_core::outcomes::Bits;
use driftbench_core::solver::SolverKind;
use std::fmt::Write as _;

/// A learner's name, kind, and per instance whether it solved it in every seed and failed it in every seed.
type LearnerVerdicts<'a> = (&'a str, SolverKind, (Vec<bool>, Vec<bool>));

/// How many instance indices a table cell lists before "…".
const LISTED: usize = 8;

/// Per instance of cell `i`: whether `s` solved it in every seed, failed it in every seed, or neither. `None`
/// when some run of `s` keeps no per-instance outcomes.
fn verdicts(s: &SolverRuns, i: usize) -> Option<(Vec<bool>, Vec<bool>)> {
    let bits: Vec<Bits> = s
        .runs
        .iter()
        .map(|r| r.cells[i].outcomes.as_ref().and_then(|o| o.decode(r.cells[i].n).ok()).map(|d| d.success))
        .collect::<Option<_>>()?;
    let n = bits.first()?.len();
    if bits.iter().any(|b| b.len() != n) {
        return None;
    }
    let always = (0..n).map(|j| bits.iter().all(|b| b.get(j))).collect();
    let never = (0..n).map(|j| bits.iter().all(|b| !b.get(j))).collect();
    Some((always, never))
}

/// The first few indices where `flags` holds, then how many more.
fn listed(flags: &[bool]) -> String {
    let idx: Vec<usize> = flags.iter().enumerate().filter(|(_, f)| **f).map(|(j, _)| j).collect();
    if idx.is_empty() {
        return "–".into();
    }
    let shown: Vec<String> = idx.iter().take(LISTED).map(|j| j.to_string()).collect();
    match idx.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{}, … (+{more})", shown.join(", ")),
    }
}

/// The section: per cell, the instances every network fails and the symbolic solver solves, those that split the
/// networks, and those that split every learner; `None` when the task has no network or no symbolic solver, or
/// when a record keeps no per-instance outcomes (it says so then).
pub(crate) fn instances_section(task: &str, solvers: &[SolverRuns]) -> Option<String> {
    let networks: Vec<&SolverRuns> = solvers.iter().filter(|s| s.kind == SolverKind::Network).collect();
    let learners: Vec<&SolverRuns> = solvers.iter().filter(|s| s.kind != SolverKind::Symbolic).collect();
    let symbolic = solvers.iter().find(|s| s.kind == SolverKind::Symbolic)?;
    if networks.is_empty() {
        return None;
    }
    let mut md = String::from("## Which instances break which solver\n\n");
    let cells = &solvers[0].runs[0].cells;
    let mut rows = Vec::new();
    for (i, c) in cells.iter().enumerate() {
        let Some(sym) = verdicts(symbolic, i) else {
            return Some(md + "The records keep no per-instance outcomes (written before they were kept).\n");
        };
        let per_learner: Option<Vec<LearnerVerdicts>> =
            learners.iter().map(|s| verdicts(s, i).map(|v| (s.name, s.kind, v))).collect();
        let Some(per_learner) = per_learner else {
            return Some(md + "The records keep no per-instance outcomes (written before they were kept).\n");
        };
        let n = sym.0.len();
        let nets: Vec<&LearnerVerdicts> = per_learner.iter().filter(|l| l.1 == SolverKind::Network).collect();
        let all_nets_fail: Vec<bool> = (0..n).map(|j| sym.0[j] && nets.iter().all(|l| l.2 .1[j])).collect();
        let split = |group: &[&LearnerVerdicts]| -> Vec<bool> {
            (0..n).map(|j| group.iter().any(|l| l.2 .0[j]) && group.iter().any(|l| l.2 .1[j])).collect()
        };
        let every: Vec<&LearnerVerdicts> = per_learner.iter().collect();
        let all_learners_fail: Vec<bool> = (0..n).map(|j| sym.0[j] && every.iter().all(|l| l.2 .1[j])).collect();
        let (split_nets, split_all) = (split(&nets), split(&every));
        let k = |f: &[bool]| f.iter().filter(|x| **x).count();
        let label = format!("{}-L{}", c.axis, c.level);
        rows.push(format!(
            "| {label} | {n} | {} ({}) | {} | {} | {} | {} | {} |",
            k(&all_nets_fail),
            pct(k(&all_nets_fail) as f64 / n.max(1) as f64),
            listed(&all_nets_fail),
            k(&all_learners_fail),
            k(&split_nets),
            listed(&split_nets),
            k(&split_all),
        ));
    }
    let names: Vec<&str> = networks.iter().map(|s| s.name).collect();
    let _ = writeln!(
        md,
        "Read from the records' per-instance outcomes. *Every network fails*: the symbolic solver solves the \
         instance and each network ({}) fails it in every seed. *Every learner fails*: the same, for every \
         solver that learns (networks, baselines and program search). *Split the networks*: some network solves \
         it in every seed while another fails it in every seed; *split the learners*, the same over every learner. Indices count from 0 in the cell's canonical test \
         set: `driftbench sample --task {task} --axis AXIS --level L --index I` prints instance I, and `driftbench \
         show` draws it for tasks with pictures.\n",
        names.join(", ")
    );
    md.push_str(
        "| cell | instances | every network fails, symbolic solves (%) | first indices | every learner fails | split the networks | first indices | split the learners |\n",
    );
    md.push_str("|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        md.push_str(&r);
        md.push('\n');
    }
    Some(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_first_indices_then_the_rest() {
        assert_eq!(listed(&[false, true, false, true]), "1, 3");
        assert_eq!(listed(&[false; 3]), "–");
        let many: Vec<bool> = (0..20).map(|j| j % 2 == 0).collect();
        assert_eq!(listed(&many), "0, 2, 4, 6, 8, 10, 12, 14, … (+2)");
    }
}
