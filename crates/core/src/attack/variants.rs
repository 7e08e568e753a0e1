//! The discrete attack for policy tasks: aimed variants a few changes away, per solved episode.

use super::attacker::median_breaking;
use super::{
    stream, AttackConfig, AttackStats, BudgetResult, Error, Outcome, Result, Solver, VariantAttackTask, VARIANT_SIZES,
};
use rayon::prelude::*;

/// The discrete attack ([`VariantAttackTask::attack_variants`]) on any solver: per instance answered correctly, variants of
/// growing size aimed at the solver's own answer; an instance survives size k when no variant of size at most k
/// makes its answer fail. `None` when the task offers no variants.
pub(super) fn run_variants<T: VariantAttackTask>(
    task: &T,
    solver: &dyn Solver<T>,
    instances: &[T::Instance],
    seed: u64,
    cfg: &AttackConfig,
) -> Result<Option<AttackStats>> {
    let attempt = |insts: &[T::Instance]| -> Result<Vec<crate::solver::Attempt<T::Answer>>> {
        let attempts = solver.solve_batch(task, insts)?;
        if attempts.len() != insts.len() {
            return Err(Error::Solve {
                task: task.id().into(),
                solver: "attacked solver".into(),
                reason: format!("{} answers for {} instances", attempts.len(), insts.len()),
            });
        }
        Ok(attempts)
    };
    let score = |insts: &[T::Instance], attempts: &[crate::solver::Attempt<T::Answer>]| -> Vec<Outcome> {
        let answers: Vec<_> = attempts.iter().map(|a| a.answer.as_ref()).collect();
        task.score_batch(insts, &answers)
    };
    // Whether the task offers variants at all, asked with the hand-written solver's answers to a few instances.
    let offers = instances.iter().take(5).enumerate().any(|(t, inst)| {
        let mut rng = stream(seed, task.id(), &format!("attack/offer/{t}"));
        !task.attack_variants(inst, &task.solve_symbolic(inst).0, VARIANT_SIZES[0], 1, &mut rng).is_empty()
    });
    if !offers {
        return Ok(None);
    }
    let attempts = attempt(instances)?;
    let clean = score(instances, &attempts);
    let ok: Vec<usize> = (0..instances.len()).filter(|&t| clean[t].success).collect();
    let n = instances.len();
    let ns = VARIANT_SIZES.len();
    let higher = task.metric_higher_is_better();
    let mut worst: Vec<Vec<f64>> = vec![clean.iter().map(|o| o.metric).collect(); ns];
    let mut broken_at: Vec<Option<usize>> = vec![None; n];
    let mut failures: Vec<Option<&'static str>> = vec![None; n];
    for (si, &size) in VARIANT_SIZES.iter().enumerate() {
        let alive: Vec<usize> = ok.iter().copied().filter(|&t| broken_at[t].is_none()).collect();
        // One stream per (instance, size): the variants do not depend on what other instances drew or did.
        let variants: Vec<(usize, Vec<T::Instance>)> = alive
            .par_iter()
            .filter_map(|&t| {
                let answer = attempts.get(t)?.answer.as_ref()?;
                let mut rng = stream(seed, task.id(), &format!("attack/{t}/{size}"));
                Some((t, task.attack_variants(&instances[t], answer, size, cfg.variants, &mut rng)))
            })
            .collect();
        let owners: Vec<usize> = variants.iter().flat_map(|(t, v)| std::iter::repeat_n(*t, v.len())).collect();
        let flat: Vec<T::Instance> = variants.into_iter().flat_map(|(_, v)| v).collect();
        if flat.is_empty() {
            continue;
        }
        for (&t, o) in owners.iter().zip(score(&flat, &attempt(&flat)?)) {
            for w in worst.iter_mut().skip(si) {
                w[t] = if higher { w[t].min(o.metric) } else { w[t].max(o.metric) };
            }
            if !o.success && broken_at[t].is_none() {
                broken_at[t] = Some(si);
                failures[t] = Some(o.failure.unwrap_or("failure"));
            }
        }
    }
    let median = median_breaking(
        ok.iter().map(|&t| broken_at[t].map_or(f64::INFINITY, |si| VARIANT_SIZES[si] as f64)).collect(),
    );
    let mean = |m: &[f64]| (!ok.is_empty()).then(|| ok.iter().map(|&t| m[t]).sum::<f64>() / ok.len() as f64);
    let budgets = (0..ns)
        .map(|si| {
            let survived = ok.iter().filter(|&&t| broken_at[t].is_none_or(|b| b > si)).count() as u64;
            let mut by_kind = std::collections::BTreeMap::new();
            for &t in ok.iter().filter(|&&t| broken_at[t].is_some_and(|b| b <= si)) {
                *by_kind.entry(failures[t].unwrap_or("failure").to_string()).or_insert(0) += 1;
            }
            BudgetResult {
                budget: VARIANT_SIZES[si] as f64,
                fgsm_successes: survived,
                successes: survived,
                random_successes: survived,
                worst_mean_metric: mean(&worst[si]),
                failures: by_kind,
            }
        })
        .collect();
    Ok(Some(AttackStats {
        method: format!(
            "no gradient: per instance answered correctly, {} seeded variants of each size aimed at the \
             solver's own answer, each still solvable; an instance survives size k when no variant of size at \
             most k makes it fail",
            cfg.variants
        ),
        budget_unit: task.variant_unit().into(),
        instances: n as u64,
        clean_successes: ok.len() as u64,
        clean_mean_metric: mean(&clean.iter().map(|o| o.metric).collect::<Vec<_>>()),
        budgets,
        median_breaking_budget: median,
    }))
}
