//! Unit tests of the decision-list search: atoms, pool deduplication, covering and the learned policy.

use super::covering::{build_pool, cover, Budget, States};
use super::learner::{demonstration, search, Found};
use super::*;
use driftbench_core::{rng, Cell, PolicyTask, Profile, Solver, SolverKind, Task, TrainData};
use driftbench_tasks::navigation::{Action, City, NavInstance, Pattern, OBS_DIM, WINDOW};
use driftbench_tasks::Navigation;
use std::time::Instant;

const N: Action = Action::North;
const S: Action = Action::South;
const E: Action = Action::East;
const W: Action = Action::West;
const WAIT: Action = Action::Wait;

fn mask(atoms: &[Atom]) -> u32 {
    atoms.iter().fold(0, |m, a| m | a.bit())
}

fn data(n_train: usize, n_val: usize, seed: u64) -> TrainData<Navigation> {
    let t = Navigation;
    let draw = |purpose: &str, n: usize| {
        let mut r = rng::stream(seed, t.id(), purpose);
        (0..n).map(|_| t.generate(Cell::IN_DIST, &mut r)).collect()
    };
    TrainData { train: draw("train", n_train), val: draw("val", n_val), dropped_overlaps: 0, max_epochs: None }
}

#[test]
fn atoms_have_distinct_bits_and_names() {
    for bfs in [false, true] {
        let all = Atom::all(bfs);
        assert_eq!(all.len(), Atom::count(bfs));
        assert_eq!(mask(&all).count_ones() as usize, all.len());
        // The ablation's atoms are the low bits.
        assert_eq!(mask(&all), (1u32 << all.len()) - 1);
    }
    assert_eq!(Atom::CarNext(WAIT).to_string(), "car_next(here)");
    assert_eq!(Atom::BfsCloser(E).to_string(), "bfs_closer(E)");
}

#[test]
fn predicates_evaluate_on_hand_built_states() {
    let p = Predicate::default().and(Atom::BfsCloser(E), true).and(Atom::CarNext(E), false);
    assert_eq!(p.to_string(), "!car_next(E) & bfs_closer(E)");
    assert_eq!(p.literals(), 2);
    // (state, holds)
    let table = [
        (mask(&[Atom::BfsCloser(E), Atom::Free(E)]), true),
        (mask(&[Atom::BfsCloser(E), Atom::CarNext(E)]), false),
        (mask(&[Atom::BfsCloser(N), Atom::CarNext(W)]), false),
        (mask(&[Atom::BfsCloser(E), Atom::CarNext(WAIT), Atom::Goal(S)]), true),
        (0, false),
    ];
    for (state, holds) in table {
        assert_eq!(p.eval(state), holds, "{state:b}");
    }
    assert!(Predicate::default().eval(0) && Predicate::default().eval(u32::MAX));
    assert_eq!(Predicate::default().to_string(), "true");
    let program = Program {
        rules: vec![(Predicate::default().and(Atom::CarNext(WAIT), true).and(Atom::Free(N), true), N), (p, E)],
        default: WAIT,
    };
    assert_eq!(
        program.to_string(),
        "if free(N) & car_next(here) then N elif !car_next(E) & bfs_closer(E) then E else wait"
    );
    assert_eq!(program.act(mask(&[Atom::CarNext(WAIT), Atom::Free(N), Atom::BfsCloser(E)])), N);
    assert_eq!(program.act(mask(&[Atom::CarNext(WAIT), Atom::BfsCloser(E)])), E);
    assert_eq!(program.act(mask(&[Atom::BfsCloser(E), Atom::CarNext(E)])), WAIT);
    assert_eq!(Program { rules: vec![], default: S }.to_string(), "always S");
}

#[test]
fn state_atoms_read_the_observation_and_the_map() {
    let city = City::generate(Pattern::Grid, 3, 12, 12);
    // A street cell with a street to the east and a building to the north, both inside the map.
    let pos = (1..11)
        .flat_map(|y| (1..11).map(move |x| (x, y)))
        .find(|&(x, y)| city.is_street((x, y)) && city.is_street((x + 1, y)) && !city.is_street((x, y - 1)))
        .expect("such a cell");
    let goal = *city.street_cells().last().unwrap();
    let mut obs = vec![0.0f32; OBS_DIM];
    let slot = |c: usize, dx: i32, dy: i32| c * WINDOW * WINDOW + ((dy + 4) * WINDOW as i32 + dx + 4) as usize;
    obs[slot(1, 1, 0)] = 1.0; // a car east now
    obs[slot(2, 0, 0)] = 1.0; // it drives onto the agent's cell
    obs[slot(2, -2, 0)] = 1.0; // another car two cells west: no atom
    let to_goal = city.distances_from(goal);
    let m = state_atoms(&obs, &city, pos, goal, Some(&to_goal));
    let holds = |a: Atom| m & a.bit() != 0;
    assert!(holds(Atom::Free(E)) && !holds(Atom::Free(N)));
    assert!(holds(Atom::CarNow(E)) && holds(Atom::CarNext(WAIT)));
    assert!(!holds(Atom::CarNext(W)) && !holds(Atom::CarNow(W)) && !holds(Atom::CarNext(E)));
    assert_eq!(holds(Atom::Goal(E)), goal.0 > pos.0);
    assert_eq!(holds(Atom::Goal(S)), goal.1 > pos.1);
    assert_eq!(holds(Atom::Goal(N)), goal.1 < pos.1);
    let idx = |(x, y): (i32, i32)| (y * 12 + x) as usize;
    for d in DIRS {
        let n = city.moved(pos, d);
        let closer = n != pos && to_goal[idx(n)] < to_goal[idx(pos)];
        assert_eq!(holds(Atom::BfsCloser(d)), closer, "{d:?}");
    }
    // Some move is closer, since the goal is elsewhere; without the map no BFS atom is set.
    assert!(DIRS.iter().any(|&d| holds(Atom::BfsCloser(d))));
    let no_bfs = state_atoms(&obs, &city, pos, goal, None);
    assert_eq!(no_bfs, m & ((1 << ATOMS_NO_BFS) - 1));
    // A short observation reads as one without cars, and does not panic.
    let short = state_atoms(&[], &city, pos, goal, None);
    assert_eq!(short & mask(&[Atom::CarNow(E), Atom::CarNext(WAIT)]), 0);
}

#[test]
fn demonstration_states_match_the_world() {
    // The tracked position and the car atoms agree with the task's own world, tick by tick.
    let t = Navigation;
    let inst = t.generate(Cell::IN_DIST, &mut rng::stream(4, t.id(), "atoms"));
    let pairs = demonstration(&t, true, &inst);
    let route = t.demonstration(&inst).unwrap();
    assert_eq!(pairs.len(), route.len());
    let mut w = driftbench_tasks::navigation::World::new(&inst);
    for (&(m, a), &r) in pairs.iter().zip(&route) {
        assert_eq!(a, r);
        let pos = w.position();
        let cars = w.cars_at(w.tick());
        for d in DIRS {
            let (dx, dy) = d.delta();
            let car = cars.contains(&(pos.0 + dx, pos.1 + dy));
            assert_eq!(m & Atom::CarNow(d).bit() != 0, car, "{d:?} at tick {}", w.tick());
        }
        // The planner never moves into a cell a car ends the tick on.
        if a != WAIT.index() {
            assert_eq!(m & Atom::CarNext(Action::ALL[a]).bit(), 0);
        }
        w.step(Action::ALL[a]);
    }
    assert_eq!(w.position(), inst.goal);
}

#[test]
fn observationally_equivalent_predicates_are_merged() {
    // free(N) and free(S) always agree on these states; goal(E) never holds.
    let (fn_, fs, cn) = (Atom::Free(N), Atom::Free(S), Atom::CarNow(N));
    let states =
        States::from_pairs([(mask(&[fn_, fs]), 0), (mask(&[fn_, fs, cn]), 4), (mask(&[cn]), 4), (0, 1), (0, 1)]);
    assert_eq!(states.len(), 4);
    let atoms = [fn_, fs, cn, Atom::Goal(E)];
    let far = Budget::new(u64::MAX);
    let pool = build_pool(&states, &atoms, 1, 100, &far);
    let names: Vec<String> = pool.preds.iter().map(|p| p.to_string()).collect();
    assert_eq!(names, ["free(N)", "!free(N)", "car_now(N)", "!car_now(N)", "!goal(E)"]);
    assert_eq!(pool.enumerated, 8);
    // Pairs: free(N) & free(S) is free(N) again, free(N) & !free(S) holds nowhere.
    let pool2 = build_pool(&states, &atoms, 2, 100, &far);
    assert_eq!(pool2.enumerated, 8 + 4 * 6);
    let distinct: std::collections::BTreeSet<Vec<u64>> = pool2.behaviours.iter().cloned().collect();
    assert_eq!(distinct.len(), pool2.preds.len());
    // Four rows: at most 2^4 − 1 non-empty behaviours.
    assert!(pool2.preds.len() <= 15 && pool2.preds.len() > pool.preds.len());
    assert!(pool2.behaviours.iter().all(|b| b.iter().any(|&w| w != 0)));
    // The cap on distinct behaviours.
    let capped = build_pool(&states, &atoms, 2, 3, &far);
    assert!(capped.capped && capped.preds.len() == 3);
}

#[test]
fn sequential_covering_recovers_a_known_list() {
    let (cne, ge, gs, fnn) = (Atom::CarNext(E), Atom::Goal(E), Atom::Goal(S), Atom::Free(N));
    let target = Program {
        rules: vec![
            (Predicate::default().and(cne, true), WAIT),
            (Predicate::default().and(ge, true), E),
            (Predicate::default().and(gs, true).and(fnn, false), S),
        ],
        default: N,
    };
    let atoms = [cne, ge, gs, fnn];
    // Every combination of the four atoms, with uneven weights.
    let pairs: Vec<(u32, usize)> = (0u32..16)
        .flat_map(|bits| {
            let m = atoms.iter().enumerate().filter(|&(i, _)| bits >> i & 1 == 1).fold(0, |m, (_, a)| m | a.bit());
            // The states of the third rule weigh most, so that greedy covering takes it before any `N` rule.
            let a = target.act(m);
            std::iter::repeat_n((m, a.index()), if a == S { 10 } else { 1 + bits as usize % 3 })
        })
        .collect();
    let states = States::from_pairs(pairs.iter().copied());
    let far = Budget::new(u64::MAX);
    let pool = build_pool(&states, &Atom::all(false), 2, 10_000, &far);
    let list = cover(&states, &pool, 8, 1.0, 1, &far);
    let learned = Program { rules: list.rules.clone(), default: *list.defaults.last().unwrap() };
    for &(m, a) in &pairs {
        assert_eq!(learned.act(m).index(), a, "{learned} on {m:b}");
    }
    assert_eq!(learned, target);
    assert_eq!(list.defaults.len(), list.rules.len() + 1);
    assert!(list.scored > 0 && !list.work_capped);
}

#[test]
fn caps_are_respected_and_recorded() {
    let t = Navigation;
    let d = data(30, 10, 9);
    let mut c = DecisionListConfig::new(true);
    c.max_work = 0;
    let found = search(&c, &t, &d, &|_| {});
    let x = &found.stats.extra;
    assert_eq!((x["work_capped"], x["found"], x["rules"]), (1.0, 0.0, 0.0));
    assert!(found.stats.program.as_deref().unwrap().starts_with("none found: work cap"), "{:?}", found.stats);
    // A cap that counts work stops at the same place on every run (and every machine), whatever the speed:
    // here after the first chunk of conjunctions (the single literals).
    let mut c = DecisionListConfig::new(true);
    c.max_work = 1;
    let strip = |f: &Found| {
        let mut x = f.stats.extra.clone();
        x.remove("search_s");
        (f.stats.program.clone(), x)
    };
    let (a, b) = (strip(&search(&c, &t, &d, &|_| {})), strip(&search(&c, &t, &d, &|_| {})));
    assert_eq!(a.1["work_capped"], 1.0);
    assert_eq!(a.1["predicates_enumerated"], 2.0 * Atom::all(true).len() as f64);
    assert_eq!(a, b);
    assert!(found.program.is_none());
    let mut c = DecisionListConfig::new(false);
    c.max_predicates = 5;
    c.max_rules = 1;
    c.max_episodes = 10;
    c.max_val_episodes = 4;
    c.dagger_episodes = 3;
    let found = search(&c, &t, &d, &|_| {});
    let x = &found.stats.extra;
    assert_eq!((x["predicate_cap_hit"], x["distinct_behaviours"]), (1.0, 5.0));
    assert!(found.program.as_ref().map_or(0, |p| p.rules.len()) <= 1 && x["val_episodes"] == 4.0);
    assert_eq!(found.stats.examples, 10);
    // No data at all, and no precision floor: a recorded default, no panic.
    let empty = TrainData::<Navigation> { train: vec![], val: vec![], dropped_overlaps: 0, max_epochs: None };
    c.min_precisions.clear();
    let found = search(&c, &t, &empty, &|_| {});
    assert_eq!((found.stats.extra["found"], found.stats.examples), (0.0, 0));
    assert!(found.program.is_none() && found.stats.program.as_deref().unwrap().starts_with("none found"));
    // Without a list, and on a malformed instance, the solver gives no answer.
    let mut bad = d.val[0].clone();
    bad.width = 0;
    let insts = [d.val[0].clone(), bad];
    let out = ListSolver { program: None, bfs: true }.solve_batch(&t, &insts).unwrap();
    assert!(out.iter().all(|a| a.answer.is_none()));
    let out = ListSolver { program: Some(Program { rules: vec![], default: E }), bfs: true };
    let out = out.solve_batch(&t, &insts).unwrap();
    assert!(out[0].answer.is_some() && out[1].answer.is_none());
}

#[test]
fn learned_list_with_bfs_reaches_goals_at_level_0_and_is_deterministic() {
    let t = Navigation;
    let d = data(300, 50, 1);
    let profile = Profile::tiny();
    let learners = learners();
    assert_eq!(
        learners.iter().map(|l| l.name()).collect::<Vec<_>>(),
        ["decision-list", "decision-list-nobfs", "nearest-state"]
    );
    assert!(learners[..2].iter().all(|l| l.kind() == SolverKind::ProgramSearch));
    assert_eq!(learners[2].kind(), SolverKind::Baseline);
    let cfg = learners[0].config(&t, &profile);
    assert_eq!((cfg["max_rules"].as_u64(), cfg["max_literals"].as_u64()), (Some(8), Some(3)));
    assert_eq!(cfg["demonstration_episodes"].as_u64(), Some(300));
    let (solver, stats) = learners[0].train(&t, &d, &profile, 1, &|_| {}).unwrap();
    let (_, again) = learners[0].train(&t, &d, &profile, 1, &|_| {}).unwrap();
    assert_eq!(stats.program, again.program);
    assert_eq!(stats.examples, 300);
    let x = &stats.extra;
    assert_eq!(x["found"], 1.0, "{:?}", stats.program);
    assert!(x["distinct_behaviours"] > 100.0 && x["programs_enumerated"] >= x["distinct_behaviours"]);
    assert!(stats.program.as_deref().unwrap().contains("bfs_closer"), "{:?}", stats.program);
    let tests: Vec<NavInstance> = {
        let mut r = rng::stream(1, t.id(), "test/in-dist");
        (0..40).map(|_| t.generate(Cell::IN_DIST, &mut r)).collect()
    };
    let answers = solver.solve_batch(&t, &tests).unwrap();
    let ok =
        tests.iter().zip(&answers).filter(|(i, a)| a.answer.as_ref().is_some_and(|r| t.score(i, r).success)).count();
    assert!(ok >= 10, "{ok} of 40 with {:?}", stats.program);
    assert!(answers.iter().all(|a| a.info.work > 0));
}

/// Trains both lists on the quick profile's seed-1 data and prints them with their success at level 0 and at
/// every axis's level 4, next to the planner:
/// `cargo test --release -p driftbench-search navigation::tests::measure -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure() {
    let t = Navigation;
    let profile = Profile::quick().with_task_sizes(t.id(), t.train_examples_by_profile());
    let started = Instant::now();
    let c = DecisionListConfig::new(true);
    // Only the first `max_episodes` training instances are used; the first ones of the stream are the same.
    let d = data(c.max_episodes, profile.val_examples.min(c.max_val_episodes), 1);
    println!("data {:.1} s", started.elapsed().as_secs_f64());
    let mut cells = vec![Cell::IN_DIST];
    cells.extend((0..4).map(|a| Cell { axis: Some(a), level: 4 }));
    let tests: Vec<(String, Vec<NavInstance>)> = cells
        .iter()
        .map(|&cell| {
            let mut r = rng::stream(1, t.id(), &format!("measure/{}", cell.label(t.axes())));
            (cell.label(t.axes()), (0..200).map(|_| t.generate(cell, &mut r)).collect())
        })
        .collect();
    for learner in learners() {
        let started = Instant::now();
        let (solver, stats) = learner.train(&t, &d, &profile, 1, &|_| {}).unwrap();
        println!("{}: trained in {:.2} s", learner.name(), started.elapsed().as_secs_f64());
        println!("  {}", stats.program.as_deref().unwrap_or(""));
        println!("  val {:?} extra {:?}", stats.val_accuracy, stats.extra);
        for (label, insts) in &tests {
            let answers = solver.solve_batch(&t, insts).unwrap();
            let outcomes: Vec<_> =
                insts.iter().zip(&answers).map(|(i, a)| t.score(i, a.answer.as_ref().unwrap())).collect();
            let ok = outcomes.iter().filter(|o| o.success).count();
            let deaths = outcomes.iter().filter(|o| o.failure == Some("death")).count();
            let timeouts = outcomes.iter().filter(|o| o.failure == Some("timeout")).count();
            let planner = insts.iter().filter(|i| t.score(i, &t.solve_symbolic(i).0).success).count();
            println!(
                "  {label:10} success {:5.1}% (deaths {deaths}, timeouts {timeouts}) planner {:5.1}%",
                ok as f64 / 2.0,
                planner as f64 / 2.0
            );
        }
    }
}
