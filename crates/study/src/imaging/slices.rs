//! Which of a volume's slices a step keeps (`resample`) or crops (`tumour_crop`): the whole
//! volume, every slice the tumour mask marks, its middle one (the paper's input), or an odd
//! number of them centred on the middle one (per-slice samples for the network, #22).

use ndarray::ArrayD;

/// `slices:` in a node's parameters: `all`, `tumour`, `middle`, or an odd count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "serde_json::Value")]
pub enum Slices {
    /// The whole volume.
    #[default]
    All,
    /// Every slice the mask marks.
    Tumour,
    /// The middle one of those: the slice the paper's crop takes (the same as `Central(1)`).
    Middle,
    /// That many of the marked slices, as many on each side of the middle one (fewer where
    /// the tumour has fewer), so that the middle slice stays the middle.
    Central(usize),
}

impl TryFrom<serde_json::Value> for Slices {
    type Error = String;
    fn try_from(v: serde_json::Value) -> Result<Self, String> {
        let words = "`all`, `tumour`, `middle` or an odd number of slices centred on the middle one";
        match &v {
            serde_json::Value::String(s) if s == "all" => Ok(Slices::All),
            serde_json::Value::String(s) if s == "tumour" => Ok(Slices::Tumour),
            serde_json::Value::String(s) if s == "middle" => Ok(Slices::Middle),
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(1) => Ok(Slices::Middle),
                Some(k) if k % 2 == 1 => Ok(Slices::Central(k as usize)),
                _ => Err(format!("{n} slices: expected {words} (an even count has no middle)")),
            },
            other => Err(format!("expected {words}, found {other}")),
        }
    }
}

/// The slices of the mask's tumour that a choice takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TumourSlices {
    /// The middle of the slices the mask marks.
    pub middle: usize,
    /// The first and last marked slices.
    pub range: [usize; 2],
    /// The slices taken, in order (the middle among them); every slice for `All`.
    pub taken: Vec<usize>,
}

/// The slices (the volume's third axis) that hold any of the mask; None if it is empty.
fn marked(mask: &ArrayD<f32>) -> Vec<usize> {
    // Each slice in memory order: NIfTI's slices are contiguous, its rows are not in
    // ndarray's logical order.
    (0..mask.shape()[2])
        .filter(|&z| {
            let s = mask.index_axis(ndarray::Axis(2), z);
            s.as_slice_memory_order().map_or_else(|| s.iter().any(|&m| m > 0.5), |v| v.iter().any(|&m| m > 0.5))
        })
        .collect()
}

/// What `choice` takes of `mask`'s slices; None where the mask is empty.
pub fn tumour_slices(mask: &ArrayD<f32>, choice: Slices) -> Option<TumourSlices> {
    let with = marked(mask);
    let (first, last) = (*with.first()?, *with.last()?);
    let m = with.len() / 2;
    let taken = match choice {
        Slices::All => (0..mask.shape()[2]).collect(),
        Slices::Tumour => with.clone(),
        Slices::Middle => vec![with[m]],
        Slices::Central(n) => {
            // Symmetric around the middle: the middle of what is taken is the middle of all,
            // so a step that reads only these slices finds the same middle slice.
            let k = (n / 2).min(m).min(with.len() - 1 - m);
            with[m - k..=m + k].to_vec()
        }
    };
    Some(TumourSlices { middle: with[m], range: [first, last], taken })
}

/// The middle of the slices that contain tumour, and the first and last of them.
pub fn middle_tumour_slice(mask: &ArrayD<f32>) -> Option<(usize, [usize; 2])> {
    tumour_slices(mask, Slices::Middle).map(|t| (t.middle, t.range))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    fn mask_on(slices: &[usize]) -> ArrayD<f32> {
        let mut m = ArrayD::<f32>::zeros(IxDyn(&[4, 4, 12]));
        for &z in slices {
            m[[1, 2, z]] = 1.0;
        }
        m
    }

    fn parse(v: serde_json::Value) -> Result<Slices, String> {
        Slices::try_from(v)
    }

    #[test]
    fn choices_read_from_words_and_odd_counts() {
        assert_eq!(parse("tumour".into()), Ok(Slices::Tumour));
        assert_eq!(parse(1.into()), Ok(Slices::Middle));
        assert_eq!(parse(5.into()), Ok(Slices::Central(5)));
        assert!(parse(4.into()).unwrap_err().contains("even count has no middle"));
        assert!(parse(0.into()).is_err());
        assert!(parse("middel".into()).unwrap_err().contains("`middle`"));
    }

    #[test]
    fn central_slices_keep_the_middle_in_the_middle() {
        // Marked: 3..=9 (seven slices), middle 6.
        let m = mask_on(&[3, 4, 5, 6, 7, 8, 9]);
        let t = tumour_slices(&m, Slices::Central(5)).unwrap();
        assert_eq!((t.middle, t.range, t.taken.clone()), (6, [3, 9], vec![4, 5, 6, 7, 8]));
        // More than the tumour has: all of them, still centred.
        assert_eq!(tumour_slices(&m, Slices::Central(11)).unwrap().taken, (3..=9).collect::<Vec<_>>());
        // An even number of marked slices (3..=6): the middle is the upper of the two central
        // ones (index len / 2), and five centred on it clip to the three that stay symmetric.
        let m = mask_on(&[3, 4, 5, 6]);
        let t = tumour_slices(&m, Slices::Central(5)).unwrap();
        assert_eq!((t.middle, t.taken), (5, vec![4, 5, 6]));
        // What a step that kept only those finds: the same middle.
        let kept = mask_on(&[4, 5, 6]);
        assert_eq!(tumour_slices(&kept, Slices::Middle).unwrap().middle, 5);
        assert_eq!(tumour_slices(&mask_on(&[]), Slices::Tumour), None);
    }
}
