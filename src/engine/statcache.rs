//! Content digests of external input files, remembered by (size, mtime, inode) so that a
//! no-op rerun does not re-read gigabytes of images.

use crate::engine::hash::file_digest;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime_ns: i64,
    ino: u64,
}

pub struct StatCache {
    file: PathBuf,
    entries: HashMap<PathBuf, (Stamp, String)>,
    dirty: bool,
}

impl StatCache {
    /// Loads the table kept in the cache folder; a missing or damaged table is just empty.
    pub fn load(file: PathBuf) -> StatCache {
        let mut entries = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(&file) {
            for line in text.lines() {
                let f: Vec<&str> = line.splitn(5, '\t').collect();
                if let [size, mtime, ino, digest, path] = f[..] {
                    if let (Ok(size), Ok(mtime_ns), Ok(ino)) = (size.parse(), mtime.parse(), ino.parse()) {
                        entries.insert(PathBuf::from(path), (Stamp { size, mtime_ns, ino }, digest.to_owned()));
                    }
                }
            }
        }
        StatCache { file, entries, dirty: false }
    }

    pub fn digest(&mut self, path: &Path) -> std::io::Result<String> {
        let meta = std::fs::metadata(path)?;
        let stamp = Stamp { size: meta.size(), mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(), ino: meta.ino() };
        if let Some((s, d)) = self.entries.get(path) {
            if *s == stamp {
                return Ok(d.clone());
            }
        }
        let digest = file_digest(path)?;
        self.entries.insert(path.to_owned(), (stamp, digest.clone()));
        self.dirty = true;
        Ok(digest)
    }

    pub fn save(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut text = String::new();
        for (path, (s, d)) in &self.entries {
            if let Some(p) = path.to_str().filter(|p| !p.contains('\n')) {
                text.push_str(&format!("{}\t{}\t{}\t{d}\t{p}\n", s.size, s.mtime_ns, s.ino));
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
        let mut sc = StatCache::load(dir.path().join("stat"));
        let d1 = sc.digest(&f).unwrap();
        sc.save().unwrap();
        let mut again = StatCache::load(dir.path().join("stat"));
        assert_eq!(again.digest(&f).unwrap(), d1);
        assert!(!again.dirty, "an unchanged file is answered from the table");
        std::fs::write(&f, "two!").unwrap();
        assert_ne!(again.digest(&f).unwrap(), d1);
    }
}
