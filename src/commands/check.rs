//! `dag check`: the pipeline as `run` would refuse it, without running anything.

use crate::cli::PipelineArgs;
use dag_engine::error::Error;
use dag_engine::task::Registry;

pub fn check(registry: &Registry, pipeline: &PipelineArgs) -> Result<(), Error> {
    super::checked(pipeline, registry, |spec, x, _| {
        crate::stdout::outln!("{}: ok ({} nodes, {} instances known before running)", pipeline.file.display(), spec.nodes.len(), x.instances.len());
        Ok(())
    })
}
