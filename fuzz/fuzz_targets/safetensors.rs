//! A safetensors file as `dag-torch` reads weights: tch's `Tensor::read_safetensors` reads the
//! file whole and parses it with the safetensors crate (this version), then copies each
//! tensor's bytes. A header that lies (offsets past the end, shapes that disagree with their
//! bytes, a length prefix of exabytes) must be an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(st) = safetensors::SafeTensors::deserialize(data) {
        for (_, view) in st.tensors() {
            let n: usize = view.shape().iter().product();
            let _ = std::hint::black_box((n, view.data().len(), view.dtype()));
        }
    }
});
