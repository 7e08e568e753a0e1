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
use crate::kernels::runtime_features;
use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

/// Cells the step reads: the cell itself and its four neighbours.
pub const STENCIL: usize = 5;

/// The value-iteration step (see the module docs); `reduce` takes the max over the action channels. The network
/// runs K steps as one op ([`value_iteration`]); the single step is the reference the tests hold it to.
#[cfg(test)]
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
    (0..h).flat_map(|y| (0..w).map(move |x| stencil(x, y, h, w))).collect()
}

/// The stencil of cell (x, y) of an `h × w` map as flat indices, self first, then north, south, east and west (a
/// neighbour beyond the edge is the cell itself): one entry of [`stencils`], computed where the loops need it.
#[inline(always)]
fn stencil(x: usize, y: usize, h: usize, w: usize) -> [usize; STENCIL] {
    let c = y * w + x;
    [
        c,
        if y > 0 { c - w } else { c },
        if y + 1 < h { c + w } else { c },
        if x + 1 < w { c + 1 } else { c },
        if x > 0 { c - 1 } else { c },
    ]
}

/// The three arguments of a forward pass (rewards, values, weights) as contiguous f32 data, with their checked
/// sizes ([`dims`]).
type Args<'a> = (StepShape, &'a [f32], &'a [f32], &'a [f32]);

fn args<'a>(
    (s1, l1): (&'a CpuStorage, &Layout),
    (s2, l2): (&'a CpuStorage, &Layout),
    (s3, l3): (&'a CpuStorage, &Layout),
) -> Result<Args<'a>> {
    let (b, h, w, a) = dims(l1.shape(), l2.shape(), l3.shape())?;
    Ok((StepShape { b, h, w, a }, data(s1, l1, "r")?, data(s2, l2, "v")?, data(s3, l3, "p")?))
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

/// The arguments of one forward step: action rewards `[B, H, W, A]`, values `[B, H, W]` and weights `[5, A]`.
struct Step<'a> {
    r: &'a [f32],
    v: &'a [f32],
    p: &'a [f32],
    h: usize,
    w: usize,
}

runtime_features! {
    /// The forward step for `A` action maps known at compile time. Every cell's sums run in the same order as
    /// [`cell_q`] (reward, then the cell and its north, south, east and west neighbours), with separate multiplies
    /// and adds: the result is bit for bit the same on every CPU, whether or not the AVX2 copy runs (compiled with
    /// AVX2 but not FMA, so the rounding stays that of separate multiplies and adds).
    fn forward<const A: usize>(s: &Step, out: &mut [f32], best: Option<&mut [u8]>) => forward_cells, "avx2", ["avx2"]
}

#[inline(always)]
fn forward_cells<const A: usize>(s: &Step, out: &mut [f32], best: Option<&mut [u8]>) {
    // Two loops, one per output form, so that neither tests the form per cell.
    match best {
        Some(kept) => cells::<A, true>(s, out, kept),
        None => cells::<A, false>(s, out, &mut []),
    }
}

/// [`forward_cells`] for one output form: with `REDUCE`, each cell's largest action value into `out` and its
/// action into `kept`; without, every action value into `out`.
#[inline(always)]
fn cells<const A: usize, const REDUCE: bool>(s: &Step, out: &mut [f32], kept: &mut [u8]) {
    let pw: [[f32; A]; STENCIL] = std::array::from_fn(|k| {
        let mut row = [0.0f32; A];
        row.copy_from_slice(&s.p[k * A..(k + 1) * A]);
        row
    });
    let (h, w) = (s.h, s.w);
    let cells = h * w;
    for (m, (v, r)) in s.v.chunks_exact(cells).zip(s.r.chunks_exact(cells * A)).enumerate() {
        for y in 0..h {
            for x in 0..w {
                let c = y * w + x;
                let nb = stencil(x, y, h, w);
                let mut acc: [f32; A] = r[c * A..(c + 1) * A].try_into().expect("A action rewards");
                for (ps, &n) in pw.iter().zip(&nb) {
                    let vs = v[n];
                    for k in 0..A {
                        acc[k] += ps[k] * vs;
                    }
                }
                let at = m * cells + c;
                if REDUCE {
                    let (i, largest) = first_max(&acc);
                    out[at] = largest;
                    kept[at] = i as u8;
                } else {
                    out[at * A..(at + 1) * A].copy_from_slice(&acc);
                }
            }
        }
    }
}

/// [`forward`] for the 16 action maps of the default network: on x86-64 with AVX2, [`avx2::cells16`] (two 8-lane
/// registers per cell, the sums in the same order with separate multiplies and adds, so bit for bit the same);
/// elsewhere [`forward`]. Not a `runtime_features!` pair: that macro compiles one plain-Rust body twice (with and
/// without the target feature) for the compiler to vectorise, while this dispatches between two different bodies,
/// the intrinsics of [`avx2::cells16`] and [`forward`] (itself such a pair).
fn forward16(s: &Step, out: &mut [f32], best: Option<&mut [u8]>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe {
            match best {
                Some(kept) => avx2::cells16::<true>(s, out, kept),
                None => avx2::cells16::<false>(s, out, &mut []),
            }
        }
        return;
    }
    forward::<16>(s, out, best)
}

/// The AVX2 form of [`cells`] for 16 action maps, written with intrinsics because the compiler leaves the
/// per-cell max and its position in scalar code (18-20 ns per cell against 7 for the sums alone).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{argmax, stencil, Step, STENCIL};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn cells16<const REDUCE: bool>(s: &Step, out: &mut [f32], kept: &mut [u8]) {
        const A: usize = 16;
        let (h, w) = (s.h, s.w);
        let cells = h * w;
        assert!(s.p.len() >= STENCIL * A && s.r.len() >= s.v.len() * A, "value iteration: argument lengths");
        assert!(out.len() >= s.v.len() * if REDUCE { 1 } else { A } && (!REDUCE || kept.len() >= s.v.len()));
        // SAFETY (every block below): AVX2 is enabled for this function; the loads and stores stay within
        // `s.p`, `s.r` and `out`, whose lengths are checked above (`at < s.v.len()`).
        let pw: [[__m256; 2]; STENCIL] = std::array::from_fn(|k| unsafe {
            [_mm256_loadu_ps(s.p.as_ptr().add(k * A)), _mm256_loadu_ps(s.p.as_ptr().add(k * A + 8))]
        });
        for (m, v) in s.v.chunks_exact(cells).enumerate() {
            for y in 0..h {
                for x in 0..w {
                    let c = y * w + x;
                    let nb = stencil(x, y, h, w);
                    let at = m * cells + c;
                    unsafe {
                        let rp = s.r.as_ptr().add(at * A);
                        let (mut a0, mut a1) = (_mm256_loadu_ps(rp), _mm256_loadu_ps(rp.add(8)));
                        // acc += p * v, neighbour by neighbour, as `cells` does.
                        for (ps, &n) in pw.iter().zip(&nb) {
                            let vs = _mm256_set1_ps(v[n]);
                            a0 = _mm256_add_ps(a0, _mm256_mul_ps(ps[0], vs));
                            a1 = _mm256_add_ps(a1, _mm256_mul_ps(ps[1], vs));
                        }
                        if !REDUCE {
                            let o = out.as_mut_ptr().add(at * A);
                            _mm256_storeu_ps(o, a0);
                            _mm256_storeu_ps(o.add(8), a1);
                            continue;
                        }
                        let nan = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_UNORD_Q>(a0, a0))
                            | _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_UNORD_Q>(a1, a1));
                        let (i, largest) = if nan != 0 {
                            let q = spill(a0, a1);
                            let i = argmax(&q);
                            (i, q[i])
                        } else {
                            // Without NaNs, max returns one of its arguments: every lane ends as the largest value
                            // (zeros perhaps of either sign), and the first entry equal to it is argmax's pick.
                            let mut mx = _mm256_max_ps(a0, a1);
                            mx = _mm256_max_ps(mx, _mm256_permute2f128_ps::<1>(mx, mx));
                            mx = _mm256_max_ps(mx, _mm256_permute_ps::<0b01_00_11_10>(mx));
                            mx = _mm256_max_ps(mx, _mm256_permute_ps::<0b10_11_00_01>(mx));
                            let hits = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(a0, mx)) as u32
                                | (_mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(a1, mx)) as u32) << 8;
                            let i = hits.trailing_zeros() as usize;
                            let top = _mm256_cvtss_f32(mx);
                            // A zero's sign is the picked entry's, which the lanes may not all carry.
                            (i, if top == 0.0 { spill(a0, a1)[i] } else { top })
                        };
                        out[at] = largest;
                        kept[at] = i as u8;
                    }
                }
            }
        }
    }

    /// The 16 lanes of two registers, in order.
    #[target_feature(enable = "avx2")]
    unsafe fn spill(a0: __m256, a1: __m256) -> [f32; 16] {
        let mut q = [0f32; 16];
        // SAFETY: AVX2 is enabled for this function; both stores stay within `q`.
        unsafe {
            _mm256_storeu_ps(q.as_mut_ptr(), a0);
            _mm256_storeu_ps(q.as_mut_ptr().add(8), a1);
        }
        q
    }
}

/// [`argmax`] for a power-of-two `A`, and the entry it picks, without a branch per entry. [`argmax`] keeps entry 0
/// when it is NaN (nothing compares greater), and otherwise picks the first entry equal to the largest of the
/// numbers (a NaN never compares greater, nor does a later equal value, -0 and +0 alike): the largest number by a
/// tree of `max` (which passes over NaNs), then the first entry equal to it. The entry is read by index only when
/// the largest is a zero, whose sign the tree may not keep (indexing `q` by a run-time position on every cell
/// would keep it out of registers).
#[inline(always)]
fn first_max<const A: usize>(q: &[f32; A]) -> (usize, f32) {
    if q[0].is_nan() {
        return (0, q[0]);
    }
    let mut m = *q;
    let mut n = A;
    while n > 1 {
        n /= 2;
        for i in 0..n {
            m[i] = m[i].max(m[i + n]);
        }
    }
    // m[0] is one of the numbers (q[0] is one), so some entry equals it.
    let mut hits = 0u32;
    for (i, &x) in q.iter().enumerate() {
        hits |= u32::from(x == m[0]) << i;
    }
    let i = hits.trailing_zeros() as usize;
    (i, if m[0] == 0.0 { q[i] } else { m[0] })
}

/// The forward step for any number of action maps (the reference form of [`forward`]).
fn forward_any(s: &Step, a: usize, out: &mut [f32], mut best: Option<&mut [u8]>) {
    let st = stencils(s.h, s.w);
    let cells = s.h * s.w;
    let mut q = vec![0.0f32; a];
    for (k, vk) in s.v.chunks_exact(cells).enumerate() {
        for (c, nb) in st.iter().enumerate() {
            let at = (k * cells + c) * a;
            cell_q(&s.r[at..at + a], vk, s.p, nb, &mut q);
            match best {
                Some(ref mut kept) => {
                    let i = argmax(&q);
                    out[k * cells + c] = q[i];
                    kept[k * cells + c] = i as u8;
                }
                None => out[at..at + a].copy_from_slice(&q),
            }
        }
    }
}

#[cfg(test)]
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
        let (StepShape { b, h, w, a }, r, v, p) = args((s1, l1), (s2, l2), (s3, l3))?;
        let cells = b * h * w;
        let mut out = vec![0.0f32; cells * if self.reduce { 1 } else { a }];
        let mut best = vec![0u8; if self.reduce { cells } else { 0 }];
        let args = Step { r, v, p, h, w };
        step_forward(&args, a, &mut out, self.reduce.then_some(&mut best[..]));
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
        // The rewards' gradient does not depend on their values: only their shape is read (no copy of r).
        let (vv, pv, g) = (flat(v)?, flat(p)?, flat(grad)?);
        let mut gr = vec![0.0f32; r.elem_count()];
        let mut gv = vec![0.0f32; vv.len()];
        let mut gp = vec![0.0f32; pv.len()];
        let kept = self.best.lock().map_err(|_| candle_core::Error::Msg("value iteration: poisoned".into()))?;
        if self.reduce && kept.len() != b * h * w {
            bail!("value iteration: backward pass without its forward pass")
        }
        let sh = StepShape { b, h, w, a };
        let best = self.reduce.then_some(&kept[..]);
        step_backward::<false>(sh, &stencils(h, w), &vv, &pv, &g, best, &mut gr, &mut gv, &mut gp);
        let dev = r.device();
        Ok((
            Some(Tensor::from_vec(gr, r.shape(), dev)?),
            Some(Tensor::from_vec(gv, v.shape(), dev)?),
            Some(Tensor::from_vec(gp, p.shape(), dev)?),
        ))
    }
}

/// The sizes of one step's maps: B worlds of H × W cells, A action maps.
#[derive(Debug, Clone, Copy)]
struct StepShape {
    b: usize,
    h: usize,
    w: usize,
    a: usize,
}

/// The backward pass of one step whose input values were `v` and whose output's gradient is `g`: the values'
/// gradient into `gv` and the weights' into `gp` (both added to, in cell order), the rewards' into `gr`. A
/// reducing step (`best`: the action each cell picked) passes a cell's gradient to its picked action alone: with
/// `ADD` it is added to that entry of `gr` (which holds earlier steps' gradients; the other entries would have
/// had zeros added), without it written there (into zeros). A full step (`best` = None) writes `g` into `gr`.
#[allow(clippy::too_many_arguments)]
fn step_backward<const ADD: bool>(
    sh: StepShape,
    st: &[[usize; STENCIL]],
    v: &[f32],
    p: &[f32],
    g: &[f32],
    best: Option<&[u8]>,
    gr: &mut [f32],
    gv: &mut [f32],
    gp: &mut [f32],
) {
    let StepShape { b, h, w, a } = sh;
    let cells = h * w;
    for k in 0..b {
        let vk = &v[k * cells..(k + 1) * cells];
        let gvk = &mut gv[k * cells..(k + 1) * cells];
        for (c, nb) in st.iter().enumerate() {
            let at = (k * cells + c) * a;
            if let Some(kept) = best {
                let best = kept[k * cells + c] as usize;
                let gc = g[k * cells + c];
                if ADD {
                    gr[at + best] += gc;
                } else {
                    gr[at + best] = gc;
                }
                for (s, &n) in nb.iter().enumerate() {
                    gvk[n] += gc * p[s * a + best];
                    gp[s * a + best] += gc * vk[n];
                }
            } else {
                let gc = &g[at..at + a];
                gr[at..at + a].copy_from_slice(gc);
                for (s, &n) in nb.iter().enumerate() {
                    let ps = &p[s * a..(s + 1) * a];
                    gvk[n] += gc.iter().zip(ps).map(|(x, y)| x * y).sum::<f32>();
                    for (gps, gx) in gp[s * a..(s + 1) * a].iter_mut().zip(gc) {
                        *gps += gx * vk[n];
                    }
                }
            }
        }
    }
}

/// One forward step into `out` (and each cell's pick into `best` when reducing), by the kernel for `a`.
fn step_forward(args: &Step, a: usize, out: &mut [f32], best: Option<&mut [u8]>) {
    match a {
        8 => forward::<8>(args, out, best),
        16 => forward16(args, out, best),
        _ => forward_any(args, a, out, best),
    }
}

/// What the forward pass of [`ValueIteration`] keeps for its backward pass.
struct Plan {
    /// The values each step read, `v_0 … v_{K-1}`, one `[B, H, W]` block each.
    values: Vec<f32>,
    /// The action each reducing step picked per cell, steps 1 … K−1.
    best: Vec<u8>,
}

/// K value-iteration steps as one op: from rewards `r`, starting values `v0` and weights `p`, K − 1 reducing steps
/// and a last full one, the action maps `[B, H, W, A]` of the K-th step. The same values as K chained
/// [`vi_step`]s; the backward pass runs the steps back in the same order with the same sums, so the gradients
/// of `v0` and `p` are the chain's bit for bit and the rewards' gradient has the same values (a zero's sign
/// aside: the chain added every step's mostly-zero gradient of `r` to the running sum, turning a -0 into +0;
/// here a step adds only its picked entries, and no consumer of the gradient reads a zero's sign). Where the
/// chain allocated, zeroed and added a `[B, H, W, A]` gradient per step, this writes one entry per cell.
struct ValueIteration {
    iterations: usize,
    kept: std::sync::Mutex<Option<Plan>>,
}

impl CustomOp3 for ValueIteration {
    fn name(&self) -> &'static str {
        "driftbench-value-iteration-k"
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
        let (StepShape { b, h, w, a }, r, v0, p) = args((s1, l1), (s2, l2), (s3, l3))?;
        let k = self.iterations.max(1);
        let cells = b * h * w;
        // Each reducing step reads its block of `values` and writes the next one in place.
        let mut values = vec![0.0f32; k * cells];
        values[..cells].copy_from_slice(v0);
        let mut best = vec![0u8; (k - 1) * cells];
        for (step, kept) in best.chunks_exact_mut(cells.max(1)).enumerate().take(k - 1) {
            let (read, write) = values.split_at_mut((step + 1) * cells);
            let args = Step { r, v: &read[step * cells..], p, h, w };
            step_forward(&args, a, &mut write[..cells], Some(kept));
        }
        let mut out = vec![0.0f32; cells * a];
        let args = Step { r, v: &values[(k - 1) * cells..k * cells], p, h, w };
        step_forward(&args, a, &mut out, None);
        *self.kept.lock().map_err(|_| candle_core::Error::Msg("value iteration: poisoned".into()))? =
            Some(Plan { values, best });
        Ok((CpuStorage::F32(out), (b, h, w, a).into()))
    }

    fn bwd(
        &self,
        r: &Tensor,
        v0: &Tensor,
        p: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, h, w, a) = dims(r.shape(), v0.shape(), p.shape())?;
        let sh = StepShape { b, h, w, a };
        let cells = b * h * w;
        let k = self.iterations.max(1);
        let guard = self.kept.lock().map_err(|_| candle_core::Error::Msg("value iteration: poisoned".into()))?;
        let Some(Plan { values, best }) = guard.as_ref() else {
            bail!("value iteration: backward pass without its forward pass")
        };
        if values.len() != k * cells || best.len() != (k - 1) * cells {
            bail!("value iteration: backward pass of another forward pass")
        }
        let pv = p.flatten_all()?.to_vec1::<f32>()?;
        let g = grad.flatten_all()?.to_vec1::<f32>()?;
        // The last (full) step; candle stores a first gradient as it comes.
        let mut gr = vec![0.0f32; cells * a];
        let mut gv = vec![0.0f32; cells];
        let mut gp = vec![0.0f32; pv.len()];
        let st = stencils(h, w);
        step_backward::<false>(sh, &st, &values[(k - 1) * cells..], &pv, &g, None, &mut gr, &mut gv, &mut gp);
        // The reducing steps, last first, as candle's backward pass visits the chain: each adds its gradients of
        // `r` and `p` to the sums so far, and its values' gradient is the next one's output gradient.
        let (mut step_gv, mut step_gp) = (vec![0.0f32; cells], vec![0.0f32; pv.len()]);
        for step in (1..k).rev() {
            step_gv.fill(0.0);
            step_gp.fill(0.0);
            let kept = Some(&best[(step - 1) * cells..step * cells]);
            let v = &values[(step - 1) * cells..step * cells];
            step_backward::<true>(sh, &st, v, &pv, &gv, kept, &mut gr, &mut step_gv, &mut step_gp);
            std::mem::swap(&mut gv, &mut step_gv);
            for (sum, x) in gp.iter_mut().zip(&step_gp) {
                *sum += x;
            }
        }
        let dev = r.device();
        Ok((
            Some(Tensor::from_vec(gr, r.shape(), dev)?),
            Some(Tensor::from_vec(gv, v0.shape(), dev)?),
            Some(Tensor::from_vec(gp, p.shape(), dev)?),
        ))
    }
}

/// K value-iteration steps from rewards `r` `[B, H, W, A]` and values `v0` `[B, H, W, 1]` (K − 1 reducing, the
/// last full): the action maps `[B, H, W, A]` of the K-th step, as one op ([`ValueIteration`]).
pub fn value_iteration(r: &Tensor, v0: &Tensor, p: &Tensor, iterations: usize) -> Result<Tensor> {
    let op = ValueIteration { iterations, kept: Default::default() };
    r.contiguous()?.apply_op3(&v0.contiguous()?, &p.contiguous()?, op)
}

#[cfg(test)]
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

    /// The specialised forward step (plain and, where the CPU has it, AVX2) gives the reference step's outputs
    /// and chosen actions bit for bit, including ties, signed zeros and NaNs.
    #[test]
    fn the_fast_forward_step_matches_the_reference_bit_for_bit() {
        type Kernel<'a> = dyn Fn(&mut [f32], Option<&mut [u8]>) + 'a;
        fn check<const A: usize>(h: usize, w: usize, seed: u32) {
            let b = 2;
            let mut r = uniform(b * h * w * A, seed);
            // Ties (a rounded grid of values), signed zeros and a NaN.
            for (i, x) in r.iter_mut().enumerate() {
                if i % 3 == 0 {
                    *x = (*x * 2.0).round() / 2.0;
                }
                if i % 11 == 0 {
                    *x = -0.0;
                }
            }
            r[(b * h * w - 1) * A + 1] = f32::NAN;
            let v: Vec<f32> = uniform(b * h * w, seed + 1).iter().map(|x| (x * 4.0).round() / 4.0).collect();
            let p: Vec<f32> = uniform(STENCIL * A, seed + 2).iter().map(|x| x.abs() / 5.0).collect();
            let args = Step { r: &r, v: &v, p: &p, h, w };
            for reduce in [false, true] {
                let n = b * h * w * if reduce { 1 } else { A };
                let run = |f: &Kernel| {
                    let (mut out, mut best) = (vec![0.0f32; n], vec![0u8; b * h * w]);
                    f(&mut out, reduce.then_some(&mut best[..]));
                    (out.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), best)
                };
                let want = run(&|o, k| forward_any(&args, A, o, k));
                assert_eq!(run(&|o, k| forward::<A>(&args, o, k)), want, "A = {A}, reduce = {reduce}");
                if A == 16 {
                    assert_eq!(run(&|o, k| forward16(&args, o, k)), want, "A = 16 (forward16), reduce = {reduce}");
                }
                assert_eq!(run(&|o, k| forward_cells::<A>(&args, o, k)), want, "A = {A}, reduce = {reduce}");
            }
        }
        check::<8>(5, 7, 11);
        check::<16>(6, 4, 12);
        check::<16>(1, 1, 13);
        // Every action value a zero, of either sign: the largest is a zero whose sign is the first entry's.
        let (h, w) = (3, 4);
        let r: Vec<f32> = (0..h * w * 16).map(|i| if (i / 3 + i / 16) % 2 == 0 { -0.0 } else { 0.0 }).collect();
        let (v, p) = (vec![-0.0f32; h * w], vec![0.1f32; STENCIL * 16]);
        let args = Step { r: &r, v: &v, p: &p, h, w };
        for reduce in [false, true] {
            let n = h * w * if reduce { 1 } else { 16 };
            let run = |f: &Kernel| {
                let (mut out, mut best) = (vec![1.0f32; n], vec![0u8; h * w]);
                f(&mut out, reduce.then_some(&mut best[..]));
                (out.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), best)
            };
            let want = run(&|o, k| forward_any(&args, 16, o, k));
            assert!(want.0.contains(&(-0.0f32).to_bits()) && want.0.contains(&0));
            assert_eq!(run(&|o, k| forward16(&args, o, k)), want, "zeros, reduce = {reduce}");
            assert_eq!(run(&|o, k| forward::<16>(&args, o, k)), want, "zeros, reduce = {reduce}");
        }
    }

    /// K steps as one op give the chained single steps' action maps and gradients: `v0`'s and `p`'s bit for bit,
    /// the rewards' by value (a zero's sign aside, see [`ValueIteration`]), for every K from 1, both kernels'
    /// widths, and inputs with ties.
    #[test]
    fn k_steps_in_one_op_equal_the_chained_steps() {
        let d = &Device::Cpu;
        for (a, h, w, seed) in [(16usize, 5usize, 6usize, 21u32), (8, 4, 3, 22), (3, 3, 5, 23)] {
            let b = 2;
            let mut rv = uniform(b * h * w * a, seed);
            for x in rv.iter_mut().step_by(4) {
                *x = (*x * 2.0).round() / 2.0;
            }
            let r = Var::from_vec(rv, (b, h, w, a), d).unwrap();
            let logits = Var::from_vec(uniform(STENCIL * a, seed + 1), (STENCIL, a), d).unwrap();
            let weights = Tensor::from_vec(uniform(b * h * w * a, seed + 2), (b, h, w, a), d).unwrap();
            for k in [1usize, 2, 5, 12] {
                let run = |fused: bool| {
                    let p = (candle_nn::ops::softmax(logits.as_tensor(), 0).unwrap() * 0.9).unwrap();
                    let v0 = r.as_tensor().max_keepdim(3).unwrap();
                    let q = if fused {
                        value_iteration(r.as_tensor(), &v0, &p, k).unwrap()
                    } else {
                        let mut v = v0;
                        for _ in 1..k {
                            v = vi_step(r.as_tensor(), &v, &p, true).unwrap();
                        }
                        vi_step(r.as_tensor(), &v, &p, false).unwrap()
                    };
                    let loss = (&q * &weights).unwrap().sum_all().unwrap();
                    let grads = loss.backward().unwrap();
                    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                    (flat(&q), flat(grads.get(r.as_tensor()).unwrap()), flat(grads.get(logits.as_tensor()).unwrap()))
                };
                let (chain, fused) = (run(false), run(true));
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fused.0), bits(&chain.0), "action maps, A = {a}, K = {k}");
                assert_eq!(fused.1, chain.1, "gradient of r, A = {a}, K = {k}");
                assert_eq!(bits(&fused.2), bits(&chain.2), "gradient of p's logits, A = {a}, K = {k}");
                assert!(chain.1.iter().any(|&x| x != 0.0) && chain.2.iter().any(|&x| x != 0.0));
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
