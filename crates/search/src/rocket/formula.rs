//! Fitting and choosing formulas: the constant forms, least squares, the shortlist and validation.

use super::dsl::{eval, FormulaGrammar, RealOp, Trial};
use crate::enumerate::{enumerate, Caps, Control, Expr, SearchStats};
use driftbench_core::{Profile, SearchBudget};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::time::Instant;

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
pub(super) fn fit(form: Form, f: &[f64], y: &[f64]) -> Option<(f64, f64)> {
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
    /// at size 9; size 7 under [`SearchBudget::Small`]); 12 probes, 512 fitting and 512 validation trials, a
    /// shortlist of 400, λ = 0.001.
    pub fn for_profile(profile: &Profile) -> Self {
        Settings {
            caps: Caps {
                max_size: match profile.search {
                    SearchBudget::Full => 9,
                    SearchBudget::Small => 7,
                },
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
