//! What several parts of the suite share.

use harness::{DynEngine, Limits, LoadedModule};

/// One module loaded on every engine of the build, with the default limits.
pub(crate) struct Everywhere {
    pub(crate) engines: Vec<Box<dyn DynEngine>>,
    /// `modules[i]` is the module as `engines[i]` loaded it.
    pub(crate) modules: Vec<LoadedModule>,
}

impl Everywhere {
    /// Loads `module` (text or binary) on every engine; panics with the engine's name if one
    /// refuses it.
    pub(crate) fn load(module: &str) -> Everywhere {
        let engines = runtimes::engines(&Limits::default()).expect("engines");
        let modules = engines
            .iter()
            .map(|e| e.load_module(module.as_bytes()).unwrap_or_else(|f| panic!("{}: {f}", e.name())))
            .collect();
        Everywhere { engines, modules }
    }
}
