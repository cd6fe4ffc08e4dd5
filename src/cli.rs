//! The command line (clap). Parsing only; `commands` does the work.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "dag", version, about = "Run YAML-described pipelines, incrementally and reproducibly")]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Also write every log record as JSON lines to FILE.
    #[arg(long, value_name = "FILE", global = true)]
    pub log_json: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct PipelineArgs {
    /// The pipeline file (YAML).
    pub file: PathBuf,
    /// Override a parameter: --set alpha=0.1 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
    /// The cache folder.
    #[arg(long, value_name = "DIR", default_value = "cache", env = "DAG_CACHE")]
    pub cache: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a pipeline: everything not cached, as concurrently as the pools allow.
    Run(RunArgs),
    /// Show what `run` would do for each instance, and why.
    Plan {
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// List every instance, cached ones too.
        #[arg(long)]
        all: bool,
    },
    /// Tell the story of one instance: its key, its inputs, why it runs or is cached.
    Why {
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// The instance, e.g. `pre[17]`.
        id: String,
    },
    /// Draw the node-level graph.
    Graph {
        #[command(flatten)]
        pipeline: PipelineArgs,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
        /// Draw every instance known before running, instead of one box per node.
        #[arg(long)]
        instances: bool,
    },
    /// Check a pipeline file and report every problem in it.
    Check {
        #[command(flatten)]
        pipeline: PipelineArgs,
    },
    /// Delete cached outputs that none of the most recent runs used.
    Gc {
        #[arg(long, value_name = "DIR", default_value = "cache", env = "DAG_CACHE")]
        cache: PathBuf,
        /// How many recent runs to keep the outputs of.
        #[arg(long, default_value_t = 5)]
        keep_runs: usize,
        /// Report what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The runs kept in the cache: when, how long, what ran, what failed.
    Runs {
        #[arg(long, value_name = "DIR", default_value = "cache", env = "DAG_CACHE")]
        cache: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// One row per attempt of a run (by default the last): status, wall and CPU time, peak
    /// memory, where it ran.
    Trace {
        #[arg(long, value_name = "DIR", default_value = "cache", env = "DAG_CACHE")]
        cache: PathBuf,
        /// The run's number in `dag runs` (default: the last).
        #[arg(long)]
        run: Option<usize>,
        /// Print JSON lines instead of text.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV instead of text.
        #[arg(long)]
        csv: bool,
    },
    /// One self-contained HTML page for a run: a timeline of its attempts, per node what ran
    /// and what it used (with suggested `mem_gb` and `timeout`), the slowest instances.
    Report {
        #[arg(long, value_name = "DIR", default_value = "cache", env = "DAG_CACHE")]
        cache: PathBuf,
        /// The run's number in `dag runs` (default: the last).
        #[arg(long)]
        run: Option<usize>,
        /// Where the page goes.
        #[arg(short, long, default_value = "run.html")]
        output: PathBuf,
    },
    /// List the built-in task kinds.
    Tasks,
    /// Write a synthetic cohort in the MAMA-MIA layout (images, masks, clinical xlsx, truth).
    Synth {
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        options: dag_study::data::synth::SynthOptions,
    },
    /// Medical images (NIfTI).
    #[command(subcommand)]
    Image(ImageCommand),
    /// The study's network (runs the libtorch helper `dag-torch`).
    #[command(subcommand)]
    Model(ModelCommand),
    /// Run one job written by `dag run --executor slurm` (what each batch job does).
    #[command(hide = true)]
    Exec {
        /// The job file (`job.json` in the job's staging folder).
        job: PathBuf,
    },
    /// Survival statistics of a cohort table: Cox baseline vs baseline + score, C-indices,
    /// time-dependent AUC, and the Kang test.
    Stats(Box<StatsArgs>),
    /// PyRadiomics' 107 default features (shape, first order, GLCM, GLRLM, GLSZM, GLDM,
    /// NGTDM) of a volume within a mask.
    Radiomics {
        #[arg(long, required_unless_present = "batch")]
        image: Option<PathBuf>,
        #[arg(long, required_unless_present = "batch")]
        mask: Option<PathBuf>,
        /// A CSV of many pairs, as PyRadiomics' batch mode takes it (columns `Image` and
        /// `Mask`, paths relative to the CSV's folder): one JSON line of features per row.
        #[arg(long, conflicts_with_all = ["image", "mask"])]
        batch: Option<PathBuf>,
        /// The width of the grey-level bins (PyRadiomics' binWidth).
        #[arg(long, default_value_t = 25.0)]
        bin_width: f64,
        /// The mask's label for the ROI.
        #[arg(long, default_value_t = 1)]
        label: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// N4 bias-field correction: writes the corrected volume (float32) and, with
    /// --bias-out, the log bias field at full resolution.
    N4 {
        input: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long)]
        bias_out: Option<PathBuf>,
        #[arg(long, default_value_t = 4)]
        shrink: usize,
        /// `auto` (Otsu) or a mask file.
        #[arg(long, default_value = "auto")]
        mask: String,
    },
    /// Shape, voxel spacing, datatype and voxel-to-world affine (as nibabel's `img.affine`).
    Info {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Logits of a torchvision-format DenseNet121 (eval mode, 1000 classes) on a float32
    /// array of shape (1,3,H,W) stored as .npy — to check a converted checkpoint.
    Logits(dag_study::training::protocol::LogitsArgs),
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// The cohort table (CSV with a header).
    pub file: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// What to analyse: the `survival_stats` task's own parameters.
    #[command(flatten)]
    pub config: dag_study::statistics::Config,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// CPU slots (default: all cores).
    #[arg(long)]
    pub cpus: Option<u32>,
    /// GPUs to use: `auto` (ask libtorch), `none`, or ordinals such as `0,1`.
    #[arg(long, default_value = "auto")]
    pub gpus: String,
    /// Memory pool in GB (default: the machine's memory).
    #[arg(long)]
    pub mem_gb: Option<f64>,
    /// After a failure, finish every branch that does not depend on it.
    #[arg(long, short = 'k')]
    pub keep_going: bool,
    /// Attempts after a failed one, for every node that does not set `retries:` itself.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// Refuse at once, instead of waiting, when another run holds the cache.
    #[arg(long)]
    pub no_wait: bool,
    /// Where the readable tree of results goes.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Do not maintain the results tree.
    #[arg(long)]
    pub no_results: bool,
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressArg,
    /// Where jobs run: `local` (this machine's pools), or `slurm`: one batch job, or job
    /// array task, per instance (sbatch runs `dag exec` on it; the cache and this dag binary must be on a filesystem the
    /// nodes share). With slurm, --cpus and --mem-gb bound what is queued at once and GPUs are
    /// Slurm's to allocate (`--gpus none` for a cluster without).
    #[arg(long, value_enum, default_value = "local")]
    pub executor: ExecutorArg,
    /// An argument for every sbatch, e.g. --sbatch=--partition=gpu --sbatch=--time=1:00:00.
    #[arg(long = "sbatch", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch: Vec<String>,
    /// Seconds between `squeue` checks of a running Slurm job.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub slurm_poll: f64,
    /// Slurm jobs queued or running at once, at most (each task of an array counts).
    #[arg(long, default_value_t = 200)]
    pub slurm_jobs: usize,
    /// Instances of one node with the same resources that are ready together go to Slurm as
    /// one job array of at most this many tasks; 1 submits each on its own.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub slurm_array_max: usize,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutorArg {
    Local,
    Slurm,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ProgressArg {
    Auto,
    Bars,
    Plain,
    Quiet,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.trim().to_owned(), v.to_owned())).ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))
}
