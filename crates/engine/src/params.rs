//! A task's parameters as the engine sees them: decoded from the node's `with:` mapping and
//! checked by the task, with any refusal saying where in the mapping it lies, so that the
//! spec checker can point at that line of the pipeline file rather than at the node.

use serde::de::DeserializeOwned;

/// A parameter the task refuses: its path in `with:` (`["train", "batch_size"]`; empty for
/// the mapping as a whole) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamError {
    pub path: Vec<String>,
    pub message: String,
}

impl ParamError {
    /// A refusal of the parameter at the dotted `path` (`"train.lr"`).
    pub fn at(path: &str, message: impl Into<String>) -> ParamError {
        ParamError { path: path.split('.').map(str::to_owned).collect(), message: message.into() }
    }
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // serde's "unknown field `x`" names the field already.
        let named = self.path.last().is_some_and(|last| self.path.len() == 1 && self.message.contains(&format!("`{last}`")));
        if self.path.is_empty() || named { f.write_str(&self.message) } else { write!(f, "`{}`: {}", self.path.join("."), self.message) }
    }
}

impl std::error::Error for ParamError {}

/// Decodes `with:` into the task's parameter type, keeping the path of a field that fails
/// (serde alone says only "invalid type", not where).
pub fn decode<P: DeserializeOwned>(params: &serde_json::Value) -> Result<P, ParamError> {
    serde_path_to_error::deserialize(params).map_err(|e| {
        use serde_path_to_error::Segment;
        let path = e
            .path()
            .iter()
            .filter_map(|s| match s {
                Segment::Seq { index } => Some(index.to_string()),
                Segment::Map { key } => Some(key.clone()),
                Segment::Enum { variant } => Some(variant.clone()),
                Segment::Unknown => None,
            })
            .collect();
        ParamError { path, message: e.into_inner().to_string() }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        batch_size: usize,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        input: String,
        #[serde(default)]
        train: Option<Inner>,
    }

    #[test]
    fn a_failing_field_keeps_its_path() {
        let e = decode::<Outer>(&serde_json::json!({"input": "x", "train": {"batch_size": "big"}})).unwrap_err();
        assert_eq!(e.path, ["train", "batch_size"]);
        assert!(e.message.contains("invalid type"), "{e}");
        assert!(e.to_string().starts_with("`train.batch_size`: "), "{e}");
        let e = decode::<Outer>(&serde_json::json!({"input": "x", "sed": 1})).unwrap_err();
        assert!(e.message.contains("unknown field `sed`"), "{e}");
        assert_eq!(e.path, ["sed"], "an unknown field names itself, so its line can be found");
        let e = decode::<Outer>(&serde_json::json!({"train": {"batch_size": 1}})).unwrap_err();
        assert!(e.path.is_empty() && e.message.contains("missing field `input`"), "{e:?}");
        assert_eq!(ParamError::at("train.lr", "must be positive").to_string(), "`train.lr`: must be positive");
    }
}
