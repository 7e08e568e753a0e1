//! The registry: every built-in task with its learners, and how task names select from it.
use crate::{Entry, SuiteError};
use driftbench_core::bench::DynTask;

/// Every registered task. Adding a task means adding one line here: an [`Entry`] with the learning shape and
/// experiments its capability traits allow (see [`entry`](crate::Entry)).
pub fn registry() -> Vec<Box<dyn DynTask>> {
    vec![
        Entry::new(driftbench_tasks::Sorting).seq().attacks().learners(driftbench_search::sorting::learners()).build(),
        Entry::new(driftbench_tasks::SortingV2)
            .seq()
            .attacks()
            .learners(driftbench_search::sorting::learners())
            .build(),
        Entry::new(driftbench_tasks::Rocket).vec().attacks().learners(driftbench_search::rocket::learners()).build(),
        Entry::new(driftbench_tasks::RocketV2)
            .vec()
            .attacks()
            .learners(driftbench_search::rocket::learners_v2())
            .build(),
        Entry::new(driftbench_tasks::Navigation)
            .policy()
            .grid()
            .attacks()
            .learners(driftbench_search::navigation::learners())
            .build(),
        Entry::new(driftbench_tasks::NavigationV2)
            .policy()
            .grid()
            .attacks()
            .learners(driftbench_search::navigation::learners_v2())
            .build(),
    ]
}

/// Adds each solver program of `specs` (`--external`) as one more learner of every task `names` selects (every
/// task when empty), so that runs, records, `--resume` and sharding treat it like a built-in solver.
pub fn add_externals(
    reg: &mut [Box<dyn DynTask>],
    names: &[String],
    specs: &[driftbench_core::ExternalSpec],
) -> Result<(), SuiteError> {
    if let Some(value) = repeated(&specs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>()) {
        return Err(SuiteError::Repeated { what: "external solver", value });
    }
    let ids: Vec<&'static str> = select_tasks(reg, names)?.iter().map(|t| t.id()).collect();
    for task in reg.iter_mut().filter(|t| ids.contains(&t.id())) {
        for spec in specs {
            task.add_external(spec)?;
        }
    }
    Ok(())
}

/// The first value of `values` that occurs twice, as text (in one pass: a run may list many seeds).
pub(crate) fn repeated<T: std::hash::Hash + Eq + std::fmt::Display>(values: &[T]) -> Option<String> {
    driftbench_core::bounds::first_repeat(values).map(|v| v.to_string())
}

/// A task id split into its name and version (`("sorting", 2)` for `sorting-v2`); `None` without a `-vN` suffix.
pub fn task_version(id: &str) -> Option<(&str, u32)> {
    let (base, v) = id.rsplit_once("-v")?;
    Some((base, v.parse().ok()?))
}

/// Whether a newer version of `id`'s task is registered (`sorting-v1` once `sorting-v2` is): superseded tasks stay
/// runnable by their full id and their records and datasets stay readable, but the default suite runs only the
/// newest version of each task.
pub fn superseded(reg: &[Box<dyn DynTask>], id: &str) -> bool {
    let Some((base, version)) = task_version(id) else { return false };
    reg.iter().any(|t| task_version(t.id()).is_some_and(|(b, v)| b == base && v > version))
}

/// Finds tasks by id or by id without its version suffix (`sorting` for the newest registered `sorting-vN`). No
/// names: the newest version of every task (the default suite). A task named twice (as `sorting` and
/// `sorting-v2`, say) is an error.
pub fn select_tasks<'a>(reg: &'a [Box<dyn DynTask>], names: &[String]) -> Result<Vec<&'a dyn DynTask>, SuiteError> {
    if names.is_empty() {
        return Ok(reg.iter().filter(|t| !superseded(reg, t.id())).map(|t| t.as_ref()).collect());
    }
    let tasks: Vec<&dyn DynTask> = names
        .iter()
        .map(|name| {
            reg.iter()
                .find(|t| {
                    t.id() == name
                        || (task_version(t.id()).is_some_and(|(base, _)| base == name) && !superseded(reg, t.id()))
                })
                .map(|t| t.as_ref())
                .ok_or_else(|| SuiteError::UnknownTask {
                    name: name.clone(),
                    known: reg.iter().map(|t| t.id()).collect::<Vec<_>>().join(", "),
                })
        })
        .collect::<Result<_, _>>()?;
    let ids: Vec<&str> = tasks.iter().map(|t| t.id()).collect();
    match repeated(&ids) {
        Some(value) => Err(SuiteError::Repeated { what: "task", value }),
        None => Ok(tasks),
    }
}
