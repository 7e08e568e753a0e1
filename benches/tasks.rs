//! Every registered task, with no bench file of its own ([`driftbench_bench::bench_tasks`]): its generator and
//! its hand-written solver on level 0 and on the farthest level of every axis, each learner's training (networks
//! and baselines on the tiny profile, program searches as in the quick suite), and each trained learner's
//! inference.
//!
//! `cargo bench -- sorting-v1/` runs one task's; `cargo bench -- -inference` every learner's inference.
use criterion::{criterion_group, Criterion};

fn registered(c: &mut Criterion) {
    driftbench_bench::bench_tasks(c, &driftbench::registry());
}

criterion_group!(benches, registered);
