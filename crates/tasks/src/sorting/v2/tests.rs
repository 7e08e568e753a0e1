use super::*;
use driftbench_core::drift::measure_drift;
use driftbench_core::{rng, LEVELS};

fn sample(cell: Cell, n: usize, purpose: &str) -> Vec<Vec<i64>> {
    let mut r = rng::stream(11, "sorting-v2-test", purpose);
    (0..n).map(|_| SortingV2.generate(cell, &mut r).values).collect()
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

/// The task's own declaration passes the harness's check: level 0 varies along every factor, the distances are
/// where they are declared, and no axis moves a feature it does not name.
#[test]
fn drift_check_passes() {
    let report = measure_drift(&SortingV2, 1000, |cell| rng::stream(1, "check", &cell.label(&AXES))).unwrap();
    assert!(report.failures.is_empty(), "{:#?}\n{}", report.failures, report.lines().join("\n"));
    assert_eq!(report.axes.len(), 3);
}

/// The tie share is the same at every length: in expectation exactly [`TIE_SHARE`] for each n, so along the
/// `length` axis (and at level 0) the mean share holds within sampling error.
#[test]
fn tie_share_is_constant_across_lengths() {
    for level in 0..LEVELS {
        let cell = Cell { axis: (level > 0).then_some(0), level };
        let lists = sample(cell, 4000, &format!("ties-{level}"));
        let share = mean(lists.iter().map(|l| tie_share(l)));
        assert!((share - TIE_SHARE).abs() < 0.015, "length-L{level}: tie share {share}");
    }
    // Per length, from the count alone (200,000 draws each: standard error under 0.002).
    let mut r = rng::stream(3, "sorting-v2-test", "tied-count");
    for n in [2, 3, 5, 8, 9, 16, 32] {
        let share = mean((0..200_000).map(|_| tied_count(&mut r, n) as f64 / n as f64));
        assert!((share - TIE_SHARE).abs() < 0.006, "n = {n}: tie share {share}");
    }
}

#[test]
fn lists_have_the_stated_shapes() {
    for (axis, level) in [(None, 0), (Some(0), 4), (Some(1), 2), (Some(1), 4), (Some(2), 4)] {
        let cell = Cell { axis, level };
        let s = spec(cell);
        for v in sample(cell, 500, &format!("shape-{}", cell.label(&AXES))) {
            assert!(s.len.contains(&v.len()), "{v:?}");
            assert!(v.iter().all(|x| (s.offset..s.offset + WINDOW as i64).contains(x)), "{v:?}");
            assert!(SortingV2.validate(&SortInstance { values: v.clone() }).is_ok());
            // Ties come in pairs and at most one triple: no value occurs more than three times.
            assert!(v.iter().all(|x| v.iter().filter(|y| *y == x).count() <= 3), "{v:?}");
            if s.tau == Some(1.0) {
                assert!(v.windows(2).all(|w| w[0] <= w[1]), "tau 1 must be sorted: {v:?}");
            }
        }
    }
}

/// The dispersion found for a target tau gives that tau in expectation (distinct values), and the sampler draws
/// permutations with that many inversions on average.
#[test]
fn mallows_hits_the_target_tau() {
    for n in [2, 3, 5, 8] {
        for tau in [0.0, 0.4, 0.8, 1.0] {
            let q = mallows_dispersion(n, tau);
            let expected = 1.0 - 4.0 * mallows_expected_inversions(n, q) / (n * (n - 1)) as f64;
            assert!((expected - tau).abs() < 1e-9, "n {n} tau {tau}: {expected}");
            let mut r = rng::stream(5, "sorting-v2-test", "mallows");
            let drawn = mean((0..20_000).map(|_| {
                let order: Vec<i64> = mallows_order(&mut r, n, q).into_iter().map(|i| i as i64).collect();
                sortedness(&order)
            }));
            assert!((drawn - tau).abs() < 0.03, "n {n} tau {tau}: drawn {drawn}");
        }
    }
    assert!((mallows_dispersion(6, 0.0) - 1.0).abs() < 1e-9, "tau 0 is the uniform order");
}

#[test]
fn features_on_small_lists() {
    assert_eq!(tie_share(&[3, 1, 3, 2]), 0.5);
    assert_eq!(tie_share(&[]), 0.0);
    assert_eq!(sortedness(&[1, 2, 3]), 1.0);
    assert_eq!(sortedness(&[3, 2, 1]), -1.0);
    assert_eq!(sortedness(&[2, 2]), 0.0);
    // Three pairs in order (1 before 3 and before each 2), two out of order (3 before each 2); the tie (2, 2) does
    // not count.
    assert!((sortedness(&[1, 3, 2, 2]) - (3.0 - 2.0) / 5.0).abs() < 1e-12);
    assert_eq!(mean_gap(&[10, 40, 20, 40]), 15.0);
    assert_eq!(mean_gap(&[7, 7]), 0.0);
    assert_eq!(SortingV2.measure(&SortInstance { values: vec![5, -5, 5] }), vec![3.0, 2.0 / 3.0, 1.0, 5.0, 0.0, 10.0]);
}

/// Every level's description states its distance as `driftbench list` and the tables print it.
#[test]
fn level_descriptions_state_the_declared_distances() {
    for (axis, p) in AXES.iter().zip(&PLACEMENTS) {
        for level in 1..LEVELS {
            let label = p.label(level);
            assert!(axis.levels[level as usize].contains(&label), "{}-L{level} lacks {label}", axis.name);
        }
    }
}

/// sorting-v2 scores, solves, encodes and attacks exactly as sorting-v1 does.
#[test]
fn shares_everything_but_the_generator_with_v1() {
    for v in sample(Cell::IN_DIST, 200, "shared") {
        let i = SortInstance { values: v };
        assert_eq!(SortingV2.solve_symbolic(&i), Sorting.solve_symbolic(&i));
        assert_eq!(SortingV2.encode_seq(&i), Sorting.encode_seq(&i));
        assert_eq!(SortingV2.attack_radius(&i), Sorting.attack_radius(&i));
        let wrong: Vec<i64> = i.values.iter().rev().copied().collect();
        assert_eq!(SortingV2.score(&i, &wrong), Sorting.score(&i, &wrong));
    }
    assert_eq!(SortingV2.seq_shape(), Sorting.seq_shape());
}
