//! `cargo bench`: criterion benches of every registered task (generator, hand-written solver, each learner's
//! training and inference; `tasks.rs`, from the registry), a few task-specific extras, and one optimiser step of
//! every default network, and round trips of the external-solver protocol against an echo program.
use criterion::criterion_main;

mod external;
mod extras;
mod tasks;
mod train_step;

criterion_main! {
    tasks::benches,
    extras::benches,
    external::benches,
    train_step::benches,
}
