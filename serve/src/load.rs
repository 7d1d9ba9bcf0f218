//! The load generator: many concurrent clients on loopback, good requests with hostile ones mixed
//! in, every response checked; bounded in requests and in time.
//!
//! A good request calls `handle_kv` with the name `user N` (the guest looks it up in the host's
//! key-value store with `kv_get`, which waits as I/O would when `serve` has `--kv-delay`) and must
//! get `200` and `Hello, user N! (value of user N)`.
//! A hostile one calls one of the guest's misbehaving handlers (`handle_panics`, `handle_spins`,
//! `handle_grows`, `handle_bad_response`) and must get the status and error kind the server
//! documents for it. Anything else, or no answer, is counted and described, never averaged away.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use runtimes::Runtime;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// What a hostile request calls and what it must get back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostile {
    /// The handler.
    pub export: &'static str,
    /// The status the server must answer.
    pub status: StatusCode,
    /// The error kind its JSON body must carry.
    pub kind: &'static str,
}

/// The hostile requests a runtime can be given, and what each must end in there: a loop ends at
/// the deadline where the runtime stops by the clock, out of fuel where it only meters, and is
/// left out where it can do neither (it would hold a worker forever: such a runtime is unfit for
/// untrusted guests).
pub fn hostile_requests(runtime: &Runtime) -> Vec<Hostile> {
    let failed = |export, kind| Hostile { export, status: StatusCode::BAD_GATEWAY, kind };
    let mut hostile = vec![
        failed("handle_panics", "trap.unreachable"),
        failed("handle_grows", "trap.unreachable"),
        failed("handle_bad_response", "host.invalid-utf8"),
    ];
    if runtime.stops_on_deadline {
        hostile.push(Hostile { export: "handle_spins", status: StatusCode::GATEWAY_TIMEOUT, kind: "trap.timeout" });
    } else if runtime.meters_fuel {
        hostile.push(failed("handle_spins", "trap.out-of-fuel"));
    }
    hostile
}

/// The fuel given to a runtime that meters fuel but cannot be stopped by the clock, so that a
/// looping guest ends about as soon as the others' deadline.
pub const FUEL_WITHOUT_DEADLINE: u64 = 10_000_000;

/// The memory limit under load, in MiB: what the guest needs (1.1 MiB) with room to spare, and
/// small enough that a memory bomb reaches it well within the deadline on an interpreter (which
/// zeroes what it grows: about 1 ms per MiB here, alone on a core).
pub const MAX_MEMORY_MIB: usize = 8;

/// What a load runs against: a runtime of the registry, on the tier `serve` picks for it, or on
/// its `async` tier.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The runtime.
    pub runtime: &'static Runtime,
    /// `Some("async")` for the runtime's async tier; `None` for `serve`'s default tier.
    pub tier: Option<&'static str>,
}

/// The tier name of an async tier (see `harness::Engine::is_async`).
pub const ASYNC_TIER: &str = "async";

impl Target {
    /// Each of `runtimes` on `serve`'s default tier, and, for a runtime that has one, on its
    /// async tier too: sync beside async.
    pub fn with_async_tiers<'a>(runtimes: impl IntoIterator<Item = &'static Runtime> + 'a) -> Vec<Target> {
        runtimes
            .into_iter()
            .flat_map(|runtime| {
                let asynchronous = runtime.tiers.contains(&ASYNC_TIER).then_some(ASYNC_TIER);
                [Some(Target { runtime, tier: None }), asynchronous.map(|tier| Target { runtime, tier: Some(tier) })]
            })
            .flatten()
            .collect()
    }

    /// `wasmtime`, or `wasmtime/async`.
    pub fn label(&self) -> String {
        match self.tier {
            Some(tier) => format!("{}/{tier}", self.runtime.name),
            None => self.runtime.name.to_owned(),
        }
    }

    /// The arguments `serve` gets for this target under load: the runtime (and tier),
    /// [`MAX_MEMORY_MIB`], and the deadline alone where the runtime can be stopped by the clock
    /// (no fuel, so that a loop ends at the deadline, whatever the runtime's speed), else a small
    /// fuel budget (see [`FUEL_WITHOUT_DEADLINE`]).
    pub fn serve_args(&self, timeout: Duration) -> Vec<String> {
        let runtime = self.runtime;
        let mut args = vec!["--runtime".to_owned(), runtime.name.to_owned()];
        if let Some(tier) = self.tier {
            args.extend(["--tier".to_owned(), tier.to_owned()]);
        }
        args.extend(["--max-memory".to_owned(), MAX_MEMORY_MIB.to_string()]);
        if runtime.stops_on_deadline {
            args.extend(["--timeout".into(), timeout.as_millis().to_string(), "--fuel".into(), "0".into()]);
        } else if runtime.meters_fuel {
            args.extend(["--fuel".into(), FUEL_WITHOUT_DEADLINE.to_string()]);
        }
        args
    }

    /// [`hostile_requests`] for this target's runtime.
    pub fn hostile_requests(&self) -> Vec<Hostile> {
        hostile_requests(self.runtime)
    }
}

/// A load to put on a server.
#[derive(Debug, Clone)]
pub struct Plan {
    /// How many requests in all.
    pub requests: usize,
    /// How many clients send at once, each on its own connection, one request after another.
    pub concurrency: usize,
    /// One request in this many is hostile (0: none is).
    pub hostile_every: usize,
    /// The hostile requests, taken in turn.
    pub hostile: Vec<Hostile>,
    /// The whole run must end within this; the requests not answered by then are lost.
    pub time_limit: Duration,
}

/// The request `n` of a plan: the handler, the body, and what must come back.
enum Expect {
    Good { name: String },
    Hostile(Hostile),
}

impl Plan {
    /// How many of the plan's requests are hostile.
    pub fn hostile_count(&self) -> usize {
        if self.hostile_every == 0 || self.hostile.is_empty() { 0 } else { self.requests / self.hostile_every }
    }

    fn request(&self, n: usize) -> (&'static str, Bytes, Expect) {
        if self.hostile_every > 0 && !self.hostile.is_empty() && n % self.hostile_every == self.hostile_every - 1 {
            let hostile = self.hostile[(n / self.hostile_every) % self.hostile.len()].clone();
            (hostile.export, Bytes::from(format!("hostile {n}")), Expect::Hostile(hostile))
        } else {
            let name = format!("user {n}");
            ("handle_kv", Bytes::from(name.clone()), Expect::Good { name })
        }
    }
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Good requests answered right.
    pub good: usize,
    /// Hostile requests answered with the status and kind they must get.
    pub hostile: usize,
    /// Requests answered wrong, and the first few of them described.
    pub wrong: usize,
    /// Descriptions of the first wrong answers (at most 10).
    pub wrong_examples: Vec<String>,
    /// Requests with no answer: the connection failed, or the time limit passed first.
    pub lost: usize,
    /// The latency of each good request answered right, from sending to the last byte.
    pub good_latencies: Vec<Duration>,
    /// The run's duration.
    pub elapsed: Duration,
}

impl Outcome {
    /// Requests answered (right or wrong) per second.
    pub fn requests_per_second(&self) -> f64 {
        (self.good + self.hostile + self.wrong) as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q`-quantile (0 to 1) of the good requests' latencies (nearest rank), if there are any.
    pub fn latency(&self, q: f64) -> Option<Duration> {
        let mut sorted = self.good_latencies.clone();
        sorted.sort_unstable();
        let last = sorted.len().checked_sub(1)?;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // q in [0, 1]: a rank in [0, last]
        let rank = ((q.clamp(0.0, 1.0) * last as f64).ceil() as usize).min(last);
        sorted.get(rank).copied()
    }

    /// Whether every request was answered right.
    pub fn all_right(&self) -> bool {
        self.wrong == 0 && self.lost == 0
    }

    /// One line per problem: an empty string when there is none.
    pub fn problems(&self) -> String {
        let mut text = String::new();
        if self.lost > 0 {
            let _ = writeln!(text, "{} requests got no answer", self.lost);
        }
        if self.wrong > 0 {
            let _ = writeln!(text, "{} requests were answered wrong; the first:", self.wrong);
            for example in &self.wrong_examples {
                let _ = writeln!(text, "  {example}");
            }
        }
        text
    }
}

/// Puts `plan` on the server at `address` and checks every answer.
pub async fn run(address: SocketAddr, plan: &Plan) -> Outcome {
    let plan = Arc::new(plan.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..plan.concurrency.max(1) {
        clients.spawn(client(address, Arc::clone(&plan), Arc::clone(&next), Arc::clone(&outcome)));
    }
    // A client that panicked lost what it was sending; the count below says so.
    let all = async { while clients.join_next().await.is_some() {} };
    let finished = tokio::time::timeout(plan.time_limit, all).await.is_ok();
    // Past the time limit, the clients still sending stop here: their requests are lost.
    clients.abort_all();
    let mut outcome = std::mem::take(&mut *lock(&outcome));
    outcome.elapsed = started.elapsed();
    let answered = outcome.good + outcome.hostile + outcome.wrong + outcome.lost;
    if !finished || answered < plan.requests {
        outcome.lost += plan.requests.saturating_sub(answered);
    }
    outcome
}

/// One client: a connection, requests one after another until the plan's are all taken.
async fn client(address: SocketAddr, plan: Arc<Plan>, next: Arc<AtomicUsize>, outcome: Arc<Mutex<Outcome>>) {
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= plan.requests {
            return;
        }
        let (export, body, expect) = plan.request(n);
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/call/{export}"))
            .header(hyper::header::HOST, address.to_string())
            .body(Full::new(body))
            .expect("a request built from valid parts");
        let started = Instant::now();
        let answer = match send(address, &mut sender, request).await {
            Ok(answer) => answer,
            Err(e) => {
                sender = None;
                let mut outcome = lock(&outcome);
                outcome.lost += 1;
                note(&mut outcome, format!("request {n} ({export}): no answer: {e}"));
                continue;
            }
        };
        let latency = started.elapsed();
        let verdict = check(&expect, &answer);
        let mut outcome = lock(&outcome);
        match (verdict, expect) {
            (Ok(()), Expect::Good { .. }) => {
                outcome.good += 1;
                outcome.good_latencies.push(latency);
            }
            (Ok(()), Expect::Hostile(_)) => outcome.hostile += 1,
            (Err(why), _) => {
                outcome.wrong += 1;
                note(&mut outcome, format!("request {n} ({export}): {why}"));
            }
        }
    }
}

fn lock(outcome: &Mutex<Outcome>) -> std::sync::MutexGuard<'_, Outcome> {
    outcome.lock().unwrap_or_else(PoisonError::into_inner)
}

fn note(outcome: &mut Outcome, what: String) {
    if outcome.wrong_examples.len() < 10 {
        outcome.wrong_examples.push(what);
    }
}

/// Sends `request` on the client's connection, opening one if it has none.
async fn send(
    address: SocketAddr,
    sender: &mut Option<SendRequest<Full<Bytes>>>,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), String> {
    if sender.as_ref().is_none_or(|s| s.is_closed()) {
        let stream = TcpStream::connect(address).await.map_err(|e| format!("cannot connect: {e}"))?;
        let (new, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        *sender = Some(new);
    }
    let sender = sender.as_mut().ok_or("no connection")?;
    sender.ready().await.map_err(|e| format!("connection: {e}"))?;
    let response = sender.send_request(request).await.map_err(|e| format!("request: {e}"))?;
    let status = response.status();
    let body = response.into_body().collect().await.map_err(|e| format!("body: {e}"))?.to_bytes();
    Ok((status, body))
}

/// Whether `answer` is what `expect` says must come back.
fn check(expect: &Expect, (status, body): &(StatusCode, Bytes)) -> Result<(), String> {
    let shown = String::from_utf8_lossy(body);
    match expect {
        Expect::Good { name } => {
            let greeting = format!("Hello, {name}! (value of {name})");
            if *status == StatusCode::OK && **body == *greeting.as_bytes() {
                Ok(())
            } else {
                Err(format!("expected 200 {greeting:?}, got {status} {shown:?}"))
            }
        }
        Expect::Hostile(hostile) => {
            let kind = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_owned)));
            if *status == hostile.status && kind.as_deref() == Some(hostile.kind) {
                Ok(())
            } else {
                Err(format!("expected {} {}, got {status} {shown:?}", hostile.status, hostile.kind))
            }
        }
    }
}

/// A `serve` process, started by [`ServeProcess::start`].
pub struct ServeProcess {
    child: Child,
    /// The address it listens on.
    pub address: SocketAddr,
}

impl ServeProcess {
    /// Starts the `serve` binary at `exe` with `args` (`--listen 127.0.0.1:0` is added) and waits
    /// for the address it prints.
    pub async fn start(exe: &std::path::Path, args: &[String]) -> anyhow::Result<ServeProcess> {
        let mut child = Command::new(exe)
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", exe.display()))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
            .await
            .map_err(|_| anyhow::anyhow!("serve printed no address within 120 s"))??
            .ok_or_else(|| anyhow::anyhow!("serve exited before listening (its error is above)"))?;
        let address = line
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("unexpected first line from serve: {line:?}"))?;
        Ok(ServeProcess { child, address })
    }

    /// The process id.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// A line of the process's `/proc/PID/status` (`VmRSS`, `VmHWM`), in KiB.
    pub fn memory_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.id()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
        line[field.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()
    }

    /// Asks the server to stop (SIGTERM: it stops accepting and finishes what is in flight) and
    /// waits for it to exit.
    pub async fn shut_down(mut self) -> anyhow::Result<ExitStatus> {
        let id = self.id().ok_or_else(|| anyhow::anyhow!("serve has already exited"))?;
        let sent = Command::new("kill").args(["-TERM", &id.to_string()]).status().await?;
        anyhow::ensure!(sent.success(), "kill -TERM {id} failed");
        Ok(tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .map_err(|_| anyhow::anyhow!("serve did not exit within 60 s of SIGTERM"))??)
    }
}

/// Sends `request` to the server at `address` on a connection of its own: the status and the
/// body.
pub async fn send_once(address: SocketAddr, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), String> {
    send(address, &mut None, request).await
}

/// `GET path` on the server at `address`: the status and the body.
pub async fn get(address: SocketAddr, path: &str) -> Result<(StatusCode, Bytes), String> {
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(hyper::header::HOST, address.to_string())
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    send_once(address, request).await
}
