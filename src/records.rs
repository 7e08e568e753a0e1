//! Reading records back, checked against the registered tasks.
use crate::SuiteError;
use driftbench_core::bench::DynTask;
use driftbench_core::RunRecord;
use std::path::Path;

/// Checks a record against what its task declares, where the task is registered in `reg` (a record of an
/// unregistered task, such as an older version, is left to the checks that need no task).
pub fn check_registered(reg: &[Box<dyn DynTask>], record: &RunRecord) -> Result<(), String> {
    match reg.iter().find(|t| t.id() == record.task) {
        Some(task) => driftbench_core::validate::check_declared(record, task.axes()),
        None => Ok(()),
    }
}

/// Reads every record of a records folder ([`driftbench_core::validate::read_dir`]: each checked on its own, no run
/// twice) and checks each against its registered task's axes: what `report`, `compare` and `--resume` trust.
pub fn read_records(dir: &Path, reg: &[Box<dyn DynTask>]) -> Result<Vec<RunRecord>, SuiteError> {
    driftbench_core::bench::require_dir(dir, "records folder")?;
    let records = driftbench_core::validate::read_dir(dir)?;
    for r in &records {
        check_registered(reg, r)
            .map_err(|reason| driftbench_core::Error::Invalid { path: dir.join(r.file_name()), reason })?;
    }
    Ok(records)
}
