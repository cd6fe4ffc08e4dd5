//! The tumour crop: the middle tumour-containing slice (slice axis = the volume's third),
//! resampled in-plane to a target spacing (linear for images, nearest for the mask), cropped
//! to the tumour's bounding box plus a margin in mm (square, so the aspect is kept), resized
//! to the network's input, normalised (robust percentiles, then ImageNet mean and std) and
//! stacked into three channels (by default the pre-contrast and the first two post-contrast
//! phases). More tumour slices around the middle one (`slices:`) are cropped to the middle
//! slice's box: one scale and position for all of a patient's slices.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use super::slices::{tumour_slices, Slices};
use ndarray::ArrayD;

pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct CropOptions {
    /// In-plane spacing to resample to, mm.
    pub spacing_mm: f64,
    /// Margin around the tumour's bounding box, mm (the "crop size" users change).
    pub margin_mm: f64,
    /// Output side, pixels.
    pub size: u32,
    /// Robust intensity range, percentiles of the crop.
    pub percentiles: [f64; 2],
    /// Outside the expert mask the crop is black (0 before ImageNet's normalisation): the
    /// network sees the tumour alone, as radiomics does. Not the paper's input; off by
    /// default, and then not written to crop.json, which stays as it was.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside_mask_black: bool,
}

impl Default for CropOptions {
    fn default() -> Self {
        CropOptions { spacing_mm: 0.8, margin_mm: 10.0, size: 224, percentiles: [1.0, 99.0], outside_mask_black: false }
    }
}

/// A 2D image, row-major (`data[y * width + x]`).
#[derive(Clone, Debug)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

#[derive(Debug, serde::Serialize)]
pub struct CropInfo {
    /// The middle tumour slice.
    pub slice: usize,
    pub tumour_slices: [usize; 2],
    /// Every slice cropped, in order (the middle among them).
    #[serde(skip_serializing_if = "is_one")]
    pub slices: Vec<usize>,
    /// Square box in resampled pixels: x0, y0, side.
    pub box_px: [i64; 3],
    pub resampled: [usize; 2],
    pub intensity_range: Vec<[f32; 2]>,
}

/// Only the middle slice: crop.json stays as it was before more slices could be cropped, so
/// the default's outputs (and the steps after them) are unchanged.
fn is_one(v: &[usize]) -> bool {
    v.len() == 1
}

/// Slice `z` of a 3D volume (x, y, z) as a plane.
pub fn slice(v: &ArrayD<f32>, z: usize) -> Plane {
    let (nx, ny) = (v.shape()[0], v.shape()[1]);
    // (y, x) in logical order is row-major, whatever the storage.
    let data = v.index_axis(ndarray::Axis(2), z).t().iter().copied().collect();
    Plane { width: nx, height: ny, data }
}

pub fn resize(p: &Plane, width: usize, height: usize, nearest: bool) -> Result<Plane, String> {
    let mut src = Image::new(p.width as u32, p.height as u32, PixelType::F32);
    for (chunk, v) in src.buffer_mut().chunks_exact_mut(4).zip(&p.data) {
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    let mut dst = Image::new(width as u32, height as u32, PixelType::F32);
    let alg = if nearest { ResizeAlg::Nearest } else { ResizeAlg::Convolution(FilterType::Bilinear) };
    Resizer::new().resize(&src, &mut dst, &ResizeOptions::new().resize_alg(alg)).map_err(|e| e.to_string())?;
    let data = dst.buffer().chunks_exact(4).map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect();
    Ok(Plane { width, height, data })
}

/// Linear-interpolated percentile (numpy's default) of the values.
pub fn percentile(values: &mut [f32], q: f64) -> f32 {
    values.sort_by(f32::total_cmp);
    let pos = q / 100.0 * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64) as f32
}

/// What `tumour_crop` makes: per slice taken, (3 × size × size, channel-major) values
/// normalised for an ImageNet network; the middle slice's [0, 1] preview planes; what was done.
pub struct Crops {
    pub values: Vec<Vec<f32>>,
    pub previews: Vec<Plane>,
    pub info: CropInfo,
}

impl Crops {
    /// The middle slice's values: the paper's input.
    pub fn middle(&self) -> &[f32] {
        &self.values[self.info.slices.iter().position(|&z| z == self.info.slice).unwrap_or(0)]
    }
}

/// Crops the three channels around the tumour, on the slices `choice` takes of it.
/// `phase_slice(c, z)` gives slice z of channel c's phase: only the slices cropped are needed,
/// so a caller can read one slice at a time (a DUKE-sized phase is 128 MB as float32).
pub fn tumour_crop(mask: &ArrayD<f32>, spacing: [f64; 2], o: &CropOptions, choice: Slices, mut phase_slice: impl FnMut(usize, usize) -> Result<Plane, String>) -> Result<Crops, String> {
    let t = tumour_slices(mask, choice).ok_or("the tumour mask is empty")?;
    let z = t.middle;
    let m = slice(mask, z);
    let (m_width, m_height) = (m.width, m.height);
    let (w, h) = (((m.width as f64 * spacing[0] / o.spacing_mm).round() as usize).max(1), ((m.height as f64 * spacing[1] / o.spacing_mm).round() as usize).max(1));
    let m = resize(&m, w, h, true)?;
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if m.data[y * w + x] > 0.5 {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    if x0 == usize::MAX {
        return Err(format!("the tumour vanished when slice {z} was resampled to {} mm", o.spacing_mm));
    }
    let margin = (o.margin_mm / o.spacing_mm).round() as i64;
    let side = ((x1 - x0).max(y1 - y0) as i64 + 1) + 2 * margin;
    let (cx, cy) = ((x0 + x1) as i64 / 2, (y0 + y1) as i64 / 2);
    let (bx, by) = (cx - side / 2, cy - side / 2);
    // Outside the image the crop repeats the nearest edge pixel.
    let boxed = |p: &Plane| {
        let mut crop = Plane { width: side as usize, height: side as usize, data: Vec::with_capacity((side * side) as usize) };
        for y in 0..side {
            for x in 0..side {
                let (sx, sy) = ((bx + x).clamp(0, w as i64 - 1) as usize, (by + y).clamp(0, h as i64 - 1) as usize);
                crop.data.push(p.data[sy * w + sx]);
            }
        }
        crop
    };
    let (mut values, mut previews, mut ranges) = (Vec::new(), Vec::new(), Vec::new());
    for &zi in &t.taken {
        let mut out = Vec::with_capacity(3 * (o.size * o.size) as usize);
        // Each slice's own cross-section of the tumour, in the middle slice's box.
        let inside = if o.outside_mask_black { Some(resize(&boxed(&resize(&slice(mask, zi), w, h, true)?), o.size as usize, o.size as usize, true)?.data) } else { None };
        for c in 0..3 {
            let p = phase_slice(c, zi)?;
            if (p.width, p.height) != (m_width, m_height) {
                return Err(format!("phase {c}'s slices are {}×{}, the mask's {m_width}×{m_height}", p.width, p.height));
            }
            let crop = resize(&boxed(&resize(&p, w, h, false)?), o.size as usize, o.size as usize, false)?;
            let mut vals = crop.data.clone();
            let (lo, hi) = (percentile(&mut vals, o.percentiles[0]), percentile(&mut vals, o.percentiles[1]));
            let span = if hi > lo { hi - lo } else { 1.0 };
            let mut unit: Vec<f32> = crop.data.iter().map(|v| ((v - lo) / span).clamp(0.0, 1.0)).collect();
            if let Some(inside) = &inside {
                for (u, &m) in unit.iter_mut().zip(inside) {
                    if m <= 0.5 {
                        *u = 0.0;
                    }
                }
            }
            out.extend(unit.iter().map(|u| (u - IMAGENET_MEAN[c]) / IMAGENET_STD[c]));
            if zi == z {
                previews.push(Plane { width: crop.width, height: crop.height, data: unit });
                ranges.push([lo, hi]);
            }
        }
        values.push(out);
    }
    let info = CropInfo { slice: z, tumour_slices: t.range, slices: t.taken, box_px: [bx, by, side], resampled: [w, h], intensity_range: ranges };
    Ok(Crops { values, previews, info })
}

/// The three [0, 1] planes as an RGB PNG, for people to look at.
pub fn png_bytes(planes: &[Plane]) -> Result<Vec<u8>, String> {
    let (w, h) = (planes[0].width, planes[0].height);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for i in 0..w * h {
        for c in 0..3 {
            let p = planes.get(c).unwrap_or(&planes[0]);
            rgb.push((p.data[i] * 255.0).round() as u8);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    #[test]
    fn crops_around_the_tumour_of_the_middle_slice() {
        let mut mask = ArrayD::<f32>::zeros(IxDyn(&[40, 30, 9]));
        let mut img = ArrayD::<f32>::from_elem(IxDyn(&[40, 30, 9]), 100.0);
        for z in 2..=6 {
            for y in 10..16 {
                for x in 20..28 {
                    mask[[x, y, z]] = 1.0;
                    img[[x, y, z]] = 300.0;
                }
            }
        }
        let o = CropOptions { spacing_mm: 1.0, margin_mm: 4.0, size: 32, ..CropOptions::default() };
        let phase = |_: usize, z: usize| Ok(slice(&img, z));
        let Crops { values, previews, info } = tumour_crop(&mask, [1.0, 1.0], &o, Slices::Middle, phase).unwrap();
        let x = &values[0];
        assert_eq!(info.slice, 4);
        assert_eq!(info.tumour_slices, [2, 6]);
        assert_eq!(info.box_px, [23 - 8, 12 - 8, 16]);
        assert_eq!(x.len(), 3 * 32 * 32);
        // The tumour fills the centre; the margin is background.
        let p = &previews[0];
        assert!(p.data[16 * 32 + 16] > 0.9 && p.data[0] < 0.1);
        let channel0 = (x[16 * 32 + 16] * IMAGENET_STD[0]) + IMAGENET_MEAN[0];
        assert!((channel0 - p.data[16 * 32 + 16]).abs() < 1e-6);
        assert!(tumour_crop(&ArrayD::zeros(IxDyn(&[40, 30, 9])), [1.0, 1.0], &o, Slices::Middle, phase).err().unwrap().contains("empty"));
        // Three slices: the middle one's crop is the same, its neighbours share its box.
        let three = tumour_crop(&mask, [1.0, 1.0], &o, Slices::Central(3), phase).unwrap();
        assert_eq!((three.info.slices.clone(), three.info.box_px), (vec![3, 4, 5], info.box_px));
        assert_eq!(three.middle(), &x[..]);
        assert_eq!(three.values.len(), 3);
        // Black outside the mask: the tumour's pixels as before, every other one at [0, 1]'s 0
        // (a background that brightens along x, so that the plain crop has few zeros).
        let bright = |_: usize, z: usize| {
            let p = slice(&img, z);
            Ok(Plane { data: p.data.iter().enumerate().map(|(i, v)| v + (i % p.width) as f32).collect(), ..p })
        };
        let plain = tumour_crop(&mask, [1.0, 1.0], &o, Slices::Middle, bright).unwrap();
        let black = tumour_crop(&mask, [1.0, 1.0], &CropOptions { outside_mask_black: true, ..o.clone() }, Slices::Middle, bright).unwrap();
        let (p, b) = (&plain.previews[0].data, &black.previews[0].data);
        assert_eq!(p[16 * 32 + 16], b[16 * 32 + 16]);
        assert_eq!((b[0], b[31 * 32 + 31]), (0.0, 0.0));
        let zeros = |d: &[f32]| d.iter().filter(|&&v| v == 0.0).count();
        assert!(zeros(b) > zeros(p) + 32 * 32 / 2, "most of the crop is outside the 8×6 tumour");
        let outside_ch0 = -IMAGENET_MEAN[0] / IMAGENET_STD[0];
        assert!((black.values[0][0] - outside_ch0).abs() < 1e-6);
        // With three slices, each is black outside its own cross-section; slice 1 has none.
        mask.slice_mut(ndarray::s![.., .., 3]).fill(0.0);
        mask[[22, 12, 3]] = 1.0;
        let three = tumour_crop(&mask, [1.0, 1.0], &CropOptions { outside_mask_black: true, ..o.clone() }, Slices::Central(3), bright).unwrap();
        assert_eq!(three.middle(), &black.values[0][..]);
        let lit = |v: &[f32]| v[..32 * 32].iter().filter(|&&x| x != outside_ch0).count();
        assert!(lit(&three.values[0]) < lit(&three.values[1]) / 4, "slice 3's tumour is one voxel");
    }
}
