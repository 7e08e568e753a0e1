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
