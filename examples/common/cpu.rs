//! Shared by the tuning examples (`#[path = "common/cpu.rs"] mod cpu;`): how much CPU this process has used, so
//! that candidates can be compared by cost on a loaded machine.

/// CPU seconds this process has used (user + system), from /proc/self/stat; 0 where that cannot be read.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
