//! Program search for `sorting-v1`: a fold whose body is found by bottom-up enumeration. The DSL has no `sort`.
//!
//! **The DSL.** A program is `foldr(BODY, [], xs)` or `foldl(BODY, [], xs)`. `foldr` feeds the elements to the
//! body from the last to the first, `foldl` from the first to the last; either way the body is called as
//! BODY(x, acc) with the current element x and the accumulator acc (starting at `[]`), and the program's answer
//! is the final accumulator. BODY is a typed expression over two types, `int` and `list`:
//!
//! | primitive | type | meaning |
//! |---|---|---|
//! | `x` | int | the current element |
//! | `acc` | list | the accumulator |
//! | `[]` | list | the empty list |
//! | `cons(n, l)` | int, list → list | n in front of l |
//! | `append(a, b)` | list, list → list | a followed by b |
//! | `rev(l)` | list → list | l reversed |
//! | `head(l)` | list → int | first element (error on `[]`) |
//! | `tail(l)` | list → list | all but the first element (error on `[]`) |
//! | `min(a, b)`, `max(a, b)` | int, int → int | smaller / larger of two ints (1 comparison) |
//! | `filter(_ op n, l)` | int, list → list | the elements e of l with e op n, in order, for op in <, <=, >, >=, ==, != (one comparison per element) |
//!
//! An error anywhere makes the whole program's answer an error (no answer). A fold whose accumulator grows past
//! 2n + 16 elements on an n-element list is stopped the same way.
//!
//! **Search.** BODY is enumerated by size (nodes) with [`crate::enumerate`], pruned by observational equivalence
//! on the ten fixed probe environments [`PROBES`] (duplicates, negatives, x equal to an element, sorted, unsorted
//! and empty accumulators). Each newly kept `list`-typed body is run under both folds on the training lists; the
//! search stops after the first size at which some (fold, body) sorts every training list, and reports how many
//! did. Among those, the one with the best exact-sort rate on the validation lists wins (ties: `foldr` first, then
//! enumeration order).
//!
//! **Training data.** [`training_lists`]: at most 20 lists of length ≤ 6 from the seed's training instances, read
//! in order: the first 10 that hold a repeated value, then the first others until 20 (level-0 lists rarely hold a
//! duplicate, and without duplicates folds that drop or double equal elements fit too). The label of a list is the
//! list in non-decreasing order, what the networks' rank targets encode.
//!
//! **Solving** evaluates the program on any list, of any length and values; work is counted in comparisons
//! (each element a filter looks at, each `min`/`max`).
use crate::enumerate::{enumerate, Caps, Control, Expr, Grammar, Production, SearchStats, Terminal};
use driftbench_core::solver::Attempt;
#[cfg(test)]
use driftbench_core::Task;
use driftbench_core::{Learner, Profile, SearchBudget, SolveInfo, Solver, SolverKind, TrainData, TrainStats};
use driftbench_tasks::sorting::SortInstance;
use driftbench_tasks::sorting::SortingTask;
#[cfg(test)]
use driftbench_tasks::Sorting;
use rayon::prelude::*;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

/// The program-search learners of a sorting task (any version: they read the lists, not the task's generator).
pub fn learners<T: SortingTask>() -> Vec<Box<dyn Learner<T>>> {
    vec![Box::new(ProgramSearch::default())]
}

/// Most training lists the search uses.
pub const MAX_TRAINING_LISTS: usize = 20;
/// Longest training list the search uses.
pub const MAX_TRAINING_LEN: usize = 6;
/// How many of the training lists should hold a repeated value (if the training data have that many).
pub const WANTED_DUPLICATE_LISTS: usize = 10;

/// The probe environments (x, acc) on which bodies are compared for observational equivalence.
pub const PROBES: [(i64, &[i64]); 10] = [
    (3, &[]),
    (-2, &[5]),
    (4, &[4, 1, 7]),
    (0, &[-3, 0, 0, 5]),
    (7, &[9, 2, 2, -1]),
    (-5, &[-5, -5, 3]),
    (10, &[1, 2, 3]),
    (1, &[8, 6, 6, 4, 1]),
    (6, &[2, 9, 6, -4, 6, 0]),
    (-8, &[-1, -9, 12, -9]),
];

/// Types of the body language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ty {
    /// An integer.
    Int,
    /// A list of integers.
    List,
}

/// The comparison of a filter: `filter(_ op n, l)` keeps the elements e of l with `e op n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    /// e < n
    Lt,
    /// e <= n
    Le,
    /// e > n
    Gt,
    /// e >= n
    Ge,
    /// e == n
    Eq,
    /// e != n
    Ne,
}

impl Cmp {
    /// All comparisons, in enumeration order.
    pub const ALL: [Cmp; 6] = [Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge, Cmp::Eq, Cmp::Ne];

    fn holds(self, e: i64, n: i64) -> bool {
        match self {
            Cmp::Lt => e < n,
            Cmp::Le => e <= n,
            Cmp::Gt => e > n,
            Cmp::Ge => e >= n,
            Cmp::Eq => e == n,
            Cmp::Ne => e != n,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
        }
    }
}

/// The primitives of the body language (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListOp {
    /// The current element.
    X,
    /// The accumulator.
    Acc,
    /// The empty list.
    Nil,
    /// `cons(n, l)`.
    Cons,
    /// `append(a, b)`.
    Append,
    /// `rev(l)`.
    Rev,
    /// `head(l)`.
    Head,
    /// `tail(l)`.
    Tail,
    /// `min(a, b)`.
    Min,
    /// `max(a, b)`.
    Max,
    /// `filter(_ op n, l)`.
    Filter(Cmp),
}

/// The DSL as published in every run record: one line per primitive.
pub fn dsl() -> Vec<String> {
    let mut v: Vec<String> = [
        "program := foldr(BODY, [], xs) | foldl(BODY, [], xs)   (BODY(x, acc); foldr from the last element)",
        "x : int",
        "acc : list",
        "[] : list",
        "cons(int, list) : list",
        "append(list, list) : list",
        "rev(list) : list",
        "head(list) : int   (error on [])",
        "tail(list) : list   (error on [])",
        "min(int, int) : int",
        "max(int, int) : int",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(Cmp::ALL.iter().map(|c| format!("filter(_ {} int, list) : list", c.symbol())));
    v
}

/// A value of the body language: an int, a list, or an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Val {
    /// An integer.
    Int(i64),
    /// A list.
    List(Vec<i64>),
    /// An error (head or tail of `[]`, or an error in an argument).
    Error,
}

/// Applies `op` to argument values, counting comparisons.
fn apply_op(op: ListOp, args: &[&Val], comparisons: &mut u64) -> Val {
    use Val::{Error, Int, List};
    match (op, args) {
        (ListOp::Cons, [Int(n), List(l)]) => {
            let mut out = Vec::with_capacity(l.len() + 1);
            out.push(*n);
            out.extend_from_slice(l);
            List(out)
        }
        (ListOp::Append, [List(a), List(b)]) => List([a.as_slice(), b.as_slice()].concat()),
        (ListOp::Rev, [List(l)]) => List(l.iter().rev().copied().collect()),
        (ListOp::Head, [List(l)]) => l.first().map_or(Error, |&v| Int(v)),
        (ListOp::Tail, [List(l)]) => {
            if l.is_empty() {
                Error
            } else {
                List(l[1..].to_vec())
            }
        }
        (ListOp::Min, [Int(a), Int(b)]) => {
            *comparisons += 1;
            Int(*a.min(b))
        }
        (ListOp::Max, [Int(a), Int(b)]) => {
            *comparisons += 1;
            Int(*a.max(b))
        }
        (ListOp::Filter(c), [Int(n), List(l)]) => {
            *comparisons += l.len() as u64;
            List(l.iter().copied().filter(|&e| c.holds(e, *n)).collect())
        }
        _ => Error,
    }
}

/// Evaluates a body on one environment (x, acc), counting comparisons.
pub fn eval_body(body: &Expr<ListOp>, x: i64, acc: &[i64], comparisons: &mut u64) -> Val {
    match body.op {
        ListOp::X => Val::Int(x),
        ListOp::Acc => Val::List(acc.to_vec()),
        ListOp::Nil => Val::List(Vec::new()),
        op => {
            let mut args = Vec::with_capacity(body.args.len());
            for a in &body.args {
                match eval_body(a, x, acc, comparisons) {
                    Val::Error => return Val::Error,
                    v => args.push(v),
                }
            }
            let refs: Vec<&Val> = args.iter().collect();
            apply_op(op, &refs, comparisons)
        }
    }
}

fn show_op(op: ListOp, a: &[String]) -> String {
    match op {
        ListOp::X => "x".into(),
        ListOp::Acc => "acc".into(),
        ListOp::Nil => "[]".into(),
        ListOp::Cons => format!("cons({}, {})", a[0], a[1]),
        ListOp::Append => format!("append({}, {})", a[0], a[1]),
        ListOp::Rev => format!("rev({})", a[0]),
        ListOp::Head => format!("head({})", a[0]),
        ListOp::Tail => format!("tail({})", a[0]),
        ListOp::Min => format!("min({}, {})", a[0], a[1]),
        ListOp::Max => format!("max({}, {})", a[0], a[1]),
        ListOp::Filter(c) => format!("filter(_ {} {}, {})", c.symbol(), a[0], a[1]),
    }
}

/// The body language as an enumerable grammar, probed on [`PROBES`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BodyGrammar;

impl Grammar for BodyGrammar {
    type Ty = Ty;
    type Op = ListOp;
    type Value = Val;

    fn width(&self) -> usize {
        PROBES.len()
    }

    fn terminals(&self) -> Vec<Terminal<ListOp, Ty, Val>> {
        vec![
            Terminal { op: ListOp::X, ty: Ty::Int, behaviour: PROBES.iter().map(|p| Val::Int(p.0)).collect() },
            Terminal {
                op: ListOp::Acc,
                ty: Ty::List,
                behaviour: PROBES.iter().map(|p| Val::List(p.1.to_vec())).collect(),
            },
            Terminal { op: ListOp::Nil, ty: Ty::List, behaviour: vec![Val::List(Vec::new()); PROBES.len()] },
        ]
    }

    fn productions(&self) -> Vec<Production<ListOp, Ty>> {
        use Ty::{Int, List};
        let p = |op, args: &[Ty], result, commutative| Production { op, args: args.to_vec(), result, commutative };
        let mut v = vec![
            p(ListOp::Cons, &[Int, List], List, false),
            p(ListOp::Append, &[List, List], List, false),
            p(ListOp::Rev, &[List], List, false),
            p(ListOp::Head, &[List], Int, false),
            p(ListOp::Tail, &[List], List, false),
            p(ListOp::Min, &[Int, Int], Int, true),
            p(ListOp::Max, &[Int, Int], Int, true),
        ];
        v.extend(Cmp::ALL.iter().map(|&c| p(ListOp::Filter(c), &[Int, List], List, false)));
        v
    }

    fn apply(&self, op: ListOp, args: &[&[Val]], out: &mut Vec<Val>) -> bool {
        let mut ignored = 0;
        let mut any_ok = false;
        for i in 0..PROBES.len() {
            let a: Vec<&Val> = args.iter().map(|b| &b[i]).collect();
            let v = if a.iter().any(|v| **v == Val::Error) { Val::Error } else { apply_op(op, &a, &mut ignored) };
            any_ok |= v != Val::Error;
            out.push(v);
        }
        // A body that fails on every probe fails everywhere that matters.
        any_ok
    }

    fn hash_value(&self, v: &Val) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    fn same_value(&self, a: &Val, b: &Val) -> bool {
        a == b
    }

    fn heap_bytes(&self, v: &Val) -> usize {
        match v {
            Val::List(l) => l.len() * std::mem::size_of::<i64>(),
            _ => 0,
        }
    }

    fn show(&self, op: ListOp, args: &[String]) -> String {
        show_op(op, args)
    }
}

/// The direction of a fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fold {
    /// From the last element to the first.
    Right,
    /// From the first element to the last.
    Left,
}

/// A sorting program: a fold and its body.
#[derive(Debug, Clone, PartialEq)]
pub struct SortProgram {
    /// Direction of the fold.
    pub fold: Fold,
    /// BODY(x, acc).
    pub body: Expr<ListOp>,
}

impl SortProgram {
    /// Runs the program on a list: the final accumulator and the comparisons made, or `None` on an error (or an
    /// accumulator longer than 2n + 16).
    pub fn run(&self, xs: &[i64]) -> Option<(Vec<i64>, u64)> {
        let limit = 2 * xs.len() + 16;
        let mut acc: Vec<i64> = Vec::new();
        let mut comparisons = 0u64;
        let mut step = |x: i64, acc: &mut Vec<i64>| -> Option<()> {
            match eval_body(&self.body, x, acc, &mut comparisons) {
                Val::List(l) if l.len() <= limit => {
                    *acc = l;
                    Some(())
                }
                _ => None,
            }
        };
        match self.fold {
            Fold::Right => xs.iter().rev().try_for_each(|&x| step(x, &mut acc))?,
            Fold::Left => xs.iter().try_for_each(|&x| step(x, &mut acc))?,
        }
        Some((acc, comparisons))
    }

    /// Nodes of the body.
    pub fn size(&self) -> usize {
        self.body.size()
    }
}

impl fmt::Display for SortProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fold = match self.fold {
            Fold::Right => "foldr",
            Fold::Left => "foldl",
        };
        write!(f, "{fold}((x, acc) -> {}, [], xs)", self.body.show(&BodyGrammar))
    }
}

/// What a sorting search returns.
#[derive(Debug, Clone)]
pub struct SortSearch {
    /// Every (fold, body) that sorts all training lists, at the smallest size where any does, in enumeration
    /// order (`foldr` before `foldl` for one body). Empty when none was found within the caps.
    pub consistent: Vec<SortProgram>,
    /// Search figures.
    pub stats: SearchStats,
}

/// Searches for the smallest folds that sort every list in `lists` (labels: the lists in non-decreasing order).
pub fn search(lists: &[Vec<i64>], caps: &Caps) -> SortSearch {
    let labelled: Vec<(&[i64], Vec<i64>)> = lists
        .iter()
        .map(|l| {
            let mut sorted = l.clone();
            sorted.sort_unstable();
            (l.as_slice(), sorted)
        })
        .collect();
    let mut consistent = Vec::new();
    let (_, stats) = enumerate(&BodyGrammar, caps, |found| {
        if found.ty != Ty::List {
            return Control::Continue;
        }
        let body = found.expr();
        for fold in [Fold::Right, Fold::Left] {
            let program = SortProgram { fold, body: body.clone() };
            if labelled.iter().all(|(xs, want)| program.run(xs).is_some_and(|(got, _)| &got == want)) {
                consistent.push(program);
            }
        }
        if consistent.is_empty() {
            Control::Continue
        } else {
            Control::FinishSize
        }
    });
    SortSearch { consistent, stats }
}

/// The training lists of the search, chosen from the training instances by a fixed rule that looks at nothing
/// else: of the lists with at most [`MAX_TRAINING_LEN`] elements, in order, the first
/// [`WANTED_DUPLICATE_LISTS`] that hold a repeated value, then the first others, up to [`MAX_TRAINING_LISTS`] in
/// all; returned in training order.
pub fn training_lists(train: &[SortInstance]) -> Vec<Vec<i64>> {
    let short: Vec<(usize, &SortInstance)> =
        train.iter().enumerate().filter(|(_, i)| i.values.len() <= MAX_TRAINING_LEN).collect();
    let has_dup = |v: &[i64]| v.iter().enumerate().any(|(i, a)| v[..i].contains(a));
    let mut chosen: Vec<usize> =
        short.iter().filter(|(_, i)| has_dup(&i.values)).map(|(k, _)| *k).take(WANTED_DUPLICATE_LISTS).collect();
    let rest = MAX_TRAINING_LISTS - chosen.len();
    let extra: Vec<usize> = short.iter().map(|(k, _)| *k).filter(|k| !chosen.contains(k)).take(rest).collect();
    chosen.extend(extra);
    chosen.sort_unstable();
    chosen.into_iter().map(|k| train[k].values.clone()).collect()
}

/// The program-search learner for sorting (`program-search`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgramSearch {
    /// Caps to use instead of [`ProgramSearch::caps`] (for experiments and tests); `None` in the registry.
    pub caps: Option<Caps>,
}

impl ProgramSearch {
    /// The caps under `profile` (unless overridden): body size 10 (9 under [`SearchBudget::Small`]),
    /// 2 M programs, 512 MiB, 20 M candidates (the quick and full searches enumerate under 0.1 M).
    pub fn caps(&self, profile: &Profile) -> Caps {
        if let Some(c) = self.caps {
            return c;
        }
        Caps {
            max_size: match profile.search {
                SearchBudget::Full => 10,
                SearchBudget::Small => 9,
            },
            max_programs: 2_000_000,
            max_bytes: 512 << 20,
            max_candidates: 20_000_000,
        }
    }
}

struct SortSolver {
    program: Option<SortProgram>,
}

impl<T: SortingTask> Solver<T> for SortSolver {
    fn solve_batch(&self, _task: &T, instances: &[SortInstance]) -> driftbench_core::Result<Vec<Attempt<Vec<i64>>>> {
        Ok(instances
            .par_iter()
            .map(|inst| match self.program.as_ref().and_then(|p| p.run(&inst.values)) {
                Some((answer, comparisons)) => Attempt { answer: Some(answer), info: SolveInfo { work: comparisons } },
                None => Attempt { answer: None, info: SolveInfo::default() },
            })
            .collect())
    }
}

/// Exact-sort rate of `program` on `instances`.
fn sort_rate<T: SortingTask>(task: &T, program: &SortProgram, instances: &[SortInstance]) -> f64 {
    let ok = instances
        .iter()
        .filter(|i| program.run(&i.values).is_some_and(|(answer, _)| task.score(i, &answer).success))
        .count();
    ok as f64 / instances.len().max(1) as f64
}

impl<T: SortingTask> Learner<T> for ProgramSearch {
    fn name(&self) -> &'static str {
        "program-search"
    }

    fn kind(&self) -> SolverKind {
        SolverKind::ProgramSearch
    }

    fn description(&self) -> String {
        "smallest foldr/foldl body (cons, append, rev, head, tail, min, max, filters; no sort) that sorts ≤20 short \
         training lists, by bottom-up enumeration with observational-equivalence pruning"
            .into()
    }

    /// The lists themselves as exact integers, not the networks' value/100 features: the training lists through
    /// its choice of at most 20 short ones, each test list through the DSL's comparisons.
    fn observes(&self, _task: &T) -> String {
        "the exact integers of each list (at most 20 short training lists; a test list through the DSL's comparisons)"
            .into()
    }

    fn config(&self, _task: &T, profile: &Profile) -> serde_json::Value {
        serde_json::json!({
            "dsl": dsl(),
            "caps": self.caps(profile),
            "probes": PROBES.iter().map(|(x, acc)| serde_json::json!({ "x": x, "acc": acc })).collect::<Vec<_>>(),
            "training_lists": MAX_TRAINING_LISTS,
            "max_training_len": MAX_TRAINING_LEN,
            "wanted_duplicate_lists": WANTED_DUPLICATE_LISTS,
            "selection": "smallest body size at which some fold sorts every training list; among those, best exact \
                          rate on the validation lists, then foldr first, then enumeration order",
        })
    }

    fn train(
        &self,
        task: &T,
        data: &TrainData<T>,
        profile: &Profile,
        _seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<(Box<dyn Solver<T>>, TrainStats)> {
        let lists = training_lists(&data.train);
        if lists.is_empty() {
            let e = crate::SearchError::NoData(format!("no training list of length <= {MAX_TRAINING_LEN}"));
            return Err(crate::training_error(task.id(), Learner::<T>::name(self), e));
        }
        let caps = self.caps(profile);
        let result = search(&lists, &caps);
        // Among the consistent programs, the best on validation (stable: earlier wins ties).
        let mut best: Option<(f64, &SortProgram)> = None;
        for p in &result.consistent {
            let rate = sort_rate(task, p, &data.val);
            if best.is_none_or(|(b, _)| rate > b) {
                best = Some((rate, p));
            }
        }
        let s = &result.stats;
        let mut stats = TrainStats { examples: lists.len() as u64, ..Default::default() };
        let duplicates = lists.iter().filter(|l| l.iter().enumerate().any(|(i, a)| l[..i].contains(a))).count();
        let extra = [
            ("programs_enumerated", s.enumerated as f64),
            ("distinct_behaviours", s.kept as f64),
            ("search_s", s.seconds),
            ("peak_bytes", s.peak_bytes as f64),
            ("consistent_programs", result.consistent.len() as f64),
            ("found", best.is_some() as u8 as f64),
            ("max_size", s.size_completed as f64),
            ("training_lists_with_duplicates", duplicates as f64),
        ];
        stats.extra = extra.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let program = match best {
            Some((rate, p)) => {
                if !data.val.is_empty() {
                    stats.val_accuracy = Some(rate);
                    stats.val_exact = Some(rate);
                    stats.val_accuracy_name = Some("exact sort rate".into());
                }
                stats.extra.insert("program_size".into(), p.size() as f64);
                stats.program = Some(p.to_string());
                Some(p.clone())
            }
            None => {
                let why = s.cap_hit.map_or("search stopped".to_string(), |c| c.to_string());
                stats.program = Some(format!("none found: {why} (size {})", s.size_completed));
                None
            }
        };
        progress(1.0);
        Ok((Box::new(SortSolver { program }), stats))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftbench_core::{rng, Cell};
    use rand::Rng;

    fn x() -> Expr<ListOp> {
        Expr::leaf(ListOp::X)
    }
    fn acc() -> Expr<ListOp> {
        Expr::leaf(ListOp::Acc)
    }
    fn op(o: ListOp, args: Vec<Expr<ListOp>>) -> Expr<ListOp> {
        Expr::node(o, args)
    }

    /// foldr((x, acc) -> append(filter(_ < x, acc), filter(_ >= x, cons(x, acc))), [], xs).
    fn insertion_sort() -> SortProgram {
        let lt = op(ListOp::Filter(Cmp::Lt), vec![x(), acc()]);
        let ge = op(ListOp::Filter(Cmp::Ge), vec![x(), op(ListOp::Cons, vec![x(), acc()])]);
        SortProgram { fold: Fold::Right, body: op(ListOp::Append, vec![lt, ge]) }
    }

    fn long_lists() -> Vec<Vec<i64>> {
        let mut rng = rng::stream(5, "search-test", "long-lists");
        (0..200)
            .map(|i| {
                let n = rng.random_range(20..=100);
                // Half of them full of duplicates.
                let range = if i % 2 == 0 { -1000..=1000 } else { -3..=3 };
                (0..n).map(|_| rng.random_range(range.clone())).collect()
            })
            .collect()
    }

    #[test]
    fn the_dsl_evaluates_hand_written_cases() {
        let mut c = 0;
        let l = |v: &[i64]| Val::List(v.to_vec());
        let cases: Vec<(Expr<ListOp>, i64, &[i64], Val)> = vec![
            (op(ListOp::Cons, vec![x(), acc()]), 3, &[1, 2], l(&[3, 1, 2])),
            (op(ListOp::Append, vec![acc(), op(ListOp::Rev, vec![acc()])]), 0, &[1, 2], l(&[1, 2, 2, 1])),
            (op(ListOp::Head, vec![acc()]), 0, &[7, 8], Val::Int(7)),
            (op(ListOp::Head, vec![acc()]), 0, &[], Val::Error),
            (op(ListOp::Tail, vec![acc()]), 0, &[7, 8], l(&[8])),
            (op(ListOp::Tail, vec![Expr::leaf(ListOp::Nil)]), 0, &[], Val::Error),
            (op(ListOp::Min, vec![x(), op(ListOp::Head, vec![acc()])]), -4, &[2], Val::Int(-4)),
            (op(ListOp::Max, vec![x(), op(ListOp::Head, vec![acc()])]), -4, &[2], Val::Int(2)),
            (op(ListOp::Filter(Cmp::Lt), vec![x(), acc()]), 2, &[3, 1, 2, 0], l(&[1, 0])),
            (op(ListOp::Filter(Cmp::Le), vec![x(), acc()]), 2, &[3, 1, 2, 0], l(&[1, 2, 0])),
            (op(ListOp::Filter(Cmp::Gt), vec![x(), acc()]), 2, &[3, 1, 2, 0], l(&[3])),
            (op(ListOp::Filter(Cmp::Ge), vec![x(), acc()]), 2, &[3, 1, 2, 0], l(&[3, 2])),
            (op(ListOp::Filter(Cmp::Eq), vec![x(), acc()]), 2, &[2, 1, 2], l(&[2, 2])),
            (op(ListOp::Filter(Cmp::Ne), vec![x(), acc()]), 2, &[2, 1, 2], l(&[1])),
            // An error in an argument is an error of the whole.
            (op(ListOp::Cons, vec![op(ListOp::Head, vec![acc()]), acc()]), 0, &[], Val::Error),
        ];
        for (e, xv, a, want) in cases {
            assert_eq!(eval_body(&e, xv, a, &mut c), want, "{}", e.show(&BodyGrammar));
        }
        // Comparisons: 2 for min/max, 4 + 4 + 4 + 4 + 3 + 3 for filters.
        assert_eq!(c, 2 + 4 * 4 + 3 * 2);
        // Folds: foldr feeds the last element first, foldl the first; cons(x, acc) thus copies / reverses.
        let cons = op(ListOp::Cons, vec![x(), acc()]);
        let r = SortProgram { fold: Fold::Right, body: cons.clone() };
        let lft = SortProgram { fold: Fold::Left, body: cons };
        assert_eq!(r.run(&[1, 2, 3]).unwrap().0, vec![1, 2, 3]);
        assert_eq!(lft.run(&[1, 2, 3]).unwrap().0, vec![3, 2, 1]);
        assert_eq!(r.run(&[]).unwrap().0, Vec::<i64>::new());
        // An accumulator that doubles every step is stopped, not followed to exhaustion.
        let doubling =
            SortProgram { fold: Fold::Left, body: op(ListOp::Append, vec![acc(), op(ListOp::Cons, vec![x(), acc()])]) };
        assert_eq!(doubling.run(&[1; 40]), None);
        // The hand-written insertion sort sorts and counts its comparisons.
        let (sorted, work) = insertion_sort().run(&[3, 1, 2]).unwrap();
        assert_eq!(sorted, vec![1, 2, 3]);
        // Steps see acc of length 0, 1, 2: filters look at 0+1, 1+2, 2+3 elements.
        assert_eq!(work, 9);
        assert_eq!(
            insertion_sort().to_string(),
            "foldr((x, acc) -> append(filter(_ < x, acc), filter(_ >= x, cons(x, acc))), [], xs)"
        );
    }

    #[test]
    fn training_lists_follow_the_fixed_rule() {
        let task = Sorting;
        let mut rng = rng::stream(1, task.id(), "train");
        let train: Vec<SortInstance> = (0..300).map(|_| task.generate(Cell::IN_DIST, &mut rng)).collect();
        let lists = training_lists(&train);
        assert_eq!(lists.len(), MAX_TRAINING_LISTS);
        assert!(lists.iter().all(|l| l.len() <= MAX_TRAINING_LEN));
        let dups = lists.iter().filter(|l| l.iter().enumerate().any(|(i, a)| l[..i].contains(a))).count();
        assert!(dups >= WANTED_DUPLICATE_LISTS, "{dups}");
        // Order of training is kept.
        let pos = |l: &Vec<i64>| train.iter().position(|i| &i.values == l).unwrap();
        assert!(lists.windows(2).all(|w| pos(&w[0]) < pos(&w[1])));
        assert!(training_lists(&[]).is_empty());
    }

    #[test]
    fn search_finds_a_sort_from_twenty_lists_with_duplicates_and_it_generalises() {
        let task = Sorting;
        let mut rng = rng::stream(1, task.id(), "train");
        let train: Vec<SortInstance> = (0..300).map(|_| task.generate(Cell::IN_DIST, &mut rng)).collect();
        let lists = training_lists(&train);
        let caps = ProgramSearch::default().caps(&Profile::tiny());
        let result = search(&lists, &caps);
        assert!(!result.consistent.is_empty(), "{:?}", result.stats);
        let size = result.consistent[0].size();
        assert!(size <= 9, "size {size}");
        assert!(result.stats.seconds < 10.0);
        for p in &result.consistent {
            assert_eq!(p.size(), size);
            // Every consistent program sorts long lists with negatives and duplicates exactly.
            for l in long_lists() {
                let mut want = l.clone();
                want.sort_unstable();
                assert_eq!(p.run(&l).map(|r| r.0), Some(want), "{p}");
            }
        }
    }

    #[test]
    fn the_learner_records_its_program_and_answers_any_list() {
        let task = Sorting;
        let mut rng = rng::stream(1, task.id(), "train");
        let draw = |rng: &mut rng::ChaCha8Rng, n| (0..n).map(|_| task.generate(Cell::IN_DIST, rng)).collect::<Vec<_>>();
        let data =
            TrainData { train: draw(&mut rng, 300), val: draw(&mut rng, 50), dropped_overlaps: 0, max_epochs: None };
        let (solver, stats) = ProgramSearch::default().train(&task, &data, &Profile::tiny(), 1, &|_| {}).unwrap();
        assert_eq!(stats.extra["found"], 1.0);
        assert_eq!(stats.val_accuracy, Some(1.0));
        assert!(stats.program.as_deref().is_some_and(|p| p.starts_with("fold")), "{:?}", stats.program);
        let insts: Vec<SortInstance> = long_lists().into_iter().map(|values| SortInstance { values }).collect();
        let attempts = solver.solve_batch(&task, &insts).unwrap();
        for (i, a) in insts.iter().zip(&attempts) {
            assert!(task.score(i, a.answer.as_ref().unwrap()).success);
            assert!(a.info.work > 0);
        }
    }

    #[test]
    fn without_duplicates_wrong_folds_fit_too_and_validation_picks_a_correct_one() {
        let task = Sorting;
        let mut rng = rng::stream(1, task.id(), "train");
        let train: Vec<SortInstance> = (0..300)
            .map(|_| task.generate(Cell::IN_DIST, &mut rng))
            .filter(|i| !i.values.iter().enumerate().any(|(k, a)| i.values[..k].contains(a)))
            .collect();
        let lists = training_lists(&train);
        let result = search(&lists, &ProgramSearch::default().caps(&Profile::tiny()));
        let long = long_lists();
        let correct = |p: &SortProgram| {
            long.iter().all(|l| {
                let mut want = l.clone();
                want.sort_unstable();
                p.run(l).map(|r| r.0) == Some(want)
            })
        };
        let good = result.consistent.iter().filter(|p| correct(p)).count();
        println!("no duplicates: {} consistent, {good} correct", result.consistent.len());
        assert!(result.consistent.len() > good && good > 0);
        let val: Vec<SortInstance> = (0..200).map(|_| task.generate(Cell::IN_DIST, &mut rng)).collect();
        let data = TrainData { train, val, dropped_overlaps: 0, max_epochs: None };
        let (solver, _) = ProgramSearch::default().train(&task, &data, &Profile::tiny(), 1, &|_| {}).unwrap();
        let insts: Vec<SortInstance> = long.into_iter().map(|values| SortInstance { values }).collect();
        let out = solver.solve_batch(&task, &insts).unwrap();
        assert!(insts.iter().zip(&out).all(|(i, a)| a.answer.as_ref().is_some_and(|x| task.score(i, x).success)));
    }

    #[test]
    fn a_tiny_cap_is_a_recorded_none_found() {
        let task = Sorting;
        let mut rng = rng::stream(1, task.id(), "train");
        let lists = vec![vec![3, 1, 2], vec![2, 2, 1]];
        let result = search(&lists, &Caps { max_size: 4, ..Caps::default() });
        assert!(result.consistent.is_empty());
        assert_eq!(result.stats.cap_hit, Some(crate::enumerate::Cap::Size));
        let result = search(&lists, &Caps { max_programs: 5, ..Caps::default() });
        assert!(result.consistent.is_empty());
        // The learner under caps that cannot fit: a recorded result, and no answers.
        let train: Vec<SortInstance> = (0..300).map(|_| task.generate(Cell::IN_DIST, &mut rng)).collect();
        let data = TrainData { train, val: Vec::new(), dropped_overlaps: 0, max_epochs: None };
        let learner = ProgramSearch { caps: Some(Caps { max_size: 5, ..Caps::default() }) };
        let (solver, stats) = learner.train(&task, &data, &Profile::tiny(), 1, &|_| {}).unwrap();
        assert_eq!(stats.program.as_deref(), Some("none found: size cap reached (size 5)"));
        assert_eq!(stats.extra["found"], 0.0);
        let out = solver.solve_batch(&task, &data.train).unwrap();
        assert!(out.iter().all(|a| a.answer.is_none() && a.info.work == 0));
        // No data is an error, not a panic.
        let empty = TrainData { train: Vec::new(), val: Vec::new(), dropped_overlaps: 0, max_epochs: None };
        let Err(err) = ProgramSearch::default().train(&task, &empty, &Profile::tiny(), 1, &|_| {}) else {
            panic!("training on no data must fail");
        };
        // The search's own error stays the source, not a copied string.
        let source = std::error::Error::source(&err).expect("a source").to_string();
        assert!(source.contains("no usable training data"), "{source}");
    }
}
