//! Program search for `rocket-v1`: formulas for the launch velocity, found by bottom-up enumeration and constant
//! fitting, learned from the same recorded trials the networks get.
//!
//! **The DSL.** A formula is an arithmetic expression over the five instance inputs, named as in the networks'
//! feature vector: `D` (target distance), `T` (flight time), `g` (gravity), `rho` (air density), `h0` (launch
//! altitude), the constants `1` and `2`, and `+ − × ÷`. On top of a skeleton f found by enumeration, at most two
//! fitted constants may be added: `f`, `a·f`, `f + b` or `a·f + b` (each constant and each operator it brings
//! counts as a node). A formula with a non-finite value on some input gives no answer there.
//!
//! **Data.** [`Task::vec_training_set`] with the networks' streams (`trials/train` on the training instances,
//! `trials/val` on the validation instances), on a prefix of the instances: the examples are the networks' first
//! examples, byte for byte (each instance draws its trial launch from the stream in turn). A trial maps where a
//! random launch landed (D, T) and its world (g, rho, h0) to the launch (vx, vy).
//!
//! **Search.** One enumeration serves both outputs: skeletons up to [`Settings::caps`]'s size, pruned by
//! observational equivalence on the first [`Settings::probes`] training trials (values equal to about 9 significant
//! digits merge; a skeleton non-finite on any probe is dropped). For each output, every skeleton and form is
//! fitted on the probes by weighted least squares on the relative error; the [`Settings::shortlist`] best by
//! relative RMSE + λ·size are refitted on all the fitting trials, and the formula with the lowest relative RMSE +
//! λ·size on the validation trials is chosen ([`Settings::lambda`] per node).
//!
//! **Learners.** `formula-search` answers with the formulas (no simulation; work 0). `formula-shoot` uses them as
//! the starting launch of the task's own Newton shooting on the simulator ([`driftbench_tasks::rocket::shoot`],
//! the hand-written solver's), counting simulated trials as work.
use crate::enumerate::{enumerate, Cap, Caps, Control, Expr, Grammar, Production, SearchStats, Terminal};
use driftbench_core::solver::Attempt;
use driftbench_core::{rng, Learner, Profile, SolveInfo, Solver, SolverKind, Task, TrainData, TrainStats, VecExample};
use driftbench_tasks::rocket::{shoot, Launch, RocketInstance};
use driftbench_tasks::Rocket;
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::time::Instant;

/// The program-search learners of this task.
pub fn learners() -> Vec<Box<dyn Learner<Rocket>>> {
    vec![Box::new(FormulaSearch::formula()), Box::new(FormulaSearch::shoot())]
}

/// Names of the inputs, in the order of the networks' feature vector.
pub const INPUTS: [&str; 5] = ["D", "T", "g", "rho", "h0"];

/// A recorded trial: the inputs (in [`INPUTS`] order) and the launch that produced them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trial {
    /// D, T, g, rho, h0.
    pub inputs: [f64; 5],
    /// Horizontal launch speed, m/s.
    pub vx: f64,
    /// Vertical launch speed, m/s.
    pub vy: f64,
}

/// Reads trials out of the networks' examples (inputs D, T, g, rho, h0; targets vx, vy). Examples of another
/// shape, or with non-finite numbers, are skipped.
pub fn trials(examples: &[VecExample]) -> Vec<Trial> {
    examples
        .iter()
        .filter_map(|e| match (e.input.as_slice(), e.target.as_slice()) {
            ([d, t, g, rho, h0], [vx, vy]) => {
                let tr = Trial {
                    inputs: [*d as f64, *t as f64, *g as f64, *rho as f64, *h0 as f64],
                    vx: *vx as f64,
                    vy: *vy as f64,
                };
                let finite = tr.inputs.iter().chain(&[tr.vx, tr.vy]).all(|x| x.is_finite());
                finite.then_some(tr)
            }
            _ => None,
        })
        .collect()
}

/// The inputs of an instance, in [`INPUTS`] order.
pub fn inputs_of(inst: &RocketInstance) -> [f64; 5] {
    [inst.distance, inst.flight_time, inst.gravity, inst.air_density, inst.altitude]
}

/// Primitives of the formula language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RealOp {
    /// Input `i` in [`INPUTS`] order.
    Var(u8),
    /// The constant 1.
    One,
    /// The constant 2.
    Two,
    /// a + b.
    Add,
    /// a − b.
    Sub,
    /// a × b.
    Mul,
    /// a ÷ b.
    Div,
}

fn binary(op: RealOp, a: f64, b: f64) -> f64 {
    match op {
        RealOp::Add => a + b,
        RealOp::Sub => a - b,
        RealOp::Mul => a * b,
        RealOp::Div => a / b,
        _ => f64::NAN,
    }
}

/// Evaluates a skeleton on one input.
pub fn eval(e: &Expr<RealOp>, x: &[f64; 5]) -> f64 {
    match e.op {
        RealOp::Var(i) => x.get(i as usize).copied().unwrap_or(f64::NAN),
        RealOp::One => 1.0,
        RealOp::Two => 2.0,
        op => match e.args.as_slice() {
            [a, b] => binary(op, eval(a, x), eval(b, x)),
            _ => f64::NAN,
        },
    }
}

fn show_op(op: RealOp, a: &[String]) -> String {
    match op {
        RealOp::Var(i) => INPUTS.get(i as usize).copied().unwrap_or("?").to_string(),
        RealOp::One => "1".into(),
        RealOp::Two => "2".into(),
        RealOp::Add => format!("({} + {})", a[0], a[1]),
        RealOp::Sub => format!("({} - {})", a[0], a[1]),
        RealOp::Mul => format!("({} * {})", a[0], a[1]),
        RealOp::Div => format!("({} / {})", a[0], a[1]),
    }
}

/// The DSL as published in every run record.
pub fn dsl() -> Vec<String> {
    vec![
        "inputs: D (target distance), T (flight time), g (gravity), rho (air density), h0 (altitude) : real".into(),
        "constants: 1, 2 : real".into(),
        "a + b, a - b, a * b, a / b : real (a formula non-finite on an input gives no answer there)".into(),
        "fitted forms on a skeleton f: f | a*f | f + b | a*f + b (a, b least-squares constants, 2 nodes each)".into(),
        "formula-shoot only: Newton shooting on the task's simulator from (vx, vy) = the formulas".into(),
    ]
}

/// The formula language probed on a list of inputs.
#[derive(Debug, Clone)]
pub struct FormulaGrammar {
    /// Probe inputs, in [`INPUTS`] order.
    pub probes: Vec<[f64; 5]>,
}

/// Rounds away the last 20 of the 52 mantissa bits (about 9.6 significant digits are kept), so that formulas
/// that differ only by rounding error (such as (a + b) + c and a + (b + c)) count as one behaviour.
fn quantise(x: f64) -> u64 {
    if x == 0.0 {
        return 0;
    }
    (x.to_bits().wrapping_add(1 << 19)) >> 20
}

impl Grammar for FormulaGrammar {
    type Ty = ();
    type Op = RealOp;
    type Value = f64;

    fn width(&self) -> usize {
        self.probes.len()
    }

    fn terminals(&self) -> Vec<Terminal<RealOp, (), f64>> {
        let mut t: Vec<_> = (0..INPUTS.len())
            .map(|i| Terminal {
                op: RealOp::Var(i as u8),
                ty: (),
                behaviour: self.probes.iter().map(|p| p[i]).collect(),
            })
            .collect();
        t.push(Terminal { op: RealOp::One, ty: (), behaviour: vec![1.0; self.probes.len()] });
        t.push(Terminal { op: RealOp::Two, ty: (), behaviour: vec![2.0; self.probes.len()] });
        t
    }

    fn productions(&self) -> Vec<Production<RealOp, ()>> {
        [(RealOp::Add, true), (RealOp::Sub, false), (RealOp::Mul, true), (RealOp::Div, false)]
            .iter()
            .map(|&(op, commutative)| Production { op, args: vec![(), ()], result: (), commutative })
            .collect()
    }

    fn apply(&self, op: RealOp, args: &[&[f64]], out: &mut Vec<f64>) -> bool {
        let [a, b] = args else { return false };
        for (x, y) in a.iter().zip(b.iter()) {
            let v = binary(op, *x, *y);
            if !v.is_finite() {
                return false;
            }
            out.push(v);
        }
        true
    }

    fn hash_value(&self, v: &f64) -> u64 {
        quantise(*v)
    }

    fn same_value(&self, a: &f64, b: &f64) -> bool {
        quantise(*a) == quantise(*b)
    }

    fn show(&self, op: RealOp, args: &[String]) -> String {
        show_op(op, args)
    }
}

/// How fitted constants sit on a skeleton f.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Form {
    /// f.
    Raw,
    /// a·f.
    Scale,
    /// f + b.
    Offset,
    /// a·f + b.
    Affine,
}

impl Form {
    const ALL: [Form; 4] = [Form::Raw, Form::Scale, Form::Offset, Form::Affine];

    /// Nodes the form adds to the skeleton.
    pub fn extra_size(self) -> usize {
        match self {
            Form::Raw => 0,
            Form::Scale | Form::Offset => 2,
            Form::Affine => 4,
        }
    }
}

/// A formula: a skeleton with its fitted constants, `scale·f + offset`.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    /// The enumerated skeleton f.
    pub skeleton: Expr<RealOp>,
    /// How constants are placed.
    pub form: Form,
    /// a (1 unless the form has it).
    pub scale: f64,
    /// b (0 unless the form has it).
    pub offset: f64,
}

impl Formula {
    /// The formula's value on an input.
    pub fn eval(&self, x: &[f64; 5]) -> f64 {
        self.scale * eval(&self.skeleton, x) + self.offset
    }

    /// Nodes, constants included.
    pub fn size(&self) -> usize {
        self.skeleton.size() + self.form.extra_size()
    }
}

/// Six significant digits.
fn short(x: f64) -> String {
    format!("{}", format!("{x:.5e}").parse::<f64>().unwrap_or(x))
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.skeleton.show(&FormulaGrammar { probes: Vec::new() });
        match self.form {
            Form::Raw => write!(f, "{s}"),
            Form::Scale => write!(f, "{} * {s}", short(self.scale)),
            Form::Offset => write!(f, "{s} + {}", short(self.offset)),
            Form::Affine => write!(f, "{} * {s} + {}", short(self.scale), short(self.offset)),
        }
    }
}

/// Fits the constants of `form` to targets `y` from skeleton values `f`, minimising the squared relative error
/// Σ((a·f + b − y)/y)²; `None` when the fit is degenerate (e.g. a constant skeleton under [`Form::Affine`]).
fn fit(form: Form, f: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    let (mut sw, mut swf, mut swff, mut swy, mut swfy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&fi, &yi) in f.iter().zip(y) {
        let w = 1.0 / (yi * yi).max(1e-12);
        sw += w;
        swf += w * fi;
        swff += w * fi * fi;
        swy += w * yi;
        swfy += w * fi * yi;
    }
    let out = match form {
        Form::Raw => Some((1.0, 0.0)),
        Form::Scale => (swff > 0.0).then(|| (swfy / swff, 0.0)),
        Form::Offset => (sw > 0.0).then(|| (1.0, (swy - swf) / sw)),
        Form::Affine => {
            let det = sw * swff - swf * swf;
            // Relative test: a skeleton that is (nearly) constant on the data has no separate scale and offset.
            (det > 1e-9 * sw * swff).then(|| ((sw * swfy - swf * swy) / det, (swff * swy - swf * swfy) / det))
        }
    };
    out.filter(|(a, b)| a.is_finite() && b.is_finite())
}

/// Relative RMSE of predictions against targets.
fn rel_rmse(pred: impl Iterator<Item = f64>, y: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut n = 0usize;
    for (p, &t) in pred.zip(y) {
        let r = (p - t) / t.abs().max(1e-12);
        s += r * r;
        n += 1;
    }
    if n == 0 || !s.is_finite() {
        f64::INFINITY
    } else {
        (s / n as f64).sqrt()
    }
}

/// Knobs of the formula search.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Settings {
    /// Enumeration caps.
    pub caps: Caps,
    /// Training trials used as probes for observational equivalence (the first ones).
    pub probes: usize,
    /// Training trials used for fitting (the first ones, probes included).
    pub fit_trials: usize,
    /// Validation trials used for selection (the first ones).
    pub val_trials: usize,
    /// Formulas refitted on all fitting trials and scored on validation, per output.
    pub shortlist: usize,
    /// Size penalty per node, in units of relative RMSE.
    pub lambda: f64,
    /// A formula whose validation relative RMSE is at most this counts as consistent with the data.
    pub consistent_below: f64,
}

impl Settings {
    /// The settings under `profile`: size 9, 768 MiB, 3 M programs, 100 M candidates (the search enumerates 2.2 M
    /// at size 9; size 7 under tiny profiles,
    /// `train_scale` < 0.1); 12 probes, 512 fitting and 512 validation trials, a shortlist of 400, λ = 0.001.
    pub fn for_profile(profile: &Profile) -> Self {
        let tiny = profile.train_scale < 0.1;
        Settings {
            caps: Caps {
                max_size: if tiny { 7 } else { 9 },
                max_programs: 3_000_000,
                max_bytes: 768 << 20,
                max_candidates: 100_000_000,
            },
            probes: 12,
            fit_trials: 512,
            val_trials: 512,
            shortlist: 400,
            lambda: 1e-3,
            consistent_below: 1e-4,
        }
    }
}

/// The formula chosen for one output.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The formula.
    pub formula: Formula,
    /// Relative RMSE on the fitting trials.
    pub fit_error: f64,
    /// Relative RMSE on the validation trials.
    pub val_error: f64,
    /// Shortlisted formulas with validation relative RMSE ≤ [`Settings::consistent_below`].
    pub consistent: usize,
}

/// What a formula search returns.
#[derive(Debug, Clone)]
pub struct FormulaFit {
    /// The formula for vx, if any skeleton was kept.
    pub vx: Option<Fitted>,
    /// The formula for vy, if any skeleton was kept.
    pub vy: Option<Fitted>,
    /// Enumeration figures.
    pub stats: SearchStats,
    /// Seconds spent fitting and selecting after the enumeration.
    pub fit_seconds: f64,
}

/// A shortlisted (skeleton, form), ordered by score, then size, then id, then form (a total order).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Candidate {
    score: f64,
    size: usize,
    id: u32,
    form: Form,
}

impl Eq for Candidate {}

impl Ord for Candidate {
    fn cmp(&self, o: &Self) -> Ordering {
        self.score
            .total_cmp(&o.score)
            .then(self.size.cmp(&o.size))
            .then(self.id.cmp(&o.id))
            .then(self.form.cmp(&o.form))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Chooses the formula for one output (`target` picks vx or vy from a trial).
fn choose(
    bank: &crate::enumerate::Bank<FormulaGrammar>,
    probes: &[Trial],
    fit_set: &[Trial],
    val: &[Trial],
    settings: &Settings,
    target: fn(&Trial) -> f64,
) -> Option<Fitted> {
    let y_probe: Vec<f64> = probes.iter().map(target).collect();
    // Screening on the probes: keep the best `shortlist` (a max-heap of the worst kept).
    let mut heap: BinaryHeap<Candidate> = BinaryHeap::new();
    for id in 0..bank.len() as u32 {
        let f = bank.behaviour(id);
        for form in Form::ALL {
            let Some((a, b)) = fit(form, f, &y_probe) else { continue };
            let size = bank.size(id) + form.extra_size();
            let err = rel_rmse(f.iter().map(|v| a * v + b), &y_probe);
            let c = Candidate { score: err + settings.lambda * size as f64, size, id, form };
            if !c.score.is_finite() {
                continue;
            }
            if heap.len() < settings.shortlist {
                heap.push(c);
            } else if heap.peek().is_some_and(|w| c < *w) {
                heap.pop();
                heap.push(c);
            }
        }
    }
    let mut shortlist = heap.into_sorted_vec();
    shortlist.truncate(settings.shortlist);
    // Refit on every fitting trial and score on validation.
    let y_fit: Vec<f64> = fit_set.iter().map(target).collect();
    let y_val: Vec<f64> = val.iter().map(target).collect();
    let mut best: Option<(f64, Fitted)> = None;
    let mut consistent = 0;
    for c in shortlist {
        let skeleton = bank.expr(c.id);
        let f_fit: Vec<f64> = fit_set.iter().map(|t| eval(&skeleton, &t.inputs)).collect();
        if f_fit.iter().any(|v| !v.is_finite()) {
            continue;
        }
        let Some((scale, offset)) = fit(c.form, &f_fit, &y_fit) else { continue };
        let formula = Formula { skeleton, form: c.form, scale, offset };
        let fit_error = rel_rmse(f_fit.iter().map(|v| scale * v + offset), &y_fit);
        let val_error = rel_rmse(val.iter().map(|t| formula.eval(&t.inputs)), &y_val);
        if !val_error.is_finite() {
            continue;
        }
        if val_error <= settings.consistent_below {
            consistent += 1;
        }
        let score = val_error + settings.lambda * formula.size() as f64;
        // Strictly better only: earlier (better screened) candidates win ties.
        if best.as_ref().is_none_or(|(s, _)| score < *s) {
            best = Some((score, Fitted { formula, fit_error, val_error, consistent: 0 }));
        }
    }
    best.map(|(_, mut f)| {
        f.consistent = consistent;
        f
    })
}

/// Searches formulas for vx and vy: enumeration on the first [`Settings::probes`] of `train`, fitting on the first
/// [`Settings::fit_trials`], selection on the first [`Settings::val_trials`] of `val` (on the fitting trials when
/// `val` is empty).
pub fn search(train: &[Trial], val: &[Trial], settings: &Settings) -> FormulaFit {
    let probes = &train[..settings.probes.min(train.len())];
    let fit_set = &train[..settings.fit_trials.min(train.len())];
    let val = if val.is_empty() { fit_set } else { &val[..settings.val_trials.min(val.len())] };
    let grammar = FormulaGrammar { probes: probes.iter().map(|t| t.inputs).collect() };
    if probes.is_empty() {
        return FormulaFit { vx: None, vy: None, stats: SearchStats::default(), fit_seconds: 0.0 };
    }
    let (bank, stats) = enumerate(&grammar, &settings.caps, |_| Control::Continue);
    let start = Instant::now();
    let vx = choose(&bank, probes, fit_set, val, settings, |t| t.vx);
    let vy = choose(&bank, probes, fit_set, val, settings, |t| t.vy);
    FormulaFit { vx, vy, stats, fit_seconds: start.elapsed().as_secs_f64() }
}

/// A rocket formula learner: `formula-search` (answers with the formulas) or `formula-shoot` (uses them as the
/// starting launch of Newton shooting on the task's simulator).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FormulaSearch {
    /// Whether answers are refined by shooting.
    pub shoot: bool,
    /// Settings to use instead of [`Settings::for_profile`] (for experiments and tests); `None` in the registry.
    pub settings: Option<Settings>,
}

impl FormulaSearch {
    /// `formula-search`.
    pub fn formula() -> Self {
        FormulaSearch { shoot: false, settings: None }
    }

    /// `formula-shoot`.
    pub fn shoot() -> Self {
        FormulaSearch { shoot: true, settings: None }
    }

    /// The settings under `profile` (unless overridden).
    pub fn settings(&self, profile: &Profile) -> Settings {
        self.settings.unwrap_or_else(|| Settings::for_profile(profile))
    }
}

struct FormulaSolver {
    formulas: Option<(Formula, Formula)>,
    shoot: bool,
}

impl FormulaSolver {
    fn answer(&self, inst: &RocketInstance) -> Attempt<Launch> {
        let none = Attempt { answer: None, info: SolveInfo::default() };
        let Some((fx, fy)) = &self.formulas else { return none };
        let x = inputs_of(inst);
        let (vx, vy) = (fx.eval(&x), fy.eval(&x));
        if !vx.is_finite() || !vy.is_finite() {
            return none;
        }
        if self.shoot {
            let (launch, trials) = shoot(&inst.env(), inst.distance, inst.flight_time, (vx, vy));
            Attempt { answer: Some(launch), info: SolveInfo { work: trials } }
        } else {
            Attempt { answer: Some(Launch { vx, vy }), info: SolveInfo::default() }
        }
    }
}

impl Solver<Rocket> for FormulaSolver {
    fn solve_batch(
        &self,
        _task: &Rocket,
        instances: &[RocketInstance],
    ) -> driftbench_core::Result<Vec<Attempt<Launch>>> {
        Ok(instances.par_iter().map(|i| self.answer(i)).collect())
    }
}

/// Validation instances on which the learner reports its task success rate.
const VAL_SCORED: usize = 256;

impl Learner<Rocket> for FormulaSearch {
    fn name(&self) -> &'static str {
        if self.shoot {
            "formula-shoot"
        } else {
            "formula-search"
        }
    }

    fn kind(&self) -> SolverKind {
        SolverKind::ProgramSearch
    }

    fn description(&self) -> String {
        let base = "formulas for (vx, vy) over D, T, g, rho, h0, 1, 2 and + - * / (size-capped, up to 2 fitted \
                    constants) by enumeration with observational-equivalence pruning, from the networks' trials";
        if self.shoot {
            format!("{base}; used as the start of Newton shooting on the task's simulator")
        } else {
            base.into()
        }
    }

    fn config(&self, _task: &Rocket, profile: &Profile) -> serde_json::Value {
        let s = self.settings(profile);
        serde_json::json!({
            "dsl": dsl(),
            "settings": s,
            "shoot": self.shoot,
            "selection": "per output: screen every skeleton and form on the probes; refit the shortlist on the \
                          fitting trials; least validation relative RMSE + lambda * size",
        })
    }

    fn train(
        &self,
        task: &Rocket,
        data: &TrainData<Rocket>,
        profile: &Profile,
        seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<(Box<dyn Solver<Rocket>>, TrainStats)> {
        let settings = self.settings(profile);
        // The networks' trials: a prefix of the instances gives the networks' first examples.
        let n_train = settings.fit_trials.max(settings.probes).min(data.train.len());
        let n_val = settings.val_trials.min(data.val.len());
        let (train_ex, used_trials) =
            task.vec_training_set(&data.train[..n_train], &mut rng::stream(seed, task.id(), "trials/train"));
        let (val_ex, _) = task.vec_training_set(&data.val[..n_val], &mut rng::stream(seed, task.id(), "trials/val"));
        let (train, val) = (trials(&train_ex), trials(&val_ex));
        if train.is_empty() {
            let e = crate::SearchError::NoData("no landed training trial".into());
            return Err(crate::training_error(task.id(), self.name(), e));
        }
        let fit = search(&train, &val, &settings);
        let s = &fit.stats;
        let formulas = fit.vx.as_ref().zip(fit.vy.as_ref()).map(|(a, b)| (a.formula.clone(), b.formula.clone()));
        let solver = FormulaSolver { formulas, shoot: self.shoot };
        let mut stats = TrainStats {
            examples: train.len().min(settings.fit_trials) as u64,
            trials: used_trials,
            ..Default::default()
        };
        let consistent = |f: &Option<Fitted>| f.as_ref().map_or(0, |f| f.consistent) as f64;
        let extra = [
            ("programs_enumerated", s.enumerated as f64),
            ("distinct_behaviours", s.kept as f64),
            ("search_s", s.seconds),
            ("fit_s", fit.fit_seconds),
            ("peak_bytes", s.peak_bytes as f64),
            ("consistent_programs", consistent(&fit.vx).min(consistent(&fit.vy))),
            ("consistent_programs_vx", consistent(&fit.vx)),
            ("consistent_programs_vy", consistent(&fit.vy)),
            ("found", solver.formulas.is_some() as u8 as f64),
            ("max_size", s.size_completed as f64),
            ("probe_trials", settings.probes.min(train.len()) as f64),
            ("val_trials", val.len() as f64),
            ("trials_available", data.train.len() as f64),
        ];
        stats.extra = extra.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        match (&fit.vx, &fit.vy) {
            (Some(fx), Some(fy)) => {
                stats.program = Some(format!("vx = {}; vy = {}", fx.formula, fy.formula));
                for (k, v) in [
                    ("val_rel_rmse_vx", fx.val_error),
                    ("val_rel_rmse_vy", fy.val_error),
                    ("fit_rel_rmse_vx", fx.fit_error),
                    ("fit_rel_rmse_vy", fy.fit_error),
                    ("program_size_vx", fx.formula.size() as f64),
                    ("program_size_vy", fy.formula.size() as f64),
                ] {
                    stats.extra.insert(k.into(), v);
                }
                stats.val_loss = Some((fx.val_error + fy.val_error) / 2.0);
                let scored = &data.val[..data.val.len().min(VAL_SCORED)];
                let outcomes: Vec<_> =
                    scored.par_iter().map(|i| solver.answer(i).answer.map(|a| task.score(i, &a))).collect();
                if !scored.is_empty() {
                    let n = scored.len() as f64;
                    let hit = |strict: bool| {
                        let count = outcomes.iter().filter(|o| {
                            o.is_some_and(
                                |o| if strict { task.strict_success(&o).unwrap_or(o.success) } else { o.success },
                            )
                        });
                        count.count() as f64 / n
                    };
                    stats.val_accuracy = Some(hit(true));
                    stats.val_accuracy_name = Some(task.strict_name().into());
                    stats.val_exact = Some(hit(false));
                }
            }
            _ => {
                let why = s.cap_hit.map_or("search stopped".to_string(), |c: Cap| c.to_string());
                stats.program = Some(format!("none found: {why} (size {}, {} programs)", s.size_completed, s.kept));
            }
        }
        progress(1.0);
        Ok((Box::new(solver), stats))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftbench_core::Cell;
    use driftbench_tasks::rocket::vacuum_launch;
    use rand::Rng;

    fn v(i: u8) -> Expr<RealOp> {
        Expr::leaf(RealOp::Var(i))
    }
    fn op(o: RealOp, a: Expr<RealOp>, b: Expr<RealOp>) -> Expr<RealOp> {
        Expr::node(o, vec![a, b])
    }

    /// Vacuum instances with varied gravity and altitude, and their trials.
    fn vacuum_trials(seed: u64, n: usize) -> Vec<Trial> {
        let task = Rocket;
        let mut rng = rng::stream(seed, "search-test", "vacuum");
        let insts: Vec<RocketInstance> = (0..n)
            .map(|_| {
                let mut i = task.generate(Cell::IN_DIST, &mut rng);
                i.air_density = 0.0;
                i.gravity = rng.random_range(1.0..25.0);
                i.altitude = rng.random_range(0.0..600.0);
                i
            })
            .collect();
        trials(&task.vec_training_set(&insts, &mut rng::stream(seed, "search-test", "vacuum-trials")).0)
    }

    #[test]
    fn formulas_evaluate_and_fit_hand_written_cases() {
        let x = [500.0, 10.0, 9.8, 1.2, 100.0];
        // D / T = 50; g*T/2 - h0/T = 49 - 10 = 39.
        assert_eq!(eval(&op(RealOp::Div, v(0), v(1)), &x), 50.0);
        let vy = op(
            RealOp::Sub,
            op(RealOp::Div, op(RealOp::Mul, v(2), v(1)), Expr::leaf(RealOp::Two)),
            op(RealOp::Div, v(4), v(1)),
        );
        assert!((eval(&vy, &x) - 39.0).abs() < 1e-12);
        assert_eq!(vy.size(), 9);
        assert_eq!(vy.show(&FormulaGrammar { probes: vec![] }), "(((g * T) / 2) - (h0 / T))");
        assert!(eval(&op(RealOp::Div, v(0), op(RealOp::Sub, v(1), v(1))), &x).is_infinite());
        // Least squares recovers exact constants.
        let f = [1.0, 2.0, 3.0, 4.0];
        let y: Vec<f64> = f.iter().map(|v| 3.0 * v + 0.5).collect();
        let (a, b) = fit(Form::Affine, &f, &y).unwrap();
        assert!((a - 3.0).abs() < 1e-9 && (b - 0.5).abs() < 1e-9);
        let (a, b) = fit(Form::Scale, &f, &f.map(|v| 2.0 * v)).unwrap();
        assert!((a - 2.0).abs() < 1e-12 && b == 0.0);
        assert!(fit(Form::Affine, &[2.0; 4], &y).is_none(), "a constant skeleton has no scale and offset");
        let formula = Formula { skeleton: op(RealOp::Div, v(0), v(1)), form: Form::Affine, scale: 1.5, offset: -2.0 };
        assert_eq!(formula.eval(&x), 73.0);
        assert_eq!(formula.size(), 7);
        assert_eq!(formula.to_string(), "1.5 * (D / T) + -2");
    }

    #[test]
    fn probe_equivalence_merges_reassociations_but_keeps_distinct_formulas() {
        let probes = vacuum_trials(3, 12).iter().map(|t| t.inputs).collect();
        let g = FormulaGrammar { probes };
        let (bank, _) = enumerate(&g, &Caps { max_size: 5, ..Caps::default() }, |_| Control::Continue);
        let shown: Vec<String> = (0..bank.len() as u32).map(|id| bank.show(&g, id)).collect();
        // (D + T) + g and D + (T + g) are one behaviour; D / T and T / D are two.
        let count = |s: &str| shown.iter().filter(|x| x.as_str() == s).count();
        assert_eq!(count("((D + T) + g)") + count("(D + (T + g))") + count("((D + g) + T)"), 1, "{shown:?}");
        assert_eq!(count("(D / T)") + count("(T / D)"), 2);
        // In vacuum rho is 0 on every probe, so D - D and T - T (also 0) are merged into the terminal rho.
        assert_eq!(count("rho"), 1);
        assert_eq!(count("(D - D)") + count("(T - T)"), 0);
        // Every kept behaviour is distinct.
        let keys: std::collections::BTreeSet<Vec<u64>> =
            (0..bank.len() as u32).map(|id| bank.behaviour(id).iter().map(|&x| quantise(x)).collect()).collect();
        assert_eq!(keys.len(), bank.len());
    }

    #[test]
    fn search_recovers_the_vacuum_closed_form() {
        let train = vacuum_trials(1, 300);
        let val = vacuum_trials(2, 200);
        let settings = Settings::for_profile(&Profile::quick());
        let fit = search(&train, &val, &settings);
        let (fx, fy) = (fit.vx.unwrap(), fit.vy.unwrap());
        println!("vacuum: vx = {}, vy = {} ({:?})", fx.formula, fy.formula, fit.stats);
        assert_eq!(fx.formula.to_string(), "(D / T)");
        assert_eq!(fy.formula.size(), 9, "{}", fy.formula);
        assert_eq!(fy.formula.form, Form::Raw, "{}", fy.formula);
        // vy agrees with g*T/2 - h0/T far outside the training ranges.
        for x in [[5000.0, 40.0, 0.62, 0.0, 600.0], [100.0, 2.0, 24.79, 0.0, 0.0], [3000.0, 30.0, 3.71, 2.0, 50.0]] {
            let env = driftbench_tasks::rocket::Env { gravity: x[2], air_density: x[3], altitude: x[4] };
            let (wx, wy) = vacuum_launch(&env, x[0], x[1]);
            assert!((fx.formula.eval(&x) - wx).abs() < 1e-9 * wx.abs());
            assert!((fy.formula.eval(&x) - wy).abs() < 1e-9 * wy.abs().max(1.0), "{}", fy.formula);
        }
        assert!(fx.val_error < 1e-5 && fy.val_error < 1e-4, "{} {}", fx.val_error, fy.val_error);
        assert!(fx.consistent >= 1 && fy.consistent >= 1);
        assert!(fit.stats.seconds < 10.0, "{:?}", fit.stats);
        assert!(fit.stats.peak_bytes < 768 << 20);
    }

    #[test]
    fn the_learners_train_on_the_networks_trials_and_answer() {
        let task = Rocket;
        let draw = |purpose: &str, n| {
            let mut rng = rng::stream(1, task.id(), purpose);
            (0..n).map(|_| task.generate(Cell::IN_DIST, &mut rng)).collect::<Vec<_>>()
        };
        let data = TrainData { train: draw("train", 300), val: draw("val", 50), dropped_overlaps: 0 };
        let profile = Profile::tiny();
        // The prefix of the instances gives exactly the networks' first examples.
        let all = task.vec_training_set(&data.train, &mut rng::stream(1, task.id(), "trials/train")).0;
        let some = task.vec_training_set(&data.train[..40], &mut rng::stream(1, task.id(), "trials/train")).0;
        assert_eq!(&all[..40], &some[..]);
        let test: Vec<RocketInstance> = draw("test", 20);
        for learner in learners() {
            let (solver, stats) = learner.train(&task, &data, &profile, 1, &|_| {}).unwrap();
            // Deterministic: a second run records the same program and figures, timings aside.
            let (_, again) = learner.train(&task, &data, &profile, 1, &|_| {}).unwrap();
            let untimed = |s: &TrainStats| {
                let mut s = s.clone();
                s.extra.retain(|k, _| !k.ends_with("_s"));
                s
            };
            assert_eq!(untimed(&stats), untimed(&again));
            assert_eq!(stats.extra["found"], 1.0, "{}", learner.name());
            assert!(stats.program.as_deref().is_some_and(|p| p.starts_with("vx = ")), "{:?}", stats.program);
            assert_eq!(stats.trials, 300);
            let out = solver.solve_batch(&task, &test).unwrap();
            assert!(out.iter().all(|a| a.answer.is_some()));
            if learner.name() == "formula-shoot" {
                assert!(out.iter().all(|a| a.info.work >= 1));
                // Shooting from any reasonable start lands like the hand-written solver.
                assert!(test.iter().zip(&out).all(|(i, a)| task.score(i, a.answer.as_ref().unwrap()).success));
            }
        }
    }

    #[test]
    fn a_tiny_cap_is_a_recorded_none_found() {
        let task = Rocket;
        let mut rng = rng::stream(1, task.id(), "train");
        let train: Vec<RocketInstance> = (0..30).map(|_| task.generate(Cell::IN_DIST, &mut rng)).collect();
        let data = TrainData { train: train.clone(), val: Vec::new(), dropped_overlaps: 0 };
        let mut settings = Settings::for_profile(&Profile::tiny());
        settings.caps.max_programs = 0;
        let learner = FormulaSearch { shoot: true, settings: Some(settings) };
        let (solver, stats) = learner.train(&task, &data, &Profile::tiny(), 1, &|_| {}).unwrap();
        assert_eq!(stats.extra["found"], 0.0);
        assert!(stats.program.as_deref().is_some_and(|p| p.starts_with("none found: program-count cap")), "{stats:?}");
        let out = solver.solve_batch(&task, &train).unwrap();
        assert!(out.iter().all(|a| a.answer.is_none() && a.info.work == 0));
        // No data is an error, not a panic.
        let empty = TrainData { train: Vec::new(), val: Vec::new(), dropped_overlaps: 0 };
        assert!(FormulaSearch::formula().train(&task, &empty, &Profile::tiny(), 1, &|_| {}).is_err());
    }
}
