//! The one training loop every network family uses: AdamW, mini-batches, linear warm-up then cosine decay,
//! periodic validation on held-out in-distribution data, and the best validated parameters kept.
use crate::error::{NetError, Result};
use crate::kernels::{adamw_update, AdamConsts};
use crate::layers::Params;
use candle_core::{bail, CpuStorage, Layout, Tensor, Var};
use candle_nn::{Optimizer, ParamsAdamW};
use driftbench_core::{Profile, TrainStats};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// Optimisation hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Optimiser steps at `train_scale` 1.
    pub steps: u64,
    /// Examples per step.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Fraction of steps spent warming the learning rate up linearly.
    pub warmup: f64,
    /// Validate every this many steps (and at the end).
    pub eval_every: u64,
}

impl TrainConfig {
    /// Learning rate at `step` of `total`.
    pub fn lr_at(&self, step: u64, total: u64) -> f64 {
        let warm = ((total as f64) * self.warmup).max(1.0);
        let s = step as f64;
        if s < warm {
            return self.lr * (s + 1.0) / warm;
        }
        let progress = (s - warm) / ((total as f64) - warm).max(1.0);
        // Cosine to 5% of the peak.
        self.lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos()))
    }
}

/// Validation figures; higher `exact`, then higher `accuracy`, is better.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValScore {
    /// Mean validation loss.
    pub loss: f64,
    /// Per-output accuracy.
    pub accuracy: f64,
    /// Fraction of validation instances solved exactly (by the task's own scorer).
    pub exact: f64,
}

/// What a learning shape supplies to the training loop.
pub trait Objective {
    /// The model's parameters.
    fn params(&self) -> &Params;
    /// Number of training examples.
    fn n_train(&self) -> usize;
    /// Mean loss on the training examples at `idx`.
    fn loss(&self, idx: &[usize]) -> Result<Tensor>;
    /// Scores the current parameters on the validation data.
    fn validate(&self) -> Result<ValScore>;
}

/// AdamW with decoupled weight decay, a drop-in for `candle_nn::AdamW` (same [`ParamsAdamW`], same values bit
/// for bit) that updates each variable and its two moments in one pass over their storage instead of ten tensor
/// ops per variable.
#[derive(Debug)]
pub struct AdamW {
    vars: Vec<(Var, Mutex<Moments>)>,
    params: ParamsAdamW,
    step_t: usize,
}

/// First and second moments of one variable.
#[derive(Debug)]
struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
}

/// The in-place update of one variable from its gradient.
struct AdamStep<'a> {
    moments: &'a Mutex<Moments>,
    consts: AdamConsts,
}

impl candle_core::InplaceOp2 for AdamStep<'_> {
    fn name(&self) -> &'static str {
        "driftbench-adamw"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> candle_core::Result<()> {
        let (CpuStorage::F32(theta), CpuStorage::F32(g)) = (s1, s2) else { bail!("AdamW: f32 variables only") };
        let (Some((t0, t1)), Some((g0, g1))) = (l1.contiguous_offsets(), l2.contiguous_offsets()) else {
            bail!("AdamW: variable or gradient not contiguous")
        };
        let mut guard = self.moments.lock().map_err(|_| candle_core::Error::Msg("AdamW: poisoned moments".into()))?;
        let Moments { m, v } = &mut *guard;
        if t1 - t0 != m.len() || g1 - g0 != m.len() {
            bail!("AdamW: variable, gradient and moments differ in size")
        }
        adamw_update(&mut theta[t0..t1], &g[g0..g1], m, v, self.consts);
        Ok(())
    }
}

impl Optimizer for AdamW {
    type Config = ParamsAdamW;

    fn new(vars: Vec<Var>, params: ParamsAdamW) -> candle_core::Result<Self> {
        let vars = vars
            .into_iter()
            .filter(|var| var.dtype().is_float())
            .map(|var| {
                let n = var.elem_count();
                (var, Mutex::new(Moments { m: vec![0.0; n], v: vec![0.0; n] }))
            })
            .collect();
        Ok(AdamW { vars, params, step_t: 0 })
    }

    fn learning_rate(&self) -> f64 {
        self.params.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr
    }

    fn step(&mut self, grads: &candle_core::backprop::GradStore) -> candle_core::Result<()> {
        self.step_t += 1;
        let p = &self.params;
        let consts = AdamConsts {
            beta1: p.beta1 as f32,
            one_minus_beta1: (1.0 - p.beta1) as f32,
            beta2: p.beta2 as f32,
            one_minus_beta2: (1.0 - p.beta2) as f32,
            scale_m: (1.0 / (1.0 - p.beta1.powi(self.step_t as i32))) as f32,
            scale_v: (1.0 / (1.0 - p.beta2.powi(self.step_t as i32))) as f32,
            decay: (1.0 - p.lr * p.weight_decay) as f32,
            eps: p.eps as f32,
            lr: p.lr as f32,
        };
        for (var, moments) in &self.vars {
            if let Some(g) = grads.get(var.as_tensor()) {
                if var.dtype() != candle_core::DType::F32 || !var.device().is_cpu() {
                    bail!("AdamW: f32 CPU variables only")
                }
                var.as_tensor().inplace_op2(&g.contiguous()?, &AdamStep { moments, consts })?;
            }
        }
        Ok(())
    }
}

/// The rows `idx` of a `[N, ...]` tensor: how objectives that hold their data as one tensor draw a mini-batch.
pub fn gather_rows(t: &Tensor, idx: &[usize]) -> Result<Tensor> {
    let ids = Tensor::from_vec(idx.iter().map(|&i| i as u32).collect::<Vec<_>>(), idx.len(), t.device())?;
    Ok(t.index_select(&ids, 0)?)
}

/// A learner's recorded config: its hyper-parameters as they serialise, with the optimiser steps (`train.steps`)
/// as `profile` scales them, so that a record states the budget it ran with.
pub fn recorded_config(hyper: &impl serde::Serialize, train: &TrainConfig, profile: &Profile) -> serde_json::Value {
    let mut v = serde_json::to_value(hyper).expect("config serialises");
    v["train"]["steps"] = profile.scale_steps(train.steps).into();
    v
}

/// The run a learner trains in: its name, the task and the seed, which name the streams it draws from.
#[derive(Debug, Clone, Copy)]
pub struct RunId<'a> {
    /// The learner's name.
    pub learner: &'a str,
    /// The task's id.
    pub task: &'a str,
    /// The run's seed.
    pub seed: u64,
}

/// [`fit`] as a supervised learner's run calls it: batches from the run's `batches/<learner>` stream, the steps
/// that [`driftbench_core::step_budget`] allows `cfg.steps` under `profile` for `obj`'s training set and the
/// training data's epoch cap `max_epochs`, and the parameter count in the statistics.
pub fn fit_run(
    obj: &dyn Objective,
    cfg: &TrainConfig,
    run: RunId,
    (profile, max_epochs): (&Profile, Option<f64>),
    progress: &dyn Fn(f64),
) -> Result<TrainStats> {
    let mut batches = driftbench_core::rng::stream(run.seed, run.task, &format!("batches/{}", run.learner));
    let steps = driftbench_core::step_budget(profile, cfg.steps, obj.n_train(), cfg.batch, max_epochs);
    let mut stats = fit(obj, cfg, steps, &mut batches, progress)?;
    stats.extra.insert("parameters".into(), obj.params().count() as f64);
    Ok(stats)
}

/// Trains `obj` for `steps` steps and leaves the best validated parameters in place.
pub fn fit(
    obj: &dyn Objective,
    cfg: &TrainConfig,
    steps: u64,
    rng: &mut ChaCha8Rng,
    progress: &dyn Fn(f64),
) -> Result<TrainStats> {
    let n = obj.n_train();
    if n == 0 {
        return Err(NetError::NoData);
    }
    let steps = steps.max(1);
    let batch = cfg.batch.min(n).max(1);
    let mut opt = AdamW::new(
        obj.params().vars().to_vec(),
        ParamsAdamW { lr: cfg.lr, weight_decay: cfg.weight_decay, ..Default::default() },
    )?;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let mut cursor = 0;
    let mut stats = TrainStats { examples: n as u64, ..Default::default() };
    let mut best: Option<(ValScore, u64, Vec<Tensor>)> = None;
    let mut recent = Vec::new();
    let tail = (steps / 10).max(1);
    let mut window_loss = (0.0, 0u64);
    for step in 0..steps {
        if cursor + batch > n {
            order.shuffle(rng);
            cursor = 0;
        }
        let idx = &order[cursor..cursor + batch];
        cursor += batch;
        opt.set_learning_rate(cfg.lr_at(step, steps));
        let loss = obj.loss(idx)?;
        let value = loss.to_scalar::<f32>()?;
        if !value.is_finite() {
            return Err(NetError::Diverged { step, loss: value });
        }
        opt.backward_step(&loss)?;
        window_loss.0 += value as f64;
        window_loss.1 += 1;
        if step >= steps - tail {
            recent.push(value as f64);
        }
        let done = step + 1;
        if done.is_multiple_of(cfg.eval_every.max(1)) || done == steps {
            let v = obj.validate()?;
            stats.curve.push((done, window_loss.0 / window_loss.1.max(1) as f64, v.accuracy, v.exact));
            window_loss = (0.0, 0);
            let better = best.as_ref().is_none_or(|(b, _, _)| (v.exact, v.accuracy) > (b.exact, b.accuracy));
            if better {
                best = Some((v, done, obj.params().snapshot()?));
            }
            progress(done as f64 / steps as f64);
        }
    }
    let (v, at, saved) = best.expect("validated at least once");
    obj.params().restore(&saved)?;
    stats.steps = steps;
    stats.examples_seen = steps * batch as u64;
    stats.epochs = stats.examples_seen as f64 / n as f64;
    stats.final_train_loss = Some(recent.iter().sum::<f64>() / recent.len().max(1) as f64);
    stats.val_loss = Some(v.loss);
    stats.val_accuracy = Some(v.accuracy);
    stats.val_exact = Some(v.exact);
    stats.best_step = Some(at);
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays() {
        let c = TrainConfig { steps: 100, batch: 1, lr: 1.0, weight_decay: 0.0, warmup: 0.1, eval_every: 10 };
        assert!(c.lr_at(0, 100) < c.lr_at(5, 100));
        assert!((c.lr_at(10, 100) - 1.0).abs() < 1e-9);
        assert!(c.lr_at(50, 100) < 1.0 && c.lr_at(99, 100) < c.lr_at(50, 100));
        assert!(c.lr_at(99, 100) >= 0.05);
    }
}
