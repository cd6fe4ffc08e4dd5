//! A synthetic recurrence cohort with known truth: clinical factors (HR, HER2), a site, and
//! an imaging term that carries a set share of the hazard. Times are Weibull under
//! proportional hazards; censoring is staggered (uniform follow-up between 1 and 10 years).
//!
//! This is the clinical half of the synthetic cohort; the images whose appearance encodes
//! the imaging term come with the imaging issue. Until then the study scores patients with
//! the true imaging term itself: the best any model could do.

use dag_engine::task::{Task, TaskCtx, TaskError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use std::fmt::Write as _;

pub const SITES: [(&str, f64); 4] = [("DUKE", 0.35), ("ISPY1", 0.2), ("ISPY2", 0.3), ("NACT", 0.15)];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "default_patients")]
    pub patients: usize,
    #[serde(default)]
    pub seed: u64,
    /// Standard deviation of the imaging term on the log-hazard scale (0: no imaging signal).
    #[serde(default = "default_effect")]
    pub imaging_effect: f64,
}

pub(crate) fn default_patients() -> usize {
    433
}
pub(crate) fn default_effect() -> f64 {
    0.7
}

pub struct Patient {
    pub id: String,
    pub site: &'static str,
    pub hr: u8,
    pub her2: u8,
    pub age: u32,
    /// Standardised appearance features that carry the imaging term: enhancement
    /// heterogeneity, rim enhancement, necrotic core (texture and shape, not size).
    pub heterogeneity: f64,
    pub rim: f64,
    pub necrosis: f64,
    /// Tumour radius in mm: deliberately unrelated to risk.
    pub radius_mm: f64,
    pub imaging_term: f64,
    pub time_days: f64,
    pub event: bool,
}

/// Standard normal by Box–Muller (rand's distributions crate is not needed for one draw).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

pub fn generate(p: &Params) -> Vec<Patient> {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let (shape, scale_days) = (1.3, 4700.0);
    (0..p.patients)
        .map(|k| {
            let u: f64 = rng.r#gen();
            let mut acc = 0.0;
            let site = SITES.iter().find(|(_, w)| {
                acc += w;
                u < acc
            });
            let site = site.map_or("NACT", |s| s.0);
            let hr = u8::from(rng.r#gen::<f64>() < 0.6);
            let her2 = u8::from(rng.r#gen::<f64>() < 0.3);
            let (heterogeneity, rim, necrosis) = (normal(&mut rng), normal(&mut rng), normal(&mut rng));
            // Unit variance before the effect size, so `imaging_effect` is the term's SD.
            let imaging_term = p.imaging_effect * (0.6 * heterogeneity + 0.5 * rim + 0.62 * necrosis) / (0.6f64 * 0.6 + 0.25 + 0.62 * 0.62).sqrt();
            let age = rng.gen_range(28..76);
            let radius_mm = rng.gen_range(6.0..16.0);
            let eta = -0.8 * f64::from(hr) + 0.9 * f64::from(her2) + imaging_term;
            let e: f64 = -rng.gen_range(f64::EPSILON..1.0f64).ln();
            let t = scale_days * (e / eta.exp()).powf(1.0 / shape);
            let censor = rng.gen_range(365.0..3650.0);
            Patient {
                id: format!("{site}_{:03}", k + 1),
                site,
                hr,
                her2,
                age,
                heterogeneity,
                rim,
                necrosis,
                radius_mm,
                imaging_term,
                time_days: t.min(censor).round().max(1.0),
                event: t <= censor,
            }
        })
        .collect()
}

pub fn to_csv(patients: &[Patient]) -> String {
    let mut out = String::from("patient_id,site,time_days,event,HR,HER2,imaging_term\n");
    for p in patients {
        let _ = writeln!(out, "{},{},{},{},{},{},{:.6}", p.id, p.site, p.time_days, u8::from(p.event), p.hr, p.her2, p.imaging_term);
    }
    out
}

pub struct SyntheticCohort;

impl Task for SyntheticCohort {
    type Params = Params;
    const KIND: &'static str = "synthetic_cohort";
    // 2: stronger clinical effects and an imaging effect of 0.7 (true-term C ≈ 0.7).
    // 3: the imaging term is made of three appearance features; age and radius drawn.
    const VERSION: u32 = 3;
    const DESCRIPTION: &'static str = "synthetic recurrence cohort (clinical table with the true imaging term)";

    fn validate(p: &Params) -> Vec<dag_engine::params::ParamError> {
        use crate::ranges::{at_least, non_negative, refused};
        refused([at_least("patients", p.patients, 1), non_negative("imaging_effect", p.imaging_effect)])
    }

    fn run(&self, p: Params, ctx: &mut TaskCtx<'_>) -> Result<(), TaskError> {
        let patients = generate(&p);
        let path = ctx.out.join("cohort.csv");
        std::fs::write(&path, to_csv(&patients)).map_err(TaskError::io(&path))?;
        let events = patients.iter().filter(|p| p.event).count();
        let _ = writeln!(ctx.log, "{} patients, {events} recurrences (seed {}, imaging effect {})", patients.len(), p.seed, p.imaging_effect);
        Ok(())
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::survival::{harrell::harrell, Surv};

    #[test]
    fn the_default_cohort_has_the_papers_size_and_a_real_imaging_signal() {
        let p = generate(&Params { patients: 433, seed: 0, imaging_effect: 0.7 });
        let events = p.iter().filter(|x| x.event).count();
        assert!((95..=135).contains(&events), "{events} events");
        let s = Surv::new(p.iter().map(|x| x.time_days).collect(), p.iter().map(|x| x.event).collect()).unwrap();
        let c = harrell(&s, &p.iter().map(|x| x.imaging_term).collect::<Vec<_>>()).unwrap().c;
        assert!((0.65..0.78).contains(&c), "true imaging term C = {c}");
        // Negative control: no imaging effect, no signal.
        let q = generate(&Params { patients: 433, seed: 0, imaging_effect: 0.0 });
        let s = Surv::new(q.iter().map(|x| x.time_days).collect(), q.iter().map(|x| x.event).collect()).unwrap();
        let noise: Vec<f64> = (0..433).map(|i| ((i * 7919) % 433) as f64).collect();
        assert!((harrell(&s, &noise).unwrap().c - 0.5).abs() < 0.08);
    }
}
