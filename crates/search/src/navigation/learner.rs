//! The decision-list learner: its configuration, DAgger rounds, selection on validation, and the solver.

use super::covering::{build_pool, cover, Budget, Covering, States};
use super::dsl::{state_atoms, Atom, Program};
use super::window::WindowPlanner;
use super::{ACTIONS, MAX_EPISODE};
use driftbench_core::solver::Attempt;
use driftbench_core::{Learner, Profile, SolveInfo, Solver, SolverKind, TrainData, TrainStats};
use driftbench_tasks::navigation::{first_actions_from, Action, NavInstance, NavTask, Route};
use driftbench_tasks::{Navigation, NavigationV2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

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

/// The navigation-specific learners of `navigation-v1`: decision lists with and without the BFS feature, and the
/// memorisation baseline.
pub fn learners() -> Vec<Box<dyn Learner<Navigation>>> {
    learners_of()
}

/// The same learners for any version of the navigation task ([`NavTask`]).
pub fn learners_of<T: NavTask>() -> Vec<Box<dyn Learner<T>>> {
    vec![
        Box::new(DecisionList::with_bfs()),
        Box::new(DecisionList::without_bfs()),
        Box::new(crate::lookup::NearestState),
    ]
}

/// The navigation-specific learners of `navigation-v2`: those of [`learners_of`], then the information-matched
/// control, the planner restricted to the window policies' observation ([`WindowPlanner`]).
pub fn learners_v2() -> Vec<Box<dyn Learner<NavigationV2>>> {
    let mut out = learners_of();
    out.push(Box::new(WindowPlanner));
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
fn run<T: NavTask>(task: &T, program: &Program, bfs: bool, inst: &NavInstance, record: bool) -> Option<Run> {
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
pub(super) fn demonstration<T: NavTask>(task: &T, bfs: bool, inst: &NavInstance) -> Vec<(u32, usize)> {
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
/// cell at tick k, as [`PolicyTask::expert_action`] would answer after replaying the run's first k actions); states from
/// which no safe route remains are skipped.
fn expert_labels(inst: &NavInstance, r: &Run) -> Vec<(u32, usize)> {
    let states: Vec<((i32, i32), u32)> = r.visited.iter().enumerate().map(|(k, &(_, pos))| (pos, k as u32)).collect();
    r.visited.iter().zip(first_actions_from(inst, &states)).filter_map(|(&(m, _), a)| Some((m, a?.index()))).collect()
}

/// Greedy success rate and deaths of `program` on `insts`.
fn validate<T: NavTask>(task: &T, program: &Program, bfs: bool, insts: &[NavInstance]) -> (f64, u64) {
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
fn learn_round<T: NavTask>(
    c: &DecisionListConfig,
    task: &T,
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
pub(super) struct Found {
    /// The list, or `None` when no list with a rule beat the default-only one.
    pub(super) program: Option<Program>,
    pub(super) stats: TrainStats,
}

/// The whole learning procedure of the module docs, with its DAgger rounds.
pub(super) fn search<T: NavTask>(
    c: &DecisionListConfig,
    task: &T,
    data: &TrainData<T>,
    progress: &dyn Fn(f64),
) -> Found {
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

impl<T: NavTask> Learner<T> for DecisionList {
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

    fn observes(&self, task: &T) -> String {
        if self.0.bfs {
            format!(
                "atoms read off the window policies' observation ({}), plus the street distance to the goal from \
                 every neighbouring cell (a search over the whole street map)",
                task.policy_observes()
            )
        } else {
            format!("atoms read off the window policies' observation ({})", task.policy_observes())
        }
    }

    fn config(&self, task: &T, profile: &Profile) -> serde_json::Value {
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
        task: &T,
        data: &TrainData<T>,
        _profile: &Profile,
        _seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<(Box<dyn Solver<T>>, TrainStats)> {
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

impl<T: NavTask> Solver<T> for ListSolver {
    fn solve_batch(&self, task: &T, instances: &[NavInstance]) -> driftbench_core::Result<Vec<Attempt<Route>>> {
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
