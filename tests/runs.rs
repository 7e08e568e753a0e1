//! End-to-end runs with tiny budgets: determinism, no train/test overlap, records and report.
use driftbench::{provenance, registry, run_suite, select_tasks, Experiments, RunPlan};
use driftbench_core::bench::TestSource;
use driftbench_core::Profile;
use std::collections::HashSet;
use std::path::Path;

fn datasets() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets")
}

fn plan(out: &Path, source: TestSource) -> RunPlan {
    RunPlan {
        solvers: vec![],
        seeds: vec![5],
        profile: Profile::tiny(),
        source,
        out: out.to_path_buf(),
        resume: false,
        shard: (0, 1),
        experiments: Experiments { drift: true, sample_efficiency: false },
    }
}

#[test]
fn same_seed_gives_identical_records_apart_from_timing() {
    driftbench_nets::configure_cpu_threads();
    let reg = registry();
    let tasks = select_tasks(&reg, &[]).unwrap();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let prov = provenance(1);
    let ra = run_suite(&tasks, &plan(a.path(), TestSource::Generated { n: 20 }), &prov, &|_, _| {}).unwrap();
    let rb = run_suite(&tasks, &plan(b.path(), TestSource::Generated { n: 20 }), &prov, &|_, _| {}).unwrap();
    assert_eq!(ra.len(), rb.len());
    assert!(ra.iter().any(|o| o.record.kind == driftbench_core::SolverKind::Network));
    // Every network assesses representability on every cell, consistently, and can express every level-0 answer.
    for o in ra.iter().filter(|o| o.record.kind == driftbench_core::SolverKind::Network) {
        for c in &o.record.cells {
            let what = format!("{} {} {}-L{}", o.record.task, o.record.solver, c.axis, c.level);
            let r = c.representability.unwrap_or_else(|| panic!("{what}: no representability"));
            assert!(r.supervised <= r.expressible && r.expressible <= c.n, "{what}: {r:?}");
            assert!(r.successes_supervised <= r.supervised.min(c.successes), "{what}: {r:?}");
            if c.level == 0 {
                assert_eq!(r.expressible, c.n, "{what}: a level-0 answer the network cannot express");
            }
        }
    }
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x.record.without_timing(), y.record.without_timing(), "{} {}", x.record.task, x.record.solver);
    }
    // And a different seed changes network records.
    let c = tempfile::tempdir().unwrap();
    let mut p = plan(c.path(), TestSource::Generated { n: 20 });
    p.seeds = vec![6];
    let rc = run_suite(&tasks, &p, &prov, &|_, _| {}).unwrap();
    let net = |v: &Vec<driftbench::RunOutcome>| {
        v.iter().find(|o| o.record.solver == "transformer").map(|o| o.record.training.curve.clone()).unwrap()
    };
    assert_ne!(net(&ra), net(&rc));
}

#[test]
fn no_test_instance_appears_in_training_or_validation_data() {
    let reg = registry();
    let quick = driftbench::resolve_profile("quick", &reg).unwrap();
    for task in &reg {
        let prepared = task.prepare(&TestSource::Canonical(datasets()), &quick).unwrap();
        assert!(prepared.test_source().starts_with("canonical"), "{}", prepared.test_source());
        let tests: HashSet<String> = prepared.test_lines().into_iter().collect();
        for seed in [1, 2, 3] {
            let train = prepared.training_lines(seed).unwrap();
            assert!(train.len() >= quick.train_examples_for(task.id()), "{}: training set was cut short", task.id());
            let overlap = train.iter().filter(|l| tests.contains(*l)).count();
            assert_eq!(overlap, 0, "{} seed {seed}: {overlap} training instances are test instances", task.id());
        }
    }
}

#[test]
fn symbolic_solver_is_perfect_on_every_canonical_cell_and_records_round_trip() {
    let reg = registry();
    let tasks = select_tasks(&reg, &[]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut p = plan(out.path(), TestSource::Canonical(datasets()));
    p.solvers = vec!["symbolic".into()];
    let runs = run_suite(&tasks, &p, &provenance(1), &|_, _| {}).unwrap();
    for o in &runs {
        for c in &o.record.cells {
            assert_eq!(c.successes, c.n, "{} {}-L{}", o.record.task, c.axis, c.level);
            assert!(c.n >= 1000);
        }
        let back = driftbench_core::RunRecord::read(&o.path).unwrap();
        assert_eq!(back, o.record);
    }
}

#[test]
fn sharded_runs_produce_the_records_of_an_unsharded_run() {
    let reg = registry();
    let tasks = select_tasks(&reg, &["sorting-v1".to_string()]).unwrap();
    let prov = provenance(1);
    let whole = tempfile::tempdir().unwrap();
    let mut p = plan(whole.path(), TestSource::Generated { n: 10 });
    p.seeds = vec![1, 2];
    let all = run_suite(&tasks, &p, &prov, &|_, _| {}).unwrap();
    let parts = tempfile::tempdir().unwrap();
    let mut sharded = Vec::new();
    for i in 0..3 {
        let mut q = p.clone();
        q.out = parts.path().to_path_buf();
        q.shard = (i, 3);
        sharded.extend(run_suite(&tasks, &q, &prov, &|_, _| {}).unwrap());
    }
    assert_eq!(all.len(), sharded.len());
    for o in &all {
        let twin = sharded.iter().find(|s| s.record.file_name() == o.record.file_name()).unwrap();
        assert_eq!(twin.record.without_timing(), o.record.without_timing());
    }
}

#[test]
fn report_is_a_pure_function_of_the_records() {
    let reg = registry();
    let tasks = select_tasks(&reg, &[]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut p = plan(out.path(), TestSource::Generated { n: 10 });
    p.solvers = vec!["symbolic".into()];
    p.seeds = vec![1, 2];
    run_suite(&tasks, &p, &provenance(1), &|_, _| {}).unwrap();
    let records = driftbench_core::validate::read_dir(out.path()).unwrap();
    let a = driftbench_report::render(&records).unwrap();
    let mut reversed = records.clone();
    reversed.reverse();
    let b = driftbench_report::render(&reversed).unwrap();
    assert_eq!(a, b);
    let names: Vec<&str> = a.iter().map(|f| f.0.as_str()).collect();
    assert!(names.contains(&"summary.md") && names.contains(&"sorting-v2.md") && names.contains(&"sorting-v2.csv"));
    let page = &a.iter().find(|f| f.0 == "sorting-v2.md").unwrap().1;
    assert!(page.contains("100.0 ["), "symbolic rows show 100% with an interval:\n{page}");
}

#[test]
fn sample_efficiency_runs_judge_level_0_and_the_farthest_levels_and_are_reported() {
    driftbench_nets::configure_cpu_threads();
    let reg = registry();
    let tasks = select_tasks(&reg, &["sorting-v1".to_string()]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut p = plan(out.path(), TestSource::Generated { n: 10 });
    p.experiments = Experiments::ALL;
    p.solvers = vec!["symbolic".into(), "mlp".into(), "program-search".into()];
    p.seeds = vec![1, 2];
    let runs = run_suite(&tasks, &p, &provenance(1), &|_, _| {}).unwrap();
    // The hand-written solver runs once (the seed does not change it); the learners once per seed, plus one
    // sample-efficiency run each at n = 100 (the tiny profile's 300 training instances are the drift runs' point).
    let names: Vec<String> = runs.iter().map(|o| o.record.file_name()).collect();
    assert_eq!(runs.iter().filter(|o| o.record.solver == "symbolic").count(), 1, "{names:?}");
    for solver in ["mlp", "program-search"] {
        let sample: Vec<_> =
            runs.iter().filter(|o| o.record.solver == solver && o.record.experiment.is_some()).collect();
        assert_eq!(sample.len(), 1, "{solver}: {names:?}");
        let r = &sample[0].record;
        assert!(r.file_name().ends_with("__n100.json"), "{}", r.file_name());
        let levels: Vec<u8> = r.cells.iter().map(|c| c.level).collect();
        assert_eq!(levels, vec![0, 4, 4, 4], "level 0 and each axis's farthest level");
        assert!(r.adversarial.is_none(), "sample-efficiency runs are not attacked");
    }
    let records = driftbench_core::validate::read_dir(out.path()).unwrap();
    let files = driftbench_report::render(&records).unwrap();
    let page = &files.iter().find(|f| f.0 == "sorting-v1.md").unwrap().1;
    assert!(page.contains("## Sample efficiency"), "{page}");
    let svg = &files.iter().find(|f| f.0 == "plots/sorting-v1-sample-efficiency.svg").unwrap().1;
    assert!(svg.contains("training instances") && svg.contains("mlp"), "the figure has its axis label and legend");
    // The drift tables pool the drift runs only: two mlp seeds at level 0.
    assert!(page.contains("| mlp | network | 2 |"), "{page}");
}

#[test]
fn learners_that_act_in_training_record_deaths_to_competence_and_the_report_draws_it() {
    driftbench_nets::configure_cpu_threads();
    let reg = registry();
    let tasks = select_tasks(&reg, &["navigation".to_string()]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut p = plan(out.path(), TestSource::Generated { n: 5 });
    p.solvers = vec!["symbolic".into(), "imitation".into(), "vin".into(), "ppo".into()];
    let runs = run_suite(&tasks, &p, &provenance(1), &|_, _| {}).unwrap();
    for solver in ["imitation", "vin", "ppo"] {
        let r = &runs.iter().find(|o| o.record.solver == solver).unwrap().record;
        let c = &r.training.competence;
        assert!(!c.is_empty(), "{solver} records its competence curve");
        assert_eq!(c.len(), r.training.curve.len(), "{solver}: one point per validation");
        assert!(c.windows(2).all(|w| w[0].deaths <= w[1].deaths), "{solver}: deaths only grow");
        assert_eq!(c.last().unwrap().deaths, r.training.deaths, "{solver}");
        for (p, q) in c.iter().zip(&r.training.curve) {
            assert_eq!(p.success, q.3, "{solver}: the curve's last column is level-0 validation success");
        }
    }
    let records = driftbench_core::validate::read_dir(out.path()).unwrap();
    let files = driftbench_report::render(&records).unwrap();
    let id = tasks[0].id();
    let page = &files.iter().find(|f| f.0 == format!("{id}.md")).unwrap().1;
    assert!(page.contains("## Deaths to competence") && page.contains("| vin | validation curve |"), "{page}");
    let svg = &files.iter().find(|f| f.0 == format!("plots/{id}-competence.svg")).unwrap().1;
    assert!(svg.contains("deaths during training") && svg.contains("ppo"), "axis label and legend");
}
