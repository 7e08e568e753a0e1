//! Instances and answers: episode parameters, the cars an instance states, and routes.

use super::city::{Action, City, Pattern};
use super::{MAX_CELLS_PER_TICK, MAX_SIZE, MAX_SPEED_TICKS, MAX_STEPS, MAX_TRAFFIC, MIN_SIZE};
use serde::{Deserialize, Serialize};

/// One episode: the parameters the city, the cars and the agent's task are regenerated from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NavInstance {
    /// Street pattern.
    pub pattern: Pattern,
    /// Seed of the city layout.
    pub city_seed: u64,
    /// Cells west to east.
    pub width: u32,
    /// Cells north to south.
    pub height: u32,
    /// Seed of the car tracks and starting points.
    pub traffic_seed: u64,
    /// Traffic density: cars per 100 street cells.
    pub cars_per_100_cells: u32,
    /// Cars drive `speed_cells` cells every `speed_ticks` ticks.
    pub speed_cells: u32,
    /// See `speed_cells`.
    pub speed_ticks: u32,
    /// Where the agent starts, (x, y).
    pub start: (i32, i32),
    /// Where it must go, (x, y).
    pub goal: (i32, i32),
    /// Ticks before the episode ends as a timeout.
    pub max_steps: u32,
    /// Cars stated explicitly, on top of those drawn from the traffic seed (none in generated instances; the
    /// adversarial experiment adds them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added_cars: Vec<AddedCar>,
    /// Percent of the `grid` pattern's street segments built over (where that leaves the streets connected):
    /// `navigation-v2` states it per instance; absent (`navigation-v1`), [`GRID_BUILT_OVER`](super::GRID_BUILT_OVER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_over_percent: Option<u32>,
    /// Length of the planner's shortest safe route, in ticks: `navigation-v2` stores it, validated, so that
    /// scoring a route against it need not plan again; absent in `navigation-v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planner_steps: Option<u32>,
}

impl NavInstance {
    /// The city of this instance.
    pub fn city(&self) -> City {
        match self.built_over_percent {
            None => City::generate(self.pattern, self.city_seed, self.width, self.height),
            // Clamped so that a malformed share cannot panic the generator; validation rejects it.
            Some(p) => {
                City::generate_with(self.pattern, self.city_seed, self.width, self.height, p.min(100) as f64 / 100.0)
            }
        }
    }

    /// Everything but solvability: sizes, speed, density and step limit within bounds.
    pub(super) fn check_shape(&self) -> Result<(), String> {
        for (name, v) in [("width", self.width), ("height", self.height)] {
            if !(MIN_SIZE..=MAX_SIZE).contains(&v) {
                return Err(format!("{name} {v} is outside {MIN_SIZE}..={MAX_SIZE}"));
            }
        }
        if self.cars_per_100_cells > MAX_TRAFFIC {
            return Err(format!("cars_per_100_cells {} is above {MAX_TRAFFIC}", self.cars_per_100_cells));
        }
        let (c, t) = (self.speed_cells, self.speed_ticks);
        if !(1..=MAX_SPEED_TICKS).contains(&t) {
            return Err(format!("speed_ticks {t} is outside 1..={MAX_SPEED_TICKS}"));
        }
        if c == 0 {
            return Err("speed_cells 0: cars must move".into());
        }
        // Deliberate: a tick's sweep holds at most MAX_CELLS_PER_TICK + 1 cells and the death rules and the
        // observation know one middle cell at most; a faster car would pass through the agent unseen.
        if c > MAX_CELLS_PER_TICK * t {
            return Err(format!(
                "speed_cells {c} / speed_ticks {t} is faster than {MAX_CELLS_PER_TICK} cells per tick, the most the \
                 traffic sweep follows"
            ));
        }
        if !(1..=MAX_STEPS).contains(&self.max_steps) {
            return Err(format!("max_steps {} is outside 1..={MAX_STEPS}", self.max_steps));
        }
        if let Some(p) = self.built_over_percent.filter(|&p| p > 100) {
            return Err(format!("built_over_percent {p} is above 100"));
        }
        if self.added_cars.len() > MAX_ADDED_CARS {
            return Err(format!("added_cars: {} cars, more than {MAX_ADDED_CARS}", self.added_cars.len()));
        }
        for car in &self.added_cars {
            car.check_shape(self.speed_ticks)?;
        }
        Ok(())
    }
}

/// Most cars an instance may state explicitly.
pub const MAX_ADDED_CARS: usize = 8;

/// A car stated in the instance itself, on top of those drawn from the traffic seed. It drives like every other
/// car, back and forth along its track at the instance's speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddedCar {
    /// First cell of the track.
    pub origin: (i32, i32),
    /// The track runs east from `origin` (true) or south (false).
    pub horizontal: bool,
    /// Cells in the track, [`MIN_TRACK`](super::MIN_TRACK)..=[`MAX_TRACK`](super::MAX_TRACK), every one a street.
    pub len: i32,
    /// Position in the bounce cycle at tick 0, below 2·(len − 1).
    pub offset: u32,
    /// φ (see the traffic module's docs), below the instance's `speed_ticks`.
    pub phase: u32,
}

/// An answer: the actions the agent took, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// One action per tick.
    pub actions: Vec<Action>,
}
