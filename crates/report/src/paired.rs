//! Paired statistics for two sides judged on the same test instances: exact sign-flip (McNemar) tests clustered by
//! instance, the paired difference's interval and a minimum detectable effect.
//!
//! Both sides of a comparison answer the *same* canonical instances, and one side's seeds are several judgements
//! of those instances, not more instances. So the unit of the test is the instance: for instance `i`, with `a_i`
//! of A's `k_a` seeds and `b_i` of B's `k_b` seeds succeeding, `d_i = k_a·b_i − k_b·a_i` (an integer, `k_a·k_b`
//! times the difference of the per-instance success rates). Under the null hypothesis that A and B are
//! exchangeable on every instance, each `d_i` is as likely to be `+|d_i|` as `−|d_i|`, independently across
//! instances; the exact distribution of `Σ d_i` under those sign flips gives the p-value. With one seed a side,
//! `d_i ∈ {−1, 0, 1}` and this is McNemar's exact test on the discordant pairs.
use driftbench_core::outcomes::Bits;
use driftbench_core::stats::{normal_quantile, t_quantile};
use std::collections::BTreeMap;

/// Two-sided exact p-value of the sign-flip test on integer per-instance differences: the probability, under
/// independent random signs, of a sum at least as far from 0 as the observed one. 1 when every difference is 0.
pub fn sign_flip_p(d: &[i64]) -> f64 {
    let mut classes: BTreeMap<u64, u64> = BTreeMap::new();
    for x in d.iter().filter(|x| **x != 0) {
        *classes.entry(x.unsigned_abs()).or_default() += 1;
    }
    if classes.is_empty() {
        return 1.0;
    }
    // Work in units of the magnitudes' common divisor so that the support is as short as it can be.
    let g = classes.keys().fold(0u64, |g, &v| gcd(g, v));
    let observed = d.iter().sum::<i64>().unsigned_abs() / g;
    let total: u64 = classes.iter().map(|(v, m)| v / g * m).sum();
    let width = usize::try_from(2 * total + 1).unwrap_or(usize::MAX);
    let centre = total as usize;
    // dist[centre + s] = P(sum = s) over the classes folded in so far; `span` bounds the non-zero entries.
    let mut dist = vec![0.0f64; width];
    dist[centre] = 1.0;
    let mut span = 0usize;
    for (&v, &m) in &classes {
        let step = (v / g) as usize;
        let pmf = binomial_half(m);
        let mut next = vec![0.0f64; width];
        for (s, &p) in dist.iter().enumerate().take(centre + span + 1).skip(centre - span) {
            if p == 0.0 {
                continue;
            }
            // k of the m instances of this class count positive: sum moves by step·(2k − m).
            for (k, q) in pmf.iter().enumerate() {
                let at = s + 2 * k * step - m as usize * step;
                next[at] += p * q;
            }
        }
        dist = next;
        span += step * m as usize;
    }
    let p: f64 = dist.iter().enumerate().filter(|(s, _)| s.abs_diff(centre) as u64 >= observed).map(|(_, p)| p).sum();
    p.min(1.0)
}

/// McNemar's exact two-sided p for `a_only` instances that only A solved and `b_only` that only B solved.
pub fn mcnemar_exact(a_only: u64, b_only: u64) -> f64 {
    let d: Vec<i64> = std::iter::repeat_n(-1, a_only as usize).chain(std::iter::repeat_n(1, b_only as usize)).collect();
    sign_flip_p(&d)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Probabilities of 0..=m heads in m fair coin flips. Up to 1,000 flips by the recurrence from the exact 2⁻ᵐ
/// (relative error about k ulps); beyond, in logs, where the far tails underflow to 0.
fn binomial_half(m: u64) -> Vec<f64> {
    let mut out = Vec::with_capacity(m as usize + 1);
    if m <= 1000 {
        let mut p = 0.5f64.powi(m as i32);
        for k in 0..=m {
            out.push(p);
            p = p * (m - k) as f64 / (k + 1) as f64;
        }
        return out;
    }
    let mut ln_c = 0.0f64;
    let ln_half_m = -(m as f64) * std::f64::consts::LN_2;
    for k in 0..=m {
        out.push((ln_c + ln_half_m).exp());
        if k < m {
            ln_c += ((m - k) as f64).ln() - ((k + 1) as f64).ln();
        }
    }
    out
}

/// The paired comparison of one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedCell {
    /// Instances in the cell.
    pub n: usize,
    /// B − A success rate (each side's mean over its seeds).
    pub diff: f64,
    /// 95% t-interval of `diff` over instances (exact t quantile, n − 1 degrees of freedom).
    pub interval: (f64, f64),
    /// Exact sign-flip p, clustered by instance.
    pub p: f64,
    /// Instances A did better on (higher success rate over its seeds than B's).
    pub a_better: u64,
    /// Instances B did better on.
    pub b_better: u64,
    /// Per seed run on both sides: (seed, A-only, B-only, McNemar's exact p).
    pub per_seed: Vec<(u64, u64, u64, f64)>,
    /// Smallest |B − A| this cell would detect with 80% power at the comparison's α (two-sided, unadjusted).
    pub mde: f64,
}

/// Compares one cell instance by instance. `a` and `b` hold each side's (seed, outcomes) with the same length;
/// `None` when they do not.
pub fn paired_cell(a: &[(u64, Bits)], b: &[(u64, Bits)], alpha: f64) -> Option<PairedCell> {
    let n = a.first()?.1.len();
    if n == 0 || b.is_empty() || a.iter().chain(b).any(|(_, bits)| bits.len() != n) {
        return None;
    }
    let (ka, kb) = (a.len() as i64, b.len() as i64);
    let count = |side: &[(u64, Bits)], i: usize| side.iter().filter(|(_, bits)| bits.get(i)).count() as i64;
    let d: Vec<i64> = (0..n).map(|i| ka * count(b, i) - kb * count(a, i)).collect();
    // Per-instance difference of success rates, for the estimate and its interval.
    let delta: Vec<f64> = d.iter().map(|&x| x as f64 / (ka * kb) as f64).collect();
    let nf = n as f64;
    let diff = delta.iter().sum::<f64>() / nf;
    let sd = if n > 1 { (delta.iter().map(|x| (x - diff).powi(2)).sum::<f64>() / (nf - 1.0)).sqrt() } else { 0.0 };
    let se = sd / nf.sqrt();
    let half = if n > 1 { t_quantile(0.975, n - 1) * se } else { f64::INFINITY };
    let per_seed = a
        .iter()
        .filter_map(|(seed, bits_a)| {
            let bits_b = &b.iter().find(|(s, _)| s == seed)?.1;
            let both = bits_a.count_and(bits_b);
            let (a_only, b_only) = (bits_a.count_ones() - both, bits_b.count_ones() - both);
            Some((*seed, a_only, b_only, mcnemar_exact(a_only, b_only)))
        })
        .collect();
    Some(PairedCell {
        n,
        diff,
        interval: ((diff - half).max(-1.0), (diff + half).min(1.0)),
        p: sign_flip_p(&d),
        a_better: d.iter().filter(|x| **x < 0).count() as u64,
        b_better: d.iter().filter(|x| **x > 0).count() as u64,
        per_seed,
        mde: mde(se, n, alpha),
    })
}

/// Minimum detectable effect for a standard error `se` of the difference over `n` instances: (z₁₋α/₂ + z₀.₈)·se,
/// but never below the smallest difference the exact test can flag at all (m instances flipping one way, for the
/// least m with 2·2⁻ᵐ ≤ α), which is what bounds it when the sides hardly disagree.
pub fn mde(se: f64, n: usize, alpha: f64) -> f64 {
    let z = normal_quantile(1.0 - alpha / 2.0) + normal_quantile(0.8);
    let m = (2.0 / alpha).log2().ceil().max(1.0);
    (z * se).max(m / n.max(1) as f64).min(1.0)
}

/// Minimum detectable effect of the unpaired two-proportion test at pooled rate `p` with `n_a` and `n_b`
/// instances: (z₁₋α/₂ + z₀.₈)·√(p(1−p)(1/n_a + 1/n_b)), with the same floor as [`mde`] at the smaller side.
pub fn mde_unpaired(p: f64, n_a: u64, n_b: u64, alpha: f64) -> f64 {
    let se = (p * (1.0 - p) * (1.0 / n_a.max(1) as f64 + 1.0 / n_b.max(1) as f64)).sqrt();
    mde(se, n_a.min(n_b) as usize, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-computed references: McNemar's exact p is min(1, 2·Σ_{k ≤ min(b,c)} C(b+c, k) / 2^(b+c)).
    #[test]
    fn mcnemar_matches_hand_computed_values() {
        let cases = [
            (5, 0, 0.0625),                  // 2 / 32: the 5-of-1,000 against 0-of-1,000 case
            (0, 5, 0.0625),                  // symmetric
            (1, 9, 0.021_484_375),           // 2·(1 + 10) / 1024
            (3, 10, 0.092_285_156_25),       // 2·(1 + 13 + 78 + 286) / 8192
            (6, 0, 0.031_25),                // 2 / 64: the fewest one-way flips that pass α = 0.05
            (4, 4, 1.0),                     // balanced
            (0, 0, 1.0),                     // no discordant pair: no evidence
            (0, 1, 1.0),                     // one discordant pair: p = 2 · 1/2
            (10, 20, 0.098_737_146_705_389), // 2·Σ_{k≤10} C(30,k)/2^30
        ];
        for (a_only, b_only, want) in cases {
            let p = mcnemar_exact(a_only, b_only);
            assert!((p - want).abs() < 1e-12, "{a_only} vs {b_only}: {p} vs {want}");
        }
    }

    #[test]
    fn both_binomial_forms_agree_and_sum_to_one() {
        for m in [1u64, 7, 30, 999, 1000, 1001, 2500] {
            let pmf = binomial_half(m);
            assert!((pmf.iter().sum::<f64>() - 1.0).abs() < 1e-12, "m = {m}");
        }
        // The recurrence and the logarithms give the same central probabilities.
        let direct = binomial_half(1000);
        let mut ln_c = 0.0f64;
        for (k, p) in direct.iter().enumerate().take(600).skip(400) {
            if k > 400 {
                ln_c += ((1000 - k + 1) as f64).ln() - (k as f64).ln();
            } else {
                ln_c = (1..=400u64).map(|j| ((1000 - j + 1) as f64 / j as f64).ln()).sum();
            }
            let via_logs = (ln_c - 1000.0 * std::f64::consts::LN_2).exp();
            assert!((p - via_logs).abs() / via_logs < 1e-10, "k = {k}");
        }
    }

    #[test]
    fn sign_flip_handles_mixed_magnitudes() {
        // Signs of 2, 1, 1, -1 (sum 3): enumerating the 16 sign patterns by hand, 8 give |sum| ≥ 3.
        assert!((sign_flip_p(&[2, 1, 1, -1]) - 0.5).abs() < 1e-15);
        // A common factor changes nothing: 3·(1, 1, 1, 1, 1) is McNemar with 5 one way.
        assert!((sign_flip_p(&[3, 3, 3, 3, 3]) - 0.0625).abs() < 1e-15);
        assert_eq!(sign_flip_p(&[0, 0, 0]), 1.0);
        // Zeros are ignored.
        assert_eq!(sign_flip_p(&[0, 1, 0, 1, 0, 1, 0, 1, 1]), sign_flip_p(&[1; 5]));
    }

    fn bits(flags: &[u8]) -> Bits {
        Bits::from_bools(&flags.iter().map(|f| *f == 1).collect::<Vec<_>>())
    }

    #[test]
    fn one_seed_is_mcnemar_and_seeds_cluster_by_instance() {
        // 1,000 instances: A solves the first 5, B none (the length-L1 case).
        let mut a = vec![0u8; 1000];
        a[..5].fill(1);
        let b = vec![0u8; 1000];
        let c = paired_cell(&[(1, bits(&a))], &[(1, bits(&b))], 0.05).unwrap();
        assert!((c.p - 0.0625).abs() < 1e-12);
        assert_eq!((c.a_better, c.b_better), (5, 0));
        assert_eq!(c.per_seed.len(), 1);
        let (seed, a_only, b_only, p) = c.per_seed[0];
        assert_eq!((seed, a_only, b_only), (1, 5, 0));
        assert!((p - 0.0625).abs() < 1e-15);
        assert!((c.diff + 0.005).abs() < 1e-12);
        // The same five instances solved by A in each of three seeds: still five instances of evidence, not 15.
        let three = [(1, bits(&a)), (2, bits(&a)), (3, bits(&a))];
        let none = [(1, bits(&b)), (2, bits(&b)), (3, bits(&b))];
        let c3 = paired_cell(&three, &none, 0.05).unwrap();
        assert!((c3.p - 0.0625).abs() < 1e-12, "{}", c3.p);
        // Pooling the 3 × 1,000 judgements as independent would give McNemar 15 vs 0.
        assert!(mcnemar_exact(15, 0) < 1e-4);
        // Sides of different lengths cannot be paired.
        assert!(paired_cell(&[(1, bits(&a[..999]))], &[(1, bits(&b))], 0.05).is_none());
    }

    #[test]
    fn minimum_detectable_effect_has_the_exact_tests_floor() {
        // No disagreement at all: 6 one-way flips out of 1,000 is the least the exact test can flag at 0.05.
        assert!((mde(0.0, 1000, 0.05) - 0.006).abs() < 1e-12);
        // (1.959964 + 0.841621) · 0.01
        assert!((mde(0.01, 1000, 0.05) - 0.028_015_85).abs() < 1e-7);
        assert!(mde_unpaired(0.5, 1000, 1000, 0.05) > mde_unpaired(0.5, 10_000, 10_000, 0.05));
    }
}
