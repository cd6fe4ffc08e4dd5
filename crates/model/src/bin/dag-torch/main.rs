//! The libtorch side of `dag`. Loading libtorch costs about 0.4 s of static initialisation,
//! which would dominate a no-op `dag run`; so the scheduler binary never links it and runs
//! this helper for whatever needs libtorch: counting CUDA devices, the model commands.

mod bench;
mod cuda;
mod worker;

use clap::{Parser, Subcommand};
use dag_model::densenet::DenseNet121;
use dag_model::weights::load_torchvision;
use tch::nn::{self, ModuleT};

#[derive(Parser)]
#[command(name = "dag-torch", about = "libtorch helper of dag")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// How many CUDA devices libtorch sees (JSON).
    Devices,
    /// Serves `dag`'s model requests on stdin/stdout (one JSON line each).
    #[command(hide = true)]
    Worker,
    /// Times the prefix, the tail's training and an end-to-end epoch (bench/model.sh).
    #[command(hide = true)]
    Bench {
        #[arg(long, default_value_t = 433)]
        patients: usize,
        #[arg(long, default_value_t = 30)]
        epochs: usize,
        #[arg(long, default_value_t = 2)]
        threads: i32,
        #[arg(long, default_value_t = 224)]
        size: i64,
        /// Only the tail's training, on random features (for profiling it).
        #[arg(long)]
        tail_only: bool,
        /// `cpu` or `cuda:N`.
        #[arg(long, default_value = "cpu")]
        device: String,
    },
    /// Runs a torchvision-format DenseNet121 (1000 classes, eval mode) on a (1,3,H,W) float32
    /// .npy array and prints its logits.
    Logits(dag_study::training::protocol::LogitsArgs),
}

/// Keeps freed memory in the process instead of handing it back to the kernel. libtorch on
/// the CPU allocates every activation with malloc; glibc returns large blocks (mmap, and trim
/// of the heap's top) as soon as they are freed, so the next batch faults the same pages in
/// again. Measured on the frozen prefix: 3.0 M page faults → 0.39 M, 35% less time, the same
/// peak memory (PyTorch users get the same with MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        // 32 MB is glibc's largest mmap threshold; blocks below it come from the heap.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// cuBLAS gives repeatable results only with a fixed workspace, and reads the setting when it
/// starts: so it is set here, for every run, and a fold that asks for `deterministic` gets a
/// deterministic cuBLAS as well as cuDNN (see dag_model::determinism). A user's own setting
/// stands.
fn fix_cublas_workspace() {
    if std::env::var_os("CUBLAS_WORKSPACE_CONFIG").is_none() {
        // SAFETY: first thing in `main`, before any other thread exists.
        unsafe { std::env::set_var("CUBLAS_WORKSPACE_CONFIG", ":4096:8") };
    }
}

fn main() {
    keep_freed_memory();
    fix_cublas_workspace();
    cuda::load();
    let code = match Cli::parse().command {
        Command::Devices => {
            println!("{}", cuda::report());
            0
        }
        Command::Worker => worker::serve(),
        Command::Bench { patients, epochs, threads, size, tail_only, device } => match bench::run(&bench::Args { patients, epochs, threads, size, tail_only, device }) {
            Ok(v) => {
                println!("{v}");
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
        Command::Logits(a) => match logits(&a.weights, &a.input, a.json) {
            Ok(()) => 0,
            Err((code, e)) => {
                eprintln!("error: {e}");
                code
            }
        },
    };
    std::process::exit(code);
}

/// Exit codes as `dag`'s (README): every fault of a file given (unreadable, damaged, an array
/// of the wrong shape, weights of another network) is 4, bad data or I/O; clap's usage
/// errors are 2.
fn logits(weights: &std::path::Path, input: &std::path::Path, json: bool) -> Result<(), (i32, String)> {
    let x = dag_model::backbone::read_npy(input).map_err(|e| (4, e))?;
    let size = x.size();
    if size.len() != 4 || size[0] != 1 || size[1] != 3 || x.kind() != tch::Kind::Float {
        return Err((4, format!("{}: expected a float32 array of shape (1, 3, H, W), found {:?} {size:?}", input.display(), x.kind())));
    }
    let mut vs = nn::VarStore::new(tch::Device::Cpu);
    let net = DenseNet121::new(&vs.root(), 1000);
    let report = load_torchvision(&mut vs, weights, false).map_err(|e| (4, e.to_string()))?;
    if !report.unexpected.is_empty() {
        eprintln!("warning: {} tensors in {} have no place in DenseNet121: {}", report.unexpected.len(), weights.display(), report.unexpected.join(", "));
    }
    if !report.missing.is_empty() {
        eprintln!("warning: {} has no {}: left as initialised", weights.display(), report.missing.join(", "));
    }
    let out = tch::no_grad(|| net.forward_t(&x, false));
    let v: Vec<f32> = Vec::<f32>::try_from(out.flatten(0, -1)).map_err(|e| (1, e.to_string()))?;
    if json {
        println!("{}", serde_json::json!({ "logits": v }));
    } else {
        let mut top: Vec<(usize, f32)> = v.iter().copied().enumerate().collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        println!("{} logits; top 5:", v.len());
        for (class, logit) in top.iter().take(5) {
            println!("  class {class:>4}  {logit:.6}");
        }
    }
    Ok(())
}
