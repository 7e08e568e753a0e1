//! Tests of `navigation-v2`: its generator keeps what it states, its axes pass the drift-placement check, its
//! stored planner length is validated and used, its strict criterion, and the v1 instances it leaves alone.
use super::*;
use driftbench_core::drift::measure_drift;

fn v2_instance(cell: Cell, seed: u64) -> NavInstance {
    NavigationV2.generate(cell, &mut rng::stream(seed, "navigation-v2", "test"))
}

#[test]
fn generated_instances_state_their_route_band_step_limit_and_planner_length() {
    let t = NavigationV2;
    for cell in Cell::grid(t.axes().len()) {
        let mut r = rng::stream(5, t.id(), &format!("test/{}", cell.label(t.axes())));
        for _ in 0..20 {
            let (inst, draws) = generate_counted_v2(cell, &mut r);
            assert!(draws <= 64, "{draws} draws in {cell:?}");
            assert!(t.validate(&inst).is_ok(), "{inst:?}: {:?}", t.validate(&inst));
            let city = inst.city();
            let route = city.distances_from(inst.start)[city.index(inst.goal)];
            assert!(route_band(inst.width).contains(&route), "{inst:?}");
            assert_eq!(inst.max_steps, STEPS_PER_ROUTE_CELL * route);
            let planned = plan(&inst).unwrap().0;
            assert_eq!(inst.planner_steps, Some(planned.len() as u32));
            let m = t.measure(&inst);
            assert_eq!(m.len(), t.features().len());
            assert_eq!((m[0], m[1], m[4]), (inst.width as f64, route as f64, STEPS_PER_ROUTE_CELL as f64));
        }
    }
    // Deterministic per stream.
    assert_eq!(v2_instance(Cell::IN_DIST, 3), v2_instance(Cell::IN_DIST, 3));
}

/// The check `driftbench check` runs: every axis drifts its factor alone, to the declared distances.
#[test]
fn drift_placement_passes() {
    let t = NavigationV2;
    let report = measure_drift(&t, 1000, |c| rng::stream(1, t.id(), &format!("drift/{}", c.label(t.axes())))).unwrap();
    assert_eq!(report.failures, Vec::<String>::new());
    assert_eq!(report.axes.len(), 4);
    // The step limit is the same multiple of the route length everywhere.
    let steps = t.features().iter().position(|f| f.name == "step limit per route length").unwrap();
    assert_eq!(report.level0[steps].sd, 0.0);
}

#[test]
fn junction_share_counts_three_and_four_way_cells_off_the_edge() {
    // One cross of streets: the centre is a 4-way junction, the rest are 2-way or on the edge.
    let c = city(&["##.##", "##.##", ".....", "##.##", "##.##"]);
    // Inner street cells: (2,1), (1,2), (2,2), (3,2), (2,3); one junction.
    assert!((junction_share(&c) - 0.2).abs() < 1e-12);
    assert_eq!(junction_share(&city(&["#####", "#####"])), 0.0);
}

#[test]
fn the_stored_planner_length_is_validated_and_scores_the_metric() {
    let t = NavigationV2;
    let inst = v2_instance(Cell::IN_DIST, 7);
    let steps = inst.planner_steps.unwrap();
    let wrong = NavInstance { planner_steps: Some(steps + 1), ..inst.clone() };
    assert!(t.validate(&wrong).unwrap_err().contains("planner_steps"));
    let missing = NavInstance { planner_steps: None, ..inst.clone() };
    assert!(t.validate(&missing).unwrap_err().contains("planner_steps"));
    let no_share = NavInstance { built_over_percent: None, ..inst.clone() };
    assert!(t.validate(&no_share).unwrap_err().contains("built_over_percent"));
    let too_much = NavInstance { built_over_percent: Some(101), ..inst.clone() };
    assert!(t.validate(&too_much).unwrap_err().contains("built_over_percent"));
    // navigation-v1 refuses the fields it does not have.
    assert!(Navigation.validate(&inst).unwrap_err().contains("navigation-v2"));
    // The metric reads the stored length: a route as long as the planner's scores 1.
    let (route, _) = t.solve_symbolic(&inst);
    let o = t.score(&inst, &route);
    assert_eq!((o.success, o.metric), (true, 1.0));
    // The v1 instances are untouched: no new fields in their JSON.
    let v1 = instance(Cell::IN_DIST, 7);
    let json = serde_json::to_string(&v1).unwrap();
    assert!(!json.contains("planner_steps") && !json.contains("built_over"), "{json}");
    let back: NavInstance = serde_json::from_str(&serde_json::to_string(&inst).unwrap()).unwrap();
    assert_eq!(back, inst);
}

#[test]
fn strict_success_is_within_one_and_a_half_times_the_planner() {
    let t = NavigationV2;
    // Without cars every route is safe and the planner's is the street distance.
    let mut inst = v2_instance(Cell::IN_DIST, 11);
    inst.cars_per_100_cells = 0;
    let route = plan(&inst).unwrap().0;
    inst.planner_steps = Some(route.len() as u32);
    assert!(t.validate(&inst).is_ok());
    let n = route.len();
    let waiting =
        |k: usize| Route { actions: std::iter::repeat_n(Action::Wait, k).chain(route.iter().copied()).collect() };
    // (n + k) / n ≤ 1.5 exactly when 2k ≤ n.
    for k in [0, n / 2, n / 2 + 1, n] {
        let o = t.score(&inst, &waiting(k));
        assert!(o.success, "{k}: {o:?}");
        assert_eq!(t.strict_success(&o), Some(2 * k <= n), "{k} waits on a route of {n}: {o:?}");
    }
    // A failure is never a strict success.
    let o = t.score(&inst, &Route { actions: vec![Action::Wait; 4 * n] });
    assert!(!o.success);
    assert_eq!(t.strict_success(&o), Some(false));
    assert_eq!(Navigation.strict_success(&o), None);
}

#[test]
fn attack_variants_state_the_new_planner_length() {
    let t = NavigationV2;
    let mut r = rng::stream(3, "test", "attack-variants-v2");
    let mut made = 0;
    for _ in 0..6 {
        let inst = t.generate(Cell::IN_DIST, &mut r);
        let (route, _) = t.solve_symbolic(&inst);
        for v in t.attack_variants(&inst, &route, 2, 3, &mut r) {
            made += 1;
            assert!(t.validate(&v).is_ok(), "{v:?}");
            assert_eq!(v.planner_steps, plan(&v).map(|(p, _)| p.len() as u32));
        }
    }
    assert!(made >= 10, "only {made} variants");
}

/// Prints draws per instance and the planner's length per cell:
/// `cargo test --release -p driftbench-tasks navigation::tests::v2::measure_v2 -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_v2() {
    let t = NavigationV2;
    for cell in Cell::grid(t.axes().len()) {
        let mut r = rng::stream(2017, t.id(), &format!("test/{}", cell.label(t.axes())));
        let drawn: Vec<(NavInstance, usize)> = (0..1000).map(|_| generate_counted_v2(cell, &mut r)).collect();
        let draws: Vec<usize> = drawn.iter().map(|&(_, d)| d).collect();
        let mean = |f: &dyn Fn(&NavInstance) -> f64| drawn.iter().map(|(i, _)| f(i)).sum::<f64>() / drawn.len() as f64;
        println!(
            "{:11} | draws mean {:.2} max {:3} | step limit {:5.1} | planner {:5.1} ticks",
            cell.label(t.axes()),
            draws.iter().sum::<usize>() as f64 / draws.len() as f64,
            draws.iter().max().unwrap(),
            mean(&|i| i.max_steps as f64),
            mean(&|i| i.planner_steps.unwrap() as f64),
        );
    }
}
