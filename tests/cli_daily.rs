//! Day-to-day commands: profile files, `list --profiles`, log lines without a terminal, `compare`, rocket
//! pictures.
use std::path::Path;
use std::process::{Command, Output};

fn driftbench(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftbench")).args(args).current_dir(dir).output().expect("runs")
}

fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, got success: {err}");
    assert!(err.contains(needle), "stderr lacks `{needle}`:\n{err}");
    assert!(!err.contains("panicked"), "panicked:\n{err}");
}

fn tiny_toml(dir: &Path) -> String {
    let out = driftbench(&["list", "--profiles"], dir);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let tiny = &text[text.find("name = \"tiny\"").expect("tiny is listed")..];
    assert!(text.contains("max_epochs"), "every field is documented: {text}");
    tiny.replace("name = \"tiny\"", "name = \"mine\"")
}

/// Runs the symbolic sorting solver on generated test sets with profile file `mine.toml` into `runs`.
fn run_symbolic(dir: &Path, runs: &str) -> Output {
    let args = ["run", "--task", "sorting-v1", "--solver", "symbolic", "--generated", "--no-report", "--out", runs];
    driftbench(&[&args[..], &["--profile", "mine.toml"]].concat(), dir)
}

#[test]
fn profile_files_are_checked_recorded_and_logged() {
    let d = tempfile::tempdir().unwrap();
    let toml = tiny_toml(d.path());
    std::fs::write(d.path().join("mine.toml"), format!("seeds_per_task = 3\n{toml}")).unwrap();
    fails_with(&run_symbolic(d.path(), "runs"), "unknown field `seeds_per_task`");
    assert!(!d.path().join("runs").exists(), "a refused profile left files behind");

    // A field appended below the per-task table belongs to it: refused as no task.
    std::fs::write(d.path().join("mine.toml"), format!("{toml}max_epochs = 5\n")).unwrap();
    fails_with(&run_symbolic(d.path(), "runs"), "`max_epochs`, which is no task");

    std::fs::write(d.path().join("mine.toml"), &toml).unwrap();
    let out = run_symbolic(d.path(), "runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Standard error is not a terminal here: one line per finished run instead of a progress bar.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("1/1 sorting-v1 symbolic s1: train") && log.contains("all done"), "{log}");
    let record = std::fs::read_to_string(d.path().join("runs/sorting-v1__symbolic__s1__mine.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(json["profile"]["name"], "mine");
    assert_eq!(json["profile"]["train_examples"], 300);
    assert_eq!(json["profile_hash"].as_str().map(str::len), Some(64));
}

#[test]
fn compare_flags_regressions_and_refuses_other_test_sets() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("mine.toml"), tiny_toml(d.path())).unwrap();
    for side in ["a", "b"] {
        assert!(run_symbolic(d.path(), side).status.success());
    }
    let out = driftbench(&["compare", "a", "b", "--fail-on-regression"], d.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("Holm") && md.contains("0 significantly worse"), "{md}");

    // Counts edited without the per-instance outcomes they summarise: refused by compare and report alike.
    let path = d.path().join("b/sorting-v1__symbolic__s1__mine.json");
    let mut record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let n = record["cells"][0]["n"].as_u64().unwrap() as usize;
    record["cells"][0]["successes"] = 0.into();
    std::fs::write(&path, serde_json::to_string(&record).unwrap()).unwrap();
    fails_with(&driftbench(&["compare", "a", "b"], d.path()), "per-instance outcomes list");
    fails_with(&driftbench(&["report", "--in", "b", "--out", "rep"], d.path()), "per-instance outcomes list");

    // B loses every success at level 0, instance by instance: a regression, found by the paired test.
    record["cells"][0]["outcomes"]["success"] = "0".repeat(n.div_ceil(8) * 2).into();
    std::fs::write(&path, serde_json::to_string(&record).unwrap()).unwrap();
    let out = driftbench(&["compare", "a", "b", "--out", "cmp.md", "--fail-on-regression"], d.path());
    fails_with(&out, "significantly worse in B");
    let md = std::fs::read_to_string(d.path().join("cmp.md")).unwrap();
    assert!(md.contains("▼ worse") && md.contains("in-dist-L0"), "{md}");
    assert!(md.contains(&format!("| paired | {n} / 0 |")), "A solved all {n} instances B failed: {md}");
    // Without outcomes the same cell falls back to the unpaired test and says why.
    record["cells"][0].as_object_mut().unwrap().remove("outcomes");
    std::fs::write(&path, serde_json::to_string(&record).unwrap()).unwrap();
    let out = driftbench(&["compare", "a", "b"], d.path());
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("holds no per-instance outcomes") && md.contains("| unpaired |"), "{md}");
    assert!(driftbench(&["compare", "a", "b"], d.path()).status.success(), "no gate without the flag");

    record["test_source"] = "generated (seed 1, 5 per cell)".into();
    std::fs::write(&path, serde_json::to_string(&record).unwrap()).unwrap();
    fails_with(&driftbench(&["compare", "a", "b"], d.path()), "different test sets");
    fails_with(&driftbench(&["compare", "a", "missing"], d.path()), "missing");
}

#[test]
fn show_draws_rocket_flights() {
    let d = tempfile::tempdir().unwrap();
    let ds = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let args = ["show", "--task", "rocket", "--solver", "symbolic", "--axis", "gravity", "--level", "4"];
    let extra = ["--profile", "tiny", "--datasets", ds.to_str().unwrap(), "--out", "r.svg"];
    let out = driftbench(&[&args[..], &extra[..]].concat(), d.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = std::fs::read_to_string(d.path().join("r.svg")).unwrap();
    assert!(svg.contains("g = 0.62") && svg.contains("off target: success"), "{svg}");
}
