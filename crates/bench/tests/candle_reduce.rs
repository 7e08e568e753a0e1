//! The patched sum over dims that are not the last (`vendor/candle-core/src/cpu_backend/mod.rs`, `ReduceSum`):
//! the same values as candle-core's own loop.
/// The patched sum over dims that are not the last (`ReduceSum` in `vendor/candle-core/src/cpu_backend/mod.rs`)
/// adds each destination element's sources in increasing index from zero, as the stock loop does: checked bit for
/// bit against that order written out, for a leading run, a middle run and non-adjacent dims (the stock path).
#[test]
fn sums_over_leading_and_middle_dims_add_in_index_order() {
    use driftbench_nets::candle::{Device, Tensor};
    let (a, b, c) = (7usize, 33usize, 5usize);
    // Magnitudes from 1e-3 to 1e3 and both signs, so that another order of additions would round otherwise.
    let x: Vec<f32> = (0..a * b * c)
        .map(|i| {
            let h = (i as u64).wrapping_mul(2_654_435_761) % 10_007;
            (h as f32 / 10_007.0 - 0.4) * 10f32.powi((h % 7) as i32 - 3)
        })
        .collect();
    let t = Tensor::from_vec(x.clone(), (a, b, c), &Device::Cpu).unwrap();
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    let reference = |keep: &dyn Fn(usize, usize, usize) -> usize, n: usize| {
        let mut dst = vec![0f32; n];
        for i in 0..a {
            for j in 0..b {
                for k in 0..c {
                    dst[keep(i, j, k)] += x[(i * b + j) * c + k];
                }
            }
        }
        bits(dst)
    };
    let flat = |t: Tensor| bits(t.flatten_all().unwrap().to_vec1::<f32>().unwrap());
    assert_eq!(flat(t.sum_keepdim(0).unwrap()), reference(&|_, j, k| j * c + k, b * c), "over dim 0");
    assert_eq!(flat(t.sum_keepdim((0, 1)).unwrap()), reference(&|_, _, k| k, c), "over dims 0 and 1");
    assert_eq!(flat(t.sum_keepdim(1).unwrap()), reference(&|i, _, k| i * c + k, a * c), "over dim 1");
    assert_eq!(flat(t.sum_keepdim((0, 2)).unwrap()), reference(&|_, j, _| j, b), "over dims 0 and 2");
}
