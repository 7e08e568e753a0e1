//! The bad-input suite: bad command-line arguments, corrupted datasets, corrupted records and unusable output
//! paths. Every case must exit non-zero with a message naming the problem, print each OS error once, never panic,
//! and leave the folder it ran in exactly as it was (no new file, no partial file, nothing changed).
//!
//! Each test builds its fixtures (small test sets with `datasets generate --n 5`, a record from a symbolic tiny
//! run) in a temporary folder, then runs its cases there with tiny budgets.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn driftbench(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftbench")).args(args).current_dir(dir).output().expect("runs")
}

/// Every file under `dir` with its contents (folders as empty entries), to prove a failed command changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if p.is_dir() {
                out.insert(rel, None);
                stack.push(p);
            } else {
                out.insert(rel, Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// Runs one bad-input case in `dir` and checks everything the suite promises.
fn case(dir: &Path, args: &[&str], needles: &[&str]) {
    let before = snapshot(dir);
    let out = driftbench(args, dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?}: expected failure, got success:\n{err}");
    for needle in needles {
        assert!(err.contains(needle), "{args:?}: stderr lacks `{needle}`:\n{err}");
    }
    assert!(!err.contains("panicked"), "{args:?}: panicked:\n{err}");
    assert!(err.starts_with("error: "), "{args:?}: not a clean error:\n{err}");
    // Each OS error once (it used to be printed twice: `File exists (os error 17): File exists (os error 17)`).
    for (i, _) in err.match_indices("(os error ") {
        let code = &err[i..err[i..].find(')').map_or(err.len(), |j| i + j + 1)];
        assert_eq!(err.matches(code).count(), 1, "{args:?}: `{code}` printed more than once:\n{err}");
    }
    let after = snapshot(dir);
    assert!(before == after, "{args:?}: the folder changed: {:?}", changed(&before, &after));
}

fn changed(a: &BTreeMap<PathBuf, Option<Vec<u8>>>, b: &BTreeMap<PathBuf, Option<Vec<u8>>>) -> Vec<PathBuf> {
    let keys: std::collections::BTreeSet<&PathBuf> = a.keys().chain(b.keys()).collect();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

/// Small canonical-style test sets in `dir/name` (5 instances per cell).
fn small_datasets(dir: &Path, name: &str) {
    let out = driftbench(&["datasets", "generate", "--dir", name, "--n", "5"], dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write_json(path: &Path, v: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// Replaces a test set's contents and re-signs it in the manifest (hash and line count), so that only a real
/// check of the instances can catch the change.
fn resign(ds: &Path, file: &str, text: &str) {
    std::fs::write(ds.join(file), text).unwrap();
    let manifest = ds.join("manifest.json");
    let mut m = read_json(&manifest);
    for s in m["sets"].as_array_mut().unwrap() {
        if s["file"] == file {
            s["blake3"] = blake3::hash(text.as_bytes()).to_hex().to_string().into();
            s["n"] = text.lines().count().into();
        }
    }
    write_json(&manifest, &m);
}

/// Removes the manifest entries matching `keep == false`.
fn drop_entries(ds: &Path, drop: impl Fn(&serde_json::Value) -> bool) {
    let manifest = ds.join("manifest.json");
    let mut m = read_json(&manifest);
    m["sets"].as_array_mut().unwrap().retain(|s| !drop(s));
    write_json(&manifest, &m);
}

#[test]
fn bad_command_line_arguments() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    std::fs::create_dir(d.join("afolder")).unwrap();
    let gen = ["run", "--profile", "tiny", "--generated", "--task", "sorting", "--solver", "symbolic"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&gen[..], extra].concat() };
    case(d, &["--threads", "0", "list"], &["--threads 0 is out of range"]);
    case(d, &["--threads", "4000", "list"], &["--threads 4000 is out of range"]);
    case(d, &["--threads", "20000", "run", "--generated"], &["--threads 20000 is out of range"]);
    case(d, &["run", "--task", "juggling"], &["unknown task `juggling`"]);
    case(d, &["run", "--solver", "oracle", "--generated"], &["unknown solver `oracle`"]);
    case(d, &["run", "--profile", "huge"], &["unknown profile `huge`"]);
    case(d, &["run", "--shard", "3/3"], &["out of range"]);
    case(d, &["run", "--shard", "x"], &["shard `x`"]);
    case(d, &with(&["--seeds", "1,1"]), &["seed `1` is given twice"]);
    case(d, &with(&["--task", "sorting-v1"]), &["task `sorting-v1` is given twice"]);
    case(d, &with(&["--solver", "symbolic"]), &["solver `symbolic` is given twice"]);
    case(d, &["sample", "--task", "sorting", "--level", "1"], &["drift level 1 needs a drift axis", "length"]);
    case(d, &["sample", "--task", "sorting", "--axis", "nonsense", "--level", "0"], &["no drift axis `nonsense`"]);
    case(d, &["sample", "--task", "sorting", "--axis", "length", "--level", "7"], &["drift level 7 is out of range"]);
    case(d, &["sample", "--task", "sorting", "--n", "0"], &["--n must be at least 1"]);
    case(d, &["sample", "--task", "juggling"], &["unknown task `juggling`"]);
    case(d, &["show", "--task", "navigation", "--solver", "symbolic", "--level", "9"], &["drift level 9"]);
    case(d, &["show", "--task", "navigation", "--solver", "oracle", "--generated"], &["unexpected argument"]);
    case(d, &["show", "--task", "navigation", "--solver", "oracle"], &["unknown solver `oracle`"]);
    case(d, &["show", "--task", "navigation", "--solver", "symbolic", "--profile", "huge"], &["unknown profile"]);
    case(d, &["show", "--task", "navigation", "--solver", "symbolic", "--out", "afolder"], &["`afolder` is a folder"]);
    case(d, &["datasets", "generate", "--dir", "ds", "--n", "0"], &["--n must be at least 1"]);
    case(d, &["datasets", "generate", "--dir", "ds", "--task", "juggling"], &["unknown task `juggling`"]);
    case(d, &["datasets", "generate", "--dir", "ds", "--task", "sorting", "--task", "sorting"], &["given twice"]);
}

#[test]
fn corrupted_datasets() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let run = |ds: &'static str| -> Vec<&'static str> {
        vec!["run", "--profile", "tiny", "--solver", "symbolic", "--task", "sorting", "--datasets", ds]
    };
    let verify = |ds: &'static str| -> Vec<&'static str> { vec!["datasets", "verify", "--dir", ds] };
    // Missing folder or manifest: an error, never a silent fallback to generated test sets.
    case(d, &run("nowhere"), &["datasets folder `nowhere`", "No such file"]);
    case(d, &verify("nowhere"), &["datasets folder `nowhere`"]);
    std::fs::create_dir(d.join("empty")).unwrap();
    case(d, &run("empty"), &["manifest.json", "no manifest"]);
    case(d, &["show", "--task", "navigation", "--solver", "symbolic", "--datasets", "empty"], &["no manifest"]);
    case(d, &verify("empty"), &["no manifest"]);

    // A manifest that lacks a whole task, or one cell.
    small_datasets(d, "notask");
    drop_entries(&d.join("notask"), |s| s["task"] == "sorting-v1");
    std::fs::remove_dir_all(d.join("notask/sorting-v1")).unwrap();
    case(d, &run("notask"), &["no test sets for sorting-v1"]);
    case(d, &verify("notask"), &["no test sets for sorting-v1"]);
    small_datasets(d, "nocell");
    drop_entries(&d.join("nocell"), |s| s["cell"] == "length-L3" && s["task"] == "sorting-v1");
    case(d, &run("nocell"), &["no test set for sorting-v1 cell length-L3"]);
    case(d, &verify("nocell"), &["no test set for sorting-v1 cell length-L3"]);

    // Edited files, not re-signed: the hash check.
    small_datasets(d, "edited");
    let f = d.join("edited/sorting-v1/length-L2.jsonl");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replacen('[', "[7,", 1)).unwrap();
    case(d, &verify("edited"), &["length-L2.jsonl", "does not match its manifest"]);
    case(d, &run("edited"), &["length-L2.jsonl", "does not match its manifest"]);
    small_datasets(d, "deleted");
    std::fs::remove_file(d.join("deleted/sorting-v1/values-L1.jsonl")).unwrap();
    case(d, &verify("deleted"), &["values-L1.jsonl", "No such file"]);

    // Re-signed files: only parsing and validating every instance catches these.
    let resigned = |name: &str, file: &str, text: &str| {
        small_datasets(d, name);
        resign(&d.join(name), file, text);
    };
    let five = |line: &str| {
        format!("{line}\n{{\"values\":[1]}}\n{{\"values\":[2]}}\n{{\"values\":[3]}}\n{{\"values\":[4]}}\n")
    };
    resigned("garbage", "sorting-v1/length-L2.jsonl", &five("not json at all"));
    case(d, &verify("garbage"), &["length-L2.jsonl", "line 1"]);
    case(d, &run("garbage"), &["length-L2.jsonl", "line 1"]);
    let rocket = "{\"distance\":NaN,\"flight_time\":7.9,\"gravity\":9.8,\"air_density\":1.2,\"altitude\":0.0}\n";
    resigned("nan", "rocket-v1/in-dist-L0.jsonl", rocket);
    case(d, &verify("nan"), &["in-dist-L0.jsonl", "line 1"]);
    resigned("invalid", "sorting-v1/values-L4.jsonl", &five("{\"values\":[]}"));
    case(d, &verify("invalid"), &["values-L4.jsonl", "line 1", "values: length 0"]);
    resigned("huge", "sorting-v1/values-L4.jsonl", &five("{\"values\":[1, 99999999999]}"));
    case(d, &verify("huge"), &["values-L4.jsonl", "values: 99999999999 is outside"]);
    resigned("extra", "sorting-v1/values-L1.jsonl", &five("{\"values\":[5], \"colour\": 3}"));
    case(d, &verify("extra"), &["values-L1.jsonl", "line 1"]);
    resigned("repeat", "sorting-v1/values-L1.jsonl", &five("{\"values\":[1]}"));
    case(d, &verify("repeat"), &["sorting-v1: the test sets repeat an instance", "values-L1 line 2"]);
    resigned("empty-set", "sorting-v1/values-L1.jsonl", "");
    case(d, &verify("empty-set"), &["values-L1.jsonl", "no test instances"]);

    // Manifests that are not manifests.
    small_datasets(d, "badmanifest");
    std::fs::write(d.join("badmanifest/manifest.json"), "{\"schema\": 1, \"sets\": 7}").unwrap();
    case(d, &verify("badmanifest"), &["manifest.json"]);
    case(d, &run("badmanifest"), &["manifest.json"]);
    small_datasets(d, "schema");
    let mut m = read_json(&d.join("schema/manifest.json"));
    m["schema"] = 2.into();
    write_json(&d.join("schema/manifest.json"), &m);
    case(d, &verify("schema"), &["manifest schema 2"]);
    small_datasets(d, "count");
    let mut m = read_json(&d.join("count/manifest.json"));
    m["sets"][0]["n"] = 6.into();
    write_json(&d.join("count/manifest.json"), &m);
    case(d, &verify("count"), &["5 lines, manifest says 6"]);
}

/// A records folder holding one symbolic tiny record, and that record's path.
fn one_record(d: &Path, runs: &str, generated: bool) -> PathBuf {
    let ds = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let mut args = vec!["--quiet", "run", "--profile", "tiny", "--task", "sorting", "--solver", "symbolic"];
    args.extend(["--experiment", "drift", "--no-report", "--out", runs]);
    if generated {
        args.push("--generated");
    } else {
        args.extend(["--datasets", ds.to_str().unwrap()]);
    }
    let out = driftbench(&args, d);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    d.join(runs).join("sorting-v1__symbolic__s1__tiny.json")
}

#[test]
fn corrupted_records() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let report = |runs: &'static str| -> Vec<&'static str> { vec!["report", "--in", runs, "--out", "rep"] };
    let edited = |runs: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let path = one_record(d, runs, false);
        let mut r = read_json(&path);
        edit(&mut r);
        write_json(&path, &r);
    };
    case(d, &report("nope"), &["records folder `nope`"]);
    std::fs::create_dir(d.join("none")).unwrap();
    case(d, &report("none"), &["no run records"]);
    std::fs::create_dir(d.join("broken")).unwrap();
    std::fs::write(d.join("broken/bad.json"), "{\"schema\": 1, \"task\": ").unwrap();
    case(d, &report("broken"), &["bad.json", "malformed JSON"]);
    edited("over", &|r| r["cells"][0]["successes"] = 100000.into());
    case(d, &report("over"), &["sorting-v1__symbolic__s1__tiny.json", "100000 successes out of"]);
    edited("unanswered", &|r| r["cells"][2]["no_answer"] = 100000.into());
    case(d, &report("unanswered"), &["100000 unanswered instances out of"]);
    edited("strict", &|r| r["cells"][1]["strict_successes"] = 100000.into());
    case(d, &report("strict"), &["100000 strict successes out of"]);
    edited("zero", &|r| r["cells"][1]["n"] = 0.into());
    case(d, &report("zero"), &["no instances"]);
    edited("nocells", &|r| r["cells"] = serde_json::json!([]));
    case(d, &report("nocells"), &["no evaluation cells"]);
    edited("unknown", &|r| r["colour"] = "red".into());
    case(d, &report("unknown"), &["sorting-v1__symbolic__s1__tiny.json", "colour"]);
    edited("schema", &|r| r["schema"] = 99.into());
    case(d, &report("schema"), &["record schema 99"]);
    // The same run under two file names would be counted as two seeds.
    let path = one_record(d, "twice", false);
    std::fs::copy(&path, d.join("twice/copy.json")).unwrap();
    case(d, &report("twice"), &["the same run", "copy.json", "sorting-v1__symbolic__s1__tiny.json"]);
    // Records of canonical and generated test sets under one header.
    one_record(d, "mixed", false);
    let generated = one_record(d, "gen", true);
    let mut r = read_json(&generated);
    r["solver"] = "program-search".into();
    r["kind"] = "program-search".into();
    write_json(&d.join("mixed/sorting-v1__program-search__s1__tiny.json"), &r);
    case(d, &report("mixed"), &["different test sets", "generated (seed 2017"]);
}

#[test]
fn unusable_output_paths() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    std::fs::write(d.join("afile"), "x").unwrap();
    let run = ["--quiet", "run", "--profile", "tiny", "--task", "sorting", "--solver", "symbolic", "--generated"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&run[..], extra].concat() };
    // Checked before any training starts: a failure leaves no record behind.
    case(d, &with(&["--out", "afile"]), &["`afile`", "records folder is a file"]);
    case(d, &with(&["--out", "afile/runs"]), &["records folder `afile/runs` cannot be created inside a file"]);
    case(d, &with(&["--out", "runs", "--report", "afile"]), &["`afile`", "report folder is a file"]);
    case(d, &with(&["--out", "runs", "--report", "afile/rep"]), &["report folder `afile/rep`"]);
    case(d, &["datasets", "generate", "--dir", "afile", "--n", "5"], &["datasets folder is a file"]);
    case(d, &["datasets", "generate", "--dir", "afile/ds", "--n", "5"], &["`afile/ds` cannot be created"]);
    let ds = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let show = ["show", "--task", "navigation", "--solver", "symbolic", "--profile", "tiny", "--datasets"];
    case(d, &[&show[..], &[ds.to_str().unwrap(), "--out", "afile/ep.svg"]].concat(), &["output folder is a file"]);
    one_record(d, "runs", true);
    case(d, &["report", "--in", "runs", "--out", "afile"], &["report folder is a file"]);
}

#[test]
fn resume_checks_what_a_record_holds_not_its_name() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let args = |seed: &'static str| {
        vec!["run", "--profile", "tiny", "--task", "sorting", "--solver", "program-search", "--seeds", seed]
            .into_iter()
            .chain(["--experiment", "drift", "--no-report", "--generated", "--resume"])
            .collect::<Vec<_>>()
    };
    let ok = |seed| {
        let out = driftbench(&args(seed), d);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(!ok("1").contains("(resumed)"));
    // An untouched record is done.
    assert!(ok("1").contains("(resumed)"));
    // A record of seed 1 under seed 2's name is not seed 2's run.
    let runs = d.join("runs/tiny");
    std::fs::copy(
        runs.join("sorting-v1__program-search__s1__tiny.json"),
        runs.join("sorting-v1__program-search__s2__tiny.json"),
    )
    .unwrap();
    assert!(!ok("2").contains("(resumed)"));
    assert_eq!(read_json(&runs.join("sorting-v1__program-search__s2__tiny.json"))["seed"], 2);
    // Nor is a record whose config differs from what this driftbench would run.
    let path = runs.join("sorting-v1__program-search__s1__tiny.json");
    let mut r = read_json(&path);
    r["config"]["caps"]["max_size"] = 3.into();
    write_json(&path, &r);
    assert!(!ok("1").contains("(resumed)"));
    assert_eq!(read_json(&path)["config"]["caps"]["max_size"], 9);
}

#[test]
fn sample_streams_any_number_of_instances() {
    use std::io::BufRead;
    // A hundred million instances: built in memory this aborted on allocation; streamed, the first lines come at
    // once and closing the pipe ends the program cleanly.
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftbench"))
        .args(["sample", "--task", "sorting", "--n", "100000000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..3 {
        let line = lines.next().unwrap().unwrap();
        assert!(line.starts_with("{\"values\":["), "{line}");
    }
    drop(lines);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
