//! The bottom-up enumeration itself: sizes in order, argument compositions, pruning and caps.

use super::{finish, mix, type_hash, Bank, Cap, Caps, Control, Entry, Found, Grammar, SearchStats, Table, MAX_ARITY};
use std::collections::BTreeMap;
use std::time::Instant;

/// The search state while one size is being enumerated.
struct State<'g, G: Grammar> {
    g: &'g G,
    caps: Caps,
    start: Instant,
    width: usize,
    entries: Vec<Entry<G::Op, G::Ty>>,
    hashes: Vec<u64>,
    table: Table,
    type_hashes: BTreeMap<G::Ty, u64>,
    /// Values of programs of the current size (committed to the bank when the size is done).
    staging: Vec<G::Value>,
    staged: Vec<(G::Ty, u32)>,
    heap_bytes: usize,
    stats: SearchStats,
    finish_size: bool,
}

impl<G: Grammar> State<'_, G> {
    fn bytes(&self, committed_values: usize) -> usize {
        let entry = std::mem::size_of::<Entry<G::Op, G::Ty>>() + 8 + 4; // entry, hash, id in its size list
        self.entries.len() * entry
            + self.table.slots.len() * 4
            + (committed_values + self.staging.len()) * std::mem::size_of::<G::Value>()
            + self.heap_bytes
    }

    /// Offers a candidate whose behaviour is in `scratch`; returns what the search should do next.
    fn offer(
        &mut self,
        values: &[G::Value],
        scratch: &mut Vec<G::Value>,
        (op, ty, size, args): (G::Op, G::Ty, usize, &[u32]),
        visit: &mut impl FnMut(&Found<'_, G>) -> Control,
    ) -> Control {
        let w = self.width;
        let g = self.g;
        let mut h = *self.type_hashes.entry(ty).or_insert_with(|| type_hash(&ty));
        for v in scratch.iter() {
            h = mix(h, g.hash_value(v));
        }
        let h = finish(h);
        let committed = values.len() / w.max(1);
        let (entries, staging) = (&self.entries, &self.staging);
        let found = self.table.find(h, |id| {
            let e = &entries[id as usize];
            if e.ty != ty || self.hashes[id as usize] != h {
                return false;
            }
            let other = if (id as usize) < committed {
                &values[id as usize * w..(id as usize + 1) * w]
            } else {
                let i = (id as usize - committed) * w;
                &staging[i..i + w]
            };
            other.iter().zip(scratch.iter()).all(|(a, b)| g.same_value(a, b))
        });
        let Err(mut slot) = found else {
            return Control::Continue;
        };
        let extra: usize = scratch.iter().map(|v| g.heap_bytes(v)).sum();
        let entry = std::mem::size_of::<Entry<G::Op, G::Ty>>() + 8 + 4 + w * std::mem::size_of::<G::Value>();
        if self.entries.len() >= self.caps.max_programs {
            self.stats.cap_hit = Some(Cap::Programs);
            return Control::Stop;
        }
        if self.bytes(values.len()) + entry + extra > self.caps.max_bytes {
            self.stats.cap_hit = Some(Cap::Bytes);
            return Control::Stop;
        }
        let id = self.entries.len() as u32;
        let mut arg_ids = [0u32; MAX_ARITY];
        arg_ids[..args.len()].copy_from_slice(args);
        self.entries.push(Entry { op, ty, size: size as u16, arity: args.len() as u8, args: arg_ids });
        self.hashes.push(h);
        if 2 * (self.entries.len() + 1) > self.table.slots.len() {
            self.table.grow_if_needed(self.entries.len(), &self.hashes);
            slot = self.table.free_slot(h);
        }
        self.table.slots[slot] = id;
        self.heap_bytes += extra;
        let start = self.staging.len();
        self.staging.append(scratch);
        self.staged.push((ty, id));
        self.stats.kept += 1;
        self.stats.peak_bytes = self.stats.peak_bytes.max(self.bytes(values.len()) as u64);
        let found = Found { id, ty, size, behaviour: &self.staging[start..], entries: &self.entries };
        match visit(&found) {
            Control::FinishSize => {
                self.finish_size = true;
                Control::Continue
            }
            c => c,
        }
    }

    /// Counts one candidate; stops once [`Caps::max_candidates`] have been counted.
    fn tick(&mut self) -> Control {
        if self.stats.enumerated >= self.caps.max_candidates {
            self.stats.cap_hit = Some(Cap::Candidates);
            return Control::Stop;
        }
        self.stats.enumerated += 1;
        Control::Continue
    }
}

/// All ways to write `total` as an ordered sum of `parts` positive integers.
fn compositions(total: usize, parts: usize) -> Vec<Vec<usize>> {
    if parts == 0 {
        return if total == 0 { vec![Vec::new()] } else { Vec::new() };
    }
    let mut out = Vec::new();
    for first in 1..=total.saturating_sub(parts - 1) {
        for mut rest in compositions(total - first, parts - 1) {
            rest.insert(0, first);
            out.push(rest);
        }
    }
    out
}

/// Enumerates the programs of `grammar` bottom-up by size under `caps`, keeping one per distinct behaviour, and
/// calls `visit` on each program as it is kept. Returns the bank of kept programs and the search figures.
///
/// Productions with more than [`MAX_ARITY`] arguments, or none, are ignored (terminals come from
/// [`Grammar::terminals`]). Terminals whose behaviour has the wrong length are skipped.
pub fn enumerate<G: Grammar>(
    grammar: &G,
    caps: &Caps,
    mut visit: impl FnMut(&Found<'_, G>) -> Control,
) -> (Bank<G>, SearchStats) {
    let width = grammar.width();
    let mut st = State {
        g: grammar,
        caps: *caps,
        start: Instant::now(),
        width,
        entries: Vec::new(),
        hashes: Vec::new(),
        table: Table::new(),
        type_hashes: BTreeMap::new(),
        staging: Vec::new(),
        staged: Vec::new(),
        heap_bytes: 0,
        stats: SearchStats::default(),
        finish_size: false,
    };
    let mut values: Vec<G::Value> = Vec::new();
    let mut by_type_size: BTreeMap<(G::Ty, usize), Vec<u32>> = BTreeMap::new();
    let productions: Vec<_> =
        grammar.productions().into_iter().filter(|p| (1..=MAX_ARITY).contains(&p.args.len())).collect();
    let mut scratch: Vec<G::Value> = Vec::with_capacity(width);
    let mut stopped = false;
    'sizes: for size in 1..=caps.max_size.min(u16::MAX as usize) {
        if size == 1 {
            for t in grammar.terminals() {
                if t.behaviour.len() != width {
                    continue;
                }
                if st.tick() == Control::Stop {
                    stopped = true;
                    break;
                }
                scratch.clear();
                scratch.extend(t.behaviour);
                if st.offer(&values, &mut scratch, (t.op, t.ty, 1, &[]), &mut visit) == Control::Stop {
                    stopped = true;
                    break;
                }
            }
        } else {
            for p in &productions {
                let k = p.args.len();
                for split in compositions(size - 1, k) {
                    // Commutative: of two same-typed arguments, the first is never larger than the second.
                    let symmetric = p.commutative && k == 2 && p.args[0] == p.args[1];
                    if symmetric && split[0] > split[1] {
                        continue;
                    }
                    let lists: Vec<&[u32]> = (0..k)
                        .map(|i| by_type_size.get(&(p.args[i], split[i])).map_or(&[][..], |v: &Vec<u32>| &v[..]))
                        .collect();
                    if lists.iter().any(|l| l.is_empty()) {
                        continue;
                    }
                    let mut idx = [0usize; MAX_ARITY];
                    loop {
                        let ids: [u32; MAX_ARITY] = std::array::from_fn(|i| if i < k { lists[i][idx[i]] } else { 0 });
                        if !(symmetric && split[0] == split[1] && ids[0] > ids[1]) {
                            if st.tick() == Control::Stop {
                                stopped = true;
                                break 'sizes;
                            }
                            let args: Vec<&[G::Value]> = ids[..k]
                                .iter()
                                .map(|&a| &values[a as usize * width..(a as usize + 1) * width])
                                .collect();
                            scratch.clear();
                            if grammar.apply(p.op, &args, &mut scratch)
                                && scratch.len() == width
                                && st.offer(&values, &mut scratch, (p.op, p.result, size, &ids[..k]), &mut visit)
                                    == Control::Stop
                            {
                                stopped = true;
                                break 'sizes;
                            }
                        }
                        // Advance the odometer, last argument fastest.
                        let mut i = k;
                        let done = loop {
                            if i == 0 {
                                break true;
                            }
                            i -= 1;
                            idx[i] += 1;
                            if idx[i] < lists[i].len() {
                                break false;
                            }
                            idx[i] = 0;
                        };
                        if done {
                            break;
                        }
                    }
                }
            }
        }
        // Commit the programs of this size.
        values.append(&mut st.staging);
        for (ty, id) in st.staged.drain(..) {
            by_type_size.entry((ty, size)).or_default().push(id);
        }
        if stopped {
            break;
        }
        st.stats.size_completed = size;
        if st.finish_size {
            break;
        }
    }
    values.append(&mut st.staging);
    for (ty, id) in st.staged.drain(..) {
        let size = st.entries[id as usize].size as usize;
        by_type_size.entry((ty, size)).or_default().push(id);
    }
    if !stopped && !st.finish_size && st.stats.cap_hit.is_none() {
        st.stats.cap_hit = Some(Cap::Size);
    }
    st.stats.seconds = st.start.elapsed().as_secs_f64();
    let bank = Bank { width, entries: st.entries, values, by_type_size };
    (bank, st.stats)
}
