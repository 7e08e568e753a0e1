//! Task-specific extras beside the registry's benches (`tasks.rs`): one RK4 flight of the rocket simulator and one
//! tick of the navigation world.
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use driftbench_core::{rng, Cell, Task};
use driftbench_tasks::navigation::{Action, Navigation, World};
use driftbench_tasks::rocket::{simulate, Env};

fn simulator(c: &mut Criterion) {
    let env = Env { gravity: 9.81, air_density: 1.2, altitude: 0.0 };
    let mut g = c.benchmark_group("rocket-v1/simulate");
    // A flight of about 10 s is about 1,000 RK4 steps; report per step via Throughput.
    let flight = simulate(&env, 60.0, 50.0);
    let steps = (flight.time / driftbench_tasks::rocket::DT).ceil() as u64;
    g.throughput(Throughput::Elements(steps));
    g.bench_function(BenchmarkId::new("flight-rk4-steps", steps), |b| b.iter(|| simulate(&env, 60.0, 50.0)));
    g.finish();
}

fn world(c: &mut Criterion) {
    let inst = Navigation.generate(Cell::IN_DIST, &mut rng::stream(9, "bench", "navigation"));
    let mut g = c.benchmark_group("navigation-v1/world");
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

criterion_group!(benches, simulator, world);
