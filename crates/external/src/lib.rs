//! driftbench-external: solvers outside the process, in any language, judged like the built-in ones.
//!
//! A solver program is started as a child process and spoken to in JSON Lines over its stdin and stdout
//! (`driftbench-solver/1`, documented message by message in `docs/external-solvers.md`); its stderr goes to
//! driftbench's log. The program learns only through the protocol: the harness sends the training examples of
//! level 0 (raw and encoded as the built-in networks see them), serves and counts the trials, demonstrations and
//! environment steps it asks for, then sends every test instance (never a test answer) or plays every test episode
//! with the program choosing actions. So every cost is counted by the harness, and the records are ordinary records
//! of kind `external` that `report`, `compare`, `--resume` and sharding treat like any other.
//!
//! The registry gives each learning shape its protocol ([`shapes::Seq`], [`shapes::Vector`], [`shapes::Policy`])
//! through [`maker`]; the command line adds one [`External`] learner per `--external NAME=COMMAND`.
//!
//! ```
//! use driftbench_core::{ExternalSpec, Learner};
//! use driftbench_external::{maker, shapes::Seq};
//! let spec = ExternalSpec::parse_arg("echo=python3 echo.py").unwrap();
//! let learner = maker::<driftbench_tasks::Sorting, Seq>(&spec);
//! assert_eq!(learner.name(), "echo");
//! ```

pub mod error;
mod learner;
mod process;
pub mod protocol;
pub mod shapes;

pub use error::{ExternalError, Result};
pub use learner::{config, maker, External};
pub use protocol::PROTOCOL;
