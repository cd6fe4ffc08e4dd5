//! The libtorch side of `dag`. Loading libtorch costs about 0.4 s of static initialisation,
//! which would dominate a no-op `dag run`; so the scheduler binary never links it, and asks
//! this helper when it needs libtorch (today: how many CUDA devices there are).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("devices") => {
            let n = tch::Cuda::device_count().max(0);
            println!("{{\"cuda_devices\":{n},\"cudnn\":{}}}", tch::Cuda::cudnn_is_available());
        }
        _ => {
            eprintln!("usage: dag-torch devices");
            std::process::exit(2);
        }
    }
}
