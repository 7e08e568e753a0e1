//! `my-tasks`: every driftbench command (list, check, run, report, sample, show, compare, datasets) over the
//! built-in tasks and this crate's own.
fn main() {
    driftbench::cli::main_with(|registry| registry.push(my_tasks::entry()));
}
