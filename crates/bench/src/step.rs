//! One optimiser step of every default network, on synthetic data of the shapes the suite trains on: what the
//! `train-step` criterion benches and the side-by-side comparison with PyTorch (`scripts/torch_bench.py`, same
//! shapes, losses and AdamW settings) time. A step is what [`driftbench_nets::train::fit`] does per step: draw a
//! mini-batch, set the learning rate, compute the loss, read it, backward pass, AdamW update.
//!
//! Each network uses the optimiser its learner uses: [`driftbench_nets::train::AdamW`] for every learner (PPO switched from
//! `candle_nn::AdamW`, with the same values bit for bit). The imitation policy is timed on the 351 features its
//! learner reads (the 326 of the window observation, 15% ones, and 25 of its memory of visited cells, a few of
//! them 0.5); PPO on the 326 window features, as its fingerprint was recorded with stock
//! candle-core (its learner reads the memory too: 8% more first-layer work).
use candle_core::{Device, Module, Tensor, Var, D};
use candle_nn::{Optimizer, ParamsAdamW};
use driftbench_core::{SeqClassShape, SeqExample};
use driftbench_nets::layers::{linear, Linear, Params};
use driftbench_nets::learner::SeqLearner;
use driftbench_nets::pointer::{predecessors, PointerLearner};
use driftbench_nets::policy::{Imitation, PolicyNet};
use driftbench_nets::ppo::Ppo;
use driftbench_nets::seq::{make_batch, set_cross_entropy, SeqModel};
use driftbench_nets::train::{gather_rows, AdamW, TrainConfig};
use driftbench_nets::vec::{VecLearner, VecMlp};
use driftbench_nets::{NetError, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The default networks, by the names the benches and `scripts/torch_bench.py` use.
pub const NETWORKS: [&str; 8] = [
    "sorting-mlp",
    "sorting-transformer",
    "sorting-pointer",
    "rocket-mlp",
    "rocket-mlp-tanh",
    "nav-imitation",
    "nav-ppo",
    "nav-vin",
];

/// Networks that can be timed but are not in the default suite: PPO's step with `candle_nn::AdamW` instead of
/// [`driftbench_nets::train::AdamW`] (what PPO used before; same values bit for bit).
pub const EXTRA_NETWORKS: [&str; 1] = ["nav-ppo-candle-adamw"];

/// States of the rollout batch PPO's mini-batches are drawn from in the comparison (the mean over a quick-profile
/// run's updates of the REINFORCE learner that PPO replaced, 64 episodes each; kept so that the timings stay
/// comparable with the earlier ones).
pub const ROLLOUT_STATES: usize = 3542;

type LossFn = Box<dyn Fn(&[usize]) -> Result<Tensor>>;

/// The optimiser a learner uses.
enum Opt {
    /// `driftbench_nets::train::AdamW` (one pass per variable).
    Project(AdamW),
    /// `candle_nn::AdamW` (the comparison).
    Candle(candle_nn::AdamW),
}

impl Opt {
    fn set_learning_rate(&mut self, lr: f64) {
        match self {
            Opt::Project(o) => o.set_learning_rate(lr),
            Opt::Candle(o) => o.set_learning_rate(lr),
        }
    }

    fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        match self {
            Opt::Project(o) => o.backward_step(loss)?,
            Opt::Candle(o) => o.backward_step(loss)?,
        }
        Ok(())
    }
}

/// One default network with its synthetic training data and optimiser, ready to take steps.
pub struct StepBench {
    /// Network name (one of [`NETWORKS`]).
    pub name: &'static str,
    /// Examples per step.
    pub batch: usize,
    /// Trainable scalars.
    pub params: usize,
    n: usize,
    cfg: TrainConfig,
    loss: LossFn,
    opt: Opt,
    order: Vec<usize>,
    cursor: usize,
    rng: ChaCha8Rng,
    step: u64,
    vars: Vec<Var>,
}

impl StepBench {
    /// Takes one optimiser step (learning-rate schedule over `total` steps) and returns the loss.
    pub fn step(&mut self, total: u64) -> Result<f32> {
        if self.cursor + self.batch > self.n {
            self.order.shuffle(&mut self.rng);
            self.cursor = 0;
        }
        let idx = &self.order[self.cursor..self.cursor + self.batch];
        self.cursor += self.batch;
        self.opt.set_learning_rate(self.cfg.lr_at(self.step % total.max(1), total));
        let loss = (self.loss)(idx)?;
        let value = loss.to_scalar::<f32>()?;
        self.opt.backward_step(&loss)?;
        self.step += 1;
        Ok(value)
    }

    /// A fingerprint of the current parameter values (to check that two builds train bit for bit alike).
    pub fn fingerprint(&self) -> Result<u64> {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for v in &self.vars {
            for x in v.as_tensor().flatten_all()?.to_vec1::<f32>()? {
                h = (h ^ x.to_bits() as u64).wrapping_mul(0x100_0000_01b3);
            }
        }
        Ok(h)
    }
}

fn bench(name: &'static str, cfg: TrainConfig, n: usize, vars: Vec<Var>, loss: LossFn) -> Result<StepBench> {
    let opt =
        AdamW::new(vars.clone(), ParamsAdamW { lr: cfg.lr, weight_decay: cfg.weight_decay, ..Default::default() })?;
    bench_with(name, cfg, n, vars, loss, Opt::Project(opt))
}

fn bench_with(
    name: &'static str,
    cfg: TrainConfig,
    n: usize,
    vars: Vec<Var>,
    loss: LossFn,
    opt: Opt,
) -> Result<StepBench> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    Ok(StepBench {
        name,
        batch: cfg.batch.min(n),
        params: vars.iter().map(|v| v.elem_count()).sum(),
        n,
        cfg,
        loss,
        opt,
        order,
        cursor: 0,
        rng,
        step: 0,
        vars,
    })
}

/// Level-0 sorting lists (length 2..=8, values 0..=99) as the sorting task encodes them.
fn sorting_examples(n: usize, rng: &mut ChaCha8Rng) -> Vec<SeqExample> {
    (0..n)
        .map(|_| {
            let len = rng.random_range(2..=8usize);
            let v: Vec<u32> = (0..len).map(|_| rng.random_range(0..100)).collect();
            let mut s = v.clone();
            s.sort_unstable();
            let targets = v
                .iter()
                .map(|x| {
                    let lo = s.partition_point(|y| y < x) as u32;
                    let hi = s.partition_point(|y| y <= x) as u32 - 1;
                    (lo, hi)
                })
                .collect();
            SeqExample { features: v.iter().map(|&x| x as f32 / 100.0).collect(), targets }
        })
        .collect()
}

fn sorting(name: &'static str, learner: SeqLearner, rng: &mut ChaCha8Rng) -> Result<StepBench> {
    let shape = SeqClassShape { features: 1, classes: 32, max_len: 32, positional: false, permutation: true };
    let model: std::sync::Arc<dyn SeqModel> = learner.build(shape, rng)?.into();
    let train = sorting_examples(20_000, rng);
    let n = train.len();
    let params = model.params().vars().to_vec();
    let loss: LossFn = Box::new(move |idx| {
        let exs: Vec<&SeqExample> = idx.iter().map(|&i| &train[i]).collect();
        let longest = exs.iter().map(|e| e.len()).max().unwrap_or(0);
        let b = make_batch(&exs, shape, model.pad_to(longest), true)?;
        let logits = model.forward_prefix(&b.x, &b.mask, longest)?;
        let targets = b.target_logmask.as_ref().expect("targets asked for").narrow(1, 0, longest)?;
        set_cross_entropy(&logits, &targets, &b.mask.narrow(1, 0, longest)?)
    });
    bench(name, learner.train, n, params, loss)
}

/// The pointer network on the same lists: `PointerObjective::loss` in `crates/nets/src/pointer.rs`.
fn pointer(rng: &mut ChaCha8Rng) -> Result<StepBench> {
    let learner = PointerLearner::pointer();
    let shape = SeqClassShape { features: 1, classes: 32, max_len: 32, positional: false, permutation: true };
    let model = learner.model.init(shape, rng)?;
    let params = model.params().vars().to_vec();
    let train = sorting_examples(20_000, rng);
    let n = train.len();
    let loss: LossFn = Box::new(move |idx| {
        let exs: Vec<&SeqExample> = idx.iter().map(|&i| &train[i]).collect();
        let longest = exs.iter().map(|e| e.len()).max().unwrap_or(0);
        let b = make_batch(&exs, shape, longest, false)?;
        let logits = model.forward(&b.x, &b.mask)?;
        // Each position's predecessor: 0 there, -1e4 elsewhere (pointer.rs `target_logmask`).
        let mut t = vec![-1e4f32; exs.len() * longest * longest];
        for (e, ex) in exs.iter().enumerate() {
            let pred = predecessors(&ex.targets).ok_or_else(|| NetError::Encoding("not a permutation".into()))?;
            for (i, &j) in pred.iter().enumerate() {
                t[(e * longest + i) * longest + j] = 0.0;
            }
        }
        let targets = Tensor::from_vec(t, (exs.len(), longest, longest), &Device::Cpu)?;
        set_cross_entropy(&logits, &targets, &b.mask)
    });
    bench("sorting-pointer", learner.train, n, params, loss)
}

fn normal(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    // Sum of 12 uniforms minus 6: close enough to a standard normal for timing.
    (0..n).map(|_| (0..12).map(|_| rng.random::<f32>()).sum::<f32>() - 6.0).collect()
}

fn rocket(name: &'static str, learner: VecLearner, rng: &mut ChaCha8Rng) -> Result<StepBench> {
    let n = 100_000;
    let model = std::sync::Arc::new(VecMlp::untrained(5, &learner.model, 2, rng)?);
    let x = Tensor::from_vec(normal(n * 5, rng), (n, 5), &Device::Cpu)?;
    let y = Tensor::from_vec(normal(n * 2, rng), (n, 2), &Device::Cpu)?;
    let params = model.params().vars().to_vec();
    let loss: LossFn = Box::new(move |idx| {
        let pred = model.forward(&gather_rows(&x, idx)?)?;
        Ok((pred - gather_rows(&y, idx)?)?.sqr()?.mean_all()?)
    });
    bench(name, learner.train, n, params, loss)
}

/// Navigation observations: 326 features, 15% ones.
fn observations(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..n * 326).map(|_| if rng.random::<f32>() < 0.15 { 1.0 } else { 0.0 }).collect()
}

/// Navigation observations with the memory: 326 window features (15% ones), then 25 memory features (20% 0.5).
fn observations_with_memory(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut out = Vec::with_capacity(n * 351);
    for _ in 0..n {
        out.extend((0..326).map(|_| if rng.random::<f32>() < 0.15 { 1.0 } else { 0.0 }));
        out.extend((0..25).map(|_| if rng.random::<f32>() < 0.2 { 0.5 } else { 0.0 }));
    }
    out
}

fn imitation(rng: &mut ChaCha8Rng) -> Result<StepBench> {
    let learner = Imitation::default();
    let n = 50_000;
    let net = std::sync::Arc::new(PolicyNet::with_dims(351, &learner.0.hidden, 5, rng)?);
    let x = Tensor::from_vec(observations_with_memory(n, rng), (n, 351), &Device::Cpu)?;
    let y = Tensor::from_vec((0..n).map(|_| rng.random_range(0..5u32)).collect::<Vec<_>>(), n, &Device::Cpu)?;
    let params = net.params().vars().to_vec();
    let loss: LossFn = Box::new(move |idx| {
        let logits = net.logits(&gather_rows(&x, idx)?)?;
        Ok(candle_nn::loss::cross_entropy(&logits, &gather_rows(&y, idx)?)?)
    });
    bench("nav-imitation", learner.0.train, n, params, loss)
}

fn relu_mlp(layers: &[Linear], x: &Tensor) -> candle_core::Result<Tensor> {
    let mut h = x.clone();
    for (i, l) in layers.iter().enumerate() {
        h = l.forward(&h)?;
        if i + 1 < layers.len() {
            h = h.relu()?;
        }
    }
    Ok(h)
}

/// One PPO mini-batch step: the policy and value MLPs of `crates/nets/src/ppo.rs` (`ActorCritic`), its loss
/// (clipped surrogate + value error − entropy bonus) on `minibatch` rows of a rollout batch, and its optimiser
/// ([`driftbench_nets::train::AdamW`], no weight decay; `candle_nn::AdamW` for the comparison, same values bit for bit).
fn ppo(rng: &mut ChaCha8Rng, one_pass: bool) -> Result<StepBench> {
    let c = Ppo::default().0;
    let n = ROLLOUT_STATES;
    let mut p = Params::default();
    let mlp = |out: usize, p: &mut Params, rng: &mut ChaCha8Rng| -> Result<Vec<Linear>> {
        let dims = [&[326][..], &c.hidden, &[out]].concat();
        dims.windows(2).map(|w| linear(w[0], w[1], p, rng)).collect()
    };
    let policy = mlp(5, &mut p, rng)?;
    let value = mlp(1, &mut p, rng)?;
    let dev = &Device::Cpu;
    let x = Tensor::from_vec(observations(n, rng), (n, 326), dev)?;
    let a = Tensor::from_vec((0..n).map(|_| rng.random_range(0..5u32)).collect::<Vec<_>>(), (n, 1), dev)?;
    // Log-probabilities of the rollout policy: near uniform over 5 actions, so that some ratios are clipped.
    let old = Tensor::from_vec(normal(n, rng).iter().map(|z| z * 0.1 - 5f32.ln()).collect::<Vec<_>>(), n, dev)?;
    let adv = Tensor::from_vec(normal(n, rng), n, dev)?;
    let targets = Tensor::from_vec(normal(n, rng), n, dev)?;
    let vars = p.vars().to_vec();
    let (clip, value_coef, entropy_weight) = (c.clip, c.value_coef, c.entropy);
    let loss: LossFn = Box::new(move |idx| {
        let ids = Tensor::from_vec(idx.iter().map(|&i| i as u32).collect::<Vec<_>>(), idx.len(), &Device::Cpu)?;
        let xb = x.index_select(&ids, 0)?;
        let logp = candle_nn::ops::log_softmax(&relu_mlp(&policy, &xb)?, D::Minus1)?;
        let chosen = logp.gather(&a.index_select(&ids, 0)?, 1)?.squeeze(1)?;
        let ratio = (chosen - old.index_select(&ids, 0)?)?.exp()?;
        let advb = adv.index_select(&ids, 0)?;
        let clipped = ratio.clamp(1.0 - clip, 1.0 + clip)?;
        let surrogate = (&ratio * &advb)?.minimum(&(clipped * &advb)?)?.mean_all()?;
        let v = relu_mlp(&value, &xb)?.squeeze(1)?;
        let value_loss = (v - targets.index_select(&ids, 0)?)?.sqr()?.mean_all()?;
        let entropy = (logp.exp()? * &logp)?.sum(D::Minus1)?.mean_all()?.neg()?;
        Ok(((surrogate.neg()? + (value_loss * value_coef)?)? - (entropy * entropy_weight)?)?)
    });
    let cfg = TrainConfig { steps: 0, batch: c.minibatch, lr: c.lr, weight_decay: 0.0, warmup: 0.05, eval_every: 1 };
    let params = ParamsAdamW { lr: c.lr, weight_decay: 0.0, ..Default::default() };
    if one_pass {
        let opt = Opt::Project(AdamW::new(vars.clone(), params)?);
        return bench_with("nav-ppo", cfg, n, vars, loss, opt);
    }
    let opt = Opt::Candle(candle_nn::AdamW::new(vars.clone(), params)?);
    bench_with("nav-ppo-candle-adamw", cfg, n, vars, loss, opt)
}

/// The value-iteration network: one step plans a batch of 16 synthetic 12×12 worlds (K = 24) and learns from 20
/// states in each, as the `vin` learner's steps do.
fn vin(rng: &mut ChaCha8Rng) -> Result<StepBench> {
    let cfg = driftbench_nets::grid_policy::Vin::default().0.train;
    let worlds = std::sync::Arc::new(driftbench_nets::grid_policy::SyntheticWorlds::new(400, rng)?);
    let params = worlds.params().vars().to_vec();
    let n = worlds.len();
    let loss: LossFn = Box::new(move |idx| worlds.loss(idx));
    bench("nav-vin", cfg, n, params, loss)
}

/// Builds the step benchmark of the network `name` (one of [`NETWORKS`] or [`EXTRA_NETWORKS`]); `None` for
/// another name.
pub fn step_bench(name: &str) -> Option<Result<StepBench>> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    Some(match name {
        "sorting-mlp" => sorting("sorting-mlp", SeqLearner::mlp(), &mut rng),
        "sorting-transformer" => sorting("sorting-transformer", SeqLearner::transformer(), &mut rng),
        "sorting-pointer" => pointer(&mut rng),
        "rocket-mlp" => rocket("rocket-mlp", VecLearner::relu(), &mut rng),
        "rocket-mlp-tanh" => rocket("rocket-mlp-tanh", VecLearner::tanh(), &mut rng),
        "nav-imitation" => imitation(&mut rng),
        "nav-ppo" => ppo(&mut rng, true),
        "nav-ppo-candle-adamw" => ppo(&mut rng, false),
        "nav-vin" => vin(&mut rng),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_network_takes_finite_steps() {
        for name in NETWORKS.into_iter().chain(EXTRA_NETWORKS) {
            let mut b = step_bench(name).expect("known").unwrap();
            for _ in 0..2 {
                assert!(b.step(10).unwrap().is_finite(), "{name}");
            }
        }
        assert!(step_bench("nonsense").is_none());
    }
}
