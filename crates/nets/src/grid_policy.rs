//! A size-agnostic policy over the whole world ([`driftbench_core::GridObservation`]): a Value Iteration Network
//! (Tamar et al., 2016) trained by imitating the expert, with DAgger.
//!
//! The **planning module** reads the maps that stay fixed during an episode (for navigation: buildings and the
//! goal), makes a reward map with two convolutions, and runs K steps of value iteration as a convolution of
//! [reward, value] over each cell and its four neighbours into `q_channels` action maps followed by a max over
//! them; K grows with the map
//! (⌈`iterations_per_cell` × (W + H)⌉), so a larger city gets a longer plan from the same weights. Its
//! **attention** reads, at the agent's cell, the action values minus the cell's value and the value of the four
//! neighbouring cells minus it. The **reactive module** sees a `window`×`window` crop of every map around the agent
//! (for navigation: the cars now and over the next ticks). An MLP over both gives the action scores.
//!
//! Because the planning module only reads the episode's fixed maps, an acting policy computes the value maps once
//! per episode and reuses them while those maps stay the same (checked at every step). Worlds of different sizes
//! in one batch are padded with each channel's `outside` value; every map gets a one-cell border of it, so that
//! the agent always has four neighbours.
use crate::error::{NetError, Result};
use crate::layers::{linear, Linear, Params};
use crate::train::{fit, gather_rows, Objective, TrainConfig, ValScore};
use candle_core::{DType, Device, Module, Tensor, D};
use driftbench_core::solver::Attempt;
use driftbench_core::{
    rng, Encoding, GridObservation, Learner, Profile, Solver, SolverKind, Task, TrainData, TrainStats,
};
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Hard cap on episode length, in case a task's own step limit is missing.
const MAX_EPISODE: usize = 10_000;
/// Worlds planned together in one batch while acting.
const PLAN_CHUNK: usize = 128;

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
    /// Side of the crop of every map around the agent that the reactive module sees (odd).
    pub window: usize,
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

/// The cells a convolution reads, as (dy, dx) offsets into the input padded by one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stencil {
    /// The cell itself (a 1×1 convolution).
    Point,
    /// The cell and its four neighbours: all that one move can reach, so enough for a value-iteration step.
    Plus,
    /// The 3×3 square.
    Square,
}

impl Stencil {
    fn offsets(self) -> &'static [(usize, usize)] {
        match self {
            Stencil::Point => &[(1, 1)],
            Stencil::Plus => &[(1, 1), (0, 1), (2, 1), (1, 2), (1, 0)],
            Stencil::Square => &[(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)],
        }
    }
}

/// A convolution (zero padding, stride 1) on channel-last maps `[B, H, W, C]`, computed as one matmul over the
/// shifted copies of the input that its stencil reads: candle's own CPU conv2d was the bottleneck (direct loops,
/// half of a run's time in a profile), and this form has a plain matmul backward.
struct Conv {
    /// `[cells · in, out]`, rows in (stencil cell, input channel) order.
    weight: Tensor,
    bias: Option<Tensor>,
    stencil: Stencil,
}

impl Conv {
    fn new(out: usize, inp: usize, stencil: Stencil, bias: bool, p: &mut Params, rng: &mut ChaCha8Rng) -> Result<Conv> {
        let cells = stencil.offsets().len();
        let bound = 1.0 / ((inp * cells) as f64).sqrt();
        let weight = p.uniform(&[cells * inp, out], bound, rng)?;
        let bias = if bias { Some(p.uniform(&[out], bound, rng)?) } else { None };
        Ok(Conv { weight, bias, stencil })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, h, w, c) = x.dims4()?;
        let offsets = self.stencil.offsets();
        let patches = if self.stencil == Stencil::Point {
            x.clone()
        } else {
            let xp = x.pad_with_zeros(1, 1, 1)?.pad_with_zeros(2, 1, 1)?;
            let shifted = offsets
                .iter()
                .map(|&(dy, dx)| xp.narrow(1, dy, h)?.narrow(2, dx, w))
                .collect::<candle_core::Result<Vec<_>>>()?;
            Tensor::cat(&shifted, 3)?
        };
        let y = patches.reshape((b * h * w, offsets.len() * c))?.matmul(&self.weight)?;
        let y = match &self.bias {
            Some(bias) => y.broadcast_add(bias)?,
            None => y,
        };
        y.reshape((b, h, w, ()))
    }
}

/// The fixed maps of one world, with a one-cell border of `outside` values.
#[derive(Debug, Clone, PartialEq)]
struct StaticMap {
    height: usize,
    width: usize,
    /// Channel-last `height × width × static_channels`, padded.
    data: Vec<f32>,
    /// Each fixed channel's value beyond the edge.
    outside: Vec<f32>,
    /// Value-iteration steps for this world.
    iterations: usize,
}

/// The value-iteration network.
pub struct VinNet {
    reward_hidden: Conv,
    reward: Conv,
    q_reward: Conv,
    q_value: Conv,
    head: Vec<Linear>,
    params: Params,
    channels: usize,
    static_channels: usize,
    q_channels: usize,
    window: usize,
    iterations_per_cell: f64,
}

impl VinNet {
    fn new(
        c: &VinConfig,
        channels: usize,
        static_channels: usize,
        actions: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
        if c.window.is_multiple_of(2) || static_channels == 0 {
            return Err(NetError::Encoding(format!(
                "the VIN needs an odd window ({}) and at least one fixed map ({static_channels})",
                c.window
            )));
        }
        let mut params = Params::default();
        let p = &mut params;
        let reward_hidden = Conv::new(c.reward_hidden, static_channels, Stencil::Square, true, p, rng)?;
        let reward = Conv::new(1, c.reward_hidden, Stencil::Point, true, p, rng)?;
        let q_reward = Conv::new(c.q_channels, 1, Stencil::Plus, true, p, rng)?;
        let q_value = Conv::new(c.q_channels, 1, Stencil::Plus, false, p, rng)?;
        let mut dims = vec![channels * c.window * c.window + c.q_channels + 4];
        dims.extend(&c.hidden);
        dims.push(actions);
        let head = dims.windows(2).map(|w| linear(w[0], w[1], p, rng)).collect::<Result<_>>()?;
        Ok(VinNet {
            reward_hidden,
            reward,
            q_reward,
            q_value,
            head,
            params,
            channels,
            static_channels,
            q_channels: c.q_channels,
            window: c.window,
            iterations_per_cell: c.iterations_per_cell,
        })
    }

    /// Width of one row of the head's input.
    fn input_width(&self) -> usize {
        self.channels * self.window * self.window + self.q_channels + 4
    }

    /// The fixed maps of `g`, padded with a border.
    fn static_map(&self, g: &GridObservation) -> StaticMap {
        let (h, w) = (g.height + 2, g.width + 2);
        let mut data = Vec::with_capacity(self.static_channels * h * w);
        for y in 0..h {
            for x in 0..w {
                let inside = (1..=g.height).contains(&y) && (1..=g.width).contains(&x);
                for c in 0..self.static_channels {
                    data.push(if inside { g.data[(c * g.height + y - 1) * g.width + x - 1] } else { g.outside[c] });
                }
            }
        }
        let iterations = (self.iterations_per_cell * (g.height + g.width) as f64).ceil().max(1.0) as usize;
        StaticMap { height: h, width: w, data, outside: g.outside[..self.static_channels].to_vec(), iterations }
    }

    /// The `window`×`window` crop of every map around the agent, `outside` beyond the edge.
    fn crop(&self, g: &GridObservation) -> Vec<f32> {
        let r = (self.window / 2) as i64;
        let mut out = Vec::with_capacity(self.channels * self.window * self.window);
        let (ax, ay) = (g.agent.0 as i64, g.agent.1 as i64);
        for c in 0..g.channels {
            for dy in -r..=r {
                for dx in -r..=r {
                    let (x, y) = (ax + dx, ay + dy);
                    let inside = x >= 0 && y >= 0 && (x as usize) < g.width && (y as usize) < g.height;
                    out.push(if inside {
                        g.data[(c * g.height + y as usize) * g.width + x as usize]
                    } else {
                        g.outside[c]
                    });
                }
            }
        }
        out
    }

    /// Stacks maps (padded to the largest with each channel's border value, top-left aligned) into channel-last
    /// `[B, H, W, static_channels]`, with the most iterations any of them needs.
    fn stack(&self, maps: &[&StaticMap]) -> Result<(Tensor, usize, usize, usize)> {
        let h = maps.iter().map(|m| m.height).max().unwrap_or(1);
        let w = maps.iter().map(|m| m.width).max().unwrap_or(1);
        let k = maps.iter().map(|m| m.iterations).max().unwrap_or(1);
        let s = self.static_channels;
        let mut data = Vec::with_capacity(maps.len() * s * h * w);
        for m in maps {
            for y in 0..h {
                for x in 0..w {
                    if y < m.height && x < m.width {
                        let at = (y * m.width + x) * s;
                        data.extend_from_slice(&m.data[at..at + s]);
                    } else {
                        data.extend_from_slice(&m.outside);
                    }
                }
            }
        }
        Ok((Tensor::from_vec(data, (maps.len(), h, w, s), &Device::Cpu)?, h, w, k))
    }

    /// Value iteration: channel-last `[B, H, W, q_channels + 1]`, the action maps then the value map.
    fn plan(&self, x: &Tensor, iterations: usize) -> candle_core::Result<Tensor> {
        let r = self.reward.forward(&self.reward_hidden.forward(x)?.relu()?)?;
        let qr = self.q_reward.forward(&r)?;
        let mut q = qr.clone();
        let mut v = q.max_keepdim(3)?;
        for _ in 0..iterations {
            q = (&qr + self.q_value.forward(&v)?)?;
            v = q.max_keepdim(3)?;
        }
        Tensor::cat(&[q, v], 3)
    }

    /// The attention read-out, differentiable: `[N, q_channels + 4]`, one row per query (index of the world in
    /// `maps`, agent cell in padded coordinates).
    fn attend(&self, maps: &Tensor, queries: &[(usize, (usize, usize))]) -> candle_core::Result<Tensor> {
        let (u, h, w, m) = maps.dims4()?;
        let mut idx = Vec::with_capacity(queries.len() * 5);
        for &(k, (x, y)) in queries {
            idx.extend(neighbourhood(x, y, w).iter().map(|&c| (k * h * w + c) as u32));
        }
        let n = queries.len();
        let idx = Tensor::from_vec(idx, n * 5, maps.device())?;
        let g = maps.reshape((u * h * w, m))?.index_select(&idx, 0)?.reshape((n, 5, m))?;
        let a = self.q_channels;
        let v = g.narrow(2, a, 1)?.squeeze(2)?;
        let v_here = v.narrow(1, 0, 1)?;
        let q_here = g.narrow(1, 0, 1)?.squeeze(1)?.narrow(1, 0, a)?;
        Tensor::cat(&[q_here.broadcast_sub(&v_here)?, v.narrow(1, 1, 4)?.broadcast_sub(&v_here)?], 1)
    }

    /// Action scores from the head's input rows.
    fn head(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for (i, l) in self.head.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.head.len() {
                h = h.relu()?;
            }
        }
        Ok(h)
    }

    /// Value maps of each world (flattened channel-last `[H, W, q_channels + 1]` at the map's own padded size).
    fn plan_all(&self, maps: &[&StaticMap]) -> Result<Vec<Vec<f32>>> {
        let mut out = vec![Vec::new(); maps.len()];
        // Worlds of one size are planned together, so that none is padded.
        let mut by_size: BTreeMap<(usize, usize, usize), Vec<usize>> = BTreeMap::new();
        for (i, m) in maps.iter().enumerate() {
            by_size.entry((m.height, m.width, m.iterations)).or_default().push(i);
        }
        for ((_, _, k), group) in by_size {
            for chunk in group.chunks(PLAN_CHUNK) {
                let sel: Vec<&StaticMap> = chunk.iter().map(|&i| maps[i]).collect();
                let (x, _, _, _) = self.stack(&sel)?;
                let planned = self.plan(&x, k)?;
                let n = planned.dim(0)?;
                let flat = planned.reshape((n, ()))?.to_vec2::<f32>()?;
                for (&i, v) in chunk.iter().zip(flat) {
                    out[i] = v;
                }
            }
        }
        Ok(out)
    }

    /// The attention read-out from planned maps held as plain numbers (the acting path of [`VinNet::attend`]).
    fn attend_flat(&self, planned: &[f32], map: &StaticMap, agent: (usize, usize)) -> Vec<f32> {
        let m = self.q_channels + 1;
        let cells = neighbourhood(agent.0, agent.1, map.width);
        let a = self.q_channels;
        let v = |c: usize| planned[c * m + a];
        let here = v(cells[0]);
        let mut f: Vec<f32> = (0..a).map(|k| planned[cells[0] * m + k] - here).collect();
        f.extend(cells[1..].iter().map(|&c| v(c) - here));
        f
    }
}

/// Flat indices of (x, y) and its north, south, east and west neighbours in a padded map `w` wide.
fn neighbourhood(x: usize, y: usize, w: usize) -> [usize; 5] {
    let at = |x: usize, y: usize| y * w + x;
    [at(x, y), at(x, y - 1), at(x, y + 1), at(x + 1, y), at(x - 1, y)]
}

/// One state an acting policy visited: what the head saw there.
struct Visit {
    /// Index of the world's fixed maps in the caller's list.
    map: usize,
    /// The agent's cell in padded coordinates.
    agent: (usize, usize),
    /// The crop around the agent.
    crop: Vec<f32>,
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

/// Runs one greedy episode per instance in lockstep. The fixed maps of every episode are appended to `maps`
/// (their indices are in the visits, when `keep` asks for them).
fn grid_rollouts<T: Task>(
    task: &T,
    net: &VinNet,
    insts: &[T::Instance],
    maps: &mut Vec<StaticMap>,
    keep: bool,
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
        let rows: Vec<(Vec<f32>, (usize, usize))> = active
            .par_iter()
            .zip(&grids)
            .map(|(&i, g)| {
                let agent = (g.agent.0 + 1, g.agent.1 + 1);
                let mut row = net.crop(g);
                row.extend(net.attend_flat(&planned[i], &maps[map_of[i]], agent));
                (row, agent)
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
            if keep {
                let mut crop = row;
                crop.truncate(net.channels * net.window * net.window);
                r.visits.push(Visit { map: map_of[i], agent, crop });
            }
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
fn evaluate<T: Task>(task: &T, net: &VinNet, insts: &[T::Instance]) -> Result<f64> {
    let rs = grid_rollouts(task, net, insts, &mut Vec::new(), false)?;
    let ok = rs
        .iter()
        .zip(insts)
        .filter(|(r, i)| task.answer_from_actions(i, &r.actions).is_some_and(|a| task.score(i, &a).success))
        .count();
    Ok(ok as f64 / insts.len().max(1) as f64)
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

/// The expert's demonstrations on `insts`, as labelled states.
fn demonstrations<T: Task>(task: &T, net: &VinNet, insts: &[T::Instance], into: &mut Labelled) -> Result<()> {
    let per: Vec<Result<Demonstration>> = insts
        .par_iter()
        .map(|i| {
            let actions = task.demonstration(i).ok_or_else(|| NetError::Encoding("no demonstration".into()))?;
            let mut ep = task.episode(i).ok_or_else(|| NetError::Encoding("no episode".into()))?;
            let map = net.static_map(&grid_of(ep.as_ref())?);
            let mut visits = Vec::with_capacity(actions.len());
            for a in actions {
                let g = grid_of(ep.as_ref())?;
                visits.push((Visit { map: 0, agent: (g.agent.0 + 1, g.agent.1 + 1), crop: net.crop(&g) }, a));
                if ep.step(a).done {
                    break;
                }
            }
            Ok((map, visits))
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
struct VinObjective<'a, T: Task> {
    task: &'a T,
    net: &'a VinNet,
    data: &'a Labelled,
    groups: Vec<(usize, Vec<usize>)>,
    crops: Tensor,
    labels: Tensor,
    val: &'a Labelled,
    val_insts: &'a [T::Instance],
}

impl<T: Task> VinObjective<'_, T> {
    /// Action scores of every state of the given worlds, and those states' indices.
    fn logits(&self, data: &Labelled, crops: &Tensor, groups: &[&(usize, Vec<usize>)]) -> Result<(Tensor, Vec<usize>)> {
        let maps: Vec<&StaticMap> = groups.iter().map(|g| &data.maps[g.0]).collect();
        let (x, _, _, k) = self.net.stack(&maps)?;
        let planned = self.net.plan(&x, k)?;
        let mut states = Vec::new();
        let mut queries = Vec::new();
        for (u, g) in groups.iter().enumerate() {
            for &i in &g.1 {
                states.push(i);
                queries.push((u, data.agent[i]));
            }
        }
        let attended = self.net.attend(&planned, &queries)?;
        let input = Tensor::cat(&[gather_rows(crops, &states)?, attended], 1)?;
        Ok((self.net.head(&input)?, states))
    }
}

impl<T: Task> Objective for VinObjective<'_, T> {
    fn params(&self) -> &Params {
        &self.net.params
    }
    fn n_train(&self) -> usize {
        self.groups.len()
    }
    fn loss(&self, idx: &[usize]) -> Result<Tensor> {
        let groups: Vec<&(usize, Vec<usize>)> = idx.iter().map(|&i| &self.groups[i]).collect();
        let (logits, states) = self.logits(self.data, &self.crops, &groups)?;
        Ok(candle_nn::loss::cross_entropy(&logits, &gather_rows(&self.labels, &states)?)?)
    }
    fn validate(&self) -> Result<ValScore> {
        let n = self.val.len();
        let crop = self.net.channels * self.net.window * self.net.window;
        let crops = Tensor::from_slice(&self.val.crops, (n, crop), &Device::Cpu)?;
        let labels = Tensor::from_slice(&self.val.actions, n, &Device::Cpu)?;
        let groups = self.val.groups();
        let (logits, states) = self.logits(self.val, &crops, &groups.iter().collect::<Vec<_>>())?;
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
            reward_hidden: 16,
            q_channels: 8,
            iterations_per_cell: 1.0,
            window: 7,
            hidden: vec![128, 128],
            train: TrainConfig { steps: 1500, batch: 16, lr: 3e-3, weight_decay: 1e-4, warmup: 0.05, eval_every: 500 },
            demonstrations: 2000,
            dagger_rounds: 2,
            dagger_episodes: 500,
        })
    }
}

/// Validation states whose expert agreement is measured (their episodes are the first validation instances).
const VAL_DEMOS: usize = 200;

impl<T: Task> Learner<T> for Vin {
    fn name(&self) -> &'static str {
        "vin"
    }
    fn kind(&self) -> SolverKind {
        SolverKind::Network
    }
    /// Kept out of the sample-efficiency experiment to hold the quick suite's budget.
    fn in_sample_efficiency(&self) -> bool {
        false
    }
    fn description(&self) -> String {
        format!(
            "value iteration network over the whole city (K = {} x (W+H) steps, {} action maps, {}x{} reactive \
             window, head {:?}) cloned from the planner, {} DAgger rounds",
            self.0.iterations_per_cell,
            self.0.q_channels,
            self.0.window,
            self.0.window,
            self.0.hidden,
            self.0.dagger_rounds
        )
    }
    fn config(&self, _task: &T, profile: &Profile) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.0).expect("config serialises");
        v["train"]["steps"] = profile.scale_steps(self.0.train.steps).into();
        v
    }
    fn train(
        &self,
        task: &T,
        data: &TrainData<T>,
        profile: &Profile,
        seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<(Box<dyn Solver<T>>, TrainStats)> {
        let run = || -> Result<(VinNet, TrainStats)> {
            let c = &self.0;
            let actions = match task.encoding() {
                Encoding::Policy(s) => s.actions,
                other => return Err(NetError::Encoding(format!("{other:?} is not Policy"))),
            };
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
            let per_round = (profile.steps_for(c.train.steps, demos, c.train.batch) / rounds as u64).max(1);
            let mut stats = TrainStats::default();
            let (mut deaths, mut queried, mut rolled) = (0u64, 0u64, 0u64);
            let crop = net.channels * net.window * net.window;
            for round in 0..rounds {
                if round > 0 {
                    // DAgger: the states the policy itself reaches, labelled by the expert; at most a quarter of
                    // the training instances per round, as in the imitation MLP.
                    let episodes = ((c.dagger_episodes as f64 * profile.train_scale.min(1.0)).round() as usize)
                        .min(data.train.len() / 4)
                        .max(1);
                    let insts: Vec<T::Instance> =
                        (0..episodes).map(|_| data.train.choose(&mut picks).expect("not empty").clone()).collect();
                    let mut maps = std::mem::take(&mut train.maps);
                    let rs = grid_rollouts(task, &net, &insts, &mut maps, true)?;
                    train.maps = maps;
                    rolled += rs.len() as u64;
                    deaths += rs.iter().filter(|r| r.died).count() as u64;
                    let labels: Vec<Vec<Option<usize>>> = rs
                        .par_iter()
                        .zip(&insts)
                        .map(|(r, inst)| {
                            (0..r.actions.len()).map(|k| task.expert_action(inst, &r.actions[..k])).collect()
                        })
                        .collect();
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
            Ok((net, stats))
        };
        let (net, stats) = run().map_err(|e| crate::error::training_error(task.id(), "vin", e))?;
        Ok((Box::new(VinSolver { net }), stats))
    }
}

/// A trained value-iteration policy acting greedily.
struct VinSolver {
    net: VinNet,
}

impl<T: Task> Solver<T> for VinSolver {
    fn solve_batch(&self, task: &T, instances: &[T::Instance]) -> driftbench_core::Result<Vec<Attempt<T::Answer>>> {
        // An instance the task rejects gets no answer instead of failing the batch.
        driftbench_core::solver::solve_valid(task, instances, |instances| {
            let rs = grid_rollouts(task, &self.net, instances, &mut Vec::new(), false)
                .map_err(|e| crate::error::solve_error(task.id(), "vin", e))?;
            Ok(crate::policy::attempts(task, instances, rs.into_iter().map(|r| r.actions)))
        })
    }

    fn representable(&self, task: &T, instance: &T::Instance) -> Option<driftbench_core::solver::Representable> {
        Some(crate::policy::policy_representable(task, instance, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn net() -> VinNet {
        let c = Vin::default().0;
        VinNet::new(&VinConfig { hidden: vec![8], ..c }, 3, 2, 5, &mut ChaCha8Rng::seed_from_u64(1)).unwrap()
    }

    fn grid(w: usize, h: usize, agent: (usize, usize), seed: u64) -> GridObservation {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let data = (0..3 * w * h).map(|_| f32::from(rand::Rng::random_bool(&mut r, 0.3))).collect();
        GridObservation { channels: 3, height: h, width: w, data, agent, static_channels: 2, outside: vec![1., 0., 0.] }
    }

    #[test]
    fn acting_and_training_read_the_same_features() {
        let n = net();
        for (w, h, agent) in [(5, 4, (0, 0)), (7, 7, (6, 3)), (9, 6, (4, 5))] {
            let g = grid(w, h, agent, w as u64);
            let m = n.static_map(&g);
            let planned = n.plan_all(&[&m]).unwrap().remove(0);
            let a = (agent.0 + 1, agent.1 + 1);
            let flat = n.attend_flat(&planned, &m, a);
            let (x, _, _, k) = n.stack(&[&m]).unwrap();
            let t = n.attend(&n.plan(&x, k).unwrap(), &[(0, a)]).unwrap().to_vec2::<f32>().unwrap().remove(0);
            assert_eq!(flat.len(), 12);
            for (u, v) in flat.iter().zip(&t) {
                assert!((u - v).abs() < 1e-4, "{flat:?} vs {t:?}");
            }
        }
    }

    #[test]
    fn worlds_of_different_sizes_are_padded_with_each_channels_border_value() {
        let n = net();
        let small = n.static_map(&grid(5, 5, (2, 2), 3));
        let big = n.static_map(&grid(9, 9, (2, 2), 4));
        let (x, h, w, k) = n.stack(&[&small, &big]).unwrap();
        assert_eq!((h, w, k), (11, 11, big.iterations));
        let x0: Vec<f32> = x.get(0).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let at = |x: usize, y: usize, c: usize| x0[(y * 11 + x) * 2 + c];
        assert_eq!((at(8, 7, 0), at(8, 7, 1)), (1.0, 0.0), "building, no goal beyond the edge");
        assert_eq!(at(1, 1, 0), small.data[(7 + 1) * 2], "the world itself is copied top-left");
        assert_eq!(at(1, 1, 1), small.data[(7 + 1) * 2 + 1]);
    }

    #[test]
    fn shifted_matmul_convolution_equals_candles_conv2d() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut p = Params::default();
        let conv = Conv::new(4, 3, Stencil::Square, true, &mut p, &mut rng).unwrap();
        let x = p.uniform(&[2, 5, 6, 3], 1.0, &mut rng).unwrap();
        let ours = conv.forward(&x).unwrap();
        // candle: channel-first input, kernel [out, in, k, k] from our (dy, dx, in) x out rows.
        let kernel = conv.weight.reshape((3, 3, 3, 4)).unwrap().permute((3, 2, 0, 1)).unwrap().contiguous().unwrap();
        let theirs = x
            .permute((0, 3, 1, 2))
            .unwrap()
            .contiguous()
            .unwrap()
            .conv2d(&kernel, 1, 1, 1, 1)
            .unwrap()
            .broadcast_add(&conv.bias.as_ref().unwrap().reshape((1, 4, 1, 1)).unwrap())
            .unwrap()
            .permute((0, 2, 3, 1))
            .unwrap();
        let diff = (ours - theirs).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn conv_and_value_iteration_have_gradients() {
        let n = net();
        let m = n.static_map(&grid(6, 5, (1, 1), 9));
        let (x, _, _, k) = n.stack(&[&m]).unwrap();
        let out = n.attend(&n.plan(&x, k).unwrap(), &[(0, (2, 2))]).unwrap();
        let g = out.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        for v in &n.params.vars()[..7] {
            assert!(g.get(v.as_tensor()).is_some(), "a planning weight has no gradient");
        }
    }
}
