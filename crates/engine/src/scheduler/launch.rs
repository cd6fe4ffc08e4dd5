//! Launching one instance: its staging folder, its needs' outputs, the job for the executor
//! (with the attempt's pause before a retry), and the task that runs and stores it.

use super::store::{run_and_store, Outcome, StoreTo};
use super::{Grant, Scheduler, St};
use crate::events::Event;
use crate::executor::{Cancel, Job, Work};
use crate::expand::shell_command;
use crate::spec::Action;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

impl Scheduler<'_> {
    pub(super) fn launch(&mut self, i: usize, grant: Grant, tx: &tokio::sync::mpsc::UnboundedSender<(usize, Grant, Outcome)>, cancel: &Cancel) {
        let inst = &self.x.instances[i];
        let node = &self.spec.nodes[inst.node];
        let p = self.prepared[i].as_ref().expect("prepared before launch");
        let staging = match self.cache.staging() {
            Ok(s) => s,
            Err(e) => return self.fail(i, e.to_string(), None),
        };
        let mut dirs: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        let mut files: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        let mut missing = Vec::new();
        for (need, deps) in node.needs.iter().zip(&inst.deps) {
            for &d in deps {
                let Some(output) = self.slots[d].output.as_deref() else {
                    missing.push(self.ids[d].to_string());
                    continue;
                };
                let dir = self.out_root.join(output);
                if let Some(m) = &self.slots[d].manifest {
                    files.entry(need.clone()).or_default().extend(m.files.iter().map(|f| dir.join(&f.path)));
                }
                dirs.entry(need.clone()).or_default().push(dir);
            }
        }
        if !missing.is_empty() {
            let shown = if missing.len() > 5 { format!("{}, … ({} in all)", missing[..5].join(", "), missing.len()) } else { missing.join(", ") };
            self.bus.emit(Event::Warning { message: format!("{} runs without {shown}, which did not succeed (`partial`)", self.ids[i]) });
        }
        let work = match &node.action {
            Action::Shell(t) => Work::Shell { command: shell_command(self.spec, inst, t, &staging.join("out"), &files) },
            Action::Task { task, .. } => Work::Task { task: task.0.clone(), params: p.inputs.params.clone() },
        };
        let explain = serde_json::json!({ "instance": &*self.ids[i], "key": p.key, "inputs": p.inputs });
        let job = Job {
            id: self.ids[i].clone(),
            value: inst.value.clone(),
            work,
            staging,
            log: self.cache.log_path(&node.name, &inst.id),
            workdir: self.opts.workdir.clone(),
            inputs: dirs,
            device: grant.device,
            cpu_fallback: node.resources.cpu_fallback,
            visible_devices: Some(grant.gpus.iter().map(usize::to_string).collect::<Vec<_>>().join(",")),
            cpus: grant.cpus,
            mem_gb: grant.mem_gb,
            gpus: grant.gpus.len(),
            timeout: node.timeout,
            usage: Default::default(),
        };
        self.slots[i].attempts += 1;
        // A retry starts after a short pause, longer each time (1 s, 2 s, 4 s, … up to 30 s):
        // what failed for a moment (a file system, a node) gets the moment to recover.
        let pause = match self.slots[i].attempts {
            1 => Duration::ZERO,
            n => Duration::from_secs(1 << (n - 2).min(5)).min(Duration::from_secs(30)),
        };
        let to = StoreTo { root: self.cache.root().to_owned(), manifests: self.cache.manifest_index(), explain: (self.cache.explain_path(&self.spec.name, &inst.id), explain) };
        self.slots[i].st = St::Running;
        self.bus.emit(Event::Started { id: self.ids[i].clone(), node: self.node_names[inst.node].clone(), device: self.opts.executor.place(grant.device) });
        let (tx, cancel, executor) = (tx.clone(), cancel.clone(), self.opts.executor.clone());
        tokio::spawn(async move {
            if !pause.is_zero() {
                let mut c = cancel.clone();
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = c.requested() => {}
                }
            }
            let outcome = run_and_store(&*executor, job, to, cancel).await;
            let _ = tx.send((i, grant, outcome));
        });
    }
}
