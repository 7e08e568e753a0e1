//! `cargo bench`: criterion benches of every registered task (generator, hand-written solver, each learner's
//! training and inference; `tasks.rs`, from the registry), a few task-specific extras, and one optimiser step of
//! every default network.
use criterion::criterion_main;

mod extras;
mod tasks;
mod train_step;

criterion_main! {
    tasks::benches,
    extras::benches,
    train_step::benches,
}
