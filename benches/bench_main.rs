//! `cargo bench`: criterion benches of every task's generator, symbolic solver, network inference and training.
use criterion::criterion_main;

mod navigation;
mod rocket;
mod sorting;

criterion_main! {
    sorting::benches,
    rocket::benches,
    navigation::benches,
}
