//! The messages a solver program may write (`driftbench-solver/1`). The harness's own messages are built where
//! they are sent; `docs/external-solvers.md` is the reference for both directions.
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The protocol version this harness speaks.
pub const PROTOCOL: &str = "driftbench-solver/1";

/// One line from the solver program. Unknown fields are ignored (a newer client may send more); an unknown
/// `type` is a protocol violation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Incoming {
    /// The reply to the harness's `hello`: who the program is.
    Hello {
        /// The program's own name (recorded, never used as the solver's name in records).
        name: String,
        /// The program's own version.
        version: String,
        /// The protocol it speaks; checked when given.
        #[serde(default)]
        protocol: Option<String>,
    },
    /// Training is over; the program is ready to answer. Optional numbers it wants recorded.
    Ready {
        /// Self-reported figures (losses, epochs), recorded as `reported_<key>`.
        #[serde(default)]
        stats: BTreeMap<String, f64>,
    },
    /// A trial: an answer tried on training example `example`, judged by the task's scorer (counted as a trial).
    Try {
        /// Index of the training example.
        example: usize,
        /// A task answer.
        #[serde(default)]
        answer: Option<Value>,
        /// Raw outputs, decoded as the built-in networks' are.
        #[serde(default)]
        output: Option<Value>,
    },
    /// The expert's actions on training example `example` (policy tasks; counted).
    Demonstrate {
        /// Index of the training example.
        example: usize,
    },
    /// Starts an episode on training example `example` (policy tasks; counted).
    Reset {
        /// Index of the training example.
        example: usize,
    },
    /// One action in the running training episode (counted; deaths counted).
    Step {
        /// The action's index.
        action: Value,
    },
    /// The answer to test instance `id`.
    Answer {
        /// The id the harness gave.
        id: u64,
        /// A task answer (`null`: no answer).
        #[serde(default)]
        answer: Option<Value>,
        /// Raw outputs, decoded as the built-in networks' are.
        #[serde(default)]
        output: Option<Value>,
    },
    /// The action for test episode `id` at the observation just sent.
    Action {
        /// The id the harness gave.
        id: u64,
        /// The action's index.
        action: Value,
    },
    /// The program cannot go on; the run fails with this message.
    Error {
        /// Why.
        message: String,
    },
}

impl Incoming {
    /// The message's `type`, for errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Incoming::Hello { .. } => "hello",
            Incoming::Ready { .. } => "ready",
            Incoming::Try { .. } => "try",
            Incoming::Demonstrate { .. } => "demonstrate",
            Incoming::Reset { .. } => "reset",
            Incoming::Step { .. } => "step",
            Incoming::Answer { .. } => "answer",
            Incoming::Action { .. } => "action",
            Incoming::Error { .. } => "error",
        }
    }
}

/// An action index below `actions`, or `None` (not a non-negative integer, or out of range).
pub fn action_index(v: &Value, actions: usize) -> Option<usize> {
    v.as_u64().and_then(|a| usize::try_from(a).ok()).filter(|&a| a < actions)
}

/// A flat vector of finite numbers from a JSON array (nested arrays are flattened row by row); `None` for anything
/// else, including `null` entries (what a client sends for NaN).
pub fn numbers(v: &Value) -> Option<Vec<f32>> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<f32>) -> Option<()> {
        match v {
            Value::Array(items) => items.iter().try_for_each(|x| walk(x, out)),
            Value::Number(n) => {
                let x = n.as_f64()? as f32;
                x.is_finite().then(|| out.push(x))
            }
            _ => None,
        }
    }
    match v {
        Value::Array(_) => walk(v, &mut out).map(|_| out),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_parse_by_type_and_ignore_extra_fields() {
        let m: Incoming =
            serde_json::from_value(json!({"type": "hello", "name": "nn", "version": "1", "x": 2})).unwrap();
        assert_eq!(m, Incoming::Hello { name: "nn".into(), version: "1".into(), protocol: None });
        let m: Incoming = serde_json::from_value(json!({"type": "answer", "id": 3, "answer": null})).unwrap();
        assert_eq!(m, Incoming::Answer { id: 3, answer: None, output: None });
        assert!(serde_json::from_value::<Incoming>(json!({"type": "shout"})).is_err());
        assert!(serde_json::from_value::<Incoming>(json!({"type": "answer"})).is_err());
    }

    #[test]
    fn numbers_and_actions_refuse_what_is_not_there() {
        assert_eq!(numbers(&json!([[1, 2], [3.5]])), Some(vec![1.0, 2.0, 3.5]));
        assert_eq!(numbers(&json!([1, null])), None);
        assert_eq!(numbers(&json!([1, "2"])), None);
        assert_eq!(numbers(&json!([1e300])), None);
        assert_eq!(numbers(&json!(3)), None);
        assert_eq!(action_index(&json!(2), 5), Some(2));
        for bad in [json!(5), json!(-1), json!(1.5), json!("1"), json!(null)] {
            assert_eq!(action_index(&bad, 5), None, "{bad}");
        }
    }
}
