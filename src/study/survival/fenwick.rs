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
