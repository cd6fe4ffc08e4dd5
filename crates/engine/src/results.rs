//! The readable tree `results/<node>/<value>` of links into the store. Deleting it loses
//! nothing; every run puts the links back.
//!
//! A no-op run over thousands of instances should not readlink each one, so the tree keeps
//! an index (in the cache folder) of the links it made and of each folder's modification
//! time after it made them. A folder whose time is unchanged has not been touched since,
//! so its links are as indexed; any other folder is checked link by link.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A set value as one safe path component.
pub fn safe_name(value: &str) -> String {
    let s: String = value.chars().map(|c| if c == '/' || c == '\0' || c.is_control() { '_' } else { c }).collect();
    if s.is_empty() || s.starts_with('.') { format!("_{s}") } else { s }
}

pub fn link_path(results: &Path, node: &str, value: Option<&str>) -> PathBuf {
    match value {
        Some(v) => results.join(node).join(safe_name(v)),
        None => results.join(node),
    }
}

fn mtime(p: &Path) -> Option<i64> {
    std::fs::symlink_metadata(p).ok().map(|m| m.mtime() * 1_000_000_000 + m.mtime_nsec())
}

pub struct ResultsTree {
    root: PathBuf,
    index: PathBuf,
    /// Links known to be in place: link path → target.
    known: HashMap<PathBuf, PathBuf>,
    dirty: bool,
}

impl ResultsTree {
    pub fn load(root: &Path, index: PathBuf) -> ResultsTree {
        let mut known = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(&index) {
            let mut valid: HashMap<PathBuf, bool> = HashMap::new();
            for line in text.lines() {
                let f: Vec<&str> = line.split('\t').collect();
                match f[..] {
                    ["D", dir, t] => {
                        valid.insert(PathBuf::from(dir), t.parse::<i64>().ok() == mtime(Path::new(dir)));
                    }
                    ["L", link, target] => {
                        let link = PathBuf::from(link);
                        if link.parent().is_some_and(|p| valid.get(p) == Some(&true)) {
                            known.insert(link, PathBuf::from(target));
                        }
                    }
                    _ => {}
                }
            }
        }
        ResultsTree { root: root.to_owned(), index, known, dirty: false }
    }

    /// Points the link at `target` (absolute), replacing an older link atomically.
    pub fn link(&mut self, node: &str, value: Option<&str>, target: &Path) -> std::io::Result<()> {
        let path = link_path(&self.root, node, value);
        if self.known.get(&path).is_some_and(|t| t == target) {
            return Ok(());
        }
        self.dirty = true;
        if std::fs::read_link(&path).is_ok_and(|t| t == target) {
            self.known.insert(path, target.to_owned());
            return Ok(());
        }
        let parent = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent)?;
        let tmp = parent.join(format!(".{}.tmp-{}", path.file_name().unwrap().to_string_lossy(), std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(target, &tmp)?;
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            // A node that used to iterate over a set, and runs once now: its old folder goes.
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::rename(&tmp, &path)?;
        self.known.insert(path, target.to_owned());
        Ok(())
    }

    /// Writes the index with each folder's time as it is now, after this run's links.
    pub fn save(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut dirs: Vec<&Path> = self.known.keys().filter_map(|l| l.parent()).collect();
        dirs.sort();
        dirs.dedup();
        let mut text = String::new();
        for d in dirs {
            if let (Some(t), Some(ds)) = (mtime(d), d.to_str()) {
                text.push_str(&format!("D\t{ds}\t{t}\n"));
            }
        }
        for (l, t) in &self.known {
            if let (Some(l), Some(t)) = (l.to_str(), t.to_str())
                && !l.contains(['\t', '\n'])
                && !t.contains(['\t', '\n'])
            {
                text.push_str(&format!("L\t{l}\t{t}\n"));
            }
        }
        let tmp = self.index.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.index)?;
        self.dirty = false;
        Ok(())
    }
}
