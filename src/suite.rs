//! The suite runner: every (task, solver, seed) job of a plan, in parallel, one record each.
use crate::{profiles::check_profiles, registry::repeated, SuiteError};
use driftbench_core::bench::{DynTask, Prepared, Progress, TestSource};
use driftbench_core::{Profile, Provenance, RunRecord, SolverKind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

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
