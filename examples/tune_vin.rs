//! Hyper-parameter search for the value-iteration network (`vin`), on in-distribution validation data only.
//!
//! Trains each candidate on level-0 training episodes of the given seeds and prints its best level-0 validation
//! success (the learner's own `data.val`), the deaths its training cost, its learning curve and the CPU seconds of
//! training; no drift level is ever generated here. Candidates run on one thread each.
//!
//! `cargo run --release --example tune_vin -- [--seeds 1,2,3] [candidate-index ...]`
use driftbench_core::{rng, Cell, Learner, Profile, Solver, Task, TrainData};
use driftbench_nets::grid_policy::Vin;
use driftbench_nets::Net;
use driftbench_tasks::Navigation;
use std::collections::BTreeMap;

#[path = "common/cpu.rs"]
mod cpu;
use cpu::cpu_seconds;

fn candidates() -> Vec<(String, Vin)> {
    let vin = |f: &dyn Fn(&mut Vin)| {
        let mut v = Vin::default();
        f(&mut v);
        v
    };
    vec![
        ("default".into(), Vin::default()),
        ("discount 0.9".into(), vin(&|v| v.0.discount = 0.9)),
        ("discount 0.99".into(), vin(&|v| v.0.discount = 0.99)),
        ("lr 1e-3".into(), vin(&|v| v.0.train.lr = 1e-3)),
        ("3000 steps".into(), vin(&|v| v.0.train.steps = 3000)),
        ("window 9".into(), vin(&|v| v.0.window = 9)),
        ("lr 1e-2".into(), vin(&|v| v.0.train.lr = 1e-2)),
        ("q 16, reward hidden 32".into(), vin(&|v| (v.0.q_channels, v.0.reward_hidden) = (16, 32))),
        (
            "8000 demos, 3 rounds of 1000".into(),
            vin(&|v| (v.0.demonstrations, v.0.dagger_rounds, v.0.dagger_episodes) = (8000, 3, 1000)),
        ),
        ("no memory".into(), vin(&|v| v.0.memory = 0)),
        ("memory radius 2".into(), vin(&|v| v.0.memory = 2)),
        ("memory radius 3".into(), vin(&|v| v.0.memory = 3)),
        ("3 DAgger rounds of 500".into(), vin(&|v| v.0.dagger_rounds = 3)),
        ("2 DAgger rounds of 1000".into(), vin(&|v| v.0.dagger_episodes = 1000)),
        ("radius 1, window 9".into(), vin(&|v| v.0.window = 9)),
        ("radius 1, window 5".into(), vin(&|v| v.0.window = 5)),
        ("radius 1, head [256, 256]".into(), vin(&|v| v.0.hidden = vec![256, 256])),
        ("radius 1, batches of 32 worlds".into(), vin(&|v| v.0.train.batch = 32)),
        (
            "radius 1, 3000 steps, head [256, 256]".into(),
            vin(&|v| (v.0.train.steps, v.0.hidden) = (3000, vec![256, 256])),
        ),
        ("radius 1, 2250 steps".into(), vin(&|v| v.0.train.steps = 2250)),
        (
            "radius 1, 3000 steps, 4000 demos, 3 DAgger rounds of 500".into(),
            vin(&|v| (v.0.train.steps, v.0.demonstrations, v.0.dagger_rounds) = (3000, 4000, 3)),
        ),
        (
            "radius 1, 3000 steps, head [256, 256], 4000 demos, 3 DAgger rounds of 500".into(),
            vin(&|v| {
                (v.0.train.steps, v.0.demonstrations, v.0.dagger_rounds) = (3000, 4000, 3);
                v.0.hidden = vec![256, 256];
            }),
        ),
        (
            "radius 1, 4000 steps, head [256, 256]".into(),
            vin(&|v| (v.0.train.steps, v.0.hidden) = (4000, vec![256, 256])),
        ),
    ]
}

/// Failure labels of the trained solver on the validation instances, counted.
fn failures(
    task: &Navigation,
    solver: &dyn Solver<Navigation>,
    val: &[<Navigation as Task>::Instance],
) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    if let Ok(attempts) = solver.solve_batch(task, val) {
        for (a, inst) in attempts.iter().zip(val) {
            let o = a.answer.as_ref().map(|ans| task.score(inst, ans));
            if let Some(f) =
                o.map_or(Some("no answer"), |o| if o.success { None } else { Some(o.failure.unwrap_or("other")) })
            {
                *out.entry(f).or_default() += 1;
            }
        }
    }
    out
}

fn main() {
    driftbench_nets::configure_cpu_threads();
    let task = Navigation;
    let profile = Profile::quick();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seeds: Vec<u64> = args
        .iter()
        .position(|a| a == "--seeds")
        .and_then(|i| args.get(i + 1))
        .map_or(vec![1, 2, 3], |s| s.split(',').filter_map(|x| x.parse().ok()).collect());
    let pick: Vec<usize> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || args[i - 1] != "--seeds")
        .filter_map(|(_, a)| a.parse().ok())
        .collect();
    for (i, (name, learner)) in candidates().into_iter().enumerate() {
        if !pick.is_empty() && !pick.contains(&i) {
            continue;
        }
        for &seed in &seeds {
            let draw = |purpose: &str, n: usize| {
                let mut r = rng::stream(seed, task.id(), purpose);
                (0..n).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect::<Vec<_>>()
            };
            let data = TrainData {
                train: draw("tune-train", profile.train_examples_for(task.id())),
                val: draw("tune-val", profile.val_examples),
                dropped_overlaps: 0,
                max_epochs: None,
            };
            let cpu = cpu_seconds();
            match Net(learner.clone()).train(&task, &data, &profile, seed, &|_| {}) {
                Ok((solver, s)) => println!(
                    "{i:2} {name:24} seed {seed} val success {:.3}  agreement {:.3}  deaths {}  {:.1} CPU s  curve {:?}  \
                     val failures {:?}",
                    s.val_exact.unwrap_or(0.0),
                    s.val_accuracy.unwrap_or(0.0),
                    s.deaths,
                    cpu_seconds() - cpu,
                    s.curve.iter().map(|c| (c.0, (c.3 * 1000.0).round() / 1000.0)).collect::<Vec<_>>(),
                    failures(&task, solver.as_ref(), &data.val)
                ),
                Err(e) => println!("{i:2} {name:24} seed {seed} failed: {e}"),
            }
        }
    }
}
