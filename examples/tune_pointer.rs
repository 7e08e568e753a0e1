//! Candidate search for the sorting pointer network, on in-distribution validation data only.
//!
//! Trains each candidate on level-0 training lists (lengths 2-8) and prints its level-0 validation exact match,
//! pointer accuracy and cost; no drift level is ever generated here. Seed 100, which suite runs never use. The
//! results are recorded in `docs/networks.md`.
//!
//! `cargo run --release --example tune_pointer -- [candidate-index ...]` (`TUNE_STEPS=n` overrides the steps)
use driftbench_core::SeqTask;
use driftbench_core::{tuning, Cell, Learner, Profile};
use driftbench_nets::pointer::{PointerConfig, PointerLearner};
use driftbench_nets::Net;
use driftbench_tasks::{Sorting, SortingV2};
use std::time::Instant;

fn candidates() -> Vec<(String, PointerLearner)> {
    let base = PointerLearner::pointer();
    let with = |name: &str, f: &dyn Fn(&mut PointerConfig, &mut PointerLearner)| {
        let mut l = base.clone();
        let mut c = l.model.clone();
        f(&mut c, &mut l);
        l.model = c;
        (name.to_string(), l)
    };
    vec![
        with("default: 1 layer d32 + bilinear + edge [32,32] x100", &|_, _| {}),
        with("edge MLP only [32,32] x100 (no encoder)", &|c, _| c.layers = 0),
        with("edge MLP only [32,32] x1", &|c, _| {
            c.layers = 0;
            c.edge_scale = 1.0;
        }),
        with("1 layer + linear edge (no edge MLP)", &|c, _| c.edge_hidden = vec![]),
        with("2 layers d32 + edge [32,32]", &|c, _| c.layers = 2),
        with("1 layer d64 + edge [64,64]", &|c, _| {
            c.d_model = 64;
            c.ffn = 128;
            c.edge_hidden = vec![64, 64];
        }),
        with("default, lr 1e-3", &|_, l| l.train.lr = 1e-3),
    ]
}

fn main() {
    driftbench_nets::configure_cpu_threads();
    // `TUNE_TASK=sorting-v2` tunes on sorting-v2's level 0 (default sorting-v1).
    match std::env::var("TUNE_TASK").as_deref() {
        Ok("sorting-v2") => tune(&SortingV2),
        Ok("sorting-v1") | Err(_) => tune(&Sorting),
        Ok(other) => {
            eprintln!("error: TUNE_TASK `{other}` is neither sorting-v1 nor sorting-v2");
            std::process::exit(1);
        }
    }
}

fn tune<T: SeqTask>(task: &T) {
    let profile = Profile::quick();
    let seed = 100;
    // Sealed: level 0 only, from the tuning streams; a suite seed or a drift cell is refused.
    let data = match tuning::tuning_data(task, Cell::IN_DIST, seed, profile.train_examples, profile.val_examples) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let pick: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let steps = std::env::var("TUNE_STEPS").ok().and_then(|v| v.parse::<u64>().ok());
    for (i, (name, mut learner)) in candidates().into_iter().enumerate() {
        if !pick.is_empty() && !pick.contains(&i) {
            continue;
        }
        if let Some(s) = steps {
            learner.train.steps = s;
        }
        let t0 = Instant::now();
        match Learner::<T>::train(&Net(learner), task, &data, &profile, seed, &|_| {}) {
            Ok((_, s)) => println!(
                "{i:2} {name:52} exact {:.4}  pointer acc {:.4}  best step {:?}  params {}  {:.1}s  curve {:?}",
                s.val_exact.unwrap_or(0.0),
                s.val_accuracy.unwrap_or(0.0),
                s.best_step,
                s.extra.get("parameters").copied().unwrap_or(0.0),
                t0.elapsed().as_secs_f64(),
                s.curve
                    .iter()
                    .map(|c| (c.0, (c.1 * 1000.0).round() / 1000.0, (c.3 * 1000.0).round() / 1000.0))
                    .collect::<Vec<_>>()
            ),
            Err(e) => println!("{i:2} {name:52} failed: {e:#}"),
        }
    }
}
