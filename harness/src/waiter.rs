//! [`Waiter`]: how the synchronous methods of an async tier wait for their futures.

use std::cell::OnceCell;
use std::future::Future;
use std::rc::Rc;

use crate::fault::{Failure, Fault};

/// What an engine of an async tier holds to wait for its futures on the calling thread
/// ([`crate::Instance::call`] and the rest): each thread gets a tokio runtime of its own
/// (current-thread, timers on), made the first time it waits, so that the thread that waits also
/// drives the timers its future needs (a lookup's delay). One runtime shared by several threads
/// would leave a thread's timers to whichever thread holds the runtime's driver, which may be
/// busy running a guest.
#[derive(Debug, Default, Clone, Copy)]
pub struct Waiter;

/// A thread's runtime. It may be dropped anywhere (a thread of tokio's blocking pool ending):
/// it holds no task of its own, so it shuts down in the background.
struct LocalRuntime(Option<tokio::runtime::Runtime>);

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

thread_local! {
    static RUNTIME: OnceCell<Rc<LocalRuntime>> = const { OnceCell::new() };
}

impl Waiter {
    /// Runs `future` to its end on the calling thread, which must not be in an async context.
    /// Fails with [`Fault::HostResources`] if the thread's runtime cannot be made.
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output, Failure> {
        let runtime = RUNTIME.with(|cell| match cell.get() {
            Some(runtime) => Ok(Rc::clone(runtime)),
            None => {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
                Ok(Rc::clone(cell.get_or_init(|| Rc::new(LocalRuntime(Some(runtime))))))
            }
        });
        let runtime: Rc<LocalRuntime> =
            runtime.map_err(|e: std::io::Error| Failure::with_detail(Fault::HostResources, e))?;
        match &runtime.0 {
            Some(runtime) => Ok(runtime.block_on(future)),
            None => Err(Failure::with_detail(Fault::HostResources, "this thread's runtime is shut down")),
        }
    }
}
