//! Unit tests of the adversarial experiment on a toy sign task.

use super::attacker::{Job, Tally};
use super::*;
use crate::axis::{AxisSpec, Cell};
use crate::solver::{Attempt, Learner, SolveInfo, Symbolic, TrainData};
use crate::task::{Outcome, VecShape};
use std::sync::Mutex;

/// Is the first of two numbers positive? Features are the two numbers; the first may move by half its size
/// (so its sign, the answer, stays), the second by 1. The perturbed features are the attacked instance.
struct SignTask;

static AXES: [AxisSpec; 0] = [];

impl Task for SignTask {
    type Instance = Vec<f32>;
    type Answer = bool;
    fn id(&self) -> &'static str {
        "sign-test"
    }
    fn description(&self) -> &'static str {
        "is the first number positive"
    }
    fn axes(&self) -> &'static [AxisSpec] {
        &AXES
    }
    fn generate(&self, _cell: Cell, rng: &mut ChaCha8Rng) -> Vec<f32> {
        vec![rng.random_range(0.1..1.0), 0.0]
    }
    fn validate(&self, _inst: &Vec<f32>) -> std::result::Result<(), String> {
        Ok(())
    }
    fn score(&self, inst: &Vec<f32>, answer: &bool) -> Outcome {
        Outcome::new(*answer == (inst[0] > 0.0), 0.0)
    }
    fn metric_name(&self) -> &'static str {
        "none"
    }
    fn solve_symbolic(&self, inst: &Vec<f32>) -> (bool, SolveInfo) {
        (inst[0] > 0.0, SolveInfo::default())
    }
    fn symbolic_description(&self) -> &'static str {
        "look at the sign"
    }
}

impl VecTask for SignTask {
    fn vec_shape(&self) -> VecShape {
        VecShape { inputs: 2, outputs: 1 }
    }
    fn encode_vec(&self, inst: &Vec<f32>) -> Option<Vec<f32>> {
        Some(inst.clone())
    }
    fn decode_vec(&self, _inst: &Vec<f32>, _output: &[f32]) -> Option<bool> {
        None
    }
    /// No output encoding: the attacks measure the network against its own clean output.
    fn encode_vec_answer(&self, _inst: &Vec<f32>, _answer: &bool) -> Option<Vec<f32>> {
        None
    }
}

impl AttackTask for SignTask {
    fn attack_radius(&self, inst: &Vec<f32>) -> Option<Vec<f32>> {
        Some(vec![0.5 * inst[0].abs(), 1.0])
    }
    fn attacked_instance(&self, inst: &Vec<f32>, f: &[f32]) -> Option<Vec<f32>> {
        let r = self.attack_radius(inst)?;
        let inside = f.len() == 2 && (0..2).all(|k| (f[k] - inst[k]).abs() <= r[k] * (1.0 + 1e-5));
        inside.then(|| f.to_vec())
    }
}

/// The continuous attack with the default effort.
fn run_attack(
    task: &SignTask,
    solver: &dyn Solver<SignTask>,
    kind: SolverKind,
    insts: &[Vec<f32>],
    seed: u64,
) -> Result<Option<AttackStats>> {
    vec_attack(task, solver, kind, insts, seed, &AttackConfig::default())
}

/// A "network" that also reads the second number: positive when x0 + K·x1 > 0. Its loss, −y·(x0 + K·x1), has
/// gradient −y·(1, K). It records the largest move, relative to the radius, it was asked a gradient at.
struct SpuriousNet {
    largest: Mutex<f32>,
}

const K: f32 = 1.0;

impl Solver<SignTask> for SpuriousNet {
    fn solve_batch(&self, _task: &SignTask, insts: &[Vec<f32>]) -> Result<Vec<Attempt<bool>>> {
        Ok(insts.iter().map(|x| Attempt { answer: Some(x[0] + K * x[1] > 0.0), info: SolveInfo::default() }).collect())
    }
    fn attack_surface(&self) -> Option<&dyn AttackSurface<SignTask>> {
        Some(self)
    }
}

impl AttackSurface<SignTask> for SpuriousNet {
    fn features(&self, _task: &SignTask, inst: &Vec<f32>) -> Option<Vec<f32>> {
        Some(inst.clone())
    }
    fn loss_and_grad(&self, task: &SignTask, points: &[AttackPoint<'_, SignTask>]) -> Result<Vec<(f32, Vec<f32>)>> {
        let mut largest = self.largest.lock().unwrap();
        Ok(points
            .iter()
            .map(|p| {
                let r = task.attack_radius(p.instance).unwrap();
                for ((x, x0), r) in p.features.iter().zip(p.instance).zip(&r) {
                    *largest = largest.max((x - x0).abs() / r);
                }
                let y = if p.instance[0] > 0.0 { 1.0 } else { -1.0 };
                (-y * (p.features[0] + K * p.features[1]), vec![-y, -y * K])
            })
            .collect())
    }
    fn answer_features(&self, _task: &SignTask, insts: &[Vec<f32>], f: &[Vec<f32>]) -> Result<Vec<Option<bool>>> {
        assert_eq!(insts.len(), f.len());
        Ok(f.iter().map(|x| Some(x[0] + K * x[1] > 0.0)).collect())
    }
}

fn instances() -> Vec<Vec<f32>> {
    (0..40).map(|i| vec![(i + 1) as f32 / 40.0 * if i % 2 == 0 { 1.0 } else { -1.0 }, 0.0]).collect()
}

#[test]
fn gradient_attack_finds_the_analytic_breaking_budget() {
    let net = SpuriousNet { largest: Mutex::new(0.0) };
    let insts = instances();
    let stats = run_attack(&SignTask, &net, SolverKind::Network, &insts, 1).unwrap().unwrap();
    assert_eq!((stats.instances, stats.clean_successes), (40, 40));
    // The worst corner moves x0 towards 0 by b·|a|/2 and x1 by b against it: it breaks when b > |a|/(K + |a|/2).
    let breaking = |a: f32| a.abs() / (K + 0.5 * a.abs());
    for r in &stats.budgets {
        let expected = insts.iter().filter(|x| breaking(x[0]) >= r.budget as f32).count() as u64;
        assert_eq!(r.successes, expected, "budget {}", r.budget);
        assert_eq!(r.fgsm_successes, expected, "budget {}: FGSM is optimal on a linear model", r.budget);
        assert!(r.random_successes >= r.successes);
    }
    let mut b: Vec<f32> = insts.iter().map(|x| breaking(x[0])).collect();
    b.sort_by(f32::total_cmp);
    let median = stats.median_breaking_budget.unwrap();
    assert!(median >= b[19] as f64 - 1e-6 && median <= b[19] as f64 + 0.25 / 64.0 + 1e-6, "{median} vs {}", b[19]);
    assert!(*net.largest.lock().unwrap() <= 1.0 + 1e-6);
}

#[test]
fn projected_steps_stay_inside_the_box_of_their_budget() {
    let net = SpuriousNet { largest: Mutex::new(0.0) };
    let task = SignTask;
    let insts = instances();
    let targets = insts
        .iter()
        .map(|i| Target { instance: i, x0: i.clone(), radius: task.attack_radius(i).unwrap(), reference: None })
        .collect();
    let attacker = Attacker {
        task: &task,
        solver: &net,
        surface: Some(&net),
        targets,
        cfg: AttackConfig::default(),
        control: false,
    };
    // Starts at a corner of the 0.25 box, the gradient pushes outwards on every step.
    let jobs = (0..insts.len()).map(|t| Job { target: t, budget: 0.25, u: vec![0.25, -0.25] }).collect();
    let mut tally = Tally { higher_is_better: true, broken: vec![vec![false; 40]; 3], worst: vec![vec![1.0; 40]; 3] };
    attacker.pgd(&net, jobs, &mut tally).unwrap();
    let largest = *net.largest.lock().unwrap();
    assert!(largest > 0.2 && largest <= 0.25 + 1e-6, "{largest}");
}

#[test]
fn the_control_stays_correct_and_a_solver_without_gradient_meets_the_corners() {
    let data = TrainData { train: Vec::new(), val: Vec::new(), dropped_overlaps: 0, max_epochs: None };
    let (symbolic, _) = Symbolic.train(&SignTask, &data, &crate::Profile::tiny(), 1, &|_| {}).unwrap();
    let insts = instances();
    let stats = run_attack(&SignTask, symbolic.as_ref(), SolverKind::Symbolic, &insts, 1).unwrap().unwrap();
    assert_eq!(stats.clean_successes, 40);
    assert!(stats.budgets.iter().all(|r| r.successes == 40 && r.fgsm_successes == 40 && r.random_successes == 40));
    assert_eq!(stats.median_breaking_budget, None);
    assert!(stats.method.contains("control"));
    // The same solver claimed as a baseline has no gradient: it meets the gradient-free attacks alone, with the
    // same figures, and the method says so.
    let baseline = run_attack(&SignTask, symbolic.as_ref(), SolverKind::Baseline, &insts, 1).unwrap().unwrap();
    assert_eq!(baseline.budgets, stats.budgets);
    assert!(baseline.method.starts_with("gradient-free"), "{}", baseline.method);
}

/// [`SpuriousNet`]'s answers without its gradient: a learned solver that exposes none.
struct NoGradient(SpuriousNet);

impl Solver<SignTask> for NoGradient {
    fn solve_batch(&self, task: &SignTask, insts: &[Vec<f32>]) -> Result<Vec<Attempt<bool>>> {
        self.0.solve_batch(task, insts)
    }
}

#[test]
fn a_solver_without_gradient_is_broken_by_corners_alone() {
    let insts = instances();
    let blind = NoGradient(SpuriousNet { largest: Mutex::new(0.0) });
    let stats = run_attack(&SignTask, &blind, SolverKind::Baseline, &insts, 1).unwrap().unwrap();
    assert_eq!((stats.instances, stats.clean_successes), (40, 40));
    // The corners hold the worst point of this box (see the gradient test): they break exactly the instances a
    // gradient attack breaks, and with no gradient step the FGSM figure is the corners' figure.
    let breaking = |a: f32| a.abs() / (K + 0.5 * a.abs());
    for r in &stats.budgets {
        let expected = insts.iter().filter(|x| breaking(x[0]) >= r.budget as f32).count() as u64;
        assert_eq!(r.successes, expected, "budget {}", r.budget);
        assert_eq!(r.fgsm_successes, r.successes);
    }
    assert!(stats.budgets.last().unwrap().successes < 40);
    assert!(stats.method.starts_with("gradient-free"), "{}", stats.method);
}

#[test]
fn attacks_are_deterministic_given_the_seed() {
    let net = SpuriousNet { largest: Mutex::new(0.0) };
    let insts = instances();
    let a = run_attack(&SignTask, &net, SolverKind::Network, &insts, 7).unwrap();
    let b = run_attack(&SignTask, &net, SolverKind::Network, &insts, 7).unwrap();
    assert_eq!(a, b);
}
