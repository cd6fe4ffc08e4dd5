//! The value ranges the study's tasks accept, checked when the pipeline is checked (see
//! `Task::validate`), each refusal naming its parameter's path in `with:`.

use crate::engine::params::ParamError;

/// A finite number above zero (a spacing, a learning rate).
pub fn positive(path: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() && v > 0.0 { Ok(()) } else { Err(ParamError::at(path, format!("must be a positive number, found {v}"))) }
}

/// A finite number of at least zero (a margin, a weight decay).
pub fn non_negative(path: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() && v >= 0.0 { Ok(()) } else { Err(ParamError::at(path, format!("must be a number ≥ 0, found {v}"))) }
}

/// A share: above 0 and below 1, or up to 1 inclusive with `one_allowed`.
pub fn share(path: &str, v: f64, one_allowed: bool) -> Result<(), ParamError> {
    let ok = v > 0.0 && (v < 1.0 || (one_allowed && v == 1.0));
    let range = if one_allowed { "0 < x ≤ 1" } else { "0 < x < 1" };
    if ok { Ok(()) } else { Err(ParamError::at(path, format!("must be a share ({range}), found {v}"))) }
}

/// The refusals among `checks`, all of them (the spec checker reports every problem at once).
pub fn refused<const N: usize>(checks: [Result<(), ParamError>; N]) -> Vec<ParamError> {
    checks.into_iter().filter_map(Result::err).collect()
}

pub fn at_least(path: &str, v: usize, min: usize) -> Result<(), ParamError> {
    if v >= min { Ok(()) } else { Err(ParamError::at(path, format!("must be at least {min}, found {v}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_nan() {
        assert!(positive("a", 0.8).is_ok() && positive("a", 0.0).is_err() && positive("a", f64::NAN).is_err() && positive("a", f64::INFINITY).is_err());
        assert!(non_negative("a", 0.0).is_ok() && non_negative("a", -1e-9).is_err() && non_negative("a", f64::NAN).is_err());
        assert!(share("a", 1.0, true).is_ok() && share("a", 1.0, false).is_err() && share("a", 0.0, true).is_err() && share("a", f64::NAN, true).is_err());
        assert!(at_least("a", 2, 2).is_ok() && at_least("a", 1, 2).is_err());
        assert_eq!(share("train.x", 10.0, true).unwrap_err().to_string(), "`train.x`: must be a share (0 < x ≤ 1), found 10");
    }
}
