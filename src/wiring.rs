//! The one place that wires the engine to the study: every task kind the `dag` binary knows,
//! the engine's generic ones and the study's.

use dag_engine::task::Registry;

pub fn registry() -> Registry {
    let mut r = Registry::default();
    dag_engine::builtin::register(&mut r);
    dag_study::register(&mut r);
    r
}
