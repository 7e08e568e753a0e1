//! `sorting-v2`: sort a list of integers, with every drift axis moving one factor of the lists and placed by its
//! distance from the training distribution (see `docs/tasks/sorting-v2.md`).
//!
//! The instances, scorer, hand-written solver, network encoding and attack are those of `sorting-v1`
//! ([`super::Sorting`]); only the generator differs. Every list is drawn in three independent steps, so that an
//! axis can move one factor and hold the others:
//! - **length** n, uniform in the cell's length range (training 2-8);
//! - **values**: a share [`TIE_SHARE`] of the elements are tied (their value occurs more than once in the list) in
//!   expectation at every length, and the distinct values are drawn without replacement from a window of
//!   [`WINDOW`] consecutive integers starting at the cell's offset (training 0-99);
//! - **order**: uniformly random in training; on the `arrangement` axis a Mallows permutation of the sorted list
//!   whose expected Kendall tau (against sorted order) is the level's target at every length.
//!
//! ```
//! use driftbench_core::{Task, Cell, rng};
//! use driftbench_tasks::SortingV2;
//! let task = SortingV2;
//! let inst = task.generate(Cell::IN_DIST, &mut rng::stream(1, task.id(), "doc"));
//! let (answer, _) = task.solve_symbolic(&inst);
//! assert!(task.score(&inst, &answer).success);
//! ```
use super::{SortInstance, Sorting};
use driftbench_core::{
    AttackTask, AxisSpec, Cell, Feature, Outcome, Placement, SeqClassShape, SeqExample, SeqTask, SolveInfo, Spread,
    Task,
};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::ops::RangeInclusive;

/// Expected share of a list's elements that are tied with another element, at every length and level.
pub const TIE_SHARE: f64 = 0.2;
/// Width of the window the distinct values are drawn from (training: 0..=99).
pub const WINDOW: usize = 100;

/// Lengths of the training lists (level 0), also those of the `values` and `arrangement` axes.
const TRAIN_LEN: RangeInclusive<usize> = 2..=8;
/// Lengths of the `length` axis's levels 1..=4 (those of `sorting-v1`).
const LENGTHS: [RangeInclusive<usize>; 4] = [9..=12, 13..=16, 17..=24, 25..=32];
/// Offsets of the value window on the `values` axis's levels 1..=4 (training: 0).
const OFFSETS: [i64; 4] = [75, 200, 1_000, 10_000];
/// Target Kendall tau against sorted order on the `arrangement` axis's levels 1..=4 (training: 0, random order).
const TAUS: [f64; 4] = [0.4, 0.6, 0.8, 1.0];

/// The sorting task, second version: one factor per drift axis (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct SortingV2;

static AXES: [AxisSpec; 3] = [
    AxisSpec {
        name: "length",
        description: "list length; values 0-99, 20% of elements tied, random order as in training",
        levels: [
            "training: length 2-8, values 0-99, 20% tied, random order",
            "length 9-12 (0.42×range)",
            "length 13-16 (1.1×range)",
            "length 17-24 (2.1×range)",
            "length 25-32 (3.4×range; 4x the longest training list)",
        ],
    },
    AxisSpec {
        name: "values",
        description: "magnitude: the 100-wide value window shifted up; length, ties, gaps and order as in training",
        levels: [
            "training: length 2-8, values 0-99, 20% tied, random order",
            "values 75-174 (0.29×range)",
            "values 200-299 (1.6×range)",
            "values 1000-1099 (10×range)",
            "values 10000-10099 (104×range)",
        ],
    },
    AxisSpec {
        name: "arrangement",
        description: "sortedness (Kendall tau against sorted order); length, values and ties as in training",
        levels: [
            "training: length 2-8, values 0-99, 20% tied, random order",
            "tau 0.4: leaning ascending (0.73σ)",
            "tau 0.6 (1.1σ)",
            "tau 0.8: nearly sorted (1.4σ)",
            "tau 1: sorted (1.8σ)",
        ],
    },
];

/// The features `driftbench check` measures ([`SortingV2::measure`] gives them in this order). Each tolerance is
/// 3.5 to 4.5 standard errors of the difference between two cells' means over the check's 1,000 instances (level-0
/// standard deviations: length 2.0, tie share 0.26, lists with a tie 0.50, magnitude 15.8, sortedness 0.55, gap
/// 13.4): an axis that moves a feature by more is confounded, not unlucky.
static FEATURES: [Feature; 6] = [
    Feature { name: "length", description: "number of elements", tolerance: 0.35 },
    Feature {
        name: "tie share",
        description: "share of the elements whose value occurs more than once in the list",
        tolerance: 0.04,
    },
    Feature {
        name: "lists with a tie",
        description: "1 when some value occurs more than once (its mean: the share of such lists)",
        tolerance: 0.08,
    },
    Feature { name: "magnitude", description: "mean absolute value of the elements", tolerance: 3.0 },
    Feature {
        name: "sortedness",
        description: "Kendall tau between input order and sorted order, over pairs of distinct values (0 without one)",
        tolerance: 0.09,
    },
    Feature {
        name: "gap",
        description:
            "mean gap between neighbouring distinct values, (max - min) / (distinct values - 1); 0 without two",
        tolerance: 2.5,
    },
];

/// Where each axis lies ([`AXES`] order). Distances as `driftbench check` measures them over 1,000 instances per
/// cell (level 0's length spans 2-8; its magnitude 2.5-98 in that sample, a width of 95.5; the sd of its sortedness is
/// 0.54).
static PLACEMENTS: [Placement; 3] = [
    Placement {
        factor: "length",
        unit: Spread::Range,
        training: (2.0, 8.0),
        distance: [0.42, 1.08, 2.08, 3.42],
        // At a constant tie share a longer list holds a tie more often, and more values in the same window sit
        // closer together: both follow from the length with everything else held.
        also_moves: &["lists with a tie", "gap"],
    },
    Placement {
        factor: "magnitude",
        unit: Spread::Range,
        training: (0.0, 99.0),
        distance: [0.29, 1.6, 10.0, 104.0],
        also_moves: &[],
    },
    Placement {
        factor: "sortedness",
        unit: Spread::Sigma,
        training: (-1.0, 1.0),
        distance: [0.73, 1.09, 1.44, 1.78],
        also_moves: &[],
    },
];

/// What a cell draws: a length range, the value window's offset and the order (`None`: uniformly random).
struct Spec {
    len: RangeInclusive<usize>,
    offset: i64,
    tau: Option<f64>,
}

fn spec(cell: Cell) -> Spec {
    let train = Spec { len: TRAIN_LEN, offset: 0, tau: None };
    match (cell.axis, cell.level) {
        (None, _) | (_, 0) => train,
        (Some(0), l) => Spec { len: LENGTHS[l as usize - 1].clone(), ..train },
        (Some(1), l) => Spec { offset: OFFSETS[l as usize - 1], ..train },
        (Some(_), l) => Spec { tau: Some(TAUS[l as usize - 1]), ..train },
    }
}

/// How many of `n` elements are tied: each element with probability [`TIE_SHARE`], except that a single tied
/// element (which cannot be) becomes none or two with equal odds, so the expected count stays `TIE_SHARE × n`.
fn tied_count(rng: &mut ChaCha8Rng, n: usize) -> usize {
    match (0..n).filter(|_| rng.random_bool(TIE_SHARE)).count() {
        1 if n >= 2 => {
            if rng.random_bool(0.5) {
                2
            } else {
                0
            }
        }
        1 => 0,
        d => d,
    }
}

/// `n` values with [`tied_count`] of them tied (in pairs, the last group a triple when the count is odd), the
/// distinct values drawn without replacement from `offset..offset + WINDOW`; in ascending order.
fn sorted_values(rng: &mut ChaCha8Rng, n: usize, offset: i64) -> Vec<i64> {
    let tied = tied_count(rng, n);
    let groups = tied / 2;
    let distinct = n - tied + groups;
    let picks = rand::seq::index::sample(rng, WINDOW, distinct);
    let mut values = Vec::with_capacity(n);
    for (g, i) in picks.iter().enumerate() {
        let copies = match g {
            _ if g + 1 == groups && tied % 2 == 1 => 3,
            _ if g < groups => 2,
            _ => 1,
        };
        values.extend(std::iter::repeat_n(offset + i as i64, copies));
    }
    values.sort_unstable();
    values
}

/// Expected number of inversions of a Mallows permutation of `n` items with dispersion `q` (0: sorted; 1:
/// uniform): item i (in sorted order) precedes v of the i items before it with probability ∝ qᵛ.
pub fn mallows_expected_inversions(n: usize, q: f64) -> f64 {
    (1..n)
        .map(|i| {
            let (mut num, mut den, mut w) = (0.0, 0.0, 1.0);
            for v in 0..=i {
                num += v as f64 * w;
                den += w;
                w *= q;
            }
            num / den
        })
        .sum()
}

/// The Mallows dispersion at which a permutation of `n` distinct items has expected Kendall tau `tau` against
/// sorted order (tau = 1 − 4·inversions / (n(n − 1))), by bisection; `tau` in [0, 1].
pub fn mallows_dispersion(n: usize, tau: f64) -> f64 {
    if n < 2 || tau >= 1.0 {
        return 0.0;
    }
    let want = (1.0 - tau.max(0.0)) * (n * (n - 1)) as f64 / 4.0;
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if mallows_expected_inversions(n, mid) < want {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// A Mallows permutation of `0..n` with dispersion `q`, by repeated insertion: item i goes in front of v of the
/// items already placed, v drawn with probability ∝ qᵛ.
fn mallows_order(rng: &mut ChaCha8Rng, n: usize, q: f64) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for i in 0..n {
        let weights: Vec<f64> = std::iter::successors(Some(1.0f64), |w| Some(w * q)).take(i + 1).collect();
        let mut u = rng.random::<f64>() * weights.iter().sum::<f64>();
        let mut v = 0;
        while v < i && u >= weights[v] {
            u -= weights[v];
            v += 1;
        }
        order.insert(order.len() - v, i);
    }
    order
}

/// Share of the elements whose value occurs more than once in `values` (0 for the empty list).
pub fn tie_share(values: &[i64]) -> f64 {
    let tied = values.iter().filter(|&&v| values.iter().filter(|&&w| w == v).count() > 1).count();
    tied as f64 / values.len().max(1) as f64
}

/// Kendall tau between the order of `values` and sorted order, over the pairs of distinct values: (pairs in
/// order − pairs out of order) / such pairs; 0 when there is no such pair.
pub fn sortedness(values: &[i64]) -> f64 {
    let (mut concordant, mut discordant) = (0i64, 0i64);
    for (i, a) in values.iter().enumerate() {
        for b in &values[i + 1..] {
            match a.cmp(b) {
                std::cmp::Ordering::Less => concordant += 1,
                std::cmp::Ordering::Greater => discordant += 1,
                std::cmp::Ordering::Equal => {}
            }
        }
    }
    let pairs = concordant + discordant;
    if pairs == 0 {
        0.0
    } else {
        (concordant - discordant) as f64 / pairs as f64
    }
}

/// Mean gap between neighbouring distinct values: (max − min) / (distinct values − 1); 0 with fewer than two.
pub fn mean_gap(values: &[i64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    match (v.first(), v.last()) {
        (Some(lo), Some(hi)) if v.len() > 1 => (*hi as f64 - *lo as f64) / (v.len() - 1) as f64,
        _ => 0.0,
    }
}

impl Task for SortingV2 {
    type Instance = SortInstance;
    type Answer = Vec<i64>;

    fn id(&self) -> &'static str {
        "sorting-v2"
    }

    fn description(&self) -> &'static str {
        "sort a list of integers into non-decreasing order (one factor per drift axis)"
    }

    fn axes(&self) -> &'static [AxisSpec] {
        &AXES
    }

    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> SortInstance {
        let s = spec(cell);
        let n = rng.random_range(s.len);
        let mut values = sorted_values(rng, n, s.offset);
        match s.tau {
            None => values.shuffle(rng),
            Some(tau) => {
                let order = mallows_order(rng, n, mallows_dispersion(n, tau));
                values = order.iter().map(|&i| values[i]).collect();
            }
        }
        SortInstance { values }
    }

    fn validate(&self, inst: &SortInstance) -> Result<(), String> {
        Sorting.validate(inst)
    }

    fn limits(&self) -> &'static str {
        Sorting.limits()
    }

    fn score(&self, inst: &SortInstance, answer: &Vec<i64>) -> Outcome {
        Sorting.score(inst, answer)
    }

    /// Success is exact match (the whole list right), which tightens with the length; the per-position accuracy
    /// (share of output slots holding the right value) is the criterion comparable across lengths.
    fn metric_name(&self) -> &'static str {
        Sorting.metric_name()
    }

    fn work_name(&self) -> &'static str {
        Sorting.work_name()
    }

    fn solve_symbolic(&self, inst: &SortInstance) -> (Vec<i64>, SolveInfo) {
        Sorting.solve_symbolic(inst)
    }

    fn symbolic_description(&self) -> &'static str {
        Sorting.symbolic_description()
    }

    fn symbolic_observes(&self) -> &'static str {
        "the whole list, as exact integers"
    }

    fn placements(&self) -> &'static [Placement] {
        &PLACEMENTS
    }

    fn features(&self) -> &'static [Feature] {
        &FEATURES
    }

    fn measure(&self, inst: &SortInstance) -> Vec<f64> {
        let v = &inst.values;
        let ties = tie_share(v);
        let magnitude = v.iter().map(|x| x.unsigned_abs() as f64).sum::<f64>() / v.len().max(1) as f64;
        vec![v.len() as f64, ties, f64::from(u8::from(ties > 0.0)), magnitude, sortedness(v), mean_gap(v)]
    }
}

/// The encoding of `sorting-v1` ([`Sorting`]'s): one feature per element (value / 100), rank classes.
impl SeqTask for SortingV2 {
    fn seq_shape(&self) -> SeqClassShape {
        Sorting.seq_shape()
    }
    fn seq_class_name(&self) -> &'static str {
        Sorting.seq_class_name()
    }
    fn encode_seq(&self, inst: &SortInstance) -> Option<SeqExample> {
        Sorting.encode_seq(inst)
    }
    fn decode_seq(&self, inst: &SortInstance, scores: &[f32]) -> Option<Vec<i64>> {
        Sorting.decode_seq(inst, scores)
    }
}

/// The attack of `sorting-v1` ([`Sorting`]'s): every value moved by under half the smallest gap.
impl AttackTask for SortingV2 {
    fn attack_radius(&self, inst: &SortInstance) -> Option<Vec<f32>> {
        Sorting.attack_radius(inst)
    }
    fn attack_unit(&self) -> &'static str {
        Sorting.attack_unit()
    }
    fn attacked_instance(&self, inst: &SortInstance, features: &[f32]) -> Option<SortInstance> {
        Sorting.attacked_instance(inst, features)
    }
}

#[cfg(test)]
mod tests;
