//! `rocket-v2`: every factor varies at level 0, and each axis drifts one of them by a declared distance from it.
//!
//! Level 0 draws D uniform in 100..=1000 m and T = u·√D with u uniform in 0.3..=0.7 s/√m (as v1), and a world
//! from a band around Earth's: g uniform in 8.81..=10.81 m/s² (mean 9.81, σ = 2/√12 ≈ 0.577), ρ uniform in
//! 1.0..=1.4 kg/m³ (mean 1.2, σ ≈ 0.115) and the launch altitude h0 uniform in 0..=50 m (mean 25, σ ≈ 14.4). Each
//! axis moves one factor and draws every other one as level 0 does:
//!
//! | axis | unit | L1 | L2 | L3 | L4 |
//! |---|---|---|---|---|---|
//! | distance | widths of the training range (900 m) beyond its maximum | 1000-1450 m (0.25) | 1450-1900 m (0.75) | 1900-2800 m (1.5) | 2800-4600 m (3) |
//! | gravity | σ below the training mean | 8.37 (2.5σ) | 6.92 (5σ) | Mars 3.71 (10.6σ) | Pluto 0.62 (15.9σ) |
//! | air density | σ below the training mean | 0.91 (2.5σ) | 0.62 (5σ) | 0.33 (7.5σ) | vacuum (10.4σ) |
//! | altitude | σ above the training mean | 61 m (2.5σ) | 97 m (5σ) | 169 m (10σ) | a mesa, 600 m (39.8σ) |
//!
//! The distance axis keeps the time rule T = u·√D, so the flight time follows the distance (its one
//! [`Placement::also_moves`]) while the time factor u holds. `driftbench check` measures every feature below
//! across every level and fails a level whose distance strays from the declared one or that moves another feature.
//!
//! **Recorded trials** ([`TrialDraw::Aimed`]): in each training instance's world, the vacuum launch for an aim
//! point at a distance uniform in 100..=1400 m after u·√distance seconds, u uniform in 0.28..=0.72 (drag makes
//! the flight fall short, hence the aim past 1,000 m); a trial is kept only if it lands within the training
//! targets' range (D in 100..=1000 m, T/√D in 0.3..=0.7), about 78% of them. The networks therefore never see a
//! landing beyond 1,000 m, and distance-L1 lies outside their data as well as outside the level-0 targets (v1's
//! box of launches landed as far as about 2,000 m).
//!
//! **Metric and strict criterion**: success is as in v1 (the landing within 5% of D, the flight time not
//! judged); the metric is the larger of the relative misses in distance and in flight time (each capped at 1),
//! and the strict criterion is that metric within 1%: the landing within 1% of D *and* the flight within 1% of T.
//! Both are relative, so they mean the same at every level of every axis.
use super::version::{Design, TrialDraw, Version, V2};
use super::{TIME_FACTOR, TRAIN_DISTANCE};
use driftbench_core::{AxisSpec, Feature, Placement, Spread};

const TRAINING: &str = "training: D 100-1000 m, T = u*sqrt(D) with u 0.3-0.7, g 8.81-10.81 m/s2 (mean 9.81, σ 0.58), \
                        air 1.0-1.4 kg/m3 (σ 0.115), altitude 0-50 m (σ 14.4)";

static AXES: [AxisSpec; 4] = [
    AxisSpec {
        name: "distance",
        description: "target distance beyond the training range, in widths of that range (900 m); flight time keeps \
                      the training rule T = u*sqrt(D), everything else as in training",
        levels: [
            TRAINING,
            "D 1000-1450 m (0.25 ranges beyond the training maximum)",
            "D 1450-1900 m (0.75 ranges)",
            "D 1900-2800 m (1.5 ranges)",
            "D 2800-4600 m (3 ranges; up to 4.6x the training maximum), T up to 47.5 s",
        ],
    },
    AxisSpec {
        name: "gravity",
        description: "surface gravity below the training band, in training standard deviations; everything else as \
                      in training",
        levels: [
            TRAINING,
            "g = 8.37 m/s2 (2.5σ below the training mean)",
            "g = 6.92 m/s2 (5σ)",
            "Mars, g = 3.71 m/s2 (10.6σ)",
            "Pluto, g = 0.62 m/s2 (15.9σ)",
        ],
    },
    AxisSpec {
        name: "air_density",
        description: "air density below the training band, down to vacuum, in training standard deviations; \
                      everything else as in training",
        levels: [
            TRAINING,
            "air 0.91 kg/m3 (2.5σ below the training mean)",
            "air 0.62 kg/m3 (5σ)",
            "air 0.33 kg/m3 (7.5σ)",
            "vacuum, 0 kg/m3 (10.4σ)",
        ],
    },
    AxisSpec {
        name: "altitude",
        description: "height of the launch site above the landing ground, above the training band, in training \
                      standard deviations; everything else as in training",
        levels: [
            TRAINING,
            "launch from 61 m (2.5σ above the training mean)",
            "launch from 97 m (5σ)",
            "launch from 169 m (10σ)",
            "a high mesa: launch from 600 m (39.8σ)",
        ],
    },
];

/// What `driftbench check` measures: one feature per physical factor, and the time rule's factor u = T/√D. The
/// tolerances are about 4.5 standard errors of the difference of two 1,000-instance means at level 0's spread.
static FEATURES: [Feature; 6] = [
    Feature { name: "distance", description: "target distance D, m", tolerance: 50.0 },
    Feature { name: "flight_time", description: "target flight time T, s", tolerance: 0.8 },
    Feature { name: "time_factor", description: "the time rule's factor T/sqrt(D), s/sqrt(m)", tolerance: 0.025 },
    Feature { name: "gravity", description: "gravity g, m/s2", tolerance: 0.12 },
    Feature { name: "air_density", description: "air density, kg/m3", tolerance: 0.025 },
    Feature { name: "altitude", description: "launch altitude h0, m", tolerance: 3.0 },
];

static PLACEMENTS: [Placement; 4] = [
    Placement {
        factor: "distance",
        unit: Spread::Range,
        training: (100.0, 1000.0),
        distance: [0.25, 0.75, 1.5, 3.0],
        // The flight time is defined by the distance through the time rule T = u*sqrt(D), which every level keeps
        // (the time factor u holds): a longer shot takes longer, at the launch angles of training.
        also_moves: &["flight_time"],
    },
    Placement {
        factor: "gravity",
        unit: Spread::Sigma,
        training: (8.81, 10.81),
        distance: [2.5, 5.0, 10.6, 15.9],
        also_moves: &[],
    },
    Placement {
        factor: "air_density",
        unit: Spread::Sigma,
        training: (1.0, 1.4),
        distance: [2.5, 5.0, 7.5, 10.4],
        also_moves: &[],
    },
    Placement {
        factor: "altitude",
        unit: Spread::Sigma,
        training: (0.0, 50.0),
        distance: [2.5, 5.0, 10.0, 39.8],
        also_moves: &[],
    },
];

/// Aim distances of v2's recorded trials, m.
pub const V2_TRIAL_AIM_DISTANCE: (f64, f64) = (100.0, 1400.0);
/// Aim time factors of v2's recorded trials, s/√m.
pub const V2_TRIAL_AIM_TIME_FACTOR: (f64, f64) = (0.28, 0.72);

impl Version for V2 {
    fn design() -> &'static Design {
        &V2_DESIGN
    }
}

/// `rocket-v2`'s design (see the module documentation).
pub(super) static V2_DESIGN: Design = Design {
    id: "rocket-v2",
    axes: &AXES,
    distance: TRAIN_DISTANCE,
    time_factor: TIME_FACTOR,
    gravity: (8.81, 10.81),
    air_density: (1.0, 1.4),
    altitude: (0.0, 50.0),
    distance_levels: [(1000.0, 1450.0), (1450.0, 1900.0), (1900.0, 2800.0), (2800.0, 4600.0)],
    gravity_levels: [8.37, 6.92, 3.71, 0.62],
    air_density_levels: [0.91, 0.62, 0.33, 0.0],
    altitude_levels: [61.0, 97.0, 169.0, 600.0],
    trials: TrialDraw::Aimed { distance: V2_TRIAL_AIM_DISTANCE, time_factor: V2_TRIAL_AIM_TIME_FACTOR },
    time_judged: true,
    metric_name: "relative miss (larger of distance and flight time)",
    strict_name: "hits within 1% in distance and flight time",
    placements: &PLACEMENTS,
    features: &FEATURES,
    symbolic_observes: "the whole instance (target distance and flight time, gravity, air density, launch altitude) \
                        and the flight simulator with drag, on which it shoots (Newton on simulated trials)",
};
