//! A few threads of the process's own for work that needs much memory while it runs (argon2's
//! work area, a PDF render): at most one such job per core at a time, each on a thread that
//! keeps its allocator arena warm, instead of one per blocking-pool thread, each of which would
//! keep what it freed. Callers block until their job is done, so call from a blocking context.

use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The threads end when this is dropped.
pub struct Workers(Mutex<Sender<Job>>);

impl Workers {
    /// Starts one thread per core (at most four), named `{name}-{i}`.
    pub fn start(name: &str) -> Self {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let n = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
        for i in 0..n {
            let rx: Arc<Mutex<Receiver<Job>>> = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a {name} thread");
            }
        }
        Self(Mutex::new(tx))
    }

    /// Runs `f` on one of the threads and waits for its result; `None` if they are gone.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.0.lock().ok()?.send(job).ok()?;
        rx.recv().ok()
    }
}
