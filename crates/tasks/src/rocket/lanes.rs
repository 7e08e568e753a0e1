//! Many flights side by side: the same RK4 steps as [`simulate`], run on [`LANES`] flights at once.
//!
//! One flight is a chain of dependent operations (each RK4 stage waits for the last square root), so a single
//! flight keeps the CPU's arithmetic units mostly idle. Independent flights in lanes fill them. Every lane
//! computes exactly the expressions of [`simulate`] in the same order (IEEE multiplies, adds, divides and square
//! roots round the same in a vector lane as in a scalar register, and no multiply-add is fused), so a landing is
//! the same bit for bit whichever lane flies it and whatever flies beside it.
use super::flight::drag_k;
use super::instance::{Env, Landing};
use super::{DT, FLIGHT_CAP, MAX_STEPS};

/// Flights advanced together.
const LANES: usize = 4;

/// One flight to simulate: a caller's tag, the world and the launch velocity.
#[derive(Debug, Clone, Copy)]
pub(super) struct Flight {
    pub(super) tag: usize,
    pub(super) env: Env,
    pub(super) vx: f64,
    pub(super) vy: f64,
}

/// Feeds flights to [`fly_lanes`] and takes their landings; a landing may lead to new flights.
pub(super) trait Flights {
    /// The next flight to start, if one is waiting.
    fn next(&mut self) -> Option<Flight>;
    /// The landing of the flight tagged `tag`.
    fn landed(&mut self, tag: usize, landing: Landing);
}

/// [`simulate`] on many launches; the landings are those of [`simulate`] on each, bit for bit.
///
/// [`simulate`]: super::simulate
pub fn simulate_many(launches: &[(Env, f64, f64)]) -> Vec<Landing> {
    struct All<'a> {
        launches: &'a [(Env, f64, f64)],
        next: usize,
        out: Vec<Option<Landing>>,
    }
    impl Flights for All<'_> {
        fn next(&mut self) -> Option<Flight> {
            let &(env, vx, vy) = self.launches.get(self.next)?;
            self.next += 1;
            Some(Flight { tag: self.next - 1, env, vx, vy })
        }
        fn landed(&mut self, tag: usize, landing: Landing) {
            self.out[tag] = Some(landing);
        }
    }
    let mut all = All { launches, next: 0, out: vec![None; launches.len()] };
    fly_lanes(&mut all);
    all.out.into_iter().map(|l| l.expect("every flight lands or stops")).collect()
}

/// Flies every flight `source` offers, [`LANES`] at a time, until it offers no more and none is in the air.
pub(super) fn fly_lanes(source: &mut dyn Flights) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { fly_lanes_avx2(source) };
        return;
    }
    fly_lanes_plain(source)
}

/// [`fly_lanes_plain`] compiled with AVX2 (no FMA: the rounding stays that of separate multiplies and adds).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fly_lanes_avx2(source: &mut dyn Flights) {
    fly_lanes_plain(source)
}

/// State of the lanes: `s[component][lane]` with components (x, y, vx, vy).
type State = [[f64; LANES]; 4];

#[inline(always)]
fn fly_lanes_plain(source: &mut dyn Flights) {
    let mut s: State = [[0.0; LANES]; 4];
    let mut g = [0.0; LANES];
    let mut k = [0.0; LANES];
    let mut steps = [0u32; LANES];
    let mut tag: [Option<usize>; LANES] = [None; LANES];
    loop {
        // Empty lanes take the next waiting flights (a landing may have queued new ones).
        for lane in 0..LANES {
            if tag[lane].is_some() {
                continue;
            }
            let Some(f) = source.next() else { break };
            tag[lane] = Some(f.tag);
            (g[lane], k[lane]) = (f.env.gravity, drag_k(f.env.air_density));
            for (c, v) in [0.0, f.env.altitude, f.vx, f.vy].into_iter().enumerate() {
                s[c][lane] = v;
            }
            steps[lane] = 0;
        }
        if tag.iter().all(Option::is_none) {
            return;
        }
        let next = rk4_lanes(&s, &g, &k);
        for lane in 0..LANES {
            let Some(t) = tag[lane] else { continue };
            let n = steps[lane];
            let (y, ny) = (s[1][lane], next[1][lane]);
            let landing = if !(0..4).all(|c| next[c][lane].is_finite()) {
                Some(Landing { distance: f64::NAN, time: f64::from(n + 1) * DT, landed: false })
            } else if y >= 0.0 && ny <= 0.0 && ny < y {
                // Linear interpolation of y over the last step, as in `simulate`.
                let f = y / (y - ny);
                let (x, nx) = (s[0][lane], next[0][lane]);
                Some(Landing { distance: x + f * (nx - x), time: (f64::from(n) + f) * DT, landed: true })
            } else {
                for c in 0..4 {
                    s[c][lane] = next[c][lane];
                }
                steps[lane] = n + 1;
                (n + 1 == MAX_STEPS).then(|| Landing { distance: s[0][lane], time: FLIGHT_CAP, landed: false })
            };
            if let Some(l) = landing {
                tag[lane] = None;
                source.landed(t, l);
            }
        }
    }
}

/// [`flight::derivative`](super::flight) on every lane.
#[inline(always)]
fn derivative_lanes(s: &State, g: &[f64; LANES], k: &[f64; LANES]) -> State {
    let mut d: State = [[0.0; LANES]; 4];
    for i in 0..LANES {
        let speed = (s[2][i] * s[2][i] + s[3][i] * s[3][i]).sqrt();
        d[0][i] = s[2][i];
        d[1][i] = s[3][i];
        d[2][i] = if k[i] == 0.0 { 0.0 } else { -k[i] * speed * s[2][i] };
        d[3][i] = if k[i] == 0.0 { -g[i] } else { -g[i] - k[i] * speed * s[3][i] };
    }
    d
}

/// One RK4 step of length [`DT`] on every lane, as [`simulate`] takes it.
#[inline(always)]
fn rk4_lanes(s: &State, g: &[f64; LANES], k: &[f64; LANES]) -> State {
    let along =
        |d: &State, h: f64| -> State { std::array::from_fn(|c| std::array::from_fn(|i| s[c][i] + h * d[c][i])) };
    let k1 = derivative_lanes(s, g, k);
    let k2 = derivative_lanes(&along(&k1, DT / 2.0), g, k);
    let k3 = derivative_lanes(&along(&k2, DT / 2.0), g, k);
    let k4 = derivative_lanes(&along(&k3, DT), g, k);
    std::array::from_fn(|c| {
        std::array::from_fn(|i| s[c][i] + DT / 6.0 * (k1[c][i] + 2.0 * k2[c][i] + 2.0 * k3[c][i] + k4[c][i]))
    })
}
