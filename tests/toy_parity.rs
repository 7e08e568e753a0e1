//! A per-position sequence task that is no permutation (the prefix parities of a bit list), added through the
//! public API: its classes repeat along the sequence, so representability must not be decided through the slots
//! of a permutation. Its level 0 is small (2,044 lists), which shows the other half of a task author's path:
//! what the test sets leave for training, the warning when a training set shrinks, a per-task validation size,
//! and `check` listing every broken task rather than the first.
use driftbench::Entry;
use driftbench_core::bench::{DynTask, TestSource};
use driftbench_core::{
    AxisSpec, Cell, Outcome, Profile, RunRecord, SeqClassShape, SeqExample, SeqTask, SolveInfo, Task,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const MAX_LEN: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bits {
    bits: Vec<u8>,
}

/// `variant` picks a working task or one of two broken ones (for the `check` test).
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    /// Lengths 2-10 at level 0; the default validation size.
    Plain,
    /// The same, with a validation size of its own under the `quick` profile.
    SmallVal,
    /// Declares positions irrelevant, which prefix parity is not: the self-check refuses it.
    Blind,
    /// Lengths 2-5 at level 0: 60 lists, fewer than a test set of 1,000.
    Tiny,
}

struct Parity {
    variant: Variant,
}

static AXES: [AxisSpec; 1] = [AxisSpec {
    name: "length",
    description: "list length",
    levels: ["training: length 2-10", "length 11-12", "length 13-14", "length 15-16", "length 17-20"],
}];

impl Parity {
    fn lengths(&self, cell: Cell) -> std::ops::RangeInclusive<usize> {
        match cell.level {
            0 if self.variant == Variant::Tiny => 2..=5,
            0 => 2..=10,
            1 => 11..=12,
            2 => 13..=14,
            3 => 15..=16,
            _ => 17..=20,
        }
    }
}

impl Task for Parity {
    type Instance = Bits;
    type Answer = Vec<u8>;

    fn id(&self) -> &'static str {
        match self.variant {
            Variant::Plain => "parity-v1",
            Variant::SmallVal => "parity-small-val-v1",
            Variant::Blind => "parity-blind-v1",
            Variant::Tiny => "parity-tiny-v1",
        }
    }
    fn description(&self) -> &'static str {
        "the parity of every prefix of a bit list"
    }
    fn axes(&self) -> &'static [AxisSpec] {
        &AXES
    }
    fn generate(&self, cell: Cell, rng: &mut ChaCha8Rng) -> Bits {
        let n = rng.random_range(self.lengths(cell));
        Bits { bits: (0..n).map(|_| rng.random_range(0..2)).collect() }
    }
    fn validate(&self, b: &Bits) -> Result<(), String> {
        let n = b.bits.len();
        if n == 0 || n > MAX_LEN {
            return Err(format!("bits: length {n} is outside 1..={MAX_LEN}"));
        }
        match b.bits.iter().find(|&&x| x > 1) {
            Some(x) => Err(format!("bits: {x} is no bit")),
            None => Ok(()),
        }
    }
    fn score(&self, b: &Bits, a: &Vec<u8>) -> Outcome {
        let want = self.solve_symbolic(b).0;
        let right = want.iter().zip(a).filter(|(x, y)| x == y).count();
        Outcome::new(*a == want, right as f64 / want.len().max(1) as f64)
    }
    fn metric_name(&self) -> &'static str {
        "per-position accuracy"
    }
    fn solve_symbolic(&self, b: &Bits) -> (Vec<u8>, SolveInfo) {
        let prefix = b.bits.iter().scan(0u8, |p, &x| {
            *p ^= x;
            Some(*p)
        });
        (prefix.collect(), SolveInfo { work: b.bits.len() as u64 })
    }
    fn symbolic_description(&self) -> &'static str {
        "a running exclusive or"
    }
    fn val_examples_by_profile(&self) -> &'static [(&'static str, usize)] {
        match self.variant {
            Variant::SmallVal => &[("quick", 100)],
            _ => &[],
        }
    }
    fn instance_space(&self, cell: Cell) -> Option<u128> {
        Some(self.lengths(cell).map(|n| 1u128 << n).sum())
    }
}

impl SeqTask for Parity {
    fn seq_shape(&self) -> SeqClassShape {
        let positional = self.variant != Variant::Blind;
        SeqClassShape { features: 1, classes: 2, max_len: MAX_LEN, positional, permutation: false }
    }
    fn encode_seq(&self, b: &Bits) -> Option<SeqExample> {
        let targets = self.solve_symbolic(b).0.iter().map(|&p| (u32::from(p), u32::from(p))).collect();
        Some(SeqExample { features: b.bits.iter().map(|&x| f32::from(x)).collect(), targets })
    }
    fn decode_seq(&self, b: &Bits, scores: &[f32]) -> Option<Vec<u8>> {
        if scores.len() != b.bits.len() * 2 {
            return None;
        }
        Some(scores.chunks(2).map(|row| u8::from(row[1] > row[0])).collect())
    }
}

/// The task's registry line.
fn entry(variant: Variant) -> Box<dyn DynTask> {
    Entry::new(Parity { variant }).seq().build()
}

/// One run of `solver` on freshly generated test sets of `per_cell` instances.
fn run(b: &dyn DynTask, solver: &str, profile: &Profile, per_cell: usize) -> RunRecord {
    let prepared = b.prepare(&TestSource::Generated { n: per_cell }, profile).expect("test sets");
    prepared.run(solver, 1, &driftbench::provenance(1), &|_, _| {}).expect("runs")
}

#[test]
fn the_parity_toy_passes_the_self_check_with_the_position_wise_families_only() {
    let b = entry(Variant::Plain);
    b.self_check(3, 60).expect("a non-permutation encoding keeps the sequence contract");
    let names: Vec<&str> = b.solvers().iter().map(|s| s.name).collect();
    assert_eq!(names, ["symbolic", "mlp", "transformer"], "no pointer network or nearest-list for a non-permutation");
}

#[test]
fn representability_of_a_non_permutation_encoding_is_decided_position_by_position() {
    let profile = Profile { train_examples: 500, ..Profile::tiny() };
    for solver in ["mlp", "transformer"] {
        let r = run(entry(Variant::Plain).as_ref(), solver, &profile, 50);
        assert_eq!(
            r.training.val_accuracy_name.as_deref(),
            Some("per-position class accuracy"),
            "the validation column names what the task's classes are"
        );
        for c in &r.cells {
            let rep = c.representability.expect("networks record representability");
            // Every prefix-parity answer is a one-hot output in the accepted classes: never †.
            assert_eq!(rep.expressible, c.n, "{solver} {}-L{}: every answer is expressible", c.axis, c.level);
            let supervised = if c.level == 0 || solver == "transformer" { c.n } else { 0 };
            // Trained on lengths up to 10: the padded MLP's units for positions 11 and beyond never received a
            // target (‡), while the transformer's one shared head saw both classes.
            assert_eq!(rep.supervised, supervised, "{solver} {}-L{}: supervised answers", c.axis, c.level);
        }
    }
}

#[test]
fn a_shrunk_training_set_is_flagged_in_the_record_and_the_report_and_a_task_can_size_its_validation() {
    // The quick profile's sizes, trained for a handful of steps. Level 0 holds 2,044 lists; the test set takes
    // 1,000 and validation 1,000, which leaves 44 lists to be found by the bounded training draw.
    let quick = Profile { train_scale: 0.001, ..Profile::quick() };
    let b = entry(Variant::Plain);
    let r = run(b.as_ref(), "mlp", &driftbench::with_task_sizes(quick.clone(), std::slice::from_ref(&b)), 1000);
    let what = r.training.shrunk_sets().expect("the training set shrank");
    assert!(what.contains("training set") && what.contains("of 100000 requested"), "{what}");
    let out = tempfile::tempdir().unwrap();
    driftbench_report::write(std::slice::from_ref(&r), out.path()).expect("report");
    let page = std::fs::read_to_string(out.path().join("parity-v1.md")).unwrap();
    assert!(page.contains("Warning: some runs trained on less than 90%"), "{page}");
    assert!(page.contains("`mlp` seed 1: training set"), "{page}");

    // With 100 validation lists (the task's own size for `quick`) training gets all it asks for.
    let small = entry(Variant::SmallVal);
    let profile = driftbench::with_task_sizes(quick, std::slice::from_ref(&small));
    assert_eq!(profile.val_examples_for("parity-small-val-v1"), 100);
    let r = run(small.as_ref(), "mlp", &profile, 1000);
    assert_eq!(r.training.shrunk_sets(), None);
}

#[test]
fn check_lists_every_broken_task_and_reports_what_level_0_leaves_for_training() {
    let tasks = [entry(Variant::Plain), entry(Variant::Blind), entry(Variant::Tiny), entry(Variant::SmallVal)];
    let refs: Vec<&dyn DynTask> = tasks.iter().map(|t| t.as_ref()).collect();
    let quick = driftbench::with_task_sizes(Profile::quick(), &tasks);
    let checks = driftbench::check_tasks(&refs, 40, &quick);
    let failed: Vec<&str> = checks.iter().filter(|c| !c.passed()).map(|c| c.id).collect();
    assert_eq!(failed, ["parity-blind-v1", "parity-tiny-v1"], "both broken tasks are listed: {checks:#?}");
    assert!(checks[1].failures.iter().any(|f| f.contains("positional: true")), "{:?}", checks[1].failures);
    let tiny = checks[2].failures.join("\n");
    // The cell, what it drew, and what to change.
    assert!(tiny.contains("cell in-dist-L0 gave only 60 distinct instances"), "{tiny}");
    assert!(tiny.contains("widen what `generate` varies") && tiny.contains("--n"), "{tiny}");
    let l0 = |i: usize| checks[i].notes.iter().find(|n| n.starts_with("in-dist-L0")).cloned().unwrap_or_default();
    assert!(l0(0).contains("2,044 distinct instances") && l0(0).contains("WARNING"), "{}", l0(0));
    assert!(!l0(3).contains("WARNING"), "100 validation lists leave training enough: {}", l0(3));
}
