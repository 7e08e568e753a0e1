//! A profile's `canonical_per_cell`: the first instances of each canonical test set, or a refusal by name.

use driftbench_core::bench::{Bench, DynTask, TestSource};
use driftbench_core::dataset::{write_set, Manifest, MANIFEST_SCHEMA};
use driftbench_core::solver::Symbolic;
use driftbench_core::{Cell, Learner, Profile, Task};
use driftbench_tasks::navigation::Navigation;

#[test]
fn a_profile_evaluates_the_first_instances_of_each_canonical_set_or_is_refused() {
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
    assert!(!whole.test_source().contains("the first"), "{}", whole.test_source());
    drop(whole);
    // The first 2 of each set, said in the records' test source.
    let first_two = Profile { canonical_per_cell: Some(2), ..Profile::tiny() };
    let prepared = bench.prepare(&source, &first_two).unwrap();
    assert!(prepared.test_sets().iter().all(|(_, set)| set.len() == 2));
    assert_eq!(prepared.test_sets()[0].1, first_set[..2]);
    assert!(prepared.test_source().ends_with("the first 2 of each set"), "{}", prepared.test_source());
    drop(prepared);
    // More than a set holds: refused, naming the field.
    let too_many = Profile { canonical_per_cell: Some(4), ..Profile::tiny() };
    let err = bench.prepare(&source, &too_many).err().expect("a set of 3 refused");
    assert!(err.to_string().contains("canonical_per_cell 4"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
