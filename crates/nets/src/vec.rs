//! Vector regression ([`driftbench_core::Encoding::VecRegression`]): MLP families with input and output
//! standardisation, and the nearest-neighbour memorisation baseline.
use crate::error::{NetError, Result};
use crate::family::{Family, Fit, Trained};
use crate::kdtree::KdTree;
use crate::layers::{linear, Linear, Params};
use crate::train::{fit_run, gather_rows, Objective, RunId, TrainConfig, ValScore};
use candle_core::{Device, Module, Tensor};
use driftbench_core::solver::Attempt;
use driftbench_core::VecTask;
use driftbench_core::{rng, Profile, SolveInfo, Solver, SolverKind, TrainData, TrainStats, VecExample, VecShape};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

/// Hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// max(0, x): piecewise linear, extrapolates linearly.
    Relu,
    /// tanh: saturates outside the range it was trained on.
    Tanh,
}

/// Hyper-parameters of a regression MLP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VecMlpConfig {
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Non-linearity.
    pub activation: Activation,
}

/// Per-feature mean and standard deviation, measured on the training examples. A feature that is constant in
/// training keeps scale 1 (centred only), so that drift along it is not amplified without bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardiser {
    pub(crate) mean: Vec<f32>,
    pub(crate) std: Vec<f32>,
}

impl Standardiser {
    fn fit(rows: &[&[f32]]) -> Self {
        let d = rows.first().map_or(0, |r| r.len());
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0f64; d];
        for r in rows {
            for (m, &x) in mean.iter_mut().zip(*r) {
                *m += x as f64 / n;
            }
        }
        let mut var = vec![0f64; d];
        for r in rows {
            for ((v, &x), m) in var.iter_mut().zip(*r).zip(&mean) {
                *v += (x as f64 - m).powi(2) / n;
            }
        }
        let std = var.iter().map(|v| if v.sqrt() < 1e-6 { 1.0 } else { v.sqrt() as f32 }).collect();
        Standardiser { mean: mean.into_iter().map(|m| m as f32).collect(), std }
    }

    fn apply(&self, row: &[f32]) -> Vec<f32> {
        row.iter().zip(&self.mean).zip(&self.std).map(|((x, m), s)| (x - m) / s).collect()
    }

    fn invert(&self, row: &[f32]) -> Vec<f32> {
        row.iter().zip(&self.mean).zip(&self.std).map(|((x, m), s)| x * s + m).collect()
    }
}

/// Per output, the smallest and largest training target: the range the output layer was fitted on. A correct
/// output outside it is an extrapolation ([`driftbench_core::solver::Representable::in_support`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TargetRange {
    lo: Vec<f32>,
    hi: Vec<f32>,
}

impl TargetRange {
    /// The range of `targets`, output by output.
    pub(crate) fn of(targets: &[&[f32]]) -> Self {
        let d = targets.first().map_or(0, |t| t.len());
        let mut range = TargetRange { lo: vec![f32::INFINITY; d], hi: vec![f32::NEG_INFINITY; d] };
        for t in targets {
            for ((lo, hi), &y) in range.lo.iter_mut().zip(range.hi.iter_mut()).zip(*t) {
                *lo = lo.min(y);
                *hi = hi.max(y);
            }
        }
        range
    }

    /// Whether every output of `y` lies within its training range.
    pub(crate) fn contains(&self, y: &[f32]) -> bool {
        y.len() == self.lo.len()
            && y.iter().zip(self.lo.iter().zip(&self.hi)).all(|(v, (lo, hi))| (lo..=hi).contains(&v))
    }
}

/// Correct outputs of test sets already computed in this process, by (task, fingerprint of the instances); each
/// slot is filled once, by whichever solver asks first, while the others wait for it.
type CorrectCache = Mutex<HashMap<(&'static str, u64), Arc<OnceLock<Arc<Vec<Option<Vec<f32>>>>>>>>;

/// Test sets kept before [`correct_outputs`]'s cache is emptied (a task's canonical test sets are 17).
const CORRECT_CACHE_LIMIT: usize = 256;

/// The correct output on `inst`: the hand-written solver's answer, encoded ([`VecTask::encode_vec_answer`]);
/// `None` when it has no encoding.
fn correct_output<T: VecTask>(task: &T, inst: &T::Instance) -> Option<Vec<f32>> {
    task.encode_vec_answer(inst, &task.solve_symbolic(inst).0)
}

/// [`correct_output`] on every instance of a batch, through the task's batched solver
/// ([`driftbench_core::Task::solve_symbolic_batch`], which must equal the single one). Every regression solver of
/// every seed asks for the same test sets, and the hand-written solver can be costly (rocket shoots on its
/// simulator), so each set is solved once per process.
fn correct_outputs<T: VecTask>(task: &T, instances: &[T::Instance]) -> Arc<Vec<Option<Vec<f32>>>> {
    static CACHE: OnceLock<CorrectCache> = OnceLock::new();
    let mut h = std::hash::DefaultHasher::new();
    instances.len().hash(&mut h);
    for i in instances {
        serde_json::to_string(i).unwrap_or_default().hash(&mut h);
    }
    let slot = {
        let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CORRECT_CACHE_LIMIT {
            cache.clear();
        }
        cache.entry((task.id(), h.finish())).or_default().clone()
    };
    slot.get_or_init(|| {
        let solved = task.solve_symbolic_batch(instances);
        Arc::new(instances.iter().zip(&solved).map(|(i, (a, _))| task.encode_vec_answer(i, a)).collect())
    })
    .clone()
}

/// Whether the instance encodes to an input of `inputs` finite features.
fn fits<T: VecTask>(task: &T, inst: &T::Instance, inputs: usize) -> bool {
    task.encode_vec(inst).is_some_and(|x| x.len() == inputs && x.iter().all(|v| v.is_finite()))
}

/// Whether a regression solver with `inputs` inputs, fitted on targets in `range`, could give the correct answer on
/// `inst` whose correct output is `correct`: the instance must encode to its input (expressible, and supervised,
/// since every output unit was trained on every example), and the correct output must lie within the training
/// targets' range, output by output (`in_support`; an instance with no encoded correct answer is outside it).
fn reach(fits: bool, correct: Option<&[f32]>, range: &TargetRange) -> driftbench_core::solver::Representable {
    if !fits {
        return driftbench_core::solver::Representable::new(false, false);
    }
    let in_support = correct.is_some_and(|y| range.contains(y));
    driftbench_core::solver::Representable { expressible: true, supervised: true, in_support }
}

/// [`reach`] on one instance.
pub(crate) fn representable_vec<T: VecTask>(
    task: &T,
    inst: &T::Instance,
    inputs: usize,
    range: &TargetRange,
) -> driftbench_core::solver::Representable {
    let fits = fits(task, inst, inputs);
    let correct = if fits { correct_output(task, inst) } else { None };
    reach(fits, correct.as_deref(), range)
}

/// [`reach`] on a batch, the correct outputs solved together ([`correct_outputs`]).
pub(crate) fn representable_vec_batch<T: VecTask>(
    task: &T,
    instances: &[T::Instance],
    inputs: usize,
    range: &TargetRange,
) -> Vec<driftbench_core::solver::Representable> {
    let fit: Vec<bool> = instances.par_iter().map(|i| fits(task, i, inputs)).collect();
    // Only instances that fit are solved (the others may be ones the task rejects, which its solver need not take).
    let fitting: Vec<T::Instance> = instances.iter().zip(&fit).filter(|(_, f)| **f).map(|(i, _)| i.clone()).collect();
    let correct = correct_outputs(task, &fitting);
    let mut correct = correct.iter();
    fit.iter().map(|&f| reach(f, if f { correct.next().and_then(|y| y.as_deref()) } else { None }, range)).collect()
}

/// What a regression learner observes, for its records.
fn observes_vec<T: VecTask>(task: &T) -> String {
    format!("{} (standardised by the training examples' mean and spread)", task.input_description())
}

/// A regression MLP with its standardisers.
pub struct VecMlp {
    layers: Vec<Linear>,
    activation: Activation,
    params: Params,
    pub(crate) x_std: Standardiser,
    pub(crate) y_std: Standardiser,
}

impl VecMlp {
    /// An untrained model from `inputs` to `outputs` with identity standardisers (for the step benchmarks).
    pub fn untrained(inputs: usize, cfg: &VecMlpConfig, outputs: usize, rng: &mut ChaCha8Rng) -> Result<Self> {
        let mut params = Params::default();
        let mut dims = vec![inputs];
        dims.extend(&cfg.hidden);
        dims.push(outputs);
        let layers = dims.windows(2).map(|w| linear(w[0], w[1], &mut params, rng)).collect::<Result<Vec<_>>>()?;
        let identity = |d: usize| Standardiser { mean: vec![0.0; d], std: vec![1.0; d] };
        Ok(VecMlp { layers, activation: cfg.activation, params, x_std: identity(inputs), y_std: identity(outputs) })
    }

    /// The trainable parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Standardised outputs for standardised inputs.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = match self.activation {
                    Activation::Relu => h.relu()?,
                    Activation::Tanh => crate::kernels::tanh(&h)?,
                };
            }
        }
        Ok(h)
    }

    /// Predicts outputs (in task units) for raw input rows.
    pub fn predict(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(1024) {
            let rows: Vec<f32> = chunk.iter().flat_map(|r| self.x_std.apply(r)).collect();
            let x = Tensor::from_vec(rows, (chunk.len(), self.x_std.mean.len()), &Device::Cpu)?;
            for row in self.forward(&x)?.to_vec2::<f32>()? {
                out.push(self.y_std.invert(&row));
            }
        }
        Ok(out)
    }
}

/// Learner for [`Encoding::VecRegression`] tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VecLearner {
    /// Name on the command line.
    pub name: &'static str,
    /// Model.
    pub model: VecMlpConfig,
    /// Optimisation.
    pub train: TrainConfig,
}

impl VecLearner {
    /// ReLU MLP, hyper-parameters chosen on in-distribution validation data.
    pub fn relu() -> Self {
        VecLearner {
            name: "mlp",
            model: VecMlpConfig { hidden: vec![128, 128], activation: Activation::Relu },
            train: TrainConfig { steps: 3000, batch: 256, lr: 3e-3, weight_decay: 1e-4, warmup: 0.05, eval_every: 500 },
        }
    }

    /// Deeper tanh MLP, hyper-parameters chosen on in-distribution validation data.
    pub fn tanh() -> Self {
        VecLearner {
            name: "mlp-tanh",
            model: VecMlpConfig { hidden: vec![128, 128, 128], activation: Activation::Tanh },
            train: TrainConfig { steps: 3000, batch: 256, lr: 3e-3, weight_decay: 1e-4, warmup: 0.05, eval_every: 500 },
        }
    }
}

fn shape_of<T: VecTask>(task: &T) -> Result<VecShape> {
    Ok(task.vec_shape())
}

fn inputs_of<T: VecTask>(task: &T, insts: &[T::Instance]) -> Result<Vec<Vec<f32>>> {
    insts
        .iter()
        .map(|i| task.encode_vec(i).ok_or_else(|| NetError::Encoding(format!("{} gave no vector encoding", task.id()))))
        .collect()
}

fn check_examples(shape: VecShape, exs: &[VecExample]) -> Result<()> {
    if exs.is_empty() {
        return Err(NetError::NoData);
    }
    for e in exs {
        if e.input.len() != shape.inputs || e.target.len() != shape.outputs {
            return Err(NetError::Encoding("example does not match the declared vector shape".into()));
        }
        if e.input.iter().chain(&e.target).any(|x| !x.is_finite()) {
            return Err(NetError::Encoding("non-finite value in a training example".into()));
        }
    }
    Ok(())
}

/// Success rate (and strict-success rate, when the task has one) of `answers` on `insts`.
/// The task's strict criterion's name, for a task that has one ([`driftbench_core::Task::strict_success`]).
fn strict_name<T: VecTask>(task: &T) -> Option<String> {
    task.strict_success(&driftbench_core::Outcome::new(true, 0.0)).map(|_| task.strict_name().to_string())
}

fn success_rates<T: VecTask>(task: &T, insts: &[T::Instance], outputs: &[Vec<f32>]) -> (f64, f64) {
    let outcomes: Vec<_> = insts
        .par_iter()
        .zip(outputs.par_iter())
        .map(|(i, o)| task.decode_vec(i, o).map(|a| task.score(i, &a)))
        .collect();
    let n = insts.len().max(1) as f64;
    let ok = outcomes.iter().filter(|o| o.is_some_and(|o| o.success)).count() as f64 / n;
    let strict =
        outcomes.iter().filter(|o| o.is_some_and(|o| task.strict_success(&o).unwrap_or(o.success))).count() as f64 / n;
    (ok, strict)
}

struct VecObjective<'a, T: VecTask> {
    task: &'a T,
    model: &'a VecMlp,
    x: Tensor,
    y: Tensor,
    val_x: Tensor,
    val_y: Tensor,
    val_inputs: Vec<Vec<f32>>,
    val_insts: &'a [T::Instance],
}

impl<T: VecTask> Objective for VecObjective<'_, T> {
    fn params(&self) -> &Params {
        &self.model.params
    }
    fn n_train(&self) -> usize {
        self.x.dim(0).unwrap_or(0)
    }
    fn loss(&self, idx: &[usize]) -> Result<Tensor> {
        let pred = self.model.forward(&gather_rows(&self.x, idx)?)?;
        Ok((pred - gather_rows(&self.y, idx)?)?.sqr()?.mean_all()?)
    }
    fn validate(&self) -> Result<ValScore> {
        let loss = (self.model.forward(&self.val_x)? - &self.val_y)?.sqr()?.mean_all()?.to_scalar::<f32>()? as f64;
        let outputs = self.model.predict(&self.val_inputs)?;
        let (ok, strict) = success_rates(self.task, self.val_insts, &outputs);
        Ok(ValScore { loss, accuracy: strict, exact: ok })
    }
}

fn standardised_tensor(rows: &[&[f32]], s: &Standardiser) -> Result<Tensor> {
    let d = s.mean.len();
    let data: Vec<f32> = rows.iter().flat_map(|r| s.apply(r)).collect();
    Ok(Tensor::from_vec(data, (rows.len(), d), &Device::Cpu)?)
}

/// Training examples, the trials they cost, and validation examples of the same kind.
type Sets = (Vec<VecExample>, u64, Vec<VecExample>);

/// Sets already drawn in this process, by (task, seed, fingerprint of the instances); each slot is filled once.
type SetCache = Mutex<HashMap<(String, u64, u64), Arc<OnceLock<Arc<Sets>>>>>;

/// Draws the training examples and a validation set of the same kind (trials from the validation instances).
///
/// The draw is a pure function of the task, the seed and the instances, and every regression learner of a
/// seed asks for the same one (a rocket run simulates 100,000 trials, about 7 core-seconds), so it is drawn once
/// per process and shared: the learners get exactly the examples they would have drawn themselves.
fn draw_sets<T: VecTask>(task: &T, data: &TrainData<T>, seed: u64) -> Arc<Sets> {
    static CACHE: OnceLock<SetCache> = OnceLock::new();
    let mut h = std::hash::DefaultHasher::new();
    for (part, insts) in [("train", &data.train), ("val", &data.val)] {
        part.hash(&mut h);
        insts.len().hash(&mut h);
        for i in insts.iter() {
            serde_json::to_string(i).unwrap_or_default().hash(&mut h);
        }
    }
    let key = (task.id().to_string(), seed, h.finish());
    let slot = {
        let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        cache.entry(key).or_default().clone()
    };
    slot.get_or_init(|| {
        let (train, trials) = task.vec_training_set(&data.train, &mut rng::stream(seed, task.id(), "trials/train"));
        let (val, _) = task.vec_training_set(&data.val, &mut rng::stream(seed, task.id(), "trials/val"));
        Arc::new((train, trials, val))
    })
    .clone()
}

impl<T: VecTask> Family<T> for VecLearner {
    fn name(&self) -> &'static str {
        self.name
    }
    fn description(&self) -> String {
        format!("{:?} MLP, hidden {:?}", self.model.activation, self.model.hidden)
    }
    fn describe(&self, task: &T) -> String {
        format!("{}, trained on {}", <Self as Family<T>>::description(self), task.vec_example_names().1)
    }
    fn observes(&self, task: &T) -> String {
        observes_vec(task)
    }
    fn config(&self, profile: &Profile) -> serde_json::Value {
        crate::train::recorded_config(self, &self.train, profile)
    }
    fn fit(&self, Fit { task, data, profile, seed, progress }: Fit<'_, T>) -> Result<Trained<T>> {
        let shape = shape_of(task)?;
        let sets = draw_sets(task, data, seed);
        let (train, trials, val) = (&sets.0, sets.1, &sets.2);
        check_examples(shape, train)?;
        check_examples(shape, val)?;
        let xs: Vec<&[f32]> = train.iter().map(|e| e.input.as_slice()).collect();
        let ys: Vec<&[f32]> = train.iter().map(|e| e.target.as_slice()).collect();
        let (x_std, y_std) = (Standardiser::fit(&xs), Standardiser::fit(&ys));
        let targets = TargetRange::of(&ys);
        let mut init = rng::stream(seed, task.id(), &format!("init/{}", self.name));
        let mut params = Params::default();
        let mut dims = vec![shape.inputs];
        dims.extend(&self.model.hidden);
        dims.push(shape.outputs);
        let layers = dims.windows(2).map(|w| linear(w[0], w[1], &mut params, &mut init)).collect::<Result<Vec<_>>>()?;
        let model = VecMlp { layers, activation: self.model.activation, params, x_std, y_std };
        let vx: Vec<&[f32]> = val.iter().map(|e| e.input.as_slice()).collect();
        let vy: Vec<&[f32]> = val.iter().map(|e| e.target.as_slice()).collect();
        let obj = VecObjective {
            task,
            model: &model,
            x: standardised_tensor(&xs, &model.x_std)?,
            y: standardised_tensor(&ys, &model.y_std)?,
            val_x: standardised_tensor(&vx, &model.x_std)?,
            val_y: standardised_tensor(&vy, &model.y_std)?,
            val_inputs: inputs_of(task, &data.val)?,
            val_insts: &data.val,
        };
        let run = RunId { learner: self.name, task: task.id(), seed };
        let mut stats = fit_run(&obj, &self.train, run, (profile, data.max_epochs), progress)?;
        stats.trials = trials;
        // Only a task with a strict criterion has a strict validation figure to name.
        stats.val_accuracy_name = strict_name(task);
        if stats.val_accuracy_name.is_none() {
            stats.val_accuracy = None;
        }
        Ok((Box::new(VecSolver { model, name: self.name, targets }), stats))
    }
}

pub(crate) struct VecSolver {
    pub(crate) model: VecMlp,
    pub(crate) name: &'static str,
    /// The range of the training targets, output by output.
    pub(crate) targets: TargetRange,
}

impl<T: VecTask> Solver<T> for VecSolver {
    fn solve_batch(&self, task: &T, instances: &[T::Instance]) -> driftbench_core::Result<Vec<Attempt<T::Answer>>> {
        driftbench_core::solver::solve_valid(task, instances, |instances| {
            let outputs = inputs_of(task, instances)
                .and_then(|inputs| self.model.predict(&inputs))
                .map_err(|e| crate::error::solve_error(task.id(), self.name, e))?;
            Ok(instances
                .iter()
                .zip(&outputs)
                .map(|(i, o)| Attempt { answer: task.decode_vec(i, o), info: SolveInfo::default() })
                .collect())
        })
    }

    fn attack_surface(&self) -> Option<&dyn driftbench_core::attack::AttackSurface<T>> {
        Some(self)
    }

    /// The output layer is an unbounded affine map whose every unit was trained on every example, so any answer
    /// is expressible and supervised whenever the instance encodes to the network's input; it is within the
    /// training support when the correct output lies within the training targets' range, output by output.
    fn representable(&self, task: &T, instance: &T::Instance) -> Option<driftbench_core::solver::Representable> {
        Some(representable_vec(task, instance, self.model.x_std.mean.len(), &self.targets))
    }

    fn representable_batch(
        &self,
        task: &T,
        instances: &[T::Instance],
    ) -> Option<Vec<driftbench_core::solver::Representable>> {
        Some(representable_vec_batch(task, instances, self.model.x_std.mean.len(), &self.targets))
    }
}

/// Memorisation baseline: answers with the target of the nearest training example, in standardised input space.
/// The purest local generaliser: it can only repeat what it has seen.
#[derive(Debug, Clone, Copy, Default)]
pub struct NearestNeighbour;

struct NearestSolver {
    /// The range of the training targets, output by output: the only answers it can give lie inside.
    range: TargetRange,
    x_std: Standardiser,
    /// The standardised inputs of the training examples.
    tree: KdTree,
    targets: Vec<Vec<f32>>,
}

impl NearestSolver {
    /// The target of the nearest training input (the first one among equally near), as a linear scan finds it
    /// (the first when no distance is finite).
    fn nearest(&self, query: &[f32]) -> &[f32] {
        &self.targets[self.tree.nearest(&self.x_std.apply(query)).unwrap_or(0)]
    }
}

impl<T: VecTask> Solver<T> for NearestSolver {
    fn solve_batch(&self, task: &T, instances: &[T::Instance]) -> driftbench_core::Result<Vec<Attempt<T::Answer>>> {
        driftbench_core::solver::solve_valid(task, instances, |instances| {
            let inputs =
                inputs_of(task, instances).map_err(|e| crate::error::solve_error(task.id(), "nearest-neighbour", e))?;
            Ok(instances
                .par_iter()
                .zip(inputs.par_iter())
                .map(|(i, x)| Attempt { answer: task.decode_vec(i, self.nearest(x)), info: SolveInfo::default() })
                .collect())
        })
    }

    /// As for the MLPs: within reach when the instance encodes and the correct output lies within the training
    /// targets' range (outside it, no stored answer can be the correct one).
    fn representable(&self, task: &T, instance: &T::Instance) -> Option<driftbench_core::solver::Representable> {
        Some(representable_vec(task, instance, self.x_std.mean.len(), &self.range))
    }

    fn representable_batch(
        &self,
        task: &T,
        instances: &[T::Instance],
    ) -> Option<Vec<driftbench_core::solver::Representable>> {
        Some(representable_vec_batch(task, instances, self.x_std.mean.len(), &self.range))
    }
}

impl<T: VecTask> Family<T> for NearestNeighbour {
    fn name(&self) -> &'static str {
        "nearest-neighbour"
    }
    fn kind(&self) -> SolverKind {
        SolverKind::Baseline
    }
    fn description(&self) -> String {
        "answer of the nearest training example (standardised inputs): pure memorisation".into()
    }
    fn describe(&self, task: &T) -> String {
        format!("answer of the nearest {} (standardised inputs): pure memorisation", task.vec_example_names().0)
    }
    fn observes(&self, task: &T) -> String {
        observes_vec(task)
    }
    fn config(&self, _profile: &Profile) -> serde_json::Value {
        serde_json::json!({ "metric": "euclidean on standardised inputs", "k": 1 })
    }
    fn fit(&self, Fit { task, data, seed, progress, .. }: Fit<'_, T>) -> Result<Trained<T>> {
        let shape = shape_of(task)?;
        let sets = draw_sets(task, data, seed);
        let (train, trials) = (&sets.0, sets.1);
        check_examples(shape, train)?;
        let xs: Vec<&[f32]> = train.iter().map(|e| e.input.as_slice()).collect();
        let x_std = Standardiser::fit(&xs);
        let inputs: Vec<f32> = xs.iter().flat_map(|r| x_std.apply(r)).collect();
        let ys: Vec<&[f32]> = train.iter().map(|e| e.target.as_slice()).collect();
        let solver = NearestSolver {
            range: TargetRange::of(&ys),
            x_std,
            tree: KdTree::new(inputs, shape.inputs),
            targets: train.iter().map(|e| e.target.clone()).collect(),
        };
        let val_inputs = inputs_of(task, &data.val)?;
        let outputs: Vec<Vec<f32>> = val_inputs.par_iter().map(|x| solver.nearest(x).to_vec()).collect();
        let (ok, strict) = success_rates(task, &data.val, &outputs);
        progress(1.0);
        let stats = TrainStats {
            examples: train.len() as u64,
            trials,
            val_accuracy: strict_name(task).map(|_| strict),
            val_accuracy_name: strict_name(task),
            val_exact: Some(ok),
            ..Default::default()
        };
        Ok((Box::new(solver), stats))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::Net;
    use driftbench_core::Learner;

    #[test]
    fn standardiser_round_trips_and_keeps_constant_features_finite() {
        let rows: Vec<Vec<f32>> = vec![vec![1.0, 5.0], vec![3.0, 5.0]];
        let refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
        let s = Standardiser::fit(&refs);
        assert_eq!(s.apply(&[1.0, 5.0]), vec![-1.0, 0.0]);
        assert_eq!(s.apply(&[2.0, 55.0]), vec![0.0, 50.0]);
        assert_eq!(s.invert(&s.apply(&[7.0, 9.0])), vec![7.0, 9.0]);
    }

    #[test]
    fn target_ranges_hold_what_training_saw() {
        let rows: Vec<Vec<f32>> = vec![vec![1.0, -5.0], vec![3.0, 5.0], vec![2.0, 0.0]];
        let refs: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
        let r = TargetRange::of(&refs);
        assert!(r.contains(&[1.0, 5.0]) && r.contains(&[3.0, -5.0]));
        assert!(!r.contains(&[0.9, 0.0]) && !r.contains(&[2.0, 5.1]) && !r.contains(&[2.0]));
        assert!(!r.contains(&[f32::NAN, 0.0]));
    }

    /// A correct launch outside the range of the training launches is marked outside the training support, for
    /// the MLPs and the memorisation baseline alike; a level-0 one is not.
    #[test]
    fn correct_outputs_outside_the_training_targets_are_outside_the_support() {
        use driftbench_core::{Cell, Task};
        use driftbench_tasks::rocket::{RocketInstance, RocketV2};
        let task = RocketV2;
        let mut rng = rng::stream(11, "test", "support");
        let train: Vec<RocketInstance> = (0..2000).map(|_| task.generate(Cell::IN_DIST, &mut rng)).collect();
        let val: Vec<RocketInstance> = (0..20).map(|_| task.generate(Cell::IN_DIST, &mut rng)).collect();
        let data = TrainData { train, val, dropped_overlaps: 0, max_epochs: None };
        // The middle of level 0, and 5,000 m (distance L4): a launch far faster than any training trial.
        let middle =
            RocketInstance { distance: 550.0, flight_time: 11.7, gravity: 9.81, air_density: 1.2, altitude: 25.0 };
        let far = RocketInstance { distance: 5000.0, flight_time: 21.2, ..middle.clone() };
        let learners: [Box<dyn Learner<RocketV2>>; 2] =
            [Box::new(Net(VecLearner::relu())), Box::new(Net(NearestNeighbour))];
        for learner in learners {
            let (solver, _) = learner.train(&task, &data, &Profile::tiny(), 3, &|_| {}).unwrap();
            let near = solver.representable(&task, &middle).unwrap();
            assert!(near.within_reach(), "{}: {near:?}", learner.name());
            let out = solver.representable(&task, &far).unwrap();
            assert!(out.expressible && out.supervised && !out.in_support && !out.within_reach(), "{out:?}");
            // The batched form (the evaluation's) gives the same, an instance that does not encode included.
            let mut batch = vec![middle.clone(), far.clone(), RocketInstance { distance: f64::NAN, ..far.clone() }];
            batch.extend((0..8).map(|_| task.generate(Cell { axis: Some(0), level: 2 }, &mut rng)));
            let one: Vec<_> = batch.iter().map(|i| solver.representable(&task, i).unwrap()).collect();
            assert_eq!(solver.representable_batch(&task, &batch), Some(one.clone()));
            assert!(!one[2].expressible && one[2].in_support, "not assessed where it does not encode");
        }
        assert!(VecLearner::relu().observes(&task).starts_with("target distance, flight time, gravity"));
    }
}
