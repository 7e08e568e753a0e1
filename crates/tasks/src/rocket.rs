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
use driftbench_core::{AxisSpec, Cell, Encoding, Outcome, SolveInfo, Task, VecExample, VecShape};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

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

/// The world a launch flies in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Env {
    /// Gravitational acceleration, m/s².
    pub gravity: f64,
    /// Air density, kg/m³ (0 for vacuum).
    pub air_density: f64,
    /// Height of the launch site above the ground, m (at least 0).
    pub altitude: f64,
}

/// Where and when a simulated flight came down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Landing {
    /// Horizontal distance from the launch site at landing, m. For a flight that did not land: where it was
    /// stopped (at the flight cap, or NaN once the state stopped being finite).
    pub distance: f64,
    /// Time of landing, s; for a flight that did not land, the time it was stopped.
    pub time: f64,
    /// Whether the flight crossed the ground going down within [`FLIGHT_CAP`] with a finite state.
    pub landed: bool,
}

/// A target: land `distance` metres away after `flight_time` seconds, in the given world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RocketInstance {
    /// Target ground distance, m.
    pub distance: f64,
    /// Target flight time, s.
    pub flight_time: f64,
    /// Gravitational acceleration, m/s².
    pub gravity: f64,
    /// Air density, kg/m³.
    pub air_density: f64,
    /// Launch altitude, m.
    pub altitude: f64,
}

impl RocketInstance {
    /// The world of this instance.
    pub fn env(&self) -> Env {
        Env { gravity: self.gravity, air_density: self.air_density, altitude: self.altitude }
    }
}

/// An answer: the initial velocity, m/s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    /// Horizontal component (towards the target).
    pub vx: f64,
    /// Vertical component (up is positive).
    pub vy: f64,
}

/// The rocket task.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rocket;

const TRAINING: &str = "training: D 100-1000 m, T = u*sqrt(D) with u 0.3-0.7, g 9.7-9.9, air 1.1-1.3 kg/m3, altitude 0";

static AXES: [AxisSpec; 4] = [
    AxisSpec {
        name: "distance",
        description: "target distance; flight time keeps the training rule T = u*sqrt(D), so launch angles stay as in \
                      training",
        levels: [
            TRAINING,
            "D 1000-1500 m",
            "D 1500-2500 m",
            "D 2500-3500 m",
            "D 3500-5000 m (5x the training maximum), T up to 49.5 s",
        ],
    },
    AxisSpec {
        name: "gravity",
        description: "surface gravity of another body, everything else as in training",
        levels: [
            TRAINING,
            "Mars, g = 3.71 m/s2",
            "Moon, g = 1.62 m/s2",
            "Jupiter, g = 24.79 m/s2",
            "Pluto, g = 0.62 m/s2 (16x below training)",
        ],
    },
    AxisSpec {
        name: "air_density",
        description: "air density, from vacuum to several times training air, everything else as in training",
        levels: [
            TRAINING,
            "vacuum, 0 kg/m3",
            "thin air, 0.5 kg/m3",
            "2.5 kg/m3 (2x training air)",
            "5.0 kg/m3 (4x training air)",
        ],
    },
    AxisSpec {
        name: "altitude",
        description: "height of the launch site above the landing ground, everything else as in training",
        levels: [TRAINING, "launch from 50 m", "launch from 150 m", "launch from 300 m", "launch from 600 m"],
    },
];

/// The drag constant k = ½·ρ·Cd·A/m of the body (per metre) in air of the given density.
pub fn drag_k(air_density: f64) -> f64 {
    0.5 * air_density * DRAG_COEFFICIENT * std::f64::consts::PI * RADIUS * RADIUS / MASS
}

/// The launch that lands at `distance` after `time` in vacuum: (D/T, g·T/2 − h0/T).
pub fn vacuum_launch(env: &Env, distance: f64, time: f64) -> (f64, f64) {
    (distance / time, env.gravity * time / 2.0 - env.altitude / time)
}

/// Derivative of the state (x, y, vx, vy).
fn derivative(s: [f64; 4], g: f64, k: f64) -> [f64; 4] {
    if k == 0.0 {
        return [s[2], s[3], 0.0, -g];
    }
    let speed = (s[2] * s[2] + s[3] * s[3]).sqrt();
    [s[2], s[3], -k * speed * s[2], -g - k * speed * s[3]]
}

/// One classical RK4 step of length [`DT`].
fn rk4_step(s: [f64; 4], g: f64, k: f64) -> [f64; 4] {
    let along = |d: [f64; 4], h: f64| -> [f64; 4] { std::array::from_fn(|i| s[i] + h * d[i]) };
    let k1 = derivative(s, g, k);
    let k2 = derivative(along(k1, DT / 2.0), g, k);
    let k3 = derivative(along(k2, DT / 2.0), g, k);
    let k4 = derivative(along(k3, DT), g, k);
    std::array::from_fn(|i| s[i] + DT / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

/// [`simulate`], calling `visit(t, [x, y, vx, vy])` at the start and after every step before the landing step.
fn fly(env: &Env, vx0: f64, vy0: f64, mut visit: impl FnMut(f64, [f64; 4])) -> Landing {
    let (g, k) = (env.gravity, drag_k(env.air_density));
    let mut s = [0.0, env.altitude, vx0, vy0];
    visit(0.0, s);
    for n in 0..MAX_STEPS {
        let next = rk4_step(s, g, k);
        if !next.iter().all(|v| v.is_finite()) {
            return Landing { distance: f64::NAN, time: f64::from(n + 1) * DT, landed: false };
        }
        if s[1] >= 0.0 && next[1] <= 0.0 && next[1] < s[1] {
            // Linear interpolation of y over the last step puts the crossing at fraction f of it.
            let f = s[1] / (s[1] - next[1]);
            return Landing { distance: s[0] + f * (next[0] - s[0]), time: (f64::from(n) + f) * DT, landed: true };
        }
        s = next;
        visit(f64::from(n + 1) * DT, s);
    }
    Landing { distance: s[0], time: FLIGHT_CAP, landed: false }
}

/// Flies a launch of velocity (vx0, vy0) from the launch site of `env` with RK4 at step [`DT`] until it crosses the
/// ground going down (landing placed by linear interpolation over the last step) or [`FLIGHT_CAP`] passes.
/// Non-finite or overflowing launches come back as not landed.
pub fn simulate(env: &Env, vx0: f64, vy0: f64) -> Landing {
    fly(env, vx0, vy0, |_, _| {})
}

/// Newton shooting on (vx0, vy0): residual (landing distance − D, landing time − T), forward-difference Jacobian,
/// steps halved until they reduce the scaled residual. Counts every simulated trial.
struct Shooter {
    env: Env,
    distance: f64,
    time: f64,
    trials: u64,
}

impl Shooter {
    /// The residual of launch `p`, or `None` if it does not land.
    fn residual(&mut self, p: [f64; 2]) -> Option<[f64; 2]> {
        self.trials += 1;
        let l = simulate(&self.env, p[0], p[1]);
        (l.landed && l.distance.is_finite()).then_some([l.distance - self.distance, l.time - self.time])
    }

    fn converged(&self, r: [f64; 2]) -> bool {
        r[0].abs() <= SOLVE_TOLERANCE * self.distance && r[1].abs() <= SOLVE_TOLERANCE * self.time
    }

    fn size(&self, r: [f64; 2]) -> f64 {
        (r[0] / self.distance).powi(2) + (r[1] / self.time).powi(2)
    }

    /// Refines `p` (whose residual is `r`) until it converges or stalls; returns the best launch found.
    fn refine(&mut self, mut p: [f64; 2], mut r: [f64; 2]) -> [f64; 2] {
        for _ in 0..MAX_NEWTON_STEPS {
            if self.converged(r) {
                break;
            }
            let h = [FD_STEP * (p[0].abs() + 1.0), FD_STEP * (p[1].abs() + 1.0)];
            let (Some(rx), Some(ry)) = (self.residual([p[0] + h[0], p[1]]), self.residual([p[0], p[1] + h[1]])) else {
                break;
            };
            let j = [[(rx[0] - r[0]) / h[0], (ry[0] - r[0]) / h[1]], [(rx[1] - r[1]) / h[0], (ry[1] - r[1]) / h[1]]];
            let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
            if det == 0.0 || !det.is_finite() {
                break;
            }
            let step = [-(j[1][1] * r[0] - j[0][1] * r[1]) / det, -(j[0][0] * r[1] - j[1][0] * r[0]) / det];
            let mut lambda = 1.0;
            let mut accepted = false;
            for _ in 0..MAX_HALVINGS {
                let q = [p[0] + lambda * step[0], p[1] + lambda * step[1]];
                if let Some(rq) = self.residual(q) {
                    if self.size(rq) < self.size(r) {
                        (p, r, accepted) = (q, rq, true);
                        break;
                    }
                }
                lambda *= 0.5;
            }
            if !accepted {
                break;
            }
        }
        p
    }
}

/// Newton shooting (the symbolic solver's, with its tolerances and limits) from the launch `start`: refines
/// (vx0, vy0) until the landing is within 0.01% of (`distance`, `time`) or the iteration stalls, and returns the
/// best launch found with the number of simulated trials spent (at least 1). A start that does not land comes
/// back unchanged after that one trial. Program-search learners use it with a learned starting launch.
pub fn shoot(env: &Env, distance: f64, time: f64, start: (f64, f64)) -> (Launch, u64) {
    let mut shooter = Shooter { env: *env, distance, time, trials: 0 };
    let mut p = [start.0, start.1];
    if let Some(r) = shooter.residual(p) {
        p = shooter.refine(p, r);
    }
    (Launch { vx: p[0], vy: p[1] }, shooter.trials)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn uniform(rng: &mut ChaCha8Rng, (lo, hi): (f64, f64)) -> f64 {
    round3(rng.random_range(lo..=hi))
}

fn check(name: &str, value: f64, (lo, hi): (f64, f64), unit: &str) -> Result<(), String> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(format!("{name} {value} is outside [{lo}, {hi}] {unit}"))
    }
}

impl Task for Rocket {
    type Instance = RocketInstance;
    type Answer = Launch;

    fn id(&self) -> &'static str {
        "rocket-v1"
    }

    fn description(&self) -> &'static str {
        "choose the launch velocity that lands a projectile under gravity and quadratic drag at a target distance \
         after a target flight time"
    }

    fn axes(&self) -> &'static [AxisSpec] {
        &AXES
    }

    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> RocketInstance {
        // Every cell draws the same four numbers, then its axis overrides one parameter.
        let level = match cell.axis {
            None => 0,
            Some(_) => cell.level as usize,
        };
        let distance_range = match cell.axis {
            Some(0) if level > 0 => DISTANCE_LEVELS[level - 1],
            _ => TRAIN_DISTANCE,
        };
        let distance = uniform(rng, distance_range);
        let flight_time = round3(rng.random_range(TIME_FACTOR.0..=TIME_FACTOR.1) * distance.sqrt());
        let mut inst = RocketInstance {
            distance,
            flight_time,
            gravity: uniform(rng, TRAIN_GRAVITY),
            air_density: uniform(rng, TRAIN_AIR_DENSITY),
            altitude: 0.0,
        };
        match (cell.axis, level) {
            (_, 0) | (None, _) | (Some(0), _) => {}
            (Some(1), l) => inst.gravity = GRAVITY_LEVELS[l - 1],
            (Some(2), l) => inst.air_density = AIR_DENSITY_LEVELS[l - 1],
            (Some(_), l) => inst.altitude = ALTITUDE_LEVELS[l - 1],
        }
        inst
    }

    fn validate(&self, inst: &RocketInstance) -> Result<(), String> {
        check("distance", inst.distance, (MIN_DISTANCE, MAX_DISTANCE), "m")?;
        check("flight_time", inst.flight_time, (MIN_FLIGHT_TIME, MAX_FLIGHT_TIME), "s")?;
        check("gravity", inst.gravity, (MIN_GRAVITY, MAX_GRAVITY), "m/s2")?;
        check("air_density", inst.air_density, (0.0, MAX_AIR_DENSITY), "kg/m3")?;
        check("altitude", inst.altitude, (0.0, MAX_ALTITUDE), "m")?;
        // Reachability in air, in the drag's own units of length and time.
        let k = drag_k(inst.air_density);
        if k > 0.0 {
            let (length, time) = (1.0 / k, 1.0 / (inst.gravity * k).sqrt());
            for (name, value) in [("distance", inst.distance), ("altitude", inst.altitude)] {
                if value > MAX_DRAG_LENGTHS * length {
                    return Err(format!(
                        "{name} {value} m is more than {MAX_DRAG_LENGTHS} drag lengths ({:.0} m at air_density {}): \
                         no launch reaches it",
                        MAX_DRAG_LENGTHS * length,
                        inst.air_density
                    ));
                }
            }
            if inst.flight_time > MAX_DRAG_TIMES * time {
                return Err(format!(
                    "flight_time {} s is more than {MAX_DRAG_TIMES} drag times ({:.1} s at gravity {} and air_density \
                     {}): no launch stays aloft that long",
                    inst.flight_time,
                    MAX_DRAG_TIMES * time,
                    inst.gravity,
                    inst.air_density
                ));
            }
        }
        Ok(())
    }

    fn limits(&self) -> &'static str {
        "distance 1-100000 m, flight_time 1-300 s (at least 100 integration steps of 0.01 s, at most half the 600 s \
         flight cap), gravity 0.1-300 m/s2, air_density 0-50 kg/m3, altitude 0-10000 m; in air, distance and \
         altitude each at most 3 drag lengths 1/k and flight_time at most 4 drag times 1/sqrt(g*k), past which no \
         launch reaches the target"
    }

    fn score(&self, inst: &RocketInstance, answer: &Launch) -> Outcome {
        // The rule: the simulated launch lands, within 5% of the target distance.
        let missed = Outcome::new(false, 1.0);
        if !answer.vx.is_finite() || !answer.vy.is_finite() {
            return missed;
        }
        let landing = simulate(&inst.env(), answer.vx, answer.vy);
        if !landing.landed || !landing.distance.is_finite() {
            return missed;
        }
        let miss = ((landing.distance - inst.distance).abs() / inst.distance).min(1.0);
        Outcome::new(miss <= SUCCESS_TOLERANCE, miss)
    }

    fn metric_name(&self) -> &'static str {
        "relative miss distance"
    }

    fn no_answer_metric(&self) -> f64 {
        1.0
    }

    fn metric_higher_is_better(&self) -> bool {
        false
    }

    fn work_name(&self) -> &'static str {
        "simulated trials"
    }

    fn solve_symbolic(&self, inst: &RocketInstance) -> (Launch, SolveInfo) {
        let env = inst.env();
        let mut shooter = Shooter { env, distance: inst.distance, time: inst.flight_time, trials: 0 };
        let (vx, vy) = vacuum_launch(&env, inst.distance, inst.flight_time);
        let mut p = [vx, vy];
        // In vacuum the closed form is exact and one trial confirms it; in air it is the starting guess.
        if let Some(r) = shooter.residual(p) {
            if !(inst.air_density == 0.0 && shooter.converged(r)) {
                p = shooter.refine(p, r);
            }
        }
        (Launch { vx: p[0], vy: p[1] }, SolveInfo { work: shooter.trials })
    }

    fn symbolic_description(&self) -> &'static str {
        "closed form in vacuum (one confirming trial); in air, Newton shooting on (vx, vy) from the vacuum launch \
         with a finite-difference Jacobian and step halving"
    }

    fn strict_success(&self, outcome: &Outcome) -> Option<bool> {
        Some(outcome.metric <= 0.01)
    }

    /// The flights of the correct launch (the hand-written solver's) and of the answer, with the target marked.
    fn render_svg(&self, inst: &RocketInstance, answer: Option<&Launch>) -> Option<String> {
        self.validate(inst).ok()?;
        let (correct, _) = self.solve_symbolic(inst);
        Some(picture::render(inst, &correct, answer))
    }

    /// Pluto (gravity level 4, 16× below training): where the networks' launches fly far off and the pictures
    /// show it.
    fn picture_cell(&self) -> Cell {
        Cell { axis: Some(1), level: 4 }
    }

    fn strict_name(&self) -> &'static str {
        "hits within 1%"
    }

    /// Networks see (target distance, flight time, gravity, air density, altitude) and output (vx, vy).
    fn encoding(&self) -> Encoding {
        Encoding::VecRegression(VecShape { inputs: 5, outputs: 2 })
    }

    fn encode_vec(&self, inst: &RocketInstance) -> Option<Vec<f32>> {
        Some(features(inst.distance, inst.flight_time, &inst.env()))
    }

    fn decode_vec(&self, _inst: &RocketInstance, output: &[f32]) -> Option<Launch> {
        match output {
            [vx, vy] => Some(Launch { vx: *vx as f64, vy: *vy as f64 }),
            _ => None,
        }
    }

    fn encode_vec_answer(&self, _inst: &RocketInstance, answer: &Launch) -> Option<Vec<f32>> {
        Some(vec![answer.vx as f32, answer.vy as f32])
    }

    /// The adversarial box moves the target: distance and flight time each by up to the success tolerance (5%,
    /// less 0.1% for rounding) of their own value; the world (gravity, air, altitude) does not move. A target
    /// moved that little is the same question up to the tolerance the scorer grants, and answers on it are judged
    /// against the moved target.
    fn attack_radius(&self, inst: &RocketInstance) -> Option<Vec<f32>> {
        let share = SUCCESS_TOLERANCE * (1.0 - 1e-3);
        Some(vec![(inst.distance * share) as f32, (inst.flight_time * share) as f32, 0.0, 0.0, 0.0])
    }

    fn attack_unit(&self) -> &'static str {
        "target distance and flight time each moved by up to 5% of their value (the success tolerance); the world \
         fixed; answers judged against the moved target"
    }

    /// The instance with the perturbed distance and flight time; `None` when the world features moved, either
    /// target moved by more than 5%, the result is invalid, or the features do not re-encode to themselves.
    fn attacked_instance(&self, inst: &RocketInstance, features: &[f32]) -> Option<RocketInstance> {
        let own = self.encode_vec(inst)?;
        if features.len() != own.len() || features.iter().any(|x| !x.is_finite()) || features[2..] != own[2..] {
            return None;
        }
        let distance = inst.distance + f64::from(features[0] - own[0]);
        let flight_time = inst.flight_time + f64::from(features[1] - own[1]);
        let within = |moved: f64, at: f64| (moved - at).abs() <= SUCCESS_TOLERANCE * at;
        if !within(distance, inst.distance) || !within(flight_time, inst.flight_time) {
            return None;
        }
        let moved = RocketInstance { distance, flight_time, ..inst.clone() };
        self.validate(&moved).ok()?;
        // The decoding above assumes features linear in distance and time; check that they still are.
        let again = self.encode_vec(&moved)?;
        let same = again.iter().zip(features).all(|(a, f)| (a - f).abs() <= 1e-5 * f.abs().max(1.0));
        same.then_some(moved)
    }

    /// Networks learn from recorded launch trials: in each training instance's environment, a launch velocity
    /// drawn uniformly from [`TRIAL_VX`] × [`TRIAL_VY`] (a box covering every launch the training targets need,
    /// 15-120 m/s on both components) is simulated, and the example maps where it landed (distance, flight time)
    /// and the environment back to the launch. One simulation is one trial.
    fn vec_training_set(&self, train: &[RocketInstance], rng: &mut ChaCha8Rng) -> (Vec<VecExample>, u64) {
        let mut out = Vec::with_capacity(train.len());
        let mut trials = 0;
        for inst in train {
            let env = inst.env();
            let vx = rng.random_range(TRIAL_VX.0..=TRIAL_VX.1);
            let vy = rng.random_range(TRIAL_VY.0..=TRIAL_VY.1);
            trials += 1;
            let landing = simulate(&env, vx, vy);
            if landing.landed {
                out.push(VecExample {
                    input: features(landing.distance, landing.time, &env),
                    target: vec![vx as f32, vy as f32],
                });
            }
        }
        (out, trials)
    }
}

/// Range of the horizontal launch speed in training trials, m/s.
pub const TRIAL_VX: (f64, f64) = (10.0, 130.0);
/// Range of the vertical launch speed in training trials, m/s.
pub const TRIAL_VY: (f64, f64) = (10.0, 130.0);

fn features(distance: f64, time: f64, env: &Env) -> Vec<f32> {
    [distance, time, env.gravity, env.air_density, env.altitude].iter().map(|&x| x as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inst(distance: f64, flight_time: f64, gravity: f64, air_density: f64, altitude: f64) -> RocketInstance {
        RocketInstance { distance, flight_time, gravity, air_density, altitude }
    }

    fn env(gravity: f64, air_density: f64, altitude: f64) -> Env {
        Env { gravity, air_density, altitude }
    }

    /// Specific mechanical energy ½|v|² + g·y.
    fn energy(g: f64, s: [f64; 4]) -> f64 {
        0.5 * (s[2] * s[2] + s[3] * s[3]) + g * s[1]
    }

    /// Most simulated trials the solver may spend on a generated instance. Over 200 seeded instances per cell
    /// (1,000 at levels 0 and 4) the most seen was 13, at distance L4 (mean 10.0); level 0 took at most 7 (mean
    /// 7.0), vacuum always 1.
    const MAX_WORK: u64 = 20;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn solver_lands_every_generated_instance_within_a_tenth_of_a_percent(seed in any::<u64>()) {
            let t = Rocket;
            for cell in Cell::grid(AXES.len()) {
                let i = t.generate(cell, &mut driftbench_core::rng::stream(seed, t.id(), "prop"));
                prop_assert!(t.validate(&i).is_ok(), "{i:?}");
                let (a, info) = t.solve_symbolic(&i);
                let o = t.score(&i, &a);
                prop_assert!(o.success && o.metric <= 1e-3, "{cell:?} {i:?}: {a:?} missed by {}", o.metric);
                let l = simulate(&i.env(), a.vx, a.vy);
                prop_assert!((l.time - i.flight_time).abs() <= 1e-3 * i.flight_time, "{i:?}: time {}", l.time);
                prop_assert!(info.work <= MAX_WORK, "{cell:?} {i:?}: {} trials", info.work);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn drag_shortens_the_range_and_never_adds_energy(
            vx in 1.0..500.0f64, vy in 1.0..300.0f64, h0 in 0.0..600.0f64, rho in 0.1..5.0f64,
        ) {
            let vacuum = simulate(&env(9.8, 0.0, h0), vx, vy);
            let mut last = f64::INFINITY;
            let mut gained = 0.0f64;
            let air = fly(&env(9.8, rho, h0), vx, vy, |_, s| {
                let e = energy(9.8, s);
                gained = gained.max(e - last);
                last = e;
            });
            prop_assert!(vacuum.landed && air.landed);
            prop_assert!(air.distance < vacuum.distance, "{} >= {}", air.distance, vacuum.distance);
            // Allow only rounding: a few ulps of the launch energy.
            prop_assert!(gained <= 1e-12 * energy(9.8, [0.0, h0, vx, vy]), "energy rose by {gained}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn attacked_instances_move_only_the_target_and_by_at_most_five_percent(
            seed in any::<u64>(), u in proptest::collection::vec(-1.0f32..=1.0, 5),
        ) {
            let t = Rocket;
            let i = t.generate(Cell::IN_DIST, &mut driftbench_core::rng::stream(seed, t.id(), "attack"));
            let x = t.encode_vec(&i).unwrap();
            let r = t.attack_radius(&i).unwrap();
            prop_assert_eq!(&r[2..], &[0.0; 3]);
            let moved: Vec<f32> = x.iter().zip(&r).zip(&u).map(|((x, r), u)| x + r * u).collect();
            let a = t.attacked_instance(&i, &moved).unwrap();
            prop_assert!(t.validate(&a).is_ok());
            prop_assert!((a.distance / i.distance - 1.0).abs() <= SUCCESS_TOLERANCE);
            prop_assert!((a.flight_time / i.flight_time - 1.0).abs() <= SUCCESS_TOLERANCE);
            prop_assert_eq!((a.gravity, a.air_density, a.altitude), (i.gravity, i.air_density, i.altitude));
            let again = t.encode_vec(&a).unwrap();
            prop_assert!(again.iter().zip(&moved).all(|(a, m)| (a - m).abs() <= 1e-6 * m.abs().max(1.0)), "{again:?}");
            // The symbolic solver still solves the moved target.
            let (answer, _) = t.solve_symbolic(&a);
            prop_assert!(t.score(&a, &answer).success);
        }
    }

    /// A float of any kind (NaN, infinities, subnormals, extremes), or one near the valid range `lo..=hi`.
    fn any_float(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            Just(lo),
            Just(hi),
            Just(0.0),
            Just(5e-324),
            Just(f64::MAX),
            (lo.max(1e-3).ln()..=(2.0 * hi).ln()).prop_map(f64::exp),
        ]
    }

    /// One of the valid range's ends, or a log-uniform value inside it.
    fn inside(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
        prop_oneof![Just(lo), Just(hi), (lo.max(1e-2).ln()..=hi.ln()).prop_map(f64::exp)]
    }

    fn check_contract(i: &RocketInstance) -> Result<bool, TestCaseError> {
        let t = Rocket;
        match t.validate(i) {
            Ok(()) => {
                let (a, _) = t.solve_symbolic(i);
                let o = t.score(i, &a);
                prop_assert!(o.success && o.metric.is_finite(), "{i:?}: {a:?} missed by {}", o.metric);
                Ok(true)
            }
            Err(e) => {
                let fields = ["distance", "flight_time", "gravity", "air_density", "altitude"];
                prop_assert!(fields.iter().any(|f| e.starts_with(f)), "{e}");
                // The solver and the scorer still neither panic nor score NaN.
                let (a, _) = t.solve_symbolic(i);
                prop_assert!(t.score(i, &a).metric.is_finite());
                Ok(false)
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The contract over the whole instance type: any floats at all, accepted ones solved, rejected ones
        /// rejected for a named field.
        #[test]
        fn validate_accepts_exactly_what_the_solver_lands(
            d in any_float(MIN_DISTANCE, MAX_DISTANCE), tf in any_float(MIN_FLIGHT_TIME, MAX_FLIGHT_TIME),
            g in any_float(MIN_GRAVITY, MAX_GRAVITY), rho in any_float(0.0, MAX_AIR_DENSITY),
            h in any_float(0.0, MAX_ALTITUDE),
        ) {
            check_contract(&inst(d, tf, g, rho, h))?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// The limits are ones the symbolic solver meets: draws across the whole valid box (its corners included),
        /// vacuum and air, every accepted one landed.
        #[test]
        fn the_solver_lands_every_target_within_the_limits(
            d in inside(MIN_DISTANCE, MAX_DISTANCE), tf in inside(MIN_FLIGHT_TIME, MAX_FLIGHT_TIME),
            g in inside(MIN_GRAVITY, MAX_GRAVITY), rho in prop_oneof![Just(0.0), inside(1e-2, MAX_AIR_DENSITY)],
            h in prop_oneof![Just(0.0), inside(1e-2, MAX_ALTITUDE)],
        ) {
            check_contract(&inst(d, tf, g, rho, h))?;
        }
    }

    /// Defect: any flight time in (0, 600) s was accepted, including times below the 0.01 s step, where the solver
    /// missed by 100% (and at T = 5e-324 answered vx = +inf).
    #[test]
    fn flight_times_below_a_hundred_steps_are_refused() {
        let t = Rocket;
        for tf in [5e-324, 1e-9, 0.005, DT, 0.5, 0.999] {
            let e = t.validate(&inst(500.0, tf, 9.8, 1.2, 0.0)).unwrap_err();
            assert!(e.starts_with("flight_time "), "{e}");
        }
        for tf in [MIN_FLIGHT_TIME, 3.0, MAX_FLIGHT_TIME] {
            let i = inst(50.0, tf, 0.62, 0.0, 0.0);
            assert!(t.validate(&i).is_ok());
            let (a, _) = t.solve_symbolic(&i);
            assert!(t.score(&i, &a).success && a.vx.is_finite() && a.vy.is_finite(), "{i:?}: {a:?}");
        }
        assert!(t.validate(&inst(500.0, MAX_FLIGHT_TIME + 1.0, 9.8, 0.0, 0.0)).is_err());
    }

    /// Defect: targets no launch reaches (100 km through air of density 50) were accepted.
    #[test]
    fn unreachable_targets_are_refused() {
        let t = Rocket;
        let far = t.validate(&inst(100_000.0, 60.0, 9.8, 50.0, 0.0)).unwrap_err();
        assert!(far.starts_with("distance ") && far.contains("air_density 50"), "{far}");
        let high = t.validate(&inst(100.0, 20.0, 9.8, 50.0, 5_000.0)).unwrap_err();
        assert!(high.starts_with("altitude "), "{high}");
        let long = t.validate(&inst(500.0, 250.0, 9.8, 1.2, 0.0)).unwrap_err();
        assert!(long.starts_with("flight_time ") && long.contains("drag times"), "{long}");
        // The same targets in vacuum are fine.
        for i in [inst(100_000.0, 60.0, 9.8, 0.0, 0.0), inst(500.0, 250.0, 9.8, 0.0, 5_000.0)] {
            assert!(t.validate(&i).is_ok());
            let (a, _) = t.solve_symbolic(&i);
            assert!(t.score(&i, &a).success, "{i:?}");
        }
    }

    #[test]
    fn every_generated_level_is_within_the_limits_with_room() {
        // The farthest levels: the drag depth, drag time and altitude margins the test sets use.
        let t = Rocket;
        let mut rng = driftbench_core::rng::stream(3, "test", "limits");
        let (mut depth, mut time, mut height) = (0f64, 0f64, 0f64);
        for cell in Cell::grid(AXES.len()) {
            for _ in 0..300 {
                let i = t.generate(cell, &mut rng);
                assert!(t.validate(&i).is_ok(), "{i:?}");
                let k = drag_k(i.air_density);
                depth = depth.max(k * i.distance);
                time = time.max(i.flight_time * (i.gravity * k).sqrt());
                height = height.max(k * i.altitude);
            }
        }
        assert!(
            depth < MAX_DRAG_LENGTHS / 2.0 && time < MAX_DRAG_TIMES * 0.75 && height < 1.0,
            "{depth} {time} {height}"
        );
    }

    #[test]
    fn attacked_instance_refuses_moves_outside_the_box() {
        let t = Rocket;
        let i = inst(500.0, 10.0, 9.8, 1.2, 0.0);
        assert_eq!(t.attacked_instance(&i, &t.encode_vec(&i).unwrap()), Some(i.clone()));
        let r = t.attack_radius(&i).unwrap();
        assert!((r[0] - 25.0 * 0.999).abs() < 1e-3 && (r[1] - 0.5 * 0.999).abs() < 1e-5);
        for bad in [
            vec![530.0, 10.0, 9.8, 1.2, 0.0],
            vec![500.0, 9.4, 9.8, 1.2, 0.0],
            vec![500.0, 10.0, 9.9, 1.2, 0.0],
            vec![500.0, 10.0, 9.8, 1.2],
            vec![f32::NAN, 10.0, 9.8, 1.2, 0.0],
        ] {
            assert!(t.attacked_instance(&i, &bad).is_none(), "{bad:?}");
        }
        let answer = Launch { vx: 40.0, vy: 50.0 };
        assert_eq!(t.decode_vec(&i, &t.encode_vec_answer(&i, &answer).unwrap()), Some(answer));
    }

    #[test]
    fn rk4_follows_the_vacuum_parabola() {
        let cases =
            [(120.0, 45.0, 9.8, 0.0), (30.0, 80.0, 1.62, 0.0), (500.0, -20.0, 24.79, 600.0), (5.0, 3.0, 0.62, 150.0)];
        for (vx0, vy0, g, h0) in cases {
            let mut seen = 0;
            fly(&env(g, 0.0, h0), vx0, vy0, |t, s| {
                // Whole, half and quarter seconds.
                if ((t * 4.0).round() - t * 4.0).abs() > 1e-9 {
                    return;
                }
                seen += 1;
                let exact = [vx0 * t, h0 + vy0 * t - g * t * t / 2.0, vx0, vy0 - g * t];
                for (got, want) in s.iter().zip(exact) {
                    assert!((got - want).abs() <= 1e-6 * want.abs().max(1.0), "t={t}: {s:?} vs {exact:?}");
                }
            });
            assert!(seen >= 4, "{seen} checkpoints");
        }
    }

    #[test]
    fn vacuum_landing_matches_the_closed_form() {
        let cases =
            [(100.0, 20.0, 9.8, 0.0), (10.0, 70.0, 9.8, 0.0), (300.0, -50.0, 9.8, 600.0), (40.0, 3.0, 1.62, 50.0)];
        for (vx0, vy0, g, h0) in cases {
            let l = simulate(&env(g, 0.0, h0), vx0, vy0);
            let v_land: f64 = (vy0 * vy0 + 2.0 * g * h0).sqrt();
            let t: f64 = (vy0 + v_land) / g;
            // Interpolating a parabola by its chord misplaces y by at most g·dt²/8.
            let dt_bound = g * DT * DT / 8.0 / v_land + 1e-9;
            assert!(l.landed, "{l:?}");
            assert!((l.time - t).abs() <= dt_bound, "time {} vs {t}", l.time);
            assert!((l.distance - vx0 * t).abs() <= vx0 * dt_bound + 1e-9, "distance {} vs {}", l.distance, vx0 * t);
            // And the inverse: vacuum_launch of the closed-form target gives back the launch.
            let (vx, vy) = vacuum_launch(&env(g, 0.0, h0), vx0 * t, t);
            assert!((vx - vx0).abs() < 1e-9 && (vy - vy0).abs() < 1e-9, "({vx}, {vy})");
        }
    }

    #[test]
    fn flights_past_the_cap_or_non_finite_do_not_land() {
        let vacuum = env(9.8, 0.0, 0.0);
        let l = simulate(&vacuum, 10.0, 5000.0);
        assert_eq!((l.landed, l.time), (false, FLIGHT_CAP));
        assert_eq!(f64::from(MAX_STEPS) * DT, FLIGHT_CAP);
        assert!(!simulate(&vacuum, f64::NAN, 10.0).landed);
        assert!(!simulate(&env(9.8, 1.2, 0.0), 1e200, 1e200).landed);
        // Straight down from the ground lands at once.
        let l = simulate(&vacuum, 10.0, -1.0);
        assert!(l.landed && l.distance == 0.0 && l.time == 0.0, "{l:?}");
    }

    #[test]
    fn drag_constant_is_that_of_the_stated_sphere() {
        assert_eq!(drag_k(0.0), 0.0);
        assert!((drag_k(1.0) - 2.2372e-4).abs() < 1e-8, "{}", drag_k(1.0));
        assert!((drag_k(2.4) - 2.0 * drag_k(1.2)).abs() < 1e-15);
    }

    #[test]
    fn scorer_accepts_the_solver_and_rejects_misses() {
        let t = Rocket;
        let air = inst(800.0, 12.0, 9.8, 1.2, 0.0);
        let vacuum = inst(800.0, 12.0, 9.8, 0.0, 0.0);
        let (a, _) = t.solve_symbolic(&air);
        let (vx, vy) = (a.vx, a.vy);
        // (label, instance, answer, success, metric range)
        type Row<'a> = (&'a str, &'a RocketInstance, Launch, bool, (f64, f64));
        let table: &[Row] = &[
            ("solver", &air, Launch { vx, vy }, true, (0.0, 1e-3)),
            ("2% faster horizontally", &air, Launch { vx: vx * 1.02, vy }, true, (0.01, 0.03)),
            ("10% too fast", &air, Launch { vx: vx * 1.1, vy: vy * 1.1 }, false, (0.1, 0.3)),
            ("half as fast", &air, Launch { vx: vx / 2.0, vy: vy / 2.0 }, false, (0.5, 0.9)),
            ("far too fast", &air, Launch { vx: vx * 10.0, vy }, false, (1.0, 1.0)),
            ("NaN", &air, Launch { vx: f64::NAN, vy }, false, (1.0, 1.0)),
            ("NaN vy", &air, Launch { vx, vy: f64::NAN }, false, (1.0, 1.0)),
            ("infinite", &air, Launch { vx: f64::INFINITY, vy: f64::NEG_INFINITY }, false, (1.0, 1.0)),
            ("straight down", &air, Launch { vx: 0.0, vy: -10.0 }, false, (1.0, 1.0)),
            ("never lands", &vacuum, Launch { vx: 10.0, vy: 5000.0 }, false, (1.0, 1.0)),
            ("vacuum closed form", &vacuum, Launch { vx: 800.0 / 12.0, vy: 9.8 * 6.0 }, true, (0.0, 1e-6)),
        ];
        for (label, i, answer, ok, (lo, hi)) in table {
            let o = t.score(i, answer);
            assert_eq!(o.success, *ok, "{label}: {o:?}");
            assert!((*lo..=*hi).contains(&o.metric), "{label}: metric {}", o.metric);
        }
    }

    #[test]
    fn vacuum_is_solved_by_the_closed_form_in_one_trial() {
        let t = Rocket;
        let i = inst(1234.5, 17.0, 3.71, 0.0, 300.0);
        let (a, info) = t.solve_symbolic(&i);
        assert_eq!(info.work, 1);
        assert_eq!((a.vx, a.vy), vacuum_launch(&i.env(), 1234.5, 17.0));
        assert!(t.score(&i, &a).success);
    }

    #[test]
    fn validation_rejects_bad_instances() {
        let t = Rocket;
        let good = inst(500.0, 10.0, 9.8, 1.2, 0.0);
        assert!(t.validate(&good).is_ok());
        assert!(t.validate(&inst(500.0, 10.0, 9.8, 0.0, 0.0)).is_ok());
        let bad = [
            inst(0.0, 10.0, 9.8, 1.2, 0.0),
            inst(-5.0, 10.0, 9.8, 1.2, 0.0),
            inst(f64::NAN, 10.0, 9.8, 1.2, 0.0),
            inst(f64::INFINITY, 10.0, 9.8, 1.2, 0.0),
            inst(1e9, 10.0, 9.8, 1.2, 0.0),
            inst(500.0, 0.0, 9.8, 1.2, 0.0),
            inst(500.0, -1.0, 9.8, 1.2, 0.0),
            inst(500.0, FLIGHT_CAP, 9.8, 1.2, 0.0),
            inst(500.0, f64::NAN, 9.8, 1.2, 0.0),
            inst(500.0, 10.0, 0.0, 1.2, 0.0),
            inst(500.0, 10.0, -9.8, 1.2, 0.0),
            inst(500.0, 10.0, 1e4, 1.2, 0.0),
            inst(500.0, 10.0, f64::INFINITY, 1.2, 0.0),
            inst(500.0, 10.0, 9.8, -0.1, 0.0),
            inst(500.0, 10.0, 9.8, 1e3, 0.0),
            inst(500.0, 10.0, 9.8, f64::NAN, 0.0),
            inst(500.0, 10.0, 9.8, 1.2, -1.0),
            inst(500.0, 10.0, 9.8, 1.2, 1e6),
            inst(500.0, 10.0, 9.8, 1.2, f64::NAN),
        ];
        for i in bad {
            assert!(t.validate(&i).is_err(), "{i:?}");
        }
    }

    #[test]
    fn levels_have_the_stated_values() {
        let t = Rocket;
        let mut rng = driftbench_core::rng::stream(7, "test", "levels");
        let within = |x: f64, (lo, hi): (f64, f64)| (lo..=hi).contains(&x);
        for cell in Cell::grid(AXES.len()) {
            for _ in 0..200 {
                let i = t.generate(cell, &mut rng);
                let floats = [i.distance, i.flight_time, i.gravity, i.air_density, i.altitude];
                assert!(floats.iter().all(|&x| round3(x) == x), "{i:?} has more than 3 decimals");
                let level = cell.level as usize;
                let (d, g, rho, h0) = match cell.axis {
                    Some(0) => (DISTANCE_LEVELS[level - 1], None, None, 0.0),
                    Some(1) => (TRAIN_DISTANCE, Some(GRAVITY_LEVELS[level - 1]), None, 0.0),
                    Some(2) => (TRAIN_DISTANCE, None, Some(AIR_DENSITY_LEVELS[level - 1]), 0.0),
                    Some(_) => (TRAIN_DISTANCE, None, None, ALTITUDE_LEVELS[level - 1]),
                    None => (TRAIN_DISTANCE, None, None, 0.0),
                };
                assert!(within(i.distance, d), "{cell:?} {i:?}");
                let u = i.flight_time / i.distance.sqrt();
                let slack = 1e-3 / i.distance.sqrt();
                assert!(within(u, (TIME_FACTOR.0 - slack, TIME_FACTOR.1 + slack)), "{cell:?} {i:?}");
                assert!(g.map_or(within(i.gravity, TRAIN_GRAVITY), |g| i.gravity == g), "{cell:?} {i:?}");
                assert!(rho.map_or(within(i.air_density, TRAIN_AIR_DENSITY), |r| i.air_density == r), "{cell:?} {i:?}");
                assert_eq!(i.altitude, h0, "{cell:?}");
            }
        }
        assert_eq!(GRAVITY_LEVELS, [3.71, 1.62, 24.79, 0.62]);
        assert_eq!(AIR_DENSITY_LEVELS, [0.0, 0.5, 2.5, 5.0]);
        assert_eq!(ALTITUDE_LEVELS, [50.0, 150.0, 300.0, 600.0]);
        assert_eq!(DISTANCE_LEVELS[3], (3500.0, 5000.0));
    }
}
