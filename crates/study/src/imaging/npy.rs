//! NumPy's .npy (version 1.0, little-endian, C order) for the arrays the study writes: crops
//! (float32) and N4's lattices (float64). Only what this module writes is read back, and it is
//! read strictly: the header must be the one `bytes` would write for the expected shape.

use std::path::{Path, PathBuf};

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

/// The values of a float64 array of `shape` written by `bytes`; None for anything else.
pub fn f64_values(raw: &[u8], shape: &[usize]) -> Option<Vec<f64>> {
    let head = preamble::<f64>(shape);
    let count: usize = shape.iter().product();
    if !raw.starts_with(&head) || raw.len() != head.len() + count * f64::SIZE {
        return None;
    }
    Some(raw[head.len()..].chunks_exact(f64::SIZE).map(f64::get).collect())
}

/// Why a .npy file is refused before it is read.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("{}: cannot read .npy: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: not a valid .npy: {why}", path.display())]
    Invalid { path: PathBuf, why: String },
}

/// Checks that a .npy file holds as many bytes as its header says, before a reader (libtorch's
/// allocates what the header claims, then reads) trusts it: a header that lies about its
/// shape is refused in a few microseconds instead of an allocation of its claim. Headers this
/// does not understand (an exotic dtype) are left to the reader.
pub fn check_size(file: &Path) -> Result<(), NpyError> {
    use std::io::Read;
    let bad = |why: String| NpyError::Invalid { path: file.to_owned(), why };
    let read = |source| NpyError::Read { path: file.to_owned(), source };
    let mut f = std::fs::File::open(file).map_err(read)?;
    let len = f.metadata().map_err(read)?.len();
    let mut start = [0u8; 12];
    let got = f.by_ref().take(12).read(&mut start).map_err(read)?;
    if got < 10 || &start[..6] != b"\x93NUMPY" {
        return Err(bad("no .npy magic".into()));
    }
    // Version 1 has a 2-byte header length; 2 and 3 have 4 bytes.
    let (hlen, at) = match start[6] {
        1 => (u16::from_le_bytes([start[8], start[9]]) as u64, 10),
        2 | 3 if got == 12 => (u32::from_le_bytes([start[8], start[9], start[10], start[11]]) as u64, 12),
        v => return Err(bad(format!("version {v}"))),
    };
    if at + hlen > len {
        return Err(bad(format!("its header claims {hlen} bytes, past the end of the file ({len} bytes)")));
    }
    let mut header = vec![0u8; hlen as usize];
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut header, at).map_err(read)?;
    let header = String::from_utf8_lossy(&header);
    let Some((size, shape)) = parse_header(&header) else { return Ok(()) };
    let count = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
    let need = count.and_then(|c| c.checked_mul(size)).and_then(|b| b.checked_add(at + hlen));
    match need {
        Some(need) if need == len => Ok(()),
        Some(need) => Err(bad(format!("its header says shape {shape:?}, {need} bytes in all, but the file has {len}"))),
        None => Err(bad(format!("its header's shape {shape:?} overflows"))),
    }
}

/// The element size and shape of a .npy header dict, where its dtype is a plain one.
fn parse_header(h: &str) -> Option<(u64, Vec<u64>)> {
    let value = |key: &str| h.split_once(&format!("'{key}':")).map(|(_, rest)| rest.trim_start());
    let descr = value("descr")?.strip_prefix('\'')?.split('\'').next()?;
    let size: u64 = descr.trim_start_matches(['<', '>', '|', '=']).get(1..)?.parse().ok()?;
    let shape = value("shape")?.strip_prefix('(')?.split(')').next()?;
    let dims = shape.split(',').map(str::trim).filter(|d| !d.is_empty()).map(|d| d.parse().ok()).collect::<Option<Vec<u64>>>()?;
    Some((size, dims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_that_lies_about_its_shape_is_refused_before_anything_is_allocated() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.npy");
        std::fs::write(&ok, bytes(&[3, 2, 2], &[0.5f32; 12])).unwrap();
        assert!(check_size(&ok).is_ok());
        std::fs::write(&ok, bytes(&[], &[0.5f64])).unwrap();
        assert!(check_size(&ok).is_ok(), "a scalar");
        // A header claiming 120 GB over 16 bytes of data.
        let mut liar = preamble::<f32>(&[1, 3, 100_000, 100_000]);
        liar.extend([0u8; 16]);
        let file = dir.path().join("liar.npy");
        std::fs::write(&file, &liar).unwrap();
        let e = check_size(&file).unwrap_err().to_string();
        assert!(e.contains("liar.npy: not a valid .npy: its header says shape [1, 3, 100000, 100000], 120000000128 bytes in all, but the file has 144"), "{e}");
        // A shape whose product overflows, a truncated header, and no magic at all.
        let mut huge = preamble::<f32>(&[u32::MAX as usize; 3]);
        huge.extend([0u8; 4]);
        std::fs::write(&file, &huge).unwrap();
        assert!(check_size(&file).unwrap_err().to_string().contains("overflows"));
        std::fs::write(&file, &liar[..40]).unwrap();
        assert!(check_size(&file).unwrap_err().to_string().contains("past the end of the file"));
        std::fs::write(&file, b"PK\x03\x04 not numpy").unwrap();
        assert!(check_size(&file).unwrap_err().to_string().contains("no .npy magic"));
    }

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
        let v = [0.1, -1e-300, f64::MAX, 1.0 / 3.0];
        let raw = bytes(&[2, 2], &v);
        let back = f64_values(&raw, &[2, 2]).unwrap();
        assert!(back.iter().zip(&v).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(f64_values(&raw, &[4]).is_none());
        assert!(f64_values(&raw[..raw.len() - 1], &[2, 2]).is_none());
    }
}
