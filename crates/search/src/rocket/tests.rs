//! Unit tests of the formula search: the grammar, the fitting and the learners under tiny caps.

use super::dsl::quantise;
use super::formula::fit;
use super::*;
use crate::enumerate::{enumerate, Caps, Control, Expr};
use driftbench_core::{rng, Cell, Learner, Profile, Task, TrainData, TrainStats, VecTask};
use driftbench_tasks::rocket::{vacuum_launch, Rocket, RocketInstance, RocketV2};
use rand::Rng;

fn v(i: u8) -> Expr<RealOp> {
    Expr::leaf(RealOp::Var(i))
}
fn op(o: RealOp, a: Expr<RealOp>, b: Expr<RealOp>) -> Expr<RealOp> {
    Expr::node(o, vec![a, b])
}

/// Vacuum instances with varied gravity and altitude, and their trials.
fn vacuum_trials(seed: u64, n: usize) -> Vec<Trial> {
    let task = Rocket;
    let mut rng = rng::stream(seed, "search-test", "vacuum");
    let insts: Vec<RocketInstance> = (0..n)
        .map(|_| {
            let mut i = task.generate(Cell::IN_DIST, &mut rng);
            i.air_density = 0.0;
            i.gravity = rng.random_range(1.0..25.0);
            i.altitude = rng.random_range(0.0..600.0);
            i
        })
        .collect();
    trials(&task.vec_training_set(&insts, &mut rng::stream(seed, "search-test", "vacuum-trials")).0)
}

#[test]
fn formulas_evaluate_and_fit_hand_written_cases() {
    let x = [500.0, 10.0, 9.8, 1.2, 100.0];
    // D / T = 50; g*T/2 - h0/T = 49 - 10 = 39.
    assert_eq!(eval(&op(RealOp::Div, v(0), v(1)), &x), 50.0);
    let vy = op(
        RealOp::Sub,
        op(RealOp::Div, op(RealOp::Mul, v(2), v(1)), Expr::leaf(RealOp::Two)),
        op(RealOp::Div, v(4), v(1)),
    );
    assert!((eval(&vy, &x) - 39.0).abs() < 1e-12);
    assert_eq!(vy.size(), 9);
    assert_eq!(vy.show(&FormulaGrammar { probes: vec![] }), "(((g * T) / 2) - (h0 / T))");
    assert!(eval(&op(RealOp::Div, v(0), op(RealOp::Sub, v(1), v(1))), &x).is_infinite());
    // Least squares recovers exact constants.
    let f = [1.0, 2.0, 3.0, 4.0];
    let y: Vec<f64> = f.iter().map(|v| 3.0 * v + 0.5).collect();
    let (a, b) = fit(Form::Affine, &f, &y).unwrap();
    assert!((a - 3.0).abs() < 1e-9 && (b - 0.5).abs() < 1e-9);
    let (a, b) = fit(Form::Scale, &f, &f.map(|v| 2.0 * v)).unwrap();
    assert!((a - 2.0).abs() < 1e-12 && b == 0.0);
    assert!(fit(Form::Affine, &[2.0; 4], &y).is_none(), "a constant skeleton has no scale and offset");
    let formula = Formula { skeleton: op(RealOp::Div, v(0), v(1)), form: Form::Affine, scale: 1.5, offset: -2.0 };
    assert_eq!(formula.eval(&x), 73.0);
    assert_eq!(formula.size(), 7);
    assert_eq!(formula.to_string(), "1.5 * (D / T) + -2");
}

#[test]
fn probe_equivalence_merges_reassociations_but_keeps_distinct_formulas() {
    let probes = vacuum_trials(3, 12).iter().map(|t| t.inputs).collect();
    let g = FormulaGrammar { probes };
    let (bank, _) = enumerate(&g, &Caps { max_size: 5, ..Caps::default() }, |_| Control::Continue);
    let shown: Vec<String> = (0..bank.len() as u32).map(|id| bank.show(&g, id)).collect();
    // (D + T) + g and D + (T + g) are one behaviour; D / T and T / D are two.
    let count = |s: &str| shown.iter().filter(|x| x.as_str() == s).count();
    assert_eq!(count("((D + T) + g)") + count("(D + (T + g))") + count("((D + g) + T)"), 1, "{shown:?}");
    assert_eq!(count("(D / T)") + count("(T / D)"), 2);
    // In vacuum rho is 0 on every probe, so D - D and T - T (also 0) are merged into the terminal rho.
    assert_eq!(count("rho"), 1);
    assert_eq!(count("(D - D)") + count("(T - T)"), 0);
    // Every kept behaviour is distinct.
    let keys: std::collections::BTreeSet<Vec<u64>> =
        (0..bank.len() as u32).map(|id| bank.behaviour(id).iter().map(|&x| quantise(x)).collect()).collect();
    assert_eq!(keys.len(), bank.len());
}

#[test]
fn search_recovers_the_vacuum_closed_form() {
    let train = vacuum_trials(1, 300);
    let val = vacuum_trials(2, 200);
    let settings = Settings::for_profile(&Profile::quick());
    let fit = search(&train, &val, &settings);
    let (fx, fy) = (fit.vx.unwrap(), fit.vy.unwrap());
    println!("vacuum: vx = {}, vy = {} ({:?})", fx.formula, fy.formula, fit.stats);
    assert_eq!(fx.formula.to_string(), "(D / T)");
    assert_eq!(fy.formula.size(), 9, "{}", fy.formula);
    assert_eq!(fy.formula.form, Form::Raw, "{}", fy.formula);
    // vy agrees with g*T/2 - h0/T far outside the training ranges.
    for x in [[5000.0, 40.0, 0.62, 0.0, 600.0], [100.0, 2.0, 24.79, 0.0, 0.0], [3000.0, 30.0, 3.71, 2.0, 50.0]] {
        let env = driftbench_tasks::rocket::Env { gravity: x[2], air_density: x[3], altitude: x[4] };
        let (wx, wy) = vacuum_launch(&env, x[0], x[1]);
        assert!((fx.formula.eval(&x) - wx).abs() < 1e-9 * wx.abs());
        assert!((fy.formula.eval(&x) - wy).abs() < 1e-9 * wy.abs().max(1.0), "{}", fy.formula);
    }
    assert!(fx.val_error < 1e-5 && fy.val_error < 1e-4, "{} {}", fx.val_error, fy.val_error);
    assert!(fx.consistent >= 1 && fy.consistent >= 1);
    assert!(fit.stats.seconds < 10.0, "{:?}", fit.stats);
    assert!(fit.stats.peak_bytes < 768 << 20);
}

#[test]
fn the_learners_train_on_the_networks_trials_and_answer() {
    let task = Rocket;
    let draw = |purpose: &str, n| {
        let mut rng = rng::stream(1, task.id(), purpose);
        (0..n).map(|_| task.generate(Cell::IN_DIST, &mut rng)).collect::<Vec<_>>()
    };
    let data = TrainData { train: draw("train", 300), val: draw("val", 50), dropped_overlaps: 0, max_epochs: None };
    let profile = Profile::tiny();
    // The prefix of the instances gives exactly the networks' first examples.
    let all = task.vec_training_set(&data.train, &mut rng::stream(1, task.id(), "trials/train")).0;
    let some = task.vec_training_set(&data.train[..40], &mut rng::stream(1, task.id(), "trials/train")).0;
    assert_eq!(&all[..40], &some[..]);
    let test: Vec<RocketInstance> = draw("test", 20);
    for learner in learners() {
        let (solver, stats) = learner.train(&task, &data, &profile, 1, &|_| {}).unwrap();
        // Deterministic: a second run records the same program and figures, timings aside.
        let (_, again) = learner.train(&task, &data, &profile, 1, &|_| {}).unwrap();
        let untimed = |s: &TrainStats| {
            let mut s = s.clone();
            s.extra.retain(|k, _| !k.ends_with("_s"));
            s
        };
        assert_eq!(untimed(&stats), untimed(&again));
        assert_eq!(stats.extra["found"], 1.0, "{}", learner.name());
        assert!(stats.program.as_deref().is_some_and(|p| p.starts_with("vx = ")), "{:?}", stats.program);
        assert_eq!(stats.trials, 300);
        let out = solver.solve_batch(&task, &test).unwrap();
        assert!(out.iter().all(|a| a.answer.is_some()));
        if learner.name() == "formula-shoot" {
            assert!(out.iter().all(|a| a.info.work >= 1));
            // Shooting from any reasonable start lands like the hand-written solver.
            assert!(test.iter().zip(&out).all(|(i, a)| task.score(i, a.answer.as_ref().unwrap()).success));
        }
    }
}

#[test]
fn a_tiny_cap_is_a_recorded_none_found() {
    let task = Rocket;
    let mut rng = rng::stream(1, task.id(), "train");
    let train: Vec<RocketInstance> = (0..30).map(|_| task.generate(Cell::IN_DIST, &mut rng)).collect();
    let data = TrainData { train: train.clone(), val: Vec::new(), dropped_overlaps: 0, max_epochs: None };
    let mut settings = Settings::for_profile(&Profile::tiny());
    settings.caps.max_programs = 0;
    let learner = FormulaSearch { shoot: true, settings: Some(settings), max_programs: None };
    let (solver, stats) = learner.train(&task, &data, &Profile::tiny(), 1, &|_| {}).unwrap();
    assert_eq!(stats.extra["found"], 0.0);
    assert!(stats.program.as_deref().is_some_and(|p| p.starts_with("none found: program-count cap")), "{stats:?}");
    let out = solver.solve_batch(&task, &train).unwrap();
    assert!(out.iter().all(|a| a.answer.is_none() && a.info.work == 0));
    // No data is an error, not a panic.
    let empty = TrainData { train: Vec::new(), val: Vec::new(), dropped_overlaps: 0, max_epochs: None };
    assert!(FormulaSearch::formula().train(&task, &empty, &Profile::tiny(), 1, &|_| {}).is_err());
}

#[test]
fn the_vacuum_formula_lands_every_vacuum_instance_within_its_tolerance() {
    let task = RocketV2;
    let vacuum = Cell { axis: Some(2), level: 4 };
    let mut rng = rng::stream(4, task.id(), "vacuum");
    let insts: Vec<RocketInstance> = (0..300).map(|_| task.generate(vacuum, &mut rng)).collect();
    assert!(insts.iter().all(|i| i.air_density == 0.0));
    let data = TrainData { train: Vec::new(), val: insts[..50].to_vec(), dropped_overlaps: 0, max_epochs: None };
    let learner = VacuumFormula;
    let (solver, stats) = learner.train(&task, &data, &Profile::tiny(), 1, &|_| {}).unwrap();
    assert_eq!(stats.val_accuracy, Some(1.0), "{stats:?}");
    let out = solver.solve_batch(&task, &insts).unwrap();
    for (i, a) in insts.iter().zip(&out) {
        let launch = a.answer.as_ref().expect("a finite launch");
        assert_eq!(a.info.work, 0, "no simulation at test time");
        let l = driftbench_tasks::rocket::simulate(&i.env(), launch.vx, launch.vy);
        assert!(l.landed, "{i:?}");
        assert!((l.distance - i.distance).abs() <= VACUUM_TOLERANCE * i.distance, "{i:?}: {l:?}");
        assert!((l.time - i.flight_time).abs() <= VACUUM_TOLERANCE * i.flight_time, "{i:?}: {l:?}");
    }
    // In air it ignores the drag and falls short; a seed changes nothing.
    let air = task.generate(Cell::IN_DIST, &mut rng);
    let a = solver.solve_batch(&task, std::slice::from_ref(&air)).unwrap().remove(0).answer.unwrap();
    assert!(task.score(&air, &a).metric > 0.01);
    assert!(!Learner::<RocketV2>::seed_dependent(&learner));
    assert!(learner.observes(&task).contains("not the air density"));
    let names: Vec<&str> = learners_v2().iter().map(|l| l.name()).collect();
    assert_eq!(names, ["formula-search", "formula-shoot", "vacuum-formula"]);
}
