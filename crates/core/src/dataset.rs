//! Canonical test sets: frozen JSON Lines files, one per (task, cell), with a manifest of BLAKE3 hashes.
//!
//! Evaluation reads these files rather than calling the generator, so results stay comparable when a
//! generator changes; `verify` detects any edit to a file.
use crate::error::{Error, Result};
use crate::record::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the manifest inside a datasets folder.
pub const MANIFEST: &str = "manifest.json";
/// Version of the manifest format.
pub const MANIFEST_SCHEMA: u32 = 1;
/// Seed of the canonical test sets (the year of the essay the benchmark tests).
pub const CANONICAL_SEED: u64 = 2017;

/// The manifest: every frozen test set and its hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`MANIFEST_SCHEMA`].
    pub schema: u32,
    /// The sets, sorted by task then file.
    pub sets: Vec<SetEntry>,
    /// Tasks whose test sets are sealed: generated once their solvers' configurations were frozen, never
    /// regenerated, never read by tuning (absent in manifests written before sealing existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sealed: Vec<Seal>,
}

/// When and at which code a task's test sets were sealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    /// Task id.
    pub task: String,
    /// UTC date of sealing, `YYYY-MM-DD`.
    pub date: String,
    /// The commit whose solver configurations were frozen when the sets were sealed.
    pub commit: String,
    /// BLAKE3 of the task's manifest entries at sealing (file, count and hash of every set): a set changed
    /// afterwards no longer matches its seal.
    pub sets_blake3: String,
}

/// One frozen test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetEntry {
    /// Task id.
    pub task: String,
    /// Cell label, e.g. `length-L2`.
    pub cell: String,
    /// Path relative to the datasets folder.
    pub file: String,
    /// Number of instances (lines).
    pub n: usize,
    /// Seed the generator was called with.
    pub seed: u64,
    /// BLAKE3 hash of the file's bytes, hex.
    pub blake3: String,
}

impl Manifest {
    /// Reads `dir/manifest.json`; `Ok(None)` when there is none. The manifest is checked whole ([`Self::check`]):
    /// a manifest `run` would load is one `verify` accepts.
    pub fn load(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        let text = match crate::files::read_regular_text(
            &path,
            "reading dataset manifest",
            "manifest",
            crate::files::MAX_MANIFEST_BYTES,
        ) {
            Ok(t) => t,
            Err(Error::Io { err, .. }) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let m: Manifest =
            serde_json::from_str(&text).map_err(|e| Error::Json { path: path.clone(), line: None, err: e })?;
        if m.schema != MANIFEST_SCHEMA {
            return Err(Error::Invalid {
                path,
                reason: format!("manifest schema {} is not {MANIFEST_SCHEMA}", m.schema),
            });
        }
        m.check().map_err(|reason| Error::Invalid { path, reason })?;
        Ok(Some(m))
    }

    /// Checks the entries: each names its file as `<task>/<cell>.jsonl` (relative, inside the folder, under its
    /// own task and cell, as [`write_set`] writes it), no (task, cell) and no file twice, a count within
    /// [`crate::bounds::TEST_PER_CELL`].
    pub fn check(&self) -> std::result::Result<(), String> {
        let mut cells = std::collections::HashSet::new();
        let mut files = std::collections::HashSet::new();
        for (i, e) in self.sets.iter().enumerate() {
            let at = format!("entry {} ({} {})", i + 1, e.task, e.cell);
            let own = format!("{}/{}.jsonl", e.task, e.cell);
            let plain = |s: &str| !s.is_empty() && !s.starts_with('.') && !s.contains(['/', '\\']);
            if !plain(&e.task) || !plain(&e.cell) {
                return Err(format!("{at}: task and cell must be plain names"));
            }
            if e.file != own {
                let why = if Path::new(&e.file).is_absolute() {
                    "an absolute path".to_string()
                } else if Path::new(&e.file).components().any(|c| matches!(c, std::path::Component::ParentDir)) {
                    "a path that climbs out of the datasets folder".to_string()
                } else {
                    "another cell's file".to_string()
                };
                return Err(format!("{at}: file `{}` is {why}; this cell's file is `{own}`", e.file));
            }
            if !cells.insert((e.task.as_str(), e.cell.as_str())) || !files.insert(e.file.as_str()) {
                return Err(format!("{at} is listed twice"));
            }
            // An empty set (n 0) is left to the loader, which names its file.
            if let Err(reason) = crate::bounds::TEST_PER_CELL.check(e.n.max(1) as u64) {
                return Err(format!("{at}: n {reason}"));
            }
        }
        let mut sealed = std::collections::HashSet::new();
        for s in &self.sealed {
            if !sealed.insert(s.task.as_str()) {
                return Err(format!("{} is sealed twice", s.task));
            }
            if self.sets_hash(&s.task) != s.sets_blake3 {
                return Err(format!(
                    "{}'s test sets no longer match their seal of {} at {}: sealed sets are never regenerated or \
                     edited (a new task version gets new sets)",
                    s.task, s.date, s.commit
                ));
            }
        }
        Ok(())
    }

    /// Writes the manifest atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).expect("manifest serialises");
        text.push('\n');
        write_atomic(&dir.join(MANIFEST), text.as_bytes())
    }

    /// The entries of one task.
    pub fn task_sets<'a>(&'a self, task: &'a str) -> impl Iterator<Item = &'a SetEntry> + 'a {
        self.sets.iter().filter(move |s| s.task == task)
    }

    /// The seal of `task`, if its sets are sealed.
    pub fn seal_of(&self, task: &str) -> Option<&Seal> {
        self.sealed.iter().find(|s| s.task == task)
    }

    /// BLAKE3 over `task`'s entries (cell, file, count, seed and hash of each, in order): what a [`Seal`] pins.
    pub fn sets_hash(&self, task: &str) -> String {
        let text: String = self
            .task_sets(task)
            .map(|e| format!("{}\t{}\t{}\t{}\t{}\n", e.cell, e.file, e.n, e.seed, e.blake3))
            .collect();
        hash_hex(text.as_bytes())
    }

    /// Seals `task`'s sets at `commit` on `date`; an error when it has no sets or is sealed already.
    pub fn seal(&mut self, task: &str, date: String, commit: String) -> std::result::Result<&Seal, String> {
        if let Some(s) = self.seal_of(task) {
            return Err(format!("{task}'s test sets were sealed on {} at {} already", s.date, s.commit));
        }
        if self.task_sets(task).next().is_none() {
            return Err(format!("{task} has no test sets to seal: run `driftbench datasets generate --task {task}`"));
        }
        let sets_blake3 = self.sets_hash(task);
        self.sealed.push(Seal { task: task.into(), date, commit, sets_blake3 });
        self.sealed.sort_by(|a, b| a.task.cmp(&b.task));
        Ok(self.sealed.iter().find(|s| s.task == task).expect("just sealed"))
    }

    /// Replaces the entries of `task` with `entries`.
    pub fn replace_task(&mut self, task: &str, entries: Vec<SetEntry>) {
        self.sets.retain(|s| s.task != task);
        self.sets.extend(entries);
        self.sets.sort_by(|a, b| (&a.task, &a.file).cmp(&(&b.task, &b.file)));
    }
}

/// `YYYY-MM-DD` of a Unix time in seconds (UTC, proleptic Gregorian).
pub fn utc_date(unix_seconds: u64) -> String {
    // Days to civil date (H. Hinnant's algorithm).
    let z = (unix_seconds / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Hex BLAKE3 of some bytes.
pub fn hash_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Writes one test set as JSON Lines and returns its manifest entry.
pub fn write_set(dir: &Path, task: &str, cell: &str, seed: u64, lines: &[String]) -> Result<SetEntry> {
    let file = format!("{task}/{cell}.jsonl");
    let mut bytes = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        bytes.extend_from_slice(l.as_bytes());
        bytes.push(b'\n');
    }
    write_atomic(&dir.join(&file), &bytes)?;
    Ok(SetEntry { task: task.into(), cell: cell.into(), file, n: lines.len(), seed, blake3: hash_hex(&bytes) })
}

/// Reads one test set, checking its hash and line count against the manifest. Returns its lines. Only
/// [`load_task`] and `verify` call it, after [`Manifest::check`] has accepted the entry's path.
pub fn read_set(dir: &Path, entry: &SetEntry) -> Result<(PathBuf, Vec<String>)> {
    let path = dir.join(&entry.file);
    let bytes = crate::files::read_regular(&path, "reading dataset", "test set", crate::files::MAX_SET_BYTES)?;
    let found = hash_hex(&bytes);
    if found != entry.blake3 {
        return Err(Error::HashMismatch { path, expected: entry.blake3.clone(), found });
    }
    let text =
        String::from_utf8(bytes).map_err(|_| Error::Invalid { path: path.clone(), reason: "not UTF-8".into() })?;
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.len() != entry.n {
        return Err(Error::Invalid { path, reason: format!("{} lines, manifest says {}", lines.len(), entry.n) });
    }
    Ok((path, lines))
}

/// The one dataset loader (`run`, `show`, `verify`): the manifest of `dir` (checked whole), and for `task`
/// the test set of every cell `labels` names, in that order, read and checked against its hash and count, each
/// with its path. Returns a description of the source for the records (folder and manifest hash), and the sets.
#[allow(clippy::type_complexity)]
pub fn load_task(dir: &Path, task: &str, labels: &[String]) -> Result<(String, Vec<(PathBuf, Vec<String>)>)> {
    crate::files::require_dir(dir, "datasets folder")?;
    // Never fall back to generating: the numbers would silently not be the canonical ones.
    let m = Manifest::load(dir)?.ok_or_else(|| Error::Invalid {
        path: dir.join(MANIFEST),
        reason: "no manifest: run `driftbench datasets generate`, or pass `--generated`".into(),
    })?;
    if m.task_sets(task).next().is_none() {
        return Err(Error::Invalid {
            path: dir.join(MANIFEST),
            reason: format!("no test sets for {task}: run `driftbench datasets generate --task {task}`"),
        });
    }
    let manifest_hash = hash_hex(serde_json::to_string(&m).expect("manifest").as_bytes());
    let source = format!("canonical ({}, manifest {})", dir.display(), &manifest_hash[..16]);
    let mut sets = Vec::with_capacity(labels.len());
    for label in labels {
        let entry = m.task_sets(task).find(|e| e.cell == *label).ok_or_else(|| Error::Invalid {
            path: dir.join(MANIFEST),
            reason: format!("no test set for {task} cell {label}"),
        })?;
        sets.push(read_set(dir, entry)?);
    }
    Ok((source, sets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_byte_fails_the_hash_check() {
        let dir = std::env::temp_dir().join(format!("driftbench-ds-{}", std::process::id()));
        let e = write_set(&dir, "t", "in-dist-L0", 1, &["[1,2]".into(), "[3]".into()]).unwrap();
        assert_eq!(read_set(&dir, &e).unwrap().1, vec!["[1,2]", "[3]"]);
        std::fs::write(dir.join(&e.file), "[1,2]\n[4]\n").unwrap();
        assert!(matches!(read_set(&dir, &e), Err(Error::HashMismatch { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn manifests_name_each_cell_once_by_its_own_file() {
        let entry = |cell: &str, file: &str| SetEntry {
            task: "t".into(),
            cell: cell.into(),
            file: file.into(),
            n: 5,
            seed: 1,
            blake3: String::new(),
        };
        let ok = Manifest {
            schema: 1,
            sets: vec![entry("a-L1", "t/a-L1.jsonl"), entry("a-L2", "t/a-L2.jsonl")],
            ..Default::default()
        };
        assert_eq!(ok.check(), Ok(()));
        let cases = [
            (entry("a-L1", "t/a-L1.jsonl"), "listed twice"),
            (entry("a-L3", "t/a-L2.jsonl"), "another cell's file"),
            (entry("a-L3", "/etc/passwd"), "an absolute path"),
            (entry("a-L3", "../../../etc/passwd"), "climbs out"),
            (entry("../a-L3", "t/../a-L3.jsonl"), "plain names"),
            (SetEntry { n: usize::MAX, ..entry("a-L3", "t/a-L3.jsonl") }, "n is 18446744073709551615"),
        ];
        for (bad, needle) in cases {
            let mut m = ok.clone();
            m.sets.push(bad);
            let e = m.check().unwrap_err();
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }

    #[test]
    fn a_seal_pins_the_sets_and_is_given_once() {
        let entry = |cell: &str| SetEntry {
            task: "t-v2".into(),
            cell: cell.into(),
            file: format!("t-v2/{cell}.jsonl"),
            n: 5,
            seed: 1,
            blake3: "00".into(),
        };
        let mut m = Manifest { schema: 1, sets: vec![entry("a-L1"), entry("a-L2")], ..Default::default() };
        assert!(m.seal("u-v1", "2026-12-07".into(), "abc".into()).unwrap_err().contains("no test sets"));
        m.seal("t-v2", "2026-12-07".into(), "abc".into()).unwrap();
        assert_eq!(m.check(), Ok(()));
        assert!(m.seal("t-v2", "2026-12-08".into(), "def".into()).unwrap_err().contains("sealed on 2026-12-07"));
        // A sealed set changed afterwards breaks the manifest.
        let mut edited = m.clone();
        edited.sets[1].blake3 = "01".into();
        assert!(edited.check().unwrap_err().contains("no longer match their seal"));
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), m);
    }

    #[test]
    fn utc_dates_are_civil_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_796_601_600), "2026-12-07");
    }
}
