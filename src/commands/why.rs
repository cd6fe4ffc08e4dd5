//! `dag why ID`: one instance's status and reason, its key's inputs, and its last run.

use crate::cli::PipelineArgs;
use dag_engine::cache::Cache;
use dag_engine::diagnostic::suggest;
use dag_engine::error::Error;
use dag_engine::plan::{self, Status};
use dag_engine::spec::Spec;
use dag_engine::task::Registry;

pub fn why(registry: &Registry, pipeline: &PipelineArgs, id: &str) -> Result<(), Error> {
    let (spec, cache, p) = super::plan::planned(registry, pipeline)?;
    crate::stdout::out!("{}", explain(&spec, &cache, &p, id)?);
    Ok(())
}

fn explain(spec: &Spec, cache: &Cache, p: &plan::Plan, id: &str) -> Result<String, Error> {
    let Some(e) = p.nodes.iter().find(|e| e.id == id) else {
        let help = suggest(id, p.nodes.iter().map(|e| e.id.as_str())).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
        return Err(Error::Usage(format!("no instance `{id}` in {}{help}", spec.file.display())));
    };
    let node = spec.node(&e.node).expect("plan nodes exist");
    let mut out = format!("{} — node `{}` defined at {}:{}:{}\n", e.id, e.node, spec.file.display(), node.pos.line, node.pos.column);
    out.push_str(&match e.status {
        Status::Cached => "status: cached — its inputs match a stored result\n".to_owned(),
        Status::Run => format!("status: will run — {}\n", e.reason.as_deref().unwrap_or("")),
        Status::Pending => format!("status: pending — {}\n", e.reason.as_deref().unwrap_or("")),
    });
    if let (Some(key), Some(hi)) = (&e.key, &e.inputs) {
        out.push_str(&format!("key: {key}\n  task: {} v{}\n  parameters: {}\n", hi.kind, hi.version, hi.params));
        for (k, v) in &hi.uses {
            out.push_str(&format!("  uses params.{k} = {v}\n"));
        }
        for (path, d) in &hi.files {
            out.push_str(&format!("  input file {path} sha256:{}\n", short(d)));
        }
        out.push_str(&format!("  upstream outputs: {}\n", hi.upstream.len()));
        for (up, d) in hi.upstream.iter().take(10) {
            out.push_str(&format!("    {up} → {}\n", short(d)));
        }
        if hi.upstream.len() > 10 {
            out.push_str(&format!("    … and {} more\n", hi.upstream.len() - 10));
        }
    }
    if let Some((key, _, output)) = plan::last_run(cache, spec, id) {
        out.push_str(&format!("last run: key {}…, output {}\n", short(&key), output.as_deref().map_or("?", short)));
    } else {
        out.push_str("last run: none recorded in this cache\n");
    }
    if let Some(o) = &e.output {
        let files = cache.manifest(o).map(|m| m.files.iter().map(|f| format!("{} ({} B)", f.path, f.size)).collect::<Vec<_>>().join(", "));
        out.push_str(&format!("output: {} [{}]\n", cache.out_path(o).display(), files.unwrap_or_default()));
    }
    let log = cache.log_path(&e.node, id);
    if log.exists() {
        out.push_str(&format!("log: {}\n", log.display()));
    }
    Ok(out)
}

/// A digest's first 16 characters for people, whole where a damaged record holds fewer (or
/// a character that a byte slice would split).
fn short(digest: &str) -> &str {
    digest.char_indices().nth(16).map_or(digest, |(i, _)| &digest[..i])
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_digests_never_overrun_or_split_a_character() {
        assert_eq!(super::short("abc"), "abc");
        assert_eq!(super::short(&"a".repeat(64)), "a".repeat(16));
        assert_eq!(super::short(&"é".repeat(20)), "é".repeat(16));
    }
}
