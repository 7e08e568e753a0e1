//! Program search for `navigation-v1`: decision-list policies over a small predicate language, learned from the
//! planner's demonstrations by greedy sequential covering.
//!
//! **The DSL.** A program is a decision list `if P1 then A1 elif P2 then A2 … else A` of at most
//! [`DecisionListConfig::max_rules`] rules; actions are the task's five (`N`, `S`, `E`, `W`, `wait`). A predicate
//! is a conjunction of up to [`DecisionListConfig::max_literals`] literals (an atom or its negation, `!`) over the
//! atoms of the agent's current state ([`Atom`]), with d ∈ {N, S, E, W}:
//! - `free(d)`: the neighbouring cell in direction d is a street;
//! - `car_now(d)`: a car is on that cell now;
//! - `car_next(d)`, `car_next(here)`: a car ends the coming tick on that cell (or on the agent's own) or passes
//!   through it during the tick;
//! - `goal(d)`: the goal lies in direction d (the sign of the goal offset: `goal(E)` is dx > 0, `goal(N)` is dy < 0);
//! - `bfs_closer(d)`: moving to d decreases the street distance to the goal (a breadth-first search over the
//!   instance's streets from the goal, ignoring cars).
//!
//! Everything but `bfs_closer` is read off the observation the networks see (the car channels of the 9×9 window
//! and the goal offset). `bfs_closer` needs the whole street map, which the network observation does not hold; it
//! is the feature that should carry the policy to bigger and stranger cities. [`DecisionList::without_bfs`] is
//! the ablation without it.
//!
//! **Data.** The same data the imitation network learns from: the planner's demonstrations, on each of the first
//! [`DecisionListConfig::max_episodes`] training instances, played in the task's own episode, one labelled state
//! (atoms, planner's action) per tick; then, as the network's DAgger rounds do, the states the learned list itself
//! reaches on training instances, labelled with the planner's action from there
//! ([`DecisionListConfig::dagger_rounds`] rounds of [`DecisionListConfig::dagger_episodes`] episodes). States with
//! the same atoms merge into one row with per-action counts.
//!
//! **Search**, once per round on everything labelled so far:
//! 1. *Pool*: every conjunction of 1..=`max_literals` literals on distinct atoms, by size, then atom order. Its
//!    behaviour is the set of training rows it holds on. Observational equivalence: a predicate that holds on
//!    exactly the rows of an earlier one is dropped, as is one that holds on none; at most
//!    [`DecisionListConfig::max_predicates`] distinct behaviours are kept.
//! 2. *Sequential covering*, once per precision floor f in [`DecisionListConfig::min_precisions`]: among the rules
//!    (predicate, action) whose precision on the still-uncovered states is at least f, repeatedly add the one with
//!    the largest margin correct − f × covered (the correct states beyond what the floor demands; a rule is thus
//!    rewarded for every state it gets right and charged f / (1 − f) times as much for every one it gets wrong),
//!    ties to more correct states, fewer literals, the earlier predicate, the lower action; remove the states it
//!    covers; stop at `max_rules`, when no rule qualifies, when one action labels every state left (the default
//!    takes them) or at the work cap.
//! 3. *Selection*: every prefix of every list (0 rules up to all of them), closed by the default action that is
//!    the planner's most common action on the states the prefix leaves uncovered, runs greedily on the first
//!    [`DecisionListConfig::max_val_episodes`] validation episodes; the highest success rate wins (ties: fewer
//!    rules, then the earlier floor). Across rounds the best validation success wins (ties: the earlier round).
//!    Drifted levels are never looked at.
//!
//! If the winner has no rule (a constant action), the search records `none found: <why>` as its program and the
//! solver gives no answer, as every program-search learner does when it finds nothing.
//!
//! **Solving** runs the list in the task's episode until it ends (goal, death, or the step limit) and answers with
//! the actions taken, so that the task's scorer judges deaths and timeouts. Work is counted in the task's unit,
//! expanded nodes: one per tick the policy decides, plus, for `decision-list`, one per street cell the
//! breadth-first search settles.
//!
//! Seed 1 of the `quick` profile (2,000 demonstrations, 500 validation episodes; 5–7 s per learner on one
//! core) learns, with the BFS atoms:
//!
//! ```text
//! if !car_next(W) & !car_next(here) & bfs_closer(W) then W elif !car_next(S) & !car_next(here) & bfs_closer(S)
//! then S elif !car_next(N) & !car_next(here) & bfs_closer(N) then N elif !car_next(E) & !car_next(here) &
//! bfs_closer(E) then E elif !car_next(here) then wait elif !free(E) & !free(W) & !car_now(N) then N elif !free(E)
//! & !free(W) & !car_now(S) then S elif !free(N) & !free(S) & car_now(E) then W else E
//! ```
//!
//! which walks down the street distance whenever the next cell and its own stay clear of cars, and otherwise waits,
//! or flees along a corridor when a car is coming. Its failures are mostly deaths in the remaining states, where a
//! car drives at the agent and the safe escape needs more literals than a rule has. Without the BFS atoms the list
//! follows the goal's direction (`if free(S) & !car_next(S) & goal(S) then S elif …`) and times out behind blocks.
use driftbench_tasks::navigation::{Action, MAX_STEPS};

/// The four moves, in [`Action::ALL`] order: the directions d of the atoms.
const DIRS: [Action; 4] = [Action::North, Action::South, Action::East, Action::West];
/// Number of actions a rule may take.
const ACTIONS: usize = 5;
/// Atoms of the DSL with the BFS feature ([`Atom::count`] with `bfs`).
const ATOMS_BFS: usize = 21;
/// Atoms without it.
const ATOMS_NO_BFS: usize = 17;
/// Hard cap on a policy episode, above any valid step limit, in case an episode never reports its end.
const MAX_EPISODE: usize = MAX_STEPS as usize + 1;

mod covering;
mod dsl;
mod learner;
mod window;

pub use dsl::{state_atoms, Atom, Predicate, Program};
pub use learner::{learners, learners_of, learners_v2, DecisionList, DecisionListConfig, ListSolver};
pub use window::{decide, play, Decision, Visits, WindowPlanner, MEMORY_RADIUS, MOVE_PENALTY, WAIT_PENALTY};

#[cfg(test)]
mod tests;
