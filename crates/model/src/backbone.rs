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

/// Reads a .npy array. On failure, a file that cannot be opened gets the OS's words, one whose
/// header claims more (or less) than the file holds says so, and a
/// Fortran-ordered one (what numpy writes for an F-contiguous array; libtorch's reader cannot
/// open it) an error that says how to save it instead.
pub fn read_npy(path: &std::path::Path) -> Result<Tensor, String> {
    // libtorch allocates what the header claims before it reads: a lying header is refused
    // first (#16), as is a file that cannot be opened.
    dag_study::imaging::npy::check_size(path).map_err(|e| e.to_string())?;
    Tensor::read_npy(path).map_err(|e| {
        let hint = if e.to_string().contains("fortran order") { " (save it C-ordered: np.save(path, np.ascontiguousarray(x)))" } else { "" };
        format!("{}: cannot read .npy: {e}{hint}", path.display())
    })
}

/// Reads a (3, H, W) float32 crop.
pub fn read_crop(path: &std::path::Path) -> Result<Tensor, String> {
    read_checked(path, 3)
}

/// Reads a (S, 3, H, W) float32 stack of a patient's tumour-slice crops.
pub fn read_crops(path: &std::path::Path) -> Result<Tensor, String> {
    read_checked(path, 4)
}

fn read_checked(path: &std::path::Path, dims: usize) -> Result<Tensor, String> {
    let x = read_npy(path)?;
    let size = x.size();
    if size.len() != dims || size[dims - 3] != 3 || x.kind() != tch::Kind::Float {
        let shape = if dims == 3 { "(3, H, W)" } else { "(S, 3, H, W)" };
        return Err(format!("{}: expected a float32 array of shape {shape}, found {:?} {size:?}", path.display(), x.kind()));
    }
    if x.isnan().any().int64_value(&[]) != 0 {
        return Err(format!("{}: the crop contains NaN", path.display()));
    }
    Ok(x)
}

/// The prefix on a stack of crops (N, 3, H, W), a few at a time, on the CPU: a whole tumour's
/// slices, or a patient's views, through it at once can take GBs.
fn prefix_in_chunks(n: &Net, x: &Tensor) -> Vec<Tensor> {
    x.split(8, 0).iter().map(|c| n.net.prefix(&c.to_device(n.vs.device()), &n.split).to_device(Device::Cpu)).collect()
}

/// Writes `features.npy` (the cut's input, C×h×w) and `features.json` (what made it); with
/// the crop's tumour slices, also `slices.npy` (S×C×h×w), whose middle row (S / 2: the slices
/// are taken symmetrically around the middle one) is `features.npy`; with `views` above 1,
/// `views.npy` (V×C×h×w), whose first row is `features.npy` and the rest augmented views.
pub fn features(n: &Net, job: &FeaturesJob) -> Result<serde_json::Value, String> {
    let io = |p: &std::path::Path, e: &dyn std::fmt::Display| format!("{}: {e}", p.display());
    if let (true, Some(file)) = (job.views > 1, &job.slices) {
        return Err(format!("{}: `views` are augmented views of the middle slice's crop, and this crop has several tumour slices (`slices`); give one or the other", file.display()));
    }
    // The crop is read once: for its features, and for its views.
    let (f, slices, crop) = match &job.slices {
        None => {
            let crop = read_crop(&job.crop)?;
            let x = crop.to_device(n.vs.device()).unsqueeze(0);
            (n.net.prefix(&x, &n.split).squeeze_dim(0).to_device(Device::Cpu).contiguous(), None, Some(crop))
        }
        Some(file) => {
            let all = Tensor::cat(&prefix_in_chunks(n, &read_crops(file)?), 0).contiguous();
            let path = job.out.join("slices.npy");
            all.write_npy(&path).map_err(|e| io(&path, &e))?;
            let count = all.size()[0];
            (all.get(count / 2).contiguous(), Some(count), None)
        }
    };
    let npy = job.out.join("features.npy");
    f.write_npy(&npy).map_err(|e| io(&npy, &e))?;
    if let (true, Some(crop)) = (job.views > 1, &crop) {
        let draws = super::views::draws(job.views, job.backbone.seed, &job.patient);
        // View 0 is the crop, whose features are `f`.
        let moved: Vec<Tensor> = draws[1..].iter().map(|d| super::views::view(crop, d)).collect();
        let mut parts = vec![f.unsqueeze(0)];
        parts.extend(prefix_in_chunks(n, &Tensor::stack(&moved, 0)));
        let all = Tensor::cat(&parts, 0).contiguous();
        let path = job.out.join(dag_study::training::protocol::VIEWS_NPY);
        all.write_npy(&path).map_err(|e| io(&path, &e))?;
    }
    let mut meta = serde_json::json!({
        "patient": job.patient,
        "backbone": job.backbone,
        "pretrained": n.pretrained,
        "split": n.split,
        "shape": f.size(),
    });
    if let Some(count) = slices {
        meta["slices"] = count.into();
    }
    if job.views > 1 {
        meta["views"] = job.views.into();
    }
    let path = job.out.join("features.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&meta).expect("json")).map_err(|e| io(&path, &e))?;
    Ok(meta)
}
