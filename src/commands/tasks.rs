//! `dag tasks`: every task kind this binary knows, with its version.

use dag_engine::error::Error;
use dag_engine::task::Registry;

pub fn tasks(registry: &Registry) -> Result<(), Error> {
    for t in registry.iter() {
        crate::stdout::outln!("{:<16} v{:<3} {}", t.kind(), t.version(), t.description());
    }
    Ok(())
}
