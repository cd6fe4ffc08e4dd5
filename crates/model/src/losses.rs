//! The two training objectives over a batch of risk logits.

use tch::{Kind, Reduction, Tensor};

/// Binary recurrence: mean BCE, positives weighted by `pos_weight` ((1,), on the logits'
/// device: negatives/positives).
pub fn bce(logits: &Tensor, event: &Tensor, pos_weight: &Tensor) -> Tensor {
    logits.binary_cross_entropy_with_logits(event, None::<&Tensor>, Some(pos_weight), Reduction::Mean)
}

/// Cox partial likelihood (Breslow ties), negated and averaged over events; None when the
/// batch has no event (it carries no information about the ranking).
pub fn cox(logits: &Tensor, time: &[f64], event: &[bool]) -> Option<Tensor> {
    let events = event.iter().filter(|&&e| e).count();
    if events == 0 {
        return None;
    }
    // Latest first: the cumulative log-sum-exp at i is then the log of i's risk set, except
    // that tied times must all see the whole tie group — the value at its last member.
    let mut order: Vec<usize> = (0..time.len()).collect();
    order.sort_by(|&a, &b| time[b].total_cmp(&time[a]));
    let mut last_of_tie = vec![0i64; order.len()];
    let mut j = order.len();
    for i in (0..order.len()).rev() {
        if i + 1 == order.len() || time[order[i]] != time[order[i + 1]] {
            j = i;
        }
        last_of_tie[i] = j as i64;
    }
    let dev = logits.device();
    let idx = Tensor::from_slice(&order.iter().map(|&i| i as i64).collect::<Vec<_>>()).to_device(dev);
    let r = logits.index_select(0, &idx);
    let log_risk = r.logcumsumexp(0).index_select(0, &Tensor::from_slice(&last_of_tie).to_device(dev));
    let e = Tensor::from_slice(&order.iter().map(|&i| event[i] as u8 as f32).collect::<Vec<_>>()).to_device(dev);
    Some(-((r - log_risk) * e).sum(Kind::Float) / events as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cox_loss_is_breslows_partial_likelihood() {
        let r = [0.3f64, -0.2, 0.5, 1.0];
        let lse = |idx: &[usize]| idx.iter().map(|&i| r[i].exp()).sum::<f64>().ln();
        let logits = Tensor::from_slice(&r.map(|v| v as f32));
        let event = [true, true, false, false];
        // Events at 5 (risk set {0}) and at 3, whose risk set includes the censored tie at 3.
        let got = cox(&logits, &[5.0, 3.0, 3.0, 1.0], &event).unwrap().double_value(&[]);
        let expected = -((r[0] - lse(&[0])) + (r[1] - lse(&[0, 1, 2]))) / 2.0;
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
        // Censored just before 3, patient 2 leaves that risk set.
        let got = cox(&logits, &[5.0, 3.0, 2.9, 1.0], &event).unwrap().double_value(&[]);
        let expected = -((r[0] - lse(&[0])) + (r[1] - lse(&[0, 1]))) / 2.0;
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
        assert!(cox(&logits, &[5.0, 3.0, 3.0, 1.0], &[false; 4]).is_none());
    }

    #[test]
    fn bce_weights_the_positives() {
        let logits = Tensor::from_slice(&[0.0f32, 0.0]);
        let y = Tensor::from_slice(&[1.0f32, 0.0]);
        let ln2 = std::f64::consts::LN_2;
        let w = |v: f32| Tensor::from_slice(&[v]);
        assert!((bce(&logits, &y, &w(1.0)).double_value(&[]) - ln2).abs() < 1e-6);
        assert!((bce(&logits, &y, &w(3.0)).double_value(&[]) - 2.0 * ln2).abs() < 1e-6);
    }
}
