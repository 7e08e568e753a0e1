//! Tunes a navigation policy learner on level-0 validation only: trains `ppo` or `imitation` with the default
//! configuration patched by a JSON object, prints the learning curve, the deaths, the training time and, for the
//! validation episodes that failed, how they failed (death, timeout; for timeouts the distinct cells visited and
//! the waits, which tell a loop from a long detour).
//!
//! `cargo run --release -p driftbench-nets --example policy_tune -- ppo '{"lr":1e-3}' [--train 8000] [--val 1000]
//! [--seed 100] [--scale 1]`
use driftbench_core::{Cell, Learner, PolicyTask, Profile, Task};
use driftbench_nets::policy::Imitation;
use driftbench_nets::ppo::Ppo;
use driftbench_nets::Net;
use driftbench_tasks::Navigation;
use std::collections::HashSet;
use std::time::Instant;

fn patch(base: serde_json::Value, over: &serde_json::Value) -> serde_json::Value {
    match (base, over) {
        (serde_json::Value::Object(mut b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                let old = b.remove(k).unwrap_or(serde_json::Value::Null);
                b.insert(k.clone(), patch(old, v));
            }
            serde_json::Value::Object(b)
        }
        (_, o) => o.clone(),
    }
}

fn main() -> anyhow::Result<()> {
    driftbench_nets::configure_cpu_threads();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: f64| -> f64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let which = args.first().map_or("ppo", |s| s.as_str()).to_string();
    let over: serde_json::Value =
        args.get(1).filter(|a| !a.starts_with("--")).map_or(Ok(serde_json::json!({})), |s| serde_json::from_str(s))?;
    let (n_train, n_val, seed) =
        (flag("--train", 8000.0) as usize, flag("--val", 1000.0) as usize, flag("--seed", 100.0) as u64);
    let task = Navigation;
    // Sealed: level 0 only, from the tuning streams; a suite seed or a drift cell is refused.
    let data = driftbench_core::tuning::tuning_data(&task, Cell::IN_DIST, seed, n_train, n_val)?;
    let mut profile = Profile::quick();
    profile.train_scale = flag("--scale", 1.0);
    let learner: Box<dyn Learner<Navigation>> = match which.as_str() {
        "ppo" => Box::new(Net(Ppo(serde_json::from_value(patch(serde_json::to_value(&Ppo::default().0)?, &over))?))),
        _ => Box::new(Net(Imitation(serde_json::from_value(patch(
            serde_json::to_value(&Imitation::default().0)?,
            &over,
        ))?))),
    };
    println!("config {}", learner.config(&task, &profile));
    let t0 = Instant::now();
    let (solver, stats) = learner.train(&task, &data, &profile, seed, &|_| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
    let train_s = t0.elapsed().as_secs_f64();
    for (p, c) in stats.curve.iter().zip(stats.competence.iter().chain(std::iter::repeat(&Default::default()))) {
        println!("curve step {:>6} return {:>7.3} train {:>5.3} val {:>5.3} deaths {}", p.0, p.1, p.2, p.3, c.deaths);
    }
    for (k, v) in stats.extra.iter().filter(|(k, _)| k.starts_with("ppo_")) {
        println!("diag {k} {v:.4}");
    }
    let attempts = solver.solve_batch(&task, &data.val).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (mut ok, mut death, mut timeout, mut loops) = (0, 0, 0, 0);
    let mut shown = 0;
    for (inst, at) in data.val.iter().zip(&attempts) {
        let Some(route) = &at.answer else { continue };
        let out = task.score(inst, route);
        match out.failure {
            None => ok += 1,
            Some("death") => death += 1,
            Some("timeout") => {
                timeout += 1;
                let mut ep = task.episode(inst).expect("episode");
                let mut cells = HashSet::new();
                let waits = route.actions.iter().filter(|a| format!("{a:?}") == "Wait").count();
                for a in &route.actions {
                    if let Some(g) = ep.observe_grid() {
                        cells.insert(g.agent);
                    }
                    ep.step(*a as usize);
                }
                let o = ep.observe();
                let (gx, gy) = (o[o.len() - 2], o[o.len() - 1]);
                if cells.len() * 3 < route.actions.len() {
                    loops += 1;
                }
                if shown < 8 {
                    shown += 1;
                    // North, South, East, West, wait (`.`).
                    let tail: Vec<&str> = route
                        .actions
                        .iter()
                        .rev()
                        .take(12)
                        .rev()
                        .map(|&a| ["N", "S", "E", "W", "."][a as usize])
                        .collect();
                    println!(
                        "timeout: {} steps, {} distinct cells, {} waits, final goal offset ({gx:.1},{gy:.1}), last {}",
                        route.actions.len(),
                        cells.len(),
                        waits,
                        tail.join("")
                    );
                }
            }
            Some(_) => {}
        }
    }
    println!(
        "RESULT {which} {} val {:.3} (best during training {:.3} at {:?}) deaths {} episodes {} train_s {train_s:.1} | \
         failures: death {death} timeout {timeout} (looping {loops})",
        over,
        ok as f64 / data.val.len() as f64,
        stats.val_exact.unwrap_or(f64::NAN),
        stats.best_step,
        stats.deaths,
        stats.trials,
    );
    Ok(())
}
