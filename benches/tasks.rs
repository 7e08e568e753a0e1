//! Every registered task, with no bench file of its own ([`DynTask::timing_cases`]): its generator and its
//! hand-written solver on level 0 and on the farthest level of every axis, each learner's training (networks and
//! baselines on the tiny profile, program searches as in the quick suite), and each trained learner's inference.
//!
//! `cargo bench -- sorting-v1/` runs one task's; `cargo bench -- -inference` every learner's inference.
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use driftbench_core::bench::DynTask;
use std::time::Duration;

fn registered(c: &mut Criterion) {
    driftbench_nets::configure_cpu_threads();
    let reg: Vec<Box<dyn DynTask>> = driftbench::registry();
    let cases = driftbench_core::bench::all_timing_cases(&reg);
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
            // Set up on first use: criterion calls the routine only for benches the command line selects.
            let mut timed = None;
            g.bench_function(BenchmarkId::from_parameter(&case.id), |b| {
                let t =
                    timed.get_or_insert_with(|| (case.setup)().unwrap_or_else(|e| panic!("{name}/{}: {e}", case.id)));
                b.iter(&mut *t)
            });
        }
        g.finish();
    }
}

criterion_group!(benches, registered);
