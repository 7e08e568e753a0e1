//! The open-addressing table of behaviour hashes that observational-equivalence pruning looks values up in.

use std::hash::Hash;

/// Open-addressing set of program ids, keyed by behaviour hash; equality is decided by the grammar.
pub(super) struct Table {
    pub(super) slots: Vec<u32>,
}

const EMPTY: u32 = u32::MAX;

impl Table {
    pub(super) fn new() -> Self {
        Table { slots: vec![EMPTY; 1024] }
    }

    /// The matching id, or the free slot where a new one goes.
    pub(super) fn find(&self, hash: u64, mut same: impl FnMut(u32) -> bool) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        loop {
            match self.slots[i] {
                EMPTY => return Err(i),
                id if same(id) => return Ok(id),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The free slot where an id with this hash goes.
    pub(super) fn free_slot(&self, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        while self.slots[i] != EMPTY {
            i = (i + 1) & mask;
        }
        i
    }

    /// Doubles the table when it would become more than half full after one more insertion.
    pub(super) fn grow_if_needed(&mut self, len: usize, hashes: &[u64]) {
        if 2 * (len + 1) <= self.slots.len() {
            return;
        }
        let mut slots = vec![EMPTY; self.slots.len() * 2];
        let mask = slots.len() - 1;
        for &id in self.slots.iter().filter(|&&s| s != EMPTY) {
            let mut i = (hashes[id as usize] as usize) & mask;
            while slots[i] != EMPTY {
                i = (i + 1) & mask;
            }
            slots[i] = id;
        }
        self.slots = slots;
    }
}

pub(super) fn mix(h: u64, x: u64) -> u64 {
    // A 64-bit multiply-rotate mix (FxHash-like with a final avalanche in `finish`).
    (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

pub(super) fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

pub(super) fn type_hash<T: Hash>(t: &T) -> u64 {
    use std::hash::Hasher;
    // `DefaultHasher::new()` has fixed keys; the hash is only used for membership, never for order.
    let mut s = std::hash::DefaultHasher::new();
    t.hash(&mut s);
    s.finish()
}
