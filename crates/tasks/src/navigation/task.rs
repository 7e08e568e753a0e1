//! The `navigation-v1` task: drift axes, instance drawing, scoring and the adversarial variants.

use super::*;

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
            return Err("start: a car stands on it at tick 0".into());
        }
        match search(&city, &traffic, inst.start, 0, inst.goal, inst.max_steps).0 {
            Some(_) => Ok(()),
            None => Err(format!("max_steps: no safe route reaches the goal within {} steps", inst.max_steps)),
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

    fn train_examples_by_profile(&self) -> &'static [(&'static str, usize)] {
        &TRAIN_EXAMPLES_BY_PROFILE
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

    fn render_svg(&self, inst: &NavInstance, answer: Option<&Route>) -> Option<String> {
        World::try_new(inst).ok()?;
        Some(render_svg(inst, answer.map_or(&[][..], |r| &r.actions)))
    }
}

impl GridTask for Navigation {
    /// The maps of [`World::observe_grid`]: buildings, goal, cars now and over the next ticks.
    fn grid_channels(&self) -> usize {
        GRID_CHANNELS
    }
}

impl PolicyTask for Navigation {
    /// Policies see the egocentric observation of [`World::observe`] and choose one of the five actions.
    fn policy_shape(&self) -> PolicyShape {
        PolicyShape { observation: OBS_DIM, actions: Action::ALL.len() }
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
}

impl VariantAttackTask for Navigation {
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

    fn variant_unit(&self) -> &'static str {
        "cars added, each on a new track through a cell of the solver's own route, timed to stand there when the \
         agent does; the planner still reaches the goal"
    }
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
