//! A vector-regression toy task (the midpoint of two numbers) added through the public API, as
//! `docs/adding-a-task.md` walks through it: a core `Task`, a `VecTask` and one registry line
//! (`Entry::new(Midpoint { outputs: 1 }).vec().build()`). The registry's self-check holds it to the vector contract, and it gets
//! the regression families, their benches and a task-table row with no further code.
use driftbench::Entry;
use driftbench_core::bench::DynTask;
use driftbench_core::solver::Symbolic;
use driftbench_core::{
    AxisSpec, Cell, Learner, Outcome, Profile, SolveInfo, Solver, SolverKind, Task, TrainData, TrainStats, VecShape,
    VecTask,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Largest magnitude `validate` accepts.
const LIMIT: f64 = 1e6;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pair {
    a: f64,
    b: f64,
}

/// `outputs`: the output length the task declares (1 is right; anything else breaks the vector contract).
struct Midpoint {
    outputs: usize,
}

static AXES: [AxisSpec; 1] = [AxisSpec {
    name: "range",
    description: "magnitude of the two numbers",
    levels: ["training: 0-10", "0-20", "0-40", "0-80", "0-160"],
}];

impl Task for Midpoint {
    type Instance = Pair;
    type Answer = f64;

    fn id(&self) -> &'static str {
        "midpoint-v1"
    }
    fn description(&self) -> &'static str {
        "the number halfway between two numbers"
    }
    fn axes(&self) -> &'static [AxisSpec] {
        &AXES
    }
    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> Pair {
        let top = 10.0 * f64::from(1u32 << cell.level);
        Pair { a: rng.random_range(0.0..top), b: rng.random_range(0.0..top) }
    }
    fn validate(&self, p: &Pair) -> Result<(), String> {
        for (name, v) in [("a", p.a), ("b", p.b)] {
            if !v.is_finite() || v.abs() > LIMIT {
                return Err(format!("{name}: {v} is not a number within ±{LIMIT}"));
            }
        }
        Ok(())
    }
    fn score(&self, p: &Pair, answer: &f64) -> Outcome {
        let error = (answer - (p.a + p.b) / 2.0).abs();
        let error = if error.is_finite() { error } else { f64::MAX };
        Outcome::new(error <= 0.05, error)
    }
    fn metric_name(&self) -> &'static str {
        "absolute error"
    }
    fn no_answer_metric(&self) -> f64 {
        f64::MAX
    }
    fn metric_higher_is_better(&self) -> bool {
        false
    }
    fn solve_symbolic(&self, p: &Pair) -> (f64, SolveInfo) {
        ((p.a + p.b) / 2.0, SolveInfo { work: 2 })
    }
    fn symbolic_description(&self) -> &'static str {
        "add and halve"
    }
}

impl VecTask for Midpoint {
    fn vec_shape(&self) -> VecShape {
        VecShape { inputs: 2, outputs: self.outputs }
    }
    fn encode_vec(&self, p: &Pair) -> Option<Vec<f32>> {
        Some(vec![p.a as f32, p.b as f32])
    }
    fn decode_vec(&self, _p: &Pair, output: &[f32]) -> Option<f64> {
        output.first().map(|&y| f64::from(y))
    }
    fn encode_vec_answer(&self, _p: &Pair, answer: &f64) -> Option<Vec<f32>> {
        Some(vec![*answer as f32])
    }
}

/// The task's registry line.
fn entry(outputs: usize) -> Box<dyn DynTask> {
    Entry::new(Midpoint { outputs }).vec().build()
}

#[test]
fn the_vector_toy_passes_the_self_check_with_the_regression_families() {
    let b = entry(1);
    b.self_check(3, 40).expect("the toy keeps the task and vector contracts");
    let names: Vec<&str> = b.solvers().iter().map(|s| s.name).collect();
    assert_eq!(names, ["symbolic", "mlp", "mlp-tanh", "nearest-neighbour"]);
    // The learners say what the task trains them on: here the hand-written answers, not rocket's recorded trials.
    let descriptions: Vec<String> = b.solvers().into_iter().map(|s| s.description).collect();
    assert!(descriptions[1].ends_with("trained on instances answered by the hand-written solver"), "{descriptions:?}");
    assert!(!descriptions.iter().any(|d| d.contains("trial")), "{descriptions:?}");
    assert!(matches!(b.encoding(), driftbench_core::Encoding::VecRegression(VecShape { inputs: 2, outputs: 1 })));
    let groups: std::collections::BTreeSet<String> = b.timing_cases().iter().map(|c| c.group.clone()).collect();
    for g in ["generate", "symbolic-solve", "mlp-train", "mlp-tanh-inference", "nearest-neighbour-train"] {
        assert!(groups.contains(&format!("midpoint-v1/{g}")), "no {g} bench: {groups:?}");
    }
    let row = driftbench::task_table(&[b]);
    assert!(row.contains("| `midpoint-v1`: ") && row.contains("add and halve"), "{row}");
}

#[test]
fn the_default_training_set_pairs_encodings_with_the_hand_written_answers() {
    let insts = [Pair { a: 1.0, b: 3.0 }, Pair { a: 4.0, b: 4.0 }];
    let mut rng = driftbench_core::rng::stream(1, "midpoint-v1", "toy");
    let (examples, trials) = Midpoint { outputs: 1 }.vec_training_set(&insts, &mut rng);
    assert_eq!(trials, 0);
    assert_eq!(
        examples.iter().map(|e| (e.input.clone(), e.target.clone())).collect::<Vec<_>>(),
        [(vec![1.0, 3.0], vec![2.0]), (vec![4.0, 4.0], vec![4.0])]
    );
}

#[test]
fn the_self_check_refuses_a_vector_shape_that_the_answers_do_not_have() {
    let err = entry(2).self_check(3, 10).expect_err("one output per answer, two declared");
    assert!(err.contains("declared shape"), "{err}");
}

/// A learner that answers as the hand-written solver does and records the epoch cap its training data carried.
struct CapProbe;

impl Learner<Midpoint> for CapProbe {
    fn name(&self) -> &'static str {
        "cap-probe"
    }
    fn kind(&self) -> SolverKind {
        SolverKind::Baseline
    }
    fn description(&self) -> String {
        "records its training data's epoch cap".into()
    }
    fn config(&self, _task: &Midpoint, _profile: &Profile) -> serde_json::Value {
        serde_json::json!({})
    }
    fn train(
        &self,
        task: &Midpoint,
        data: &TrainData<Midpoint>,
        profile: &Profile,
        seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<(Box<dyn Solver<Midpoint>>, TrainStats)> {
        let (solver, mut stats) = Symbolic.train(task, data, profile, seed, progress)?;
        stats.extra.insert("cap".into(), data.max_epochs.unwrap_or(-1.0));
        stats.extra.insert("examples".into(), data.train.len() as f64);
        Ok((solver, stats))
    }
}

#[test]
fn the_epoch_cap_travels_with_the_training_data_and_the_profile_is_recorded_unchanged() {
    let b = Entry::new(Midpoint { outputs: 1 }).vec().learners(vec![Box::new(CapProbe)]).build();
    let caps = |profile: Profile| {
        let out = tempfile::tempdir().unwrap();
        let plan = driftbench::RunPlan {
            solvers: vec!["cap-probe".into()],
            seeds: vec![1],
            profile: profile.clone(),
            source: driftbench_core::bench::TestSource::Generated { n: 5 },
            out: out.path().to_path_buf(),
            resume: false,
            shard: (0, 1),
            experiments: driftbench::Experiments::ALL,
        };
        let prov = driftbench::provenance(1);
        let mut runs = driftbench::run_suite(&[b.as_ref()], &plan, &prov, &|_, _| {}).unwrap();
        runs.sort_by_key(|o| o.record.training.extra["examples"] as u64);
        runs.iter()
            .map(|o| {
                assert_eq!(o.record.profile, profile, "the record holds the profile as given");
                let recorded = o.record.experiment.as_ref().map(|e| match e {
                    driftbench_core::record::Experiment::SampleEfficiency { max_epochs, .. } => *max_epochs,
                });
                (o.record.training.extra["examples"] as u64, o.record.training.extra["cap"], recorded)
            })
            .collect::<Vec<_>>()
    };
    // 300 training instances: the drift run uncapped, the sample-efficiency run on 100 with the experiment's cap.
    let cap = driftbench_core::bench::SAMPLE_MAX_EPOCHS;
    assert_eq!(caps(Profile::tiny()), [(100, cap, Some(cap)), (300, -1.0, None)]);
    // A profile's own cap reaches the drift run, and the sample-efficiency run keeps the tighter one.
    let capped = Profile { name: "capped".into(), max_epochs: Some(50.0), ..Profile::tiny() };
    assert_eq!(caps(capped), [(100, 50.0, Some(50.0)), (300, 50.0, None)]);
}

// A network family for any vector task, written outside driftbench-nets through its public API (`Family`, made a
// learner by `Net`): one linear layer from the encoded input to the output, trained by the harness's loop. It is
// all a family supplies: its model, its objective, its solver; the learner wrapper (kind, errors that name the
// task and learner) is `Net`'s. docs/adding-a-network.md points here.
use driftbench_core::solver::Attempt;
use driftbench_nets::candle::{Device, Module, Tensor};
use driftbench_nets::layers::{linear, Linear, Params};
use driftbench_nets::train::{fit_run, recorded_config, Objective, RunId, TrainConfig, ValScore};
use driftbench_nets::{Family, Fit, Net, Trained};

/// One linear layer, its hyper-parameters those of the training loop alone.
#[derive(Debug, Clone, PartialEq)]
struct LinearFamily {
    train: TrainConfig,
}

struct LinearModel {
    layer: Linear,
    params: Params,
}

impl LinearModel {
    fn predict(&self, inputs: &[Vec<f32>], width: usize) -> driftbench_nets::Result<Vec<Vec<f32>>> {
        let x = Tensor::from_vec(inputs.concat(), (inputs.len(), width), &Device::Cpu)?;
        Ok(self.layer.forward(&x)?.to_vec2::<f32>()?)
    }
}

/// Mean squared error on the training pairs; validation scores the task's own criterion on level-0 instances.
struct LinearObjective<'a, T: VecTask> {
    task: &'a T,
    model: &'a LinearModel,
    x: Tensor,
    y: Tensor,
    val: Vec<(&'a T::Instance, Vec<f32>)>,
    inputs: usize,
}

impl<T: VecTask> Objective for LinearObjective<'_, T> {
    fn params(&self) -> &Params {
        &self.model.params
    }
    fn n_train(&self) -> usize {
        self.x.dims()[0]
    }
    fn loss(&self, idx: &[usize]) -> driftbench_nets::Result<Tensor> {
        let ids = Tensor::from_vec(idx.iter().map(|&i| i as u32).collect::<Vec<_>>(), idx.len(), &Device::Cpu)?;
        let out = self.model.layer.forward(&self.x.index_select(&ids, 0)?)?;
        Ok((out - self.y.index_select(&ids, 0)?)?.sqr()?.mean_all()?)
    }
    fn validate(&self) -> driftbench_nets::Result<ValScore> {
        let inputs: Vec<Vec<f32>> = self.val.iter().map(|(_, x)| x.clone()).collect();
        let outputs = self.model.predict(&inputs, self.inputs)?;
        let solved = self
            .val
            .iter()
            .zip(&outputs)
            .filter(|((inst, _), y)| self.task.decode_vec(inst, y).is_some_and(|a| self.task.score(inst, &a).success))
            .count();
        let exact = solved as f64 / self.val.len().max(1) as f64;
        Ok(ValScore { loss: 1.0 - exact, accuracy: exact, exact })
    }
}

impl<T: VecTask> Family<T> for LinearFamily {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn description(&self) -> String {
        "one linear layer from the encoded input to the output".into()
    }
    fn config(&self, profile: &Profile) -> serde_json::Value {
        recorded_config(&serde_json::json!({ "family": "linear", "train": self.train }), &self.train, profile)
    }
    fn fit(&self, Fit { task, data, profile, seed, progress }: Fit<'_, T>) -> driftbench_nets::Result<Trained<T>> {
        let shape = task.vec_shape();
        let (train, trials) =
            task.vec_training_set(&data.train, &mut driftbench_core::rng::stream(seed, task.id(), "trials/linear"));
        let mut params = Params::default();
        let mut init = driftbench_core::rng::stream(seed, task.id(), "init/linear");
        let layer = linear(shape.inputs, shape.outputs, &mut params, &mut init)?;
        let model = LinearModel { layer, params };
        let rows = |v: Vec<f32>, width: usize| Tensor::from_vec(v, (train.len(), width), &Device::Cpu);
        let obj = LinearObjective {
            task,
            model: &model,
            x: rows(train.iter().flat_map(|e| e.input.clone()).collect(), shape.inputs)?,
            y: rows(train.iter().flat_map(|e| e.target.clone()).collect(), shape.outputs)?,
            val: data.val.iter().filter_map(|i| Some((i, task.encode_vec(i)?))).collect(),
            inputs: shape.inputs,
        };
        let run = RunId { learner: "linear", task: task.id(), seed };
        let mut stats = fit_run(&obj, &self.train, run, (profile, data.max_epochs), progress)?;
        stats.trials = trials;
        drop(obj);
        Ok((Box::new(LinearSolver { model, inputs: shape.inputs }), stats))
    }
}

struct LinearSolver {
    model: LinearModel,
    inputs: usize,
}

impl<T: VecTask> Solver<T> for LinearSolver {
    fn solve_batch(&self, task: &T, instances: &[T::Instance]) -> driftbench_core::Result<Vec<Attempt<T::Answer>>> {
        let encoded: Vec<Option<Vec<f32>>> = instances.iter().map(|i| task.encode_vec(i)).collect();
        let inputs: Vec<Vec<f32>> = encoded.iter().flatten().cloned().collect();
        let mut outputs = self
            .model
            .predict(&inputs, self.inputs)
            .map_err(|e| driftbench_core::Error::Solve {
                task: task.id().into(),
                solver: "linear".into(),
                reason: e.to_string(),
            })?
            .into_iter();
        Ok(instances
            .iter()
            .zip(&encoded)
            .map(|(inst, x)| Attempt {
                answer: x.as_ref().and_then(|_| task.decode_vec(inst, &outputs.next()?)),
                info: SolveInfo::default(),
            })
            .collect())
    }
}

#[test]
fn a_vector_network_family_written_outside_the_crate_runs_through_the_registry() {
    let train = TrainConfig { steps: 600, batch: 32, lr: 3e-2, weight_decay: 0.0, warmup: 0.05, eval_every: 100 };
    let learner = Net(LinearFamily { train: train.clone() });
    let b = Entry::new(Midpoint { outputs: 1 }).vec().learners(vec![Box::new(learner)]).build();
    let info = b.solvers().into_iter().find(|s| s.name == "linear").expect("listed beside the built-in families");
    assert_eq!(info.kind, SolverKind::Network);
    let profile = Profile { train_scale: 1.0, ..Profile::tiny() };
    let prepared = b.prepare(&driftbench_core::bench::TestSource::Generated { n: 40 }, &profile).expect("test sets");
    let record = prepared.run("linear", 1, &driftbench::provenance(1), &|_, _| {}).expect("runs");
    assert_eq!(record.config["family"], "linear");
    assert_eq!(record.config["train"]["steps"], serde_json::json!(600));
    assert!(!record.training.curve.is_empty(), "validated while training");
    let rate = |level: u8| {
        let cells: Vec<_> = record.cells.iter().filter(|c| c.level == level).collect();
        cells.iter().map(|c| c.successes).sum::<u64>() as f64 / cells.iter().map(|c| c.n).sum::<u64>().max(1) as f64
    };
    // The midpoint is linear: a model of the right form is right at level 0, where it was trained ...
    assert!(rate(0) >= 0.9, "level 0: {}", rate(0));
    // ... and a failure to train shows as an error, not as a record: an empty training set names the learner.
    let empty = TrainData::<Midpoint> { train: vec![], val: vec![], dropped_overlaps: 0, max_epochs: None };
    let err = Net(LinearFamily { train }).train(&Midpoint { outputs: 1 }, &empty, &profile, 1, &|_| {}).err();
    let err = err.expect("nothing to train on").to_string();
    assert!(err.contains("midpoint-v1") && err.contains("linear"), "{err}");
}
