//! Tests of `rocket-v2`: its levels, its drift placement, its trials and its metric; and that v1 is untouched.

use super::*;
use driftbench_core::drift::measure_drift;
use driftbench_core::rng::stream;
use driftbench_core::FactorStats;
use driftbench_core::{Cell, Task, VecTask};

fn inst(distance: f64, flight_time: f64, gravity: f64, air_density: f64, altitude: f64) -> RocketInstance {
    RocketInstance { distance, flight_time, gravity, air_density, altitude }
}

/// Most simulated trials the solver may spend on a generated v2 instance (as v1's bound).
const MAX_WORK: u64 = 20;

#[test]
fn the_solver_lands_every_generated_v2_instance_within_a_tenth_of_a_percent() {
    let t = RocketV2;
    let mut most = 0;
    for seed in 0..40 {
        for cell in Cell::grid(t.axes().len()) {
            let i = t.generate(cell, &mut stream(seed, t.id(), "prop"));
            assert!(t.validate(&i).is_ok(), "{i:?}");
            let (a, info) = t.solve_symbolic(&i);
            let o = t.score(&i, &a);
            // v2's metric is the larger of the distance and time misses: the solver meets both.
            assert!(o.success && o.metric <= 1e-3, "{cell:?} {i:?}: {a:?} missed by {}", o.metric);
            assert_eq!(t.strict_success(&o), Some(true));
            most = most.max(info.work);
        }
    }
    assert!(most <= MAX_WORK, "{most} trials");
}

#[test]
fn every_generated_v2_level_is_within_the_limits_with_room() {
    let t = RocketV2;
    let mut rng = stream(3, "test", "limits-v2");
    let (mut depth, mut time, mut height) = (0f64, 0f64, 0f64);
    for cell in Cell::grid(t.axes().len()) {
        for _ in 0..300 {
            let i = t.generate(cell, &mut rng);
            assert!(t.validate(&i).is_ok(), "{i:?}");
            let k = drag_k(i.air_density);
            depth = depth.max(k * i.distance);
            time = time.max(i.flight_time * (i.gravity * k).sqrt());
            height = height.max(k * i.altitude);
        }
    }
    assert!(depth < MAX_DRAG_LENGTHS / 2.0 && time < MAX_DRAG_TIMES * 0.75 && height < 1.0, "{depth} {time} {height}");
}

#[test]
fn v2_levels_have_the_stated_values_and_level_zero_varies_every_factor() {
    let t = RocketV2;
    let d = t.design();
    let mut rng = stream(7, "test", "levels-v2");
    let within = |x: f64, (lo, hi): (f64, f64)| (lo..=hi).contains(&x);
    for cell in Cell::grid(t.axes().len()) {
        let insts: Vec<RocketInstance> = (0..300).map(|_| t.generate(cell, &mut rng)).collect();
        for i in &insts {
            let level = cell.level as usize;
            let distance = if cell.axis == Some(0) { d.distance_levels[level - 1] } else { d.distance };
            assert!(within(i.distance, distance), "{cell:?} {i:?}");
            let u = i.flight_time / i.distance.sqrt();
            let slack = 1e-3 / i.distance.sqrt();
            assert!(within(u, (d.time_factor.0 - slack, d.time_factor.1 + slack)), "{cell:?} {i:?}");
            let fixed = |axis: usize, levels: [f64; 4], value: f64, band: (f64, f64)| {
                if cell.axis == Some(axis) {
                    value == levels[level - 1]
                } else {
                    within(value, band)
                }
            };
            assert!(fixed(1, d.gravity_levels, i.gravity, d.gravity), "{cell:?} {i:?}");
            assert!(fixed(2, d.air_density_levels, i.air_density, d.air_density), "{cell:?} {i:?}");
            assert!(fixed(3, d.altitude_levels, i.altitude, d.altitude), "{cell:?} {i:?}");
        }
        if cell.level == 0 {
            let factors: [fn(&RocketInstance) -> f64; 4] =
                [|i| i.gravity, |i| i.air_density, |i| i.altitude, |i| i.distance];
            for f in factors {
                let (lo, hi) =
                    insts.iter().map(f).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
                assert!(hi - lo > 0.5 * (hi + lo).abs() * 0.05, "level 0 hardly varies: {lo}..{hi}");
            }
        }
    }
    assert_eq!(d.gravity_levels[3], 0.62, "Pluto");
    assert_eq!(d.air_density_levels[3], 0.0, "vacuum");
}

#[test]
fn the_v2_axes_pass_the_drift_placement_check() {
    let t = RocketV2;
    let report = measure_drift(&t, 1000, |c| stream(1, t.id(), &c.label(t.axes()))).expect("v2 places its axes");
    assert_eq!(report.failures, Vec::<String>::new(), "{:#?}", report.lines());
    assert_eq!(report.axes.len(), 4);
    // Distance L1 starts where the training targets end.
    let l1 = &report.axes[0].levels[0];
    assert!(l1.factor.min >= report.level0[0].max, "{:?}", l1.factor);
    // v1 declares no placement and is not measured.
    assert!(measure_drift(&Rocket, 10, |c| stream(1, "rocket-v1", &c.label(Rocket.axes()))).is_none());
}

#[test]
fn v2_trials_land_only_within_the_training_targets_and_vary_every_input() {
    let t = RocketV2;
    let mut rng = stream(2, t.id(), "train");
    let train: Vec<RocketInstance> = (0..4000).map(|_| t.generate(Cell::IN_DIST, &mut rng)).collect();
    let (examples, trials) = t.vec_training_set(&train, &mut stream(2, t.id(), "trials"));
    assert_eq!(trials, 4000);
    let kept = examples.len() as f64 / 4000.0;
    assert!((0.7..0.9).contains(&kept), "kept {kept}");
    for e in &examples {
        let (d, time) = (f64::from(e.input[0]), f64::from(e.input[1]));
        assert!((99.99..=1000.01).contains(&d), "{e:?}");
        let u = time / d.sqrt();
        assert!((0.2999..=0.7001).contains(&u), "{e:?}");
    }
    // Every input varies (the networks standardise each by its training spread): none is constant.
    for k in 0..5 {
        let col: Vec<f32> = examples.iter().map(|e| e.input[k]).collect();
        let stats = FactorStats::of(&col.iter().map(|&x| f64::from(x)).collect::<Vec<_>>());
        assert!(stats.sd > 1e-3 * stats.mean.abs().max(1.0), "input {k} is constant: {stats:?}");
    }
    // The trials reach the far corner of the targets: long shots at steep and flat angles.
    assert!(examples.iter().any(|e| e.input[0] > 950.0 && e.input[1] / e.input[0].sqrt() > 0.65));
    assert!(examples.iter().any(|e| e.input[0] > 950.0 && e.input[1] / e.input[0].sqrt() < 0.35));
}

#[test]
fn v2_metric_judges_the_flight_time_and_v1_does_not() {
    let i = inst(800.0, 12.0, 9.8, 0.0, 0.0);
    // Right distance, 3% late: the closed form for (800 m, 12.36 s).
    let (vx, vy) = vacuum_launch(&i.env(), 800.0, 12.0 * 1.03);
    let late = Launch { vx, vy };
    let (v1, v2) = (Rocket.score(&i, &late), RocketV2.score(&i, &late));
    assert!(v1.success && v2.success, "success judges the distance only");
    assert!(v1.metric < 1e-3 && Rocket.strict_success(&v1) == Some(true));
    assert!((v2.metric - 0.03).abs() < 1e-3, "{}", v2.metric);
    assert_eq!(RocketV2.strict_success(&v2), Some(false));
    assert_ne!(Rocket.strict_name(), RocketV2.strict_name());
}

#[test]
fn v1_declares_no_placement_and_keeps_its_trials() {
    // v1's draws are checked against its committed test sets in tests/rocket_versions.rs.
    let t = Rocket;
    let i = t.generate(Cell::IN_DIST, &mut stream(1, t.id(), "v1"));
    assert_eq!(i.altitude, 0.0);
    assert_eq!(t.trial_draw(), TrialDraw::Box { vx: TRIAL_VX, vy: TRIAL_VY });
    assert_eq!((t.id(), RocketV2.id()), ("rocket-v1", "rocket-v2"));
    assert!(t.placements().is_empty() && t.features().is_empty() && t.measure(&i).is_empty());
    assert_eq!(RocketV2.measure(&i).len(), RocketV2.features().len());
}
