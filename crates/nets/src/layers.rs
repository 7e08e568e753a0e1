//! Layers whose weights come from a seeded ChaCha stream, so that a run is reproducible bit for bit.
use crate::error::Result;
use candle_core::{DType, Device, Module, Tensor, Var, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Collects the trainable variables of a model as layers are built.
#[derive(Debug, Default)]
pub struct Params {
    vars: Vec<Var>,
}

impl Params {
    /// All variables, in creation order.
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// Total number of scalar parameters.
    pub fn count(&self) -> usize {
        self.vars.iter().map(|v| v.elem_count()).sum()
    }

    /// A uniform(-bound, bound) variable drawn from `rng`.
    pub fn uniform(&mut self, shape: &[usize], bound: f64, rng: &mut ChaCha8Rng) -> Result<Tensor> {
        let n = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|_| rng.random_range(-bound..bound) as f32).collect();
        self.push(Tensor::from_vec(data, shape, &Device::Cpu)?)
    }

    /// A variable holding `data` (row-major, of `shape`).
    pub fn from_vec(&mut self, data: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        self.push(Tensor::from_vec(data, shape, &Device::Cpu)?)
    }

    /// A variable filled with `value`.
    pub fn constant(&mut self, shape: &[usize], value: f32) -> Result<Tensor> {
        self.push((Tensor::ones(shape, DType::F32, &Device::Cpu)? * value as f64)?)
    }

    fn push(&mut self, t: Tensor) -> Result<Tensor> {
        let var = Var::from_tensor(&t)?;
        let t = var.as_tensor().clone();
        self.vars.push(var);
        Ok(t)
    }

    /// Copies of the current values (to keep the best parameters seen during training).
    pub fn snapshot(&self) -> Result<Vec<Tensor>> {
        Ok(self.vars.iter().map(|v| v.as_tensor().copy()).collect::<candle_core::Result<_>>()?)
    }

    /// Restores values saved by [`Params::snapshot`].
    pub fn restore(&self, saved: &[Tensor]) -> Result<()> {
        for (v, t) in self.vars.iter().zip(saved) {
            v.set(t)?;
        }
        Ok(())
    }
}

/// Affine layer initialised like PyTorch's `nn.Linear` (uniform ±1/√fan_in), from a seeded stream.
#[derive(Debug, Clone)]
pub struct Linear {
    weight_t: Tensor,
    bias: Tensor,
    /// Whether the input is mostly zeros ([`crate::kernels::sparse_affine`]).
    sparse_input: bool,
}

impl Linear {
    /// The same layer, computed for a mostly-zero input (one-hot or binary features): the work follows the
    /// non-zero inputs ([`crate::kernels::sparse_affine`]).
    pub fn with_sparse_input(self) -> Linear {
        Linear { sparse_input: true, ..self }
    }
}

/// Builds a [`Linear`] mapping `in_dim` to `out_dim` features.
pub fn linear(in_dim: usize, out_dim: usize, p: &mut Params, rng: &mut ChaCha8Rng) -> Result<Linear> {
    let bound = 1.0 / (in_dim as f64).sqrt();
    // Stored transposed (in × out) so that the forward pass is one matmul without a transpose.
    let weight_t = p.uniform(&[in_dim, out_dim], bound, rng)?;
    let bias = p.uniform(&[out_dim], bound, rng)?;
    Ok(Linear { weight_t, bias, sparse_input: false })
}

impl Linear {
    /// The first `columns` outputs alone, for a 2-D input `[rows, in]`: the same values as `forward` narrowed
    /// (each output is its own sum), without computing the others.
    pub fn forward_columns(&self, xs: &Tensor, columns: usize) -> candle_core::Result<Tensor> {
        if columns == self.bias.dim(0)? {
            return self.forward(xs);
        }
        self.affine(xs, &self.weight_t.narrow(1, 0, columns)?, &self.bias.narrow(0, 0, columns)?)
    }

    /// `x · w + b` by the op this layer's input calls for: one fused op (crate::kernels::affine: the values of
    /// `matmul` + `broadcast_add`, a cheaper backward pass, and sums bounded so that results do not depend on the
    /// CPU's cache sizes), or its sparse form for a mostly-zero input.
    fn affine(&self, x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        if self.sparse_input {
            crate::kernels::sparse_affine(x, w, b)
        } else {
            crate::kernels::affine(x, w, b)
        }
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let dims = xs.dims();
        let (lead, last) = dims.split_at(dims.len() - 1);
        let rows: usize = lead.iter().product();
        let out = self.affine(&xs.reshape((rows, last[0]))?, &self.weight_t, &self.bias)?;
        let mut shape = lead.to_vec();
        shape.push(self.bias.dim(0)?);
        out.reshape(shape)
    }
}

/// Layer normalisation over the last dimension, built from differentiable primitives (candle's fused CPU
/// kernel has no backward pass).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    gain: Tensor,
    shift: Tensor,
}

/// Builds a [`LayerNorm`] over `dim` features (gain 1, shift 0).
pub fn layer_norm(dim: usize, p: &mut Params) -> Result<LayerNorm> {
    Ok(LayerNorm { gain: p.constant(&[dim], 1.0)?, shift: p.constant(&[dim], 0.0)? })
}

impl Module for LayerNorm {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let mean = xs.mean_keepdim(D::Minus1)?;
        let centred = xs.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        centred.broadcast_div(&(var + 1e-5)?.sqrt()?)?.broadcast_mul(&self.gain)?.broadcast_add(&self.shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn same_seed_same_weights() {
        let build = |seed| {
            let mut p = Params::default();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let l = linear(3, 4, &mut p, &mut rng).unwrap();
            l.forward(&Tensor::ones((2, 3), DType::F32, &Device::Cpu).unwrap()).unwrap().to_vec2::<f32>().unwrap()
        };
        assert_eq!(build(1), build(1));
        assert_ne!(build(1), build(2));
    }

    #[test]
    fn layer_norm_normalises_and_has_gradients() {
        let mut p = Params::default();
        let ln = layer_norm(4, &mut p).unwrap();
        let x = Var::from_vec(vec![1f32, 2., 3., 10.], (1, 4), &Device::Cpu).unwrap();
        let y = ln.forward(x.as_tensor()).unwrap();
        let v = y.to_vec2::<f32>().unwrap()[0].clone();
        let mean: f32 = v.iter().sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-5);
        let loss = (y.sqr().unwrap().sum_all().unwrap() + x.as_tensor().sum_all().unwrap()).unwrap();
        let g = loss.backward().unwrap();
        assert!(g.get(x.as_tensor()).is_some());
        assert!(g.get(p.vars()[0].as_tensor()).is_some());
    }
}
