//! A pool of `dag-torch worker` processes. Starting libtorch costs about half a second, more
//! than the prefix takes for one patient, so workers outlive a task: a task borrows an idle
//! worker (or starts one), sends one request, relays its progress lines into the task's log,
//! and returns the worker to the pool. A worker exits when `dag` does (its stdin closes).

use super::protocol::{Reply, Request};
use dag_engine::task::{TaskCtx, TaskError};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

enum Line {
    Out(String),
    Err(String),
    Closed,
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Line>,
}

static IDLE: Mutex<Vec<Worker>> = Mutex::new(Vec::new());

/// `$DAG_TORCH`, else `dag-torch` beside the running binary.
pub fn helper() -> Result<PathBuf, TaskError> {
    if let Some(p) = std::env::var_os("DAG_TORCH") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| TaskError::msg(format!("cannot locate the running binary: {e}")))?;
    Ok(exe.with_file_name("dag-torch"))
}

/// Why `dag-torch devices` gave no answer.
#[derive(Clone, Debug, thiserror::Error)]
pub enum DevicesError {
    /// The helper could not be found or started (the file system's failure).
    #[error("{0}")]
    Start(String),
    /// It ran, and did not answer with JSON.
    #[error("{0}")]
    Answer(String),
}

/// What `dag-torch devices` says of this machine (JSON: `cuda_devices`, why there are none,
/// …), asked once per process: the run's GPU pool and a task that may fall back to the CPU
/// share one helper start (about half a second).
pub fn devices() -> Result<&'static serde_json::Value, DevicesError> {
    static ANSWER: std::sync::OnceLock<Result<serde_json::Value, DevicesError>> = std::sync::OnceLock::new();
    ANSWER
        .get_or_init(|| {
            let exe = helper().map_err(|e| DevicesError::Start(e.to_string()))?;
            let out = Command::new(&exe).arg("devices").output().map_err(|e| DevicesError::Start(format!("{}: {e}", exe.display())))?;
            let text = String::from_utf8_lossy(&out.stdout);
            serde_json::from_str(text.trim()).map_err(|_| DevicesError::Answer(format!("{} devices answered `{}`", exe.display(), text.trim())))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Whether this machine's libtorch can use a CUDA device.
pub fn cuda_usable() -> bool {
    devices().is_ok_and(|v| v["cuda_devices"].as_u64().is_some_and(|n| n > 0))
}

fn start() -> Result<Worker, TaskError> {
    let exe = helper()?;
    let mut child = Command::new(&exe)
        .arg("worker")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| TaskError::msg(format!("{}: cannot start the libtorch worker: {e} (build it with `cargo build --bins`, or set DAG_TORCH)", exe.display())))?;
    let (tx, lines) = channel();
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    let tx2 = tx.clone();
    // Reader threads, so that a task waiting for an answer can still notice Ctrl-C.
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(Line::Out(line)).is_err() {
                return;
            }
        }
        let _ = tx.send(Line::Closed);
    });
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx2.send(Line::Err(line)).is_err() {
                return;
            }
        }
    });
    let stdin = child.stdin.take().expect("piped");
    Ok(Worker { child, stdin, lines })
}

/// Runs one request on a worker; returns the worker's `done` value.
pub fn call(request: &Request, ctx: &mut TaskCtx<'_>) -> Result<serde_json::Value, TaskError> {
    let idle = IDLE.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut w = match idle {
        Some(w) => w,
        None => start()?,
    };
    let line = serde_json::to_string(request).expect("requests serialise");
    // The worker serves this request alone, so what it uses from the request on is this
    // task's: measured from before it is sent.
    let mut probe = dag_engine::task::HelperProbe::start(w.child.id());
    if writeln!(w.stdin, "{line}").and_then(|()| w.stdin.flush()).is_err() {
        // An idle worker that died (e.g. killed from outside): start afresh once.
        let _ = w.child.kill();
        let _ = w.child.wait();
        w = start()?;
        probe = dag_engine::task::HelperProbe::start(w.child.id());
        writeln!(w.stdin, "{line}").and_then(|()| w.stdin.flush()).map_err(|e| TaskError::msg(format!("cannot talk to the libtorch worker: {e}")))?;
    }
    let measured = |probe: dag_engine::task::HelperProbe, ctx: &TaskCtx<'_>| {
        if let Some((cpu, peak)) = probe.finish() {
            ctx.helpers.add(cpu, peak);
        }
    };
    loop {
        match w.lines.recv_timeout(Duration::from_millis(100)) {
            Ok(Line::Out(text)) => match serde_json::from_str::<Reply>(&text) {
                Ok(Reply::Log(m)) => {
                    let _ = writeln!(ctx.log, "{m}");
                }
                Ok(Reply::Done(v)) => {
                    measured(probe, ctx);
                    IDLE.lock().unwrap_or_else(|e| e.into_inner()).push(w);
                    return Ok(v);
                }
                Ok(Reply::Failed(m)) => {
                    measured(probe, ctx);
                    IDLE.lock().unwrap_or_else(|e| e.into_inner()).push(w);
                    return Err(TaskError::Failed(m));
                }
                Err(_) => {
                    let _ = writeln!(ctx.log, "{text}");
                }
            },
            Ok(Line::Err(text)) => {
                let _ = writeln!(ctx.log, "dag-torch: {text}");
            }
            Ok(Line::Closed) | Err(RecvTimeoutError::Disconnected) => {
                let status = w.child.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                return Err(TaskError::msg(format!("the libtorch worker died ({status}); see the node's log")));
            }
            Err(RecvTimeoutError::Timeout) => {
                if ctx.check_cancelled().is_err() {
                    let _ = w.child.kill();
                    let _ = w.child.wait();
                    return Err(TaskError::Cancelled);
                }
            }
        }
    }
}
