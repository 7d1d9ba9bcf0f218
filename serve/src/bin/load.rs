//! `load`: puts a load with hostile requests mixed in on `serve`, per runtime, checks every
//! response, and reports throughput, latency and memory as a markdown table.
//!
//! ```text
//! cargo run --release -p serve --bin load -- --runtime all
//! cargo run --release -p serve --bin load -- --runtime wasmi --requests 10000 --concurrency 100
//! ```
//!
//! Each runtime, and each async tier beside its default one (wasmtime's `async`: sync beside
//! async, unless `--no-async`), gets a `serve` process of its own (the binary beside this one),
//! started with the limits of [`serve::load::Target::serve_args`], loaded, asked for its
//! counters, then stopped with SIGTERM. Exits with status 1 if any response was wrong or missing.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use serve::load::{self, Plan, ServeProcess, Target};

/// Loads `serve` with good and hostile requests on each runtime and checks every response.
#[derive(Debug, Parser)]
struct Args {
    /// A runtime of this build, or `all` (repeatable).
    #[arg(long, value_name = "NAME", default_value = "all")]
    runtime: Vec<String>,
    /// Only the tier `serve` picks by default, not the runtimes' async tiers too.
    #[arg(long)]
    no_async: bool,
    /// Requests per runtime.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    requests: usize,
    /// Clients at once, each on its own connection.
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    concurrency: usize,
    /// One request in N is hostile (0: none).
    #[arg(long, value_name = "N", default_value_t = 10)]
    hostile_every: usize,
    /// The guests' wall-clock timeout, in milliseconds, on runtimes that can be stopped by the clock.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    timeout: u64,
    /// The longest a runtime's run may take, in seconds; the requests not answered by then are lost.
    #[arg(long, value_name = "S", default_value_t = 300)]
    time_limit: u64,
    /// How long each `kv_get` lookup of a good request takes on the server, in milliseconds
    /// (`serve --kv-delay`).
    #[arg(long, value_name = "MS", default_value_t = 1)]
    kv_delay: u64,
    /// The `serve` binary [default: the one beside this binary].
    #[arg(long, value_name = "FILE")]
    serve: Option<PathBuf>,
    /// Extra arguments for `serve` (e.g. `--serve-arg=--workers --serve-arg=4`).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    serve_arg: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let serve_exe = match &args.serve {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("serve"),
    };
    let runtimes: Vec<&runtimes::Runtime> = if args.runtime.iter().any(|r| r == "all") {
        runtimes::RUNTIMES.iter().collect()
    } else {
        args.runtime
            .iter()
            .map(|name| runtimes::find(name).with_context(|| format!("no runtime {name:?} in this build")))
            .collect::<anyhow::Result<_>>()?
    };
    let targets = if args.no_async {
        runtimes.into_iter().map(|runtime| Target { runtime, tier: None }).collect()
    } else {
        Target::with_async_tiers(runtimes)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut failed = Vec::new();
    println!(
        "{} requests per runtime, {} at once, 1 in {} hostile; timeout {} ms; each lookup {} ms",
        args.requests, args.concurrency, args.hostile_every, args.timeout, args.kv_delay
    );
    println!();
    println!(
        "| runtime | requests/s | good p50 | good p99 | good p99.9 | hostile answered right | wrong or lost | RSS idle → peak | per instance |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for target in targets {
        let plan = Plan {
            requests: args.requests,
            concurrency: args.concurrency,
            hostile_every: args.hostile_every,
            hostile: target.hostile_requests(),
            time_limit: Duration::from_secs(args.time_limit),
        };
        let label = target.label();
        let mut serve_args = target.serve_args(Duration::from_millis(args.timeout));
        serve_args.extend(["--max-concurrent".to_owned(), args.concurrency.to_string()]);
        serve_args.extend(["--kv-delay".to_owned(), args.kv_delay.to_string()]);
        serve_args.extend(args.serve_arg.iter().cloned());
        let row = runtime.block_on(one_runtime(&label, &serve_exe, &serve_args, &plan));
        match row {
            Ok((line, outcome)) => {
                println!("{line}");
                if !outcome.all_right() {
                    failed.push(format!("{label}:\n{}", outcome.problems()));
                }
            }
            Err(e) => failed.push(format!("{label}: {e:#}")),
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

/// One runtime: a `serve` of its own, a warm-up, the plan, the counters, a graceful stop.
async fn one_runtime(
    name: &str,
    serve_exe: &std::path::Path,
    serve_args: &[String],
    plan: &Plan,
) -> anyhow::Result<(String, load::Outcome)> {
    let server = ServeProcess::start(serve_exe, serve_args).await?;
    let warm_up = Plan { requests: 20, concurrency: 2, hostile_every: 0, ..plan.clone() };
    let warmed = load::run(server.address, &warm_up).await;
    anyhow::ensure!(warmed.all_right(), "the warm-up failed:\n{}", warmed.problems());
    let idle = server.memory_kib("VmRSS");
    let outcome = load::run(server.address, plan).await;
    let peak = server.memory_kib("VmHWM");
    let (_, stats) = load::get(server.address, "/stats").await.map_err(anyhow::Error::msg)?;
    let stats: serde_json::Value = serde_json::from_slice(&stats)?;
    let exit = server.shut_down().await?;
    anyhow::ensure!(exit.success(), "serve exited with {exit} after SIGTERM");
    let instances_max = stats.get("instances_max").and_then(serde_json::Value::as_u64).unwrap_or(0);
    let per_instance = match (idle, peak) {
        (Some(idle), Some(peak)) if instances_max > 0 => format!("{} KiB", peak.saturating_sub(idle) / instances_max),
        _ => "—".to_owned(),
    };
    let ms = |d: Option<Duration>| d.map_or("—".to_owned(), |d| format!("{:.2} ms", d.as_secs_f64() * 1e3));
    let kib = |k: Option<u64>| k.map_or("—".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
    let line = format!(
        "| {} | {:.0} | {} | {} | {} | {} of {} | {} | {} → {} | {} ({} at once) |",
        name,
        outcome.requests_per_second(),
        ms(outcome.latency(0.5)),
        ms(outcome.latency(0.99)),
        ms(outcome.latency(0.999)),
        outcome.hostile,
        plan.hostile_count(),
        outcome.wrong + outcome.lost,
        kib(idle),
        kib(peak),
        per_instance,
        instances_max,
    );
    Ok((line, outcome))
}
