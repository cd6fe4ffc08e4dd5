//! The one struct of everything a cache key depends on, its canonical bytes and sha256.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Bumped when the meaning of the key changes, so old cache entries are not reused.
const KEY_SCHEMA: &str = "dag-key-v2";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HashInputs {
    /// `shell` or the built-in task's kind.
    pub kind: String,
    pub version: u32,
    /// The resolved command (`{"command": …}`) or the task's resolved parameters.
    pub params: serde_json::Value,
    /// The pipeline parameters the node refers to; redundant with `params` for the key, but
    /// it lets `plan` say *which* parameter changed.
    pub uses: BTreeMap<String, serde_json::Value>,
    /// External input files: path → content digest.
    pub files: BTreeMap<String, String>,
    /// Needed instances and the digests of their OUTPUTS (not their keys: early cutoff).
    pub upstream: Vec<(String, String)>,
    /// The instance's set value: tasks see it (`TaskCtx::value`), so two instances whose
    /// parameters do not mention it must still differ in key.
    #[serde(default)]
    pub value: Option<String>,
}

impl HashInputs {
    pub fn key(&self) -> String {
        let mut bytes = KEY_SCHEMA.as_bytes().to_vec();
        bytes.push(0);
        self.canonical(&mut bytes);
        sha256_hex(&bytes)
    }

    /// The canonical JSON of `self` (keys sorted), written directly: going through
    /// `serde_json::to_value` first cost a deep copy per instance on every run, and a string
    /// per field (a gather of 5000 instances has 5000 upstream pairs) most of what remained.
    fn canonical(&self, out: &mut Vec<u8>) {
        out.extend(b"{\"files\":{");
        for (i, (k, v)) in self.files.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(k, out);
            out.push(b':');
            json_str(v, out);
        }
        out.extend(b"},\"kind\":");
        json_str(&self.kind, out);
        out.extend(b",\"params\":");
        canonical_json(&self.params, out);
        out.extend(b",\"upstream\":[");
        for (i, (id, d)) in self.upstream.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            json_str(id, out);
            out.push(b',');
            json_str(d, out);
            out.push(b']');
        }
        out.extend(b"],\"uses\":{");
        for (i, (k, v)) in self.uses.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(k, out);
            out.push(b':');
            canonical_json(v, out);
        }
        out.extend(b"},\"value\":");
        match &self.value {
            Some(v) => json_str(v, out),
            None => out.extend(b"null"),
        }
        out.extend(format!(",\"version\":{}}}", self.version).as_bytes());
    }

    /// Why `self` differs from the inputs of the instance's last run, most telling first.
    pub fn reasons_since(&self, old: &HashInputs) -> Vec<String> {
        let mut out = Vec::new();
        if self.kind != old.kind || self.version != old.version {
            out.push(format!("task changed ({} v{} → {} v{})", old.kind, old.version, self.kind, self.version));
        }
        for (name, value) in &self.uses {
            match old.uses.get(name) {
                Some(o) if o != value => out.push(format!("parameter {name} changed ({o} → {value})")),
                None => out.push(format!("now uses parameter {name} ({value})")),
                _ => {}
            }
        }
        if out.is_empty() && self.params != old.params {
            out.push(if self.params.get("command").is_some() { "command changed".into() } else { "task parameters changed".into() });
        }
        for (path, digest) in &self.files {
            match old.files.get(path) {
                None => out.push(format!("new input file {path}")),
                Some(d) if d != digest => out.push(format!("input file {path} changed")),
                _ => {}
            }
        }
        let old_up: BTreeMap<&str, &str> = old.upstream.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let changed: Vec<&str> =
            self.upstream.iter().filter(|(id, d)| old_up.get(id.as_str()).is_some_and(|o| o != d)).map(|(id, _)| id.as_str()).collect();
        let added = self.upstream.iter().filter(|(id, _)| !old_up.contains_key(id.as_str())).count();
        let removed = old.upstream.len() + added - self.upstream.len();
        match changed.as_slice() {
            [] => {}
            [one] => out.push(format!("upstream output changed: {one}")),
            many => out.push(format!("{} upstream outputs changed: {}, …", many.len(), many[..3.min(many.len())].join(", "))),
        }
        if added + removed > 0 {
            out.push(format!("set of upstream instances changed (+{added} −{removed})"));
        }
        if out.is_empty() && self.upstream != old.upstream {
            out.push("order of upstream instances changed".into());
        }
        out
    }
}

/// JSON with object keys sorted at every level and no whitespace: equal values, equal bytes.
pub fn canonical_json(v: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value as J;
    match v {
        J::Object(map) => {
            out.push(b'{');
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_str(k, out);
                out.push(b':');
                canonical_json(&map[k], out);
            }
            out.push(b'}');
        }
        J::Array(items) => {
            out.push(b'[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(x, out);
            }
            out.push(b']');
        }
        J::String(x) => json_str(x, out),
        scalar => out.extend(scalar.to_string().as_bytes()),
    }
}

/// A JSON string literal, escaped as serde_json escapes it, appended in place.
fn json_str(s: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Streams a file through sha256.
pub fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inputs() -> HashInputs {
        HashInputs {
            kind: "shell".into(),
            version: 1,
            params: json!({"command": "echo 1"}),
            uses: [("alpha".to_string(), json!(0.05))].into(),
            files: BTreeMap::new(),
            upstream: vec![("pre[0]".into(), "aa".into())],
            value: None,
        }
    }

    #[test]
    fn key_ignores_object_key_order() {
        let mut a = inputs();
        let mut b = inputs();
        a.params = serde_json::from_str(r#"{"x":1,"y":{"b":2,"a":1}}"#).unwrap();
        b.params = serde_json::from_str(r#"{"y":{"a":1,"b":2},"x":1}"#).unwrap();
        assert_eq!(a.key(), b.key());
    }

    /// Keys must not move when the code that writes them does (a moved key reruns every
    /// user's cache): this one was computed independently, by Python's json.dumps(sort_keys,
    /// compact separators, ensure_ascii=False) and hashlib, over escapes, non-ASCII and nesting.
    #[test]
    fn keys_are_stable_canonical_json() {
        let hi = HashInputs {
            kind: "n4_correct".into(),
            version: 3,
            params: json!({"z": [1, 2.5, null, true, "t\u{1}é"], "a": {"c": "q\"", "b": 0.1}}),
            uses: [("s".to_string(), json!("x")), ("alpha".to_string(), json!(0.05))].into(),
            files: [("/data/é \"x\".nii".to_string(), "ab\ncd".to_string())].into(),
            upstream: vec![("pre[0]".into(), "aa".into()), ("pre[\"1\"]".into(), "bb".into())],
            value: Some("DUKE_001".into()),
        };
        assert_eq!(hi.key(), "8231bbcaf3cbda83a3cdd57591595c5afdfc9e37fa71ac5e9ecce405e2391871");
    }

    #[test]
    fn key_depends_on_upstream_outputs_and_params() {
        let base = inputs();
        let mut up = inputs();
        up.upstream[0].1 = "bb".into();
        let mut p = inputs();
        p.params = json!({"command": "echo 2"});
        let mut v = inputs();
        v.value = Some("3".into());
        assert_ne!(base.key(), up.key());
        assert_ne!(base.key(), p.key());
        assert_ne!(base.key(), v.key(), "a task reading its set value must not share a key across values");
        assert_eq!(base.key().len(), 64);
    }

    #[test]
    fn reasons_name_the_parameter_and_the_upstream() {
        let old = inputs();
        let mut new = inputs();
        new.uses.insert("alpha".into(), json!(0.1));
        new.params = json!({"command": "echo 2"});
        new.upstream[0].1 = "cc".into();
        let r = new.reasons_since(&old);
        assert_eq!(r, vec!["parameter alpha changed (0.05 → 0.1)", "upstream output changed: pre[0]"]);
    }

    #[test]
    fn direct_canonical_form_equals_the_generic_one() {
        let mut h = inputs();
        h.files.insert("data/a \"b\".txt".into(), "ff".into());
        h.uses.insert("beta".into(), json!({"z": [1, 2], "a": null}));
        let mut direct = Vec::new();
        h.canonical(&mut direct);
        let mut generic = Vec::new();
        canonical_json(&serde_json::to_value(&h).unwrap(), &mut generic);
        assert_eq!(String::from_utf8(direct).unwrap(), String::from_utf8(generic).unwrap());
    }

    #[test]
    fn digest_of_known_bytes() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
