//! Trains the sorting and rocket program-search learners on one seed's training data (drawn as the benchmark
//! draws it, without the test-set overlap check) and prints what they found and how they fare at every drift
//! level on freshly generated instances.
//!
//! `cargo run --release -p driftbench-search --example search_report -- [seed] [profile] [per-cell]`
use driftbench_core::{rng, Cell, Learner, Profile, Task, TrainData, VecTask};
use driftbench_tasks::{Rocket, Sorting};

fn draw<T: Task>(task: &T, seed: u64, purpose: &str, n: usize) -> Vec<T::Instance> {
    let mut rng = rng::stream(seed, task.id(), purpose);
    (0..n).map(|_| task.generate(Cell::IN_DIST, &mut rng)).collect()
}

fn report<T: Task>(task: &T, learner: &dyn Learner<T>, seed: u64, profile: &Profile, per_cell: usize) {
    let data = TrainData {
        val: draw(task, seed, "val", profile.val_examples),
        train: draw(task, seed, "train", profile.train_examples_for(task.id())),
        dropped_overlaps: 0,
        max_epochs: None,
    };
    let start = std::time::Instant::now();
    let (solver, stats) = match learner.train(task, &data, profile, seed, &|_| {}) {
        Ok(x) => x,
        Err(e) => {
            println!("{} on {}: {e}", learner.name(), task.id());
            return;
        }
    };
    println!(
        "== {} on {} (seed {seed}, {} profile), trained in {:.2} s",
        learner.name(),
        task.id(),
        profile.name,
        start.elapsed().as_secs_f64()
    );
    println!("program: {}", stats.program.as_deref().unwrap_or("-"));
    println!(
        "examples {}, trials {}, val accuracy {:?} ({:?}), val exact {:?}",
        stats.examples, stats.trials, stats.val_accuracy, stats.val_accuracy_name, stats.val_exact
    );
    for (k, v) in &stats.extra {
        println!("  {k}: {v}");
    }
    for cell in Cell::grid(task.axes().len()) {
        let label = cell.label(task.axes());
        let insts: Vec<T::Instance> = {
            let mut r = rng::stream(seed, task.id(), &format!("report/{label}"));
            (0..per_cell).map(|_| task.generate(cell, &mut r)).collect()
        };
        let attempts = match solver.solve_batch(task, &insts) {
            Ok(a) => a,
            Err(e) => {
                println!("  {label}: {e}");
                continue;
            }
        };
        let mut ok = 0;
        let mut strict = 0;
        let mut none = 0;
        let mut work = 0u64;
        let mut sym_ok = 0;
        let mut sym_work = 0u64;
        for (i, a) in insts.iter().zip(&attempts) {
            let (sa, si) = task.solve_symbolic(i);
            sym_ok += task.score(i, &sa).success as usize;
            sym_work += si.work;
            work += a.info.work;
            match &a.answer {
                Some(ans) => {
                    let o = task.score(i, ans);
                    ok += o.success as usize;
                    strict += task.strict_success(&o).unwrap_or(o.success) as usize;
                }
                None => none += 1,
            }
        }
        let n = per_cell.max(1) as f64;
        println!(
            "  {label:<16} success {:>5.1}%  strict {:>5.1}%  no answer {none:>3}  work {:>8.1}   | symbolic {:>5.1}% work {:>7.1}",
            100.0 * ok as f64 / n,
            100.0 * strict as f64 / n,
            work as f64 / n,
            100.0 * sym_ok as f64 / n,
            sym_work as f64 / n
        );
    }
}

/// Relative RMSE of the vacuum closed form (and of its best single scale) on the validation trials the rocket
/// learners select on: how far drag moves level-0 trials from the vacuum law.
fn rocket_reference(seed: u64, profile: &Profile) {
    let task = Rocket;
    let val = draw(&task, seed, "val", profile.val_examples.min(512));
    let trials = driftbench_search::rocket::trials(
        &task.vec_training_set(&val, &mut rng::stream(seed, task.id(), "trials/val")).0,
    );
    let rel = |pred: &dyn Fn(&[f64; 5]) -> f64, target: &dyn Fn(&driftbench_search::rocket::Trial) -> f64| {
        let n = trials.len().max(1) as f64;
        (trials.iter().map(|t| ((pred(&t.inputs) - target(t)) / target(t)).powi(2)).sum::<f64>() / n).sqrt()
    };
    let vx = |x: &[f64; 5]| x[0] / x[1];
    let vy = |x: &[f64; 5]| x[2] * x[1] / 2.0 - x[4] / x[1];
    println!(
        "reference on level-0 validation trials: vx = D/T rel RMSE {:.4}, vy = g*T/2 - h0/T rel RMSE {:.4}",
        rel(&vx, &|t| t.vx),
        rel(&vy, &|t| t.vy)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seed = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let profile = args.get(2).and_then(|s| Profile::by_name(s)).unwrap_or_else(Profile::quick);
    let per_cell = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(200);
    // Every (fold, body) of the smallest consistent size, not just the one the learner keeps.
    let train = draw(&Sorting, seed, "train", profile.train_examples_for(Sorting.id()));
    let lists = driftbench_search::sorting::training_lists(&train);
    let caps = driftbench_search::sorting::ProgramSearch::default().caps(&profile);
    for p in driftbench_search::sorting::search(&lists, &caps).consistent {
        println!("consistent sorting program: {p}");
    }
    for l in driftbench_search::sorting::learners() {
        report(&Sorting, l.as_ref(), seed, &profile, per_cell);
    }
    rocket_reference(seed, &profile);
    for l in driftbench_search::rocket::learners() {
        report(&Rocket, l.as_ref(), seed, &profile, per_cell);
    }
}
