//! Trains the networks of sorting and rocket under a profile (default `quick`) at one seed and prints what the
//! adversarial experiment finds on them, with the hand-written control, and how long each attack took.
//!
//! `cargo run --release -p driftbench-nets --example attack_quick [profile] [seed]`
use driftbench_core::attack::run_attack;
use driftbench_core::solver::Symbolic;
use driftbench_core::{rng, Cell, Learner, Profile, Task, TrainData};
use driftbench_nets::vec::VecLearner;
use driftbench_nets::SeqLearner;
use driftbench_tasks::{Rocket, Sorting};
use std::time::Instant;

/// Level-0 instances attacked per run, as in the benchmark.
const ATTACKED: usize = 200;

fn report<T: Task>(task: &T, learners: &[&dyn Learner<T>], profile: &Profile, seed: u64) {
    let draw = |purpose: &str, n: usize| {
        let mut r = rng::stream(seed, task.id(), purpose);
        (0..n).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect::<Vec<_>>()
    };
    let data = TrainData {
        train: draw("train", profile.train_examples_for(task.id())),
        val: draw("val", profile.val_examples),
        dropped_overlaps: 0,
    };
    let mut test = rng::stream(driftbench_core::dataset::CANONICAL_SEED, task.id(), "test/in-dist-L0");
    let insts: Vec<T::Instance> = (0..ATTACKED).map(|_| task.generate(Cell::IN_DIST, &mut test)).collect();
    for learner in learners {
        let started = Instant::now();
        let (solver, stats) = match learner.train(task, &data, profile, seed, &|_| {}) {
            Ok(x) => x,
            Err(e) => {
                println!("{} {}: training failed: {e}", task.id(), learner.name());
                continue;
            }
        };
        let trained_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let result = run_attack(task, solver.as_ref(), learner.kind(), &insts, seed);
        let attack_s = started.elapsed().as_secs_f64();
        println!(
            "{} {} (trained in {trained_s:.1} s, val exact {:?}): attack {attack_s:.2} s",
            task.id(),
            learner.name(),
            stats.val_exact
        );
        match result {
            Ok(Some(a)) => {
                println!(
                    "  clean {}/{}; median breaking budget {:?}",
                    a.clean_successes, a.instances, a.median_breaking_budget
                );
                for b in &a.budgets {
                    println!(
                        "  budget {:>4}: FGSM {:>3}  all {:>3}  random corners {:>3}",
                        b.budget, b.fgsm_successes, b.successes, b.random_successes
                    );
                }
            }
            Ok(None) => println!("  not attacked"),
            Err(e) => println!("  attack failed: {e}"),
        }
    }
}

fn main() {
    driftbench_nets::configure_cpu_threads();
    let args: Vec<String> = std::env::args().collect();
    let profile = Profile::by_name(args.get(1).map_or("quick", |s| s.as_str())).expect("a profile name");
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let (mlp, transformer) = (SeqLearner::mlp(), SeqLearner::transformer());
    report(&Sorting, &[&Symbolic, &transformer, &mlp], &profile, seed);
    let (relu, tanh) = (VecLearner::relu(), VecLearner::tanh());
    report(&Rocket, &[&Symbolic, &relu, &tanh], &profile, seed);
}
