//! The `driftbench` binary: the command line of [`driftbench::cli`] over the built-in tasks.
fn main() {
    driftbench::cli::main()
}
