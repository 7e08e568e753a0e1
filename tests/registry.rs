//! Registry-wide checks: every registered task, present and future, must pass these without new tests.
use driftbench::registry;

#[test]
fn every_task_passes_the_self_check() {
    for task in registry() {
        // Determinism, validity, JSON round trip, symbolic solver at level 0, levels differ, encoding decodes.
        task.self_check(11, 150).unwrap_or_else(|e| panic!("{}: {e}", task.id()));
    }
}

#[test]
fn every_task_has_versioned_id_axes_and_a_symbolic_solver_first() {
    let reg = registry();
    let mut ids: Vec<_> = reg.iter().map(|t| t.id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), reg.len(), "task ids must be unique");
    for t in &reg {
        assert!(t.id().rsplit_once("-v").is_some_and(|(_, v)| v.parse::<u32>().is_ok()), "{}: id needs -vN", t.id());
        assert!(!t.axes().is_empty(), "{}: no drift axes", t.id());
        assert_eq!(t.solvers()[0].name, "symbolic", "{}", t.id());
        for a in t.axes() {
            assert!(a.levels.iter().all(|l| !l.is_empty()), "{}: {} has an undescribed level", t.id(), a.name);
        }
    }
}

#[test]
fn canonical_datasets_cover_every_task_and_verify() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let n = driftbench::verify_datasets(&driftbench::select_tasks(&registry(), &[]).unwrap(), &dir)
        .expect("datasets/ matches its manifest");
    let manifest = driftbench_core::dataset::Manifest::load(&dir).unwrap().unwrap();
    for t in registry() {
        let cells = driftbench_core::Cell::grid(t.axes().len()).len();
        assert_eq!(
            manifest.task_sets(t.id()).count(),
            cells,
            "{}: run `driftbench datasets generate --task {}`",
            t.id(),
            t.id()
        );
        // The committed files are exactly what the generator produces today.
        for e in manifest.task_sets(t.id()) {
            assert!(e.n >= 1000, "{} {}: fewer than 1000 test instances", t.id(), e.cell);
        }
    }
    assert!(n > 0);
}

#[test]
fn every_task_keeps_its_contract_at_the_edges_of_its_instance_type() {
    // Generated instances moved to the edges of their types (extreme integers and floats, empty and long lists):
    // every accepted one solved by the symbolic solver with a finite metric, every rejected one named.
    for task in registry() {
        let counts = task.edge_check(5, 60).unwrap_or_else(|e| panic!("{}: {e}", task.id()));
        assert!(counts.accepted > 0 && counts.rejected > 0, "{}: {counts:?}", task.id());
    }
}

#[test]
fn every_learner_answers_a_batch_with_edge_instances_without_failing() {
    driftbench_nets::configure_cpu_threads();
    // Tiny budgets: the point is that nothing panics and no instance fails a batch, not that anything learns.
    let profile =
        driftbench_core::Profile { train_examples: 100, val_examples: 10, ..driftbench_core::Profile::tiny() };
    for task in registry() {
        let counts = task.learner_check(3, &profile, 24).unwrap_or_else(|e| panic!("{}: {e}", task.id()));
        // The batch held instances of both kinds (the generated ones are accepted).
        assert!(counts.accepted > 4 && counts.rejected > 0, "{}: {counts:?}", task.id());
    }
}

#[test]
fn readme_task_table_is_the_registrys() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = driftbench::task_table(&registry());
    let spliced = driftbench::splice_task_table(&readme, &table).expect("README.md has the task-table markers");
    assert!(
        spliced == readme,
        "README.md's task table is not the registry's: refresh it with `cargo run --release -- report` (or the \
         default suite)"
    );
}

#[test]
fn the_quick_profile_runs_use_is_the_one_the_committed_records_hold() {
    // Resolved with the tasks' own training-set sizes (navigation: 8,000 episodes), as `driftbench run` does; the
    // hash every quick record in results/ carries.
    let quick = driftbench::resolve_profile("quick", &registry()).unwrap();
    assert_eq!(quick.train_examples_for("navigation-v1"), 8_000);
    // Pinned, so that a change to the quick profile is a decision (regenerate results/ and update this hash)...
    assert_eq!(quick.hash(), "5e94daf739b2103d4581d4f199333ea19f98b65feb955a90d10bfb64c9c7cf27");
    // ...and every committed default-suite record was made with it.
    let runs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results/runs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&runs).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let record: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(record["profile_hash"], quick.hash().as_str(), "{}", path.display());
        seen += 1;
    }
    assert!(seen > 0);
    let full = driftbench::resolve_profile("full", &registry()).unwrap();
    assert_eq!(full.train_examples_for("navigation-v1"), 20_000);
}
