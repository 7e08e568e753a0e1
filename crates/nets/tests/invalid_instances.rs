//! A trained network answers a batch holding instances its task rejects: those get no answer, the others their
//! answers, and the batch never fails because of them.
use driftbench_core::{rng, Cell, Learner, Profile, Task, TrainData};
use driftbench_nets::policy::Imitation;
use driftbench_nets::ppo::Ppo;
use driftbench_nets::{Net, SeqLearner};
use driftbench_tasks::navigation::NavInstance;
use driftbench_tasks::sorting::SortInstance;
use driftbench_tasks::{Navigation, Sorting};

fn data<T: Task>(task: &T, n: usize) -> TrainData<T> {
    let mut r = rng::stream(1, task.id(), "invalid-instances");
    let mut draw = |n| (0..n).map(|_| task.generate(Cell::IN_DIST, &mut r)).collect::<Vec<_>>();
    TrainData { train: draw(n), val: draw(8), dropped_overlaps: 0, max_epochs: None }
}

/// Defect: one invalid instance failed a policy's whole batch with "encoding mismatch: navigation-v1 offers no
/// episodes", although the cause was the instance.
#[test]
fn policies_give_rejected_instances_no_answer_and_answer_the_rest() {
    let t = Navigation;
    let d = data(&t, 24);
    let valid = d.val[0].clone();
    let rejected = [
        NavInstance { width: 5, ..valid.clone() },
        NavInstance { speed_cells: 3, speed_ticks: 1, ..valid.clone() },
        NavInstance { goal: valid.start, ..valid.clone() },
    ];
    for r in &rejected {
        assert!(t.validate(r).is_err());
    }
    let batch = [valid.clone(), rejected[0].clone(), rejected[1].clone(), d.val[1].clone(), rejected[2].clone()];
    let learners: [Box<dyn Learner<Navigation>>; 2] =
        [Box::new(Net(Imitation::default())), Box::new(Net(Ppo::default()))];
    for l in learners {
        let (solver, _) = l.train(&t, &d, &Profile::tiny(), 1, &|_| {}).unwrap();
        let attempts = solver.solve_batch(&t, &batch).unwrap_or_else(|e| panic!("{}: {e}", l.name()));
        let answered: Vec<bool> = attempts.iter().map(|a| a.answer.is_some()).collect();
        assert_eq!(answered, [true, false, false, true, false], "{}", l.name());
    }
}

/// Defect: the transformer indexed past its scores on lists longer than 32 (a panic that took the whole batch
/// down) and failed the batch on an empty list with a tensor error.
#[test]
fn sequence_networks_give_lists_they_cannot_read_no_answer() {
    let t = Sorting;
    let d = data(&t, 64);
    let long = SortInstance { values: (0..64).rev().collect() };
    let batch = [d.val[0].clone(), long, SortInstance { values: vec![] }, d.val[1].clone()];
    for l in [Net(SeqLearner::mlp()), Net(SeqLearner::transformer())] {
        let (solver, _) = Learner::<Sorting>::train(&l, &t, &d, &Profile::tiny(), 1, &|_| {}).unwrap();
        let attempts = solver.solve_batch(&t, &batch).unwrap_or_else(|e| panic!("{}: {e}", l.0.name));
        let answered: Vec<bool> = attempts.iter().map(|a| a.answer.is_some()).collect();
        assert_eq!(answered, [true, false, false, true], "{}", l.0.name);
    }
}
