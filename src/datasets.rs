//! The canonical test sets: generating, sealing and verifying them.
use crate::{provenance, uncommitted_code, SuiteError};
use driftbench_core::bench::{DynTask, TestSource};
use driftbench_core::Profile;
use std::path::Path;

/// Generates the canonical test sets of `tasks` into `dir` and updates its manifest.
pub fn generate_datasets(
    tasks: &[&dyn DynTask],
    dir: &Path,
    n: usize,
) -> Result<Vec<driftbench_core::dataset::SetEntry>, SuiteError> {
    use driftbench_core::dataset::{write_set, Manifest, CANONICAL_SEED, MANIFEST_SCHEMA};
    driftbench_core::record::check_output_dir(dir, "datasets folder")?;
    let mut manifest = Manifest::load(dir)?.unwrap_or(Manifest { schema: MANIFEST_SCHEMA, ..Default::default() });
    if let Some(seal) = tasks.iter().find_map(|t| manifest.seal_of(t.id())) {
        return Err(SuiteError::Sealed {
            task: seal.task.clone(),
            date: seal.date.clone(),
            commit: seal.commit.clone(),
        });
    }
    // Generate everything before writing anything, so that a failure leaves the folder as it was.
    let sets: Vec<_> = tasks.iter().map(|t| t.generate_test_sets(n, CANONICAL_SEED)).collect::<Result<_, _>>()?;
    let mut all = Vec::new();
    for (task, sets) in tasks.iter().zip(sets) {
        let mut entries = Vec::new();
        for (cell, lines) in sets {
            entries.push(write_set(dir, task.id(), &cell.label(task.axes()), CANONICAL_SEED, &lines)?);
        }
        all.extend(entries.iter().cloned());
        manifest.replace_task(task.id(), entries);
    }
    manifest.save(dir)?;
    Ok(all)
}

/// Seals `task`'s test sets in `dir`'s manifest: records today's date and the commit whose solver configurations
/// they are judged with, and pins the sets' hashes (see [`driftbench_core::dataset::Seal`]). Refused from code
/// with uncommitted changes, for a task without sets, or one sealed already.
pub fn seal_datasets(task: &dyn DynTask, dir: &Path) -> Result<driftbench_core::dataset::Seal, SuiteError> {
    use driftbench_core::dataset::{utc_date, Manifest};
    let refuse = |reason: String| SuiteError::Seal { task: task.id().into(), reason };
    let manifest = Manifest::load(dir)?;
    let mut manifest = manifest.ok_or_else(|| refuse(format!("no manifest in {}", dir.display())))?;
    if let Some(files) = uncommitted_code().filter(|f| !f.is_empty()) {
        return Err(refuse(format!("the code has uncommitted changes ({}): commit first", files.join(", "))));
    }
    let commit = provenance(1).git_commit.ok_or_else(|| refuse("no git commit to seal at".into()))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let seal = manifest.seal(task.id(), utc_date(now), commit).map_err(refuse)?.clone();
    // Every set must load through the run's own loader before it is sealed.
    verify_datasets(&[task], dir)?;
    manifest.save(dir)?;
    Ok(seal)
}

/// Checks a datasets folder completely: the manifest's entries (each cell once, by its own file, inside the
/// folder), every file in the manifest against its hash and line count, and for each of `tasks`, through the
/// loader `run` uses, that the manifest covers every cell, and that every instance parses, passes the task's
/// validation and occurs once in the task's test sets. Returns the number of sets checked.
pub fn verify_datasets(tasks: &[&dyn DynTask], dir: &Path) -> Result<usize, SuiteError> {
    use driftbench_core::dataset::{read_set, Manifest, MANIFEST};
    driftbench_core::bench::require_dir(dir, "datasets folder")?;
    let manifest = Manifest::load(dir)?.ok_or_else(|| driftbench_core::Error::Invalid {
        path: dir.join(MANIFEST),
        reason: "no manifest: run `driftbench datasets generate`".into(),
    })?;
    for entry in &manifest.sets {
        read_set(dir, entry)?;
    }
    for task in tasks {
        // The one loader `run` uses: it parses and validates every instance, needs every cell, and refuses an
        // instance repeated anywhere in the task's sets.
        task.prepare(&TestSource::Canonical(dir.to_path_buf()), &Profile::tiny())?;
    }
    Ok(manifest.sets.len())
}
