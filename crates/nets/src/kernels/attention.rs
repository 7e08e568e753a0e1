//! Sigmoid self-attention over a fused query-key-value projection as one CPU op with its own backward pass.
//!
//! For `qkv: [B, L, 3·D]` (queries, keys and values side by side, each `H` heads of `D / H` features) and a key
//! mask `m: [B, L]` of zeros and ones, head `h` of example `b` computes
//!
//! w(i, j) = sigmoid(scale · q_i · k_j) · m_j,   o_i = Σ_j w(i, j) · v_j,
//!
//! and the op returns `o: [B, L, D]` with the heads side by side. Written as one op because the same computation
//! in tensor ops (three strided copies out of `qkv`, two batched matmuls of `B · H` tiny matrices, the scale, the
//! sigmoid, the mask, a transposed copy back, and in the backward pass their gradients plus two zero-padded
//! concatenations per head split) cost about a fifth of the transformer's training step, nearly all of it
//! per-call overhead: the products themselves are a few hundred thousand multiply-adds.
//!
//! The values are those of the tensor ops bit for bit: every sum is added in the order `gemm`'s FMA kernels add
//! that product ([`dot_h`] for its horizontal kernel, [`chains`] for its microkernels and its two-term `gevv`
//! path; [`horizontal`] says which), and the element-wise steps are rounded as candle's ops round them (the scale
//! as an affine op, `1 / (exp(-x) + 1)`, the sigmoid's gradient as `g · ((1 - s) · s)`).
//! `transformer_attention_is_bit_identical` in `seq.rs` holds the whole encoder, values and gradients, to the
//! tensor-op form; [`attention_fused`] says where the op runs.
use super::f32s;
use candle_core::{bail, CpuStorage, CustomOp2, Layout, Result, Shape, Storage, Tensor};
use std::sync::OnceLock;

/// The op: the number of heads and the score scale, and the sigmoids of the forward pass (`[B, H, L, L]`, before
/// the mask) kept for the backward pass.
struct SigmoidAttention {
    heads: usize,
    scale: f32,
    sig: OnceLock<Vec<f32>>,
}

/// The sizes of one call: batch, length, model width, heads, head width.
#[derive(Debug, Clone, Copy)]
struct Dims {
    b: usize,
    l: usize,
    d: usize,
    h: usize,
    dh: usize,
}

impl Dims {
    fn new(qkv: &Shape, mask: &Shape, heads: usize) -> Result<Dims> {
        let (b, l, three_d) = qkv.dims3()?;
        let (mb, ml) = mask.dims2()?;
        if (mb, ml) != (b, l) {
            bail!("attention mask is {mb}x{ml}, the input {b}x{l}")
        }
        if heads == 0 || !three_d.is_multiple_of(3 * heads) {
            bail!("attention input width {three_d} is not three times a multiple of {heads} heads")
        }
        let d = three_d / 3;
        Ok(Dims { b, l, d, h: heads, dh: d / heads })
    }

    /// Index of the first feature of head `h` of part `part` (0 query, 1 key, 2 value) at position `j` of example
    /// `b`.
    #[inline(always)]
    fn at(&self, b: usize, j: usize, part: usize, h: usize) -> usize {
        (b * self.l + j) * 3 * self.d + part * self.d + h * self.dh
    }
}

/// The contiguous data of a CPU argument.
fn contiguous<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    match l.contiguous_offsets() {
        Some((a, e)) => Ok(&f32s(s, what)?[a..e]),
        None => bail!("{what}: not contiguous"),
    }
}

/// `n` rounded up to whole groups of eight lanes: the row length of the kernels' scratch matrices, whose padding
/// holds zeros.
fn lanes(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// `dst[j] = Σ_c a[c] · rows[c][j]` for `rows` of `dst.len()` values each (a multiple of eight), summed as `gemm`
/// sums a product whose operands are not both contiguous along the sum: one multiply-add chain per output in
/// order, started at zero; for sums of one or two terms (its `gevv` path) `a₀ · r₀`, or `a₁ · r₁ + a₀ · r₀`
/// rounded after each operation.
#[inline(always)]
fn chains(dst: &mut [f32], a: &[f32], rows: &[f32]) {
    let n = dst.len();
    match a.len() {
        1 => {
            for (d, &r) in dst.iter_mut().zip(rows) {
                *d = a[0] * r;
            }
        }
        2 => {
            let (r0, r1) = rows.split_at(n);
            for ((d, &x0), &x1) in dst.iter_mut().zip(r0).zip(r1) {
                let p0 = a[0] * x0;
                *d = a[1] * x1 + p0;
            }
        }
        _ => {
            // Eight outputs at a time, their accumulators in one register.
            for (c0, out) in dst.chunks_exact_mut(8).enumerate() {
                let mut acc = [0f32; 8];
                for (k, &ak) in a.iter().enumerate() {
                    let r = &rows[k * n + c0 * 8..][..8];
                    for t in 0..8 {
                        acc[t] = ak.mul_add(r[t], acc[t]);
                    }
                }
                out.copy_from_slice(&acc);
            }
        }
    }
}

/// [`chains`] for several output rows at once: row `r` of `dst` (rows `n` apart, `n` a multiple of eight) is
/// `Σ_k coefs[r · cs + k] · rows[k]` over `kk` terms. Four rows share each pass over `rows`, so that four
/// independent chains hide the multiply-add latency; the sums are those of [`chains`] row by row.
#[inline(always)]
fn chains_rows(dst: &mut [f32], n: usize, coefs: &[f32], cs: usize, kk: usize, rows: &[f32]) {
    let nr = dst.len() / n;
    let mut r = 0;
    if kk > 2 {
        while r + 4 <= nr {
            for c0 in (0..n).step_by(8) {
                let mut acc = [[0f32; 8]; 4];
                for k in 0..kk {
                    let row = &rows[k * n + c0..][..8];
                    for (q, acc) in acc.iter_mut().enumerate() {
                        let a = coefs[(r + q) * cs + k];
                        for t in 0..8 {
                            acc[t] = a.mul_add(row[t], acc[t]);
                        }
                    }
                }
                for (q, acc) in acc.iter().enumerate() {
                    dst[(r + q) * n + c0..][..8].copy_from_slice(acc);
                }
            }
            r += 4;
        }
    }
    for r in r..nr {
        chains(&mut dst[r * n..][..n], &coefs[r * cs..][..kk], rows);
    }
}

/// `Σ_c a[c] · b[c]` summed as `gemm`'s horizontal kernel sums a small product whose operands are both contiguous
/// along the sum: eight multiply-add chains (term c in chain c mod 8, the last partial group padded with zeros),
/// then the chains added pairwise ((0 + 4) + (2 + 6)) + ((1 + 5) + (3 + 7)).
#[inline(always)]
fn dot_h(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for t in 0..8 {
            acc[t] = x[t].mul_add(y[t], acc[t]);
        }
    }
    let (ra, rb) = (ca.remainder(), cb.remainder());
    if !ra.is_empty() {
        for t in 0..8 {
            let (x, y) = if t < ra.len() { (ra[t], rb[t]) } else { (0.0, 0.0) };
            acc[t] = x.mul_add(y, acc[t]);
        }
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// `gemm` takes its horizontal kernel for products of at most 16 × 16 outputs whose operands are both contiguous
/// along the sum (here the scores `q · kᵀ` and their gradient's `go · vᵀ`).
#[inline(always)]
fn horizontal(l: usize) -> bool {
    l * l <= 256
}

/// `dst[j] = a · rows_j` for the `l` rows of `rows` (`[L, dh]`, rows [`lanes`]`(dh)` apart; `rows_t` its transpose,
/// rows `dst.len()` = [`lanes`]`(L)` apart), summed as `gemm` sums the `[L, dh] · [dh, L]` product of two operands
/// contiguous along the sum.
#[inline(always)]
fn row_dots(dst: &mut [f32], a: &[f32], rows: &[f32], rows_t: &[f32], l: usize) {
    let dh = a.len();
    if horizontal(l) {
        let dhp = lanes(dh);
        for (j, d) in dst[..l].iter_mut().enumerate() {
            *d = dot_h(a, &rows[j * dhp..][..dh]);
        }
    } else {
        chains(dst, a, rows_t);
    }
}

/// Per-head scratch matrices, their rows padded to whole lane groups with zeros.
struct Scratch {
    dm: Dims,
    /// Rows of `[L, dh]` matrices and of `[dh, L]` ones.
    dhp: usize,
    lp: usize,
}

impl Scratch {
    fn new(dm: Dims) -> Scratch {
        Scratch { dm, dhp: lanes(dm.dh), lp: lanes(dm.l) }
    }

    /// A zeroed `[L, dh]` matrix (rows `dhp` apart).
    fn rows(&self) -> Vec<f32> {
        vec![0f32; self.dm.l * self.dhp]
    }

    /// A zeroed `[dh, L]` matrix (rows `lp` apart).
    fn cols(&self) -> Vec<f32> {
        vec![0f32; self.dm.dh * self.lp]
    }

    /// A zeroed `[L, L]` matrix.
    fn square(&self) -> Vec<f32> {
        vec![0f32; self.dm.l * self.dm.l]
    }

    /// Copies part `part` of head `h` of example `b` into `rows` (`[L, dh]`) and, if given, `cols` (`[dh, L]`).
    #[inline(always)]
    fn load(&self, x: &[f32], (b, h): (usize, usize), part: usize, rows: &mut [f32], cols: Option<&mut [f32]>) {
        let dm = self.dm;
        let (dh, l) = (dm.dh, dm.l);
        for j in 0..l {
            rows[j * self.dhp..][..dh].copy_from_slice(&x[dm.at(b, j, part, h)..][..dh]);
        }
        if let Some(cols) = cols {
            for j in 0..l {
                for (c, &v) in x[dm.at(b, j, part, h)..][..dh].iter().enumerate() {
                    cols[c * self.lp + j] = v;
                }
            }
        }
    }
}

/// The forward pass of every (example, head); fills `out` (`[B, L, D]`) and `sig` (`[B, H, L, L]`).
#[inline(always)]
fn forward_impl(x: &[f32], mask: &[f32], dm: Dims, scale: f32, out: &mut [f32], sig: &mut [f32]) {
    let Dims { b: nb, l, d, h: nh, dh } = dm;
    let sc = Scratch::new(dm);
    let dhp = sc.dhp;
    let (mut kt, mut ks, mut vs, mut o) = (sc.cols(), sc.rows(), sc.rows(), sc.rows());
    let (mut w, mut acc) = (sc.square(), vec![0f32; sc.lp]);
    for b in 0..nb {
        let m = &mask[b * l..(b + 1) * l];
        for h in 0..nh {
            sc.load(x, (b, h), 1, &mut ks, (!horizontal(l)).then_some(&mut kt[..]));
            sc.load(x, (b, h), 2, &mut vs, None);
            for i in 0..l {
                let q = &x[dm.at(b, i, 0, h)..][..dh];
                row_dots(&mut acc, q, &ks, &kt, l);
                let s_row = &mut sig[((b * nh + h) * l + i) * l..][..l];
                for j in 0..l {
                    let s = acc[j] * scale + 0.0;
                    // A masked key's weight is r · 0 = +0 for any sigmoid r in [0, 1], and its score gradient
                    // (g · 0) · ((1 - r) · r) · scale + 0 = +0 for any finite g: its sigmoid is never read, so the
                    // exponential is skipped (a NaN score keeps its NaN, as the tensor ops would).
                    let r = if m[j] == 0.0 && !s.is_nan() { 0.5 } else { ((-s).exp() + 1.0).recip() };
                    s_row[j] = r;
                    w[i * l + j] = r * m[j];
                }
            }
            chains_rows(&mut o, dhp, &w, l, l, &vs);
            for i in 0..l {
                out[(b * l + i) * d + h * dh..][..dh].copy_from_slice(&o[i * dhp..][..dh]);
            }
        }
    }
}

runtime_features! {
    /// [`forward_impl`] with AVX2 and FMA where [`attention_fused`] holds (elsewhere `mul_add` is still one
    /// rounding, a library call: the same values, slowly).
    fn forward(x: &[f32], mask: &[f32], dm: Dims, scale: f32, out: &mut [f32], sig: &mut [f32])
        => forward_impl, "avx2,fma", ["avx2", "fma"]
}

/// The backward pass: from the output gradient `go` (`[B, L, D]`) to the gradient of `qkv` (`[B, L, 3·D]`).
#[inline(always)]
fn backward_impl(x: &[f32], mask: &[f32], sig: &[f32], go: &[f32], dm: Dims, scale: f32, gx: &mut [f32]) {
    let Dims { b: nb, l, d, h: nh, dh } = dm;
    let sc = Scratch::new(dm);
    let dhp = sc.dhp;
    let (mut vt, mut vs, mut ks, mut qs, mut gos) = (sc.cols(), sc.rows(), sc.rows(), sc.rows(), sc.rows());
    // Per head: the weights w transposed, and the scaled score gradients and their transpose.
    let (mut wt, mut gst, mut gs) = (sc.square(), sc.square(), sc.square());
    let (mut acc, mut part_grad) = (vec![0f32; sc.lp], sc.rows());
    for b in 0..nb {
        let m = &mask[b * l..(b + 1) * l];
        for h in 0..nh {
            sc.load(x, (b, h), 2, &mut vs, (!horizontal(l)).then_some(&mut vt[..]));
            sc.load(x, (b, h), 1, &mut ks, None);
            sc.load(x, (b, h), 0, &mut qs, None);
            for j in 0..l {
                gos[j * dhp..][..dh].copy_from_slice(&go[(b * l + j) * d + h * dh..][..dh]);
            }
            let s_head = &sig[(b * nh + h) * l * l..][..l * l];
            for i in 0..l {
                // d w(i, ·) = go_i · vᵀ, then through the mask, the sigmoid and the scale.
                row_dots(&mut acc, &gos[i * dhp..][..dh], &vs, &vt, l);
                for j in 0..l {
                    let r = s_head[i * l + j];
                    wt[j * l + i] = r * m[j];
                    let g = (acc[j] * m[j]) * ((1.0 - r) * r);
                    let g = g * scale + 0.0;
                    gs[i * l + j] = g;
                    gst[j * l + i] = g;
                }
            }
            // d v_j = Σ_i w(i, j) · go_i; d k_j = Σ_i ds(i, j) · q_i; d q_j = Σ_i ds(j, i) · k_i. `+ 0.0` as the
            // tensor ops' sum of the three zero-padded head splits rounds a -0 to +0.
            for (part, coef, rows) in [(2, &wt, &gos), (1, &gst, &qs), (0, &gs, &ks)] {
                chains_rows(&mut part_grad, dhp, coef, l, l, rows);
                for j in 0..l {
                    for (dst, &a) in gx[dm.at(b, j, part, h)..][..dh].iter_mut().zip(&part_grad[j * dhp..][..dh]) {
                        *dst = a + 0.0;
                    }
                }
            }
        }
    }
}

runtime_features! {
    /// [`backward_impl`] with AVX2 and FMA where [`attention_fused`] holds.
    fn backward(x: &[f32], mask: &[f32], sig: &[f32], go: &[f32], dm: Dims, scale: f32, gx: &mut [f32])
        => backward_impl, "avx2,fma", ["avx2", "fma"]
}

/// Reads a CPU tensor's contiguous f32 values and passes them to `f`.
fn with_data<T>(t: &Tensor, what: &str, f: impl FnOnce(&[f32]) -> Result<T>) -> Result<T> {
    let (s, l) = t.storage_and_layout();
    let Storage::Cpu(s) = &*s else { bail!("{what}: attention runs on the CPU only") };
    f(contiguous(s, l, what)?)
}

impl CustomOp2 for SigmoidAttention {
    fn name(&self) -> &'static str {
        "driftbench-sigmoid-attention"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let dm = Dims::new(l1.shape(), l2.shape(), self.heads)?;
        let x = contiguous(s1, l1, "attention input")?;
        let mask = contiguous(s2, l2, "attention mask")?;
        let mut out = vec![0f32; dm.b * dm.l * dm.d];
        let mut sig = vec![0f32; dm.b * dm.h * dm.l * dm.l];
        forward(x, mask, dm, self.scale, &mut out, &mut sig);
        // A second forward pass through the same op value (which candle never makes) keeps the first sigmoids;
        // they are the same values.
        let _ = self.sig.set(sig);
        Ok((CpuStorage::F32(out), Shape::from((dm.b, dm.l, dm.d))))
    }

    fn bwd(
        &self,
        qkv: &Tensor,
        mask: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        if mask.track_op() {
            bail!("attention: the key mask takes no gradient")
        }
        let dm = Dims::new(qkv.shape(), mask.shape(), self.heads)?;
        let Some(sig) = self.sig.get() else { bail!("attention backward before its forward pass") };
        let grad = grad.contiguous()?;
        let mut gx = vec![0f32; qkv.elem_count()];
        with_data(qkv, "attention input", |x| {
            with_data(mask, "attention mask", |m| {
                with_data(&grad, "attention gradient", |go| {
                    if go.len() != dm.b * dm.l * dm.d {
                        bail!("attention gradient holds {} values, not {}", go.len(), dm.b * dm.l * dm.d)
                    }
                    backward(x, m, sig, go, dm, self.scale, &mut gx);
                    Ok(())
                })
            })
        })?;
        Ok((Some(Tensor::from_vec(gx, qkv.shape(), qkv.device())?), None))
    }
}

/// Whether the fused op's sums are `gemm`'s on this CPU: x86-64 with AVX2 and FMA, where `gemm` runs the FMA
/// kernels whose orders `chains` and `dot_h` follow. Elsewhere (scalar or NEON kernels) the transformer keeps
/// the tensor ops.
pub fn attention_fused() -> bool {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    {
        false
    }
}

/// Sigmoid attention of `heads` heads over `qkv: [B, L, 3·D]` with key mask `[B, L]` (see the module docs):
/// `[B, L, D]`, with the scores scaled by `scale` (rounded to f32, as candle's affine op rounds it).
pub fn sigmoid_attention(qkv: &Tensor, key_mask: &Tensor, heads: usize, scale: f64) -> Result<Tensor> {
    if !qkv.device().is_cpu() {
        bail!("sigmoid_attention runs on the CPU only")
    }
    Dims::new(qkv.shape(), key_mask.shape(), heads)?;
    let op = SigmoidAttention { heads, scale: scale as f32, sig: OnceLock::new() };
    qkv.contiguous()?.apply_op2(&key_mask.contiguous()?, op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn shapes_that_do_not_fit_are_refused() {
        let dev = &Device::Cpu;
        let qkv = Tensor::zeros((2, 3, 12), candle_core::DType::F32, dev).unwrap();
        let mask = Tensor::ones((2, 3), candle_core::DType::F32, dev).unwrap();
        assert!(sigmoid_attention(&qkv, &mask, 2, 0.5).is_ok());
        let short = Tensor::ones((2, 2), candle_core::DType::F32, dev).unwrap();
        let err = sigmoid_attention(&qkv, &short, 2, 0.5).unwrap_err().to_string();
        assert!(err.contains("mask"), "{err}");
        let err = sigmoid_attention(&qkv, &mask, 5, 0.5).unwrap_err().to_string();
        assert!(err.contains("heads"), "{err}");
        assert!(sigmoid_attention(&qkv, &mask, 0, 0.5).is_err());
    }

    #[test]
    fn a_mask_with_a_gradient_is_refused() {
        let dev = &Device::Cpu;
        let qkv = Var::from_vec((0..36).map(|i| i as f32 / 36.0).collect::<Vec<_>>(), (1, 3, 12), dev).unwrap();
        let mask = Var::from_vec(vec![1f32, 1.0, 0.0], (1, 3), dev).unwrap();
        let out = sigmoid_attention(qkv.as_tensor(), mask.as_tensor(), 2, 0.5).unwrap();
        let err = out.sum_all().unwrap().backward().unwrap_err().to_string();
        assert!(err.contains("mask"), "{err}");
    }
}
