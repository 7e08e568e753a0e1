//! Where and with what code a run was made.
use driftbench_core::Provenance;

/// The paths whose contents decide what a run computes: a record names the commit of these, and `-dirty` means
/// they differed from it (results/, docs and the README may change without making a record's code unknown).
pub const CODE_PATHS: [&str; 5] = ["crates", "src", "vendor", "Cargo.toml", "Cargo.lock"];

/// Tracked files under [`CODE_PATHS`] with uncommitted changes, as `git status --porcelain` names them; `None`
/// outside a git checkout (or without git), where no commit can be named at all.
pub fn uncommitted_code() -> Option<Vec<String>> {
    let mut args = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    args.extend(CODE_PATHS);
    let out = std::process::Command::new("git").args(&args).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).lines().map(|l| l.get(3..).unwrap_or(l).to_string()).collect())
}

/// Provenance of this process: version, git commit (with `-dirty` for uncommitted changes under [`CODE_PATHS`]), rustc, OS, CPU, its
/// caches and the instruction-set level of the matrix kernels.
pub fn provenance(threads: usize) -> Provenance {
    let cmd = |prog: &str, args: &[&str]| {
        std::process::Command::new(prog)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let git_commit = cmd("git", &["rev-parse", "HEAD"]).map(|c| {
        if uncommitted_code().is_some_and(|files| !files.is_empty()) {
            format!("{c}-dirty")
        } else {
            c
        }
    });
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|s| s.trim().to_string())
    });
    Provenance {
        version: env!("CARGO_PKG_VERSION").into(),
        git_commit,
        rustc: cmd("rustc", &["--version"]),
        os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        cpu,
        threads,
        cpu_caches: driftbench_nets::kernels::cpu_caches(),
        simd: Some(driftbench_nets::kernels::gemm_kernel().into()),
        external: None,
    }
}
