//! The value ranges the study's tasks accept, checked when the pipeline is checked (see
//! `Task::validate`), each refusal naming its parameter's path in `with:`.

use dag_engine::params::ParamError;

/// A finite number above zero (a spacing, a learning rate).
pub fn positive(path: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() && v > 0.0 { Ok(()) } else { Err(ParamError::at(path, format!("must be a positive number, found {v}"))) }
}

/// A finite number of at least zero (a margin, a weight decay).
pub fn non_negative(path: &str, v: f64) -> Result<(), ParamError> {
    if v.is_finite() && v >= 0.0 { Ok(()) } else { Err(ParamError::at(path, format!("must be a number ≥ 0, found {v}"))) }
}

/// A share of a whole: above 0, at most 1.
pub fn share(path: &str, v: f64) -> Result<(), ParamError> {
    if v > 0.0 && v <= 1.0 { Ok(()) } else { Err(ParamError::at(path, format!("must be a share (0 < x ≤ 1), found {v}"))) }
}

/// A count of at least `min` (a batch size, a number of folds).
pub fn at_least(path: &str, v: usize, min: usize) -> Result<(), ParamError> {
    if v >= min { Ok(()) } else { Err(ParamError::at(path, format!("must be at least {min}, found {v}"))) }
}

/// The refusals among `checks`, all of them (the spec checker reports every problem at once).
pub fn refused<const N: usize>(checks: [Result<(), ParamError>; N]) -> Vec<ParamError> {
    checks.into_iter().filter_map(Result::err).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_nan() {
        assert!(positive("a", 0.8).is_ok() && positive("a", 0.0).is_err() && positive("a", f64::NAN).is_err() && positive("a", f64::INFINITY).is_err());
        assert!(non_negative("a", 0.0).is_ok() && non_negative("a", -1e-9).is_err() && non_negative("a", f64::NAN).is_err());
        assert!(share("a", 1.0).is_ok() && share("a", 0.1).is_ok() && share("a", 0.0).is_err() && share("a", 1.01).is_err() && share("a", f64::NAN).is_err());
        assert!(at_least("a", 2, 2).is_ok() && at_least("a", 1, 2).is_err());
        assert_eq!(share("train.x", 10.0).unwrap_err().to_string(), "`train.x`: must be a share (0 < x ≤ 1), found 10");
    }
}
