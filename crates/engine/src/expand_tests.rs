//! Expansion: which instances a spec makes, what each needs, and when a set that a node
//! produces lets the nodes over it expand.

use super::{resolved_params, Expansion};
use crate::test_spec::load;

/// Each instance's id and, per entry of its `needs`, the ids it needs.
fn shape(x: &Expansion<'_>) -> Vec<(String, Vec<Vec<String>>)> {
    let id = |i: usize| x.instances[i].id.clone();
    x.instances.iter().map(|inst| (inst.id.clone(), inst.deps.iter().map(|d| d.iter().map(|&i| id(i)).collect()).collect())).collect()
}

fn owned(pairs: &[(&str, &[&[&str]])]) -> Vec<(String, Vec<Vec<String>>)> {
    pairs.iter().map(|(id, deps)| ((*id).to_owned(), deps.iter().map(|d| d.iter().map(|s| (*s).to_owned()).collect()).collect())).collect()
}

#[test]
fn a_node_over_the_same_set_pairs_one_to_one_and_one_without_a_set_gathers_in_set_order() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "name: t\nsets:\n  s: {values: [q, p]}\n  f: {range: 2}\nnodes:\n  a: {foreach: s, shell: 'echo {s}'}\n  b: {foreach: s, needs: a, shell: 'cat {inputs.a}'}\n  c: {needs: [a, b], shell: 'cat {inputs.b}'}\n  d: {foreach: f, needs: a, shell: 'cat {inputs.a}'}\n";
    let spec = load(dir.path(), yaml, &[]);
    let x = Expansion::new(&spec).unwrap();
    assert!(x.is_complete());
    let expected: &[(&str, &[&[&str]])] = &[
        ("a[q]", &[]),
        ("a[p]", &[]),
        ("b[q]", &[&["a[q]"]]),
        ("b[p]", &[&["a[p]"]]),
        ("c", &[&["a[q]", "a[p]"], &["b[q]", "b[p]"]]),
        ("d[0]", &[&["a[q]", "a[p]"]]),
        ("d[1]", &[&["a[q]", "a[p]"]]),
    ];
    let mut got = shape(&x);
    got.sort_by_key(|(id, _)| id.clone());
    let mut want = owned(expected);
    want.sort_by_key(|(id, _)| id.clone());
    assert_eq!(got, want);
    // Set order is the instances' order within a node (the order gathers hand them on).
    let a: Vec<&str> = x.by_node[0].as_ref().unwrap().iter().map(|&i| x.instances[i].id.as_str()).collect();
    assert_eq!(a, ["a[q]", "a[p]"]);
}

#[test]
fn nodes_over_a_produced_set_wait_for_it_and_a_duplicate_value_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "name: t\nsets:\n  s: {from: make, file: values.txt}\nnodes:\n  make: {shell: 'echo'}\n  per: {foreach: s, needs: make, shell: 'echo {s}'}\n  all: {needs: per, shell: 'cat {inputs.per}'}\n";
    let spec = load(dir.path(), yaml, &[]);
    let mut x = Expansion::new(&spec).unwrap();
    assert!(!x.is_complete());
    assert_eq!(shape(&x), owned(&[("make", &[])]), "only the producer can expand before the set is known");
    assert_eq!(x.pending_sets(), [("s", "make", "values.txt")]);
    assert!(x.provide_set("s", vec!["x".into(), "y".into(), "x".into()]).unwrap_err().contains("lists `x` twice"));
    std::fs::write(dir.path().join("values.txt"), "y\n\n  x \n").unwrap();
    let new = x.provide_set_from("s", "make", dir.path(), "values.txt").unwrap();
    assert!(x.is_complete());
    let added: Vec<&str> = new.iter().map(|&i| x.instances[i].id.as_str()).collect();
    assert_eq!(added, ["per[y]", "per[x]", "all"], "blank lines dropped, values trimmed, file order kept");
    assert_eq!(x.set_values("s").unwrap(), ["y", "x"]);
    let all = x.instances.iter().find(|i| i.id == "all").unwrap();
    assert_eq!(all.deps, [vec![1, 2]]);
}

#[test]
fn parameters_resolve_with_their_types_and_set_values_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "name: t\nparams: {n: 3, tag: v1}\nsets:\n  s: {range: 2}\nnodes:\n  a: {foreach: s, task: noop, with: {label: {n: '{params.n}', text: '{params.tag}-{s}', list: [1, '{s}']}}}\n";
    let spec = load(dir.path(), yaml, &[("n", "5")]);
    let x = Expansion::new(&spec).unwrap();
    let p = resolved_params(&spec, &x.instances[1]);
    assert_eq!(p, serde_json::json!({"label": {"n": 5, "text": "v1-1", "list": [1, "1"]}}));
}
