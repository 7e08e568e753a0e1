//! driftbench-nets: the only crate that depends on candle.
//!
//! It knows learning *shapes*, never particular tasks: a task that implements [`driftbench_core::SeqTask`]
//! gets the padded MLP and the transformer encoder of [`seq`] without writing network code. Every family trains
//! through the one loop in [`train`], initialises its weights from a seeded ChaCha stream (candle's CPU RNG cannot
//! be seeded) and is evaluated as an ordinary [`driftbench_core::Solver`].
//!
//! Every program that links this crate allocates through [`alloc::TrainingAllocator`] (mimalloc, purging off), so
//! binaries, benches, examples and tests train alike; a program must not declare its own `#[global_allocator]`.
//! [`kernels`] holds the CPU fast paths the layers use (see `docs/performance.md`).
//!
//! Call [`configure_cpu_threads`] once at the start of a program, before any thread exists: candle otherwise
//! re-reads `/proc/cpuinfo` on every matmul to find its thread count.

pub mod alloc;
pub mod attack;
pub mod dagger;
pub mod error;
pub mod family;
pub mod grid_policy;
mod kdtree;
pub mod kernels;
pub mod layers;
pub mod learner;
mod lockstep;
pub mod memorise;
pub mod pointer;
pub mod policy;
pub mod ppo;
pub mod seq;
pub mod train;
pub mod vec;

/// The tensor library the networks are written in, for families written outside this crate (the version this
/// crate builds with).
pub use candle_core as candle;
pub use error::{NetError, Result};
pub use family::{Family, Fit, Net, Trained};
pub use learner::{
    grid_learners, policy_learners, seq_learners, vec_learners, CustomFamily, SeqArchitecture, SeqFamily, SeqLearner,
};

/// Pins candle's per-op thread count to one. driftbench parallelises across runs and evaluation cells with its
/// own rayon pool, which beats splitting small matmuls; and with the variable set, candle no longer parses
/// `/proc/cpuinfo` on every matmul (measured: a 64×8×64 matmul took 52 µs instead of 3-4 µs without it).
///
/// Call it before spawning threads: it sets process environment variables.
pub fn configure_cpu_threads() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Sound only while the process is single-threaded, as documented above.
        std::env::set_var("RAYON_NUM_THREADS", "1");
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    });
}
