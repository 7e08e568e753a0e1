//! The task contract at its edges: instances from the whole instance type, not only the generator's ranges.
//!
//! A task promises that [`Task::validate`] accepts exactly what its solvers can answer: every accepted instance
//! is solved by the symbolic solver and scored with a finite metric, and every rejected one gets a message that
//! names the offending field. [`edge_instances`] tests that promise for any task without task-specific code: it
//! writes generated instances as JSON and moves their fields to the edges of their types (extreme integers and
//! floats, lists emptied or stretched to 200 elements), one field at a time and sometimes all at once, and keeps
//! every variant that still parses as an instance. [`check_edges`] then holds the task to its promise;
//! [`crate::bench::DynTask::learner_check`] holds every learner to its own (an answer or no answer for each
//! instance, never a panic, never a failed batch).
use crate::task::{Outcome, Task};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Number, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Longest list [`edge_instances`] builds.
pub const LONGEST_LIST: usize = 200;

/// A step on the way from a JSON document's root to one of its values.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// Every value of `v` with its path, depth first.
fn paths(v: &Value, at: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, Value)>) {
    out.push((at.clone(), v.clone()));
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                at.push(Step::Key(k.clone()));
                paths(x, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(Step::Index(i));
                paths(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn get_mut<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, s| match s {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// Every object key in `v`: the field names a rejection message may name.
pub fn field_names(v: &Value) -> Vec<String> {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let mut keys: Vec<String> = all
        .iter()
        .filter_map(|(p, _)| match p.last() {
            Some(Step::Key(k)) => Some(k.clone()),
            _ => None,
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn float(x: f64) -> Option<Value> {
    Number::from_f64(x).map(Value::Number)
}

/// Values at the edges of a number's type, and a few near its own value.
fn number_edges(n: &Number, rng: &mut ChaCha8Rng) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    if n.is_f64() {
        let x = n.as_f64().unwrap_or(0.0);
        let near = [-x, x * 0.5, x * 2.0, x * 10.0, x * 100.0, x / 100.0, x + 1.0, x - 1.0];
        let edges = [
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            1e-9,
            1e-3,
            0.005,
            0.01,
            0.5,
            1.0,
            -1.0,
            1e3,
            1e5,
            1e9,
            -1e9,
            1e300,
            f64::MAX,
            -f64::MAX,
        ];
        let random = 10f64.powf(rng.random_range(-12.0..12.0)) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        out.extend(near.iter().chain(&edges).chain([&random]).filter_map(|&x| float(x)));
    } else {
        let x = n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)).unwrap_or(0);
        let edges: [i128; 24] = [
            0,
            1,
            -1,
            2,
            3,
            x + 1,
            x - 1,
            x * 2,
            x * 1000,
            -x,
            i64::MIN.into(),
            i64::MAX.into(),
            (i64::MIN + 1).into(),
            u64::MAX.into(),
            i32::MIN.into(),
            i32::MAX.into(),
            u32::MAX.into(),
            1 << 24,
            (1 << 24) + 1,
            1_000_000_000,
            -1_000_000_000,
            999_999_999,
            -1_000_000_001,
            rng.random_range(-(1i128 << 62)..(1i128 << 62)),
        ];
        for e in edges {
            if let Ok(v) = i64::try_from(e) {
                out.push(Value::from(v));
            } else if let Ok(v) = u64::try_from(e) {
                out.push(Value::from(v));
            }
        }
    }
    out
}

/// Lists of other lengths made of the list's own elements: empty, one element, doubled, and up to
/// [`LONGEST_LIST`]; and the list with every number in it moved to a random edge of its type.
fn array_edges(a: &[Value], rng: &mut ChaCha8Rng) -> Vec<Value> {
    let mut out = vec![Value::Array(Vec::new())];
    if let Some(first) = a.first() {
        out.push(Value::Array(vec![first.clone()]));
        for len in [2 * a.len(), 33, 64, LONGEST_LIST] {
            out.push(Value::Array(a.iter().cycle().take(len).cloned().collect()));
        }
        let moved = a.iter().map(|x| move_all(x, rng)).collect();
        out.push(Value::Array(moved));
    }
    out
}

/// `v` with every number in it moved to a random edge of its type.
fn move_all(v: &Value, rng: &mut ChaCha8Rng) -> Value {
    match v {
        Value::Number(n) => number_edges(n, rng).choose(rng).cloned().unwrap_or_else(|| v.clone()),
        Value::Array(a) => Value::Array(a.iter().map(|x| move_all(x, rng)).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), move_all(x, rng))).collect()),
        other => other.clone(),
    }
}

/// Up to `count` variants of `instance` at the edges of its type (see the module docs), in a fixed order for a
/// given `rng`: single-field moves first drawn at random from every possible one, a quarter of them moves of every
/// field at once. Variants that no longer parse as an instance are left out.
pub fn edge_instances<T: Task>(instance: &T::Instance, count: usize, rng: &mut ChaCha8Rng) -> Vec<T::Instance> {
    let Ok(root) = serde_json::to_value(instance) else { return Vec::new() };
    let mut all = Vec::new();
    paths(&root, &mut Vec::new(), &mut all);
    let mut single: Vec<Value> = Vec::new();
    for (path, value) in &all {
        let replacements = match value {
            Value::Number(n) => number_edges(n, rng),
            Value::Array(a) => array_edges(a, rng),
            Value::Bool(b) => vec![Value::Bool(!b)],
            _ => Vec::new(),
        };
        for r in replacements {
            let mut v = root.clone();
            if let Some(slot) = get_mut(&mut v, path) {
                *slot = r;
                single.push(v);
            }
        }
    }
    single.shuffle(rng);
    let together = count / 4;
    let mut variants: Vec<Value> = (0..together).map(|_| move_all(&root, rng)).collect();
    variants.extend(single.into_iter().take(count - together));
    variants.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect()
}

/// A panic's message, for a report.
fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Runs `f`, turning a panic into an error that says what panicked.
pub fn no_panic<R>(what: &str, f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| format!("{what} panicked: {}", panic_message(p)))
}

fn json<T: serde::Serialize>(x: &T) -> String {
    serde_json::to_string(x).unwrap_or_else(|e| format!("<unserialisable: {e}>"))
}

/// What [`check_edges`] saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeCounts {
    /// Variants the task accepted (each solved by the symbolic solver).
    pub accepted: usize,
    /// Variants the task rejected (each with a message naming a field).
    pub rejected: usize,
}

/// Holds `task` to its contract on `instances` (typically [`edge_instances`]): every instance `validate` accepts
/// is solved by the symbolic solver with a finite metric, every rejected one gets a message that names one of the
/// instance's fields, and nothing panics (a task's validation, solver and scorer face user input).
pub fn check_edges<T: Task>(task: &T, instances: &[T::Instance]) -> Result<EdgeCounts, String> {
    let mut counts = EdgeCounts::default();
    if !task.no_answer_metric().is_finite() {
        return Err("the no-answer metric is not finite".into());
    }
    let mut accepted = Vec::new();
    for inst in instances {
        let text = json(inst);
        match no_panic("validate", || task.validate(inst)).map_err(|e| format!("{e} on {text}"))? {
            Ok(()) => {
                counts.accepted += 1;
                accepted.push(inst.clone());
                let (answer, _) = no_panic("the symbolic solver", || task.solve_symbolic(inst))
                    .map_err(|e| format!("{e} on {text}"))?;
                let o = no_panic("score", || task.score(inst, &answer)).map_err(|e| format!("{e} on {text}"))?;
                if !o.metric.is_finite() {
                    return Err(format!(
                        "the symbolic answer {} scored a metric of {} on {text}",
                        json(&answer),
                        o.metric
                    ));
                }
                if !o.success {
                    return Err(format!(
                        "validate accepted {text}, but the symbolic solver failed it: {} (metric {})",
                        json(&answer),
                        o.metric
                    ));
                }
            }
            Err(message) => {
                counts.rejected += 1;
                let fields = serde_json::to_value(inst).map(|v| field_names(&v)).unwrap_or_default();
                if !fields.is_empty() && !fields.iter().any(|f| message.contains(f.as_str())) {
                    return Err(format!(
                        "the rejection of {text} names none of the fields ({}): {message}",
                        fields.join(", ")
                    ));
                }
            }
        }
    }
    check_batches(task, &accepted)?;
    Ok(counts)
}

/// Holds a task's batch forms to their single forms on valid `instances`: [`Task::solve_symbolic_batch`] gives the
/// same answers and work counts as [`Task::solve_symbolic`] one at a time, and [`Task::score_batch`] the same
/// outcomes (bit for bit) as [`Outcome::of`] on each attempt, with every other attempt left unanswered.
pub fn check_batches<T: Task>(task: &T, instances: &[T::Instance]) -> Result<(), String> {
    let single: Vec<_> =
        no_panic("the symbolic solver", || instances.iter().map(|i| task.solve_symbolic(i)).collect())?;
    let batch: Vec<_> = no_panic("the batched symbolic solver", || task.solve_symbolic_batch(instances))?;
    if batch.len() != instances.len() {
        return Err(format!("solve_symbolic_batch gave {} answers for {} instances", batch.len(), instances.len()));
    }
    for ((inst, (a, ia)), (b, ib)) in instances.iter().zip(&single).zip(&batch) {
        if json(a) != json(b) || ia.work != ib.work {
            return Err(format!(
                "solve_symbolic_batch answered {} (work {}) where solve_symbolic answered {} (work {}) on {}",
                json(b),
                ib.work,
                json(a),
                ia.work,
                json(inst)
            ));
        }
    }
    let answers: Vec<Option<&T::Answer>> =
        single.iter().enumerate().map(|(k, (a, _))| (k % 2 == 0).then_some(a)).collect();
    let one: Vec<Outcome> =
        no_panic("score", || instances.iter().zip(&answers).map(|(i, a)| Outcome::of(task, i, *a)).collect())?;
    let many = no_panic("score_batch", || task.score_batch(instances, &answers))?;
    if many.len() != instances.len() {
        return Err(format!("score_batch gave {} outcomes for {} attempts", many.len(), instances.len()));
    }
    for ((inst, x), y) in instances.iter().zip(&one).zip(&many) {
        if x.success != y.success || x.metric.to_bits() != y.metric.to_bits() || x.failure != y.failure {
            return Err(format!("score_batch scored {y:?} where score gave {x:?} on {}", json(inst)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Halving numbers, with batch forms that can be made to disagree with the single ones.
    struct Halve {
        wrong_batch_answer: bool,
        wrong_batch_score: bool,
    }

    static HALVE_AXES: [crate::axis::AxisSpec; 0] = [];

    impl Task for Halve {
        type Instance = f64;
        type Answer = f64;
        fn id(&self) -> &'static str {
            "halve-test"
        }
        fn description(&self) -> &'static str {
            "half of a number"
        }
        fn axes(&self) -> &'static [crate::axis::AxisSpec] {
            &HALVE_AXES
        }
        fn generate(&self, _cell: crate::axis::Cell, rng: &mut ChaCha8Rng) -> f64 {
            rng.random_range(0.0..10.0)
        }
        fn validate(&self, _x: &f64) -> Result<(), String> {
            Ok(())
        }
        fn score(&self, x: &f64, answer: &f64) -> Outcome {
            Outcome::new(*answer == x / 2.0, (answer - x / 2.0).abs())
        }
        fn metric_name(&self) -> &'static str {
            "error"
        }
        fn solve_symbolic(&self, x: &f64) -> (f64, crate::data::SolveInfo) {
            (x / 2.0, crate::data::SolveInfo { work: 1 })
        }
        fn symbolic_description(&self) -> &'static str {
            "divide by two"
        }
        fn solve_symbolic_batch(&self, xs: &[f64]) -> Vec<(f64, crate::data::SolveInfo)> {
            let bump = if self.wrong_batch_answer { 1e-9 } else { 0.0 };
            xs.iter().map(|x| (x / 2.0 + bump, crate::data::SolveInfo { work: 1 })).collect()
        }
        fn score_batch(&self, xs: &[f64], answers: &[Option<&f64>]) -> Vec<Outcome> {
            let mut out: Vec<Outcome> = xs.iter().zip(answers).map(|(x, a)| Outcome::of(self, x, *a)).collect();
            if self.wrong_batch_score {
                out[0].metric += 1.0;
            }
            out
        }
    }

    #[test]
    fn batch_forms_that_disagree_with_the_single_forms_are_refused() {
        let xs = [1.0, 2.0, 3.0];
        let ok = Halve { wrong_batch_answer: false, wrong_batch_score: false };
        assert_eq!(check_batches(&ok, &xs), Ok(()));
        let err = check_batches(&Halve { wrong_batch_answer: true, wrong_batch_score: false }, &xs).unwrap_err();
        assert!(err.contains("solve_symbolic_batch answered"), "{err}");
        let err = check_batches(&Halve { wrong_batch_answer: false, wrong_batch_score: true }, &xs).unwrap_err();
        assert!(err.contains("score_batch scored"), "{err}");
    }
    use rand::SeedableRng;

    #[test]
    fn edges_reach_extremes_and_stretch_lists() {
        let doc = serde_json::json!({ "values": [3, 1], "x": 2.5, "flag": true });
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut all = Vec::new();
        paths(&doc, &mut Vec::new(), &mut all);
        let at = |key: &str| all.iter().find(|(p, _)| matches!(p.last(), Some(Step::Key(k)) if k == key)).unwrap();
        let lists = array_edges(at("values").1.as_array().unwrap(), &mut rng);
        let lens: Vec<usize> = lists.iter().map(|l| l.as_array().unwrap().len()).collect();
        assert_eq!(lens, vec![0, 1, 4, 33, 64, LONGEST_LIST, 2]);
        let ints = number_edges(&Number::from(3), &mut rng);
        assert!(ints.contains(&Value::from(i64::MIN)) && ints.contains(&Value::from(u64::MAX)));
        let floats = number_edges(at("x").1.as_number().unwrap(), &mut rng);
        assert!(floats.contains(&float(f64::MAX).unwrap()) && floats.contains(&float(5e-324).unwrap()));
        assert_eq!(field_names(&doc), vec!["flag", "values", "x"]);
    }
}
