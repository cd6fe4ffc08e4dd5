//! The augmentations of a training row and the views a held-out patient is scored over:
//! the left-right mirror, or the square's eight symmetries (90° turns and mirrors).

use tch::Tensor;

/// Symmetry `t` of the square (bit 2: transpose, bit 0: mirror left-right, bit 1: up-down):
/// the eight are the 90° turns and the mirrors. Maps are square (7 × 7 at the cut, 224 × 224
/// crops); a map that is not is mirrored only.
pub(crate) fn symmetry(x: &Tensor, t: u8) -> Tensor {
    let size = x.size();
    let square = size.len() == 4 && size[2] == size[3];
    let mut y = if t & 4 != 0 && square { x.transpose(2, 3) } else { x.shallow_clone() };
    if t & 1 != 0 {
        y = y.flip([3]);
    }
    if t & 2 != 0 {
        y = y.flip([2]);
    }
    y
}

/// Row i under symmetry `t[i]`.
pub(crate) fn turned(x: &Tensor, t: &[u8]) -> Tensor {
    let mut out = x.zeros_like();
    for s in 0..8u8 {
        if t.contains(&s) {
            let mask = Tensor::from_slice(&t.iter().map(|&v| f32::from(u8::from(v == s))).collect::<Vec<_>>()).to_device(x.device()).view([-1, 1, 1, 1]);
            out += symmetry(x, s) * mask.to_kind(x.kind());
        }
    }
    out
}

/// Each row whose `flip` is set, mirrored left to right (the last axis).
pub(crate) fn flipped(x: &Tensor, flip: Option<&[bool]>) -> Tensor {
    match flip {
        Some(f) if f.iter().any(|&v| v) => {
            let mask = Tensor::from_slice(&f.iter().map(|&v| v as u8 as f32).collect::<Vec<_>>()).to_device(x.device()).view([-1, 1, 1, 1]);
            x * (1.0 - &mask) + x.flip([3]) * mask
        }
        _ => x.shallow_clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.contiguous().view([-1])).unwrap()
    }

    #[test]
    fn the_eight_symmetries_are_the_turns_and_mirrors_of_the_square() {
        // [[0, 1], [2, 3]] as one row of one channel.
        let x = Tensor::arange(4, (Kind::Float, Device::Cpu)).view([1, 1, 2, 2]);
        let all: Vec<Vec<f32>> = (0..8).map(|t| values(&symmetry(&x, t))).collect();
        let expected: [[f32; 4]; 8] = [
            [0., 1., 2., 3.], // identity
            [1., 0., 3., 2.], // mirrored left-right
            [2., 3., 0., 1.], // up-down
            [3., 2., 1., 0.], // turned 180°
            [0., 2., 1., 3.], // transposed
            [2., 0., 3., 1.], // turned 90° clockwise
            [1., 3., 0., 2.], // turned 90° anticlockwise
            [3., 1., 2., 0.], // the other diagonal
        ];
        assert_eq!(all, expected.map(|e| e.to_vec()).to_vec());
    }

    #[test]
    fn each_row_gets_its_own_symmetry() {
        let x = Tensor::arange(12, (Kind::Float, Device::Cpu)).view([3, 1, 2, 2]);
        let y = turned(&x, &[0, 5, 3]);
        for (i, t) in [0u8, 5, 3].into_iter().enumerate() {
            assert_eq!(values(&y.get(i as i64)), values(&symmetry(&x.get(i as i64).unsqueeze(0), t)));
        }
        // Mirror-only rows agree with the plain flip.
        assert_eq!(values(&turned(&x, &[1, 0, 1])), values(&flipped(&x, Some(&[true, false, true]))));
    }
}
