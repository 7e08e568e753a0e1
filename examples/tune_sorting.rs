//! Hyper-parameter search for the sorting networks, on in-distribution validation data only.
//!
//! Trains each candidate on level-0 training lists and prints its level-0 validation accuracy; no drift level is
//! ever generated here. Uses seed 100, which the suite's runs (seeds 1..=10) never use.
//!
//! `cargo run --release --example tune_sorting -- [candidate-index ...]`
use driftbench_core::SeqTask;
use driftbench_core::{tuning, Cell, Learner, Profile};
use driftbench_nets::learner::SeqFamily;
use driftbench_nets::seq::{AttentionKind, MlpConfig, TransformerConfig};
use driftbench_nets::{Net, SeqLearner};
use driftbench_tasks::{Sorting, SortingV2};
use std::time::Instant;

// Runs on driftbench-nets' allocator (mimalloc, purging off), as the binary does.

fn candidates() -> Vec<(String, SeqLearner)> {
    let mut out = Vec::new();
    let base_t = SeqLearner::transformer();
    let base_m = SeqLearner::mlp();
    let t = |f: &dyn Fn(&mut TransformerConfig, &mut SeqLearner)| {
        let mut l = base_t.clone();
        let SeqFamily::Transformer(mut c) = l.family.clone() else { unreachable!() };
        f(&mut c, &mut l);
        l.family = SeqFamily::Transformer(c);
        l
    };
    out.push(("transformer default".into(), base_t.clone()));
    out.push((
        "transformer softmax, no pair bias".into(),
        t(&|c, _| {
            c.attention = AttentionKind::Softmax;
            c.pair_hidden = 0;
        }),
    ));
    out.push(("transformer softmax + pair bias".into(), t(&|c, _| c.attention = AttentionKind::Softmax)));
    out.push(("transformer sigmoid, no pair bias".into(), t(&|c, _| c.pair_hidden = 0)));
    out.push(("transformer + layer norm".into(), t(&|c, _| c.layer_norm = true)));
    out.push(("transformer lr 1e-3".into(), t(&|_, l| l.train.lr = 1e-3)));
    out.push(("mlp default".into(), base_m.clone()));
    let mlp = |hidden: &[usize], pairwise: bool, input_scale: f64, lr: f64, steps: u64| {
        let mut m = base_m.clone();
        m.family = SeqFamily::Mlp(MlpConfig { hidden: hidden.to_vec(), pairwise, input_scale });
        m.train.lr = lr;
        m.train.steps = steps;
        m
    };
    out.push(("mlp input x1".into(), mlp(&[256, 256], false, 1.0, 3e-3, 3000)));
    out.push(("mlp input x10".into(), mlp(&[256, 256], false, 10.0, 3e-3, 3000)));
    out.push(("mlp lr 1e-3".into(), mlp(&[256, 256], false, 100.0, 1e-3, 3000)));
    out.push(("mlp pairwise".into(), mlp(&[256, 256], true, 100.0, 3e-3, 3000)));
    out.push(("mlp 6000 steps".into(), mlp(&[256, 256], false, 100.0, 3e-3, 6000)));
    out.push(("mlp 256x3".into(), mlp(&[256, 256, 256], false, 100.0, 3e-3, 3000)));
    out.push(("mlp 512x512".into(), mlp(&[512, 512], false, 100.0, 3e-3, 3000)));
    out
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
    let mut profile = Profile::quick();
    if let Some(n) = std::env::var("TUNE_TRAIN_EXAMPLES").ok().and_then(|v| v.parse().ok()) {
        profile.train_examples = n;
    }
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
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    for (i, (name, mut learner)) in candidates().into_iter().enumerate() {
        if let Some(lr) = env("TUNE_LR") {
            learner.train.lr = lr;
        }
        if let Some(batch) = env("TUNE_BATCH") {
            learner.train.batch = batch as usize;
        }
        if let Some(steps) = env("TUNE_STEPS") {
            learner.train.steps = steps as u64;
        }
        if !pick.is_empty() && !pick.contains(&i) {
            continue;
        }
        let t0 = Instant::now();
        match Learner::<T>::train(&Net(learner), task, &data, &profile, seed, &|_| {}) {
            Ok((_, s)) => println!(
                "{i:2} {name:40} val per-position {:.4}  exact {:.4}  best step {:?}  {:.1}s  curve {:?}",
                s.val_accuracy.unwrap_or(0.0),
                s.val_exact.unwrap_or(0.0),
                s.best_step,
                t0.elapsed().as_secs_f64(),
                s.curve
                    .iter()
                    .map(|c| (c.0, (c.1 * 1000.0).round() / 1000.0, (c.3 * 1000.0).round() / 1000.0))
                    .collect::<Vec<_>>()
            ),
            Err(e) => println!("{i:2} {name:40} failed: {e}"),
        }
    }
}
