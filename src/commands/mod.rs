//! One file per command; `run` dispatches. Commands that read a pipeline share `load` and
//! `checked`, so `check` and `run` refuse the same pipelines for the same reasons.

mod check;
mod exec;
mod gc;
mod graph;
mod image;
mod model;
mod plan;
mod radiomics;
mod run;
mod stats;
mod synth;
mod tasks;
mod trace;
mod why;

use crate::cli::{Cli, Command, PipelineArgs};
use dag_engine::diagnostic::Diagnostics;
use dag_engine::error::Error;
use dag_engine::expand::Expansion;
use dag_engine::report::log;
use dag_engine::spec::{self, Spec};
use dag_engine::task::Registry;

pub fn run(cli: Cli) -> Result<(), Error> {
    log::init(cli.verbose, cli.log_json.as_deref()).map_err(|source| Error::Io { path: cli.log_json.clone().unwrap_or_default(), source })?;
    let registry = crate::wiring::registry();
    match cli.command {
        Command::Run(args) => run::run(&registry, args),
        Command::Plan { pipeline, json, all } => plan::plan(&registry, &pipeline, json, all),
        Command::Why { pipeline, id } => why::why(&registry, &pipeline, &id),
        Command::Graph { pipeline, format, instances } => graph::graph(&registry, &pipeline, format, instances),
        Command::Check { pipeline } => check::check(&registry, &pipeline),
        Command::Gc { cache, keep_runs, dry_run } => gc::gc(&cache, keep_runs, dry_run),
        Command::Stats(a) => stats::stats(*a),
        Command::Synth { out, options } => synth::synth(&out, &options),
        Command::Image(c) => image::image(c),
        Command::Radiomics { image, mask, batch, bin_width, label, json } => {
            let settings = dag_study::radiomics::Settings { bin_width, label };
            match (batch, image, mask) {
                (Some(csv), _, _) => radiomics::batch(&csv, &settings),
                (None, Some(image), Some(mask)) => radiomics::radiomics(&image, &mask, &settings, json),
                _ => Err(Error::Usage("give --image and --mask, or --batch".into())),
            }
        }
        Command::Model(c) => model::model(c),
        Command::Exec { job } => exec::exec(&registry, &job),
        Command::Tasks => tasks::tasks(&registry),
        Command::Runs { cache, json } => trace::runs(&cache, json),
        Command::Trace { cache, run, json, csv } => trace::trace(&cache, run, json, csv),
        Command::Report { cache, run, output } => trace::report(&cache, run, &output),
    }
}

fn load(p: &PipelineArgs, registry: &Registry) -> Result<Spec, Error> {
    Ok(spec::load(&p.file, &p.set, registry)?)
}

/// The pipeline loaded, expanded as far as is known before running, and every instance's
/// parameters and input files checked: what `check` reports and `run` starts from. (The
/// expansion borrows the spec, so the caller's work runs inside.)
fn checked<T>(p: &PipelineArgs, registry: &Registry, then: impl FnOnce(&Spec, Expansion<'_>, Listed) -> Result<T, Error>) -> Result<T, Error> {
    let spec = load(p, registry)?;
    let (x, listed) = expanded(&spec)?;
    then(&spec, x, listed)
}

/// A loaded pipeline expanded as far as is known before running, every known instance's
/// input files listed; a missing one is refused, with every other.
fn expanded(spec: &Spec) -> Result<(Expansion<'_>, Listed), Error> {
    let x = Expansion::new(spec)?;
    let (listed, missing) = dag_engine::keys::list_inputs(spec, &x.instances);
    if !missing.is_empty() {
        return Err(Diagnostics(missing).into());
    }
    Ok((x, listed))
}

/// Each known instance's input files, as the check listed them.
type Listed = Vec<Result<Vec<std::path::PathBuf>, dag_engine::keys::KeyError>>;

/// A command-line form of a task's parameters, refused by the task's own `validate`: the CLI
/// and the pipeline accept the same values. (Errors name the parameter as a pipeline writes
/// it; its flag is the same name with dashes.)
fn validated<T: dag_engine::task::Task>(params: &T::Params) -> Result<(), Error> {
    let errors: Vec<String> = T::validate(params).iter().map(ToString::to_string).collect();
    if errors.is_empty() { Ok(()) } else { Err(Error::Usage(errors.join("; "))) }
}
