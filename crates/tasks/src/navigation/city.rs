//! City generation: the four street patterns on a W×H grid, connectivity and street distances.

use super::{GRID_BUILT_OVER, MAX_SIZE};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::VecDeque;

/// A street pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// Streets every 3rd or 4th row and column, some segments built over.
    Grid,
    /// Full street rows with staggered cross streets (brick-like blocks).
    Offset,
    /// Concentric ring roads with radial connectors.
    Ring,
    /// One-cell corridors of a random maze with loops.
    Maze,
}

impl Pattern {
    /// The pattern's name as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Grid => "grid",
            Pattern::Offset => "offset",
            Pattern::Ring => "ring",
            Pattern::Maze => "maze",
        }
    }
}

/// An agent's action in one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// y − 1.
    North,
    /// y + 1.
    South,
    /// x + 1.
    East,
    /// x − 1.
    West,
    /// Stay.
    Wait,
}

impl Action {
    /// Every action, in index order.
    pub const ALL: [Action; 5] = [Action::North, Action::South, Action::East, Action::West, Action::Wait];

    /// Position in [`Action::ALL`] (a network's class).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The action at `index` of [`Action::ALL`].
    pub fn from_index(index: usize) -> Option<Action> {
        Action::ALL.get(index).copied()
    }

    /// The (dx, dy) of the move.
    pub fn delta(self) -> (i32, i32) {
        match self {
            Action::North => (0, -1),
            Action::South => (0, 1),
            Action::East => (1, 0),
            Action::West => (-1, 0),
            Action::Wait => (0, 0),
        }
    }

    /// The move with the given (dx, dy), if it is one.
    pub(super) fn from_delta(d: (i32, i32)) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.delta() == d)
    }

    pub(super) fn opposite(self) -> Action {
        match self {
            Action::North => Action::South,
            Action::South => Action::North,
            Action::East => Action::West,
            Action::West => Action::East,
            Action::Wait => Action::Wait,
        }
    }
}

/// What a city is generated from: pattern, seed, width, height and the built-over share's bits.
type CityKey = (Pattern, u64, u32, u32, u64);

/// Cities generated lately on this thread. An instance's city is asked for several times while it is checked,
/// played, planned on and scored (`NavInstance::city`), and a learner replays the same training instances
/// round after round; a generation (tens of µs) was 15-35% of the hand-written and program-search solvers'
/// time and about 5% of the networks'. A city is a function of its key alone, so the memo changes no answer, only
/// how often the same city is built (the test beside the generator checks it against fresh generations).
/// Direct-mapped by a hash of the key: a lookup is one hash and one comparison, and a slot holds the latest city
/// that hashed to it.
struct Recent {
    slots: Vec<Option<(CityKey, City)>>,
}

/// Slots of the memo: a few thousand cities of at most 64×64 cells, a few MB per thread at the most.
const RECENT_SLOTS: usize = 4096;

impl Recent {
    fn slot(key: &CityKey) -> usize {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        (h.finish() % RECENT_SLOTS as u64) as usize
    }

    fn get(&self, key: &CityKey) -> Option<City> {
        match &self.slots[Recent::slot(key)] {
            Some((k, city)) if k == key => Some(city.clone()),
            _ => None,
        }
    }

    fn put(&mut self, key: CityKey, city: &City) {
        self.slots[Recent::slot(&key)] = Some((key, city.clone()));
    }
}

thread_local! {
    static RECENT: std::cell::RefCell<Recent> = std::cell::RefCell::new(Recent { slots: vec![None; RECENT_SLOTS] });
}

/// The layout of a city: which cells are streets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct City {
    pub(super) width: i32,
    pub(super) height: i32,
    pub(super) street: Vec<bool>,
}

/// A reachability search between street cells, its buffers kept from one search to the next: the grid pattern
/// asks once per built-over segment, and a fresh search per question (a queue of coordinates and a cleared map of
/// seen cells each time) was most of a city's generation.
#[derive(Debug, Default)]
struct Reach {
    /// The search each cell was last seen in (0: never).
    seen: Vec<u32>,
    /// This search's number.
    stamp: u32,
    queue: Vec<u32>,
}

impl Reach {
    /// Whether `to` can be reached from `from` (both street cells) along streets; it stops as soon as it arrives.
    fn reaches(&mut self, city: &City, from: (i32, i32), to: (i32, i32)) -> bool {
        let (w, h) = (city.width as usize, city.height as usize);
        if self.seen.len() != city.street.len() || self.stamp == u32::MAX {
            self.seen = vec![0; city.street.len()];
            self.stamp = 0;
        }
        self.stamp += 1;
        let (stamp, target) = (self.stamp, city.index(to) as u32);
        self.queue.clear();
        self.queue.push(city.index(from) as u32);
        self.seen[city.index(from)] = stamp;
        let mut head = 0;
        while let Some(&c) = self.queue.get(head) {
            head += 1;
            if c == target {
                return true;
            }
            let c = c as usize;
            let (x, y) = (c % w, c / w);
            for (ok, n) in
                [(y > 0, c.wrapping_sub(w)), (y + 1 < h, c + w), (x + 1 < w, c + 1), (x > 0, c.wrapping_sub(1))]
            {
                if ok && city.street[n] && self.seen[n] != stamp {
                    self.seen[n] = stamp;
                    self.queue.push(n as u32);
                }
            }
        }
        false
    }
}

impl City {
    /// Builds the city of `pattern` from `seed` (deterministic; every street cell reaches every other).
    pub fn generate(pattern: Pattern, seed: u64, width: u32, height: u32) -> City {
        City::generate_with(pattern, seed, width, height, GRID_BUILT_OVER)
    }

    /// [`City::generate`] with the share of the `grid` pattern's street segments built over (other patterns
    /// ignore it).
    pub fn generate_with(pattern: Pattern, seed: u64, width: u32, height: u32, built_over: f64) -> City {
        let key = (pattern, seed, width, height, built_over.to_bits());
        if let Some(city) = RECENT.with(|r| r.borrow().get(&key)) {
            return city;
        }
        let city = City::generate_fresh(pattern, seed, width, height, built_over);
        RECENT.with(|r| r.borrow_mut().put(key, &city));
        city
    }

    /// [`City::generate_with`] without the memo of recent cities.
    fn generate_fresh(pattern: Pattern, seed: u64, width: u32, height: u32, built_over: f64) -> City {
        let built_over = if built_over.is_nan() { 0.0 } else { built_over.clamp(0.0, 1.0) };
        let (w, h) = (width.min(MAX_SIZE) as i32, height.min(MAX_SIZE) as i32);
        let mut city = City { width: w, height: h, street: vec![false; (w * h) as usize] };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        if w > 0 && h > 0 {
            match pattern {
                Pattern::Grid => city.grid(&mut rng, built_over),
                Pattern::Offset => city.offset(&mut rng),
                Pattern::Ring => city.ring(&mut rng),
                Pattern::Maze => city.maze(&mut rng),
            }
        }
        city.keep_largest_component();
        city
    }

    /// Cells west to east.
    pub fn width(&self) -> i32 {
        self.width
    }

    /// Cells north to south.
    pub fn height(&self) -> i32 {
        self.height
    }

    /// Whether (x, y) is a street cell (false off the map).
    pub fn is_street(&self, (x, y): (i32, i32)) -> bool {
        (0..self.width).contains(&x) && (0..self.height).contains(&y) && self.street[(y * self.width + x) as usize]
    }

    /// Every street cell, row by row.
    pub fn street_cells(&self) -> Vec<(i32, i32)> {
        (0..self.street.len()).filter(|&i| self.street[i]).map(|i| self.cell(i)).collect()
    }

    /// Street distance (shortest path along streets) from `from` to every cell, row by row; `u32::MAX` for
    /// buildings and unreachable cells.
    pub fn distances_from(&self, from: (i32, i32)) -> Vec<u32> {
        let mut dist = vec![u32::MAX; self.street.len()];
        if !self.is_street(from) {
            return dist;
        }
        let mut queue = VecDeque::from([from]);
        dist[self.index(from)] = 0;
        while let Some(c) = queue.pop_front() {
            let d = dist[self.index(c)];
            for n in self.neighbours(c) {
                let i = self.index(n);
                if dist[i] == u32::MAX {
                    dist[i] = d + 1;
                    queue.push_back(n);
                }
            }
        }
        dist
    }

    /// Where an agent on `from` ends up after `action`: the neighbour if it is a street, else `from`.
    pub fn moved(&self, from: (i32, i32), action: Action) -> (i32, i32) {
        let (dx, dy) = action.delta();
        let to = (from.0 + dx, from.1 + dy);
        if self.is_street(to) {
            to
        } else {
            from
        }
    }

    pub(super) fn index(&self, (x, y): (i32, i32)) -> usize {
        (y * self.width + x) as usize
    }

    pub(super) fn cell(&self, i: usize) -> (i32, i32) {
        (i as i32 % self.width, i as i32 / self.width)
    }

    fn set(&mut self, (x, y): (i32, i32), street: bool) {
        if (0..self.width).contains(&x) && (0..self.height).contains(&y) {
            self.street[(y * self.width + x) as usize] = street;
        }
    }

    fn neighbours(&self, (x, y): (i32, i32)) -> impl Iterator<Item = (i32, i32)> + '_ {
        [(0, -1), (0, 1), (1, 0), (-1, 0)]
            .into_iter()
            .map(move |(dx, dy)| (x + dx, y + dy))
            .filter(|&c| self.is_street(c))
    }

    /// Component label of every street cell (`usize::MAX` for buildings) and the size of each component.
    fn components(&self) -> (Vec<usize>, Vec<usize>) {
        let mut label = vec![usize::MAX; self.street.len()];
        let mut sizes = Vec::new();
        for i in 0..self.street.len() {
            if !self.street[i] || label[i] != usize::MAX {
                continue;
            }
            let id = sizes.len();
            let mut stack = vec![self.cell(i)];
            label[i] = id;
            let mut size = 0;
            while let Some(c) = stack.pop() {
                size += 1;
                for n in self.neighbours(c) {
                    let j = self.index(n);
                    if label[j] == usize::MAX {
                        label[j] = id;
                        stack.push(n);
                    }
                }
            }
            sizes.push(size);
        }
        (label, sizes)
    }

    #[cfg(test)]
    pub(super) fn is_connected(&self) -> bool {
        self.components().1.len() <= 1
    }

    fn keep_largest_component(&mut self) {
        let (label, sizes) = self.components();
        // The first of the largest, so that the result is deterministic.
        let Some(best) = (0..sizes.len()).max_by_key(|&i| (sizes[i], Reverse(i))) else {
            return;
        };
        for (s, l) in self.street.iter_mut().zip(label) {
            *s = *s && l == best;
        }
    }

    fn grid(&mut self, rng: &mut ChaCha8Rng, built_over: f64) {
        let (kx, ky) = (rng.random_range(3..=4), rng.random_range(3..=4));
        let (ox, oy) = (rng.random_range(0..kx), rng.random_range(0..ky));
        let (column, row) = (|x: i32| x % kx == ox, |y: i32| y % ky == oy);
        for y in 0..self.height {
            for x in 0..self.width {
                self.set((x, y), column(x) || row(y));
            }
        }
        // A segment is a maximal run of street cells between crossings (or a crossing and the edge), with the
        // cells just beyond its two ends.
        type Segment = (Vec<(i32, i32)>, (i32, i32), (i32, i32));
        let mut segments: Vec<Segment> = Vec::new();
        let mut run = Vec::new();
        for y in (0..self.height).filter(|&y| row(y)) {
            for x in 0..=self.width {
                if x < self.width && !column(x) {
                    run.push((x, y));
                } else if let Some(&(x0, _)) = run.first() {
                    segments.push((std::mem::take(&mut run), (x0 - 1, y), (x, y)));
                }
            }
        }
        for x in (0..self.width).filter(|&x| column(x)) {
            for y in 0..=self.height {
                if y < self.height && !row(y) {
                    run.push((x, y));
                } else if let Some(&(_, y0)) = run.first() {
                    segments.push((std::mem::take(&mut run), (x, y0 - 1), (x, y)));
                }
            }
        }
        segments.shuffle(rng);
        let mut search = Reach::default();
        for (cells, a, b) in segments {
            if rng.random_bool(built_over) {
                cells.iter().for_each(|&c| self.set(c, false));
                // A segment's cells touch only each other and its two end crossings (streets are at least 3 apart),
                // so removing it disconnects the streets exactly when no other way joins its two ends; a segment
                // that runs to the edge is a dead end.
                if self.is_street(a) && self.is_street(b) && !search.reaches(self, a, b) {
                    cells.iter().for_each(|&c| self.set(c, true));
                }
            }
        }
    }

    /// Whether `to` can be reached from `from` along streets: the reference for [`Reach::reaches`].
    #[cfg(test)]
    fn reaches(&self, from: (i32, i32), to: (i32, i32)) -> bool {
        let mut seen = vec![false; self.street.len()];
        let mut queue = VecDeque::from([from]);
        seen[self.index(from)] = true;
        while let Some(c) = queue.pop_front() {
            if c == to {
                return true;
            }
            for n in self.neighbours(c) {
                if !std::mem::replace(&mut seen[self.index(n)], true) {
                    queue.push_back(n);
                }
            }
        }
        false
    }

    fn offset(&mut self, rng: &mut ChaCha8Rng) {
        let mut rows = Vec::new();
        let mut y = rng.random_range(0..3);
        while y < self.height {
            rows.push(y);
            y += rng.random_range(3..=4);
        }
        for &y in &rows {
            (0..self.width).for_each(|x| self.set((x, y), true));
        }
        // Bands of building rows: between two street rows, and from each edge to the nearest street row.
        let mut bounds = vec![-1];
        bounds.extend(&rows);
        bounds.push(self.height);
        for pair in bounds.windows(2) {
            let (lo, hi) = (pair[0] + 1, pair[1]);
            if lo >= hi {
                continue;
            }
            let mut x = rng.random_range(0..3);
            while x < self.width {
                (lo..hi).for_each(|y| self.set((x, y), true));
                x += rng.random_range(3..=5);
            }
        }
    }

    fn ring(&mut self, rng: &mut ChaCha8Rng) {
        let (w, h) = (self.width, self.height);
        let mut insets = Vec::new();
        let mut d = rng.random_range(0..=1);
        while w - 2 * d >= 3 && h - 2 * d >= 3 {
            insets.push(d);
            d += 3;
        }
        for &d in &insets {
            for x in d..w - d {
                self.set((x, d), true);
                self.set((x, h - 1 - d), true);
            }
            for y in d..h - d {
                self.set((d, y), true);
                self.set((w - 1 - d, y), true);
            }
        }
        for pair in insets.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            for _ in 0..rng.random_range(2..=4) {
                // A straight connector from ring a to ring b on one of the four sides, within ring b's span.
                match rng.random_range(0..4) {
                    0 => {
                        let x = rng.random_range(b..w - b);
                        (a..=b).for_each(|y| self.set((x, y), true));
                    }
                    1 => {
                        let x = rng.random_range(b..w - b);
                        (h - 1 - b..=h - 1 - a).for_each(|y| self.set((x, y), true));
                    }
                    2 => {
                        let y = rng.random_range(b..h - b);
                        (a..=b).for_each(|x| self.set((x, y), true));
                    }
                    _ => {
                        let y = rng.random_range(b..h - b);
                        (w - 1 - b..=w - 1 - a).for_each(|x| self.set((x, y), true));
                    }
                }
            }
        }
        if let (Some(&outer), true) = (insets.first(), rng.random_bool(0.5)) {
            if rng.random_bool(0.5) {
                (outer..w - outer).for_each(|x| self.set((x, h / 2), true));
            } else {
                (outer..h - outer).for_each(|y| self.set((w / 2, y), true));
            }
        }
    }

    fn maze(&mut self, rng: &mut ChaCha8Rng) {
        let (ox, oy) = (rng.random_range(0..=1), rng.random_range(0..=1));
        // Lattice cells ("rooms") at (ox + 2i, oy + 2j); walls between neighbouring rooms are carved.
        let (nx, ny) = ((self.width - ox + 1) / 2, (self.height - oy + 1) / 2);
        if nx <= 0 || ny <= 0 {
            return;
        }
        let room = |i: i32, j: i32| (ox + 2 * i, oy + 2 * j);
        let mut visited = vec![false; (nx * ny) as usize];
        let first = (rng.random_range(0..nx), rng.random_range(0..ny));
        visited[(first.1 * nx + first.0) as usize] = true;
        self.set(room(first.0, first.1), true);
        let mut stack = vec![first];
        while let Some(&(i, j)) = stack.last() {
            let next: Vec<(i32, i32)> = [(0, -1), (0, 1), (1, 0), (-1, 0)]
                .into_iter()
                .map(|(di, dj)| (i + di, j + dj))
                .filter(|&(a, b)| (0..nx).contains(&a) && (0..ny).contains(&b) && !visited[(b * nx + a) as usize])
                .collect();
            let Some(&(a, b)) = next.choose(rng) else {
                stack.pop();
                continue;
            };
            visited[(b * nx + a) as usize] = true;
            let (p, q) = (room(i, j), room(a, b));
            self.set(q, true);
            self.set(((p.0 + q.0) / 2, (p.1 + q.1) / 2), true);
            stack.push((a, b));
        }
        for j in 0..ny {
            for i in 0..nx {
                let p = room(i, j);
                for (a, b) in [(i + 1, j), (i, j + 1)] {
                    if a < nx && b < ny && rng.random_bool(0.2) {
                        let q = room(a, b);
                        self.set(((p.0 + q.0) / 2, (p.1 + q.1) / 2), true);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_city_is_the_city_its_parameters_generate() {
        // Every parameter is part of the key: cities that differ in one of them alone must not be confused, nor
        // two keys that share a slot (asked twice, the second time in the other order).
        let mut keys: Vec<(Pattern, u64, u32, u32, f64)> = Vec::new();
        for seed in 0..40u64 {
            for p in [Pattern::Grid, Pattern::Offset, Pattern::Ring, Pattern::Maze] {
                for (w, h) in [(12, 12), (12, 13), (13, 12)] {
                    for b in [0.0, 0.3] {
                        keys.push((p, seed, w, h, b));
                    }
                }
            }
        }
        for round in 0..2 {
            let order: Vec<_> = if round == 0 { keys.clone() } else { keys.iter().rev().cloned().collect() };
            for (p, seed, w, h, b) in order {
                let fresh = City::generate_fresh(p, seed, w, h, b);
                assert_eq!(City::generate_with(p, seed, w, h, b), fresh, "{p:?} seed {seed} {w}x{h} built over {b}");
            }
        }
    }

    #[test]
    fn the_reused_search_answers_as_a_fresh_one() {
        let mut r = ChaCha8Rng::seed_from_u64(7);
        let mut search = Reach::default();
        let (mut yes, mut no) = (0, 0);
        for seed in 0..60u64 {
            let size = [5u32, 12, 17, 36][seed as usize % 4];
            let mut city = City::generate_with(Pattern::Grid, seed, size, size + (seed % 3) as u32, 0.3);
            // Knock out cells so that some pairs are cut apart.
            for _ in 0..(seed % 5) * size as u64 {
                let i = r.random_range(0..city.street.len());
                city.street[i] = false;
            }
            let cells = city.street_cells();
            for _ in 0..40 {
                let (Some(&a), Some(&b)) = (cells.choose(&mut r), cells.choose(&mut r)) else { break };
                let want = city.reaches(a, b);
                assert_eq!(search.reaches(&city, a, b), want, "seed {seed}: {a:?} -> {b:?}");
                if want {
                    yes += 1;
                } else {
                    no += 1;
                }
            }
        }
        assert!(yes > 100 && no > 100, "both answers exercised ({yes} reached, {no} cut off)");
    }
}
