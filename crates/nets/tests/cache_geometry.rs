//! Training gives the same parameters whatever cache geometry `gemm` reads at start-up.
//!
//! `gemm` sizes its blocks over the summed dimension from the L1 data cache it finds in
//! `/sys/devices/system/cpu/cpu*/cache/index*/` (sums of more than 512 terms are split at 512 on a 32 KiB 8-way
//! L1 and at 1024 on a 48 KiB 12-way one), so stock candle rounds long sums differently on different machines.
//! This test re-runs itself in private mount namespaces (`unshare -m`, needs root) with fake L1 descriptions
//! bind-mounted over the real ones, trains a network whose every matrix product sums over more than 512 terms,
//! and compares the parameters. It also checks that the fake geometry reaches `gemm` (a stock candle matmul over
//! 1,200 terms changes), so that it cannot pass vacuously. Where `unshare` or root is missing it skips, saying why.
use candle_core::{Device, Module, Tensor};
use driftbench_nets::layers::{linear, Linear, Params};
use driftbench_nets::train::{fit, gather_rows, Objective, TrainConfig, ValScore};
use driftbench_nets::Result;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::process::Command;

const CHILD_ENV: &str = "DRIFTBENCH_CACHE_GEOMETRY_CHILD";

struct Regression {
    layers: Vec<Linear>,
    params: Params,
    x: Tensor,
    y: Tensor,
}

impl Regression {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = driftbench_nets::kernels::tanh(&h)?;
            }
        }
        Ok(h)
    }
}

impl Objective for Regression {
    fn params(&self) -> &Params {
        &self.params
    }
    fn n_train(&self) -> usize {
        self.x.dim(0).unwrap_or(0)
    }
    fn loss(&self, idx: &[usize]) -> Result<Tensor> {
        let pred = self.forward(&gather_rows(&self.x, idx)?)?;
        Ok((pred - gather_rows(&self.y, idx)?)?.sqr()?.mean_all()?)
    }
    fn validate(&self) -> Result<ValScore> {
        let loss = (self.forward(&self.x)? - &self.y)?.sqr()?.mean_all()?.to_scalar::<f32>()? as f64;
        Ok(ValScore { loss, accuracy: -loss, exact: 0.0 })
    }
}

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn fingerprint(ts: &[Tensor]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for t in ts {
        for x in t.flatten_all().unwrap().to_vec1::<f32>().unwrap() {
            h = (h ^ x.to_bits() as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// Run inside the namespace: prints the trained parameters' fingerprint and a stock matmul's.
#[test]
#[ignore = "run by training_ignores_cache_geometry inside a private mount namespace"]
fn geometry_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    driftbench_nets::configure_cpu_threads();
    let dev = &Device::Cpu;
    // 1,500 examples of 700 features through 600 hidden units: the weight gradients sum over 1,200-row batches,
    // the input gradient of the hidden layer over 600 units, the first layer over 700 features.
    let (n, d_in, hidden, d_out) = (1500, 700, 600, 3);
    let x = Tensor::from_vec(values(n * d_in, 1), (n, d_in), dev).unwrap();
    let y = Tensor::from_vec(values(n * d_out, 2), (n, d_out), dev).unwrap();
    let mut params = Params::default();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let layers = vec![
        linear(d_in, hidden, &mut params, &mut rng).unwrap(),
        linear(hidden, hidden, &mut params, &mut rng).unwrap(),
        linear(hidden, d_out, &mut params, &mut rng).unwrap(),
    ];
    let obj = Regression { layers, params, x, y };
    let cfg = TrainConfig { steps: 4, batch: 1200, lr: 1e-3, weight_decay: 0.01, warmup: 0.0, eval_every: 4 };
    fit(&obj, &cfg, 4, &mut ChaCha8Rng::seed_from_u64(4), &|_| {}).unwrap();
    let trained: Vec<Tensor> = obj.params.vars().iter().map(|v| v.as_tensor().clone()).collect();
    println!("trained: {:016x}", fingerprint(&trained));
    // Stock candle over 1,200 terms, to prove the fake geometry reached gemm.
    let a = Tensor::from_vec(values(64 * 1200, 5), (64, 1200), dev).unwrap();
    let b = Tensor::from_vec(values(1200 * 96, 6), (1200, 96), dev).unwrap();
    println!("stock: {:016x}", fingerprint(&[a.matmul(&b).unwrap()]));
}

/// The real L1 data cache's index folder name (e.g. `index0`) and its files.
fn l1_data_index() -> Option<(String, PathBuf)> {
    let cache = Path::new("/sys/devices/system/cpu/cpu0/cache");
    for e in std::fs::read_dir(cache).ok()? {
        let p = e.ok()?.path();
        let read = |f: &str| std::fs::read_to_string(p.join(f)).map(|s| s.trim().to_string()).ok();
        if read("level").as_deref() == Some("1") && read("type").as_deref() == Some("Data") {
            return Some((p.file_name()?.to_str()?.to_string(), p));
        }
    }
    None
}

fn why_skip() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("not Linux".into());
    }
    let ok = Command::new("unshare").args(["-m", "true"]).output().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        return Some("`unshare -m` is unavailable (needs root and the unshare tool)".into());
    }
    if l1_data_index().is_none() {
        return Some("no L1 data cache description under /sys/devices/system/cpu/cpu0/cache".into());
    }
    None
}

/// Runs the child under an L1 of `size` and `ways`; returns its output lines.
fn run_with_l1(fake_root: &Path, size: &str, ways: &str) -> (String, String) {
    let (index, real) = l1_data_index().expect("checked");
    let fake = fake_root.join(format!("l1-{size}-{ways}"));
    std::fs::create_dir_all(&fake).unwrap();
    for e in std::fs::read_dir(&real).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            if let Ok(text) = std::fs::read(&p) {
                std::fs::write(fake.join(p.file_name().unwrap()), text).unwrap();
            }
        }
    }
    std::fs::write(fake.join("size"), format!("{size}\n")).unwrap();
    std::fs::write(fake.join("ways_of_associativity"), format!("{ways}\n")).unwrap();
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "for d in /sys/devices/system/cpu/cpu[0-9]*/cache/{index}; do mount --bind \"$1\" \"$d\" || exit 3; done; \
         exec \"$2\" geometry_child --exact --ignored --nocapture --test-threads 1"
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, "sh"])
        .arg(&fake)
        .arg(&exe)
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "child under L1 {size}/{ways} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.split_once(key).map(|(_, v)| v.trim()))
            .unwrap_or_else(|| panic!("no `{key}` in {stdout}"))
            .to_string()
    };
    (line("trained: "), line("stock: "))
}

#[test]
fn training_ignores_cache_geometry() {
    if let Some(reason) = why_skip() {
        println!("skipped: {reason}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (trained_32k, stock_32k) = run_with_l1(dir.path(), "32K", "8");
    let (trained_48k, stock_48k) = run_with_l1(dir.path(), "48K", "12");
    assert_ne!(stock_32k, stock_48k, "the fake L1 geometry did not reach gemm: the test would prove nothing");
    assert_eq!(trained_32k, trained_48k, "training depends on the L1 geometry");
}
