//! The data types the run records are made of, in a leaf module that imports nothing else of the crate: the
//! modules that produce them (`solver`, `record`, `attack`) and the ones that read them all point here, so the
//! crate's imports form no circle. Each type is also re-exported where it used to live.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Work a solver reports for one answer, in the task's unit (comparisons, simulated trials, expanded nodes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SolveInfo {
    /// Units of work spent on this answer; 0 where the solver does not count.
    pub work: u64,
}

/// Whether a trained solver could, in principle, give the correct answer on one instance: decided mechanically
/// from the solver's input and output spaces and its training targets, never from its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Representable {
    /// The instance fits the solver's input, and its correct answer is expressible by the solver's output (the
    /// ideal output decodes to a correct answer).
    pub expressible: bool,
    /// Every output unit or class the correct answer needs received a positive target somewhere in training.
    pub supervised: bool,
    /// For real-valued outputs: every output of the correct answer lies within the range of that output's
    /// training targets (an answer outside it is an extrapolation the output layer was never fitted on). True
    /// where the solver does not assess it (class outputs, which `supervised` covers).
    #[serde(default = "yes")]
    pub in_support: bool,
}

fn yes() -> bool {
    true
}

impl Representable {
    /// Expressible and supervised as given, within the training support.
    pub fn new(expressible: bool, supervised: bool) -> Self {
        Representable { expressible, supervised, in_support: true }
    }

    /// Whether the correct answer was within the solver's reach: expressible, supervised and within the training
    /// support.
    pub fn within_reach(&self) -> bool {
        self.expressible && self.supervised && self.in_support
    }
}

/// What family a solver belongs to; tables group and colour by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SolverKind {
    /// Written by hand from knowledge of the task.
    Symbolic,
    /// A trained neural network.
    Network,
    /// A simple reference point such as nearest neighbour.
    Baseline,
    /// A program found by searching a published DSL with the same training data the networks get.
    ProgramSearch,
    /// A program outside driftbench, spoken to over the `driftbench-solver/1` protocol (`driftbench-external`).
    External,
}

/// What training cost and reached. Fields a learner does not use stay at their defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainStats {
    /// Distinct training examples available.
    pub examples: u64,
    /// Examples presented, counting repeats (steps × batch).
    pub examples_seen: u64,
    /// Simulated trials consumed while learning (tasks where data are trials).
    pub trials: u64,
    /// Deaths during training (tasks where an agent can die).
    pub deaths: u64,
    /// Optimiser steps.
    pub steps: u64,
    /// Passes over the training set.
    pub epochs: f64,
    /// Mean training loss over the last 10% of steps.
    pub final_train_loss: Option<f64>,
    /// Validation loss of the kept parameters.
    pub val_loss: Option<f64>,
    /// The learner's own validation accuracy of the kept parameters (named by `val_accuracy_name`).
    pub val_accuracy: Option<f64>,
    /// What `val_accuracy` measures, e.g. `per-position rank accuracy`.
    #[serde(default)]
    pub val_accuracy_name: Option<String>,
    /// Validation exact-match rate of the kept parameters.
    pub val_exact: Option<f64>,
    /// Step whose parameters were kept (best validation exact match).
    pub best_step: Option<u64>,
    /// Learning curve: (step, training loss, validation accuracy, validation exact match).
    pub curve: Vec<(u64, f64, f64, f64)>,
    /// Learner-specific figures.
    pub extra: BTreeMap<String, f64>,
    /// The learned program in readable form (program-search learners), or why none was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Deaths to competence (learners that act during training): level-0 validation success against the deaths
    /// and episodes spent so far, one point per validation, in training order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub competence: Vec<CompetencePoint>,
}

/// The fraction of a requested training or validation set below which a run is flagged as shrunk
/// ([`TrainStats::shrunk_sets`]).
pub const SHRUNK_BELOW: f64 = 0.9;

/// Keys of [`TrainStats::extra`] a run writes only when a set shrank: (requested, drawn) for training, then for
/// validation.
pub const SHRUNK_KEYS: [&str; 4] =
    ["train_examples_requested", "train_examples_drawn", "val_examples_requested", "val_examples_drawn"];

impl TrainStats {
    /// Records the requested and drawn sizes of the training and validation sets, when either got less than
    /// [`SHRUNK_BELOW`] of its request (instances shared with a test set are skipped, so a small level 0 runs
    /// out); a run that got what it asked for records nothing.
    pub fn note_shrunk_sets(&mut self, train: (usize, usize), val: (usize, usize)) {
        let short = |(asked, got): (usize, usize)| (got as f64) < SHRUNK_BELOW * asked as f64;
        if short(train) || short(val) {
            for (k, v) in SHRUNK_KEYS.iter().zip([train.0, train.1, val.0, val.1]) {
                self.extra.insert((*k).into(), v as f64);
            }
        }
    }

    /// One sentence saying which sets shrank below [`SHRUNK_BELOW`] of their request, from the keys
    /// [`Self::note_shrunk_sets`] wrote; `None` for a run that got what it asked for.
    pub fn shrunk_sets(&self) -> Option<String> {
        let [ta, td, va, vd] = SHRUNK_KEYS.map(|k| self.extra.get(k).copied());
        let part = |what: &str, asked: Option<f64>, got: Option<f64>| match (asked, got) {
            (Some(a), Some(g)) if g < SHRUNK_BELOW * a => {
                Some(format!("{what} set {g:.0} of {a:.0} requested ({:.1}%)", 100.0 * g / a.max(1.0)))
            }
            _ => None,
        };
        let parts: Vec<String> = [part("training", ta, td), part("validation", va, vd)].into_iter().flatten().collect();
        (!parts.is_empty()).then(|| {
            format!(
                "{}: the level-0 instances left free by the test sets ran out (lower the task's validation or \
                 training size, or widen its level 0)",
                parts.join(", ")
            )
        })
    }
}

/// One point of a learner's deaths-to-competence curve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompetencePoint {
    /// Deaths during training so far (validation episodes are not counted: they only measure).
    pub deaths: u64,
    /// Training episodes acted out so far.
    pub episodes: u64,
    /// Level-0 validation success of the parameters at this point, in [0, 1].
    pub success: f64,
}

/// Success under attack at one budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetResult {
    /// The budget, in [`AttackStats::budget_unit`] (a fraction of the largest answer-preserving radius).
    pub budget: f64,
    /// Instances still answered correctly after the one-step attack (FGSM). For the control, which has no
    /// gradient, the same as `successes`.
    pub fgsm_successes: u64,
    /// Instances still answered correctly after every attack tried at this budget or a smaller one (FGSM, PGD,
    /// random corners): no point inside the box broke them. Never more than at a smaller budget.
    pub successes: u64,
    /// Instances still answered correctly at every random corner tried (no gradient: the noise baseline).
    #[serde(default)]
    pub random_successes: u64,
    /// Mean, over the instances answered correctly without perturbation, of the worst value of the task's metric
    /// found inside the box (a point found at a smaller budget counts here too): how close the attacks came.
    #[serde(default)]
    pub worst_mean_metric: Option<f64>,
    /// How the broken answers failed, by the task's category, where the task names one (the discrete attack:
    /// e.g. `death`, `timeout`); one entry per broken instance, the first failure found.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub failures: std::collections::BTreeMap<String, u64>,
}

/// What the adversarial experiment found for one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackStats {
    /// How perturbations were searched.
    pub method: String,
    /// What a budget of 1 means for this task.
    pub budget_unit: String,
    /// Level-0 test instances attacked.
    pub instances: u64,
    /// Of those, answered correctly without perturbation.
    pub clean_successes: u64,
    /// Mean of the task's metric over the instances answered correctly without perturbation.
    #[serde(default)]
    pub clean_mean_metric: Option<f64>,
    /// Success under attack per budget, smallest first.
    pub budgets: Vec<BudgetResult>,
    /// Median over the instances answered correctly without perturbation of the smallest budget that broke the
    /// answer (instances never broken count as unbroken, above every budget); `None` when fewer than half of them
    /// broke.
    pub median_breaking_budget: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::TrainStats;

    #[test]
    fn only_a_set_below_nine_tenths_of_its_request_is_noted() {
        let mut full = TrainStats::default();
        full.note_shrunk_sets((1000, 900), (100, 100));
        assert!(full.extra.is_empty() && full.shrunk_sets().is_none(), "90% is enough");
        let mut short = TrainStats::default();
        short.note_shrunk_sets((100_000, 19_512), (1000, 1000));
        let what = short.shrunk_sets().expect("shrunk");
        assert!(what.starts_with("training set 19512 of 100000 requested (19.5%)"), "{what}");
        assert!(!what.contains("validation set"), "{what}");
    }
}
