//! `dag graph`: the pipeline's nodes (or its known instances) as Graphviz or Mermaid.

use crate::cli::{GraphFormat, PipelineArgs};
use dag_engine::error::Error;
use dag_engine::expand::Expansion;
use dag_engine::graph::{self, Format};
use dag_engine::task::Registry;

pub fn graph(registry: &Registry, pipeline: &PipelineArgs, format: GraphFormat, instances: bool) -> Result<(), Error> {
    let spec = super::load(pipeline, registry)?;
    let x = Expansion::new(&spec)?;
    let format = match format {
        GraphFormat::Dot => Format::Dot,
        GraphFormat::Mermaid => Format::Mermaid,
    };
    if instances {
        crate::stdout::out!("{}", graph::render_instances(&spec, format, &x.instances));
    } else {
        let counts: Vec<Option<usize>> = x.by_node.iter().map(|v| v.as_ref().map(Vec::len)).collect();
        crate::stdout::out!("{}", graph::render(&spec, format, &counts));
    }
    Ok(())
}
