//! The adversarial experiment: small perturbations of level-0 inputs that leave the correct answer unchanged,
//! searched by gradient ascent on the input (FGSM and projected gradient steps), and how often they turn a
//! solver's answer wrong. The symbolic solver's row is the control.
//!
//! (in progress: the driver is being written)
use crate::error::Result;
use crate::solver::Solver;
use crate::task::Task;
use serde::{Deserialize, Serialize};

/// Gradient access to a trained network, for the adversarial experiment. Works on the encoded input features
/// (what the network reads: [`Task::encode_seq`] features or [`Task::encode_vec`]).
pub trait AttackSurface<T: Task>: Send + Sync {
    /// The features the network reads for `instance`.
    fn features(&self, task: &T, instance: &T::Instance) -> Option<Vec<f32>>;
    /// For each (instance, features) pair, the attack loss at `features` and its gradient with respect to them.
    fn loss_and_grad(&self, task: &T, instances: &[T::Instance], features: &[Vec<f32>]) -> Result<Vec<(f32, Vec<f32>)>>;
    /// The network's answer to each instance when it reads `features` instead of the instance's own encoding.
    fn answer_features(
        &self,
        task: &T,
        instances: &[T::Instance],
        features: &[Vec<f32>],
    ) -> Result<Vec<Option<T::Answer>>>;
}

/// Success under attack at one budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetResult {
    /// The budget, in [`AttackStats::budget_unit`] (e.g. a fraction of the largest answer-preserving radius).
    pub budget: f64,
    /// Instances still answered correctly after the one-step attack (FGSM).
    pub fgsm_successes: u64,
    /// Instances still answered correctly after the strongest attack tried at this budget (FGSM and PGD).
    pub successes: u64,
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
    /// Success under attack per budget, smallest first.
    pub budgets: Vec<BudgetResult>,
    /// Median over the attacked instances of the smallest budget that broke a correct answer (instances never
    /// broken count as unbroken, above every budget); `None` when fewer than half of them broke.
    pub median_breaking_budget: Option<f64>,
}
