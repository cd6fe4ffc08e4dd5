//! Cross-validation folds stratified by a combined label (event × site), so every fold keeps
//! the cohort's recurrence rate and site mix; and the inner validation split likewise.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Assigns each item a fold in 0..k. Within every stratum the counts per fold differ by at
/// most one, and so do the folds' sizes: each stratum, shuffled, is dealt round-robin, the
/// deal continuing where the previous stratum stopped.
pub fn stratified_folds(strata: &[String], k: usize, seed: u64) -> Vec<usize> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in strata.iter().enumerate() {
        groups.entry(s.as_str()).or_default().push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold = vec![0; strata.len()];
    let mut next = 0;
    for members in groups.values_mut() {
        members.shuffle(&mut rng);
        for &i in members.iter() {
            fold[i] = next % k;
            next += 1;
        }
    }
    fold
}

/// Picks round(fraction · n) items of each stratum for validation (at least one item of a
/// stratum with two or more), returning a mask.
pub fn stratified_holdout(strata: &[String], fraction: f64, seed: u64) -> Vec<bool> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in strata.iter().enumerate() {
        groups.entry(s.as_str()).or_default().push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut held = vec![false; strata.len()];
    for members in groups.values_mut() {
        members.shuffle(&mut rng);
        let mut n = (fraction * members.len() as f64).round() as usize;
        if fraction > 0.0 && n == 0 && members.len() >= 2 {
            n = 1;
        }
        for &i in members.iter().take(n.min(members.len().saturating_sub(1))) {
            held[i] = true;
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strata() -> Vec<String> {
        // 4 sites of different sizes, ~27% events, like the study's cohort.
        (0..433).map(|i| format!("{}|{}", ["DUKE", "DUKE", "ISPY1", "ISPY2", "ISPY2", "NACT", "DUKE"][(i * i + 3 * i) % 7], (i * 37 % 100 < 27) as u8)).collect()
    }

    #[test]
    fn every_fold_keeps_each_strata_share_within_one_patient() {
        let s = strata();
        let f = stratified_folds(&s, 5, 7);
        let mut sizes = [0usize; 5];
        let mut per: BTreeMap<(&str, usize), usize> = BTreeMap::new();
        for (st, &k) in s.iter().zip(&f) {
            sizes[k] += 1;
            *per.entry((st.as_str(), k)).or_default() += 1;
        }
        assert_eq!(sizes.iter().sum::<usize>(), 433);
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
        let names: std::collections::BTreeSet<&str> = s.iter().map(String::as_str).collect();
        for st in names {
            let counts: Vec<usize> = (0..5).map(|k| per.get(&(st, k)).copied().unwrap_or(0)).collect();
            assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1, "{st}: {counts:?}");
        }
        assert_eq!(f, stratified_folds(&s, 5, 7), "the same seed gives the same folds");
        assert_ne!(f, stratified_folds(&s, 5, 8));
    }

    #[test]
    fn the_holdout_takes_a_share_of_every_stratum_and_never_all_of_one() {
        let s: Vec<String> = ["a"; 10].iter().chain(["b"; 3].iter()).chain(["c"; 1].iter()).map(|x| x.to_string()).collect();
        let h = stratified_holdout(&s, 0.2, 1);
        let count = |name: &str| s.iter().zip(&h).filter(|(x, v)| x.as_str() == name && **v).count();
        assert_eq!((count("a"), count("b"), count("c")), (2, 1, 0));
    }
}
