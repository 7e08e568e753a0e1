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
//! and the adversarial experiment adds them ([`Task::attack_variants`]). Cars ignore each other and the agent,
//! so where every car is at every tick is known in advance: the planner uses it, and the observation shows the
//! next tick.
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
use driftbench_core::{
    AxisSpec, Cell, Encoding, Episode, EpisodeStep, GridObservation, Outcome, PolicyShape, SolveInfo, Task,
};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt::Write as _;

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

/// A street pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// Streets every 3rd or 4th row and column, some segments built over.
    Grid,
    /// Full street rows with staggered cross streets (brick-like blocks).
    Offset,
    /// Concentric ring roads with radial connectors.
    Ring,
    /// One-cell corridors of a random maze with loops.
    Maze,
}

impl Pattern {
    /// The pattern's name as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Grid => "grid",
            Pattern::Offset => "offset",
            Pattern::Ring => "ring",
            Pattern::Maze => "maze",
        }
    }
}

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
}

impl NavInstance {
    /// The city of this instance.
    pub fn city(&self) -> City {
        City::generate(self.pattern, self.city_seed, self.width, self.height)
    }

    /// Everything but solvability: sizes, speed, density and step limit within bounds.
    fn check_shape(&self) -> Result<(), String> {
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
        if self.added_cars.len() > MAX_ADDED_CARS {
            return Err(format!("added_cars: {} cars, more than {MAX_ADDED_CARS}", self.added_cars.len()));
        }
        for car in &self.added_cars {
            car.check_shape(self.speed_ticks)?;
        }
        Ok(())
    }
}

/// An agent's action in one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// y − 1.
    North,
    /// y + 1.
    South,
    /// x + 1.
    East,
    /// x − 1.
    West,
    /// Stay.
    Wait,
}

impl Action {
    /// Every action, in index order.
    pub const ALL: [Action; 5] = [Action::North, Action::South, Action::East, Action::West, Action::Wait];

    /// Position in [`Action::ALL`] (a network's class).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The action at `index` of [`Action::ALL`].
    pub fn from_index(index: usize) -> Option<Action> {
        Action::ALL.get(index).copied()
    }

    /// The (dx, dy) of the move.
    pub fn delta(self) -> (i32, i32) {
        match self {
            Action::North => (0, -1),
            Action::South => (0, 1),
            Action::East => (1, 0),
            Action::West => (-1, 0),
            Action::Wait => (0, 0),
        }
    }

    /// The move with the given (dx, dy), if it is one.
    fn from_delta(d: (i32, i32)) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.delta() == d)
    }

    fn opposite(self) -> Action {
        match self {
            Action::North => Action::South,
            Action::South => Action::North,
            Action::East => Action::West,
            Action::West => Action::East,
            Action::Wait => Action::Wait,
        }
    }
}

/// An answer: the actions the agent took, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// One action per tick.
    pub actions: Vec<Action>,
}

/// The layout of a city: which cells are streets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct City {
    width: i32,
    height: i32,
    street: Vec<bool>,
}

impl City {
    /// Builds the city of `pattern` from `seed` (deterministic; every street cell reaches every other).
    pub fn generate(pattern: Pattern, seed: u64, width: u32, height: u32) -> City {
        let (w, h) = (width.min(MAX_SIZE) as i32, height.min(MAX_SIZE) as i32);
        let mut city = City { width: w, height: h, street: vec![false; (w * h) as usize] };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        if w > 0 && h > 0 {
            match pattern {
                Pattern::Grid => city.grid(&mut rng),
                Pattern::Offset => city.offset(&mut rng),
                Pattern::Ring => city.ring(&mut rng),
                Pattern::Maze => city.maze(&mut rng),
            }
        }
        city.keep_largest_component();
        city
    }

    /// Cells west to east.
    pub fn width(&self) -> i32 {
        self.width
    }

    /// Cells north to south.
    pub fn height(&self) -> i32 {
        self.height
    }

    /// Whether (x, y) is a street cell (false off the map).
    pub fn is_street(&self, (x, y): (i32, i32)) -> bool {
        (0..self.width).contains(&x) && (0..self.height).contains(&y) && self.street[(y * self.width + x) as usize]
    }

    /// Every street cell, row by row.
    pub fn street_cells(&self) -> Vec<(i32, i32)> {
        (0..self.street.len()).filter(|&i| self.street[i]).map(|i| self.cell(i)).collect()
    }

    /// Street distance (shortest path along streets) from `from` to every cell, row by row; `u32::MAX` for
    /// buildings and unreachable cells.
    pub fn distances_from(&self, from: (i32, i32)) -> Vec<u32> {
        let mut dist = vec![u32::MAX; self.street.len()];
        if !self.is_street(from) {
            return dist;
        }
        let mut queue = VecDeque::from([from]);
        dist[self.index(from)] = 0;
        while let Some(c) = queue.pop_front() {
            let d = dist[self.index(c)];
            for n in self.neighbours(c) {
                let i = self.index(n);
                if dist[i] == u32::MAX {
                    dist[i] = d + 1;
                    queue.push_back(n);
                }
            }
        }
        dist
    }

    /// Where an agent on `from` ends up after `action`: the neighbour if it is a street, else `from`.
    pub fn moved(&self, from: (i32, i32), action: Action) -> (i32, i32) {
        let (dx, dy) = action.delta();
        let to = (from.0 + dx, from.1 + dy);
        if self.is_street(to) {
            to
        } else {
            from
        }
    }

    fn index(&self, (x, y): (i32, i32)) -> usize {
        (y * self.width + x) as usize
    }

    fn cell(&self, i: usize) -> (i32, i32) {
        (i as i32 % self.width, i as i32 / self.width)
    }

    fn set(&mut self, (x, y): (i32, i32), street: bool) {
        if (0..self.width).contains(&x) && (0..self.height).contains(&y) {
            self.street[(y * self.width + x) as usize] = street;
        }
    }

    fn neighbours(&self, (x, y): (i32, i32)) -> impl Iterator<Item = (i32, i32)> + '_ {
        [(0, -1), (0, 1), (1, 0), (-1, 0)]
            .into_iter()
            .map(move |(dx, dy)| (x + dx, y + dy))
            .filter(|&c| self.is_street(c))
    }

    /// Component label of every street cell (`usize::MAX` for buildings) and the size of each component.
    fn components(&self) -> (Vec<usize>, Vec<usize>) {
        let mut label = vec![usize::MAX; self.street.len()];
        let mut sizes = Vec::new();
        for i in 0..self.street.len() {
            if !self.street[i] || label[i] != usize::MAX {
                continue;
            }
            let id = sizes.len();
            let mut stack = vec![self.cell(i)];
            label[i] = id;
            let mut size = 0;
            while let Some(c) = stack.pop() {
                size += 1;
                for n in self.neighbours(c) {
                    let j = self.index(n);
                    if label[j] == usize::MAX {
                        label[j] = id;
                        stack.push(n);
                    }
                }
            }
            sizes.push(size);
        }
        (label, sizes)
    }

    #[cfg(test)]
    fn is_connected(&self) -> bool {
        self.components().1.len() <= 1
    }

    fn keep_largest_component(&mut self) {
        let (label, sizes) = self.components();
        // The first of the largest, so that the result is deterministic.
        let Some(best) = (0..sizes.len()).max_by_key(|&i| (sizes[i], Reverse(i))) else {
            return;
        };
        for (s, l) in self.street.iter_mut().zip(label) {
            *s = *s && l == best;
        }
    }

    fn grid(&mut self, rng: &mut ChaCha8Rng) {
        let (kx, ky) = (rng.random_range(3..=4), rng.random_range(3..=4));
        let (ox, oy) = (rng.random_range(0..kx), rng.random_range(0..ky));
        let (column, row) = (|x: i32| x % kx == ox, |y: i32| y % ky == oy);
        for y in 0..self.height {
            for x in 0..self.width {
                self.set((x, y), column(x) || row(y));
            }
        }
        // A segment is a maximal run of street cells between crossings (or a crossing and the edge), with the
        // cells just beyond its two ends.
        type Segment = (Vec<(i32, i32)>, (i32, i32), (i32, i32));
        let mut segments: Vec<Segment> = Vec::new();
        let mut run = Vec::new();
        for y in (0..self.height).filter(|&y| row(y)) {
            for x in 0..=self.width {
                if x < self.width && !column(x) {
                    run.push((x, y));
                } else if let Some(&(x0, _)) = run.first() {
                    segments.push((std::mem::take(&mut run), (x0 - 1, y), (x, y)));
                }
            }
        }
        for x in (0..self.width).filter(|&x| column(x)) {
            for y in 0..=self.height {
                if y < self.height && !row(y) {
                    run.push((x, y));
                } else if let Some(&(_, y0)) = run.first() {
                    segments.push((std::mem::take(&mut run), (x, y0 - 1), (x, y)));
                }
            }
        }
        segments.shuffle(rng);
        for (cells, a, b) in segments {
            if rng.random_bool(0.15) {
                cells.iter().for_each(|&c| self.set(c, false));
                // A segment's cells touch only each other and its two end crossings (streets are at least 3 apart),
                // so removing it disconnects the streets exactly when no other way joins its two ends; a segment
                // that runs to the edge is a dead end.
                if self.is_street(a) && self.is_street(b) && !self.reaches(a, b) {
                    cells.iter().for_each(|&c| self.set(c, true));
                }
            }
        }
    }

    /// Whether `to` can be reached from `from` along streets (a search that stops as soon as it arrives).
    fn reaches(&self, from: (i32, i32), to: (i32, i32)) -> bool {
        let mut seen = vec![false; self.street.len()];
        let mut queue = VecDeque::from([from]);
        seen[self.index(from)] = true;
        while let Some(c) = queue.pop_front() {
            if c == to {
                return true;
            }
            for n in self.neighbours(c) {
                if !std::mem::replace(&mut seen[self.index(n)], true) {
                    queue.push_back(n);
                }
            }
        }
        false
    }

    fn offset(&mut self, rng: &mut ChaCha8Rng) {
        let mut rows = Vec::new();
        let mut y = rng.random_range(0..3);
        while y < self.height {
            rows.push(y);
            y += rng.random_range(3..=4);
        }
        for &y in &rows {
            (0..self.width).for_each(|x| self.set((x, y), true));
        }
        // Bands of building rows: between two street rows, and from each edge to the nearest street row.
        let mut bounds = vec![-1];
        bounds.extend(&rows);
        bounds.push(self.height);
        for pair in bounds.windows(2) {
            let (lo, hi) = (pair[0] + 1, pair[1]);
            if lo >= hi {
                continue;
            }
            let mut x = rng.random_range(0..3);
            while x < self.width {
                (lo..hi).for_each(|y| self.set((x, y), true));
                x += rng.random_range(3..=5);
            }
        }
    }

    fn ring(&mut self, rng: &mut ChaCha8Rng) {
        let (w, h) = (self.width, self.height);
        let mut insets = Vec::new();
        let mut d = rng.random_range(0..=1);
        while w - 2 * d >= 3 && h - 2 * d >= 3 {
            insets.push(d);
            d += 3;
        }
        for &d in &insets {
            for x in d..w - d {
                self.set((x, d), true);
                self.set((x, h - 1 - d), true);
            }
            for y in d..h - d {
                self.set((d, y), true);
                self.set((w - 1 - d, y), true);
            }
        }
        for pair in insets.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            for _ in 0..rng.random_range(2..=4) {
                // A straight connector from ring a to ring b on one of the four sides, within ring b's span.
                match rng.random_range(0..4) {
                    0 => {
                        let x = rng.random_range(b..w - b);
                        (a..=b).for_each(|y| self.set((x, y), true));
                    }
                    1 => {
                        let x = rng.random_range(b..w - b);
                        (h - 1 - b..=h - 1 - a).for_each(|y| self.set((x, y), true));
                    }
                    2 => {
                        let y = rng.random_range(b..h - b);
                        (a..=b).for_each(|x| self.set((x, y), true));
                    }
                    _ => {
                        let y = rng.random_range(b..h - b);
                        (w - 1 - b..=w - 1 - a).for_each(|x| self.set((x, y), true));
                    }
                }
            }
        }
        if let (Some(&outer), true) = (insets.first(), rng.random_bool(0.5)) {
            if rng.random_bool(0.5) {
                (outer..w - outer).for_each(|x| self.set((x, h / 2), true));
            } else {
                (outer..h - outer).for_each(|y| self.set((w / 2, y), true));
            }
        }
    }

    fn maze(&mut self, rng: &mut ChaCha8Rng) {
        let (ox, oy) = (rng.random_range(0..=1), rng.random_range(0..=1));
        // Lattice cells ("rooms") at (ox + 2i, oy + 2j); walls between neighbouring rooms are carved.
        let (nx, ny) = ((self.width - ox + 1) / 2, (self.height - oy + 1) / 2);
        if nx <= 0 || ny <= 0 {
            return;
        }
        let room = |i: i32, j: i32| (ox + 2 * i, oy + 2 * j);
        let mut visited = vec![false; (nx * ny) as usize];
        let first = (rng.random_range(0..nx), rng.random_range(0..ny));
        visited[(first.1 * nx + first.0) as usize] = true;
        self.set(room(first.0, first.1), true);
        let mut stack = vec![first];
        while let Some(&(i, j)) = stack.last() {
            let next: Vec<(i32, i32)> = [(0, -1), (0, 1), (1, 0), (-1, 0)]
                .into_iter()
                .map(|(di, dj)| (i + di, j + dj))
                .filter(|&(a, b)| (0..nx).contains(&a) && (0..ny).contains(&b) && !visited[(b * nx + a) as usize])
                .collect();
            let Some(&(a, b)) = next.choose(rng) else {
                stack.pop();
                continue;
            };
            visited[(b * nx + a) as usize] = true;
            let (p, q) = (room(i, j), room(a, b));
            self.set(q, true);
            self.set(((p.0 + q.0) / 2, (p.1 + q.1) / 2), true);
            stack.push((a, b));
        }
        for j in 0..ny {
            for i in 0..nx {
                let p = room(i, j);
                for (a, b) in [(i + 1, j), (i, j + 1)] {
                    if a < nx && b < ny && rng.random_bool(0.2) {
                        let q = room(a, b);
                        self.set(((p.0 + q.0) / 2, (p.1 + q.1) / 2), true);
                    }
                }
            }
        }
    }
}

/// One car: drives back and forth along `len` cells from `origin` in direction `dir`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Car {
    origin: (i32, i32),
    dir: (i32, i32),
    len: i32,
    /// Position in the bounce cycle (0..2·(len−1)) at tick 0.
    offset: u32,
    /// φ: shifts which ticks the car moves on when it is slower than one cell per tick.
    phase: u32,
}

impl Car {
    /// Index along the track after driving `along` cells from the start of the cycle.
    fn index(&self, along: u64) -> i32 {
        let period = 2 * (self.len as u64 - 1);
        let p = (self.offset as u64 + along) % period;
        (if p < self.len as u64 { p } else { period - p }) as i32
    }

    /// Saturating: an added car's origin may be anywhere in i32 (validation then finds it off the streets).
    fn cell_at_index(&self, i: i32) -> (i32, i32) {
        (self.origin.0.saturating_add(self.dir.0 * i), self.origin.1.saturating_add(self.dir.1 * i))
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
    /// Cells in the track, [`MIN_TRACK`]..=[`MAX_TRACK`], every one a street.
    pub len: i32,
    /// Position in the bounce cycle at tick 0, below 2·(len − 1).
    pub offset: u32,
    /// φ (see the module docs), below the instance's `speed_ticks`.
    pub phase: u32,
}

impl AddedCar {
    fn car(&self) -> Car {
        let dir = if self.horizontal { (1, 0) } else { (0, 1) };
        Car { origin: self.origin, dir, len: self.len, offset: self.offset, phase: self.phase }
    }

    fn from_car(car: &Car) -> AddedCar {
        AddedCar {
            origin: car.origin,
            horizontal: car.dir == (1, 0),
            len: car.len,
            offset: car.offset,
            phase: car.phase,
        }
    }

    /// Everything but the street check.
    fn check_shape(&self, speed_ticks: u32) -> Result<(), String> {
        if !(MIN_TRACK..=MAX_TRACK).contains(&self.len) {
            return Err(format!("added_cars: len {} is outside {MIN_TRACK}..={MAX_TRACK}", self.len));
        }
        if self.offset >= 2 * (self.len as u32 - 1) || self.phase >= speed_ticks {
            return Err(format!(
                "added_cars: offset {} (below {} needed) or phase {} (below speed_ticks {speed_ticks} needed) is out \
                 of range",
                self.offset,
                2 * (self.len - 1),
                self.phase
            ));
        }
        Ok(())
    }

    fn on_streets(&self, city: &City) -> bool {
        let car = self.car();
        (0..self.len).all(|i| city.is_street(car.cell_at_index(i)))
    }
}

/// The cells a car occupies during one tick, from its cell at the start to its cell at the end.
struct Sweep {
    cells: [(i32, i32); MAX_CELLS_PER_TICK as usize + 1],
    len: usize,
}

impl Sweep {
    fn cells(&self) -> &[(i32, i32)] {
        &self.cells[..self.len]
    }
}

/// Every car of an instance and their common speed.
#[derive(Debug, Clone)]
struct Traffic {
    cars: Vec<Car>,
    speed_cells: u32,
    speed_ticks: u32,
}

impl Traffic {
    /// The cars of `inst` in `city`, drawn from its traffic seed.
    fn generate(inst: &NavInstance, city: &City) -> Traffic {
        let mut rng = ChaCha8Rng::seed_from_u64(inst.traffic_seed);
        let streets = city.street_cells();
        let n = match inst.cars_per_100_cells {
            0 => 0,
            p => ((streets.len() * p as usize + 50) / 100).max(1),
        };
        let mut cars = Vec::with_capacity(n);
        for _ in 0..n {
            for _ in 0..CAR_ATTEMPTS {
                let Some(&cell) = streets.choose(&mut rng) else { break };
                let horizontal = rng.random_bool(0.5);
                let car = track(city, cell, horizontal, inst.speed_ticks, &mut rng)
                    .or_else(|| track(city, cell, !horizontal, inst.speed_ticks, &mut rng));
                if let Some(car) = car {
                    cars.push(car);
                    break;
                }
            }
        }
        // Stated cars that are malformed or leave the streets are left out (validation reports them).
        let added = inst.added_cars.iter().filter(|c| c.check_shape(inst.speed_ticks).is_ok() && c.on_streets(city));
        cars.extend(added.map(AddedCar::car));
        Traffic { cars, speed_cells: inst.speed_cells, speed_ticks: inst.speed_ticks }
    }

    /// Cells driven by tick `t`.
    fn travelled(&self, car: &Car, t: u32) -> u64 {
        (t as u64 * self.speed_cells as u64 + car.phase as u64) / self.speed_ticks as u64
    }

    fn position(&self, car: &Car, t: u32) -> (i32, i32) {
        car.cell_at_index(car.index(self.travelled(car, t)))
    }

    /// The cells `car` occupies during tick t (from tick t to t + 1).
    fn sweep(&self, car: &Car, t: u32) -> Sweep {
        let (from, to) = (self.travelled(car, t), self.travelled(car, t + 1));
        let mut sweep = Sweep { cells: [(0, 0); MAX_CELLS_PER_TICK as usize + 1], len: 0 };
        for along in from..=to.min(from + MAX_CELLS_PER_TICK as u64) {
            sweep.cells[sweep.len] = car.cell_at_index(car.index(along));
            sweep.len += 1;
        }
        sweep
    }
}

/// A car track of 4–8 cells through `cell` along its straight street run, or `None` if the run is too short.
fn track(city: &City, cell: (i32, i32), horizontal: bool, ticks: u32, rng: &mut ChaCha8Rng) -> Option<Car> {
    let dir = if horizontal { (1, 0) } else { (0, 1) };
    let at = |k: i32| (cell.0 + dir.0 * k, cell.1 + dir.1 * k);
    let (mut back, mut ahead) = (0, 0);
    while city.is_street(at(-back - 1)) {
        back += 1;
    }
    while city.is_street(at(ahead + 1)) {
        ahead += 1;
    }
    let run = back + ahead + 1;
    if run < MIN_TRACK {
        return None;
    }
    let len = rng.random_range(MIN_TRACK..=run.min(MAX_TRACK));
    // The track's first cell, so that the track holds `cell` and stays on the run.
    let first = rng.random_range((-back).max(1 - len)..=0i32.min(ahead + 1 - len));
    Some(Car {
        origin: at(first),
        dir,
        len,
        offset: rng.random_range(0..2 * (len as u32 - 1)),
        phase: rng.random_range(0..ticks),
    })
}

/// Whether a car sweeping `q` during a tick kills an agent moving from `a` to `b`: the three death rules of the
/// module docs, literally.
fn hits(q: &[(i32, i32)], a: (i32, i32), b: (i32, i32)) -> bool {
    let k = q.len() - 1;
    let ends_on = q[k] == b;
    let swaps = a != b && q.windows(2).any(|s| s[0] == b && s[1] == a);
    let passes = k >= 2 && q[1..k].iter().any(|&c| c == a || c == b);
    ends_on || swaps || passes
}

/// Flag of a hazard layer: a car is on the cell at the end of the tick.
const END: u8 = 1 << 5;
/// Flag of a hazard layer: a car passes through the cell in the middle of a two-cell move.
const MID: u8 = 1 << 6;

/// Per-tick hazard maps for the planner, built lazily: for tick t, one byte per cell with [`END`], [`MID`] and,
/// in bit `d.index()`, whether a car stepped out of the cell in direction d during the tick. They answer the
/// death rules in constant time per move.
struct Hazards<'a> {
    city: &'a City,
    traffic: &'a Traffic,
    flags: Vec<u8>,
}

impl<'a> Hazards<'a> {
    fn new(city: &'a City, traffic: &'a Traffic) -> Self {
        Hazards { city, traffic, flags: Vec::new() }
    }

    fn layer(&mut self, t: u32) -> &[u8] {
        let n = self.city.street.len();
        let t = t as usize;
        while self.flags.len() < (t + 1) * n {
            let tick = (self.flags.len() / n) as u32;
            let start = self.flags.len();
            self.flags.resize(start + n, 0);
            let layer = &mut self.flags[start..];
            for car in &self.traffic.cars {
                let sweep = self.traffic.sweep(car, tick);
                let q = sweep.cells();
                let k = q.len() - 1;
                layer[self.city.index(q[k])] |= END;
                for &c in q.iter().take(k).skip(1) {
                    layer[self.city.index(c)] |= MID;
                }
                for s in q.windows(2) {
                    let d =
                        Action::from_delta((s[1].0 - s[0].0, s[1].1 - s[0].1)).expect("cars move one cell at a time");
                    layer[self.city.index(s[0])] |= 1 << d.index();
                }
            }
        }
        &self.flags[t * n..(t + 1) * n]
    }
}

/// [`hits`] for every car at once, read off a hazard layer: `action` took the agent from cell index `a` to `b`.
fn blocked(layer: &[u8], a: usize, b: usize, action: Action) -> bool {
    layer[b] & (END | MID) != 0
        || layer[a] & MID != 0
        || (a != b && action != Action::Wait && layer[b] & (1 << action.opposite().index()) != 0)
}

/// Space-time A*: the shortest safe route from `start` to `goal` within `max_steps` ticks, and the states expanded.
fn search(
    city: &City,
    traffic: &Traffic,
    start: (i32, i32),
    t0: u32,
    goal: (i32, i32),
    max_steps: u32,
) -> (Option<Vec<Action>>, u64) {
    if !city.is_street(start) || !city.is_street(goal) || t0 > max_steps {
        return (None, 0);
    }
    let to_goal = city.distances_from(goal);
    let n = city.street.len();
    let (s, g) = (city.index(start), city.index(goal));
    if t0.saturating_add(to_goal[s]) > max_steps {
        return (None, 0);
    }
    let mut hazards = Hazards::new(city, traffic);
    // seen[t·n + cell]: 0 unseen, else 1 + the index of the action that first reached the state (6 at the root).
    let mut seen = vec![0u8; (max_steps as usize + 1) * n];
    seen[t0 as usize * n + s] = 6;
    // Lowest f first; among equal f the latest tick (nearest the goal), then the lowest cell, for determinism.
    let mut open = BinaryHeap::from([Reverse((t0 + to_goal[s], Reverse(t0), s as u32))]);
    let mut expanded = 0u64;
    while let Some(Reverse((_, Reverse(t), cell))) = open.pop() {
        expanded += 1;
        let cell = cell as usize;
        if cell == g {
            return (Some(path_to(city, &seen, cell, t, t0)), expanded);
        }
        if t >= max_steps {
            continue;
        }
        let here = city.cell(cell);
        let layer = hazards.layer(t);
        for action in Action::ALL {
            let to = city.moved(here, action);
            if to == here && action != Action::Wait {
                // A wasted move is a wait; the search takes the wait itself.
                continue;
            }
            let b = city.index(to);
            let f = (t + 1).saturating_add(to_goal[b]);
            if f > max_steps || blocked(layer, cell, b, action) {
                continue;
            }
            let key = (t as usize + 1) * n + b;
            if seen[key] == 0 {
                seen[key] = action.index() as u8 + 1;
                open.push(Reverse((f, Reverse(t + 1), b as u32)));
            }
        }
    }
    (None, expanded)
}

/// Walks the `seen` table of [`search`] back from (cell, t) to the start tick `t0`.
fn path_to(city: &City, seen: &[u8], mut cell: usize, mut t: u32, t0: u32) -> Vec<Action> {
    let n = city.street.len();
    let mut actions = Vec::with_capacity((t - t0) as usize);
    while t > t0 {
        let action = Action::ALL[seen[t as usize * n + cell] as usize - 1];
        let ((x, y), (dx, dy)) = (city.cell(cell), action.delta());
        cell = city.index((x - dx, y - dy));
        actions.push(action);
        t -= 1;
    }
    actions.reverse();
    actions
}

/// The planner's shortest safe route for `inst` and the number of states it expanded, or `None` when no safe route
/// reaches the goal within the step limit (or the instance is malformed).
pub fn plan(inst: &NavInstance) -> Option<(Vec<Action>, u64)> {
    inst.check_shape().ok()?;
    let city = inst.city();
    let traffic = Traffic::generate(inst, &city);
    let (route, expanded) = search(&city, &traffic, inst.start, 0, inst.goal, inst.max_steps);
    route.map(|r| (r, expanded))
}

/// The planner's shortest safe route from `position` at tick `t0` to the goal (the expert an imitation learner
/// queries in the states its own policy reaches), or `None` when no safe route remains.
pub fn plan_from(inst: &NavInstance, position: (i32, i32), t0: u32) -> Option<Vec<Action>> {
    inst.check_shape().ok()?;
    let city = inst.city();
    let traffic = Traffic::generate(inst, &city);
    search(&city, &traffic, position, t0, inst.goal, inst.max_steps).0
}

/// What one [`World::step`] led to.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The observation after the step ([`OBS_DIM`] floats).
    pub obs: Vec<f32>,
    /// The step's reward (see the module docs).
    pub reward: f32,
    /// The episode ended by death or by reaching the goal.
    pub terminated: bool,
    /// The episode ended at the step limit.
    pub truncated: bool,
    /// The agent died.
    pub died: bool,
    /// The agent reached the goal alive.
    pub reached: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Running,
    Reached,
    Died,
    TimedOut,
}

/// A running episode, Gymnasium-like: [`World::reset`], then [`World::step`] until `terminated` or `truncated`.
/// Deterministic per instance.
#[derive(Debug, Clone)]
pub struct World {
    city: City,
    traffic: Traffic,
    start: (i32, i32),
    goal: (i32, i32),
    max_steps: u32,
    /// Street distance to the goal of every cell, for the shaping reward.
    to_goal: Vec<u32>,
    pos: (i32, i32),
    t: u32,
    status: Status,
}

impl World {
    /// The world of `inst`, already reset.
    ///
    /// # Panics
    /// If the instance's sizes, speed, density or step limit are out of bounds, or its start or goal is off the
    /// map (see [`Navigation`]'s `validate`); a valid instance never panics. [`World::try_new`] returns an error
    /// instead.
    pub fn new(inst: &NavInstance) -> World {
        match World::try_new(inst) {
            Ok(w) => w,
            Err(e) => panic!("navigation: malformed instance: {e}"),
        }
    }

    /// The world of `inst`, already reset; an error naming the field when the instance cannot have one (see
    /// [`World::new`]).
    pub fn try_new(inst: &NavInstance) -> Result<World, String> {
        inst.check_shape()?;
        let city = inst.city();
        for (name, (x, y)) in [("start", inst.start), ("goal", inst.goal)] {
            if !(0..city.width).contains(&x) || !(0..city.height).contains(&y) {
                // Off the map, the window and the distance table would be read out of bounds.
                return Err(format!("{name} ({x}, {y}) is off the {}x{} map", city.width, city.height));
            }
        }
        let traffic = Traffic::generate(inst, &city);
        Ok(World::from_parts(city, traffic, inst.start, inst.goal, inst.max_steps))
    }

    fn from_parts(city: City, traffic: Traffic, start: (i32, i32), goal: (i32, i32), max_steps: u32) -> World {
        let to_goal = city.distances_from(goal);
        World { city, traffic, start, goal, max_steps, to_goal, pos: start, t: 0, status: Status::Running }
    }

    /// Starts the episode again and returns the first observation.
    pub fn reset(&mut self) -> Vec<f32> {
        self.pos = self.start;
        self.t = 0;
        self.status = Status::Running;
        self.observe()
    }

    /// Takes one action. Stepping a finished episode changes nothing: reward 0 and the final flags again.
    pub fn step(&mut self, action: Action) -> Step {
        let reward = self.advance(action);
        Step {
            obs: self.observe(),
            reward,
            terminated: matches!(self.status, Status::Reached | Status::Died),
            truncated: self.status == Status::TimedOut,
            died: self.status == Status::Died,
            reached: self.status == Status::Reached,
        }
    }

    /// Moves the agent and the cars one tick and returns the reward.
    fn advance(&mut self, action: Action) -> f32 {
        if self.status != Status::Running {
            return 0.0;
        }
        let (a, b) = (self.pos, self.city.moved(self.pos, action));
        let died = self.traffic.cars.iter().any(|car| hits(self.traffic.sweep(car, self.t).cells(), a, b));
        self.t += 1;
        self.pos = b;
        let mut reward = STEP_REWARD;
        if died {
            self.status = Status::Died;
            return reward + DEATH_REWARD;
        }
        let (before, after) = (self.to_goal[self.city.index(a)], self.to_goal[self.city.index(b)]);
        if before != u32::MAX && after != u32::MAX {
            reward += SHAPING_REWARD * (before as f32 - after as f32);
        }
        if b == self.goal {
            self.status = Status::Reached;
            reward += GOAL_REWARD;
        } else if self.t >= self.max_steps {
            self.status = Status::TimedOut;
        }
        reward
    }

    /// The current observation (layout in the module docs).
    pub fn observe(&self) -> Vec<f32> {
        let mut obs = vec![0.0; OBS_DIM];
        let (x, y) = self.pos;
        // Window index of a map cell, if it is in the window.
        let slot = |(cx, cy): (i32, i32)| -> Option<usize> {
            let (dx, dy) = (cx - x, cy - y);
            (dx.abs() <= RADIUS && dy.abs() <= RADIUS).then(|| ((dy + RADIUS) * WINDOW as i32 + dx + RADIUS) as usize)
        };
        for dy in -RADIUS..=RADIUS {
            for dx in -RADIUS..=RADIUS {
                let c = (x + dx, y + dy);
                let i = slot(c).expect("inside the window");
                if !self.city.is_street(c) {
                    obs[i] = 1.0;
                }
                if c == self.goal {
                    obs[3 * WINDOW_CELLS + i] = 1.0;
                }
            }
        }
        for car in &self.traffic.cars {
            let sweep = self.traffic.sweep(car, self.t);
            let q = sweep.cells();
            if let Some(i) = slot(q[0]) {
                obs[WINDOW_CELLS + i] = 1.0;
            }
            // The cells it ends the coming tick on or passes through: q1..qk (q0 if it does not move).
            for &c in &q[1.min(q.len() - 1)..] {
                if let Some(i) = slot(c) {
                    obs[2 * WINDOW_CELLS + i] = 1.0;
                }
            }
        }
        let offset = |d: i32| (d as f32 / GOAL_SCALE).clamp(-1.0, 1.0);
        obs[4 * WINDOW_CELLS] = offset(self.goal.0 - x);
        obs[4 * WINDOW_CELLS + 1] = offset(self.goal.1 - y);
        obs
    }

    /// The whole city as [`GRID_CHANNELS`] maps (layout in the module docs).
    pub fn observe_grid(&self) -> GridObservation {
        let (w, h) = (self.city.width() as usize, self.city.height() as usize);
        let plane = w * h;
        let mut data = vec![0.0; GRID_CHANNELS * plane];
        let at = |(x, y): (i32, i32)| -> Option<usize> {
            (x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h).then(|| y as usize * w + x as usize)
        };
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                if !self.city.is_street((x, y)) {
                    data[y as usize * w + x as usize] = 1.0;
                }
            }
        }
        if let Some(i) = at(self.goal) {
            data[plane + i] = 1.0;
        }
        for car in &self.traffic.cars {
            if let Some(i) = at(self.traffic.position(car, self.t)) {
                data[2 * plane + i] = 1.0;
            }
            for k in 0..GRID_LOOKAHEAD {
                let sweep = self.traffic.sweep(car, self.t + k as u32);
                let q = sweep.cells();
                for &c in &q[1.min(q.len() - 1)..] {
                    if let Some(i) = at(c) {
                        data[(3 + k) * plane + i] = 1.0;
                    }
                }
            }
        }
        let mut outside = vec![0.0; GRID_CHANNELS];
        outside[0] = 1.0;
        GridObservation {
            channels: GRID_CHANNELS,
            height: h,
            width: w,
            data,
            agent: (self.pos.0 as usize, self.pos.1 as usize),
            static_channels: 2,
            outside,
        }
    }

    /// The agent's cell.
    pub fn position(&self) -> (i32, i32) {
        self.pos
    }

    /// Ticks taken so far.
    pub fn tick(&self) -> u32 {
        self.t
    }

    /// Whether the episode has ended (goal, death or step limit).
    pub fn is_done(&self) -> bool {
        self.status != Status::Running
    }

    /// The city.
    pub fn city(&self) -> &City {
        &self.city
    }

    /// Where every car is at tick `t`, in the order the cars were drawn.
    pub fn cars_at(&self, t: u32) -> Vec<(i32, i32)> {
        self.traffic.cars.iter().map(|car| self.traffic.position(car, t)).collect()
    }
}

/// How a replayed route went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// It reached the goal alive.
    pub reached: bool,
    /// It died.
    pub died: bool,
    /// The step limit ran out first.
    pub timed_out: bool,
    /// Ticks taken until the episode ended (or the actions ran out: then none of the three flags is set).
    pub steps: usize,
    /// The agent's cell at every tick, from the start (so `steps + 1` cells).
    pub path: Vec<(i32, i32)>,
    /// Where it died.
    pub death_cell: Option<(i32, i32)>,
}

/// Plays `actions` in a fresh [`World`] of `inst`, stopping when the episode ends; later actions are ignored.
///
/// # Panics
/// As [`World::new`], on a malformed instance.
pub fn replay(inst: &NavInstance, actions: &[Action]) -> Replay {
    let mut world = World::new(inst);
    let mut path = vec![world.pos];
    for &a in actions {
        if world.is_done() {
            break;
        }
        world.advance(a);
        path.push(world.pos);
    }
    let died = world.status == Status::Died;
    Replay {
        reached: world.status == Status::Reached,
        died,
        timed_out: world.status == Status::TimedOut,
        steps: world.t as usize,
        death_cell: died.then_some(world.pos),
        path,
    }
}

/// An SVG picture of one episode: buildings and streets, each car's track as driven during the episode (faint),
/// the cars where the episode ended, the agent's path, start and goal, a red ✕ where it died, and a title line with
/// the outcome and the step count.
///
/// # Panics
/// As [`World::new`], on a malformed instance.
pub fn render_svg(inst: &NavInstance, actions: &[Action]) -> String {
    const CELL: i32 = 24;
    const HEADER: i32 = 40;
    const MIN_WIDTH: i32 = 600;
    const LEGEND: [(&str, &str); 5] = [
        ("#2ca02c", "● start"),
        ("#8e44ad", "◆ goal"),
        ("#1f77b4", "— path"),
        ("#e67e22", "— car tracks, ■ cars at the end"),
        ("#d62728", "✕ death"),
    ];
    let world = World::new(inst);
    let r = replay(inst, actions);
    let (w, h) = (world.city.width, world.city.height);
    let centre = |(x, y): (i32, i32)| (x * CELL + CELL / 2, y * CELL + CELL / 2);
    let mut s = String::new();
    // Wide enough for the title line even for a small city.
    let (width, height) = ((w * CELL).max(MIN_WIDTH), h * CELL + HEADER);
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let outcome = if r.reached {
        let planner = plan(inst).map_or("none".to_string(), |(p, _)| p.len().to_string());
        format!("reached the goal in {} steps (planner: {planner})", r.steps)
    } else if let Some((x, y)) = r.death_cell {
        format!("died at ({x}, {y}) after {} steps", r.steps)
    } else if r.timed_out {
        format!("timed out after {} steps", r.steps)
    } else {
        format!("stopped short of the goal after {} steps", r.steps)
    };
    let _ = writeln!(
        s,
        r#"<text x="4" y="14">{} city {}, {w}x{h}, {} cars at {}/{} cells per tick: {outcome}</text>"#,
        inst.pattern.name(),
        inst.city_seed,
        world.traffic.cars.len(),
        inst.speed_cells,
        inst.speed_ticks,
    );
    s.push_str(r#"<text x="4" y="30">"#);
    for (i, (colour, label)) in LEGEND.into_iter().enumerate() {
        let gap = if i == 0 { 0 } else { 12 };
        let _ = write!(s, r#"<tspan fill="{colour}" dx="{gap}">{label}</tspan>"#);
    }
    s.push_str("</text>\n");
    let _ = writeln!(s, r#"<g transform="translate(0,{HEADER})">"#);
    let _ = writeln!(s, r##"<rect width="{}" height="{}" fill="#5a5a5a"/>"##, w * CELL, h * CELL);
    // Streets as horizontal runs, one rect each.
    for y in 0..h {
        let mut x = 0;
        while x < w {
            if !world.city.is_street((x, y)) {
                x += 1;
                continue;
            }
            let x0 = x;
            while x < w && world.city.is_street((x, y)) {
                x += 1;
            }
            let _ = writeln!(
                s,
                r##"<rect x="{}" y="{}" width="{}" height="{CELL}" fill="#ececec"/>"##,
                x0 * CELL,
                y * CELL,
                (x - x0) * CELL
            );
        }
    }
    for car in &world.traffic.cars {
        // The part of the track the car drove during the episode (the whole track once it completed a cycle).
        let (from, to) = (world.traffic.travelled(car, 0), world.traffic.travelled(car, r.steps as u32));
        let period = 2 * (car.len as u64 - 1);
        let indices = (from..=to.min(from + period)).map(|d| car.index(d));
        let (lo, hi) = indices.fold((i32::MAX, i32::MIN), |(lo, hi), i| (lo.min(i), hi.max(i)));
        let ((x1, y1), (x2, y2)) = (centre(car.cell_at_index(lo)), centre(car.cell_at_index(hi)));
        let _ = writeln!(
            s,
            "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"#e67e22\" stroke-opacity=\"0.35\" \
             stroke-width=\"7\" stroke-linecap=\"round\"/>"
        );
        let (cx, cy) = centre(world.traffic.position(car, r.steps as u32));
        let _ = writeln!(s, r##"<rect x="{}" y="{}" width="8" height="8" fill="#e67e22"/>"##, cx - 4, cy - 4);
    }
    let points: Vec<String> = r.path.iter().map(|&c| centre(c)).map(|(x, y)| format!("{x},{y}")).collect();
    let _ = writeln!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#1f77b4" stroke-width="3" stroke-linejoin="round"/>"##,
        points.join(" ")
    );
    let (sx, sy) = centre(inst.start);
    let _ = writeln!(s, r##"<circle cx="{sx}" cy="{sy}" r="5" fill="#2ca02c"/>"##);
    let (gx, gy) = centre(inst.goal);
    let _ = writeln!(
        s,
        r##"<polygon points="{gx},{} {},{gy} {gx},{} {},{gy}" fill="#8e44ad"/>"##,
        gy - 7,
        gx + 7,
        gy + 7,
        gx - 7
    );
    if let Some(c) = r.death_cell {
        let (x, y) = centre(c);
        let _ = writeln!(
            s,
            r##"<path d="M{} {} L{} {} M{} {} L{} {}" stroke="#d62728" stroke-width="3"/>"##,
            x - 6,
            y - 6,
            x + 6,
            y + 6,
            x - 6,
            y + 6,
            x + 6,
            y - 6
        );
    }
    s.push_str("</g>\n</svg>\n");
    s
}

/// The navigation task.
#[derive(Debug, Clone, Copy, Default)]
pub struct Navigation;

const TRAINING: &str = "training: grid city from 32 seeds, 12x12, 5 cars per 100 street cells, cars 1 cell / 2 ticks";

static AXES: [AxisSpec; 4] = [
    AxisSpec {
        name: "city",
        description: "the city layout: unseen city seeds, then other street patterns; size and traffic as in training",
        levels: [
            TRAINING,
            "new city seeds, grid pattern",
            "new seeds, offset pattern (staggered brick-like blocks, T-junctions)",
            "new seeds, ring pattern (concentric ring roads, radial connectors)",
            "new seeds, maze pattern (one-cell corridors, dead ends, loops)",
        ],
    },
    AxisSpec {
        name: "size",
        description: "width and height of the city (training seeds and pattern, step limit 4*(W+H))",
        levels: [TRAINING, "16x16", "22x22", "28x28", "36x36 (3x wider, 9x the area)"],
    },
    AxisSpec {
        name: "traffic",
        description: "cars per 100 street cells, everything else as in training",
        levels: [TRAINING, "8 cars per 100 street cells", "11", "15", "20 (4x training)"],
    },
    AxisSpec {
        name: "speed",
        description: "car speed, everything else as in training (the agent always moves 1 cell per tick)",
        levels: [
            TRAINING,
            "2 cells / 3 ticks",
            "1 cell / tick (as fast as the agent)",
            "3 cells / 2 ticks (some two-cell moves)",
            "2 cells / tick (4x training; the fastest valid speed: the traffic sweep follows at most 2 cells per tick)",
        ],
    },
];

/// One draw of an instance with the given parameters; `None` when the draw is unusable (start under a car, no goal
/// far enough away, or no safe route).
fn draw(
    rng: &mut ChaCha8Rng,
    pattern: Pattern,
    city_seed: u64,
    size: u32,
    traffic: u32,
    (speed_cells, speed_ticks): (u32, u32),
) -> Option<NavInstance> {
    let mut inst = NavInstance {
        pattern,
        city_seed,
        width: size,
        height: size,
        traffic_seed: rng.random::<u32>() as u64,
        cars_per_100_cells: traffic,
        speed_cells,
        speed_ticks,
        start: (0, 0),
        goal: (0, 0),
        max_steps: STEPS_PER_SIDE * (size + size),
        added_cars: Vec::new(),
    };
    let city = inst.city();
    let cars = Traffic::generate(&inst, &city);
    let streets = city.street_cells();
    inst.start = *streets.choose(rng)?;
    let dist = city.distances_from(inst.start);
    let goals: Vec<(i32, i32)> =
        streets.iter().copied().filter(|&c| (MIN_DISTANCE..u32::MAX).contains(&dist[city.index(c)])).collect();
    inst.goal = *goals.choose(rng)?;
    if cars.cars.iter().any(|car| cars.position(car, 0) == inst.start) {
        return None;
    }
    search(&city, &cars, inst.start, 0, inst.goal, inst.max_steps).0.map(|_| inst)
}

/// [`Navigation::generate`], also returning how many draws it took.
fn generate_counted(cell: Cell, rng: &mut ChaCha8Rng) -> (NavInstance, usize) {
    let (mut pattern, mut size, mut traffic, mut speed, mut new_city) =
        (Pattern::Grid, TRAIN_SIZE, TRAIN_TRAFFIC, TRAIN_SPEED, false);
    match (cell.axis, cell.level as usize) {
        (None, _) | (_, 0) => {}
        (Some(0), l) => (pattern, new_city) = (CITY_LEVELS[l - 1], true),
        (Some(1), l) => size = SIZE_LEVELS[l - 1],
        (Some(2), l) => traffic = TRAFFIC_LEVELS[l - 1],
        (Some(_), l) => speed = SPEED_LEVELS[l - 1],
    }
    for attempt in 0..GENERATE_ATTEMPTS {
        let city_seed = if new_city {
            rng.random_range(TRAIN_CITY_SEEDS..=u32::MAX as u64)
        } else {
            rng.random_range(0..TRAIN_CITY_SEEDS)
        };
        if let Some(inst) = draw(rng, pattern, city_seed, size, traffic, speed) {
            return (inst, attempt + 1);
        }
    }
    panic!("navigation: no solvable instance in {GENERATE_ATTEMPTS} draws for {cell:?}")
}

/// A [`World`] as the harness's [`Episode`]. It keeps the observation each step returns, so that the policy's
/// next `observe` does not build it a second time.
struct NavEpisode {
    world: World,
    obs: Vec<f32>,
}

impl Episode for NavEpisode {
    fn observe(&self) -> Vec<f32> {
        self.obs.clone()
    }

    fn observe_grid(&self) -> Option<GridObservation> {
        Some(self.world.observe_grid())
    }

    fn step(&mut self, action: usize) -> EpisodeStep {
        let Some(a) = Action::from_index(action) else {
            // An index outside the action set wastes the tick, as a move into a wall does.
            return self.step(Action::Wait.index());
        };
        let s = self.world.step(a);
        self.obs = s.obs;
        EpisodeStep { reward: s.reward, done: s.terminated || s.truncated, died: s.died, reached: s.reached }
    }
}

impl Task for Navigation {
    type Instance = NavInstance;
    type Answer = Route;

    fn id(&self) -> &'static str {
        "navigation-v1"
    }

    fn description(&self) -> &'static str {
        "walk a grid city from a start cell to a goal cell without touching any of the cars that drive its streets \
         by known rules"
    }

    fn axes(&self) -> &'static [AxisSpec] {
        &AXES
    }

    /// Draws city seed, traffic seed, start and goal until the planner finds a safe route (at most 64 draws; the
    /// most any instance needed in 1,000 per cell was 12).
    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> NavInstance {
        generate_counted(cell, rng).0
    }

    fn validate(&self, inst: &NavInstance) -> Result<(), String> {
        inst.check_shape()?;
        let city = inst.city();
        for (name, c) in [("start", inst.start), ("goal", inst.goal)] {
            if !city.is_street(c) {
                return Err(format!("{name} {c:?} is not a street cell"));
            }
        }
        if inst.start == inst.goal {
            return Err("start and goal are the same cell".into());
        }
        if let Some(car) = inst.added_cars.iter().find(|c| !c.on_streets(&city)) {
            return Err(format!("added_cars: {car:?} leaves the streets"));
        }
        let traffic = Traffic::generate(inst, &city);
        if traffic.cars.iter().any(|car| traffic.position(car, 0) == inst.start) {
            return Err("a car stands on the start at tick 0".into());
        }
        match search(&city, &traffic, inst.start, 0, inst.goal, inst.max_steps).0 {
            Some(_) => Ok(()),
            None => Err(format!("no safe route reaches the goal within max_steps {}", inst.max_steps)),
        }
    }

    fn score(&self, inst: &NavInstance, answer: &Route) -> Outcome {
        // The rule: the replayed route reaches the goal alive within the step limit.
        let failed = |why| Outcome { success: false, metric: FAILED_RATIO, failure: Some(why) };
        if World::try_new(inst).is_err() {
            return failed("invalid");
        }
        let r = replay(inst, &answer.actions);
        if !r.reached {
            return failed(match (r.died, r.timed_out) {
                (true, _) => "death",
                (false, true) => "timeout",
                (false, false) => "stopped short",
            });
        }
        // The planner is exact, so its length is the optimum; a route that reached the goal proves one exists.
        let optimal = plan(inst).map_or(r.steps, |(p, _)| p.len()).max(1);
        Outcome::new(true, (r.steps as f64 / optimal as f64).min(FAILED_RATIO))
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

    fn solve_symbolic(&self, inst: &NavInstance) -> (Route, SolveInfo) {
        if inst.check_shape().is_err() {
            return (Route::default(), SolveInfo { work: 0 });
        }
        let city = inst.city();
        let traffic = Traffic::generate(inst, &city);
        let (actions, expanded) = search(&city, &traffic, inst.start, 0, inst.goal, inst.max_steps);
        (Route { actions: actions.unwrap_or_default() }, SolveInfo { work: expanded })
    }

    fn limits(&self) -> &'static str {
        "cities 6x6 to 64x64; at most 50 cars per 100 street cells; cars 1-2 cells per tick at most (speed_ticks \
         1-4; the traffic sweep follows no faster car, so 3 cells per tick is refused); max_steps 1-4096; at most 8 \
         added cars, on streets; start and goal distinct street cells joined by a safe route"
    }

    fn symbolic_description(&self) -> &'static str {
        "space-time A* over (x, y, t) on the known car schedule, street distance to the goal as heuristic"
    }

    fn strict_success(&self, _outcome: &Outcome) -> Option<bool> {
        None
    }

    /// Policies see the egocentric observation of [`World::observe`] and choose one of the five actions.
    fn encoding(&self) -> Encoding {
        Encoding::Policy(PolicyShape { observation: OBS_DIM, actions: Action::ALL.len() })
    }

    fn episode(&self, inst: &NavInstance) -> Option<Box<dyn Episode>> {
        let world = World::try_new(inst).ok()?;
        Some(Box::new(NavEpisode { obs: world.observe(), world }))
    }

    /// The planner's route, as action indices.
    fn demonstration(&self, inst: &NavInstance) -> Option<Vec<usize>> {
        plan(inst).map(|(actions, _)| actions.into_iter().map(Action::index).collect())
    }

    /// Replays `taken` and asks the planner for the best next action from the state reached.
    fn expert_action(&self, inst: &NavInstance, taken: &[usize]) -> Option<usize> {
        let mut world = self.episode(inst).map(|_| World::new(inst))?;
        for &a in taken {
            if world.is_done() {
                return None;
            }
            world.step(Action::from_index(a)?);
        }
        if world.is_done() {
            return None;
        }
        plan_from(inst, world.position(), world.tick())?.first().map(|a| a.index())
    }

    fn answer_from_actions(&self, _inst: &NavInstance, actions: &[usize]) -> Option<Route> {
        actions.iter().map(|&a| Action::from_index(a)).collect::<Option<Vec<_>>>().map(|actions| Route { actions })
    }

    fn render_svg(&self, inst: &NavInstance, answer: Option<&Route>) -> Option<String> {
        World::try_new(inst).ok()?;
        Some(render_svg(inst, answer.map_or(&[][..], |r| &r.actions)))
    }

    fn attack_unit(&self) -> &'static str {
        "cars added, each on a new track through a cell of the solver's own route, timed to stand there when the \
         agent does; the planner still reaches the goal"
    }

    /// Up to `count` variants with `size` more cars ([`AddedCar`]), each on a straight track of 4-8 cells through a
    /// cell the answer's route visits at some tick t ≥ 1, timed to stand on that cell at tick t. Only valid variants
    /// that the planner still solves are kept, from at most [`VARIANT_DRAWS`] × `count` draws.
    fn attack_variants(
        &self,
        inst: &NavInstance,
        answer: &Route,
        size: usize,
        count: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<NavInstance> {
        if size == 0 || inst.check_shape().is_err() || inst.added_cars.len() + size > MAX_ADDED_CARS {
            return Vec::new();
        }
        let city = inst.city();
        let path = replay(inst, &answer.actions).path;
        let aims: Vec<(u32, (i32, i32))> = path.iter().enumerate().skip(1).map(|(t, &c)| (t as u32, c)).collect();
        let mut out = Vec::with_capacity(count);
        for _ in 0..VARIANT_DRAWS * count {
            if out.len() == count {
                break;
            }
            let mut variant = inst.clone();
            for _ in 0..size {
                let Some(&(t, cell)) = aims.choose(rng) else { return out };
                variant.added_cars.extend(aimed_car(&city, inst, cell, t, rng));
            }
            if variant.added_cars.len() == inst.added_cars.len() + size && self.validate(&variant).is_ok() {
                out.push(variant);
            }
        }
        out
    }
}

/// Draws per variant [`Task::attack_variants`] may spend before it returns fewer variants than asked for.
pub const VARIANT_DRAWS: usize = 8;

/// A car on a straight track of 4-8 street cells through `cell` that stands on `cell` at tick `t`; `None` when no
/// straight street run through the cell is long enough.
fn aimed_car(city: &City, inst: &NavInstance, cell: (i32, i32), t: u32, rng: &mut ChaCha8Rng) -> Option<AddedCar> {
    let horizontal = rng.random_bool(0.5);
    let car = track(city, cell, horizontal, inst.speed_ticks, rng)
        .or_else(|| track(city, cell, !horizontal, inst.speed_ticks, rng))?;
    let i = ((cell.0 - car.origin.0) * car.dir.0 + (cell.1 - car.origin.1) * car.dir.1) as u64;
    let period = 2 * (car.len as u64 - 1);
    let travelled = (t as u64 * inst.speed_cells as u64 + car.phase as u64) / inst.speed_ticks as u64;
    // The car is on index i at cycle positions i (driving out) and period − i (driving back).
    let at = if rng.random_bool(0.5) { i } else { (period - i) % period };
    let offset = ((at + period - travelled % period) % period) as u32;
    Some(AddedCar::from_car(&Car { offset, ..car }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftbench_core::rng;
    use proptest::prelude::*;
    use rand::Rng;
    use std::collections::BTreeSet;

    const N: Action = Action::North;
    const S: Action = Action::South;
    const E: Action = Action::East;
    const W: Action = Action::West;
    const WAIT: Action = Action::Wait;

    /// A hand-made city: `#` is a building, anything else a street.
    fn city(rows: &[&str]) -> City {
        let (w, h) = (rows[0].len() as i32, rows.len() as i32);
        let street = rows.iter().flat_map(|r| r.bytes().map(|b| b != b'#')).collect();
        City { width: w, height: h, street }
    }

    /// A car on a hand-made track, moving on every tick its speed allows from tick 0.
    fn car(origin: (i32, i32), horizontal: bool, len: i32, offset: u32) -> Car {
        Car { origin, dir: if horizontal { (1, 0) } else { (0, 1) }, len, offset, phase: 0 }
    }

    fn world(rows: &[&str], cars: &[Car], speed: (u32, u32), start: (i32, i32), goal: (i32, i32)) -> World {
        let traffic = Traffic { cars: cars.to_vec(), speed_cells: speed.0, speed_ticks: speed.1 };
        World::from_parts(city(rows), traffic, start, goal, 50)
    }

    /// Shortest safe route length by breadth-first search over ticks with the literal death rules (no heuristic, no
    /// hazard layers): the reference the planner must match.
    fn brute_force(w: &World) -> Option<usize> {
        let mut frontier = BTreeSet::from([w.start]);
        for t in 0..=w.max_steps {
            if frontier.contains(&w.goal) {
                return Some(t as usize);
            }
            if t == w.max_steps || frontier.is_empty() {
                return None;
            }
            let mut next = BTreeSet::new();
            for &a in &frontier {
                for action in Action::ALL {
                    let b = w.city.moved(a, action);
                    if !w.traffic.cars.iter().any(|car| hits(w.traffic.sweep(car, t).cells(), a, b)) {
                        next.insert(b);
                    }
                }
            }
            frontier = next;
        }
        None
    }

    fn instance(cell: Cell, seed: u64) -> NavInstance {
        Navigation.generate(cell, &mut rng::stream(seed, "navigation-v1", "test"))
    }

    const STREET: [&str; 3] = ["###.###", ".......", "###.###"];

    #[test]
    fn collision_rules_on_hand_made_streets() {
        // A car drives east along row 1 from x = 0 (1 cell per tick unless stated: x = t, or x = 2t).
        let east = [car((0, 1), true, 7, 0)];
        // (case, speed, start, actions, tick of death or None, final cell)
        type Row = (&'static str, (u32, u32), (i32, i32), &'static [Action], Option<usize>, (i32, i32));
        let table: &[Row] = &[
            ("same cell: the agent steps in front of the car", (1, 1), (3, 0), &[WAIT, WAIT, S], Some(3), (3, 1)),
            ("wait then hit: the car reaches a waiting agent", (1, 1), (3, 1), &[WAIT, WAIT, WAIT], Some(3), (3, 1)),
            ("swap: the agent and the car exchange cells", (1, 1), (3, 1), &[WAIT, WAIT, W], Some(3), (2, 1)),
            ("stepping aside as the car arrives is safe", (1, 1), (3, 1), &[WAIT, WAIT, N, S], None, (3, 1)),
            ("following the car into the cell it leaves is safe", (1, 1), (3, 0), &[WAIT, WAIT, WAIT, S], None, (3, 1)),
            ("running ahead of the car at its speed is safe", (1, 1), (3, 1), &[WAIT, WAIT, E, E, E], None, (6, 1)),
            ("pass-through: 2 cells per tick over a waiting agent", (2, 1), (3, 1), &[WAIT, WAIT], Some(2), (3, 1)),
            ("pass-through of the cell the agent is leaving", (2, 1), (3, 1), &[WAIT, N], Some(2), (3, 0)),
            ("pass-through of the cell the agent enters", (2, 1), (3, 0), &[WAIT, S], Some(2), (3, 1)),
            ("a 2-cell move that ends beside the agent is safe", (2, 1), (5, 1), &[WAIT, WAIT], None, (5, 1)),
            ("slow cars: 1 cell / 2 ticks reach x = 3 at tick 6", (1, 2), (3, 1), &[WAIT; 6], Some(6), (3, 1)),
            ("slow cars: one tick earlier is still safe", (1, 2), (3, 1), &[WAIT; 5], None, (3, 1)),
        ];
        for &(case, speed, start, actions, death, end) in table {
            let mut w = world(&STREET, &east, speed, start, (6, 0));
            w.reset();
            let mut died_at = None;
            for (i, &a) in actions.iter().enumerate() {
                let s = w.step(a);
                if s.died {
                    assert!(s.terminated && !s.truncated && !s.reached, "{case}");
                    assert!((s.reward - (STEP_REWARD + DEATH_REWARD)).abs() < 1e-6, "{case}: {}", s.reward);
                    died_at = Some(i + 1);
                    break;
                }
            }
            assert_eq!(died_at, death, "{case}");
            assert_eq!(w.position(), end, "{case}");
        }
    }

    #[test]
    fn moving_into_a_wall_or_off_the_map_wastes_the_move() {
        let mut w = world(&STREET, &[], (1, 2), (3, 0), (0, 1));
        w.reset();
        // (action, cell after it)
        let table = [(E, (3, 0)), (W, (3, 0)), (N, (3, 0)), (S, (3, 1)), (S, (3, 2)), (S, (3, 2)), (W, (3, 2))];
        for (i, (a, cell)) in table.into_iter().enumerate() {
            let s = w.step(a);
            assert_eq!((w.position(), w.tick()), (cell, i as u32 + 1), "step {i}: {a:?}");
            assert!(!s.died && !s.terminated);
        }
        // A wasted move earns the step cost only; a step towards the goal also earns the shaping reward.
        let mut w = world(&STREET, &[], (1, 2), (3, 0), (0, 1));
        assert!((w.step(E).reward - STEP_REWARD).abs() < 1e-6);
        assert!((w.step(S).reward - (STEP_REWARD + SHAPING_REWARD)).abs() < 1e-6);
        assert!((w.step(E).reward - (STEP_REWARD - SHAPING_REWARD)).abs() < 1e-6);
    }

    #[test]
    fn planner_is_optimal_on_hand_made_cities() {
        let plus = ["#.#", "...", "#.#"];
        let ring = ["......", ".####.", "......"];
        let row = [".....", "#####"];
        let pocket = [".......", "###.###"];
        let shuttle = [car((0, 1), true, 3, 0)];
        let blocker = [car((2, 0), true, 2, 0)];
        let sweeper = [car((1, 0), true, 5, 0)];
        type Case<'a> = (&'a str, &'a [&'a str], &'a [Car], (u32, u32), (i32, i32), (i32, i32), Option<&'a [Action]>);
        let table: &[Case] = &[
            ("no cars: the street distance", &ring, &[], (1, 1), (0, 0), (5, 2), Some(&[E, E, E, E, E, S, S])),
            // The car is on the crossing at tick 1, so stepping south at once kills: wait one tick.
            ("waiting is required", &plus, &shuttle, (1, 1), (1, 0), (1, 2), Some(&[WAIT, S, S])),
            // A car shuttling on a one-lane street can never be passed, whatever its speed.
            ("a shuttle blocks the street", &row, &blocker, (2, 1), (0, 0), (4, 0), None),
            ("a slow shuttle too", &row, &blocker, (1, 2), (0, 0), (4, 0), None),
            // The car drives x = 1..5 and back; the agent follows it east, hides in the pocket at (3, 1) while it
            // comes back west (it is on (3, 0) at tick 6), leaves at tick 7 and walks on: 10 ticks.
            ("hiding in a side street", &pocket, &sweeper, (1, 1), (0, 0), (6, 0), None),
        ];
        let lengths = [Some(7), Some(3), None, None, Some(10)];
        for (&(case, rows, cars, speed, start, goal, expected), length) in table.iter().zip(lengths) {
            let w = world(rows, cars, speed, start, goal);
            let (route, expanded) = search(&w.city, &w.traffic, start, 0, goal, w.max_steps);
            if expected.is_some() {
                assert_eq!(route.as_deref(), expected, "{case}");
            }
            assert_eq!(route.as_ref().map(Vec::len), length, "{case}");
            assert_eq!(brute_force(&w), length, "{case}");
            assert!(expanded >= route.map_or(0, |r| r.len() as u64), "{case}");
        }
    }

    #[test]
    fn planner_respects_the_step_limit() {
        let w = world(&["......", ".####.", "......"], &[], (1, 1), (0, 0), (5, 2));
        assert_eq!(search(&w.city, &w.traffic, (0, 0), 0, (5, 2), 7).0.map(|r| r.len()), Some(7));
        assert_eq!(search(&w.city, &w.traffic, (0, 0), 0, (5, 2), 6).0, None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Dense fast traffic in small cities: the planner's length equals brute-force search with the literal rules,
        /// and its route survives in the world.
        #[test]
        fn planner_matches_brute_force_search(
            seed in any::<u64>(), pattern in 0..4usize, density in 5..40u32, speed in 0..5usize, size in 6..10u32,
        ) {
            let (cells, ticks) = [(1, 2), (2, 3), (1, 1), (3, 2), (2, 1)][speed];
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            let pattern = CITY_LEVELS[pattern];
            let inst = NavInstance {
                pattern, city_seed: r.random(), width: size, height: size, traffic_seed: r.random(),
                cars_per_100_cells: density, speed_cells: cells, speed_ticks: ticks,
                start: (0, 0), goal: (0, 0), max_steps: 30, added_cars: Vec::new(),
            };
            let streets = inst.city().street_cells();
            let (start, goal) = (*streets.choose(&mut r).unwrap(), *streets.choose(&mut r).unwrap());
            let inst = NavInstance { start, goal, ..inst };
            let w = World::new(&inst);
            let route = plan(&inst).map(|(p, _)| p);
            prop_assert_eq!(route.as_ref().map(Vec::len), brute_force(&w), "{:?}", inst);
            if let Some(route) = route {
                let r = replay(&inst, &route);
                prop_assert!(r.reached || inst.start == inst.goal, "{:?}: {:?}", inst, r);
            }
        }

        /// The hazard layers the planner reads agree with the literal death rules for every move at every tick.
        #[test]
        fn hazard_layers_agree_with_the_rules(seed in any::<u64>(), speed in 0..5usize) {
            let (cells, ticks) = [(1, 2), (2, 3), (1, 1), (3, 2), (2, 1)][speed];
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            let inst = NavInstance {
                pattern: CITY_LEVELS[r.random_range(0..4)], city_seed: r.random(), width: 8, height: 8,
                traffic_seed: r.random(), cars_per_100_cells: 30, speed_cells: cells, speed_ticks: ticks,
                start: (0, 0), goal: (0, 0), max_steps: 20, added_cars: Vec::new(),
            };
            let w = World::new(&inst);
            let mut hazards = Hazards::new(&w.city, &w.traffic);
            for t in 0..12 {
                let layer = hazards.layer(t).to_vec();
                for a in w.city.street_cells() {
                    for action in Action::ALL {
                        let b = w.city.moved(a, action);
                        let literal = w.traffic.cars.iter().any(|car| hits(w.traffic.sweep(car, t).cells(), a, b));
                        let effective = if a == b { Action::Wait } else { action };
                        let read = blocked(&layer, w.city.index(a), w.city.index(b), effective);
                        prop_assert_eq!(literal, read, "t={} {:?} {:?}", t, a, action);
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(6))]

        #[test]
        fn generator_emits_only_valid_solvable_instances_at_every_level(seed in any::<u64>()) {
            let t = Navigation;
            for cell in Cell::grid(AXES.len()) {
                let i = t.generate(cell, &mut rng::stream(seed, t.id(), "prop"));
                prop_assert!(t.validate(&i).is_ok(), "{:?}: {:?}", cell, t.validate(&i));
                prop_assert!(i.start != i.goal && i.max_steps == STEPS_PER_SIDE * (i.width + i.height));
                let dist = i.city().distances_from(i.start);
                prop_assert!(dist[i.city().index(i.goal)] >= MIN_DISTANCE);
                let (route, info) = t.solve_symbolic(&i);
                let o = t.score(&i, &route);
                prop_assert!(o.success && o.metric == 1.0, "{:?} {:?}: {:?}", cell, i, o);
                prop_assert!(info.work >= route.actions.len() as u64);
            }
        }
    }

    #[test]
    fn cities_are_connected_for_every_pattern_and_size() {
        for pattern in CITY_LEVELS {
            for size in [6, 7, 12, 13, 36, 64] {
                for seed in 0..40 {
                    let c = City::generate(pattern, seed, size, size);
                    let streets = c.street_cells();
                    assert!(streets.len() >= size as usize, "{pattern:?} {size} {seed}: {} streets", streets.len());
                    assert!(c.is_connected(), "{pattern:?} {size} {seed}");
                }
            }
        }
        // Regenerating gives the same city; another seed gives another.
        assert_eq!(City::generate(Pattern::Maze, 5, 12, 12), City::generate(Pattern::Maze, 5, 12, 12));
        assert_ne!(City::generate(Pattern::Maze, 5, 12, 12), City::generate(Pattern::Maze, 6, 12, 12));
    }

    #[test]
    fn cars_stay_on_their_street_tracks() {
        let inst = instance(Cell { axis: Some(3), level: 4 }, 3);
        let w = World::new(&inst);
        assert!(!w.traffic.cars.is_empty());
        for car in &w.traffic.cars {
            assert!((MIN_TRACK..=MAX_TRACK).contains(&car.len), "{car:?}");
            for t in 0..40 {
                let q = w.traffic.sweep(car, t);
                assert!(q.cells().iter().all(|&c| w.city.is_street(c)), "{car:?} at {t}");
                assert_eq!(q.cells().len(), 3, "2 cells per tick");
                assert_eq!(q.cells()[2], w.traffic.position(car, t + 1));
            }
        }
    }

    #[test]
    fn world_is_deterministic_per_instance() {
        for cell in [Cell::IN_DIST, Cell { axis: Some(0), level: 4 }, Cell { axis: Some(3), level: 4 }] {
            let inst = instance(cell, 11);
            let run = || {
                let mut w = World::new(&inst);
                let mut r = ChaCha8Rng::seed_from_u64(5);
                let mut trace = vec![(w.reset(), 0.0f32, false)];
                for _ in 0..60 {
                    let s = w.step(Action::ALL[r.random_range(0..5)]);
                    trace.push((s.obs, s.reward, s.terminated || s.truncated));
                }
                trace
            };
            let a = run();
            assert_eq!(a, run(), "{cell:?}");
            assert!(a.iter().all(|(obs, ..)| obs.len() == OBS_DIM && obs.iter().all(|v| v.is_finite())));
            // Reset starts the same episode again.
            let mut w = World::new(&inst);
            w.step(Action::East);
            assert_eq!(w.reset(), a[0].0);
        }
    }

    #[test]
    fn observation_shows_walls_cars_next_tick_and_goal() {
        let mut w = world(&STREET, &[car((0, 1), true, 7, 0)], (2, 1), (3, 1), (6, 1));
        let obs = w.reset();
        let at =
            |c: usize, dx: i32, dy: i32| obs[c * WINDOW_CELLS + ((dy + RADIUS) * WINDOW as i32 + dx + RADIUS) as usize];
        assert_eq!((at(0, -1, -1), at(0, 0, -1)), (1.0, 0.0), "building north-west, street north");
        assert_eq!(at(0, 0, 0), 0.0);
        assert_eq!(at(0, 4, 0), 1.0, "x = 7 is off the map");
        assert_eq!(at(1, -3, 0), 1.0, "car now at x = 0");
        assert_eq!((at(2, -2, 0), at(2, -1, 0), at(2, -3, 0)), (1.0, 1.0, 0.0), "x = 1 passed, x = 2 at the end");
        assert_eq!(at(3, 3, 0), 1.0, "goal");
        assert_eq!((obs[4 * WINDOW_CELLS], obs[4 * WINDOW_CELLS + 1]), (0.3, 0.0));
        // 81 − 9 street cells in the window are blocked, plus 1 car now, 2 cells next tick, the goal and dx.
        assert_eq!(obs.iter().filter(|&&v| v != 0.0).count(), 81 - 9 + 1 + 2 + 1 + 1, "{obs:?}");
    }

    #[test]
    fn grid_observation_agrees_with_the_window_along_a_route() {
        for (seed, cell) in
            [(1, Cell::IN_DIST), (2, Cell { axis: Some(3), level: 4 }), (3, Cell { axis: Some(1), level: 2 })]
        {
            let inst = instance(cell, seed);
            let route = plan(&inst).expect("solvable").0;
            let mut w = World::new(&inst);
            let mut obs = w.reset();
            for a in route {
                let g = w.observe_grid();
                g.check().unwrap();
                assert_eq!((g.width, g.height), (inst.width as usize, inst.height as usize));
                let (x, y) = w.position();
                assert_eq!(g.agent, (x as usize, y as usize));
                let plane = g.width * g.height;
                for dy in -RADIUS..=RADIUS {
                    for dx in -RADIUS..=RADIUS {
                        let (cx, cy) = (x + dx, y + dy);
                        let win =
                            |c: usize| obs[c * WINDOW_CELLS + ((dy + RADIUS) * WINDOW as i32 + dx + RADIUS) as usize];
                        if cx < 0 || cy < 0 || cx >= g.width as i32 || cy >= g.height as i32 {
                            assert_eq!(win(0), g.outside[0]);
                            continue;
                        }
                        let grid = |c: usize| g.data[c * plane + cy as usize * g.width + cx as usize];
                        // Window channels: building, car now, car next tick, goal.
                        assert_eq!([grid(0), grid(2), grid(3), grid(1)], [win(0), win(1), win(2), win(3)]);
                    }
                }
                obs = w.step(a).obs;
            }
        }
    }

    #[test]
    fn scorer_accepts_the_planner_and_rejects_deaths_and_timeouts() {
        let t = Navigation;
        let inst = instance(Cell::IN_DIST, 1);
        let (route, _) = t.solve_symbolic(&inst);
        let opt = route.actions.len();
        let mut detour = vec![WAIT, WAIT];
        detour.extend(&route.actions);
        let mut extra = route.actions.clone();
        extra.extend([N, S, E]);
        // Without cars a detour of two waits is safe, so its ratio is known exactly.
        let empty = NavInstance { cars_per_100_cells: 0, ..inst.clone() };
        assert!(t.validate(&empty).is_ok());
        let empty_opt = plan(&empty).unwrap().0.len();
        let mut empty_detour = vec![WAIT, WAIT];
        empty_detour.extend(plan(&empty).unwrap().0);
        // Some generated instances where waiting at the start dies, and some where it times out.
        let waiting = vec![WAIT; 400];
        let instances: Vec<NavInstance> = (0..60).map(|s| instance(Cell { axis: Some(2), level: 4 }, s)).collect();
        let dies = instances.iter().find(|i| replay(i, &waiting).died).expect("some start is on a car track");
        let times_out = instances.iter().find(|i| replay(i, &waiting).timed_out).expect("some start is quiet");
        let malformed = NavInstance { width: 0, ..inst.clone() };
        // (case, instance, actions, success, metric, failure category)
        type Row<'a> = (&'a str, &'a NavInstance, Vec<Action>, bool, f64, Option<&'a str>);
        let table: Vec<Row> = vec![
            ("planner", &inst, route.actions.clone(), true, 1.0, None),
            ("actions after the goal are ignored", &inst, extra, true, 1.0, None),
            ("two waits without cars", &empty, empty_detour, true, (empty_opt + 2) as f64 / empty_opt as f64, None),
            ("dies waiting", dies, waiting.clone(), false, FAILED_RATIO, Some("death")),
            ("times out waiting", times_out, waiting.clone(), false, FAILED_RATIO, Some("timeout")),
            ("no actions", &inst, vec![], false, FAILED_RATIO, Some("stopped short")),
            ("stops one short", &inst, route.actions[..opt - 1].to_vec(), false, FAILED_RATIO, Some("stopped short")),
            ("malformed instance", &malformed, vec![], false, FAILED_RATIO, Some("invalid")),
        ];
        for (case, i, actions, ok, metric, failure) in table {
            let o = t.score(i, &Route { actions });
            assert_eq!((o.success, o.failure), (ok, failure), "{case}");
            assert!((o.metric - metric).abs() < 1e-12, "{case}: {}", o.metric);
        }
        let r = replay(dies, &waiting);
        assert!(
            r.died && !r.reached && !r.timed_out && r.death_cell == Some(dies.start) && r.path.len() == r.steps + 1
        );
        let r = replay(times_out, &waiting);
        assert!(r.timed_out && !r.died && r.steps == times_out.max_steps as usize && r.death_cell.is_none());
        let r = replay(&inst, &route.actions);
        assert_eq!((r.path[0], r.path[opt], r.steps), (inst.start, inst.goal, opt));
        // A detour with cars about is scored by the same rule: success with ratio (opt + 2) / opt, or a failure.
        let o = t.score(&inst, &Route { actions: detour });
        assert!(o.metric == FAILED_RATIO || (o.success && o.metric == (opt + 2) as f64 / opt as f64), "{o:?}");
        assert_eq!(t.no_answer_metric(), FAILED_RATIO);
    }

    #[test]
    fn validation_rejects_bad_instances() {
        let t = Navigation;
        let good = instance(Cell::IN_DIST, 2);
        assert!(t.validate(&good).is_ok());
        let building = (0..12).flat_map(|y| (0..12).map(move |x| (x, y))).find(|&c| !good.city().is_street(c)).unwrap();
        let bad = [
            NavInstance { width: 5, ..good.clone() },
            NavInstance { height: MAX_SIZE + 1, ..good.clone() },
            NavInstance { cars_per_100_cells: MAX_TRAFFIC + 1, ..good.clone() },
            NavInstance { speed_cells: 0, ..good.clone() },
            NavInstance { speed_cells: 3, speed_ticks: 1, ..good.clone() },
            NavInstance { speed_ticks: 0, ..good.clone() },
            NavInstance { max_steps: 0, ..good.clone() },
            NavInstance { max_steps: 3, ..good.clone() },
            NavInstance { start: (-1, 0), ..good.clone() },
            NavInstance { goal: (12, 3), ..good.clone() },
            NavInstance { goal: building, ..good.clone() },
            NavInstance { goal: good.start, ..good.clone() },
        ];
        for i in bad {
            assert!(t.validate(&i).is_err(), "{i:?}");
            assert!(plan(&i).is_none() || i.goal == i.start, "{i:?}");
        }
        // A car standing on the start at tick 0.
        let mut i = good.clone();
        let w = World::new(&i);
        i.start = w.cars_at(0)[0];
        assert!(t.validate(&i).unwrap_err().contains("car"), "{:?}", t.validate(&i));
    }

    /// A size, count or step limit of any kind: small valid ones, the limits and just past them, any u32.
    fn any_count(valid: std::ops::RangeInclusive<u32>) -> impl Strategy<Value = u32> {
        let (lo, hi) = (*valid.start(), *valid.end());
        prop_oneof![4 => valid, 1 => Just(0), 1 => Just(lo.saturating_sub(1)), 1 => Just(hi + 1), 1 => any::<u32>()]
    }

    /// A cell of any kind: on a small map most of the time, anywhere in i32 sometimes.
    fn any_cell() -> impl Strategy<Value = (i32, i32)> {
        prop_oneof![4 => (0..20i32, 0..20i32), 1 => (-2..2i32, any::<i32>()), 1 => (any::<i32>(), any::<i32>())]
    }

    fn any_added_car() -> impl Strategy<Value = AddedCar> {
        (any_cell(), any::<bool>(), prop_oneof![3..=9i32, any::<i32>()], 0..16u32, prop_oneof![0..5u32, any::<u32>()])
            .prop_map(|(origin, horizontal, len, offset, phase)| AddedCar { origin, horizontal, len, offset, phase })
    }

    fn any_instance() -> impl Strategy<Value = NavInstance> {
        let pattern = prop_oneof![Just(Pattern::Grid), Just(Pattern::Offset), Just(Pattern::Ring), Just(Pattern::Maze)];
        let world = (pattern, any::<u64>(), any_count(MIN_SIZE..=20), any_count(MIN_SIZE..=20), any::<u64>());
        let traffic = (any_count(0..=MAX_TRAFFIC), 0..=9u32, 0..=6u32);
        let task = (
            any_cell(),
            any_cell(),
            prop_oneof![1..=200u32, Just(MAX_STEPS), Just(MAX_STEPS + 1), Just(0)],
            prop_oneof![3 => Just(vec![]), 1 => proptest::collection::vec(any_added_car(), 0..=MAX_ADDED_CARS + 1)],
        );
        (world, traffic, task).prop_map(
            |(
                (pattern, city_seed, width, height, traffic_seed),
                (cars_per_100_cells, speed_cells, speed_ticks),
                (start, goal, max_steps, added_cars),
            )| NavInstance {
                pattern,
                city_seed,
                width,
                height,
                traffic_seed,
                cars_per_100_cells,
                speed_cells,
                speed_ticks,
                start,
                goal,
                max_steps,
                added_cars,
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The contract over the whole instance type: an accepted instance is solved by the planner (and scored),
        /// a rejected one is rejected for a named field, and nothing panics either way.
        #[test]
        fn validate_accepts_exactly_what_the_planner_solves(i in any_instance(), pick in any::<(usize, usize)>()) {
            // Random cells are mostly buildings; the same instance with start and goal moved onto streets reaches
            // the planner far more often.
            let mut on_streets = i.clone();
            let streets = if i.check_shape().is_ok() { i.city().street_cells() } else { Vec::new() };
            if !streets.is_empty() {
                on_streets.start = streets[pick.0 % streets.len()];
                on_streets.goal = streets[pick.1 % streets.len()];
            }
            for i in [i, on_streets] {
                let t = Navigation;
                let (route, _) = t.solve_symbolic(&i);
                let o = t.score(&i, &route);
                prop_assert!(o.metric.is_finite());
                let _ = t.episode(&i).map(|mut e| (e.observe(), e.step(4)));
                match t.validate(&i) {
                    Ok(()) => prop_assert!(o.success, "{i:?}: {o:?}"),
                    Err(e) => {
                        let fields = ["width", "height", "cars_per_100_cells", "speed_cells", "speed_ticks", "start",
                            "goal", "max_steps", "added_cars"];
                        prop_assert!(fields.iter().any(|f| e.contains(f)), "{e}");
                    }
                }
            }
        }
    }

    /// Found by the registry's learner check: an episode started off the map read the observation window and the
    /// distance table out of bounds (a panic in a program-search learner's batch).
    #[test]
    fn off_map_starts_and_goals_get_no_world_and_never_panic() {
        let t = Navigation;
        let good = instance(Cell::IN_DIST, 2);
        let cases =
            [((i32::MAX, 0), good.goal, "start"), ((-1, 3), good.goal, "start"), (good.start, (i32::MIN, 5), "goal")];
        for (start, goal, field) in cases {
            let i = NavInstance { start, goal, ..good.clone() };
            assert!(t.validate(&i).unwrap_err().starts_with(field), "{:?}", t.validate(&i));
            assert!(t.episode(&i).is_none() && World::try_new(&i).unwrap_err().starts_with(field));
            let o = t.score(&i, &Route { actions: vec![Action::East; 3] });
            assert_eq!((o.success, o.failure), (false, Some("invalid")));
            assert!(t.solve_symbolic(&i).0.actions.is_empty());
            assert!(t.render_svg(&i, None).is_none());
        }
    }

    /// Defect guard: a car faster than two cells per tick would drive through cells that the sweep (at most
    /// MAX_CELLS_PER_TICK + 1 cells per tick) leaves out, so it would pass through the agent unseen. Validation
    /// refuses every such speed, saying why, and the speed level descriptions say where the limit is.
    #[test]
    fn speeds_above_two_cells_per_tick_are_refused_because_of_the_sweep() {
        let t = Navigation;
        let good = instance(Cell::IN_DIST, 2);
        for ticks in 1..=MAX_SPEED_TICKS {
            for cells in 1..=4 * ticks {
                let i = NavInstance { speed_cells: cells, speed_ticks: ticks, ..good.clone() };
                let shape = i.check_shape();
                // The fastest tick of this speed, over a whole cycle of phases.
                let traffic = Traffic { cars: vec![], speed_cells: cells, speed_ticks: ticks };
                let car = Car { origin: (0, 0), dir: (1, 0), len: 8, offset: 0, phase: 0 };
                let fastest = (0..ticks)
                    .flat_map(|phase| (0..2 * ticks).map(move |tick| (phase, tick)))
                    .map(|(phase, tick)| {
                        let c = Car { phase, ..car };
                        traffic.travelled(&c, tick + 1) - traffic.travelled(&c, tick)
                    })
                    .max()
                    .unwrap();
                if cells <= MAX_CELLS_PER_TICK * ticks {
                    assert!(shape.is_ok(), "{cells}/{ticks}: {shape:?}");
                    assert!(fastest <= u64::from(MAX_CELLS_PER_TICK), "{cells}/{ticks} moves {fastest} in a tick");
                } else {
                    let e = shape.unwrap_err();
                    assert!(e.contains("speed_cells") && e.contains("sweep"), "{cells}/{ticks}: {e}");
                    assert!(t.validate(&i).unwrap_err().contains("sweep"));
                }
            }
        }
        // Three cells in one tick would be cut to the sweep's three cells (start, middle, end of two).
        let fast = Traffic { cars: vec![], speed_cells: 3, speed_ticks: 1 };
        let car = Car { origin: (0, 0), dir: (1, 0), len: 8, offset: 0, phase: 0 };
        assert_eq!(fast.sweep(&car, 0).cells(), &[(0, 0), (1, 0), (2, 0)], "the sweep drops the car's fourth cell");
        assert_eq!(fast.position(&car, 1), (3, 0));
        assert_eq!(MAX_CELLS_PER_TICK, 2);
        let speed = AXES.iter().find(|a| a.name == "speed").unwrap();
        assert!(speed.levels[4].contains("fastest valid speed") && t.limits().contains("3 cells per tick is refused"));
    }

    #[test]
    fn levels_have_the_stated_parameters() {
        let t = Navigation;
        let mut r = rng::stream(7, "test", "levels");
        for cell in Cell::grid(AXES.len()) {
            for _ in 0..20 {
                let i = t.generate(cell, &mut r);
                let l = cell.level as usize;
                let (pattern, size, traffic, speed) = match cell.axis {
                    Some(0) => (CITY_LEVELS[l - 1], TRAIN_SIZE, TRAIN_TRAFFIC, TRAIN_SPEED),
                    Some(1) => (Pattern::Grid, SIZE_LEVELS[l - 1], TRAIN_TRAFFIC, TRAIN_SPEED),
                    Some(2) => (Pattern::Grid, TRAIN_SIZE, TRAFFIC_LEVELS[l - 1], TRAIN_SPEED),
                    Some(_) => (Pattern::Grid, TRAIN_SIZE, TRAIN_TRAFFIC, SPEED_LEVELS[l - 1]),
                    None => (Pattern::Grid, TRAIN_SIZE, TRAIN_TRAFFIC, TRAIN_SPEED),
                };
                assert_eq!(i.pattern, pattern, "{cell:?}");
                assert_eq!((i.width, i.height, i.cars_per_100_cells), (size, size, traffic), "{cell:?}");
                assert_eq!((i.speed_cells, i.speed_ticks), speed, "{cell:?}");
                assert_eq!(i.city_seed < TRAIN_CITY_SEEDS, cell.axis != Some(0), "{cell:?}");
            }
        }
    }

    #[test]
    fn attack_variants_add_aimed_cars_and_stay_solvable() {
        let t = Navigation;
        let mut r = rng::stream(3, "test", "attack-variants");
        let mut made = 0;
        for _ in 0..8 {
            let inst = t.generate(Cell::IN_DIST, &mut r);
            let (route, _) = t.solve_symbolic(&inst);
            let path = replay(&inst, &route.actions).path;
            let clock = Traffic { cars: Vec::new(), speed_cells: inst.speed_cells, speed_ticks: inst.speed_ticks };
            for size in 1..=3 {
                for v in t.attack_variants(&inst, &route, size, 3, &mut r) {
                    made += 1;
                    assert_eq!(v.added_cars.len(), size);
                    assert_eq!(NavInstance { added_cars: Vec::new(), ..v.clone() }, inst);
                    assert!(t.validate(&v).is_ok(), "{v:?}");
                    let (answer, _) = t.solve_symbolic(&v);
                    assert!(t.score(&v, &answer).success, "{v:?}");
                    // Each added car stands on the route at a tick the route is there.
                    for car in &v.added_cars {
                        let on_route = (1..path.len()).any(|k| clock.position(&car.car(), k as u32) == path[k]);
                        assert!(on_route, "{car:?} never meets the route {path:?}");
                    }
                    let json = serde_json::to_string(&v).unwrap();
                    assert_eq!(serde_json::from_str::<NavInstance>(&json).unwrap(), v);
                }
            }
            // Instances without added cars serialise as before the field existed.
            assert!(!serde_json::to_string(&inst).unwrap().contains("added_cars"));
        }
        assert!(made >= 50, "only {made} of 72 variants");
        // Added cars must stay on the streets and within their shape limits.
        let inst = t.generate(Cell::IN_DIST, &mut r);
        let off = AddedCar { origin: (-3, 0), horizontal: true, len: 4, offset: 0, phase: 0 };
        assert!(t.validate(&NavInstance { added_cars: vec![off], ..inst.clone() }).is_err());
        let long = AddedCar { len: 9, ..off };
        assert!(t.validate(&NavInstance { added_cars: vec![long], ..inst.clone() }).is_err());
        assert!(t.attack_variants(&inst, &Route::default(), MAX_ADDED_CARS + 1, 3, &mut r).is_empty());
    }

    #[test]
    fn json_round_trip_is_exact_and_unknown_fields_are_rejected() {
        use driftbench_core::bench::{Bench, DynTask, TestSource};
        use driftbench_core::dataset::{write_set, Manifest, MANIFEST_SCHEMA};
        use driftbench_core::solver::Symbolic;
        let bench = Bench::new(Navigation, vec![Box::new(Symbolic) as Box<dyn driftbench_core::Learner<Navigation>>]);
        // Determinism, validity, exact JSON round trip, solver at level 0 and distinct levels.
        bench.self_check(4, 6).unwrap();
        // Through frozen JSON Lines files, as canonical test sets are read.
        let dir = std::env::temp_dir().join(format!("driftbench-navigation-{}", std::process::id()));
        let write = |mutate: &dyn Fn(String) -> String| -> Vec<String> {
            let mut manifest = Manifest { schema: MANIFEST_SCHEMA, sets: vec![] };
            let mut all = Vec::new();
            for cell in Cell::grid(AXES.len()) {
                let lines: Vec<String> = bench.generate_lines(cell, 3, 9).unwrap().into_iter().map(mutate).collect();
                let entry = write_set(&dir, "navigation-v1", &cell.label(&AXES), 9, &lines).unwrap();
                manifest.sets.push(entry);
                all.extend(lines);
            }
            manifest.save(&dir).unwrap();
            all
        };
        let profile = driftbench_core::Profile::tiny();
        let lines = write(&|l| l);
        assert!(lines[0].starts_with(r#"{"pattern":"grid","city_seed":"#), "{}", lines[0]);
        let prepared = bench.prepare(&TestSource::Canonical(dir.clone()), &profile).unwrap();
        assert_eq!(prepared.test_lines(), lines);
        drop(prepared);
        write(&|l| l.replacen('{', r#"{"extra":1,"#, 1));
        let err = bench.prepare(&TestSource::Canonical(dir.clone()), &profile).err().expect("unknown field rejected");
        assert!(err.to_string().contains("extra"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Checks that every tag is closed in order: enough to call the SVG well formed for a renderer.
    fn assert_well_formed(svg: &str) {
        let mut stack = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            let close = open + rest[open..].find('>').expect("tag closed");
            let tag = &rest[open + 1..close];
            let name = tag.trim_start_matches('/').split([' ', '/']).next().unwrap();
            if tag.starts_with('/') {
                assert_eq!(stack.pop(), Some(name), "{svg}");
            } else if !tag.ends_with('/') {
                stack.push(name);
            }
            assert_eq!(tag.matches('"').count() % 2, 0, "{tag}");
            rest = &rest[close + 1..];
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.ends_with("</svg>\n"));
    }

    #[test]
    fn svg_shows_the_path_and_the_outcome() {
        let inst = instance(Cell::IN_DIST, 4);
        let (route, _) = plan(&inst).unwrap();
        let svg = render_svg(&inst, &route);
        assert_well_formed(&svg);
        let points = svg.split("<polyline points=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(points.split(' ').count(), route.len() + 1);
        assert!(svg.contains(&format!("reached the goal in {} steps (planner: {})", route.len(), route.len())));
        assert!(!svg.contains("#d62728\" stroke-width"), "no death mark");
        // A death is marked with the red cross.
        let dier = (0..60)
            .map(|s| instance(Cell { axis: Some(2), level: 4 }, s))
            .find(|i| replay(i, &[WAIT; 200]).died)
            .unwrap();
        let svg = render_svg(&dier, &[WAIT; 200]);
        assert_well_formed(&svg);
        assert!(svg.contains("died at") && svg.contains("#d62728\" stroke-width"), "{svg}");
        assert_eq!(svg.matches("stroke-opacity=\"0.35\"").count(), World::new(&dier).traffic.cars.len());
    }

    /// Prints generation time, draws per instance, planner work and time per episode for every cell:
    /// `cargo test --release -p driftbench-tasks navigation::tests::measure -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn measure() {
        let t = Navigation;
        for cell in Cell::grid(AXES.len()) {
            let label = cell.label(&AXES);
            let mut r = rng::stream(2017, t.id(), &format!("test/{label}"));
            let started = std::time::Instant::now();
            let drawn: Vec<(NavInstance, usize)> = (0..1000).map(|_| generate_counted(cell, &mut r)).collect();
            let generation = started.elapsed();
            let insts: Vec<NavInstance> = drawn.iter().map(|(i, _)| i.clone()).collect();
            let draws: Vec<usize> = drawn.iter().map(|&(_, d)| d).collect();
            let started = std::time::Instant::now();
            let streets: usize = insts.iter().map(|i| i.city().street_cells().len()).sum();
            let city_us = started.elapsed().as_secs_f64() * 1e6 / insts.len() as f64;
            let started = std::time::Instant::now();
            let works: Vec<u64> = insts.iter().map(|i| t.solve_symbolic(i).1.work).collect();
            let solving = started.elapsed();
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            // Every planned route also replays to the goal in the world (a check over 17,000 episodes).
            let lens: Vec<f64> = insts
                .iter()
                .map(|i| {
                    let route = plan(i).unwrap().0;
                    assert!(replay(i, &route).reached && t.validate(i).is_ok(), "{i:?}");
                    route.len() as f64
                })
                .collect();
            let cars: Vec<f64> = insts.iter().map(|i| World::new(i).traffic.cars.len() as f64).collect();
            // The shortest street route ignoring cars: how often does it die?
            let naive_deaths = insts
                .iter()
                .filter(|i| {
                    let (city, mut at) = (i.city(), i.start);
                    let to_goal = city.distances_from(i.goal);
                    let mut route = Vec::new();
                    while at != i.goal {
                        let d = |c: (i32, i32)| to_goal[city.index(c)];
                        let a = Action::ALL.into_iter().find(|&a| d(city.moved(at, a)) < d(at)).unwrap();
                        at = city.moved(at, a);
                        route.push(a);
                    }
                    replay(i, &route).died
                })
                .count();
            println!(
                "{label:11} | gen 1000 {:4.0} ms, draws mean {:.2} max {:2} | solve {:5.1} us (city {:5.1} us), \
                 expanded mean {:5.1} max {:5} | route {:4.1} steps, {:4.1} cars, {:4.0} streets | car-blind \
                 route dies {:2.0}%",
                generation.as_secs_f64() * 1e3,
                mean(&draws.iter().map(|&d| d as f64).collect::<Vec<_>>()),
                draws.iter().max().unwrap(),
                solving.as_secs_f64() * 1e6 / insts.len() as f64,
                city_us,
                mean(&works.iter().map(|&w| w as f64).collect::<Vec<_>>()),
                works.iter().max().unwrap(),
                mean(&lens),
                mean(&cars),
                streets as f64 / insts.len() as f64,
                naive_deaths as f64 / 10.0,
            );
        }
    }

    #[test]
    fn planning_from_a_later_state_continues_the_optimal_route() {
        let t = Navigation;
        let mut r = driftbench_core::rng::stream(5, "test", "plan-from");
        for _ in 0..20 {
            let inst = t.generate(Cell::IN_DIST, &mut r);
            let (route, _) = plan(&inst).unwrap();
            assert_eq!(plan_from(&inst, inst.start, 0), Some(route.clone()));
            // Halfway along the optimal route, the remaining optimum is the rest of it (in length).
            let k = route.len() / 2;
            let taken: Vec<usize> = route[..k].iter().map(|a| a.index()).collect();
            let mut w = World::new(&inst);
            for a in &route[..k] {
                w.step(*a);
            }
            let rest = plan_from(&inst, w.position(), w.tick()).unwrap();
            assert_eq!(rest.len(), route.len() - k);
            assert_eq!(t.expert_action(&inst, &taken), rest.first().map(|a| a.index()));
        }
    }
}
