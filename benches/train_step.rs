//! One optimiser step of every default network (`driftbench_bench::step`): the figures `docs/performance.md`
//! sets beside PyTorch's. The benches run on the same allocator and settings as the suite (declared in the nets
//! crate).
use criterion::{criterion_group, Criterion, Throughput};
use driftbench_bench::step::{step_bench, NETWORKS};

fn steps(c: &mut Criterion) {
    driftbench_nets::configure_cpu_threads();
    let mut g = c.benchmark_group("train-step");
    g.sample_size(20);
    for name in NETWORKS {
        let mut b = step_bench(name).expect("a default network").expect("builds");
        g.throughput(Throughput::Elements(b.batch as u64));
        g.bench_function(name, |bencher| bencher.iter(|| b.step(1000).expect("step")));
    }
    g.finish();
}

criterion_group!(benches, steps);
