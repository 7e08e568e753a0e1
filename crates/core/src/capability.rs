//! Capability traits: what a [`Task`] offers beyond generation, scoring and its hand-written solver.
//!
//! The core [`Task`] is all the drift evaluation needs. A task that learners can train on implements one learning
//! shape ([`SeqTask`], [`VecTask`] or [`PolicyTask`], a policy task optionally also [`GridTask`], whole-world
//! maps); a task that takes part in the adversarial experiment also implements [`AttackTask`] (a continuous box
//! around its encoded features) or [`VariantAttackTask`] (discrete variants, for policy tasks). Every learner
//! family is bounded by the trait it reads (the sequence networks by `T: SeqTask`, the regression networks by
//! `T: VecTask`, imitation and PPO by `T: PolicyTask`, the VIN by `T: GridTask`), so a task missing a method is a
//! compile error, not an answer-less run; the registry (`driftbench::Entry`) wires exactly the families and
//! experiments a task's traits allow, and the self-check ([`crate::bench::DynTask::self_check`]) exercises each
//! capability a task registered ([`crate::bench::contract_checks`]).
//!
//! Hooks that take an instance still return `Option`: `None` there means *this instance* cannot be encoded or
//! played (say, one the task's validation rejects), never that the task lacks the capability.
use crate::task::{Episode, PolicyShape, SeqClassShape, SeqExample, Task, VecExample, VecShape};
use rand_chacha::ChaCha8Rng;

/// Per-position classification over a variable-length sequence of feature vectors ([`crate::Encoding::SeqClass`]):
/// the padded MLP, the transformer and (for [`SeqClassShape::permutation`] tasks) the pointer network and the
/// nearest-list baseline train on it.
pub trait SeqTask: Task {
    /// The shape of the encoding: features per position, classes, longest sequence, whether positions matter
    /// and whether the classes are the slots of a permutation.
    fn seq_shape(&self) -> SeqClassShape;

    /// Encodes an instance with its correct targets (used for training and validation data): `len × features`
    /// row-major features and, per position, the inclusive range of correct classes. `None` for an instance the
    /// encoding cannot express.
    fn encode_seq(&self, instance: &Self::Instance) -> Option<SeqExample>;

    /// Turns a network's per-position class log-probabilities (`len × classes`, row-major, each row normalised)
    /// into an answer. The decoding must not call a solver: the network's output has to carry the answer itself.
    fn decode_seq(&self, instance: &Self::Instance, scores: &[f32]) -> Option<Self::Answer>;

    /// What a class means, in the networks' validation column (`per-position {name} accuracy`): sorting's classes
    /// are ranks. Default `class`.
    fn seq_class_name(&self) -> &'static str {
        "class"
    }
}

/// A fixed-length real vector in, a fixed-length real vector out ([`crate::Encoding::VecRegression`]): the
/// regression MLPs and the nearest-neighbour baseline train on it.
pub trait VecTask: Task {
    /// Input and output lengths.
    fn vec_shape(&self) -> VecShape;

    /// Input features of an instance (what a network sees when it answers); `None` for an instance the encoding
    /// cannot express.
    fn encode_vec(&self, instance: &Self::Instance) -> Option<Vec<f32>>;

    /// Turns a regression network's output into an answer.
    fn decode_vec(&self, instance: &Self::Instance, output: &[f32]) -> Option<Self::Answer>;

    /// The output vector that decodes to `answer` (the inverse of [`VecTask::decode_vec`]). The default training
    /// set and the regression attacks measure a network's output against the correct one through it.
    fn encode_vec_answer(&self, instance: &Self::Instance, answer: &Self::Answer) -> Option<Vec<f32>>;

    /// The examples a regression learner trains on, drawn from the training instances, and the number of
    /// simulated trials they cost (recorded in the run record). The default pairs each instance's encoding with
    /// the encoded hand-written answer, at no trials; tasks whose data *are* trials (record an action, observe
    /// where it led) override it.
    fn vec_training_set(&self, train: &[Self::Instance], _rng: &mut ChaCha8Rng) -> (Vec<VecExample>, u64) {
        let examples = train
            .iter()
            .filter_map(|i| {
                let input = self.encode_vec(i)?;
                let target = self.encode_vec_answer(i, &self.solve_symbolic(i).0)?;
                Some(VecExample { input, target })
            })
            .collect();
        (examples, 0)
    }

    /// What one of [`VecTask::vec_training_set`]'s examples is, as (singular, plural), in the regression learners'
    /// descriptions ("trained on ...", "answer of the nearest ..."). The default set's are hand-written answers; a
    /// task that overrides the set says what it records instead (rocket: `recorded trial`, `recorded trials`).
    fn vec_example_names(&self) -> (&'static str, &'static str) {
        ("instance answered by the hand-written solver", "instances answered by the hand-written solver")
    }

    /// What [`VecTask::encode_vec`]'s features are, in a few words (e.g. `target distance, flight time, gravity, air
    /// density and launch altitude`), for what the regression learners' records say they observe
    /// ([`crate::Learner::observes`]).
    fn input_description(&self) -> &'static str {
        "the task's vector encoding of the whole instance"
    }
}

/// An agent acting in an episode ([`crate::Encoding::Policy`]): an observation vector in, one of a few discrete
/// actions out. Imitation and PPO train on it (the value-iteration network too, on a [`GridTask`]).
pub trait PolicyTask: Task {
    /// Observation length and number of actions.
    fn policy_shape(&self) -> PolicyShape;

    /// Starts an episode on an instance (a Gymnasium-like environment, already reset); `None` for an instance
    /// that cannot be played.
    fn episode(&self, instance: &Self::Instance) -> Option<Box<dyn Episode>>;

    /// The expert's actions on an instance (for imitation), e.g. the symbolic planner's.
    fn demonstration(&self, instance: &Self::Instance) -> Option<Vec<usize>>;

    /// The expert's next action in the state reached by taking `taken` from the start (for imitation learners
    /// that query the expert in the states their own policy visits, as DAgger does); `None` when the episode is
    /// over or the expert has no answer.
    fn expert_action(&self, instance: &Self::Instance, taken: &[usize]) -> Option<usize>;

    /// [`PolicyTask::expert_action`] after each prefix of `taken`: element k answers `taken[..k]`, for k in
    /// `0..taken.len()` (the states a run decided in). A task overrides it when playing the run once is cheaper
    /// than replaying every prefix; the answers must be the same.
    fn expert_actions(&self, instance: &Self::Instance, taken: &[usize]) -> Vec<Option<usize>> {
        (0..taken.len()).map(|k| self.expert_action(instance, &taken[..k])).collect()
    }

    /// The answer made of the actions an agent took.
    fn answer_from_actions(&self, instance: &Self::Instance, actions: &[usize]) -> Option<Self::Answer>;

    /// What a policy reading [`crate::Episode::observe`] observes each tick, in a few words, for the records and
    /// the task page's information table (e.g. `a 9x9 window around the agent, cars one tick ahead`); the policy
    /// learners add their own memory to it.
    fn policy_observes(&self) -> &'static str {
        "the task's flat policy observation"
    }
}

/// A [`PolicyTask`] whose episodes also show the whole world as a stack of maps ([`Episode::observe_grid`]), for
/// policies that read any world size: the value-iteration network trains on it.
pub trait GridTask: PolicyTask {
    /// Maps in every grid observation ([`crate::task::GridObservation::channels`]), whatever the world's size.
    fn grid_channels(&self) -> usize;

    /// What a policy reading [`crate::Episode::observe_grid`] observes each tick, in a few words (see
    /// [`PolicyTask::policy_observes`]).
    fn grid_observes(&self) -> &'static str {
        "the task's whole-world maps"
    }
}

/// The continuous adversarial experiment ([`crate::attack`]) on a [`SeqTask`] or [`VecTask`]: a box around the
/// encoded input features ([`SeqTask::encode_seq`] features or [`VecTask::encode_vec`]) inside which the question
/// does not change.
pub trait AttackTask: Task {
    /// For each encoded input feature, the largest move at budget 1 that leaves the question unchanged (0 for a
    /// feature that must not move). `None`: this instance takes no part.
    fn attack_radius(&self, instance: &Self::Instance) -> Option<Vec<f32>>;

    /// The instance that perturbed `features` describe, against which an answer given on them is judged (and
    /// which the hand-written control solves); `None` when the features are not a perturbation the task allows
    /// (wrong length, not finite, or beyond [`AttackTask::attack_radius`]).
    fn attacked_instance(&self, instance: &Self::Instance, features: &[f32]) -> Option<Self::Instance>;

    /// What a budget of 1 means for this task, for tables.
    fn attack_unit(&self) -> &'static str {
        "the largest answer-preserving perturbation"
    }
}

/// The discrete adversarial experiment, for tasks whose input has no small continuous perturbation (navigation).
pub trait VariantAttackTask: Task {
    /// Up to `count` instances drawn from `rng`, each `size` small discrete changes away from `instance` (e.g.
    /// cars added), aimed at where `answer` goes, every one still solvable. Empty: this instance takes no part.
    fn attack_variants(
        &self,
        instance: &Self::Instance,
        answer: &Self::Answer,
        size: usize,
        count: usize,
        rng: &mut ChaCha8Rng,
    ) -> Vec<Self::Instance>;

    /// What one discrete change is, for tables (the budget unit).
    fn variant_unit(&self) -> &'static str;
}
