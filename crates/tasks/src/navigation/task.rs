//! The `navigation-v1` task: drift axes, instance drawing, scoring and the adversarial variants.

use super::city::City;
use super::city::{Action, Pattern};
use super::instance::{AddedCar, MAX_ADDED_CARS};
use super::instance::{NavInstance, Route};
use super::planner::{plan, plan_from, search, Planner};
use super::render::render_svg;
use super::traffic::{track, Car, Traffic};
use super::world::{replay, replay_in, World};
use super::{
    CITY_LEVELS, FAILED_RATIO, GENERATE_ATTEMPTS, GRID_CHANNELS, MIN_DISTANCE, OBS_DIM, SIZE_LEVELS, SPEED_LEVELS,
    STEPS_PER_SIDE, TRAFFIC_LEVELS, TRAIN_CITY_SEEDS, TRAIN_SIZE, TRAIN_SPEED, TRAIN_TRAFFIC,
};
use driftbench_core::{
    AxisSpec, Cell, Episode, EpisodeStep, GridObservation, GridTask, Outcome, PolicyShape, PolicyTask, SolveInfo, Task,
    VariantAttackTask,
};
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The navigation task.
#[derive(Debug, Clone, Copy, Default)]
pub struct Navigation;

/// Training episodes per seed under the built-in profiles: each instance is a whole episode, planned and
/// observed tick by tick, so far fewer than the profiles' `train_examples`.
pub const TRAIN_EXAMPLES_BY_PROFILE: [(&str, usize); 2] = [("quick", 8_000), ("full", 20_000)];

const TRAINING: &str = "training: grid city from 32 seeds, 12x12, 5 cars per 100 street cells, cars 1 cell / 2 ticks";

pub(super) static AXES: [AxisSpec; 4] = [
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
        built_over_percent: None,
        planner_steps: None,
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
pub(super) fn generate_counted(cell: Cell, rng: &mut ChaCha8Rng) -> (NavInstance, usize) {
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
pub(super) struct NavEpisode {
    pub(super) world: World,
    pub(super) obs: Vec<f32>,
}

impl Episode for NavEpisode {
    fn observe(&self) -> Vec<f32> {
        self.obs.clone()
    }

    fn observe_grid(&self) -> Option<GridObservation> {
        Some(self.world.observe_grid())
    }

    fn agent_cell(&self) -> Option<(usize, usize)> {
        let (x, y) = self.world.position();
        Some((x as usize, y as usize))
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

/// Which version's rules an instance is judged by: the two versions share the world, the planner and the
/// scorer, and differ in what an instance states ([`NavInstance::built_over_percent`],
/// [`NavInstance::planner_steps`]) and how the metric finds the planner's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    /// `navigation-v1`: neither field; the scorer plans again.
    V1,
    /// `navigation-v2`: both fields stated; the scorer reads the stored length.
    V2,
}

/// [`Task::validate`] of either version.
pub(super) fn validate(inst: &NavInstance, version: Version) -> Result<(), String> {
    inst.check_shape()?;
    match version {
        Version::V1 => {
            if inst.built_over_percent.is_some() || inst.planner_steps.is_some() {
                return Err("built_over_percent, planner_steps: navigation-v2 fields, absent in navigation-v1".into());
            }
        }
        Version::V2 => {
            if inst.built_over_percent.is_none() {
                return Err("built_over_percent: missing (navigation-v2 states it)".into());
            }
            if inst.planner_steps.is_none() {
                return Err("planner_steps: missing (navigation-v2 states the planner's route length)".into());
            }
        }
    }
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
        return Err("start: a car stands on it at tick 0".into());
    }
    match (search(&city, &traffic, inst.start, 0, inst.goal, inst.max_steps).0, inst.planner_steps) {
        (None, _) => Err(format!("max_steps: no safe route reaches the goal within {} steps", inst.max_steps)),
        (Some(route), Some(stated)) if route.len() as u64 != stated as u64 => {
            Err(format!("planner_steps: {stated} stated, but the shortest safe route takes {} ticks", route.len()))
        }
        (Some(_), _) => Ok(()),
    }
}

/// [`Task::score`] of either version: the replayed route reaches the goal alive within the step limit; the metric
/// is its length over the planner's (planned again in v1, read from the instance in v2).
pub(super) fn score(inst: &NavInstance, answer: &Route, version: Version) -> Outcome {
    let failed = |why| Outcome { success: false, metric: FAILED_RATIO, failure: Some(why) };
    let Ok(world) = World::try_new(inst) else {
        return failed("invalid");
    };
    let stored = match version {
        Version::V1 => None,
        Version::V2 => match inst.planner_steps {
            Some(p) => Some(p as usize),
            None => return failed("invalid"),
        },
    };
    let r = replay_in(world, &answer.actions);
    if !r.reached {
        return failed(match (r.died, r.timed_out) {
            (true, _) => "death",
            (false, true) => "timeout",
            (false, false) => "stopped short",
        });
    }
    // The planner is exact, so its length is the optimum; a route that reached the goal proves one exists.
    let optimal = stored.unwrap_or_else(|| plan(inst).map_or(r.steps, |(p, _)| p.len())).max(1);
    Outcome::new(true, (r.steps as f64 / optimal as f64).min(FAILED_RATIO))
}

/// [`Task::solve_symbolic`] of both versions.
pub(super) fn solve(inst: &NavInstance) -> (Route, SolveInfo) {
    if inst.check_shape().is_err() {
        return (Route::default(), SolveInfo { work: 0 });
    }
    let city = inst.city();
    let traffic = Traffic::generate(inst, &city);
    let (actions, expanded) = search(&city, &traffic, inst.start, 0, inst.goal, inst.max_steps);
    (Route { actions: actions.unwrap_or_default() }, SolveInfo { work: expanded })
}

/// What the planner of both versions reads, for the information table.
pub(super) const SYMBOLIC_OBSERVES: &str =
    "the whole city and every car's position at every future tick (the traffic rules and seed)";

/// What the window policies (imitation, PPO, the decision lists, nearest-state) observe each tick.
pub(super) const WINDOW_OBSERVES: &str = "a 9x9 window around the agent (buildings, cars now, cars at the end of the \
     coming tick, the goal) and the goal offset clipped at 10 cells";

/// What the value-iteration network observes each tick.
pub(super) const GRID_OBSERVES: &str =
    "the whole city as maps: buildings, the goal, cars now and over the next 3 ticks";

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
        validate(inst, Version::V1)
    }

    fn score(&self, inst: &NavInstance, answer: &Route) -> Outcome {
        score(inst, answer, Version::V1)
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
        &TRAIN_EXAMPLES_BY_PROFILE
    }

    fn solve_symbolic(&self, inst: &NavInstance) -> (Route, SolveInfo) {
        solve(inst)
    }

    fn limits(&self) -> &'static str {
        "cities 6x6 to 64x64; at most 50 cars per 100 street cells; cars 1-2 cells per tick at most (speed_ticks \
         1-4; the traffic sweep follows no faster car, so 3 cells per tick is refused); max_steps 1-4096; at most 8 \
         added cars, on streets; start and goal distinct street cells joined by a safe route"
    }

    fn symbolic_description(&self) -> &'static str {
        "space-time A* over (x, y, t) on the known car schedule, street distance to the goal as heuristic"
    }

    fn symbolic_observes(&self) -> &'static str {
        SYMBOLIC_OBSERVES
    }

    fn strict_success(&self, _outcome: &Outcome) -> Option<bool> {
        None
    }

    fn render_svg(&self, inst: &NavInstance, answer: Option<&Route>) -> Option<String> {
        World::try_new(inst).ok()?;
        Some(render_svg(inst, answer.map_or(&[][..], |r| &r.actions)))
    }
}

/// The capability traits both versions implement alike: the grid maps, the policy episodes and the discrete
/// attack (whose variants are checked by the version's own validation).
macro_rules! navigation_capabilities {
    ($task:ty, $version:expr) => {
        impl GridTask for $task {
            /// The maps of [`World::observe_grid`]: buildings, goal, cars now and over the next ticks.
            fn grid_channels(&self) -> usize {
                GRID_CHANNELS
            }

            fn grid_observes(&self) -> &'static str {
                GRID_OBSERVES
            }
        }

        impl PolicyTask for $task {
            /// Policies see the egocentric observation of [`World::observe`] and choose one of the five actions.
            fn policy_shape(&self) -> PolicyShape {
                PolicyShape { observation: OBS_DIM, actions: Action::ALL.len() }
            }

            fn policy_observes(&self) -> &'static str {
                WINDOW_OBSERVES
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
                expert_action(inst, taken)
            }

            /// One replay of `taken`, planning from each state it reaches on the world's own city and traffic.
            fn expert_actions(&self, inst: &NavInstance, taken: &[usize]) -> Vec<Option<usize>> {
                expert_actions(inst, taken)
            }

            fn answer_from_actions(&self, _inst: &NavInstance, actions: &[usize]) -> Option<Route> {
                actions
                    .iter()
                    .map(|&a| Action::from_index(a))
                    .collect::<Option<Vec<_>>>()
                    .map(|actions| Route { actions })
            }
        }

        impl VariantAttackTask for $task {
            /// Up to `count` variants with `size` more cars ([`AddedCar`]), each on a straight track of 4-8 cells
            /// through a cell the answer's route visits at some tick t ≥ 1, timed to stand on that cell at tick t.
            /// Only valid variants that the planner still solves are kept, from at most [`VARIANT_DRAWS`] × `count`
            /// draws.
            ///
            /// [`AddedCar`]: super::AddedCar
            /// [`VARIANT_DRAWS`]: super::VARIANT_DRAWS
            fn attack_variants(
                &self,
                inst: &NavInstance,
                answer: &Route,
                size: usize,
                count: usize,
                rng: &mut ChaCha8Rng,
            ) -> Vec<NavInstance> {
                attack_variants(inst, answer, size, count, rng, $version)
            }

            fn variant_unit(&self) -> &'static str {
                "cars added, each on a new track through a cell of the solver's own route, timed to stand there \
                 when the agent does; the planner still reaches the goal"
            }
        }

        impl NavTask for $task {}
    };
}
pub(super) use navigation_capabilities;

navigation_capabilities!(Navigation, Version::V1);

/// The navigation tasks of every version: the same instances, answers, episodes and maps, so that the navigation
/// learners (the decision lists, nearest-state, the window planner) serve each version alike.
pub trait NavTask:
    PolicyTask<Instance = NavInstance, Answer = Route> + GridTask + VariantAttackTask + Copy + Default
{
}

/// [`PolicyTask::expert_action`] of both versions.
pub(super) fn expert_action(inst: &NavInstance, taken: &[usize]) -> Option<usize> {
    let mut world = World::try_new(inst).ok()?;
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

/// [`PolicyTask::expert_actions`] of both versions: what [`expert_action`] answers for every prefix of `taken`,
/// from one replay (no city, traffic or distance table built again per state). A prefix that runs past the
/// episode's end or holds an unknown action has no answer, nor has any longer prefix.
pub(super) fn expert_actions(inst: &NavInstance, taken: &[usize]) -> Vec<Option<usize>> {
    let Ok(mut world) = World::try_new(inst) else { return vec![None; taken.len()] };
    let (city, traffic) = (world.city.clone(), world.traffic.clone());
    let mut planner = Planner::new(&city, &traffic, inst.goal, inst.max_steps);
    let mut out = Vec::with_capacity(taken.len());
    let mut replayed = true;
    for &a in taken {
        out.push(if replayed && !world.is_done() {
            let route = planner.search(world.position(), world.tick()).0;
            route.and_then(|r| r.first().map(|a| a.index()))
        } else {
            None
        });
        match Action::from_index(a) {
            Some(action) if replayed && !world.is_done() => {
                world.step(action);
            }
            _ => replayed = false,
        }
    }
    out
}

/// [`VariantAttackTask::attack_variants`] of both versions: a v2 variant states the planner's new route length.
pub(super) fn attack_variants(
    inst: &NavInstance,
    answer: &Route,
    size: usize,
    count: usize,
    rng: &mut ChaCha8Rng,
    version: Version,
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
        if variant.added_cars.len() != inst.added_cars.len() + size {
            continue;
        }
        if version == Version::V2 {
            // The added cars may lengthen the planner's route; without one the variant is dropped below.
            variant.planner_steps = plan(&variant).map(|(route, _)| route.len() as u32).or(variant.planner_steps);
        }
        if validate(&variant, version).is_ok() {
            out.push(variant);
        }
    }
    out
}

/// Draws per variant [`VariantAttackTask::attack_variants`] may spend before it returns fewer variants than asked for.
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
