//! Memorisation baseline for the navigation tasks (`nearest-state`): no program and no network, a table of the
//! planner's actions in the training states, looked up by the nearest stored state.
//!
//! It stores, for every state the planner's demonstrations pass through on the training instances, the
//! observation the networks see (the 9×9 window of buildings, cars now, cars next tick and goal, plus the goal
//! offset) and the planner's action. In a new state it takes the most frequent action stored for the *nearest*
//! training state, nearest by the largest window around the agent that matches exactly: first the whole 9×9
//! window (all four channels) with the goal direction (the signs of the goal offset), then the 7×7, 5×5 and 3×3
//! windows, then the goal direction alone. Ties go to the lower action index. It acts in the task's episode
//! until the episode ends, so the task's scorer judges deaths and timeouts.
use driftbench_core::solver::Attempt;
use driftbench_core::{Learner, Profile, SolveInfo, Solver, SolverKind, TrainData, TrainStats};
use driftbench_tasks::navigation::{Action, NavInstance, NavTask, Route, WINDOW};
use rayon::prelude::*;
use std::collections::HashMap;

/// Window radii tried, largest first; radius 0 keys on the goal direction alone.
const RADII: [i32; 5] = [4, 3, 2, 1, 0];
/// Channels of the observation window (buildings, cars now, cars next tick, goal).
const CHANNELS: usize = 4;
/// Actions of the task.
const ACTIONS: usize = Action::ALL.len();

/// The memorisation learner.
#[derive(Debug, Clone, Copy, Default)]
pub struct NearestState;

/// The state key at `radius`: the window cells within the radius on every channel as bits, then the goal direction.
fn key(obs: &[f32], radius: i32) -> Vec<u64> {
    let r = (WINDOW / 2) as i32;
    let cells = WINDOW * WINDOW;
    let mut bits = Vec::new();
    for c in 0..CHANNELS {
        for dy in -radius..=radius {
            for dx in -radius..=radius {
                let i = c * cells + ((dy + r) * WINDOW as i32 + dx + r) as usize;
                bits.push(obs.get(i).is_some_and(|&v| v > 0.5));
            }
        }
    }
    let sign = |v: f32| {
        if v > 0.0 {
            2u64
        } else if v < 0.0 {
            1
        } else {
            0
        }
    };
    let goal = obs.get(CHANNELS * cells..).unwrap_or(&[]);
    let mut words: Vec<u64> = bits.chunks(64).map(|ch| ch.iter().fold(0u64, |w, &b| (w << 1) | u64::from(b))).collect();
    words.push(goal.iter().fold(0u64, |w, &v| w * 3 + sign(v)));
    words
}

/// Action counts per state key, one table per radius.
struct Table {
    by_radius: Vec<HashMap<Vec<u64>, [u32; ACTIONS]>>,
}

impl Table {
    fn act(&self, obs: &[f32]) -> usize {
        for (t, &r) in self.by_radius.iter().zip(&RADII) {
            if let Some(counts) = t.get(&key(obs, r)) {
                return (0..ACTIONS).max_by(|&a, &b| counts[a].cmp(&counts[b]).then(b.cmp(&a))).unwrap_or(0);
            }
        }
        Action::Wait.index()
    }
}

struct LookupSolver {
    table: Table,
}

impl LookupSolver {
    fn run<T: NavTask>(&self, task: &T, inst: &NavInstance) -> (Option<Route>, u64) {
        let Some(mut ep) = task.episode(inst) else { return (None, 0) };
        let mut actions = Vec::new();
        // The step limit ends every episode; the bound only guards against a malformed one.
        for _ in 0..inst.max_steps.max(1) {
            let a = self.table.act(&ep.observe());
            actions.push(a);
            if ep.step(a).done {
                break;
            }
        }
        let n = actions.len() as u64;
        (task.answer_from_actions(inst, &actions), n)
    }
}

impl<T: NavTask> Solver<T> for LookupSolver {
    fn solve_batch(&self, task: &T, instances: &[NavInstance]) -> driftbench_core::Result<Vec<Attempt<Route>>> {
        Ok(instances
            .par_iter()
            .map(|inst| {
                let (answer, lookups) = self.run(task, inst);
                Attempt { answer, info: SolveInfo { work: lookups } }
            })
            .collect())
    }
}

impl<T: NavTask> Learner<T> for NearestState {
    fn name(&self) -> &'static str {
        "nearest-state"
    }
    fn kind(&self) -> SolverKind {
        SolverKind::Baseline
    }
    fn description(&self) -> String {
        "memorisation: the planner's action in the nearest training state (largest matching window)".into()
    }
    fn observes(&self, task: &T) -> String {
        format!("the window policies' observation ({})", task.policy_observes())
    }
    fn config(&self, _task: &T, _profile: &Profile) -> serde_json::Value {
        serde_json::json!({ "window_radii": RADII, "data": "planner demonstrations on every training instance" })
    }
    fn train(
        &self,
        task: &T,
        data: &TrainData<T>,
        _profile: &Profile,
        _seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<(Box<dyn Solver<T>>, TrainStats)> {
        let pairs: Vec<Vec<(Vec<f32>, usize)>> = data
            .train
            .par_iter()
            .map(|inst| {
                let (Some(actions), Some(mut ep)) = (task.demonstration(inst), task.episode(inst)) else {
                    return Vec::new();
                };
                let mut out = Vec::with_capacity(actions.len());
                for a in actions {
                    out.push((ep.observe(), a));
                    if ep.step(a).done {
                        break;
                    }
                }
                out
            })
            .collect();
        let mut by_radius: Vec<HashMap<Vec<u64>, [u32; ACTIONS]>> = RADII.iter().map(|_| HashMap::new()).collect();
        let mut states = 0u64;
        for (obs, a) in pairs.iter().flatten() {
            states += 1;
            for (t, &r) in by_radius.iter_mut().zip(&RADII) {
                if let Some(c) = t.entry(key(obs, r)).or_insert([0; ACTIONS]).get_mut(*a) {
                    *c += 1;
                }
            }
        }
        progress(0.5);
        let solver = LookupSolver { table: Table { by_radius } };
        let answers = solver.solve_batch(task, &data.val)?;
        let ok = data
            .val
            .iter()
            .zip(&answers)
            .filter(|(i, a)| a.answer.as_ref().is_some_and(|a| task.score(i, a).success))
            .count();
        progress(1.0);
        let mut stats = TrainStats {
            examples: data.train.len() as u64,
            examples_seen: states,
            val_exact: Some(ok as f64 / data.val.len().max(1) as f64),
            ..Default::default()
        };
        stats.extra.insert("stored_states".into(), states as f64);
        stats.extra.insert("distinct_full_windows".into(), solver.table.by_radius[0].len() as f64);
        Ok((Box::new(solver), stats))
    }
}
