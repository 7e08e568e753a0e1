//! The Gymnasium-like world: reset, step, observations, and replaying an answer.

use super::city::Action;
use super::city::City;
use super::instance::NavInstance;
use super::traffic::{hits, Traffic};
use super::{
    DEATH_REWARD, GOAL_REWARD, GOAL_SCALE, GRID_CHANNELS, GRID_LOOKAHEAD, OBS_DIM, RADIUS, SHAPING_REWARD, STEP_REWARD,
    WINDOW, WINDOW_CELLS,
};
use driftbench_core::GridObservation;

/// What one [`World::step`] led to.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The observation after the step ([`OBS_DIM`] floats).
    pub obs: Vec<f32>,
    /// The step's reward (see the module docs).
    pub reward: f32,
    /// The episode ended by death or by reaching the goal.
    pub terminated: bool,
    /// The episode ended at the step limit.
    pub truncated: bool,
    /// The agent died.
    pub died: bool,
    /// The agent reached the goal alive.
    pub reached: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Running,
    Reached,
    Died,
    TimedOut,
}

/// A running episode, Gymnasium-like: [`World::reset`], then [`World::step`] until `terminated` or `truncated`.
/// Deterministic per instance.
#[derive(Debug, Clone)]
pub struct World {
    pub(super) city: City,
    pub(super) traffic: Traffic,
    pub(super) start: (i32, i32),
    pub(super) goal: (i32, i32),
    pub(super) max_steps: u32,
    /// Street distance to the goal of every cell, for the shaping reward.
    to_goal: Vec<u32>,
    pos: (i32, i32),
    t: u32,
    status: Status,
}

impl World {
    /// The world of `inst`, already reset.
    ///
    /// # Panics
    /// If the instance's sizes, speed, density or step limit are out of bounds, or its start or goal is off the
    /// map (see [`Navigation`]'s `validate`); a valid instance never panics. [`World::try_new`] returns an error
    /// instead.
    ///
    /// [`Navigation`]: super::Navigation
    pub fn new(inst: &NavInstance) -> World {
        match World::try_new(inst) {
            Ok(w) => w,
            Err(e) => panic!("navigation: malformed instance: {e}"),
        }
    }

    /// The world of `inst`, already reset; an error naming the field when the instance cannot have one (see
    /// [`World::new`]).
    pub fn try_new(inst: &NavInstance) -> Result<World, String> {
        inst.check_shape()?;
        let city = inst.city();
        for (name, (x, y)) in [("start", inst.start), ("goal", inst.goal)] {
            if !(0..city.width).contains(&x) || !(0..city.height).contains(&y) {
                // Off the map, the window and the distance table would be read out of bounds.
                return Err(format!("{name} ({x}, {y}) is off the {}x{} map", city.width, city.height));
            }
        }
        let traffic = Traffic::generate(inst, &city);
        Ok(World::from_parts(city, traffic, inst.start, inst.goal, inst.max_steps))
    }

    pub(super) fn from_parts(
        city: City,
        traffic: Traffic,
        start: (i32, i32),
        goal: (i32, i32),
        max_steps: u32,
    ) -> World {
        let to_goal = city.distances_from(goal);
        World { city, traffic, start, goal, max_steps, to_goal, pos: start, t: 0, status: Status::Running }
    }

    /// Starts the episode again and returns the first observation.
    pub fn reset(&mut self) -> Vec<f32> {
        self.pos = self.start;
        self.t = 0;
        self.status = Status::Running;
        self.observe()
    }

    /// Takes one action. Stepping a finished episode changes nothing: reward 0 and the final flags again.
    pub fn step(&mut self, action: Action) -> Step {
        let reward = self.advance(action);
        Step {
            obs: self.observe(),
            reward,
            terminated: matches!(self.status, Status::Reached | Status::Died),
            truncated: self.status == Status::TimedOut,
            died: self.status == Status::Died,
            reached: self.status == Status::Reached,
        }
    }

    /// Moves the agent and the cars one tick and returns the reward.
    fn advance(&mut self, action: Action) -> f32 {
        if self.status != Status::Running {
            return 0.0;
        }
        let (a, b) = (self.pos, self.city.moved(self.pos, action));
        let died = self.traffic.cars.iter().any(|car| hits(self.traffic.sweep(car, self.t).cells(), a, b));
        self.t += 1;
        self.pos = b;
        let mut reward = STEP_REWARD;
        if died {
            self.status = Status::Died;
            return reward + DEATH_REWARD;
        }
        let (before, after) = (self.to_goal[self.city.index(a)], self.to_goal[self.city.index(b)]);
        if before != u32::MAX && after != u32::MAX {
            reward += SHAPING_REWARD * (before as f32 - after as f32);
        }
        if b == self.goal {
            self.status = Status::Reached;
            reward += GOAL_REWARD;
        } else if self.t >= self.max_steps {
            self.status = Status::TimedOut;
        }
        reward
    }

    /// The current observation (layout in the module docs).
    pub fn observe(&self) -> Vec<f32> {
        let mut obs = vec![0.0; OBS_DIM];
        let (x, y) = self.pos;
        // Window index of a map cell, if it is in the window.
        let slot = |(cx, cy): (i32, i32)| -> Option<usize> {
            let (dx, dy) = (cx - x, cy - y);
            (dx.abs() <= RADIUS && dy.abs() <= RADIUS).then(|| ((dy + RADIUS) * WINDOW as i32 + dx + RADIUS) as usize)
        };
        for dy in -RADIUS..=RADIUS {
            for dx in -RADIUS..=RADIUS {
                let c = (x + dx, y + dy);
                let i = slot(c).expect("inside the window");
                if !self.city.is_street(c) {
                    obs[i] = 1.0;
                }
                if c == self.goal {
                    obs[3 * WINDOW_CELLS + i] = 1.0;
                }
            }
        }
        for car in &self.traffic.cars {
            let sweep = self.traffic.sweep(car, self.t);
            let q = sweep.cells();
            if let Some(i) = slot(q[0]) {
                obs[WINDOW_CELLS + i] = 1.0;
            }
            // The cells it ends the coming tick on or passes through: q1..qk (q0 if it does not move).
            for &c in &q[1.min(q.len() - 1)..] {
                if let Some(i) = slot(c) {
                    obs[2 * WINDOW_CELLS + i] = 1.0;
                }
            }
        }
        let offset = |d: i32| (d as f32 / GOAL_SCALE).clamp(-1.0, 1.0);
        obs[4 * WINDOW_CELLS] = offset(self.goal.0 - x);
        obs[4 * WINDOW_CELLS + 1] = offset(self.goal.1 - y);
        obs
    }

    /// The whole city as [`GRID_CHANNELS`] maps (layout in the module docs).
    pub fn observe_grid(&self) -> GridObservation {
        let (w, h) = (self.city.width() as usize, self.city.height() as usize);
        let plane = w * h;
        let mut data = vec![0.0; GRID_CHANNELS * plane];
        let at = |(x, y): (i32, i32)| -> Option<usize> {
            (x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h).then(|| y as usize * w + x as usize)
        };
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                if !self.city.is_street((x, y)) {
                    data[y as usize * w + x as usize] = 1.0;
                }
            }
        }
        if let Some(i) = at(self.goal) {
            data[plane + i] = 1.0;
        }
        for car in &self.traffic.cars {
            if let Some(i) = at(self.traffic.position(car, self.t)) {
                data[2 * plane + i] = 1.0;
            }
            for k in 0..GRID_LOOKAHEAD {
                let sweep = self.traffic.sweep(car, self.t + k as u32);
                let q = sweep.cells();
                for &c in &q[1.min(q.len() - 1)..] {
                    if let Some(i) = at(c) {
                        data[(3 + k) * plane + i] = 1.0;
                    }
                }
            }
        }
        let mut outside = vec![0.0; GRID_CHANNELS];
        outside[0] = 1.0;
        GridObservation {
            channels: GRID_CHANNELS,
            height: h,
            width: w,
            data,
            agent: (self.pos.0 as usize, self.pos.1 as usize),
            static_channels: 2,
            outside,
        }
    }

    /// The agent's cell.
    pub fn position(&self) -> (i32, i32) {
        self.pos
    }

    /// Ticks taken so far.
    pub fn tick(&self) -> u32 {
        self.t
    }

    /// Whether the episode has ended (goal, death or step limit).
    pub fn is_done(&self) -> bool {
        self.status != Status::Running
    }

    /// The city.
    pub fn city(&self) -> &City {
        &self.city
    }

    /// Where every car is at tick `t`, in the order the cars were drawn.
    pub fn cars_at(&self, t: u32) -> Vec<(i32, i32)> {
        self.traffic.cars.iter().map(|car| self.traffic.position(car, t)).collect()
    }
}

/// How a replayed route went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// It reached the goal alive.
    pub reached: bool,
    /// It died.
    pub died: bool,
    /// The step limit ran out first.
    pub timed_out: bool,
    /// Ticks taken until the episode ended (or the actions ran out: then none of the three flags is set).
    pub steps: usize,
    /// The agent's cell at every tick, from the start (so `steps + 1` cells).
    pub path: Vec<(i32, i32)>,
    /// Where it died.
    pub death_cell: Option<(i32, i32)>,
}

/// Plays `actions` in a fresh [`World`] of `inst`, stopping when the episode ends; later actions are ignored.
///
/// # Panics
/// As [`World::new`], on a malformed instance.
pub fn replay(inst: &NavInstance, actions: &[Action]) -> Replay {
    replay_in(World::new(inst), actions)
}

/// [`replay`] in a world already built (and reset) for the instance.
pub(super) fn replay_in(mut world: World, actions: &[Action]) -> Replay {
    let mut path = vec![world.pos];
    for &a in actions {
        if world.is_done() {
            break;
        }
        world.advance(a);
        path.push(world.pos);
    }
    let died = world.status == Status::Died;
    Replay {
        reached: world.status == Status::Reached,
        died,
        timed_out: world.status == Status::TimedOut,
        steps: world.t as usize,
        death_cell: died.then_some(world.pos),
        path,
    }
}
