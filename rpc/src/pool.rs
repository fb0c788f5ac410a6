//! The execution pool: a fixed set of threads (one per core) taking jobs from one bounded queue.
//! Busy threads take the next job without sleeping, so under load a call costs no thread
//! wake-up; a full queue refuses work at once instead of letting it pile up.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Sender, TrySendError};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// Why a job was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full.
    Busy,
    /// The pool has stopped.
    Stopped,
}

/// A fixed pool of worker threads.
pub struct ExecPool {
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ExecPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecPool")
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl ExecPool {
    /// `threads` workers (at least one) and room for `queue` waiting jobs.
    pub fn new(threads: usize, queue: usize) -> std::io::Result<Arc<Self>> {
        let (jobs, incoming) = bounded::<Job>(queue);
        let workers = (0..threads.max(1))
            .map(|i| {
                let incoming = incoming.clone();
                std::thread::Builder::new()
                    .name(format!("kiln-exec-{i}"))
                    .spawn(move || {
                        for job in incoming {
                            job();
                        }
                    })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Arc::new(Self {
            jobs: Some(jobs),
            workers,
        }))
    }

    /// Queues `f`; the receiver gets its result (or is dropped if `f` panics).
    pub fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<oneshot::Receiver<T>, Refused> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller stopped waiting (timed out, disconnected) before the job started:
            // skip it, so that a call answered with a timeout never runs (nor commits) later.
            if tx.is_closed() {
                return;
            }
            // A panicking job must not take its worker down with it.
            if let Ok(value) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                let _ = tx.send(value);
            }
        });
        match self.jobs.as_ref().map(|jobs| jobs.try_send(job)) {
            Some(Ok(())) => Ok(rx),
            Some(Err(TrySendError::Full(_))) => Err(Refused::Busy),
            Some(Err(TrySendError::Disconnected(_))) | None => Err(Refused::Stopped),
        }
    }
}

impl Drop for ExecPool {
    fn drop(&mut self) {
        // Closing the queue lets the workers finish what is queued and exit; they are not
        // joined, so a long job never holds up the drop.
        self.jobs = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_results_return_and_a_full_queue_refuses() {
        let pool = ExecPool::new(1, 1).unwrap();
        assert_eq!(pool.submit(|| 2 + 2).unwrap().await.unwrap(), 4);
        // A panicking job drops its result channel and leaves the worker alive.
        assert!(pool.submit(|| panic!("job bug")).unwrap().await.is_err());
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let blocked = pool.submit(move || wait.recv().unwrap()).unwrap();
        // The worker is busy; let it take the job before filling the queue.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let queued = pool.submit(|| 1).unwrap();
        assert_eq!(pool.submit(|| 1).unwrap_err(), Refused::Busy);
        release.send(()).unwrap();
        blocked.await.unwrap();
        assert_eq!(queued.await.unwrap(), 1);
    }
}
