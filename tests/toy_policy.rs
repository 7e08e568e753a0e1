//! A policy toy task (walk a corridor to its goal) added through the public API: a core `Task`, a `PolicyTask`, a
//! `GridTask` (the corridor as maps) and one registry line (`Entry::new(Corridor { fault: None }).policy().build()`,
//! or `.policy().grid()` for the value-iteration network too). The registry's self-check holds it to the policy
//! and grid contracts: a correct task passes, and each kind of broken hook is refused with a message that names it
//! (an observation of the wrong length, a demonstration with an action out of range, a demonstration that fails in
//! distribution, a grid of the wrong number of maps, no grid at all).
use driftbench::Entry;
use driftbench_core::bench::DynTask;
use driftbench_core::task::{Episode, EpisodeStep, GridObservation};
use driftbench_core::{AxisSpec, Cell, GridTask, Outcome, PolicyShape, PolicyTask, SolveInfo, Task};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Longest corridor `validate` accepts.
const MAX_LENGTH: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Walk {
    length: u32,
    start: u32,
    goal: u32,
}

/// How the toy breaks its policy hooks (or not).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    ObservationLength,
    DemonstrationOutOfRange,
    DemonstrationFails,
    GridChannels,
    NoGrid,
}

struct Corridor {
    fault: Fault,
}

static AXES: [AxisSpec; 1] = [AxisSpec {
    name: "length",
    description: "corridor length",
    levels: ["training: 4-8", "8-16", "16-32", "32-64", "64-128"],
}];

/// Actions: 0 left, 1 right, 2 wait.
const ACTIONS: usize = 3;

/// The cell after `actions` from `start`, and whether the walk reached the goal within its step limit.
fn walk(w: &Walk, actions: &[usize]) -> (u32, bool) {
    let mut at = w.start;
    for (t, &a) in actions.iter().enumerate() {
        if at == w.goal || t >= 2 * w.length as usize {
            break;
        }
        at = match a {
            0 => at.saturating_sub(1),
            1 => (at + 1).min(w.length - 1),
            _ => at,
        };
    }
    (at, at == w.goal)
}

struct CorridorEpisode {
    walk: Walk,
    at: u32,
    ticks: u32,
    fault: Fault,
}

impl Episode for CorridorEpisode {
    fn observe(&self) -> Vec<f32> {
        let n = self.walk.length as f32;
        let mut obs = vec![self.at as f32 / n, self.walk.goal as f32 / n];
        if self.fault == Fault::ObservationLength {
            obs.push(0.0);
        }
        obs
    }
    /// The corridor as a 1-cell-high world: a map of the goal and a map of walls (none inside; all around, as the
    /// value beyond the edge).
    fn observe_grid(&self) -> Option<GridObservation> {
        if self.fault == Fault::NoGrid {
            return None;
        }
        let width = self.walk.length as usize;
        let channels = if self.fault == Fault::GridChannels { 3 } else { 2 };
        let mut data = vec![0f32; channels * width];
        data[self.walk.goal as usize] = 1.0;
        let mut outside = vec![0f32; channels];
        outside[1] = 1.0;
        Some(GridObservation {
            channels,
            height: 1,
            width,
            data,
            agent: (self.at as usize, 0),
            static_channels: channels,
            outside,
        })
    }
    fn step(&mut self, action: usize) -> EpisodeStep {
        let (at, reached) = walk(&Walk { start: self.at, ..self.walk.clone() }, &[action]);
        self.at = at;
        self.ticks += 1;
        let done = reached || self.ticks >= 2 * self.walk.length;
        EpisodeStep { reward: if reached { 1.0 } else { -0.01 }, done, died: false, reached }
    }
}

impl Task for Corridor {
    type Instance = Walk;
    type Answer = Vec<usize>;

    fn id(&self) -> &'static str {
        "corridor-v1"
    }
    fn description(&self) -> &'static str {
        "walk a corridor from a start cell to a goal cell"
    }
    fn axes(&self) -> &'static [AxisSpec] {
        &AXES
    }
    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> Walk {
        let lo = 4u32 << cell.level;
        let length = rng.random_range(lo..=2 * lo);
        let start = rng.random_range(0..length);
        let goal = (start + rng.random_range(1..length)) % length;
        Walk { length, start, goal }
    }
    fn validate(&self, w: &Walk) -> Result<(), String> {
        if !(2..=MAX_LENGTH).contains(&w.length) {
            return Err(format!("length: {} is not in 2..={MAX_LENGTH}", w.length));
        }
        if w.start >= w.length || w.goal >= w.length || w.start == w.goal {
            return Err(format!("start {} and goal {} must be distinct cells of the corridor", w.start, w.goal));
        }
        Ok(())
    }
    fn score(&self, w: &Walk, actions: &Vec<usize>) -> Outcome {
        let (at, reached) = walk(w, actions);
        Outcome::new(reached, f64::from(at.abs_diff(w.goal)))
    }
    fn metric_name(&self) -> &'static str {
        "cells from the goal"
    }
    fn no_answer_metric(&self) -> f64 {
        f64::from(MAX_LENGTH)
    }
    fn metric_higher_is_better(&self) -> bool {
        false
    }
    fn solve_symbolic(&self, w: &Walk) -> (Vec<usize>, SolveInfo) {
        let toward = if w.goal > w.start { 1 } else { 0 };
        (vec![toward; w.start.abs_diff(w.goal) as usize], SolveInfo { work: 1 })
    }
    fn symbolic_description(&self) -> &'static str {
        "step toward the goal"
    }
}

impl PolicyTask for Corridor {
    fn policy_shape(&self) -> PolicyShape {
        PolicyShape { observation: 2, actions: ACTIONS }
    }
    fn episode(&self, w: &Walk) -> Option<Box<dyn Episode>> {
        Some(Box::new(CorridorEpisode { walk: w.clone(), at: w.start, ticks: 0, fault: self.fault }))
    }
    fn demonstration(&self, w: &Walk) -> Option<Vec<usize>> {
        let mut actions = self.solve_symbolic(w).0;
        match self.fault {
            Fault::DemonstrationOutOfRange => actions[0] = ACTIONS,
            // Away from the goal: the walk ends where it started, or at a wall.
            Fault::DemonstrationFails => actions.iter_mut().for_each(|a| *a = 1 - *a),
            _ => {}
        }
        Some(actions)
    }
    fn expert_action(&self, w: &Walk, taken: &[usize]) -> Option<usize> {
        let (at, reached) = walk(w, taken);
        (!reached).then_some(if w.goal > at { 1 } else { 0 })
    }
    fn answer_from_actions(&self, _w: &Walk, actions: &[usize]) -> Option<Vec<usize>> {
        Some(actions.to_vec())
    }
}

impl GridTask for Corridor {
    fn grid_channels(&self) -> usize {
        2
    }
}

fn entry(fault: Fault) -> Box<dyn DynTask> {
    Entry::new(Corridor { fault }).policy().build()
}

fn grid_entry(fault: Fault) -> Box<dyn DynTask> {
    Entry::new(Corridor { fault }).policy().grid().build()
}

#[test]
fn the_policy_toy_passes_the_self_check_with_the_policy_families() {
    let b = entry(Fault::None);
    b.self_check(3, 40).expect("the toy keeps the task and policy contracts");
    let names: Vec<&str> = b.solvers().iter().map(|s| s.name).collect();
    assert!(names.contains(&"imitation") && names.contains(&"ppo"), "{names:?}");
    assert!(!names.contains(&"vin"), "the VIN needs the maps: {names:?}");
    assert!(matches!(b.encoding(), driftbench_core::Encoding::Policy(PolicyShape { observation: 2, actions: 3 })));
    // A task without maps keeps its policy families with a grid-less episode.
    entry(Fault::NoGrid).self_check(3, 20).expect("maps are only checked where they were registered");
}

#[test]
fn the_grid_toy_passes_with_the_vin_and_broken_maps_are_refused() {
    let b = grid_entry(Fault::None);
    b.self_check(3, 40).expect("the toy keeps the grid contract");
    let names: Vec<&str> = b.solvers().iter().map(|s| s.name).collect();
    assert!(names.contains(&"vin") && names.contains(&"imitation") && names.contains(&"ppo"), "{names:?}");
    for (fault, says) in
        [(Fault::GridChannels, "grid observation of 3 maps, 2 declared"), (Fault::NoGrid, "shows no grid observation")]
    {
        let err = grid_entry(fault).self_check(3, 10).expect_err(&format!("{fault:?} must be refused"));
        assert!(err.contains(says), "{fault:?}: {err}");
    }
}

#[test]
fn the_self_check_refuses_each_kind_of_broken_policy_hook() {
    for (fault, says) in [
        (Fault::ObservationLength, "observation of 3 values, 2 declared"),
        (Fault::DemonstrationOutOfRange, "demonstration action 3 of 3 actions"),
        (Fault::DemonstrationFails, "the demonstration fails in distribution"),
    ] {
        let err = entry(fault).self_check(3, 10).expect_err(&format!("{fault:?} must be refused"));
        assert!(err.contains(says), "{fault:?}: {err}");
    }
}
