//! `actions.log`: one line per stored action, `key<TAB>output<TAB>seconds<TAB>instance`.
//!
//! Lines are appended with single writes to a file opened for appending, so a run killed at
//! any moment leaves at worst one torn last line, which the next reader skips. Later lines
//! win over earlier ones for the same key.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

#[derive(Clone, Debug, PartialEq)]
pub struct ActionRecord {
    pub key: String,
    pub output: String,
    /// How long the action took when it ran, in seconds.
    pub secs: f64,
    pub instance: String,
}

impl ActionRecord {
    pub(crate) fn line(&self) -> String {
        format!("{}\t{}\t{:.6}\t{}\n", self.key, self.output, self.secs, self.instance.replace(['\n', '\t'], " "))
    }

    fn parse(line: &str) -> Option<ActionRecord> {
        let mut f = line.splitn(4, '\t');
        let (key, output, secs, instance) = (f.next()?, f.next()?, f.next()?, f.next()?);
        let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        (hex64(key) && hex64(output)).then_some(())?;
        Some(ActionRecord { key: key.into(), output: output.into(), secs: secs.parse().ok()?, instance: instance.into() })
    }
}

pub(crate) fn read(path: &Path) -> std::io::Result<HashMap<String, ActionRecord>> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(e),
    };
    let mut map = HashMap::with_capacity(text.len() / 160);
    for line in super::complete_lines(&text) {
        if let Some(rec) = std::str::from_utf8(line).ok().and_then(ActionRecord::parse) {
            map.insert(rec.key.clone(), rec);
        }
    }
    Ok(map)
}

pub(crate) struct Journal {
    file: File,
    unsynced: bool,
}

impl Journal {
    pub(crate) fn open(path: &Path) -> std::io::Result<(HashMap<String, ActionRecord>, Journal)> {
        let map = read(path)?;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).read(true).open(path)?;
        // Terminate a torn last line so the next record starts on a line of its own (its last
        // byte is read alone: the whole file was just read above).
        let len = file.metadata()?.len();
        let mut last = [0u8];
        if len > 0 && std::os::unix::fs::FileExt::read_exact_at(&file, &mut last, len - 1).map(|()| last[0] != b'\n')? {
            file.write_all(b"\n")?;
        }
        Ok((map, Journal { file, unsynced: false }))
    }

    pub(crate) fn append(&mut self, rec: &ActionRecord) -> std::io::Result<()> {
        self.file.write_all(rec.line().as_bytes())?;
        self.unsynced = true;
        Ok(())
    }

    pub(crate) fn sync(&mut self) -> std::io::Result<()> {
        if self.unsynced {
            self.file.sync_data()?;
            self.unsynced = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(k: char, o: char) -> ActionRecord {
        ActionRecord { key: k.to_string().repeat(64), output: o.to_string().repeat(64), secs: 0.5, instance: "pre[1]".into() }
    }

    #[test]
    fn torn_last_line_is_skipped_and_later_lines_win() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("actions.log");
        let (_, mut j) = Journal::open(&p).unwrap();
        j.append(&rec('a', 'b')).unwrap();
        j.append(&rec('a', 'c')).unwrap();
        drop(j);
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str(&rec('d', 'e').line()[..70]);
        std::fs::write(&p, &text).unwrap();
        let (map, mut j) = Journal::open(&p).unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(map[&"a".repeat(64)].output, "c".repeat(64));
        j.append(&rec('f', 'f')).unwrap();
        assert_eq!(read(&p).unwrap().len(), 2, "a record after a torn line is read");
    }
}
