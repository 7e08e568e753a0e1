//! Unit tests of the navigation task: collision rules, planner optimality, observations, scoring.

use super::planner::{blocked, search, Hazards};
use super::task::{generate_counted, AXES};
use super::traffic::{hits, Car, Traffic};
use super::v2::generate_counted_v2;
use super::*;
use driftbench_core::rng;
use driftbench_core::{Cell, PolicyTask, Task, VariantAttackTask};
use proptest::prelude::*;
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

/// The task's contract: validation, JSON, levels, profiles, attack variants and pictures.
mod task_contract;
/// `navigation-v2`: its generator, placements, stored planner length and strict criterion.
mod v2;

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
            start: (0, 0), goal: (0, 0), max_steps: 30, added_cars: Vec::new(), built_over_percent: None,
            planner_steps: None,
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
            start: (0, 0), goal: (0, 0), max_steps: 20, added_cars: Vec::new(), built_over_percent: None,
            planner_steps: None,
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

#[test]
fn the_expert_along_a_run_answers_as_the_expert_after_each_prefix() {
    // Random walks (which die, time out or reach the goal), unknown action indices and runs longer than the
    // episode, on both versions: one replay answers as replaying every prefix does.
    fn check<T: PolicyTask<Instance = NavInstance>>(t: &T, insts: &[NavInstance], r: &mut ChaCha8Rng) {
        let mut answered = 0;
        for inst in insts {
            for _ in 0..3 {
                let len = r.random_range(0..=(inst.max_steps as usize + 3));
                let taken: Vec<usize> =
                    (0..len).map(|_| if r.random_bool(0.02) { 7 } else { r.random_range(0..5) }).collect();
                let want: Vec<Option<usize>> = (0..len).map(|k| t.expert_action(inst, &taken[..k])).collect();
                answered += want.iter().flatten().count();
                assert_eq!(t.expert_actions(inst, &taken), want, "{inst:?} {taken:?}");
            }
        }
        assert!(answered > 0);
    }
    let mut r = rng::stream(9, "test", "expert-actions");
    let v1: Vec<NavInstance> = (0..8).map(|_| Navigation.generate(Cell::IN_DIST, &mut r)).collect();
    check(&Navigation, &v1, &mut r);
    let v2: Vec<NavInstance> = (0..8).map(|_| NavigationV2.generate(Cell::IN_DIST, &mut r)).collect();
    check(&NavigationV2, &v2, &mut r);
}

#[test]
fn the_planner_from_many_states_answers_as_from_each() {
    let t = NavigationV2;
    let mut r = rng::stream(10, "test", "first-actions");
    for _ in 0..10 {
        let inst = t.generate(Cell::IN_DIST, &mut r);
        let cells = inst.city().street_cells();
        // Random states (reachable or not, late ticks, off-street cells), in a random order.
        let states: Vec<((i32, i32), u32)> = (0..25)
            .map(|_| {
                let at = if r.random_bool(0.1) { (-1, 0) } else { *cells.choose(&mut r).unwrap() };
                (at, r.random_range(0..=inst.max_steps + 2))
            })
            .collect();
        let want: Vec<Option<Action>> =
            states.iter().map(|&(at, t0)| plan_from(&inst, at, t0).and_then(|p| p.first().copied())).collect();
        assert!(want.iter().any(Option::is_some));
        assert_eq!(first_actions_from(&inst, &states), want);
    }
}
