//! Greedy sequential covering: labelled state rows, the deduplicated predicate pool and the covering loop.

use super::dsl::{Atom, Predicate};
use super::ACTIONS;
use driftbench_tasks::navigation::Action;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

/// Demonstration states merged by atom mask: each row's mask and how often the planner took each action there.
#[derive(Debug, Clone, Default)]
pub(super) struct States {
    pub(super) masks: Vec<u32>,
    pub(super) counts: Vec<[u64; ACTIONS]>,
}

impl States {
    pub(super) fn from_pairs(pairs: impl IntoIterator<Item = (u32, usize)>) -> States {
        let mut rows: BTreeMap<u32, [u64; ACTIONS]> = BTreeMap::new();
        for (m, a) in pairs {
            if a < ACTIONS {
                rows.entry(m).or_default()[a] += 1;
            }
        }
        let (masks, counts) = rows.into_iter().unzip();
        States { masks, counts }
    }

    pub(super) fn len(&self) -> usize {
        self.masks.len()
    }

    pub(super) fn words(&self) -> usize {
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
    pub(super) fn majority(&self, rows: &[u64]) -> Action {
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
pub(super) struct Pool {
    pub(super) preds: Vec<Predicate>,
    pub(super) behaviours: Vec<Vec<u64>>,
    /// Conjunctions built and evaluated on the training rows.
    pub(super) enumerated: u64,
    /// Whether `max_predicates` stopped the enumeration.
    pub(super) capped: bool,
    /// Whether the work cap stopped it.
    pub(super) work_capped: bool,
}

/// Every conjunction of 1..=`max_literals` literals over `atoms` on distinct atoms, by size then atom order, with
/// duplicates in behaviour (and predicates true on no row) dropped.
pub(super) fn build_pool(
    states: &States,
    atoms: &[Atom],
    max_literals: usize,
    max_predicates: usize,
    budget: &Budget,
) -> Pool {
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
pub(super) struct Budget {
    cap: u64,
    used: std::cell::Cell<u64>,
}

impl Budget {
    pub(super) fn new(cap: u64) -> Self {
        Budget { cap, used: std::cell::Cell::new(0) }
    }

    fn spend(&self, work: u64) {
        self.used.set(self.used.get().saturating_add(work));
    }

    pub(super) fn spent(&self) -> bool {
        self.used.get() >= self.cap
    }
}

/// One list found by sequential covering.
#[derive(Debug, Clone, Default)]
pub(super) struct Covering {
    pub(super) rules: Vec<(Predicate, Action)>,
    /// The default for each prefix: `defaults[k]` closes the first k rules.
    pub(super) defaults: Vec<Action>,
    /// Rules scored, summed over rounds.
    pub(super) scored: u64,
    pub(super) work_capped: bool,
}

/// Greedy sequential covering over the pool with precision floor `min_precision`.
pub(super) fn cover(
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
