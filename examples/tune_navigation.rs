//! Hyper-parameter search for the navigation policies, on in-distribution validation data only.
//!
//! Trains each candidate on level-0 training episodes and prints its best level-0 validation success, the deaths
//! its training cost and its learning curve; no drift level is ever generated here. Uses seed 100, which the
//! suite's runs (seeds 1..=10) never use. Candidates run on one thread each; CPU seconds are printed so that
//! costs can be compared on a loaded machine.
//!
//! `cargo run --release --example tune_navigation -- [candidate-index ...]`
use driftbench_core::{tuning, Cell, Learner, Profile, Task};
use driftbench_nets::grid_policy::Vin;
use driftbench_nets::policy::Imitation;
use driftbench_nets::ppo::Ppo;
use driftbench_nets::Net;
use driftbench_tasks::Navigation;

#[path = "common/cpu.rs"]
mod cpu;
use cpu::cpu_seconds;

fn candidates() -> Vec<(String, Box<dyn Learner<Navigation>>)> {
    let mut out: Vec<(String, Box<dyn Learner<Navigation>>)> = Vec::new();
    out.push(("imitation default".into(), Box::new(Net(Imitation::default()))));
    out.push(("vin default".into(), Box::new(Net(Vin::default()))));
    let vin = |f: &dyn Fn(&mut Vin)| {
        let mut v = Vin::default();
        f(&mut v);
        Box::new(Net(v))
    };
    out.push(("vin window 5, 1500 steps".into(), vin(&|v| (v.0.window, v.0.train.steps) = (5, 1500))));
    out.push(("vin window 5, 3000 steps".into(), vin(&|v| v.0.window = 5)));
    out.push(("vin window 7, 3000 steps".into(), vin(&|v| v.0.train.steps = 3000)));
    out.push(("vin lr 1e-3".into(), vin(&|v| v.0.train.lr = 1e-3)));
    out.push(("ppo default".into(), Box::new(Net(Ppo::default()))));
    let ppo = |f: &dyn Fn(&mut Ppo)| {
        let mut p = Ppo::default();
        f(&mut p);
        Box::new(Net(p))
    };
    out.push(("ppo lr 1e-3, 60 updates".into(), ppo(&|p| (p.0.lr, p.0.updates) = (1e-3, 60))));
    out.push(("ppo lr 3e-3, 60 updates".into(), ppo(&|p| p.0.updates = 60)));
    out.push(("ppo lr 1e-3, 120 updates".into(), ppo(&|p| (p.0.lr, p.0.updates) = (1e-3, 120))));
    out.push(("ppo hidden [256, 256]".into(), ppo(&|p| p.0.hidden = vec![256, 256])));
    out
}

fn main() {
    driftbench_nets::configure_cpu_threads();
    let task = Navigation;
    let profile = Profile::quick().with_task_sizes(task.id(), task.train_examples_by_profile());
    let seed = 100;
    // Sealed: level 0 only, from the tuning streams; a suite seed or a drift cell is refused.
    let data = match tuning::tuning_data(
        &task,
        Cell::IN_DIST,
        seed,
        profile.train_examples_for(task.id()),
        profile.val_examples,
    ) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let pick: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    for (i, (name, learner)) in candidates().into_iter().enumerate() {
        if !pick.is_empty() && !pick.contains(&i) {
            continue;
        }
        let cpu = cpu_seconds();
        match learner.train(&task, &data, &profile, seed, &|_| {}) {
            Ok((_, s)) => println!(
                "{i:2} {name:24} val success {:.3}  deaths {}  episodes {}  {:.1} CPU s  curve {:?}",
                s.val_exact.unwrap_or(0.0),
                s.deaths,
                s.trials,
                cpu_seconds() - cpu,
                s.curve.iter().map(|c| (c.0, (c.3 * 1000.0).round() / 1000.0)).collect::<Vec<_>>()
            ),
            Err(e) => println!("{i:2} {name:24} failed: {e}"),
        }
    }
}
