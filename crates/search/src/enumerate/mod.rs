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

mod bank;
mod engine;
mod grammar;
mod table;

use bank::Entry;
pub use bank::{Bank, Expr, Found};
pub use engine::enumerate;
pub use grammar::{Cap, Caps, Control, Grammar, Production, SearchStats, Terminal, MAX_ARITY};
use table::{finish, mix, type_hash, Table};

#[cfg(test)]
mod tests;
