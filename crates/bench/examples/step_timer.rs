//! Times one optimiser step of each default network on one thread, as `scripts/torch_bench.py` times PyTorch:
//! median over repetitions of the mean step time (wall clock and process CPU time) of `--steps` steps, after 20
//! warm-up steps. One JSON line per
//! network (same keys as the PyTorch script), plus a fingerprint of the parameters after the timed steps.
//!
//! `cargo run --release -p driftbench-bench --example step_timer -- [all|NET,NET] [--reps 7] [--steps 50]`
use driftbench_bench::step::{step_bench, EXTRA_NETWORKS, NETWORKS};
use std::time::Instant;

/// CPU time this process has used, all threads (what Python's `time.process_time` reads).
fn process_cpu_s() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `clock_gettime` writes one `timespec` through a valid pointer to a local.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn main() {
    driftbench_nets::configure_cpu_threads();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| {
                v.parse().ok().filter(|&n: &usize| n > 0).unwrap_or_else(|| {
                    eprintln!("{name} takes a positive number, got `{v}`");
                    std::process::exit(2)
                })
            })
            .unwrap_or(default)
    };
    let (reps, steps) = (flag("--reps", 7), flag("--steps", 50));
    let which = args.first().filter(|a| !a.starts_with("--")).map_or("all", |s| s.as_str());
    let names: Vec<&str> = if which == "all" { NETWORKS.to_vec() } else { which.split(',').collect() };
    for name in names {
        let Some(built) = step_bench(name) else {
            eprintln!("unknown network `{name}`; known: {}", [&NETWORKS[..], &EXTRA_NETWORKS[..]].concat().join(", "));
            std::process::exit(2);
        };
        let mut b = built.unwrap_or_else(|e| {
            eprintln!("building {name}: {e}");
            std::process::exit(1)
        });
        for _ in 0..20 {
            b.step(steps as u64).expect("step");
        }
        let (mut per_rep, mut cpu) = (Vec::with_capacity(reps), Vec::with_capacity(reps));
        for _ in 0..reps {
            let (t, c) = (Instant::now(), process_cpu_s());
            for _ in 0..steps {
                b.step(steps as u64).expect("step");
            }
            per_rep.push(t.elapsed().as_secs_f64() * 1e3 / steps as f64);
            cpu.push((process_cpu_s() - c) * 1e3 / steps as f64);
        }
        let median = |v: &[f64]| {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        };
        let line = serde_json::json!({
            "net": b.name, "framework": "driftbench", "threads": 1, "params": b.params, "batch": b.batch,
            "steps_per_rep": steps, "step_ms_median": median(&per_rep), "step_ms_reps": per_rep,
            "step_cpu_ms_median": median(&cpu), "step_cpu_ms_reps": cpu,
            "fingerprint": format!("{:016x}", b.fingerprint().expect("fingerprint")),
        });
        println!("{line}");
    }
}
