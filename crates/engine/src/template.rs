//! `{placeholder}` templates in commands, task parameters and input paths.
//!
//! `{{` and `}}` stand for literal braces (so shell `${HOME}` is written `${{HOME}}`).
//! Everything substituted into a shell command is shell-quoted, so a set value such as
//! `$(touch /tmp/x)` stays an inert word.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Var {
    /// `{out}`: the instance's fresh output folder.
    Out,
    /// `{inputs}`: every needed instance's output files; `{inputs.NODE}`: those of one node.
    Inputs(Option<String>),
    /// `{params.NAME}`
    Param(String),
    /// `{SET}`: the instance's value of the set it iterates over.
    Set(String),
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Var::Out => f.write_str("{out}"),
            Var::Inputs(None) => f.write_str("{inputs}"),
            Var::Inputs(Some(n)) => write!(f, "{{inputs.{n}}}"),
            Var::Param(p) => write!(f, "{{params.{p}}}"),
            Var::Set(s) => write!(f, "{{{s}}}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Lit(String),
    /// The variable and its byte offset in the template text (for error columns).
    Var(Var, usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub parts: Vec<Part>,
    /// Where the template was written in the spec, for errors that point at a placeholder.
    pub at: Option<crate::yaml::Pos>,
    pub text: String,
}

#[derive(Debug, PartialEq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < text.len() {
            let c = bytes[i];
            if c == b'{' && bytes.get(i + 1) == Some(&b'{') {
                lit.push('{');
                i += 2;
            } else if c == b'}' && bytes.get(i + 1) == Some(&b'}') {
                lit.push('}');
                i += 2;
            } else if c == b'{' {
                let end = text[i..].find('}').ok_or_else(|| TemplateError {
                    offset: i,
                    message: "unclosed `{` (write `{{` for a literal brace)".into(),
                })?;
                let name = &text[i + 1..i + end];
                let var = parse_var(name).ok_or_else(|| TemplateError {
                    offset: i,
                    message: format!("`{{{name}}}` is not a placeholder (write `{{{{` and `}}}}` for literal braces)"),
                })?;
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Var(var, i));
                i += end + 1;
            } else if c == b'}' {
                return Err(TemplateError { offset: i, message: "unmatched `}` (write `}}` for a literal brace)".into() });
            } else {
                let ch = text[i..].chars().next().unwrap();
                lit.push(ch);
                i += ch.len_utf8();
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts, at: None, text: text.to_owned() })
    }

    pub fn vars(&self) -> impl Iterator<Item = (&Var, usize)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v, off) => Some((v, *off)),
            Part::Lit(_) => None,
        })
    }

    /// The single variable this template consists of, if that is all it is
    /// (so `with: {size: "{params.crop}"}` can keep the parameter's type).
    pub fn sole_var(&self) -> Option<&Var> {
        match self.parts.as_slice() {
            [Part::Var(v, _)] => Some(v),
            _ => None,
        }
    }

    /// Substitutes each variable with what `value` gives; `None` keeps the placeholder text
    /// (used to hash a command without its run-specific paths).
    pub fn render(&self, mut value: impl FnMut(&Var) -> Option<String>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v, _) => match value(v) {
                    Some(s) => out.push_str(&s),
                    None => out.push_str(&v.to_string()),
                },
            }
        }
        out
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn parse_var(name: &str) -> Option<Var> {
    let name = name.trim();
    match name.split_once('.') {
        None if name == "out" => Some(Var::Out),
        None if name == "inputs" => Some(Var::Inputs(None)),
        None if is_ident(name) => Some(Var::Set(name.to_owned())),
        Some(("inputs", node)) if is_ident(node) => Some(Var::Inputs(Some(node.to_owned()))),
        Some(("params", p)) if is_ident(p) => Some(Var::Param(p.to_owned())),
        _ => None,
    }
}

/// Quotes one word for POSIX sh; plain words stay as they are for readable logs.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b)) {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind_of_placeholder() {
        let t = Template::parse("cat {inputs.pre} > {out}/x; echo {params.alpha} {fold} {inputs}").unwrap();
        let vars: Vec<_> = t.vars().map(|(v, _)| v.clone()).collect();
        assert_eq!(
            vars,
            vec![
                Var::Inputs(Some("pre".into())),
                Var::Out,
                Var::Param("alpha".into()),
                Var::Set("fold".into()),
                Var::Inputs(None)
            ]
        );
    }

    #[test]
    fn doubled_braces_are_literal() {
        let t = Template::parse("echo ${{HOME}} {x}").unwrap();
        assert_eq!(t.render(|_| Some("1".into())), "echo ${HOME} 1");
    }

    #[test]
    fn bad_placeholders_are_errors_with_offsets() {
        assert_eq!(Template::parse("a {b").unwrap_err().offset, 2);
        assert_eq!(Template::parse("a ${HOME:-x}").unwrap_err().offset, 3);
        assert_eq!(Template::parse("x }").unwrap_err().offset, 2);
    }

    #[test]
    fn unresolved_variables_keep_their_placeholder_text() {
        let t = Template::parse("echo {s} > {out}/v").unwrap();
        assert_eq!(t.render(|v| matches!(v, Var::Set(_)).then(|| "7".into())), "echo 7 > {out}/v");
    }

    #[test]
    fn quoting_makes_command_substitution_inert() {
        assert_eq!(shell_quote("$(touch /tmp/x)"), "'$(touch /tmp/x)'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("DUKE_001"), "DUKE_001");
        assert_eq!(shell_quote(""), "''");
    }
}
