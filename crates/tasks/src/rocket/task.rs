//! The task: drift axes, instance drawing, validation, scoring and the vector encoding, for every version (each
//! version's numbers and texts come from its [`Design`]; `rocket-v1`'s are here, `rocket-v2`'s in `v2.rs`).

use super::flight::{drag_k, simulate, vacuum_launch};
use super::instance::{Env, Landing, Launch, RocketInstance};
use super::lanes::simulate_many;
use super::shooter::{shoot_many, ShootProblem, Shooter};
use super::version::{Design, RocketTask, TrialDraw, Version, V1};
use super::{
    picture, AIR_DENSITY_LEVELS, ALTITUDE_LEVELS, DISTANCE_LEVELS, GRAVITY_LEVELS, MAX_AIR_DENSITY, MAX_ALTITUDE,
    MAX_DISTANCE, MAX_DRAG_LENGTHS, MAX_DRAG_TIMES, MAX_FLIGHT_TIME, MAX_GRAVITY, MIN_DISTANCE, MIN_FLIGHT_TIME,
    MIN_GRAVITY, STRICT_TOLERANCE, SUCCESS_TOLERANCE, TIME_FACTOR, TRAIN_AIR_DENSITY, TRAIN_DISTANCE, TRAIN_GRAVITY,
};
use driftbench_core::{
    AttackTask, AxisSpec, Cell, Feature, Outcome, Placement, SolveInfo, Task, VecExample, VecShape, VecTask,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

const TRAINING: &str = "training: D 100-1000 m, T = u*sqrt(D) with u 0.3-0.7, g 9.7-9.9, air 1.1-1.3 kg/m3, altitude 0";

impl Version for V1 {
    fn design() -> &'static Design {
        &V1_DESIGN
    }
}

/// `rocket-v1`'s design: the training world barely varies (altitude not at all), trials from a fixed box, the
/// flight time not judged.
pub(super) static V1_DESIGN: Design = Design {
    id: "rocket-v1",
    axes: &AXES,
    distance: TRAIN_DISTANCE,
    time_factor: TIME_FACTOR,
    gravity: TRAIN_GRAVITY,
    air_density: TRAIN_AIR_DENSITY,
    altitude: (0.0, 0.0),
    distance_levels: DISTANCE_LEVELS,
    gravity_levels: GRAVITY_LEVELS,
    air_density_levels: AIR_DENSITY_LEVELS,
    altitude_levels: ALTITUDE_LEVELS,
    trials: TrialDraw::Box { vx: TRIAL_VX, vy: TRIAL_VY },
    time_judged: false,
    metric_name: "relative miss distance",
    strict_name: "hits within 1%",
    placements: &[],
    features: &[],
    symbolic_observes: "the whole instance",
};

pub(super) static AXES: [AxisSpec; 4] = [
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

pub(super) fn round3(x: f64) -> f64 {
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

impl<V: Version> Task for RocketTask<V> {
    type Instance = RocketInstance;
    type Answer = Launch;

    fn id(&self) -> &'static str {
        self.design().id
    }

    fn description(&self) -> &'static str {
        "choose the launch velocity that lands a projectile under gravity and quadratic drag at a target distance \
         after a target flight time"
    }

    fn axes(&self) -> &'static [AxisSpec] {
        self.design().axes
    }

    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> RocketInstance {
        // Every cell draws the same numbers from the training distribution, in the same order, then its axis
        // overrides one parameter (the distance axis draws its distance from the level's range instead). A
        // training range that is a single point (v1's altitude) is not drawn.
        let d = self.design();
        let level = match cell.axis {
            None => 0,
            Some(_) => cell.level as usize,
        };
        let distance_range = match cell.axis {
            Some(0) if level > 0 => d.distance_levels[level - 1],
            _ => d.distance,
        };
        let distance = uniform(rng, distance_range);
        let flight_time = round3(rng.random_range(d.time_factor.0..=d.time_factor.1) * distance.sqrt());
        let mut inst = RocketInstance {
            distance,
            flight_time,
            gravity: uniform(rng, d.gravity),
            air_density: uniform(rng, d.air_density),
            altitude: d.altitude.0,
        };
        if d.altitude.0 < d.altitude.1 {
            inst.altitude = uniform(rng, d.altitude);
        }
        match (cell.axis, level) {
            (_, 0) | (None, _) | (Some(0), _) => {}
            (Some(1), l) => inst.gravity = d.gravity_levels[l - 1],
            (Some(2), l) => inst.air_density = d.air_density_levels[l - 1],
            (Some(_), l) => inst.altitude = d.altitude_levels[l - 1],
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
        if !answer.vx.is_finite() || !answer.vy.is_finite() {
            return MISSED;
        }
        judge(inst, simulate(&inst.env(), answer.vx, answer.vy), self.design().time_judged)
    }

    /// The simulations of many answers run side by side ([`simulate_many`]); the outcomes are those of
    /// [`Task::score`] on each, bit for bit.
    fn score_batch(&self, instances: &[RocketInstance], answers: &[Option<&Launch>]) -> Vec<Outcome> {
        instances
            .par_chunks(BATCH)
            .zip(answers.par_chunks(BATCH))
            .flat_map_iter(|(insts, answers)| {
                let flights: Vec<(usize, (Env, f64, f64))> = insts
                    .iter()
                    .zip(answers)
                    .enumerate()
                    .filter_map(|(k, (i, a))| {
                        a.filter(|a| a.vx.is_finite() && a.vy.is_finite()).map(|a| (k, (i.env(), a.vx, a.vy)))
                    })
                    .collect();
                let launches: Vec<_> = flights.iter().map(|(_, f)| *f).collect();
                let mut landings = vec![None; insts.len()];
                for ((k, _), l) in flights.iter().zip(simulate_many(&launches)) {
                    landings[*k] = Some(l);
                }
                insts.iter().zip(answers).zip(landings).map(|((inst, answer), landing)| match (answer, landing) {
                    (None, _) => Outcome::of(self, inst, None),
                    (Some(_), None) => MISSED,
                    (Some(_), Some(l)) => judge(inst, l, self.design().time_judged),
                })
            })
            .collect()
    }

    fn metric_name(&self) -> &'static str {
        self.design().metric_name
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

    /// The Newton runs of many instances share the lanes of [`shoot_many`]: the same answers and trial counts as
    /// [`Task::solve_symbolic`] on each.
    fn solve_symbolic_batch(&self, instances: &[RocketInstance]) -> Vec<(Launch, SolveInfo)> {
        instances
            .par_chunks(BATCH)
            .flat_map_iter(|insts| {
                let problems: Vec<ShootProblem> = insts
                    .iter()
                    .map(|i| {
                        let env = i.env();
                        let start = vacuum_launch(&env, i.distance, i.flight_time);
                        ShootProblem { env, distance: i.distance, time: i.flight_time, start }
                    })
                    .collect();
                shoot_many(&problems).into_iter().map(|(launch, trials)| (launch, SolveInfo { work: trials }))
            })
            .collect()
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

    /// The metric within 1%: the landing distance in v1; distance and flight time both in v2, whose metric is
    /// the larger of the two relative misses.
    fn strict_success(&self, outcome: &Outcome) -> Option<bool> {
        Some(outcome.metric <= STRICT_TOLERANCE)
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
        self.design().strict_name
    }

    fn placements(&self) -> &'static [Placement] {
        self.design().placements
    }

    fn features(&self) -> &'static [Feature] {
        self.design().features
    }

    fn measure(&self, inst: &RocketInstance) -> Vec<f64> {
        self.design().features.iter().map(|f| feature_value(f.name, inst)).collect()
    }

    fn symbolic_observes(&self) -> &'static str {
        self.design().symbolic_observes
    }
}

/// The value of the feature named `name` on `inst` (NaN for a name no version declares, which `driftbench
/// check` reports as not finite).
fn feature_value(name: &str, inst: &RocketInstance) -> f64 {
    match name {
        "distance" => inst.distance,
        "flight_time" => inst.flight_time,
        "time_factor" => inst.flight_time / inst.distance.sqrt(),
        "gravity" => inst.gravity,
        "air_density" => inst.air_density,
        "altitude" => inst.altitude,
        _ => f64::NAN,
    }
}

impl<V: Version> VecTask for RocketTask<V> {
    fn vec_example_names(&self) -> (&'static str, &'static str) {
        ("recorded trial", "recorded trials")
    }
    /// Networks see (target distance, flight time, gravity, air density, altitude) and output (vx, vy).
    fn vec_shape(&self) -> VecShape {
        VecShape { inputs: 5, outputs: 2 }
    }

    fn encode_vec(&self, inst: &RocketInstance) -> Option<Vec<f32>> {
        Some(encode(inst.distance, inst.flight_time, &inst.env()))
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

    /// Networks learn from recorded launch trials: in each training instance's environment (its target is not
    /// used), one launch velocity is drawn ([`TrialDraw`]: v1 uniformly from [`TRIAL_VX`] × [`TRIAL_VY`], a box
    /// covering every launch the training targets need; v2 aimed, keeping only landings within the training
    /// targets' range) and simulated, and the example maps where it landed (distance, flight time) and the
    /// environment back to the launch. One simulation is one trial, kept or not.
    fn vec_training_set(&self, train: &[RocketInstance], rng: &mut ChaCha8Rng) -> (Vec<VecExample>, u64) {
        let d = self.design();
        // The launches are drawn first (the draws do not depend on the landings), then flown side by side.
        let launches: Vec<(Env, f64, f64)> = train
            .iter()
            .map(|inst| {
                let env = inst.env();
                match d.trials {
                    TrialDraw::Box { vx, vy } => {
                        let vx = rng.random_range(vx.0..=vx.1);
                        let vy = rng.random_range(vy.0..=vy.1);
                        (env, vx, vy)
                    }
                    TrialDraw::Aimed { distance, time_factor } => {
                        let aim = rng.random_range(distance.0..=distance.1);
                        let u = rng.random_range(time_factor.0..=time_factor.1);
                        let (vx, vy) = vacuum_launch(&env, aim, u * aim.sqrt());
                        (env, vx, vy)
                    }
                }
            })
            .collect();
        let kept = |l: &Landing| match d.trials {
            TrialDraw::Box { .. } => true,
            TrialDraw::Aimed { .. } => {
                let u = l.time / l.distance.sqrt();
                (d.distance.0..=d.distance.1).contains(&l.distance) && (d.time_factor.0..=d.time_factor.1).contains(&u)
            }
        };
        let out = launches
            .iter()
            .zip(simulate_many(&launches))
            .filter(|(_, landing)| landing.landed && kept(landing))
            .map(|((env, vx, vy), landing)| VecExample {
                input: encode(landing.distance, landing.time, env),
                target: vec![*vx as f32, *vy as f32],
            })
            .collect();
        (out, train.len() as u64)
    }

    fn input_description(&self) -> &'static str {
        "target distance, flight time, gravity, air density and launch altitude"
    }
}

impl<V: Version> AttackTask for RocketTask<V> {
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
}

/// Range of the horizontal launch speed in training trials, m/s.
pub const TRIAL_VX: (f64, f64) = (10.0, 130.0);
/// Range of the vertical launch speed in training trials, m/s.
pub const TRIAL_VY: (f64, f64) = (10.0, 130.0);

/// The networks' input: (distance, flight time, gravity, air density, altitude) as they are, in SI units.
fn encode(distance: f64, time: f64, env: &Env) -> Vec<f32> {
    [distance, time, env.gravity, env.air_density, env.altitude].iter().map(|&x| x as f32).collect()
}

/// Instances whose flights share one set of lanes (a thread's share of a batch).
const BATCH: usize = 256;

/// The outcome of an answer that does not land (or is not finite).
const MISSED: Outcome = Outcome { success: false, metric: 1.0, failure: None };

/// The scoring rule on a simulated landing: it landed, within 5% of the target distance. The metric is the
/// relative miss in distance, capped at 1; where the flight time is judged (v2), the larger of that and the
/// relative miss in flight time, capped at 1.
fn judge(inst: &RocketInstance, landing: Landing, time_judged: bool) -> Outcome {
    if !landing.landed || !landing.distance.is_finite() {
        return MISSED;
    }
    let miss = ((landing.distance - inst.distance).abs() / inst.distance).min(1.0);
    let metric = if time_judged {
        miss.max(((landing.time - inst.flight_time).abs() / inst.flight_time).min(1.0))
    } else {
        miss
    };
    Outcome::new(miss <= SUCCESS_TOLERANCE, metric)
}
