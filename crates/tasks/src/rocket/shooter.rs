//! The symbolic solver: damped Newton shooting on the launch velocity from the vacuum solution.

use super::*;

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
