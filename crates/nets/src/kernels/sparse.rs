//! The affine op for a mostly-zero input ([`sparse_affine`]): the work follows the non-zero inputs.
use super::{affine_args, bias_grad, chunk_len, f32s, input_gradient, mat, AffineArgs, Mat};
use candle_core::{bail, CpuStorage, Layout, Result, Shape, Storage, Tensor};
use std::borrow::Cow;

/// `x · w + b` for a mostly-zero `x` (one-hot or binary features, as a policy's observations): each output row
/// adds the weight rows of the row's non-zero inputs, in input order, then the bias. The work is proportional to
/// the non-zero inputs instead of all of them (an observation of the navigation task is about 15% ones). The sums
/// run in a fixed order with separate multiplies and adds, so the values are the same on every x86-64 CPU (they
/// differ in the last bits from the dense product, whose blocking orders the sum differently).
#[derive(Default)]
struct SparseAffine {
    /// The forward pass's non-zero inputs (kept for the backward pass, which needs them by column).
    kept: std::sync::Mutex<Option<NonZeros>>,
}

/// The non-zero entries of a `rows × inner` matrix, row by row: row r's entries are
/// `index[start[r]..start[r + 1]]` (column) with `value[..]`, in column order.
#[derive(Debug, Clone, Default, PartialEq)]
struct NonZeros {
    rows: usize,
    inner: usize,
    start: Vec<usize>,
    index: Vec<u32>,
    value: Vec<f32>,
}

impl NonZeros {
    /// The non-zero entries of row-major `x` (`inner` columns), found without a branch per entry.
    fn of(x: &[f32], inner: usize) -> NonZeros {
        let rows = x.len().checked_div(inner).unwrap_or(0);
        // A large input (a whole validation set) is counted first, so that the lists take the non-zeros' room
        // (plus the one slot written past the last); a training batch takes the input's room instead of a pass.
        let total =
            if x.len() > 1 << 20 { x[..rows * inner].iter().filter(|&&v| v != 0.0).count() + 1 } else { x.len() };
        let mut nz = NonZeros {
            rows,
            inner,
            start: Vec::with_capacity(rows + 1),
            index: vec![0; total],
            value: vec![0.0; total],
        };
        let mut n = 0;
        nz.start.push(0);
        for xr in x.chunks_exact(inner.max(1)) {
            for (j, &v) in xr.iter().enumerate() {
                // Written always, kept only when non-zero.
                nz.index[n] = j as u32;
                nz.value[n] = v;
                n += usize::from(v != 0.0);
            }
            nz.start.push(n);
        }
        nz.index.truncate(n);
        nz.value.truncate(n);
        nz
    }

    /// The same entries column by column (rows in order within a column): the transpose's non-zeros.
    fn transposed(&self) -> NonZeros {
        let mut count = vec![0usize; self.inner + 1];
        for &j in &self.index {
            count[j as usize + 1] += 1;
        }
        for j in 0..self.inner {
            count[j + 1] += count[j];
        }
        let start = count.clone();
        let (mut index, mut value) = (vec![0u32; self.index.len()], vec![0f32; self.value.len()]);
        for r in 0..self.rows {
            for k in self.start[r]..self.start[r + 1] {
                let j = self.index[k] as usize;
                index[count[j]] = r as u32;
                value[count[j]] = self.value[k];
                count[j] += 1;
            }
        }
        NonZeros { rows: self.inner, inner: self.rows, start, index, value }
    }

    /// Row r's entries as (offset of the matching row of a matrix `width` wide, value).
    fn terms(&self, r: usize, width: usize, out: &mut Vec<(usize, f32)>) {
        out.clear();
        let (a, b) = (self.start[r], self.start[r + 1]);
        out.extend(self.index[a..b].iter().zip(&self.value[a..b]).map(|(&j, &v)| (j as usize * width, v)));
    }
}

runtime_features! {
    /// `dst[..] += v · src[..]` (AVX2 where the CPU has it; no FMA, so the rounding is the same either way).
    fn axpy(dst: &mut [f32], v: f32, src: &[f32]) => axpy_plain, "avx2", ["avx2"]
}

#[inline(always)]
fn axpy_plain(dst: &mut [f32], v: f32, src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += v * s;
    }
}

/// Outputs summed in registers, [`BLOCK`] at a time.
const BLOCK: usize = 64;

runtime_features! {
    /// `dst[k] = Σ_i v_i · src[o_i + k]` over the `(o_i, v_i)` of `terms`, in their order, for every k (each sum
    /// starts at +0 and adds its products one by one, with separate multiplies and adds). The sums of [`BLOCK`]
    /// outputs stay in registers while the terms stream past (AVX2 where the CPU has it, the same values either
    /// way).
    fn sparse_sums(dst: &mut [f32], terms: &[(usize, f32)], src: &[f32]) => sparse_sums_plain, "avx2", ["avx2"]
}

#[inline(always)]
fn sparse_sums_plain(dst: &mut [f32], terms: &[(usize, f32)], src: &[f32]) {
    let mut start = 0;
    for block in dst.chunks_mut(BLOCK) {
        if let Ok(block) = <&mut [f32; BLOCK]>::try_from(&mut *block) {
            let mut acc = [0f32; BLOCK];
            for &(o, v) in terms {
                let s: &[f32; BLOCK] = src[o + start..o + start + BLOCK].try_into().expect("a block of the source");
                for k in 0..BLOCK {
                    acc[k] += v * s[k];
                }
            }
            *block = acc;
        } else {
            block.fill(0.0);
            for &(o, v) in terms {
                axpy_plain(block, v, &src[o + start..o + start + block.len()]);
            }
        }
        start += BLOCK;
    }
}

/// [`sparse_sums`] with the sum cut where the dense product cuts it ([`product`]: chunks of `chunk` terms by
/// their index `o / width`, each summed from zero and added in order), so that for exact products (0/1 inputs)
/// the values are the dense op's bit for bit.
fn sparse_sums_chunked(
    dst: &mut [f32],
    terms: &[(usize, f32)],
    src: &[f32],
    (width, chunk): (usize, usize),
    part: &mut Vec<f32>,
) {
    let piece = |t: &(usize, f32)| t.0 / width.max(1) / chunk.max(1);
    let first = terms.iter().position(|t| piece(t) != piece(&terms[0])).unwrap_or(terms.len());
    sparse_sums(dst, &terms[..first], src);
    let mut rest = &terms[first..];
    while let Some(t0) = rest.first() {
        let n = rest.iter().position(|t| piece(t) != piece(t0)).unwrap_or(rest.len());
        part.resize(dst.len(), 0.0);
        sparse_sums(part, &rest[..n], src);
        axpy(dst, 1.0, part);
        rest = &rest[n..];
    }
}

/// A contiguous row-major copy of a matrix view (the view itself when it already is one).
fn rows_of<'a>(m: Mat<'a>, rows: usize, cols: usize) -> Cow<'a, [f32]> {
    if m.cs == 1 && (m.rs == cols || rows <= 1) {
        Cow::Borrowed(&m.data[m.off..m.off + rows * cols])
    } else {
        let mut out = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            out.extend((0..cols).map(|c| m.data[m.off + r * m.rs + c * m.cs]));
        }
        Cow::Owned(out)
    }
}

impl candle_core::CustomOp3 for SparseAffine {
    fn name(&self) -> &'static str {
        "driftbench-sparse-affine"
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
        let (x, w) = (rows_of(x, rows, inner), rows_of(w, inner, out));
        let mut dst = vec![0f32; rows * out];
        let nz = NonZeros::of(&x, inner);
        if out > 0 {
            let (mut terms, mut part) = (Vec::with_capacity(inner), Vec::new());
            for (r, row) in dst.chunks_exact_mut(out).enumerate() {
                nz.terms(r, out, &mut terms);
                sparse_sums_chunked(row, &terms, &w, (out, chunk_len(inner)), &mut part);
                axpy(row, 1.0, &bias);
            }
        }
        *self.kept.lock().map_err(|_| candle_core::Error::Msg("sparse affine: poisoned".into()))? = Some(nz);
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
        let dev = x.device();
        let (gs, gl) = grad.storage_and_layout();
        let Storage::Cpu(gs) = &*gs else { bail!("affine backward runs on the CPU only") };
        let (g, _, _) = mat(f32s(gs, "affine gradient")?, gl, "affine gradient")?;
        g.check(rows, out)?;
        let g = rows_of(g, rows, out);
        let db = if b.track_op() {
            Some(Tensor::from_vec(bias_grad(Mat { data: &g, off: 0, rs: out, cs: 1 }, rows, out), out, dev)?)
        } else {
            None
        };
        // d weight = xᵀ · grad: weight row j sums the gradient rows of the inputs where column j is non-zero, in
        // row order.
        let dw = if w.track_op() {
            let kept = self.kept.lock().map_err(|_| candle_core::Error::Msg("sparse affine: poisoned".into()))?;
            let Some(nz) = kept.as_ref().filter(|nz| (nz.rows, nz.inner) == (rows, inner)) else {
                bail!("sparse affine: backward pass without its forward pass")
            };
            let cols = nz.transposed();
            let mut dst = vec![0f32; inner * out];
            if out > 0 {
                let (mut terms, mut part) = (Vec::with_capacity(rows), Vec::new());
                for (j, row) in dst.chunks_exact_mut(out).enumerate() {
                    cols.terms(j, out, &mut terms);
                    sparse_sums_chunked(row, &terms, &g, (out, chunk_len(rows)), &mut part);
                }
            }
            Some(Tensor::from_vec(dst, (inner, out), dev)?)
        } else {
            None
        };
        // d input = grad · wᵀ, only where something upstream needs it (never for a batch of observations).
        let dx = if x.track_op() {
            Some(input_gradient(w, Mat { data: &g, off: 0, rs: out, cs: 1 }, rows, out)?)
        } else {
            None
        };
        Ok((dx, dw, db))
    }
}

/// [`affine`] for a mostly-zero input (see [`SparseAffine`]): work in proportion to the non-zero inputs.
pub fn sparse_affine(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() {
        return x.matmul(w)?.broadcast_add(b);
    }
    x.apply_op3(w, b, SparseAffine::default())
}

#[cfg(test)]
mod tests {
    use super::super::{affine, MAX_REDUCTION};
    use super::*;
    use candle_core::{Device, Var};

    fn ramp(n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * scale).collect()
    }

    /// The sparse affine op gives the dense op's values and gradients: bit for bit for 0/1 inputs (each product
    /// is exact and both add the terms in input order), within rounding for other values; for inputs with empty
    /// rows, a strided view, outputs that are not a multiple of the register block, and an input that needs its
    /// own gradient.
    #[test]
    fn sparse_affine_matches_the_dense_op() {
        let dev = &Device::Cpu;
        let (rows, inner, out) = (9, 37, 2 * BLOCK + 13);
        // Sums of more than MAX_REDUCTION terms, over the rows (weight gradient) and over the inputs (forward).
        // The last one is large enough (over 2^20 inputs) that its non-zeros are counted before they are listed.
        for (rows, inner) in [(2 * MAX_REDUCTION + 37, 5), (3, MAX_REDUCTION + 200), (1100, 1000)] {
            let x: Vec<f32> = (0..rows * inner).map(|k| if (k * 7919) % 13 < 4 { 1.0 } else { 0.0 }).collect();
            let x = Tensor::from_vec(x, (rows, inner), dev).unwrap();
            let w = Var::from_vec(ramp(inner * 7, 0.3), (inner, 7), dev).unwrap();
            let b = Var::from_vec(ramp(7, 0.1), 7, dev).unwrap();
            let run = |f: fn(&Tensor, &Tensor, &Tensor) -> Result<Tensor>| {
                let y = f(&x, w.as_tensor(), b.as_tensor()).unwrap();
                let weights = Tensor::from_vec(ramp(rows * 7, 0.7), (rows, 7), dev).unwrap();
                let g = (&y * weights).unwrap().sum_all().unwrap().backward().unwrap();
                let bits = |t: &Tensor| {
                    t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                };
                (bits(&y), bits(g.get(w.as_tensor()).unwrap()))
            };
            assert_eq!(run(sparse_affine), run(affine), "{rows} x {inner}");
        }
        let pattern = |k: usize| if (k * 7919) % 13 < 2 { 1.0f32 } else { 0.0 };
        let mut xv: Vec<f32> = (0..rows * inner).map(pattern).collect();
        for v in &mut xv[2 * inner..3 * inner] {
            *v = 0.0;
        }
        let w = Var::from_vec(ramp(inner * out, 0.3), (inner, out), dev).unwrap();
        let b = Var::from_vec(ramp(out, 0.1), out, dev).unwrap();
        let run = |x: &Tensor, sparse: bool| {
            let f = if sparse { sparse_affine } else { affine };
            let y = f(x, w.as_tensor(), b.as_tensor()).unwrap();
            let weights = Tensor::from_vec(ramp(rows * out, 0.7), (rows, out), dev).unwrap();
            let g = (&y * weights).unwrap().sum_all().unwrap().backward().unwrap();
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let dx = g.get(x).map(flat);
            (flat(&y), flat(g.get(w.as_tensor()).unwrap()), flat(g.get(b.as_tensor()).unwrap()), dx)
        };
        // 0/1 inputs: the same bits.
        let x = Tensor::from_vec(xv.clone(), (rows, inner), dev).unwrap();
        assert_eq!(run(&x, true), run(&x, false));
        // Other values, a strided view and an input with a gradient: the same values within rounding.
        for (k, v) in xv.iter_mut().enumerate() {
            *v *= 0.37 + (k % 5) as f32;
        }
        let wide = Tensor::from_vec(xv.repeat(2), (rows, 2 * inner), dev).unwrap();
        let strided = wide.narrow(1, 0, inner).unwrap();
        let tracked = Var::from_vec(xv.clone(), (rows, inner), dev).unwrap();
        for x in [strided, tracked.as_tensor().clone()] {
            let (a, b) = (run(&x, true), run(&x, false));
            let close = |p: &[f32], q: &[f32]| {
                assert_eq!(p.len(), q.len());
                for (u, v) in p.iter().zip(q) {
                    assert!((u - v).abs() <= 1e-4 * (1.0 + v.abs()), "{u} vs {v}");
                }
            };
            close(&a.0, &b.0);
            close(&a.1, &b.1);
            close(&a.2, &b.2);
            assert_eq!(a.3.is_some(), b.3.is_some());
            if let (Some(p), Some(q)) = (&a.3, &b.3) {
                close(p, q);
            }
        }
    }

    #[test]
    fn non_zeros_and_their_transpose_list_every_entry_in_order() {
        let x = [0.0f32, 2.0, 0.0, -1.0, 0.0, 0.0, 3.0, 0.0, f32::NAN];
        let nz = NonZeros::of(&x, 3);
        assert_eq!((nz.start.clone(), nz.index.clone()), (vec![0, 1, 2, 4], vec![1, 0, 0, 2]));
        let t = nz.transposed();
        assert_eq!((t.start.clone(), t.index.clone()), (vec![0, 2, 3, 4], vec![1, 2, 0, 2]));
        assert_eq!(t.value[..3], [-1.0, 3.0, 2.0]);
        assert!(t.value[3].is_nan());
    }
}
