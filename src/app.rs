//! The one place that wires the engine to the study, and carries out each command.

use crate::cli::{Cli, Command, ExecutorArg, GraphFormat, PipelineArgs, ProgressArg, RunArgs};
use crate::engine::cache::{Cache, LockMode};
use crate::engine::diagnostic::{suggest, Diagnostics};
use crate::engine::error::Error;
use crate::engine::events::{Event, EventBus, Reporter};
use crate::engine::executor::slurm::{Slurm, SlurmOptions};
use crate::engine::executor::Executor;
use crate::engine::expand::Expansion;
use crate::engine::plan::{self, Status};
use crate::engine::report::{log, progress, summary};
use crate::engine::scheduler::{GpuPool, RunOptions, Scheduler};
use crate::engine::spec::{self, Spec};
use crate::engine::statcache::StatCache;
use crate::engine::task::Registry;

/// Every task kind the `dag` binary knows: the engine's generic ones and the study's.
pub fn registry() -> Registry {
    let mut r = Registry::default();
    crate::engine::builtin::register(&mut r);
    crate::study::register(&mut r);
    r
}

pub fn run(cli: Cli) -> Result<(), Error> {
    log::init(cli.verbose, cli.log_json.as_deref()).map_err(|source| Error::Io { path: cli.log_json.clone().unwrap_or_default(), source })?;
    let registry = registry();
    match cli.command {
        Command::Run(args) => run_pipeline(&registry, args),
        Command::Plan { pipeline, json, all } => {
            let spec = load(&pipeline, &registry)?;
            let cache = Cache::open(&pipeline.cache, LockMode::ReadOnly, |_| {})?;
            let mut stat = StatCache::load(pipeline.cache.join("statcache"));
            let p = plan::plan(&spec, &registry, &cache, &mut stat)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p).expect("plan serialises"));
            } else {
                print!("{}", p.render(all));
            }
            Ok(())
        }
        Command::Why { pipeline, id } => {
            let spec = load(&pipeline, &registry)?;
            let cache = Cache::open(&pipeline.cache, LockMode::ReadOnly, |_| {})?;
            let mut stat = StatCache::load(pipeline.cache.join("statcache"));
            let p = plan::plan(&spec, &registry, &cache, &mut stat)?;
            print!("{}", why(&spec, &cache, &p, &id)?);
            Ok(())
        }
        Command::Graph { pipeline, format, instances } => {
            let spec = load(&pipeline, &registry)?;
            let x = Expansion::new(&spec)?;
            let format = match format {
                GraphFormat::Dot => crate::engine::graph::Format::Dot,
                GraphFormat::Mermaid => crate::engine::graph::Format::Mermaid,
            };
            if instances {
                print!("{}", crate::engine::graph::render_instances(&spec, format, &x.instances));
            } else {
                let counts: Vec<Option<usize>> = x.by_node.iter().map(|v| v.as_ref().map(Vec::len)).collect();
                print!("{}", crate::engine::graph::render(&spec, format, &counts));
            }
            Ok(())
        }
        Command::Check { pipeline } => {
            let spec = load(&pipeline, &registry)?;
            let x = Expansion::new(&spec)?;
            let missing = crate::engine::keys::missing_inputs(&spec, &registry, &x.instances);
            if !missing.is_empty() {
                return Err(Diagnostics(missing).into());
            }
            println!("{}: ok ({} nodes, {} instances known before running)", pipeline.file.display(), spec.nodes.len(), x.instances.len());
            Ok(())
        }
        Command::Gc { cache, keep_runs, dry_run } => {
            let mut c = Cache::open(&cache, LockMode::Wait, |owner| eprintln!("waiting for the dag run holding {}{owner}…", cache.display()))?;
            let r = c.gc(keep_runs, dry_run)?;
            println!(
                "{}{} outputs removed ({:.1} MB), {} kept (used by the last {} runs), {} action records dropped",
                if dry_run { "dry run: " } else { "" },
                r.outputs_removed,
                r.bytes_freed as f64 / 1e6,
                r.outputs_kept,
                r.runs_considered,
                r.actions_removed
            );
            Ok(())
        }
        Command::Stats(a) => {
            use crate::study::statistics::{analyse, render_text, table::Table, Config};
            let cfg = Config {
                time: a.time,
                event: a.event,
                score: a.score,
                covariates: a.covariates,
                horizons: a.horizons,
                bootstrap: a.bootstrap,
                seed: a.seed,
                breslow: matches!(a.ties, crate::cli::TiesArg::Breslow),
                by: a.by,
                fold: a.fold,
                ..Config::default()
            };
            let table = Table::read(&a.file).map_err(|e| Error::Usage(e.to_string()))?;
            let v = analyse(&table, &cfg).map_err(|e| Error::Usage(e.to_string()))?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&v).expect("json"));
            } else {
                print!("{}", render_text(&v, &table, &cfg));
            }
            Ok(())
        }
        Command::Synth { out, patients, unknown, seed, imaging_effect, size } => {
            use crate::study::data::synth::{write_dataset, SynthOptions};
            let r = write_dataset(&out, &SynthOptions { patients, seed, imaging_effect, size, unknown }).map_err(Error::Usage)?;
            println!(
                "{}: {} patients ({} with known recurrence status, {} recurrences); the true imaging term reaches C = {:.3}",
                out.display(),
                r.written,
                r.eligible,
                r.events,
                r.true_c
            );
            Ok(())
        }
        Command::Image(crate::cli::ImageCommand::N4 { input, output, bias_out, shrink, mask }) => {
            use crate::study::imaging::{n4, nifti_io};
            let err = |e: nifti_io::NiftiIoError| Error::Usage(e.to_string());
            let v = nifti_io::read(&input).map_err(err)?;
            let m = if mask == "auto" { None } else { Some(nifti_io::read(std::path::Path::new(&mask)).map_err(err)?.data) };
            let start = std::time::Instant::now();
            let field = n4::n4(&v.data, m.as_ref(), &n4::N4Options { shrink, ..Default::default() }).map_err(|e| Error::Usage(format!("{}: {e}", input.display())))?;
            let header = v.header;
            let mut corrected = v.data;
            field.correct(&mut corrected);
            let secs = start.elapsed().as_secs_f64();
            nifti_io::write_f32(&output, &corrected, &header).map_err(err)?;
            if let Some(b) = bias_out {
                nifti_io::write_f32(&b, &field.log_bias(), &header).map_err(err)?;
            }
            println!("{}: N4 in {secs:.2} s (iterations per level {:?})", output.display(), field.iterations);
            Ok(())
        }
        Command::Image(crate::cli::ImageCommand::Info { file, json }) => {
            let v = crate::study::imaging::nifti_io::read(&file).map_err(|e| Error::Usage(e.to_string()))?;
            let info = v.info_json();
            if json {
                println!("{info}");
            } else {
                println!("{}: {} {:?}, spacing {:?} mm", file.display(), info["datatype"].as_str().unwrap_or(""), v.shape(), v.spacing());
                for row in v.affine() {
                    println!("  [{:>10.4} {:>10.4} {:>10.4} {:>10.4}]", row[0], row[1], row[2], row[3]);
                }
            }
            Ok(())
        }
        Command::Model(crate::cli::ModelCommand::Logits { weights, input, json }) => {
            let mut args = vec!["logits".into(), "--weights".into(), weights.into_os_string(), "--input".into(), input.into_os_string()];
            if json {
                args.push("--json".into());
            }
            run_helper(&args)
        }
        Command::Exec { job } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|source| Error::Io { path: "tokio runtime".into(), source })?;
            // The job's own error is in its log and its result file, where `dag run` reads it.
            rt.block_on(crate::engine::executor::jobfile::exec(&job, &registry)).map_err(|e| {
                eprintln!("error: {e}");
                Error::RunFailed
            })
        }
        Command::Tasks => {
            for t in registry.iter() {
                println!("{:<16} v{:<3} {}", t.kind(), t.version(), t.description());
            }
            Ok(())
        }
    }
}

fn load(p: &PipelineArgs, registry: &Registry) -> Result<Spec, Error> {
    Ok(spec::load(&p.file, &p.set, registry)?)
}

/// `--gpus none` or a list of ordinals (`auto` is asked lazily, see `GpuPool::Probe`).
fn parse_gpus(s: &str) -> Result<Vec<usize>, Error> {
    match s {
        "none" | "" => Ok(Vec::new()),
        list => list
            .split(',')
            .map(|g| g.trim().parse::<usize>().map_err(|_| Error::Usage(format!("--gpus: `{g}` is not a GPU ordinal (use auto, none or e.g. 0,1)"))))
            .collect(),
    }
}

fn helper_path() -> Result<std::path::PathBuf, Error> {
    let exe = std::env::current_exe().map_err(|source| Error::Io { path: "dag".into(), source })?;
    Ok(exe.with_file_name("dag-torch"))
}

/// Runs `dag-torch` with the terminal's stdio; its exit code becomes ours.
fn run_helper(args: &[std::ffi::OsString]) -> Result<(), Error> {
    let helper = helper_path()?;
    let status = std::process::Command::new(&helper).args(args).status().map_err(|source| Error::Io { path: helper.clone(), source })?;
    match status.code() {
        Some(0) => Ok(()),
        code => Err(Error::Child(code.unwrap_or(1))),
    }
}

/// Asks libtorch, through the `dag-torch` helper beside this binary, how many CUDA devices
/// there are (see crates/model/src/bin/dag-torch/main.rs for why it is a separate process).
fn cuda_devices() -> Result<usize, Error> {
    let helper = helper_path()?;
    let out = std::process::Command::new(&helper)
        .arg("devices")
        .output()
        .map_err(|source| Error::Io { path: helper.clone(), source })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|_| Error::Usage(format!("{} devices answered `{}`; use --gpus none or --gpus 0,1", helper.display(), text.trim())))?;
    let n = v["cuda_devices"].as_u64().unwrap_or(0) as usize;
    tracing::info!("libtorch sees {n} CUDA device(s)");
    if n == 0 {
        let why = v["cuda_library"].as_str().unwrap_or("");
        // A machine with an NVIDIA driver but no usable CUDA libtorch is a set-up mistake
        // worth a warning; on a machine without a GPU it is the normal case.
        if std::path::Path::new("/dev/nvidiactl").exists() && v["cuda_backend"] == false {
            tracing::warn!("this machine has an NVIDIA driver, but libtorch's CUDA backend did not load ({why}); GPU nodes run on the CPU or fail. Install libtorch with its CUDA dependencies (README, Set-up).");
        } else {
            tracing::info!("no CUDA device ({why})");
        }
    }
    Ok(n)
}

fn machine_memory_gb() -> f64 {
    let kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()));
    kb.map_or(f64::INFINITY, |kb| kb / 1e6)
}

fn run_pipeline(registry: &Registry, args: RunArgs) -> Result<(), Error> {
    let spec = load(&args.pipeline, registry)?;
    let x = Expansion::new(&spec)?;
    let missing = crate::engine::keys::missing_inputs(&spec, registry, &x.instances);
    if !missing.is_empty() {
        return Err(Diagnostics(missing).into());
    }
    let slurm = args.executor == ExecutorArg::Slurm;
    // On Slurm the pools bound what is queued at once; the cluster places the jobs.
    let cpus = args.cpus.unwrap_or_else(|| if slurm { 4096 } else { std::thread::available_parallelism().map_or(1, |n| n.get() as u32) });
    let gpus = if slurm {
        // GPU tokens only count: each job asks Slurm for as many as it holds. Ordinals would
        // name this machine's GPUs, which no batch job sees: refused rather than ignored.
        match args.gpus.as_str() {
            "none" => GpuPool::Fixed(Vec::new()),
            "auto" => GpuPool::Fixed((0..256).collect()),
            other => return Err(Error::Usage(format!("--gpus {other}: with --executor slurm, Slurm chooses each job's GPUs; use --gpus auto (the default) or none"))),
        }
    } else if args.gpus == "auto" {
        // Asking libtorch costs a process start (≈0.4 s, more with CUDA): only a run that
        // has an instance needing a GPU pays for it.
        GpuPool::Probe(Box::new(|| cuda_devices().map(|n| (0..n).collect()).map_err(|e| e.to_string())))
    } else {
        GpuPool::Fixed(parse_gpus(&args.gpus)?)
    };
    let executor = if slurm {
        let exe = std::env::current_exe().map_err(|source| Error::Io { path: "dag".into(), source })?;
        if !(args.slurm_poll > 0.0 && args.slurm_poll.is_finite()) {
            return Err(Error::Usage(format!("--slurm-poll must be a positive number of seconds, not {}", args.slurm_poll)));
        }
        let poll = std::time::Duration::from_secs_f64(args.slurm_poll);
        Executor::Slurm(Box::new(Slurm::new(SlurmOptions { exe, sbatch_args: args.sbatch.clone(), poll, max_jobs: args.slurm_jobs })))
    } else {
        Executor::Local
    };
    let opts = RunOptions {
        cpus,
        mem_gb: args.mem_gb.unwrap_or_else(|| if slurm { f64::INFINITY } else { machine_memory_gb() }),
        gpus,
        keep_going: args.keep_going,
        results: (!args.no_results).then(|| args.results.clone()),
        workdir: std::env::current_dir().map_err(|source| Error::Io { path: ".".into(), source })?,
        executor: std::sync::Arc::new(executor),
    };
    let cache_dir = &args.pipeline.cache;
    let mode = if args.no_wait { LockMode::NoWait } else { LockMode::Wait };
    let mut cache = Cache::open(cache_dir, mode, |owner| eprintln!("waiting for the dag run holding {}{owner}…", cache_dir.display()))?;
    let mut stat = StatCache::load(cache_dir.join("statcache"));
    let mode = match args.progress {
        ProgressArg::Auto => progress::Mode::auto(),
        ProgressArg::Bars => progress::Mode::Bars,
        ProgressArg::Plain => progress::Mode::Plain,
        ProgressArg::Quiet => progress::Mode::Quiet,
    };
    let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(log::LogReporter)];
    reporters.extend(progress::reporter(mode));
    let bus = EventBus::new(reporters);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads((cpus as usize * 2).clamp(4, 512))
        .enable_all()
        .build()
        .map_err(|source| Error::Io { path: "tokio runtime".into(), source })?;
    let scheduler = Scheduler::new(&spec, registry, &mut cache, &mut stat, &opts, &bus, x);
    let result = rt.block_on(scheduler.run());
    let s = match result {
        Ok(s) => s,
        Err(e) => {
            bus.close();
            return Err(e.into());
        }
    };
    bus.emit(Event::RunFinished(s.clone()));
    bus.close();
    if mode != progress::Mode::Quiet || !s.ok() {
        print!("{}", summary::render(&s));
    }
    if s.interrupted {
        Err(Error::Interrupted)
    } else if !s.ok() {
        Err(Error::RunFailed)
    } else {
        Ok(())
    }
}

fn why(spec: &Spec, cache: &Cache, p: &plan::Plan, id: &str) -> Result<String, Error> {
    let Some(e) = p.nodes.iter().find(|e| e.id == id) else {
        let help = suggest(id, p.nodes.iter().map(|e| e.id.as_str())).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
        return Err(Error::Usage(format!("no instance `{id}` in {}{help}", spec.file.display())));
    };
    let node = spec.node(&e.node).expect("plan nodes exist");
    let mut out = format!("{} — node `{}` defined at {}:{}:{}\n", e.id, e.node, spec.file.display(), node.pos.line, node.pos.column);
    out.push_str(&match e.status {
        Status::Cached => "status: cached — its inputs match a stored result\n".to_owned(),
        Status::Run => format!("status: will run — {}\n", e.reason.as_deref().unwrap_or("")),
        Status::Pending => format!("status: pending — {}\n", e.reason.as_deref().unwrap_or("")),
    });
    if let (Some(key), Some(hi)) = (&e.key, &e.inputs) {
        out.push_str(&format!("key: {key}\n  task: {} v{}\n  parameters: {}\n", hi.kind, hi.version, hi.params));
        for (k, v) in &hi.uses {
            out.push_str(&format!("  uses params.{k} = {v}\n"));
        }
        for (path, d) in &hi.files {
            out.push_str(&format!("  input file {path} sha256:{}\n", short(d)));
        }
        out.push_str(&format!("  upstream outputs: {}\n", hi.upstream.len()));
        for (up, d) in hi.upstream.iter().take(10) {
            out.push_str(&format!("    {up} → {}\n", short(d)));
        }
        if hi.upstream.len() > 10 {
            out.push_str(&format!("    … and {} more\n", hi.upstream.len() - 10));
        }
    }
    if let Some((key, _, output)) = plan::last_run(cache, spec, id) {
        out.push_str(&format!("last run: key {}…, output {}\n", short(&key), output.as_deref().map_or("?", short)));
    } else {
        out.push_str("last run: none recorded in this cache\n");
    }
    if let Some(o) = &e.output {
        let files = cache.manifest(o).map(|m| m.files.iter().map(|f| format!("{} ({} B)", f.path, f.size)).collect::<Vec<_>>().join(", "));
        out.push_str(&format!("output: {} [{}]\n", cache.out_path(o).display(), files.unwrap_or_default()));
    }
    let log = cache.log_path(&e.node, id);
    if log.exists() {
        out.push_str(&format!("log: {}\n", log.display()));
    }
    Ok(out)
}

/// A digest's first 16 characters for people, whole where a damaged record holds fewer (or
/// a character that a byte slice would split).
fn short(digest: &str) -> &str {
    digest.char_indices().nth(16).map_or(digest, |(i, _)| &digest[..i])
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_digests_never_overrun_or_split_a_character() {
        assert_eq!(super::short("abc"), "abc");
        assert_eq!(super::short(&"a".repeat(64)), "a".repeat(16));
        assert_eq!(super::short(&"é".repeat(20)), "é".repeat(16));
    }
}
