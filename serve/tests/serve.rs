//! `serve` under load on every runtime of the registry, hostile requests mixed in, every answer
//! checked; and what the server refuses or bounds, whatever the clients do.
//!
//! ```text
//! cargo test -p serve
//! ```
//!
//! The full-size load (10,000 requests, 1,000 at once) is `cargo run --release -p serve --bin
//! load`: its figures are measurements, not tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use harness::{Config, Limits};
use hyper::StatusCode;
use serve::load::{self, Plan, ServeProcess, Target};
use serve::server::{self, Options};

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

#[test]
fn every_runtime_and_async_tier_serves_a_load_with_hostile_requests_and_answers_each_right() {
    let rt = tokio();
    let mut problems = Vec::new();
    for target in Target::with_async_tiers(runtimes::selected()) {
        let plan = Plan {
            requests: 240,
            concurrency: 24,
            hostile_every: 4,
            hostile: target.hostile_requests(),
            time_limit: Duration::from_secs(300),
        };
        let checked = rt.block_on(async {
            let mut args = target.serve_args(Duration::from_millis(200));
            args.extend(["--kv-delay".to_owned(), "1".to_owned()]);
            let server = ServeProcess::start(std::path::Path::new(env!("CARGO_BIN_EXE_serve")), &args).await?;
            let outcome = load::run(server.address, &plan).await;
            let (_, stats) = load::get(server.address, "/stats").await.map_err(anyhow::Error::msg)?;
            let stats: serde_json::Value = serde_json::from_slice(&stats)?;
            let exit = server.shut_down().await?;
            anyhow::ensure!(exit.success(), "serve exited with {exit} after SIGTERM");
            anyhow::ensure!(outcome.all_right(), "{}", outcome.problems());
            // Every request reached a guest: the good ones answered, the hostile ones failed.
            let count = |key: &str| stats.get(key).and_then(serde_json::Value::as_u64);
            let expected_ok = outcome.good as u64;
            anyhow::ensure!(
                count("ok") == Some(expected_ok) && count("guest_failed") == Some(outcome.hostile as u64),
                "the server counted {stats}, the client {} good and {} hostile",
                outcome.good,
                outcome.hostile
            );
            anyhow::ensure!(
                outcome.hostile == plan.hostile_count(),
                "{} hostile requests answered right, of {}",
                outcome.hostile,
                plan.hostile_count()
            );
            Ok(())
        });
        if let Err(e) = checked {
            problems.push(format!("{}: {e:#}", target.label()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A server on wasmi in this process, with a timeout of 1 s and room for `max_concurrent` requests.
async fn in_process(
    max_concurrent: usize,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
    let runtime = runtimes::find("wasmi").expect("wasmi is in every build");
    let limits = Limits { timeout: Some(Duration::from_secs(1)), fuel: None, ..Limits::default() };
    let engine = runtime.engine_exactly(&Config::new(limits)).expect("engine");
    let module = engine.load_module(guest_wasm::GUEST_WASM).expect("the guest loads");
    let options =
        Options { engine: Arc::from(engine), module: Arc::new(module), max_concurrent, max_body: 1024, workers: 2 };
    let (listener, address) = server::bind("127.0.0.1:0".parse().expect("an address")).await.expect("bind");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(listener, options, async {
        let _ = stopped.await;
    }));
    (address, stop, serving)
}

async fn post(address: SocketAddr, export: &str, body: impl Into<Bytes>) -> (StatusCode, serde_json::Value, Bytes) {
    let request = hyper::Request::post(format!("/call/{export}"))
        .header(hyper::header::HOST, address.to_string())
        .body(http_body_util::Full::new(body.into()))
        .expect("request");
    let (status, body) = load::send_once(address, request).await.expect("an answer");
    (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null), body)
}

fn kind(json: &serde_json::Value) -> Option<&str> {
    json.get("kind")?.as_str()
}

#[test]
fn a_request_over_the_limits_is_refused_at_once_and_the_server_goes_on() {
    tokio().block_on(async {
        let (address, stop, serving) = in_process(1).await;

        // A body over --max-body, a handler that does not exist, an export that is no handler, a GET.
        let (status, json, _) = post(address, "handle", vec![b'a'; 1025]).await;
        assert_eq!((status, kind(&json)), (StatusCode::PAYLOAD_TOO_LARGE, Some("too-large")));
        let (status, json, _) = post(address, "nope", "x").await;
        assert_eq!((status, kind(&json)), (StatusCode::NOT_FOUND, Some("missing-export")));
        let (status, json, _) = post(address, "hello", "x").await;
        assert_eq!((status, kind(&json)), (StatusCode::NOT_FOUND, Some("export-signature")));
        let (status, _) = load::get(address, "/call/handle").await.expect("an answer");
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

        // While a looping guest holds the only slot, the next request is refused, not queued; the
        // loop ends at its deadline, and the slot is free again.
        let spinning = tokio::spawn(post(address, "handle_spins", "x"));
        loop {
            let (_, stats) = load::get(address, "/stats").await.expect("stats");
            let stats: serde_json::Value = serde_json::from_slice(&stats).expect("JSON");
            if stats["instances"] == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (status, json, _) = post(address, "handle", "Wasm").await;
        assert_eq!((status, kind(&json)), (StatusCode::SERVICE_UNAVAILABLE, Some("overloaded")));
        let (status, json, _) = spinning.await.expect("the spinning request");
        assert_eq!((status, kind(&json)), (StatusCode::GATEWAY_TIMEOUT, Some("trap.timeout")));
        let (status, _, body) = post(address, "handle", "Wasm").await;
        assert_eq!((status, &body[..]), (StatusCode::OK, &b"Hello, Wasm!"[..]));

        // A shutdown while a request runs: the request is answered, then the server returns.
        let spinning = tokio::spawn(post(address, "handle_spins", "x"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(()).expect("the server is running");
        let (status, json, _) = spinning.await.expect("the spinning request");
        assert_eq!((status, kind(&json)), (StatusCode::GATEWAY_TIMEOUT, Some("trap.timeout")));
        serving.await.expect("the server task").expect("a graceful shutdown");
    });
}

/// On an async tier, a guest waiting for `kv_get` frees its thread: 100 requests whose lookups
/// take 10 s each, on one thread, all end within one lookup's time (on tokio's paused clock,
/// which moves on only when every task waits: nothing here depends on this machine's speed).
#[test]
fn async_tiers_wait_for_lookups_without_holding_their_thread() {
    const REQUESTS: usize = 100;
    const LOOKUP: Duration = Duration::from_secs(10);
    let config = Config { kv_delay: LOOKUP, ..Config::default() };
    let mut checked = 0;
    for tier in runtimes::all_tiers(&config) {
        let label = tier.label();
        let engine: Arc<dyn harness::DynEngine> = Arc::from(tier.engine.expect("every tier builds"));
        if !engine.is_async() {
            continue;
        }
        let module = Arc::new(engine.load_module(guest_wasm::GUEST_WASM).expect("the guest loads"));
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().expect("tokio");
        let (elapsed, responses) = rt.block_on(async {
            let start = tokio::time::Instant::now();
            let mut calls = tokio::task::JoinSet::new();
            for i in 0..REQUESTS {
                let (engine, module) = (Arc::clone(&engine), Arc::clone(&module));
                calls.spawn(async move {
                    let name = format!("user {i}");
                    let call =
                        engine.call_with_input_async(&module, "handle_kv", name.as_bytes(), harness::Sink::Record);
                    let response = call.expect("an async tier").await;
                    (name, response)
                });
            }
            let responses = calls.join_all().await;
            (start.elapsed(), responses)
        });
        assert!(
            (LOOKUP..2 * LOOKUP).contains(&elapsed),
            "{label}: {REQUESTS} lookups of {LOOKUP:?} on one thread took {elapsed:?}"
        );
        assert_eq!(responses.len(), REQUESTS, "{label}");
        for (name, response) in responses {
            let expected = format!("Hello, {name}! (value of {name})");
            match response {
                Ok(common::Event::Str(text)) => assert_eq!(text, expected, "{label}"),
                other => panic!("{label}: {name}: {other:?}"),
            }
        }
        checked += 1;
    }
    let wasmtime_and_wasmi = runtimes::selected().iter().filter(|r| ["wasmtime", "wasmi"].contains(&r.name)).count();
    assert!(checked >= wasmtime_and_wasmi, "the async tiers of wasmtime and wasmi, at least, ran: {checked}");
}
