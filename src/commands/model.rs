//! `dag model`: the network's commands, carried out by the libtorch helper.

use crate::cli::ModelCommand;
use dag_engine::error::Error;

pub fn model(c: ModelCommand) -> Result<(), Error> {
    match c {
        ModelCommand::Logits { weights, input, json } => {
            let mut args = vec!["logits".into(), "--weights".into(), weights.into_os_string(), "--input".into(), input.into_os_string()];
            if json {
                args.push("--json".into());
            }
            crate::helper::run(&args)
        }
    }
}
