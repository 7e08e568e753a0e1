//! The one record validator: what a run record must satisfy before `report`, `compare` or `--resume` trusts it.
//!
//! [`check_record`] needs only the record (every reader of a record runs it, through [`RunRecord::read`] and
//! [`read_dir`], which live here); [`check_declared`] adds what only the task can say
//! (its axes), for callers that have the registry; [`check_set`] looks across the records of one folder.
use crate::axis::{AxisSpec, LEVELS};
use crate::error::{Error, Result};
use crate::record::{Experiment, RunRecord, RECORD_SCHEMA};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The axis name of the level-0 cell in records.
pub const IN_DIST: &str = "in-dist";

/// Checks what a record can only hold if it is whole and unedited: a profile that passes its own checks and
/// matches its hash; at least one cell, each (axis, level) once, levels 0 to 4 with level 0 and only level 0
/// `in-dist`; in every cell at least one instance and no more successes, strict successes, unanswered
/// instances or categorised failures than instances; finite metrics, non-negative work; non-negative finite
/// timings; rates (validation accuracies, learning curves) in [0, 1].
pub fn check_record(r: &RunRecord) -> Result<(), String> {
    r.profile.check().map_err(|e| format!("profile: {e}"))?;
    if let Some(h) = r.profile_hash.as_deref().filter(|h| *h != r.profile.hash()) {
        return Err(format!("profile_hash {h} does not match the recorded profile (hash {})", r.profile.hash()));
    }
    if r.cells.is_empty() {
        return Err("no evaluation cells".into());
    }
    let mut seen = HashSet::new();
    for c in &r.cells {
        let at = format!("cell {}-L{}", c.axis, c.level);
        if c.level >= LEVELS {
            return Err(format!("{at}: level {} is out of range (levels run from 0 to {})", c.level, LEVELS - 1));
        }
        if (c.level == 0) != (c.axis == IN_DIST) {
            return Err(format!("{at}: level 0, and only level 0, is the `{IN_DIST}` cell"));
        }
        if !seen.insert((c.axis.as_str(), c.level)) {
            return Err(format!("{at} is listed twice (it would be counted twice)"));
        }
        let failures: u64 = c.failures.values().fold(0u64, |a, &b| a.saturating_add(b));
        let counts = [
            ("successes", c.successes),
            ("strict successes", c.strict_successes.unwrap_or(0)),
            ("unanswered instances", c.no_answer),
            ("categorised failures", failures),
        ];
        if c.n == 0 {
            return Err(format!("{at}: no instances"));
        }
        if let Some((what, k)) = counts.iter().find(|(_, k)| *k > c.n) {
            return Err(format!("{at}: {k} {what} out of {} instances", c.n));
        }
        if c.successes.saturating_add(c.no_answer) > c.n {
            return Err(format!(
                "{at}: {} successes and {} unanswered out of {} instances",
                c.successes, c.no_answer, c.n
            ));
        }
        if ![c.mean_metric, c.median_metric, c.mean_work].iter().all(|x| x.is_finite()) {
            return Err(format!("{at}: a non-finite metric"));
        }
        if c.mean_work < 0.0 {
            return Err(format!("{at}: mean_work {} is negative", c.mean_work));
        }
        if let Some(x) = c.representability {
            if x.supervised > x.expressible
                || x.expressible > c.n
                || x.successes_supervised > x.supervised.min(c.successes)
            {
                return Err(format!("{at}: representability counts {x:?} do not fit {} instances", c.n));
            }
        }
        if let Some(o) = &c.outcomes {
            c.check_outcomes(o).map_err(|e| format!("{at}: {e}"))?;
        }
    }
    let t = &r.timing;
    for (field, v) in [("train_s", t.train_s), ("eval_s", t.eval_s), ("per_answer_us", t.per_answer_us)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!("timing.{field} {v} is not a non-negative number of seconds"));
        }
    }
    let s = &r.training;
    if !(s.epochs.is_finite() && s.epochs >= 0.0) {
        return Err(format!("training.epochs {} is not a non-negative number", s.epochs));
    }
    for (field, v) in [("val_accuracy", s.val_accuracy), ("val_exact", s.val_exact)] {
        if let Some(v) = v.filter(|v| !(0.0..=1.0).contains(v)) {
            return Err(format!("training.{field} {v} is not a rate in [0, 1]"));
        }
    }
    if let Some((step, _, acc, exact)) =
        s.curve.iter().find(|(_, _, acc, exact)| !(0.0..=1.0).contains(acc) || !(0.0..=1.0).contains(exact))
    {
        return Err(format!(
            "training.curve at step {step}: accuracy {acc} and exact match {exact} must be rates in [0, 1]"
        ));
    }
    if let Some(Experiment::SampleEfficiency { train_examples, max_epochs }) = &r.experiment {
        if *train_examples == 0 || !(max_epochs.is_finite() && *max_epochs > 0.0) {
            return Err(format!(
                "experiment: sample-efficiency run on {train_examples} examples with an epoch cap of {max_epochs}"
            ));
        }
    }
    Ok(())
}

/// Checks a record against what its task declares: every cell's axis is one of `axes` (or `in-dist`).
pub fn check_declared(r: &RunRecord, axes: &[AxisSpec]) -> Result<(), String> {
    match r.cells.iter().find(|c| c.axis != IN_DIST && !axes.iter().any(|a| a.name == c.axis)) {
        Some(c) => Err(format!(
            "cell {}-L{}: {} has no drift axis `{}` (axes: {})",
            c.axis,
            c.level,
            r.task,
            c.axis,
            axes.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
        )),
        None => Ok(()),
    }
}

/// Checks the records of one folder together: no run twice (it would be pooled as two seeds). `Err((i, j))`:
/// record `i` is the same run as the earlier record `j`.
pub fn check_set(records: &[RunRecord]) -> Result<(), (usize, usize)> {
    let mut first = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(&earlier) = first.get(&r.key()) {
            return Err((i, earlier));
        }
        first.insert(r.key(), i);
    }
    Ok(())
}

/// Reading a record is validating it: every reader goes through here.
impl RunRecord {
    /// Reads a record (a regular file only: a named pipe is refused, not waited on), with an error that names
    /// the file, and checks it ([`Self::check`]).
    pub fn read(path: &Path) -> Result<RunRecord> {
        let text = crate::files::read_regular_text(path, "reading record", "record", crate::files::MAX_RECORD_BYTES)?;
        let rec: RunRecord =
            serde_json::from_str(&text).map_err(|e| Error::Json { path: path.into(), line: None, err: e })?;
        if rec.schema != RECORD_SCHEMA {
            return Err(Error::Invalid {
                path: path.into(),
                reason: format!("record schema {} (this driftbench reads schema {RECORD_SCHEMA})", rec.schema),
            });
        }
        rec.check().map_err(|reason| Error::Invalid { path: path.into(), reason })?;
        Ok(rec)
    }

    /// Checks what a record can only hold if it is whole and unedited ([`check_record`]).
    pub fn check(&self) -> std::result::Result<(), String> {
        check_record(self)
    }
}

/// Reads every `*.json` record in `dir`, sorted by file name. An unreadable record is an error.
pub fn read_dir(dir: &Path) -> Result<Vec<RunRecord>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("reading records folder", dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let p = entry.map_err(|e| Error::io("reading records folder", dir, e))?.path();
        if p.extension().is_some_and(|x| x == "json") {
            paths.push(p);
        }
    }
    paths.sort();
    let records: Vec<RunRecord> = paths.iter().map(|p| RunRecord::read(p)).collect::<Result<_>>()?;
    // The same run under two file names would be pooled as two seeds.
    if let Err((i, earlier)) = check_set(&records) {
        let r = &records[i];
        return Err(Error::Invalid {
            path: paths[i].clone(),
            reason: format!(
                "the same run ({} / {} seed {}, profile {}) as `{}`: keep one of the two",
                r.task,
                r.solver,
                r.seed,
                r.profile.name,
                paths[earlier].display()
            ),
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{CellResult, Provenance, Timing, RECORD_SCHEMA};

    fn cell(axis: &str, level: u8) -> CellResult {
        CellResult {
            axis: axis.into(),
            level,
            level_description: String::new(),
            n: 10,
            successes: 5,
            no_answer: 0,
            mean_metric: 0.0,
            median_metric: 0.0,
            strict_successes: None,
            mean_work: 1.0,
            failures: Default::default(),
            representability: None,
            outcomes: None,
            distance: None,
        }
    }

    fn record() -> RunRecord {
        RunRecord {
            schema: RECORD_SCHEMA,
            task: "t-v1".into(),
            solver: "s".into(),
            kind: crate::SolverKind::Symbolic,
            seed: 1,
            profile: crate::Profile::tiny(),
            profile_hash: None,
            config: serde_json::Value::Null,
            test_source: "generated".into(),
            metric_name: "m".into(),
            work_name: "w".into(),
            strict_name: None,
            training: Default::default(),
            cells: vec![cell(IN_DIST, 0), cell("length", 1)],
            experiment: None,
            adversarial: None,
            picture: None,
            picture_cell: None,
            observes: None,
            timing: Timing::default(),
            provenance: Provenance::default(),
        }
    }

    #[test]
    fn impossible_records_are_refused_by_what_is_wrong() {
        assert_eq!(check_record(&record()), Ok(()));
        type Edit = Box<dyn Fn(&mut RunRecord)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("level 9 is out of range", Box::new(|r| r.cells[1].level = 9)),
            ("listed twice", Box::new(|r| r.cells.push(cell("length", 1)))),
            ("only level 0", Box::new(|r| r.cells[1].axis = IN_DIST.into())),
            ("timing.train_s -1", Box::new(|r| r.timing.train_s = -1.0)),
            ("timing.eval_s NaN", Box::new(|r| r.timing.eval_s = f64::NAN)),
            ("training.val_exact 7", Box::new(|r| r.training.val_exact = Some(7.0))),
            ("training.val_accuracy -0.5", Box::new(|r| r.training.val_accuracy = Some(-0.5))),
            ("training.curve at step 3", Box::new(|r| r.training.curve = vec![(3, 0.1, 2.0, 0.5)])),
            ("profile: field `train_scale`", Box::new(|r| r.profile.train_scale = -1.0)),
            ("profile_hash abc", Box::new(|r| r.profile_hash = Some("abc".into()))),
            ("mean_work -2", Box::new(|r| r.cells[0].mean_work = -2.0)),
            ("11 successes", Box::new(|r| r.cells[0].successes = 11)),
        ];
        for (needle, edit) in cases {
            let mut r = record();
            edit(&mut r);
            let e = check_record(&r).unwrap_err();
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }

    #[test]
    fn axes_must_be_the_tasks_own() {
        let axes = [AxisSpec { name: "length", description: "", levels: ["", "", "", "", ""] }];
        assert_eq!(check_declared(&record(), &axes), Ok(()));
        let mut r = record();
        r.cells[1].axis = "colour".into();
        let e = check_declared(&r, &axes).unwrap_err();
        assert!(e.contains("no drift axis `colour`") && e.contains("axes: length"), "{e}");
    }

    #[test]
    fn a_run_twice_is_found() {
        let mut other = record();
        other.seed = 2;
        assert_eq!(check_set(&[record(), other.clone()]), Ok(()));
        assert_eq!(check_set(&[record(), other, record()]), Err((2, 0)));
    }
}
