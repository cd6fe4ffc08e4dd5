//! Content digests of external input files, remembered by (size, mtime, inode) so that a
//! no-op rerun does not re-read gigabytes of images.

use crate::hash::file_digest;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime_ns: i64,
    ino: u64,
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let meta = std::fs::metadata(path)?;
    Ok(Stamp { size: meta.size(), mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(), ino: meta.ino() })
}

/// How recent a file's mtime may be, when it is read, for its digest to be remembered across
/// runs. A file rewritten within the same timestamp tick as its last change keeps its mtime
/// (and, rewritten in place with the same length, its whole stamp): ticks are a few ms on a
/// local disk, a second on some network filesystems, two on FAT. Such a file is hashed again
/// by the next run, until its mtime is older than this (git's "racy clean" rule).
const RACY_NS: i64 = 2_000_000_000;

fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// A digest and the stamp it was taken under; `racy`: the file had changed too recently for
/// the stamp to vouch for its content later, so the entry serves this run only.
struct Entry {
    stamp: Stamp,
    digest: String,
    racy: bool,
}

impl Entry {
    /// Hashes the file whose stamp was just taken. The clock is read before the file: a change
    /// after that moves the mtime past it.
    fn read(path: &Path, stamp: Stamp) -> std::io::Result<Entry> {
        let read_at = now_ns();
        Ok(Entry { stamp, digest: file_digest(path)?, racy: stamp.mtime_ns > read_at - RACY_NS })
    }
}

pub struct StatCache {
    file: PathBuf,
    entries: HashMap<PathBuf, Entry>,
    dirty: bool,
}

impl StatCache {
    /// Loads the table kept in the cache folder; a missing or damaged table is just empty.
    pub fn load(file: PathBuf) -> StatCache {
        let mut entries = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(&file) {
            for line in text.lines() {
                let f: Vec<&str> = line.splitn(5, '\t').collect();
                if let [size, mtime, ino, digest, path] = f[..]
                    && let (Ok(size), Ok(mtime_ns), Ok(ino)) = (size.parse(), mtime.parse(), ino.parse())
                {
                    entries.insert(PathBuf::from(path), Entry { stamp: Stamp { size, mtime_ns, ino }, digest: digest.to_owned(), racy: false });
                }
            }
        }
        StatCache { file, entries, dirty: false }
    }

    pub fn digest(&mut self, path: &Path) -> std::io::Result<String> {
        let stamp = stamp(path)?;
        if let Some(d) = self.known(path, stamp) {
            return Ok(d);
        }
        let entry = Entry::read(path, stamp)?;
        let digest = entry.digest.clone();
        self.entries.insert(path.to_owned(), entry);
        self.dirty = true;
        Ok(digest)
    }

    fn known(&self, path: &Path, stamp: Stamp) -> Option<String> {
        self.entries.get(path).filter(|e| e.stamp == stamp).map(|e| e.digest.clone())
    }

    /// Hashes, on up to `threads` threads, the files of `paths` that the table does not know
    /// as they are now, so that the `digest` calls that follow answer from the table. A first
    /// run over a real cohort reads tens of gigabytes of images; one core would take minutes
    /// before the first job could start. Files that cannot be read are left for `digest` to
    /// report. A single file is left to `digest` too: no thread is worth starting for it.
    pub fn prefetch(&mut self, paths: &[PathBuf], threads: usize) {
        let mut todo: Vec<(&PathBuf, Stamp)> = paths.iter().filter_map(|p| stamp(p).ok().filter(|&s| self.known(p, s).is_none()).map(|s| (p, s))).collect();
        todo.sort_by(|a, b| a.0.cmp(b.0));
        todo.dedup_by(|a, b| a.0 == b.0);
        if todo.len() < 2 {
            return;
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done: std::sync::Mutex<Vec<(PathBuf, Entry)>> = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..threads.clamp(1, todo.len()) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((path, stamp)) = todo.get(i) else { break };
                    if let Ok(entry) = Entry::read(path, *stamp) {
                        done.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(((*path).clone(), entry));
                    }
                });
            }
        });
        for (path, entry) in done.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
            self.entries.insert(path, entry);
            self.dirty = true;
        }
    }

    pub fn save(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut text = String::new();
        for (path, e) in self.entries.iter().filter(|(_, e)| !e.racy) {
            if let Some(p) = path.to_str().filter(|p| !p.contains('\n')) {
                text.push_str(&format!("{}\t{}\t{}\t{}\t{p}\n", e.stamp.size, e.stamp.mtime_ns, e.stamp.ino, e.digest));
            }
        }
        let tmp = self.file.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.file)?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rereads_a_file_only_when_its_stamp_changes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        std::fs::write(&f, "one").unwrap();
        age(&f);
        let mut sc = StatCache::load(dir.path().join("stat"));
        let d1 = sc.digest(&f).unwrap();
        sc.save().unwrap();
        let mut again = StatCache::load(dir.path().join("stat"));
        assert_eq!(again.digest(&f).unwrap(), d1);
        assert!(!again.dirty, "an unchanged file is answered from the table");
        std::fs::write(&f, "two!").unwrap();
        assert_ne!(again.digest(&f).unwrap(), d1);
    }

    /// Dates a file's last change back a minute: old enough for its stamp to be trusted.
    fn age(f: &Path) {
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options().write(true).open(f).unwrap().set_modified(then).unwrap();
    }

    #[test]
    fn a_file_changed_again_within_its_mtime_tick_is_hashed_again_by_the_next_run() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        std::fs::write(&f, "one!").unwrap();
        let (before, mtime) = (stamp(&f).unwrap(), std::fs::metadata(&f).unwrap().modified().unwrap());
        let mut sc = StatCache::load(dir.path().join("stat"));
        let d1 = sc.digest(&f).unwrap();
        sc.save().unwrap();
        // Rewritten in place with the same length, in the same tick (a coarse filesystem's
        // second): size, mtime and inode all stay as they were.
        let mut w = std::fs::File::options().write(true).open(&f).unwrap();
        w.write_all(b"two!").unwrap();
        w.set_modified(mtime).unwrap();
        drop(w);
        assert!(stamp(&f).unwrap() == before, "the stamp cannot tell the change");
        let mut next = StatCache::load(dir.path().join("stat"));
        assert_ne!(next.digest(&f).unwrap(), d1, "the recent file's digest was not trusted across runs");
    }

    #[test]
    fn prefetching_in_parallel_gives_the_digests_one_at_a_time_gives() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = (0..20).map(|i| dir.path().join(format!("f{i}"))).collect();
        for (i, f) in files.iter().enumerate() {
            std::fs::write(f, vec![i as u8; 1000 * i]).unwrap();
        }
        let mut one = StatCache::load(dir.path().join("one"));
        let expected: Vec<String> = files.iter().map(|f| one.digest(f).unwrap()).collect();
        let mut many = StatCache::load(dir.path().join("many"));
        // A missing file is skipped here and left for `digest` to report.
        let mut asked = files.clone();
        asked.push(dir.path().join("missing"));
        asked.push(files[3].clone());
        many.prefetch(&asked, 4);
        assert_eq!(many.entries.len(), files.len());
        many.dirty = false;
        let got: Vec<String> = files.iter().map(|f| many.digest(f).unwrap()).collect();
        assert_eq!(got, expected);
        assert!(!many.dirty, "every digest came from the prefetch");
        assert!(many.digest(&dir.path().join("missing")).is_err());
    }
}
