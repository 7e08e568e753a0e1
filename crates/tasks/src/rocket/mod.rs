//! `rocket-v1`: choose the launch velocity that lands a projectile at a target distance after a target flight time.
//!
//! A planar point mass starts at altitude h0 with velocity (vx0, vy0) and flies under gravity g and quadratic
//! drag: ẍ = −k|v|ẋ, ÿ = −g − k|v|ẏ, with k = ½·ρ·Cd·A/m ([`drag_k`]). The body is a solid iron cannonball: a
//! sphere of radius 0.1 m (A = π·0.01 m²), Cd = 0.47, mass 33 kg, so k = 2.237e-4·ρ per metre (about 2.7e-4 /m
//! in training air). [`simulate`] integrates with classical RK4 at a fixed step of 0.01 s. The landing is the
//! first step that ends at or below the ground (y ≤ 0) while falling; the crossing is placed by linear
//! interpolation of y over that step, and x and t are interpolated with the same fraction. Flights are cut off
//! at 600 s of simulated time and then count as not landed.
//!
//! An instance states the target (ground distance D, flight time T) and the world (g, ρ, h0); the pair (D, T)
//! pins a unique launch velocity, in vacuum (D/T, gT/2 − h0/T) ([`vacuum_launch`]). The scorer simulates the
//! answer: success means it landed within 5% of D (the flight time is not judged). The metric is the relative
//! miss |landing − D|/D, capped at 1, which is also the value of no answer, a non-finite answer or a launch that
//! never lands.
//!
//! A valid instance ([`Task::validate`], [`Rocket`]'s `limits`) has finite values with D in 1..=100,000 m, T in
//! 1..=300 s (at least 100 integration steps, and at most half the flight cap, so that the shooting solver's trial
//! launches still land within it), g in 0.1..=300 m/s², ρ in 0..=50 kg/m³ and h0 in 0..=10,000 m; and, in air,
//! a target the body can reach: D and h0 each at most [`MAX_DRAG_LENGTHS`] drag lengths 1/k (over one drag length
//! quadratic drag slows a horizontal flight by a factor e), and T at most [`MAX_DRAG_TIMES`] drag times 1/√(g·k)
//! (beyond a few, staying aloft takes launch speeds that grow exponentially). Past these limits there are targets
//! no launch reaches (100 km through air of density 50) or the simulator cannot resolve (a flight shorter than
//! its step); within them the symbolic solver lands every target (checked on 80,000 random instances over the
//! whole box, corners included, and by the property test below).
//!
//! [`Task::validate`]: driftbench_core::Task::validate
//!
//! Training instances have D uniform in 100..=1000 m, T = u·√D with u uniform in 0.3..=0.7 s/√m (a vacuum launch
//! angle of about 24°–67° at g = 9.8), g uniform in 9.7..=9.9 m/s², ρ uniform in 1.1..=1.3 kg/m³ and h0 = 0;
//! every float is rounded to 3 decimals. The drift axes stretch the distance to 5× the training maximum (same T
//! rule), move to other bodies' gravity, thin the air to vacuum or thicken it to 4× training air, and raise the
//! launch site to 600 m. The symbolic solver uses the closed form in vacuum and otherwise Newton shooting on
//! (vx0, vy0) from the vacuum launch, counting simulated trials.
//!
//! ```
//! use driftbench_core::{Task, Cell, rng};
//! use driftbench_tasks::rocket::{simulate, vacuum_launch, Env};
//! use driftbench_tasks::Rocket;
//! let task = Rocket;
//! let inst = task.generate(Cell::IN_DIST, &mut rng::stream(1, task.id(), "doc"));
//! let (answer, info) = task.solve_symbolic(&inst);
//! assert!(task.score(&inst, &answer).success);
//! assert!(info.work >= 1);
//!
//! // In vacuum the closed form lands on target.
//! let env = Env { gravity: 9.8, air_density: 0.0, altitude: 0.0 };
//! let (vx, vy) = vacuum_launch(&env, 500.0, 10.0);
//! let landing = simulate(&env, vx, vy);
//! assert!(landing.landed && (landing.distance - 500.0).abs() < 1e-3 && (landing.time - 10.0).abs() < 1e-5);
//! ```

mod picture;

/// Integration step of [`simulate`], in seconds.
pub const DT: f64 = 0.01;
/// Longest simulated flight, in seconds; a launch still airborne then has not landed.
pub const FLIGHT_CAP: f64 = 600.0;
/// Steps in [`FLIGHT_CAP`] (600 s / 0.01 s).
const MAX_STEPS: u32 = 60_000;
/// Drag coefficient of the body (a sphere).
pub const DRAG_COEFFICIENT: f64 = 0.47;
/// Radius of the body, in metres.
pub const RADIUS: f64 = 0.1;
/// Mass of the body, in kilograms: a solid iron sphere of radius 0.1 m (7.87 t/m³). A much lighter body would need
/// launches of tens of km/s at the far distance and air-density levels, past the stability of RK4 at [`DT`].
pub const MASS: f64 = 33.0;
/// Largest miss, as a fraction of the target distance, that still counts as a success.
pub const SUCCESS_TOLERANCE: f64 = 0.05;
/// Largest metric that meets the strict criterion: a landing within 1% of the target distance (and, in v2, of the
/// target flight time).
pub const STRICT_TOLERANCE: f64 = 0.01;
/// Largest target distance a valid instance may hold, in metres.
pub const MAX_DISTANCE: f64 = 100_000.0;
/// Smallest target distance a valid instance may hold, in metres.
pub const MIN_DISTANCE: f64 = 1.0;
/// Shortest flight time a valid instance may hold, in seconds: 100 integration steps.
pub const MIN_FLIGHT_TIME: f64 = 100.0 * DT;
/// Longest flight time a valid instance may hold, in seconds: half of [`FLIGHT_CAP`], so that the trial launches of
/// the shooting solver, which may fly longer than the target, still land within the cap.
pub const MAX_FLIGHT_TIME: f64 = FLIGHT_CAP / 2.0;
/// Smallest gravity a valid instance may hold, in m/s² (a sixth of Pluto's).
pub const MIN_GRAVITY: f64 = 0.1;
/// Most drag lengths 1/k ([`drag_k`]) that the distance and the launch altitude may each span in air.
pub const MAX_DRAG_LENGTHS: f64 = 3.0;
/// Most drag times 1/√(g·k) that the flight time may span in air.
pub const MAX_DRAG_TIMES: f64 = 4.0;
/// Largest gravity a valid instance may hold, in m/s² (above the Sun's surface gravity).
pub const MAX_GRAVITY: f64 = 300.0;
/// Largest air density a valid instance may hold, in kg/m³.
pub const MAX_AIR_DENSITY: f64 = 50.0;
/// Largest launch altitude a valid instance may hold, in metres.
pub const MAX_ALTITUDE: f64 = 10_000.0;

/// Relative tolerance on distance and flight time at which the shooting solver stops.
const SOLVE_TOLERANCE: f64 = 1e-4;
/// Newton iterations before the solver gives up and returns its best launch.
const MAX_NEWTON_STEPS: usize = 40;
/// Halvings of a Newton step before the solver gives up.
const MAX_HALVINGS: usize = 20;
/// Finite-difference step for the Jacobian, relative to |v| + 1 m/s.
const FD_STEP: f64 = 1e-6;

const TRAIN_DISTANCE: (f64, f64) = (100.0, 1000.0);
/// T = u·√D with u in this range (s/√m).
const TIME_FACTOR: (f64, f64) = (0.3, 0.7);
const TRAIN_GRAVITY: (f64, f64) = (9.7, 9.9);
const TRAIN_AIR_DENSITY: (f64, f64) = (1.1, 1.3);
const DISTANCE_LEVELS: [(f64, f64); 4] = [(1000.0, 1500.0), (1500.0, 2500.0), (2500.0, 3500.0), (3500.0, 5000.0)];
const GRAVITY_LEVELS: [f64; 4] = [3.71, 1.62, 24.79, 0.62];
const AIR_DENSITY_LEVELS: [f64; 4] = [0.0, 0.5, 2.5, 5.0];
const ALTITUDE_LEVELS: [f64; 4] = [50.0, 150.0, 300.0, 600.0];

mod flight;
mod instance;
mod lanes;
mod shooter;
mod task;
mod v2;
mod version;

pub use flight::{drag_k, simulate, vacuum_launch};
pub use instance::{Env, Landing, Launch, RocketInstance};
pub use lanes::simulate_many;
pub use shooter::{shoot, shoot_many, ShootProblem};
pub use task::{TRIAL_VX, TRIAL_VY};
pub use v2::{V2_TRIAL_AIM_DISTANCE, V2_TRIAL_AIM_TIME_FACTOR};
pub use version::{Design, Rocket, RocketTask, RocketV2, TrialDraw, Version, V1, V2};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_v2;
