//! The symbolic solver: A* over (x, y, t) around the known traffic.

use super::city::Action;
use super::city::City;
use super::instance::NavInstance;
use super::traffic::Traffic;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Flag of a hazard layer: a car is on the cell at the end of the tick.
const END: u8 = 1 << 5;
/// Flag of a hazard layer: a car passes through the cell in the middle of a two-cell move.
const MID: u8 = 1 << 6;

/// Per-tick hazard maps for the planner, built lazily: for tick t, one byte per cell with [`END`], [`MID`] and,
/// in bit `d.index()`, whether a car stepped out of the cell in direction d during the tick. They answer the
/// death rules in constant time per move.
pub(super) struct Hazards<'a> {
    city: &'a City,
    traffic: &'a Traffic,
    flags: Vec<u8>,
}

impl<'a> Hazards<'a> {
    pub(super) fn new(city: &'a City, traffic: &'a Traffic) -> Self {
        Hazards { city, traffic, flags: Vec::new() }
    }

    pub(super) fn layer(&mut self, t: u32) -> &[u8] {
        let n = self.city.street.len();
        let t = t as usize;
        while self.flags.len() < (t + 1) * n {
            let tick = (self.flags.len() / n) as u32;
            let start = self.flags.len();
            self.flags.resize(start + n, 0);
            let layer = &mut self.flags[start..];
            for car in &self.traffic.cars {
                let sweep = self.traffic.sweep(car, tick);
                let q = sweep.cells();
                let k = q.len() - 1;
                layer[self.city.index(q[k])] |= END;
                for &c in q.iter().take(k).skip(1) {
                    layer[self.city.index(c)] |= MID;
                }
                for s in q.windows(2) {
                    let d =
                        Action::from_delta((s[1].0 - s[0].0, s[1].1 - s[0].1)).expect("cars move one cell at a time");
                    layer[self.city.index(s[0])] |= 1 << d.index();
                }
            }
        }
        &self.flags[t * n..(t + 1) * n]
    }
}

/// [`hits`] for every car at once, read off a hazard layer: `action` took the agent from cell index `a` to `b`.
pub(super) fn blocked(layer: &[u8], a: usize, b: usize, action: Action) -> bool {
    layer[b] & (END | MID) != 0
        || layer[a] & MID != 0
        || (a != b && action != Action::Wait && layer[b] & (1 << action.opposite().index()) != 0)
}

/// Space-time A*: the shortest safe route from `start` to `goal` within `max_steps` ticks, and the states expanded.
pub(super) fn search(
    city: &City,
    traffic: &Traffic,
    start: (i32, i32),
    t0: u32,
    goal: (i32, i32),
    max_steps: u32,
) -> (Option<Vec<Action>>, u64) {
    Planner::new(city, traffic, goal, max_steps).search(start, t0)
}

/// [`search`] on one world from many states (the expert along a run): the goal distances, the hazard layers and
/// the table of visited states are built once and shared by every search.
pub(super) struct Planner<'a> {
    city: &'a City,
    hazards: Hazards<'a>,
    to_goal: Vec<u32>,
    goal: (i32, i32),
    max_steps: u32,
    /// seen[t·n + cell]: 0 unseen, else 1 + the index of the action that first reached the state (6 at the root);
    /// all zeros between searches (`touched` lists the entries a search set).
    seen: Vec<u8>,
    touched: Vec<usize>,
}

impl<'a> Planner<'a> {
    pub(super) fn new(city: &'a City, traffic: &'a Traffic, goal: (i32, i32), max_steps: u32) -> Self {
        Planner {
            city,
            hazards: Hazards::new(city, traffic),
            to_goal: city.distances_from(goal),
            goal,
            max_steps,
            seen: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// [`search`] from `start` at tick `t0`.
    pub(super) fn search(&mut self, start: (i32, i32), t0: u32) -> (Option<Vec<Action>>, u64) {
        let (city, goal, max_steps) = (self.city, self.goal, self.max_steps);
        if !city.is_street(start) || !city.is_street(goal) || t0 > max_steps {
            return (None, 0);
        }
        let to_goal = &self.to_goal;
        let n = city.street.len();
        let (s, g) = (city.index(start), city.index(goal));
        if t0.saturating_add(to_goal[s]) > max_steps {
            return (None, 0);
        }
        if self.seen.is_empty() {
            self.seen = vec![0u8; (max_steps as usize + 1) * n];
        }
        let seen = &mut self.seen;
        let touched = &mut self.touched;
        seen[t0 as usize * n + s] = 6;
        touched.push(t0 as usize * n + s);
        // Lowest f first; among equal f the latest tick (nearest the goal), then the lowest cell, for determinism.
        let mut open = BinaryHeap::from([Reverse((t0 + to_goal[s], Reverse(t0), s as u32))]);
        let mut expanded = 0u64;
        let mut found = None;
        while let Some(Reverse((_, Reverse(t), cell))) = open.pop() {
            expanded += 1;
            let cell = cell as usize;
            if cell == g {
                found = Some(path_to(city, seen, cell, t, t0));
                break;
            }
            if t >= max_steps {
                continue;
            }
            let here = city.cell(cell);
            let layer = self.hazards.layer(t);
            for action in Action::ALL {
                let to = city.moved(here, action);
                if to == here && action != Action::Wait {
                    // A wasted move is a wait; the search takes the wait itself.
                    continue;
                }
                let b = city.index(to);
                let f = (t + 1).saturating_add(to_goal[b]);
                if f > max_steps || blocked(layer, cell, b, action) {
                    continue;
                }
                let key = (t as usize + 1) * n + b;
                if seen[key] == 0 {
                    seen[key] = action.index() as u8 + 1;
                    touched.push(key);
                    open.push(Reverse((f, Reverse(t + 1), b as u32)));
                }
            }
        }
        for k in touched.drain(..) {
            seen[k] = 0;
        }
        (found, expanded)
    }
}

/// Walks the `seen` table of [`search`] back from (cell, t) to the start tick `t0`.
fn path_to(city: &City, seen: &[u8], mut cell: usize, mut t: u32, t0: u32) -> Vec<Action> {
    let n = city.street.len();
    let mut actions = Vec::with_capacity((t - t0) as usize);
    while t > t0 {
        let action = Action::ALL[seen[t as usize * n + cell] as usize - 1];
        let ((x, y), (dx, dy)) = (city.cell(cell), action.delta());
        cell = city.index((x - dx, y - dy));
        actions.push(action);
        t -= 1;
    }
    actions.reverse();
    actions
}

/// The planner's shortest safe route for `inst` and the number of states it expanded, or `None` when no safe route
/// reaches the goal within the step limit (or the instance is malformed).
pub fn plan(inst: &NavInstance) -> Option<(Vec<Action>, u64)> {
    inst.check_shape().ok()?;
    let city = inst.city();
    let traffic = Traffic::generate(inst, &city);
    let (route, expanded) = search(&city, &traffic, inst.start, 0, inst.goal, inst.max_steps);
    route.map(|r| (r, expanded))
}

/// The planner's first action from each of `states` ((cell, tick) pairs of one instance's world), as
/// [`plan_from`] answers it state by state: `None` where no safe route remains (or the instance is malformed).
pub fn first_actions_from(inst: &NavInstance, states: &[((i32, i32), u32)]) -> Vec<Option<Action>> {
    if inst.check_shape().is_err() {
        return vec![None; states.len()];
    }
    let city = inst.city();
    let traffic = Traffic::generate(inst, &city);
    let mut planner = Planner::new(&city, &traffic, inst.goal, inst.max_steps);
    states.iter().map(|&(at, t)| planner.search(at, t).0.and_then(|r| r.first().copied())).collect()
}

/// The planner's shortest safe route from `position` at tick `t0` to the goal (the expert an imitation learner
/// queries in the states its own policy reaches), or `None` when no safe route remains.
pub fn plan_from(inst: &NavInstance, position: (i32, i32), t0: u32) -> Option<Vec<Action>> {
    inst.check_shape().ok()?;
    let city = inst.city();
    let traffic = Traffic::generate(inst, &city);
    search(&city, &traffic, position, t0, inst.goal, inst.max_steps).0
}
