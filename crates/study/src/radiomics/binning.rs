//! Fixed-width grey levels, with numpy's arithmetic (`getBinEdges` and `np.digitize` in
//! PyRadiomics), so that a value on an edge falls in the same bin.

/// The bin edges for the ROI's values: from `min − min mod width` (Python's modulo, whose
/// sign follows the divisor) up to below `max + 2·width`, as `np.arange` builds them.
pub fn edges(values: &[f64], width: f64) -> Vec<f64> {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let low = min - python_mod(min, width);
    let high = max + 2.0 * width;
    // np.arange: length ceil((stop − start) / step); values start + i·delta, where delta is
    // (start + step) − start as stored.
    let n = ((high - low) / width).ceil() as usize;
    let delta = (low + width) - low;
    let edges: Vec<f64> = (0..n).map(|i| low + i as f64 * delta).collect();
    if edges.len() == 1 {
        // One edge would give no bin: PyRadiomics widens it to one bin around it.
        return vec![edges[0] - 0.5, edges[0] + 0.5];
    }
    edges
}

/// `np.digitize(x, edges)` for increasing edges: the number of edges at or below `x`.
pub fn digitize(x: f64, edges: &[f64]) -> u32 {
    edges.partition_point(|&e| e <= x) as u32
}

/// Python's float `%`: the result takes the divisor's sign.
fn python_mod(a: f64, b: f64) -> f64 {
    let m = a % b;
    if m != 0.0 && (m < 0.0) != (b < 0.0) { m + b } else { m }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_start_at_the_multiple_of_the_width_below_the_minimum() {
        // numpy: np.digitize([-30, -25, 0, 24.9, 25, 99], np.arange(-50, 149, 25))
        let e = edges(&[-30.0, -25.0, 0.0, 24.9, 25.0, 99.0], 25.0);
        assert_eq!(e, vec![-50.0, -25.0, 0.0, 25.0, 50.0, 75.0, 100.0, 125.0]);
        let bins: Vec<u32> = [-30.0, -25.0, 0.0, 24.9, 25.0, 99.0].iter().map(|&x| digitize(x, &e)).collect();
        assert_eq!(bins, vec![1, 2, 3, 3, 4, 6]);
    }

    #[test]
    fn a_constant_roi_has_one_bin() {
        // max + 2w − low = 2w + (v mod w): two or three edges, never one, for w > 0; the
        // one-edge rule guards a width larger than the range of a float.
        let e = edges(&[7.0, 7.0], 25.0);
        assert_eq!(e, vec![0.0, 25.0, 50.0]);
        assert_eq!(digitize(7.0, &e), 1);
    }
}
