//! Rocket: one RK4 step and a whole flight, the shooting solver per target, network inference, training steps.
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use driftbench_core::{rng, Cell, Learner, Profile, Task, TrainData};
use driftbench_nets::vec::VecLearner;
use driftbench_tasks::rocket::{simulate, Env, Rocket, RocketInstance};

const CELLS: [(&str, Cell); 3] = [
    ("L0", Cell { axis: None, level: 0 }),
    ("distance-L4", Cell { axis: Some(0), level: 4 }),
    ("air_density-L1-vacuum", Cell { axis: Some(2), level: 1 }),
];

fn instances(cell: Cell, n: usize) -> Vec<RocketInstance> {
    let mut r = rng::stream(9, "bench", "rocket");
    (0..n).map(|_| Rocket.generate(cell, &mut r)).collect()
}

fn simulator(c: &mut Criterion) {
    let env = Env { gravity: 9.81, air_density: 1.2, altitude: 0.0 };
    let mut g = c.benchmark_group("rocket/simulate");
    // A flight of about 10 s is about 1,000 RK4 steps; report per step via Throughput.
    let flight = simulate(&env, 60.0, 50.0);
    let steps = (flight.time / driftbench_tasks::rocket::DT).ceil() as u64;
    g.throughput(Throughput::Elements(steps));
    g.bench_function(BenchmarkId::new("flight-rk4-steps", steps), |b| b.iter(|| simulate(&env, 60.0, 50.0)));
    g.finish();
}

fn symbolic(c: &mut Criterion) {
    let mut g = c.benchmark_group("rocket/symbolic-solve");
    g.sample_size(20);
    for (name, cell) in CELLS {
        let insts = instances(cell, 50);
        g.throughput(Throughput::Elements(insts.len() as u64));
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| insts.iter().map(|i| Rocket.solve_symbolic(i).1.work).sum::<u64>())
        });
    }
    g.finish();
}

fn networks(c: &mut Criterion) {
    driftbench_nets::configure_cpu_threads();
    let data =
        TrainData { train: instances(Cell::IN_DIST, 4000), val: instances(Cell::IN_DIST, 16), dropped_overlaps: 0 };
    for learner in [VecLearner::relu(), VecLearner::tanh()] {
        let one_step = Profile { train_scale: 1.0 / learner.train.steps as f64, ..Profile::tiny() };
        let (solver, _) = learner.train(&Rocket, &data, &one_step, 1, &|_| {}).unwrap();
        let insts = instances(Cell::IN_DIST, 1024);
        let mut g = c.benchmark_group(format!("rocket/{}-inference", learner.name));
        g.throughput(Throughput::Elements(insts.len() as u64));
        g.bench_function("L0", |b| b.iter(|| solver.solve_batch(&Rocket, &insts).unwrap().len()));
        g.finish();
        // Training also simulates one trial per training instance; keep that set small so the steps dominate.
        let small =
            TrainData { train: instances(Cell::IN_DIST, 256), val: instances(Cell::IN_DIST, 16), dropped_overlaps: 0 };
        let steps = 50;
        let profile = Profile { train_scale: steps as f64 / learner.train.steps as f64, ..Profile::tiny() };
        let mut g = c.benchmark_group(format!("rocket/{}-train", learner.name));
        g.sample_size(10);
        g.throughput(Throughput::Elements(steps * learner.train.batch as u64));
        g.bench_function(BenchmarkId::new("steps", steps), |b| {
            b.iter(|| learner.train(&Rocket, &small, &profile, 1, &|_| {}).unwrap().1.steps)
        });
        g.finish();
    }
}

criterion_group!(benches, simulator, symbolic, networks);
