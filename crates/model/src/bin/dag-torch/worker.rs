//! `dag-torch worker`: serves `dag`'s requests (dag-study's training/protocol.rs), one JSON line
//! each, until stdin closes. It keeps the last network built for feature extraction, so a run
//! over hundreds of patients builds (or loads) DenseNet121 once.

use dag_model::backbone::{self, Net};
use dag_model::train;
use dag_study::training::protocol::{Backbone, Job, Reply, Request};
use std::io::{BufRead, Write};

fn emit(reply: &Reply) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", serde_json::to_string(reply).expect("replies serialise"));
    let _ = out.flush();
}

#[derive(Default)]
struct State {
    /// The network of the last features job, with the device it lives on.
    features_net: Option<(Backbone, String, Net)>,
}

fn handle(state: &mut State, req: Request) -> Result<serde_json::Value, String> {
    tch::set_num_threads(req.cpus.max(1) as i32);
    let device = backbone::device(&req.device)?;
    let mut log = |m: String| emit(&Reply::Log(m));
    match req.job {
        Job::Features(job) => {
            let fresh = !matches!(&state.features_net, Some((b, d, _)) if *b == job.backbone && *d == req.device);
            if fresh {
                state.features_net = None;
                let net = backbone::build(&job.backbone, device, &mut log)?;
                state.features_net = Some((job.backbone.clone(), req.device.clone(), net));
            }
            let (_, _, net) = state.features_net.as_ref().expect("just built");
            backbone::features(net, &job)
        }
        Job::Train(job) => train::train(&job, device, &mut log),
    }
}

pub fn serve() -> i32 {
    let mut state = State::default();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let result = match serde_json::from_str::<Request>(&line) {
            // libtorch reports some errors by panicking; the request fails, the worker lives on.
            Ok(req) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(&mut state, req)))
                .unwrap_or_else(|p| Err(format!("libtorch: {}", p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()))),
            Err(e) => Err(format!("malformed request from dag: {e}")),
        };
        emit(&match result {
            Ok(v) => Reply::Done(v),
            Err(m) => Reply::Failed(m),
        });
    }
    0
}
