//! The `driftbench` command line: a thin layer over the library crates.
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use driftbench::{
    generate_datasets, provenance, registry, run_suite, select_tasks, verify_datasets, Experiments, RunPlan,
};
use driftbench_core::bench::TestSource;
use driftbench_core::Profile;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

// candle allocates a fresh buffer per op; mimalloc avoids the page faults glibc malloc turns that into.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    List,
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
        /// Budget profile.
        #[arg(long, default_value = "quick")]
        profile: String,
        /// Canonical test sets folder.
        #[arg(long, default_value = "datasets")]
        datasets: PathBuf,
        /// Output SVG file.
        #[arg(long, default_value = "episode.svg")]
        out: PathBuf,
    },
    /// Run the registry-wide checks on every task (determinism, validity, symbolic solver, levels, and the
    /// contract at the edges of the instance type).
    Check {
        /// Instances per cell.
        #[arg(long, default_value_t = 200)]
        n: usize,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Task id or name (repeatable; default: every task).
    #[arg(long)]
    task: Vec<String>,
    /// Solver name (repeatable; default: every solver).
    #[arg(long)]
    solver: Vec<String>,
    /// Comma-separated seeds (default: the profile's).
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
    /// Budget profile: quick, full or tiny.
    #[arg(long, default_value = "quick")]
    profile: String,
    /// Records folder.
    #[arg(long, default_value = "results/runs")]
    out: PathBuf,
    /// Report folder (the report is rebuilt from every record in --out).
    #[arg(long, default_value = "results")]
    report: PathBuf,
    /// Skip the report.
    #[arg(long)]
    no_report: bool,
    /// Canonical test sets folder.
    #[arg(long, default_value = "datasets")]
    datasets: PathBuf,
    /// Ignore the canonical test sets and generate fresh ones with the profile's size.
    #[arg(long)]
    generated: bool,
    /// Skip runs whose record already exists with the same profile and test sets.
    #[arg(long)]
    resume: bool,
    /// Run only shard I of N of the job list, as `I/N` (0-based); merge by reporting over the records folder.
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
    /// Check every test set against the manifest's hashes.
    Verify {
        #[arg(long, default_value = "datasets")]
        dir: PathBuf,
    },
}

fn main() {
    // Before any thread exists: see driftbench_nets::configure_cpu_threads.
    driftbench_nets::configure_cpu_threads();
    if let Err(e) = real_main() {
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

fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let (i, n) = s.split_once('/').with_context(|| format!("shard `{s}` is not of the form I/N"))?;
    let (i, n): (usize, usize) = (i.trim().parse().context("shard index")?, n.trim().parse().context("shard count")?);
    if n == 0 || i >= n {
        bail!("shard {i}/{n} is out of range: need 0 <= I < N");
    }
    Ok((i, n))
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    let threads = cli.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if threads == 0 {
        bail!("--threads must be at least 1");
    }
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().context("starting the thread pool")?;
    let reg = registry();
    match cli.command {
        Command::List => {
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
                for a in t.axes() {
                    let _ = writeln!(out, "    {}: {}", a.name, a.description);
                    for (l, d) in a.levels.iter().enumerate() {
                        let _ = writeln!(out, "      L{l}: {d}");
                    }
                }
            }
            print_out(&out)?;
        }
        Command::Run(args) => run(args, threads, cli.quiet, &reg)?,
        Command::Report { input, out } => {
            let files = report(&input, &out, default_readme(&out))?;
            println!("wrote {} files to {}", files, out.display());
        }
        Command::Datasets { action: DatasetAction::Generate { dir, task, n } } => {
            if n == 0 {
                bail!("--n must be at least 1");
            }
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
        Command::Datasets { action: DatasetAction::Verify { dir } } => {
            let n = verify_datasets(&dir)?;
            println!("{n} test sets match the manifest in {}", dir.display());
        }
        Command::Sample { task, axis, level, n, seed } => {
            let t = select_tasks(&reg, &[task])?[0];
            let cell = driftbench_core::bench::parse_cell(t, axis.as_deref(), level)?;
            let mut out = t.generate_lines(cell, n, seed)?.join("\n");
            out.push('\n');
            print_out(&out)?;
        }
        Command::Show { task, solver, seed, axis, level, index, profile, datasets, out } => {
            let t = select_tasks(&reg, &[task])?[0];
            let cell = driftbench_core::bench::parse_cell(t, axis.as_deref(), level)?;
            let profile = Profile::by_name(&profile)
                .with_context(|| format!("unknown profile `{profile}` (profiles: quick, full, tiny)"))?;
            if !t.solvers().iter().any(|s| s.name == solver) {
                let known: Vec<&str> = t.solvers().iter().map(|s| s.name).collect();
                bail!("unknown solver `{solver}` for {} (solvers: {})", t.id(), known.join(", "));
            }
            let prepared = t.prepare(&TestSource::Canonical(datasets), &profile)?;
            let svg =
                prepared.show(&solver, seed, cell, index)?.with_context(|| format!("{} draws no pictures", t.id()))?;
            driftbench_core::record::write_atomic(&out, svg.as_bytes())?;
            println!("wrote {}", out.display());
        }
        Command::Check { n } => {
            for t in &reg {
                t.self_check(1, n).map_err(|e| anyhow::anyhow!("{}: {e}", t.id()))?;
                let edges = t.edge_check(2, n).map_err(|e| anyhow::anyhow!("{}: {e}", t.id()))?;
                println!(
                    "{}: ok ({} edge instances accepted and solved, {} rejected with a named field)",
                    t.id(),
                    edges.accepted,
                    edges.rejected
                );
            }
        }
    }
    Ok(())
}

fn report(input: &std::path::Path, out: &std::path::Path, readme: Option<&std::path::Path>) -> Result<usize> {
    driftbench_core::bench::require_dir(input, "records folder")?;
    let records = driftbench_core::record::read_dir(input)?;
    if records.is_empty() {
        return Err(driftbench_report::ReportError::Empty(input.display().to_string()).into());
    }
    let files = driftbench_report::write(&records, out)?;
    // The README's headline table is generated too, between its markers, so it never drifts from results/.
    if let Some(path) = readme.filter(|p| p.exists()) {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        if let Some(new) = driftbench_report::splice_readme(&text, &files) {
            driftbench_core::record::write_atomic(path, new.as_bytes())?;
        }
    }
    Ok(files.len())
}

/// The README to refresh: only when the report goes to the default `results/` folder of this checkout.
fn default_readme(out: &std::path::Path) -> Option<&'static std::path::Path> {
    (out == std::path::Path::new("results")).then_some(std::path::Path::new("README.md"))
}

fn run(args: RunArgs, threads: usize, quiet: bool, reg: &[Box<dyn driftbench_core::bench::DynTask>]) -> Result<()> {
    let profile = Profile::by_name(&args.profile)
        .with_context(|| format!("unknown profile `{}` (profiles: quick, full, tiny)", args.profile))?;
    let seeds = if args.seeds.is_empty() { profile.seeds.clone() } else { args.seeds.clone() };
    let tasks = select_tasks(reg, &args.task)?;
    let source = if args.generated {
        TestSource::Generated { n: profile.test_per_cell }
    } else {
        TestSource::Canonical(args.datasets.clone())
    };
    let plan = RunPlan {
        solvers: args.solver.clone(),
        seeds,
        profile,
        source,
        out: args.out.clone(),
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
    let outcomes = run_suite(&tasks, &plan, &provenance(threads), &progress)?;
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
    for t in &tasks {
        let core_s: f64 = outcomes
            .iter()
            .filter(|o| o.record.task == t.id() && !o.resumed)
            .map(|o| o.record.timing.train_s + o.record.timing.eval_s)
            .sum();
        println!("{}: {core_s:.1} core-seconds of training and evaluation", t.id());
    }
    println!(
        "{} runs in {wall:.1} s wall time on {threads} threads; records in {}",
        outcomes.len(),
        args.out.display()
    );
    if !args.no_report {
        let n = report(&args.out, &args.report, default_readme(&args.report))?;
        println!("report: {n} files in {}", args.report.display());
    }
    Ok(())
}
