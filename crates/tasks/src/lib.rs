//! driftbench-tasks: the benchmark's tasks, one module each.
//!
//! A task module holds everything about its task in one `impl Task`: generator, drift axes, scorer,
//! hand-written symbolic solver and network encoding. Nothing here knows about candle; the nets crate trains on
//! the plain `Vec<f32>` encodings these modules produce.
//!
//! To add a task: write `src/<name>.rs` with a type implementing [`driftbench_core::Task`], export it here (two
//! lines), and add one line to the registry in the `driftbench` crate (`src/registry.rs`). See `docs/adding-a-task.md`.

pub mod navigation;
pub mod rocket;
pub mod sorting;

pub use navigation::{Navigation, NavigationV2};
pub use rocket::{Rocket, RocketV2};
pub use sorting::{Sorting, SortingV2};
