//! Per-position classification over a sequence ([`driftbench_core::Encoding::SeqClass`]): batching, the set
//! cross-entropy loss, and two model families.
//!
//! * [`PaddedMlp`]: the whole sequence, padded to the encoding's `max_len` with a presence bit per slot,
//!   through a ReLU MLP that outputs `max_len × classes` scores. Positions it never saw filled in training have
//!   untrained weights: that is the point of measuring it.
//! * [`Transformer`]: a permutation-equivariant encoder. Each layer's self-attention adds to the query-key
//!   score a bias computed by a small MLP from the *difference of the two positions' input features* (a
//!   relative bias over values rather than over positions), and can weigh keys with a sigmoid instead of a
//!   softmax, so that a head can *count* keys (a softmax can only average them). Both choices were picked on
//!   in-distribution validation data; `docs/networks.md` records what was tried.
use crate::error::{NetError, Result};
use crate::layers::{layer_norm, linear, LayerNorm, Linear, Params};
use candle_core::{DType, Device, Module, Tensor, D};
use driftbench_core::{SeqClassShape, SeqExample, SeqTask};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A padded batch of sequences.
pub struct SeqBatch {
    /// `[B, L, F]` features, zero in padding.
    pub x: Tensor,
    /// `[B, L]` 1 for real positions, 0 for padding.
    pub mask: Tensor,
    /// `[B, L, C]` 0 where a class is correct, -1e4 elsewhere (only when targets were asked for).
    pub target_logmask: Option<Tensor>,
    /// Real length of each sequence.
    pub lens: Vec<usize>,
}

/// Features per position that a model sees: the task's own, plus, for a [`SeqClassShape::positional`] encoding,
/// the position's index from the start and from the end of its sequence.
pub fn input_features(shape: SeqClassShape) -> usize {
    shape.features + if shape.positional { 2 } else { 0 }
}

/// Pads `examples` to length `pad_to` and stacks them (with positional features where the shape asks for them).
pub fn make_batch(examples: &[&SeqExample], shape: SeqClassShape, pad_to: usize, targets: bool) -> Result<SeqBatch> {
    let (b, f, c) = (examples.len(), shape.features, shape.classes);
    let fi = input_features(shape);
    let mut x = vec![0f32; b * pad_to * fi];
    let mut mask = vec![0f32; b * pad_to];
    let mut tl = if targets { vec![-1e4f32; b * pad_to * c] } else { Vec::new() };
    let mut lens = Vec::with_capacity(b);
    for (i, ex) in examples.iter().enumerate() {
        let n = ex.len();
        if n > pad_to || ex.features.len() != n * f {
            return Err(NetError::Encoding(format!(
                "sequence of length {n} with {} features does not fit {pad_to} × {f}",
                ex.features.len()
            )));
        }
        for p in 0..n {
            let row = &mut x[(i * pad_to + p) * fi..(i * pad_to + p + 1) * fi];
            row[..f].copy_from_slice(&ex.features[p * f..(p + 1) * f]);
            if shape.positional {
                row[f] = p as f32;
                row[f + 1] = (n - 1 - p) as f32;
            }
        }
        mask[i * pad_to..i * pad_to + n].fill(1.0);
        if targets {
            for (p, &(lo, hi)) in ex.targets.iter().enumerate() {
                if hi as usize >= c || lo > hi {
                    return Err(NetError::Encoding(format!("target classes {lo}..={hi} outside 0..{c}")));
                }
                tl[(i * pad_to + p) * c + lo as usize..=(i * pad_to + p) * c + hi as usize].fill(0.0);
            }
        }
        lens.push(n);
    }
    let dev = &Device::Cpu;
    Ok(SeqBatch {
        x: Tensor::from_vec(x, (b, pad_to, fi), dev)?,
        mask: Tensor::from_vec(mask, (b, pad_to), dev)?,
        target_logmask: if targets { Some(Tensor::from_vec(tl, (b, pad_to, c), dev)?) } else { None },
        lens,
    })
}

/// Mean over real positions of −log P(class in the correct range): ordinary cross-entropy when the range is
/// one class, and no penalty for how probability is split among equally correct classes (tied values).
///
/// On x86 CPUs it runs as one op ([`crate::kernels::set_cross_entropy`]) with the same values.
pub fn set_cross_entropy(logits: &Tensor, target_logmask: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (b, l, c) = logits.dims3()?;
    if logits.device().is_cpu() && logits.dtype() == DType::F32 && crate::kernels::loss_fused() {
        return Ok(crate::kernels::set_cross_entropy(
            &logits.reshape((b * l, c))?,
            &target_logmask.reshape((b * l, c))?,
            &mask.reshape(b * l)?,
        )?);
    }
    set_cross_entropy_ops(logits, target_logmask, mask)
}

/// [`set_cross_entropy`] in candle's tensor ops.
fn set_cross_entropy_ops(logits: &Tensor, target_logmask: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let x = (logp + target_logmask)?;
    let m = x.max_keepdim(D::Minus1)?.detach();
    let lse = (x.broadcast_sub(&m)?.exp()?.sum_keepdim(D::Minus1)?.log()? + m)?.squeeze(D::Minus1)?;
    let total = (lse * mask)?.sum_all()?;
    Ok((total.neg()? / mask.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64)?)
}

/// The sequence encodings of `insts`, or an error naming the task when one has none.
pub(crate) fn encode_all<T: SeqTask>(task: &T, insts: &[T::Instance]) -> Result<Vec<SeqExample>> {
    insts
        .iter()
        .map(|i| task.encode_seq(i).ok_or_else(|| NetError::Encoding(format!("{} gave no encoding", task.id()))))
        .collect()
}

/// A sequence model: `[B, L, F]` features and `[B, L]` mask to `[B, L, C]` scores.
pub trait SeqModel: Send + Sync {
    /// Scores for every position.
    fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor>;
    /// Scores for the first `longest` positions only (what a training loss reads): `[B, longest, C]`, the same
    /// values as `forward` narrowed. A model whose last layer scores each slot apart computes only these.
    fn forward_prefix(&self, x: &Tensor, mask: &Tensor, longest: usize) -> Result<Tensor> {
        Ok(self.forward(x, mask)?.narrow(1, 0, longest)?)
    }
    /// Length a batch whose longest sequence is `longest` must be padded to.
    fn pad_to(&self, longest: usize) -> usize;
    /// Trainable parameters.
    fn params(&self) -> &Params;
}

/// Hyper-parameters of [`PaddedMlp`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    /// Widths of the hidden layers.
    pub hidden: Vec<usize>,
    /// Also feed the differences of every pair of slots' features (zero where either slot is padding).
    pub pairwise: bool,
    /// Multiplier on the input features. A ReLU MLP resolves small input gaps only with large first-layer
    /// weights, which Adam reaches slowly; scaling the input is the cheaper fix.
    pub input_scale: f64,
}

/// ReLU MLP over the padded sequence.
pub struct PaddedMlp {
    layers: Vec<Linear>,
    shape: SeqClassShape,
    pairwise: bool,
    input_scale: f64,
    params: Params,
}

impl MlpConfig {
    /// Builds the model for `shape` with weights from `rng`.
    pub fn init(&self, shape: SeqClassShape, rng: &mut ChaCha8Rng) -> Result<PaddedMlp> {
        let mut params = Params::default();
        let f = input_features(shape);
        let mut dims = vec![shape.max_len * (f + 1)];
        if self.pairwise {
            dims[0] += shape.max_len * shape.max_len * f;
        }
        dims.extend(&self.hidden);
        dims.push(shape.max_len * shape.classes);
        let layers = dims.windows(2).map(|w| linear(w[0], w[1], &mut params, rng)).collect::<Result<_>>()?;
        Ok(PaddedMlp { layers, shape, pairwise: self.pairwise, input_scale: self.input_scale, params })
    }
}

impl SeqModel for PaddedMlp {
    fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let l = x.dim(1)?;
        self.forward_prefix(x, mask, l)
    }
    /// The output layer computes only the first `longest` slots' columns: each output is its own sum over the
    /// last hidden layer, in the same order whatever the number of columns ([`crate::kernels::affine`]), so the
    /// scores are `forward`'s bit for bit, for a quarter of the output layer's work on training batches of lists
    /// up to 8 long padded to 32.
    fn forward_prefix(&self, x: &Tensor, mask: &Tensor, longest: usize) -> Result<Tensor> {
        let (b, l, _) = x.dims3()?;
        if longest > l {
            return Err(NetError::Encoding(format!("{longest} scored positions of a batch padded to {l}")));
        }
        let x = &(x * self.input_scale)?;
        let mut input = Tensor::cat(&[x, &mask.unsqueeze(D::Minus1)?], D::Minus1)?.reshape((b, ()))?;
        if self.pairwise {
            let f = input_features(self.shape);
            let diff = x.reshape((b, l, 1, f))?.broadcast_sub(&x.reshape((b, 1, l, f))?)?;
            let both = mask.reshape((b, l, 1, 1))?.broadcast_mul(&mask.reshape((b, 1, l, 1))?)?;
            input = Tensor::cat(&[&input, &diff.broadcast_mul(&both)?.reshape((b, ()))?], 1)?;
        }
        let mut h = input;
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            h = if i < last {
                layer.forward(&h)?.relu()?
            } else {
                layer.forward_columns(&h, longest * self.shape.classes)?
            };
        }
        Ok(h.reshape((b, longest, self.shape.classes))?)
    }
    fn pad_to(&self, _longest: usize) -> usize {
        self.shape.max_len
    }
    fn params(&self) -> &Params {
        &self.params
    }
}

/// How attention weighs keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttentionKind {
    /// Standard softmax over keys: weights sum to one, so a head averages.
    Softmax,
    /// Independent sigmoid per key: a head can count the keys that match.
    Sigmoid,
}

/// Hyper-parameters of [`Transformer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformerConfig {
    /// Width of the residual stream.
    pub d_model: usize,
    /// Attention heads per layer.
    pub heads: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Hidden width of each feed-forward block.
    pub ffn: usize,
    /// Hidden width of the pairwise-bias MLP (0 disables the bias).
    pub pair_hidden: usize,
    /// Softmax or sigmoid attention.
    pub attention: AttentionKind,
    /// Pre-norm LayerNorm before attention and feed-forward blocks.
    pub layer_norm: bool,
}

struct Block {
    norm1: Option<LayerNorm>,
    qkv: Linear,
    out: Linear,
    norm2: Option<LayerNorm>,
    ff1: Linear,
    ff2: Linear,
}

/// Encoder with value-difference attention bias; see the module docs.
pub struct Transformer {
    cfg: TransformerConfig,
    embed: Linear,
    pair: Option<(Linear, Linear)>,
    blocks: Vec<Block>,
    head: Linear,
    params: Params,
}

impl TransformerConfig {
    /// Builds the model for `shape` with weights from `rng`.
    pub fn init(&self, shape: SeqClassShape, rng: &mut ChaCha8Rng) -> Result<Transformer> {
        let mut p = Params::default();
        let mut model = self.build_into(shape, &mut p, rng)?;
        model.params = p;
        Ok(model)
    }

    /// Builds the model with its variables added to `p` (for a larger model that embeds this encoder); the
    /// returned model's own [`SeqModel::params`] is then empty.
    pub fn build_into(&self, shape: SeqClassShape, p: &mut Params, rng: &mut ChaCha8Rng) -> Result<Transformer> {
        if self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return Err(NetError::Encoding(format!(
                "d_model {} is not a multiple of heads {}",
                self.d_model, self.heads
            )));
        }
        let d = self.d_model;
        let f = input_features(shape);
        let embed = linear(f, d, p, rng)?;
        let pair = if self.pair_hidden > 0 {
            Some((linear(f, self.pair_hidden, p, rng)?, linear(self.pair_hidden, self.heads * self.layers, p, rng)?))
        } else {
            None
        };
        let mut blocks = Vec::with_capacity(self.layers);
        for _ in 0..self.layers {
            blocks.push(Block {
                norm1: if self.layer_norm { Some(layer_norm(d, p)?) } else { None },
                qkv: linear(d, 3 * d, p, rng)?,
                out: linear(d, d, p, rng)?,
                norm2: if self.layer_norm { Some(layer_norm(d, p)?) } else { None },
                ff1: linear(d, self.ffn, p, rng)?,
                ff2: linear(self.ffn, d, p, rng)?,
            });
        }
        let head = linear(d, shape.classes, p, rng)?;
        Ok(Transformer { cfg: self.clone(), embed, pair, blocks, head, params: Params::default() })
    }
}

impl Transformer {
    /// The residual stream after the last block: `[B, L, d_model]`, one vector per position.
    pub fn encode(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        self.encode_with(x, mask, true)
    }

    /// [`Transformer::encode`]; with `fused`, sigmoid attention without a pairwise bias runs as one op
    /// ([`crate::kernels::sigmoid_attention`], the same values), otherwise as tensor ops.
    fn encode_with(&self, x: &Tensor, mask: &Tensor, fused: bool) -> Result<Tensor> {
        let (b, l, f) = x.dims3()?;
        let (h_n, d) = (self.cfg.heads, self.cfg.d_model);
        let dh = d / h_n;
        let mut h = self.embed.forward(x)?;
        // [B, H·layers, L, L] biases from the feature difference x_i − x_j.
        let bias = match &self.pair {
            Some((p1, p2)) => {
                let diff = x.reshape((b, l, 1, f))?.broadcast_sub(&x.reshape((b, 1, l, f))?)?;
                let pb = p2.forward(&p1.forward(&diff)?.relu()?)?;
                Some(pb.permute((0, 3, 1, 2))?.contiguous()?)
            }
            None => None,
        };
        let key_mask = mask.reshape((b, 1, 1, l))?;
        let scale = 1.0 / (dh as f64).sqrt();
        for (li, blk) in self.blocks.iter().enumerate() {
            let a = match &blk.norm1 {
                Some(n) => n.forward(&h)?,
                None => h.clone(),
            };
            let qkv = blk.qkv.forward(&a)?;
            // `gemm` computes a product with one row or column differently (a matrix-vector kernel), so lists of
            // one position and heads of one feature keep the tensor ops.
            let fits = bias.is_none() && self.cfg.attention == AttentionKind::Sigmoid && l > 1 && dh > 1;
            let o = if fused && fits && crate::kernels::attention_fused() {
                crate::kernels::sigmoid_attention(&qkv, mask, h_n, scale)?
            } else {
                let qkv = qkv.reshape((b, l, 3, h_n, dh))?.permute((2, 0, 3, 1, 4))?;
                let (q, k, v) = (qkv.get(0)?.contiguous()?, qkv.get(1)?.contiguous()?, qkv.get(2)?.contiguous()?);
                let mut scores = (q.matmul(&k.t()?)? * scale)?;
                if let Some(bias) = &bias {
                    scores = (scores + bias.narrow(1, li * h_n, h_n)?)?;
                }
                let w = match self.cfg.attention {
                    AttentionKind::Sigmoid => candle_nn::ops::sigmoid(&scores)?.broadcast_mul(&key_mask)?,
                    AttentionKind::Softmax => {
                        let neg = ((key_mask.ones_like()? - &key_mask)? * -1e4)?;
                        candle_nn::ops::softmax(&scores.broadcast_add(&neg)?, D::Minus1)?
                    }
                };
                w.matmul(&v)?.transpose(1, 2)?.reshape((b, l, d))?
            };
            h = (h + blk.out.forward(&o)?)?;
            let a = match &blk.norm2 {
                Some(n) => n.forward(&h)?,
                None => h.clone(),
            };
            h = (&h + blk.ff2.forward(&blk.ff1.forward(&a)?.relu()?)?)?;
        }
        Ok(h)
    }
}

impl SeqModel for Transformer {
    fn forward(&self, x: &Tensor, mask: &Tensor) -> Result<Tensor> {
        Ok(self.head.forward(&self.encode(x, mask)?)?)
    }
    fn pad_to(&self, longest: usize) -> usize {
        longest
    }
    fn params(&self) -> &Params {
        &self.params
    }
}

/// Runs `model` on examples in chunks and returns each example's `len × classes` log-probabilities
/// (normalised per position, so that scores of different positions are comparable).
pub fn predict(model: &dyn SeqModel, shape: SeqClassShape, examples: &[&SeqExample]) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(256) {
        let longest = chunk.iter().map(|e| e.len()).max().unwrap_or(0);
        let batch = make_batch(chunk, shape, model.pad_to(longest), false)?;
        let scores =
            candle_nn::ops::log_softmax(&model.forward(&batch.x, &batch.mask)?, D::Minus1)?.to_dtype(DType::F32)?;
        let all = scores.to_vec3::<f32>()?;
        for (rows, &n) in all.into_iter().zip(&batch.lens) {
            out.push(rows.into_iter().take(n).flatten().collect());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;
    use rand_chacha::rand_core::SeedableRng;

    const SHAPE: SeqClassShape =
        SeqClassShape { features: 1, classes: 4, max_len: 4, positional: false, permutation: true };

    fn ex(v: &[f32], t: &[(u32, u32)]) -> SeqExample {
        SeqExample { features: v.to_vec(), targets: t.to_vec() }
    }

    #[test]
    fn set_loss_ignores_padding_and_accepts_any_tied_class() {
        let a = ex(&[0.1, 0.2], &[(0, 1), (0, 1)]);
        let b = make_batch(&[&a], SHAPE, 3, true).unwrap();
        // Scores put all mass on class 1 for both real positions; padding scores are garbage.
        let mut s = vec![-20f32; 12];
        s[1] = 20.0;
        s[5] = 20.0;
        s[8] = 50.0;
        let logits = Tensor::from_vec(s, (1, 3, 4), &Device::Cpu).unwrap();
        let loss = set_cross_entropy(&logits, b.target_logmask.as_ref().unwrap(), &b.mask).unwrap();
        assert!(loss.to_scalar::<f32>().unwrap() < 1e-6);
        let wrong = Tensor::from_vec(vec![0f32; 12], (1, 3, 4), &Device::Cpu).unwrap();
        let l2 = set_cross_entropy(&wrong, b.target_logmask.as_ref().unwrap(), &b.mask).unwrap();
        assert!((l2.to_scalar::<f32>().unwrap() - 2f32.ln()).abs() < 1e-5);
    }

    #[test]
    fn transformer_is_permutation_equivariant_and_ignores_padding() {
        let cfg = TransformerConfig {
            d_model: 8,
            heads: 2,
            layers: 2,
            ffn: 16,
            pair_hidden: 4,
            attention: AttentionKind::Sigmoid,
            layer_norm: true,
        };
        let m = cfg.init(SHAPE, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
        let t = [(0, 0); 3];
        let a = ex(&[0.3, 0.1, 0.2], &t);
        let b = ex(&[0.1, 0.2, 0.3], &t);
        let pa = predict(&m, SHAPE, &[&a]).unwrap().remove(0);
        let pb = predict(&m, SHAPE, &[&b]).unwrap().remove(0);
        // element 0.3 is position 0 in a and position 2 in b
        for c in 0..4 {
            assert!((pa[c] - pb[2 * 4 + c]).abs() < 1e-4);
        }
        // Padding a batch with a longer sequence must not change the shorter one's scores.
        let long = ex(&[0.5, 0.6, 0.7, 0.8], &[(0, 0); 4]);
        let padded = predict(&m, SHAPE, &[&a, &long]).unwrap().remove(0);
        for (x, y) in pa.iter().zip(&padded) {
            assert!((x - y).abs() < 1e-4);
        }
    }

    /// The fused sigmoid attention gives the tensor ops' values and gradients bit for bit, for any length, padding,
    /// head width and depth.
    #[test]
    fn transformer_attention_is_bit_identical() {
        use rand::Rng;
        let bits = |t: &Tensor| -> Vec<u32> {
            t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|v| v.to_bits()).collect()
        };
        for (d_model, heads, layers, layer_norm) in
            [(64, 4, 2, false), (6, 2, 1, true), (12, 3, 3, false), (40, 2, 1, false), (4, 2, 1, false)]
        {
            let cfg = TransformerConfig {
                d_model,
                heads,
                layers,
                ffn: 16,
                pair_hidden: 0,
                attention: AttentionKind::Sigmoid,
                layer_norm,
            };
            let shape = SeqClassShape { features: 2, classes: 5, max_len: 40, positional: false, permutation: true };
            let mut rng = ChaCha8Rng::seed_from_u64(d_model as u64);
            let m = cfg.init(shape, &mut rng).unwrap();
            for l in [2usize, 3, 5, 8, 13, 16, 17, 33, 70] {
                let b = 6;
                let x: Vec<f32> = (0..b * l * 2).map(|_| rng.random_range(-3.0..3.0)).collect();
                let x = Tensor::from_vec(x, (b, l, 2), &Device::Cpu).unwrap();
                let mut mask = vec![0f32; b * l];
                for (e, row) in mask.chunks_mut(l).enumerate() {
                    let n = if e == 0 { l } else { rng.random_range(1..=l) };
                    row[..n].fill(1.0);
                }
                let mask = Tensor::from_vec(mask, (b, l), &Device::Cpu).unwrap();
                let weights: Vec<f32> = (0..b * l * 5).map(|_| rng.random_range(-1.0..1.0)).collect();
                let weights = Tensor::from_vec(weights, (b, l, 5), &Device::Cpu).unwrap();
                let run = |fused: bool| {
                    let out = m.head.forward(&m.encode_with(&x, &mask, fused).unwrap()).unwrap();
                    let grads = (&out * &weights).unwrap().sum_all().unwrap().backward().unwrap();
                    let g: Vec<Vec<u32>> =
                        m.params().vars().iter().map(|v| bits(grads.get(v.as_tensor()).unwrap())).collect();
                    (bits(&out), g)
                };
                let (fused, tensor_ops) = (run(true), run(false));
                assert_eq!(fused.0, tensor_ops.0, "outputs, d {d_model}, l {l}");
                for (i, (a, b)) in fused.1.iter().zip(&tensor_ops.1).enumerate() {
                    assert_eq!(a, b, "gradient of variable {i}, d {d_model}, l {l}");
                }
            }
        }
    }

    /// The fused set cross-entropy gives the tensor ops' loss bit for bit and their gradient values (a zero's sign
    /// aside), for narrowed logits, tied targets, masked rows and long rows.
    #[test]
    fn set_cross_entropy_is_the_tensor_ops() {
        use rand::Rng;
        if !crate::kernels::loss_fused() {
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for (b, pad, l, c, scale) in [(5, 8, 6, 32, 3.0), (7, 3, 3, 5, 30.0), (3, 40, 40, 70, 1.0), (2, 4, 1, 1, 2.0)] {
            let z: Vec<f32> = (0..b * pad * c).map(|_| rng.random_range(-scale..scale)).collect();
            let z = Var::from_vec(z, (b, pad, c), &Device::Cpu).unwrap();
            let t: Vec<f32> = (0..b * pad * c).map(|_| if rng.random_bool(0.3) { 0.0 } else { -1e4 }).collect();
            let t = Tensor::from_vec(t, (b, pad, c), &Device::Cpu).unwrap();
            let m: Vec<f32> = (0..b * pad).map(|i| if i % 4 == 3 { 0.0 } else { 1.0 }).collect();
            let m = Tensor::from_vec(m, (b, pad), &Device::Cpu).unwrap();
            let run = |fused: bool| {
                let (zn, tn, mn) = (z.narrow(1, 0, l).unwrap(), t.narrow(1, 0, l).unwrap(), m.narrow(1, 0, l).unwrap());
                let loss = if fused { set_cross_entropy(&zn, &tn, &mn) } else { set_cross_entropy_ops(&zn, &tn, &mn) };
                let loss = loss.unwrap();
                let g = loss.backward().unwrap().get(z.as_tensor()).unwrap().flatten_all().unwrap();
                (loss.to_scalar::<f32>().unwrap().to_bits(), g.to_vec1::<f32>().unwrap())
            };
            let (fused, ops) = (run(true), run(false));
            assert_eq!(fused.0, ops.0, "loss, {b}x{l}x{c}");
            for (i, (a, e)) in fused.1.iter().zip(&ops.1).enumerate() {
                assert!(a == e, "gradient {i} of {b}x{l}x{c}: {a} against {e}");
            }
        }
    }
}
