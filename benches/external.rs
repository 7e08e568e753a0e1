//! Protocol round trips (`driftbench-solver/1`) against a minimal echo program (`crates/external/tests/fixtures/
//! echo.py`): test instances answered per second for each task at its smallest and largest instances, pipe and
//! the program's JSON handling included. Navigation counts whole episodes (one `act` round trip per tick).
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use driftbench_core::{rng, Cell, ExternalSpec, Profile, Task, TrainData};
use driftbench_external::shapes::{Policy, Seq, Shape, Vector};
use driftbench_tasks::{Navigation, Rocket, Sorting};

/// Test instances answered per measured iteration.
const BATCH: usize = 32;

fn echo() -> ExternalSpec {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/external/tests/fixtures/echo.py");
    ExternalSpec::new("echo", &format!("python3 '{}'", path.display()))
}

fn draw<T: Task>(task: &T, cell: Cell, purpose: &str, n: usize) -> Vec<T::Instance> {
    let mut r = rng::stream(1, task.id(), purpose);
    (0..n).map(|_| task.generate(cell, &mut r)).collect()
}

fn round_trips<T: Task, S: Shape<T>>(c: &mut Criterion, task: T, cells: &[(&str, Cell)]) {
    let data =
        TrainData { train: draw(&task, Cell::IN_DIST, "train", 8), val: vec![], dropped_overlaps: 0, max_epochs: None };
    let learner = driftbench_external::maker::<T, S>(&echo());
    let Ok((solver, _)) = learner.train(&task, &data, &Profile::tiny(), 1, &|_| {}) else {
        eprintln!("skipping {}: python3 and the echo program are needed", task.id());
        return;
    };
    let mut g = c.benchmark_group(format!("{}/external-round-trip", task.id()));
    g.throughput(Throughput::Elements(BATCH as u64));
    for (label, cell) in cells {
        let insts = draw(&task, *cell, label, BATCH);
        g.bench_function(BenchmarkId::new("echo", label), |b| {
            b.iter(|| solver.solve_batch(&task, &insts).map(|a| a.len()).unwrap_or(0))
        });
    }
    g.finish();
}

fn external(c: &mut Criterion) {
    let far = |axis| Cell { axis: Some(axis), level: 4 };
    round_trips::<_, Seq>(c, Sorting, &[("in-dist", Cell::IN_DIST), ("length-L4", far(0))]);
    round_trips::<_, Vector>(c, Rocket, &[("in-dist", Cell::IN_DIST)]);
    round_trips::<_, Policy>(c, Navigation, &[("in-dist", Cell::IN_DIST), ("size-L4", far(1))]);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = external
}
