//! One split's samples as tensors on the device: a row per patient, or per tumour slice where
//! patients have several, with the bookkeeping from rows to patients.

use super::backbone::{read_crop, read_npy};
use dag_study::training::protocol::Sample;
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
        let t = match &s.slices {
            Some(f) => read_npy(f)?,
            None if end_to_end => read_crop(&s.file)?.unsqueeze(0),
            None => read_npy(&s.file)?.unsqueeze(0),
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
    Ok(Data { x, row_y: labels(&row_event, device), owner, groups, y: labels(&event, device), time: samples.iter().map(|s| s.time).collect(), event })
}

impl Data {
    /// Patients.
    pub fn len(&self) -> usize {
        self.time.len()
    }
    pub fn rows(&self) -> usize {
        self.owner.len()
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
    /// The rows an epoch trains on: every row, or one of each patient's drawn at random.
    pub fn epoch_rows(&self, every: bool, rng: &mut ChaCha8Rng) -> Vec<usize> {
        if every || self.rows() == self.len() {
            return (0..self.rows()).collect();
        }
        self.groups.iter().map(|g| if g.len() == 1 { g.start } else { rng.gen_range(g.clone()) }).collect()
    }
}

