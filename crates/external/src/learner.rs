//! The external solver as a [`Learner`]: one program per run, started in `train`, fed the training data, served its
//! requests, then asked for answers (or actions) on every test instance, and shut down in [`Solver::finish`].
use crate::error::{ExternalError, Result};
use crate::process::{words, Session};
use crate::protocol::{action_index, Incoming, PROTOCOL};
use crate::shapes::{Encoded, Shape};
use driftbench_core::record::ExternalProgram;
use driftbench_core::solver::Attempt;
use driftbench_core::task::Episode;
use driftbench_core::{
    ExternalSpec, Learner, Outcome, Profile, Provenance, SolveInfo, Solver, SolverKind, Task, TrainData, TrainStats,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Mutex;

/// Longest test episode the harness plays, whatever the task's own step limit (which ends episodes first).
const MAX_TEST_STEPS: usize = 100_000;

/// A solver program outside the process, learning a task of shape `S`.
pub struct External<T, S> {
    name: &'static str,
    spec: ExternalSpec,
    shape: PhantomData<fn() -> (T, S)>,
}

impl<T: Task, S: Shape<T>> External<T, S> {
    /// The learner for `spec`.
    pub fn new(spec: &ExternalSpec) -> Self {
        // `Learner::name` is `&'static str` (the built-in names are literals); an external solver's name is
        // given once per process on the command line, so keeping it for the process's lifetime costs a few bytes.
        let name: &'static str = Box::leak(spec.name.clone().into_boxed_str());
        External { name, spec: spec.clone(), shape: PhantomData }
    }
}

/// The learner for `spec` on a task of shape `S`, as the registry's [`driftbench_core::bench::ExternalMaker`].
pub fn maker<T: Task, S: Shape<T>>(spec: &ExternalSpec) -> Box<dyn Learner<T>> {
    Box::new(External::<T, S>::new(spec))
}

/// What the record's `config` says about a solver program: the protocol, the command, where it ran, its
/// environment, its training budgets, and the BLAKE3 hash of every file its command names (so a changed script
/// is a changed config, and `--resume` reruns it).
pub fn config(spec: &ExternalSpec) -> Value {
    let dir = spec.working_dir.as_deref().unwrap_or(Path::new("."));
    let files: BTreeMap<String, String> = words(&spec.command)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|w| {
            let bytes = std::fs::read(dir.join(&w)).ok()?;
            Some((w, blake3::hash(&bytes).to_hex().to_string()))
        })
        .collect();
    json!({
        "protocol": PROTOCOL,
        "command": spec.command,
        "working_dir": spec.working_dir,
        "env": spec.env,
        "files": files,
        "max_trials": spec.max_trials,
        "max_steps": spec.max_steps,
    })
}

impl<T: Task, S: Shape<T>> Learner<T> for External<T, S> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn kind(&self) -> SolverKind {
        SolverKind::External
    }
    fn description(&self) -> String {
        format!("external program `{}` ({PROTOCOL})", self.spec.command)
    }
    fn config(&self, _task: &T, _profile: &Profile) -> Value {
        config(&self.spec)
    }
    fn in_sample_efficiency(&self) -> bool {
        self.spec.sample_efficiency
    }
    fn train(
        &self,
        task: &T,
        data: &TrainData<T>,
        profile: &Profile,
        seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<(Box<dyn Solver<T>>, TrainStats)> {
        let wrap = |e: ExternalError| driftbench_core::Error::Learner {
            task: task.id().into(),
            solver: self.name.into(),
            source: Box::new(e),
        };
        let label = format!("{} {} s{seed}", task.id(), self.name);
        let mut session = Session::spawn(&self.spec, label).map_err(wrap)?;
        let program = handshake::<T, S>(&mut session, task, profile, seed, self.name).map_err(wrap)?;
        let stats = teach::<T, S>(&mut session, task, data, seed, &self.spec, progress).map_err(wrap)?;
        let solver = ExternalSolver::<T, S> {
            task: task.id(),
            name: self.name,
            state: Mutex::new(State { session: Some(session), next_id: 0, failed: None }),
            program,
            shape: PhantomData,
        };
        Ok((Box::new(solver), stats))
    }
}

/// `hello` both ways.
fn handshake<T: Task, S: Shape<T>>(
    s: &mut Session,
    task: &T,
    profile: &Profile,
    seed: u64,
    name: &str,
) -> Result<ExternalProgram> {
    let axes: Vec<Value> =
        task.axes().iter().map(|a| json!({"name": a.name, "description": a.description, "levels": a.levels})).collect();
    s.send(&json!({
        "type": "hello",
        "protocol": PROTOCOL,
        "solver": name,
        "task": {
            "id": task.id(),
            "description": task.description(),
            "metric": task.metric_name(),
            "metric_higher_is_better": task.metric_higher_is_better(),
            "axes": axes,
        },
        "encoding": S::encoding(task),
        "profile": profile,
        "seed": seed,
    }))?;
    let waiting = "the reply to `hello`";
    match s.recv(waiting, true)? {
        Incoming::Hello { name, version, protocol } => {
            if let Some(p) = protocol.filter(|p| p != PROTOCOL) {
                return Err(ExternalError::Protocol {
                    waiting: waiting.into(),
                    reason: format!("the solver speaks `{p}`, this harness `{PROTOCOL}`"),
                });
            }
            Ok(ExternalProgram { protocol: PROTOCOL.into(), name, version })
        }
        other => Err(unexpected(waiting, &other)),
    }
}

fn unexpected(waiting: &str, msg: &Incoming) -> ExternalError {
    ExternalError::Protocol { waiting: waiting.into(), reason: format!("unexpected message `{}`", msg.kind()) }
}

/// What the harness counted while serving a program's training requests.
#[derive(Default)]
struct Served {
    tries: u64,
    demonstrations: u64,
    episodes: u64,
    steps: u64,
    deaths: u64,
}

/// Streams the training data, then serves requests until `ready`.
fn teach<T: Task, S: Shape<T>>(
    s: &mut Session,
    task: &T,
    data: &TrainData<T>,
    seed: u64,
    spec: &ExternalSpec,
    progress: &dyn Fn(f64),
) -> Result<TrainStats> {
    let (recorded, recorded_val, recorded_trials) = S::recorded(task, &data.train, &data.val, seed);
    s.send(&json!({
        "type": "train",
        "examples": data.train.len(),
        "validation": data.val.len(),
        "recorded": recorded.len(),
        "recorded_validation": recorded_val.len(),
    }))?;
    let total = (data.train.len() + data.val.len()).max(1) as f64;
    for (split, insts, offset) in [("train", &data.train, 0), ("validation", &data.val, data.train.len())] {
        for (i, inst) in insts.iter().enumerate() {
            let encoded = S::train_encoded(task, inst);
            s.send(&Example { kind: "example", split, index: i, raw: inst, encoded })?;
            if (offset + i) % 4096 == 0 {
                progress(0.5 * (offset + i) as f64 / total);
            }
        }
    }
    for (split, list) in [("train", recorded), ("validation", recorded_val)] {
        for ex in &list {
            s.send(&RecordedMsg { kind: "recorded", split, input: &ex.input, target: &ex.target })?;
        }
    }
    s.send(&json!({"type": "train_end"}))?;
    progress(0.5);

    let waiting = "a training request or `ready`";
    let mut served = Served::default();
    let mut episode: Option<Box<dyn Episode>> = None;
    let example = |i: usize| {
        data.train.get(i).ok_or_else(|| ExternalError::Protocol {
            waiting: waiting.into(),
            reason: format!("training example {i} asked for; there are {}", data.train.len()),
        })
    };
    let reported = loop {
        // Training is the program's own business: only the run's limit applies while it works.
        match s.recv(waiting, false)? {
            Incoming::Ready { stats } => break stats,
            Incoming::Try { example: i, answer, output } => {
                let inst = example(i)?;
                served.tries += 1;
                if served.tries > spec.max_trials {
                    return Err(ExternalError::Budget { what: format!("more than {} trials", spec.max_trials) });
                }
                let answer = read_answer::<T, S>(task, inst, answer, output);
                let o = Outcome::of(task, inst, answer.as_ref());
                s.send(&json!({
                    "type": "tried", "example": i, "valid": answer.is_some(), "success": o.success,
                    "metric": finite(o.metric), "failure": o.failure,
                }))?;
            }
            Incoming::Demonstrate { example: i } => {
                let inst = example(i)?;
                served.demonstrations += 1;
                let actions = S::demonstration(task, inst);
                s.send(&json!({"type": "demonstration", "example": i, "actions": actions}))?;
            }
            Incoming::Reset { example: i } => {
                let inst = example(i)?;
                let ep = S::episode(task, inst).ok_or_else(|| ExternalError::Protocol {
                    waiting: waiting.into(),
                    reason: format!("`reset` on training example {i}, which offers no episode"),
                })?;
                served.episodes += 1;
                let observation = ep.observe();
                s.send(&Observation { kind: "observation", observation: &observation, reward: Some(0.0), ..NOTHING })?;
                episode = Some(ep);
            }
            Incoming::Step { action } => {
                let ep = episode.as_mut().ok_or_else(|| ExternalError::Protocol {
                    waiting: waiting.into(),
                    reason: "`step` without a running episode (send `reset` first)".into(),
                })?;
                let a = action_index(&action, S::actions(task)).ok_or_else(|| ExternalError::Protocol {
                    waiting: waiting.into(),
                    reason: format!("action {action} is not one of 0..{}", S::actions(task)),
                })?;
                served.steps += 1;
                if served.steps > spec.max_steps {
                    return Err(ExternalError::Budget { what: format!("more than {} steps", spec.max_steps) });
                }
                let st = ep.step(a);
                served.deaths += u64::from(st.died);
                let observation = ep.observe();
                s.send(&Observation {
                    kind: "observation",
                    observation: &observation,
                    reward: Some(st.reward).filter(|r| r.is_finite()),
                    done: st.done,
                    died: st.died,
                    reached: st.reached,
                })?;
                if st.done {
                    episode = None;
                }
            }
            other => return Err(unexpected(waiting, &other)),
        }
    };
    progress(1.0);
    let mut extra: BTreeMap<String, f64> =
        reported.into_iter().filter(|(_, v)| v.is_finite()).map(|(k, v)| (format!("reported_{k}"), v)).collect();
    extra.insert("external_tries".into(), served.tries as f64);
    extra.insert("external_demonstrations".into(), served.demonstrations as f64);
    extra.insert("external_episodes".into(), served.episodes as f64);
    extra.insert("external_env_steps".into(), served.steps as f64);
    extra.insert("recorded_trials".into(), recorded_trials as f64);
    Ok(TrainStats {
        examples: data.train.len() as u64,
        trials: recorded_trials + served.tries + served.episodes,
        deaths: served.deaths,
        extra,
        ..TrainStats::default()
    })
}

/// `example`: one training or validation instance.
#[derive(Serialize)]
struct Example<'a, I> {
    #[serde(rename = "type")]
    kind: &'static str,
    split: &'a str,
    index: usize,
    raw: &'a I,
    encoded: Encoded,
}

/// `recorded`: one of the examples the built-in regression learners train on.
#[derive(Serialize)]
struct RecordedMsg<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    split: &'a str,
    input: &'a [f32],
    target: &'a [f32],
}

/// `observation`: the reply to `reset` and `step`.
#[derive(Serialize)]
struct Observation<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    observation: &'a [f32],
    reward: Option<f32>,
    done: bool,
    died: bool,
    reached: bool,
}

/// The flags of an episode's first observation.
const NOTHING: Observation<'static> =
    Observation { kind: "observation", observation: &[], reward: None, done: false, died: false, reached: false };

/// `solve`: one test instance.
#[derive(Serialize)]
struct Solve<'a, I> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u64,
    raw: &'a I,
    encoded: Encoded,
}

/// `act`: one step of a test episode (the instance with the first).
#[derive(Serialize)]
struct Act<'a, I> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u64,
    step: usize,
    observation: &'a [f32],
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a I>,
}

/// A number JSON can carry (non-finite ones become `null`).
fn finite(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// The answer a program gave: a task answer that parses, else raw outputs that decode, else none.
fn read_answer<T: Task, S: Shape<T>>(
    task: &T,
    inst: &T::Instance,
    answer: Option<Value>,
    output: Option<Value>,
) -> Option<T::Answer> {
    match (answer, output) {
        (Some(a), _) => serde_json::from_value(a).ok(),
        (None, Some(o)) => S::decode(task, inst, &o),
        (None, None) => None,
    }
}

struct State {
    session: Option<Session>,
    next_id: u64,
    /// Set by the first error: the program's state is unknown after it, so every later call fails too.
    failed: Option<String>,
}

/// A trained program, answering through its session.
struct ExternalSolver<T, S> {
    task: &'static str,
    name: &'static str,
    state: Mutex<State>,
    program: ExternalProgram,
    shape: PhantomData<fn() -> (T, S)>,
}

impl<T: Task, S: Shape<T>> ExternalSolver<T, S> {
    fn fail(&self, reason: String) -> driftbench_core::Error {
        driftbench_core::Error::Solve { task: self.task.into(), solver: self.name.into(), reason }
    }
}

/// Asks for the answer to one test instance.
fn answer_one<T: Task, S: Shape<T>>(
    s: &mut Session,
    id: u64,
    task: &T,
    inst: &T::Instance,
) -> Result<Option<T::Answer>> {
    s.send(&Solve { kind: "solve", id, raw: inst, encoded: S::test_encoded(task, inst) })?;
    let waiting = format!("the answer to test instance {id}");
    match s.recv(&waiting, true)? {
        Incoming::Answer { id: got, answer, output } if got == id => {
            Ok(read_answer::<T, S>(task, inst, answer, output))
        }
        Incoming::Answer { id: got, .. } => Err(ExternalError::Protocol {
            waiting,
            reason: format!("an answer to instance {got}; the harness asked for instance {id}"),
        }),
        other => Err(unexpected(&waiting, &other)),
    }
}

/// Plays one test episode, the program choosing each action; an invalid action ends the episode without an answer.
fn play_one<T: Task, S: Shape<T>>(s: &mut Session, id: u64, task: &T, inst: &T::Instance) -> Result<Option<T::Answer>> {
    let Some(mut ep) = S::episode(task, inst) else { return Ok(None) };
    let mut actions = Vec::new();
    for step in 0..MAX_TEST_STEPS {
        let observation = ep.observe();
        s.send(&Act { kind: "act", id, step, observation: &observation, raw: (step == 0).then_some(inst) })?;
        let waiting = format!("the action of test episode {id} at step {step}");
        let action = match s.recv(&waiting, true)? {
            Incoming::Action { id: got, action } if got == id => action,
            Incoming::Action { id: got, .. } => {
                return Err(ExternalError::Protocol {
                    waiting,
                    reason: format!("an action for episode {got}; the harness asked for episode {id}"),
                })
            }
            other => return Err(unexpected(&waiting, &other)),
        };
        let Some(a) = action_index(&action, S::actions(task)) else { return Ok(None) };
        actions.push(a);
        if ep.step(a).done {
            break;
        }
    }
    s.send(&json!({"type": "episode_end", "id": id}))?;
    Ok(S::answer_from_actions(task, inst, &actions))
}

impl<T: Task, S: Shape<T>> Solver<T> for ExternalSolver<T, S> {
    fn solve_batch(&self, task: &T, instances: &[T::Instance]) -> driftbench_core::Result<Vec<Attempt<T::Answer>>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(reason) = &state.failed {
            return Err(self.fail(format!("the solver failed earlier: {reason}")));
        }
        let mut out = Vec::with_capacity(instances.len());
        for inst in instances {
            let id = state.next_id;
            state.next_id += 1;
            let Some(session) = state.session.as_mut() else {
                return Err(self.fail("the solver was already shut down".into()));
            };
            let answer = if S::plays() {
                play_one::<T, S>(session, id, task, inst)
            } else {
                answer_one::<T, S>(session, id, task, inst)
            };
            match answer {
                Ok(answer) => out.push(Attempt { answer, info: SolveInfo::default() }),
                Err(e) => {
                    state.failed = Some(e.to_string());
                    // Stop the program now: its run is lost, and it must not keep a core busy.
                    state.session = None;
                    return Err(self.fail(e.to_string()));
                }
            }
        }
        Ok(out)
    }

    fn finish(&self, stats: &mut TrainStats, provenance: &mut Provenance) -> driftbench_core::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut session = state.session.take().ok_or_else(|| self.fail("the solver was already shut down".into()))?;
        // After the shutdown, whose pipe and waiting time the counters include too: the split then adds up.
        let shutdown = session.shutdown();
        let total_s = session.elapsed_s();
        let c = session.counters;
        let (pipe_s, solver_s) = (c.pipe.as_secs_f64(), c.waiting.as_secs_f64());
        let extra = &mut stats.extra;
        extra.insert("external_messages_sent".into(), c.sent as f64);
        extra.insert("external_messages_received".into(), c.received as f64);
        extra.insert("external_bytes_sent".into(), c.bytes_sent as f64);
        extra.insert("external_bytes_received".into(), c.bytes_received as f64);
        extra.insert("external_total_s".into(), total_s);
        extra.insert("external_solver_s".into(), solver_s);
        extra.insert("external_pipe_s".into(), pipe_s);
        extra.insert("external_harness_s".into(), (total_s - pipe_s - solver_s).max(0.0));
        provenance.external = Some(self.program.clone());
        shutdown.map_err(|e| self.fail(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_names_the_script_by_its_hash_so_an_edit_is_a_new_config() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("solver.py");
        std::fs::write(&script, "print('a')\n").unwrap();
        let mut spec = ExternalSpec::new("s", "python3 solver.py --k 3");
        spec.working_dir = Some(dir.path().to_path_buf());
        let before = config(&spec);
        let files = before["files"].as_object().unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["solver.py"], "only words that name files are hashed");
        assert_eq!(before, config(&spec));
        std::fs::write(&script, "print('b')\n").unwrap();
        assert_ne!(before["files"], config(&spec)["files"]);
    }
}
