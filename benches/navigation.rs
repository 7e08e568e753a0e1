//! Navigation: one world step, the planner per episode, policy inference per episode and imitation training.
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use driftbench_core::{rng, Cell, Learner, Profile, Task, TrainData};
use driftbench_nets::policy::Imitation;
use driftbench_tasks::navigation::{plan, Action, NavInstance, Navigation, World};

const CELLS: [(&str, Cell); 3] = [
    ("L0", Cell { axis: None, level: 0 }),
    ("size-L4", Cell { axis: Some(1), level: 4 }),
    ("traffic-L4", Cell { axis: Some(2), level: 4 }),
];

fn instances(cell: Cell, n: usize) -> Vec<NavInstance> {
    let mut r = rng::stream(9, "bench", "navigation");
    (0..n).map(|_| Navigation.generate(cell, &mut r)).collect()
}

fn world(c: &mut Criterion) {
    let inst = instances(Cell::IN_DIST, 1).remove(0);
    let mut g = c.benchmark_group("navigation/world");
    g.throughput(Throughput::Elements(1));
    g.bench_function("step", |b| {
        let mut w = World::new(&inst);
        b.iter(|| {
            if w.is_done() {
                w.reset();
            }
            w.step(Action::Wait).reward
        })
    });
    g.finish();
}

fn planner(c: &mut Criterion) {
    let mut g = c.benchmark_group("navigation/planner");
    for (name, cell) in CELLS {
        let insts = instances(cell, 100);
        g.throughput(Throughput::Elements(insts.len() as u64));
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| insts.iter().map(|i| plan(i).map_or(0, |p| p.1)).sum::<u64>())
        });
    }
    g.finish();
}

fn policy(c: &mut Criterion) {
    driftbench_nets::configure_cpu_threads();
    let data =
        TrainData { train: instances(Cell::IN_DIST, 200), val: instances(Cell::IN_DIST, 8), dropped_overlaps: 0 };
    let learner = Imitation::default();
    let steps = 20;
    let profile = Profile { train_scale: steps as f64 / learner.0.train.steps as f64, ..Profile::tiny() };
    let (solver, _) = learner.train(&Navigation, &data, &profile, 1, &|_| {}).unwrap();
    let insts = instances(Cell::IN_DIST, 64);
    let mut g = c.benchmark_group("navigation/imitation-inference");
    g.sample_size(20);
    g.throughput(Throughput::Elements(insts.len() as u64));
    g.bench_function("episodes-L0", |b| b.iter(|| solver.solve_batch(&Navigation, &insts).unwrap().len()));
    g.finish();
    let mut g = c.benchmark_group("navigation/imitation-train");
    g.sample_size(10);
    g.throughput(Throughput::Elements(steps * learner.0.train.batch as u64));
    // Includes recording 200 demonstrations and the DAgger rollouts of the tiny profile.
    g.bench_function(BenchmarkId::new("steps", steps), |b| {
        b.iter(|| learner.train(&Navigation, &data, &profile, 1, &|_| {}).unwrap().1.steps)
    });
    g.finish();
}

criterion_group!(benches, world, planner, policy);
