//! Tuning is sealed: level-0 data from streams of its own, never a drift cell, never a seed the suite reports.
use driftbench_core::tuning::{suite_seeds, tuning_data, TuningError};
use driftbench_core::{Cell, Profile, Task};
use driftbench_tasks::{Navigation, Rocket, Sorting};

#[test]
fn every_suite_seed_and_every_drift_cell_is_refused() {
    let reserved = suite_seeds();
    for p in Profile::builtin() {
        assert!(p.seeds.iter().all(|s| reserved.contains(s)), "{} seeds are reserved", p.name);
    }
    for &seed in &reserved {
        let Err(err) = tuning_data(&Sorting, Cell::IN_DIST, seed, 5, 5) else { panic!("suite seed {seed} handed out") };
        assert!(matches!(err, TuningError::SuiteSeed { .. }), "{err}");
        assert!(err.to_string().contains(&format!("seed {seed}")), "{err}");
    }
    // Every drift cell of every task, at any seed.
    fn cells_refused<T: Task>(task: &T) {
        for (a, axis) in task.axes().iter().enumerate() {
            for level in 1..axis.levels.len() as u8 {
                let cell = Cell { axis: Some(a), level };
                match tuning_data(task, cell, 100, 5, 5) {
                    Err(err) => assert!(err.to_string().contains("sealed from tuning"), "{}: {err}", task.id()),
                    Ok(_) => panic!("{}: drift cell {cell:?} handed out for tuning", task.id()),
                }
            }
        }
    }
    cells_refused(&Sorting);
    cells_refused(&Rocket);
    cells_refused(&Navigation);
}

#[test]
fn tuning_streams_are_level_zero_and_not_the_runs_streams() {
    let d = tuning_data(&Sorting, Cell::IN_DIST, 100, 50, 20).unwrap();
    assert_eq!((d.train.len(), d.val.len()), (50, 20));
    assert!(d.train.iter().chain(&d.val).all(|i| Sorting.validate(i).is_ok()));
    // Deterministic, and not the `train` stream a run with seed 100 would draw.
    let again = tuning_data(&Sorting, Cell::IN_DIST, 100, 50, 20).unwrap();
    assert_eq!(serde_json::to_string(&d.train).unwrap(), serde_json::to_string(&again.train).unwrap());
    let mut r = driftbench_core::rng::stream(100, Sorting.id(), "train");
    let run_stream: Vec<_> = (0..50).map(|_| Sorting.generate(Cell::IN_DIST, &mut r)).collect();
    assert_ne!(serde_json::to_string(&d.train).unwrap(), serde_json::to_string(&run_stream).unwrap());
}
