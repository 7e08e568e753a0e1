//! Instances and answers: the environment, the target, the launch velocity and where a flight lands.

use serde::{Deserialize, Serialize};

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
    /// Whether the flight crossed the ground going down within [`FLIGHT_CAP`](super::FLIGHT_CAP) with a finite state.
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
