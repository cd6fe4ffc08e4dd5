//! One split's samples as tensors on the device: a row per patient, or per tumour slice where
//! patients have several, with the bookkeeping from rows to patients.

use super::backbone::{read_crop, read_npy};
use dag_study::training::protocol::{Sample, SliceSampling};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

/// One split's inputs stacked: (R, C, H, W) rows on the device, one per patient, or one per
/// tumour slice where patients have several (`groups[p]`: patient p's rows, contiguous).
/// Labels per row (on the device, so that a batch's labels are a gather there, not an upload)
/// and per patient.
pub(crate) struct Data {
    pub x: Tensor,
    pub row_y: Tensor,
    /// Row → patient.
    pub owner: Vec<usize>,
    pub groups: Vec<std::ops::Range<usize>>,
    /// The rows are augmented views of each patient's crop, the crop itself first
    /// (`Sample::views`), not tumour slices.
    pub views: bool,
    /// Per patient: (P,) 0/1 on the device, and times and events.
    pub y: Tensor,
    pub time: Vec<f64>,
    pub event: Vec<bool>,
}

fn labels(event: &[bool], device: Device) -> Tensor {
    Tensor::from_slice(&event.iter().map(|&e| e as u8 as f32).collect::<Vec<_>>()).to_device(device)
}

pub(crate) fn load(samples: &[Sample], end_to_end: bool, device: Device) -> Result<Data, String> {
    let (mut xs, mut owner, mut groups) = (Vec::with_capacity(samples.len()), Vec::new(), Vec::new());
    for (i, s) in samples.iter().enumerate() {
        let t = match (&s.views, &s.slices) {
            (Some(f), _) | (None, Some(f)) => read_npy(f)?,
            (None, None) if end_to_end => read_crop(&s.file)?.unsqueeze(0),
            (None, None) => read_npy(&s.file)?.unsqueeze(0),
        };
        let rows = t.size().first().copied().unwrap_or(0) as usize;
        if rows == 0 {
            return Err(format!("{}: no slices", s.slices.as_ref().unwrap_or(&s.file).display()));
        }
        groups.push(owner.len()..owner.len() + rows);
        owner.extend(std::iter::repeat_n(i, rows));
        xs.push(t);
    }
    let x = if xs.is_empty() {
        // No inner validation split (`val_fraction: 0`): nothing to stack, and nothing reads `x`.
        Tensor::zeros([0], (Kind::Float, device))
    } else {
        Tensor::f_cat(&xs, 0).map_err(|e| format!("the inputs differ in shape ({e})"))?.to_device(device)
    };
    let event: Vec<bool> = samples.iter().map(|s| s.event).collect();
    let row_event: Vec<bool> = owner.iter().map(|&p| event[p]).collect();
    let views = samples.iter().any(|s| s.views.is_some());
    if views && samples.iter().any(|s| s.slices.is_some()) {
        return Err("augmented views and several tumour slices cannot be mixed in one split".into());
    }
    Ok(Data { x, row_y: labels(&row_event, device), owner, groups, views, y: labels(&event, device), time: samples.iter().map(|s| s.time).collect(), event })
}

impl Data {
    /// Patients.
    pub fn len(&self) -> usize {
        self.time.len()
    }
    pub fn rows(&self) -> usize {
        self.owner.len()
    }
    /// Tumour slices: the rows, unless they are views of one slice's crop.
    pub fn slices(&self) -> usize {
        if self.views { self.len() } else { self.rows() }
    }
    /// What a fold's log says of the training rows, where they are not one per patient:
    /// augmented views or tumour slices, and how an epoch takes them.
    pub fn rows_described(&self, sampling: SliceSampling, test_views: bool) -> Option<String> {
        let (rows, n) = (self.rows(), self.len());
        if self.views {
            let each = match sampling {
                SliceSampling::One => "one per patient, drawn at random",
                SliceSampling::Every => "every view, each a sample",
                SliceSampling::Pooled => "all of a patient's views, pooled into one logit",
            };
            let scored = if test_views { "by the mean over their views" } else { "on their crops" };
            return Some(format!("{rows} augmented views of {n} training patients' crops (rotated, zoomed, shifted, intensity-jittered; the crop itself among them); {each} in each epoch; held-out patients are scored {scored}"));
        }
        let each = match sampling {
            SliceSampling::One => "one slice drawn at random",
            SliceSampling::Every => "every slice, each a sample",
            SliceSampling::Pooled => "every slice, pooled into one logit",
        };
        (rows > n).then(|| format!("{rows} tumour slices for {n} training patients ({:.1} each); {each} per patient in each epoch; a held-out patient scores the mean over its slices", rows as f64 / n as f64))
    }
    /// All rows in order, `size` at a time, as views (no copy, no upload).
    pub fn chunks(&self, size: usize) -> impl Iterator<Item = Tensor> + '_ {
        (0..self.rows()).step_by(size).map(move |start| self.x.narrow(0, start as i64, size.min(self.rows() - start) as i64))
    }
    /// Per-row values (R, …) as per-patient means (P, …); as they are where every patient
    /// has one row.
    pub fn per_patient(&self, rows: Tensor) -> Tensor {
        if self.rows() == self.len() {
            return rows;
        }
        let owner = Tensor::from_slice(&self.owner.iter().map(|&p| p as i64).collect::<Vec<_>>()).to_device(rows.device());
        let mut shape = rows.size();
        shape[0] = self.len() as i64;
        let counts: Vec<f64> = self.groups.iter().map(|g| g.len() as f64).collect();
        let mut count_shape = vec![1i64; shape.len()];
        count_shape[0] = -1;
        let counts = Tensor::from_slice(&counts).to_kind(rows.kind()).to_device(rows.device()).view(count_shape.as_slice());
        Tensor::zeros(shape.as_slice(), (rows.kind(), rows.device())).index_add(0, &owner, &rows) / counts
    }
    /// Per-row values (R, …) as per patient (P, …) for what reads a patient's own image (the
    /// linear probe): its crop's row where the rows are augmented views, else as `per_patient`.
    pub fn originals(&self, rows: Tensor) -> Tensor {
        if !self.views {
            return self.per_patient(rows);
        }
        let first = Tensor::from_slice(&self.groups.iter().map(|g| g.start as i64).collect::<Vec<_>>()).to_device(rows.device());
        rows.index_select(0, &first)
    }
    /// The rows an epoch trains on: every row, or one of each patient's drawn at random.
    pub fn epoch_rows(&self, every: bool, rng: &mut ChaCha8Rng) -> Vec<usize> {
        if every || self.rows() == self.len() {
            return (0..self.rows()).collect();
        }
        self.groups.iter().map(|g| if g.len() == 1 { g.start } else { rng.gen_range(g.clone()) }).collect()
    }
}

/// One epoch's batches as the tail runs them, uploaded once (a transfer per batch waits for
/// a GPU's queued kernels): the rows of every batch one after another, and where a patient's
/// slices are pooled, each row's place among its batch's patients.
pub(crate) struct Epoch {
    rows: Tensor,
    /// Pooled: (row → its patient's place in the batch, the batch's patients, their slice counts).
    pool: Option<(Tensor, Tensor, Tensor)>,
    pub batches: Vec<Batch>,
}

/// One batch of an epoch: where its rows and its units (rows, or pooled patients) start, the
/// rows of each unit, and the patients whose labels its logits meet, in order.
pub(crate) struct Batch {
    rows: (i64, i64),
    units: (i64, i64),
    sizes: Vec<usize>,
    pub patients: Vec<usize>,
}

impl Batch {
    /// A value per unit (a flip) as one per row: a pooled patient's slices are flipped
    /// together, so the tumour is mirrored as a whole and the draws are one per patient.
    pub fn per_row<T: Copy>(&self, per_unit: &[T]) -> Vec<T> {
        self.sizes.iter().zip(per_unit).flat_map(|(&n, &v)| std::iter::repeat_n(v, n)).collect()
    }
}

impl Data {
    /// The epoch of `order` (batches of indices into `units`): without pooling `units` are
    /// rows; pooled, they are patients, and a batch runs every slice of each.
    pub fn epoch(&self, order: &[Vec<usize>], units: &[usize], pooled: bool) -> Epoch {
        let (mut rows, mut place, mut patients, mut counts, mut batches) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for idx in order {
            let (row0, unit0) = (rows.len() as i64, patients.len() as i64);
            let (mut owners, mut sizes) = (Vec::with_capacity(idx.len()), Vec::with_capacity(idx.len()));
            for (k, &i) in idx.iter().enumerate() {
                let u = units[i];
                if pooled {
                    let g = self.groups[u].clone();
                    place.extend(std::iter::repeat_n(k as i64, g.len()));
                    counts.push(g.len() as f32);
                    sizes.push(g.len());
                    rows.extend(g.map(|r| r as i64));
                    patients.push(u as i64);
                    owners.push(u);
                } else {
                    rows.push(u as i64);
                    sizes.push(1);
                    patients.push(self.owner[u] as i64);
                    owners.push(self.owner[u]);
                }
            }
            batches.push(Batch { rows: (row0, rows.len() as i64 - row0), units: (unit0, idx.len() as i64), sizes, patients: owners });
        }
        let device = self.x.device();
        let up = |v: &[i64]| Tensor::from_slice(v).to_device(device);
        let pool = pooled.then(|| (up(&place), up(&patients), Tensor::from_slice(&counts).to_device(device)));
        Epoch { rows: up(&rows), pool, batches }
    }
}

impl Epoch {
    /// Batch `b`'s row indices into `Data::x`.
    pub fn rows(&self, b: &Batch) -> Tensor {
        self.rows.narrow(0, b.rows.0, b.rows.1)
    }
    /// Batch `b`'s logits per unit and their 0/1 labels, from the logits of its rows: as they
    /// are, or pooled as each patient's mean over its slices (what a held-out patient is
    /// scored with).
    pub fn logits_and_labels(&self, b: &Batch, row_logits: Tensor, d: &Data) -> (Tensor, Tensor) {
        match &self.pool {
            None => (row_logits, d.row_y.index_select(0, &self.rows(b))),
            Some((place, patients, counts)) => {
                let place = place.narrow(0, b.rows.0, b.rows.1);
                let sum = Tensor::zeros([b.units.1], (row_logits.kind(), row_logits.device())).index_add(0, &place, &row_logits);
                (sum / counts.narrow(0, b.units.0, b.units.1), d.y.index_select(0, &patients.narrow(0, b.units.0, b.units.1)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three patients with 2, 1 and 3 rows; row r's input (and logit below) is r.
    fn data() -> Data {
        let owner = vec![0, 0, 1, 2, 2, 2];
        let event = vec![true, false, false];
        let row_event: Vec<bool> = owner.iter().map(|&p| event[p]).collect();
        Data {
            x: Tensor::arange(6, (Kind::Float, Device::Cpu)),
            row_y: labels(&row_event, Device::Cpu),
            owner,
            groups: vec![0..2, 2..3, 3..6],
            views: false,
            y: labels(&event, Device::Cpu),
            time: vec![1.0, 2.0, 3.0],
            event,
        }
    }

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.to_kind(Kind::Float)).unwrap()
    }

    #[test]
    fn a_pooled_batch_runs_every_slice_and_scores_each_patient_by_their_mean() {
        let d = data();
        let plan = d.epoch(&[vec![2, 0], vec![1]], &[0, 1, 2], true);
        let (b0, b1) = (&plan.batches[0], &plan.batches[1]);
        assert_eq!(values(&plan.rows(b0)), [3.0, 4.0, 5.0, 0.0, 1.0]);
        assert_eq!(b0.patients, [2, 0]);
        let (logits, y) = plan.logits_and_labels(b0, d.x.index_select(0, &plan.rows(b0)), &d);
        assert_eq!(values(&logits), [4.0, 0.5]);
        assert_eq!(values(&y), [0.0, 1.0]);
        assert_eq!(b0.per_row(&[true, false]), [true, true, true, false, false]);
        let (logits, y) = plan.logits_and_labels(b1, d.x.index_select(0, &plan.rows(b1)), &d);
        assert_eq!((values(&logits), values(&y), b1.patients.clone()), (vec![2.0], vec![0.0], vec![1]));
    }

    #[test]
    fn the_probe_reads_a_patients_crop_among_its_views_and_the_mean_of_its_slices() {
        let mut d = data();
        assert_eq!(values(&d.originals(d.x.shallow_clone())), [0.5, 2.0, 4.0]);
        d.views = true;
        assert_eq!(values(&d.originals(d.x.shallow_clone())), [0.0, 2.0, 3.0]);
    }

    #[test]
    fn an_unpooled_batch_is_of_rows_with_their_own_labels() {
        let d = data();
        let plan = d.epoch(&[vec![0, 2], vec![1]], &[5, 0, 3], false);
        let b0 = &plan.batches[0];
        assert_eq!(values(&plan.rows(b0)), [5.0, 3.0]);
        assert_eq!(b0.patients, [2, 2]);
        let (logits, y) = plan.logits_and_labels(b0, d.x.index_select(0, &plan.rows(b0)), &d);
        assert_eq!((values(&logits), values(&y)), (vec![5.0, 3.0], vec![0.0, 0.0]));
        assert_eq!(b0.per_row(&[true, false]), [true, false]);
    }
}
