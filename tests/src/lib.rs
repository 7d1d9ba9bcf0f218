//! Cross-runtime tests of wasm-hostcall: the three hosts run the same guests and must agree with
//! each other and with the golden files in `tests/golden/`.
//!
//! This library holds the one list of runtimes ([`RUNTIMES`], [`engines`], [`all_tiers`]); the
//! tests are in `tests/tests/`.
#![forbid(unsafe_code)]

pub mod soak;

use harness::{Config, DynEngine, Engine, Failure, Limits};

/// The runtimes, in report order.
pub const RUNTIMES: [&str; 3] = ["wasmtime", "wasmer", "wasmi"];

/// One engine per runtime, at its default tier, each enforcing `limits`, in [`RUNTIMES`] order.
pub fn engines(limits: &Limits) -> Result<Vec<Box<dyn DynEngine>>, Failure> {
    let config = Config::new(limits.clone());
    let engines: Vec<Box<dyn DynEngine>> = vec![
        Box::new(host_wasmtime::Wasmtime::new(&config)?),
        Box::new(host_wasmer::Wasmer::new(&config)?),
        Box::new(host_wasmi::Wasmi::new(&config)?),
    ];
    debug_assert!(engines.iter().map(|e| e.name()).eq(RUNTIMES));
    Ok(engines)
}

/// A runtime at one of its tiers: the engine, or why it cannot be set up here.
pub struct Tier {
    /// The runtime.
    pub runtime: &'static str,
    /// The tier.
    pub tier: &'static str,
    /// The engine, or why this tier is not available.
    pub engine: Result<Box<dyn DynEngine>, Failure>,
}

impl Tier {
    /// `runtime/tier`, as reports name it.
    pub fn label(&self) -> String {
        format!("{}/{}", self.runtime, self.tier)
    }
}

/// Every tier of every runtime, in [`RUNTIMES`] order then tier order (each runtime's default
/// first), each set up as `config` says.
pub fn all_tiers(config: &Config) -> Vec<Tier> {
    let config = &Config { tier: None, ..config.clone() };
    let mut tiers = Vec::new();
    tiers_of::<host_wasmtime::Wasmtime>(config, &mut tiers);
    tiers_of::<host_wasmer::Wasmer>(config, &mut tiers);
    tiers_of::<host_wasmi::Wasmi>(config, &mut tiers);
    tiers
}

/// One runtime at one tier (`None` if there is no such runtime or tier), set up as `config` says.
pub fn one_tier(runtime: &str, tier: &str, config: &Config) -> Option<Tier> {
    let mut tiers = Vec::new();
    match runtime {
        "wasmtime" => tiers_of::<host_wasmtime::Wasmtime>(&only(tier, config), &mut tiers),
        "wasmer" => tiers_of::<host_wasmer::Wasmer>(&only(tier, config), &mut tiers),
        "wasmi" => tiers_of::<host_wasmi::Wasmi>(&only(tier, config), &mut tiers),
        _ => return None,
    }
    tiers.into_iter().next()
}

fn only(tier: &str, config: &Config) -> Config {
    Config { tier: Some(tier.to_owned()), ..config.clone() }
}

/// Adds the tiers of `E` to `out`: all of them, or only `config.tier` if it is set.
fn tiers_of<E: Engine + 'static>(config: &Config, out: &mut Vec<Tier>)
where
    E::Module: 'static,
    E::Instance: 'static,
{
    for &tier in E::TIERS.iter().filter(|t| config.tier.as_deref().is_none_or(|wanted| wanted == **t)) {
        let config = Config { tier: Some(tier.to_owned()), ..config.clone() };
        let engine = E::new(&config).map(|e| Box::new(e) as Box<dyn DynEngine>);
        out.push(Tier { runtime: E::NAME, tier, engine });
    }
}
