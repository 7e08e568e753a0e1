//! Sorting: generation, the symbolic solver, network inference per instance and one training step.
use criterion::{criterion_group, BatchSize, BenchmarkId, Criterion, Throughput};
use driftbench_core::{rng, Cell, Learner, Profile, Task, TrainData};
use driftbench_nets::SeqLearner;
use driftbench_tasks::sorting::{SortInstance, Sorting};

const CELLS: [(&str, Cell); 2] =
    [("L0", Cell { axis: None, level: 0 }), ("length-L4", Cell { axis: Some(0), level: 4 })];

fn instances(cell: Cell, n: usize) -> Vec<SortInstance> {
    let mut r = rng::stream(9, "bench", "instances");
    (0..n).map(|_| Sorting.generate(cell, &mut r)).collect()
}

fn generation(c: &mut Criterion) {
    let mut g = c.benchmark_group("sorting/generate");
    g.throughput(Throughput::Elements(1));
    for (name, cell) in CELLS {
        let mut r = rng::stream(1, "bench", "gen");
        g.bench_function(BenchmarkId::from_parameter(name), |b| b.iter(|| Sorting.generate(cell, &mut r)));
    }
    g.finish();
}

fn symbolic(c: &mut Criterion) {
    let mut g = c.benchmark_group("sorting/symbolic-solve");
    for (name, cell) in CELLS {
        let insts = instances(cell, 1000);
        g.throughput(Throughput::Elements(insts.len() as u64));
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| insts.iter().map(|i| Sorting.solve_symbolic(i).1.work).sum::<u64>())
        });
    }
    g.finish();
}

fn tiny_data() -> TrainData<Sorting> {
    TrainData { train: instances(Cell::IN_DIST, 2000), val: instances(Cell::IN_DIST, 16), dropped_overlaps: 0 }
}

/// A profile that gives `learner` exactly `steps` optimiser steps.
fn steps_profile(learner: &SeqLearner, steps: u64) -> Profile {
    Profile { train_scale: steps as f64 / learner.train.steps as f64, ..Profile::tiny() }
}

fn networks(c: &mut Criterion) {
    driftbench_nets::configure_cpu_threads();
    let data = tiny_data();
    for learner in [SeqLearner::mlp(), SeqLearner::transformer()] {
        // Inference cost does not depend on how well the weights are trained.
        let (solver, _) = learner.train(&Sorting, &data, &steps_profile(&learner, 1), 1, &|_| {}).unwrap();
        let mut g = c.benchmark_group(format!("sorting/{}-inference", learner.name));
        for (name, cell) in CELLS {
            let insts = instances(cell, 256);
            g.throughput(Throughput::Elements(insts.len() as u64));
            g.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| solver.solve_batch(&Sorting, &insts).unwrap().len())
            });
        }
        g.finish();
        let mut g = c.benchmark_group(format!("sorting/{}-train", learner.name));
        g.sample_size(10);
        let steps = 20;
        g.throughput(Throughput::Elements(steps * learner.train.batch as u64));
        g.bench_function(BenchmarkId::new("steps", steps), |b| {
            b.iter_batched(
                || steps_profile(&learner, steps),
                |p| learner.train(&Sorting, &data, &p, 1, &|_| {}).unwrap().1.steps,
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

criterion_group!(benches, generation, symbolic, networks);
