//! NumPy's .npy (version 1.0, little-endian, C order) for the arrays the study writes: crops
//! (float32) and N4's lattices (float64). Only what this module writes is read back, and it is
//! read strictly: the header must be the one `bytes` would write for the expected shape.

/// An element type .npy can describe.
pub trait Element: Copy {
    const DESCR: &'static str;
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
}

impl Element for f32 {
    const DESCR: &'static str = "<f4";
    const SIZE: usize = 4;
    fn put(self, out: &mut Vec<u8>) {
        out.extend(self.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        f32::from_le_bytes(b.try_into().expect("4 bytes"))
    }
}

impl Element for f64 {
    const DESCR: &'static str = "<f8";
    const SIZE: usize = 8;
    fn put(self, out: &mut Vec<u8>) {
        out.extend(self.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        f64::from_le_bytes(b.try_into().expect("8 bytes"))
    }
}

/// The magic, version and header of an array of `shape`, padded as NumPy pads it.
fn preamble<T: Element>(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}", T::DESCR);
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out
}

/// An array as .npy bytes.
pub fn bytes<T: Element>(shape: &[usize], data: &[T]) -> Vec<u8> {
    let mut out = preamble::<T>(shape);
    out.reserve(data.len() * T::SIZE);
    for v in data {
        v.put(&mut out);
    }
    out
}

/// A float64 array of `shape` written by `bytes`; anything else is an error naming the file.
pub fn read_f64(file: &std::path::Path, shape: &[usize]) -> Result<Vec<f64>, String> {
    let raw = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let head = preamble::<f64>(shape);
    let count: usize = shape.iter().product();
    if !raw.starts_with(&head) || raw.len() != head.len() + count * f64::SIZE {
        return Err(format!("{}: not a float64 .npy of shape {shape:?} as dag writes it", file.display()));
    }
    Ok(raw[head.len()..].chunks_exact(f64::SIZE).map(f64::get).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_what_numpy_writes() {
        let b = bytes(&[3, 2, 2], &[0.0f32; 12]);
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        assert_eq!(std::str::from_utf8(&b[10..10 + hlen]).unwrap().trim_end(), "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2, 2), }");
        assert_eq!(b.len(), 10 + hlen + 48);
    }

    #[test]
    fn float64_comes_back_bit_for_bit_and_a_wrong_shape_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.npy");
        let v = [0.1, -1e-300, f64::MAX, 1.0 / 3.0];
        std::fs::write(&f, bytes(&[2, 2], &v)).unwrap();
        let back = read_f64(&f, &[2, 2]).unwrap();
        assert!(back.iter().zip(&v).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(read_f64(&f, &[4]).unwrap_err().contains("a.npy"));
    }
}
