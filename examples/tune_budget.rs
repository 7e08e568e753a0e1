//! Cheaper budgets for the default suite's costliest networks, judged on in-distribution validation data only.
//!
//! Each candidate is one of today's defaults with fewer optimisation steps, fewer validations, a shorter plan or a
//! larger learning rate. It trains on level-0 tuning data of a seed the suite never uses (`tuning::tuning_data`
//! refuses the suite's seeds and every drift cell) and prints its best level-0 validation figures beside the CPU
//! seconds its training took, so that a cut can be weighed against what it costs in distribution. Candidates run
//! on one thread each, as the suite's runs do.
//!
//! `cargo run --release --example tune_budget -- [--seed 100] [candidate-index ...]` (no index: list them)
use driftbench_core::{tuning, Cell, Learner, Profile, Task, TrainStats};
use driftbench_nets::grid_policy::Vin;
use driftbench_nets::policy::Imitation;
use driftbench_nets::ppo::Ppo;
use driftbench_nets::{Net, SeqLearner};
use driftbench_tasks::{NavigationV2, SortingV2};

#[path = "common/cpu.rs"]
mod cpu;
use cpu::cpu_seconds;

/// One candidate: its name and how to train it on its task with `seed`.
type Candidate = (String, Box<dyn Fn(u64) -> Result<TrainStats, String>>);

fn candidates() -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let vin = |name: &str, f: fn(&mut Vin)| -> Candidate {
        let mut v = Vin::default();
        f(&mut v);
        (format!("vin {name}"), Box::new(move |seed| train(&NavigationV2, &Net(v.clone()), seed)))
    };
    out.push(vin("default", |_| {}));
    out.push(vin("one validation per round", |v| v.0.train.eval_every = 1_000_000));
    out.push(vin("2000 steps", |v| v.0.train.steps = 2000));
    out.push(vin("2000 steps, one validation per round", |v| {
        (v.0.train.steps, v.0.train.eval_every) = (2000, 1_000_000)
    }));
    out.push(vin("iterations 0.75 per cell", |v| v.0.iterations_per_cell = 0.75));
    out.push(vin("iterations 0.5 per cell", |v| v.0.iterations_per_cell = 0.5));
    out.push(vin("2 DAgger rounds", |v| v.0.dagger_rounds = 2));
    out.push(vin("2000 steps, one validation per round, 250 DAgger episodes", |v| {
        (v.0.train.steps, v.0.train.eval_every, v.0.dagger_episodes) = (2000, 1_000_000, 250)
    }));
    out.push(vin("1500 steps, one validation per round", |v| {
        (v.0.train.steps, v.0.train.eval_every) = (1500, 1_000_000)
    }));
    out.push(vin("2000 steps, one validation per round, iterations 0.75", |v| {
        (v.0.train.steps, v.0.train.eval_every, v.0.iterations_per_cell) = (2000, 1_000_000, 0.75)
    }));
    let imitation = |name: &str, f: fn(&mut Imitation)| -> Candidate {
        let mut l = Imitation::default();
        f(&mut l);
        (format!("imitation {name}"), Box::new(move |seed| train(&NavigationV2, &Net(l.clone()), seed)))
    };
    out.push(imitation("default", |_| {}));
    out.push(imitation("validate every 500", |l| l.0.train.eval_every = 500));
    out.push(imitation("3000 steps, validate every 500", |l| (l.0.train.steps, l.0.train.eval_every) = (3000, 500)));
    out.push(imitation("2000 steps, validate every 500", |l| (l.0.train.steps, l.0.train.eval_every) = (2000, 500)));
    out.push(imitation("2 DAgger rounds, validate every 500", |l| {
        (l.0.dagger_rounds, l.0.train.eval_every) = (2, 500)
    }));
    out.push(imitation("3000 steps, one validation per round", |l| {
        (l.0.train.steps, l.0.train.eval_every) = (3000, 1_000_000)
    }));
    out.push(imitation("3000 steps, one validation per round, 1000 DAgger episodes", |l| {
        (l.0.train.steps, l.0.train.eval_every, l.0.dagger_episodes) = (3000, 1_000_000, 1000)
    }));
    out.push(imitation("2000 steps, one validation per round, 1000 DAgger episodes", |l| {
        (l.0.train.steps, l.0.train.eval_every, l.0.dagger_episodes) = (2000, 1_000_000, 1000)
    }));
    let ppo = |name: &str, f: fn(&mut Ppo)| -> Candidate {
        let mut l = Ppo::default();
        f(&mut l);
        (format!("ppo {name}"), Box::new(move |seed| train(&NavigationV2, &Net(l.clone()), seed)))
    };
    out.push(ppo("default", |_| {}));
    out.push(ppo("validate every 10 updates", |l| l.0.eval_every = 10));
    let mlp = |name: &str, f: fn(&mut SeqLearner)| -> Candidate {
        let mut l = SeqLearner::mlp();
        f(&mut l);
        (format!("sorting mlp {name}"), Box::new(move |seed| train(&SortingV2, &Net(l.clone()), seed)))
    };
    out.push(mlp("default", |_| {}));
    out.push(mlp("lr 6e-3, 2500 steps", |l| (l.train.lr, l.train.steps) = (6e-3, 2500)));
    out.push(mlp("lr 6e-3, 3000 steps", |l| (l.train.lr, l.train.steps) = (6e-3, 3000)));
    out.push(mlp("lr 1e-2, 2500 steps", |l| (l.train.lr, l.train.steps) = (1e-2, 2500)));
    out.push(mlp("batch 64, lr 3e-3, 4000 steps", |l| l.train.batch = 64));
    out.push(mlp("lr 4e-3, 3000 steps", |l| (l.train.lr, l.train.steps) = (4e-3, 3000)));
    out.push(mlp("lr 3e-3, 3000 steps", |l| l.train.steps = 3000));
    out
}

/// Trains `learner` on level-0 tuning data of `task` drawn with `seed`, at the quick profile's sizes for the task.
fn train<T: Task, L: Learner<T>>(task: &T, learner: &L, seed: u64) -> Result<TrainStats, String> {
    let profile = Profile::quick().with_task_sizes(task.id(), task.train_examples_by_profile());
    let data = tuning::tuning_data(
        task,
        Cell::IN_DIST,
        seed,
        profile.train_examples_for(task.id()),
        profile.val_examples_for(task.id()),
    )
    .map_err(|e| e.to_string())?;
    learner.train(task, &data, &profile, seed, &|_| {}).map(|(_, s)| s).map_err(|e| e.to_string())
}

fn main() {
    driftbench_nets::configure_cpu_threads();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seed = 100;
    let mut pick = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--seed" {
            match it.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = s,
                None => {
                    eprintln!("error: --seed needs a number");
                    std::process::exit(2);
                }
            }
        } else {
            match a.parse::<usize>() {
                Ok(i) => pick.push(i),
                Err(_) => {
                    eprintln!("error: `{a}` is neither --seed nor a candidate index");
                    std::process::exit(2);
                }
            }
        }
    }
    let all = candidates();
    if pick.is_empty() {
        for (i, (name, _)) in all.iter().enumerate() {
            println!("{i:2} {name}");
        }
        return;
    }
    for (i, (name, run)) in all.iter().enumerate() {
        if !pick.contains(&i) {
            continue;
        }
        let cpu = cpu_seconds();
        match run(seed) {
            Ok(s) => println!(
                "{i:2} {name:45} seed {seed}  val {:.3}  exact {:.3}  best step {:?}  steps {}  {:.1} CPU s  curve {:?}",
                s.val_accuracy.unwrap_or(f64::NAN),
                s.val_exact.unwrap_or(f64::NAN),
                s.best_step,
                s.steps,
                cpu_seconds() - cpu,
                s.curve.iter().map(|c| (c.0, (c.3 * 1000.0).round() / 1000.0)).collect::<Vec<_>>()
            ),
            Err(e) => println!("{i:2} {name:45} failed: {e}"),
        }
    }
}
