//! A profile's `canonical_per_cell`: a seeded sample of each canonical test set, or a refusal by name.

use driftbench_core::bench::{Bench, DynTask, TestSource};
use driftbench_core::dataset::{write_set, Manifest, MANIFEST_SCHEMA};
use driftbench_core::solver::Symbolic;
use driftbench_core::{Cell, Learner, Profile, Task};
use driftbench_tasks::navigation::Navigation;

#[test]
fn a_profile_evaluates_a_seeded_sample_of_each_canonical_set_or_is_refused() {
    let bench = Bench::new(Navigation, vec![Box::new(Symbolic) as Box<dyn Learner<Navigation>>]);
    let dir = std::env::temp_dir().join(format!("driftbench-canonical-prefix-{}", std::process::id()));
    let mut manifest = Manifest { schema: MANIFEST_SCHEMA, ..Default::default() };
    let mut first_set = Vec::new();
    for cell in Cell::grid(Navigation.axes().len()) {
        let lines = bench.generate_lines(cell, 3, 9).unwrap();
        manifest.sets.push(write_set(&dir, "navigation-v1", &cell.label(Navigation.axes()), 9, &lines).unwrap());
        if first_set.is_empty() {
            first_set = lines;
        }
    }
    manifest.save(&dir).unwrap();
    let source = TestSource::Canonical(dir.clone());
    // The whole sets by default.
    let whole = bench.prepare(&source, &Profile::tiny()).unwrap();
    assert!(whole.test_sets().iter().all(|(_, set)| set.len() == 3));
    assert!(!whole.test_source().contains("sample"), "{}", whole.test_source());
    drop(whole);
    // 2 of each set, drawn from the set in its order, the same draw each time, said in the records' test source.
    let two = Profile { canonical_per_cell: Some(2), ..Profile::tiny() };
    let prepared = bench.prepare(&source, &two).unwrap();
    let sets = prepared.test_sets();
    assert!(sets.iter().all(|(_, set)| set.len() == 2));
    let at: Vec<usize> = sets[0].1.iter().map(|l| first_set.iter().position(|f| f == l).unwrap()).collect();
    assert!(at[0] < at[1], "{at:?}");
    assert!(prepared.test_source().ends_with("a seeded sample of 2 of each set"), "{}", prepared.test_source());
    drop(prepared);
    assert_eq!(bench.prepare(&source, &two).unwrap().test_sets(), sets);
    // Across the cells, the draw does not always take the first two.
    assert!(sets
        .iter()
        .zip(bench.prepare(&source, &Profile::tiny()).unwrap().test_sets())
        .any(|(s, w)| s.1 != w.1[..2]));
    // More than a set holds: refused, naming the field.
    let too_many = Profile { canonical_per_cell: Some(4), ..Profile::tiny() };
    let err = bench.prepare(&source, &too_many).err().expect("a set of 3 refused");
    assert!(err.to_string().contains("canonical_per_cell 4 asks for more"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
