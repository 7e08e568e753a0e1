//! Unit tests of the enumerator on small arithmetic and list grammars.

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
        vec![p(Op::Neg, 1, false), p(Op::Add, 2, true), p(Op::Sub, 2, false), p(Op::Mul, 2, true), p(Op::If, 3, false)]
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
    let (bank, stats) = enumerate(&g, &Caps { max_size: 9, max_bytes: 0, ..Caps::default() }, |_| Control::Continue);
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
    let (bank, stats) = enumerate(&g, &Caps::default(), |f| if f.id == 4 { Control::Stop } else { Control::Continue });
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
