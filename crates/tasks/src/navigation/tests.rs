//! Unit tests of the navigation task: collision rules, planner optimality, observations, scoring.

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
                    let win = |c: usize| obs[c * WINDOW_CELLS + ((dy + RADIUS) * WINDOW as i32 + dx + RADIUS) as usize];
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
    assert!(r.died && !r.reached && !r.timed_out && r.death_cell == Some(dies.start) && r.path.len() == r.steps + 1);
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
fn the_task_states_its_training_set_sizes_for_the_builtin_profiles() {
    // 8,000 episodes under quick, 20,000 under full, the profile's own count under tiny; a size the profile sets
    // itself wins.
    use driftbench_core::Profile;
    let filled = |p: Profile| p.with_task_sizes(Navigation.id(), Navigation.train_examples_by_profile());
    assert_eq!(filled(Profile::quick()).train_examples_for(Navigation.id()), 8_000);
    assert_eq!(filled(Profile::full()).train_examples_for(Navigation.id()), 20_000);
    assert_eq!(filled(Profile::tiny()).train_examples_for(Navigation.id()), Profile::tiny().train_examples);
    let own = Profile { train_examples_by_task: [(Navigation.id().to_string(), 5)].into(), ..Profile::quick() };
    assert_eq!(filled(own).train_examples_for(Navigation.id()), 5);
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
    let dier =
        (0..60).map(|s| instance(Cell { axis: Some(2), level: 4 }, s)).find(|i| replay(i, &[WAIT; 200]).died).unwrap();
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
