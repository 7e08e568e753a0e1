//! `--shard slurm`: the shard comes from a Slurm array task's environment, and a clear error names the variable
//! that is missing outside an array.
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary in `dir` with no Slurm variables but `vars`.
fn driftbench(args: &[&str], dir: &Path, vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftbench"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SLURM_")) {
        cmd.env_remove(k);
    }
    cmd.args(args).envs(vars.iter().copied()).current_dir(dir).output().expect("runs")
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

const RUN: &[&str] = &[
    "--quiet",
    "run",
    "--profile",
    "tiny",
    "--task",
    "sorting",
    "--solver",
    "symbolic",
    "--solver",
    "program-search",
    "--seeds",
    "1,2",
    "--experiment",
    "drift",
    "--generated",
    "--no-report",
];

#[test]
fn slurm_shard_outside_an_array_names_the_missing_variable() {
    let d = tempfile::tempdir().unwrap();
    let out = driftbench(&[RUN, &["--shard", "slurm", "--out", "runs"]].concat(), d.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure: {err}");
    assert!(err.contains("SLURM_ARRAY_TASK_ID") && !err.contains("panicked"), "{err}");
    assert!(!d.path().join("runs").exists(), "wrote records although the shard was invalid");
    let out =
        driftbench(&[RUN, &["--shard", "slurm", "--out", "runs"]].concat(), d.path(), &[("SLURM_ARRAY_TASK_ID", "0")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("SLURM_ARRAY_TASK_COUNT"));
}

#[test]
fn slurm_array_tasks_together_write_the_unsharded_records() {
    let d = tempfile::tempdir().unwrap();
    let whole = driftbench(&[RUN, &["--out", "whole"]].concat(), d.path(), &[]);
    assert!(whole.status.success(), "{}", String::from_utf8_lossy(&whole.stderr));
    // An array submitted as --array=1-3 (ids from 1): three shards into one folder.
    for id in ["1", "2", "3"] {
        let vars = [("SLURM_ARRAY_TASK_ID", id), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "1")];
        let out = driftbench(&[RUN, &["--shard", "slurm", "--out", "parts"]].concat(), d.path(), &vars);
        assert!(out.status.success(), "task {id}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let expected = names(&d.path().join("whole"));
    assert_eq!(expected.len(), 3, "{expected:?}");
    assert_eq!(names(&d.path().join("parts")), expected);
}
