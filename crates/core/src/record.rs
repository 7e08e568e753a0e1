//! Run records: one JSON document per (task, solver, seed, profile), the only input of the report.
use crate::error::{Error, Result};
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
    pub kind: crate::solver::SolverKind,
    /// The run's seed (training data and initialisation).
    pub seed: u64,
    /// Profile the run used.
    pub profile: crate::profile::Profile,
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
    pub adversarial: Option<crate::attack::AttackStats>,
    /// SVG of the solver's answer on the first level-0 test instance, for tasks that draw pictures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
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

/// What training cost and reached. Fields a learner does not use stay at their defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainStats {
    /// Distinct training examples available.
    pub examples: u64,
    /// Examples presented, counting repeats (steps × batch).
    pub examples_seen: u64,
    /// Simulated trials consumed while learning (tasks where data are trials).
    pub trials: u64,
    /// Deaths during training (tasks where an agent can die).
    pub deaths: u64,
    /// Optimiser steps.
    pub steps: u64,
    /// Passes over the training set.
    pub epochs: f64,
    /// Mean training loss over the last 10% of steps.
    pub final_train_loss: Option<f64>,
    /// Validation loss of the kept parameters.
    pub val_loss: Option<f64>,
    /// The learner's own validation accuracy of the kept parameters (named by `val_accuracy_name`).
    pub val_accuracy: Option<f64>,
    /// What `val_accuracy` measures, e.g. `per-position rank accuracy`.
    #[serde(default)]
    pub val_accuracy_name: Option<String>,
    /// Validation exact-match rate of the kept parameters.
    pub val_exact: Option<f64>,
    /// Step whose parameters were kept (best validation exact match).
    pub best_step: Option<u64>,
    /// Learning curve: (step, training loss, validation accuracy, validation exact match).
    pub curve: Vec<(u64, f64, f64, f64)>,
    /// Learner-specific figures.
    pub extra: BTreeMap<String, f64>,
    /// The learned program in readable form (program-search learners), or why none was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
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
}

impl CellResult {
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
}

impl RunRecord {
    /// File name of the record inside a records folder.
    pub fn file_name(&self) -> String {
        let base = record_file_name(&self.task, &self.solver, self.seed, &self.profile.name);
        match &self.experiment {
            None => base,
            Some(Experiment::SampleEfficiency { train_examples, .. }) => {
                format!("{}__n{train_examples}.json", base.trim_end_matches(".json"))
            }
        }
    }

    /// A copy with every timing field zeroed: two runs with the same config and seed compare equal this way.
    pub fn without_timing(&self) -> RunRecord {
        let mut r = self.clone();
        r.timing = Timing::default();
        r.training.extra.retain(|k, _| !k.ends_with("_s"));
        r
    }

    /// Reads a record, with an error that names the file.
    pub fn read(path: &Path) -> Result<RunRecord> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading record", path, e))?;
        let rec: RunRecord =
            serde_json::from_str(&text).map_err(|e| Error::Json { path: path.into(), line: None, source: e })?;
        if rec.schema != RECORD_SCHEMA {
            return Err(Error::Invalid {
                path: path.into(),
                reason: format!("record schema {} (this driftbench reads schema {RECORD_SCHEMA})", rec.schema),
            });
        }
        Ok(rec)
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

/// `<task>__<solver>__s<seed>__<profile>.json`.
pub fn record_file_name(task: &str, solver: &str, seed: u64, profile: &str) -> String {
    format!("{task}__{solver}__s{seed}__{profile}.json")
}

/// Reads every `*.json` record in `dir`, sorted by file name. An unreadable record is an error.
pub fn read_dir(dir: &Path) -> Result<Vec<RunRecord>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("reading records folder", dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let p = entry.map_err(|e| Error::io("reading records folder", dir, e))?.path();
        if p.extension().is_some_and(|x| x == "json") {
            paths.push(p);
        }
    }
    paths.sort();
    paths.iter().map(|p| RunRecord::read(p)).collect()
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so that a reader never
/// sees a half-written file, even if the process dies mid-write.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating folder", dir, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("writing", path, e));
    }
    Ok(())
}
