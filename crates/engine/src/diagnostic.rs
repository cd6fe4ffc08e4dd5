//! Errors that point into the user's spec file, rendered like a compiler's.

use crate::yaml::Pos;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub pos: Pos,
    pub message: String,
    pub help: Option<String>,
    /// The offending line of the source, for the snippet under the message.
    pub source_line: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &Path, source: &str, pos: Pos, message: impl Into<String>) -> Self {
        let source_line = (pos.line > 0)
            .then(|| source.lines().nth(pos.line as usize - 1).map(str::to_owned))
            .flatten();
        Diagnostic { file: file.to_owned(), pos, message: message.into(), help: None, source_line }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: error: {}", self.file.display(), self.pos.line, self.pos.column, self.message)?;
        if let Some(line) = &self.source_line {
            let gutter = self.pos.line.to_string();
            let pad = " ".repeat(gutter.len());
            write!(f, "\n {pad} |\n {gutter} | {line}\n {pad} | {}^", " ".repeat(self.pos.column.saturating_sub(1) as usize))?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// All the problems found in one spec, reported together.
#[derive(Debug, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{d}")?;
        }
        write!(f, "{} error{} in the spec", self.0.len(), if self.0.len() == 1 { "" } else { "s" })
    }
}

/// The closest candidate, if it is close enough to be a plausible typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_snippet_and_help() {
        let src = "nodes:\n  pre:\n    shel: x\n";
        let d = Diagnostic::new(Path::new("p.yaml"), src, Pos { line: 3, column: 5 }, "unknown key `shel`")
            .with_help("did you mean `shell`?");
        let text = d.to_string();
        assert!(text.starts_with("p.yaml:3:5: error: unknown key `shel`"), "{text}");
        assert!(text.contains(" 3 |     shel: x\n   |     ^"), "{text}");
        assert!(text.ends_with("= help: did you mean `shell`?"));
    }

    #[test]
    fn suggests_only_close_words() {
        assert_eq!(suggest("shel", ["shell", "task", "needs"]), Some("shell"));
        assert_eq!(suggest("zzz", ["shell", "task"]), None);
    }
}
