//! Writing and checking output folders: hash every file, fsync, then rename into place.

use super::{io_err, CacheError};
use crate::hash::{file_digest, sha256_hex};
use serde::{Deserialize, Serialize};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ManifestEntry {
    /// Relative to the output folder, `/`-separated.
    pub path: String,
    pub size: u64,
    pub digest: String,
    pub executable: bool,
    /// Modification time when stored; only for the cheap check on cache hits, not hashed.
    pub mtime_ns: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub files: Vec<ManifestEntry>,
}

impl Manifest {
    /// The folder's digest: its files' names, sizes, modes and contents (not their times).
    pub fn digest(&self) -> String {
        use std::fmt::Write as _;
        // Written into one buffer: every manifest line read back is checked against its
        // digest, thousands of them when a cache is opened.
        let mut text = String::with_capacity(16 + self.files.iter().map(|f| f.path.len() + 96).sum::<usize>());
        text.push_str("dag-tree-v1\n");
        for f in &self.files {
            let _ = writeln!(text, "{}\0{}\0{}\0{}", f.path, f.size, f.digest, u8::from(f.executable));
        }
        sha256_hex(text.as_bytes())
    }
}

/// Every stored output's manifest, shared with the worker threads that store outputs.
/// Persisted in `manifests.log`: one line per entry, written after the folder is in place,
/// so an output folder without its line is the remains of a crash and is never trusted.
pub type ManifestIndex = Arc<Mutex<HashMap<String, Arc<Manifest>>>>;

pub(super) fn staging(tmp: &Path) -> std::io::Result<PathBuf> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = tmp.join(format!("{}-{n}", std::process::id()));
    std::fs::create_dir_all(dir.join("out"))?;
    Ok(dir)
}

fn mtime_ns(m: &std::fs::Metadata) -> i64 {
    m.mtime() * 1_000_000_000 + m.mtime_nsec()
}

fn walk(root: &Path, rel: &str, out: &mut Vec<ManifestEntry>) -> Result<(), CacheError> {
    let dir = if rel.is_empty() { root.to_owned() } else { root.join(rel) };
    let mut entries: Vec<_> = std::fs::read_dir(&dir).map_err(io_err(&dir))?.collect::<Result<_, _>>().map_err(io_err(&dir))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let relpath = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        let path = e.path();
        if relpath.contains(['\t', '\n']) {
            return Err(CacheError::Io { path, source: std::io::Error::other("output file names may not contain tabs or newlines") });
        }
        let meta = std::fs::symlink_metadata(&path).map_err(io_err(&path))?;
        if meta.is_dir() {
            walk(root, &relpath, out)?;
        } else if meta.is_file() {
            let executable = meta.mode() & 0o111 != 0;
            let file = std::fs::File::open(&path).map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(if executable { 0o555 } else { 0o444 })).map_err(io_err(&path))?;
            let digest = file_digest(&path).map_err(io_err(&path))?;
            out.push(ManifestEntry { path: relpath, size: meta.len(), digest, executable, mtime_ns: mtime_ns(&meta) });
        } else {
            return Err(CacheError::Io {
                path,
                source: std::io::Error::other("outputs may hold only regular files and folders (no links or devices)"),
            });
        }
    }
    Ok(())
}

/// Moves `staged/out` into the store and returns its digest and manifest.
pub(super) fn store(root: &Path, staged: &Path, index: &ManifestIndex) -> Result<(String, Arc<Manifest>), CacheError> {
    let out = staged.join("out");
    let mut files = Vec::new();
    walk(&out, "", &mut files)?;
    let manifest = Manifest { files };
    let digest = manifest.digest();
    let dest = root.join("out").join(&digest);
    // Held while publishing, so two workers with identical outputs do not race to rename.
    let mut idx = index.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(existing) = idx.get(&digest)
        && check_stamps(&dest, existing, &digest).is_ok()
    {
        let existing = existing.clone();
        drop(idx);
        remove_tree(staged);
        return Ok((digest, existing));
    }
    remove_tree(&dest);
    std::fs::rename(&out, &dest).map_err(io_err(&dest))?;
    let outdir = root.join("out");
    std::fs::File::open(&outdir).and_then(|d| d.sync_all()).map_err(io_err(&outdir))?;
    let log = root.join("manifests.log");
    append_line(&log, &manifest_line(&digest, Some(&manifest)), true).map_err(io_err(&log))?;
    // Just hashed: the first consumer need not hash it again (a failure here only costs that).
    if let Ok(f) = super::sealed::fingerprint(&dest, &manifest) {
        let _ = super::sealed::note(root, &digest, &f);
    }
    let manifest = Arc::new(manifest);
    idx.insert(digest.clone(), manifest.clone());
    drop(idx);
    remove_tree(staged);
    Ok((digest, manifest))
}

pub(super) fn append_line(path: &Path, line: &str, sync: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(line.as_bytes())?;
    if sync {
        f.sync_data()?;
    }
    Ok(())
}

/// `digest TAB count (TAB path TAB size TAB digest TAB exec TAB mtime)*`, or `digest TAB -`
/// for an evicted entry.
pub(super) fn manifest_line(digest: &str, m: Option<&Manifest>) -> String {
    let Some(m) = m else { return format!("{digest}\t-\n") };
    let mut line = format!("{digest}\t{}", m.files.len());
    for f in &m.files {
        line.push_str(&format!("\t{}\t{}\t{}\t{}\t{}", f.path, f.size, f.digest, u8::from(f.executable), f.mtime_ns));
    }
    line.push('\n');
    line
}

fn parse_line(line: &str) -> Option<(String, Option<Manifest>)> {
    let mut f = line.split('\t');
    let digest = f.next()?.to_owned();
    let count = f.next()?;
    if count == "-" {
        return Some((digest, None));
    }
    let n: usize = count.parse().ok()?;
    // A damaged count must not size the allocation: each entry takes five fields of the line.
    let mut files = Vec::with_capacity(n.min(line.len() / 5));
    for _ in 0..n {
        let path = f.next()?.to_owned();
        let size = f.next()?.parse().ok()?;
        let fd = f.next()?.to_owned();
        let executable = f.next()? == "1";
        let mtime_ns = f.next()?.parse().ok()?;
        files.push(ManifestEntry { path, size, digest: fd, executable, mtime_ns });
    }
    let m = Manifest { files };
    // A line that does not hash to its digest is damaged and ignored.
    (f.next().is_none() && m.digest() == digest).then_some((digest, Some(m)))
}

/// Reads `manifests.log`; complete lines only, later lines win.
pub(super) fn read_index(path: &Path) -> std::io::Result<HashMap<String, Arc<Manifest>>> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(e),
    };
    let mut map = HashMap::with_capacity(text.len() / 200);
    for line in super::complete_lines(&text) {
        match std::str::from_utf8(line).ok().and_then(parse_line) {
            Some((d, Some(m))) => {
                map.insert(d, Arc::new(m));
            }
            Some((d, None)) => {
                map.remove(&d);
            }
            None => {}
        }
    }
    Ok(map)
}

pub(super) fn check_stamps(dir: &Path, m: &Manifest, digest: &str) -> Result<(), CacheError> {
    for f in &m.files {
        let p = dir.join(&f.path);
        let detail = match std::fs::metadata(&p) {
            Err(e) => format!("{}: {e}", p.display()),
            Ok(meta) if meta.len() != f.size || mtime_ns(&meta) != f.mtime_ns => format!("{} was modified after it was stored", p.display()),
            Ok(_) => continue,
        };
        return Err(CacheError::Corrupt { digest: digest.to_owned(), detail });
    }
    Ok(())
}

pub(super) fn verify_contents(dir: &Path, m: &Manifest, digest: &str) -> Result<(), CacheError> {
    for f in &m.files {
        let p = dir.join(&f.path);
        match file_digest(&p) {
            Ok(d) if d == f.digest => {}
            Ok(_) => return Err(CacheError::Corrupt { digest: digest.into(), detail: format!("{} does not match its digest", p.display()) }),
            Err(e) => return Err(CacheError::Corrupt { digest: digest.into(), detail: format!("{}: {e}", p.display()) }),
        }
    }
    Ok(())
}

/// Removes a folder tree whose files were made read-only; missing is fine.
pub(crate) fn remove_tree(path: &Path) {
    if std::fs::remove_dir_all(path).is_ok() || !path.exists() {
        return;
    }
    // Read-only files inside writable folders delete fine; restore modes only if needed.
    fn unlock(p: &Path) {
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    unlock(&e.path());
                }
            }
        }
    }
    unlock(path);
    let _ = std::fs::remove_dir_all(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(root: &Path, content: &str) -> PathBuf {
        let s = staging(&root.join("tmp")).unwrap();
        std::fs::create_dir_all(s.join("out/sub")).unwrap();
        std::fs::write(s.join("out/sub/a.txt"), content).unwrap();
        s
    }

    #[test]
    fn identical_outputs_share_one_entry_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        let idx = ManifestIndex::default();
        let (d1, m1) = store(dir.path(), &stage(dir.path(), "x"), &idx).unwrap();
        let (d2, _) = store(dir.path(), &stage(dir.path(), "x"), &idx).unwrap();
        assert_eq!(d1, d2);
        assert_eq!(m1.files[0].path, "sub/a.txt");
        let entry = dir.path().join("out").join(&d1);
        verify_contents(&entry, &m1, &d1).unwrap();
        let (d3, _) = store(dir.path(), &stage(dir.path(), "y"), &idx).unwrap();
        assert_ne!(d1, d3);
        // The index on disk reads back as it was built.
        let back = read_index(&dir.path().join("manifests.log")).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(*back[&d1], *m1);
    }

    /// Found by fuzzing (fuzz/ cache_logs): a manifest line whose file count is huge was a
    /// capacity overflow, a panic that took the run down. It is a damaged line, ignored.
    #[test]
    fn a_manifest_line_with_a_huge_count_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("manifests.log");
        std::fs::write(&log, format!("{}\t18446744073709551615\tf\t1\td\t0\t0\n", "a".repeat(64))).unwrap();
        assert!(read_index(&log).unwrap().is_empty());
    }

    #[test]
    fn a_modified_file_fails_both_checks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        let (d, m) = store(dir.path(), &stage(dir.path(), "hello"), &ManifestIndex::default()).unwrap();
        let f = dir.path().join("out").join(&d).join("sub/a.txt");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&f, "jello").unwrap();
        let entry = dir.path().join("out").join(&d);
        assert!(matches!(check_stamps(&entry, &m, &d), Err(CacheError::Corrupt { .. })));
        assert!(matches!(verify_contents(&entry, &m, &d), Err(CacheError::Corrupt { .. })));
    }
}
