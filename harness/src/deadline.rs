//! Wall-clock deadlines ([`crate::Limits::timeout`]): when an instance must be done by, and a
//! watchdog thread that acts when that time comes.
//!
//! Each runtime stops a guest by the clock with its own mechanism (the README's "Limits" table):
//! wasmtime checks an epoch counter that the watchdog increments, wasmer checks a flag the
//! watchdog's interrupter sets, WAMR is terminated by the watchdog; wasmi needs no thread (it
//! runs the guest in fuel slices and looks at the clock between them). What is shared is here:
//! the deadline itself, and [`Watchdog`], which runs an action at an instant on its own thread.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// When an instance must be done by: its timeout counted from the start of its instantiation
/// (start function included), for everything it runs until it is dropped, like its fuel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

impl Deadline {
    /// `timeout` from now; `None` for no timeout (or one too large to be an instant).
    pub fn after(timeout: Option<Duration>) -> Option<Deadline> {
        timeout.and_then(|timeout| Instant::now().checked_add(timeout)).map(Deadline)
    }

    /// The instant.
    pub fn instant(self) -> Instant {
        self.0
    }

    /// Whether the deadline has passed.
    pub fn passed(self) -> bool {
        Instant::now() >= self.0
    }
}

/// An action run on the watchdog's thread at its instant, and how long after to run it again
/// (`None`: only once).
struct Action {
    run: Box<dyn FnMut() + Send>,
    every: Option<Duration>,
}

/// The alarms set and not yet run (or to be run again), in order of their instants (ties in
/// order of setting), keyed by instant and id.
#[derive(Default)]
struct Alarms {
    pending: BTreeMap<(Instant, u64), Action>,
    next_id: u64,
    shut_down: bool,
}

struct Shared {
    alarms: Mutex<Alarms>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Alarms> {
        // An action that panicked poisons nothing worth refusing: the map is consistent.
        self.alarms.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A thread that runs each [`Alarm`]'s action when its instant comes, unless the alarm was
/// dropped first. One per engine that has a timeout; it ends when the engine (the `Watchdog`) is
/// dropped.
///
/// Actions run one at a time, with the watchdog's lock held, and dropping an [`Alarm`] takes the
/// same lock: once `drop(alarm)` has returned, its action has either run to its end or will never
/// run. A host relies on that when the action touches the instance (WAMR's
/// `wasm_runtime_terminate`): the instance is dropped after its alarm. Actions must be short and
/// must not touch the watchdog.
pub struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog").field("pending", &self.shared.lock().pending.len()).finish()
    }
}

/// An action set to run at an instant (and maybe again and again after it); dropping it cancels
/// every run still to come.
#[must_use = "dropping an alarm cancels it"]
pub struct Alarm {
    shared: Arc<Shared>,
    id: u64,
}

impl std::fmt::Debug for Alarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alarm").field("id", &self.id).finish()
    }
}

impl Watchdog {
    /// Starts the watchdog's thread. Fails only if the thread cannot be spawned.
    pub fn start() -> std::io::Result<Watchdog> {
        let shared = Arc::new(Shared { alarms: Mutex::new(Alarms::default()), changed: Condvar::new() });
        let thread = std::thread::Builder::new().name("wasm-hostcall-watchdog".into()).spawn({
            let shared = Arc::clone(&shared);
            move || watch(&shared)
        })?;
        Ok(Watchdog { shared, thread: Some(thread) })
    }

    /// A watchdog if `limits` has a timeout, none if not: what a host's `Engine::new` starts.
    /// Fails with [`Fault::HostResources`](crate::Fault::HostResources) if the thread cannot be
    /// spawned.
    pub fn for_limits(limits: &crate::Limits) -> Result<Option<Watchdog>, crate::Failure> {
        match limits.timeout {
            Some(_) => {
                Watchdog::start().map(Some).map_err(|e| crate::Failure::with_detail(crate::Fault::HostResources, e))
            }
            None => Ok(None),
        }
    }

    /// Runs `action` on the watchdog's thread at `deadline`, then, with `every`, again each
    /// `every` after that, until the returned alarm is dropped. A runtime whose interruption can
    /// be missed (wasmer's, when it lands while the guest is not running) repeats it.
    pub fn set(&self, deadline: Deadline, every: Option<Duration>, action: impl FnMut() + Send + 'static) -> Alarm {
        let mut alarms = self.shared.lock();
        let id = alarms.next_id;
        alarms.next_id += 1;
        alarms.pending.insert((deadline.instant(), id), Action { run: Box::new(action), every });
        drop(alarms);
        self.shared.changed.notify_one();
        Alarm { shared: Arc::clone(&self.shared), id }
    }
}

/// The watchdog's thread: waits for the earliest alarm, runs it, until shut down.
fn watch(shared: &Shared) {
    let mut alarms = shared.lock();
    loop {
        if alarms.shut_down {
            return;
        }
        let now = Instant::now();
        match alarms.pending.first_key_value().map(|(key, _)| *key) {
            Some(key) if key.0 <= now => {
                if let Some(mut action) = alarms.pending.remove(&key) {
                    // Under the lock: see `Watchdog`. A panicking action must not end the thread,
                    // and is not run again.
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut action.run));
                    if let (Ok(()), Some(every)) = (ran, action.every) {
                        alarms.pending.insert((Instant::now() + every, key.1), action);
                    }
                }
            }
            Some(key) => {
                alarms = shared.changed.wait_timeout(alarms, key.0 - now).unwrap_or_else(PoisonError::into_inner).0;
            }
            None => alarms = shared.changed.wait(alarms).unwrap_or_else(PoisonError::into_inner),
        }
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        self.shared.lock().pending.retain(|(_, id), _| *id != self.id);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.lock().shut_down = true;
        self.shared.changed.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn an_alarm_runs_once_at_its_instant_and_a_dropped_one_never() {
        let watchdog = Watchdog::start().unwrap();
        let fired = Arc::new(AtomicU32::new(0));
        let set = |ms, bit: u32| {
            let fired = Arc::clone(&fired);
            let deadline = Deadline::after(Some(Duration::from_millis(ms))).unwrap();
            (
                deadline,
                watchdog.set(deadline, None, move || {
                    fired.fetch_or(bit, Ordering::SeqCst);
                }),
            )
        };
        let (late, _kept) = set(20, 1);
        let (_, cancelled) = set(10, 2);
        let (early, _kept_too) = set(0, 4);
        drop(cancelled);
        while !late.passed() || fired.load(Ordering::SeqCst) & 1 == 0 {
            std::thread::sleep(Duration::from_millis(1));
            assert!(Instant::now() < late.instant() + Duration::from_secs(10), "the alarm never ran");
        }
        assert!(early.passed());
        assert_eq!(fired.load(Ordering::SeqCst), 1 | 4, "the cancelled alarm ran, or one did not");
    }

    #[test]
    fn a_repeating_alarm_runs_until_dropped() {
        let watchdog = Watchdog::start().unwrap();
        let runs = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&runs);
        let now = Deadline::after(Some(Duration::ZERO)).unwrap();
        let alarm = watchdog.set(now, Some(Duration::from_millis(1)), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let give_up = Instant::now() + Duration::from_secs(10);
        while runs.load(Ordering::SeqCst) < 3 {
            assert!(Instant::now() < give_up, "the alarm did not repeat");
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(alarm);
        let after_drop = runs.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(runs.load(Ordering::SeqCst), after_drop, "the alarm ran after it was dropped");
    }

    #[test]
    fn no_timeout_is_no_deadline() {
        assert_eq!(Deadline::after(None), None);
        assert_eq!(Deadline::after(Some(Duration::MAX)), None);
    }
}
