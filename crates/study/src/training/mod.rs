//! Training the study's network, as the `dag` side sees it: the folds, the task parameters,
//! and the tasks that hand the tensor work to a `dag-torch` worker process (the `dag` binary
//! never loads libtorch; see crates/model/src/bin/dag-torch/main.rs). The network itself is
//! the dag-model crate, which only dag-torch uses.

pub mod folds;
pub mod protocol;
pub mod tasks;
pub mod train;
pub mod worker;
