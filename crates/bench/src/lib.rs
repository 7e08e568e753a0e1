//! Criterion benches of registered tasks with no bench file per task: [`bench_tasks`] times every
//! [`DynTask::timing_cases`] case (the generator and the hand-written solver on level 0 and on the farthest level
//! of every axis, each learner's training and each trained learner's inference), grouped as `<task id>/<what>`.
//!
//! The workspace's own `cargo bench` calls it on the built-in registry; a crate that keeps its tasks outside this
//! workspace calls it on its own registry, so its `cargo bench` covers its tasks in a few lines:
//!
//! ```no_run
//! fn tasks(c: &mut criterion::Criterion) {
//!     let registry: Vec<Box<dyn driftbench_core::bench::DynTask>> = Vec::new(); // your tasks' registry lines
//!     driftbench_bench::bench_tasks(c, &registry);
//! }
//! ```
//!
//! followed by `criterion_group!(benches, tasks);` and `criterion_main!(benches);` in a bench declared with
//! `harness = false` (`templates/task-crate/benches/tasks.rs`).
pub mod step;

use criterion::{BenchmarkId, Criterion, Throughput};
use driftbench_core::bench::DynTask;
use std::time::Duration;

/// Benches every timing case of `reg`'s tasks, one criterion group per `<task id>/<what>`; cases marked slow get
/// 10 samples over 20 s. Each case is set up on first use, so a command line that selects a few benches
/// (`cargo bench -- my-task-v1/`) trains nothing else.
pub fn bench_tasks(c: &mut Criterion, reg: &[Box<dyn DynTask>]) {
    driftbench_nets::configure_cpu_threads();
    let cases = driftbench_core::bench::all_timing_cases(reg);
    let mut groups: Vec<(String, Vec<_>)> = Vec::new();
    for case in cases {
        match groups.iter_mut().find(|(g, _)| *g == case.group) {
            Some((_, v)) => v.push(case),
            None => groups.push((case.group.clone(), vec![case])),
        }
    }
    for (name, cases) in groups {
        let mut g = c.benchmark_group(&name);
        if cases.iter().any(|k| k.slow) {
            g.sample_size(10).warm_up_time(Duration::from_millis(1)).measurement_time(Duration::from_secs(20));
        }
        for case in cases {
            g.throughput(Throughput::Elements(case.elements));
            let mut timed = None;
            g.bench_function(BenchmarkId::from_parameter(&case.id), |b| {
                // A bench that cannot set up has nothing to time; criterion offers no error path, so it stops.
                let t =
                    timed.get_or_insert_with(|| (case.setup)().unwrap_or_else(|e| panic!("{name}/{}: {e}", case.id)));
                b.iter(&mut *t)
            });
        }
        g.finish();
    }
}
