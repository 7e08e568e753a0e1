//! Pointer networks for permutation tasks ([`SeqClassShape::permutation`]): the answer is read off pointers
//! between input elements rather than off fixed rank classes, so the output space covers every length.
//!
//! Each element points at its *predecessor* in the answer, or at itself when it comes first (the CLRS-30
//! convention for sorting, Veličković et al. 2022). The score of the pointer i → j is
//!
//! * an edge term: a small MLP of the feature difference x_j − x_i and of sign(j − i) (with positional features,
//!   also of the difference of positions), the same function for every pair, so it does not care how many
//!   elements there are;
//! * optionally a bilinear term q_i · k_j over the outputs of a transformer encoder (sigmoid attention, which
//!   can count keys) run over the elements first;
//! * on the diagonal (i → i, "I come first") a learned constant, plus a linear read-out of the encoder state.
//!
//! Training is the cross-entropy of each element's pointer at its predecessor, with ties in the targets broken by
//! input order as a stable sort breaks them (hence sign(j − i) in the edge term: among equal values, the earlier
//! element comes first). Without a tie-break, a set target ("any equal element or any element of the previous
//! group") lets the chain jump over a tied element: it reached 95-97% exact match at level 0 however long it
//! trained, against 99% with the stable targets (`docs/networks.md`). The answer
//! is the chain the pointers spell: the most confident self-pointer starts it, and each next element is the one
//! not yet emitted that points most strongly at the current one (masking emitted elements, as a pointer-network
//! decoder does; no sort is called). The chain's positions become output slots, which the task decodes as it
//! decodes rank classes.
use crate::error::{NetError, Result};
use crate::family::{Family, Fit, Trained};
use crate::layers::{linear, Linear, Params};
use crate::seq::{
    encode_all, input_features, make_batch, set_cross_entropy, AttentionKind, Transformer, TransformerConfig,
};
use crate::train::{fit_run, Objective, RunId, TrainConfig, ValScore};
use candle_core::{DType, Device, Module, Tensor, D};
use driftbench_core::solver::{Attempt, Representable};
use driftbench_core::task::assign_slots;
use driftbench_core::SeqTask;
use driftbench_core::{rng, Profile, SeqClassShape, SeqExample, SolveInfo, Solver};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Hyper-parameters of [`PointerNet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointerConfig {
    /// Transformer layers over the elements before the pointer head (0: edge term and constant only).
    pub layers: usize,
    /// Width of the encoder's residual stream.
    pub d_model: usize,
    /// Attention heads per encoder layer.
    pub heads: usize,
    /// Hidden width of each encoder feed-forward block.
    pub ffn: usize,
    /// Hidden widths of the edge MLP on x_j − x_i.
    pub edge_hidden: Vec<usize>,
    /// Multiplier on feature differences before the edge MLP (sorting: 100 turns them into integer gaps).
    pub edge_scale: f64,
}

/// The pointer network; see the module docs.
pub struct PointerNet {
    encoder: Option<(Transformer, Linear, Linear, Linear)>,
    edge: Vec<Linear>,
    self_bias: Tensor,
    edge_scale: f64,
    d_model: usize,
    params: Params,
}

impl PointerConfig {
    /// Builds the model for `shape` with weights from `rng`.
    pub fn init(&self, shape: SeqClassShape, rng: &mut ChaCha8Rng) -> Result<PointerNet> {
        let mut p = Params::default();
        let encoder = if self.layers > 0 {
            let cfg = TransformerConfig {
                d_model: self.d_model,
                heads: self.heads,
                layers: self.layers,
                ffn: self.ffn,
                pair_hidden: 0,
                attention: AttentionKind::Sigmoid,
                layer_norm: false,
            };
            // The encoder's own class head is not used: one class keeps it small.
            let enc = cfg.build_into(SeqClassShape { classes: 1, ..shape }, &mut p, rng)?;
            let q = linear(self.d_model, self.d_model, &mut p, rng)?;
            let k = linear(self.d_model, self.d_model, &mut p, rng)?;
            let s = linear(self.d_model, 1, &mut p, rng)?;
            Some((enc, q, k, s))
        } else {
            None
        };
        let mut dims = vec![input_features(shape) + 1];
        dims.extend(&self.edge_hidden);
        dims.push(1);
        let edge = dims.windows(2).map(|w| linear(w[0], w[1], &mut p, rng)).collect::<Result<_>>()?;
        let self_bias = p.constant(&[1], 0.0)?;
        Ok(PointerNet { encoder, edge, self_bias, edge_scale: self.edge_scale, d_model: self.d_model, params: p })
    }
}

impl PointerNet {
    /// Pointer logits `[B, L, L]`: row i scores every element j as i's predecessor (j = i: i comes first);
    /// padding columns get −10⁴.
    pub fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (b, l, f) = x.dims3()?;
        let dev = x.device();
        // Edge term on x_j − x_i and sign(j − i): rows i, columns j. The sign only breaks ties (a stable order).
        let diff = (x.reshape((b, 1, l, f))?.broadcast_sub(&x.reshape((b, l, 1, f))?)? * self.edge_scale)?;
        let order: Vec<f32> =
            (0..l).flat_map(|i| (0..l).map(move |j| (j as f32 - i as f32).signum() * f32::from(i != j))).collect();
        let order = Tensor::from_vec(order, (1, l, l, 1), dev)?.broadcast_as((b, l, l, 1))?;
        let mut e = Tensor::cat(&[&diff, &order], 3)?;
        for (i, layer) in self.edge.iter().enumerate() {
            e = layer.forward(&e)?;
            if i + 1 < self.edge.len() {
                e = e.relu()?;
            }
        }
        let mut scores = e.reshape((b, l, l))?;
        let mut first = self.self_bias.reshape((1, 1))?.broadcast_as((b, l))?.contiguous()?;
        if let Some((enc, q, k, s)) = &self.encoder {
            let h = enc.encode(x, mask)?;
            let qk = q.forward(&h)?.matmul(&k.forward(&h)?.t()?)?;
            scores = (scores + (qk * (1.0 / (self.d_model as f64).sqrt()))?)?;
            first = (first + s.forward(&h)?.squeeze(D::Minus1)?)?;
        }
        let eye = Tensor::eye(l, DType::F32, dev)?;
        let off = (eye.ones_like()? - &eye)?;
        let scores = (scores.broadcast_mul(&off)? + eye.broadcast_mul(&first.unsqueeze(2)?)?)?;
        let pad = ((mask.ones_like()? - mask)? * -1e4)?.unsqueeze(1)?;
        Ok(scores.broadcast_add(&pad)?)
    }

    /// Trainable parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }
}

/// Each position's predecessor in the answer (itself for the first), where ties in the target ranges are broken
/// by input order as a stable sort breaks them: the chain of [`assign_slots`]. `None` when the targets admit no
/// permutation.
pub fn predecessors(targets: &[(u32, u32)]) -> Option<Vec<usize>> {
    let slots = assign_slots(targets)?;
    let mut at = vec![0usize; slots.len()];
    for (p, &k) in slots.iter().enumerate() {
        *at.get_mut(k)? = p;
    }
    Some(slots.iter().enumerate().map(|(p, &k)| if k == 0 { p } else { at[k - 1] }).collect())
}

/// The chain the pointer log-probabilities `len × len` spell: the most confident self-pointer first, then
/// repeatedly the element not yet emitted that points most strongly at the last one. Returns each position's slot.
pub fn decode_chain(logp: &[f32], n: usize) -> Vec<usize> {
    let mut slots = vec![usize::MAX; n];
    let argmax = |cands: &mut dyn Iterator<Item = usize>, score: &dyn Fn(usize) -> f32| {
        cands.max_by(|&a, &b| score(a).total_cmp(&score(b)).then(b.cmp(&a)))
    };
    let Some(mut cur) = argmax(&mut (0..n), &|i| logp[i * n + i]) else { return slots };
    slots[cur] = 0;
    for k in 1..n {
        let free: Vec<usize> = (0..n).filter(|&j| slots[j] == usize::MAX).collect();
        let prev = cur;
        cur = argmax(&mut free.into_iter(), &|j| logp[j * n + prev]).expect("an element is left");
        slots[cur] = k;
    }
    slots
}

/// One-hot log-probabilities (`len × classes`) putting each position in its slot, for the task's rank decoding;
/// `None` when a slot does not fit the classes.
pub(crate) fn slot_scores(slots: &[usize], classes: usize) -> Option<Vec<f32>> {
    let mut s = vec![-1e9f32; slots.len() * classes];
    for (p, &k) in slots.iter().enumerate() {
        if k >= classes {
            return None;
        }
        s[p * classes + k] = 0.0;
    }
    Some(s)
}

/// Pads pointer targets of `examples` into a `[B, L, L]` log-mask (0 at each position's predecessor, −10⁴
/// elsewhere).
fn target_logmask(examples: &[&SeqExample], pad_to: usize) -> Result<Tensor> {
    let b = examples.len();
    let mut t = vec![-1e4f32; b * pad_to * pad_to];
    for (e, ex) in examples.iter().enumerate() {
        let pred =
            predecessors(&ex.targets).ok_or_else(|| NetError::Encoding("targets that admit no permutation".into()))?;
        for (i, &j) in pred.iter().enumerate() {
            t[(e * pad_to + i) * pad_to + j] = 0.0;
        }
    }
    Ok(Tensor::from_vec(t, (b, pad_to, pad_to), &Device::Cpu)?)
}

/// Each example's pointer log-probabilities (`len × len`, each row normalised), in chunks.
fn predict(model: &PointerNet, shape: SeqClassShape, examples: &[&SeqExample]) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(examples.len());
    // Chunks of similar length waste less on padding; order is restored below.
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by_key(|&i| examples[i].len());
    let mut rows = vec![Vec::new(); examples.len()];
    for chunk in order.chunks(128) {
        let exs: Vec<&SeqExample> = chunk.iter().map(|&i| examples[i]).collect();
        let longest = exs.iter().map(|e| e.len()).max().unwrap_or(0);
        let batch = make_batch(&exs, shape, longest, false)?;
        let logp = candle_nn::ops::log_softmax(&model.forward(&batch.x, &batch.mask)?, D::Minus1)?;
        for ((&i, m), &n) in chunk.iter().zip(logp.to_vec3::<f32>()?).zip(&batch.lens) {
            rows[i] = m.into_iter().take(n).flat_map(|r| r.into_iter().take(n)).collect();
        }
    }
    out.extend(rows);
    Ok(out)
}

/// The pointer-network learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointerLearner {
    /// Name on the command line.
    pub name: &'static str,
    /// Model.
    pub model: PointerConfig,
    /// Optimisation.
    pub train: TrainConfig,
}

impl PointerLearner {
    /// The configuration chosen on sorting's level-0 validation data (candidates in `docs/networks.md`).
    pub fn pointer() -> Self {
        PointerLearner {
            name: "pointer",
            model: PointerConfig {
                layers: 1,
                d_model: 32,
                heads: 4,
                ffn: 64,
                edge_hidden: vec![32, 32],
                edge_scale: 100.0,
            },
            train: TrainConfig { steps: 800, batch: 64, lr: 2e-3, weight_decay: 0.01, warmup: 0.05, eval_every: 100 },
        }
    }
}

struct PointerObjective<'a, T: SeqTask> {
    task: &'a T,
    model: &'a PointerNet,
    shape: SeqClassShape,
    train: Vec<SeqExample>,
    val: Vec<SeqExample>,
    val_insts: &'a [T::Instance],
}

impl<T: SeqTask> Objective for PointerObjective<'_, T> {
    fn params(&self) -> &Params {
        self.model.params()
    }
    fn n_train(&self) -> usize {
        self.train.len()
    }
    fn loss(&self, idx: &[usize]) -> Result<Tensor> {
        let exs: Vec<&SeqExample> = idx.iter().map(|&i| &self.train[i]).collect();
        let longest = exs.iter().map(|e| e.len()).max().unwrap_or(0);
        let b = make_batch(&exs, self.shape, longest, false)?;
        let logits = self.model.forward(&b.x, &b.mask)?;
        set_cross_entropy(&logits, &target_logmask(&exs, longest)?, &b.mask)
    }
    fn validate(&self) -> Result<ValScore> {
        let refs: Vec<&SeqExample> = self.val.iter().collect();
        let logp = predict(self.model, self.shape, &refs)?;
        let (mut correct, mut pointers, mut exact, mut nll) = (0usize, 0usize, 0usize, 0f64);
        for ((ex, lp), inst) in self.val.iter().zip(&logp).zip(self.val_insts) {
            let n = ex.len();
            let pred = predecessors(&ex.targets)
                .ok_or_else(|| NetError::Encoding("targets that admit no permutation".into()))?;
            for (i, &want) in pred.iter().enumerate() {
                let row = &lp[i * n..(i + 1) * n];
                let arg = (0..n).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0);
                correct += usize::from(arg == want);
                nll -= f64::from(row[want]);
                pointers += 1;
            }
            let answer =
                slot_scores(&decode_chain(lp, n), self.shape.classes).and_then(|s| self.task.decode_seq(inst, &s));
            exact += usize::from(answer.is_some_and(|a| self.task.score(inst, &a).success));
        }
        let p = pointers.max(1) as f64;
        Ok(ValScore { loss: nll / p, accuracy: correct as f64 / p, exact: exact as f64 / self.val.len().max(1) as f64 })
    }
}

fn shape_of<T: SeqTask>(task: &T) -> Result<SeqClassShape> {
    match task.seq_shape() {
        s if s.permutation => Ok(s),
        other => Err(NetError::Encoding(format!("{other:?} is not a permutation encoding"))),
    }
}

impl<T: SeqTask> Family<T> for PointerLearner {
    fn name(&self) -> &'static str {
        self.name
    }
    fn description(&self) -> String {
        let c = &self.model;
        let enc = if c.layers > 0 {
            format!("{}-layer sigmoid-attention encoder (d={}), bilinear and ", c.layers, c.d_model)
        } else {
            String::new()
        };
        format!(
            "pointer network: each element points at its predecessor ({enc}edge MLP {:?} on x_j - x_i)",
            c.edge_hidden
        )
    }
    fn config(&self, profile: &Profile) -> serde_json::Value {
        crate::train::recorded_config(self, &self.train, profile)
    }
    fn fit(&self, Fit { task, data, profile, seed, progress }: Fit<'_, T>) -> Result<Trained<T>> {
        let shape = shape_of(task)?;
        let mut init_rng = rng::stream(seed, task.id(), &format!("init/{}", self.name));
        let model = self.model.init(shape, &mut init_rng)?;
        let obj = PointerObjective {
            task,
            model: &model,
            shape,
            train: encode_all(task, &data.train)?,
            val: encode_all(task, &data.val)?,
            val_insts: &data.val,
        };
        let run = RunId { learner: self.name, task: task.id(), seed };
        let mut stats = fit_run(&obj, &self.train, run, (profile, data.max_epochs), progress)?;
        stats.val_accuracy_name = Some("predecessor-pointer accuracy".into());
        Ok((Box::new(PointerSolver { model, shape, name: self.name }), stats))
    }
}

/// A trained pointer network answering through the chain its pointers spell.
pub struct PointerSolver {
    model: PointerNet,
    shape: SeqClassShape,
    name: &'static str,
}

impl<T: SeqTask> Solver<T> for PointerSolver {
    fn solve_batch(&self, task: &T, instances: &[T::Instance]) -> driftbench_core::Result<Vec<Attempt<T::Answer>>> {
        driftbench_core::solver::solve_valid(task, instances, |instances| {
            let exs = encode_all(task, instances).map_err(|e| crate::error::solve_error(task.id(), self.name, e))?;
            let refs: Vec<&SeqExample> = exs.iter().collect();
            let logp = predict(&self.model, self.shape, &refs)
                .map_err(|e| crate::error::solve_error(task.id(), self.name, e))?;
            Ok(instances
                .iter()
                .zip(&logp)
                .zip(&exs)
                .map(|((inst, lp), ex)| Attempt {
                    answer: slot_scores(&decode_chain(lp, ex.len()), self.shape.classes)
                        .and_then(|s| task.decode_seq(inst, &s)),
                    info: SolveInfo::default(),
                })
                .collect())
        })
    }

    /// Any list whose answer the task's slot decoding can express: pointers exist between any two elements, and
    /// every pointer shares the one edge function and the one self-pointer score that every training list
    /// supervised.
    fn representable(&self, task: &T, instance: &T::Instance) -> Option<Representable> {
        let expressible = task.encode_seq(instance).is_some_and(|ex| {
            assign_slots(&ex.targets)
                .and_then(|slots| slot_scores(&slots, self.shape.classes))
                .and_then(|s| task.decode_seq(instance, &s))
                .is_some_and(|a| task.score(instance, &a).success)
        });
        Some(Representable::new(expressible, expressible))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn predecessors_of_a_sort_with_ties_follow_input_order() {
        // values [5, 3, 5, 1]: ranks 1 → (2,3), 3 → (1,1), 1 → (0,0); stable order 1, 3, 5 (index 0), 5 (index 2)
        let t = [(2, 3), (1, 1), (2, 3), (0, 0)];
        assert_eq!(predecessors(&t), Some(vec![1, 3, 0, 3]));
        assert_eq!(predecessors(&[(0, 0), (0, 0)]), None);
    }

    #[test]
    fn chain_decoding_follows_pointers_and_masks_emitted_elements() {
        // Element 2 comes first; 0 points at 2 more strongly than 1 does; 1 points back at 2, which is masked.
        let mut lp = vec![-10f32; 9];
        lp[2 * 3 + 2] = 0.0;
        lp[2] = -0.1;
        lp[3 + 2] = -0.5;
        assert_eq!(decode_chain(&lp, 3), vec![1, 2, 0]);
    }

    #[test]
    fn the_edge_term_sees_only_the_pair_and_the_model_has_no_length_limit() {
        let shape = SeqClassShape { features: 1, classes: 8, max_len: 8, positional: false, permutation: true };
        let logits = |cfg: &PointerConfig, v: &[f32]| {
            let m = cfg.init(shape, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
            let ex = SeqExample { features: v.to_vec(), targets: vec![(0, 0); v.len()] };
            let b = make_batch(&[&ex], shape, v.len(), false).unwrap();
            m.forward(&b.x, &b.mask).unwrap().to_vec3::<f32>().unwrap().remove(0)
        };
        // Without an encoder, the score of i → j depends on x_j − x_i and their order alone: inserting another
        // element between them changes nothing.
        let edge_only =
            PointerConfig { layers: 0, d_model: 8, heads: 2, ffn: 8, edge_hidden: vec![8], edge_scale: 10.0 };
        let a = logits(&edge_only, &[0.3, 0.1]);
        let b = logits(&edge_only, &[0.3, 0.7, 0.1]);
        assert!((a[0][1] - b[0][2]).abs() < 1e-6 && (a[1][0] - b[2][0]).abs() < 1e-6);
        assert!((a[0][0] - b[1][1]).abs() < 1e-6, "the self-pointer score is one constant");
        // A list longer than the declared maximum still gets a pointer row per element.
        let full = PointerConfig { layers: 1, ..edge_only };
        let long = logits(&full, &[0.5; 20]);
        assert_eq!((long.len(), long[0].len()), (20, 20));
        assert!(long.iter().flatten().all(|v| v.is_finite()));
    }
}
