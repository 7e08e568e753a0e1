//! `navigation-v1`: walk across a grid city from a start cell to a goal cell without touching any car.
//!
//! An instance stores only parameters (street pattern, city seed, size, traffic seed and density, car speed,
//! start, goal, step limit); the city and its cars are regenerated from them, deterministically, whenever they are
//! needed, so a test file holds one short JSON line per episode.
//!
//! **The city** ([`City::generate`]) is a W×H grid of cells, each a building or a street. Coordinates are (x, y)
//! with x growing east and y growing south. Four street patterns:
//! - `grid`: streets along every kx-th column and every ky-th row (kx, ky ∈ {3, 4}, random offsets), then each
//!   street segment between two crossings is built over with probability 0.15 unless that would disconnect the
//!   streets;
//! - `offset`: full street rows 3–4 cells apart; in each band between two rows (and at the edges) cross streets
//!   3–5 cells apart at positions drawn afresh per band, so blocks are staggered like bricks and crossings are
//!   T-junctions;
//! - `ring`: concentric rectangular ring roads 3 cells apart, each joined to the next by 2–4 radial connectors,
//!   and with probability ½ one avenue straight across the middle;
//! - `maze`: a random spanning-tree maze of one-cell corridors on a 2-cell lattice, with 20% of the remaining
//!   walls between neighbouring lattice cells knocked through to make loops.
//!
//! Every pattern is connected by construction; as a safety net any street cell outside the largest connected
//! piece is built over, so every street cell can reach every other.
//!
//! **The cars** are drawn from the traffic seed: round(street cells × density / 100) of them (at least one when
//! the density is positive). Each drives back and forth along its own straight track of 4–8 street cells (a piece
//! of a straight street run, bouncing at the track's ends), starting at a drawn point of its cycle. All cars share
//! the instance's speed of `speed_cells` cells per `speed_ticks` ticks, spread evenly: by tick t a car has driven
//! ⌊(t·speed_cells + φ) / speed_ticks⌋ cells, where φ ∈ 0..speed_ticks is drawn per car so that slow cars do
//! not all move on the same ticks. A car moves at most 2 cells in one tick. An instance may also list cars of its
//! own ([`AddedCar`]: track, cycle position and phase), driving by the same rules; generated instances list none,
//! and the adversarial experiment adds them ([`VariantAttackTask::attack_variants`]). Cars ignore each other and the agent,
//! so where every car is at every tick is known in advance: the planner uses it, and the observation shows the
//! next tick.
//!
//! [`VariantAttackTask::attack_variants`]: driftbench_core::VariantAttackTask::attack_variants
//!
//! **The agent** starts on the start cell at tick 0. Each tick it moves one cell north, south, east or west, or
//! waits ([`Action`]); a move into a building or off the map is wasted (it stays put, the tick still passes).
//! It dies in a tick (from cell a to cell b, while a car drives through cells q0, …, qk) if
//! 1. the car ends the tick on the agent's cell (qk = b), or
//! 2. they swap: the car steps from b into a while the agent steps from a into b (also as part of a two-cell
//!    move), or
//! 3. the car passes through a or b in the middle of a two-cell move (b, or the cell a the agent is leaving, is
//!    one of q1, …, qk−1).
//!
//! Following a car into the cell it is leaving, and stepping aside as a car arrives, are safe. Reaching the goal
//! alive ends the episode with success; death ends it; after `max_steps` ticks (4·(W+H) in generated instances)
//! it ends as a timeout.
//!
//! **The Gymnasium-like interface** is [`World`]: `reset` returns an observation, `step` an observation, a reward
//! and the end flags. The reward is [`GOAL_REWARD`] on reaching the goal, [`DEATH_REWARD`] on death, plus
//! [`STEP_REWARD`] every tick and, on ticks that do not kill, a shaping term [`SHAPING_REWARD`] × (street distance
//! to the goal before − after), the street distance being the shortest path along streets ignoring cars.
//! The observation ([`OBS_DIM`] floats) is a 9×9 window centred on the agent with 4 channels, channel-major and
//! row-major (index `c·81 + (dy+4)·9 + (dx+4)`): building or off the map; a car on the cell now; a car on the cell
//! at the end of the coming tick or passing through it during that tick; the goal. Then the goal offset
//! (dx/10, dy/10), each clipped to [−1, 1].
//! Size-agnostic policies can see the whole city instead ([`World::observe_grid`]): [`GRID_CHANNELS`] maps of
//! W×H cells, building or off the map; the goal; a car on the cell now; then, for each of the next
//! [`GRID_LOOKAHEAD`] ticks, a car ending that tick on the cell or passing through it (the first two maps never
//! change during an episode; beyond the edge every cell counts as a building).
//!
//! **Scoring** replays the answer's actions ([`replay`]): success means reaching the goal alive within the step
//! limit (actions after the end are ignored). The metric is the episode's ticks over the planner's (≥ 1; lower is
//! better), capped at [`FAILED_RATIO`], which is also the value of a failure or of no answer. Failures are labelled
//! `death`, `timeout`, `stopped short` (the actions ran out first) or `invalid` (a malformed instance).
//!
//! **The symbolic solver** ([`plan`]) is A* over space and time, states (x, y, t), with the street distance to the
//! goal as heuristic (admissible and consistent: cars only ever add waits and detours) and a visited set on
//! (x, y, t). Every action costs one tick, so the first goal state it pops is a shortest safe route; it finds one
//! whenever one exists within the step limit. Its work is the number of states it expands.
//!
//! Training instances: `grid` cities from 32 fixed city seeds, 12×12, 5 cars per 100 street cells, cars driving 1
//! cell every 2 ticks; start and goal on street cells at least [`MIN_DISTANCE`] apart along streets, drawn per
//! instance with a fresh traffic seed. The drift axes change the city (new seeds, then other patterns), its size
//! (to 36×36), the traffic density (to 4×) and the car speed (to 2 cells per tick, 4×).
//!
//! ```
//! use driftbench_core::{Task, Cell, rng};
//! use driftbench_tasks::navigation::{World, OBS_DIM};
//! use driftbench_tasks::Navigation;
//! let task = Navigation;
//! let inst = task.generate(Cell::IN_DIST, &mut rng::stream(1, task.id(), "doc"));
//! let (route, info) = task.solve_symbolic(&inst);
//! let outcome = task.score(&inst, &route);
//! assert!(outcome.success && outcome.metric == 1.0);
//! assert!(info.work >= route.actions.len() as u64);
//!
//! // The same route, step by step.
//! let mut world = World::new(&inst);
//! assert_eq!(world.reset().len(), OBS_DIM);
//! let last = route.actions.iter().map(|&a| world.step(a)).last().unwrap();
//! assert!(last.reached && last.terminated && !last.died);
//! ```

/// Side of the square observation window around the agent.
pub const WINDOW: usize = 9;
/// Cells from the agent to the window's edge.
const RADIUS: i32 = (WINDOW / 2) as i32;
/// Cells in the window.
const WINDOW_CELLS: usize = WINDOW * WINDOW;
/// Length of an observation: 4 channels of the 9×9 window, then the clipped goal offset (dx, dy).
pub const OBS_DIM: usize = 4 * WINDOW_CELLS + 2;
/// Ticks ahead that [`World::observe_grid`] shows the cars' sweeps for.
pub const GRID_LOOKAHEAD: usize = 3;
/// Maps in [`World::observe_grid`]: building or off the map, goal, car now, and one per tick of lookahead.
pub const GRID_CHANNELS: usize = 3 + GRID_LOOKAHEAD;
/// The goal offset is divided by this before clipping to [−1, 1].
pub const GOAL_SCALE: f32 = 10.0;

/// Reward for reaching the goal.
pub const GOAL_REWARD: f32 = 1.0;
/// Reward for dying.
pub const DEATH_REWARD: f32 = -1.0;
/// Reward every tick (a cost of time).
pub const STEP_REWARD: f32 = -0.01;
/// Reward per cell of street distance to the goal gained in a tick that does not kill (negative when moving away).
pub const SHAPING_REWARD: f32 = 0.02;

/// Metric of a failed episode and of no answer, and the cap on successful ones: a failure reads as a route four
/// times the planner's, worse than any success worth telling apart, and finite so that means stay finite.
pub const FAILED_RATIO: f64 = 4.0;
/// Shortest street distance between start and goal in generated instances.
pub const MIN_DISTANCE: u32 = 6;
/// Training city seeds are 0..TRAIN_CITY_SEEDS; drifted cities draw seeds from TRAIN_CITY_SEEDS..=u32::MAX.
pub const TRAIN_CITY_SEEDS: u64 = 32;
/// Smallest width or height a valid instance may have.
pub const MIN_SIZE: u32 = 6;
/// Largest width or height a valid instance may have.
pub const MAX_SIZE: u32 = 64;
/// Largest traffic density (cars per 100 street cells) a valid instance may have.
pub const MAX_TRAFFIC: u32 = 50;
/// Largest step limit a valid instance may have.
pub const MAX_STEPS: u32 = 4096;
/// Largest car speed, in cells per tick.
pub const MAX_CELLS_PER_TICK: u32 = 2;
/// Largest `speed_ticks` a valid instance may have.
pub const MAX_SPEED_TICKS: u32 = 4;
/// Shortest car track, in cells. Shorter tracks at 2 cells per tick would be impassable walls.
pub const MIN_TRACK: i32 = 4;
/// Longest car track, in cells.
pub const MAX_TRACK: i32 = 8;
/// Share of the `grid` pattern's street segments built over in `navigation-v1` cities.
pub const GRID_BUILT_OVER: f64 = 0.15;
/// Step limit of generated instances per cell of width plus height.
pub const STEPS_PER_SIDE: u32 = 4;

/// Full draws (city, traffic, start, goal) the generator tries before giving up. Over 1,000 instances per cell
/// the most any instance needed was 12, at speed L4 (mean 1.5; 1.1 in training, see the `measure` test), so 64
/// failures in a row would mean a bug, not bad luck.
const GENERATE_ATTEMPTS: usize = 64;
/// Draws of a street cell per car before the car is dropped (for cities without a straight run of 4 cells).
const CAR_ATTEMPTS: usize = 100;

const TRAIN_SIZE: u32 = 12;
const TRAIN_TRAFFIC: u32 = 5;
const TRAIN_SPEED: (u32, u32) = (1, 2);
const CITY_LEVELS: [Pattern; 4] = [Pattern::Grid, Pattern::Offset, Pattern::Ring, Pattern::Maze];
const SIZE_LEVELS: [u32; 4] = [16, 22, 28, 36];
const TRAFFIC_LEVELS: [u32; 4] = [8, 11, 15, 20];
const SPEED_LEVELS: [(u32, u32); 4] = [(2, 3), (1, 1), (3, 2), (2, 1)];

mod city;
mod instance;
mod planner;
mod render;
mod task;
mod traffic;
mod v2;
mod world;

pub use city::{Action, City, Pattern};
pub use instance::{AddedCar, NavInstance, Route, MAX_ADDED_CARS};
pub use planner::{first_actions_from, plan, plan_from};
pub use render::render_svg;
pub use task::{NavTask, Navigation, TRAIN_EXAMPLES_BY_PROFILE, VARIANT_DRAWS};
pub use v2::{
    junction_share, route_band, NavigationV2, CLIP_CELLS, STEPS_PER_ROUTE_CELL, STRICT_RATIO, V2_CITY_LEVELS,
    V2_SIZE_LEVELS, V2_SPEED_LEVELS, V2_TRAFFIC_LEVELS, V2_TRAIN_BUILT_OVER, V2_TRAIN_EXAMPLES_BY_PROFILE,
    V2_TRAIN_SIZES, V2_TRAIN_SPEEDS, V2_TRAIN_TRAFFIC,
};
pub use world::{replay, Replay, Step, World};

#[cfg(test)]
mod tests;
