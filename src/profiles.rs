//! Profiles as runs use them: resolved against the registry, and one profile per records folder.
use crate::SuiteError;
use driftbench_core::bench::DynTask;
use driftbench_core::{Profile, RunRecord};
use std::path::Path;

/// A built-in profile by name, or a profile file by path, checked against the registered tasks, with each task's
/// own training-set size for that profile name filled in ([`driftbench_core::Task::train_examples_by_profile`];
/// a size the profile sets itself wins). This is the profile runs use and records hold.
pub fn resolve_profile(name_or_path: &str, reg: &[Box<dyn DynTask>]) -> Result<Profile, SuiteError> {
    let profile = Profile::resolve(name_or_path)?;
    profile.check_tasks(&reg.iter().map(|t| t.id()).collect::<Vec<_>>()).map_err(|e| {
        // A file's error names the file (once); a built-in profile always names known tasks.
        match Profile::by_name(name_or_path) {
            Some(_) => e,
            None => driftbench_core::profile::ProfileError::Invalid { path: name_or_path.into(), source: Box::new(e) },
        }
    })?;
    Ok(with_task_sizes(profile, reg))
}

/// `profile` with each task's own training- and validation-set sizes for its name filled in, where the profile
/// sets none ([`driftbench_core::Task::train_examples_by_profile`], [`driftbench_core::Task::val_examples_by_profile`]).
pub fn with_task_sizes(profile: Profile, reg: &[Box<dyn DynTask>]) -> Profile {
    reg.iter().fold(profile, |p, t| {
        p.with_task_sizes(t.id(), t.train_examples_by_profile())
            .with_task_val_sizes(t.id(), t.val_examples_by_profile())
    })
}

/// Refuses a records folder whose existing records of a selected task were made under another profile (a name
/// and its budgets, as the report tells profiles apart).
pub(crate) fn check_profiles(out: &Path, tasks: &[&dyn DynTask], profile: &Profile) -> Result<(), SuiteError> {
    if !out.is_dir() {
        return Ok(());
    }
    let label = |p: &Profile| format!("`{}` (hash {})", p.name, p.short_hash());
    let ours = profile.hash();
    let entries = std::fs::read_dir(out)
        .map_err(|e| driftbench_core::Error::io("reading records folder", out, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"));
    // A record that does not parse is left to the run (which replaces it) and the report (which names it).
    for r in entries.filter_map(|p| RunRecord::read(&p).ok()) {
        if tasks.iter().any(|t| t.id() == r.task) && r.profile.hash() != ours {
            return Err(SuiteError::MixedProfiles {
                folder: out.display().to_string(),
                task: r.task.clone(),
                theirs: label(&r.profile),
                ours: label(profile),
            });
        }
    }
    Ok(())
}
