//! Greedy evaluation of any policy network in lockstep: one episode per instance, all of them advanced together,
//! so that each tick is one forward pass over every live episode instead of one per episode. Every policy learner
//! (imitation, PPO, the value-iteration network) evaluates its test cells and its validation episodes through
//! [`play_greedy`]; a new one implements [`BatchActor`] and gets the same path.
//!
//! The answers are those of playing each episode alone, bit for bit: an actor's scores for one row must not depend
//! on the other rows of its batch. The networks' affine layers guarantee that ([`crate::kernels::affine`] computes
//! every row with the same sums whatever the row count), and the test at the bottom checks each actor.
use crate::error::{NetError, Result};
use driftbench_core::solver::{Attempt, Representable};
use driftbench_core::{Episode, PolicyTask, SolveInfo, Solver};

/// Hard cap on episode length, in case a task's own step limit is missing.
pub(crate) const MAX_EPISODE: usize = 10_000;

/// A policy that scores the actions of a batch of live episodes in one call.
pub(crate) trait BatchActor: Sync {
    /// What the actor keeps per episode between ticks (its memory of visited cells, its plans).
    type State: Send;

    /// The state of each episode at its start.
    fn start(&self, eps: &[Box<dyn Episode>]) -> Result<Vec<Self::State>>;

    /// One row of action scores (highest acts) per episode of `live`, in that order. A row may depend only on its
    /// own episode and state, never on the others in the batch.
    fn scores(&self, eps: &[Box<dyn Episode>], states: &mut [Self::State], live: &[usize]) -> Result<Vec<Vec<f32>>>;
}

/// One greedy episode.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Played {
    /// The actions taken, in order.
    pub(crate) actions: Vec<usize>,
    /// Whether the agent died.
    pub(crate) died: bool,
    /// Whether it reached its goal.
    pub(crate) reached: bool,
}

/// The highest score's index, the first among equal ones (0 for an empty row).
pub(crate) fn greedy(scores: &[f32]) -> usize {
    (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a))).unwrap_or(0)
}

/// The episodes of `task` on `insts`.
pub(crate) fn episodes<T: PolicyTask>(task: &T, insts: &[T::Instance]) -> Result<Vec<Box<dyn Episode>>> {
    insts
        .iter()
        .map(|i| task.episode(i).ok_or_else(|| NetError::Encoding(format!("{} offers no episodes", task.id()))))
        .collect()
}

/// Plays one greedy episode per instance of `insts` with `actor`, all in lockstep.
pub(crate) fn play_greedy<T: PolicyTask, A: BatchActor>(
    task: &T,
    actor: &A,
    insts: &[T::Instance],
) -> Result<Vec<Played>> {
    let mut eps = episodes(task, insts)?;
    let mut states = actor.start(&eps)?;
    let mut out = vec![Played::default(); insts.len()];
    let mut live: Vec<usize> = (0..insts.len()).collect();
    for _ in 0..MAX_EPISODE {
        if live.is_empty() {
            break;
        }
        let scores = actor.scores(&eps, &mut states, &live)?;
        if scores.len() != live.len() {
            return Err(NetError::Encoding(format!("{} score rows for {} episodes", scores.len(), live.len())));
        }
        let mut still = Vec::with_capacity(live.len());
        for (&i, row) in live.iter().zip(&scores) {
            let a = greedy(row);
            let s = eps[i].step(a);
            let p = &mut out[i];
            p.actions.push(a);
            p.died |= s.died;
            p.reached |= s.reached;
            if !s.done {
                still.push(i);
            }
        }
        live = still;
    }
    Ok(out)
}

/// The greedy success rate of `actor` on `insts` (validation).
pub(crate) fn success_rate<T: PolicyTask, A: BatchActor>(task: &T, actor: &A, insts: &[T::Instance]) -> Result<f64> {
    let played = play_greedy(task, actor, insts)?;
    let ok = played
        .iter()
        .zip(insts)
        .filter(|(p, i)| task.answer_from_actions(i, &p.actions).is_some_and(|a| task.score(i, &a).success))
        .count();
    Ok(ok as f64 / insts.len().max(1) as f64)
}

/// A trained policy's answers to a test cell: its greedy episodes, each turned into the task's answer. An instance
/// the task rejects gets no answer instead of failing the batch.
pub(crate) fn solve_greedy<T: PolicyTask, A: BatchActor>(
    task: &T,
    actor: &A,
    name: &str,
    instances: &[T::Instance],
) -> driftbench_core::Result<Vec<Attempt<T::Answer>>> {
    driftbench_core::solver::solve_valid(task, instances, |instances| {
        let played = play_greedy(task, actor, instances).map_err(|e| crate::error::solve_error(task.id(), name, e))?;
        Ok(attempts(task, instances, played.into_iter().map(|p| p.actions)))
    })
}

/// A trained policy that acts through a [`BatchActor`] borrowed from it.
pub(crate) trait TrainedPolicy: Send + Sync {
    /// The actor over this policy's parameters.
    type Actor<'a>: BatchActor
    where
        Self: 'a;
    /// The actor, for one test set.
    fn actor(&self) -> Self::Actor<'_>;
}

/// The solver of every policy learner (imitation, PPO, the value-iteration network): a trained policy acting
/// greedily, in lockstep over a test set ([`solve_greedy`]).
pub(crate) struct GreedySolver<P> {
    pub(crate) policy: P,
    /// The learner's name, for errors.
    pub(crate) name: &'static str,
    /// Whether the policy reads a whole-city map, which an instance's episode must then offer.
    pub(crate) needs_grid: bool,
}

impl<T: PolicyTask, P: TrainedPolicy> Solver<T> for GreedySolver<P> {
    fn solve_batch(&self, task: &T, instances: &[T::Instance]) -> driftbench_core::Result<Vec<Attempt<T::Answer>>> {
        solve_greedy(task, &self.policy.actor(), self.name, instances)
    }

    /// See [`policy_representable`].
    fn representable(&self, task: &T, instance: &T::Instance) -> Option<Representable> {
        Some(policy_representable(task, instance, self.needs_grid))
    }
}

/// Representability of a policy: it can take any action in any state it can observe, and every action was a
/// target (or an explored choice) in training, so an instance is within reach whenever it starts an episode (with
/// a whole-city map when the policy reads one). Whether the observation shows enough of the city to plan is a
/// different question, which the size and city axes measure. The task's own validation (for navigation, a full
/// planner search) is not run again: every instance reaches a solver validated, when a test set is loaded or
/// generated and when an attack moves it.
fn policy_representable<T: PolicyTask>(task: &T, instance: &T::Instance, needs_grid: bool) -> Representable {
    let fits = task.episode(instance).is_some_and(|ep| !needs_grid || ep.observe_grid().is_some());
    Representable::new(fits, fits)
}

/// The attempts of a policy whose episodes took `actions` on `instances`, in order.
fn attempts<T: PolicyTask>(
    task: &T,
    instances: &[T::Instance],
    actions: impl Iterator<Item = Vec<usize>>,
) -> Vec<Attempt<T::Answer>> {
    instances
        .iter()
        .zip(actions)
        .map(|(i, a)| Attempt { answer: task.answer_from_actions(i, &a), info: SolveInfo::default() })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use driftbench_core::Cell;
    use rand_chacha::ChaCha8Rng;
    use std::sync::Mutex;

    /// `n` instances from every cell of `task` in turn (level 0 and each axis's levels), so that one batch mixes
    /// world sizes, traffic and episode lengths.
    pub(crate) fn mixed_instances<T: PolicyTask>(task: &T, n: usize, rng: &mut ChaCha8Rng) -> Vec<T::Instance> {
        let mut cells = vec![Cell::IN_DIST];
        for a in 0..task.axes().len() {
            cells.extend((1..driftbench_core::axis::LEVELS).map(|level| Cell { axis: Some(a), level }));
        }
        (0..n).map(|k| task.generate(cells[k % cells.len()], rng)).collect()
    }

    /// An actor that also writes down every row of scores it hands out, per episode (by the episode's index in
    /// `offset + its batch`).
    struct Recording<'a, A> {
        actor: &'a A,
        offset: usize,
        rows: &'a Mutex<Vec<Vec<Vec<f32>>>>,
    }

    impl<A: BatchActor> BatchActor for Recording<'_, A> {
        type State = A::State;

        fn start(&self, eps: &[Box<dyn Episode>]) -> Result<Vec<A::State>> {
            self.actor.start(eps)
        }

        fn scores(&self, eps: &[Box<dyn Episode>], states: &mut [A::State], live: &[usize]) -> Result<Vec<Vec<f32>>> {
            let scores = self.actor.scores(eps, states, live)?;
            let mut rows = self.rows.lock().expect("not poisoned");
            for (&i, row) in live.iter().zip(&scores) {
                rows[self.offset + i].push(row.clone());
            }
            Ok(scores)
        }
    }

    /// Plays `insts` in lockstep and each on its own, and checks that every episode got the same scores, bit for
    /// bit, at every tick, and so took the same actions with the same ending.
    pub(crate) fn assert_same_as_alone<T: PolicyTask, A: BatchActor>(task: &T, actor: &A, insts: &[T::Instance]) {
        let together_rows = Mutex::new(vec![Vec::new(); insts.len()]);
        let together =
            play_greedy(task, &Recording { actor, offset: 0, rows: &together_rows }, insts).expect("lockstep");
        let alone_rows = Mutex::new(vec![Vec::new(); insts.len()]);
        let alone: Vec<Played> = (0..insts.len())
            .flat_map(|k| {
                let rec = Recording { actor, offset: k, rows: &alone_rows };
                play_greedy(task, &rec, &insts[k..k + 1]).expect("alone")
            })
            .collect();
        let (together_rows, alone_rows) = (together_rows.into_inner().unwrap(), alone_rows.into_inner().unwrap());
        for k in 0..insts.len() {
            let bits = |rows: &[Vec<f32>]| -> Vec<Vec<u32>> {
                rows.iter().map(|r| r.iter().map(|v| v.to_bits()).collect()).collect()
            };
            assert_eq!(bits(&together_rows[k]), bits(&alone_rows[k]), "episode {k}: scores differ");
            assert_eq!(together[k], alone[k], "episode {k}");
        }
        // Episodes of different lengths: the batch shrank while the test ran, down to a single live episode.
        let lengths: std::collections::BTreeSet<usize> = together.iter().map(|p| p.actions.len()).collect();
        assert!(lengths.len() > 1, "{lengths:?}");
    }

    #[test]
    fn greedy_takes_the_first_of_equal_scores() {
        assert_eq!(greedy(&[0.1, 0.7, 0.7, 0.2]), 1);
        assert_eq!(greedy(&[-1.0]), 0);
        assert_eq!(greedy(&[]), 0);
    }
}
