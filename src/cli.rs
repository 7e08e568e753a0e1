//! The `driftbench` command line: a thin layer over the library crates, as a library call ([`main_with`]) so that
//! a crate of your own tasks gets every command for the built-in tasks and its own (`templates/task-crate`).
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use driftbench::{
    generate_datasets, provenance, registry, run_suite_with, select_tasks, verify_datasets, Experiments, RunPlan,
};
use driftbench_core::bench::TestSource;
use driftbench_core::Profile;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

// The allocator (mimalloc, purging off) is declared in driftbench-nets (`driftbench_nets::alloc`), so that this
// binary, the benches, the examples and the tests train on the same one.

#[derive(Parser)]
#[command(
    name = "driftbench",
    version,
    about = "How do symbolic solvers and neural networks generalise as test inputs drift from training data?"
)]
struct Cli {
    /// Worker threads (default: all cores). Each training run uses one thread; runs go in parallel.
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List tasks, their solvers, drift axes and what each level means.
    List {
        /// Print the built-in budget profiles as TOML instead (copy one to start a profile file).
        #[arg(long)]
        profiles: bool,
    },
    /// Train and evaluate solvers; write one record per (task, solver, seed), then the report.
    Run(RunArgs),
    /// Turn run records into Markdown and CSV tables.
    Report {
        /// Records folder.
        #[arg(long = "in", default_value = "results/runs")]
        input: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "results")]
        out: PathBuf,
    },
    /// Canonical test sets.
    Datasets {
        #[command(subcommand)]
        action: DatasetAction,
    },
    /// Print generated instances of one drift cell as JSON Lines (to look at what a level means).
    Sample {
        /// Task id or name.
        #[arg(long)]
        task: String,
        /// Drift axis (not needed for level 0).
        #[arg(long)]
        axis: Option<String>,
        /// Drift level, 0-4.
        #[arg(long, default_value_t = 0)]
        level: u32,
        /// How many.
        #[arg(long, default_value_t = 5)]
        n: usize,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print instance I of the cell's canonical test set instead (the indices the task pages list).
        #[arg(long)]
        index: Option<usize>,
        /// Canonical test sets folder (with --index).
        #[arg(long, default_value = "datasets")]
        datasets: PathBuf,
    },
    /// Train a solver (deterministically, as `run` does) and draw its answer on one test instance as SVG.
    Show {
        /// Task id or name.
        #[arg(long)]
        task: String,
        /// Solver name.
        #[arg(long)]
        solver: String,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Drift axis (not needed for level 0).
        #[arg(long)]
        axis: Option<String>,
        /// Drift level, 0-4.
        #[arg(long, default_value_t = 0)]
        level: u32,
        /// Which instance of the cell's test set.
        #[arg(long, default_value_t = 0)]
        index: usize,
        /// Budget profile: quick, full, tiny, or the path of a .toml profile file.
        #[arg(long, default_value = "quick")]
        profile: String,
        /// Canonical test sets folder.
        #[arg(long, default_value = "datasets")]
        datasets: PathBuf,
        /// Output SVG file.
        #[arg(long, default_value = "episode.svg")]
        out: PathBuf,
    },
    /// Compare two result sets: success per (task, solver, cell), B − A with its 95% interval and a significance
    /// flag (Holm-corrected two-proportion tests).
    Compare(CompareArgs),
    /// Run the registry-wide checks on every task (determinism, validity, symbolic solver, levels, and the
    /// contract at the edges of the instance type).
    Check {
        /// Instances per cell.
        #[arg(long, default_value_t = 200)]
        n: usize,
        /// Task id or name (repeatable or comma-separated; default: every task).
        #[arg(long, value_delimiter = ',')]
        task: Vec<String>,
        /// Budget profile whose test, validation and training sizes the checks use.
        #[arg(long, default_value = "quick")]
        profile: String,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Task id or name (repeatable; default: every task).
    #[arg(long)]
    task: Vec<String>,
    /// Solver name (repeatable; default: every solver, or only the --external ones when there are any).
    #[arg(long)]
    solver: Vec<String>,
    /// A solver program outside driftbench, as NAME=COMMAND or NAME=FILE.toml (repeatable), spoken to over the
    /// driftbench-solver/1 protocol (docs/external-solvers.md). Its records go to runs/<profile>/ like any
    /// selected run.
    #[arg(long, value_parser = parse_external)]
    external: Vec<driftbench_core::ExternalSpec>,
    /// Comma-separated seeds (default: the profile's).
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
    /// Budget profile: quick, full, tiny, or the path of a .toml profile file (`driftbench list --profiles`).
    #[arg(long, default_value = "quick")]
    profile: String,
    /// Records folder (default: `results/runs` for the default suite, `runs/<profile>` for anything else).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Report folder, rebuilt from every record in the records folder (default: `results` for the default suite,
    /// `<records folder>/report` for anything else).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Skip the report.
    #[arg(long)]
    no_report: bool,
    /// Also refresh README.md's results table (only with the report in `results`); the default suite does.
    #[arg(long)]
    update_readme: bool,
    /// Canonical test sets folder.
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
    /// Ignore the canonical test sets and generate fresh ones with the profile's size.
    #[arg(long)]
    generated: bool,
    /// Skip runs whose record already exists with the same profile and test sets.
    #[arg(long)]
    resume: bool,
    /// Run only shard I of N of the job list, as `I/N` (0-based), or `slurm` (this Slurm array task; `slurm/N`
    /// for N shards); merge by reporting over the records folder.
    #[arg(long, default_value = "0/1")]
    shard: String,
    /// Experiment (repeatable; default: all): `drift` evaluates every drift cell and attacks level-0 inputs,
    /// `sample-efficiency` retrains on 100, 1,000, ... training instances (first seed).
    #[arg(long, value_enum)]
    experiment: Vec<ExperimentArg>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ExperimentArg {
    Drift,
    SampleEfficiency,
}

#[derive(Subcommand)]
enum DatasetAction {
    /// Write the frozen test instances of every (task, axis, level) and the manifest.
    Generate {
        #[arg(long, default_value = "datasets")]
        dir: PathBuf,
        /// Task (repeatable; default: every task).
        #[arg(long)]
        task: Vec<String>,
        /// Instances per cell.
        #[arg(long, default_value_t = 1000)]
        n: usize,
    },
    /// Seal a task's test sets: record in the manifest that they were generated once its solvers' configurations
    /// were frozen (today's date, the commit), after which they are never regenerated.
    Seal {
        #[arg(long, default_value = "datasets")]
        dir: PathBuf,
        /// Task id or name.
        #[arg(long)]
        task: String,
    },
    /// Check every test set against the manifest's hashes.
    Verify {
        #[arg(long, default_value = "datasets")]
        dir: PathBuf,
    },
}

/// The `driftbench` binary: the command line over the built-in tasks.
pub fn main() {
    main_with(|_| {})
}

/// The command line over the built-in tasks and those `extend` adds to the registry (one
/// `registry.push(Entry::new(MyTask).seq().build())` per task), for a crate's own `main`. Exits with status 1,
/// the error on standard error, when the command fails.
pub fn main_with(extend: impl FnOnce(&mut Vec<Box<dyn driftbench_core::bench::DynTask>>)) {
    // Before any thread exists: see driftbench_nets::configure_cpu_threads.
    driftbench_nets::configure_cpu_threads();
    let mut reg = registry();
    extend(&mut reg);
    if let Err(e) = real_main(reg) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Writes to standard output; a closed pipe (`driftbench list | head`) ends the output quietly.
fn print_out(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other.context("writing to standard output")?),
    }
}

fn parse_external(s: &str) -> Result<driftbench_core::ExternalSpec, String> {
    driftbench_core::ExternalSpec::parse_arg(s).map_err(|e| e.to_string())
}

fn parse_shard(s: &str) -> Result<(usize, usize)> {
    Ok(driftbench::parse_shard(s, |k| std::env::var(k).ok())?)
}

fn real_main(reg: Vec<Box<dyn driftbench_core::bench::DynTask>>) -> Result<()> {
    let ids: Vec<&str> = reg.iter().map(|t| t.id()).collect();
    if let Some(id) = ids.iter().enumerate().find(|(i, id)| ids[..*i].contains(id)).map(|(_, id)| id) {
        bail!("task id `{id}` is registered twice: give the added task another id");
    }
    let cli = Cli::parse();
    let threads = cli.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    driftbench::check_threads(threads)?;
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().context("starting the thread pool")?;
    let mut reg = reg;
    match cli.command {
        Command::List { profiles: true } => print_out(&profiles_toml(&reg))?,
        Command::Compare(args) => compare(args, &reg)?,
        Command::List { profiles: false } => {
            use std::fmt::Write as _;
            let mut out = String::new();
            for t in &reg {
                let _ = writeln!(out, "{}: {}", t.id(), t.description());
                let _ = writeln!(out, "  solvers:");
                for s in t.solvers() {
                    let what = if s.kind == driftbench_core::SolverKind::Symbolic {
                        t.symbolic_description().to_string()
                    } else {
                        s.description
                    };
                    let kind = serde_json::to_value(s.kind).ok().and_then(|v| v.as_str().map(String::from));
                    let _ = writeln!(out, "    {:<20} {:<15} {what}", s.name, kind.unwrap_or_default());
                }
                let _ = writeln!(out, "  metric: success rate, and {}", t.metric_name());
                if !t.limits().is_empty() {
                    let _ = writeln!(out, "  valid instances: {}", t.limits());
                }
                let _ = writeln!(out, "  drift axes (level 0 is the training distribution on every axis):");
                for (i, a) in t.axes().iter().enumerate() {
                    let _ = writeln!(out, "    {}: {}", a.name, a.description);
                    let placement = t.placements().get(i);
                    if let Some(p) = placement {
                        let _ = writeln!(
                            out,
                            "      drifts `{}`; training range {} to {}; distances in {}{}",
                            p.factor,
                            p.training.0,
                            p.training.1,
                            match p.unit {
                                driftbench_core::Spread::Sigma => "standard deviations of level 0 (σ)",
                                driftbench_core::Spread::Range => "widths of the training range beyond its edge",
                            },
                            if p.also_moves.is_empty() {
                                String::new()
                            } else {
                                format!("; also moves by definition: {}", p.also_moves.join(", "))
                            }
                        );
                    }
                    for (l, d) in a.levels.iter().enumerate() {
                        match placement {
                            Some(p) if l > 0 => {
                                let _ = writeln!(out, "      L{l} ({}): {d}", p.label(l as u8));
                            }
                            _ => {
                                let _ = writeln!(out, "      L{l}: {d}");
                            }
                        }
                    }
                }
                let _ = writeln!(out, "  the hand-written solver observes: {}", t.symbolic_observes());
            }
            print_out(&out)?;
        }
        Command::Run(args) => {
            driftbench::add_externals(&mut reg, &args.task, &args.external)?;
            run(args, threads, cli.quiet, &reg)?
        }
        Command::Report { input, out } => {
            let files = report(&input, &out, default_readme(&out), &reg)?;
            println!("wrote {} files to {}", files, out.display());
        }
        Command::Datasets { action: DatasetAction::Generate { dir, task, n } } => {
            check_n(n, &driftbench_core::bounds::TEST_PER_CELL)?;
            let tasks = select_tasks(&reg, &task)?;
            let entries = generate_datasets(&tasks, &dir, n)?;
            let bytes: u64 =
                entries.iter().filter_map(|e| std::fs::metadata(dir.join(&e.file)).ok()).map(|m| m.len()).sum();
            println!(
                "wrote {} test sets ({:.2} MB) and {}",
                entries.len(),
                bytes as f64 / 1e6,
                dir.join("manifest.json").display()
            );
        }
        Command::Datasets { action: DatasetAction::Seal { dir, task } } => {
            let t = select_tasks(&reg, &[task])?[0];
            let seal = driftbench::seal_datasets(t, &dir)?;
            println!(
                "sealed {}'s test sets on {} at {} (sets {})",
                seal.task,
                seal.date,
                seal.commit,
                &seal.sets_blake3[..12]
            );
        }
        Command::Datasets { action: DatasetAction::Verify { dir } } => {
            // Every registered task, superseded versions included: their records stay readable and runnable, so
            // their test sets stay part of the folder.
            let n = verify_datasets(&reg.iter().map(|t| t.as_ref()).collect::<Vec<_>>(), &dir)?;
            println!("{n} test sets match the manifest in {}", dir.display());
        }
        Command::Sample { task, axis, level, index: Some(index), datasets, .. } => {
            let t = select_tasks(&reg, &[task])?[0];
            let cell = driftbench_core::bench::parse_cell(t, axis.as_deref(), level)?;
            let prepared = t.prepare(&TestSource::Canonical(datasets), &load_profile("quick", &reg)?)?;
            let label = cell.label(t.axes());
            let sets = prepared.test_sets();
            let lines = &sets.iter().find(|(l, _)| *l == label).context("every cell has a test set")?.1;
            let line = lines.get(index).with_context(|| {
                format!("--index {index}: the {label} test set of {} has {} instances", t.id(), lines.len())
            })?;
            print_out(&format!("{line}\n"))?;
        }
        Command::Sample { task, axis, level, n, seed, index: None, .. } => {
            let t = select_tasks(&reg, &[task])?[0];
            let cell = driftbench_core::bench::parse_cell(t, axis.as_deref(), level)?;
            if n == 0 {
                bail!("--n must be at least 1");
            }
            // Streamed, so that any --n runs in constant memory; a closed pipe ends the output quietly.
            match t.write_lines(cell, n, seed, &mut std::io::stdout().lock()) {
                Err(driftbench_core::Error::Io { err, .. }) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
        Command::Show { task, solver, seed, axis, level, index, profile, datasets, out } => {
            let t = select_tasks(&reg, &[task])?[0];
            let cell = driftbench_core::bench::parse_cell(t, axis.as_deref(), level)?;
            let profile = load_profile(&profile, &reg)?;
            if !t.solvers().iter().any(|s| s.name == solver) {
                let known: Vec<&str> = t.solvers().iter().map(|s| s.name).collect();
                bail!("unknown solver `{solver}` for {} (solvers: {})", t.id(), known.join(", "));
            }
            if out.is_dir() {
                bail!("--out `{}` is a folder: give the SVG file's name", out.display());
            }
            driftbench_core::record::check_output_dir(out.parent().unwrap_or(&out), "output folder")?;
            let prepared = t.prepare(&TestSource::Canonical(datasets), &profile)?;
            let svg =
                prepared.show(&solver, seed, cell, index)?.with_context(|| format!("{} draws no pictures", t.id()))?;
            driftbench_core::record::write_atomic(&out, svg.as_bytes())?;
            println!("wrote {}", out.display());
        }
        Command::Check { n, task, profile } => {
            check_n(n, &driftbench_core::bounds::CHECK_PER_CELL)?;
            let profile = load_profile(&profile, &reg)?;
            let checks = driftbench::check_tasks(&select_tasks(&reg, &task)?, n, &profile);
            for c in &checks {
                println!("{}: {}", c.id, if c.passed() { "ok" } else { "FAILED" });
                c.failures.iter().for_each(|f| println!("  error: {f}"));
                c.notes.iter().for_each(|note| println!("  {note}"));
            }
            let failed: Vec<&str> = checks.iter().filter(|c| !c.passed()).map(|c| c.id).collect();
            if !failed.is_empty() {
                bail!("{} of {} tasks failed the check: {}", failed.len(), checks.len(), failed.join(", "));
            }
        }
    }
    Ok(())
}

/// Checks a `--n` argument against its bound before any work: `--n must be at least 1`, or the bound's reason.
fn check_n(n: usize, bound: &driftbench_core::bounds::Bound) -> Result<()> {
    match bound.check(n as u64) {
        Err(_) if n == 0 => bail!("--n must be at least 1"),
        Err(reason) => bail!("--n {reason}"),
        Ok(()) => Ok(()),
    }
}

fn report(
    input: &std::path::Path,
    out: &std::path::Path,
    readme: Option<Readme>,
    reg: &[Box<dyn driftbench_core::bench::DynTask>],
) -> Result<usize> {
    let records = driftbench::read_records(input, reg)?;
    if records.is_empty() {
        return Err(driftbench_report::ReportError::Empty(input.display().to_string()).into());
    }
    let files = driftbench_report::write(&records, out)?;
    // The README's headline table is generated too, between its markers, so it never drifts from results/.
    if let Some(Readme { path, block }) = readme.filter(|r| r.path.exists()) {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let text = driftbench_report::splice_readme_block(&text, &files, block.as_deref()).unwrap_or(text);
        // So is its task table, from the registry.
        let text = driftbench::splice_task_table(&text, &driftbench::task_table(reg)).unwrap_or(text);
        driftbench_core::record::write_atomic(path, text.as_bytes())?;
    }
    Ok(files.len())
}

/// The README block a report refreshes: README.md's results table ([`driftbench_report::README_MARKERS`]) for
/// the report in `results/`, its block `results:NAME` for a report in `results/NAME/` (the `full` profile's
/// headline in `results/full/`), left as it is when README.md has no such block.
#[derive(Debug, Clone, PartialEq)]
struct Readme {
    path: &'static Path,
    block: Option<String>,
}

/// The README to refresh: only when the report goes to this checkout's `results/` folder or a folder directly in it.
fn default_readme(out: &std::path::Path) -> Option<Readme> {
    let path = Path::new("README.md");
    if out == Path::new("results") {
        return Some(Readme { path, block: None });
    }
    let mut parts = out.components();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(std::path::Component::Normal(r)), Some(std::path::Component::Normal(name)), None) if r == "results" => {
            let name =
                name.to_str().filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))?;
            Some(Readme { path, block: Some(name.to_string()) })
        }
        _ => None,
    }
}

/// Where a run writes: (records folder, report folder, README to refresh).
///
/// Only the default suite (every task, solver and experiment, the quick profile's seeds, the canonical test sets,
/// unsharded) writes into `results/` and refreshes README.md by default; any other run writes under
/// `runs/<profile>/` unless told where, so a smoke run never overwrites the published results.
fn destinations(args: &RunArgs, profile: &Profile) -> Result<(PathBuf, PathBuf, Option<Readme>)> {
    let default_suite = args.task.is_empty()
        && args.solver.is_empty()
        && args.external.is_empty()
        && args.seeds.is_empty()
        && args.profile == "quick"
        && args.experiment.is_empty()
        && args.shard == "0/1"
        && !args.generated
        && args.datasets == Path::new("datasets");
    let (out, report) = match (&args.out, &args.report) {
        (None, None) if default_suite => (PathBuf::from("results/runs"), PathBuf::from("results")),
        (None, report) => {
            // A profile's name is already safe as a file name (`Profile::check`).
            let out = Path::new("runs").join(&profile.name);
            let report = report.clone().unwrap_or_else(|| out.join("report"));
            (out, report)
        }
        (Some(out), report) => (out.clone(), report.clone().unwrap_or_else(|| out.join("report"))),
    };
    let in_results = report == Path::new("results");
    if args.update_readme && (args.no_report || !in_results) {
        bail!("--update-readme refreshes README.md from the report in `results`: pass --report results (and no --no-report)");
    }
    let readme = ((default_suite || args.update_readme) && in_results)
        .then_some(Readme { path: Path::new("README.md"), block: None })
        .or_else(|| default_readme(&report).filter(|r| r.block.is_some()));
    Ok((out, report, readme))
}

/// Whether `out` lies in this checkout's `results/` however it is written (relative, absolute, with `.` or `..`),
/// judged on the path's words: the folder need not exist yet.
fn under_results(out: &Path) -> bool {
    let lexical = |p: &Path| {
        let mut parts: Vec<std::path::Component> = Vec::new();
        for c in p.components() {
            match c {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir if matches!(parts.last(), Some(std::path::Component::Normal(_))) => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        parts.iter().collect::<PathBuf>()
    };
    match (std::path::absolute(out), std::env::current_dir()) {
        (Ok(abs), Ok(cwd)) => lexical(&abs).starts_with(lexical(&cwd).join("results")),
        _ => out.starts_with("results"),
    }
}

fn run(args: RunArgs, threads: usize, quiet: bool, reg: &[Box<dyn driftbench_core::bench::DynTask>]) -> Result<()> {
    let profile = load_profile(&args.profile, reg)?;
    let seeds = if args.seeds.is_empty() { profile.seeds.clone() } else { args.seeds.clone() };
    let tasks = select_tasks(reg, &args.task)?;
    let (out, report_dir, readme) = destinations(&args, &profile)?;
    if under_results(&out) {
        // The published records (`results/runs`, and a profile's in `results/NAME/runs`) must name the code that
        // made them: a commit, not a commit plus unknown edits.
        if let Some(files) = driftbench::uncommitted_code().filter(|f| !f.is_empty()) {
            bail!(
                "{} is under results/, which holds the published records; they must come from committed code: \
                 commit (or stash) the changes to {} first, or write elsewhere with --out",
                out.display(),
                files.join(", ")
            );
        }
    }
    driftbench_core::record::check_output_dir(&out, "records folder")?;
    if !args.no_report {
        // Before any training: an unusable report folder would otherwise fail only at the end.
        driftbench_core::record::check_output_dir(&report_dir, "report folder")?;
    }
    let source = if args.generated {
        TestSource::Generated { n: profile.test_per_cell }
    } else {
        TestSource::Canonical(args.datasets.clone())
    };
    // With solver programs given, a run without --solver runs only them, not the built-in suite beside them.
    let mut solvers = args.solver.clone();
    if !args.external.is_empty() && solvers.is_empty() {
        solvers = args.external.iter().map(|s| s.name.clone()).collect();
    } else {
        solvers.extend(args.external.iter().map(|s| s.name.clone()));
    }
    let plan = RunPlan {
        solvers,
        seeds,
        profile,
        source,
        out: out.clone(),
        resume: args.resume,
        shard: parse_shard(&args.shard)?,
        experiments: if args.experiment.is_empty() {
            Experiments::ALL
        } else {
            Experiments {
                drift: args.experiment.contains(&ExperimentArg::Drift),
                sample_efficiency: args.experiment.contains(&ExperimentArg::SampleEfficiency),
            }
        },
    };
    let bar = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::hidden())
    } else {
        ProgressBar::new(1000)
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}").expect("template").progress_chars("=> "),
    );
    let last = Mutex::new(String::new());
    let progress = |what: &str, f: f64| {
        let mut l = last.lock().expect("progress lock");
        *l = format!("{what} {:.0}%", f * 100.0);
        bar.set_message(l.clone());
        bar.tick();
    };
    let started = Instant::now();
    let log = RunLog::new(!quiet && !std::io::stderr().is_terminal());
    let outcomes =
        run_suite_with(&tasks, &plan, &provenance(threads), &progress, &|o, done, total| log.finished(o, done, total))?;
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{:<14} {:<26} {:>5} {:>9} {:>8} {:>10} {:>12}",
        "task", "solver", "seed", "train s", "eval s", "L0 succ %", "val exact %"
    );
    let mut outcomes = outcomes;
    outcomes.sort_by(|a, b| a.path.cmp(&b.path));
    for o in &outcomes {
        let r = &o.record;
        println!(
            "{:<14} {:<26} {:>5} {:>9.1} {:>8.1} {:>10.1} {:>12}{}",
            r.task,
            match &r.experiment {
                Some(driftbench_core::record::Experiment::SampleEfficiency { train_examples, .. }) => {
                    format!("{} n={train_examples}", r.solver)
                }
                None => r.solver.clone(),
            },
            r.seed,
            r.timing.train_s,
            r.timing.eval_s,
            100.0 * r.cells[0].rate(),
            r.training.val_exact.map(|v| format!("{:.1}", 100.0 * v)).unwrap_or_else(|| "-".into()),
            if o.resumed { "  (resumed)" } else { "" }
        );
    }
    for o in outcomes.iter().filter(|o| !o.resumed) {
        if let Some(what) = o.record.training.shrunk_sets() {
            eprintln!("warning: {} {} seed {}: {what}", o.record.task, o.record.solver, o.record.seed);
        }
    }
    for t in &tasks {
        let core_s: f64 = outcomes
            .iter()
            .filter(|o| o.record.task == t.id() && !o.resumed)
            .map(|o| o.record.timing.train_s + o.record.timing.eval_s)
            .sum::<f64>()
            // An empty sum is -0.0, which would print as `-0.0 core-seconds`.
            + 0.0;
        println!("{}: {core_s:.1} core-seconds of training and evaluation", t.id());
    }
    println!("{} runs in {wall:.1} s wall time on {threads} threads; records in {}", outcomes.len(), out.display());
    // The whole selection's cost, resumed records included (their time was spent by an earlier invocation), so
    // that a suite finished in several goes still reports what it costs.
    let cost = driftbench::cost::SuiteCost::of(outcomes.iter().map(|o| &o.record));
    for line in cost.lines(wall, threads, 5) {
        println!("{line}");
    }
    let resumed = outcomes.iter().filter(|o| o.resumed).count();
    if resumed > 0 {
        println!(
            "  ({resumed} of the {} records were resumed: their time was spent in an earlier run)",
            outcomes.len()
        );
    }
    if !args.no_report {
        let n = report(&out, &report_dir, readme, reg)?;
        println!("report: {n} files in {}", report_dir.display());
    }
    Ok(())
}

#[derive(clap::Args)]
struct CompareArgs {
    /// Baseline: a records folder (results/runs) or a report folder (results, read from its CSV files).
    a: PathBuf,
    /// The result set to judge against A, in either form.
    b: PathBuf,
    /// Write the Markdown here (atomically) instead of to standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Exit with status 1 when any cell is significantly worse in B.
    #[arg(long)]
    fail_on_regression: bool,
    /// Family-wise significance level of the flags (Holm).
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
}

/// `driftbench compare`: the table to stdout or `--out`, then the regression verdict.
fn compare(args: CompareArgs, reg: &[Box<dyn driftbench_core::bench::DynTask>]) -> Result<()> {
    use driftbench_report::compare::{compare, markdown, write, Side};
    // Records are checked as `report` checks them, against the registered tasks' axes too, as they are read.
    let check = |r: &driftbench_core::RunRecord| driftbench::check_registered(reg, r);
    let a = Side::load_checked(&args.a, &check).with_context(|| format!("reading A ({})", args.a.display()))?;
    let b = Side::load_checked(&args.b, &check).with_context(|| format!("reading B ({})", args.b.display()))?;
    let c = compare(a, b, args.alpha)?;
    match &args.out {
        Some(out) => {
            write(&c, out)?;
            println!("wrote {}", out.display());
        }
        None => print_out(&markdown(&c))?,
    }
    let worse = c.regressions().len();
    if args.fail_on_regression && worse > 0 {
        bail!("{worse} of {} cells are significantly worse in B (Holm, alpha {})", c.rows.len(), c.alpha);
    }
    Ok(())
}

/// A built-in profile or a profile file, with its per-task overrides checked against the registry. Every error
/// names the profile or its file once.
fn load_profile(name_or_path: &str, reg: &[Box<dyn driftbench_core::bench::DynTask>]) -> Result<Profile> {
    Ok(driftbench::resolve_profile(name_or_path, reg)?)
}

/// The built-in profiles as one TOML document per profile, each ready to be saved as a file, after a comment
/// that says what every field means.
fn profiles_toml(reg: &[Box<dyn driftbench_core::bench::DynTask>]) -> String {
    let fields = "\
# Budget profiles: save one section as NAME.toml, edit it, run with `--profile NAME.toml`.
#   name                    the profile's name in record file names and reports (default: the file's stem)
#   train_examples          training instances per seed
#   [train_examples_by_task] per-task overrides of train_examples (task id = count)
#   val_examples            validation instances per seed (level 0, held out)
#   [val_examples_by_task]  per-task overrides of val_examples (task id = count)
#   test_per_cell           test instances per cell with --generated (canonical sets have their own size)
#   canonical_per_cell      optional: evaluate a seeded sample of N instances of each canonical set (default: all)
#   max_sample_size         optional: the largest sample-efficiency training set (default: every 100, 1,000, ... below train_examples)
#   seeds                   seeds run when --seeds is not given
#   train_scale             multiplier on every learner's optimisation steps (1.0 = the quick budget)
#   max_epochs              optional cap on passes over the training set, for every network run (left out: no
#                           cap; never below 500 steps; sample-efficiency runs keep the tighter of it and 200)
#   search                  program-search size budget: \"full\" (default) or \"small\"
#   rl_scale                further multiplier on reinforcement learners' episodes (default 1)
# Unknown fields are refused. Per-task sizes shown are the tasks' own for that profile name.
";
    use driftbench_core::bounds as b;
    let bounds = format!(
        "# Upper bounds, refused by name before any work: train_examples {}, val_examples {}, test_per_cell {}, \
         {} seeds,\n#   train_scale {}, rl_scale x train_scale {}, max_epochs {}.\n",
        b::TRAIN_EXAMPLES.max,
        b::VAL_EXAMPLES.max,
        b::TEST_PER_CELL.max,
        b::SEEDS.max,
        b::TRAIN_SCALE.max,
        b::RL_SCALE.max,
        b::MAX_EPOCHS.max
    );
    let resolved = |p: &Profile| driftbench::with_task_sizes(p.clone(), reg);
    let sections: Vec<String> =
        Profile::builtin().iter().map(|p| format!("\n# --- {} ---\n{}", p.name, resolved(p).to_toml())).collect();
    format!("{fields}{bounds}{}", sections.concat())
}

/// Log lines for runs nobody watches (stderr not a terminal): one line per finished run, with the elapsed time
/// and an estimate of what remains.
struct RunLog {
    enabled: bool,
    started: Instant,
}

impl RunLog {
    fn new(enabled: bool) -> Self {
        RunLog { enabled, started: Instant::now() }
    }

    fn finished(&self, o: &driftbench::RunOutcome, done: usize, total: usize) {
        if !self.enabled {
            return;
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        let r = &o.record;
        let what = match &r.experiment {
            Some(driftbench_core::record::Experiment::SampleEfficiency { train_examples, .. }) => {
                format!("{} {} s{} n={train_examples}", r.task, r.solver, r.seed)
            }
            None => format!("{} {} s{}", r.task, r.solver, r.seed),
        };
        let detail = if o.resumed {
            "resumed (record already there)".to_string()
        } else {
            let l0 =
                r.cells.iter().find(|c| c.level == 0).map(|c| format!(", level-0 success {:.1}%", 100.0 * c.rate()));
            format!("train {:.1} s, eval {:.1} s{}", r.timing.train_s, r.timing.eval_s, l0.unwrap_or_default())
        };
        // Runs finish at an average pace; the long network runs go first, so this errs on the long side.
        let left = if done < total {
            format!("; about {} left", hms(elapsed * (total - done) as f64 / done as f64))
        } else {
            "; all done".into()
        };
        eprintln!("[{}] {done}/{total} {what}: {detail}{left}", hms(elapsed));
    }
}

/// Seconds as `h:mm:ss`.
fn hms(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_in_results_or_a_folder_directly_in_it_refreshes_its_readme_block() {
        let block = |p: &str| default_readme(Path::new(p)).map(|r| r.block);
        assert_eq!(block("results"), Some(None));
        assert_eq!(block("results/full"), Some(Some("full".to_string())));
        assert_eq!(block("results/full-ppo"), Some(Some("full-ppo".to_string())));
        for elsewhere in ["runs/full/report", "results/full/deeper", "other/full", "/results/full", "results/a b", ""] {
            assert_eq!(block(elsewhere), None, "{elsewhere}");
        }
    }

    #[test]
    fn the_published_records_folder_is_recognised_however_it_is_written() {
        let cwd = std::env::current_dir().unwrap();
        let abs = cwd.join("results/full/runs");
        for inside in ["results/runs", "./results/full/runs", "runs/../results/x", abs.to_str().unwrap()] {
            assert!(under_results(Path::new(inside)), "{inside}");
        }
        let sibling = cwd.join("results-elsewhere");
        for outside in
            ["runs/quick", "results-old/runs", "results/../runs", "/tmp/results/runs", sibling.to_str().unwrap()]
        {
            assert!(!under_results(Path::new(outside)), "{outside}");
        }
    }
}
