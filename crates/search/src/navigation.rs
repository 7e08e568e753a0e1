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
use driftbench_core::solver::Attempt;
use driftbench_core::{Learner, Profile, SolveInfo, Solver, SolverKind, Task, TrainData, TrainStats};
use driftbench_tasks::navigation::{plan_from, Action, City, NavInstance, MAX_STEPS, WINDOW};
use driftbench_tasks::Navigation;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

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

/// One atom of the agent's state; its bit in a state mask is [`Atom::bit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Atom {
    /// The neighbour in this direction is a street.
    Free(Action),
    /// A car is on the neighbour now.
    CarNow(Action),
    /// A car ends the coming tick on the neighbour, or passes through it (`Wait`: the agent's own cell).
    CarNext(Action),
    /// The goal lies in this direction (sign of the goal offset).
    Goal(Action),
    /// Moving this way decreases the street distance to the goal.
    BfsCloser(Action),
}

impl Atom {
    /// Every atom in bit order; the BFS atoms come last so that the ablation is a prefix.
    pub fn all(bfs: bool) -> Vec<Atom> {
        let mut v: Vec<Atom> = DIRS.iter().map(|&d| Atom::Free(d)).collect();
        v.extend(DIRS.iter().map(|&d| Atom::CarNow(d)));
        v.extend(DIRS.iter().chain(&[Action::Wait]).map(|&d| Atom::CarNext(d)));
        v.extend(DIRS.iter().map(|&d| Atom::Goal(d)));
        if bfs {
            v.extend(DIRS.iter().map(|&d| Atom::BfsCloser(d)));
        }
        v
    }

    /// Number of atoms in the language.
    pub fn count(bfs: bool) -> usize {
        if bfs {
            ATOMS_BFS
        } else {
            ATOMS_NO_BFS
        }
    }

    /// The atom's bit in a state mask.
    pub fn bit(self) -> u32 {
        let dir = |d: Action| d.index() as u32;
        1 << match self {
            Atom::Free(d) => dir(d),
            Atom::CarNow(d) => 4 + dir(d),
            Atom::CarNext(d) => 8 + dir(d),
            Atom::Goal(d) => 13 + dir(d),
            Atom::BfsCloser(d) => 17 + dir(d),
        }
    }
}

/// Short name of an action as programs print it.
fn action_name(a: Action) -> &'static str {
    match a {
        Action::North => "N",
        Action::South => "S",
        Action::East => "E",
        Action::West => "W",
        Action::Wait => "wait",
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, d) = match *self {
            Atom::Free(d) => ("free", d),
            Atom::CarNow(d) => ("car_now", d),
            Atom::CarNext(d) => ("car_next", d),
            Atom::Goal(d) => ("goal", d),
            Atom::BfsCloser(d) => ("bfs_closer", d),
        };
        let d = if d == Action::Wait { "here" } else { action_name(d) };
        write!(f, "{name}({d})")
    }
}

/// A conjunction of literals: the atoms in `pos` hold and those in `neg` do not. The empty conjunction is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Predicate {
    /// Bits of the atoms that must hold.
    pub pos: u32,
    /// Bits of the atoms that must not hold.
    pub neg: u32,
}

impl Predicate {
    /// Whether the predicate holds in a state with atom mask `state`.
    pub fn eval(self, state: u32) -> bool {
        state & self.pos == self.pos && state & self.neg == 0
    }

    /// Number of literals.
    pub fn literals(self) -> u32 {
        self.pos.count_ones() + self.neg.count_ones()
    }

    /// The conjunction of `self` and one more literal.
    fn and(self, atom: Atom, positive: bool) -> Predicate {
        if positive {
            Predicate { pos: self.pos | atom.bit(), neg: self.neg }
        } else {
            Predicate { pos: self.pos, neg: self.neg | atom.bit() }
        }
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for atom in Atom::all(true) {
            let sign = if self.pos & atom.bit() != 0 {
                ""
            } else if self.neg & atom.bit() != 0 {
                "!"
            } else {
                continue;
            };
            if !first {
                f.write_str(" & ")?;
            }
            first = false;
            write!(f, "{sign}{atom}")?;
        }
        if first {
            f.write_str("true")?;
        }
        Ok(())
    }
}

/// A decision list: the first rule whose predicate holds chooses the action, else the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// (predicate, action) rules, tried in order.
    pub rules: Vec<(Predicate, Action)>,
    /// The action when no rule fires.
    pub default: Action,
}

impl Program {
    /// The action in a state with atom mask `state`.
    pub fn act(&self, state: u32) -> Action {
        self.rules.iter().find(|(p, _)| p.eval(state)).map_or(self.default, |&(_, a)| a)
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (p, a)) in self.rules.iter().enumerate() {
            let word = if i == 0 { "if" } else { "elif" };
            write!(f, "{word} {p} then {} ", action_name(*a))?;
        }
        if self.rules.is_empty() {
            write!(f, "always {}", action_name(self.default))
        } else {
            write!(f, "else {}", action_name(self.default))
        }
    }
}

/// The atom mask of the agent's state: on `pos` with observation `obs` (the task's layout), the goal at `goal`, and
/// `to_goal` the street distance of every cell to the goal (row by row, as [`City::distances_from`] returns it), or
/// `None` to leave the BFS atoms unset. An observation of the wrong length reads as one without cars.
pub fn state_atoms(obs: &[f32], city: &City, pos: (i32, i32), goal: (i32, i32), to_goal: Option<&[u32]>) -> u32 {
    let cells = WINDOW * WINDOW;
    let r = (WINDOW / 2) as i32;
    let channel = |c: usize, (dx, dy): (i32, i32)| {
        let i = c * cells + ((dy + r) * WINDOW as i32 + dx + r) as usize;
        obs.get(i).is_some_and(|&v| v > 0.5)
    };
    let dist = |(x, y): (i32, i32)| -> Option<u32> {
        let d = to_goal?;
        city.is_street((x, y)).then(|| d.get((y * city.width() + x) as usize).copied()).flatten()
    };
    let mut m = 0;
    for d in DIRS {
        let delta = d.delta();
        let next = (pos.0 + delta.0, pos.1 + delta.1);
        let goal_there = match d {
            Action::North => goal.1 < pos.1,
            Action::South => goal.1 > pos.1,
            Action::East => goal.0 > pos.0,
            _ => goal.0 < pos.0,
        };
        let closer = matches!((dist(next), dist(pos)), (Some(a), Some(b)) if a < b);
        for (atom, holds) in [
            (Atom::Free(d), city.is_street(next)),
            (Atom::CarNow(d), channel(1, delta)),
            (Atom::CarNext(d), channel(2, delta)),
            (Atom::Goal(d), goal_there),
            (Atom::BfsCloser(d), closer),
        ] {
            if holds {
                m |= atom.bit();
            }
        }
    }
    if channel(2, (0, 0)) {
        m |= Atom::CarNext(Action::Wait).bit();
    }
    m
}

/// Hyper-parameters and caps of the decision-list learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionListConfig {
    /// Whether the `bfs_closer(d)` atoms are in the language.
    pub bfs: bool,
    /// Largest conjunction in a predicate.
    pub max_literals: usize,
    /// Most rules before the default.
    pub max_rules: usize,
    /// Most distinct predicate behaviours kept after observational-equivalence pruning.
    pub max_predicates: usize,
    /// Precision floors tried in sequential covering; each gives one list whose prefixes are validated.
    pub min_precisions: Vec<f64>,
    /// Fewest correctly labelled states a rule must cover.
    pub min_support: u64,
    /// Training instances whose demonstrations are used (the first ones of the training set).
    pub max_episodes: usize,
    /// Validation episodes each candidate list is run on (the first ones of the validation set).
    pub max_val_episodes: usize,
    /// DAgger rounds after learning from the demonstrations: run the round's list on training instances, label
    /// every state it reaches with the planner's action from there, learn again on everything gathered; the
    /// round with the best validation success is kept. 0 = demonstrations only.
    pub dagger_rounds: usize,
    /// Training instances the list is run on per DAgger round (taken in order, wrapping around).
    pub dagger_episodes: usize,
    /// Cap on the work of pool building and covering, summed over rounds: conjunctions evaluated plus (predicate,
    /// action) pairs scored. It counts work, not seconds, so a slower machine finds the same list; hitting it is
    /// recorded (`work_capped`). The default configuration needs at most 3 rounds × (11,522 conjunctions +
    /// 4 floors × 8 rules × 20,000 predicates × 5 actions) ≈ 9.6 M, far below the default cap.
    pub max_work: u64,
}

impl DecisionListConfig {
    /// The defaults, with or without the BFS atoms.
    pub fn new(bfs: bool) -> Self {
        DecisionListConfig {
            bfs,
            max_literals: 3,
            max_rules: 8,
            max_predicates: 20_000,
            min_precisions: vec![0.95, 0.9, 0.8, 0.7],
            min_support: 2,
            max_episodes: 2_000,
            max_val_episodes: 500,
            dagger_rounds: 2,
            dagger_episodes: 500,
            max_work: 100_000_000,
        }
    }
}

/// The decision-list learner (`decision-list`, or `decision-list-nobfs` without the BFS atoms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionList(pub DecisionListConfig);

impl DecisionList {
    /// The learner with the `bfs_closer` atoms.
    pub fn with_bfs() -> Self {
        DecisionList(DecisionListConfig::new(true))
    }

    /// The ablation without them.
    pub fn without_bfs() -> Self {
        DecisionList(DecisionListConfig::new(false))
    }
}

/// The program-search learners of this task: decision lists with and without the BFS feature.
pub fn learners() -> Vec<Box<dyn Learner<Navigation>>> {
    vec![
        Box::new(DecisionList::with_bfs()),
        Box::new(DecisionList::without_bfs()),
        Box::new(crate::lookup::NearestState),
    ]
}

/// Demonstration states merged by atom mask: each row's mask and how often the planner took each action there.
#[derive(Debug, Clone, Default)]
struct States {
    masks: Vec<u32>,
    counts: Vec<[u64; ACTIONS]>,
}

impl States {
    fn from_pairs(pairs: impl IntoIterator<Item = (u32, usize)>) -> States {
        let mut rows: BTreeMap<u32, [u64; ACTIONS]> = BTreeMap::new();
        for (m, a) in pairs {
            if a < ACTIONS {
                rows.entry(m).or_default()[a] += 1;
            }
        }
        let (masks, counts) = rows.into_iter().unzip();
        States { masks, counts }
    }

    fn len(&self) -> usize {
        self.masks.len()
    }

    fn words(&self) -> usize {
        self.len().div_ceil(64)
    }

    /// The bitset of rows where `p` holds.
    fn behaviour(&self, p: Predicate) -> Vec<u64> {
        let mut bits = vec![0u64; self.words()];
        for (i, &m) in self.masks.iter().enumerate() {
            if p.eval(m) {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    }

    /// Whether at most one action was taken over the rows set in `rows` (the default then labels them all).
    fn pure(&self, rows: &[u64]) -> bool {
        let mut seen = [false; ACTIONS];
        for_each_bit(rows, |i| (0..ACTIONS).for_each(|a| seen[a] |= self.counts[i][a] > 0));
        seen.iter().filter(|&&x| x).count() <= 1
    }

    /// The most common action over the rows set in `rows` (ties: lower index; `wait` when there are none).
    fn majority(&self, rows: &[u64]) -> Action {
        let mut total = [0u64; ACTIONS];
        for_each_bit(rows, |i| (0..ACTIONS).for_each(|a| total[a] += self.counts[i][a]));
        let best = (0..ACTIONS).max_by_key(|&a| (total[a], std::cmp::Reverse(a))).unwrap_or(ACTIONS - 1);
        if total.iter().all(|&c| c == 0) {
            Action::Wait
        } else {
            Action::ALL[best]
        }
    }
}

/// Calls `f` with the index of every set bit.
fn for_each_bit(bits: &[u64], mut f: impl FnMut(usize)) {
    for (w, &word) in bits.iter().enumerate() {
        let mut x = word;
        while x != 0 {
            f(w * 64 + x.trailing_zeros() as usize);
            x &= x - 1;
        }
    }
}

/// The predicate pool after observational-equivalence pruning.
#[derive(Debug, Clone, Default)]
struct Pool {
    preds: Vec<Predicate>,
    behaviours: Vec<Vec<u64>>,
    /// Conjunctions built and evaluated on the training rows.
    enumerated: u64,
    /// Whether `max_predicates` stopped the enumeration.
    capped: bool,
    /// Whether the work cap stopped it.
    work_capped: bool,
}

/// Every conjunction of 1..=`max_literals` literals over `atoms` on distinct atoms, by size then atom order, with
/// duplicates in behaviour (and predicates true on no row) dropped.
fn build_pool(states: &States, atoms: &[Atom], max_literals: usize, max_predicates: usize, budget: &Budget) -> Pool {
    let mut pool = Pool::default();
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
    // Conjunctions of the previous size with the index of their last atom, extended by later atoms only.
    let mut frontier: Vec<(Predicate, usize)> = vec![(Predicate::default(), 0)];
    'sizes: for _ in 0..max_literals {
        let mut next = Vec::new();
        for &(p, from) in &frontier {
            for (i, &atom) in atoms.iter().enumerate().skip(from) {
                for positive in [true, false] {
                    next.push((p.and(atom, positive), i + 1));
                }
            }
        }
        // Behaviours in parallel, in chunks so that the caps take effect between chunks.
        for chunk in next.chunks(4096) {
            if budget.spent() {
                pool.work_capped = true;
                break 'sizes;
            }
            budget.spend(chunk.len() as u64);
            let behaviours: Vec<Vec<u64>> = chunk.par_iter().map(|&(p, _)| states.behaviour(p)).collect();
            for (&(p, _), b) in chunk.iter().zip(behaviours) {
                pool.enumerated += 1;
                if b.iter().all(|&w| w == 0) {
                    continue;
                }
                let mut h = DefaultHasher::new();
                b.hash(&mut h);
                let same = seen.entry(h.finish()).or_default();
                if same.iter().any(|&j| pool.behaviours[j] == b) {
                    continue;
                }
                if pool.preds.len() >= max_predicates {
                    pool.capped = true;
                    break 'sizes;
                }
                same.push(pool.preds.len());
                pool.preds.push(p);
                pool.behaviours.push(b);
            }
        }
        frontier = next;
    }
    pool
}

/// A budget of counted work shared by every round of one search ([`DecisionListConfig::max_work`]).
#[derive(Debug)]
struct Budget {
    cap: u64,
    used: std::cell::Cell<u64>,
}

impl Budget {
    fn new(cap: u64) -> Self {
        Budget { cap, used: std::cell::Cell::new(0) }
    }

    fn spend(&self, work: u64) {
        self.used.set(self.used.get().saturating_add(work));
    }

    fn spent(&self) -> bool {
        self.used.get() >= self.cap
    }
}

/// One list found by sequential covering.
#[derive(Debug, Clone, Default)]
struct Covering {
    rules: Vec<(Predicate, Action)>,
    /// The default for each prefix: `defaults[k]` closes the first k rules.
    defaults: Vec<Action>,
    /// Rules scored, summed over rounds.
    scored: u64,
    work_capped: bool,
}

/// Greedy sequential covering over the pool with precision floor `min_precision`.
fn cover(
    states: &States,
    pool: &Pool,
    max_rules: usize,
    min_precision: f64,
    min_support: u64,
    budget: &Budget,
) -> Covering {
    let mut uncovered = vec![0u64; states.words()];
    (0..states.len()).for_each(|i| uncovered[i / 64] |= 1 << (i % 64));
    let mut out = Covering { defaults: vec![states.majority(&uncovered)], ..Default::default() };
    while out.rules.len() < max_rules && !states.pure(&uncovered) {
        if budget.spent() {
            out.work_capped = true;
            break;
        }
        budget.spend((pool.preds.len() * ACTIONS) as u64);
        // Per predicate: the best qualifying action as (margin, correct, action), the margin being the correct
        // states beyond what the floor demands, correct − floor × covered.
        let best = pool
            .behaviours
            .par_iter()
            .enumerate()
            .filter_map(|(j, b)| {
                let mut counts = [0u64; ACTIONS];
                let live: Vec<u64> = b.iter().zip(&uncovered).map(|(x, y)| x & y).collect();
                for_each_bit(&live, |i| (0..ACTIONS).for_each(|a| counts[a] += states.counts[i][a]));
                let total: u64 = counts.iter().sum();
                let margin = |c: u64| c as f64 - min_precision * total as f64;
                (0..ACTIONS)
                    .filter(|&a| counts[a] >= min_support.max(1) && margin(counts[a]) >= -1e-9)
                    .map(|a| (margin(counts[a]), counts[a], a))
                    .max_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)).then(y.2.cmp(&x.2)))
                    .map(|(m, c, a)| (j, a, m, c))
            })
            .collect::<Vec<_>>();
        out.scored += (pool.preds.len() * ACTIONS) as u64;
        // Ties: larger margin, more correct, fewer literals, earlier predicate, lower action (the reduction runs in
        // order, so the result does not depend on the thread count).
        let better = |x: &(usize, usize, f64, u64), y: &(usize, usize, f64, u64)| {
            x.2.total_cmp(&y.2)
                .then(x.3.cmp(&y.3))
                .then(pool.preds[y.0].literals().cmp(&pool.preds[x.0].literals()))
                .then(y.0.cmp(&x.0))
                .then(y.1.cmp(&x.1))
        };
        let Some(&(j, a, _, _)) = best.iter().max_by(|x, y| better(x, y)) else { break };
        out.rules.push((pool.preds[j], Action::ALL[a]));
        for (u, b) in uncovered.iter_mut().zip(&pool.behaviours[j]) {
            *u &= !b;
        }
        out.defaults.push(states.majority(&uncovered));
    }
    out
}

/// How one policy episode went.
#[derive(Debug, Clone, Default)]
struct Run {
    actions: Vec<usize>,
    /// (atom mask, cell) of every state the policy decided in, when asked for.
    visited: Vec<(u32, (i32, i32))>,
    reached: bool,
    died: bool,
    work: u64,
}

/// Runs `program` in the task's episode of `inst` until it ends, recording the states it decided in if `record`;
/// `None` for an instance the task offers no episode for (a malformed one).
fn run(task: &Navigation, program: &Program, bfs: bool, inst: &NavInstance, record: bool) -> Option<Run> {
    let mut ep = task.episode(inst)?;
    let city = inst.city();
    let to_goal = bfs.then(|| city.distances_from(inst.goal));
    // The breadth-first search settles every street cell it reaches once.
    let settled = to_goal.as_ref().map_or(0, |d| d.iter().filter(|&&x| x != u32::MAX).count() as u64);
    let mut out = Run { work: settled, ..Default::default() };
    let mut pos = inst.start;
    while out.actions.len() < MAX_EPISODE {
        let m = state_atoms(&ep.observe(), &city, pos, inst.goal, to_goal.as_deref());
        let a = program.act(m);
        if record {
            out.visited.push((m, pos));
        }
        let s = ep.step(a.index());
        out.actions.push(a.index());
        out.work += 1;
        // The episode moves the agent exactly as the city does (a move into a building wastes the tick).
        pos = city.moved(pos, a);
        out.reached |= s.reached;
        out.died |= s.died;
        if s.done {
            break;
        }
    }
    Some(out)
}

/// The planner's demonstration on `inst` as (atom mask, action index) pairs, one per tick.
fn demonstration(task: &Navigation, bfs: bool, inst: &NavInstance) -> Vec<(u32, usize)> {
    let (Some(actions), Some(mut ep)) = (task.demonstration(inst), task.episode(inst)) else { return Vec::new() };
    let city = inst.city();
    let to_goal = bfs.then(|| city.distances_from(inst.goal));
    let mut pos = inst.start;
    let mut pairs = Vec::with_capacity(actions.len());
    for a in actions {
        let Some(action) = Action::from_index(a) else { break };
        pairs.push((state_atoms(&ep.observe(), &city, pos, inst.goal, to_goal.as_deref()), a));
        pos = city.moved(pos, action);
        if ep.step(a).done {
            break;
        }
    }
    pairs
}

/// DAgger labels for a policy run on `inst`: the planner's first action from every state the run decided in (its
/// cell at tick k, as [`Task::expert_action`] would answer after replaying the run's first k actions); states from
/// which no safe route remains are skipped.
fn expert_labels(inst: &NavInstance, r: &Run) -> Vec<(u32, usize)> {
    r.visited
        .iter()
        .enumerate()
        .filter_map(|(k, &(m, pos))| Some((m, plan_from(inst, pos, k as u32)?.first()?.index())))
        .collect()
}

/// Greedy success rate and deaths of `program` on `insts`.
fn validate(task: &Navigation, program: &Program, bfs: bool, insts: &[NavInstance]) -> (f64, u64) {
    let runs: Vec<Option<Run>> = insts.par_iter().map(|i| run(task, program, bfs, i, false)).collect();
    let ok = runs.iter().flatten().filter(|r| r.reached).count();
    let deaths = runs.iter().flatten().filter(|r| r.died).count() as u64;
    (ok as f64 / insts.len().max(1) as f64, deaths)
}

/// What one round of pool building, covering and selection found and cost.
#[derive(Debug, Clone)]
struct Round {
    program: Program,
    val_success: f64,
    val_deaths: u64,
    floor: f64,
    /// Whether any precision floor gave a rule at all.
    any_rule: bool,
    scored: u64,
    enumerated: u64,
    distinct: usize,
    capped: bool,
    work_capped: bool,
    validated: usize,
    states: usize,
    distinct_states: usize,
    agreement: f64,
    bytes: usize,
}

/// Steps 1–3 of the module docs on the labelled states `pairs`.
fn learn_round(
    c: &DecisionListConfig,
    task: &Navigation,
    pairs: &[(u32, usize)],
    val: &[NavInstance],
    budget: &Budget,
    progress: &dyn Fn(f64),
) -> Round {
    let states = States::from_pairs(pairs.iter().copied());
    let pool = build_pool(&states, &Atom::all(c.bfs), c.max_literals, c.max_predicates, budget);
    let mut lists: Vec<Covering> =
        c.min_precisions.iter().map(|&f| cover(&states, &pool, c.max_rules, f, c.min_support, budget)).collect();
    if lists.is_empty() {
        // No precision floor configured: the default alone.
        let all = vec![u64::MAX; states.words()];
        lists.push(Covering { defaults: vec![states.majority(&all)], ..Default::default() });
    }
    progress(0.3);
    // Validation of every prefix; identical programs are run once.
    let mut tried: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    let mut best: Option<(f64, u64, usize, Program)> = None;
    let candidates: Vec<(usize, usize)> =
        (0..lists.len()).flat_map(|f| (0..=lists[f].rules.len()).map(move |k| (f, k))).collect();
    for (n, &(f, k)) in candidates.iter().enumerate() {
        let program = Program { rules: lists[f].rules[..k].to_vec(), default: lists[f].defaults[k] };
        let (success, deaths) =
            *tried.entry(program.to_string()).or_insert_with(|| validate(task, &program, c.bfs, val));
        // Strictly better success, or as good with fewer rules.
        if best.as_ref().is_none_or(|b| success > b.0 || (success == b.0 && k < b.3.rules.len())) {
            best = Some((success, deaths, f, program));
        }
        progress(0.3 + 0.7 * (n + 1) as f64 / candidates.len() as f64);
    }
    let (val_success, val_deaths, f, program) = best.expect("every list has its 0-rule prefix");
    let agree: u64 = states.masks.iter().zip(&states.counts).map(|(&m, n)| n[program.act(m).index()]).sum();
    let bitset = states.words() * 8 + 2 * std::mem::size_of::<Vec<u64>>();
    Round {
        val_success,
        val_deaths,
        floor: c.min_precisions.get(f).copied().unwrap_or(0.0),
        any_rule: lists.iter().any(|l| !l.rules.is_empty()),
        scored: lists.iter().map(|l| l.scored).sum(),
        enumerated: pool.enumerated,
        distinct: pool.preds.len(),
        capped: pool.capped,
        work_capped: pool.work_capped || lists.iter().any(|l| l.work_capped),
        validated: tried.len(),
        states: pairs.len(),
        distinct_states: states.len(),
        agreement: agree as f64 / pairs.len().max(1) as f64,
        // Behaviour bitsets (each also held once while deduplicating), the rows, and the labelled pairs.
        bytes: pool.preds.len() * (2 * bitset + 16) + states.len() * (4 + 8 * ACTIONS) + pairs.len() * 16,
        program,
    }
}

/// (atom mask, action index) pairs.
type Labelled = Vec<(u32, usize)>;

/// What [`search`] found and what it cost.
#[derive(Debug, Clone)]
struct Found {
    /// The list, or `None` when no list with a rule beat the default-only one.
    program: Option<Program>,
    stats: TrainStats,
}

/// The whole learning procedure of the module docs, with its DAgger rounds.
fn search(c: &DecisionListConfig, task: &Navigation, data: &TrainData<Navigation>, progress: &dyn Fn(f64)) -> Found {
    let started = Instant::now();
    let budget = Budget::new(c.max_work);
    let episodes = &data.train[..c.max_episodes.min(data.train.len())];
    let per: Vec<Vec<(u32, usize)>> = episodes.par_iter().map(|i| demonstration(task, c.bfs, i)).collect();
    let used = per.iter().filter(|p| !p.is_empty()).count();
    let mut pairs: Vec<(u32, usize)> = per.into_iter().flatten().collect();
    let demo_states = pairs.len();
    let val = &data.val[..c.max_val_episodes.min(data.val.len())];
    let rounds = c.dagger_rounds + 1;
    let (mut queries, mut labelled, mut rolled, mut deaths) = (0u64, 0u64, 0u64, 0u64);
    let (mut scored, mut enumerated, mut validated, mut bytes, mut work_capped) = (0u64, 0u64, 0usize, 0usize, false);
    let mut best: Option<(Round, usize)> = None;
    for round in 0..rounds {
        let r = learn_round(c, task, &pairs, val, &budget, &|f| progress((round as f64 + f) / rounds as f64));
        (scored, enumerated, validated) = (scored + r.scored, enumerated + r.enumerated, validated + r.validated);
        bytes = bytes.max(r.bytes);
        work_capped |= r.work_capped;
        if round + 1 < rounds && !budget.spent() {
            // DAgger: the states the current list reaches on training instances, labelled by the planner.
            let n = c.dagger_episodes.min(data.train.len());
            let insts: Vec<&NavInstance> = data.train.iter().cycle().skip(round * n).take(n).collect();
            let runs: Vec<(Labelled, u64, bool)> = insts
                .par_iter()
                .filter_map(|i| {
                    let run = run(task, &r.program, c.bfs, i, true)?;
                    Some((expert_labels(i, &run), run.visited.len() as u64, run.died))
                })
                .collect();
            for (labels, visited, died) in runs {
                rolled += 1;
                queries += visited;
                labelled += labels.len() as u64;
                deaths += u64::from(died);
                pairs.extend(labels);
            }
        }
        if best.as_ref().is_none_or(|(b, _)| r.val_success > b.val_success) {
            best = Some((r, round));
        }
    }
    let (r, best_round) = best.expect("at least one round");
    let found = !r.program.rules.is_empty();
    let text = if found {
        r.program.to_string()
    } else if work_capped && !r.any_rule {
        format!("none found: work cap of {} reached before a rule was chosen", c.max_work)
    } else if !r.any_rule {
        "none found: no rule met the precision floors and the support".to_string()
    } else {
        format!("none found: no list with rules beat the default-only list `{}` on validation", r.program)
    };
    let mut stats = TrainStats {
        examples: used as u64,
        examples_seen: r.states as u64,
        trials: rolled,
        deaths,
        val_accuracy: Some(r.val_success),
        val_accuracy_name: Some("validation episode success rate".into()),
        program: Some(text),
        ..Default::default()
    };
    for (k, v) in [
        ("programs_enumerated", scored as f64),
        ("predicates_enumerated", enumerated as f64),
        ("distinct_behaviours", r.distinct as f64),
        ("predicate_cap_hit", f64::from(u8::from(r.capped))),
        ("work_capped", f64::from(u8::from(work_capped))),
        ("search_s", started.elapsed().as_secs_f64()),
        ("peak_bytes", bytes as f64),
        ("rules", r.program.rules.len() as f64),
        ("found", f64::from(u8::from(found))),
        ("min_precision", r.floor),
        ("best_round", best_round as f64),
        ("demonstration_states", demo_states as f64),
        ("dagger_expert_queries", queries as f64),
        ("dagger_states", labelled as f64),
        ("distinct_states", r.distinct_states as f64),
        ("train_agreement", r.agreement),
        ("val_episodes", val.len() as f64),
        ("val_deaths", r.val_deaths as f64),
        ("programs_validated", validated as f64),
    ] {
        stats.extra.insert(k.into(), v);
    }
    Found { program: found.then_some(r.program), stats }
}

impl Learner<Navigation> for DecisionList {
    fn name(&self) -> &'static str {
        if self.0.bfs {
            "decision-list"
        } else {
            "decision-list-nobfs"
        }
    }

    fn kind(&self) -> SolverKind {
        SolverKind::ProgramSearch
    }

    fn description(&self) -> String {
        format!(
            "decision list of up to {} rules over conjunctions of up to {} literals on free/car_now/car_next/goal{} \
             atoms, sequential covering of the planner's demonstrations and {} DAgger rounds",
            self.0.max_rules,
            self.0.max_literals,
            if self.0.bfs { "/bfs_closer" } else { " (no BFS)" },
            self.0.dagger_rounds
        )
    }

    fn config(&self, task: &Navigation, profile: &Profile) -> serde_json::Value {
        let c = &self.0;
        let mut families =
            vec!["free(d)", "car_now(d)", "car_next(d)", "car_next(here)", "goal(d) (sign of the goal offset)"];
        if c.bfs {
            families.push("bfs_closer(d) (street distance to the goal decreases)");
        }
        let available = profile.train_examples_for(task.id());
        serde_json::json!({
            "dsl": "if P1 then A1 elif ... else A; P a conjunction of literals (atom or !atom)",
            "actions": ["N", "S", "E", "W", "wait"],
            "directions": ["N", "S", "E", "W"],
            "predicate_families": families,
            "atoms": Atom::count(c.bfs),
            "max_literals": c.max_literals,
            "max_rules": c.max_rules,
            "max_predicates": c.max_predicates,
            "min_precisions": c.min_precisions,
            "min_support": c.min_support,
            "search": "greedy sequential covering; rule count, precision floor and DAgger round chosen by validation success",
            "demonstration_episodes": c.max_episodes.min(available),
            "train_instances_available": available,
            "val_episodes": c.max_val_episodes.min(profile.val_examples),
            "dagger_rounds": c.dagger_rounds,
            "dagger_episodes": c.dagger_episodes,
            "max_work": c.max_work,
        })
    }

    fn train(
        &self,
        task: &Navigation,
        data: &TrainData<Navigation>,
        _profile: &Profile,
        _seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<(Box<dyn Solver<Navigation>>, TrainStats)> {
        // Deterministic without a random stream: the data are the first demonstrations, ties break by order.
        let found = search(&self.0, task, data, progress);
        Ok((Box::new(ListSolver { program: found.program, bfs: self.0.bfs }), found.stats))
    }
}

/// A learned decision list acting in the task's episodes; without a list it gives no answer.
#[derive(Debug, Clone)]
pub struct ListSolver {
    /// The list, or `None` when the search found none.
    pub program: Option<Program>,
    /// Whether the BFS atoms are computed.
    pub bfs: bool,
}

impl Solver<Navigation> for ListSolver {
    fn solve_batch(
        &self,
        task: &Navigation,
        instances: &[NavInstance],
    ) -> driftbench_core::Result<Vec<Attempt<<Navigation as Task>::Answer>>> {
        let none = Attempt { answer: None, info: SolveInfo { work: 0 } };
        let Some(program) = &self.program else { return Ok(vec![none; instances.len()]) };
        Ok(instances
            .par_iter()
            .map(|inst| match run(task, program, self.bfs, inst, false) {
                Some(r) => {
                    Attempt { answer: task.answer_from_actions(inst, &r.actions), info: SolveInfo { work: r.work } }
                }
                None => none.clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftbench_core::{rng, Cell};
    use driftbench_tasks::navigation::{Pattern, OBS_DIM};

    const N: Action = Action::North;
    const S: Action = Action::South;
    const E: Action = Action::East;
    const W: Action = Action::West;
    const WAIT: Action = Action::Wait;

    fn mask(atoms: &[Atom]) -> u32 {
        atoms.iter().fold(0, |m, a| m | a.bit())
    }

    fn data(n_train: usize, n_val: usize, seed: u64) -> TrainData<Navigation> {
        let t = Navigation;
        let draw = |purpose: &str, n: usize| {
            let mut r = rng::stream(seed, t.id(), purpose);
            (0..n).map(|_| t.generate(Cell::IN_DIST, &mut r)).collect()
        };
        TrainData { train: draw("train", n_train), val: draw("val", n_val), dropped_overlaps: 0 }
    }

    #[test]
    fn atoms_have_distinct_bits_and_names() {
        for bfs in [false, true] {
            let all = Atom::all(bfs);
            assert_eq!(all.len(), Atom::count(bfs));
            assert_eq!(mask(&all).count_ones() as usize, all.len());
            // The ablation's atoms are the low bits.
            assert_eq!(mask(&all), (1u32 << all.len()) - 1);
        }
        assert_eq!(Atom::CarNext(WAIT).to_string(), "car_next(here)");
        assert_eq!(Atom::BfsCloser(E).to_string(), "bfs_closer(E)");
    }

    #[test]
    fn predicates_evaluate_on_hand_built_states() {
        let p = Predicate::default().and(Atom::BfsCloser(E), true).and(Atom::CarNext(E), false);
        assert_eq!(p.to_string(), "!car_next(E) & bfs_closer(E)");
        assert_eq!(p.literals(), 2);
        // (state, holds)
        let table = [
            (mask(&[Atom::BfsCloser(E), Atom::Free(E)]), true),
            (mask(&[Atom::BfsCloser(E), Atom::CarNext(E)]), false),
            (mask(&[Atom::BfsCloser(N), Atom::CarNext(W)]), false),
            (mask(&[Atom::BfsCloser(E), Atom::CarNext(WAIT), Atom::Goal(S)]), true),
            (0, false),
        ];
        for (state, holds) in table {
            assert_eq!(p.eval(state), holds, "{state:b}");
        }
        assert!(Predicate::default().eval(0) && Predicate::default().eval(u32::MAX));
        assert_eq!(Predicate::default().to_string(), "true");
        let program = Program {
            rules: vec![(Predicate::default().and(Atom::CarNext(WAIT), true).and(Atom::Free(N), true), N), (p, E)],
            default: WAIT,
        };
        assert_eq!(
            program.to_string(),
            "if free(N) & car_next(here) then N elif !car_next(E) & bfs_closer(E) then E else wait"
        );
        assert_eq!(program.act(mask(&[Atom::CarNext(WAIT), Atom::Free(N), Atom::BfsCloser(E)])), N);
        assert_eq!(program.act(mask(&[Atom::CarNext(WAIT), Atom::BfsCloser(E)])), E);
        assert_eq!(program.act(mask(&[Atom::BfsCloser(E), Atom::CarNext(E)])), WAIT);
        assert_eq!(Program { rules: vec![], default: S }.to_string(), "always S");
    }

    #[test]
    fn state_atoms_read_the_observation_and_the_map() {
        let city = City::generate(Pattern::Grid, 3, 12, 12);
        // A street cell with a street to the east and a building to the north, both inside the map.
        let pos = (1..11)
            .flat_map(|y| (1..11).map(move |x| (x, y)))
            .find(|&(x, y)| city.is_street((x, y)) && city.is_street((x + 1, y)) && !city.is_street((x, y - 1)))
            .expect("such a cell");
        let goal = *city.street_cells().last().unwrap();
        let mut obs = vec![0.0f32; OBS_DIM];
        let slot = |c: usize, dx: i32, dy: i32| c * WINDOW * WINDOW + ((dy + 4) * WINDOW as i32 + dx + 4) as usize;
        obs[slot(1, 1, 0)] = 1.0; // a car east now
        obs[slot(2, 0, 0)] = 1.0; // it drives onto the agent's cell
        obs[slot(2, -2, 0)] = 1.0; // another car two cells west: no atom
        let to_goal = city.distances_from(goal);
        let m = state_atoms(&obs, &city, pos, goal, Some(&to_goal));
        let holds = |a: Atom| m & a.bit() != 0;
        assert!(holds(Atom::Free(E)) && !holds(Atom::Free(N)));
        assert!(holds(Atom::CarNow(E)) && holds(Atom::CarNext(WAIT)));
        assert!(!holds(Atom::CarNext(W)) && !holds(Atom::CarNow(W)) && !holds(Atom::CarNext(E)));
        assert_eq!(holds(Atom::Goal(E)), goal.0 > pos.0);
        assert_eq!(holds(Atom::Goal(S)), goal.1 > pos.1);
        assert_eq!(holds(Atom::Goal(N)), goal.1 < pos.1);
        let idx = |(x, y): (i32, i32)| (y * 12 + x) as usize;
        for d in DIRS {
            let n = city.moved(pos, d);
            let closer = n != pos && to_goal[idx(n)] < to_goal[idx(pos)];
            assert_eq!(holds(Atom::BfsCloser(d)), closer, "{d:?}");
        }
        // Some move is closer, since the goal is elsewhere; without the map no BFS atom is set.
        assert!(DIRS.iter().any(|&d| holds(Atom::BfsCloser(d))));
        let no_bfs = state_atoms(&obs, &city, pos, goal, None);
        assert_eq!(no_bfs, m & ((1 << ATOMS_NO_BFS) - 1));
        // A short observation reads as one without cars, and does not panic.
        let short = state_atoms(&[], &city, pos, goal, None);
        assert_eq!(short & mask(&[Atom::CarNow(E), Atom::CarNext(WAIT)]), 0);
    }

    #[test]
    fn demonstration_states_match_the_world() {
        // The tracked position and the car atoms agree with the task's own world, tick by tick.
        let t = Navigation;
        let inst = t.generate(Cell::IN_DIST, &mut rng::stream(4, t.id(), "atoms"));
        let pairs = demonstration(&t, true, &inst);
        let route = t.demonstration(&inst).unwrap();
        assert_eq!(pairs.len(), route.len());
        let mut w = driftbench_tasks::navigation::World::new(&inst);
        for (&(m, a), &r) in pairs.iter().zip(&route) {
            assert_eq!(a, r);
            let pos = w.position();
            let cars = w.cars_at(w.tick());
            for d in DIRS {
                let (dx, dy) = d.delta();
                let car = cars.contains(&(pos.0 + dx, pos.1 + dy));
                assert_eq!(m & Atom::CarNow(d).bit() != 0, car, "{d:?} at tick {}", w.tick());
            }
            // The planner never moves into a cell a car ends the tick on.
            if a != WAIT.index() {
                assert_eq!(m & Atom::CarNext(Action::ALL[a]).bit(), 0);
            }
            w.step(Action::ALL[a]);
        }
        assert_eq!(w.position(), inst.goal);
    }

    #[test]
    fn observationally_equivalent_predicates_are_merged() {
        // free(N) and free(S) always agree on these states; goal(E) never holds.
        let (fn_, fs, cn) = (Atom::Free(N), Atom::Free(S), Atom::CarNow(N));
        let states =
            States::from_pairs([(mask(&[fn_, fs]), 0), (mask(&[fn_, fs, cn]), 4), (mask(&[cn]), 4), (0, 1), (0, 1)]);
        assert_eq!(states.len(), 4);
        let atoms = [fn_, fs, cn, Atom::Goal(E)];
        let far = Budget::new(u64::MAX);
        let pool = build_pool(&states, &atoms, 1, 100, &far);
        let names: Vec<String> = pool.preds.iter().map(|p| p.to_string()).collect();
        assert_eq!(names, ["free(N)", "!free(N)", "car_now(N)", "!car_now(N)", "!goal(E)"]);
        assert_eq!(pool.enumerated, 8);
        // Pairs: free(N) & free(S) is free(N) again, free(N) & !free(S) holds nowhere.
        let pool2 = build_pool(&states, &atoms, 2, 100, &far);
        assert_eq!(pool2.enumerated, 8 + 4 * 6);
        let distinct: std::collections::BTreeSet<Vec<u64>> = pool2.behaviours.iter().cloned().collect();
        assert_eq!(distinct.len(), pool2.preds.len());
        // Four rows: at most 2^4 − 1 non-empty behaviours.
        assert!(pool2.preds.len() <= 15 && pool2.preds.len() > pool.preds.len());
        assert!(pool2.behaviours.iter().all(|b| b.iter().any(|&w| w != 0)));
        // The cap on distinct behaviours.
        let capped = build_pool(&states, &atoms, 2, 3, &far);
        assert!(capped.capped && capped.preds.len() == 3);
    }

    #[test]
    fn sequential_covering_recovers_a_known_list() {
        let (cne, ge, gs, fnn) = (Atom::CarNext(E), Atom::Goal(E), Atom::Goal(S), Atom::Free(N));
        let target = Program {
            rules: vec![
                (Predicate::default().and(cne, true), WAIT),
                (Predicate::default().and(ge, true), E),
                (Predicate::default().and(gs, true).and(fnn, false), S),
            ],
            default: N,
        };
        let atoms = [cne, ge, gs, fnn];
        // Every combination of the four atoms, with uneven weights.
        let pairs: Vec<(u32, usize)> = (0u32..16)
            .flat_map(|bits| {
                let m = atoms.iter().enumerate().filter(|&(i, _)| bits >> i & 1 == 1).fold(0, |m, (_, a)| m | a.bit());
                // The states of the third rule weigh most, so that greedy covering takes it before any `N` rule.
                let a = target.act(m);
                std::iter::repeat_n((m, a.index()), if a == S { 10 } else { 1 + bits as usize % 3 })
            })
            .collect();
        let states = States::from_pairs(pairs.iter().copied());
        let far = Budget::new(u64::MAX);
        let pool = build_pool(&states, &Atom::all(false), 2, 10_000, &far);
        let list = cover(&states, &pool, 8, 1.0, 1, &far);
        let learned = Program { rules: list.rules.clone(), default: *list.defaults.last().unwrap() };
        for &(m, a) in &pairs {
            assert_eq!(learned.act(m).index(), a, "{learned} on {m:b}");
        }
        assert_eq!(learned, target);
        assert_eq!(list.defaults.len(), list.rules.len() + 1);
        assert!(list.scored > 0 && !list.work_capped);
    }

    #[test]
    fn caps_are_respected_and_recorded() {
        let t = Navigation;
        let d = data(30, 10, 9);
        let mut c = DecisionListConfig::new(true);
        c.max_work = 0;
        let found = search(&c, &t, &d, &|_| {});
        let x = &found.stats.extra;
        assert_eq!((x["work_capped"], x["found"], x["rules"]), (1.0, 0.0, 0.0));
        assert!(found.stats.program.as_deref().unwrap().starts_with("none found: work cap"), "{:?}", found.stats);
        // A cap that counts work stops at the same place on every run (and every machine), whatever the speed:
        // here after the first chunk of conjunctions (the single literals).
        let mut c = DecisionListConfig::new(true);
        c.max_work = 1;
        let strip = |f: &Found| {
            let mut x = f.stats.extra.clone();
            x.remove("search_s");
            (f.stats.program.clone(), x)
        };
        let (a, b) = (strip(&search(&c, &t, &d, &|_| {})), strip(&search(&c, &t, &d, &|_| {})));
        assert_eq!(a.1["work_capped"], 1.0);
        assert_eq!(a.1["predicates_enumerated"], 2.0 * Atom::all(true).len() as f64);
        assert_eq!(a, b);
        assert!(found.program.is_none());
        let mut c = DecisionListConfig::new(false);
        c.max_predicates = 5;
        c.max_rules = 1;
        c.max_episodes = 10;
        c.max_val_episodes = 4;
        c.dagger_episodes = 3;
        let found = search(&c, &t, &d, &|_| {});
        let x = &found.stats.extra;
        assert_eq!((x["predicate_cap_hit"], x["distinct_behaviours"]), (1.0, 5.0));
        assert!(found.program.as_ref().map_or(0, |p| p.rules.len()) <= 1 && x["val_episodes"] == 4.0);
        assert_eq!(found.stats.examples, 10);
        // No data at all, and no precision floor: a recorded default, no panic.
        let empty = TrainData::<Navigation> { train: vec![], val: vec![], dropped_overlaps: 0 };
        c.min_precisions.clear();
        let found = search(&c, &t, &empty, &|_| {});
        assert_eq!((found.stats.extra["found"], found.stats.examples), (0.0, 0));
        assert!(found.program.is_none() && found.stats.program.as_deref().unwrap().starts_with("none found"));
        // Without a list, and on a malformed instance, the solver gives no answer.
        let mut bad = d.val[0].clone();
        bad.width = 0;
        let insts = [d.val[0].clone(), bad];
        let out = ListSolver { program: None, bfs: true }.solve_batch(&t, &insts).unwrap();
        assert!(out.iter().all(|a| a.answer.is_none()));
        let out = ListSolver { program: Some(Program { rules: vec![], default: E }), bfs: true };
        let out = out.solve_batch(&t, &insts).unwrap();
        assert!(out[0].answer.is_some() && out[1].answer.is_none());
    }

    #[test]
    fn learned_list_with_bfs_reaches_goals_at_level_0_and_is_deterministic() {
        let t = Navigation;
        let d = data(300, 50, 1);
        let profile = Profile::tiny();
        let learners = learners();
        assert_eq!(
            learners.iter().map(|l| l.name()).collect::<Vec<_>>(),
            ["decision-list", "decision-list-nobfs", "nearest-state"]
        );
        assert!(learners[..2].iter().all(|l| l.kind() == SolverKind::ProgramSearch));
        assert_eq!(learners[2].kind(), SolverKind::Baseline);
        let cfg = learners[0].config(&t, &profile);
        assert_eq!((cfg["max_rules"].as_u64(), cfg["max_literals"].as_u64()), (Some(8), Some(3)));
        assert_eq!(cfg["demonstration_episodes"].as_u64(), Some(300));
        let (solver, stats) = learners[0].train(&t, &d, &profile, 1, &|_| {}).unwrap();
        let (_, again) = learners[0].train(&t, &d, &profile, 1, &|_| {}).unwrap();
        assert_eq!(stats.program, again.program);
        assert_eq!(stats.examples, 300);
        let x = &stats.extra;
        assert_eq!(x["found"], 1.0, "{:?}", stats.program);
        assert!(x["distinct_behaviours"] > 100.0 && x["programs_enumerated"] >= x["distinct_behaviours"]);
        assert!(stats.program.as_deref().unwrap().contains("bfs_closer"), "{:?}", stats.program);
        let tests: Vec<NavInstance> = {
            let mut r = rng::stream(1, t.id(), "test/in-dist");
            (0..40).map(|_| t.generate(Cell::IN_DIST, &mut r)).collect()
        };
        let answers = solver.solve_batch(&t, &tests).unwrap();
        let ok = tests
            .iter()
            .zip(&answers)
            .filter(|(i, a)| a.answer.as_ref().is_some_and(|r| t.score(i, r).success))
            .count();
        assert!(ok >= 10, "{ok} of 40 with {:?}", stats.program);
        assert!(answers.iter().all(|a| a.info.work > 0));
    }

    /// Trains both lists on the quick profile's seed-1 data and prints them with their success at level 0 and at
    /// every axis's level 4, next to the planner:
    /// `cargo test --release -p driftbench-search navigation::tests::measure -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn measure() {
        let t = Navigation;
        let profile = Profile::quick();
        let started = Instant::now();
        let c = DecisionListConfig::new(true);
        // Only the first `max_episodes` training instances are used; the first ones of the stream are the same.
        let d = data(c.max_episodes, profile.val_examples.min(c.max_val_episodes), 1);
        println!("data {:.1} s", started.elapsed().as_secs_f64());
        let mut cells = vec![Cell::IN_DIST];
        cells.extend((0..4).map(|a| Cell { axis: Some(a), level: 4 }));
        let tests: Vec<(String, Vec<NavInstance>)> = cells
            .iter()
            .map(|&cell| {
                let mut r = rng::stream(1, t.id(), &format!("measure/{}", cell.label(t.axes())));
                (cell.label(t.axes()), (0..200).map(|_| t.generate(cell, &mut r)).collect())
            })
            .collect();
        for learner in learners() {
            let started = Instant::now();
            let (solver, stats) = learner.train(&t, &d, &profile, 1, &|_| {}).unwrap();
            println!("{}: trained in {:.2} s", learner.name(), started.elapsed().as_secs_f64());
            println!("  {}", stats.program.as_deref().unwrap_or(""));
            println!("  val {:?} extra {:?}", stats.val_accuracy, stats.extra);
            for (label, insts) in &tests {
                let answers = solver.solve_batch(&t, insts).unwrap();
                let outcomes: Vec<_> =
                    insts.iter().zip(&answers).map(|(i, a)| t.score(i, a.answer.as_ref().unwrap())).collect();
                let ok = outcomes.iter().filter(|o| o.success).count();
                let deaths = outcomes.iter().filter(|o| o.failure == Some("death")).count();
                let timeouts = outcomes.iter().filter(|o| o.failure == Some("timeout")).count();
                let planner = insts.iter().filter(|i| t.score(i, &t.solve_symbolic(i).0).success).count();
                println!(
                    "  {label:10} success {:5.1}% (deaths {deaths}, timeouts {timeouts}) planner {:5.1}%",
                    ok as f64 / 2.0,
                    planner as f64 / 2.0
                );
            }
        }
    }
}
