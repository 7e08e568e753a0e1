//! Type erasure: [`Bench`] wraps a [`Task`] and its learners behind [`DynTask`], the form the registry holds.
//!
//! Everything generic over a task lives here once: test-set generation and loading, training-data drawing
//! (with test instances excluded), evaluation of any solver on every cell in parallel, run records, and the
//! self-check that every registered task must pass.
use crate::axis::{AxisSpec, Cell, LEVELS};
use crate::contract::{check_edges, edge_instances, no_panic, EdgeCounts};
use crate::dataset;
use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::record::{Provenance, RunRecord};
use crate::rng::stream;
use crate::solver::{Learner, SolverKind, TrainData};
use crate::task::{Encoding, Outcome, Task};
use std::collections::HashSet;
use std::path::PathBuf;

mod capabilities;
mod prepared;
mod timing;
use capabilities::Capabilities;
pub use capabilities::{
    grid_contract, policy_contract, seq_contract, variant_contract, vec_contract, ContractCheck, ExternalMaker,
};
use prepared::PreparedBench;
pub use timing::{all_timing_cases, Setup, Timed, TimingCase, INFER_INSTANCES, SOLVE_INSTANCES, TRAIN_INSTANCES};

/// A solver as `driftbench list` shows it.
#[derive(Debug, Clone)]
pub struct SolverInfo {
    /// Name used on the command line.
    pub name: &'static str,
    /// Family.
    pub kind: SolverKind,
    /// One line.
    pub description: String,
    /// Whether runs with different seeds differ (a hand-written solver runs once).
    pub seed_dependent: bool,
    /// Whether the sample-efficiency experiment retrains it on smaller training sets.
    pub sample_efficiency: bool,
}

/// Where test instances come from.
#[derive(Debug, Clone)]
pub enum TestSource {
    /// The frozen files in a datasets folder. A missing folder, manifest, task or cell is an error: only
    /// [`TestSource::Generated`] generates.
    Canonical(PathBuf),
    /// Freshly generated from [`crate::dataset::CANONICAL_SEED`], `n` per cell.
    Generated {
        /// Instances per cell.
        n: usize,
    },
}

/// Progress callback: (what is happening, fraction done of that phase).
pub type Progress<'a> = &'a (dyn Fn(&str, f64) + Sync);

/// A task with its learners, type-erased.
pub trait DynTask: Send + Sync {
    /// Versioned id.
    fn id(&self) -> &'static str;
    /// One sentence.
    fn description(&self) -> &'static str;
    /// Drift axes.
    fn axes(&self) -> &'static [AxisSpec];
    /// What the task's validation accepts ([`Task::limits`]).
    fn limits(&self) -> &'static str;
    /// Name of the secondary metric.
    fn metric_name(&self) -> &'static str;
    /// Unit of solver work.
    fn work_name(&self) -> &'static str;
    /// How the hand-written solver works.
    fn symbolic_description(&self) -> &'static str;
    /// The network encoding the task offers.
    fn encoding(&self) -> Encoding;
    /// Every solver that can run on this task, symbolic first.
    fn solvers(&self) -> Vec<SolverInfo>;
    /// `n` instances of `cell` drawn from `seed`, one JSON document each.
    fn generate_lines(&self, cell: Cell, n: usize, seed: u64) -> Result<Vec<String>>;
    /// As [`DynTask::generate_lines`], but writes each line (with a newline) to `out` as it is drawn, so that any
    /// `n` runs in constant memory.
    fn write_lines(&self, cell: Cell, n: usize, seed: u64, out: &mut dyn std::io::Write) -> Result<()>;
    /// The test sets of every cell (in [`Cell::grid`] order), `n` instances each, drawn from `seed` without
    /// replacement across the whole task: no instance occurs twice in a cell or in two cells. These are the
    /// canonical (and the generated) test sets.
    fn generate_test_sets(&self, n: usize, seed: u64) -> Result<Vec<(Cell, Vec<String>)>>;
    /// Loads or generates the test sets once, ready for any number of runs.
    fn prepare(&self, source: &TestSource, profile: &Profile) -> Result<Box<dyn Prepared + '_>>;
    /// The registry-wide checks: seed determinism, validity of generated instances, JSON round trip, the
    /// symbolic solver succeeding at level 0, every level differing from level 0 and from its neighbour, the
    /// contract of every capability the task was registered with ([`seq_contract`], [`vec_contract`],
    /// [`policy_contract`], [`grid_contract`], the attack box or [`variant_contract`]) on every generated instance,
    /// and test sets
    /// without repeats.
    fn self_check(&self, seed: u64, n: usize) -> Result<(), String>;
    /// The task contract at its edges ([`crate::contract`]): `variants` instances per cell drawn from the whole
    /// instance type; each one `validate` accepts must be solved by the symbolic solver with a finite metric, each
    /// one it rejects must get a message naming a field, and nothing may panic.
    fn edge_check(&self, seed: u64, variants: usize) -> Result<EdgeCounts, String>;
    /// Every learner trained under `profile` (give it tiny budgets) answers a batch that mixes generated
    /// instances with `variants` edge instances ([`crate::contract`]) accepted and rejected alike: one attempt per
    /// instance, a finite metric on each accepted one, no panic and no error for the batch. Returns how many
    /// instances of the batch the task accepted and rejected.
    fn learner_check(&self, seed: u64, profile: &Profile, variants: usize) -> Result<EdgeCounts, String>;
    /// What `cargo bench` times for this task ([`TimingCase`]): generation and the hand-written solver on level 0
    /// and the farthest level of every axis, each learner's training, and each trained learner's inference.
    fn timing_cases(&self) -> Vec<TimingCase<'_>>;
    /// The task's own training-set size per built-in profile name ([`Task::train_examples_by_profile`]).
    fn train_examples_by_profile(&self) -> &'static [(&'static str, usize)];
    /// Adds a solver program outside the process as one more learner of this task (after the built-in ones); an
    /// error when the task has no learning shape to offer it or the name is taken.
    fn add_external(&mut self, spec: &crate::external::ExternalSpec) -> Result<()>;
    /// The task's own validation-set size per built-in profile name ([`Task::val_examples_by_profile`]).
    fn val_examples_by_profile(&self) -> &'static [(&'static str, usize)];
    /// How many distinct instances a cell can generate, where the task says ([`Task::instance_space`]).
    fn instance_space(&self, cell: Cell) -> Option<u128>;
    /// Where each axis's levels lie along its factor ([`Task::placements`]; empty for tasks that do not say).
    fn placements(&self) -> &'static [crate::axis::Placement];
    /// The task's measured features across `n` instances per cell, checked against its placements
    /// ([`crate::drift::measure_drift`]); `None` for a task that declares neither.
    fn drift_check(&self, seed: u64, n: usize) -> Option<crate::drift::DriftReport>;
    /// What the hand-written solver observes ([`Task::symbolic_observes`]).
    fn symbolic_observes(&self) -> &'static str;
}

/// Edge instances per cell that [`DynTask::self_check`] tries.
pub const SELF_CHECK_EDGE_VARIANTS: usize = 24;

/// Test sets loaded for one task; runs any (solver, seed).
pub trait Prepared: Send + Sync {
    /// Where the test sets came from (recorded in every record).
    fn test_source(&self) -> &str;
    /// The configuration `solver` records when run under this profile (in either experiment), to check a record
    /// made earlier against it.
    fn solver_config(&self, solver: &str) -> Result<serde_json::Value>;
    /// Every test set with its cell label, as JSON lines, in cell order.
    fn test_sets(&self) -> Vec<(String, Vec<String>)>;
    /// Trains (if needed) and evaluates one solver with one seed on every cell, and runs the adversarial
    /// experiment on level-0 instances where the task and solver take part.
    fn run(&self, solver: &str, seed: u64, provenance: &Provenance, progress: Progress) -> Result<RunRecord>;
    /// The sample-efficiency experiment's run: trains on the first `train_examples` training instances (with an
    /// epoch cap of [`SAMPLE_MAX_EPOCHS`], or the profile's own where tighter, in its
    /// [`TrainData::max_epochs`]) and evaluates on level 0 and the farthest level of every axis.
    fn run_sample(
        &self,
        solver: &str,
        seed: u64,
        train_examples: usize,
        provenance: &Provenance,
        progress: Progress,
    ) -> Result<RunRecord>;
    /// Training-set sizes of the sample-efficiency experiment: 100, 1,000, ... below the profile's own size
    /// (whose point is the drift run itself).
    fn sample_sizes(&self) -> Vec<usize>;
    /// The instances used for training with `seed`, as JSON (to check that none is a test instance).
    fn training_lines(&self, seed: u64) -> Result<Vec<String>>;
    /// Every test instance, as JSON.
    fn test_lines(&self) -> Vec<String>;
    /// Trains `solver` with `seed` (deterministically, as `run` does) and draws its answer on test instance
    /// `index` of `cell`; `None` when the task draws no pictures.
    fn show(&self, solver: &str, seed: u64, cell: Cell, index: usize) -> Result<Option<String>>;
}

/// Epoch cap of the sample-efficiency experiment's runs, passed to the learners in their
/// [`TrainData::max_epochs`] (see [`crate::profile::step_budget`]).
pub const SAMPLE_MAX_EPOCHS: f64 = 200.0;

/// Level-0 test instances the adversarial experiment attacks per run.
pub const ATTACKED_INSTANCES: usize = 200;

/// A task with its learners and the capabilities it was registered with ([`Bench::with_seq`] and the other
/// `with_*` methods); implements [`DynTask`].
pub struct Bench<T: Task> {
    task: T,
    learners: Vec<Box<dyn Learner<T>>>,
    caps: Capabilities<T>,
}

impl<T: Task> Bench<T> {
    /// Wraps `task` with its learners (put the symbolic one first) and no capabilities beyond the core [`Task`].
    pub fn new(task: T, learners: Vec<Box<dyn Learner<T>>>) -> Self {
        Bench { task, learners, caps: Capabilities::default() }
    }

    /// The wrapped task.
    pub fn task(&self) -> &T {
        &self.task
    }

    fn learner(&self, name: &str) -> Result<&dyn Learner<T>> {
        self.learners.iter().find(|l| l.name() == name).map(|l| l.as_ref()).ok_or_else(|| Error::Training {
            task: self.task.id().into(),
            solver: name.into(),
            reason: format!(
                "no such solver (solvers: {})",
                self.learners.iter().map(|l| l.name()).collect::<Vec<_>>().join(", ")
            ),
        })
    }

    fn rng(&self, cell: Cell, seed: u64) -> rand_chacha::ChaCha8Rng {
        stream(seed, self.task.id(), &format!("test/{}", cell.label(self.task.axes())))
    }

    /// Every cell's test set, drawn without replacement across the task (see [`DynTask::generate_test_sets`]):
    /// each cell keeps drawing from its own stream, skipping instances already drawn in it or in an earlier cell.
    fn test_sets(&self, n: usize, seed: u64) -> Result<Vec<(Cell, Vec<T::Instance>)>> {
        let mut seen = HashSet::new();
        let mut sets = Vec::new();
        for cell in Cell::grid(self.task.axes().len()) {
            let mut rng = self.rng(cell, seed);
            let mut insts = Vec::with_capacity(n);
            // Bounded, so that a cell with fewer distinct instances than asked for fails instead of looping.
            let max_draws = n.saturating_mul(20).max(1000);
            let mut draws = 0usize;
            while insts.len() < n {
                if draws == max_draws {
                    return Err(Error::InvalidInstance {
                        task: self.task.id().into(),
                        reason: format!(
                            "cell {} gave only {} distinct instances (not repeating any earlier cell's) in {draws} \
                             draws; its test set needs {n}. Test sets are drawn without replacement across the \
                             task's cells, so each cell's generator must be able to produce at least {n} instances \
                             no earlier cell drew: widen what `generate` varies in this cell (longer lists, wider \
                             value ranges, more levels of detail), or ask for fewer per cell (`datasets generate \
                             --n`, the profile's `test_per_cell`)",
                            cell.label(self.task.axes()),
                            insts.len()
                        ),
                    });
                }
                draws += 1;
                let inst = self.task.generate(cell, &mut rng);
                if seen.insert(to_json(&inst)) {
                    insts.push(inst);
                }
            }
            sets.push((cell, insts));
        }
        Ok(sets)
    }

    fn check(&self, inst: &T::Instance) -> Result<()> {
        self.task.validate(inst).map_err(|reason| Error::InvalidInstance { task: self.task.id().into(), reason })
    }
}

fn to_json<S: serde::Serialize>(v: &S) -> String {
    serde_json::to_string(v).expect("instances serialise to JSON")
}

/// `keep` instances of a canonical test set, chosen uniformly by a stream seeded with the task and the cell (the
/// same on every machine and for every profile asking for `keep`), in the set's order; the whole set when it holds
/// no more. Not its first `keep`: a set is drawn without replacement from its cell's generator, so the instances
/// drawn first are the likelier ones (on navigation-v2's level 0 they were 3-5 points easier for every learner
/// than the second half); a uniform sample of the set estimates what the whole set measures.
fn canonical_sample<I>(set: Vec<I>, keep: usize, task: &str, cell: &str) -> Vec<I> {
    if set.len() <= keep {
        return set;
    }
    let mut rng = stream(dataset::CANONICAL_SEED, task, &format!("canonical-sample/{cell}"));
    let mut chosen = rand::seq::index::sample(&mut rng, set.len(), keep).into_vec();
    chosen.sort_unstable();
    let mut chosen = chosen.into_iter().peekable();
    set.into_iter().enumerate().filter_map(|(i, inst)| (chosen.next_if_eq(&i).is_some()).then_some(inst)).collect()
}

impl<T: Task> DynTask for Bench<T> {
    fn id(&self) -> &'static str {
        self.task.id()
    }
    fn description(&self) -> &'static str {
        self.task.description()
    }
    fn axes(&self) -> &'static [AxisSpec] {
        self.task.axes()
    }
    fn limits(&self) -> &'static str {
        self.task.limits()
    }
    fn metric_name(&self) -> &'static str {
        self.task.metric_name()
    }
    fn work_name(&self) -> &'static str {
        self.task.work_name()
    }
    fn symbolic_description(&self) -> &'static str {
        self.task.symbolic_description()
    }
    fn encoding(&self) -> Encoding {
        self.caps.encoding
    }

    fn solvers(&self) -> Vec<SolverInfo> {
        self.learners
            .iter()
            .map(|l| SolverInfo {
                name: l.name(),
                kind: l.kind(),
                description: l.describe(&self.task),
                seed_dependent: l.seed_dependent(),
                sample_efficiency: l.in_sample_efficiency(),
            })
            .collect()
    }

    fn generate_lines(&self, cell: Cell, n: usize, seed: u64) -> Result<Vec<String>> {
        let mut rng = self.rng(cell, seed);
        (0..n)
            .map(|_| {
                let inst = self.task.generate(cell, &mut rng);
                self.check(&inst)?;
                Ok(to_json(&inst))
            })
            .collect()
    }

    fn write_lines(&self, cell: Cell, n: usize, seed: u64, out: &mut dyn std::io::Write) -> Result<()> {
        let mut rng = self.rng(cell, seed);
        let mut out = std::io::BufWriter::new(out);
        for _ in 0..n {
            let inst = self.task.generate(cell, &mut rng);
            self.check(&inst)?;
            std::io::Write::write_all(&mut out, (to_json(&inst) + "\n").as_bytes())
                .map_err(|e| Error::io("writing", "standard output", e))?;
        }
        std::io::Write::flush(&mut out).map_err(|e| Error::io("writing", "standard output", e))
    }

    fn generate_test_sets(&self, n: usize, seed: u64) -> Result<Vec<(Cell, Vec<String>)>> {
        let sets = self.test_sets(n, seed)?;
        sets.into_iter()
            .map(|(cell, insts)| {
                insts.iter().try_for_each(|i| self.check(i))?;
                Ok((cell, insts.iter().map(to_json).collect()))
            })
            .collect()
    }

    fn prepare(&self, source: &TestSource, profile: &Profile) -> Result<Box<dyn Prepared + '_>> {
        let id = self.task.id();
        let mut tests = Vec::new();
        let source_name;
        match source {
            TestSource::Canonical(dir) => {
                let cells = Cell::grid(self.task.axes().len());
                let labels: Vec<String> = cells.iter().map(|c| c.label(self.task.axes())).collect();
                let (name, sets) = dataset::load_task(dir, id, &labels)?;
                // The profile's `canonical_per_cell` instances of each set (a seeded sample, `canonical_sample`), or
                // all; a set with fewer than asked is refused, never silently evaluated whole.
                let keep = profile.canonical_per_cell.unwrap_or(0);
                if let Some((path, lines)) = sets.iter().find(|(_, lines)| lines.len() < keep) {
                    return Err(Error::OutOfBounds {
                        what: format!("the profile's canonical_per_cell {keep}"),
                        reason: format!(
                            "asks for more instances than `{}` holds ({}): lower it, or leave it out to evaluate \
                             whole sets",
                            path.display(),
                            lines.len()
                        ),
                    });
                }
                source_name = match profile.canonical_per_cell {
                    Some(k) if sets.iter().any(|(_, lines)| lines.len() > k) => {
                        format!("{name}, a seeded sample of {k} of each set")
                    }
                    _ => name,
                };
                // Each instance once across the task's sets, as `verify` demands: a repeat would count twice. Compared
                // as the instances read, not the bytes, so that spacing cannot hide a repeat.
                let mut first: std::collections::HashMap<String, (usize, usize)> = std::collections::HashMap::new();
                for (cell, (path, lines)) in cells.into_iter().zip(&sets) {
                    let mut insts = Vec::with_capacity(lines.len());
                    for (i, line) in lines.iter().enumerate() {
                        let inst: T::Instance = serde_json::from_str(line).map_err(|e| Error::Json {
                            path: path.clone(),
                            line: Some(i + 1),
                            err: e,
                        })?;
                        self.task.validate(&inst).map_err(|reason| Error::Invalid {
                            path: path.clone(),
                            reason: format!("line {}: {reason}", i + 1),
                        })?;
                        insts.push(inst);
                    }
                    if insts.is_empty() {
                        return Err(Error::Invalid { path: path.clone(), reason: "no test instances".into() });
                    }
                    tests.push((cell, insts));
                }
                for (ci, (_, insts)) in tests.iter().enumerate() {
                    for (i, inst) in insts.iter().enumerate() {
                        if let Some((cb, ib)) = first.insert(to_json(inst), (ci, i)) {
                            return Err(Error::RepeatedInstance {
                                task: id.into(),
                                here: format!("{} line {}", labels[ci], i + 1),
                                before: format!("{} line {}", labels[cb], ib + 1),
                            });
                        }
                    }
                }
            }
            TestSource::Generated { n } => {
                source_name = format!("generated (seed {}, {n} per cell)", dataset::CANONICAL_SEED);
                tests = self.test_sets(*n, dataset::CANONICAL_SEED)?;
            }
        }
        // Every test instance stays out of training, evaluated or not (so that training is the same whatever
        // part of the canonical sets a profile evaluates).
        let test_hashes = tests.iter().flat_map(|(_, v)| v.iter().map(to_json)).collect::<HashSet<_>>();
        if let (TestSource::Canonical(_), Some(keep)) = (source, profile.canonical_per_cell) {
            let axes = self.task.axes();
            for (cell, set) in tests.iter_mut() {
                *set = canonical_sample(std::mem::take(set), keep, id, &cell.label(axes));
            }
        }
        Ok(Box::new(PreparedBench { bench: self, profile: profile.clone(), tests, test_hashes, source_name }))
    }

    fn self_check(&self, seed: u64, n: usize) -> Result<(), String> {
        let t = &self.task;
        let axes = t.axes();
        let cells = Cell::grid(axes.len());
        let draw = |cell: Cell| -> Vec<String> {
            // The same stream for every cell: a generator that ignored its cell would give identical lists.
            let mut rng = stream(seed, t.id(), "self-check");
            (0..n).map(|_| to_json(&t.generate(cell, &mut rng))).collect()
        };
        for cell in &cells {
            let label = cell.label(axes);
            let a = draw(*cell);
            if a != draw(*cell) {
                return Err(format!("{label}: the same seed generated different instances"));
            }
            for (i, line) in a.iter().enumerate() {
                let inst: T::Instance =
                    serde_json::from_str(line).map_err(|e| format!("{label} #{i}: JSON round trip failed: {e}"))?;
                if to_json(&inst) != *line {
                    return Err(format!("{label} #{i}: JSON round trip changed the instance"));
                }
                t.validate(&inst).map_err(|e| format!("{label} #{i}: generated an invalid instance: {e}"))?;
                if cell.level == 0 {
                    let (answer, _) = t.solve_symbolic(&inst);
                    if !t.score(&inst, &answer).success {
                        return Err(format!("{label} #{i}: the symbolic solver failed in distribution"));
                    }
                }
                for check in &self.caps.checks {
                    check(t, *cell, &inst).map_err(|e| format!("{label} #{i}: {e}"))?;
                }
            }
        }
        let in_dist = draw(Cell::IN_DIST);
        for (axis, spec) in axes.iter().enumerate() {
            let mut prev = in_dist.clone();
            for level in 1..LEVELS {
                let cur = draw(Cell { axis: Some(axis), level });
                if cur == prev || cur == in_dist {
                    return Err(format!("axis {}: level {level} draws the same instances as a lower level", spec.name));
                }
                prev = cur;
            }
        }
        // Test sets are drawn without replacement across the task: a repeat would count one instance twice.
        let sets = self.test_sets(n, seed).map_err(|e| e.to_string())?;
        let mut first_seen = std::collections::HashMap::new();
        for (cell, insts) in &sets {
            for (i, inst) in insts.iter().enumerate() {
                let here = format!("{} #{i}", cell.label(axes));
                if let Some(before) = first_seen.insert(to_json(inst), here.clone()) {
                    return Err(format!("test sets repeat an instance: {here} is {before}"));
                }
            }
        }
        self.edge_check(seed, SELF_CHECK_EDGE_VARIANTS)?;
        Ok(())
    }

    fn edge_check(&self, seed: u64, variants: usize) -> Result<EdgeCounts, String> {
        let axes = self.task.axes();
        let mut total = EdgeCounts::default();
        for cell in Cell::grid(axes.len()) {
            let label = cell.label(axes);
            let edges = self.edge_instances(cell, seed, variants);
            let c = check_edges(&self.task, &edges).map_err(|e| format!("{label} edge instances: {e}"))?;
            total.accepted += c.accepted;
            total.rejected += c.rejected;
        }
        Ok(total)
    }

    fn timing_cases(&self) -> Vec<TimingCase<'_>> {
        self.timing_cases_of()
    }

    fn train_examples_by_profile(&self) -> &'static [(&'static str, usize)] {
        self.task.train_examples_by_profile()
    }

    fn add_external(&mut self, spec: &crate::external::ExternalSpec) -> Result<()> {
        let bad = |reason: String| Error::External { task: self.task.id().into(), solver: spec.name.clone(), reason };
        let make = self.caps.external.ok_or_else(|| bad("the task offers no learning shape to learn it by".into()))?;
        if self.learners.iter().any(|l| l.name() == spec.name) {
            return Err(bad("the name is taken by another solver of the task".into()));
        }
        self.learners.push(make(spec));
        Ok(())
    }

    fn val_examples_by_profile(&self) -> &'static [(&'static str, usize)] {
        self.task.val_examples_by_profile()
    }

    fn placements(&self) -> &'static [crate::axis::Placement] {
        self.task.placements()
    }

    fn drift_check(&self, seed: u64, n: usize) -> Option<crate::drift::DriftReport> {
        crate::drift::measure_drift(&self.task, n, |cell| {
            stream(seed, self.task.id(), &format!("drift-check/{}", cell.label(self.task.axes())))
        })
    }

    fn symbolic_observes(&self) -> &'static str {
        self.task.symbolic_observes()
    }

    fn instance_space(&self, cell: Cell) -> Option<u128> {
        self.task.instance_space(cell)
    }

    fn learner_check(&self, seed: u64, profile: &Profile, variants: usize) -> Result<EdgeCounts, String> {
        let t = &self.task;
        let draw = |purpose: &str, n: usize| {
            let mut rng = stream(seed, t.id(), purpose);
            (0..n).map(|_| t.generate(Cell::IN_DIST, &mut rng)).collect::<Vec<_>>()
        };
        let data = TrainData {
            train: draw("contract/train", profile.train_examples_for(t.id())),
            val: draw("contract/val", profile.val_examples),
            dropped_overlaps: 0,
            max_epochs: profile.max_epochs,
        };
        // Generated instances first, then edge instances from the farthest level of every axis (accepted and
        // rejected ones interleaved as they come).
        let mut batch = draw("contract/test", 4);
        for axis in 0..t.axes().len() {
            let cell = Cell { axis: Some(axis), level: LEVELS - 1 };
            batch.extend(self.edge_instances(cell, seed, variants / t.axes().len().max(1) + 1));
        }
        let accepted: Vec<bool> =
            batch.iter().map(|i| no_panic("validate", || t.validate(i).is_ok())).collect::<Result<_, _>>()?;
        for learner in &self.learners {
            let name = learner.name();
            let (solver, _) = no_panic("training", || learner.train(t, &data, profile, seed, &|_| {}))
                .map_err(|e| format!("{name}: {e}"))?
                .map_err(|e| format!("{name}: training on generated instances failed: {e}"))?;
            let attempts = no_panic("answering", || solver.solve_batch(t, &batch))
                .map_err(|e| format!("{name}: {e}"))?
                .map_err(|e| format!("{name}: one bad instance failed the whole batch: {e}"))?;
            if attempts.len() != batch.len() {
                return Err(format!("{name}: {} answers for {} instances", attempts.len(), batch.len()));
            }
            for ((inst, a), ok) in batch.iter().zip(&attempts).zip(&accepted) {
                if !ok {
                    continue;
                }
                let o = no_panic("score", || Outcome::of(t, inst, a.answer.as_ref()))
                    .map_err(|e| format!("{name}: {e} on {}", to_json(inst)))?;
                if !o.metric.is_finite() {
                    return Err(format!("{name}: metric {} on {}", o.metric, to_json(inst)));
                }
            }
        }
        let accepted_n = accepted.iter().filter(|&&a| a).count();
        Ok(EdgeCounts { accepted: accepted_n, rejected: accepted.len() - accepted_n })
    }
}

impl<T: Task> Bench<T> {
    /// `variants` edge instances ([`crate::contract::edge_instances`]) of a generated instance of `cell`.
    fn edge_instances(&self, cell: Cell, seed: u64, variants: usize) -> Vec<T::Instance> {
        let label = cell.label(self.task.axes());
        let mut rng = stream(seed, self.task.id(), &format!("edges/{label}"));
        let base = self.task.generate(cell, &mut rng);
        edge_instances::<T>(&base, variants, &mut rng)
    }
}

/// Checks that `level` is a valid drift level and `axis` names one of the task's axes; returns the cell.
pub fn parse_cell(task: &dyn DynTask, axis: Option<&str>, level: u32) -> Result<Cell> {
    if level >= LEVELS as u32 {
        return Err(Error::LevelOutOfRange { level, max: LEVELS - 1 });
    }
    let axes = task.axes();
    let known = || axes.iter().map(|a| a.name).collect::<Vec<_>>().join(", ");
    // An axis is checked even at level 0 (where every axis means the training distribution), so that a typo is
    // never silently ignored.
    let idx = match axis {
        Some(name) => Some(axes.iter().position(|a| a.name == name).ok_or_else(|| Error::UnknownAxis {
            task: task.id().into(),
            axis: name.into(),
            known: known(),
        })?),
        None => None,
    };
    match (level, idx) {
        (0, _) => Ok(Cell::IN_DIST),
        (_, Some(idx)) => Ok(Cell { axis: Some(idx), level: level as u8 }),
        (_, None) => Err(Error::MissingAxis { task: task.id().into(), level, known: known() }),
    }
}

pub use crate::files::require_dir;
