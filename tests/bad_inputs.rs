//! The bad-input suite: bad command-line arguments, corrupted datasets, corrupted records and unusable output
//! paths. Every case must exit non-zero with a message naming the problem, print each OS error once, never panic,
//! and leave the folder it ran in exactly as it was (no new file, no partial file, nothing changed).
//!
//! Each test builds its fixtures (small test sets with `datasets generate --n 5`, a record from a symbolic tiny
//! run) in a temporary folder, then runs its cases there with tiny budgets. The classes of bad input are
//! generated (every count field at 0, at its bound + 1 and at u64::MAX; every kind of non-regular file in every
//! place a file is read; every way of tampering with a manifest or a record), not listed case by case. Every
//! command runs under a deadline, so a hang fails its case instead of the whole suite.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longest any bad-input case may run before it counts as a hang (a generous limit, never a speed assertion:
/// every case here fails in well under a second when it fails as it should).
const DEADLINE: Duration = Duration::from_secs(300);

fn driftbench(args: &[&str], dir: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftbench"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    // Both pipes are drained on their own threads, so a chatty child never blocks on a full pipe.
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?}: still running after {DEADLINE:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() }
}

/// Every entry under `dir` with its contents (folders as empty entries, other non-regular files by their kind), to
/// prove a failed command changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                out.insert(rel, None);
                stack.push(p);
            } else if meta.is_file() {
                out.insert(rel, Some(std::fs::read(&p).unwrap()));
            } else {
                // A named pipe, socket or link: reading it could block; its kind is what must not change.
                out.insert(rel, Some(format!("{:?}", meta.file_type()).into_bytes()));
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

/// Small canonical-style test sets in `dir/name` (5 instances per cell) of the `-v1` tasks, whose files the tests
/// edit by name.
fn small_datasets(dir: &Path, name: &str) {
    // Every registered task, as `datasets verify` checks every one.
    let tasks = driftbench::registry().iter().flat_map(|t| ["--task", t.id()]).collect::<Vec<&str>>();
    let out = driftbench(&[&["datasets", "generate", "--dir", name, "--n", "5"][..], &tasks[..]].concat(), dir);
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
    let gen = ["run", "--profile", "tiny", "--generated", "--task", "sorting-v1", "--solver", "symbolic"];
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
    case(d, &["datasets", "generate", "--dir", "ds", "--task", "sorting-v1", "--task", "sorting-v1"], &["given twice"]);
}

#[test]
fn corrupted_datasets() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let run = |ds: &'static str| -> Vec<&'static str> {
        vec!["run", "--profile", "tiny", "--solver", "symbolic", "--task", "sorting-v1", "--datasets", ds]
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
    let mut args = vec!["--quiet", "run", "--profile", "tiny", "--task", "sorting-v1", "--solver", "symbolic"];
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
    let run = ["--quiet", "run", "--profile", "tiny", "--task", "sorting-v1", "--solver", "symbolic", "--generated"];
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
        vec!["run", "--profile", "tiny", "--task", "sorting-v1", "--solver", "program-search", "--seeds", seed]
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

/// A profile file's text: the tiny budgets under another name, with `extra` lines added before any table.
fn profile_text(replace: &[(&str, &str)], extra: &str) -> String {
    let mut lines = [
        "name = \"mine\"".to_string(),
        "train_examples = 300".into(),
        "val_examples = 50".into(),
        "test_per_cell = 20".into(),
        "seeds = [1]".into(),
        "train_scale = 0.01".into(),
        "search = \"small\"".into(),
    ];
    for (field, value) in replace {
        let line = lines.iter_mut().find(|l| l.starts_with(&format!("{field} ="))).expect("a field of the base");
        *line = format!("{field} = {value}");
    }
    format!("{}\n{extra}", lines.join("\n"))
}

#[test]
fn every_count_at_zero_above_its_bound_and_at_u64_max() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let run = ["run", "--profile", "p.toml", "--generated", "--task", "sorting-v1", "--solver", "symbolic"];
    let run = [&run[..], &["--no-report", "--out", "runs"]].concat();
    let with_profile = |text: String, needles: &[&str]| {
        std::fs::write(d.join("p.toml"), &text).unwrap();
        case(d, &run, needles);
        std::fs::remove_file(d.join("p.toml")).unwrap();
    };
    // Each count: 0, one above its bound, and u64::MAX (which TOML cannot even hold: refused at the field).
    let max = u64::MAX.to_string();
    for (field, bound) in [("train_examples", 10_000_000u64), ("val_examples", 1_000_000), ("test_per_cell", 100_000)] {
        for value in ["0".to_string(), (bound + 1).to_string(), max.clone()] {
            with_profile(profile_text(&[(field, &value)], ""), &[&format!("`{field}`"), "p.toml"]);
        }
        with_profile(profile_text(&[(field, "-5")], ""), &[&format!("field `{field}`")]);
        with_profile(profile_text(&[(field, "1e15")], ""), &[&format!("field `{field}`")]);
    }
    for value in ["0".to_string(), "10000001".into(), max.clone()] {
        let table = format!("[train_examples_by_task]\n\"sorting-v1\" = {value}\n");
        with_profile(profile_text(&[], &table), &["train_examples_by_task"]);
    }
    // Seeds: none, one above the bound, a million (refused by their count before any other work), a repeat.
    let list = |n: u64| format!("[{}]", (1..=n).map(|s| s.to_string()).collect::<Vec<_>>().join(", "));
    for seeds in ["[]".to_string(), list(1001), list(1_000_000), "[3, 1, 3]".into(), format!("[{max}]")] {
        with_profile(profile_text(&[("seeds", &seeds)], ""), &["`seeds`"]);
    }
    // Scales: zero, negative, far above the bound, and the floats that are no number of steps.
    for field in ["train_scale", "rl_scale", "max_epochs"] {
        for value in ["0.0", "-1.0", "1e300", "1e7", "nan", "inf", "\"fast\""] {
            let text = match field {
                "train_scale" => profile_text(&[(field, value)], ""),
                _ => profile_text(&[], &format!("{field} = {value}\n")),
            };
            with_profile(text, &[&format!("`{field}`")]);
        }
    }
    // The product of the two scales multiplies reinforcement learners' episodes.
    with_profile(profile_text(&[("train_scale", "90.0")], "rl_scale = 90.0\n"), &["rl_scale × train_scale"]);
    // Command-line counts: the argument is named, before any work.
    for (bound, cmd) in [(100_000u64, vec!["datasets", "generate", "--dir", "ds"]), (10_000, vec!["check"])] {
        for value in ["0".to_string(), (bound + 1).to_string(), max.clone()] {
            let args = [&cmd[..], &["--n", value.as_str()]].concat();
            let needle = if value == "0" { "--n must be at least 1".to_string() } else { format!("--n is {value}") };
            case(d, &args, &[&needle]);
        }
    }
    let seeds = (1..=1001).map(|s| s.to_string()).collect::<Vec<_>>().join(",");
    let gen = ["run", "--profile", "tiny", "--generated", "--task", "sorting-v1", "--solver", "symbolic", "--seeds"];
    case(d, &[&gen[..], &[seeds.as_str()]].concat(), &["--seeds lists 1001 seeds"]);
}

/// Copies a folder tree (regular files and folders only).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

/// The kinds of non-regular file this machine can make, with the words an error names each by. Sockets are kept
/// open by the returned listeners.
fn non_regular_kinds() -> Vec<(&'static str, &'static str)> {
    let mut kinds = vec![("folder", "is a folder")];
    let probe = tempfile::tempdir().unwrap();
    if Command::new("mkfifo").arg(probe.path().join("f")).status().is_ok_and(|s| s.success()) {
        kinds.push(("fifo", "named pipe"));
    } else {
        eprintln!("named pipes skipped: mkfifo is not available here");
    }
    kinds.push(("socket", "a socket"));
    if Path::new("/dev/zero").exists() {
        kinds.push(("device", "a device"));
    }
    kinds
}

/// Replaces `path` with a non-regular file of `kind`; a socket's listener is pushed onto `keep`.
fn make_non_regular(path: &Path, kind: &str, keep: &mut Vec<std::os::unix::net::UnixListener>) {
    if path.is_dir() {
        std::fs::remove_dir_all(path).unwrap();
    } else if std::fs::symlink_metadata(path).is_ok() {
        std::fs::remove_file(path).unwrap();
    }
    match kind {
        "folder" => std::fs::create_dir(path).unwrap(),
        "fifo" => assert!(Command::new("mkfifo").arg(path).status().unwrap().success()),
        "socket" => keep.push(std::os::unix::net::UnixListener::bind(path).unwrap()),
        "device" => std::os::unix::fs::symlink("/dev/zero", path).unwrap(),
        _ => unreachable!(),
    }
}

#[test]
fn non_regular_files_are_refused_without_blocking() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let mut keep = Vec::new();
    small_datasets(d, "base");
    one_record(d, "records", true);
    for (kind, words) in non_regular_kinds() {
        // A profile.
        make_non_regular(&d.join("p.toml"), kind, &mut keep);
        let run = ["run", "--profile", "p.toml", "--generated", "--task", "sorting-v1", "--solver", "symbolic"];
        case(d, &[&run[..], &["--out", "runs"]].concat(), &["p.toml", words]);
        // A manifest, and one test set.
        for (name, file) in [("manifest.json", "manifest.json"), ("length-L2.jsonl", "sorting-v1/length-L2.jsonl")] {
            let ds = format!("ds-{kind}-{name}");
            copy_dir(&d.join("base"), &d.join(&ds));
            make_non_regular(&d.join(&ds).join(file), kind, &mut keep);
            let run = ["run", "--profile", "tiny", "--task", "sorting-v1", "--solver", "symbolic", "--datasets", &ds];
            case(d, &[&run[..], &["--out", "runs"]].concat(), &[name, words]);
            case(d, &["datasets", "verify", "--dir", &ds], &[name, words]);
        }
        // A record.
        let runs = format!("runs-{kind}");
        copy_dir(&d.join("records"), &d.join(&runs));
        make_non_regular(&d.join(&runs).join("x.json"), kind, &mut keep);
        case(d, &["report", "--in", &runs, "--out", "rep"], &["x.json", words]);
        case(d, &["compare", &runs, "records"], &["x.json", words]);
    }
}

/// Edits the manifest of `ds` as JSON.
fn edit_manifest(ds: &Path, edit: impl Fn(&mut Vec<serde_json::Value>)) {
    let manifest = ds.join("manifest.json");
    let mut m = read_json(&manifest);
    edit(m["sets"].as_array_mut().unwrap());
    write_json(&manifest, &m);
}

#[test]
fn run_and_verify_refuse_every_manifest_tampering_alike() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    small_datasets(d, "base");
    let find = |sets: &[serde_json::Value], cell: &str| {
        sets.iter().position(|s| s["task"] == "sorting-v1" && s["cell"] == cell).unwrap()
    };
    let l3 = d.join("base/sorting-v1/length-L3.jsonl");
    let absolute = d.join("elsewhere.jsonl");
    std::fs::copy(&l3, &absolute).unwrap();
    std::fs::create_dir_all(d.join("outside/sorting-v1")).unwrap();
    std::fs::copy(&l3, d.join("outside/sorting-v1/length-L3.jsonl")).unwrap();
    let absolute = absolute.to_str().unwrap().to_string();
    #[allow(clippy::type_complexity)]
    let tamperings: Vec<(&str, Box<dyn Fn(&mut Vec<serde_json::Value>)>, &str)> = vec![
        ("twice", Box::new(move |s| s.push(s[find(s, "length-L1")].clone())), "is listed twice"),
        (
            "other-cell",
            Box::new(move |s| {
                // The length-L3 entry names length-L2's file, with its hash and count: only the structure tells.
                let l2 = s[find(s, "length-L2")].clone();
                let i = find(s, "length-L3");
                for k in ["file", "blake3", "n"] {
                    s[i][k] = l2[k].clone();
                }
            }),
            "another cell's file",
        ),
        (
            "absolute",
            Box::new(move |s| {
                let i = find(s, "length-L3");
                s[i]["file"] = absolute.clone().into();
            }),
            "an absolute path",
        ),
        (
            "climbs",
            Box::new(move |s| {
                let i = find(s, "length-L3");
                s[i]["file"] = "../outside/sorting-v1/length-L3.jsonl".into();
            }),
            "climbs out of the datasets folder",
        ),
        (
            "same-cell",
            Box::new(move |s| {
                let mut extra = s[find(s, "length-L3")].clone();
                extra["file"] = "sorting-v1/length-L3-copy.jsonl".into();
                s.push(extra);
            }),
            "another cell's file",
        ),
    ];
    for (name, edit, needle) in tamperings {
        let ds = format!("ds-{name}");
        copy_dir(&d.join("base"), &d.join(&ds));
        edit_manifest(&d.join(&ds), edit);
        let run = ["run", "--profile", "tiny", "--task", "sorting-v1", "--solver", "symbolic", "--datasets", &ds];
        case(d, &[&run[..], &["--out", "runs"]].concat(), &["manifest.json", needle]);
        case(d, &["datasets", "verify", "--dir", &ds], &["manifest.json", needle]);
    }
    // A re-signed set that repeats an instance of another cell: `run` refuses it as `verify` does.
    copy_dir(&d.join("base"), &d.join("ds-repeat"));
    let l1 = std::fs::read_to_string(d.join("base/sorting-v1/length-L1.jsonl")).unwrap();
    let l2 = std::fs::read_to_string(d.join("base/sorting-v1/length-L2.jsonl")).unwrap();
    let first = l1.lines().next().unwrap();
    let text: String = std::iter::once(first).chain(l2.lines().skip(1)).map(|l| format!("{l}\n")).collect();
    resign(&d.join("ds-repeat"), "sorting-v1/length-L2.jsonl", &text);
    let run = ["run", "--profile", "tiny", "--task", "sorting-v1", "--solver", "symbolic", "--datasets", "ds-repeat"];
    let needles = ["sorting-v1: the test sets repeat an instance", "length-L2 line 1 is length-L1 line 1"];
    case(d, &[&run[..], &["--out", "runs"]].concat(), &needles);
    case(d, &["datasets", "verify", "--dir", "ds-repeat"], &needles);
}

#[test]
fn report_compare_and_resume_refuse_impossible_records_alike() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let path = one_record(d, "good", true);
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    #[allow(clippy::type_complexity)]
    let edits: Vec<(&str, Box<dyn Fn(&mut serde_json::Value)>, &str)> = vec![
        ("train-s", Box::new(|r| r["timing"]["train_s"] = (-1.5).into()), "timing.train_s -1.5"),
        ("eval-s", Box::new(|r| r["timing"]["eval_s"] = (-0.1).into()), "timing.eval_s -0.1"),
        ("level", Box::new(|r| r["cells"][1]["level"] = 9.into()), "level 9 is out of range"),
        ("axis", Box::new(|r| r["cells"][1]["axis"] = "colour".into()), "no drift axis `colour`"),
        (
            "twice",
            Box::new(|r| {
                let c = r["cells"][1].clone();
                r["cells"].as_array_mut().unwrap().push(c);
            }),
            "listed twice",
        ),
        ("scale", Box::new(|r| r["profile"]["train_scale"] = (-1.0).into()), "field `train_scale`"),
        ("val", Box::new(|r| r["profile"]["val_examples"] = 1_000_000_000_000_000u64.into()), "field `val_examples`"),
        ("exact", Box::new(|r| r["training"]["val_exact"] = 7.0.into()), "val_exact 7"),
        ("accuracy", Box::new(|r| r["training"]["val_accuracy"] = (-0.5).into()), "val_accuracy -0.5"),
        ("hash", Box::new(|r| r["profile_hash"] = "abc".into()), "profile_hash abc"),
        ("work", Box::new(|r| r["cells"][0]["mean_work"] = (-3.0).into()), "mean_work -3"),
    ];
    for (label, edit, needle) in edits {
        let runs = format!("runs-{label}");
        copy_dir(&d.join("good"), &d.join(&runs));
        let p = d.join(&runs).join(&name);
        let mut r = read_json(&p);
        edit(&mut r);
        write_json(&p, &r);
        case(d, &["report", "--in", &runs, "--out", "rep"], &[&name, needle]);
        case(d, &["compare", "good", &runs], &[&name, needle]);
        case(d, &["compare", &runs, "good"], &[&name, needle]);
    }
    // `--resume` does not trust what `report` refuses: the run is made again.
    let args = ["run", "--profile", "tiny", "--task", "sorting-v1", "--solver", "symbolic", "--generated"];
    let args = [&args[..], &["--experiment", "drift", "--no-report", "--resume", "--out", "runs-level"]].concat();
    let out = driftbench(&args, d);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("(resumed)"), "{stdout}");
    assert_eq!(read_json(&d.join("runs-level").join(&name))["cells"][1]["level"], 1);
    // Two profiles pooled on one side: `compare` refuses as `report` does.
    copy_dir(&d.join("good"), &d.join("two"));
    let mut r = read_json(&path);
    r["profile"]["name"] = "other".into();
    r.as_object_mut().unwrap().remove("profile_hash");
    write_json(&d.join("two").join(name.replace("tiny", "other")), &r);
    case(d, &["report", "--in", "two", "--out", "rep"], &["several profiles"]);
    case(d, &["compare", "good", "two"], &["several profiles"]);
}

#[test]
fn messages_name_the_argument_and_the_path_the_user_gave() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let run = ["run", "--profile", "tiny", "--generated", "--task", "sorting-v1", "--solver", "symbolic"];
    if Path::new("/proc/self").exists() {
        case(d, &[&run[..], &["--out", "/proc/driftbench-records"]].concat(), &["`/proc/driftbench-records`"]);
    }
    // A profile file whose name cannot be a profile's: the message says the name came from the file.
    let text = profile_text(&[], "").replace("name = \"mine\"\n", "");
    std::fs::write(d.join("my prof é.toml"), &text).unwrap();
    let args = ["run", "--profile", "my prof é.toml", "--generated", "--task", "sorting-v1", "--solver", "symbolic"];
    case(d, &args, &["`name` is not set", "`my prof é`"]);
    // Each error names the profile file once.
    std::fs::write(d.join("p.toml"), profile_text(&[("train_examples", "-5")], "")).unwrap();
    let args = ["run", "--profile", "p.toml", "--generated", "--task", "sorting-v1", "--solver", "symbolic"];
    let out = driftbench(&args, d);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.matches("p.toml").count(), 1, "{err}");
    assert!(err.contains("field `train_examples`"), "{err}");
    // A resumed run spent no core-seconds, and says so without a sign.
    let args = [&run[..], &["--experiment", "drift", "--no-report", "--resume", "--out", "runs"]].concat();
    for _ in 0..2 {
        let out = driftbench(&args, d);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("-0.0"), "{stdout}");
    }
}

/// Runs `script` as root of a private mount namespace (`unshare -rm`), so that it can mount a tiny tmpfs that
/// vanishes with it; `None` where this machine allows no such namespace.
fn in_mount_namespace(dir: &Path, script: &str) -> Option<Output> {
    let ok = Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt || exit 9"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return None;
    }
    let bin = env!("CARGO_BIN_EXE_driftbench");
    Some(Command::new("unshare").args(["-rm", "sh", "-c", script, "sh", bin]).current_dir(dir).output().unwrap())
}

#[test]
fn a_full_disk_leaves_no_partial_report_and_no_empty_folder() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    one_record(d, "runs", true);
    std::fs::create_dir(d.join("full")).unwrap();
    // Fill a 64 kB tmpfs, then ask for a report and a run into it; list what is there afterwards.
    let script = r#"
        mount -t tmpfs -o size=64k none full || exit 90
        dd if=/dev/zero of=full/fill bs=4k 2>/dev/null
        "$1" report --in runs --out full/rep 2>report.err; echo "report=$?"
        "$1" --quiet run --profile tiny --task sorting-v1 --solver symbolic --generated --experiment drift \
            --no-report --out full/new 2>run.err; echo "run=$?"
        ls -A full
    "#;
    let Some(out) = in_mount_namespace(d, script) else {
        eprintln!("skipped: this machine allows no private mount namespace (`unshare -rm`) for a tiny tmpfs");
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("=90"), "mounting failed: {stdout}");
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ["report=1", "run=1", "fill"], "{stdout}");
    for log in ["report.err", "run.err"] {
        let err = std::fs::read_to_string(d.join(log)).unwrap();
        assert!(err.starts_with("error: ") && err.contains("No space left"), "{log}: {err}");
        assert!(!err.contains("panicked"), "{log}: {err}");
    }
}
