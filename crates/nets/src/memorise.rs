//! Memorisation baseline for permutation sequence tasks ([`SeqClassShape::permutation`]): the purest local
//! generaliser. It stores every training list with its answer pattern (the output slot of each position) and
//! answers a new list with the pattern of the nearest stored list of the same length (Euclidean distance between
//! the feature sequences, position by position), applied to the new list. A length it never saw gets no answer.
use crate::error::NetError;
use driftbench_core::solver::{Attempt, Representable};
use driftbench_core::task::assign_slots;
use driftbench_core::SeqTask;
use driftbench_core::{
    Learner, Profile, SeqClassShape, SeqExample, SolveInfo, Solver, SolverKind, TrainData, TrainStats,
};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};

/// The memorisation learner (`nearest-list` on the command line).
#[derive(Debug, Clone, Copy, Default)]
pub struct NearestList;

/// Stored lists of one length.
#[derive(Default)]
struct Bucket {
    /// Row-major features of every stored list of this length.
    features: Vec<f32>,
    /// Each stored list's slots.
    slots: Vec<Vec<usize>>,
    /// The distinct slot patterns, for the representability check.
    patterns: HashSet<Vec<usize>>,
}

struct NearestListSolver {
    buckets: BTreeMap<usize, Bucket>,
    shape: SeqClassShape,
}

impl NearestListSolver {
    /// The answer pattern of the nearest stored list of the same length.
    fn nearest(&self, ex: &SeqExample) -> Option<&[usize]> {
        let bucket = self.buckets.get(&ex.len())?;
        let width = ex.features.len();
        let (mut best, mut at) = (f32::INFINITY, 0);
        for (i, row) in bucket.features.chunks_exact(width.max(1)).enumerate() {
            let d: f32 = row.iter().zip(&ex.features).map(|(a, b)| (a - b) * (a - b)).sum();
            if d < best {
                (best, at) = (d, i);
            }
        }
        bucket.slots.get(at).map(Vec::as_slice)
    }

    fn answer<T: SeqTask>(&self, task: &T, inst: &T::Instance) -> Option<T::Answer> {
        let ex = task.encode_seq(inst)?;
        let scores = crate::pointer::slot_scores(self.nearest(&ex)?, self.shape.classes)?;
        task.decode_seq(inst, &scores)
    }
}

impl<T: SeqTask> Solver<T> for NearestListSolver {
    fn solve_batch(&self, task: &T, instances: &[T::Instance]) -> driftbench_core::Result<Vec<Attempt<T::Answer>>> {
        Ok(instances
            .par_iter()
            .map(|inst| Attempt { answer: self.answer(task, inst), info: SolveInfo::default() })
            .collect())
    }

    /// Expressible (and, for a lookup, supervised) when some stored list of the same length has an answer pattern
    /// that the instance's targets accept.
    fn representable(&self, task: &T, instance: &T::Instance) -> Option<Representable> {
        let expressible = task.encode_seq(instance).is_some_and(|ex| {
            self.buckets.get(&ex.len()).is_some_and(|b| {
                b.patterns
                    .iter()
                    .any(|pat| pat.iter().zip(&ex.targets).all(|(&k, &(lo, hi))| (lo..=hi).contains(&(k as u32))))
            })
        });
        Some(Representable::new(expressible, expressible))
    }
}

impl<T: SeqTask> Learner<T> for NearestList {
    fn name(&self) -> &'static str {
        "nearest-list"
    }
    fn kind(&self) -> SolverKind {
        SolverKind::Baseline
    }
    fn description(&self) -> String {
        "memorisation: the answer pattern of the nearest training list of the same length".into()
    }
    fn config(&self, _task: &T, _profile: &Profile) -> serde_json::Value {
        serde_json::json!({ "distance": "euclidean over the feature sequence", "same_length": true })
    }
    fn train(
        &self,
        task: &T,
        data: &TrainData<T>,
        _profile: &Profile,
        _seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<(Box<dyn Solver<T>>, TrainStats)> {
        let err = |e: NetError| crate::error::training_error(task.id(), "nearest-list", e);
        let shape = match task.seq_shape() {
            s if s.permutation => s,
            other => return Err(err(NetError::Encoding(format!("{other:?} is not a permutation encoding")))),
        };
        let mut buckets: BTreeMap<usize, Bucket> = BTreeMap::new();
        for inst in &data.train {
            let ex = task.encode_seq(inst).ok_or_else(|| err(NetError::Encoding("no encoding".into())))?;
            let slots = assign_slots(&ex.targets)
                .ok_or_else(|| err(NetError::Encoding("targets admit no permutation".into())))?;
            let b = buckets.entry(ex.len()).or_default();
            b.features.extend(&ex.features);
            b.patterns.insert(slots.clone());
            b.slots.push(slots);
        }
        progress(1.0);
        let solver = NearestListSolver { buckets, shape };
        // Validation: exact matches on the held-out level-0 lists, as for the networks.
        let answers = Solver::<T>::solve_batch(&solver, task, &data.val)?;
        let exact = data
            .val
            .iter()
            .zip(&answers)
            .filter(|(i, a)| a.answer.as_ref().is_some_and(|a| task.score(i, a).success))
            .count();
        let stats = TrainStats {
            examples: data.train.len() as u64,
            examples_seen: data.train.len() as u64,
            val_exact: Some(exact as f64 / data.val.len().max(1) as f64),
            ..Default::default()
        };
        Ok((Box::new(solver), stats))
    }
}
