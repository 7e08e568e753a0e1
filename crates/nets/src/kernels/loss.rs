//! The set cross-entropy of the sequence networks ([`crate::seq::set_cross_entropy`]) as one CPU op with its own
//! backward pass.
//!
//! For logits `z: [N, C]`, a target log-mask `t: [N, C]` (0 on the correct classes, -1e4 elsewhere) and a row mask
//! `m: [N]`:
//!
//! logp = log_softmax(z),   lse_r = log Σ_c exp(logp_rc + t_rc),   loss = −Σ_r m_r · lse_r / max(1, Σ_r m_r).
//!
//! Written as one op because the tensor-op form is about twenty ops forward and as many backward, each a pass over
//! `N · C` values (10% of the sorting MLP's training step, and half of its exponentials underflow on the -1e4
//! masks). The values are the tensor ops' ones: every element-wise step is rounded as candle rounds it (the same
//! `expf` and `logf`), and every sum is added in the order candle's CPU sum adds it ([`candle_sum`]). Gradients
//! equal the tensor ops' values; only the sign of a zero may differ (candle's sums over no dimension turn −0 into
//! +0 at some steps and not others), which AdamW's moment updates erase. `set_cross_entropy_is_the_tensor_ops`
//! in `seq.rs` holds both.
use super::f32s;
use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use std::sync::OnceLock;

/// `Σ xs` added as candle's CPU sum over a contiguous last dimension adds f32 values: with AVX2, four accumulators
/// of eight lanes over whole groups of 32 values, reduced ((a₀ + a₁) + (a₂ + a₃)), then the two halves, then two
/// pairwise horizontal additions, then the remaining values one by one; without it, one by one from zero.
pub(crate) fn candle_sum(xs: &[f32]) -> f32 {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if std::arch::is_x86_feature_detected!("avx2") {
        let whole = xs.len() & !31;
        let mut acc = [[0f32; 8]; 4];
        for group in xs[..whole].chunks_exact(32) {
            for (j, a) in acc.iter_mut().enumerate() {
                for (t, v) in a.iter_mut().enumerate() {
                    *v += group[8 * j + t];
                }
            }
        }
        let mut x = [0f32; 8];
        for t in 0..8 {
            x[t] = (acc[0][t] + acc[1][t]) + (acc[2][t] + acc[3][t]);
        }
        let t0 = [x[0] + x[4], x[1] + x[5], x[2] + x[6], x[3] + x[7]];
        let mut sum = (t0[0] + t0[1]) + (t0[2] + t0[3]);
        for &v in &xs[whole..] {
            sum += v;
        }
        return sum;
    }
    let mut sum = 0f32;
    for &v in xs {
        sum += v;
    }
    sum
}

/// Whether `candle_sum` knows the order of candle's CPU sums here (x86; elsewhere candle has other vector
/// paths, and the loss keeps the tensor ops).
pub fn loss_fused() -> bool {
    cfg!(any(target_arch = "x86", target_arch = "x86_64"))
}

/// `exp(d)`, with the arguments far below the smallest subnormal's logarithm (−103.3) answered +0 without the call:
/// `expf` rounds them to +0 too, through its slow underflow path, and the −1e4 target masks send most arguments
/// of the loss's second exponential there.
#[inline(always)]
fn underflowing_exp(d: f32) -> f32 {
    if d < -110.0 {
        0.0
    } else {
        d.exp()
    }
}

/// What the forward pass keeps for the backward pass.
struct Saved {
    /// exp(z − max z) and exp(x − max x) (x = logp + t), `[N, C]` each.
    e1: Vec<f32>,
    e2: Vec<f32>,
    /// Per row: max z, Σ exp(z − max z), Σ exp(x − max x).
    mx: Vec<f32>,
    s1: Vec<f32>,
    s2: Vec<f32>,
    /// The f32 factor 1 / max(1, Σ m) of the mean.
    inv_count: f32,
}

struct SetCrossEntropy {
    saved: OnceLock<Saved>,
}

/// The contiguous values of an argument.
fn values<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    match l.contiguous_offsets() {
        Some((a, e)) => Ok(&f32s(s, what)?[a..e]),
        None => bail!("{what}: not contiguous"),
    }
}

/// `max` over a row as candle's CPU max reduces it.
fn row_max(row: &[f32]) -> f32 {
    let mut m = row[0];
    for &v in &row[1..] {
        m = m.max(v);
    }
    m
}

impl CustomOp3 for SetCrossEntropy {
    fn name(&self) -> &'static str {
        "driftbench-set-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, c) = l1.shape().dims2()?;
        if l2.shape().dims2()? != (n, c) || l3.shape().dims1()? != n {
            bail!(
                "set cross-entropy: logits {:?}, targets {:?}, mask {:?} do not fit",
                l1.shape(),
                l2.shape(),
                l3.shape()
            )
        }
        if c == 0 {
            bail!("set cross-entropy over zero classes")
        }
        let (z, t, m) = (values(s1, l1, "logits")?, values(s2, l2, "targets")?, values(s3, l3, "mask")?);
        let (mut e1, mut e2) = (vec![0f32; n * c], vec![0f32; n * c]);
        let (mut mx, mut sum1, mut sum2) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
        let mut y = vec![0f32; n];
        let mut x = vec![0f32; c];
        for r in 0..n {
            let (zr, tr) = (&z[r * c..(r + 1) * c], &t[r * c..(r + 1) * c]);
            let (e1r, e2r) = (&mut e1[r * c..(r + 1) * c], &mut e2[r * c..(r + 1) * c]);
            mx[r] = row_max(zr);
            for (e, &zv) in e1r.iter_mut().zip(zr) {
                *e = (zv - mx[r]).exp();
            }
            sum1[r] = candle_sum(e1r);
            let ls = sum1[r].ln();
            for ((xv, &zv), &tv) in x.iter_mut().zip(zr).zip(tr) {
                *xv = ((zv - mx[r]) - ls) + tv;
            }
            let m2 = row_max(&x);
            for (e, &xv) in e2r.iter_mut().zip(&x) {
                *e = underflowing_exp(xv - m2);
            }
            sum2[r] = candle_sum(e2r);
            y[r] = (sum2[r].ln() + m2) * m[r];
        }
        let total = candle_sum(&y);
        let inv_count = (1.0 / candle_sum(m).max(1.0) as f64) as f32;
        let loss = (-total) * inv_count + 0.0;
        let _ = self.saved.set(Saved { e1, e2, mx, s1: sum1, s2: sum2, inv_count });
        Ok((CpuStorage::F32(vec![loss]), Shape::from(())))
    }

    fn bwd(
        &self,
        z: &Tensor,
        t: &Tensor,
        m: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        if t.track_op() || m.track_op() {
            bail!("set cross-entropy: the targets and the mask take no gradient")
        }
        let Some(sv) = self.saved.get() else { bail!("set cross-entropy backward before its forward pass") };
        let (n, c) = z.dims2()?;
        let g = grad.to_scalar::<f32>()?;
        let zs = z.flatten_all()?.to_vec1::<f32>()?;
        let ms = m.to_vec1::<f32>()?;
        // The mean's affine op (g · 1/count + 0), the negation (candle's first subtracted gradient, · −1 + 0,
        // which is −x + 0) and the sum over rows (the same value for every row).
        let gy = -(g * sv.inv_count + 0.0) + 0.0;
        let mut gz = vec![0f32; n * c];
        let mut gx = vec![0f32; c];
        let mut neg = vec![0f32; c];
        let mut gdiff = vec![0f32; c];
        for r in 0..n {
            let (e1r, e2r, zr) = (&sv.e1[r * c..(r + 1) * c], &sv.e2[r * c..(r + 1) * c], &zs[r * c..(r + 1) * c]);
            // Through the row mask and the log-sum-exp of x = logp + t.
            let gs2 = (gy * ms[r]) / sv.s2[r];
            for (gxv, &e) in gx.iter_mut().zip(e2r) {
                *gxv = gs2 * e;
            }
            // log_softmax: logp = diff − log Σ exp(diff), diff = z − max z.
            for (nv, &gxv) in neg.iter_mut().zip(&gx) {
                *nv = -gxv + 0.0;
            }
            let gs1 = candle_sum(&neg) / sv.s1[r];
            for ((d, &gxv), &e) in gdiff.iter_mut().zip(&gx).zip(e1r) {
                *d = gxv + gs1 * e;
            }
            for (nv, &d) in neg.iter_mut().zip(&gdiff) {
                *nv = -d + 0.0;
            }
            let gmx = candle_sum(&neg);
            for ((dst, &d), &zv) in gz[r * c..(r + 1) * c].iter_mut().zip(&gdiff).zip(zr) {
                let at_max = if zv == sv.mx[r] { 1f32 } else { 0f32 };
                *dst = d + at_max * gmx;
            }
        }
        Ok((Some(Tensor::from_vec(gz, (n, c), z.device())?), None, None))
    }
}

/// The set cross-entropy of `logits: [N, C]` against `target_logmask: [N, C]` over the rows where `mask: [N]` is
/// one, as one op (see the module docs).
pub fn set_cross_entropy(logits: &Tensor, target_logmask: &Tensor, mask: &Tensor) -> Result<Tensor> {
    if !logits.device().is_cpu() || !loss_fused() {
        bail!("the fused set cross-entropy runs on x86 CPUs only")
    }
    logits.contiguous()?.apply_op3(
        &target_logmask.contiguous()?,
        &mask.contiguous()?,
        SetCrossEntropy { saved: OnceLock::new() },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skipped_exponentials_are_the_library_ones() {
        let mut d = -200f32;
        while d < -90.0 {
            assert_eq!(underflowing_exp(d).to_bits(), d.exp().to_bits(), "{d}");
            d += 0.01;
        }
        for d in [-1e4f32, -1e30, f32::NEG_INFINITY, -110.0, -109.99] {
            assert_eq!(underflowing_exp(d).to_bits(), d.exp().to_bits(), "{d}");
        }
        assert!(underflowing_exp(f32::NAN).is_nan());
    }

    #[test]
    fn sums_follow_candles_order() {
        use candle_core::{Device, Tensor};
        for n in [1usize, 7, 31, 32, 33, 64, 100, 1000] {
            let xs: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1013) as f32 - 506.0) * 1.37e-3).collect();
            let want = Tensor::from_vec(xs.clone(), n, &Device::Cpu).unwrap().sum_all().unwrap();
            assert_eq!(candle_sum(&xs).to_bits(), want.to_scalar::<f32>().unwrap().to_bits(), "{n}");
        }
    }

    #[test]
    fn shapes_that_do_not_fit_are_refused() {
        use candle_core::{DType, Device, Tensor};
        let dev = &Device::Cpu;
        let z = Tensor::zeros((4, 3), DType::F32, dev).unwrap();
        let m = Tensor::ones(4, DType::F32, dev).unwrap();
        assert!(set_cross_entropy(&z, &z, &m).is_ok());
        assert!(set_cross_entropy(&z, &Tensor::zeros((4, 2), DType::F32, dev).unwrap(), &m).is_err());
        assert!(set_cross_entropy(&z, &z, &Tensor::ones(3, DType::F32, dev).unwrap()).is_err());
        let empty = Tensor::zeros((4, 0), DType::F32, dev).unwrap();
        assert!(set_cross_entropy(&empty, &empty, &m).is_err());
    }
}
