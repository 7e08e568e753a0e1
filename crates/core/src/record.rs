//! Run records: one JSON document per (task, solver, seed, profile), the only input of the report.
use crate::data::{AttackStats, SolverKind};
pub use crate::data::{CompetencePoint, TrainStats};
use crate::error::{Error, Result};
use crate::outcomes::InstanceOutcomes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of the record format; bump it when fields change meaning.
pub const RECORD_SCHEMA: u32 = 1;

/// Everything one (task, solver, seed, profile) run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// [`RECORD_SCHEMA`] at the time of writing.
    pub schema: u32,
    /// Task id, e.g. `sorting-v1`.
    pub task: String,
    /// Solver name, e.g. `transformer`.
    pub solver: String,
    /// Solver family.
    pub kind: SolverKind,
    /// The run's seed (training data and initialisation).
    pub seed: u64,
    /// Profile the run used.
    pub profile: crate::profile::Profile,
    /// [`crate::profile::Profile::hash`] of `profile` (absent in records written before profile files existed;
    /// the report computes it from `profile` then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_hash: Option<String>,
    /// The solver's hyper-parameters.
    pub config: serde_json::Value,
    /// Where the test instances came from: `canonical` (frozen files, with their manifest hash) or `generated`.
    pub test_source: String,
    /// Name of the task's secondary metric.
    pub metric_name: String,
    /// Name of the work unit in [`CellResult::mean_work`].
    pub work_name: String,
    /// Name of the stricter success criterion, if the task has one.
    pub strict_name: Option<String>,
    /// Training statistics.
    pub training: TrainStats,
    /// One entry per evaluation cell, level 0 first.
    pub cells: Vec<CellResult>,
    /// The experiment this run belongs to beyond the drift evaluation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<Experiment>,
    /// The adversarial experiment on level-0 inputs, for solvers and tasks that take part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adversarial: Option<AttackStats>,
    /// SVG of the solver's answer on the first test instance of the task's picture cell
    /// ([`crate::Task::picture_cell`]), for tasks that draw pictures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Label of the cell `picture` shows, e.g. `gravity-L4` (absent: level 0, as in older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture_cell: Option<String>,
    /// What the solver observes of an instance (the task page's information table); absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observes: Option<String>,
    /// Wall-clock timings in seconds: the only fields allowed to differ between identical runs.
    pub timing: Timing,
    /// Where and with what the run was made.
    pub provenance: Provenance,
}

/// A run made for an experiment other than the plain drift evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Experiment {
    /// Trained on the first `train_examples` instances of the seed's training stream (the drift runs use the
    /// profile's full count), at most `max_epochs` passes over them, and evaluated on level 0 and the farthest
    /// level of every axis.
    SampleEfficiency {
        /// Training instances offered to the learner.
        train_examples: u64,
        /// The epoch cap applied to the learner's step budget.
        max_epochs: f64,
    },
}

/// Wall-clock timings of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// Training (or setting up) the solver.
    pub train_s: f64,
    /// Evaluating every cell.
    pub eval_s: f64,
    /// Mean time per answered instance, in microseconds.
    pub per_answer_us: f64,
}

/// Results on one evaluation cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellResult {
    /// Axis name (`in-dist` for level 0).
    pub axis: String,
    /// Level 0..=4.
    pub level: u8,
    /// What the level means.
    pub level_description: String,
    /// Instances evaluated.
    pub n: u64,
    /// Successful answers.
    pub successes: u64,
    /// Instances the solver gave no answer for.
    pub no_answer: u64,
    /// Mean of the task's secondary metric.
    pub mean_metric: f64,
    /// Median of the task's secondary metric.
    pub median_metric: f64,
    /// Answers meeting the task's stricter criterion, if it has one.
    pub strict_successes: Option<u64>,
    /// Mean work per answer.
    pub mean_work: f64,
    /// Failures by the task's category (e.g. `death`, `timeout`), where the task reports one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failures: BTreeMap<String, u64>,
    /// Whether the cell's correct answers were within the solver's reach, for solvers that assess it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representability: Option<CellRepresentability>,
    /// What happened on each instance, in test-set order (absent in records written before they were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<InstanceOutcomes>,
    /// Where the cell lies along its axis's factor, for tasks that place their axes ([`crate::Placement`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<CellDistance>,
}

/// A cell's declared distance from the training distribution along its axis's factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellDistance {
    /// The factor the axis drifts.
    pub factor: String,
    /// Distance from level 0 in `unit`.
    pub distance: f64,
    /// The unit of `distance`.
    pub unit: crate::axis::Spread,
}

impl CellDistance {
    /// As tables show it, e.g. `2.5σ`.
    pub fn label(&self) -> String {
        crate::axis::format_distance(self.distance, self.unit)
    }
}

/// How many of a cell's instances had a correct answer the solver could express and was trained to give
/// ([`crate::solver::Representable`]), and how it fared on those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellRepresentability {
    /// Instances whose correct answer the solver's output can express.
    pub expressible: u64,
    /// Instances whose correct answer is expressible and needs only outputs that were supervised in training.
    pub supervised: u64,
    /// Successes among the `supervised` instances.
    pub successes_supervised: u64,
    /// Instances whose correct real-valued answer lies outside the range of the training targets (counted apart
    /// from `expressible`; absent in older records and for class outputs). `supervised` excludes them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub outside_support: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl CellRepresentability {
    /// Every instance of a cell of `n` was expressible and supervised.
    pub fn all(&self, n: u64) -> bool {
        self.expressible == n && self.supervised == n
    }
}

impl CellResult {
    /// Checks that per-instance outcomes decode and agree with the cell's counts: successes, unanswered
    /// instances, strict successes and the successes within reach.
    pub(crate) fn check_outcomes(&self, o: &InstanceOutcomes) -> std::result::Result<(), String> {
        let d = o.decode(self.n)?;
        let disagree = |what: &str, listed: u64, counted: u64| {
            format!("per-instance outcomes list {listed} {what} where the cell counts {counted}")
        };
        if d.success.count_ones() != self.successes {
            return Err(disagree("successes", d.success.count_ones(), self.successes));
        }
        if d.no_answer.count_ones() != self.no_answer {
            return Err(disagree("unanswered instances", d.no_answer.count_ones(), self.no_answer));
        }
        match (&d.strict, self.strict_successes) {
            (Some(s), Some(k)) if s.count_ones() != k => return Err(disagree("strict successes", s.count_ones(), k)),
            (Some(_), None) => return Err("per-instance strict outcomes for a cell without a strict count".into()),
            _ => {}
        }
        match (&d.supervised, self.representability) {
            (Some(s), Some(r)) => {
                if s.count_ones() != r.supervised {
                    return Err(disagree("instances within reach", s.count_ones(), r.supervised));
                }
                let hits = s.count_and(&d.success);
                if hits != r.successes_supervised {
                    return Err(disagree("successes within reach", hits, r.successes_supervised));
                }
            }
            (Some(_), None) => return Err("per-instance reach for a cell without representability counts".into()),
            _ => {}
        }
        Ok(())
    }

    /// Success rate in [0, 1].
    pub fn rate(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.successes as f64 / self.n as f64
        }
    }
}

/// Where a run was made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// driftbench version.
    pub version: String,
    /// Git commit of the working tree, if known.
    pub git_commit: Option<String>,
    /// `rustc --version`, if known.
    pub rustc: Option<String>,
    /// Operating system and architecture.
    pub os: String,
    /// CPU model name, if known.
    pub cpu: Option<String>,
    /// Worker threads the run used.
    pub threads: usize,
    /// The CPU's caches as the OS describes them (e.g. `L1d 32K 8-way, L2 1024K 8-way, L3 32768K 16-way`), if
    /// known. The matrix kernels size their blocks from these; the networks bound every sum so that results do
    /// not depend on them, and they are recorded to diagnose any machine where results differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_caches: Option<String>,
    /// The instruction-set level the matrix kernels ran at (e.g. `x86-64 fma (AVX2, 256-bit)`), if known: kernels
    /// of another width round differently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simd: Option<String>,
    /// The program that answered, for a solver outside the process (`driftbench-solver/1`): what it says it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalProgram>,
}

/// A solver program outside the process as it introduced itself in the protocol's handshake. Self-reported: the
/// command and the hashes of the files it names are in the record's `config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalProgram {
    /// The protocol version both sides spoke, e.g. `driftbench-solver/1`.
    pub protocol: String,
    /// The name the program gave.
    pub name: String,
    /// The version the program gave.
    pub version: String,
}

impl RunRecord {
    /// File name of the record inside a records folder.
    pub fn file_name(&self) -> String {
        let size = self.experiment.as_ref().map(|Experiment::SampleEfficiency { train_examples, .. }| *train_examples);
        record_file_name(&self.task, &self.solver, self.seed, &self.profile.name, size)
    }

    /// A copy with every timing field zeroed: two runs with the same config and seed compare equal this way.
    pub fn without_timing(&self) -> RunRecord {
        let mut r = self.clone();
        r.timing = Timing::default();
        r.training.extra.retain(|k, _| !k.ends_with("_s"));
        r
    }

    /// What identifies the run: two records with the same key are the same run, whatever their file names.
    pub fn key(&self) -> (String, String, u64, String, Option<u64>) {
        let size = self.experiment.as_ref().map(|Experiment::SampleEfficiency { train_examples, .. }| *train_examples);
        (self.task.clone(), self.solver.clone(), self.seed, self.profile.name.clone(), size)
    }

    /// Writes the record into `dir` atomically and returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(self.file_name());
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Invalid { path: path.clone(), reason: format!("record does not serialise: {e}") })?;
        write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }
}

/// `<task>__<solver>__s<seed>__<profile>.json`, or `..._<profile>__n<N>.json` for a sample-efficiency run on `N`
/// training instances: the one place record file names are made.
pub fn record_file_name(task: &str, solver: &str, seed: u64, profile: &str, train_examples: Option<u64>) -> String {
    match train_examples {
        None => format!("{task}__{solver}__s{seed}__{profile}.json"),
        Some(n) => format!("{task}__{solver}__s{seed}__{profile}__n{n}.json"),
    }
}

/// Checks, before any work starts, that `path` can become a folder of outputs: it is a folder we can write in,
/// or it does not exist yet and its nearest existing ancestor is such a folder. Creates nothing.
pub fn check_output_dir(path: &Path, what: &'static str) -> Result<()> {
    let mut existing = path;
    loop {
        match std::fs::metadata(existing) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                let reason = if existing == path {
                    format!("the {what} is a file, not a folder")
                } else {
                    format!("the {what} `{}` cannot be created inside a file", path.display())
                };
                return Err(Error::Invalid { path: existing.into(), reason });
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
                existing = match existing.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
            }
            Err(e) => return Err(Error::io(what, existing, e)),
        }
    }
    // Writable: create and remove a probe file (the only reliable test, whatever the permissions model).
    static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = existing.join(format!(".driftbench-probe-{}-{n}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if existing == path => Err(Error::io(what, existing, e)),
        // Name the path the user gave, not only the folder above it that refused the probe.
        Err(err) => Err(Error::Unwritable { what, path: path.into(), above: existing.into(), err }),
    }
}

pub use crate::files::write_atomic;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_writes_of_one_path_never_collide() {
        // Two jobs writing the same record at once used to share one temporary name per process; one of them then
        // renamed a file the other had already moved ("No such file or directory").
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let path = &path;
                    s.spawn(move || (0..25).map(|i| write_atomic(path, format!("{t}-{i}").as_bytes())).collect())
                })
                .collect();
            for h in handles {
                let results: Vec<Result<()>> = h.join().unwrap();
                assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
            }
        });
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("r.json")]);
    }

    #[test]
    fn output_folders_are_checked_without_creating_anything() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(check_output_dir(dir.path(), "out").is_ok());
        assert!(check_output_dir(&dir.path().join("a/b/c"), "out").is_ok());
        let e = check_output_dir(&file, "records folder").unwrap_err().to_string();
        assert!(e.contains("is a file"), "{e}");
        let e = check_output_dir(&file.join("sub"), "report folder").unwrap_err().to_string();
        assert!(e.contains("inside a file") && e.contains("report folder"), "{e}");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f")]);
    }
}
