//! The predicate language: atoms of a state, conjunctions, decision-list programs and their text form.

use super::{ATOMS_BFS, ATOMS_NO_BFS, DIRS};
use driftbench_tasks::navigation::{Action, City, WINDOW};
use std::fmt;
use std::hash::Hash;

/// One atom of the agent's state; its bit in a state mask is [`Atom::bit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Atom {
    /// The neighbour in this direction is a street.
    Free(Action),
    /// A car is on the neighbour now.
    CarNow(Action),
    /// A car ends the coming tick on the neighbour, or passes through it (`Wait`: the agent's own cell).
    CarNext(Action),
    /// The goal lies in this direction (sign of the goal offset).
    Goal(Action),
    /// Moving this way decreases the street distance to the goal.
    BfsCloser(Action),
}

impl Atom {
    /// Every atom in bit order; the BFS atoms come last so that the ablation is a prefix.
    pub fn all(bfs: bool) -> Vec<Atom> {
        let mut v: Vec<Atom> = DIRS.iter().map(|&d| Atom::Free(d)).collect();
        v.extend(DIRS.iter().map(|&d| Atom::CarNow(d)));
        v.extend(DIRS.iter().chain(&[Action::Wait]).map(|&d| Atom::CarNext(d)));
        v.extend(DIRS.iter().map(|&d| Atom::Goal(d)));
        if bfs {
            v.extend(DIRS.iter().map(|&d| Atom::BfsCloser(d)));
        }
        v
    }

    /// Number of atoms in the language.
    pub fn count(bfs: bool) -> usize {
        if bfs {
            ATOMS_BFS
        } else {
            ATOMS_NO_BFS
        }
    }

    /// The atom's bit in a state mask.
    pub fn bit(self) -> u32 {
        let dir = |d: Action| d.index() as u32;
        1 << match self {
            Atom::Free(d) => dir(d),
            Atom::CarNow(d) => 4 + dir(d),
            Atom::CarNext(d) => 8 + dir(d),
            Atom::Goal(d) => 13 + dir(d),
            Atom::BfsCloser(d) => 17 + dir(d),
        }
    }
}

/// Short name of an action as programs print it.
fn action_name(a: Action) -> &'static str {
    match a {
        Action::North => "N",
        Action::South => "S",
        Action::East => "E",
        Action::West => "W",
        Action::Wait => "wait",
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, d) = match *self {
            Atom::Free(d) => ("free", d),
            Atom::CarNow(d) => ("car_now", d),
            Atom::CarNext(d) => ("car_next", d),
            Atom::Goal(d) => ("goal", d),
            Atom::BfsCloser(d) => ("bfs_closer", d),
        };
        let d = if d == Action::Wait { "here" } else { action_name(d) };
        write!(f, "{name}({d})")
    }
}

/// A conjunction of literals: the atoms in `pos` hold and those in `neg` do not. The empty conjunction is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Predicate {
    /// Bits of the atoms that must hold.
    pub pos: u32,
    /// Bits of the atoms that must not hold.
    pub neg: u32,
}

impl Predicate {
    /// Whether the predicate holds in a state with atom mask `state`.
    pub fn eval(self, state: u32) -> bool {
        state & self.pos == self.pos && state & self.neg == 0
    }

    /// Number of literals.
    pub fn literals(self) -> u32 {
        self.pos.count_ones() + self.neg.count_ones()
    }

    /// The conjunction of `self` and one more literal.
    pub(super) fn and(self, atom: Atom, positive: bool) -> Predicate {
        if positive {
            Predicate { pos: self.pos | atom.bit(), neg: self.neg }
        } else {
            Predicate { pos: self.pos, neg: self.neg | atom.bit() }
        }
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for atom in Atom::all(true) {
            let sign = if self.pos & atom.bit() != 0 {
                ""
            } else if self.neg & atom.bit() != 0 {
                "!"
            } else {
                continue;
            };
            if !first {
                f.write_str(" & ")?;
            }
            first = false;
            write!(f, "{sign}{atom}")?;
        }
        if first {
            f.write_str("true")?;
        }
        Ok(())
    }
}

/// A decision list: the first rule whose predicate holds chooses the action, else the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// (predicate, action) rules, tried in order.
    pub rules: Vec<(Predicate, Action)>,
    /// The action when no rule fires.
    pub default: Action,
}

impl Program {
    /// The action in a state with atom mask `state`.
    pub fn act(&self, state: u32) -> Action {
        self.rules.iter().find(|(p, _)| p.eval(state)).map_or(self.default, |&(_, a)| a)
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (p, a)) in self.rules.iter().enumerate() {
            let word = if i == 0 { "if" } else { "elif" };
            write!(f, "{word} {p} then {} ", action_name(*a))?;
        }
        if self.rules.is_empty() {
            write!(f, "always {}", action_name(self.default))
        } else {
            write!(f, "else {}", action_name(self.default))
        }
    }
}

/// The atom mask of the agent's state: on `pos` with observation `obs` (the task's layout), the goal at `goal`, and
/// `to_goal` the street distance of every cell to the goal (row by row, as [`City::distances_from`] returns it), or
/// `None` to leave the BFS atoms unset. An observation of the wrong length reads as one without cars.
pub fn state_atoms(obs: &[f32], city: &City, pos: (i32, i32), goal: (i32, i32), to_goal: Option<&[u32]>) -> u32 {
    let cells = WINDOW * WINDOW;
    let r = (WINDOW / 2) as i32;
    let channel = |c: usize, (dx, dy): (i32, i32)| {
        let i = c * cells + ((dy + r) * WINDOW as i32 + dx + r) as usize;
        obs.get(i).is_some_and(|&v| v > 0.5)
    };
    let dist = |(x, y): (i32, i32)| -> Option<u32> {
        let d = to_goal?;
        city.is_street((x, y)).then(|| d.get((y * city.width() + x) as usize).copied()).flatten()
    };
    let mut m = 0;
    for d in DIRS {
        let delta = d.delta();
        let next = (pos.0 + delta.0, pos.1 + delta.1);
        let goal_there = match d {
            Action::North => goal.1 < pos.1,
            Action::South => goal.1 > pos.1,
            Action::East => goal.0 > pos.0,
            _ => goal.0 < pos.0,
        };
        let closer = matches!((dist(next), dist(pos)), (Some(a), Some(b)) if a < b);
        for (atom, holds) in [
            (Atom::Free(d), city.is_street(next)),
            (Atom::CarNow(d), channel(1, delta)),
            (Atom::CarNext(d), channel(2, delta)),
            (Atom::Goal(d), goal_there),
            (Atom::BfsCloser(d), closer),
        ] {
            if holds {
                m |= atom.bit();
            }
        }
    }
    if channel(2, (0, 0)) {
        m |= Atom::CarNext(Action::Wait).bit();
    }
    m
}
