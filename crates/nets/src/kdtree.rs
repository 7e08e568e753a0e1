//! Exact nearest-neighbour search over fixed-width f32 rows: a k-d tree that returns exactly what a linear scan
//! returns (the first row, by index, at the smallest squared distance, each distance summed in the same order).
//!
//! Why it is exact under rounding: a subtree is skipped only when a lower bound on its rows' distances is strictly
//! above the best distance so far. The bound sums, in the same axis order and in f32 like a row's distance, the
//! squared gap from the query to the subtree's box on each axis (0 where the query lies within it). Rounding is
//! monotone: a row inside the box has each computed term at least that axis's computed gap, and every partial sum
//! of its terms at least the bound's partial sum, so its computed distance is at least the bound, hence strictly
//! worse than the best: no better row and no tie is ever skipped.

/// Rows per leaf.
const LEAF: usize = 16;

enum Node {
    Leaf { start: usize, end: usize },
    Split { axis: usize, value: f32, left: usize, right: usize },
}

/// A k-d tree over `rows` (row-major, `dim` wide).
pub(crate) struct KdTree {
    dim: usize,
    rows: Vec<f32>,
    /// Row indices, ordered so that every leaf is a contiguous range.
    order: Vec<usize>,
    nodes: Vec<Node>,
}

impl KdTree {
    /// Builds the tree; `rows.len()` must be a multiple of `dim` (`dim` ≥ 1).
    pub(crate) fn new(rows: Vec<f32>, dim: usize) -> KdTree {
        let n = rows.len().checked_div(dim).unwrap_or(0);
        let mut t = KdTree { dim: dim.max(1), rows, order: (0..n).collect(), nodes: Vec::new() };
        if n > 0 {
            t.build(0, n, 0);
        }
        t
    }

    fn at(&self, row: usize, axis: usize) -> f32 {
        self.rows[row * self.dim + axis]
    }

    /// Builds the subtree over `order[start..end]` and returns its node index.
    fn build(&mut self, start: usize, end: usize, depth: usize) -> usize {
        let id = self.nodes.len();
        if end - start <= LEAF {
            self.nodes.push(Node::Leaf { start, end });
            return id;
        }
        let axis = depth % self.dim;
        let mid = start + (end - start) / 2;
        let (dim, rows) = (self.dim, &self.rows);
        self.order[start..end]
            .select_nth_unstable_by(mid - start, |&a, &b| rows[a * dim + axis].total_cmp(&rows[b * dim + axis]));
        let value = self.at(self.order[mid], axis);
        self.nodes.push(Node::Split { axis, value, left: 0, right: 0 });
        // Rows before `mid` are ≤ value and rows from `mid` on are ≥ value on `axis`.
        let left = self.build(start, mid, depth + 1);
        let right = self.build(mid, end, depth + 1);
        if let Node::Split { left: l, right: r, .. } = &mut self.nodes[id] {
            *l = left;
            *r = right;
        }
        id
    }

    /// Index of the nearest row to `q` (the lowest index among equally near rows), or `None` with no rows.
    pub(crate) fn nearest(&self, q: &[f32]) -> Option<usize> {
        if self.nodes.is_empty() {
            return None;
        }
        let mut best = (f32::INFINITY, usize::MAX);
        let mut gaps = vec![0.0f32; self.dim];
        self.search(0, q, &mut gaps, &mut best);
        (best.1 != usize::MAX).then_some(best.1)
    }

    /// `gaps[k]`: the squared distance from `q` to the node's box along axis k.
    fn search(&self, node: usize, q: &[f32], gaps: &mut [f32], best: &mut (f32, usize)) {
        match self.nodes[node] {
            Node::Leaf { start, end } => {
                for &i in &self.order[start..end] {
                    let row = &self.rows[i * self.dim..(i + 1) * self.dim];
                    let d: f32 = row.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum();
                    if d < best.0 || (d == best.0 && i < best.1) {
                        *best = (d, i);
                    }
                }
            }
            Node::Split { axis, value, left, right } => {
                let (near, far) = if q[axis] < value { (left, right) } else { (right, left) };
                self.search(near, q, gaps, best);
                // The far child's box ends at the plane on this axis (both children may hold rows equal to
                // `value`, so the plane itself counts as inside).
                let before = gaps[axis];
                gaps[axis] = (value - q[axis]) * (value - q[axis]);
                let bound: f32 = gaps.iter().sum();
                // Not strictly farther (a NaN bound searches too, as a scan would look at every row).
                if bound.partial_cmp(&best.0) != Some(std::cmp::Ordering::Greater) {
                    self.search(far, q, gaps, best);
                }
                gaps[axis] = before;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn scan(rows: &[f32], dim: usize, q: &[f32]) -> usize {
        let mut best = (f32::INFINITY, 0);
        for (i, row) in rows.chunks_exact(dim).enumerate() {
            let d: f32 = row.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum();
            if d < best.0 {
                best = (d, i);
            }
        }
        best.1
    }

    #[test]
    fn returns_exactly_what_a_linear_scan_returns() {
        let mut r = ChaCha8Rng::seed_from_u64(3);
        for (n, dim, grid) in
            [(1usize, 1usize, false), (40, 2, true), (3000, 5, false), (3000, 5, true), (500, 3, true)]
        {
            // `grid` draws from few values, so that many rows tie, also with the queries.
            let draw = |r: &mut ChaCha8Rng| -> f32 {
                if grid {
                    r.random_range(0..4) as f32 * 0.5
                } else {
                    r.random_range(-3.0..3.0)
                }
            };
            let rows: Vec<f32> = (0..n * dim).map(|_| draw(&mut r)).collect();
            let tree = KdTree::new(rows.clone(), dim);
            for k in 0..400 {
                // Queries near the data, exactly on rows, and far outside it.
                let q: Vec<f32> = match k % 3 {
                    0 => (0..dim).map(|_| draw(&mut r)).collect(),
                    1 => rows[(k % n) * dim..(k % n + 1) * dim].to_vec(),
                    _ => (0..dim).map(|_| draw(&mut r) * 40.0 + 7.0).collect(),
                };
                assert_eq!(tree.nearest(&q), Some(scan(&rows, dim, &q)), "n {n} dim {dim} query {q:?}");
            }
        }
        assert_eq!(KdTree::new(Vec::new(), 3).nearest(&[0.0; 3]), None);
    }
}
