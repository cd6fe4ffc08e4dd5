//! Which stored outputs were last hashed, and under which file stamps: `verified.log`.
//!
//! Before an instance reads a stored output, the run makes sure its bytes are still the ones
//! stored. Re-hashing them every time costs a full read: 27 GB and ~40 s for the real-size
//! study's dataset, on every run that reruns one patient. But any change through the file
//! system moves a file's ctime, which no tool can set back (`touch` and `utimensat` set the
//! mtime, and setting it moves the ctime). So a file whose size, mtime, ctime and inode are
//! what they were when it was last hashed still holds those bytes; only a change below the
//! file system (a failing disk) escapes, which is the file system's to catch.
//!
//! One line per hashing, `digest SP fingerprint`, later lines win; written when an output is
//! stored and after a full re-hash. Appends are not fsynced: a lost line costs one re-hash.

use super::store::Manifest;
use crate::hash::sha256_hex;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub(super) const LOG: &str = "verified.log";

/// The stamps of an output's files: size, mtime, ctime and inode of each, hashed.
pub(super) fn fingerprint(dir: &Path, m: &Manifest) -> std::io::Result<String> {
    let mut text = String::with_capacity(m.files.len() * 80);
    for f in &m.files {
        let meta = std::fs::metadata(dir.join(&f.path))?;
        text.push_str(&format!("{}\0{}\0{}.{}\0{}.{}\0{}\n", f.path, meta.size(), meta.mtime(), meta.mtime_nsec(), meta.ctime(), meta.ctime_nsec(), meta.ino()));
    }
    Ok(sha256_hex(text.as_bytes()))
}

/// Notes that `digest` was hashed under `fingerprint`.
pub(super) fn note(root: &Path, digest: &str, fingerprint: &str) -> std::io::Result<()> {
    super::store::append_line(&root.join(LOG), &format!("{digest} {fingerprint}\n"), false)
}

/// The log, read when a run first needs it (a no-op run never does).
pub(super) struct Sealed {
    path: PathBuf,
    map: Mutex<Option<HashMap<String, String>>>,
}

impl Sealed {
    pub fn new(root: &Path) -> Sealed {
        Sealed { path: root.join(LOG), map: Mutex::new(None) }
    }

    /// Whether `digest` was last hashed under `fingerprint`.
    pub fn holds(&self, digest: &str, fingerprint: &str) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get_or_insert_with(|| read(&self.path)).get(digest).is_some_and(|f| f == fingerprint)
    }

    /// Records a hashing done by this run (in the log and in memory).
    pub fn note(&self, root: &Path, digest: &str, fingerprint: &str) {
        let _ = note(root, digest, fingerprint);
        if let Some(map) = self.map.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            map.insert(digest.to_owned(), fingerprint.to_owned());
        }
    }
}

/// Complete lines only; a damaged line is ignored (its output is re-hashed).
fn read(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete.lines().filter_map(|l| l.split_once(' ')).filter(|(d, f)| d.len() == 64 && f.len() == 64).map(|(d, f)| (d.to_owned(), f.to_owned())).collect()
}

/// Keeps the lines of `live` outputs only (for `dag gc`), atomically.
pub(super) fn retain(root: &Path, live: &std::collections::HashSet<String>) -> std::io::Result<()> {
    let (path, tmp) = (root.join(LOG), root.join("verified.log.tmp"));
    let kept: String = read(&path).into_iter().filter(|(d, _)| live.contains(d)).map(|(d, f)| format!("{d} {f}\n")).collect();
    std::fs::write(&tmp, kept)?;
    std::fs::rename(&tmp, &path)
}

#[cfg(test)]
mod tests {
    use super::super::{store_output, Cache, LockMode};
    use std::os::unix::fs::PermissionsExt;

    fn stored(cache: &Cache, content: &str) -> String {
        let staged = cache.staging().unwrap();
        std::fs::write(staged.join("out/a.txt"), content).unwrap();
        store_output(cache.root(), &staged, &cache.manifest_index()).unwrap().0
    }

    /// An output just stored, or hashed once, is not hashed again while its files' stamps
    /// hold; a change that keeps size and mtime still moves the ctime and is caught.
    #[test]
    fn stamps_spare_the_rehash_and_a_silent_change_is_still_caught() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), LockMode::Wait, |_| {}).unwrap();
        let d = stored(&cache, "hello");
        cache.verify(&d).unwrap();
        cache.verify(&d).unwrap();
        assert_eq!(cache.rehashed(), 0, "stored by this run: hashed once, at store time");
        // A later run without the record (a lost log) hashes once, then trusts the stamps.
        drop(cache);
        std::fs::remove_file(dir.path().join(super::LOG)).unwrap();
        let cache = Cache::open(dir.path(), LockMode::Wait, |_| {}).unwrap();
        cache.verify(&d).unwrap();
        cache.verify(&d).unwrap();
        assert_eq!(cache.rehashed(), 1);
        let again = Cache::open(dir.path(), LockMode::ReadOnly, |_| {}).unwrap();
        again.verify(&d).unwrap();
        assert_eq!(again.rehashed(), 0, "the record of that hashing was kept");
        // Same size, mtime set back: the ctime moved, so the bytes are hashed and differ.
        let f = cache.out_path(&d).join("a.txt");
        let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&f, "jello").unwrap();
        std::fs::File::options().write(true).open(&f).unwrap().set_modified(mtime).unwrap();
        assert!(cache.verify(&d).is_err());
        assert_eq!(cache.rehashed(), 2);
    }
}
