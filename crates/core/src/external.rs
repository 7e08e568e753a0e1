//! Solvers outside the process, as the command line describes them: a name, a command, and the limits the
//! harness holds them to. The protocol itself (`driftbench-solver/1`) lives in the `driftbench-external` crate;
//! the registry gives every task with a learning shape a way to turn an [`ExternalSpec`] into a learner
//! ([`crate::bench::Bench::with_external`], [`crate::bench::DynTask::add_external`]).
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A solver program started as a child process and spoken to over JSON Lines on its stdin and stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSpec {
    /// The solver's name in records and reports (lowercase letters, digits, `-` and `_`).
    #[serde(default)]
    pub name: String,
    /// The command line, split like a POSIX shell would split words (quotes and backslashes), run without a
    /// shell.
    pub command: String,
    /// Folder the program starts in (default: the current one); relative file names in `command` are read from
    /// here too when their hashes are recorded.
    #[serde(default)]
    pub working_dir: Option<PathBuf>,
    /// Environment variables set for the program, on top of driftbench's own environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Longest wait for one reply (the handshake, each answer, each action, each served request's follow-up), s.
    #[serde(default = "defaults::message_timeout_s")]
    pub message_timeout_s: f64,
    /// Longest a whole run (training and evaluation) may take, s.
    #[serde(default = "defaults::run_timeout_s")]
    pub run_timeout_s: f64,
    /// Most trials (answers tried on training instances) the program may ask for while training.
    #[serde(default = "defaults::max_trials")]
    pub max_trials: u64,
    /// Most environment steps (episodes of policy tasks) the program may take while training.
    #[serde(default = "defaults::max_steps")]
    pub max_steps: u64,
    /// Longest line the program may write, in bytes.
    #[serde(default = "defaults::max_line_bytes")]
    pub max_line_bytes: usize,
    /// Whether the sample-efficiency experiment retrains this solver on smaller training sets (one process per
    /// size; off by default).
    #[serde(default)]
    pub sample_efficiency: bool,
}

mod defaults {
    pub(super) fn message_timeout_s() -> f64 {
        300.0
    }
    pub(super) fn run_timeout_s() -> f64 {
        6.0 * 3600.0
    }
    pub(super) fn max_trials() -> u64 {
        10_000_000
    }
    pub(super) fn max_steps() -> u64 {
        10_000_000
    }
    pub(super) fn max_line_bytes() -> usize {
        64 << 20
    }
}

/// An `--external` value or solver file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A command-line value that is not `NAME=COMMAND` or whose parts are unusable.
    #[error("--external `{arg}`: {reason}")]
    Arg {
        /// The value given.
        arg: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A solver file that cannot be read or holds unusable values.
    #[error("solver file `{path}`: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl ExternalSpec {
    /// A solver with the default limits.
    pub fn new(name: &str, command: &str) -> Self {
        ExternalSpec {
            name: name.into(),
            command: command.into(),
            working_dir: None,
            env: BTreeMap::new(),
            message_timeout_s: defaults::message_timeout_s(),
            run_timeout_s: defaults::run_timeout_s(),
            max_trials: defaults::max_trials(),
            max_steps: defaults::max_steps(),
            max_line_bytes: defaults::max_line_bytes(),
            sample_efficiency: false,
        }
    }

    /// Parses `NAME=COMMAND`, or `NAME=FILE.toml` for a solver file (whose own `name`, if any, must agree).
    pub fn parse_arg(arg: &str) -> Result<Self, SpecError> {
        let bad = |reason: &str| SpecError::Arg { arg: arg.into(), reason: reason.into() };
        let (name, rest) = arg.split_once('=').ok_or_else(|| bad("give it as NAME=COMMAND"))?;
        let (name, rest) = (name.trim(), rest.trim());
        let spec = if rest.ends_with(".toml") && Path::new(rest).is_file() {
            let mut spec = Self::read(Path::new(rest))?;
            if !spec.name.is_empty() && spec.name != name {
                return Err(bad(&format!("the file names the solver `{}`", spec.name)));
            }
            spec.name = name.into();
            spec
        } else {
            ExternalSpec::new(name, rest)
        };
        spec.check().map_err(|reason| bad(&reason))?;
        Ok(spec)
    }

    /// Reads a solver file (TOML with the fields of [`ExternalSpec`]); a missing `name` becomes the file's stem.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let bad = |reason: String| SpecError::File { path: path.into(), reason };
        let mut spec = Self::read(path)?;
        if spec.name.is_empty() {
            spec.name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        }
        spec.check().map_err(bad)?;
        Ok(spec)
    }

    /// A solver file as written (its `name` possibly empty), unchecked.
    fn read(path: &Path) -> Result<Self, SpecError> {
        let bad = |reason: String| SpecError::File { path: path.into(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        toml::from_str(&text).map_err(|e| bad(e.to_string()))
    }

    /// Checks the name (safe in a file name), the command and the limits.
    pub fn check(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 40
            && self.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !name_ok {
            return Err(format!(
                "solver name `{}` must be 1-40 lowercase letters, digits, `-` or `_` (it becomes part of record \
                 file names)",
                self.name
            ));
        }
        if self.command.trim().is_empty() {
            return Err("the command is empty".into());
        }
        for (what, v) in [("message_timeout_s", self.message_timeout_s), ("run_timeout_s", self.run_timeout_s)] {
            if !(v.is_finite() && v > 0.0 && v <= 1e7) {
                return Err(format!("{what} {v} must be a positive number of seconds (at most 10^7)"));
            }
        }
        if self.max_line_bytes < 1024 {
            return Err(format!("max_line_bytes {} must be at least 1024", self.max_line_bytes));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_parse_and_bad_ones_name_the_problem() {
        let s = ExternalSpec::parse_arg("pynn=python3 solver.py --k 3").unwrap();
        assert_eq!((s.name.as_str(), s.command.as_str()), ("pynn", "python3 solver.py --k 3"));
        assert_eq!(s.message_timeout_s, 300.0);
        for (arg, needle) in [
            ("pynn", "NAME=COMMAND"),
            ("=python3 x.py", "solver name ``"),
            ("Py=python3 x.py", "lowercase"),
            ("a/b=python3 x.py", "lowercase"),
            ("pynn=  ", "empty"),
        ] {
            let e = ExternalSpec::parse_arg(arg).unwrap_err().to_string();
            assert!(e.contains(needle), "{arg}: {e}");
        }
    }

    #[test]
    fn solver_files_take_their_stem_as_name_and_refuse_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, "command = \"python3 x.py\"\nmessage_timeout_s = 2.5\n[env]\nK = \"3\"\n").unwrap();
        let s = ExternalSpec::load(&path).unwrap();
        assert_eq!((s.name.as_str(), s.message_timeout_s, s.env["K"].as_str()), ("mine", 2.5, "3"));
        let s = ExternalSpec::parse_arg(&format!("other={}", path.display())).unwrap();
        assert_eq!(s.name, "other");
        std::fs::write(&path, "command = \"x\"\ntimeout = 3\n").unwrap();
        let e = ExternalSpec::load(&path).unwrap_err().to_string();
        assert!(e.contains("timeout"), "{e}");
        std::fs::write(&path, "command = \"x\"\nrun_timeout_s = -1\n").unwrap();
        let e = ExternalSpec::load(&path).unwrap_err().to_string();
        assert!(e.contains("run_timeout_s"), "{e}");
    }
}
