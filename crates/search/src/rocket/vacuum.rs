//! `vacuum-formula`: the information-matched control of `rocket-v2`. It answers with the closed-form vacuum
//! launch (D/T, g·T/2 − h0/T) ([`driftbench_tasks::rocket::vacuum_launch`]) from the instance's own gravity and
//! launch altitude: no training data, no simulator at test time, and the air ignored. It sees what the networks see
//! (the instance's five numbers) and knows the physics without drag; the hand-written solver also runs the
//! simulator with drag. Its curve separates what knowing the law buys (exact in vacuum, at every gravity and
//! altitude) from what the drag it leaves out costs (a miss that grows with the air density and the distance).
//!
//! In vacuum its launch lands within [`VACUUM_TOLERANCE`] of the target distance and flight time: the
//! simulator's RK4 is exact on a parabola, up to the linear interpolation of the landing within one 0.01 s step.

use driftbench_core::solver::Attempt;
use driftbench_core::{Learner, Profile, SolveInfo, Solver, SolverKind, Task, TrainData, TrainStats};
use driftbench_tasks::rocket::vacuum_launch;
use driftbench_tasks::rocket::{Launch, RocketInstance, RocketTask, Version};

/// Relative error on distance and flight time within which the vacuum formula's launch lands in vacuum (checked
/// by the tests on every vacuum instance drawn).
pub const VACUUM_TOLERANCE: f64 = 1e-4;

/// The `vacuum-formula` learner (see the module documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VacuumFormula;

struct VacuumSolver;

impl VacuumSolver {
    fn answer(inst: &RocketInstance) -> Attempt<Launch> {
        let (vx, vy) = vacuum_launch(&inst.env(), inst.distance, inst.flight_time);
        let answer = (vx.is_finite() && vy.is_finite()).then_some(Launch { vx, vy });
        Attempt { answer, info: SolveInfo::default() }
    }
}

impl<V: Version> Solver<RocketTask<V>> for VacuumSolver {
    fn solve_batch(
        &self,
        _task: &RocketTask<V>,
        instances: &[RocketInstance],
    ) -> driftbench_core::Result<Vec<Attempt<Launch>>> {
        Ok(instances.iter().map(VacuumSolver::answer).collect())
    }
}

impl<V: Version> Learner<RocketTask<V>> for VacuumFormula {
    fn name(&self) -> &'static str {
        "vacuum-formula"
    }

    /// A reference point written by hand, not a learner: the hand-written solver's kind is kept for the one solver
    /// that uses the whole instance and the simulator.
    fn kind(&self) -> SolverKind {
        SolverKind::Baseline
    }

    fn description(&self) -> String {
        "control: the closed-form vacuum launch (D/T, g*T/2 - h0/T) from the instance's gravity and launch altitude, \
         no simulator, the air ignored"
            .into()
    }

    fn observes(&self, _task: &RocketTask<V>) -> String {
        "target distance and flight time, gravity and launch altitude (not the air density); no simulator".into()
    }

    fn config(&self, _task: &RocketTask<V>, _profile: &Profile) -> serde_json::Value {
        serde_json::json!({ "vx": "D / T", "vy": "g * T / 2 - h0 / T", "simulator": false, "training": false })
    }

    fn seed_dependent(&self) -> bool {
        false
    }

    fn in_sample_efficiency(&self) -> bool {
        false
    }

    /// Nothing to learn; the validation figures are those of the formula on the validation targets.
    fn train(
        &self,
        task: &RocketTask<V>,
        data: &TrainData<RocketTask<V>>,
        _profile: &Profile,
        _seed: u64,
        progress: &dyn Fn(f64),
    ) -> driftbench_core::Result<(Box<dyn Solver<RocketTask<V>>>, TrainStats)> {
        let attempts: Vec<Attempt<Launch>> = data.val.iter().map(VacuumSolver::answer).collect();
        let answers: Vec<Option<&Launch>> = attempts.iter().map(|a| a.answer.as_ref()).collect();
        let outcomes = task.score_batch(&data.val, &answers);
        let mut stats = TrainStats::default();
        if !data.val.is_empty() {
            let n = data.val.len() as f64;
            let rate = |hit: &dyn Fn(&driftbench_core::Outcome) -> bool| {
                outcomes.iter().zip(&answers).filter(|(o, a)| a.is_some() && hit(o)).count() as f64 / n
            };
            stats.val_exact = Some(rate(&|o| o.success));
            stats.val_accuracy = Some(rate(&|o| task.strict_success(o).unwrap_or(o.success)));
            stats.val_accuracy_name = Some(task.strict_name().into());
        }
        progress(1.0);
        Ok((Box::new(VacuumSolver), stats))
    }
}
