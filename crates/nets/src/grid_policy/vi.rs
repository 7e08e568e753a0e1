//! One value-iteration step as a single CPU op with its own backward pass.
//!
//! On channel-last maps `[B, H, W, ·]`, with `p` the `[5, A]` transition weights of the A action channels over the
//! cell and its four neighbours (north, south, east, west; a neighbour beyond the map is the cell itself):
//!
//! q(b, y, x, a) = r(b, y, x, a) + Σ_s p(s, a) · v(b, (y, x) + offset(s)),
//!
//! and, when reducing, v'(b, y, x) = max_a q(b, y, x, a). When every column of `p` is a probability distribution
//! times a discount γ < 1 (what the network feeds it), the step is a γ-contraction in the max norm whatever K and
//! the map size: values stay within max |r| / (1 − γ).
//!
//! Written as one op because the same step in tensor ops (pad, five shifts, concatenation, matmul, add, max and
//! their backward passes) cost about 25 small kernels per iteration, K = 24 to 72 iterations per training step.
use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

/// Cells the step reads: the cell itself and its four neighbours.
pub const STENCIL: usize = 5;

/// The value-iteration step (see the module docs); `reduce` takes the max over the action channels.
struct ViStep {
    reduce: bool,
    /// The maximising action of every cell, kept by the forward pass for the backward pass.
    best: std::sync::Mutex<Vec<u8>>,
}

/// The contiguous f32 data of one argument.
fn data<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(d) = s else { bail!("value iteration: {what} must be f32") };
    let Some((a, b)) = l.contiguous_offsets() else { bail!("value iteration: {what} must be contiguous") };
    Ok(&d[a..b])
}

/// Flat cell indices of the stencil of every cell of one `h × w` map, neighbours beyond the edge clamped to the
/// cell itself.
fn stencils(h: usize, w: usize) -> Vec<[usize; STENCIL]> {
    let mut out = Vec::with_capacity(h * w);
    for y in 0..h {
        for x in 0..w {
            let at = |y: usize, x: usize| y * w + x;
            let here = at(y, x);
            out.push([
                if y > 0 { at(y - 1, x) } else { here },
                if y + 1 < h { at(y + 1, x) } else { here },
                if x + 1 < w { at(y, x + 1) } else { here },
                if x > 0 { at(y, x - 1) } else { here },
                here,
            ]);
        }
    }
    // Order: self first, as in the attention read-out.
    for s in &mut out {
        s.rotate_right(1);
    }
    out
}

/// Checks the shapes: r `[B, H, W, A]`, v `[B, H, W, 1]`, p `[5, A]`; returns (B, H, W, A).
fn dims(r: &Shape, v: &Shape, p: &Shape) -> Result<(usize, usize, usize, usize)> {
    let (b, h, w, a) = r.dims4()?;
    if a > 256 {
        bail!("value iteration: at most 256 action maps, not {a}")
    }
    if v.dims() != [b, h, w, 1] || p.dims() != [STENCIL, a] {
        bail!("value iteration: shapes r {r:?}, v {v:?}, p {p:?} do not fit")
    }
    Ok((b, h, w, a))
}

/// The action values of one cell into `q`.
#[inline(always)]
fn cell_q(r: &[f32], v: &[f32], p: &[f32], nb: &[usize; STENCIL], q: &mut [f32]) {
    match q.len() {
        4 => cell_q_fixed::<4>(r, v, p, nb, q),
        8 => cell_q_fixed::<8>(r, v, p, nb, q),
        16 => cell_q_fixed::<16>(r, v, p, nb, q),
        a => {
            q.copy_from_slice(r);
            for (s, &c) in nb.iter().enumerate() {
                let vs = v[c];
                for (qa, pa) in q.iter_mut().zip(&p[s * a..(s + 1) * a]) {
                    *qa += pa * vs;
                }
            }
        }
    }
}

/// [`cell_q`] for `A` action maps known at compile time (so that the sums vectorise).
#[inline(always)]
fn cell_q_fixed<const A: usize>(r: &[f32], v: &[f32], p: &[f32], nb: &[usize; STENCIL], q: &mut [f32]) {
    let mut acc: [f32; A] = r[..A].try_into().expect("A action values");
    for (s, &c) in nb.iter().enumerate() {
        let vs = v[c];
        let ps: &[f32; A] = p[s * A..(s + 1) * A].try_into().expect("A weights");
        for k in 0..A {
            acc[k] += ps[k] * vs;
        }
    }
    q[..A].copy_from_slice(&acc);
}

/// Index of the first largest entry.
#[inline]
fn argmax(q: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in q.iter().enumerate() {
        if x > q[best] {
            best = i;
        }
    }
    best
}

impl CustomOp3 for ViStep {
    fn name(&self) -> &'static str {
        "driftbench-value-iteration"
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
        let (b, h, w, a) = dims(l1.shape(), l2.shape(), l3.shape())?;
        let (r, v, p) = (data(s1, l1, "r")?, data(s2, l2, "v")?, data(s3, l3, "p")?);
        let st = stencils(h, w);
        let cells = h * w;
        let mut out = Vec::with_capacity(b * cells * if self.reduce { 1 } else { a });
        let mut q = vec![0.0f32; a];
        let mut best = Vec::with_capacity(if self.reduce { b * cells } else { 0 });
        for k in 0..b {
            let vk = &v[k * cells..(k + 1) * cells];
            for (c, nb) in st.iter().enumerate() {
                let at = (k * cells + c) * a;
                cell_q(&r[at..at + a], vk, p, nb, &mut q);
                if self.reduce {
                    let i = argmax(&q);
                    out.push(q[i]);
                    best.push(i as u8);
                } else {
                    out.extend_from_slice(&q);
                }
            }
        }
        if self.reduce {
            *self.best.lock().map_err(|_| candle_core::Error::Msg("value iteration: poisoned".into()))? = best;
        }
        let shape = if self.reduce { (b, h, w, 1) } else { (b, h, w, a) };
        Ok((CpuStorage::F32(out), shape.into()))
    }

    fn bwd(
        &self,
        r: &Tensor,
        v: &Tensor,
        p: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, h, w, a) = dims(r.shape(), v.shape(), p.shape())?;
        let flat = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
        let (rv, vv, pv, g) = (flat(r)?, flat(v)?, flat(p)?, flat(grad)?);
        let st = stencils(h, w);
        let cells = h * w;
        let mut gr = vec![0.0f32; rv.len()];
        let mut gv = vec![0.0f32; vv.len()];
        let mut gp = vec![0.0f32; pv.len()];
        let kept = self.best.lock().map_err(|_| candle_core::Error::Msg("value iteration: poisoned".into()))?;
        if self.reduce && kept.len() != b * cells {
            bail!("value iteration: backward pass without its forward pass")
        }
        for k in 0..b {
            let vk = &vv[k * cells..(k + 1) * cells];
            let gvk = &mut gv[k * cells..(k + 1) * cells];
            for (c, nb) in st.iter().enumerate() {
                let at = (k * cells + c) * a;
                if self.reduce {
                    let best = kept[k * cells + c] as usize;
                    let gc = g[k * cells + c];
                    gr[at + best] = gc;
                    for (s, &n) in nb.iter().enumerate() {
                        gvk[n] += gc * pv[s * a + best];
                        gp[s * a + best] += gc * vk[n];
                    }
                } else {
                    let gc = &g[at..at + a];
                    gr[at..at + a].copy_from_slice(gc);
                    for (s, &n) in nb.iter().enumerate() {
                        let ps = &pv[s * a..(s + 1) * a];
                        gvk[n] += gc.iter().zip(ps).map(|(x, y)| x * y).sum::<f32>();
                        for (gps, gx) in gp[s * a..(s + 1) * a].iter_mut().zip(gc) {
                            *gps += gx * vk[n];
                        }
                    }
                }
            }
        }
        let dev = r.device();
        Ok((
            Some(Tensor::from_vec(gr, r.shape(), dev)?),
            Some(Tensor::from_vec(gv, v.shape(), dev)?),
            Some(Tensor::from_vec(gp, p.shape(), dev)?),
        ))
    }
}

/// One value-iteration step: the action maps `[B, H, W, A]`, or with `reduce` their max `[B, H, W, 1]`.
pub fn vi_step(r: &Tensor, v: &Tensor, p: &Tensor, reduce: bool) -> Result<Tensor> {
    r.contiguous()?.apply_op3(&v.contiguous()?, &p.contiguous()?, ViStep { reduce, best: Default::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn uniform(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32).map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    #[test]
    fn the_step_reads_the_cell_and_its_neighbours_clamped_at_the_edge() {
        let d = &Device::Cpu;
        // One 2×3 map, one action that moves east with certainty.
        let v = Tensor::from_vec(vec![1f32, 2., 3., 4., 5., 6.], (1, 2, 3, 1), d).unwrap();
        let r = Tensor::zeros((1, 2, 3, 1), candle_core::DType::F32, d).unwrap();
        let p = Tensor::from_vec(vec![0f32, 0., 0., 1., 0.], (5, 1), d).unwrap();
        let q = vi_step(&r, &v, &p, true).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(q, [2., 3., 3., 5., 6., 6.]);
        // North: the top row reads itself.
        let p = Tensor::from_vec(vec![0f32, 1., 0., 0., 0.], (5, 1), d).unwrap();
        let q = vi_step(&r, &v, &p, false).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(q, [1., 2., 3., 1., 2., 3.]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let d = &Device::Cpu;
        let (b, h, w, a) = (2, 3, 4, 3);
        let r = Var::from_vec(uniform(b * h * w * a, 1), (b, h, w, a), d).unwrap();
        let v = Var::from_vec(uniform(b * h * w, 2), (b, h, w, 1), d).unwrap();
        let p = Var::from_vec(uniform(STENCIL * a, 3), (STENCIL, a), d).unwrap();
        let weights = Tensor::from_vec(uniform(b * h * w * a, 4), (b, h, w, a), d).unwrap();
        for reduce in [false, true] {
            let loss = |r: &Tensor, v: &Tensor, p: &Tensor| -> f64 {
                let out = vi_step(r, v, p, reduce).unwrap();
                let wt = if reduce { weights.narrow(3, 0, 1).unwrap() } else { weights.clone() };
                (out * wt).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() as f64
            };
            let out = vi_step(r.as_tensor(), v.as_tensor(), p.as_tensor(), reduce).unwrap();
            let wt = if reduce { weights.narrow(3, 0, 1).unwrap() } else { weights.clone() };
            let grads = (out * wt).unwrap().sum_all().unwrap().backward().unwrap();
            for (k, var) in [&r, &v, &p].into_iter().enumerate() {
                let g = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                let base = var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                for i in (0..base.len()).step_by(5) {
                    let eps = 1e-3;
                    let shifted = |delta: f32| {
                        let mut x = base.clone();
                        x[i] += delta;
                        let t = Tensor::from_vec(x, var.shape(), d).unwrap();
                        let mut args = [r.as_tensor().clone(), v.as_tensor().clone(), p.as_tensor().clone()];
                        args[k] = t;
                        loss(&args[0], &args[1], &args[2])
                    };
                    let numeric = (shifted(eps) - shifted(-eps)) / (2.0 * eps as f64);
                    assert!((numeric - g[i] as f64).abs() < 2e-2, "arg {k} entry {i}: {numeric} vs {}", g[i]);
                }
            }
        }
    }

    /// `[5, a]` weights whose columns are distributions (from arbitrary, far from uniform logits) times `gamma`.
    fn discounted(a: usize, gamma: f32, seed: u32) -> Tensor {
        let logits = Tensor::from_vec(uniform(STENCIL * a, seed), (STENCIL, a), &Device::Cpu).unwrap();
        (candle_nn::ops::softmax(&(logits * 8.0).unwrap(), 0).unwrap() * gamma as f64).unwrap()
    }

    fn max_abs(t: &Tensor) -> f32 {
        t.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap()
    }

    #[test]
    fn a_discounted_step_is_a_contraction() {
        let d = &Device::Cpu;
        let (h, w, a, gamma) = (38, 38, 8, 0.95f32);
        let r = Tensor::from_vec(uniform(h * w * a, 5), (1, h, w, a), d).unwrap();
        let p = discounted(a, gamma, 6);
        let v1 = (Tensor::from_vec(uniform(h * w, 7), (1, h, w, 1), d).unwrap() * 30.0).unwrap();
        let v2 = (Tensor::from_vec(uniform(h * w, 8), (1, h, w, 1), d).unwrap() * -20.0).unwrap();
        let before = max_abs(&(&v1 - &v2).unwrap());
        let after = max_abs(&(vi_step(&r, &v1, &p, true).unwrap() - vi_step(&r, &v2, &p, true).unwrap()).unwrap());
        assert!(after <= gamma * before + 1e-4, "{after} > {gamma} x {before}");
    }

    #[test]
    fn values_stay_bounded_on_a_large_map_for_any_number_of_steps() {
        let d = &Device::Cpu;
        // A 36×36 city with its border, 3 × 72 steps (three times what the network runs there).
        let (h, w, a, gamma) = (38, 38, 8, 0.95f32);
        let r = (Tensor::from_vec(uniform(h * w * a, 9), (1, h, w, a), d).unwrap() * 5.0).unwrap();
        let bound = max_abs(&r) / (1.0 - gamma);
        let p = discounted(a, gamma, 10);
        let mut v = r.max_keepdim(3).unwrap();
        for _ in 0..216 {
            v = vi_step(&r, &v, &p, true).unwrap();
        }
        let top = max_abs(&v);
        assert!(top.is_finite() && top <= bound * 1.0001, "{top} > {bound}");
        // And the values are not trivially small: the fixed point is reached, not washed out.
        assert!(top > max_abs(&r), "{top}");
    }
}
