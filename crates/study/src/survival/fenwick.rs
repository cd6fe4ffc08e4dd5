//! A Fenwick (binary indexed) tree of sums over ranks, for the O(n log n) pair counts.

#[derive(Clone)]
pub struct Fenwick {
    tree: Vec<f64>,
    total: f64,
}

impl Fenwick {
    pub fn new(n: usize) -> Fenwick {
        Fenwick { tree: vec![0.0; n + 1], total: 0.0 }
    }

    pub fn add(&mut self, rank: usize, w: f64) {
        self.total += w;
        let mut i = rank + 1;
        while i < self.tree.len() {
            self.tree[i] += w;
            i += i & i.wrapping_neg();
        }
    }

    /// Sum over ranks < `rank`.
    pub fn below(&self, rank: usize) -> f64 {
        let mut s = 0.0;
        let mut i = rank;
        while i > 0 {
            s += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        s
    }

    /// Sum at exactly `rank`.
    pub fn at(&self, rank: usize) -> f64 {
        self.below(rank + 1) - self.below(rank)
    }

    pub fn total(&self) -> f64 {
        self.total
    }
}

/// Counts points (x, y) inserted so far with x < X and y < Y, for a set of points known in
/// advance: a Fenwick tree over x whose every node holds the sorted y's it covers and an
/// inner Fenwick tree over them. O(log² n) per insert and query, O(n log n) memory.
pub struct Dominance {
    ys: Vec<Vec<usize>>,
    counts: Vec<Vec<u32>>,
}

impl Dominance {
    /// `points` are every (x, y) that may be inserted; x < nx.
    pub fn new(nx: usize, points: &[(usize, usize)]) -> Dominance {
        let mut ys = vec![Vec::new(); nx + 1];
        for &(x, y) in points {
            let mut i = x + 1;
            while i <= nx {
                ys[i].push(y);
                i += i & i.wrapping_neg();
            }
        }
        for v in &mut ys {
            v.sort_unstable();
            v.dedup();
        }
        let counts = ys.iter().map(|v| vec![0; v.len() + 1]).collect();
        Dominance { ys, counts }
    }

    pub fn insert(&mut self, x: usize, y: usize) {
        let mut i = x + 1;
        while i < self.ys.len() {
            let pos = self.ys[i].partition_point(|&v| v < y) + 1;
            let inner = &mut self.counts[i];
            let mut k = pos;
            while k < inner.len() {
                inner[k] += 1;
                k += k & k.wrapping_neg();
            }
            i += i & i.wrapping_neg();
        }
    }

    /// Points with x < `x` and y < `y`.
    pub fn count_below(&self, x: usize, y: usize) -> u64 {
        let mut total = 0u64;
        let mut i = x;
        while i > 0 {
            let mut k = self.ys[i].partition_point(|&v| v < y);
            let inner = &self.counts[i];
            while k > 0 {
                total += u64::from(inner[k]);
                k -= k & k.wrapping_neg();
            }
            i -= i & i.wrapping_neg();
        }
        total
    }
}
