//! Sealed test sets are never regenerated.
use driftbench::{generate_datasets, registry, select_tasks, SuiteError};
use driftbench_core::dataset::Manifest;

#[test]
fn a_sealed_task_refuses_to_regenerate_and_an_edited_seal_breaks_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry();
    let tasks = select_tasks(&reg, &["sorting-v1".into()]).unwrap();
    generate_datasets(&tasks, dir.path(), 3).unwrap();
    let mut m = Manifest::load(dir.path()).unwrap().unwrap();
    m.seal("sorting-v1", "2026-12-07".into(), "0123abc".into()).unwrap();
    m.save(dir.path()).unwrap();
    let before = std::fs::read(dir.path().join("manifest.json")).unwrap();
    match generate_datasets(&tasks, dir.path(), 3) {
        Err(e @ SuiteError::Sealed { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("sorting-v1") && msg.contains("2026-12-07") && msg.contains("0123abc"), "{msg}");
        }
        other => panic!("regenerating a sealed task: {other:?}"),
    }
    assert_eq!(std::fs::read(dir.path().join("manifest.json")).unwrap(), before, "the manifest was touched");
    // Editing a sealed set's entry makes the manifest unreadable, by name.
    let text = String::from_utf8(before).unwrap();
    let first_hash = m.sets[0].blake3.clone();
    std::fs::write(dir.path().join("manifest.json"), text.replacen(&first_hash, &"0".repeat(64), 1)).unwrap();
    let err = Manifest::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("no longer match their seal"), "{err}");
}
