//! A few threads of the process's own for work that needs much memory while it runs (argon2's
//! work area, a PDF render): at most one such job per core at a time, each on a thread that
//! keeps its allocator arena warm, instead of one per blocking-pool thread, each of which would
//! keep what it freed. Callers block until their job is done, so call from a blocking context.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The threads end when this is dropped.
pub struct Workers {
    queue: Mutex<Sender<Job>>,
    /// Bounded jobs queued or running.
    bounded: Arc<AtomicUsize>,
    threads: usize,
}

/// One taken place of the bounded queue.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Lowers the calling thread's CPU priority by `steps` nice steps (to at most 19). On Linux the
/// nice value belongs to each thread (`PRIO_PROCESS` with the thread's id); elsewhere nothing
/// changes.
fn lower_priority(steps: i32) {
    #[cfg(target_os = "linux")]
    if let Err(e) = nice::set(nice::get().saturating_add(steps).min(19)) {
        tracing::warn!(error = %e, "cannot lower a worker thread's priority");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = steps;
}

/// The calling thread's nice value (Linux).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod nice {
    fn thread() -> libc::id_t {
        // SAFETY: the gettid system call takes nothing and returns the calling thread's id.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) };
        libc::id_t::try_from(tid).unwrap_or_default()
    }

    pub(super) fn get() -> i32 {
        // SAFETY: getpriority takes and returns plain integers. (-1 may also be an error;
        // read as the value, it only makes the priority one step higher than intended.)
        unsafe { libc::getpriority(libc::PRIO_PROCESS, thread()) }
    }

    pub(super) fn set(value: i32) -> std::io::Result<()> {
        // SAFETY: setpriority takes plain integers; lowering a thread's own priority needs no
        // privilege and touches no memory of the process.
        match unsafe { libc::setpriority(libc::PRIO_PROCESS, thread(), value) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }
}

/// [`Workers::run_bounded`] found the queue full.
#[derive(Debug)]
pub struct Full;

impl Workers {
    /// Starts one thread per core (at most four), named `{name}-{i}`, `nice` steps below the
    /// process's priority.
    pub fn start(name: &str, nice: i32) -> Self {
        Self::start_n(
            name,
            std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            nice,
        )
    }

    /// Starts `n` threads (at least one), named `{name}-{i}`, `nice` steps below the process's
    /// priority (0: the same).
    pub fn start_n(name: &str, n: usize, nice: i32) -> Self {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let n = n.max(1);
        for i in 0..n {
            let rx: Arc<Mutex<Receiver<Job>>> = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    if nice > 0 {
                        lower_priority(nice);
                    }
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
        Self {
            queue: Mutex::new(tx),
            bounded: Arc::default(),
            threads: n,
        }
    }

    /// How many bounded jobs may be queued or running at once: four per thread, so that work
    /// outside the bound waits behind at most four jobs per thread.
    pub fn bound(&self) -> usize {
        self.threads * 4
    }

    /// Like [`Workers::run`] for work anyone can ask for in quantity (a report render): refused
    /// with [`Full`] when [`Workers::bound`] such jobs are already queued or running, so that
    /// unbounded work (a certificate) never waits behind more than that.
    pub fn run_bounded<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Option<T>, Full> {
        let bound = self.bound();
        let taken = self
            .bounded
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < bound).then_some(n + 1)
            });
        if taken.is_err() {
            return Err(Full);
        }
        // The slot is given back when the job is dropped: done, panicked or never run.
        let slot = Slot(self.bounded.clone());
        Ok(self.run(move || {
            let _slot = slot;
            f()
        }))
    }

    /// Runs `f` on one of the threads and waits for its result; `None` if they are gone.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.queue.lock().ok()?.send(job).ok()?;
        rx.recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn jobs_run_the_given_nice_steps_below_their_caller() {
        let caller = nice::get();
        let lowered = Workers::start_n("nice", 1, 10);
        assert_eq!(lowered.run(nice::get).expect("ran"), (caller + 10).min(19));
        let same = Workers::start_n("same", 1, 0);
        assert_eq!(same.run(nice::get).expect("ran"), caller);
        assert_eq!(
            nice::get(),
            caller,
            "the caller's own priority is unchanged"
        );
    }

    #[test]
    fn the_bounded_queue_refuses_when_full_and_frees_its_places() {
        let workers = Arc::new(Workers::start("test", 0));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let mut held = Vec::new();
        for _ in 0..workers.bound() {
            let (w, wait) = (workers.clone(), wait.clone());
            held.push(std::thread::spawn(move || {
                w.run_bounded(move || {
                    let _ = wait.lock().map(|rx| rx.recv());
                })
            }));
        }
        // Wait until every place is taken, then one more is refused.
        while workers.bounded.load(Ordering::Acquire) < workers.bound() {
            std::thread::yield_now();
        }
        assert!(workers.run_bounded(|| ()).is_err());
        drop(wait);
        for _ in 0..workers.bound() {
            release.send(()).unwrap();
        }
        for h in held {
            assert!(h.join().unwrap().is_ok());
        }
        assert_eq!(workers.run(|| 7), Some(7));
        assert_eq!(workers.run_bounded(|| 8).unwrap(), Some(8));
    }
}
