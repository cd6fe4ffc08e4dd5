//! The network a job names: DenseNet121 with torchvision weights or a seeded initialisation,
//! split where "the top N% of layers" begins; and the frozen prefix's output for one crop.

use super::densenet::{DenseNet121, Split};
use super::weights::load_torchvision;
use dag_study::training::protocol::{Backbone, FeaturesJob};
use tch::{nn, Device, Tensor};

pub struct Net {
    pub vs: nn::VarStore,
    pub net: DenseNet121,
    pub split: Split,
    pub pretrained: bool,
}

pub fn device(name: &str) -> Result<Device, String> {
    match name {
        "cpu" => Ok(Device::Cpu),
        cuda => match cuda.strip_prefix("cuda:").and_then(|i| i.parse::<usize>().ok()) {
            Some(i) if tch::Cuda::is_available() => Ok(Device::Cuda(i)),
            Some(_) => Err(format!("{cuda} was asked for, but this libtorch sees no CUDA device")),
            None => Err(format!("unknown device `{cuda}`")),
        },
    }
}

/// The name `device` reads back: `cpu` or `cuda:N`.
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".to_owned(),
    }
}

/// Whether cuDNN and cuBLAS may run float32 work on TF32 tensor cores (Ampere and later
/// GPUs). libtorch lets cuDNN do so for convolutions by default, as PyTorch does, and dag
/// keeps that default; NVIDIA's own switch NVIDIA_TF32_OVERRIDE=0 turns it off. Measured on
/// an H100 (BENCHMARKS.md): DenseNet121's logits 5.4e-4 (relative) from a float64 reference
/// with TF32, 8.8e-7 without; a study's fold C-indices moved in the third decimal.
pub fn tf32_allowed() -> bool {
    std::env::var("NVIDIA_TF32_OVERRIDE").as_deref() != Ok("0")
}

/// Builds the network with one output (the risk logit); the head is always the study's.
pub fn build(b: &Backbone, device: Device, log: &mut dyn FnMut(String)) -> Result<Net, String> {
    // The seed fixes every initial weight, frozen or not: the same seed gives the same network
    // in the features node and in every fold, on any device. So the weights are drawn on the
    // CPU and moved: CUDA's generator gives other numbers for the same seed, and a fold
    // trained on a GPU paired a differently drawn network with the CPU-made features.
    tch::manual_seed(b.seed as i64);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let mut net = DenseNet121::new(&vs.root(), 1);
    let pretrained = match &b.weights {
        Some(file) => {
            let r = load_torchvision(&mut vs, file, true).map_err(|e| e.to_string())?;
            if !r.unexpected.is_empty() {
                log(format!("warning: {} tensors in {} have no place in DenseNet121: {}", r.unexpected.len(), file.display(), r.unexpected.join(", ")));
            }
            log(format!("loaded {} tensors from {}{}", r.loaded, file.display(), if r.head_replaced { "; its classifier was replaced by the study's one-output head" } else { "" }));
            true
        }
        None => {
            log(format!("WARNING: no weights given: DenseNet121 is initialised at random (seed {}) and trained from scratch, not transfer-learned from ImageNet", b.seed));
            false
        }
    };
    vs.set_device(device);
    DenseNet121::kernels_channels_last(&vs);
    let split = net.split(b.unfreeze_fraction);
    net.apply_split(&vs, &split);
    Ok(Net { vs, net, split, pretrained })
}

/// Reads a .npy array. On failure, a file that cannot be opened gets the OS's words, and a
/// Fortran-ordered one (what numpy writes for an F-contiguous array; libtorch's reader cannot
/// open it) an error that says how to save it instead.
pub fn read_npy(path: &std::path::Path) -> Result<Tensor, String> {
    Tensor::read_npy(path).map_err(|e| {
        if let Err(io) = std::fs::File::open(path) {
            return format!("{}: cannot read .npy: {io}", path.display());
        }
        let hint = if e.to_string().contains("fortran order") { " (save it C-ordered: np.save(path, np.ascontiguousarray(x)))" } else { "" };
        format!("{}: cannot read .npy: {e}{hint}", path.display())
    })
}

/// Reads a (3, H, W) float32 crop.
pub fn read_crop(path: &std::path::Path) -> Result<Tensor, String> {
    let x = read_npy(path)?;
    let size = x.size();
    if size.len() != 3 || size[0] != 3 || x.kind() != tch::Kind::Float {
        return Err(format!("{}: expected a float32 array of shape (3, H, W), found {:?} {size:?}", path.display(), x.kind()));
    }
    if x.isnan().any().int64_value(&[]) != 0 {
        return Err(format!("{}: the crop contains NaN", path.display()));
    }
    Ok(x)
}

/// Writes `features.npy` (the cut's input, C×h×w) and `features.json` (what made it).
pub fn features(n: &Net, job: &FeaturesJob) -> Result<serde_json::Value, String> {
    let x = read_crop(&job.crop)?.to_device(n.vs.device()).unsqueeze(0);
    let f = n.net.prefix(&x, &n.split).squeeze_dim(0).to_device(Device::Cpu).contiguous();
    let npy = job.out.join("features.npy");
    f.write_npy(&npy).map_err(|e| format!("{}: {e}", npy.display()))?;
    let meta = serde_json::json!({
        "patient": job.patient,
        "backbone": job.backbone,
        "pretrained": n.pretrained,
        "split": n.split,
        "shape": f.size(),
    });
    let path = job.out.join("features.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&meta).expect("json")).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(meta)
}
