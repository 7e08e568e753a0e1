//! `rocket-v1` stays what it was when `rocket-v2` came to share its code: its regenerated test sets equal the
//! committed ones byte for byte. And `rocket-v2` passes every check `driftbench check` runs.
use driftbench::{check_tasks, registry, with_task_sizes};
use driftbench_core::dataset::CANONICAL_SEED;
use driftbench_core::Profile;
use std::path::Path;

#[test]
fn regenerated_rocket_v1_test_sets_equal_the_committed_ones() {
    let reg = registry();
    let v1 = reg.iter().find(|t| t.id() == "rocket-v1").expect("rocket-v1 is registered");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/rocket-v1");
    let sets = v1.generate_test_sets(1000, CANONICAL_SEED).unwrap();
    assert_eq!(sets.len(), 17);
    for (cell, lines) in sets {
        let label = cell.label(v1.axes());
        let committed = std::fs::read_to_string(dir.join(format!("{label}.jsonl"))).unwrap();
        let committed: Vec<&str> = committed.lines().collect();
        assert_eq!(committed.len(), lines.len(), "{label}");
        for (k, (a, b)) in committed.iter().zip(&lines).enumerate() {
            assert_eq!(a, b, "{label} line {}", k + 1);
        }
    }
}

#[test]
fn rocket_v2_passes_the_checks() {
    let reg = registry();
    let v2 = reg.iter().find(|t| t.id() == "rocket-v2").expect("rocket-v2 is registered");
    let profile = with_task_sizes(Profile::quick(), &reg);
    let checks = check_tasks(&[v2.as_ref()], 50, &profile);
    assert!(checks[0].passed(), "{:#?}", checks[0]);
    assert!(
        checks[0].notes.iter().any(|n| n.starts_with("axis altitude: drifts `altitude`")),
        "{:#?}",
        checks[0].notes
    );
}
