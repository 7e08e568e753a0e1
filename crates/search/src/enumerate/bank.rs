//! Found expressions: the entry table, expression trees and the bank of distinct behaviours.

use super::{Grammar, MAX_ARITY};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// A stored program: its operator and the ids of its arguments.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry<Op, Ty> {
    pub(super) op: Op,
    pub(super) ty: Ty,
    pub(super) size: u16,
    pub(super) arity: u8,
    pub(super) args: [u32; MAX_ARITY],
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
    pub(super) entries: &'a [Entry<G::Op, G::Ty>],
}

impl<G: Grammar> Found<'_, G> {
    /// The program as a tree.
    pub fn expr(&self) -> Expr<G::Op> {
        build(self.entries, self.id)
    }
}

/// The kept programs of a search, one per distinct behaviour, in enumeration order (ids 0, 1, 2, …).
pub struct Bank<G: Grammar> {
    pub(super) width: usize,
    pub(super) entries: Vec<Entry<G::Op, G::Ty>>,
    pub(super) values: Vec<G::Value>,
    pub(super) by_type_size: BTreeMap<(G::Ty, usize), Vec<u32>>,
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
