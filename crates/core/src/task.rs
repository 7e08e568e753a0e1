//! The task abstraction: one impl supplies everything a benchmark needs to know about a task.
use crate::axis::{AxisSpec, Cell};
pub use crate::capability::{AttackTask, PolicyTask, SeqTask, VariantAttackTask, VecTask};
use crate::data::SolveInfo;
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// How an answer fared, judged by the task's own rules (never by comparison with another solver).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Whether the answer counts as a success.
    pub success: bool,
    /// The task's secondary metric (named by [`Task::metric_name`]), e.g. per-position accuracy.
    pub metric: f64,
    /// How a failure happened, where the task distinguishes (e.g. `death`, `timeout`); counted per cell.
    pub failure: Option<&'static str>,
}

impl Outcome {
    /// An outcome with no failure category.
    pub fn new(success: bool, metric: f64) -> Self {
        Outcome { success, metric, failure: None }
    }

    /// How a solver's attempt on `instance` fared: the task's score of its answer, or a failure of kind
    /// `no answer` with [`Task::no_answer_metric`] when it gave none.
    pub fn of<T: Task + ?Sized>(task: &T, instance: &T::Instance, answer: Option<&T::Answer>) -> Self {
        match answer {
            Some(a) => task.score(instance, a),
            None => Outcome { success: false, metric: task.no_answer_metric(), failure: Some("no answer") },
        }
    }
}

/// The learning shapes that the nets crate has generic models for, as a description: a task offers one by
/// implementing its capability trait ([`SeqTask`], [`VecTask`] or [`PolicyTask`]), and its registry line records
/// it here ([`crate::bench::DynTask::encoding`]). A task that fits a shape gets networks without writing any
/// network code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Encoding {
    /// The task offers no network encoding.
    None,
    /// Per-position classification over a variable-length sequence of feature vectors.
    SeqClass(SeqClassShape),
    /// A fixed-length real vector in, a fixed-length real vector out.
    VecRegression(VecShape),
    /// An agent acting in an episode: an observation vector in, one of a few discrete actions out.
    Policy(PolicyShape),
}

/// Dimensions of a policy problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PolicyShape {
    /// Observation features.
    pub observation: usize,
    /// Number of discrete actions.
    pub actions: usize,
}

/// What one step of an [`Episode`] led to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeStep {
    /// Reward for the step (the task documents its reward).
    pub reward: f32,
    /// The episode is over (goal reached, death, or step limit).
    pub done: bool,
    /// The agent died on this step.
    pub died: bool,
    /// The agent reached its goal on this step.
    pub reached: bool,
}

/// A running episode of a [`Encoding::Policy`] task (a Gymnasium-like environment, already reset).
pub trait Episode: Send + Sync {
    /// The current observation.
    fn observe(&self) -> Vec<f32>;
    /// Takes one action (an index below [`PolicyShape::actions`]).
    fn step(&mut self, action: usize) -> EpisodeStep;
    /// The whole world as a stack of maps, for size-agnostic (convolutional) policies; `None` when the task
    /// offers only the flat observation.
    fn observe_grid(&self) -> Option<GridObservation> {
        None
    }
    /// The agent's cell, as [`Episode::observe_grid`] gives it (`None` without a grid). Override it when the grid
    /// is costly to build and the cell is at hand: policies that remember where they have been ask every tick.
    fn agent_cell(&self) -> Option<(usize, usize)> {
        self.observe_grid().map(|g| g.agent)
    }
}

/// The whole world around an agent as `channels` maps of `height × width` cells (e.g. buildings, goal, cars now
/// and over the next ticks), with the agent's cell. Worlds of different sizes give maps of different sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct GridObservation {
    /// Number of maps.
    pub channels: usize,
    /// Rows of every map.
    pub height: usize,
    /// Columns of every map.
    pub width: usize,
    /// Channel-major, then row-major: the value of channel c at (x, y) is `data[(c * height + y) * width + x]`.
    pub data: Vec<f32>,
    /// The agent's cell, (x, y).
    pub agent: (usize, usize),
    /// The first `static_channels` maps stay the same for the whole episode (e.g. the city and the goal); the
    /// others may change every step.
    pub static_channels: usize,
    /// The value of each channel beyond the edge of the world (e.g. 1 for "building"), to pad with.
    pub outside: Vec<f32>,
}

impl GridObservation {
    /// Checks that the sizes agree with each other.
    pub fn check(&self) -> Result<(), String> {
        let cells = self.channels * self.height * self.width;
        if self.data.len() != cells || self.outside.len() != self.channels {
            return Err(format!(
                "grid observation of {} values and {} outside values for {} channels of {}x{}",
                self.data.len(),
                self.outside.len(),
                self.channels,
                self.width,
                self.height
            ));
        }
        if self.agent.0 >= self.width || self.agent.1 >= self.height || self.static_channels > self.channels {
            return Err(format!(
                "agent {:?} outside a {}x{} grid, or {} static of {} channels",
                self.agent, self.width, self.height, self.static_channels, self.channels
            ));
        }
        Ok(())
    }
}

/// Dimensions of a vector-regression problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct VecShape {
    /// Input features.
    pub inputs: usize,
    /// Regression outputs.
    pub outputs: usize,
}

/// One training example for [`Encoding::VecRegression`].
#[derive(Debug, Clone, PartialEq)]
pub struct VecExample {
    /// Input features.
    pub input: Vec<f32>,
    /// Target outputs.
    pub target: Vec<f32>,
}

/// Dimensions of a per-position classification problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SeqClassShape {
    /// Features per position.
    pub features: usize,
    /// Number of classes per position.
    pub classes: usize,
    /// Longest sequence at any drift level (padded models are this wide).
    pub max_len: usize,
    /// Whether the answer depends on where an element sits, not only on the values of the elements (reversing a
    /// list: yes; sorting: no). When it does, every network receives each element's index from the start and
    /// from the end of the sequence as two extra features (see `docs/adding-a-task.md`); when it does not, the
    /// registry-wide check asserts that positions with equal features get equal targets.
    #[serde(default)]
    pub positional: bool,
    /// Whether the classes are the output slots of a permutation of the input (class k at position i: element i
    /// goes to slot k of the answer, as a sort or a reversal does). Pointer networks, which read the answer off
    /// pointers between input elements instead of fixed classes, are offered only for such tasks.
    #[serde(default)]
    pub permutation: bool,
}

/// One encoded training example for [`Encoding::SeqClass`].
#[derive(Debug, Clone, PartialEq)]
pub struct SeqExample {
    /// Row-major `len × features` input.
    pub features: Vec<f32>,
    /// For each position, the inclusive range of classes that count as correct (a range, because ties can make
    /// several classes right, e.g. equal values in a sort).
    pub targets: Vec<(u32, u32)>,
}

impl SeqExample {
    /// Number of positions.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether the sequence is empty.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// One class per position such that no two positions share a class and each class lies in its position's target
/// range: the output slots of a permutation that the targets accept (`None` when there is none). Greedy by the
/// ranges' upper ends, which is optimal for interval assignment.
pub fn assign_slots(targets: &[(u32, u32)]) -> Option<Vec<usize>> {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by_key(|&p| (targets[p].1, targets[p].0, p));
    let mut used = std::collections::BTreeSet::new();
    let mut slots = vec![0usize; targets.len()];
    for p in order {
        let (lo, hi) = targets[p];
        let k = (lo..=hi).find(|k| !used.contains(k))?;
        used.insert(k);
        slots[p] = k as usize;
    }
    Some(slots)
}

/// A benchmark task: generation, validation, scoring, the hand-written solver, names, axes and presentation.
/// Implement this once per task; what a task offers to learners and experiments beyond that it declares with the
/// capability traits of [`crate::capability`] ([`SeqTask`], [`VecTask`], [`PolicyTask`], [`AttackTask`],
/// [`VariantAttackTask`]), and the registry wires exactly the learner families those traits allow.
pub trait Task: Send + Sync + 'static {
    /// A problem instance; serialisable so that canonical test sets can be frozen as JSON Lines.
    type Instance: Clone + Send + Sync + Serialize + DeserializeOwned + 'static;
    /// A solver's answer; readable from JSON so that a solver outside the process can give one
    /// (`driftbench-external`).
    type Answer: Clone + Send + Sync + Serialize + DeserializeOwned + 'static;

    /// Versioned id, e.g. `sorting-v1`. Bump the version when the task's meaning changes.
    fn id(&self) -> &'static str;

    /// One sentence on what the task asks.
    fn description(&self) -> &'static str;

    /// Drift axes, each with levels 0..=4 (level 0 is the same training distribution on every axis).
    fn axes(&self) -> &'static [AxisSpec];

    /// Draws one instance of `cell`. Must only return valid instances.
    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> Self::Instance;

    /// Checks that an instance (generated or loaded from a dataset file) is well-formed and solvable: it accepts
    /// exactly what the symbolic solver answers and the scorer can judge, and a rejection names the field at fault.
    fn validate(&self, instance: &Self::Instance) -> Result<(), String>;

    /// What [`Task::validate`] accepts beyond the drift levels (sizes, magnitudes, and why they stop there), one
    /// line for `driftbench list`; empty when there is nothing to say.
    fn limits(&self) -> &'static str {
        ""
    }

    /// Judges an answer by the task's own rules.
    fn score(&self, instance: &Self::Instance, answer: &Self::Answer) -> Outcome;

    /// Name of [`Outcome::metric`] in tables, e.g. `per-position accuracy`.
    fn metric_name(&self) -> &'static str;

    /// The metric recorded when a solver gives no answer (0 for an accuracy).
    fn no_answer_metric(&self) -> f64 {
        0.0
    }

    /// Whether a larger metric is better (accuracy) or worse (miss distance).
    fn metric_higher_is_better(&self) -> bool {
        true
    }

    /// The hand-written symbolic solver.
    fn solve_symbolic(&self, instance: &Self::Instance) -> (Self::Answer, SolveInfo);

    /// [`Task::solve_symbolic`] on many instances at once. A task may override it to batch the solver's work
    /// (e.g. simulations run side by side); the answers and work counts must equal solving each instance alone,
    /// which `driftbench check` verifies.
    fn solve_symbolic_batch(&self, instances: &[Self::Instance]) -> Vec<(Self::Answer, SolveInfo)> {
        use rayon::prelude::*;
        instances.par_iter().map(|i| self.solve_symbolic(i)).collect()
    }

    /// [`Outcome::of`] many attempts at once (`None`: the solver gave no answer). A task whose scorer is costly
    /// (a simulation) may override it to batch the work; the outcomes must equal scoring each attempt alone, which
    /// `driftbench check` verifies.
    fn score_batch(&self, instances: &[Self::Instance], answers: &[Option<&Self::Answer>]) -> Vec<Outcome> {
        use rayon::prelude::*;
        instances.par_iter().zip(answers.par_iter()).map(|(i, a)| Outcome::of(self, i, *a)).collect()
    }

    /// Unit of [`SolveInfo::work`] in tables, e.g. `comparisons` or `simulated trials`.
    fn work_name(&self) -> &'static str {
        "operations"
    }

    /// One line on how the symbolic solver works, for `driftbench list`.
    fn symbolic_description(&self) -> &'static str;

    /// Training instances per seed under the built-in profiles, as (profile name, count), for tasks whose
    /// instances cost more than most (whole episodes); a profile not listed gives the task its `train_examples`.
    /// [`crate::Profile::with_task_sizes`] turns this into the profile's `train_examples_by_task` entry.
    fn train_examples_by_profile(&self) -> &'static [(&'static str, usize)] {
        &[]
    }

    /// Validation instances per seed under the built-in profiles, as (profile name, count), for tasks whose level
    /// 0 is small: validation and training are drawn from what the test sets leave free, validation first, so
    /// a large validation set can eat the training set ([`Self::instance_space`]); a profile not listed gives the
    /// task its `val_examples`. [`crate::Profile::with_task_val_sizes`] turns this into the profile's
    /// `val_examples_by_task` entry.
    fn val_examples_by_profile(&self) -> &'static [(&'static str, usize)] {
        &[]
    }

    /// How many distinct instances `cell` can generate, where the task can say (a small discrete space); `None`
    /// (the default) for a space too large to matter or not countable. `driftbench check` reports it beside the
    /// test-set size, so that a small level 0 shows how little it leaves for training and validation.
    fn instance_space(&self, _cell: Cell) -> Option<u128> {
        None
    }

    /// An SVG picture of one instance and, if given, a solver's answer on it (tasks with something to show).
    fn render_svg(&self, _instance: &Self::Instance, _answer: Option<&Self::Answer>) -> Option<String> {
        None
    }

    /// The cell whose first test instance each run draws with [`Task::render_svg`] for the report: level 0 unless
    /// the task's pictures say more at a far drift level.
    fn picture_cell(&self) -> crate::Cell {
        crate::Cell::IN_DIST
    }

    /// A stricter success criterion reported beside the main one (e.g. a 1% instead of a 5% tolerance), and its
    /// name; `None` when the task has none.
    fn strict_success(&self, _outcome: &Outcome) -> Option<bool> {
        None
    }

    /// Name of [`Task::strict_success`] in tables.
    fn strict_name(&self) -> &'static str {
        "strict success"
    }

    /// Where each axis's levels lie along the factor it drifts, one per axis in [`Task::axes`] order; empty for a
    /// task that does not declare them (the `-v1` tasks). A task that declares them must also declare
    /// [`Task::features`], and `driftbench check` then verifies the placement: level 0 varies along every
    /// factor, the measured distances agree with the declared ones, and every other feature holds its level-0
    /// mean along the axis.
    fn placements(&self) -> &'static [crate::axis::Placement] {
        &[]
    }

    /// The instance features `driftbench check` measures across the levels of every axis (see
    /// [`Task::placements`]); values come from [`Task::measure`] in the same order.
    fn features(&self) -> &'static [crate::axis::Feature] {
        &[]
    }

    /// The value of every [`Task::features`] entry on `instance`, in order.
    fn measure(&self, _instance: &Self::Instance) -> Vec<f64> {
        Vec::new()
    }

    /// What the hand-written solver observes of an instance, for the task page's information table (e.g. `every
    /// car's future position`).
    fn symbolic_observes(&self) -> &'static str {
        "the whole instance"
    }
}
