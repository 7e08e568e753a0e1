//! The `driftbench` crate: the task registry and the suite runner behind the CLI.
//!
//! [`registry`] is the one list a new task is added to; everything else (the CLI, records, report, benches)
//! reads the tasks from it.
use driftbench_core::bench::{DynTask, Prepared, Progress, TestSource};
use driftbench_core::{Profile, Provenance, RunRecord, SolverKind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

// So that the command line's code names the crate's items as a dependent crate would (`driftbench::registry`).
extern crate self as driftbench;

mod check;
pub mod cli;
pub mod cost;
mod entry;
pub use check::{check_tasks, TaskCheck};
pub use entry::{Entry, GridPolicy, NoShape, Policy, PolicyShaped, Seq, Vector};

/// Every registered task. Adding a task means adding one line here: an [`Entry`] with the learning shape and
/// experiments its capability traits allow (see [`entry`](crate::Entry)).
pub fn registry() -> Vec<Box<dyn DynTask>> {
    vec![
        Entry::new(driftbench_tasks::Sorting).seq().attacks().learners(driftbench_search::sorting::learners()).build(),
        Entry::new(driftbench_tasks::Rocket).vec().attacks().learners(driftbench_search::rocket::learners()).build(),
        Entry::new(driftbench_tasks::Navigation)
            .policy()
            .grid()
            .attacks()
            .learners(driftbench_search::navigation::learners())
            .build(),
        Entry::new(driftbench_tasks::NavigationV2)
            .policy()
            .grid()
            .attacks()
            .learners(driftbench_search::navigation::learners_v2())
            .build(),
    ]
}

/// Adds each solver program of `specs` (`--external`) as one more learner of every task `names` selects (every
/// task when empty), so that runs, records, `--resume` and sharding treat it like a built-in solver.
pub fn add_externals(
    reg: &mut [Box<dyn DynTask>],
    names: &[String],
    specs: &[driftbench_core::ExternalSpec],
) -> Result<(), SuiteError> {
    if let Some(value) = repeated(&specs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>()) {
        return Err(SuiteError::Repeated { what: "external solver", value });
    }
    let ids: Vec<&'static str> = select_tasks(reg, names)?.iter().map(|t| t.id()).collect();
    for task in reg.iter_mut().filter(|t| ids.contains(&t.id())) {
        for spec in specs {
            task.add_external(spec)?;
        }
    }
    Ok(())
}

/// Markers around README.md's task table, which [`task_table`] writes from the registry.
pub const TASK_TABLE_MARKERS: (&str, &str) = ("<!-- tasks:begin -->", "<!-- tasks:end -->");

/// README.md's task table, from the registry: each task with its drift axes (and what their farthest level
/// means), its hand-written solver and every learner, so a newly registered task is listed without editing prose.
pub fn task_table(reg: &[Box<dyn DynTask>]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = String::from("| task | drift axes (level 4) | hand-written solver | learners |\n|---|---|---|---|\n");
    for t in reg {
        let axes: Vec<String> =
            t.axes().iter().map(|a| format!("`{}`: {} ({})", a.name, cell(a.description), cell(a.levels[4]))).collect();
        let learners: Vec<String> = t
            .solvers()
            .iter()
            .filter(|s| s.kind != SolverKind::Symbolic)
            .map(|s| {
                let kind = match s.kind {
                    SolverKind::Network => "network",
                    SolverKind::Baseline => "baseline",
                    SolverKind::ProgramSearch => "program search",
                    SolverKind::External => "external",
                    SolverKind::Symbolic => "hand-written",
                };
                format!("`{}` ({kind}): {}", s.name, cell(&s.description))
            })
            .collect();
        out.push_str(&format!(
            "| `{}`: {} | {} | {} | {} |\n",
            t.id(),
            cell(t.description()),
            axes.join("; "),
            cell(t.symbolic_description()),
            learners.join("; ")
        ));
    }
    out
}

/// `readme` with the text between its task-table markers replaced by `table`; `None` without both markers.
pub fn splice_task_table(readme: &str, table: &str) -> Option<String> {
    let (begin, end) = TASK_TABLE_MARKERS;
    let a = readme.find(begin)? + begin.len();
    let b = a + readme[a..].find(end)?;
    Some(format!("{}\n{table}{}", &readme[..a], &readme[b..]))
}

/// A built-in profile by name, or a profile file by path, checked against the registered tasks, with each task's
/// own training-set size for that profile name filled in ([`driftbench_core::Task::train_examples_by_profile`];
/// a size the profile sets itself wins). This is the profile runs use and records hold.
pub fn resolve_profile(name_or_path: &str, reg: &[Box<dyn DynTask>]) -> Result<Profile, SuiteError> {
    let profile = Profile::resolve(name_or_path)?;
    profile.check_tasks(&reg.iter().map(|t| t.id()).collect::<Vec<_>>()).map_err(|e| {
        // A file's error names the file (once); a built-in profile always names known tasks.
        match Profile::by_name(name_or_path) {
            Some(_) => e,
            None => driftbench_core::profile::ProfileError::Invalid { path: name_or_path.into(), source: Box::new(e) },
        }
    })?;
    Ok(with_task_sizes(profile, reg))
}

/// `profile` with each task's own training- and validation-set sizes for its name filled in, where the profile
/// sets none ([`driftbench_core::Task::train_examples_by_profile`], [`driftbench_core::Task::val_examples_by_profile`]).
pub fn with_task_sizes(profile: Profile, reg: &[Box<dyn DynTask>]) -> Profile {
    reg.iter().fold(profile, |p, t| {
        p.with_task_sizes(t.id(), t.train_examples_by_profile())
            .with_task_val_sizes(t.id(), t.val_examples_by_profile())
    })
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
    /// A value given twice where each must be distinct (seeds, tasks, solvers): the job would run twice.
    #[error("{what} `{value}` is given twice")]
    Repeated { what: &'static str, value: String },
    /// A worker-thread count out of range.
    #[error("--threads {threads} is out of range: give 1 to {max} (4 per core of this machine, at least 64)")]
    Threads { threads: usize, max: usize },
    /// More seeds than a run accepts ([`driftbench_core::bounds::SEEDS`]).
    #[error("--seeds lists {count} seeds, more than the {max} a run accepts: {reason}")]
    TooManySeeds { count: usize, max: u64, reason: &'static str },
    /// A records folder that already holds records of a selected task made under another profile: the report
    /// could not pool them, so the run is refused before any training.
    #[error(
        "{folder} already holds {task} records of profile {theirs}, and this run uses {ours}: pass another --out \
         (records of one task from two profiles cannot be reported together)"
    )]
    MixedProfiles { folder: String, task: String, theirs: String, ours: String },
    /// An error from the core crate.
    #[error(transparent)]
    Core(#[from] driftbench_core::Error),
    /// A profile that cannot be used.
    #[error(transparent)]
    Profile(#[from] driftbench_core::profile::ProfileError),
}

/// Refuses a records folder whose existing records of a selected task were made under another profile (a name
/// and its budgets, as the report tells profiles apart).
fn check_profiles(out: &Path, tasks: &[&dyn DynTask], profile: &Profile) -> Result<(), SuiteError> {
    if !out.is_dir() {
        return Ok(());
    }
    let label = |p: &Profile| format!("`{}` (hash {})", p.name, p.short_hash());
    let ours = profile.hash();
    let entries = std::fs::read_dir(out)
        .map_err(|e| driftbench_core::Error::io("reading records folder", out, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"));
    // A record that does not parse is left to the run (which replaces it) and the report (which names it).
    for r in entries.filter_map(|p| RunRecord::read(&p).ok()) {
        if tasks.iter().any(|t| t.id() == r.task) && r.profile.hash() != ours {
            return Err(SuiteError::MixedProfiles {
                folder: out.display().to_string(),
                task: r.task.clone(),
                theirs: label(&r.profile),
                ours: label(profile),
            });
        }
    }
    Ok(())
}

/// The first value of `values` that occurs twice, as text (in one pass: a run may list many seeds).
fn repeated<T: std::hash::Hash + Eq + std::fmt::Display>(values: &[T]) -> Option<String> {
    driftbench_core::bounds::first_repeat(values).map(|v| v.to_string())
}

/// A task id split into its name and version (`("sorting", 2)` for `sorting-v2`); `None` without a `-vN` suffix.
pub fn task_version(id: &str) -> Option<(&str, u32)> {
    let (base, v) = id.rsplit_once("-v")?;
    Some((base, v.parse().ok()?))
}

/// Whether a newer version of `id`'s task is registered (`sorting-v1` once `sorting-v2` is): superseded tasks stay
/// runnable by their full id and their records and datasets stay readable, but the default suite runs only the
/// newest version of each task.
pub fn superseded(reg: &[Box<dyn DynTask>], id: &str) -> bool {
    let Some((base, version)) = task_version(id) else { return false };
    reg.iter().any(|t| task_version(t.id()).is_some_and(|(b, v)| b == base && v > version))
}

/// Finds tasks by id or by id without its version suffix (`sorting` for the newest registered `sorting-vN`). No
/// names: the newest version of every task (the default suite). A task named twice (as `sorting` and
/// `sorting-v2`, say) is an error.
pub fn select_tasks<'a>(reg: &'a [Box<dyn DynTask>], names: &[String]) -> Result<Vec<&'a dyn DynTask>, SuiteError> {
    if names.is_empty() {
        return Ok(reg.iter().filter(|t| !superseded(reg, t.id())).map(|t| t.as_ref()).collect());
    }
    let tasks: Vec<&dyn DynTask> = names
        .iter()
        .map(|name| {
            reg.iter()
                .find(|t| {
                    t.id() == name
                        || (task_version(t.id()).is_some_and(|(base, _)| base == name) && !superseded(reg, t.id()))
                })
                .map(|t| t.as_ref())
                .ok_or_else(|| SuiteError::UnknownTask {
                    name: name.clone(),
                    known: reg.iter().map(|t| t.id()).collect::<Vec<_>>().join(", "),
                })
        })
        .collect::<Result<_, _>>()?;
    let ids: Vec<&str> = tasks.iter().map(|t| t.id()).collect();
    match repeated(&ids) {
        Some(value) => Err(SuiteError::Repeated { what: "task", value }),
        None => Ok(tasks),
    }
}

/// Most worker threads `--threads` accepts: 4 per core of this machine, and at least 64. Each run is
/// single-threaded, so more threads than cores only add waiting, and thousands of threads take seconds to start
/// (tens of thousands fail to).
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    cores.saturating_mul(4).max(64)
}

/// Checks a worker-thread count: between 1 and [`max_threads`].
pub fn check_threads(threads: usize) -> Result<(), SuiteError> {
    let max = max_threads();
    if (1..=max).contains(&threads) {
        Ok(())
    } else {
        Err(SuiteError::Threads { threads, max })
    }
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
    run_suite_with(tasks, plan, provenance, progress, &|_, _, _| {})
}

/// Called as each run of a suite finishes: (its outcome, runs finished so far, runs in this shard).
pub type OnFinish<'a> = &'a (dyn Fn(&RunOutcome, usize, usize) + Sync);

/// [`run_suite`], calling `on_finish` as each run ends (for logs that report finished runs).
pub fn run_suite_with(
    tasks: &[&dyn DynTask],
    plan: &RunPlan,
    provenance: &Provenance,
    progress: Progress,
    on_finish: OnFinish,
) -> Result<Vec<RunOutcome>, SuiteError> {
    let seeds = driftbench_core::bounds::SEEDS;
    if plan.seeds.len() as u64 > seeds.max {
        return Err(SuiteError::TooManySeeds { count: plan.seeds.len(), max: seeds.max, reason: seeds.reason });
    }
    if let Some(value) = repeated(&plan.seeds) {
        return Err(SuiteError::Repeated { what: "seed", value });
    }
    if let Some(value) = repeated(&plan.solvers) {
        return Err(SuiteError::Repeated { what: "solver", value });
    }
    if let Some(value) = repeated(&tasks.iter().map(|t| t.id()).collect::<Vec<_>>()) {
        return Err(SuiteError::Repeated { what: "task", value });
    }
    // Before any work: a records folder that cannot be written would otherwise fail after all the training.
    driftbench_core::record::check_output_dir(&plan.out, "records folder")?;
    check_profiles(&plan.out, tasks, &plan.profile)?;
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
                    SolverKind::Network | SolverKind::External => 0,
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
        let name = driftbench_core::record::record_file_name(
            task.id(),
            solver,
            seed,
            &plan.profile.name,
            size.map(|n| n as u64),
        );
        let path = plan.out.join(name);
        if plan.resume && path.exists() {
            // Done only if the record's own content is this job's: its key, profile, test sets and config (a file
            // name says nothing about what a file holds).
            // Checked as `report` checks it: a record it would refuse is not done.
            let read = RunRecord::read(&path)
                .ok()
                .filter(|r| r.task == task.id() && driftbench_core::validate::check_declared(r, task.axes()).is_ok());
            if let Some(record) = read {
                let key = (
                    task.id().to_string(),
                    solver.to_string(),
                    seed,
                    plan.profile.name.clone(),
                    size.map(|n| n as u64),
                );
                if record.key() == key
                    && record.profile == plan.profile
                    && record.test_source == prepared[ti].test_source()
                    && record.config == prepared[ti].solver_config(solver)?
                {
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
    let finished = AtomicUsize::new(0);
    let run_job = |job: &(usize, &str, u64, Option<usize>)| {
        let outcome = run_job(job);
        if let Ok(o) = &outcome {
            on_finish(o, finished.fetch_add(1, Ordering::Relaxed) + 1, mine.len());
        }
        outcome
    };
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

/// The paths whose contents decide what a run computes: a record names the commit of these, and `-dirty` means
/// they differed from it (results/, docs and the README may change without making a record's code unknown).
pub const CODE_PATHS: [&str; 5] = ["crates", "src", "vendor", "Cargo.toml", "Cargo.lock"];

/// Tracked files under [`CODE_PATHS`] with uncommitted changes, as `git status --porcelain` names them; `None`
/// outside a git checkout (or without git), where no commit can be named at all.
pub fn uncommitted_code() -> Option<Vec<String>> {
    let mut args = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    args.extend(CODE_PATHS);
    let out = std::process::Command::new("git").args(&args).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).lines().map(|l| l.get(3..).unwrap_or(l).to_string()).collect())
}

/// Provenance of this process: version, git commit (with `-dirty` for uncommitted changes under [`CODE_PATHS`]), rustc, OS, CPU, its
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
        if uncommitted_code().is_some_and(|files| !files.is_empty()) {
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
        external: None,
    }
}

/// Generates the canonical test sets of `tasks` into `dir` and updates its manifest.
pub fn generate_datasets(
    tasks: &[&dyn DynTask],
    dir: &Path,
    n: usize,
) -> Result<Vec<driftbench_core::dataset::SetEntry>, SuiteError> {
    use driftbench_core::dataset::{write_set, Manifest, CANONICAL_SEED, MANIFEST_SCHEMA};
    driftbench_core::record::check_output_dir(dir, "datasets folder")?;
    let mut manifest = Manifest::load(dir)?.unwrap_or(Manifest { schema: MANIFEST_SCHEMA, sets: Vec::new() });
    // Generate everything before writing anything, so that a failure leaves the folder as it was.
    let sets: Vec<_> = tasks.iter().map(|t| t.generate_test_sets(n, CANONICAL_SEED)).collect::<Result<_, _>>()?;
    let mut all = Vec::new();
    for (task, sets) in tasks.iter().zip(sets) {
        let mut entries = Vec::new();
        for (cell, lines) in sets {
            entries.push(write_set(dir, task.id(), &cell.label(task.axes()), CANONICAL_SEED, &lines)?);
        }
        all.extend(entries.iter().cloned());
        manifest.replace_task(task.id(), entries);
    }
    manifest.save(dir)?;
    Ok(all)
}

/// Checks a datasets folder completely: the manifest's entries (each cell once, by its own file, inside the
/// folder), every file in the manifest against its hash and line count, and for each of `tasks`, through the
/// loader `run` uses, that the manifest covers every cell, and that every instance parses, passes the task's
/// validation and occurs once in the task's test sets. Returns the number of sets checked.
pub fn verify_datasets(tasks: &[&dyn DynTask], dir: &Path) -> Result<usize, SuiteError> {
    use driftbench_core::dataset::{read_set, Manifest, MANIFEST};
    driftbench_core::bench::require_dir(dir, "datasets folder")?;
    let manifest = Manifest::load(dir)?.ok_or_else(|| driftbench_core::Error::Invalid {
        path: dir.join(MANIFEST),
        reason: "no manifest: run `driftbench datasets generate`".into(),
    })?;
    for entry in &manifest.sets {
        read_set(dir, entry)?;
    }
    for task in tasks {
        // The one loader `run` uses: it parses and validates every instance, needs every cell, and refuses an
        // instance repeated anywhere in the task's sets.
        task.prepare(&TestSource::Canonical(dir.to_path_buf()), &Profile::tiny())?;
    }
    Ok(manifest.sets.len())
}

/// Checks a record against what its task declares, where the task is registered in `reg` (a record of an
/// unregistered task, such as an older version, is left to the checks that need no task).
pub fn check_registered(reg: &[Box<dyn DynTask>], record: &RunRecord) -> Result<(), String> {
    match reg.iter().find(|t| t.id() == record.task) {
        Some(task) => driftbench_core::validate::check_declared(record, task.axes()),
        None => Ok(()),
    }
}

/// Reads every record of a records folder ([`driftbench_core::record::read_dir`]: each checked on its own, no run
/// twice) and checks each against its registered task's axes: what `report`, `compare` and `--resume` trust.
pub fn read_records(dir: &Path, reg: &[Box<dyn DynTask>]) -> Result<Vec<RunRecord>, SuiteError> {
    driftbench_core::bench::require_dir(dir, "records folder")?;
    let records = driftbench_core::record::read_dir(dir)?;
    for r in &records {
        check_registered(reg, r)
            .map_err(|reason| driftbench_core::Error::Invalid { path: dir.join(r.file_name()), reason })?;
    }
    Ok(records)
}

/// Errors in a `--shard` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Neither `I/N`, `slurm` nor `slurm/N`.
    #[error("shard `{0}` is not of the form I/N (0-based), `slurm` or `slurm/N`")]
    Form(String),
    /// A number that does not parse.
    #[error("shard {what} `{value}` is not a non-negative integer")]
    Number {
        /// Which part: `index`, `count`, or a Slurm variable's name.
        what: String,
        /// The text given.
        value: String,
    },
    /// An index outside `0..count`.
    #[error("shard {index}/{count} is out of range: need 0 <= I < N")]
    OutOfRange {
        /// The index.
        index: usize,
        /// The shard count.
        count: usize,
    },
    /// `--shard slurm` outside a Slurm job array.
    #[error(
        "--shard {spec} reads the environment variable {var}, which is not set: run it as a task of a Slurm job \
         array (sbatch --array=0-3 ...), or give the shard as I/N"
    )]
    MissingVar {
        /// The `--shard` value.
        spec: String,
        /// The missing variable.
        var: &'static str,
    },
    /// `--shard slurm` in an array whose task ids are not `MIN..MIN+COUNT`.
    #[error(
        "Slurm array task {id} is not one of the {count} contiguous ids from {min} (SLURM_ARRAY_TASK_MIN): submit a \
         range such as --array=0-{last}, or give the total as --shard slurm/N to resubmit only some indices"
    )]
    NotContiguous {
        /// SLURM_ARRAY_TASK_ID.
        id: usize,
        /// SLURM_ARRAY_TASK_MIN.
        min: usize,
        /// SLURM_ARRAY_TASK_COUNT.
        count: usize,
        /// The last id of a contiguous array from 0 of that size.
        last: usize,
    },
}

/// Parses a `--shard` value into (index, count), 0-based:
/// - `I/N`: shard `I` of `N`;
/// - `slurm`: this Slurm array task, `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`
///   (`SLURM_ARRAY_TASK_MIN` is 0 when unset), for an array submitted as a range such as `--array=0-3`;
/// - `slurm/N`: shard `SLURM_ARRAY_TASK_ID` of `N`, for resubmitting only some indices (`--array=2`).
///
/// `env` looks up an environment variable (`|k| std::env::var(k).ok()` in the CLI).
pub fn parse_shard(spec: &str, env: impl Fn(&str) -> Option<String>) -> Result<(usize, usize), ShardError> {
    let number = |what: &str, value: &str| {
        value.trim().parse::<usize>().map_err(|_| ShardError::Number { what: what.into(), value: value.into() })
    };
    let var =
        |name: &'static str| -> Result<Option<usize>, ShardError> { env(name).map(|v| number(name, &v)).transpose() };
    let required = |name: &'static str| -> Result<usize, ShardError> {
        var(name)?.ok_or_else(|| ShardError::MissingVar { spec: spec.trim().into(), var: name })
    };
    let (index, count) = match spec.trim().split_once('/') {
        None if spec.trim() == "slurm" => {
            let id = required("SLURM_ARRAY_TASK_ID")?;
            let count = required("SLURM_ARRAY_TASK_COUNT")?;
            let min = var("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            match id.checked_sub(min).filter(|i| *i < count) {
                Some(index) => (index, count),
                None => return Err(ShardError::NotContiguous { id, min, count, last: count.saturating_sub(1) }),
            }
        }
        Some((i, n)) if i.trim() == "slurm" => (required("SLURM_ARRAY_TASK_ID")?, number("count", n)?),
        Some((i, n)) => (number("index", i)?, number("count", n)?),
        None => return Err(ShardError::Form(spec.into())),
    };
    if count == 0 || index >= count {
        return Err(ShardError::OutOfRange { index, count });
    }
    Ok((index, count))
}

#[cfg(test)]
mod tests {
    use super::{parse_shard, ShardError};

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(name, _)| *name == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn explicit_shards_parse_and_are_range_checked() {
        assert_eq!(parse_shard("2/4", env(&[])), Ok((2, 4)));
        assert_eq!(parse_shard(" 0 / 1 ", env(&[])), Ok((0, 1)));
        assert_eq!(parse_shard("4/4", env(&[])), Err(ShardError::OutOfRange { index: 4, count: 4 }));
        assert_eq!(parse_shard("0/0", env(&[])), Err(ShardError::OutOfRange { index: 0, count: 0 }));
        assert!(matches!(parse_shard("x/4", env(&[])), Err(ShardError::Number { .. })));
        assert!(matches!(parse_shard("-1/4", env(&[])), Err(ShardError::Number { .. })));
        assert_eq!(parse_shard("3", env(&[])), Err(ShardError::Form("3".into())));
    }

    #[test]
    fn slurm_reads_the_array_task_variables() {
        let vars = [("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_MIN", "0")];
        assert_eq!(parse_shard("slurm", env(&vars)), Ok((3, 4)));
        // An array numbered from 1 (--array=1-4) still gives shards 0..4.
        let from_one = [("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_MIN", "1")];
        assert_eq!(parse_shard("slurm", env(&from_one)), Ok((0, 4)));
        // Without SLURM_ARRAY_TASK_MIN the ids count from 0.
        assert_eq!(parse_shard("slurm", env(&vars[..2])), Ok((3, 4)));
        // slurm/N: the id is the shard, whatever the array's own size (resubmitting one index).
        let one = [("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "1"), ("SLURM_ARRAY_TASK_MIN", "2")];
        assert_eq!(parse_shard("slurm/4", env(&one)), Ok((2, 4)));
        assert_eq!(parse_shard("slurm/2", env(&one)), Err(ShardError::OutOfRange { index: 2, count: 2 }));
    }

    #[test]
    fn slurm_outside_an_array_names_the_missing_variable() {
        let err = parse_shard("slurm", env(&[])).unwrap_err();
        assert_eq!(err, ShardError::MissingVar { spec: "slurm".into(), var: "SLURM_ARRAY_TASK_ID" });
        assert!(err.to_string().contains("SLURM_ARRAY_TASK_ID"), "{err}");
        let err = parse_shard("slurm", env(&[("SLURM_ARRAY_TASK_ID", "0")])).unwrap_err();
        assert!(err.to_string().contains("SLURM_ARRAY_TASK_COUNT"), "{err}");
        let err = parse_shard("slurm/4", env(&[])).unwrap_err();
        assert!(err.to_string().contains("--shard slurm/4 reads the environment variable SLURM_ARRAY_TASK_ID"));
        let bad = [("SLURM_ARRAY_TASK_ID", "two"), ("SLURM_ARRAY_TASK_COUNT", "4")];
        let err = parse_shard("slurm", env(&bad)).unwrap_err();
        assert!(err.to_string().contains("SLURM_ARRAY_TASK_ID `two`"), "{err}");
    }

    #[test]
    fn slurm_rejects_a_gappy_array() {
        // --array=0,5: the second task has id 5 but the array has only 2 tasks.
        let vars = [("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_COUNT", "2"), ("SLURM_ARRAY_TASK_MIN", "0")];
        let err = parse_shard("slurm", env(&vars)).unwrap_err();
        assert_eq!(err, ShardError::NotContiguous { id: 5, min: 0, count: 2, last: 1 });
        assert!(err.to_string().contains("--shard slurm/N"), "{err}");
    }
}
