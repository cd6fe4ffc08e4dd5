//! Augmented views of a patient's crop, for a tail trained on the cached prefix: small
//! rotations, zooms and shifts, and intensity jitter (issue #22's "augmentation suited to MRI
//! crops"). The prefix is frozen, so a view's features can be computed once per patient and
//! cached like the crop's; training then reads one view per patient per epoch, drawn at
//! random. Flips stay on the feature maps (`augment`), where they cost nothing.
//!
//! View 0 is the crop itself, so the patient's own features are always among the views and a
//! held-out patient is scored on them.

use dag_study::imaging::crop::{IMAGENET_MEAN, IMAGENET_STD};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

/// One view's transform: a rotation about the crop's centre, a zoom, a shift, and an affine
/// change of intensity on the [0, 1] scale the crop had before ImageNet's normalisation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draw {
    pub degrees: f64,
    /// Above 1 zooms in (the view shows a smaller part of the crop).
    pub zoom: f64,
    /// In the crop's normalised coordinates (−1 to 1 across it), x then y.
    pub shift: [f64; 2],
    /// The same for the three phases, so the enhancement between them (what DCE-MRI measures)
    /// keeps its ratios.
    pub gain: f64,
    pub offset: f64,
}

impl Draw {
    pub const IDENTITY: Draw = Draw { degrees: 0.0, zoom: 1.0, shift: [0.0, 0.0], gain: 1.0, offset: 0.0 };

    /// Small enough to stay the same tumour: ±15°, ±10% zoom, ±5% of the crop's width
    /// (about 11 pixels of 224), ±10% gain and ±0.05 offset.
    pub fn random(rng: &mut ChaCha8Rng) -> Draw {
        Draw {
            degrees: rng.gen_range(-15.0..=15.0),
            zoom: rng.gen_range(0.9..=1.1),
            shift: [rng.gen_range(-0.1..=0.1), rng.gen_range(-0.1..=0.1)],
            gain: rng.gen_range(0.9..=1.1),
            offset: rng.gen_range(-0.05..=0.05),
        }
    }
}

/// `crop` (3, H, W), ImageNet-normalised, under `d`: bilinear, the border mirrored (a black
/// edge would be a feature of the view, not of the tumour).
pub fn view(crop: &Tensor, d: &Draw) -> Tensor {
    let size = crop.size();
    let (h, w) = (size[1], size[2]);
    let (sin, cos) = d.degrees.to_radians().sin_cos();
    // Output coordinates → input coordinates, as affine_grid reads theta.
    let theta = Tensor::from_slice(&[cos / d.zoom, -sin / d.zoom, d.shift[0], sin / d.zoom, cos / d.zoom, d.shift[1]])
        .to_kind(Kind::Float)
        .to_device(crop.device())
        .view([1, 2, 3]);
    let grid = Tensor::affine_grid_generator(&theta, [1, 3, h, w], false);
    let moved = crop.unsqueeze(0).grid_sampler(&grid, 0, 2, false).squeeze_dim(0);
    // unit = x·std + mean; unit' = gain·unit + offset; x' = (unit' − mean) / std.
    let per_channel = |f: &dyn Fn(usize) -> f64| Tensor::from_slice(&(0..3).map(|c| f(c) as f32).collect::<Vec<_>>()).to_device(crop.device()).view([3, 1, 1]);
    let shift = per_channel(&|c| ((d.gain - 1.0) * f64::from(IMAGENET_MEAN[c]) + d.offset) / f64::from(IMAGENET_STD[c]));
    moved * d.gain + shift
}

/// The draws of a patient's `count` views: the identity first, then random ones from a stream
/// of the patient's own (the network's seed and the patient's id), so that a patient's views
/// do not change with the order or the company it is computed in.
pub fn draws(count: usize, seed: u64, patient: &str) -> Vec<Draw> {
    // FNV-1a: a stable hash of the id (std's changes between releases).
    let id = patient.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ id ^ 0x7669_6577);
    (0..count).map(|k| if k == 0 { Draw::IDENTITY } else { Draw::random(&mut rng) }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.contiguous().view([-1])).unwrap()
    }

    fn ramp() -> Tensor {
        Tensor::arange(3 * 6 * 6, (Kind::Float, Device::Cpu)).view([3, 6, 6]) / 100.0
    }

    #[test]
    fn the_identity_leaves_the_crop_as_it_is() {
        let x = ramp();
        let y = view(&x, &Draw::IDENTITY);
        for (a, b) in values(&x).iter().zip(values(&y)) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
    }

    #[test]
    fn a_quarter_turn_turns_the_crop_and_a_gain_scales_its_unit_intensities() {
        let x = ramp();
        let turned = view(&x, &Draw { degrees: 90.0, ..Draw::IDENTITY });
        // Output (i, j) reads input at theta·(x, y) = (−y, x): row i, column j ← row j, column W−1−i.
        let expected = x.transpose(1, 2).flip([1]);
        for (a, b) in values(&turned).iter().zip(values(&expected)) {
            assert!((a - b).abs() < 1e-4, "{a} {b}");
        }
        let d = Draw { gain: 1.1, offset: 0.05, ..Draw::IDENTITY };
        let brighter = values(&view(&x, &d));
        for (c, (&m, &s)) in IMAGENET_MEAN.iter().zip(&IMAGENET_STD).enumerate() {
            let (i, v) = (c * 36 + 7, values(&x)[c * 36 + 7]);
            let unit = v * s + m;
            let want = ((1.1 * unit + 0.05) - m) / s;
            assert!((brighter[i] - want).abs() < 1e-5, "channel {c}: {} against {want}", brighter[i]);
        }
    }

    #[test]
    fn a_patients_draws_are_its_own_and_start_with_the_crop_itself() {
        let a = draws(4, 7, "DUKE_001");
        assert_eq!(a[0], Draw::IDENTITY);
        assert_eq!(a, draws(4, 7, "DUKE_001"));
        assert_eq!(a[..2], draws(2, 7, "DUKE_001")[..], "more views add to the same first ones");
        assert_ne!(a[1], draws(4, 7, "DUKE_002")[1]);
        assert_ne!(a[1], draws(4, 8, "DUKE_001")[1]);
        for d in &a[1..] {
            assert!(d.degrees.abs() <= 15.0 && (0.9..=1.1).contains(&d.zoom) && d.shift.iter().all(|s| s.abs() <= 0.1));
        }
    }
}
