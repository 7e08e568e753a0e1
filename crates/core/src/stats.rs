//! Confidence intervals for success rates.

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval (95%) for `successes` out of `n` trials, as fractions in [0, 1].
/// With `n == 0` the interval is the whole range.
pub fn wilson(successes: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z95 * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    // At 0 or n successes the bound is exactly 0 or 1; the closed form only gets there up to rounding.
    let lo = if successes == 0 { 0.0 } else { (centre - half).max(0.0) };
    let hi = if successes == n { 1.0 } else { (centre + half).min(1.0) };
    (lo, hi)
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (the factor of a two-sided 95% interval),
/// exact to double precision (statrs' inverse CDF), not a rounded table: t(0.975, 2) = 4.302653, not 4.303.
/// Infinite for `df == 0`, where no interval exists.
pub fn t975(df: usize) -> f64 {
    t_quantile(0.975, df)
}

/// The `p` quantile of Student's t with `df` degrees of freedom; infinite (of `p`'s side) for `df == 0` and
/// NaN for `p` outside (0, 1).
pub fn t_quantile(p: f64, df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    if df == 0 {
        return if p < 0.5 { f64::NEG_INFINITY } else { f64::INFINITY };
    }
    // Location 0, scale 1 and a positive df are always valid parameters.
    StudentsT::new(0.0, 1.0, df as f64).map_or(f64::NAN, |t| t.inverse_cdf(p))
}

/// The `p` quantile of the standard normal distribution; NaN for `p` outside (0, 1).
pub fn normal_quantile(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    Normal::new(0.0, 1.0).map_or(f64::NAN, |n| n.inverse_cdf(p))
}

/// Mean and 95% t-interval half-width of per-seed values (the between-seed interval). With one value the
/// half-width is `None`: one seed says nothing about seed-to-seed spread.
pub fn mean_ci(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, None);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, None);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, Some(t975(n - 1) * (var / n as f64).sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values computed independently from the closed form in Python (z = 1.959964).
    #[test]
    fn wilson_matches_reference_values() {
        let cases = [
            (0u64, 10u64, 0.0, 0.277_532),
            (10, 10, 0.722_468, 1.0),
            (5, 10, 0.236_593, 0.763_407),
            (950, 1000, 0.934_686, 0.961_870),
        ];
        for (k, n, lo, hi) in cases {
            let (l, h) = wilson(k, n);
            assert!((l - lo).abs() < 1e-5, "{k}/{n}: lo {l} vs {lo}");
            assert!((h - hi).abs() < 1e-5, "{k}/{n}: hi {h} vs {hi}");
        }
    }

    #[test]
    fn wilson_contains_the_point_estimate_and_narrows_with_n() {
        for n in [1u64, 7, 100, 10_000] {
            for k in [0, n / 3, n] {
                let (l, h) = wilson(k, n);
                let p = k as f64 / n as f64;
                assert!(l <= p && p <= h);
            }
        }
        let w = |n| {
            let (l, h) = wilson(n / 2, n);
            h - l
        };
        assert!(w(1000) < w(100));
    }

    #[test]
    fn empty_interval_is_everything() {
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    // Reference quantiles from scipy.stats (t.ppf, norm.ppf), printed to 12 significant digits.
    #[test]
    fn quantiles_match_reference_values() {
        let t = [(1, 12.7062047362), (2, 4.30265272975), (3, 3.18244630528), (9, 2.26215716280), (30, 2.04227245630)];
        for (df, want) in t {
            assert!((t975(df) - want).abs() < 1e-8, "t975({df}) = {}", t975(df));
        }
        assert!((t_quantile(0.025, 4) + 2.77644510520).abs() < 1e-8);
        assert_eq!(t975(0), f64::INFINITY);
        assert!((normal_quantile(0.975) - Z95).abs() < 1e-9);
        assert!((normal_quantile(0.8) - 0.841621233573).abs() < 1e-9);
        assert!(normal_quantile(1.0).is_nan() && t_quantile(0.0, 3).is_nan());
    }

    #[test]
    fn between_seed_interval() {
        let (m, h) = mean_ci(&[0.5, 0.7, 0.9]);
        assert!((m - 0.7).abs() < 1e-12);
        // s = 0.2, se = 0.2/sqrt(3), t(0.975, 2) = 4.302652729749464 (scipy.stats.t.ppf(0.975, 2)).
        assert!((h.unwrap() - 4.302_652_729_749_464 * 0.2 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(mean_ci(&[0.4]).1, None);
    }
}
