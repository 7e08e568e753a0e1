//! What a task's capability traits ([`crate::capability`]) add to its [`Bench`]: the encoding it describes, the
//! adversarial experiment it takes part in, and one contract check per capability that
//! [`super::DynTask::self_check`] runs on every generated instance. Each `with_*` method is bounded by the trait
//! it needs, so a bench can only be given what its task implements; the registry (`driftbench::Entry`) calls
//! them together with the learner families of the same traits.
use super::Bench;
use crate::attack::{seq_attack, variant_attack, vec_attack, AttackFn};
use crate::axis::Cell;
use crate::capability::{AttackTask, GridTask, PolicyTask, SeqTask, VariantAttackTask, VecTask};
use crate::rng::stream;
use crate::solver::Learner;
use crate::task::{assign_slots, Encoding, SeqExample, Task};

/// Builds the learner that speaks to a solver program outside the process, for one learning shape (the registry
/// passes `driftbench-external`'s maker for the shape it wires).
pub type ExternalMaker<T> = fn(&crate::external::ExternalSpec) -> Box<dyn Learner<T>>;

/// A contract check of one capability on one generated (and valid) instance of a cell.
pub type ContractCheck<T> = fn(&T, Cell, &<T as Task>::Instance) -> Result<(), String>;

/// The capabilities a [`Bench`] was given at registration.
pub(super) struct Capabilities<T: Task> {
    /// The learning shape, as `driftbench list` describes it.
    pub(super) encoding: Encoding,
    /// The adversarial experiment, if the task takes part.
    pub(super) attack: Option<AttackFn<T>>,
    /// One check per capability, run by the self-check on every generated instance.
    pub(super) checks: Vec<ContractCheck<T>>,
    /// How a solver outside the process learns this task's shape, if it has one.
    pub(super) external: Option<ExternalMaker<T>>,
}

impl<T: Task> Default for Capabilities<T> {
    fn default() -> Self {
        Capabilities { encoding: Encoding::None, attack: None, checks: Vec::new(), external: None }
    }
}

impl<T: Task> Bench<T> {
    /// Adds learners (after those already there).
    pub fn with_learners(mut self, learners: Vec<Box<dyn Learner<T>>>) -> Self {
        self.learners.extend(learners);
        self
    }

    /// Lets solvers outside the process learn the task through `make` ([`super::DynTask::add_external`]).
    pub fn with_external(mut self, make: ExternalMaker<T>) -> Self {
        self.caps.external = Some(make);
        self
    }

    /// Declares the sequence shape ([`SeqTask`]): its encoding and its contract check ([`seq_contract`]).
    pub fn with_seq(mut self) -> Self
    where
        T: SeqTask,
    {
        self.caps.encoding = Encoding::SeqClass(self.task.seq_shape());
        self.caps.checks.push(seq_contract::<T>);
        self
    }

    /// Declares the vector-regression shape ([`VecTask`]): its encoding and its contract check ([`vec_contract`]).
    pub fn with_vec(mut self) -> Self
    where
        T: VecTask,
    {
        self.caps.encoding = Encoding::VecRegression(self.task.vec_shape());
        self.caps.checks.push(vec_contract::<T>);
        self
    }

    /// Declares the policy shape ([`PolicyTask`]): its encoding and its contract check ([`policy_contract`]).
    pub fn with_policy(mut self) -> Self
    where
        T: PolicyTask,
    {
        self.caps.encoding = Encoding::Policy(self.task.policy_shape());
        self.caps.checks.push(policy_contract::<T>);
        self
    }

    /// Declares the whole-world maps of a policy task ([`GridTask`]): their contract check ([`grid_contract`]).
    pub fn with_grid(mut self) -> Self
    where
        T: GridTask,
    {
        self.caps.checks.push(grid_contract::<T>);
        self
    }

    /// Enters the task in the continuous adversarial experiment on its sequence features ([`seq_attack`]).
    pub fn with_seq_attack(mut self) -> Self
    where
        T: SeqTask + AttackTask,
    {
        self.caps.attack = Some(seq_attack::<T>);
        self.caps.checks.push(|t, cell, i| box_contract(t, cell, i, t.encode_seq(i).map(|e| e.features)));
        self
    }

    /// Enters the task in the continuous adversarial experiment on its vector features ([`vec_attack`]).
    pub fn with_vec_attack(mut self) -> Self
    where
        T: VecTask + AttackTask,
    {
        self.caps.attack = Some(vec_attack::<T>);
        self.caps.checks.push(|t, cell, i| box_contract(t, cell, i, t.encode_vec(i)));
        self
    }

    /// Enters the task in the discrete adversarial experiment ([`variant_attack`]).
    pub fn with_variant_attack(mut self) -> Self
    where
        T: VariantAttackTask,
    {
        self.caps.attack = Some(variant_attack::<T>);
        self.caps.checks.push(variant_contract::<T>);
        self
    }
}

/// The sequence contract: the encoding matches its declared shape, log-probabilities spread evenly over each
/// target range decode to a correct answer, a position-free encoding gives equal targets to equal features, and a
/// permutation encoding's targets admit a permutation that decodes correctly. An instance the encoding declines
/// (`None`) is not checked.
pub fn seq_contract<T: SeqTask>(t: &T, _cell: Cell, inst: &T::Instance) -> Result<(), String> {
    let shape = t.seq_shape();
    let Some(ex) = t.encode_seq(inst) else { return Ok(()) };
    let mut scores = vec![-1e9f32; ex.len() * shape.classes];
    for (p, &(lo, hi)) in ex.targets.iter().enumerate() {
        let lp = -((hi - lo + 1) as f32).ln();
        scores[p * shape.classes + lo as usize..=p * shape.classes + hi as usize].fill(lp);
    }
    if !t.decode_seq(inst, &scores).is_some_and(|a| t.score(inst, &a).success) {
        return Err("decoding the encoded targets gave a wrong answer".into());
    }
    if ex.features.len() != ex.len() * shape.features || ex.len() > shape.max_len {
        return Err("encoding does not match its declared shape".into());
    }
    if !shape.positional {
        seq_positions_irrelevant(&ex, shape.features).map_err(|e| format!("{e}; declare `positional: true`"))?;
    }
    if shape.permutation {
        let slots = assign_slots(&ex.targets).ok_or("`permutation` encoding whose targets admit no permutation")?;
        let mut scores = vec![-1e9f32; ex.len() * shape.classes];
        for (p, &k) in slots.iter().enumerate() {
            scores[p * shape.classes + k] = 0.0;
        }
        if !t.decode_seq(inst, &scores).is_some_and(|a| t.score(inst, &a).success) {
            return Err("decoding a permutation of the targets failed".into());
        }
    }
    Ok(())
}

/// For an encoding that declares positions irrelevant: two positions with the same features must accept the same
/// classes (otherwise the answer depends on where an element sits, which a permutation-equivariant network cannot
/// see).
fn seq_positions_irrelevant(ex: &SeqExample, features: usize) -> Result<(), String> {
    let row = |p: usize| &ex.features[p * features..(p + 1) * features];
    for p in 0..ex.len() {
        for q in p + 1..ex.len() {
            if row(p) == row(q) && ex.targets[p] != ex.targets[q] {
                return Err(format!(
                    "positions {p} and {q} have equal features but different targets {:?} and {:?}",
                    ex.targets[p], ex.targets[q]
                ));
            }
        }
    }
    Ok(())
}

/// The vector contract: every valid instance has an encoding of the declared length with finite values, and the
/// hand-written answer encodes to an output of the declared length that decodes again.
pub fn vec_contract<T: VecTask>(t: &T, _cell: Cell, inst: &T::Instance) -> Result<(), String> {
    let shape = t.vec_shape();
    let x = t.encode_vec(inst).ok_or("no vector encoding")?;
    if x.len() != shape.inputs || x.iter().any(|v| !v.is_finite()) {
        return Err("vector encoding does not match its declared shape".into());
    }
    let y = t.encode_vec_answer(inst, &t.solve_symbolic(inst).0).ok_or("the hand-written answer has no output")?;
    if y.len() != shape.outputs || y.iter().any(|v| !v.is_finite()) || t.decode_vec(inst, &y).is_none() {
        return Err("the hand-written answer's output does not match the declared shape or does not decode".into());
    }
    Ok(())
}

/// The policy contract: every valid instance starts an episode whose observations have the declared length (and
/// whose grid, if any, is consistent), the demonstration's actions are in range and play through the episode, and
/// at level 0 the answer made of them succeeds.
pub fn policy_contract<T: PolicyTask>(t: &T, cell: Cell, inst: &T::Instance) -> Result<(), String> {
    let shape = t.policy_shape();
    let mut ep = t.episode(inst).ok_or("a valid instance started no episode")?;
    let observation = |ep: &dyn crate::task::Episode| -> Result<(), String> {
        let obs = ep.observe();
        if obs.len() != shape.observation || obs.iter().any(|v| !v.is_finite()) {
            return Err(format!("observation of {} values, {} declared", obs.len(), shape.observation));
        }
        match ep.observe_grid() {
            Some(g) => g.check().map_err(|e| format!("grid observation: {e}")),
            None => Ok(()),
        }
    };
    observation(ep.as_ref())?;
    let Some(demo) = t.demonstration(inst) else { return Ok(()) };
    if let Some(&bad) = demo.iter().find(|&&a| a >= shape.actions) {
        return Err(format!("demonstration action {bad} of {} actions", shape.actions));
    }
    for &a in &demo {
        if ep.step(a).done {
            break;
        }
        observation(ep.as_ref())?;
    }
    if t.expert_action(inst, &[]).is_some_and(|a| a >= shape.actions) {
        return Err("the expert's first action is out of range".into());
    }
    let answer = t.answer_from_actions(inst, &demo).ok_or("the demonstration's actions make no answer")?;
    if cell.level == 0 && !t.score(inst, &answer).success {
        return Err("the demonstration fails in distribution".into());
    }
    Ok(())
}

/// The grid contract: an episode of a valid instance shows the world as [`GridTask::grid_channels`] maps of
/// consistent sizes, at the start and after each of the demonstration's actions.
pub fn grid_contract<T: GridTask>(t: &T, _cell: Cell, inst: &T::Instance) -> Result<(), String> {
    let mut ep = t.episode(inst).ok_or("a valid instance started no episode")?;
    let channels = t.grid_channels();
    let grid = |ep: &dyn crate::task::Episode| -> Result<(), String> {
        let g = ep.observe_grid().ok_or("a grid task's episode shows no grid observation")?;
        g.check().map_err(|e| format!("grid observation: {e}"))?;
        if g.channels != channels {
            return Err(format!("grid observation of {} maps, {channels} declared", g.channels));
        }
        Ok(())
    };
    grid(ep.as_ref())?;
    for a in t.demonstration(inst).unwrap_or_default() {
        if ep.step(a).done {
            break;
        }
        grid(ep.as_ref())?;
    }
    Ok(())
}

/// The continuous attack's contract, at level 0 (where the experiment runs): the radius matches the features and
/// is finite and non-negative, the unperturbed features describe a valid instance, and so does the corner of the
/// budget-1 box that moves every feature up, which the hand-written control must still solve.
fn box_contract<T: AttackTask>(t: &T, cell: Cell, inst: &T::Instance, x0: Option<Vec<f32>>) -> Result<(), String> {
    let (Some(x0), Some(radius), 0) = (x0, t.attack_radius(inst), cell.level) else { return Ok(()) };
    if radius.len() != x0.len() || radius.iter().any(|r| !r.is_finite() || *r < 0.0) {
        return Err(format!(
            "attack radius of {} values for {} features, or not finite and >= 0",
            radius.len(),
            x0.len()
        ));
    }
    let at = |x: &[f32]| -> Result<(), String> {
        let moved = t.attacked_instance(inst, x).ok_or("the attack box holds features that describe no instance")?;
        t.validate(&moved).map_err(|e| format!("an attacked instance is invalid: {e}"))?;
        if !t.score(&moved, &t.solve_symbolic(&moved).0).success {
            return Err("the hand-written solver fails an attacked instance".into());
        }
        Ok(())
    };
    at(&x0)?;
    at(&x0.iter().zip(&radius).map(|(x, r)| x + r).collect::<Vec<_>>())
}

/// The discrete attack's contract, at level 0: the variants of the hand-written answer are valid instances that
/// differ from the original.
pub fn variant_contract<T: VariantAttackTask>(t: &T, cell: Cell, inst: &T::Instance) -> Result<(), String> {
    if cell.level != 0 {
        return Ok(());
    }
    let answer = t.solve_symbolic(inst).0;
    let mut rng = stream(0, t.id(), "self-check/variants");
    for v in t.attack_variants(inst, &answer, 1, 2, &mut rng) {
        t.validate(&v).map_err(|e| format!("an attack variant is invalid: {e}"))?;
        if serde_json::to_string(&v).ok() == serde_json::to_string(inst).ok() {
            return Err("an attack variant equals the original instance".into());
        }
    }
    Ok(())
}
