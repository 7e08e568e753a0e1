//! `sorting-v1`: sort a list of integers.
//!
//! Training lists have 2..=8 elements drawn uniformly from 0..=99, so 11% hold a duplicate in expectation (from
//! 1% of 2-element lists to 25% of 8-element ones). The drift axes stretch the length up to 4× the longest
//! training list, the magnitude and sign of the values, and the arrangement of the list. The symbolic solver is a
//! bottom-up merge sort. Networks see one feature per element (its value / 100, as an `f32`) and predict each
//! element's rank; the answer is read off the rank scores without any call to a sort.
//!
//! `sorting-v2` ([`v2`], [`SortingV2`]) shares all of this but the generator: its drift axes move one factor each.
//!
//! A valid list holds 1..=[`MAX_LEN`] values of magnitude at most [`MAX_ABS`] (10⁷): up to there the network
//! feature keeps every two distinct values distinct (at 10⁹, 10⁹ − 1 and 10⁹ would encode to the same `f32`).
//!
//! ```
//! use driftbench_core::{Task, Cell, rng};
//! use driftbench_tasks::Sorting;
//! let task = Sorting;
//! let inst = task.generate(Cell::IN_DIST, &mut rng::stream(1, task.id(), "doc"));
//! let (answer, _) = task.solve_symbolic(&inst);
//! assert!(task.score(&inst, &answer).success);
//! ```
use driftbench_core::{AttackTask, AxisSpec, Cell, Outcome, SeqClassShape, SeqExample, SeqTask, SolveInfo, Task};
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;

pub mod v2;
pub use v2::SortingV2;

/// A sorting task of any version: a list in, the sorted list out. The program search and the baselines take any.
pub trait SortingTask: Task<Instance = SortInstance, Answer = Vec<i64>> {}
impl<T: Task<Instance = SortInstance, Answer = Vec<i64>>> SortingTask for T {}

/// Longest list at any level; padded networks are this wide and rank classes run 0..MAX_LEN.
pub const MAX_LEN: usize = 32;
/// Largest magnitude a valid instance may hold: the largest power of ten at which the network feature v/100 as
/// an `f32` is still injective on the integers (`f32` holds every integer up to 2²⁴ exactly, and below 2¹⁷ the
/// spacing of `f32` values is under 0.01, so v/100 keeps neighbours apart up to 13,107,200).
pub const MAX_ABS: i64 = 10_000_000;
/// Scale of the network feature: training values 0..=99 map to [0, 0.99].
const FEATURE_SCALE: f32 = 100.0;

const TRAIN_LEN: RangeInclusive<usize> = 2..=8;
const TRAIN_VALUES: RangeInclusive<i64> = 0..=99;

/// A list to sort.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortInstance {
    /// The values, in input order.
    pub values: Vec<i64>,
}

/// The sorting task.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sorting;

static AXES: [AxisSpec; 3] = [
    AxisSpec {
        name: "length",
        description: "list length, values as in training",
        levels: [
            "training: length 2-8, values 0-99",
            "length 9-12",
            "length 13-16",
            "length 17-24",
            "length 25-32 (4x the longest training list)",
        ],
    },
    AxisSpec {
        name: "values",
        description: "magnitude and sign of the values, length as in training",
        levels: [
            "training: length 2-8, values 0-99",
            "values 0-999",
            "values -99-99 (negatives)",
            "values -999-999",
            "values -99999-99999",
        ],
    },
    AxisSpec {
        name: "arrangement",
        description: "structure of the list (length 4-8, values 0-99), ordered by how unlikely it is in training",
        levels: [
            "training: length 2-8, values 0-99",
            "nearly sorted: ascending with one adjacent swap",
            "descending",
            "many duplicates: at most 3 distinct values",
            "crowded: all values within a window of 3 (c, c+1, c+2)",
        ],
    },
];

/// Bottom-up merge sort, counting comparisons. Stable.
pub fn merge_sort(values: &[i64]) -> (Vec<i64>, u64) {
    let n = values.len();
    let mut src = values.to_vec();
    let mut dst = vec![0; n];
    let mut comparisons = 0u64;
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j, mut k) = (start, mid, start);
            while i < mid && j < end {
                comparisons += 1;
                // `<=` keeps equal elements in input order (stability).
                if src[i] <= src[j] {
                    dst[k] = src[i];
                    i += 1;
                } else {
                    dst[k] = src[j];
                    j += 1;
                }
                k += 1;
            }
            dst[k..k + (mid - i)].copy_from_slice(&src[i..mid]);
            k += mid - i;
            dst[k..k + (end - j)].copy_from_slice(&src[j..end]);
            start = end;
        }
        std::mem::swap(&mut src, &mut dst);
        width *= 2;
    }
    (src, comparisons)
}

/// For each element, the inclusive range of ranks it may take in the sorted list (a range when it has equals).
pub fn rank_ranges(values: &[i64]) -> Vec<(u32, u32)> {
    values
        .iter()
        .map(|&v| {
            let less = values.iter().filter(|&&w| w < v).count() as u32;
            let equal = values.iter().filter(|&&w| w == v).count() as u32;
            (less, less + equal - 1)
        })
        .collect()
}

fn uniform_list(rng: &mut ChaCha8Rng, len: RangeInclusive<usize>, values: RangeInclusive<i64>) -> Vec<i64> {
    let n = rng.random_range(len);
    (0..n).map(|_| rng.random_range(values.clone())).collect()
}

impl Task for Sorting {
    type Instance = SortInstance;
    type Answer = Vec<i64>;

    fn id(&self) -> &'static str {
        "sorting-v1"
    }

    fn description(&self) -> &'static str {
        "sort a list of integers into non-decreasing order"
    }

    fn axes(&self) -> &'static [AxisSpec] {
        &AXES
    }

    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> SortInstance {
        let values = match (cell.axis, cell.level) {
            (None, _) | (_, 0) => uniform_list(rng, TRAIN_LEN, TRAIN_VALUES),
            (Some(0), level) => {
                let len = [9..=12, 13..=16, 17..=24, 25..=32][level as usize - 1].clone();
                uniform_list(rng, len, TRAIN_VALUES)
            }
            (Some(1), level) => {
                let range = [0..=999, -99..=99, -999..=999, -99_999..=99_999][level as usize - 1].clone();
                uniform_list(rng, TRAIN_LEN, range)
            }
            (Some(_), level) => {
                let n = rng.random_range(4..=8);
                match level {
                    1 | 2 => {
                        let mut v: Vec<i64> = (0..n).map(|_| rng.random_range(TRAIN_VALUES)).collect();
                        v.sort_unstable();
                        if level == 1 {
                            // Swap one adjacent pair of distinct values so the list is not already sorted.
                            let candidates: Vec<usize> = (0..n - 1).filter(|&i| v[i] != v[i + 1]).collect();
                            if let Some(&i) = candidates.choose(rng) {
                                v.swap(i, i + 1);
                            }
                        } else {
                            v.reverse();
                        }
                        v
                    }
                    3 => {
                        let pool: Vec<i64> = (0..3).map(|_| rng.random_range(TRAIN_VALUES)).collect();
                        (0..n).map(|_| *pool.choose(rng).expect("pool is not empty")).collect()
                    }
                    _ => {
                        let c = rng.random_range(0..=97);
                        (0..n).map(|_| c + rng.random_range(0..=2)).collect()
                    }
                }
            }
        };
        SortInstance { values }
    }

    fn validate(&self, inst: &SortInstance) -> Result<(), String> {
        let n = inst.values.len();
        if n == 0 || n > MAX_LEN {
            return Err(format!("values: length {n} is outside 1..={MAX_LEN}"));
        }
        // A range test, not `v.abs()`: |i64::MIN| does not fit an i64.
        if let Some(v) = inst.values.iter().find(|v| !(-MAX_ABS..=MAX_ABS).contains(*v)) {
            return Err(format!(
                "values: {v} is outside -{MAX_ABS}..={MAX_ABS} (beyond it the network feature v/100 as f32 merges \
                 neighbouring values)"
            ));
        }
        Ok(())
    }

    fn limits(&self) -> &'static str {
        "1-32 values, each within -10^7..=10^7 (the network feature v/100 as f32 keeps neighbouring integers apart \
         only up to there)"
    }

    fn score(&self, inst: &SortInstance, answer: &Vec<i64>) -> Outcome {
        // The rule: the answer is in non-decreasing order and is a permutation of the input.
        let mut expected = inst.values.clone();
        expected.sort_unstable();
        let n = expected.len();
        let correct = (0..n).filter(|&i| answer.get(i) == Some(&expected[i])).count();
        // An empty answer to an empty list is all correct (not 0/0).
        let positions = n.max(answer.len());
        let metric = if positions == 0 { 1.0 } else { correct as f64 / positions as f64 };
        Outcome::new(*answer == expected, metric)
    }

    fn metric_name(&self) -> &'static str {
        "per-position accuracy"
    }

    fn work_name(&self) -> &'static str {
        "comparisons"
    }

    fn solve_symbolic(&self, inst: &SortInstance) -> (Vec<i64>, SolveInfo) {
        let (sorted, comparisons) = merge_sort(&inst.values);
        (sorted, SolveInfo { work: comparisons })
    }

    fn symbolic_description(&self) -> &'static str {
        "bottom-up merge sort"
    }
}

impl SeqTask for Sorting {
    fn seq_shape(&self) -> SeqClassShape {
        SeqClassShape { features: 1, classes: MAX_LEN, max_len: MAX_LEN, positional: false, permutation: true }
    }
    fn seq_class_name(&self) -> &'static str {
        "rank"
    }

    fn encode_seq(&self, inst: &SortInstance) -> Option<SeqExample> {
        Some(SeqExample {
            features: inst.values.iter().map(|&v| v as f32 / FEATURE_SCALE).collect(),
            targets: rank_ranges(&inst.values),
        })
    }

    /// Output slot r holds the input element whose predicted score for rank r is highest (a pointer read-out,
    /// column by column). Colliding or missing ranks show up as a wrong list, never as a silent repair. A list
    /// longer than [`MAX_LEN`] has ranks with no score column and an empty list has nothing to read: no answer.
    fn decode_seq(&self, inst: &SortInstance, scores: &[f32]) -> Option<Vec<i64>> {
        let n = inst.values.len();
        if n == 0 || n > MAX_LEN || scores.len() != n * MAX_LEN {
            return None;
        }
        (0..n)
            .map(|r| {
                let best = (0..n)
                    .max_by(|&a, &b| scores[a * MAX_LEN + r].total_cmp(&scores[b * MAX_LEN + r]).then(b.cmp(&a)))?;
                inst.values.get(best).copied()
            })
            .collect()
    }
}

impl AttackTask for Sorting {
    /// Every value may move by just under half the smallest gap between distinct values (× (1 − 10⁻³), in
    /// feature units), so that no two distinct values can change order and the sorted answer stays the same. A
    /// list without two distinct values has no gap; its values may move by just under half a unit, half the
    /// smallest gap integers can have (any move keeps such a list's answer).
    fn attack_radius(&self, inst: &SortInstance) -> Option<Vec<f32>> {
        let mut v = inst.values.clone();
        v.sort_unstable();
        v.dedup();
        let gap = v.windows(2).map(|w| (w[1] as i128 - w[0] as i128) as f64).fold(f64::INFINITY, f64::min);
        let half = if gap.is_finite() { gap / 2.0 } else { 0.5 };
        Some(vec![(half * (1.0 - 1e-3) / f64::from(FEATURE_SCALE)) as f32; inst.values.len()])
    }

    fn attack_unit(&self) -> &'static str {
        "half the smallest gap between distinct values (every value moved by up to budget x that, less 0.1%)"
    }

    /// The values are integers and a perturbation that keeps every pair of distinct values in order (as every
    /// move within [`AttackTask::attack_radius`] does) leaves the sorted answer unchanged, so the perturbed features
    /// describe the original instance; `None` when they swap two distinct values, are not finite, or do not have
    /// one feature per value.
    fn attacked_instance(&self, inst: &SortInstance, features: &[f32]) -> Option<SortInstance> {
        let v = &inst.values;
        if features.len() != v.len() || features.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let keeps_order = (0..v.len()).all(|i| (0..v.len()).all(|j| v[i] >= v[j] || features[i] < features[j]));
        keeps_order.then(|| inst.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inst(values: &[i64]) -> SortInstance {
        SortInstance { values: values.to_vec() }
    }

    proptest! {
        #[test]
        fn merge_sort_agrees_with_std(values in proptest::collection::vec(-1000i64..1000, 0..200)) {
            let mut expected = values.clone();
            expected.sort();
            prop_assert_eq!(merge_sort(&values).0, expected);
        }

        #[test]
        fn attack_radius_keeps_the_answer(
            values in proptest::collection::vec(-1000i64..1000, 1..MAX_LEN),
            signs in proptest::collection::vec(-1.0f32..=1.0, MAX_LEN),
        ) {
            let t = Sorting;
            let i = inst(&values);
            let r = t.attack_radius(&i).unwrap();
            let mut distinct = values.clone();
            distinct.sort_unstable();
            distinct.dedup();
            // Half the smallest gap, or half a unit when there is no gap.
            let half_gap = distinct.windows(2).map(|w| (w[1] - w[0]) as f64 / 2.0).reduce(f64::min).unwrap_or(0.5);
            prop_assert_eq!(r.len(), values.len());
            prop_assert!(r.iter().all(|&r| r > 0.0 && (r as f64) * (FEATURE_SCALE as f64) < half_gap), "{r:?}");
            // Any move within the radius (a corner when the drawn sign is ±1) describes the same instance.
            let x = t.encode_seq(&i).unwrap().features;
            let moved: Vec<f32> = x.iter().zip(&r).zip(&signs).map(|((x, r), s)| x + r * s).collect();
            let attacked = t.attacked_instance(&i, &moved);
            prop_assert_eq!(attacked.as_ref(), Some(&i));
            let (answer, _) = t.solve_symbolic(attacked.as_ref().unwrap());
            prop_assert!(t.score(&i, &answer).success);
        }

        #[test]
        fn merge_sort_comparisons_stay_within_n_log_n(values in proptest::collection::vec(any::<i64>(), 1..300)) {
            let n = values.len() as f64;
            prop_assert!(merge_sort(&values).1 as f64 <= n * n.log2().ceil());
        }
    }

    /// Any i64, with the edges of the type and of the valid range over-represented.
    fn any_value() -> impl Strategy<Value = i64> {
        prop_oneof![
            any::<i64>(),
            -100i64..100,
            (MAX_ABS - 2)..=(MAX_ABS + 2),
            (-MAX_ABS - 2)..=(-MAX_ABS + 2),
            Just(i64::MIN),
            Just(i64::MAX),
            -MAX_ABS..=MAX_ABS,
        ]
    }

    /// Any list: mostly lengths around the valid range, some up to 200.
    fn any_list() -> impl Strategy<Value = Vec<i64>> {
        prop_oneof![
            3 => proptest::collection::vec(any_value(), 0..=MAX_LEN + 1),
            1 => proptest::collection::vec(any_value(), 0..=200),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The contract over the whole instance type: an accepted list is sorted by the symbolic solver and scored
        /// with a finite metric, and decodes (from any scores) without panicking; a rejected one is rejected for
        /// its `values`.
        #[test]
        fn validate_accepts_exactly_what_the_solvers_answer(values in any_list(), score in -10.0f32..10.0) {
            let t = Sorting;
            let i = inst(&values);
            match t.validate(&i) {
                Ok(()) => {
                    prop_assert!(!values.is_empty() && values.len() <= MAX_LEN);
                    let (answer, _) = t.solve_symbolic(&i);
                    let o = t.score(&i, &answer);
                    prop_assert!(o.success && o.metric == 1.0, "{o:?}");
                    let ex = t.encode_seq(&i).unwrap();
                    prop_assert!(ex.features.iter().all(|x| x.is_finite()));
                    let decoded = t.decode_seq(&i, &vec![score; values.len() * MAX_LEN]);
                    prop_assert!(decoded.is_some_and(|a| t.score(&i, &a).metric.is_finite()));
                }
                Err(message) => {
                    prop_assert!(message.starts_with("values: "), "{message}");
                    prop_assert!(values.is_empty() || values.len() > MAX_LEN || values.iter().any(|v| v.unsigned_abs() > MAX_ABS as u64));
                    // Whatever the scores, decoding a list it cannot read gives no answer rather than a panic.
                    if values.is_empty() || values.len() > MAX_LEN {
                        prop_assert_eq!(t.decode_seq(&i, &vec![score; values.len() * MAX_LEN]), None);
                    }
                }
            }
            let (answer, _) = t.solve_symbolic(&i);
            prop_assert!(t.score(&i, &answer).metric.is_finite());
        }
    }

    /// Defect: ranks past the 32 score columns of a longer list read the next element's scores and then ran off
    /// the end of the slice (`index out of bounds: the len is 2048 but the index is 2048`).
    #[test]
    fn decoding_refuses_lists_longer_than_its_rank_columns() {
        let t = Sorting;
        for n in [MAX_LEN + 1, 64, 200] {
            let i = inst(&(0..n as i64).rev().collect::<Vec<_>>());
            assert_eq!(t.decode_seq(&i, &vec![0.0; n * MAX_LEN]), None, "length {n}");
        }
        assert_eq!(t.decode_seq(&inst(&[]), &[]), None);
        assert!(t.decode_seq(&inst(&[2; MAX_LEN]), &vec![0.0; MAX_LEN * MAX_LEN]).is_some());
    }

    /// Defect: `v.abs() > MAX_ABS` wrapped for `i64::MIN` in release builds (and panicked in debug builds), so
    /// the most negative i64 was accepted.
    #[test]
    fn validation_rejects_the_i64_extremes_for_their_values() {
        let t = Sorting;
        for v in [i64::MIN, i64::MIN + 1, i64::MAX, -MAX_ABS - 1, MAX_ABS + 1] {
            let e = t.validate(&inst(&[1, v])).unwrap_err();
            assert!(e.starts_with("values: ") && e.contains(&v.to_string()), "{e}");
        }
        assert!(t.validate(&inst(&[-MAX_ABS, MAX_ABS])).is_ok());
    }

    /// Defect: at the old limit of 10⁹ the feature v/100 as f32 merged neighbours (10⁹ − 1 and 10⁹), so a network
    /// could not tell them apart. Every accepted value must encode to its own feature, in order.
    #[test]
    fn network_feature_keeps_every_accepted_value_distinct() {
        let feature = |v: i64| Sorting.encode_seq(&inst(&[v])).unwrap().features[0];
        assert_eq!(feature(999_999_999), feature(1_000_000_000), "the old limit merged neighbours");
        // Strictly increasing over the whole accepted range (exhaustive: 2·10⁷ neighbours).
        let encode = |v: i64| v as f32 / FEATURE_SCALE;
        assert_eq!(encode(MAX_ABS), feature(MAX_ABS));
        let mut prev = encode(-MAX_ABS);
        for v in -MAX_ABS + 1..=MAX_ABS {
            let x = encode(v);
            assert!(x > prev, "{} and {v} encode to {prev} and {x}", v - 1);
            prev = x;
        }
    }

    /// Defect: scoring the empty answer to the empty list divided 0 by 0.
    #[test]
    fn scoring_the_empty_list_is_finite() {
        let o = Sorting.score(&inst(&[]), &vec![]);
        assert_eq!((o.success, o.metric), (true, 1.0));
        assert_eq!(Sorting.score(&inst(&[]), &vec![4]).metric, 0.0);
    }

    #[test]
    fn scorer_accepts_the_sorted_list_and_rejects_wrong_answers() {
        let t = Sorting;
        let i = inst(&[3, 1, 2, 1]);
        let table: &[(&[i64], bool, f64)] = &[
            (&[1, 1, 2, 3], true, 1.0),
            (&[1, 2, 3], false, 0.25),      // dropped a duplicate
            (&[1, 1, 3, 2], false, 0.5),    // not in order
            (&[1, 1, 2, 3, 3], false, 0.8), // extra element
            (&[1, 1, 2, 4], false, 0.75),   // not a permutation
            (&[3, 2, 1, 1], false, 0.0),    // descending
            (&[], false, 0.0),
        ];
        for (answer, ok, metric) in table {
            let o = t.score(&i, &answer.to_vec());
            assert_eq!(o.success, *ok, "{answer:?}");
            assert!((o.metric - metric).abs() < 1e-12, "{answer:?}: {}", o.metric);
        }
    }

    #[test]
    fn attacked_instance_refuses_moves_that_swap_values() {
        let t = Sorting;
        let i = inst(&[10, 11, 11, 50]);
        // Half the smallest gap (1) is 0.5 units, less 0.1%.
        assert!(t.attack_radius(&i).unwrap().iter().all(|&r| (r - 0.4995 / FEATURE_SCALE).abs() < 1e-7));
        assert_eq!(t.attack_radius(&inst(&[7, 7])), Some(vec![0.4995 / FEATURE_SCALE; 2]));
        // Equal values may trade places; distinct ones may not.
        assert!(t.attacked_instance(&i, &[0.10, 0.112, 0.108, 0.5]).is_some());
        assert!(t.attacked_instance(&i, &[0.1106, 0.1104, 0.11, 0.5]).is_none());
        assert!(t.attacked_instance(&i, &[0.1, 0.11, 0.11]).is_none());
        assert!(t.attacked_instance(&i, &[f32::NAN, 0.11, 0.11, 0.5]).is_none());
    }

    #[test]
    fn rank_ranges_cover_ties() {
        assert_eq!(rank_ranges(&[5, 1, 5, 0]), vec![(2, 3), (1, 1), (2, 3), (0, 0)]);
    }

    #[test]
    fn decoding_reads_ranks_column_by_column() {
        let t = Sorting;
        let i = inst(&[30, 10, 20]);
        let mut scores = vec![0f32; 3 * MAX_LEN];
        // element 0 -> rank 2, element 1 -> rank 0, element 2 -> rank 1
        scores[2] = 1.0;
        scores[MAX_LEN] = 1.0;
        scores[2 * MAX_LEN + 1] = 1.0;
        assert_eq!(t.decode_seq(&i, &scores), Some(vec![10, 20, 30]));
        // Two elements claiming rank 0 and none rank 1: the answer is wrong, not repaired.
        scores[2 * MAX_LEN + 1] = 0.0;
        scores[2 * MAX_LEN] = 0.9;
        let a = t.decode_seq(&i, &scores).unwrap();
        assert!(!t.score(&i, &a).success);
    }

    #[test]
    fn validation_rejects_bad_instances() {
        let t = Sorting;
        assert!(t.validate(&inst(&[])).is_err());
        assert!(t.validate(&inst(&[1; MAX_LEN + 1])).is_err());
        assert!(t.validate(&inst(&[MAX_ABS + 1])).is_err());
        assert!(t.validate(&inst(&[i64::MIN])).is_err());
        assert!(t.validate(&inst(&[-5, 7])).is_ok());
    }

    #[test]
    fn levels_have_the_stated_shapes() {
        let t = Sorting;
        let mut rng = driftbench_core::rng::stream(7, "test", "levels");
        for _ in 0..200 {
            let l4 = t.generate(Cell { axis: Some(0), level: 4 }, &mut rng).values;
            assert!((25..=32).contains(&l4.len()));
            let v4 = t.generate(Cell { axis: Some(1), level: 4 }, &mut rng).values;
            assert!(v4.iter().all(|v| v.abs() <= 99_999));
            let desc = t.generate(Cell { axis: Some(2), level: 2 }, &mut rng).values;
            assert!(desc.windows(2).all(|w| w[0] >= w[1]));
            let crowd = t.generate(Cell { axis: Some(2), level: 4 }, &mut rng).values;
            assert!(crowd.iter().max().unwrap() - crowd.iter().min().unwrap() <= 2);
        }
    }
}
