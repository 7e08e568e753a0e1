//! The formula language: trials, the real operators, their evaluation and the enumeration grammar.

use crate::enumerate::{Expr, Grammar, Production, Terminal};
use driftbench_core::VecExample;
use driftbench_tasks::rocket::RocketInstance;

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
pub(super) fn quantise(x: f64) -> u64 {
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
