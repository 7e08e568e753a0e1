//! Sealed tuning data: the only data a hyper-parameter search may see.
//!
//! A configuration chosen while looking at drift cells, or at the seeds the suite reports, is tuned on its own
//! test. Every tuning program (`examples/tune_*`) draws its data through [`tuning_data`], which hands out level-0
//! instances only, from streams of their own (`tune-train`, `tune-val`), and refuses any seed of a built-in
//! profile ([`suite_seeds`]). There is no way to ask it for a drift cell's instances.
use crate::axis::Cell;
use crate::profile::Profile;
use crate::rng::stream;
use crate::solver::TrainData;
use crate::task::Task;
use std::collections::BTreeSet;

/// Why tuning data were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TuningError {
    /// A drift cell was asked for: the test cells are sealed from tuning.
    #[error(
        "tuning sees level 0 only: {cell} is a drift cell, sealed from tuning (choose configurations on level-0 \
         validation data; the drift cells judge them afterwards)"
    )]
    SealedCell {
        /// The cell asked for.
        cell: String,
    },
    /// A seed the suite reports was asked for.
    #[error(
        "seed {seed} is one of the suite's seeds (profile `{profile}`): tuning on it would choose configurations on \
         the runs that are reported; use a seed outside {reserved}"
    )]
    SuiteSeed {
        /// The seed asked for.
        seed: u64,
        /// A built-in profile that uses it.
        profile: String,
        /// Every reserved seed, as a range or list.
        reserved: String,
    },
}

/// Every seed of every built-in profile: the runs the suite reports.
pub fn suite_seeds() -> BTreeSet<u64> {
    Profile::builtin().into_iter().flat_map(|p| p.seeds).collect()
}

/// Level-0 training and validation instances for tuning: `train` and `val` instances from the `tune-train` and
/// `tune-val` streams of `seed`. Refuses any cell but level 0 and any of [`suite_seeds`].
pub fn tuning_data<T: Task>(
    task: &T,
    cell: Cell,
    seed: u64,
    train: usize,
    val: usize,
) -> Result<TrainData<T>, TuningError> {
    if cell != Cell::IN_DIST {
        return Err(TuningError::SealedCell { cell: cell.label(task.axes()) });
    }
    if let Some(p) = Profile::builtin().into_iter().find(|p| p.seeds.contains(&seed)) {
        let reserved = suite_seeds();
        let text = match (reserved.first(), reserved.last()) {
            (Some(lo), Some(hi)) if (hi - lo) as usize + 1 == reserved.len() => format!("{lo}..={hi}"),
            _ => format!("{reserved:?}"),
        };
        return Err(TuningError::SuiteSeed { seed, profile: p.name, reserved: text });
    }
    let draw = |purpose: &str, n: usize| {
        let mut r = stream(seed, task.id(), purpose);
        (0..n).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect::<Vec<_>>()
    };
    Ok(TrainData {
        train: draw("tune-train", train),
        val: draw("tune-val", val),
        dropped_overlaps: 0,
        max_epochs: None,
    })
}
