//! The resource limits every host enforces on every instance, with the same meaning.

use std::time::Duration;

/// Bounds on what one guest instance may use. Every host enforces each of them with its
/// runtime's own mechanism:
///
/// | limit              | wasmtime                     | wasmer                         | wasmi                      |
/// |--------------------|------------------------------|--------------------------------|----------------------------|
/// | `fuel`             | fuel (`consume_fuel`)        | metering middleware            | fuel (`consume_fuel`)      |
/// | `max_memory_bytes` | `StoreLimits`                | tunables (memory maximum)      | `StoreLimits`              |
/// | tables, instances  | `StoreLimits`                | tunables (table maximum)       | `StoreLimits`              |
/// | stack              | `max_wasm_stack` (512 KiB)   | stack guard page               | call-depth limit           |
/// | `timeout`          | epoch interruption           | host interrupt                 | fuel slices, clock between |
///
/// The other hosts (tinywasm, submilli, dlr, WAMR, wasm3) have some of these mechanisms; each host crate's documentation says
/// what it does instead (the README's "Limits" has the table), and wasm3, which cannot stop a
/// guest at all, refuses a fuel limit ([`crate::Engine::METERS_FUEL`]). A runtime that cannot be stopped by
/// the clock refuses a timeout ([`crate::Engine::STOPS_ON_DEADLINE`]).
///
/// Fuel is roughly "wasm instructions executed", but each runtime counts a little differently
/// (the same loop cost 800,002 fuel on wasmtime, 800,004 on wasmer and 900,163 on wasmi), so only
/// "ran out" is comparable across runtimes, not the exact point where it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// CPU budget per instance, in fuel units (about one per wasm instruction); `None` for no
    /// limit.
    pub fuel: Option<u64>,
    /// The most bytes one linear memory may grow to. `memory.grow` past it returns -1; a module
    /// declaring more initial memory fails to instantiate.
    pub max_memory_bytes: usize,
    /// The most elements one table may hold.
    pub max_table_elements: u32,
    /// The most bytes of event payload an instance's log keeps.
    pub max_log_bytes: usize,
    /// Wall-clock budget per instance, from the start of its instantiation (start function
    /// included) until it is dropped: a guest still running then ends in
    /// [`crate::Trap::Timeout`]. `None` for no limit.
    pub timeout: Option<Duration>,
}

/// Bytes in a MiB.
pub const MIB: usize = 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: Some(1_000_000_000),
            max_memory_bytes: 64 * MIB,
            max_table_elements: 10_000,
            max_log_bytes: 64 * MIB,
            timeout: None,
        }
    }
}

impl Limits {
    /// No fuel limit, otherwise the defaults: for benchmarks of trusted guests.
    pub fn unmetered() -> Self {
        Limits { fuel: None, ..Limits::default() }
    }

    /// These limits as a runtime enforces them: without fuel on one that cannot meter it (see
    /// [`crate::Engine::METERS_FUEL`]; such a runtime refuses a fuel limit, and cannot run what
    /// only fuel stops), without a timeout on one that cannot be stopped by the clock
    /// ([`crate::Engine::STOPS_ON_DEADLINE`]).
    pub fn enforceable(&self, meters_fuel: bool, stops_on_deadline: bool) -> Limits {
        Limits {
            fuel: self.fuel.filter(|_| meters_fuel),
            timeout: self.timeout.filter(|_| stops_on_deadline),
            ..self.clone()
        }
    }

    /// Refuses these limits, with [`crate::Fault::Setup`] saying why, if `runtime` cannot enforce
    /// them: what each host's [`crate::Engine::new`] checks first.
    pub fn refuse_unenforceable(
        &self,
        runtime: &str,
        meters_fuel: bool,
        stops_on_deadline: bool,
    ) -> Result<(), crate::Failure> {
        let refuse = |what: &str| Err(crate::Fault::Setup(format!("{runtime} cannot {what}")).into());
        if self.fuel.is_some() && !meters_fuel {
            return refuse(
                "meter fuel, so it cannot enforce a fuel limit: nothing could stop a guest's endless loop (run \
                 without a fuel limit, with trusted guests only)",
            );
        }
        if self.timeout.is_some() && !stops_on_deadline {
            return refuse("stop a guest by the clock, so it cannot enforce a timeout (run without --timeout)");
        }
        Ok(())
    }
}

/// How a host sets its engine up: the limits, the compiler tier, and whether to provide the
/// benchmark imports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The limits every instance runs under.
    pub limits: Limits,
    /// The compiler tier, one of the runtime's [`crate::Engine::TIERS`]; `None` for the first
    /// (the runtime's default).
    pub tier: Option<String>,
    /// Provide the no-op imports of [`crate::bench`] too (for the comparison tool only; a module
    /// that imports them is refused otherwise).
    pub bench_imports: bool,
    /// How long each `kv_get` lookup takes: the [`host_imports::DemoStore`]'s delay, slept on the
    /// thread that runs the guest, as blocking I/O would (none by default).
    pub kv_delay: Duration,
}

impl Config {
    /// The runtime's default tier, with `limits`, and no benchmark imports.
    pub fn new(limits: Limits) -> Self {
        Config { limits, ..Config::default() }
    }

    /// The [`Recorder`](host_imports::Recorder) of a new instance: events to `sink`, at most the
    /// limits' log, `kv_get` from a [`host_imports::DemoStore`] with [`Config::kv_delay`].
    pub fn recorder(&self, sink: host_imports::Sink) -> host_imports::Recorder {
        let recorder = host_imports::Recorder::new(sink, self.limits.max_log_bytes);
        if self.kv_delay.is_zero() {
            recorder
        } else {
            recorder.with_store(std::sync::Arc::new(host_imports::DemoStore { delay: self.kv_delay }))
        }
    }
}
