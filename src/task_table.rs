//! README.md's task table, written from the registry.
use driftbench_core::bench::DynTask;
use driftbench_core::SolverKind;

/// Markers around README.md's task table, which [`task_table`] writes from the registry.
pub const TASK_TABLE_MARKERS: (&str, &str) = ("<!-- tasks:begin -->", "<!-- tasks:end -->");

/// README.md's task table, from the registry: each task with its drift axes (and what their farthest level
/// means), its hand-written solver and every learner, so a newly registered task is listed without editing prose.
pub fn task_table(reg: &[Box<dyn DynTask>]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = String::from("| task | drift axes (level 4) | hand-written solver | learners |\n|---|---|---|---|\n");
    for t in reg {
        let axes: Vec<String> =
            t.axes().iter().map(|a| format!("`{}`: {} ({})", a.name, cell(a.description), cell(a.levels[4]))).collect();
        let learners: Vec<String> = t
            .solvers()
            .iter()
            .filter(|s| s.kind != SolverKind::Symbolic)
            .map(|s| {
                let kind = match s.kind {
                    SolverKind::Network => "network",
                    SolverKind::Baseline => "baseline",
                    SolverKind::ProgramSearch => "program search",
                    SolverKind::External => "external",
                    SolverKind::Symbolic => "hand-written",
                };
                format!("`{}` ({kind}): {}", s.name, cell(&s.description))
            })
            .collect();
        out.push_str(&format!(
            "| `{}`: {} | {} | {} | {} |\n",
            t.id(),
            cell(t.description()),
            axes.join("; "),
            cell(t.symbolic_description()),
            learners.join("; ")
        ));
    }
    out
}

/// `readme` with the text between its task-table markers replaced by `table`; `None` without both markers.
pub fn splice_task_table(readme: &str, table: &str) -> Option<String> {
    let (begin, end) = TASK_TABLE_MARKERS;
    let a = readme.find(begin)? + begin.len();
    let b = a + readme[a..].find(end)?;
    Some(format!("{}\n{table}{}", &readme[..a], &readme[b..]))
}
