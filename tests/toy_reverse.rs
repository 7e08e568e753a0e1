//! A position-dependent toy task (reverse a list) added through the public API, as a new user would: a core
//! `Task`, a `SeqTask` and one registry line (`Entry::new(..).seq().build()`). It needs `positional: true` in its
//! sequence encoding: the registry-wide self-check refuses it without, and with it the transformer and the pointer
//! network learn it in distribution.
//!
//! The file also adds a toy network family the way `docs/adding-a-network.md` describes: a model
//! ([`driftbench_nets::seq::SeqModel`]), its family ([`driftbench_nets::SeqArchitecture`]) and one line that
//! hands it to the task's registry entry; `SeqLearner` trains, validates and evaluates it like the built-in ones.
use driftbench::Entry;
use driftbench_core::bench::DynTask;
use driftbench_core::{
    AxisSpec, Cell, Learner, Outcome, Profile, SeqClassShape, SeqExample, SeqTask, SolveInfo, Task, TrainData,
};
use driftbench_nets::candle::{Module, Tensor};
use driftbench_nets::layers::{linear, Linear, Params};
use driftbench_nets::seq::{input_features, SeqModel};
use driftbench_nets::train::TrainConfig;
use driftbench_nets::{SeqArchitecture, SeqLearner};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const MAX_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct List {
    values: Vec<i64>,
}

struct Reverse {
    positional: bool,
}

static AXES: [AxisSpec; 1] = [AxisSpec {
    name: "length",
    description: "list length",
    levels: ["training: length 2-6, values 0-9", "length 7-8", "length 9-10", "length 11-12", "length 13-16"],
}];

impl Task for Reverse {
    type Instance = List;
    type Answer = Vec<i64>;

    fn id(&self) -> &'static str {
        "reverse-v1"
    }
    fn description(&self) -> &'static str {
        "reverse a list"
    }
    fn axes(&self) -> &'static [AxisSpec] {
        &AXES
    }
    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> List {
        let len = match cell.level {
            0 => 2..=6,
            1 => 7..=8,
            2 => 9..=10,
            3 => 11..=12,
            _ => 13..=16,
        };
        let n = rng.random_range(len);
        List { values: (0..n).map(|_| rng.random_range(0..10)).collect() }
    }
    fn validate(&self, l: &List) -> Result<(), String> {
        let n = l.values.len();
        (n > 0 && n <= MAX_LEN).then_some(()).ok_or_else(|| format!("values: length {n} is outside 1..={MAX_LEN}"))
    }
    fn score(&self, l: &List, a: &Vec<i64>) -> Outcome {
        let want: Vec<i64> = l.values.iter().rev().copied().collect();
        let right = want.iter().zip(a).filter(|(x, y)| x == y).count();
        Outcome::new(*a == want, right as f64 / want.len().max(1) as f64)
    }
    fn metric_name(&self) -> &'static str {
        "per-position accuracy"
    }
    fn solve_symbolic(&self, l: &List) -> (Vec<i64>, SolveInfo) {
        (l.values.iter().rev().copied().collect(), SolveInfo { work: l.values.len() as u64 })
    }
    fn symbolic_description(&self) -> &'static str {
        "read the list backwards"
    }
}

impl SeqTask for Reverse {
    fn seq_shape(&self) -> SeqClassShape {
        SeqClassShape {
            features: 1,
            classes: MAX_LEN,
            max_len: MAX_LEN,
            positional: self.positional,
            permutation: true,
        }
    }
    fn encode_seq(&self, l: &List) -> Option<SeqExample> {
        let n = l.values.len() as u32;
        Some(SeqExample {
            features: l.values.iter().map(|&v| v as f32 / 10.0).collect(),
            targets: (0..n).map(|i| (n - 1 - i, n - 1 - i)).collect(),
        })
    }
    fn decode_seq(&self, l: &List, scores: &[f32]) -> Option<Vec<i64>> {
        let n = l.values.len();
        if scores.len() != n * MAX_LEN {
            return None;
        }
        (0..n)
            .map(|slot| {
                (0..n)
                    .max_by(|&a, &b| scores[a * MAX_LEN + slot].total_cmp(&scores[b * MAX_LEN + slot]))
                    .map(|i| l.values[i])
            })
            .collect()
    }
}

/// The task's registry line.
fn bench(task: Reverse) -> Box<dyn DynTask> {
    Entry::new(task).seq().build()
}

fn data(task: &Reverse, train: usize, val: usize) -> TrainData<Reverse> {
    let mut r = driftbench_core::rng::stream(7, task.id(), "toy");
    let mut draw = |n| (0..n).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect::<Vec<_>>();
    TrainData { train: draw(train), val: draw(val), dropped_overlaps: 0, max_epochs: None }
}

fn val_exact(learner: &dyn Learner<Reverse>, task: &Reverse) -> f64 {
    // A few hundred steps: enough for a position-dependent toy that the network can represent.
    let profile = Profile { train_scale: 0.12, ..Profile::tiny() };
    let (_, stats) = learner.train(task, &data(task, 1000, 200), &profile, 1, &|_| {}).expect("trains");
    let exact = stats.val_exact.expect("validated");
    eprintln!("{}: level-0 validation exact match {exact}", learner.name());
    exact
}

#[test]
fn the_self_check_refuses_a_position_dependent_task_declared_position_free() {
    let err = bench(Reverse { positional: false }).self_check(3, 60).expect_err("positions matter here");
    assert!(err.contains("positional: true"), "{err}");
    bench(Reverse { positional: true }).self_check(3, 60).expect("a positional encoding passes");
}

#[test]
fn with_positional_features_the_transformer_learns_to_reverse() {
    let transformer = driftbench_nets::Net(driftbench_nets::SeqLearner::transformer());
    let blind = val_exact(&transformer, &Reverse { positional: false });
    let seeing = val_exact(&transformer, &Reverse { positional: true });
    assert!(blind < 0.5, "without positions the transformer cannot know where an element goes: {blind}");
    assert!(seeing >= 0.9, "with positions it learns to reverse: {seeing}");
}

#[test]
fn with_positional_features_the_pointer_network_learns_to_reverse() {
    let pointer = driftbench_nets::Net(driftbench_nets::pointer::PointerLearner::pointer());
    let seeing = val_exact(&pointer, &Reverse { positional: true });
    assert!(seeing >= 0.9, "the pointer network follows the positions: {seeing}");
}

#[test]
fn the_toy_task_gets_the_registrys_benches_and_task_table_row() {
    let b = bench(Reverse { positional: true });
    let cases = b.timing_cases();
    let groups: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.group.as_str()).collect();
    for g in ["generate", "symbolic-solve", "mlp-train", "transformer-inference", "pointer-train", "pointer-inference"]
    {
        assert!(groups.contains(format!("reverse-v1/{g}").as_str()), "no {g} bench: {groups:?}");
    }
    // Level 0 and the farthest level of its one axis.
    let solve: Vec<_> = cases.iter().filter(|c| c.group == "reverse-v1/symbolic-solve").collect();
    assert_eq!(solve.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["in-dist-L0", "length-L4"]);
    for c in cases.iter().filter(|c| c.group.ends_with("/generate") || c.group.ends_with("/symbolic-solve")) {
        let mut timed = (c.setup)().expect("sets up");
        assert!(timed() > 0, "{}/{} did no work", c.group, c.id);
    }
    drop(cases);
    let row = driftbench::task_table(&[b]);
    assert!(row.contains("| `reverse-v1`: ") && row.contains("read the list backwards"), "{row}");
}

/// The toy family's model: one small MLP applied to every position alone (its features and positional features),
/// scoring the classes of that position. It sees no other position, so it can learn a task whose answer at a
/// position follows from that position's own features, as reversing does from the distance to the end.
struct PositionWise {
    layers: Vec<Linear>,
    params: Params,
}

impl SeqModel for PositionWise {
    fn forward(&self, x: &Tensor, _mask: &Tensor) -> driftbench_nets::Result<Tensor> {
        let (b, l, f) = x.dims3()?;
        let mut h = x.reshape((b * l, f))?;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = h.relu()?;
            }
        }
        Ok(h.reshape((b, l, ()))?)
    }
    fn pad_to(&self, longest: usize) -> usize {
        longest
    }
    fn params(&self) -> &Params {
        &self.params
    }
}

/// The toy family: its hyper-parameters, and how to build its model for a task's shape.
#[derive(Debug, Clone, Serialize)]
struct PositionWiseFamily {
    hidden: usize,
}

impl SeqArchitecture for PositionWiseFamily {
    fn key(&self) -> &'static str {
        "position-wise-mlp"
    }
    fn description(&self) -> String {
        format!("one MLP (hidden {}) applied to each position alone", self.hidden)
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("config serialises")
    }
    fn build(&self, shape: SeqClassShape, rng: &mut ChaCha8Rng) -> driftbench_nets::Result<Box<dyn SeqModel>> {
        let mut params = Params::default();
        let layers = vec![
            linear(input_features(shape), self.hidden, &mut params, rng)?,
            linear(self.hidden, shape.classes, &mut params, rng)?,
        ];
        Ok(Box::new(PositionWise { layers, params }))
    }
}

/// The toy family as a learner: the one line a registry entry takes (`Entry::learners`).
fn position_wise() -> driftbench_nets::Net<SeqLearner> {
    let train = TrainConfig { steps: 3000, batch: 64, lr: 1e-2, weight_decay: 0.0, warmup: 0.05, eval_every: 250 };
    SeqLearner::custom("position-wise", PositionWiseFamily { hidden: 64 }, train)
}

#[test]
fn a_network_family_added_from_outside_learns_to_reverse_from_positions() {
    let family = position_wise();
    let seeing = val_exact(&family, &Reverse { positional: true });
    let blind = val_exact(&family, &Reverse { positional: false });
    assert!(seeing >= 0.9, "the distance to the end names the slot: {seeing}");
    assert!(blind < 0.5, "without positions every position looks alike to it: {blind}");
}

#[test]
fn a_network_family_added_from_outside_runs_through_the_registry_and_is_recorded() {
    let b = Entry::new(Reverse { positional: true }).seq().learners(vec![Box::new(position_wise())]).build();
    let info = b.solvers().into_iter().find(|s| s.name == "position-wise").expect("listed beside the built-in ones");
    assert!(info.description.contains("each position alone") && info.sample_efficiency, "{info:?}");
    let profile = Profile { train_scale: 0.05, ..Profile::tiny() };
    let prepared = b.prepare(&driftbench_core::bench::TestSource::Generated { n: 30 }, &profile).expect("test sets");
    let record = prepared.run("position-wise", 1, &driftbench::provenance(1), &|_, _| {}).expect("runs");
    assert_eq!(record.config["family"], serde_json::json!({"position-wise-mlp": {"hidden": 64}}));
    assert_eq!(record.config["train"]["steps"], serde_json::json!(150), "the profile scales its steps");
    assert!(record.training.val_exact.is_some() && !record.training.curve.is_empty(), "validated while training");
    assert!(record.cells.iter().all(|c| c.representability.is_some()), "representability judged on every cell");
    // The config names the family's own hyper-parameters: another width is another learner.
    let wide = SeqLearner::custom("position-wise", PositionWiseFamily { hidden: 128 }, position_wise().0.train);
    assert_ne!(wide, position_wise());
    assert_eq!(position_wise(), position_wise());
}
