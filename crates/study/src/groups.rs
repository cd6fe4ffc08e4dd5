//! Parameter groups: fields that several tasks take, written flat in a node's `with:` (as
//! users have always written them) and gathered into one typed value in each task's
//! parameters: the dataset source ([`Source`]) and the network ([`Backbone`]).
//!
//! Why a macro and not `#[serde(flatten)]`: serde cannot combine `flatten` with
//! `deny_unknown_fields`, and the refusal of an unknown field (with its line in the user's
//! file and the names accepted) is what the spec checker stands on; a flattened field's type
//! errors also lose their path. So each group's fields are written here once, and
//! [`with_group!`] writes them into one private flat struct per task that keeps both, then
//! builds the group from them.
//!
//! [`Backbone`]: crate::training::protocol::Backbone

use dag_engine::task::{TaskCtx, TaskError};
use std::path::{Path, PathBuf};

/// Where a task's dataset is: a needed node's output (`input: node`) or a folder
/// (`dataset: path`). One of the two, by construction: a node's `with:` giving both or
/// neither is refused when the spec is checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Node(String),
    Folder(PathBuf),
}

impl Source {
    /// From the two keys as written.
    pub fn new(input: Option<String>, dataset: Option<PathBuf>) -> Result<Source, &'static str> {
        match (input, dataset) {
            (Some(node), None) => Ok(Source::Node(node)),
            (None, Some(folder)) => Ok(Source::Folder(folder)),
            _ => Err("give either `input` (a needed node) or `dataset` (a folder)"),
        }
    }

    /// The dataset's root folder for this instance.
    pub fn root(&self, ctx: &TaskCtx<'_>) -> Result<PathBuf, TaskError> {
        match self {
            Source::Node(node) => Ok(ctx.input(node)?.to_owned()),
            Source::Folder(folder) => Ok(folder.clone()),
        }
    }

    /// The folder outside the cache, whose files a cache key must read (none for a node's
    /// output: its digest is in the key already).
    pub fn folder(&self) -> Option<&Path> {
        match self {
            Source::Node(_) => None,
            Source::Folder(f) => Some(f),
        }
    }
}

/// `with_group! { group NAME: TYPE = BUILD { group fields } STRUCT }`: STRUCT (its own
/// fields, with their serde attributes) gains `pub NAME: TYPE`, and deserialises from one
/// flat mapping holding the group's fields and its own, unknown ones refused. BUILD takes
/// the group's fields in order and returns `Result<TYPE, impl Display>`; its error refuses
/// the whole mapping.
macro_rules! with_group {
    (
        group $g:ident : $gty:ty = $build:expr ; { $( $(#[$gm:meta])* $gf:ident : $gt:ty ),* $(,)? }
        $(#[$m:meta])* $vis:vis struct $name:ident { $( $(#[$fm:meta])* $fvis:vis $f:ident : $t:ty ),* $(,)? }
    ) => {
        $(#[$m])*
        $vis struct $name {
            pub $g: $gty,
            $( $fvis $f: $t, )*
        }

        const _: () = {
            // The flat mapping as written; paths of failing fields and unknown names are
            // serde's own, as for any other task's parameters.
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Flat {
                $( $(#[$gm])* $gf: $gt, )*
                $( $(#[$fm])* $f: $t, )*
            }

            impl<'de> serde::Deserialize<'de> for $name {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let flat = Flat::deserialize(d)?;
                    let $g = ($build)($(flat.$gf),*).map_err(serde::de::Error::custom)?;
                    Ok($name { $g, $( $f: flat.$f, )* })
                }
            }
        };
    };
}
pub(crate) use with_group;

/// STRUCT with `pub source: Source`, written `input:` or `dataset:` in `with:`.
macro_rules! with_source {
    ($($body:tt)*) => {
        $crate::groups::with_group! {
            group source: $crate::groups::Source = $crate::groups::Source::new; {
                #[serde(default)]
                input: Option<String>,
                #[serde(default)]
                dataset: Option<std::path::PathBuf>,
            }
            $($body)*
        }
    };
}
pub(crate) use with_source;

/// STRUCT with `pub backbone: Backbone`, written `weights:` (torchvision DenseNet121 weights
/// as safetensors; none: a seeded initialisation), `seed:` and `unfreeze_fraction:` in
/// `with:`.
macro_rules! with_backbone {
    ($($body:tt)*) => {
        $crate::groups::with_group! {
            group backbone: $crate::training::protocol::Backbone = $crate::training::protocol::Backbone::new; {
                #[serde(default)]
                weights: Option<std::path::PathBuf>,
                #[serde(default)]
                seed: u64,
                #[serde(default = "crate::training::protocol::Backbone::default_unfreeze_fraction")]
                unfreeze_fraction: f64,
            }
            $($body)*
        }
    };
}
pub(crate) use with_backbone;

#[cfg(test)]
mod tests {
    use super::*;
    use dag_engine::params::decode;
    use serde_json::json;

    with_source! {
        #[derive(Debug)]
        struct Example {
            patient: String,
            #[serde(default)]
            shrink: usize,
        }
    }

    #[test]
    fn the_source_is_one_of_two_keys_and_unknown_keys_are_refused_with_their_path() {
        let p: Example = decode(&json!({"input": "n4", "patient": "DUKE_001"})).unwrap();
        assert_eq!((p.source, p.patient.as_str(), p.shrink), (Source::Node("n4".into()), "DUKE_001", 0));
        let p: Example = decode(&json!({"dataset": "/data", "patient": "x", "shrink": 2})).unwrap();
        assert_eq!((p.source.folder(), p.shrink), (Some(Path::new("/data")), 2));
        for both_or_neither in [json!({"input": "n4", "dataset": "/d", "patient": "x"}), json!({"patient": "x"})] {
            let e = decode::<Example>(&both_or_neither).unwrap_err();
            assert!(e.path.is_empty() && e.message.contains("give either `input`"), "{e:?}");
        }
        let e = decode::<Example>(&json!({"input": "n4", "patient": "x", "shrnk": 2})).unwrap_err();
        assert_eq!(e.path, ["shrnk"]);
        assert!(e.message.contains("unknown field `shrnk`, expected one of `input`, `dataset`, `patient`, `shrink`"), "{e}");
        let e = decode::<Example>(&json!({"input": "n4", "patient": "x", "shrink": "big"})).unwrap_err();
        assert_eq!(e.path, ["shrink"], "a group's struct keeps the failing field's path");
        let e = decode::<Example>(&json!({"input": 3, "patient": "x"})).unwrap_err();
        assert_eq!(e.path, ["input"], "and so does the group's own fields");
    }
}
