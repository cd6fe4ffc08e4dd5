//! N4 on the oracle volume stored otherwise: flipped, axes permuted, as int16 — each written
//! to NIfTI and read back. The recovered bias, brought back to the original orientation, must
//! still match the truth at least as well as SimpleITK did on the original.

use super::*;
use crate::study::imaging::nifti_io::{read, write_i16};
use ndarray::{Axis, Slice};

fn corr(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// A storage order: which axes are reversed, then how they are permuted.
struct Layout {
    flip: [bool; 3],
    axes: [usize; 3],
}

impl Layout {
    fn store(&self, a: &ArrayD<f32>) -> ArrayD<f32> {
        let mut v = a.view();
        for (ax, &f) in self.flip.iter().enumerate() {
            if f {
                v.slice_axis_inplace(Axis(ax), Slice::new(0, None, -1));
            }
        }
        // A standard (C-order) copy: not the layout the reader produces.
        v.permuted_axes(IxDyn(&self.axes)).as_standard_layout().to_owned()
    }

    fn restore(&self, a: &ArrayD<f32>) -> ArrayD<f32> {
        let mut inverse = [0; 3];
        for (i, &ax) in self.axes.iter().enumerate() {
            inverse[ax] = i;
        }
        let mut v = a.view().permuted_axes(IxDyn(&inverse));
        for (ax, &f) in self.flip.iter().enumerate() {
            if f {
                v.slice_axis_inplace(Axis(ax), Slice::new(0, None, -1));
            }
        }
        v.to_owned()
    }
}

#[test]
fn orientation_and_datatype_do_not_change_the_result() {
    let dir = crate::study::oracles::oracles_dir().join("n4");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
    let vol = read(&dir.join("volume.nii.gz")).unwrap();
    let body = read(&dir.join("body_mask.nii.gz")).unwrap();
    let tumour = read(&dir.join("tumor_mask.nii.gz")).unwrap();
    let truth = read(&dir.join("true_log_bias.nii.gz")).unwrap();
    let sitk = &r["sitk_n4_shrink4_otsu"];
    let tmp = tempfile::tempdir().unwrap();
    // Scanner-like int16: intensities scaled to use the type's range, then rounded.
    let scale = 30000.0 / vol.data.iter().fold(0.0f32, |m, &v| m.max(v));
    for (name, layout) in [("flipped x and y", Layout { flip: [true, true, false], axes: [0, 1, 2] }), ("slices first, x reversed", Layout { flip: [true, false, false], axes: [2, 0, 1] })] {
        let stored = layout.store(&vol.data).mapv(|v| (v * scale).round() as i16);
        let file = tmp.path().join("v.nii.gz");
        write_i16(&file, &stored, &vol.header).unwrap();
        let back = read(&file).unwrap();
        assert_eq!(back.datatype(), "int16");
        let out = n4(&back.data, None, &N4Options::default()).unwrap();
        let est = layout.restore(&out.log_bias);
        let corrected = layout.restore(&out.corrected);
        let (mut e, mut t, mut tissue) = (Vec::new(), Vec::new(), Vec::new());
        for (idx, &b) in body.data.indexed_iter() {
            if b > 0.5 {
                e.push(f64::from(est[&idx]));
                t.push(f64::from(truth.data[&idx]));
                if tumour.data[&idx] < 0.5 {
                    tissue.push(f64::from(corrected[&idx]));
                }
            }
        }
        let c = corr(&e, &t);
        let m = tissue.iter().sum::<f64>() / tissue.len() as f64;
        let cv = (tissue.iter().map(|x| (x - m).powi(2)).sum::<f64>() / tissue.len() as f64).sqrt() / m;
        eprintln!("{name}: corr {c:.4}, tissue CV {cv:.4}");
        assert!(c >= sitk["corr_logbias"].as_f64().unwrap() - 0.01, "{name}: correlation {c}");
        assert!(cv <= sitk["tissue_cv_after"].as_f64().unwrap() * 1.05, "{name}: tissue CV {cv}");
    }
}
