//! `navigation-v2`: the world, planner, scorer, episodes and maps of `navigation-v1`, with drift axes that each
//! move one measured factor, placed by their distance from a training distribution that varies along it.
//!
//! **Level 0** varies every factor an axis drifts: square cities of [`V2_TRAIN_SIZES`] cells a side, `grid` cities
//! from the 32 training seeds with [`V2_TRAIN_BUILT_OVER`] percent of their street segments built over,
//! [`V2_TRAIN_TRAFFIC`] cars per 100 street cells, and cars at one of [`V2_TRAIN_SPEEDS`]. Every instance first
//! draws its parameters and a route length d (a street distance, uniform over [`route_band`] of its size); only the
//! seeds, the start and the goal are drawn again until the planner finds a safe route, so no parameter and no route
//! length is selected by solvability. The goal lies exactly d street cells from the start, and the step limit is
//! [`STEPS_PER_ROUTE_CELL`] × d: the same allowance per cell of route everywhere, whatever the city's size.
//!
//! **Axes** (one factor each, measured by [`Task::measure`] and checked by `driftbench check`):
//! - `city`: new city seeds, with more of the grid built over ([`V2_CITY_LEVELS`], up to every segment whose
//!   removal keeps the streets connected: a tree of streets), placed along the share of street cells that are
//!   junctions (3 or 4 street neighbours);
//! - `size`: larger cities ([`V2_SIZE_LEVELS`]); the route band grows with the side, so route length moves with
//!   size by definition, and with it the share of goals beyond the window policies' clipped goal offset; cars per
//!   street cell and step limit per route cell hold;
//! - `traffic`: more cars per street cell ([`V2_TRAFFIC_LEVELS`]);
//! - `speed`: faster cars ([`V2_SPEED_LEVELS`]).
//!
//! An instance states its built-over share ([`NavInstance::built_over_percent`]) and the planner's route length
//! ([`NavInstance::planner_steps`], checked by validation), so that the metric (ticks over the planner's) and the
//! strict criterion (success within [`STRICT_RATIO`] × the planner's ticks) cost one replay.
use super::city::City;
use super::city::Pattern;
use super::instance::{NavInstance, Route};
use super::planner::search;
use super::render::render_svg;
use super::task::{navigation_capabilities, score, solve, validate, Version, SYMBOLIC_OBSERVES};
use super::traffic::Traffic;
use super::world::World;
use super::{FAILED_RATIO, GOAL_SCALE, TRAIN_CITY_SEEDS};
use driftbench_core::axis::{Feature, Placement, Spread};
use driftbench_core::{AxisSpec, Cell, Outcome, SolveInfo, Task};
use rand_chacha::ChaCha8Rng;
use std::ops::RangeInclusive;
// The names that the body of `navigation_capabilities!` uses, resolved where it is invoked.
use super::city::Action;
use super::planner::plan;
use super::task::{
    attack_variants, expert_action, expert_actions, NavEpisode, NavTask, GRID_OBSERVES, WINDOW_OBSERVES,
};
use super::{GRID_CHANNELS, OBS_DIM};
use driftbench_core::{Episode, GridTask, PolicyShape, PolicyTask, VariantAttackTask};
use rand::seq::IndexedRandom;
use rand::Rng;

/// The navigation task, version 2 (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct NavigationV2;

/// City sides (W = H) at level 0, drawn uniformly.
pub const V2_TRAIN_SIZES: RangeInclusive<u32> = 10..=14;
/// Percent of the grid's street segments built over at level 0, drawn uniformly (`navigation-v1` builds over 15).
pub const V2_TRAIN_BUILT_OVER: [u32; 5] = [5, 10, 15, 20, 25];
/// Cars per 100 street cells at level 0, drawn uniformly.
pub const V2_TRAIN_TRAFFIC: RangeInclusive<u32> = 3..=7;
/// Car speeds at level 0 as (cells, ticks), drawn uniformly: 1/3, 1/2 and 2/3 of a cell per tick.
pub const V2_TRAIN_SPEEDS: [(u32, u32); 3] = [(1, 3), (1, 2), (2, 3)];
/// Percent built over at city levels 1-4 (with new city seeds).
pub const V2_CITY_LEVELS: [u32; 4] = [40, 55, 75, 100];
/// City sides at size levels 1-4.
pub const V2_SIZE_LEVELS: [u32; 4] = [16, 22, 28, 36];
/// Cars per 100 street cells at traffic levels 1-4.
pub const V2_TRAFFIC_LEVELS: [u32; 4] = [9, 12, 16, 21];
/// Car speeds at speed levels 1-4: 3/4, 1, 3/2 and 2 cells per tick.
pub const V2_SPEED_LEVELS: [(u32, u32); 4] = [(3, 4), (1, 1), (3, 2), (2, 1)];
/// Step limit of a generated instance per cell of its route length.
pub const STEPS_PER_ROUTE_CELL: u32 = 4;
/// The strict criterion: success within this many times the planner's ticks.
pub const STRICT_RATIO: f64 = 1.5;
/// How far (in cells, along x or y) the goal may lie before the window policies' goal offset is clipped.
pub const CLIP_CELLS: i32 = GOAL_SCALE as i32;
/// Draws of seeds, start and goal for one instance's parameters before the generator gives up (see the `measure`
/// test for the most any cell needed).
const V2_GENERATE_ATTEMPTS: usize = 256;

/// Training episodes per seed under the built-in profiles.
pub const V2_TRAIN_EXAMPLES_BY_PROFILE: [(&str, usize); 2] = [("quick", 8_000), ("full", 20_000)];

/// The street distances a route may have in a city of side `size`: ⌈size/2⌉..=⌊5·size/4⌋.
pub fn route_band(size: u32) -> RangeInclusive<u32> {
    size.div_ceil(2)..=size * 5 / 4
}

const TRAINING: &str = "training: grid cities from 32 seeds, 10x10 to 14x14, 5-25% of street segments built over, 3-7 \
                        cars per 100 street cells, cars 1/3 to 2/3 cell per tick, routes W/2 to 5W/4 street cells, step \
                        limit 4 ticks per route cell";

static AXES: [AxisSpec; 4] = [
    AxisSpec {
        name: "city",
        description: "new city seeds with more street segments built over (fewer junctions, longer detours); size, \
                      traffic, speed and route length as in training",
        levels: [
            TRAINING,
            "new seeds, 40% built over",
            "new seeds, 55% built over",
            "new seeds, 75% built over",
            "new seeds, every removable segment built over (a tree of streets)",
        ],
    },
    AxisSpec {
        name: "size",
        description: "side of the city; routes W/2 to 5W/4 street cells and the step limit grow with it, cars per \
                      street cell and step limit per route cell do not",
        levels: [TRAINING, "16x16", "22x22", "28x28", "36x36"],
    },
    AxisSpec {
        name: "traffic",
        description: "cars per 100 street cells; everything else as in training",
        levels: [TRAINING, "9 cars per 100 street cells", "12", "16", "21 (3x training's 7)"],
    },
    AxisSpec {
        name: "speed",
        description: "car speed; everything else as in training (the agent always moves 1 cell per tick)",
        levels: [
            TRAINING,
            "3 cells / 4 ticks",
            "1 cell / tick (as fast as the agent)",
            "3 cells / 2 ticks (some two-cell moves)",
            "2 cells / tick (the fastest valid speed)",
        ],
    },
];

/// Index of each feature in [`FEATURES`] and [`Task::measure`]'s values.
const SIZE: usize = 0;
const ROUTE: usize = 1;
const CARS: usize = 2;
const SPEED: usize = 3;
const STEPS: usize = 4;
const JUNCTIONS: usize = 5;
const CLIPPED: usize = 6;

static FEATURES: [Feature; 7] = [
    Feature { name: "city size", description: "cells west to east (cities are square)", tolerance: 0.5 },
    Feature { name: "route length", description: "street distance from start to goal, ignoring cars", tolerance: 0.5 },
    Feature {
        name: "cars per street cell",
        description: "cars drawn from the traffic seed over the city's street cells",
        tolerance: 0.004,
    },
    Feature { name: "car speed", description: "cells per tick", tolerance: 0.025 },
    Feature {
        name: "step limit per route length",
        description: "max_steps over the route's street distance",
        tolerance: 0.05,
    },
    Feature {
        name: "junction share",
        description: "share of street cells with 3 or 4 street neighbours",
        tolerance: 0.015,
    },
    Feature {
        name: "goal offset clipped",
        description: "the goal lies more than 10 cells away along x or y at the start, where the window policies' \
                      goal offset is clipped (the share of such instances)",
        tolerance: 0.05,
    },
];

static PLACEMENTS: [Placement; 4] = [
    Placement {
        factor: "junction share",
        unit: Spread::Sigma,
        training: (0.0, 0.3),
        distance: [0.9, 1.6, 2.4, 3.2],
        also_moves: &[],
    },
    Placement {
        factor: "city size",
        unit: Spread::Range,
        training: (10.0, 14.0),
        distance: [0.5, 2.0, 3.5, 5.5],
        // The route band is a share of the side, so a larger city has longer routes by definition; a longer route
        // lies farther away, so more goals are beyond the clipped goal offset.
        also_moves: &["route length", "goal offset clipped"],
    },
    Placement {
        factor: "cars per street cell",
        // In σ rather than ranges: the level-0 extremes come from rounding the car count in the smallest cities.
        unit: Spread::Sigma,
        training: (0.02, 0.09),
        distance: [2.7, 4.7, 7.4, 10.8],
        also_moves: &[],
    },
    Placement {
        factor: "car speed",
        unit: Spread::Range,
        training: (1.0 / 3.0, 2.0 / 3.0),
        distance: [0.25, 1.0, 2.5, 4.0],
        also_moves: &[],
    },
];

/// The parameters one instance is drawn with before any seed: they are never redrawn, so solvability selects none
/// of them.
struct Params {
    new_city: bool,
    size: u32,
    built_over: u32,
    traffic: u32,
    speed: (u32, u32),
    route: u32,
}

fn params(cell: Cell, rng: &mut ChaCha8Rng) -> Params {
    let mut p = Params {
        new_city: false,
        size: rng.random_range(V2_TRAIN_SIZES),
        built_over: *V2_TRAIN_BUILT_OVER.choose(rng).expect("not empty"),
        traffic: rng.random_range(V2_TRAIN_TRAFFIC),
        speed: *V2_TRAIN_SPEEDS.choose(rng).expect("not empty"),
        route: 0,
    };
    match (cell.axis, cell.level as usize) {
        (None, _) | (_, 0) => {}
        (Some(0), l) => (p.built_over, p.new_city) = (V2_CITY_LEVELS[l - 1], true),
        (Some(1), l) => p.size = V2_SIZE_LEVELS[l - 1],
        (Some(2), l) => p.traffic = V2_TRAFFIC_LEVELS[l - 1],
        (Some(_), l) => p.speed = V2_SPEED_LEVELS[l - 1],
    }
    p.route = rng.random_range(route_band(p.size));
    p
}

/// One draw of seeds, start and goal for `p`; `None` when it is unusable (no goal at the route length from the
/// start, a car on the start, or no safe route within the step limit).
fn draw(p: &Params, rng: &mut ChaCha8Rng) -> Option<NavInstance> {
    let city_seed = if p.new_city {
        rng.random_range(TRAIN_CITY_SEEDS..=u32::MAX as u64)
    } else {
        rng.random_range(0..TRAIN_CITY_SEEDS)
    };
    let mut inst = NavInstance {
        pattern: Pattern::Grid,
        city_seed,
        width: p.size,
        height: p.size,
        traffic_seed: rng.random::<u32>() as u64,
        cars_per_100_cells: p.traffic,
        speed_cells: p.speed.0,
        speed_ticks: p.speed.1,
        start: (0, 0),
        goal: (0, 0),
        max_steps: STEPS_PER_ROUTE_CELL * p.route,
        added_cars: Vec::new(),
        built_over_percent: Some(p.built_over),
        planner_steps: None,
    };
    let city = inst.city();
    let streets = city.street_cells();
    inst.start = *streets.choose(rng)?;
    let dist = city.distances_from(inst.start);
    let goals: Vec<(i32, i32)> = streets.iter().copied().filter(|&c| dist[city.index(c)] == p.route).collect();
    inst.goal = *goals.choose(rng)?;
    let cars = Traffic::generate(&inst, &city);
    if cars.cars.iter().any(|car| cars.position(car, 0) == inst.start) {
        return None;
    }
    let route = search(&city, &cars, inst.start, 0, inst.goal, inst.max_steps).0?;
    inst.planner_steps = Some(route.len() as u32);
    Some(inst)
}

/// [`NavigationV2::generate`], also returning how many draws it took.
pub(super) fn generate_counted_v2(cell: Cell, rng: &mut ChaCha8Rng) -> (NavInstance, usize) {
    let p = params(cell, rng);
    for attempt in 0..V2_GENERATE_ATTEMPTS {
        if let Some(inst) = draw(&p, rng) {
            return (inst, attempt + 1);
        }
    }
    panic!("navigation-v2: no solvable instance in {V2_GENERATE_ATTEMPTS} draws for {cell:?}")
}

/// Share of street cells with 3 or 4 street neighbours, among the street cells off the map's outer ring (whose
/// neighbours beyond the edge are missing, which would tie the share to the city's size); 0 without such cells.
pub fn junction_share(city: &City) -> f64 {
    let (w, h) = (city.width(), city.height());
    let inner: Vec<(i32, i32)> =
        city.street_cells().into_iter().filter(|&(x, y)| x > 0 && y > 0 && x < w - 1 && y < h - 1).collect();
    let degree = |(x, y): (i32, i32)| {
        [(0, 1), (0, -1), (1, 0), (-1, 0)].iter().filter(|(dx, dy)| city.is_street((x + dx, y + dy))).count()
    };
    let junctions = inner.iter().filter(|&&c| degree(c) >= 3).count();
    junctions as f64 / inner.len().max(1) as f64
}

impl Task for NavigationV2 {
    type Instance = NavInstance;
    type Answer = Route;

    fn id(&self) -> &'static str {
        "navigation-v2"
    }

    fn description(&self) -> &'static str {
        "walk a grid city from a start cell to a goal cell without touching any of the cars that drive its streets \
         by known rules, within 4 ticks per cell of route"
    }

    fn axes(&self) -> &'static [AxisSpec] {
        &AXES
    }

    /// Draws the instance's parameters and route length once, then seeds, start and goal until the planner finds
    /// a safe route (at most 256 draws).
    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> NavInstance {
        generate_counted_v2(cell, rng).0
    }

    fn validate(&self, inst: &NavInstance) -> Result<(), String> {
        validate(inst, Version::V2)
    }

    fn score(&self, inst: &NavInstance, answer: &Route) -> Outcome {
        score(inst, answer, Version::V2)
    }

    fn metric_name(&self) -> &'static str {
        "path length / planner's"
    }

    fn no_answer_metric(&self) -> f64 {
        FAILED_RATIO
    }

    fn metric_higher_is_better(&self) -> bool {
        false
    }

    fn work_name(&self) -> &'static str {
        "expanded nodes"
    }

    fn train_examples_by_profile(&self) -> &'static [(&'static str, usize)] {
        &V2_TRAIN_EXAMPLES_BY_PROFILE
    }

    fn solve_symbolic(&self, inst: &NavInstance) -> (Route, SolveInfo) {
        solve(inst)
    }

    fn limits(&self) -> &'static str {
        "as navigation-v1 (cities 6x6 to 64x64, at most 50 cars per 100 street cells, cars at most 2 cells per \
         tick, max_steps 1-4096, at most 8 added cars), plus built_over_percent 0-100 and planner_steps equal to the \
         planner's route length, both required"
    }

    fn symbolic_description(&self) -> &'static str {
        "space-time A* over (x, y, t) on the known car schedule, street distance to the goal as heuristic"
    }

    fn symbolic_observes(&self) -> &'static str {
        SYMBOLIC_OBSERVES
    }

    /// Success within [`STRICT_RATIO`] × the planner's ticks, read off the metric (ticks over the planner's).
    fn strict_success(&self, outcome: &Outcome) -> Option<bool> {
        Some(outcome.success && outcome.metric <= STRICT_RATIO)
    }

    fn strict_name(&self) -> &'static str {
        "success within 1.5x the planner's ticks"
    }

    fn render_svg(&self, inst: &NavInstance, answer: Option<&Route>) -> Option<String> {
        World::try_new(inst).ok()?;
        Some(render_svg(inst, answer.map_or(&[][..], |r| &r.actions)))
    }

    fn placements(&self) -> &'static [Placement] {
        &PLACEMENTS
    }

    fn features(&self) -> &'static [Feature] {
        &FEATURES
    }

    /// The [`FEATURES`] of `inst`; a malformed instance measures as all zeros.
    fn measure(&self, inst: &NavInstance) -> Vec<f64> {
        let mut m = vec![0.0; FEATURES.len()];
        if inst.check_shape().is_err() {
            return m;
        }
        let city = inst.city();
        let streets = city.street_cells().len();
        let route = if city.is_street(inst.start) && city.is_street(inst.goal) {
            city.distances_from(inst.start)[city.index(inst.goal)]
        } else {
            0
        };
        let route = if route == u32::MAX { 0 } else { route };
        m[SIZE] = inst.width as f64;
        m[ROUTE] = route as f64;
        m[CARS] = Traffic::generate(inst, &city).cars.len() as f64 / streets.max(1) as f64;
        m[SPEED] = inst.speed_cells as f64 / inst.speed_ticks as f64;
        m[STEPS] = inst.max_steps as f64 / route.max(1) as f64;
        m[JUNCTIONS] = junction_share(&city);
        let (dx, dy) = (inst.goal.0 - inst.start.0, inst.goal.1 - inst.start.1);
        m[CLIPPED] = f64::from(u8::from(dx.abs() > CLIP_CELLS || dy.abs() > CLIP_CELLS));
        m
    }
}

navigation_capabilities!(NavigationV2, Version::V2);
