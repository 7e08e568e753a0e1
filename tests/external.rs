//! Solver programs outside the process, end to end through the command line: the Python example's records are
//! ordinary records that `report` and `compare` accept, the costs are the harness's counts, and a program that
//! crashes loses only its own run.
use driftbench_core::{RunRecord, SolverKind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn driftbench(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftbench")).args(args).current_dir(dir).output().expect("runs")
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn python(rel: &str, args: &str) -> String {
    format!("python3 '{}' {args}", repo(rel).display())
}

fn records(dir: &Path) -> Vec<RunRecord> {
    driftbench_core::validate::read_dir(dir).unwrap()
}

/// (successes, unanswered) per cell.
fn counts(r: &RunRecord) -> Vec<(u64, u64)> {
    r.cells.iter().map(|c| (c.successes, c.no_answer)).collect()
}

fn ok(out: &Output) {
    assert!(out.status.success(), "failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

fn run_tiny(task: &str, externals: &[String], extra: &[&str], dir: &Path) -> Output {
    let mut args = vec!["run", "--task", task, "--profile", "tiny", "--generated", "--out", "runs", "--no-report"];
    for e in externals {
        args.extend(["--external", e.as_str()]);
    }
    args.extend(extra);
    driftbench(&args, dir)
}

#[test]
fn the_python_nearest_neighbour_writes_records_that_report_and_compare_accept() {
    let d = tempfile::tempdir().unwrap();
    let ext = format!("pynn={}", python("clients/python/examples/nearest.py", ""));
    ok(&run_tiny(
        "sorting",
        &[ext],
        &["--seeds", "1,2,3", "--solver", "nearest-list", "--experiment", "drift"],
        d.path(),
    ));
    let recs = records(&d.path().join("runs"));
    let ours: Vec<&RunRecord> = recs.iter().filter(|r| r.solver == "pynn").collect();
    assert_eq!(ours.len(), 3, "one record per seed");
    for r in &ours {
        assert_eq!(r.kind, SolverKind::External);
        let program = r.provenance.external.as_ref().unwrap();
        assert_eq!((program.name.as_str(), program.version.as_str()), ("nearest", "1.0"));
        assert!(r.config["command"].as_str().unwrap().contains("nearest.py"));
        let files = r.config["files"].as_object().unwrap();
        assert_eq!(files.len(), 1, "the script's hash is recorded: {files:?}");
        assert_eq!(r.training.examples, 300);
        // The Python program is the built-in nearest-list baseline written again: the same answers, cell by cell.
        let twin = recs.iter().find(|b| b.solver == "nearest-list" && b.seed == r.seed).unwrap();
        assert_eq!(counts(r), counts(twin), "seed {}", r.seed);
        let x = &r.training.extra;
        let split = x["external_harness_s"] + x["external_pipe_s"] + x["external_solver_s"];
        assert!((split - x["external_total_s"]).abs() < 1e-6 * x["external_total_s"].max(1.0) + 1e-9);
    }
    ok(&driftbench(&["report", "--in", "runs", "--out", "rep"], d.path()));
    let summary = std::fs::read_to_string(d.path().join("rep/summary.md")).unwrap();
    assert!(summary.contains("pynn") && summary.contains("external"), "{summary}");
    ok(&driftbench(&["compare", "runs", "runs"], d.path()));
    // --resume takes every record as done (same command, same script hash).
    let ext = format!("pynn={}", python("clients/python/examples/nearest.py", ""));
    let again = run_tiny("sorting", &[ext], &["--seeds", "1,2,3", "--resume"], d.path());
    ok(&again);
    assert_eq!(String::from_utf8_lossy(&again.stdout).matches("(resumed)").count(), 3);
}

#[test]
fn rocket_trials_and_navigation_steps_are_counted_by_the_harness() {
    let d = tempfile::tempdir().unwrap();
    let ext = format!("pynn={}", python("clients/python/examples/nearest.py", ""));
    ok(&run_tiny("rocket", &[ext], &["--solver", "nearest-neighbour", "--experiment", "drift"], d.path()));
    let recs = records(&d.path().join("runs"));
    let (builtin, ours) = (&recs[0], &recs[1]);
    assert_eq!((builtin.solver.as_str(), ours.solver.as_str()), ("nearest-neighbour", "pynn"));
    // The recorded launches (one simulated trial per training instance), as the built-in baseline gets them, and
    // the same answers from them.
    assert_eq!(ours.training.trials, 300);
    assert_eq!(ours.training.trials, builtin.training.trials);
    assert_eq!(counts(ours), counts(builtin));

    let d = tempfile::tempdir().unwrap();
    let ext = format!("walker={}", python("crates/external/tests/fixtures/explore.py", ""));
    ok(&run_tiny("navigation", &[ext], &["--experiment", "drift"], d.path()));
    let r = &records(&d.path().join("runs"))[0];
    let x = &r.training.extra;
    // The program counted the deaths it saw in the harness's replies; the harness counted them too.
    assert!(r.training.deaths > 0, "random walks die in traffic");
    assert_eq!(r.training.deaths as f64, x["reported_deaths_seen"]);
    assert_eq!(x["external_env_steps"], x["reported_steps_taken"]);
    assert_eq!(r.training.trials as f64, x["external_episodes"]);
}

#[test]
fn a_crashing_program_loses_only_its_own_run() {
    let d = tempfile::tempdir().unwrap();
    let good = format!("good={}", python("crates/external/tests/fixtures/echo.py", ""));
    let bad = format!("bad={}", python("crates/external/tests/fixtures/misbehave.py", "exit"));
    let out = run_tiny("sorting", &[good, bad], &["--solver", "symbolic", "--threads", "1"], d.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("`bad`") && err.contains("exited early") && err.contains("no model file"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let names: Vec<String> = records(&d.path().join("runs")).into_iter().map(|r| r.solver).collect();
    assert_eq!(names, ["good", "symbolic"]);
    let files: Vec<_> = std::fs::read_dir(d.path().join("runs")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files.len(), 2, "no partial record or temporary file: {files:?}");
}

#[test]
fn bad_external_arguments_are_refused_before_any_work() {
    let d = tempfile::tempdir().unwrap();
    for (ext, needle) in [
        ("python3 x.py", "NAME=COMMAND"),
        ("Big=python3 x.py", "lowercase"),
        ("symbolic=python3 x.py", "name is taken"),
    ] {
        let out = run_tiny("sorting", &[ext.to_string()], &[], d.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(needle), "{ext}: {err}");
    }
    let twice = ["a=python3 x.py".to_string(), "a=python3 y.py".to_string()];
    let err = String::from_utf8_lossy(&run_tiny("sorting", &twice, &[], d.path()).stderr).to_string();
    assert!(err.contains("given twice"), "{err}");
    assert!(!d.path().join("runs").exists());
}
