//! Network families as [`Learner`]s of any task whose encoding they fit, and trained networks as [`Solver`]s.
use crate::family::{Family, Fit, Net, Trained};
use crate::seq::{
    encode_all, make_batch, predict, set_cross_entropy, AttentionKind, MlpConfig, SeqModel, TransformerConfig,
};
use crate::train::{fit_run, Objective, RunId, TrainConfig, ValScore};
use driftbench_core::solver::{Attempt, Representable};
use driftbench_core::task::assign_slots;
use driftbench_core::SeqTask;
use driftbench_core::{rng, Learner, Profile, Result, SeqClassShape, SeqExample, SolveInfo, Solver};
use driftbench_core::{GridTask, PolicyTask, VecTask};
use serde::{Deserialize, Serialize};

/// A sequence-model family and its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeqFamily {
    /// [`crate::seq::PaddedMlp`].
    Mlp(MlpConfig),
    /// [`crate::seq::Transformer`].
    Transformer(TransformerConfig),
    /// A family defined outside this crate ([`SeqArchitecture`]; docs/adding-a-network.md), recorded as
    /// `{KEY: config}` like the built-in ones.
    #[serde(untagged)]
    Custom(CustomFamily),
}

/// A sequence network family written outside this crate: it builds its model ([`SeqModel`]) for a task's shape
/// and says what it is; [`SeqLearner`] does everything else, as for the built-in families (the training loop and
/// its validation curve, the step budget, errors that name the task and learner, representability, the solver,
/// the attack surface). `docs/adding-a-network.md` walks through one; `tests/toy_reverse.rs` runs it.
pub trait SeqArchitecture: Send + Sync {
    /// The family's key in the learner's recorded config (`{"family": {KEY: config}}`).
    fn key(&self) -> &'static str;
    /// One line for the solver tables.
    fn description(&self) -> String;
    /// The family's hyper-parameters, recorded in every run's config.
    fn config(&self) -> serde_json::Value;
    /// A fresh model for `shape`, its weights drawn from `rng` (the run's seeded init stream).
    fn build(&self, shape: SeqClassShape, rng: &mut rand_chacha::ChaCha8Rng) -> crate::Result<Box<dyn SeqModel>>;
    /// Whether every position has output units of its own (representability is then judged per position, as for
    /// the padded MLP) rather than one head shared by all positions.
    fn per_slot(&self) -> bool {
        false
    }
}

/// A [`SeqArchitecture`] in a [`SeqFamily`]: compared and recorded by its key and config.
#[derive(Clone)]
pub struct CustomFamily(pub std::sync::Arc<dyn SeqArchitecture>);

impl std::fmt::Debug for CustomFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.0.key(), self.0.config())
    }
}

impl PartialEq for CustomFamily {
    fn eq(&self, other: &Self) -> bool {
        self.0.key() == other.0.key() && self.0.config() == other.0.config()
    }
}

impl Serialize for CustomFamily {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0.key(), &self.0.config())?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for CustomFamily {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> std::result::Result<Self, D::Error> {
        Err(serde::de::Error::custom("a custom sequence family is built in code, not read from a config"))
    }
}

/// Learner for [`SeqTask`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeqLearner {
    /// Name on the command line.
    pub name: &'static str,
    /// Model.
    pub family: SeqFamily,
    /// Optimisation.
    pub train: TrainConfig,
}

impl SeqLearner {
    /// The padded MLP with the hyper-parameters chosen on sorting's validation data.
    pub fn mlp() -> Self {
        SeqLearner {
            name: "mlp",
            family: SeqFamily::Mlp(MlpConfig { hidden: vec![256, 256, 256], pairwise: false, input_scale: 100.0 }),
            train: TrainConfig { steps: 4000, batch: 128, lr: 3e-3, weight_decay: 0.01, warmup: 0.05, eval_every: 250 },
        }
    }

    /// The transformer with the hyper-parameters chosen on sorting's validation data.
    pub fn transformer() -> Self {
        SeqLearner {
            name: "transformer",
            family: SeqFamily::Transformer(TransformerConfig {
                d_model: 64,
                heads: 4,
                layers: 2,
                ffn: 128,
                pair_hidden: 0,
                attention: AttentionKind::Sigmoid,
                layer_norm: false,
            }),
            train: TrainConfig { steps: 1000, batch: 64, lr: 2e-3, weight_decay: 0.01, warmup: 0.05, eval_every: 250 },
        }
    }

    /// A learner of a family written outside this crate ([`SeqArchitecture`]), named `name` on the command line
    /// and in records, trained by `train`.
    pub fn custom(name: &'static str, family: impl SeqArchitecture + 'static, train: TrainConfig) -> Net<Self> {
        Net(SeqLearner { name, family: SeqFamily::Custom(CustomFamily(std::sync::Arc::new(family))), train })
    }

    /// Steps under `profile`.
    pub fn steps(&self, profile: &Profile) -> u64 {
        profile.scale_steps(self.train.steps)
    }

    /// A fresh model of this learner's family for `shape`, its weights from `rng`.
    pub fn build(&self, shape: SeqClassShape, rng: &mut rand_chacha::ChaCha8Rng) -> crate::Result<Box<dyn SeqModel>> {
        Ok(match &self.family {
            SeqFamily::Mlp(c) => Box::new(c.init(shape, rng)?),
            SeqFamily::Transformer(c) => Box::new(c.init(shape, rng)?),
            SeqFamily::Custom(c) => c.0.build(shape, rng)?,
        })
    }
}

/// The sequence families ([`SeqTask`]): the padded MLP and the transformer, and for a permutation encoding
/// ([`SeqClassShape::permutation`]) the pointer network and the nearest-list baseline.
pub fn seq_learners<T: SeqTask>(task: &T) -> Vec<Box<dyn Learner<T>>> {
    let mut v: Vec<Box<dyn Learner<T>>> =
        vec![Box::new(Net(SeqLearner::mlp())), Box::new(Net(SeqLearner::transformer()))];
    if task.seq_shape().permutation {
        v.push(Box::new(Net(crate::pointer::PointerLearner::pointer())));
        v.push(Box::new(crate::memorise::NearestList));
    }
    v
}

/// The vector-regression families ([`VecTask`]): the ReLU and tanh MLPs and the nearest-neighbour baseline.
pub fn vec_learners<T: VecTask>() -> Vec<Box<dyn Learner<T>>> {
    vec![
        Box::new(Net(crate::vec::VecLearner::relu())),
        Box::new(Net(crate::vec::VecLearner::tanh())),
        Box::new(Net(crate::vec::NearestNeighbour)),
    ]
}

/// The policy families ([`PolicyTask`]): imitation and PPO.
pub fn policy_learners<T: PolicyTask>() -> Vec<Box<dyn Learner<T>>> {
    vec![Box::new(Net(crate::policy::Imitation::default())), Box::new(Net(crate::ppo::Ppo::default()))]
}

/// The families of a [`GridTask`] (a policy task with whole-world maps): the value-iteration network.
pub fn grid_learners<T: GridTask>() -> Vec<Box<dyn Learner<T>>> {
    vec![Box::new(Net(crate::grid_policy::Vin::default()))]
}

struct SeqObjective<'a, T: SeqTask> {
    task: &'a T,
    model: &'a dyn SeqModel,
    shape: SeqClassShape,
    train: Vec<SeqExample>,
    val: Vec<SeqExample>,
    val_insts: &'a [T::Instance],
}

impl<T: SeqTask> Objective for SeqObjective<'_, T> {
    fn params(&self) -> &crate::layers::Params {
        self.model.params()
    }
    fn n_train(&self) -> usize {
        self.train.len()
    }
    fn loss(&self, idx: &[usize]) -> crate::Result<candle_core::Tensor> {
        let exs: Vec<&SeqExample> = idx.iter().map(|&i| &self.train[i]).collect();
        let longest = exs.iter().map(|e| e.len()).max().unwrap_or(0);
        let b = make_batch(&exs, self.shape, self.model.pad_to(longest), true)?;
        // A padded model scores every slot; the loss only needs the slots some example fills.
        let logits = self.model.forward_prefix(&b.x, &b.mask, longest)?;
        let targets = b.target_logmask.as_ref().expect("targets").narrow(1, 0, longest)?;
        set_cross_entropy(&logits, &targets, &b.mask.narrow(1, 0, longest)?)
    }
    fn validate(&self) -> crate::Result<ValScore> {
        let refs: Vec<&SeqExample> = self.val.iter().collect();
        let scores = predict(self.model, self.shape, &refs)?;
        let c = self.shape.classes;
        let (mut correct, mut positions, mut exact, mut nll) = (0usize, 0usize, 0usize, 0f64);
        for ((ex, s), inst) in self.val.iter().zip(&scores).zip(self.val_insts) {
            for (p, &(lo, hi)) in ex.targets.iter().enumerate() {
                let row = &s[p * c..(p + 1) * c];
                let arg = (0..c).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0) as u32;
                correct += usize::from(lo <= arg && arg <= hi);
                let ok = (lo..=hi).map(|k| (row[k as usize] as f64).exp()).sum::<f64>();
                nll -= ok.max(1e-30).ln();
                positions += 1;
            }
            if self.task.decode_seq(inst, s).is_some_and(|a| self.task.score(inst, &a).success) {
                exact += 1;
            }
        }
        let p = positions.max(1) as f64;
        Ok(ValScore { loss: nll / p, accuracy: correct as f64 / p, exact: exact as f64 / self.val.len().max(1) as f64 })
    }
}

impl<T: SeqTask> Family<T> for SeqLearner {
    fn name(&self) -> &'static str {
        self.name
    }
    fn description(&self) -> String {
        match &self.family {
            SeqFamily::Mlp(c) => {
                format!("ReLU MLP over the padded sequence, hidden {:?}", c.hidden)
            }
            SeqFamily::Transformer(c) => format!(
                "{}-layer encoder, d={}, {} heads, {:?} attention{}",
                c.layers,
                c.d_model,
                c.heads,
                c.attention,
                if c.pair_hidden > 0 { " with value-difference bias" } else { "" }
            ),
            SeqFamily::Custom(c) => c.0.description(),
        }
    }
    fn config(&self, profile: &Profile) -> serde_json::Value {
        crate::train::recorded_config(self, &self.train, profile)
    }
    fn fit(&self, Fit { task, data, profile, seed, progress }: Fit<'_, T>) -> crate::Result<Trained<T>> {
        let shape = task.seq_shape();
        let mut init_rng = rng::stream(seed, task.id(), &format!("init/{}", self.name));
        let model = self.build(shape, &mut init_rng)?;
        let obj = SeqObjective {
            task,
            model: model.as_ref(),
            shape,
            train: encode_all(task, &data.train)?,
            val: encode_all(task, &data.val)?,
            val_insts: &data.val,
        };
        let run = RunId { learner: self.name, task: task.id(), seed };
        let mut stats = fit_run(&obj, &self.train, run, (profile, data.max_epochs), progress)?;
        stats.val_accuracy_name = Some(format!("per-position {} accuracy", task.seq_class_name()));
        let supervised = supervised_units(&obj.train, shape);
        drop(obj);
        let per_slot = match &self.family {
            SeqFamily::Mlp(_) => true,
            SeqFamily::Transformer(_) => false,
            SeqFamily::Custom(c) => c.0.per_slot(),
        };
        Ok((Box::new(NetSolver { model, shape, name: self.name, supervised, per_slot }), stats))
    }
}

/// Which output units received a positive target in `train`: `max_len × classes`, row-major (unit (p, c): class c
/// was correct for position p of some training example).
fn supervised_units(train: &[SeqExample], shape: SeqClassShape) -> Vec<bool> {
    let c = shape.classes;
    let mut seen = vec![false; shape.max_len * c];
    for ex in train {
        for (p, &(lo, hi)) in ex.targets.iter().enumerate().take(shape.max_len) {
            for k in lo as usize..=(hi as usize).min(c.saturating_sub(1)) {
                seen[p * c + k] = true;
            }
        }
    }
    seen
}

/// The one class per position of an ideal output: for a permutation encoding the slots of a permutation the
/// targets accept ([`assign_slots`]), otherwise each position's lowest accepted class (positions are independent,
/// so classes may repeat; `None` only when a permutation encoding's targets admit no permutation).
fn ideal_classes(targets: &[(u32, u32)], permutation: bool) -> Option<Vec<usize>> {
    if permutation {
        assign_slots(targets)
    } else {
        Some(targets.iter().map(|&(lo, _)| lo as usize).collect())
    }
}

/// A trained sequence model answering instances through the task's decoding.
pub struct NetSolver {
    pub(crate) model: Box<dyn SeqModel>,
    pub(crate) shape: SeqClassShape,
    pub(crate) name: &'static str,
    /// [`supervised_units`] of the training set.
    pub(crate) supervised: Vec<bool>,
    /// Whether every position has output units of its own (the padded MLP) rather than one shared head.
    pub(crate) per_slot: bool,
}

impl NetSolver {
    /// See [`Solver::representable`]: the list must fit the model's input, a one-hot output in the classes the
    /// targets accept must decode to a correct answer, and each unit that output uses must have been supervised
    /// (per position for the padded MLP, per class for a shared head).
    fn representable_example(&self, ex: &SeqExample, decodes: impl Fn(&[f32]) -> bool) -> Representable {
        let c = self.shape.classes;
        let n = ex.len();
        let scores = (self.model.pad_to(n) >= n)
            .then(|| ideal_classes(&ex.targets, self.shape.permutation))
            .flatten()
            .and_then(|slots| crate::pointer::slot_scores(&slots, c));
        let Some(scores) = scores else { return Representable::new(false, false) };
        let expressible = decodes(&scores);
        let unit = |p: usize, k: usize| {
            if self.per_slot {
                p < self.shape.max_len && self.supervised[p * c + k]
            } else {
                (0..self.shape.max_len).any(|q| self.supervised[q * c + k])
            }
        };
        // With tied targets any accepted slot will do: a position is supervised if one of its accepted units is.
        let supervised = ex
            .targets
            .iter()
            .enumerate()
            .all(|(p, &(lo, hi))| (lo as usize..=hi as usize).any(|k| k < c && unit(p, k)));
        Representable::new(expressible, expressible && supervised)
    }
}

impl<T: SeqTask> Solver<T> for NetSolver {
    fn solve_batch(&self, task: &T, instances: &[T::Instance]) -> Result<Vec<Attempt<T::Answer>>> {
        driftbench_core::solver::solve_valid(task, instances, |instances| {
            let exs = encode_all(task, instances).map_err(|e| crate::error::solve_error(task.id(), self.name, e))?;
            let refs: Vec<&SeqExample> = exs.iter().collect();
            let scores = predict(self.model.as_ref(), self.shape, &refs)
                .map_err(|e| crate::error::solve_error(task.id(), self.name, e))?;
            Ok(instances
                .iter()
                .zip(&scores)
                .map(|(inst, s)| Attempt { answer: task.decode_seq(inst, s), info: SolveInfo::default() })
                .collect())
        })
    }

    fn attack_surface(&self) -> Option<&dyn driftbench_core::attack::AttackSurface<T>> {
        Some(self)
    }

    fn representable(&self, task: &T, instance: &T::Instance) -> Option<Representable> {
        Some(match task.encode_seq(instance) {
            Some(ex) => self.representable_example(&ex, |scores| {
                task.decode_seq(instance, scores).is_some_and(|a| task.score(instance, &a).success)
            }),
            None => Representable::new(false, false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ideal_classes;

    #[test]
    fn the_ideal_output_of_a_non_permutation_encoding_repeats_classes() {
        // Prefix parity of [1, 0, 1]: classes 1, 1, 0; no permutation of three slots reads like that.
        let targets = [(1, 1), (1, 1), (0, 0)];
        assert_eq!(ideal_classes(&targets, false), Some(vec![1, 1, 0]));
        assert_eq!(ideal_classes(&targets, true), None);
        // A permutation encoding with ties gets distinct slots.
        assert_eq!(ideal_classes(&[(0, 1), (0, 1)], true), Some(vec![0, 1]));
    }
}
