//! Survival statistics timings (`make bench`, via bench/stats.sh). Writes the cohorts it
//! times to CSV so the peers (lifelines, scikit-survival, compareC's numpy port) time the
//! very same data, and prints one JSON object of seconds.

use dag_study::survival::bootstrap::percentile_interval;
use dag_study::survival::cox::{fit, Ties};
use dag_study::survival::harrell::harrell;
use dag_study::survival::kang::kang;
use dag_study::survival::Surv;
use rand::{Rng, SeedableRng};
use std::time::Instant;

struct Cohort {
    surv: Surv,
    x: Vec<Vec<f64>>,
    score: Vec<f64>,
}

fn cohort(n: usize, seed: u64) -> Cohort {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut x = vec![Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n)];
    let (mut t, mut e, mut s) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let hr = f64::from(u8::from(rng.r#gen::<f64>() < 0.6));
        let her2 = f64::from(u8::from(rng.r#gen::<f64>() < 0.3));
        let z: f64 = rng.gen_range(-2.0..2.0);
        let eta = -0.4 * hr + 0.6 * her2 + 0.5 * z;
        let time = (-rng.gen_range(1e-12..1.0f64).ln() / eta.exp() * 2000.0).round().max(1.0);
        let censor = rng.gen_range(300.0..4000.0f64).round();
        t.push(time.min(censor));
        e.push(time <= censor);
        s.push((z + rng.gen_range(-1.0..1.0)) * 100.0_f64.round() / 100.0);
        x[0].push(hr);
        x[1].push(her2);
        x[2].push(z);
    }
    Cohort { surv: Surv::new(t, e).unwrap(), x, score: s }
}

fn write_csv(c: &Cohort, path: &std::path::Path) {
    let mut out = String::from("time,event,HR,HER2,z,score\n");
    for i in 0..c.surv.len() {
        out.push_str(&format!("{},{},{},{},{},{}\n", c.surv.time[i], u8::from(c.surv.event[i]), c.x[0][i], c.x[1][i], c.x[2][i], c.score[i]));
    }
    std::fs::write(path, out).unwrap();
}

/// Best of `reps` wall times, in seconds.
fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let out = std::env::args().skip_while(|a| a != "--out").nth(1).map(std::path::PathBuf::from).unwrap_or_else(|| "bench/out/stats".into());
    std::fs::create_dir_all(&out).unwrap();
    let big = cohort(100_000, 1);
    let mid = cohort(20_000, 2);
    let small = cohort(433, 3);
    write_csv(&big, &out.join("cohort_100000.csv"));
    write_csv(&mid, &out.join("cohort_20000.csv"));
    write_csv(&small, &out.join("cohort_433.csv"));
    let names: Vec<String> = ["HR", "HER2", "z"].iter().map(|s| s.to_string()).collect();
    let harrell_100k = time(5, || harrell(&big.surv, &big.score).unwrap());
    let cox_100k = time(3, || fit(&big.surv, &names, &big.x, Ties::Efron).unwrap());
    let other: Vec<f64> = mid.x[2].clone();
    let kang_20k = time(3, || kang(&mid.surv, &mid.score, &other).unwrap());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let boot = time(3, || {
        percentile_interval(433, 1000, 0.95, 7, threads, |idx| {
            let sub = small.surv.subset(idx);
            let sc: Vec<f64> = idx.iter().map(|&i| small.score[i]).collect();
            harrell(&sub, &sc).ok().map(|c| c.c)
        })
    });
    let c = harrell(&big.surv, &big.score).unwrap().c;
    let k = kang(&mid.surv, &mid.score, &other).unwrap();
    println!(
        "{}",
        serde_json::json!({
            "harrell_c_100000": harrell_100k, "cox_efron_3cov_100000": cox_100k, "kang_20000": kang_20k,
            "bootstrap_1000_harrell_433": boot, "threads": threads,
            "check": {"harrell_c_100000": c, "kang_20000_z": k.z, "kang_20000_p": k.p}
        })
    );
}
