//! Whether a task's drift axes measure what they claim: each axis drifts one factor, level 0 varies along it, the
//! levels lie where the task declares ([`Placement`]), and every other measured feature holds its level-0 mean.
//! `driftbench check` runs [`measure_drift`] on every task that places its axes.
use crate::axis::{Cell, FactorStats, Feature, Placement, LEVELS};
use crate::task::Task;
use rand_chacha::ChaCha8Rng;

/// How far a measured distance may stray from the declared one: `RELATIVE × declared + ABSOLUTE`.
pub const DISTANCE_TOLERANCE: (f64, f64) = (0.2, 0.15);

/// One level of one axis as measured.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelMeasure {
    /// Level 1..=4.
    pub level: u8,
    /// The axis's factor over the level's sample.
    pub factor: FactorStats,
    /// The measured distance from level 0, in the placement's unit.
    pub distance: f64,
    /// The mean of every feature, in [`Task::features`] order.
    pub means: Vec<f64>,
}

/// One axis as measured.
#[derive(Debug, Clone)]
pub struct AxisMeasure {
    /// The axis's name.
    pub axis: &'static str,
    /// What the task declares.
    pub placement: Placement,
    /// Levels 1..=4.
    pub levels: Vec<LevelMeasure>,
}

/// What [`measure_drift`] found.
#[derive(Debug, Clone)]
pub struct DriftReport {
    /// The task's features.
    pub features: &'static [Feature],
    /// Every feature over level 0.
    pub level0: Vec<FactorStats>,
    /// Every placed axis.
    pub axes: Vec<AxisMeasure>,
    /// Every way the task's axes fail their declaration, one message each; empty when they pass.
    pub failures: Vec<String>,
}

impl DriftReport {
    /// The lines `driftbench check` prints: per axis, the factor's level-0 spread, then one row per feature with
    /// its mean at level 0 and at each level of the axis (the factor and what it drags along marked), then each
    /// level's measured against declared distance.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let index = |name: &str| self.features.iter().position(|f| f.name == name);
        for a in &self.axes {
            let Some(fi) = index(a.placement.factor) else { continue };
            let s0 = &self.level0[fi];
            out.push(format!(
                "axis {}: drifts `{}` (level 0: mean {:.3}, sd {:.3}, range [{:.3}, {:.3}]); feature means at L0 | L1..L{}:",
                a.axis,
                a.placement.factor,
                s0.mean,
                s0.sd,
                s0.min,
                s0.max,
                a.levels.len()
            ));
            for (i, f) in self.features.iter().enumerate() {
                let role = if i == fi {
                    "drifted"
                } else if a.placement.also_moves.contains(&f.name) {
                    "follows"
                } else {
                    "held"
                };
                let means: Vec<String> = a.levels.iter().map(|l| format!("{:.3}", l.means[i])).collect();
                let worst = a.levels.iter().map(|l| (l.means[i] - self.level0[i].mean).abs()).fold(0.0, f64::max);
                let tolerance = if role == "held" {
                    format!(" (max shift {worst:.3}, tolerance {})", f.tolerance)
                } else {
                    String::new()
                };
                out.push(format!(
                    "  {role:<7} {:<28} {:.3} | {}{tolerance}",
                    f.name,
                    self.level0[i].mean,
                    means.join(" ")
                ));
            }
            let distances: Vec<String> = a
                .levels
                .iter()
                .map(|l| {
                    format!(
                        "L{} {} (declared {})",
                        l.level,
                        crate::axis::format_distance(l.distance, a.placement.unit),
                        a.placement.label(l.level)
                    )
                })
                .collect();
            out.push(format!("  distances: {}", distances.join(", ")));
        }
        out
    }
}

/// Measures every feature of `n` instances per cell (drawn with `rng_of(cell)`) and checks the task's placements
/// against them. `None` for a task that declares neither placements nor features (the `-v1` tasks).
pub fn measure_drift<T: Task>(task: &T, n: usize, rng_of: impl Fn(Cell) -> ChaCha8Rng) -> Option<DriftReport> {
    let (placements, features, axes) = (task.placements(), task.features(), task.axes());
    if placements.is_empty() && features.is_empty() {
        return None;
    }
    let mut failures = Vec::new();
    if placements.len() != axes.len() {
        failures.push(format!(
            "{} placements declared for {} axes: every axis of a task that places its axes needs one",
            placements.len(),
            axes.len()
        ));
    }
    if features.is_empty() {
        failures.push("axes are placed but no features are declared to measure them by".into());
    }
    let sample = |cell: Cell| -> Result<Vec<Vec<f64>>, String> {
        let mut rng = rng_of(cell);
        (0..n.max(2))
            .map(|_| {
                let inst = task.generate(cell, &mut rng);
                let m = task.measure(&inst);
                if m.len() != features.len() {
                    return Err(format!("measure gave {} values for {} features", m.len(), features.len()));
                }
                if let Some(i) = m.iter().position(|v| !v.is_finite()) {
                    return Err(format!(
                        "feature `{}` is not finite ({}) in cell {}",
                        features[i].name,
                        m[i],
                        cell.label(axes)
                    ));
                }
                Ok(m)
            })
            .collect()
    };
    let column = |rows: &[Vec<f64>], i: usize| rows.iter().map(|r| r[i]).collect::<Vec<f64>>();
    let rows0 = match sample(Cell::IN_DIST) {
        Ok(r) => r,
        Err(e) => {
            failures.push(e);
            return Some(DriftReport { features, level0: Vec::new(), axes: Vec::new(), failures });
        }
    };
    let level0: Vec<FactorStats> = (0..features.len()).map(|i| FactorStats::of(&column(&rows0, i))).collect();
    let index = |name: &str| features.iter().position(|f| f.name == name);
    let mut measured = Vec::new();
    for (a, (spec, p)) in axes.iter().zip(placements).enumerate() {
        let Some(fi) = index(p.factor) else {
            failures.push(format!("axis {}: factor `{}` is not a declared feature", spec.name, p.factor));
            continue;
        };
        for name in p.also_moves.iter().filter(|m| index(m).is_none()) {
            failures.push(format!("axis {}: `{name}` in also_moves is not a declared feature", spec.name));
        }
        let s0 = level0[fi];
        if s0.sd.is_nan() || s0.sd <= 1e-12 * s0.mean.abs().max(1.0) {
            failures.push(format!(
                "axis {}: level 0 does not vary along its factor `{}` (every level-0 instance has {}): there is no \
                 training neighbourhood to generalise from; widen the training distribution along it",
                spec.name, p.factor, s0.mean
            ));
            continue;
        }
        let (lo, hi) = p.training;
        let slack = 1e-9 + 0.01 * (hi - lo).abs();
        if s0.min < lo - slack || s0.max > hi + slack {
            failures.push(format!(
                "axis {}: level 0's `{}` spans [{}, {}], outside the declared training range [{lo}, {hi}]",
                spec.name, p.factor, s0.min, s0.max
            ));
        }
        if p.distance[0] <= 0.0 || p.distance.windows(2).any(|w| w[1] <= w[0]) {
            failures.push(format!(
                "axis {}: declared distances {:?} are not positive and strictly increasing",
                spec.name, p.distance
            ));
        }
        let mut levels = Vec::new();
        for level in 1..LEVELS {
            let cell = Cell { axis: Some(a), level };
            let rows = match sample(cell) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            let means: Vec<f64> = (0..features.len()).map(|i| FactorStats::of(&column(&rows, i)).mean).collect();
            let factor = FactorStats::of(&column(&rows, fi));
            let distance = p.unit.distance(&s0, factor.mean);
            let declared = p.distance_of(level);
            if (distance - declared).abs() > DISTANCE_TOLERANCE.0 * declared + DISTANCE_TOLERANCE.1 {
                failures.push(format!(
                    "{}-L{level}: measured distance {} along `{}`, declared {}",
                    spec.name,
                    crate::axis::format_distance(distance, p.unit),
                    p.factor,
                    p.label(level)
                ));
            }
            for (i, f) in features.iter().enumerate() {
                if i == fi || p.also_moves.contains(&f.name) {
                    continue;
                }
                if (means[i] - level0[i].mean).abs() > f.tolerance {
                    failures.push(format!(
                        "{}-L{level} moves `{}` too: mean {:.4} against {:.4} at level 0 (tolerance {}); the axis \
                         must drift `{}` alone",
                        spec.name, f.name, means[i], level0[i].mean, f.tolerance, p.factor
                    ));
                }
            }
            levels.push(LevelMeasure { level, factor, distance, means });
        }
        measured.push(AxisMeasure { axis: spec.name, placement: *p, levels });
    }
    Some(DriftReport { features, level0, axes: measured, failures })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::axis::{AxisSpec, Spread};
    use crate::data::SolveInfo;
    use crate::task::Outcome;
    use rand::{Rng, SeedableRng};

    /// A toy task whose instances are (x, y) pairs: the axis drifts x; `variant` picks what is wrong with it.
    struct Toy {
        variant: Variant,
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Variant {
        Clean,
        FlatLevelZero,
        Confounded,
        Misplaced,
    }

    const AXES: &[AxisSpec] = &[AxisSpec { name: "x", description: "x", levels: ["train", "a", "b", "c", "d"] }];
    const FEATURES: &[Feature] = &[
        Feature { name: "x", description: "x", tolerance: 0.1 },
        Feature { name: "y", description: "y", tolerance: 0.1 },
    ];
    const PLACED: &[Placement] = &[Placement {
        factor: "x",
        unit: Spread::Sigma,
        training: (0.0, 1.0),
        distance: [2.0, 4.0, 8.0, 16.0],
        also_moves: &[],
    }];

    impl Task for Toy {
        type Instance = (f64, f64);
        type Answer = f64;
        fn id(&self) -> &'static str {
            "toy-v2"
        }
        fn description(&self) -> &'static str {
            "toy"
        }
        fn axes(&self) -> &'static [AxisSpec] {
            AXES
        }
        fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> (f64, f64) {
            // Uniform on [0, 1]: mean 0.5, sd 1/sqrt(12).
            let sd = (1.0f64 / 12.0).sqrt();
            let shift = PLACED[0].distance_of(cell.level) * sd;
            let x = match self.variant {
                Variant::FlatLevelZero if cell.level == 0 => 0.5,
                Variant::Misplaced => rng.random::<f64>() + 3.0 * shift,
                _ => rng.random::<f64>() + shift,
            };
            let y =
                rng.random::<f64>() + if self.variant == Variant::Confounded { 0.1 * cell.level as f64 } else { 0.0 };
            (x, y)
        }
        fn validate(&self, _: &(f64, f64)) -> Result<(), String> {
            Ok(())
        }
        fn score(&self, i: &(f64, f64), a: &f64) -> Outcome {
            Outcome::new(*a == i.0, 0.0)
        }
        fn metric_name(&self) -> &'static str {
            "none"
        }
        fn solve_symbolic(&self, i: &(f64, f64)) -> (f64, SolveInfo) {
            (i.0, SolveInfo::default())
        }
        fn symbolic_description(&self) -> &'static str {
            "copies x"
        }
        fn placements(&self) -> &'static [Placement] {
            PLACED
        }
        fn features(&self) -> &'static [Feature] {
            FEATURES
        }
        fn measure(&self, i: &(f64, f64)) -> Vec<f64> {
            vec![i.0, i.1]
        }
    }

    fn failures(variant: Variant) -> Vec<String> {
        let report = measure_drift(&Toy { variant }, 2000, |c| ChaCha8Rng::seed_from_u64(c.level as u64 + 7)).unwrap();
        report.failures
    }

    #[test]
    fn a_clean_axis_passes_and_reports_its_distances() {
        assert_eq!(failures(Variant::Clean), Vec::<String>::new());
        let report =
            measure_drift(&Toy { variant: Variant::Clean }, 2000, |c| ChaCha8Rng::seed_from_u64(c.level as u64))
                .unwrap();
        let d: Vec<f64> = report.axes[0].levels.iter().map(|l| l.distance).collect();
        for (m, want) in d.iter().zip([2.0, 4.0, 8.0, 16.0]) {
            assert!((m - want).abs() < 0.3, "{d:?}");
        }
        // A header, one row per feature and the distances.
        assert_eq!(report.lines().len(), 4);
    }

    #[test]
    fn a_level_zero_that_does_not_vary_fails() {
        let f = failures(Variant::FlatLevelZero);
        assert!(f.iter().any(|m| m.contains("level 0 does not vary")), "{f:?}");
    }

    #[test]
    fn an_axis_that_moves_a_second_feature_fails() {
        let f = failures(Variant::Confounded);
        assert!(f.iter().any(|m| m.contains("moves `y` too")), "{f:?}");
        // Level 1 moves y by 0.1, within tolerance; levels 2-4 do not.
        assert_eq!(f.len(), 3, "{f:?}");
    }

    #[test]
    fn levels_placed_elsewhere_than_declared_fail() {
        let f = failures(Variant::Misplaced);
        assert!(f.iter().any(|m| m.contains("measured distance")), "{f:?}");
    }

    #[test]
    fn tasks_without_placements_are_not_measured() {
        struct Plain;
        impl Task for Plain {
            type Instance = f64;
            type Answer = f64;
            fn id(&self) -> &'static str {
                "plain-v1"
            }
            fn description(&self) -> &'static str {
                "plain"
            }
            fn axes(&self) -> &'static [AxisSpec] {
                AXES
            }
            fn generate(&self, _: Cell, rng: &mut ChaCha8Rng) -> f64 {
                rng.random()
            }
            fn validate(&self, _: &f64) -> Result<(), String> {
                Ok(())
            }
            fn score(&self, _: &f64, _: &f64) -> Outcome {
                Outcome::new(true, 0.0)
            }
            fn metric_name(&self) -> &'static str {
                "none"
            }
            fn solve_symbolic(&self, i: &f64) -> (f64, SolveInfo) {
                (*i, SolveInfo::default())
            }
            fn symbolic_description(&self) -> &'static str {
                "copies"
            }
        }
        assert!(measure_drift(&Plain, 10, |_| ChaCha8Rng::seed_from_u64(0)).is_none());
    }
}
