//! The task's versions: one generic task type, [`RocketTask`], whose every version-specific number and text comes
//! from its version's [`Design`]. `rocket-v1` ([`Rocket`]) and `rocket-v2` ([`RocketV2`]) share the physics, the
//! solver, the scorer and the encoding; they differ in the training distribution, the drift levels, how the
//! recorded trials are drawn, and whether the flight time enters the metric.

use driftbench_core::AxisSpec;
use driftbench_core::{Feature, Placement};
use std::marker::PhantomData;

/// How the recorded trials that the regression learners train on are drawn ([`VecTask::vec_training_set`](driftbench_core::VecTask::vec_training_set)): one
/// simulated launch per training instance, in that instance's world.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrialDraw {
    /// A launch uniform in `vx` × `vy` (m/s); every trial that lands is kept (v1). Landings then reach well past
    /// the training targets (to about 2,000 m).
    Box {
        /// Horizontal launch speed range, m/s.
        vx: (f64, f64),
        /// Vertical launch speed range, m/s.
        vy: (f64, f64),
    },
    /// Aimed: the vacuum launch ([`vacuum_launch`](super::vacuum_launch)) for an aim point at a distance uniform in `distance` (m) after
    /// `u·√distance` seconds with `u` uniform in `time_factor`. Drag makes the flight fall short of the aim point,
    /// which is why the aim reaches past the training targets. Only trials that land within the training targets'
    /// range (distance and time factor of [`Design`]) are kept; every simulated trial counts (v2).
    Aimed {
        /// Aim distance range, m.
        distance: (f64, f64),
        /// Aim time factor range, s/√m.
        time_factor: (f64, f64),
    },
}

/// Everything that distinguishes one version of the task from another.
#[derive(Debug)]
pub struct Design {
    pub(super) id: &'static str,
    pub(super) axes: &'static [AxisSpec; 4],
    /// Level-0 target distance range, m (uniform).
    pub(super) distance: (f64, f64),
    /// Level-0 time factor range u, s/√m: T = u·√D (uniform).
    pub(super) time_factor: (f64, f64),
    /// Level-0 gravity range, m/s² (uniform).
    pub(super) gravity: (f64, f64),
    /// Level-0 air density range, kg/m³ (uniform).
    pub(super) air_density: (f64, f64),
    /// Level-0 launch altitude range, m (uniform; a single point is not drawn at all).
    pub(super) altitude: (f64, f64),
    /// Distance ranges of levels 1..=4 of the distance axis, m.
    pub(super) distance_levels: [(f64, f64); 4],
    /// Gravity of levels 1..=4 of the gravity axis, m/s².
    pub(super) gravity_levels: [f64; 4],
    /// Air density of levels 1..=4 of the air-density axis, kg/m³.
    pub(super) air_density_levels: [f64; 4],
    /// Launch altitude of levels 1..=4 of the altitude axis, m.
    pub(super) altitude_levels: [f64; 4],
    /// How the recorded trials are drawn.
    pub(super) trials: TrialDraw,
    /// Whether the metric (and with it the strict criterion) also judges the flight time.
    pub(super) time_judged: bool,
    pub(super) metric_name: &'static str,
    pub(super) strict_name: &'static str,
    pub(super) placements: &'static [Placement],
    pub(super) features: &'static [Feature],
    pub(super) symbolic_observes: &'static str,
}

/// A version of the rocket task.
pub trait Version: std::fmt::Debug + Clone + Copy + Default + Send + Sync + 'static {
    /// The version's design.
    fn design() -> &'static Design;
}

/// `rocket-v1`: training gravity, air and altitude barely vary; trials from a fixed box.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct V1;

/// `rocket-v2`: every factor varies at level 0 and each axis's levels are placed by distance from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct V2;

/// The rocket task in version `V` ([`Rocket`], [`RocketV2`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RocketTask<V>(PhantomData<V>);

impl<V: Version> RocketTask<V> {
    /// The version's design.
    pub(super) fn design(&self) -> &'static Design {
        V::design()
    }

    /// How this version draws its recorded trials.
    pub fn trial_draw(&self) -> TrialDraw {
        self.design().trials
    }
}

/// The `rocket-v1` task.
pub type Rocket = RocketTask<V1>;
/// The `rocket-v1` task as a value, so that `Rocket` names both the type and its only value, as a unit struct
/// does.
#[allow(non_upper_case_globals)]
pub const Rocket: Rocket = RocketTask(PhantomData);

/// The `rocket-v2` task.
pub type RocketV2 = RocketTask<V2>;
/// The `rocket-v2` task as a value (see [`Rocket`]).
#[allow(non_upper_case_globals)]
pub const RocketV2: RocketV2 = RocketTask(PhantomData);
