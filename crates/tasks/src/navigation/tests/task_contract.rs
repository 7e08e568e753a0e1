//! Tests of the navigation task's contract: what `validate` accepts, the JSON form, the levels and the training-set
//! sizes it states, the attack variants and the pictures. The world and planner tests are in the parent module,
//! whose helpers these use.
use super::*;

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
            built_over_percent: None,
            planner_steps: None,
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
        let mut manifest = Manifest { schema: MANIFEST_SCHEMA, ..Default::default() };
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
