//! Trains the networks of sorting, rocket and navigation under a profile (default `quick`) at one seed and prints
//! what the adversarial experiment finds on them, with the hand-written control, how long each attack took, and how
//! many answers a dense sampling of the full box breaks (a check on the attack's strength).
//!
//! `cargo run --release -p driftbench-nets --example attack_quick [profile] [seed] [task | solver | task/solver]`
//!
//! Training and validation instances are drawn as the benchmark draws them (without its exclusion of test
//! instances); the attacked instances are the first 200 of the generated level-0 test set.
use driftbench_core::attack::{seq_attack, variant_attack, vec_attack, AttackConfig, AttackFn, AttackSurface};
use driftbench_core::solver::Symbolic;
use driftbench_core::{rng, AttackTask, Cell, Learner, Profile, Task, TrainData};
use driftbench_nets::policy::Imitation;
use driftbench_nets::ppo::Ppo;
use driftbench_nets::vec::VecLearner;
use driftbench_nets::{Net, SeqLearner};
use driftbench_tasks::{Navigation, Rocket, Sorting};
use rand::Rng;
use std::time::Instant;

/// Level-0 instances attacked per run, as in the benchmark.
const ATTACKED: usize = 200;

/// A dense probe of the attack box ([`probe`]), for tasks with one.
type Probe<T> = fn(&T, &dyn AttackSurface<T>, &[<T as Task>::Instance], u64) -> usize;

fn report<T: Task>(
    task: &T,
    learners: &[&dyn Learner<T>],
    profile: &Profile,
    seed: u64,
    attack: AttackFn<T>,
    probe: Option<Probe<T>>,
) {
    let draw = |purpose: &str, n: usize| {
        let mut r = rng::stream(seed, task.id(), purpose);
        (0..n).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect::<Vec<_>>()
    };
    let data = TrainData {
        train: draw("train", profile.train_examples_for(task.id())),
        val: draw("val", profile.val_examples),
        dropped_overlaps: 0,
        max_epochs: None,
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
        let result = attack(task, solver.as_ref(), learner.kind(), &insts, seed, &AttackConfig::default());
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
                    "  clean {}/{} (mean {} {:.4?}); median breaking budget {:?}",
                    a.clean_successes,
                    a.instances,
                    task.metric_name(),
                    a.clean_mean_metric,
                    a.median_breaking_budget
                );
                for b in &a.budgets {
                    println!(
                        "  budget {:>4}: FGSM {:>3}  all {:>3}  random corners {:>3}  worst mean metric {:.4?} {:?}",
                        b.budget, b.fgsm_successes, b.successes, b.random_successes, b.worst_mean_metric, b.failures
                    );
                }
                if std::env::var_os("ATTACK_EFFORT").is_some() && solver.attack_surface().is_some() {
                    let base = AttackConfig::default();
                    let efforts = [
                        ("no PGD", AttackConfig { pgd_steps: 0, ..base.clone() }),
                        ("4 corners", AttackConfig { corners: 4, ..base.clone() }),
                        ("random start", AttackConfig { random_start: true, ..base.clone() }),
                        ("20 PGD steps", AttackConfig { pgd_steps: 20, ..base.clone() }),
                    ];
                    for (name, cfg) in efforts {
                        let started = Instant::now();
                        let a = attack(task, solver.as_ref(), learner.kind(), &insts, seed, &cfg);
                        let s = started.elapsed().as_secs_f64();
                        let a = a.expect("attack runs").expect("attacked");
                        let left: Vec<u64> = a.budgets.iter().map(|b| b.successes).collect();
                        println!(
                            "  effort {name:>16} ({s:.2} s): survivors {left:?}, median {:?}",
                            a.median_breaking_budget
                        );
                    }
                }
                if let (Some(surface), Some(probe)) = (solver.attack_surface(), probe) {
                    let started = Instant::now();
                    let broken = probe(task, surface, &insts, seed);
                    let s = started.elapsed().as_secs_f64();
                    println!("  probe (dense sampling of the budget-1 box, {s:.1} s): {broken} correct answers broken");
                }
            }
            Ok(None) => println!("  not attacked"),
            Err(e) => println!("  attack failed: {e}"),
        }
    }
}

/// Correct answers broken by dense sampling of the budget-1 box: a grid of 41 points per moving feature when at
/// most two features move, otherwise 512 random points (half of them corners) per instance.
fn probe<T: AttackTask>(task: &T, surface: &dyn AttackSurface<T>, insts: &[T::Instance], seed: u64) -> usize {
    let mut r = rng::stream(seed, task.id(), "probe");
    let mut broken = 0;
    for inst in insts {
        let (Some(x0), Some(radius)) = (surface.features(task, inst), task.attack_radius(inst)) else { continue };
        let judge = |points: &[Vec<f32>]| -> Vec<bool> {
            let (mut is, mut fs) = (Vec::new(), Vec::new());
            for u in points {
                let x: Vec<f32> = x0.iter().zip(&radius).zip(u).map(|((x, r), u)| x + r * u).collect();
                if let Some(a) = task.attacked_instance(inst, &x) {
                    is.push(a);
                    fs.push(x);
                }
            }
            let answers = surface.answer_features(task, &is, &fs).expect("the network answers");
            is.iter().zip(&answers).map(|(i, a)| !a.as_ref().is_some_and(|a| task.score(i, a).success)).collect()
        };
        if judge(&[vec![0.0; x0.len()]])[0] {
            continue;
        }
        let free: Vec<usize> = (0..x0.len()).filter(|&k| radius[k] > 0.0).collect();
        let points: Vec<Vec<f32>> = if free.len() <= 2 {
            let grid: Vec<f32> = (0..=40).map(|i| i as f32 / 20.0 - 1.0).collect();
            let mut pts = vec![vec![0.0; x0.len()]];
            for &k in &free {
                pts = pts
                    .iter()
                    .flat_map(|p| {
                        grid.iter().map(move |&g| {
                            let mut q = p.clone();
                            q[k] = g;
                            q
                        })
                    })
                    .collect();
            }
            pts
        } else {
            (0..512)
                .map(|i| {
                    (0..x0.len())
                        .map(|_| match i % 2 {
                            0 if r.random_bool(0.5) => 1.0,
                            0 => -1.0,
                            _ => r.random_range(-1.0..=1.0),
                        })
                        .collect()
                })
                .collect()
        };
        if judge(&points).contains(&true) {
            broken += 1;
        }
    }
    broken
}

fn main() {
    driftbench_nets::configure_cpu_threads();
    let args: Vec<String> = std::env::args().collect();
    let profile = Profile::by_name(args.get(1).map_or("quick", |s| s.as_str())).expect("a profile name");
    let seed = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let only = args.get(3).cloned().unwrap_or_default();
    let keep =
        |task: &str, name: &str| only.is_empty() || only == task || only == name || only == format!("{task}/{name}");
    let (mlp, transformer) = (Net(SeqLearner::mlp()), Net(SeqLearner::transformer()));
    let sorting: Vec<&dyn Learner<Sorting>> = [&Symbolic as &dyn Learner<Sorting>, &transformer, &mlp]
        .into_iter()
        .filter(|l| keep("sorting", l.name()))
        .collect();
    report(&Sorting, &sorting, &profile, seed, seq_attack, Some(probe));
    let (relu, tanh) = (Net(VecLearner::relu()), Net(VecLearner::tanh()));
    let rocket: Vec<&dyn Learner<Rocket>> =
        [&Symbolic as &dyn Learner<Rocket>, &relu, &tanh].into_iter().filter(|l| keep("rocket", l.name())).collect();
    report(&Rocket, &rocket, &profile, seed, vec_attack, Some(probe));
    let (imitation, ppo) = (Net(Imitation::default()), Net(Ppo::default()));
    let navigation: Vec<&dyn Learner<Navigation>> = [&Symbolic as &dyn Learner<Navigation>, &imitation, &ppo]
        .into_iter()
        .filter(|l| keep("navigation", l.name()))
        .collect();
    report(&Navigation, &navigation, &profile, seed, variant_attack, None);
}
