//! Seeded, parallel bootstrap percentile intervals for any statistic of a cohort (a C-index,
//! a difference of C-indices, …). Replicate r draws from its own ChaCha stream, so results
//! do not depend on the number of threads.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Interval {
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
    pub level: f64,
    pub replicates: usize,
    /// Replicates where the statistic was not estimable (e.g. no events drawn).
    pub skipped: usize,
}

/// `statistic` gets the resampled subject indices (with repetition) and returns None when
/// it is not estimable on them.
pub fn percentile_interval<F>(n: usize, replicates: usize, level: f64, seed: u64, threads: usize, statistic: F) -> Option<Interval>
where
    F: Fn(&[usize]) -> Option<f64> + Sync,
{
    let all: Vec<usize> = (0..n).collect();
    let estimate = statistic(&all)?;
    let threads = threads.clamp(1, replicates.max(1));
    let chunk = replicates.div_ceil(threads);
    let mut values: Vec<Option<f64>> = vec![None; replicates];
    std::thread::scope(|scope| {
        for (t, slot) in values.chunks_mut(chunk).enumerate() {
            let statistic = &statistic;
            scope.spawn(move || {
                let mut idx = vec![0usize; n];
                for (k, v) in slot.iter_mut().enumerate() {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    rng.set_stream((t * chunk + k) as u64);
                    for x in idx.iter_mut() {
                        *x = rng.gen_range(0..n);
                    }
                    *v = statistic(&idx);
                }
            });
        }
    });
    let mut ok: Vec<f64> = values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
    if ok.is_empty() {
        return None;
    }
    ok.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    Some(Interval {
        estimate,
        lower: quantile(&ok, alpha),
        upper: quantile(&ok, 1.0 - alpha),
        level,
        replicates,
        skipped: replicates - ok.len(),
    })
}

/// numpy's default (linear) percentile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_interval_whatever_the_threads() {
        let x: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64).collect();
        let mean = |idx: &[usize]| Some(idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64);
        let a = percentile_interval(x.len(), 400, 0.95, 42, 1, mean).unwrap();
        let b = percentile_interval(x.len(), 400, 0.95, 42, 4, mean).unwrap();
        assert_eq!(a, b);
        assert!(a.lower < a.estimate && a.estimate < a.upper);
        // The mean's bootstrap interval is about ±1.96 standard errors.
        let sd = (x.iter().map(|v| (v - a.estimate).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
        let half = 1.96 * sd / (x.len() as f64).sqrt();
        assert!(((a.upper - a.lower) / 2.0 - half).abs() < 0.25 * half, "{a:?} vs ±{half}");
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&v, 0.025), 1.075);
    }
}
