//! What the protocol sends and reads for each learning shape: the same encodings the built-in networks see, and
//! the same decodings of raw outputs. A shape is chosen at registration, bounded by its capability trait, so a
//! task gets exactly the protocol its encoding allows.
use crate::protocol::numbers;
use driftbench_core::task::Episode;
use driftbench_core::{rng, Encoding, PolicyTask, SeqTask, Task, VecTask};
use serde::Serialize;
use serde_json::Value;

/// An instance as the built-in networks see it, as the protocol sends it (`null` when the shape has no
/// per-instance encoding or the instance has none). Serialised from `f32`, so each number is the shortest text
/// that reads back as the same `f32`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Encoded {
    /// A sequence: one feature row per position, with each position's range of correct classes in training.
    Seq {
        /// One row per position.
        features: Vec<Vec<f32>>,
        /// Per position, the inclusive range `[lo, hi]` of correct classes (training and validation only).
        #[serde(skip_serializing_if = "Option::is_none")]
        targets: Option<Vec<[u32; 2]>>,
    },
    /// A regression input.
    Vector {
        /// The input features.
        input: Vec<f32>,
    },
    /// Nothing to send.
    None,
}

/// The protocol's view of one learning shape.
pub trait Shape<T: Task>: Send + Sync + 'static {
    /// The encoding announced in `hello`.
    fn encoding(task: &T) -> Encoding;
    /// The encoded form of a training or validation instance, with the targets the built-in learners train on
    /// where the shape has per-instance targets.
    fn train_encoded(task: &T, inst: &T::Instance) -> Encoded;
    /// The examples beyond the instances that the built-in learners of the shape train on (recorded trials), as
    /// `(training, validation, trials they cost)`, drawn from the same streams as the built-in learners'.
    fn recorded(_task: &T, _train: &[T::Instance], _val: &[T::Instance], _seed: u64) -> (Recorded, Recorded, u64) {
        (Vec::new(), Vec::new(), 0)
    }
    /// The encoded form of a test instance: inputs only.
    fn test_encoded(task: &T, inst: &T::Instance) -> Encoded;
    /// Raw outputs decoded as the built-in networks' are; `None` for outputs of the wrong size or kind.
    fn decode(task: &T, inst: &T::Instance, output: &Value) -> Option<T::Answer>;
    /// Whether test instances are played as episodes, the program choosing actions.
    fn plays() -> bool {
        false
    }
    /// Starts an episode (policy shapes).
    fn episode(_task: &T, _inst: &T::Instance) -> Option<Box<dyn Episode>> {
        None
    }
    /// Number of actions (policy shapes).
    fn actions(_task: &T) -> usize {
        0
    }
    /// The expert's actions on an instance (policy shapes).
    fn demonstration(_task: &T, _inst: &T::Instance) -> Option<Vec<usize>> {
        None
    }
    /// The answer made of the actions taken (policy shapes).
    fn answer_from_actions(_task: &T, _inst: &T::Instance, _actions: &[usize]) -> Option<T::Answer> {
        None
    }
}

/// Per-position classification over a sequence ([`SeqTask`]).
pub struct Seq;
/// Vector regression ([`VecTask`]).
pub struct Vector;
/// A policy over observations ([`PolicyTask`]).
pub struct Policy;

/// Recorded examples: (input, target) pairs.
pub type Recorded = Vec<driftbench_core::VecExample>;

/// `len × width` row-major values as rows.
fn rows(flat: &[f32], width: usize) -> Vec<Vec<f32>> {
    flat.chunks(width.max(1)).map(<[f32]>::to_vec).collect()
}

impl<T: SeqTask> Shape<T> for Seq {
    fn encoding(task: &T) -> Encoding {
        Encoding::SeqClass(task.seq_shape())
    }
    fn train_encoded(task: &T, inst: &T::Instance) -> Encoded {
        match task.encode_seq(inst) {
            Some(ex) => Encoded::Seq {
                features: rows(&ex.features, task.seq_shape().features),
                targets: Some(ex.targets.iter().map(|&(lo, hi)| [lo, hi]).collect()),
            },
            None => Encoded::None,
        }
    }
    fn test_encoded(task: &T, inst: &T::Instance) -> Encoded {
        match task.encode_seq(inst) {
            Some(ex) => Encoded::Seq { features: rows(&ex.features, task.seq_shape().features), targets: None },
            None => Encoded::None,
        }
    }
    fn decode(task: &T, inst: &T::Instance, output: &Value) -> Option<T::Answer> {
        let positions = task.encode_seq(inst)?.len();
        let scores = numbers(output)?;
        (scores.len() == positions * task.seq_shape().classes).then_some(())?;
        task.decode_seq(inst, &scores)
    }
}

impl<T: VecTask> Shape<T> for Vector {
    fn encoding(task: &T) -> Encoding {
        Encoding::VecRegression(task.vec_shape())
    }
    fn train_encoded(task: &T, inst: &T::Instance) -> Encoded {
        // No per-instance target: the regression learners train on the recorded examples (which, for tasks whose
        // data are trials, pair other inputs with their targets).
        Self::test_encoded(task, inst)
    }
    fn recorded(task: &T, train: &[T::Instance], val: &[T::Instance], seed: u64) -> (Recorded, Recorded, u64) {
        let (t, trials) = task.vec_training_set(train, &mut rng::stream(seed, task.id(), "trials/train"));
        let (v, _) = task.vec_training_set(val, &mut rng::stream(seed, task.id(), "trials/val"));
        (t, v, trials)
    }
    fn test_encoded(task: &T, inst: &T::Instance) -> Encoded {
        task.encode_vec(inst).map_or(Encoded::None, |input| Encoded::Vector { input })
    }
    fn decode(task: &T, inst: &T::Instance, output: &Value) -> Option<T::Answer> {
        let y = numbers(output)?;
        (y.len() == task.vec_shape().outputs).then_some(())?;
        task.decode_vec(inst, &y)
    }
}

impl<T: PolicyTask> Shape<T> for Policy {
    fn encoding(task: &T) -> Encoding {
        Encoding::Policy(task.policy_shape())
    }
    fn train_encoded(_task: &T, _inst: &T::Instance) -> Encoded {
        // Observations come from `reset` and `step`, demonstrations from `demonstrate`: both counted.
        Encoded::None
    }
    fn test_encoded(_task: &T, _inst: &T::Instance) -> Encoded {
        Encoded::None
    }
    fn decode(_task: &T, _inst: &T::Instance, _output: &Value) -> Option<T::Answer> {
        None
    }
    fn plays() -> bool {
        true
    }
    fn episode(task: &T, inst: &T::Instance) -> Option<Box<dyn Episode>> {
        task.episode(inst)
    }
    fn actions(task: &T) -> usize {
        task.policy_shape().actions
    }
    fn demonstration(task: &T, inst: &T::Instance) -> Option<Vec<usize>> {
        task.demonstration(inst)
    }
    fn answer_from_actions(task: &T, inst: &T::Instance, actions: &[usize]) -> Option<T::Answer> {
        task.answer_from_actions(inst, actions)
    }
}
