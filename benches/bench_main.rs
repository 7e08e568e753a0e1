//! `cargo bench`: criterion benches of every task's generator, symbolic solver, network inference and training,
//! and of every program search.
use criterion::criterion_main;

mod navigation;
mod rocket;
mod search;
mod sorting;

criterion_main! {
    sorting::benches,
    rocket::benches,
    navigation::benches,
    search::benches,
}
