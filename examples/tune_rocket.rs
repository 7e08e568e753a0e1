//! Level-0 validation figures of every rocket learner, for either version of the task, on sealed tuning data.
//!
//! Trains each learner on level-0 training instances (their recorded trials) and prints its level-0 validation
//! success (landing within 5%), its strict figure (the task's strict criterion: v1 within 1% of the distance, v2
//! within 1% of the distance and of the flight time), its validation curve and its training time (wall clock, so
//! only roughly comparable on a loaded machine). No drift level is generated here: the data come from
//! `driftbench_core::tuning::tuning_data` (level 0 only, seed 100 by default, which the suite never uses).
//!
//! `cargo run --release --example tune_rocket -- [--task rocket-v1|rocket-v2] [--seed 100] [--train 100000]
//! [--val 1000] [--steps N] [--hidden 128,128] [--lr 3e-3] [--search-size N] [--search-programs N] [solver ...]`
//! (`--search-size`, `--search-programs`: the formula searches' size and program caps instead of the profile's)
use driftbench_core::{tuning, Cell, Learner, Profile, TrainStats};
use driftbench_nets::vec::{NearestNeighbour, VecLearner};
use driftbench_nets::Net;
use driftbench_search::rocket::{FormulaSearch, VacuumFormula, V2_MAX_PROGRAMS};
use driftbench_tasks::rocket::{Rocket, RocketTask, RocketV2, Version};
use std::time::Instant;

// Runs on driftbench-nets' allocator (mimalloc, purging off), as the binary does.

/// Command-line settings.
struct Args {
    task: String,
    seed: u64,
    train: usize,
    val: usize,
    steps: Option<u64>,
    hidden: Option<Vec<usize>>,
    lr: Option<f64>,
    search_size: Option<usize>,
    search_programs: Option<usize>,
    solvers: Vec<String>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        task: "rocket-v2".into(),
        seed: 100,
        train: Profile::quick().train_examples,
        val: Profile::quick().val_examples,
        steps: None,
        hidden: None,
        lr: None,
        search_size: None,
        search_programs: None,
        solvers: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        let bad = |e: &dyn std::fmt::Display| format!("{a}: {e}");
        match a.as_str() {
            "--task" => args.task = value()?,
            "--seed" => args.seed = value()?.parse().map_err(|e| bad(&e))?,
            "--train" => args.train = value()?.parse().map_err(|e| bad(&e))?,
            "--val" => args.val = value()?.parse().map_err(|e| bad(&e))?,
            "--steps" => args.steps = Some(value()?.parse().map_err(|e| bad(&e))?),
            "--lr" => args.lr = Some(value()?.parse().map_err(|e| bad(&e))?),
            "--search-size" => args.search_size = Some(value()?.parse().map_err(|e| bad(&e))?),
            "--search-programs" => args.search_programs = Some(value()?.parse().map_err(|e| bad(&e))?),
            "--hidden" => {
                let v = value()?;
                args.hidden = Some(v.split(',').map(|w| w.parse().map_err(|e| bad(&e))).collect::<Result<_, _>>()?);
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => args.solvers.push(s.to_string()),
        }
    }
    Ok(args)
}

/// The learners of version `V` as the registry lists them, with the MLPs' budgets patched from `args`.
fn learners<V: Version>(args: &Args, v2: bool) -> Vec<Box<dyn Learner<RocketTask<V>>>> {
    let patch = |mut l: VecLearner| {
        if let Some(s) = args.steps {
            l.train.steps = s;
        }
        if let Some(h) = &args.hidden {
            l.model.hidden = h.clone();
        }
        if let Some(lr) = args.lr {
            l.train.lr = lr;
        }
        l
    };
    let search = |l: FormulaSearch| {
        let mut s = l.settings(&Profile::quick());
        s.caps.max_size = args.search_size.unwrap_or(s.caps.max_size);
        s.caps.max_programs = args.search_programs.unwrap_or(s.caps.max_programs);
        FormulaSearch { settings: Some(s), max_programs: None, ..l }
    };
    let mut out: Vec<Box<dyn Learner<RocketTask<V>>>> = vec![
        Box::new(Net(patch(VecLearner::relu()))),
        Box::new(Net(patch(VecLearner::tanh()))),
        Box::new(Net(NearestNeighbour)),
        Box::new(search(FormulaSearch::formula())),
        Box::new(search(FormulaSearch::shoot())),
    ];
    if v2 {
        // As the registry gives them (`learners_v2`), unless the command line sets the cap.
        let cap = |l: FormulaSearch| search(l.with_max_programs(V2_MAX_PROGRAMS));
        out[3] = Box::new(cap(FormulaSearch::formula()));
        out[4] = Box::new(cap(FormulaSearch::shoot()));
    }
    if v2 {
        out.push(Box::new(VacuumFormula));
    }
    out
}

fn run<V: Version>(task: RocketTask<V>, args: &Args, v2: bool) -> Result<(), String> {
    let profile = Profile::quick();
    // Sealed: level 0 only, from the tuning streams; a suite seed or a drift cell is refused.
    let data = tuning::tuning_data(&task, Cell::IN_DIST, args.seed, args.train, args.val).map_err(|e| e.to_string())?;
    println!(
        "{} seed {} train {} val {} (level 0 only)",
        driftbench_core::Task::id(&task),
        args.seed,
        data.train.len(),
        data.val.len()
    );
    for learner in learners::<V>(args, v2) {
        if !args.solvers.is_empty() && !args.solvers.iter().any(|s| s == learner.name()) {
            continue;
        }
        let t0 = Instant::now();
        let (_, s): (_, TrainStats) =
            learner.train(&task, &data, &profile, args.seed, &|_| {}).map_err(|e| e.to_string())?;
        let curve: Vec<(u64, f64)> = s.curve.iter().map(|c| (c.0, (c.3 * 1000.0).round() / 1000.0)).collect();
        if let Some(p) = &s.program {
            let n = s.extra.get("distinct_behaviours").copied().unwrap_or(0.0);
            println!("{:18} {p} ({n} distinct behaviours)", "");
        }
        println!(
            "{:18} val success {:.3}  strict {:.3}  examples {}  trials {}  steps {}  {:.1}s  curve {:?}",
            learner.name(),
            s.val_exact.unwrap_or(f64::NAN),
            s.val_accuracy.unwrap_or(f64::NAN),
            s.examples,
            s.trials,
            s.steps,
            t0.elapsed().as_secs_f64(),
            curve
        );
    }
    Ok(())
}

fn main() {
    driftbench_nets::configure_cpu_threads();
    let result = parse().and_then(|args| match args.task.as_str() {
        "rocket-v1" => run(Rocket, &args, false),
        "rocket-v2" => run(RocketV2, &args, true),
        other => Err(format!("unknown task {other}: give rocket-v1 or rocket-v2")),
    });
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
