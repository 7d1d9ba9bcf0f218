//! `runtimes`: lists the runtimes this build has, or runs the guest on one of them by name.
//!
//! ```text
//! cargo run -p runtimes -- list                      # each runtime, its tiers, fuel, timeout, the tier for ulimit -v
//! cargo run -p runtimes -- wasmi                     # the same as `cargo run -p host-wasmi`
//! cargo run -p runtimes -- wasmi --input Wasm        # any host flag after the runtime's name
//! ```

use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(first) = args.next() else {
        return usage();
    };
    let name = first.to_string_lossy();
    if name == "list" {
        for runtime in runtimes::RUNTIMES {
            let fuel = if runtime.meters_fuel { "meters fuel" } else { "cannot meter fuel" };
            let clock = if runtime.stops_on_deadline { "stops by the clock" } else { "no timeout" };
            let small = match runtime.small_address_space_tier {
                Some(tier) => format!("under ulimit -v: --tier {tier}"),
                None => "under ulimit -v: any tier".to_owned(),
            };
            println!("{:<10} {:<54} {fuel:<18} {clock:<19} {small}", runtime.name, runtime.tiers.join(", "));
        }
        return ExitCode::SUCCESS;
    }
    let Some(runtime) = runtimes::find(&name) else {
        eprintln!("runtimes: error: no runtime `{name}` in this build");
        return usage();
    };
    let program = OsString::from(format!("host-{}", runtime.name));
    runtime.cli_main(std::iter::once(program).chain(args).collect())
}

fn usage() -> ExitCode {
    let names: Vec<&str> = runtimes::names().collect();
    eprintln!("usage: runtimes list | runtimes RUNTIME [HOST FLAGS]   (RUNTIME: {})", names.join(", "));
    ExitCode::from(2)
}
