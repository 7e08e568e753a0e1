//! Proximal policy optimisation (Schulman et al., 2017) for [`driftbench_core::Encoding::Policy`] tasks: the
//! same flat observations and rewards as every other policy learner, every death during training counted. The
//! observation gains the policy's own memory of the cells it has visited ([`crate::policy::Memory`]), which lets
//! a greedy policy stop repeating itself where its view repeats.
//!
//! Each update rolls the current policy out (actions sampled) on `episodes_per_update` training instances, drawn
//! like the sampling itself from the run's seeded stream; computes advantages with GAE(γ, λ) against a value
//! head (an episode's last step has no successor: death, goal and step limit all end it); normalises them over
//! the batch; and takes `epochs` passes of mini-batch AdamW steps on the clipped surrogate objective plus
//! `value_coef` × the value error minus `entropy` × the policy's entropy. Every `eval_every` updates the greedy
//! policy is validated on held-out level-0 instances; the best validated parameters are kept, and each
//! validation is a point of the learning curve and of the deaths-to-competence curve.
use crate::error::{NetError, Result};
use crate::family::{Family, Fit, Trained};
use crate::layers::{linear, Linear, Params};
use crate::lockstep::BatchActor;
use crate::policy::{observe_all, Memory};
use crate::train::AdamW;
use crate::train::TrainConfig;
use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Module, Tensor, Var, D};
use candle_nn::{Optimizer, ParamsAdamW};
use driftbench_core::PolicyTask;
use driftbench_core::{rng, PolicyShape, Profile, TrainStats};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::lockstep::MAX_EPISODE;

/// Hyper-parameters of the PPO learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PpoConfig {
    /// Hidden widths of the policy MLP and, separately, of the value MLP.
    pub hidden: Vec<usize>,
    /// Updates (rollout batches) at `train_scale` 1.
    pub updates: u64,
    /// Episodes rolled out per update.
    pub episodes_per_update: usize,
    /// Passes over each rollout batch.
    pub epochs: usize,
    /// Steps per mini-batch.
    pub minibatch: usize,
    /// Peak learning rate (short warm-up, cosine decay over the updates).
    pub lr: f64,
    /// Discount factor γ.
    pub gamma: f32,
    /// GAE λ.
    pub lambda: f32,
    /// Clip range ε of the probability ratio.
    pub clip: f64,
    /// Weight of the value loss.
    pub value_coef: f64,
    /// Weight of the entropy bonus.
    pub entropy: f64,
    /// Validate (greedy, on held-out instances) every this many updates.
    pub eval_every: u64,
    /// Global gradient-norm clip of each mini-batch step (0 = none).
    #[serde(default)]
    pub max_grad_norm: f64,
    /// Scale of the policy's output layer at initialisation (1 = as every layer; small = a near-uniform first
    /// policy).
    #[serde(default = "one")]
    pub head_scale: f64,
    /// Radius of the window of visited cells added to the observation ([`crate::policy::Memory`]; 0 = none).
    #[serde(default)]
    pub memory: usize,
}

fn one() -> f64 {
    1.0
}

/// PPO with a clipped objective, GAE and a value head; deaths counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ppo(pub PpoConfig);

impl Default for Ppo {
    fn default() -> Self {
        Ppo(PpoConfig {
            hidden: vec![128, 128],
            updates: 50,
            episodes_per_update: 128,
            epochs: 4,
            minibatch: 256,
            lr: 3e-3,
            gamma: 0.98,
            lambda: 0.95,
            clip: 0.2,
            value_coef: 0.5,
            entropy: 0.01,
            // Every 10 updates (was 5) for the suite budget: the same level-0 validation on tuning seed 100, 19% less
            // training CPU (`examples/tune_budget.rs`).
            eval_every: 10,
            max_grad_norm: 0.0,
            head_scale: 1.0,
            memory: 2,
        })
    }
}

/// A ReLU MLP.
struct Mlp(Vec<Linear>);

impl Mlp {
    fn new(dims: &[usize], p: &mut Params, rng: &mut ChaCha8Rng) -> Result<Self> {
        Ok(Mlp(dims.windows(2).map(|w| linear(w[0], w[1], p, rng)).collect::<Result<_>>()?))
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for (i, l) in self.0.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.0.len() {
                h = h.relu()?;
            }
        }
        Ok(h)
    }
}

/// The policy and value networks.
pub struct ActorCritic {
    policy: Mlp,
    value: Mlp,
    params: Params,
    observation: usize,
    memory: usize,
}

impl ActorCritic {
    fn new(shape: PolicyShape, hidden: &[usize], head_scale: f64, memory: usize, rng: &mut ChaCha8Rng) -> Result<Self> {
        let mut params = Params::default();
        let observation = shape.observation + Memory::features(memory);
        let dims = |out: usize| [&[observation][..], hidden, &[out]].concat();
        let policy = Mlp::new(&dims(shape.actions), &mut params, rng)?;
        // The policy's output layer (its last weight and bias) scaled.
        let head = 2 * hidden.len();
        for v in &params.vars()[head..head + 2] {
            v.set(&(v.as_tensor() * head_scale)?)?;
        }
        let value = Mlp::new(&dims(1), &mut params, rng)?;
        Ok(ActorCritic { policy, value, params, observation, memory })
    }

    fn batch(&self, obs: &[Vec<f32>]) -> Result<Tensor> {
        Ok(Tensor::from_vec(obs.concat(), (obs.len(), self.observation), &Device::Cpu)?)
    }
}

/// One finished episode.
#[derive(Default)]
struct Episode {
    observations: Vec<Vec<f32>>,
    actions: Vec<usize>,
    log_probs: Vec<f32>,
    values: Vec<f32>,
    rewards: Vec<f32>,
    died: bool,
    reached: bool,
}

/// Runs one training episode per instance in lockstep, actions sampled from `rng`. (Greedy evaluation goes
/// through [`crate::lockstep`].)
fn rollouts<T: PolicyTask>(
    task: &T,
    net: &ActorCritic,
    insts: &[T::Instance],
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Episode>> {
    let mut eps = insts
        .iter()
        .map(|i| task.episode(i).ok_or_else(|| NetError::Encoding(format!("{} offers no episodes", task.id()))))
        .collect::<Result<Vec<_>>>()?;
    let mut out: Vec<Episode> = (0..insts.len()).map(|_| Episode::default()).collect();
    let mut active: Vec<usize> = (0..insts.len()).collect();
    let mut memories = vec![Memory::new(net.memory); insts.len()];
    for _ in 0..MAX_EPISODE {
        if active.is_empty() {
            break;
        }
        let obs = observe_all(&eps, &mut memories, &active);
        let x = net.batch(&obs)?;
        let logp = candle_nn::ops::log_softmax(&net.policy.forward(&x)?, D::Minus1)?.to_vec2::<f32>()?;
        let values = net.value.forward(&x)?.squeeze(1)?.to_vec1::<f32>()?;
        let mut still = Vec::with_capacity(active.len());
        for (k, (&i, o)) in active.iter().zip(obs).enumerate() {
            let lp = &logp[k];
            let u: f32 = rng.random();
            let mut acc = 0.0;
            let a = lp
                .iter()
                .position(|&l| {
                    acc += l.exp();
                    u < acc
                })
                .unwrap_or(lp.len() - 1);
            let s = eps[i].step(a);
            let e = &mut out[i];
            e.observations.push(o);
            e.log_probs.push(lp[a]);
            e.values.push(values[k]);
            e.actions.push(a);
            e.rewards.push(s.reward);
            e.died |= s.died;
            e.reached |= s.reached;
            if !s.done {
                still.push(i);
            }
        }
        active = still;
    }
    Ok(out)
}

/// GAE advantages and value targets of one episode (its last step has no successor).
fn gae(rewards: &[f32], values: &[f32], gamma: f32, lambda: f32) -> (Vec<f32>, Vec<f32>) {
    let n = rewards.len();
    let mut adv = vec![0f32; n];
    let mut next = (0.0f32, 0.0f32);
    for t in (0..n).rev() {
        let delta = rewards[t] + gamma * next.1 - values[t];
        next.0 = delta + gamma * lambda * next.0;
        adv[t] = next.0;
        next.1 = values[t];
    }
    let targets = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, targets)
}

/// Scales `grads` of `vars` so that their global L2 norm is at most `max` (as `clip_grad_norm_` in PyTorch).
fn clip_grad_norm(grads: &mut GradStore, vars: &[Var], max: f64) -> Result<f64> {
    let mut sq = 0f64;
    for v in vars {
        if let Some(g) = grads.get(v.as_tensor()) {
            sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
    }
    let norm = sq.sqrt();
    if norm > max {
        let k = max / (norm + 1e-6);
        for v in vars {
            if let Some(g) = grads.remove(v.as_tensor()) {
                grads.insert(v.as_tensor(), (g * k)?);
            }
        }
    }
    Ok(norm)
}

/// Mean clip fraction, approximate KL, value loss and entropy of the mini-batch steps since the last validation.
#[derive(Default)]
struct Diagnostics {
    sums: [f64; 4],
    n: usize,
}

impl Diagnostics {
    fn add(&mut self, clip: f64, kl: f64, value_loss: f64, entropy: f64) {
        for (s, x) in self.sums.iter_mut().zip([clip, kl, value_loss, entropy]) {
            *s += x;
        }
        self.n += 1;
    }

    /// Stores the means as `extra` entries `ppo_<what>@<update>` and starts a new window.
    fn record(&mut self, stats: &mut TrainStats, update: u64) {
        let n = self.n.max(1) as f64;
        for (name, s) in ["clip_fraction", "approx_kl", "value_loss", "entropy"].iter().zip(self.sums) {
            stats.extra.insert(format!("ppo_{name}@{update}"), s / n);
        }
        *self = Diagnostics::default();
    }
}

/// The policy network acting greedily in lockstep ([`crate::lockstep`]): the action log-probabilities of every
/// live episode from one forward pass.
pub(crate) struct PpoActor<'a>(&'a ActorCritic);

impl BatchActor for PpoActor<'_> {
    type State = Memory;

    fn start(&self, eps: &[Box<dyn driftbench_core::Episode>]) -> Result<Vec<Memory>> {
        Ok(vec![Memory::new(self.0.memory); eps.len()])
    }

    fn scores(
        &self,
        eps: &[Box<dyn driftbench_core::Episode>],
        memories: &mut [Memory],
        live: &[usize],
    ) -> Result<Vec<Vec<f32>>> {
        let x = self.0.batch(&observe_all(eps, memories, live))?;
        Ok(candle_nn::ops::log_softmax(&self.0.policy.forward(&x)?, D::Minus1)?.to_vec2::<f32>()?)
    }
}

/// Greedy success rate on `insts`.
fn evaluate<T: PolicyTask>(task: &T, net: &ActorCritic, insts: &[T::Instance]) -> Result<f64> {
    crate::lockstep::success_rate(task, &PpoActor(net), insts)
}

impl<T: PolicyTask> Family<T> for Ppo {
    fn name(&self) -> &'static str {
        "ppo"
    }
    /// Its sample efficiency is its learning curve (validation success against episodes and deaths, in every
    /// record); retraining it on fewer start states would measure nothing new.
    fn in_sample_efficiency(&self) -> bool {
        false
    }
    fn observes(&self, task: &T) -> String {
        format!("{}{}", task.policy_observes(), crate::policy::memory_note(self.0.memory))
    }
    fn description(&self) -> String {
        format!(
            "policy and value MLPs {:?} trained by PPO (clip {}, GAE λ {}, {} epochs per batch of {} episodes){}; \
             deaths counted",
            self.0.hidden,
            self.0.clip,
            self.0.lambda,
            self.0.epochs,
            self.0.episodes_per_update,
            crate::policy::memory_note(self.0.memory)
        )
    }
    fn config(&self, profile: &Profile) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.0).expect("config serialises");
        v["updates"] = profile.scale_episodes(self.0.updates).into();
        v
    }
    fn fit(&self, Fit { task, data, profile, seed, progress }: Fit<'_, T>) -> Result<Trained<T>> {
        let c = &self.0;
        let shape = crate::policy::shape_of(task)?;
        if data.train.is_empty() {
            return Err(NetError::NoData);
        }
        let net =
            ActorCritic::new(shape, &c.hidden, c.head_scale, c.memory, &mut rng::stream(seed, task.id(), "init/ppo"))?;
        let mut opt =
            AdamW::new(net.params.vars().to_vec(), ParamsAdamW { lr: c.lr, weight_decay: 0.0, ..Default::default() })?;
        let schedule =
            TrainConfig { steps: 0, batch: 0, lr: c.lr, weight_decay: 0.0, warmup: 0.05, eval_every: c.eval_every };
        let updates = profile.scale_episodes(c.updates);
        let mut episodes_rng = rng::stream(seed, task.id(), "episodes/ppo");
        let mut batches = rng::stream(seed, task.id(), "batches/ppo");
        let mut stats = TrainStats::default();
        let mut best: Option<(f64, u64, Vec<Tensor>)> = None;
        let mut window = (0.0f64, 0usize, 0u64);
        let mut steps = 0u64;
        let mut diag = Diagnostics::default();
        let dev = &Device::Cpu;
        for u in 0..updates {
            let batch: Vec<T::Instance> = (0..c.episodes_per_update)
                .map(|_| data.train.choose(&mut episodes_rng).expect("not empty").clone())
                .collect();
            let rs = rollouts(task, &net, &batch, &mut episodes_rng)?;
            stats.trials += rs.len() as u64;
            stats.deaths += rs.iter().filter(|x| x.died).count() as u64;
            let (mut obs, mut acts, mut old, mut adv, mut targets) =
                (Vec::new(), Vec::new(), Vec::<f32>::new(), Vec::new(), Vec::new());
            for e in &rs {
                let (a, t) = gae(&e.rewards, &e.values, c.gamma, c.lambda);
                window.0 += e.rewards.iter().sum::<f32>() as f64;
                window.1 += 1;
                window.2 += u64::from(e.reached);
                adv.extend(a);
                targets.extend(t);
                old.extend(&e.log_probs);
                acts.extend(e.actions.iter().map(|&a| a as u32));
                obs.extend(e.observations.iter().flatten().copied());
            }
            let n = adv.len();
            let mean = adv.iter().sum::<f32>() / n as f32;
            let std = (adv.iter().map(|g| (g - mean).powi(2)).sum::<f32>() / n as f32).sqrt().max(1e-6);
            let adv: Vec<f32> = adv.iter().map(|g| (g - mean) / std).collect();
            let x = Tensor::from_vec(obs, (n, net.observation), dev)?;
            let a = Tensor::from_vec(acts, (n, 1), dev)?;
            let old = Tensor::from_vec(old, n, dev)?;
            let adv = Tensor::from_vec(adv, n, dev)?;
            let targets = Tensor::from_vec(targets, n, dev)?;
            opt.set_learning_rate(schedule.lr_at(u, updates));
            let mut order: Vec<u32> = (0..n as u32).collect();
            for _ in 0..c.epochs {
                order.shuffle(&mut batches);
                for mb in order.chunks(c.minibatch.max(1)) {
                    let idx = Tensor::from_slice(mb, mb.len(), dev)?;
                    let xb = x.index_select(&idx, 0)?;
                    let logp = candle_nn::ops::log_softmax(&net.policy.forward(&xb)?, D::Minus1)?;
                    let chosen = logp.gather(&a.index_select(&idx, 0)?, 1)?.squeeze(1)?;
                    let ratio = (chosen - old.index_select(&idx, 0)?)?.exp()?;
                    let advb = adv.index_select(&idx, 0)?;
                    let clipped = ratio.clamp(1.0 - c.clip, 1.0 + c.clip)?;
                    let surrogate = (&ratio * &advb)?.minimum(&(clipped * &advb)?)?.mean_all()?;
                    let v = net.value.forward(&xb)?.squeeze(1)?;
                    let value_loss = (v - targets.index_select(&idx, 0)?)?.sqr()?.mean_all()?;
                    let entropy = (logp.exp()? * &logp)?.sum(D::Minus1)?.mean_all()?.neg()?;
                    let clipped_frac =
                        ((&ratio - 1.0)?.abs()?.gt(c.clip)?.to_dtype(DType::F32)?.mean_all()?.to_scalar::<f32>()?)
                            as f64;
                    // http://joschu.net/blog/kl-approx.html: (r − 1) − log r.
                    let kl = ((&ratio - 1.0)? - ratio.log()?)?.mean_all()?.to_scalar::<f32>()? as f64;
                    let (vl, ent) = (value_loss.to_scalar::<f32>()? as f64, entropy.to_scalar::<f32>()? as f64);
                    let loss = ((surrogate.neg()? + (value_loss * c.value_coef)?)? - (entropy * c.entropy)?)?;
                    let value = loss.to_scalar::<f32>()?;
                    if !value.is_finite() {
                        return Err(NetError::Diverged { step: steps, loss: value });
                    }
                    let mut grads = loss.backward()?;
                    if c.max_grad_norm > 0.0 {
                        clip_grad_norm(&mut grads, net.params.vars(), c.max_grad_norm)?;
                    }
                    opt.step(&grads)?;
                    diag.add(clipped_frac, kl, vl, ent);
                    steps += 1;
                }
            }
            let done = u + 1;
            if done.is_multiple_of(c.eval_every.max(1)) || done == updates {
                diag.record(&mut stats, done);
                let val = evaluate(task, &net, &data.val)?;
                crate::policy::record_validation(&mut stats, done, std::mem::take(&mut window), val);
                if best.as_ref().is_none_or(|b| val > b.0) {
                    best = Some((val, done, net.params.snapshot()?));
                }
                progress(done as f64 / updates as f64);
            }
        }
        let (val, at, saved) = best.expect("validated at least once");
        net.params.restore(&saved)?;
        stats.steps = steps;
        stats.examples = data.train.len() as u64;
        stats.val_exact = Some(val);
        stats.best_step = Some(at);
        stats.extra.insert("updates".into(), updates as f64);
        stats.extra.insert("parameters".into(), net.params.count() as f64);
        Ok((Box::new(crate::lockstep::GreedySolver { policy: net, name: "ppo", needs_grid: false }), stats))
    }
}

impl crate::lockstep::TrainedPolicy for ActorCritic {
    type Actor<'a> = PpoActor<'a>;
    fn actor(&self) -> PpoActor<'_> {
        PpoActor(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gae_with_lambda_one_is_the_discounted_return_minus_the_value() {
        let r = [0.0, 0.0, 1.0];
        let v = [0.5, 0.2, 0.1];
        let (adv, targets) = gae(&r, &v, 0.9, 1.0);
        let returns = [0.81, 0.9, 1.0];
        for t in 0..3 {
            assert!((adv[t] - (returns[t] - v[t])).abs() < 1e-6, "{adv:?}");
            assert!((targets[t] - returns[t]).abs() < 1e-6);
        }
        // λ = 0: the one-step temporal difference.
        let (adv, _) = gae(&r, &v, 0.9, 0.0);
        assert!((adv[0] - (0.9 * 0.2 - 0.5)).abs() < 1e-6);
        assert!((adv[2] - (1.0 - 0.1)).abs() < 1e-6);
    }

    #[test]
    fn gradient_clipping_scales_the_global_norm_down_to_the_limit_and_leaves_small_gradients() {
        let a = Var::new(&[1.0f32, 2.0][..], &Device::Cpu).unwrap();
        let b = Var::new(&[3.0f32][..], &Device::Cpu).unwrap();
        // Gradients (3, 4) for a and 12 for b: global norm 13.
        let loss = ((a.as_tensor() * 3.0).unwrap().sum_all().unwrap()
            + a.as_tensor().narrow(0, 1, 1).unwrap().sum_all().unwrap()
            + (b.as_tensor() * 12.0).unwrap().sum_all().unwrap())
        .unwrap();
        let vars = [a.clone(), b.clone()];
        let mut grads = loss.backward().unwrap();
        let norm = clip_grad_norm(&mut grads, &vars, 1.0).unwrap();
        assert!((norm - 13.0).abs() < 1e-4, "{norm}");
        let ga = grads.get(a.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        let gb = grads.get(b.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        for (g, want) in ga.iter().chain(&gb).zip([3.0 / 13.0, 4.0 / 13.0, 12.0 / 13.0]) {
            assert!((g - want).abs() < 1e-5, "{ga:?} {gb:?}");
        }
        let mut grads = loss.backward().unwrap();
        clip_grad_norm(&mut grads, &vars, 20.0).unwrap();
        assert_eq!(grads.get(b.as_tensor()).unwrap().to_vec1::<f32>().unwrap(), [12.0]);
    }

    #[test]
    fn configs_written_before_the_clip_init_and_memory_options_still_read() {
        let old = r#"{"hidden":[128,128],"updates":100,"episodes_per_update":64,"epochs":4,"minibatch":256,
            "lr":0.003,"gamma":0.98,"lambda":0.95,"clip":0.2,"value_coef":0.5,"entropy":0.01,"eval_every":10}"#;
        let c: PpoConfig = serde_json::from_str(old).unwrap();
        assert_eq!((c.max_grad_norm, c.head_scale, c.memory), (0.0, 1.0, 0));
    }

    #[test]
    fn lockstep_evaluation_answers_as_each_episode_played_alone() {
        let task = driftbench_tasks::Navigation;
        let mut r = rng::stream(12, "navigation-v1", "test");
        let insts = crate::lockstep::tests::mixed_instances(&task, 48, &mut r);
        let net = ActorCritic::new(task.policy_shape(), &[32, 32], 1.0, 2, &mut r).unwrap();
        crate::lockstep::tests::assert_same_as_alone(&task, &PpoActor(&net), &insts);
    }
}
