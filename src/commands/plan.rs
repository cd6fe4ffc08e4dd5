//! `dag plan`: what `run` would do for each instance, and why.

use crate::cli::PipelineArgs;
use dag_engine::cache::{Cache, LockMode};
use dag_engine::error::Error;
use dag_engine::plan;
use dag_engine::spec::Spec;
use dag_engine::statcache::StatCache;
use dag_engine::task::Registry;

pub fn plan(registry: &Registry, pipeline: &PipelineArgs, json: bool, all: bool) -> Result<(), Error> {
    let (_, _, p) = planned(registry, pipeline)?;
    if json {
        crate::stdout::outln!("{}", serde_json::to_string_pretty(&p).expect("plan serialises"));
    } else {
        crate::stdout::out!("{}", p.render(all));
    }
    Ok(())
}

/// The pipeline and its plan against the cache, opened read-only (a running `dag run` may
/// hold it): shared with `why`.
pub fn planned(registry: &Registry, pipeline: &PipelineArgs) -> Result<(Spec, Cache, plan::Plan), Error> {
    let spec = super::load(pipeline, registry)?;
    let mut cache = Cache::open(&pipeline.cache, LockMode::ReadOnly, |_| {})?;
    let mut stat = StatCache::load(pipeline.cache.join("statcache"));
    // The same check as `run`'s: a plan refuses what a run refuses.
    let (x, listed) = super::expanded(&spec)?;
    let p = plan::plan(&spec, &mut cache, &mut stat, x, listed);
    Ok((spec, cache, p))
}
