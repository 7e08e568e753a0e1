//! CPU fast paths behind the layers: a fused affine op whose backward pass writes the weight and bias gradients
//! directly and skips the input gradient when nothing needs it, its sparse-input form (`sparse`), a vectorised f32
//! tanh, and one-pass AdamW arithmetic. Every matrix product sums over at most [`MAX_REDUCTION`] terms per `gemm`
//! call and adds the partial products in a fixed order, so that results do not depend on the blocking `gemm`
//! derives from the CPU's cache sizes (it splits sums longer than 512 terms at a length that depends on the L1 data
//! cache).
use candle_core::{bail, CpuStorage, Layout, Result, Shape, Storage, Tensor};
use std::borrow::Cow;

/// Defines `fn $name(args)` that runs `$body` (an `#[inline(always)]` function of the same arguments) compiled
/// with the target features `$enable` where the CPU has each of the `$feature`s, and as compiled for the baseline
/// target elsewhere. Only for bodies whose values do not depend on the features: IEEE operations, or `mul_add`,
/// which rounds once either way (a library call without FMA). The second form takes const generic parameters
/// (`fn $name<const N: usize>(args)`) and passes them on to `$body`.
macro_rules! runtime_features {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $body:ident, $enable:literal,
     [$($feature:tt),+]) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            {
                #[target_feature(enable = $enable)]
                unsafe fn fast($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if $(std::arch::is_x86_feature_detected!($feature))&&+ {
                    // SAFETY: the CPU has every feature `fast` is compiled for (checked just above).
                    unsafe { fast($($arg),*) };
                    return;
                }
            }
            $body($($arg),*)
        }
    };
    ($(#[$doc:meta])* $vis:vis fn $name:ident<$(const $gen:ident: $gty:ty),+>($($arg:ident: $ty:ty),* $(,)?)
     => $body:ident, $enable:literal, [$($feature:tt),+]) => {
        $(#[$doc])*
        $vis fn $name<$(const $gen: $gty),+>($($arg: $ty),*) {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            {
                #[target_feature(enable = $enable)]
                unsafe fn fast<$(const $gen: $gty),+>($($arg: $ty),*) {
                    $body::<$($gen),+>($($arg),*)
                }
                if $(std::arch::is_x86_feature_detected!($feature))&&+ {
                    // SAFETY: the CPU has every feature `fast` is compiled for (checked just above).
                    unsafe { fast::<$($gen),+>($($arg),*) };
                    return;
                }
            }
            $body::<$($gen),+>($($arg),*)
        }
    };
}
pub(crate) use runtime_features;

mod attention;
mod loss;
mod sparse;
pub use attention::{attention_fused, sigmoid_attention};
pub use loss::{loss_fused, set_cross_entropy};
pub use sparse::sparse_affine;

/// The longest sum one `gemm` call performs: `gemm` never splits a sum of at most 512 terms, whatever the cache.
pub const MAX_REDUCTION: usize = 512;

/// A strided f32 matrix view: element (r, c) is `data[off + r * rs + c * cs]`.
#[derive(Debug, Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    off: usize,
    rs: usize,
    cs: usize,
}

impl Mat<'_> {
    /// Checks that every element of a `rows × cols` view lies inside `data`.
    fn check(&self, rows: usize, cols: usize) -> Result<()> {
        if rows > 0 && cols > 0 && self.off + (rows - 1) * self.rs + (cols - 1) * self.cs >= self.data.len() {
            bail!(
                "matrix view {rows}x{cols} (offset {}, strides {}/{}) outside its storage",
                self.off,
                self.rs,
                self.cs
            )
        }
        Ok(())
    }
}

/// The chunk length that splits a sum over `k` terms into the fewest equal pieces of at most [`MAX_REDUCTION`]
/// (what `gemm` itself does on a 32 KiB, 8-way L1 data cache, so results there match stock candle).
fn chunk_len(k: usize) -> usize {
    let pieces = k.div_ceil(MAX_REDUCTION).max(1);
    k.div_ceil(pieces).max(1)
}

/// The `m × n` (row-major) product `lhs (m × k) · rhs (k × n)`, its sums cut into chunks of `chunk` terms (the last
/// one shorter) added in order, so that a sum over the first `k` of a longer sum's terms is cut where the longer
/// one would be. `gemm` writes every value without reading the destination first, so it is not zeroed beforehand
/// (zeroing the destinations of the affine op's products was 2-3% of a transformer step).
fn product_chunked(m: usize, n: usize, k: usize, lhs: Mat, rhs: Mat, chunk: usize) -> Result<Vec<f32>> {
    if k == 0 {
        lhs.check(m, k)?;
        rhs.check(k, n)?;
        return Ok(vec![0f32; m * n]);
    }
    let mut dst = Vec::with_capacity(m * n);
    // SAFETY: the allocation holds m × n values and nothing else refers to it. With k > 0 the first `gemm` call
    // writes every one of them without reading any (its `read_dst = false` path), later chunks read what it wrote.
    // On an error the length stays 0, so no unwritten value is ever exposed.
    unsafe {
        gemm_chunks(dst.as_mut_ptr(), m, n, k, lhs, rhs, chunk)?;
        dst.set_len(m * n);
    }
    Ok(dst)
}

/// [`product_chunked`] in the fewest equal chunks of at most [`MAX_REDUCTION`] terms ([`chunk_len`]).
fn product(m: usize, n: usize, k: usize, lhs: Mat, rhs: Mat) -> Result<Vec<f32>> {
    product_chunked(m, n, k, lhs, rhs, chunk_len(k))
}

/// The `gemm` calls of [`product_chunked`] into `m × n` row-major values at `dst`.
///
/// # Safety
/// `dst` must be valid for writes of m × n values and aliased by nothing else while this runs. When k = 0 nothing
/// is written.
unsafe fn gemm_chunks(dst: *mut f32, m: usize, n: usize, k: usize, lhs: Mat, rhs: Mat, chunk: usize) -> Result<()> {
    if chunk == 0 || chunk > MAX_REDUCTION {
        bail!("matmul chunk of {chunk} terms (1..={MAX_REDUCTION})")
    }
    lhs.check(m, k)?;
    rhs.check(k, n)?;
    if m == 0 || n == 0 || k == 0 {
        return Ok(());
    }
    let threads = candle_core::utils::get_num_threads();
    let parallelism = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    let mut depth = 0;
    while depth < k {
        let kb = chunk.min(k - depth);
        let read_dst = depth > 0;
        // SAFETY: `check` above proved that every element the views address for (m, k) and (k, n) lies inside
        // their slices; the caller guarantees `dst` (row stride n, column stride 1); the chunk [depth, depth + kb)
        // lies inside [0, k). `gemm` reads `dst` only with `read_dst`, after the first chunk wrote it.
        unsafe {
            gemm::gemm(
                m,
                n,
                kb,
                dst,
                1,
                n as isize,
                read_dst,
                lhs.data.as_ptr().add(lhs.off + depth * lhs.cs),
                lhs.cs as isize,
                lhs.rs as isize,
                rhs.data.as_ptr().add(rhs.off + depth * rhs.rs),
                rhs.cs as isize,
                rhs.rs as isize,
                if read_dst { 1.0 } else { 0.0 },
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
        depth += kb;
    }
    Ok(())
}

/// One past the last column of the `rows × cols` matrix `g` that holds a non-zero value. Columns after it are all
/// zeros (the gradient of outputs that a loss narrows away, as the sorting MLP's padded positions): their products
/// add exact zeros to every sum, so the backward pass leaves them out. That changes no value: a sum to which only
/// (±)0 terms are added keeps its value (at most the sign of a zero differs, and AdamW's moment updates add every
/// gradient to +0 moments, so parameters are the same bit for bit), as long as the remaining terms are cut into
/// the same chunks ([`product_chunked`]). Non-finite activations would turn those products into NaN; a step that
/// sees one has already failed (its loss is not finite).
fn live_columns(g: Mat, rows: usize, cols: usize) -> usize {
    let mut live = 0;
    for r in 0..rows {
        let base = g.off + r * g.rs;
        let mut c = cols;
        while c > live && g.data[base + (c - 1) * g.cs] == 0.0 {
            c -= 1;
        }
        live = live.max(c);
        if live == cols {
            break;
        }
    }
    live
}

/// The kernel family `gemm` runs its f32 products with on this CPU (it picks one at start-up; kernels of different
/// widths round differently). `gemm`'s AVX-512 kernels (its `x86-v4` feature) stay off: they gave about 3% on
/// the default networks (measured) and would make records from AVX-512 and AVX2-only machines differ.
pub fn gemm_kernel() -> &'static str {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if std::arch::is_x86_feature_detected!("fma") {
            "x86-64 fma (AVX2, 256-bit)"
        } else {
            "x86-64 scalar"
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            "aarch64 neon"
        } else {
            "aarch64 scalar"
        }
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar"
    }
}

/// The first CPU's caches as Linux describes them under `/sys/devices/system/cpu/cpu0/cache`, e.g.
/// `L1d 32K 8-way, L1i 32K 8-way, L2 1024K 8-way, L3 32768K 16-way`; `None` where that is not readable.
pub fn cpu_caches() -> Option<String> {
    let dir = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    let caches: Vec<String> = entries
        .iter()
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("index")))
        .filter_map(|p| {
            let read = |f: &str| std::fs::read_to_string(p.join(f)).ok().map(|s| s.trim().to_string());
            let kind = match read("type")?.as_str() {
                "Data" => "d",
                "Instruction" => "i",
                _ => "",
            };
            let ways = read("ways_of_associativity").map_or(String::new(), |w| format!(" {w}-way"));
            Some(format!("L{}{kind} {}{ways}", read("level")?, read("size")?))
        })
        .collect();
    (!caches.is_empty()).then(|| caches.join(", "))
}

/// The f32 values of a CPU storage.
fn f32s<'a>(s: &'a CpuStorage, what: &str) -> Result<&'a [f32]> {
    match s {
        CpuStorage::F32(v) => Ok(v),
        _ => bail!("{what}: expected f32 values"),
    }
}

/// A rank-2 layout as a [`Mat`] over `data`.
fn mat<'a>(data: &'a [f32], l: &Layout, what: &str) -> Result<(Mat<'a>, usize, usize)> {
    let (rows, cols) = l.shape().dims2().map_err(|_| candle_core::Error::Msg(format!("{what}: expected a matrix")))?;
    let st = l.stride();
    Ok((Mat { data, off: l.start_offset(), rs: st[0], cs: st[1] }, rows, cols))
}

/// The checked arguments of an affine op: `x: [rows, inner]`, `w: [inner, out]` and the bias as one slice.
struct AffineArgs<'a> {
    x: Mat<'a>,
    w: Mat<'a>,
    bias: Cow<'a, [f32]>,
    rows: usize,
    inner: usize,
    out: usize,
}

/// Reads and checks the three arguments of an affine op (input, weight, bias): shapes that fit, views inside their
/// storage; a contiguous bias is borrowed as it is.
fn affine_args<'a>(
    (s1, l1): (&'a CpuStorage, &Layout),
    (s2, l2): (&'a CpuStorage, &Layout),
    (s3, l3): (&'a CpuStorage, &Layout),
) -> Result<AffineArgs<'a>> {
    let (x, rows, inner) = mat(f32s(s1, "affine input")?, l1, "affine input")?;
    let (w, w_in, out) = mat(f32s(s2, "affine weight")?, l2, "affine weight")?;
    let b = f32s(s3, "affine bias")?;
    if w_in != inner || l3.dims() != [out] {
        bail!("affine: input {:?}, weight {:?} and bias {:?} do not fit", l1.dims(), l2.dims(), l3.dims())
    }
    x.check(rows, inner)?;
    w.check(inner, out)?;
    let (b_off, b_st) = (l3.start_offset(), l3.stride()[0]);
    if out > 0 && b_off + (out - 1) * b_st >= b.len() {
        bail!("affine: bias view outside its storage")
    }
    let bias = if b_st == 1 || out <= 1 {
        Cow::Borrowed(&b[b_off..b_off + out])
    } else {
        Cow::Owned((0..out).map(|j| b[b_off + j * b_st]).collect())
    };
    Ok(AffineArgs { x, w, bias, rows, inner, out })
}

/// The bias gradient: the column sums of the `rows × out` gradient `g`, added in row order (candle's own sum over
/// dimension 0 adds in this order; a contiguous row as one slice, so that the additions vectorise).
fn bias_grad(g: Mat, rows: usize, out: usize) -> Vec<f32> {
    let mut acc = vec![0f32; out];
    for r in 0..rows {
        let base = g.off + r * g.rs;
        if g.cs == 1 {
            for (a, x) in acc.iter_mut().zip(&g.data[base..base + out]) {
                *a += x;
            }
        } else {
            for (j, a) in acc.iter_mut().enumerate() {
                *a += g.data[base + j * g.cs];
            }
        }
    }
    acc
}

/// `x · w + b` for `x: [rows, in]`, `w: [in, out]`, `b: [out]`; see [`affine`].
struct Affine;

impl candle_core::CustomOp3 for Affine {
    fn name(&self) -> &'static str {
        "driftbench-affine"
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
        let AffineArgs { x, w, bias, rows, inner, out } = affine_args((s1, l1), (s2, l2), (s3, l3))?;
        let mut dst = product(rows, out, inner, x, w)?;
        // The bias is added after the product, as candle's `matmul` then `broadcast_add` round it.
        for row in dst.chunks_exact_mut(out.max(1)) {
            for (v, bj) in row.iter_mut().zip(bias.iter()) {
                *v += bj;
            }
        }
        Ok((CpuStorage::F32(dst), Shape::from((rows, out))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (rows, inner) = x.dims2()?;
        let out = w.dim(1)?;
        let (gs, gl) = grad.storage_and_layout();
        let Storage::Cpu(gs) = &*gs else { bail!("affine backward runs on the CPU only") };
        let (g, _, _) = mat(f32s(gs, "affine gradient")?, gl, "affine gradient")?;
        g.check(rows, out)?;
        // Trailing all-zero gradient columns (outputs the loss never reads) are left out of both products below.
        let live = live_columns(g, rows, out);
        let dev = x.device();
        // d bias: column sums over the rows, in row order (candle's own sum over dimension 0 adds in this order).
        let db = if b.track_op() { Some(Tensor::from_vec(bias_grad(g, rows, out), out, dev)?) } else { None };
        let (xs, xl) = x.storage_and_layout();
        let Storage::Cpu(xs) = &*xs else { bail!("affine backward runs on the CPU only") };
        let (xm, _, _) = mat(f32s(xs, "affine input")?, xl, "affine input")?;
        // d weight = xᵀ · grad, summed over the rows.
        let dw = if w.track_op() {
            let xt = Mat { data: xm.data, off: xm.off, rs: xm.cs, cs: xm.rs };
            let dst = if live == out {
                product(inner, out, rows, xt, g)?
            } else {
                // Each column of the product is its own set of sums: the live ones are computed alone, the others
                // stay zero.
                let mut dst = vec![0f32; inner * out];
                if live > 0 {
                    let part = product(inner, live, rows, xt, g)?;
                    for (row, src) in dst.chunks_exact_mut(out).zip(part.chunks_exact(live)) {
                        row[..live].copy_from_slice(src);
                    }
                }
                dst
            };
            Some(Tensor::from_vec(dst, (inner, out), dev)?)
        } else {
            None
        };
        // d input = grad · wᵀ, only where something upstream needs it (never for a batch of data), stopping
        // after the live columns.
        let dx = if x.track_op() { Some(input_gradient(w, g, rows, live)?) } else { None };
        Ok((dx, dw, db))
    }
}

/// The input gradient `grad · wᵀ` of an affine op with weight `w: [inner, out]`, from the first `terms` columns
/// of `g: [rows, out]` (the others are zeros): the sum over the `out` terms, cut where the whole sum would be cut.
fn input_gradient(w: &Tensor, g: Mat, rows: usize, terms: usize) -> Result<Tensor> {
    let (ws, wl) = w.storage_and_layout();
    let Storage::Cpu(ws) = &*ws else { bail!("affine backward runs on the CPU only") };
    let (wm, inner, out) = mat(f32s(ws, "affine weight")?, wl, "affine weight")?;
    let wt = Mat { data: wm.data, off: wm.off, rs: wm.cs, cs: wm.rs };
    let dst = product_chunked(rows, inner, terms, g, wt, chunk_len(out))?;
    Tensor::from_vec(dst, (rows, inner), w.device())
}

/// `x · w + b` for `x: [rows, in]`, `w: [in, out]`, `b: [out]` as one op: the same values as candle's
/// `x.matmul(w)?.broadcast_add(b)` for sums of up to [`MAX_REDUCTION`] terms, with a backward pass that writes
/// the bias gradient directly and computes the input gradient only when `x` needs one.
pub fn affine(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() {
        return x.matmul(w)?.broadcast_add(b);
    }
    x.apply_op3(w, b, Affine)
}

/// Eigen's rational approximation of tanh on [-7.9, 7.9] (numerator odd, degree 13; denominator even, degree 6);
/// branch-free, so the compiler vectorises it. Within 5e-7 of the exact value (at most 4e-7 measured).
#[inline(always)]
fn tanh_f32(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const A1: f32 = 4.893_524_6e-3;
    const A3: f32 = 6.372_619_3e-4;
    const A5: f32 = 1.485_722_4e-5;
    const A7: f32 = 5.122_297e-8;
    const A9: f32 = -8.604_672e-11;
    const A11: f32 = 2.000_188e-13;
    const A13: f32 = -2.760_768_5e-16;
    const B0: f32 = 4.893_525e-3;
    const B2: f32 = 2.268_434_7e-3;
    const B4: f32 = 1.185_347_1e-4;
    const B6: f32 = 1.198_258_4e-6;
    let small = x.abs() < 4e-4;
    let c = x.clamp(-CLAMP, CLAMP);
    let x2 = c * c;
    let p = ((((((A13 * x2 + A11) * x2 + A9) * x2 + A7) * x2 + A5) * x2 + A3) * x2 + A1) * c;
    let q = ((B6 * x2 + B4) * x2 + B2) * x2 + B0;
    if small {
        x
    } else {
        p / q
    }
}

/// Element-wise tanh over a slice (vectorised by the compiler).
fn tanh_slice(src: &[f32], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = tanh_f32(*s);
    }
}

/// The vectorised tanh op; see [`tanh`].
struct Tanh;

impl candle_core::CustomOp1 for Tanh {
    fn name(&self) -> &'static str {
        "driftbench-tanh"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let v = f32s(s, "tanh")?;
        let out = match l.contiguous_offsets() {
            Some((a, b)) => {
                let mut dst = vec![0f32; b - a];
                tanh_slice(&v[a..b], &mut dst);
                dst
            }
            None => bail!("tanh: input not contiguous"),
        };
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        // d tanh = 1 - tanh², rounded as candle's own tanh backward rounds it.
        let y = res.flatten_all()?.to_vec1::<f32>()?;
        let g = grad.flatten_all()?.to_vec1::<f32>()?;
        let d: Vec<f32> = y.iter().zip(&g).map(|(y, g)| g * (1.0 - y * y)).collect();
        Ok(Some(Tensor::from_vec(d, res.shape(), res.device())?))
    }
}

/// Element-wise tanh: a vectorised rational approximation for f32 on the CPU (candle calls the scalar `tanhf`
/// per element), candle's own op otherwise.
pub fn tanh(x: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() || x.dtype() != candle_core::DType::F32 {
        return x.tanh();
    }
    x.contiguous()?.apply_op1(Tanh)
}

/// One AdamW step's constants, as f32 values rounded the way candle-nn's tensor ops round them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamConsts {
    pub beta1: f32,
    pub one_minus_beta1: f32,
    pub beta2: f32,
    pub one_minus_beta2: f32,
    pub scale_m: f32,
    pub scale_v: f32,
    pub decay: f32,
    pub eps: f32,
    pub lr: f32,
}

runtime_features! {
    /// One AdamW update over a variable's values, its gradient and its two moments, in one pass; bit for bit what
    /// candle-nn's `AdamW::step` computes with ten tensor ops. On eight lanes where the CPU has AVX: every
    /// operation is an IEEE one (no fused multiply-add), so the values are the same at any width.
    pub(crate) fn adamw_update(theta: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], c: AdamConsts)
        => adamw_update_impl, "avx", ["avx"]
}

#[inline(always)]
fn adamw_update_impl(theta: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], c: AdamConsts) {
    for (((t, g), m), v) in theta.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let next_m = (*m * c.beta1 + 0.0) + (g * c.one_minus_beta1 + 0.0);
        let next_v = (*v * c.beta2 + 0.0) + ((g * g) * c.one_minus_beta2 + 0.0);
        let m_hat = next_m * c.scale_m + 0.0;
        let v_hat = next_v * c.scale_v + 0.0;
        let decayed = *t * c.decay + 0.0;
        let adjusted = m_hat / (v_hat.sqrt() * 1.0 + c.eps);
        *t = decayed - (adjusted * c.lr + 0.0);
        *m = next_m;
        *v = next_v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn ramp(n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * scale).collect()
    }

    #[test]
    fn tanh_is_within_5e7_of_exact() {
        let mut worst = 0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 5e-5;
            worst = worst.max((tanh_f32(x) as f64 - (x as f64).tanh()).abs());
        }
        for x in [-100f32, -9.0, 9.0, 1e4, f32::MAX] {
            worst = worst.max((tanh_f32(x) as f64 - (x as f64).tanh()).abs());
        }
        assert!(worst < 5e-7, "{worst}");
    }

    /// The fused op against candle's own `matmul` + `broadcast_add`, for sums within [`MAX_REDUCTION`] terms:
    /// the same values and gradients, bit for bit.
    #[test]
    fn affine_matches_candle_bit_for_bit() {
        let dev = &Device::Cpu;
        for (rows, inner, out) in [(1, 3, 4), (7, 33, 5), (64, 96, 200), (300, 512, 17)] {
            let x = Var::from_vec(ramp(rows * inner, 2.0), (rows, inner), dev).unwrap();
            let w = Var::from_vec(ramp(inner * out, 0.3), (inner, out), dev).unwrap();
            let b = Var::from_vec(ramp(out, 1.0), out, dev).unwrap();
            let target = Tensor::from_vec(ramp(rows * out, 3.0), (rows, out), dev).unwrap();
            let run = |fused: bool| {
                let y = if fused {
                    affine(x.as_tensor(), w.as_tensor(), b.as_tensor()).unwrap()
                } else {
                    x.as_tensor().matmul(w.as_tensor()).unwrap().broadcast_add(b.as_tensor()).unwrap()
                };
                let loss = (y.clone() * &target).unwrap().sqr().unwrap().sum_all().unwrap();
                let g = loss.backward().unwrap();
                let bits = |t: &Tensor| -> Vec<u32> {
                    t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|v| v.to_bits()).collect()
                };
                [
                    bits(&y),
                    bits(g.get(x.as_tensor()).unwrap()),
                    bits(g.get(w.as_tensor()).unwrap()),
                    bits(g.get(b.as_tensor()).unwrap()),
                ]
            };
            assert_eq!(run(true), run(false), "shape {rows}x{inner}x{out}");
        }
    }

    /// Outputs a loss narrows away give all-zero gradient columns, which the backward pass leaves out: the same
    /// gradients as candle's `matmul` + `broadcast_add` + `narrow`, bit for bit.
    #[test]
    fn narrowed_outputs_give_the_same_gradients() {
        let dev = &Device::Cpu;
        for (rows, inner, out, keep) in [(64, 96, 200, 120), (9, 40, 512, 1), (5, 7, 16, 15)] {
            let x = Var::from_vec(ramp(rows * inner, 2.0), (rows, inner), dev).unwrap();
            let w = Var::from_vec(ramp(inner * out, 0.3), (inner, out), dev).unwrap();
            let b = Var::from_vec(ramp(out, 1.0), out, dev).unwrap();
            let target = Tensor::from_vec(ramp(rows * keep, 3.0), (rows, keep), dev).unwrap();
            let run = |fused: bool| {
                let y = if fused {
                    affine(x.as_tensor(), w.as_tensor(), b.as_tensor()).unwrap()
                } else {
                    x.as_tensor().matmul(w.as_tensor()).unwrap().broadcast_add(b.as_tensor()).unwrap()
                };
                let loss = (y.narrow(1, 0, keep).unwrap() * &target).unwrap().sqr().unwrap().sum_all().unwrap();
                let g = loss.backward().unwrap();
                let bits = |t: &Tensor| -> Vec<u32> {
                    t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|v| v.to_bits()).collect()
                };
                [
                    bits(g.get(x.as_tensor()).unwrap()),
                    bits(g.get(w.as_tensor()).unwrap()),
                    bits(g.get(b.as_tensor()).unwrap()),
                ]
            };
            assert_eq!(run(true), run(false), "shape {rows}x{inner}x{out}, first {keep} outputs read");
        }
        // Rows whose gradient is zero beyond different columns: the last non-zero column of any row counts.
        let g = [0f32, 1., 0., 0., 2., 0., 0., 0., 0., -0., 0., 0.];
        assert_eq!(live_columns(Mat { data: &g, off: 0, rs: 4, cs: 1 }, 3, 4), 2);
        assert_eq!(live_columns(Mat { data: &g[8..], off: 0, rs: 4, cs: 1 }, 1, 4), 0);
    }

    /// A sum whose trailing terms are zero, stopped before them but cut where the whole sum is cut, has the
    /// whole sum's value, also beyond [`MAX_REDUCTION`] terms.
    #[test]
    fn a_sum_stopped_before_zero_terms_keeps_its_value() {
        let (m, k, live, n) = (3, 1300, 900, 70);
        let mut a = ramp(m * k, 1.0);
        for row in a.chunks_exact_mut(k) {
            row[live..].fill(0.0);
        }
        let b = ramp(k * n, 1.0);
        let am = Mat { data: &a, off: 0, rs: k, cs: 1 };
        let bm = Mat { data: &b, off: 0, rs: n, cs: 1 };
        let whole = product(m, n, k, am, bm).unwrap();
        let stopped = product_chunked(m, n, live, am, bm, chunk_len(k)).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&stopped), bits(&whole));
        // Cut into different chunks, the same terms round differently: the test can tell.
        let recut = product(m, n, live, am, bm).unwrap();
        assert_ne!(bits(&recut), bits(&whole));
    }

    /// Sums longer than [`MAX_REDUCTION`] are split into equal chunks added in order, whatever `gemm` would pick.
    #[test]
    fn long_sums_are_chunked_in_a_fixed_order() {
        let (m, k, n) = (3, 1300, 70);
        let a = ramp(m * k, 1.0);
        let b = ramp(k * n, 1.0);
        let am = Mat { data: &a, off: 0, rs: k, cs: 1 };
        let bm = Mat { data: &b, off: 0, rs: n, cs: 1 };
        let got = product(m, n, k, am, bm).unwrap();
        // Three chunks of 434, 434 and 432 terms, each a sum of at most 512 terms, added in order.
        assert_eq!(chunk_len(k), 434);
        let mut want = vec![0f32; m * n];
        for (start, len) in [(0, 434), (434, 434), (868, 432)] {
            let ac = Mat { data: &a, off: start, rs: k, cs: 1 };
            let bc = Mat { data: &b, off: start * n, rs: n, cs: 1 };
            let part = product(m, n, len, ac, bc).unwrap();
            for (w, p) in want.iter_mut().zip(&part) {
                *w += p;
            }
        }
        assert_eq!(got, want);
    }

    #[test]
    fn cpu_facts_are_described() {
        assert!(!gemm_kernel().is_empty());
        if let Some(c) = cpu_caches() {
            assert!(c.contains("L1"), "{c}");
        }
    }

    #[test]
    fn input_gradient_is_skipped_for_data() {
        let dev = &Device::Cpu;
        let x = Tensor::from_vec(ramp(6, 1.0), (2, 3), dev).unwrap();
        let w = Var::from_vec(ramp(12, 1.0), (3, 4), dev).unwrap();
        let b = Var::from_vec(ramp(4, 1.0), 4, dev).unwrap();
        let g = affine(&x, w.as_tensor(), b.as_tensor()).unwrap().sum_all().unwrap().backward().unwrap();
        assert!(g.get(&x).is_none());
        assert!(g.get(w.as_tensor()).is_some() && g.get(b.as_tensor()).is_some());
    }
}
