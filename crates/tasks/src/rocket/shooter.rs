//! The symbolic solver: damped Newton shooting on the launch velocity from the vacuum solution.

use super::flight::simulate;
use super::instance::{Env, Landing, Launch};
use super::lanes;
use super::{FD_STEP, MAX_HALVINGS, MAX_NEWTON_STEPS, SOLVE_TOLERANCE};

/// Newton shooting on (vx0, vy0): residual (landing distance − D, landing time − T), forward-difference Jacobian,
/// steps halved until they reduce the scaled residual. Counts every simulated trial.
pub(super) struct Shooter {
    pub(super) env: Env,
    pub(super) distance: f64,
    pub(super) time: f64,
    pub(super) trials: u64,
}

impl Shooter {
    /// The residual of launch `p`, or `None` if it does not land.
    pub(super) fn residual(&mut self, p: [f64; 2]) -> Option<[f64; 2]> {
        self.trials += 1;
        let l = simulate(&self.env, p[0], p[1]);
        (l.landed && l.distance.is_finite()).then_some([l.distance - self.distance, l.time - self.time])
    }

    pub(super) fn converged(&self, r: [f64; 2]) -> bool {
        r[0].abs() <= SOLVE_TOLERANCE * self.distance && r[1].abs() <= SOLVE_TOLERANCE * self.time
    }

    fn size(&self, r: [f64; 2]) -> f64 {
        (r[0] / self.distance).powi(2) + (r[1] / self.time).powi(2)
    }

    /// Refines `p` (whose residual is `r`) until it converges or stalls; returns the best launch found.
    pub(super) fn refine(&mut self, mut p: [f64; 2], mut r: [f64; 2]) -> [f64; 2] {
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

/// One shooting problem for [`shoot_many`]: the world, the target and the starting launch.
#[derive(Debug, Clone, Copy)]
pub struct ShootProblem {
    /// The world.
    pub env: Env,
    /// Target distance, m.
    pub distance: f64,
    /// Target flight time, s.
    pub time: f64,
    /// Starting launch (vx0, vy0).
    pub start: (f64, f64),
}

/// What a [`Newton`] run waits for.
enum Wait {
    /// The residual of the starting launch.
    Start,
    /// The two finite-difference residuals (x, then y) of the Jacobian at the current launch.
    Jacobian { h: [f64; 2], rx: Option<Option<[f64; 2]>>, ry: Option<Option<[f64; 2]>> },
    /// The residual of the current launch plus `lambda` times the Newton step, after `tries` halvings.
    Halving { step: [f64; 2], lambda: f64, tries: usize },
    /// Nothing: the run is over.
    Finished,
}

/// [`Shooter::refine`] as a state machine fed one residual at a time, so that many runs can share the lanes of
/// [`lanes::fly_lanes`]. It asks for exactly the launches, in the same order, that [`shoot`] simulates, and does
/// the same arithmetic on their landings.
struct Newton {
    shooter: Shooter,
    p: [f64; 2],
    r: [f64; 2],
    steps: usize,
    wait: Wait,
}

impl Newton {
    /// The residual of a landing, as [`Shooter::residual`] computes it.
    fn residual(&self, l: Landing) -> Option<[f64; 2]> {
        (l.landed && l.distance.is_finite()).then_some([l.distance - self.shooter.distance, l.time - self.shooter.time])
    }

    /// Starts a Newton step (or finishes), pushing the launches it needs.
    fn begin_step(&mut self, ask: &mut Vec<(u8, [f64; 2])>) {
        if self.steps == MAX_NEWTON_STEPS || self.shooter.converged(self.r) {
            self.wait = Wait::Finished;
            return;
        }
        let p = self.p;
        let h = [FD_STEP * (p[0].abs() + 1.0), FD_STEP * (p[1].abs() + 1.0)];
        self.shooter.trials += 2;
        ask.push((0, [p[0] + h[0], p[1]]));
        ask.push((1, [p[0], p[1] + h[1]]));
        self.wait = Wait::Jacobian { h, rx: None, ry: None };
    }

    /// Takes the landing of the launch asked for as `which`, pushing the launches to fly next.
    fn feed(&mut self, which: u8, landing: Landing, ask: &mut Vec<(u8, [f64; 2])>) {
        let res = self.residual(landing);
        match std::mem::replace(&mut self.wait, Wait::Finished) {
            Wait::Start => {
                if let Some(r) = res {
                    self.r = r;
                    self.begin_step(ask);
                }
            }
            Wait::Jacobian { h, mut rx, mut ry } => {
                if which == 0 {
                    rx = Some(res);
                } else {
                    ry = Some(res);
                }
                let (Some(rx), Some(ry)) = (rx, ry) else {
                    self.wait = Wait::Jacobian { h, rx, ry };
                    return;
                };
                let (Some(rx), Some(ry)) = (rx, ry) else { return };
                let (p, r) = (self.p, self.r);
                let j =
                    [[(rx[0] - r[0]) / h[0], (ry[0] - r[0]) / h[1]], [(rx[1] - r[1]) / h[0], (ry[1] - r[1]) / h[1]]];
                let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
                if det == 0.0 || !det.is_finite() {
                    return;
                }
                let step = [-(j[1][1] * r[0] - j[0][1] * r[1]) / det, -(j[0][0] * r[1] - j[1][0] * r[0]) / det];
                self.shooter.trials += 1;
                ask.push((2, [p[0] + step[0], p[1] + step[1]]));
                self.wait = Wait::Halving { step, lambda: 1.0, tries: 0 };
            }
            Wait::Halving { step, lambda, tries } => {
                let p = self.p;
                if let Some(rq) = res {
                    if self.shooter.size(rq) < self.shooter.size(self.r) {
                        (self.p, self.r) = ([p[0] + lambda * step[0], p[1] + lambda * step[1]], rq);
                        self.steps += 1;
                        self.begin_step(ask);
                        return;
                    }
                }
                let (lambda, tries) = (lambda * 0.5, tries + 1);
                if tries == MAX_HALVINGS {
                    return;
                }
                self.shooter.trials += 1;
                ask.push((2, [p[0] + lambda * step[0], p[1] + lambda * step[1]]));
                self.wait = Wait::Halving { step, lambda, tries };
            }
            Wait::Finished => {}
        }
    }
}

/// [`shoot`] on many problems at once, their flights side by side in the lanes of [`lanes::fly_lanes`]: the same
/// launches and trial counts as [`shoot`] on each problem alone, bit for bit.
pub fn shoot_many(problems: &[ShootProblem]) -> Vec<(Launch, u64)> {
    struct Runs {
        runs: Vec<Newton>,
        /// Flights waiting for a lane: (run, which launch of the run, launch).
        queue: std::collections::VecDeque<(usize, u8, [f64; 2])>,
        ask: Vec<(u8, [f64; 2])>,
    }
    impl lanes::Flights for Runs {
        fn next(&mut self) -> Option<lanes::Flight> {
            let (run, which, p) = self.queue.pop_front()?;
            let env = self.runs[run].shooter.env;
            Some(lanes::Flight { tag: run * 4 + usize::from(which), env, vx: p[0], vy: p[1] })
        }
        fn landed(&mut self, tag: usize, landing: Landing) {
            let (run, which) = (tag / 4, (tag % 4) as u8);
            self.runs[run].feed(which, landing, &mut self.ask);
            for (w, p) in self.ask.drain(..) {
                self.queue.push_back((run, w, p));
            }
        }
    }
    let runs = problems
        .iter()
        .map(|pr| Newton {
            shooter: Shooter { env: pr.env, distance: pr.distance, time: pr.time, trials: 1 },
            p: [pr.start.0, pr.start.1],
            r: [0.0; 2],
            steps: 0,
            wait: Wait::Start,
        })
        .collect();
    let queue = problems.iter().enumerate().map(|(i, pr)| (i, 0, [pr.start.0, pr.start.1])).collect();
    let mut all = Runs { runs, queue, ask: Vec::new() };
    lanes::fly_lanes(&mut all);
    all.runs.iter().map(|n| (Launch { vx: n.p[0], vy: n.p[1] }, n.shooter.trials)).collect()
}
