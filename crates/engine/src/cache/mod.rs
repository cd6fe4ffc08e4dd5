//! The content-addressed store under `cache/`.
//!
//! ```text
//! cache/
//!   LOCK               held by the one run that may write (std file lock)
//!   out/<digest>/      an instance's output folder, immutable; digest = sha256 of its manifest
//!   manifests.log      each output's manifest (files, sizes, digests), appended once the
//!                      folder is in place: a folder without its line is never trusted
//!   verified.log       the file stamps each output was last hashed under (sealed.rs)
//!   actions.log        journal of action records: key → output digest (append-only)
//!   explain/           each instance's last hash inputs, to say why it reruns
//!   logs/<node>/       each instance's last log
//!   runs/              the keys each run used (what `dag gc` keeps)
//!   tmp/               staging folders; anything here is garbage after a crash
//! ```

mod gc;
mod journal;
mod sealed;
mod store;

pub use gc::{history_stems, GcReport, HISTORY};
pub use journal::ActionRecord;
pub use store::{Manifest, ManifestEntry, ManifestIndex};

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cache {0} is in use by another dag run{1}; wait for it, or run without --no-wait to queue behind it")]
    Locked(PathBuf, String),
    #[error("output {digest} in the cache is corrupt: {detail}")]
    Corrupt { digest: String, detail: String },
}

/// The complete lines of an append-only log: a last line without its newline was torn by a
/// crash and is left out.
pub(crate) fn complete_lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let complete = text.iter().rposition(|&b| b == b'\n').map_or(&[][..], |end| &text[..end]);
    complete.split(|&b| b == b'\n')
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io { path: path.to_owned(), source }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// Wait for a run that holds the lock.
    Wait,
    /// Refuse at once.
    NoWait,
    /// Read only (plan, why): take no lock.
    ReadOnly,
}

pub struct Cache {
    root: PathBuf,
    actions: HashMap<String, ActionRecord>,
    manifests: ManifestIndex,
    journal: Option<journal::Journal>,
    sealed: sealed::Sealed,
    /// Full re-hashes this process did in `verify` (for tests: the stamps spare the rest).
    rehashed: std::sync::atomic::AtomicUsize,
    _lock: Option<File>,
}

impl Cache {
    /// Opens (creating) the cache. `on_wait` is called once if another run holds the lock.
    pub fn open(root: &Path, mode: LockMode, on_wait: impl FnOnce(&str)) -> Result<Cache, CacheError> {
        let lock = if mode == LockMode::ReadOnly {
            None
        } else {
            for sub in ["out", "explain", "logs", "runs", "tmp"] {
                std::fs::create_dir_all(root.join(sub)).map_err(io_err(root))?;
            }
            Some(take_lock(root, mode, on_wait)?)
        };
        let (actions, journal) = if mode == LockMode::ReadOnly {
            (journal::read(&root.join("actions.log")).map_err(io_err(root))?, None)
        } else {
            let (a, j) = journal::Journal::open(&root.join("actions.log")).map_err(io_err(root))?;
            (a, Some(j))
        };
        let manifests = store::read_index(&root.join("manifests.log")).map_err(io_err(root))?;
        if lock.is_some() {
            // Staging folders left by a crashed run are garbage; nothing points at them.
            if let Ok(entries) = std::fs::read_dir(root.join("tmp")) {
                for e in entries.flatten() {
                    store::remove_tree(&e.path());
                }
            }
        }
        let sealed = sealed::Sealed::new(root);
        Ok(Cache { root: root.to_owned(), actions, manifests: std::sync::Arc::new(std::sync::Mutex::new(manifests)), journal, sealed, rehashed: Default::default(), _lock: lock })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn lookup(&self, key: &str) -> Option<&ActionRecord> {
        self.actions.get(key)
    }

    /// Appends an action record (the output must already be stored).
    pub fn record(&mut self, rec: ActionRecord) -> Result<(), CacheError> {
        let path = self.root.join("actions.log");
        if let Some(j) = &mut self.journal {
            j.append(&rec).map_err(io_err(&path))?;
        }
        self.actions.insert(rec.key.clone(), rec);
        Ok(())
    }

    /// Makes the journal durable (batched: the outputs themselves are fsynced when stored).
    pub fn sync(&mut self) -> Result<(), CacheError> {
        let path = self.root.join("actions.log");
        match &mut self.journal {
            Some(j) => j.sync().map_err(io_err(&path)),
            None => Ok(()),
        }
    }

    /// Forgets every action that produced `digest` and deletes the entry.
    pub fn evict(&mut self, digest: &str) {
        self.actions.retain(|_, r| r.output != digest);
        self.index().remove(digest);
        let _ = store::append_line(&self.root.join("manifests.log"), &store::manifest_line(digest, None), false);
        store::remove_tree(&self.out_path(digest));
    }

    fn index(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Manifest>>> {
        self.manifests.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The shared manifest index, for the workers that store outputs.
    pub fn manifest_index(&self) -> ManifestIndex {
        self.manifests.clone()
    }

    pub fn out_path(&self, digest: &str) -> PathBuf {
        self.root.join("out").join(digest)
    }

    pub fn manifest(&self, digest: &str) -> Result<Arc<Manifest>, CacheError> {
        self.index().get(digest).cloned().ok_or_else(|| CacheError::Corrupt { digest: digest.to_owned(), detail: "no manifest for it in manifests.log".into() })
    }

    /// A cheap check for a cache hit: the manifest exists and every file has the size and
    /// modification time it was stored with.
    pub fn quick_check(&self, digest: &str) -> Result<Arc<Manifest>, CacheError> {
        let m = self.manifest(digest)?;
        store::check_stamps(&self.out_path(digest), &m, digest)?;
        Ok(m)
    }

    /// `quick_check` of many entries, in order, on up to `threads` threads: a no-op run of a
    /// wide pipeline checks thousands of outputs at once, one `stat` per file each.
    pub fn quick_check_many(&self, digests: &[&str], threads: usize) -> Vec<Result<Arc<Manifest>, CacheError>> {
        // Below this a thread costs more than it saves.
        const PER_THREAD: usize = 256;
        let threads = threads.min(digests.len() / PER_THREAD).max(1);
        if threads == 1 {
            return digests.iter().map(|d| self.quick_check(d)).collect();
        }
        let chunk = digests.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let parts: Vec<_> = digests.chunks(chunk).map(|part| scope.spawn(move || part.iter().map(|d| self.quick_check(d)).collect::<Vec<_>>())).collect();
            parts.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        })
    }

    /// Makes sure an entry still holds the bytes it was stored with: re-hashes its files
    /// against its manifest, unless their stamps (ctime included) are those of the last time
    /// they were hashed (see sealed.rs).
    pub fn verify(&self, digest: &str) -> Result<Arc<Manifest>, CacheError> {
        let m = self.manifest(digest)?;
        let dir = self.out_path(digest);
        let fingerprint = sealed::fingerprint(&dir, &m).ok();
        if fingerprint.as_deref().is_some_and(|f| self.sealed.holds(digest, f)) {
            return Ok(m);
        }
        self.rehashed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        store::verify_contents(&dir, &m, digest)?;
        if let Some(f) = fingerprint {
            self.sealed.note(&self.root, digest, &f);
        }
        Ok(m)
    }

    /// How many entries `verify` re-hashed in full in this process.
    pub fn rehashed(&self) -> usize {
        self.rehashed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A fresh staging folder for one instance's run.
    pub fn staging(&self) -> Result<PathBuf, CacheError> {
        store::staging(&self.root.join("tmp")).map_err(io_err(&self.root))
    }

    pub fn log_path(&self, node: &str, instance: &str) -> PathBuf {
        self.root.join("logs").join(node).join(format!("{}.log", crate::results::safe_name(instance)))
    }

    pub fn explain_path(&self, pipeline: &str, instance: &str) -> PathBuf {
        let h = crate::hash::sha256_hex(format!("{pipeline}\0{instance}").as_bytes());
        self.root.join("explain").join(&h[..32])
    }

    pub fn gc(&mut self, keep_runs: usize, dry_run: bool) -> Result<GcReport, CacheError> {
        gc::collect(self, keep_runs, dry_run)
    }

    /// Remembers which keys a run used; `dag gc` keeps the outputs of recent runs.
    pub fn note_run(&self, keys: &[&str]) -> Result<(), CacheError> {
        gc::note_run(&self.root, keys)
    }
}

/// Stores a staged output folder; callable from worker threads without the `Cache`.
pub fn store_output(cache_root: &Path, staged: &Path, index: &ManifestIndex) -> Result<(String, Arc<Manifest>), CacheError> {
    store::store(cache_root, staged, index)
}

fn take_lock(root: &Path, mode: LockMode, on_wait: impl FnOnce(&str)) -> Result<File, CacheError> {
    let path = root.join("LOCK");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let owner = std::fs::read_to_string(root.join("LOCK.owner")).unwrap_or_default();
            let owner = if owner.trim().is_empty() { String::new() } else { format!(" ({})", owner.trim()) };
            if mode == LockMode::NoWait {
                return Err(CacheError::Locked(root.to_owned(), owner));
            }
            on_wait(&owner);
            file.lock().map_err(io_err(&path))?;
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(CacheError::Io { path, source: e }),
    }
    let _ = std::fs::write(root.join("LOCK.owner"), format!("pid {}", std::process::id()));
    Ok(file)
}

/// Removes a staging folder after a failed run.
pub fn remove_staging(staging: &Path) {
    store::remove_tree(staging);
}
