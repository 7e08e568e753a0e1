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
    /// Reads `dir/manifest.json`; `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("reading dataset manifest", path, e)),
        };
        let m: Manifest =
            serde_json::from_str(&text).map_err(|e| Error::Json { path: path.clone(), line: None, err: e })?;
        if m.schema != MANIFEST_SCHEMA {
            return Err(Error::Invalid {
                path,
                reason: format!("manifest schema {} is not {MANIFEST_SCHEMA}", m.schema),
            });
        }
        Ok(Some(m))
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

    /// Replaces the entries of `task` with `entries`.
    pub fn replace_task(&mut self, task: &str, entries: Vec<SetEntry>) {
        self.sets.retain(|s| s.task != task);
        self.sets.extend(entries);
        self.sets.sort_by(|a, b| (&a.task, &a.file).cmp(&(&b.task, &b.file)));
    }
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

/// Reads one test set, checking its hash and line count against the manifest. Returns its lines.
pub fn read_set(dir: &Path, entry: &SetEntry) -> Result<(PathBuf, Vec<String>)> {
    let path = dir.join(&entry.file);
    let bytes = std::fs::read(&path).map_err(|e| Error::io("reading dataset", &path, e))?;
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
}
