//! The command line's bad-input paths: a clear message naming the problem, a non-zero exit, no panic, and no
//! half-written output.
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

#[test]
fn unknown_task_solver_profile_and_shard_are_rejected() {
    let d = tempfile::tempdir().unwrap();
    fails_with(&driftbench(&["run", "--task", "juggling"], d.path()), "unknown task `juggling`");
    fails_with(&driftbench(&["run", "--solver", "oracle", "--generated"], d.path()), "unknown solver `oracle`");
    fails_with(&driftbench(&["run", "--profile", "huge"], d.path()), "unknown profile `huge`");
    fails_with(&driftbench(&["run", "--shard", "3/3"], d.path()), "out of range");
    fails_with(
        &driftbench(&["sample", "--task", "sorting", "--axis", "length", "--level", "7"], d.path()),
        "drift level 7 is out of range",
    );
    fails_with(
        &driftbench(&["sample", "--task", "sorting", "--axis", "colour", "--level", "2"], d.path()),
        "no drift axis `colour`",
    );
    assert!(!d.path().join("results").exists(), "a failed run left files behind");
}

#[test]
fn sample_prints_instances_of_a_cell() {
    let d = tempfile::tempdir().unwrap();
    let out = driftbench(&["sample", "--task", "sorting", "--axis", "length", "--level", "4", "--n", "3"], d.path());
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let n = v["values"].as_array().unwrap().len();
        assert!((25..=32).contains(&n));
    }
}

#[test]
fn malformed_and_tampered_datasets_are_named_in_the_error() {
    let d = tempfile::tempdir().unwrap();
    let ds = d.path().join("ds");
    // Every registered task's sets, as `datasets verify` checks every registered task.
    let mut gen = vec!["datasets", "generate", "--dir", "ds", "--n", "5"];
    let reg = driftbench::registry();
    gen.extend(reg.iter().flat_map(|t| ["--task", t.id()]));
    assert!(driftbench(&gen, d.path()).status.success());
    assert!(driftbench(&["datasets", "verify", "--dir", "ds"], d.path()).status.success());
    let file = ds.join("sorting-v1/length-L2.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen('[', "[7,", 1)).unwrap();
    fails_with(&driftbench(&["datasets", "verify", "--dir", "ds"], d.path()), "length-L2.jsonl");
    // A line that is not an instance, with the manifest hash updated so that only the parse can fail.
    std::fs::write(&file, "{\"values\": [1, 2]}\nnot json\n{\"values\":[3]}\n{\"values\":[3]}\n{\"values\":[3]}\n")
        .unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let manifest = ds.join("manifest.json");
    let m = std::fs::read_to_string(&manifest).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&m).unwrap();
    for s in json["sets"].as_array_mut().unwrap() {
        if s["file"] == "sorting-v1/length-L2.jsonl" {
            s["blake3"] = blake3::hash(&bytes).to_hex().to_string().into();
        }
    }
    std::fs::write(&manifest, serde_json::to_string(&json).unwrap()).unwrap();
    let run = ["run", "--datasets", "ds", "--profile", "tiny", "--task", "sorting-v1", "--solver", "symbolic"];
    let out = driftbench(&run, d.path());
    fails_with(&out, "line 2");
    fails_with(&out, "length-L2.jsonl");
    assert!(!d.path().join("results/runs").exists() && !d.path().join("runs").exists());
    // An out-of-range instance in a dataset is rejected by the task's validation.
    std::fs::write(&manifest, "{\"schema\": 1, \"sets\": 7}").unwrap();
    fails_with(&driftbench(&["datasets", "verify", "--dir", "ds"], d.path()), "manifest.json");
}

#[test]
fn report_rejects_missing_empty_and_malformed_records() {
    let d = tempfile::tempdir().unwrap();
    fails_with(&driftbench(&["report", "--in", "nope"], d.path()), "nope");
    std::fs::create_dir(d.path().join("runs")).unwrap();
    fails_with(&driftbench(&["report", "--in", "runs", "--out", "rep"], d.path()), "no run records");
    std::fs::write(d.path().join("runs/bad.json"), "{\"schema\": 1, \"task\": ").unwrap();
    fails_with(&driftbench(&["report", "--in", "runs", "--out", "rep"], d.path()), "bad.json");
    std::fs::write(d.path().join("runs/bad.json"), "{\"schema\": 1, \"task\": \"x\", \"unknown\": NaN}").unwrap();
    fails_with(&driftbench(&["report", "--in", "runs", "--out", "rep"], d.path()), "bad.json");
    assert!(!d.path().join("rep").exists(), "a failed report left files behind");
}

#[test]
fn a_tiny_run_writes_records_and_a_report_of_its_own_and_leaves_results_alone() {
    let d = tempfile::tempdir().unwrap();
    let ds = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let readme = "# x\n<!-- results:begin -->\nold table\n<!-- results:end -->\n";
    std::fs::write(d.path().join("README.md"), readme).unwrap();
    let args =
        ["--quiet", "run", "--profile", "tiny", "--task", "sorting-v1", "--solver", "symbolic", "--solver", "mlp"];
    let out = driftbench(&[&args[..], &["--datasets", ds.to_str().unwrap()]].concat(), d.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("wall time") && stdout.contains("runs/tiny"), "{stdout}");
    // The cost lines: the total beside the wall time, then the largest items, ranked.
    assert!(stdout.contains("core-seconds of training and evaluation in"), "{stdout}");
    assert!(stdout.contains("  1. ") && stdout.contains(" mlp: "), "{stdout}");
    assert!(d.path().join("runs/tiny/sorting-v1__mlp__s1__tiny.json").exists());
    let page = std::fs::read_to_string(d.path().join("runs/tiny/report/sorting-v1.md")).unwrap();
    assert!(page.contains("| symbolic | symbolic | 1 | 100.0 ["), "{page}");
    assert!(!d.path().join("results").exists(), "a tiny run wrote into results/");
    assert_eq!(std::fs::read_to_string(d.path().join("README.md")).unwrap(), readme, "a tiny run rewrote README.md");
    let leftovers: Vec<_> = std::fs::read_dir(d.path().join("runs/tiny"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    // A second profile in the same records folder is refused before any work, naming both profiles.
    let quick = ["--quiet", "run", "--task", "sorting-v1", "--solver", "symbolic", "--out", "runs/tiny", "--datasets"];
    let out = driftbench(&[&quick[..], &[ds.to_str().unwrap()]].concat(), d.path());
    fails_with(&out, "already holds sorting-v1 records of profile `tiny`");
    fails_with(&out, "`quick`");
    assert!(!d.path().join("runs/tiny/sorting-v1__symbolic__s1__quick.json").exists());
    // --update-readme only makes sense for the report in results/.
    let upd = ["run", "--profile", "tiny", "--task", "sorting", "--update-readme", "--out", "elsewhere"];
    fails_with(&driftbench(&upd, d.path()), "--update-readme");
}

#[test]
fn show_draws_an_episode_and_refuses_tasks_without_pictures() {
    let d = tempfile::tempdir().unwrap();
    let ds = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let ds = ds.to_str().unwrap();
    let args = ["show", "--task", "navigation", "--solver", "symbolic", "--profile", "tiny", "--datasets", ds];
    let out = driftbench(&[&args[..], &["--out", "ep.svg"]].concat(), d.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = std::fs::read_to_string(d.path().join("ep.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    let sorting = ["show", "--task", "sorting-v1", "--solver", "symbolic", "--profile", "tiny", "--datasets", ds];
    fails_with(&driftbench(&sorting, d.path()), "draws no pictures");
    let bad = ["show", "--task", "navigation", "--solver", "symbolic", "--level", "9", "--datasets", ds];
    fails_with(&driftbench(&bad, d.path()), "drift level 9 is out of range");
}

#[test]
fn report_refuses_to_pool_records_of_different_profiles() {
    // `run` refuses to mix profiles in one folder; a folder assembled by hand is caught by the report.
    let d = tempfile::tempdir().unwrap();
    let base = ["--quiet", "run", "--task", "sorting-v1", "--solver", "symbolic", "--generated", "--no-report"];
    assert!(driftbench(&[&base[..], &["--profile", "tiny", "--out", "a"]].concat(), d.path()).status.success());
    let quick = ["--profile", "quick", "--seeds", "1", "--out", "b"];
    assert!(driftbench(&[&base[..], &quick[..]].concat(), d.path()).status.success());
    let name = "sorting-v1__symbolic__s1__quick.json";
    std::fs::copy(d.path().join("b").join(name), d.path().join("a").join(name)).unwrap();
    fails_with(&driftbench(&["report", "--in", "a", "--out", "rep"], d.path()), "several profiles (quick (hash ");
}

#[test]
fn check_takes_tasks_by_name_and_refuses_unknown_ones() {
    let d = tempfile::tempdir().unwrap();
    let out = driftbench(&["check", "--task", "sorting", "--n", "20"], d.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("sorting-v2: ok\n") && !text.contains("rocket"), "{text}");
    fails_with(&driftbench(&["check", "--task", "sorting,juggling"], d.path()), "unknown task `juggling`");
}
