//! The server: a guest module served over HTTP/1.1, one fresh instance per request.
//!
//! `POST /call/{export}` calls the handler `export` (`(request_len: i32) -> (status: i32)`, as
//! `--input` on a host binary does) with the request body as its request, in a new instance, and
//! answers with the guest's response. `GET /stats` gives the server's counters as JSON, `GET /`
//! says what is served.
//!
//! What bounds the server, whatever the guests and the clients do:
//! - **admission**: at most [`Options::max_concurrent`] requests are in flight (read, queued or
//!   running); the next is refused at once with 503, never queued;
//! - **request size**: a body over [`Options::max_body`] is refused with 413 before it is read
//!   whole, and reading it must end within [`BODY_TIMEOUT`] (408);
//! - **guest execution**: guests run on tokio's blocking pool, at most [`Options::workers`] at
//!   once (a synchronous runtime holds its thread for the whole call); each instance is bound by
//!   the engine's [`Limits`](harness::Limits): fuel, memory, tables, log and the wall-clock timeout.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::Event;
use harness::{DynEngine, Failure, Fault, LoadedModule, Sink, Trap};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a client may take to send a request's headers, then its body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a graceful shutdown waits for the requests in flight before it gives up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// What is served, and the server's own bounds (the guests' are the engine's limits).
pub struct Options {
    /// The engine every instance is made by (its tier and limits included).
    pub engine: Arc<dyn DynEngine>,
    /// The guest, loaded (compiled and checked against the ABI) once.
    pub module: Arc<LoadedModule>,
    /// The most requests in flight; the next is refused with 503.
    pub max_concurrent: usize,
    /// The largest request body accepted, in bytes; a larger one is refused with 413.
    pub max_body: usize,
    /// How many threads run guests (tokio's blocking pool, or on an async tier its worker
    /// threads, set by whoever builds the runtime: see [`runtime`]); shown by `GET /`.
    pub workers: usize,
}

/// A multi-threaded tokio runtime with `workers` threads to run guests: its blocking pool, where
/// the guests of a synchronous tier run, or, for an async tier (`asynchronous`), its worker
/// threads, where guests run as tasks beside the connections.
pub fn runtime(workers: usize, asynchronous: bool) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if asynchronous {
        builder.worker_threads(workers.max(1));
    } else {
        builder.max_blocking_threads(workers.max(1));
    }
    builder.enable_all().build()
}

/// The server's counters, as `GET /stats` shows them.
#[derive(Debug, Default)]
struct Stats {
    /// Calls answered with the guest's response.
    ok: AtomicU64,
    /// Calls the guest failed (a trap, a host error, a bad response, the timeout).
    guest_failed: AtomicU64,
    /// Requests refused before the guest ran: too many in flight, too large, not a handler, bad.
    refused: AtomicU64,
    /// Instances alive now.
    instances: AtomicU64,
    /// The most instances alive at once.
    instances_max: AtomicU64,
}

/// Counts one live instance in [`Stats`] until dropped.
struct InstanceGauge<'a>(&'a Stats);

impl<'a> InstanceGauge<'a> {
    fn new(stats: &'a Stats) -> Self {
        let now = stats.instances.fetch_add(1, Ordering::Relaxed) + 1;
        stats.instances_max.fetch_max(now, Ordering::Relaxed);
        InstanceGauge(stats)
    }
}

impl Drop for InstanceGauge<'_> {
    fn drop(&mut self) {
        self.0.instances.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a running request holds, released when it ends: its place among the requests in flight,
/// and its instance slot.
type Permits = (OwnedSemaphorePermit, OwnedSemaphorePermit);

/// The server's state, shared by every connection.
struct App {
    options: Options,
    permits: Arc<Semaphore>,
    /// The instances alive at once, at most the engine's own bound ([`harness::Engine::max_instances`]);
    /// a request admitted past it waits for one (there are at most `max_concurrent` such).
    instance_slots: Arc<Semaphore>,
    stats: Stats,
}

/// Serves `options` on `listener` until `shutdown` completes, then stops accepting, lets the
/// requests in flight finish (at most [`SHUTDOWN_GRACE`]) and returns.
pub async fn serve(listener: TcpListener, options: Options, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(options.max_concurrent));
    let slots = options.engine.max_instances().map_or(options.max_concurrent, |n| n.min(options.max_concurrent));
    let instance_slots = Arc::new(Semaphore::new(slots));
    let app = Arc::new(App { options, permits, instance_slots, stats: Stats::default() });
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, most likely: the connections in flight go on,
                        // and accepting resumes when some have closed.
                        eprintln!("serve: cannot accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let app = Arc::clone(&app);
                let service = service_fn(move |request| {
                    let app = Arc::clone(&app);
                    async move { Ok::<_, Infallible>(app.respond(request).await) }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(BODY_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    // A client that goes away is not the server's error.
                    let _ = connection.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("requests still in flight {} s after the shutdown began", SHUTDOWN_GRACE.as_secs()),
        )
    })
}

/// Binds `address` (port 0: any free port) and returns the listener and the address it got.
pub async fn bind(address: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

impl App {
    async fn respond(self: Arc<Self>, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = request.uri().path().to_owned();
        match (path.strip_prefix("/call/"), request.method()) {
            (Some(export), &Method::POST) => {
                let export = export.to_owned();
                self.call(export, request).await
            }
            (Some(_), _) => {
                let mut response = self.refuse(StatusCode::METHOD_NOT_ALLOWED, "method", "a call is a POST".into());
                response.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
                response
            }
            (None, &Method::GET) if path == "/stats" => json(StatusCode::OK, &self.stats_json()),
            (None, &Method::GET) if path == "/" => text_response(StatusCode::OK, self.describe()),
            (None, _) => {
                self.refuse(StatusCode::NOT_FOUND, "not-found", format!("no route {path:?}: POST /call/{{export}}"))
            }
        }
    }

    /// `POST /call/{export}`: admission, the body, then the guest: on the blocking pool, or as a
    /// task of its own on an async tier.
    async fn call(self: Arc<Self>, export: String, request: Request<Incoming>) -> Response<Full<Bytes>> {
        if let Err(fault) = harness::check_handler(self.options.module.shape(), &export) {
            return self.refuse(StatusCode::NOT_FOUND, &fault.kind(), fault.to_string());
        }
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            let mut response = self.refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                format!(
                    "{} requests are in flight, the most this server takes (--max-concurrent)",
                    self.options.max_concurrent
                ),
            );
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        };
        let body = match self.read_body(request).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        // Never closed: waiting here ends with a slot.
        let Ok(slot) = Arc::clone(&self.instance_slots).acquire_owned().await else {
            return self.refuse(StatusCode::INTERNAL_SERVER_ERROR, "server", "no instance slot".into());
        };
        let permit = (permit, slot);
        let app = Arc::clone(&self);
        let ran = if self.options.engine.is_async() {
            tokio::spawn(async move { app.run_async(&export, &body, permit).await }).await
        } else {
            tokio::task::spawn_blocking(move || app.run(&export, &body, permit)).await
        };
        match ran {
            Ok(Ok(response)) => {
                self.stats.ok.fetch_add(1, Ordering::Relaxed);
                response_of(response)
            }
            Ok(Err(failure)) => {
                self.stats.guest_failed.fetch_add(1, Ordering::Relaxed);
                error_json(status_of(&failure.fault), &failure.fault.kind(), &failure.fault.to_string())
            }
            // The guest's code cannot panic the host (every host function catches it), so this
            // is a bug of ours: answered, and the server goes on.
            Err(e) => self.refuse(StatusCode::INTERNAL_SERVER_ERROR, "server", format!("the call panicked: {e}")),
        }
    }

    /// The whole body, at most [`Options::max_body`] bytes, within [`BODY_TIMEOUT`].
    async fn read_body(&self, request: Request<Incoming>) -> Result<Bytes, Response<Full<Bytes>>> {
        let max = self.options.max_body;
        let too_large = |app: &Self| {
            app.refuse(StatusCode::PAYLOAD_TOO_LARGE, "too-large", format!("the body is over {max} bytes (--max-body)"))
        };
        let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|len| len > max as u64) {
            return Err(too_large(self));
        }
        match tokio::time::timeout(BODY_TIMEOUT, Limited::new(request.into_body(), max).collect()).await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(e)) if e.is::<LengthLimitError>() => Err(too_large(self)),
            Ok(Err(e)) => Err(self.refuse(StatusCode::BAD_REQUEST, "body", format!("cannot read the body: {e}"))),
            Err(_) => Err(self.refuse(
                StatusCode::REQUEST_TIMEOUT,
                "body",
                format!("the body did not arrive within {} s", BODY_TIMEOUT.as_secs()),
            )),
        }
    }

    /// On a blocking thread: a new instance, the call, the instance dropped.
    fn run(&self, export: &str, request: &[u8], _permit: Permits) -> Result<Event<'static>, Failure> {
        let _gauge = InstanceGauge::new(&self.stats);
        let mut instance = self.options.engine.instantiate_module(&self.options.module, Sink::Discard)?;
        instance.call_with_input(export, request)
    }

    /// On an async tier, in a task: a new instance, the call (which yields while `kv_get` waits
    /// and now and then while the guest computes), the instance dropped.
    async fn run_async(&self, export: &str, request: &[u8], _permit: Permits) -> Result<Event<'static>, Failure> {
        let _gauge = InstanceGauge::new(&self.stats);
        let engine = &self.options.engine;
        match engine.call_with_input_async(&self.options.module, export, request, Sink::Discard) {
            Some(call) => call.await,
            None => {
                Err(Failure::with_detail(Fault::Runtime, format!("{}/{} is not async", engine.name(), engine.tier())))
            }
        }
    }

    fn refuse(&self, status: StatusCode, kind: &str, message: String) -> Response<Full<Bytes>> {
        self.stats.refused.fetch_add(1, Ordering::Relaxed);
        error_json(status, kind, &message)
    }

    fn stats_json(&self) -> serde_json::Value {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        serde_json::json!({
            "ok": get(&self.stats.ok),
            "guest_failed": get(&self.stats.guest_failed),
            "refused": get(&self.stats.refused),
            "instances": get(&self.stats.instances),
            "instances_max": get(&self.stats.instances_max),
            "in_flight": self.options.max_concurrent - self.permits.available_permits(),
        })
    }

    fn describe(&self) -> String {
        let engine = &self.options.engine;
        format!(
            "wasm-hostcall serve: {}/{}, {} workers, at most {} requests in flight\nPOST /call/{{export}}: the handler `export` with the body as its request\nhandlers: {}\n",
            engine.name(),
            engine.tier(),
            self.options.workers,
            self.options.max_concurrent,
            handlers(self.options.module.shape()).join(", "),
        )
    }
}

/// The exports of `shape` that can be called with a request.
pub fn handlers(shape: &harness::ModuleShape) -> Vec<String> {
    shape.exports().iter().filter(|e| harness::check_handler(shape, &e.name).is_ok()).map(|e| e.name.clone()).collect()
}

/// The HTTP status for a failed call: the deadline 504; the guest's own failures (a trap, a bad
/// argument or response, a status, a limit it hit) 502, as a gateway's upstream failing; the
/// server's (a module that cannot run here, the runtime) 500.
pub fn status_of(fault: &Fault) -> StatusCode {
    match fault {
        Fault::Trap(Trap::Timeout) => StatusCode::GATEWAY_TIMEOUT,
        Fault::Trap(_)
        | Fault::Host(_)
        | Fault::Limit(_)
        | Fault::Canon { .. }
        | Fault::NoResponse { .. }
        | Fault::GuestStatus { .. }
        | Fault::GuestError { .. } => StatusCode::BAD_GATEWAY,
        Fault::MissingExport { .. } | Fault::ExportSignature { .. } => StatusCode::NOT_FOUND,
        Fault::InputTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Fault::InvalidModule | Fault::Link(_) | Fault::HostResources | Fault::Setup(_) | Fault::Runtime => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// A failed call as JSON: `{"kind": "trap.timeout", "message": "..."}`, the kind and message a host
/// binary prints after `failed`.
fn error_json(status: StatusCode, kind: &str, message: &str) -> Response<Full<Bytes>> {
    json(status, &serde_json::json!({ "kind": kind, "message": message }))
}

/// The guest's response: text as `text/plain`, an `AB` or a `CD` as JSON.
fn response_of(event: Event<'static>) -> Response<Full<Bytes>> {
    match event {
        Event::Str(text) => text_response(StatusCode::OK, text.into_owned()),
        Event::Ab(ab) => json(StatusCode::OK, &serde_json::json!({ "a": ab.a, "b": ab.b })),
        Event::Cd(cd) => json(StatusCode::OK, &serde_json::json!({ "c": cd.c(), "d": cd.d() })),
        Event::Int(value) => json(StatusCode::OK, &serde_json::json!({ "int": value })),
    }
}

fn text_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    with_type(status, "text/plain; charset=utf-8", body.into())
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    with_type(status, "application/json", value.to_string().into())
}

fn with_type(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
