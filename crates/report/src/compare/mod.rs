//! `driftbench compare A B`: did B get better or worse than A, and where?
//!
//! Each side is a records folder or a report folder (its per-task CSV files). Per (task, solver, cell), where both
//! sides' records hold per-instance outcomes, the two are paired instance by instance: an exact sign-flip test
//! clustered by instance (McNemar's exact test with one seed a side, [`crate::paired`]) and a paired t-interval of
//! B − A. Otherwise the success counts are pooled over seeds, and B − A is given with Newcombe's hybrid-score 95%
//! interval and a two-sided two-proportion z-test, and the output says why. The p-values of every compared cell are
//! adjusted together with Holm's step-down method (see [`METHOD`]). Records of different test sets or task
//! versions are refused.
mod markdown;

pub use markdown::{markdown, write};

use crate::paired::{mde_unpaired, paired_cell, PairedCell};
use driftbench_core::outcomes::Bits;
use driftbench_core::record::RunRecord;
use driftbench_core::stats::wilson;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Errors of the comparison.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A folder with neither records nor report CSV files.
    #[error(
        "`{0}` holds no run records (*.json) and no report CSV files (<task>.csv): give a records folder such \
             as results/runs or a report folder such as results"
    )]
    NoData(PathBuf),
    /// The two sides evaluated a task on different test sets.
    #[error(
        "{task}: the two sides were tested on different test sets (A: {a}; B: {b}); success rates on different \
             instances are not comparable: rerun one side on the other's test sets"
    )]
    TestSetsDiffer {
        /// Task id.
        task: String,
        /// A's test set.
        a: String,
        /// B's test set.
        b: String,
    },
    /// The two sides hold different versions of a task.
    #[error(
        "task versions differ: A has {a}, B has {b}; a new task version changes its instances or rules, so \
             its results are not comparable with the old one's"
    )]
    VersionsDiffer {
        /// A's task ids of that task.
        a: String,
        /// B's task ids of that task.
        b: String,
    },
    /// One side mixes test sets within one task.
    #[error("{side}: records of {task} come from several test sets ({sets}): compare one test set at a time")]
    MixedTestSets {
        /// Which side.
        side: String,
        /// Task id.
        task: String,
        /// The test sets found.
        sets: String,
    },
    /// One side holds records of a task made under several profiles, which cannot be pooled (as `report` refuses).
    #[error("{side}: records of {task} come from several profiles ({profiles}): compare one profile at a time")]
    MixedProfiles {
        /// Which side.
        side: String,
        /// Task id.
        task: String,
        /// The profiles found.
        profiles: String,
    },
    /// No (task, solver, cell) is in both sides.
    #[error("A and B have no (task, solver, cell) in common")]
    NothingInCommon,
    /// A report CSV file that cannot be read or parsed as CSV.
    #[error("reading `{path}`")]
    CsvRead {
        /// The file.
        path: PathBuf,
        /// The CSV reader's error.
        #[source]
        source: csv::Error,
    },
    /// A report CSV file that parses but lacks what a comparison needs.
    #[error("reading `{path}`: {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Significance level outside (0, 1).
    #[error("the significance level must lie strictly between 0 and 1, not {0}")]
    Alpha(f64),
    /// Reading records or writing the output failed.
    #[error(transparent)]
    Core(#[from] driftbench_core::Error),
}

/// How the comparison decides, printed in its output.
pub const METHOD: &str = "Both sides are usually judged on the same canonical test instances, so where both sides' \
records keep per-instance outcomes the cells are compared **paired**, instance by instance. For instance i, with \
a_i of A's k_A seeds and b_i of B's k_B seeds succeeding, d_i = k_A·b_i − k_B·a_i. **p** is the exact two-sided \
sign-flip test on the d_i (under the null hypothesis A and B are exchangeable on each instance, so each d_i is \
+|d_i| or −|d_i| with equal chance): the instance is the unit, so three seeds are three judgements of the same \
1,000 instances, not 3,000 instances; with one seed a side it is McNemar's exact test. **Δ** is B − A in \
percentage points with the paired 95% t-interval over instances (exact t quantile); **A+ / B+** count the \
instances each side did better on, and the per-seed column gives McNemar's exact p for each seed both sides ran. \
Where a side has no per-instance outcomes (a report folder, or records written before they were kept), the cell \
falls back to the **unpaired** comparison and says why: pooled counts, Newcombe's hybrid-score interval and the \
two-proportion z-test, which treats the instances as independent. **MDE** is the smallest |Δ| the cell's test \
would detect with 80% power at α (unadjusted): (z₁₋α/₂ + z₀.₈) × the standard error of Δ, and never less than the \
least difference the exact test can flag at all (6 one-way instances at α = 0.05). **Holm p** adjusts every p in \
the comparison together with Holm's step-down method, and a cell is flagged when its Holm p is below α. Holm \
rather than Benjamini-Hochberg: `--fail-on-regression` turns a single flag into a failed check, so what must be \
bounded is the chance of even one false flag (the family-wise error rate), which Holm bounds under any dependence \
between cells (they share trained models). Caveat: the tests measure instance-level uncertainty given the trained \
models; with few seeds a flag says that these trained models differ, not that every retraining would.";

/// How one cell was compared.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// Instance by instance (see [`crate::paired`]).
    Paired(PairedCell),
    /// Pooled counts, because the outcomes could not be paired, for the reason given.
    Unpaired(String),
}

/// Pooled results of one (task, solver, cell) on one side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pooled {
    /// Successes over every seed.
    pub successes: u64,
    /// Instances over every seed.
    pub n: u64,
    /// Seeds pooled.
    pub seeds: u64,
}

/// (task, solver, axis, level).
pub type CellKey = (String, String, String, u8);

/// One seed's per-instance successes in one cell, or why the record has none.
pub type SeedOutcomes = (u64, Result<Bits, String>);

/// One side of a comparison: pooled counts per cell and what each task was tested on.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// Where it was read from (for the output).
    pub label: String,
    /// Pooled counts per (task, solver, axis, level).
    pub cells: BTreeMap<CellKey, Pooled>,
    /// Test set of each task, as [`test_set_key`] gives it.
    pub test_sets: BTreeMap<String, String>,
    /// Profiles seen per task, as `name (hash h)`.
    pub profiles: BTreeMap<String, BTreeSet<String>>,
    /// Level descriptions per (task, axis, level).
    pub descriptions: BTreeMap<(String, String, u8), String>,
    /// Per cell, each seed's per-instance successes, or why there are none.
    pub outcomes: BTreeMap<CellKey, Vec<SeedOutcomes>>,
}

/// What identifies a test set in a record's `test_source`: for canonical sets the manifest hash (the folder they
/// were read from does not matter), otherwise the whole description.
pub fn test_set_key(test_source: &str) -> String {
    if test_source.starts_with("canonical") {
        if let Some(i) = test_source.find("manifest ") {
            let hash: String = test_source[i + 9..].chars().take_while(|c| c.is_ascii_hexdigit()).collect();
            if !hash.is_empty() {
                return format!("canonical test sets, manifest {hash}");
            }
        }
    }
    test_source.to_string()
}

impl Side {
    fn add(&mut self, side: &str, task: &str, test_source: &str, profile: String) -> Result<(), CompareError> {
        let key = test_set_key(test_source);
        match self.test_sets.get(task) {
            Some(seen) if *seen != key => {
                return Err(CompareError::MixedTestSets {
                    side: side.into(),
                    task: task.into(),
                    sets: format!("{seen}; {key}"),
                })
            }
            Some(_) => {}
            None => {
                self.test_sets.insert(task.into(), key);
            }
        }
        self.profiles.entry(task.into()).or_default().insert(profile);
        Ok(())
    }

    /// The drift records (sample-efficiency runs are left out) of one side.
    pub fn from_records(label: &str, records: &[RunRecord]) -> Result<Side, CompareError> {
        let mut side = Side { label: label.into(), ..Side::default() };
        for r in records.iter().filter(|r| r.experiment.is_none()) {
            let profile = format!("{} (hash {})", r.profile.name, r.profile.short_hash());
            side.add(label, &r.task, &r.test_source, profile)?;
            for c in &r.cells {
                let key = (r.task.clone(), r.solver.clone(), c.axis.clone(), c.level);
                let bits = match &c.outcomes {
                    Some(o) => o.decode(c.n).map(|d| d.success),
                    None => Err(format!(
                        "{label} seed {} holds no per-instance outcomes (written before records kept them)",
                        r.seed
                    )),
                };
                side.outcomes.entry(key.clone()).or_default().push((r.seed, bits));
                let p = side.cells.entry(key).or_default();
                p.successes += c.successes;
                p.n += c.n;
                p.seeds += 1;
                side.descriptions
                    .entry((r.task.clone(), c.axis.clone(), c.level))
                    .or_insert_with(|| c.level_description.clone());
            }
        }
        Ok(side)
    }

    /// The per-task CSV files of a report folder (`<task>.csv`). Reports written before the CSV had a
    /// `test_source` column name the test set in `<task>.md`, which is read instead.
    pub fn from_report_dir(label: &str, dir: &Path) -> Result<Side, CompareError> {
        let mut side = Side { label: label.into(), ..Side::default() };
        let entries = std::fs::read_dir(dir).map_err(|e| driftbench_core::Error::io("reading folder", dir, e))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        paths.sort();
        for path in paths {
            let err = |reason: String| CompareError::Csv { path: path.clone(), reason };
            let csv_err = |source: csv::Error| CompareError::CsvRead { path: path.clone(), source };
            // Read through the regular-file check: a named pipe would block forever.
            let bytes = driftbench_core::files::read_regular(&path, "reading", "CSV file", 1 << 30)?;
            let mut reader = csv::Reader::from_reader(bytes.as_slice());
            let headers = reader.headers().map_err(csv_err)?.clone();
            let col = |name: &str| headers.iter().position(|h| h == name);
            let needed = ["task", "solver", "seed", "profile", "axis", "level", "level_description", "n", "successes"];
            let Some(idx) = needed.iter().map(|n| col(n)).collect::<Option<Vec<usize>>>() else {
                continue; // summary.csv and other tables: not per-run rows
            };
            let (source_col, hash_col) = (col("test_source"), col("profile_hash"));
            let mut md_source: Option<String> = None;
            for (line, row) in reader.records().enumerate() {
                let row = row.map_err(csv_err)?;
                let get = |i: usize| row.get(i).unwrap_or("");
                let task = get(idx[0]).to_string();
                let source = match source_col {
                    Some(i) => get(i).to_string(),
                    None => match &md_source {
                        Some(s) => s.clone(),
                        None => {
                            let s = test_source_from_page(&dir.join(format!("{task}.md"))).ok_or_else(|| {
                                err(format!(
                                    "no test_source column, and {task}.md beside it does not name the test set"
                                ))
                            })?;
                            md_source = Some(s.clone());
                            s
                        }
                    },
                };
                let profile = match hash_col {
                    Some(i) => format!("{} (hash {})", get(idx[3]), &get(i)[..get(i).len().min(12)]),
                    None => get(idx[3]).to_string(),
                };
                side.add(label, &task, &source, profile)?;
                let number = |i: usize, what: &str| -> Result<u64, CompareError> {
                    get(idx[i]).parse().map_err(|_| err(format!("row {}: `{what}` is not a count", line + 2)))
                };
                let level = u8::try_from(number(5, "level")?).map_err(|_| err(format!("row {}: level", line + 2)))?;
                let (n, successes) = (number(7, "n")?, number(8, "successes")?);
                if successes > n {
                    return Err(err(format!("row {}: more successes than instances", line + 2)));
                }
                let axis = get(idx[4]).to_string();
                let key = (task.clone(), get(idx[1]).to_string(), axis.clone(), level);
                let seed = get(idx[2]).parse().map_err(|_| err(format!("row {}: `seed` is not a number", line + 2)))?;
                let why = format!("{label} is a report folder: its CSV keeps counts, not per-instance outcomes");
                side.outcomes.entry(key.clone()).or_default().push((seed, Err(why)));
                let p = side.cells.entry(key).or_default();
                p.successes += successes;
                p.n += n;
                p.seeds += 1;
                side.descriptions.entry((task, axis, level)).or_insert_with(|| get(idx[6]).to_string());
            }
        }
        Ok(side)
    }

    /// A records folder (any `*.json` directly inside) or else a report folder.
    pub fn load(dir: &Path) -> Result<Side, CompareError> {
        Side::load_checked(dir, &|_| Ok(()))
    }

    /// As [`Side::load`], with every record also put to `check` (the caller's checks against the tasks it knows),
    /// as the records are read.
    pub fn load_checked(dir: &Path, check: &dyn Fn(&RunRecord) -> Result<(), String>) -> Result<Side, CompareError> {
        driftbench_core::bench::require_dir(dir, "folder to compare")?;
        let label = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| driftbench_core::Error::io("reading folder", dir, e))?;
        let has_json = entries.filter_map(|e| e.ok()).any(|e| e.path().extension().is_some_and(|x| x == "json"));
        let side = if has_json {
            let records = driftbench_core::validate::read_dir(dir)?;
            for r in &records {
                check(r).map_err(|reason| driftbench_core::Error::Invalid { path: dir.join(r.file_name()), reason })?;
            }
            Side::from_records(&label, &records)?
        } else {
            Side::from_report_dir(&label, dir)?
        };
        if side.cells.is_empty() {
            return Err(CompareError::NoData(dir.into()));
        }
        if let Some((task, p)) = side.profiles.iter().find(|(_, p)| p.len() > 1) {
            let profiles = p.iter().cloned().collect::<Vec<_>>().join(", ");
            return Err(CompareError::MixedProfiles { side: side.label.clone(), task: task.clone(), profiles });
        }
        Ok(side)
    }
}

/// The test set a task page names (`test instances: ...` in its header line).
fn test_source_from_page(page: &Path) -> Option<String> {
    // Through the regular-file check: a named pipe would block.
    let text = driftbench_core::files::read_regular_text(page, "reading", "page", 64 << 20).ok()?;
    let i = text.find("test instances: ")? + "test instances: ".len();
    let line = text[i..].lines().next()?;
    Some(line.trim().trim_end_matches('.').to_string())
}

/// Newcombe's hybrid-score 95% interval (his method 10) for p_b − p_a, from the two Wilson intervals.
pub fn diff_interval(a: Pooled, b: Pooled) -> (f64, f64) {
    let rate = |p: Pooled| if p.n == 0 { 0.0 } else { p.successes as f64 / p.n as f64 };
    let (pa, pb) = (rate(a), rate(b));
    let ((la, ua), (lb, ub)) = (wilson(a.successes, a.n), wilson(b.successes, b.n));
    let d = pb - pa;
    (d - ((pb - lb).powi(2) + (ua - pa).powi(2)).sqrt(), d + ((ub - pb).powi(2) + (pa - la).powi(2)).sqrt())
}

/// Two-sided p-value of the two-proportion z-test with pooled variance; 1 when it is undefined (an empty side,
/// or both sides all successes or all failures).
pub fn two_proportion_p(a: Pooled, b: Pooled) -> f64 {
    if a.n == 0 || b.n == 0 {
        return 1.0;
    }
    let (na, nb) = (a.n as f64, b.n as f64);
    let pooled = (a.successes + b.successes) as f64 / (na + nb);
    let var = pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb);
    if var <= 0.0 {
        return 1.0;
    }
    let z = (b.successes as f64 / nb - a.successes as f64 / na) / var.sqrt();
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Holm's step-down adjustment: adjusted p-values in the input's order (the i-th smallest p times m − i, made
/// non-decreasing, capped at 1).
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut out = vec![1.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// Whether B moved significantly, and which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Significantly higher success in B.
    Better,
    /// Significantly lower success in B.
    Worse,
    /// No significant difference.
    Same,
}

/// One compared (task, solver, cell).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// (task, solver, axis, level).
    pub key: CellKey,
    /// A's pooled counts.
    pub a: Pooled,
    /// B's pooled counts.
    pub b: Pooled,
    /// B − A success rate.
    pub diff: f64,
    /// 95% interval of `diff`.
    pub interval: (f64, f64),
    /// Unadjusted p-value.
    pub p: f64,
    /// Holm-adjusted p-value.
    pub p_holm: f64,
    /// The flag.
    pub verdict: Verdict,
    /// How the cell was compared.
    pub method: Method,
    /// Minimum detectable effect (see [`METHOD`]).
    pub mde: f64,
}

/// A whole comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Side A.
    pub a: Side,
    /// Side B.
    pub b: Side,
    /// Significance level of the flags.
    pub alpha: f64,
    /// Every (task, solver, cell) present on both sides, sorted.
    pub rows: Vec<Row>,
}

impl Comparison {
    /// Cells where B is significantly worse.
    pub fn regressions(&self) -> Vec<&Row> {
        self.rows.iter().filter(|r| r.verdict == Verdict::Worse).collect()
    }
}

/// `sorting-v1` -> `sorting`: the task without its version.
fn base_name(task: &str) -> &str {
    task.rsplit_once("-v").filter(|(_, v)| v.chars().all(|c| c.is_ascii_digit())).map_or(task, |(b, _)| b)
}

/// Compares two sides; refuses different task versions and different test sets.
pub fn compare(a: Side, b: Side, alpha: f64) -> Result<Comparison, CompareError> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(CompareError::Alpha(alpha));
    }
    let versions = |s: &Side| -> BTreeMap<String, BTreeSet<String>> {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for t in s.test_sets.keys() {
            m.entry(base_name(t).to_string()).or_default().insert(t.clone());
        }
        m
    };
    let (va, vb) = (versions(&a), versions(&b));
    for (base, ta) in &va {
        if let Some(tb) = vb.get(base).filter(|tb| *tb != ta) {
            let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
            return Err(CompareError::VersionsDiffer { a: join(ta), b: join(tb) });
        }
    }
    for (task, sa) in &a.test_sets {
        if let Some(sb) = b.test_sets.get(task).filter(|sb| *sb != sa) {
            return Err(CompareError::TestSetsDiffer { task: task.clone(), a: sa.clone(), b: sb.clone() });
        }
    }
    let mut rows: Vec<Row> = a
        .cells
        .iter()
        .filter_map(|(key, &pa)| b.cells.get(key).map(|&pb| (key, pa, pb)))
        .map(|(key, pa, pb)| {
            let rate = |p: Pooled| if p.n == 0 { 0.0 } else { p.successes as f64 / p.n as f64 };
            let paired = pair(a.outcomes.get(key), b.outcomes.get(key), alpha);
            match paired {
                Ok(c) => Row {
                    key: key.clone(),
                    a: pa,
                    b: pb,
                    diff: c.diff,
                    interval: c.interval,
                    p: c.p,
                    p_holm: 1.0,
                    verdict: Verdict::Same,
                    mde: c.mde,
                    method: Method::Paired(c),
                },
                Err(why) => {
                    let pooled = (pa.successes + pb.successes) as f64 / (pa.n + pb.n).max(1) as f64;
                    Row {
                        key: key.clone(),
                        a: pa,
                        b: pb,
                        diff: rate(pb) - rate(pa),
                        interval: diff_interval(pa, pb),
                        p: two_proportion_p(pa, pb),
                        p_holm: 1.0,
                        verdict: Verdict::Same,
                        mde: mde_unpaired(pooled, pa.n, pb.n, alpha),
                        method: Method::Unpaired(why),
                    }
                }
            }
        })
        .collect();
    if rows.is_empty() {
        return Err(CompareError::NothingInCommon);
    }
    // Level 0 first within each (task, solver), then the axes by name and level.
    rows.sort_by(|x, y| {
        let key = |r: &Row| (r.key.0.clone(), r.key.1.clone(), r.key.3 != 0, r.key.2.clone(), r.key.3);
        key(x).cmp(&key(y))
    });
    let adjusted = holm(&rows.iter().map(|r| r.p).collect::<Vec<_>>());
    for (r, p) in rows.iter_mut().zip(adjusted) {
        r.p_holm = p;
        r.verdict = match (p < alpha, r.diff) {
            (true, d) if d > 0.0 => Verdict::Better,
            (true, d) if d < 0.0 => Verdict::Worse,
            _ => Verdict::Same,
        };
    }
    Ok(Comparison { a, b, alpha, rows })
}

/// Pairs one cell's per-seed outcomes of both sides, or says why they cannot be paired.
fn pair(a: Option<&Vec<SeedOutcomes>>, b: Option<&Vec<SeedOutcomes>>, alpha: f64) -> Result<PairedCell, String> {
    let side = |runs: Option<&Vec<SeedOutcomes>>| -> Result<Vec<(u64, Bits)>, String> {
        runs.ok_or_else(|| "no per-instance outcomes".to_string())?
            .iter()
            .map(|(seed, bits)| bits.clone().map(|b| (*seed, b)))
            .collect()
    };
    let (a, b) = (side(a)?, side(b)?);
    paired_cell(&a, &b, alpha).ok_or_else(|| "the two sides' instance counts differ".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pooled(successes: u64, n: u64) -> Pooled {
        Pooled { successes, n, seeds: 1 }
    }

    // Reference values computed by hand from the closed forms (Python, math.erfc; z = 1.959964).
    #[test]
    fn two_proportion_test_matches_reference_values() {
        let cases = [
            ((950, 1000), (900, 1000), 2.188_24e-5),
            ((3000, 3000), (2990, 3000), 1.551_276e-3),
            ((10, 20), (15, 20), 0.102_470_4),
        ];
        for ((ka, na), (kb, nb), want) in cases {
            let p = two_proportion_p(pooled(ka, na), pooled(kb, nb));
            assert!((p - want).abs() / want < 1e-5, "{ka}/{na} vs {kb}/{nb}: {p} vs {want}");
        }
        // Undefined tests are no evidence at all.
        assert_eq!(two_proportion_p(pooled(0, 1000), pooled(0, 1000)), 1.0);
        assert_eq!(two_proportion_p(pooled(1000, 1000), pooled(500, 500)), 1.0);
        assert_eq!(two_proportion_p(pooled(0, 0), pooled(5, 10)), 1.0);
    }

    #[test]
    fn newcombe_interval_matches_reference_values() {
        let cases = [
            ((950, 1000), (900, 1000), (-0.073_387_87, -0.027_052_23)),
            ((3000, 3000), (2990, 3000), (-0.006_125_36, -0.001_345_62)),
            ((10, 20), (15, 20), (-0.046_835_58, 0.493_646_22)),
            ((0, 1000), (0, 1000), (-0.003_826_76, 0.003_826_76)),
        ];
        for ((ka, na), (kb, nb), (lo, hi)) in cases {
            let (l, h) = diff_interval(pooled(ka, na), pooled(kb, nb));
            assert!((l - lo).abs() < 1e-6 && (h - hi).abs() < 1e-6, "{ka}/{na} vs {kb}/{nb}: [{l}, {h}]");
        }
    }

    #[test]
    fn holm_adjusts_step_down_and_stays_monotone() {
        // Sorted: 0.005×4 = 0.02, 0.01×3 = 0.03, 0.03×2 = 0.06, 0.04×1 = 0.04 -> raised to 0.06.
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (a, w) in adj.iter().zip(want) {
            assert!((a - w).abs() < 1e-12, "{adj:?}");
        }
        assert_eq!(holm(&[0.5, 0.9]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }

    fn side(task: &str, source: &str, cells: &[(&str, &str, u8, u64, u64)]) -> Side {
        let mut s = Side { label: "x".into(), ..Side::default() };
        s.test_sets.insert(task.into(), test_set_key(source));
        for &(solver, axis, level, k, n) in cells {
            s.cells.insert((task.into(), solver.into(), axis.into(), level), pooled(k, n));
        }
        s
    }

    const CANON: &str = "canonical (datasets, manifest 2432e23d43555db1)";

    #[test]
    fn flags_significant_moves_after_holm() {
        let a = side(
            "rocket-v1",
            CANON,
            &[("mlp", "in-dist", 0, 990, 1000), ("mlp", "gravity", 4, 100, 1000), ("mlp", "distance", 1, 500, 1000)],
        );
        // The same test sets read from another folder.
        let b = side(
            "rocket-v1",
            "canonical (/tmp/elsewhere/datasets, manifest 2432e23d43555db1)",
            &[("mlp", "in-dist", 0, 991, 1000), ("mlp", "gravity", 4, 300, 1000), ("mlp", "distance", 1, 420, 1000)],
        );
        let c = compare(a, b, 0.05).unwrap();
        let verdicts: Vec<_> = c.rows.iter().map(|r| (r.key.2.as_str(), r.verdict)).collect();
        assert_eq!(
            verdicts,
            [("in-dist", Verdict::Same), ("distance", Verdict::Worse), ("gravity", Verdict::Better)],
            "{:?}",
            c.rows
        );
        assert_eq!(c.regressions().len(), 1);
        let md = markdown(&c);
        assert!(md.contains("Holm") && md.contains("▼ worse") && md.contains("▲ better"), "{md}");
    }

    #[test]
    fn refuses_different_test_sets() {
        let a = side("sorting-v1", CANON, &[("mlp", "in-dist", 0, 9, 10)]);
        let b = side("sorting-v1", "generated (seed 2017, 20 per cell)", &[("mlp", "in-dist", 0, 9, 10)]);
        let err = compare(a, b, 0.05).unwrap_err();
        assert!(matches!(err, CompareError::TestSetsDiffer { .. }), "{err}");
        assert!(err.to_string().contains("different test sets"), "{err}");
        let a = side("sorting-v1", CANON, &[("mlp", "in-dist", 0, 9, 10)]);
        let b = side("sorting-v1", "canonical (datasets, manifest 0000000000000000)", &[("mlp", "in-dist", 0, 9, 10)]);
        assert!(matches!(compare(a, b, 0.05), Err(CompareError::TestSetsDiffer { .. })));
    }

    #[test]
    fn refuses_different_task_versions() {
        let a = side("sorting-v1", CANON, &[("mlp", "in-dist", 0, 9, 10)]);
        let b = side("sorting-v2", CANON, &[("mlp", "in-dist", 0, 9, 10)]);
        let err = compare(a, b, 0.05).unwrap_err();
        assert!(matches!(err, CompareError::VersionsDiffer { .. }), "{err}");
        assert!(err.to_string().contains("sorting-v1") && err.to_string().contains("sorting-v2"), "{err}");
    }

    #[test]
    fn refuses_nothing_in_common_and_bad_alpha() {
        let a = side("sorting-v1", CANON, &[("mlp", "in-dist", 0, 9, 10)]);
        let b = side("rocket-v1", CANON, &[("mlp", "in-dist", 0, 9, 10)]);
        assert!(matches!(compare(a.clone(), b, 0.05), Err(CompareError::NothingInCommon)));
        assert!(matches!(compare(a.clone(), a, 1.5), Err(CompareError::Alpha(_))));
    }

    #[test]
    fn report_csv_and_records_give_the_same_side() {
        let dir = tempfile::tempdir().unwrap();
        let csv = "task,solver,kind,seed,profile,axis,level,level_description,n,successes,no_answer,rate,wilson_low,\
                   wilson_high,mean_metric,mean_work\n\
                   sorting-v1,mlp,network,1,quick,in-dist,0,\"training, as it was\",100,90,0,0.9,0,0,0,0\n\
                   sorting-v1,mlp,network,2,quick,in-dist,0,\"training, as it was\",100,80,0,0.8,0,0,0,0\n";
        std::fs::write(dir.path().join("sorting-v1.csv"), csv).unwrap();
        // An old report: the test set is named on the task page only.
        let err = Side::from_report_dir("a", dir.path()).unwrap_err();
        assert!(err.to_string().contains("test_source"), "{err}");
        std::fs::write(
            dir.path().join("sorting-v1.md"),
            format!("# sorting-v1\n\nGenerated. Profile `quick`; test instances: {CANON}.\n"),
        )
        .unwrap();
        std::fs::write(dir.path().join("summary.csv"), "task,solver\nsorting-v1,mlp\n").unwrap();
        let s = Side::load(dir.path()).unwrap();
        assert_eq!(
            s.cells.get(&("sorting-v1".into(), "mlp".into(), "in-dist".into(), 0)),
            Some(&Pooled { successes: 170, n: 200, seeds: 2 })
        );
        assert_eq!(s.test_sets["sorting-v1"], test_set_key(CANON));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(Side::load(empty.path()), Err(CompareError::NoData(_))));
    }
}
