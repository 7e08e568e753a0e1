//! A size-agnostic policy over the whole world ([`driftbench_core::GridObservation`]): a Value Iteration Network
//! (Tamar et al., 2016) trained by imitating the expert, with DAgger.
//!
//! The **planning module** reads the maps that stay fixed during an episode (for navigation: buildings and the
//! goal), makes a reward map with two convolutions and from it `q_channels` action reward maps R_a, and runs K steps
//! of value iteration v ← max_a (R_a + Σ_s p_a(s) v(s)) over each cell and its four neighbours s (`vi.rs`), where each
//! action's transition weights p_a are a softmax over the five cells times a discount γ < 1: every step is a
//! contraction, so values stay bounded for any K and map size. K grows with the map
//! (⌈`iterations_per_cell` × (W + H)⌉), so a larger city gets a longer plan from the same weights. Its
//! **attention** reads, at the agent's cell, the action values minus the cell's value and the value of the four
//! neighbouring cells minus it. The **reactive module** sees a `window`×`window` crop of every map around the agent
//! (for navigation: the cars now and over the next ticks). An MLP over both gives the action scores.
//!
//! Because the planning module only reads the episode's fixed maps, an acting policy computes the value maps once
//! per episode and reuses them while those maps stay the same (checked at every step). Worlds of different sizes
//! in one batch are padded with each channel's `outside` value; every map gets a one-cell border of it, so that
//! the agent always has four neighbours.
mod net;
mod vi;

use net::StaticMap;
pub use net::VinNet;

use crate::error::{NetError, Result};
use crate::family::{Family, Fit, Trained};
use crate::layers::Params;
use crate::lockstep::BatchActor;
use crate::policy::Memory;
use crate::train::{fit, gather_rows, Objective, TrainConfig, ValScore};
use candle_core::{DType, Device, Tensor, D};
use driftbench_core::{rng, GridObservation, Profile, TrainStats};
use driftbench_core::{GridTask, PolicyTask};
use rand::seq::IndexedRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::lockstep::MAX_EPISODE;

/// Hyper-parameters of the value-iteration policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VinConfig {
    /// Channels of the hidden 3×3 convolution that makes the reward map.
    pub reward_hidden: usize,
    /// Action maps of the value-iteration step (Tamar et al.'s "q" channels).
    pub q_channels: usize,
    /// Value-iteration steps per cell of width + height: K = ⌈this × (W + H)⌉.
    pub iterations_per_cell: f64,
    /// Discount γ in (0, 1) of the value iteration: each action map's transition weights sum to it.
    pub discount: f64,
    /// Side of the crop of every map around the agent that the reactive module sees (odd).
    pub window: usize,
    /// Radius of the window of the policy's own visits that the reactive module also sees
    /// ([`crate::policy::Memory`]: 1 − ½^visits per cell; 0 = none).
    #[serde(default)]
    pub memory: usize,
    /// Hidden widths of the MLP head.
    pub hidden: Vec<usize>,
    /// Optimisation (steps are split evenly over the rounds).
    pub train: TrainConfig,
    /// Training instances whose demonstrations start the data set (at most; the training set may be smaller).
    pub demonstrations: usize,
    /// DAgger rounds after behaviour cloning.
    pub dagger_rounds: usize,
    /// Training instances rolled out per DAgger round (at `train_scale` 1).
    pub dagger_episodes: usize,
}

/// One state an acting policy visited: what the head saw there.
struct Visit {
    /// Index of the world's fixed maps in the caller's list.
    map: usize,
    /// The agent's cell in padded coordinates.
    agent: (usize, usize),
    /// The reactive input: the crop around the agent, then the memory window ([`VinNet::reactive_width`]).
    crop: Vec<f32>,
}

/// The reactive input at `g`: the crop of every map around the agent, then the window of `memory` (which counts
/// this tick's visit). Acting, demonstrations and DAgger all read states through this one function.
fn reactive(net: &VinNet, g: &GridObservation, memory: &mut Memory) -> Vec<f32> {
    let mut row = net.crop(g);
    memory.extend(&mut row, Some(g.agent));
    row
}

/// One finished episode of the grid policy.
struct GridRollout {
    actions: Vec<usize>,
    visits: Vec<Visit>,
    died: bool,
    reached: bool,
}

fn grid_of(ep: &dyn driftbench_core::Episode) -> Result<GridObservation> {
    let g = ep.observe_grid().ok_or_else(|| NetError::Encoding("the task offers no grid observation".into()))?;
    g.check().map_err(NetError::Encoding)?;
    Ok(g)
}

/// The fixed channels of `g` (what the plan is made from).
fn fixed_of(g: &GridObservation) -> &[f32] {
    &g.data[..g.static_channels * g.height * g.width]
}

/// One episode of the value-iteration policy acting greedily: its world's fixed maps, the plan made from them,
/// and its memory of visited cells.
pub(crate) struct Acting {
    map: StaticMap,
    fixed: Vec<f32>,
    planned: Vec<f32>,
    memory: Memory,
}

/// The value-iteration policy acting greedily in lockstep ([`crate::lockstep`]): every world is planned once at the
/// start (again only if its fixed maps change), and each tick the head scores every live episode in one pass.
pub(crate) struct VinActor<'a>(&'a VinNet);

impl BatchActor for VinActor<'_> {
    type State = Acting;

    fn start(&self, eps: &[Box<dyn driftbench_core::Episode>]) -> Result<Vec<Acting>> {
        let net = self.0;
        let first: Vec<GridObservation> = eps.par_iter().map(|e| grid_of(e.as_ref())).collect::<Result<_>>()?;
        let maps: Vec<StaticMap> = first.iter().map(|g| net.static_map(g)).collect();
        let planned = net.plan_all(&maps.iter().collect::<Vec<_>>())?;
        Ok(first
            .iter()
            .zip(maps)
            .zip(planned)
            .map(|((g, map), planned)| Acting {
                map,
                fixed: fixed_of(g).to_vec(),
                planned,
                memory: Memory::new(net.memory),
            })
            .collect())
    }

    fn scores(
        &self,
        eps: &[Box<dyn driftbench_core::Episode>],
        states: &mut [Acting],
        live: &[usize],
    ) -> Result<Vec<Vec<f32>>> {
        let net = self.0;
        let grids: Vec<GridObservation> = live.par_iter().map(|&i| grid_of(eps[i].as_ref())).collect::<Result<_>>()?;
        // A world whose fixed maps changed after all is planned again.
        let changed: Vec<usize> = (0..live.len()).filter(|&k| fixed_of(&grids[k]) != states[live[k]].fixed).collect();
        if !changed.is_empty() {
            let maps: Vec<StaticMap> = changed.iter().map(|&k| net.static_map(&grids[k])).collect();
            let planned = net.plan_all(&maps.iter().collect::<Vec<_>>())?;
            for ((&k, map), planned) in changed.iter().zip(maps).zip(planned) {
                let s = &mut states[live[k]];
                (s.map, s.planned, s.fixed) = (map, planned, fixed_of(&grids[k]).to_vec());
            }
        }
        let width = net.input_width();
        let mut x = Vec::with_capacity(live.len() * width);
        for (&i, g) in live.iter().zip(&grids) {
            let s = &mut states[i];
            x.extend(reactive(net, g, &mut s.memory));
            x.extend(net.attend_flat(&s.planned, &s.map, (g.agent.0 + 1, g.agent.1 + 1)));
        }
        Ok(net.head(&Tensor::from_vec(x, (live.len(), width), &Device::Cpu)?)?.to_vec2::<f32>()?)
    }
}

/// Runs one greedy episode per instance in lockstep for DAgger, keeping every visited state. The fixed maps of
/// every episode are appended to `maps` (their indices are in the visits). The arithmetic is [`VinActor`]'s, so
/// the states are those the evaluated policy would visit.
fn grid_rollouts<T: PolicyTask>(
    task: &T,
    net: &VinNet,
    insts: &[T::Instance],
    maps: &mut Vec<StaticMap>,
) -> Result<Vec<GridRollout>> {
    let mut eps = insts
        .iter()
        .map(|i| task.episode(i).ok_or_else(|| NetError::Encoding(format!("{} offers no episodes", task.id()))))
        .collect::<Result<Vec<_>>>()?;
    let first: Vec<GridObservation> = eps.par_iter().map(|e| grid_of(e.as_ref())).collect::<Result<_>>()?;
    let base = maps.len();
    // The map index of each episode, and the fixed channels it was planned on.
    let mut map_of: Vec<usize> = (0..insts.len()).map(|i| base + i).collect();
    let mut fixed: Vec<Vec<f32>> =
        first.iter().map(|g| g.data[..g.static_channels * g.height * g.width].to_vec()).collect();
    maps.extend(first.iter().map(|g| net.static_map(g)));
    let mut planned = net.plan_all(&maps[base..].iter().collect::<Vec<_>>())?;
    let mut out: Vec<GridRollout> = (0..insts.len())
        .map(|_| GridRollout { actions: vec![], visits: vec![], died: false, reached: false })
        .collect();
    let mut active: Vec<usize> = (0..insts.len()).collect();
    let mut memories = vec![Memory::new(net.memory); insts.len()];
    let width = net.input_width();
    for _ in 0..MAX_EPISODE {
        if active.is_empty() {
            break;
        }
        let grids: Vec<GridObservation> =
            active.par_iter().map(|&i| grid_of(eps[i].as_ref())).collect::<Result<_>>()?;
        // A world whose fixed maps changed after all is planned again.
        let changed: Vec<usize> = active
            .iter()
            .zip(&grids)
            .filter(|(&i, g)| g.data[..g.static_channels * g.height * g.width] != fixed[i][..])
            .map(|(&i, _)| i)
            .collect();
        if !changed.is_empty() {
            for (&i, g) in active.iter().zip(&grids) {
                if changed.contains(&i) {
                    fixed[i] = g.data[..g.static_channels * g.height * g.width].to_vec();
                    map_of[i] = maps.len();
                    maps.push(net.static_map(g));
                }
            }
            let sel: Vec<&StaticMap> = changed.iter().map(|&i| &maps[map_of[i]]).collect();
            for (&i, p) in changed.iter().zip(net.plan_all(&sel)?) {
                planned[i] = p;
            }
        }
        let attended: Vec<Vec<f32>> = active
            .par_iter()
            .zip(&grids)
            .map(|(&i, g)| net.attend_flat(&planned[i], &maps[map_of[i]], (g.agent.0 + 1, g.agent.1 + 1)))
            .collect();
        let rows: Vec<(Vec<f32>, (usize, usize))> = active
            .iter()
            .zip(&grids)
            .zip(attended)
            .map(|((&i, g), att)| {
                let mut row = reactive(net, g, &mut memories[i]);
                row.extend(att);
                (row, (g.agent.0 + 1, g.agent.1 + 1))
            })
            .collect();
        let mut x = Vec::with_capacity(rows.len() * width);
        for (r, _) in &rows {
            x.extend_from_slice(r);
        }
        let logits = net.head(&Tensor::from_vec(x, (rows.len(), width), &Device::Cpu)?)?.to_vec2::<f32>()?;
        let mut still = Vec::with_capacity(active.len());
        for ((&i, (row, agent)), p) in active.iter().zip(rows).zip(&logits) {
            let a = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a))).unwrap_or(0);
            let s = eps[i].step(a);
            let r = &mut out[i];
            let mut crop = row;
            crop.truncate(net.reactive_width());
            r.visits.push(Visit { map: map_of[i], agent, crop });
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

/// Greedy success rate on `insts`.
fn evaluate<T: PolicyTask>(task: &T, net: &VinNet, insts: &[T::Instance]) -> Result<f64> {
    crate::lockstep::success_rate(task, &VinActor(net), insts)
}

/// Labelled states: what the head sees and the expert's action.
#[derive(Default)]
struct Labelled {
    maps: Vec<StaticMap>,
    map: Vec<usize>,
    agent: Vec<(usize, usize)>,
    crops: Vec<f32>,
    actions: Vec<u32>,
}

impl Labelled {
    fn len(&self) -> usize {
        self.actions.len()
    }

    /// The states of each world that has any: (world, state indices), in world order.
    fn groups(&self) -> Vec<(usize, Vec<usize>)> {
        let mut by_map: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, &m) in self.map.iter().enumerate() {
            by_map.entry(m).or_default().push(i);
        }
        by_map.into_iter().collect()
    }

    fn push(&mut self, v: Visit, action: usize) {
        self.map.push(v.map);
        self.agent.push(v.agent);
        self.crops.extend(v.crop);
        self.actions.push(action as u32);
    }
}

/// One world's fixed maps and the states of the expert's route through it, with its actions.
type Demonstration = (StaticMap, Vec<(Visit, usize)>);

/// The states of `actions` played from the start of `inst`'s episode (until it ends), as the head sees them.
fn replay<T: PolicyTask>(task: &T, net: &VinNet, inst: &T::Instance, actions: &[usize]) -> Result<Demonstration> {
    let mut ep = task.episode(inst).ok_or_else(|| NetError::Encoding("no episode".into()))?;
    let map = net.static_map(&grid_of(ep.as_ref())?);
    let mut visits = Vec::with_capacity(actions.len());
    let mut memory = Memory::new(net.memory);
    for &a in actions {
        let g = grid_of(ep.as_ref())?;
        let crop = reactive(net, &g, &mut memory);
        visits.push((Visit { map: 0, agent: (g.agent.0 + 1, g.agent.1 + 1), crop }, a));
        if ep.step(a).done {
            break;
        }
    }
    Ok((map, visits))
}

/// The expert's demonstrations on `insts`, as labelled states.
fn demonstrations<T: PolicyTask>(task: &T, net: &VinNet, insts: &[T::Instance], into: &mut Labelled) -> Result<()> {
    let per: Vec<Result<Demonstration>> = insts
        .par_iter()
        .map(|i| {
            let actions = task.demonstration(i).ok_or_else(|| NetError::Encoding("no demonstration".into()))?;
            replay(task, net, i, &actions)
        })
        .collect();
    for p in per {
        let (map, visits) = p?;
        let m = into.maps.len();
        into.maps.push(map);
        for (mut v, a) in visits {
            v.map = m;
            into.push(v, a);
        }
    }
    Ok(())
}

/// Training batches are worlds, not states: each step plans a batch of worlds once and learns from every labelled
/// state in them, so value iteration runs once per world instead of once per state.
struct VinObjective<'a, T: PolicyTask> {
    task: &'a T,
    net: &'a VinNet,
    data: &'a Labelled,
    groups: Vec<(usize, Vec<usize>)>,
    crops: Tensor,
    labels: Tensor,
    val: &'a Labelled,
    val_insts: &'a [T::Instance],
}

/// Action scores of every state of the given worlds of `data`, and those states' indices: the worlds are planned
/// together once.
fn world_logits(
    net: &VinNet,
    data: &Labelled,
    crops: &Tensor,
    groups: &[&(usize, Vec<usize>)],
) -> Result<(Tensor, Vec<usize>)> {
    let maps: Vec<&StaticMap> = groups.iter().map(|g| &data.maps[g.0]).collect();
    let (x, _, _, k) = net.stack(&maps)?;
    let planned = net.plan(&x, k)?;
    let mut states = Vec::new();
    let mut queries = Vec::new();
    for (u, g) in groups.iter().enumerate() {
        for &i in &g.1 {
            states.push(i);
            queries.push((u, data.agent[i]));
        }
    }
    let attended = net.attend(&planned, &queries)?;
    let input = Tensor::cat(&[gather_rows(crops, &states)?, attended], 1)?;
    Ok((net.head(&input)?, states))
}

impl<T: PolicyTask> Objective for VinObjective<'_, T> {
    fn params(&self) -> &Params {
        &self.net.params
    }
    fn n_train(&self) -> usize {
        self.groups.len()
    }
    fn loss(&self, idx: &[usize]) -> Result<Tensor> {
        let groups: Vec<&(usize, Vec<usize>)> = idx.iter().map(|&i| &self.groups[i]).collect();
        let (logits, states) = world_logits(self.net, self.data, &self.crops, &groups)?;
        Ok(candle_nn::loss::cross_entropy(&logits, &gather_rows(&self.labels, &states)?)?)
    }
    fn validate(&self) -> Result<ValScore> {
        let n = self.val.len();
        let crops = Tensor::from_slice(&self.val.crops, (n, self.net.reactive_width()), &Device::Cpu)?;
        let labels = Tensor::from_slice(&self.val.actions, n, &Device::Cpu)?;
        let groups = self.val.groups();
        let (logits, states) = world_logits(self.net, self.val, &crops, &groups.iter().collect::<Vec<_>>())?;
        let labels = gather_rows(&labels, &states)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &labels)?.to_scalar::<f32>()? as f64;
        let agree = logits.argmax(D::Minus1)?.eq(&labels)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()?;
        Ok(ValScore { loss, accuracy: agree as f64, exact: evaluate(self.task, self.net, self.val_insts)? })
    }
}

/// The value-iteration policy, cloned from the expert with DAgger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vin(pub VinConfig);

impl Default for Vin {
    fn default() -> Self {
        Vin(VinConfig {
            reward_hidden: 32,
            q_channels: 16,
            iterations_per_cell: 1.0,
            discount: 0.95,
            window: 7,
            memory: 1,
            hidden: vec![256, 256],
            // 1,500 steps (was 3,000) for the suite budget: level-0 validation 93.2 / 94.8% against 93.3 / 95.0% on
            // tuning seeds 100 / 101 at half the training CPU (`examples/tune_budget.rs`, docs/networks.md).
            train: TrainConfig { steps: 1500, batch: 16, lr: 1e-2, weight_decay: 1e-4, warmup: 0.05, eval_every: 500 },
            demonstrations: 4000,
            dagger_rounds: 3,
            dagger_episodes: 500,
        })
    }
}

/// Validation states whose expert agreement is measured (their episodes are the first validation instances).
const VAL_DEMOS: usize = 200;

impl<T: GridTask> Family<T> for Vin {
    fn name(&self) -> &'static str {
        "vin"
    }
    /// Kept out of the sample-efficiency experiment to hold the quick suite's budget.
    fn in_sample_efficiency(&self) -> bool {
        false
    }
    fn observes(&self, task: &T) -> String {
        format!(
            "{}; a {}x{} crop of every map around the agent{}",
            task.grid_observes(),
            self.0.window,
            self.0.window,
            crate::policy::memory_note(self.0.memory)
        )
    }
    fn description(&self) -> String {
        format!(
            "value iteration network over the whole city (K = {} x (W+H) steps, {} action maps, {}x{} reactive \
             window{}, head {:?}) cloned from the planner, {} DAgger rounds",
            self.0.iterations_per_cell,
            self.0.q_channels,
            self.0.window,
            self.0.window,
            crate::policy::memory_note(self.0.memory),
            self.0.hidden,
            self.0.dagger_rounds
        )
    }
    fn config(&self, profile: &Profile) -> serde_json::Value {
        crate::train::recorded_config(&self.0, &self.0.train, profile)
    }
    fn fit(&self, Fit { task, data, profile, seed, progress }: Fit<'_, T>) -> Result<Trained<T>> {
        let c = &self.0;
        let actions = crate::policy::shape_of(task)?.actions;
        let probe = data.train.first().ok_or(NetError::NoData)?;
        let ep = task.episode(probe).ok_or_else(|| NetError::Encoding("no episode".into()))?;
        let g = grid_of(ep.as_ref())?;
        let net =
            VinNet::new(c, g.channels, g.static_channels, actions, &mut rng::stream(seed, task.id(), "init/vin"))?;
        let mut train = Labelled::default();
        let demos = c.demonstrations.min(data.train.len());
        demonstrations(task, &net, &data.train[..demos], &mut train)?;
        let mut val = Labelled::default();
        demonstrations(task, &net, &data.val[..VAL_DEMOS.min(data.val.len())], &mut val)?;
        if train.len() == 0 || val.len() == 0 {
            return Err(NetError::NoData);
        }
        let mut batches = rng::stream(seed, task.id(), "batches/vin");
        let mut picks = rng::stream(seed, task.id(), "dagger/vin");
        let rounds = c.dagger_rounds + 1;
        // A batch is `train.batch` worlds (episodes) with all their labelled states.
        let per_round = (driftbench_core::step_budget(profile, c.train.steps, demos, c.train.batch, data.max_epochs)
            / rounds as u64)
            .max(1);
        let mut stats = TrainStats::default();
        let (mut deaths, mut queried, mut rolled) = (0u64, 0u64, 0u64);
        let crop = net.reactive_width();
        for round in 0..rounds {
            if round > 0 {
                // DAgger: the states the policy itself reaches, labelled by the expert.
                let episodes = crate::dagger::episodes(profile, c.dagger_episodes, data.train.len());
                let insts: Vec<T::Instance> =
                    (0..episodes).map(|_| data.train.choose(&mut picks).expect("not empty").clone()).collect();
                let mut maps = std::mem::take(&mut train.maps);
                let rs = grid_rollouts(task, &net, &insts, &mut maps)?;
                train.maps = maps;
                rolled += rs.len() as u64;
                deaths += rs.iter().filter(|r| r.died).count() as u64;
                let labels: Vec<Vec<Option<usize>>> =
                    rs.par_iter().zip(&insts).map(|(r, inst)| task.expert_actions(inst, &r.actions)).collect();
                for (r, ls) in rs.into_iter().zip(labels) {
                    for (v, l) in r.visits.into_iter().zip(ls) {
                        if let Some(a) = l {
                            train.push(v, a);
                            queried += 1;
                        }
                    }
                }
            }
            let n = train.len();
            let obj = VinObjective {
                task,
                net: &net,
                data: &train,
                groups: train.groups(),
                crops: Tensor::from_slice(&train.crops, (n, crop), &Device::Cpu)?,
                labels: Tensor::from_slice(&train.actions, n, &Device::Cpu)?,
                val: &val,
                val_insts: &data.val,
            };
            let done = round as f64 / rounds as f64;
            let part = fit(&obj, &c.train, per_round, &mut batches, &|f| progress(done + f / rounds as f64))?;
            crate::policy::append_round(&mut stats, part, deaths, rolled);
        }
        stats.examples = train.len() as u64;
        // Batches are episodes: this counts the episodes presented, with repeats.
        stats.examples_seen = stats.steps * c.train.batch as u64;
        stats.deaths = deaths;
        stats.trials = rolled;
        stats.extra.insert("dagger_expert_queries".into(), queried as f64);
        stats.val_accuracy_name = Some("agreement with the expert's actions".into());
        stats.extra.insert("demonstrations".into(), demos as f64);
        stats.extra.insert("parameters".into(), net.params.count() as f64);
        Ok((Box::new(crate::lockstep::GreedySolver { policy: net, name: "vin", needs_grid: true }), stats))
    }
}

impl crate::lockstep::TrainedPolicy for VinNet {
    type Actor<'a> = VinActor<'a>;
    fn actor(&self) -> VinActor<'_> {
        VinActor(self)
    }
}

/// The VIN's training loss on synthetic worlds of the shapes the suite trains on, for the one-step timer in
/// `driftbench_bench::step`: 12×12 cities (14×14 with the border) of 6 maps, a third of the cells buildings, 20 labelled
/// states per world.
pub struct SyntheticWorlds {
    net: VinNet,
    data: Labelled,
    groups: Vec<(usize, Vec<usize>)>,
    crops: Tensor,
    labels: Tensor,
}

impl SyntheticWorlds {
    /// `worlds` random worlds and a default VIN drawn from `rng`.
    pub fn new(worlds: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Result<Self> {
        use rand::Rng;
        let c = Vin::default().0;
        let (side, channels, states) = (12, 6, 20);
        let net = VinNet::new(&c, channels, 2, 5, rng)?;
        let mut data = Labelled::default();
        for m in 0..worlds {
            let mut g = GridObservation {
                channels,
                height: side,
                width: side,
                data: (0..channels * side * side).map(|_| f32::from(rng.random_bool(0.3))).collect(),
                agent: (0, 0),
                static_channels: 2,
                outside: vec![1., 0., 0., 0., 0., 0.],
            };
            data.maps.push(net.static_map(&g));
            let mut memory = Memory::new(net.memory);
            for _ in 0..states {
                g.agent = (rng.random_range(0..side), rng.random_range(0..side));
                let v = Visit { map: m, agent: (g.agent.0 + 1, g.agent.1 + 1), crop: reactive(&net, &g, &mut memory) };
                data.push(v, rng.random_range(0..5));
            }
        }
        let n = data.len();
        let crops = Tensor::from_slice(&data.crops, (n, net.reactive_width()), &Device::Cpu)?;
        let labels = Tensor::from_slice(&data.actions, n, &Device::Cpu)?;
        Ok(SyntheticWorlds { groups: data.groups(), net, data, crops, labels })
    }

    /// Worlds (training batches draw worlds).
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there are no worlds.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The network's parameters.
    pub fn params(&self) -> &Params {
        &self.net.params
    }

    /// Mean cross-entropy over every state of the worlds `idx`.
    pub fn loss(&self, idx: &[usize]) -> Result<Tensor> {
        let groups: Vec<&(usize, Vec<usize>)> = idx.iter().map(|&i| &self.groups[i]).collect();
        let (logits, states) = world_logits(&self.net, &self.data, &self.crops, &groups)?;
        Ok(candle_nn::loss::cross_entropy(&logits, &gather_rows(&self.labels, &states)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftbench_core::{Cell, Task};
    use driftbench_tasks::Navigation;

    #[test]
    fn acting_and_replayed_states_carry_the_same_memory_features() {
        let task = Navigation;
        let mut r = rng::stream(7, task.id(), "test");
        let insts: Vec<_> = (0..4).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect();
        let ep = task.episode(&insts[0]).unwrap();
        let g = grid_of(ep.as_ref()).unwrap();
        let c = VinConfig { hidden: vec![8], memory: 2, ..Vin::default().0 };
        let net = VinNet::new(&c, g.channels, g.static_channels, 5, &mut rng::stream(7, task.id(), "init")).unwrap();
        let rs = grid_rollouts(&task, &net, &insts, &mut Vec::new()).unwrap();
        let crop = net.channels * net.window * net.window;
        let mut remembered = 0;
        for (r, inst) in rs.iter().zip(&insts) {
            let (_, replayed) = replay(&task, &net, inst, &r.actions).unwrap();
            assert_eq!(replayed.len(), r.visits.len());
            for (v, (w, _)) in r.visits.iter().zip(&replayed) {
                assert_eq!(v.crop.len(), net.reactive_width());
                assert_eq!(v.crop, w.crop);
                assert_eq!(v.agent, w.agent);
                remembered += v.crop[crop..].iter().filter(|&&m| m > 0.0).count();
            }
        }
        // An untrained greedy policy comes back to cells it has been on: the memory window is not all zeros.
        assert!(remembered > 0);
    }

    #[test]
    fn lockstep_evaluation_answers_as_each_episode_played_alone() {
        let task = Navigation;
        let mut r = rng::stream(13, task.id(), "test");
        let insts = crate::lockstep::tests::mixed_instances(&task, 48, &mut r);
        let ep = task.episode(&insts[0]).unwrap();
        let g = grid_of(ep.as_ref()).unwrap();
        let c = VinConfig { hidden: vec![32, 32], ..Vin::default().0 };
        let net = VinNet::new(&c, g.channels, g.static_channels, 5, &mut r).unwrap();
        crate::lockstep::tests::assert_same_as_alone(&task, &VinActor(&net), &insts);
        // The DAgger rollouts act as the evaluation does.
        let rs = grid_rollouts(&task, &net, &insts, &mut Vec::new()).unwrap();
        let played = crate::lockstep::play_greedy(&task, &VinActor(&net), &insts).unwrap();
        for (r, p) in rs.iter().zip(&played) {
            assert_eq!((&r.actions, r.died, r.reached), (&p.actions, p.died, p.reached));
        }
    }
}
