//! Drift axes and the cells of the evaluation grid.
use serde::{Deserialize, Serialize};

/// Number of drift levels on every axis: 0 is the training distribution, 4 the farthest out.
pub const LEVELS: u8 = 5;

/// One drift axis of a task: a name, what it varies, and what each level means.
#[derive(Debug, Clone, Copy)]
pub struct AxisSpec {
    /// Short identifier used on the command line and in records (`length`).
    pub name: &'static str,
    /// One sentence on what the axis varies.
    pub description: &'static str,
    /// What each level 0..=4 means, in words a table can show.
    pub levels: [&'static str; LEVELS as usize],
}

/// How an axis's distances are measured: in standard deviations of the drifted factor over level 0, or in widths
/// of its level-0 range beyond the range's nearer edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Spread {
    /// |mean at the level − mean at level 0| / standard deviation at level 0.
    Sigma,
    /// How far the level's mean lies beyond the nearer edge of the level-0 range, in widths of that range (0 when
    /// inside it).
    Range,
}

impl Spread {
    /// The unit's symbol in tables: `σ` or `ranges`.
    pub fn symbol(self) -> &'static str {
        match self {
            Spread::Sigma => "σ",
            Spread::Range => "×range",
        }
    }

    /// The distance of a level whose factor has mean `mean`, from a level 0 with the given statistics.
    pub fn distance(self, level0: &FactorStats, mean: f64) -> f64 {
        match self {
            Spread::Sigma => (mean - level0.mean).abs() / level0.sd,
            Spread::Range => {
                let beyond = if mean > level0.max {
                    mean - level0.max
                } else if mean < level0.min {
                    level0.min - mean
                } else {
                    0.0
                };
                beyond / (level0.max - level0.min)
            }
        }
    }
}

/// Summary of one instance feature over a sample of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FactorStats {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (population).
    pub sd: f64,
    /// Smallest value seen.
    pub min: f64,
    /// Largest value seen.
    pub max: f64,
}

impl FactorStats {
    /// Statistics of `values` (all zero when empty).
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return FactorStats { mean: 0.0, sd: 0.0, min: 0.0, max: 0.0 };
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        FactorStats { mean, sd: var.sqrt(), min, max }
    }
}

/// A measurable property of an instance ([`crate::Task::features`]): the harness measures every feature across
/// the levels of every axis, so that an axis moves only the factor it names (and what that factor drags along by
/// definition, [`Placement::also_moves`]).
#[derive(Debug, Clone, Copy)]
pub struct Feature {
    /// Short name, e.g. `duplicate rate`.
    pub name: &'static str,
    /// What it measures, in a few words.
    pub description: &'static str,
    /// How far the mean of this feature may move from level 0's on an axis that does not drift it, in the
    /// feature's own units (mind the sampling error of the check's sample).
    pub tolerance: f64,
}

/// Where an axis's levels lie along the one factor it drifts, relative to the training distribution (level 0),
/// declared by the task and measured by `driftbench check`.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// The [`Feature`] the axis drifts; level 0 must vary along it.
    pub factor: &'static str,
    /// The unit of [`Placement::distance`].
    pub unit: Spread,
    /// The range of the factor over level 0 (the training distribution), in the feature's units.
    pub training: (f64, f64),
    /// Declared distance of levels 1..=4 from level 0, in [`Placement::unit`]; strictly increasing.
    pub distance: [f64; LEVELS as usize - 1],
    /// Other features this axis moves because they are defined by the factor (e.g. route length with city size);
    /// every feature not named here or as the factor must hold its level-0 mean.
    pub also_moves: &'static [&'static str],
}

impl Placement {
    /// The declared distance of `level` (0 at level 0).
    pub fn distance_of(&self, level: u8) -> f64 {
        if level == 0 {
            0.0
        } else {
            self.distance[level as usize - 1]
        }
    }

    /// A level's distance as tables show it, e.g. `2.5σ`.
    pub fn label(&self, level: u8) -> String {
        format_distance(self.distance_of(level), self.unit)
    }
}

/// A distance as tables show it: `2.5σ`, `0.75×range`.
pub fn format_distance(d: f64, unit: Spread) -> String {
    let digits = if d >= 10.0 || d == 0.0 {
        0
    } else if d >= 1.0 {
        1
    } else {
        2
    };
    format!("{d:.digits$}{}", unit.symbol())
}

/// A cell of the evaluation grid. Level 0 is the training distribution and is shared by every axis, so it is
/// one cell (`axis: None`); levels 1..=4 belong to one axis each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cell {
    /// Index into the task's axes; `None` for level 0.
    pub axis: Option<usize>,
    /// Drift level, 0..=4.
    pub level: u8,
}

impl Cell {
    /// The in-distribution cell.
    pub const IN_DIST: Cell = Cell { axis: None, level: 0 };

    /// All cells of a task with `n_axes` axes: level 0 first, then each axis's levels 1..=4.
    pub fn grid(n_axes: usize) -> Vec<Cell> {
        let mut cells = vec![Cell::IN_DIST];
        for axis in 0..n_axes {
            cells.extend((1..LEVELS).map(|level| Cell { axis: Some(axis), level }));
        }
        cells
    }

    /// Name of the cell's axis in records and file names (`in-dist` for level 0).
    pub fn axis_name(&self, axes: &[AxisSpec]) -> &'static str {
        match self.axis {
            None => "in-dist",
            Some(a) => axes[a].name,
        }
    }

    /// Stable label for file names and RNG purposes, e.g. `length-L3`.
    pub fn label(&self, axes: &[AxisSpec]) -> String {
        format!("{}-L{}", self.axis_name(axes), self.level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_level_zero_once_then_four_levels_per_axis() {
        let g = Cell::grid(3);
        assert_eq!(g.len(), 13);
        assert_eq!(g[0], Cell::IN_DIST);
        assert_eq!(g.iter().filter(|c| c.level == 0).count(), 1);
        assert_eq!(g[12], Cell { axis: Some(2), level: 4 });
    }
}
