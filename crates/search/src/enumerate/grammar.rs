//! What a grammar gives the enumerator: terminals, productions, caps, control and the search statistics.

use std::fmt::Debug;
use std::hash::Hash;

/// Most arguments a production may take.
pub const MAX_ARITY: usize = 3;

/// A program of size 1, given with its behaviour on the probe inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Terminal<Op, Ty, V> {
    /// The operator (with no arguments).
    pub op: Op,
    /// Its type.
    pub ty: Ty,
    /// Its value on each probe input ([`Grammar::width`] values).
    pub behaviour: Vec<V>,
}

/// A typed production `op(args…) → result`.
#[derive(Debug, Clone, PartialEq)]
pub struct Production<Op, Ty> {
    /// The operator.
    pub op: Op,
    /// Argument types, 1 to [`MAX_ARITY`] of them.
    pub args: Vec<Ty>,
    /// Result type.
    pub result: Ty,
    /// `op(a, b) = op(b, a)` for two arguments of one type: only one order is built.
    pub commutative: bool,
}

/// A typed DSL that [`enumerate`] can search.
pub trait Grammar {
    /// A type of the DSL (e.g. integer, list, real).
    type Ty: Copy + Eq + Ord + Hash + Debug;
    /// An operator, terminals included.
    type Op: Copy + Debug;
    /// A value on one probe input.
    type Value: Clone;

    /// Number of probe inputs: the length of every behaviour.
    fn width(&self) -> usize;
    /// The size-1 programs, in enumeration order.
    fn terminals(&self) -> Vec<Terminal<Self::Op, Self::Ty, Self::Value>>;
    /// The productions, in enumeration order.
    fn productions(&self) -> Vec<Production<Self::Op, Self::Ty>>;
    /// Pushes the behaviour of `op` applied to programs with behaviours `args` onto `out` ([`Grammar::width`]
    /// values), or returns `false` to discard the program (e.g. a non-finite result, or an error on every probe).
    fn apply(&self, op: Self::Op, args: &[&[Self::Value]], out: &mut Vec<Self::Value>) -> bool;
    /// Hash of one value; values that are [`Grammar::same_value`] must hash alike.
    fn hash_value(&self, v: &Self::Value) -> u64;
    /// Whether two values count as the same behaviour.
    fn same_value(&self, a: &Self::Value, b: &Self::Value) -> bool;
    /// Heap bytes a value owns beyond its inline size (for the memory cap); 0 by default.
    fn heap_bytes(&self, _v: &Self::Value) -> usize {
        0
    }
    /// Readable form of `op` applied to already shown arguments.
    fn show(&self, op: Self::Op, args: &[String]) -> String;
}

/// Hard limits on one search. Reaching any of them stops the search; what was kept until then stays usable.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Caps {
    /// Largest program size (nodes) enumerated.
    pub max_size: usize,
    /// Most programs kept in the bank.
    pub max_programs: usize,
    /// Most bytes the bank may hold (estimated by formula: entries, values, hashes and the hash table).
    pub max_bytes: usize,
    /// Most candidate programs enumerated (offered for keeping, whether kept or not): a bound on work that, unlike a
    /// wall-clock limit, stops at the same program on every machine.
    pub max_candidates: u64,
}

impl Default for Caps {
    /// Size 9, 4 million programs, 1 GiB, 100 million candidates.
    fn default() -> Self {
        Caps { max_size: 9, max_programs: 4_000_000, max_bytes: 1 << 30, max_candidates: 100_000_000 }
    }
}

/// Which cap ended a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cap {
    /// Every size up to [`Caps::max_size`] was enumerated.
    Size,
    /// [`Caps::max_programs`] programs were kept.
    Programs,
    /// [`Caps::max_bytes`] was reached.
    Bytes,
    /// [`Caps::max_candidates`] candidates were enumerated.
    Candidates,
}

impl std::fmt::Display for Cap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cap::Size => "size cap reached",
            Cap::Programs => "program-count cap reached",
            Cap::Bytes => "memory cap reached",
            Cap::Candidates => "candidate cap reached",
        })
    }
}

/// What the visitor of [`enumerate`] wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep going.
    Continue,
    /// Finish the current size (so that every program of this size is seen), then stop.
    FinishSize,
    /// Stop at once.
    Stop,
}

/// Figures of one search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchStats {
    /// Candidate programs built and evaluated on the probes (before pruning).
    pub enumerated: u64,
    /// Programs kept: distinct behaviours.
    pub kept: u64,
    /// Largest size whose enumeration was completed.
    pub size_completed: usize,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Estimated peak bytes of the bank.
    pub peak_bytes: u64,
    /// The cap that ended the search, if one did (`None` when the visitor stopped it).
    pub cap_hit: Option<Cap>,
}
