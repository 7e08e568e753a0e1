//! Run profiles: how much data, how many seeds and how much training a run gets.
use serde::{Deserialize, Serialize};

/// Budgets for one run of the suite. Recorded in every run record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `quick`, `full` or `tiny`.
    pub name: String,
    /// Training instances per seed.
    pub train_examples: usize,
    /// Per-task overrides of `train_examples` (task id -> count), for tasks whose instances are costly, such as
    /// whole episodes.
    #[serde(default)]
    pub train_examples_by_task: std::collections::BTreeMap<String, usize>,
    /// Validation instances per seed (in-distribution, held out).
    pub val_examples: usize,
    /// Test instances per cell when no canonical dataset is used.
    pub test_per_cell: usize,
    /// Seeds run by default.
    pub seeds: Vec<u64>,
    /// Multiplier on each network family's optimisation steps (1.0 = the family's `quick` budget).
    pub train_scale: f64,
    /// Cap on passes over the training set, set by the sample-efficiency experiment so that a small training set
    /// is not optimised for the full budget of steps (never below [`MIN_CAPPED_STEPS`]); `None`: the full budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_epochs: Option<f64>,
}

/// The fewest optimisation steps an epoch cap ([`Profile::max_epochs`]) leaves a learner.
pub const MIN_CAPPED_STEPS: u64 = 500;

impl Profile {
    /// The default: the whole suite on a 2-core machine in minutes, with honest in-distribution accuracy.
    pub fn quick() -> Self {
        Profile {
            name: "quick".into(),
            train_examples: 100_000,
            train_examples_by_task: [("navigation-v1".to_string(), 8_000)].into(),
            val_examples: 1_000,
            test_per_cell: 1_000,
            seeds: vec![1, 2, 3],
            train_scale: 1.0,
            max_epochs: None,
        }
    }

    /// The paper-grade run: more seeds, more data, longer training.
    pub fn full() -> Self {
        Profile {
            name: "full".into(),
            train_examples: 400_000,
            train_examples_by_task: [("navigation-v1".to_string(), 20_000)].into(),
            val_examples: 5_000,
            test_per_cell: 1_000,
            seeds: (1..=10).collect(),
            train_scale: 4.0,
            max_epochs: None,
        }
    }

    /// Tiny budgets for tests: everything runs, nothing is trained well.
    pub fn tiny() -> Self {
        Profile {
            name: "tiny".into(),
            train_examples: 300,
            train_examples_by_task: Default::default(),
            val_examples: 50,
            test_per_cell: 20,
            seeds: vec![1],
            train_scale: 0.01,
            max_epochs: None,
        }
    }

    /// Training instances per seed for `task`.
    pub fn train_examples_for(&self, task: &str) -> usize {
        self.train_examples_by_task.get(task).copied().unwrap_or(self.train_examples)
    }

    /// A learner's step budget under this profile: `steps` × `train_scale`, at least 1.
    pub fn scale_steps(&self, steps: u64) -> u64 {
        ((steps as f64 * self.train_scale).round() as u64).max(1)
    }

    /// A learner's step budget for `examples` training examples in mini-batches of `batch`: [`Self::scale_steps`],
    /// capped at [`Self::max_epochs`] passes over the data when the profile sets one.
    pub fn steps_for(&self, steps: u64, examples: usize, batch: usize) -> u64 {
        let full = self.scale_steps(steps);
        match self.max_epochs {
            Some(epochs) => {
                let capped = (epochs * examples as f64 / batch.max(1) as f64).ceil() as u64;
                full.min(capped.max(MIN_CAPPED_STEPS))
            }
            None => full,
        }
    }

    /// Looks a profile up by name.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "quick" => Some(Self::quick()),
            "full" => Some(Self::full()),
            "tiny" => Some(Self::tiny()),
            _ => None,
        }
    }
}
