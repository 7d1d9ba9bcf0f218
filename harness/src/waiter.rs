//! [`Waiter`]: a runtime for the synchronous methods of an async tier.

/// The tokio runtime (current-thread, timers on) on which an async tier's synchronous methods
/// ([`crate::Instance::call`] and the rest) wait for their futures. It may be dropped anywhere, in an async context too (where dropping a
/// tokio runtime plainly panics): it holds no task of its own, so it shuts down in the background.
#[derive(Debug)]
pub struct Waiter(Option<tokio::runtime::Runtime>);

impl Waiter {
    /// A current-thread runtime with timers.
    pub fn new() -> std::io::Result<Self> {
        Ok(Waiter(Some(tokio::runtime::Builder::new_current_thread().enable_time().build()?)))
    }

    /// Runs `future` to its end on the calling thread (which must not be in an async context).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.0.as_ref().expect("the runtime is only taken out on drop").block_on(future)
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
