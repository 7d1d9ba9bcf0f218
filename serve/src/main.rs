//! `serve`: a guest served over HTTP on a runtime of the registry, one fresh instance per request.
//!
//! ```text
//! cargo run --release -p serve -- --runtime wasmtime --listen 127.0.0.1:8080 --timeout 100
//! curl -d Wasm http://127.0.0.1:8080/call/handle
//! ```
//!
//! Prints `listening on http://ADDRESS` on stdout once it accepts connections (with
//! `--listen 127.0.0.1:0`, the port it got), and stops gracefully on SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use harness::Config;
use harness::cli::LimitArgs;
use serve::server::{self, Options};

/// Serves a guest over HTTP: `POST /call/{export}` calls the handler `export` with the body as its
/// request in a fresh instance and answers with its response (text as `text/plain`, an AB or a CD
/// as JSON). A failed call answers JSON `{"kind", "message"}`: 504 at the deadline, 502 for the
/// guest's other failures, 404 for no such handler. Too many requests in flight: 503; a body too
/// large: 413. `GET /stats`: counters.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The runtime (`cargo run -p runtimes -- list` shows those of this build).
    #[arg(long, value_name = "NAME", default_value = "wasmtime")]
    runtime: String,
    /// The address to listen on (port 0: any free port, printed).
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A module built against the ABI (binary `.wasm` or text `.wat`) instead of the built-in
    /// guest.
    #[arg(long, value_name = "FILE")]
    guest: Option<PathBuf>,
    /// The compiler tier [default: `pooling` where the runtime has it (wasmtime: its pooling
    /// allocator and `InstancePre`), else the runtime's default]. An async tier (wasmtime's
    /// `async`) runs each guest as a task that yields while `kv_get` waits.
    #[arg(long, value_name = "NAME")]
    tier: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
    /// The most requests in flight (read, waiting for a worker or running); the next is refused
    /// with 503.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_concurrent: usize,
    /// The largest request body, in bytes; a larger one is refused with 413.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_body: usize,
    /// How many threads run guests [default: the number of CPUs]: on a synchronous tier, how many
    /// guests run at once; on an async tier, the tokio worker threads the guests' tasks share.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// How long each `kv_get` lookup takes, in milliseconds (the demo store's stand-in for I/O:
    /// slept on the guest's thread on a synchronous tier, awaited on a timer on an async tier).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    kv_delay: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();

    // 1. The runtime, its engine and the guest, loaded once.
    let Some(runtime) = runtimes::find(&args.runtime) else {
        bail!(
            "no runtime {:?} in this build; there are: {}",
            args.runtime,
            runtimes::names().collect::<Vec<_>>().join(", ")
        );
    };
    let limits = args.limits.limits(runtime.meters_fuel, runtime.stops_on_deadline).map_err(anyhow::Error::msg)?;
    let tier = args.tier.or_else(|| runtime.tiers.contains(&"pooling").then(|| "pooling".to_owned()));
    let engine = runtime
        .engine_exactly(&Config { limits, tier, kv_delay: Duration::from_millis(args.kv_delay), ..Config::default() })
        .map_err(|failure| anyhow::anyhow!("{}: {failure}", runtime.name))?;
    let bytes = match &args.guest {
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        None => engine.default_guest().to_vec(),
    };
    let module = engine.load_module(&bytes).map_err(|failure| anyhow::anyhow!("the guest cannot run: {failure}"))?;
    if server::handlers(module.shape()).is_empty() {
        bail!("the guest exports no handler ((i32) -> (i32)) to serve");
    }

    // 2. The server, on a tokio runtime whose blocking pool (or, on an async tier, whose worker
    //    threads) run the guests.
    let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let asynchronous = engine.is_async();
    let options = Options {
        engine: Arc::from(engine),
        module: Arc::new(module),
        max_concurrent: args.max_concurrent.max(1),
        max_body: args.max_body,
        workers,
    };
    server::runtime(workers, asynchronous)?.block_on(async {
        let (listener, address) = server::bind(args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
        eprintln!(
            "serve: {}/{} on http://{address}: POST /call/{{export}} ({workers} workers, at most {} requests in flight)",
            options.engine.name(),
            options.engine.tier(),
            options.max_concurrent
        );
        println!("listening on http://{address}");

        // 3. Until SIGINT or SIGTERM, then a graceful shutdown.
        server::serve(listener, options, shutdown_signal()).await?;
        eprintln!("serve: stopped");
        Ok(())
    })
}

/// Completes on Ctrl-C (SIGINT) elsewhere than on Unix.
#[cfg(not(unix))]
async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
#[cfg(unix)]
async fn shutdown_signal() {
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(e) => {
            eprintln!("serve: cannot listen for SIGTERM ({e}); stop it with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
