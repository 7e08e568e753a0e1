//! The default suite runs the newest version of each task; superseded versions stay runnable by full id.
use driftbench::{registry, select_tasks, superseded, task_version};

#[test]
fn versions_parse_and_only_the_newest_is_selected_by_default() {
    assert_eq!(task_version("sorting-v2"), Some(("sorting", 2)));
    assert_eq!(task_version("my-task-v10"), Some(("my-task", 10)));
    assert_eq!(task_version("plain"), None);
    assert_eq!(task_version("x-vtwo"), None);
    let reg = registry();
    let default: Vec<&str> = select_tasks(&reg, &[]).unwrap().iter().map(|t| t.id()).collect();
    for t in &reg {
        let newest = !superseded(&reg, t.id());
        assert_eq!(default.contains(&t.id()), newest, "{}", t.id());
        // Every registered task is reachable by its full id.
        assert_eq!(select_tasks(&reg, &[t.id().to_string()]).unwrap()[0].id(), t.id());
    }
    // A bare name picks the newest version.
    for id in &default {
        let (base, _) = task_version(id).unwrap();
        assert_eq!(select_tasks(&reg, &[base.to_string()]).unwrap()[0].id(), *id);
    }
}
