//! A YAML value tree in which every node and every mapping key keeps its line and column.
//!
//! The spec is validated by hand over this tree rather than by `#[derive(Deserialize)]` so
//! that *all* problems (unknown keys, wrong types, bad references) are reported at once, each
//! pointing into the user's file; serde stops at the first error.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A 1-based position in the spec file (0 when unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl<T> From<&Spanned<T>> for Pos {
    fn from(s: &Spanned<T>) -> Self {
        Pos { line: s.referenced.line(), column: s.referenced.column() }
    }
}

#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Yaml>),
    Map(Vec<(Key, Yaml)>),
}

/// A value with the position where it appears.
#[derive(Clone, Debug)]
pub struct Yaml {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Clone, Debug)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

impl Yaml {
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn as_map(&self) -> Option<&[(Key, Yaml)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Yaml> {
        self.as_map()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    /// Where the value at `path` (mapping keys and list indices) is written: a key's own
    /// position for a mapping entry; as deep as the path exists here (a refused parameter
    /// may name a key the file lacks, e.g. a missing field).
    pub fn locate(&self, path: &[String]) -> Pos {
        let Some((first, rest)) = path.split_first() else { return self.pos };
        match self.child(first) {
            Some((pos, _)) if rest.is_empty() => pos,
            Some((_, v)) => v.locate(rest),
            None => self.pos,
        }
    }

    /// The value at `path` (mapping keys and list indices), if the file has it.
    pub fn at_path(&self, path: &[String]) -> Option<&Yaml> {
        let Some((first, rest)) = path.split_first() else { return Some(self) };
        self.child(first)?.1.at_path(rest)
    }

    /// One step of a path: a mapping's entry (with its key's position) or a list's item.
    fn child(&self, step: &str) -> Option<(Pos, &Yaml)> {
        match &self.value {
            Value::Map(m) => m.iter().find(|(k, _)| k.name == step).map(|(k, v)| (k.pos, v)),
            Value::Seq(s) => step.parse::<usize>().ok().and_then(|i| s.get(i)).map(|v| (v.pos, v)),
            _ => None,
        }
    }

    /// Scalars as text (what `{params.x}` substitutes); None for lists and mappings.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Null => Some(String::new()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(serde_json::Number::from_f64(*f).map_or_else(|| f.to_string(), |n| n.to_string())),
            Value::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(v) => J::Array(v.iter().map(Yaml::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect()),
        }
    }
}

/// Parses a whole document; an empty document is an empty mapping.
pub fn parse(text: &str) -> Result<Yaml, serde_saphyr::Error> {
    if text.trim().is_empty() {
        return Ok(Yaml { value: Value::Map(Vec::new()), pos: Pos { line: 1, column: 1 } });
    }
    // YAML 1.2 core booleans only: under YAML 1.1 a parameter named `n` or a patient `NO`
    // would silently become `false`. Leading zeros stay text, so IDs such as 007 survive.
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.leading_zero_numbers_as_strings = true;
    let s: Spanned<Value> = serde_saphyr::from_str_with_options(text, options)?;
    Ok(Yaml { pos: Pos::from(&s), value: s.value })
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v).map(Value::Int).map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Value>>()? {
            out.push(Yaml { pos: Pos::from(&item), value: item.value });
        }
        Ok(Value::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out: Vec<(Key, Yaml)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Value>>()? {
            let pos = Pos::from(&key);
            let name = match key.value {
                Value::Str(s) => s,
                Value::Int(i) => i.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Float(f) => f.to_string(),
                _ => return Err(de::Error::custom("mapping keys must be plain scalars")),
            };
            let key = Key { pos, name };
            let value = map.next_value::<Spanned<Value>>()?;
            if out.iter().any(|(k, _)| k.name == key.name) {
                return Err(de::Error::custom(format!("duplicate key `{}`", key.name)));
            }
            out.push((key, Yaml { pos: Pos::from(&value), value: value.value }));
        }
        Ok(Value::Map(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_nested_keys_and_values() {
        let y = parse("name: x\nnodes:\n  pre:\n    shell: echo hi\n").unwrap();
        let nodes = y.get("nodes").unwrap();
        let (k, v) = &nodes.as_map().unwrap()[0];
        assert_eq!(k.name, "pre");
        assert_eq!((k.pos.line, k.pos.column), (3, 3));
        let shell = v.get("shell").unwrap();
        assert_eq!(shell.pos.line, 4);
        assert_eq!(shell.scalar_text().unwrap(), "echo hi");
    }

    #[test]
    fn paths_find_keys_and_list_items_or_stop_where_the_file_does() {
        let y = parse("with:\n  train: {lr: 0.1, sizes: [1, 2]}\n").unwrap();
        let w = y.get("with").unwrap();
        let path = |p: &str| p.split('.').map(str::to_owned).collect::<Vec<_>>();
        let at = |p: &str| (w.locate(&path(p)).line, w.locate(&path(p)).column);
        assert_eq!(at("train.lr"), (2, 11), "a mapping entry: its key");
        assert_eq!(at("train.sizes.1"), (2, 31), "a list item: the item");
        assert_eq!(at("train.missing"), (2, 10), "a key the file lacks: its mapping");
        assert_eq!(w.at_path(&path("train.sizes.1")).unwrap().scalar_text().unwrap(), "2");
        assert!(w.at_path(&path("train.lr.x")).is_none());
    }

    #[test]
    fn scalars_keep_their_types() {
        let y = parse("a: 0.05\nb: 5\nc: true\nd: [1, x]\n").unwrap();
        assert!(matches!(y.get("a").unwrap().value, Value::Float(f) if f == 0.05));
        assert!(matches!(y.get("b").unwrap().value, Value::Int(5)));
        assert!(matches!(y.get("c").unwrap().value, Value::Bool(true)));
        assert_eq!(y.get("a").unwrap().scalar_text().unwrap(), "0.05");
        assert_eq!(y.get("d").unwrap().to_json(), serde_json::json!([1, "x"]));
    }

    #[test]
    fn yaml_1_1_booleans_and_leading_zeros_stay_text() {
        let y = parse("n: 1\nids: [NO, yes, 007]\n").unwrap();
        assert_eq!(y.as_map().unwrap()[0].0.name, "n");
        assert_eq!(y.get("ids").unwrap().to_json(), serde_json::json!(["NO", "yes", "007"]));
    }

    #[test]
    fn syntax_errors_carry_a_location() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.location().is_some_and(|l| l.line() >= 1));
    }
}
