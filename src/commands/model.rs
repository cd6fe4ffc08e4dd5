//! `dag model`: the network's commands, carried out by the libtorch helper.

use crate::cli::ModelCommand;
use dag_engine::error::Error;

pub fn model(c: ModelCommand) -> Result<(), Error> {
    match c {
        ModelCommand::Logits(a) => crate::helper::run(&a.forwarded()),
    }
}
