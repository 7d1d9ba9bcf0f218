//! The one list of runtimes wasm-hostcall runs on: [`RUNTIMES`].
//!
//! Every host crate (`hosts/host-*`) is registered here once, and everything that runs "every
//! runtime" reads this list: the conformance tests, the comparison tool, and the `runtimes`
//! binary (`cargo run -p runtimes -- list`). Adding a runtime is one host crate and one line in
//! [`RUNTIMES`] (behind a cargo feature if its build needs system packages).
//!
//! "Every runtime" can be narrowed for one process with the environment variable
//! [`SELECT_VAR`] (`WASM_HOSTCALL_RUNTIMES=wasmtime,wamr cargo test -p conformance`): the
//! suites and the comparison tool then run those runtimes only ([`selected`]).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::OnceLock;

use harness::{Config, DynEngine, Engine, Failure, Limits};

/// A registered runtime: what its host crate says about itself, and how to make its engines.
#[derive(Debug, Clone, Copy)]
pub struct Runtime {
    /// [`Engine::NAME`].
    pub name: &'static str,
    /// [`Engine::CRATE`]: the runtime's crate.
    pub krate: &'static str,
    /// [`Engine::TIERS`], the default first.
    pub tiers: &'static [&'static str],
    /// [`Engine::METERS_FUEL`].
    pub meters_fuel: bool,
    /// [`Engine::STOPS_ON_DEADLINE`].
    pub stops_on_deadline: bool,
    /// [`Engine::SMALL_ADDRESS_SPACE_TIER`].
    pub small_address_space_tier: Option<&'static str>,
    new: fn(&Config) -> Result<Box<dyn DynEngine>, Failure>,
    cli: fn(Vec<OsString>) -> ExitCode,
}

impl Runtime {
    /// The entry for the host crate whose engine is `E`.
    pub const fn of<E: Engine + 'static>() -> Runtime
    where
        E::Module: 'static,
        E::Instance: 'static,
    {
        Runtime {
            name: E::NAME,
            krate: E::CRATE,
            tiers: E::TIERS,
            meters_fuel: E::METERS_FUEL,
            stops_on_deadline: E::STOPS_ON_DEADLINE,
            small_address_space_tier: E::SMALL_ADDRESS_SPACE_TIER,
            new: |config| E::new(config).map(|e| Box::new(e) as Box<dyn DynEngine>),
            cli: harness::cli::main_from::<E>,
        }
    }

    /// An engine of this runtime set up as `config` says, except that a runtime that cannot
    /// meter fuel gets none (see [`Engine::METERS_FUEL`]: such a runtime refuses a fuel limit), and
    /// one that cannot be stopped by the clock no timeout ([`Engine::STOPS_ON_DEADLINE`]).
    pub fn engine(&self, config: &Config) -> Result<Box<dyn DynEngine>, Failure> {
        (self.new)(&self.adapt(config))
    }

    /// An engine of this runtime set up exactly as `config` says (a fuel limit or a timeout
    /// included, which a runtime without the mechanism refuses).
    pub fn engine_exactly(&self, config: &Config) -> Result<Box<dyn DynEngine>, Failure> {
        (self.new)(config)
    }

    /// `config` as [`Runtime::engine`] applies it to this runtime.
    pub fn adapt(&self, config: &Config) -> Config {
        Config { limits: config.limits.enforceable(self.meters_fuel, self.stops_on_deadline), ..config.clone() }
    }

    /// Runs this runtime's host binary (`harness::cli`) with `command_line` (program name first).
    pub fn cli_main(&self, command_line: Vec<OsString>) -> ExitCode {
        (self.cli)(command_line)
    }
}

/// Every runtime this build has, in report order. Runtimes whose build needs system packages are
/// here only when their cargo feature is on (see the README).
pub const RUNTIMES: &[Runtime] = &[
    Runtime::of::<host_wasmtime::Wasmtime>(),
    Runtime::of::<host_wasmer::Wasmer>(),
    Runtime::of::<host_wasmi::Wasmi>(),
    Runtime::of::<host_tinywasm::Tinywasm>(),
    Runtime::of::<host_submilli::Submilli>(),
    Runtime::of::<host_dlr::Dlr>(),
    Runtime::of::<host_silverfir::Silverfir>(),
    #[cfg(feature = "wamr")]
    Runtime::of::<host_wamr::Wamr>(),
    #[cfg(feature = "wasm3")]
    Runtime::of::<host_wasm3::Wasm3>(),
];

/// The environment variable that narrows [`selected`]: runtime names, separated by commas.
pub const SELECT_VAR: &str = "WASM_HOSTCALL_RUNTIMES";

/// The runtimes "every runtime" means in this process: [`RUNTIMES`], or those named in
/// [`SELECT_VAR`] (in [`RUNTIMES`] order), or why that variable is wrong (a name this build does
/// not have, or no name at all).
pub fn selection() -> Result<&'static [Runtime], String> {
    static SELECTION: OnceLock<Result<Vec<Runtime>, String>> = OnceLock::new();
    let selection = SELECTION.get_or_init(|| {
        let Some(value) = std::env::var_os(SELECT_VAR) else { return Ok(RUNTIMES.to_vec()) };
        let value = value.to_string_lossy();
        let wanted: Vec<&str> = value.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
        let all: Vec<&str> = names().collect();
        if let Some(unknown) = wanted.iter().find(|n| !all.contains(n)) {
            return Err(format!("{SELECT_VAR}: no runtime `{unknown}` in this build (it has: {})", all.join(", ")));
        }
        if wanted.is_empty() {
            return Err(format!("{SELECT_VAR} is set but names no runtime (it has: {})", all.join(", ")));
        }
        Ok(RUNTIMES.iter().filter(|r| wanted.contains(&r.name)).copied().collect())
    });
    selection.as_deref().map_err(Clone::clone)
}

/// [`selection`], for the suites: every runtime, or those [`SELECT_VAR`] names.
///
/// # Panics
///
/// If [`SELECT_VAR`] names a runtime this build does not have, or none: a test run must not
/// quietly check fewer runtimes than it was asked to.
pub fn selected() -> &'static [Runtime] {
    selection().unwrap_or_else(|message| panic!("{message}"))
}

/// The runtime called `name`, if this build has it (whatever [`SELECT_VAR`] says).
pub fn find(name: &str) -> Option<&'static Runtime> {
    RUNTIMES.iter().find(|r| r.name == name)
}

/// The names of [`RUNTIMES`], in order.
pub fn names() -> impl Iterator<Item = &'static str> {
    RUNTIMES.iter().map(|r| r.name)
}

/// One engine per [`selected`] runtime, at its default tier, each enforcing `limits` (see
/// [`Runtime::engine`]), in [`RUNTIMES`] order.
pub fn engines(limits: &Limits) -> Result<Vec<Box<dyn DynEngine>>, Failure> {
    let config = Config::new(limits.clone());
    selected().iter().map(|runtime| runtime.engine(&config)).collect()
}

/// A runtime at one of its tiers: the engine, or why it cannot be set up here.
pub struct Tier {
    /// The runtime.
    pub runtime: &'static Runtime,
    /// The tier.
    pub tier: &'static str,
    /// The engine, or why this tier is not available.
    pub engine: Result<Box<dyn DynEngine>, Failure>,
}

impl Tier {
    /// `runtime/tier`, as reports name it.
    pub fn label(&self) -> String {
        format!("{}/{}", self.runtime.name, self.tier)
    }
}

/// Every tier of every [`selected`] runtime, in [`RUNTIMES`] order then tier order (each
/// runtime's default first), each set up as `config` says (see [`Runtime::engine`];
/// `config.tier` is ignored).
pub fn all_tiers(config: &Config) -> Vec<Tier> {
    selected()
        .iter()
        .flat_map(|runtime| runtime.tiers.iter().map(move |&tier| make_tier(runtime, tier, config)))
        .collect()
}

/// Every tier of `runtime`, which need not be in [`RUNTIMES`] (the comparison tool measures the
/// host of components beside them), each set up as `config` says.
pub fn tiers_of(runtime: &'static Runtime, config: &Config) -> Vec<Tier> {
    runtime.tiers.iter().map(|&tier| make_tier(runtime, tier, config)).collect()
}

/// One runtime at one tier (`None` if this build has no such runtime or tier), set up as
/// `config` says (see [`Runtime::engine`]; `config.tier` is ignored).
pub fn one_tier(runtime: &str, tier: &str, config: &Config) -> Option<Tier> {
    let runtime = find(runtime)?;
    let tier = runtime.tiers.iter().copied().find(|t| *t == tier)?;
    Some(make_tier(runtime, tier, config))
}

fn make_tier(runtime: &'static Runtime, tier: &'static str, config: &Config) -> Tier {
    let config = Config { tier: Some(tier.to_owned()), ..config.clone() };
    Tier { runtime, tier, engine: runtime.engine(&config) }
}
