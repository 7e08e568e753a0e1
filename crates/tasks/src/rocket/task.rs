//! The `rocket-v1` task: drift axes, instance drawing, validation, scoring and the vector encoding.

use super::*;
use rayon::prelude::*;

/// The rocket task.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rocket;

const TRAINING: &str = "training: D 100-1000 m, T = u*sqrt(D) with u 0.3-0.7, g 9.7-9.9, air 1.1-1.3 kg/m3, altitude 0";

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
        if !answer.vx.is_finite() || !answer.vy.is_finite() {
            return MISSED;
        }
        judge(inst, simulate(&inst.env(), answer.vx, answer.vy))
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
                    (Some(_), Some(l)) => judge(inst, l),
                })
            })
            .collect()
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
}

impl VecTask for Rocket {
    fn vec_example_names(&self) -> (&'static str, &'static str) {
        ("recorded trial", "recorded trials")
    }
    /// Networks see (target distance, flight time, gravity, air density, altitude) and output (vx, vy).
    fn vec_shape(&self) -> VecShape {
        VecShape { inputs: 5, outputs: 2 }
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

    /// Networks learn from recorded launch trials: in each training instance's environment, a launch velocity
    /// drawn uniformly from [`TRIAL_VX`] × [`TRIAL_VY`] (a box covering every launch the training targets need,
    /// 15-120 m/s on both components) is simulated, and the example maps where it landed (distance, flight time)
    /// and the environment back to the launch. One simulation is one trial.
    fn vec_training_set(&self, train: &[RocketInstance], rng: &mut ChaCha8Rng) -> (Vec<VecExample>, u64) {
        // The launches are drawn first (the draws do not depend on the landings), then flown side by side.
        let launches: Vec<(Env, f64, f64)> = train
            .iter()
            .map(|inst| {
                let vx = rng.random_range(TRIAL_VX.0..=TRIAL_VX.1);
                let vy = rng.random_range(TRIAL_VY.0..=TRIAL_VY.1);
                (inst.env(), vx, vy)
            })
            .collect();
        let out = launches
            .iter()
            .zip(simulate_many(&launches))
            .filter(|(_, landing)| landing.landed)
            .map(|((env, vx, vy), landing)| VecExample {
                input: features(landing.distance, landing.time, env),
                target: vec![*vx as f32, *vy as f32],
            })
            .collect();
        (out, train.len() as u64)
    }
}

impl AttackTask for Rocket {
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

fn features(distance: f64, time: f64, env: &Env) -> Vec<f32> {
    [distance, time, env.gravity, env.air_density, env.altitude].iter().map(|&x| x as f32).collect()
}

/// Instances whose flights share one set of lanes (a thread's share of a batch).
const BATCH: usize = 256;

/// The outcome of an answer that does not land (or is not finite).
const MISSED: Outcome = Outcome { success: false, metric: 1.0, failure: None };

/// The scoring rule on a simulated landing: it landed, within 5% of the target distance.
fn judge(inst: &RocketInstance, landing: Landing) -> Outcome {
    if !landing.landed || !landing.distance.is_finite() {
        return MISSED;
    }
    let miss = ((landing.distance - inst.distance).abs() / inst.distance).min(1.0);
    Outcome::new(miss <= SUCCESS_TOLERANCE, miss)
}
