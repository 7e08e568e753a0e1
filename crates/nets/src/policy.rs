//! Policies ([`driftbench_core::Encoding::Policy`]): an MLP from observation to action scores, trained by imitating
//! the symbolic solver's demonstrations (behaviour cloning, then DAgger), with every death of its own rollouts
//! counted. Reinforcement learning lives in [`crate::ppo`]. The imitation policy also reads its own memory of the cells it has
//! visited in the episode ([`Memory`]).
use crate::error::{NetError, Result};
use crate::family::{Family, Fit, Trained};
use crate::layers::{linear, Linear, Params};
use crate::lockstep::{BatchActor, GreedySolver};
use crate::train::{fit, Objective, TrainConfig, ValScore};
use candle_core::{DType, Device, Module, Tensor, D};
use driftbench_core::PolicyTask;
use driftbench_core::{rng, CompetencePoint, Episode, PolicyShape, Profile, TrainStats};
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::lockstep::MAX_EPISODE;

/// A policy's memory of where it has been in the current episode, as extra observation features: for each cell
/// of a (2r+1)×(2r+1) window centred on the agent (row-major, north-west first), 1 − ½^visits, visits being the
/// ticks the agent has begun on that cell so far. Without it a greedy policy, a function of what it sees, can only
/// repeat itself where its view repeats: walking into the same wall or back and forth between two cells until the
/// step limit. The agent's cell comes from [`driftbench_core::Episode::agent_cell`]; a task that offers no grid
/// gets zeros. Radius 0 adds nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Memory {
    radius: usize,
    visits: std::collections::HashMap<(usize, usize), u32>,
}

impl Memory {
    /// An empty memory of the given window radius.
    pub(crate) fn new(radius: usize) -> Self {
        Memory { radius, visits: Default::default() }
    }

    /// Features added to every observation with `radius`.
    pub(crate) fn features(radius: usize) -> usize {
        if radius == 0 {
            0
        } else {
            (2 * radius + 1).pow(2)
        }
    }

    /// Appends the memory features around `agent` to `obs` and counts this tick's visit of `agent`.
    pub(crate) fn extend(&mut self, obs: &mut Vec<f32>, agent: Option<(usize, usize)>) {
        if self.radius == 0 {
            return;
        }
        let r = self.radius as i64;
        for dy in -r..=r {
            for dx in -r..=r {
                let seen = agent.and_then(|(x, y)| {
                    let (cx, cy) = (x as i64 + dx, y as i64 + dy);
                    (cx >= 0 && cy >= 0).then(|| self.visits.get(&(cx as usize, cy as usize)).copied()).flatten()
                });
                obs.push(1.0 - 0.5f32.powi(seen.unwrap_or(0).min(30) as i32));
            }
        }
        if let Some(a) = agent {
            *self.visits.entry(a).or_default() += 1;
        }
    }

    /// The observation of `ep` with the memory features, counting this tick's visit.
    pub(crate) fn observe(&mut self, ep: &dyn Episode) -> Vec<f32> {
        let mut o = ep.observe();
        if self.radius > 0 {
            self.extend(&mut o, ep.agent_cell());
        }
        o
    }
}

/// How a learner's description names its memory of visited cells (nothing without one).
pub(crate) fn memory_note(radius: usize) -> String {
    if radius == 0 {
        String::new()
    } else {
        format!(", memory of visited cells {0}x{0}", 2 * radius + 1)
    }
}

/// A grid cell, (x, y).
type Cell = (usize, usize);

/// The observations (with memory features) of the episodes at `active`, computed in parallel.
pub(crate) fn observe_all(eps: &[Box<dyn Episode>], memories: &mut [Memory], active: &[usize]) -> Vec<Vec<f32>> {
    let with_grid = memories.first().is_some_and(|m| m.radius > 0);
    let raw: Vec<(Vec<f32>, Option<Cell>)> =
        active.par_iter().map(|&i| (eps[i].observe(), if with_grid { eps[i].agent_cell() } else { None })).collect();
    raw.into_iter()
        .zip(active)
        .map(|((mut o, agent), &i)| {
            memories[i].extend(&mut o, agent);
            o
        })
        .collect()
}

/// A ReLU MLP from observation to action logits.
pub struct PolicyNet {
    layers: Vec<Linear>,
    params: Params,
}

impl PolicyNet {
    fn new(shape: PolicyShape, hidden: &[usize], memory: usize, rng: &mut ChaCha8Rng) -> Result<Self> {
        Self::with_dims(shape.observation + Memory::features(memory), hidden, shape.actions, rng)
    }

    /// A policy from `observation` features through `hidden` widths to `actions` logits.
    pub fn with_dims(observation: usize, hidden: &[usize], actions: usize, rng: &mut ChaCha8Rng) -> Result<Self> {
        let mut params = Params::default();
        let mut dims = vec![observation];
        dims.extend(hidden);
        dims.push(actions);
        // The observation is mostly zeros (a window of binary maps and a memory of few visited cells).
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                Ok(linear(w[0], w[1], &mut params, rng)?).map(|l| if i == 0 { l.with_sparse_input() } else { l })
            })
            .collect::<Result<_>>()?;
        Ok(PolicyNet { layers, params })
    }

    /// The trainable parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Action logits for a batch of observations.
    pub fn logits(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = h.relu()?;
            }
        }
        Ok(h)
    }

    /// Action probabilities for a batch of observations.
    fn probs(&self, obs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        let d = obs[0].len();
        let x = Tensor::from_vec(obs.concat(), (obs.len(), d), &Device::Cpu)?;
        Ok(candle_nn::ops::softmax(&self.logits(&x)?, D::Minus1)?.to_vec2::<f32>()?)
    }
}

/// One finished episode.
struct Rollout {
    actions: Vec<usize>,
    observations: Vec<Vec<f32>>,
    died: bool,
    reached: bool,
}

/// Runs one greedy episode per instance in lockstep (DAgger's rollouts), batching the policy's forward passes and
/// keeping every observation.
fn rollouts<T: PolicyTask>(task: &T, net: &PolicyNet, insts: &[T::Instance], memory: usize) -> Result<Vec<Rollout>> {
    let mut eps = insts
        .iter()
        .map(|i| task.episode(i).ok_or_else(|| NetError::Encoding(format!("{} offers no episodes", task.id()))))
        .collect::<Result<Vec<_>>>()?;
    let mut out: Vec<Rollout> = (0..insts.len())
        .map(|_| Rollout { actions: vec![], observations: vec![], died: false, reached: false })
        .collect();
    let mut active: Vec<usize> = (0..insts.len()).collect();
    let mut memories = vec![Memory::new(memory); insts.len()];
    for _ in 0..MAX_EPISODE {
        if active.is_empty() {
            break;
        }
        let obs = observe_all(&eps, &mut memories, &active);
        let probs = net.probs(&obs)?;
        let actions: Vec<usize> = probs.iter().map(|p| crate::lockstep::greedy(p)).collect();
        let mut still = Vec::with_capacity(active.len());
        for ((&i, o), &a) in active.iter().zip(obs).zip(&actions) {
            let s = eps[i].step(a);
            let r = &mut out[i];
            r.observations.push(o);
            r.actions.push(a);
            r.died |= s.died;
            r.reached |= s.reached;
            if !s.done {
                still.push(i);
            }
        }
        active = still;
    }
    Ok(out)
}

pub(crate) fn shape_of<T: PolicyTask>(task: &T) -> Result<PolicyShape> {
    Ok(task.policy_shape())
}

/// A policy MLP acting greedily in lockstep ([`crate::lockstep`]): the action probabilities of every live episode
/// from one forward pass.
pub(crate) struct MlpActor<'a> {
    net: &'a PolicyNet,
    memory: usize,
}

impl BatchActor for MlpActor<'_> {
    type State = Memory;

    fn start(&self, eps: &[Box<dyn Episode>]) -> Result<Vec<Memory>> {
        Ok(vec![Memory::new(self.memory); eps.len()])
    }

    fn scores(&self, eps: &[Box<dyn Episode>], memories: &mut [Memory], live: &[usize]) -> Result<Vec<Vec<f32>>> {
        // Probabilities, not logits: greedy training rollouts (DAgger) pick from these too.
        self.net.probs(&observe_all(eps, memories, live))
    }
}

/// Greedy success rate on `insts`.
fn evaluate<T: PolicyTask>(task: &T, net: &PolicyNet, insts: &[T::Instance], memory: usize) -> Result<f64> {
    crate::lockstep::success_rate(task, &MlpActor { net, memory }, insts)
}

/// Hyper-parameters of the imitation learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImitationConfig {
    /// Hidden widths of the policy MLP.
    pub hidden: Vec<usize>,
    /// Optimisation (steps are split evenly over the rounds).
    pub train: TrainConfig,
    /// DAgger rounds after plain behaviour cloning: roll the policy out on training instances, label every state
    /// it visits with the expert's action, retrain on everything gathered so far. 0 = behaviour cloning only.
    pub dagger_rounds: usize,
    /// Training instances rolled out per DAgger round.
    pub dagger_episodes: usize,
    /// Radius of the window of visited cells added to the observation ([`Memory`]; 0 = none).
    #[serde(default)]
    pub memory: usize,
}

/// Behaviour cloning of the symbolic solver's demonstrations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imitation(pub ImitationConfig);

impl Default for Imitation {
    fn default() -> Self {
        Imitation(ImitationConfig {
            hidden: vec![256, 256],
            // 3,000 steps validated once per round (was 4,000 every 250) for the suite budget: level-0 validation
            // 92.3 / 94.4% against 92.1 / 94.1% on tuning seeds 100 / 101 (`examples/tune_budget.rs`).
            train: TrainConfig { steps: 3000, batch: 256, lr: 2e-3, weight_decay: 1e-4, warmup: 0.05, eval_every: 750 },
            dagger_rounds: 3,
            dagger_episodes: 2000,
            memory: 2,
        })
    }
}

struct ImitationObjective<'a, T: PolicyTask> {
    task: &'a T,
    net: &'a PolicyNet,
    /// The training pairs so far: `n × dim` observations, row-major, and their expert actions. A batch copies its
    /// rows out (a tensor of the whole set would copy every row each DAgger round).
    x: &'a [f32],
    y: &'a [u32],
    dim: usize,
    val_x: Tensor,
    val_y: Tensor,
    val_insts: &'a [T::Instance],
    memory: usize,
}

impl<T: PolicyTask> Objective for ImitationObjective<'_, T> {
    fn params(&self) -> &Params {
        &self.net.params
    }
    fn n_train(&self) -> usize {
        self.y.len()
    }
    fn loss(&self, idx: &[usize]) -> Result<Tensor> {
        let d = self.dim;
        let mut x = Vec::with_capacity(idx.len() * d);
        for &i in idx {
            x.extend_from_slice(&self.x[i * d..(i + 1) * d]);
        }
        let y: Vec<u32> = idx.iter().map(|&i| self.y[i]).collect();
        let dev = &Device::Cpu;
        let logits = self.net.logits(&Tensor::from_vec(x, (idx.len(), d), dev)?)?;
        Ok(candle_nn::loss::cross_entropy(&logits, &Tensor::from_vec(y, idx.len(), dev)?)?)
    }
    fn validate(&self) -> Result<ValScore> {
        let logits = self.net.logits(&self.val_x)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &self.val_y)?.to_scalar::<f32>()? as f64;
        let agree = logits.argmax(D::Minus1)?.eq(&self.val_y)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()?;
        let success = evaluate(self.task, self.net, self.val_insts, self.memory)?;
        Ok(ValScore { loss, accuracy: agree as f64, exact: success })
    }
}

/// The (observation, expert action) pairs of one demonstration.
type Pairs = Vec<(Vec<f32>, u32)>;

/// The observation values of every pair of `pairs`.
fn pair_floats(pairs: &[Pairs]) -> usize {
    pairs.iter().flatten().map(|(o, _)| o.len()).sum()
}

/// (observation, expert action) pairs from the demonstrations on `insts`.
fn demonstrations<T: PolicyTask>(
    task: &T,
    insts: &[T::Instance],
    memory: usize,
) -> Result<(Vec<f32>, Vec<u32>, usize)> {
    let per: Vec<Result<Pairs>> = insts
        .par_iter()
        .map(|i| {
            let actions = task.demonstration(i).ok_or_else(|| NetError::Encoding("no demonstration".into()))?;
            let mut ep = task.episode(i).ok_or_else(|| NetError::Encoding("no episode".into()))?;
            let mut pairs = Vec::with_capacity(actions.len());
            let mut mem = Memory::new(memory);
            for a in actions {
                pairs.push((mem.observe(&*ep), a as u32));
                if ep.step(a).done {
                    break;
                }
            }
            Ok(pairs)
        })
        .collect();
    let per: Vec<Pairs> = per.into_iter().collect::<Result<_>>()?;
    let (mut x, mut y) = (Vec::with_capacity(pair_floats(&per)), Vec::new());
    for p in per {
        for (o, a) in p {
            x.extend(o);
            y.push(a);
        }
    }
    let n = y.len();
    Ok((x, y, n))
}

impl<T: PolicyTask> Family<T> for Imitation {
    fn name(&self) -> &'static str {
        "imitation"
    }
    fn observes(&self, task: &T) -> String {
        format!("{}{}", task.policy_observes(), memory_note(self.0.memory))
    }
    fn description(&self) -> String {
        format!(
            "policy MLP {:?} cloned from the planner's demonstrations, {} DAgger rounds{}",
            self.0.hidden,
            self.0.dagger_rounds,
            memory_note(self.0.memory)
        )
    }
    fn config(&self, profile: &Profile) -> serde_json::Value {
        crate::train::recorded_config(&self.0, &self.0.train, profile)
    }
    fn fit(&self, Fit { task, data, profile, seed, progress }: Fit<'_, T>) -> Result<Trained<T>> {
        let c = &self.0;
        let shape = shape_of(task)?;
        let (mut x, mut y, mut n) = demonstrations(task, &data.train, c.memory)?;
        let (vx, vy, vn) = demonstrations(task, &data.val, c.memory)?;
        let dim = shape.observation + Memory::features(c.memory);
        if n == 0 {
            return Err(NetError::NoData);
        }
        let net = PolicyNet::new(shape, &c.hidden, c.memory, &mut rng::stream(seed, task.id(), "init/imitation"))?;
        let dev = &Device::Cpu;
        let (val_x, val_y) = (Tensor::from_vec(vx, (vn, dim), dev)?, Tensor::from_vec(vy, vn, dev)?);
        let mut batches = rng::stream(seed, task.id(), "batches/imitation");
        let mut picks = rng::stream(seed, task.id(), "dagger/imitation");
        let rounds = c.dagger_rounds + 1;
        // An epoch cap (the training data's, e.g. in sample-efficiency runs) counts the demonstrations' states.
        let per_round = (driftbench_core::step_budget(profile, c.train.steps, n, c.train.batch, data.max_epochs)
            / rounds as u64)
            .max(1);
        let mut stats = TrainStats::default();
        let (mut deaths, mut queried, mut rolled) = (0u64, 0u64, 0u64);
        for round in 0..rounds {
            if round > 0 {
                // DAgger: the states the policy itself reaches, labelled by the expert.
                let episodes = crate::dagger::episodes(profile, c.dagger_episodes, data.train.len());
                let insts: Vec<T::Instance> =
                    (0..episodes).map(|_| data.train.choose(&mut picks).expect("not empty").clone()).collect();
                let rs = rollouts(task, &net, &insts, c.memory)?;
                rolled += rs.len() as u64;
                deaths += rs.iter().filter(|r| r.died).count() as u64;
                let labelled: Vec<Pairs> = rs
                    .par_iter()
                    .zip(&insts)
                    .map(|(r, inst)| {
                        task.expert_actions(inst, &r.actions)
                            .into_iter()
                            .zip(&r.observations)
                            .filter_map(|(a, o)| Some((o.clone(), a? as u32)))
                            .collect()
                    })
                    .collect();
                x.reserve(pair_floats(&labelled));
                for (o, a) in labelled.into_iter().flatten() {
                    x.extend(o);
                    y.push(a);
                    queried += 1;
                }
                n = y.len();
            }
            let obj = ImitationObjective {
                task,
                net: &net,
                x: &x,
                y: &y,
                dim,
                val_x: val_x.clone(),
                val_y: val_y.clone(),
                val_insts: &data.val,
                memory: c.memory,
            };
            let done = round as f64 / rounds as f64;
            let part = fit(&obj, &c.train, per_round, &mut batches, &|f| progress(done + f / rounds as f64))?;
            append_round(&mut stats, part, deaths, rolled);
        }
        // `fit` keeps the best parameters of the last round only; that round trains on the most data.
        stats.examples = n as u64;
        stats.examples_seen = stats.steps * c.train.batch as u64;
        stats.deaths = deaths;
        stats.trials = rolled;
        stats.extra.insert("dagger_expert_queries".into(), queried as f64);
        stats.val_accuracy_name = Some("agreement with the expert's actions".into());
        stats.extra.insert("demonstrations".into(), data.train.len() as f64);
        stats.extra.insert("parameters".into(), net.params.count() as f64);
        let policy = TrainedMlp { net, memory: self.0.memory };
        Ok((Box::new(GreedySolver { policy, name: "imitation", needs_grid: false }), stats))
    }
}

/// A trained policy MLP and the memory its observations carry.
struct TrainedMlp {
    net: PolicyNet,
    memory: usize,
}

impl crate::lockstep::TrainedPolicy for TrainedMlp {
    type Actor<'a> = MlpActor<'a>;
    fn actor(&self) -> MlpActor<'_> {
        MlpActor { net: &self.net, memory: self.memory }
    }
}

/// Appends one DAgger round's training statistics (`part`, from [`fit`]) to the run's: its learning curve shifted
/// by the steps already taken, and a deaths-to-competence point per validation (the rollouts so far, `deaths` and
/// `rolled`, are the only episodes the learner acted out in training). The rest of `part` replaces the run's.
pub(crate) fn append_round(stats: &mut TrainStats, part: TrainStats, deaths: u64, rolled: u64) {
    let offset = stats.steps;
    let mut curve = std::mem::take(&mut stats.curve);
    let mut competence = std::mem::take(&mut stats.competence);
    curve.extend(part.curve.iter().map(|p| (p.0 + offset, p.1, p.2, p.3)));
    competence.extend(part.curve.iter().map(|p| CompetencePoint { deaths, episodes: rolled, success: p.3 }));
    *stats = TrainStats { curve, competence, steps: offset + part.steps, ..part };
}

/// Records a reinforcement learner's validation after `done` updates: the learning-curve point (mean episode return,
/// training success over `window` = (return sum, episodes, successes) since the last point, level-0 validation
/// success `val`) and the deaths-to-competence point.
pub(crate) fn record_validation(stats: &mut TrainStats, done: u64, window: (f64, usize, u64), val: f64) {
    let episodes = window.1.max(1) as f64;
    stats.curve.push((done, window.0 / episodes, window.2 as f64 / episodes, val));
    stats.competence.push(CompetencePoint { deaths: stats.deaths, episodes: stats.trials, success: val });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_counts_the_ticks_begun_on_each_cell_around_the_agent() {
        assert_eq!(Memory::features(0), 0);
        assert_eq!(Memory::features(1), 9);
        let mut none = Memory::new(0);
        let mut o = vec![7.0];
        none.extend(&mut o, Some((1, 1)));
        assert_eq!(o, [7.0], "radius 0 adds nothing");

        let mut m = Memory::new(1);
        let feats = |m: &mut Memory, at| {
            let mut o = Vec::new();
            m.extend(&mut o, at);
            o
        };
        assert_eq!(feats(&mut m, Some((5, 5))), [0.0; 9], "nothing visited yet");
        // A wasted move: the agent begins its second tick on the same cell.
        assert_eq!(feats(&mut m, Some((5, 5)))[4], 0.5);
        // One step east: (5, 5), visited twice, is now the west neighbour (row 1, column 0).
        let f = feats(&mut m, Some((6, 5)));
        assert_eq!(f[3], 0.75);
        assert_eq!(f.iter().filter(|&&v| v > 0.0).count(), 1);
        // Cells off the map's north-west corner read as unvisited; no grid reads as nothing visited.
        assert_eq!(feats(&mut m, Some((0, 0))), [0.0; 9]);
        assert_eq!(feats(&mut m, None), [0.0; 9]);
    }

    #[test]
    fn lockstep_evaluation_answers_as_each_episode_played_alone() {
        let task = driftbench_tasks::Navigation;
        let mut r = rng::stream(11, "navigation-v1", "test");
        let insts = crate::lockstep::tests::mixed_instances(&task, 48, &mut r);
        for memory in [0, 2] {
            let net = PolicyNet::new(task.policy_shape(), &[32, 32], memory, &mut r).unwrap();
            crate::lockstep::tests::assert_same_as_alone(&task, &MlpActor { net: &net, memory }, &insts);
            // DAgger's greedy rollouts act as the evaluation does.
            let rs = rollouts(&task, &net, &insts, memory).unwrap();
            let played = crate::lockstep::play_greedy(&task, &MlpActor { net: &net, memory }, &insts).unwrap();
            for (r, p) in rs.iter().zip(&played) {
                assert_eq!((&r.actions, r.died, r.reached), (&p.actions, p.died, p.reached));
            }
        }
    }
}
