//! The flight model: a drag sphere under gravity, integrated with RK4 until it lands or the cap.

use super::instance::{Env, Landing};
use super::{DRAG_COEFFICIENT, DT, FLIGHT_CAP, MASS, MAX_STEPS, RADIUS};

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
pub(super) fn fly(env: &Env, vx0: f64, vy0: f64, mut visit: impl FnMut(f64, [f64; 4])) -> Landing {
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
