//! The network: convolutions, the value-iteration planning module, the attention read-out and the head.
use super::vi::{value_iteration, STENCIL};
use super::VinConfig;
use crate::error::{NetError, Result};
use crate::layers::{linear, Linear, Params};
use crate::policy::Memory;
use candle_core::{Device, Module, Tensor};
use driftbench_core::GridObservation;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Initial transition logit of the cell an action map starts by moving to.
const MOVE_LOGIT: f32 = 3.0;
/// Worlds planned together in one batch while acting.
const PLAN_CHUNK: usize = 128;
/// The most values a product may have for `gemm` to compute it with its small-product kernels, which sum a dot
/// product in another order than its kernels for larger products: the reward map's 1×1 convolution (one output
/// per cell) of a single 12×12 city would round differently alone than in a batch of cities.
const SMALL_PRODUCT: usize = 16 * 16;

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
        } else if !x.track_op() {
            // Data (the fixed maps): the same patches copied in one pass, without candle's pad, shifts,
            // concatenation and the copy that makes them contiguous.
            patches_of(x, offsets)?
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

/// The rows a convolution multiplies for a `[B, H, W, C]` input that needs no gradient: one row per cell, the input
/// channels of each stencil cell in turn (zero beyond the edge), as the shifted copies concatenated give them.
fn patches_of(x: &Tensor, offsets: &[(usize, usize)]) -> candle_core::Result<Tensor> {
    let (b, h, w, c) = x.dims4()?;
    let data = x.flatten_all()?.to_vec1::<f32>()?;
    let row = offsets.len() * c;
    let mut out = vec![0f32; b * h * w * row];
    for (cell, dst) in out.chunks_exact_mut(row.max(1)).enumerate() {
        let (m, y, xx) = (cell / (h * w), cell / w % h, cell % w);
        for (k, &(dy, dx)) in offsets.iter().enumerate() {
            // Offsets index the input padded by one cell.
            let (sy, sx) = ((y + dy).wrapping_sub(1), (xx + dx).wrapping_sub(1));
            if sy < h && sx < w {
                let at = ((m * h + sy) * w + sx) * c;
                dst[k * c..(k + 1) * c].copy_from_slice(&data[at..at + c]);
            }
        }
    }
    Tensor::from_vec(out, (b * h * w, row), x.device())
}

/// The fixed maps of one world, with a one-cell border of `outside` values.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StaticMap {
    pub(super) height: usize,
    pub(super) width: usize,
    /// Channel-last `height × width × static_channels`, padded.
    pub(super) data: Vec<f32>,
    /// Each fixed channel's value beyond the edge.
    pub(super) outside: Vec<f32>,
    /// Value-iteration steps for this world.
    pub(super) iterations: usize,
}

/// The value-iteration network.
pub struct VinNet {
    reward_hidden: Conv,
    reward: Conv,
    q_reward: Conv,
    /// `[5, q_channels]` logits of each action map's transition distribution over the cell and its neighbours.
    q_value: Tensor,
    head: Vec<Linear>,
    pub(super) params: Params,
    pub(super) channels: usize,
    pub(super) static_channels: usize,
    pub(super) q_channels: usize,
    pub(super) window: usize,
    /// Radius of the window of visited cells the head reads ([`crate::policy::Memory`]; 0 = none).
    pub(super) memory: usize,
    pub(super) iterations_per_cell: f64,
    pub(super) discount: f64,
}

impl VinNet {
    pub(super) fn new(
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
        if !(c.discount > 0.0 && c.discount < 1.0) {
            return Err(NetError::Encoding(format!("the VIN's discount must lie in (0, 1), not {}", c.discount)));
        }
        // Action map a starts as "move to stencil cell a mod 5" (83% of its weight there), small noise on top: the
        // maps start apart, as moves, instead of all averaging the neighbourhood alike.
        let noise: Vec<f32> = (0..STENCIL * c.q_channels).map(|_| rng.random_range(-0.1f32..0.1)).collect();
        let logits: Vec<f32> = noise
            .iter()
            .enumerate()
            .map(|(i, e)| e + if i / c.q_channels == (i % c.q_channels) % STENCIL { MOVE_LOGIT } else { 0.0 })
            .collect();
        let q_value = p.from_vec(logits, &[STENCIL, c.q_channels])?;
        let mut dims = vec![channels * c.window * c.window + Memory::features(c.memory) + c.q_channels + 4];
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
            memory: c.memory,
            iterations_per_cell: c.iterations_per_cell,
            discount: c.discount,
        })
    }

    /// Width of the reactive part of one head input row: the crop of every map, then the memory window.
    pub(super) fn reactive_width(&self) -> usize {
        self.channels * self.window * self.window + Memory::features(self.memory)
    }

    /// Width of one row of the head's input.
    pub(super) fn input_width(&self) -> usize {
        self.reactive_width() + self.q_channels + 4
    }

    /// The fixed maps of `g`, padded with a border.
    pub(super) fn static_map(&self, g: &GridObservation) -> StaticMap {
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
    pub(super) fn crop(&self, g: &GridObservation) -> Vec<f32> {
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
    pub(super) fn stack(&self, maps: &[&StaticMap]) -> Result<(Tensor, usize, usize, usize)> {
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

    /// Value iteration: channel-last `[B, H, W, q_channels + 1]`, the action maps then the value map. Each action
    /// map's transition weights are a distribution over the cell and its four neighbours times the discount, so
    /// every step is a contraction and values stay within max |reward| / (1 − discount) for any K and map size.
    pub(super) fn plan(&self, x: &Tensor, iterations: usize) -> candle_core::Result<Tensor> {
        let r = self.reward.forward(&self.reward_hidden.forward(x)?.relu()?)?;
        let qr = self.q_reward.forward(&r)?;
        let p = (candle_nn::ops::softmax(&self.q_value, 0)? * self.discount)?;
        let q = value_iteration(&qr, &qr.max_keepdim(3)?, &p, iterations)?;
        let v = q.max_keepdim(3)?;
        Tensor::cat(&[q, v], 3)
    }

    /// The attention read-out, differentiable: `[N, q_channels + 4]`, one row per query (index of the world in
    /// `maps`, agent cell in padded coordinates).
    pub(super) fn attend(&self, maps: &Tensor, queries: &[(usize, (usize, usize))]) -> candle_core::Result<Tensor> {
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
    pub(super) fn head(&self, x: &Tensor) -> candle_core::Result<Tensor> {
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
    pub(super) fn plan_all(&self, maps: &[&StaticMap]) -> Result<Vec<Vec<f32>>> {
        let mut out = vec![Vec::new(); maps.len()];
        // Worlds of one size are planned together, so that none is padded.
        let mut by_size: BTreeMap<(usize, usize, usize), Vec<usize>> = BTreeMap::new();
        for (i, m) in maps.iter().enumerate() {
            by_size.entry((m.height, m.width, m.iterations)).or_default().push(i);
        }
        for ((_, _, k), group) in by_size {
            for chunk in group.chunks(PLAN_CHUNK) {
                let mut sel: Vec<&StaticMap> = chunk.iter().map(|&i| maps[i]).collect();
                // A batch of few cells is padded with copies of its first world (planned and dropped), so that a
                // world's plan is the same whatever it is planned with ([`SMALL_PRODUCT`]).
                while sel.len() * sel[0].height * sel[0].width <= SMALL_PRODUCT {
                    sel.push(sel[0]);
                }
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
    pub(super) fn attend_flat(&self, planned: &[f32], map: &StaticMap, agent: (usize, usize)) -> Vec<f32> {
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
pub(super) fn neighbourhood(x: usize, y: usize, w: usize) -> [usize; 5] {
    let at = |x: usize, y: usize| y * w + x;
    [at(x, y), at(x, y - 1), at(x, y + 1), at(x + 1, y), at(x - 1, y)]
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid_policy::Vin;
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
            assert_eq!(flat.len(), n.q_channels + 4);
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
    fn patches_of_data_equal_the_shifted_copies_concatenated() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let mut p = Params::default();
        let x = p.uniform(&[2, 4, 5, 3], 1.0, &mut rng).unwrap().detach();
        for stencil in [Stencil::Square, Stencil::Plus] {
            let offsets = stencil.offsets();
            let xp = x.pad_with_zeros(1, 1, 1).unwrap().pad_with_zeros(2, 1, 1).unwrap();
            let shifted: Vec<Tensor> =
                offsets.iter().map(|&(dy, dx)| xp.narrow(1, dy, 4).unwrap().narrow(2, dx, 5).unwrap()).collect();
            let want = Tensor::cat(&shifted, 3).unwrap().reshape((40, offsets.len() * 3)).unwrap();
            let got = patches_of(&x, offsets).unwrap();
            let bits = |t: &Tensor| {
                t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            };
            assert_eq!(bits(&got), bits(&want), "{stencil:?}");
        }
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

    #[test]
    fn planned_values_stay_bounded_on_the_largest_city() {
        let n = net();
        // Push the transition logits far from uniform: the kernel must stay a discounted distribution.
        let logits = (n.q_value.abs().unwrap() * 50.0).unwrap();
        n.params.vars()[6].set(&logits).unwrap();
        let m = n.static_map(&grid(36, 36, (0, 0), 11));
        let (x, _, _, k) = n.stack(&[&m]).unwrap();
        assert_eq!(k, 72);
        let qr = n.q_reward.forward(&n.reward.forward(&n.reward_hidden.forward(&x).unwrap().relu().unwrap()).unwrap());
        let top = qr.unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        let planned = n.plan(&x, k).unwrap();
        let v = planned.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(v.is_finite() && v as f64 <= top as f64 / (1.0 - n.discount) * 1.0001, "{v} vs {top}");
    }
}
