//! `cargo bench`: this crate's tasks, timed as driftbench times its own (`cargo bench -- prefix-parity-v1/`).
use criterion::{criterion_group, criterion_main, Criterion};

fn tasks(c: &mut Criterion) {
    driftbench_bench::bench_tasks(c, &[my_tasks::entry()]);
}

criterion_group!(benches, tasks);
criterion_main!(benches);
