//! One driftbench task kept outside the driftbench repository: the prefix parities of a bit list, a per-position
//! sequence task that is no permutation. Replace it with yours; `entry` is its registry line.
pub mod network;

use driftbench::Entry;
use driftbench_core::bench::DynTask;
use driftbench_core::{AxisSpec, Cell, Outcome, SeqClassShape, SeqExample, SeqTask, SolveInfo, Task};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The longest list any level generates.
const MAX_LEN: usize = 24;

/// A list of bits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bits {
    /// Each 0 or 1.
    pub bits: Vec<u8>,
}

/// The parity of every prefix of a bit list.
pub struct PrefixParity;

static AXES: [AxisSpec; 1] = [AxisSpec {
    name: "length",
    description: "list length",
    levels: ["training: length 2-12", "length 13-14", "length 15-16", "length 17-20", "length 21-24"],
}];

impl PrefixParity {
    fn lengths(cell: Cell) -> std::ops::RangeInclusive<usize> {
        match cell.level {
            0 => 2..=12,
            1 => 13..=14,
            2 => 15..=16,
            3 => 17..=20,
            _ => 21..=24,
        }
    }
}

impl Task for PrefixParity {
    type Instance = Bits;
    type Answer = Vec<u8>;

    fn id(&self) -> &'static str {
        "prefix-parity-v1"
    }
    fn description(&self) -> &'static str {
        "the parity of every prefix of a bit list"
    }
    fn axes(&self) -> &'static [AxisSpec] {
        &AXES
    }
    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> Bits {
        let n = rng.random_range(Self::lengths(cell));
        Bits { bits: (0..n).map(|_| rng.random_range(0..2)).collect() }
    }
    fn validate(&self, b: &Bits) -> Result<(), String> {
        let n = b.bits.len();
        if n == 0 || n > MAX_LEN {
            return Err(format!("bits: length {n} is outside 1..={MAX_LEN}"));
        }
        match b.bits.iter().find(|&&x| x > 1) {
            Some(x) => Err(format!("bits: {x} is no bit")),
            None => Ok(()),
        }
    }
    fn score(&self, b: &Bits, a: &Vec<u8>) -> Outcome {
        let want = self.solve_symbolic(b).0;
        let right = want.iter().zip(a).filter(|(x, y)| x == y).count();
        Outcome::new(*a == want, right as f64 / want.len().max(1) as f64)
    }
    fn metric_name(&self) -> &'static str {
        "per-position accuracy"
    }
    fn solve_symbolic(&self, b: &Bits) -> (Vec<u8>, SolveInfo) {
        let prefix = b.bits.iter().scan(0u8, |p, &x| {
            *p ^= x;
            Some(*p)
        });
        (prefix.collect(), SolveInfo { work: b.bits.len() as u64 })
    }
    fn symbolic_description(&self) -> &'static str {
        "a running exclusive or"
    }
    // Level 0 holds 8,188 lists and its test set takes 1,000: validation keeps to 500 so that training (which
    // skips test and validation lists) still finds enough (`driftbench check` reports the numbers).
    fn val_examples_by_profile(&self) -> &'static [(&'static str, usize)] {
        &[("quick", 500), ("full", 500)]
    }
    fn instance_space(&self, cell: Cell) -> Option<u128> {
        Some(Self::lengths(cell).map(|n| 1u128 << n).sum())
    }
}

impl SeqTask for PrefixParity {
    fn seq_shape(&self) -> SeqClassShape {
        // A prefix's parity depends on where a bit sits, and equal classes repeat: no permutation.
        SeqClassShape { features: 1, classes: 2, max_len: MAX_LEN, positional: true, permutation: false }
    }
    fn encode_seq(&self, b: &Bits) -> Option<SeqExample> {
        let targets = self.solve_symbolic(b).0.iter().map(|&p| (u32::from(p), u32::from(p))).collect();
        Some(SeqExample { features: b.bits.iter().map(|&x| f32::from(x)).collect(), targets })
    }
    fn decode_seq(&self, b: &Bits, scores: &[f32]) -> Option<Vec<u8>> {
        if scores.len() != b.bits.len() * 2 {
            return None;
        }
        Some(scores.chunks(2).map(|row| u8::from(row[1] > row[0])).collect())
    }
}

/// The task's registry line: its learning shape brings the sequence networks, and `learners` adds this crate's
/// own network family ([`network`]).
pub fn entry() -> Box<dyn DynTask> {
    Entry::new(PrefixParity).seq().learners(vec![Box::new(network::learner())]).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_passes_the_registry_wide_self_check() {
        entry().self_check(1, 100).unwrap();
    }
}
