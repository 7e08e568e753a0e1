//! `cargo bench`: criterion benches of every task's generator, symbolic solver, network inference and training,
//! of every program search, and one optimiser step of every default network.
use criterion::criterion_main;

mod navigation;
mod rocket;
mod search;
mod sorting;
mod train_step;

criterion_main! {
    sorting::benches,
    rocket::benches,
    navigation::benches,
    search::benches,
    train_step::benches,
}
