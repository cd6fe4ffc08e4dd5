//! The reference cohort and results in tests/fixtures/oracles/stats, for tests.

use super::Surv;
use std::path::PathBuf;

pub fn dir() -> PathBuf {
    crate::oracles::oracles_dir().join("stats")
}

pub struct Cohort {
    pub surv: Surv,
    pub hr: Vec<f64>,
    pub her2: Vec<f64>,
    pub score: Vec<f64>,
}

pub fn cohort() -> Cohort {
    let mut r = csv::Reader::from_path(dir().join("cohort_days.csv")).expect("oracle cohort (tests/fixtures/oracles/stats)");
    let (mut t, mut e, mut hr, mut her2, mut sc) = (vec![], vec![], vec![], vec![], vec![]);
    for rec in r.records() {
        let rec = rec.unwrap();
        let f = |k: usize| rec[k].parse::<f64>().unwrap();
        t.push(f(1));
        e.push(f(2) == 1.0);
        hr.push(f(3));
        her2.push(f(4));
        sc.push(f(5));
    }
    Cohort { surv: Surv::new(t, e).unwrap(), hr, her2, score: sc }
}

pub fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("cohort_days.json")).unwrap()).unwrap()
}
