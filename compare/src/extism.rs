//! Extism, measured as a peer of the request path (the comparison's `peers` feature): the
//! plugin `guest-extism` (extism-pdk) on extism 1.30's host, which runs wasmtime 43 with
//! Cranelift, beside our ABI and the component model, in the same rounds.
//!
//! Extism's answer to "how does a guest pass data to its host" is bytes through its kernel:
//! `Plugin::call(name, input)` copies the input into the kernel's memory and the output out of
//! it; a host function gets memory handles and reads what they point at. Its column has a sample
//! where the scenario exists in that shape: `log_str` (a host function taking a string), entering
//! the plugin, a call with data in and out, start-up, the kernel and memory.
//!
//! The host function `log_str` records through the same [`harness::Recorder`] as our hosts.
//! Extism binds a host function with its user data when the plugin is compiled, so the instances
//! of one compiled plugin share that recorder (here it discards every event).

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a loop count from a positive duration, and a float-to-integer `as` saturates"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use extism::{CompiledPlugin, CurrentPlugin, Manifest, Plugin, PluginBuilder, UserData, Val, Wasm};
use harness::{Recorder, Sink};

use crate::measure::{Budget, Kind, MemoryProbe, Sampler, Spec, median};
use crate::payload::text_of_size;

/// The column's runtime name.
pub(crate) const NAME: &str = "extism";

/// The column's tier: extism 1.30 runs wasmtime 43 with Cranelift.
pub(crate) const TIER: &str = "cranelift";

/// Compiles the plugin: the guest, no WASI, the host function `log_str`, no compilation cache
/// (so that compiling is measured, and nothing is written to disk).
fn compile(wasm: &[u8]) -> Result<CompiledPlugin> {
    compile_with(wasm, |manifest| manifest, |builder| builder)
}

/// [`compile`], with `manifest` and `builder` applied to the plugin's manifest and builder (the
/// tests' limits).
fn compile_with(
    wasm: &[u8],
    manifest: impl FnOnce(Manifest) -> Manifest,
    builder: impl FnOnce(PluginBuilder<'static>) -> PluginBuilder<'static>,
) -> Result<CompiledPlugin> {
    let manifest = manifest(Manifest::new([Wasm::data(wasm.to_vec())]));
    let recorder = UserData::new(Recorder::new(Sink::Discard, usize::MAX));
    let base = PluginBuilder::new(manifest).with_wasi(false).with_cache_disabled();
    CompiledPlugin::new(builder(base).with_function("log_str", [extism::PTR], [], recorder, log_str))
}

/// The host function: reads the text the handle points at (checked to be UTF-8 by Extism) and
/// records it, with the checks of our hosts' `log_str`.
fn log_str(
    plugin: &mut CurrentPlugin,
    inputs: &[Val],
    _outputs: &mut [Val],
    recorder: UserData<Recorder>,
) -> Result<(), extism::Error> {
    let input = inputs.first().ok_or_else(|| anyhow!("log_str takes one handle"))?;
    let text: &str = plugin.memory_get_val(input)?;
    let recorder = recorder.get()?;
    let mut recorder = recorder.lock().map_err(|_| anyhow!("the recorder's lock is poisoned"))?;
    recorder.log_value(common::Import::LogStr, common::Event::Str(text.into()))?;
    Ok(())
}

/// The Extism column: the compiled plugin and an instance for the loops.
pub(crate) struct ExtismRunner {
    compiled: CompiledPlugin,
    bench: Plugin,
    calibrated: std::collections::HashMap<String, i32>,
}

impl ExtismRunner {
    pub(crate) fn new() -> Result<Self> {
        let compiled = compile(guest_wasm::GUEST_EXTISM).context("extism: compiling the plugin")?;
        let bench = Plugin::new_from_compiled(&compiled).context("extism: instantiating the plugin")?;
        Ok(ExtismRunner { compiled, bench, calibrated: Default::default() })
    }

    fn instantiate(&self) -> Result<Plugin> {
        Plugin::new_from_compiled(&self.compiled)
    }

    /// Runs `export(n)` once and returns its time.
    fn run_loop(&mut self, export: &str, n: i32) -> Result<Duration> {
        let start = Instant::now();
        self.bench.call::<i32, ()>(export, n)?;
        Ok(start.elapsed())
    }
}

/// `handle_echo`'s response, checked to be the request.
fn echo(plugin: &mut Plugin, input: &str) -> Result<String> {
    let response: String = plugin.call("handle_echo", black_box(input))?;
    ensure!(response.len() == input.len(), "handle_echo misbehaves");
    Ok(response)
}

impl Sampler for ExtismRunner {
    fn sample(&mut self, spec: &Spec, budget: &Budget) -> Result<Option<f64>> {
        Ok(Some(match &spec.kind {
            // `log_str`'s rows: the plugin calls the host function with the text `n` times.
            Kind::Loop { core: Some(args), .. } if spec.id.starts_with("call.log_str.") => {
                let text = std::str::from_utf8(&args.payload).context("the payload is text")?;
                self.bench.call::<&str, ()>("set_payload", text)?;
                let n = match self.calibrated.get(&spec.id) {
                    Some(&n) => n,
                    None => {
                        let n = crate::measure::calibrate(budget.target, |n| self.run_loop("loop_log_str", n))?;
                        self.calibrated.insert(spec.id.clone(), n);
                        n
                    }
                };
                let empty = self.run_loop("loop_empty", n)?;
                let full = self.run_loop("loop_log_str", n)?;
                (full.as_secs_f64() - empty.as_secs_f64()) * 1e9 / f64::from(n)
            }
            Kind::EnterGuest => {
                let n = 1_000u32.max((budget.target.as_secs_f64() / 200e-9) as u32);
                let start = Instant::now();
                for _ in 0..n {
                    self.bench.call::<(), ()>("noop", ())?;
                }
                start.elapsed().as_secs_f64() * 1e9 / f64::from(n)
            }
            Kind::CallWithInput { size } => {
                let input = text_of_size(*size);
                let mut plugin = self.instantiate()?;
                echo(&mut plugin, &input)?;
                let mut n: u32 = 0;
                let start = Instant::now();
                while n < 10 || start.elapsed() < budget.target {
                    black_box(echo(&mut plugin, &input)?);
                    n += 1;
                }
                start.elapsed().as_secs_f64() * 1e9 / f64::from(n)
            }
            Kind::Compile => {
                let start = Instant::now();
                black_box(compile(guest_wasm::GUEST_EXTISM)?);
                start.elapsed().as_secs_f64() * 1e6
            }
            Kind::Instantiate => {
                let mut times = Vec::new();
                for _ in 0..10 {
                    let start = Instant::now();
                    let plugin = self.instantiate()?;
                    times.push(start.elapsed().as_secs_f64() * 1e6);
                    drop(plugin);
                }
                median(&mut times)
            }
            Kind::RequestCycle { size } => {
                let input = text_of_size(*size);
                let mut times = Vec::new();
                for _ in 0..20 {
                    let start = Instant::now();
                    let mut plugin = self.instantiate()?;
                    echo(&mut plugin, &input)?;
                    drop(plugin);
                    times.push(start.elapsed().as_secs_f64() * 1e6);
                }
                median(&mut times)
            }
            Kind::FirstCall => {
                let compiled = compile(guest_wasm::GUEST_EXTISM)?;
                let mut plugin = Plugin::new_from_compiled(&compiled)?;
                let start = Instant::now();
                let result: i32 = plugin.call("hello", ())?;
                let elapsed = start.elapsed();
                ensure!(result == 4567, "hello returned {result}");
                elapsed.as_secs_f64() * 1e6
            }
            Kind::Kernel => {
                let limit = i32::try_from(budget.kernel_limit).unwrap_or(i32::MAX);
                let mut plugin = self.instantiate()?;
                let start = Instant::now();
                let got: i32 = plugin.call("kernel", limit)?;
                let elapsed = start.elapsed();
                let want = common::kernel::count_primes(budget.kernel_limit).cast_signed();
                ensure!(got == want, "extism: kernel({limit}) returned {got}, expected {want}");
                elapsed.as_secs_f64() * 1e3
            }
            _ => return Ok(None),
        }))
    }

    fn clean_up(&self) {}
}

/// The memory probe's Extism branch (see [`crate::measure::memory_probe`]).
pub(crate) fn memory_probe(instances: usize) -> Result<MemoryProbe> {
    crate::measure::measure_memory(
        || compile(guest_wasm::GUEST_EXTISM),
        |compiled| {
            let mut plugin = Plugin::new_from_compiled(compiled)?;
            ensure!(plugin.call::<(), i32>("hello", ())? == 4567, "hello misbehaves");
            Ok(plugin)
        },
        instances,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plugin runs on Extism's host: the demo's value, the echo, the kernel, and the loops
    /// through the host function.
    #[test]
    fn the_plugin_runs() {
        let mut runner = ExtismRunner::new().expect("the plugin compiles and instantiates");
        let mut plugin = runner.instantiate().expect("instantiate");
        assert_eq!(plugin.call::<(), i32>("hello", ()).expect("hello"), 4567);
        assert_eq!(echo(&mut plugin, "aé€😀").expect("echo"), "aé€😀");
        assert_eq!(plugin.call::<i32, i32>("kernel", 5000).expect("kernel"), 669);
        runner.bench.call::<&str, ()>("set_payload", "Hello World!").expect("set_payload");
        runner.run_loop("loop_log_str", 3).expect("loop_log_str");
        runner.run_loop("loop_empty", 3).expect("loop_empty");
        // Not UTF-8: the plugin's `String` input refuses it, as an error of the call.
        assert!(plugin.call::<&[u8], String>("handle_echo", &[0xff, 0xfe][..]).is_err());
    }

    /// A hostile plugin: its name, its text, what it changes in the manifest and the builder,
    /// and what the call's error says.
    type Case = (
        &'static str,
        String,
        Box<dyn FnOnce(Manifest) -> Manifest>,
        Box<dyn FnOnce(PluginBuilder<'static>) -> PluginBuilder<'static>>,
        &'static str,
    );

    /// How Extism's host ends a hostile plugin's call (README, "Core ABI, component model or
    /// Extism?"): each call fails with an error (the message checked), and a new instance of
    /// our plugin runs after it.
    #[test]
    fn hostile_plugins_end_in_errors() {
        const LOG: &str = r#"(import "extism:host/user" "log_str" (func $log (param i64)))"#;
        const ENV: &str = r#"(import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
            (import "extism:host/env" "store_u8" (func $store (param i64 i32)))"#;
        let none = |m| m;
        let plain = |b| b;
        let cases: [Case; 6] = [
            (
                "a handle past the kernel's memory",
                format!(
                    "(module {LOG} (func (export \"run\") (result i32) (call $log (i64.const 0xFFFFFFFF0)) (i32.const 0)))"
                ),
                Box::new(none),
                Box::new(plain),
                "invalid memory offset",
            ),
            (
                "text not UTF-8",
                format!(
                    "(module {LOG} {ENV} (func (export \"run\") (result i32) (local $h i64)
                        (local.set $h (call $alloc (i64.const 2)))
                        (call $store (local.get $h) (i32.const 0xff))
                        (call $store (i64.add (local.get $h) (i64.const 1)) (i32.const 0xfe))
                        (call $log (local.get $h)) (i32.const 0)))"
                ),
                Box::new(none),
                Box::new(plain),
                "invalid utf-8",
            ),
            (
                "an endless loop, with fuel",
                "(module (func (export \"run\") (result i32) (loop $l (br $l)) (i32.const 0)))".into(),
                Box::new(none),
                Box::new(|b: PluginBuilder<'static>| b.with_fuel_limit(1_000_000)),
                "fuel",
            ),
            (
                "an endless loop, with a timeout",
                "(module (func (export \"run\") (result i32) (loop $l (br $l)) (i32.const 0)))".into(),
                Box::new(|m: Manifest| m.with_timeout(Duration::from_millis(100))),
                Box::new(plain),
                "timeout",
            ),
            (
                "deep recursion",
                "(module (func $f (export \"run\") (result i32) (call $f)))".into(),
                Box::new(none),
                Box::new(plain),
                "call stack exhausted",
            ),
            (
                // Extism's limit makes `memory.grow` trap, where WebAssembly says it returns -1.
                "memory.grow past the limit",
                "(module (memory 1) (func (export \"run\") (result i32)
                    (if (i32.eq (memory.grow (i32.const 100)) (i32.const -1)) (then (unreachable)))
                    (i32.const 0)))"
                    .into(),
                Box::new(|m: Manifest| m.with_memory_max(4)),
                Box::new(plain),
                "oom",
            ),
        ];
        let ours = compile(guest_wasm::GUEST_EXTISM).expect("our plugin");
        for (name, wat, manifest, builder, expected) in cases {
            let wasm = wat::parse_str(&wat).unwrap_or_else(|e| panic!("{name}: {e}"));
            let compiled = compile_with(&wasm, manifest, builder).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            let mut plugin = Plugin::new_from_compiled(&compiled).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            let error = plugin.call::<(), ()>("run", ()).expect_err(name);
            let message = error.root_cause().to_string();
            println!("{name}: {message}");
            assert!(message.contains(expected), "{name}: {message}");
            let mut next = Plugin::new_from_compiled(&ours).expect("a new instance");
            assert_eq!(next.call::<(), i32>("hello", ()).expect("hello after a hostile plugin"), 4567, "after {name}");
        }
    }
}
