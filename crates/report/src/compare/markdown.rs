//! The comparison as a Markdown page: sides, method, flags, one table per task.

use super::{CompareError, Comparison, Method, Pooled, Side, Verdict, METHOD};
use driftbench_core::record::write_atomic;
use driftbench_core::stats::Z95;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

fn p_text(p: f64) -> String {
    if p < 1e-300 {
        // Below what a double holds of the exact tail: say so rather than print a p of exactly 0.
        "<1e-300".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// The comparison as Markdown: sides, method, a summary of the flags, then one table per task.
pub fn markdown(c: &Comparison) -> String {
    let mut md = String::from("# driftbench compare\n\n");
    let side_line = |name: &str, s: &Side| {
        let profiles: BTreeSet<&String> = s.profiles.values().flatten().collect();
        format!(
            "- **{name}**: `{}`; profiles: {}\n",
            s.label,
            profiles.into_iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
        )
    };
    md.push_str(&side_line("A", &c.a));
    md.push_str(&side_line("B", &c.b));
    let tasks: BTreeSet<&str> = c.rows.iter().map(|r| r.key.0.as_str()).collect();
    for t in &tasks {
        let _ = writeln!(md, "- {t}: {}", c.a.test_sets.get(*t).map_or("?", |s| s.as_str()));
    }
    let paired = c.rows.iter().filter(|r| matches!(r.method, Method::Paired(_))).count();
    let _ = writeln!(
        md,
        "\n{METHOD} α = {}; the unpaired 95% intervals use z = {Z95:.3}.\n\n**{paired} of {} cells compared paired**, \
         instance by instance.",
        c.alpha,
        c.rows.len()
    );
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &c.rows {
        if let Method::Unpaired(why) = &r.method {
            *reasons.entry(why.as_str()).or_default() += 1;
        }
    }
    for (why, k) in &reasons {
        let _ = writeln!(md, "- {k} cells unpaired (two-proportion z-test): {why}.");
    }
    md.push('\n');
    let (better, worse) = (
        c.rows.iter().filter(|r| r.verdict == Verdict::Better).count(),
        c.rows.iter().filter(|r| r.verdict == Verdict::Worse).count(),
    );
    let _ = writeln!(
        md,
        "## Summary\n\n{} cells compared (Holm over all {}): **{better} significantly better** in B, \
         **{worse} significantly worse**.\n",
        c.rows.len(),
        c.rows.len()
    );
    for r in c.regressions() {
        let (task, solver, axis, level) = &r.key;
        let _ = writeln!(
            md,
            "- worse: {task} / {solver} / {axis}-L{level}: {} % -> {} % ({:+.1} pp, Holm p {})",
            pct(r.a.successes as f64 / r.a.n.max(1) as f64),
            pct(r.b.successes as f64 / r.b.n.max(1) as f64),
            100.0 * r.diff,
            p_text(r.p_holm)
        );
    }
    let only = |x: &Side, y: &Side| -> Vec<String> {
        let pairs = |s: &Side| s.cells.keys().map(|k| (k.0.clone(), k.1.clone())).collect::<BTreeSet<_>>();
        pairs(x).difference(&pairs(y)).map(|(t, s)| format!("{t} / {s}")).collect()
    };
    for (name, list) in [("A", only(&c.a, &c.b)), ("B", only(&c.b, &c.a))] {
        if !list.is_empty() {
            let _ = writeln!(md, "\nOnly in {name} (not compared): {}.", list.join(", "));
        }
    }
    for task in tasks {
        let _ = writeln!(md, "\n## {task}\n");
        md.push_str(
            "| solver | cell | A success % (k/n) | B success % (k/n) | Δ pp [95% CI] | test | A+ / B+ | per-seed McNemar p | MDE pp | p | Holm p | flag |\n",
        );
        md.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for r in c.rows.iter().filter(|r| r.key.0 == task) {
            let (_, solver, axis, level) = &r.key;
            let cell = match c.a.descriptions.get(&(task.to_string(), axis.clone(), *level)) {
                Some(d) if *level > 0 => format!("{axis}-L{level} ({d})"),
                _ => format!("{axis}-L{level}"),
            };
            let side = |p: Pooled| format!("{} ({}/{})", pct(p.successes as f64 / p.n.max(1) as f64), p.successes, p.n);
            let flag = match r.verdict {
                Verdict::Better => "▲ better",
                Verdict::Worse => "▼ worse",
                Verdict::Same => "",
            };
            let (test, split, seeds) = match &r.method {
                Method::Paired(p) => (
                    "paired",
                    format!("{} / {}", p.a_better, p.b_better),
                    p.per_seed.iter().map(|(s, _, _, p)| format!("s{s} {}", p_text(*p))).collect::<Vec<_>>().join(", "),
                ),
                Method::Unpaired(_) => ("unpaired", "–".into(), "–".into()),
            };
            let _ = writeln!(
                md,
                "| {solver} | {cell} | {} | {} | {:+.1} [{:+.1}, {:+.1}] | {test} | {split} | {seeds} | {:.1} | {} | {} | {flag} |",
                side(r.a),
                side(r.b),
                100.0 * r.diff,
                100.0 * r.interval.0,
                100.0 * r.interval.1,
                100.0 * r.mde,
                p_text(r.p),
                p_text(r.p_holm)
            );
        }
    }
    md
}

/// Writes the Markdown atomically to `out`.
pub fn write(c: &Comparison, out: &Path) -> Result<(), CompareError> {
    Ok(write_atomic(out, markdown(c).as_bytes())?)
}
