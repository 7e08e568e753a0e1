//! Solver programs that break the protocol, each in one way (`fixtures/misbehave.py MODE`): every one must end in a
//! clear error naming what went wrong, or in failed instances, never in a panic or a hung test.
use driftbench_core::solver::Attempt;
use driftbench_core::{rng, Cell, ExternalSpec, Profile, Provenance, Task, TrainData, TrainStats};
use driftbench_external::maker;
use driftbench_external::shapes::Seq;
use driftbench_tasks::Sorting;
use std::path::Path;

fn fixture(file: &str, mode: &str) -> ExternalSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(file);
    let mut spec = ExternalSpec::new("probe", &format!("python3 '{}' {mode}", path.display()));
    // Generous, so that a loaded machine starting Python slowly does not fail a test; the timeout tests set their own
    // limits, still well above a Python start and well below the fixture's sleeps.
    spec.message_timeout_s = 20.0;
    spec.run_timeout_s = 120.0;
    spec
}

fn instances(purpose: &str, n: usize) -> Vec<<Sorting as Task>::Instance> {
    let mut r = rng::stream(1, Sorting.id(), purpose);
    (0..n).map(|_| Sorting.generate(Cell::IN_DIST, &mut r)).collect()
}

type Outcome = (Vec<Attempt<Vec<i64>>>, TrainStats, Provenance);

/// Trains, answers four instances and finishes, as a run does; the first error as text.
fn drive(spec: &ExternalSpec) -> Result<Outcome, String> {
    let data =
        TrainData { train: instances("train", 20), val: instances("val", 5), dropped_overlaps: 0, max_epochs: None };
    let learner = maker::<Sorting, Seq>(spec);
    let (solver, mut stats) = learner.train(&Sorting, &data, &Profile::tiny(), 1, &|_| {}).map_err(|e| chain(&e))?;
    let attempts = solver.solve_batch(&Sorting, &instances("test", 4)).map_err(|e| chain(&e))?;
    let mut provenance = Provenance::default();
    solver.finish(&mut stats, &mut provenance).map_err(|e| chain(&e))?;
    Ok((attempts, stats, provenance))
}

/// The error and its sources, as the binary prints them (`{:#}`).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(&format!(": {s}"));
        cur = s.source();
    }
    out
}

fn fails_with(mode: &str, spec: ExternalSpec, needles: &[&str]) {
    let err = match drive(&spec) {
        Ok(_) => panic!("{mode}: the run succeeded"),
        Err(e) => e,
    };
    for n in needles {
        assert!(err.contains(n), "{mode}: `{n}` not in: {err}");
    }
}

#[test]
fn a_well_behaved_program_is_recorded_with_its_own_name_and_the_time_split() {
    let (attempts, stats, provenance) = drive(&fixture("misbehave.py", "ok")).unwrap();
    assert_eq!(attempts.len(), 4);
    assert!(attempts.iter().all(|a| a.answer.is_none()));
    let program = provenance.external.unwrap();
    assert_eq!((program.name.as_str(), program.protocol.as_str()), ("misbehave-ok", "driftbench-solver/1"));
    assert_eq!(stats.examples, 20);
    assert_eq!(stats.extra["reported_loss"], 0.5);
    // hello, train, 25 examples, train_end, 4 solves, bye.
    assert_eq!(stats.extra["external_messages_sent"], 33.0);
    for k in ["external_solver_s", "external_pipe_s", "external_harness_s"] {
        assert!(stats.extra[k] >= 0.0, "{k}");
    }
}

#[test]
fn the_echo_program_answers_every_instance() {
    let (attempts, ..) = drive(&fixture("echo.py", "")).unwrap();
    let test = instances("test", 4);
    for (a, inst) in attempts.iter().zip(&test) {
        assert_eq!(a.answer.as_ref(), Some(&inst.values));
    }
}

#[test]
fn a_program_that_exits_at_once_is_named_with_its_status_and_stderr() {
    fails_with("exit", fixture("misbehave.py", "exit"), &["exited early", "exit status: 3", "no model file"]);
}

#[test]
fn a_program_that_prints_to_stdout_is_told_where_logs_go() {
    fails_with("garbage", fixture("misbehave.py", "garbage"), &["not JSON", "Loading model", "stderr"]);
}

#[test]
fn an_answer_to_another_instance_is_a_protocol_violation() {
    fails_with("wrong-id", fixture("misbehave.py", "wrong-id"), &["answer to instance 1", "asked for instance 0"]);
}

#[test]
fn a_program_that_sleeps_past_the_message_timeout_is_stopped() {
    let mut spec = fixture("misbehave.py", "sleep");
    spec.message_timeout_s = 5.0;
    fails_with("sleep", spec, &["within 5 s (message timeout)", "test instance 0"]);
}

#[test]
fn a_program_that_trains_past_the_run_timeout_is_stopped() {
    let mut spec = fixture("misbehave.py", "train-sleep");
    spec.run_timeout_s = 8.0;
    fails_with("train-sleep", spec, &["within 8 s (run timeout)", "`ready`"]);
}

#[test]
fn a_literal_nan_is_not_json_and_the_error_says_what_to_send() {
    fails_with("nan-raw", fixture("misbehave.py", "nan-raw"), &["not JSON", "send null"]);
}

#[test]
fn malformed_answers_fail_their_instances_only() {
    for mode in ["nan-output", "bad-answer"] {
        let (attempts, ..) = drive(&fixture("misbehave.py", mode)).unwrap();
        assert_eq!(attempts.len(), 4, "{mode}");
        assert!(attempts.iter().all(|a| a.answer.is_none()), "{mode}");
    }
}

#[test]
fn a_flood_of_answers_is_a_protocol_violation() {
    fails_with("flood", fixture("misbehave.py", "flood"), &["answer to instance 0", "asked for instance 1"]);
}

#[test]
fn a_line_past_the_limit_is_refused() {
    let mut spec = fixture("misbehave.py", "long-line");
    spec.max_line_bytes = 4096;
    fails_with("long-line", spec, &["longer than 4096 bytes"]);
}

#[test]
fn requests_out_of_place_or_over_budget_end_the_run() {
    fails_with("step-first", fixture("misbehave.py", "step-first"), &["without a running episode"]);
    let mut spec = fixture("misbehave.py", "over-budget");
    spec.max_trials = 3;
    fails_with("over-budget", spec, &["budget", "more than 3 trials"]);
}

#[test]
fn a_reported_error_or_a_crash_at_shutdown_fails_the_run() {
    fails_with("error", fixture("misbehave.py", "error"), &["reported an error: out of memory"]);
    fails_with("crash-at-bye", fixture("misbehave.py", "crash-at-bye"), &["shut down", "exit status: 4"]);
}

#[test]
fn a_command_that_names_no_program_is_a_start_error() {
    let spec = ExternalSpec::new("probe", "/nonexistent/solver --x");
    fails_with("spawn", spec, &["could not start `/nonexistent/solver`"]);
    let spec = ExternalSpec::new("probe", "python3 'unclosed");
    fails_with("quote", spec, &["unclosed quote"]);
}
