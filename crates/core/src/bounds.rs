//! Upper bounds on every count and scale a user can give (profile fields, `--n`, `--seeds`), each with the
//! reason it exists.
//!
//! They are checked before any allocation or work, so that a huge number is an error that names the field, not an
//! abort on allocation, a panic on overflow or a run that never ends. Each bound lies far above anything the
//! built-in profiles use (the `full` profile: 400,000 training instances, 10 seeds, `train_scale` 4).

/// A bound on one count: at least `min`, at most `max`, and why the maximum is where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// The smallest value that can run.
    pub min: u64,
    /// The largest value accepted.
    pub max: u64,
    /// Why no larger value is accepted (memory it would need, work it would take).
    pub reason: &'static str,
}

impl Bound {
    /// `Ok` when `value` lies within the bound, otherwise what is wrong with it, for a message that starts with
    /// the field's name (`train_examples is 0: give at least 1`).
    pub fn check(&self, value: u64) -> Result<(), String> {
        if value < self.min {
            Err(format!("is {value}: give at least {}", self.min))
        } else if value > self.max {
            Err(format!("is {value}, above the largest accepted, {}: {}", self.max, self.reason))
        } else {
            Ok(())
        }
    }
}

/// A bound on one positive scale factor: finite, above 0, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleBound {
    /// The largest value accepted.
    pub max: f64,
    /// Why no larger value is accepted.
    pub reason: &'static str,
}

impl ScaleBound {
    /// `Ok` when `value` is finite, positive and at most the maximum, otherwise what is wrong with it.
    pub fn check(&self, value: f64) -> Result<(), String> {
        // 1e300 in full would be three hundred digits.
        let shown = if value.abs() >= 1e6 { format!("{value:e}") } else { format!("{value}") };
        if !(value.is_finite() && value > 0.0) {
            Err(format!("is {shown}: give a positive finite number"))
        } else if value > self.max {
            Err(format!("is {shown}, above the largest accepted, {}: {}", self.max, self.reason))
        } else {
            Ok(())
        }
    }
}

/// Training instances per seed (`train_examples`, each `train_examples_by_task` entry).
pub const TRAIN_EXAMPLES: Bound = Bound {
    min: 1,
    max: 10_000_000,
    reason: "training instances are drawn and held in memory before training starts (25 times the full profile's \
             400,000; up to tens of GB for the largest instances)",
};

/// Validation instances per seed (`val_examples`).
pub const VAL_EXAMPLES: Bound = Bound {
    min: 1,
    max: 1_000_000,
    reason: "validation instances are drawn and held in memory, and every learner evaluates all of them at each \
             validation (200 times the full profile's 5,000)",
};

/// Test instances per cell (`test_per_cell`, `datasets generate --n`).
pub const TEST_PER_CELL: Bound = Bound {
    min: 1,
    max: 100_000,
    reason: "every cell's test instances (about 50 cells per task) are held in memory and drawn without repeats \
             across the task, and every solver answers all of them (100 times the canonical 1,000)",
};

/// Instances per cell of `driftbench check --n`.
pub const CHECK_PER_CELL: Bound = Bound {
    min: 1,
    max: 10_000,
    reason: "the checks draw each cell several times and solve every level-0 instance with the hand-written \
             solver (50 times the default 200)",
};

/// Seeds of one run (a profile's `seeds`, `--seeds`).
pub const SEEDS: Bound = Bound {
    min: 1,
    max: 1_000,
    reason: "each seed is a whole training run of every learner of every task (100 times the full profile's 10)",
};

/// `train_scale`.
pub const TRAIN_SCALE: ScaleBound = ScaleBound {
    max: 100.0,
    reason: "every learner's optimisation steps are multiplied by it: at 100 the quick profile's networks train for \
             days (25 times the full profile's 4)",
};

/// `rl_scale`, and `rl_scale` × `train_scale`, which together multiply reinforcement learners' episodes.
pub const RL_SCALE: ScaleBound = ScaleBound {
    max: 100.0,
    reason: "reinforcement learners' episodes are multiplied by rl_scale × train_scale: at 100 one learner runs \
             for days (the full profile's product is 12)",
};

/// `max_epochs`.
pub const MAX_EPOCHS: ScaleBound = ScaleBound {
    max: 1_000_000.0,
    reason: "a cap on passes over the training set above a million passes caps nothing",
};

/// The first value of `values` that occurs twice, found in one pass (a million seeds take milliseconds).
pub fn first_repeat<T: std::hash::Hash + Eq>(values: &[T]) -> Option<&T> {
    let mut seen = std::collections::HashSet::with_capacity(values.len());
    values.iter().find(|v| !seen.insert(*v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_name_the_value_and_the_reason() {
        assert!(TRAIN_EXAMPLES.check(1).is_ok() && TRAIN_EXAMPLES.check(10_000_000).is_ok());
        assert_eq!(TRAIN_EXAMPLES.check(0).unwrap_err(), "is 0: give at least 1");
        let e = TRAIN_EXAMPLES.check(u64::MAX).unwrap_err();
        assert!(e.contains("18446744073709551615") && e.contains("held in memory"), "{e}");
        assert!(TRAIN_SCALE.check(1e300).unwrap_err().starts_with("is 1e300, above the largest accepted, 100"));
        assert!(TRAIN_SCALE.check(-1.0).unwrap_err().contains("positive"));
        assert!(TRAIN_SCALE.check(f64::NAN).is_err() && TRAIN_SCALE.check(0.0).is_err());
    }

    #[test]
    fn repeats_are_found_in_one_pass() {
        let many: Vec<u64> = (0..1_000_000).chain([999_999]).collect();
        assert_eq!(first_repeat(&many), Some(&999_999));
        assert_eq!(first_repeat(&many[..1_000_000]), None);
        assert_eq!(first_repeat::<u64>(&[]), None);
    }
}
