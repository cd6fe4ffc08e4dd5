//! `dag run`: the pipeline, everything not cached, on the local pools or on Slurm.

use crate::cli::{ExecutorArg, ProgressArg, RunArgs};
use dag_engine::cache::{Cache, LockMode};
use dag_engine::error::Error;
use dag_engine::events::{Event, EventBus, Reporter};
use dag_engine::executor::slurm::{Slurm, SlurmOptions};
use dag_engine::executor::{Executor, Local};
use dag_engine::report::{log, progress, summary};
use dag_engine::scheduler::{GpuPool, RunOptions, Scheduler};
use dag_engine::statcache::StatCache;
use dag_engine::expand::Expansion;
use dag_engine::spec::Spec;
use dag_engine::task::Registry;

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

fn machine_memory_gb() -> f64 {
    let kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()));
    kb.map_or(f64::INFINITY, |kb| kb / 1e6)
}

pub fn run(registry: &Registry, args: RunArgs) -> Result<(), Error> {
    super::checked(&args.pipeline, registry, |spec, x, listed| run_checked(spec, x, listed, &args))
}

fn run_checked(spec: &Spec, x: Expansion<'_>, listed: super::Listed, args: &RunArgs) -> Result<(), Error> {
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
        GpuPool::Probe(Box::new(|| crate::helper::cuda_devices().map(|n| (0..n).collect()).map_err(|e| e.to_string())))
    } else {
        GpuPool::Fixed(parse_gpus(&args.gpus)?)
    };
    let executor: std::sync::Arc<dyn Executor> = if slurm {
        let exe = std::env::current_exe().map_err(|source| Error::Io { path: "dag".into(), source })?;
        if !(args.slurm_poll > 0.0 && args.slurm_poll.is_finite()) {
            return Err(Error::Usage(format!("--slurm-poll must be a positive number of seconds, not {}", args.slurm_poll)));
        }
        let poll = std::time::Duration::from_secs_f64(args.slurm_poll);
        std::sync::Arc::new(Slurm::new(SlurmOptions { exe, sbatch_args: args.sbatch.clone(), poll, max_jobs: args.slurm_jobs, array_max: args.slurm_array_max }))
    } else {
        std::sync::Arc::new(Local)
    };
    let opts = RunOptions {
        cpus,
        mem_gb: args.mem_gb.unwrap_or_else(|| if slurm { f64::INFINITY } else { machine_memory_gb() }),
        gpus,
        keep_going: args.keep_going,
        results: (!args.no_results).then(|| args.results.clone()),
        workdir: std::env::current_dir().map_err(|source| Error::Io { path: ".".into(), source })?,
        executor,
        retries: args.retries,
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
    reporters.push(Box::new(dag_engine::report::trace::TraceReporter::new(cache.root())));
    let bus = EventBus::new(reporters);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads((cpus as usize * 2).clamp(4, 512))
        .enable_all()
        .build()
        .map_err(|source| Error::Io { path: "tokio runtime".into(), source })?;
    let scheduler = Scheduler::new(spec, &mut cache, &mut stat, &opts, &bus, x).with_listed_inputs(listed);
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
        crate::stdout::out!("{}", summary::render(&s));
    }
    if s.interrupted {
        Err(Error::Interrupted)
    } else if !s.ok() {
        Err(Error::RunFailed)
    } else {
        Ok(())
    }
}
