//! Program search: one whole search per learner, on the quick profile's level-0 data for seed 1 (the same
//! training instances a drift run hands the learner), so the time is what `driftbench run` spends searching.
use criterion::{criterion_group, BenchmarkId, Criterion};
use driftbench_core::{rng, Cell, Learner, Profile, Task, TrainData};
use std::time::Duration;

/// The first `n` level-0 instances of a bench stream, and 1,000 more for validation.
fn data<T: Task>(task: &T, n: usize) -> TrainData<T> {
    let mut r = rng::stream(1, task.id(), "bench/search");
    let train = (0..n).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect();
    let val = (0..1000).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect();
    TrainData { train, val, dropped_overlaps: 0 }
}

fn searches<T: Task>(c: &mut Criterion, task: T, learners: Vec<Box<dyn Learner<T>>>) {
    let profile = Profile::quick();
    let d = data(&task, profile.train_examples_for(task.id()));
    let mut g = c.benchmark_group(format!("{}/search", task.id().trim_end_matches("-v1")));
    // A whole search takes seconds: few samples, no warm-up beyond one run.
    g.sample_size(10).warm_up_time(Duration::from_millis(1)).measurement_time(Duration::from_secs(20));
    for learner in learners {
        g.bench_function(BenchmarkId::from_parameter(learner.name()), |b| {
            b.iter(|| learner.train(&task, &d, &profile, 1, &|_| {}).map(|(_, stats)| stats.examples).unwrap_or(0))
        });
    }
    g.finish();
}

fn all(c: &mut Criterion) {
    searches(c, driftbench_tasks::Sorting, driftbench_search::sorting::learners());
    searches(c, driftbench_tasks::Rocket, driftbench_search::rocket::learners());
    searches(c, driftbench_tasks::Navigation, driftbench_search::navigation::learners());
}

criterion_group!(benches, all);
