//! The readable tree `results/<node>/<value>` of links into the store. Deleting it loses
//! nothing; every run puts the links back.

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

/// Points the link at `target` (absolute), replacing an older link atomically.
pub fn link(results: &Path, node: &str, value: Option<&str>, target: &Path) -> std::io::Result<()> {
    let path = link_path(results, node, value);
    if std::fs::read_link(&path).is_ok_and(|t| t == target) {
        return Ok(());
    }
    let parent = path.parent().unwrap_or(results);
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(".{}.tmp-{}", path.file_name().unwrap().to_string_lossy(), std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
        // A node that used to iterate over a set, and runs once now: its old folder goes.
        std::fs::remove_dir_all(&path)?;
    }
    std::fs::rename(&tmp, &path)
}
