//! N4 on the oracle volume stored otherwise: flipped, axes permuted, as int16 — each written
//! to NIfTI and read back. The recovered bias, brought back to the original orientation, must
//! still match the truth at least as well as SimpleITK did on the original.

use super::tests::Oracle;
use super::*;
use crate::imaging::nifti_io::{read, write_i16};
use ndarray::{Axis, IxDyn, Slice};

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
    let o = Oracle::load();
    let tmp = tempfile::tempdir().unwrap();
    // Scanner-like int16: intensities scaled to use the type's range, then rounded.
    let scale = 30000.0 / o.vol.data.iter().fold(0.0f32, |m, &v| m.max(v));
    for (name, layout) in [("flipped x and y", Layout { flip: [true, true, false], axes: [0, 1, 2] }), ("slices first, x reversed", Layout { flip: [true, false, false], axes: [2, 0, 1] })] {
        let stored = layout.store(&o.vol.data).mapv(|v| (v * scale).round() as i16);
        let file = tmp.path().join("v.nii.gz");
        write_i16(&file, &stored, &o.vol.header).unwrap();
        let back = read(&file).unwrap();
        assert_eq!(back.datatype(), "int16");
        let field = n4(&back.data, None, &N4Options::default()).unwrap();
        let mut corrected = back.data;
        field.correct(&mut corrected).unwrap();
        o.assert_as_good_as_simpleitk(name, o.accuracy(&layout.restore(&field.log_bias()), &layout.restore(&corrected)));
    }
}
