//! The `driftbench` crate: the task registry and the suite runner behind the CLI.
//!
//! [`registry`] is the one list a new task is added to; everything else (the CLI, records, report, benches)
//! reads the tasks from it.
use driftbench_core::bench::{Bench, DynTask, Prepared, Progress, TestSource};
use driftbench_core::solver::Symbolic;
use driftbench_core::{Learner, Profile, Provenance, RunRecord, SolverKind, Task};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Wraps a task with the symbolic solver and every network family that fits its encoding.
pub fn bench<T: Task>(task: T) -> Box<dyn DynTask> {
    bench_with(task, Vec::new())
}

/// Like [`bench`], plus task-specific learners (such as a program search over the task's own DSL).
pub fn bench_with<T: Task>(task: T, extra: Vec<Box<dyn Learner<T>>>) -> Box<dyn DynTask> {
    let mut learners: Vec<Box<dyn Learner<T>>> = vec![Box::new(Symbolic)];
    learners.extend(driftbench_nets::learners_for::<T>(task.encoding()));
    learners.extend(extra);
    Box::new(Bench::new(task, learners))
}

/// Every registered task. Adding a task means adding one line here.
pub fn registry() -> Vec<Box<dyn DynTask>> {
    vec![
        bench_with(driftbench_tasks::Sorting, driftbench_search::sorting::learners()),
        bench_with(driftbench_tasks::Rocket, driftbench_search::rocket::learners()),
        bench_with(driftbench_tasks::Navigation, driftbench_search::navigation::learners()),
    ]
}

/// Errors of the suite runner.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// A task name that matches no registered task.
    #[error("unknown task `{name}` (tasks: {known})")]
    UnknownTask { name: String, known: String },
    /// A solver name that no selected task has.
    #[error("unknown solver `{name}` for {task} (solvers: {known})")]
    UnknownSolver { name: String, task: String, known: String },
    /// An error from the core crate.
    #[error(transparent)]
    Core(#[from] driftbench_core::Error),
}

/// Finds tasks by id or by id without its version suffix (`sorting` for `sorting-v1`).
pub fn select_tasks<'a>(reg: &'a [Box<dyn DynTask>], names: &[String]) -> Result<Vec<&'a dyn DynTask>, SuiteError> {
    if names.is_empty() {
        return Ok(reg.iter().map(|t| t.as_ref()).collect());
    }
    names
        .iter()
        .map(|name| {
            reg.iter()
                .find(|t| t.id() == name || t.id().rsplit_once("-v").is_some_and(|(base, _)| base == name))
                .map(|t| t.as_ref())
                .ok_or_else(|| SuiteError::UnknownTask {
                    name: name.clone(),
                    known: reg.iter().map(|t| t.id()).collect::<Vec<_>>().join(", "),
                })
        })
        .collect()
}

/// What `driftbench run` does.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// Solver names to run (empty: all).
    pub solvers: Vec<String>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Budgets.
    pub profile: Profile,
    /// Test sets.
    pub source: TestSource,
    /// Records folder.
    pub out: PathBuf,
    /// Skip (task, solver, seed) cells whose record already exists with the same config.
    pub resume: bool,
    /// This shard `i` of `n` (0-based) of the job list.
    pub shard: (usize, usize),
    /// Which experiments to run.
    pub experiments: Experiments,
}

/// The experiments of a suite run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Experiments {
    /// The drift evaluation on every cell (with the adversarial experiment on level-0 inputs).
    pub drift: bool,
    /// Retraining on smaller training sets (first seed only), judged at level 0 and the farthest levels.
    pub sample_efficiency: bool,
}

impl Experiments {
    /// Everything: the default suite.
    pub const ALL: Experiments = Experiments { drift: true, sample_efficiency: true };
}

/// One finished run, for the CLI's timing table.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The record (read back when resumed).
    pub record: RunRecord,
    /// Where it was written.
    pub path: PathBuf,
    /// Whether it was skipped because it already existed.
    pub resumed: bool,
}

/// Runs every (task, solver, seed) job of the plan in parallel on the current rayon pool and writes one record
/// per job atomically. Jobs are dealt to shards round-robin in a fixed order, so `--shard i/N` over all `i`
/// produces exactly the records of an unsharded run.
pub fn run_suite(
    tasks: &[&dyn DynTask],
    plan: &RunPlan,
    provenance: &Provenance,
    progress: Progress,
) -> Result<Vec<RunOutcome>, SuiteError> {
    for task in tasks {
        let known: Vec<&str> = task.solvers().iter().map(|s| s.name).collect();
        for s in &plan.solvers {
            if !known.contains(&s.as_str()) && tasks.iter().all(|t| t.solvers().iter().all(|x| x.name != s)) {
                return Err(SuiteError::UnknownSolver {
                    name: s.clone(),
                    task: task.id().into(),
                    known: known.join(", "),
                });
            }
        }
    }
    let prepared: Vec<Box<dyn Prepared + '_>> =
        tasks.iter().map(|t| t.prepare(&plan.source, &plan.profile)).collect::<Result<_, _>>()?;
    // Jobs: (task, solver, seed, training-set size for the sample-efficiency experiment).
    let mut jobs = Vec::new();
    for (ti, task) in tasks.iter().enumerate() {
        for s in task.solvers() {
            if plan.solvers.is_empty() || plan.solvers.iter().any(|n| n == s.name) {
                // Networks train longest, then program searches, baselines, and the symbolic solvers (a stable
                // sort below), so the pool's tail is short.
                let rank = match s.kind {
                    SolverKind::Network => 0,
                    SolverKind::ProgramSearch => 1,
                    SolverKind::Baseline => 2,
                    SolverKind::Symbolic => 3,
                };
                // A solver the seed does not change runs once; its seed-to-seed spread is zero by construction.
                let seeds = if s.seed_dependent { &plan.seeds[..] } else { &plan.seeds[..plan.seeds.len().min(1)] };
                if plan.experiments.drift {
                    for &seed in seeds {
                        jobs.push((rank, (ti, s.name, seed, None)));
                    }
                }
                if let (true, true, Some(&seed)) =
                    (plan.experiments.sample_efficiency, s.sample_efficiency, seeds.first())
                {
                    for n in prepared[ti].sample_sizes() {
                        jobs.push((rank, (ti, s.name, seed, Some(n))));
                    }
                }
            }
        }
    }
    jobs.sort_by_key(|j| j.0);
    let jobs: Vec<_> = jobs.into_iter().map(|j| j.1).collect();
    let (shard, shards) = plan.shard;
    let mine: Vec<_> = jobs.into_iter().enumerate().filter(|(i, _)| i % shards == shard).map(|(_, j)| j).collect();
    let run_job = |&(ti, solver, seed, size): &(usize, &str, u64, Option<usize>)| -> Result<RunOutcome, SuiteError> {
        let task = tasks[ti];
        let mut name = driftbench_core::record::record_file_name(task.id(), solver, seed, &plan.profile.name);
        if let Some(n) = size {
            name = format!("{}__n{n}.json", name.trim_end_matches(".json"));
        }
        let path = plan.out.join(name);
        if plan.resume && path.exists() {
            if let Ok(record) = RunRecord::read(&path) {
                if record.profile == plan.profile && record.test_source == prepared[ti].test_source() {
                    return Ok(RunOutcome { record, path, resumed: true });
                }
            }
        }
        let record = match size {
            None => prepared[ti].run(solver, seed, provenance, progress)?,
            Some(n) => prepared[ti].run_sample(solver, seed, n, provenance, progress)?,
        };
        let path = record.write(&plan.out)?;
        Ok(RunOutcome { record, path, resumed: false })
    };
    // Greedy list scheduling: each worker takes the next job in order as soon as it is free. With the long
    // network jobs first this packs the runs far better than splitting the list in halves up front.
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<RunOutcome, SuiteError>>>> = mine.iter().map(|_| Mutex::new(None)).collect();
    rayon::scope(|scope| {
        for _ in 0..rayon::current_num_threads().min(mine.len()) {
            scope.spawn(|_| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = mine.get(i) else { break };
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(run_job(job));
            });
        }
    });
    slots.into_iter().map(|slot| slot.into_inner().unwrap_or_else(|e| e.into_inner()).expect("every job ran")).collect()
}

/// Provenance of this process: version, git commit (with `-dirty` for uncommitted changes), rustc, OS, CPU, its
/// caches and the instruction-set level of the matrix kernels.
pub fn provenance(threads: usize) -> Provenance {
    let cmd = |prog: &str, args: &[&str]| {
        std::process::Command::new(prog)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let git_commit = cmd("git", &["rev-parse", "HEAD"]).map(|c| {
        let dirty = cmd("git", &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        if dirty {
            format!("{c}-dirty")
        } else {
            c
        }
    });
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|s| s.trim().to_string())
    });
    Provenance {
        version: env!("CARGO_PKG_VERSION").into(),
        git_commit,
        rustc: cmd("rustc", &["--version"]),
        os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        cpu,
        threads,
        cpu_caches: driftbench_nets::kernels::cpu_caches(),
        simd: Some(driftbench_nets::kernels::gemm_kernel().into()),
    }
}

/// Generates the canonical test sets of `tasks` into `dir` and updates its manifest.
pub fn generate_datasets(
    tasks: &[&dyn DynTask],
    dir: &Path,
    n: usize,
) -> Result<Vec<driftbench_core::dataset::SetEntry>, SuiteError> {
    use driftbench_core::dataset::{write_set, Manifest, CANONICAL_SEED, MANIFEST_SCHEMA};
    use driftbench_core::Cell;
    let mut manifest = Manifest::load(dir)?.unwrap_or(Manifest { schema: MANIFEST_SCHEMA, sets: Vec::new() });
    let mut all = Vec::new();
    for task in tasks {
        let mut entries = Vec::new();
        for cell in Cell::grid(task.axes().len()) {
            let lines = task.generate_lines(cell, n, CANONICAL_SEED)?;
            entries.push(write_set(dir, task.id(), &cell.label(task.axes()), CANONICAL_SEED, &lines)?);
        }
        all.extend(entries.iter().cloned());
        manifest.replace_task(task.id(), entries);
    }
    manifest.save(dir)?;
    Ok(all)
}

/// Checks every file in the manifest against its hash; returns the number of sets checked.
pub fn verify_datasets(dir: &Path) -> Result<usize, SuiteError> {
    let manifest = driftbench_core::dataset::Manifest::load(dir)?.ok_or_else(|| driftbench_core::Error::Invalid {
        path: dir.join(driftbench_core::dataset::MANIFEST),
        reason: "no manifest: run `driftbench datasets generate`".into(),
    })?;
    for entry in &manifest.sets {
        driftbench_core::dataset::read_set(dir, entry)?;
    }
    Ok(manifest.sets.len())
}
