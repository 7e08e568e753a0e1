//! Bottom-up enumeration of typed programs by size, with observational-equivalence pruning and hard caps.
//!
//! A [`Grammar`] names its terminals (size-1 programs, given with their behaviour), its typed productions and how
//! an operator maps argument behaviours to a result behaviour. A program's *behaviour* is its value on each of a
//! fixed list of probe inputs (a vector of [`Grammar::width`] values). [`enumerate`] builds every program of size
//! 1, 2, 3, ... (size = number of nodes) out of programs already kept, and keeps a new program only if no kept
//! program of the same type has the same behaviour (observational equivalence, as in TF-Coder's value-based
//! pruning). Among equivalent programs the first enumerated is kept, so the bank holds, for each distinct
//! behaviour, one of the smallest programs that has it.
//!
//! The order of enumeration is fixed (sizes ascending, productions in the grammar's order, argument sizes and then
//! argument ids ascending), and the hash table is used for membership only, so a search is deterministic. Every cap
//! counts work, never time: the candidate cap counts candidates offered, and the memory cap counts stored programs
//! and their values by formula (not by asking the allocator), so a search stops at the same program on every
//! machine, however fast.
//!
//! ```
//! use driftbench_search::enumerate::{enumerate, Caps, Control, Grammar, Production, Terminal};
//!
//! /// Integer arithmetic over one variable `n`, probed at n = 0, 1, 2, 5.
//! struct Arith;
//! #[derive(Debug, Clone, Copy, PartialEq)]
//! enum Op { N, One, Add, Mul }
//! impl Grammar for Arith {
//!     type Ty = ();
//!     type Op = Op;
//!     type Value = i64;
//!     fn width(&self) -> usize { 4 }
//!     fn terminals(&self) -> Vec<Terminal<Op, (), i64>> {
//!         vec![Terminal { op: Op::N, ty: (), behaviour: vec![0, 1, 2, 5] },
//!              Terminal { op: Op::One, ty: (), behaviour: vec![1; 4] }]
//!     }
//!     fn productions(&self) -> Vec<Production<Op, ()>> {
//!         vec![Production { op: Op::Add, args: vec![(), ()], result: (), commutative: true },
//!              Production { op: Op::Mul, args: vec![(), ()], result: (), commutative: true }]
//!     }
//!     fn apply(&self, op: Op, args: &[&[i64]], out: &mut Vec<i64>) -> bool {
//!         let f = |a: i64, b: i64| if op == Op::Add { a.checked_add(b) } else { a.checked_mul(b) };
//!         for i in 0..4 {
//!             match f(args[0][i], args[1][i]) { Some(v) => out.push(v), None => return false }
//!         }
//!         true
//!     }
//!     fn hash_value(&self, v: &i64) -> u64 { *v as u64 }
//!     fn same_value(&self, a: &i64, b: &i64) -> bool { a == b }
//!     fn show(&self, op: Op, args: &[String]) -> String {
//!         match op { Op::N => "n".into(), Op::One => "1".into(),
//!                    Op::Add => format!("({} + {})", args[0], args[1]),
//!                    Op::Mul => format!("({} * {})", args[0], args[1]) }
//!     }
//! }
//!
//! let caps = Caps { max_size: 3, ..Caps::default() };
//! let (bank, stats) = enumerate(&Arith, &caps, |_| Control::Continue);
//! // n, 1, n+n, n+1, n*n, 1+1 (n*1 = n and 1*1 = 1 are pruned as equivalent).
//! assert_eq!(bank.len(), 6);
//! assert_eq!(stats.enumerated, 8);
//! assert_eq!(bank.show(&Arith, 2), "(n + n)");
//! ```
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Instant;

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

/// A stored program: its operator and the ids of its arguments.
#[derive(Debug, Clone, Copy)]
struct Entry<Op, Ty> {
    op: Op,
    ty: Ty,
    size: u16,
    arity: u8,
    args: [u32; MAX_ARITY],
}

/// A program tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr<Op> {
    /// The operator at the root.
    pub op: Op,
    /// Its arguments.
    pub args: Vec<Expr<Op>>,
}

impl<Op: Copy> Expr<Op> {
    /// A leaf.
    pub fn leaf(op: Op) -> Self {
        Expr { op, args: Vec::new() }
    }

    /// An operator applied to arguments.
    pub fn node(op: Op, args: Vec<Expr<Op>>) -> Self {
        Expr { op, args }
    }

    /// Number of nodes.
    pub fn size(&self) -> usize {
        1 + self.args.iter().map(Expr::size).sum::<usize>()
    }

    /// Readable form under `grammar`.
    pub fn show<G: Grammar<Op = Op>>(&self, grammar: &G) -> String {
        let args: Vec<String> = self.args.iter().map(|a| a.show(grammar)).collect();
        grammar.show(self.op, &args)
    }
}

fn build<Op: Copy, Ty>(entries: &[Entry<Op, Ty>], id: u32) -> Expr<Op> {
    let e = &entries[id as usize];
    Expr { op: e.op, args: e.args[..e.arity as usize].iter().map(|&a| build(entries, a)).collect() }
}

/// A program that has just been kept, as the visitor of [`enumerate`] sees it.
pub struct Found<'a, G: Grammar> {
    /// Its id in the bank.
    pub id: u32,
    /// Its type.
    pub ty: G::Ty,
    /// Its size.
    pub size: usize,
    /// Its behaviour on the probes.
    pub behaviour: &'a [G::Value],
    entries: &'a [Entry<G::Op, G::Ty>],
}

impl<G: Grammar> Found<'_, G> {
    /// The program as a tree.
    pub fn expr(&self) -> Expr<G::Op> {
        build(self.entries, self.id)
    }
}

/// The kept programs of a search, one per distinct behaviour, in enumeration order (ids 0, 1, 2, …).
pub struct Bank<G: Grammar> {
    width: usize,
    entries: Vec<Entry<G::Op, G::Ty>>,
    values: Vec<G::Value>,
    by_type_size: BTreeMap<(G::Ty, usize), Vec<u32>>,
}

impl<G: Grammar> Bank<G> {
    /// Number of kept programs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Type of program `id`.
    pub fn ty(&self, id: u32) -> G::Ty {
        self.entries[id as usize].ty
    }

    /// Size of program `id`.
    pub fn size(&self, id: u32) -> usize {
        self.entries[id as usize].size as usize
    }

    /// Behaviour of program `id` on the probes.
    pub fn behaviour(&self, id: u32) -> &[G::Value] {
        let i = id as usize * self.width;
        &self.values[i..i + self.width]
    }

    /// Program `id` as a tree.
    pub fn expr(&self, id: u32) -> Expr<G::Op> {
        build(&self.entries, id)
    }

    /// Readable form of program `id`.
    pub fn show(&self, grammar: &G, id: u32) -> String {
        self.expr(id).show(grammar)
    }

    /// Ids of the kept programs of one type and size, ascending.
    pub fn ids(&self, ty: G::Ty, size: usize) -> &[u32] {
        self.by_type_size.get(&(ty, size)).map_or(&[], |v| v.as_slice())
    }
}

/// Open-addressing set of program ids, keyed by behaviour hash; equality is decided by the grammar.
struct Table {
    slots: Vec<u32>,
}

const EMPTY: u32 = u32::MAX;

impl Table {
    fn new() -> Self {
        Table { slots: vec![EMPTY; 1024] }
    }

    /// The matching id, or the free slot where a new one goes.
    fn find(&self, hash: u64, mut same: impl FnMut(u32) -> bool) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        loop {
            match self.slots[i] {
                EMPTY => return Err(i),
                id if same(id) => return Ok(id),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The free slot where an id with this hash goes.
    fn free_slot(&self, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        while self.slots[i] != EMPTY {
            i = (i + 1) & mask;
        }
        i
    }

    /// Doubles the table when it would become more than half full after one more insertion.
    fn grow_if_needed(&mut self, len: usize, hashes: &[u64]) {
        if 2 * (len + 1) <= self.slots.len() {
            return;
        }
        let mut slots = vec![EMPTY; self.slots.len() * 2];
        let mask = slots.len() - 1;
        for &id in self.slots.iter().filter(|&&s| s != EMPTY) {
            let mut i = (hashes[id as usize] as usize) & mask;
            while slots[i] != EMPTY {
                i = (i + 1) & mask;
            }
            slots[i] = id;
        }
        self.slots = slots;
    }
}

fn mix(h: u64, x: u64) -> u64 {
    // A 64-bit multiply-rotate mix (FxHash-like with a final avalanche in `finish`).
    (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

fn type_hash<T: Hash>(t: &T) -> u64 {
    use std::hash::Hasher;
    // `DefaultHasher::new()` has fixed keys; the hash is only used for membership, never for order.
    let mut s = std::hash::DefaultHasher::new();
    t.hash(&mut s);
    s.finish()
}

/// The search state while one size is being enumerated.
struct State<'g, G: Grammar> {
    g: &'g G,
    caps: Caps,
    start: Instant,
    width: usize,
    entries: Vec<Entry<G::Op, G::Ty>>,
    hashes: Vec<u64>,
    table: Table,
    type_hashes: BTreeMap<G::Ty, u64>,
    /// Values of programs of the current size (committed to the bank when the size is done).
    staging: Vec<G::Value>,
    staged: Vec<(G::Ty, u32)>,
    heap_bytes: usize,
    stats: SearchStats,
    finish_size: bool,
}

impl<G: Grammar> State<'_, G> {
    fn bytes(&self, committed_values: usize) -> usize {
        let entry = std::mem::size_of::<Entry<G::Op, G::Ty>>() + 8 + 4; // entry, hash, id in its size list
        self.entries.len() * entry
            + self.table.slots.len() * 4
            + (committed_values + self.staging.len()) * std::mem::size_of::<G::Value>()
            + self.heap_bytes
    }

    /// Offers a candidate whose behaviour is in `scratch`; returns what the search should do next.
    fn offer(
        &mut self,
        values: &[G::Value],
        scratch: &mut Vec<G::Value>,
        (op, ty, size, args): (G::Op, G::Ty, usize, &[u32]),
        visit: &mut impl FnMut(&Found<'_, G>) -> Control,
    ) -> Control {
        let w = self.width;
        let g = self.g;
        let mut h = *self.type_hashes.entry(ty).or_insert_with(|| type_hash(&ty));
        for v in scratch.iter() {
            h = mix(h, g.hash_value(v));
        }
        let h = finish(h);
        let committed = values.len() / w.max(1);
        let (entries, staging) = (&self.entries, &self.staging);
        let found = self.table.find(h, |id| {
            let e = &entries[id as usize];
            if e.ty != ty || self.hashes[id as usize] != h {
                return false;
            }
            let other = if (id as usize) < committed {
                &values[id as usize * w..(id as usize + 1) * w]
            } else {
                let i = (id as usize - committed) * w;
                &staging[i..i + w]
            };
            other.iter().zip(scratch.iter()).all(|(a, b)| g.same_value(a, b))
        });
        let Err(mut slot) = found else {
            return Control::Continue;
        };
        let extra: usize = scratch.iter().map(|v| g.heap_bytes(v)).sum();
        let entry = std::mem::size_of::<Entry<G::Op, G::Ty>>() + 8 + 4 + w * std::mem::size_of::<G::Value>();
        if self.entries.len() >= self.caps.max_programs {
            self.stats.cap_hit = Some(Cap::Programs);
            return Control::Stop;
        }
        if self.bytes(values.len()) + entry + extra > self.caps.max_bytes {
            self.stats.cap_hit = Some(Cap::Bytes);
            return Control::Stop;
        }
        let id = self.entries.len() as u32;
        let mut arg_ids = [0u32; MAX_ARITY];
        arg_ids[..args.len()].copy_from_slice(args);
        self.entries.push(Entry { op, ty, size: size as u16, arity: args.len() as u8, args: arg_ids });
        self.hashes.push(h);
        if 2 * (self.entries.len() + 1) > self.table.slots.len() {
            self.table.grow_if_needed(self.entries.len(), &self.hashes);
            slot = self.table.free_slot(h);
        }
        self.table.slots[slot] = id;
        self.heap_bytes += extra;
        let start = self.staging.len();
        self.staging.append(scratch);
        self.staged.push((ty, id));
        self.stats.kept += 1;
        self.stats.peak_bytes = self.stats.peak_bytes.max(self.bytes(values.len()) as u64);
        let found = Found { id, ty, size, behaviour: &self.staging[start..], entries: &self.entries };
        match visit(&found) {
            Control::FinishSize => {
                self.finish_size = true;
                Control::Continue
            }
            c => c,
        }
    }

    /// Counts one candidate; stops once [`Caps::max_candidates`] have been counted.
    fn tick(&mut self) -> Control {
        if self.stats.enumerated >= self.caps.max_candidates {
            self.stats.cap_hit = Some(Cap::Candidates);
            return Control::Stop;
        }
        self.stats.enumerated += 1;
        Control::Continue
    }
}

/// All ways to write `total` as an ordered sum of `parts` positive integers.
fn compositions(total: usize, parts: usize) -> Vec<Vec<usize>> {
    if parts == 0 {
        return if total == 0 { vec![Vec::new()] } else { Vec::new() };
    }
    let mut out = Vec::new();
    for first in 1..=total.saturating_sub(parts - 1) {
        for mut rest in compositions(total - first, parts - 1) {
            rest.insert(0, first);
            out.push(rest);
        }
    }
    out
}

/// Enumerates the programs of `grammar` bottom-up by size under `caps`, keeping one per distinct behaviour, and
/// calls `visit` on each program as it is kept. Returns the bank of kept programs and the search figures.
///
/// Productions with more than [`MAX_ARITY`] arguments, or none, are ignored (terminals come from
/// [`Grammar::terminals`]). Terminals whose behaviour has the wrong length are skipped.
pub fn enumerate<G: Grammar>(
    grammar: &G,
    caps: &Caps,
    mut visit: impl FnMut(&Found<'_, G>) -> Control,
) -> (Bank<G>, SearchStats) {
    let width = grammar.width();
    let mut st = State {
        g: grammar,
        caps: *caps,
        start: Instant::now(),
        width,
        entries: Vec::new(),
        hashes: Vec::new(),
        table: Table::new(),
        type_hashes: BTreeMap::new(),
        staging: Vec::new(),
        staged: Vec::new(),
        heap_bytes: 0,
        stats: SearchStats::default(),
        finish_size: false,
    };
    let mut values: Vec<G::Value> = Vec::new();
    let mut by_type_size: BTreeMap<(G::Ty, usize), Vec<u32>> = BTreeMap::new();
    let productions: Vec<_> =
        grammar.productions().into_iter().filter(|p| (1..=MAX_ARITY).contains(&p.args.len())).collect();
    let mut scratch: Vec<G::Value> = Vec::with_capacity(width);
    let mut stopped = false;
    'sizes: for size in 1..=caps.max_size.min(u16::MAX as usize) {
        if size == 1 {
            for t in grammar.terminals() {
                if t.behaviour.len() != width {
                    continue;
                }
                if st.tick() == Control::Stop {
                    stopped = true;
                    break;
                }
                scratch.clear();
                scratch.extend(t.behaviour);
                if st.offer(&values, &mut scratch, (t.op, t.ty, 1, &[]), &mut visit) == Control::Stop {
                    stopped = true;
                    break;
                }
            }
        } else {
            for p in &productions {
                let k = p.args.len();
                for split in compositions(size - 1, k) {
                    // Commutative: of two same-typed arguments, the first is never larger than the second.
                    let symmetric = p.commutative && k == 2 && p.args[0] == p.args[1];
                    if symmetric && split[0] > split[1] {
                        continue;
                    }
                    let lists: Vec<&[u32]> = (0..k)
                        .map(|i| by_type_size.get(&(p.args[i], split[i])).map_or(&[][..], |v: &Vec<u32>| &v[..]))
                        .collect();
                    if lists.iter().any(|l| l.is_empty()) {
                        continue;
                    }
                    let mut idx = [0usize; MAX_ARITY];
                    loop {
                        let ids: [u32; MAX_ARITY] = std::array::from_fn(|i| if i < k { lists[i][idx[i]] } else { 0 });
                        if !(symmetric && split[0] == split[1] && ids[0] > ids[1]) {
                            if st.tick() == Control::Stop {
                                stopped = true;
                                break 'sizes;
                            }
                            let args: Vec<&[G::Value]> = ids[..k]
                                .iter()
                                .map(|&a| &values[a as usize * width..(a as usize + 1) * width])
                                .collect();
                            scratch.clear();
                            if grammar.apply(p.op, &args, &mut scratch)
                                && scratch.len() == width
                                && st.offer(&values, &mut scratch, (p.op, p.result, size, &ids[..k]), &mut visit)
                                    == Control::Stop
                            {
                                stopped = true;
                                break 'sizes;
                            }
                        }
                        // Advance the odometer, last argument fastest.
                        let mut i = k;
                        let done = loop {
                            if i == 0 {
                                break true;
                            }
                            i -= 1;
                            idx[i] += 1;
                            if idx[i] < lists[i].len() {
                                break false;
                            }
                            idx[i] = 0;
                        };
                        if done {
                            break;
                        }
                    }
                }
            }
        }
        // Commit the programs of this size.
        values.append(&mut st.staging);
        for (ty, id) in st.staged.drain(..) {
            by_type_size.entry((ty, size)).or_default().push(id);
        }
        if stopped {
            break;
        }
        st.stats.size_completed = size;
        if st.finish_size {
            break;
        }
    }
    values.append(&mut st.staging);
    for (ty, id) in st.staged.drain(..) {
        let size = st.entries[id as usize].size as usize;
        by_type_size.entry((ty, size)).or_default().push(id);
    }
    if !stopped && !st.finish_size && st.stats.cap_hit.is_none() {
        st.stats.cap_hit = Some(Cap::Size);
    }
    st.stats.seconds = st.start.elapsed().as_secs_f64();
    let bank = Bank { width, entries: st.entries, values, by_type_size };
    (bank, st.stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Integer arithmetic over `n` probed at a few points; `Neg` is unary so every size occurs.
    struct Arith {
        probes: Vec<i64>,
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Op {
        N,
        One,
        Neg,
        Add,
        Sub,
        Mul,
        If,
    }

    impl Grammar for Arith {
        type Ty = ();
        type Op = Op;
        type Value = i64;
        fn width(&self) -> usize {
            self.probes.len()
        }
        fn terminals(&self) -> Vec<Terminal<Op, (), i64>> {
            vec![
                Terminal { op: Op::N, ty: (), behaviour: self.probes.clone() },
                Terminal { op: Op::One, ty: (), behaviour: vec![1; self.probes.len()] },
            ]
        }
        fn productions(&self) -> Vec<Production<Op, ()>> {
            let p = |op, k, commutative| Production { op, args: vec![(); k], result: (), commutative };
            vec![
                p(Op::Neg, 1, false),
                p(Op::Add, 2, true),
                p(Op::Sub, 2, false),
                p(Op::Mul, 2, true),
                p(Op::If, 3, false),
            ]
        }
        fn apply(&self, op: Op, args: &[&[i64]], out: &mut Vec<i64>) -> bool {
            let value = |i: usize| {
                let a = |j: usize| args[j][i];
                match op {
                    Op::Neg => a(0).checked_neg(),
                    Op::Add => a(0).checked_add(a(1)),
                    Op::Sub => a(0).checked_sub(a(1)),
                    Op::Mul => a(0).checked_mul(a(1)),
                    Op::If => Some(if a(0) > 0 { a(1) } else { a(2) }),
                    Op::N | Op::One => None,
                }
            };
            for v in (0..self.probes.len()).map(value) {
                match v {
                    Some(v) => out.push(v),
                    None => return false,
                }
            }
            true
        }
        fn hash_value(&self, v: &i64) -> u64 {
            *v as u64
        }
        fn same_value(&self, a: &i64, b: &i64) -> bool {
            a == b
        }
        fn show(&self, op: Op, a: &[String]) -> String {
            match op {
                Op::N => "n".into(),
                Op::One => "1".into(),
                Op::Neg => format!("-{}", a[0]),
                Op::Add => format!("({} + {})", a[0], a[1]),
                Op::Sub => format!("({} - {})", a[0], a[1]),
                Op::Mul => format!("({} * {})", a[0], a[1]),
                Op::If => format!("(if {} > 0 then {} else {})", a[0], a[1], a[2]),
            }
        }
    }

    fn arith() -> Arith {
        Arith { probes: vec![-3, 0, 1, 2, 7] }
    }

    #[test]
    fn equivalent_programs_are_merged_and_distinct_ones_kept() {
        let g = arith();
        let (bank, stats) = enumerate(&g, &Caps { max_size: 3, ..Caps::default() }, |_| Control::Continue);
        let shown: Vec<String> = (0..bank.len() as u32).map(|id| bank.show(&g, id)).collect();
        // Size 2: -n, -1. Size 3: n+n, n+1, 1+1, n-1, 1-n, n*n; n-n is 0 (new), but n*1 = n, 1*1 = 1, 1-1 = 0,
        // and - - n = n are pruned.
        assert!(shown.contains(&"-n".to_string()) && shown.contains(&"-1".to_string()), "{shown:?}");
        assert!(shown.contains(&"(n + n)".to_string()) && shown.contains(&"(n * n)".to_string()), "{shown:?}");
        assert!(!shown.iter().any(|s| s == "(n * 1)" || s == "(1 * 1)" || s == "--n"), "{shown:?}");
        // n - n is the first program that is 0 everywhere; 1 - 1 is the same behaviour and was dropped.
        assert!(shown.contains(&"(n - n)".to_string()) && !shown.contains(&"(1 - 1)".to_string()), "{shown:?}");
        // Every kept behaviour is distinct.
        for a in 0..bank.len() as u32 {
            for b in a + 1..bank.len() as u32 {
                assert_ne!(bank.behaviour(a), bank.behaviour(b), "{} vs {}", shown[a as usize], shown[b as usize]);
            }
        }
        assert_eq!(stats.kept as usize, bank.len());
        assert!(stats.enumerated > stats.kept);
        assert_eq!(stats.cap_hit, Some(Cap::Size));
        assert_eq!(stats.size_completed, 3);
        // Commutative productions are built in one order only: n + 1 is kept, and 1 + n was never built.
        assert!(!shown.contains(&"(1 + n)".to_string()));
    }

    #[test]
    fn probes_decide_what_counts_as_equivalent() {
        // On the single probe n = 1, n and 1 behave alike: n*n, n+n and 1+1 collapse too.
        let g = Arith { probes: vec![1] };
        let (bank, _) = enumerate(&g, &Caps { max_size: 3, ..Caps::default() }, |_| Control::Continue);
        let shown: Vec<String> = (0..bank.len() as u32).map(|id| bank.show(&g, id)).collect();
        assert_eq!(shown[0], "n");
        assert!(!shown.contains(&"1".to_string()), "{shown:?}");
        // Values: 1, -1, 2, 0 and nothing else at size <= 3.
        assert_eq!(bank.len(), 4, "{shown:?}");
    }

    #[test]
    fn three_argument_productions_and_trees_round_trip() {
        let g = arith();
        let (bank, _) = enumerate(&g, &Caps { max_size: 4, ..Caps::default() }, |_| Control::Continue);
        let id = (0..bank.len() as u32).find(|&id| matches!(bank.expr(id).op, Op::If)).expect("an if at size 4");
        let e = bank.expr(id);
        assert_eq!(e.size(), bank.size(id));
        assert_eq!(e.args.len(), 3);
        assert_eq!(e.show(&g), bank.show(&g, id));
        assert!(bank.ids((), 4).iter().all(|&i| bank.size(i) == 4));
    }

    #[test]
    fn caps_stop_the_search_without_losing_what_was_kept() {
        let g = arith();
        let (bank, stats) =
            enumerate(&g, &Caps { max_size: 9, max_programs: 10, ..Caps::default() }, |_| Control::Continue);
        assert_eq!(bank.len(), 10);
        assert_eq!(stats.cap_hit, Some(Cap::Programs));
        let (bank, stats) =
            enumerate(&g, &Caps { max_size: 9, max_bytes: 0, ..Caps::default() }, |_| Control::Continue);
        assert!(bank.is_empty());
        assert_eq!(stats.cap_hit, Some(Cap::Bytes));
        // The candidate cap counts work, so it stops at the same program on every run and every machine.
        let capped = Caps { max_size: 9, max_candidates: 500, ..Caps::default() };
        let (bank, stats) = enumerate(&g, &capped, |_| Control::Continue);
        assert_eq!((stats.enumerated, stats.cap_hit), (500, Some(Cap::Candidates)));
        assert!(!bank.is_empty() && bank.len() <= 500);
        let (again, stats_again) = enumerate(&g, &capped, |_| Control::Continue);
        assert_eq!((again.len(), stats_again.enumerated, stats_again.kept), (bank.len(), 500, stats.kept));
        let (bank, stats) = enumerate(&g, &Caps { max_size: 0, ..Caps::default() }, |_| Control::Continue);
        assert!(bank.is_empty());
        assert_eq!(stats.cap_hit, Some(Cap::Size));
    }

    #[test]
    fn the_visitor_can_finish_the_size_or_stop() {
        let g = arith();
        let mut seen = Vec::new();
        let (_, stats) = enumerate(&g, &Caps::default(), |f| {
            seen.push(f.size);
            if f.expr().show(&g) == "(n * n)" {
                Control::FinishSize
            } else {
                Control::Continue
            }
        });
        assert_eq!(stats.size_completed, 3);
        assert_eq!(stats.cap_hit, None);
        assert_eq!(*seen.iter().max().unwrap(), 3);
        let (bank, stats) =
            enumerate(&g, &Caps::default(), |f| if f.id == 4 { Control::Stop } else { Control::Continue });
        assert_eq!(bank.len(), 5);
        assert_eq!(stats.cap_hit, None);
    }

    #[test]
    fn searches_are_deterministic() {
        let g = arith();
        let run = || {
            let (bank, stats) = enumerate(&g, &Caps { max_size: 6, ..Caps::default() }, |_| Control::Continue);
            ((0..bank.len() as u32).map(|id| bank.show(&g, id)).collect::<Vec<_>>(), stats.enumerated, stats.kept)
        };
        assert_eq!(run(), run());
    }
}
