//! Traffic: cars on straight tracks, instance-listed cars, and where every car is at every tick.

use super::city::City;
use super::instance::{AddedCar, NavInstance};
use super::{CAR_ATTEMPTS, MAX_CELLS_PER_TICK, MAX_TRACK, MIN_TRACK};
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// One car: drives back and forth along `len` cells from `origin` in direction `dir`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Car {
    pub(super) origin: (i32, i32),
    pub(super) dir: (i32, i32),
    pub(super) len: i32,
    /// Position in the bounce cycle (0..2·(len−1)) at tick 0.
    pub(super) offset: u32,
    /// φ: shifts which ticks the car moves on when it is slower than one cell per tick.
    pub(super) phase: u32,
}

impl Car {
    /// Index along the track after driving `along` cells from the start of the cycle.
    pub(super) fn index(&self, along: u64) -> i32 {
        let period = 2 * (self.len as u64 - 1);
        let p = (self.offset as u64 + along) % period;
        (if p < self.len as u64 { p } else { period - p }) as i32
    }

    /// Saturating: an added car's origin may be anywhere in i32 (validation then finds it off the streets).
    pub(super) fn cell_at_index(&self, i: i32) -> (i32, i32) {
        (self.origin.0.saturating_add(self.dir.0 * i), self.origin.1.saturating_add(self.dir.1 * i))
    }
}

impl AddedCar {
    pub(super) fn car(&self) -> Car {
        let dir = if self.horizontal { (1, 0) } else { (0, 1) };
        Car { origin: self.origin, dir, len: self.len, offset: self.offset, phase: self.phase }
    }

    pub(super) fn from_car(car: &Car) -> AddedCar {
        AddedCar {
            origin: car.origin,
            horizontal: car.dir == (1, 0),
            len: car.len,
            offset: car.offset,
            phase: car.phase,
        }
    }

    /// Everything but the street check.
    pub(super) fn check_shape(&self, speed_ticks: u32) -> Result<(), String> {
        if !(MIN_TRACK..=MAX_TRACK).contains(&self.len) {
            return Err(format!("added_cars: len {} is outside {MIN_TRACK}..={MAX_TRACK}", self.len));
        }
        if self.offset >= 2 * (self.len as u32 - 1) || self.phase >= speed_ticks {
            return Err(format!(
                "added_cars: offset {} (below {} needed) or phase {} (below speed_ticks {speed_ticks} needed) is out \
                 of range",
                self.offset,
                2 * (self.len - 1),
                self.phase
            ));
        }
        Ok(())
    }

    pub(super) fn on_streets(&self, city: &City) -> bool {
        let car = self.car();
        (0..self.len).all(|i| city.is_street(car.cell_at_index(i)))
    }
}

/// The cells a car occupies during one tick, from its cell at the start to its cell at the end.
pub(super) struct Sweep {
    cells: [(i32, i32); MAX_CELLS_PER_TICK as usize + 1],
    len: usize,
}

impl Sweep {
    pub(super) fn cells(&self) -> &[(i32, i32)] {
        &self.cells[..self.len]
    }
}

/// Every car of an instance and their common speed.
#[derive(Debug, Clone)]
pub(super) struct Traffic {
    pub(super) cars: Vec<Car>,
    pub(super) speed_cells: u32,
    pub(super) speed_ticks: u32,
}

impl Traffic {
    /// The cars of `inst` in `city`, drawn from its traffic seed.
    pub(super) fn generate(inst: &NavInstance, city: &City) -> Traffic {
        let mut rng = ChaCha8Rng::seed_from_u64(inst.traffic_seed);
        let streets = city.street_cells();
        let n = match inst.cars_per_100_cells {
            0 => 0,
            p => ((streets.len() * p as usize + 50) / 100).max(1),
        };
        let mut cars = Vec::with_capacity(n);
        for _ in 0..n {
            for _ in 0..CAR_ATTEMPTS {
                let Some(&cell) = streets.choose(&mut rng) else { break };
                let horizontal = rng.random_bool(0.5);
                let car = track(city, cell, horizontal, inst.speed_ticks, &mut rng)
                    .or_else(|| track(city, cell, !horizontal, inst.speed_ticks, &mut rng));
                if let Some(car) = car {
                    cars.push(car);
                    break;
                }
            }
        }
        // Stated cars that are malformed or leave the streets are left out (validation reports them).
        let added = inst.added_cars.iter().filter(|c| c.check_shape(inst.speed_ticks).is_ok() && c.on_streets(city));
        cars.extend(added.map(AddedCar::car));
        Traffic { cars, speed_cells: inst.speed_cells, speed_ticks: inst.speed_ticks }
    }

    /// Cells driven by tick `t`.
    pub(super) fn travelled(&self, car: &Car, t: u32) -> u64 {
        (t as u64 * self.speed_cells as u64 + car.phase as u64) / self.speed_ticks as u64
    }

    pub(super) fn position(&self, car: &Car, t: u32) -> (i32, i32) {
        car.cell_at_index(car.index(self.travelled(car, t)))
    }

    /// The cells `car` occupies during tick t (from tick t to t + 1).
    pub(super) fn sweep(&self, car: &Car, t: u32) -> Sweep {
        let (from, to) = (self.travelled(car, t), self.travelled(car, t + 1));
        let mut sweep = Sweep { cells: [(0, 0); MAX_CELLS_PER_TICK as usize + 1], len: 0 };
        for along in from..=to.min(from + MAX_CELLS_PER_TICK as u64) {
            sweep.cells[sweep.len] = car.cell_at_index(car.index(along));
            sweep.len += 1;
        }
        sweep
    }
}

/// A car track of 4–8 cells through `cell` along its straight street run, or `None` if the run is too short.
pub(super) fn track(city: &City, cell: (i32, i32), horizontal: bool, ticks: u32, rng: &mut ChaCha8Rng) -> Option<Car> {
    let dir = if horizontal { (1, 0) } else { (0, 1) };
    let at = |k: i32| (cell.0 + dir.0 * k, cell.1 + dir.1 * k);
    let (mut back, mut ahead) = (0, 0);
    while city.is_street(at(-back - 1)) {
        back += 1;
    }
    while city.is_street(at(ahead + 1)) {
        ahead += 1;
    }
    let run = back + ahead + 1;
    if run < MIN_TRACK {
        return None;
    }
    let len = rng.random_range(MIN_TRACK..=run.min(MAX_TRACK));
    // The track's first cell, so that the track holds `cell` and stays on the run.
    let first = rng.random_range((-back).max(1 - len)..=0i32.min(ahead + 1 - len));
    Some(Car {
        origin: at(first),
        dir,
        len,
        offset: rng.random_range(0..2 * (len as u32 - 1)),
        phase: rng.random_range(0..ticks),
    })
}

/// Whether a car sweeping `q` during a tick kills an agent moving from `a` to `b`: the three death rules of the
/// module docs, literally.
pub(super) fn hits(q: &[(i32, i32)], a: (i32, i32), b: (i32, i32)) -> bool {
    let k = q.len() - 1;
    let ends_on = q[k] == b;
    let swaps = a != b && q.windows(2).any(|s| s[0] == b && s[1] == a);
    let passes = k >= 2 && q[1..k].iter().any(|&c| c == a || c == b);
    ends_on || swaps || passes
}
