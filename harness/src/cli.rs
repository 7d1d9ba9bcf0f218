//! The command line shared by every host binary.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::engine::{Engine, run, run_with_input};
use crate::limits::{Config, Limits, MIB};

/// Runs a WebAssembly guest against the wasm-hostcall ABI and prints what it logged.
///
/// Output: one line per event the guest logged (`int 1234`, `str "..."`, `ab AB { .. }`,
/// `cd CD { .. }`), then, for a call with `--input`, `response ...` (the guest's response, in the
/// same format), then `returned [VALUE]` or `failed KIND: MESSAGE`. On failure the exit status is
/// 1 and stderr holds one line saying what went wrong.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// A module built against the ABI (binary `.wasm` or text `.wat`) instead of the built-in
    /// guest.
    #[arg(long, value_name = "FILE")]
    guest: Option<PathBuf>,
    /// The export to call: no parameters, no result or one i32 result [default: hello]; with
    /// `--input`, a handler `(request_len: i32) -> (status: i32)` [default: handle].
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Call the export with this text as its request (see `request_read` and `respond_*`) and
    /// print its response.
    #[arg(long, value_name = "TEXT", conflicts_with = "input_file")]
    input: Option<String>,
    /// Like `--input`, with the bytes of FILE as the request.
    #[arg(long, value_name = "FILE")]
    input_file: Option<PathBuf>,
    /// The compiler tier (e.g. `winch`, `pulley` on wasmtime; `singlepass` on wasmer; `eager`,
    /// `lazy` on wasmi); the runtime's default if not given.
    #[arg(long, value_name = "NAME")]
    tier: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// The flags that set [`Limits`], shared by every host binary and by `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// CPU budget in fuel units (about one per wasm instruction); 0 for no limit [default:
    /// 1000000000, or no limit on a runtime that cannot meter fuel].
    #[arg(long, value_name = "N")]
    pub fuel: Option<u64>,
    /// The most a linear memory may grow to, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().max_memory_bytes / MIB)]
    pub max_memory: usize,
    /// The most elements a table may hold.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_table_elements)]
    pub max_table_elements: u32,
    /// The most event payload kept (and printed) per run, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().max_log_bytes / MIB)]
    pub max_log: usize,
    /// Wall-clock budget of the run (instantiation, start function included, and the call), in
    /// milliseconds: a guest still running then fails with `trap.timeout`; 0 for no limit.
    /// Refused on a runtime that cannot be stopped by the clock [default: no limit].
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
}

impl LimitArgs {
    /// The limits these flags give on a runtime that can (or cannot) meter fuel and be stopped by
    /// the clock: without `--fuel`, the default fuel where it can be enforced. An error says which
    /// flag is out of range.
    pub fn limits(&self, meters_fuel: bool, stops_on_deadline: bool) -> Result<Limits, String> {
        let (Some(max_memory_bytes), Some(max_log_bytes)) =
            (self.max_memory.checked_mul(MIB), self.max_log.checked_mul(MIB))
        else {
            return Err("--max-memory or --max-log is too large".into());
        };
        Ok(Limits {
            fuel: match self.fuel {
                Some(0) => None,
                Some(fuel) => Some(fuel),
                None => Limits::default().enforceable(meters_fuel, stops_on_deadline).fuel,
            },
            max_memory_bytes,
            max_table_elements: self.max_table_elements,
            max_log_bytes,
            timeout: self.timeout.filter(|&ms| ms > 0).map(Duration::from_millis),
        })
    }
}

/// The `main` of a host binary: parses the arguments, runs the guest on engine `E`, prints the
/// report. Exit status 0 when the call returned, 1 when it failed, 2 for a usage or I/O error.
pub fn main<E: Engine>() -> ExitCode {
    main_from::<E>(std::env::args_os())
}

/// [`main`] with the given command line (its first item is the program name).
pub fn main_from<E: Engine>(command_line: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let args = match Args::try_parse_from(command_line) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    let program = format!("host-{}", E::NAME);
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| eprintln!("{program}: error: cannot read {}: {e}", path.display()))
    };
    let bytes = match &args.guest {
        Some(path) => match read(path) {
            Ok(bytes) => bytes,
            Err(()) => return ExitCode::from(2),
        },
        None => E::DEFAULT_GUEST.to_vec(),
    };
    let input = match (&args.input, &args.input_file) {
        (Some(text), _) => Some(text.clone().into_bytes()),
        (None, Some(path)) => match read(path) {
            Ok(bytes) => Some(bytes),
            Err(()) => return ExitCode::from(2),
        },
        (None, None) => None,
    };
    let limits = match args.limits.limits(E::METERS_FUEL, E::STOPS_ON_DEADLINE) {
        Ok(limits) => limits,
        Err(e) => {
            eprintln!("{program}: error: {e}");
            return ExitCode::from(2);
        }
    };
    let engine = match E::new(&Config { limits, tier: args.tier, ..Config::default() }) {
        Ok(engine) => engine,
        Err(failure) => {
            eprintln!("{program}: error: {failure}");
            return ExitCode::from(2);
        }
    };

    let report = match &input {
        Some(input) => run_with_input(&engine, &bytes, args.invoke.as_deref().unwrap_or("handle"), input),
        None => run(&engine, &bytes, args.invoke.as_deref().unwrap_or("hello"), &[]),
    };
    let mut stdout = io::stdout().lock();
    for line in report.lines() {
        // A closed pipe (`| head`) is not an error worth a panic.
        if writeln!(stdout, "{line}").is_err() {
            break;
        }
    }
    match report.outcome {
        Ok(_) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{program}: error: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// The host-binary flags that set `limits` (memory and log sizes in whole MiB, timeout in whole
/// milliseconds, rounded down): the
/// command-line twin of a [`Limits`], for tests that run the binaries with the limits they run the
/// engines with.
pub fn limit_args(limits: &Limits) -> Vec<String> {
    vec![
        "--fuel".into(),
        limits.fuel.unwrap_or(0).to_string(),
        "--max-memory".into(),
        (limits.max_memory_bytes / MIB).to_string(),
        "--max-table-elements".into(),
        limits.max_table_elements.to_string(),
        "--max-log".into(),
        (limits.max_log_bytes / MIB).to_string(),
    ]
    .into_iter()
    .chain(limits.timeout.into_iter().flat_map(|timeout| ["--timeout".into(), timeout.as_millis().to_string()]))
    .collect()
}
