//! NIfTI reading and writing against nibabel's figures, and headers that lie.

use super::*;
use nifti::writer::WriterOptions;

fn oracle(name: &str) -> PathBuf {
    crate::oracles::oracles_dir().join("n4").join(name)
}

#[test]
fn reads_the_oracle_volume_as_nibabel_does() {
    let v = read(&oracle("volume.nii.gz")).unwrap();
    assert_eq!(v.shape(), vec![192, 192, 64]);
    assert_eq!(v.datatype(), "float32");
    let sp = v.spacing();
    assert!((sp[0] - 0.8).abs() < 1e-6 && (sp[2] - 2.0).abs() < 1e-12);
    // nibabel 5: img.affine and the float64 sum of img.dataobj.
    let want = [[-0.800000011920929, 0.0, 0.0, 0.0], [0.0, -0.800000011920929, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 1.0]];
    for (r, row) in v.affine().iter().enumerate() {
        for (c, x) in row.iter().enumerate() {
            assert!((x - want[r][c]).abs() < 1e-9, "affine[{r}][{c}] = {x}");
        }
    }
    let sum: f64 = v.data.iter().map(|&x| f64::from(x)).sum();
    assert!((sum - 89968082.51209003).abs() < 1e-6 * sum);
    let mask = read(&oracle("body_mask.nii.gz")).unwrap();
    assert_eq!(mask.datatype(), "uint8");
    assert_eq!(mask.data.iter().map(|&x| f64::from(x)).sum::<f64>(), 853886.0);
}

#[test]
fn float32_and_uint8_round_trip_with_their_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let v = read(&oracle("volume.nii.gz")).unwrap();
    let out = dir.path().join("copy.nii.gz");
    write_f32(&out, &v.data, &v.header).unwrap();
    let back = read(&out).unwrap();
    assert_eq!(back.affine(), v.affine());
    assert_eq!(back.spacing(), v.spacing());
    assert!(back.data == v.data);
    let mask = v.data.mapv(|x| u8::from(x > 100.0));
    let mpath = dir.path().join("mask.nii");
    write_u8(&mpath, &mask, &v.header).unwrap();
    let m = read(&mpath).unwrap();
    assert_eq!(m.datatype(), "uint8");
    assert_eq!(m.affine(), v.affine());
    assert!(m.data == mask.mapv(f32::from));
}

#[test]
fn int16_with_scaling_and_a_flipped_qform() {
    let dir = tempfile::tempdir().unwrap();
    let raw = ndarray::Array::from_shape_fn(ndarray::IxDyn(&[4, 3, 2]), |ix| (ix[0] + 10 * ix[1] + 100 * ix[2]) as i16);
    let mut h = NiftiHeader {
        pixdim: [1.0, 0.5, 0.7, 3.0, 1.0, 1.0, 1.0, 1.0],
        scl_slope: 2.0,
        scl_inter: -1.0,
        sform_code: 0,
        qform_code: 1,
        ..Default::default()
    };
    // A half turn about y: x and z flipped (quaternion b, c, d = 0, 1, 0).
    (h.quatern_b, h.quatern_c, h.quatern_d) = (0.0, 1.0, 0.0);
    (h.quatern_x, h.quatern_y, h.quatern_z) = (120.0, -80.0, 40.0);
    let path = dir.path().join("flip.nii");
    WriterOptions::new(&path).reference_header(&h).write_nifti(&raw).unwrap();
    // The writer always stores slope 1; put the scaling into the header bytes ourselves
    // (NIfTI-1: scl_slope at byte 112, scl_inter at 116).
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[112..116].copy_from_slice(&2.0f32.to_le_bytes());
    bytes[116..120].copy_from_slice(&(-1.0f32).to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    let v = read(&path).unwrap();
    assert_eq!(v.datatype(), "int16");
    assert_eq!(v.data[[3, 2, 1]], 2.0 * 123.0 - 1.0);
    let want = [[-0.5, 0.0, 0.0, 120.0], [0.0, 0.7, 0.0, -80.0], [0.0, 0.0, -3.0, 40.0], [0.0, 0.0, 0.0, 1.0]];
    for (r, row) in v.affine().iter().enumerate() {
        for (c, x) in row.iter().enumerate() {
            assert!((x - want[r][c]).abs() < 1e-6, "affine[{r}][{c}] = {x}, want {}", want[r][c]);
        }
    }
}

/// The bulk decoder against the nifti crate's own reader, datatype by datatype, and one
/// slice against the whole volume's.
#[test]
fn bulk_reads_equal_the_crates_and_slices_equal_the_volume() {
    let dir = tempfile::tempdir().unwrap();
    let shape = IxDyn(&[5, 4, 3]);
    let v = ndarray::Array::from_shape_fn(shape.clone(), |ix| ix[0] as f64 * 1.5 - ix[1] as f64 * 7.0 + ix[2] as f64 * 40.0);
    let h = NiftiHeader { pixdim: [1.0, 0.5, 0.7, 3.0, 1.0, 1.0, 1.0, 1.0], ..Default::default() };
    let crate_read = |p: &Path| ReaderOptions::new().read_file(p).unwrap().into_volume().into_ndarray::<f32>().unwrap();
    for name in ["f64.nii.gz", "i16.nii", "u16.nii.gz", "f32.nii"] {
        let p = dir.path().join(name);
        let w = WriterOptions::new(&p).reference_header(&h);
        match &name[..3] {
            "f64" => w.write_nifti(&v),
            "i16" => w.write_nifti(&v.mapv(|x| x as i16)),
            "u16" => w.write_nifti(&v.mapv(|x| x.abs() as u16)),
            _ => w.write_nifti(&v.mapv(|x| x as f32)),
        }
        .unwrap();
        let ours = read(&p).unwrap();
        assert!(ours.data == crate_read(&p), "{name}");
        let s = read_z_slice(&p, 2).unwrap();
        assert_eq!(s.data.shape(), &[5, 4, 1]);
        assert_eq!(s.header_shape(), vec![5, 4, 3]);
        assert!(s.data.index_axis(ndarray::Axis(2), 0) == ours.data.index_axis(ndarray::Axis(2), 2), "{name}");
        let slab = read_z_slab(&p, 1..3).unwrap();
        assert!(slab.data == ours.data.slice_axis(ndarray::Axis(2), ndarray::Slice::from(1..3)), "{name}");
    }
    let e = read_z_slice(&dir.path().join("f32.nii"), 3).err().unwrap().to_string();
    assert!(e.contains("f32.nii") && e.contains("no slices 3..4"), "{e}");
}

#[test]
fn a_volume_with_nan_is_refused_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = ArrayD::<f32>::zeros(IxDyn(&[4, 3, 2]));
    v[[1, 2, 1]] = f32::NAN;
    let p = dir.path().join("nan.nii");
    write_f32(&p, &v, &NiftiHeader::default()).unwrap();
    for e in [read(&p).err(), read_z_slice(&p, 1).err()] {
        let e = e.expect("refused").to_string();
        assert!(e.contains("nan.nii") && e.contains("NaN"), "{e}");
    }
    // The slice without it is fine.
    assert!(read_z_slice(&p, 0).is_ok());
    // Described as it is: the reader for `dag image info` keeps the NaN and counts it.
    let v = read_with_nan(&p).unwrap();
    assert!(v.data[[1, 2, 1]].is_nan());
    assert_eq!(v.info_json()["nan_voxels"], 1);
}

#[test]
fn truncated_and_foreign_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(oracle("body_mask.nii.gz")).unwrap();
    let cut = dir.path().join("cut.nii.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = read(&cut).err().unwrap().to_string();
    assert!(e.contains("cut.nii.gz: not a readable NIfTI file"), "{e}");
    let junk = dir.path().join("junk.nii");
    std::fs::write(&junk, b"hello").unwrap();
    assert!(read(&junk).err().unwrap().to_string().contains("junk.nii"));
}

/// A small float32 volume written as `name`, its header's x, y, z dimensions then replaced
/// (the i16s at byte 42): what a damaged or hostile file looks like.
fn lying(dir: &Path, name: &str, dims: [i16; 3]) -> PathBuf {
    let v = read(&oracle("volume.nii.gz")).unwrap();
    let small = v.data.slice(ndarray::s![0..4, 0..4, 0..4]).to_owned().into_dyn();
    let path = dir.join(name);
    write_f32(&path, &small, &v.header).unwrap();
    patch(&path, |bytes| {
        for (k, d) in dims.iter().enumerate() {
            bytes[42 + 2 * k..44 + 2 * k].copy_from_slice(&d.to_le_bytes());
        }
    });
    path
}

#[test]
fn a_header_that_claims_more_voxels_than_the_file_holds_is_an_error_not_an_allocation() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["huge.nii", "huge.nii.gz"] {
        // 32767³ float32: 140 TB. Refused before anything is allocated.
        let e = read(&lying(dir.path(), name, [32767, 32767, 32767])).err().expect("refused").to_string();
        assert!(e.contains(name) && e.contains("describe more than 16 GiB of voxels"), "{e}");
        // 200³ float32: 32 MB, under the bound, but the file holds 4³.
        let e = read(&lying(dir.path(), name, [200, 200, 200])).err().expect("refused").to_string();
        assert!(e.contains(name) && e.contains("need") && e.contains("the file holds"), "{e}");
        // The tumour's slice alone is checked the same way.
        let e = read_z_slice(&lying(dir.path(), name, [200, 200, 200]), 150).err().expect("refused").to_string();
        assert!(e.contains("the file holds"), "{e}");
    }
}

/// Rewrites the (uncompressed) header bytes of `path` with `edit`.
fn patch(path: &Path, edit: impl Fn(&mut Vec<u8>)) {
    let gz = path.extension().is_some_and(|e| e == "gz");
    let mut bytes = std::fs::read(path).unwrap();
    if gz {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut plain).unwrap();
        bytes = plain;
    }
    edit(&mut bytes);
    if gz {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &bytes).unwrap();
        bytes = e.finish().unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// Voxels that the bulk reader leaves to the nifti crate (complex ones, or a .hdr/.img
/// pair's) are bounded the same way first: the crate allocates whatever a header claims. The
/// nifti fuzz target found a header claiming petabytes of float128 (2026-11-28).
#[test]
fn a_header_left_to_the_nifti_crate_is_bounded_before_the_crate_allocates() {
    let dir = tempfile::tempdir().unwrap();
    let complex64 = |b: &mut Vec<u8>| {
        b[70..72].copy_from_slice(&32i16.to_le_bytes());
        b[72..74].copy_from_slice(&64i16.to_le_bytes());
    };
    for name in ["cplx.nii", "cplx.nii.gz"] {
        let path = lying(dir.path(), name, [32767, 32767, 32767]);
        patch(&path, complex64);
        let e = read_with_nan(&path).err().expect("refused").to_string();
        assert!(e.contains(name) && e.contains("describe more than 16 GiB of voxels"), "{e}");
        assert!(!e.contains("Custom {"), "in words, not Rust's debug form: {e}");
        let path = lying(dir.path(), name, [200, 200, 200]);
        patch(&path, complex64);
        let e = read_with_nan(&path).err().expect("refused").to_string();
        assert!(e.contains(name) && e.contains("the file holds"), "{e}");
        // A .hdr/.img pair's header: its voxels are elsewhere, but the claim is bounded.
        let path = lying(dir.path(), name, [32767, 32767, 32767]);
        patch(&path, |b| b[344..348].copy_from_slice(b"ni1\0"));
        let e = read_with_nan(&path).err().expect("refused").to_string();
        assert!(e.contains("describe more than 16 GiB of voxels"), "{e}");
    }
}
