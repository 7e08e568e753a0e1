//! One task's Markdown page: headline, per-cell tables, adversarial results, pictures and its CSV.
use crate::curves::{competence_table, sample_table};
use crate::plots;
use crate::runs::{
    axes, capitalise, count, kind_name, level_label, opt_pct, pct, rate_ci, seed_ci, SolverRuns, REACH_NOTE,
};
use driftbench_core::record::RunRecord;
use driftbench_core::solver::SolverKind;
use driftbench_core::stats::wilson;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The adversarial table of one task (Markdown), if any solver was attacked.
pub(super) fn adversarial_table(solvers: &[SolverRuns]) -> Option<String> {
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
         alone; solvers without gradients (the hand-written control, learned solvers that expose no input gradient, \
         and navigation's added cars) have no FGSM step, so its figure there equals the first. Pooled over seeds. *{metric}*: mean over the instances \
         answered correctly without perturbation, clean and at the worst point found at the largest budget. \
         *Median breaking budget*: per seed, the median over those instances of the smallest budget that broke \
         the answer (`> max` when fewer than half broke). The gradient attacks need a network's input gradient; \
         learned solvers without one (nearest neighbour, program search, a network whose input is not the attacked \
         features) meet the corners alone, as the hand-written control does; the added-car search needs no \
         gradient and attacks every solver.\n",
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

pub(super) fn task_page(task: &str, solvers: &[SolverRuns], samples: &[&RunRecord]) -> String {
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
         **Between seeds** is the mean of the per-seed rates ± the 95% t-interval half-width over seeds; ⚑ marks \
         a cell whose seeds' rates span more than 10 points.\n"
    );
    let shrunk = shrunk_runs(solvers, samples);
    if !shrunk.is_empty() {
        let _ = writeln!(
            md,
            "**Warning: some runs trained on less than {:.0}% of the data they asked for** (instances in a test set \
             are never trained on, and this task's level 0 ran short of others):\n\n{}\n",
            100.0 * driftbench_core::data::SHRUNK_BELOW,
            shrunk.join("\n")
        );
    }
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
    md.push_str(&information_table(solvers));
    for (axis, levels) in axes(cells) {
        let _ = writeln!(md, "\n## Drift axis `{axis}`\n");
        let placed = levels.iter().find_map(|(i, _, _)| cells[*i].distance.as_ref());
        match placed {
            Some(d) => {
                let _ = writeln!(
                    md,
                    "Levels are placed along one factor, `{}`: distance from the training distribution in {} \
                     ({}).\n",
                    d.factor,
                    d.unit.symbol(),
                    match d.unit {
                        driftbench_core::Spread::Sigma => "standard deviations of the factor over level 0",
                        driftbench_core::Spread::Range => "widths of level 0's range beyond its nearer edge",
                    }
                );
                let _ = writeln!(md, "| level | distance | meaning |\n|---|---|---|");
                let _ = writeln!(md, "| 0 | 0 | {} |", cells[l0].level_description);
                for (i, level, desc) in &levels {
                    let d = cells[*i].distance.as_ref().map(|d| d.label()).unwrap_or_else(|| "–".into());
                    let _ = writeln!(md, "| {level} | {d} | {desc} |");
                }
            }
            None => {
                let _ = writeln!(md, "| level | meaning |\n|---|---|");
                let _ = writeln!(md, "| 0 | {} |", cells[l0].level_description);
                for (_, level, desc) in &levels {
                    let _ = writeln!(md, "| {level} | {desc} |");
                }
            }
        }
        let header: Vec<String> = std::iter::once("L0 (train)".to_string())
            .chain(levels.iter().map(|(i, _, _)| level_label(cells, *i)))
            .collect();
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
    if let Some(section) = crate::instances::instances_section(task, solvers) {
        let _ = writeln!(md, "\n{section}");
    }
    let _ = writeln!(md, "\nPer-run data: [`{task}.csv`]({task}.csv).");
    md
}

/// The learning curves of a task's networks (first seed of each).
/// One list item per run (drift or sample-efficiency) whose training or validation set shrank
/// ([`driftbench_core::TrainStats::shrunk_sets`]).
fn shrunk_runs(solvers: &[SolverRuns], samples: &[&RunRecord]) -> Vec<String> {
    let runs = solvers.iter().flat_map(|s| s.runs.iter().copied()).chain(samples.iter().copied());
    runs.filter_map(|r| {
        let what = r.training.shrunk_sets()?;
        let n = match &r.experiment {
            Some(driftbench_core::record::Experiment::SampleEfficiency { train_examples, .. }) => {
                format!(", sample-efficiency n={train_examples}")
            }
            None => String::new(),
        };
        Some(format!("- `{}` seed {}{n}: {what}", r.solver, r.seed))
    })
    .collect()
}

pub(super) fn learning_lines<'a>(solvers: &[SolverRuns<'a>]) -> Vec<plots::LearningLine<'a>> {
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

pub(super) fn task_csv(solvers: &[SolverRuns]) -> String {
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

/// What each solver observes of an instance and what it learned from, as its records say: the comparison is
/// between solvers that know different things, and this table says which.
pub(super) fn information_table(solvers: &[SolverRuns]) -> String {
    let mut md = String::from(
        "\n## Information: what each solver observes and learns from\n\nA gap between solvers may come from what \
         they are shown rather than how they generalise; controls that see what a learner sees separate the two. \
         *Level-0 data*: what training consumed (means over seeds).\n\n| solver | kind | observes | level-0 data |\n|---|---|---|---|\n",
    );
    for s in solvers {
        let observes = s.runs[0].observes.as_deref().unwrap_or("(not recorded)");
        let mut data = Vec::new();
        let examples = s.mean_of(|r| r.training.examples as f64);
        let trials = s.mean_of(|r| r.training.trials as f64);
        let deaths = s.mean_of(|r| r.training.deaths as f64);
        let seen = s.mean_of(|r| r.training.examples_seen as f64);
        if examples > 0.0 {
            data.push(format!("{} distinct examples", count(examples)));
        }
        if seen > 0.0 {
            data.push(format!("{} presented", count(seen)));
        }
        if trials > 0.0 {
            data.push(format!("{} trials", count(trials)));
        }
        if deaths > 0.0 {
            data.push(format!("{} deaths", count(deaths)));
        }
        let data = if data.is_empty() { "none".to_string() } else { data.join(", ") };
        let _ = writeln!(md, "| {} | {} | {} | {data} |", s.name, kind_name(s.kind), observes.replace('|', "/"));
    }
    md
}
